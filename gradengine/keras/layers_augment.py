"""Keras 3's image augmentation layers: the geometric ones (``RandomRotation``,
``RandomZoom``, ``RandomTranslation``, ``RandomShear``, ``RandomCrop``), the colour ones
(``RandomContrast``, ``RandomBrightness``, ``RandomGrayscale``, ``Solarization``,
``RandomInvert``, ``AutoContrast``) and ``Pipeline``. Re-exported by
:mod:`gradengine.keras.layers`.

Images are channels_last, a batch (N, H, W, C) or one image (H, W, C). Each layer is
active only in training (``fit``, or a call with ``training=True``) and the identity
otherwise (``RandomCrop`` takes the centre box then, ``AutoContrast`` always applies), as
Keras. The random draws come from gradengine's seeded generator (``ge.manual_seed``,
``keras.utils.set_random_seed``); the ``seed`` argument is kept for the config only.

The geometric layers follow Keras' ``affine_transform``: each output pixel (x, y) reads the
input at ``(a0 x + a1 y + a2, b0 x + b1 y + b2)`` (Keras' 8-number transform), with
"bilinear" or "nearest" interpolation and Keras' fill modes "reflect", "wrap", "constant"
(``fill_value``, blended by the bilinear weights as Keras) and "nearest". The sampling is a
gather of the input with fixed indices and weights, so gradients reach the input; the random
geometry itself has none.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..errors import ShapeError
from .layers_common import _const, _random, _Stateless
from .layers_preprocessing import CenterCrop, _resize

__all__ = [
    "AutoContrast", "Equalization", "Pipeline", "RandomBrightness", "RandomColorDegeneration",
    "RandomColorJitter", "RandomContrast", "RandomCrop", "RandomErasing", "RandomGaussianBlur",
    "RandomGrayscale", "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization",
    "RandomRotation", "RandomSaturation", "RandomSharpness", "RandomShear", "RandomTranslation",
    "RandomZoom", "Solarization",
]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


# ----------------------------------------------------------------------------- helpers
def _channels_last(value, name):
    fmt = "channels_last" if value is None else str(value).lower()
    if fmt == "channels_first":
        raise NotImplementedError(f"{name}: data_format='channels_first' is not supported; "
                                  "give channels_last images (N, H, W, C)")
    if fmt != "channels_last":
        raise ValueError(f"{name}: data_format must be 'channels_last', got {value!r}")
    return fmt


def _check_modes(name, fill_mode, interpolation):
    if fill_mode not in _FILL_MODES:
        raise NotImplementedError(f"{name}: unknown fill_mode {fill_mode!r}; expected one of "
                                  f"{_FILL_MODES}")
    if interpolation not in _INTERPOLATIONS:
        raise NotImplementedError(f"{name}: unknown interpolation {interpolation!r}; "
                                  f"expected one of {_INTERPOLATIONS}")


def _batched(x, name):
    """(x as (N, H, W, C), whether it was one image)."""
    if x.ndim == 3:
        return x.reshape(1, *x.shape), True
    if x.ndim != 4:
        raise ShapeError(f"{name}: expected images (N, H, W, C) or (H, W, C), got shape "
                         f"{tuple(x.shape)}")
    return x, False


def _pair(factor, name, what, lo_bound=-1.0, hi_bound=1.0, lo_open=False, symmetric=True):
    """Keras' factor forms: a number f -> (-|f|, |f|) (or (0, f) when not symmetric); a
    pair -> sorted; each value checked against the bounds."""
    def check(v):
        bad = v > hi_bound or (v <= lo_bound if lo_open else v < lo_bound)
        if bad:
            raise ValueError(f"{name}: {what} values must be in "
                             f"{'(' if lo_open else '['}{lo_bound}, {hi_bound}], got "
                             f"{what}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{name}: {what} must be a number or a pair, got {factor!r}")
        check(factor[0])
        check(factor[1])
        lo, hi = sorted(float(f) for f in factor)
        return lo, hi
    if isinstance(factor, (int, float, np.integer, np.floating)):
        check(factor)
        f = abs(float(factor))
        return (-f, f) if symmetric else (0.0, float(factor))
    raise ValueError(f"{name}: {what} must be a number or a pair, got {factor!r}")


def _base_factor(factor, name, bounds=(-1.0, 1.0)):
    """The factor rule of Keras' BaseImagePreprocessingLayer (``_set_factor``)."""
    msg = (f"{name}: factor must be a number (or a pair of numbers) in the range "
           f"[{bounds[0]}, {bounds[1]}], got factor={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(msg)
        lo, hi = sorted(float(f) for f in factor)
        return lo, hi
    if isinstance(factor, (int, float, np.integer, np.floating)):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(msg)
        f = abs(float(factor))
        return max(-f, bounds[0]), f
    raise ValueError(msg)


def _value_range(value_range, name):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{name}: value_range must be a pair (low, high), got "
                         f"{value_range!r}")
    return sorted(float(v) for v in value_range)


