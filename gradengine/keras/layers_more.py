"""More of Keras 3's layers: reshaping (``Reshape``, ``Permute``, ``RepeatVector``,
``Flatten``, ``Identity``, ``Lambda``), noise (``Masking``, spatial / Gaussian / alpha
dropout, ``ActivityRegularization``), normalization (layer, RMS, group, unit),
activations as layers, and ``Dot`` with the functional merges (``add``, ``concatenate``,
...). The other families are in ``layers_conv``, ``layers_pool``, ``layers_attention``,
``layers_preprocessing`` and ``layers_rnn``; :mod:`gradengine.keras.layers` re-exports
them all, with Keras' names, defaults, weight shapes and weight order (so
``set_weights(keras_model.get_weights())`` loads a Keras model's weights)."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn import _keras_regularizers
from .layers_common import (
    _Base,
    _check_rank,
    _const,
    _data_format,
    _random,
    _Stateless,
)

__all__ = [
    "ActivityRegularization", "AlphaDropout", "BatchNormalization", "Dot", "Dropout", "ELU",
    "Flatten", "GaussianDropout", "GaussianNoise", "GroupNormalization", "Identity", "Lambda",
    "LayerNormalization", "LeakyReLU", "Masking", "PReLU", "Permute", "RMSNormalization",
    "ReLU", "RepeatVector", "Reshape", "Softmax", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "UnitNormalization", "add", "average", "concatenate", "dot", "maximum",
    "minimum", "multiply", "subtract",
]


class Reshape(_Stateless):
    """(N, ...) -> (N, *target_shape); one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        # -- kssuite: Keras' checks and wording
        if any(d < -1 for d in self.target_shape):
            raise ValueError(f"Reshape: each entry of `target_shape` must be a non-negative "
                             f"integer or -1. Received: target_shape={self.target_shape}")
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape: `target_shape` can contain at most one unknown "
                             f"dimension (-1). Received: target_shape={self.target_shape}")

    def forward(self, x):
        size, known = math.prod(x.shape[1:]), math.prod(d for d in self.target_shape if d != -1)
        ok = size == known if -1 not in self.target_shape else known and size % known == 0
        if not ok:
            raise ShapeError(f"Reshape: an input of shape {tuple(x.shape)} ({size} values a "
                             f"sample) cannot be reshaped to {self.target_shape}")
        return x.reshape(x.shape[0], *self.target_shape)


class Permute(_Stateless):
    """The non-batch axes permuted; ``dims`` counts from 1 (``Permute((2, 1))``)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The "
                             f"set of indices in `dims` must be consecutive and start from "
                             f"1. Received dims={self.dims}")  # -- kssuite: Keras' wording

    def forward(self, x):
        if x.ndim != len(self.dims) + 1:
            raise ShapeError(f"Permute: dims {self.dims} do not fit an input of shape "
                             f"{tuple(x.shape)}")
        return x.transpose(0, *self.dims)


class RepeatVector(_Stateless):
    """(N, features) -> (N, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):  # -- kssuite: Keras'
            raise TypeError(f"RepeatVector: Expected an integer value for `n`, got "
                            f"{type(n)}.")
        if n <= 0:
            raise ValueError(f"RepeatVector: The `n` argument should be a positive integer, "
                             f"got {n}.")
        self.n = int(n)

    def forward(self, x):
        if x.ndim != 2:
            raise ShapeError(f"RepeatVector: expected an input (N, features), got "
                             f"{tuple(x.shape)}")
        return F.broadcast_to(x.reshape(x.shape[0], 1, x.shape[1]),
                              (x.shape[0], self.n, x.shape[1]))


class Flatten(_Stateless):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), in channels-last order (channels-first input
    with ``data_format="channels_first"`` is moved to channels-last first, as Keras)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format, "Flatten")

    def forward(self, x):
        if self.data_format == "channels_first" and x.ndim > 2:
            x = x.transpose(0, *range(2, x.ndim), 1)
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape[1:])
        return (input_shape[0], None if None in rest else math.prod(rest))


class Identity(_Stateless):
    """The input, unchanged."""

    def _prepare(self, x):
        return x

    def forward(self, x, *args, **kwargs):
        return x


