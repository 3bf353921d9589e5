"""Op family: shape and indexing -- flip, repeat/tile, roll, tril/triu, split/chunk, pad,
gather/scatter_add/take_along_dim, one_hot, masked_fill, sort/argsort/topk, the float
tests (isnan, isinf, isfinite, isclose) and einsum. PyTorch's argument names and
semantics; index tensors travel as op arguments (so ge.jit replays them as values). See
docs/ops.md.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, AxisError, DTypeError, IndexingError, ShapeError
from .elementwise import where
from .indexing import basic_slice
from .shape import broadcast_to, normalize_axis, reshape


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    return Tensor(x, device=like.device if like is not None else None)


def _dims(x, dims, name):
    axes = normalize_axis(dims, x.ndim, name)
    return () if axes is None else axes


# ---------------------------------------------------------------- flip, roll, tile

@op(name="flip", params=("axes",), view=True)
def flip_op(xp, x, axes):
    """x reversed along axes."""
    return xp.flip(x, axes) if axes else x.copy()


flip_op.defvjp(lambda g, axes: apply(flip_op, g, params=(axes,)))


def flip(x, *dims, **kw):
    """``x`` reversed along ``dims`` (an int, a tuple, or several ints; ``dims=`` as
    ``torch.flip(input, dims=...)``)."""
    if kw:
        if dims or set(kw) != {"dims"}:
            raise ArgumentError(f"flip: takes the dims once, positionally or as dims=; got "
                                f"{dims} and {sorted(kw)}")
        dims = (kw["dims"],)
    dims = dims[0] if len(dims) == 1 else dims
    return apply(flip_op, x, params=(_dims(x, dims, "flip"),))


@op(name="roll", params=("shifts", "axes"))
def roll_op(xp, x, shifts, axes):
    """x shifted cyclically by shifts along axes (flattened when axes is None)."""
    if axes is None:
        return xp.roll(x.reshape(-1), shifts).reshape(x.shape)
    return xp.roll(x, shifts, axes)


roll_op.defvjp(lambda g, shifts, axes: apply(
    roll_op, g, params=(tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts,
                        axes)))


def roll(x, shifts, dims=None):
    """``x`` rolled by ``shifts`` along ``dims`` (None: the flattened tensor), as torch.roll."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            shifts = tuple(shifts)
            if len(shifts) != 1:
                raise ShapeError(f"roll: without dims, shifts must be one int, got {shifts}")
            shifts = shifts[0]
        return apply(roll_op, x, params=(int(shifts), None))
    if x.ndim == 0:
        raise AxisError(f"roll: dims {dims} given for a 0-d tensor: Dimension specified "
                        f"as {dims} but tensor has no dimensions")
    axes = normalize_axis(dims, x.ndim, "roll") or ()
    sh = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if len(sh) != len(axes):
        raise ShapeError(f"roll: shifts {shifts} and dims {dims} differ in length")
    if x.ndim == 0:
        return x * 1
    return apply(roll_op, x, params=(tuple(int(s) for s in sh), axes))


@op(name="tile", params=("reps",))
def tile_op(xp, x, reps):
    """x repeated reps[i] times along each dimension (np.tile, torch's repeat)."""
    return xp.tile(x, reps)


@tile_op.vjp
def _(g, x_shape, reps):
    lead = len(reps) - len(x_shape)
    shape = (1,) * lead + tuple(x_shape)
    inter = []
    for r, s in zip(reps, shape):
        inter += [r, s]
    gs = reshape(g, tuple(inter)).sum(axis=tuple(range(0, 2 * len(reps), 2)))
    return (reshape(gs, tuple(x_shape)),)


def _reps(x, sizes, name):
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
        else tuple(sizes)
    if any(not isinstance(s, (int, np.integer)) or s < 0 for s in sizes):
        raise ShapeError(f"{name}: repeats must be non-negative integers, got {sizes}")
    return tuple(int(s) for s in sizes)


