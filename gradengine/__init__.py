"""gradengine: a readable tensor autodiff engine on NumPy (CPU) and CuPy (CUDA).

    import gradengine as ge
    x = ge.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x
"""

from __future__ import annotations

from importlib import metadata as _metadata

import numpy as _np

from . import backend, cuda
from .autograd import (detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad,
                       set_grad_enabled)
from .backend import get_default_device, manual_seed, set_default_device
from .errors import (CaptureError, CheckpointError, DeviceError, DTypeError, GraphError,
                     ShapeError)
from .tensor import (Tensor, arange, as_tensor, empty, eye, from_dlpack, from_numpy, full,
                     ones, ones_like, rand, randn, tensor, zeros, zeros_like)
from . import ops as _ops  # noqa: F401 - installs the Tensor operators and methods
from . import functional
from .functional import (abs, binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa
                         broadcast_to, clip, concatenate, cross_entropy, exp, linear, log,
                         log_softmax, matmul, max, maximum, mean, min, minimum, mse_loss, relu,
                         reshape, sigmoid, softmax, sqrt, stack, sum, tanh, transpose, where)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .jit import jit  # the function shadows the module name on purpose

float16 = _np.dtype("float16")
float32 = _np.dtype("float32")
float64 = _np.dtype("float64")
int32 = _np.dtype("int32")
int64 = _np.dtype("int64")
bool_ = _np.dtype("bool")

try:  # written once, in pyproject.toml; read back from the installed package's metadata
    __version__ = _metadata.version("gradengine")
except _metadata.PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Tensor", "tensor", "as_tensor", "from_numpy", "from_dlpack", "zeros", "ones", "full",
    "empty", "eye", "randn", "rand", "arange", "zeros_like", "ones_like", "manual_seed",
    "set_default_device", "get_default_device", "no_grad", "enable_grad", "is_grad_enabled",
    "set_grad_enabled", "grad", "gradcheck", "gradgradcheck", "GradcheckError", "jit",
    "detect_anomaly", "ShapeError", "DTypeError", "DeviceError", "GraphError",
    "CheckpointError", "CaptureError", "cuda", "backend", "functional", "nn", "optim", "viz",
    "save", "load",
    "abs", "binary_cross_entropy", "binary_cross_entropy_with_logits", "broadcast_to", "clip",
    "concatenate", "cross_entropy", "exp", "linear", "log", "log_softmax", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mse_loss", "relu", "reshape", "sigmoid", "softmax",
    "sqrt", "stack", "sum", "tanh", "transpose", "where", "float16", "float32", "float64",
    "int32", "int64", "bool_",
]


def __getattr__(name):
    # The model-level modules load on first use, keeping `import gradengine` light.
    import importlib
    if name in ("nn", "optim", "viz", "checkpoint", "keras"):
        return importlib.import_module(f".{name}", __name__)
    if name == "callbacks":
        return importlib.import_module(".keras.callbacks", __name__)
    if name in ("save", "load"):
        return getattr(importlib.import_module(".checkpoint", __name__), name)
    raise AttributeError(f"module 'gradengine' has no attribute {name!r}")
