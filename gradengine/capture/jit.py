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

import dis
import functools
import operator
import os
import warnings
import weakref
from collections import OrderedDict

import numpy as np

from .. import backend
from ..backend import DEFAULT_FLOAT
from ..core.backward import ones_like
from ..core.gradmode import _mode, state_epoch
from ..core.op import _host_op
from ..core.tensor import Tensor
from ..ops import to_host
from .flat_step import FlatStep
from .lower import CONST, LIVE, SLOT, Lowerer, Val, quiet_fp

_MAX_PROGRAMS = 8


class Trace:
    """The recorder: turns the engine's array operations into replayable steps.

    A step is ``(fn, specs, out, kind)``: ``fn`` is called with the values ``specs``
    describe and its result goes to slot(s) ``out``; ``kind`` tells the lowering what the
    step is: ``("op", op, n_args, plain)``, ``("compute", fn)``, ``("inplace",)``,
    ``("setgrad", leaf)`` or ``("call", fn, grads)`` (see :mod:`gradengine.capture.lower`).
    """

    def __init__(self):
        self.steps = []
        self.slots = {}        # id(array) -> slot
        self.keep = []         # arrays kept alive while recording, so ids stay unique
        self.consts = set()    # ids of arrays made inside the function: constants
        self.fresh_grads = {}  # slot -> leaf whose .grad it became (assigned, not added)
        self.cleared_at_exit = []  # leaves whose .grad the function left None
        self.value_read = None  # what made the trace depend on values, if anything
        self.reduced = set()   # distributed: ids of leaves whose .grad a commit hook averaged
        self.quiet = False     # a step ran with NumPy's warnings off (the backward walk)

    def slot(self, arr):
        s = len(self.keep)
        self.slots[id(arr)] = s
        self.keep.append(arr)
        return s

    def constant(self, arr):
        """``arr`` was made inside the function (a backward seed): a constant."""
        self.consts.add(id(arr))
        self.keep.append(arr)

    def ref(self, x):
        if isinstance(x, Tensor):
            s = self.slots.get(id(x.data))
            if s is not None:
                return (SLOT, s)
            return (CONST, x.data) if id(x.data) in self.consts else (LIVE, x)
        if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.generic):
            s = self.slots.get(id(x))
            return (SLOT, s) if s is not None else (CONST, x)
        return (CONST, x)

    def _out(self, out):
        if isinstance(out, tuple):
            return tuple(None if o is None else self.slot(o) for o in out)
        return self.slot(out)

    # -- the hook: called by the dispatch and by the gradient commit ----------------------
    def op(self, op, args, params, out):
        if op is to_host:  # a read of values on the host: control flow may depend on it
            if self.value_read is None and id(args[0].data) in self.slots:
                self.value_read = "a value computed inside the function was read on the host"
            return
        if op is _host_op:
            fn, fargs = params[0]
            self._call(functools.partial(fn, *fargs) if fargs else fn, fn, fargs)
            return
        if op is ones_like:  # the backward's seed: the same at every replay, a constant
            self.constant(out.data)
            return
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        fwd = op.fwd
        if not self.quiet and np.geterr()["invalid"] == "ignore":
            self.quiet = True  # eager ran it without warnings: so will the replay
        if out is None:  # an in-place write (assign)
            xp = np if isinstance(arrays[0], np.ndarray) else backend.cupy()
            specs = [(CONST, xp)] + [self.ref(a) for a in args] + [(CONST, p) for p in params]
            self.steps.append((fwd, specs, None, ("inplace",)))
            return
        first = out[0] if isinstance(out, tuple) else out
        xp = np if isinstance(first.data, np.ndarray) else backend.cupy()
        cast = None
        if not isinstance(out, tuple):
            if out.data.dtype == DEFAULT_FLOAT and op.differentiable and not any(
                    getattr(a, "dtype", None) is not None and a.dtype.kind == "f"
                    for a in arrays):
                cast = DEFAULT_FLOAT
            if op.extras or cast is not None or out.data.ndim == 0:
                fwd = _post(fwd, bool(op.extras), cast)
        specs = [(CONST, xp)] + [self.ref(a) for a in args] + [(CONST, p) for p in params]
        extra = getattr(out.node, "extra", None) if not isinstance(out, tuple) and \
            out.node is not None else None
        if extra is not None:  # the backward reads them: they are values of the program
            fwd = _post(op.fwd, True, cast, keep_extras=True)
            slots = (self.slot(out.data),) + tuple(self.slot(e) for e in extra)
            self.steps.append((fwd, specs, slots, ("op", op)))
        elif isinstance(out, tuple):
            slots = tuple(None if o is None else self.slot(o.data) for o in out)
            self.steps.append((fwd, specs, slots, ("op", op)))
        else:
            self.steps.append((fwd, specs, self.slot(out.data), ("op", op)))

    def grad(self, leaf, g, accumulate, copy):
        # The recorded choice (assign when .grad was None, else accumulate) is replayed.
        step = _SetGrad(leaf, copy, accumulate)
        spec = self.ref(g)
        s = self.slot(leaf.grad.data)  # later reads of leaf.grad see this slot
        self.steps.append((step, [spec], s, ("setgrad", leaf)))
        if not accumulate:
            self.fresh_grads[s] = leaf

    def _call(self, call, fn, fargs):
        grads = None
        owner = getattr(fn, "__self__", None)
        if _is_optimizer_step(fn):
            # which gradient each parameter holds as the optimizer reads it
            grads = [None if p.grad is None else self.slots.get(id(p.grad.data), -1)
                     for p in owner.params]
        self.steps.append((call, [], None, ("call", call, grads)))


