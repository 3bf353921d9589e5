"""Layers: :class:`Linear`, the activations (:class:`Sigmoid`, :class:`ReLU`,
:class:`Tanh`, :class:`Softmax`) and the Keras-style, lazily-built :class:`Dense`."""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import functional as F
from ..core.gradmode import state_epoch
from ..core.tensor import Tensor
from ..errors import DTypeError, ShapeError
from . import _keras_init, _keras_regularizers, init
from .module import KerasWeights, Module, Parameter

__all__ = ["ELU", "GELU", "SELU", "Dense", "Embedding", "Flatten", "Hardtanh", "Identity",
           "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "Mish", "ReLU", "ReLU6", "SiLU",
           "Sigmoid", "Softmax", "Softplus", "Softsign", "Tanh"]


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

    def reset_parameters(self):
        """Draw the weight and bias again as the constructor does (U(-1/sqrt(in),
        1/sqrt(in)), ``ge.manual_seed``'s generator), in place, as torch's."""
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        for p in (self.weight, self.bias):
            if p is not None:
                init.uniform_(p, -bound, bound)

    def pre_activation(self, x):
        """``x @ W + b`` without the activation (the logits)."""
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        act = f", activation={self.activation!r}" if self.activation else ""
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}{act}")


class _Elementwise(Module):
    """An elementwise activation; ``inplace`` is accepted as in PyTorch (the result is a
    new tensor either way: gradengine's graph keeps the input)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """Elementwise logistic sigmoid."""

    def forward(self, x):
        return F.sigmoid(x)


class ReLU(_Elementwise):
    """Elementwise max(x, 0)."""

    def forward(self, x):
        return F.relu(x)


class Tanh(Module):
    """Elementwise tanh."""

    def forward(self, x):
        return F.tanh(x)


class Softmax(Module):
    """Softmax along ``dim`` (PyTorch's name; ``axis`` is the NumPy spelling); the last
    axis when neither is given."""

    def __init__(self, dim=None, axis=None):
        super().__init__()
        if dim is not None and axis is not None and dim != axis:
            raise ValueError(f"Softmax: dim={dim} and axis={axis} disagree")
        self.dim = dim if dim is not None else axis
        self.axis = -1 if self.dim is None else int(self.dim)

    def forward(self, x):
        return F.softmax(x, axis=self.axis)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along ``dim`` (the last axis when not given)."""

    def forward(self, x):
        return F.log_softmax(x, axis=self.axis)


class GELU(Module):
    """Elementwise GELU, ``x * Phi(x)`` (``approximate="tanh"``: the tanh form)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(_Elementwise):
    """Elementwise SiLU (swish), ``x * sigmoid(x)``."""

    def forward(self, x):
        return F.silu(x)


class LeakyReLU(Module):
    """Elementwise ``x if x > 0 else negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = float(negative_slope)
        self.inplace = bool(inplace)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class ELU(_Elementwise):
    """Elementwise ``x if x > 0 else alpha (e^x - 1)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = float(alpha)

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(_Elementwise):
    """Elementwise SELU."""

    def forward(self, x):
        return F.selu(x)


class ReLU6(_Elementwise):
    """Elementwise ``min(max(x, 0), 6)``."""

    def forward(self, x):
        return F.relu6(x)


class Hardtanh(_Elementwise):
    """Elementwise clamp to ``[min_val, max_val]``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.min_val, self.max_val = float(min_val), float(max_val)

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else "")


class Softplus(Module):
    """Elementwise ``log(1 + e^(beta x)) / beta`` (linear above ``threshold``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Mish(_Elementwise):
    """Elementwise ``x tanh(softplus(x))``."""

    def forward(self, x):
        return F.mish(x)


class Softsign(Module):
    """Elementwise ``x / (1 + |x|)``."""

    def forward(self, x):
        return F.softsign(x)


class LogSigmoid(Module):
    """Elementwise ``log(sigmoid(x))``."""

    def forward(self, x):
        return F.log_sigmoid(x)


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Flatten axes ``start_dim`` .. ``end_dim`` into one (PyTorch's default keeps the batch
    axis: (N, C, H, W) -> (N, C*H*W))."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        nd = x.ndim
        s = self.start_dim % nd if nd else 0
        e = self.end_dim % nd if nd else 0
        shape = x.shape[:s] + (-1 if x.size else math.prod(x.shape[s:e + 1]),) + \
            x.shape[e + 1:]
        return x.reshape(*shape)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _EmbeddingSizeError(ShapeError, AssertionError):
    """A padding_idx or _weight that does not fit num_embeddings / embedding_dim: a
    ShapeError, and an AssertionError as torch's (its checks are asserts)."""


