"""Keras 3's attention layers, ``Attention``, ``AdditiveAttention`` and
``MultiHeadAttention`` (Keras' weight layout and masks), and ``EinsumDense``. Re-exported
by :mod:`gradengine.keras.layers`."""

from __future__ import annotations

import math
import re

import numpy as np

from .. import functional as F
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn import _keras_regularizers
from .layers_common import (
    _activation,
    _Base,
    _const,
)

__all__ = [
    "GroupQueryAttention", "GroupedQueryAttention",
    "AdditiveAttention", "Attention", "EinsumDense", "MultiHeadAttention",
]


def _as_tensor(layer, v):
    return None if v is None else layer._float_input(v)


def _bool_mask(m, like):
    if m is None:
        return None
    m = m if isinstance(m, Tensor) else Tensor(np.asarray(m), device=like.device)
    return m.astype(like.dtype)


class _BaseAttention(_Base):
    def __init__(self, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dropout, self.seed = float(dropout), seed
        self._attn_built = False  # the weights are made at the first call
        object.__setattr__(self, "_built", True)

    def _prepare(self, xs):
        name = type(self).__name__
        if not isinstance(xs, (list, tuple)) or len(xs) not in (2, 3):
            raise ValueError(f"{name}: expected inputs [query, value] or [query, value, key], "
                             f"got {type(xs).__name__}")
        return [self._float_input(x) for x in xs]

    def forward(self, xs, mask=None, return_attention_scores=False, use_causal_mask=False):
        q, v = xs[0], xs[1]
        k = xs[2] if len(xs) == 3 else v
        if q.ndim != 3 or v.ndim != 3 or k.ndim != 3 or k.shape[:2] != v.shape[:2] or \
                q.shape[-1] != k.shape[-1] or q.shape[0] != v.shape[0]:
            raise ShapeError(f"{type(self).__name__}: query {tuple(q.shape)}, value "
                             f"{tuple(v.shape)}, key {tuple(k.shape)} do not fit (B, T, dim), "
                             "(B, S, dim), (B, S, dim)")
        if not self._attn_built:
            self._build_weights(q.shape[-1])
            self._attn_built = True
        scores = self._score(q, k)
        q_mask, v_mask = (None, None) if mask is None else (list(mask) + [None])[:2]
        keep = None
        if v_mask is not None:
            keep = _bool_mask(v_mask, scores).reshape(scores.shape[0], 1, scores.shape[2])
        if use_causal_mask:
            tq, tk = scores.shape[1], scores.shape[2]
            causal = _const(scores, np.tril(np.ones((tq, tk)))).reshape(1, tq, tk)
            keep = causal if keep is None else keep * causal
        if keep is not None:
            scores = scores - (1.0 - keep) * (65504.0 if scores.dtype == np.float16 else 1e9)
        weights = F.softmax(scores, axis=-1)
        if self.training and self.dropout > 0:
            weights = F.dropout(weights, p=self.dropout, training=True)
        out = F.matmul(weights, v)
        if q_mask is not None:
            out = out * _bool_mask(q_mask, out).reshape(out.shape[0], out.shape[1], 1)
        return (out, weights) if return_attention_scores else out


class Attention(_BaseAttention):
    """Dot-product (Luong) attention: ``softmax(scale * q . k) . v``; inputs
    ``[query, value]`` or ``[query, value, key]``; ``score_mode="concat"`` scores
    ``sum(tanh(q + k))``. Weights: ``scale`` (with ``use_scale``), then
    ``concat_score_weight`` (concat mode), both scalars starting at one."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout, seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention: score_mode must be 'dot' or 'concat', got "
                             f"{score_mode!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.scale = self.concat_score_weight = None

    def _build_weights(self, dim):
        if self.use_scale:
            self._weight("ones", (), "scale")
        if self.score_mode == "concat":
            self._weight("ones", (), "concat_score_weight")

    def _score(self, q, k):
        if self.score_mode == "dot":
            s = F.matmul(q, k.transpose(0, 2, 1))
            return s * self.scale if self.scale is not None else s
        qk = q.reshape(q.shape[0], q.shape[1], 1, q.shape[2]) + \
            k.reshape(k.shape[0], 1, k.shape[1], k.shape[2])
        if self.scale is not None:
            qk = qk * self.scale
        return self.concat_score_weight * F.tanh(qk).sum(axis=-1)


class AdditiveAttention(_BaseAttention):
    """Additive (Bahdanau) attention: scores ``sum(scale * tanh(q + k))`` over the
    features; weight ``scale`` (dim,), Glorot-uniform, with ``use_scale`` (the default)."""

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout, seed, **kwargs)
        self.use_scale = bool(use_scale)
        self.scale = None

    def _build_weights(self, dim):
        if self.use_scale:
            self._weight("glorot_uniform", (int(dim),), "scale")

    def _score(self, q, k):
        qk = F.tanh(q.reshape(q.shape[0], q.shape[1], 1, q.shape[2]) +
                    k.reshape(k.shape[0], 1, k.shape[1], k.shape[2]))
        return (qk * self.scale if self.scale is not None else qk).sum(axis=-1)


def _attention_equations(rank, axes):
    """Keras' einsum equations for attention over ``axes`` of projected tensors of rank
    ``rank`` laid out (batch, <other axes>, <attended axes>, heads, channels): the
    key-query product to scores (<batch axes and heads>, <query's attended axes>,
    <key's attended axes>), and the scores-value combination back to the query's layout."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    batch = [i for i in range(rank) if i not in axes and i != rank - 1]
    target = letters[:rank]
    source, extra = "", rank
    for i in range(rank):
        if i in batch or i == rank - 1:
            source += target[i]
        else:
            source += letters[extra]
            extra += 1
    product = "".join([target[i] for i in batch] + [target[i] for i in axes] +
                      [source[i] for i in axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}"


class MultiHeadAttention(_Base):
    """Keras' multi-head attention: ``mha(query, value, key=None, attention_mask=None,
    return_attention_scores=False, training=None, use_causal_mask=False)``.

    Weights in Keras' order: query kernel (dim, heads, key_dim) and bias (heads, key_dim),
    key's, value's (value_dim), output kernel (heads, value_dim, out) and bias (out,);
    ``out`` is the query's last size unless ``output_shape``. The attended axes are
    ``attention_axes`` (of the query), all those between the batch and the features by
    default; the scores are (batch, <other axes>, heads, <query's attended axes>, <key's
    attended axes>), a softmax over the key's, as Keras'."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, seed=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        if output_shape is not None and not isinstance(output_shape, int) and \
                len(tuple(output_shape)) != 1:
            raise NotImplementedError("MultiHeadAttention: output_shape must be one size")
        self._output_dim = None if output_shape is None else (
            int(output_shape) if isinstance(output_shape, int) else int(tuple(output_shape)[0]))
        if isinstance(attention_axes, (int, np.integer)):
            attention_axes = (int(attention_axes),)
        self.attention_axes = None if attention_axes is None else \
            tuple(int(a) for a in attention_axes)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer = _keras_regularizers.get(kernel_regularizer)
        self.bias_regularizer = _keras_regularizers.get(bias_regularizer)
        object.__setattr__(self, "_built", True)  # built at the first call, from 3 shapes
        self._mha_built = False

    def _build_all(self, q_dim, k_dim, v_dim):
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out_dim = self._output_dim or q_dim
        for name, dim, size in (("query", q_dim, kd), ("key", k_dim, kd),
                                ("value", v_dim, vd)):
            self._weight(self.kernel_initializer, (dim, h, size), f"{name}_kernel")
            if self.use_bias:
                self._weight(self.bias_initializer, (h, size), f"{name}_bias")
        self._weight(self.kernel_initializer, (h, vd, out_dim), "output_kernel")
        if self.use_bias:
            self._weight(self.bias_initializer, (out_dim,), "output_bias")
        self._mha_built = True

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = value_shape or query_shape
        self._build_all(query_shape[-1], (key_shape or value_shape)[-1], value_shape[-1])

    def _expand_kv(self, t):
        return t

    def _project(self, x, name):
        out = F.einsum("...d,dhk->...hk", x, getattr(self, f"{name}_kernel"))
        bias = getattr(self, f"{name}_bias", None)
        return out + bias if bias is not None else out

    def _axes(self, ndim):
        """The attended axes of a query of rank ``ndim``, as non-negative axes."""
        if self.attention_axes is None:
            return tuple(range(1, ndim - 1))
        axes = tuple(a if a >= 0 else ndim + a for a in self.attention_axes)
        if any(not 0 < a < ndim - 1 for a in axes) or len(set(axes)) != len(axes):
            raise ValueError(f"MultiHeadAttention: attention_axes {self.attention_axes} must "
                             f"be distinct axes between the batch and the features of a "
                             f"query of rank {ndim}")
        return axes

    def _mask(self, query, value, scores, n_axes, query_mask, value_mask, key_mask,
              attention_mask, use_causal_mask):
        """Keras' attention mask (its ``_compute_attention_mask``): the query's mask as
        (B, T, 1), the value's and key's as (B, 1, S), the causal (1, T, S) on axis 1 and
        ``attention_mask``, ANDed, then given size-1 axes from the heads' on to the
        scores' rank; None without any."""
        mask = None
        for m, axis in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
            if m is not None:
                m = F.expand_dims(_bool_mask(m, scores), axis)
                mask = m if mask is None else mask * m
        if use_causal_mask:
            tq, tk = query.shape[1], value.shape[1]
            causal = _const(scores, np.tril(np.ones((1, tq, tk))))
            mask = causal if mask is None else mask * causal
        if attention_mask is not None:
            m = _bool_mask(attention_mask, scores)
            mask = m if mask is None else m * mask
        if mask is None:
            return None
        while mask.ndim < scores.ndim:
            mask = F.expand_dims(mask, -2 * n_axes - 1)
        return mask

    def forward(self, query, value=None, key=None, query_mask=None, value_mask=None,
                key_mask=None, attention_mask=None, return_attention_scores=False,
                use_causal_mask=False):
        if value is None:
            raise TypeError("MultiHeadAttention: value is required: mha(query, value)")
        # -- kmask: as Keras, the query's mask is read from the tensor (the argument is
        # ignored) and value_mask / key_mask default to the value's / key's masks
        query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key is not None:
            key_mask = getattr(key, "_keras_mask", None)
        value = _as_tensor(self, value)
        key = value if key is None else _as_tensor(self, key)
        if not self._mha_built:
            self._build_all(query.shape[-1], key.shape[-1], value.shape[-1])
        if query.ndim < 3 or value.ndim != query.ndim or query.shape[0] != value.shape[0] \
                or key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(f"MultiHeadAttention: query {tuple(query.shape)}, value "
                             f"{tuple(value.shape)}, key {tuple(key.shape)} do not fit "
                             "(B, ..., dim)")
        axes = self._axes(query.ndim)
        dot_eq, combine_eq = _attention_equations(query.ndim + 1, axes)
        q = self._project(query, "query") * (1.0 / math.sqrt(self.key_dim))
        k, v = self._project(key, "key"), self._project(value, "value")
        k, v = self._expand_kv(k), self._expand_kv(v)
        try:
            scores = F.einsum(dot_eq, k, q)
        except (ValueError, ShapeError):
            raise ShapeError(f"MultiHeadAttention: query {tuple(query.shape)} and key "
                             f"{tuple(key.shape)} differ on an axis that is not attended "
                             f"(attention_axes={axes})") from None
        mask = self._mask(query, value, scores, len(axes), query_mask, value_mask,
                          key_mask, attention_mask, use_causal_mask)
        if mask is not None:  # Keras' masked softmax: masked scores replaced, then zeroed
            big = -3e4 if scores.dtype == np.float16 else -1e9
            scores = scores * mask + (1.0 - mask) * big
        lead = scores.shape[:scores.ndim - len(axes)]
        weights = F.softmax(scores.reshape(*lead, -1), axis=-1).reshape(*scores.shape)
        if mask is not None and (self.dropout > 0 or return_attention_scores or
                                 query.ndim != 3):
            # -- kmask: Keras zeroes the masked weights only on its softmax path; its fused
            # path (rank-3 inputs, no dropout, no scores returned) leaves a fully masked
            # query row uniform
            weights = weights * mask
        dropped = weights
        if self.training and self.dropout > 0:
            dropped = F.dropout(weights, p=self.dropout, training=True)
        ctx = F.einsum(combine_eq, dropped, v)
        out = F.einsum("...hd,hdo->...o", ctx, self.output_kernel)
        if self.use_bias:
            out = out + self.output_bias
        return (out, weights) if return_attention_scores else out


class GroupedQueryAttention(MultiHeadAttention):
    """Keras' grouped-query attention: ``num_query_heads`` query heads sharing
    ``num_key_value_heads`` key / value heads (each repeated to the query heads it
    serves), ``head_dim`` each; called as :class:`MultiHeadAttention`. Weights: query
    (dim, query heads, head_dim), key and value (dim, kv heads, head_dim), output
    (query heads, head_dim, dim), each with its bias."""

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        if sliding_window is not None or use_gate:
            raise NotImplementedError("GroupedQueryAttention: sliding_window and use_gate "
                                      "are not supported")
        if int(num_query_heads) % int(num_key_value_heads):
            raise ValueError(f"GroupedQueryAttention: num_query_heads {num_query_heads} must "
                             f"be a multiple of num_key_value_heads {num_key_value_heads}")
        super().__init__(num_query_heads, head_dim, dropout=dropout, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, seed=seed, **kwargs)
        self.head_dim = int(head_dim)
        self.num_query_heads, self.num_key_value_heads = int(num_query_heads), \
            int(num_key_value_heads)

    def _build_all(self, q_dim, k_dim, v_dim):
        h, kv, d = self.num_query_heads, self.num_key_value_heads, self.head_dim
        for name, dim, heads in (("query", q_dim, h), ("key", k_dim, kv), ("value", v_dim, kv)):
            self._weight(self.kernel_initializer, (dim, heads, d), f"{name}_kernel")
            if self.use_bias:
                self._weight(self.bias_initializer, (heads, d), f"{name}_bias")
        self._weight(self.kernel_initializer, (h, d, q_dim), "output_kernel")
        if self.use_bias:
            self._weight(self.bias_initializer, (q_dim,), "output_bias")
        self._mha_built = True

    def _expand_kv(self, t):
        reps = self.num_query_heads // self.num_key_value_heads
        return F.repeat_interleave(t, reps, dim=-2) if reps > 1 else t


GroupQueryAttention = GroupedQueryAttention


class EinsumDense(_Base):
    """A dense layer given as an einsum: ``EinsumDense("ab,bc->ac", output_shape=64,
    bias_axes="c")``; ``...`` on the left or right of the input and output stands for the
    axes passed through. Kernel and bias shapes follow Keras' reading of the equation
    (``output_shape`` excludes the batch axis and the elided ones)."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if lora_rank:
            raise NotImplementedError("EinsumDense: lora_rank is not supported")
        self.equation = str(equation).replace(" ", "")
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else \
            tuple(output_shape)
        self.activation = activation
        self._fn = _activation(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer = _keras_regularizers.get(kernel_regularizer)
        self.bias_regularizer = _keras_regularizers.get(bias_regularizer)
        self.kernel = self.bias = None
        self._maybe_build()

    def _split(self):
        for pattern, left in ((r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", None),
                              (r"^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$", True),
                              (r"^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]{2,})\.\.\.$",
                               False)):
            m = re.match(pattern, self.equation)
            if m:
                return m.group(1), m.group(2), m.group(3), bool(left)
        raise ValueError(f"EinsumDense: invalid equation {self.equation!r}: expected "
                         "'ab,bc->ac', '...b,bc->...c' or 'ab...,bc->ac...'")

    def build(self, input_shape):
        ins, ws, outs, left = self._split()
        input_shape = tuple(input_shape)
        elided = len(input_shape) - len(ins)
        out_shape = [input_shape[0]] + list(self.partial_output_shape)
        if elided > 0 and left:
            for i in range(1, elided):
                out_shape.insert(1, input_shape[i])
        elif elided > 0:
            out_shape += list(input_shape[len(input_shape) - elided:])
        if left:
            in_map = {d: i + elided - len(input_shape) for i, d in enumerate(ins)}
            out_map = {d: i + elided - len(out_shape) for i, d in enumerate(outs)}
        else:
            in_map = {d: i for i, d in enumerate(ins)}
            out_map = {d: i for i, d in enumerate(outs)}
        shape = []
        for d in ws:
            if d in in_map:
                shape.append(input_shape[in_map[d]])
            elif d in out_map:
                shape.append(out_shape[out_map[d]])
            else:
                raise ValueError(f"EinsumDense: weight axis {d!r} of {self.equation!r} is "
                                 "in neither the input nor the output")
        self._weight(self.kernel_initializer, tuple(int(v) for v in shape), "kernel")
        if self.bias_axes is not None:
            if any(c not in outs for c in self.bias_axes):
                raise ValueError(f"EinsumDense: bias_axes {self.bias_axes!r} are not all in "
                                 f"the output of {self.equation!r}")
            start = min(outs.find(c) for c in self.bias_axes)
            bshape = [out_shape[out_map[c]] if c in self.bias_axes else 1
                      for c in outs[start:]]
            if not left:
                bshape += [1] * max(elided, 0)
            self._weight(self.bias_initializer, tuple(int(v) for v in bshape), "bias")

    def forward(self, x):
        out = F.einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            out = out + self.bias
        return self._fn(out)