def _is_optimizer_step(fn):
    owner = getattr(fn, "__self__", None)
    return getattr(fn, "__name__", "") == "_step" and hasattr(owner, "update_arrays")


def _post(fwd, extra, cast, keep_extras=False):
    """The op's forward plus the conversions ``apply`` made to its result (with the extra
    arrays it keeps for the backward when ``keep_extras``: the backward reads them)."""
    def run(*vals):
        res = fwd(*vals)
        out = res[0] if extra else res
        if isinstance(out, np.generic):
            out = np.asarray(out)
        out = out.astype(cast) if cast is not None else out
        return (out, *res[1:]) if keep_extras else out
    return run


class _SetGrad:
    """Replay of the engine's commit of a gradient to a leaf's ``.grad``: assigned when
    ``.grad`` is None at that moment, else added (``accumulate`` is what the recording
    did)."""

    __slots__ = ("leaf", "copy", "accumulate")

    def __init__(self, leaf, copy, accumulate):
        self.leaf = leaf
        self.copy = copy
        self.accumulate = accumulate

    def __call__(self, g):
        leaf = self.leaf
        if leaf.grad is not None:  # as eagerly: add to a gradient nobody cleared
            g = leaf.grad.data + g
        elif self.copy:
            g = g.copy()
        leaf.grad = Tensor._make(g, leaf.device)
        return g


