"""The rest of ``torch.optim``: Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop (elementwise
rules), and Adafactor, LBFGS and SparseAdam (rules that are not elementwise).

The elementwise rules follow :class:`~gradengine.optim.optimizer.Optimizer`: one public
``update_arrays`` that ``ge.jit`` also applies once to all parameters laid end to end.
Each is ``torch.optim``'s single-tensor (CPU) code written out on the arrays, in torch's
order of operations: ``addcdiv(p, a, b, value=v)`` is ``p + (v * a) / b``, ``addcmul``
likewise, ``lerp`` rounds as torch's. Scalar state that torch keeps in a float32 tensor
(NAdam's ``mu_product``, ASGD's ``eta`` and ``mu``) is rounded to float32 here too.

Adafactor's factored second moment and its norms, LBFGS's dot products over all
parameters and its line search, are not elementwise: their ``step`` is a host call that
``ge.jit`` replays whole (Adafactor), or reads the loss on the host, so that a jitted
function calling it runs eagerly (LBFGS). Their state is a dict per parameter, named as
torch names it.

    opt = optim.NAdam(model.parameters(), lr=2e-3, momentum_decay=4e-3)
    opt = optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
    opt.step(closure)        # closure: zero_grad, loss, backward, return loss
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..core.gradmode import enable_grad, no_grad
from ..core.op import host_call
from ..core.tensor import Tensor
from ..errors import ShapeError
from .optimizer import (
    Optimizer,
    _from_torch,
    _host_copy,
    _invalid_betas,
    _is_array,
    _nonneg,
    _saved_value,
    _zero_dim,
    lerp,
)

__all__ = ["ASGD", "LBFGS", "NAdam", "RAdam", "Adadelta", "Adafactor", "Adamax", "Rprop",
           "SparseAdam"]


def _f32(v) -> float:
    """``v`` rounded as torch keeps a scalar state (a float32 tensor: the default dtype)."""
    return float(np.float32(v))


_betas = _invalid_betas


def _decayed(g, data, group):
    """``-g`` for maximize, then ``g + wd * p`` (L2 weight decay)."""
    g = -g if group["maximize"] else g
    wd = group["weight_decay"]
    return g + wd * data if wd else g


def _first(state, xp, g, k):
    """State entry ``k``, or zeros before the first update."""
    return xp.zeros_like(g) if state is None else state[k]


class _Elementwise(Optimizer):
    """An elementwise rule whose scalar state entries (named in ``_scalars``) are plain
    floats; a torch state dict's 0-d tensors for them are read as floats."""

    _scalars: tuple = ()

    def state_dict(self):
        sd = super().state_dict()
        for st in sd["state"].values():  # torch keeps them in 0-d float32 tensors
            for name in self._scalars:
                if isinstance(st.get(name), float):
                    st[name] = np.asarray(st[name], dtype=np.float32)
        return sd

    def load_state_dict(self, state_dict):
        try:
            states = state_dict["state"]
            fixed = {}
            for key, st in states.items():
                st = dict(st)
                for name in self._scalars:
                    if st.get(name) is not None:
                        st[name] = float(np.asarray(_from_torch(st[name])))
                fixed[key] = st
        except (KeyError, TypeError, AttributeError):
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected a dict with "
                             "'state' and 'param_groups'") from None
        super().load_state_dict({**state_dict, "state": fixed})


