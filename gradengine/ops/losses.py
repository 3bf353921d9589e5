"""Losses: mse, l1, huber / smooth l1, binary cross-entropy (on probabilities and on
logits, with weight and pos_weight), cross-entropy and nll (class weights, ignore_index,
label smoothing, (N, C, d1, ...) inputs and soft labels), PyTorch's rules exactly.

Each takes ``reduction`` = "mean" (default), "sum" or "none", as in PyTorch, and checks
shapes strictly: a silent (4, 1) x (4,) broadcast is the classic bug. A weighted mean
divides by the sum of the weights of the targets that count (not ignored), as PyTorch does.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, DeviceError, DTypeError, ShapeError
from .activations import log_softmax, relu, sigmoid, softmax
from .elementwise import abs_, exp, log, where
from .elementwise import clip as _clip_op
from .shape import reshape

__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _input(name, x):
    """The prediction must be a Tensor: a list or array has no dtype, device or graph."""
    if not isinstance(x, Tensor):
        raise DTypeError(f"{name}: the input must be a Tensor, got {type(x).__name__}"
                         f"{' ' + repr(x) if isinstance(x, (list, tuple)) and len(x) < 8 else ''}"
                         "; wrap it with ge.tensor(...)")
    if x.dtype.kind != "f":
        raise DTypeError(f"{name}: the input must be a floating tensor, got {x.dtype.name}")
    return x


def _prepare(name, pred, target, reduction):
    _input(name, pred)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if not isinstance(target, Tensor):
        target = Tensor(target, dtype=pred.dtype, device=pred.device)
    elif target.device != pred.device:
        raise DeviceError(f"{name}: expected all tensors on one device, got "
                          f"{pred.device!r} and {target.device!r}")
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


def binary_cross_entropy(prob, target, weight=None, reduction="mean"):
    """BCE on probabilities: ``-(t log p + (1 - t) log(1 - p))``, logs clamped at -100
    (PyTorch's rule), so p = 0 or 1 gives a finite loss.

    Raises:
        ArgumentError (a ValueError and a RuntimeError, as torch raises): probabilities or
            targets outside [0, 1]. ShapeError: shapes differ.
    """
    if isinstance(weight, str):  # binary_cross_entropy(p, t, "sum"): the reduction
        weight, reduction = None, weight
    target = _prepare("binary_cross_entropy", prob, target, reduction)
    xp = backend.xp_of(prob.device)
    for what, t, hint in (("input probabilities", prob, "; use "
                           "binary_cross_entropy_with_logits for logits"),
                          ("targets", target, "")):
        a = t.data
        if a.size and bool(xp.any((a < 0) | (a > 1))):
            lo, hi = float(a.min()), float(a.max())
            raise ArgumentError(f"binary_cross_entropy: all elements of the {what} should "
                                f"be between 0 and 1 (in [0, 1]), got values in [{lo}, {hi}] "
                                f"(shape {t.shape}, {t.dtype}){hint}")
    if weight is not None:  # each element's loss scaled, then reduced (torch's rule)
        v = apply(bce_op, prob, target, params=("none",)) * weight
        return v if reduction == "none" else v.sum() if reduction == "sum" else v.mean()
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




# ---------------------------------------------------------------- l1, huber, smooth l1

def l1_loss(input, target, reduction="mean"):  # noqa: A002
    """Mean absolute error ``mean(|input - target|)`` (the gradient at 0 is 0)."""
    target = _prepare("l1_loss", input, target, reduction)
    return _reduce(apply(abs_, input - target), reduction)


@op(name="huber_loss", params=("delta", "reduction"), save=("p", "t"))
def huber_op(xp, p, t, delta, reduction):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = p - t; reduced."""
    d = p - t
    a = xp.abs(d)
    loss = xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _reduce_array(loss, reduction)


def _huber_grad(g, p, t, delta, reduction):
    return _scale(g, p, reduction) * clip(p - t, -delta, delta)


huber_op.defvjp(_huber_grad, lambda g, p, t, delta, reduction: -_huber_grad(
    g, p, t, delta, reduction))


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    """Huber loss, as ``torch.nn.functional.huber_loss``: quadratic within ``delta`` of the
    target, linear (slope delta) beyond."""
    target = _prepare("huber_loss", input, target, reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    return apply(huber_op, input, target, params=(float(delta), reduction))


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):  # noqa: A002
    """Smooth L1, as ``torch.nn.functional.smooth_l1_loss``: 0.5 d^2 / beta within beta,
    |d| - 0.5 beta beyond (huber_loss(delta=beta) / beta); beta = 0 is l1_loss."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta!r}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    target = _prepare("smooth_l1_loss", input, target, reduction)
    return apply(huber_op, input, target, params=(float(beta), reduction)) * (1.0 / beta)


# ---------------------------------------------------------------- BCE on logits

def _weight_arg(name, what, w, x, shape_ok):
    if w is None:
        return None
    if not isinstance(w, Tensor):
        w = Tensor(w, dtype=x.dtype, device=x.device)
    elif w.device != x.device:
        raise DeviceError(f"{name}: expected all tensors on one device, got {x.device!r} and "
                          f"{w.device!r} ({what})")
    if not shape_ok(w.shape):
        raise ShapeError(f"{name}: {what} of shape {w.shape} does not broadcast to the input "
                         f"of shape {x.shape}")
    return w


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,  # noqa: A002
                                     reduce=None, reduction="mean", pos_weight=None):
    """BCE on logits, ``w [pw t softplus(-x) + (1 - t) softplus(x)]``, as
    ``torch.nn.functional.binary_cross_entropy_with_logits``: stable for any x, +-inf too.
    ``weight`` broadcasts to the input; ``pos_weight`` weighs the positive term, along the
    last (class) axis. Neither gets a gradient.

    Raises:
        ShapeError: input and target shapes differ, or a weight does not broadcast.
    """
    name = "binary_cross_entropy_with_logits"
    if size_average is not None or reduce is not None:
        raise ValueError(f"{name}: size_average and reduce are deprecated; use reduction")
    target = _prepare(name, input, target, reduction)
    w = _weight_arg(name, "weight", weight, input,
                    lambda s: _broadcasts_to(s, input.shape))
    pw = _weight_arg(name, "pos_weight", pos_weight, input,
                     lambda s: _broadcasts_to(s, input.shape))
    return apply(bce_logits_op, input, target, w, pw, params=(reduction,))


@op(name="binary_cross_entropy_with_logits", params=("reduction",),
    save=("x", "t", "w", "pw"))
def bce_logits_op(xp, x, t, w, pw, reduction):
    """w [pw t softplus(-x) + (1 - t) softplus(x)], reduced; a zero weight never meets an
    inf."""
    with np.errstate(invalid="ignore"):
        sp_pos = xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # softplus(x)
        sp_neg = sp_pos - x                                        # softplus(-x)
        pos = xp.where(t != 0, t * xp.where(x == np.inf, 0, sp_neg), 0)
        if pw is not None:
            pos = pos * pw
        loss = pos + xp.where(t != 1, (1 - t) * xp.where(x == -np.inf, 0, sp_pos), 0)
    if w is not None:
        loss = loss * w
    return _reduce_array(loss, reduction)


def _softplus(x):
    return relu(x) + apply(log, 1 + apply(exp, -apply(abs_, x)))


def _bce_logits_gx(g, x, t, w, pw, reduction):
    if pw is None:
        gx = sigmoid(x) - t
    else:
        gx = sigmoid(x) * (1 - t + pw * t) - pw * t
    gx = _scale(g, x, reduction) * gx
    return gx if w is None else gx * w


def _bce_logits_gt(g, x, w, pw, reduction):
    gt = -x if pw is None else (pw - 1) * _softplus(x) - pw * x
    gt = _scale(g, x, reduction) * gt
    return gt if w is None else gt * w


bce_logits_op.defvjp(_bce_logits_gx, _bce_logits_gt, None, None)


# ---------------------------------------------------------------- cross-entropy and nll

def _class_axis(x):
    return 1 if x.ndim >= 2 else 0


def _labels(name, x, target):
    """The target as a Tensor on x's device (integer labels or soft labels)."""
    if x.ndim == 0:
        raise ShapeError(f"{name}: input must be (C,), (N, C) or (N, C, d1, ...), got a 0-d "
                         "tensor")
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target) if not hasattr(target, "__cuda_array_interface__")
                        else target, device=x.device)
    elif target.device != x.device:  # its labels would reach the logits' xp as is
        raise DeviceError(f"{name}: expected all tensors on one device, got "
                          f"{x.device!r} and {target.device!r}")
    return target


