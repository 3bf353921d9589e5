"""Keras' ``Model``: the functional API and subclassing, with the training loop of
:class:`gradengine.keras.KerasModel`.

``Model(inputs=keras.Input(...), outputs=...)`` replays the layer calls recorded on the
symbolic tensors (:mod:`gradengine.keras.symbolic`), in the order Keras uses (deepest
first); inputs and outputs may be one tensor or lists / dicts of them, and a layer may be
called more than once (shared). A subclass instead creates its layers in ``__init__`` and
defines ``call(self, inputs, training=False)``.
"""

from __future__ import annotations

import inspect
import weakref

import numpy as np

from .. import backend
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn.containers import ModuleList
from ..nn.module import Module
from . import masking as _masking
from . import symbolic
from .layer_base import EXPLICIT_TRAINING
from .layers import Activation, InputLayer
from .model import KerasModel, _layer_names, _param_count, _snake
from .symbolic import KerasTensor, flatten, map_structure

__all__ = ["Functional", "Model"]


class _NotSymbolicError(ValueError, TypeError):
    """Model(inputs, outputs) given something not symbolic: Keras' ValueError, and the
    TypeError gradengine raised before. -- kssuite"""


class Model(KerasModel, Module):
    """A Keras model: ``Model(inputs, outputs, name=None)`` (functional), or a subclass
    with ``call(self, inputs, training=False)`` and layers made in ``__init__``.

    Training, evaluation, prediction, weights and saving are those of
    :class:`gradengine.keras.KerasModel` (as for ``Sequential``). Several inputs are given
    to ``fit`` / ``predict`` as a list (in the order of ``inputs``) or a dict (by the keys
    of a dict ``inputs``, else by the Inputs' names).

    Raises:
        TypeError: inputs or outputs that are not symbolic tensors (``keras.Input`` and
            layer calls on it). ValueError: outputs that depend on an Input not among
            ``inputs``.
    Example:
        >>> inputs = keras.Input(shape=(784,))
        >>> outputs = layers.Dense(10)(layers.Dense(64, activation="relu")(inputs))
        >>> model = keras.Model(inputs=inputs, outputs=outputs)
    """

    def __new__(cls, *args, **kwargs):
        # Keras: Model(inputs, outputs) is an instance of its subclass Functional
        if cls is Model and _functional_arguments(args, kwargs):
            cls = Functional
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        names = ("inputs", "outputs", "name")
        if len(args) > len(names):
            raise TypeError(f"Model: at most {len(names)} positional arguments, got "
                            f"{len(args)}")
        for k, v in zip(names, args):
            if k in kwargs:
                raise TypeError(f"Model: {k} given twice")
            kwargs[k] = v
        inputs, outputs = kwargs.pop("inputs", None), kwargs.pop("outputs", None)
        name = kwargs.pop("name", None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"Model: unexpected keyword arguments {sorted(kwargs)}")
        if "_parameters" not in self.__dict__:
            Module.__init__(self)
        self.__dict__["_made_functional"] = inputs is not None or outputs is not None
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_graph", None)
        KerasModel.__init__(self)
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise TypeError("Model: give both inputs= and outputs= (the functional "
                                "API), or neither (a subclass with call())")
            self._build_graph(inputs, outputs)

    def __setattr__(self, name, value):
        # Keras tracks layers kept in a list attribute: a list of layers becomes a ModuleList
        if isinstance(value, (list, tuple)) and value and \
                all(isinstance(v, Module) for v in value):
            value = ModuleList(value)
        super().__setattr__(name, value)

    # ------------------------------------------------------------ the graph
    def _build_graph(self, inputs, outputs):
        flat_in, flat_out = flatten(inputs), flatten(outputs)
        for what, flat in (("inputs", flat_in), ("outputs", flat_out)):
            bad = [type(t).__name__ for t in flat if not isinstance(t, KerasTensor)]
            if bad or not flat:
                # -- kssuite: Keras' ValueError and wording (still a TypeError, as before)
                raise _NotSymbolicError(
                    f"Model: All `{what}` values must be KerasTensors: symbolic tensors "
                    f"(keras.Input(...) and layer calls on it), or lists / dicts of them; "
                    f"got {bad or 'nothing'}")
        for t in flat_in:
            if not isinstance(t._node.layer, InputLayer):
                raise ValueError(f"Model: every input must come from keras.Input; {t!r} is "
                                 f"the output of {type(t._node.layer).__name__}")
        nodes, first_seen = _topological(flat_out)
        given = {id(t._node) for t in flat_in}
        for node in nodes:
            if isinstance(node.layer, InputLayer) and id(node) not in given:
                raise ValueError(f"Model: the outputs depend on the Input of shape "
                                 f"{node.outputs.shape} (name {node.layer.name!r}), which is "
                                 "not among inputs (graph disconnected)")
        node_depth, layer_depth = _depths(nodes)
        for t in flat_in:  # an Input no output uses still is a layer of the model
            layer_depth.setdefault(id(t._node.layer), 0)
            first_seen.setdefault(id(t._node.layer), -1)
        position = {id(node): i for i, node in enumerate(nodes)}
        nodes.sort(key=lambda n: (-node_depth[id(n)], position[id(n)]))
        layers = list({id(n.layer): n.layer for n in nodes}.values())
        layers += [t._node.layer for t in flat_in if t._node not in nodes]
        # Keras' order: deepest first, then in the order a walk from the outputs meets them
        layers.sort(key=lambda layer: (-layer_depth[id(layer)], first_seen[id(layer)]))
        layers = [layer for layer in layers if not isinstance(layer, symbolic.Op)]
        names = _layer_names(layers)
        graph = {"inputs": inputs, "outputs": outputs, "flat_in": flat_in,
                 "flat_out": flat_out, "layers": layers, "names": names,
                 "nodes": [n for n in nodes if not isinstance(n.layer, InputLayer)]}
        object.__setattr__(self, "_graph", graph)
        for layer, lname in zip(layers, names):
            if not isinstance(layer, InputLayer):
                self._modules[lname] = layer  # by name: an attribute could shadow a method

    def _match_inputs(self, inputs, where):
        """The values of the flat inputs, in order, from one value, a list or a dict."""
        g = self._graph
        flat_in = g["flat_in"]
        if isinstance(inputs, dict):
            if isinstance(g["inputs"], dict):
                keys = sorted(g["inputs"])
            else:
                keys = [n for n, layer in zip(g["names"], g["layers"])
                        if isinstance(layer, InputLayer)]
            missing = [k for k in keys if k not in inputs]
            if missing:
                raise KeyError(f"{where}: no data for the model's inputs {missing}; got "
                               f"{sorted(inputs)}")
            values = [inputs[k] for k in keys]
        elif isinstance(inputs, (list, tuple)) and len(flat_in) > 1:
            values = list(inputs)
        else:
            values = [inputs]
        if len(values) != len(flat_in):
            raise ValueError(f"{where}: the model has {len(flat_in)} inputs "
                             f"{[t.shape for t in flat_in]}, got {len(values)} values")
        for t, v in zip(flat_in, values):
            shape = getattr(v, "shape", None)
            if shape is not None and (len(shape) != len(t.shape) or any(
                    d is not None and d != s for d, s in zip(t.shape[1:], tuple(shape)[1:]))):
                raise ShapeError(f"{where}: input {self._input_name(t)!r} expects shape "
                                 f"{t.shape}, got {tuple(shape)}")
        return values

    def _input_name(self, t):
        g = self._graph
        return g["names"][g["layers"].index(t._node.layer)]

    def _run(self, inputs, logits=False):
        """The outputs for real inputs (or, with ``logits``, the single output before its
        last sigmoid / softmax)."""
        g = self._graph
        values = {id(t): v for t, v in zip(g["flat_in"], self._match_inputs(inputs, "call"))}
        last = g["flat_out"][0]._node if logits else None
        for node in g["nodes"]:
            if node is last:
                x = values[id(node.inputs[0])]
                outs = [node.layer.pre_activation(x) if not isinstance(node.layer, Activation)
                        else x]
                if getattr(x, "_keras_mask", None) is not None:  # -- kmask
                    _masking.carry(node.layer, x, outs[0])
            else:
                outs = node.run(values)
            for t, o in zip(flatten(node.outputs), outs):
                values[id(t)] = o
        return map_structure(lambda t: values[id(t)], g["outputs"])

    # ------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        if symbolic.is_symbolic((args, kwargs)):
            return symbolic.symbolic_call(self, args, kwargs)
        training = kwargs.pop("training", None)
        if training is not None:  # -- kssuite: Keras' training= reaches the inner layers
            EXPLICIT_TRAINING.append(bool(training))
        try:
            if training is None or bool(training) == self.training:
                return self.forward(*args, **kwargs)
            with self.in_mode(training):
                return self.forward(*args, **kwargs)
        finally:
            if training is not None:
                EXPLICIT_TRAINING.pop()

    def forward(self, inputs, *args, **kwargs):
        if self._graph is not None:
            return self._run(inputs)
        if isinstance(inputs, tuple):
            inputs = list(inputs)  # several inputs: Keras gives call() a list
        if _takes_training(type(self)) and "training" not in kwargs:
            kwargs["training"] = self.training
        return self.call(inputs, *args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        """The forward computation: the recorded graph of a functional model; a subclass
        defines its own."""
        if self._graph is not None:
            return self._run(inputs)
        raise NotImplementedError(f"{type(self).__name__}: define call(self, inputs) in the "
                                  "subclass, or build a functional model with "
                                  "keras.Model(inputs=..., outputs=...)")

    def build(self, input_shape):
        """Build the layers of a subclassed model for inputs of ``input_shape`` (with the
        batch axis, ``(None, 784)``; a list of shapes for several inputs) by one call on
        zeros, without a graph."""
        if self._graph is not None:
            return
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        device, dtype = self._model_place()
        xp = backend.xp_of(device)
        with backend.cuda_context(device):
            xs = [Tensor._make(xp.zeros((1,) + tuple(1 if d is None else int(d)
                                                     for d in tuple(s)[1:]), dtype=dtype),
                               device) for s in shapes]
        with self.in_mode(False), no_grad():
            self.forward(xs[0] if len(xs) == 1 else tuple(xs))

    # ------------------------------------------------------------ the training loop's hooks
    def _input_arrays(self, x, device, dtype, where, what):
        if self._graph is None:
            if isinstance(x, (list, tuple)) and x and all(hasattr(v, "shape") for v in x):
                arrays = tuple(self._array(v, dtype, device, where, f"{what}[{i}]")
                               for i, v in enumerate(x))
                _same_rows(arrays, [f"{what}[{i}]" for i in range(len(x))], where)
                return arrays
            return super()._input_arrays(x, device, dtype, where, what)
        flat_in = self._graph["flat_in"]
        values = self._match_inputs(x, where)
        arrays = tuple(
            self._array(v, t.dtype if np.dtype(t.dtype).kind in "iub" else dtype, device,
                        where, f"{what} (input {self._input_name(t)!r})")
            for t, v in zip(flat_in, values))
        names = [self._input_name(t) for t in flat_in]
        _same_rows(arrays, names, where)
        self._match_inputs(arrays if len(arrays) > 1 else arrays[0], where)
        return arrays if len(arrays) > 1 else arrays[0]

    def _prepare(self, X, y, where, batch_size):
        if self._graph is not None and len(self._graph["flat_out"]) > 1:
            raise NotImplementedError(f"{where}: a model with {len(self._graph['flat_out'])} "
                                      "outputs cannot be trained or evaluated here (one "
                                      "output only); predict and calling it work")
        return super()._prepare(X, y, where, batch_size)

    def split_activation(self):
        """``(forward_to_logits, activation)`` when the single output is a Dense or an
        Activation ending in sigmoid / softmax (the cross-entropies then use the logits,
        as in Sequential), else ``(None, None)``."""
        g = self._graph
        if g is None or len(g["flat_out"]) != 1 or g["flat_out"][0]._node.kwargs or \
                len(g["flat_out"][0]._node.inputs) != 1:
            return None, None
        layer = g["flat_out"][0]._node.layer
        act = getattr(layer, "activation", None)
        act = str(act) if isinstance(act, str) else act
        if act not in ("sigmoid", "softmax") or not (
                isinstance(layer, Activation) or hasattr(layer, "pre_activation")) or \
                getattr(layer, "activity_regularizer", None) is not None:
            return None, None
        return (lambda x: self._run(x, logits=True)), act

    # ------------------------------------------------------------ structure
    @property
    def layers(self) -> list:
        """The layers: of a functional model its Inputs first, then in the order they run;
        of a subclass those assigned as attributes (lists of layers included)."""
        if self._graph is not None:
            return list(self._graph["layers"])
        out = []
        for m in self.children():
            out.extend(m if isinstance(m, ModuleList) else [m])
        return out

    @property
    def inputs(self):
        return None if self._graph is None else self._graph["flat_in"]

    # -- kssuite: Keras' Layer.add_weight / add_variable on a (subclassed) model
    def add_weight(self, *args, **kwargs):
        from .layer_base import Layer
        return Layer.add_weight(self, *args, **kwargs)

    def add_variable(self, *args, **kwargs):
        from .layer_base import Layer
        return Layer.add_variable(self, *args, **kwargs)

    # -- kssuite: Keras' model.input_shape / output_shape (a tuple, or a list of them)
    @property
    def input_shape(self):
        if self._graph is None:
            raise AttributeError("Model: no input_shape (a subclassed model)")
        shapes = [tuple(t.shape) for t in self._graph["flat_in"]]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        if self._graph is None:
            raise AttributeError("Model: no output_shape (a subclassed model)")
        shapes = [tuple(t.shape) for t in self._graph["flat_out"]]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def outputs(self):
        return None if self._graph is None else self._graph["flat_out"]

    @property
    def input(self):
        """The symbolic inputs as given to ``Model(inputs, outputs)`` (one tensor, a list
        or a dict), Keras' ``model.input``."""
        if self._graph is None:
            return KerasModel.input.fget(self)
        return self._graph["inputs"]

    @input.setter
    def input(self, value):
        self.__dict__["input"] = value

    @property
    def output(self):
        """The symbolic outputs as given to ``Model(inputs, outputs)``."""
        if self._graph is None:
            return KerasModel.output.fget(self)
        return self._graph["outputs"]

    @output.setter
    def output(self, value):
        self.__dict__["output"] = value

    @property
    def built(self) -> bool:
        return all(bool(getattr(layer, "built", True)) for layer in self.layers)

    def _display_name(self):
        return self.name

    def _default_name(self):
        # Keras: a Model built from inputs and outputs is "functional", a subclass by its
        # class name ("my_model")
        if type(self) in (Model, Functional) and self.__dict__.get("_made_functional"):
            return "functional"
        return _snake(type(self).__name__)

    def _summary_rows(self, built):
        g = self._graph
        if g is None:
            layers = self.layers
            rows = [(f"{n} ({type(layer).__name__})", "?", _param_count(layer))
                    for layer, n in zip(layers, _layer_names(layers))]
            return ("Layer (type)", "Output Shape", "Param #"), rows
        name_of = {id(n.layer): getattr(n.layer.fn, "__name__", "op") for n in g["nodes"]
                   if isinstance(n.layer, symbolic.Op)}
        name_of.update({id(layer): n for layer, n in zip(g["layers"], g["names"])})
        calls = {}  # each node's index among its layer's calls
        for node in [t._node for t in g["flat_in"]] + g["nodes"]:
            calls.setdefault(id(node.layer), []).append(node)
        chain = all(len(n.inputs) <= 1 and len(calls[id(n.layer)]) == 1 for n in g["nodes"]) \
            and len(g["flat_in"]) == 1
        rows = []
        for layer in g["layers"]:
            nodes = calls[id(layer)]
            shapes = [str(t.shape) for t in flatten(nodes[0].outputs)]  # the first call's
            row = (f"{name_of[id(layer)]} ({type(layer).__name__})", ", ".join(shapes),
                   _param_count(layer))
            if not chain:
                links = [f"{name_of[id(t._node.layer)]}"
                         f"[{calls[id(t._node.layer)].index(t._node)}][{t._index}]"
                         for n in nodes for t in n.inputs]
                row += (", ".join(links) or "-",)
            rows.append(row)
        header = ("Layer (type)", "Output Shape", "Param #") + (() if chain else
                                                                 ("Connected to",))
        return header, rows


_TAKES_TRAINING = weakref.WeakKeyDictionary()


def _takes_training(cls):
    """Whether ``cls.call`` has a ``training`` argument (looked up once per class)."""
    known = _TAKES_TRAINING.get(cls)
    if known is None:
        try:
            known = "training" in inspect.signature(cls.call).parameters
        except (TypeError, ValueError):
            known = False
        _TAKES_TRAINING[cls] = known
    return known


def _same_rows(arrays, names, where):
    counts = [a.shape[0] if a.ndim else None for a in arrays]
    if len(set(counts)) > 1:
        raise ShapeError(f"{where}: the inputs have different numbers of samples: "
                         + ", ".join(f"{n!r} {tuple(a.shape)}" for n, a in zip(names, arrays)))


def _topological(flat_out):
    """Keras' ``_build_map``: the nodes that make ``flat_out``, each after the nodes of its
    inputs, and each layer's index in the walk's pre-order (ties of depth keep it)."""
    seen, order, first_seen = set(), [], {}
    for t in flat_out:
        stack = [(t._node, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            first_seen.setdefault(id(node.layer), len(first_seen))
            stack.append((node, True))
            for t_in in reversed(node.inputs):
                if id(t_in._node) not in seen:
                    stack.append((t_in._node, False))
    return order, first_seen


def _depths(nodes):
    """Keras' depths: 0 at the outputs, one more than the deepest consumer; a shared
    layer's nodes take the layer's greatest depth. Returns (node depths, layer depths)."""
    node_depth, layer_depth = {}, {}
    for node in reversed(nodes):
        d = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = d
        for t in node.inputs:
            node_depth[id(t._node)] = max(node_depth.get(id(t._node), 0), d + 1)
    return node_depth, layer_depth


def _functional_arguments(args, kwargs):
    """Whether ``Model(*args, **kwargs)`` is the functional form (Keras' rule)."""
    return len(args) == 2 or (len(args) == 1 and "outputs" in kwargs) or \
        ("inputs" in kwargs and "outputs" in kwargs)


class Functional(Model):
    """What ``keras.Model(inputs, outputs)`` makes, as in Keras: a :class:`Model` built
    from symbolic inputs and outputs (``type(model).__name__ == "Functional"``)."""
