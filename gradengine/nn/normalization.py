"""Normalization modules with PyTorch's names and defaults: :class:`LayerNorm`,
:class:`BatchNorm1d`, :class:`BatchNorm2d` (momentum 0.1, eps 1e-5, running statistics
as buffers saved in the state dict, switched by ``train()`` / ``eval()``)."""

from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..errors import ShapeError
from . import init
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
           "LayerNorm", "RMSNorm"]


def _filled(shape, value, dtype, device):
    dev = backend.normalize_device(device, "norm") if device is not None else \
        backend.get_default_device()
    dt = backend.resolve_dtype(dtype, "norm") if dtype is not None else backend.DEFAULT_FLOAT
    with backend.cuda_context(dev):
        return backend.xp_of(dev).full(shape, value, dtype=dt), dev


def _ones_zeros(weight, bias):
    """``weight`` filled with ones and ``bias`` with zeros, in place (each may be None or a
    lazy module's uninitialized parameter)."""
    for p, fill in ((weight, init.ones_), (bias, init.zeros_)):
        if p is not None and not getattr(p, "_lazy_uninit", False):
            fill(p)


class LayerNorm(Module):
    """Normalize over the last ``len(normalized_shape)`` axes: ``(x - mean) /
    sqrt(var + eps) * weight + bias`` (biased variance), as ``torch.nn.LayerNorm``.

    Example:
        >>> ln = nn.LayerNorm(16); y = ln(x)   # x (..., 16)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=None, device=None):
        super().__init__()
        shape = (int(normalized_shape),) if isinstance(normalized_shape, int) else \
            tuple(int(s) for s in normalized_shape)
        self.normalized_shape, self.eps = shape, float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = self.bias = None
        if elementwise_affine:
            w, dev = _filled(shape, 1.0, dtype, device)
            self.weight = Parameter(w, device=dev)
            if bias:
                b, dev = _filled(shape, 0.0, dtype, device)
                self.bias = Parameter(b, device=dev)

    def reset_parameters(self):
        """Weight back to ones and bias to zeros, as the constructor set them."""
        _ones_zeros(self.weight, self.bias)

    def forward(self, x):
        if tuple(x.shape[x.ndim - len(self.normalized_shape):]) != self.normalized_shape:
            raise ShapeError(f"LayerNorm: input of shape {x.shape} does not end in "
                             f"normalized_shape {self.normalized_shape}")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                                     self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class _BatchNorm(Module):
    dims = (2, 3)
    # a checkpoint from before the counter existed loads strictly, as in PyTorch
    _optional_state = ("num_batches_tracked",)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None, device=None, *, bias=True):
        super().__init__()
        self.num_features, self.eps = int(num_features), float(eps)
        self.momentum = momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        c = (self.num_features,)
        self.weight = self.bias = None
        if affine:
            w, dev = _filled(c, 1.0, dtype, device)
            b, _ = _filled(c, 0.0, dtype, device)
            self.weight = Parameter(w, device=dev)
            self.bias = Parameter(b, device=dev) if bias else None
        if track_running_stats:
            m, dev = _filled(c, 0.0, dtype, device)
            v, _ = _filled(c, 1.0, dtype, device)
            with backend.cuda_context(dev):
                nb = backend.xp_of(dev).zeros((), dtype=np.int64)
            self.register_buffer("running_mean", Tensor._make(m, dev))
            self.register_buffer("running_var", Tensor._make(v, dev))
            self.register_buffer("num_batches_tracked", Tensor._make(nb, dev))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self):
        """Running mean back to zeros, variance to ones and the batch counter to 0."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        """The running statistics reset, weight back to ones and bias to zeros."""
        self.reset_running_stats()
        _ones_zeros(self.weight, self.bias)

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim not in self.dims or x.shape[1] != self.num_features:
            raise ShapeError(f"{name}: expected input of {' or '.join(map(str, self.dims))} "
                             f"dims with {self.num_features} channels on axis 1, got "
                             f"{x.shape}")
        return name

    def forward(self, x):
        name = self._check_input(x)
        use_batch = self.training or not self.track_running_stats
        if self.training and x.size // x.shape[1] <= 1:
            raise ValueError(f"{name}: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if momentum is None:  # a cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.item())
        rm = self.running_mean if (self.training or not use_batch) else None
        rv = self.running_var if (self.training or not use_batch) else None
        return F.batch_norm(x, rm, rv, self.weight, self.bias, training=use_batch,
                                     momentum=0.0 if momentum is None else momentum,
                                     eps=self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) input, ``torch.nn.BatchNorm1d``:
    batch statistics while training (running mean and unbiased variance updated with
    ``momentum``), the running statistics after ``eval()``."""

    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) input, ``torch.nn.BatchNorm2d``."""

    dims = (4,)


class _InstanceNorm(_BatchNorm):
    """Instance normalization (each sample's channels over their own positions), PyTorch's
    defaults: no affine parameters, no running statistics."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, dtype=None, device=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype,
                         device)

    def forward(self, x):
        if x.ndim == self.dims[0] - 1:  # unbatched (C, *), as torch: a batch of one
            out = self.forward(F.unsqueeze(x, 0))
            return F.reshape(out, out.shape[1:])
        self._check_input(x)
        use_input = self.training or not self.track_running_stats
        return F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_input_stats=use_input, momentum=self.momentum or 0.0,
                               eps=self.eps)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization over (N, C, L) input, ``torch.nn.InstanceNorm1d``."""

    dims = (3,)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization over (N, C, H, W) input, ``torch.nn.InstanceNorm2d``."""

    dims = (4,)


class GroupNorm(Module):
    """Normalize each of ``num_groups`` channel groups of (N, C, *) input over its channels
    and positions, per-channel weight (ones) and bias (zeros), as ``torch.nn.GroupNorm``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, dtype=None,
                 device=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), bool(affine)
        self.weight = self.bias = None
        if affine:
            w, dev = _filled((self.num_channels,), 1.0, dtype, device)
            b, _ = _filled((self.num_channels,), 0.0, dtype, device)
            self.weight, self.bias = Parameter(w, device=dev), Parameter(b, device=dev)

    def reset_parameters(self):
        """Weight back to ones and bias to zeros, as the constructor set them."""
        _ones_zeros(self.weight, self.bias)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm: expected input with {self.num_channels} channels on "
                             f"axis 1, got {x.shape}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last ``len(normalized_shape)`` axes,
    as ``torch.nn.RMSNorm`` (eps None: the dtype's machine epsilon)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, dtype=None,
                 device=None):
        super().__init__()
        shape = (int(normalized_shape),) if isinstance(normalized_shape, int) else \
            tuple(int(s) for s in normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = None
        if elementwise_affine:
            w, dev = _filled(shape, 1.0, dtype, device)
            self.weight = Parameter(w, device=dev)

    def reset_parameters(self):
        """Weight back to ones, as the constructor set it."""
        _ones_zeros(self.weight, None)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