class Adadelta(_Elementwise):
    """Adadelta (Zeiler), exactly ``torch.optim.Adadelta``.

    ``v = rho v + (1 - rho) g^2``; ``dx = sqrt(u + eps) / sqrt(v + eps) g``;
    ``u = rho u + (1 - rho) dx^2``; ``p -= lr dx``.

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: the coefficient of the delta (1.0). rho: the decay of the averages (0.9).
        eps: added inside both square roots (1e-6). weight_decay: L2 coefficient (0).
        foreach, capturable, differentiable: accepted (torch's keywords; one code path).
        maximize: ascend.
    Raises:
        ValueError: a negative lr, eps or weight_decay, or rho outside [0, 1].
    Example:
        >>> opt = optim.Adadelta(model.parameters(), lr=1.0, rho=0.9)
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize,
                                  "capturable": capturable, "foreach": foreach,
                                  "differentiable": differentiable})

    def _check(self, group):
        _nonneg(self, group, "lr")
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']} (Adadelta: rho must be in "
                             "[0, 1])")
        _nonneg(self, group, "eps")
        _nonneg(self, group, "weight_decay")

    def _state_names(self, group):
        return ("step", "square_avg", "acc_delta")

    def update_arrays(self, xp, data, grad, state, group):
        rho, eps = group["rho"], group["eps"]
        g = _decayed(grad, data, group)
        t = (0 if state is None else state[0]) + 1
        v = _first(state, xp, g, 1) * rho
        sq = g * (1 - rho)
        sq *= g
        v += sq
        std = xp.sqrt(v + eps)
        delta = xp.sqrt(_first(state, xp, g, 2) + eps)
        delta /= std
        delta *= g
        u = _first(state, xp, g, 2) * rho
        sq = delta * (1 - rho)
        sq *= delta
        u += sq
        new = delta * -group["lr"]
        new += data
        return new, [t, v, u]


class Adamax(_Elementwise):
    """Adamax (Kingma & Ba: Adam with the infinity norm), exactly ``torch.optim.Adamax``.

    ``m = lerp(m, g, 1 - b1)``; ``u = max(b2 u, |g| + eps)``;
    ``p -= lr / (1 - b1^t) * m / u``.

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: learning rate (2e-3). betas: (b1, b2), each in [0, 1). eps: added to
            ``|g|`` (1e-8). weight_decay: L2 coefficient (0). maximize: ascend.
        foreach, differentiable, capturable: accepted.
    Raises:
        ValueError: a negative lr, eps or weight_decay, or a beta outside [0, 1).
    Example:
        >>> opt = optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable,
                                  "capturable": capturable})

    def _check(self, group):
        _nonneg(self, group, "lr")
        _nonneg(self, group, "eps")
        _betas(self, group)
        _nonneg(self, group, "weight_decay")

    def _state_names(self, group):
        return ("step", "exp_avg", "exp_inf")

    def update_arrays(self, xp, data, grad, state, group):
        b1, b2 = group["betas"]
        g = _decayed(grad, data, group)
        t = (0 if state is None else state[0]) + 1
        m = lerp(xp, _first(state, xp, g, 1), g, 1 - b1)
        a = xp.abs(g)
        a += group["eps"]
        u = xp.maximum(_first(state, xp, g, 2) * b2, a)
        clr = group["lr"] / (1 - b1 ** float(t))
        step = m * -clr
        step /= u
        step += data
        return step, [t, m, u]


class NAdam(_Elementwise):
    """NAdam (Dozat: Adam with Nesterov momentum), exactly ``torch.optim.NAdam``.

    ``mu_t = b1 (1 - 0.5 * 0.96^(t psi))`` (``psi = momentum_decay``), ``mu_product``
    their running product; ``m``, ``v`` as Adam's;
    ``p += -lr (1 - mu_t) / (1 - prod_t) g / d - lr mu_{t+1} / (1 - prod_t mu_{t+1}) m / d``
    with ``d = sqrt(v / (1 - b2^t)) + eps``.

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: learning rate (2e-3). betas: (b1, b2) (0.9, 0.999). eps: 1e-8.
        weight_decay: its coefficient (0). momentum_decay: psi (4e-3).
        decoupled_weight_decay: ``p *= 1 - lr wd`` instead of L2 (NAdamW). maximize:
            ascend. foreach, capturable, differentiable: accepted.
    Raises:
        ValueError: a negative lr, eps, weight_decay or momentum_decay, or a beta outside
            [0, 1).
    Example:
        >>> opt = optim.NAdam(model.parameters(), lr=2e-3, decoupled_weight_decay=True,
        ...                   weight_decay=1e-2)
    """

    _scalars = ("mu_product",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize, "foreach": foreach,
                                  "capturable": capturable,
                                  "differentiable": differentiable})

    def _check(self, group):
        _nonneg(self, group, "lr")
        _nonneg(self, group, "eps")
        _betas(self, group)
        _nonneg(self, group, "weight_decay")
        _nonneg(self, group, "momentum_decay")

    def _state_names(self, group):
        return ("step", "mu_product", "exp_avg", "exp_avg_sq")

    def update_arrays(self, xp, data, grad, state, group):
        lr, wd, psi = group["lr"], group["weight_decay"], group["momentum_decay"]
        b1, b2 = group["betas"]
        g = -grad if group["maximize"] else grad
        d = data
        if wd:
            if group["decoupled_weight_decay"]:
                d = d * (1 - lr * wd)
            else:
                g = g + wd * d
        t = float((0 if state is None else state[0]) + 1)
        prod = 1.0 if state is None else state[1]
        bc2 = 1 - b2 ** t
        mu = b1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
        prod = float(np.float32(prod) * np.float32(mu))  # a float32 tensor in torch
        m = lerp(xp, _first(state, xp, g, 2), g, 1 - b1)
        v = _first(state, xp, g, 3) * b2
        sq = g * (1 - b2)
        sq *= g
        v += sq
        denom = xp.sqrt(v / bc2)
        denom += group["eps"]
        prod_next = prod * mu_next
        a = g * (-lr * (1.0 - mu) / (1.0 - prod))
        a /= denom
        new = d + a
        b = m * ((-lr * mu_next) / (1.0 - prod_next))
        b /= denom
        new += b
        return new, [int(t), prod, m, v]


