"""The op record and its one dispatch path, and the nodes it records on the tape.

An op states everything about itself in one place::

    @op(save=("a", "b"))
    def mul(xp, a, b):
        '''a * b with NumPy broadcasting.'''
        return a * b

    mul.defvjp(lambda g, b: g * b,      # the gradient of a reads b
               lambda g, a: g * a)      # the gradient of b reads a

Each gradient rule names, by its parameters after ``g``, what it reads: an input (by the
forward's parameter name), ``out`` (the result), a parameter, or an extra array the
forward returned for the backward (``extras=``), or ``<input>_shape`` / ``<input>_dtype``
(metadata only: nothing is saved). The engine saves -- and version-checks --
only what the rules of the inputs that need a gradient read, and calls only those rules.
A single rule for all inputs (``@mul.vjp``) returns one gradient per input.

Every call that makes an array from Tensors goes through :func:`apply`: the forward runs on
the tensors' array module, the result becomes a Tensor, the node is recorded when a
gradient is needed, and the plug-in hook (ge.jit's recorder) sees the call.
"""

from __future__ import annotations

import inspect
import itertools
import weakref

import numpy as np

from ..backend import CPU, DEFAULT_FLOAT, cupy, fp_quiet, fp_restore, several_gpus
from ..errors import (
    ArgumentError,
    DeviceError,
    DTypeError,
    GraphError,
    IndexingError,
    LinAlgError,
    OutOfMemoryError,
    ShapeError,
)
from . import tensor as _tensor_mod
from .gradmode import _all_finite, _creation_site, _mode
from .tensor import _STALE, Tensor

_F64 = np.dtype("float64")
_INPUT, _OUT, _PARAM, _EXTRA, _SHAPE, _DTYPE, _DEVICE, _REST = 0, 1, 2, 3, 4, 5, 6, 7
_READS_OUT = ((_OUT, 0),)  # a rule that reads the output alone (one shared tuple)


