"""Variable-length sequences, as ``torch.nn.utils.rnn`` (also importable as
``gradengine.nn.utils.rnn``): :class:`PackedSequence`, :func:`pack_padded_sequence`,
:func:`pad_packed_sequence`, :func:`pack_sequence`, :func:`pad_sequence`,
:func:`unpad_sequence`, :func:`unpack_sequence`.

A PackedSequence holds the time steps of a batch sorted by decreasing length, step after
step: ``data`` (sum of lengths, *), ``batch_sizes`` (how many sequences are still running
at each step, an int64 CPU tensor), and the permutation from the caller's batch order
(``sorted_indices``) and back (``unsorted_indices``). Packing and unpacking are gathers,
so gradients flow through them; nn.RNN / LSTM / GRU take a PackedSequence and give one
back, with the final states of each sequence's last valid step.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..core.tensor import Tensor
from ..errors import ArgumentError, ShapeError
from ..ops.composite import index_select
from ..ops.shape import concatenate, reshape, stack, transpose

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence",
           "pad_sequence", "unpad_sequence", "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as PyTorch's."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        return type(self)(self.data.to(*args, **kwargs), self.batch_sizes,
                          self.sorted_indices, self.unsorted_indices)

    @property
    def is_cuda(self):
        return self.data.device != "cpu"

    def is_pinned(self):
        return False


def _ints(x):
    return x.numpy().astype(np.int64) if isinstance(x, Tensor) else \
        np.asarray(x, dtype=np.int64)


def _invert(perm):
    p = _ints(perm)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size)
    return Tensor(inv)


def _layout(lengths):
    """batch_sizes and, for each packed row, its (time, sorted batch) position."""
    lengths = np.asarray(lengths, np.int64)
    t_max = int(lengths[0]) if lengths.size else 0
    batch_sizes = np.array([(lengths > t).sum() for t in range(t_max)], np.int64)
    return batch_sizes


def pack_padded_sequence(input, lengths, batch_first=False,  # noqa: A002
                         enforce_sorted=True):
    """Pack a padded batch ``input`` (T, B, *) (or (B, T, *) with ``batch_first``) of
    sequences of ``lengths``; ``enforce_sorted=False`` sorts them (and remembers how).

    Raises:
        ShapeError: lengths that do not fit the batch, a zero length.
        ArgumentError (a ValueError and a RuntimeError, torch's): unsorted lengths with
            ``enforce_sorted``.
    """
    lengths = _ints(lengths).reshape(-1)
    if batch_first:
        input = transpose(input, (1, 0) + tuple(range(2, input.ndim)))  # noqa: A001
    t_max, b = input.shape[:2]
    if lengths.size != b:
        raise ShapeError(f"pack_padded_sequence: {lengths.size} lengths for a batch of {b} "
                         f"(input {input.shape})")
    if lengths.size and (lengths.min() <= 0 or lengths.max() > t_max):
        raise ShapeError(f"pack_padded_sequence: lengths {lengths.tolist()} must be in "
                         f"[1, {t_max}]")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ArgumentError(f"pack_padded_sequence: lengths {lengths.tolist()} are not "
                                "sorted in decreasing order; pass enforce_sorted=False")
        order = None
        sorted_len = lengths
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_len = lengths[order]
    batch_sizes = _layout(sorted_len)
    order_ = np.arange(b) if order is None else order
    rows = np.concatenate([t * b + order_[:n] for t, n in enumerate(batch_sizes)]) \
        if batch_sizes.size else np.zeros(0, np.int64)
    flat = reshape(input, (t_max * b,) + input.shape[2:])
    data = index_select(flat, 0, Tensor(rows.astype(np.int64), device=input.device))
    sorted_idx = None if order is None else Tensor(order.astype(np.int64))
    return PackedSequence(data, Tensor(batch_sizes), sorted_idx,
                          None if order is None else _invert(order))


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The padded batch (T, B, *) (or (B, T, *)) and the lengths (an int64 tensor) of a
    PackedSequence, in the batch order it was packed from.

    Raises:
        ValueError: ``total_length`` shorter than the longest sequence.
    """
    data, bs = sequence.data, _ints(sequence.batch_sizes)
    t_max, b = bs.size, int(bs[0]) if bs.size else 0
    if total_length is not None:
        if total_length < t_max:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is shorter "
                             f"than the longest sequence ({t_max})")
        t_out = int(total_length)
    else:
        t_out = t_max
    lengths = np.array([(bs > j).sum() for j in range(b)], np.int64)
    # every padded (t, j) slot points at its packed row, or at an extra padding row
    pad_row = data.shape[0]
    idx = np.full((t_out, b), pad_row, np.int64)
    at = 0
    for t, n in enumerate(bs):
        idx[t, :n] = np.arange(at, at + n)
        at += n
    unsorted = sequence.unsorted_indices
    if unsorted is not None:
        idx = idx[:, _ints(unsorted)]
        lengths = lengths[_ints(unsorted)]
    pad = Tensor(np.full((1,) + data.shape[1:], padding_value, dtype=data.dtype),
                 device=data.device)
    src = concatenate([data, pad], 0)
    out = reshape(index_select(src, 0, Tensor(idx.reshape(-1), device=data.device)),
                  (t_out, b) + data.shape[1:])
    if batch_first:
        out = transpose(out, (1, 0) + tuple(range(2, out.ndim)))
    return out, Tensor(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (L_i, *) into (L_max, B, *) (``batch_first``: (B, L_max,
    *)), padded with ``padding_value`` on the right (or the left, ``padding_side="left"``).

    Raises:
        ShapeError: trailing shapes that differ. ArgumentError (a ValueError and a
            RuntimeError, torch's): a bad padding_side.
    """
    if padding_side not in ("left", "right"):
        raise ArgumentError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                            f"{padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise ArgumentError("pad_sequence: received an empty list of sequences")
    trail = sequences[0].shape[1:]
    if any(s.shape[1:] != trail for s in sequences):
        raise ShapeError(f"pad_sequence: the sequences' trailing shapes differ: "
                         f"{[s.shape for s in sequences]}")
    l_max = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        n = l_max - s.shape[0]
        if n:
            pad = Tensor(np.full((n,) + trail, padding_value, dtype=s.dtype), device=s.device)
            s = concatenate([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    return stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of unpadded sequences of a padded batch (inverse of pad_sequence)."""
    x = padded_sequences if batch_first else transpose(
        padded_sequences, (1, 0) + tuple(range(2, padded_sequences.ndim)))
    return [x[i, :int(n)] for i, n in enumerate(_ints(lengths))]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors (L_i, *) (``enforce_sorted``: in decreasing length)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of tensors a PackedSequence was packed from."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