def tile(x, *dims):
    """``x`` tiled ``dims`` times; fewer dims than x has are padded with 1s in front."""
    reps = _reps(x, dims if len(dims) != 1 or isinstance(dims[0], (tuple, list)) else
                 (dims[0],), "tile")
    reps = (1,) * (x.ndim - len(reps)) + reps
    return apply(tile_op, x, params=(reps,))


def repeat(x, *sizes):
    """torch's ``Tensor.repeat``: ``x`` tiled ``sizes`` times (at least x.ndim of them)."""
    reps = _reps(x, sizes, "repeat")
    if len(reps) < x.ndim:
        raise ShapeError(f"repeat: {len(reps)} repeats given for a tensor of shape {x.shape}; "
                         f"at least {x.ndim} are needed")
    return apply(tile_op, x, params=(reps,))


# ---------------------------------------------------------------- tril, triu

@op(name="tril", params=("k",))
def tril_op(xp, x, k):
    """x with the elements above diagonal k set to 0."""
    return xp.tril(x, k)


@op(name="triu", params=("k",))
def triu_op(xp, x, k):
    """x with the elements below diagonal k set to 0."""
    return xp.triu(x, k)


tril_op.defvjp(lambda g, k: apply(tril_op, g, params=(k,)))
triu_op.defvjp(lambda g, k: apply(triu_op, g, params=(k,)))


def tril(x, diagonal=0):
    """The lower triangle of the last two dimensions (elements above ``diagonal`` zeroed)."""
    if x.ndim < 2:
        raise ShapeError(f"tril: needs at least 2 dimensions, got shape {x.shape}")
    return apply(tril_op, x, params=(int(diagonal),))


def triu(x, diagonal=0):
    """The upper triangle of the last two dimensions."""
    if x.ndim < 2:
        raise ShapeError(f"triu: needs at least 2 dimensions, got shape {x.shape}")
    return apply(triu_op, x, params=(int(diagonal),))


# ---------------------------------------------------------------- split, chunk

def split(x, split_size_or_sections, dim=0):
    """A tuple of views along ``dim``: pieces of ``split_size`` (the last may be smaller)
    or of the listed sizes (they must add up to the dimension), as torch.split."""
    ax = normalize_axis(dim, x.ndim, "split")
    if x.ndim == 0:
        raise ShapeError("split: a 0-d tensor cannot be split")
    ax = ax[0]
    n = x.shape[ax]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise ShapeError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins_sum(sizes) != n or any(s < 0 for s in sizes):
            raise ShapeError(f"split: sections {sizes} do not add up to dimension {ax} of "
                             f"size {n} (shape {x.shape})")
    out, start = [], 0
    for s in sizes:
        out.append(basic_slice(x, (slice(None),) * ax + (slice(start, start + s),)))
        start += s
    return tuple(out)


builtins_sum = sum


