"""Activations: sigmoid (fused kernel on CUDA), tanh, relu, softmax, log_softmax.

``sigmoid_backward`` is an op of its own, so the fused backward kernel and second-order
gradients live together (Chainer's SigmoidGrad).
"""

from __future__ import annotations

import numpy as np

from ..cuda import kernels
from ..autograd import apply, apply1, apply2, compute, op
from .fused import sigmoid_backward_ref, sigmoid_ref
from .shape import normalize_axis


@op(name="sigmoid", save_out=True, saves_inputs=False)
def sigmoid_op(xp, x):
    """sigma(x) = 1 / (1 + e^-x), overflow-free for any |x|."""
    if xp is not np and kernels.enabled():
        return kernels.sigmoid_fwd(x)
    return sigmoid_ref(xp, x)


@sigmoid_op.defvjp
def _(g, node):
    return (sigmoid_backward(node.output(), g),)


@op(name="sigmoid_backward")
def sigmoid_backward_op(xp, y, g):
    """dx = g * y * (1 - y), from the saved output y."""
    if xp is not np and kernels.enabled():
        return kernels.sigmoid_bwd(y, g)
    return sigmoid_backward_ref(xp, y, g)


@sigmoid_backward_op.defvjp
def _(gg, node):
    y, g = node.args
    gy = gg * g * (1 - 2 * y) if node.needs[0] else None
    gg_ = sigmoid_backward(y, gg) if node.needs[1] else None
    return gy, gg_


def sigmoid(x):
    """Logistic sigmoid; on CUDA a fused kernel. Never overflows, never warns."""
    return apply1(sigmoid_op, x)


def sigmoid_backward(y, g):
    """The sigmoid VJP as an op: ``g * y * (1 - y)``."""
    return apply2(sigmoid_backward_op, y, g)


@op(name="tanh", save_out=True, saves_inputs=False)
def tanh_op(xp, x):
    """tanh(x)."""
    return xp.tanh(x)


@tanh_op.defvjp
def _(g, node):
    return (tanh_backward(node.output(), g),)


@op(name="tanh_backward")
def tanh_backward_op(xp, y, g):
    """dx = g * (1 - y^2), from the saved output y: one op instead of three."""
    return g * (1 - y * y)


@tanh_backward_op.defvjp
def _(gg, node):
    y, g = node.args
    gy = gg * g * (-2 * y) if node.needs[0] else None
    gg_ = tanh_backward(y, gg) if node.needs[1] else None
    return gy, gg_


def tanh_backward(y, g):
    """The tanh VJP as an op: ``g * (1 - y**2)``."""
    return apply2(tanh_backward_op, y, g)


def tanh(x):
    """Hyperbolic tangent."""
    return apply1(tanh_op, x)


@op(name="relu")
def relu_op(xp, x):
    """max(x, 0); the derivative at 0 is taken as 0."""
    return xp.maximum(x, 0)


@relu_op.defvjp
def _(g, node):
    return (g * compute(_positive, node.args[0]),)


def _positive(xp, x):
    return (x > 0).astype(x.dtype)


def relu(x):
    """Rectified linear unit."""
    return apply1(relu_op, x)


@op(name="softmax", save_out=True, saves_inputs=False)
def softmax_op(xp, x, axis):
    """e^x / sum(e^x) along axis, shifted by the max so nothing overflows."""
    if x.size == 0:
        return x.copy()
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@softmax_op.defvjp
def _(g, node):
    y = node.output()
    axis = node.params[0]
    return (y * (g - (g * y).sum(axis=axis, keepdims=True)),)


@op(name="log_softmax", save_out=True, saves_inputs=False)
def log_softmax_op(xp, x, axis):
    """x - logsumexp(x) along axis, computed stably."""
    if x.size == 0:
        return x.copy()
    z = x - x.max(axis=axis, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))


@log_softmax_op.defvjp
def _(g, node):
    y = node.output()
    axis = node.params[0]
    return (g - y.exp() * g.sum(axis=axis, keepdims=True),)


def _axis(x, axis, name):
    return normalize_axis(axis, x.ndim, name)[0] if x.ndim else None


def softmax(x, axis=-1, *, dim=None):
    """Softmax along ``axis`` (default last; ``dim`` as PyTorch spells it)."""
    return apply(softmax_op, (x,), (_axis(x, axis if dim is None else dim, "softmax"),))


def log_softmax(x, axis=-1, *, dim=None):
    """log(softmax(x)) along ``axis``, without overflow or log(0)."""
    return apply(log_softmax_op, (x,), (_axis(x, axis if dim is None else dim,
                                                "log_softmax"),))
