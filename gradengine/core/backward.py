"""The backward pass: the tape walked in reverse, without recursion.

:func:`walk` visits the reachable nodes in decreasing sequence order with a heap and
applies each node's VJP; every edge is routed by one rule (an input's gradient goes to the
node that made it when the op ran, or to the leaf: ``Node.edge``, so a tensor changed in
place later does not reroute the nodes that read it before); gradients are summed back to
each input's shape in one place (``sum_to``), and a tensor used many times receives the
sum. :func:`commit` then writes the leaves' ``.grad`` (the one point where the plug-in
hook sees gradients), and :func:`grad` collects chosen gradients instead.
"""

from __future__ import annotations

import gc
import heapq

import numpy as np

from ..backend import CPU, cupy, fp_quiet, fp_restore
from ..errors import DeviceError, GraphError, ShapeError
from .broadcast import sum_to, sum_to_op
from .gradmode import _mode, no_grad
from .op import Node, apply, call, check_saved, fresh, node_grads, node_grads_arrays, op
from .tensor import _HOOKED, _RETAINED, _STALE, Tensor


def walk(roots, root_grads, create_graph=False, capture=None):
    """Backpropagate ``root_grads`` from ``roots``. Returns ``(leaf_grads, done, found)``:
    ``{id(leaf): [leaf, grad]}``, the nodes visited, and the gradients reaching the nodes
    or leaves named in ``capture`` (``{id(node or leaf): [indices]}``).

    A first-order backward with no plug-in recording (no ge.jit capture, no anomaly mode)
    carries the CPU gradients as NumPy arrays and runs the rules of the ops marked
    ``arrays`` on them directly; any other rule gets Tensors. The results are the same."""
    pending = {}       # node -> gradient of its output so far
    heap = []
    leaves = {}        # id(leaf) -> [leaf, grad]
    found = {}
    done = []
    anomaly = _mode.anomaly
    arrays = not create_graph and not anomaly and _mode.hook is None
    # plug-ins that act on a leaf's gradient as soon as it is final (data-parallel overlap):
    # the edges still to arrive at each leaf, counted once before the walk
    remaining = _leaf_edges(roots) if _ready_hooks and capture is None else None
    hooked = _HOOKED[0]  # register_hook on a non-leaf: its node carries the hooks

    def route(target, g):
        if type(target) is Node:
            prev = pending.get(target)
            if prev is None:
                pending[target] = g
                heapq.heappush(heap, (-target.seq, target))
            else:
                pending[target] = _sum(prev, g)
        else:
            entry = leaves.get(id(target))
            if entry is None:
                leaves[id(target)] = entry = [target, g]
            else:
                entry[1] = _sum(entry[1], g)
            if remaining is not None:
                left = remaining.get(id(target), 1) - 1
                remaining[id(target)] = left
                if left == 0:
                    entry[1] = _tensor(entry[1])
                    for fn in list(_ready_hooks):
                        fn(target, entry[1])

    for root, g in zip(roots, root_grads):
        route(root.node or root, _array(g) if arrays else g)
    prev_mode = _mode.enabled
    _mode.enabled = create_graph
    _mode.anomaly = False  # VJP ops are checked on their results below, not as forwards
    heappop, heappush = heapq.heappop, heapq.heappush
    ndarray = np.ndarray
    quiet = fp_quiet()  # gradients never warn (PyTorch); a ge.jit replay of them neither
    # The walk makes no reference cycles, but its allocations would start the cyclic
    # collector, whose full passes traverse the whole graph: paused until the walk ends.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        while heap:
            node = heappop(heap)[1]
            g = pending.pop(node)
            if node.freed:  # True, or the record of saved-tensor hooks (see op._packer)
                if node.freed is not True:
                    node.freed.unpack(node)
                else:
                    raise GraphError(
                        f"backward: trying to backward through the graph a second time: the "
                        f"graph through {node.op.name} has been freed by an earlier "
                        "backward(). Specify retain_graph=True the first time to go through "
                        "it again")
            if hooked:
                hooks = getattr(node, "hooks", None)
                if hooks:
                    g = _run_hooks(hooks, g, arrays)
            if capture and id(node) in capture:
                found[id(node)] = _tensor(g)
            if node.check:
                check_saved(node)
            done.append(node)
            if type(g) is ndarray:
                node.grad = g  # an array (not GC-tracked), kept for ge.viz and retain_grad
                grads = node_grads_arrays(node, g) if node.op.arrays else None
                if grads is None:
                    grads = [None if gi is None else _array(gi)
                             for gi in node_grads(node, Tensor._make(g, CPU))]
            else:
                node.grad = g.data
                grads = node_grads(node, g)
                if arrays:
                    grads = [None if gi is None else _array(gi) for gi in grads]
            for i, need in enumerate(node.needs):
                gi = grads[i]
                if need and gi is not None:
                    edge = node.e0 if i == 0 else node.e1 if i == 1 else node.edges[i]
                    data = edge.out_data if type(edge) is Node else edge.data  # the input
                    if arrays and type(gi) is not ndarray and type(gi) is not Tensor:
                        gi = np.asarray(gi)  # a NumPy scalar from 0-d maths
                    if type(gi) is ndarray:
                        if gi.shape != data.shape:
                            gi = call(sum_to_op, gi, params=(data.shape,))
                        if gi.dtype != data.dtype:
                            gi = gi.astype(data.dtype)
                    else:
                        if gi.data.shape != data.shape:
                            gi = sum_to(gi, data.shape)
                        if gi.data.dtype != data.dtype:
                            gi = gi.astype(data.dtype)
                        if anomaly:
                            _check_backward(node, i, gi)
                    if type(edge) is Node:  # (route(), inlined for the common case)
                        prev = pending.get(edge)
                        if prev is None:
                            pending[edge] = gi
                            heappush(heap, (-edge.seq, edge))
                        else:
                            pending[edge] = _sum(prev, gi)
                    else:
                        route(edge, gi)
    finally:
        if paused:
            gc.enable()
        _mode.enabled = prev_mode
        _mode.anomaly = anomaly
        fp_restore(quiet)
    for entry in leaves.values():
        entry[1] = _tensor(entry[1])
    if capture:
        for key, entry in leaves.items():
            if key in capture:
                found[key] = entry[1]
    return leaves, done, found


