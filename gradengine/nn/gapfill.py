"""The rest of ``torch.nn``'s module names: :class:`AdaptiveLogSoftmaxWithLoss`,
:class:`SyncBatchNorm`, :class:`DataParallel` (torch's single-process wrapper),
:class:`Container`, :class:`NLLLoss2d` and ``F.multi_head_attention_forward``.

Their state-dict keys and shapes are torch's (the Linear layers inside keep torch's
(out, in) weight layout, as the attention modules do), so a torch state dict loads
unchanged. SyncBatchNorm all-reduces its batch statistics through one hook that
:mod:`gradengine.distributed` installs when imported (nn never imports distributed).
See docs/from-pytorch.md.
"""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from .. import backend
from .. import functional as F
from ..autograd import Function
from ..errors import ArgumentError, ShapeError
from .attention import MultiheadAttention, _TorchLinear
from .containers import ModuleDict, ModuleList
from .loss import NLLLoss
from .module import Module
from .normalization import _BatchNorm, _InstanceNorm

__all__ = ["AdaptiveLogSoftmaxWithLoss", "SyncBatchNorm", "DataParallel", "Container",
           "NLLLoss2d", "multi_head_attention_forward"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


# ---------------------------------------------------------------- adaptive softmax

class _Chain(ModuleList):
    """Its modules applied in order (torch's Sequential, keys "0", "1", ...)."""

    def forward(self, x):
        for m in self:
            x = m(x)
        return x


class AdaptiveLogSoftmaxWithLoss(Module):
    """Efficient softmax approximation (Grave et al., 2016), as
    ``torch.nn.AdaptiveLogSoftmaxWithLoss``: a head over the ``cutoffs[0]`` most frequent
    classes plus one logit per cluster, and per cluster a two-layer projection
    (in_features -> in_features // div_value ** (i + 1) -> cluster size).

    Args:
        in_features: input size. n_classes: number of classes. cutoffs: increasing,
        unique integers in [1, n_classes - 1]. div_value: the projection shrink factor.
        head_bias: a bias in the head.
    Returns:
        ``forward(input, target)`` gives ``_ASMoutput(output, loss)``: each sample's
        log-probability of its target (N,) and the mean negative log-likelihood;
        ``log_prob(input)`` the full (N, n_classes) log-probabilities; ``predict(input)``
        the most likely class (int64).
    Raises:
        ValueError: bad cutoffs. RuntimeError: targets out of range or shapes that differ.
    Example:
        >>> asm = nn.AdaptiveLogSoftmaxWithLoss(16, 10, cutoffs=[4, 8])
        >>> out, loss = asm(x, target)
    """

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted "
                             "in an increasing order, where each value is between 1 and "
                             f"n_classes-1 (got cutoffs={cutoffs}, n_classes={n_classes})")
        self.in_features, self.n_classes = int(in_features), int(n_classes)
        self.cutoffs = [int(c) for c in cutoffs] + [self.n_classes]
        self.div_value, self.head_bias = div_value, bool(head_bias)
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = _TorchLinear(self.in_features, self.head_size, head_bias, device, dtype)
        tails = []
        for i in range(self.n_clusters):
            hsz = int(self.in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            tails.append(_Chain([_TorchLinear(self.in_features, hsz, False, device, dtype),
                                 _TorchLinear(hsz, osz, False, device, dtype)]))
        self.tail = ModuleList(tails)

    def _full_log_prob(self, x, head_output):
        head_logprob = F.log_softmax(head_output, axis=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](x), axis=1)
            parts.append(cluster_logprob
                         + head_logprob[:, self.shortlist_size + i:self.shortlist_size + i + 1])
        return F.concatenate(parts, axis=1)

    def forward(self, input, target):  # noqa: A002 - torch's names
        name = "AdaptiveLogSoftmaxWithLoss"
        if target.ndim == 1:
            if input.shape[0] != target.shape[0]:
                raise ShapeError(f"{name}: Input and target should have the same size in the "
                                 f"batch dimension (got {input.shape} and {target.shape})")
            if input.ndim != 2:
                raise ShapeError(f"{name}: 1D target tensor expects 2D input tensors, but "
                                 f"found inputs with size {input.shape}")
        elif target.ndim == 0:
            if input.ndim != 1:
                raise ShapeError(f"{name}: 0D target tensor expects 1D input tensors, but "
                                 f"found inputs with size {input.shape}")
        else:
            raise ShapeError(f"{name}: 0D or 1D target tensor expected, multi-target not "
                             f"supported (got target of shape {target.shape})")
        batched = target.ndim > 0
        x = input if batched else input.reshape(1, -1)
        t = target if batched else target.reshape(1)
        labels = np.asarray(t.data.get() if hasattr(t.data, "get") else t.data)
        if labels.size and (labels.min() < 0 or labels.max() > self.n_classes - 1):
            raise ArgumentError(f"{name}: Target values should be in [0, "
                                f"{self.n_classes - 1}], but values in range "
                                f"[{labels.min()}, {labels.max()}] were found.")
        # the full log-probabilities, then each row's target: the same values and
        # gradients as torch's cluster-by-cluster gather
        full = self._full_log_prob(x, self.head(x))
        idx = t.astype("int64").reshape(-1, 1)
        output = F.gather(full, 1, idx).reshape(-1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.reshape(()), loss)

    def log_prob(self, input):  # noqa: A002
        """The log-probabilities of every class, (N, n_classes) from (N, in_features)."""
        self._check_rows("log_prob", input)
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):  # noqa: A002
        """The most likely class of each row (int64), as :meth:`log_prob`'s argmax."""
        self._check_rows("predict", input)
        return F.argmax(self._full_log_prob(input, self.head(input)), 1)

    def _check_rows(self, name, x):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(f"AdaptiveLogSoftmaxWithLoss.{name}: expects input of shape "
                             f"(N, {self.in_features}), got {x.shape}")

    def extra_repr(self):
        return (f"in_features={self.in_features}, n_classes={self.n_classes}, "
                f"cutoffs={self.cutoffs[:-1]}, div_value={self.div_value}")


