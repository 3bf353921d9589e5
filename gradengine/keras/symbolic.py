"""The symbolic tensors of Keras' functional API: ``keras.Input(shape=(784,))`` returns a
:class:`KerasTensor`, and calling a layer on KerasTensors records a :class:`Node` (the
layer, its arguments, its outputs) instead of computing. :class:`gradengine.keras.Model`
walks the nodes back from its outputs and replays them on real tensors.

Each KerasTensor carries a probe: a real Tensor of one sample (zeros), which the next
layer is run on once, without a graph and in inference mode, to build its weights and to
learn its output shape and dtype.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..nn import module as _module

__all__ = ["KerasTensor", "Node", "flatten", "is_symbolic", "map_structure", "symbolic_call"]


class KerasTensor:
    """A value not known yet: its ``shape`` (the batch axis None), ``dtype``, ``name``, and
    the layer call that makes it."""

    def __init__(self, shape, dtype, name=None, probe=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype).name
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


# nn's Module.__call__ hands calls on a KerasTensor to __module_call__ (nn cannot import keras)
_module.SYMBOLIC_TYPES.add(KerasTensor)


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

    def run(self, values):
        """The outputs' Tensors (flat) given ``values``: ``{id(KerasTensor): Tensor}``."""
        def real(v):
            return values[id(v)] if isinstance(v, KerasTensor) else v
        out = self.layer(*map_structure(real, self.args), **map_structure(real, self.kwargs))
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


def input_tensor(shape, dtype, name):
    """A KerasTensor for ``Input``: batch axis None, a probe of zeros (unknown sizes 1)."""
    shape = (None,) + tuple(shape)
    dev = backend.get_default_device()
    probe_shape = tuple(1 if d is None else int(d) for d in shape)
    with backend.cuda_context(dev):
        probe = Tensor._make(backend.xp_of(dev).zeros(probe_shape, dtype=dtype), dev)
    return KerasTensor(shape, dtype, name=name, probe=probe)


def symbolic_call(layer, args, kwargs):
    """Record ``layer(*args, **kwargs)`` on KerasTensors: run the layer once on the probes
    (no graph, inference mode: it builds and no moving statistic moves) and return
    KerasTensors of the outputs' shapes."""
    def probe(v):
        return v._probe if isinstance(v, KerasTensor) else v
    probe_kwargs = {k: map_structure(probe, v) for k, v in kwargs.items() if k != "training"}
    modes = [(m, m.training) for m in layer.modules()]
    try:
        layer.eval()
        with no_grad():
            out = layer(*map_structure(probe, args), **probe_kwargs)
    finally:
        for m, t in modes:
            object.__setattr__(m, "training", t)

    def symbolic(o):
        if not isinstance(o, Tensor):
            raise TypeError(f"{type(layer).__name__}: a layer of a functional model must "
                            f"return Tensors, got {type(o).__name__}")
        return KerasTensor((None,) + tuple(o.shape[1:]), o.dtype, probe=o)
    outputs = map_structure(symbolic, out)
    Node(layer, args, kwargs, outputs)
    return outputs