class Program:
    """A recorded step compiled to one Python function (see :mod:`gradengine.capture.lower`):
    each value is a local variable, each step one line, so a replay costs little more than
    the array operations themselves."""

    def __init__(self, trace, input_slots, outputs):
        lives = {}
        for _, specs, _, _ in trace.steps:
            for kind, v in specs:
                if kind == LIVE:
                    lives[id(v)] = v
        self.lives = [(t, t.data.shape, t.data.dtype, t._rg) for t in lives.values()]
        self.input_slots = input_slots
        self._all_inputs = None not in input_slots
        self.outputs = outputs
        self.n_steps = len(trace.steps)
        xp = np if all(isinstance(a, np.ndarray) for a in trace.keep) else backend.cupy()
        L = Lowerer(xp)
        vals = {s: Val(f"s{s}", trace.keep[s]) for s in input_slots if s is not None}
        plans = _plan_optimizers(trace)
        self.flat_steps = [f for f, _ in plans.values()]
        targets = {}  # gradient slot -> (FlatStep, index of its parameter)
        for flat, slots in plans.values():
            for j, s in enumerate(slots):
                targets.setdefault(s, (flat, j))
        L.errstate = trace.quiet
        for i, (fn, specs, out, kind) in enumerate(trace.steps):
            what = kind[0]
            if what == "op" and kind[1].quiet:
                L.errstate = True  # the eager op has NumPy's warnings off: so does the replay
            if what in ("op", "compute"):
                _lower_array_step(L, vals, trace, fn, specs, out, kind)
            elif what == "setgrad":
                g = _arg(L, vals, specs[0])
                target = targets.pop(out, None) if specs[0][0] == SLOT else None
                if target is not None:
                    flat, j = target
                    gname = L.name(flat.grads[j], "g")
                    vals[out] = L.retarget(g, gname, flat.grads[j])
                    # the slot itself: the buffer's Tensor fits by construction (the
                    # setter's shape, dtype and device checks held when it was recorded)
                    L.host(f"{L.name(kind[1], 't')}._grad = {L.name(flat.grad_tensors[j], 'g')}")
                else:
                    v = L.var()
                    L.line(f"{v} = {L.name(fn, 'f')}({g.expr})")
                    L.uncapturable = "a gradient is assigned or added outside the optimizer"
                    if out is not None:
                        vals[out] = Val(v, trace.keep[out])
            elif what == "call" and i in plans:
                L.flat_step(plans[i][0])
            elif what == "call" and _clears_grads(fn):
                owner = fn.func.__self__
                params = owner.parameters() if hasattr(owner, "parameters") else owner.params
                # a gradient the program assigns before any other host call needs no None
                assigned = _assigned_next(trace, i, targets)
                params = tuple(p for p in params if id(p) not in assigned)
                if params:
                    L.host(f"for _p in {L.name(params, 'c')}: _p._grad = None")
            else:  # an in-place update or a host call: called as recorded
                args = ", ".join(_arg(L, vals, sp).expr for sp in specs)
                L.line(f"{L.name(fn, 'f')}({args})")
                if what == "call":
                    L.uncapturable = f"it calls {getattr(fn, '__qualname__', fn)!r} on the host"
        if trace.cleared_at_exit:
            L.host(f"for _p in {L.name(tuple(trace.cleared_at_exit), 'c')}: _p._grad = None")
        self.result_slots = sorted(_slots_of(outputs))
        results = []
        for s in self.result_slots:
            v = vals[s]
            results.append(f"{v.expr}.copy()" if v.static else v.expr)
        params = [f"s{s}" for s in input_slots if s is not None]
        body = L.lines + [f"return ({''.join(r + ', ' for r in results)})"]
        lines = [f"def replay({', '.join(params)}):"]
        quiet = quiet_fp() if L.errstate else None
        if quiet is not None:  # floating-point warnings off, as the eager ops have them
            L.env["_fp_set"], L.env["_fp_reset"], L.env["_fp_quiet"] = quiet
            lines += ["    _tok = _fp_set(_fp_quiet)", "    try:"]
            lines += [f"        {ln}" for ln in body]
            lines += ["    finally:", "        _fp_reset(_tok)"]
        elif L.errstate:
            L.env["_errstate"] = np.errstate
            lines.append("    with _errstate(all='ignore'):")
            lines += [f"        {ln}" for ln in body]
        else:
            lines += [f"    {ln}" for ln in body]
        self.source = "\n".join(lines)
        env = L.env
        exec(compile(self.source, "<ge.jit replay>", "exec"), env)  # noqa: S102 - our own code
        self._replay = env["replay"]
        self.graph = None
        if xp is not np and os.environ.get("GRADENGINE_CUDA_GRAPHS", "1") != "0":
            self.graph = GraphReplay(L, params, [vals[s].expr for s in self.result_slots],
                                     trace)

    def guard(self):
        """Whether every tensor read live still has its recorded shape, dtype and
        requires_grad (a frozen parameter changes what the step computes)."""
        for t, shape, dtype, rg in self.lives:
            d = t.data
            if t._rg is not rg or d.shape != shape or d.dtype != dtype:
                return False
        return True

    def run(self, arrays):
        if not self._all_inputs:
            arrays = [a for s, a in zip(self.input_slots, arrays) if s is not None]
        if self.graph is not None and self.graph.usable:
            vals = self.graph.run(arrays)
        else:
            vals = self._replay(*arrays)
        out = self.outputs
        if out[0] == "slot":  # one Tensor returned: the common case
            return Tensor._make(vals[0], out[2])
        return _rebuild(out, dict(zip(self.result_slots, vals)))


