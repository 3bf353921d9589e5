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

from .. import optim as _optim
from ..core.op import host_call
from . import schedules

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "get", "schedules"]


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

    def __init__(self, learning_rate, hyper, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        cls = type(self).__name__
        if clipnorm is not None or clipvalue is not None or global_clipnorm is not None:
            raise NotImplementedError(
                f"{cls}: clipnorm / clipvalue / global_clipnorm are not supported; clip with "
                "gradengine.nn.utils.clip_grad_norm_ / clip_grad_value_ in a custom loop")
        unknown = set(kwargs) - {"use_ema", "ema_momentum", "ema_overwrite_frequency",
                                 "loss_scale_factor", "gradient_accumulation_steps"}
        if unknown:
            raise TypeError(f"{cls}: unexpected keyword arguments {sorted(unknown)}")
        self._schedule = learning_rate if callable(learning_rate) else None
        lr = float(learning_rate(0)) if self._schedule else float(learning_rate)
        defaults = {"lr": lr, "weight_decay": float(weight_decay or 0.0), **hyper}
        super().__init__([], defaults)
        object.__setattr__(self, "iterations", 0)
        object.__setattr__(self, "name", name or cls.lower())
        object.__setattr__(self, "_config", {"learning_rate": learning_rate,
                                             "weight_decay": weight_decay, **hyper})

    def build(self, params) -> None:
        """Bind the model's parameters (once; later calls with the same ones do nothing)."""
        params = list(params)
        if self.params:
            held = {id(p) for p in self.params}
            new = [p for p in params if id(p) not in held]
            if new:
                self.add_param_group({"params": new})
            return
        self.add_param_group({"params": params})

    @property
    def learning_rate(self) -> float:
        """The current learning rate (a schedule's value at ``iterations``); assignable."""
        if self._schedule is not None:
            return _LearningRate(self._schedule(self.iterations))
        return _LearningRate(self.param_groups[0]["lr"] if self.param_groups else
                             self.defaults["lr"])

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):
            object.__setattr__(self, "_schedule", value)
            value = value(self.iterations)
        elif isinstance(self._schedule, schedules.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object "
                            "as its `learning_rate` constructor argument, hence its learning "
                            "rate is not settable. If you need the learning rate to be "
                            "settable, you should instantiate the optimizer with a float "
                            "`learning_rate` argument.")
        else:
            object.__setattr__(self, "_schedule", None)
        self.lr = float(value)

    def step(self, closure=None):
        host_call(self._tick)  # the schedule and the counter, replayed by ge.jit too
        return super().step(closure)

    def _tick(self):
        if self._schedule is not None:
            lr = float(self._schedule(self.iterations))
            for g in self.param_groups:
                g["lr"] = lr
        object.__setattr__(self, "iterations", self.iterations + 1)

    def _decayed(self, data, group):
        wd = group["weight_decay"]
        return data - data * (wd * group["lr"]) if wd else data

    def state_dict(self):
        out = super().state_dict()
        out["iterations"] = self.iterations
        return out

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        object.__setattr__(self, "iterations", int(state_dict.get("iterations", 0)))

    def get_config(self):
        cfg = dict(self._config)
        lr = cfg["learning_rate"]
        if isinstance(lr, schedules.LearningRateSchedule):
            cfg["learning_rate"] = {"class_name": type(lr).__name__,
                                    "config": lr.get_config()}
        elif callable(lr):
            raise TypeError(f"{type(self).__name__}: a callable learning rate cannot be "
                            "saved; use a keras.optimizers.schedules schedule")
        cfg["learning_rate"] = cfg["learning_rate"] if self._schedule else self.learning_rate
        return cfg

    @classmethod
    def from_config(cls, config):
        cfg = dict(config)
        lr = cfg.get("learning_rate")
        if isinstance(lr, dict):
            cfg["learning_rate"] = schedules._BY_NAME[lr["class_name"]](**lr["config"])
        return cls(**cfg)


class SGD(Optimizer):
    """Keras' SGD: ``m = momentum m - lr g``; ``p += m`` (Nesterov: ``p += momentum m -
    lr g``); without momentum ``p -= lr g``."""

    step_is_static = False

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 **kwargs):
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD: momentum must be a float in [0, 1], got {momentum!r}")
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
            t, m, v = 1, xp.zeros_like(data), xp.zeros_like(data)
            vh = xp.zeros_like(data) if group["amsgrad"] else None
        else:
            t, m, v = state[0] + 1, state[1], state[2]
            vh = state[3] if group["amsgrad"] else None
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


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """A Keras optimizer from its name ("adam", "rmsprop", ...) with Keras' defaults, or
    the optimizer given.

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    if isinstance(identifier, _optim.Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"optimizers.get: unknown optimizer {identifier!r}; allowed: "
                             f"{', '.join(repr(k) for k in _BY_NAME)}")
        return cls()
    raise TypeError(f"optimizers.get: expected a name or an optimizer, got "
                    f"{type(identifier).__name__}")