# ---------------------------------------------------------------- SyncBatchNorm

_SYNC = {"sum": None, "active": None}


def set_sync_reducer(fn, active):
    """Install ``fn(tensor) -> a new tensor, the sum over all ranks`` and ``active() ->
    whether the world has more than one rank``: :mod:`gradengine.distributed` calls this
    when imported."""
    _SYNC["sum"], _SYNC["active"] = fn, active


class _SumOverRanks(Function):
    """The sum of a tensor over all ranks; its gradient is again the sum over ranks (every
    rank's loss reads the shared statistics)."""

    @staticmethod
    def forward(ctx, t):
        return _SYNC["sum"](t)

    @staticmethod
    def backward(ctx, g):
        return _SumOverRanks.apply(g)  # itself, so higher-order gradients sum over ranks too


def _world_sum(t):
    if _SYNC["active"] is None or not _SYNC["active"]():
        return None
    return _SumOverRanks.apply(t)


class SyncBatchNorm(_BatchNorm):
    """Batch normalization whose batch statistics are those of the whole world's batch,
    as ``torch.nn.SyncBatchNorm``: input (N, C, ...) of at least 2 dims. In a single
    process (or a world of one) it is BatchNorm over the local batch; inside an
    initialized :mod:`gradengine.distributed` world of more ranks the per-channel sums,
    sums of squares and counts are all-reduced (and so are their gradients).

    Args:
        num_features, eps, momentum, affine, track_running_stats: as BatchNorm.
        process_group: must be None (gradengine has one world).
    Example:
        >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype,
                         device)
        if process_group is not None:
            raise ArgumentError("SyncBatchNorm: process_group must be None: gradengine "
                                "synchronises over the whole world of gradengine.distributed")
        self.process_group = None

    def _check_input(self, x):
        if x.ndim < 2:
            raise ShapeError(f"SyncBatchNorm: expected at least 2D input (got {x.ndim}D "
                             f"input of shape {x.shape})")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"SyncBatchNorm: expected {self.num_features} channels on axis "
                             f"1, got input of shape {x.shape}")
        return "SyncBatchNorm"

    def forward(self, x):
        self._check_input(x)
        if not (self.training or not self.track_running_stats) or _SYNC["active"] is None \
                or not _SYNC["active"]():
            return super().forward(x)
        c = x.shape[1]
        axes = tuple(i for i in range(x.ndim) if i != 1)
        s_local = x.sum(axis=axes)
        count = s_local.detach() * 0 + float(x.size // c if c else 0)
        stats = F.concatenate([s_local, (x * x).sum(axis=axes), count])
        total = _world_sum(stats)
        s, ss, n = total[:c], total[c:2 * c], total[2 * c:]
        if float(n.data[0]) <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape} over the world")
        mean = s / n
        var = ss / n - mean * mean
        shape = (1, c) + (1,) * (x.ndim - 2)
        y = (x - mean.reshape(shape)) / F.sqrt(var.reshape(shape) + self.eps)
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            m = self.momentum
            if m is None:
                m = 1.0 / float(self.num_batches_tracked.item())
            nv = float(n.data[0])
            mean_d, var_d = mean.detach(), var.detach() * (nv / (nv - 1))
            self.running_mean.data[...] = ((1 - m) * self.running_mean.data
                                           + m * mean_d.data.astype(self.running_mean.dtype))
            self.running_var.data[...] = ((1 - m) * self.running_var.data
                                          + m * var_d.data.astype(self.running_var.dtype))
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/2d/3d (recursively) replaced by a
        SyncBatchNorm holding the same parameters, buffers and mode (``module`` itself
        when it is one)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, (_InstanceNorm, cls)):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if getattr(module, name, None) is not None:
                    out.register_buffer(name, getattr(module, name))
            out.training = module.training
        for name, child in list(module.named_children()):
            new = cls.convert_sync_batchnorm(child, process_group)
            if new is not child:
                if isinstance(out, ModuleList):  # its list is what indexing reads
                    out[int(name)] = new
                elif isinstance(out, ModuleDict):
                    out[name] = new
                else:
                    layers = getattr(out, "layers", None)  # nn.Sequential's list
                    if name.isdigit() and isinstance(layers, list) and \
                            layers[int(name)] is child:
                        layers[int(name)] = new
                    out.add_module(name, new)
        return out


# ---------------------------------------------------------------- DataParallel, Container

class DataParallel(Module):
    """``torch.nn.DataParallel(module, device_ids=None, output_device=None, dim=0)``:
    the single-process wrapper. ``.module`` is the wrapped module, ``forward`` calls it,
    and the state dict's keys carry torch's ``module.`` prefix. gradengine runs the whole
    batch on the module's one device (no per-GPU replicas; the result is the same for
    modules without batch-dependent state); for multi-process data parallelism use
    ``gradengine.distributed.DataParallel``.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise ArgumentError(f"DataParallel: module must be an nn.Module, got "
                                f"{type(module).__name__}")
        self.module = module
        self.dim = int(dim)
        if not backend.cuda_available():  # torch without a GPU: no devices at all
            self.device_ids, self.output_device = [], None
            return
        if device_ids is None:
            device_ids = list(range(backend.cuda_device_count()))
        self.device_ids = [int(str(d).rsplit(":", 1)[-1]) if not isinstance(d, int) else d
                           for d in device_ids]
        self.output_device = self.device_ids[0] if output_device is None else output_device

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


