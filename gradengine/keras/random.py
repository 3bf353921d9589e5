"""Keras 3's ``keras.random``: draws from gradengine's seeded generator (``ge.manual_seed``,
``keras.utils.set_random_seed``) as Tensors."""

from __future__ import annotations

from .. import backend
from ..core.tensor import Tensor
from ..nn import _keras_init

__all__ = ["normal", "uniform"]


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev^2) of ``shape``."""
    return _draw(_keras_init.RandomNormal(mean, stddev, seed), shape, dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of U(minval, maxval) of ``shape``."""
    return _draw(_keras_init.RandomUniform(minval, maxval, seed), shape, dtype)


def _draw(init, shape, dtype):
    dev = backend.get_default_device()
    return Tensor._make(init(tuple(shape), dtype, dev), dev)
