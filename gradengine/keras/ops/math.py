"""Keras 3's math ops (``keras.ops.segment_sum``, ``top_k``, ``in_top_k``, ``logsumexp``,
``erf``/``erfinv``, ``rsqrt``, ``extract_sequences``, ``logdet``, ``cdist``); the complex FFT
family is not provided (gradengine has no complex dtype)."""

from __future__ import annotations

import math

import numpy as np

from ... import functional as F
from ... import linalg as _linalg
from ...autograd.function import Function
from ...core.gradmode import no_grad
from ...core.tensor import Tensor
from ...errors import ShapeError
from ...ops import creation as C
from ._wrap import floatx, full_like, to_tensor, wrap_all

_t = to_tensor

__all__ = ["cdist", "erf", "erfc", "erfinv", "extract_sequences", "in_top_k", "logdet",
           "logsumexp", "rsqrt", "segment_max", "segment_min", "segment_prod", "segment_sum",
           "top_k"]


def _f(x):
    x = _t(x)
    return x if x.dtype.kind == "f" else x.astype(floatx())


def _segments(data, segment_ids, num_segments):
    data, ids = _t(data), _t(segment_ids).astype("int64")
    if ids.ndim != 1 or ids.shape[0] != data.shape[0]:
        raise ShapeError(f"segment ops: segment_ids must be 1-D of length data.shape[0]; got "
                         f"data {tuple(data.shape)}, segment_ids {tuple(ids.shape)}")
    n = int(num_segments) if num_segments is not None else \
        (int(F.max(ids).item()) + 1 if ids.shape[0] else 0)
    return data, ids, n


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    data, ids, n = _segments(data, segment_ids, num_segments)
    keep = F.logical_and(ids >= 0, ids < n)
    safe = F.where(keep, ids, full_like(ids, n))
    base = C.zeros((n + 1,) + tuple(data.shape[1:]), dtype=data.dtype, device=data.device)
    return F.index_add(base, 0, safe, data)[:n]


def _masked_reduce(data, ids, n, fill, reduce):
    seg = Tensor(np.arange(n), device=data.device)
    mask = F.reshape(seg, (n, 1) + (1,) * (data.ndim - 1)) == \
        F.reshape(ids, (1, -1) + (1,) * (data.ndim - 1))
    x = F.unsqueeze(data, 0)
    filled = F.where(mask, x, full_like(x, fill))
    return reduce(filled)


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    data, ids, n = _segments(data, segment_ids, num_segments)
    return _masked_reduce(_f(data), ids, n, -math.inf,
                          lambda v: F.amax(v, axis=1)).astype(data.dtype)


def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    data, ids, n = _segments(data, segment_ids, num_segments)
    return _masked_reduce(_f(data), ids, n, math.inf,
                          lambda v: F.amin(v, axis=1)).astype(data.dtype)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    data, ids, n = _segments(data, segment_ids, num_segments)
    return _masked_reduce(data, ids, n, 1, lambda v: F.prod(v, 1)).astype(data.dtype)


def top_k(x, k, sorted=True):  # noqa: A002 - Keras' name
    """``(values, indices)`` of the ``k`` largest along the last axis (indices int64, as
    Keras' torch backend)."""
    values, indices = F.topk(_t(x), int(k), dim=-1, largest=True, sorted=sorted)
    return values, indices.astype("int64")


def in_top_k(targets, predictions, k):
    targets = _t(targets).astype("int64")
    predictions = _t(predictions)
    top = top_k(predictions, k)[0]
    target_values = F.take_along_dim(predictions, F.unsqueeze(targets, -1), -1)
    return F.any(target_values >= top, axis=-1)


def logsumexp(x, axis=None, keepdims=False):
    x = _f(x)
    axis = tuple(range(x.ndim)) if axis is None else axis
    return F.logsumexp(x, axis=tuple(axis) if isinstance(axis, list) else axis,
                       keepdims=keepdims)


def rsqrt(x):
    return F.rsqrt(_f(x))


def erf(x):
    return F.erf(_f(x))


def erfc(x):
    return 1.0 - F.erf(_f(x))


class _ErfInv(Function):
    """erfinv by Winitzki's approximation refined with Newton steps on erf; its gradient
    ``sqrt(pi) / 2 * exp(y^2)`` is written in Tensor ops (so it is twice differentiable)."""

    @staticmethod
    def forward(ctx, x):
        with no_grad():
            a = 0.147
            ln = F.log(F.clip(1.0 - x * x, 1e-300 if x.dtype == np.float64 else 1e-38, None))
            t = 2.0 / (math.pi * a) + ln / 2.0
            y = F.sign(x) * F.sqrt(F.sqrt(t * t - ln / a) - t)
            for _ in range(3):
                step = (F.erf(y) - x) / (2.0 / math.sqrt(math.pi) * F.exp(-y * y))
                y = F.where(F.isfinite(step), y - step, y)
            y = F.where(x >= 1.0, full_like(x, math.inf),
                        F.where(x <= -1.0, full_like(x, -math.inf), y))
            y = F.where(F.abs(x) > 1.0, full_like(x, math.nan), y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (math.sqrt(math.pi) / 2.0) * F.exp(y * y)


def erfinv(x):
    return _ErfInv.apply(_f(x))


def logdet(x):
    sign, logabs = _linalg.slogdet(_f(x))
    return F.where(sign < 0, full_like(logabs, math.nan), logabs)


def cdist(x, y):
    x, y = _f(x), _f(y)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError("cdist: inputs must have rank >= 2")
    if x.shape[-1] != y.shape[-1]:
        raise ShapeError(f"cdist: the last dimensions must match, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    d = F.unsqueeze(x, -2) - F.unsqueeze(y, -3)
    return F.sqrt(F.sum(d * d, axis=-1))


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` every ``sequence_stride`` along the last axis."""
    x = _t(x)
    n, length, stride = x.shape[-1], int(sequence_length), int(sequence_stride)
    count = (n - length) // stride + 1
    idx = np.arange(count)[:, None] * stride + np.arange(length)[None, :]
    return x[..., Tensor(idx.astype(np.int64), device=x.device)]


wrap_all(globals(), __all__)
