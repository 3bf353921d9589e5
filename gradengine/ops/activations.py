"""Activations: sigmoid (fused kernel on CUDA), tanh, relu, softmax, log_softmax.

The backward of an activation is an op of its own, :data:`act_backward` (Chainer's
SigmoidGrad), so the fused backward kernel and second-order gradients live together; the
derivative, from the saved output, is written once (:func:`~gradengine.ops.fused.act_grad_ref`).
"""

from __future__ import annotations

import numpy as np

from ..backend import floating
from ..core.op import apply, call, op
from ..cuda import kernels
from ..errors import DTypeError
from .elementwise import zeros_grad
from .fused import act_backward_ref, sigmoid_ref
from .shape import normalize_axis


def _kernel(xp):
    return xp is not np and kernels.enabled()


@op(name="sigmoid", save=("out",), kernel="sigmoid.cu:sigmoid_fwd")
def sigmoid_op(xp, x):
    """sigma(x) = 1 / (1 + e^-x), overflow-free for any |x|."""
    x = floating(x)
    if _kernel(xp):
        return kernels.sigmoid_fwd(x)
    return sigmoid_ref(xp, x)


sigmoid_op.defvjp(lambda g, out: act_backward(out, g, "sigmoid"), arrays=True)


@op(params=("act",), save=("y", "g"), kernel="sigmoid.cu:sigmoid_bwd")
def act_backward_op(xp, y, g, act):
    """dx = g * act'(z), from the saved output y = act(z)."""
    if act == "sigmoid" and _kernel(xp):
        return kernels.sigmoid_bwd(y, g)
    return act_backward_ref(xp, y, g, act)


act_backward_op.name = "act_backward"


def _act_backward_gy(gg, y, g, act):
    # d/dy of g * act'(y): sigmoid act' = y(1-y) -> g(1-2y); tanh 1-y^2 -> -2gy; relu: 0
    if act == "sigmoid":
        return gg * g * (1 - 2 * y)
    if act == "tanh":
        return gg * g * (-2 * y)
    return call(zeros_grad, gg)  # relu: 0, yet y stays in the graph (torch's threshold_backward)


act_backward_op.defvjp(_act_backward_gy, lambda gg, y, act: act_backward(y, gg, act))


def act_backward(y, g, act):
    """The VJP of ``act`` as an op: ``g * act'(z)`` from ``y = act(z)`` (on Tensors, or on
    arrays in a first-order backward: :func:`~gradengine.core.op.call`)."""
    if act is None:
        return g
    return call(act_backward_op, y, g, params=(act,))


def sigmoid_backward(y, g):
    """The sigmoid VJP as an op: ``g * y * (1 - y)``."""
    return act_backward(y, g, "sigmoid")


def sigmoid(x):
    """Logistic sigmoid; on CUDA a fused kernel. Never overflows, never warns."""
    return apply(sigmoid_op, x)


@op(name="tanh", save=("out",))
def tanh_op(xp, x):
    """tanh(x)."""
    x = floating(x)
    return xp.tanh(x)


tanh_op.defvjp(lambda g, out: act_backward(out, g, "tanh"), arrays=True)


def tanh(x):
    """Hyperbolic tangent."""
    return apply(tanh_op, x)


@op(name="relu", save=("out",))
def relu_op(xp, x):
    """max(x, 0); the derivative at 0 is taken as 0."""
    return xp.maximum(x, 0)


relu_op.defvjp(lambda g, out: act_backward(out, g, "relu"), arrays=True)


def in_place(x, fn, name):
    """``x`` overwritten by ``fn(x)`` (an activation's ``inplace=True``, as PyTorch):
    version-checked and recorded like every in-place op; returns ``x``."""
    from . import inplace_fn
    return inplace_fn(x, fn, name)


def relu(x, inplace=False):
    """Rectified linear unit (``inplace=True``: written into ``x``, as PyTorch)."""
    if inplace:
        return in_place(x, relu, "relu")
    return apply(relu_op, x)


@op(name="softmax", params=("axis",), save=("out",), quiet=True)  # an all -inf row: NaN
def softmax_op(xp, x, axis):
    """e^x / sum(e^x) along axis, shifted by the max so nothing overflows."""
    if x.size == 0:
        return x.copy()
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


softmax_op.defvjp(lambda g, out, axis: out * (g - (g * out).sum(axis=axis, keepdims=True)))


@op(name="log_softmax", params=("axis",), save=("out",), quiet=True)
def log_softmax_op(xp, x, axis):
    """x - logsumexp(x) along axis, computed stably."""
    if x.size == 0:
        return x.copy()
    z = x - x.max(axis=axis, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))


log_softmax_op.defvjp(lambda g, out, axis: g - out.exp() * g.sum(axis=axis, keepdims=True))


def _axis(x, axis, name):
    if getattr(x, "dtype", None) is not None and x.dtype.kind != "f":
        raise DTypeError(f"{name}: expected a floating tensor, got {x.dtype.name} of shape "
                         f"{x.shape} (pass dtype=ge.float32 to cast it, as in torch)")
    axes = normalize_axis(axis, x.ndim, name)  # a 0-d tensor takes dim 0 or -1 only
    return axes[0] if x.ndim else None


def softmax(x, axis=-1, *, dim=None, dtype=None):
    """Softmax along ``axis`` (default last; ``dim`` as PyTorch spells it); ``dtype`` casts
    the input first, as torch."""
    if dtype is not None:
        from .elementwise import cast
        x = cast(x, dtype)
    return apply(softmax_op, x, params=(_axis(x, axis if dim is None else dim, "softmax"),))


def log_softmax(x, axis=-1, *, dim=None, dtype=None):
    """log(softmax(x)) along ``axis``, without overflow or log(0)."""
    if dtype is not None:
        from .elementwise import cast
        x = cast(x, dtype)
    return apply(log_softmax_op, x,
                 params=(_axis(x, axis if dim is None else dim, "log_softmax"),))
