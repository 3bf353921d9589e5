"""``torch.autograd.graph``: hooks on the tensors a node saves for its backward
(:class:`saved_tensors_hooks`, :class:`save_on_cpu`, :func:`disable_saved_tensors_hooks`)
and :class:`Node`, the type of ``t.grad_fn``.

Inside ``with saved_tensors_hooks(pack_hook, unpack_hook):`` every tensor an op saves for
its backward -- an input its gradient rules read, its output when they read it, the extra
arrays its forward keeps (masks, indices), the tensors a ``Function`` saves -- is handed to
``pack_hook`` once, when the op runs (under no_grad, as PyTorch's); the backward calls
``unpack_hook`` on what it returned, each time it reads the value, and the gradient is
computed from the unpacked tensor. The hooks of the innermost context are the ones used
(they are not composed), as PyTorch's.

The core pays nothing when no context is active: the dispatch checks one module-level
name (``core.op._packer``) after recording a node.
"""

from __future__ import annotations

import abc
import sys
import threading

from ..core.gradmode import _mode
from ..core.op import _EXTRA, AccumulateGrad, Op, check_saved
from ..core.op import Node as _CoreNode
from ..core.tensor import Tensor
from ..profiler import _Recorder
from .function import _bind

__all__ = ["Node", "disable_saved_tensors_hooks", "increment_version", "save_on_cpu",
           "saved_tensors_hooks"]


class Node(abc.ABC):  # noqa: B024 - an abstract type with no abstract method, as torch's
    """``torch.autograd.graph.Node``: ``isinstance(t.grad_fn, Node)`` is True for every
    node of the graph (gradengine's recorded nodes and the leaves' ``AccumulateGrad``)."""


Node.register(_CoreNode)
Node.register(AccumulateGrad)


class _State(threading.local):
    stack = ()       # the (pack, unpack) pairs of the contexts open in this thread
    disabled = None  # the message of an open disable_saved_tensors_hooks


_state = _State()
_core_op = sys.modules[_CoreNode.__module__]  # (core.op: the package's `op` is the decorator)
_active = [0]  # contexts open in any thread (the packer is installed while this is not 0)
_lock = threading.Lock()


def _install(delta):
    with _lock:
        _active[0] += delta
        _core_op._packer = _pack if _active[0] else None


class saved_tensors_hooks:  # noqa: N801 - torch's name
    """Context manager: ``pack_hook(tensor)`` on every tensor saved for backward, and
    ``unpack_hook(packed)`` (which must return a Tensor) when the backward reads it.

    Example:
        >>> with ge.autograd.graph.saved_tensors_hooks(lambda t: t.numpy(),
        ...                                            lambda a: ge.tensor(a)):
        ...     y = (x * x).sum()
        >>> y.backward()

    Raises:
        RuntimeError: inside :func:`disable_saved_tensors_hooks` (its message).
    """

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _state.disabled is not None:
            raise RuntimeError(_state.disabled)
        _state.stack = _state.stack + ((self.pack_hook, self.unpack_hook),)
        _install(1)
        return self

    def __exit__(self, *exc):
        _state.stack = _state.stack[:-1]
        _install(-1)
        return False


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - torch's name
    """Context manager: the saved tensors are kept as host copies and moved back to their
    device when the backward reads them (``torch.autograd.graph.save_on_cpu``).

    ``pin_memory`` and ``device_type`` are accepted for PyTorch's signature (a CuPy copy to
    the host is synchronous). gradengine's node also keeps its own reference to the output
    array it made (ge.viz shows it), so this moves the saved copies the gradient reads, not
    all of the forward's GPU memory.
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor):
            host = tensor.data.copy() if tensor.device == "cpu" else tensor.cpu().data
            return tensor.device, Tensor._make(host, "cpu")

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)


class disable_saved_tensors_hooks:  # noqa: N801 - torch's name
    """Context manager: opening a :class:`saved_tensors_hooks` inside raises
    RuntimeError(``error_message``)."""

    def __init__(self, error_message: str):
        self.error_message = error_message

    def __enter__(self):
        self._prev = _state.disabled
        _state.disabled = self.error_message
        return self

    def __exit__(self, *exc):
        _state.disabled = self._prev
        return False


def increment_version(tensor) -> None:
    """``torch.autograd.graph.increment_version``: count an in-place change made behind the
    engine's back (through ``.data``) on ``tensor`` (or each of an iterable of them), so a
    backward that saved it raises."""
    for t in (tensor,) if isinstance(tensor, Tensor) else tensor:
        t._version += 1


# ---------------------------------------------------------------- pack and unpack
def _call_pack(pack, t):
    """``pack(t)`` with no gradient recorded (PyTorch runs the hook under no_grad)."""
    prev = _mode.enabled
    _mode.enabled = False
    try:
        return pack(t)
    finally:
        _mode.enabled = prev


def _pack(node, out):
    """The core's packer: call the innermost pack hook on what ``node`` saves."""
    stack = _state.stack
    if not stack:  # (a context open in another thread only)
        return
    pack, unpack = stack[-1]
    _refuse_replay()
    op = node.op
    if op.fwd is _bind:  # a Function: the tensors its forward saved
        ctx = node.params[0].ctx
        saved = [None if t is None else (t, _call_pack(pack, t)) for t in ctx._saved]
        if any(s is not None for s in saved):
            node.freed = _Packed(unpack, (), None, (), saved)
        return
    check, reads_out, _, _ = op._plans.get(node.needs) or op.plan(node.needs)
    inputs = tuple((i, _call_pack(pack, node.args[i])) for i in check
                   if isinstance(node.args[i], Tensor))
    packed_out = None
    if reads_out:
        # (the record holds the output's array and weak reference, not the Tensor itself)
        packed_out = (node.out_data, node.out_ref, getattr(node, "out_version", 0),
                      _call_pack(pack, out))
    extras = ()
    extra = getattr(node, "extra", None)
    if extra is not None and _reads(op, node.needs, _EXTRA):
        extras = tuple((k, _call_pack(pack, Tensor._make(a, node.device)))
                       for k, a in enumerate(extra) if hasattr(a, "dtype"))
    if inputs or packed_out is not None or extras:
        node.freed = _Packed(unpack, inputs, packed_out, extras, None)