class Op:
    """One operation: its forward on arrays, what it saves, its gradient rules.

    Attributes:
        name: the op's name (the ``F`` function and the op-table row).
        fwd: ``fwd(xp, *arrays, *params)`` -> the output array (``(out, *extras)`` when
            ``extras`` is given; a tuple of arrays for a non-differentiable op).
        inputs / params / extras: the names of the array inputs, the non-array parameters
            and the arrays kept for the backward only.
        differentiable: False for comparisons, argmax, casts to integers, masks.
        view: the output may share memory with the first input (it then shares its
            version counter).
        moves: the output lives on the device its first parameter names (``to``).
        quiet: the forward may make inf or NaN (log 0, overflow) without a NumPy warning,
            as PyTorch does (switched off around the forward in ~0.1 us, not np.errstate).
        random: the forward must run anew at every replay -- it draws from the seeded
            generator (randn, dropout's mask) or copies a host array (``from_host``): a
            ge.jit replay draws again, and such a program is not baked into a CUDA graph.
        kernel: a note of the CUDA kernel the forward uses on the GPU, if any.
        takes_out: the forward accepts a keyword-only ``out=`` buffer of the result's
            shape and dtype (the same numbers, written there).
    """

    __slots__ = ("name", "fwd", "inputs", "params", "extras", "save", "rules", "joint",
                 "differentiable", "view", "moves", "kernel", "doc", "rest", "_plans",
                 "arrays", "quiet", "random", "takes_out")

    def __init__(self, fwd, name=None, save=(), params=(), extras=(), differentiable=True,
                 view=False, moves=False, kernel=None, quiet=False, random=False):
        self.fwd = fwd
        self.random = random
        self.quiet = quiet  # NumPy's floating-point warnings off in the forward (inf, NaN)
        self.name = name or fwd.__name__.rstrip("_")
        self.params = tuple(params)
        self.extras = tuple(extras)
        names = [p.name for p in inspect.signature(fwd).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]
        self.inputs = tuple(n for n in names if n not in self.params)
        # a variadic forward (``def getitem(xp, x, *rest)``): its extra inputs by that name
        self.rest = next((p.name for p in inspect.signature(fwd).parameters.values()
                          if p.kind == p.VAR_POSITIONAL), None)
        # a forward with a keyword-only ``out`` can write its result into a given buffer
        # (ge.jit lowers a parameter's gradient straight into the optimizer's flat buffer)
        self.takes_out = any(p.name == "out" and p.kind == p.KEYWORD_ONLY
                             for p in inspect.signature(fwd).parameters.values())
        self.save = tuple(save)
        self.rules = None
        self.joint = None
        self.arrays = False
        self.differentiable = differentiable
        self.view = view
        self.moves = moves  # the output lives on the device named by the first param
        self.kernel = kernel
        self.doc = fwd.__doc__
        self._plans = {}

    # ------------------------------------------------------------ gradient rules
    def defvjp(self, *rules, arrays=None):
        """One gradient rule per input, ``rule(g, *what_it_reads)`` (None: no gradient).

        ``arrays``: whether the rules also run unchanged on NumPy arrays (see
        :func:`call`); by default, when they use nothing but operators on what they read."""
        self.rules = tuple(None if r is None else (r, self._reads(r)) for r in rules)
        self._plans = {}
        self.arrays = all(r is None or array_safe(r) for r in rules) if arrays is None \
            else bool(arrays)
        return self

    def vjp(self, fn=None, *, arrays=None):
        """Decorator: one rule for all inputs, returning a gradient (or None) per input
        (``@op.vjp`` or ``@op.vjp(arrays=True)``, as for :meth:`defvjp`)."""
        def set_rule(fn):
            self.joint = (fn, self._reads(fn))
            self._plans = {}
            self.arrays = array_safe(fn) if arrays is None else bool(arrays)
            return fn
        return set_rule if fn is None else set_rule(fn)

    def _reads(self, fn):
        spec = []
        for name in list(inspect.signature(fn).parameters)[1:]:
            if name in self.inputs:
                spec.append((_INPUT, self.inputs.index(name)))
            elif name == self.rest:
                spec.append((_REST, len(self.inputs)))
            elif name == "out":
                spec.append((_OUT, 0))
            elif name in self.params:
                spec.append((_PARAM, self.params.index(name)))
            elif name in self.extras:
                spec.append((_EXTRA, self.extras.index(name)))
            elif name.endswith("_shape") and name[:-6] in self.inputs:
                spec.append((_SHAPE, self.inputs.index(name[:-6])))
            elif name.endswith("_dtype") and name[:-6] in self.inputs:
                spec.append((_DTYPE, self.inputs.index(name[:-6])))
            elif name.endswith("_device") and name[:-7] in self.inputs:
                spec.append((_DEVICE, self.inputs.index(name[:-7])))
            else:
                raise TypeError(f"op {self.name}: a gradient rule reads {name!r}, which is "
                                f"none of its inputs {self.inputs}, 'out', its params "
                                f"{self.params} or extras {self.extras}")
            if name in self.inputs or name in ("out", self.rest) or name in self.extras:
                if name not in self.save and name not in self.extras:
                    raise TypeError(f"op {self.name}: a gradient rule reads {name!r} but the "
                                    f"op does not save it (save={self.save})")
        spec = tuple(spec)
        return _READS_OUT if spec == _READS_OUT else spec

    def plan(self, needs):
        """``(inputs to version-check, whether the output is read, the rules to call as
        (input index, rule, what it reads))`` for a needs pattern."""
        p = self._plans.get(needs)
        if p is None:
            reads = set()
            if self.joint is not None:
                reads.update(self.joint[1])
            else:
                for need, rule in zip(needs, self.rules or ()):
                    if need and rule is not None:
                        reads.update(rule[1])
            check = {k for kind, k in reads if kind == _INPUT}
            for kind, k in reads:
                if kind == _REST:
                    check.update(range(k, len(needs)))
            check = tuple(sorted(check))
            calls = () if self.joint is not None else tuple(
                (i, rule[0], rule[1]) for i, (need, rule) in enumerate(zip(needs, self.rules or ()))
                if need and rule is not None)
            # the arguments the node holds on to: those the rules read (values or metadata)
            # and those that need no gradient (constants: ge.viz shows them); an input that
            # needs a gradient and is not read is reached through its edge alone, so the
            # Tensor itself can die with the user's last reference (PyTorch's rule)
            keep = {k for kind, k in reads if kind in (_INPUT, _SHAPE, _DTYPE, _DEVICE)}
            if any(kind == _REST for kind, _ in reads):
                keep.update(range(len(self.inputs), len(needs)))
            drop = tuple(i for i, need in enumerate(needs) if need and i not in keep)
            p = self._plans[needs] = (check, (_OUT, 0) in reads, calls, drop)
        return p

    def __call__(self, *args, params=()):
        return apply(self, *args, params=params)

    def __repr__(self):
        return f"<op {self.name}>"