class GraphReplay:
    """A CUDA program replayed as one CUDA graph launch (:mod:`gradengine.cuda.graph`).

    The program's lines are split in two: the array work (forward, backward, gradients
    into the optimizer's flat buffer and, for SGD, the update itself), captured once into
    a graph that reads the inputs from fixed buffers; and the host bookkeeping (``.grad``
    attributes, version counters, Adam's step, whose bias corrections change every step and
    so run as a few kernels on the flat buffers after the graph). A call copies the inputs
    in, launches the graph, does the bookkeeping and copies the results out: no host
    synchronisation, and no allocation inside the graph.

    Re-captured when what the graph baked in changes: a parameter or constant rebound to
    another array, the optimizer's buffers reallocated, its hyperparameters changed. A step
    that cannot be captured (CaptureError) is replayed uncaptured from then on, with one
    warning.
    """

    def __init__(self, L, params, results, trace):
        self.lines, self.kinds, self.env, self.name = list(L.lines), dict(L.kinds), L.env, L.name
        self.params, self.results = params, results
        self.flats = [k for k in L.kinds.values() if k != "host"]
        self.lives = [v for _, specs, _, _ in trace.steps for kind, v in specs if kind == LIVE]
        self.usable = L.uncapturable is None
        self.reason = L.uncapturable
        self.graph = None
        self.captures = 0

    def _key(self):
        """What the captured graph baked in."""
        return ([(f.layout, f.graph_safe(), f.hyper()) for f in self.flats],
                [t.data for t in self.lives])

    def _compile(self, in_graph):
        dev, host = [], []
        for i, ln in enumerate(self.lines):
            k = self.kinds.get(i)
            if k is None:
                dev.append(ln)
            elif k == "host":
                host.append(ln)
            elif k in in_graph:
                dev.append(f"{self.name(k)}.device_step()")
                host.append(f"{self.name(k)}.after_device_step()")
            else:
                host.append(ln)
        dev.append(f"return ({''.join(r + ', ' for r in self.results)})")
        src = (f"def device({', '.join(self.params)}):\n" +
               "\n".join(f"    {ln}" for ln in dev) +
               "\ndef host():\n" + "\n".join(f"    {ln}" for ln in host + ["pass"]))
        exec(compile(src, "<ge.jit graph>", "exec"), self.env)  # noqa: S102 - our own code
        return self.env["device"], self.env["host"]

    def run(self, arrays):
        for f in self.flats:
            if not f.in_sync():
                f.sync()
        if self.graph is None or self._key_changed():
            return self._capture(arrays)
        for buf, a in zip(self.static, arrays):
            self.xp.copyto(buf, a)
        vals = self.graph.launch()
        self.host()
        return tuple(v.copy() for v in vals)

    def _key_changed(self):
        layout, datas = self._key()
        return layout != self.key[0] or any(a is not b for a, b in zip(datas, self.key[1]))

    def _capture(self, arrays):
        from ..cuda import graph as cuda_graph
        from ..errors import CaptureError
        self.xp = xp = backend.cupy()
        in_graph = [f for f in self.flats if f.graph_safe()]
        device, self.host = self._compile(in_graph)
        static = [xp.empty_like(a) for a in arrays]
        for buf, a in zip(static, arrays):
            xp.copyto(buf, a)
        first = []

        def step():
            vals = device(*static)
            if not first:
                first.append(vals)
            return vals
        dev_id = int(arrays[0].device.id) if arrays else 0
        self.key = self._key()
        try:
            self.graph = cuda_graph.capture(step, dev_id)
        except CaptureError as exc:
            if not first:  # the warm-up itself failed: nothing ran; run it uncaptured
                raise
            self.usable, self.reason, self.graph = False, str(exc), None
            warnings.warn(f"ge.jit: this step is replayed without a CUDA graph ({exc})",
                          RuntimeWarning, stacklevel=4)
        self.static = static
        self.captures += 1
        self.host()  # the warm-up did this call's array work; now its bookkeeping
        return tuple(v.copy() for v in first[0])


def _arg(L, vals, spec):
    kind, v = spec
    if kind == SLOT:
        return vals[v]
    if kind == LIVE:  # read at every replay: optimizers rebind .data
        return Val(f"{L.name(v, 't')}.data", v.data)
    return Val(L.literal(v), v, const=True)


