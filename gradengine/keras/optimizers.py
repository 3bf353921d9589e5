"""Keras 3's optimizers with Keras' names, defaults and update rules (``learning_rate=``,
``beta_1``, ``epsilon=1e-7``, decoupled ``weight_decay``, schedules as learning rates).

They are gradengine optimizers (:class:`gradengine.optim.Optimizer`) made without
parameters; ``compile`` / ``fit`` bind them to the model's. The update rules follow
``keras/src/optimizers/*.py`` line for line: SGD's velocity ``m = momentum m - lr g``,
Adam's ``alpha = lr sqrt(1 - b2^t) / (1 - b1^t)`` with epsilon outside the root, RMSprop's
and Adagrad's epsilon inside it, Adagrad's accumulators starting at 0.1.

    model.compile(optimizer=optimizers.Adam(learning_rate=1e-3), loss="mse")
"""

from __future__ import annotations

import numpy as np

from .. import backend as _backend
from .. import optim as _optim
from ..core.op import host_call
from ..core.tensor import Tensor as _Tensor
from . import schedules

__all__ = ["SGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl",
           "Lamb", "Lion", "Nadam", "Optimizer", "RMSprop", "deserialize", "get", "schedules",
           "serialize"]


def backend_xp(device):
    return np if device == "cpu" else _backend.xp_of(device)


def _schedule_value(schedule, step):
    """The learning rate of a schedule at ``step`` (Keras calls a LearningRateSchedule
    with the iteration count and any other callable with no argument; one that needs an
    argument is given the count too)."""
    if isinstance(schedule, schedules.LearningRateSchedule):
        return float(schedule(step))
    import inspect
    try:
        inspect.signature(schedule).bind()
    except TypeError:
        return float(schedule(step))
    except ValueError:  # no signature (a builtin)
        pass
    return float(schedule())


class _LearningRate(float):
    """A learning rate read from a Keras optimizer: a float that also answers Keras'
    variable reads (``optimizer.learning_rate.numpy()``)."""

    def numpy(self):
        return np.float32(self)

    @property
    def value(self):
        return float(self)


