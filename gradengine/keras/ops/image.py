"""Keras 3's ``keras.ops.image`` on channels-last (or channels-first) images, as Keras'
torch backend computes them: ``resize`` (bilinear, nearest, bicubic; crop or pad to the
aspect ratio), ``affine_transform`` and ``map_coordinates`` (orders 0 and 1, Keras' fill
modes), colour conversions, ``pad_images`` / ``crop_images``, ``extract_patches``,
``gaussian_blur``, ``sobel_edges``. All differentiable in the image values."""

from __future__ import annotations

import functools
import itertools
import operator

import numpy as np

from ... import functional as F
from ...core.tensor import Tensor
from . import nn as _nn
from ._wrap import floatx, full_like, ones_like, to_tensor, wrap_all, zeros_like
from .core import slice as _slice
from .numpy import pad as _pad

_t = to_tensor

__all__ = ["affine_transform", "crop_images", "extract_patches", "gaussian_blur",
           "hsv_to_rgb", "map_coordinates", "pad_images", "resize", "rgb_to_grayscale",
           "rgb_to_hsv", "sobel_edges", "ssim"]

_RESIZE = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}


def _fmt(data_format):
    fmt = data_format or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    return fmt


def _rank(images, name):
    if images.ndim not in (3, 4):
        raise ValueError(f"{name}: expected rank 3 (single image) or rank 4 (batch of "
                         f"images), got shape {tuple(images.shape)}")


def resize(images, size, interpolation="bilinear", antialias=False,
           crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, fill_mode="constant",
           fill_value=0.0, data_format=None):
    fmt = _fmt(data_format)
    if interpolation not in _RESIZE:
        raise ValueError(f"resize: interpolation must be one of {sorted(_RESIZE)}, got "
                         f"{interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(f"resize: only fill_mode='constant' is supported, got {fill_mode!r}")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("resize: only one of pad_to_aspect_ratio and crop_to_aspect_ratio "
                         "can be True")
    if len(size) != 2:
        raise ValueError(f"resize: size must be (height, width), got {size}")
    x = _t(images)
    _rank(x, "resize")
    out_dtype = x.dtype
    squeeze = x.ndim == 3
    if squeeze:
        x = F.unsqueeze(x, 0)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype("float32")
    if fmt == "channels_last":
        x = F.transpose(x, (0, 3, 1, 2))
    th, tw = (int(s) for s in size)
    h, w = x.shape[-2], x.shape[-1]
    if crop_to_aspect_ratio:
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        hs, ws = int(float(h - ch) / 2), int(float(w - cw) / 2)
        x = x[:, :, hs:hs + ch, ws:ws + cw]
    elif pad_to_aspect_ratio:
        ph = max(h, int(float(w * th) / tw))
        pw = max(w, int(float(h * tw) / th))
        hs, ws = int(float(ph - h) / 2), int(float(pw - w) / 2)
        if hs > 0:
            x = F.pad(x, [0, 0, hs, hs], value=float(fill_value))
        if ws > 0:
            x = F.pad(x, [ws, ws, 0, 0], value=float(fill_value))
    if antialias and interpolation not in ("bilinear", "bicubic"):
        antialias = False
    align = False if interpolation in ("bilinear", "bicubic") else None
    if antialias:
        out = _aa_resize(x, th, tw, interpolation)
    else:
        out = F.interpolate(x, size=(th, tw), mode=_RESIZE[interpolation],
                            align_corners=align)
    if interpolation == "bicubic" and out_dtype == np.uint8:
        out = F.clip(out, 0, 255)
    if fmt == "channels_last":
        out = F.transpose(out, (0, 2, 3, 1))
    if squeeze:
        out = F.squeeze(out, 0)
    if out.dtype != out_dtype:
        if np.issubdtype(out_dtype, np.integer):
            out = F.round(out)
        out = out.astype(out_dtype)
    return out


