"""Keras 3's lookup and text layers: ``StringLookup``, ``IntegerLookup`` and
``TextVectorization``, written in NumPy (Keras' own need TensorFlow).

The vocabulary is laid out as Keras': ``[mask_token]`` (in ``output_mode="int"`` only,
when there is one), then ``num_oov_indices`` OOV entries, then the tokens; :meth:`adapt`
orders the tokens by count, ties by the token, both descending (Keras' ``lexsort``), and
``tf_idf`` weighs the counts with ``log(1 + documents / (1 + document frequency))`` (the
OOV entries get the mean weight). Outputs are int64 Tensors (``"int"``, ``"one_hot"``,
``"multi_hot"``, ``"count"``, as Keras), float32 (``"tf_idf"``), or NumPy string arrays
(``invert=True`` of a StringLookup). Re-exported by :mod:`gradengine.keras.layers`.

``Hashing`` and several OOV indices hash as TensorFlow does: FarmHash's Fingerprint64
(``to_hash_bucket_fast``), or SipHash-2-4 keyed by ``salt`` (``to_hash_bucket_strong``),
both written out here in Python (exact, slow: about 10 us a short string).
Not supported: sparse and ragged outputs.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..core.tensor import Tensor
from ..nn.layers import _module_device
from .layers_common import _Stateless

__all__ = ["Hashing", "IntegerLookup", "StringLookup", "TextVectorization"]

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


# ------------------------------------------------------------------ Keras' hashes
_M64 = (1 << 64) - 1
_K0, _K1, _K2 = 0xc3a5c85c97cb3127, 0xb492b66fbe98f273, 0x9ae16a3b2f90404f


def _fetch64(s, i):
    return int.from_bytes(s[i:i + 8], "little")


def _fetch32(s, i):
    return int.from_bytes(s[i:i + 4], "little")


def _rot(v, r):
    return ((v >> r) | (v << (64 - r))) & _M64 if r else v


def _shift_mix(v):
    return v ^ (v >> 47)


def _len16(u, v, mul):
    a = ((u ^ v) * mul) & _M64
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M64
    b ^= b >> 47
    return (b * mul) & _M64


def _len0to16(s):
    n = len(s)
    if n >= 8:
        mul = _K2 + n * 2
        a = (_fetch64(s, 0) + _K2) & _M64
        b = _fetch64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & _M64
        d = ((_rot(a, 25) + b) * mul) & _M64
        return _len16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        return _len16((n + (_fetch32(s, 0) << 3)) & _M64, _fetch32(s, n - 4), mul)
    if n > 0:
        y = s[0] + (s[n >> 1] << 8)
        z = n + (s[n - 1] << 2)
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _M64) * _K2) & _M64
    return _K2


def _len17to32(s):
    n = len(s)
    mul = _K2 + n * 2
    a = (_fetch64(s, 0) * _K1) & _M64
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & _M64
    d = (_fetch64(s, n - 16) * _K2) & _M64
    return _len16((_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64,
                  (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)


def _len33to64(s):
    n = len(s)
    mul = _K2 + n * 2
    a = (_fetch64(s, 0) * _K2) & _M64
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & _M64
    d = (_fetch64(s, n - 16) * _K2) & _M64
    y = (_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64
    z = _len16(y, (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)
    e = (_fetch64(s, 16) * mul) & _M64
    f = _fetch64(s, 24)
    g = ((y + _fetch64(s, n - 32)) * mul) & _M64
    h = ((z + _fetch64(s, n - 24)) * mul) & _M64
    return _len16((_rot((e + f) & _M64, 43) + _rot(g, 30) + h) & _M64,
                  (e + _rot((f + a) & _M64, 18) + g) & _M64, mul)


def _weak32(s, i, a, b):
    w, x, y, z = (_fetch64(s, i + k) for k in (0, 8, 16, 24))
    a = (a + w) & _M64
    b = _rot((b + a + z) & _M64, 21)
    c = a
    a = (a + x + y) & _M64
    b = (b + _rot(a, 44)) & _M64
    return (a + z) & _M64, (b + c) & _M64


def fingerprint64(s: bytes) -> int:
    """FarmHash's Fingerprint64 (farmhashna::Hash64), which TensorFlow's
    ``to_hash_bucket_fast`` and so Keras' Hashing use."""
    n = len(s)
    if n <= 16:
        return _len0to16(s)
    if n <= 32:
        return _len17to32(s)
    if n <= 64:
        return _len33to64(s)
    seed = 81
    x = seed
    y = (seed * _K1 + 113) & _M64
    z = (_shift_mix((y * _K2 + 113) & _M64) * _K2) & _M64
    v, w = (0, 0), (0, 0)
    x = (x * _K2 + _fetch64(s, 0)) & _M64
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    i = 0
    while True:
        x = (_rot((x + y + v[0] + _fetch64(s, i + 8)) & _M64, 37) * _K1) & _M64
        y = (_rot((y + v[1] + _fetch64(s, i + 48)) & _M64, 42) * _K1) & _M64
        x ^= w[1]
        y = (y + v[0] + _fetch64(s, i + 40)) & _M64
        z = (_rot((z + w[0]) & _M64, 33) * _K1) & _M64
        v = _weak32(s, i, (v[1] * _K1) & _M64, (x + w[0]) & _M64)
        w = _weak32(s, i + 32, (z + w[1]) & _M64, (y + _fetch64(s, i + 16)) & _M64)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = _K1 + ((z & 0xff) << 1)
    i = last64
    w = ((w[0] + ((n - 1) & 63)) & _M64, w[1])
    v = ((v[0] + w[0]) & _M64, v[1])
    w = ((w[0] + v[0]) & _M64, w[1])
    x = (_rot((x + y + v[0] + _fetch64(s, i + 8)) & _M64, 37) * mul) & _M64
    y = (_rot((y + v[1] + _fetch64(s, i + 48)) & _M64, 42) * mul) & _M64
    x ^= (w[1] * 9) & _M64
    y = (y + v[0] * 9 + _fetch64(s, i + 40)) & _M64
    z = (_rot((z + w[0]) & _M64, 33) * mul) & _M64
    v = _weak32(s, i, (v[1] * mul) & _M64, (x + w[0]) & _M64)
    w = _weak32(s, i + 32, (z + w[1]) & _M64, (y + _fetch64(s, i + 16)) & _M64)
    z, x = x, z
    return _len16((_len16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z) & _M64,
                  (_len16(v[1], w[1], mul) + x) & _M64, mul)