class Optimizer(_optim.Optimizer):
    """Base of the Keras optimizers: a learning rate that may be a schedule, an
    ``iterations`` counter, decoupled weight decay, and :meth:`build` to bind the
    parameters (``compile`` / ``fit`` call it)."""

    _params_later = True  # (bound by build, after construction)

    def __init__(self, learning_rate, hyper, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        cls = type(self).__name__
        given = [k for k, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"{cls}: only one of clipnorm, clipvalue and global_clipnorm can "
                             f"be set, got {given}")
        unknown = set(kwargs) - {"use_ema", "ema_momentum", "ema_overwrite_frequency",
                                 "loss_scale_factor", "gradient_accumulation_steps"}
        if unknown:
            raise TypeError(f"{cls}: unexpected keyword arguments {sorted(unknown)}")
        accumulate = kwargs.get("gradient_accumulation_steps")
        if accumulate is not None:
            if isinstance(accumulate, bool) or not isinstance(accumulate, int) or \
                    accumulate < 2:
                raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. "
                                 f"Received: gradient_accumulation_steps={accumulate}")
        loss_scale = kwargs.get("loss_scale_factor")
        use_ema = bool(kwargs.get("use_ema", False))
        ema_momentum = float(kwargs.get("ema_momentum", 0.99))
        if use_ema and not 0.0 <= ema_momentum <= 1.0:
            raise ValueError(f"{cls}: ema_momentum must be in [0, 1], got {ema_momentum}")
        self._schedule = learning_rate if callable(learning_rate) else None
        lr = _schedule_value(learning_rate, 0) if self._schedule else float(learning_rate)
        defaults = {"lr": lr, "weight_decay": float(weight_decay or 0.0), **hyper}
        super().__init__([], defaults)
        object.__setattr__(self, "_iterations", 0)
        from ..nn.module import keras_snake  # Keras' auto_name: "rm_sprop", "adam_w"
        object.__setattr__(self, "name", name or keras_snake(cls))
        object.__setattr__(self, "_clip", (clipnorm, clipvalue, global_clipnorm))
        object.__setattr__(self, "use_ema", use_ema)
        object.__setattr__(self, "ema_momentum", ema_momentum)
        object.__setattr__(self, "ema_overwrite_frequency",
                           kwargs.get("ema_overwrite_frequency"))
        object.__setattr__(self, "_ema", None)
        object.__setattr__(self, "gradient_accumulation_steps", accumulate)
        object.__setattr__(self, "loss_scale_factor", loss_scale)
        object.__setattr__(self, "_accumulated", {})
        object.__setattr__(self, "_config", {"learning_rate": learning_rate,
                                             "weight_decay": weight_decay,
                                             "clipnorm": clipnorm, "clipvalue": clipvalue,
                                             "global_clipnorm": global_clipnorm,
                                             "use_ema": use_ema, "ema_momentum": ema_momentum,
                                             "ema_overwrite_frequency":
                                             kwargs.get("ema_overwrite_frequency"),
                                             "loss_scale_factor": loss_scale,
                                             "gradient_accumulation_steps": accumulate,
                                             **hyper})

    def build(self, params) -> None:
        """Bind the model's parameters (once; later calls with the same ones do nothing)."""
        params = list(params)
        if self.params:
            held = {id(p) for p in self.params}
            new = [p for p in params if id(p) not in held]
            if new:
                self._add_groups(new)
            return
        self._add_groups(params)

    def _add_groups(self, params):
        # -- kssuite: the variables excluded from weight decay go in a group without it
        excluded = [p for p in params if self._no_decay(p)]
        kept = [p for p in params if not self._no_decay(p)]
        if kept or not excluded:
            self.add_param_group({"params": kept})
        if excluded:
            self.add_param_group({"params": excluded, "weight_decay": 0.0})

    def _no_decay(self, p):
        import re
        ids, names = self.__dict__.get("_wd_excluded", (set(), ()))
        name = p.__dict__.get("name") if hasattr(p, "__dict__") else None
        name = getattr(p, "name", None) if name is None else name
        return id(p) in ids or (isinstance(name, str) and
                                any(re.search(n, name) for n in names))

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Keras' ``exclude_from_weight_decay``: no weight decay for the variables of
        ``var_list`` nor those whose name matches one of ``var_names`` (a regex each);
        before the variables are bound (the first ``apply``), as Keras requires. --
        kssuite"""
        if self.params:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before "
                             "the optimizer is built.")
        ids, names = self.__dict__.get("_wd_excluded", (set(), ()))
        ids = ids | {id(v) for v in (var_list or ())}
        names = tuple(names) + tuple(var_names or ())
        object.__setattr__(self, "_wd_excluded", (ids, names))

    @property
    def variables(self) -> list:
        """Keras' ``optimizer.variables``: the iteration count, the learning rate, then
        each variable's slots (momentums, velocities, ...) once made. -- kssuite"""
        out = [_Tensor(np.asarray(self.iterations, dtype=np.int32)),
               _Tensor(np.asarray(float(self.learning_rate), dtype=np.float32))]
        for i, p in enumerate(self.params):
            st = self._state[i] if i < len(self._state) else None
            for arr in (st or ()):
                if arr is not None and hasattr(arr, "shape"):
                    out.append(_Tensor._make(arr, p.device))
        return out

    @property
    def _model_variables_moving_average(self):  # -- kssuite: Keras' EMA slots
        return [_Tensor._make(a, p.device) for a, p in zip(self._ema or (), self.params)]

    def _clip_gradients(self, grads):
        """Keras' ``_clip_gradients``: the gradients clipped by ``clipnorm`` (each one),
        ``global_clipnorm`` (together) or ``clipvalue``. -- kssuite"""
        clipnorm, clipvalue, global_clipnorm = self._clip
        gs = [None if g is None else (g.data if isinstance(g, _Tensor) else
                                      np.asarray(g, dtype=np.float32)) for g in grads]
        if clipnorm and clipnorm > 0:
            out = []
            for g in gs:
                if g is not None:
                    norm = float(np.sqrt((np.asarray(g, dtype=np.float64) ** 2).sum()))
                    g = g * (clipnorm / max(norm, clipnorm))
                out.append(g)
            gs = out
        elif global_clipnorm and global_clipnorm > 0:
            total = sum(float((np.asarray(g, dtype=np.float64) ** 2).sum())
                        for g in gs if g is not None) ** 0.5
            scale = global_clipnorm / max(total, global_clipnorm)
            gs = [None if g is None else g * scale for g in gs]
        elif clipvalue and clipvalue > 0:
            gs = [None if g is None else np.clip(g, -clipvalue, clipvalue) for g in gs]
        return [None if g is None else _Tensor(g) for g in gs]

    def apply(self, grads, trainable_variables=None):
        """Keras' ``optimizer.apply(grads, trainable_variables)``: one update of the given
        variables with the given gradients (the optimizer's own variables when None; binds
        them on the first call, as Keras builds). Gradients of None leave their variable
        alone; the other variables the optimizer holds are not touched.

        Raises:
            ValueError: a different number of gradients and variables.
        """
        grads = list(grads)
        if trainable_variables is None:
            variables = list(self.params)
        else:
            variables = list(trainable_variables)
            self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(f"{type(self).__name__}.apply: got {len(grads)} gradients for "
                             f"{len(variables)} variables")
        held = {id(p): p.grad for p in self.params}
        given = {id(v) for v in variables}
        try:
            for p in self.params:  # only the given variables move
                if id(p) not in given:
                    p.grad = None
            for v, g in zip(variables, grads):
                if g is not None and not isinstance(g, _Tensor):
                    g = _Tensor(g, dtype=v.dtype, device=v.device)
                elif g is not None and g.dtype != v.dtype:
                    g = g.astype(v.dtype)  # -- kssuite: Keras casts to the variable's dtype
                v.grad = g
            self.step()
            pairs = self.__dict__.get("_keras_constraints")
            if pairs:  # the model's weight constraints, after the update (as Keras)
                from .constraints import apply_constraints
                host_call(apply_constraints, pairs)
        finally:
            for p in self.params:
                if id(p) not in given:
                    p.grad = held[id(p)]

    def apply_gradients(self, grads_and_vars):
        """Keras' ``apply_gradients(zip(grads, variables))``: :meth:`apply`."""
        pairs = list(grads_and_vars)
        return self.apply([g for g, _ in pairs], [v for _, v in pairs])

    @property
    def learning_rate(self) -> float:
        """The current learning rate (a schedule's value at ``iterations``); assignable."""
        if self._schedule is not None:
            return _LearningRate(_schedule_value(self._schedule, self._iterations))
        return _LearningRate(self.param_groups[0]["lr"] if self.param_groups else
                             self.defaults["lr"])

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):
            object.__setattr__(self, "_schedule", value)
            value = _schedule_value(value, self._iterations)
        elif isinstance(self._schedule, schedules.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object "
                            "as its `learning_rate` constructor argument, hence its learning "
                            "rate is not settable. If you need the learning rate to be "
                            "settable, you should instantiate the optimizer with a float "
                            "`learning_rate` argument.")
        else:
            object.__setattr__(self, "_schedule", None)
        self.lr = float(value)

    @property
    def clipnorm(self):
        return self._clip[0]

    @property
    def clipvalue(self):
        return self._clip[1]

    @property
    def global_clipnorm(self):
        return self._clip[2]

    def step(self, closure=None):
        host_call(self._tick)  # the schedule and the counter, replayed by ge.jit too
        out = super().step(closure)
        if self.use_ema:
            host_call(self._ema_step)
        return out

    def _step(self):
        """Keras' ``_backend_apply_gradients``: with ``gradient_accumulation_steps`` the
        gradients are added up and only every n-th step updates (with their mean); the
        gradients are unscaled by ``loss_scale_factor``, then clipped (``clipnorm`` each,
        ``global_clipnorm`` together, ``clipvalue``), on fresh arrays (the ``.grad``
        Tensors are left as they are)."""
        clipnorm, clipvalue, global_clipnorm = self._clip
        accumulate, scale = self.gradient_accumulation_steps, self.loss_scale_factor
        if not (clipnorm or clipvalue or global_clipnorm or accumulate or scale):
            return super()._step()
        self._plain_hypers()
        live = []
        for i, p in enumerate(self.params):
            g = p._grad
            if g is None:
                continue
            if not isinstance(g, _Tensor) or g.data.shape != p.data.shape or \
                    g.data.dtype != p.data.dtype or g.device != p.device:
                self._bad_grad(i, p, g)
            live.append((i, p, g.data))
        xp_of = backend_xp
        if scale is not None:
            live = [(i, p, g / scale) for i, p, g in live]
        if accumulate:
            acc = self._accumulated
            # (the counter is already this step's: Keras' iterations + 1)
            if self._iterations % int(accumulate):
                for i, _p, g in live:
                    acc[i] = g.copy() if acc.get(i) is None else acc[i] + g
                return
            live = [(i, p, ((g if acc.get(i) is None else g + acc[i]) / accumulate)
                     .astype(g.dtype, copy=False)) for i, p, g in live]
            acc.clear()  # Keras resets every accumulator
        if clipnorm and clipnorm > 0:
            clipped = []
            for i, p, g in live:
                xp = xp_of(p.device)
                l2 = (g * g).sum()
                norm = xp.sqrt(l2) if float(l2) > 0 else l2
                clipped.append((i, p, g * clipnorm / xp.maximum(norm, clipnorm)))
            live = clipped
        elif global_clipnorm and global_clipnorm > 0:
            total = sum(float((g.astype("float64") ** 2).sum()) for _, _, g in live) ** 0.5
            scale = global_clipnorm / max(total, global_clipnorm)
            live = [(i, p, (g * scale).astype(g.dtype, copy=False)) for i, p, g in live]
        elif clipvalue and clipvalue > 0:
            live = [(i, p, xp_of(p.device).clip(g, -clipvalue, clipvalue)) for i, p, g in live]
        updates = [(i, p, *self.update_arrays(xp_of(p.device), p.data, g, self._state[i],
                                              self._groups_of[i])) for i, p, g in live]
        self._commit(updates)

    def _ema_step(self):
        """Keras' moving average of the weights, after the update (the first step copies
        them); every ``ema_overwrite_frequency`` steps the weights take the average."""
        if self._ema is None:
            object.__setattr__(self, "_ema", [p.data.copy() for p in self.params])
        # Keras' momentum is 0 while its iterations (counted in updates) are 0
        mom = self.ema_momentum if self._before() else 0.0
        for k, p in enumerate(self.params):
            self._ema[k] = mom * self._ema[k] + (1 - mom) * p.data
        self._maybe_overwrite()

    def _maybe_overwrite(self):
        freq = self.ema_overwrite_frequency
        if freq and (self._before() + 1) % int(freq) == 0:
            self._write_ema()

    def _write_ema(self):
        for p, avg in zip(self.params, self._ema):
            p.data = avg.astype(p.data.dtype, copy=True)
            p._version += 1

    def finalize_variable_values(self, var_list=None):
        """With ``use_ema``, set the weights to their moving averages (``fit`` calls this at
        the end of training, as Keras does)."""
        if self.use_ema and self._ema is not None:
            self._write_ema()

    def swap_ema_weights(self):
        """Exchange the weights and their moving averages (SwapEMAWeights)."""
        if self._ema is None:
            return
        for k, p in enumerate(self.params):
            cur = p.data
            p.data = self._ema[k].astype(cur.dtype, copy=True)
            self._ema[k] = cur
            p._version += 1

    def _tick(self):
        if self._schedule is not None:
            lr = _schedule_value(self._schedule, self._iterations)
            for g in self.param_groups:
                g["lr"] = lr
        object.__setattr__(self, "_iterations", self._iterations + 1)

    def _local_step(self, t):
        """Keras' ``local_step = iterations + 1``: the optimizer's count (this step's,
        counted before the update), the same for every variable and for the steps that
        only accumulate gradients; the variable's own count + 1 outside ``step()``."""
        if not self._iterations:
            return t + 1
        return self._before() + 1

    def _before(self):
        """Keras' ``iterations`` before this step's increment (in updates when
        gradients accumulate)."""
        n = self.gradient_accumulation_steps
        return (self._iterations - 1) // n if n else self._iterations - 1

    @property
    def iterations(self) -> int:
        """Keras' ``iterations``: the updates made (``apply`` calls, divided by
        ``gradient_accumulation_steps`` when gradients accumulate)."""
        n = self.__dict__.get("gradient_accumulation_steps")
        return self._iterations // n if n else self._iterations

    @iterations.setter
    def iterations(self, value):
        n = self.__dict__.get("gradient_accumulation_steps")
        object.__setattr__(self, "_iterations", int(value) * (n or 1))

    def _decayed(self, data, group):
        wd = group["weight_decay"]
        return data - data * (wd * group["lr"]) if wd else data

    def state_dict(self):
        out = super().state_dict()
        out["iterations"] = self._iterations
        return out

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        object.__setattr__(self, "_iterations", int(state_dict.get("iterations", 0)))

    def get_config(self):
        cfg = {"name": self.name, **self._config}
        lr = cfg["learning_rate"]
        if self._schedule is None:
            # Keras reads its float32 learning-rate variable
            cfg["learning_rate"] = float(np.float32(self.learning_rate))
        elif isinstance(self._schedule, schedules.LearningRateSchedule):
            cfg["learning_rate"] = schedules.serialize(self._schedule)
        elif callable(lr):
            raise TypeError(f"{type(self).__name__}: a callable learning rate cannot be "
                            "saved; use a keras.optimizers.schedules schedule")
        return cfg

    @classmethod
    def from_config(cls, config):
        cfg = dict(config)
        lr = cfg.get("learning_rate")
        if isinstance(lr, dict):
            cfg["learning_rate"] = schedules.deserialize(lr)
        return cls(**cfg)


