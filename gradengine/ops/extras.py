"""Op family: the rest of PyTorch's top-level functions that scripts call (meshgrid, diff,
kron, cdist, quantile, searchsorted, multinomial ...). The differentiable ones are written
with differentiable ops, so their gradients of every order come from their parts; the
array steps with no gradient (searchsorted, heaviside, mode's indices, multinomial's draw)
are ops of their own. PyTorch's names, argument order and defaults. See docs/ops.md.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import backend
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, ShapeError
from .composite import bmm
from .composite import norm as _pnorm
from .creation import rand, randn
from .elementwise import abs_, cast, where
from .manipulation import isnan, sort, take_along_dim
from .reductions import max as _max
from .reductions import sum
from .shape import broadcast_to, concatenate, flatten, normalize_axis, reshape, stack

_ValuesIndices = namedtuple("mode", ["values", "indices"])


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    return Tensor(x, device=like.device if isinstance(like, Tensor) else None)


# ---------------------------------------------------------------- small helpers

def is_tensor(obj) -> bool:
    """Whether ``obj`` is a gradengine Tensor."""
    return isinstance(obj, Tensor)


def numel(x) -> int:
    """The element count of ``x``."""
    return int(x.data.size)


def is_floating_point(x) -> bool:
    """Whether ``x`` has a floating dtype."""
    return x.dtype.kind == "f"


def t(x):
    """The transpose of a tensor of at most 2 dimensions (torch.t).

    Raises:
        ShapeError: ``x`` has more than 2 dimensions.
    """
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor of at most 2 dimensions, got shape "
                         f"{tuple(x.shape)}")
    return x.t()


# ---------------------------------------------------------------- random

def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None):
    """Samples ``mean + std * N(0, 1)``; ``mean`` and ``std`` Tensors (broadcast) or
    numbers with ``size``. Differentiable in ``mean`` and ``std`` (the reparameterisation:
    d/dmean = 1, d/dstd = the standard normal draw)."""
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    if like is None:
        if size is None:
            raise ArgumentError("normal: give size= when mean and std are numbers")
        shape = tuple(size)
    else:
        shape = np.broadcast_shapes(tuple(np.shape(mean.data if isinstance(mean, Tensor)
                                                   else mean)),
                                    tuple(np.shape(std.data if isinstance(std, Tensor)
                                                   else std)))
    s_arr = std.data if isinstance(std, Tensor) else np.asarray(std)
    if bool((s_arr < 0).any()):  # PyTorch's check
        raise ArgumentError(f"normal: expects all elements of std >= 0.0, got std with "
                            f"minimum {float(s_arr.min())}")
    dt = dtype or (like.dtype if like is not None else None)
    z = randn(shape, dtype=dt, device=device or (like.device if like is not None else None),
              generator=generator)
    return z * std + mean


def bernoulli(input, p=None, *, generator=None):  # noqa: A002 - torch's names
    """1 with probability ``p`` (default: the values of ``input``), else 0; input's dtype."""
    prob = input if p is None else p
    arr = prob.data if isinstance(prob, Tensor) else np.asarray(prob)
    if bool(((arr < 0) | (arr > 1)).any()):  # PyTorch's check (NaN passes, as there)
        raise ArgumentError(f"bernoulli: expects 0 <= p <= 1, got values in "
                            f"[{float(np.nanmin(arr))}, {float(np.nanmax(arr))}]")
    u = rand(tuple(input.shape), dtype=input.dtype, device=input.device, generator=generator)
    return cast(u < prob, input.dtype)


@op(name="multinomial", differentiable=False, random=True,
    params=("num_samples", "replacement", "generator"))
def multinomial_op(xp, w, num_samples, replacement, generator):
    """Indices drawn by row from the unnormalised probabilities ``w`` (1-d or 2-d)."""
    dev = backend.device_of_array(w)
    gen = backend.rng(dev) if generator is None else generator.for_device(dev, "multinomial")
    rows = w.reshape(-1, w.shape[-1]).astype(np.float64)
    out = xp.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i in range(rows.shape[0]):
        p = rows[i] / rows[i].sum()
        if dev == "cpu":
            out[i] = gen.choice(len(p), size=num_samples, replace=replacement, p=p)
        else:
            out[i] = xp.asarray(gen.choice(len(p), size=num_samples, replace=replacement,
                                           p=p))
    return out.reshape(w.shape[:-1] + (num_samples,))