class Lambda(_Stateless):
    """A function of the inputs as a layer: ``Lambda(lambda x: x ** 2)``; ``arguments``
    are passed to it as keywords."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {type(function).__name__}")
        self.function, self.output_shape = function, output_shape
        self.arguments = dict(arguments or {})

    def _prepare(self, x):
        if isinstance(x, (list, tuple)):
            return type(x)(self._float_input(v) if not isinstance(v, Tensor) else v for v in x)
        return x if isinstance(x, Tensor) else self._float_input(x)

    def forward(self, x, *args, **kwargs):
        kwargs.pop("mask", None)
        return self.function(x, *args, **{**self.arguments, **kwargs})


class Masking(_Stateless):
    """Time steps whose features all equal ``mask_value`` set to zero. (The mask itself is
    not passed on to later layers: gradengine's layers take no masks.)"""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def forward(self, x):
        keep = (x != self.mask_value).any(axis=-1, keepdims=True)
        return x * keep.astype(x.dtype)

    def compute_mask(self, x, mask=None):
        return (x != self.mask_value).any(axis=-1)


class _Noise(_Stateless):
    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        if not 0.0 <= float(rate) <= 1.0:
            # -- kssuite: Keras' wording
            raise ValueError(f"{name}: Invalid value received for argument `rate`. Expected "
                             f"a float value between 0 and 1. Received: rate={rate!r}")
        self.rate, self.seed = float(rate), seed


def _noise_shape(noise_shape):
    """Keras' Dropout._validate_noise_shape (its checks and wording). -- kssuite"""
    if noise_shape is None:
        return None
    bad = "Dropout: Invalid value received for argument `noise_shape`. "
    if isinstance(noise_shape, str):
        raise ValueError(f"{bad}Expected a tuple or list of integers. "
                         f"Received: noise_shape={noise_shape}")
    try:
        noise_shape = tuple(noise_shape)
    except TypeError:
        raise ValueError(f"{bad}Expected an iterable of integers (e.g., a tuple or list). "
                         f"Received: noise_shape={noise_shape}") from None
    for i, dim in enumerate(noise_shape):
        if dim is not None:
            if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
                raise ValueError(f"{bad}Expected all elements to be integers or None. "
                                 f"Received element at index {i}: {dim} "
                                 f"(type: {type(dim).__name__})")
            if dim <= 0:
                raise ValueError(f"{bad}Expected all dimensions to be positive integers or "
                                 f"None. Received negative or zero value at index {i}: {dim}")
    return noise_shape


class Dropout(_Noise):
    """Inputs zeroed with probability ``rate`` during fit (the rest scaled by
    1 / (1 - rate)); ``noise_shape`` (None entries: the input's sizes) shares one draw
    along the axes of size 1; the identity in evaluate and predict."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(rate, seed, **kwargs)
        self.noise_shape = _noise_shape(noise_shape)

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        if self.noise_shape is None:
            return F.dropout(x, p=self.rate, training=True)
        if len(self.noise_shape) != x.ndim:
            raise ShapeError(f"Dropout: noise_shape {self.noise_shape} does not fit an input "
                             f"of shape {tuple(x.shape)}")
        shape = tuple(d if n is None else int(n) for n, d in zip(self.noise_shape, x.shape))
        return x * F.dropout(_const(x, np.ones(shape)), p=self.rate, training=True)


class SpatialDropout1D(_Noise):
    """Dropout of whole channels: one draw per (sample, channel), shared by all steps."""

    rank = 1

    def __init__(self, rate, seed=None, data_format=None, **kwargs):
        super().__init__(rate, seed, **kwargs)
        self.data_format = _data_format(data_format, type(self).__name__)

    def forward(self, x):
        _check_rank(x, self.rank, type(self).__name__, self.data_format)
        if not self.training or self.rate == 0:
            return x
        if self.data_format == "channels_first":
            shape = (x.shape[0], x.shape[1]) + (1,) * self.rank
        else:
            shape = (x.shape[0],) + (1,) * self.rank + (x.shape[-1],)
        keep = (_random(self, "uniform", shape) >= self.rate).astype(x.dtype)
        return x * (keep * (1.0 / (1.0 - self.rate)) if self.rate < 1 else keep)


class SpatialDropout2D(SpatialDropout1D):
    """Dropout of whole feature maps of (N, H, W, C) input."""

    rank = 2

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed, data_format, name=name, dtype=dtype)


class SpatialDropout3D(SpatialDropout1D):
    """Dropout of whole feature volumes of (N, D, H, W, C) input."""

    rank = 3

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed, data_format, name=name, dtype=dtype)


class GaussianNoise(_Stateless):
    """Additive N(0, stddev^2) noise in fit; the identity otherwise."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if float(stddev) < 0:
            raise ValueError(f"GaussianNoise: stddev must be >= 0, got {stddev!r}")
        self.stddev, self.seed = float(stddev), seed

    def forward(self, x):
        if not self.training or self.stddev == 0:
            return x
        return x + _random(self, "normal", x.shape, 0.0, self.stddev)


class GaussianDropout(_Noise):
    """Multiplicative N(1, rate / (1 - rate)) noise in fit; the identity otherwise."""

    def forward(self, x):
        if not self.training or not 0 < self.rate < 1:
            return x
        std = math.sqrt(self.rate / (1.0 - self.rate))
        return x * _random(self, "normal", x.shape, 1.0, std)


class AlphaDropout(_Noise):
    """Dropout that keeps SELU's self-normalisation: dropped inputs set to SELU's negative
    saturation, then an affine correction keeping mean and variance (Keras' numerics)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(rate, seed, **kwargs)
        self.noise_shape = _noise_shape(noise_shape)

    def forward(self, x):
        if not self.training or not 0 < self.rate < 1:
            return x
        alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
        alpha_p = -alpha * scale
        shape = x.shape if self.noise_shape is None else tuple(
            d if n is None else n for n, d in zip(self.noise_shape, x.shape))
        kept = (_random(self, "uniform", shape) >= self.rate).astype(x.dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return (x * kept + (1 - kept) * alpha_p) * a + b


class ActivityRegularization(_Stateless):
    """The identity, adding ``l1 * sum|x| + l2 * sum x^2`` (over the batch size) to the
    training loss."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=_keras_regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def forward(self, x):
        return x


def _axes(axis, ndim, name):
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = sorted(int(a) % ndim if -ndim <= int(a) < ndim else -1 for a in axes)
    if -1 in out or 0 in out:
        raise ShapeError(f"{name}: axis {axis} is not a non-batch axis of an input of rank "
                         f"{ndim}")
    return out


class LayerNormalization(_Base):
    """Normalize over ``axis`` (the last by default, or several):
    ``gamma * (x - mean) / sqrt(var + epsilon) + beta``, epsilon 1e-3; with
    ``rms_scaling=True`` Keras' ``x / sqrt(var + epsilon) * gamma`` (no centering, no
    beta)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon = axis, float(epsilon)
        self.rms_scaling = bool(rms_scaling)
        self.center, self.scale = bool(center) and not self.rms_scaling, bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.beta_regularizer = _keras_regularizers.get(beta_regularizer)
        self.gamma_regularizer = _keras_regularizers.get(gamma_regularizer)
        self.gamma = self.beta = None
        self._maybe_build()

    def build(self, input_shape):
        axes = _axes(self.axis, len(input_shape), "LayerNormalization")
        shape = tuple(int(input_shape[a]) for a in axes)
        if self.scale:
            self._weight(self.gamma_initializer, shape, "gamma")
        if self.center:
            self._weight(self.beta_initializer, shape, "beta")

    def forward(self, x):
        axes = _axes(self.axis, x.ndim, "LayerNormalization")
        want = tuple(x.shape[a] for a in axes)
        if self.gamma is not None and tuple(self.gamma.shape) != want:
            raise ShapeError(f"LayerNormalization: input of shape {tuple(x.shape)} has "
                             f"{want} on axis {self.axis}, the layer was built for "
                             f"{tuple(self.gamma.shape)}")
        trailing = axes == list(range(x.ndim - len(axes), x.ndim))
        if trailing and not self.rms_scaling:
            return F.layer_norm(x, want, self.gamma, self.beta, self.epsilon)
        bshape = [1] * x.ndim
        for a in axes:
            bshape[a] = x.shape[a]
        mean = x.mean(axis=tuple(axes), keepdims=True)
        d = x - mean
        var = (d * d).mean(axis=tuple(axes), keepdims=True)
        out = (x if self.rms_scaling else d) * F.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            out = out * self.gamma.reshape(bshape)
        if self.beta is not None:
            out = out + self.beta.reshape(bshape)
        return out


class BatchNormalization(_Base):
    """Batch normalization over every axis but ``axis`` (the channels: -1, or 1 for
    channels-first data) with Keras' numerics: in fit, the batch statistics, and
    ``moving = moving * momentum + batch * (1 - momentum)`` with the biased variance; in
    evaluate / predict, the moving statistics. momentum 0.99, epsilon 1e-3. Weights in
    Keras' order: gamma, beta, moving_mean, moving_variance. A frozen layer
    (``trainable = False``) runs in inference mode, fit included, as Keras'."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        kwargs.pop("renorm_clipping", None)  # used only with renorm, as Keras
        kwargs.pop("renorm_momentum", None)
        if kwargs.pop("renorm", False):
            raise NotImplementedError("BatchNormalization: renorm is not supported")
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer)):
            raise NotImplementedError("BatchNormalization: axis must be one int")
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_regularizer = _keras_regularizers.get(beta_regularizer)
        self.gamma_regularizer = _keras_regularizers.get(gamma_regularizer)
        self._inits = (gamma_initializer, beta_initializer, moving_mean_initializer,
                       moving_variance_initializer)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None
        self._maybe_build()

    def build(self, input_shape):
        (axis,) = _axes(self.axis, len(input_shape), "BatchNormalization")
        c = (int(input_shape[axis]),)
        g, b, mm, mv = self._inits
        if self.scale:
            self._weight(g, c, "gamma")
        if self.center:
            self._weight(b, c, "beta")
        self._buffer(mm, c, "moving_mean")
        self._buffer(mv, c, "moving_variance")

    def forward(self, x, mask=None):
        (axis,) = _axes(self.axis, x.ndim, "BatchNormalization")
        if x.shape[axis] != self.moving_mean.shape[0]:
            raise ShapeError(f"BatchNormalization: input of shape {tuple(x.shape)} does not "
                             f"have {self.moving_mean.shape[0]} channels on axis {self.axis}")
        order = [0, axis] + [a for a in range(1, x.ndim) if a != axis]
        back = [int(i) for i in np.argsort(order)]
        xt = x.transpose(*order) if axis != 1 else x
        if not self.training or not self.trainable:  # frozen: inference, as Keras
            out = F.batch_norm(xt, self.moving_mean, self.moving_variance, self.gamma,
                               self.beta, training=False, eps=self.epsilon)
            return out.transpose(*back) if axis != 1 else out
        if mask is not None:  # -- kmask: Keras' masked moments
            return self._masked_train(x, mask, axis)
        out = F.batch_norm(xt, None, None, self.gamma, self.beta, training=True,
                           eps=self.epsilon)
        with no_grad():
            axes = tuple(a for a in range(x.ndim) if a != axis)
            xd = x.detach()
            mean = xd.mean(axis=axes)
            d = xd - mean.reshape([-1 if a == axis else 1 for a in range(x.ndim)])
            var = (d * d).mean(axis=axes)
            m = self.momentum
            self.moving_mean *= m
            self.moving_mean += mean * (1 - m)
            self.moving_variance *= m
            self.moving_variance += var * (1 - m)
        return out.transpose(*back) if axis != 1 else out

    def get_config(self):
        """The constructor's arguments and Keras' batch-renormalization keys (off)."""
        return {"renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
                **super().get_config()}

    def _masked_train(self, x, mask, axis):
        """Fit's batch statistics over the kept steps only (Keras' ``_moments`` with a
        mask): ``sum(m x) / (sum(m) + 1e-7)`` and the same for the squared deviations."""
        if mask.ndim != x.ndim - 1:
            raise ValueError(f"The mask provided should be one dimension less than the "
                             f"inputs. Received: mask.shape={tuple(mask.shape)}, "
                             f"inputs.shape={tuple(x.shape)}")
        w = F.broadcast_to(mask.astype(x.dtype).reshape(*mask.shape, 1), x.shape)
        axes = tuple(a for a in range(x.ndim) if a != axis)
        count = w.sum(axis=axes, keepdims=True) + 1e-7
        mean = (x * w).sum(axis=axes, keepdims=True) / count
        d = (x - mean) * w
        var = (d * d).sum(axis=axes, keepdims=True) / count
        shape = [-1 if a == axis else 1 for a in range(x.ndim)]
        out = (x - mean) / F.sqrt(var + self.epsilon)
        if self.gamma is not None:
            out = out * self.gamma.reshape(shape)
        if self.beta is not None:
            out = out + self.beta.reshape(shape)
        with no_grad():
            m = self.momentum
            self.moving_mean *= m
            self.moving_mean += mean.detach().reshape(-1) * (1 - m)
            self.moving_variance *= m
            self.moving_variance += var.detach().reshape(-1) * (1 - m)
        return out