def _uniform(layer, shape, lo, hi):
    """U(lo, hi) draws as a float32 NumPy array (Keras computes its transforms in
    float32)."""
    t = _random(layer, "uniform", shape, float(lo), float(hi))
    return np.asarray(t.numpy(), dtype=np.float32)


def _mirror(index, size):
    s = size - 1  # Keras' triangular wave; reflect calls it with size >= 3
    return np.abs((index + s) % (2 * s) - s)


def _fix_index(index, size, fill_mode):
    if fill_mode in ("constant", "nearest"):
        return np.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return index % size
    return (_mirror(2 * index + 1, 2 * size + 1) - 1) // 2  # reflect


def _nodes(coord, interpolation):
    """[(integer index, weight)] of one coordinate array, as Keras' map_coordinates."""
    if interpolation == "nearest":
        return [(np.round(coord).astype(np.int64), None)]
    lower = np.floor(coord)
    upper_w = coord - lower
    idx = lower.astype(np.int64)
    return [(idx, 1 - upper_w), (idx + 1, upper_w)]


def affine_transform(x, transforms, interpolation="bilinear", fill_mode="constant",
                     fill_value=0.0, projective=False):
    """Keras' ``ops.image.affine_transform`` for channels_last images ``x`` (N, H, W, C) and
    ``transforms`` (N, 8) (NumPy, float32): output (x, y) reads the input at
    ``(a0 x + a1 y + a2, b0 x + b1 y + b2)`` (``projective``: both divided by ``c0 x + c1 y
    + 1``, Keras' perspective_transform). Differentiable in ``x``."""
    n, h, w, c = x.shape
    t = np.asarray(transforms, dtype=np.float32).reshape(n, 8)
    ii, jj = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32),
                         indexing="ij")
    a0, a1, a2, b0, b1, b2 = (t[:, k, None, None] for k in range(6))
    if projective:  # Keras' perspective_transform: the homography, divided through
        c0, c1 = t[:, 6, None, None], t[:, 7, None, None]
        denom = c0 * jj + c1 * ii + np.float32(1.0)
        cols = (a0 * jj + a1 * ii + a2) / denom
        rows = (b0 * jj + b1 * ii + b2) / denom
    else:
        rows = (ii * b1 + jj * b0) + b2  # (N, H, W), float32 as Keras' einsum then offset
        cols = (ii * a1 + jj * a0) + a2
    flat = x.reshape(n * h * w, c)
    base = (np.arange(n, dtype=np.int64) * (h * w))[:, None, None]
    out = None
    for ri, rw in _nodes(rows, interpolation):
        for ci, cw in _nodes(cols, interpolation):
            fr, fc = _fix_index(ri, h, fill_mode), _fix_index(ci, w, fill_mode)
            index = _index(x, (base + fr * w + fc).reshape(-1))
            gathered = flat[index].reshape(n, h, w, c)
            weight = None if rw is None else (rw * cw)[..., None]
            if fill_mode == "constant":
                valid = ((ri >= 0) & (ri < h) & (ci >= 0) & (ci < w))[..., None]
                gathered = F.where(_const(x, np.broadcast_to(valid, (n, h, w, c))), gathered,
                                   _const(x, np.full((n, h, w, c), fill_value)))
            term = gathered if weight is None else gathered * _const(x, weight)
            out = term if out is None else out + term
    return out


def _index(x, arr):
    """An int64 index Tensor on x's device."""
    xp = backend.xp_of(x.device)
    with backend.cuda_context(x.device):
        return Tensor._make(xp.asarray(arr, dtype="int64"), x.device)


class _Augment(_Stateless):
    """The shared call: images batched, transformed in training only, unbatched back."""

    def forward(self, x, training=None):
        if not self.training:
            return self._inference(x)
        xb, single = _batched(x, type(self).__name__)
        out = self._augment(xb)
        return out.reshape(*out.shape[1:]) if single else out

    def _inference(self, x):
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class _Affine(_Augment):
    """A geometric layer: ``_matrices(n, h, w)`` gives Keras' (N, 8) transforms."""

    def _setup(self, fill_mode, interpolation, fill_value, seed, data_format):
        name = type(self).__name__
        _check_modes(name, fill_mode, interpolation)
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value, self.seed = fill_value, seed
        self.data_format = _channels_last(data_format, name)

    def _augment(self, x):
        n, h, w, _ = x.shape
        return affine_transform(x, self._matrices(n, h, w), self.interpolation,
                                self.fill_mode, self.fill_value)


