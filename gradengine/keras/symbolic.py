"""The symbolic tensors of Keras' functional API: ``keras.Input(shape=(784,))`` returns a
:class:`KerasTensor`, and calling a layer on KerasTensors records a :class:`Node` (the
layer, its arguments, its outputs) instead of computing. :class:`gradengine.keras.Model`
walks the nodes back from its outputs and replays them on real tensors.

Each KerasTensor carries a probe: a real Tensor of one sample (zeros), which the next
layer is run on once, without a graph and in inference mode, to build its weights and to
learn its output shape and dtype.
"""

from __future__ import annotations

import operator

import numpy as np

from .. import backend
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn import module as _module
from ..nn.module import Module

__all__ = ["KerasTensor", "Node", "Op", "flatten", "is_symbolic", "map_structure", "symbolic_call"]


class KerasTensor:
    """A value not known yet: its ``shape`` (the batch axis None), ``dtype``, ``name``, and
    the layer call that makes it."""

    def __init__(self, shape, dtype="float32", name=None, probe=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype).name
        if probe is None:  # -- kssuite: keras.KerasTensor(shape) made by hand gets a probe
            dev = backend.get_default_device()
            with backend.cuda_context(dev):
                probe = Tensor._make(backend.xp_of(dev).zeros(
                    tuple(1 if d is None else int(d) for d in self.shape),
                    dtype=self.dtype), dev)
        self.name = name
        self._probe = probe
        self._node = None
        self._index = 0

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, "
                f"name={self.name or 'keras_tensor'}>")

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor has no truth value: it stands for values "
                        "known only when the model runs")

    def __module_call__(self, module, args, kwargs):
        return symbolic_call(module, args, kwargs)

    # arithmetic on symbolic tensors records the op, as Keras does
    def __add__(self, other):
        return _record(operator.add, self, other)

    def __radd__(self, other):
        return _record(operator.add, other, self)

    def __sub__(self, other):
        return _record(operator.sub, self, other)

    def __rsub__(self, other):
        return _record(operator.sub, other, self)

    def __mul__(self, other):
        return _record(operator.mul, self, other)

    def __rmul__(self, other):
        return _record(operator.mul, other, self)

    def __truediv__(self, other):
        return _record(operator.truediv, self, other)

    def __rtruediv__(self, other):
        return _record(operator.truediv, other, self)

    def __matmul__(self, other):
        return _record(operator.matmul, self, other)

    def __pow__(self, other):
        return _record(operator.pow, self, other)

    def __neg__(self):
        return _record(operator.neg, self)

    def __getitem__(self, idx):
        return _record(operator.getitem, self, idx)


# nn's Module.__call__ hands calls on a KerasTensor to __module_call__ (nn cannot import keras)
_module.SYMBOLIC_TYPES.add(KerasTensor)


class Op(Module):
    """A function called on KerasTensors (``keras.ops``, ``x + y``): a node of the graph
    without weights."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.name = None

    def forward(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def _record(fn, *args):
    if not any(isinstance(a, KerasTensor) for a in args):
        return fn(*args)
    # a Tensor on the left: the Tensor's operator runs with the probe
    return symbolic_call(Op(fn), args, {})


class Node:
    """One recorded call: ``outputs = layer(*args, **kwargs)``; ``inputs`` are the
    KerasTensors among the arguments, in order."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args, self.kwargs = args, kwargs
        self.outputs = outputs
        self.inputs = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        for i, t in enumerate(flatten(outputs)):
            t._node, t._index = self, i
        # the layer's calls on symbolic tensors, first first (its ``input`` / ``output``)
        layer.__dict__.setdefault("_inbound_nodes", []).append(self)

    def run(self, values):
        """The outputs' Tensors (flat) given ``values``: ``{id(KerasTensor): Tensor}``."""
        def real(v):
            return values[id(v)] if isinstance(v, KerasTensor) else v
        args = map_structure(real, self.args)
        out = self.layer(*args, **map_structure(real, self.kwargs))
        if args and getattr(args[0], "_keras_mask", None) is not None:  # -- kmask
            from .masking import carry
            carry(self.layer, args[0], out)
        return flatten(out)


