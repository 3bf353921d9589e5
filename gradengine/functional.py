"""The functional API: ``import gradengine.functional as F``.

Every function here is differentiable and takes Tensors (arrays and Python scalars are
accepted where a constant makes sense).
"""

from __future__ import annotations

from .autograd import apply, apply1
from .errors import DeviceError
from .ops import operand
from .ops import elementwise as _ew
from .ops.activations import log_softmax, relu, sigmoid, sigmoid_backward, softmax, tanh
from .ops.elementwise import cast as astype
from .ops.linalg import linear, matmul
from .ops.losses import (binary_cross_entropy, binary_cross_entropy_with_logits,
                         cross_entropy, mse_loss)
from .ops.reductions import max, mean, min, sum  # noqa: A004
from .ops.shape import (broadcast_to, concatenate, flatten, getitem, reshape, squeeze, stack,
                        sum_to, swapaxes, transpose, unsqueeze)
from .tensor import Tensor


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    return Tensor(x, device=like.device if like is not None else None)


def exp(x):
    """e^x."""
    return apply1(_ew.exp, x)


def log(x):
    """Natural logarithm."""
    return apply1(_ew.log, x)


def sqrt(x):
    """Square root."""
    return apply1(_ew.sqrt, x)


def abs(x):  # noqa: A001
    """|x|."""
    return apply(_ew.abs_, (_t(x),))


def add(a, b):
    return _t(a, b if isinstance(b, Tensor) else None) + b


def sub(a, b):
    return _t(a, b if isinstance(b, Tensor) else None) - b


def mul(a, b):
    return _t(a, b if isinstance(b, Tensor) else None) * b


def div(a, b):
    return _t(a, b if isinstance(b, Tensor) else None) / b


def pow(a, b):  # noqa: A001
    return _t(a, b if isinstance(b, Tensor) else None) ** b


def neg(x):
    return -_t(x)


def clip(x, lo=None, hi=None):
    """Clamp into [lo, hi]; the gradient passes inside the range."""
    return apply(_ew.clip, (_t(x),), (lo, hi))


clamp = clip


def maximum(a, b):
    """Elementwise maximum (ties send the gradient to a)."""
    a = _t(a, b if isinstance(b, Tensor) else None)
    return apply(_ew.maximum, (a, operand(b, a)))  # an array b goes to a's device


def minimum(a, b):
    """Elementwise minimum (ties send the gradient to a)."""
    a = _t(a, b if isinstance(b, Tensor) else None)
    return apply(_ew.minimum, (a, operand(b, a)))


def where(cond, a, b):
    """``a`` where ``cond`` else ``b``; the condition gets no gradient."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is None:
        a = _t(a)
        like = a
    if isinstance(cond, Tensor) and cond.device != like.device:
        raise DeviceError(f"where: expected all tensors on one device, got {like.device!r} "
                          f"and {cond.device!r}")
    c = cond.data if isinstance(cond, Tensor) else _t(cond, like).data
    return apply(_ew.where, (c, operand(a, like), operand(b, like)))


__all__ = [
    "sigmoid", "relu", "tanh", "exp", "log", "sqrt", "abs", "softmax", "log_softmax",
    "sigmoid_backward", "matmul", "linear", "sum", "mean", "max", "min", "reshape",
    "transpose", "swapaxes", "flatten", "squeeze", "unsqueeze", "broadcast_to", "sum_to",
    "concatenate", "stack", "where", "getitem", "clip", "clamp", "maximum", "minimum",
    "add", "sub", "mul", "div", "pow", "neg", "astype", "mse_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy",
]
