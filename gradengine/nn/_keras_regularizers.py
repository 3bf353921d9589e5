"""Keras' weight regularizers (``kernel_regularizer=L2(0.01)``): a penalty on a weight that
the Keras training loop adds to the loss. Re-exported by :mod:`gradengine.keras.regularizers`;
kept here so that nn's Dense can take them without importing the Keras package.

Activity regularizers penalise a layer's output. Their penalties are gathered only while
a model collects them (:func:`collecting`, around the Keras train and test steps), so a
layer called outside a model keeps no graph alive."""

from __future__ import annotations

import contextlib
import math
import threading

__all__ = ["L1", "L1L2", "L2", "Regularizer", "collecting", "get", "record_activity",
           "serialize"]


def _factor(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(f"{owner}: {name} must be a non-negative float, got {value!r}")
    return float(value)


class Regularizer:
    """Base: ``reg(weight) -> scalar Tensor`` (the penalty)."""

    def __call__(self, x):
        return x.sum() * 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x^2)`` (both 0 by default, as Keras)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1", type(self).__name__)
        self.l2 = _factor(0.0 if l2 is None else l2, "l2", type(self).__name__)

    def __call__(self, x):
        out = x.sum() * 0.0
        if self.l1:
            out = out + self.l1 * x.abs().sum()
        if self.l2:
            out = out + self.l2 * (x * x).sum()
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)`` (l1 0.01 by default)."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "l1", "L1")

    def __call__(self, x):
        return self.l1 * x.abs().sum()

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x^2)`` (l2 0.01 by default; no factor 1/2, as Keras)."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2", "L2")

    def __call__(self, x):
        return self.l2 * (x * x).sum()

    def get_config(self):
        return {"l2": self.l2}


# Keras' names: the classes' and their snake-case forms (``to_snake_case("L1L2")`` is "l1l2")
_BY_NAME = {"l1": L1, "l2": L2, "l1l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2,
            "Regularizer": Regularizer, "regularizer": Regularizer}


def get(identifier):
    """A regularizer from None, a name ("l1", "l2", "l1l2"), a config dict
    ``{"class_name": ..., "config": {...}}``, a class, or a callable (returned).

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Regularizer):
        return identifier()
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"regularizers.get: unknown regularizer {identifier!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(f"regularizers.get: unknown regularizer {identifier!r}; known: "
                             f"{', '.join(repr(k) for k in _BY_NAME)}")
        return cls()
    if callable(identifier):
        return identifier
    raise TypeError(f"regularizers.get: expected a name, a dict or a callable, got "
                    f"{type(identifier).__name__}")


def serialize(reg):
    """The JSON form of a regularizer: a config dict for the built-in classes, None for
    None, anything else as it is (saving then names what it cannot write)."""
    if isinstance(reg, Regularizer) and _BY_NAME.get(type(reg).__name__) is type(reg):
        return {"class_name": type(reg).__name__, "config": reg.get_config()}
    return reg


_ACTIVE = threading.local()


@contextlib.contextmanager
def collecting():
    """Gather the activity penalties of the layers called inside (yields their list)."""
    outer = getattr(_ACTIVE, "losses", None)
    _ACTIVE.losses = []
    try:
        yield _ACTIVE.losses
    finally:
        _ACTIVE.losses = outer


def record_loss(loss):
    """Add a layer's ``add_loss`` term to the active collection, if any."""
    losses = getattr(_ACTIVE, "losses", None)
    if losses is not None:
        losses.append(loss)


def uses_add_loss(cls) -> bool:
    """Whether a user's layer class calls ``add_loss`` in one of its own methods (so a
    model collects the terms around its forward)."""
    for klass in cls.__mro__:
        if (klass.__module__ or "").startswith("gradengine."):
            continue
        for fn in vars(klass).values():
            code = getattr(fn, "__code__", None)
            if code is not None and "add_loss" in code.co_names:
                return True
    return False


def record_activity(reg, out):
    """Add ``reg(out) / batch size`` (Keras 3's activity penalty) to the active collection,
    if any."""
    losses = getattr(_ACTIVE, "losses", None)
    if losses is not None and reg is not None:
        penalty = reg(out)
        losses.append(penalty / out.shape[0] if out.ndim and out.shape[0] else penalty)
