"""Keras 3's lookup and text layers: ``StringLookup``, ``IntegerLookup`` and
``TextVectorization``, written in NumPy (Keras' own need TensorFlow).

The vocabulary is laid out as Keras': ``[mask_token]`` (in ``output_mode="int"`` only,
when there is one), then ``num_oov_indices`` OOV entries, then the tokens; :meth:`adapt`
orders the tokens by count, ties by the token, both descending (Keras' ``lexsort``), and
``tf_idf`` weighs the counts with ``log(1 + documents / (1 + document frequency))`` (the
OOV entries get the mean weight). Outputs are int64 Tensors (``"int"``, ``"one_hot"``,
``"multi_hot"``, ``"count"``, as Keras), float32 (``"tf_idf"``), or NumPy string arrays
(``invert=True`` of a StringLookup). Re-exported by :mod:`gradengine.keras.layers`.

Not supported: several OOV indices for strings (Keras hashes them with FarmHash), sparse
and ragged outputs; ``Hashing`` is not provided (FarmHash parity).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..core.tensor import Tensor
from ..nn.layers import _module_device
from .layers_common import _Stateless

__all__ = ["IntegerLookup", "StringLookup", "TextVectorization"]

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')


def _host(x):
    if isinstance(x, Tensor):
        return x.numpy()
    if hasattr(x, "detach"):  # a torch tensor
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _encoded(lookup, arr, device=None):
    """Keras' dtypes: int64 counts and hots, float32 tf_idf."""
    arr = arr if lookup.output_mode == "tf_idf" else arr.astype("int64")
    return Tensor(arr, device=device or _module_device(lookup))