class RAdam(_Elementwise):
    """RAdam (Liu et al.: Adam with a rectified variance), exactly ``torch.optim.RAdam``.

    ``m``, ``v`` as Adam's; ``rho_t = rho_inf - 2 t b2^t / (1 - b2^t)``; when
    ``rho_t > 5``: ``p -= lr m / (1 - b1^t) * sqrt(1 - b2^t) / (sqrt(v) + eps) * r_t``
    (``r_t`` the rectification), else ``p -= lr m / (1 - b1^t)``.

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: learning rate (1e-3). betas: (0.9, 0.999). eps: 1e-8. weight_decay: 0.
        decoupled_weight_decay: ``p *= 1 - lr wd`` instead of L2 (RAdamW). maximize:
            ascend. foreach, capturable, differentiable: accepted.
    Raises:
        ValueError: a negative lr, eps or weight_decay, or a beta outside [0, 1).
    Example:
        >>> opt = optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize,
                                  "foreach": foreach, "capturable": capturable,
                                  "decoupled_weight_decay": decoupled_weight_decay,
                                  "differentiable": differentiable})

    def _check(self, group):
        _nonneg(self, group, "lr")
        _nonneg(self, group, "eps")
        _betas(self, group)
        _nonneg(self, group, "weight_decay")

    def _state_names(self, group):
        return ("step", "exp_avg", "exp_avg_sq")

    def update_arrays(self, xp, data, grad, state, group):
        lr, wd = group["lr"], group["weight_decay"]
        b1, b2 = group["betas"]
        g = -grad if group["maximize"] else grad
        d = data
        if wd:
            if group["decoupled_weight_decay"]:
                d = d * (1 - lr * wd)
            else:
                g = g + wd * d
        t = float((0 if state is None else state[0]) + 1)
        m = lerp(xp, _first(state, xp, g, 1), g, 1 - b1)
        v = _first(state, xp, g, 2) * b2
        sq = g * (1 - b2)
        sq *= g
        v += sq
        bc1 = 1 - b1 ** t
        bc2 = 1 - b2 ** t
        upd = m / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
        upd *= lr
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf /
                    ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            root = xp.sqrt(v)
            root += group["eps"]
            upd *= (bc2 ** 0.5) / root
            upd *= rect
        return d - upd, [int(t), m, v]


class ASGD(_Elementwise):
    """Averaged SGD (Polyak & Juditsky), exactly ``torch.optim.ASGD``.

    ``p = p (1 - lambd eta) - eta g``; the average ``ax`` follows ``p`` (``ax += mu
    (p - ax)``, or a copy while ``mu == 1``); then ``eta = lr / (1 + lambd lr t)^alpha``
    and ``mu = 1 / max(1, t - t0)``.

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: learning rate (1e-2). lambd: decay term (1e-4). alpha: power for the eta
            update (0.75). t0: the step at which averaging starts (1e6). weight_decay:
            L2 coefficient (0). foreach, maximize, differentiable, capturable: as torch.
    Raises:
        ValueError: a negative lr or weight_decay.
    Example:
        >>> opt = optim.ASGD(model.parameters(), lr=0.01, t0=100)
    """

    _scalars = ("eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        super().__init__(params, {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                                  "weight_decay": weight_decay, "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable,
                                  "capturable": capturable})

    def _check(self, group):
        _nonneg(self, group, "lr")
        _nonneg(self, group, "weight_decay")

    def _state_names(self, group):
        return ("step", "eta", "mu", "ax")

    def update_arrays(self, xp, data, grad, state, group):
        lr, lambd = group["lr"], group["lambd"]
        g = _decayed(grad, data, group)
        if state is None:
            t, eta, mu = 1, _f32(lr), 1.0
        else:
            t, eta, mu = state[0] + 1, state[1], state[2]
        new = data * (1 - lambd * eta)
        step = g * -eta
        new += step
        if mu != 1:
            ax = _first(state, xp, g, 3)
            ax = ax + (new - ax) * mu
        else:
            ax = new.copy()
        eta = _f32(lr / ((1 + lambd * lr * float(t)) ** group["alpha"]))
        mu = _f32(1 / max(1, float(t) - group["t0"]))
        return new, [t, eta, mu, ax]


class Rprop(_Elementwise):
    """Resilient backpropagation (Riedmiller & Braun), exactly ``torch.optim.Rprop``.

    Each element's step size grows by ``etaplus`` while its gradient keeps its sign and
    shrinks by ``etaminus`` when the sign flips (that step is skipped), clamped to
    ``step_sizes``; ``p -= sign(g) * step_size``.

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: the initial step size (1e-2). etas: (etaminus, etaplus) (0.5, 1.2).
        step_sizes: (min, max) step size (1e-6, 50). capturable, foreach, maximize,
            differentiable: as torch.
    Raises:
        ValueError: a negative lr, or etas not ``0 < etaminus < 1 < etaplus``.
    Example:
        >>> opt = optim.Rprop(model.parameters(), lr=0.01)
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        super().__init__(params, {"lr": lr, "etas": tuple(etas),
                                  "step_sizes": tuple(step_sizes), "foreach": foreach,
                                  "maximize": maximize, "differentiable": differentiable,
                                  "capturable": capturable})

    def _check(self, group):
        _nonneg(self, group, "lr")
        minus, plus = group["etas"]
        if not 0.0 < minus < 1.0 < plus:
            raise ValueError(f"Invalid eta values: {minus}, {plus} (Rprop: they must satisfy "
                             "0 < etaminus < 1 < etaplus)")
        group["etas"] = tuple(group["etas"])
        group["step_sizes"] = tuple(group["step_sizes"])

    def _state_names(self, group):
        return ("step", "prev", "step_size")

    def update_arrays(self, xp, data, grad, state, group):
        minus, plus = group["etas"]
        lo, hi = group["step_sizes"]
        g = -grad if group["maximize"] else grad
        if state is None:
            t, prev = 1, xp.zeros_like(g)
            size = xp.full_like(g, group["lr"])
        else:
            t, prev, size = state[0] + 1, state[1], state[2]
        s = xp.sign(g * prev)
        one = xp.ones((), dtype=g.dtype)
        factor = xp.where(s > 0, g.dtype.type(plus),
                          xp.where(s < 0, g.dtype.type(minus), one))
        size = xp.clip(size * factor, lo, hi)
        g = xp.where(factor == g.dtype.type(minus), xp.zeros((), dtype=g.dtype), g)
        new = xp.sign(g)
        new *= size
        return data - new, [t, g, size]


