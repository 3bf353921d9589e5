"""``torch.func``'s autodiff transforms (grad, grad_and_value, vjp, jvp, linearize, jacrev,
jacfwd, hessian) on gradengine's one reverse mode, ``ge.grad`` with ``create_graph``.

Each call of a transform is a *level*: the tensors it differentiates are wrapped on the way
in, and its results are unwrapped on the way out, as functorch does. An input the caller's
level tracks (it requires grad while grad mode is on) is wrapped in a view that keeps its
history, so a result stays differentiable by the caller (``grad(grad(f))``, the gradient
of ``functional_call`` with respect to parameters that require grad); any other input
becomes a fresh leaf. A result whose graph reaches nothing but this level's fresh leaves is
detached when it leaves, so it neither requires grad nor keeps the level's graph alive.
Forward mode (``jvp``, ``jacfwd``) is computed by reverse mode: the double-VJP trick for
``jvp`` (a VJP is linear in its seed), row-by-row reverse Jacobians for ``jacfwd``.
"""

from __future__ import annotations

import functools

from ..core.backward import grad as _grad
from ..core.gradmode import enable_grad, is_grad_enabled
from ..core.op import Node, _seq
from ..core.tensor import Tensor
from ..errors import ArgumentError, DTypeError, GraphError, ShapeError
from ..ops.creation import eye, zeros, zeros_like
from ..ops.shape import reshape, stack
from .pytree import spec_str, tree_flatten, tree_map, tree_unflatten

__all__ = ["grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "linearize", "vjp"]

_RANDOMNESS = ("error", "different", "same")


class _Level:
    """One transform call: the fresh leaves it made and where its part of the graph starts."""

    def __init__(self):
        self.outer = is_grad_enabled()  # is the caller recording (grad of grad)?
        self.start = next(_seq)  # nodes numbered below were recorded before this call
        self.fresh = {}  # id -> the fresh leaf (held, so the id stays its own)

    def wrap(self, t, api):
        if not isinstance(t, Tensor):
            raise ArgumentError(f"{api}: thing passed to transform API must be Tensor, got "
                                f"{type(t).__name__}")
        if self.outer and t.requires_grad:
            return t.view_as(t)  # a new node over t: gradients flow here, history kept
        w = t.detach().requires_grad_(True)
        self.fresh[id(w)] = w
        return w

    def wrap_argnums(self, args, argnums, api):
        """``args`` with the differentiated ones (``argnums``) wrapped; the flat wrappers and
        the structure of the differentiated arguments."""
        idx = _argnums(argnums, len(args))
        diff = args[idx] if isinstance(idx, int) else tuple(args[i] for i in idx)
        flat, spec = tree_flatten(diff)
        wrapped = [self.wrap(t, api) for t in flat]
        new = tree_unflatten(wrapped, spec)
        args = list(args)
        if isinstance(idx, int):
            args[idx] = new
        else:
            for i, d in zip(idx, new):
                args[i] = d
        return tuple(args), wrapped, spec

    def lift(self, tree, keep=None):
        """Unwrap results to the caller: detach those that do not reach the caller's graph."""
        keep = self.outer if keep is None else keep
        clean = set()  # nodes already walked that reach nothing of the caller's
        return tree_map(lambda t: self._lift1(t, keep, clean), tree)

    def _lift1(self, t, keep, clean):
        if not isinstance(t, Tensor) or not t.requires_grad:
            return t
        if keep and self._reaches_outer(t, clean):
            return t
        return t.detach()

    def _reaches_outer(self, t, clean):
        """Does ``t``'s graph reach a node recorded before this level, or a leaf that is not
        one of its fresh ones (a caller's tensor, or one that ``func`` closes over)?"""
        todo = [t.node if t.node is not None else t]
        seen = set()
        while todo:
            e = todo.pop()
            if type(e) is not Node:
                if id(e) not in self.fresh:
                    return True
                continue
            if e.seq < self.start:
                return True
            if id(e) in seen or id(e) in clean:
                continue
            seen.add(id(e))
            n = len(e.needs)
            edges = (e.e0,) if n == 1 else (e.e0, e.e1) if n == 2 else e.edges
            todo.extend(x for x in edges if x is not None)
        clean |= seen  # walked to the end: all of it is this level's own
        return False


def _argnums(argnums, n):
    def one(a):
        if not isinstance(a, int) or isinstance(a, bool):
            raise ArgumentError(f"argnum must be int, got: {type(a).__name__}")
        if -n <= a < n:
            return a % n
        raise ArgumentError(f"Got argnum={a}, but only {n} positional inputs")

    if isinstance(argnums, int) and not isinstance(argnums, bool):
        return one(argnums)
    if isinstance(argnums, tuple):
        if not argnums:
            raise ArgumentError("argnums must be non-empty")
        if len(set(argnums)) != len(argnums):
            raise ArgumentError(f"argnums elements must be unique, got {argnums}")
        return tuple(one(a) for a in argnums)
    raise ArgumentError(f"argnums must be int or Tuple[int, ...], got: {type(argnums).__name__}")


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=True, retain_graph=None):
    """``ge.grad`` over the outputs that require grad, zeros for inputs they do not reach
    (functorch's ``_autograd_grad``)."""
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        return tuple(zeros_like(x) for x in inputs)
    with enable_grad():
        gs = _grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs],
                   retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)
    return tuple(zeros_like(x) if g is None else g for g, x in zip(gs, inputs))


