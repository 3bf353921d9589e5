"""Op family: the rest of ``torch.nn.functional`` -- ``local_response_norm``, ``bilinear``,
``embedding_bag``, ``ctc_loss``, ``gumbel_softmax``, the margin losses
(``multi_margin_loss``, ``multilabel_margin_loss``, ``triplet_margin_with_distance_loss``),
``pdist``, ``rrelu``, ``alpha_dropout`` / ``feature_alpha_dropout``, ``channel_shuffle``,
``affine_grid`` / ``grid_sample``, the in-place activations (``relu_``, ``elu_``, ...) and
the deprecated ``upsample_nearest`` / ``upsample_bilinear``.

Everything but two ops is a composite of differentiable ops (gathers, matmuls, where),
so gradients, higher orders and ge.jit come from those parts. The ops of their own:
``ctc_loss`` (the log-space forward-backward of Graves et al., its gradient computed with
the loss as PyTorch does, and PyTorch's convention for it: the gradient with respect to
the log-probabilities *as outputs of a log_softmax*, ``exp(lp) - posterior``), and the
random draws (``uniform_noise``, ``bernoulli_mask``, ``gumbel_noise``) from the generator
``ge.manual_seed`` seeds, which ge.jit replays draw again. See docs/ops.md.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from .activations import softmax
from .composite import clamp, index_select
from .elementwise import where
from .linalg import matmul
from .math import leaky_relu
from .reductions import max as max_
from .reductions import sum as sum_
from .shape import concatenate, reshape, transpose

__all__ = ["local_response_norm", "bilinear", "embedding_bag", "ctc_loss", "gumbel_softmax",
           "multi_margin_loss", "multilabel_margin_loss", "triplet_margin_with_distance_loss",
           "pdist", "rrelu", "rrelu_", "alpha_dropout", "feature_alpha_dropout",
           "channel_shuffle", "affine_grid", "grid_sample", "relu_", "elu_", "leaky_relu_",
           "hardtanh_", "threshold_", "celu_", "selu_", "upsample_nearest",
           "upsample_bilinear"]
TENSOR_METHODS: dict = {}

_REDUCTIONS = ("none", "mean", "sum")


def _floating(name, x, what="input"):
    if not isinstance(x, Tensor):
        raise DTypeError(f"{name}: expected {what} to be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise DTypeError(f"{name}: expected a floating {what}, got dtype {x.dtype.name}")


def _reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ArgumentError(f"{name}: reduction must be one of {list(_REDUCTIONS)}, got "
                            f"{reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _const(arr, like):
    return Tensor(arr, device=like.device)


def _host(t):
    """The values of an integer Tensor (or array / list) on the host, for argument checks
    only: read without the dispatch, so ge.jit does not take the read for control flow
    (every value the result depends on goes through ops; a replay skips the checks)."""
    if isinstance(t, Tensor):
        return backend.to_device_array(t.data, "cpu")
    return np.asarray(t)


def _int_tensor(t, like, name, what):
    """``t`` as an integer Tensor on ``like``'s device (lengths and targets may live on the
    CPU beside CUDA inputs, as PyTorch lets them)."""
    if not isinstance(t, Tensor):
        t = Tensor(np.asarray(t), device=like.device)
    if t.dtype.kind not in "iu":
        raise DTypeError(f"{name}: {what} must hold integers, got dtype {t.dtype.name}")
    return t if t.device == like.device else t.to(like.device)


def _arange(n, like, shape=None, dtype=np.int64):
    a = np.arange(n, dtype=dtype)
    return _const(a if shape is None else a.reshape(shape), like)


# ---------------------------------------------------------------- random draws

def _gen(xp, x):
    dev = "cpu" if xp is np else backend.device_of_array(x)
    return dev, backend.rng(dev)


def _uniform01(xp, x, shape):
    dev, gen = _gen(xp, x)
    if dev == "cpu":
        return gen.random(shape, dtype=np.float64)
    return gen.random_sample(shape, dtype=np.float64)


@op(params=("lower", "upper"), differentiable=False, random=True)
def uniform_noise(xp, x, lower, upper):
    """(u,): U(lower, upper) of x's shape and dtype, drawn now from the seeded generator."""
    u = _uniform01(xp, x, x.shape)
    return ((lower + (upper - lower) * u).astype(x.dtype),)


@op(params=("shape", "p"), differentiable=False, random=True)
def bernoulli_mask(xp, x, shape, p):
    """(mask,): 1 with probability 1 - p, else 0, of ``shape`` in x's dtype (seeded)."""
    return ((_uniform01(xp, x, shape) >= p).astype(x.dtype),)