def _check_labels(name, x, target, ignore_index):
    lab_shape = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    if target.dtype.kind not in "iu":
        raise DTypeError(f"{name}: expected integer labels of shape {lab_shape} (or soft "
                         f"labels of shape {x.shape}), got {target.dtype.name} labels of "
                         f"shape {target.shape}")
    if target.shape != lab_shape:
        raise ShapeError(f"{name}: labels of shape {target.shape} do not match input of "
                         f"shape {x.shape}; expected {lab_shape}")
    c = x.shape[_class_axis(x)]
    lab = target.data
    if lab.size:
        xp = backend.xp_of(target.device)
        bad = (lab != ignore_index) & ((lab < 0) | (lab >= c))
        if bool(xp.any(bad)):
            v = int(lab[bad].reshape(-1)[0])
            raise ValueError(f"{name}: label {v} is out of range for {c} classes (input of "
                             f"shape {x.shape}, ignore_index={ignore_index})")


def _class_weight(name, weight, x):
    c = x.shape[_class_axis(x)]
    return _weight_arg(name, "weight", weight, x, lambda s: tuple(s) == (c,))


def _picked(xp, a, labels, ignore_index, w, ax):
    """(a at each label along ax, the per-target weight: w[label] or 1, 0 where ignored)."""
    valid = labels != ignore_index
    safe = xp.where(valid, labels, 0)
    picked = xp.take_along_axis(a, xp.expand_dims(safe, ax), axis=ax)
    picked = picked.reshape(labels.shape)
    wt = valid.astype(a.dtype) if w is None else w[safe] * valid
    return picked, wt