def _run_hooks(hooks, g, arrays):
    """A non-leaf's ``register_hook`` functions on its gradient, in registration order;
    each non-None result replaces the gradient."""
    g = _tensor(g)
    for fn in list(hooks):
        r = fn(g)
        if r is not None:
            g = r if isinstance(r, Tensor) else Tensor._make(np.asarray(r), g.device)
    return _array(g) if arrays else g


def _array(g):
    """A gradient as the walk carries it in arrays mode: a NumPy array on the CPU, else
    the Tensor."""
    if type(g) is np.ndarray:
        return g
    if isinstance(g, Tensor):
        return g.data if g.device == "cpu" else g
    return np.asarray(g)  # a NumPy scalar from 0-d maths


def _sum(a, b):
    s = a + b
    return s if type(s) is np.ndarray or isinstance(s, Tensor) else np.asarray(s)


def _tensor(g):
    return Tensor._make(g, CPU) if type(g) is np.ndarray else g


_commit_hooks = []  # plug-ins (data-parallel averaging): fn(leaves) after a backward's commit
_ready_hooks = []   # plug-ins: fn(leaf, grad) when a leaf's gradient of a backward is final


def add_ready_hook(fn):
    """Call ``fn(leaf, grad)`` during every backward as soon as ``leaf``'s gradient is final
    (every edge into it has delivered), before it is written to ``.grad``: what lets a
    data-parallel plug-in start averaging while the backward goes on. Returns a remover."""
    _ready_hooks.append(fn)
    return lambda: _ready_hooks.remove(fn) if fn in _ready_hooks else None


def _leaf_edges(roots):
    """``{id(leaf): number of edges into it}`` over the graph reachable from ``roots``."""
    counts = {}
    stack = []
    seen = set()
    for root in roots:
        if root.node is None:
            counts[id(root)] = counts.get(id(root), 0) + 1
        elif id(root.node) not in seen:
            seen.add(id(root.node))
            stack.append(root.node)
    while stack:
        node = stack.pop()
        for i, need in enumerate(node.needs):
            if not need:
                continue
            edge = node.edge(i)
            if type(edge) is Node:
                if id(edge) not in seen:
                    seen.add(id(edge))
                    stack.append(edge)
            else:
                counts[id(edge)] = counts.get(id(edge), 0) + 1
    return counts


def add_commit_hook(fn):
    """Call ``fn(leaves)`` after every backward has written its leaves' ``.grad`` (the list
    of leaf Tensors, in the order their gradients became ready). Returns a remover."""
    _commit_hooks.append(fn)
    return lambda: _commit_hooks.remove(fn) if fn in _commit_hooks else None