@op(differentiable=False, random=True, quiet=True)
def gumbel_noise(xp, x):
    """(g,): standard Gumbel noise -log(E), E ~ Exp(1), of x's shape and dtype (seeded)."""
    u = _uniform01(xp, x, x.shape)
    e = -xp.log1p(-u)  # Exp(1) from U[0, 1)
    return ((-xp.log(xp.maximum(e, np.finfo(np.float64).tiny))).astype(x.dtype),)


# ---------------------------------------------------------------- normalization, layers

def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):  # noqa: A002
    """``x / (k + alpha * mean_window(x^2)) ^ beta`` over a window of ``size`` neighbouring
    channels (dim 1, zero-padded: ``size // 2`` before, ``(size - 1) // 2`` after), as
    ``torch.nn.functional.local_response_norm``.

    Raises:
        ShapeError: input of fewer than 3 dimensions.
    """
    _floating("local_response_norm", input)
    if input.ndim < 3:
        raise ShapeError(f"local_response_norm: expected 3 or more dimensions, got input of "
                         f"shape {input.shape}")
    size = int(size)
    if size < 1:
        raise ArgumentError(f"local_response_norm: size must be positive, got {size}")
    sq = input * input
    c = input.shape[1]
    before, after = size // 2, (size - 1) // 2
    rest = input.shape[2:]
    parts = []
    if before:
        parts.append(_const(np.zeros((input.shape[0], before) + rest, input.dtype), input))
    parts.append(sq)
    if after:
        parts.append(_const(np.zeros((input.shape[0], after) + rest, input.dtype), input))
    padded = concatenate(parts, 1) if len(parts) > 1 else sq
    win = None
    for i in range(size):
        s = padded[:, i:i + c]
        win = s if win is None else win + s
    div = (win * (1.0 / size) * alpha + k) ** beta
    return input / div