def _affine_matrix(angle_deg, scale, shear_x, shear_y, tx, ty, h, w):
    """Keras' BaseImagePreprocessingLayer._compute_affine_matrix (centre 0.5, 0.5), in
    float32."""
    f32 = np.float32
    rad = f32(math.pi / 180.0)
    angle = angle_deg.astype(f32) * rad
    shx, shy = np.tan(shear_x.astype(f32) * rad), np.tan(shear_y.astype(f32) * rad)
    cx, cy = f32(0.5) * (f32(w) - 1), f32(0.5) * (f32(h) - 1)
    cos, sin = np.cos(angle), np.sin(angle)
    a0 = scale * (cos + shx * sin)
    a1 = scale * (-sin + shx * cos)
    a2 = tx + cx - cx * a0 - cy * a1
    b0 = scale * (shy * cos + sin)
    b1 = scale * (shy * -sin + cos)
    b2 = ty + cy - cx * b0 - cy * b1
    z = np.zeros_like(a0)
    return np.stack([a0, a1, a2, b0, b1, b2, z, z], axis=1).astype(f32)


# ----------------------------------------------------------------------------- geometric
class RandomRotation(_Affine):
    """Each image rotated by an angle drawn from ``factor`` (fractions of a full turn: a
    number f -> [-f, f], or a pair (lo, hi)) about its centre."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomRotation")
        self._setup(fill_mode, interpolation, fill_value, seed, data_format)

    def _matrices(self, n, h, w):
        lo, hi = self.factor
        angle = _uniform(self, (n,), lo * 360.0, hi * 360.0)
        zeros, ones = np.zeros(n, np.float32), np.ones(n, np.float32)
        return _affine_matrix(angle, ones, zeros, zeros, zeros, zeros, h, w)


class RandomZoom(_Affine):
    """Each image zoomed by ``1 + u``, u drawn from ``height_factor`` (and
    ``width_factor``, else the same draw): positive values zoom out, negative zoom in
    (Keras' convention). Factors in (-1, 1]."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _pair(height_factor, "RandomZoom", "height_factor", lo_open=True)
        self._w = None if width_factor is None else _pair(width_factor, "RandomZoom",
                                                          "width_factor", lo_open=True)
        self._setup(fill_mode, interpolation, fill_value, seed, data_format)

    def _matrices(self, n, h, w):
        zh = _uniform(self, (n,), 1.0 + self._h[0], 1.0 + self._h[1])
        zw = zh if self._w is None else _uniform(self, (n,), 1.0 + self._w[0],
                                                 1.0 + self._w[1])
        f32 = np.float32
        xo = ((f32(w) - f32(1)) / f32(2)) * (f32(1) - zw)
        yo = ((f32(h) - f32(1)) / f32(2)) * (f32(1) - zh)
        z = np.zeros(n, f32)
        return np.stack([zw, z, xo, z, zh, yo, z, z], axis=1)


class RandomTranslation(_Affine):
    """Each image shifted by fractions of its height and width drawn from
    ``height_factor`` and ``width_factor`` (numbers f -> [-f, f], or pairs, in [-1, 1])."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _pair(height_factor, "RandomTranslation", "height_factor")
        self._w = _pair(width_factor, "RandomTranslation", "width_factor")
        self._setup(fill_mode, interpolation, fill_value, seed, data_format)

    def _matrices(self, n, h, w):
        dy = _uniform(self, (n,), *self._h) * np.float32(h)
        dx = _uniform(self, (n,), *self._w) * np.float32(w)
        z, o = np.zeros(n, np.float32), np.ones(n, np.float32)
        return np.stack([o, z, -dx, z, o, -dy, z, z], axis=1)


class RandomShear(_Affine):
    """Each image sheared by ``s_x`` and ``s_y`` drawn from ``x_factor`` and ``y_factor``
    (in [0, 1]: a number f -> [-f, f]), both negated together with probability 1/2."""

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.x_factor = _pair(x_factor, "RandomShear", "x_factor", lo_bound=0.0)
        self.y_factor = _pair(y_factor, "RandomShear", "y_factor", lo_bound=0.0)
        self._setup(fill_mode, interpolation, fill_value, seed, data_format)

    def _matrices(self, n, h, w):
        sign = np.where(_uniform(self, (n,), 0.0, 1.0) > 0.5, -1.0, 1.0).astype(np.float32)
        sy = _uniform(self, (n,), *self.y_factor) * sign
        sx = _uniform(self, (n,), *self.x_factor) * sign
        z, o = np.zeros(n, np.float32), np.ones(n, np.float32)
        return np.stack([o, sx, z, sy, o, z, z, z], axis=1)


def _homography(start, end):
    """Keras' compute_homography_matrix: the 8 numbers mapping ``end`` corners to
    ``start`` ones ((N, 4, 2) each), solved in float64, returned in float32."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    rows = []
    for k in range(4):
        sx, sy, ex, ey = start[:, k, 0], start[:, k, 1], end[:, k, 0], end[:, k, 1]
        o, z = np.ones_like(ex), np.zeros_like(ex)
        rows.append(np.stack([ex, ey, o, z, z, z, -sx * ex, -sx * ey], axis=-1))
        rows.append(np.stack([z, z, z, ex, ey, o, -sy * ex, -sy * ey], axis=-1))
    a = np.stack(rows, axis=1)
    b = start.reshape(-1, 8)[..., None]
    return np.linalg.solve(a, b)[..., 0].astype(np.float32)


class RandomPerspective(_Augment):
    """With probability p (p drawn from ``factor``, in [0, 1]) each image warped by the
    homography that moves its four corners by up to ``scale / 2`` of their coordinates
    (Keras' rule), ``interpolation`` "bilinear" or "nearest", outside filled with
    ``fill_value``."""

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomPerspective", bounds=(0.0, 1.0))
        if scale < 0.0 or scale > 1.0:
            raise ValueError(f"RandomPerspective: scale must be in [0, 1], got {scale}")
        _check_modes("RandomPerspective", "constant", interpolation)
        self.scale, self.interpolation = float(scale), interpolation
        self.fill_value, self.seed = fill_value, seed
        self.data_format = _channels_last(data_format, "RandomPerspective")

    def _augment(self, x):
        n, h, w, _ = x.shape
        shape = (n, 1, 1, 1)
        p = _random(self, "uniform", shape, *self.factor)
        apply = _random(self, "uniform", shape) < p
        factor = _uniform(self, (n, 4, 2), -0.5 * self.scale, 0.5 * self.scale)
        start = np.tile(np.array([[[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]]],
                                 np.float32), (n, 1, 1))
        end = start + start * factor
        warped = affine_transform(x, _homography(start, end), self.interpolation, "constant",
                                  self.fill_value, projective=True)
        return F.where(apply, warped, x)


class RandomCrop(_Augment):
    """In training, a random ``(height, width)`` box of each batch (one offset for the
    whole batch, as Keras); in training when an image is not larger than the box in both
    sides, Keras' fallback (a box from the centred corner, resized). At inference, the
    centre box, as ``CenterCrop`` (Keras' documented behaviour; Keras 3.15's code returns
    the input unchanged there)."""

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.height, self.width, self.seed = int(height), int(width), seed
        self.data_format = _channels_last(data_format, "RandomCrop")

    def _inference(self, x):
        xb, single = _batched(x, "RandomCrop")
        out = CenterCrop(self.height, self.width)(xb)
        return out.reshape(*out.shape[1:]) if single else out

    def _augment(self, x):
        h, w = x.shape[1], x.shape[2]
        if h > self.height and w > self.width:
            h0 = int(_uniform(self, (), 0.0, float(h - self.height + 1)))
            w0 = int(_uniform(self, (), 0.0, float(w - self.width + 1)))
            return x[:, h0:h0 + self.height, w0:w0 + self.width, :]
        # Keras' training path here: a (height, width) slice from the centred box's
        # corner (cut short by the image's edges), then resized to (height, width)
        ch = max(min(h, int(float(w * self.height) / self.width)), 1)
        cw = max(min(w, int(float(h * self.width) / self.height)), 1)
        h0, w0 = int(float(h - ch) / 2), int(float(w - cw) / 2)
        x = x[:, h0:h0 + self.height, w0:w0 + self.width, :]
        if (x.shape[1], x.shape[2]) != (self.height, self.width):
            x = _resize(x, self.height, self.width, "bilinear", "channels_last")
        return x

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        return s[:-3] + (self.height, self.width, s[-1])


# ----------------------------------------------------------------------------- colour
class RandomContrast(_Augment):
    """``(x - mean) * c + mean`` per image and channel (mean over height and width), c
    drawn from ``[1 - lo, 1 + hi]`` of Keras' factor (a number f -> (0, f), so c in
    [1, 1 + f], as Keras 3.15), clipped to ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomContrast", bounds=(0.0, 1.0))
        self.value_range, self.seed = value_range, seed

    def _augment(self, x):
        c = _random(self, "uniform", (x.shape[0], 1, 1, 1), 1.0 - self.factor[0],
                    1.0 + self.factor[1])
        mean = x.mean(axis=(1, 2), keepdims=True)
        out = (x - mean) * c + mean
        return F.clamp(out, min=float(self.value_range[0]), max=float(self.value_range[1]))


class RandomBrightness(_Augment):
    """``x + u * (high - low)`` per image, u drawn from ``factor`` (in [-1, 1]), clipped to
    ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomBrightness")
        self.value_range = _value_range(value_range, "RandomBrightness")
        self.seed = seed

    def _augment(self, x):
        lo, hi = self.value_range
        d = _random(self, "uniform", (x.shape[0], 1, 1, 1), *self.factor) * (hi - lo)
        return F.clamp(x + d, min=lo, max=hi)


def _gray(x):
    if x.shape[-1] != 3:
        return x
    r, g, b = x[..., 0:1], x[..., 1:2], x[..., 2:3]
    return 0.2989 * r + 0.587 * g + 0.114 * b


class RandomGrayscale(_Augment):
    """Each image turned to grayscale (``0.2989 R + 0.587 G + 0.114 B``, kept 3 channels)
    with probability ``factor``."""

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if factor < 0 or factor > 1:
            raise ValueError(f"RandomGrayscale: factor must be in [0, 1], got {factor}")
        self.factor, self.seed = float(factor), seed
        self.data_format = _channels_last(data_format, "RandomGrayscale")

    def _augment(self, x):
        apply = _random(self, "uniform", (x.shape[0], 1, 1, 1)) < self.factor
        return F.where(apply, _gray(x), x)


def _to_range(x, src, dst):
    if src[0] == dst[0] and src[1] == dst[1]:
        return x
    return (x - src[0]) / (src[1] - src[0]) * (dst[1] - dst[0]) + dst[0]


class Solarization(_Augment):
    """In 0..255 terms: ``x + a`` clipped, then inverted (``255 - v``) where ``v >=
    threshold``; ``a`` drawn from ``U(lo, hi * 255)`` of ``addition_factor`` and the
    threshold from ``U(lo, hi * 255)`` of ``threshold_factor`` (a number f -> (0, f)), as
    Keras."""

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.addition_factor = _pair(addition_factor, "Solarization", "addition_factor",
                                     lo_bound=0.0, symmetric=False)
        self.threshold_factor = _pair(threshold_factor, "Solarization", "threshold_factor",
                                      lo_bound=0.0, symmetric=False)
        self.value_range = _value_range(value_range, "Solarization")
        self.seed = seed

    def _augment(self, x):
        shape = (x.shape[0], 1, 1, 1)
        add = _random(self, "uniform", shape, self.addition_factor[0],
                      self.addition_factor[1] * 255)
        thr = _random(self, "uniform", shape, self.threshold_factor[0],
                      self.threshold_factor[1] * 255)
        v = F.clamp(_to_range(x, self.value_range, (0, 255)) + add, min=0.0, max=255.0)
        v = F.where(v < thr, v, 255.0 - v)
        return _to_range(v, (0, 255), self.value_range)


class RandomInvert(_Augment):
    """Each image replaced by ``high - x`` with probability p, p drawn from ``factor``
    (a number f -> [0, f], as Keras)."""

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomInvert", bounds=(0.0, 1.0))
        self.value_range, self.seed = value_range, seed
        self.data_format = _channels_last(data_format, "RandomInvert")

    def _augment(self, x):
        shape = (x.shape[0], 1, 1, 1)
        p = _random(self, "uniform", shape, *self.factor)
        apply = _random(self, "uniform", shape) < p
        return F.where(apply, float(self.value_range[1]) - x, x)


class AutoContrast(_Augment):
    """Each image's channels stretched so their minimum and maximum span ``value_range``
    (a constant channel is left as it was); applied in training and at inference, as
    Keras."""

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = _value_range(value_range, "AutoContrast")

    def forward(self, x, training=None):
        xb, single = _batched(x, "AutoContrast")
        v = _to_range(xb, self.value_range, (0, 255))
        low, high = v.amin(axis=(1, 2), keepdim=True), v.amax(axis=(1, 2), keepdim=True)
        scale = 255.0 / (high - low)
        out = F.clamp(v * scale - low * scale, min=0.0, max=255.0)
        out = _to_range(out, (0, 255), self.value_range)
        out = F.where(F.isnan(out), xb, out)
        return out.reshape(*out.shape[1:]) if single else out


class RandomColorDegeneration(_Augment):
    """Each image blended towards its grayscale, ``x + u (gray - x)``, u drawn from
    ``factor`` (Keras' rule: a number f -> [-f, f]), clipped to ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomColorDegeneration")
        self.value_range = _value_range(value_range, "RandomColorDegeneration")
        self.data_format = _channels_last(data_format, "RandomColorDegeneration")
        self.seed = seed

    def _augment(self, x):
        u = _random(self, "uniform", (x.shape[0], 1, 1, 1), *self.factor)
        out = x + u * (_gray(x) - x)
        return F.clamp(out, min=self.value_range[0], max=self.value_range[1])


class RandomPosterization(_Augment):
    """Each image kept to ``b`` bits per channel (in 0..255 terms, truncated to an integer
    first), ``b`` an integer drawn from ``[lo, hi)`` of ``factor`` (in [1, 8]; a number f
    -> [1, f)), or ``lo`` when the two agree, as Keras."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomPosterization", bounds=(1, 8))
        self.value_range = _value_range(value_range, "RandomPosterization")
        self.data_format = _channels_last(data_format, "RandomPosterization")
        self.seed = seed

    def _augment(self, x):
        lo, hi = int(self.factor[0]), int(self.factor[1])
        shape = (x.shape[0], 1, 1, 1)
        bits = lo if lo == hi else (_random(self, "uniform", shape) * (hi - lo)).floor() + lo
        step = 2.0 ** (8 - bits)
        v = _to_range(x, self.value_range, (0, 255)).floor()
        return _to_range((v / step).floor() * step, (0, 255), self.value_range)


