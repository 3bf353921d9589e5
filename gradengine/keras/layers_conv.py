"""Keras 3's convolution layers of every rank: ``Conv1D/2D/3D``, the transposed
``Conv1D/2D/3DTranspose``, ``DepthwiseConv1D/2D`` and ``SeparableConv1D/2D``: kernels in
Keras' layouts, Glorot-uniform; "same" and "causal" padding as Keras; either
``data_format``. Re-exported by :mod:`gradengine.keras.layers`."""

from __future__ import annotations

from .. import functional as F
from ..errors import ShapeError
from ..nn import _keras_regularizers
from .layers_common import (
    _activation,
    _Base,
    _check_rank,
    _data_format,
    _from_first,
    _pad_spatial,
    _padding,
    _same_pads,
    _to_first,
    _tuple,
)

__all__ = [
    "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose",
    "Convolution1D", "Convolution1DTranspose", "Convolution2D", "Convolution2DTranspose",
    "Convolution3D", "Convolution3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D",
    "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
]


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
        self._fn = _activation(activation)
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
        """The output shape for ``input_shape`` (with the batch axis, as Keras)."""
        first = self.data_format == "channels_first"
        batch, input_shape = input_shape[0], tuple(input_shape[1:])
        sizes = input_shape[1:] if first else input_shape[:-1]
        out = []
        for n, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate):
            k_eff = (k - 1) * d + 1
            if n is None:
                out.append(None)
            elif self.transpose:
                a, b = _transpose_crops(k, s, d, self.padding, None if self.output_padding
                                        is None else self.output_padding[len(out)])
                out.append((n - 1) * s + k_eff - a - b)
            elif self.padding == "valid":
                out.append((n - k_eff) // s + 1)
            else:
                out.append(-(-n // s) if self.padding == "same" else (n - 1) // s + 1)
        return (batch, self.filters, *out) if first else (batch, *out, self.filters)

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
        self._fn = _activation(activation)
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


# Keras' other spellings
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = \
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
