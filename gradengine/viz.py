"""Graph export: the computational graph behind a tensor as Graphviz DOT, and rendering.

    loss.backward()
    print(ge.viz.to_dot(loss))                 # op nodes with shapes, values and gradients
    ge.viz.render(loss, "step.svg")            # needs Graphviz's `dot`

Op nodes (boxes) show the op name, the output shape and dtype, small output values and
the gradient that reached them in the last backward; leaves (ellipses) show their name
when given, shape, values and ``.grad``. The walk is iterative, so graphs of any depth
work, and it reads only what backward keeps (each node's arguments, output and
gradient), so it works after ``backward()``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np

from . import backend
from .core.tensor import Tensor

__all__ = ["render", "to_dot"]

_MAX_SHOWN = 12  # arrays up to this many elements have their values printed


def _fmt(arr, max_elems):
    if arr is None or arr.size > max_elems:
        return None
    if not isinstance(arr, np.ndarray):
        arr = backend.cupy().asnumpy(arr)
    if arr.ndim == 0:
        return f"{arr.item():.4g}"
    return np.array2string(arr, precision=4, separator=", ", suppress_small=True,
                           max_line_width=60)


def _array_of(g):
    # node.grad may be kept as a Tensor or as a bare array, depending on the engine version.
    return g.data if isinstance(g, Tensor) else g


def _esc(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l") + "\\l"


def _shape(arr):
    return tuple(getattr(arr, "shape", ()))


def _value_lines(value, grad, max_elems):
    """The "value: ..." and "grad: ..." lines of a node label (small arrays in full)."""
    lines = []
    val = _fmt(value, max_elems)
    if val is not None:
        lines.append(f"value: {val}")
    gv = _fmt(grad, max_elems)
    if gv is not None:
        lines.append(f"grad: {gv}")
    elif grad is not None:
        lines.append(f"grad: {_shape(grad)}")
    return lines


def to_dot(t, show_values=True, names=None, max_elems=_MAX_SHOWN, rankdir="LR") -> str:
    """The Graphviz DOT text of the graph that produced ``t``.

    Args:
        t: a Tensor (typically a loss, before or after ``backward()``).
        show_values: print values and gradients of arrays with at most ``max_elems``
            elements.
        names: optional ``{name: Tensor}`` (e.g. ``dict(model.named_parameters())``) used
            to label leaves.
        rankdir: Graphviz layout direction ("LR" or "TB").
    Returns:
        The DOT source as a string.
    Example:
        >>> loss.backward(); open("graph.dot", "w").write(ge.viz.to_dot(loss))
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(t).__name__}")
    label_of = {id(v): k for k, v in (names or {}).items()}
    ids = {}
    lines = ["digraph gradengine {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=10];']
    edges = []

    def node_id(obj, prefix):
        key = id(obj)
        nid = ids.get(key)
        if nid is None:
            nid = ids[key] = f"{prefix}{len(ids)}"
        return nid

    def leaf_line(tensor, nid):
        title = label_of.get(id(tensor))
        if title is None:
            title = "leaf" if tensor.requires_grad else "const"
        parts = [f"{title} {tensor.shape} {tensor.dtype.name}"]
        if show_values:
            parts += _value_lines(tensor.data, _array_of(tensor.grad), max_elems)
        style = ', style=filled, fillcolor="#dbe9f6"' if tensor.requires_grad else ""
        return f'  {nid} [shape=ellipse, label="{_esc(chr(10).join(parts))}"{style}];'

    def op_line(node, nid):
        out = node.out_data
        parts = [f"{node.op.name}  #{node.seq}",
                 f"out {_shape(out)} {getattr(out, 'dtype', np.dtype('float32')).name}"]
        if show_values:
            parts += _value_lines(out, _array_of(node.grad), max_elems)
        return f'  {nid} [shape=box, style=rounded, label="{_esc(chr(10).join(parts))}"];'

    root = t.node if t.node is not None else t
    stack = [root]
    seen = {id(root)}
    op_nodes = []
    leaves = []
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            leaves.append(item)
            continue
        op_nodes.append(item)
        dst = node_id(item, "op")
        for i, a in enumerate(item.args):
            if isinstance(a, Tensor):
                src_obj = a.node if a.node is not None else a
                src = node_id(src_obj, "op" if a.node is not None else "t")
                label = ""
                if len(item.args) > 1:
                    label = f' [label="{i}"]'
                edges.append(f"  {src} -> {dst}{label};")
                if id(src_obj) not in seen:
                    seen.add(id(src_obj))
                    stack.append(src_obj)
    op_nodes.sort(key=lambda n: n.seq)
    for node in op_nodes:
        lines.append(op_line(node, ids[id(node)]))
    for leaf in leaves:
        lines.append(leaf_line(leaf, node_id(leaf, "t")))
    lines.extend(reversed(edges))
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(t, path, format=None, show_values=True, names=None) -> str:
    """Write ``t``'s graph as DOT next to ``path`` and render it with Graphviz's ``dot``.

    Args:
        t: the Tensor whose graph to draw.
        path: the picture to write, e.g. "graph.svg"; the DOT text goes to "graph.dot".
        format: "svg" or "png" (default: from the suffix of ``path``, else "svg").
    Returns:
        The path of the rendered picture.
    Raises:
        RuntimeError: Graphviz's ``dot`` is not installed (the .dot file is still written).
    Example:
        >>> ge.viz.render(loss, "step.svg")
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
