"""Optimizers: SGD (momentum, Nesterov, weight decay), Adam and AdamW, as in torch.optim.

The update rules are PyTorch's, written line for line on the arrays (``p.data``,
``p.grad.data``): no Tensor ops and no graph, so a step costs a few array operations per
parameter.

A step is atomic. Every new parameter value and every new state entry is first computed
into fresh arrays; only then are they committed by rebinding (``p.data = new``). If
anything -- a KeyboardInterrupt included -- interrupts the commit, the old arrays are put
back, so each parameter and its optimizer state are either all-before or all-after the
step. Committing bumps each updated parameter's version, so a backward through a graph
recorded before the step raises GraphError instead of using stale values.

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad(); loss.backward(); opt.step()
"""

from __future__ import annotations

import math

import numpy as np

from . import backend
from .core.gradmode import enable_grad
from .core.op import host_call
from .core.tensor import Tensor

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]


class Optimizer:
    """Base class: a list of parameters, hyperparameters as attributes, per-parameter state.

    Subclasses implement ``_step_arrays(xp, d, g, st)``: from a parameter's array ``d``,
    its gradient ``g`` and its state ``st`` (None before the first update) it returns
    ``(new_data, new_state)`` computed into fresh arrays, touching nothing; the base class
    commits all of them at once. The rule is elementwise, so ``ge.jit`` applies it once to
    all parameters laid end to end in one flat array (same results, bit for bit).

    Attributes:
        params: the parameters (a list of leaf Tensors).
        lr: the learning rate; assign to change it (``opt.lr = 1e-4``).
        state: one entry per parameter (None before its first update).
    """

    _hyper: tuple = ("lr",)
    # the update's array work is the same at every step (a CUDA graph may hold it)
    step_is_static: bool = False

    def __init__(self, params, lr):
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors, "
                            "got a single Tensor; pass [t] or model.parameters()")
        params = list(params)
        for i, p in enumerate(params):
            if isinstance(p, dict):
                raise TypeError(f"{type(self).__name__}: parameter groups (dicts) are not "
                                "supported; pass a flat list of parameters")
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a "
                                f"{type(p).__name__}, not a Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{type(self).__name__}: some parameters appear more than once")
        if not lr >= 0.0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {lr!r}")
        self.params = params
        self.lr = float(lr)
        self.state = [None] * len(params)

    # ------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None by default, as in PyTorch 2)."""
        host_call(self._zero_grad, set_to_none)

    def _zero_grad(self, set_to_none):
        if set_to_none:
            for p in self.params:
                p.grad = None
        else:
            for p in self.params:
                if p.grad is not None:
                    p.grad = Tensor._make(backend.xp_of(p.device).zeros_like(p.data), p.device)

    def step(self, closure=None):
        """Update every parameter that has a gradient; atomic (see the module docstring).

        Args:
            closure: optional callable that re-evaluates the model and returns the loss;
                it runs (with gradients enabled) before the update, as in PyTorch.
        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        host_call(self._step)  # through the dispatch: ge.jit sees and replays the update
        return loss

    def _step(self):
        updates = []
        update = self._step_arrays
        state = self.state
        for i, p in enumerate(self.params):
            g = p.grad
            if g is not None:
                xp = np if p.device == "cpu" else backend.xp_of(p.device)
                updates.append((i, p, *update(xp, p.data, g.data, state[i])))
        self._commit(updates)

    def _commit(self, updates):
        state = self.state
        done = []
        try:
            for i, p, data, st in updates:
                done.append((i, p, p.data, state[i]))
                p.data = data
                state[i] = st
                p._version += 1
        except BaseException:
            # Put every old array back: the step happens completely or not at all.
            for i, p, data, st in reversed(done):
                p.data = data
                state[i] = st
            raise

    def _names_for(self, hyper):
        return self._state_names

    def _step_arrays(self, xp, d, g, st):  # pragma: no cover - abstract
        raise NotImplementedError

    def _stateless(self) -> bool:
        """Whether the update keeps no state (then ``_step_in_place`` may be used)."""
        return False

    def _step_in_place(self, xp, d, g):
        """The stateless update written into ``d`` with one final array call (atomic);
        the same numbers as ``_step_arrays``. Used by ``ge.jit``'s flat step."""
        new, _ = self._step_arrays(xp, d, g, None)
        xp.copyto(d, new)

    # ------------------------------------------------------------ state
    @property
    def param_groups(self):
        """A PyTorch-style view: one group holding every parameter and the hyperparameters."""
        return [dict(self._hyperparams(), params=self.params)]

    def _hyperparams(self):
        out = {}
        for k in self._hyper:
            v = getattr(self, k)
            out[k] = list(v) if isinstance(v, tuple) else v
        return out

    def state_dict(self) -> dict:
        """``{"state": {index: {name: value}}, "param_groups": [{...}]}`` as in PyTorch.

        Arrays are host (NumPy) copies, so the dict can be given to ``ge.save`` as is.
        """
        states = {}
        for i, st in enumerate(self.state):
            if st is not None:
                states[i] = {k: (_host_copy(v) if _is_array(v) else v)
                             for k, v in zip(self._state_names, st)}
        group = self._hyperparams()
        group["params"] = list(range(len(self.params)))
        return {"state": states, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict` (all or nothing).

        Raises:
            ValueError: a different number of parameters, or a malformed dict.
            ShapeError: a state array whose shape differs from its parameter's.
        """
        from .errors import ShapeError
        name = type(self).__name__
        try:
            groups = state_dict["param_groups"]
            states = state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             "'param_groups'") from None
        if len(groups) != 1 or len(groups[0].get("params", ())) != len(self.params):
            got = sum(len(g.get("params", ())) for g in groups)
            raise ValueError(f"{name}.load_state_dict: the saved state has {got} parameters "
                             f"in {len(groups)} group(s); this optimizer has "
                             f"{len(self.params)} in 1")
        hyper = {k: groups[0][k] for k in self._hyper if k in groups[0]}
        state_names = self._names_for(hyper)
        new_state = [None] * len(self.params)
        for key, st in states.items():
            i = int(key)
            if not 0 <= i < len(self.params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, but there "
                                 f"are {len(self.params)}")
            missing = [k for k in state_names if k not in st]
            if missing:
                raise ValueError(f"{name}.load_state_dict: state of parameter {i} lacks "
                                 f"{missing}")
            p = self.params[i]
            entry = []
            for k in state_names:
                v = st[k]
                if _is_array(v) or isinstance(v, Tensor):
                    arr = v.data if isinstance(v, Tensor) else v
                    if tuple(arr.shape) != p.shape:
                        raise ShapeError(f"{name}.load_state_dict: state {k!r} of parameter "
                                         f"{i} has shape {tuple(arr.shape)}, the parameter "
                                         f"{p.shape}")
                    v = backend.to_device_array(arr, p.device).astype(p.dtype, copy=True)
                elif v is not None and k == "step":
                    v = int(v)
                entry.append(v)
            new_state[i] = entry
        for k, v in hyper.items():
            setattr(self, k, tuple(v) if isinstance(v, list) else v)
        self.state = new_state

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._hyperparams().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {args})"


def _is_array(v):
    return isinstance(v, np.ndarray) or (backend.cupy() is not None and
                                         isinstance(v, backend.cupy().ndarray))


def _host_copy(arr):
    return arr.copy() if isinstance(arr, np.ndarray) else backend.cupy().asnumpy(arr)


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov and weight decay.

    Exactly ``torch.optim.SGD``: ``g += wd * p``; ``buf = g`` on the first step, else
    ``buf = momentum * buf + (1 - dampening) * g``; ``g = g + momentum * buf`` (Nesterov)
    or ``g = buf``; ``p -= lr * g``.

    Args:
        params: iterable of parameters. lr: learning rate (Keras's default, 0.01).
        momentum, dampening, weight_decay: as in PyTorch. nesterov: Nesterov momentum.
    Raises:
        ValueError: a negative hyperparameter, or nesterov without momentum.
    Example:
        >>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    """

    _hyper = ("lr", "momentum", "dampening", "weight_decay", "nesterov")
    _state_names = ("momentum_buffer",)

    step_is_static = True

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0,
                 dampening=0.0):
        super().__init__(params, lr)
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum {momentum!r}")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay {weight_decay!r}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires momentum > 0 and dampening = 0")
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.weight_decay = float(weight_decay)
        self.nesterov = bool(nesterov)
        self._neg_lr = None  # (key, -lr as an array) for _step_in_place

    def _stateless(self):
        return not self.momentum

    def _step_in_place(self, xp, d, g):
        if self.weight_decay:
            return super()._step_in_place(xp, d, g)
        # -lr as an array of g's shape (cached while lr stays): NumPy multiplies two arrays
        # faster than an array by a Python float, with the same float32 rounding of -lr
        key = (self.lr, g.shape, g.dtype)
        cached = self._neg_lr
        if cached is None or cached[0] != key:
            cached = self._neg_lr = (key, xp.full(g.shape, -self.lr, dtype=g.dtype))
        step = g * cached[1]
        xp.add(d, step, out=d)  # d + (-lr * g): the eager result, in one call

    def _step_arrays(self, xp, d, g, st):
        wd = self.weight_decay
        if wd:
            g = g + wd * d
        mom = self.momentum
        if not mom:
            new = g * -self.lr  # d + (-lr * g) equals d - lr * g bit for bit, one array fewer
            new += d
            return new, None
        if st is None:
            buf = g.copy()
        else:
            buf = st[0] * mom
            buf += (1 - self.dampening) * g
        step = g + mom * buf if self.nesterov else buf
        new = step * -self.lr
        new += d
        return new, [buf]


class Adam(Optimizer):
    """Adam (Kingma & Ba), exactly ``torch.optim.Adam`` including its eps placement.

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``. ``weight_decay``
    adds ``wd * p`` to the gradient (L2); see :class:`AdamW` for the decoupled form.

    Args:
        params: iterable of parameters. lr: learning rate (Keras's default, 1e-3).
        betas: (b1, b2). eps: added to the denominator. weight_decay: L2 coefficient.
        amsgrad: use the running maximum of v (AMSGrad).
    Example:
        >>> opt = optim.Adam(model.parameters(), lr=1e-3)
    """

    _hyper = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        super().__init__(params, lr)
        name = type(self).__name__
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"{name}: invalid betas {tuple(betas)!r}; each must be in [0, 1)")
        if eps < 0.0:
            raise ValueError(f"{name}: invalid eps {eps!r}")
        if weight_decay < 0.0:
            raise ValueError(f"{name}: invalid weight_decay {weight_decay!r}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.amsgrad = bool(amsgrad)

    @property
    def _state_names(self):
        return self._names_for({})

    def _names_for(self, hyper):
        ams = hyper.get("amsgrad", self.amsgrad)
        return ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if ams else ())

    def _step_arrays(self, xp, d, g, st):
        lr, wd = self.lr, self.weight_decay
        b1, b2 = self.betas
        if wd:
            if self._decoupled:
                d = d * (1 - lr * wd)
            else:
                g = g + wd * d
        if st is None:
            # The first step from m = v = 0, written out so that no zero arrays are made.
            t = 1
            m = g * (1 - b1)
            v = g * g
            v *= 1 - b2
        else:
            t = st[0] + 1
            m = g - st[1]
            m *= 1 - b1
            m += st[1]
            v = st[2] * b2
            v += (1 - b2) * (g * g)
        bc1 = 1 - b1 ** t
        bc2_sqrt = math.sqrt(1 - b2 ** t)
        new_state = [t, m, v]
        vd = v
        if self.amsgrad:
            vd = v if st is None else xp.maximum(st[3], v)
            new_state.append(vd)
        denom = xp.sqrt(vd)
        denom /= bc2_sqrt
        denom += self.eps
        upd = m / denom
        upd *= lr / bc1
        return d - upd, new_state


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), exactly ``torch.optim.AdamW``:
    ``p *= 1 - lr * wd`` before the Adam update.

    Example:
        >>> opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