def flatten(struct):
    """The leaves of nested lists, tuples and dicts (dicts by sorted key, as Keras)."""
    if isinstance(struct, (list, tuple)):
        return [leaf for s in struct for leaf in flatten(s)]
    if isinstance(struct, dict):
        return [leaf for k in sorted(struct) for leaf in flatten(struct[k])]
    return [struct]


def map_structure(fn, struct):
    """``struct`` with ``fn`` applied to every leaf."""
    if isinstance(struct, (list, tuple)):
        return type(struct)(map_structure(fn, s) for s in struct)
    if isinstance(struct, dict):
        return {k: map_structure(fn, v) for k, v in struct.items()}
    return fn(struct)


def is_symbolic(struct) -> bool:
    return any(isinstance(t, KerasTensor) for t in flatten(struct))


def input_tensor(shape, dtype, name, batch_size=None):
    """A KerasTensor for ``Input``: batch axis None (or ``batch_size``, as Keras keeps it),
    a probe of zeros (unknown sizes 1)."""
    shape = (batch_size,) + tuple(shape)  # -- kssuite: the batch size kept
    dev = backend.get_default_device()
    probe_shape = tuple(1 if d is None else int(d) for d in shape)
    with backend.cuda_context(dev):
        probe = Tensor._make(backend.xp_of(dev).zeros(probe_shape, dtype=dtype), dev)
    return KerasTensor(shape, dtype, name=name, probe=probe)


def symbolic_call(layer, args, kwargs):
    """Record ``layer(*args, **kwargs)`` on KerasTensors: run the layer once on the probes
    (no graph, inference mode: it builds and no moving statistic moves) and return
    KerasTensors of the outputs' shapes."""
    spec = getattr(layer, "compute_output_spec", None)
    if spec is not None:
        # -- kssuite: a layer's own compute_output_spec gives the symbolic outputs, as in
        # Keras (its call then runs on data only)
        kw = {k: v for k, v in kwargs.items() if k != "training"}
        first = args[0] if args else None
        if not getattr(layer, "built", True) and isinstance(first, KerasTensor):
            # built first, as Keras does before compute_output_spec (a Keras-style build
            # takes the shape with the batch axis, gradengine's own without it)
            own = type(layer).build.__module__.startswith("gradengine.")
            layer.build(first.shape[1:] if own else first.shape)
            object.__setattr__(layer, "_built", True)
        outputs = spec(*args, **kw)
        for o in flatten(outputs):
            if not isinstance(o, KerasTensor):
                raise TypeError(f"{type(layer).__name__}.compute_output_spec must return "
                                f"KerasTensors, got {type(o).__name__}")
        Node(layer, args, kwargs, outputs)
        return outputs

    def probe(v):
        return v._probe if isinstance(v, KerasTensor) else v
    probe_kwargs = {k: map_structure(probe, v) for k, v in kwargs.items() if k != "training"}
    modes = [(m, m.training) for m in layer.modules()]
    try:
        layer.eval()
        from .masking import probing  # -- kmask: stateful RNNs keep nothing from probes
        with no_grad(), probing():
            out = layer(*map_structure(probe, args), **probe_kwargs)
    except ShapeError as e:
        # name the symbolic shapes (batch None), not the one-sample probes'
        text = str(e)
        for t in flatten((args, kwargs)):
            if isinstance(t, KerasTensor):
                text = text.replace(str(tuple(t._probe.shape)), str(t.shape))
        raise ShapeError(text) from None
    finally:
        for m, t in modes:
            object.__setattr__(m, "training", t)

    def symbolic(o):
        if not isinstance(o, Tensor):
            raise TypeError(f"{type(layer).__name__}: a layer of a functional model must "
                            f"return Tensors, got {type(o).__name__}")
        return KerasTensor((batch,) + tuple(o.shape[1:]), o.dtype, probe=o)
    # -- kssuite: a batch size every symbolic input knows is kept (Keras' static batch)
    batches = {t.shape[0] if t.shape else None
               for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)}
    batch = batches.pop() if len(batches) == 1 else None
    outputs = map_structure(symbolic, out)
    Node(layer, args, kwargs, outputs)
    return outputs
