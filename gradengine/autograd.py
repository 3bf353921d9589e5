"""The tape: ops, the nodes they record, and dispatch.

Every differentiable op call records a :class:`Node` with an increasing sequence number
(the tape, in execution order); :mod:`gradengine.backward` walks it in reverse. A node holds
its inputs strongly and its output only weakly, so a graph dies by reference counting alone.
"""

from __future__ import annotations

import functools
import itertools
import weakref

import numpy as np

from .backend import DEFAULT_FLOAT, cupy, several_gpus
from .errors import DeviceError, GraphError, ShapeError
from .gradmode import (_all_finite, _creation_site, _mode, detect_anomaly, enable_grad,  # noqa: F401
                       is_grad_enabled, no_grad, set_grad_enabled)

Tensor = None  # set by gradengine.tensor (the Tensor class needs this module first)
_F64 = np.dtype("float64")


# ---------------------------------------------------------------- ops and nodes

class Op:
    """One differentiable operation: its forward on arrays and its VJP in Tensor ops.

    ``fwd(xp, *arrays, *params)`` returns the output array (or ``(out, extra)`` when
    ``extra=True``: arrays saved for the backward only). ``vjp(g, node)`` returns one
    gradient (Tensor or None) per argument, broadcast-shaped; the engine sums each back
    to its input's shape. ``save_out`` ops read their output in the VJP (sigmoid saves y);
    ``saves_inputs`` ops read their inputs, so in-place changes to them are checked.
    """

    __slots__ = ("name", "fwd", "vjp", "save_out", "saves_inputs", "extra", "differentiable",
                 "doc")

    def __init__(self, fwd, name=None, save_out=False, saves_inputs=True, extra=False,
                 differentiable=True):
        self.fwd = fwd
        self.differentiable = differentiable
        self.name = name or fwd.__name__
        self.vjp = None
        self.save_out = save_out
        self.saves_inputs = saves_inputs
        self.extra = extra
        self.doc = fwd.__doc__

    def defvjp(self, fn):
        self.vjp = fn
        return fn

    def __call__(self, *args, params=()):
        return apply(self, args, params)

    def __repr__(self):
        return f"<op {self.name}>"


def op(name=None, **flags):
    """Decorator: turn ``fwd(xp, *arrays, *params)`` into an :class:`Op`."""
    def wrap(fwd):
        return Op(fwd, name=name, **flags)
    return wrap


class Node:
    """A recorded op call: the op, its arguments, and which of them need a gradient.

    The gradient of argument ``i`` flows to ``args[i].node`` (or to the leaf itself). Only
    when that argument was later changed in place and re-recorded does its history live in
    its ``_prior``; this keeps a node to two GC-tracked objects (itself and ``args``).
    """

    __slots__ = ("op", "args", "params", "needs", "versions", "seq", "out_data", "out_ref",
                 "grad", "freed", "__dict__", "__weakref__")
    extra = None   # arrays the forward saved for the backward only (rare: in __dict__)
    site = None    # "file.py:line" where the op was called (anomaly mode)

    def output(self):
        """The output as a Tensor in this graph (recreated if the user dropped it)."""
        t = self.out_ref() if self.out_ref is not None else None
        if t is not None:
            if t._version:
                _version_error(self, t, t._version, 0)
            return t
        t = Tensor._make(self.out_data, self.args_device())
        t.node = self
        t.requires_grad = True
        return t

    def args_device(self):
        for a in self.args:
            if isinstance(a, Tensor):
                return a.device
        return "cpu"

    def target(self, i: int):
        """Where argument ``i``'s gradient goes: its node when this op ran, or the leaf."""
        a = self.args[i]
        expected = self.versions[i] if self.versions is not None else 0
        if a._version != expected:
            prior = getattr(a, "_prior", None)
            if prior is not None and expected in prior:
                return prior[expected]
        return a.node or a

    def __repr__(self):
        return f"<node {self.op.name} #{self.seq}>"


_seq = itertools.count()


def remember_history(t) -> None:
    """Before an in-place op re-records ``t``: earlier consumers keep routing to its old node.

    Kept in the tensor's ``_prior`` slot ({version: node}), unset (and free) until needed."""
    prior = getattr(t, "_prior", None)
    if prior is None:
        t._prior = prior = {}
    prior[t._version] = t.node


