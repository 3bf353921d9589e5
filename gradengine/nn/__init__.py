"""Neural-network building blocks: Module, Parameter, Linear, activations, Sequential, Dense.

``Sequential`` also carries the Keras-style training loop (compile / fit / evaluate /
predict, from :mod:`gradengine.keras`), so the classic example runs as written:

    from gradengine.nn import Sequential, Dense
    model = Sequential()
    model.add(Dense(3, input_dim=2, activation="sigmoid"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    history = model.fit(X, y, epochs=50)

The package: :mod:`.module` (Module, Parameter), :mod:`.layers` (Linear, the activations,
Dense), :mod:`.sequential` (Sequential).
"""

from __future__ import annotations

from .layers import Dense, Linear, ReLU, Sigmoid, Softmax, Tanh
from .module import Module, Parameter
from .sequential import Sequential
from . import init, utils  # noqa: E402 - submodules: nn.init, nn.utils

# Names gradengine.nn held when it was one module, kept importable from here.
from .. import autograd, backend  # noqa: F401
from .. import functional as F  # noqa: F401
from ..errors import ShapeError  # noqa: F401

from ..tensor import Tensor  # noqa: F401
from .layers import _DENSE_ACTIVATIONS, _module_device, _module_dtype, _uniform  # noqa: F401
from .module import _as_array, _converted, _host_copy  # noqa: F401

__all__ = [
    "Dense",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "init",
    "utils",
]
