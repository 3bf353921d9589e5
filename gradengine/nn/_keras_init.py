"""Keras' weight initializers (``kernel_initializer="glorot_uniform"`` and friends), drawn
from gradengine's seeded generator (``ge.manual_seed``). Re-exported by
:mod:`gradengine.keras.initializers`; kept here so that nn's Dense can use them without
importing the Keras package."""

from __future__ import annotations

import math

from .. import backend

__all__ = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
           "Initializer", "LecunNormal", "LecunUniform", "Ones", "RandomNormal",
           "RandomUniform", "TruncatedNormal", "VarianceScaling", "Zeros", "get"]


def _fans(shape):
    """Keras' fan-in and fan-out: (in, out) for a matrix, receptive field times channels for
    a channels-last kernel (kh, kw, in, out)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


class Initializer:
    """Base: ``init(shape, dtype=None, device=None)`` -> a backend array."""

    def __call__(self, shape, dtype=None, device=None):
        dev = device or backend.get_default_device()
        dt = backend.resolve_dtype(dtype, type(self).__name__) if dtype is not None else \
            backend.DEFAULT_FLOAT
        gen = backend.rng(dev)
        with backend.cuda_context(dev):
            return self._draw(backend.xp_of(dev), gen, tuple(int(s) for s in shape),
                              dev).astype(dt, copy=False)

    def get_config(self):
        return {}

    def _normal(self, gen, shape, dev):
        return gen.standard_normal(shape)

    def _uniform(self, gen, shape, dev):
        return gen.random(shape) if dev == "cpu" else gen.random_sample(shape)

    def _truncated(self, xp, gen, shape, dev):
        """Standard normal samples redrawn until within two standard deviations."""
        out = self._normal(gen, shape, dev)
        bad = xp.abs(out) > 2
        while bool(bad.any()):
            out = xp.where(bad, self._normal(gen, shape, dev), out)
            bad = xp.abs(out) > 2
        return out


class Zeros(Initializer):
    def _draw(self, xp, gen, shape, dev):
        return xp.zeros(shape)


class Ones(Initializer):
    def _draw(self, xp, gen, shape, dev):
        return xp.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def _draw(self, xp, gen, shape, dev):
        return xp.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def _draw(self, xp, gen, shape, dev):
        return self.minval + (self.maxval - self.minval) * self._uniform(gen, shape, dev)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def _draw(self, xp, gen, shape, dev):
        return self.mean + self.stddev * self._normal(gen, shape, dev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def _draw(self, xp, gen, shape, dev):
        return self.mean + self.stddev * self._truncated(xp, gen, shape, dev)


class VarianceScaling(Initializer):
    """Keras' VarianceScaling: variance ``scale / n`` with n the fan in, out or their
    mean; a truncated normal (stddev corrected by 0.8796...), a normal or a uniform."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or "
                             f"'fan_avg', got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, \
            distribution, seed

    def _draw(self, xp, gen, shape, dev):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return -limit + 2 * limit * self._uniform(gen, shape, dev)
        if self.distribution == "untruncated_normal":
            return math.sqrt(var) * self._normal(gen, shape, dev)
        return (math.sqrt(var) / 0.87962566103423978) * self._truncated(xp, gen, shape, dev)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _vs(name, scale, mode, dist):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, dist, seed)

    def get_config(self):
        return {"seed": self.seed}
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config})


GlorotUniform = _vs("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _vs("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _vs("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _vs("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _vs("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _vs("LecunNormal", 1.0, "fan_in", "truncated_normal")

_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_uniform": RandomUniform,
    "uniform": RandomUniform, "random_normal": RandomNormal, "normal": RandomNormal,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier):
    """An Initializer from a name ("glorot_uniform", "GlorotUniform"), a config dict
    ``{"class_name": ..., "config": {...}}``, or an Initializer / callable (returned).

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    if isinstance(identifier, Initializer) or (callable(identifier) and
                                               not isinstance(identifier, (str, dict, type))):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        cls = _BY_CLASS.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"initializers.get: unknown initializer {identifier!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_CLASS.get(identifier)
        if cls is None:
            raise ValueError(f"initializers.get: unknown initializer {identifier!r}; known: "
                             f"{', '.join(sorted(_BY_NAME))}")
        return cls()
    raise TypeError(f"initializers.get: expected a name, a dict or an Initializer, got "
                    f"{type(identifier).__name__}")


def serialize(init):
    """The JSON form of an initializer (a name for the stateless defaults)."""
    if isinstance(init, str):
        return init
    if isinstance(init, Initializer):
        return {"class_name": type(init).__name__, "config": init.get_config()}
    raise TypeError(f"cannot serialize the initializer {init!r}; use a name or an "
                    "Initializer")
