"""Transformer blocks with PyTorch's names, signatures and state-dict keys:
:class:`TransformerEncoderLayer`, :class:`TransformerEncoder`, :class:`TransformerDecoderLayer`,
:class:`TransformerDecoder` and :class:`Transformer`. Their linear weights (``linear1``,
``linear2``, ``self_attn.out_proj``) keep PyTorch's (out, in) layout, so ``load_state_dict``
of a torch state dict works unchanged.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import functional as F
from ..errors import ArgumentError, ShapeError
from ..ops.creation import tensor
from . import init
from .attention import MultiheadAttention, _AttentionShapeError, _TorchLinear
from .containers import ModuleList
from .dropout import Dropout
from .module import Module
from .normalization import LayerNorm

__all__ = ["Transformer", "TransformerDecoder", "TransformerDecoderLayer",
           "TransformerEncoder", "TransformerEncoderLayer"]


def _activation(activation, op):
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise ArgumentError(f"{op}: activation should be 'relu', 'gelu' or a callable, not "
                        f"{activation!r}")


class _Layer(Module):
    """The feed-forward block and the attention blocks shared by both layer kinds."""

    def _init_common(self, d_model, nhead, dim_feedforward, dropout, activation,
                     layer_norm_eps, batch_first, norm_first, bias, device, dtype, norms):
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, device=device,
                                            dtype=dtype)
        self._extra_attention(d_model, nhead, dropout, bias, batch_first, device, dtype)
        self.linear1 = _TorchLinear(d_model, dim_feedforward, bias, device, dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = _TorchLinear(dim_feedforward, d_model, bias, device, dtype)
        self.norm_first = bool(norm_first)
        for i in range(1, norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                dtype=dtype, device=device))
        for i in range(1, norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation, type(self).__name__)

    def _extra_attention(self, *args):
        pass

    def _check(self, x, name):
        d = self.self_attn.embed_dim
        if x.ndim not in (2, 3) or x.shape[-1] != d:
            raise _AttentionShapeError(f"{type(self).__name__}: {name} of shape {x.shape} "
                                       f"must be (L, N, {d}), (N, L, {d}) with batch_first, "
                                       f"or (L, {d})")

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x, out_dropout):
        return out_dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_Layer):
    """Self-attention and a feed-forward block, each with a residual connection and layer
    norm (after, or before with ``norm_first``), as ``torch.nn.TransformerEncoderLayer``.

    Args:
        d_model: the feature size. nhead: attention heads. dim_feedforward: the hidden size
        of the feed-forward block. dropout: after attention, inside and after the
        feed-forward block. activation: "relu", "gelu" or a callable. layer_norm_eps,
        batch_first, norm_first, bias: as PyTorch.
    Returns:
        ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: the
        output, shaped as ``src``.
    Raises:
        ShapeError: src of the wrong feature size (also an AssertionError, as torch's).
        ArgumentError (a ValueError and a RuntimeError): a bad activation.
    Example:
        >>> layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True); y = layer(x)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self._init_common(d_model, nhead, dim_feedforward, dropout, activation,
                          layer_norm_eps, batch_first, norm_first, bias, device, dtype, 2)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        self._check(src, "src")
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x, self.dropout2))


class TransformerDecoderLayer(_Layer):
    """Self-attention, attention over the encoder's output (``memory``) and a feed-forward
    block, each with a residual connection and layer norm, as
    ``torch.nn.TransformerDecoderLayer``.

    Args:
        As :class:`TransformerEncoderLayer`.
    Returns:
        ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
        memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``: the
        output, shaped as ``tgt``.
    Example:
        >>> layer = nn.TransformerDecoderLayer(16, 4, 32); y = layer(tgt, memory)
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self._init_common(d_model, nhead, dim_feedforward, dropout, activation,
                          layer_norm_eps, batch_first, norm_first, bias, device, dtype, 3)

    def _extra_attention(self, d_model, nhead, dropout, bias, batch_first, device, dtype):
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, device=device,
                                                 dtype=dtype)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=is_causal)[0]
        return self.dropout2(x)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        self._check(tgt, "tgt")
        self._check(memory, "memory")
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                   tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x, self.dropout3))


def _clones(layer, num_layers, op):
    if int(num_layers) <= 0:
        raise ValueError(f"{op}: num_layers must be positive, got {num_layers}")
    return ModuleList([copy.deepcopy(layer) for _ in range(int(num_layers))])


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` applied in turn, then ``norm`` when
    given, as ``torch.nn.TransformerEncoder`` (keys ``layers.0.self_attn...``).

    Returns:
        ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``.
    Example:
        >>> enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32), 2); y = enc(x)
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers, self.norm = int(num_layers), norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                        is_causal=bool(is_causal))
        return out if self.norm is None else self.norm(out)


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer`` applied in turn, then ``norm`` when
    given, as ``torch.nn.TransformerDecoder``.

    Returns:
        ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
        memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``.
    Example:
        >>> dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(16, 4, 32), 2)
        >>> y = dec(tgt, memory)
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers, self.norm = int(num_layers), norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask,
                        memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return out if self.norm is None else self.norm(out)


class Transformer(Module):
    """An encoder-decoder transformer, as ``torch.nn.Transformer``: every weight matrix
    Glorot-uniform initialised, a final LayerNorm after the encoder and the decoder.

    Args:
        d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout,
        activation, custom_encoder, custom_decoder, layer_norm_eps, batch_first, norm_first,
        bias: as PyTorch.
    Returns:
        ``forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
        src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
        src_is_causal=None, tgt_is_causal=None, memory_is_causal=False)``: shaped as tgt.
    Raises:
        ShapeError: src and tgt with different batch sizes or feature sizes not d_model.
    Example:
        >>> model = nn.Transformer(16, 4, 2, 2, 32)
        >>> mask = nn.Transformer.generate_square_subsequent_mask(7)
        >>> y = model(src, tgt, tgt_mask=mask)
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                batch_first, norm_first, bias, device, dtype)
        self.encoder = custom_encoder if custom_encoder is not None else TransformerEncoder(
            TransformerEncoderLayer(*args), num_encoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype, device=device))
        self.decoder = custom_decoder if custom_decoder is not None else TransformerDecoder(
            TransformerDecoderLayer(*args), num_decoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype, device=device))
        self.d_model, self.nhead, self.batch_first = int(d_model), int(nhead), bool(batch_first)
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        b = 0 if self.batch_first else 1
        if src.ndim != tgt.ndim or (src.ndim == 3 and src.shape[b] != tgt.shape[b]):
            raise ShapeError(f"Transformer: src {src.shape} and tgt {tgt.shape} must have the "
                             "same number of dimensions and the same batch size")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(f"Transformer: src {src.shape} and tgt {tgt.shape} must end in "
                             f"d_model={self.d_model}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """A float (sz, sz) mask: -inf above the diagonal (future positions), 0 elsewhere."""
        mask = np.triu(np.full((int(sz), int(sz)), -np.inf, dtype=np.float32), 1)
        return tensor(mask, dtype=dtype or "float32", device=device)
