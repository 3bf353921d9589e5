"""Keras 3's pooling and resampling layers: windowed max / average pooling of every rank
("same" averages over the real part of each window), adaptive and global pooling;
``UpSampling``, ``ZeroPadding`` and ``Cropping`` in 1, 2 and 3 dimensions. Re-exported
by :mod:`gradengine.keras.layers`."""

from __future__ import annotations

import itertools

import numpy as np

from .. import functional as F
from ..core.tensor import Tensor
from ..errors import ShapeError
from .layers_common import (
    _Base,
    _check_rank,
    _const,
    _data_format,
    _from_first,
    _pad_spatial,
    _padding,
    _same_pads,
    _to_first,
    _tuple,
)

__all__ = [
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D", "AveragePooling1D",
    "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D", "AvgPool3D", "Cropping1D",
    "Cropping2D", "Cropping3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
    "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GlobalMaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "UpSampling1D", "UpSampling2D",
    "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
]


def _window_count(size, k, s, before, out):
    """How many real (unpadded) positions each of ``out`` windows covers on one axis."""
    starts = np.arange(out) * s - before
    return np.minimum(starts + k, size) - np.maximum(starts, 0)


class _Pool(_Base):
    """Windowed max / average pooling of any rank, on the windows' strided slices."""

    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        n = type(self).__name__
        self.pool_size = _tuple(pool_size, self.rank, "pool_size", n)
        self.strides = self.pool_size if strides is None else \
            _tuple(strides, self.rank, "strides", n)
        self.padding = _padding(padding, n)
        self.data_format = _data_format(data_format, n)
        object.__setattr__(self, "_built", True)

    def forward(self, x):
        name = type(self).__name__
        _check_rank(x, self.rank, name, self.data_format)
        xt = _to_first(x, self.data_format)
        sizes = xt.shape[2:]
        pads = [_same_pads(n, k, s) if self.padding == "same" else (0, 0)
                for n, k, s in zip(sizes, self.pool_size, self.strides)]
        outs = [(n + a + b - k) // s + 1 for n, (a, b), k, s in
                zip(sizes, pads, self.pool_size, self.strides)]
        if min(outs) <= 0:
            raise ShapeError(f"{name}: input of shape {tuple(x.shape)} is smaller than the "
                             f"pool {self.pool_size}")
        fill = float("-inf") if self.mode == "max" else 0.0
        xt = _pad_spatial(xt, pads, fill)
        padded = any(a or b for a, b in pads)
        if self.rank < 3 and (self.mode == "max" or not padded):
            # the F pooling ops: one op instead of one per window offset
            fn = getattr(F, f"{self.mode}_pool{self.rank}d")
            return _from_first(fn(xt, self.pool_size, self.strides), self.data_format)
        out = None
        for offs in itertools.product(*(range(k) for k in self.pool_size)):
            idx = (slice(None), slice(None)) + tuple(
                slice(o, o + (n - 1) * s + 1, s) for o, n, s in zip(offs, outs, self.strides))
            win = xt[idx]
            out = win if out is None else (F.maximum(out, win) if self.mode == "max" else
                                           out + win)
        if self.mode == "avg":
            count = np.ones(())
            for n, k, s, (a, _), o in zip(sizes, self.pool_size, self.strides, pads, outs):
                count = np.multiply.outer(count, _window_count(n, k, s, a, o))
            out = out * _const(out, 1.0 / count)
        return _from_first(out, self.data_format)


class MaxPooling1D(_Pool):
    """The maximum over windows of (N, steps, C) input."""

    rank = 1


class MaxPooling2D(_Pool):
    """The maximum over windows of (N, H, W, C) input."""

    rank = 2

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class MaxPooling3D(_Pool):
    """The maximum over windows of (N, D, H, W, C) input."""

    rank = 3

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name, **kwargs)


class AveragePooling1D(_Pool):
    """The mean over windows of (N, steps, C) input ("same": over the window's unpadded
    part, as Keras)."""

    rank, mode = 1, "avg"


class AveragePooling2D(_Pool):
    """The mean over windows of (N, H, W, C) input ("same": over the window's unpadded
    part, as Keras)."""

    rank, mode = 2, "avg"


