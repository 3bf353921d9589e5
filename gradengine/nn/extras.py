"""The rest of ``torch.nn``'s modules: :class:`LocalResponseNorm`, :class:`CrossMapLRN2d`,
:class:`Bilinear`, :class:`EmbeddingBag`, the losses :class:`CTCLoss`,
:class:`MultiMarginLoss`, :class:`MultiLabelMarginLoss`,
:class:`TripletMarginWithDistanceLoss`, :class:`RReLU`, :class:`AlphaDropout`,
:class:`FeatureAlphaDropout`, :class:`ChannelShuffle`, :class:`Softmax2d`, and the lazy
modules (:class:`LazyLinear`, ``LazyConv*``, ``LazyBatchNorm*``, ``LazyInstanceNorm*``).

A lazy module holds :class:`UninitializedParameter` (and :class:`UninitializedBuffer`)
objects -- empty tensors that say so in their repr -- until its first call, which infers
the input size, draws the weights exactly as the plain module would, fills those same
objects (so an optimizer built before the first call keeps working) and turns the module
into the plain one (``type(m) is nn.Linear`` afterwards, as PyTorch's ``cls_to_become``).
``load_state_dict`` into a lazy module builds it from the saved shapes.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import functional as F
from ..core.gradmode import state_epoch
from ..core.tensor import Tensor
from ..errors import ShapeError
from . import _keras_init
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .layers import Linear
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, InstanceNorm1d, InstanceNorm2d

__all__ = ["LocalResponseNorm", "CrossMapLRN2d", "Bilinear", "EmbeddingBag", "CTCLoss",
           "MultiMarginLoss", "MultiLabelMarginLoss", "TripletMarginWithDistanceLoss",
           "RReLU", "AlphaDropout", "FeatureAlphaDropout", "ChannelShuffle", "Softmax2d",
           "UninitializedParameter", "UninitializedBuffer", "LazyLinear", "LazyConv1d",
           "LazyConv2d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyBatchNorm1d",
           "LazyBatchNorm2d", "LazyInstanceNorm1d", "LazyInstanceNorm2d"]


def _device_dtype(device, dtype, name):
    dev = backend.normalize_device(device, name) if device is not None else \
        backend.get_default_device()
    dt = backend.resolve_dtype(dtype, name) if dtype is not None else backend.DEFAULT_FLOAT
    return dev, dt


class LocalResponseNorm(Module):
    """Local response normalization over neighbouring channels, as
    ``torch.nn.LocalResponseNorm`` (see ``F.local_response_norm``)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), \
            float(k)

    def forward(self, input):  # noqa: A002
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _cross_map_window(c, size):
    """Which channels' squares sum into each channel's scale in ``torch.nn.CrossMapLRN2d``
    (Lua Torch's running-sum recurrence, kept as PyTorch has it: its window is not the
    symmetric one of LocalResponseNorm near the first channels)."""
    pre = int((size - 1) / 2 + 1)
    m = np.zeros((c, c))
    m[0, :min(pre, c)] = 1
    for i in range(1, c):
        m[i] = m[i - 1]
        if i < c - pre + 1:
            m[i, i + pre - 1] += 1
        if i > pre:
            m[i, i - pre] -= 1
    return m


