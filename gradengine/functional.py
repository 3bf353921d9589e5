"""The functional API: ``import gradengine.functional as F``.

Every function here is differentiable and takes Tensors (arrays and Python scalars are
accepted where a constant makes sense).
"""

from __future__ import annotations

from .core.op import apply
from .core.tensor import Tensor
from .errors import ArgumentError
from .ops import elementwise as _ew
from .ops import operand
from .ops.activations import (
    act_backward,
    log_softmax,
    relu,
    sigmoid,
    sigmoid_backward,
    softmax,
    tanh,
)
from .ops.composite import *  # noqa: F403
from .ops.composite import nonzero as _ew_nonzero
from .ops.conv import *  # noqa: F403 - each op family lists its F functions in __all__
from .ops.elementwise import cast as astype
from .ops.elementwise import where as _where
from .ops.extras import *  # noqa: F403
from .ops.indexing import getitem
from .ops.linalg import linear, matmul
from .ops.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from .ops.manipulation import *  # noqa: F403
from .ops.math import *  # noqa: F403
from .ops.nn_extras import *  # noqa: F403
from .ops.normalization import *  # noqa: F403
from .ops.reductions import all, any, max, mean, min, sum  # noqa: A004  # noqa: A004
from .ops.reductions import argmax_ as argmax
from .ops.reductions import argmin_ as argmin
from .ops.resample import *  # noqa: F403
from .ops.scans import *  # noqa: F403
from .ops.shape import (
    broadcast_to,
    concatenate,
    flatten,
    reshape,
    squeeze,
    stack,
    sum_to,
    swapaxes,
    transpose,
    unsqueeze,
)


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    return Tensor(x, device=like.device if like is not None else None)


def exp(x):
    """e^x."""
    return apply(_ew.exp, _t(x))


def log(x):
    """Natural logarithm."""
    return apply(_ew.log, _t(x))


def sqrt(x):
    """Square root."""
    return apply(_ew.sqrt, _t(x))


def abs(x):  # noqa: A001
    """|x|."""
    return apply(_ew.abs_, _t(x))


def add(a, b, alpha=1):
    """a + alpha * b (``alpha`` may be given positionally, PyTorch's deprecated form)."""
    _check_alpha("add", a, b, alpha)
    return _t(a, b if isinstance(b, Tensor) else None) + (b if alpha == 1 else b * alpha)


def sub(a, b, alpha=1):
    """a - alpha * b."""
    _check_alpha("sub", a, b, alpha)
    return _t(a, b if isinstance(b, Tensor) else None) - (b if alpha == 1 else b * alpha)


def _check_alpha(name, a, b, alpha):
    """PyTorch's rules for ``alpha``: a bool only for a bool result, a float not for an
    integer one."""
    if type(alpha) is int:
        return
    kinds = [x.dtype.kind if isinstance(x, Tensor) else "b" if isinstance(x, bool) else
             "i" if isinstance(x, int) else "f" for x in (a, b)]
    # (this module's any / all are the tensor reductions)
    if isinstance(alpha, bool) and kinds != ["b", "b"]:
        raise ArgumentError(f"{name}: Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, float) and kinds[0] in "biu" and kinds[1] in "biu":
        raise ArgumentError(f"{name}: For integral input tensors, argument alpha must not be "
                            "a floating point number.")


def mul(a, b):
    return _t(a, b if isinstance(b, Tensor) else None) * b


def div(a, b, *, rounding_mode=None):
    return _t(a, b if isinstance(b, Tensor) else None).div(b, rounding_mode=rounding_mode)


true_divide = divide = div
multiply, subtract = mul, sub


def floor_divide(a, b):
    return _t(a, b if isinstance(b, Tensor) else None) // b


def remainder(a, b):
    return _t(a, b if isinstance(b, Tensor) else None) % b


def fmod(a, b):
    return _t(a, b if isinstance(b, Tensor) else None).fmod(b)


def _logical(name):
    def fn(a, b=None):
        a = _t(a, b if isinstance(b, Tensor) else None)
        return getattr(a, name)() if b is None else getattr(a, name)(b)
    fn.__name__ = name
    return fn


bitwise_and, bitwise_or, bitwise_xor = (_logical(n) for n in
                                        ("bitwise_and", "bitwise_or", "bitwise_xor"))
logical_and, logical_or, logical_xor = (_logical(n) for n in
                                        ("logical_and", "logical_or", "logical_xor"))
bitwise_not, logical_not = _logical("bitwise_not"), _logical("logical_not")
eq, ne, lt, le, gt, ge = (_logical(n) for n in ("eq", "ne", "lt", "le", "gt", "ge"))


def equal(a, b):
    return a.equal(b)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return a.allclose(b, rtol, atol, equal_nan)


def pow(a, b):  # noqa: A001
    return _t(a, b if isinstance(b, Tensor) else None) ** b


def neg(x):
    return -_t(x)


negative = neg


def clip(x, min=None, max=None):  # noqa: A002 - torch's keywords
    """Clamp into [min, max] (numbers or tensors); the gradient passes inside the range."""
    from .ops.composite import clamp as _clamp
    return _clamp(_t(x), min, max)


clamp = clip


def maximum(a, b):
    """Elementwise maximum (ties split the gradient evenly)."""
    a = _t(a, b if isinstance(b, Tensor) else None)
    return apply(_ew.maximum, a, operand(b, a))  # an array b goes to a's device


def minimum(a, b):
    """Elementwise minimum (ties split the gradient evenly)."""
    a = _t(a, b if isinstance(b, Tensor) else None)
    return apply(_ew.minimum, a, operand(b, a))


cat = concatenate
concat = concatenate
from .ops.math import log_sigmoid as logsigmoid  # noqa: E402

__all__ = [
    "sigmoid", "relu", "tanh", "exp", "log", "sqrt", "abs", "softmax", "log_softmax",
    "sigmoid_backward", "matmul", "linear", "sum", "mean", "max", "min", "reshape",
    "transpose", "swapaxes", "flatten", "squeeze", "unsqueeze", "broadcast_to", "sum_to",
    "concatenate", "cat", "stack", "where", "getitem", "argmax", "argmin", "any", "all",
    "act_backward", "clip", "clamp", "maximum", "minimum",
    "add", "sub", "mul", "div", "pow", "neg", "true_divide", "divide", "multiply",
    "subtract", "negative", "floor_divide", "remainder", "fmod", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "logical_and", "logical_or", "logical_xor",
    "logical_not", "eq", "ne", "lt", "le", "gt", "ge", "equal", "allclose", "logsigmoid",
    "astype", "mse_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy",
    "nll_loss", "l1_loss", "huber_loss", "smooth_l1_loss",
]

from .ops import FAMILIES as _FAMILIES  # noqa: E402

__all__ += [name for family in _FAMILIES for name in family.__all__]


def where(condition, input=None, other=None):  # noqa: A002 - torch's names
    """``torch.where``: ``input`` where ``condition`` else ``other`` (the condition gets no
    gradient); with the condition alone, ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        return _ew_nonzero(condition if isinstance(condition, Tensor) else Tensor(condition),
                       as_tuple=True)
    if input is None or other is None:
        raise TypeError("where(): expected a condition alone or a condition, input and other")
    return _where(condition, input, other)


# -- vol: the 1-d / 3-d convolution and pooling family
from .ops.volume import *  # noqa: E402,F403
from .ops.volume import __all__ as _vol_all  # noqa: E402

__all__ += [n for n in _vol_all if n not in __all__]

# -- tmath
# -- tshape
from .ops.shape_extras import *  # noqa: E402,F403
from .ops.special_math import *  # noqa: E402,F403
