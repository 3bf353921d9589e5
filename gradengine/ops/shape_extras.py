"""Op family: PyTorch's remaining shape, indexing and scatter functions, the in-place
shape methods and the top-level spellings of the linear-algebra functions.

Almost everything here is a composite of differentiable ops (getitem, index_put,
view_put, scatter_add, gather, where, the triangular solves), so gradients of every order
come from the parts; the few array steps of their own are ops: the segment reductions of
``scatter_reduce`` (amax, amin, prod), LU's pivots and the index arithmetic that has no
gradient (``unravel_index``, ``masked_scatter``'s positions). PyTorch's names, argument
order, defaults and return types. See docs/from-pytorch.md.
"""

from __future__ import annotations

import itertools
import math as _math
from collections import namedtuple

import numpy as np

from ..backend import resolve_dtype
from ..core.gradmode import _mode
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, AxisError, DTypeError, GraphError, IndexingError, ShapeError
from . import composite as _c
from . import indexing as _ix
from . import inplace_fn
from .creation import eye, zeros
from .elementwise import cast, where
from .factorizations import _lu_factor, lu_unpack
from .linalg import matmul
from .manipulation import (
    _zeros,
    chunk,
    gather,
    pad,
    scatter_add,
    scatter_write,
    split,
    tril,
    triu,
)
from .scans import cumprod, cumsum
from .shape import (
    broadcast_to,
    concatenate,
    matrix_transpose,
    normalize_axis,
    reshape,
    squeeze,
    sum_to,
    swapaxes,
    unsqueeze,
)

_Svd = namedtuple("svd", ["U", "S", "V"])
_Qr = namedtuple("qr", ["Q", "R"])
_Slogdet = namedtuple("slogdet", ["sign", "logabsdet"])
_TriSolve = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    return Tensor(x, device=like.device if isinstance(like, Tensor) else None)


def _ax(x, dim, name):
    return normalize_axis(dim, max(x.ndim, 1), name)[0]


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


# ---------------------------------------------------------------- at least n-d, stacking

