"""Op family: normalization, regularization, embedding and attention, as PyTorch's F.

layer_norm and batch_norm (training) share one op, normalize-scale-shift over given axes.
Its backward on first-order calls is one fused op that recomputes the statistics from the
saved input (a few passes, no saved temporaries); under ``create_graph`` it is written in
Tensor ops, so higher orders work.

Randomness (dropout): the mask is drawn by an op, :data:`dropout_mask`, from the generator
``gradengine.backend.rng(device)`` that ``ge.manual_seed`` seeds, at the moment the op
runs. A ``ge.jit`` replay calls that op again, so every replay draws a fresh mask from the
same generator -- a replay after ``ge.manual_seed(s)`` draws exactly the masks the eager
step would have drawn after the same seed (bit for bit on the CPU). The mask op returns its
mask as a one-element tuple, which ge.jit never merges with an identical-looking call; a
dropout applied to a tensor made *inside* the jitted function (a constant of the program)
would be folded at trace time with its mask, so dropout belongs on activations.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from .. import backend
from ..core.gradmode import is_grad_enabled, no_grad
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from .activations import softmax
from .composite import norm
from .creation import ones, zeros
from .elementwise import where
from .linalg import matmul_op
from .shape import broadcast_to, matrix_transpose, reshape

__all__ = ["layer_norm", "batch_norm", "dropout", "dropout1d", "dropout2d", "dropout3d",
           "embedding", "scaled_dot_product_attention"]
TENSOR_METHODS: dict = {}
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


# ---------------------------------------------------------------- normalize, scale, shift

def _stats(xp, x, axes, eps):
    """(x - mean) and 1 / sqrt(var + eps) over axes (biased variance), in at least float32."""
    xf = x.astype(np.float32) if x.dtype == np.float16 else x
    xc = xf - xf.mean(axis=axes, keepdims=True)
    var = xp.mean(xc * xc, axis=axes, keepdims=True)
    return xc, 1.0 / xp.sqrt(var + eps)


def _rows(x, w, axes):
    """(rows, row length) when axes are x's trailing axes, x is float32/float64 and
    C-contiguous and w (if any) has exactly those axes' shape and x's dtype: the fast 2-D
    path of layer_norm; None otherwise. The forward and the backward decide alike."""
    nd = x.ndim
    k = len(axes)
    if axes != tuple(range(nd - k, nd)) or x.dtype not in (_F32, _F64) or \
            not x.flags.c_contiguous or x.size == 0:
        return None
    tail = x.shape[nd - k:]
    if w is not None and (w.shape != tail or w.dtype != x.dtype):
        return None
    d = 1
    for s in tail:
        d *= s
    return x.size // d, d


_SCRATCH = threading.local()


def _scratch(xp, shape, dtype):
    """A temporary array of shape and dtype, reused from call to call on the CPU (one per
    thread): a fresh 512 KB NumPy array costs ~128 page faults whenever glibc gave the
    last one back to the system, often more than the arithmetic. Never returned to the
    caller. CuPy's pool already reuses memory."""
    if xp is not np:
        return xp.empty(shape, dtype=dtype)
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = _SCRATCH.buf = np.empty(shape, dtype=dtype)
    return buf


def _rowdot(xp, a, b):
    """Dot products along the last axis of two arrays of one shape (one fused pass)."""
    vecdot = getattr(xp, "vecdot", None)
    if vecdot is not None:
        return vecdot(a, b)
    return xp.einsum("...j,...j->...", a, b)


def _norm_forward_rows(xp, x, w, b, eps, r, d):
    """The fast path of :func:`_norm_forward` on (r, d) rows, in the one fresh array it
    returns: the mean by a matrix-vector product (BLAS), the variance from x - mean (exact,
    two passes), then scale and shift in place. Keeps only the mean and 1/std (r values
    each): the backward reads x again rather than a saved xhat."""
    x2 = x.reshape(r, d)
    mean = xp.matmul(x2, xp.ones(d, dtype=x.dtype))
    mean *= 1.0 / d
    out = xp.subtract(x2, mean[:, None])
    var = _rowdot(xp, out, out)
    var *= 1.0 / d
    var += eps
    rstd = xp.sqrt(var, out=var)
    xp.divide(1.0, rstd, out=rstd)
    out *= rstd[:, None]
    if w is not None:
        out *= w.reshape(d)
    if b is not None:
        out += b.reshape(d)
    return out, mean, rstd


