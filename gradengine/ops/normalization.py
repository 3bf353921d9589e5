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

import numpy as np

from .. import backend
from ..core.gradmode import is_grad_enabled, no_grad
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import DTypeError, ShapeError
from .activations import softmax
from .elementwise import where
from .linalg import matmul_op
from .shape import matrix_transpose, reshape

__all__ = ["layer_norm", "batch_norm", "dropout", "embedding", "scaled_dot_product_attention"]
TENSOR_METHODS: dict = {}


# ---------------------------------------------------------------- normalize, scale, shift

def _stats(xp, x, axes, eps):
    """(x - mean) and 1 / sqrt(var + eps) over axes (biased variance), in at least float32."""
    xf = x.astype(np.float32) if x.dtype == np.float16 else x
    xc = xf - xf.mean(axis=axes, keepdims=True)
    var = xp.mean(xc * xc, axis=axes, keepdims=True)
    return xc, 1.0 / xp.sqrt(var + eps)


def _norm_forward(xp, x, w, b, axes, eps):
    """(out, xhat, rstd): out = xhat * w + b with xhat = (x - mean(x)) / sqrt(var(x) + eps)
    over axes (w, b broadcast; None: 1, 0); xhat and rstd are kept for the backward."""
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
    o = op(name=name, params=("axes", "eps"), save=("x", "w"), extras=("xhat", "rstd"))(fwd)
    o.vjp(_norm_rule)
    return o


layer_norm_op = _make_norm("layer_norm")
batch_norm_op = _make_norm("batch_norm")


@op(params=("axes", "b_shape"), differentiable=False)
def normalize_backward(xp, g, x, w, xhat, rstd, axes, b_shape):
    """(gx, gw, gb) of normalize-scale-shift from the forward's xhat and rstd:
    gx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)) with gh = g * w."""
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

@op(params=("p",), differentiable=False)
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
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are "
                                  "not supported")
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
    return apply(embedding_op, weight, input, params=(padding_idx, False))


# ---------------------------------------------------------------- attention

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
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    L, S = query.shape[-2], key.shape[-2]
    sc = 1.0 / float(np.sqrt(query.shape[-1])) if scale is None else float(scale)
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
