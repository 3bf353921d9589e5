"""Keras 3's ``keras.random``: draws as Tensors on the default device, from gradengine's
seeded generator (``ge.manual_seed``, ``keras.utils.set_random_seed``), or reproducibly
from ``seed=`` (an int: the same numbers at every call with it, as in Keras; a
:class:`SeedGenerator`: a new draw each call). The numbers are NumPy's, not Keras'
backend's: the distributions match, the samples do not."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn import _keras_init

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
           "randint", "shuffle", "truncated_normal", "uniform"]


class SeedGenerator:
    """Keras' SeedGenerator: a generator of its own (``seed=None``: drawn from gradengine's
    global one), advanced by every draw it is given to."""

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is None:
            seed = int(backend.rng("cpu").integers(2 ** 31))
        if not isinstance(seed, (int, np.integer)):
            raise ValueError(f"SeedGenerator: seed must be an integer, got {seed!r}")
        self.seed, self.name = int(seed), name or "seed_generator"
        self._gen = np.random.default_rng(self.seed)

    def next(self, ordered=True):
        return self._gen.integers(2 ** 31, size=2)

    def get_config(self):
        return {"seed": self.seed}


def _gen(seed):
    if isinstance(seed, SeedGenerator):
        return seed._gen
    if seed is None:
        return np.random.default_rng(int(backend.rng("cpu").integers(2 ** 63)))
    if isinstance(seed, (int, np.integer)):
        return np.random.default_rng(int(seed))
    raise ValueError(f"keras.random: seed must be None, an int or a SeedGenerator, got "
                     f"{type(seed).__name__}")


def _out(arr, dtype):
    dt = backend.DEFAULT_FLOAT if dtype is None else backend.resolve_dtype(
        "int32" if dtype == "int32" else dtype, "keras.random")
    return Tensor(np.asarray(arr).astype(dt), device=backend.get_default_device())


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev^2) of ``shape``."""
    if seed is None:
        return _draw(_keras_init.RandomNormal(mean, stddev, seed), shape, dtype)
    return _out(mean + stddev * _gen(seed).standard_normal(tuple(shape)), dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of U(minval, maxval) of ``shape``."""
    if seed is None:
        return _draw(_keras_init.RandomUniform(minval, maxval, seed), shape, dtype)
    return _out(_gen(seed).uniform(minval, maxval, tuple(shape)), dtype)


def _draw(init, shape, dtype):
    dev = backend.get_default_device()
    return Tensor._make(init(tuple(shape), dtype, dev), dev)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in ``[minval, maxval)``."""
    return _out(_gen(seed).integers(minval, maxval, tuple(shape)), dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """N(mean, stddev^2) samples redrawn until within two standard deviations."""
    g = _gen(seed)
    out = g.standard_normal(tuple(shape))
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = g.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return _out(mean + stddev * out, dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of ``logits`` (batch, classes), drawn from
    ``softmax(logits)``: shape (batch, num_samples).

    Raises:
        ShapeError: logits that are not 2-D.
    """
    lg = logits.numpy() if isinstance(logits, Tensor) else np.asarray(logits, np.float64)
    if lg.ndim != 2:
        raise ShapeError(f"categorical: logits must be 2-D (batch, classes), got shape "
                         f"{lg.shape}")
    p = np.exp(lg - lg.max(axis=-1, keepdims=True))
    p = p / p.sum(axis=-1, keepdims=True)
    g = _gen(seed)
    cdf = np.cumsum(p, axis=-1)
    u = g.random((lg.shape[0], int(num_samples)))
    idx = (u[..., None] > cdf[:, None, :]).sum(axis=-1)
    return _out(np.minimum(idx, lg.shape[1] - 1), dtype)


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` permuted."""
    arr = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
    perm = _gen(seed).permutation(arr.shape[axis])
    return _out(np.take(arr, perm, axis=axis), arr.dtype.name)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Inputs zeroed with probability ``rate`` and the rest scaled by ``1 / (1 - rate)``
    (a differentiable product when ``inputs`` is a Tensor).

    Raises:
        ValueError: a rate outside [0, 1).
    """
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    x = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs))
    shape = tuple(x.shape if noise_shape is None else
                  [d if n is None else n for n, d in zip(noise_shape, x.shape)])
    keep = (_gen(seed).random(shape) >= rate).astype(x.dtype) / (1.0 - rate)
    return x * Tensor(keep, device=x.device)


def gamma(shape, alpha, dtype=None, seed=None):
    """Gamma(alpha, 1) samples."""
    return _out(_gen(seed).gamma(alpha, 1.0, tuple(shape)), dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Beta(alpha, beta) samples."""
    return _out(_gen(seed).beta(alpha, beta, tuple(shape)), dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Binomial(counts, probabilities) samples (as floats by default, as Keras)."""
    c = np.asarray(counts.numpy() if isinstance(counts, Tensor) else counts)
    p = np.asarray(probabilities.numpy() if isinstance(probabilities, Tensor)
                   else probabilities)
    return _out(_gen(seed).binomial(c.astype(np.int64), p, tuple(shape)), dtype)
