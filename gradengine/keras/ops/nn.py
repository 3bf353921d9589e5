"""Keras 3's ``keras.ops.nn``: activations with the ops' defaults (``leaky_relu`` slope 0.2,
``gelu`` approximate), convolutions and pooling on channels-last inputs (Keras' kernel
layouts, "same" padding putting the odd pixel last), normalizations, one-hot encodings,
the cross-entropies (per sample, no reduction), CTC and attention, as Keras' torch backend
computes them; every one built from gradengine's differentiable ops."""

from __future__ import annotations

import numpy as np

from ... import functional as F
from ...core.tensor import Tensor
from ...errors import ShapeError
from .. import activations as A
from ..backend import epsilon as _epsilon
from ..backend import result_type
from ._wrap import floatx, full_like, pair, to_tensor, wrap_all, zeros_like

_t = to_tensor

__all__ = [
    "adaptive_average_pool", "adaptive_max_pool", "average_pool", "batch_normalization",
    "binary_crossentropy", "categorical_crossentropy", "celu", "conv", "conv_transpose",
    "ctc_decode", "ctc_loss", "depth_to_space", "depthwise_conv", "dot_product_attention",
    "elu", "fold", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "layer_normalization", "leaky_relu", "log_sigmoid", "log_softmax",
    "max_pool", "moments", "multi_hot", "normalize", "one_hot", "psnr", "relu", "relu6",
    "rms_normalization", "selu", "separable_conv", "sigmoid", "silu", "soft_shrink",
    "softmax", "softplus", "softsign", "space_to_depth", "sparse_categorical_crossentropy",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh_shrink",
    "threshold", "unfold",
]


def _f(x):
    x = _t(x)
    return x if x.dtype.kind == "f" else x.astype(floatx())


# ---------------------------------------------------------------- activations
def relu(x):
    x = _t(x)
    if x.dtype.kind in "iu":  # Keras keeps an integer input's dtype
        return F.maximum(x, 0)
    return F.relu(_f(x))


def relu6(x):
    return F.relu6(_f(x))


def sigmoid(x):
    return F.sigmoid(_f(x))


def silu(x):
    return F.silu(_f(x))


swish = silu


def softplus(x):
    return F.softplus(_f(x))


def softsign(x):
    return F.softsign(_f(x))


def log_sigmoid(x):
    return F.log_sigmoid(_f(x))


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_f(x), negative_slope)


def elu(x, alpha=1.0):
    return F.elu(_f(x), alpha)


def selu(x):
    return F.selu(_f(x))


def celu(x, alpha=1.0):
    return F.celu(_f(x), alpha)


def gelu(x, approximate=True):
    return F.gelu(_f(x), approximate="tanh" if approximate else "none")


def glu(x, axis=-1):
    return A.glu(_f(x), axis)


def hard_sigmoid(x):
    return A.hard_sigmoid(_f(x))


def hard_silu(x):
    return A.hard_silu(_f(x))


hard_swish = hard_silu


def hard_tanh(x):
    x = _t(x)
    if x.dtype.kind in "iu":  # Keras keeps an integer input's dtype
        return F.clip(x, -1, 1)
    return A.hard_tanh(_f(x))


def hard_shrink(x, threshold=0.5):
    return A.hard_shrink(_f(x), threshold)


def soft_shrink(x, threshold=0.5):
    return A.soft_shrink(_f(x), threshold)


def tanh_shrink(x):
    return A.tanh_shrink(_f(x))


def threshold(x, threshold, default_value):
    return A.threshold(_f(x), threshold, default_value)


def sparse_plus(x):
    return A.sparse_plus(_f(x))


def sparse_sigmoid(x):
    return A.sparse_sigmoid(_f(x))


def squareplus(x, b=4):
    return A.squareplus(_f(x), b)


def sparsemax(x, axis=-1):
    return A.sparsemax(_f(x), axis)