class RandomSharpness(_Augment):
    """Each image blended with its 3x3 smoothing (``[[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13``,
    zero "same" padding), ``x + (1 - 2u) (smooth - x)``, u drawn from ``factor`` (in [0, 1],
    a number f -> [0, f]), clipped to ``value_range``, as Keras."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomSharpness", bounds=(0.0, 1.0))
        self.value_range = _value_range(value_range, "RandomSharpness")
        self.data_format = _channels_last(data_format, "RandomSharpness")
        self.seed = seed

    def _augment(self, x):
        c = x.shape[-1]
        a, b = 1.0 / 13.0, 5.0 / 13.0
        kernel = np.tile(np.array([[a, a, a], [a, b, a], [a, a, a]])[None, None], (c, 1, 1, 1))
        smooth = F.conv2d(x.transpose(0, 3, 1, 2), _const(x, kernel), padding=1, groups=c)
        smooth = smooth.transpose(0, 2, 3, 1)
        u = _random(self, "uniform", (x.shape[0], 1, 1, 1), *self.factor) * 2.0
        out = x + (1.0 - u) * (smooth - x)
        return F.clamp(out, min=self.value_range[0], max=self.value_range[1])


def _rgb_to_hsv(x):
    """Keras' (dm_pix's) rgb_to_hsv of channels_last float images, in Tensor ops."""
    eps = float(np.finfo(np.dtype(str(x.dtype))).eps)
    x = F.where(abs(x) < eps, 0.0, x)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    value = F.maximum(F.maximum(r, g), b)
    rng = value - F.minimum(F.minimum(r, g), b)
    safe_value = F.where(value > 0, value, 1.0)
    safe_range = F.where(rng > 0, rng, 1.0)
    saturation = F.where(value > 0, rng / safe_value, 0.0)
    norm = 1.0 / (6.0 * safe_range)
    hue = F.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = F.where(value == r, norm * (g - b), hue)
    hue = F.where(rng > 0, hue, 0.0) + (hue < 0.0).astype(hue.dtype)
    return hue, saturation, value


def _hsv_to_rgb(hue, saturation, value):
    dh = F.remainder(hue, 1.0) * 6.0
    dr = F.clamp(abs(dh - 3.0) - 1.0, min=0.0, max=1.0)
    dg = F.clamp(2.0 - abs(dh - 2.0), min=0.0, max=1.0)
    db = F.clamp(2.0 - abs(dh - 4.0), min=0.0, max=1.0)
    one_minus_s = 1.0 - saturation
    return F.stack([value * (one_minus_s + saturation * d) for d in (dr, dg, db)], axis=-1)


class RandomSaturation(_Augment):
    """Each image's HSV saturation times ``u / (1 - u + 1e-7)``, u drawn from ``factor``
    (Keras' rule: a number f -> [-f, f]; 0.5 is the identity), the saturation clipped to
    ``value_range`` and the image taken back to RGB, as Keras (which converts the values as
    they are, not rescaled to [0, 1]). RGB images (3 channels)."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomSaturation")
        self.value_range = _value_range(value_range, "RandomSaturation")
        self.data_format = _channels_last(data_format, "RandomSaturation")
        self.seed = seed

    def _augment(self, x):
        u = _random(self, "uniform", (x.shape[0], 1, 1), *self.factor)
        k = u / (1.0 - u + 1e-7)
        hue, sat, value = _rgb_to_hsv(x)
        sat = F.clamp(sat * k, min=self.value_range[0], max=self.value_range[1])
        return _hsv_to_rgb(hue, sat, value)