class CrossMapLRN2d(LocalResponseNorm):
    """``torch.nn.CrossMapLRN2d``: ``x * (k + alpha / size * window_sum(x^2)) ^ -beta`` over
    (N, C, H, W) input, with PyTorch's window (see :func:`_cross_map_window`)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1):
        super().__init__(size, alpha, beta, k)

    def forward(self, input):  # noqa: A002
        if input.ndim != 4:
            raise ShapeError(f"CrossMapLRN2d: expected a 4-d input, got {input.shape}")
        n, c, h, w = input.shape
        win = Tensor(_cross_map_window(c, self.size).astype(input.dtype), device=input.device)
        sq = (input * input).reshape(n, c, h * w)
        scale = F.matmul(win, sq).reshape(n, c, h, w) * (self.alpha / self.size) + self.k
        return input * scale ** -self.beta


class Bilinear(Module):
    """``y = x1^T W x2 + b``, as ``torch.nn.Bilinear``: weight (out, in1, in2) and bias
    (out,) drawn from U(-1/sqrt(in1), 1/sqrt(in1)).

    Example:
        >>> m = nn.Bilinear(3, 4, 5); m(ge.randn(2, 3), ge.randn(2, 4)).shape  # (2, 5)
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = int(in1_features), int(in2_features)
        self.out_features = int(out_features)
        dev, dt = _device_dtype(device, dtype, "Bilinear")
        bound = 1.0 / math.sqrt(self.in1_features) if self.in1_features else 0.0
        init = _keras_init.RandomUniform(-bound, bound)
        self.weight = Parameter(init((self.out_features, self.in1_features,
                                      self.in2_features), dt, dev), device=dev)
        self.bias = Parameter(init((self.out_features,), dt, dev), device=dev) if bias \
            else None

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings, as ``torch.nn.EmbeddingBag`` (weight
    (num_embeddings, embedding_dim) from N(0, 1), the ``padding_idx`` row zero);
    ``forward(input, offsets=None, per_sample_weights=None)``, see ``F.embedding_bag``.

    Example:
        >>> bag = nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(ge.tensor([1, 2, 4, 5]), ge.tensor([0, 2])).shape  # (2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight=None, include_last_offset: bool = False,
                 padding_idx=None, device=None, dtype=None):
        super().__init__()
        if max_norm is not None or scale_grad_by_freq:
            raise NotImplementedError("EmbeddingBag: max_norm and scale_grad_by_freq are not "
                                      "supported")
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode must be 'sum', 'mean' or 'max', got "
                             f"{mode!r}")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"EmbeddingBag: padding_idx {padding_idx} is out of range "
                                 f"for {self.num_embeddings} embeddings")
            padding_idx %= self.num_embeddings
        self.padding_idx, self.mode = padding_idx, mode
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        self.include_last_offset = bool(include_last_offset)
        dev, dt = _device_dtype(device, dtype, "EmbeddingBag")
        if _weight is None:
            w = _keras_init.RandomNormal(0.0, 1.0)((self.num_embeddings, self.embedding_dim),
                                                   dt, dev)
            if padding_idx is not None:
                w[padding_idx] = 0
        else:
            w = backend.to_device_array(_weight.data if isinstance(_weight, Tensor) else
                                        np.asarray(_weight), dev).copy()
            if tuple(w.shape) != (self.num_embeddings, self.embedding_dim):
                raise ShapeError(f"EmbeddingBag: _weight of shape {tuple(w.shape)} is not "
                                 f"({self.num_embeddings}, {self.embedding_dim})")
        self.weight = Parameter(w, device=dev)

    def forward(self, input, offsets=None, per_sample_weights=None):  # noqa: A002
        return F.embedding_bag(input, self.weight, offsets, mode=self.mode,
                               per_sample_weights=per_sample_weights,
                               include_last_offset=self.include_last_offset,
                               padding_idx=self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag holding ``embeddings`` (2-d); ``freeze``: no gradient."""
        shape = tuple(embeddings.shape)
        if len(shape) != 2:
            raise ShapeError(f"EmbeddingBag.from_pretrained: embeddings must be 2-d, got "
                             f"{shape}")
        dev = embeddings.device if isinstance(embeddings, Tensor) else None
        dt = embeddings.dtype if isinstance(embeddings, Tensor) else None
        bag = cls(shape[0], shape[1], max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  embeddings, include_last_offset, padding_idx, device=dev, dtype=dt)
        bag.weight.requires_grad = not freeze
        return bag

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            size_average = True if size_average is None else size_average
            reduce = True if reduce is None else reduce
            reduction = "none" if not reduce else "mean" if size_average else "sum"
        self.reduction = reduction


class CTCLoss(_Loss):
    """``torch.nn.CTCLoss(blank=0, reduction="mean", zero_infinity=False)``;
    ``forward(log_probs, targets, input_lengths, target_lengths)`` (see F.ctc_loss)."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = int(blank), bool(zero_infinity)

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)


class MultiMarginLoss(_Loss):
    """``torch.nn.MultiMarginLoss(p=1, margin=1.0, weight=None, reduction="mean")``; the
    class weights are a buffer (``weight`` in the state dict when given)."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                 reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        self.p, self.margin = p, float(margin)
        self.register_buffer("weight", weight)

    def forward(self, input, target):  # noqa: A002
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """``torch.nn.MultiLabelMarginLoss(reduction="mean")`` (see F.multilabel_margin_loss)."""

    def forward(self, input, target):  # noqa: A002
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """``torch.nn.TripletMarginWithDistanceLoss(*, distance_function=None, margin=1.0,
    swap=False, reduction="mean")``."""

    def __init__(self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean"):
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: margin must be greater than 0, "
                             f"got {margin}")
        self.distance_function, self.margin, self.swap = distance_function, float(margin), \
            bool(swap)

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class RReLU(Module):
    """Randomized leaky ReLU, as ``torch.nn.RReLU(lower=1/8, upper=1/3)``: random slopes
    in training (``ge.manual_seed``'s generator), their mean after ``eval()``."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        self.lower, self.upper, self.inplace = float(lower), float(upper), bool(inplace)

    def forward(self, input):  # noqa: A002
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}"


