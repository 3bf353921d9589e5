"""Multi-head attention with PyTorch's names, signature and state-dict layout:
:class:`MultiheadAttention` (``in_proj_weight`` (3E, E), ``in_proj_bias``, ``out_proj.weight``
(E, E) stored (out, in) as PyTorch does), so ``load_state_dict`` of a torch state dict works
unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..core.tensor import Tensor
from ..errors import DTypeError, ShapeError
from ..ops.creation import zeros
from . import init
from .module import Module
from .recurrent import _uniform_param

__all__ = ["MultiheadAttention"]


class _AttentionShapeError(ShapeError, AssertionError):
    """Inputs, masks or sizes the attention cannot take: a ShapeError, and an AssertionError
    as torch's (whose MultiheadAttention checks are asserts), so either ``except`` works."""


class _MaskDTypeError(DTypeError, AssertionError):
    """A mask neither bool nor floating: a DTypeError, and an AssertionError as torch's."""


class _TorchLinear(Module):
    """``y = x @ W^T + b`` with ``W`` of shape (out_features, in_features): PyTorch's layout,
    kept inside the attention and transformer modules so their state dicts are torch's."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        self.weight = _uniform_param((self.out_features, self.in_features), bound, dtype,
                                     device, "Linear")
        self.bias = _uniform_param((self.out_features,), bound, dtype, device, "Linear") \
            if bias else None

    def reset_parameters(self):
        """Draw the weight and bias again from U(-1/sqrt(in), 1/sqrt(in)), in place."""
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        for p in (self.weight, self.bias):
            if p is not None:
                init.uniform_(p, -bound, bound)

    def forward(self, x):
        return F.linear(x, self.weight.T, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, layout=(out, in)")


def _as_mask(mask, like, name):
    """``mask`` as a Tensor on ``like``'s device; bool or floating only, as torch's."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        arr = mask.detach().cpu().numpy() if hasattr(mask, "detach") else np.asarray(mask)
        mask = Tensor(arr, device=like.device)
    if mask.dtype != np.bool_ and mask.dtype.kind != "f":
        raise _MaskDTypeError(f"MultiheadAttention: only bool and floating types of {name} "
                              f"are supported, got {mask.dtype.name}")
    return mask


def _additive(mask, dtype):
    """A bool mask (True = not allowed) as 0 / -inf in ``dtype``; a float mask as given."""
    if mask.dtype == np.bool_:
        return F.masked_fill(zeros(mask.shape, dtype=dtype, device=mask.device), mask,
                             -np.inf)
    return mask