class SGD(Optimizer):
    """Keras' SGD: ``m = momentum m - lr g``; ``p += m`` (Nesterov: ``p += momentum m -
    lr g``); without momentum ``p -= lr g``."""

    step_is_static = False

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 **kwargs):
        if not 0.0 <= momentum <= 1.0:
            # -- kssuite: Keras' wording
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1]. Received: "
                             f"momentum={momentum!r}")
        super().__init__(learning_rate, {"momentum": float(momentum),
                                         "nesterov": bool(nesterov)}, weight_decay, **kwargs)

    def _state_names(self, group):
        return ("momentum",) if group["momentum"] else ()

    def stateless(self, group):
        return not group["momentum"]

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        lr, mom = group["lr"], group["momentum"]
        if not mom:
            return data - grad * lr, None
        m = xp.zeros_like(data) if state is None else state[0]
        m = m * mom - grad * lr
        if group["nesterov"]:
            return data + (m * mom - grad * lr), [m]
        return data + m, [m]


class Adam(Optimizer):
    """Keras' Adam: ``m += (g - m)(1 - b1)``, ``v += (g^2 - v)(1 - b2)``,
    ``p -= m alpha / (sqrt(v) + eps)`` with ``alpha = lr sqrt(1 - b2^t) / (1 - b1^t)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, **kwargs):
        super().__init__(learning_rate, {"beta_1": float(beta_1), "beta_2": float(beta_2),
                                         "epsilon": float(epsilon), "amsgrad": bool(amsgrad)},
                         weight_decay, **kwargs)

    def _state_names(self, group):
        return ("step", "momentum", "velocity") + (("velocity_hat",) if group["amsgrad"]
                                                   else ())

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        b1, b2, lr = group["beta_1"], group["beta_2"], group["lr"]
        if state is None:
            t, m, v = 0, xp.zeros_like(data), xp.zeros_like(data)
            vh = xp.zeros_like(data) if group["amsgrad"] else None
        else:
            t, m, v = state[0], state[1], state[2]
            vh = state[3] if group["amsgrad"] else None
        t = self._local_step(t)
        alpha = lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
        m = m + (grad - m) * (1 - b1)
        v = v + (grad * grad - v) * (1 - b2)
        new_state = [t, m, v]
        denom_v = v
        if vh is not None:
            vh = xp.maximum(vh, v)
            new_state.append(vh)
            denom_v = vh
        return data - (m * alpha) / (xp.sqrt(denom_v) + group["epsilon"]), new_state


class AdamW(Adam):
    """Keras' AdamW: Adam after the decoupled decay ``p -= p wd lr`` (weight_decay 0.004)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         **kwargs)