def _over_axes(fn, x, axis):
    """``fn`` (softmax-like, one axis) over a tuple of axes: flattened together."""
    if isinstance(axis, int):
        return fn(x, axis=axis)
    axes = sorted(a % x.ndim for a in axis)
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = F.transpose(x, tuple(rest + axes))
    shp = tuple(moved.shape)
    out = fn(F.reshape(moved, shp[:len(rest)] + (-1,)), axis=-1)
    out = F.reshape(out, shp)
    inverse = np.argsort(rest + axes).tolist()
    return F.transpose(out, tuple(inverse))


def softmax(x, axis=-1):
    x = _f(x)
    if axis is None:
        return F.reshape(F.softmax(F.reshape(x, (-1,)), axis=0), tuple(x.shape))
    return _over_axes(F.softmax, x, axis)


def log_softmax(x, axis=-1):
    x = _f(x)
    if axis is None:
        return F.reshape(F.log_softmax(F.reshape(x, (-1,)), axis=0), tuple(x.shape))
    return _over_axes(F.log_softmax, x, axis)


# ---------------------------------------------------------------- layouts
def _tuple(v, n, name):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(e) for e in v)
    if len(v) != n:
        raise ValueError(f"{name}: expected {n} values, got {v}")
    return v


def _format(data_format):
    fmt = data_format or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    return fmt


def _to_first(x, fmt):
    if fmt == "channels_first":
        return x
    nd = x.ndim
    return F.transpose(x, (0, nd - 1, *range(1, nd - 1)))


def _to_last(x, fmt):
    if fmt == "channels_first":
        return x
    nd = x.ndim
    return F.transpose(x, (0, *range(2, nd), 1))


def _same_pad(size, k, s, d=1):
    eff = (k - 1) * d + 1
    if s == 1:
        total = eff - 1
    else:
        out = (size + s - 1) // s
        total = max(0, (out - 1) * s + eff - size)
    return total // 2, total - total // 2


def _apply_same(x, kernel, strides, dilation, mode):
    """Keras' torch "same": symmetric padding passed on, asymmetric padding applied."""
    pads = [_same_pad(x.shape[2 + i], kernel[i], strides[i], dilation[i])
            for i in range(len(kernel))]
    if all(lo == hi for lo, hi in pads):
        return x, [lo for lo, _ in pads]
    flat = [v for p in reversed(pads) for v in p]
    return F.pad(x, flat, mode=mode), [0] * len(kernel)


def _spatial(x, name):
    n = x.ndim - 2
    if n not in (1, 2):
        raise ShapeError(f"{name}: gradengine supports 1-D and 2-D inputs (ndim 3 or 4), got "
                         f"shape {tuple(x.shape)}")
    return n


# ---------------------------------------------------------------- pooling
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    x, fmt = _f(inputs), _format(data_format)
    n = _spatial(x, "max_pool")
    k = _tuple(pool_size, n, "pool_size")
    s = k if strides is None else _tuple(strides, n, "strides")
    x = _to_first(x, fmt)
    pad = [0] * n
    if padding == "same":
        x, pad = _apply_same(x, k, s, (1,) * n, "replicate")
    elif padding != "valid":
        raise ValueError(f"max_pool: padding must be 'valid' or 'same', got {padding!r}")
    fn = F.max_pool1d if n == 1 else F.max_pool2d
    out = fn(x, k if n > 1 else k[0], s if n > 1 else s[0], pad if n > 1 else pad[0])
    return _to_last(out, fmt)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    x, fmt = _f(inputs), _format(data_format)
    n = _spatial(x, "average_pool")
    k = _tuple(pool_size, n, "pool_size")
    s = k if strides is None else _tuple(strides, n, "strides")
    x = _to_first(x, fmt)
    pad = [0] * n
    if padding == "same":
        x, pad = _apply_same(x, k, s, (1,) * n, "replicate")
    elif padding != "valid":
        raise ValueError(f"average_pool: padding must be 'valid' or 'same', got {padding!r}")
    if n == 1:
        out = F.avg_pool1d(x, k[0], s[0], pad[0], count_include_pad=False)
    else:
        out = F.avg_pool2d(x, k, s, pad, count_include_pad=False)
    return _to_last(out, fmt)