class AlphaDropout(Module):
    """``torch.nn.AlphaDropout(p=0.5)``: alpha dropout while training (keeps SELU's
    statistics), the identity after ``eval()``."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p!r}")
        self.p, self.inplace = float(p), bool(inplace)

    def forward(self, input):  # noqa: A002
        return F.alpha_dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class FeatureAlphaDropout(AlphaDropout):
    """``torch.nn.FeatureAlphaDropout(p=0.5)``: alpha dropout of whole channels."""

    def forward(self, input):  # noqa: A002
        return F.feature_alpha_dropout(input, self.p, self.training)


class ChannelShuffle(Module):
    """``torch.nn.ChannelShuffle(groups)`` (see F.channel_shuffle)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = int(groups)

    def forward(self, input):  # noqa: A002
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W) input, as
    ``torch.nn.Softmax2d``."""

    def forward(self, input):  # noqa: A002
        if input.ndim not in (3, 4):
            raise ShapeError(f"Softmax2d: expected a 3-d or 4-d input, got {input.shape}")
        return F.softmax(input, axis=-3)


# ---------------------------------------------------------------- lazy modules

class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (a lazy module's, before its first call):
    an empty tensor of the module's dtype and device, filled in place by
    :meth:`materialize`, after which it is a plain :class:`Parameter`."""

    __slots__ = ()
    cls_to_become = Parameter
    _lazy_uninit = True

    def __init__(self, requires_grad=True, device=None, dtype=None):
        dev, dt = _device_dtype(device, dtype, "UninitializedParameter")
        with backend.cuda_context(dev):
            arr = backend.xp_of(dev).zeros((0,), dtype=dt)
        super().__init__(arr, requires_grad=requires_grad, device=dev)

    def materialize(self, data):
        """Take ``data`` (an array of the final shape) and become a plain tensor."""
        self.data = data
        self._version += 1
        self.__class__ = self.cls_to_become

    def __repr__(self):
        return f"<{type(self).__name__} (dtype={self.dtype.name}, device={self.device!r})>"


class UninitializedBuffer(Tensor):
    """A lazy module's buffer before its first call (see :class:`UninitializedParameter`)."""

    __slots__ = ()
    cls_to_become = Tensor
    _lazy_uninit = True

    def __init__(self, device=None, dtype=None):
        dev, dt = _device_dtype(device, dtype, "UninitializedBuffer")
        with backend.cuda_context(dev):
            arr = backend.xp_of(dev).zeros((0,), dtype=dt)
        super().__init__(arr, device=dev)

    materialize = UninitializedParameter.materialize
    __repr__ = UninitializedParameter.__repr__


_HOOK_KEYS = ("_pre_hooks", "_post_hooks", "_bw_hooks", "_bw_pre_hooks", "_init_args")


