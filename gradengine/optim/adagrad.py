"""Adagrad, with learning-rate decay."""

from __future__ import annotations

from .optimizer import Optimizer, _fused_checks, _nonneg

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), exactly ``torch.optim.Adagrad`` (dense gradients).

    ``g += wd * p``; ``clr = lr / (1 + (t - 1) lr_decay)``; ``s += g^2`` (``s`` starts at
    ``initial_accumulator_value``); ``p -= clr g / (sqrt(s) + eps)``.

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: learning rate (1e-2). lr_decay, weight_decay, initial_accumulator_value: as in
            PyTorch (0). eps: added to the denominator (1e-10). maximize: ascend.
    Raises:
        ValueError: a negative hyperparameter.
    Example:
        >>> opt = optim.Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False, foreach=None,
                 fused=None, capturable=False, differentiable=False):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value,
                                  "eps": eps, "foreach": foreach, "maximize": maximize,
                                  "differentiable": differentiable, "fused": fused})
        _fused_checks(fused, foreach, differentiable)

    def _check(self, group):
        _nonneg(self, group, "lr")
        _nonneg(self, group, "lr_decay")
        _nonneg(self, group, "weight_decay")
        _nonneg(self, group, "initial_accumulator_value")
        _nonneg(self, group, "eps")

    def _state_names(self, group):
        return ("step", "sum")

    def update_arrays(self, xp, data, grad, state, group):
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * data
        t = (0 if state is None else state[0]) + 1
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        s = g * g
        if state is not None:
            s += state[1]
        elif group["initial_accumulator_value"]:
            s += group["initial_accumulator_value"]
        std = xp.sqrt(s)
        std += group["eps"]
        step = g / std
        step *= -clr
        step += data
        return step, [t, s]