def _lower_array_step(L, vals, trace, fn, specs, out, kind):
    """An op's forward: folded when all its inputs are constants, else called as recorded
    (a random draw is made anew at every replay: never folded, never merged with another)."""
    outs = out if isinstance(out, tuple) else (out,)
    arrays = tuple(None if o is None else trace.keep[o] for o in outs)
    random = kind[0] == "op" and kind[1].random
    if random:
        L.uncapturable = f"it calls {kind[1].name}, which must run anew at every replay " \
                         "(a random draw, or a copy of a host array), and a CUDA graph " \
                         "would repeat it"
    elif all(k == CONST for k, _ in specs):  # e.g. the backward seed times a scale
        for o, a in zip(outs, arrays):
            if o is not None:
                vals[o] = Val(L.name(a, "k"), a, const=True, static=True)
        return
    args = [_arg(L, vals, sp) for sp in specs[1:]]
    res = None
    if not isinstance(out, tuple) and not random:  # an identical call is made once
        res = L.call(L.name(fn, "f"), [L.literal(specs[0][1])] + args, arrays[0],
                     out_ok=kind[0] == "op" and kind[1].takes_out and fn is kind[1].fwd)
    if res is None:
        text = ", ".join([L.literal(specs[0][1])] + [a.expr for a in args])
        names = [L.var() if o is not None else "_" for o in outs]
        lhs = f"{names[0]}," if len(outs) == 1 and isinstance(out, tuple) else ", ".join(names)
        L.lines.append(f"{lhs} = {L.name(fn, 'f')}({text})")
        res = tuple(None if o is None else Val(nm, a) for o, nm, a in zip(outs, names, arrays))
    elif not isinstance(res, tuple):
        res = (res,)
    for o, r in zip(outs, res):
        if o is not None:
            vals[o] = r


def _cleared_before(trace, stop, params):
    """Whether each of ``params`` had its ``.grad`` set to None by a zero_grad of this
    step before its gradient was assigned, with no other host call in between: then the
    assignment is certainly an assignment (never an addition) at every replay."""
    pending = {id(p) for p in params}
    seen_grad = set()
    for fn, _, _, kind in reversed(trace.steps[:stop]):
        if kind[0] == "setgrad":
            seen_grad.add(id(kind[1]))
        elif kind[0] == "call":
            if not _clears_grads(fn):
                return False
            owner = fn.func.__self__
            cleared = owner.parameters() if hasattr(owner, "parameters") else owner.params
            pending -= {id(p) for p in cleared if id(p) in seen_grad}
            if not pending:
                return True
    return False


def _assigned_next(trace, start, targets):
    """ids of the leaves whose ``.grad`` the program sets to its gradient buffer after step
    ``start`` and before any host call or in-place update (which might read it)."""
    out = set()
    for _fn, _, out_slot, kind in trace.steps[start + 1:]:
        if kind[0] in ("call", "inplace"):
            break
        if kind[0] == "setgrad" and out_slot in targets:
            out.add(id(kind[1]))
    return out


def _clears_grads(fn):
    """``opt.zero_grad()`` / ``module.zero_grad()`` with set_to_none (the default)."""
    if not isinstance(fn, functools.partial) or len(fn.args) != 1 or fn.args[0] is not True:
        return False
    return getattr(fn.func, "__name__", "") == "_zero_grad"


def _plan_optimizers(trace):
    """``{step index: (FlatStep, gradient slots)}`` for each ``opt.step()`` whose every
    gradient was computed and assigned (not accumulated) in this trace, all of one dtype
    and device; any other step stays a host call."""
    plans, taken = {}, set()
    for i, (fn, _, _, kind) in enumerate(trace.steps):
        if kind[0] != "call" or kind[2] is None:
            continue
        opt = fn.__self__
        grads = kind[2]
        index = [k for k, s in enumerate(grads) if s is not None]
        if not index:
            continue
        params = [opt.params[k] for k in index]
        slots = [grads[k] for k in index]
        ok = all(s in trace.fresh_grads and trace.fresh_grads[s] is p
                 for s, p in zip(slots, params))
        ok = ok and _cleared_before(trace, i, params)
        ok = ok and len({(p.data.dtype, p.device) for p in params}) == 1 and \
            params[0].data.dtype.kind == "f" and not taken & {id(p) for p in params}
        ok = ok and all(trace.keep[s].shape == p.data.shape and
                        trace.keep[s].dtype == p.data.dtype for s, p in zip(slots, params))
        if ok:
            plans[i] = (FlatStep(opt, index), slots)
            taken |= {id(p) for p in params}
    return plans


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


