"""Losses: mse, binary cross-entropy (on probabilities and on logits), cross-entropy.

Each takes ``reduction`` = "mean" (default), "sum" or "none", as in PyTorch, and checks
shapes strictly: a silent (4, 1) x (4,) broadcast is the classic bug.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import DeviceError, DTypeError, ShapeError
from .activations import log_softmax, sigmoid, softmax
from .elementwise import clip as _clip_op
from .elementwise import log

_REDUCTIONS = ("mean", "sum", "none")


def _prepare(name, pred, target, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if not isinstance(target, Tensor):
        target = Tensor(target, dtype=pred.dtype, device=pred.device)
    if pred.shape != target.shape:
        raise ShapeError(f"{name}: input of shape {pred.shape} and target of shape "
                         f"{target.shape} differ; reshape one of them (no implicit broadcast)")
    return target


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(pred, target, reduction="mean"):
    """Mean squared error ``mean((pred - target)**2)``.

    Raises:
        ShapeError: pred and target shapes differ.
    """
    target = _prepare("mse_loss", pred, target, reduction)
    return apply(squared_error, pred, target, params=(reduction,))


@op(name="mse_loss", params=("reduction",), save=("p", "t"))
def squared_error(xp, p, t, reduction):
    """(p - t)^2, reduced."""
    d = p - t
    d = d * d
    if reduction == "none":
        return d
    s = d.sum()
    return s / d.size if reduction == "mean" and d.size else (s if reduction == "sum" else
                                                              s * np.nan)


def _mse_grad(g, p, t, reduction):
    scale = 2.0 / p.size if reduction == "mean" and p.size else 2.0
    return (p - t) * (g * scale)


squared_error.defvjp(_mse_grad, lambda g, p, t, reduction: -_mse_grad(g, p, t, reduction))


def binary_cross_entropy(prob, target, reduction="mean"):
    """BCE on probabilities: ``-(t log p + (1 - t) log(1 - p))``, logs clamped at -100
    (PyTorch's rule), so p = 0 or 1 gives a finite loss.

    Raises:
        ValueError: probabilities outside [0, 1]. ShapeError: shapes differ.
    """
    target = _prepare("binary_cross_entropy", prob, target, reduction)
    xp = backend.xp_of(prob.device)
    p = prob.data
    if p.size and bool(xp.any((p < 0) | (p > 1))):
        lo, hi = float(p.min()), float(p.max())
        raise ValueError(f"binary_cross_entropy: input probabilities must be in [0, 1], got "
                         f"values in [{lo}, {hi}] (shape {prob.shape}); use "
                         "binary_cross_entropy_with_logits for logits")
    return apply(bce_op, prob, target, params=(reduction,))


def clip(x, lo, hi):
    return apply(_clip_op, x, params=(lo, hi))


def _clamped_logs(xp, p):
    with np.errstate(divide="ignore"):
        return xp.maximum(xp.log(p), -100), xp.maximum(xp.log1p(-p), -100)


@op(name="binary_cross_entropy", params=("reduction",), save=("p", "t"))
def bce_op(xp, p, t, reduction):
    """-(t log p + (1 - t) log(1 - p)) with logs clamped at -100, reduced."""
    lp, l1p = _clamped_logs(xp, p)
    loss = -(t * lp + (1 - t) * l1p)
    return _reduce_array(loss, reduction)


def _reduce_array(loss, reduction):
    if reduction == "none":
        return loss
    s = loss.sum()
    if reduction == "sum":
        return s
    return s / loss.size if loss.size else s * np.nan


def _scale(g, p, reduction):
    return g * (1.0 / p.size) if reduction == "mean" and p.size else g


bce_op.defvjp(
    lambda g, p, t, reduction: _scale(g, p, reduction) * (p - t) / clip(p * (1 - p), 1e-12,
                                                                         None),
    lambda g, p, reduction: _scale(g, p, reduction) * (
        clip(apply(log, 1 - p), -100, None) - clip(apply(log, p), -100, None)))


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """BCE on logits, ``max(x, 0) - x t + log(1 + e^-|x|)``: stable for any x, ±inf too."""
    target = _prepare("binary_cross_entropy_with_logits", logits, target, reduction)
    return apply(bce_logits_op, logits, target, params=(reduction,))


@op(name="binary_cross_entropy_with_logits", params=("reduction",), save=("x", "t"))
def bce_logits_op(xp, x, t, reduction):
    """t softplus(-x) + (1 - t) softplus(x), reduced; a zero weight never meets an inf."""
    with np.errstate(invalid="ignore"):
        sp_pos = xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # softplus(x)
        sp_neg = sp_pos - x                                        # softplus(-x)
        loss = xp.where(t != 0, t * xp.where(x == np.inf, 0, sp_neg), 0) + \
            xp.where(t != 1, (1 - t) * xp.where(x == -np.inf, 0, sp_pos), 0)
    return _reduce_array(loss, reduction)


bce_logits_op.defvjp(lambda g, x, t, reduction: _scale(g, x, reduction) * (sigmoid(x) - t),
                     lambda g, x, reduction: -_scale(g, x, reduction) * x)


def cross_entropy(logits, target, reduction="mean"):
    """Softmax cross-entropy over the last axis of (N, C) (or (C,)) logits.

    ``target`` holds integer class labels of shape (N,), or class probabilities of the
    logits' shape (soft labels).

    Raises:
        DTypeError: float labels that are not soft labels. ValueError: a label out of range.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {_REDUCTIONS}, "
                         f"got {reduction!r}")
    if logits.ndim not in (1, 2):
        raise ShapeError(f"cross_entropy: logits must be (N, C) or (C,), got {logits.shape}")
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target) if not hasattr(target, "__cuda_array_interface__")
                        else target, device=logits.device)
    elif target.device != logits.device:  # its labels would reach the logits' xp as is
        raise DeviceError(f"cross_entropy: expected all tensors on one device, got "
                          f"{logits.device!r} and {target.device!r}")
    if target.dtype.kind == "f":
        if target.shape == logits.shape:
            loss = -(target * log_softmax(logits, axis=-1)).sum(axis=-1)
            return _reduce(loss, reduction)
        raise DTypeError(f"cross_entropy: expected integer labels of shape {logits.shape[:-1]}"
                         f" (or soft labels of shape {logits.shape}), got {target.dtype.name} "
                         f"labels of shape {target.shape}")
    if target.dtype.kind not in "iu":
        raise DTypeError(f"cross_entropy: expected integer labels, got {target.dtype.name}")
    if target.shape != logits.shape[:-1]:
        raise ShapeError(f"cross_entropy: labels of shape {target.shape} do not match logits "
                         f"of shape {logits.shape}; expected {logits.shape[:-1]}")
    c = logits.shape[-1]
    lab = target.data
    if lab.size:
        lo, hi = int(lab.min()), int(lab.max())
        if lo < 0 or hi >= c:
            bad = hi if hi >= c else lo
            raise ValueError(f"cross_entropy: label {bad} is out of range for {c} classes "
                             f"(logits of shape {logits.shape})")
    return apply(cross_entropy_op, logits, target, params=(reduction,))