def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002
    """``num_samples`` category indices per row of the weights ``input`` (int64).

    Raises:
        ShapeError: ``input`` not 1-d or 2-d.
        ArgumentError: negative or all-zero weights, or more samples than non-zero
            categories without replacement.
    """
    w = input.data
    if input.ndim not in (1, 2):
        raise ShapeError(f"multinomial: expects a 1-d or 2-d tensor, got shape "
                         f"{tuple(input.shape)}")
    rows = w.reshape(-1, w.shape[-1])
    if bool((rows < 0).any()) or not bool((rows.sum(-1) > 0).all()):
        raise ArgumentError("multinomial: weights must be non-negative with a positive sum in "
                            "every row")
    if not replacement and int(num_samples) > int((rows > 0).sum(-1).min()):
        raise ArgumentError(f"multinomial: cannot draw {num_samples} samples without "
                            f"replacement from {int((rows > 0).sum(-1).min())} non-zero "
                            "categories")
    return apply(multinomial_op, input, params=(int(num_samples), bool(replacement),
                                                generator))


# ---------------------------------------------------------------- shapes

def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids of 1-d tensors: "ij" (matrix, the default) or "xy" (Cartesian:
    the first two axes swapped).

    Raises:
        ArgumentError: another ``indexing``.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [reshape(_t(x), (-1,)) for x in tensors]
    n = len(ts)
    swap = indexing == "xy" and n >= 2
    shape = tuple(x.shape[0] for x in ts)
    if swap:
        shape = (shape[1], shape[0]) + shape[2:]
    out = []
    for i, x in enumerate(ts):
        pos = (1 - i if i < 2 else i) if swap else i
        view = [1] * n
        view[pos] = x.shape[0]
        out.append(broadcast_to(reshape(x, tuple(view)), shape))
    return tuple(out)


def cartesian_prod(*tensors):
    """All combinations of the 1-d ``tensors``' elements, as rows (shape (N, len(tensors)));
    one tensor is returned as it is."""
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], axis=1)


def column_stack(tensors):
    """1-d tensors as columns, 2-d ones as they are, joined along axis 1."""
    cols = [reshape(x, (-1, 1)) if x.ndim <= 1 else x for x in map(_t, tensors)]
    return concatenate(cols, axis=1)


def diff(input, n=1, dim=-1, prepend=None, append=None):  # noqa: A002
    """The ``n``-th forward difference along ``dim``, after joining ``prepend`` / ``append``."""
    x = input
    if x.ndim == 0:
        raise ShapeError("diff expects input to be at least one-dimensional")
    ax = normalize_axis(dim, x.ndim, "diff")[0]
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = concatenate([_t(p, input) for p in parts], axis=ax)
    for _ in range(int(n)):
        if x.shape[ax] == 0:
            break
        hi = (slice(None),) * ax + (slice(1, None),)
        lo = (slice(None),) * ax + (slice(None, -1),)
        x = x[hi] - x[lo]
    return x


def take(input, index):  # noqa: A002
    """The elements of the flattened ``input`` at ``index`` (of ``index``'s shape)."""
    idx = index if isinstance(index, Tensor) else Tensor(np.asarray(index), device=input.device)
    return flatten(input)[idx]