class _LazyMixin:
    """Uninitialized parameters until the first call, then the plain module
    (``cls_to_become``) with the input size that call showed."""

    cls_to_become = None
    _param_names = ("weight", "bias")
    _buffer_names = ()

    def _lazy_init(self, args, kwargs, params, buffers, device, dtype):
        Module.__init__(self)
        object.__setattr__(self, "_lazy_spec", (args, dict(kwargs)))
        for name in params:
            setattr(self, name, UninitializedParameter(device=device, dtype=dtype))
        for name in buffers:
            self.register_buffer(name, UninitializedBuffer(device=device, dtype=dtype))

    def has_uninitialized_params(self) -> bool:
        return any(getattr(p, "_lazy_uninit", False) for p in
                   list(self._parameters.values()) + list(self._buffers.values()))

    def _in_size(self, x):
        return x.shape[1] if x.ndim > 1 else x.shape[0]

    def initialize_parameters(self, input, *args, **kwargs):  # noqa: A002
        """Infer the input size from ``input`` and build (PyTorch's name)."""
        if not isinstance(input, Tensor) or input.ndim == 0:
            raise ShapeError(f"{type(self).__name__}: cannot infer the input size from "
                             f"{getattr(input, 'shape', type(input).__name__)}")
        self.build(int(self._in_size(input)))

    def build(self, in_size):
        """Draw the weights for ``in_size`` inputs as ``cls_to_become`` would, fill the
        uninitialized objects with them and become that class."""
        probe = next((t for t in list(self._parameters.values()) +
                      list(self._buffers.values()) if getattr(t, "_lazy_uninit", False)), None)
        args, kwargs = self._lazy_spec
        if probe is not None:
            kwargs = dict(kwargs, device=probe.device, dtype=probe.dtype)
        ref = self.cls_to_become(in_size, *args, **kwargs)
        old_cls, old_dict, filled = type(self), dict(self.__dict__), []
        params = {}
        for name, p in ref._parameters.items():
            mine = self._parameters.get(name)
            if p is None or not getattr(mine, "_lazy_uninit", False):
                params[name] = p
                continue
            filled.append((mine, type(mine), mine.data))
            mine.materialize(p.data)
            mine.requires_grad = p.requires_grad
            params[name] = mine
        buffers = {}
        for name, b in ref._buffers.items():
            mine = self._buffers.get(name)
            if b is not None and getattr(mine, "_lazy_uninit", False):
                filled.append((mine, type(mine), mine.data))
                mine.materialize(b.data)
                b = mine
            buffers[name] = b
        for k, v in ref.__dict__.items():
            if k not in ("_parameters", "_buffers", "_modules", "training") and \
                    k not in _HOOK_KEYS:
                object.__setattr__(self, k, v)
        object.__setattr__(self, "_init_args", ref.__dict__.get("_init_args"))
        object.__setattr__(self, "_parameters", params)
        object.__setattr__(self, "_buffers", buffers)
        for k, v in list(params.items()) + list(buffers.items()):
            object.__setattr__(self, k, v)

        def unbuild():  # load_state_dict's roll-back after a failed write: lazy again
            for t, cls, data in filled:
                t.data = data
                t.__class__ = cls
            self.__dict__.clear()
            self.__dict__.update(old_dict)
            self.__class__ = old_cls
        object.__setattr__(self, "_unbuild", unbuild)
        self.__class__ = type(ref)
        state_epoch[0] += 1

    def forward(self, input, *args, **kwargs):  # noqa: A002
        self.initialize_parameters(input)
        return self.forward(input, *args, **kwargs)

    # load_state_dict into a module that is still lazy builds it from the saved shapes
    def _pending_parameters(self):
        if not self.has_uninitialized_params():
            return {}
        return {n: s for n, s in self._lazy_shapes().items()
                if getattr(self.__dict__.get(n), "_lazy_uninit", False)}

    def _shape_from_state(self, entries):
        shapes = {key.rpartition(".")[2]: tuple(arr.shape) for key, arr in entries.items()}
        size = next((s for s in (self._size_from(n, sh) for n, sh in shapes.items())
                     if s is not None), None)
        if size is None:
            raise KeyError(f"load_state_dict: a lazy {type(self).__name__} needs its weight "
                           "to know its input size")
        want = self._lazy_shapes()
        bad = [f"{n!r}: checkpoint {sh} vs {tuple(size if d is None else d for d in want[n])}"
               for n, sh in shapes.items() if n in want and
               sh != tuple(size if d is None else d for d in want[n])]
        if bad:
            raise ShapeError(f"load_state_dict: shape mismatch for a lazy "
                             f"{type(self).__name__} of input size {size}: " + "; ".join(bad))
        return size

    def extra_repr(self):
        return "(uninitialized)"