def _adaptive(fn1, fn2, inputs, output_size, data_format, name):
    x, fmt = _f(inputs), _format(data_format)
    n = _spatial(x, name)
    size = _tuple(output_size, n, "output_size")
    x = _to_first(x, fmt)
    out = fn1(x, size[0]) if n == 1 else fn2(x, size)
    return _to_last(out, fmt)


def adaptive_average_pool(inputs, output_size, data_format=None):
    return _adaptive(F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, inputs, output_size,
                     data_format, "adaptive_average_pool")


def adaptive_max_pool(inputs, output_size, data_format=None):
    return _adaptive(F.adaptive_max_pool1d, F.adaptive_max_pool2d, inputs, output_size,
                     data_format, "adaptive_max_pool")


# ---------------------------------------------------------------- convolutions
def _kernel_first(kernel):
    """Keras' (*spatial, in, out) kernel as torch's (out, in, *spatial)."""
    nd = kernel.ndim
    return F.transpose(kernel, (nd - 1, nd - 2, *range(nd - 2)))


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (1-D or 2-D here); the kernel is ``(*spatial, in / groups, out)``."""
    x, fmt = _f(inputs), _format(data_format)
    w = _t(kernel).astype(x.dtype)
    n = _spatial(x, "conv")
    s = _tuple(strides, n, "strides")
    d = _tuple(dilation_rate, n, "dilation_rate")
    x = _to_first(x, fmt)
    w = _kernel_first(w)
    cin, kin = x.shape[1], w.shape[1]
    if cin % kin:
        raise ShapeError(f"conv: input channels ({cin}) must be divisible by kernel input "
                         f"channels ({kin}); inputs {tuple(_t(inputs).shape)}, kernel "
                         f"{tuple(_t(kernel).shape)}")
    pad = [0] * n
    if padding == "same":
        x, pad = _apply_same(x, tuple(w.shape[2:]), s, d, "constant")
    elif padding != "valid":
        raise ValueError(f"conv: padding must be 'valid' or 'same', got {padding!r}")
    fn = F.conv1d if n == 1 else F.conv2d
    if n == 1:
        out = fn(x, w, None, s[0], pad[0], d[0], cin // kin)
    else:
        out = fn(x, w, None, s, pad, d, cin // kin)
    return _to_last(out, fmt)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """The kernel is ``(*spatial, in, multiplier)``."""
    w = _t(kernel)
    w = F.reshape(w, tuple(w.shape[:-2]) + (1, w.shape[-2] * w.shape[-1]))
    return conv(inputs, w, strides, padding, data_format, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    h = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(h, pointwise_kernel, 1, "valid", data_format, dilation_rate)


def _transpose_pads(k, s, d, padding, output_padding):
    eff = (k - 1) * d + 1
    if padding == "valid":
        op = max(eff, s) - eff if output_padding is None else output_padding
        left, right = eff - 1, eff - 1 + op
    else:
        pad_len = s + eff - 2 if output_padding is None else eff + eff % 2 - 2 + output_padding
        left = min(pad_len // 2 + pad_len % 2, eff - 1)
        right = pad_len - left
    return (eff - 1) - left, (eff - 1) - right


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution; the kernel is ``(*spatial, out, in)``; output sizes as Keras
    (``input * stride`` for "same")."""
    x, fmt = _f(inputs), _format(data_format)
    w = _t(kernel).astype(x.dtype)
    n = _spatial(x, "conv_transpose")
    if padding not in ("valid", "same"):
        raise ValueError(f"conv_transpose: padding must be 'valid' or 'same', got {padding!r}")
    s = _tuple(strides, n, "strides")
    d = _tuple(dilation_rate, n, "dilation_rate")
    ops_ = [None] * n if output_padding is None else list(_tuple(output_padding, n,
                                                                  "output_padding"))
    crops = [_transpose_pads(w.shape[i], s[i], d[i], padding, ops_[i]) for i in range(n)]
    x = _to_first(x, fmt)
    nd = w.ndim
    w = F.transpose(w, (nd - 1, nd - 2, *range(nd - 2)))  # (in, out, *spatial) as torch
    if n == 1:
        out = F.conv_transpose1d(x, w, None, s[0], 0, 0, 1, d[0])
    else:
        out = F.conv_transpose2d(x, w, None, s, 0, 0, 1, d)
    idx = [slice(None), slice(None)]
    for lo, hi in crops:
        idx.append(slice(max(0, lo), -hi if hi > 0 else None))
    out = out[tuple(idx)]
    if any(lo < 0 or hi < 0 for lo, hi in crops):
        flat = []
        for lo, hi in reversed(crops):
            flat += [-lo if lo < 0 else 0, -hi if hi < 0 else 0]
        out = F.pad(out, flat)
    return _to_last(out, fmt)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    return F.unfold(_f(x), kernel_size, dilation, padding, stride)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    return F.fold(_f(x), output_size, kernel_size, dilation, padding, stride)