def _weighted_reduce(xp, loss, wt, reduction):
    if reduction == "none":
        return loss
    s = loss.sum()
    if reduction == "sum":
        return s
    with np.errstate(invalid="ignore", divide="ignore"):
        return s / wt.sum()  # 0 / 0 = nan when every target is ignored, as in PyTorch


@op(name="cross_entropy", params=("reduction", "ignore_index"), save=("x", "labels", "w"))
def cross_entropy_op(xp, x, labels, w, reduction, ignore_index):
    """-w[y] log_softmax(x)[y] over the class axis, reduced (mean: / sum of w[y] counted)."""
    ax = 1 if x.ndim >= 2 else 0
    if x.size:
        z = x - x.max(axis=ax, keepdims=True)
        z = z - xp.log(xp.exp(z).sum(axis=ax, keepdims=True))
    else:
        z = x
    picked, wt = _picked(xp, z, labels, ignore_index, w, ax)
    return _weighted_reduce(xp, -picked * wt, wt, reduction)


@op(name="nll_loss", params=("reduction", "ignore_index"), save=("x", "labels", "w"))
def nll_loss_op(xp, x, labels, w, reduction, ignore_index):
    """-w[y] x[y] over the class axis (x: log-probabilities), reduced like cross_entropy."""
    ax = 1 if x.ndim >= 2 else 0
    picked, wt = _picked(xp, x, labels, ignore_index, w, ax)
    return _weighted_reduce(xp, -picked * wt, wt, reduction)


@op(params=("reduction", "ignore_index"), differentiable=False)
def target_weights(xp, x, labels, w, reduction, ignore_index):
    """Each target's share of the loss: w[y] (0 where ignored), over their sum for "mean"."""
    valid = labels != ignore_index
    wt = valid.astype(x.dtype) if w is None else w[xp.where(valid, labels, 0)] * valid
    if reduction == "mean":
        # an ignored target gets no gradient, also when every one is ignored (the loss is
        # then 0 / 0 = nan, and its gradient zeros, as in PyTorch)
        with np.errstate(invalid="ignore", divide="ignore"):
            wt = xp.where(valid, wt / wt.sum(), 0).astype(x.dtype, copy=False)
    return wt