# Attributes that mean the same on a Tensor and on a NumPy array.
_SAME_ON_ARRAYS = frozenset(("T", "shape", "ndim", "dtype", "size"))


def array_safe(fn, depth=3):
    """Whether the rule ``fn`` runs unchanged on NumPy arrays: its code uses operators and
    the attributes of ``_SAME_ON_ARRAYS`` only, or calls module functions that do."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_freevars or depth == 0:
        return False
    for name in code.co_names:
        if name in _SAME_ON_ARRAYS:
            continue
        ref = fn.__globals__.get(name)
        if not (inspect.isfunction(ref) and array_safe(ref, depth - 1)):
            return False
    return True


def call(op, *args, params=()):
    """``op`` on Tensors through :func:`apply`, or its forward itself on NumPy arrays.

    A first-order backward on the CPU runs the gradient rules of ops marked ``arrays`` on
    the arrays themselves (no Tensor, nothing recorded); a rule that calls ops through
    ``call`` is then the same code on both."""
    if type(args[0]) is np.ndarray:
        out = op.fwd(np, *args, *params)
        if type(out) is np.ndarray or type(out) is tuple:
            return out
        return np.asarray(out)
    return apply(op, *args, params=params)


def op(name=None, **flags):
    """Decorator: turn ``fwd(xp, *arrays, *params)`` into an :class:`Op`."""
    def wrap(fwd):
        return Op(fwd, name=name, **flags)
    return wrap


class Node:
    """A recorded op call: the op, its arguments, which of them need a gradient.

    The gradient of argument ``i`` flows along its edge (:meth:`edge`), fixed when the op
    ran: the node that made the argument then, or the leaf itself. ``args`` holds what the
    gradient rules read and the constants; an input that needs a gradient but is not read
    is ``DROPPED``, so its Tensor dies with the user's last reference (a deep graph keeps
    one tracked object per op for the cyclic collector, not three). ``versions`` holds the
    version of each checked input at record time. ``hooks`` (set only by ``register_hook``
    on the output) are called on the output's gradient before the VJP.
    """

    __slots__ = ("op", "args", "params", "needs", "check", "calls", "versions", "seq",
                 "out_data",
                 "out_ref", "out_version", "grad", "freed", "extra", "_site", "device",
                 "e0", "e1", "edges", "hooks", "__weakref__")

    @property
    def site(self):
        """``file:line`` of the user code that created this node (anomaly mode), or None."""
        return getattr(self, "_site", None)

    def output(self):
        """The output as a Tensor in this graph (recreated if the user dropped it)."""
        t = self._live_output()
        if t is not None:
            return t
        t = Tensor._make(self.out_data, self.device)
        t.node = self
        t._rg = True
        return t

    def out_array(self):
        """The output's array, as the backward reads it (checked like :meth:`output`)."""
        self._live_output()
        return self.out_data

    def _live_output(self):
        """The output Tensor if the user still holds it (None otherwise), after checking
        that it was not changed in place since this op ran."""
        t = self.out_ref() if self.out_ref is not None else None
        if t is not None and t._version != getattr(self, "out_version", 0):
            version_error(self, t, t._version, self.out_version)
        return t

    def edge(self, i: int):
        """Where argument ``i``'s gradient goes: the node that made it when this op ran (so
        a later in-place change of it does not reroute this one), the leaf itself, or None
        for an argument that needs no gradient."""
        if i == 0:
            return self.e0
        if i == 1:
            return self.e1
        return self.edges[i]

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"  # PyTorch's form

    def name(self) -> str:
        """PyTorch's ``grad_fn.name()`` spelling: ``MulBackward0`` for ``mul``."""
        return "".join(p[:1].upper() + p[1:] for p in self.op.name.split("_")) + "Backward0"

    @property
    def next_functions(self) -> tuple:
        """PyTorch's ``grad_fn.next_functions``: one ``(node, 0)`` pair per argument -- the
        node that made it, an :class:`AccumulateGrad` for a leaf that requires grad, or
        ``(None, 0)`` for an argument that needs no gradient (a constant included)."""
        out = []
        for i, need in enumerate(self.needs):
            e = self.edge(i) if need else None
            out.append((AccumulateGrad(e) if isinstance(e, Tensor) else e, 0))
        return tuple(out)