def _sip_round(v0, v1, v2, v3):
    v0 = (v0 + v1) & _M64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & _M64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & _M64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & _M64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _rotl(v, r):
    return ((v << r) | (v >> (64 - r))) & _M64


def siphash24(key, s: bytes) -> int:
    """SipHash-2-4 of ``s`` keyed by two 64-bit integers (TensorFlow's
    ``to_hash_bucket_strong``, Keras' Hashing with a ``salt``)."""
    k0, k1 = (int(k) & _M64 for k in key)
    v0, v1 = k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d
    v2, v3 = k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573
    n = len(s)
    full = n - n % 8
    for i in range(0, full, 8):
        m = _fetch64(s, i)
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= m
    b = ((n & 0xff) << 56) | int.from_bytes(s[full:], "little")
    v3 ^= b
    v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
    v0 ^= b
    v2 ^= 0xff
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def _salt(salt, name):
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2:
        return [int(salt[0]), int(salt[1])]
    if isinstance(salt, int):
        return [salt, salt]
    raise ValueError(f"The `salt` argument for `{name}` can only be a tuple of size 2 "
                     f"integers, or a single integer. Received: salt={salt}.")


def _bucket(token, bins, salt):
    """TensorFlow's string hash bucket of ``token`` (str, or bytes)."""
    b = token if isinstance(token, bytes) else str(token).encode("utf-8")
    return (siphash24(salt, b) if salt is not None else fingerprint64(b)) % bins