@op(differentiable=False)
def onehot_like(xp, x, labels):
    """One-hot of integer labels along x's class axis (1 for 2-d and more, else 0), in x's
    shape and dtype; a label outside the classes (an ignored one) gives a zero row."""
    ax = 1 if x.ndim >= 2 else 0
    shape = [1] * x.ndim
    shape[ax] = x.shape[ax]
    classes = xp.arange(x.shape[ax]).reshape(shape)
    return (classes == xp.expand_dims(labels, ax)).astype(x.dtype)


def _per_target(g, x, labels, w, reduction, ignore_index):
    """g times each target's weight, with a class axis of size 1 to broadcast along."""
    coef = apply(target_weights, x, labels, w, params=(reduction, ignore_index)) * g
    ax = _class_axis(x)
    return reshape(coef, coef.shape[:ax] + (1,) + coef.shape[ax:])


cross_entropy_op.defvjp(
    lambda g, x, labels, w, reduction, ignore_index: (
        softmax(x, axis=_class_axis(x)) - apply(onehot_like, x, labels)) *
    _per_target(g, x, labels, w, reduction, ignore_index), None, None)
nll_loss_op.defvjp(
    lambda g, x, labels, w, reduction, ignore_index: -apply(onehot_like, x, labels) *
    _per_target(g, x, labels, w, reduction, ignore_index), None, None)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
             reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities (C,), (N, C) or (N, C, d1, ...), as
    ``torch.nn.functional.nll_loss``: ``-weight[y] * input[y]``; "mean" divides by the sum
    of the weights of the targets that are not ``ignore_index``.

    Raises:
        DTypeError: non-integer labels. ShapeError: labels of the wrong shape.
        ValueError: a label out of range.
    """
    name = "nll_loss"
    _input(name, input)
    _check_reduction(name, reduction, size_average, reduce)
    target = _labels(name, input, target)
    _check_labels(name, input, target, ignore_index)
    w = _class_weight(name, weight, input)
    return apply(nll_loss_op, input, target, w, params=(reduction, int(ignore_index)))


def _check_reduction(name, reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:
        raise ValueError(f"{name}: size_average and reduce are deprecated; use reduction")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,  # noqa: A002
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy over the class axis (axis 1; axis 0 of a (C,) input), as
    ``torch.nn.functional.cross_entropy``.

    ``target`` holds integer class labels of shape (N, d1, ...) (``ignore_index`` ones do
    not count), or class probabilities of the input's shape (soft labels). ``weight`` (C,)
    weighs each class; "mean" then divides by the sum of the weights of the counted targets
    (soft labels: by the number of targets). ``label_smoothing`` mixes the target with the
    uniform distribution, PyTorch's way.

    Raises:
        DTypeError: float labels that are not soft labels. ValueError: a label out of range.
    """
    name = "cross_entropy"
    _input(name, input)
    _check_reduction(name, reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    target = _labels(name, input, target)
    w = _class_weight(name, weight, input)
    ax = _class_axis(input)
    c = input.shape[ax]
    wb = None if w is None else reshape(w, (1,) * ax + (c,) + (1,) * (input.ndim - ax - 1))
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            _check_labels(name, input, target, ignore_index)  # raises, naming both
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / c
        lsm = log_softmax(input, axis=ax)
        if wb is not None:
            lsm = lsm * wb
        return _reduce(-(lsm * target).sum(axis=ax), reduction)
    _check_labels(name, input, target, ignore_index)
    ignore_index = int(ignore_index)
    loss = apply(cross_entropy_op, input, target, w, params=(reduction, ignore_index))
    if not label_smoothing:
        return loss
    lsm = log_softmax(input, axis=ax)
    smooth = -(lsm if wb is None else lsm * wb).sum(axis=ax)
    keep = apply(target_weights, input, target, None, params=("none", ignore_index))
    # ignored targets drop out, their gradient 0 even when the mean's divisor is 0
    smooth = where(target != ignore_index, smooth, 0.0)
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":  # over the counted targets' weights, as the nll term
        counted = keep if w is None else apply(target_weights, input, target, w,
                                               params=("none", ignore_index))
        smooth = smooth.sum() / counted.sum()
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / c)