class AccumulateGrad:
    """What :attr:`Node.next_functions` shows for a leaf: the leaf (``variable``) whose
    ``.grad`` the backward accumulates into, as PyTorch's ``AccumulateGrad`` node."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    next_functions = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self):
        return f"<AccumulateGrad of a leaf of shape {tuple(self.variable.shape)}>"


_seq = itertools.count()

DROPPED = object()
"""What ``node.args`` holds for an input the node does not keep (see :meth:`Op.plan`): a
plain ``object()``, which the cyclic collector does not track, so that a tuple of it and
constants is untracked too."""


def on_gpu(dev, fn, *args):
    """``fn(cupy, *args)`` with ``dev``'s GPU current. The switch costs a CUDA runtime call,
    so it is made only on machines with several GPUs (CuPy allocates on the current one)."""
    cp = cupy()
    if several_gpus():
        with cp.cuda.Device(int(dev[5:])):
            return fn(cp, *args)
    return fn(cp, *args)


def _describe(arrays):
    parts = []
    for a in arrays:
        if hasattr(a, "shape") and hasattr(a, "dtype"):
            parts.append(f"{a.dtype.name}{tuple(a.shape)}")
        else:
            parts.append(repr(a) if isinstance(a, (int, float, bool)) else type(a).__name__)
    return " and ".join(parts)


# ---------------------------------------------------------------- forward errors (issue 14)
def _forward_error(op, arrays, err):
    """A NumPy/CuPy error inside a forward, as gradengine's error naming the op, the
    operands and what was wrong, typed by what went wrong (not all ValueErrors are shapes)."""
    if isinstance(err, (ShapeError, DTypeError, DeviceError, GraphError, ArgumentError,
                        OutOfMemoryError)):
        return err
    text = str(err)
    what = _describe(arrays)
    low = text.lower()
    if isinstance(err, MemoryError):
        return OutOfMemoryError(f"{op.name}: out of memory with operands {what}: {text}")
    if "integers to negative" in low:
        return DTypeError(f"{op.name}: integer tensors cannot be raised to negative integer "
                          f"powers (operands {what}); use a float tensor")
    if isinstance(err, IndexError):
        return IndexingError(f"{op.name}: {text} (operands {what})")
    if isinstance(err, TypeError):
        return DTypeError(f"{op.name}: unsupported operand types {what}: {text}")
    if type(err).__name__ == "LinAlgError":  # NumPy's or CuPy's
        return LinAlgError(f"{op.name}: {text} (operands {what})")
    if isinstance(err, ValueError) and ("broadcast" in low or "shape" in low or
                                        "dimension" in low or "size" in low):
        return ShapeError(f"{op.name}: invalid shapes {what}: {text}")
    return ArgumentError(f"{op.name}: {text} (operands {what})")
# ---------------------------------------------------------------- end forward errors


def apply(op, *args, params=()):
    """Run ``op`` on ``args`` (Tensors or constants) and record a node when grad is needed.

    The one dispatch path: every op call, differentiable or not, comes through here."""
    if _STALE[0]:  # (a view written under since its history was taken: see fresh)
        _refresh(args)
    n = len(args)
    need = False
    if n == 1:  # the fast branches: one or two Tensor arguments
        a = args[0]
        if type(a) is Tensor or isinstance(a, Tensor):
            dev = a.device
            need = a._rg
            arrays = (a.data,)
        else:
            dev, arrays = CPU, args
    elif n == 2 and isinstance(args[0], Tensor):
        a, b = args
        dev = a.device
        if isinstance(b, Tensor):
            bd = b.device
            if bd is not dev and bd != dev:
                raise DeviceError(f"{op.name}: expected all tensors on one device, got "
                                  f"{dev!r} and {bd!r}")
            need = a._rg or b._rg
            arrays = (a.data, b.data)
        else:
            need = a._rg
            arrays = (a.data, b)
    else:
        dev = None
        arrays = []
        for a in args:
            if isinstance(a, Tensor):
                d = a.device
                if dev is None:
                    dev = d
                elif d is not dev and d != dev:
                    raise DeviceError(f"{op.name}: expected all tensors on one device, got "
                                      f"{dev!r} and {d!r}")
                arrays.append(a.data)
                if a._rg:
                    need = True
            else:
                arrays.append(a)
        if dev is None:
            dev = CPU
    token = fp_quiet() if op.quiet else None
    try:
        out = op.fwd(np, *arrays, *params) if dev == "cpu" else \
            on_gpu(dev, op.fwd, *arrays, *params)
    except (ValueError, TypeError, IndexError, ZeroDivisionError, OverflowError,
            MemoryError) as e:
        raise _forward_error(op, arrays, e) from None
    finally:
        if token is not None:
            fp_restore(token)
    mode = _mode
    if type(out) is not np.ndarray:
        if out is None or type(out) is tuple and not op.extras:  # a host op, or several outputs
            res = out if out is None else tuple(
                None if o is None else _wrap(o, dev) for o in out)
            if mode.hook is not None:
                mode.hook.op(op, args, params, res)
            return res
        extra = None
        if op.extras:
            out, *extra = out
        if isinstance(out, np.generic):
            out = np.asarray(out)  # NumPy returns scalars from 0-d math; keep 0-d arrays
    else:
        extra = None
    dt = out.dtype
    if dt is _F64 and not _has_float_arg(arrays) and op.differentiable:
        out = out.astype(DEFAULT_FLOAT)  # int tensor op float scalar -> the default float
        dt = DEFAULT_FLOAT
    t = _new(Tensor)
    t.data = out
    t.device = params[0] if op.moves else dev
    t._grad = None
    t.node = None
    t._vc = None
    t._rg = False
    if op.view:
        base = args[0]
        x = arrays[0]
        ob = out.base
        if ob is not None and (ob is x or ob is x.base):
            t._vc = base._counter()
            if n == 1:  # how to find the view in its base again (an in-place write into it)
                t._view = (base, op, params)
                t._hv = t._vc[0]
    if need and mode.enabled and op.differentiable and dt.kind == "f":
        _record(op, args, params, t, out, extra)
    elif mode.anomaly and dt.kind == "f":
        _check_forward(op, arrays, out, None)
    if mode.hook is not None:
        mode.hook.op(op, args, params, t)
    return t


def _refresh(args):
    """:func:`fresh` for the views among ``args`` whose history is older than their
    counter."""
    for a in args:
        if isinstance(a, Tensor):
            vc = a._vc
            if vc is not None and len(vc) > 1:
                hv = getattr(a, "_hv", None)
                if hv is not None and hv != vc[0]:
                    fresh(a)


def fresh(t):
    """Give the view ``t`` the history of its base's current value when its base was
    written in place after ``t``'s history was taken (PyTorch regenerates a view's grad_fn
    the same way): ``t`` is then the view op applied to its base's current node, up the
    chain of views. A no-op for anything else; nothing on the common path calls it (see
    ``_STALE``)."""
    chain = []
    while True:
        view = getattr(t, "_view", None)
        hv = getattr(t, "_hv", None)
        if view is None or hv is None or hv == t._vc[0]:
            break
        chain.append(t)
        t = view[0]
    for v in reversed(chain):
        base, vop, vparams = v._view
        if base._rg:
            mode = _mode
            prev = mode.enabled
            mode.enabled = True  # the view's history, whatever the mode of the op using it
            try:
                new = apply(vop, base, params=vparams)
            finally:
                mode.enabled = prev
            node = new.node
            v.node = node
            v._rg = node is not None
            if node is not None:
                node.out_version = v._vc[0]
                if node.out_ref is not None or getattr(v, "_retain", False):
                    node.out_ref = weakref.ref(v)
        v._hv = v._vc[0]


_tensor_mod._FRESH[0] = fresh


def _wrap(arr, dev):
    if isinstance(arr, np.generic):
        arr = np.asarray(arr)
    return Tensor._make(arr, dev)


_new = object.__new__


def _has_float_arg(arrays):
    for a in arrays:
        dt = getattr(a, "dtype", None)
        if dt is not None and dt.kind == "f":
            return True
    return False


_NEED1 = (True,)
_NEED_A = (True, False)


_DROPPED1 = (DROPPED,)

# The saved-tensor hooks' packer (``autograd.graph.saved_tensors_hooks``), set only while such
# a context is active: ``fn(node, out)`` after a node is recorded. It calls the pack hooks on
# what the node saves and puts their record in ``node.freed`` (truthy, with ``unpack(node)``,
# which the backward calls before the node's VJP): the hot path pays one global check.
_packer = None


def _record(op, args, params, t, out, extra):
    node = Node()
    node.op = op
    node.args = args
    node.params = params
    n = len(args)
    if n == 1:
        needs = _NEED1
    elif n == 2:
        a0, b = args
        needs = (isinstance(a0, Tensor) and a0._rg, b._rg) if isinstance(b, Tensor) else \
            _NEED_A  # a constant second argument: the first is the tensor that needs grad
    else:
        needs = tuple(isinstance(a, Tensor) and a._rg for a in args)
    node.needs = needs
    p = op._plans.get(needs) or op.plan(needs)
    check = p[0]
    node.check = check
    node.calls = p[2]
    versions = None
    for i in check:
        a = args[i]
        if isinstance(a, Tensor) and a._vc is not None and a._vc[0]:
            versions = tuple(a._version if isinstance(a, Tensor) else 0 for a in args)
            break
    node.versions = versions
    # the edges, fixed now: a later in-place change of an input re-records the input, not
    # what this node reads
    if n == 1:
        a0 = args[0]
        node.e0 = a0.node or a0
    elif n == 2:
        a0, a1 = args
        node.e0 = (a0.node or a0) if needs[0] else None
        node.e1 = (a1.node or a1) if needs[1] else None
    else:
        edges = tuple((a.node or a) if need else None for a, need in zip(args, needs))
        node.e0, node.e1 = edges[0], edges[1]
        node.edges = edges
    drop = p[3]
    if drop:
        if n == 1:
            node.args = _DROPPED1
        elif n == 2:
            a0, a1 = args
            node.args = (DROPPED, DROPPED) if len(drop) == 2 else \
                (DROPPED, a1) if drop[0] == 0 else (a0, DROPPED)
        else:
            held = list(args)
            for i in drop:
                held[i] = DROPPED
            node.args = tuple(held)
    node.device = t.device
    save_out = p[1]
    node.seq = next(_seq)
    node.out_data = out
    if save_out:
        node.out_ref = weakref.ref(t)
        node.out_version = 0
    else:
        node.out_ref = None
    node.grad = None
    node.freed = False
    if extra is not None:  # (site, extra and out_version are set only when they exist)
        node.extra = extra
    t.node = node
    t._rg = True
    if _mode.anomaly:
        node._site = _creation_site()
        _check_forward(op, [a.data if isinstance(a, Tensor) else a for a in args], out, node)
    if _packer is not None:  # saved-tensor hooks (autograd.graph) while a context is active
        _packer(node, t)


def _check_forward(op, arrays, out, node):
    if _all_finite(out):
        return
    if all(_all_finite(a) for a in arrays if hasattr(a, "dtype") and a.dtype.kind == "f"):
        site = (node.site if node is not None else None) or _creation_site()
        raise GraphError(f"{op.name}: forward produced NaN or inf in its output (shape "
                         f"{tuple(out.shape)}) from finite inputs; op created at {site}")


def version_error(node, tensor, now, expected):
    raise GraphError(
        f"{node.op.name}: a tensor needed for its gradient has been modified in place: "
        f"the tensor of shape {tuple(tensor.shape)} is at version {now}; expected {expected} "
        f"(its version when {node.op.name} ran); clone it before changing it in place")


def check_saved(node):
    """Raise GraphError when an input this node's backward reads changed since it ran."""
    check = node.check
    if not check:
        return
    versions = node.versions
    args = node.args
    for i in check:
        a = args[i]
        if isinstance(a, Tensor):
            v = versions[i] if versions is not None else 0
            if a._version != v:
                version_error(node, a, a._version, v)