def commit(leaves, create_graph, fresh):
    """Write each leaf's gradient into its ``.grad``: assigned when it is None (copied when
    the array is also another leaf's or the caller's), else added."""
    hook = _mode.hook
    handed = set(fresh)
    hooked = _HOOKED[0]
    for leaf, g in leaves.values():
        if hooked:
            hooks = getattr(leaf, "_hooks", None)
            if hooks:  # register_hook on a leaf: each may replace the gradient
                for fn in hooks:
                    r = fn(g)
                    g = g if r is None else r
        owner = _owner(g.data)
        copy = not create_graph and owner in handed
        handed.add(owner)
        old = leaf._grad  # (the slot itself: the hook is told below, once)
        accumulate = old is not None
        if not accumulate:
            leaf._grad = Tensor._make(g.data.copy(), g.device) if copy else g
        elif create_graph:
            leaf._grad = old + g
        elif hook is None and _inplace_ok(old.data, g.data):
            # -- ptsuite: PyTorch's AccumulateGrad adds into the existing .grad in place
            # (the same Tensor object, so a reference to x.grad sees the sum)
            old.data += g.data
        else:  # bookkeeping on arrays: a ge.jit replay repeats it as one step
            leaf._grad = Tensor._make(old.data + g.data, leaf.device)
        if hook is not None:
            hook.grad(leaf, g, accumulate, copy)
    if _commit_hooks:
        done = [leaf for leaf, _ in leaves.values()]
        for fn in list(_commit_hooks):
            fn(done)


def _inplace_ok(old, g):
    """Whether ``old += g`` is safe: a writeable NumPy array of g's shape and dtype that no
    other leaf's gradient shares (CuPy arrays take the out-of-place path)."""
    return (type(old) is np.ndarray and old.flags.writeable and old.shape == g.shape
            and old.dtype == g.dtype and old.base is None)


def _release(done, retain_graph):
    """Free the saved arrays of the visited nodes (the structure stays for ge.viz)."""
    if not retain_graph:
        for node in done:
            node.freed = True
            if getattr(node, "extra", None) is not None:
                node.extra = None


def _retained(done):
    """Non-leaf tensors that asked for ``retain_grad()`` get their gradient."""
    for node in done:
        t = node.out_ref() if node.out_ref is not None else None
        if t is not None and getattr(t, "_retain", False) and t.node is node:
            g = Tensor._make(node.grad, t.device)
            # a copy: the array may also be a leaf's .grad, which accumulates in place
            t.grad = Tensor._make(node.grad.copy(), t.device) if t.grad is None else \
                _add_nograd(t.grad, g)


def _owner(arr):
    base = getattr(arr, "base", None)
    return id(arr if base is None else base)


def _add_nograd(a, b):
    with no_grad():
        return a + b


def _check_backward(node, i, gi):
    xp = np if gi.device == "cpu" else cupy()
    if bool(xp.isnan(gi.data).any()):
        raise GraphError(f"{node.op.name} backward produced NaN in output {i} (shape "
                         f"{tuple(gi.shape)}); op created at {node.site or '<unknown>'}")


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None, *,
             grad=None):
    """Accumulate d(tensor)/d(leaf) into every leaf's ``.grad`` (torch's keywords).

    Args:
        gradient: the upstream gradient (``grad=`` is the older name); may be omitted for a
            one-element tensor.
        retain_graph: keep the graph so that backward can run through it again (default:
            ``create_graph``).
        create_graph: record the backward itself, for higher-order gradients.
        inputs: accumulate only into these tensors' ``.grad`` (leaves, or non-leaf tensors,
            as torch); the others are left alone.
    Raises:
        GraphError: no graph, a non-scalar without ``gradient``, a freed graph, or a saved
            tensor modified in place. ShapeError: ``gradient`` of the wrong shape.
    """
    if grad is not None:
        if gradient is not None:
            raise TypeError("backward: got both gradient= and grad= (the same argument)")
        gradient = grad
    run_backward("backward", [tensor], [gradient], retain_graph, create_graph, inputs)


def _capture_map(name, inputs, label, need_grad=False):
    """``{id(node or leaf): [positions]}`` of the tensors whose gradients a backward
    collects (views brought up to date first)."""
    capture = {}
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {label.format(i)} is a {type(t).__name__}, not a Tensor")
        if _STALE[0]:
            fresh(t)
        if need_grad and not t._rg:
            raise GraphError(f"{name}: {label.format(i)} (shape {tuple(t.shape)}) does not "
                             "require grad")
        capture.setdefault(id(t.node) if t.node is not None else id(t), []).append(i)
    return capture