class AveragePooling3D(_Pool):
    """The mean over windows of (N, D, H, W, C) input."""

    rank, mode = 3, "avg"


class _GlobalPool(_Base):
    rank = 2
    mode = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        object.__setattr__(self, "_built", True)

    def forward(self, x, mask=None):
        _check_rank(x, self.rank, type(self).__name__, self.data_format)
        axes = tuple(range(2, x.ndim)) if self.data_format == "channels_first" else \
            tuple(range(1, x.ndim - 1))
        if self.mode == "max":
            return x.max(axis=axes, keepdims=self.keepdims)
        if mask is not None and self.rank == 1:
            m = mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask))
            m = m.astype(x.dtype)
            m = m.reshape(m.shape[0], 1, m.shape[1]) if self.data_format == \
                "channels_first" else m.reshape(m.shape[0], m.shape[1], 1)
            return (x * m).sum(axis=axes, keepdims=self.keepdims) / \
                m.sum(axis=axes, keepdims=self.keepdims)
        return x.mean(axis=axes, keepdims=self.keepdims)


def _global(rank, mode, doc):
    name = f"Global{'Max' if mode == 'max' else 'Average'}Pooling{rank}D"
    return type(name, (_GlobalPool,), {"rank": rank, "mode": mode, "__doc__": doc,
                                       "__module__": __name__})


GlobalMaxPooling1D = _global(1, "max", "The maximum over the steps of (N, steps, C) input.")
GlobalMaxPooling2D = _global(2, "max", "The maximum over H and W of (N, H, W, C) input.")
GlobalMaxPooling3D = _global(3, "max", "The maximum over D, H, W of (N, D, H, W, C) input.")
GlobalAveragePooling1D = _global(1, "avg", "The mean over the steps of (N, steps, C) input "
                                 "(over the unmasked steps when called with ``mask``).")
GlobalAveragePooling2D = _global(2, "avg", "The mean over H and W of (N, H, W, C) input.")
GlobalAveragePooling3D = _global(3, "avg", "The mean over D, H, W of (N, D, H, W, C) input.")


class _AdaptivePool(_Base):
    """Pooling to a fixed ``output_size``: window i of an axis of length n covers
    ``[floor(i n / out), ceil((i + 1) n / out))`` (PyTorch's and Keras' rule); done axis by
    axis, as a box's max (mean) is the max (mean) of its rows' maxima (means)."""

    rank = 2
    mode = "max"

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.output_size = _tuple(output_size, self.rank, "output_size", name)
        self.data_format = _data_format(data_format, name)
        object.__setattr__(self, "_built", True)

    def forward(self, x):
        _check_rank(x, self.rank, type(self).__name__, self.data_format)
        first = 2 if self.data_format == "channels_first" else 1
        for i, out in enumerate(self.output_size):
            ax, n = first + i, x.shape[first + i]
            parts = []
            for j in range(out):
                lo, hi = (j * n) // out, -(-((j + 1) * n) // out)
                idx = [slice(None)] * x.ndim
                idx[ax] = slice(lo, hi)
                win = x[tuple(idx)]
                parts.append(win.max(axis=ax, keepdims=True) if self.mode == "max" else
                             win.mean(axis=ax, keepdims=True))
            x = F.concatenate(parts, axis=ax) if len(parts) > 1 else parts[0]
        return x


def _adaptive(rank, mode):
    name = f"Adaptive{'Max' if mode == 'max' else 'Average'}Pooling{rank}D"
    doc = (f"{'Max' if mode == 'max' else 'Average'} pooling of rank {rank} input to a fixed "
           "``output_size``.")
    return type(name, (_AdaptivePool,), {"rank": rank, "mode": mode, "__doc__": doc,
                                         "__module__": __name__})


AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D = \
    (_adaptive(r, "max") for r in (1, 2, 3))
AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D = \
    (_adaptive(r, "avg") for r in (1, 2, 3))