def on_gpu(dev, fn, *args):
    """``fn(cupy, *args)`` with ``dev``'s GPU current. The switch costs a CUDA runtime call,
    so it is made only on machines with several GPUs (CuPy allocates on the current one)."""
    cp = cupy()
    if several_gpus():
        with cp.cuda.Device(int(dev[5:])):
            return fn(cp, *args)
    return fn(cp, *args)


def _shape_error(op, arrays, err):
    shapes = " and ".join(repr(tuple(getattr(a, "shape", ()))) for a in arrays)
    if "broadcast" in str(err):
        return ShapeError(f"{op.name}: shapes {shapes} cannot be broadcast together")
    return ShapeError(f"{op.name}: invalid shapes {shapes}: {err}")


def apply(op, args, params=()):
    """Run ``op`` on ``args`` (Tensors or constants) and record a node when grad is needed."""
    dev = None
    need = False
    arrays = []
    for a in args:
        if isinstance(a, Tensor):
            d = a.device
            if dev is None:
                dev = d
            elif d is not dev and d != dev:
                raise DeviceError(f"{op.name}: expected all tensors on one device, got {dev!r} "
                                  f"and {d!r}")
            arrays.append(a.data)
            if a.requires_grad:
                need = True
        else:
            arrays.append(a)
    if dev is None:
        dev = "cpu"
    try:
        out = op.fwd(np, *arrays, *params) if dev == "cpu" else \
            on_gpu(dev, op.fwd, *arrays, *params)
    except ValueError as e:
        if isinstance(e, ShapeError):
            raise
        raise _shape_error(op, arrays, e) from None
    return _finish(op, args, params, out, dev, need)


def apply1(op, a, *params):
    """``apply`` for one Tensor input (activations)."""
    if not isinstance(a, Tensor):
        a = Tensor(a)
    dev = a.device
    try:
        out = op.fwd(np, a.data, *params) if dev == "cpu" else \
            on_gpu(dev, op.fwd, a.data, *params)
    except ValueError as e:
        if isinstance(e, ShapeError):
            raise
        raise _shape_error(op, (a.data,), e) from None
    return _finish(op, (a,), params, out, dev, a.requires_grad)


def apply2(op, a, b):
    """``apply`` for the binary operators (a is a Tensor): the hot path of every step."""
    dev = a.device
    if isinstance(b, Tensor):
        bd = b.device
        if bd is not dev and bd != dev:
            raise DeviceError(f"{op.name}: expected all tensors on one device, got {dev!r} "
                              f"and {bd!r}")
        need = a.requires_grad or b.requires_grad
        barr = b.data
    else:
        need = a.requires_grad
        barr = b
    try:
        out = op.fwd(np, a.data, barr) if dev == "cpu" else on_gpu(dev, op.fwd, a.data, barr)
    except ValueError as e:
        raise _shape_error(op, (a.data, barr), e) from None
    return _finish(op, (a, b), (), out, dev, need)


def rapply2(op, b, a):
    """``apply2`` with the Tensor on the right (``2.0 - t``)."""
    if isinstance(b, Tensor):
        return apply(op, (b, a))
    dev = a.device
    try:
        out = op.fwd(np, b, a.data) if dev == "cpu" else on_gpu(dev, op.fwd, b, a.data)
    except ValueError as e:
        raise _shape_error(op, (b, a.data), e) from None
    return _finish(op, (b, a), (), out, dev, a.requires_grad)


def _finish(op, args, params, out, dev, need):
    """Wrap a forward's result in a Tensor, log it under ge.jit, record its node if needed."""
    extra = None
    cast = None
    converted = type(out) is not np.ndarray
    if converted:
        if op.extra:
            out, extra = out
        if dev == "cpu" and type(out) is not np.ndarray:
            out = np.asarray(out)  # NumPy returns scalars from 0-d math; keep 0-d arrays
        converted = dev == "cpu"
    dt = out.dtype
    if dt is _F64 and not _has_float_arg(args):
        out = out.astype(DEFAULT_FLOAT)  # int tensor op float scalar -> the default float
        dt = cast = DEFAULT_FLOAT
    mode = _mode
    if mode.trace is not None:
        mode.trace.log_op(op, args, params, out, converted, cast)
    t = _new(Tensor)
    t.data = out
    t.device = dev
    t.grad = None
    t.node = None
    t._version = 0
    if need and mode.enabled and dt.kind == "f" and op.differentiable:
        _record(op, args, params, t, out, extra)
    else:
        t.requires_grad = False
        if mode.anomaly and dt.kind == "f":
            _check_forward(op, [a.data if isinstance(a, Tensor) else a for a in args], out,
                           None)
    return t