class _IndexLookup(_Stateless):
    """The lookup shared by StringLookup and IntegerLookup (Keras' ``IndexLookup``)."""

    _strings = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, name=None, **kwargs):
        kwargs.pop("vocabulary_dtype", None)
        kwargs.pop("encoding", None)
        super().__init__(name=name, **kwargs)
        name = type(self).__name__
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _MODES:
            raise ValueError(f"{name}: invalid output_mode {output_mode!r}; expected one of "
                             f"{_MODES}")
        if invert and output_mode != "int":
            raise ValueError(f"{name}: invert=True needs output_mode='int', got "
                             f"{output_mode!r}")
        if sparse:
            raise NotImplementedError(f"{name}: sparse outputs are not supported")
        if num_oov_indices < 0:
            raise ValueError(f"{name}: num_oov_indices must be >= 0, got {num_oov_indices}")
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{name}: max_tokens must be > 1, got {max_tokens}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{name}: idf_weights should only be set if output_mode is "
                             f"'tf_idf', got output_mode={output_mode!r}")
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.invert, self.output_mode = bool(invert), output_mode
        self.pad_to_max_tokens, self.sparse = bool(pad_to_max_tokens), False
        self._tokens, self._idf = [], None
        self._has_input_vocabulary = vocabulary is not None
        if vocabulary is not None:
            if isinstance(vocabulary, str):
                with open(vocabulary, encoding="utf-8") as f:
                    vocabulary = f.read().splitlines()
            self.set_vocabulary(vocabulary, idf_weights)
        elif output_mode == "tf_idf" and idf_weights is not None:
            raise ValueError(f"{name}: idf_weights given without a vocabulary")

    # ------------------------------------------------------------ the vocabulary
    def _oov_start(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self):
        return self._oov_start() + self.num_oov_indices

    def _key(self, v):
        return str(v) if self._strings else int(v)

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary, an entry's position its index (special tokens first)."""
        if not include_special_tokens:
            return list(self._tokens)
        return [self.mask_token] * self._oov_start() + \
            [self.oov_token] * self.num_oov_indices + list(self._tokens)

    def vocabulary_size(self):
        return self._token_start() + len(self._tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the tokens (and, for ``tf_idf``, their weights), as Keras'."""
        name = type(self).__name__
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        vocab = [self._key(v) for v in _host(vocabulary).tolist()]
        if not vocab:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocab}")
        start = self._token_start()
        special = [self.mask_token] * self._oov_start() + [self.oov_token] * \
            self.num_oov_indices
        found = vocab[:start] == special
        tokens = vocab[start:] if found else vocab
        repeated = sorted(k for k, c in Counter(tokens).items() if c > 1)
        if repeated:
            raise ValueError(f"{name}: the passed vocabulary has at least one repeated term. "
                             f"Please uniquify your dataset. The repeated terms are: "
                             f"{repeated}")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"{name}: found reserved mask token at unexpected location in "
                             f"`vocabulary`; give it (and the OOV tokens) only at the start, "
                             f"in this order: {special}")
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError(f"{name}: found reserved OOV token at unexpected location in "
                             f"`vocabulary`: {special}")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab "
                             f"size. Received vocabulary size is {start + len(tokens)}; "
                             f"`max_tokens` is {self.max_tokens}.")
        self._tokens = tokens
        self._has_input_vocabulary = True
        if self.output_mode == "tf_idf":
            idf = np.asarray(_host(idf_weights), dtype="float32")
            if len(idf) != len(vocab):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. "
                                 f"len(idf_weights) is {len(idf)}; len(vocabulary) is "
                                 f"{len(vocab)}")
            if not found:  # the special entries get the mean weight, as Keras
                idf = np.concatenate([np.full(start, idf.mean(), "float32"), idf])
            self._idf = idf

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary from ``data`` (rows are documents for ``tf_idf``)."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name or type(self).__name__}' after "
                             "setting a static vocabulary via `vocabulary` argument or "
                             "`set_vocabulary()` method.")
        self._adapt_rows(self._rows(data))

    def _rows(self, data):
        arr = _host(data)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)  # a 1-d array is a single document
        return [[self._key(v) for v in row] for row in arr.reshape(arr.shape[0], -1).tolist()]

    def _adapt_rows(self, rows):
        counts = Counter(t for row in rows for t in row)
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        tokens = list(counts)
        if not tokens:
            return
        keys = np.array(tokens, dtype=object if self._strings else "int64")
        order = np.lexsort((keys.astype(str) if self._strings else keys,
                            np.array([counts[t] for t in tokens])))[::-1]
        start = self._token_start()
        if self.max_tokens:
            order = order[:self.max_tokens - start]
        self._tokens = [tokens[i] for i in order]
        if self.output_mode == "tf_idf":
            docs = Counter(t for row in rows for t in set(row))
            df = np.array([docs[t] for t in self._tokens], dtype="float64")
            idf = np.log(1 + len(rows) / (1 + df)).astype("float32")
            idf = np.concatenate([np.full(start, idf.mean(), "float32"), idf])
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.concatenate([idf, np.zeros(self.max_tokens - len(idf), "float32")])
            self._idf = idf

    # ------------------------------------------------------------ the call
    def _prepare(self, x):
        return x  # strings and integers stay NumPy: the lookup is a table, not an op

    def _indices(self, arr):
        """int64 indices of ``arr``'s tokens (the mask token -1 outside "int" mode)."""
        table = {t: i + self._token_start() for i, t in enumerate(self._tokens)}
        flat = [self._key(v) for v in arr.reshape(-1).tolist()]
        oov0, n_oov = self._oov_start(), self.num_oov_indices
        out = np.empty(len(flat), dtype="int64")
        for i, t in enumerate(flat):
            if self.mask_token is not None and t == self.mask_token:
                out[i] = 0 if self.output_mode == "int" else -1
            elif t in table:
                out[i] = table[t]
            elif n_oov == 1:
                out[i] = oov0
            elif n_oov == 0:
                raise ValueError(f"When `num_oov_indices=0` all inputs should be in "
                                 f"vocabulary, found OOV values [{t!r}], consider setting "
                                 "`num_oov_indices=1`.")
            elif not self._strings:
                out[i] = oov0 + t % n_oov  # Keras' floormod for integers
            else:
                raise NotImplementedError(f"{type(self).__name__}: num_oov_indices > 1 "
                                          "hashes strings with FarmHash, not supported")
        return out.reshape(arr.shape)

    def _invert(self, arr):
        vocab = self.get_vocabulary()
        if self.mask_token is not None:
            vocab[0] = self.mask_token
        flat = [vocab[i] if 0 <= i < len(vocab) else self.oov_token
                for i in arr.reshape(-1).astype("int64").tolist()]
        return np.array(flat, dtype=str if self._strings else "int64").reshape(arr.shape)

    def _encode(self, idx):
        """Keras' encode_categorical_inputs on the indices (the mask's -1 dropped)."""
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if self.output_mode == "one_hot":
            if idx.ndim and idx.shape[-1] == 1:
                idx = idx.reshape(idx.shape[:-1])
            out = np.zeros(idx.shape + (depth,), "float32")
            keep = idx >= 0
            out[keep, idx[keep]] = 1.0
            return out
        if idx.ndim == 0:
            idx = idx.reshape(1)
        if idx.ndim == 1:
            idx = idx.reshape(-1, 1)
        rows = idx.reshape(-1, idx.shape[-1])
        out = np.zeros((rows.shape[0], depth), "float32")
        for r, row in enumerate(rows):
            row = row[row >= 0]
            np.add.at(out[r], row, 1.0)
        out = out.reshape(idx.shape[:-1] + (depth,))
        if self.output_mode == "multi_hot":
            return (out > 0).astype("float32")
        if self.output_mode == "tf_idf":
            if self._idf is None:
                raise ValueError("When `output_mode` is `'tf_idf'`, `idf_weights` must be "
                                 "provided.")
            return out * self._idf[:depth]
        return out

    def forward(self, x):
        arr = _host(x)
        if self.invert:
            res = self._invert(arr)
            return res if self._strings else Tensor(res, device=_module_device(self))
        idx = self._indices(arr)
        if self.output_mode == "int":
            return Tensor(idx, device=_module_device(self))
        return _encoded(self, self._encode(idx))

    def get_config(self):
        return {"name": self.name, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "mask_token": self.mask_token,
                "oov_token": self.oov_token, "invert": self.invert,
                "output_mode": self.output_mode, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary": self.get_vocabulary() if self._tokens else None,
                **({"idf_weights": self._idf.tolist()} if self._idf is not None else {})}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class StringLookup(_IndexLookup):
    """Strings -> indices (Keras' StringLookup): ``mask_token`` (None) maps to 0, tokens
    outside the vocabulary to the OOV index (``oov_token="[UNK]"``); ``invert=True`` maps
    indices back to strings (a NumPy array)."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None,
                 **kwargs):
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, name,
                         **kwargs)


class IntegerLookup(_IndexLookup):
    """Integers -> indices (Keras' IntegerLookup): ``oov_token=-1``; with several OOV
    indices an OOV value ``v`` goes to ``v mod num_oov_indices``, as Keras."""

    _strings = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False, name=None,
                 **kwargs):
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, name,
                         **kwargs)


_STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = (None, "whitespace", "character")


class TextVectorization(_Stateless):
    """Strings -> token indices or vectors (Keras' TextVectorization): ``standardize``
    ("lower_and_strip_punctuation", "lower", "strip_punctuation", None or a function of
    one string), ``split`` ("whitespace", "character", None or a function of one string
    returning its tokens), ``ngrams`` (None, n, or a tuple of widths), then a StringLookup
    whose mask token is "" (index 0 in "int" mode, the padding) and OOV token "[UNK]".
    ``output_sequence_length`` pads / truncates the "int" output; without it the batch is
    padded to its longest row."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if not (callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(f"TextVectorization: invalid standardize {standardize!r}; "
                             f"expected one of {_STANDARDIZE} or a callable")
        if not (callable(split) or split in _SPLIT):
            raise ValueError(f"TextVectorization: invalid split {split!r}; expected one of "
                             f"{_SPLIT} or a callable")
        if ragged:
            raise NotImplementedError("TextVectorization: ragged outputs are not supported")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is "
                             f"not 'int'. Received output_sequence_length="
                             f"{output_sequence_length}.")
        if isinstance(ngrams, int):
            ngrams = tuple(range(1, ngrams + 1))
        self.standardize, self.split, self.ngrams = standardize, split, ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.max_tokens, self.pad_to_max_tokens = max_tokens, pad_to_max_tokens
        self._lookup = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary,
                                    idf_weights=idf_weights, mask_token="",
                                    output_mode=output_mode,
                                    pad_to_max_tokens=pad_to_max_tokens, sparse=sparse)

    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup.set_vocabulary(vocabulary, idf_weights)

    def _standardize(self, s):
        std = self.standardize
        if std in ("lower", "lower_and_strip_punctuation"):
            s = s.lower()
        if std in ("strip_punctuation", "lower_and_strip_punctuation"):
            s = _PUNCTUATION.sub("", s)
        if callable(std):
            s = std(s)
        return s

    def _tokens(self, s):
        s = self._standardize(s)
        if self.split is None:
            toks = [s]
        elif self.split == "whitespace":
            toks = s.split()
        elif self.split == "character":
            toks = list(s)
        else:
            toks = list(self.split(s))
        if self.ngrams is not None:
            toks = [" ".join(toks[i:i + n]) for n in self.ngrams
                    for i in range(len(toks) - n + 1)]
        return toks

    def _strings_of(self, data):
        arr = _host(data)
        if arr.ndim == 2 and arr.shape[-1] == 1:
            arr = arr.reshape(-1)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1:
            raise ValueError(f"When using `TextVectorization` to tokenize strings, the input "
                             f"rank must be 1 or the last shape dimension must be 1. "
                             f"Received: inputs.shape={arr.shape} with rank={arr.ndim}")
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in arr.tolist()]

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and the idf weights) from the strings of ``data``."""
        lk = self._lookup
        if lk._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name or 'text_vectorization'}' after "
                             "setting a static vocabulary via `vocabulary` argument or "
                             "`set_vocabulary()` method.")
        lk._adapt_rows([self._tokens(s) for s in self._strings_of(data)])

    def _prepare(self, x):
        return x

    def forward(self, x):
        rows = [self._tokens(s) for s in self._strings_of(x)]
        lk = self._lookup
        if self.output_mode != "int":
            width = max((len(r) for r in rows), default=0)
            idx = np.full((len(rows), max(width, 1)), -1, "int64")
            for i, r in enumerate(rows):
                if r:
                    idx[i, :len(r)] = lk._indices(np.array(r, dtype=object))
            return _encoded(lk, lk._encode(idx), _module_device(self))
        width = self.output_sequence_length
        if width is None:
            width = max((len(r) for r in rows), default=0)
        out = np.zeros((len(rows), width), "int64")
        for i, r in enumerate(rows):
            r = r[:width]
            if r:
                out[i, :len(r)] = lk._indices(np.array(r, dtype=object))
        return Tensor(out, device=_module_device(self))

    def get_config(self):
        return {"name": self.name, "max_tokens": self.max_tokens,
                "standardize": self.standardize if not callable(self.standardize) else None,
                "split": self.split if not callable(self.split) else None,
                "ngrams": self.ngrams, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary": self.get_vocabulary() if self._lookup._tokens else None}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
