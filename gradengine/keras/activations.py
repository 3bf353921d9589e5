"""Keras' activation functions by name (``activations.relu(x)``, ``activations.get("gelu")``);
each calls the ``F`` function."""

from __future__ import annotations

from .. import functional as F
from ..nn.layers import ACTIVATION_NAMES, _activation_fn

__all__ = ["elu", "exponential", "gelu", "get", "leaky_relu", "linear", "relu", "sigmoid",
           "silu", "softmax", "swish", "tanh"]


def get(identifier):
    """The activation function of a name (None and "linear": the identity) or callable.

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    return _activation_fn("linear" if identifier is None else identifier)


def relu(x):
    return get("relu")(x)


def sigmoid(x):
    return get("sigmoid")(x)


def tanh(x):
    return get("tanh")(x)


def softmax(x, axis=-1):
    from .. import functional as F
    return F.softmax(x, axis=axis)


def gelu(x, approximate=False):
    return F.gelu(x, approximate="tanh" if approximate else "none")


def silu(x):
    return get("silu")(x)


swish = silu


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(x, negative_slope)


def exponential(x):
    return get("exponential")(x)


def linear(x):
    return x


def elu(x, alpha=1.0):
    from .. import functional as F
    return F.where(x > 0, x, alpha * (F.exp(F.minimum(x, 0.0)) - 1))


NAMES = ACTIVATION_NAMES
