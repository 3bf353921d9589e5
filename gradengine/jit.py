"""``ge.jit``: record a step once per signature, then replay it as a flat array program.

The first call with a given signature runs eagerly while a :class:`Trace` listens: every op
forward, every VJP, each gradient written to a leaf, in-place updates, ``zero_grad`` and
optimizer steps log themselves as steps over array *slots*. Later calls with the same
signature replay that list -- no Tensors, no graph nodes, no dispatch. A parameter is read
live at each replay (``p.data``), so optimizer updates between calls are seen.

Limits (documented in README.md): values read on the host while tracing (``item()``,
``bool()``, ``numpy()``) make the trace depend on them, so such a function runs eagerly
(with a warning); Tensors created inside the function are constants; gradients must be
cleared with ``zero_grad()``; on CUDA the replay is the same array program (no CUDA graph).
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict

import numpy as np

from . import autograd, backend
from .tensor import Tensor

SLOT, LIVE, CONST = 0, 1, 2
_MAX_PROGRAMS = 8


class Trace:
    """The recorder: turns the engine's array operations into replayable steps."""

    def __init__(self):
        self.steps = []        # (fn, specs, out): out is a slot, a tuple of slots, or None
        self.slots = {}        # id(array) -> slot
        self.keep = []         # arrays kept alive while recording, so ids stay unique
        self.value_read = None  # what made the trace depend on values, if anything

    def slot(self, arr):
        s = len(self.keep)
        self.slots[id(arr)] = s
        self.keep.append(arr)
        return s

    def ref(self, x):
        if isinstance(x, Tensor):
            s = self.slots.get(id(x.data))
            return (SLOT, s) if s is not None else (LIVE, x)
        if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.generic):
            s = self.slots.get(id(x))
            return (SLOT, s) if s is not None else (CONST, x)
        return (CONST, x)

    def _out(self, out):
        if isinstance(out, tuple):
            return tuple(None if o is None else self.slot(o) for o in out)
        return self.slot(out)

    # -- called by the engine ------------------------------------------------------------
    def log_op(self, op, args, params, out, converted, cast):
        fwd = op.fwd
        if op.extra or converted or cast is not None:
            fwd = _post(fwd, op.extra, cast)
        xp = np if isinstance(out, np.ndarray) else backend.cupy()
        specs = [(CONST, xp)] + [self.ref(a) for a in args] + [(CONST, p) for p in params]
        self.steps.append((fwd, specs, self.slot(out)))

    def log_compute(self, fn, xp, args, out):
        specs = [(CONST, xp)] + [self.ref(a) for a in args]
        self.steps.append((fn, specs, self._out(out)))

    def log_inplace(self, fn, target, other):
        self.steps.append((fn, [self.ref(target), self.ref(other)], None))

    def log_setgrad(self, leaf, g, copy):
        # The recorded choice (assign when .grad was None, else accumulate) is replayed.
        step = _SetGrad(leaf, copy, leaf.grad is not None)
        self.steps.append((step, [self.ref(g)], None))
        return step

    def bind_grad(self, step, leaf):
        """After the commit: later reads of ``leaf.grad`` in the function see this slot."""
        self.steps[-1] = (step, self.steps[-1][1], self.slot(leaf.grad.data))

    def log_call(self, fn):
        self.steps.append((fn, [], None))

    def note_read(self, t):
        if self.value_read is None and id(t.data) in self.slots:
            self.value_read = "a value computed inside the function was read on the host"


def _post(fwd, extra, cast):
    """The op's forward plus the conversions ``apply`` made to its result."""
    def run(*vals):
        out = fwd(*vals)
        if extra:
            out = out[0]
        if isinstance(out, np.generic):
            out = np.asarray(out)
        return out.astype(cast) if cast is not None else out
    return run


class _SetGrad:
    """Replay of the engine's commit of a gradient to a leaf's ``.grad``."""

    __slots__ = ("leaf", "copy", "accumulate")

    def __init__(self, leaf, copy, accumulate):
        self.leaf = leaf
        self.copy = copy
        self.accumulate = accumulate

    def __call__(self, g):
        leaf = self.leaf
        if self.accumulate and leaf.grad is not None:
            g = leaf.grad.data + g
        elif self.copy:
            g = g.copy()
        leaf.grad = Tensor._make(g, leaf.device)
        return g


class Program:
    """A recorded step compiled to one Python function: each slot is a local variable, each
    step one call, so a replay costs little more than the array operations themselves."""

    def __init__(self, trace, input_slots, outputs):
        self.input_slots = input_slots
        self.outputs = outputs
        self.n_steps = len(trace.steps)
        env = {}
        params = [f"s{s}" for s in input_slots if s is not None]
        lines = [f"def replay({', '.join(params)}):"]
        for i, (fn, specs, out) in enumerate(trace.steps):
            env[f"f{i}"] = fn
            args = []
            for j, (kind, v) in enumerate(specs):
                if kind == SLOT:
                    args.append(f"s{v}")
                elif kind == LIVE:  # read at every replay: optimizers rebind .data
                    env[f"t{i}_{j}"] = v
                    args.append(f"t{i}_{j}.data")
                else:
                    env[f"c{i}_{j}"] = v
                    args.append(f"c{i}_{j}")
            call = f"f{i}({', '.join(args)})"
            if out is None:
                lines.append(f"    {call}")
            elif isinstance(out, tuple):
                names = ", ".join("_" if o is None else f"s{o}" for o in out)
                lines.append(f"    {names}, = {call}" if len(out) == 1 else
                             f"    {names} = {call}")
            else:
                lines.append(f"    s{out} = {call}")
        self.result_slots = sorted(_slots_of(outputs))
        lines.append(f"    return ({''.join(f's{o}, ' for o in self.result_slots)})")
        self.source = "\n".join(lines)
        exec(compile(self.source, "<ge.jit replay>", "exec"), env)  # noqa: S102 - our own code
        self._replay = env["replay"]

    def run(self, arrays):
        vals = self._replay(*[a for s, a in zip(self.input_slots, arrays) if s is not None])
        out = self.outputs
        if out[0] == "slot":  # one Tensor returned: the common case
            return Tensor._make(vals[0], out[2])
        return _rebuild(out, dict(zip(self.result_slots, vals)))


