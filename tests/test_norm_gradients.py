"""The p-norms' gradients at zero follow torch's subgradient (0, not 0/0 = NaN): Tensor.norm,
ge.norm, ge.linalg.vector_norm / matrix_norm / norm, for p = 2 ("fro") and any finite p;
away from zero they match torch and float64 finite differences to second order."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge

torch = pytest.importorskip("torch")

X = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.0]])

CALLS = [
    ("norm()", lambda m, a, p: a.norm(p=p)),
    ("norm(dim=1)", lambda m, a, p: a.norm(p=p, dim=1)),
    ("norm(dim=0, keepdim)", lambda m, a, p: a.norm(p=p, dim=0, keepdim=True)),
    ("linalg.vector_norm(dim=1)", lambda m, a, p: m.linalg.vector_norm(
        a, 2 if p == "fro" else p, dim=1)),
]


@pytest.mark.parametrize("p", ["fro", 2, 1.5, 3, 4, 0.5])
@pytest.mark.parametrize("name,call", CALLS, ids=[c[0] for c in CALLS])
def test_norm_gradient_at_zero_is_torchs(name, call, p):
    a = ge.tensor(X, requires_grad=True)
    b = torch.tensor(X, requires_grad=True)
    ga, tb = call(ge, a, p), call(torch, b, p)
    np.testing.assert_allclose(ga.detach().numpy(), tb.detach().numpy(), rtol=1e-12)
    ga.sum().backward()
    tb.sum().backward()
    assert not np.isnan(a.grad.numpy()).any()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_matrix_norms_at_zero():
    for fn in (lambda m, a: m.linalg.matrix_norm(a), lambda m, a: m.linalg.norm(a)):
        a, b = ge.zeros((2, 3), requires_grad=True), torch.zeros((2, 3), requires_grad=True)
        fn(ge, a).backward()
        fn(torch, b).backward()
        assert a.grad.tolist() == b.grad.tolist() == [[0.0] * 3] * 2


@pytest.mark.parametrize("p", [2, 1.5, 3, 0.5])
def test_norm_gradients_to_second_order(p):
    r = np.random.default_rng(0).standard_normal((3, 4))
    assert ge.gradcheck(lambda t: t.norm(p=p, dim=1), [ge.tensor(r, requires_grad=True)])
    assert ge.gradgradcheck(lambda t: t.norm(p=p), [ge.tensor(r, requires_grad=True)])
