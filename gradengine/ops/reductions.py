"""Reductions: sum, mean, max, min over None, an int, a negative int or a tuple of axes;
argmax/argmin, any/all (no gradient). Float16 accumulates in float32."""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from ..backend import resolve_dtype
from ..core.op import apply, op
from ..core.tensor import Tensor
from .shape import broadcast_to, normalize_axis, reshape


def _keep_shape(shape, axes):
    """``shape`` with the reduced axes kept as size 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _expand(g, shape, axes):
    """The upstream gradient of a reduction broadcast back to the input's shape."""
    return broadcast_to(reshape(g, _keep_shape(shape, axes)), shape)


def _acc(x):
    return np.float32 if x.dtype == np.float16 else None


@op(name="sum", params=("axes", "keepdims", "dtype"), quiet=True)
def sum_op(xp, x, axes, keepdims, dtype):
    """sum of x over axes."""
    if dtype is not None:
        return xp.sum(x, axis=axes, keepdims=keepdims, dtype=dtype)
    if x.dtype.kind == "u":  # torch sums uint8 into int64 (NumPy: uint64)
        return xp.sum(x, axis=axes, keepdims=keepdims, dtype=np.int64)
    acc = _acc(x)
    s = xp.sum(x, axis=axes, keepdims=keepdims, dtype=acc)
    return s.astype(x.dtype) if acc is not None else s


sum_op.defvjp(lambda g, x_shape, axes: _expand(g, x_shape, axes))


def _count(shape, axes):
    n = 1
    for i, s in enumerate(shape):
        if axes is None or i in axes:
            n *= s
    return n


@op(name="mean", params=("axes", "keepdims"), quiet=True)
def mean_op(xp, x, axes, keepdims):
    """mean of x over axes."""
    n = _count(x.shape, axes)
    acc = _acc(x)
    s = xp.sum(x, axis=axes, keepdims=keepdims, dtype=acc)
    m = s / n if n else s * xp.nan
    return m.astype(x.dtype) if acc is not None else m


mean_op.defvjp(lambda g, x_shape, axes: _expand(g, x_shape, axes) *
               (1.0 / (_count(x_shape, axes) or 1)))


def _extreme(name, reduce):
    def fwd(xp, x, axes, keepdims):
        return getattr(xp, reduce)(x, axis=axes, keepdims=keepdims)
    fwd.__name__ = name
    fwd.__doc__ = f"{reduce} of x over axes; ties share the gradient equally, a NaN takes it."
    o = op(name=name, params=("axes", "keepdims"), save=("x", "out"))(fwd)
    o.defvjp(lambda g, x, out, axes: _expand(g, x.shape, axes) *
             apply(winners, x, out, params=(axes,)))
    return o


@op(params=("axes",), differentiable=False, quiet=True)
def winners(xp, x, out, axes):
    """1/k at each of the k extreme elements along axes (the NaNs, when there are any),
    0 elsewhere."""
    ref = out.reshape(_keep_shape(x.shape, axes))
    mask = ((x == ref) | ((x != x) & (ref != ref))).astype(x.dtype)
    mask /= mask.sum(axis=axes, keepdims=True)
    return mask


max_op = _extreme("max", "amax")
min_op = _extreme("min", "amin")

_OPS = {"sum": sum_op, "mean": mean_op, "max": max_op, "min": min_op}


def _empty_extreme(name, x, axis):
    """torch's error for an extreme over an empty dim (an IndexError; a ValueError too)."""
    from ..errors import IndexingError
    where = "" if axis is None else f" along dim {axis}"
    raise IndexingError(f"{name}: zero-size tensor of shape {tuple(x.shape)} has no "
                        f"{name.removeprefix('arg')}imum{where}: expected the reduction dim "
                        f"to have non-zero size")


def _reduce(name, x, axis, keepdims, *extra):
    if isinstance(axis, (tuple, list)) and len(axis) == 0:
        axis = None  # torch: dim=() or [] reduces over every dim
    axes = normalize_axis(axis, x.ndim, name)
    if name in ("max", "min") and x.size == 0:
        if axes is None or builtins.any(x.shape[a] == 0 for a in axes):
            _empty_extreme(name, x, axis)
    if axes == () and x.ndim == 0:
        axes = None
    return apply(_OPS[name], x, params=(axes, bool(keepdims)) + extra)


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):  # noqa: A001
    """Sum over ``axis`` (None: all; int, negative int or tuple). ``dim``/``keepdim`` are
    accepted as PyTorch spells them; ``dtype`` sets the result's (and accumulator's) dtype."""
    acc = None
    if dtype is not None:  # cast first, as torch: int -> float64 stays float64
        from .elementwise import cast
        x = cast(x, resolve_dtype(dtype, "sum"))
        # an integer dtype asked for is also the accumulator's (torch: uint8 wraps)
        acc = x.dtype if x.dtype.kind in "iu" else None
    return _reduce("sum", x, axis if dim is None else dim, keepdims or bool(keepdim), acc)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
    """Mean over ``axis``; ``dtype`` casts first (torch refuses an integer mean without
    it)."""
    if dtype is not None:
        from .elementwise import cast
        x = cast(x, resolve_dtype(dtype, "mean"))
    if x.dtype.kind not in "fc":
        from ..errors import DTypeError
        raise DTypeError(f"mean(): could not infer output dtype. Input dtype must be either "
                         f"a floating point or complex dtype. Got: {x.dtype.name} (pass "
                         f"dtype=, e.g. mean(dtype=float32), or cast first)")
    return _reduce("mean", x, axis if dim is None else dim, keepdims or bool(keepdim))


