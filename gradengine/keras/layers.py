"""Keras 3's layers, channels-last, with Keras' names and defaults:
``from gradengine.keras.layers import Input, Dense, Dropout, Conv2D, ...``.

Each layer is a gradengine Module built at its first call (or when the model knows its
input shape) from the input shape, and calls the ``F`` functions: Conv2D transposes
(N, H, W, C) to the NCHW layout of ``F.conv2d`` and back, BatchNormalization keeps
Keras' moving statistics (momentum 0.99, epsilon 1e-3, biased variance). ``Dense`` is
:class:`gradengine.nn.Dense` itself.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import functional as F
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn import _keras_regularizers
from ..nn.layers import Dense, _module_device
from . import masking as _masking
from . import symbolic
from .layer_base import Layer
from .layers_common import _activation

__all__ = ["Activation", "Add", "Average", "AveragePooling2D", "BatchNormalization",
           "Concatenate", "Conv2D", "Dense", "Dropout", "Embedding", "Flatten", "Input",
           "InputLayer", "Layer", "LayerNormalization", "MaxPooling2D", "Maximum", "Minimum",
           "Multiply", "Subtract"]


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(a) for a in v)


class InputLayer(Layer):
    """What :func:`Input` returns: the model's input shape (batch axis excluded)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None,
                 batch_shape=None):
        if batch_shape is not None:  # -- kssuite: Keras' batch_shape=(batch, *shape)
            batch_size, shape = batch_shape[0], tuple(batch_shape[1:])
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("Input: a shape is required, e.g. Input(shape=(4,))")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        super().__init__(name=name, input_shape=shape, dtype=dtype)
        self.shape = (batch_size,) + shape
        object.__setattr__(self, "_built", True)
        dt = self.__dict__.get("_dtype") or backend.DEFAULT_FLOAT
        self.output = symbolic.input_tensor(shape, dt, name, batch_size)  # -- kssuite
        symbolic.Node(self, (), {}, self.output)

    def forward(self, x):
        return x


def Input(shape=None, batch_size=None, dtype=None, name=None,  # noqa: N802 - Keras' name
          batch_shape=None):
    """The model's input: a :class:`~gradengine.keras.symbolic.KerasTensor` of shape
    ``(None, *shape)`` (``(batch_size, *shape)`` given one, or ``batch_shape``), to call
    layers on (the functional API, ``keras.Model(inputs, outputs)``) or to start a
    ``Sequential([Input(shape=(4,)), Dense(8), ...])``."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape).output


class Activation(Layer):
    """Apply an activation by name ("relu", "softmax", ...) or a callable."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self._fn = _activation(activation)

    def forward(self, x):
        return self._fn(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class Dropout(Layer):
    """Zero inputs with probability ``rate`` during fit (scaled by 1 / (1 - rate)); the
    identity in evaluate and predict."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1], got {rate!r}")
        if noise_shape is not None:
            raise NotImplementedError("Dropout: noise_shape is not supported")
        self.rate = float(rate)

    def forward(self, x):
        return F.dropout(x, p=self.rate, training=self.training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), in channels-last order as Keras."""

    def forward(self, x):
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape[1:])
        return (input_shape[0], None if None in rest else math.prod(rest))