def _fetch(node, kind, k):
    """One value a gradient rule reads."""
    if kind == _INPUT:
        return node.args[k]
    if kind == _OUT:
        return node.output()
    if kind == _PARAM:
        return node.params[k]
    return gather(node, ((kind, k),))[0]


def _call(rule, node, g):
    fn, spec = rule
    if not spec:
        return fn(g)
    if len(spec) == 1:
        kind, k = spec[0]
        return fn(g, _fetch(node, kind, k))
    return fn(g, *gather(node, spec))


def gather(node, spec):
    """The values a gradient rule reads, in its order."""
    out = []
    for kind, k in spec:
        if kind == _INPUT:
            out.append(node.args[k])
        elif kind == _OUT:
            out.append(node.output())
        elif kind == _PARAM:
            out.append(node.params[k])
        elif kind == _EXTRA:  # a Tensor, so that an op given it takes it as an argument
            out.append(Tensor._make(node.extra[k], node.device))
        elif kind == _REST:
            out.append(node.args[k:])
        elif kind == _DEVICE:
            a = node.args[k]
            out.append(a.device if isinstance(a, Tensor) else CPU)
        else:
            a = node.args[k]
            a = a.data if isinstance(a, Tensor) else a
            out.append(np.shape(a) if kind == _SHAPE else getattr(a, "dtype", None))
    return out


