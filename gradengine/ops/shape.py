"""Shape ops: reshape, transpose, squeeze/unsqueeze, broadcast_to, concatenate, stack.

reshape, transpose and broadcast_to return views where NumPy does; a view shares its
base's version counter.
"""

from __future__ import annotations

import numpy as np

from ..backend import resolve_dtype
from ..core.broadcast import broadcast as broadcast_to
from ..core.broadcast import sum_to  # noqa: F401 - the unbroadcasting rule, public here
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import AxisError, ShapeError  # noqa: F401 - AxisError is public here too


def normalize_axis(axis, ndim, name):
    """A tuple of non-negative axes (or None), with an error naming the op. A 0-d tensor
    accepts axis 0 and -1 (PyTorch's rule): they name the tensor itself."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not isinstance(ax, (int, np.integer)) or not -max(ndim, 1) <= ax < max(ndim, 1):
            lim = max(ndim, 1)  # (ours, then PyTorch's words)
            raise AxisError(f"{name}: axis {ax} is out of range for a tensor of ndim {ndim}: "
                            f"Dimension out of range (expected to be in range of [{-lim}, "
                            f"{lim - 1}], but got {ax})")
        out.append(int(ax) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ShapeError(f"{name}: repeated axis in {axis}")
    if ndim == 0:
        return ()
    return tuple(out)


def _shape_arg(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) \
        else tuple(shape)


@op(name="reshape", params=("shape",), view=True)
def reshape_op(xp, x, shape):
    """x with a new shape of the same size."""
    return x.reshape(shape)


reshape_op.defvjp(lambda g, x_shape: reshape(g, x_shape))


def reshape(x, *shape):
    """``x`` with a new shape (one entry may be -1); varargs or one tuple, as in NumPy."""
    shape = _shape_arg(shape)
    if shape == x.shape:
        return apply(reshape_op, x, params=(shape,))
    size = x.data.size
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    bad = shape.count(-1) > 1 or any((not isinstance(s, (int, np.integer))) or s < -1
                                     for s in shape)
    if bad or (-1 not in shape and known != size) or (-1 in shape and (
            known == 0 or size % known)):
        raise ShapeError(f"reshape: cannot reshape a tensor of size {size} with shape "
                         f"{x.shape} into shape {shape}")
    return apply(reshape_op, x, params=(shape,))


@op(name="view_dtype", params=("dtype",), differentiable=False, view=True)
def view_dtype_op(xp, x, dtype):
    """x's bytes read as another dtype (a view: writes go through)."""
    return x.view(dtype)


def _is_dtype(a):
    if isinstance(a, (int, np.integer, tuple, list)):
        return False
    return isinstance(a, (str, np.dtype, type)) or str(a).startswith("torch.")


def view(x, *shape, dtype=None):
    """torch's ``t.view``: ``view(*shape)`` reshapes; ``view(dtype)`` reinterprets the
    bytes as ``dtype`` (a bitcast sharing x's memory; with another element size the last
    dimension scales, and it must be contiguous). A bitcast carries no gradient."""
    if dtype is None and len(shape) == 1 and _is_dtype(shape[0]):
        dtype = shape[0]
    if dtype is None:
        return reshape(x, *shape)
    dt = resolve_dtype(dtype, "view")
    old = x.dtype.itemsize
    if dt.itemsize != old:
        arr = x.data
        if x.ndim == 0 or (x.shape[-1] * old) % dt.itemsize or (
                x.shape[-1] > 1 and arr.strides[-1] != old):
            raise ShapeError(f"view: a tensor of shape {x.shape} and dtype {x.dtype.name} "
                             f"cannot be viewed as {dt.name}: the last dimension must be "
                             f"contiguous and its {x.shape[-1] if x.ndim else 0} * {old} "
                             f"bytes a multiple of {dt.itemsize}")
    return apply(view_dtype_op, x, params=(dt,))


@op(name="transpose", params=("axes",), view=True)
def transpose_op(xp, x, axes):
    """x with its axes permuted."""
    return x.transpose(axes)


transpose_op.defvjp(lambda g, axes: apply(
    transpose_op, g, params=(tuple(int(i) for i in np.argsort(axes)),)))


def transpose(x, *axes):
    """Permute axes (all reversed by default); one tuple, or varargs, as in NumPy. Two int
    arguments swap those two axes, as ``torch.transpose(x, 0, 1)`` (on a 2-d tensor NumPy
    would read ``(0, 1)`` as the identity; a tuple ``(0, 1)`` still is)."""
    if len(axes) == 2 and x.ndim != 2 or len(axes) == 2 and not isinstance(axes[0], tuple):
        if isinstance(axes[0], (int, np.integer)) and isinstance(axes[1], (int, np.integer)):
            return swapaxes(x, *axes)
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    nd = x.ndim
    if not axes:
        axes = tuple(range(nd - 1, -1, -1))
    else:
        axes = tuple(axes)
        norm = tuple(a % nd if isinstance(a, (int, np.integer)) and -nd <= a < nd else None
                     for a in axes)
        if len(axes) != nd or None in norm or sorted(norm) != list(range(nd)):
            raise ShapeError(f"transpose: axes {axes} are not a permutation of the axes of a "
                             f"tensor of shape {x.shape}")
        axes = norm
    return apply(transpose_op, x, params=(axes,))


def swapaxes(x, a1, a2):
    """``x`` with axes a1 and a2 exchanged."""
    nd = x.ndim
    n1 = normalize_axis(a1, nd, "swapaxes")
    n2 = normalize_axis(a2, nd, "swapaxes")
    axes = list(range(nd))
    if nd:
        i, j = n1[0], n2[0]
        axes[i], axes[j] = axes[j], axes[i]
    return apply(transpose_op, x, params=(tuple(axes),))


