"""Keras' weight initializers: ``Dense(4, kernel_initializer="he_normal")`` or an object,
``initializers.GlorotUniform()``; ``initializers.get(name)``. The lowercase names
(``initializers.glorot_uniform``) are the classes, as in Keras 3; ``Orthogonal`` and
``Identity`` are Keras' (an object of them can be given to a layer; the layers' string
names take the other initializers)."""

from __future__ import annotations

import math

from ..nn import _keras_init
from ..nn._keras_init import (  # noqa: F401
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Initializer,
    LecunNormal,
    LecunUniform,
    Ones,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
)

__all__ = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
           "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones",
           "Orthogonal", "OrthogonalInitializer", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "VarianceScaling", "Zeros", "constant", "deserialize", "get",
           "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
           "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal",
           "random_uniform", "serialize", "truncated_normal", "variance_scaling", "zeros"]


class Orthogonal(Initializer):
    """Keras' Orthogonal: the Q of a QR decomposition of a normal matrix of shape
    ``(max(rows, cols), min(rows, cols))`` (rows: the product of all axes but the last),
    its columns' signs fixed by R's diagonal, transposed when rows < cols, times ``gain``.

    Raises:
        ValueError: a shape of fewer than 2 axes.
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def _draw(self, xp, gen, shape, dev):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the initializer needs a shape of 2 or more axes, "
                             f"got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._normal(gen, (max(rows, cols), min(rows, cols)), dev)
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(xp.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"seed": self.seed, "gain": self.gain}


class Identity(Initializer):
    """Keras' Identity: ``gain * eye(rows, cols)`` for a 2-axis shape.

    Raises:
        ValueError: a shape that does not have 2 axes.
    """

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def _draw(self, xp, gen, shape, dev):
        if len(shape) != 2:
            raise ValueError(f"Identity: the initializer needs a 2-D shape, got {shape}")
        return self.gain * xp.eye(*shape)

    def get_config(self):
        return {"gain": self.gain}


OrthogonalInitializer, IdentityInitializer = Orthogonal, Identity
zeros, ones, constant = Zeros, Ones, Constant
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, \
    LecunNormal
orthogonal, identity = Orthogonal, Identity

_EXTRA = {"orthogonal": Orthogonal, "Orthogonal": Orthogonal, "identity": Identity,
          "Identity": Identity, "OrthogonalInitializer": Orthogonal,
          "IdentityInitializer": Identity}


def get(identifier):
    """An Initializer from a name ("glorot_uniform", "GlorotUniform", "orthogonal"), a
    config dict, or an Initializer / callable (returned).

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    if isinstance(identifier, str) and identifier in _EXTRA:
        return _EXTRA[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _EXTRA:
        return _EXTRA[identifier["class_name"]](**identifier.get("config", {}))
    if isinstance(identifier, str):
        from .saving_lib import get_registered_object
        found = get_registered_object(identifier)
        if found is not None:
            return found() if isinstance(found, type) else found
    return _keras_init.get(identifier)


def serialize(initializer):
    """Keras' serialized form ``{"module", "class_name", "config", "registered_name"}``."""
    from .saving_lib import serialize_keras_object
    if isinstance(initializer, str):
        return initializer
    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """An initializer from :func:`serialize`'s dict (or a name)."""
    if isinstance(config, dict):
        name = config.get("class_name")
        if custom_objects and name in custom_objects:
            return custom_objects[name](**config.get("config", {}))
        return get({"class_name": name, "config": config.get("config", {})})
    return get(config)
