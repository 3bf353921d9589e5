"""Graph export: DOT text of real graphs after backward, deep chains, rendering."""

import re
import shutil
import sys

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from gradengine import nn, viz


def _graph_ops(t):
    """The op names in t's graph, found independently of viz (walk the nodes' edges)."""
    names, stack, seen = set(), [t.node], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        names.add(node.op.name)
        edges = [node.edge(i) for i, need in enumerate(node.needs) if need]
        stack.extend(e for e in edges if not isinstance(e, ge.Tensor))  # nodes, not leaves
    return names


def _seed_step():
    ge.manual_seed(0)
    model = nn.Sequential(nn.Dense(3, input_dim=2, activation="sigmoid"),
                          nn.Dense(1, activation="sigmoid"))
    X = ge.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = ge.tensor([[0.0], [1.0], [1.0], [0.0]])
    loss = F.mse_loss(model(X), y)
    loss.backward()
    return model, X, y, loss


def test_to_dot_of_a_training_step_after_backward_shows_ops_shapes_values_and_grads():
    model, X, y, loss = _seed_step()
    dot = viz.to_dot(loss, names=dict(model.named_parameters()))
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert len(_graph_ops(loss)) >= 3
    for shown in ("matmul", "+ → sigmoid", "mse_loss"):  # as written, not internal names
        assert shown in dot
    assert "bias_act" not in dot
    for pname in ("0.weight", "0.bias", "1.weight", "1.bias"):
        assert pname in dot
    w_grad = model[1].weight.grad.numpy()
    assert f"{w_grad.ravel()[0]:.4f}".rstrip("0")[:5] in dot  # the leaf's gradient is shown
    assert "grad: 1" in dot  # d loss / d loss on the root node
    assert "(4, 3)" in dot and "(4, 1)" in dot
    assert "input: (4, 2) float32" in dot and "const" not in dot
    assert not re.search(r"#\d", dot)  # no internal sequence numbers
    assert dot.count("->") >= 8


def test_user_names_name_inputs_parameters_and_the_output():
    model, X, y, loss = _seed_step()
    names = {"X": X, "y": y, "W1": model[0].weight, "b1": model[0].bias, "loss": loss}
    dot = viz.to_dot(loss, names=names)
    for shown in ("X: (4, 2)", "y: (4, 1)", "W1: (2, 3)", "b1: (3,)", "loss = mse_loss"):
        assert shown in dot
    assert "1.weight" not in dot and "parameter: (3, 1)" in dot  # W2 was not named
    by_module = viz.to_dot(loss, names=model)
    assert "0.weight: (2, 3)" in by_module


def test_edge_numbers_only_where_the_order_matters_and_a_legend_explains_them():
    a = ge.tensor([1.0, 2.0], requires_grad=True)
    b = ge.tensor([3.0, 4.0], requires_grad=True)
    dot = viz.to_dot(((a * b) - a).sum())
    mul_edges = [ln for ln in dot.splitlines() if "->" in ln and 'label="' in ln]
    assert len(mul_edges) == 2  # only the two arguments of "-" are numbered
    assert "legend" in dot and "first, second argument" in dot
    assert "legend" not in viz.to_dot(((a * b) - a).sum(), legend=False)


def test_python_numbers_are_written_into_the_op():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    dot = viz.to_dot(((x * 3) + 1 - (2 / x)).sum())
    for shown in ('"* 3', '"+ 1', '"2 /'):
        assert shown in dot


def test_to_dot_before_backward_and_without_values():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    dot = viz.to_dot(y)
    assert "grad:" not in dot and "value:" in dot
    bare = viz.to_dot(y, show_values=False)
    assert "value:" not in bare and '"*' in bare and "sum" in bare
    leaf = viz.to_dot(x)
    assert "parameter: (2,)" in leaf and "->" not in leaf


def test_tensor_used_twice_has_one_node_and_two_edges():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    dot = viz.to_dot(y)
    leaf_ids = re.findall(r"^\s*(t\d+) \[", dot, re.MULTILINE)
    assert len(leaf_ids) == 1
    assert dot.count(f"{leaf_ids[0]} ->") == 2


def test_ten_thousand_node_chain_does_not_recurse():
    x = ge.tensor([1.0], requires_grad=True, dtype="float64")
    y = x
    for _ in range(10_000):
        y = y * 1.0000001
    y.sum().backward()
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        dot = viz.to_dot(y)
    finally:
        sys.setrecursionlimit(old)
    assert dot.count("->") >= 10_000  # (its speed is a benchmark's business, not a test's)


def test_render_without_graphviz_raises_a_clear_error_and_writes_the_dot(tmp_path,
                                                                       monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    with pytest.raises(RuntimeError, match=r"apt install graphviz.*graph\.dot"):
        viz.render(y, tmp_path / "graph.svg")
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render_with_graphviz(tmp_path, fmt):
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    y = (x.sigmoid() * 3).sum()
    y.backward()
    out = viz.render(y, tmp_path / f"graph.{fmt}")
    with open(out, "rb") as f:
        data = f.read()
    assert data[:4] in (b"<?xm", b"<svg") if fmt == "svg" else data[:4] == b"\x89PNG"


def test_ge_viz_is_exposed_on_the_package():
    assert ge.viz.to_dot is viz.to_dot
    with pytest.raises(TypeError):
        viz.to_dot(np.ones(3))
