"""A subset of Keras 3's ``keras.ops`` on gradengine Tensors (NumPy-style names, Keras'
defaults: ``ops.leaky_relu`` slope 0.2, ``ops.gelu`` approximate, ``ops.std`` / ``ops.var``
over the population). Each also takes KerasTensors, recording the op in a functional
model: ``keras.Model(inputs, ops.mean(layers.Dense(4)(inputs), axis=-1))``."""

from __future__ import annotations

import functools

import numpy as np

from .. import functional as F
from ..core.tensor import Tensor
from . import symbolic

__all__ = ["abs", "absolute", "add", "argmax", "argmin", "cast", "clip", "concatenate",
           "convert_to_numpy", "convert_to_tensor", "cos", "divide", "exp", "expand_dims",
           "gelu", "leaky_relu", "log", "log_softmax", "logsumexp", "matmul", "max",
           "maximum", "mean", "min", "minimum", "multiply", "negative", "one_hot", "ones",
           "power", "relu", "reshape", "shape", "sigmoid", "sin", "softmax", "sqrt",
           "square", "squeeze", "stack", "std", "subtract", "sum", "tanh", "transpose",
           "var", "where", "zeros"]


def _op(fn):
    """The op, recorded as a node when any argument is a KerasTensor."""
    @functools.wraps(fn)
    def op(*args, **kwargs):
        if symbolic.is_symbolic((args, kwargs)):
            return symbolic.symbolic_call(symbolic.Op(fn), args, kwargs)
        return fn(*args, **kwargs)
    return op


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def convert_to_tensor(x, dtype=None):
    t = _t(x)
    return t if dtype is None or t.dtype == np.dtype(dtype) else t.astype(dtype)


def convert_to_numpy(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def shape(x):
    return tuple(x.shape)


def zeros(shape, dtype=None):
    return Tensor(np.zeros(shape, dtype=dtype or "float32"))


def ones(shape, dtype=None):
    return Tensor(np.ones(shape, dtype=dtype or "float32"))


@_op
def cast(x, dtype):
    return _t(x).astype(dtype)


# ---------------------------------------------------------------- elementwise
@_op
def add(x1, x2):
    return _t(x1) + x2


@_op
def subtract(x1, x2):
    return _t(x1) - x2


@_op
def multiply(x1, x2):
    return _t(x1) * x2


@_op
def divide(x1, x2):
    return _t(x1) / x2


@_op
def power(x1, x2):
    return _t(x1) ** x2


@_op
def negative(x):
    return -_t(x)


@_op
def maximum(x1, x2):
    return F.maximum(_t(x1), _t(x2))


@_op
def minimum(x1, x2):
    return F.minimum(_t(x1), _t(x2))


@_op
def abs(x):  # noqa: A001 - Keras' name
    return F.abs(_t(x))


absolute = abs


def _unary(name):
    fn = getattr(F, name)
    return _op(functools.wraps(fn)(lambda x: fn(_t(x))))


exp, log, sqrt, square = _unary("exp"), _unary("log"), _unary("sqrt"), _unary("square")
sin, cos, tanh, sigmoid, relu = (_unary("sin"), _unary("cos"), _unary("tanh"),
                                 _unary("sigmoid"), _unary("relu"))


@_op
def clip(x, x_min, x_max):
    return F.clip(_t(x), x_min, x_max)


@_op
def where(condition, x1, x2):
    return F.where(_t(condition), _t(x1), _t(x2))


# ---------------------------------------------------------------- activations
@_op
def softmax(x, axis=-1):
    return F.softmax(_t(x), axis=axis)


@_op
def log_softmax(x, axis=-1):
    return F.log_softmax(_t(x), axis=axis)


@_op
def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_t(x), negative_slope)


@_op
def gelu(x, approximate=True):
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


@_op
def one_hot(x, num_classes, axis=-1, dtype=None):
    if axis != -1:
        raise NotImplementedError("ops.one_hot: only axis=-1 is supported")
    return F.one_hot(_t(x).astype("int64"), num_classes).astype(dtype or "float32")


# ---------------------------------------------------------------- reductions
@_op
def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    return F.sum(_t(x), axis=axis, keepdims=keepdims)


@_op
def mean(x, axis=None, keepdims=False):
    return F.mean(_t(x), axis=axis, keepdims=keepdims)


@_op
def max(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    return F.max(_t(x), axis=axis, keepdims=keepdims)


@_op
def min(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    return F.min(_t(x), axis=axis, keepdims=keepdims)


@_op
def std(x, axis=None, keepdims=False):
    return F.std(_t(x), axis=axis, keepdims=keepdims, correction=0)


@_op
def var(x, axis=None, keepdims=False):
    return F.var(_t(x), axis=axis, keepdims=keepdims, correction=0)


@_op
def logsumexp(x, axis=None, keepdims=False):
    return F.logsumexp(_t(x), axis=axis, keepdims=keepdims)


@_op
def argmax(x, axis=None, keepdims=False):
    return F.argmax(_t(x), axis=axis, keepdims=keepdims)


@_op
def argmin(x, axis=None, keepdims=False):
    return F.argmin(_t(x), axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------- shapes and linear algebra
@_op
def matmul(x1, x2):
    return F.matmul(_t(x1), _t(x2))


@_op
def reshape(x, newshape):
    return F.reshape(_t(x), tuple(-1 if d is None else d for d in newshape))


@_op
def transpose(x, axes=None):
    x = _t(x)
    return F.transpose(x, *(tuple(reversed(range(x.ndim))) if axes is None else axes))


@_op
def expand_dims(x, axis):
    return F.unsqueeze(_t(x), axis)


@_op
def squeeze(x, axis=None):
    return F.squeeze(_t(x), axis)


@_op
def concatenate(xs, axis=0):
    return F.concatenate([_t(x) for x in xs], axis=axis)


@_op
def stack(x, axis=0):
    return F.stack([_t(v) for v in x], axis=axis)
