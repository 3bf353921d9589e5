"""The array-level functions behind the fused CUDA kernels, written against ``xp``.

Each function here is the NumPy twin of one kernel in ``kernels/``: the CPU path (and the
unfused CuPy path, ``GRADENGINE_KERNELS=0``) computes exactly this; on CUDA the ops call
the kernel from :mod:`gradengine.cuda.kernels` instead. Tests compare the two.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import fp_quiet, fp_restore

ACTIVATIONS = (None, "sigmoid", "relu", "tanh")
_ONES = {}


def _one(xp, dtype):
    """1 of ``dtype`` for the constant of an elementwise formula: on the CPU a read-only 0-d
    array (NumPy combines it with an array ~0.7 us faster than the Python 1, with the same
    result), elsewhere the Python 1."""
    if xp is not np:
        return 1
    one = _ONES.get(dtype)
    if one is None:
        one = _ONES[dtype] = np.ones((), dtype=dtype)
        one.flags.writeable = False
    return one


def sigmoid_ref(xp, x, out=None):
    """sigma(x) = 1 / (1 + e^-x), in place in one buffer (``out``, which may be x itself
    when x is a temporary).

    e^-x overflows to inf for very negative x, and 1 / (1 + inf) is exactly the 0 that
    sigma rounds to there, so the overflow is silenced rather than avoided.
    """
    z = out if out is not None else xp.empty(
        x.shape, dtype=x.dtype if x.dtype.kind == "f" else np.float32)
    xp.negative(x, out=z)
    token = fp_quiet()
    try:
        xp.exp(z, out=z)
    finally:
        fp_restore(token)
    xp.add(z, _one(xp, z.dtype), out=z)
    xp.reciprocal(z, out=z)
    return z


def act_backward_ref(xp, y, g, act):
    """dx = g * act'(z) from the saved output y = act(z) (not z): the CPU forward of the
    ``act_backward`` op and the twin of the sigmoid backward kernel."""
    if act is None:
        return g
    if act == "sigmoid":
        return g * y * (_one(xp, y.dtype) - y)  # the kernel's order of operations
    return g * act_grad_ref(xp, y, act)


def sigmoid_backward_ref(xp, y, g):
    """dx = g * y * (1 - y): the twin of the sigmoid backward kernel."""
    return act_backward_ref(xp, y, g, "sigmoid")


def act_ref(xp, z, act):
    """act(z) for act in None | "sigmoid" | "relu" | "tanh"."""
    if act is None:
        return z
    if act == "sigmoid":
        return sigmoid_ref(xp, z)
    if act == "relu":
        return xp.maximum(z, 0)
    if act == "tanh":
        return xp.tanh(z)
    raise ValueError(f"linear: unknown activation {act!r}; use one of {ACTIVATIONS}")


def act_grad_ref(xp, out, act):
    """act'(z) expressed through out = act(z): the one place each derivative is written."""
    if act == "sigmoid":
        return out * (_one(xp, out.dtype) - out)
    if act == "relu":
        return (out > 0).astype(out.dtype)
    if act == "tanh":
        return _one(xp, out.dtype) - out * out
    return xp.ones_like(out)


def bias_act_ref(xp, z, b, act):
    """out = act(z + b): the Linear epilogue after the matmul (b may be None)."""
    if b is None:
        return act_ref(xp, z, act)
    zb = z + b
    if act == "relu":
        return xp.maximum(zb, 0, out=zb)  # one temporary: the activation works in place
    if act == "tanh":
        return xp.tanh(zb, out=zb)
    if act == "sigmoid" and zb.dtype.kind == "f":
        return sigmoid_ref(xp, zb, out=zb)
    return act_ref(xp, zb, act)


def bias_act_backward_ref(xp, g, out, act, need_bias=True):
    """dz = g * act'(out) and db = column sum of dz (None when there is no bias)."""
    dz = g if act is None else g * act_grad_ref(xp, out, act)
    db = None
    if need_bias and dz.ndim:
        # Sum over the leading axes (reshape(-1, N) is ambiguous when N == 0).
        nd = dz.ndim
        axes = 0 if nd == 2 else tuple(range(nd - 1))
        acc = bias_grad_accumulator(dz.shape, dz.dtype)
        db = dz.sum(axis=axes) if acc == dz.dtype else \
            dz.sum(axis=axes, dtype=acc).astype(dz.dtype)
    elif need_bias:
        db = dz
    return dz, db


SMALL_SUM_ROWS = 32  # up to this many rows a float32 column sum is accurate in float32


def bias_grad_accumulator(shape, dtype):
    """The dtype the bias gradient (a column sum of dz) is accumulated in.

    NumPy adds rows one by one along axis 0, so a float32 sum over M rows drifts by about
    M * eps: over many rows it accumulates in float64, as close to exact as the kernel's
    compensated sum; over at most SMALL_SUM_ROWS rows float32 is as good (a few ulp) and
    skips a conversion. float16 always accumulates in float32.
    """
    if dtype == np.float16:
        return _F32
    if dtype == np.float32 and \
            (shape[0] if len(shape) == 2 else math.prod(shape[:-1])) > SMALL_SUM_ROWS:
        return _F64
    return dtype


_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def matmul_ref(xp, a, b):
    """a @ b for 2-D a (M, K) and b (K, N)."""
    return xp.matmul(a, b)