# ---------------------------------------------------------------- rules over whole tensors

class _PerTensor(Optimizer):
    """A rule that is not elementwise: ``step`` is one host call (that ``ge.jit`` replays
    whole), each parameter's state a dict of torch's names (``self._state[i]``, read as
    ``self.state[p]``)."""

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self.__dict__["_opt_called"] = True
        host_call(self._host_step)  # (not ``_step``: ge.jit must not flatten this rule)
        return loss

    step._ge_marks_called = True

    def _host_step(self):
        self._plain_hypers()
        updates = []
        for i, p in enumerate(self.params):
            g = p._grad
            if g is None:
                continue
            d = p.data
            if not isinstance(g, Tensor) or g.data.shape != d.shape or \
                    g.data.dtype != d.dtype or g.device != p.device:
                self._bad_grad(i, p, g)
            self._grad_check(g)
        for i, p in enumerate(self.params):  # (each group's rule sees its own params)
            g = p._grad
            if g is None:
                continue
            xp = np if p.device == "cpu" else backend.xp_of(p.device)
            new, st = self.update_tensor(xp, p.data, g.data, self._state[i], self._groups_of[i])
            if p.data.ndim == 0:
                new, st = _zero_dim(p.data, new, st)
            updates.append((i, p, new, st))
        self._commit(updates)

    def _grad_check(self, g):
        pass

    def update_tensor(self, xp, data, grad, state, group):
        """One parameter's update (fresh arrays): ``(new_data, new_state_dict)``."""
        raise NotImplementedError

    def state_dict(self):
        states = {i: {k: _saved_value(k, v) for k, v in st.items()}
                  for i, st in enumerate(self._state) if st is not None}
        sd = super().state_dict()  # (the groups; no state: _state_names is empty)
        sd["state"] = states
        return sd

    def load_state_dict(self, state_dict):
        name = type(self).__name__
        _, index = self._saved_groups(state_dict)
        new_state = [None] * len(self.params)
        for key, st in dict(state_dict["state"]).items():
            i = self._own_index(key, index, f"{name}.load_state_dict")
            new_state[i] = {k: self._load_value(k, v, self.params[i]) for k, v in st.items()}
        super().load_state_dict({**state_dict, "state": {}})
        self._state = new_state

    def _entry_from(self, i, st, group, where):
        return {k: self._load_value(k, v, self.params[i]) for k, v in st.items()}

    def _load_value(self, key, v, p):
        v = _from_torch(v)
        if isinstance(v, list):
            return [self._load_value(key, e, p) for e in v]
        if isinstance(v, Tensor):
            v = v.data
        if _is_array(v):
            if v.ndim == 0 and (key == "step" or p.data.ndim != 0):
                return int(v.item()) if key == "step" else v.item()
            return backend.to_device_array(v, p.device).astype(p.dtype, copy=True)
        return v