def node_grads_arrays(node, g):
    """:func:`node_grads` on NumPy arrays (an op marked ``arrays``, a first-order backward
    on the CPU): the gradients as arrays, or None when a saved array's dtype differs from
    the gradient's (the Tensor rules' type promotion then decides)."""
    op = node.op
    dt = g.dtype
    if op.joint is not None:
        fn, spec = op.joint
        vals = _arrays_of(node, spec, dt)
        if vals is None:
            return None
        grads = fn(g, *vals)
        return grads if type(grads) is tuple else (grads,)
    out = [None] * len(node.needs)
    for i, fn, spec in node.calls:
        if not spec:
            out[i] = fn(g)
            continue
        if spec is _READS_OUT:  # (the activations: they read out)
            out[i] = fn(g, node.out_array())
            continue
        vals = _arrays_of(node, spec, dt)
        if vals is None:
            return None
        out[i] = fn(g, *vals)
    return out


def _arrays_of(node, spec, dt):
    """The values a rule reads, as arrays (None: one of another dtype than ``dt``)."""
    out = []
    for kind, k in spec:
        if kind == _INPUT:
            a = node.args[k]
            if isinstance(a, Tensor):
                a = a.data
                if a.dtype != dt:
                    return None
            out.append(a)
        elif kind == _OUT:
            out.append(node.out_array())
        elif kind == _PARAM:
            out.append(node.params[k])
        elif kind == _EXTRA:
            a = node.extra[k]
            if getattr(a, "dtype", dt) != dt:
                return None
            out.append(a)
        elif kind == _REST:
            return None
        elif kind == _SHAPE:
            a = node.args[k]
            out.append(a.data.shape if isinstance(a, Tensor) else np.shape(a))
        else:
            out.append(gather(node, ((kind, k),))[0])
    return out