def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o]``, as
    ``torch.nn.functional.bilinear`` (weight (out, in1, in2)).

    Raises:
        ShapeError: feature sizes that do not match the weight, or different batch shapes.
    """
    for t, w in ((input1, "input1"), (input2, "input2"), (weight, "weight")):
        _floating("bilinear", t, w)
    if weight.ndim != 3 or input1.shape[-1:] != weight.shape[1:2] or \
            input2.shape[-1:] != weight.shape[2:3] or input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"bilinear: input1 {input1.shape} and input2 {input2.shape} do not "
                         f"match weight {weight.shape} (out, in1, in2)")
    o, i, j = weight.shape
    lead = input1.shape[:-1]
    x1 = reshape(input1, (-1, i))
    x2 = reshape(input2, (-1, j))
    w = reshape(transpose(weight, (1, 0, 2)), (i, o * j))
    t = reshape(matmul(x1, w), (-1, o, j))
    y = sum_(t * reshape(x2, (-1, 1, j)), axis=2)
    if bias is not None:
        y = y + bias
    return reshape(y, lead + (o,))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,  # noqa: A002
                  scale_grad_by_freq=False, mode="mean", sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embeddings without building the (n, dim) lookup
    per bag, as ``torch.nn.functional.embedding_bag``: ``input`` (B, L) (each row a bag)
    or 1-d with ``offsets`` (the start of each bag; ``include_last_offset``: the last
    entry ends the last bag). Entries equal to ``padding_idx`` are left out of their bag
    (and of a mean's count); an empty bag gives zeros. ``per_sample_weights`` (mode "sum"
    only) scales each entry.

    Raises:
        ArgumentError: an unknown mode, per_sample_weights with another mode, max_norm or
            scale_grad_by_freq (not supported), offsets with 2-d input or none with 1-d.
        ShapeError / IndexError: bad shapes, offsets out of order, indices out of range.
    """
    name = "embedding_bag"
    _floating(name, weight, "weight")
    if mode not in ("sum", "mean", "max"):
        raise ArgumentError(f"{name}: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if max_norm is not None or scale_grad_by_freq:
        raise ArgumentError(f"{name}: max_norm and scale_grad_by_freq are not supported")
    if per_sample_weights is not None and mode != "sum":
        raise ArgumentError(f"{name}: per_sample_weights is only supported for mode='sum', "
                            f"got mode={mode!r}")
    if weight.ndim != 2:
        raise ShapeError(f"{name}: weight must be 2-d (num_embeddings, dim), got "
                         f"{weight.shape}")
    ids = _int_tensor(input, weight, name, "input")
    idx = _host(ids)
    n_emb, dim = weight.shape
    if idx.ndim == 2:
        if offsets is not None:
            raise ArgumentError(f"{name}: offsets must be None for 2-d input {idx.shape}")
        b, length = idx.shape
        flat = reshape(ids, (-1,))
        bag = _const(np.repeat(np.arange(b), length).reshape(1, -1), weight)
        member = bag == _arange(b, weight, (b, 1))
    elif idx.ndim == 1:
        if offsets is None:
            raise ArgumentError(f"{name}: 1-d input {idx.shape} needs offsets")
        off = _int_tensor(offsets, weight, name, "offsets")
        st = _host(off).astype(np.int64).reshape(-1)
        if off.ndim != 1 or st.size < (1 if include_last_offset else 0):
            raise ShapeError(f"{name}: offsets must be 1-d, got shape {off.shape}")
        if st.size and st[0] != 0:
            raise ShapeError(f"{name}: offsets[0] must be 0, got {int(st[0])}")
        if np.any(np.diff(st) < 0) or (st.size and st[-1] > idx.size):
            raise ShapeError(f"{name}: offsets {st.tolist()} must be non-decreasing and at "
                             f"most the input's length {idx.size}")
        flat = ids
        n = idx.size
        off = off.astype(np.int64)
        if include_last_offset:
            starts, ends = off[:-1], off[1:]
        else:
            starts = off
            ends = concatenate([off[1:], _const(np.array([n], np.int64), weight)], 0)
        b = starts.shape[0]
        k = _arange(n, weight, (1, n))
        member = (k >= reshape(starts, (b, 1))) & (k < reshape(ends, (b, 1)))
    else:
        raise ShapeError(f"{name}: input must be 1-d or 2-d, got shape {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= n_emb):
        bad = int(idx[(idx < 0) | (idx >= n_emb)].ravel()[0])
        raise IndexError(f"{name}: index {bad} is out of range for {n_emb} embeddings")
    if padding_idx is not None:
        padding_idx = int(padding_idx) + (n_emb if int(padding_idx) < 0 else 0)
        member = member & reshape(flat != padding_idx, (1, -1))
    rows = index_select(weight, 0, flat.astype(np.int64))
    dt = weight.dtype
    if mode == "max":
        vals = where(reshape(member, member.shape + (1,)), reshape(rows, (1,) + rows.shape),
                     -np.inf)
        if vals.shape[1] == 0:
            return _const(np.zeros((b, dim), dt), weight) + weight.sum() * 0
        out = max_(vals, axis=1)
        return where(reshape(member.any(1), (b, 1)), out, 0.0)
    m = member.astype(dt)
    if per_sample_weights is not None:
        _floating(name, per_sample_weights, "per_sample_weights")
        if per_sample_weights.shape != tuple(idx.shape):
            raise ShapeError(f"{name}: per_sample_weights of shape {per_sample_weights.shape} "
                             f"does not match input {tuple(idx.shape)}")
        m = m * reshape(per_sample_weights, (1, -1))
    if mode == "mean":
        counts = clamp(member.astype(dt).sum(axis=1, keepdims=True), 1.0, None)
        m = m / counts
    return matmul(m, rows)


# ---------------------------------------------------------------- CTC

def _lse(xp, *arrays):
    """log(sum(exp(a))) of equal-shaped arrays, -inf where all are -inf (no warnings)."""
    m = arrays[0]
    for a in arrays[1:]:
        m = xp.maximum(m, a)
    safe = xp.where(xp.isfinite(m), m, 0)
    s = sum(xp.exp(a - safe) for a in arrays)
    return xp.log(s) + safe


def _extended(xp, targets, tg_len, n, blank):
    """(N, 2 S + 1) extended targets: blank, l1, blank, l2, ..., blank (blanks past each
    target's length), from padded (N, S) or concatenated 1-d targets."""
    tg_len = tg_len.astype(np.int64)
    if targets.ndim == 2:
        tg = targets.astype(np.int64)
    else:
        s = targets.shape[0]
        if s == 0:
            tg = xp.zeros((n, 0), np.int64)
        else:
            starts = xp.cumsum(tg_len) - tg_len
            pos = xp.minimum(starts[:, None] + xp.arange(s)[None, :], s - 1)
            tg = targets.astype(np.int64)[pos]
    s = tg.shape[1]
    tg = xp.where(xp.arange(s)[None, :] < tg_len[:, None], tg, blank)
    ext = xp.full((n, 2 * s + 1), blank, dtype=np.int64)
    ext[:, 1::2] = tg
    return ext


@op(name="ctc_loss", params=("blank", "zero_infinity"), extras=("grad",), quiet=True)
def ctc_nll(xp, lp, targets, in_len, tg_len, blank, zero_infinity):
    """-log p(target | input) per sample (N,), by the log-space forward recursion over the
    extended target (blanks between and around labels); ``grad`` = d nll / d lp in
    PyTorch's convention, exp(lp) - exp(log(alpha beta) + nll - lp), from the backward
    recursion (zero past each input's length)."""
    t_max, n, c = lp.shape
    in_len, tg_len = in_len.astype(np.int64), tg_len.astype(np.int64)
    ext = _extended(xp, targets, tg_len, n, blank)
    s_ext = ext.shape[1]
    neg = -xp.inf
    ar = xp.arange(n)
    skip = xp.zeros((n, s_ext), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    s_len = 2 * tg_len + 1
    pos = xp.arange(s_ext)[None, :]
    in_len = xp.maximum(in_len, 1)
    in_ext = pos < s_len[:, None]
    emit = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (t_max, n, s_ext)), axis=2)
    alpha = xp.full((t_max, n, s_ext), neg, dtype=lp.dtype)
    a0 = xp.full((n, s_ext), neg, dtype=lp.dtype)
    a0[:, 0] = emit[0, :, 0]
    a0[:, 1] = xp.where(s_len > 1, emit[0, :, 1], neg)
    alpha[0] = xp.where(in_ext, a0, neg)
    for t in range(1, t_max):
        prev = alpha[t - 1]
        p1 = xp.concatenate([xp.full((n, 1), neg, lp.dtype), prev[:, :-1]], axis=1)
        p2 = xp.concatenate([xp.full((n, 2), neg, lp.dtype), prev[:, :-2]], axis=1)
        p2 = xp.where(skip, p2, neg)
        alpha[t] = xp.where(in_ext, _lse(xp, prev, p1, p2) + emit[t], neg)
    last = alpha[xp.maximum(in_len - 1, 0), ar]  # (n, s_ext)
    end1 = last[ar, s_len - 1]
    end2 = xp.where(s_len > 1, last[ar, xp.maximum(s_len - 2, 0)], neg)
    nll = -_lse(xp, end1, end2)
    beta = xp.full((t_max, n, s_ext), neg, dtype=lp.dtype)
    at_end = (pos == (s_len - 1)[:, None]) | (pos == (s_len - 2)[:, None])
    for t in range(t_max - 1, -1, -1):
        init = xp.where(at_end, emit[t], neg)
        if t + 1 < t_max:
            nxt = beta[t + 1]
            n1 = xp.concatenate([nxt[:, 1:], xp.full((n, 1), neg, lp.dtype)], axis=1)
            n2 = xp.concatenate([nxt[:, 2:], xp.full((n, 2), neg, lp.dtype)], axis=1)
            skip2 = xp.concatenate([skip[:, 2:], xp.zeros((n, 2), bool)], axis=1)
            n2 = xp.where(skip2, n2, neg)
            rec = _lse(xp, nxt, n1, n2) + emit[t]
        else:
            rec = xp.full((n, s_ext), neg, lp.dtype)
        tt = in_len[:, None] - 1
        beta[t] = xp.where(in_ext & (t == tt), init, xp.where(in_ext & (t < tt), rec, neg))
    ok = xp.isfinite(nll)
    safe_nll = xp.where(ok, nll, 0)
    post = xp.exp(alpha + beta + safe_nll[None, :, None] - emit)  # (t, n, s)
    onehot = (ext[:, :, None] == xp.arange(c)[None, None, :]).astype(lp.dtype)
    grad = xp.exp(lp) - xp.einsum("tns,nsc->tnc", post, onehot)
    valid_t = (xp.arange(t_max)[:, None] < in_len[None, :])[:, :, None]
    grad = xp.where(valid_t, grad, 0)
    if zero_infinity:
        grad = xp.where(ok[None, :, None], grad, 0)
        nll = xp.where(ok, nll, 0)
    else:
        grad = xp.where(ok[None, :, None], grad, xp.nan)
    return nll.astype(lp.dtype), grad.astype(lp.dtype)


ctc_nll.defvjp(lambda g, grad: grad * reshape(g, (1, -1, 1)), None, None, None)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0,
             reduction="mean", zero_infinity=False):
    """The Connectionist Temporal Classification loss, as
    ``torch.nn.functional.ctc_loss``: ``log_probs`` (T, N, C) (or (T, C) unbatched) of
    log-probabilities (a log_softmax), ``targets`` (N, S) padded or 1-d concatenated,
    lengths per sample. "mean" divides each loss by its target length and averages;
    ``zero_infinity`` turns impossible alignments (inf loss) into 0 with zero gradient.

    The gradient follows PyTorch's convention: it is exact for ``log_probs`` made by
    log_softmax (what the loss is for); on other inputs it is PyTorch's value, not the
    finite difference.

    Raises:
        ShapeError / ArgumentError: shapes and lengths that do not fit, a bad blank.
    """
    name = "ctc_loss"
    _floating(name, log_probs, "log_probs")
    _reduction(name, reduction)
    unbatched = log_probs.ndim == 2
    lp = reshape(log_probs, (log_probs.shape[0], 1, log_probs.shape[1])) if unbatched \
        else log_probs
    if lp.ndim != 3:
        raise ShapeError(f"{name}: log_probs must be (T, N, C) or (T, C), got "
                         f"{log_probs.shape}")
    t_max, n, c = lp.shape
    if not 0 <= int(blank) < c:
        raise ArgumentError(f"{name}: blank {blank} is not a class of {c}")
    tgt = _int_tensor(targets, lp, name, "targets")
    il_t = _int_tensor(input_lengths, lp, name, "input_lengths")
    tl_t = _int_tensor(target_lengths, lp, name, "target_lengths")
    tg, il, tl = _host(tgt), _host(il_t).reshape(-1), _host(tl_t).reshape(-1)
    if unbatched:
        tgt = reshape(tgt, (1, -1)) if tgt.ndim <= 1 else tgt
        tg = tg.reshape(1, -1) if tg.ndim <= 1 else tg
    if il.shape != (n,) or tl.shape != (n,):
        raise ShapeError(f"{name}: input_lengths {il.shape} and target_lengths {tl.shape} "
                         f"must have one entry per sample ({n})")
    if np.any(il > t_max) or np.any(il < 1):
        raise ShapeError(f"{name}: input_lengths {il.tolist()} must be in [1, {t_max}]")
    if tg.ndim == 2:
        if tg.shape[0] != n or np.any(tl > tg.shape[1]) or np.any(tl < 0):
            raise ShapeError(f"{name}: targets {tg.shape} do not hold target_lengths "
                             f"{tl.tolist()} for {n} samples")
        rows = [tg[i, :tl[i]] for i in range(n)]
    elif tg.ndim == 1:
        if tl.sum() > tg.size or np.any(tl < 0):
            raise ShapeError(f"{name}: 1-d targets of length {tg.size} do not hold "
                             f"target_lengths {tl.tolist()}")
        ends = np.cumsum(tl)
        rows = [tg[e - k:e] for e, k in zip(ends, tl)]
    else:
        raise ShapeError(f"{name}: targets must be 1-d or 2-d, got shape {tg.shape}")
    for i, r in enumerate(rows):
        if r.size and (r.min() < 0 or r.max() >= c or np.any(r == blank)):
            raise ArgumentError(f"{name}: target {i} holds {r.tolist()}: labels must be "
                                f"classes in [0, {c}) other than the blank {blank}")
    nll = apply(ctc_nll, lp, tgt, reshape(il_t, (-1,)), reshape(tl_t, (-1,)),
                params=(int(blank), bool(zero_infinity)))
    if reduction == "mean":
        return (nll / clamp(reshape(tl_t, (-1,)).astype(lp.dtype), 1.0, None)).mean()
    if reduction == "sum":
        return nll.sum()
    return reshape(nll, ()) if unbatched else nll


