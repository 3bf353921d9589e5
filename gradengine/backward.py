"""The backward pass: the tape walked in reverse, without recursion.

``run_backward`` visits the reachable nodes in decreasing sequence order with a heap and
applies each node's vector-Jacobian product; gradients are summed back to each input's
shape in one place (``sum_to``), and a tensor used many times receives the sum.
"""

from __future__ import annotations

import heapq

import numpy as np

from .autograd import Node, _check_versions, _mode, no_grad
from .backend import cupy
from .errors import DeviceError, GraphError, ShapeError

Tensor = None  # set by gradengine.tensor


def _owner(arr):
    base = getattr(arr, "base", None)
    return id(arr if base is None else base)


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None,
                 allow_unused=False):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs=None`` gradients accumulate into the leaves' ``.grad``; otherwise the
    gradients of ``inputs`` are returned as a tuple and no ``.grad`` changes.
    """
    from .ops.shape import sum_to  # the engine's one unbroadcasting rule

    pending = {}  # node -> gradient of its output so far
    heap = []
    leaf_grads = {}  # id(leaf) -> [leaf, grad]
    handed = set()
    capture = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"grad: input {i} is a {type(t).__name__}, not a Tensor")
            capture.setdefault(id(t.node) if t.node is not None else id(t), []).append(i)

    def route(target, g):
        if type(target) is Node:
            prev = pending.get(target)
            if prev is None:
                pending[target] = g
                heapq.heappush(heap, (-target.seq, target))
            else:
                pending[target] = prev + g
        else:
            entry = leaf_grads.get(id(target))
            if entry is None:
                leaf_grads[id(target)] = [target, g]
            else:
                entry[1] = entry[1] + g

    for root, g in zip(roots, root_grads):
        handed.add(_owner(g.data))
        route(root.node or root, g)

    done = []
    results = {}
    prev_mode = _mode.enabled
    _mode.enabled = create_graph
    anomaly = _mode.anomaly
    _mode.anomaly = False  # VJP ops are checked on their results below, not as forwards
    heappop, heappush = heapq.heappop, heapq.heappush
    try:
        while heap:
            node = heappop(heap)[1]
            g = pending.pop(node)
            if node.freed:
                raise GraphError(
                    f"backward: the graph through {node.op.name} has been freed by an earlier "
                    "backward(); call backward(retain_graph=True) the first time to go "
                    "through it again")
            if capture:
                for i in capture.get(id(node), ()):
                    results[i] = g
            op = node.op
            if op.saves_inputs:
                _check_versions(node)
            node.grad = g.data  # an array (not GC-tracked), kept for ge.viz
            done.append(node)
            grads = op.vjp(g, node)
            i = 0
            for need in node.needs:
                gi = grads[i]
                if need and gi is not None:
                    arg = node.args[i]
                    edge = (arg.node or arg) if not arg._version else node.target(i)
                    if gi.data.shape != arg.data.shape:
                        gi = sum_to(gi, arg.data.shape)
                    if gi.data.dtype != arg.data.dtype:
                        gi = gi.astype(arg.data.dtype)
                    if anomaly:
                        _check_backward(node, i, gi)
                    if type(edge) is Node:
                        prev = pending.get(edge)
                        if prev is None:
                            pending[edge] = gi
                            heappush(heap, (-edge.seq, edge))
                        else:
                            pending[edge] = prev + gi
                    elif edge is not None:  # None: an in-place change made it need no grad
                        route(edge, gi)
                i += 1
    finally:
        _mode.enabled = prev_mode
        _mode.anomaly = anomaly

    if inputs is not None:
        for i, t in enumerate(inputs):
            if t.node is None and id(t) in leaf_grads:
                results[i] = leaf_grads[id(t)][1]
        out = []
        for i, t in enumerate(inputs):
            g = results.get(i)
            if g is None and not allow_unused:
                raise GraphError(f"grad: input {i} (shape {tuple(t.shape)}) is not part of the "
                                 "graph of the outputs (pass allow_unused=True to get None)")
            out.append(g)
    else:
        trace = _mode.trace
        _mode.trace = None  # the commit is logged as one step per leaf, not as its array ops
        try:
            for leaf, g in leaf_grads.values():
                owner = _owner(g.data)
                copy = not create_graph and owner in handed
                handed.add(owner)
                step = trace.log_setgrad(leaf, g, copy) if trace is not None else None
                if leaf.grad is None:
                    leaf.grad = Tensor._make(g.data.copy(), g.device) if copy else g
                else:
                    leaf.grad = leaf.grad + g if create_graph else _add_nograd(leaf.grad, g)
                if step is not None:
                    trace.bind_grad(step, leaf)
        finally:
            _mode.trace = trace
        out = None
    if not retain_graph:
        for node in done:
            node.freed = True
            if node.extra is not None:  # (assigning always would give every node a __dict__)
                node.extra = None
    return tuple(out) if out is not None else None


def _add_nograd(a, b):
    with no_grad():
        return a + b


def _check_backward(node, i, gi):
    xp = np if gi.device == "cpu" else cupy()
    if bool(xp.isnan(gi.data).any()):
        raise GraphError(f"{node.op.name} backward produced NaN in output {i} (shape "
                         f"{tuple(gi.shape)}); op created at {node.site or '<unknown>'}")


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple (torch.autograd.grad).

    Leaves' ``.grad`` are not touched. ``create_graph=True`` records the backward itself,
    so the result can be differentiated again.
    """
    outputs = _as_seq(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = _as_seq(grad_outputs)
    roots, gs = _prepare_roots("grad", outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    return run_backward(roots, gs, retain_graph, create_graph, inputs=inputs,
                        allow_unused=allow_unused)


def _as_seq(x):
    return [x] if isinstance(x, Tensor) or x is None else list(x)


def _prepare_roots(name, outputs, grad_outputs):
    roots, gs = [], []
    for t, g in zip(outputs, grad_outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: outputs must be Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise GraphError(f"{name}: the tensor of shape {tuple(t.shape)} does not require "
                             "grad and has no graph (was it built under no_grad, or from "
                             "tensors without requires_grad=True?)")
        if g is None:
            if t.size != 1:
                raise GraphError(f"{name}: grad can be created implicitly only for scalar "
                                 f"outputs; got a non-scalar tensor of shape {tuple(t.shape)}; "
                                 "pass grad=")
            xp = np if t.device == "cpu" else cupy()
            g = Tensor._make(xp.ones(t.shape, dtype=t.dtype), t.device)
            if _mode.trace is not None:
                _mode.trace.constant(g.data)  # ge.jit: the seed is the same at every replay
        else:
            if not isinstance(g, Tensor):
                g = Tensor._make(_to_array_like(g, t), t.device)
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


def _to_array_like(g, t):
    xp = np if t.device == "cpu" else cupy()
    return xp.asarray(g, dtype=t.dtype)