class Embedding(Layer):
    """Integer indices -> rows of ``embeddings`` (input_dim, output_dim), initialised
    U(-0.05, 0.05) as in Keras."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, **kwargs):
        # -- kssuite: Keras' argument order, checks, embeddings_constraint= and weights=
        for arg, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"Embedding: `{arg}` must be a positive integer. "
                                 f"Received: {arg}={v} (of type {type(v).__name__}).")
        if lora_rank is not None:
            raise NotImplementedError("Embedding: lora_rank is not supported (LoRA)")
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        self.embeddings_regularizer = _keras_regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)  # -- kmask: compute_mask below
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_constraint = embeddings_constraint
        self.embeddings = None
        self.build(None)  # the table's shape does not depend on the input
        if weights is not None:
            if isinstance(weights, (list, tuple)):
                weights = weights[0]
            self.embeddings.assign(np.asarray(weights))

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("weights", None)  # as Keras: the initial table is not configuration
        return cfg

    @classmethod
    def from_config(cls, config):
        try:
            return cls(**config)
        except ValueError as e:  # Keras' deserialization reports a TypeError
            raise TypeError(str(e)) from None

    def build(self, input_shape=None):
        if self.embeddings is None:
            self._weight(self.embeddings_initializer, (self.input_dim, self.output_dim),
                         "embeddings")
            if self.embeddings_constraint is not None:  # -- kssuite: Keras' .constraint
                self.embeddings.constraint = self.embeddings_constraint
        object.__setattr__(self, "_built", True)

    def _prepare(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x, device=_module_device(self))
        if x.dtype.kind == "f":
            x = x.astype("int64")
        return x

    def forward(self, x):
        return F.embedding(x, self.embeddings)

    # -- kmask: Keras' mask_zero: the steps whose index is 0 are masked out
    supports_masking = True

    @property
    def _makes_mask(self):
        return self.mask_zero

    def compute_mask(self, inputs, mask=None):
        return (inputs != 0) if self.mask_zero else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)


class LayerNormalization(Layer):
    """Normalize over the last axis: ``gamma (x - mean) / sqrt(var + epsilon) + beta``
    (epsilon 1e-3, as Keras)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.beta_regularizer = _keras_regularizers.get(beta_regularizer)
        self.gamma_regularizer = _keras_regularizers.get(gamma_regularizer)
        if axis not in (-1,):
            raise NotImplementedError("LayerNormalization: only axis=-1 is supported")
        self.axis, self.epsilon = axis, float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.gamma = self.beta = None
        if self.input_shape is not None:
            self.build(self.input_shape)
            object.__setattr__(self, "_built", True)

    def build(self, input_shape):
        c = (input_shape[-1],)
        if self.scale:
            self._weight(self.gamma_initializer, c, "gamma")
        if self.center:
            self._weight(self.beta_initializer, c, "beta")

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.gamma, self.beta, self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


def _channels_first(x):
    return x if x.ndim == 2 else x.transpose(0, x.ndim - 1, *range(1, x.ndim - 1))


def _channels_last(x):
    return x if x.ndim == 2 else x.transpose(0, *range(2, x.ndim), 1)


