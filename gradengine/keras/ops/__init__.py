"""Keras 3's ``keras.ops`` on gradengine Tensors: the NumPy-like ops (``ops.numpy``), the
neural-network ops (``ops.nn``), linear algebra (``ops.linalg``), images (``ops.image``),
and the core and math ops (``cast``, ``cond``, ``scan``, ``scatter``, ``segment_sum``,
``top_k``, ...), with Keras' names, argument names, defaults and result dtypes
(``ops.leaky_relu`` slope 0.2, ``ops.gelu`` approximate, ``ops.std`` / ``ops.var`` over the
population, ``ops.arange(3)`` int32, channels-last convolutions). Every op is built from
gradengine's differentiable ops, so gradients flow, and each also takes KerasTensors,
recording the op in a functional model:
``keras.Model(inputs, ops.mean(layers.Dense(4)(inputs), axis=-1))``."""

from __future__ import annotations

from . import core as _core_mod
from . import image, linalg, nn, numpy  # noqa: F401 - Keras' submodules
from . import math as _math_mod
from ._wrap import keras_op as _op  # noqa: F401 - the wrapper, for code that imported it
from .core import *  # noqa: F403
from .einops import rearrange  # noqa: F401
from .linalg import *  # noqa: F403
from .math import *  # noqa: F403
from .nn import *  # noqa: F403
from .numpy import *  # noqa: F403

__all__ = sorted(set(_core_mod.__all__) | set(numpy.__all__) | set(nn.__all__) |
                 set(linalg.__all__) | set(_math_mod.__all__) | {"rearrange"} |
                 {"image", "linalg", "nn", "numpy"})