def matrix_transpose(x):
    """``x`` with its last two axes swapped: the transpose in every matmul VJP."""
    nd = x.ndim
    axes = (1, 0) if nd == 2 else tuple(range(nd - 2)) + (nd - 1, nd - 2)
    return apply(transpose_op, x, params=(axes,))


def flatten(x, start_dim=0, end_dim=-1):
    """Dimensions start_dim..end_dim merged into one (PyTorch's flatten)."""
    nd = x.ndim
    if nd == 0:  # dims 0 / -1 only, as PyTorch
        normalize_axis(start_dim, 0, "flatten")
        normalize_axis(end_dim, 0, "flatten")
        return reshape(x, 1)
    s = normalize_axis(start_dim, nd, "flatten")[0]
    e = normalize_axis(end_dim, nd, "flatten")[0]
    if s > e:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                         f"tensor of shape {x.shape}")
    shape = x.shape
    return reshape(x, shape[:s] + (-1 if 0 not in shape[s:e + 1] else 0,) + shape[e + 1:])


def squeeze(x, axis=None, *, dim=None):
    """Size-1 dimensions removed (all, or those of ``axis``; others are kept, as in
    PyTorch)."""
    axis = axis if dim is None else dim
    shape = x.shape
    if axis is None:
        return reshape(x, tuple(s for s in shape if s != 1))
    axes = normalize_axis(axis, x.ndim, "squeeze")
    return reshape(x, tuple(s for i, s in enumerate(shape) if i not in axes or s != 1))


def unsqueeze(x, axis=None, *, dim=None):
    """A size-1 dimension inserted at ``axis``."""
    axis = axis if dim is None else dim
    nd = x.ndim + 1
    ax = normalize_axis(axis, nd, "unsqueeze")[0]
    shape = list(x.shape)
    shape.insert(ax, 1)
    return reshape(x, tuple(shape))


def expand(x, *shape):
    """``x`` broadcast to ``shape`` (-1 keeps a dimension), as torch's expand."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s
                  for i, s in enumerate(shape))
    return broadcast_to(x, shape)


# ---------------------------------------------------------------- joining

@op(name="concatenate", params=("axis", "sizes"))
def concatenate_op(xp, *arrays_and_params):
    """Join arrays along an existing axis (sizes: each input's extent along it)."""
    *arrays, axis, sizes = arrays_and_params
    return xp.concatenate(_promoted(arrays), axis=axis)


def _promoted(arrays):
    """The arrays in PyTorch's common dtype (int with float32 gives float32, not NumPy's
    float64)."""
    dt = arrays[0].dtype
    for a in arrays:
        if a.dtype != dt:
            from .elementwise import result_dtype
            dt = result_dtype(*arrays)
            return [a.astype(dt) if a.dtype != dt else a for a in arrays]
    return arrays


@concatenate_op.vjp
def _(g, axis, sizes):
    from .indexing import basic_slice
    grads, start = [], 0
    for n in sizes:
        grads.append(basic_slice(g, (slice(None),) * axis + (slice(start, start + n),)))
        start += n
    return tuple(grads)


@op(name="stack", params=("axis", "count"))
def stack_op(xp, *arrays_and_params):
    """Join arrays along a new axis."""
    *arrays, axis, count = arrays_and_params
    return xp.stack(_promoted(arrays), axis=axis)


@stack_op.vjp
def _(g, axis, count):
    from .indexing import basic_slice
    return tuple(basic_slice(g, (slice(None),) * axis + (i,)) for i in range(count))


def _as_tensors(tensors, name):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty sequence of tensors")
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [t if isinstance(t, Tensor) else
            Tensor(t, device=like.device if like is not None else None) for t in tensors]


def concatenate(tensors, axis=0, *, dim=None):
    """Join tensors along ``axis``; shapes must agree elsewhere."""
    tensors = _as_tensors(tensors, "concatenate")
    axis = axis if dim is None else dim
    if any(t.shape == (0,) for t in tensors) and any(t.ndim > 1 for t in tensors):
        # PyTorch's legacy rule: an empty 1-d tensor beside tensors of more dimensions is
        # skipped (``torch.cat([torch.zeros(0), x])`` is x); the dtype still promotes
        from .elementwise import result_dtype
        dt = result_dtype(*[t.data for t in tensors])
        tensors = [t if dt is None or t.dtype == dt else t.astype(dt)
                   for t in tensors if t.shape != (0,)]
    nd = tensors[0].ndim
    if nd == 0:
        raise ShapeError("concatenate: zero-dimensional tensors cannot be concatenated")
    ax = normalize_axis(axis, nd, "concatenate")[0]
    shapes = [t.shape for t in tensors]
    for s in shapes:
        if len(s) != nd or s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:]:
            raise ShapeError(f"concatenate: shapes {shapes} differ outside axis {ax}")
    return apply(concatenate_op, *tensors, params=(ax, tuple(s[ax] for s in shapes)))


def stack(tensors, axis=0, *, dim=None):
    """Stack same-shape tensors along a new ``axis``."""
    tensors = _as_tensors(tensors, "stack")
    axis = axis if dim is None else dim
    shapes = [t.shape for t in tensors]
    if any(s != shapes[0] for s in shapes):
        raise ShapeError(f"stack: all tensors must have the same shape, got {shapes}")
    ax = normalize_axis(axis, tensors[0].ndim + 1, "stack")[0]
    return apply(stack_op, *tensors, params=(ax, len(tensors)))