def _norm_forward(xp, x, w, b, axes, eps):
    """(out, stat, rstd): out = xhat * w + b with xhat = (x - mean(x)) / sqrt(var(x) + eps)
    over axes (w, b broadcast; None: 1, 0); stat (xhat, or on the fast 2-D path of
    :func:`_rows` the rows' mean) and rstd are kept for the backward."""
    rd = _rows(x, w, axes)
    if rd is not None:  # (out, mean, rstd): see _norm_forward_rows
        out, mean, rstd = _norm_forward_rows(xp, x, w, b, eps, *rd)
        return out.reshape(x.shape), mean, rstd
    xhat, rstd = _stats(xp, x, axes, eps)
    xhat *= rstd  # in place on the fresh x - mean
    if w is not None:
        out = xhat * w
        if b is not None:
            out += b
    elif b is not None:
        out = xhat + b
    else:
        out = xhat.copy()  # never the saved xhat itself: out may be written in place
    if out.dtype != x.dtype:
        out = out.astype(x.dtype)
    return out, xhat, rstd


def _sum_to_shape(xp, a, shape):
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and a.shape[i + lead] != 1)
    out = a.sum(axis=axes, keepdims=True) if axes else a
    return out.reshape(shape)


def _norm_rule(g, x, w, b_shape, b_dtype, xhat, rstd, axes, eps):
    b_shape = None if b_dtype is None else tuple(b_shape)  # no dtype: no bias
    if is_grad_enabled():  # create_graph: the same maths in Tensor ops
        return _norm_grad_tensors(g, x, w, b_shape, axes, eps)
    gx, gw, gb = apply(normalize_backward, g, x, w, xhat, rstd, params=(axes, b_shape))
    return gx, gw, gb