class RMSNormalization(_Base):
    """``x / sqrt(mean(x^2) + epsilon) * scale`` over ``axis`` (Keras 3)."""

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon = axis, float(epsilon)
        self.scale = None
        self._maybe_build()

    def build(self, input_shape):
        axes = _axes(self.axis, len(input_shape), "RMSNormalization")
        self._weight("ones", tuple(int(input_shape[a]) for a in axes), "scale")

    def forward(self, x):
        axes = _axes(self.axis, x.ndim, "RMSNormalization")
        bshape = [1] * x.ndim
        for a in axes:
            bshape[a] = x.shape[a]
        rrms = F.rsqrt((x * x).mean(axis=tuple(axes), keepdims=True) + self.epsilon)
        return x * rrms * self.scale.reshape(bshape)


class GroupNormalization(_Base):
    """Normalize over groups of channels (and the spatial axes): ``groups`` groups of
    consecutive channels on ``axis``, epsilon 1e-3, biased variance."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.groups, self.axis, self.epsilon = int(groups), int(axis), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.beta_regularizer = _keras_regularizers.get(beta_regularizer)
        self.gamma_regularizer = _keras_regularizers.get(gamma_regularizer)
        self.gamma = self.beta = None
        self._maybe_build()

    def build(self, input_shape):
        (axis,) = _axes(self.axis, len(input_shape), "GroupNormalization")
        c = int(input_shape[axis])
        if self.groups == -1:
            self.groups = c
        if c < self.groups or c % self.groups:
            raise ValueError(f"GroupNormalization: {c} channels cannot be split into "
                             f"{self.groups} groups")
        if self.scale:
            self._weight(self.gamma_initializer, (c,), "gamma")
        if self.center:
            self._weight(self.beta_initializer, (c,), "beta")

    def forward(self, x):
        (axis,) = _axes(self.axis, x.ndim, "GroupNormalization")
        xt = x.transpose(0, axis, *[a for a in range(1, x.ndim) if a != axis])
        out = F.group_norm(xt, self.groups, self.gamma, self.beta, self.epsilon)
        inv = np.argsort([0, axis] + [a for a in range(1, x.ndim) if a != axis])
        return out.transpose(*(int(i) for i in inv))


class UnitNormalization(_Stateless):
    """``x / sqrt(max(sum(x^2 over axis), 1e-12))``: unit L2 norm along ``axis``."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def forward(self, x):
        axes = tuple(_axes(self.axis, x.ndim, "UnitNormalization"))
        return x * F.rsqrt(F.clamp((x * x).sum(axis=axes, keepdims=True), min=1e-12))


