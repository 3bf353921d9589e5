"""Reductions: sum, mean, max, min over None, an int, a negative int or a tuple of axes."""

from __future__ import annotations

from ..autograd import apply, compute, op
from .shape import broadcast_to, normalize_axis, reshape


def _keep_shape(shape, axes):
    """``shape`` with the reduced axes kept as size 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _expand(g, x, axes):
    """The upstream gradient of a reduction broadcast back to the input's shape."""
    return broadcast_to(reshape(g, _keep_shape(x.shape, axes)), x.shape)


@op(saves_inputs=False)
def sum_op(xp, x, axes, keepdims):
    """sum of x over axes."""
    return xp.sum(x, axis=axes, keepdims=keepdims)


sum_op.name = "sum"


@sum_op.defvjp
def _(g, node):
    return (_expand(g, node.args[0], node.params[0]),)


@op(saves_inputs=False)
def mean_op(xp, x, axes, keepdims):
    """mean of x over axes."""
    n = _count(x.shape, axes)
    s = xp.sum(x, axis=axes, keepdims=keepdims)
    return s / n if n else s * xp.nan


mean_op.name = "mean"


def _count(shape, axes):
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


@mean_op.defvjp
def _(g, node):
    x = node.args[0]
    n = _count(x.shape, node.params[0])
    return (_expand(g, x, node.params[0]) * (1.0 / (n or 1)),)


def _extreme_fwd(reduce):
    def fwd(xp, x, axes, keepdims):
        return getattr(xp, reduce)(x, axis=axes, keepdims=keepdims)
    fwd.__doc__ = f"{reduce} of x over axes; ties share the gradient equally."
    return fwd


def _extreme_vjp(g, node):
    x = node.args[0]
    axes = node.params[0]
    return (_expand(g, x, axes) * compute(_winners, x, node.out_data, axes),)


def _winners(xp, x, out, axes):
    """1/k at each of the k extreme elements along axes, 0 elsewhere."""
    mask = (x == out.reshape(_keep_shape(x.shape, axes))).astype(x.dtype)
    mask /= mask.sum(axis=axes, keepdims=True)
    return mask


max_op = op(name="max")(_extreme_fwd("amax"))
min_op = op(name="min")(_extreme_fwd("amin"))
max_op.defvjp(_extreme_vjp)
min_op.defvjp(_extreme_vjp)

_OPS = {"sum": sum_op, "mean": mean_op, "max": max_op, "min": min_op}


def _reduce(name, x, axis, keepdims):
    axes = normalize_axis(axis, x.ndim, name)
    if name in ("max", "min") and x.size == 0:
        if axes is None or any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"{name}: zero-size tensor of shape {x.shape} has no {name}imum "
                             f"along axis {axis}")
    return apply(_OPS[name], (x,), (axes, bool(keepdims)))


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001 - F.sum
    """Sum over ``axis`` (None: all; int, negative int or tuple). ``dim``/``keepdim`` are
    accepted as PyTorch spells them."""
    return _reduce("sum", x, axis if dim is None else dim, keepdims or bool(keepdim))


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Mean over ``axis``."""
    return _reduce("mean", x, axis if dim is None else dim, keepdims or bool(keepdim))


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient equally."""
    return _reduce("max", x, axis if dim is None else dim, keepdims or bool(keepdim))


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient equally."""
    return _reduce("min", x, axis if dim is None else dim, keepdims or bool(keepdim))