class RMSprop(Optimizer):
    """Keras' RMSprop: ``v = rho v + (1 - rho) g^2``; ``inc = lr g / sqrt(v + eps)``
    (centered: ``sqrt(v - a^2 + eps)``); momentum ``m = momentum m + inc``; ``p -= m``."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, **kwargs):
        super().__init__(learning_rate, {"rho": float(rho), "momentum": float(momentum),
                                         "epsilon": float(epsilon),
                                         "centered": bool(centered)}, weight_decay, **kwargs)

    def _state_names(self, group):
        return ("velocity",) + (("momentum",) if group["momentum"] > 0 else ()) + \
            (("average_gradient",) if group["centered"] else ())

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        rho, lr, mom, eps = group["rho"], group["lr"], group["momentum"], group["epsilon"]
        names = self._state_names(group)
        old = dict(zip(names, state)) if state is not None else {}
        v = rho * old.get("velocity", xp.zeros_like(data)) + (1 - rho) * (grad * grad)
        new = {"velocity": v}
        if group["centered"]:
            a = rho * old.get("average_gradient", xp.zeros_like(data)) + (1 - rho) * grad
            new["average_gradient"] = a
            denom = v - a * a + eps
        else:
            denom = v + eps
        inc = (lr * grad) / xp.sqrt(denom)
        if mom > 0:
            m = mom * old.get("momentum", xp.zeros_like(data)) + inc
            new["momentum"] = m
            out = data - m
        else:
            out = data - inc
        return out, [new[k] for k in names]


class Adagrad(Optimizer):
    """Keras' Adagrad: ``acc += g^2`` (from ``initial_accumulator_value``);
    ``p -= lr g / sqrt(acc + eps)``."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, **kwargs):
        super().__init__(learning_rate,
                         {"initial_accumulator_value": float(initial_accumulator_value),
                          "epsilon": float(epsilon)}, weight_decay, **kwargs)

    def _state_names(self, group):
        return ("accumulator",)

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        acc = xp.full_like(data, group["initial_accumulator_value"]) if state is None \
            else state[0]
        acc = acc + grad * grad
        return data - (group["lr"] * grad) / xp.sqrt(acc + group["epsilon"]), [acc]


