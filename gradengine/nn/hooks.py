"""The full backward hooks of :class:`~gradengine.nn.Module` (``register_full_backward_hook``
and ``register_full_backward_pre_hook``), as PyTorch's ``BackwardHook``.

Only a module with such a hook pays for them: its positional Tensor inputs that need a
gradient are joined into one flat tensor (and split back) before ``forward``, its Tensor
outputs likewise after it, and a tensor hook on each flat tensor sees all the gradients of
that side at once -- so the module's hooks are called once per backward with complete
tuples, and what they return replaces those gradients.
"""

from __future__ import annotations

from ..core.gradmode import is_grad_enabled
from ..core.tensor import Tensor
from ..ops.creation import zeros_like
from ..ops.shape import concatenate, reshape

__all__ = ["wrap_inputs", "wrap_outputs"]


class _State:
    __slots__ = ("positions", "needed", "shapes", "grad_output", "others")

    def __init__(self, positions, needed, shapes, others):
        self.positions, self.needed, self.shapes = positions, needed, shapes
        self.others = others  # the inputs that need no gradient: PyTorch gives them zeros
        self.grad_output = None


def _join(tensors, hook):
    """One flat tensor holding ``tensors``, hooked, and the same tensors again as its views
    (made after the hook, so their gradients pass through it)."""
    flat = concatenate([reshape(t, (-1,)) for t in tensors], 0) if len(tensors) > 1 else \
        reshape(tensors[0], (-1,))
    flat.register_hook(hook)
    views, at = [], 0
    for t in tensors:
        views.append(reshape(flat[at:at + t.size], t.shape))
        at += t.size
    return flat, views


def _split(g, shapes):
    out, at = [], 0
    for s in shapes:
        n = 1
        for d in s:
            n *= d
        out.append(reshape(g[at:at + n], s))
        at += n
    return out


def _flatten_back(grads, shapes, like):
    parts = [reshape(g if isinstance(g, Tensor) else Tensor(g, device=like.device), (-1,))
             for g in grads]
    return concatenate(parts, 0) if len(parts) > 1 else parts[0]


def _grad_input_hooks(module, state, grads):
    """Call the module's full backward hooks with (grad_input, grad_output)."""
    grad_input = [None] * len(state.positions)
    if any(g is not None for g in grads):  # as PyTorch: zeros beside a real gradient
        for k, t in state.others.items():
            grad_input[k] = zeros_like(t)
    for k, g in zip(state.needed, grads):
        grad_input[k] = g
    grad_input = tuple(grad_input)
    for hook in list(module.__dict__.get("_bw_hooks", {}).values()):
        new = hook(module, grad_input, state.grad_output or ())
        if new is not None:
            grad_input = tuple(new) if isinstance(new, (tuple, list)) else (new,)
    return grad_input


def wrap_inputs(module, args):
    """``args`` with the Tensors that need a gradient routed through one hooked tensor."""
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    needed = [k for k, i in enumerate(positions) if args[i].requires_grad]
    others = {k: args[i] for k, i in enumerate(positions) if k not in needed}
    state = _State(positions, needed, [args[positions[k]].shape for k in needed], others)
    if not is_grad_enabled() or not needed or "_bw_hooks" not in module.__dict__:
        return args, state
    def on_grad(g):
        grad_input = _grad_input_hooks(module, state, _split(g, state.shapes))
        new = [grad_input[k] for k in needed]
        if any(n is None for n in new):
            return None
        return _flatten_back(new, state.shapes, g)
    _, views = _join([args[positions[k]] for k in needed], on_grad)
    args = list(args)
    for k, v in zip(needed, views):
        args[positions[k]] = v
    return tuple(args), state


def wrap_outputs(module, out, state):
    """``out`` (a Tensor or a tuple / list holding Tensors) routed through one hooked
    tensor, whose hook calls the backward pre-hooks (and, when no input needs a gradient,
    the backward hooks with ``grad_input`` all None)."""
    single = isinstance(out, Tensor)
    items = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
    if items is None or not is_grad_enabled():
        return out
    where = [i for i, o in enumerate(items) if isinstance(o, Tensor) and o.requires_grad]
    if not where:
        return out
    shapes = [items[i].shape for i in where]
    inputs_hooked = bool(state.needed) and "_bw_hooks" in module.__dict__

    def on_grad(g):
        grad_output = tuple(_split(g, shapes))
        changed = False
        for hook in list(module.__dict__.get("_bw_pre_hooks", {}).values()):
            new = hook(module, grad_output)
            if new is not None:
                grad_output = tuple(new) if isinstance(new, (tuple, list)) else (new,)
                changed = True
        state.grad_output = grad_output
        if not inputs_hooked and "_bw_hooks" in module.__dict__:
            _grad_input_hooks(module, state, [None] * len(state.needed))
        return _flatten_back(grad_output, shapes, g) if changed else None
    _, views = _join([items[i] for i in where], on_grad)
    for i, v in zip(where, views):
        items[i] = v
    if single:
        return items[0]
    if hasattr(out, "_fields"):  # a named tuple (PackedSequence) keeps its type
        return type(out)(*items)
    return type(out)(items) if isinstance(out, list) else tuple(items)
