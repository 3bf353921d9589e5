"""Op family: resampling and patches, as PyTorch's F -- ``interpolate`` (nearest,
nearest-exact, linear, bilinear, bicubic, trilinear, area), ``pixel_shuffle`` /
``pixel_unshuffle``, ``unfold`` / ``fold`` (im2col and its adjoint) and
``adaptive_max_pool1d`` / ``adaptive_max_pool2d``.

Interpolation is separable: each spatial axis is resampled on its own, the last axis first,
by gathering the source entries (``index_select``) and weighting them with PyTorch's
coefficients, computed in the input's dtype as PyTorch computes them (so that float32
results agree to rounding); its gradients come from those differentiable parts. uint8
images take the nearest modes, bilinear and bicubic, as PyTorch's: the last two as its
fixed-point kernel (int16 weights, each pass rounded to uint8), so results agree bit for
bit. See docs/ops.md.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.op import apply
from ..core.tensor import Tensor
from ..errors import ArgumentError, ShapeError
from .composite import adaptive_avg_pool1d, clamp, index_select
from .conv import _pair, adaptive_avg_pool2d, col2im, im2col
from .elementwise import cast
from .manipulation import take_along_dim
from .reductions import argmax_
from .shape import reshape, transpose

__all__ = ["interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle", "unfold", "fold",
           "adaptive_max_pool1d", "adaptive_max_pool2d"]
TENSOR_METHODS: dict = {}

_MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1, "bilinear": 2,
          "bicubic": 2, "trilinear": 3}
_CUBIC_A = -0.75
_UINT8_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")


# ---------------------------------------------------------------- interpolate

def _sizes(name, x, size, scale_factor, k):
    """(output sizes, the scale of each axis's coordinate map or None for in / out)."""
    if (size is None) == (scale_factor is None):
        raise ArgumentError(f"{name}: give exactly one of size and scale_factor (got size="
                            f"{size!r}, scale_factor={scale_factor!r})")
    if size is not None:
        out = (size,) * k if isinstance(size, (int, np.integer)) else tuple(size)
        if len(out) != k:
            raise ShapeError(f"{name}: size {size!r} has {len(out)} entries for {k} spatial "
                             f"dimensions of input {x.shape}")
        return tuple(int(o) for o in out), (None,) * k
    sf = (scale_factor,) * k if isinstance(scale_factor, (int, float, np.number)) else \
        tuple(scale_factor)
    if len(sf) != k:
        raise ShapeError(f"{name}: scale_factor {scale_factor!r} has {len(sf)} entries for {k} "
                         f"spatial dimensions of input {x.shape}")
    out = tuple(int(math.floor(float(n) * float(f))) for n, f in zip(x.shape[2:], sf))
    return out, tuple(float(f) for f in sf)


def _source(dt, n_in, n_out, scale, align_corners, cubic):
    """PyTorch's source coordinate of each output position (area_pixel_compute_source_index),
    in dtype ``dt``."""
    dst = np.arange(n_out, dtype=dt)
    if align_corners:
        s = dt.type((n_in - 1) / (n_out - 1)) if n_out > 1 else dt.type(0)
        return s * dst
    s = dt.type(1.0 / scale) if scale is not None and scale > 0 else dt.type(n_in / n_out)
    src = s * (dst + dt.type(0.5)) - dt.type(0.5)
    return src if cubic else np.maximum(src, dt.type(0))


def _nearest_index(dt, n_in, n_out, scale, exact, two_d):
    if two_d and not exact and n_out in (n_in, 2 * n_in):  # PyTorch's 2-d nearest_idx:
        # the same size copies, twice the size halves the index, whatever the scale
        return np.arange(n_out, dtype=np.int64) >> (n_out != n_in)
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else \
        np.float32(n_in / n_out)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor((dst + np.float32(0.5)) * s if exact else dst * s)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _weighted(x, ax, taps):
    """sum_k take(x, index_k, ax) * weight_k (weights broadcast along ax), in tap order."""
    shape = [1] * x.ndim
    shape[ax] = -1
    out = None
    for idx, w in taps:
        term = index_select(x, ax, Tensor(idx, device=x.device)) * \
            Tensor(w.reshape(shape), device=x.device)
        out = term if out is None else out + term
    return out


def _uint8_taps(n_in, n_out, scale, align_corners, cubic):
    """PyTorch's uint8 bilinear / bicubic weights along one axis: the float weights in
    double (HelperInterpBase::_compute_indices_min_size_weights, the taps that fall off
    the edge added to the edge's), scaled to int16 with the most bits of precision the
    largest weight leaves (_compute_index_ranges_int16_weights). Returns (first index,
    number of taps, int weights (n_out, taps), precision)."""
    if align_corners:
        sc = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        sc = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    taps = 4 if cubic else 2
    support = taps // 2
    a = -0.75

    def filt(u):
        u = abs(u)
        if not cubic:
            return 1.0 - u if u < 1.0 else 0.0
        if u < 1.0:
            return ((a + 2) * u - (a + 3)) * u * u + 1
        if u < 2.0:
            return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a
        return 0.0

    w = np.zeros((n_out, taps))
    first = np.zeros(n_out, np.int64)
    count = np.zeros(n_out, np.int64)
    for i in range(n_out):
        real = sc * i if align_corners else sc * (i + 0.5) - 0.5
        if not cubic and not align_corners and real < 0:
            real = 0.0
        idx = min(int(np.floor(np.float32(real))), n_in - 1)  # floorf, as PyTorch
        lam = min(max(real - idx, 0.0), 1.0)
        lo, hi = idx - support + 1, idx + support + 1
        first[i] = max(lo, 0)
        count[i] = min(max(min(hi, n_in) - first[i], 0), taps)
        k = 0
        for j in range(taps):
            v = filt(j + 1 - support - lam)
            if lo + j <= 0:
                k = 0
            elif lo + j >= n_in - 1:
                k = count[i] - 1
            w[i, k] += v
            k += 1
    top = w.max() if w.size else 0.0
    prec = 0
    while prec < 22 and int(0.5 + top * (1 << (prec + 1))) < (1 << 15):
        prec += 1
    v = w * (1 << prec)
    wi = np.where(v < 0, np.trunc(v - 0.5), np.trunc(v + 0.5)).astype(np.int32)
    wi[np.arange(taps)[None, :] >= count[:, None]] = 0
    return first, count, wi, prec


def _resample_axis_uint8(x, ax, n_out, scale, mode, align_corners):
    """One axis of PyTorch's uint8 bilinear / bicubic: an integer dot product of the
    taps with the int16 weights, plus half an LSB, shifted down and clamped to [0, 255]
    (basic_loop_aa_horizontal / vertical<uint8_t>), so each pass rounds to uint8."""
    n_in = x.shape[ax]
    first, _, wi, prec = _uint8_taps(n_in, n_out, scale, align_corners, mode == "bicubic")
    xi = cast(x, np.int32)
    shape = [1] * x.ndim
    shape[ax] = -1
    acc = None
    for j in range(wi.shape[1]):
        idx = np.minimum(first + j, n_in - 1)
        term = index_select(xi, ax, Tensor(idx, device=x.device)) * \
            Tensor(wi[:, j].reshape(shape), device=x.device)
        acc = term if acc is None else acc + term
    out = (acc + (1 << (prec - 1))) // (1 << prec)
    return cast(clamp(out, 0, 255), np.uint8)


def _resample_axis(x, ax, n_out, scale, mode, align_corners):
    n_in = x.shape[ax]
    dt = np.dtype(x.dtype)
    if mode in ("nearest", "nearest-exact"):
        idx = _nearest_index(dt, n_in, n_out, scale, mode == "nearest-exact", x.ndim == 4)
        return index_select(x, ax, Tensor(idx, device=x.device))
    if dt == np.uint8:
        return _resample_axis_uint8(x, ax, n_out, scale, mode, align_corners)
    src = _source(dt, n_in, n_out, scale, align_corners, mode == "bicubic")
    base = np.floor(src)
    t = (src - base).astype(dt)
    i0 = base.astype(np.int64)
    one = dt.type(1)
    if mode != "bicubic":
        i1 = np.minimum(i0 + 1, n_in - 1)
        return _weighted(x, ax, ((i0, one - t), (i1, t)))
    a = dt.type(_CUBIC_A)

    def near(u):  # |u| <= 1
        return ((a + 2) * u - (a + 3)) * u * u + 1

    def far(u):  # 1 < |u| < 2
        return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a
    ws = (far(t + one), near(t), near(one - t), far(2 * one - t))
    return _weighted(x, ax, tuple((np.clip(i0 + k - 1, 0, n_in - 1), w.astype(dt))
                                  for k, w in enumerate(ws)))


def interpolate(input, size=None, scale_factor=None, mode="nearest",  # noqa: A002
                align_corners=None, recompute_scale_factor=None, antialias=False):
    """Up- or down-sample the spatial dimensions of (N, C, *spatial) ``input``, as
    ``torch.nn.functional.interpolate``: ``mode`` "nearest" | "nearest-exact" (any
    dimensionality), "linear" (3-d), "bilinear" | "bicubic" (4-d), "trilinear" (5-d),
    "area" (adaptive average pooling). A uint8 ``input`` takes the nearest modes,
    "bilinear" and "bicubic" (as PyTorch), and gives uint8.

    Raises:
        ArgumentError: both or neither of size and scale_factor, an unknown mode,
            align_corners with a nearest mode, antialias.
        ShapeError: a mode for another dimensionality, sizes of the wrong length.
    """
    if mode not in _MODES:
        raise ArgumentError(f"interpolate: unknown mode {mode!r}; use one of "
                            f"{sorted(_MODES)}")
    # uint8 images too, as PyTorch: the nearest modes, bilinear and bicubic
    if not isinstance(input, Tensor) or not (input.dtype.kind == "f" or (
            input.dtype == np.uint8 and mode in _UINT8_MODES)):
        raise ArgumentError(f"interpolate: expected a floating Tensor (or uint8 for the "
                            f"modes {', '.join(_UINT8_MODES)}), got "
                            f"{getattr(input, 'dtype', type(input).__name__)} for {mode!r}")
    k = input.ndim - 2
    if k < 1 or k > 3 or (_MODES[mode] is not None and _MODES[mode] != k):
        raise ShapeError(f"interpolate: mode {mode!r} does not take input of shape "
                         f"{input.shape} ({input.ndim}-d)")
    if align_corners is not None and _MODES[mode] is None:
        raise ArgumentError(f"interpolate: align_corners only applies to the linear modes, "
                            f"not {mode!r}")
    if antialias:
        raise ArgumentError("interpolate: antialias=True is not supported")
    out, scales = _sizes("interpolate", input, size, scale_factor, k)
    if any(o < 1 for o in out):
        raise ShapeError(f"interpolate: output size {out} of input {input.shape} is empty")
    if recompute_scale_factor:
        scales = (None,) * k
    if mode == "area":
        if k == 1:
            return adaptive_avg_pool1d(input, out[0])
        if k == 2:
            return adaptive_avg_pool2d(input, out)
        raise ShapeError(f"interpolate: mode 'area' takes 3-d or 4-d input, got {input.shape}")
    x = input
    for ax in reversed(range(2, input.ndim)):  # the last axis first, as PyTorch's kernels
        j = ax - 2
        # an axis that keeps its size is copied by the uint8 (separable) kernels, and by
        # the nearest modes unless a scale_factor (not recomputed) says otherwise
        same = out[j] == x.shape[ax] and (input.dtype == np.uint8 if mode not in (
            "nearest", "nearest-exact") else scales[j] is None)
        if not same:
            x = _resample_axis(x, ax, out[j], scales[j], mode, bool(align_corners))
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """The old name of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# ---------------------------------------------------------------- pixel shuffle

def _factor(name, r):
    if not isinstance(r, (int, np.integer)) or r < 1:
        raise ArgumentError(f"{name}: the factor must be a positive int, got {r!r}")
    return int(r)


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(*, C r^2, H, W) -> (*, C, H r, W r), as ``torch.nn.functional.pixel_shuffle``."""
    r = _factor("pixel_shuffle", upscale_factor)
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise ShapeError(f"pixel_shuffle: input of shape {input.shape} needs at least 3 dims "
                         f"and channels divisible by upscale_factor^2 = {r * r}")
    *b, c, h, w = input.shape
    nb = len(b)
    x = reshape(input, *b, c // (r * r), r, r, h, w)
    x = transpose(x, tuple(range(nb)) + tuple(nb + i for i in (0, 3, 1, 4, 2)))
    return reshape(x, *b, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of :func:`pixel_shuffle`."""
    r = _factor("pixel_unshuffle", downscale_factor)
    if input.ndim < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise ShapeError(f"pixel_unshuffle: input of shape {input.shape} needs at least 3 "
                         f"dims and height and width divisible by downscale_factor {r}")
    *b, c, h, w = input.shape
    nb = len(b)
    x = reshape(input, *b, c, h // r, r, w // r, r)
    x = transpose(x, tuple(range(nb)) + tuple(nb + i for i in (0, 2, 4, 1, 3)))
    return reshape(x, *b, c * r * r, h // r, w // r)


# ---------------------------------------------------------------- unfold / fold

def _patch_geometry(name, kernel_size, dilation, padding, stride):
    k = _pair(kernel_size, name, "kernel_size")
    d = _pair(dilation, name, "dilation")
    p = _pair(padding, name, "padding")
    s = _pair(stride, name, "stride")
    if min(k + d + s) < 1 or min(p) < 0:
        raise ArgumentError(f"{name}: kernel_size, dilation and stride must be positive and "
                            f"padding non-negative, got {k}, {d}, {s}, {p}")
    return k, d, ((p[0], p[0]), (p[1], p[1])), s


def _blocks(name, hw, k, d, pads, s):
    out = tuple((n + 2 * pp[0] - dd * (kk - 1) - 1) // ss + 1
                for n, kk, dd, pp, ss in zip(hw, k, d, pads, s))
    if min(out) < 1:
        raise ShapeError(f"{name}: kernel {k} with dilation {d} does not fit the padded "
                         f"spatial size {hw}")
    return out


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Sliding local blocks of (N, C, H, W) (or (C, H, W)) input as columns
    (N, C kh kw, L), as ``torch.nn.functional.unfold`` (im2col)."""
    if input.ndim not in (3, 4):
        raise ShapeError(f"unfold: expected a 3-d or 4-d input, got shape {input.shape}")
    x = input if input.ndim == 4 else reshape(input, 1, *input.shape)
    k, d, pads, s = _patch_geometry("unfold", kernel_size, dilation, padding, stride)
    out_hw = _blocks("unfold", x.shape[2:], k, d, pads, s)
    cols = apply(im2col, x, params=(k, s, pads, d, out_hw))
    return cols if input.ndim == 4 else reshape(cols, *cols.shape[1:])


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """Columns (N, C kh kw, L) (or (C kh kw, L)) summed back into (N, C, H, W), as
    ``torch.nn.functional.fold`` (col2im, the adjoint of :func:`unfold`)."""
    if input.ndim not in (2, 3):
        raise ShapeError(f"fold: expected a 2-d or 3-d input, got shape {input.shape}")
    x = input if input.ndim == 3 else reshape(input, 1, *input.shape)
    k, d, pads, s = _patch_geometry("fold", kernel_size, dilation, padding, stride)
    hw = _pair(output_size, "fold", "output_size")
    out_hw = _blocks("fold", hw, k, d, pads, s)
    n, ckk, L = x.shape
    if ckk % (k[0] * k[1]) or L != out_hw[0] * out_hw[1]:
        raise ShapeError(f"fold: input of shape {input.shape} does not hold C * {k[0] * k[1]} "
                         f"rows and {out_hw[0] * out_hw[1]} blocks for output_size {hw}")
    shape = (n, ckk // (k[0] * k[1])) + hw
    out = apply(col2im, x, params=(shape, k, s, pads, d, out_hw))
    return out if input.ndim == 3 else reshape(out, *out.shape[1:])


# ---------------------------------------------------------------- adaptive max pooling

def _window_index(n_in, n_out):
    """(n_out, kmax) input positions of each adaptive window (PyTorch's start and end),
    short windows padded with their last position (a repeat never wins a first-max)."""
    starts = [(i * n_in) // n_out for i in range(n_out)]
    ends = [-(-((i + 1) * n_in) // n_out) for i in range(n_out)]
    kmax = max(e - a for a, e in zip(starts, ends))
    return np.array([[min(a + j, e - 1) for j in range(kmax)] for a, e in zip(starts, ends)],
                    dtype=np.int64)


def _adaptive_max(name, x, out, return_indices):
    k = len(out)
    if x.ndim not in (k + 1, k + 2) or x.dtype.kind != "f":
        raise ShapeError(f"{name}: expected a floating {k + 1}-d or {k + 2}-d input, got "
                         f"{x.dtype} {x.shape}")
    spatial = x.shape[x.ndim - k:]
    if min(out) < 1 or min(spatial) < 1:
        raise ShapeError(f"{name}: cannot pool input of shape {x.shape} to {out}")
    lead = x.shape[:x.ndim - k]
    idx = [_window_index(n, o) for n, o in zip(spatial, out)]
    flat = reshape(x, *lead, -1)
    if k == 1:
        pos = idx[0]                                         # (out, kw)
    else:
        w = spatial[1]
        pos = (idx[0][:, None, :, None] * w + idx[1][None, :, None, :])  # (oh, ow, kh, kw)
    pos = pos.reshape(*out, -1)
    win = index_select(flat, flat.ndim - 1, Tensor(pos.reshape(-1), device=x.device))
    win = reshape(win, *lead, *out, pos.shape[-1])
    best = argmax_(win, axis=-1, keepdims=True)  # the first maximum, as PyTorch's kernels
    values = reshape(take_along_dim(win, best, dim=-1), *lead, *out)
    if not return_indices:
        return values
    where = np.broadcast_to(pos, win.shape)
    index = np.take_along_axis(where, best.numpy().astype(np.int64), -1).reshape(values.shape)
    return values, Tensor(index, device=x.device)


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """Adaptive max pooling of (N, C, L) or (C, L) input to ``output_size`` positions, as
    ``torch.nn.functional.adaptive_max_pool1d`` (the gradient goes to the first maximum)."""
    o = output_size if isinstance(output_size, (int, np.integer)) else tuple(output_size)[0]
    return _adaptive_max("adaptive_max_pool1d", input, (int(o),), return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """Adaptive max pooling of (N, C, H, W) or (C, H, W) input to ``output_size`` (an int,
    or a pair whose None entries keep the input's size), as
    ``torch.nn.functional.adaptive_max_pool2d``; indices are flat in H * W."""
    if isinstance(output_size, (int, np.integer)):
        output_size = (output_size, output_size)
    h, w = input.shape[-2:]
    out = (h if output_size[0] is None else int(output_size[0]),
           w if output_size[1] is None else int(output_size[1]))
    return _adaptive_max("adaptive_max_pool2d", input, out, return_indices)