def _atleast(n, name, tensors):
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    seq = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) \
        else tensors
    out = []
    for t in seq:
        t = _t(t)
        nd = t.ndim
        if nd >= n:
            out.append(t)
        elif n == 3 and nd == 1:
            out.append(reshape(t, (1, t.shape[0], 1)))
        elif n == 3 and nd == 2:
            out.append(reshape(t, t.shape + (1,)))
        else:
            out.append(reshape(t, (1,) * (n - nd) + t.shape))
    return out[0] if one else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dimension (a view); one tensor in, one out, else a
    tuple (torch.atleast_1d)."""
    return _atleast(1, "atleast_1d", tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dimensions: a 1-d ``(n,)`` becomes ``(1, n)``."""
    return _atleast(2, "atleast_2d", tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dimensions: ``(n,)`` becomes ``(1, n, 1)`` and
    ``(m, n)`` becomes ``(m, n, 1)``, as torch (and NumPy)."""
    return _atleast(3, "atleast_3d", tensors)


def dstack(tensors):
    """The tensors made at least 3-d, joined along dim 2 (depth)."""
    return concatenate(atleast_3d(list(tensors)), 2)


def row_stack(tensors):
    """torch.row_stack: an alias of vstack."""
    return _c.vstack(tensors)


def concat(tensors, dim=0):
    """torch.concat: an alias of cat."""
    return concatenate(tensors, dim)


# ---------------------------------------------------------------- splitting

def _tensor_split_sizes(n, sections_or_indices, name):
    if isinstance(sections_or_indices, Tensor):
        v = sections_or_indices
        if v.dtype.kind not in "iu" or v.ndim > 1:
            raise DTypeError(f"{name}: a tensor of indices or sections must be a 0-d or 1-d "
                             f"integer tensor, got dtype {v.dtype.name} and shape {v.shape}")
        sections_or_indices = v.item() if v.ndim == 0 else [int(i) for i in v.tolist()]
    if _is_int(sections_or_indices):
        s = int(sections_or_indices)
        if s <= 0:
            raise ArgumentError(f"{name}: number of sections must be larger than 0, got {s}")
        q, r = divmod(n, s)
        return [q + 1] * r + [q] * (s - r)
    bounds = [0]
    for i in sections_or_indices:
        i = int(i)
        i = max(0, n + i) if i < 0 else min(i, n)
        bounds.append(max(i, bounds[-1]))
    bounds.append(n)
    return [b - a for a, b in zip(bounds, bounds[1:])]


def _pieces(x, ax, sizes):
    out, start = [], 0
    for s in sizes:
        out.append(_ix.basic_slice(x, (slice(None),) * ax + (slice(start, start + s),)))
        start += s
    return tuple(out)


def tensor_split(x, indices_or_sections, dim=0):
    """Views of ``x`` along ``dim``: ``sections`` near-equal pieces (the first ``n %
    sections`` one longer), or the pieces between the listed indices (torch.tensor_split).

    Raises:
        ArgumentError: sections below 1. ShapeError: a 0-d ``x``.
    """
    if x.ndim == 0:
        raise ShapeError("tensor_split: expected at least a 1-dimensional tensor, got a 0-d "
                         "tensor")
    ax = _ax(x, dim, "tensor_split")
    return _pieces(x, ax, _tensor_split_sizes(x.shape[ax], indices_or_sections,
                                              "tensor_split"))


def _nsplit(x, indices_or_sections, ax, need, name):
    if x.ndim < need:
        raise ShapeError(f"torch.{name} requires a tensor with at least {need} dimension, "
                         f"but got a tensor with {x.ndim} dimensions!")
    if _is_int(indices_or_sections):
        s = int(indices_or_sections)
        n = x.shape[ax]
        if s == 0 or n % s:
            raise ShapeError(f"torch.{name} attempted to split along dimension {ax}, but the "
                             f"size of the dimension {n} is not divisible by the split_size "
                             f"{s}!")
    return tensor_split(x, indices_or_sections, ax)


def hsplit(x, indices_or_sections):
    """tensor_split along dim 1 (dim 0 for a 1-d tensor); sections must divide evenly."""
    return _nsplit(x, indices_or_sections, 0 if x.ndim == 1 else 1, 1, "hsplit")


def vsplit(x, indices_or_sections):
    """tensor_split along dim 0 of a tensor of at least 2 dimensions."""
    return _nsplit(x, indices_or_sections, 0, 2, "vsplit")


def dsplit(x, indices_or_sections):
    """tensor_split along dim 2 of a tensor of at least 3 dimensions."""
    return _nsplit(x, indices_or_sections, 2, 3, "dsplit")


def split_with_sizes(x, split_sizes, dim=0):
    """split with a list of sizes (they must add up to the dimension)."""
    return split(x, list(split_sizes), dim)


unsafe_split = split
unsafe_chunk = chunk


def unsafe_split_with_sizes(x, split_sizes, dim=0):
    return split_with_sizes(x, split_sizes, dim)


def swapdims(x, dim0, dim1):
    """torch.swapdims: an alias of swapaxes / transpose(dim0, dim1)."""
    return swapaxes(x, dim0, dim1)


def narrow_copy(x, dim, start, length):
    """narrow, as a new tensor rather than a view."""
    return _copy(_c.narrow(x, dim, start, length))


def _copy(t):
    from . import clone
    return clone(t)


def select(x, dim, index):
    """The slice of ``x`` at ``index`` along ``dim`` (that dimension removed): a view.

    Raises:
        IndexingError: ``index`` out of range (an IndexError, as torch's).
    """
    if x.ndim == 0:
        raise AxisError("select() cannot be applied to a 0-dim tensor.")
    ax = _ax(x, dim, "select")
    n = x.shape[ax]
    if not -n <= int(index) < n:
        raise IndexingError(f"select(): index {index} out of range for tensor of size "
                            f"{list(x.shape)} at dimension {dim}")
    return _ix.basic_slice(x, (slice(None),) * ax + (int(index) % n,))


# ---------------------------------------------------------------- diagonals, triangles

def diagflat(x, offset=0):
    """The flattened ``x`` as the ``offset`` diagonal of a square matrix."""
    return _c.diag(reshape(x, (-1,)), offset)


def _tri_indices(row, col, offset, dtype, device, lower, name):
    for v, what in ((row, "row"), (col, "col")):
        if not _is_int(v) or v < 0:
            raise ArgumentError(f"{name}: {what} must be a non-negative integer, got {v!r}")
    dt = resolve_dtype(dtype or "int64", name)
    if dt.kind not in "iu":
        raise DTypeError(f"{name}: dtype must be an integer dtype, got {dt.name}")
    fn = np.tril_indices if lower else np.triu_indices
    r, c = fn(row, offset, col) if row and col else (np.zeros(0, int), np.zeros(0, int))
    return Tensor(np.stack([r, c]).astype(dt), device=device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the lower triangle of a row x col matrix, row by row (int64)."""
    return _tri_indices(row, col, offset, dtype, device, True, "tril_indices")


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the upper triangle of a row x col matrix, row by row."""
    return _tri_indices(row, col, offset, dtype, device, False, "triu_indices")


def block_diag(*tensors):
    """The tensors (0-d, 1-d as a row, or 2-d) on the diagonal of one matrix, zeros
    elsewhere, in their common dtype (torch.block_diag).

    Raises:
        ShapeError: a tensor of more than 2 dimensions.
    """
    if not tensors:
        return zeros((1, 0))
    mats = []
    for i, t in enumerate(tensors):
        t = _t(t)
        if t.ndim > 2:
            raise ShapeError(f"block_diag: Input tensors must have 2 or fewer dimensions. "
                             f"Input {i} has {t.ndim} dimensions")
        mats.append(reshape(t, (1,) * (2 - t.ndim) + t.shape))
    from .elementwise import result_dtype
    dt = result_dtype(*(m.data for m in mats)) or mats[0].dtype
    cols = builtins_sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        m = cast(m, dt)
        rows.append(pad(m, (left, cols - left - m.shape[1])) if m.dtype.kind == "f"
                    else _int_pad(m, left, cols))
        left += m.shape[1]
    return concatenate(rows, 0)


builtins_sum = sum


def _int_pad(m, left, cols):
    out = zeros((m.shape[0], cols), dtype=m.dtype, device=m.device)
    out[:, left:left + m.shape[1]] = m
    return out


def combinations(input, r=2, with_replacement=False):  # noqa: A002 - torch's name
    """The length-``r`` combinations of a 1-d tensor's elements as the rows of an (N, r)
    tensor, in itertools' order (with_replacement: itertools.combinations_with_replacement).

    Raises:
        ShapeError: ``input`` not 1-d. ArgumentError: a negative ``r``.
    """
    if input.ndim != 1:
        raise ShapeError(f"combinations: Expect a 1D vector, but got shape {list(input.shape)}")
    if not _is_int(r) or r < 0:
        raise ArgumentError(f"combinations: Expect a non-negative number, but got {r!r}")
    if r == 0:
        return zeros(0, dtype=input.dtype, device=input.device)
    fn = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.array(list(fn(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[Tensor(idx, device=input.device)]


# ---------------------------------------------------------------- shapes and predicates

def broadcast_shapes(*shapes):
    """The shape the given shapes broadcast to, as a tuple (torch returns a torch.Size, a
    tuple too).

    Raises:
        ShapeError: shapes that do not broadcast.
    """
    norm = [(s,) if _is_int(s) else tuple(s) for s in shapes]
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*norm))
    except ValueError:
        raise ShapeError(f"broadcast_shapes: shapes {norm} cannot be broadcast together") \
            from None


@op(name="unravel_index", params=("shape",), differentiable=False)
def unravel_index_op(xp, indices, shape):
    """The coordinates of flat ``indices`` in ``shape`` (wrapped modulo its size, as
    torch), stacked on a last axis (int64)."""
    total = _math.prod(shape)
    flat = indices.astype(np.int64) % total if total else indices.astype(np.int64)
    out = []
    for s in reversed(shape):
        out.append(flat % s)
        flat = flat // s
    return xp.stack(out[::-1], axis=-1) if out else xp.zeros(indices.shape + (0,), np.int64)


def unravel_index(indices, shape):
    """torch.unravel_index: a tuple of int64 tensors, one per dimension of ``shape``.

    Raises:
        DTypeError: float indices. ArgumentError: a negative size in ``shape``.
    """
    indices = _t(indices)
    if indices.dtype.kind not in "iu":
        raise DTypeError(f"unravel_index: expected 'indices' to be integer dtype, but got "
                         f"{indices.dtype.name}")
    shape = (int(shape),) if _is_int(shape) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ArgumentError(f"unravel_index: 'shape' cannot have negative values, got {shape}")
    if 0 in shape and indices.numel():
        raise IndexingError(f"unravel_index: cannot unravel indices into the empty shape "
                            f"{shape}")
    out = apply(unravel_index_op, indices, params=(shape,))
    return tuple(out[..., i] for i in range(len(shape)))


def sum_to_size(x, *size):
    """``x`` summed to ``size`` (Tensor.sum_to_size), which must broadcast to x's shape.

    Raises:
        ShapeError: ``size`` not expandable to x's shape.
    """
    size = tuple(size[0]) if len(size) == 1 and not _is_int(size[0]) else tuple(size)
    try:
        ok = np.broadcast_shapes(size, x.shape) == x.shape
    except ValueError:
        ok = False
    if not ok or len(size) > x.ndim:
        raise ShapeError(f"sum_to_size: size {list(size)} is not expandable to size "
                         f"{list(x.shape)}")
    return sum_to(x, size)


def is_same_size(a, b) -> bool:
    """Whether the two tensors have the same shape."""
    return tuple(a.shape) == tuple(b.shape)


def is_nonzero(x) -> bool:
    """The truth of a one-element tensor.

    Raises:
        ArgumentError: a tensor of no or of several elements (a RuntimeError, as torch's).
    """
    if x.numel() != 1:
        raise ArgumentError(f"is_nonzero: Boolean value of Tensor with "
                            f"{'no values' if x.numel() == 0 else 'more than one value'} is "
                            f"ambiguous (shape {x.shape})")
    return bool(x.item())


def ndimension(x) -> int:
    """Tensor.ndimension: the number of dimensions."""
    return x.ndim


# ---------------------------------------------------------------- index copy / put

def _index_along(x, ax, index, name):
    index = _t(index, x)
    if index.dtype.kind not in "iu":
        raise DTypeError(f"{name}: index must be an integer tensor, got {index.dtype.name}")
    if index.ndim > 1:
        raise ShapeError(f"{name}: index must be 0-d or 1-d, got shape {index.shape}")
    return reshape(index, (-1,))


def _template(x, idx):
    return _ix.split_index(idx, x.device)


def index_copy(x, dim, index, source):
    """``x`` with the slices at ``index`` (1-d) along ``dim`` replaced by ``source``'s
    (torch.index_copy; repeated indices: one of the writes wins).

    Raises:
        ShapeError: ``source`` not of x's shape with len(index) along ``dim``.
    """
    source = _t(source, x)
    ax = _ax(x, dim, "index_copy")
    index = _index_along(x, ax, index, "index_copy")
    if x.ndim == 0:
        return where(Tensor(np.asarray(index.numel() > 0), device=x.device),
                     reshape(source, ()), x)
    want = x.shape[:ax] + (index.shape[0],) + x.shape[ax + 1:]
    if tuple(source.shape) != want and source.numel() != _math.prod(want):
        raise ShapeError(f"index_copy: source of shape {source.shape} does not fit index of "
                         f"length {index.shape[0]} along dim {dim} of a tensor of shape "
                         f"{x.shape}")
    if source.dtype != x.dtype:
        raise DTypeError(f"index_copy: self ({x.dtype.name}) and source "
                         f"({source.dtype.name}) must have the same dtype")
    template, tensors = _template(x, (slice(None),) * ax + (index,))
    return apply(_ix.index_put, x, reshape(source, want), *tensors, params=(template,))


def _index_tuple(x, indices, name):
    if isinstance(indices, Tensor) or not isinstance(indices, (tuple, list)):
        raise DTypeError(f"{name}: indices must be a tuple of tensors, got "
                         f"{type(indices).__name__}")
    return tuple(i if i is None else _t(i, x) for i in indices)


def index_put(x, indices, values, accumulate=False):
    """``x`` with ``x[indices] = values`` (``accumulate``: added, repeated indices summing),
    as torch.index_put; ``indices`` is a tuple of index tensors (integer or bool)."""
    idx = _index_tuple(x, indices, "index_put")
    values = _t(values, x)
    if values.dtype != x.dtype:
        values = cast(values, x.dtype)
    template, tensors = _template(x, idx)
    try:
        if not accumulate:
            return apply(_ix.index_put, x, values, *tensors, params=(template,))
        shape = apply(_ix.getitem_op, x.detach(), *tensors, params=(template,)).shape
        v = broadcast_to(values, shape)
        return x + apply(_ix.index_grad, v, *tensors, params=(tuple(x.shape), template))
    except (ShapeError, DTypeError):
        raise
    except IndexError as e:
        raise IndexingError(f"index_put: {e} (tensor of shape {x.shape})") from None


@op(name="masked_positions", differentiable=False, params=("limit",))
def masked_positions(xp, mask, limit):
    """For each True of the (flattened) mask, its rank among the Trues (0 elsewhere):
    where masked_scatter reads its source."""
    flat = mask.reshape(-1).astype(np.int64)
    pos = xp.cumsum(flat) - 1
    if xp is np and flat.size and int(pos[-1]) + 1 > limit:
        raise ShapeError(f"masked_scatter: the mask selects {int(pos[-1]) + 1} elements but "
                         f"the source has only {limit}")
    return xp.where(flat.astype(bool), pos, 0).reshape(mask.shape)


def masked_scatter(x, mask, source):
    """``x`` with the positions where ``mask`` (bool, broadcast to x's shape) is True
    filled, in order, by the elements of ``source`` (torch.masked_scatter).

    Raises:
        DTypeError: a mask that is not bool, or a source of another dtype. ShapeError: a
        source with fewer elements than the mask selects.
    """
    mask = _t(mask, x)
    source = _t(source, x)
    if mask.dtype != np.bool_:
        raise DTypeError(f"masked_scatter: mask must be a bool tensor, got {mask.dtype.name}")
    if source.dtype != x.dtype:
        raise DTypeError(f"masked_scatter: expected self and source to have same dtypes but "
                         f"got {x.dtype.name} and {source.dtype.name}")
    try:
        shape = np.broadcast_shapes(x.shape, mask.shape)
    except ValueError:
        raise ShapeError(f"masked_scatter: mask of shape {mask.shape} does not broadcast to "
                         f"a tensor of shape {x.shape}") from None
    if shape != tuple(x.shape):
        raise ShapeError(f"masked_scatter: mask of shape {mask.shape} does not broadcast to "
                         f"a tensor of shape {x.shape}")
    mask = broadcast_to(mask, shape)
    pos = apply(masked_positions, mask, params=(int(source.numel()),))
    flat = reshape(source, (-1,))
    if flat.shape[0] == 0:
        return x * 1 if x.dtype.kind == "f" else _copy(x)
    return where(mask, flat[pos], x)


def put(x, index, source, accumulate=False):
    """``x`` with its elements at the flat ``index`` set to ``source``'s (``accumulate``:
    added), as torch.put; negative indices count from the end."""
    index = _t(index, x)
    if index.dtype.kind not in "iu":
        raise DTypeError(f"put: index must be an integer tensor, got {index.dtype.name}")
    source = _t(source, x)
    if source.numel() != index.numel():
        raise ShapeError(f"put: source ({source.shape}) and index ({index.shape}) should "
                         "have the same number of elements")
    n = x.numel()
    if index.numel() and n == 0:
        raise IndexingError(f"put: index out of range for an empty tensor of shape {x.shape}")
    flat = reshape(x, (-1,))
    out = index_put(flat, (reshape(index, (-1,)),), reshape(source, (-1,)), accumulate)
    return reshape(out, x.shape)


# ---------------------------------------------------------------- scatter_reduce

def _ufunc_at(xp, ufunc_name):
    if xp is np:
        return lambda out, idx, src: getattr(np, ufunc_name).at(out, idx, src)
    import cupyx
    return getattr(cupyx, {"maximum": "scatter_max", "minimum": "scatter_min"}[ufunc_name])


@op(name="scatter_reduce", params=("axis", "reduce"), save=("x", "index", "src", "out"))
def scatter_reduce_op(xp, x, index, src, axis, reduce):
    """x with src combined in at index along axis by max, min or product (x included)."""
    from .manipulation import _check_index, _open_index
    _check_index(xp, x.shape, index, axis, "scatter_reduce")
    out = x.copy()
    src = src[tuple(slice(0, s) for s in index.shape)]
    where_ = _open_index(xp, index, axis)
    if reduce == "prod":
        if xp is np:
            np.multiply.at(out, where_, src)
        else:  # CuPy has no scatter-multiply: sign, zeros and log-magnitudes by scatter_add
            import cupyx
            neg, zero = xp.zeros(x.shape, np.int64), xp.zeros(x.shape, np.int64)
            logs = xp.zeros(x.shape, x.dtype)
            cupyx.scatter_add(neg, where_, (src < 0).astype(np.int64))
            cupyx.scatter_add(zero, where_, (src == 0).astype(np.int64))
            cupyx.scatter_add(logs, where_, xp.log(xp.where(src == 0, 1, xp.abs(src))))
            sign = xp.where(neg % 2 == 1, -1, 1).astype(x.dtype)
            out = (out * xp.exp(logs) * sign * (zero == 0)).astype(x.dtype)
    else:
        _ufunc_at(xp, "maximum" if reduce == "amax" else "minimum")(out, where_, src)
    return out


@scatter_reduce_op.vjp
def _(g, x, index, src, out, axis, reduce):
    src_shape = src.shape
    src = src[tuple(slice(0, s) for s in index.shape)] if src.shape != index.shape else src
    if reduce == "prod":
        return _prod_grads(g, x, index, src, src_shape, axis)
    # amax / amin: the gradient shared evenly by every element equal to the result
    out_at = gather(out, axis, index)
    hit_x = cast(x == out, g.dtype)
    hit_s = cast(src == out_at, g.dtype)
    count = scatter_add(hit_x, axis, index, hit_s)
    share = g / count
    return share * hit_x, None, _grow(gather(share, axis, index) * hit_s, src_shape)


def _grow(gs, shape):
    from .manipulation import _pad_zeros
    return gs if tuple(gs.shape) == tuple(shape) else apply(_pad_zeros, gs,
                                                           params=(tuple(shape),))


def _prod_grads(g, x, index, src, src_shape, axis):
    """The product of the others in each group: zero-safe, as torch's."""
    zx, zs = x == 0, src == 0
    ones_x, ones_s = where(zx, 1.0, x), where(zs, 1.0, src)
    nonzero = apply(scatter_reduce_op, ones_x, index, ones_s, params=(axis, "prod"))
    zeros_ = scatter_add(cast(zx, g.dtype), axis, index, cast(zs, g.dtype))

    def rule(v, zv, nz, nzeros):
        return where(zv, where(nzeros == 1, nz, 0.0), where(nzeros == 0, nz / where(
            zv, 1.0, v), 0.0))
    gx = g * rule(x, zx, nonzero, zeros_)
    gs = gather(g, axis, index) * rule(src, zs, gather(nonzero, axis, index),
                                       gather(zeros_, axis, index))
    return gx, None, _grow(gs, src_shape)


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(x, dim, index, src, reduce, *, include_self=True):
    """``x`` with ``src`` reduced in at ``index`` along ``dim`` by ``reduce`` ("sum",
    "prod", "mean", "amax", "amin"; ``include_self=False``: the positions written take no
    part of x), as torch.scatter_reduce. The gradient of amax / amin is shared evenly by
    the tied elements, that of prod is the product of the others (zero-safe), as torch's.

    Raises:
        ArgumentError: another reduce. ShapeError / DTypeError: index or src that do not
        fit, as scatter_add.
    """
    if reduce not in _REDUCES:
        raise ArgumentError(f"scatter_reduce: reduce argument must be either sum, prod, mean, "
                            f"amax or amin, got {reduce!r}")
    index = _t(index, x)
    src = _t(src, x)
    if index.dtype.kind not in "iu":
        raise DTypeError(f"scatter_reduce: index must be an integer tensor, got "
                         f"{index.dtype.name}")
    if src.dtype != x.dtype:
        raise DTypeError(f"scatter_reduce: expected self and src to have the same dtype, got "
                         f"{x.dtype.name} and {src.dtype.name}")
    if x.ndim == 0:  # torch treats a 0-d tensor as one element along dim 0
        out = scatter_reduce(reshape(x, (1,)), 0, reshape(index, (-1,)), reshape(src, (-1,)),
                             reduce, include_self=include_self)
        return reshape(out, ())
    ax = _ax(x, dim, "scatter_reduce")
    if index.ndim != x.ndim or src.ndim != x.ndim or any(
            i > s for i, s in zip(index.shape, src.shape)) or any(
            i > s for d, (i, s) in enumerate(zip(index.shape, x.shape)) if d != ax):
        raise ShapeError(f"scatter_reduce: index of shape {index.shape} and src of shape "
                         f"{src.shape} do not fit a tensor of shape {x.shape} along dim {dim}")
    count_dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.int64)
    ones = apply(_ones_of, index, params=(count_dt,))
    hits = scatter_add(apply(_zeros, ones, params=(tuple(x.shape),)), ax, index, ones)
    hit = hits > 0
    base = x
    if not include_self:
        base = where(hit, _identity(x, reduce), x)
    if reduce in ("sum", "mean"):
        total = scatter_add(base, ax, index, src)
        if reduce == "sum":
            return total
        count = hits + (1 if include_self else 0)
        count = where(count == 0, 1, count)
        if x.dtype.kind == "f":
            return total / cast(count, x.dtype)
        return apply(_floor_div, total, count)
    return apply(scatter_reduce_op, base, index, src, params=(ax, reduce))


@op(name="ones_of", params=("dtype",), differentiable=False)
def _ones_of(xp, like, dtype):
    """ones of like's shape in dtype."""
    return xp.ones(like.shape, dtype=dtype)


@op(name="floor_divide", differentiable=False)
def _floor_div(xp, a, b):
    """a // b in a's integer dtype."""
    return (a // b).astype(a.dtype)


def _identity(x, reduce):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if x.dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    info = np.iinfo(x.dtype) if x.dtype.kind in "iu" else None
    if info is None:
        raise DTypeError(f"scatter_reduce: {reduce} is not supported for dtype {x.dtype.name}")
    return int(info.min if reduce == "amax" else info.max)


def index_reduce(x, dim, index, source, reduce, *, include_self=True):
    """``x`` with the slices of ``source`` reduced in at ``index`` (1-d) along ``dim`` by
    ``reduce`` ("prod", "mean", "amax", "amin"), as torch.index_reduce."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise ArgumentError(f"index_reduce: reduce argument must be either prod, mean, amax "
                            f"or amin, got {reduce!r}")
    source = _t(source, x)
    ax = _ax(x, dim, "index_reduce")
    index = _index_along(x, ax, index, "index_reduce")
    if source.ndim != x.ndim or source.shape[ax] != index.shape[0] if x.ndim else False:
        raise ShapeError(f"index_reduce: source of shape {source.shape} does not fit index of "
                         f"length {index.shape[0]} along dim {dim} of a tensor of shape "
                         f"{x.shape}")
    shape = [1] * max(source.ndim, 1)
    shape[ax] = index.shape[0]
    idx = broadcast_to(reshape(index, tuple(shape)), source.shape or (index.shape[0],))
    return scatter_reduce(x, ax, idx, source, reduce, include_self=include_self)


# ---------------------------------------------------------------- *_scatter (view_put)

def _view_put(x, src, view, vparams, want, name):
    from . import view_put
    src = _t(src, x)
    if tuple(src.shape) != tuple(want):
        raise ShapeError(f"{name}: src of shape {src.shape} does not fit the region of shape "
                         f"{tuple(want)} it is written to (tensor of shape {x.shape})")
    if src.dtype != x.dtype:
        src = cast(src, x.dtype)
    return apply(view_put, x, src, params=(view, vparams))


def diagonal_scatter(x, src, offset=0, dim1=0, dim2=1):
    """``x`` with its diagonal (``offset``, ``dim1``, ``dim2``, as torch.diagonal) set to
    ``src``."""
    d = _c.diagonal(x.detach(), offset, dim1, dim2)
    d1, d2 = (normalize_axis(v, x.ndim, "diagonal_scatter")[0] for v in (dim1, dim2))
    return _view_put(x, src, _c.diagonal_op, (int(offset), d1, d2), d.shape,
                     "diagonal_scatter")


def select_scatter(x, src, dim, index):
    """``x`` with the slice at ``index`` along ``dim`` set to ``src``."""
    want = select(x.detach(), dim, index).shape
    ax = _ax(x, dim, "select_scatter")
    idx = (slice(None),) * ax + (int(index) % x.shape[ax],)
    return _view_put(x, src, _ix.getitem_op, (idx,), want, "select_scatter")


def slice_scatter(x, src, dim=0, start=None, end=None, step=1):
    """``x`` with the slice start:end:step along ``dim`` set to ``src``."""
    if step is None:
        step = 1
    if not _is_int(step) or step <= 0:
        raise ArgumentError(f"slice_scatter: slice step must be positive, got {step!r}")
    ax = _ax(x, dim, "slice_scatter")
    idx = (slice(None),) * ax + (slice(start, end, step),)
    want = _ix.basic_slice(x.detach(), idx).shape
    return _view_put(x, src, _ix.getitem_op, (idx,), want, "slice_scatter")


# ---------------------------------------------------------------- in-place forms

def _inplace(name, fn):
    def method(self, *args, **kwargs):
        return inplace_fn(self, lambda t: fn(t, *args, **kwargs), name)
    method.__name__ = name
    return method


def index_copy_(self, dim, index, source):
    return inplace_fn(self, lambda t: index_copy(t, dim, index, source), "index_copy_")


def index_put_(self, indices, values, accumulate=False):
    return inplace_fn(self, lambda t: index_put(t, indices, values, accumulate), "index_put_")


def fill_diagonal_(self, fill_value, wrap=False):
    """The main diagonal filled with ``fill_value`` in place (all dimensions equal beyond
    2-d; a tall matrix's diagonal restarts after N+1 rows when ``wrap``), as torch.

    Raises:
        ShapeError: fewer than 2 dimensions, or unequal ones beyond 2-d.
    """
    nd = self.ndim
    if nd < 2:
        raise ShapeError(f"fill_diagonal_: dimensions must be larger than 1, got shape "
                         f"{self.shape}")
    if nd > 2 and len(set(self.shape)) != 1:
        raise ShapeError(f"fill_diagonal_: all dimensions of input must be of equal length, "
                         f"got shape {self.shape}")
    mask = np.zeros(self.shape, bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    m = Tensor(mask, device=self.device)
    return inplace_fn(self, lambda t: where(m, fill_value, t), "fill_diagonal_")


def _comparison_(name, fn):
    def method(self, other):
        return inplace_fn(self, lambda t: cast(fn(t, other), self.dtype), name)
    method.__name__ = name
    return method


# ---------------------------------------------------------------- in-place shape changes

def _metadata_(self, fn, name):
    """``self`` given the shape ``fn`` makes of it, in place: the same memory seen anew
    (as torch's t_ / squeeze_ / transpose_ ...), its history that of the view, its version
    bumped. A leaf that requires grad refuses, as torch's."""
    record = _mode.enabled and self._rg
    if record and self.node is None:
        raise GraphError(f"{name}: a leaf Variable that requires grad (shape {self.shape}) "
                         "is being used in an in-place operation")
    from . import _alias, _rebind
    old = _alias(self, False)
    old._vc = self._counter()
    old_view = getattr(self, "_view", None)
    if old_view is not None:
        old._view = old_view
    out = fn(old)
    self.data = out.data
    self._version += 1
    view = getattr(out, "_view", None)
    self._view = (old, view[1], view[2]) if view is not None and old_view is not None \
        else None
    if record:
        _rebind(self, out)
    return self


def t_(self):
    if self.ndim > 2:
        raise ShapeError(f"t_: expects a tensor with <= 2 dimensions, but self is "
                         f"{self.ndim}D")
    return _metadata_(self, lambda t: t if t.ndim < 2 else swapaxes(t, 0, 1), "t_")


def squeeze_(self, dim=None):
    return _metadata_(self, lambda t: squeeze(t, dim), "squeeze_")


def unsqueeze_(self, dim):
    return _metadata_(self, lambda t: unsqueeze(t, dim), "unsqueeze_")


def transpose_(self, dim0, dim1):
    return _metadata_(self, lambda t: swapaxes(t, dim0, dim1), "transpose_")


def swapaxes_(self, axis0, axis1):
    return _metadata_(self, lambda t: swapaxes(t, axis0, axis1), "swapaxes_")


def swapdims_(self, dim0, dim1):
    return _metadata_(self, lambda t: swapaxes(t, dim0, dim1), "swapdims_")


@op(name="resize", params=("shape",), differentiable=False)
def resize_op(xp, x, shape):
    """x's elements in order, cut or zero-extended to the size of shape."""
    n = _math.prod(shape)
    flat = x.reshape(-1)
    if n <= flat.size:
        return flat[:n].reshape(shape)
    out = xp.zeros(n, dtype=x.dtype)
    out[:flat.size] = flat
    return out.reshape(shape)


def resize_(self, *sizes, memory_format=None):
    """``self`` reshaped in place to ``sizes``: its elements in order, cut, or extended
    (torch leaves the new elements uninitialized; here they are 0). Same size: a view of
    the same memory; otherwise new memory (views made before keep the old).

    Raises:
        GraphError: a tensor that requires grad (as torch's "cannot resize variables that
        require grad"). ShapeError: a negative size.
    """
    shape = tuple(sizes[0]) if len(sizes) == 1 and not _is_int(sizes[0]) else tuple(sizes)
    if any(not _is_int(s) or s < 0 for s in shape):
        raise ShapeError(f"resize_: sizes must be non-negative integers, got {shape}")
    if self._rg:
        raise GraphError(f"resize_: cannot resize variables that require grad (shape "
                         f"{self.shape})")
    if _math.prod(shape) == self.numel() and self.data.flags.c_contiguous:
        self.data = self.data.reshape(shape)
    else:
        self.data = apply(resize_op, self, params=(shape,)).data
        self._view = None
    self._version += 1
    return self


def resize_as_(self, other, memory_format=None):
    return resize_(self, tuple(other.shape))


def as_strided(x, size, stride, storage_offset=0):
    """The elements of (contiguous) ``x`` at ``storage_offset + sum(i_k * stride[k])`` for
    every index ``i`` of ``size``: a new tensor (torch returns a view sharing memory; a
    write into this one does not reach ``x``); differentiable, overlapping elements
    accumulating their gradients.

    Raises:
        ShapeError: size and stride of different lengths, or elements beyond x's storage.
    """
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    offset = int(storage_offset or 0)
    if len(size) != len(stride):
        raise ShapeError(f"as_strided: mismatch in length of strides and shape: {size} and "
                         f"{stride}")
    if any(s < 0 for s in size) or any(s < 0 for s in stride) or offset < 0:
        raise ShapeError(f"as_strided: negative sizes, strides or offset: {size}, {stride}, "
                         f"{offset}")
    if 0 in size:
        idx = np.zeros(size, np.int64)
    else:
        idx = np.full(size, offset, np.int64)
        for d, (n, s) in enumerate(zip(size, stride)):
            shape = [1] * len(size)
            shape[d] = n
            idx = idx + (np.arange(n) * s).reshape(shape)
        need = int(idx.max()) + 1
        if need > x.numel():
            raise ShapeError(f"as_strided: sizes {list(size)}, strides {list(stride)} and "
                             f"storage offset {offset} require a storage of {need} elements, "
                             f"out of bounds for a tensor of {x.numel()}")
    return reshape(x, (-1,))[Tensor(idx, device=x.device)]


# ---------------------------------------------------------------- linear algebra spellings

def scatter(x, dim, index, src=None, *, value=None, reduce=None):
    """x with ``src`` (or the scalar ``value``) written at ``index`` along dim
    (torch.scatter): of repeated targets the last write wins; ``reduce`` "add" /
    "multiply" accumulates them instead."""
    index = _t(index, x)
    if src is None:
        if value is None:
            raise ArgumentError("scatter: give src or value")
        src = value
    if not isinstance(src, Tensor):
        src = broadcast_to(Tensor(np.asarray(src, x.dtype), device=x.device), index.shape)
    if reduce == "add":
        return scatter_add(x, dim, index, src)
    if reduce == "multiply":
        return scatter_reduce(x, dim, index, src, "prod")
    if reduce is not None:
        raise ArgumentError(f"scatter: reduce must be None, 'add' or 'multiply', got {reduce!r}")
    return scatter_write(x, dim, index, src)


def _la():
    from .. import linalg
    return linalg


def det(a):
    """torch.det: ge.linalg.det."""
    return _la().det(a)


def slogdet(a):
    """torch.slogdet: (sign, logabsdet), as ge.linalg.slogdet."""
    s, v = _la().slogdet(a)
    return _Slogdet(s, v)


def logdet(a):
    """log(det(a)): NaN where the determinant is negative, -inf where it is 0, as torch;
    the gradient is that of logabsdet."""
    sign, v = _la().slogdet(a)
    return where(sign > 0, v, where(sign == 0, -np.inf, np.nan))


def inverse(a):
    """torch.inverse: ge.linalg.inv."""
    return _la().inv(a)


def svd(a, some=True, compute_uv=True):
    """torch.svd: (U, S, V) with ``A = U diag(S) V^T`` (V, not Vh); ``some``: the reduced
    form; ``compute_uv=False``: U and V zero-filled (m, m) and (n, n), as torch.
    Differentiable through S only, as ge.linalg.svd."""
    la = _la()
    if not compute_uv:
        m, n = a.shape[-2:]
        z = a.shape[:-2]
        return _Svd(zeros(z + (m, m), dtype=a.dtype, device=a.device), la.svdvals(a),
                    zeros(z + (n, n), dtype=a.dtype, device=a.device))
    u, s, vh = la.svd(a, full_matrices=not some)
    return _Svd(u, s, matrix_transpose(vh))


def qr(a, some=True):
    """torch.qr: (Q, R), reduced when ``some``, as ge.linalg.qr (differentiable as it is)."""
    q, r = _la().qr(a, mode="reduced" if some else "complete")
    return _Qr(q, r)


def cholesky(a, upper=False):
    """torch.cholesky: ge.linalg.cholesky (lower L, or upper U = L^T)."""
    return _la().cholesky(a, upper=upper)


def cholesky_solve(b, u, upper=False):
    """X with A X = B, A = L L^T given its Cholesky factor ``u`` (lower; upper with A =
    U^T U when ``upper``). Differentiable in both; the factor's gradient is that of
    (L L^T)^-1 B over the whole matrix ``u`` (its unread triangle too), as torch's."""
    if u.ndim < 2 or b.ndim < 2:
        raise ShapeError(f"cholesky_solve: expects matrices, got shapes {b.shape} and "
                         f"{u.shape}")
    if u.shape[-1] != u.shape[-2] or b.shape[-2] != u.shape[-1]:
        raise ShapeError(f"cholesky_solve: a square factor with as many rows as B is needed, "
                         f"got shapes {b.shape} and {u.shape}")
    a = matmul(matrix_transpose(u), u) if upper else matmul(u, matrix_transpose(u))
    return _la().solve(a, b)


def cholesky_inverse(u, upper=False):
    """The inverse of A = L L^T (or U^T U) from its Cholesky factor."""
    n = u.shape[-1]
    e = broadcast_to(eye(n, dtype=u.dtype, device=u.device), u.shape)
    return cholesky_solve(e, u, upper)


def lu(a, pivot=True, get_infos=False):
    """torch.lu: (LU, pivots) or (LU, pivots, infos): the packed factors of A = P L U
    (L unit lower, below the diagonal; U on and above it) and LAPACK's 1-based int32
    pivots; differentiable in LU (the elimination is recomputed in Tensor ops with the
    pivots fixed).

    Raises:
        ArgumentError: ``pivot=False`` (torch has no LU without pivoting on the CPU either).
    """
    if not pivot:
        raise ArgumentError("lu: LU without pivoting is not implemented on the CPU")
    packed, piv, info = _lu_factor(a, "lu")
    return (packed, piv, info) if get_infos else (packed, piv)


def lu_solve(b, LU_data, LU_pivots):  # noqa: N803
    """X with A X = B from torch.lu's factors of A: P^T B, then the two triangular
    solves; differentiable in B and in LU_data."""
    la = _la()
    p, low, up = lu_unpack(LU_data, LU_pivots)
    y = matmul(matrix_transpose(p), b)
    y = la.solve_triangular(low, y, upper=False, unitriangular=True)
    return la.solve_triangular(up, y, upper=True)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):  # noqa: N803
    """torch.triangular_solve: (solution, cloned_coefficient) with A X = B (A^T X = B when
    ``transpose``), A triangular; differentiable."""
    la = _la()
    a = A
    if transpose:
        a, upper = matrix_transpose(triu(A) if upper else tril(A)), not upper
    x = la.solve_triangular(a, b, upper=upper, unitriangular=unitriangular)
    return _TriSolve(x, _copy(A))


def pinverse(a, rcond=1e-15):
    """torch.pinverse: ge.linalg.pinv with rtol = rcond."""
    return _la().pinv(a, rtol=rcond)


def matrix_exp(a):
    """torch.matrix_exp: ge.linalg.matrix_exp."""
    return _la().matrix_exp(a)


def matrix_power(a, n):
    """torch.matrix_power: ge.linalg.matrix_power."""
    return _la().matrix_power(a, n)


def matrix_rank(a, tol=None, symmetric=False):
    """Removed from torch (since 1.9): raises, naming ge.linalg.matrix_rank, as torch does."""
    raise ArgumentError("matrix_rank: This function was deprecated since version 1.9 and is "
                        "now removed. Please use ge.linalg.matrix_rank instead (the parameter "
                        "'symmetric' is named 'hermitian' there).")


def lstsq(b, a):
    """Removed from torch (since 1.9): raises, naming ge.linalg.lstsq, as torch does."""
    raise ArgumentError("lstsq: This function was deprecated since version 1.9 and is now "
                        "removed. Use ge.linalg.lstsq(A, B) (reversed arguments; it does not "
                        "return the QR decomposition).")


__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "dstack", "row_stack", "concat", "hsplit",
    "vsplit", "dsplit", "tensor_split", "split_with_sizes", "swapdims", "unsafe_split",
    "unsafe_chunk", "unsafe_split_with_sizes", "narrow_copy", "select", "diagflat",
    "tril_indices", "triu_indices", "block_diag", "combinations", "broadcast_shapes",
    "unravel_index", "is_same_size", "is_nonzero", "index_copy", "index_put",
    "masked_scatter", "put", "scatter", "scatter_reduce", "index_reduce",
    "diagonal_scatter", "select_scatter", "slice_scatter", "as_strided", "det", "slogdet",
    "logdet", "inverse",
    "svd", "qr", "cholesky", "cholesky_solve", "cholesky_inverse", "lu", "lu_unpack",
    "lu_solve", "triangular_solve", "pinverse", "matrix_exp", "matrix_power", "matrix_rank",
    "lstsq",
]

TENSOR_METHODS = {name: globals()[name] for name in (
    "hsplit", "vsplit", "dsplit", "tensor_split", "split_with_sizes", "swapdims",
    "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes", "narrow_copy", "select",
    "diagflat", "sum_to_size", "is_same_size", "is_nonzero", "ndimension", "index_copy",
    "index_copy_", "index_put", "index_put_", "masked_scatter", "put", "scatter", "scatter_reduce",
    "index_reduce", "diagonal_scatter", "select_scatter", "slice_scatter", "fill_diagonal_",
    "t_", "squeeze_", "unsqueeze_", "transpose_", "swapaxes_", "swapdims_", "resize_",
    "resize_as_", "as_strided", "det", "slogdet", "logdet", "inverse", "svd", "qr",
    "cholesky", "cholesky_solve", "cholesky_inverse", "lu", "lu_solve", "triangular_solve",
    "pinverse", "matrix_exp", "matrix_power", "lstsq")}
for _name, _fn in (("masked_scatter_", masked_scatter), ("put_", put),
                   ("scatter_", scatter), ("scatter_reduce_", scatter_reduce),
                   ("index_reduce_", index_reduce),
                   ("tril_", tril), ("triu_", triu), ("cumsum_", cumsum),
                   ("cumprod_", cumprod)):
    TENSOR_METHODS[_name] = _inplace(_name, _fn)


def _cmp(fn_name):
    import operator
    return getattr(operator, fn_name)


for _name, _opname in (("eq_", "eq"), ("ne_", "ne"), ("lt_", "lt"), ("le_", "le"),
                       ("gt_", "gt"), ("ge_", "ge"), ("greater_", "gt"), ("less_", "lt"),
                       ("greater_equal_", "ge"), ("less_equal_", "le"),
                       ("not_equal_", "ne")):
    TENSOR_METHODS[_name] = _comparison_(_name, _cmp(_opname))


def _logical_xor_(self, other):
    from .elementwise import logical_xor
    return inplace_fn(self, lambda t: cast(apply(logical_xor, t, _t(other, t)), self.dtype),
                      "logical_xor_")


TENSOR_METHODS["logical_xor_"] = _logical_xor_
TENSOR_METHODS["put_"] = _inplace("put_", put)
