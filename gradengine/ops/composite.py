"""Op family: PyTorch's composite functions -- the calls PyTorch users make that are
compositions of other ops (lerp, addcmul, hardswish, glu, norm, movedim, unbind, diagonal,
index_select, outer, group_norm, kl_div, the 1-d pooling wrappers ...). Each is written
with differentiable ops only, so its gradients of every order come from its parts; the
few array steps with no gradient (nonzero, unique, signbit, nan_to_num's mask) are ops of
their own here. PyTorch's names, argument order and defaults. See docs/ops.md.
"""

from __future__ import annotations

import math as _m
from collections import namedtuple

import numpy as np

from ..backend import resolve_dtype
from ..core.gradmode import no_grad
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, AxisError, DTypeError, ShapeError
from . import conv as _conv
from . import math as _math
from .activations import in_place, sigmoid, softmax
from .elementwise import abs_, cast, exp, log, maximum, minimum, promote, sign, sqrt, where
from .elementwise import clip as clip_op
from .manipulation import chunk, flip, isinf, scatter_add, sort
from .math import expm1, log_sigmoid, logaddexp, tanh, trunc
from .reductions import max as _max
from .reductions import mean, sum
from .reductions import min as _min
from .scans import std_of_var, var
from .shape import broadcast_to, concatenate, normalize_axis, reshape, transpose, unsqueeze

_LN2 = _m.log(2.0)
_ValuesIndices = namedtuple("values_indices", ["values", "indices"])


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    return Tensor(x, device=like.device if isinstance(like, Tensor) else None)


def _ax(x, dim, name):
    axes = normalize_axis(dim, x.ndim, name)  # a 0-d tensor takes dim 0 or -1 only
    return axes[0] if x.ndim else 0


# ---------------------------------------------------------------- pointwise

def lerp(input, end, weight):  # noqa: A002 - torch's names
    """input + weight * (end - input).

    Raises:
        DTypeError: ``end`` (or a tensor ``weight``) of another dtype than ``input``
            (PyTorch does not promote here).
    """
    for what, t in (("end", end), ("weight", weight)):
        if isinstance(t, Tensor) and isinstance(input, Tensor) and t.dtype != input.dtype:
            raise DTypeError(f"lerp: expected dtype {input.dtype.name} for `{what}` but got "
                             f"dtype {t.dtype.name}")
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """input + value * tensor1 * tensor2."""
    return input + value * tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):  # noqa: A002
    """input + value * tensor1 / tensor2."""
    return input + value * tensor1 / tensor2


def frac(x):
    """x - trunc(x) (gradient 1)."""
    return x - trunc(x)


def hypot(a, b):
    """sqrt(a^2 + b^2); inf where either is infinite (also beside a NaN), as torch."""
    out = sqrt(a * a + b * b)
    inf = _isinf_any(a, b)
    return out if inf is None else where(inf, float("inf"), out)


def _isinf_any(a, b):
    """Where ``a`` or ``b`` is infinite (None for no float Tensor); no host read, so that
    ge.jit replays it."""
    hits = [isinf(v) for v in (a, b) if isinstance(v, Tensor) and v.dtype.kind == "f"]
    if not hits:
        return None
    return hits[0] if len(hits) == 1 else hits[0] | hits[1]


@op(name="signbit", differentiable=False)
def signbit_op(xp, x):
    """Whether the sign bit is set (-0.0 included)."""
    return xp.signbit(x)


@op(name="copysign", save=("a", "b"))
def copysign_op(xp, a, b):
    """|a| with the sign of b; integer inputs give float32, as torch."""
    a, b = promote(a, b)
    out = xp.copysign(a, b)
    return out if getattr(a, "dtype", out.dtype).kind == "f" else out.astype(np.float32)


# torch's derivatives: a gets g * result / a (0 where a is 0), b a zero gradient
copysign_op.defvjp(lambda g, a, b: g * apply(sign, a) * where(
                       apply(signbit_op, b), -1.0, 1.0),
                   lambda g, a, b: g * 0.0)


def copysign(a, b):
    """|a| with the sign of b (b's gradient is zero, as torch)."""
    return apply(copysign_op, _t(a, b), _t(b, a))


def xlogy(x, y):
    """x * log(y), 0 where x == 0 unless y is NaN (torch.xlogy). d/dx is log(y), also at
    x == 0 (0 where y <= 0 there), d/dy is x / y, as PyTorch's."""
    x, y = _t(x, y), _t(y, x)
    safe = where((x == 0) & (y <= 0), 1.0, y)  # 0 * log(y > 0) is 0 and keeps d/dx
    return x * log(safe)


def logaddexp2(a, b):
    """log2(2^a + 2^b)."""
    return logaddexp(a * _LN2, b * _LN2) * (1.0 / _LN2)


@op(name="nan_to_num", params=("nan", "posinf", "neginf"), save=("x",))
def nan_to_num_op(xp, x, nan, posinf, neginf):
    """NaN, +inf and -inf replaced (by default 0 and the dtype's largest finite values)."""
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


nan_to_num_op.defvjp(lambda g, x, nan, posinf, neginf: where(apply(_finite, x), g, 0.0))


@op(name="isfinite", differentiable=False)
def _finite(xp, x):
    return xp.isfinite(x)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """torch.nan_to_num."""
    return apply(nan_to_num_op, x, params=(nan, posinf, neginf))


def clamp(x, min=None, max=None):  # noqa: A002 - torch's keywords
    """Clamp into [min, max]; the bounds may be numbers or tensors (broadcast), as torch.
    With number bounds the gradient passes inside the closed range."""
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if min is None and max is None:
        raise ArgumentError(f"clip: At least one of 'min' or 'max' must not be None (clamp "
                            f"of a tensor of shape {x.shape})")
    if min is not None and max is not None and min > max:
        return x * 0 + max  # torch: every element becomes max
    return apply(clip_op, x, params=(min, max))


def clamp_min(x, min):  # noqa: A002
    return clamp(x, min=min)


def clamp_max(x, max):  # noqa: A002
    return clamp(x, max=max)


# ---------------------------------------------------------------- activations

