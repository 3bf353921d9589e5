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

from . import functional, init, utils
from .attention import MultiheadAttention
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList
from .conv import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    MaxPool1d,
    MaxPool2d,
)
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from .extras import (
    AlphaDropout,
    Bilinear,
    ChannelShuffle,
    CrossMapLRN2d,
    CTCLoss,
    EmbeddingBag,
    FeatureAlphaDropout,
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyConv1d,
    LazyConv2d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyLinear,
    LocalResponseNorm,
    MultiLabelMarginLoss,
    MultiMarginLoss,
    RReLU,
    Softmax2d,
    TripletMarginWithDistanceLoss,
    UninitializedBuffer,
    UninitializedParameter,
)
from .layers import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    CosineSimilarity,
    Dense,
    Embedding,
    Flatten,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    Identity,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PairwiseDistance,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelSoftMarginLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .module import Buffer, Module, Parameter
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
    RMSNorm,
)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .spatial import (
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    Fold,
    PixelShuffle,
    PixelUnshuffle,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    Unflatten,
    Unfold,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from .transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = [
    "functional",
    "GELU", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d",
    "Conv1d", "Conv2d", "CrossEntropyLoss", "Dense", "Dropout", "Embedding", "Flatten",
    "HuberLoss", "Identity", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "MSELoss",
    "MaxPool2d", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU",
    "Sequential", "SiLU", "Sigmoid", "Softmax", "Tanh", "init", "utils",
    "CELU", "ELU", "GLU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LogSigmoid",
    "LogSoftmax", "Mish", "PReLU", "ReLU6", "Softmin", "Softplus", "Softsign", "Tanhshrink",
    "Threshold", "AdaptiveAvgPool2d", "SmoothL1Loss",
    "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AvgPool1d",
    "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "RMSNorm", "CosineSimilarity", "PairwiseDistance", "Softshrink",
    "Hardshrink", "KLDivLoss", "MarginRankingLoss", "SoftMarginLoss", "HingeEmbeddingLoss",
    "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss",
    "MultiLabelSoftMarginLoss",
    "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle",
    "Unfold", "Fold", "Unflatten", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ReflectionPad1d", "ReflectionPad2d",
    "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
    "Dropout1d", "Dropout2d", "Dropout3d", "ParameterDict", "ParameterList",
    "GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell", "MultiheadAttention",
    "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
    "AlphaDropout", "Bilinear", "ChannelShuffle", "CrossMapLRN2d", "CTCLoss", "EmbeddingBag",
    "FeatureAlphaDropout", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyConv1d", "LazyConv2d",
    "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
    "LazyLinear", "LocalResponseNorm", "MultiLabelMarginLoss", "MultiMarginLoss", "RReLU",
    "Softmax2d", "TripletMarginWithDistanceLoss", "UninitializedBuffer",
    "UninitializedParameter", "Buffer",
]


def __getattr__(name):
    # nn.Sequential is the Keras-style model (compile / fit / evaluate / predict), defined in
    # gradengine.keras, which builds on nn: loaded on first use, so nn never imports keras
    # at import time. `from gradengine.nn import Sequential` and nn.Sequential(...) work.
    if name == "Sequential":
        from ..keras.sequential import Sequential
        return Sequential
    raise AttributeError(f"module 'gradengine.nn' has no attribute {name!r}")


# -- vol: the 3-d convolution, pooling and normalization modules (nn/volume.py)
from .volume import (  # noqa: E402
    AdaptiveAvgPool3d,
    AdaptiveMaxPool3d,
    AvgPool3d,
    BatchNorm3d,
    Conv3d,
    ConvTranspose3d,
    FractionalMaxPool2d,
    FractionalMaxPool3d,
    InstanceNorm3d,
    LazyBatchNorm3d,
    LazyConv3d,
    LazyConvTranspose3d,
    LazyInstanceNorm3d,
    LPPool1d,
    LPPool2d,
    LPPool3d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
)

__all__ += [
    "AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "AvgPool3d", "BatchNorm3d", "Conv3d",
    "ConvTranspose3d", "FractionalMaxPool2d", "FractionalMaxPool3d", "InstanceNorm3d",
    "LazyBatchNorm3d", "LazyConv3d", "LazyConvTranspose3d", "LazyInstanceNorm3d", "LPPool1d",
    "LPPool2d", "LPPool3d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
]

# -- gapfill: AdaptiveLogSoftmaxWithLoss, SyncBatchNorm, DataParallel, Container, NLLLoss2d,
# RNNBase / RNNCellBase (nn/gapfill.py, nn/recurrent.py)
from .gapfill import (  # noqa: E402
    AdaptiveLogSoftmaxWithLoss,
    Container,
    DataParallel,
    NLLLoss2d,
    SyncBatchNorm,
)
from .recurrent import RNNBase, RNNCellBase  # noqa: E402

__all__ += ["AdaptiveLogSoftmaxWithLoss", "Container", "DataParallel", "NLLLoss2d",
            "SyncBatchNorm", "RNNBase", "RNNCellBase"]
