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
from .attention import MultiheadAttention
from .containers import ModuleDict, ModuleList
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d
from .dropout import Dropout
from .layers import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Dense,
    Embedding,
    Flatten,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Identity,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
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
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = [
    "GELU", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d",
    "Conv1d", "Conv2d", "CrossEntropyLoss", "Dense", "Dropout", "Embedding", "Flatten",
    "HuberLoss", "Identity", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "MSELoss",
    "MaxPool2d", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU",
    "Sequential", "SiLU", "Sigmoid", "Softmax", "Tanh", "init", "utils",
    "CELU", "ELU", "GLU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LogSigmoid",
    "LogSoftmax", "Mish", "PReLU", "ReLU6", "Softmin", "Softplus", "Softsign", "Tanhshrink",
    "Threshold", "AdaptiveAvgPool2d", "SmoothL1Loss",
    "GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell", "MultiheadAttention",
    "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
]


def __getattr__(name):
    # nn.Sequential is the Keras-style model (compile / fit / evaluate / predict), defined in
    # gradengine.keras, which builds on nn: loaded on first use, so nn never imports keras
    # at import time. `from gradengine.nn import Sequential` and nn.Sequential(...) work.
    if name == "Sequential":
        from ..keras.sequential import Sequential
        return Sequential
    raise AttributeError(f"module 'gradengine.nn' has no attribute {name!r}")