class Adadelta(Optimizer):
    """Keras' Adadelta: ``a = rho a + (1 - rho) g^2``; ``d = -sqrt(dv + eps) g /
    sqrt(a + eps)``; ``dv = rho dv + (1 - rho) d^2``; ``p += lr d``."""

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None,
                 **kwargs):
        super().__init__(learning_rate, {"rho": float(rho), "epsilon": float(epsilon)},
                         weight_decay, **kwargs)

    def _state_names(self, group):
        return ("accumulated_grad", "accumulated_delta_var")

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        rho, eps, lr = group["rho"], group["epsilon"], group["lr"]
        acc, dacc = (xp.zeros_like(data), xp.zeros_like(data)) if state is None else state
        acc = rho * acc + (1 - rho) * (grad * grad)
        delta = -(xp.sqrt(dacc + eps) * grad) / xp.sqrt(acc + eps)
        dacc = rho * dacc + (1 - rho) * (delta * delta)
        return data + lr * delta, [acc, dacc]


class Adamax(Optimizer):
    """Keras' Adamax: ``m += (g - m)(1 - b1)``; ``u = max(b2 u, |g|)``;
    ``p -= lr m / ((1 - b1^t)(u + eps))``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, **kwargs):
        super().__init__(learning_rate, {"beta_1": float(beta_1), "beta_2": float(beta_2),
                                         "epsilon": float(epsilon)}, weight_decay, **kwargs)

    def _state_names(self, group):
        return ("step", "momentum", "norm")

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        b1, b2, lr = group["beta_1"], group["beta_2"], group["lr"]
        t, m, u = (0, xp.zeros_like(data), xp.zeros_like(data)) if state is None else state
        t = self._local_step(t)
        m = m + (grad - m) * (1 - b1)
        u = xp.maximum(b2 * u, xp.abs(grad))
        return data - (lr * m) / ((1 - b1 ** t) * (u + group["epsilon"])), [t, m, u]


class Nadam(Optimizer):
    """Keras' Nadam: Adam with Nesterov momentum and the ``u_t = b1 (1 - 0.5 *
    0.96^t)`` momentum schedule (its running product kept per weight)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, **kwargs):
        super().__init__(learning_rate, {"beta_1": float(beta_1), "beta_2": float(beta_2),
                                         "epsilon": float(epsilon)}, weight_decay, **kwargs)

    def _state_names(self, group):
        return ("step", "momentum", "velocity", "u_product")

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        b1, b2, lr = group["beta_1"], group["beta_2"], group["lr"]
        t, m, v, u_prod = (0, xp.zeros_like(data), xp.zeros_like(data), 1.0) \
            if state is None else state
        t = self._local_step(t)
        u_t = b1 * (1.0 - 0.5 * 0.96 ** t)
        u_t1 = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        # Keras keeps one product of the u's for all the variables, made once per
        # update before the step: prod_{k <= t} u_k (a variable without a gradient at
        # some step still sees the steps' count)
        u_prod = 1.0
        for k in range(1, int(t) + 1):
            u_prod *= float(np.float32(b1 * (1.0 - 0.5 * 0.96 ** k)))
        u_prod1 = u_prod * u_t1
        m = m + (grad - m) * (1 - b1)
        v = v + (grad * grad - v) * (1 - b2)
        m_hat = u_t1 * m / (1 - u_prod1) + (1 - u_t) * grad / (1 - u_prod)
        v_hat = v / (1 - b2 ** t)
        return data - (m_hat * lr) / (xp.sqrt(v_hat) + group["epsilon"]), [t, m, v, u_prod]