def chunk(x, chunks, dim=0):
    """``chunks`` pieces (or fewer) of ceil(n / chunks) along ``dim``, as torch.chunk."""
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ShapeError(f"chunk: chunks must be a positive integer, got {chunks!r}")
    ax = normalize_axis(dim, x.ndim, "chunk")
    if x.ndim == 0:
        raise ShapeError("chunk: a 0-d tensor cannot be chunked")
    n = x.shape[ax[0]]
    return split(x, max(-(-n // int(chunks)), 1), ax[0])


# ---------------------------------------------------------------- pad

class PadModeError(ArgumentError, NotImplementedError):
    """An unknown ``pad`` mode: an ArgumentError, and a NotImplementedError as PyTorch's."""


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}


def _pad_widths(shape, pad):
    """torch's pad tuple (last dimension first, (left, right) pairs) as np.pad widths."""
    widths = [(0, 0)] * len(shape)
    for i in range(len(pad) // 2):
        widths[len(shape) - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return tuple(widths)


@op(name="pad", params=("widths", "mode", "value"))
def pad_op(xp, x, widths, mode, value):
    """x padded by widths ((before, after) per dimension): a constant, its reflection or its
    edge value."""
    if mode == "constant":
        return xp.pad(x, widths, mode="constant", constant_values=value)
    return xp.pad(x, widths, mode=_PAD_MODES[mode])


pad_op.defvjp(lambda g, x_shape, widths, mode: apply(pad_backward, g,
                                                     params=(tuple(x_shape), widths, mode)))


def _source(n, before, after, mode):
    """For each position along a padded axis, the input position it copies (-1: a
    constant)."""
    idx = np.arange(n)
    if mode == "constant":
        return np.pad(idx, (before, after), mode="constant", constant_values=-1)
    return np.pad(idx, (before, after), mode=_PAD_MODES[mode])


@op(name="pad_backward", params=("shape", "widths", "mode"))
def pad_backward(xp, g, shape, widths, mode):
    """The adjoint of pad: each padded position's gradient added to the input position it
    copied."""
    out = g
    for ax, (before, after) in enumerate(widths):
        if before == 0 and after == 0:
            continue
        src = _source(shape[ax], before, after, mode)
        keep = src >= 0
        moved = xp.moveaxis(out, ax, 0)
        acc = xp.zeros((shape[ax],) + moved.shape[1:], dtype=g.dtype)
        rows = xp.asarray(src[keep])
        vals = moved[xp.asarray(np.nonzero(keep)[0])]
        if xp is np:
            np.add.at(acc, rows, vals)
        else:
            import cupyx
            cupyx.scatter_add(acc, rows, vals)
        out = xp.moveaxis(acc, 0, ax)
    return xp.ascontiguousarray(out)


pad_backward.defvjp(lambda gg, widths, mode: apply(pad_op, gg, params=(widths, mode, 0.0)))


def _pad_by_index(x, pad, mode):
    """reflect / replicate padding with some negative (cropping) sides, as torch: output
    position o along an axis copies input position o - before, reflected or clamped into
    the input, so the reflection is of the whole input, not of the cropped one."""
    for i in range(len(pad) // 2):
        b, a = int(pad[2 * i]), int(pad[2 * i + 1])
        ax = x.ndim - 1 - i
        n = x.shape[ax]
        if b == 0 and a == 0:
            continue
        if n + b + a < 0 or (mode == "reflect" and (b >= n or a >= n)) or n == 0:
            raise ShapeError(f"pad: {mode} padding ({b}, {a}) does not fit dimension {ax} "
                             f"of size {n} (shape {x.shape})")
        p = np.arange(n + b + a) - b
        if mode == "reflect":
            p = np.abs(p)
            p = np.where(p >= n, 2 * (n - 1) - p, p)
        else:
            p = np.clip(p, 0, n - 1)
        x = x[(slice(None),) * ax + (Tensor(p.astype(np.int64), device=x.device),)]
    return x


def pad(x, pad, mode="constant", value=0.0):
    """``x`` padded as torch.nn.functional.pad: ``pad`` = (left, right) for the last
    dimension, then the one before, ...; ``mode`` "constant" (``value``), "reflect" or
    "replicate" or "circular"; a negative padding crops, as torch."""
    pad = tuple(pad)
    ok = len(pad) % 2 == 0 and len(pad) // 2 <= x.ndim and all(
        isinstance(p, (int, np.integer)) for p in pad)
    if ok and mode in ("reflect", "replicate") and any(p < 0 for p in pad):
        return _pad_by_index(x, pad, mode)
    if ok and (mode == "circular" or any(p < 0 for p in pad)):
        for i in range(len(pad) // 2):  # crop the negative sides first
            b, a = int(pad[2 * i]), int(pad[2 * i + 1])
            ax = x.ndim - 1 - i
            n = x.shape[ax]
            if b < 0 or a < 0:
                x = basic_slice(x, (slice(None),) * ax + (slice(max(-b, 0), n + min(a, 0)),))
        pad = tuple(max(int(p), 0) for p in pad)
        if mode != "circular":
            return globals()["pad"](x, pad, mode, value)
        from .shape import concatenate
        for i in range(len(pad) // 2):
            b, a = pad[2 * i], pad[2 * i + 1]
            ax = x.ndim - 1 - i
            n = x.shape[ax]
            if b > n or a > n:
                raise ShapeError(f"pad: circular padding ({b}, {a}) is larger than the "
                                 f"dimension {ax} of size {n} (shape {x.shape})")
            pre = (slice(None),) * ax
            parts = ([basic_slice(x, pre + (slice(n - b, n),))] if b else []) + [x] + (
                [basic_slice(x, pre + (slice(0, a),))] if a else [])
            x = concatenate(parts, ax) if len(parts) > 1 else x
        return x
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ShapeError(f"pad: the pad tuple {pad} must have an even length of at most "
                         f"2 * ndim = {2 * x.ndim} for shape {x.shape}")
    if mode not in _PAD_MODES:
        raise PadModeError(f"pad: mode must be one of constant, reflect, replicate, "
                           f"circular; got {mode!r}")
    if any(not isinstance(p, (int, np.integer)) or p < 0 for p in pad):
        raise ShapeError(f"pad: paddings must be non-negative integers, got {pad}")
    widths = _pad_widths(x.shape, pad)
    for ax, (b, a) in enumerate(widths):
        n = x.shape[ax]
        if mode == "reflect" and (b or a) and (b >= n or a >= n):
            raise ShapeError(f"pad: reflect padding ({b}, {a}) must be smaller than the "
                             f"dimension {ax} of size {n} (shape {x.shape})")
        if mode == "replicate" and (b or a) and n == 0:
            raise ShapeError(f"pad: cannot replicate-pad an empty dimension {ax} of shape "
                             f"{x.shape}")
    return apply(pad_op, x, params=(widths, mode, float(value)))


# ---------------------------------------------------------------- gather, scatter_add

def _open_index(xp, index, axis):
    """The full advanced index that addresses x[..., index[...], ...] along ``axis``."""
    nd = index.ndim
    idx = []
    for d in range(nd):
        if d == axis:
            idx.append(index)
        else:
            shape = [1] * nd
            shape[d] = index.shape[d]
            idx.append(xp.arange(index.shape[d]).reshape(shape))
    return tuple(idx)


def _check_index(xp, x_shape, index, axis, name):
    if xp is np and index.size and (index.min() < -x_shape[axis] or
                                    index.max() >= x_shape[axis]):
        raise IndexingError(f"{name}: index out of range for dimension {axis} of size "
                            f"{x_shape[axis]} (indices from {index.min()} to {index.max()})")


@op(name="gather", params=("axis",), save=("index",))
def gather_op(xp, x, index, axis):
    """out[..., i, ...] = x[..., index[..., i, ...], ...] along axis (torch.gather)."""
    _check_index(xp, x.shape, index, axis, "gather")
    return x[_open_index(xp, index, axis)]


gather_op.defvjp(lambda g, index, x_shape, axis: apply(
    scatter_add_op, apply(_zeros, g, params=(tuple(x_shape),)), index, g, params=(axis,)),
    None)


@op(name="zeros_shaped", params=("shape",), differentiable=False)
def _zeros(xp, like, shape):
    """zeros of shape in like's dtype."""
    return xp.zeros(shape, dtype=like.dtype)


@op(name="scatter_add", params=("axis",), save=("index",))
def scatter_add_op(xp, x, index, src, axis):
    """x with src[..., i, ...] added at x[..., index[..., i, ...], ...] along axis."""
    _check_index(xp, x.shape, index, axis, "scatter_add")
    out = x.copy()
    src = src[tuple(slice(0, s) for s in index.shape)]
    if xp is np:
        np.add.at(out, _open_index(xp, index, axis), src)
    else:
        import cupyx
        cupyx.scatter_add(out, _open_index(xp, index, axis), src)
    return out


@scatter_add_op.vjp
def _(g, index, src_shape, axis):
    gs = apply(gather_op, g, index, params=(axis,))
    if gs.shape != tuple(src_shape):  # src larger than index: its other elements unused
        gs = apply(_pad_zeros, gs, params=(tuple(src_shape),))
    return g, None, gs


@op(name="scatter", params=("axis",), save=("index",))
def scatter_op(xp, x, index, src, axis):
    """x with src[..., i, ...] written at x[..., index[..., i, ...], ...] along axis; of
    repeated targets the last write wins (torch's CPU order)."""
    _check_index(xp, x.shape, index, axis, "scatter")
    out = x.copy()
    out[_open_index(xp, index, axis)] = src[tuple(slice(0, s) for s in index.shape)]
    return out


@scatter_op.vjp
def _(g, index, src_shape, axis):
    # torch's derivative: x gets g with the written positions zeroed, src gets g gathered
    gx = apply(scatter_op, g, index, apply(_zeros, g, params=(tuple(index.shape),)),
               params=(axis,))
    # src: g at its target, where its write is the one that stayed (the exact derivative;
    # torch gives every repeated write the gradient)
    gs = where(apply(scatter_winners, index, params=(tuple(g.shape), axis)),
               apply(gather_op, g, index, params=(axis,)), 0.0)
    if gs.shape != tuple(src_shape):
        gs = apply(_pad_zeros, gs, params=(tuple(src_shape),))
    return gx, None, gs


@op(name="scatter_winners", params=("shape", "axis"), differentiable=False)
def scatter_winners(xp, index, shape, axis):
    """Which entries of a scatter's src stayed in its output (the last write to each
    target), as a bool array of index's shape."""
    ids = xp.arange(index.size, dtype=np.int64).reshape(index.shape)
    last = xp.full(shape, -1, dtype=np.int64)
    pos = _open_index(xp, index, axis)
    last[pos] = ids
    return last[pos] == ids


@op(name="pad_zeros", params=("shape",))
def _pad_zeros(xp, x, shape):
    """x in the corner of zeros(shape)."""
    return xp.pad(x, [(0, s - n) for s, n in zip(shape, x.shape)])


_pad_zeros.defvjp(lambda g, x_shape: basic_slice(g, tuple(slice(0, n) for n in x_shape)))


def _index_tensor(index, x, name):
    index = _t(index, x)
    if index.dtype.kind not in "iu":
        raise DTypeError(f"{name}: index must be an integer tensor, got {index.dtype.name}")
    return index


def gather(x, dim, index):
    """torch.gather: values of ``x`` along ``dim`` at ``index`` (same ndim as x, no larger
    than x in the other dimensions)."""
    index = _index_tensor(index, x, "gather")
    ax = normalize_axis(dim, max(x.ndim, 1), "gather")[0]
    if x.ndim == 0 and index.ndim == 0:  # a 0-d tensor at a 0-d index (0), as PyTorch
        return reshape(gather(reshape(x, (1,)), 0, reshape(index, (1,))), ())
    if index.ndim != x.ndim or any(i > s for d, (i, s) in enumerate(zip(index.shape, x.shape))
                                   if d != ax):
        raise ShapeError(f"gather: index of shape {index.shape} does not fit a tensor of shape "
                         f"{x.shape} along dim {dim}")
    return apply(gather_op, x, index, params=(ax,))


def _scatter_args(name, x, dim, index, src):
    index = _index_tensor(index, x, name)
    src = _t(src, x)
    ax = normalize_axis(dim, max(x.ndim, 1), name)[0]
    if index.ndim != x.ndim or src.ndim != x.ndim or any(
            i > s for i, s in zip(index.shape, src.shape)) or any(
            i > s for d, (i, s) in enumerate(zip(index.shape, x.shape)) if d != ax):
        raise ShapeError(f"{name}: index of shape {index.shape} and src of shape "
                         f"{src.shape} do not fit a tensor of shape {x.shape} along dim {dim}")
    return index, src, ax


def scatter_add(x, dim, index, src):
    """torch.scatter_add: ``x`` with ``src`` added at ``index`` along ``dim``; repeated
    indices accumulate."""
    index, src, ax = _scatter_args("scatter_add", x, dim, index, src)
    return apply(scatter_add_op, x, index, src, params=(ax,))


def scatter_write(x, dim, index, src):
    """torch.scatter without reduce: ``x`` with ``src`` written at ``index`` along
    ``dim``; of repeated targets the last write wins. src must have x's dtype."""
    index, src, ax = _scatter_args("scatter", x, dim, index, src)
    if src.dtype != x.dtype:
        raise DTypeError(f"scatter: expected self.dtype to be equal to src.dtype, got "
                         f"{x.dtype.name} and {src.dtype.name}")
    return apply(scatter_op, x, index, src, params=(ax,))


def take_along_dim(x, indices, dim=None):
    """torch.take_along_dim: ``x`` and ``indices`` broadcast except along ``dim`` (None:
    both flattened), then gathered."""
    indices = _index_tensor(indices, x, "take_along_dim")
    if dim is None:
        return gather(reshape(x, -1), 0, reshape(indices, -1))
    ax = normalize_axis(dim, x.ndim, "take_along_dim")[0]
    if indices.ndim != x.ndim:
        raise ShapeError(f"take_along_dim: indices of shape {indices.shape} and a tensor of "
                         f"shape {x.shape} differ in ndim")
    try:
        rest = np.broadcast_shapes(x.shape[:ax] + (1,) + x.shape[ax + 1:],
                                   indices.shape[:ax] + (1,) + indices.shape[ax + 1:])
    except ValueError:
        raise ShapeError(f"take_along_dim: shapes {x.shape} and {indices.shape} do not "
                         f"broadcast outside dim {dim}") from None
    xs = rest[:ax] + (x.shape[ax],) + rest[ax + 1:]
    ids = rest[:ax] + (indices.shape[ax],) + rest[ax + 1:]
    return gather(broadcast_to(x, xs), ax, broadcast_to(indices, ids))


# ---------------------------------------------------------------- one_hot, masked_fill

@op(name="one_hot", params=("num_classes",), differentiable=False)
def one_hot_op(xp, labels, num_classes):
    """int64 one-hot rows: out[..., c] = (labels[...] == c)."""
    return (labels[..., None] == xp.arange(num_classes)).astype(np.int64)


def one_hot(tensor, num_classes=-1):
    """torch.nn.functional.one_hot: int64, ``num_classes`` = max + 1 when -1."""
    tensor = _t(tensor)
    if tensor.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: expects an integer tensor, got {tensor.dtype.name}")
    if num_classes == -1:
        if tensor.size == 0:
            raise ShapeError("one_hot: cannot infer num_classes of an empty tensor")
        num_classes = int(tensor.max().item()) + 1
    if tensor.size and (int(tensor.min().item()) < 0 or
                        int(tensor.max().item()) >= num_classes):
        raise IndexingError(f"one_hot: class values must lie in [0, {num_classes}), got "
                            f"[{int(tensor.min().item())}, {int(tensor.max().item())}]")
    return apply(one_hot_op, tensor, params=(int(num_classes),))


def masked_fill(x, mask, value):
    """``x`` with ``value`` where the bool ``mask`` (broadcastable) is True."""
    mask = _t(mask, x)
    if mask.dtype != np.bool_:
        raise DTypeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype.name}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape "
                         f"{value.shape}")
    if not isinstance(value, Tensor):
        value = float(value) if x.dtype.kind == "f" else value
    return where(mask, value, x)


# ---------------------------------------------------------------- sort, argsort, topk

SortResult = namedtuple("SortResult", ["values", "indices"])  # torch.return_types.sort
TopkResult = namedtuple("TopkResult", ["values", "indices"])


@op(name="argsort", params=("axis", "descending"), differentiable=False)
def argsort_op(xp, x, axis, descending):
    """The stable order of x along axis (ties keep their order; NaN counts as largest)."""
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    rev = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return xp.flip(n - 1 - rev, axis)


def argsort(x, dim=-1, descending=False, stable=False):
    """Indices that sort ``x`` along ``dim`` (always stable here)."""
    if x.ndim == 0:
        normalize_axis(dim, 0, "argsort")
        return apply(argsort_op, reshape(x, 1), params=(0, bool(descending))).reshape(())
    ax = normalize_axis(dim, x.ndim, "argsort")[0]
    return apply(argsort_op, x, params=(ax, bool(descending)))


def sort(x, dim=-1, descending=False, stable=False):
    """``(values, indices)`` of ``x`` sorted along ``dim``; the values' gradient flows back
    to where each came from."""
    if x.ndim == 0:
        normalize_axis(dim, 0, "sort")
        return SortResult(x * 1, argsort(x))
    ax = normalize_axis(dim, x.ndim, "sort")[0]
    idx = argsort(x, ax, descending)
    return SortResult(apply(gather_op, x, idx, params=(ax,)), idx)


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - torch's keyword
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    ax = normalize_axis(dim, max(x.ndim, 1), "topk")[0]
    n = x.shape[ax] if x.ndim else 1
    if not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ShapeError(f"topk: k={k!r} is out of range for dimension {dim} of size {n}")
    if x.ndim == 0:
        return TopkResult(x * 1, argsort(x)) if k else TopkResult(reshape(x, 1)[:0],
                                                                   argsort(reshape(x, 1))[:0])
    idx = argsort(x, ax, largest)
    idx = basic_slice(idx, (slice(None),) * ax + (slice(0, int(k)),))
    return TopkResult(apply(gather_op, x, idx, params=(ax,)), idx)


# ---------------------------------------------------------------- float tests (no gradient)

@op(name="isnan", differentiable=False)
def isnan_op(xp, x):
    """x != x (bool)."""
    return xp.isnan(x)


@op(name="isinf", differentiable=False)
def isinf_op(xp, x):
    """|x| == inf (bool)."""
    return xp.isinf(x)


@op(name="isfinite", differentiable=False)
def isfinite_op(xp, x):
    """neither NaN nor infinite (bool)."""
    return xp.isfinite(x)


@op(name="isclose", params=("rtol", "atol", "equal_nan"), differentiable=False)
def isclose_op(xp, a, b, rtol, atol, equal_nan):
    """|a - b| <= atol + rtol |b| (bool), as torch.isclose."""
    return xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def isnan(x):
    """Where ``x`` is NaN."""
    return apply(isnan_op, _t(x))


def isinf(x):
    """Where ``x`` is +-inf."""
    return apply(isinf_op, _t(x))


def isfinite(x):
    """Where ``x`` is finite."""
    return apply(isfinite_op, _t(x))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Where ``a`` and ``b`` are close (torch.isclose's tolerances)."""
    a = _t(a)
    return apply(isclose_op, a, _t(b, a), params=(float(rtol), float(atol), bool(equal_nan)))


# ---------------------------------------------------------------- einsum

def _parse_einsum(equation, n):
    eq = equation.replace(" ", "")
    if "." in eq:
        raise ArgumentError(f"einsum: ellipsis ('...') is not supported, got {equation!r}")
    ins, arrow, out = eq.partition("->")
    subs = ins.split(",")
    if len(subs) != n:
        raise ArgumentError(f"einsum: the equation {equation!r} names {len(subs)} operands, "
                            f"{n} given")
    if not all(s.isalpha() or s == "" for s in subs + [out]):
        raise ArgumentError(f"einsum: subscripts must be letters, got {equation!r}")
    if not arrow:
        letters = "".join(subs)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return tuple(subs), out


@op(name="einsum", params=("subs", "out_sub"), save=("rest",), quiet=True)
def einsum_op(xp, *rest):
    """The Einstein sum of the operands with subscripts subs -> out_sub."""
    *arrays, subs, out_sub = rest
    return xp.einsum(",".join(subs) + "->" + out_sub, *arrays)


@einsum_op.vjp
def _(g, rest, subs, out_sub):
    grads = []
    for i, (x, sub) in enumerate(zip(rest, subs)):
        if not (isinstance(x, Tensor) and x._rg):
            grads.append(None)
            continue
        others = [(t, s) for j, (t, s) in enumerate(zip(rest, subs)) if j != i]
        seen = set(out_sub) | {c for _, s in others for c in s}
        # a letter only x has (and not the output) was summed over: its gradient is constant
        # along it, so einsum to the others and broadcast back
        target = "".join(dict.fromkeys(c for c in sub if c in seen))
        gi = apply(einsum_op, g, *[t for t, _ in others],
                   params=((out_sub,) + tuple(s for _, s in others), target))
        if target != sub:
            gi = _einsum_expand(gi, target, sub, x.shape)
        grads.append(gi)
    return tuple(grads)


def _einsum_expand(gi, target, sub, shape):
    """gi (subscripts ``target``) as a tensor of subscripts ``sub`` and ``shape``: missing
    letters broadcast; a repeated letter (a diagonal) is placed on its diagonal."""
    if len(set(sub)) != len(sub):  # a diagonal ("ii"): the gradient sits on it
        uniq = "".join(dict.fromkeys(sub))
        sizes = dict(zip(sub, shape))
        g_u = _einsum_expand(gi, target, uniq, tuple(sizes[c] for c in uniq)) \
            if target != uniq else gi
        pool = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                if c not in sub)
        seen, new, eyes = set(), [], []
        for c in sub:
            if c in seen:
                d = next(pool)
                new.append(d)
                eyes.append(c + d)
            else:
                seen.add(c)
                new.append(c)
        ones = [Tensor(np.eye(sizes[e[0]], dtype=gi.dtype), device=gi.device) for e in eyes]
        return apply(einsum_op, g_u, *ones, params=((uniq,) + tuple(eyes), "".join(new)))
    sizes = dict(zip(sub, shape))
    full = "".join(c for c in sub)
    order = [target.index(c) for c in full if c in target]
    missing_shape = tuple(sizes[c] if c in target else 1 for c in full)
    g2 = gi.transpose(tuple(order)) if order != list(range(len(order))) else gi
    g2 = reshape(g2, missing_shape)
    return broadcast_to(g2, tuple(shape))


def _expand_ellipsis(equation, operands):
    """The equation with each ``...`` spelled as letters of its own (right-aligned, as the
    broadcast dimensions are), and the output's ``...`` (or, without ``->``, the leading
    output dimensions) as the longest of them."""
    lhs, arrow, out = equation.partition("->")
    subs = lhs.split(",")
    pool = "".join(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba"
                   if c not in equation)
    counts = [t.ndim - (len(s) - 3) if "..." in s else 0 for s, t in zip(subs, operands)]
    most = max(counts, default=0)
    ell = pool[:most][::-1]
    subs = [s.replace("...", ell[most - k:]) for s, k in zip(subs, counts)]
    if arrow:
        out = out.replace("...", ell)
    else:
        letters = "".join(s for s in subs)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                   and c not in ell))
    return ",".join(subs) + "->" + out


def einsum(equation, *operands):
    """torch.einsum: ``einsum("ij,jk->ik", a, b)`` (or the operands as one list); every
    operand's gradient is an einsum too."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ArgumentError("einsum: at least one operand is needed")
    like = next((o for o in operands if isinstance(o, Tensor)), None)
    operands = [_t(o, like) for o in operands]
    if any(o.dtype != operands[0].dtype for o in operands):
        from .linalg import check_same_dtype  # torch's einsum does not promote either
        check_same_dtype("einsum", *operands)
    if "..." in equation:
        equation = _expand_ellipsis(equation.replace(" ", ""), operands)
    subs, out = _parse_einsum(equation, len(operands))
    for t, s in zip(operands, subs):
        if t.ndim != len(s):
            raise ShapeError(f"einsum: operand of shape {t.shape} has {t.ndim} dimensions but "
                             f"subscripts {s!r} in {equation!r}")
    return apply(einsum_op, *operands, params=(subs, out))


__all__ = ["flip", "repeat", "tile", "roll", "tril", "triu", "split", "chunk", "pad",
           "gather", "scatter_add", "take_along_dim", "one_hot", "masked_fill", "sort",
           "argsort", "topk", "isnan", "isinf", "isfinite", "isclose", "einsum"]
TENSOR_METHODS = {name: globals()[name] for name in (
    "flip", "repeat", "tile", "roll", "tril", "triu", "split", "chunk", "gather",
    "scatter_add", "take_along_dim", "masked_fill", "sort", "argsort", "topk", "isnan",
    "isinf", "isfinite", "isclose")}
