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

    def __init__(self, shape, dtype="float32", name=None, probe=None, probe2=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype).name
        if probe is None:  # -- kssuite: keras.KerasTensor(shape) made by hand gets a probe
            probe, probe2 = _zeros_probes(self.shape, self.dtype)
        self.name = name
        self._probe = probe
        self._probe2 = probe2  # only with an unknown size past the batch axis: see Probes
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


def _map_pairs(fn, struct, struct2):
    """``struct`` with ``fn(leaf, leaf2)`` at every leaf, ``leaf2`` the same place in
    ``struct2`` (None everywhere when ``struct2`` is None)."""
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map_pairs(fn, s, None if struct2 is None else struct2[i])
                            for i, s in enumerate(struct))
    if isinstance(struct, dict):
        return {k: _map_pairs(fn, v, None if struct2 is None else struct2[k])
                for k, v in struct.items()}
    return fn(struct, struct2)


def is_symbolic(struct) -> bool:
    return any(isinstance(t, KerasTensor) for t in flatten(struct))


# Probes: a KerasTensor carries zeros of its shape that each layer runs on to learn its
# output's shape: the batch axis 1 when unknown, and any other unknown size (a sequence of
# any length, ``Input((None, 10))``) PROBE_SIZES[0], large enough for kernels and
# pooling windows. Such a tensor carries a second probe, those sizes PROBE_SIZES[1]: an
# output size that differs between the two runs depends on an unknown size, and is None.
PROBE_SIZES = (32, 64)


def probe_shape(shape, which=0):
    """The probe's shape for a symbolic ``shape`` (batch axis first)."""
    return tuple((1 if i == 0 else PROBE_SIZES[which]) if d is None else int(d)
                 for i, d in enumerate(shape))


def has_free_size(shape) -> bool:
    """Whether a size past the batch axis is unknown (then a second probe is needed)."""
    return any(d is None for d in tuple(shape)[1:])


def _zeros_probes(shape, dtype):
    dev = backend.get_default_device()
    xp = backend.xp_of(dev)
    with backend.cuda_context(dev):
        probe = Tensor._make(xp.zeros(probe_shape(shape), dtype=dtype), dev)
        probe2 = Tensor._make(xp.zeros(probe_shape(shape, 1), dtype=dtype), dev) \
            if has_free_size(shape) else None
    return probe, probe2


def free_sizes(shape, shape2):
    """``shape`` with None where the second probe's ``shape2`` differs."""
    return tuple(None if a != b else a for a, b in zip(shape, shape2))


def input_tensor(shape, dtype, name, batch_size=None):
    """A KerasTensor for ``Input``: batch axis None (or ``batch_size``, as Keras keeps it),
    probes of zeros (see PROBE_SIZES)."""
    shape = (batch_size,) + tuple(shape)  # -- kssuite: the batch size kept
    return KerasTensor(shape, dtype, name=name)


def _run_probes(layer, args, kwargs, symbolic_in, which):
    """``layer`` called on the KerasTensors' probes (``which``: "_probe" or "_probe2"; a
    tensor without a second probe gives its first), with no graph, in inference mode."""
    def probe(v):
        if not isinstance(v, KerasTensor):
            return v
        p = getattr(v, which)
        return v._probe if p is None else p
    probe_kwargs = {k: map_structure(probe, v) for k, v in kwargs.items() if k != "training"}
    modes = [(m, m.training) for m in layer.modules()]
    try:
        layer.eval()
        from .masking import probing  # -- kmask: stateful RNNs keep nothing from probes
        with no_grad(), probing():
            return layer(*map_structure(probe, args), **probe_kwargs)
    except ShapeError as e:
        # name the symbolic shapes (batch None), not the probes'
        text = str(e)
        for t in symbolic_in:
            p = probe(t)
            text = text.replace(str(tuple(p.shape)), str(t.shape))
        raise ShapeError(text) from None
    finally:
        for m, t in modes:
            object.__setattr__(m, "training", t)


def symbolic_call(layer, args, kwargs):
    """Record ``layer(*args, **kwargs)`` on KerasTensors: run the layer on the probes (no
    graph, inference mode: it builds and no moving statistic moves; a second time on the
    second probes when a size is unknown) and return KerasTensors of the outputs' shapes."""
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

    symbolic_in = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
    out = _run_probes(layer, args, kwargs, symbolic_in, "_probe")
    out2 = None
    if any(t._probe2 is not None for t in symbolic_in):
        out2 = _run_probes(layer, args, kwargs, symbolic_in, "_probe2")
    # -- kssuite: a batch size every symbolic input knows is kept (Keras' static batch)
    batches = {t.shape[0] if t.shape else None for t in symbolic_in}
    batch = batches.pop() if len(batches) == 1 else None

    def symbolic(o, o2):
        if not isinstance(o, Tensor):
            raise TypeError(f"{type(layer).__name__}: a layer of a functional model must "
                            f"return Tensors, got {type(o).__name__}")
        shape = (batch,) + tuple(o.shape[1:])
        if o2 is not None:
            shape = (batch,) + free_sizes(shape[1:], tuple(o2.shape[1:]))
        return KerasTensor(shape, o.dtype, probe=o,
                           probe2=o2 if has_free_size(shape) else None)
    outputs = _map_pairs(symbolic, out, out2)
    Node(layer, args, kwargs, outputs)
    return outputs
