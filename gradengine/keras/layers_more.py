"""More of Keras 3's layers, with Keras' names, defaults, weight shapes and weight order
(so ``set_weights(keras_model.get_weights())`` loads a Keras model's weights):
convolutions of every rank (plain, transposed, depthwise, separable), pooling of every
rank (windowed and global), resampling and padding, reshaping, noise, normalization,
the remaining merges, attention, activations as layers and a few preprocessing layers.
Re-exported by :mod:`gradengine.keras.layers`.

Every layer takes ``data_format`` where Keras does ("channels_last", Keras' default, or
"channels_first") and computes with the ``F`` functions, so gradients of every order
come from the engine.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn import _keras_init, _keras_regularizers
from ..nn.layers import _activation_fn, _module_device, _module_dtype
from .layer_base import Layer

__all__ = [
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D", "EinsumDense",
    "ActivityRegularization", "AdditiveAttention", "AlphaDropout", "Attention",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D",
    "AvgPool3D", "CategoryEncoding", "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose",
    "Conv3D", "Conv3DTranspose", "Convolution1D", "Convolution1DTranspose", "Convolution2D",
    "Convolution2DTranspose", "Convolution3D", "Convolution3DTranspose", "Cropping1D",
    "Cropping2D", "Cropping3D", "DepthwiseConv1D", "DepthwiseConv2D", "Discretization", "Dot",
    "ELU", "Flatten", "GaussianDropout", "GaussianNoise", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GroupNormalization",
    "Identity", "Lambda", "LayerNormalization", "LeakyReLU", "Masking", "MaxPool1D",
    "MaxPool2D", "MaxPool3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "MultiHeadAttention", "Normalization", "Orthogonal", "PReLU", "Permute", "RMSNormalization",
    "ReLU", "RepeatVector", "Rescaling", "Reshape", "SeparableConv1D", "SeparableConv2D",
    "SeparableConvolution1D", "SeparableConvolution2D", "Softmax", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "UnitNormalization", "UpSampling1D", "UpSampling2D",
    "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "add", "average",
    "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
]


# ----------------------------------------------------------------------------- helpers

def _tuple(v, n, what, name):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) != n:
        raise ValueError(f"{name}: {what} must be an int or {n} ints, got {v}")
    return v


def _data_format(value, name):
    fmt = "channels_last" if value is None else str(value).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', "
                         f"got {value!r}")
    return fmt


def _padding(value, name, allowed=("valid", "same")):
    p = str(value).lower()
    if p not in allowed:
        raise ValueError(f"{name}: padding must be one of {allowed}, got {value!r}")
    return p


def _to_first(x, fmt):
    """Channels-last (N, *S, C) -> (N, C, *S); channels-first input unchanged."""
    return x if fmt == "channels_first" else x.transpose(0, x.ndim - 1, *range(1, x.ndim - 1))


def _from_first(x, fmt):
    return x if fmt == "channels_first" else x.transpose(0, *range(2, x.ndim), 1)


def _same_pads(size, k, s, d=1):
    """Keras' (TensorFlow's) "same" padding: the odd one at the end."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_spatial(x, pads, value=0.0):
    """Pad the spatial axes (2, 3, ...) of a channels-first tensor by ``pads``, one
    (before, after) pair per axis."""
    if not any(a or b for a, b in pads):
        return x
    flat = []
    for a, b in reversed(pads):
        flat += [int(a), int(b)]
    return F.pad(x, tuple(flat), value=value)


def _check_rank(x, rank, name, fmt="channels_last"):
    if x.ndim != rank + 2:
        layout = "(N, C, " + ", ".join("S" * rank) + ")" if fmt == "channels_first" else \
            "(N, " + ", ".join("S" * rank) + ", C)"
        raise ShapeError(f"{name}: expected an input of rank {rank + 2} {layout}, got shape "
                         f"{tuple(x.shape)}")


def _const(x, arr):
    """A constant Tensor on x's device and dtype."""
    xp = backend.xp_of(x.device)
    with backend.cuda_context(x.device):
        return Tensor._make(xp.asarray(arr, dtype=x.dtype), x.device)


def _random(layer, kind, shape, a=0.0, b=1.0):
    """A draw from gradengine's seeded generator (``ge.manual_seed``) on the layer's
    device: U(a, b) or N(a, b^2)."""
    init = _keras_init.RandomUniform(a, b) if kind == "uniform" else \
        _keras_init.RandomNormal(a, b)
    dev = _module_device(layer)
    return Tensor._make(init(tuple(shape), _module_dtype(layer), dev), dev)