class LazyLinear(_LazyMixin, Linear):
    """``nn.Linear`` whose ``in_features`` is the last size of the first input, as
    ``torch.nn.LazyLinear(out_features, bias=True)``; it becomes a plain nn.Linear (DESIGN's
    (in, out) weight layout) at its first call.

    Example:
        >>> m = nn.LazyLinear(4); m(ge.randn(2, 3)).shape; type(m) is nn.Linear  # True
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        self.out_features = int(out_features)
        self._lazy_init((self.out_features,), dict(bias=bias), ("weight", "bias")
                        if bias else ("weight",), (), device, dtype)
        if not bias:
            self.bias = None
        self.in_features = 0
        self.activation = None

    def _in_size(self, x):
        return x.shape[-1]

    def _lazy_shapes(self):
        return {"weight": (None, self.out_features), "bias": (self.out_features,)}

    def _size_from(self, name, shape):
        return shape[0] if name == "weight" else None


class _LazyConv(_LazyMixin):
    transposed = False

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        self.out_channels = int(out_channels)
        self.groups = int(groups)
        self.kernel_size = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else \
            (int(kernel_size),) * self.cls_to_become.n
        kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  bias=bias, padding_mode=padding_mode)
        self._lazy_init((self.out_channels, kernel_size), kw,
                        ("weight", "bias") if bias else ("weight",), (), device, dtype)
        if not bias:
            self.bias = None

    def _in_size(self, x):
        return x.shape[0] if x.ndim == self.cls_to_become.n + 1 else x.shape[1]

    def _lazy_shapes(self):
        w = (self.out_channels, None) + self.kernel_size
        return {"weight": w, "bias": (self.out_channels,)}

    def _size_from(self, name, shape):
        return shape[1] * self.groups if name == "weight" else None


class LazyConv1d(_LazyConv, Conv1d):
    """``nn.Conv1d`` whose ``in_channels`` comes from the first input, as
    ``torch.nn.LazyConv1d(out_channels, kernel_size, ...)``."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """``nn.Conv2d`` whose ``in_channels`` comes from the first input
    (``torch.nn.LazyConv2d``)."""

    cls_to_become = Conv2d


class _LazyConvT(_LazyConv):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                 dtype=None):
        self.out_channels, self.groups = int(out_channels), int(groups)
        self.kernel_size = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else \
            (int(kernel_size),) * self.cls_to_become.n
        kw = dict(stride=stride, padding=padding, output_padding=output_padding,
                  groups=groups, bias=bias, dilation=dilation, padding_mode=padding_mode)
        self._lazy_init((self.out_channels, kernel_size), kw,
                        ("weight", "bias") if bias else ("weight",), (), device, dtype)
        if not bias:
            self.bias = None

    def _lazy_shapes(self):
        w = (None, self.out_channels // self.groups) + self.kernel_size
        return {"weight": w, "bias": (self.out_channels,)}

    def _size_from(self, name, shape):
        return shape[0] if name == "weight" else None


class LazyConvTranspose1d(_LazyConvT, ConvTranspose1d):
    """``nn.ConvTranspose1d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvT, ConvTranspose2d):
    """``nn.ConvTranspose2d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = ConvTranspose2d


class _LazyNorm(_LazyMixin):
    _defaults = dict(affine=True, track_running_stats=True)

    def __init__(self, eps=1e-5, momentum=0.1, affine=None, track_running_stats=None,
                 device=None, dtype=None):
        affine = self._defaults["affine"] if affine is None else bool(affine)
        track = self._defaults["track_running_stats"] if track_running_stats is None else \
            bool(track_running_stats)
        kw = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
        self._lazy_init((), kw, ("weight", "bias") if affine else (),
                        ("running_mean", "running_var") if track else (), device, dtype)
        self.affine, self.track_running_stats = affine, track
        self.eps, self.momentum, self.num_features = float(eps), momentum, 0
        if not affine:
            self.weight = self.bias = None
        if track:
            dev = self.running_mean.device
            with backend.cuda_context(dev):
                nb = backend.xp_of(dev).zeros((), dtype=np.int64)
            self.register_buffer("num_batches_tracked", Tensor._make(nb, dev))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def build(self, in_size):
        nb = self.__dict__.get("num_batches_tracked")
        super().build(in_size)
        if nb is not None:  # the counter the lazy module had (state dicts load into it)
            self._buffers["num_batches_tracked"] = nb
            object.__setattr__(self, "num_batches_tracked", nb)

    def _lazy_shapes(self):
        return {n: (None,) for n in ("weight", "bias", "running_mean", "running_var")}

    def _size_from(self, name, shape):
        return shape[0] if name != "num_batches_tracked" else None


class LazyBatchNorm1d(_LazyNorm, BatchNorm1d):
    """``nn.BatchNorm1d`` whose ``num_features`` comes from the first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNorm, BatchNorm2d):
    """``nn.BatchNorm2d`` whose ``num_features`` comes from the first input."""

    cls_to_become = BatchNorm2d


class LazyInstanceNorm1d(_LazyNorm, InstanceNorm1d):
    """``nn.InstanceNorm1d`` whose ``num_features`` comes from the first input."""

    cls_to_become = InstanceNorm1d
    _defaults = dict(affine=True, track_running_stats=True)  # torch's lazy defaults

    def _in_size(self, x):
        return x.shape[0] if x.ndim == 2 else x.shape[1]


class LazyInstanceNorm2d(_LazyNorm, InstanceNorm2d):
    """``nn.InstanceNorm2d`` whose ``num_features`` comes from the first input."""

    cls_to_become = InstanceNorm2d
    _defaults = dict(affine=True, track_running_stats=True)

    def _in_size(self, x):
        return x.shape[0] if x.ndim == 3 else x.shape[1]