def _split_aux(out, has_aux, api):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ArgumentError(f"{api}: output of function f should be a tuple: (output, aux) "
                            f"if has_aux is True, got {type(out).__name__}")
    for a in tree_flatten(out[1])[0]:  # functorch unwraps aux, which must hold tensors only
        if not isinstance(a, Tensor):
            raise ArgumentError(f"{api}: aux: Expected tensors, got unsupported type "
                                f"{type(a).__name__}")
    return out


def _tensor_outputs(out, api, floating=True):
    flat, spec = tree_flatten(out)
    if not flat:
        raise ArgumentError(f"{api}: Expected f to be a function that has non-empty output "
                            f"(got output = {out!r})")
    for o in flat:
        if not isinstance(o, Tensor):
            raise ArgumentError(f"{api}: expected f(*primals) to return only tensors, got "
                                f"unsupported type {type(o).__name__}")
        if floating and o.dtype.kind != "f":
            raise DTypeError(f"{api}: All outputs of f must be floating-point Tensors, got "
                             f"Tensor with dtype {o.dtype.name} (shape {tuple(o.shape)})")
    return flat, spec


def grad_and_value(func, argnums=0, has_aux=False):
    """``torch.func.grad_and_value``: a function returning ``(gradient, value)`` of the
    scalar ``func`` with respect to the arguments at ``argnums`` (the gradient has their
    structure); ``(gradient, (value, aux))`` with ``has_aux``.

    Raises:
        ShapeError: ``func`` returns a tensor that is not 0-d (a RuntimeError too).
        ArgumentError: bad ``argnums``; ``has_aux`` and ``func`` returns no 2-tuple.

    Example:
        >>> g, v = ge.func.grad_and_value(lambda x: (x ** 2).sum())(ge.ones(3))
    """
    api = "grad_and_value(f)(*args)"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        level = _Level()
        with enable_grad():
            args, wrapped, spec = level.wrap_argnums(args, argnums, api)
            out, aux = _split_aux(func(*args, **kwargs), has_aux, api)
            if not isinstance(out, Tensor):
                raise ArgumentError(f"{api}: Expected f(*args) to return a Tensor, got "
                                    f"{type(out).__name__}")
            if out.ndim != 0:
                raise ShapeError(f"{api}: Expected f(*args) to return a scalar Tensor, got "
                                 f"tensor with {out.ndim} dims (shape {tuple(out.shape)}). "
                                 "Maybe you wanted to use the vjp or jacrev APIs instead?")
            gs = _autograd_grad([out], wrapped, create_graph=level.outer)
        g = level.lift(tree_unflatten(list(gs), spec))
        out = level.lift(out)
        if has_aux:
            return g, (out, level.lift(aux))
        return g, out

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """``torch.func.grad``: a function returning the gradient of the scalar ``func`` with
    respect to the arguments at ``argnums`` (``(gradient, aux)`` with ``has_aux``). Nests:
    ``grad(grad(f))`` is the second derivative.

    Raises:
        ShapeError: ``func`` returns a tensor that is not 0-d (a RuntimeError too).

    Example:
        >>> ge.func.grad(lambda x: x.sin().sum())(x)   # == x.cos()
    """
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func, *primals, has_aux=False):
    """``torch.func.vjp``: ``(func(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` gives the
    vector-Jacobian products as a tuple, one per primal (cotangents of the outputs'
    structure). ``(output, vjp_fn, aux)`` with ``has_aux``. ``vjp_fn`` may be called
    several times.

    Raises:
        ArgumentError: ``func`` returns a non-Tensor; cotangents of another structure.
        DTypeError: an output that is not floating.
    """
    api = "vjp(f, *primals)"
    level = _Level()
    with enable_grad():
        flat_p, p_spec = tree_flatten(primals)
        wrapped = [level.wrap(t, api) for t in flat_p]
        out, aux = _split_aux(func(*tree_unflatten(wrapped, p_spec)), has_aux, api)
        flat_out, out_spec = _tensor_outputs(out, api)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        if create_graph is None:
            create_graph = is_grad_enabled()
        flat_c, c_spec = tree_flatten(cotangents)
        if c_spec != out_spec:
            raise ArgumentError("vjp_fn: Expected pytree structure of cotangents to be the same "
                                f"as pytree structure of outputs to the function. cotangents: "
                                f"{spec_str(c_spec)}, primal output: {spec_str(out_spec)}")
        for i, (c, o) in enumerate(zip(flat_c, flat_out)):
            if not isinstance(c, Tensor) or tuple(c.shape) != tuple(o.shape):
                raise ShapeError(f"vjp_fn: cotangent {i} of shape "
                                 f"{tuple(getattr(c, 'shape', ()))} does not match the output "
                                 f"shape {tuple(o.shape)}")
        gs = _autograd_grad(flat_out, wrapped, flat_c, create_graph, retain_graph)
        return level.lift(tree_unflatten(list(gs), p_spec), keep=create_graph)

    result = level.lift(out)
    return (result, vjp_fn, level.lift(aux)) if has_aux else (result, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``torch.func.jvp``: ``(func(*primals), J @ tangents)`` (``(output, jvp_out, aux)``
    with ``has_aux``), computed in reverse mode by the double-VJP trick: ``u -> J^T u`` is
    linear in ``u``, so its VJP with the tangents is ``J @ tangents``.

    Raises:
        ArgumentError: ``primals`` not a tuple, or tangents of another structure.
        ShapeError: a tangent whose shape is not its primal's.
        GraphError: ``strict`` and an output that does not depend on the primals.
    """
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise ArgumentError(f"{api}: Expected primals to be a tuple. E.g. it should be valid "
                            "to call f(*primals).")
    flat_p, p_spec = tree_flatten(primals)
    flat_t, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise ArgumentError(f"{api}: Expected primals and tangents to have the same python "
                            f"structure. Got primals with structure {spec_str(p_spec)} and "
                            f"tangents with structure {spec_str(t_spec)}")
    if not flat_p:
        raise ArgumentError(f"{api}: Expected primals to contain at least one Tensor.")
    for i, (p, t) in enumerate(zip(flat_p, flat_t)):
        if not isinstance(t, Tensor) or not isinstance(p, Tensor):
            raise ArgumentError(f"{api}: Expected primals and tangents to only contain "
                                f"Tensors, got {type(p).__name__} and {type(t).__name__}")
        if tuple(p.shape) != tuple(t.shape):
            raise ShapeError(f"{api}: tangent {i} of shape {tuple(t.shape)} does not match "
                             f"its primal's shape {tuple(p.shape)}")
    level = _Level()
    with enable_grad():
        wrapped = [level.wrap(t, api) for t in flat_p]
        out, aux = _split_aux(func(*tree_unflatten(wrapped, p_spec)), has_aux, api)
        flat_out, out_spec = _tensor_outputs(out, api, floating=False)
        if strict and any(not o.requires_grad for o in flat_out):
            raise GraphError(f"{api} strict=True: The output of f is independent of the "
                             "inputs. This is not allowed with strict=True.")
        seeds = []
        for o in flat_out:
            u = zeros_like(o)
            if o.dtype.kind == "f":
                u.requires_grad_(True)
                level.fresh[id(u)] = u
            seeds.append(u)
        vjps = _autograd_grad(flat_out, wrapped, seeds, True, True)
        tans = _autograd_grad(vjps, seeds, flat_t, level.outer, True)
    out = level.lift(tree_unflatten(flat_out, out_spec))
    tans = level.lift(tree_unflatten(list(tans), out_spec))
    return (out, tans, level.lift(aux)) if has_aux else (out, tans)


def linearize(func, *primals):
    """``torch.func.linearize``: ``(func(*primals), jvp_fn)`` where ``jvp_fn(*tangents)``
    is ``jvp(func, primals, tangents)[1]`` (recomputed at each call here)."""
    out = jvp(func, primals, tree_map(zeros_like, primals))[0]

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn


def _jacobian(func, args, argnums, has_aux, api):
    level = _Level()
    with enable_grad():
        args, wrapped, p_spec = level.wrap_argnums(args, argnums, api)
        out, aux = _split_aux(func(*args), has_aux, api)
        flat_out, out_spec = _tensor_outputs(out, api)
        per_out = []
        for o in flat_out:
            n = o.size
            rows = [[] for _ in wrapped]
            basis = eye(n, dtype=o.dtype, device=o.device)
            for k in range(n):  # one backward per output element: row k of the Jacobian
                gs = _autograd_grad([o], wrapped, [reshape(basis[k], o.shape)], level.outer,
                                    True)
                for r, g in zip(rows, gs):
                    r.append(g)
            jac = [reshape(stack(r), tuple(o.shape) + tuple(x.shape)) if r else
                   zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype, device=x.device)
                   for r, x in zip(rows, wrapped)]
            per_out.append(tree_unflatten(jac, p_spec))
    jac = level.lift(tree_unflatten(per_out, out_spec))
    return (jac, level.lift(aux)) if has_aux else jac


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """``torch.func.jacrev``: a function returning the Jacobian of ``func`` with respect to
    the arguments at ``argnums``: for an output ``o`` and an input ``x`` a tensor of shape
    ``o.shape + x.shape``, nested as the outputs, then as the inputs (``(jacobian, aux)``
    with ``has_aux``). ``chunk_size`` is accepted; rows are computed one at a time.

    Raises:
        ValueError: ``chunk_size`` not positive.
    """
    if chunk_size is not None and chunk_size <= 0:
        raise ArgumentError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args):
        return _jacobian(func, args, argnums, has_aux, "jacrev")

    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """``torch.func.jacfwd``: the Jacobian as :func:`jacrev` gives it (same values and
    layout), here computed in reverse mode too. ``randomness`` is checked and otherwise
    unused: ``func`` runs once per call.

    Raises:
        ArgumentError: ``randomness`` not "error", "different" or "same".
    """
    if randomness not in _RANDOMNESS:
        raise ArgumentError(f"Only allowed values for randomness are 'error', 'different', or "
                            f"'same'. Got {randomness}")

    @functools.wraps(func)
    def wrapper(*args):
        return _jacobian(func, args, argnums, has_aux, "jacfwd")

    return wrapper


def hessian(func, argnums=0):
    """``torch.func.hessian``: ``jacfwd(jacrev(func, argnums), argnums)``; for a scalar
    ``func`` of ``x`` a tensor of shape ``x.shape + x.shape``."""
    return jacfwd(jacrev(func, argnums), argnums)