class MultiheadAttention(Module):
    """``softmax(q k^T / sqrt(d) + mask) v`` over ``num_heads`` heads of size
    ``embed_dim // num_heads``, between an input and an output projection, as
    ``torch.nn.MultiheadAttention``.

    Args:
        embed_dim: E, the query size and the output size. num_heads: heads (must divide E).
        dropout: on the attention weights while training. bias: projection biases.
        add_bias_kv: learned ``bias_k`` / ``bias_v`` appended to key and value.
        add_zero_attn: a zero key and value appended after the projection.
        kdim, vdim: key and value sizes (E when None; separate ``q/k/v_proj_weight`` then).
        batch_first: (N, L, E) instead of (L, N, E).
    Returns:
        ``forward(query, key, value, key_padding_mask=None, need_weights=True,
        attn_mask=None, average_attn_weights=True, is_causal=False)`` gives
        ``(attn_output, attn_weights)``: output (L, N, E) (or (N, L, E), or (L, E) for
        unbatched input); weights (N, L, S) averaged over heads, (N, H, L, S) when
        ``average_attn_weights=False``, or None when ``need_weights=False``. Bool masks
        mark with True what may NOT be attended; float masks are added to the scores.
    Raises:
        ValueError: E or num_heads not positive. ShapeError (also an AssertionError, as
        torch's): E not divisible by num_heads; inputs or masks whose shapes do not fit,
        naming them. DTypeError (also an AssertionError): a mask neither bool nor float.
    Example:
        >>> mha = nn.MultiheadAttention(16, 4, batch_first=True)
        >>> out, w = mha(x, x, x)   # x (N, L, 16)
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        embed_dim, num_heads = int(embed_dim), int(num_heads)
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater "
                             f"than 0, got embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise _AttentionShapeError(f"MultiheadAttention: embed_dim={embed_dim} is not "
                                       f"divisible by num_heads={num_heads} (embed_dim must "
                                       "be divisible by num_heads)")
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout!r}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else int(kdim)
        self.vdim = embed_dim if vdim is None else int(vdim)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)

        def param(shape, fill):
            p = _uniform_param(shape, None, dtype, device, "MultiheadAttention")
            return fill(p)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = param((3 * embed_dim, embed_dim), init.xavier_uniform_)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = param((embed_dim, embed_dim), init.xavier_uniform_)
            self.k_proj_weight = param((embed_dim, self.kdim), init.xavier_uniform_)
            self.v_proj_weight = param((embed_dim, self.vdim), init.xavier_uniform_)
        self.in_proj_bias = param((3 * embed_dim,), lambda p: p) if bias else None
        self.out_proj = _TorchLinear(embed_dim, embed_dim, bias, device, dtype)
        if bias:
            init.zeros_(self.out_proj.bias)
        if add_bias_kv:
            self.bias_k = param((1, 1, embed_dim), init.xavier_normal_)
            self.bias_v = param((1, 1, embed_dim), init.xavier_normal_)
        else:
            self.bias_k = self.bias_v = None

    def _reset_parameters(self):
        """torch's ``_reset_parameters``: the input projections drawn again (Xavier
        uniform), their bias and the output projection's bias zero, ``bias_k`` / ``bias_v``
        Xavier normal; the output projection's weight is left as it is, as in torch."""
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                  self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        for b in (self.in_proj_bias, self.out_proj.bias):
            if b is not None:
                init.zeros_(b)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    reset_parameters = _reset_parameters

    def _projections(self, q, k, v):
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            ws = (w[:e], w[e:2 * e], w[2 * e:])
        else:
            ws = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        bs = (None,) * 3 if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        return tuple(F.linear(x, w.T, bias) for x, w, bias in zip((q, k, v), ws, bs))

    def _check(self, query, key, value, key_padding_mask, attn_mask):
        """torch's checks (``_mha_shape_check`` and those after it), in its order and
        wording: the ranks, the feature sizes, key against value, then the masks' shapes.
        Returns whether the input is batched."""
        name, h = "MultiheadAttention", self.num_heads
        if query.ndim not in (2, 3):
            raise _AttentionShapeError(f"{name}: query should be unbatched 2D or batched 3D "
                                       f"tensor but received {query.ndim}-D query tensor "
                                       f"(shape {query.shape})")
        batched = query.ndim == 3
        kind = "batched (3-D)" if batched else "unbatched (2-D)"
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise _AttentionShapeError(f"{name}: for {kind} `query`, expected `key` and "
                                       f"`value` to be {query.ndim}-D but found {key.ndim}-D "
                                       f"and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
            raise _AttentionShapeError(f"{name}: for {kind} `query`, expected "
                                       f"`key_padding_mask` to be `None` or "
                                       f"{query.ndim - 1}-D but found "
                                       f"{key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise _AttentionShapeError(f"{name}: for {kind} `query`, expected `attn_mask` to "
                                       f"be `None`, 2-D or 3-D but found {attn_mask.ndim}-D "
                                       "tensor instead")
        if not batched:
            (L, S), n, kn = (query.shape[0], key.shape[0]), 1, 1
        elif self.batch_first:
            (n, L), S, kn = query.shape[:2], key.shape[1], key.shape[0]
        else:
            (L, n), S, kn = query.shape[:2], key.shape[0], key.shape[1]
        if query.shape[-1] != self.embed_dim:
            raise _AttentionShapeError(f"{name}: query {query.shape} does not end in "
                                       f"embed_dim={self.embed_dim}: was expecting embedding "
                                       f"dimension of {self.embed_dim}, but got "
                                       f"{query.shape[-1]}")
        if key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise _AttentionShapeError(f"{name}: key {key.shape} and value {value.shape} must "
                                       f"end in kdim={self.kdim} and vdim={self.vdim}")
        if key.shape[:-1] != value.shape[:-1] or kn != n:
            raise _AttentionShapeError(f"{name}: key {key.shape} and value {value.shape} must "
                                       f"have the same length and batch, and the batch of "
                                       f"query {query.shape}")
        if attn_mask is not None:
            three = (n * h if batched else h, L, S)
            want = (L, S) if attn_mask.ndim == 2 else three
            if attn_mask.shape != want:
                raise _AttentionShapeError(f"{name}: attn_mask of shape {attn_mask.shape} must "
                                           f"be {(L, S)} or {three}. Expected `attn_mask` "
                                           f"shape to be {want}")
        if key_padding_mask is not None:
            want = (n, S) if batched else (S,)
            if key_padding_mask.shape != want:
                raise _AttentionShapeError(f"{name}: key_padding_mask of shape "
                                           f"{key_padding_mask.shape} must be {want}")
        return batched

    def _mask(self, attn_mask, key_padding_mask, n, L, S, dtype):
        """The (checked) masks merged into one additive float mask broadcastable to
        (N, H, L, S)."""
        out = None
        if attn_mask is not None:
            shape = (1, 1, L, S) if attn_mask.ndim == 2 else (n, self.num_heads, L, S)
            out = _additive(attn_mask, dtype).reshape(shape)
        if key_padding_mask is not None:
            kpm = _additive(key_padding_mask, dtype).reshape(n, 1, 1, S)
            out = kpm if out is None else out + kpm
        return out

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        key_padding_mask = _as_mask(key_padding_mask, query, "key_padding_mask")
        attn_mask = _as_mask(attn_mask, query, "attn_mask")
        batched = self._check(query, key, value, key_padding_mask, attn_mask)
        if not batched:
            query, key, value = (x.reshape(x.shape[0], 1, x.shape[1])
                                 for x in (query, key, value))
        elif self.batch_first:
            query, key, value = (x.transpose(1, 0, 2) for x in (query, key, value))
        L, n, e = query.shape
        S, h, d = key.shape[0], self.num_heads, self.head_dim
        if is_causal and attn_mask is None:
            attn_mask = Tensor(np.triu(np.ones((L, S), dtype=bool), 1), device=query.device)
        q, k, v = self._projections(query, key, value)
        pad = 0
        if self.bias_k is not None:
            k = F.concatenate([k, F.broadcast_to(self.bias_k, (1, n, e))], axis=0)
            v = F.concatenate([v, F.broadcast_to(self.bias_v, (1, n, e))], axis=0)
            pad += 1
        q, k, v = (x.reshape(x.shape[0], n, h, d).transpose(1, 2, 0, 3) for x in (q, k, v))
        if self.add_zero_attn:
            zero = zeros((n, h, 1, d), dtype=k.dtype, device=k.device)
            k, v = F.concatenate([k, zero], axis=2), F.concatenate([v, zero], axis=2)
            pad += 1
        mask = self._mask(attn_mask, key_padding_mask, n, L, S, q.dtype)
        if mask is not None and pad:  # the appended keys are never masked
            mask = F.pad(mask, (0, pad))
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = (q * (1.0 / math.sqrt(d))) @ k.swapaxes(-1, -2)
            weights = F.softmax(scores if mask is None else scores + mask, axis=-1)
            if p > 0:
                weights = F.dropout(weights, p=p, training=True)
            out = weights @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = self.out_proj(out.transpose(2, 0, 1, 3).reshape(L, n, e))
        if need_weights:
            weights = weights.mean(axis=1) if average_attn_weights else weights
        if not batched:
            out = out.reshape(L, e)
            weights = weights.reshape(weights.shape[1:]) if need_weights else None
        elif self.batch_first:
            out = out.transpose(1, 0, 2)
        return out, (weights if need_weights else None)

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")