def kron(a, b):
    """The Kronecker product; the smaller rank is padded with leading ones."""
    a, b = _t(a, b), _t(b, a)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    ea = reshape(a, tuple(d for s in sa for d in (s, 1)))
    eb = reshape(b, tuple(d for s in sb for d in (1, s)))
    return reshape(ea * eb, tuple(x * y for x, y in zip(sa, sb)))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (batch1 @ batch2), batch1 (b, n, m) and batch2 (b, m, p)."""
    prod = bmm(batch1, batch2)
    if beta == 0:  # PyTorch ignores input then (NaN in it does not propagate)
        return prod * alpha
    return input * beta + prod * alpha


# ---------------------------------------------------------------- distances, statistics

def cdist(x1, x2, p=2.0):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M):
    shape (..., P, R).

    Raises:
        ShapeError: the last dimensions differ or a tensor is below 2-d.
    """
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist: expects (..., P, M) and (..., R, M), got shapes "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}")
    if p < 0:
        raise ArgumentError(f"cdist: p must be non-negative, got {p!r}")
    d = (reshape(x1, x1.shape[:-1] + (1, x1.shape[-1])) -
         reshape(x2, x2.shape[:-2] + (1,) + x2.shape[-2:]))
    if p == float("inf"):
        # torch's cdist gives every coordinate tied for the maximum the whole gradient
        # (sign(d) g), where the max-norm splits it: the max, plus an exact 0 whose
        # gradient is that
        a = abs_(d)
        m = _max(a, axis=-1, keepdims=True).detach()
        tied = cast(a.detach() == m, a.dtype)
        return reshape(m, m.shape[:-1]) + sum(tied * (a - a.detach()), axis=-1)
    # the norms' gradients are 0 at a zero distance (torch's), not 0/0
    return _pnorm(d, p, -1)