class Adafactor(_PerTensor):
    """Adafactor (Shazeer & Stern), exactly ``torch.optim.Adafactor``.

    A matrix (or a stack of them, the last two dimensions) keeps its second moment
    factored: ``row_var`` (the mean of g^2 over the last dimension) and ``col_var`` (over
    the one before); a vector keeps ``variance``. With ``beta2_t = 1 - t^beta2_decay``,
    ``rho_t = min(lr, 1 / sqrt(t))`` and ``alpha = max(eps2, rms(p)) rho_t``:
    ``u = g / sqrt(v_hat)`` clipped to RMS ``d``; ``p -= alpha u``. ``weight_decay`` is
    decoupled (``p *= 1 - lr wd``).

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: 1e-2. beta2_decay: -0.8. eps: (eps1, eps2) (None: the dtype's machine epsilon,
            1e-3). d: the clipping threshold (1.0). weight_decay: 0.
        foreach: accepted. maximize: ascend.
    Raises:
        ValueError: a negative lr, eps or weight_decay, beta2_decay > 0 or d < 1.
    Example:
        >>> opt = optim.Adafactor(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        super().__init__(params, {"lr": lr, "beta2_decay": beta2_decay, "eps": tuple(eps),
                                  "d": d, "weight_decay": weight_decay, "foreach": foreach,
                                  "maximize": maximize})

    def _check(self, group):
        # torch's words ("... should be ... but is: ..."), each then named for gradengine
        def bad(what):
            raise ValueError(f"{what} (Adafactor)")
        eps1, eps2 = group["eps"]
        if not 0.0 <= group["lr"]:
            bad(f"Learning rate should be >= 0 but is: {group['lr']}")
        if not 0.0 >= group["beta2_decay"]:
            bad(f"beta2_decay should be <= 0 but is: {group['beta2_decay']}")
        if eps1 is not None and not 0.0 <= eps1:
            bad(f"epsilon1 should be >= 0 but is: {eps1}")
        if not 0.0 <= eps2:
            bad(f"epsilon2 should be >= 0 but is: {eps2}")
        if not 1.0 <= group["d"]:
            bad(f"Clipping threshold d should be >= 1 but is: {group['d']}")
        if not 0.0 <= group["weight_decay"]:
            bad(f"weight_decay should be >= 0 but is: {group['weight_decay']}")
        group["eps"] = tuple(group["eps"])

    def _host_step(self):
        # torch sets a group's eps1 from the dtype of its first parameter with a gradient
        self._eps1 = {}
        for p, grp in zip(self.params, self._groups_of):
            if p._grad is not None and id(grp) not in self._eps1:
                e = grp["eps"][0]
                self._eps1[id(grp)] = float(np.finfo(p.data.dtype).eps) if e is None else e
        super()._host_step()

    def update_tensor(self, xp, data, grad, state, group):
        lr, wd, dclip = group["lr"], group["weight_decay"], group["d"]
        eps1 = self._eps1[id(group)]
        eps2 = group["eps"][1]
        g = -grad if group["maximize"] else grad
        t = (0 if state is None else state["step"]) + 1
        tf = float(t)
        w = tf ** group["beta2_decay"]
        rho = min(lr, 1 / (tf ** 0.5))
        alpha = max(eps2, _norm(xp, data) / (data.size ** 0.5)) * rho
        p = data * (1 - lr * wd) if wd else data
        if g.ndim > 1:
            if state is None:
                rows = xp.zeros(g.shape[:-1] + (1,), dtype=g.dtype)
                cols = xp.zeros(g.shape[:-2] + (1, g.shape[-1]), dtype=g.dtype)
            else:
                rows, cols = state["row_var"], state["col_var"]
            row_mean = xp.sqrt(xp.sum(g * g, axis=-1, keepdims=True))
            row_mean = row_mean * row_mean
            row_mean /= g.shape[-1]
            rows = lerp(xp, rows, row_mean, w)
            col_mean = xp.sqrt(xp.sum(g * g, axis=-2, keepdims=True))
            col_mean = col_mean * col_mean
            col_mean /= g.shape[-2]
            cols = lerp(xp, cols, col_mean, w)
            est = xp.matmul(rows, cols)
            est /= xp.maximum(xp.mean(rows, axis=-2, keepdims=True), eps1)
            new_state = {"step": t, "row_var": rows, "col_var": cols}
        else:
            var = xp.zeros_like(g) if state is None else state["variance"]
            var = lerp(xp, var, g * g, w)
            est = var.copy()
            new_state = {"step": t, "variance": var}
        upd = 1 / xp.sqrt(xp.maximum(est, eps1 * eps1))
        upd *= g
        denom = max(1.0, _norm(xp, upd) / ((upd.size ** 0.5) * dclip))
        step = upd * (-alpha / denom)
        return p + step, new_state


def _norm(xp, a) -> float:
    return float(xp.sqrt(xp.sum(a * a)))


class SparseAdam(_PerTensor):
    """``torch.optim.SparseAdam``'s constructor, checks and errors.

    torch's SparseAdam updates only the entries a sparse gradient holds and refuses dense
    gradients; gradengine's gradients are always dense, so :meth:`step` raises torch's
    RuntimeError for any gradient (use :class:`~gradengine.optim.Adam`).

    Args:
        params: iterable of parameters or of parameter groups (dicts).
        lr: 1e-3 (must be > 0). betas: (0.9, 0.999). eps: 1e-8 (must be > 0). maximize.
    Raises:
        ValueError: lr or eps not positive, a beta outside [0, 1).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "maximize": maximize})

    def _check(self, group):
        if not 0.0 < group["lr"]:
            raise ValueError(f"Invalid learning rate: {group['lr']} (SparseAdam: lr must be "
                             "> 0)")
        if not 0.0 < group["eps"]:
            raise ValueError(f"Invalid epsilon value: {group['eps']} (SparseAdam: eps must "
                             "be > 0)")
        _betas(self, group)

    def _grad_check(self, g):
        raise RuntimeError("SparseAdam does not support dense gradients, please consider "
                           "Adam instead")