class Container(Module):
    """Deprecated, as in torch: a Module taking its submodules as keywords
    (``Container(fc=nn.Linear(2, 3))``); warns to subclass Module instead."""

    def __init__(self, **kwargs):
        super().__init__()
        warnings.warn("nn.Container is deprecated. All of it's functionality is now "
                      "implemented in nn.Module. Subclass that instead.", stacklevel=2)
        for key, value in kwargs.items():
            self.add_module(key, value)


def _legacy_reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return ("mean" if size_average else "sum") if reduce else "none"


class NLLLoss2d(NLLLoss):
    """Deprecated alias of :class:`NLLLoss` (it takes (N, C, H, W) log-probabilities too),
    with torch's signature; warns a DeprecationWarning as torch."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        warnings.warn("NLLLoss2d has been deprecated. Please use NLLLoss instead as a drop-in "
                      "replacement and see https://pytorch.org/docs/main/nn.html#torch.nn."
                      "NLLLoss for more details.", DeprecationWarning, stacklevel=2)
        super().__init__(weight, ignore_index,
                         _legacy_reduction(size_average, reduce, reduction))


# ---------------------------------------------------------------- functional MHA

class _MhaSpec:
    """The attributes MultiheadAttention's maths reads, made from the functional
    arguments (no parameters of its own), with its methods borrowed."""

    _check = MultiheadAttention._check
    _projections = MultiheadAttention._projections
    _mask = MultiheadAttention._mask
    forward = MultiheadAttention.forward

    def __init__(self, **kw):
        self.__dict__.update(kw)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """``torch.nn.functional.multi_head_attention_forward``: nn.MultiheadAttention's
    forward on given weights (query (L, N, E) or (L, E); weights in torch's (out, in)
    layout); returns ``(attn_output, attn_weights)`` (weights None unless
    ``need_weights``).

    Raises:
        ShapeError: E other than ``embed_dim_to_check``, or shapes that do not fit.
        ArgumentError: ``static_k`` / ``static_v`` (not supported).
    """
    name = "multi_head_attention_forward"
    e = query.shape[-1]
    if e != embed_dim_to_check:
        raise ShapeError(f"{name}: was expecting embedding dimension of "
                         f"{embed_dim_to_check}, but got {e}")
    if e % num_heads:
        raise ShapeError(f"{name}: embed_dim {e} not divisible by num_heads {num_heads}")
    if static_k is not None or static_v is not None:
        raise ArgumentError(f"{name}: static_k and static_v are not supported by gradengine")
    if (bias_k is None) != (bias_v is None):
        raise ArgumentError(f"{name}: bias_k and bias_v must be given together")
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ArgumentError(f"{name}: use_separate_proj_weight needs q_proj_weight, "
                                f"k_proj_weight and v_proj_weight")
        kdim, vdim = k_proj_weight.shape[-1], v_proj_weight.shape[-1]
    else:
        kdim = vdim = e

    def out_proj(x):
        return F.linear(x, out_proj_weight.T, out_proj_bias)
    spec = _MhaSpec(
        embed_dim=e, num_heads=int(num_heads), head_dim=e // int(num_heads), kdim=kdim,
        vdim=vdim, _qkv_same_embed_dim=not use_separate_proj_weight,
        in_proj_weight=None if use_separate_proj_weight else in_proj_weight,
        q_proj_weight=q_proj_weight, k_proj_weight=k_proj_weight,
        v_proj_weight=v_proj_weight, in_proj_bias=in_proj_bias, out_proj=out_proj,
        bias_k=bias_k, bias_v=bias_v, add_zero_attn=bool(add_zero_attn),
        dropout=float(dropout_p), batch_first=False, training=bool(training))
    return spec.forward(query, key, value, key_padding_mask=key_padding_mask,
                        need_weights=need_weights, attn_mask=attn_mask,
                        average_attn_weights=average_attn_weights, is_causal=is_causal)


