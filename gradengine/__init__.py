"""gradengine: a readable tensor autodiff engine on NumPy (CPU) and CuPy (CUDA).

    import gradengine as ge
    x = ge.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x
"""

from __future__ import annotations

import math as _math
from importlib import metadata as _metadata

import numpy as _np

from . import backend, cuda, functional
from . import hostmem as _hostmem  # noqa: F401 - keeps freed host memory for reuse
from . import ops as _ops  # noqa: F401 - installs the Tensor operators and methods
from .backend import (
    Generator,
    device,
    get_default_device,
    get_default_dtype,
    manual_seed,
    set_default_device,
    set_default_dtype,
)
from .capture import jit
from .core import (
    Tensor,
    detect_anomaly,
    enable_grad,
    grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .core.printing import set_printoptions
from .errors import (
    ArgumentError,
    AxisError,
    CaptureError,
    CheckpointError,
    DeviceError,
    DivisionByZeroError,
    DTypeError,
    GraphError,
    IndexingError,
    OutOfMemoryError,
    ShapeError,
    StateDictError,
)
from .functional import (  # noqa
    abs,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    broadcast_to,
    cat,
    clip,
    concatenate,
    cross_entropy,
    exp,
    linear,
    log,
    log_softmax,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mse_loss,
    relu,
    reshape,
    sigmoid,
    softmax,
    sqrt,
    stack,
    sum,
    tanh,
    transpose,
    where,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops.creation import (  # issue 14 adds full_like, linspace, randint, randperm
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .ops.outarg import with_out as _with_out

float16 = _np.dtype("float16")
float32 = _np.dtype("float32")
float64 = _np.dtype("float64")
int32 = _np.dtype("int32")
int64 = _np.dtype("int64")
bool_ = _np.dtype("bool")
bool = bool_  # noqa: A001 - ge.bool, as torch.bool
int8, int16, uint8 = _np.dtype("int8"), _np.dtype("int16"), _np.dtype("uint8")
uint16, uint32, uint64 = _np.dtype("uint16"), _np.dtype("uint32"), _np.dtype("uint64")
half, double, short, long = float16, float64, int16, int64  # torch's other names
float, int = float32, int32  # noqa: A001 - ge.float, ge.int: torch.float, torch.int

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
    "CheckpointError", "StateDictError", "CaptureError", "IndexingError", "AxisError",
    "ArgumentError", "DivisionByZeroError", "OutOfMemoryError", "cuda", "backend",
    "functional", "nn", "optim", "viz", "save", "load",
    "abs", "binary_cross_entropy", "binary_cross_entropy_with_logits", "broadcast_to", "clip",
    "concatenate", "cross_entropy", "exp", "linear", "log", "log_softmax", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mse_loss", "relu", "reshape", "sigmoid", "softmax",
    "sqrt", "stack", "sum", "tanh", "transpose", "where", "float16", "float32", "float64",
    "int32", "int64", "bool_", "bool", "cat", "inference_mode", "int8", "int16", "uint8",
    "uint16", "uint32", "uint64", "half", "double", "short", "long", "float", "int",
    "full_like", "linspace", "randint", "randperm",  # issue 14
    "rand_like", "randn_like",
    "device", "autograd", "utils", "linalg",  # the PyTorch drop-in
    "Generator", "get_default_dtype", "set_default_dtype", "empty_like", "pi", "e", "inf",
    "nan", "Size", "set_float32_matmul_precision", "get_float32_matmul_precision", "compile",
    "amp", "backends", "testing", "distributions", "autocast", "is_autocast_enabled",
    "set_printoptions",
]

pi, e, inf, nan = _np.pi, _np.e, _np.inf, _np.nan


def _add_out_keyword(names):
    # torch's top-level functions take out=: ge.matmul(a, b, out=c) (see ops/outarg.py)
    g = globals()
    for n in names:
        fn = g.get(n)
        if n not in _NO_OUT and getattr(fn, "__module__", "").startswith(
                ("gradengine.ops", "gradengine.functional", "gradengine.misc")):
            g[n] = _with_out(fn, n)


_NO_OUT = {"tensor", "as_tensor", "from_numpy", "from_dlpack", "manual_seed", "linear",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
           "mse_loss", "softmax", "log_softmax", "relu"}


class Size(tuple):
    """``torch.Size``: a tuple of dimensions (``x.shape`` is a plain tuple and compares
    equal to it)."""

    def numel(self):  # (``int`` here is the dtype ge.int)
        return _math.prod(self)

    def __repr__(self):
        return f"Size({list(self)!r})"


_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """``torch.set_float32_matmul_precision``: "highest", "high" or "medium", recorded for
    :func:`get_float32_matmul_precision`. gradengine's float32 matmuls are always full
    float32 (no TF32), whatever is set."""
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"set_float32_matmul_precision: expected 'highest', 'high' or "
                         f"'medium', got {precision!r}")
    _matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision[0]


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor",  # noqa: A001
            mode=None, options=None, disable=False):
    """``torch.compile``: returns ``model`` (a module or a function) itself, so scripts that
    compile run unchanged and give eager results. gradengine's compiler is :func:`jit`,
    which records a whole training step (forward, backward and optimizer step) rather than
    a module's forward: ``step = ge.jit(train_step)``."""
    if model is None:
        return lambda m: m
    return model