class _IndexLookup(_Stateless):
    """The lookup shared by StringLookup and IntegerLookup (Keras' ``IndexLookup``)."""

    _strings = True

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=None,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, name=None, salt=None,
                 oov_method="floormod", **kwargs):
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
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{name}: oov_method must be 'floormod' or 'farmhash', got "
                             f"{oov_method!r}")
        self.salt, self.oov_method = _salt(salt, name), oov_method
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
            elif not self._strings and self.oov_method == "floormod":
                out[i] = oov0 + t % n_oov  # Keras' floormod for integers
            else:  # strings (and integers as their decimal text) hashed, as Keras
                out[i] = oov0 + _bucket(t, n_oov, self.salt)
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
                 salt=None, **kwargs):
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, name,
                         salt=salt, **kwargs)


class IntegerLookup(_IndexLookup):
    """Integers -> indices (Keras' IntegerLookup): ``oov_token=-1``; with several OOV
    indices an OOV value ``v`` goes to ``v mod num_oov_indices`` (``oov_method="farmhash"``:
    the hash of its decimal text), as Keras."""

    _strings = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False, name=None,
                 oov_method="floormod", salt=None, **kwargs):
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, pad_to_max_tokens, sparse, name,
                         salt=salt, oov_method=oov_method, **kwargs)


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


class Hashing(_Stateless):
    """Values -> ``num_bins`` hash bins (Keras' Hashing): strings, and integers (floats cast
    to int64) as their decimal text, hashed with FarmHash's Fingerprint64, or SipHash-2-4
    keyed by ``salt`` (an int or two), as TensorFlow's ``to_hash_bucket_fast`` /
    ``_strong``; ``mask_value`` goes to bin 0 and the rest to ``[1, num_bins)``.
    ``output_mode`` "int" (int64), "one_hot", "multi_hot", "count" (float32)."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int",
                 sparse=False, **kwargs):
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive "
                             f"values. Received: num_bins={num_bins}.")
        modes = ("int", "one_hot", "multi_hot", "count")
        if output_mode not in modes:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{modes}. Received: output_mode={output_mode}")
        if sparse:
            raise NotImplementedError("Hashing: sparse outputs are not supported")
        self.num_bins, self.mask_value = int(num_bins), mask_value
        self.salt, self.output_mode, self.sparse = _salt(salt, "Hashing"), output_mode, False
        self.strong_hash = self.salt is not None

    def _prepare(self, x):
        return x

    def _bins(self, arr):
        bins, mask_value = self.num_bins, self.mask_value
        masked = mask_value is not None and bins > 1
        if masked:
            bins -= 1
        if arr.dtype.kind == "f":
            arr = arr.astype("int64")
        flat = arr.reshape(-1).tolist()
        out = np.empty(len(flat), dtype="int64")
        for i, v in enumerate(flat):
            if masked and v == mask_value:
                out[i] = 0
                continue
            key = v if isinstance(v, (str, bytes)) else str(int(v))
            out[i] = _bucket(key, bins, self.salt) + (1 if masked else 0)
        return out.reshape(arr.shape)

    def forward(self, x):
        arr = _host(x)
        if self.output_mode == "one_hot" and arr.ndim and arr.shape[-1] == 1:
            arr = arr.reshape(arr.shape[:-1])
        idx = self._bins(arr)
        dev = _module_device(self)
        if self.output_mode == "int":
            return Tensor(idx, device=dev)
        n = self.num_bins
        if self.output_mode == "one_hot":
            out = np.zeros(idx.shape + (n,), "float32")
            np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
            return Tensor(out, device=dev)
        rows = idx.reshape(-1, 1) if idx.ndim <= 1 else idx.reshape(-1, idx.shape[-1])
        out = np.zeros((rows.shape[0], n), "float32")
        for r, row in enumerate(rows):
            np.add.at(out[r], row, 1.0)
        if self.output_mode == "multi_hot":
            out = (out > 0).astype("float32")
        lead = idx.shape[:-1] if idx.ndim > 1 else idx.shape[:1]
        return Tensor(out.reshape(tuple(lead) + (n,)), device=dev)

    def get_config(self):
        return {"name": self.name, "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode,
                "sparse": False}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
