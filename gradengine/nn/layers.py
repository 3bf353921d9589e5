"""Layers: :class:`Linear`, the activations (:class:`Sigmoid`, :class:`ReLU`,
:class:`Tanh`, :class:`Softmax`) and the Keras-style, lazily-built :class:`Dense`."""

from __future__ import annotations

import math

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..errors import ShapeError
from .module import Module, Parameter

__all__ = ["Dense", "Linear", "ReLU", "Sigmoid", "Softmax", "Tanh"]


def _module_device(mod):
    return mod.__dict__.get("_device") or backend.get_default_device()


def _module_dtype(mod):
    return mod.__dict__.get("_dtype") or backend.DEFAULT_FLOAT


def _uniform(shape, bound, dtype, device):
    """U(-bound, bound) samples from gradengine's seeded generator (``ge.manual_seed``)."""
    gen = backend.rng(device)
    with backend.cuda_context(device):
        arr = gen.uniform(-bound, bound, size=shape)
        return arr.astype(dtype, copy=False)


class Linear(Module):
    """``y = act(x @ W + b)`` with ``W`` of shape (in_features, out_features).

    Initialisation is PyTorch's: W and b drawn from U(-1/sqrt(in), 1/sqrt(in)), using the
    generator seeded by ``ge.manual_seed``.

    Args:
        in_features, out_features: sizes. bias: add a learned bias.
        activation: None, "sigmoid", "relu" or "tanh" (fused into the layer's op).
    Example:
        >>> layer = nn.Linear(2, 3, activation="sigmoid"); y = layer(x)   # x: (N, 2)
    """

    def __init__(self, in_features, out_features, bias=True, activation=None, dtype=None,
                 device=None):
        super().__init__()
        if activation not in (None, "sigmoid", "relu", "tanh"):
            raise ValueError(f"Linear: unknown activation {activation!r}; use None, "
                             "'sigmoid', 'relu' or 'tanh'")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = activation
        dev = backend.normalize_device(device, "Linear") if device is not None else \
            backend.get_default_device()
        dt = backend.resolve_dtype(dtype, "Linear") if dtype is not None else \
            backend.DEFAULT_FLOAT
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        self.weight = Parameter(_uniform((self.in_features, self.out_features), bound, dt, dev),
                                device=dev)
        self.bias = Parameter(_uniform((self.out_features,), bound, dt, dev), device=dev) \
            if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias, self.activation)

    def pre_activation(self, x):
        """``x @ W + b`` without the activation (the logits)."""
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        act = f", activation={self.activation!r}" if self.activation else ""
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}{act}")


class Sigmoid(Module):
    """Elementwise logistic sigmoid."""

    def forward(self, x):
        return F.sigmoid(x)


class ReLU(Module):
    """Elementwise max(x, 0)."""

    def forward(self, x):
        return F.relu(x)


class Tanh(Module):
    """Elementwise tanh."""

    def forward(self, x):
        return F.tanh(x)


class Softmax(Module):
    """Softmax along ``axis`` (default: the last)."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, axis=self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


_DENSE_ACTIVATIONS = (None, "linear", "sigmoid", "relu", "tanh", "softmax")


class Dense(Module):
    """A Keras-style fully connected layer: ``act(x @ kernel + bias)``.

    The kernel (stored as ``weight``, shape (input_dim, units)) starts Glorot-uniform,
    U(-sqrt(6 / (in + units)), +...), the bias at zero, as in Keras. Without
    ``input_dim`` the layer is built at its first call from the input's last dimension.

    Args:
        units: output size. input_dim: input size, or None to infer it.
        activation: None / "linear", "sigmoid", "relu", "tanh" or "softmax".
        use_bias: add a learned bias.
    Raises:
        ShapeError: when called with an input whose last dimension is not input_dim.
    Example:
        >>> model.add(Dense(3, input_dim=2, activation="sigmoid"))
    """

    def __init__(self, units, input_dim=None, activation=None, use_bias=True, dtype=None,
                 device=None):
        super().__init__()
        if activation not in _DENSE_ACTIVATIONS:
            raise ValueError(f"Dense: unknown activation {activation!r}; allowed: "
                             f"{', '.join(repr(a) for a in _DENSE_ACTIVATIONS)}")
        if int(units) <= 0:
            raise ValueError(f"Dense: units must be positive, got {units!r}")
        self.units = int(units)
        self.activation = None if activation == "linear" else activation
        self.use_bias = bool(use_bias)
        self.input_dim = None
        self.weight = None
        self.bias = None
        if device is not None:
            object.__setattr__(self, "_device", backend.normalize_device(device, "Dense"))
        if dtype is not None:
            object.__setattr__(self, "_dtype", backend.resolve_dtype(dtype, "Dense"))
        if input_dim is not None:
            self.build(int(input_dim))

    @property
    def kernel(self):
        """Keras's name for ``weight``."""
        return self.weight

    @property
    def built(self) -> bool:
        return self.weight is not None

    def build(self, input_dim: int, device=None, dtype=None):
        """Create the kernel (Glorot uniform) and the bias (zeros) for ``input_dim`` inputs."""
        dev = device or _module_device(self)
        dt = dtype or _module_dtype(self)
        limit = math.sqrt(6.0 / (input_dim + self.units))
        self.input_dim = int(input_dim)
        self.weight = Parameter(_uniform((input_dim, self.units), limit, dt, dev), device=dev)
        if self.use_bias:
            with backend.cuda_context(dev):
                zeros = backend.xp_of(dev).zeros((self.units,), dtype=dt)
            self.bias = Parameter(zeros, device=dev)

    def _unbuild(self):
        self.input_dim = self.weight = self.bias = None

    def _pending_parameters(self):
        if self.built:
            return {}
        out = {"weight": (None, self.units)}
        if self.use_bias:
            out["bias"] = (self.units,)
        return out

    def _shape_from_state(self, entries):
        for name, arr in entries.items():
            if name.endswith("weight"):
                return int(arr.shape[0])
        raise KeyError("load_state_dict: a lazily-built Dense layer needs its 'weight'")

    def _check(self, x):
        if not self.built:
            if x.ndim == 0:
                raise ShapeError("Dense: cannot infer the input size from a 0-d input")
            dt = x.dtype if backend.is_float(x.dtype) else _module_dtype(self)
            self.build(x.shape[-1], device=x.device, dtype=dt)
        elif x.ndim == 0 or x.shape[-1] != self.input_dim:
            raise ShapeError(f"Dense: input of shape {x.shape} does not match "
                             f"input_dim={self.input_dim} (expected (..., {self.input_dim}))")

    def _as_input(self, x):
        if isinstance(x, Tensor):
            return x
        if self.built:
            return Tensor(x, dtype=self.weight.dtype, device=self.weight.device)
        return Tensor(x, dtype=_module_dtype(self), device=_module_device(self))

    def forward(self, x):
        x = self._as_input(x)
        self._check(x)
        act = self.activation
        if act == "softmax":
            return F.softmax(F.linear(x, self.weight, self.bias), axis=-1)
        return F.linear(x, self.weight, self.bias, act)

    def pre_activation(self, x):
        """``x @ kernel + bias`` without the activation (the logits)."""
        x = self._as_input(x)
        self._check(x)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"units={self.units}, input_dim={self.input_dim}, "
                f"activation={self.activation!r}, use_bias={self.use_bias}")
