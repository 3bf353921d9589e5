"""Keras 3's numeric preprocessing layers: ``Rescaling``, ``Normalization`` (with
``adapt``), ``CategoryEncoding``, ``Discretization``. Re-exported by
:mod:`gradengine.keras.layers`."""

from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..nn.layers import _module_device, _module_dtype
from .layers_common import (
    _Base,
    _const,
    _Stateless,
)

__all__ = [
    "CategoryEncoding", "Discretization", "Normalization", "Rescaling",
]


class Rescaling(_Stateless):
    """``x * scale + offset``."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def forward(self, x):
        scale = self.scale if np.isscalar(self.scale) else _const(x, self.scale)
        offset = self.offset if np.isscalar(self.offset) else _const(x, self.offset)
        return x * scale + offset


class Normalization(_Base):
    """Feature-wise standardisation ``(x - mean) / max(sqrt(variance), 1e-7)`` along
    ``axis``, the statistics given or learned by :meth:`adapt`; ``invert=True`` undoes
    it. Weights (when adapted): ``mean``, ``variance``, ``count`` (left at 0, as Keras 3's)."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = (axis,) if isinstance(axis, int) else (tuple(axis) if axis else ())
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither")
        self.invert = bool(invert)
        self._given = None if mean is None else (np.asarray(mean, dtype="float64"),
                                                 np.asarray(variance, dtype="float64"))
        self.mean = self.variance = self.count = None

    def build(self, input_shape):
        if self._given is not None:
            return
        ndim = len(input_shape)
        shape = tuple(int(input_shape[a % ndim]) for a in self.axis)
        self._buffer("zeros", shape, "mean")
        self._buffer("ones", shape, "variance")
        dev = _module_device(self)
        with backend.cuda_context(dev):
            self.register_buffer("count", Tensor._make(
                backend.xp_of(dev).zeros((), dtype="int64"), dev))

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the mean and (biased) variance of ``data`` over every axis but ``axis``."""
        arr = data.numpy() if isinstance(data, Tensor) else np.asarray(data, dtype="float64")
        arr = arr.astype("float64")
        ndim = arr.ndim
        keep = tuple(a % ndim for a in self.axis)
        red = tuple(a for a in range(ndim) if a not in keep)
        mean, var = arr.mean(axis=red), arr.var(axis=red)
        if not self.built or self.mean is None:
            self._given = None
            self.build((None,) + arr.shape[1:])
            object.__setattr__(self, "_built", True)
        dt = _module_dtype(self)
        # Keras 3 keeps its ``count`` weight at 0 after adapt; so does this one
        self.load_state_dict({"mean": mean.astype(dt), "variance": var.astype(dt),
                              "count": np.zeros((), dtype="int64")})

    def _stats(self, x):
        ndim = x.ndim
        keep = sorted(a % ndim for a in self.axis)
        bshape = [1] * ndim
        for a in keep:
            bshape[a] = x.shape[a]
        if self._given is not None:
            mean, var = self._given
            mean = _const(x, np.broadcast_to(mean, [x.shape[a] for a in keep]).reshape(bshape))
            var = _const(x, np.broadcast_to(var, [x.shape[a] for a in keep]).reshape(bshape))
            return mean, var
        return self.mean.reshape(bshape), self.variance.reshape(bshape)

    def forward(self, x):
        mean, var = self._stats(x)
        std = F.clamp(F.sqrt(var), min=1e-7)
        return mean + x * std if self.invert else (x - mean) / std


class CategoryEncoding(_Stateless):
    """Integer tokens -> ``"one_hot"``, ``"multi_hot"`` (the default) or ``"count"``
    vectors of ``num_tokens``."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if num_tokens is None:
            raise ValueError("CategoryEncoding: num_tokens is required")
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(f"CategoryEncoding: output_mode must be 'one_hot', 'multi_hot' "
                             f"or 'count', got {output_mode!r}")
        if sparse:
            raise NotImplementedError("CategoryEncoding: sparse outputs are not supported")
        self.num_tokens, self.output_mode = int(num_tokens), output_mode

    def _prepare(self, x):
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x), device=_module_device(self))
        return x.astype("int64")

    def forward(self, x):
        n = self.num_tokens
        lo, hi = (int(x.min().item()), int(x.max().item())) if x.size else (0, 0)
        if lo < 0 or hi >= n:
            raise ValueError(f"CategoryEncoding: tokens must be in [0, {n}), got values in "
                             f"[{lo}, {hi}]")
        if self.output_mode == "one_hot" and x.ndim and x.shape[-1] == 1:
            x = x.reshape(*x.shape[:-1])
        hot = F.one_hot(x, n).astype(_module_dtype(self))
        if self.output_mode == "one_hot" or x.ndim <= 1:
            return hot
        counts = hot.sum(axis=-2)
        return counts if self.output_mode == "count" else (counts > 0).astype(counts.dtype)


class Discretization(_Stateless):
    """Values -> the index of their bucket among ``bin_boundaries`` (``x < b[0]`` -> 0,
    ``b[i-1] <= x < b[i]`` -> i); :meth:`adapt` picks ``num_bins`` quantile bins.
    ``output_mode="int"`` only."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None):
        super().__init__(name=name)
        if output_mode != "int":
            raise NotImplementedError("Discretization: only output_mode='int'")
        if bin_boundaries is None and num_bins is None:
            raise ValueError("Discretization: give bin_boundaries or num_bins")
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in
                                                                   bin_boundaries]
        self.num_bins, self.epsilon = num_bins, epsilon
        self.output_mode = output_mode

    def adapt(self, data, batch_size=None, steps=None):
        """Quantile boundaries of ``data`` (exact quantiles; Keras' are approximate)."""
        arr = np.asarray(data.numpy() if isinstance(data, Tensor) else data, dtype="float64")
        qs = np.linspace(0, 1, int(self.num_bins) + 1)[1:-1]
        self.bin_boundaries = [float(b) for b in np.quantile(arr.ravel(), qs)]

    def _prepare(self, x):
        return x if isinstance(x, Tensor) else Tensor(np.asarray(x),
                                                      device=_module_device(self))

    def forward(self, x):
        if self.bin_boundaries is None:
            raise RuntimeError("Discretization: call adapt() or give bin_boundaries first")
        bounds = Tensor(np.asarray(self.bin_boundaries, dtype=x.dtype if x.dtype.kind == "f"
                                   else "float64"), device=x.device)
        return F.bucketize(x.astype(bounds.dtype), bounds, right=True)