def _norm_grad_tensors(g, x, w, b_shape, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    rstd = ((xc * xc).mean(axis=axes, keepdims=True) + eps) ** -0.5
    xhat = xc * rstd
    gh = g if w is None else g * w
    gx = rstd * (gh - gh.mean(axis=axes, keepdims=True) -
                 xhat * (gh * xhat).mean(axis=axes, keepdims=True))
    gw = None if w is None else g * xhat  # the engine sums each down to its input's shape
    return gx, gw, None if b_shape is None else g


def _make_norm(name):
    def fwd(xp, x, w, b, axes, eps):
        return _norm_forward(xp, x, w, b, axes, eps)
    fwd.__doc__ = f"{name}: (x - mean(x)) / sqrt(var(x) + eps) * w + b over axes."
    o = op(name=name, params=("axes", "eps"), save=("x", "w"), extras=("xhat", "rstd"),
           quiet=True)(fwd)  # its BLAS row means: see ops.linalg
    o.vjp(_norm_rule)
    return o


layer_norm_op = _make_norm("layer_norm")
batch_norm_op = _make_norm("batch_norm")


@op(params=("axes", "b_shape"), differentiable=False, quiet=True)
def normalize_backward(xp, g, x, w, xhat, rstd, axes, b_shape):
    """(gx, gw, gb) of normalize-scale-shift from the forward's xhat and rstd:
    gx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)) with gh = g * w."""
    rd = _rows(x, w, axes)
    if rd is not None:  # xhat holds the mean here
        return _norm_backward_rows(xp, g, x, w, xhat, rstd, b_shape, *rd)
    gf = g.astype(xhat.dtype) if g.dtype != xhat.dtype else g
    gh = gf if w is None else gf * w
    p = gh * xhat
    m2 = xp.mean(p, axis=axes, keepdims=True)
    gx = gh - gh.mean(axis=axes, keepdims=True)  # a fresh array: updated in place below
    xp.multiply(xhat, m2, out=p)
    gx -= p
    gx *= rstd
    gw = None
    if w is not None:
        xp.multiply(gf, xhat, out=p)
        gw = _sum_to_shape(xp, p, w.shape).astype(w.dtype, copy=False)
    gb = None if b_shape is None else _sum_to_shape(xp, g, b_shape)
    return gx.astype(x.dtype, copy=False), gw, gb


def _norm_backward_rows(xp, g, x, w, mean, rstd, b_shape, r, d):
    """The fast path of :data:`normalize_backward` on (r, d) rows, from x, the mean and
    rstd (no saved xhat): with xhat = (x - mean) rstd, every reduction is a matrix-vector
    product (BLAS) of g x or g --
    gw = rstd^T (g x) - (mean rstd)^T g, gb = 1^T g, m1 = mean(g w) = g w / d,
    m2 = mean(g w xhat) = rstd ((g x) w - mean (g w)) / d --
    and gx = rstd (g w - m1 - xhat m2) = (g w) rstd - x k + c with k = rstd^2 m2,
    c = k mean - rstd m1, built in place in the one fresh array returned (the temporary
    g x, then x k, in a reused scratch)."""
    g2 = g.reshape(r, d)
    if g2.dtype != x.dtype:
        g2 = g2.astype(x.dtype)
    x2 = x.reshape(r, d)
    gw = gb = None
    if b_shape is not None:
        gb = xp.matmul(xp.ones(r, dtype=x.dtype), g2).reshape(b_shape)
    gxp = xp.multiply(g2, x2, out=_scratch(xp, (r, d), x.dtype))
    if w is not None:
        w1 = w.reshape(d)
        m1 = xp.matmul(g2, w1)
        m2 = xp.matmul(gxp, w1)
    else:
        ones = xp.ones(d, dtype=x.dtype)
        m1 = xp.matmul(g2, ones)
        m2 = xp.matmul(gxp, ones)
    mr = mean * rstd
    if w is not None:
        gw = (xp.matmul(rstd, gxp) - xp.matmul(mr, g2)).reshape(w.shape)
    m2 -= mean * m1
    m2 *= rstd * (1.0 / d)  # now mean(g w xhat)
    k = rstd * rstd * m2
    c = mean * k
    c -= rstd * m1 * (1.0 / d)
    gx = xp.multiply(g2, w1) if w is not None else g2.copy()
    gx *= rstd[:, None]
    xp.multiply(x2, k[:, None], out=gxp)
    gx -= gxp
    gx += c[:, None]
    return gx.reshape(x.shape), gw, gb


def _check(name, *ts):
    for t in ts:
        if t is not None and not isinstance(t, Tensor):
            raise DTypeError(f"{name}: expected Tensors, got {type(t).__name__}")
        if t is not None and t.dtype.kind != "f":
            raise DTypeError(f"{name}: expected floating tensors, got {t.dtype.name}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """Layer normalization over the trailing ``normalized_shape`` dimensions, as
    ``torch.nn.functional.layer_norm`` (biased variance; weight and bias of that shape).

    Raises:
        ShapeError: the trailing dimensions are not ``normalized_shape``, or weight/bias
            have another shape.
    """
    _check("layer_norm", input, weight, bias)
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or input.shape[input.ndim - k:] != shape or input.ndim < k:
        raise ShapeError(f"layer_norm: input of shape {input.shape} does not end in "
                         f"normalized_shape {shape}")
    for nm, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(f"layer_norm: {nm} of shape {t.shape} is not normalized_shape "
                             f"{shape}")
    axes = tuple(range(input.ndim - k, input.ndim))
    return apply(layer_norm_op, input, weight, bias, params=(axes, float(eps)))


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5):
    """Batch normalization over every axis but the channel axis 1, as
    ``torch.nn.functional.batch_norm``.

    Training normalizes with the batch's statistics (biased variance) and, when running
    statistics are given, updates them in place without recording a gradient:
    ``running = (1 - momentum) * running + momentum * batch`` with the *unbiased* batch
    variance (PyTorch's rule). Evaluation normalizes with the running statistics.

    Raises:
        ShapeError: statistics or weights whose shape is not (C,).
        ValueError: training on one value per channel.
    """
    _check("batch_norm", input, running_mean, running_var, weight, bias)
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input of at least 2 dims (N, C, ...), got "
                         f"shape {input.shape}")
    c = input.shape[1]
    for nm, t in (("running_mean", running_mean), ("running_var", running_var),
                  ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: {nm} of shape {t.shape} does not match the {c} "
                             f"channels of input {input.shape}")
    bshape = (1, c) + (1,) * (input.ndim - 2)
    axes = (0,) + tuple(range(2, input.ndim))
    w = None if weight is None else reshape(weight, bshape)
    b = None if bias is None else reshape(bias, bshape)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation (training=False) needs running_mean "
                             "and running_var")
        scale = (reshape(running_var, bshape) + eps) ** -0.5
        if w is not None:
            scale = scale * w
        out = (input - reshape(running_mean, bshape)) * scale
        return out if b is None else out + b
    n = input.size // c if c else 0
    if n <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                         f"training, got input of shape {input.shape}")
    out = apply(batch_norm_op, input, w, b, params=(axes, float(eps)))
    if running_mean is not None or running_var is not None:
        if momentum is None:
            raise ValueError("batch_norm: momentum=None (a cumulative average) needs the "
                             "batch count; nn.BatchNorm keeps it")
        with no_grad():
            xd = input.detach()
            mean = xd.mean(axis=axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += mean * momentum
            if running_var is not None:
                xc = xd - reshape(mean, bshape)
                var = (xc * xc).sum(axis=axes) * (1.0 / (n - 1))
                running_var *= 1 - momentum
                running_var += var * momentum
    return out


# ---------------------------------------------------------------- dropout

@op(params=("p",), differentiable=False, random=True)
def dropout_mask(xp, x, p):
    """(mask,): 0 with probability p, else 1 / (1 - p), in x's dtype, drawn now from the
    device's seeded generator (a one-element tuple: ge.jit never merges two draws)."""
    dev = "cpu" if xp is np else backend.device_of_array(x)
    gen = backend.rng(dev)
    if dev == "cpu":
        u = gen.random(x.shape, dtype=np.float32)
    else:
        u = gen.random_sample(x.shape, dtype=np.float32)
    scale = 0.0 if p >= 1 else 1.0 / (1.0 - p)
    return ((u >= p).astype(x.dtype) * x.dtype.type(scale),)


def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p), as
    ``torch.nn.functional.dropout``; the input itself when not training or p = 0, zeros
    when p = 1. The mask comes from the generator ``ge.manual_seed`` seeds.

    Raises:
        ValueError: p outside [0, 1], or inplace=True (not supported).
    """
    _check("dropout", input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p!r}")
    if inplace:
        raise ValueError("dropout: inplace=True is not supported; use the returned tensor")
    if not training or p == 0:
        return input
    (mask,) = apply(dropout_mask, input, params=(float(p),))
    return input * mask


def _feature_dropout(name, input, p, training, inplace, dims):  # noqa: A002
    """Whole channels zeroed with probability p (one mask entry per (sample, channel),
    broadcast over the ``dims`` spatial dims), the rest scaled by 1 / (1 - p)."""
    _check(name, input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: probability p must be in [0, 1], got {p!r}")
    if inplace:
        raise ValueError(f"{name}: inplace=True is not supported; use the returned tensor")
    nd = input.ndim
    if nd not in (dims + 1, dims + 2):
        raise ShapeError(f"{name}: expected a {dims + 1}-d (unbatched) or {dims + 2}-d input, "
                         f"got shape {input.shape}")
    if name == "dropout2d" and nd == 3:
        warnings.warn("dropout2d: a 3-d input is taken as (N, C, L), channel-wise 1-d "
                      "dropout, as PyTorch does; use dropout1d", UserWarning, stacklevel=3)
        nd += 1  # treated as batched
    if not training or p == 0:
        return input
    lead = 2 if nd == dims + 2 else 1
    probe = input[(slice(None),) * lead + (slice(0, 1),) * (input.ndim - lead)]
    (mask,) = apply(dropout_mask, probe, params=(float(p),))
    return input * mask


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Channel dropout of (N, C, L) or (C, L) input, as ``torch.nn.functional.dropout1d``."""
    return _feature_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Channel dropout of (N, C, H, W) or (C, H, W) input (a 3-d input is (N, C, L), with a
    warning, as PyTorch), as ``torch.nn.functional.dropout2d``."""
    return _feature_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W) input."""
    return _feature_dropout("dropout3d", input, p, training, inplace, 3)


# ---------------------------------------------------------------- embedding

@op(name="embedding", params=("padding_idx", "zero_pad"), save=("idx",))
def embedding_op(xp, weight, idx, padding_idx, zero_pad):
    """weight[idx] (rows at padding_idx zeroed when zero_pad: the adjoint of the backward)."""
    out = weight[idx]
    if zero_pad and padding_idx is not None:
        out = xp.where((idx == padding_idx)[..., None], out.dtype.type(0), out)
    return out


embedding_op.defvjp(lambda g, idx, weight_shape, padding_idx: apply(
    embedding_backward, g, idx, params=(tuple(weight_shape), padding_idx)), None)


@op(params=("shape", "padding_idx"), save=("idx",))
def embedding_backward(xp, g, idx, shape, padding_idx):
    """Rows of g added into zeros(shape) at idx (repeats accumulate); the padding row gets
    nothing."""
    out = xp.zeros(shape, dtype=g.dtype)
    rows = g.reshape(-1, shape[1])
    flat = idx.reshape(-1)
    if xp is np:
        np.add.at(out, flat, rows)
    else:
        import cupyx
        cupyx.scatter_add(out, flat, rows)
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


embedding_backward.defvjp(lambda gg, idx, padding_idx: apply(
    embedding_op, gg, idx, params=(padding_idx, True)), None)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, dim) looked up by the integer ``input``, as
    ``torch.nn.functional.embedding``; the row at ``padding_idx`` gets no gradient.

    Raises:
        DTypeError: non-integer indices. IndexError: an index out of range.
    """
    if not isinstance(input, Tensor):
        input = Tensor(np.asarray(input), device=weight.device)
    if input.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, got {input.dtype.name}")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-d (num_embeddings, dim), got "
                         f"{weight.shape}")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise IndexError(f"embedding: padding_idx {padding_idx} is out of range for "
                             f"{num} embeddings")
        padding_idx = int(padding_idx) % num
    if input.size:
        lo, hi = int(input.data.min()), int(input.data.max())
        if lo < 0 or hi >= num:
            raise IndexError(f"embedding: index {hi if hi >= num else lo} is out of range "
                             f"for {num} embeddings (weight of shape {weight.shape})")
    if max_norm is not None:  # after the index check: a bad index changes nothing
        _renorm_rows(weight, input, max_norm, norm_type)
    return apply(embedding_op, weight, input, params=(padding_idx, False))


def _renorm_rows(weight, idx, max_norm, norm_type):
    """torch's ``embedding_renorm_``: the looked-up rows whose ``norm_type``-norm exceeds
    ``max_norm`` scaled in place to ``max_norm / (norm + 1e-7)`` times themselves, outside
    the graph (an in-place write, so a graph that saved the weight before it refuses to
    backward, as torch's does). Written in Tensor ops (no host read of which rows), so
    ``ge.jit`` replays it for new indices."""
    num, dt, dev = weight.shape[0], weight.dtype, weight.device
    with no_grad():
        flat = reshape(idx, (-1,))
        hit = zeros((num,), dtype=dt, device=dev).index_add(
            0, flat, ones(flat.shape, dtype=dt, device=dev)).reshape(num, 1) > 0
        norms = norm(weight, p=norm_type, dim=1, keepdim=True)
        scale = (max_norm / (norms.astype("float64") + 1e-7)).astype(dt)
        weight.mul_(where(hit & (norms > max_norm), scale, 1.0))


# ---------------------------------------------------------------- attention

def _causal_fill(xp, s, neg):
    """Set the scores above the diagonal (key j > query i) to neg, in place."""
    L, S = s.shape[-2:]
    s[..., xp.triu(xp.ones((L, S), dtype=bool), 1)] = neg


@op(name="sdpa", params=("scale", "causal"), save=("q", "k", "v"), extras=("p",),
    quiet=True)
def sdpa_op(xp, q, k, v, scale, causal):
    """(softmax(q k^T * scale [causal]) v, p): attention in one op; the probabilities p are
    kept for the backward (scale folded into q, the softmax in place)."""
    qs = q * q.dtype.type(scale)
    s = xp.matmul(qs, xp.swapaxes(k, -1, -2))
    if causal:
        _causal_fill(xp, s, -xp.inf)
    s -= s.max(axis=-1, keepdims=True)
    xp.exp(s, out=s)
    den = s.sum(axis=-1, keepdims=True)
    xp.divide(1.0, den, out=den)
    s *= den
    return xp.matmul(s, v), s


@sdpa_op.vjp
def _sdpa_rule(g, q, k, v, p, scale, causal):
    if is_grad_enabled():  # create_graph: the same maths in Tensor ops
        return _sdpa_grad_tensors(g, q, k, v, scale, causal)
    dq, dk, dv = apply(sdpa_backward, g, q, k, v, p, params=(scale,))
    return dq, dk, dv


def _sdpa_grad_tensors(g, q, k, v, scale, causal):
    sc = apply(matmul_op, q, matrix_transpose(k)) * scale
    if causal:
        L, S = sc.shape[-2:]
        sc = where(Tensor(np.tri(L, S, dtype=bool), device=q.device), sc, -np.inf)
    p = softmax(sc, axis=-1)
    dv = apply(matmul_op, matrix_transpose(p), g)
    dp = apply(matmul_op, g, matrix_transpose(v))
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    dq = apply(matmul_op, ds, k) * scale
    dk = apply(matmul_op, matrix_transpose(ds), q) * scale
    return dq, dk, dv


@op(params=("scale",), differentiable=False, quiet=True)
def sdpa_backward(xp, g, q, k, v, p, scale):
    """(dq, dk, dv) of attention from the probabilities p: dv = p^T g, dS = p (g v^T -
    rowsum(g v^T p)), dq = dS k * scale, dk = dS^T q * scale (batched matmuls, dS in place)."""
    dv = xp.matmul(xp.swapaxes(p, -1, -2), g)
    ds = xp.matmul(g, xp.swapaxes(v, -1, -2))
    rs = _rowdot(xp, ds, p)
    ds -= rs[..., None]
    ds *= p
    sc = ds.dtype.type(scale)
    dq = xp.matmul(ds, k)
    dq *= sc
    dk = xp.matmul(xp.swapaxes(ds, -1, -2), q)
    dk *= sc
    return dq, dk, dv


def _gqa_repeat(query, kv):
    """Grouped-query attention: key / value heads (dim -3) repeated so that each serves
    query heads // key heads consecutive query heads (torch's enable_gqa)."""
    if query.ndim < 3 or kv.ndim < 3:
        return kv
    hq, hk = query.shape[-3], kv.shape[-3]
    if hq == hk:
        return kv
    if hk == 0 or hq % hk:
        raise ShapeError(f"scaled_dot_product_attention: with enable_gqa the query heads "
                         f"({hq}, shape {query.shape}) must be a multiple of the key / value "
                         f"heads ({hk}, shape {kv.shape})")
    lead, (s_, e) = kv.shape[:-3], kv.shape[-2:]
    rep = broadcast_to(reshape(kv, lead + (hk, 1, s_, e)), lead + (hk, hq // hk, s_, e))
    return reshape(rep, lead + (hq, s_, e))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(q @ k^T * scale + mask) @ v, as
    ``torch.nn.functional.scaled_dot_product_attention``: q (..., L, E), k (..., S, E),
    v (..., S, Ev); scale defaults to 1 / sqrt(E); a bool mask keeps where True, a float
    mask is added; is_causal keeps the lower triangle; dropout_p drops attention weights.
    """
    _check("scaled_dot_product_attention", query, key, value)
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2 or query.shape[-1] != key.shape[-1] \
            or key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: query {query.shape}, key "
                         f"{key.shape} and value {value.shape} do not fit (..., L, E), "
                         "(..., S, E), (..., S, Ev)")
    if enable_gqa:
        key, value = _gqa_repeat(query, key), _gqa_repeat(query, value)
    if is_causal and attn_mask is not None:
        raise ArgumentError("scaled_dot_product_attention: give attn_mask or is_causal, not "
                            "both")
    L, S = query.shape[-2], key.shape[-2]
    sc = 1.0 / float(np.sqrt(query.shape[-1])) if scale is None else float(scale)
    if attn_mask is None and not dropout_p > 0 and L and S and \
            query.shape[:-2] == key.shape[:-2] == value.shape[:-2] and \
            query.dtype == key.dtype == value.dtype and query.dtype in (_F32, _F64):
        # the fused path: one op forward, one backward (exact: the same maths)
        return apply(sdpa_op, query, key, value, params=(sc, bool(is_causal)))
    scores = apply(matmul_op, query, matrix_transpose(key)) * sc
    if is_causal:
        attn_mask = np.tril(np.ones((L, S), dtype=bool))
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            attn_mask = Tensor(np.asarray(attn_mask), device=query.device)
        if attn_mask.dtype == np.bool_:
            scores = where(attn_mask, scores, -np.inf)
        else:
            scores = scores + attn_mask
    attn = softmax(scores, axis=-1)
    if dropout_p > 0:
        attn = dropout(attn, dropout_p, training=True)
    return apply(matmul_op, attn, value)
