"""In-place writes as PyTorch counts them: views and detach() share their base's version
counter, a backward that saved a tensor raises after any write through any alias, saved
integer labels and masks are checked too, and a write to a tensor no op saved is allowed.
A gradient through an in-place write into a view reaches the base (PyTorch's rule)."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F


def _a():
    return ge.tensor([1.0, 2.0, 3.0], requires_grad=True)


def test_a_write_through_detach_is_caught():
    a = _a()
    h = a * 1
    y = (h * h).sum()
    d = h.detach()
    d += 1
    with pytest.raises(ge.GraphError, match=r"mul: .*modified in place.*version 1.*expected 0"):
        y.backward()


def test_a_write_through_a_slice_of_a_saved_tensor_is_caught():
    a = _a()
    x = a * 1
    y = (x * x).sum()
    with ge.no_grad():
        v = x[:2]
        v += 5
    with pytest.raises(ge.GraphError, match="modified in place"):
        y.backward()


def test_a_write_into_a_slice_of_a_saved_sigmoid_output_is_caught():
    a = _a()
    s = a.sigmoid()
    y = s.sum()
    with ge.no_grad():
        s[0:1] = 0.0
    with pytest.raises(ge.GraphError, match="sigmoid: .*modified in place"):
        y.backward()


def test_changing_integer_labels_after_cross_entropy_is_caught():
    logits = ge.randn(3, 4, requires_grad=True)
    labels = ge.tensor([0, 1, 2])
    loss = F.cross_entropy(logits, labels)
    labels[0] = 3
    with pytest.raises(ge.GraphError, match="cross_entropy: .*modified in place"):
        loss.backward()


def test_a_mask_changed_after_where_is_caught():
    a = _a()
    mask = a > 1.5
    y = F.where(mask, a, a * 0).sum()
    mask[0] = True
    with pytest.raises(ge.GraphError, match="where: .*modified in place"):
        y.backward()


def test_writing_a_tensor_no_op_saved_is_allowed():
    x = _a()
    h = x * 2
    a = h * 3            # multiplying by a constant saves nothing of h
    h += 1
    b = h * 4
    (a.sum() + b.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [14.0, 14.0, 14.0])


def test_views_share_the_version_counter():
    x = ge.zeros((2, 3))
    views = [x[0], x.reshape(6), x.T, x.detach(), x.reshape(1, 6).squeeze(0), x[:, 1:]]
    views[0] += 1
    assert all(v._version == 1 for v in views) and x._version == 1
    views[2] *= 2
    assert x._version == 2 and views[5]._version == 2
    np.testing.assert_array_equal(x.numpy(), [[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]])


def test_an_in_place_op_writes_into_the_tensors_memory():
    x = ge.zeros(3)
    v = x[1:]
    alias = x.numpy()
    x += 1
    v *= 3
    np.testing.assert_array_equal(alias, [1.0, 3.0, 3.0])


def test_gradient_through_an_in_place_write_into_a_view_reaches_the_base():
    torch = pytest.importorskip("torch")
    a = _a()
    x = a * 1
    v = x[:2]
    v *= 2
    (x * x).sum().backward()
    ta = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tx = ta * 1
    tv = tx[:2]
    tv *= 2
    (tx * tx).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_allclose(x.numpy(), tx.detach().numpy())


def test_setitem_through_a_view_with_a_value_that_needs_grad():
    torch = pytest.importorskip("torch")
    a = _a()
    w = ge.tensor([5.0], requires_grad=True)
    x = a * 1
    row = x.reshape(1, 3)
    row[0, 2:] = w * 2
    x.sum().backward()
    ta = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tw = torch.tensor([5.0], requires_grad=True)
    tx = ta * 1
    trow = tx.reshape(1, 3)
    trow[0, 2:] = tw * 2
    tx.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_an_in_place_write_into_a_view_of_a_leaf_that_requires_grad_raises():
    a = _a()
    v = a[:2]
    with pytest.raises(ge.GraphError, match="leaf"):
        v += 1
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0, 3.0])


def test_retain_grad_keeps_a_non_leaf_gradient():
    a = _a()
    h = a * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), 2 * h.numpy())


def test_grad_refuses_grad_outputs_of_the_wrong_length():
    a = _a()
    y1, y2 = (a * 2).sum(), (a * 3).sum()
    with pytest.raises(ValueError, match="1 grad_outputs for 2 outputs"):
        ge.grad([y1, y2], a, grad_outputs=[ge.tensor(1.0)])


def test_a_write_into_a_diagonal_view_lands_in_its_base_with_torchs_gradient():
    import torch
    outs = []
    for lib in (torch, ge):
        a = lib.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
        h = a * 1
        h.diagonal().mul_(5)
        (h * h).sum().backward()
        outs.append((h.detach().numpy().copy(), a.grad.numpy().copy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
