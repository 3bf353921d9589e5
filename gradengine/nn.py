"""Neural-network building blocks: Module, Parameter, Linear, activations, Sequential, Dense.

``Sequential`` also carries the Keras-style training loop (compile / fit / evaluate /
predict, from :mod:`gradengine.keras`), so the classic example runs as written:

    from gradengine.nn import Sequential, Dense
    model = Sequential()
    model.add(Dense(3, input_dim=2, activation="sigmoid"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    history = model.fit(X, y, epochs=50)
"""

from __future__ import annotations

import math

import numpy as np

from . import autograd, backend
from . import functional as F
from .errors import ShapeError
from .keras import KerasModel
from .tensor import Tensor

__all__ = [
    "Dense",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


class Parameter(Tensor):
    """A leaf Tensor that a Module registers as trainable (``requires_grad=True``).

    Example:
        >>> w = nn.Parameter(ge.randn(3, 2))
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None, device=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models.

    Parameters and sub-modules are registered by attribute assignment
    (``self.fc = Linear(2, 3)``; ``self.w = Parameter(...)``), in that order. Calling a
    module runs its ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            Module.__init__(self)
        params, mods = d["_parameters"], d["_modules"]
        params.pop(name, None)
        mods.pop(name, None)
        if isinstance(value, Parameter):
            params[name] = value
        elif isinstance(value, Module):
            mods[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = ""):
        """(name, module) for this module and every descendant, pre-order, iteratively."""
        stack = [(prefix, self)]
        seen = set()
        while stack:
            name, mod = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield name, mod
            children = list(mod.__dict__.get("_modules", {}).items())
            for child_name, child in reversed(children):
                stack.append((f"{name}.{child_name}" if name else child_name, child))

    def children(self):
        return iter(self.__dict__.get("_modules", {}).values())

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = ""):
        """(dotted name, Parameter) pairs: ``("0.weight", p)``; shared parameters once."""
        seen = set()
        for mod_name, mod in self.named_modules(prefix):
            for name, p in mod.__dict__.get("_parameters", {}).items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self):
        """Every trainable Parameter, in registration order (a list)."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter."""
        autograd.log_host_call(self.zero_grad, set_to_none)
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor._make(backend.xp_of(p.device).zeros_like(p.data), p.device)

    def train(self, mode: bool = True):
        """Set training mode on this module and every descendant; returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """``{name: numpy array copy}`` for every parameter (host copies, also from CUDA)."""
        return {name: _host_copy(p.data) for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from ``state_dict`` into the parameters, all or nothing.

        Every key and shape is checked before anything is written, so on error the model
        is unchanged. Values may be NumPy/CuPy arrays, Tensors or nested lists; they are
        converted to each parameter's dtype and device. Lazily-built layers (``Dense``
        without ``input_dim``) are built from the saved shapes.

        Args:
            state_dict: ``{name: array}`` as returned by :meth:`state_dict` or ``ge.load``.
            strict: require exactly the model's keys (else missing/extra keys are skipped).
        Returns:
            ``(missing_keys, unexpected_keys)`` (both empty when strict).
        Raises:
            KeyError: naming every missing and every unexpected key (strict only).
            ShapeError: naming every key whose shape differs, with both shapes.
        """
        own = dict(self.named_parameters())
        lazy = {}  # name -> (layer, expected shape with None for the unknown input size)
        for mod_name, mod in self.named_modules():
            for pname, shape in getattr(mod, "_pending_parameters", dict)().items():
                lazy[f"{mod_name}.{pname}" if mod_name else pname] = (mod, shape)
        expected = set(own) | set(lazy)
        given = set(state_dict)
        missing = sorted(expected - given)
        unexpected = sorted(given - expected)
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"load_state_dict: {' and '.join(parts)} (the model's keys are "
                           f"{sorted(expected)})")
        arrays = {}
        bad = []
        for name in sorted(expected & given):
            arr = _as_array(state_dict[name])
            if name in own:
                want = own[name].shape
                ok = tuple(arr.shape) == want
            else:
                want = lazy[name][1]
                ok = len(arr.shape) == len(want) and all(
                    w is None or w == s for w, s in zip(want, arr.shape))
            if not ok:
                bad.append(f"{name!r}: checkpoint {tuple(arr.shape)} vs model "
                           f"{tuple(want)}")
            arrays[name] = arr
        if bad:
            raise ShapeError("load_state_dict: shape mismatch for " + "; ".join(bad))
        pending = {}
        for name, (layer, _) in lazy.items():
            if name in arrays:
                pending.setdefault(id(layer), (layer, {}))[1][name] = arrays[name]
        builds = []
        for layer, entries in pending.values():
            builds.append((layer, layer._shape_from_state(entries)))
        # Convert everything first (a bad dtype fails here, before any write) ...
        commits = []
        for name, p in own.items():
            if name in arrays:
                commits.append((p, _converted(arrays[name], p.dtype, p.device)))
        # ... then build the lazy layers and write, restoring the old arrays on any error.
        done = []
        try:
            for layer, in_features in builds:
                layer.build(in_features)
                prefix = next(n for n, m in self.named_modules() if m is layer)
                for pname, p in layer._parameters.items():
                    key = f"{prefix}.{pname}" if prefix else pname
                    if key in arrays:
                        commits.append((p, _converted(arrays[key], p.dtype, p.device)))
            for p, arr in commits:
                done.append((p, p.data))
                p.data = arr
                p._version += 1
        except BaseException:
            for p, old in reversed(done):
                p.data = old
            for layer, _ in builds:
                layer._unbuild()
            raise
        return missing, unexpected

    def to(self, device=None, dtype=None):
        """Move every parameter (and gradient) to ``device`` and/or cast to ``dtype``, in
        place (the Parameter objects stay the same); returns self."""
        dev = backend.normalize_device(device, "to") if device is not None else None
        dt = backend.resolve_dtype(dtype, "to") if dtype is not None else None
        for m in self.modules():
            if dev is not None:
                object.__setattr__(m, "_device", dev)
            if dt is not None:
                object.__setattr__(m, "_dtype", dt)
        for p in self.parameters():
            for t in (p, p.grad):
                if t is None:
                    continue
                arr = t.data
                if dev is not None and dev != t.device:
                    arr = backend.to_device_array(arr, dev)
                    t.device = dev
                if dt is not None and arr.dtype != dt:
                    arr = arr.astype(dt)
                if arr is not t.data:
                    t.data = arr
                    t._version += 1
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index: int = 0):
        return self.to(f"cuda:{index}")

    def double(self):
        return self.to(dtype="float64")

    def float(self):
        return self.to(dtype="float32")

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        mods = self.__dict__.get("_modules", {})
        if not mods:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, m in mods.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


