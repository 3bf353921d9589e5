"""Graph export: the computational graph behind a tensor as Graphviz DOT, and rendering.

    loss.backward()
    names = {"X": X, "y": y, **dict(model.named_parameters())}
    print(ge.viz.to_dot(loss, names=names))    # ops as written, shapes, values, gradients
    ge.viz.render(loss, "step.svg", names=names)  # needs Graphviz's `dot`

Ops (boxes) show the op as you write it (``matmul``, ``+``, ``sigmoid``), the output shape,
small values and the gradient that reached them in the last backward. Tensors that are
not the output of a recorded op (ellipses) show the name you gave them in ``names``, or
"parameter" (requires grad) / "input", with their shape, values and ``.grad``. Python
numbers an op was called with are written into its box (``* 3``). A legend explains the
shapes and the edge numbers. The walk is iterative, so graphs of any depth work, and it
reads only what backward keeps (each node's op, arguments and gradient), so it works after
``backward()``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np

from . import backend
from .core.op import DROPPED
from .core.tensor import Tensor

__all__ = ["render", "to_dot"]

_MAX_SHOWN = 12  # arrays up to this many elements have their values printed

# Op names as a user writes them; an op not listed shows its own name.
_SPELLING = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "neg": "-x",
             "getitem": "x[...]", "index_put": "x[...] = v", "astype": ".astype",
             "to": ".to"}
# Ops whose arguments can be swapped: their edges carry no argument number.
_SYMMETRIC = {"add", "mul", "maximum", "minimum"}

_LEGEND = ("legend\n"
           "box: an op as written, its output shape, value and grad\n"
           "blue ellipse: a tensor that requires grad (a parameter), with .grad\n"
           "white ellipse: an input (no grad)\n"
           "1, 2 on an edge: first, second argument (left, right of an operator)\n"
           "grad = d(output of the graph) / d(this value), from the last backward()")


def _host(arr):
    if arr is None or isinstance(arr, np.ndarray):
        return arr
    if isinstance(arr, Tensor):
        arr = arr.data
    return arr if isinstance(arr, np.ndarray) else backend.cupy().asnumpy(arr)


def _fmt(arr, max_elems):
    arr = _host(arr)
    if arr is None or arr.size > max_elems:
        return None
    if arr.ndim == 0:
        return f"{arr.item():.4g}"
    column = arr.ndim == 2 and arr.shape[1] == 1 and arr.shape[0] > 1
    text = np.array2string(arr[:, 0] if column else arr, precision=4, separator=", ",
                           suppress_small=True, max_line_width=60)
    return f"{text} (a column)" if column else text


def _esc(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l") + "\\l"


def _shape_text(shape):
    return "scalar" if shape == () else str(tuple(shape))


def _value_lines(value, grad, max_elems):
    """The "value" and "grad" lines of a label (small arrays in full, else the shape)."""
    lines = []
    val = _fmt(value, max_elems)
    if val is not None:
        lines.append(f"value: {val}")
    gv = _fmt(grad, max_elems)
    if gv is not None:
        lines.append(f"grad: {gv}")
    elif grad is not None:
        lines.append(f"grad: a {_shape_text(tuple(grad.shape))} array")
    return lines


def _const_text(c):
    if isinstance(c, (bool, int, float, np.number)):
        return f"{c:.4g}" if isinstance(c, (float, np.floating)) else str(c)
    shape = getattr(c, "shape", None)
    return f"<{_shape_text(tuple(shape))} array>" if shape is not None else repr(c)


def _op_title(node):
    """The op as written: ``sigmoid``, ``* 3``, ``2 -``, ``+ → sigmoid``."""
    name = node.op.name
    shown = _SPELLING.get(name, name)
    if name == "bias_act":  # the fused x @ W + b epilogue of Linear and Dense
        act = next((p for p in (getattr(node, "params", None) or ()) if isinstance(p, str)),
                   None)
        shown = "+" if act in (None, "none", "linear") else f"+ → {act}"
    consts = [(i, a) for i, a in enumerate(node.args)
              if not isinstance(a, Tensor) and a is not DROPPED]
    if consts and len(node.args) == 2 and len(consts) == 1 and name in _SPELLING:
        i, c = consts[0]
        return f"{_const_text(c)} {shown}" if i == 0 else f"{shown} {_const_text(c)}"
    if consts:
        shown += " (" + ", ".join(_const_text(c) for _, c in consts) + ")"
    return shown


def _names_of(names):
    """``{id(tensor): name}`` from a dict ``{name: Tensor}`` or a module's parameters."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = dict(names.named_parameters())
    return {id(v): k for k, v in dict(names).items()}