MinMax = namedtuple("MinMax", ["values", "indices"])  # torch.return_types.max / min


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    """Maximum over ``axis`` (NumPy's form: the values; tied maxima share the gradient
    equally). PyTorch's keyword form ``max(dim=d)`` with one int ``d`` gives PyTorch's
    ``(values, indices)``, the gradient going to the index taken."""
    if isinstance(axis, Tensor):  # torch.max(a, b): the elementwise maximum
        from .elementwise import maximum
        return apply(maximum, x, axis)
    if type(dim) is int:
        return _with_indices(argmax, "max", x, dim, keepdims or bool(keepdim))
    return _reduce("max", x, axis if dim is None else dim, keepdims or bool(keepdim))


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    """Minimum over ``axis``; ``min(dim=d)`` gives ``(values, indices)`` as :func:`max`."""
    if isinstance(axis, Tensor):  # torch.min(a, b): the elementwise minimum
        from .elementwise import minimum
        return apply(minimum, x, axis)
    if type(dim) is int:
        return _with_indices(argmin, "min", x, dim, keepdims or bool(keepdim))
    return _reduce("min", x, axis if dim is None else dim, keepdims or bool(keepdim))


def _with_indices(arg_op, name, x, dim, keepdim):
    """torch.max(x, dim=d): (the values at the indices, the indices of the first extreme,
    a NaN counting as the extreme)."""
    from .manipulation import take_along_dim
    if x.ndim == 0:  # dim 0 or -1 of a 0-d tensor is the tensor itself (PyTorch)
        normalize_axis(dim, 1, name)
        return MinMax(reshape(x, ()), _arg(arg_op, "arg" + name, x, None, False))
    idx = _arg(arg_op, "arg" + name, x, dim, True)
    values = take_along_dim(x, idx, dim)
    if not keepdim:
        d = normalize_axis(dim, x.ndim, name)[0]
        shape = x.shape[:d] + x.shape[d + 1:]
        values, idx = reshape(values, shape), reshape(idx, shape)
    return MinMax(values, idx)


@op(params=("axis", "keepdims"), differentiable=False)
def argmax(xp, x, axis, keepdims):
    """The index of the maximum (flattened when axis is None)."""
    return xp.argmax(x, axis=axis, keepdims=keepdims)


@op(params=("axis", "keepdims"), differentiable=False)
def argmin(xp, x, axis, keepdims):
    """The index of the minimum (flattened when axis is None)."""
    return xp.argmin(x, axis=axis, keepdims=keepdims)


@op(name="any", params=("axes", "keepdims"), differentiable=False)
def any_op(xp, x, axes, keepdims):
    """Whether any element is true (nonzero) over axes."""
    return xp.any(x, axis=axes, keepdims=keepdims)


@op(name="all", params=("axes", "keepdims"), differentiable=False)
def all_op(xp, x, axes, keepdims):
    """Whether all elements are true (nonzero) over axes."""
    return xp.all(x, axis=axes, keepdims=keepdims)


def _arg(o, name, x, axis, keepdims):
    if axis is not None:
        axis = normalize_axis(axis, x.ndim, name)
        axis = axis[0] if axis else None
    if x.size == 0 and (axis is None or x.shape[axis] == 0):
        _empty_extreme(name, x, axis)
    return apply(o, x, params=(axis, bool(keepdims)))


def argmax_(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Index of the maximum along ``axis`` (of the flattened tensor when None)."""
    return _arg(argmax, "argmax", x, axis if dim is None else dim, keepdims or bool(keepdim))


def argmin_(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Index of the minimum along ``axis``."""
    return _arg(argmin, "argmin", x, axis if dim is None else dim, keepdims or bool(keepdim))


def any(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    """A bool tensor: whether any element is nonzero (over ``axis``)."""
    # an empty tuple of dims reduces nothing (torch's rule for any / all)
    axes = normalize_axis(axis if dim is None else dim, x.ndim, "any")
    return apply(any_op, x, params=(axes, keepdims or bool(keepdim)))


def all(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    """A bool tensor: whether every element is nonzero (over ``axis``)."""
    # an empty tuple of dims reduces nothing (torch's rule for any / all)
    axes = normalize_axis(axis if dim is None else dim, x.ndim, "all")
    return apply(all_op, x, params=(axes, keepdims or bool(keepdim)))
