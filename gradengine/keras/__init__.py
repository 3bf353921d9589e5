"""The Keras-style API, with Keras 3's module paths so that a Keras script changes only its
imports::

    from gradengine.keras.models import Sequential, load_model
    from gradengine.keras.layers import Input, Dense, Dropout
    from gradengine.keras import optimizers, losses, metrics, callbacks

The submodules load on first use (``gradengine.keras.models`` imports ``gradengine.nn``,
which itself uses :mod:`gradengine.keras.model`, the training loop).
"""

from __future__ import annotations

import importlib

from . import callbacks, losses
from .model import KerasModel

_LAZY = ("models", "layers", "optimizers", "metrics", "activations", "initializers",
         "saving", "loading", "schedules")

__all__ = ["KerasModel", "activations", "callbacks", "initializers", "layers", "losses",
           "metrics", "models", "optimizers", "saving"]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