# ---------------------------------------------------------------- random activations

def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) with Gumbel noise g drawn from ``ge.manual_seed``'s
    generator, as ``torch.nn.functional.gumbel_softmax``; ``hard``: the one-hot of the
    argmax in the forward, the soft sample's gradient (straight-through)."""
    _floating("gumbel_softmax", logits, "logits")
    (g,) = apply(gumbel_noise, logits)
    y = softmax((logits + g) / tau, axis=dim)
    if not hard:
        return y
    ax = dim % logits.ndim
    from .reductions import argmax_
    idx = argmax_(y, axis=ax, keepdims=True)
    classes = _arange(logits.shape[ax], logits,
                      [-1 if i == ax else 1 for i in range(logits.ndim)])
    return (idx == classes).astype(logits.dtype) - y.detach() + y


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):  # noqa: A002
    """Randomized leaky ReLU, as ``torch.nn.functional.rrelu``: in training each negative
    element is scaled by a slope drawn from U(lower, upper) (``ge.manual_seed``'s
    generator); in eval by the fixed slope (lower + upper) / 2."""
    _floating("rrelu", input)
    if inplace:
        return rrelu_(input, lower, upper, training)
    if not 0 <= lower <= upper:
        raise ArgumentError(f"rrelu: expected 0 <= lower <= upper, got lower={lower}, "
                            f"upper={upper}")
    if not training:
        return leaky_relu(input, (lower + upper) / 2)  # torch's gradient at 0: the slope
    (a,) = apply(uniform_noise, input, params=(float(lower), float(upper)))
    return where(input >= 0, input, input * a)


