"""Shape ops: reshape, transpose, broadcast_to / sum_to, indexing, concatenate, stack."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import apply, apply1, op
from ..tensor import Tensor
from ..errors import ShapeError


def normalize_axis(axis, ndim, name):
    """A tuple of non-negative axes (or None), with a ShapeError naming the op."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not isinstance(ax, (int, np.integer)) or not -ndim <= ax < max(ndim, 1):
            raise ShapeError(f"{name}: axis {ax} is out of range for a tensor of ndim {ndim}")
        out.append(int(ax) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ShapeError(f"{name}: repeated axis in {axis}")
    return tuple(out)


# ---------------------------------------------------------------- reshape / transpose

@op(saves_inputs=False)
def reshape_op(xp, x, shape):
    """x viewed with a new shape of the same size."""
    return x.reshape(shape)


reshape_op.name = "reshape"


@reshape_op.defvjp
def _(g, node):
    return (reshape(g, node.args[0].shape),)


def reshape(x, *shape):
    """``x`` with a new shape (one entry may be -1); varargs or one tuple, as in NumPy."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) \
        else tuple(shape)
    if shape == x.shape:
        return x if not x.requires_grad else apply(reshape_op, (x,), (shape,))
    size = x.size
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
    return apply(reshape_op, (x,), (shape,))


@op(saves_inputs=False)
def transpose_op(xp, x, axes):
    """x with its axes permuted."""
    return x.transpose(axes)


transpose_op.name = "transpose"


@transpose_op.defvjp
def _(g, node):
    axes = node.params[0]
    inverse = tuple(int(i) for i in np.argsort(axes))
    return (apply(transpose_op, (g,), (inverse,)),)


def transpose(x, *axes):
    """Permute axes (all reversed by default); varargs or one tuple, as in NumPy."""
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
    return apply(transpose_op, (x,), (axes,))


def swapaxes(x, a1, a2):
    axes = list(range(x.ndim))
    a1, a2 = normalize_axis((a1, a2), x.ndim, "swapaxes") if a1 % max(x.ndim, 1) != \
        a2 % max(x.ndim, 1) else (a1 % x.ndim, a2 % x.ndim)
    axes[a1], axes[a2] = axes[a2], axes[a1]
    return apply(transpose_op, (x,), (tuple(axes),))


def matrix_transpose(x):
    """``x`` with its last two axes swapped: the transpose in every matmul VJP."""
    nd = x.ndim
    axes = (1, 0) if nd == 2 else tuple(range(nd - 2)) + (nd - 1, nd - 2)
    return apply1(transpose_op, x, axes)


def flatten(x):
    return reshape(x, -1)


def squeeze(x, axis=None):
    shape = x.shape
    if axis is None:
        return reshape(x, tuple(s for s in shape if s != 1))
    axes = normalize_axis(axis, x.ndim, "squeeze")
    for ax in axes:
        if shape[ax] != 1:
            raise ShapeError(f"squeeze: axis {ax} of shape {shape} has size {shape[ax]}, not 1")
    return reshape(x, tuple(s for i, s in enumerate(shape) if i not in axes))


def unsqueeze(x, axis):
    nd = x.ndim + 1
    ax = normalize_axis(axis, nd, "unsqueeze")[0]
    shape = list(x.shape)
    shape.insert(ax, 1)
    return reshape(x, tuple(shape))


# ---------------------------------------------------------------- broadcasting

@op(saves_inputs=False)
def broadcast_to_op(xp, x, shape):
    """x broadcast to shape (NumPy rules)."""
    return xp.broadcast_to(x, shape)


broadcast_to_op.name = "broadcast_to"


@broadcast_to_op.defvjp
def _(g, node):
    return (sum_to(g, node.args[0].shape),)


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape``; the gradient is summed back."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        np.broadcast_shapes(x.shape, shape)
        if len(shape) < x.ndim:
            raise ValueError
        if np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"broadcast_to: cannot broadcast a tensor of shape {x.shape} to "
                         f"shape {shape}") from None
    return apply(broadcast_to_op, (x,), (shape,))


@op(saves_inputs=False)
def sum_to_op(xp, x, shape):
    """x summed over its broadcast axes down to shape: the one unbroadcasting rule."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and x.shape[i + lead] != 1)
    out = x.sum(axis=axes, keepdims=True) if axes else x
    return out.reshape(shape) if lead else out


sum_to_op.name = "sum_to"


@sum_to_op.defvjp
def _(g, node):
    return (broadcast_to(g, node.args[0].shape),)


def sum_to(x, shape):
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return apply(sum_to_op, (x,), (shape,))


# ---------------------------------------------------------------- indexing

def _normalize_index(idx, device):
    """Tensors and lists inside an index become arrays of the tensor's backend."""
    xp = backend.xp_of(device)
    items = idx if isinstance(idx, tuple) else (idx,)
    out = []
    advanced = False
    for it in items:
        if isinstance(it, Tensor):
            it = backend.to_device_array(it.data, device)  # a CUDA index for a CPU tensor too
            advanced = advanced or it.ndim > 0 or it.dtype == bool
        elif isinstance(it, (list, np.ndarray)) or (device != "cpu" and hasattr(it, "__cuda_array_interface__")):
            it = xp.asarray(it)
            advanced = True
        elif isinstance(it, (bool, np.bool_)):
            advanced = True
        out.append(it)
    return (tuple(out) if isinstance(idx, tuple) else out[0]), advanced


@op(saves_inputs=False)
def getitem_op(xp, x, idx, advanced):
    """x[idx] (basic and advanced NumPy indexing)."""
    return x[idx]


getitem_op.name = "getitem"


@getitem_op.defvjp
def _(g, node):
    x = node.args[0]
    idx, advanced = node.params
    return (apply(scatter_add, (g,), (x.shape, idx, advanced)),)


@op(saves_inputs=False)
def scatter_add(xp, g, shape, idx, advanced):
    """zeros(shape) with g added at idx; repeated indices accumulate."""
    out = xp.zeros(shape, dtype=g.dtype)
    if not advanced:
        out[idx] = g
    elif xp is np:
        np.add.at(out, idx, g)
    else:
        import cupyx
        cupyx.scatter_add(out, idx, g)
    return out


@scatter_add.defvjp
def _(g, node):
    idx, advanced = node.params[1:]
    return (apply(getitem_op, (g,), (idx, advanced)),)


def getitem(x, idx):
    """``x[idx]``; IndexError names the op and the shape."""
    idx, advanced = _normalize_index(idx, x.device)
    try:
        return apply(getitem_op, (x,), (idx, advanced))
    except (IndexError, ShapeError) as e:
        raise IndexError(f"getitem: {e} (tensor of shape {x.shape})") from None


@op(saves_inputs=False)
def index_put(xp, x, v, idx, advanced):
    """A copy of x with x[idx] = v (the out-of-place form of setitem)."""
    out = x.copy()
    out[idx] = v
    return out


@index_put.defvjp
def _(g, node):
    idx, advanced = node.params
    gx = apply(index_put, (g, 0.0), (idx, advanced)) if node.needs[0] else None
    gv = apply(getitem_op, (g,), (idx, advanced)) if node.needs[1] else None
    return gx, gv


# ---------------------------------------------------------------- joining

@op(saves_inputs=False)
def concatenate_op(xp, *arrays_and_axis):
    """Join arrays along an existing axis."""
    *arrays, axis = arrays_and_axis
    return xp.concatenate(arrays, axis=axis)


concatenate_op.name = "concatenate"


@concatenate_op.defvjp
def _(g, node):
    axis = node.params[0]
    grads, start = [], 0
    for t in node.args:
        n = t.shape[axis]
        sl = (slice(None),) * axis + (slice(start, start + n),)
        grads.append(apply(getitem_op, (g,), (sl, False)))
        start += n
    return tuple(grads)


def _as_tensors(tensors, name):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty sequence of tensors")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    return tensors


def concatenate(tensors, axis=0):
    """Join tensors along ``axis``; shapes must agree elsewhere."""
    tensors = _as_tensors(tensors, "concatenate")
    nd = tensors[0].ndim
    if nd == 0:
        raise ShapeError("concatenate: zero-dimensional tensors cannot be concatenated")
    ax = normalize_axis(axis, nd, "concatenate")[0]
    shapes = [t.shape for t in tensors]
    for s in shapes:
        if len(s) != nd or s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:]:
            raise ShapeError(f"concatenate: shapes {shapes} differ outside axis {ax}")
    return apply(concatenate_op, tuple(tensors), (ax,))


@op(saves_inputs=False)
def stack_op(xp, *arrays_and_axis):
    """Join arrays along a new axis."""
    *arrays, axis = arrays_and_axis
    return xp.stack(arrays, axis=axis)


stack_op.name = "stack"


@stack_op.defvjp
def _(g, node):
    axis = node.params[0]
    return tuple(apply(getitem_op, (g,), ((slice(None),) * axis + (i,), False))
                 for i in range(len(node.args)))


def stack(tensors, axis=0):
    """Stack same-shape tensors along a new ``axis``."""
    tensors = _as_tensors(tensors, "stack")
    shapes = [t.shape for t in tensors]
    if any(s != shapes[0] for s in shapes):
        raise ShapeError(f"stack: all tensors must have the same shape, got {shapes}")
    ax = normalize_axis(axis, tensors[0].ndim + 1, "stack")[0]
    return apply(stack_op, tuple(tensors), (ax,))