def _has_open_graph(out):
    """Whether a returned Tensor has a graph a caller could still backpropagate through."""
    for t in _flatten(out, []):
        if isinstance(t, Tensor) and t.node is not None and not t.node.freed:
            return True
    return False


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


def _signature(leaves, ctx=()):
    """The cache key of a call: Tensors by (shape, dtype, device, requires_grad), Python
    and NumPy scalars by value, other objects by weak reference plus the structure and
    ``requires_grad`` flags of their parameters (and a module's state) -- never a bare
    ``id()``; ``ctx``: what the function reads from outside (:class:`_Context`)."""
    sig = [_mode.enabled, ctx]
    for a in leaves:
        if isinstance(a, Tensor):
            sig.append((a.data.shape, a.data.dtype, a.device, a._rg))
        elif isinstance(a, (int, float, bool, str, bytes, type(None), np.generic)):
            sig.append(("S", type(a), a))
        else:
            sig.append(_object_key(a))
    return tuple(sig)


def _object_key(obj):
    params = _params_of(obj)
    structure = None if params is None else tuple(
        (tuple(p.data.shape), p.data.dtype, p.device, p._rg) for p in params)
    if _is_module(obj):  # train()/eval() and a module's settings change what it computes
        structure = (structure, _module_state(obj))
    try:
        ref = weakref.ref(obj)
    except TypeError:  # not weakly referenceable: held (so its id cannot be reused)
        try:
            hash(obj)
            return ("V", type(obj), obj, structure)
        except TypeError:
            return ("H", _Held(obj), structure)
    return ("W", ref, structure)