class Lion(Optimizer):
    """Keras' Lion: ``p -= lr sign(b1 m + (1 - b1) g)``; ``m = b2 m + (1 - b2) g``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None,
                 **kwargs):
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                             f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")
        super().__init__(learning_rate, {"beta_1": float(beta_1), "beta_2": float(beta_2)},
                         weight_decay, **kwargs)

    def _state_names(self, group):
        return ("momentum",)

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        b1, b2 = group["beta_1"], group["beta_2"]
        m = xp.zeros_like(data) if state is None else state[0]
        out = data - group["lr"] * xp.sign(m * b1 + grad * (1.0 - b1))
        return out, [m * b2 + grad * (1.0 - b2)]


class Ftrl(Optimizer):
    """Keras' FTRL-proximal (with L1, L2 and L2-shrinkage regularization and ``beta``),
    accumulators starting at ``initial_accumulator_value``."""

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, weight_decay=None, **kwargs):
        for name, v in (("initial_accumulator_value", initial_accumulator_value),
                        ("l1_regularization_strength", l1_regularization_strength),
                        ("l2_regularization_strength", l2_regularization_strength),
                        ("l2_shrinkage_regularization_strength",
                         l2_shrinkage_regularization_strength)):
            if v < 0.0:
                raise ValueError(f"Ftrl: `{name}` needs to be positive or zero. Received: "
                                 f"{name}={v}.")
        if learning_rate_power > 0.0:
            raise ValueError("Ftrl: `learning_rate_power` needs to be negative or zero. "
                             f"Received: learning_rate_power={learning_rate_power}.")
        super().__init__(learning_rate, {
            "learning_rate_power": float(learning_rate_power),
            "initial_accumulator_value": float(initial_accumulator_value),
            "l1_regularization_strength": float(l1_regularization_strength),
            "l2_regularization_strength": float(l2_regularization_strength),
            "l2_shrinkage_regularization_strength":
                float(l2_shrinkage_regularization_strength),
            "beta": float(beta)}, weight_decay, **kwargs)

    def _state_names(self, group):
        return ("accumulator", "linear")

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        lr, p = group["lr"], group["learning_rate_power"]
        if state is None:
            accum = xp.full_like(data, group["initial_accumulator_value"])
            linear = xp.zeros_like(data)
        else:
            accum, linear = state
        l1 = group["l1_regularization_strength"]
        l2 = group["l2_regularization_strength"] + group["beta"] / (2.0 * lr)
        g2 = grad + 2 * group["l2_shrinkage_regularization_strength"] * data
        new_accum = accum + grad * grad
        linear = linear + (g2 - (new_accum ** -p - accum ** -p) / lr * data)
        quadratic = new_accum ** -p / lr + 2 * l2
        out = (xp.clip(linear, -l1, l1) - linear) / quadratic
        return out.astype(data.dtype, copy=False), [new_accum, linear]


class Adafactor(Optimizer):
    """Keras' Adafactor: factored second moments (row and column means for weights of 2
    or more axes), ``beta_2_t = 1 - t^beta_2_decay``, updates clipped by RMS
    ``clip_threshold``, step size ``max(epsilon_2, rms(p)) * min(lr, 1 / sqrt(t))``."""

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30,
                 epsilon_2=1e-3, clip_threshold=1.0, relative_step=True, weight_decay=None,
                 **kwargs):
        super().__init__(learning_rate, {"beta_2_decay": float(beta_2_decay),
                                         "epsilon_1": float(epsilon_1),
                                         "epsilon_2": float(epsilon_2),
                                         "clip_threshold": float(clip_threshold),
                                         "relative_step": bool(relative_step)},
                         weight_decay, **kwargs)

    def _state_names(self, group):
        return ("step", "r", "c", "v")

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        lr = group["lr"]
        if state is None:
            shape = data.shape
            r = xp.zeros(shape[:-1], data.dtype) if data.ndim >= 2 else xp.zeros((), data.dtype)
            c = xp.zeros(shape[:-2] + shape[-1:], data.dtype) if data.ndim >= 2 else \
                xp.zeros((), data.dtype)
            t, v = 0, xp.zeros_like(data)
        else:
            t, r, c, v = state
        t = self._local_step(t)
        if self._schedule is None and group["relative_step"]:
            lr = min(lr, 1 / t ** 0.5)

        def rms(x):
            return xp.sqrt(xp.mean(x * x))
        rho_t = min(lr, 1 / t ** 0.5)
        alpha_t = max(group["epsilon_2"], float(rms(data))) * rho_t
        g2 = grad * grad + group["epsilon_1"]
        b2t = 1 - t ** group["beta_2_decay"]
        if data.ndim >= 2:
            r = b2t * r + (1 - b2t) * g2.mean(axis=-1)
            c = b2t * c + (1 - b2t) * g2.mean(axis=-2)
            v = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v = b2t * v + (1 - b2t) * g2
        u = grad / xp.sqrt(v)
        u_hat = u / max(1.0, float(rms(u)) / group["clip_threshold"])
        return (data - alpha_t * u_hat).astype(data.dtype, copy=False), [t, r, c, v]


class Lamb(Optimizer):
    """Keras' Lamb: Adam's bias-corrected step scaled per weight by the trust ratio
    ``||p|| / ||update||`` (1 when either norm is 0)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, **kwargs):
        super().__init__(learning_rate, {"beta_1": float(beta_1), "beta_2": float(beta_2),
                                         "epsilon": float(epsilon)}, weight_decay, **kwargs)

    def _state_names(self, group):
        return ("step", "momentum", "velocity")

    def update_arrays(self, xp, data, grad, state, group):
        data = self._decayed(data, group)
        b1, b2, lr = group["beta_1"], group["beta_2"], group["lr"]
        t, m, v = (0, xp.zeros_like(data), xp.zeros_like(data)) if state is None else state
        t = self._local_step(t)
        m = m + (grad - m) * (1 - b1)
        v = v + (grad * grad - v) * (1 - b2)
        update = (m / (1.0 - b1 ** t)) / (xp.sqrt(v / (1.0 - b2 ** t)) + group["epsilon"])
        w_norm = float(xp.sqrt((data * data).sum()))
        g_norm = float(xp.sqrt((update * update).sum()))
        ratio = w_norm / g_norm if w_norm > 0 and g_norm > 0 else 1.0
        return (data - ratio * lr * update).astype(data.dtype, copy=False), [t, m, v]


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
            "adadelta": Adadelta, "adamax": Adamax, "nadam": Nadam, "lion": Lion,
            "ftrl": Ftrl, "adafactor": Adafactor, "lamb": Lamb}


def get(identifier):
    """A Keras optimizer from its name ("adam", "rmsprop", ...) with Keras' defaults, or
    the optimizer given.

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    if isinstance(identifier, _optim.Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"optimizers.get: unknown optimizer {identifier!r}; allowed: "
                             f"{', '.join(repr(k) for k in _BY_NAME)}")
        return cls()
    raise TypeError(f"optimizers.get: expected a name or an optimizer, got "
                    f"{type(identifier).__name__}")


def serialize(optimizer):
    """Keras' serialized form of an optimizer (``{"module", "class_name", "config",
    "registered_name"}``)."""
    from .saving_lib import serialize_keras_object
    return serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None):
    """An optimizer from :func:`serialize`'s dict (a class name in any case, as Keras)."""
    from .saving_lib import deserialize_keras_object
    if isinstance(config, dict) and isinstance(config.get("class_name"), str):
        cls = _BY_NAME.get(config["class_name"].lower())
        if cls is not None and ">" not in (config.get("registered_name") or ""):
            return cls.from_config(config.get("config", {}))
    return deserialize_keras_object(config, custom_objects=custom_objects)
