"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from .optimizer import Optimizer, _fused_checks, _nonneg

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, exactly ``torch.optim.SGD``.

    ``g = -g`` (maximize); ``g += wd * p``; ``buf = g`` on the first step, else
    ``buf = momentum * buf + (1 - dampening) * g``; ``g = g + momentum * buf`` (Nesterov)
    or ``g = buf``; ``p -= lr * g``.

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: learning rate. The default is Keras's 0.01 (torch's is 1e-3), so that
            ``compile(optimizer="sgd")`` trains as Keras does.
        momentum, dampening, weight_decay, nesterov, maximize: as in PyTorch.
    Raises:
        ValueError: a negative hyperparameter, or nesterov without momentum or with
            dampening.
    Example:
        >>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    """

    step_is_static = True  # the update's numbers are hyperparameters only (a CUDA graph
    # may hold it)

    def __init__(self, params, lr=0.01, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, foreach=None, fused=None,
                 capturable=False, differentiable=False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize, "foreach": foreach,
                                  "differentiable": differentiable, "fused": fused})
        _fused_checks(fused, foreach, differentiable)
        self._neg_lr = None  # (key, -lr as an array) for update_in_place

    def _check(self, group):
        _nonneg(self, group, "lr")
        _nonneg(self, group, "momentum")
        _nonneg(self, group, "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening (SGD: "
                             "momentum > 0 and dampening = 0)")

    def _state_names(self, group):
        return ("momentum_buffer",)

    def stateless(self, group):
        return not group["momentum"]

    def update_in_place(self, xp, data, grad, group):
        if group["weight_decay"] or group["maximize"]:
            return super().update_in_place(xp, data, grad, group)
        # -lr as an array of grad's shape (cached while lr stays): NumPy multiplies two
        # arrays faster than an array by a Python float, with the same rounding of -lr
        lr = group["lr"]
        key = (lr, grad.shape, grad.dtype)
        cached = self._neg_lr
        if cached is None or cached[0] != key:
            cached = self._neg_lr = (key, xp.full(grad.shape, -lr, dtype=grad.dtype))
        step = grad * cached[1]
        xp.add(data, step, out=data)  # data + (-lr * grad): the eager result, in one call

    def update_arrays(self, xp, data, grad, state, group):
        g = -grad if group["maximize"] else grad
        wd = group["weight_decay"]
        if wd:
            g = g + wd * data
        mom = group["momentum"]
        lr = group["lr"]
        if not mom:  # a buffer made while momentum was on stays as it is (PyTorch)
            new = g * -lr  # d + (-lr * g) equals d - lr * g bit for bit, one array fewer
            new += data
            return new, state
        if state is None:
            buf = g.copy()
        else:
            buf = state[0] * mom
            buf += (1 - group["dampening"]) * g
        step = g + mom * buf if group["nesterov"] else buf
        new = step * -lr
        new += data
        return new, [buf]
