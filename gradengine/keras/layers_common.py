"""The shared pieces of the Keras layer modules: Keras' int-or-tuple arguments,
``data_format`` and padding names, the channels-first views the ``F`` ops take, Keras'
"same" padding, random draws from gradengine's generator, Keras' Orthogonal initializer,
and :class:`_Base`, the layer built at once from ``input_shape``."""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn import _keras_init, _keras_regularizers
from ..nn.layers import _module_device, _module_dtype
from ..ops.creation import rand, randn
from . import activations as _activations
from .layer_base import Layer

__all__ = ["InputSpec", "Orthogonal"]


def _tuple(v, n, what, name):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) != n:
        raise ValueError(f"{name}: {what} must be an int or {n} ints, got {v}")
    return v


def _data_format(value, name):
    fmt = "channels_last" if value is None else str(value).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', "
                         f"got {value!r}")
    return fmt


def _padding(value, name, allowed=("valid", "same")):
    p = str(value).lower()
    if p not in allowed:
        raise ValueError(f"{name}: padding must be one of {allowed}, got {value!r}")
    return p


def _to_first(x, fmt):
    """Channels-last (N, *S, C) -> (N, C, *S); channels-first input unchanged."""
    return x if fmt == "channels_first" else x.transpose(0, x.ndim - 1, *range(1, x.ndim - 1))


def _from_first(x, fmt):
    return x if fmt == "channels_first" else x.transpose(0, *range(2, x.ndim), 1)


def _same_pads(size, k, s, d=1):
    """Keras' (TensorFlow's) "same" padding: the odd one at the end."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_spatial(x, pads, value=0.0):
    """Pad the spatial axes (2, 3, ...) of a channels-first tensor by ``pads``, one
    (before, after) pair per axis."""
    if not any(a or b for a, b in pads):
        return x
    flat = []
    for a, b in reversed(pads):
        flat += [int(a), int(b)]
    return F.pad(x, tuple(flat), value=value)


def _activation(identifier):
    """The function of an ``activation=`` argument, looked up as Keras' layers do
    (``keras.activations.get``): any Keras name, a serialized dict, a registered name, a
    callable, None (the identity)."""
    return _activations.get(identifier)


def _check_rank(x, rank, name, fmt="channels_last"):
    if x.ndim != rank + 2:
        layout = "(N, C, " + ", ".join("S" * rank) + ")" if fmt == "channels_first" else \
            "(N, " + ", ".join("S" * rank) + ", C)"
        raise ShapeError(f"{name}: expected an input of rank {rank + 2} {layout}, got shape "
                         f"{tuple(x.shape)}")


def _const(x, arr):
    """A constant Tensor on x's device and dtype."""
    xp = backend.xp_of(x.device)
    with backend.cuda_context(x.device):
        return Tensor._make(xp.asarray(arr, dtype=x.dtype), x.device)


def _random(layer, kind, shape, a=0.0, b=1.0):
    """A draw from gradengine's seeded generator (``ge.manual_seed``) on the layer's
    device: U(a, b) or N(a, b^2); an op of its own, so ge.jit draws anew each replay."""
    dev, dt = _module_device(layer), _module_dtype(layer)
    shape = tuple(int(d) for d in shape)
    if kind == "uniform":
        t = rand(*shape, dtype=dt, device=dev)
        return t if (a, b) == (0.0, 1.0) else t * (b - a) + a
    return randn(*shape, dtype=dt, device=dev) * b + a


class Orthogonal(_keras_init.Initializer):
    """Keras' Orthogonal initializer: the Q of a QR factorisation of a normal matrix
    (signs fixed by R's diagonal), times ``gain``; what Keras' RNNs start their recurrent
    kernels with."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}

    def _draw(self, xp, gen, shape, dev):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have at least 2 axes, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._normal(gen, (max(rows, cols), min(rows, cols)), dev)
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(r.diagonal())
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


def _init(identifier):
    if isinstance(identifier, str) and identifier in ("orthogonal", "Orthogonal"):
        return Orthogonal()
    if isinstance(identifier, dict) and identifier.get("class_name") == "Orthogonal":
        return Orthogonal(**identifier.get("config", {}))
    return identifier


class _Base(Layer):
    """A Keras-style layer: built at once when ``input_shape`` is given, else at its first
    call; weights made by :meth:`_add` in Keras' order."""

    def _maybe_build(self):
        if self.input_shape is not None:
            self.build((None,) + tuple(self.input_shape))
            object.__setattr__(self, "_built", True)

    def _add(self, name, shape, initializer, regularizer=None, trainable=True):
        if regularizer is not None:
            object.__setattr__(self, f"{name}_regularizer", _keras_regularizers.get(regularizer))
        if trainable:
            return self._weight(_init(initializer), tuple(int(d) for d in shape), name)
        self._buffer(_init(initializer), tuple(int(d) for d in shape), name)
        return getattr(self, name)


class _Stateless(_Base):
    """A layer without weights: built from the start."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        object.__setattr__(self, "_built", True)


class InputSpec:
    """Keras' InputSpec: what a layer accepts (``dtype``, ``shape``, ``ndim``,
    ``max_ndim``, ``min_ndim``, ``axes``); kept for scripts that set
    ``layer.input_spec`` (gradengine's layers check their inputs themselves)."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype, self.name, self.optional = dtype, name, optional
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = dict(axes or {})
        self.allow_last_axis_squeeze = allow_last_axis_squeeze

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape),
                                          ("ndim", self.ndim), ("max_ndim", self.max_ndim),
                                          ("min_ndim", self.min_ndim), ("axes", self.axes))
                 if v]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
