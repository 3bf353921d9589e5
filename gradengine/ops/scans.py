"""Op family: reductions beyond sum/mean/max/min and scans -- var, std (PyTorch's
``correction``/``unbiased``), prod, logsumexp, cumsum, cumprod. var, std and logsumexp are
compositions of differentiable ops (two-pass variance; logsumexp shifted by a detached
max), so their gradients of every order come from their parts. See docs/ops.md.
"""

from __future__ import annotations

import numpy as np

from ..backend import resolve_dtype
from ..core.op import apply, op
from .elementwise import exp, log, sqrt, where
from .reductions import _count, sum
from .reductions import max as _max
from .shape import normalize_axis, reshape, transpose


def _axes(x, dim, name):
    axes = normalize_axis(dim, x.ndim, name)
    return None if axes == () else axes


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Variance over ``dim`` (None: all), divided by N - correction (default 1; as PyTorch,
    ``unbiased=False`` means correction 0); NaN where N - correction <= 0."""
    if correction is not None and unbiased is not None:
        from ..errors import ArgumentError
        raise ArgumentError("var: give correction or unbiased, not both")
    if isinstance(dim, bool) and unbiased is None:  # var(True): torch's var(unbiased)
        dim, unbiased = None, dim
    dim = axis if dim is None else dim
    keepdim = keepdim or bool(keepdims)
    correction = ddof if correction is None else correction  # NumPy's name
    corr = correction if correction is not None else (1 if unbiased is None or unbiased else 0)
    axes = _axes(x, dim, "var")
    mean = sum(x, axis=axes, keepdims=True) * (1.0 / (_count(x.shape, axes) or 1))
    d = x - mean
    n = _count(x.shape, axes) - corr
    s = sum(d * d, axis=axes, keepdims=bool(keepdim))
    if n > 0:
        return s / n
    # torch divides by max(0, N - correction): inf, or NaN where the values agree (0 / 0).
    # The gradient is NaN where they agree (as torch's) and 0 elsewhere (torch's is +-inf,
    # which would make every later product warn).
    return where(s.detach() == 0, s * float("nan"), s * 0.0 + float("inf"))


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Standard deviation: sqrt(var) with the same keywords; its gradient is 0 where the
    values agree (torch's), not sqrt's infinite slope times 0."""
    return std_of_var(var(x, dim, unbiased, keepdim, correction=correction, axis=axis,
                          keepdims=keepdims, ddof=ddof))


def std_of_var(v):
    """sqrt(v), with gradient 0 where v is 0 (PyTorch's std backward masks it there)."""
    zero = v.detach() == 0
    return where(zero, 0.0, sqrt(where(zero, 1.0, v)))


