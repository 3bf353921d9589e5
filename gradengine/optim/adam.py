"""Adam and AdamW (decoupled weight decay), with AMSGrad."""

from __future__ import annotations

import math

from ..core.tensor import Tensor
from .optimizer import Optimizer, _fused_checks, _invalid_betas, _nonneg, lerp

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), exactly ``torch.optim.Adam`` including its eps placement.

    ``m = lerp(m, g, 1 - b1)``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``. ``weight_decay``
    adds ``wd * p`` to the gradient (L2), or with ``decoupled_weight_decay=True`` scales
    ``p *= 1 - lr * wd`` first (that is :class:`AdamW`).

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: learning rate (1e-3). betas: (b1, b2), each in [0, 1). eps: added to the
            denominator. weight_decay: its coefficient. amsgrad: use the running maximum
            of v. maximize: ascend. decoupled_weight_decay: AdamW's form.
    Raises:
        ValueError: a negative lr, eps or weight_decay, or a beta outside [0, 1).
    Example:
        >>> opt = optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False, foreach=None,
                 fused=None, capturable=False, differentiable=False):
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize, "foreach": foreach,
                                  "capturable": capturable, "differentiable": differentiable,
                                  "fused": fused,
                                  "decoupled_weight_decay": decoupled_weight_decay})
        _fused_checks(fused, foreach, differentiable)

    def _check(self, group):
        _nonneg(self, group, "lr")
        _nonneg(self, group, "eps")
        _invalid_betas(self, group)
        _nonneg(self, group, "weight_decay")

    def _state_names(self, group):
        return ("step", "exp_avg", "exp_avg_sq") + (
            ("max_exp_avg_sq",) if group["amsgrad"] else ())

    def update_arrays(self, xp, data, grad, state, group):
        lr, wd = group["lr"], group["weight_decay"]
        b1, b2 = group["betas"]
        d = data
        g = -grad if group["maximize"] else grad
        if wd:
            if group["decoupled_weight_decay"]:
                d = d * (1 - lr * wd)
            else:
                g = g + wd * d
        if state is None:
            # The first step from m = v = 0, written out so that no zero arrays are made
            # (0 * b2 + x is x exactly).
            t = 1
            m = g * (1 - b1) if 1 - b1 < 0.5 else lerp(xp, xp.zeros_like(g), g, 1 - b1)
            v = g * (1 - b2)
            v *= g
        else:
            t = state[0] + 1
            m = lerp(xp, state[1], g, 1 - b1)
            v = state[2] * b2
            sq = g * (1 - b2)
            sq *= g
            v += sq
        bc1 = 1 - b1 ** t
        bc2_sqrt = math.sqrt(1 - b2 ** t)
        new_state = [t, m, v]
        vd = v
        if group["amsgrad"]:
            vd = v if state is None else xp.maximum(state[3], v)
            new_state.append(vd)
        denom = xp.sqrt(vd)
        denom /= bc2_sqrt
        denom += group["eps"]
        upd = m / denom
        upd *= lr / bc1
        return d - upd, new_state


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), exactly ``torch.optim.AdamW``:
    ``p *= 1 - lr * wd`` before the Adam update; ``weight_decay`` defaults to 1e-2.

    Example:
        >>> opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, fused=None,
                 capturable=False, differentiable=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, foreach=foreach, fused=fused,
                         capturable=capturable, differentiable=differentiable)