def to_dot(t, show_values=True, names=None, max_elems=_MAX_SHOWN, rankdir="LR",
           legend=True) -> str:
    """The Graphviz DOT text of the graph that produced ``t``.

    Args:
        t: a Tensor (typically a loss, before or after ``backward()``).
        show_values: print values and gradients of arrays with at most ``max_elems``
            elements (larger ones show their shape).
        names: ``{name: Tensor}`` for the tensors you want named, e.g.
            ``{"X": X, "W1": w1}`` or ``dict(model.named_parameters())``; a Module
            stands for its named parameters. A named tensor that an op produced names
            that op's box (``{"loss": loss}``).
        rankdir: Graphviz layout direction ("LR" or "TB").
        legend: add a box that explains the shapes, colours and edge numbers.
    Returns:
        The DOT source as a string.
    Raises:
        TypeError: ``t`` is not a Tensor.
    Example:
        >>> loss.backward(); open("graph.dot", "w").write(ge.viz.to_dot(loss))
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(t).__name__}")
    label_of = _names_of(names)
    node_name = {id(v.node): label_of[id(v)] for v in _named_tensors(names)
                 if v.node is not None}
    ids = {}
    lines = ["digraph gradengine {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    edges = []

    def node_id(obj, prefix):
        nid = ids.get(id(obj))
        if nid is None:
            nid = ids[id(obj)] = f"{prefix}{len(ids)}"
        return nid

    def leaf_line(tensor, nid):
        title = label_of.get(id(tensor)) or ("parameter" if tensor.requires_grad else "input")
        parts = [f"{title}: {_shape_text(tensor.shape)} {tensor.dtype.name}"]
        if show_values:
            parts += _value_lines(tensor.data, tensor.grad, max_elems)
        style = ', style=filled, fillcolor="#dbe9f6"' if tensor.requires_grad else ""
        return f'  {nid} [shape=ellipse, label="{_esc(chr(10).join(parts))}"{style}];'

    def op_line(node, nid, out):
        title = _op_title(node)
        if id(node) in node_name:
            title = f"{node_name[id(node)]} = {title}"
        grad = node.grad
        shape = getattr(out, "shape", None)
        if shape is None and grad is not None:
            shape = grad.shape
        parts = [title]
        if shape is not None:
            dtype = getattr(out if out is not None else grad, "dtype", None)
            parts.append(f"out: {_shape_text(tuple(shape))}" + (f" {dtype}" if dtype else ""))
        if show_values:
            parts += _value_lines(out, grad, max_elems)
        return f'  {nid} [shape=box, style=rounded, label="{_esc(chr(10).join(parts))}"];'

    root = t.node if t.node is not None else t
    stack = [root]
    seen = {id(root)}
    op_nodes, leaves = [], []
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            leaves.append(item)
            continue
        op_nodes.append(item)
        dst = node_id(item, "op")
        sources = []  # what each tensor argument came from: its node, or a leaf
        for i, a in enumerate(item.args):
            e = item.edge(i) if item.needs[i] else None
            if e is None and isinstance(a, Tensor):
                e = a.node if a.node is not None else a
            if e is not None:
                sources.append(e)
        numbered = len(sources) > 1 and item.op.name not in _SYMMETRIC
        for i, src_obj in enumerate(sources):
            src = node_id(src_obj, "t" if isinstance(src_obj, Tensor) else "op")
            edges.append(f'  {src} -> {dst} [label="{i + 1}"];' if numbered
                         else f"  {src} -> {dst};")
            if id(src_obj) not in seen:
                seen.add(id(src_obj))
                stack.append(src_obj)
    op_nodes.sort(key=lambda n: n.seq)
    for node in op_nodes:
        out = t.data if node is t.node else getattr(node, "out_data", None)
        lines.append(op_line(node, ids[id(node)], out))
    for leaf in leaves:
        lines.append(leaf_line(leaf, node_id(leaf, "t")))
    lines.extend(reversed(edges))
    if legend and op_nodes:
        lines.append(f'  legend [shape=note, fontsize=9, color=gray40, fontcolor=gray20, '
                     f'label="{_esc(_LEGEND)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _named_tensors(names):
    if names is None:
        return []
    if hasattr(names, "named_parameters"):
        names = dict(names.named_parameters())
    return [v for v in dict(names).values() if isinstance(v, Tensor)]


def render(t, path, format=None, show_values=True, names=None) -> str:
    """Write ``t``'s graph as DOT next to ``path`` and render it with Graphviz's ``dot``.

    Args:
        t: the Tensor whose graph to draw.
        path: the picture to write, e.g. "graph.svg"; the DOT text goes to "graph.dot".
        format: "svg", "png" or "pdf" (default: from the suffix of ``path``, else "svg").
        show_values, names: as for :func:`to_dot`.
    Returns:
        The path of the rendered picture.
    Raises:
        RuntimeError: Graphviz's ``dot`` is not installed (the .dot file is still written).
    Example:
        >>> ge.viz.render(loss, "step.svg", names={"X": X, "y": y})
    """
    path = os.fspath(path)
    stem, ext = os.path.splitext(path)
    if format is None:
        format = ext[1:].lower() if ext else "svg"
    if format not in ("svg", "png", "pdf"):
        raise ValueError(f"render: format must be 'svg', 'png' or 'pdf', got {format!r}")
    if not ext:
        path = f"{path}.{format}"
    dot_path = f"{stem}.dot"
    with open(dot_path, "w", encoding="utf-8") as f:
        f.write(to_dot(t, show_values=show_values, names=names))
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(f"render: Graphviz's `dot` program was not found, so {path!r} was "
                           f"not drawn; install Graphviz (apt install graphviz, brew install "
                           f"graphviz or conda install graphviz). The DOT text was written to "
                           f"{dot_path!r}")
    subprocess.run([exe, f"-T{format}", dot_path, "-o", path], check=True,
                   capture_output=True)
    return path
