"""``torch.autograd.functional``: Jacobians, Hessians and their products with vectors, from
reverse-mode gradients (``ge.grad``, one backward per output element for a Jacobian; a
forward-mode product by the double-VJP trick)."""

from __future__ import annotations

from ..core.backward import grad
from ..core.gradmode import enable_grad
from ..core.tensor import Tensor
from ..errors import GraphError, ShapeError
from ..ops.creation import zeros, zeros_like
from ..ops.shape import reshape, stack

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(x, name, what):
    single = isinstance(x, Tensor)
    xs = (x,) if single else tuple(x)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} {i} is a {type(t).__name__}, not a Tensor")
    return xs, single


def _prepare(inputs, create_graph):
    """Inputs that require grad: the caller's own (graph kept) under create_graph, else
    detached copies, as PyTorch's."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad else
                 x.detach().requires_grad_(True) for x in inputs)


def _grads(outs, xs, gos, create_graph, strict=None):
    """The gradients of ``outs`` (seeded with ``gos``) with respect to ``xs``; zeros where
    they do not depend on one, or, with ``strict`` (the function's name), PyTorch's
    error."""
    if strict:
        for i, o in enumerate(outs):
            if not o.requires_grad:
                raise GraphError(f"{strict}: Output {i} of the user-provided function does "
                                 "not require gradients. The outputs must be computed in a "
                                 "differentiable manner from the input when running in "
                                 "strict mode.")
    if not any(o.requires_grad for o in outs):
        return tuple(zeros_like(x) for x in xs)
    pairs = [(o, g) for o, g in zip(outs, gos) if o.requires_grad]
    gs = grad([o for o, _ in pairs], list(xs), [g for _, g in pairs], retain_graph=True,
              create_graph=create_graph, allow_unused=True)
    if strict:
        for j, g in enumerate(gs):
            if g is None:
                raise GraphError(f"{strict}: The output of the user-provided function is "
                                 f"independent of input {j}. This is not allowed in strict "
                                 "mode.")
    return tuple(zeros_like(x) if g is None else (g if create_graph else g.detach())
                 for g, x in zip(gs, xs))


def _check_v(v, like, name):
    vs, _ = _as_tuple(v, name, "v")
    if len(vs) != len(like) or any(a.shape != b.shape for a, b in zip(vs, like)):
        raise ShapeError(f"{name}: v of shapes {[tuple(a.shape) for a in vs]} does not match "
                         f"{[tuple(b.shape) for b in like]}")
    return vs


def _back(xs, single):
    return xs[0] if single else xs


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``; ``v`` may be omitted when ``func`` returns one element.

    Raises:
        ShapeError: ``v`` of other shapes than the outputs.
    """
    xs, single_in = _as_tuple(inputs, "vjp", "input")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        outs, single_out = _as_tuple(func(*xs), "vjp", "output")
        if v is None:
            if len(outs) != 1 or outs[0].size != 1:
                raise ShapeError(f"vjp: v can be omitted only for a single one-element "
                                 f"output; got shapes {[tuple(o.shape) for o in outs]}")
            vs = (None,)
        else:
            vs = _check_v(v, outs, "vjp")
        gs = _grads(outs, xs, vs, create_graph, strict and "vjp")
    outs = outs if create_graph else tuple(o.detach() for o in outs)
    return _back(outs, single_out), _back(gs, single_in)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func(inputs) / d inputs: for one output and one input a Tensor of shape
    ``out.shape + input.shape``; else tuples (per output, then per input), as PyTorch."""
    xs, single_in = _as_tuple(inputs, "jacobian", "input")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        outs, single_out = _as_tuple(func(*xs), "jacobian", "output")
        result = []
        for o in outs:
            rows = [[] for _ in xs]
            for k in range(o.size):
                seed = zeros(o.size, dtype=o.dtype, device=o.device)
                seed.data[k] = 1
                for r, g in zip(rows, _grads((o,), xs, (reshape(seed, o.shape),),
                                             create_graph, strict and "jacobian")):
                    r.append(g)
            result.append(tuple(
                reshape(stack(r) if r else zeros((0,) + x.shape, dtype=x.dtype,
                                                 device=x.device), o.shape + x.shape)
                for r, x in zip(rows, xs)))
    result = [_back(r, single_in) for r in result]
    return result[0] if single_out else tuple(result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func``: shape ``input.shape + input.shape`` (tuples of
    tuples for several inputs).

    Raises:
        ShapeError: ``func`` does not return a one-element tensor.
    """
    xs, single_in = _as_tuple(inputs, "hessian", "input")

    def gradient(*ys):
        out = func(*ys)
        if not isinstance(out, Tensor) or out.size != 1:
            raise ShapeError(f"hessian: func must return a one-element tensor, got shape "
                             f"{tuple(getattr(out, 'shape', ()))}")
        gs = _grads((out,), ys, (None,), True)
        return gs[0] if single_in else gs

    return jacobian(gradient, xs[0] if single_in else xs, create_graph, strict)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``, by the double-VJP trick (the VJP is linear in its seed)."""
    xs, single_in = _as_tuple(inputs, "jvp", "input")
    vs = _check_v(v, xs, "jvp") if v is not None else None
    if vs is None and (len(xs) != 1 or xs[0].size != 1):
        raise ShapeError("jvp: v can be omitted only for a single one-element input")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        outs, single_out = _as_tuple(func(*xs), "jvp", "output")
        us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        gs = _grads(outs, xs, us, True, strict and "jvp")
        res = _grads(gs, us, vs or (None,), create_graph)
    outs = outs if create_graph else tuple(o.detach() for o in outs)
    return _back(outs, single_out), _back(res, single_out)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)`` for a scalar ``func``."""
    xs, single_in = _as_tuple(inputs, "vhp", "input")
    vs = _check_v(v, xs, "vhp") if v is not None else None
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out = func(*xs)
        if not isinstance(out, Tensor) or out.size != 1:
            raise ShapeError(f"vhp: func must return a one-element tensor, got shape "
                             f"{tuple(getattr(out, 'shape', ()))}")
        gs = _grads((out,), xs, (None,), True, strict and "vhp")
        res = _grads(gs, xs, vs or (None,), create_graph)
    return (out if create_graph else out.detach()), _back(res, single_in)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)``: the same as :func:`vhp` (a Hessian is symmetric)."""
    return vhp(func, inputs, v, create_graph, strict)