class Embedding(Module):
    """A lookup table: ``out[..., :] = weight[input[...]]``, weight (num_embeddings,
    embedding_dim) drawn from N(0, 1) as in PyTorch; the ``padding_idx`` row starts at zero
    and gets no gradient. With ``max_norm``, every row a call looks up whose
    ``norm_type``-norm exceeds ``max_norm`` is first scaled in place (without a gradient) to
    ``max_norm / (norm + 1e-7)`` times itself, as ``torch.nn.Embedding`` does.

    Example:
        >>> emb = nn.Embedding(10, 3); emb(ge.tensor([[1, 2], [4, 5]])).shape  # (2, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None,
                 max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False,
                 _weight=None, _freeze=False, dtype=None, device=None):
        super().__init__()
        if scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: scale_grad_by_freq and sparse are not "
                                      "supported")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = False, False
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise _EmbeddingSizeError(f"Embedding: padding_idx {padding_idx} is out of "
                                          f"range for {self.num_embeddings} embeddings "
                                          "(Padding_idx must be within num_embeddings)")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        dev = backend.normalize_device(device, "Embedding") if device is not None else \
            backend.get_default_device()
        init = _keras_init.RandomNormal(0.0, 1.0)
        w = init((self.num_embeddings, self.embedding_dim), dtype, dev)
        if _weight is not None:
            w = backend.to_device_array(_weight.data if isinstance(_weight, Tensor) else
                                        _weight, dev)
            if tuple(w.shape) != (self.num_embeddings, self.embedding_dim):
                raise _EmbeddingSizeError(f"Embedding: _weight of shape {tuple(w.shape)} is "
                                          f"not ({self.num_embeddings}, "
                                          f"{self.embedding_dim})")
            w = w.astype(w.dtype, copy=True)
        elif padding_idx is not None:
            w[padding_idx] = 0
        self.weight = Parameter(w, device=dev, requires_grad=not _freeze)

    def reset_parameters(self):
        """Draw the weight again from N(0, 1), the ``padding_idx`` row zero, as torch's."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype="int64", device=self.weight.device)
        if x.dtype.kind not in "iu":
            raise DTypeError(f"Embedding: indices must be integers, got {x.dtype}")
        return F.embedding(x, self.weight, padding_idx=self.padding_idx,
                           max_norm=self.max_norm, norm_type=self.norm_type)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, **kwargs):
        """An Embedding holding ``embeddings`` (num_embeddings, embedding_dim), frozen
        unless ``freeze=False``, as ``torch.nn.Embedding.from_pretrained``."""
        arr = embeddings.data if isinstance(embeddings, Tensor) else embeddings
        rows, cols = arr.shape
        return cls(rows, cols, padding_idx=padding_idx, _weight=embeddings, _freeze=freeze,
                   **kwargs)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        return s


# Keras' further activation names (celu, glu, hard_tanh, ...): gradengine.keras fills this
# when imported (nn does not import keras)
EXTRA_ACTIVATIONS = {}