_new = object.__new__


def compute(fn, *args):
    """Run ``fn(xp, *arrays)`` on Tensors (or constants) where no gradient flows: masks and
    fused backward kernels inside VJPs. Returns a Tensor (a tuple of them for a tuple result).
    Going through here, rather than touching ``.data``, is what lets ``ge.jit`` replay it."""
    dev = "cpu"
    for a in args:
        if isinstance(a, Tensor):
            dev = a.device
            break
    arrays = [a.data if isinstance(a, Tensor) else a for a in args]
    xp = np if dev == "cpu" else cupy()
    out = fn(np, *arrays) if dev == "cpu" else on_gpu(dev, fn, *arrays)
    if _mode.trace is not None:
        _mode.trace.log_compute(fn, xp, args, out)
    if isinstance(out, tuple):
        return tuple(None if o is None else Tensor._make(o, dev) for o in out)
    return Tensor._make(out, dev)


def _has_float_arg(args):
    for a in args:
        dt = a.data.dtype if isinstance(a, Tensor) else getattr(a, "dtype", None)
        if dt is not None and dt.kind == "f":
            return True
    return False


_NEED1 = (True,)
_NEED_A = (True, False)


def _record(op, args, params, t, out, extra):
    node = Node()
    node.op = op
    node.args = args
    node.params = params
    a_t = isinstance(args[0], Tensor)
    n = len(args)
    # versions stay None while every input is at version 0 (no tuple for the common case)
    if n == 1 and a_t:
        a = args[0]
        node.needs = _NEED1
        node.versions = (a._version,) if a._version else None
    elif n == 2 and a_t:
        a, b = args
        if isinstance(b, Tensor):
            node.needs = (a.requires_grad, b.requires_grad)
            node.versions = (a._version, b._version) if a._version or b._version else None
        else:
            node.needs = _NEED_A
            node.versions = (a._version, 0) if a._version else None
    else:
        node.needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        vs = tuple(a._version if isinstance(a, Tensor) else 0 for a in args)
        node.versions = vs if any(vs) else None
    node.seq = next(_seq)
    node.out_data = out
    node.out_ref = weakref.ref(t) if op.save_out else None
    node.grad = None
    node.freed = False
    if extra is not None:
        node.extra = extra
    t.node = node
    t.requires_grad = True
    if _mode.anomaly:
        node.site = _creation_site()
        _check_forward(op, [a.data if isinstance(a, Tensor) else a for a in args], out, node)


def log_host_call(fn, *args) -> None:
    """Under ``ge.jit`` recording, log a host-side step (an optimizer update, zero_grad)
    that works on arrays directly, so that replays run it too. A no-op otherwise."""
    if _mode.trace is not None:
        _mode.trace.log_call(functools.partial(fn, *args) if args else fn)


def _check_forward(op, arrays, out, node):
    if _all_finite(out):
        return
    if all(_all_finite(a) for a in arrays if hasattr(a, "dtype") and a.dtype.kind == "f"):
        site = node.site if node is not None else _creation_site()
        raise GraphError(f"{op.name}: forward produced NaN or inf in its output (shape "
                         f"{tuple(out.shape)}) from finite inputs; op created at {site}")


def _version_error(node, tensor, now, expected):
    raise GraphError(
        f"{node.op.name}: a tensor needed for its gradient has been modified in place: "
        f"the tensor of shape {tuple(tensor.shape)} is at version {now}; expected {expected} "
        f"(its version when {node.op.name} ran); clone it before changing it in place")


def _check_versions(node):
    versions = node.versions
    for i, a in enumerate(node.args):
        if isinstance(a, Tensor):
            v = versions[i] if versions is not None else 0
            if a._version != v:
                _version_error(node, a, a._version, v)


from .backward import _prepare_roots, grad, run_backward  # noqa: E402,F401 - the public face
