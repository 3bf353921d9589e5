"""Keras 3's numeric preprocessing layers: ``Rescaling``, ``Normalization`` (with
``adapt``), ``CategoryEncoding``, ``Discretization``. Re-exported by
:mod:`gradengine.keras.layers`."""

from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn.layers import _module_device, _module_dtype
from .layers_common import (
    _Base,
    _const,
    _data_format,
    _from_first,
    _pad_spatial,
    _random,
    _Stateless,
    _to_first,
)

__all__ = [
    "CategoryEncoding", "CenterCrop", "Discretization", "Normalization", "RandomFlip",
    "Rescaling", "Resizing",
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
        if self.output_mode == "one_hot" or x.ndim == 0:
            return hot
        counts = hot.sum(axis=-2)  # (a rank-1 input is one sample, as Keras)
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
        # Keras' "int" output is int32
        return F.bucketize(x.astype(bounds.dtype), bounds, right=True).astype("int32")


def _nearest_exact(x, axis, size):
    """Resize one axis by PyTorch's "nearest-exact" rule (Keras' "nearest"): output i reads
    input ``floor((i + 0.5) * n / size)``."""
    n = x.shape[axis]
    idx = np.minimum(((np.arange(size) + 0.5) * (n / size)).astype(np.int64), n - 1)
    sl = [slice(None)] * x.ndim
    sl[axis] = idx
    return x[tuple(sl)]


def _resize(x, height, width, interpolation, fmt):
    """(N, H, W, C) or (N, C, H, W) images resized to (height, width)."""
    xt = _to_first(x, fmt)
    if interpolation == "nearest":
        out = _nearest_exact(_nearest_exact(xt, 2, height), 3, width)
    else:
        out = F.interpolate(xt, size=(height, width), mode=interpolation,
                            align_corners=False)
    return _from_first(out, fmt)


class Resizing(_Stateless):
    """Images (N, H, W, C) (or one (H, W, C) image) resized to ``(height, width)``:
    ``interpolation`` "bilinear" (the default), "nearest" or "bicubic", as Keras' torch
    backend; ``crop_to_aspect_ratio`` first takes the largest centred box of the target's
    aspect ratio, ``pad_to_aspect_ratio`` pads with ``fill_value`` to it instead."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)
        if interpolation not in ("bilinear", "nearest", "bicubic"):
            raise ValueError(f"Resizing: interpolation must be 'bilinear', 'nearest' or "
                             f"'bicubic', got {interpolation!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of crop_to_aspect_ratio and "
                             "pad_to_aspect_ratio can be True")
        if antialias:
            raise NotImplementedError("Resizing: antialias=True is not supported")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_value = float(fill_value)
        self.data_format = _data_format(data_format, "Resizing")

    def forward(self, x):
        single = x.ndim == 3
        if single:
            x = x.reshape(1, *x.shape)
        if x.ndim != 4:
            raise ShapeError(f"Resizing: expected images (N, H, W, C) or (H, W, C), got "
                             f"shape {tuple(x.shape)}")
        first = self.data_format == "channels_first"
        h, w = (x.shape[2], x.shape[3]) if first else (x.shape[1], x.shape[2])
        th, tw = self.height, self.width
        if self.crop_to_aspect_ratio:
            ch = max(min(h, int(float(w * th) / tw)), 1)
            cw = max(min(w, int(float(h * tw) / th)), 1)
            h0, w0 = int(float(h - ch) / 2), int(float(w - cw) / 2)
            sl = (slice(h0, h0 + ch), slice(w0, w0 + cw))
            x = x[(slice(None), slice(None)) + sl] if first else x[(slice(None),) + sl]
        elif self.pad_to_aspect_ratio:
            ph, pw = max(h, int(float(w * th) / tw)), max(w, int(float(h * tw) / th))
            a, b = int(float(ph - h) / 2), int(float(pw - w) / 2)
            xt = _pad_spatial(_to_first(x, self.data_format), [(a, a), (b, b)],
                              self.fill_value)
            x = _from_first(xt, self.data_format)
        out = _resize(x, th, tw, self.interpolation, self.data_format)
        return out.reshape(*out.shape[1:]) if single else out


class CenterCrop(_Stateless):
    """The central ``(height, width)`` box of each image; an image smaller than the box
    is resized to it (cropped to its aspect ratio first), as Keras."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)
        self.data_format = _data_format(data_format, "CenterCrop")

    def forward(self, x):
        first = self.data_format == "channels_first"
        h, w = (x.shape[-2], x.shape[-1]) if first else (x.shape[-3], x.shape[-2])
        dh, dw = h - self.height, w - self.width
        if dh < 0 or dw < 0:
            return Resizing(self.height, self.width, crop_to_aspect_ratio=True,
                            data_format=self.data_format)(x)
        sl = (slice(dh // 2, dh // 2 + self.height), slice(dw // 2, dw // 2 + self.width))
        return x[(Ellipsis,) + sl] if first else x[(Ellipsis,) + sl + (slice(None),)]


class RandomFlip(_Stateless):
    """In training, each image flipped left-right and / or up-down with probability 1/2
    (``mode`` "horizontal", "vertical" or "horizontal_and_vertical"); the identity
    otherwise. Draws from gradengine's generator."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip: mode must be 'horizontal', 'vertical' or "
                             f"'horizontal_and_vertical', got {mode!r}")
        self.mode, self.seed = mode, seed
        self.data_format = _data_format(data_format, "RandomFlip")

    def forward(self, x, training=None):
        if not self.training:
            return x
        single = x.ndim == 3
        if single:
            x = x.reshape(1, *x.shape)
        first = self.data_format == "channels_first"
        axes = []
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            axes.append(3 if first else 2)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            axes.append(2 if first else 1)
        for ax in axes:
            flip = (_random(self, "uniform", (x.shape[0],) + (1,) * (x.ndim - 1)) < 0.5)
            flip = flip.astype(x.dtype)
            x = flip * F.flip(x, ax) + (1 - flip) * x
        return x.reshape(*x.shape[1:]) if single else x