def run_backward(name, tensors, grads, retain_graph, create_graph, inputs):
    """The backward of ``tensors`` seeded with ``grads``, into the leaves' ``.grad`` or,
    given ``inputs``, into those tensors' ``.grad`` only."""
    roots, gs = prepare_roots(name, tensors, grads)
    capture = None
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not inputs:
            raise GraphError(f"{name}: 'inputs' argument to backward() cannot be empty")
        capture = _capture_map(name, inputs, "inputs[{}]", need_grad=True)
    leaves, done, found = walk(roots, gs, create_graph, capture)
    if inputs is not None:
        keep = {id(t) for t in inputs if t.node is None}
        leaves = {k: v for k, v in leaves.items() if k in keep}
    commit(leaves, create_graph, {_owner(g.data) for g in gs})
    if inputs is not None:  # non-leaf inputs accumulate too, as torch's
        seen = set()
        for t in inputs:
            if t.node is None or id(t) in seen:
                continue
            seen.add(id(t))
            g = found.get(id(t.node))
            if g is not None:
                t._grad = Tensor._make(g.data.copy(), t.device) if t._grad is None else \
                    (t._grad + g if create_graph else _add_nograd(t._grad, g))
    if _RETAINED[0]:
        _retained(done)
    _release(done, create_graph if retain_graph is None else retain_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple (torch.autograd.grad).

    Leaves' ``.grad`` are not touched. ``create_graph=True`` records the backward itself,
    so the result can be differentiated again.

    Raises:
        ValueError: ``grad_outputs`` of another length than ``outputs``.
        GraphError: an input not in the graph (unless ``allow_unused``).
    """
    outputs = _as_seq(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = _as_seq(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for "
                             f"{len(outputs)} outputs; pass one per output (None for a "
                             "scalar output)")
    capture = _capture_map("grad", inputs, "input {}")
    roots, gs = prepare_roots("grad", outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    _, done, found = walk(roots, gs, create_graph, capture)
    result = []
    for i, t in enumerate(inputs):
        g = found.get(id(t.node) if t.node is not None else id(t))
        if g is None and not allow_unused:
            raise GraphError(f"grad: input {i} (shape {tuple(t.shape)}) is not part of the "
                             "graph of the outputs: one of the differentiated Tensors appears "
                             "to not have been used in the graph. Set allow_unused=True if "
                             "this is the desired behavior (PyTorch's words)")
        result.append(g)
    _release(done, retain_graph)
    return tuple(result)


def _as_seq(x):
    return [x] if isinstance(x, Tensor) or x is None else list(x)


@op(differentiable=False)
def ones_like(xp, x):
    """Ones of x's shape and dtype (the seed of a backward)."""
    return xp.ones(x.shape, dtype=x.dtype)


def prepare_roots(name, outputs, grad_outputs):
    roots, gs = [], []
    for t, g in zip(outputs, grad_outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: outputs must be Tensors, got {type(t).__name__}")
        if _STALE[0]:
            fresh(t)
        if not t._rg:
            raise GraphError(f"{name}: the tensor of shape {tuple(t.shape)} does not require "
                             "grad and has no graph (was it built under no_grad, or from "
                             "tensors without requires_grad=True?)")
        if g is None:
            if t.size != 1:
                raise GraphError(f"{name}: grad can be created implicitly only for scalar "
                                 f"outputs; got a non-scalar tensor of shape {tuple(t.shape)}; "
                                 "pass grad=")
            g = apply(ones_like, t)
        else:
            if not isinstance(g, Tensor):
                xp = np if t.device == "cpu" else cupy()
                g = Tensor._make(xp.asarray(g, dtype=t.dtype), t.device)
            if tuple(g.shape) != tuple(t.shape):
                raise ShapeError(f"{name}: grad of shape {tuple(g.shape)} does not match the "
                                 f"tensor's shape {tuple(t.shape)}")
            if g.device != t.device:
                raise DeviceError(f"{name}: grad on {g.device!r} but the tensor is on "
                                  f"{t.device!r}")
            if g.dtype != t.dtype:
                g = Tensor._make(g.data.astype(t.dtype), t.device)
        roots.append(t)
        gs.append(g)
    return roots, gs


Tensor.backward = backward