class Orthogonal(_keras_init.Initializer):
    """Keras' Orthogonal initializer: the Q of a QR factorisation of a normal matrix
    (signs fixed by R's diagonal), times ``gain``; what Keras' RNNs start their recurrent
    kernels with."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}

    def _draw(self, xp, gen, shape, dev):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have at least 2 axes, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._normal(gen, (max(rows, cols), min(rows, cols)), dev)
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(r.diagonal())
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


def _init(identifier):
    if isinstance(identifier, str) and identifier in ("orthogonal", "Orthogonal"):
        return Orthogonal()
    if isinstance(identifier, dict) and identifier.get("class_name") == "Orthogonal":
        return Orthogonal(**identifier.get("config", {}))
    return identifier


class _Base(Layer):
    """A Keras-style layer: built at once when ``input_shape`` is given, else at its first
    call; weights made by :meth:`_add` in Keras' order."""

    def _maybe_build(self):
        if self.input_shape is not None:
            self.build((None,) + tuple(self.input_shape))
            object.__setattr__(self, "_built", True)

    def _add(self, name, shape, initializer, regularizer=None, trainable=True):
        if regularizer is not None:
            object.__setattr__(self, f"{name}_regularizer", _keras_regularizers.get(regularizer))
        if trainable:
            return self._weight(_init(initializer), tuple(int(d) for d in shape), name)
        self._buffer(_init(initializer), tuple(int(d) for d in shape), name)
        return getattr(self, name)


# ------------------------------------------------------------------------ convolution

def _conv3d_planes(x, w, stride, dilation, groups):
    """A 3-D convolution (no padding) as a sum over the kernel's depth of 2-D convolutions
    of depth slices."""
    n, c, depth, h, wd = x.shape
    kd = w.shape[2]
    od = (depth - dilation[0] * (kd - 1) - 1) // stride[0] + 1
    out = None
    for k in range(kd):
        start = k * dilation[0]
        xs = x[:, :, start:start + (od - 1) * stride[0] + 1:stride[0]]
        xs = xs.transpose(0, 2, 1, 3, 4).reshape(n * od, c, h, wd)
        y = F.conv2d(xs, w[:, :, k], None, stride[1:], 0, dilation[1:], groups)
        out = y if out is None else out + y
    return out.reshape(n, od, *out.shape[1:]).transpose(0, 2, 1, 3, 4)


def _conv(x, w, stride, dilation, groups):
    """A convolution without padding of a channels-first x by a (out, in/groups, *k)
    kernel, of rank 1, 2 or 3."""
    r = x.ndim - 2
    for size, k, d in zip(x.shape[2:], w.shape[2:], dilation):
        if size < (k - 1) * d + 1:
            raise ShapeError(f"conv: an input of spatial shape {tuple(x.shape[2:])} is "
                             f"smaller than the dilated kernel {tuple(w.shape[2:])} "
                             f"(dilation {dilation})")
    if r == 1:
        return F.conv1d(x, w, None, stride, 0, dilation, groups)
    if r == 2:
        return F.conv2d(x, w, None, stride, 0, dilation, groups)
    conv3d = getattr(F, "conv3d", None)
    if conv3d is not None:
        return conv3d(x, w, None, stride, 0, dilation, groups)
    return _conv3d_planes(x, w, stride, dilation, groups)


def _conv_transpose_full(x, w, stride, dilation, groups):
    """The transposed convolution without padding (every output position that any input
    reaches, length ``(i - 1) * s + (k - 1) * d + 1``) of a channels-first x by a
    (in, out/groups, *k) kernel."""
    r = x.ndim - 2
    if r == 1:
        return F.conv_transpose1d(x, w, None, stride, 0, 0, groups, dilation)
    if r == 2:
        return F.conv_transpose2d(x, w, None, stride, 0, 0, groups, dilation)
    n, c, depth, h, wd = x.shape
    kd, s0, d0 = w.shape[2], stride[0], dilation[0]
    planes = x.transpose(0, 2, 1, 3, 4).reshape(n * depth, c, h, wd)
    full = (depth - 1) * s0 + (kd - 1) * d0 + 1
    out = None
    for k in range(kd):
        y = F.conv_transpose2d(planes, w[:, :, k], None, stride[1:], 0, 0, groups,
                               dilation[1:])
        y = y.reshape(n, depth, *y.shape[1:]).transpose(0, 2, 1, 3, 4)
        if s0 > 1:  # place input plane i at output depth i * s0: zeros in between
            yy = F.pad(y.unsqueeze(3), (0, 0, 0, 0, 0, s0 - 1))
            y = yy.reshape(n, y.shape[1], depth * s0, *y.shape[3:])[:, :, :(depth - 1) * s0 + 1]
        y = F.pad(y, (0, 0, 0, 0, k * d0, full - y.shape[2] - k * d0))
        out = y if out is None else out + y
    return out


