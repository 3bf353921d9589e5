"""RMSprop, with momentum and the centered variant."""

from __future__ import annotations

from .optimizer import Optimizer, _nonneg, lerp

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton), exactly ``torch.optim.RMSprop``.

    ``g += wd * p``; ``s = alpha s + (1 - alpha) g^2``; centered: ``a = lerp(a, g,
    1 - alpha)`` and ``avg = sqrt(s - a^2) + eps``, else ``avg = sqrt(s) + eps``; with
    momentum ``buf = momentum buf + g / avg`` and ``p -= lr buf``, else
    ``p -= lr g / avg``.

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: learning rate (1e-2). alpha: smoothing constant (0.99). eps: added to the
            denominator (1e-8). weight_decay, momentum, centered, maximize: as in PyTorch.
    Raises:
        ValueError: a negative lr, alpha, eps, momentum or weight_decay.
    Example:
        >>> opt = optim.RMSprop(model.parameters(), lr=1e-3, momentum=0.9)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False, foreach=None, fused=None,
                 capturable=False, differentiable=False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered, "capturable": capturable,
                                  "foreach": foreach, "maximize": maximize,
                                  "differentiable": differentiable})

    def _check(self, group):
        _nonneg(self, group, "lr")
        _nonneg(self, group, "eps")
        _nonneg(self, group, "momentum")
        _nonneg(self, group, "weight_decay")
        _nonneg(self, group, "alpha")

    def _state_names(self, group):
        return ("step", "square_avg") + (("momentum_buffer",) if group["momentum"] > 0 else ()) \
            + (("grad_avg",) if group["centered"] else ())

    def update_arrays(self, xp, data, grad, state, group):
        alpha, lr, mom = group["alpha"], group["lr"], group["momentum"]
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * data
        old = dict(zip(self._state_names(group), state)) if state is not None else {}
        t = old.get("step", 0) + 1
        sq = g * (1 - alpha)
        sq *= g
        if "square_avg" in old:
            s = old["square_avg"] * alpha
            s += sq
        else:
            s = sq  # 0 * alpha + x is x exactly
        new_state = [t, s]
        if group["centered"]:
            prev = old.get("grad_avg")
            ga = lerp(xp, xp.zeros_like(g) if prev is None else prev, g, 1 - alpha)
            avg = s - ga * ga
            avg = xp.sqrt(avg)
        else:
            ga = None
            avg = xp.sqrt(s)
        avg += group["eps"]
        if mom > 0:
            prev = old.get("momentum_buffer")
            buf = g / avg
            if prev is not None:
                buf += prev * mom
            new_state.append(buf)
            step = buf * -lr
        else:
            step = g / avg
            step *= -lr
        if ga is not None:
            new_state.append(ga)
        step += data
        return step, new_state