def _slots_of(template):
    kind = template[0]
    if kind == "slot":
        return {template[1]}
    if kind == "seq":
        return set().union(*[_slots_of(t) for t in template[2]]) if template[2] else set()
    if kind == "dict":
        return set().union(*[_slots_of(t) for t in template[1].values()]) \
            if template[1] else set()
    return set()


def _rebuild(template, slots):
    kind = template[0]
    if kind == "slot":
        return Tensor._make(slots[template[1]], template[2])
    if kind == "live":
        return template[1]
    if kind == "seq":
        return template[1](_rebuild(t, slots) for t in template[2])
    if kind == "dict":
        return {k: _rebuild(t, slots) for k, t in template[1].items()}
    return template[1]


def _template(out, trace):
    if isinstance(out, Tensor):
        s = trace.slots.get(id(out.data))
        return ("slot", s, out.device) if s is not None else ("live", out)
    if isinstance(out, (tuple, list)):
        return ("seq", type(out), [_template(o, trace) for o in out])
    if isinstance(out, dict):
        return ("dict", {k: _template(v, trace) for k, v in out.items()})
    return ("const", out)


def _flatten(obj, out):
    if isinstance(obj, (list, tuple)):
        for o in obj:
            _flatten(o, out)
    elif isinstance(obj, dict):
        for k in sorted(obj, key=repr):
            _flatten(obj[k], out)
    else:
        out.append(obj)
    return out


def _signature(leaves):
    sig = [autograd.is_grad_enabled()]
    for a in leaves:
        if type(a) is Tensor:  # the same key as the hot path in _Jitted.__call__
            sig.append((a.data.shape, a.data.dtype, a.device, a.requires_grad))
        elif isinstance(a, Tensor):
            sig.append(("T", a.data.shape, a.data.dtype, a.device, a.requires_grad))
        elif isinstance(a, (int, float, bool, str, type(None))):
            sig.append(("S", type(a), a))
        else:
            sig.append(("O", id(a)))
    return tuple(sig)


def _as_tensors(obj):
    """NumPy arrays among the arguments become Tensors, so that they are program inputs."""
    if isinstance(obj, np.ndarray):
        return Tensor._make(obj, "cpu")
    cp = backend.cupy()
    if cp is not None and isinstance(obj, cp.ndarray):
        return Tensor._make(obj, backend.device_of_array(obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_as_tensors(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _as_tensors(v) for k, v in obj.items()}
    return obj


class _Jitted:
    def __init__(self, fn):
        self.fn = fn
        self.programs = OrderedDict()  # signature -> Program, or None for "run eagerly"
        self.traces = 0
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        mode = autograd._mode
        if mode.trace is not None:  # inside another trace: just be part of it
            return self.fn(*args, **kwargs)
        if not kwargs:  # the hot path: positional Tensors only
            sig = [mode.enabled]
            for a in args:
                if type(a) is not Tensor:
                    break
                sig.append((a.data.shape, a.data.dtype, a.device, a.requires_grad))
            else:
                prog = self.programs.get(tuple(sig), False)
                if prog:
                    return prog.run([a.data for a in args])
        args = _as_tensors(args)
        kwargs = _as_tensors(kwargs)
        leaves = _flatten((args, kwargs), [])
        sig = _signature(leaves)
        if sig in self.programs:
            prog = self.programs[sig]
            if prog is None:
                return self.fn(*args, **kwargs)
            self.programs.move_to_end(sig)
            return prog.run([t.data if isinstance(t, Tensor) else None for t in leaves])
        return self._record(sig, leaves, args, kwargs)

    def _record(self, sig, leaves, args, kwargs):
        trace = Trace()
        input_slots = [trace.slot(t.data) if isinstance(t, Tensor) else None for t in leaves]
        autograd._mode.trace = trace
        try:
            out = self.fn(*args, **kwargs)
        finally:
            autograd._mode.trace = None
        self.traces += 1
        if trace.value_read is not None:
            warnings.warn(f"ge.jit: {getattr(self.fn, '__name__', self.fn)!r} cannot be "
                          f"replayed ({trace.value_read}: control flow may depend on it); "
                          "it runs eagerly for this signature", RuntimeWarning, stacklevel=3)
            prog = None
        else:
            prog = Program(trace, input_slots, _template(out, trace))
        self.programs[sig] = prog
        if len(self.programs) > _MAX_PROGRAMS:
            self.programs.popitem(last=False)
        return out

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self.__call__, obj)


def jit(fn=None):
    """Decorator: record ``fn`` once per signature, replay the recorded array program after.

    The signature is the shapes, dtypes, devices and ``requires_grad`` of the Tensor (and
    NumPy array) arguments, the values of scalar arguments, the identity of other objects
    and the grad mode. A replay returns Tensors without a graph.

    Example:
        >>> @ge.jit
        ... def train_step(x, y):
        ...     opt.zero_grad()
        ...     loss = F.mse_loss(model(x), y)
        ...     loss.backward()
        ...     opt.step()
        ...     return loss
    """
    if fn is None:
        return jit
    return _Jitted(fn)