def _aa_filter(kind, v):
    v = np.abs(v)
    if kind == "bilinear":
        return np.where(v < 1.0, 1.0 - v, 0.0)
    a = -0.5
    return np.where(v < 1.0, ((a + 2) * v - (a + 3)) * v * v + 1,
                    np.where(v < 2.0, (((v - 5) * v + 8) * v - 4) * a, 0.0))


def _aa_weights(n_in, n_out, kind):
    """The (n_out, n_in) antialiasing resampling matrix of torch's interpolate(antialias)."""
    scale = n_in / n_out
    half = 1.0 if kind == "bilinear" else 2.0
    support = half * scale if scale >= 1.0 else half
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    mat = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        j = np.arange(lo, hi)
        w = _aa_filter(kind, (j - center + 0.5) * inv)
        total = w.sum()
        mat[i, lo:hi] = w / total if total != 0 else w
    return mat


def _aa_resize(x, th, tw, kind):
    """Antialiased resize of NCHW ``x``: separable resampling matrices (differentiable)."""
    if kind == "nearest":
        return F.interpolate(x, size=(th, tw), mode="nearest-exact")
    wh = Tensor(_aa_weights(x.shape[-2], th, kind).astype(x.dtype), device=x.device)
    ww = Tensor(_aa_weights(x.shape[-1], tw, kind).astype(x.dtype), device=x.device)
    return F.matmul(F.matmul(wh, x), F.transpose(ww, (1, 0)))


def rgb_to_grayscale(images, data_format=None):
    x = _t(images)
    _rank(x, "rgb_to_grayscale")
    ax = -3 if _fmt(data_format) == "channels_first" else -1
    if x.shape[ax] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: expected 3 (RGB) or 1 (grayscale) channels, got "
                         f"shape {tuple(x.shape)}")
    if x.shape[ax] == 1:
        return x.clone()
    r, g, b = F.unbind(x, ax)
    out = (0.2989 * r + 0.587 * g + 0.114 * b).astype(x.dtype)
    return F.unsqueeze(out, ax)


def _float_images(images, name):
    x = _t(images)
    _rank(x, name)
    if x.dtype.kind != "f":
        raise ValueError(f"{name}: expected a float dtype, got {x.dtype.name}")
    return x


def rgb_to_hsv(images, data_format=None):
    x = _float_images(images, "rgb_to_hsv")
    ax = -1 if _fmt(data_format) == "channels_last" else -3
    eps = float(np.finfo(x.dtype).eps)
    x = F.where(F.abs(x) < eps, zeros_like(x), x)
    r, g, b = F.unbind(x, ax)
    value = F.maximum(F.maximum(r, g), b)
    rng = value - F.minimum(F.minimum(r, g), b)
    one = ones_like(value)
    safe_value = F.where(value > 0, value, one)
    safe_range = F.where(rng > 0, rng, one)
    sat = F.where(value > 0, rng / safe_value, zeros_like(value))
    norm = 1.0 / (6.0 * safe_range)
    hue = F.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = F.where(value == r, norm * (g - b), hue)
    hue = F.where(rng > 0, hue, zeros_like(hue)) + (hue < 0.0).astype(hue.dtype)
    return F.stack([hue, sat, value], axis=ax)