@op(differentiable=False)
def onehot_like(xp, x, labels):
    """One-hot rows of x's shape and dtype for integer labels."""
    onehot = xp.zeros(x.shape, dtype=x.dtype)
    if x.ndim == 2:
        onehot[xp.arange(x.shape[0]), labels] = 1
    else:
        onehot[labels] = 1
    return onehot


@op(name="cross_entropy", params=("reduction",), save=("x", "labels"))
def cross_entropy_op(xp, x, labels, reduction):
    """logsumexp(x) - x[label], reduced; saves the logits and the labels."""
    z = x - x.max(axis=-1, keepdims=True) if x.size else x
    lse = xp.log(xp.exp(z).sum(axis=-1))
    picked = xp.take_along_axis(z, labels[..., None], axis=-1)[..., 0] if x.ndim == 2 else \
        z[labels]
    return _reduce_array(lse - picked, reduction)


def _cross_entropy_grad(g, x, labels, reduction):
    onehot = apply(onehot_like, x, labels)
    if reduction == "none" and x.ndim == 2:
        g = g.reshape(-1, 1)
    elif reduction == "mean" and x.ndim == 2 and x.shape[0]:
        g = g * (1.0 / x.shape[0])
    return (softmax(x, axis=-1) - onehot) * g


cross_entropy_op.defvjp(_cross_entropy_grad, None)