class BatchNormalization(Layer):
    """Batch normalization over the last (channels) axis with Keras' numerics: in fit, batch
    statistics, and ``moving = moving * momentum + batch * (1 - momentum)`` with the
    biased variance; in evaluate / predict, the moving statistics. momentum 0.99,
    epsilon 1e-3. A frozen layer (``trainable = False``) runs in inference mode, fit
    included, as Keras'."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.beta_regularizer = _keras_regularizers.get(beta_regularizer)
        self.gamma_regularizer = _keras_regularizers.get(gamma_regularizer)
        if axis not in (-1,):
            raise NotImplementedError("BatchNormalization: only axis=-1 (channels last) is "
                                      "supported")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self._inits = (gamma_initializer, beta_initializer, moving_mean_initializer,
                       moving_variance_initializer)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None
        if self.input_shape is not None:
            self.build(self.input_shape)
            object.__setattr__(self, "_built", True)

    def build(self, input_shape):
        c = (input_shape[-1],)
        g, b, mm, mv = self._inits
        if self.scale:
            self._weight(g, c, "gamma")
        if self.center:
            self._weight(b, c, "beta")
        self._buffer(mm, c, "moving_mean")
        self._buffer(mv, c, "moving_variance")

    def forward(self, x):
        if x.shape[-1] != self.moving_mean.shape[0]:
            raise ShapeError(f"BatchNormalization: input of shape {x.shape} does not have "
                             f"{self.moving_mean.shape[0]} channels on its last axis")
        xt = _channels_first(x)
        bn = F.batch_norm
        if not self.training or not self.trainable:
            out = bn(xt, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                     training=False, eps=self.epsilon)
            return _channels_last(out)
        out = bn(xt, None, None, self.gamma, self.beta, training=True, eps=self.epsilon)
        with no_grad():
            axes = tuple(range(x.ndim - 1))
            xd = x.detach()
            mean = xd.mean(axis=axes)
            d = xd - mean
            var = (d * d).mean(axis=axes)
            m = self.momentum
            self.moving_mean *= m
            self.moving_mean += mean * (1 - m)
            self.moving_variance *= m
            self.moving_variance += var * (1 - m)
        return _channels_last(out)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


def _same_pads(size, k, s, d=1):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_hw(x, top, bottom, left, right, fill=0.0):
    """Pad the spatial axes of an NCHW tensor (Keras' "same" puts the odd pixel last)."""
    xp = backend.xp_of(x.device)

    def block(shape):
        with backend.cuda_context(x.device):
            return Tensor._make(xp.full(shape, fill, dtype=x.dtype), x.device)

    n, c, h, w = x.shape
    parts = ([block((n, c, top, w))] if top else []) + [x] + \
        ([block((n, c, bottom, w))] if bottom else [])
    x = F.concatenate(parts, axis=2) if len(parts) > 1 else x
    h = x.shape[2]
    parts = ([block((n, c, h, left))] if left else []) + [x] + \
        ([block((n, c, h, right))] if right else [])
    return F.concatenate(parts, axis=3) if len(parts) > 1 else x


def _check_padding(name, padding):
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
    return padding


class Conv2D(Layer):
    """2-D convolution on channels-last input (N, H, W, C); the kernel in Keras' layout
    (kh, kw, in, filters), Glorot-uniform, the bias at zero. ``padding="same"`` pads as
    Keras (the odd pixel at the bottom / right)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), groups=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_regularizer = _keras_regularizers.get(kernel_regularizer)
        self.bias_regularizer = _keras_regularizers.get(bias_regularizer)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError("Conv2D: only data_format='channels_last' is supported "
                                      "(use gradengine.nn.Conv2d for NCHW)")
        self.filters, self.kernel_size = int(filters), _pair(kernel_size)
        self.strides, self.dilation_rate = _pair(strides), _pair(dilation_rate)
        self.padding = _check_padding("Conv2D", padding)
        self.groups = int(groups)
        self.activation = activation
        self._fn = _activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel = self.bias = None
        if self.input_shape is not None:
            self.build(self.input_shape)
            object.__setattr__(self, "_built", True)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeError(f"Conv2D: expected inputs (N, H, W, C), got per-sample shape "
                             f"{tuple(input_shape)}")
        c = input_shape[-1]
        if c % self.groups:
            raise ValueError(f"Conv2D: {c} input channels are not divisible by groups "
                             f"{self.groups}")
        self._weight(self.kernel_initializer,
                     self.kernel_size + (c // self.groups, self.filters), "kernel")
        if self.use_bias:
            self._weight(self.bias_initializer, (self.filters,), "bias")

    def forward(self, x):
        if x.ndim != 4:
            raise ShapeError(f"Conv2D: expected input (N, H, W, C), got {x.shape}")
        xt = x.transpose(0, 3, 1, 2)
        if self.padding == "same":
            (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
            t, b = _same_pads(xt.shape[2], kh, sh, dh)
            left, right = _same_pads(xt.shape[3], kw, sw, dw)
            xt = _pad_hw(xt, t, b, left, right)
        w = self.kernel.transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
        out = F.conv2d(xt, w, self.bias, self.strides, 0, self.dilation_rate,
                                self.groups)
        return self._fn(out.transpose(0, 2, 3, 1))

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        out = []
        for size, k, s, d in zip((h, w), self.kernel_size, self.strides, self.dilation_rate):
            out.append(None if size is None else -(-size // s) if self.padding == "same" else
                       (size - d * (k - 1) - 1) // s + 1)
        return (n, out[0], out[1], self.filters)


class MaxPooling2D(Layer):
    """The maximum over ``pool_size`` windows of channels-last input (strides default to
    the pool size)."""

    _op = "max_pool2d"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError(f"{type(self).__name__}: only channels_last")
        self.pool_size = _pair(pool_size)
        self.strides = _pair(strides) if strides is not None else self.pool_size
        self.padding = _check_padding(type(self).__name__, padding)
        if self.padding == "same" and self._op == "avg_pool2d":
            raise NotImplementedError("AveragePooling2D: padding='same' is not supported "
                                      "(Keras averages over the unpadded part of a window)")

    def forward(self, x):
        if x.ndim != 4:
            raise ShapeError(f"{type(self).__name__}: expected input (N, H, W, C), got "
                             f"{x.shape}")
        xt = x.transpose(0, 3, 1, 2)
        if self.padding == "same":
            t, b = _same_pads(xt.shape[2], self.pool_size[0], self.strides[0])
            left, right = _same_pads(xt.shape[3], self.pool_size[1], self.strides[1])
            xt = _pad_hw(xt, t, b, left, right, fill=float("-inf"))
        out = getattr(F, self._op)(xt, self.pool_size, self.strides)
        return out.transpose(0, 2, 3, 1)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        out = []
        for size, k, s in zip((h, w), self.pool_size, self.strides):
            out.append(None if size is None else -(-size // s) if self.padding == "same" else
                       (size - k) // s + 1)
        return (n, out[0], out[1], c)


class AveragePooling2D(MaxPooling2D):
    """The mean over ``pool_size`` windows of channels-last input."""

    _op = "avg_pool2d"


class _Merge(Layer):
    """Base of the merge layers: a list of two or more inputs of the same shape (or shapes
    that broadcast) -> one output."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "_built", True)

    def _prepare(self, xs):
        name = type(self).__name__
        if not isinstance(xs, (list, tuple)) or len(xs) < 2:
            raise ValueError(f"{name}: expected a list of at least 2 inputs, got "
                             f"{type(xs).__name__}")
        xs = [self._float_input(x) for x in xs]
        self._check_shapes([x.shape for x in xs])
        return xs

    def _check_shapes(self, shapes):
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise ShapeError(f"{type(self).__name__}: inputs of shapes "
                             f"{', '.join(map(str, shapes))} cannot be combined "
                             "elementwise") from None

    def forward(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = self._combine(out, x)
        return out


class Add(_Merge):
    """The elementwise sum of the inputs."""

    def _combine(self, a, b):
        return a + b


class Multiply(_Merge):
    """The elementwise product of the inputs."""

    def _combine(self, a, b):
        return a * b


class Maximum(_Merge):
    """The elementwise maximum of the inputs."""

    def _combine(self, a, b):
        return F.maximum(a, b)


class Minimum(_Merge):
    """The elementwise minimum of the inputs."""

    def _combine(self, a, b):
        return F.minimum(a, b)


class Average(_Merge):
    """The elementwise mean of the inputs."""

    def forward(self, xs):
        return super().forward(xs) * (1.0 / len(xs))

    def _combine(self, a, b):
        return a + b


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    def _prepare(self, xs):
        if not isinstance(xs, (list, tuple)) or len(xs) != 2:
            raise ValueError(f"Subtract: expected a list of exactly 2 inputs, got "
                             f"{len(xs) if isinstance(xs, (list, tuple)) else type(xs).__name__}")
        return super()._prepare(xs)

    def _combine(self, a, b):
        return a - b


class Concatenate(_Merge):
    """The inputs joined along ``axis`` (the last by default); all other sizes must
    agree."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_shapes(self, shapes):
        ndim = len(shapes[0])
        axis = self.axis + ndim if self.axis < 0 else self.axis
        ok = 0 <= axis < ndim and all(len(s) == ndim for s in shapes) and all(
            len({s[i] for s in shapes}) == 1 for i in range(ndim) if i != axis)
        if not ok:
            raise ShapeError(f"Concatenate: inputs of shapes {', '.join(map(str, shapes))} "
                             f"cannot be joined on axis {self.axis} (every other size must "
                             "agree)")

    def forward(self, xs):
        return F.concatenate(xs, axis=self.axis)


# the layer classes load_model can rebuild, by Keras class name
LAYER_CLASSES = {c.__name__: c for c in (Activation, Add, Average, AveragePooling2D,
                                         BatchNormalization, Concatenate, Conv2D, Dense,
                                         Dropout, Embedding, Flatten, InputLayer,
                                         LayerNormalization, MaxPooling2D, Maximum, Minimum,
                                         Multiply, Subtract)}


# -- klayers
# Keras' other layer families, each in a module of its own, re-exported here
from . import layers_attention as _attention  # noqa: E402
from . import layers_conv as _conv  # noqa: E402
from . import layers_more as _more  # noqa: E402
from . import layers_pool as _pool  # noqa: E402
from . import layers_preprocessing as _preprocessing  # noqa: E402
from . import layers_rnn as _rnn  # noqa: E402
from .layers_attention import *  # noqa: E402,F401,F403
from .layers_common import InputSpec  # noqa: E402,F401
from .layers_conv import *  # noqa: E402,F401,F403
from .layers_more import *  # noqa: E402,F401,F403
from .layers_pool import *  # noqa: E402,F401,F403
from .layers_preprocessing import *  # noqa: E402,F401,F403
from .layers_rnn import *  # noqa: E402,F401,F403

_more.MERGE_CLASSES.update(Add=Add, Subtract=Subtract, Multiply=Multiply, Average=Average,
                           Maximum=Maximum, Minimum=Minimum, Concatenate=Concatenate)
for _m in (_attention, _conv, _more, _pool, _preprocessing, _rnn):
    __all__ = sorted(set(__all__) | set(_m.__all__))
    LAYER_CLASSES.update({n: getattr(_m, n) for n in _m.__all__
                          if isinstance(getattr(_m, n), type) and getattr(_m, n).__name__ == n})
__all__ = sorted(set(__all__) | {"InputSpec"})
_rnn.LAYER_REGISTRY.update(LAYER_CLASSES)


# -- kmask
# the lookup and text layers (NumPy tables), and the layers that pass a mask on
from . import layers_text as _text  # noqa: E402
from .layers_text import *  # noqa: E402,F401,F403

__all__ = sorted(set(__all__) | set(_text.__all__))
LAYER_CLASSES.update({n: getattr(_text, n) for n in _text.__all__})
_rnn.LAYER_REGISTRY.update(LAYER_CLASSES)


# the layers that pass a mask on (Keras' supports_masking), and the merges' own masks
def _merge_compute_mask(self, inputs, mask=None):
    return _masking.merge_mask(mask)


def _concat_compute_mask(self, inputs, mask=None):
    return _masking.concat_mask(inputs, mask, self.axis)


def _no_mask(self, inputs, mask=None):
    return None


for _cls in (Dense, Activation, Dropout, GlobalAveragePooling1D, MultiHeadAttention,  # noqa: F405
             GroupedQueryAttention, LayerNormalization, GroupNormalization,  # noqa: F405
             BatchNormalization, UnitNormalization, LeakyReLU, ReLU, PReLU, ELU,  # noqa: F405
             Softmax, Rescaling, Normalization, AlphaDropout, GaussianDropout,  # noqa: F405
             GaussianNoise, ActivityRegularization, TimeDistributed, Identity,  # noqa: F405
             Masking, Attention, Add, Subtract, Multiply, Average, Maximum, Minimum,  # noqa: F405
             Concatenate, Dot):  # noqa: F405
    _cls.supports_masking = True
for _cls in (Add, Subtract, Multiply, Average, Maximum, Minimum):
    _cls.compute_mask = _merge_compute_mask
Concatenate.compute_mask = _concat_compute_mask
GlobalAveragePooling1D.compute_mask = Dot.compute_mask = _no_mask  # noqa: F405
Masking._makes_mask = True  # noqa: F405
Attention.compute_mask = AdditiveAttention.compute_mask = _masking.first_mask  # noqa: F405
AdditiveAttention.supports_masking = True  # noqa: F405


# -- kaug
# Keras' image augmentation layers (RandomRotation, RandomZoom, ..., Pipeline)
from . import layers_augment as _augment  # noqa: E402
from .layers_augment import *  # noqa: E402,F401,F403

__all__ = sorted(set(__all__) | set(_augment.__all__))
LAYER_CLASSES.update({n: getattr(_augment, n) for n in _augment.__all__})
_rnn.LAYER_REGISTRY.update(LAYER_CLASSES)
