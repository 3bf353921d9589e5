"""The gradient of ge.linalg.qr (PyTorch's rule) without torch: by-hand derivatives,
float64 finite differences of first and second order for square, tall and wide matrices
and batches, and torch's refusals (mode "r", "complete" with more rows than columns).
tests/test_ops_dropin.py checks the same rows against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge

SHAPES = [(3, 3), (5, 3), (3, 5), (2, 4, 3), (2, 3, 4), (1, 1), (4, 1), (1, 4)]


def _x(a):
    return ge.tensor(a, dtype="float64", requires_grad=True)


def test_qr_gradient_of_a_column_by_hand():
    a = np.array([[3.0], [4.0]])  # Q = s a / |a|, R = s |a|
    w = np.array([[0.5], [-2.0]])
    x = _x(a)
    q, r = ge.linalg.qr(x)
    r.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), q.numpy(), atol=1e-15)  # dR/da = Q
    x = _x(a)
    q, r = ge.linalg.qr(x)
    (q * ge.tensor(w)).sum().backward()
    qv, rv = q.numpy(), r.item()
    np.testing.assert_allclose(x.grad.numpy(), (w - qv * (qv * w).sum()) / rv, atol=1e-15)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_qr_product_has_the_identity_gradient(shape):
    # sum((Q R) * W) is sum(A * W): both rules together must give W exactly
    rng = np.random.default_rng(0)
    for mode in ("reduced", "complete"):
        if mode == "complete" and shape[-2] > shape[-1]:
            continue
        w = rng.standard_normal(shape)
        x = _x(rng.standard_normal(shape))
        q, r = ge.linalg.qr(x, mode=mode)
        ((q @ r) * ge.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), w, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("out", [0, 1], ids=["Q", "R"])
def test_qr_gradients_match_finite_differences_to_second_order(shape, out, device):
    rng = np.random.default_rng(1)
    a = ge.tensor(rng.standard_normal(shape), dtype="float64", device=device,
                  requires_grad=True)
    modes = ["reduced"] + (["complete"] if shape[-2] <= shape[-1] else [])
    for mode in modes:
        assert ge.gradcheck(lambda x, mode=mode: ge.linalg.qr(x, mode=mode)[out], [a])
        assert ge.gradgradcheck(lambda x, mode=mode: ge.linalg.qr(x, mode=mode)[out], [a])


def test_qr_both_outputs_together_match_finite_differences():
    rng = np.random.default_rng(2)
    for shape in ((4, 3), (3, 4), (2, 3, 3)):
        a = _x(rng.standard_normal(shape))
        assert ge.gradcheck(lambda x: ge.linalg.qr(x).Q.sum() * ge.linalg.qr(x).R.sum(), [a])
        assert ge.gradgradcheck(lambda x: (ge.linalg.qr(x).Q ** 2 * ge.linalg.qr(x).R.sum()
                                           ).sum(), [a])


def test_qr_refuses_the_gradients_torch_refuses():
    x = _x(np.random.default_rng(3).standard_normal((4, 3)))
    with pytest.raises(ge.GraphError, match=r"qr: .*mode='r'"):
        ge.linalg.qr(x, mode="r").R.sum().backward()
    with pytest.raises(ge.GraphError, match=r"qr: .*\(4, 3\).*mode='complete' and nrows > "
                                            r"ncols"):
        ge.linalg.qr(x, mode="complete").R.sum().backward()
    w = _x(np.random.default_rng(3).standard_normal((3, 4)))
    ge.linalg.qr(w, mode="complete").Q.sum().backward()  # m <= n: differentiable
    assert w.grad.shape == (3, 4)


def test_torch_qr_spelling_and_keras_qr_get_the_gradient():
    from gradengine.keras import ops

    a = np.random.default_rng(4).standard_normal((4, 3))
    grads = []
    for qr in (lambda x: ge.linalg.qr(x), lambda x: ge.qr(x), lambda x: ops.linalg.qr(x)):
        x = _x(a)
        q, r = qr(x)
        (q.sum() + (r * r).sum()).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], atol=1e-14)
    np.testing.assert_allclose(grads[2], grads[0], atol=1e-14)
