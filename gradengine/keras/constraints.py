"""Keras 3's weight constraints (``keras.constraints``): projections applied to a weight
after each optimizer update, ``MaxNorm``, ``MinMaxNorm``, ``NonNeg``, ``UnitNorm`` and the
base ``Constraint``, with Keras' formulas (norms over ``axis``, ``epsilon()`` in the
denominator), configs, ``get`` / ``serialize`` / ``deserialize``. Each is a callable on a
Tensor returning the projected Tensor (differentiable, built from ``keras.ops``)."""

from __future__ import annotations

import inspect

import numpy as np

from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from . import ops
from .backend import epsilon

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get",
           "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm"]


class Constraint:
    """The base class: ``__call__(w)`` returns the projected weight (``w`` unchanged here)."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _norms(w, axis):
    return ops.sqrt(ops.sum(ops.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescale each slice along ``axis`` whose L2 norm exceeds ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = ops.clip(norms, 0, self.max_value)
        return ops.cast(w, norms.dtype) * (desired / (epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """``max(w, 0)``."""

    def __call__(self, w):
        return ops.maximum(ops.convert_to_tensor(w), 0)


class UnitNorm(Constraint):
    """Each slice along ``axis`` scaled to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        return ops.cast(w, norms.dtype) / (epsilon() + norms)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Norms moved towards ``[min_value, max_value]``: ``rate * clip(norm) + (1 - rate) *
    norm``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = self.rate * ops.clip(norms, self.min_value, self.max_value) + \
            (1 - self.rate) * norms
        return ops.cast(w, norms.dtype) * (desired / (epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_ALL = {c.__name__: c for c in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_ALL.update({"constraint": Constraint, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
             "non_neg": NonNeg, "unit_norm": UnitNorm})


def serialize(constraint):
    """Keras' dict form ``{"module": "keras.constraints", "class_name", "config",
    "registered_name"}``."""
    if constraint is None:
        return None
    builtin = type(constraint).__name__ in _ALL and type(constraint) is _ALL[
        type(constraint).__name__]
    return {"module": "keras.constraints" if builtin else type(constraint).__module__,
            "class_name": type(constraint).__name__, "config": constraint.get_config(),
            "registered_name": None if builtin else type(constraint).__name__}


def deserialize(config, custom_objects=None):
    """A constraint from :func:`serialize`'s dict (or a name)."""
    if isinstance(config, str):
        return get(config)
    name = config.get("class_name")
    table = dict(_ALL)
    table.update(custom_objects or {})
    if name not in table:
        raise ValueError(f"Could not interpret constraint identifier: {config}")
    cls = table[name]
    conf = config.get("config", {})
    return cls.from_config(conf) if hasattr(cls, "from_config") else cls(**conf)


def get(identifier):
    """None, a name ("max_norm", "NonNeg"), a config dict, a class (instantiated) or a
    callable (returned as it is).

    Raises:
        ValueError: anything else.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _ALL.get(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret constraint identifier: {identifier}")


def apply_constraints(pairs):
    """Project each weight with its constraint, in place and without a graph (Keras applies
    a variable's constraint after each optimizer update)."""
    with no_grad():
        for constraint, w in pairs:
            new = constraint(w)
            arr = new.data if isinstance(new, Tensor) else np.asarray(new)
            w.data[...] = arr.astype(w.dtype, copy=False)


# -- kssuite: ``parameter.constraint`` resolves a layer's constraint name through get
from ..nn import module as _nn_module  # noqa: E402

_nn_module.CONSTRAINT_RESOLVER[:] = [get]