def _host_copy(arr):
    return arr.copy() if isinstance(arr, np.ndarray) else backend.cupy().asnumpy(arr)


def _as_array(v):
    if isinstance(v, Tensor):
        return v.data
    if isinstance(v, np.ndarray) or (backend.cupy() is not None and
                                     isinstance(v, backend.cupy().ndarray)):
        return v
    return np.asarray(v)


def _converted(arr, dtype, device):
    """A fresh array of ``dtype`` on ``device`` holding ``arr``'s values (never aliased)."""
    out = backend.to_device_array(arr, device)
    return out.astype(dtype, copy=out is arr or out.dtype != dtype)


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


class Sequential(KerasModel, Module):
    """Layers applied in order; a Module with the Keras training loop.

    Iterable and indexable (``model[0]``, ``model[1:]``), ``len(model)``, ``model.layers``
    is the list; :meth:`add` appends. See :class:`gradengine.keras.KerasModel` for
    ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 8, activation="tanh"), nn.Linear(8, 1))
    """

    def __init__(self, *layers):
        Module.__init__(self)
        object.__setattr__(self, "layers", [])
        KerasModel.__init__(self)
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            self.add(layer)

    def add(self, layer):
        """Append a layer (any Module)."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add: expected a Module (layer), got "
                            f"{type(layer).__name__}")
        if isinstance(layer, Dense) and not layer.built and self.layers:
            # As in Keras: when the width feeding the new layer is known, build it now, so
            # that model.parameters() (and an optimizer made from it) is complete at once.
            width, ref = self._output_width()
            if width is not None:
                layer.build(width, device=ref.device, dtype=ref.dtype)
        setattr(self, str(len(self.layers)), layer)
        self.layers.append(layer)
        self._invalidate()
        return self

    def _output_width(self):
        """(last-axis size of the model's output, a parameter to copy device and dtype
        from), or (None, None) when it cannot be known before a call."""
        for layer in reversed(self.layers):
            if isinstance(layer, Dense):
                return (layer.units, layer.weight) if layer.built else (None, None)
            if isinstance(layer, Linear):
                return layer.out_features, layer.weight
            if not isinstance(layer, (Sigmoid, ReLU, Tanh, Softmax)):
                return None, None
        return None, None

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def split_activation(self):
        """``(forward_to_logits, activation)`` when the last layer ends in a sigmoid or a
        softmax over the last axis, else ``(None, None)``; used to compute the
        cross-entropies from logits."""
        if not self.layers:
            return None, None
        last = self.layers[-1]
        body = [layer.forward for layer in self.layers[:-1]]
        act = None
        head = None
        if isinstance(last, (Dense, Linear)) and last.activation in ("sigmoid", "softmax"):
            act, head = last.activation, last.pre_activation
        elif isinstance(last, Sigmoid):
            act = "sigmoid"
        elif isinstance(last, Softmax) and last.axis in (-1,):
            act = "softmax"
        if act is None:
            return None, None
        if head is not None:
            body.append(head)

        def logits(x):
            for f in body:
                x = f(x)
            return x
        return logits, act

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(*self.layers[idx])
        return self.layers[idx]