def _activation_fn(name):
    """``fn(tensor) -> tensor`` for a Keras activation name (or a callable, returned)."""
    if callable(name):
        return name
    table = {
        "relu": F.relu, "sigmoid": F.sigmoid, "tanh": F.tanh,
        "softmax": lambda x: F.softmax(x, axis=-1),
        "log_softmax": lambda x: F.log_softmax(x, axis=-1),
        "gelu": lambda x: F.gelu(x, approximate="none"),
        "silu": lambda x: F.silu(x), "swish": lambda x: F.silu(x),
        "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
        "exponential": F.exp, "linear": lambda x: x,
        "elu": lambda x: F.elu(x, 1.0), "selu": F.selu, "softplus": F.softplus,
        "softsign": F.softsign, "relu6": F.relu6, "mish": F.mish,
        "log_sigmoid": F.log_sigmoid,
        # Keras 3's hard_sigmoid: relu6(x + 3) / 6; hard_silu: x * hard_sigmoid(x)
        "hard_sigmoid": lambda x: F.relu6(x + 3.0) / 6.0,
        "hard_silu": lambda x: x * (F.relu6(x + 3.0) / 6.0),
        "hard_swish": lambda x: x * (F.relu6(x + 3.0) / 6.0),
    }
    fn = table.get(name) or EXTRA_ACTIVATIONS.get(name)
    if fn is None:
        raise ValueError(f"unknown activation {name!r}; allowed: "
                         f"{', '.join(repr(k) for k in [None, *table, *EXTRA_ACTIVATIONS])} "
                         "or a callable")
    return fn


class NamedActivation(str):
    """An activation by name that is also the function (what Keras' ``layer.activation``
    gives): ``act(x)`` applies it, ``act.__name__`` and ``act == "relu"`` name it."""

    __slots__ = ()

    @property
    def __name__(self):  # noqa: PLW3201 - the function's name, as Keras' activations
        return str(self)

    def __call__(self, x):
        return x if str(self) == "linear" else _activation_fn(str(self))(x)


# Keras' Dense arguments that are accepted when left at their defaults (None)
_KERAS_UNSUPPORTED = ("kernel_constraint", "bias_constraint", "lora_rank", "lora_alpha")

ACTIVATION_NAMES = (None, "linear", "sigmoid", "relu", "tanh", "softmax", "log_softmax",
                    "gelu", "silu", "swish", "leaky_relu", "exponential", "elu", "selu",
                    "softplus", "softsign", "relu6", "mish", "log_sigmoid", "hard_sigmoid",
                    "hard_silu", "hard_swish")