def celu(x, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if inplace:
        return in_place(x, lambda t: celu(t, alpha), "celu")
    # where, not minimum: at x = 0 the whole gradient 1 (torch's), not a tie's half
    return where(x > 0, x, alpha * expm1(where(x > 0, 0.0, x) * (1.0 / alpha)))


def hardsigmoid(x, inplace=False):
    """clamp(x / 6 + 1/2, 0, 1)."""
    if inplace:
        return in_place(x, hardsigmoid, "hardsigmoid")
    return apply(_math.hardsigmoid_op, _t(x))


def hardswish(x, inplace=False):
    """x * hardsigmoid(x)."""
    if inplace:
        return in_place(x, hardswish, "hardswish")
    return x * hardsigmoid(x)


def tanhshrink(x):
    """x - tanh(x)."""
    return x - tanh(x)


def softmin(x, dim=None, *, dtype=None):
    """softmax(-x) along dim."""
    return softmax(-x, -1 if dim is None else dim, dtype=dtype)


def threshold(x, threshold, value, inplace=False):  # noqa: A002
    """x where x > threshold, else value."""
    if inplace:
        return in_place(x, lambda t: _threshold(t, threshold, value), "threshold")
    return _threshold(x, threshold, value)


def _threshold(x, threshold, value):  # noqa: A002
    return apply(_math.threshold_op, _t(x), params=(float(threshold), float(value)))


def glu(x, dim=-1):
    """a * sigmoid(b), a and b the halves of x along dim."""
    if x.shape[_ax(x, dim, "glu")] % 2:
        raise ShapeError(f"glu: dimension {dim} of shape {x.shape} must be even")
    a, b = chunk(x, 2, dim)
    return a * sigmoid(b)


def prelu(x, weight):
    """x where x > 0, else weight * x (weight per channel, dim 1)."""
    w = weight
    if x.ndim >= 2 and w.size > 1:
        w = reshape(w, (w.size,) + (1,) * (x.ndim - 2))
    return where(x > 0, x, w * x)


def normalize(x, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along dim."""
    return x / clamp(norm(x, p, dim, True), min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along dim."""
    n1 = clamp(norm(x1, 2, dim, True), min=eps)
    n2 = clamp(norm(x2, 2, dim, True), min=eps)
    return sum((x1 / n1) * (x2 / n2), axis=_ax(x1 * x2, dim, "cosine_similarity"))


# ---------------------------------------------------------------- reductions

def amax(x, dim=(), keepdim=False, *, axis=None, keepdims=None):
    """Maximum over dim (all when empty); ties share the gradient."""
    dim = axis if axis is not None else dim
    return _max(x, axis=None if dim == () else dim, keepdims=keepdim or bool(keepdims))


def amin(x, dim=(), keepdim=False, *, axis=None, keepdims=None):
    """Minimum over dim (all when empty); ties share the gradient."""
    dim = axis if axis is not None else dim
    return _min(x, axis=None if dim == () else dim, keepdims=keepdim or bool(keepdims))


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
             keepdims=None):
    """(var, mean), as torch.var_mean (NumPy's ``axis=`` / ``keepdims=`` too); a bool in
    ``dim``'s place is torch's positional ``unbiased`` (``var_mean(x, False)``)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    dim = axis if dim is None else dim
    keepdim = keepdim or bool(keepdims)
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
             keepdims=None):
    """(std, mean), as torch.std_mean (NumPy's ``axis=`` / ``keepdims=`` too)."""
    v, m = var_mean(x, dim, unbiased, keepdim, correction=correction, axis=axis,
                    keepdims=keepdims)
    return std_of_var(v), m


@op(name="vector_norm2", save=("a", "out"), params=("axis",))
def vector_norm2_op(xp, a, axis):
    """sqrt(sum(a^2)) over ``axis`` (kept, of size 1); its gradient a / norm is 0 where the
    norm is 0 (PyTorch's subgradient), not 0/0."""
    return xp.sqrt((a * a).sum(axis=axis, keepdims=True))


vector_norm2_op.defvjp(lambda g, a, out, axis: g * a / where(out == 0, 1.0, out))


def vector_norm2(x, dim=None, keepdim=False):
    """The 2-norm of ``x`` over ``dim`` (all axes when None), with PyTorch's gradient 0 at
    the zero vector."""
    axis = tuple(range(x.ndim)) if dim is None else normalize_axis(dim, x.ndim, "vector_norm")
    out = apply(vector_norm2_op, x, params=(axis,))
    if keepdim:
        return out
    return reshape(out, tuple(d for i, d in enumerate(x.shape) if i not in axis))


@op(name="vector_normp", save=("a", "out"), params=("axis", "p"))
def vector_normp_op(xp, a, axis, p):
    """sum(|a|^p)^(1/p) over ``axis`` (kept, of size 1), for a finite p other than 0."""
    return (xp.abs(a) ** p).sum(axis=axis, keepdims=True) ** (1.0 / p)


@vector_normp_op.vjp
def _(g, a, out, axis, p):
    # torch's rule: sign(a) |a|^(p-1) g / norm^(p-1), 0 where the norm is 0 (and, for
    # p < 1, where a is 0), not 0/0
    mag = abs_(a) ** (p - 1)
    if p < 1:
        mag = where(a == 0, 0.0, mag)
    scale = where(out == 0, 0.0, g / where(out == 0, 1.0, out) ** (p - 1))
    return (apply(sign, a) * mag * scale,)


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """The p-norm over dim (all when None, () or []): "fro"/2, 1, inf, -inf, 0 or any p."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    if dtype is not None:
        x = cast(x, resolve_dtype(dtype, "norm"))
    if p in ("fro", 2, 2.0):  # gradient 0 at the zero vector, as torch
        return vector_norm2(x, dim if dim != () else None, keepdim)
    if p == 1:
        return sum(abs_(x), axis=dim, keepdims=keepdim)
    if p == float("inf"):
        return _max(abs_(x), axis=dim, keepdims=keepdim)
    if p == float("-inf"):
        return _min(abs_(x), axis=dim, keepdims=keepdim)
    if p == 0:
        return sum(cast(x != 0, x.dtype), axis=dim, keepdims=keepdim)
    axis = tuple(range(x.ndim)) if dim is None or dim == () else \
        normalize_axis(dim, x.ndim, "norm")
    out = apply(vector_normp_op, x, params=(axis, float(p)))
    return out if keepdim else reshape(out, tuple(d for i, d in enumerate(x.shape)
                                                  if i not in axis))


@op(name="logcumsumexp", params=("axis",), save=("x", "out"))
def logcumsumexp_op(xp, x, axis):
    """log(cumsum(exp(x))) along axis as a running logaddexp (exact wherever the terms
    differ in scale; on the host: CuPy's ufuncs have no accumulate)."""
    if xp is not np:
        return xp.asarray(logcumsumexp_op.fwd(np, xp.asnumpy(x), axis))
    if x.dtype == np.float16:  # in float32, each output rounded back (torch's)
        return np.logaddexp.accumulate(x.astype(np.float32), axis=axis).astype(x.dtype)
    return np.logaddexp.accumulate(x, axis=axis)


@logcumsumexp_op.vjp
def _(g, x, out, axis):
    # gx_j = sum_{i >= j} g_i exp(x_j - out_i), as torch: the positive and the negative
    # parts of g each summed in log space, from the end (a reversed logcumsumexp)
    def rev(t):
        return flip(apply(logcumsumexp_op, flip(t, (axis,)), params=(axis,)), (axis,))

    # (log|g| is the dtype's lowest finite value, not -inf, where g has the other sign:
    # -inf - -inf would be NaN; torch's rule, from TensorFlow's)
    low = float(np.finfo(g.dtype).min)
    log_abs = log(abs_(g))
    gx = 0.0
    for mask, sgn in ((g > 0, 1.0), (g < 0, -1.0)):
        gx = gx + exp(x + rev(where(mask, log_abs, low) - out)) * sgn
    return (gx,)


def logcumsumexp(x, dim):
    """log(cumsum(exp(x))) along dim, torch.logcumsumexp."""
    ax = _ax(x, dim, "logcumsumexp")
    if x.dtype.kind != "f":
        x = cast(x, "float32")
    if x.ndim == 0:  # a 0-d tensor is its own logcumsumexp
        return reshape(apply(logcumsumexp_op, reshape(x, (1,)), params=(0,)), ())
    return apply(logcumsumexp_op, x, params=(ax,))


@op(name="cumextreme_index", params=("axis", "upper"), differentiable=False)
def cumextreme_index(xp, x, axis, upper):
    """The index of the running max (upper) or min along axis, the latest among ties, a NaN
    beating every number (as torch's cummax / cummin; on the host: CuPy's ufuncs have no
    accumulate)."""
    if xp is not np:
        return xp.asarray(cumextreme_index.fwd(np, xp.asnumpy(x), axis, upper))
    acc = (xp.maximum if upper else xp.minimum).accumulate(x, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    pos = xp.arange(x.shape[axis]).reshape(shape)
    same = x == acc
    if x.dtype.kind in "fc":  # a NaN is the running extreme from where it appears on
        same = same | (xp.isnan(x) & xp.isnan(acc))
    hit = xp.where(same, pos, 0)
    return xp.maximum.accumulate(hit, axis=axis).astype(np.int64)


def _cumextreme(x, dim, upper, name):
    from .manipulation import gather
    if x.ndim == 0:  # dim 0 or -1 only, as torch
        normalize_axis(dim, 1, name)
        return _ValuesIndices(x * 1, Tensor(np.zeros((), np.int64), device=x.device))
    ax = _ax(x, dim, name)
    idx = apply(cumextreme_index, x, params=(ax, upper))
    return _ValuesIndices(gather(x, ax, idx), idx)


def cummax(x, dim=None, *, axis=None):
    """(running max, its index) along dim; the gradient goes to the index each holds."""
    return _cumextreme(x, axis if dim is None else dim, True, "cummax")


def cummin(x, dim=None, *, axis=None):
    """(running min, its index) along dim."""
    return _cumextreme(x, axis if dim is None else dim, False, "cummin")


@op(name="median_index", params=("axis",), differentiable=False)
def median_index(xp, x, axis):
    """The index along axis (kept) of the lower median, the first NaN's where there is one
    (the median is then NaN, as torch's)."""
    order = xp.argsort(x, axis=axis, kind="stable")
    pos = xp.full(x.shape[:axis] + (1,) + x.shape[axis + 1:], (x.shape[axis] - 1) // 2)
    idx = xp.take_along_axis(order, pos, axis=axis)
    if x.dtype.kind in "fc":
        nan = xp.isnan(x)
        idx = xp.where(nan.any(axis=axis, keepdims=True),
                       xp.argmax(nan, axis=axis, keepdims=True), idx)
    return idx.astype(np.int64)


@op(name="median_ties", differentiable=False)
def median_ties(xp, x, v):
    """1/k at the k elements of x equal to v (at the NaNs when v is NaN), else 0."""
    hit = xp.where(xp.isnan(v), xp.isnan(x), x == v)
    return (hit / xp.maximum(hit.sum(), 1)).astype(x.dtype)


def _nonempty_dim(x, ax, name):
    if x.shape[ax] == 0:
        from ..errors import IndexingError
        raise IndexingError(f"{name}(): expected reduction dim {ax} to have non-zero size, "
                            f"got shape {tuple(x.shape)}")


def median_of_all(flat, idx):
    """The element of ``flat`` (1-d) at ``idx`` (shape (1,)) as a 0-d value whose gradient
    is shared evenly by every element equal to it (every NaN when it is NaN), as torch's
    evenly_distribute_backward."""
    from .manipulation import gather
    v = reshape(gather(flat, 0, idx), ()).detach()
    if flat.dtype.kind != "f":  # integers: the element itself, their dtype kept (torch)
        return v
    share = apply(median_ties, flat, v)
    d = where(share > 0, flat, 0.0)
    return v + (sum(d * share) - sum(d.detach() * share))


def median(x, dim=None, keepdim=False):
    """The lower median, NaN where there is a NaN (as torch): of all elements (the gradient
    shared by the elements equal to it), or (values, indices) along dim (the gradient to
    the index)."""
    from .manipulation import gather
    if dim is None:
        flat = reshape(x, (-1,))
        if flat.shape[0] == 0:
            return reshape(sum(flat) * np.nan, ())
        return median_of_all(flat, apply(median_index, flat, params=(0,)))
    if x.ndim == 0:
        _ax(x, dim, "median")
        return _ValuesIndices(x * 1, Tensor(np.zeros((), np.int64), device=x.device))
    ax = _ax(x, dim, "median")
    _nonempty_dim(x, ax, "median")
    idx = apply(median_index, x, params=(ax,))
    v = gather(x, ax, idx)
    if not keepdim:
        v, idx = _squeeze_ax(v, ax), _squeeze_ax(idx, ax)
    return _ValuesIndices(v, idx)


def kthvalue(x, k, dim=-1, keepdim=False):
    """The k-th smallest element along dim (NaN sorting last): (values, indices).

    Raises:
        IndexingError: k outside 1..size of dim, or dim empty (an IndexError and a
        RuntimeError, as torch's).
    """
    ax = _ax(x, dim, "kthvalue")  # 0 for a 0-d tensor (whose dim must be 0 or -1)
    size = x.shape[ax] if x.ndim else 1
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= size:
        from ..errors import IndexingError
        if x.ndim and size == 0:
            _nonempty_dim(x, ax, "kthvalue")
        raise IndexingError(f"kthvalue(): selected number k = {k!r} out of range for "
                            f"dimension {ax or 0} of size {size} (shape {tuple(x.shape)}): k "
                            f"must be in 1..{size}")
    if x.ndim == 0:
        return _ValuesIndices(x * 1, Tensor(np.zeros((), np.int64), device=x.device))
    s = sort(x, dim=ax, stable=True)
    idx = [slice(None)] * x.ndim
    idx[ax] = slice(k - 1, k)
    v, i = s.values[tuple(idx)], s.indices[tuple(idx)]
    if not keepdim:
        v, i = _squeeze_ax(v, ax), _squeeze_ax(i, ax)
    return _ValuesIndices(v, i)


def _squeeze_ax(t, ax):
    return reshape(t, t.shape[:ax] + t.shape[ax + 1:])


# ---------------------------------------------------------------- shape

def movedim(x, source, destination):
    """Dims ``source`` moved to ``destination`` (ints or sequences), the rest in order."""
    # PyTorch's checks in its order and words: the lengths, the range, then repeats
    source = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    destination = (destination,) if isinstance(destination, (int, np.integer)) else \
        tuple(destination)
    if len(source) != len(destination):
        raise ShapeError(f"movedim: Invalid source or destination dims: source {source} dims "
                         f"and destination {destination} dims should contain the same "
                         "number of dims")
    if x.ndim == 0:  # dims 0 / -1 name the 0-d tensor itself (PyTorch)
        for a in source + destination:
            normalize_axis(a, 0, "movedim")
        return reshape(x, ())
    src = tuple(normalize_axis(a, x.ndim, "movedim")[0] for a in source)
    dst = tuple(normalize_axis(a, x.ndim, "movedim")[0] for a in destination)
    for what, axes, given in (("source", src, source), ("destination", dst, destination)):
        if len(set(axes)) != len(axes):
            raise ShapeError(f"movedim: repeated dim in `{what}` ({list(given)})")
    order = [None] * x.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(a for a in range(x.ndim) if a not in src)
    order = tuple(next(rest) if o is None else o for o in order)
    return transpose(x, order)


moveaxis = movedim


def permute(x, *dims):
    """torch.permute: dims as varargs or one sequence (always a whole permutation: on a
    2-d tensor ``permute(x, 0, 1)`` is the identity, not a swap)."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return transpose(x, tuple(dims))


def unflatten(x, dim, sizes):
    """Dimension ``dim`` split into ``sizes`` (one may be -1)."""
    ax = _ax(x, dim, "unflatten")
    return reshape(x, x.shape[:ax] + tuple(sizes) + x.shape[ax + 1:])


def unbind(x, dim=0):
    """The slices along dim, as a tuple."""
    ax = _ax(x, dim, "unbind")
    pre = (slice(None),) * ax
    return tuple(x[pre + (i,)] for i in range(x.shape[ax]))


def narrow(x, dim, start, length):
    """The slice start:start+length along dim."""
    ax = _ax(x, dim, "narrow")
    start = start + x.shape[ax] if start < 0 else start
    return x[(slice(None),) * ax + (slice(start, start + length),)]


def _diag_index(n1, n2, offset):
    i = np.arange(builtins_max(0, builtins_min(n1 - builtins_max(0, -offset),
                                               n2 - builtins_max(0, offset))))
    return i + builtins_max(0, -offset), i + builtins_max(0, offset)


builtins_max, builtins_min = max, min


@op(name="diagonal", params=("offset", "dim1", "dim2"), view=True)
def diagonal_op(xp, x, offset, dim1, dim2):
    """A view of the diagonal of dims dim1, dim2 (moved last), writable as torch's: an
    in-place write into it lands in x."""
    d = x.diagonal(offset, dim1, dim2)
    if xp is np and not d.flags.writeable and x.flags.writeable:
        d.setflags(write=True)  # NumPy hands diagonals out read-only; the memory is x's
    return d


@diagonal_op.vjp
def _(g, x_shape, x_dtype, offset, dim1, dim2):
    from . import view_put  # the zeros with g on the diagonal
    from .creation import zeros
    return apply(view_put, zeros(x_shape, dtype=x_dtype, device=g.device), g,
                 params=(diagonal_op, (offset, dim1, dim2)))


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The diagonal of dims dim1, dim2 (moved last), as torch.diagonal: a view."""
    d1, d2 = (normalize_axis(d, x.ndim, "diagonal")[0] for d in (dim1, dim2))
    if d1 == d2:
        raise ShapeError(f"diagonal: dim1 and dim2 cannot be the same dimension ({dim1}) "
                         f"of a tensor of shape {x.shape}")
    return apply(diagonal_op, x, params=(int(offset), d1, d2))


def diag(x, diagonal=0):
    """A 1-d x as a diagonal matrix, or the diagonal of a 2-d x."""
    if x.ndim == 2:
        return globals()["diagonal"](x, diagonal)
    if x.ndim != 1:
        raise ShapeError(f"diag: expected a 1-d or 2-d tensor, got shape {x.shape}")
    n = x.shape[0] + abs(diagonal)
    r, c = _diag_index(n, n, diagonal)
    out = Tensor(np.zeros((n, n), x.dtype), device=x.device)
    out[Tensor(r, device=x.device), Tensor(c, device=x.device)] = x
    return out


def diag_embed(x, offset=0):
    """The last dim of x as the diagonals of matrices (torch.diag_embed, dims -2, -1)."""
    n = x.shape[-1] + abs(offset)
    r, c = _diag_index(n, n, offset)
    out = Tensor(np.zeros(x.shape[:-1] + (n, n), x.dtype), device=x.device)
    out[..., Tensor(r, device=x.device), Tensor(c, device=x.device)] = x
    return out


def trace(x):
    """The sum of the main diagonal of a 2-d tensor."""
    return sum(diagonal(x))


def repeat_interleave(x, repeats, dim=None):
    """Each element repeated ``repeats`` (an int) times along dim (flattened when None)."""
    if not isinstance(repeats, (int, np.integer)):
        reps = np.asarray(repeats.numpy() if isinstance(repeats, Tensor) else repeats)
        if reps.size == 1:
            repeats = int(reps.reshape(()))
        else:
            if dim is None:
                x, dim = reshape(x, (-1,)), 0
            ax = _ax(x, dim, "repeat_interleave")
            idx = np.repeat(np.arange(x.shape[ax]), reps)
            return index_select(x, ax, Tensor(idx, device=x.device))
    if dim is None:
        x, dim = reshape(x, (-1,)), 0
    ax = _ax(x, dim, "repeat_interleave")
    y = unsqueeze(x, ax + 1)
    y = broadcast_to(y, y.shape[:ax + 1] + (int(repeats),) + y.shape[ax + 2:])
    return reshape(y, x.shape[:ax] + (x.shape[ax] * int(repeats),) + x.shape[ax + 1:])


def rot90(x, k=1, dims=(0, 1)):
    """x rotated by 90 degrees k times in the plane of dims (from the first towards the
    second), as torch.rot90 and numpy.rot90."""
    d0, d1 = (normalize_axis(d, x.ndim, "rot90")[0] for d in dims)
    k %= 4
    if k == 1:
        return transpose(flip(x, d1), *_swap(x.ndim, d0, d1))
    if k == 2:
        return flip(x, (d0, d1))
    if k == 3:
        return flip(transpose(x, *_swap(x.ndim, d0, d1)), d1)
    return x * 1


def _swap(nd, a, b):
    order = list(range(nd))
    order[a], order[b] = order[b], order[a]
    return (tuple(order),)


def ravel(x):
    """x as one dimension (NumPy's spelling of flatten)."""
    return reshape(x, (-1,))


def expand_dims(x, axis):
    """NumPy's spelling of unsqueeze."""
    return unsqueeze(x, axis)


def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


def broadcast_tensors(*tensors):
    """The tensors broadcast to one shape."""
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(broadcast_to(t, shape) for t in tensors)


def _atleast(t, n):
    return reshape(t, (1,) * (n - t.ndim) + t.shape) if t.ndim < n else t


def hstack(tensors):
    """Concatenated along dim 1 (dim 0 for 1-d tensors)."""
    ts = [_atleast(t, 1) for t in tensors]
    return concatenate(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenated along dim 0, 1-d tensors as rows."""
    return concatenate([_atleast(t, 2) for t in tensors], 0)


def unfold_dim(x, dimension, size, step):
    """Tensor.unfold: the windows of ``size`` every ``step`` along ``dimension``, as a
    new last dim."""
    for v in (size, step):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ArgumentError(f"unfold: size and step must be integers, got size {size!r} "
                                f"and step {step!r}")
    ax = normalize_axis(dimension, max(x.ndim, 1), "unfold")[0]
    length = x.shape[ax] if x.ndim else 1
    if size < 0:  # torch's checks, in its order
        raise ArgumentError(f"unfold: size is {size} but must be >= 0")
    if size > length:
        raise ArgumentError(f"unfold: maximum size for tensor at dimension {ax} is {length} "
                            f"but size is {size}")
    if step <= 0:
        raise ArgumentError(f"unfold: step is {step} but must be > 0")
    if x.ndim == 0:  # a 0-d tensor is one window of size 1 (or none of size 0)
        return reshape(x, (1,))[:size]
    n = (x.shape[ax] - size) // step + 1
    idx = np.arange(n)[:, None] * step + np.arange(size)[None, :]
    y = index_select(x, ax, Tensor(idx.reshape(-1), device=x.device))
    y = reshape(y, x.shape[:ax] + (n, size) + x.shape[ax + 1:])
    return movedim(y, ax + 1, -1)


# ---------------------------------------------------------------- indexing

def index_select(x, dim, index):
    """x's entries at ``index`` (1-d) along dim."""
    ax = _ax(x, dim, "index_select")
    index = _t(index, x)
    if x.ndim == 0:  # PyTorch: a 0-d tensor takes one index (0) and stays 0-d
        if index.size != 1:
            raise ShapeError(f"index_select: index to a 0-d tensor can have only 1 value, "
                             f"got {index.size}")
        return reshape(reshape(x, (1,))[reshape(index, (1,))], ())
    return x[(slice(None),) * ax + (index,)]


def masked_select(x, mask):
    """The elements where mask is true, as a 1-d tensor (mask broadcast with x)."""
    mask = _t(mask, x)
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return broadcast_to(x, shape)[broadcast_to(mask, shape)]


@op(name="nonzero", differentiable=False)
def nonzero_op(xp, x):
    """The indices of the nonzero elements, one row each (int64)."""
    return xp.argwhere(x).astype(np.int64)


def nonzero(x, *, as_tuple=False):
    """torch.nonzero: an (n, ndim) int64 tensor, or a tuple of 1-d index tensors."""
    out = apply(nonzero_op, x)
    if as_tuple:
        return tuple(out[:, i] for i in range(max(x.ndim, 1)))
    return out


def argwhere(x):
    return apply(nonzero_op, x)


@op(name="unique", params=("axis",), differentiable=False)
def unique_op(xp, x, axis):
    """(values, inverse, counts): the sorted unique elements of x (or slices along axis, in
    lexicographic order), the index of each element's value, and how often each occurs."""
    if axis is not None:
        if xp is not np:  # a lexicographic sort of slices: on the host
            return tuple(xp.asarray(a) for a in unique_op.fwd(np, xp.asnumpy(x), axis))
        moved = np.moveaxis(x, axis, 0)
        rows = moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:])))
        # lexsort's last key is the primary one: the first column leads, as torch's order
        order = np.lexsort(rows.T[::-1]) if rows.shape[1] else np.arange(rows.shape[0])
        s = rows[order]
        keep = np.ones(s.shape[0], dtype=bool)
        keep[1:] = (s[1:] != s[:-1]).any(axis=1)  # a NaN differs from itself, as in torch
        values = np.moveaxis(moved[order][keep], 0, axis)
        shape = (x.shape[axis],)
    else:
        flat = x.reshape(-1)
        order = xp.argsort(flat, kind="stable")  # the first of equal values (0.0 or -0.0) stays
        s = flat[order]
        keep = xp.ones(s.shape, dtype=bool)
        keep[1:] = s[1:] != s[:-1]
        values = s[keep]
        shape = x.shape
    inverse = xp.empty(order.shape, dtype=np.int64)
    inverse[order] = xp.cumsum(keep) - 1
    starts = xp.nonzero(keep)[0]
    counts = xp.diff(xp.concatenate([starts, xp.asarray([keep.shape[0]], dtype=starts.dtype)]))
    return values, inverse.reshape(shape), counts.astype(np.int64)


def unique(x, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """torch.unique: the sorted unique elements of x (of the flattened tensor, or the unique
    slices along dim in lexicographic order); optionally the index of each element's (or
    slice's) value in them and their counts. ``sorted=False`` sorts too, as torch on the
    CPU."""
    x = _t(x)
    axis = None
    if dim is not None:
        if x.ndim == 0:
            raise AxisError(f"unique: dim {dim} given for a 0-d tensor: Dimension specified "
                            f"as {dim} but tensor has no dimensions")
        axis = normalize_axis(dim, x.ndim, "unique")[0]
        zeros = [d for d, n in enumerate(x.shape) if n == 0]
        if len(zeros) > 1 or (zeros and zeros[0] != axis):
            raise ShapeError(f"unique: dim={dim} of a tensor of shape {x.shape}: there are 0 "
                             f"sized dimensions other than dim, so unique cannot be applied")
    values, inverse, counts = apply(unique_op, x, params=(axis,))
    out = (values,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts
                                                                else ())
    return out[0] if len(out) == 1 else out


def index_fill(x, dim, index, value):
    """x with value written at ``index`` (1-d) along dim."""
    ax = _ax(x, dim, "index_fill")
    mask = np.zeros(x.shape[ax], bool)
    mask[np.asarray(_t(index).numpy())] = True
    shape = [1] * x.ndim
    shape[ax] = x.shape[ax]
    return where(Tensor(mask.reshape(shape), device=x.device), value, x)


def index_add(x, dim, index, source, *, alpha=1):
    """x with ``alpha * source`` added at ``index`` (1-d) along dim."""
    ax = _ax(x, dim, "index_add")
    index = _t(index, x)
    shape = [1] * source.ndim
    shape[ax] = index.shape[0]
    idx = broadcast_to(reshape(index, tuple(shape)), source.shape)
    return scatter_add(x, ax, idx, source * alpha if alpha != 1 else source)


# ---------------------------------------------------------------- linear algebra

def _matmul(a, b):
    from .linalg import matmul
    return matmul(a, b)


def outer(a, b):
    """a[:, None] * b[None, :]."""
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def _matmul_of(name, nda, ndb, what):
    """torch's fixed-rank spellings of matmul (dot, mv, mm, bmm): matmul after a check."""
    def fn(a, b):
        if a.ndim != nda or b.ndim != ndb:
            raise ShapeError(f"{name}: expected {what}, got {a.shape} and {b.shape}")
        if a.dtype != b.dtype:
            from .linalg import check_same_dtype
            check_same_dtype(name, a, b)
        return _matmul(a, b)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"a @ b for {what} (torch.{name})."
    return fn


dot = _matmul_of("dot", 1, 1, "two 1-d tensors")
mv = _matmul_of("mv", 2, 1, "a 2-d and a 1-d tensor")
mm = _matmul_of("mm", 2, 2, "two 2-d tensors")
bmm = _matmul_of("bmm", 3, 3, "two 3-d tensors")


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (mat1 @ mat2)."""
    p = _matmul(mat1, mat2)
    return (input if beta == 1 else input * beta) + (p if alpha == 1 else p * alpha)


def tensordot(a, b, dims=2, *, axes=None):
    """Contraction over the last ``dims`` dims of a and the first of b (or explicit lists;
    ``axes=`` as NumPy spells it)."""
    dims = dims if axes is None else axes
    if a.dtype != b.dtype:
        from .linalg import check_same_dtype
        check_same_dtype("tensordot", a, b)
    if isinstance(dims, (int, np.integer)):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    da = [d % a.ndim for d in da]
    db = [d % b.ndim for d in db]
    fa = [d for d in range(a.ndim) if d not in da]
    fb = [d for d in range(b.ndim) if d not in db]
    k = int(np.prod([a.shape[d] for d in da]))
    a2 = reshape(transpose(a, tuple(fa + da)), (-1, k))
    b2 = reshape(transpose(b, tuple(db + fb)), (k, -1))
    return reshape(_matmul(a2, b2), tuple(a.shape[d] for d in fa) + tuple(b.shape[d]
                                                                          for d in fb))


def cross(a, b, dim=None):
    """The 3-vector cross product along dim (the first of size 3 when None)."""
    if dim is None:
        dim = next(i for i, s in enumerate(np.broadcast_shapes(a.shape, b.shape)) if s == 3)
    a, b = broadcast_tensors(a, b)
    ax = _ax(a, dim, "cross")

    def c(t, i):
        return t[(slice(None),) * ax + (slice(i, i + 1),)]
    a0, a1, a2 = c(a, 0), c(a, 1), c(a, 2)
    b0, b1, b2 = c(b, 0), c(b, 1), c(b, 2)
    return concatenate([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], ax)


# ---------------------------------------------------------------- normalization

def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalized over groups of channels (dim 1) and the spatial dims, then scaled."""
    n, c = x.shape[0], x.shape[1]
    y = reshape(x, (n, num_groups, -1))
    m = mean(y, axis=-1, keepdims=True)
    v = var(y, -1, keepdim=True, correction=0)
    y = reshape((y - m) / sqrt(v + eps), x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Each (sample, channel) normalized over its spatial dims, as F.instance_norm; with
    running statistics given, they are updated in place (no gradient) by PyTorch's rule:
    ``running = (1 - momentum) running + momentum * mean over the batch of each instance's
    mean (unbiased variance)``. ``use_input_stats=False`` normalizes with them instead."""
    if x.ndim < 3:
        raise ShapeError(f"instance_norm: expected an input of at least 3 dims (N, C, ...), "
                         f"got shape {x.shape}")
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ArgumentError("instance_norm: use_input_stats=False needs running_mean and "
                                "running_var")
        y = (x - reshape(running_mean, shape)) / sqrt(reshape(running_var, shape) + eps)
        y = y if weight is None else y * reshape(weight, shape)
        return y if bias is None else y + reshape(bias, shape)
    out = group_norm(x, c, weight, bias, eps)
    if running_mean is not None or running_var is not None:
        axes = tuple(range(2, x.ndim))
        n = x.size // (x.shape[0] * c) if x.size else 0
        with no_grad():
            xd = x.detach()
            m = mean(xd, axis=axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += mean(m, axis=0) * momentum
            if running_var is not None:
                xc = xd - reshape(m, m.shape + (1,) * len(axes))
                v = sum(xc * xc, axis=axes) * (1.0 / max(n - 1, 1))
                running_var *= 1 - momentum
                running_var += mean(v, axis=0) * momentum
    return out


def rms_norm(x, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) over the trailing normalized_shape dims, then scaled."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    y = x / sqrt(mean(x * x, axis=axes, keepdims=True) + eps)
    return y * weight if weight is not None else y


# ---------------------------------------------------------------- losses

def _reduce_loss(v, reduction, name):
    if reduction == "mean":
        return mean(v)
    if reduction == "sum":
        return sum(v)
    if reduction == "none":
        return v
    raise ArgumentError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def kl_div(input, target, reduction="mean", log_target=False):  # noqa: A002
    """target * (log target - input) (input holds log-probabilities), as F.kl_div;
    ``reduction="batchmean"`` divides the sum by the batch size."""
    if log_target:
        v = exp(target) * (target - input)
    else:
        v = xlogy(target, target) - target * input
    if reduction == "batchmean":
        return sum(v) * (1.0 / (input.shape[0] if input.ndim else 1))
    return _reduce_loss(v, reduction, "kl_div")


def margin_ranking_loss(x1, x2, target, margin=0.0, reduction="mean"):
    """max(0, -target * (x1 - x2) + margin)."""
    return _reduce_loss(maximum(-target * (x1 - x2) + margin, 0.0), reduction,
                        "margin_ranking_loss")


def soft_margin_loss(x, target, reduction="mean"):
    """log(1 + exp(-target * x))."""
    return _reduce_loss(logaddexp(-target * x, 0.0 * x), reduction, "soft_margin_loss")


def softshrink(x, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    return apply(_math.softshrink_op, _t(x), params=(float(lambd),))


def hardshrink(x, lambd=0.5):
    """x where |x| > lambd, else 0."""
    return apply(_math.hardshrink_op, _t(x), params=(float(lambd),))


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of x1 - x2 + eps over the last dimension, as F.pairwise_distance."""
    return norm(x1 - x2 + eps, p, dim=-1, keepdim=keepdim)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):  # noqa: A002
    """input where target is 1, max(0, margin - input) where it is -1 (PyTorch's sum of
    both masked terms)."""
    v = where(target != 1, maximum(margin - input, 0.0), input * 0.0) + \
        where(target != -1, input, input * 0.0)
    return _reduce_loss(v, reduction, "hinge_embedding_loss")


def cosine_embedding_loss(x1, x2, target, margin=0.0, reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos - margin) where it is -1; cos over the
    last dimension with PyTorch's eps of 1e-12 on each squared norm."""
    if x1.shape != x2.shape or x1.ndim not in (1, 2):
        raise ShapeError(f"cosine_embedding_loss: inputs of shapes {x1.shape} and {x2.shape} "
                         "must be equal 1-d or 2-d")
    d = x1.ndim - 1
    cos = sum(x1 * x2, d) / sqrt((sum(x1 * x1, d) + 1e-12) * (sum(x2 * x2, d) + 1e-12))
    v = where(target == 1, 1.0 - cos, cos * 0.0) + \
        where(target == -1, maximum(cos - margin, 0.0), cos * 0.0)
    return _reduce_loss(v, reduction, "cosine_embedding_loss")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6,
                        swap=False, reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) with d the
    pairwise_distance; ``swap`` takes the smaller of d(a, n) and d(p, n)."""
    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_an = minimum(d_an, pairwise_distance(positive, negative, p, eps))
    return _reduce_loss(maximum(margin + d_ap - d_an, 0.0), reduction, "triplet_margin_loss")


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8,  # noqa: A002
                     reduction="mean"):
    """exp(input) - target * input (log_input), else input - target * log(input + eps);
    ``full`` adds Stirling's term where target > 1."""
    v = exp(input) - target * input if log_input else input - target * log(input + eps)
    if full:
        t = _t(target, input)
        safe = where(t > 1, t, t * 0.0 + 1.0)
        stirling = safe * log(safe) - safe + 0.5 * log(2 * _m.pi * safe)
        v = v + where(t > 1, stirling, t * 0.0)
    return _reduce_loss(v, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6,  # noqa: A002
                      reduction="mean"):
    """0.5 (log var + (input - target)^2 / var) (+ 0.5 log 2 pi with ``full``), var
    clamped at eps for the value only (its gradient passes unchanged, as PyTorch's
    in-place clamp under no_grad); var may lack the last dimension or have it of size 1."""
    var = _t(var, input)
    if var.ndim == input.ndim - 1 and var.shape == input.shape[:-1]:
        var = unsqueeze(var, -1)
    if var.shape != input.shape and var.shape != input.shape[:-1] + (1,) and \
            var.ndim != 0:
        raise ShapeError(f"gaussian_nll_loss: var of shape {var.shape} does not fit input of "
                         f"shape {input.shape}")
    if bool((var.data < 0).any()):
        raise ArgumentError("gaussian_nll_loss: var has negative entries")
    var = var + (maximum(var, eps) - var).detach()
    v = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        v = v + 0.5 * _m.log(2 * _m.pi)
    return _reduce_loss(v, reduction, "gaussian_nll_loss")


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):  # noqa: A002
    """-(t log sigmoid(x) + (1 - t) log sigmoid(-x)), weighted, averaged over the classes
    (the last dimension), then reduced over the batch."""
    v = -(target * log_sigmoid(input) + (1 - target) * log_sigmoid(-input))
    if weight is not None:
        v = v * weight
    v = mean(v, -1)
    return _reduce_loss(v, reduction, "multilabel_soft_margin_loss")



# ---------------------------------------------------------------- 1-d conv and pooling

def _as2d(x, fn, *args, **kw):
    y = fn(unsqueeze(x, -2), *args, **kw)
    return reshape(y, y.shape[:-2] + (y.shape[-1],))


def _one(v):
    return v if isinstance(v, str) else (1, v if isinstance(v, int) else v[0])


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """conv_transpose2d on a height of 1."""
    w = unsqueeze(weight, -2)
    return _as2d(x, _conv.conv_transpose2d, w, bias, stride=_one(stride),
                 padding=(0, padding if isinstance(padding, int) else padding[0]),
                 output_padding=(0, output_padding if isinstance(output_padding, int)
                                 else output_padding[0]),
                 groups=groups, dilation=_one(dilation))


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max_pool2d on a height of 1 (``return_indices``: the index along the length)."""
    kw = dict(stride=None if stride is None else _one(stride),
              padding=(0, padding if isinstance(padding, int) else padding[0]),
              dilation=_one(dilation), ceil_mode=ceil_mode)
    if return_indices:
        v, i = _conv.max_pool2d(unsqueeze(x, -2), _one(kernel_size), return_indices=True, **kw)
        return _squeeze_ax(v, v.ndim - 2), _squeeze_ax(i, i.ndim - 2)
    return _as2d(x, _conv.max_pool2d, _one(kernel_size), **kw)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """avg_pool2d on a height of 1."""
    return _as2d(x, _conv.avg_pool2d, _one(kernel_size),
                 stride=None if stride is None else _one(stride),
                 padding=(0, padding if isinstance(padding, int) else padding[0]),
                 ceil_mode=ceil_mode, count_include_pad=count_include_pad)


def adaptive_avg_pool1d(x, output_size):
    """adaptive_avg_pool2d on a height of 1."""
    return _as2d(x, _conv.adaptive_avg_pool2d,
                 (1, output_size if isinstance(output_size, int) else output_size[0]))


__all__ = [
    "lerp", "addcmul", "addcdiv", "frac", "hypot", "copysign", "xlogy", "logaddexp2",
    "nan_to_num", "clamp", "clip", "clamp_min", "clamp_max", "celu", "hardsigmoid",
    "hardswish", "tanhshrink", "softmin", "threshold", "glu", "prelu", "normalize",
    "cosine_similarity", "amax", "amin", "var_mean", "std_mean", "norm", "logcumsumexp",
    "cummax", "cummin", "median", "kthvalue", "movedim", "moveaxis", "permute", "unflatten",
    "unbind", "narrow", "diagonal", "diag", "diag_embed", "trace", "repeat_interleave",
    "fliplr", "flipud", "rot90", "ravel", "expand_dims", "broadcast_tensors", "hstack",
    "vstack", "index_select", "masked_select", "nonzero", "argwhere", "unique",
    "index_fill", "index_add", "outer", "dot", "mv", "mm", "bmm", "addmm", "tensordot",
    "cross", "group_norm", "instance_norm", "rms_norm", "kl_div", "margin_ranking_loss",
    "soft_margin_loss", "softshrink", "hardshrink", "pairwise_distance", "hinge_embedding_loss",
    "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
    "multilabel_soft_margin_loss", "conv_transpose1d", "max_pool1d", "avg_pool1d",
    "adaptive_avg_pool1d",
]
clip = clamp

TENSOR_METHODS = {name: globals()[name] for name in (
    "lerp", "addcmul", "addcdiv", "frac", "hypot", "copysign", "xlogy", "logaddexp2",
    "nan_to_num", "clamp", "clip", "clamp_min", "clamp_max", "amax", "amin", "norm",
    "logcumsumexp", "cummax", "cummin", "median", "kthvalue", "movedim", "moveaxis",
    "permute", "unflatten", "unbind", "narrow", "diagonal", "diag", "diag_embed", "trace",
    "repeat_interleave", "fliplr", "flipud", "rot90", "ravel", "index_select",
    "masked_select", "nonzero", "argwhere", "unique", "index_fill", "index_add",
    "outer", "dot", "mv", "mm", "bmm", "addmm", "tensordot", "cross")}
TENSOR_METHODS.update(unfold=unfold_dim, softmin=softmin,
                      where=lambda self, condition, other: where(condition, self, other))
