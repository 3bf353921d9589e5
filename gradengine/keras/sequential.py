"""The :class:`Sequential` container: layers applied in order, with the Keras training loop
of :class:`gradengine.keras.KerasModel` (compile / fit / evaluate / predict / save)."""

from __future__ import annotations

import weakref

import numpy as np

from .. import backend
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn.layers import Dense, Embedding, Linear, Sigmoid, Softmax
from ..nn.module import Module, keras_uid
from . import masking as _masking
from . import symbolic
from .model import KerasModel

__all__ = ["Sequential"]


class Sequential(KerasModel, Module):
    """Layers applied in order; a Module with the Keras training loop.

    ``Sequential(layer, layer, ...)`` or ``Sequential(OrderedDict(name=layer, ...))``
    (PyTorch; the names are the state dict's prefixes, else the positions) or
    ``Sequential([layers], name=...)`` (Keras). Iterable and indexable (``model[0]``,
    ``model[1:]``, ``model[i] = layer``, ``del model[i]``), ``len(model)``,
    ``model.layers`` is the list; :meth:`add` / :meth:`append` append, :meth:`extend`,
    :meth:`insert`, and :meth:`pop` removes the last (or the ``i``-th).
    When the input shape is known -- an ``Input(shape=...)`` first, or a first layer with
    ``input_shape`` / ``input_dim`` (or an ``nn.Linear``) -- every layer is built as it is
    added, so ``parameters()`` and ``summary()`` are complete at once; otherwise at the
    first call. See :class:`gradengine.keras.KerasModel` for the training methods.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 8, activation="tanh"), nn.Linear(8, 1))
    """

    def __init__(self, *layers, name=None, trainable=True, **kwargs):
        if "layers" in kwargs:  # -- kssuite: Keras' Sequential(layers=[...])
            if layers:
                raise TypeError("Sequential: layers given twice")
            layers = (kwargs.pop("layers") or [],)
        if kwargs:
            raise TypeError(f"Sequential: unexpected keyword arguments {sorted(kwargs)}")
        Module.__init__(self)
        object.__setattr__(self, "_layers", [])
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_input_shape", None)   # per sample, when known
        object.__setattr__(self, "_input_dtype", None)
        object.__setattr__(self, "_names", [])  # each layer's attribute (state dict prefix)
        KerasModel.__init__(self)
        if len(layers) == 1 and isinstance(layers[0], dict):  # PyTorch's OrderedDict form
            for key, layer in layers[0].items():
                self._add(layer, str(key))
        else:
            if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
                layers = tuple(layers[0])
            for layer in layers:
                self._add(layer, None)
        self._keras_rebuilt()

    def _keras_rebuilt(self):
        """Keras makes a functional model inside a Sequential whose input shape is known,
        again each time its layers change: each takes a "functional" default name, which
        the functional models made later count past (``functional_1`` ...); the same
        counting here keeps every default name as Keras gives it."""
        if self._input_shape is not None and self.layers:
            keras_uid("functional")

    @property
    def layers(self) -> list:
        """The layers, in order (an ``Input`` is not one of them, as in Keras)."""
        return self.__dict__["_layers"]

    @layers.setter
    def layers(self, _):  # -- kssuite: Keras' error
        raise AttributeError("`Sequential.layers` attribute is reserved and should not be "
                             "used. Use `add()` and `pop()` to change the layers in this "
                             "model.")

    # ------------------------------------------------------------ structure
    def add(self, layer):
        """Append a layer (any Module); with a known input shape it is built at once.

        Raises:
            TypeError: not a Module. ShapeError: the layer does not fit the output of the
                layers before it (the model is left as it was).
        """
        self._add(layer, None)
        self._keras_rebuilt()
        return self

    def append(self, module):
        """Append ``module`` (PyTorch's ``Sequential.append``); returns the model."""
        return self._add(module, None)

    def extend(self, modules):
        """Append every module of ``modules`` in order; returns the model."""
        for m in modules:
            self._add(m, None)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (PyTorch's ``Sequential.insert``);
        the layers after it move up one position (and their positional names with them)."""
        if not isinstance(module, Module):  # PyTorch raises AssertionError: both here
            raise _NotAModule(f"Sequential.insert: expected a Module, got "
                              f"{type(module).__name__}")
        n = len(self.layers)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for "
                             f"{n} layers")
        index = index + n if index < 0 else index  # PyTorch's: -1 goes before the last
        layers = list(self.layers)
        names = list(self._names)
        layers.insert(index, module)
        names.insert(index, None)
        self._rename(layers, names)
        return self

    def __setitem__(self, idx, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        layers = list(self.layers)
        layers[idx] = module
        self._rename(layers, list(self._names))

    def __delitem__(self, idx):
        layers, names = list(self.layers), list(self._names)
        del layers[idx]
        del names[idx]
        self._rename(layers, names)

    def _rename(self, layers, names):
        """Register ``layers`` anew under ``names`` (None or a number: the position)."""
        for name in self._names:
            delattr(self, name)
        self.layers.clear()
        self._names.clear()
        for layer, name in zip(layers, names):
            keep = name is not None and not name.isdigit()
            self._add(layer, name if keep else None)

    def _add(self, layer, name):
        from ..keras.layers import InputLayer
        from ..keras.symbolic import KerasTensor
        if isinstance(layer, KerasTensor) and isinstance(getattr(layer._node, "layer", None),
                                                         InputLayer):
            layer = layer._node.layer  # keras.Input(...): its InputLayer, as Keras
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add: expected a Module (layer), got "
                            f"{type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if "_input_layer" in self.__dict__:  # -- kssuite: Keras' check and wording
                raise ValueError(f"Sequential model {self._display_name()!r} has already "
                                 f"been configured to use input shape "
                                 f"{self._input_shape}. You cannot add a different Input "
                                 f"layer to it.")
            if self.layers:
                raise ValueError("Sequential.add: an Input must come first")
            object.__setattr__(self, "_input_shape", tuple(layer.input_shape))
            object.__setattr__(self, "_input_dtype", layer.__dict__.get("_dtype"))
            object.__setattr__(self, "_input_layer", layer)  # its tensor is model.input
            return self
        if not self.layers and self._input_shape is None:
            shape = _declared_input_shape(layer)
            if shape is not None:
                object.__setattr__(self, "_input_shape", shape)
        from ..nn.module import KerasWeights
        if isinstance(layer, KerasWeights) and "_keras_name" in layer.__dict__ and any(
                o is not layer and isinstance(o, KerasWeights) and
                o.__dict__.get("_keras_name") == layer.name for o in self.layers):
            # -- kssuite: Keras' unique names (the same layer twice stays PyTorch's sharing)
            raise ValueError(f"All layers added to a Sequential model should have unique "
                             f"names. Name {layer.name!r} is already the name of a layer in "
                             f"this model. Update the `name` argument to pass a unique name.")
        name = str(len(self.layers)) if name is None else name
        if name in self._names:
            raise KeyError(f"Sequential: a layer is already named {name!r}")
        setattr(self, name, layer)
        self.layers.append(layer)
        self._names.append(name)
        # the layer asks this model for its graph when its symbolic output is first read
        layer.__dict__.setdefault("_keras_parents", []).append(weakref.ref(self))
        try:
            if self._input_shape is not None and not _built(layer):
                self._build_from_shape(self._input_shape)
        except BaseException:
            self.layers.pop()
            delattr(self, self._names.pop())
            raise
        self._invalidate()
        return self

    def pop(self, index=-1):
        """Remove and return the last layer (Keras' ``model.pop()``), or the ``index``-th
        (PyTorch's ``Sequential.pop(i)``).

        Raises:
            IndexError: the model has no layers.
        """
        if not self.layers:
            raise IndexError("Sequential.pop: the model has no layers")
        layer = self.layers[index]
        if index in (-1, len(self.layers) - 1):
            self.layers.pop()
            delattr(self, self._names.pop())
        else:
            del self[index]
        self._invalidate()
        self._keras_rebuilt()
        if isinstance(self.__dict__.get("_opt_spec"), str):
            self.optimizer = None  # made again for the remaining parameters at the next fit
        return layer

    def build(self, input_shape=None):
        """Build every layer for inputs of ``input_shape`` (Keras' form with the batch
        axis, ``(None, 4)``, or without it)."""
        if input_shape is None:
            input_shape = self._input_shape
            if input_shape is None:
                raise ValueError("Sequential.build: give the input shape, e.g. "
                                 "model.build((None, 4))")
        shape = tuple(input_shape)
        if shape and shape[0] is None:
            shape = shape[1:]
        given = self.__dict__.get("_input_layer")
        if given is not None and shape != self._input_shape:
            # -- kssuite: Keras' build(shape with the batch axis) against its Input
            if shape[1:] != self._input_shape:
                raise ValueError(f"Sequential model {self._display_name()!r} has already "
                                 f"been configured to use input shape "
                                 f"{(None,) + self._input_shape}. You cannot build it with "
                                 f"input_shape {tuple(input_shape)}")
            shape = shape[1:]
        self._build_from_shape(shape)
        known = self._input_shape is not None
        object.__setattr__(self, "_input_shape", shape)
        if not known:
            self._keras_rebuilt()

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(_built(layer) for layer in self.layers)

    # ------------------------------------------------------------ the symbolic graph
    def _symbolic(self):
        """``(input, output)``: the model's layers called on a ``keras.Input`` of its input
        shape (Keras' functional form of a built Sequential), made when first asked and
        again after the layers change; None while the input shape is unknown."""
        layers = tuple(self.layers)
        sym = self.__dict__.get("_sym")
        if sym is not None and sym[0] == layers and sym[1] == self._input_shape:
            return sym[2], sym[3]
        if self._input_shape is None or not layers:
            return None
        from ..keras.layers import Input
        if sym is not None:  # the nodes of the earlier graph leave their layers
            for layer, node in sym[4]:
                nodes = layer.__dict__.get("_inbound_nodes", [])
                if node in nodes:
                    nodes.remove(node)
        given = self.__dict__.get("_input_layer")
        inp = given.output if given is not None else \
            Input(shape=self._input_shape, dtype=self._input_dtype)
        x, made = inp, []
        for layer in layers:
            x = layer(x)
            made.append((layer, layer.__dict__["_inbound_nodes"][-1]))
        object.__setattr__(self, "_sym", (layers, self._input_shape, inp, x, made))
        return inp, x

    def _symbolic_or_raise(self, what):
        sym = self._symbolic()
        if sym is None:
            raise AttributeError(f"Sequential model {self._display_name()!r} has no defined "
                                 f"{what} yet: give it an Input (or input_shape=) or call "
                                 "it on data first")
        return sym

    @property
    def input_shape(self) -> tuple:
        """Keras' ``model.input_shape``: ``(None, *per-sample shape)``."""
        return tuple(self._symbolic_or_raise("input_shape")[0].shape)

    @property
    def output_shape(self) -> tuple:
        return tuple(self._symbolic_or_raise("output_shape")[1].shape)

    @property
    def inputs(self) -> list:
        """The symbolic inputs (a list of one), once the input shape is known."""
        return [self._symbolic_or_raise("inputs")[0]]

    @property
    def outputs(self) -> list:
        return [self._symbolic_or_raise("outputs")[1]]

    @property
    def input(self):
        if "input" in self.__dict__:
            return self.__dict__["input"]
        if self.__dict__.get("_inbound_nodes"):  # called inside another model: that call's
            return self._node_attribute("inputs", "input")  # (Keras' feature extractor idiom)
        return self._symbolic_or_raise("input")[0]

    @input.setter
    def input(self, value):
        self.__dict__["input"] = value

    @property
    def output(self):
        if "output" in self.__dict__:
            return self.__dict__["output"]
        if self.__dict__.get("_inbound_nodes"):  # called inside another model: that call's
            return self._node_attribute("outputs", "output")
        return self._symbolic_or_raise("output")[1]

    @output.setter
    def output(self, value):
        self.__dict__["output"] = value

    def _probe_input(self, shape, which=0):
        """Zeros of one sample of per-sample ``shape`` (unknown sizes: see
        symbolic.PROBE_SIZES)."""
        shape = symbolic.probe_shape((None,) + tuple(shape), which)
        device, dtype = self._model_place()
        if self.layers and isinstance(self.layers[0], Embedding) or \
                type(self.layers[0]).__name__ == "Embedding" or self._input_dtype is not None \
                and np.dtype(self._input_dtype).kind in "iu":
            dtype = np.int64
        with backend.cuda_context(device):
            arr = backend.xp_of(device).zeros(shape, dtype=dtype)
        return Tensor._make(arr, device)

    def _layer_shapes(self, shape):
        """Each layer's output shape (per sample) for inputs of ``shape``, by a forward of
        zeros without a graph, in eval mode (BatchNorm statistics do not move; two forwards
        of different lengths when a size is None, which stays None where it matters);
        builds lazy layers."""
        runs = []
        for which in range(2 if symbolic.has_free_size((None,) + tuple(shape)) else 1):
            shapes = []
            with self.in_mode(False), no_grad(), _masking.probing():  # -- kmask
                x = self._probe_input(shape, which)
                for layer in self.layers:
                    x = layer(x)
                    shapes.append(tuple(x.shape[1:]))
            runs.append(shapes)
        if len(runs) == 1:
            return runs[0]
        return [symbolic.free_sizes(a, b) for a, b in zip(*runs)]  # unknown sizes None

    def _build_from_shape(self, shape):
        self._layer_shapes(shape)

    def compute_output_shape(self, input_shape):
        """Keras' ``compute_output_shape``: the output's shape for inputs of
        ``input_shape`` (with the batch axis), by one probe. -- kssuite"""
        input_shape = tuple(input_shape)
        shapes = self._layer_shapes(input_shape[1:])
        return (input_shape[0],) + (shapes[-1] if shapes else tuple(input_shape[1:]))

    def _output_width(self):
        for layer in reversed(self.layers):
            if isinstance(layer, Dense):
                return (layer.units, layer.weight) if layer.built else (None, None)
            if isinstance(layer, Linear):
                return layer.out_features, layer.weight
        return None, None

    def forward(self, x, training=None):
        """The layers in order; ``training=True`` / ``False`` (Keras' keyword) runs this
        call in fit's or predict's mode whatever the model's mode is."""
        if training is not None and bool(training) != self.training:
            with self.in_mode(training):
                return self.forward(x)
        if self._input_shape is None and isinstance(x, Tensor) and x.ndim:
            object.__setattr__(self, "_input_shape", tuple(x.shape[1:]))
            self._keras_rebuilt()
        for layer in self.layers:
            y = layer(x)
            if getattr(x, "_keras_mask", None) is not None:  # -- kmask: Dense passes it on
                _masking.carry(layer, x, y)
            x = y
        return x

    # ------------------------------------------------------------ state
    def load_state_dict(self, state_dict, strict: bool = True):
        """:meth:`Module.load_state_dict`; in a model with lazily-built layers the loaded
        shapes must also chain from layer to layer (checked by a forward of zeros), else
        ShapeError and the model is left unbuilt and unchanged."""
        lazy = [layer for layer in self.layers if not _built(layer)]
        if not lazy:
            return Module.load_state_dict(self, state_dict, strict)
        before = {id(t): (t, t.data) for _, t in self._named_state()}
        result = Module.load_state_dict(self, state_dict, strict)
        shape = None
        first = self.layers[0]
        if isinstance(first, Dense) and first.built:
            shape = (first.input_dim,)
        elif self._input_shape is not None:
            shape = self._input_shape
        if shape is not None:
            try:
                self._layer_shapes(shape)
            except (ShapeError, ValueError) as e:
                for t, data in before.values():
                    t.data = data
                for layer in lazy:
                    layer._unbuild()
                raise ShapeError(f"load_state_dict: the checkpoint's layer shapes do not "
                                 f"chain: {e}; nothing was loaded") from None
        return result

    # ------------------------------------------------------------ logits for the losses
    def split_activation(self):
        """``(forward_to_logits, activation)`` when the last layer ends in a sigmoid or a
        softmax over the last axis, else ``(None, None)``; used to compute the
        cross-entropies from logits."""
        if not self.layers:
            return None, None
        last = self.layers[-1]
        body = [layer for layer in self.layers[:-1]]
        act = None
        head = None
        if isinstance(last, (Dense, Linear)) and last.activation in ("sigmoid", "softmax"):
            act, head = str(last.activation), last.pre_activation
        elif isinstance(last, Sigmoid):
            act = "sigmoid"
        elif isinstance(last, Softmax) and last.axis in (-1,):
            act = "softmax"
        elif type(last).__name__ == "Activation" and last.activation in ("sigmoid",
                                                                          "softmax"):
            act = last.activation
        if act is None:
            return None, None
        calls = body + ([head] if head is not None else [])

        def logits(x):
            for f in calls:
                y = f(x)
                if getattr(x, "_keras_mask", None) is not None:  # -- kmask
                    _masking.carry(last if f is head else f, x, y)
                x = y
            return x
        return logits, act

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, idx):
        if isinstance(idx, slice):  # the layers keep their names, as in PyTorch
            return Sequential(dict(zip(self._names[idx], self.layers[idx])))
        return self.layers[idx]

    # PyTorch's Sequential arithmetic: + and += with another Sequential, * by a count
    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return Sequential(*self.layers, *other.layers)

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return self.extend(list(other.layers))

    def __mul__(self, other):
        if not isinstance(other, int) or isinstance(other, bool):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and "
                            f"{type(other)}")
        if other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for {type(self)}")
        return Sequential(*(list(self.layers) * other))

    __rmul__ = __mul__

    def __imul__(self, other):
        combined = self * other
        return self.extend(list(combined.layers)[len(self.layers):])


class _NotAModule(TypeError, AssertionError):
    """Not a Module where one is needed: a TypeError, and the AssertionError PyTorch raises."""


def _built(layer):
    b = getattr(layer, "built", True)
    return bool(b)


def _declared_input_shape(layer):
    """The per-sample input shape a first layer declares, or None."""
    if isinstance(layer, Sequential):  # its input_shape is Keras' (None, ...) form
        return layer._input_shape
    shape = getattr(layer, "input_shape", None)
    if isinstance(shape, tuple):
        return shape
    if isinstance(layer, Linear):
        return (layer.in_features,)
    return None