def logsumexp(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """ln sum e^x over ``dim``, shifted by the (detached) max so nothing overflows; its
    gradient is the softmax."""
    dim = axis if dim is None else dim
    keepdim = keepdim or bool(keepdims)
    axes = _axes(x, dim, "logsumexp")
    if x.size == 0:
        return log(sum(exp(x), axis=axes, keepdims=bool(keepdim)))
    m = _max(x, axis=axes, keepdims=True).detach()
    m = where(abs(m) < float("inf"), m, 0.0)  # an infinite max would give inf - inf
    out = log(sum(exp(x - m), axis=axes, keepdims=True)) + m
    return out if keepdim else reshape(out, tuple(s for i, s in enumerate(out.shape)
                                                  if axes is not None and i not in axes))


# ---------------------------------------------------------------- scans

@op(name="cumsum", params=("axis", "reverse"), quiet=True)
def cumsum_op(xp, x, axis, reverse):
    """Running sum along axis (from the end when reverse)."""
    if x.dtype.kind == "u":  # torch: into int64 (NumPy: uint64)
        x = x.astype(np.int64)
    acc = _half_acc(x)
    if reverse:
        out = xp.flip(xp.cumsum(xp.flip(x, axis), axis=axis, dtype=acc), axis)
    else:
        out = xp.cumsum(x, axis=axis, dtype=acc)
    return out if acc is None else out.astype(x.dtype)  # (ints: NumPy's int64, as torch)


def _half_acc(x):
    """float16 scans accumulate in float32 and round each output back, as torch's (a
    float16 running sum of ones stalls at 2048)."""
    return np.float32 if x.dtype == np.float16 else None


cumsum_op.defvjp(lambda g, axis, reverse: apply(cumsum_op, g, params=(axis, not reverse)))


@op(name="cumprod", params=("axis",), save=("x", "out"), quiet=True)
def cumprod_op(xp, x, axis):
    """Running product along axis; d/dx_i = sum_{k >= i} g_k out_k / x_i."""
    if x.dtype.kind == "u":
        x = x.astype(np.int64)
    acc = _half_acc(x)
    out = xp.cumprod(x, axis=axis, dtype=acc)
    return out if acc is None else out.astype(x.dtype)


def _cumprod_grad(g, x, out, axis):
    """d/dx_i of sum_k g_k out_k, exact where x has zeros (as torch's): with z the first
    zero of a line, before z it is cumsum_rev(g * out) / x; at z it is cumsum_rev(g *
    cumprod(x with x_z = 1)); after z it is 0 (every product holds x_z)."""
    from .elementwise import cast
    zeros = apply(cumsum_op, cast(x == 0, x.dtype), params=(axis, False))
    before = zeros == 0
    first = (zeros == 1) & (x == 0)
    lead = apply(cumsum_op, g * out, params=(axis, True)) / where(before, x, 1.0)
    at = apply(cumsum_op, g * apply(cumprod_op, where(first, 1.0, x), params=(axis,)),
               params=(axis, True))
    return where(before, lead, where(first, at, 0.0))


cumprod_op.defvjp(_cumprod_grad)


def _scan_axis(x, dim, name):
    if x.ndim == 0:
        normalize_axis(dim, 0, name)
        return None
    return normalize_axis(dim, x.ndim, name)[0]


def cumsum(x, dim=None, *, dtype=None, axis=None):
    """Running sum along ``dim`` (``axis=`` too)."""
    dim = axis if dim is None else dim
    if dtype is not None:
        from .elementwise import cast
        x = cast(x, resolve_dtype(dtype, "cumsum"))
    axis = _scan_axis(x, dim, "cumsum")
    return x * 1 if axis is None else apply(cumsum_op, x, params=(axis, False))


def cumprod(x, dim=None, *, dtype=None, axis=None):
    """Running product along ``dim`` (the gradient divides by x: see docs/ops.md)."""
    dim = axis if dim is None else dim
    if dtype is not None:
        from .elementwise import cast
        x = cast(x, resolve_dtype(dtype, "cumprod"))
    axis = _scan_axis(x, dim, "cumprod")
    return x * 1 if axis is None else apply(cumprod_op, x, params=(axis,))


# ---------------------------------------------------------------- prod

@op(name="prod", params=("axes", "keepdims"), save=("x",))
def prod_op(xp, x, axes, keepdims):
    """Product of x over axes; the gradient (exact where x has zeros) is the product of all
    the other elements."""
    if x.dtype.kind == "u":  # torch: into int64 (NumPy: uint64)
        x = x.astype(np.int64)
    return xp.prod(x, axis=axes, keepdims=keepdims)


@prod_op.vjp
def _(g, x, axes, keepdims):
    nd = x.ndim
    red = tuple(range(nd)) if axes is None else axes
    keep = tuple(i for i in range(nd) if i not in red)
    perm = keep + red
    y = transpose(x, perm) if perm != tuple(range(nd)) else x
    kept_shape = tuple(x.shape[i] for i in keep)
    y = reshape(y, kept_shape + (_count(x.shape, red),))
    others = _exclusive_products(y)  # prod of every element but one, along the last axis
    g = reshape(g, kept_shape + (1,))
    gy = reshape(g * others, tuple(x.shape[i] for i in perm))
    inv = tuple(int(i) for i in np.argsort(perm))
    return (transpose(gy, inv) if perm != tuple(range(nd)) else gy,)


@op(name="exclusive_cumprod", params=("reverse",), save=("x", "out"))
def exclusive_cumprod(xp, x, reverse):
    """Products of the elements strictly before (after, when reverse) each one, along the
    last axis: no division, so zeros are exact."""
    if x.shape[-1] == 0:
        return xp.ones_like(x)
    if reverse:
        x = xp.flip(x, -1)
    ones = xp.ones(x.shape[:-1] + (1,), dtype=x.dtype)
    out = xp.cumprod(xp.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
    return xp.flip(out, -1) if reverse else out


@exclusive_cumprod.vjp
def _(g, x, out, reverse):
    # sum over the j after i (before, when reverse) of g_j out_j / x_i: out_j holds x_i once.
    # Only the second-order gradient of prod reads this; it divides by x, so it is 0 (not
    # exact) where x is 0 -- first-order gradients of prod never divide.
    go = g * out
    rest = apply(cumsum_op, go, params=(x.ndim - 1, not reverse)) - go
    nz = x != 0
    return (where(nz, rest / where(nz, x, 1.0), 0.0),)


def _exclusive_products(y):
    return apply(exclusive_cumprod, y, params=(False,)) * \
        apply(exclusive_cumprod, y, params=(True,))


def prod(x, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Product over ``dim`` (None: all)."""
    dim = axis if dim is None else dim
    keepdim = keepdim or bool(keepdims)
    if dtype is not None:
        from .elementwise import cast
        x = cast(x, resolve_dtype(dtype, "prod"))
    axes = _axes(x, dim, "prod")
    return apply(prod_op, x, params=(axes, bool(keepdim)))


__all__ = ["var", "std", "prod", "logsumexp", "cumsum", "cumprod"]
TENSOR_METHODS = {"var": var, "std": std, "prod": prod, "logsumexp": logsumexp,
                  "cumsum": cumsum, "cumprod": cumprod}