class _Held:
    """An unhashable argument kept alive by the key, compared by identity."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return type(other) is _Held and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


_SCALARS = (bool, int, float, complex, str, bytes, type(None))


def _is_module(obj):
    return isinstance(getattr(obj, "__dict__", None), dict) and "_modules" in obj.__dict__ \
        and callable(getattr(obj, "modules", None))


def _module_state(obj):
    """The settings of a module and its descendants that a recording bakes in: ``training``
    and every attribute holding a Python or NumPy scalar (``p``, ``eps``, a user's
    ``scale``), by value."""
    return tuple(tuple((k, v) for k, v in m.__dict__.items()
                       if isinstance(v, _SCALARS) or isinstance(v, np.generic))
                 for m in obj.modules())


class _Context:
    """What a jitted function reads from outside its arguments: its closure cells and the
    globals its code names, where they hold Python or NumPy scalars (keyed by value),
    modules (by weak reference and :func:`_module_state`) or optimizers (by weak
    reference). A replay is valid only while these are what they were at its recording,
    as for the arguments (torch.compile guards on them the same way).

    Module state is re-read only when a module attribute changed since the last call
    (``state_epoch``); the cells and globals themselves are read at every call (a few
    dictionary lookups)."""

    __slots__ = ("cells", "names", "globals", "last", "epoch", "key")

    def __init__(self, fn):
        fn = getattr(fn, "__func__", fn)
        while isinstance(fn, functools.partial):
            fn = fn.func
        code = getattr(fn, "__code__", None)
        self.globals = getattr(fn, "__globals__", None) or {}
        cells = getattr(fn, "__closure__", None) or () if code is not None else ()
        # a cell still empty, or a global not yet defined, may hold a model or a tensor by
        # the first call: watched too
        self.cells = tuple(c for c in cells if _relevant(_cell_value(c), c))
        g = self.globals
        self.names = tuple(n for n in _global_names(code) if _relevant(g.get(n), n not in g))
        self.last = None
        self.epoch = -1
        self.key = ()

    def current(self):
        """The key of what the function reads now (cached while nothing changed)."""
        cells, names = self.cells, self.names
        if not cells and not names:
            return ()
        try:
            vals = tuple(map(_CONTENTS, cells))
            if names:
                vals += tuple(map(self.globals.get, names))
        except ValueError:  # an emptied cell
            vals = tuple(map(_cell_value, cells)) + tuple(map(self.globals.get, names))
        last = self.last
        # by identity (never ==, which a Tensor answers elementwise): an equal scalar that
        # is another object only recomputes the key, which then compares equal
        if self.epoch == state_epoch[0] and last is not None and len(vals) == len(last) \
                and all(map(operator.is_, vals, last)):
            return self.key
        self.key = tuple(_context_value(v) for v in vals)
        self.last = vals
        self.epoch = state_epoch[0]
        return self.key


_CONTENTS = operator.attrgetter("cell_contents")


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell (a name assigned later)
        return None


def _relevant(v, unset=False):
    """Whether a cell or global holding ``v`` is part of the key: scalars, Tensors, modules,
    optimizers; ``unset``: a cell still empty or a name not yet defined (watched too)."""
    if unset is True or (unset is not False and v is None and _cell_empty(unset)):
        return True
    return (isinstance(v, _SCALARS) and v is not None) or isinstance(v, np.generic) or \
        isinstance(v, Tensor) or _is_module(v) or \
        isinstance(getattr(v, "param_groups", None), list)


def _cell_empty(cell):
    try:
        _ = cell.cell_contents
    except ValueError:
        return True
    return False


def _global_names(code):
    """The names ``code`` (and the functions and comprehensions nested in it) loads as
    globals, in order (attribute and method names are not globals)."""
    if code is None:
        return ()
    names = {}
    for ins in dis.get_instructions(code):
        if ins.opname == "LOAD_GLOBAL":
            names[ins.argval] = None
    for c in code.co_consts:
        if hasattr(c, "co_code"):
            names.update(dict.fromkeys(_global_names(c)))
    return tuple(names)


class _SameTensor:
    """A key entry for a Tensor a cell or global holds: equal only for that very Tensor
    (a weak reference's ``==`` would compare the Tensors elementwise)."""

    __slots__ = ("ref",)

    def __init__(self, t):
        self.ref = weakref.ref(t)  # CPython gives one plain weak reference per object

    def __call__(self):
        return self.ref()

    def __eq__(self, other):
        return type(other) is _SameTensor and other.ref is self.ref

    def __hash__(self):
        return id(self.ref)


def _context_value(v):
    if isinstance(v, _SCALARS) or isinstance(v, np.generic):
        return ("S", type(v), v)
    if isinstance(v, Tensor):  # by identity: the program reads this tensor live
        return ("W", _SameTensor(v), None)
    try:
        ref = weakref.ref(v)
    except TypeError:
        return ("S", type(v), id(v))
    return ("W", ref, _module_state(v) if _is_module(v) else None)


def _params_of(obj):
    """The parameters of a module or an optimizer argument (None for other objects)."""
    params = getattr(obj, "parameters", None)
    if callable(params):
        try:
            return list(params())
        except TypeError:
            return None
    params = getattr(obj, "params", None)
    if isinstance(params, list) and all(isinstance(p, Tensor) for p in params):
        return params
    return None


def _as_tensors(obj):
    """NumPy arrays among the arguments become Tensors, so that they are program inputs."""
    if isinstance(obj, np.ndarray):
        return Tensor._make(obj, backend.CPU)
    cp = backend.cupy()
    if cp is not None and isinstance(obj, cp.ndarray):
        return Tensor._make(obj, backend.device_of_array(obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_as_tensors(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _as_tensors(v) for k, v in obj.items()}
    return obj


def _forget(jitted_ref, sig):
    jitted = jitted_ref()
    if jitted is not None:
        jitted.programs.pop(sig, None)
        jitted._last = None


class _Jitted:
    def __init__(self, fn):
        self.fn = fn
        self.programs = OrderedDict()  # signature -> Program, or None for "run eagerly"
        self._last = None  # (signature, Program) of the last replay; reset when programs change
        self.traces = 0
        self.context = _Context(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        mode = _mode
        if mode.hook is not None or mode.anomaly:
            # inside another trace: be part of it; anomaly mode: eager, so that it raises
            return self.fn(*args, **kwargs)
        ctx = self.context.current()
        if not kwargs:  # the hot path: positional Tensors only
            sig = [mode.enabled, ctx]
            arrays = []
            for a in args:
                if type(a) is not Tensor:
                    break
                d = a.data
                sig.append((d.shape, d.dtype, a.device, a._rg))
                arrays.append(d)
            else:
                sig = tuple(sig)
                last = self._last  # the last hit: equal tuples compare faster than they hash
                if last is not None and last[0] == sig:
                    prog = last[1]
                else:
                    prog = self.programs.get(sig, False)
                    if prog:
                        self._last = (sig, prog)
                if prog and prog.guard():
                    return prog.run(arrays)
        args = _as_tensors(args)
        kwargs = _as_tensors(kwargs)
        leaves = _flatten((args, kwargs), [])
        sig = _signature(leaves, ctx)
        prog = self.programs.get(sig, False)
        if prog is None:
            return self.fn(*args, **kwargs)
        if prog and prog.guard():
            self.programs.move_to_end(sig)
            return prog.run([t.data if isinstance(t, Tensor) else None for t in leaves])
        return self._record(sig, leaves, args, kwargs)

    def _record(self, sig, leaves, args, kwargs):
        trace = Trace()
        input_slots = [trace.slot(t.data) if isinstance(t, Tensor) else None for t in leaves]
        _mode.hook = trace
        try:
            out = self.fn(*args, **kwargs)
        finally:
            _mode.hook = None
        # A gradient the function set and then cleared without a traced call (``p.grad =
        # None``): the replay clears it at the end too.
        leaves = {id(k[1]): k[1] for _, _, _, k in trace.steps if k[0] == "setgrad"}
        trace.cleared_at_exit = [leaf for leaf in leaves.values() if leaf.grad is None]
        self.traces += 1
        if trace.value_read is None and _has_open_graph(out):
            trace.value_read = ("it returns a tensor that requires grad and whose graph no "
                                "backward inside used (the replay could not give it a graph; "
                                "call it under ge.no_grad() to replay it)")
        if trace.value_read is not None:
            why = trace.value_read
            if why.startswith("a value"):
                why += ": control flow may depend on it"
            warnings.warn(f"ge.jit: {getattr(self.fn, '__name__', self.fn)!r} cannot be "
                          f"replayed ({why}); it runs eagerly for this signature",
                          RuntimeWarning, stacklevel=3)
            prog = None
        else:
            prog = Program(trace, input_slots, _template(out, trace))
            # -- distributed: gradients averaged by a commit hook must be averaged in the
            # replay too, by the flat step's reducer; else this signature runs eagerly
            covered = {id(p) for f in prog.flat_steps if f.reduce is not None for p in f.params}
            if trace.reduced - covered:
                warnings.warn(f"ge.jit: {getattr(self.fn, '__name__', self.fn)!r} runs eagerly "
                              "for this signature: its averaged gradients do not all reach one "
                              "flat optimizer step", RuntimeWarning, stacklevel=3)
                prog = None
            # -- end distributed
        self.programs[sig] = prog
        self._last = None
        for key in sig[2:] + sig[1]:
            if type(key) is tuple and key and key[0] == "W":
                obj = key[1]()
                if obj is not None:  # a program must not keep a dead model alive
                    weakref.finalize(obj, _forget, weakref.ref(self), sig)
        if len(self.programs) > _MAX_PROGRAMS:
            self.programs.popitem(last=False)
        return out

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self.__call__, obj)


def jit(fn=None):
    """Decorator: record ``fn`` once per signature, replay the recorded array program after.

    The cache key is the grad mode, the shapes, dtypes, devices and ``requires_grad`` of
    the Tensor (and NumPy array) arguments, the values of Python and NumPy scalars, and
    other objects (modules, optimizers) by weak reference plus their parameters' structure
    and ``requires_grad`` flags. A replay also checks that every tensor the program reads
    live (parameters) still has the shape, dtype and ``requires_grad`` it was recorded
    with; otherwise the call is recorded anew. Under ``ge.detect_anomaly()`` the function
    runs eagerly. A replay returns Tensors without a graph.

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