class RandomHue(_Augment):
    """Each image's HSV hue shifted by ``+-u / 2`` (sign drawn with probability 1/2), u
    drawn from ``factor`` (in [0, 1], a number f -> [0, f]), in [0, 1] terms of
    ``value_range``, as Keras. RGB images (3 channels)."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomHue", bounds=(0.0, 1.0))
        self.value_range = value_range
        self.data_format = _channels_last(data_format, "RandomHue")
        self.seed = seed

    def _augment(self, x):
        shape = (x.shape[0], 1, 1)
        sign = F.where(_random(self, "uniform", shape) > 0.5, -1.0, 1.0)
        d = sign * _random(self, "uniform", shape, *self.factor) * 0.5
        vr = (float(self.value_range[0]), float(self.value_range[1]))
        hue, sat, value = _rgb_to_hsv(_to_range(x, vr, (0, 1)))
        hue = hue + d
        hue = F.where(hue > 1.0, hue - 1.0, hue)
        hue = F.where(hue < 0.0, hue + 1.0, hue)
        out = F.clamp(_hsv_to_rgb(hue, sat, value), min=0.0, max=1.0)
        return _to_range(out, (0, 1), vr)


class RandomColorJitter(_Augment):
    """``RandomBrightness``, ``RandomContrast``, ``RandomSaturation`` and ``RandomHue`` in
    that order, each one whose factor is given (all sharing ``value_range``), as Keras."""

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.value_range, self.seed = value_range, seed
        self.data_format = _channels_last(data_format, "RandomColorJitter")
        self._steps = []
        for attr, klass, factor in (
                ("random_brightness", RandomBrightness, brightness_factor),
                ("random_contrast", RandomContrast, contrast_factor),
                ("random_saturation", RandomSaturation, saturation_factor),
                ("random_hue", RandomHue, hue_factor)):
            if factor is not None:  # sub-layers, so that .to(device) moves them too
                setattr(self, attr, klass(factor, value_range=value_range, seed=seed))
                self._steps.append(attr)

    def _augment(self, x):
        for attr in self._steps:
            step = getattr(self, attr)
            object.__setattr__(step, "_dtype", self.__dict__.get("_dtype"))
            x = step._augment(x)
        return x


def _kernel_size(value, name):
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or any(int(k) != k or k % 2 == 0 for k in pair):
        raise ValueError(f"{name}: kernel_size must be an odd integer or a pair of odd "
                         f"integers, got {value!r}")
    return int(pair[0]), int(pair[1])


class RandomGaussianBlur(_Augment):
    """Each image blurred with probability p (p drawn from ``factor``, in [0, 1]) by a
    Gaussian kernel of ``kernel_size`` whose two sigmas are drawn once per batch from
    ``sigma`` (in [0, 1]), zero "same" padding, clipped to ``value_range``, as Keras."""

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomGaussianBlur", bounds=(0.0, 1.0))
        self.kernel_size = _kernel_size(kernel_size, "RandomGaussianBlur")
        self.sigma = _base_factor(sigma, "RandomGaussianBlur", bounds=(0.0, 1.0))
        self.value_range = value_range
        self.data_format = _channels_last(data_format, "RandomGaussianBlur")
        self.seed = seed

    def _augment(self, x):
        shape = (x.shape[0], 1, 1, 1)
        p = _random(self, "uniform", shape, *self.factor)
        apply = _random(self, "uniform", shape) < p
        sig = _uniform(self, (2,), *self.sigma) + np.float32(1e-6)
        ks = self.kernel_size

        def k1(size, sigma):
            t = np.arange(size, dtype=np.float32) - np.float32((size - 1) / 2)
            k = np.exp(np.float32(-0.5) * (t / sigma) ** 2)
            return k / k.sum()
        kernel = np.outer(k1(ks[1], sig[1]), k1(ks[0], sig[0])).reshape(1, 1, ks[0], ks[1])
        c = x.shape[-1]
        blur = F.conv2d(x.transpose(0, 3, 1, 2), _const(x, np.tile(kernel, (c, 1, 1, 1))),
                        padding=ks[0] // 2, groups=c).transpose(0, 2, 3, 1)
        out = F.where(apply, blur, x)
        return F.clamp(out, min=float(self.value_range[0]), max=float(self.value_range[1]))


class Equalization(_Augment):
    """Histogram equalisation of each channel (in 0..255 terms, ``bins`` bins), the
    histogram taken over the whole batch's channel as Keras 3.15 does; a channel with one
    occupied bin is kept. Training only, as Keras. Not differentiable (a lookup table)."""

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.bins = int(bins)
        self.value_range = _value_range(value_range, "Equalization")
        self.data_format = _channels_last(data_format, "Equalization")

    def _channel(self, ch):
        f32, nb = np.float32, self.bins
        lo, hi = (f32(v) for v in self.value_range)
        ch = (ch * ((f32(255) - f32(0)) / (hi - lo)) + (f32(0) - lo * (f32(255) / (hi - lo))))
        ch = ch.astype(f32)
        idx = np.clip((ch * f32(nb - 1) / f32(255)).astype(np.int32), 0, nb - 1)
        hist = np.bincount(idx.ravel(), minlength=nb)
        if np.count_nonzero(hist) > 1:
            cdf = np.cumsum(hist)
            cdf_min = cdf[np.nonzero(cdf)[0][0]]
            den = cdf[-1] - cdf_min
            den = 1 if den == 0 else den
            table = np.clip(np.round(((cdf - cdf_min) * 255 / den).astype(f32)), 0, 255)
            look = np.clip((ch / f32(255.0)) * f32(nb - 1), 0, nb - 1).astype(np.int32)
            ch = table[look].astype(f32)
        scale = (hi - lo) / f32(255)
        return ch * scale + (lo - f32(0) * scale)

    def _augment(self, x):
        arr = np.asarray(x.detach().numpy(), dtype=np.float32)
        out = np.stack([self._channel(arr[..., i]) for i in range(arr.shape[-1])], axis=-1)
        return _const(x, out)


class RandomErasing(_Augment):
    """With probability p (p drawn from ``factor``, in [0, 1]) a box of each image is
    replaced by ``fill_value`` (a number, 3 numbers per channel, or None: normal noise
    times the top of ``value_range``), clipped to ``value_range``; the box's sides are
    ``sqrt(u)`` of the image's, u drawn from ``scale`` per side, at a random place, as
    Keras."""

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _base_factor(factor, "RandomErasing", bounds=(0.0, 1.0))
        self.scale = _base_factor(scale, "RandomErasing", bounds=(0.0, 1.0))
        if fill_value is not None and not (
                isinstance(fill_value, (int, float)) or
                (isinstance(fill_value, (tuple, list)) and len(fill_value) == 3)):
            raise ValueError(f"RandomErasing: fill_value must be a number or 3 numbers, got "
                             f"{fill_value!r}")
        self.fill_value, self.value_range, self.seed = fill_value, value_range, seed
        self.data_format = _channels_last(data_format, "RandomErasing")

    def _augment(self, x):
        n, h, w, _ = x.shape
        mix = F.sqrt(_random(self, "uniform", (n, 2), *self.scale))

        def bounds(length, ratio):
            size = ratio * float(length)
            start = _random(self, "uniform", (n,)) * (float(length) - size)
            return start.reshape(n, 1, 1, 1), (start + size).reshape(n, 1, 1, 1)
        x0, x1 = bounds(w, mix[:, 0])
        y0, y1 = bounds(h, mix[:, 1])
        gy = _const(x, np.arange(h, dtype=np.float64).reshape(1, h, 1, 1))
        gx = _const(x, np.arange(w, dtype=np.float64).reshape(1, 1, w, 1))
        box = (gx >= x0) & (gx < x1) & (gy >= y0) & (gy < y1)
        p = _random(self, "uniform", (n, 1, 1, 1), *self.factor)
        apply = _random(self, "uniform", (n, 1, 1, 1)) < p
        if self.fill_value is None:
            fill = _random(self, "normal", x.shape, 0.0, 1.0) * float(self.value_range[1])
        else:
            fill = _const(x, np.broadcast_to(np.asarray(self.fill_value, dtype=np.float64),
                                             x.shape))
        fill = F.clamp(fill, min=float(self.value_range[0]), max=float(self.value_range[1]))
        return F.where(box & apply, fill, x)


# ----------------------------------------------------------------------------- Pipeline
class Pipeline(_Stateless):
    """Keras' ``Pipeline``: the layers applied in turn (each in training or inference as
    the pipeline is), without a model of their own."""

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        from ..nn.containers import ModuleList
        self.pipeline_layers = ModuleList(list(layers))

    @property
    def layers(self):
        return list(self.pipeline_layers)

    def _prepare(self, x):
        return x

    def forward(self, x, training=None):
        for layer in self.pipeline_layers:
            x = layer(x)
        return x

    def get_config(self):
        return {"layers": [{"class_name": type(m).__name__, "config": m.get_config()}
                           for m in self.pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config):
        from .layers_rnn import LAYER_REGISTRY  # every Keras layer class, by name
        config = dict(config)
        built = []
        for entry in config.get("layers", []):
            if not isinstance(entry, dict):
                built.append(entry)
                continue
            klass = LAYER_REGISTRY[entry["class_name"]]
            built.append(klass.from_config(entry.get("config", {})))
        config["layers"] = built
        return cls(**config)