class Dense(KerasWeights, Module):
    """A Keras-style fully connected layer: ``act(x @ kernel + bias)``.

    The kernel (stored as ``weight``, shape (input_dim, units)) starts Glorot-uniform and
    the bias at zero, as in Keras. Without ``input_dim`` (or ``input_shape``) the layer is
    built at its first call from the input's last dimension. An input of another dtype
    (an int64 array, say) is cast to the layer's dtype, as Keras does.

    Args:
        units: output size.
        activation: None / "linear", "sigmoid", "relu", "tanh", "softmax", "gelu",
            "silu" / "swish", "leaky_relu", "exponential", or a callable on Tensors.
        use_bias: add a learned bias.
        kernel_initializer, bias_initializer: Keras initializer names or objects
            (:mod:`gradengine.keras.initializers`).
        kernel_regularizer, bias_regularizer: penalties on the weights added to the Keras
            training loss (:mod:`gradengine.keras.regularizers`, or "l1" / "l2").
        activity_regularizer: a penalty on the output (divided by the batch size).
        input_dim: input size, or None to infer it. input_shape: Keras' form, ``(in,)``.
        name: the layer's name (as shown by ``summary``).
    Raises:
        ShapeError: when called with an input whose last dimension is not input_dim.
    Example:
        >>> model.add(Dense(3, input_dim=2, activation="sigmoid"))
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 input_dim=None, input_shape=None, name=None, dtype=None, device=None,
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 **kwargs):
        super().__init__()
        if isinstance(activation, (int,)) and not isinstance(activation, bool) and \
                input_dim is None:
            # the seed's positional form Dense(units, input_dim, ...) of earlier versions
            activation, input_dim = None, activation
        if not callable(activation) and activation not in ACTIVATION_NAMES and \
                activation not in EXTRA_ACTIVATIONS:
            raise ValueError(f"Dense: unknown activation {activation!r}; allowed: "
                             f"{', '.join(repr(a) for a in ACTIVATION_NAMES)}, "
                             f"{', '.join(repr(a) for a in EXTRA_ACTIVATIONS)} or a "
                             "callable")
        unknown = set(kwargs) - {"trainable"} - set(_KERAS_UNSUPPORTED)
        if unknown:
            raise TypeError(f"Dense: unexpected keyword arguments {sorted(unknown)}")
        given = sorted(k for k in _KERAS_UNSUPPORTED[2:] if kwargs.get(k) not in (None, 0))
        if given:  # (kernel_constraint / bias_constraint: applied by the Keras fit)
            raise NotImplementedError(f"Dense: {', '.join(given)} are not supported (LoRA)")
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            # -- kssuite: Keras' check and wording
            raise ValueError(f"Dense: Received an invalid value for `units`, expected a "
                             f"positive integer. Received: units={units}")
        object.__setattr__(self, "_constraint_specs", (kwargs.get("kernel_constraint"),
                                                       kwargs.get("bias_constraint")))
        self.units = int(units)
        self._activation = None if activation == "linear" else activation
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _keras_init.get(kernel_initializer)
        self.bias_initializer = _keras_init.get(bias_initializer)
        self.kernel_regularizer = _keras_regularizers.get(kernel_regularizer)
        self.bias_regularizer = _keras_regularizers.get(bias_regularizer)
        self.activity_regularizer = _keras_regularizers.get(activity_regularizer)
        self.name = name
        self.input_dim = None
        self.weight = None
        self.bias = None
        if input_shape is not None:
            input_shape = tuple(input_shape)
            if input_dim is not None and input_shape[-1] != input_dim:
                raise ValueError(f"Dense: input_shape={input_shape} and input_dim={input_dim} "
                                 "disagree")
            input_dim = input_shape[-1]
        self.input_shape = input_shape if input_shape is not None else (
            (int(input_dim),) if input_dim is not None else None)
        if device is not None:
            object.__setattr__(self, "_device", backend.normalize_device(device, "Dense"))
        if dtype is not None:
            object.__setattr__(self, "_dtype", backend.resolve_dtype(dtype, "Dense"))
        if input_dim is not None:
            self.build(int(input_dim))
        if not kwargs.get("trainable", True):
            self.trainable = False

    _keras_names = {"weight": "kernel"}  # the weight's Keras name (``model.weights``)

    @property
    def kernel(self):
        """Keras's name for ``weight``."""
        return self.weight

    @property
    def built(self) -> bool:
        return self.weight is not None

    def build(self, input_dim, device=None, dtype=None):
        """Create the kernel and the bias for ``input_dim`` inputs (an int, or Keras'
        input shape tuple)."""
        if isinstance(input_dim, (tuple, list)):
            input_dim = input_dim[-1]
        dev = device or _module_device(self)
        dt = dtype or _module_dtype(self)
        self.input_dim = int(input_dim)
        self.weight = Parameter(self.kernel_initializer((self.input_dim, self.units), dt, dev),
                                device=dev)
        if self.use_bias:
            self.bias = Parameter(self.bias_initializer((self.units,), dt, dev), device=dev)
        kc, bc = self.__dict__.get("_constraint_specs", (None, None))  # -- kssuite
        if kc is not None:
            self.weight.constraint = kc
        if bc is not None and self.bias is not None:
            self.bias.constraint = bc

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

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
                             f"input_dim={self.input_dim} (expected (..., {self.input_dim}));"
                             " the input is incompatible with the layer")  # -- kssuite

    def _as_input(self, x):
        if not isinstance(x, Tensor):
            if self.built:
                return Tensor(x, dtype=self.weight.dtype, device=self.weight.device)
            return Tensor(x, dtype=_module_dtype(self), device=_module_device(self))
        self._check(x)
        if x.dtype != self.weight.dtype:
            x = x.astype(self.weight.dtype)  # Keras casts inputs to the layer's dtype
        return x

    @property
    def activation(self):
        """The activation as Keras gives it: a callable named by its function
        (``dense.activation.__name__ == "relu"``; ``"linear"`` when none), equal to its name
        (``== "relu"``); a callable given is returned as it is."""
        act = self.__dict__.get("_activation")
        if act is not None and not isinstance(act, str):
            return act
        return NamedActivation(act or "linear")

    @activation.setter
    def activation(self, value):  # (Keras' idiom: model.layers[-1].activation = linear)
        if isinstance(value, NamedActivation):
            value = str(value)
        self.__dict__["_activation"] = None if value in ("linear", None) else value
        state_epoch[0] += 1  # a ge.jit program of the old activation is stale

    def forward(self, x, training=None):
        """``act(x @ kernel + bias)``; ``training`` is accepted as on every Keras layer, and
        a Keras mask on ``x`` passes on to the output (Keras' Dense supports masking)."""
        mask = getattr(x, "_keras_mask", None)
        x = self._as_input(x)
        self._check(x)
        act = self.__dict__.get("_activation")
        if act is None or act in ("sigmoid", "relu", "tanh"):
            out = F.linear(x, self.weight, self.bias, act)
        else:
            out = _activation_fn(act)(F.linear(x, self.weight, self.bias))
        if self.activity_regularizer is not None:
            _keras_regularizers.record_activity(self.activity_regularizer, out)
        if mask is not None:
            out._keras_mask = mask
        return out

    def pre_activation(self, x):
        """``x @ kernel + bias`` without the activation (the logits)."""
        x = self._as_input(x)
        self._check(x)
        return F.linear(x, self.weight, self.bias)

    def get_config(self):
        cfg = super().get_config()
        for k in ("kernel_initializer", "bias_initializer"):
            if k in cfg:
                cfg[k] = _keras_init.serialize(cfg[k])
        for k in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            cfg[k] = _keras_regularizers.serialize(getattr(self, k))
        cfg.pop("device", None)
        if self.built:
            cfg["input_dim"] = self.input_dim
            cfg["input_shape"] = None
        return cfg

    def extra_repr(self):
        act = self.__dict__.get("_activation")
        act = act if act is None or isinstance(act, str) else \
            getattr(act, "__name__", "callable")
        return (f"units={self.units}, input_dim={self.input_dim}, "
                f"activation={act!r}, use_bias={self.use_bias}")