class ReLU(_Stateless):
    """Keras' ReLU: ``max_value`` cap, ``negative_slope`` below ``threshold``."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0, got {max_value}")
        if negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def forward(self, x):
        # Keras' order: the positive part (thresholded, then capped), minus the slope's part
        t = self.threshold
        out = x * (x > t).astype(x.dtype) if t != 0 else F.relu(x)
        if self.max_value is not None:
            out = F.clamp(out, 0.0, self.max_value)
        if self.negative_slope:
            out = out - self.negative_slope * F.relu(t - x if t != 0 else -x)
        return out


class LeakyReLU(_Stateless):
    """``x`` for x >= 0, ``negative_slope * x`` below (0.3 by default, as Keras)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        kwargs.pop("alpha", None)
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)


class ELU(_Stateless):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` below."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def forward(self, x):
        return F.elu(x, self.alpha)


class Softmax(_Stateless):
    """Softmax over ``axis``; with a ``mask`` (True = keep) the masked entries are replaced
    by -1e9 first and zeroed after, as Keras (a fully masked row gives zeros)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def forward(self, x, mask=None):
        m = None
        if mask is not None:  # Keras: masked entries replaced by -1e9, then zeroed
            m = mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask), device=x.device)
            m = (m > 0.5).astype(x.dtype)
            x = x * m + (1.0 - m) * (-3e4 if x.dtype == np.float16 else -1e9)
        if isinstance(self.axis, (tuple, list)):
            out = F.exp(x - F.logsumexp(x, dim=tuple(self.axis), keepdim=True))
        else:
            out = F.softmax(x, axis=self.axis)
        return out if m is None else out * m


class PReLU(_Base):
    """``x`` for x >= 0, ``alpha * x`` below, alpha learned per input position (or shared
    along ``shared_axes``, counted from 1), starting at zero."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = alpha_initializer
        self.alpha_regularizer = _keras_regularizers.get(alpha_regularizer)
        self.shared_axes = None if shared_axes is None else (
            [int(shared_axes)] if isinstance(shared_axes, int) else
            [int(a) for a in shared_axes])
        self.alpha = None
        self._maybe_build()

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            shape[a - 1] = 1
        self._weight(self.alpha_initializer, tuple(int(d) for d in shape), "alpha")

    def forward(self, x):
        return F.relu(x) - self.alpha * F.relu(-x)


class _MergeList(_Stateless):
    def _prepare(self, xs):
        name = type(self).__name__
        if not isinstance(xs, (list, tuple)) or len(xs) < 2:
            raise ValueError(f"{name}: expected a list of inputs, got "
                             f"{type(xs).__name__}")
        return [self._float_input(x) for x in xs]


def _l2_normalize(x, axis):
    return x * F.rsqrt(F.clamp((x * x).sum(axis=axis, keepdims=True), min=1e-12))


class Dot(_MergeList):
    """The dot product of two batched inputs along ``axes`` (one int or one per input,
    counting the batch axis as 0); ``normalize=True`` takes the cosine instead. (N, d) .
    (N, d) -> (N, 1)."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = bool(normalize)

    def forward(self, xs):
        if len(xs) != 2:
            raise ValueError(f"Dot: expected exactly 2 inputs, got {len(xs)}")
        a, b = xs
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        ia, ib = (ax % x.ndim for ax, x in zip(axes, (a, b)))
        if a.shape[ia] != b.shape[ib] or a.shape[0] != b.shape[0] or 0 in (ia, ib):
            raise ShapeError(f"Dot: inputs of shapes {tuple(a.shape)} and {tuple(b.shape)} "
                             f"cannot be contracted on axes {axes}")
        if self.normalize:
            a, b = _l2_normalize(a, ia), _l2_normalize(b, ib)
        letters = "bcdefghijklmnopqrstuvwxyz"
        la = ["a"] + list(letters[1:a.ndim])
        lb = ["a"] + list(letters[a.ndim:a.ndim + b.ndim - 1])
        lb[ib] = la[ia] = "z"
        rest = [c for c in la[1:] if c != "z"] + [c for c in lb[1:] if c != "z"]
        out = F.einsum(f"{''.join(la)},{''.join(lb)}->a{''.join(rest)}", a, b)
        return out.reshape(out.shape[0], 1) if out.ndim == 1 else out


def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``."""
    return _merge_layer("Add", inputs, kwargs)


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``."""
    return _merge_layer("Subtract", inputs, kwargs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``."""
    return _merge_layer("Multiply", inputs, kwargs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``."""
    return _merge_layer("Average", inputs, kwargs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``."""
    return _merge_layer("Maximum", inputs, kwargs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``."""
    return _merge_layer("Minimum", inputs, kwargs)


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return _merge_layer("Concatenate", inputs, dict(kwargs, axis=axis))


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """``Dot(axes, normalize, **kwargs)(inputs)``."""
    return Dot(axes, normalize=normalize, **kwargs)(inputs)


MERGE_CLASSES = {}  # filled by gradengine.keras.layers (Add, Subtract, ...), which holds them


def _merge_layer(name, inputs, kwargs):
    return MERGE_CLASSES[name](**kwargs)(inputs)
