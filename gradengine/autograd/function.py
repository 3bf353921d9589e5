"""Custom differentiable functions, as ``torch.autograd.Function``::

    class Exp(ge.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out

    y = Exp.apply(x)

The user's ``forward`` runs under no_grad on the Tensors given (its ops go through the
dispatch as any other, so ge.jit records them and anomaly mode checks them); one
:class:`~gradengine.core.op.Op` per Function class then binds the outputs to the inputs:
its forward passes the outputs through, its one joint VJP calls the user's ``backward``.
The backward runs like any op's: in ``backward()``, ``ge.grad`` and, when it is written in
Tensor ops, to higher order (a saved output is handed back as the output in the graph).
"""

from __future__ import annotations

from ..core.gradmode import _mode, no_grad
from ..core.op import Op, apply
from ..core.tensor import Tensor
from ..errors import GraphError
from ..ops.creation import zeros_like
from ..ops.shape import reshape


class FunctionCtx:
    """What ``forward`` and ``backward`` share: saved tensors and any attribute set on it.

    Attributes:
        needs_input_grad: one bool per ``forward`` argument, whether it needs a gradient.
    """

    def __init__(self, needs):
        self.needs_input_grad = needs
        self._saved = ()
        self._versions = ()
        self._unpacked = None
        self._non_diff = set()
        self._outputs = ()
        self._node_outputs = None

    def save_for_backward(self, *tensors):
        """Keep Tensors (or None) for ``backward``; read them back as ``saved_tensors``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: expected Tensors or None, got "
                                f"{type(t).__name__}")
        self._saved = tensors
        self._versions = tuple(None if t is None else t._version for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        """The saved Tensors; an output of ``forward`` comes back as the output in the graph
        (so a backward written in Tensor ops differentiates through it)."""
        if self._unpacked is None:
            outs = self._node_outputs or ()
            self._unpacked = tuple(
                next((outs[j] for j, o in enumerate(self._outputs) if o is t and
                      j < len(outs) and outs[j] is not None), t) for t in self._saved)
        return self._unpacked

    def mark_non_differentiable(self, *outputs):
        """Outputs of ``forward`` that get no gradient (indices, masks)."""
        self._non_diff.update(id(t) for t in outputs)

    def set_materialize_grads(self, value: bool):
        """Accepted for PyTorch's code; the gradient of an unused output is always zeros."""
        if not value:
            raise GraphError("set_materialize_grads: gradengine always hands backward zeros "
                             "for the outputs that got no gradient (materialize_grads=True)")


class Function:
    """Base class of a custom op: subclass it with ``@staticmethod forward(ctx, *args)``
    and ``@staticmethod backward(ctx, *grads)``, and call ``Fn.apply(*args)``.

    ``backward`` gets one gradient per output of ``forward`` (zeros for outputs that got
    none) and returns one gradient per argument of ``forward`` (None for non-Tensors and
    for arguments that need none). A ``setup_context(ctx, inputs, output)`` static method,
    when defined, is called instead of handing ``ctx`` to ``forward``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._op = Op(_bind, name=cls.__name__, params=("call",), save=("out",))
        cls._op.vjp(_vjp, arrays=False)

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("Function.forward must be defined as a @staticmethod")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("Function.backward must be defined as a @staticmethod")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on ``args`` and record its gradient ``backward``; keyword
        arguments are bound to ``forward``'s parameters (PyTorch's rule), so ``backward``
        returns one gradient per parameter in that order."""
        if kwargs:
            args = _bind_keywords(cls, args, kwargs)
        grad = _mode.enabled
        needs = tuple(grad and isinstance(a, Tensor) and a._rg for a in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            if "setup_context" in _defined(cls):
                result = cls.forward(*args)
                cls.setup_context(ctx, args, result)
            else:
                result = cls.forward(ctx, *args)
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        if not any(needs):  # an input handed back is a tensor of its own (PyTorch's view)
            ids = {id(a) for a in args if isinstance(a, Tensor)}
            outs = tuple(o.detach() if id(o) in ids else o for o in outs)
            return outs[0] if single else outs
        diff = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.dtype.kind == "f"
                and id(o) not in ctx._non_diff]
        if not diff:
            return result
        ctx._outputs = outs
        call = _Call(cls, ctx, args, outs, diff)
        bound = apply(cls._op, *args, *(outs[i] for i in diff), params=(call,))
        new = list(outs)
        if len(diff) == 1:
            new[diff[0]] = bound
        else:
            for i, part in zip(diff, _unpack(bound, [outs[i].shape for i in diff])):
                new[i] = part
        return new[0] if single else tuple(new)


class _Call:
    """One call of a Function: what its node's VJP needs to call the user's backward."""

    __slots__ = ("cls", "ctx", "n_args", "outs", "diff", "owners", "tensors", "shapes")

    def __init__(self, cls, ctx, args, outs, diff):
        self.cls, self.ctx, self.n_args = cls, ctx, len(args)
        self.outs, self.diff = outs, diff
        self.tensors = tuple(isinstance(a, Tensor) for a in args)
        self.shapes = tuple(tuple(a.shape) if isinstance(a, Tensor) else None for a in args)
        self.owners = {_owner(a.data) for a in args if isinstance(a, Tensor)}