# ---------------------------------------------------------------- PyTorch's other activations

class _Functional(Module):
    """An activation module: ``F.<fn>(x, **its keywords)`` (``inplace`` accepted and
    ignored, as for the classes above)."""

    fn = None
    defaults: dict = {}

    def __init__(self, *args, inplace=False, **kwargs):
        super().__init__()
        names = list(self.defaults)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__}: at most {len(names)} positional "
                            f"arguments, got {len(args)}")
        kw = dict(self.defaults)
        kw.update(zip(names, args))
        for k, v in kwargs.items():
            if k not in kw:
                raise TypeError(f"{type(self).__name__}: unexpected keyword {k!r}")
            kw[k] = v
        self.kwargs = kw

    def forward(self, x):
        return getattr(F, self.fn)(x, **self.kwargs)

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self.kwargs.items())


def _activation(name, fn, doc, **defaults):
    return type(name, (_Functional,), {"fn": fn, "defaults": defaults, "__doc__": doc})


CELU = _activation("CELU", "celu", "Elementwise CELU.", alpha=1.0)
Hardswish = _activation("Hardswish", "hardswish", "Elementwise x * hardsigmoid(x).")
Hardsigmoid = _activation("Hardsigmoid", "hardsigmoid", "Elementwise clamp(x / 6 + 1/2, 0, 1).")
Tanhshrink = _activation("Tanhshrink", "tanhshrink", "Elementwise x - tanh(x).")
Threshold = _activation("Threshold", "threshold", "x where x > threshold, else value.",
                        threshold=0.0, value=0.0)
GLU = _activation("GLU", "glu", "The first half times the sigmoid of the second.", dim=-1)
Softmin = _activation("Softmin", "softmin", "softmax(-x) along dim.", dim=-1)


class PReLU(Module):
    """x where x > 0, else a * x, with a learnable ``a`` (one, or one per channel)."""

    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        self.num_parameters, self.init = int(num_parameters), init
        self.weight = Parameter(Tensor([init] * num_parameters))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def reset_parameters(self):
        """Every slope back to ``init``, as the constructor set it."""
        init.constant_(self.weight, self.init)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class CosineSimilarity(Module):
    """``F.cosine_similarity(x1, x2, dim, eps)`` as ``torch.nn.CosineSimilarity``."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``F.pairwise_distance(x1, x2, p, eps, keepdim)`` as ``torch.nn.PairwiseDistance``."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class Softshrink(Module):
    """``F.softshrink(x, lambd)``."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return F.softshrink(x, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(Softshrink):
    """``F.hardshrink(x, lambd)``."""

    def forward(self, x):
        return F.hardshrink(x, self.lambd)