_ALPHA = 1.7580993408473766  # -SELU's negative saturation value, scale * alpha


def _alpha_dropout(name, input, p, training, feature):  # noqa: A002
    _floating(name, input)
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(f"{name}: probability p must be in [0, 1], got {p!r}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    if feature:
        if input.ndim < 2:
            raise ShapeError(f"{name}: expected at least 2 dimensions, got {input.shape}")
        shape = input.shape[:2] + (1,) * (input.ndim - 2)
    else:
        shape = input.shape
    (keep,) = apply(bernoulli_mask, input, params=(tuple(shape), float(p)))
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    b = (keep - 1) * (_ALPHA * a) + _ALPHA * a * p
    return input * (keep * a) + b


def alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    """Dropout that keeps SELU's mean and variance, as
    ``torch.nn.functional.alpha_dropout`` (note: ``training=False`` by default, as
    PyTorch): dropped elements take SELU's saturation value, then an affine map restores
    the statistics. The mask comes from ``ge.manual_seed``'s generator."""
    if inplace:
        raise ArgumentError("alpha_dropout: inplace=True is not supported; use the result")
    return _alpha_dropout("alpha_dropout", input, p, training, False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):  # noqa: A002
    """:func:`alpha_dropout` of whole channels (one draw per (sample, channel))."""
    if inplace:
        raise ArgumentError("feature_alpha_dropout: inplace=True is not supported")
    return _alpha_dropout("feature_alpha_dropout", input, p, training, True)


# ---------------------------------------------------------------- losses

def multi_margin_loss(input, target, p=1, margin=1.0, weight=None,  # noqa: A002
                      size_average=None, reduce=None, reduction="mean"):
    """The multi-class hinge loss, as ``torch.nn.functional.multi_margin_loss``:
    ``sum_{i != y} w[y] max(0, margin - x[y] + x[i])^p / C`` per sample (p = 1 or 2).

    Raises:
        ArgumentError: p other than 1 or 2, a bad reduction. ShapeError / IndexError: a
            target that does not fit the input.
    """
    name = "multi_margin_loss"
    _floating(name, input)
    reduction = _legacy(size_average, reduce, reduction)
    _reduction(name, reduction)
    if p not in (1, 2):
        raise ArgumentError(f"{name}: only p == 1 and p == 2 are supported, got {p!r}")
    x = reshape(input, (1, -1)) if input.ndim <= 1 else input
    if x.ndim != 2:
        raise ShapeError(f"{name}: expected 1-d or 2-d input, got {input.shape}")
    yt = _int_tensor(target, x, name, "target")
    y = _host(yt).reshape(-1)
    n, c = x.shape
    if y.shape != (n,):
        raise ShapeError(f"{name}: target of shape {yt.shape} does not match input "
                         f"{input.shape}")
    if y.size and (y.min() < 0 or y.max() >= c):
        raise IndexError(f"{name}: target {y.tolist()} out of range for {c} classes")
    ycol = reshape(yt, (n, 1)).astype(np.int64)
    from .manipulation import take_along_dim
    xy = take_along_dim(x, ycol, 1)
    z = clamp(x - xy + margin, 0.0, None)
    if p == 2:
        z = z * z
    z = z * (ycol != _arange(c, x, (1, c))).astype(x.dtype)
    if weight is not None:
        _floating(name, weight, "weight")
        z = z * reshape(index_select(weight, 0, reshape(ycol, (-1,))), (-1, 1))
    loss = z.sum(axis=1) * (1.0 / c)
    if input.ndim <= 1 and reduction == "none":
        loss = reshape(loss, ())
    return _reduce(loss, reduction)


def _legacy(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else "mean" if size_average else "sum"


def multilabel_margin_loss(input, target, size_average=None, reduce=None,  # noqa: A002
                           reduction="mean"):
    """The multi-label hinge loss, as ``torch.nn.functional.multilabel_margin_loss``:
    the targets of each sample are the indices of ``target`` before its first -1;
    ``sum_{j target, i not} max(0, 1 - (x[j] - x[i])) / C``.

    Raises:
        ShapeError: target not of input's shape. IndexError: a label out of range.
    """
    name = "multilabel_margin_loss"
    _floating(name, input)
    reduction = _legacy(size_average, reduce, reduction)
    _reduction(name, reduction)
    x = reshape(input, (1, -1)) if input.ndim <= 1 else input
    tt = _int_tensor(target, x, name, "target")
    tg = _host(tt)
    if tg.shape != tuple(input.shape) or x.ndim != 2:
        raise ShapeError(f"{name}: target of shape {tg.shape} must match input "
                         f"{input.shape} (1-d or 2-d)")
    n, c = x.shape
    tt = reshape(tt, (n, c)).astype(np.int64)
    if tg.size and tg.max() >= c:
        raise IndexError(f"{name}: label {int(tg.max())} out of range for {c} classes")
    from .scans import cumsum
    # the targets of a row: its entries before the first negative one
    valid = cumsum((tt < 0).astype(x.dtype), 1) == 0
    hit = (reshape(tt, (n, c, 1)) == _arange(c, x, (1, 1, c))) & reshape(valid, (n, c, 1))
    count = hit.astype(x.dtype).sum(axis=1)  # (n, c): how often each class is a target
    other = (count == 0).astype(x.dtype)
    pair = reshape(count, (n, c, 1)) * reshape(other, (n, 1, c))  # (j target, i other)
    diff = reshape(x, (n, 1, c)) - reshape(x, (n, c, 1))  # x[i] - x[j]
    z = clamp(diff + 1.0, 0.0, None) * pair
    loss = z.sum(axis=(1, 2)) * (1.0 / c)
    if input.ndim <= 1 and reduction == "none":
        loss = reshape(loss, ())
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """``max(0, margin + d(a, p) - d(a, n))`` with any distance (pairwise_distance by
    default), as ``torch.nn.functional.triplet_margin_with_distance_loss``; ``swap``
    uses min(d(a, n), d(p, n))."""
    name = "triplet_margin_with_distance_loss"
    _reduction(name, reduction)
    if margin <= 0:
        raise ArgumentError(f"{name}: margin must be greater than 0, got {margin}")
    if distance_function is None:
        from .composite import pairwise_distance as distance_function
    d_pos = distance_function(anchor, positive)
    d_neg = distance_function(anchor, negative)
    if swap:
        from .elementwise import minimum
        d_neg = apply(minimum, d_neg, distance_function(positive, negative))
    return _reduce(clamp(d_pos - d_neg + margin, 0.0, None), reduction)


def pdist(input, p=2):  # noqa: A002
    """The p-norm distances between the rows of (N, M) ``input``, the upper triangle of
    the distance matrix in row order (N (N - 1) / 2 entries), as ``torch.nn.functional.
    pdist``."""
    _floating("pdist", input)
    if input.ndim != 2:
        raise ShapeError(f"pdist: expected a 2-d input, got shape {input.shape}")
    if p < 0:
        raise ArgumentError(f"pdist: p must be non-negative, got {p}")
    i, j = np.triu_indices(input.shape[0], 1)
    d = index_select(input, 0, _const(i.astype(np.int64), input)) - \
        index_select(input, 0, _const(j.astype(np.int64), input))
    from .composite import norm
    return norm(d, p=float(p), dim=1)


# ---------------------------------------------------------------- shuffles and grids

def channel_shuffle(input, groups):  # noqa: A002
    """Split the C channels into ``groups`` and interleave them ((N, g, C/g, *) ->
    (N, C/g, g, *)), as ``torch.nn.functional.channel_shuffle``.

    Raises:
        ShapeError: C not divisible by groups, fewer than 3 dimensions.
    """
    g = int(groups)
    if input.ndim < 3 or g <= 0 or input.shape[1] % g:
        raise ShapeError(f"channel_shuffle: input of shape {input.shape} needs 3 or more "
                         f"dimensions and channels divisible by groups={groups}")
    n, c = input.shape[:2]
    rest = input.shape[2:]
    x = reshape(input, (n, g, c // g) + rest)
    x = transpose(x, (0, 2, 1) + tuple(range(3, x.ndim)))
    return reshape(x, input.shape)


def _base_coords(n, align_corners, dt):
    if n == 1:
        return np.zeros(1, dt) if not align_corners else np.full(1, -1.0, dt)
    c = np.linspace(-1.0, 1.0, n).astype(dt)
    return c if align_corners else (c * ((n - 1) / n)).astype(dt)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of a batch of affine maps, as ``torch.nn.functional.affine_grid``:
    ``theta`` (N, 2, 3) and ``size`` (N, C, H, W) give (N, H, W, 2); (N, 3, 4) and
    (N, C, D, H, W) give (N, D, H, W, 3). Coordinates in [-1, 1], x first."""
    _floating("affine_grid", theta, "theta")
    size = tuple(int(s) for s in size)
    ac = bool(align_corners)
    k = len(size) - 2
    if k not in (2, 3) or theta.shape != (size[0], k, k + 1):
        raise ShapeError(f"affine_grid: theta {theta.shape} does not fit size {size} "
                         "(expected (N, 2, 3) with a 4-d size or (N, 3, 4) with a 5-d size)")
    dt = theta.dtype
    axes = [_base_coords(s, ac, dt) for s in size[2:]]  # D, H, W order
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack(list(mesh[::-1]) + [np.ones_like(mesh[0])], axis=-1)  # x, y, (z), 1
    base = _const(base.reshape(1, -1, k + 1), theta)
    grid = matmul(base, transpose(theta, (0, 2, 1)))
    return reshape(grid, (size[0],) + size[2:] + (k,))


def _unnormalize(coord, size, ac):
    if ac:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) * 0.5


def _reflect(x, lo2, hi2):
    """PyTorch's reflect_coordinates: x reflected into [lo2/2, hi2/2] (twice the bounds
    given); the reflection count is constant in the gradient, the rest differentiable."""
    if lo2 == hi2:
        return x * 0.0
    from .math import floor
    lo = lo2 / 2
    span = (hi2 - lo2) / 2
    a = (x - lo).abs()
    flips = floor(a.detach() / span)
    extra = a - flips * span
    even = (flips - floor(flips / 2) * 2) == 0
    return where(even, extra + lo, (extra * -1.0) + (span + lo))


def _source(coord, size, padding_mode, ac):
    x = _unnormalize(coord, size, ac)
    if padding_mode == "border":
        x = clamp(x, 0.0, float(size - 1))
    elif padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if ac else _reflect(x, -1, 2 * size - 1)
        x = clamp(x, 0.0, float(size - 1))
    return x


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros",  # noqa: A002
                align_corners=None):
    """Sample (N, C, H, W) ``input`` at the (x, y) points of (N, Ho, Wo, 2) ``grid`` (in
    [-1, 1]), as ``torch.nn.functional.grid_sample``: ``mode`` "bilinear" | "nearest",
    ``padding_mode`` "zeros" | "border" | "reflection". Gradients flow to the input and
    (bilinear) to the grid.

    Raises:
        ArgumentError: an unknown or unsupported mode (bicubic, 5-d input).
        ShapeError: shapes that do not fit.
    """
    name = "grid_sample"
    _floating(name, input)
    _floating(name, grid, "grid")
    if mode not in ("bilinear", "nearest"):
        raise ArgumentError(f"{name}: mode must be 'bilinear' or 'nearest' (bicubic is not "
                            f"supported), got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ArgumentError(f"{name}: padding_mode must be 'zeros', 'border' or "
                            f"'reflection', got {padding_mode!r}")
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or \
            grid.shape[0] != input.shape[0]:
        raise ShapeError(f"{name}: expected input (N, C, H, W) and grid (N, Ho, Wo, 2), got "
                         f"{input.shape} and {grid.shape} (5-d input is not supported)")
    ac = bool(align_corners)
    n, c, h, w = input.shape
    ho, wo = grid.shape[1:3]
    ix = _source(grid[..., 0], w, padding_mode, ac)
    iy = _source(grid[..., 1], h, padding_mode, ac)
    flat = reshape(input, (n, c, h * w))
    from .manipulation import take_along_dim
    from .shape import broadcast_to

    def corner(xs, ys):  # float coordinate tensors -> (values (N, C, Ho, Wo), in-bounds)
        inb = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
        lin = where(inb, ys * w + xs, 0.0).astype(np.int64)
        lin = broadcast_to(reshape(lin, (n, 1, ho * wo)), (n, c, ho * wo))
        v = take_along_dim(flat, lin, 2)
        return reshape(v, (n, c, ho, wo)), inb.astype(input.dtype)

    if mode == "nearest":
        from .math import round as round_
        v, inb = corner(round_(ix.detach()), round_(iy.detach()))  # half to even, as torch
        return v * reshape(inb, (n, 1, ho, wo))
    from .math import floor
    x0, y0 = floor(ix.detach()), floor(iy.detach())
    tx, ty = ix - x0, iy - y0
    out = None
    for dx, dy, wgt in ((0, 0, (1 - tx) * (1 - ty)), (1, 0, tx * (1 - ty)),
                        (0, 1, (1 - tx) * ty), (1, 1, tx * ty)):
        v, inb = corner(x0 + dx, y0 + dy)
        term = v * reshape(wgt * inb, (n, 1, ho, wo))
        out = term if out is None else out + term
    return out


# ---------------------------------------------------------------- in-place and aliases

def _inplace(input, fn, name):  # noqa: A002
    from . import inplace_fn
    return inplace_fn(input, fn, name)


def relu_(input):  # noqa: A002
    """:func:`relu` written into ``input`` (version-checked, recorded with grad)."""
    from .activations import relu
    return _inplace(input, relu, "relu_")


def elu_(input, alpha=1.0):  # noqa: A002
    from .math import elu
    return _inplace(input, lambda t: elu(t, alpha), "elu_")


def leaky_relu_(input, negative_slope=0.01):  # noqa: A002
    return _inplace(input, lambda t: leaky_relu(t, negative_slope), "leaky_relu_")


def hardtanh_(input, min_val=-1.0, max_val=1.0):  # noqa: A002
    from .math import hardtanh
    return _inplace(input, lambda t: hardtanh(t, min_val, max_val), "hardtanh_")


def threshold_(input, threshold, value):  # noqa: A002
    from .composite import threshold as threshold_fn
    return _inplace(input, lambda t: threshold_fn(t, threshold, value), "threshold_")


def celu_(input, alpha=1.0):  # noqa: A002
    from .composite import celu
    return _inplace(input, lambda t: celu(t, alpha), "celu_")


def selu_(input):  # noqa: A002
    from .math import selu
    return _inplace(input, selu, "selu_")


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):  # noqa: A002
    return _inplace(input, lambda t: rrelu(t, lower, upper, training), "rrelu_")


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    """Deprecated alias: ``interpolate(input, size, scale_factor, mode="nearest")``."""
    from .resample import interpolate
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    """Deprecated alias: ``interpolate(..., mode="bilinear", align_corners=True)``."""
    from .resample import interpolate
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)

