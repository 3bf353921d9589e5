"""Keras' learning-rate schedules (``keras.optimizers.schedules``): callables of the step
count (the optimizer's ``iterations`` before the update) returning the learning rate."""

from __future__ import annotations

import math

__all__ = ["CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
           "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "deserialize",
           "serialize"]


class LearningRateSchedule:
    """Base: ``schedule(step) -> learning rate``."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return dict(self.__dict__)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent
    floored when ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        kind = type(self).__name__
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. Received: "
                             f"decay_steps={decay_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps, self.decay_rate = decay_steps, float(decay_rate)
        self.staircase, self.name = bool(staircase), name or kind

    def _progress(self, step):
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(values) != len(boundaries) + 1:
            raise ValueError("The length of boundaries should be 1 less than the length of "
                             f"values. Received: boundaries={boundaries} of length "
                             f"{len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or, after ``warmup_steps`` of linear
    warm-up, from ``warmup_target``) to ``alpha`` times it over ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. Received: "
                             f"decay_steps={decay_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps, self.alpha, self.name = decay_steps, float(alpha), name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step):
        start = self.initial_learning_rate
        if self.warmup_target is not None:
            if step < self.warmup_steps:
                return start + (self.warmup_target - start) * step / self.warmup_steps
            start = self.warmup_target
        s = min(step - self.warmup_steps, self.decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * s / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, the step held at
    ``decay_steps`` (or, with ``cycle``, decay_steps stretched to the next multiple)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. Received: "
                             f"decay_steps={decay_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps, self.end_learning_rate = decay_steps, float(end_learning_rate)
        self.power, self.cycle, self.name = float(power), bool(cycle), name

    def __call__(self, step):
        steps = float(self.decay_steps)
        if self.cycle:
            steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, steps)
        p = step / steps
        return (self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power \
            + self.end_learning_rate


class InverseTimeDecay(ExponentialDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (the ratio floored
    when ``staircase``); its arguments are ExponentialDecay's."""

    def __call__(self, step):
        return self.initial_learning_rate / (1.0 + self.decay_rate * self._progress(step))


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of ``first_decay_steps`` times
    ``t_mul`` to the restart count, each restart's peak scaled by ``m_mul``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        if first_decay_steps <= 0:
            raise ValueError("Argument `first_decay_steps` must be > 0. Received: "
                             f"first_decay_steps={first_decay_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.first_decay_steps, self._t_mul, self._m_mul = first_decay_steps, float(t_mul), \
            float(m_mul)
        self.alpha, self.name = float(alpha), name

    def __call__(self, step):
        frac = step / self.first_decay_steps
        t_mul = self._t_mul
        if t_mul != 1.0:
            i_restart = math.floor(math.log(1.0 - frac * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - t_mul ** i_restart) / (1.0 - t_mul)
            frac = (frac - sum_r) / t_mul ** i_restart
        else:
            i_restart = math.floor(frac)
            frac -= i_restart
        cosine = 0.5 * self._m_mul ** i_restart * (1.0 + math.cos(math.pi * frac))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_BY_NAME = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay,
                                    PolynomialDecay, InverseTimeDecay, CosineDecayRestarts)}


def serialize(schedule):
    """Keras' serialized form of a schedule."""
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A schedule from :func:`serialize`'s dict.

    Raises:
        ValueError: an unknown class name.
    """
    name = config.get("class_name")
    cls = _BY_NAME.get(name) or (custom_objects or {}).get(name)
    if cls is None:
        from .saving_lib import get_registered_object
        cls = get_registered_object(config.get("registered_name") or name)
    if cls is None:
        raise ValueError(f"schedules.deserialize: unknown schedule {name!r}")
    return cls(**config.get("config", {}))
