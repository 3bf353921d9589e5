"""Neural-network building blocks: Module, Parameter, Linear, activations, Sequential, Dense.

``Sequential`` also carries the Keras-style training loop (compile / fit / evaluate /
predict, from :mod:`gradengine.keras`), so the classic example runs as written:

    from gradengine.nn import Sequential, Dense
    model = Sequential()
    model.add(Dense(3, input_dim=2, activation="sigmoid"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    history = model.fit(X, y, epochs=50)

The package: :mod:`.module` (Module, Parameter, buffers), :mod:`.layers` (Linear, the
activations, Flatten, Embedding, Dense), :mod:`.conv`, :mod:`.normalization`,
:mod:`.dropout`, :mod:`.containers`, :mod:`.loss` (the loss modules), :mod:`.sequential`.
"""

from __future__ import annotations

from . import init, utils
from .containers import ModuleDict, ModuleList
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d
from .dropout import Dropout
from .layers import (
    ELU,
    GELU,
    SELU,
    Dense,
    Embedding,
    Flatten,
    Hardtanh,
    Identity,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm

__all__ = [
    "ELU", "GELU", "SELU", "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss",
    "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "CrossEntropyLoss", "Dense", "Dropout",
    "Embedding", "Flatten", "Hardtanh", "HuberLoss", "Identity", "L1Loss", "LayerNorm",
    "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "MSELoss", "MaxPool2d", "Mish",
    "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "ReLU6",
    "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus", "Softsign",
    "Tanh", "init", "utils",
]


def __getattr__(name):
    # nn.Sequential is the Keras-style model (compile / fit / evaluate / predict), defined in
    # gradengine.keras, which builds on nn: loaded on first use, so nn never imports keras
    # at import time. `from gradengine.nn import Sequential` and nn.Sequential(...) work.
    if name == "Sequential":
        from ..keras.sequential import Sequential
        return Sequential
    raise AttributeError(f"module 'gradengine.nn' has no attribute {name!r}")