class _UpSampling(_Base):
    rank = 2

    def __init__(self, size=2, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.size = _tuple(size, self.rank, "size", name)
        self.data_format = _data_format(data_format, name)
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in ("nearest", "bilinear") or \
                (self.interpolation != "nearest" and self.rank != 2):
            raise ValueError(f"{name}: interpolation must be 'nearest'"
                             f"{' or bilinear' if self.rank == 2 else ''}, got "
                             f"{interpolation!r}")
        object.__setattr__(self, "_built", True)

    def forward(self, x):
        _check_rank(x, self.rank, type(self).__name__, self.data_format)
        if self.interpolation == "bilinear":
            xt = _to_first(x, self.data_format)
            size = tuple(n * s for n, s in zip(xt.shape[2:], self.size))
            out = F.interpolate(xt, size=size, mode="bilinear", align_corners=False)
            return _from_first(out, self.data_format)
        first = 2 if self.data_format == "channels_first" else 1
        for i, s in enumerate(self.size):
            if s != 1:
                x = F.repeat_interleave(x, s, dim=first + i)
        return x


class UpSampling1D(_UpSampling):
    """Each step repeated ``size`` times: (N, steps, C) -> (N, steps * size, C)."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size=size, **kwargs)


class UpSampling2D(_UpSampling):
    """Rows and columns repeated (``interpolation="nearest"``) or bilinear resizing."""

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)


class UpSampling3D(_UpSampling):
    """Each of D, H, W repeated ``size`` times."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)


def _pairs(value, rank, what, name):
    """Keras' padding / cropping argument: an int, ``rank`` ints (symmetric), or
    ``rank`` (before, after) pairs."""
    if isinstance(value, (int, np.integer)):
        return ((int(value), int(value)),) * rank
    value = tuple(value)
    if rank == 1 and len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
        return ((int(value[0]), int(value[1])),)
    if rank == 1:  # -- kssuite: Keras takes an int or two ints, nothing else, in 1-D
        raise ValueError(f"{name}: {what} must be an int or a tuple of 2 ints, got {value!r}")
    if len(value) != rank:
        raise ValueError(f"{name}: {what} must be an int, {rank} ints or {rank} pairs, got "
                         f"{value!r}")
    out = []
    for v in value:
        if isinstance(v, (int, np.integer)):
            out.append((int(v), int(v)))
        else:
            a, b = v
            out.append((int(a), int(b)))
    return tuple(out)


class _ZeroPadding(_Base):
    rank = 2

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.padding = _pairs(padding, self.rank, "padding", name)
        self.data_format = _data_format(data_format, name)
        object.__setattr__(self, "_built", True)

    def forward(self, x):
        _check_rank(x, self.rank, type(self).__name__, self.data_format)
        return _from_first(_pad_spatial(_to_first(x, self.data_format), self.padding),
                           self.data_format)


class ZeroPadding1D(_ZeroPadding):
    """Zeros added at the start and end of the steps axis."""

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Rows and columns of zeros around (N, H, W, C) input."""

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Zeros around the three spatial axes."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _Cropping(_Base):
    rank = 2

    def __init__(self, cropping=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.cropping = _pairs(cropping, self.rank, "cropping", name)
        self.data_format = _data_format(data_format, name)
        object.__setattr__(self, "_built", True)

    def forward(self, x):
        name = type(self).__name__
        _check_rank(x, self.rank, name, self.data_format)
        first = 2 if self.data_format == "channels_first" else 1
        idx = [slice(None)] * x.ndim
        for i, (a, b) in enumerate(self.cropping):
            n = x.shape[first + i]
            if a + b >= n:
                # -- kssuite: Keras' wording
                raise ShapeError(f"`cropping` parameter of `{name}` layer must be smaller "
                                 f"than the input length. Received: inputs.shape="
                                 f"{tuple(x.shape)}, and cropping={self.cropping}")
            idx[first + i] = slice(a, n - b)
        return x[tuple(idx)]


class Cropping1D(_Cropping):
    """Steps removed from the start and end: (N, steps, C) -> (N, steps - a - b, C)."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, "channels_last", **kwargs)


class Cropping2D(_Cropping):
    """Rows and columns removed from the edges of (N, H, W, C) input."""

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """The edges of the three spatial axes removed."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


# Keras' other spellings
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = \
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = \
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D