# ---------------------------------------------------------------- L-BFGS

class LBFGS(_PerTensor):
    """L-BFGS (after minFunc), exactly ``torch.optim.LBFGS``: ``step(closure)`` runs up to
    ``max_iter`` quasi-Newton iterations, each evaluating ``closure`` (which clears the
    gradients, computes the loss, calls ``backward`` and returns the loss) once, or
    several times under the strong-Wolfe line search.

    Args:
        params: iterable of parameters (one group only, as in torch).
        lr: learning rate (1). max_iter: iterations per step (20). max_eval: closure
            evaluations per step (``max_iter * 5 // 4``). tolerance_grad: stop when
            ``max |g| <= tolerance_grad`` (1e-7). tolerance_change: stop when the loss or
            the step changes less (1e-9). history_size: pairs kept (100).
            line_search_fn: ``'strong_wolfe'`` or None.
    Raises:
        ValueError: a negative lr, or more than one parameter group.
        RuntimeError: ``line_search_fn`` other than 'strong_wolfe' or None (at the first
            iteration that needs it, as torch).

    The loss is read on the host at every evaluation: under ``ge.jit`` a step that calls
    it runs eagerly (with the jit's warning).

    Example:
        >>> opt = optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss
        >>> opt.step(closure)
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                                  "tolerance_grad": tolerance_grad,
                                  "tolerance_change": tolerance_change,
                                  "history_size": history_size,
                                  "line_search_fn": line_search_fn})
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # -- flat views over all parameters
    def _xp(self):
        dev = self.params[0].device
        return np if dev == "cpu" else backend.xp_of(dev)

    def _gather_flat_grad(self):
        xp = self._xp()
        views = []
        for i, p in enumerate(self.params):
            g = p._grad
            if g is None:
                views.append(xp.zeros(p.data.size, dtype=p.data.dtype))
                continue
            if not isinstance(g, Tensor) or g.data.shape != p.data.shape or \
                    g.data.dtype != p.data.dtype or g.device != p.device:
                self._bad_grad(i, p, g)
            views.append(g.data.reshape(-1))
        return xp.concatenate(views)

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self.params:
            n = p.data.size
            p.data = p.data + step_size * update[offset:offset + n].reshape(p.data.shape)
            p._version += 1
            offset += n

    def _clone_param(self):
        return [p.data.copy() for p in self.params]

    def _set_param(self, params_data):
        for p, d in zip(self.params, params_data):
            p.data = d.copy()
            p._version += 1

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def step(self, closure):
        """One L-BFGS step (``closure`` is required). Returns the closure's first loss."""
        self.__dict__["_opt_called"] = True
        with no_grad():
            return self._run(closure)

    step._ge_marks_called = True

    def _run(self, closure):
        def evaluate():
            with enable_grad():
                return closure()
        xp = self._xp()
        self._plain_hypers()
        group = self.param_groups[0]
        lr = group["lr"]
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]
        if self._state[0] is None:
            self._state[0] = {}
        state = self._state[0]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = evaluate()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if xp.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = xp.dot(y, s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / xp.dot(y, y)
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = xp.dot(old_stps[i], q) * ro[i]
                    q = q + (-al[i]) * old_dirs[i]
                r = q * H_diag
                for i in range(num_old):
                    be_i = xp.dot(old_dirs[i], r) * ro[i]
                    r = r + (al[i] - be_i) * old_stps[i]
                d = r
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = xp.dot(flat_grad, d)
            if gtd > -tolerance_change:
                break
            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)
                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    xp, obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break
        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def state_dict(self):
        st = self._state[0]
        states = {}
        if st is not None:
            states[0] = {k: _host_value(v) for k, v in st.items()}
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        for g in groups:
            g["params"] = list(range(len(self.params)))
        return {"state": states, "param_groups": groups}

    def _load_value(self, key, v, p):
        v = _from_torch(v)
        if isinstance(v, list):
            return [None if e is None else self._load_value(key, e, p) for e in v]
        if isinstance(v, Tensor):
            v = v.data
        if _is_array(v):  # flat vectors over all parameters, or 0-d scalars
            arr = backend.to_device_array(v, p.device).astype(p.dtype, copy=True)
            if arr.ndim == 0:
                return arr[()]
            n = sum(q.data.size for q in self.params)
            if arr.shape != (n,):
                raise ShapeError(f"LBFGS.load_state_dict: state {key!r} has shape "
                                 f"{tuple(arr.shape)}; the parameters have {n} elements")
            return arr
        return v


def _host_value(v):
    if isinstance(v, list):
        return [_host_value(e) for e in v]
    if _is_array(v):
        return _host_copy(v)
    if isinstance(v, np.generic):
        return v.copy()
    return v


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    # the minimum of the cubic through (x1, f1, g1) and (x2, f2, g2), torch's code
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(xp, obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    # torch.optim.lbfgs._strong_wolfe, line for line
    d_norm = xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = xp.dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos] = t
            bracket_f[high_pos] = f_new
            bracket_g[high_pos] = g_new.copy()
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos] = t
            bracket_f[low_pos] = f_new
            bracket_g[low_pos] = g_new.copy()
            bracket_gtd[low_pos] = gtd_new
    t = bracket[low_pos]
    f_new = bracket_f[low_pos]
    g_new = bracket_g[low_pos]
    return f_new, g_new, t, ls_func_evals
