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

from . import init, utils
from .layers import Dense, Linear, ReLU, Sigmoid, Softmax, Tanh
from .module import Module, Parameter
from .sequential import Sequential

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