def _transpose_crops(k, s, d, padding, output_padding):
    """Keras' transposed-convolution window on one axis: what to crop from the left and
    the right of the full transposed convolution (negative: zeros to add), the same window
    on every Keras backend (JAX's padding rule)."""
    k_eff = (k - 1) * d + 1
    if padding == "valid":
        op = max(k_eff, s) - k_eff if output_padding is None else output_padding
        left, right = k_eff - 1, k_eff - 1 + op
    else:
        pad = s + k_eff - 2 if output_padding is None else k_eff + k_eff % 2 - 2 + output_padding
        left = min(pad // 2 + pad % 2, k_eff - 1)
        right = pad - left
    return k_eff - 1 - left, k_eff - 1 - right


class _Conv(_Base):
    """Base of Conv1D / Conv2D / Conv3D and their transposes."""

    rank = 2
    transpose = False

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, output_padding=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name, r = type(self).__name__, self.rank
        self.filters = int(filters)
        if self.filters <= 0:
            raise ValueError(f"{name}: filters must be positive, got {filters}")
        self.kernel_size = _tuple(kernel_size, r, "kernel_size", name)
        self.strides = _tuple(strides, r, "strides", name)
        self.dilation_rate = _tuple(dilation_rate, r, "dilation_rate", name)
        allowed = ("valid", "same", "causal") if r == 1 and not self.transpose else \
            ("valid", "same")
        self.padding = _padding(padding, name, allowed)
        self.data_format = _data_format(data_format, name)
        self.groups = int(groups)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{name}: strides > 1 is not compatible with dilation_rate > 1 "
                             f"(got strides={self.strides}, dilation_rate="
                             f"{self.dilation_rate})")
        if self.filters % self.groups:
            raise ValueError(f"{name}: filters {self.filters} must be divisible by groups "
                             f"{self.groups}")
        self.output_padding = None if output_padding is None else \
            _tuple(output_padding, r, "output_padding", name)
        self.activation = activation
        self._fn = _activation_fn("linear" if activation is None else activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer = _keras_regularizers.get(kernel_regularizer)
        self.bias_regularizer = _keras_regularizers.get(bias_regularizer)
        self.kernel = self.bias = None
        self._maybe_build()

    def _channels(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ShapeError(f"{type(self).__name__}: expected inputs of rank {self.rank + 2}"
                             f", got shape {tuple(input_shape)}")
        return int(input_shape[1 if self.data_format == "channels_first" else -1])

    def build(self, input_shape):
        c = self._channels(input_shape)
        if c % self.groups:
            raise ValueError(f"{type(self).__name__}: {c} input channels are not divisible "
                             f"by groups {self.groups}")
        shape = self.kernel_size + ((self.filters, c // self.groups) if self.transpose else
                                    (c // self.groups, self.filters))
        self._weight(self.kernel_initializer, shape, "kernel")
        if self.use_bias:
            self._weight(self.bias_initializer, (self.filters,), "bias")

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (without the batch axis)."""
        first = self.data_format == "channels_first"
        sizes = input_shape[1:] if first else input_shape[:-1]
        out = []
        for n, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate):
            k_eff = (k - 1) * d + 1
            if self.transpose:
                a, b = _transpose_crops(k, s, d, self.padding, None if self.output_padding
                                        is None else self.output_padding[len(out)])
                out.append((n - 1) * s + k_eff - a - b)
            elif self.padding == "valid":
                out.append((n - k_eff) // s + 1)
            else:
                out.append(-(-n // s) if self.padding == "same" else (n - 1) // s + 1)
        return (self.filters, *out) if first else (*out, self.filters)

    def _torch_kernel(self):
        # (k..., in, out) -> (out, in, k...); the transpose's (k..., out, in) -> (in, out, k...)
        r = self.rank
        return self.kernel.transpose(r + 1, r, *range(r))

    def forward(self, x):
        name = type(self).__name__
        _check_rank(x, self.rank, name, self.data_format)
        c = x.shape[1 if self.data_format == "channels_first" else -1]
        expect = self.kernel.shape[-1 if self.transpose else -2] * self.groups
        if c != expect:
            raise ShapeError(f"{name}: input of shape {tuple(x.shape)} has {c} channels, the "
                             f"layer was built for {expect}")
        xt = _to_first(x, self.data_format)
        w = self._torch_kernel()
        if self.transpose:
            out = self._transposed(xt, w)
        else:
            if self.padding == "same":
                xt = _pad_spatial(xt, [_same_pads(n, k, s, d) for n, k, s, d in zip(
                    xt.shape[2:], self.kernel_size, self.strides, self.dilation_rate)])
            elif self.padding == "causal":
                xt = _pad_spatial(xt, [((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)])
            out = _conv(xt, w, self.strides, self.dilation_rate, self.groups)
        if self.bias is not None:
            out = out + self.bias.reshape(-1, *([1] * self.rank))
        return self._fn(_from_first(out, self.data_format))

    def _transposed(self, xt, w):
        out = _conv_transpose_full(xt, w, self.strides, self.dilation_rate, self.groups)
        ops = self.output_padding or (None,) * self.rank
        crops = [_transpose_crops(k, s, d, self.padding, op) for k, s, d, op in
                 zip(self.kernel_size, self.strides, self.dilation_rate, ops)]
        out = _pad_spatial(out, [(max(0, -a), max(0, -b)) for a, b in crops])
        idx = (slice(None), slice(None)) + tuple(
            slice(max(a, 0), n - max(b, 0)) for (a, b), n in zip(crops, out.shape[2:]))
        return out[idx]


class Conv1D(_Conv):
    """1-D convolution of (N, steps, C) input; kernel (k, in, filters); ``padding`` may
    also be "causal" (the input padded on the left only)."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer, **kwargs)


class Conv2D(_Conv):
    """2-D convolution of (N, H, W, C) input (or (N, C, H, W) with
    ``data_format="channels_first"``); kernel (kh, kw, in / groups, filters)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), groups=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer, **kwargs)


class Conv3D(_Conv):
    """3-D convolution of (N, D, H, W, C) input; kernel (kd, kh, kw, in, filters)."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1, 1), groups=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer, **kwargs)


class Conv1DTranspose(_Conv):
    """Transposed 1-D convolution; kernel (k, filters, in); Keras' output window
    (``"same"``: ``size * strides``; ``output_padding`` as Keras)."""

    rank, transpose = 1, True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None,
                 dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         1, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         output_padding=output_padding, **kwargs)


class Conv2DTranspose(_Conv):
    """Transposed 2-D convolution; kernel (kh, kw, filters, in); Keras' output window
    (``"same"``: ``size * strides``; ``output_padding`` as Keras)."""

    rank, transpose = 2, True

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         1, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         output_padding=output_padding, **kwargs)


class Conv3DTranspose(_Conv):
    """Transposed 3-D convolution; kernel (kd, kh, kw, filters, in); Keras' output window
    (``"same"``: ``size * strides``; ``output_padding`` as Keras)."""

    rank, transpose = 3, True

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 output_padding=None,
                 dilation_rate=(1, 1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         1, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         output_padding=output_padding, **kwargs)


class _DepthwiseConv(_Base):
    """Base of DepthwiseConv1D/2D: each input channel convolved with ``depth_multiplier``
    kernels of its own; kernel (k..., in, depth_multiplier), outputs in*depth_multiplier
    channels ordered channel-major (``c * depth_multiplier + m``)."""

    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name, r = type(self).__name__, self.rank
        self.kernel_size = _tuple(kernel_size, r, "kernel_size", name)
        self.strides = _tuple(strides, r, "strides", name)
        self.dilation_rate = _tuple(dilation_rate, r, "dilation_rate", name)
        self.padding = _padding(padding, name, ("valid", "same", "causal") if r == 1 else
                                ("valid", "same"))
        self.data_format = _data_format(data_format, name)
        self.depth_multiplier = int(depth_multiplier)
        self.activation = activation
        self._fn = _activation_fn("linear" if activation is None else activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer, self.bias_initializer = depthwise_initializer, \
            bias_initializer
        self.depthwise_regularizer = _keras_regularizers.get(depthwise_regularizer)
        self.bias_regularizer = _keras_regularizers.get(bias_regularizer)
        self.kernel = self.bias = None
        self._maybe_build()

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ShapeError(f"{type(self).__name__}: expected inputs of rank {self.rank + 2}"
                             f", got shape {tuple(input_shape)}")
        c = int(input_shape[1 if self.data_format == "channels_first" else -1])
        self._weight(self.depthwise_initializer,
                     self.kernel_size + (c, self.depth_multiplier), "kernel")
        if self.use_bias:
            self._weight(self.bias_initializer, (c * self.depth_multiplier,), "bias")

    def _depthwise(self, xt, kernel):
        r = self.rank
        if self.padding == "same":
            xt = _pad_spatial(xt, [_same_pads(n, k, s, d) for n, k, s, d in zip(
                xt.shape[2:], self.kernel_size, self.strides, self.dilation_rate)])
        elif self.padding == "causal":
            xt = _pad_spatial(xt, [((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)])
        c = kernel.shape[-2]
        w = kernel.reshape(*self.kernel_size, 1, c * kernel.shape[-1])
        w = w.transpose(r + 1, r, *range(r))
        return _conv(xt, w, self.strides, self.dilation_rate, c)

    def forward(self, x):
        _check_rank(x, self.rank, type(self).__name__, self.data_format)
        out = self._depthwise(_to_first(x, self.data_format), self.kernel)
        if self.bias is not None:
            out = out + self.bias.reshape(-1, *([1] * self.rank))
        return self._fn(_from_first(out, self.data_format))


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution of (N, steps, C) input."""

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution of (N, H, W, C) input."""

    rank = 2

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, **kwargs)


class _SeparableConv(_DepthwiseConv):
    """A depthwise convolution followed by a pointwise (1x1) one; weights
    ``depthwise_kernel`` (k..., in, depth_multiplier), ``pointwise_kernel``
    (1..., in * depth_multiplier, filters), ``bias`` (filters,)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        self.filters = int(filters)
        self.pointwise_initializer = pointwise_initializer
        self.pointwise_regularizer = _keras_regularizers.get(pointwise_regularizer)
        self.depthwise_kernel = self.pointwise_kernel = None
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, **kwargs)

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ShapeError(f"{type(self).__name__}: expected inputs of rank {self.rank + 2}"
                             f", got shape {tuple(input_shape)}")
        c = int(input_shape[1 if self.data_format == "channels_first" else -1])
        self._weight(self.depthwise_initializer,
                     self.kernel_size + (c, self.depth_multiplier), "depthwise_kernel")
        self._weight(self.pointwise_initializer,
                     (1,) * self.rank + (c * self.depth_multiplier, self.filters),
                     "pointwise_kernel")
        if self.use_bias:
            self._weight(self.bias_initializer, (self.filters,), "bias")

    def forward(self, x):
        _check_rank(x, self.rank, type(self).__name__, self.data_format)
        r = self.rank
        out = self._depthwise(_to_first(x, self.data_format), self.depthwise_kernel)
        pw = self.pointwise_kernel.transpose(r + 1, r, *range(r))
        out = _conv(out, pw, (1,) * r, (1,) * r, 1)
        if self.bias is not None:
            out = out + self.bias.reshape(-1, *([1] * r))
        return self._fn(_from_first(out, self.data_format))


class SeparableConv1D(_SeparableConv):
    """Separable 1-D convolution: depthwise, then pointwise."""

    rank = 1


class SeparableConv2D(_SeparableConv):
    """Separable 2-D convolution: depthwise, then pointwise."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         depth_multiplier, activation, use_bias, depthwise_initializer,
                         pointwise_initializer, bias_initializer, depthwise_regularizer,
                         pointwise_regularizer, bias_regularizer, activity_regularizer,
                         **kwargs)


# ---------------------------------------------------------------------------- pooling

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


# ------------------------------------------------------------- resampling and padding

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
                raise ShapeError(f"{name}: cropping {self.cropping} leaves nothing of an "
                                 f"input of shape {tuple(x.shape)}")
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


# ---------------------------------------------------------------------------- reshaping

class _Stateless(_Base):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "_built", True)


class Reshape(_Stateless):
    """(N, ...) -> (N, *target_shape); one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape, got "
                             f"{self.target_shape}")

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
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, "
                             f"got {self.dims}")

    def forward(self, x):
        if x.ndim != len(self.dims) + 1:
            raise ShapeError(f"Permute: dims {self.dims} do not fit an input of shape "
                             f"{tuple(x.shape)}")
        return x.transpose(0, *self.dims)


class RepeatVector(_Stateless):
    """(N, features) -> (N, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
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
        return (math.prod(input_shape),)


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


# ------------------------------------------------------------------------------- noise

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
            raise ValueError(f"{name}: rate must be in [0, 1], got {rate!r}")
        self.rate, self.seed = float(rate), seed


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
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

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


# ----------------------------------------------------------------------- normalization

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


# ------------------------------------------------------------------------- activations

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
    """Softmax over ``axis``; a ``mask`` (True = keep) pushes masked entries to -1e9
    first, as Keras."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def forward(self, x, mask=None):
        if mask is not None:
            m = (mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask))).astype(x.dtype)
            x = x + (1.0 - m) * (-3e4 if x.dtype == np.float16 else -1e9)
        if isinstance(self.axis, (tuple, list)):
            return F.exp(x - F.logsumexp(x, dim=tuple(self.axis), keepdim=True))
        return F.softmax(x, axis=self.axis)


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


# ------------------------------------------------------------------------- merges

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


# --------------------------------------------------------------------------- attention

def _as_tensor(layer, v):
    return None if v is None else layer._float_input(v)


def _bool_mask(m, like):
    if m is None:
        return None
    m = m if isinstance(m, Tensor) else Tensor(np.asarray(m), device=like.device)
    return m.astype(like.dtype)


class _BaseAttention(_Base):
    def __init__(self, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dropout, self.seed = float(dropout), seed
        self._attn_built = False  # the weights are made at the first call
        object.__setattr__(self, "_built", True)

    def _prepare(self, xs):
        name = type(self).__name__
        if not isinstance(xs, (list, tuple)) or len(xs) not in (2, 3):
            raise ValueError(f"{name}: expected inputs [query, value] or [query, value, key], "
                             f"got {type(xs).__name__}")
        return [self._float_input(x) for x in xs]

    def forward(self, xs, mask=None, return_attention_scores=False, use_causal_mask=False):
        q, v = xs[0], xs[1]
        k = xs[2] if len(xs) == 3 else v
        if q.ndim != 3 or v.ndim != 3 or k.ndim != 3 or k.shape[:2] != v.shape[:2] or \
                q.shape[-1] != k.shape[-1] or q.shape[0] != v.shape[0]:
            raise ShapeError(f"{type(self).__name__}: query {tuple(q.shape)}, value "
                             f"{tuple(v.shape)}, key {tuple(k.shape)} do not fit (B, T, dim), "
                             "(B, S, dim), (B, S, dim)")
        if not self._attn_built:
            self._build_weights(q.shape[-1])
            self._attn_built = True
        scores = self._score(q, k)
        q_mask, v_mask = (None, None) if mask is None else (list(mask) + [None])[:2]
        keep = None
        if v_mask is not None:
            keep = _bool_mask(v_mask, scores).reshape(scores.shape[0], 1, scores.shape[2])
        if use_causal_mask:
            tq, tk = scores.shape[1], scores.shape[2]
            causal = _const(scores, np.tril(np.ones((tq, tk)))).reshape(1, tq, tk)
            keep = causal if keep is None else keep * causal
        if keep is not None:
            scores = scores - (1.0 - keep) * (65504.0 if scores.dtype == np.float16 else 1e9)
        weights = F.softmax(scores, axis=-1)
        if self.training and self.dropout > 0:
            weights = F.dropout(weights, p=self.dropout, training=True)
        out = F.matmul(weights, v)
        if q_mask is not None:
            out = out * _bool_mask(q_mask, out).reshape(out.shape[0], out.shape[1], 1)
        return (out, weights) if return_attention_scores else out


class Attention(_BaseAttention):
    """Dot-product (Luong) attention: ``softmax(scale * q . k) . v``; inputs
    ``[query, value]`` or ``[query, value, key]``; ``score_mode="concat"`` scores
    ``sum(tanh(q + k))``. Weights: ``scale`` (with ``use_scale``), then
    ``concat_score_weight`` (concat mode), both scalars starting at one."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout, seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention: score_mode must be 'dot' or 'concat', got "
                             f"{score_mode!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.scale = self.concat_score_weight = None

    def _build_weights(self, dim):
        if self.use_scale:
            self._weight("ones", (), "scale")
        if self.score_mode == "concat":
            self._weight("ones", (), "concat_score_weight")

    def _score(self, q, k):
        if self.score_mode == "dot":
            s = F.matmul(q, k.transpose(0, 2, 1))
            return s * self.scale if self.scale is not None else s
        qk = q.reshape(q.shape[0], q.shape[1], 1, q.shape[2]) + \
            k.reshape(k.shape[0], 1, k.shape[1], k.shape[2])
        if self.scale is not None:
            qk = qk * self.scale
        return self.concat_score_weight * F.tanh(qk).sum(axis=-1)


class AdditiveAttention(_BaseAttention):
    """Additive (Bahdanau) attention: scores ``sum(scale * tanh(q + k))`` over the
    features; weight ``scale`` (dim,), Glorot-uniform, with ``use_scale`` (the default)."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(dropout, **kwargs)
        self.use_scale = bool(use_scale)
        self.scale = None

    def _build_weights(self, dim):
        if self.use_scale:
            self._weight("glorot_uniform", (int(dim),), "scale")

    def _score(self, q, k):
        qk = F.tanh(q.reshape(q.shape[0], q.shape[1], 1, q.shape[2]) +
                    k.reshape(k.shape[0], 1, k.shape[1], k.shape[2]))
        return (qk * self.scale if self.scale is not None else qk).sum(axis=-1)


class MultiHeadAttention(_Base):
    """Keras' multi-head attention: ``mha(query, value, key=None, attention_mask=None,
    return_attention_scores=False, training=None, use_causal_mask=False)``.

    Weights in Keras' order: query kernel (dim, heads, key_dim) and bias (heads, key_dim),
    key's, value's (value_dim), output kernel (heads, value_dim, out) and bias (out,);
    ``out`` is the query's last size unless ``output_shape``. The attended axes are all
    those between the batch and the features (``attention_axes=None``)."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, seed=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        if output_shape is not None and not isinstance(output_shape, int) and \
                len(tuple(output_shape)) != 1:
            raise NotImplementedError("MultiHeadAttention: output_shape must be one size")
        self._output_dim = None if output_shape is None else (
            int(output_shape) if isinstance(output_shape, int) else int(tuple(output_shape)[0]))
        if attention_axes is not None:
            raise NotImplementedError("MultiHeadAttention: only attention_axes=None (attend "
                                      "over every axis between batch and features)")
        self.attention_axes = attention_axes
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer = _keras_regularizers.get(kernel_regularizer)
        self.bias_regularizer = _keras_regularizers.get(bias_regularizer)
        object.__setattr__(self, "_built", True)  # built at the first call, from 3 shapes
        self._mha_built = False

    def _build_all(self, q_dim, k_dim, v_dim):
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out_dim = self._output_dim or q_dim
        for name, dim, size in (("query", q_dim, kd), ("key", k_dim, kd),
                                ("value", v_dim, vd)):
            self._weight(self.kernel_initializer, (dim, h, size), f"{name}_kernel")
            if self.use_bias:
                self._weight(self.bias_initializer, (h, size), f"{name}_bias")
        self._weight(self.kernel_initializer, (h, vd, out_dim), "output_kernel")
        if self.use_bias:
            self._weight(self.bias_initializer, (out_dim,), "output_bias")
        self._mha_built = True

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = value_shape or query_shape
        self._build_all(query_shape[-1], (key_shape or value_shape)[-1], value_shape[-1])

    def _project(self, x, name):
        b = x.shape[0]
        flat = x.reshape(b, -1, x.shape[-1])
        out = F.einsum("btd,dhk->bthk", flat, getattr(self, f"{name}_kernel"))
        bias = getattr(self, f"{name}_bias", None)
        return out + bias if bias is not None else out

    def forward(self, query, value=None, key=None, query_mask=None, value_mask=None,
                key_mask=None, attention_mask=None, return_attention_scores=False,
                use_causal_mask=False):
        if value is None:
            raise TypeError("MultiHeadAttention: value is required: mha(query, value)")
        value = _as_tensor(self, value)
        key = value if key is None else _as_tensor(self, key)
        if not self._mha_built:
            self._build_all(query.shape[-1], key.shape[-1], value.shape[-1])
        if query.ndim < 3 or query.shape[0] != value.shape[0] or \
                key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(f"MultiHeadAttention: query {tuple(query.shape)}, value "
                             f"{tuple(value.shape)}, key {tuple(key.shape)} do not fit "
                             "(B, ..., dim)")
        q = self._project(query, "query") * (1.0 / math.sqrt(self.key_dim))
        k, v = self._project(key, "key"), self._project(value, "value")
        scores = F.einsum("bshd,bthd->bhts", k, q)  # (B, heads, Tq, Tk)
        tq, tk = scores.shape[2], scores.shape[3]
        mask = None
        if attention_mask is not None:
            mask = _bool_mask(attention_mask, scores).reshape(scores.shape[0], 1, tq, tk)
        if use_causal_mask:
            causal = _const(scores, np.tril(np.ones((tq, tk)))).reshape(1, 1, tq, tk)
            mask = causal if mask is None else mask * causal
        if mask is not None:
            scores = scores + (1.0 - mask) * (-3e4 if scores.dtype == np.float16 else -1e9)
        weights = F.softmax(scores, axis=-1)
        if self.training and self.dropout > 0:
            weights = F.dropout(weights, p=self.dropout, training=True)
        ctx = F.einsum("bhts,bshd->bthd", weights, v)
        out = F.einsum("bthd,hdo->bto", ctx, self.output_kernel)
        if self.use_bias:
            out = out + self.output_bias
        out = out.reshape(*query.shape[:-1], out.shape[-1])
        return (out, weights) if return_attention_scores else out


class EinsumDense(_Base):
    """A dense layer given as an einsum: ``EinsumDense("ab,bc->ac", output_shape=64,
    bias_axes="c")``; ``...`` on the left or right of the input and output stands for the
    axes passed through. Kernel and bias shapes follow Keras' reading of the equation
    (``output_shape`` excludes the batch axis and the elided ones)."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if lora_rank:
            raise NotImplementedError("EinsumDense: lora_rank is not supported")
        self.equation = str(equation).replace(" ", "")
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else \
            tuple(output_shape)
        self.activation = activation
        self._fn = _activation_fn("linear" if activation is None else activation)
        self.bias_axes = bias_axes
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer = _keras_regularizers.get(kernel_regularizer)
        self.bias_regularizer = _keras_regularizers.get(bias_regularizer)
        self.kernel = self.bias = None
        self._maybe_build()

    def _split(self):
        for pattern, left in ((r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", None),
                              (r"^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$", True),
                              (r"^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]{2,})\.\.\.$",
                               False)):
            m = re.match(pattern, self.equation)
            if m:
                return m.group(1), m.group(2), m.group(3), bool(left)
        raise ValueError(f"EinsumDense: invalid equation {self.equation!r}: expected "
                         "'ab,bc->ac', '...b,bc->...c' or 'ab...,bc->ac...'")

    def build(self, input_shape):
        ins, ws, outs, left = self._split()
        input_shape = tuple(input_shape)
        elided = len(input_shape) - len(ins)
        out_shape = [input_shape[0]] + list(self.partial_output_shape)
        if elided > 0 and left:
            for i in range(1, elided):
                out_shape.insert(1, input_shape[i])
        elif elided > 0:
            out_shape += list(input_shape[len(input_shape) - elided:])
        if left:
            in_map = {d: i + elided - len(input_shape) for i, d in enumerate(ins)}
            out_map = {d: i + elided - len(out_shape) for i, d in enumerate(outs)}
        else:
            in_map = {d: i for i, d in enumerate(ins)}
            out_map = {d: i for i, d in enumerate(outs)}
        shape = []
        for d in ws:
            if d in in_map:
                shape.append(input_shape[in_map[d]])
            elif d in out_map:
                shape.append(out_shape[out_map[d]])
            else:
                raise ValueError(f"EinsumDense: weight axis {d!r} of {self.equation!r} is "
                                 "in neither the input nor the output")
        self._weight(self.kernel_initializer, tuple(int(v) for v in shape), "kernel")
        if self.bias_axes is not None:
            if any(c not in outs for c in self.bias_axes):
                raise ValueError(f"EinsumDense: bias_axes {self.bias_axes!r} are not all in "
                                 f"the output of {self.equation!r}")
            start = min(outs.find(c) for c in self.bias_axes)
            bshape = [out_shape[out_map[c]] if c in self.bias_axes else 1
                      for c in outs[start:]]
            if not left:
                bshape += [1] * max(elided, 0)
            self._weight(self.bias_initializer, tuple(int(v) for v in bshape), "bias")

    def forward(self, x):
        out = F.einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            out = out + self.bias
        return self._fn(out)


# ----------------------------------------------------------------------- preprocessing

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


# Keras' other spellings
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = \
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = \
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = \
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

LAYER_CLASSES = {c.__name__: c for c in (
    AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D, EinsumDense,
    ActivityRegularization, AdditiveAttention, AlphaDropout, Attention, AveragePooling1D,
    AveragePooling2D, AveragePooling3D, CategoryEncoding, Conv1D, Conv1DTranspose, Conv2D,
    Conv2DTranspose, Conv3D, Conv3DTranspose, Cropping1D, Cropping2D, Cropping3D,
    DepthwiseConv1D, DepthwiseConv2D, Discretization, Dot, ELU, Flatten, GaussianDropout,
    GaussianNoise, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, GroupNormalization, Identity,
    Lambda, LayerNormalization, LeakyReLU, Masking, MaxPooling1D, MaxPooling2D, MaxPooling3D,
    MultiHeadAttention, Normalization, PReLU, Permute, RMSNormalization, ReLU, RepeatVector,
    Rescaling, Reshape, SeparableConv1D, SeparableConv2D, Softmax, SpatialDropout1D,
    SpatialDropout2D, SpatialDropout3D, UnitNormalization, UpSampling1D, UpSampling2D,
    UpSampling3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)}