_INTERPOLATIONS = ("linear", "lower", "higher", "nearest", "midpoint")


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """The ``q``-quantiles (a number, or a 1-d tensor whose axis comes first) along ``dim``
    (of all elements when None); gradients flow to the elements interpolated.

    Raises:
        ArgumentError: ``q`` outside [0, 1] or an unknown ``interpolation``.
    """
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"quantile: interpolation must be one of {_INTERPOLATIONS}, got "
                            f"{interpolation!r}")
    qs = np.asarray(q.data if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1 or bool(((qs < 0) | (qs > 1)).any()):
        raise ArgumentError(f"quantile: q must be a number or a 1-d tensor in [0, 1], got "
                            f"{qs.tolist()!r}")
    x = input
    if dim is None:
        x, ax = reshape(x, (-1,)), 0
    else:
        ax = normalize_axis(dim, x.ndim, "quantile")[0]
    values = sort(x, dim=ax)[0]
    n = x.shape[ax]
    last = (slice(None),) * ax + (slice(n - 1, n),) if n else None
    # torch: a NaN in a slice makes its quantiles NaN (the sort puts NaN last); no host
    # read, so that ge.jit replays it
    nan_at = None if last is None or values.dtype.kind != "f" else isnan(values[last])
    pos = qs.reshape(-1) * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = np.round(pos).astype(np.int64)  # half to even, as PyTorch
    frac = 0.5 if interpolation == "midpoint" else pos - lo
    out = []
    for k in range(len(pos)):
        pick = (slice(None),) * ax + (slice(int(lo[k]), int(lo[k]) + 1),)
        a = values[pick]
        if hi[k] != lo[k]:
            pick_hi = (slice(None),) * ax + (slice(int(hi[k]), int(hi[k]) + 1),)
            w = frac if np.isscalar(frac) else float(frac[k])
            a = a + (values[pick_hi] - a) * w
        if nan_at is not None:
            a = where(nan_at, values[last], a)
        if not keepdim:
            a = reshape(a, a.shape[:ax] + a.shape[ax + 1:])
        elif dim is None:
            a = reshape(a, (1,) * input.ndim)
        out.append(a)
    return out[0] if qs.ndim == 0 else stack(out, axis=0)


@op(differentiable=False, params=("axis",))
def mode_index(xp, x, axis):
    """The index of the most frequent value along ``axis`` (the smallest of ties)."""
    moved = xp.moveaxis(x, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    out = xp.empty(flat.shape[0], dtype=np.int64)
    for i, row in enumerate(flat):
        vals, counts = xp.unique(row, return_counts=True)
        best = vals[int(xp.argmax(counts))]
        out[i] = int(xp.nonzero(row == best)[0][-1])
    return out.reshape(moved.shape[:-1])


def mode(input, dim=-1, keepdim=False):  # noqa: A002
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest of ties)
    and an index where it occurs; the values' gradient goes to that index."""
    if input.ndim == 0:
        normalize_axis(dim, 0, "mode")  # dim 0 or -1 only
        return _ValuesIndices(input * 1, Tensor(np.zeros((), np.int64), device=input.device))
    ax = normalize_axis(dim, input.ndim, "mode")[0]
    idx = apply(mode_index, input, params=(ax,))
    kept = reshape(idx, idx.shape[:ax] + (1,) + idx.shape[ax:])
    values = take_along_dim(input, kept, dim=ax)
    if not keepdim:
        values = reshape(values, values.shape[:ax] + values.shape[ax + 1:])
        return _ValuesIndices(values, idx)
    return _ValuesIndices(values, kept)


# ---------------------------------------------------------------- search, steps

@op(name="searchsorted", differentiable=False, params=("right",))
def searchsorted_op(xp, seq, values, right):
    """Insertion indices of ``values`` into the sorted last axis of ``seq`` (int64)."""
    side = "right" if right else "left"
    if seq.ndim == 1:
        return xp.searchsorted(seq, values, side=side).astype(np.int64)
    out = xp.empty(values.shape, dtype=np.int64)
    s2 = seq.reshape(-1, seq.shape[-1])
    v2 = values.reshape(-1, values.shape[-1])
    o2 = out.reshape(-1, values.shape[-1])
    for i in range(s2.shape[0]):
        o2[i] = xp.searchsorted(s2[i], v2[i], side=side)
    return out


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where ``values`` would be inserted into ``sorted_sequence`` (along its last axis,
    row by row when it is n-d) to keep it sorted.

    Raises:
        ShapeError: an n-d sequence whose leading dimensions differ from the values'.
    """
    right = right or side == "right"
    seq = sorted_sequence
    if sorter is not None:
        seq = take_along_dim(seq, sorter, dim=-1)
    vals = _t(values, seq)
    if seq.ndim > 1 and tuple(seq.shape[:-1]) != tuple(vals.shape[:-1]):
        raise ShapeError(f"searchsorted: the leading dimensions of sorted_sequence "
                         f"{tuple(seq.shape)} and values {tuple(vals.shape)} differ")
    out = apply(searchsorted_op, seq, vals, params=(bool(right),))
    return cast(out, "int32") if out_int32 else out


def bucketize(input, boundaries, *, out_int32=False, right=False):  # noqa: A002
    """The bucket of each element of ``input`` between the sorted 1-d ``boundaries``.

    Raises:
        ShapeError: ``boundaries`` is not 1-d.
    """
    if boundaries.ndim != 1:
        raise ShapeError(f"bucketize: boundaries must be 1-d, got shape "
                         f"{tuple(boundaries.shape)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@op(name="heaviside", differentiable=False)
def heaviside_op(xp, x, values):
    """0 where x < 0, ``values`` where x == 0, 1 where x > 0 (no gradient, as PyTorch)."""
    return xp.where(x == 0, values, (x > 0)).astype(np.result_type(x.dtype, values.dtype))


def heaviside(input, values):  # noqa: A002
    """The Heaviside step function, ``values`` at 0."""
    return apply(heaviside_op, input, _t(values, input))


def count_nonzero(input, dim=None):  # noqa: A002
    """The number of non-zero elements (along ``dim``), as int64."""
    return sum(cast(input != 0, "int64"), axis=dim)


__all__ = [
    "is_tensor", "numel", "is_floating_point", "t", "normal", "bernoulli", "multinomial",
    "meshgrid", "cartesian_prod", "column_stack", "diff", "take", "kron", "baddbmm", "cdist",
    "quantile", "mode", "searchsorted", "bucketize", "heaviside", "count_nonzero",
]

TENSOR_METHODS = {name: globals()[name] for name in (
    "bernoulli", "multinomial", "diff", "take", "kron", "baddbmm", "quantile", "mode",
    "heaviside", "count_nonzero")}