def _defined(cls):
    return {name for c in cls.__mro__ if c is not Function for name in vars(c)}


def _owner(arr):
    base = getattr(arr, "base", None)
    return id(arr if base is None else base)


def _bind(xp, *args):
    """The outputs ``forward`` computed, passed through (several: packed flat into one);
    a copy where an output is an input's memory, so that the output is a tensor of its
    own."""
    call = args[-1]
    outs = args[call.n_args:-1]
    if len(outs) == 1:
        out = outs[0]
        return out.copy() if _owner(out) in call.owners else out
    return xp.concatenate([o.reshape(-1) for o in outs])


def _unpack(flat, shapes):
    parts, at = [], 0
    for shape in shapes:
        n = 1
        for d in shape:
            n *= d
        parts.append(reshape(flat[at:at + n], shape))
        at += n
    return parts


def _vjp(g, out, call):
    """The user's backward, given one gradient per output of forward."""
    cls, ctx = call.cls, call.ctx
    name = cls.__name__
    for t, v in zip(ctx._saved, ctx._versions):
        if t is not None and t._version != v:
            raise GraphError(
                f"{name}: a tensor saved for its backward has been modified in place: the "
                f"tensor of shape {tuple(t.shape)} is at version {t._version}; expected {v} "
                f"(its version when {name} ran); clone it before changing it in place")
    shapes = [call.outs[i].shape for i in call.diff]
    gs = [g] if len(shapes) == 1 else _unpack(g, shapes)
    node_outs = [out] if len(shapes) == 1 else _unpack(out, shapes)
    grads, node_outputs = [], [None] * len(call.outs)
    for k, i in enumerate(call.diff):
        node_outputs[i] = node_outs[k]
    for i, o in enumerate(call.outs):
        if i in call.diff:
            grads.append(gs[call.diff.index(i)])
        elif isinstance(o, Tensor) and o.dtype.kind == "f":
            grads.append(zeros_like(o))  # a non-differentiable output: zeros, as PyTorch
        else:
            grads.append(None)
    ctx._node_outputs = node_outputs
    ctx._unpacked = None
    result = cls.backward(ctx, *grads)
    ctx._node_outputs = None
    ctx._unpacked = None
    result = result if isinstance(result, tuple) else (result,)
    if len(result) > call.n_args and all(r is None for r in result[call.n_args:]):
        result = result[:call.n_args]  # extra trailing Nones are fine (PyTorch's rule)
    if len(result) != call.n_args:
        raise GraphError(f"{name}: backward returned {len(result)} gradient(s) but forward "
                         f"took {call.n_args} argument(s); return one per argument (None "
                         "for those without a gradient)")
    for i, (r, is_tensor) in enumerate(zip(result, call.tensors)):
        if r is not None and not isinstance(r, Tensor):
            raise GraphError(f"{name}: backward returned a {type(r).__name__} as gradient "
                             f"{i}; return Tensors or None")
        if r is not None and not is_tensor:
            raise GraphError(f"{name}: backward returned a gradient for argument {i}, "
                             "which is not a Tensor; return None there")
        if r is not None and not _expandable(call.shapes[i], tuple(r.shape)):
            # PyTorch's check and words: the engine sums a broadcast gradient back, and
            # refuses one that the input's shape cannot be broadcast to
            raise GraphError(f"Function {name}Backward returned an invalid gradient at index "
                             f"{i} - got {list(r.shape)} but expected shape compatible with "
                             f"{list(call.shapes[i])}")
    return result + (None,) * len(call.diff)


def _expandable(shape, to):
    """Whether ``shape`` broadcasts to ``to`` (torch's ``is_expandable_to``)."""
    if len(shape) > len(to):
        return False
    return all(a == b or a == 1 for a, b in zip(reversed(shape), reversed(to)))


def once_differentiable(backward):
    """Decorator of a ``backward``: it runs under no_grad (its result is not differentiated
    again), as ``torch.autograd.function.once_differentiable``."""
    def run(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    run.__name__ = run.__qualname__ = getattr(backward, "__name__", "backward")
    run.__doc__ = backward.__doc__
    return run


def _bind_keywords(cls, args, kwargs):
    """``args`` and ``kwargs`` as the positional arguments of ``cls.forward`` (defaults
    filled in for the parameters before the last one given)."""
    import inspect
    sig = inspect.signature(cls.forward)
    ctx_first = "setup_context" not in _defined(cls)
    try:
        bound = sig.bind(*((None,) if ctx_first else ()), *args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{cls.__name__}.apply: {e}") from None
    bound.apply_defaults()
    out = list(bound.args[1:] if ctx_first else bound.args)
    if bound.kwargs:
        raise TypeError(f"{cls.__name__}.apply: keyword-only arguments {sorted(bound.kwargs)} "
                        "of forward are not supported; make them positional")
    return tuple(out)