def _refuse_replay():
    """A ge.jit recording under way runs eagerly for its signature: the hooks are Python,
    which a replay would not call (the recorder's own way to refuse, as for a host read)."""
    hook = _mode.hook
    while isinstance(hook, _Recorder):  # a profiler: the hook it chains to
        hook = hook.inner
    if hook is not None and getattr(hook, "value_read", False) is None:
        hook.value_read = "saved_tensors_hooks are active: their pack and unpack hooks are " \
            "Python, which a replay would not call"


def _reads(op, needs, kind):
    if op.joint is not None:
        return any(k == kind for k, _ in op.joint[1])
    return any(need and rule is not None and any(k == kind for k, _ in rule[1])
               for need, rule in zip(needs, op.rules or ()))


class _Fixed:
    """Stands for a node's output weak reference: the unpacked output the rules read."""

    __slots__ = ("t",)

    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


class _Packed:
    """What a node saved, packed; in ``node.freed`` until the backward releases the node."""

    __slots__ = ("unpack_hook", "inputs", "out", "extras", "function", "originals")

    def __init__(self, unpack_hook, inputs, out, extras, function):
        self.unpack_hook = unpack_hook
        self.inputs = inputs
        self.out = out
        self.extras = extras
        self.function = function
        self.originals = None

    def _unpack(self, packed, like, name):
        u = self.unpack_hook(packed)
        if not isinstance(u, Tensor):
            raise TypeError(f"{name}: unpack_hook must return a Tensor, got "
                            f"{type(u).__name__}")
        if like is not None and u is not like and like._rg and _mode.enabled:
            # a double backward through the unpacked value reaches the saved tensor's graph
            u = _as_saved(like, u)
        return u

    def unpack(self, node):
        """Called by the backward before ``node``'s VJP: version-check the tensors saved,
        unpack each, and have the rules read the unpacked values."""
        name = node.op.name
        if self.function is not None:
            self._unpack_function(node, name)
            return
        if self.originals is None:
            self.originals = (node.args, node.versions)
        else:  # a second backward (retain_graph): check the tensors saved, unpack again
            node.args, node.versions = self.originals
        check_saved(node)
        if self.inputs:
            args = list(node.args)
            for i, packed in self.inputs:
                args[i] = self._unpack(packed, args[i], name)
            node.args = tuple(args)  # (the walk's own check then reads the unpacked ones)
            node.versions = tuple(a._version if isinstance(a, Tensor) else 0 for a in args)
        if self.out is not None:
            data, ref, version, packed = self.out
            node.out_data, node.out_ref, node.out_version = data, ref, version
            node._live_output()  # the output was not changed in place since
            like = node.output()
            u = self._unpack(packed, like, name)
            if u is not like:
                node.out_data = u.data  # what the rules on arrays read
                if not getattr(like, "_retain", False):  # (else it must get its .grad)
                    node.out_ref = _Fixed(u)  # what the Tensor rules read
                    node.out_version = u._version
        if self.extras:
            extra = list(node.extra)
            for k, packed in self.extras:
                extra[k] = self._unpack(packed, None, name).data
            node.extra = extra

    def _unpack_function(self, node, name):
        ctx = node.params[0].ctx
        if self.originals is None:
            self.originals = (ctx._saved, ctx._versions)
        saved, versions = self.originals
        for t, v in zip(saved, versions):
            if t is not None and t._version != v:
                raise RuntimeError(  # (the Function's own check, made before unpacking)
                    f"{name}: a tensor saved for its backward has been modified in place: "
                    f"the tensor of shape {tuple(t.shape)} is at version {t._version}; "
                    f"expected {v} (its version when {name} ran)")
        new = tuple(None if s is None else self._unpack(s[1], None, name)
                    for s in self.function)
        ctx._saved = new
        ctx._versions = tuple(None if t is None else t._version for t in new)
        ctx._unpacked = None


def _as_saved_fwd(xp, x, value):
    """``value``, with the gradient going to ``x`` (the tensor that was saved)."""
    return value


_as_saved_op = Op(_as_saved_fwd, name="unpacked_saved_tensor")
_as_saved_op.defvjp(lambda g: g, None)


def _as_saved(like, u):
    return _as_saved_op(like, u.detach())