def __getattr__(name):
    # The model-level modules load on first use, keeping `import gradengine` light.
    import importlib
    if name in ("nn", "optim", "viz", "checkpoint", "keras", "autograd", "utils", "linalg",
                "amp", "backends", "testing", "distributions"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("autocast", "is_autocast_enabled", "get_autocast_dtype"):
        return getattr(importlib.import_module(".amp", __name__), name)
    if name == "callbacks":
        return importlib.import_module(".keras.callbacks", __name__)
    if name in ("save", "load"):
        return getattr(importlib.import_module(".checkpoint", __name__), name)
    if name in functional.__all__:  # torch.exp, torch.cat ...: the F function, with out=
        fn = globals()[name] = _with_out(getattr(functional, name), name)
        return fn
    raise AttributeError(f"module 'gradengine' has no attribute {name!r}")


# -- tmisc
# PyTorch's remaining top-level utilities, random functions and Tensor attributes
# (gradengine/misc.py, gradengine/ops/random_extras.py, gradengine/random.py)
from . import misc as _misc  # noqa: E402
from . import random  # noqa: E402
from .misc import (  # noqa: E402, F401, F811
    are_deterministic_algorithms_enabled,
    asarray,
    bartlett_window,
    blackman_window,
    can_cast,
    clone,
    detach,
    empty_permuted,
    empty_strided,
    fill_,
    finfo,
    frombuffer,
    get_num_interop_threads,
    get_num_threads,
    hamming_window,
    hann_window,
    iinfo,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_complex,
    is_deterministic_algorithms_warn_only_enabled,
    is_inference_mode_enabled,
    is_nonzero,
    is_warn_always_enabled,
    kaiser_window,
    logspace,
    promote_types,
    range,
    result_type,
    rsub,
    scalar_tensor,
    set_anomaly_enabled,
    set_default_tensor_type,
    set_num_interop_threads,
    set_num_threads,
    set_warn_always,
    use_deterministic_algorithms,
    zero_,
)
from .ops import random_extras as _random_extras  # noqa: E402
from .ops.random_extras import binomial, poisson, randint_like  # noqa: E402, F401
from .random import (  # noqa: E402, F401
    default_generator,
    get_rng_state,
    initial_seed,
    seed,
    set_rng_state,
)

rand_like = _random_extras.rand_like  # noqa: F811 - with generator=
randn_like = _random_extras.randn_like  # noqa: F811
manual_seed = random.manual_seed  # noqa: F811 - returns the default generator, as torch.manual_seed

# (not "random": a star import would shadow Python's random module, as torch's leaves it)
__all__ += _misc.__all__ + [  # noqa: PLE0605
    "binomial", "poisson", "randint_like", "default_generator", "get_rng_state",
    "initial_seed", "seed", "set_rng_state",
]


# -- tmath
from . import special  # noqa: E402
from .ops.special_math import inplace_functions as _inplace_functions  # noqa: E402

_inplace_functions = {k: f for k, f in _inplace_functions.items() if k not in globals()}
globals().update(_inplace_functions)  # torch.exp_(t), torch.sqrt_(t) ...: t.exp_() ...
__all__ += ["special", *_inplace_functions]

# -- tensor facts (gradengine/tensor_facts.py): layout keywords, real-tensor identities
from . import tensor_facts as _tensor_facts  # noqa: E402

_facts = {n: getattr(_tensor_facts, n) for n in _tensor_facts.__all__ if n not in globals()}
globals().update(_facts)
__all__ += list(_facts)

# -- func
# torch.func: grad, vjp, jvp, jacrev, jacfwd, hessian, vmap, functional_call (gradengine/func/)
from . import func  # noqa: E402
from .func import vmap  # noqa: E402

__all__ += ["func", "vmap"]

# -- autox
# torch.jit's entry points as attributes of ge.jit (ge.jit.script, trace, ignore, export ...;
# @ge.jit itself unchanged: gradengine/capture/torch_jit.py)
from . import profiler  # noqa: E402 - torch.profiler (gradengine/profiler.py)
from .capture import torch_jit as _torch_jit  # noqa: E402

_torch_jit.attach(jit)
__all__ += ["profiler"]
# -- ptsuite
# torch.Size returned by t.size() (gradengine/core/tensor.py); PyTorch's legacy tensor
# types FloatTensor, LongTensor, BoolTensor ... (gradengine/legacy_tensors.py)
from . import legacy_tensors as _legacy_tensors  # noqa: E402
from .core.tensor import Size  # noqa: E402, F811

globals().update({n: getattr(_legacy_tensors, n) for n in _legacy_tensors.__all__})

__all__ += list(_legacy_tensors.__all__)

_add_out_keyword(list(__all__))  # last: every top-level function takes out=