def node_grads(node, g):
    """The VJP of ``node`` for upstream ``g``: a gradient (or None) per argument, computed
    only for the arguments that need one."""
    op = node.op
    if op.joint is not None:
        fn, spec = op.joint
        grads = fn(g, *gather(node, spec))
        return grads if isinstance(grads, tuple) else (grads,)
    rules = op.rules
    if rules is None:
        raise GraphError(f"{op.name}: this op has no gradient")
    needs = node.needs
    if len(needs) == 1:  # the common case: one input, its rule reads one saved value
        fn, spec = rules[0]
        if not spec:
            return (fn(g),)
        if len(spec) == 1 and spec[0][0] == _OUT:
            return (fn(g, node.output()),)
        return (fn(g, *gather(node, spec)),)
    if len(needs) == 2 and len(rules) == 2:  # binary ops: no list, one rule per input
        r0, r1 = rules
        g0 = g1 = None
        if needs[0] and r0 is not None:
            g0 = _call(r0, node, g)
        if needs[1] and r1 is not None:
            g1 = _call(r1, node, g)
        return g0, g1
    out = []
    for i, need in enumerate(needs):
        rule = rules[i] if i < len(rules) else None
        if need and rule is not None:
            fn, spec = rule
            out.append(fn(g, *gather(node, spec)) if spec else fn(g))
        else:
            out.append(None)
    return out


