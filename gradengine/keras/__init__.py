"""The Keras-style API, with Keras 3's names so that a Keras script changes only its
imports (``import keras`` -> ``from gradengine import keras``)::

    from gradengine import keras
    from gradengine.keras import layers
    inputs = keras.Input(shape=(784,))
    model = keras.Model(inputs, layers.Dense(10)(inputs))
    keras.utils.to_categorical(y, 10)

The submodules and the top-level names (``Sequential``, ``Model``, ``Input``) load on first
use (``gradengine.keras.models`` imports ``gradengine.nn``, which itself uses
:mod:`gradengine.keras.model`, the training loop).
"""

from __future__ import annotations

import importlib

from . import callbacks, losses
from .model import KerasModel

_LAZY = ("models", "layers", "optimizers", "metrics", "activations", "initializers",
         "saving", "loading", "schedules", "utils", "regularizers", "ops", "backend",
         "random", "functional", "symbolic")
_NAMES = {"Sequential": "models", "Model": "models", "Input": "layers",
          "InputLayer": "layers", "KerasTensor": "symbolic"}
_NAMES.update({"Loss": "losses", "Metric": "metrics", "Optimizer": "optimizers",
               "Initializer": "initializers"})

__all__ = ["Input", "KerasModel", "KerasTensor", "Model", "Sequential", "activations",
           "backend", "callbacks", "initializers", "layers", "losses", "metrics", "models",
           "ops", "optimizers", "random", "regularizers", "saving", "utils"]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- kops
_LAZY = _LAZY + ("config", "constraints")
__all__ += ["config", "constraints"]


# -- kssuite: keras.Variable
_NAMES["Variable"] = "variables"
_LAZY = _LAZY + ("variables",)
__all__ += ["Variable"]


# -- keras.tree and keras.mixed_precision
_LAZY = _LAZY + ("tree", "mixed_precision")
__all__ += ["mixed_precision", "tree"]