def hsv_to_rgb(images, data_format=None):
    x = _float_images(images, "hsv_to_rgb")
    ax = -1 if _fmt(data_format) == "channels_last" else -3
    h, s, v = F.unbind(x, ax)
    dh = F.remainder(h, 1.0) * 6.0
    dr = F.clip(F.abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = F.clip(2.0 - F.abs(dh - 2.0), 0.0, 1.0)
    db = F.clip(2.0 - F.abs(dh - 4.0), 0.0, 1.0)
    one_minus_s = 1.0 - s
    return F.stack([v * (one_minus_s + s * dr), v * (one_minus_s + s * dg),
                    v * (one_minus_s + s * db)], axis=ax)


def _hw(x, fmt):
    return (x.shape[-3], x.shape[-2]) if fmt == "channels_last" else (x.shape[-2], x.shape[-1])


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    fmt = _fmt(data_format)
    x = _t(images)
    _rank(x, "pad_images")
    h, w = _hw(x, fmt)
    if [top_padding, bottom_padding, target_height].count(None) != 1 or \
            [left_padding, right_padding, target_width].count(None) != 1:
        raise ValueError("pad_images: give exactly two of top_padding, bottom_padding, "
                         "target_height, and two of left_padding, right_padding, target_width")
    top = target_height - bottom_padding - h if top_padding is None else top_padding
    bottom = target_height - top - h if bottom_padding is None else bottom_padding
    left = target_width - right_padding - w if left_padding is None else left_padding
    right = target_width - left - w if right_padding is None else right_padding
    for name, v in (("top_padding", top), ("bottom_padding", bottom),
                    ("left_padding", left), ("right_padding", right)):
        if v < 0:
            raise ValueError(f"pad_images: {name} must be >= 0, got {v}")
    widths = [[top, bottom], [left, right]]
    widths = widths + [[0, 0]] if fmt == "channels_last" else [[0, 0]] + widths
    if x.ndim == 4:
        widths = [[0, 0]] + widths
    return _pad(x, widths)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    fmt = _fmt(data_format)
    x = _t(images)
    _rank(x, "crop_images")
    h, w = _hw(x, fmt)
    c = x.shape[-1] if fmt == "channels_last" else x.shape[-3]
    if [top_cropping, bottom_cropping, target_height].count(None) != 1 or \
            [left_cropping, right_cropping, target_width].count(None) != 1:
        raise ValueError("crop_images: give exactly two of top_cropping, bottom_cropping, "
                         "target_height, and two of left_cropping, right_cropping, "
                         "target_width")
    top = h - target_height - bottom_cropping if top_cropping is None else top_cropping
    th = h - bottom_cropping - top if target_height is None else target_height
    left = w - target_width - right_cropping if left_cropping is None else left_cropping
    tw = w - right_cropping - left if target_width is None else target_width
    for name, v in (("top_cropping", top), ("target_height", th),
                    ("left_cropping", left), ("target_width", tw)):
        if v < 0:
            raise ValueError(f"crop_images: {name} must be >= 0, got {v}")
    start, shape = [top, left], [th, tw]
    if fmt == "channels_last":
        start, shape = start + [0], shape + [c]
    else:
        start, shape = [0] + start, [c] + shape
    if x.ndim == 4:
        start, shape = [0] + start, [x.shape[0]] + shape
    return _slice(x, start, shape)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches flattened into the channel axis (as Keras: a convolution with an identity
    kernel); 2-D patches only."""
    fmt = _fmt(data_format)
    x = _t(images)
    ph, pw = (size, size) if isinstance(size, int) else tuple(size)
    if not isinstance(size, int) and len(size) != 2:
        raise NotImplementedError("extract_patches: only 2-D patches are supported")
    c = x.shape[-1] if fmt == "channels_last" else x.shape[-3]
    out_dim = ph * pw * c
    kernel = Tensor(np.eye(out_dim, dtype=x.dtype if x.dtype.kind == "f" else floatx())
                    .reshape(ph, pw, c, out_dim), device=x.device)
    unbatched = x.ndim == 3
    if unbatched:
        x = F.unsqueeze(x, 0)
    out = _nn.conv(x, kernel, strides or size, padding, fmt, dilation_rate)
    return F.squeeze(out, 0) if unbatched else out


# ---------------------------------------------------------------- sampling
def _mirror(index, size):
    s = size - 1
    if s == 0:
        return zeros_like(index)
    return F.abs(F.remainder(index + s, 2 * s) - s)


def _reflect(index, size):
    return F.floor_divide(_mirror(2 * index + 1, 2 * size + 1) - 1, 2)


_FIXERS = {
    "constant": lambda i, n: F.clip(i, 0, n - 1),
    "nearest": lambda i, n: F.clip(i, 0, n - 1),
    "wrap": lambda i, n: F.remainder(i, n),
    "mirror": _mirror,
    "reflect": _reflect,
}


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """``inputs`` sampled at ``coordinates`` (one array per axis), order 0 (nearest) or 1
    (linear), as ``scipy.ndimage.map_coordinates`` with Keras' fill modes."""
    x = _t(inputs)
    coords = [_t(c) for c in coordinates]
    if len(coords) != x.ndim:
        raise ValueError(f"map_coordinates: the first dimension of coordinates "
                         f"({len(coords)}) must equal the rank of inputs ({x.ndim})")
    fixer = _FIXERS.get(fill_mode)
    if fixer is None:
        raise ValueError(f"map_coordinates: fill_mode must be one of {sorted(_FIXERS)}, got "
                         f"{fill_mode!r}")
    if order not in (0, 1):
        raise NotImplementedError("map_coordinates: only order 0 and 1 are supported")
    is_int = x.dtype.kind in "iub"
    nodes_per_axis = []
    for c, n in zip(coords, x.shape):
        if order == 0:
            idx = (c if c.dtype.kind in "iu" else F.round(c)).astype("int64")
            nodes = [(idx, None)]
        else:
            lower = F.floor(c)
            up_w = c - lower
            idx = lower.astype("int64")
            nodes = [(idx, 1 - up_w), (idx + 1, up_w)]
        fixed = []
        for idx, wgt in nodes:
            valid = F.logical_and(idx >= 0, idx < n) if fill_mode == "constant" else None
            fixed.append((fixer(idx, n), valid, wgt))
        nodes_per_axis.append(fixed)
    total = None
    for items in itertools.product(*nodes_per_axis):
        idxs, valids, wgts = zip(*items)
        value = x[tuple(idxs)]
        vs = [v for v in valids if v is not None]
        if vs:
            ok = functools.reduce(F.logical_and, vs)
            value = F.where(ok, value, full_like(value, fill_value))
        ws = [w for w in wgts if w is not None]
        if ws:
            value = functools.reduce(operator.mul, ws) * value
        total = value if total is None else total + value
    if is_int and total.dtype.kind == "f":
        total = F.round(total)
    return total.astype(x.dtype)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Each output pixel ``(y, x)`` samples the input at ``(b0 x + b1 y + b2, a0 x + a1 y +
    a2)`` for ``transform = [a0, a1, a2, b0, b1, b2, c0, c1]`` (Keras' torch backend)."""
    orders = {"nearest": 0, "bilinear": 1}
    if interpolation not in orders:
        raise ValueError(f"affine_transform: interpolation must be 'nearest' or 'bilinear', "
                         f"got {interpolation!r}")
    if fill_mode not in ("constant", "nearest", "wrap", "mirror", "reflect"):
        raise ValueError(f"affine_transform: unsupported fill_mode {fill_mode!r}")
    x = _t(images)
    _rank(x, "affine_transform")
    t = _t(transform)
    if t.ndim not in (1, 2):
        raise ValueError(f"affine_transform: transform must be of rank 1 or 2, got shape "
                         f"{tuple(t.shape)}")
    squeeze = x.ndim == 3
    if squeeze:
        x = F.unsqueeze(x, 0)
    if t.ndim == 1:
        t = F.unsqueeze(t, 0)
    if _fmt(data_format) == "channels_first":
        x = F.transpose(x, (0, 2, 3, 1))
    t = t.astype(x.dtype if x.dtype.kind == "f" else floatx())
    h, w, c = x.shape[1:]
    yy, xx, cc = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    yy, xx, cc = (Tensor(v.astype(t.dtype), device=x.device) for v in (yy, xx, cc))
    outs = []
    for i in range(x.shape[0]):
        row = t[i if t.shape[0] > 1 else 0]
        a0, a1, a2, b0, b1, b2, c0, c1 = (row[k] for k in range(8))
        cy = yy * b1 + xx * b0 + cc * c0 + b2
        cx = yy * a1 + xx * a0 + cc * c1 + a2
        outs.append(map_coordinates(x[i], [cy, cx, cc], orders[interpolation], fill_mode,
                                    fill_value))
    out = F.stack(outs, axis=0)
    if _fmt(data_format) == "channels_first":
        out = F.transpose(out, (0, 3, 1, 2))
    return F.squeeze(out, 0) if squeeze else out


def _per_channel(x, kernel2d, pad, fmt):
    """Each channel convolved with one 2-D kernel, zero-padded by ``pad`` on every side."""
    c = x.shape[-1] if fmt == "channels_last" else x.shape[-3]
    kh, kw = kernel2d.shape
    k = F.tile(F.reshape(kernel2d, (kh, kw, 1, 1)), 1, 1, c, 1)
    widths = [[0, 0], [pad, pad], [pad, pad], [0, 0]] if fmt == "channels_last" else \
        [[0, 0], [0, 0], [pad, pad], [pad, pad]]
    return _nn.depthwise_conv(_pad(x, widths), k, 1, "valid", fmt)


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    fmt = _fmt(data_format)
    x = _t(images)
    _rank(x, "gaussian_blur")
    squeeze = x.ndim == 3
    if squeeze:
        x = F.unsqueeze(x, 0)
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(floatx())
    x = x.astype(dt)

    def g1(size, s):
        r = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
        k = np.exp(-0.5 * (r / s) ** 2)
        return k / k.sum()
    ks = [int(v) for v in kernel_size]
    sg = [float(v) for v in sigma]
    kern = np.outer(g1(ks[1], sg[1]), g1(ks[0], sg[0])).reshape(ks[0], ks[1])
    out = _per_channel(x, Tensor(kern.astype(dt), device=x.device), ks[0] // 2, fmt)
    return F.squeeze(out, 0) if squeeze else out


def sobel_edges(images, data_format=None):
    """The vertical and horizontal Sobel responses of each channel, stacked on a last axis
    of size 2 (zero padding), as Keras."""
    fmt = _fmt(data_format)
    x = _t(images)
    if x.ndim != 4:
        raise ValueError(f"sobel_edges: expected a batch of images (rank 4), got shape "
                         f"{tuple(x.shape)}")
    ky = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=x.dtype)
    outs = [_per_channel(x, Tensor(k.copy(), device=x.device), 1, fmt) for k in (ky, ky.T)]
    return F.stack(outs, axis=-1)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """The structural similarity of each image pair (Keras' formula: a Gaussian window,
    "valid" filtering, the mean over pixels then channels); one value per image."""
    fmt = _fmt(data_format)
    a, b = _t(image1), _t(image2)
    _rank(a, "ssim")
    _rank(b, "ssim")
    out_dtype = a.dtype
    dt = a.dtype if a.dtype.kind == "f" else np.dtype(floatx())
    a, b = a.astype(dt), b.astype(dt)
    unbatched = a.ndim == 3
    if unbatched:
        a, b = F.unsqueeze(a, 0), F.unsqueeze(b, 0)
    if fmt == "channels_first":
        a, b = F.moveaxis(a, 1, -1), F.moveaxis(b, 1, -1)
    n, h, w, c = a.shape
    r = np.arange(filter_size, dtype=np.float64) - (filter_size - 1) / 2.0
    g = np.exp(-(r ** 2) / (2.0 * filter_sigma ** 2))
    g = g / g.sum()
    kernel = Tensor(np.outer(g, g).reshape(filter_size, filter_size, 1, 1).astype(dt),
                    device=a.device)

    def chans(x):
        return F.reshape(F.transpose(x, (0, 3, 1, 2)), (-1, h, w, 1))

    def blur(x):
        return _nn.conv(x, kernel, 1, "valid", "channels_last")
    a, b = chans(a), chans(b)
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = blur(a), blur(b)
    s11 = blur(a * a) - mu1 * mu1
    s22 = blur(b * b) - mu2 * mu2
    s12 = blur(a * b) - mu1 * mu2
    smap = ((2.0 * mu1 * mu2 + c1) * (2.0 * s12 + c2)) / \
        ((mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2))
    per = F.mean(F.reshape(F.mean(smap, axis=(1, 2, 3)), (n, c)), axis=-1)
    return (F.squeeze(per, 0) if unbatched else per).astype(out_dtype)


wrap_all(globals(), __all__)