def depth_to_space(x, block_size, data_format="channels_last"):
    x, b = _t(x), int(block_size)
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = F.reshape(x, (n, h, w, b, b, c // (b * b)))
        return F.reshape(F.transpose(x, (0, 1, 3, 2, 4, 5)), (n, h * b, w * b, c // (b * b)))
    n, c, h, w = x.shape
    x = F.reshape(x, (n, c // (b * b), b, b, h, w))
    return F.reshape(F.transpose(x, (0, 1, 4, 2, 5, 3)), (n, c // (b * b), h * b, w * b))


def space_to_depth(x, block_size, data_format="channels_last"):
    x, b = _t(x), int(block_size)
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = F.reshape(x, (n, h // b, b, w // b, b, c))
        return F.reshape(F.transpose(x, (0, 1, 3, 2, 4, 5)), (n, h // b, w // b, c * b * b))
    n, c, h, w = x.shape
    x = F.reshape(x, (n, c, h // b, b, w // b, b))
    return F.reshape(F.transpose(x, (0, 1, 3, 5, 2, 4)), (n, c * b * b, h // b, w // b))


# ---------------------------------------------------------------- normalization
def _axes(axes, nd):
    if isinstance(axes, int):
        axes = (axes,)
    return tuple(sorted(a % nd for a in axes))


def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` over ``axes`` (variance as ``E[x^2] - E[x]^2``, Keras' torch
    formula)."""
    if synchronized:
        raise NotImplementedError("moments: synchronized=True is not supported")
    x = _f(x)
    ax = _axes(axes, x.ndim)
    m = F.mean(x, axis=ax, keepdims=True)
    v = F.mean(F.square(x), axis=ax, keepdims=True) - F.square(m)
    if not keepdims:
        m, v = (F.reshape(t, tuple(d for i, d in enumerate(t.shape) if i not in ax))
                for t in (m, v))
    return m, v


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    x = _f(x)
    shape = [1] * x.ndim
    mean = _t(mean)
    shape[axis] = mean.shape[0]
    shape = tuple(shape)
    mean, variance = F.reshape(mean, shape), F.reshape(_t(variance), shape)
    inv = F.rsqrt(variance + epsilon)
    if scale is not None:
        inv = inv * F.reshape(_t(scale), shape)
    out = (x - mean) * inv
    if offset is not None:
        out = out + F.reshape(_t(offset), shape)
    return out


def _compute(x):
    x = _t(x)
    return x.astype(result_type(x.dtype.name, "float32"))


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected arguments {sorted(kwargs)}")
    eps = _epsilon() if epsilon is None else epsilon
    orig = _t(x).dtype
    x = _compute(x)
    ax = _axes(axis, x.ndim)
    bshape = tuple(x.shape[i] if i in ax else 1 for i in range(x.ndim))

    def bc(v):
        if v is None:
            return None
        v = _t(v).astype(x.dtype)
        return v if v.ndim == x.ndim or ax == (x.ndim - 1,) else F.reshape(v, bshape)
    gamma, beta = bc(gamma), bc(beta)
    if rms_scaling:
        out = x * F.rsqrt(F.var(x, axis=ax, keepdims=True, correction=0) + eps)
        if gamma is not None:
            out = out * gamma
    else:
        mean, var = F.mean(x, axis=ax, keepdims=True), \
            F.var(x, axis=ax, keepdims=True, correction=0)
        out = (x - mean) * F.rsqrt(var + eps)
        if gamma is not None:
            out = out * gamma
        if beta is not None:
            out = out + beta
    return out.astype(orig)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    eps = _epsilon() if epsilon is None else epsilon
    orig = _t(x).dtype
    x = _compute(x)
    ax = _axes(axis, x.ndim)
    out = x * F.rsqrt(F.mean(F.square(x), axis=ax, keepdims=True) + eps)
    if scale is not None:
        s = _t(scale).astype(x.dtype)
        if s.ndim != x.ndim and ax != (x.ndim - 1,):
            s = F.reshape(s, tuple(x.shape[i] if i in ax else 1 for i in range(x.ndim)))
        out = out * s
    return out.astype(orig)


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` over its ``order``-norm along ``axis`` (Keras: L2 as ``x * min(rsqrt(sum x^2),
    1/epsilon)``)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1, got {order}")
    x = _f(x)
    if x.ndim == 0:
        x = F.reshape(x, (1,))
    eps = _epsilon() if epsilon is None else epsilon
    if order == 2:
        inv = F.rsqrt(F.sum(F.square(x), axis=axis, keepdims=True))
        return x * F.minimum(inv, full_like(inv, 1.0 / eps))
    norm = F.sum(F.abs(x) ** order, axis=axis, keepdims=True) ** (1.0 / order)
    return x / F.maximum(norm, full_like(norm, eps))


# ---------------------------------------------------------------- encodings
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Negative indices give all-zero rows, as Keras."""
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported")
    x = _t(x).astype("int64")
    out = F.one_hot(F.clip(x, 0, None), int(num_classes))
    out = F.where(F.unsqueeze(x >= 0, -1), out, zeros_like(out))
    out = out.astype(np.dtype(dtype or floatx()))
    nd = out.ndim
    if axis not in (-1, nd - 1):
        out = F.moveaxis(out, -1, axis)
    return out


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("multi_hot: give num_classes")
    x = _t(inputs)
    red = 1 if x.ndim > 1 else 0
    return F.amax(one_hot(x.astype("int32"), num_classes, axis=axis, dtype=dtype), axis=red)


# ---------------------------------------------------------------- losses (per sample)
def binary_crossentropy(target, output, from_logits=False):
    target, output = _f(target), _f(output)
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(f"binary_crossentropy: target and output must have the same shape, "
                         f"got {tuple(target.shape)} and {tuple(output.shape)}")
    target = target.astype(output.dtype)
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    eps = _epsilon()
    p = F.clip(output, eps, 1.0 - eps)
    return -(target * F.log(p) + (1.0 - target) * F.log(1.0 - p))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    target, output = _f(target), _f(output)
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(f"categorical_crossentropy: target and output must have the same "
                         f"shape, got {tuple(target.shape)} and {tuple(output.shape)}")
    if from_logits:
        logp = F.log_softmax(output, axis=axis)
    else:
        p = output / F.sum(output, axis=axis, keepdims=True)
        eps = _epsilon()
        logp = F.log(F.clip(p, eps, 1.0 - eps))
    return -F.sum(target.astype(output.dtype) * logp, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = _f(output)
    target = _t(target).astype("int64")
    if target.ndim == output.ndim and target.shape[axis] == 1:
        target = F.squeeze(target, axis)
    depth = output.shape[axis]
    onehot = one_hot(target, depth, axis=axis, dtype=output.dtype)
    if tuple(onehot.shape) != tuple(output.shape):
        raise ValueError(f"sparse_categorical_crossentropy: target and output must have the "
                         f"same shape up to the class axis, got {tuple(target.shape)} and "
                         f"{tuple(output.shape)}")
    return categorical_crossentropy(onehot, output, from_logits=from_logits, axis=axis)


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Per-sample CTC loss; ``output`` is ``(batch, time, classes)`` logits."""
    output = _compute(output)
    logp = F.log_softmax(F.transpose(output, 1, 0, 2), axis=-1)
    return F.ctc_loss(logp, _t(target).astype("int64"), _t(output_length).astype("int64"),
                      _t(target_length).astype("int64"), blank=int(mask_index),
                      reduction="none")


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Greedy CTC decoding: ``(decoded (1, batch, time) padded with -1, scores (batch,
    1))``; only ``strategy="greedy"``."""
    if strategy != "greedy":
        raise NotImplementedError("ctc_decode: only strategy='greedy' is supported")
    x = _compute(inputs)
    lengths = _t(sequence_lengths).astype("int64")
    idx = F.argmax(x, axis=-1)
    best = F.amax(x, axis=-1)
    t = x.shape[1]
    valid = Tensor(np.arange(t)[None, :], device=x.device) < F.unsqueeze(lengths, -1)
    scores = -F.sum(F.where(valid, best, zeros_like(best)), axis=1, keepdims=True)
    ids = idx.numpy()
    keep = valid.numpy().copy()
    if merge_repeated:
        keep[:, 1:] &= ids[:, 1:] != ids[:, :-1]
    keep &= ids != mask_index
    out = np.full(ids.shape, -1, dtype=np.int32)
    for b in range(ids.shape[0]):
        row = ids[b][keep[b]]
        out[b, :len(row)] = row
    return Tensor(out[None], device=x.device), scores


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """Attention on ``(batch, seq, heads, dim)`` inputs (grouped key/value heads repeat)."""
    q, k, v = _f(query), _f(key), _f(value)
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"dot_product_attention: only 4-D inputs are supported, got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if bias is not None and mask is not None:
        raise ValueError("dot_product_attention: give bias or mask, not both")
    if flash_attention:
        raise ValueError("dot_product_attention: flash attention is not available")
    q, k, v = (F.transpose(t, 0, 2, 1, 3) for t in (q, k, v))
    hq, hk = q.shape[1], k.shape[1]
    if hq > hk > 1 or (hk == 1 and hq > 1):
        k = F.repeat_interleave(k, hq // hk, dim=1)
        v = F.repeat_interleave(v, hq // hk, dim=1)
    sc = 1.0 / np.sqrt(q.shape[-1]) if scale is None else float(scale)
    logits = F.matmul(q, F.transpose(k, 0, 1, 3, 2)) * sc
    if attn_logits_soft_cap is not None:
        cap = float(attn_logits_soft_cap)
        logits = F.tanh(logits / cap) * cap
    if bias is not None:
        logits = logits + _t(bias).astype(logits.dtype)
    keep = None
    if mask is not None:
        keep = _t(mask).astype("bool")
    if is_causal:
        causal = Tensor(np.tril(np.ones((q.shape[2], k.shape[2]), dtype=bool)),
                        device=q.device)
        keep = causal if keep is None else F.logical_and(keep, causal)
    if keep is not None:
        big = 65500.0 if logits.dtype == np.float16 else 3.38953e38
        logits = F.where(keep, logits, full_like(logits, -0.7 * big))
    out = F.matmul(F.softmax(logits, axis=-1), v)
    return F.transpose(out, 0, 2, 1, 3)


def psnr(x1, x2, max_val):
    x1, x2 = _f(x1), _f(x2)
    if tuple(x1.shape) != tuple(x2.shape):
        raise ValueError(f"psnr: input shapes {tuple(x1.shape)} and {tuple(x2.shape)} must "
                         "match")
    mse = F.mean(F.square(x1 - x2))
    return 20.0 * F.log10(pair(x1, max_val)[1].astype(x1.dtype)) - 10.0 * F.log10(mse)


wrap_all(globals(), __all__)