def host_call(fn, *args):
    """Run a host-side step (an optimizer update, zero_grad) through the dispatch, so that
    the plug-in hook sees it and a replay runs it too."""
    return apply(_host_op, params=((fn, args),))


def _host(xp, call):
    """Run the host step; the plug-in hook sees the step as one call (a replay runs it
    whole), so what it does inside (``p.grad = None`` in a zero_grad) is not recorded."""
    fn, args = call
    mode = _mode
    hook = mode.hook
    if hook is None:
        fn(*args)
        return
    mode.hook = None
    try:
        fn(*args)
    finally:
        mode.hook = hook


_host_op = Op(_host, name="host_call", params=("call",), differentiable=False)


# ---------------------------------------------------------------- .grad
class _GradClear:
    """``t.grad = None`` as a host step, so that a ge.jit replay clears the gradient where
    the recorded call did (shaped like an optimizer's zero_grad: ``params``, ``_zero_grad``)."""

    __slots__ = ("params",)

    def __init__(self, t):
        self.params = (t,)

    def _zero_grad(self, set_to_none):
        self.params[0]._grad = None


def _get_grad(t):
    return t._grad


def _set_grad(t, value):
    if value is None:
        if _mode.hook is not None:  # (None already: a replay may find one)
            host_call(_GradClear(t)._zero_grad, True)  # recorded: the replay clears it too
        else:
            t._grad = None
        return
    if type(value) is not Tensor and not isinstance(value, Tensor):
        raise TypeError(f"grad: assigned grad expected to be a Tensor or None but got grad of "
                        f"type {type(value).__module__}.{type(value).__name__} (tensor of "
                        f"shape {tuple(t.shape)})")
    if value.data.shape != t.data.shape:
        raise ShapeError(f"grad: assigned grad has data of a different size: a gradient of "
                         f"shape {tuple(value.shape)} for a tensor of shape {tuple(t.shape)}")
    if value.data.dtype != t.data.dtype:
        raise DTypeError(f"grad: assigned grad has dtype {value.dtype.name} but the tensor "
                         f"(shape {tuple(t.shape)}) has dtype {t.dtype.name}; the gradient "
                         "must match the tensor's dtype")
    if value.device != t.device:
        raise DeviceError(f"grad: assigned grad has data located on {value.device!r} but the "
                          f"tensor (shape {tuple(t.shape)}) is on {t.device!r}")
    t._grad = value


Tensor.grad = property(_get_grad, _set_grad, doc="The gradient accumulated by backward() "
                       "(a Tensor of this tensor's shape), or None; an assigned one must "
                       "have the tensor's shape, dtype and device (as torch's).")
