"""The op table of the distribution ops (gradengine/ops/incomplete_gamma.py and
ops/sampling.py): ``gammainc`` by gradcheck in float64, gradgradcheck, PyTorch as the
reference (values and gradients), the CPU and the NumPy stand-in for CUDA, and ge.jit
replay equal to eager bit for bit; ``standard_gamma_grad`` (no gradient) against
``torch._standard_gamma_grad`` and ``dirichlet_grad`` against ``torch._dirichlet_grad`` in
each of their regimes. The random ``standard_gamma`` and ``sample_dirichlet`` are checked
in tests/test_distributions_more.py (their gradients against torch's at the same draw).
The guard at the end fails when an op of these modules has no row."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import optable
from gradengine.core.op import apply
from gradengine.ops import incomplete_gamma, sampling
from optable import Row

torch = pytest.importorskip("torch")


def _gamma_args(*shapes):
    def samples(rng):
        return [[rng.uniform(0.3, 5.0, sa), rng.uniform(0.05, 8.0, sx)] for sa, sx in shapes]
    return samples


ROWS = [
    Row("gammainc", incomplete_gamma.gammainc, torch.special.gammainc,
        _gamma_args(((4,), (4,)), ((), (3, 2)), ((2, 1), (1, 3)), ((0,), (0,))), diff=(1,)),
    Row("gammainc[special]", lambda a, x: ge.special.gammaincc(a, x),
        torch.special.gammaincc, _gamma_args(((3,), (3,)), ((2, 2), (2,))), diff=(1,),
        covers=("gammainc",)),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_gradcheck(row, device, rng):
    optable.check_gradcheck(row, device, rng)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_gradgradcheck(row, device, rng):
    optable.check_gradgradcheck(row, device, rng)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_matches_torch(row, dtype, device, rng):
    optable.check_torch(row, device, rng, dtype)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    optable.check_jit(row, rng)


def test_gammainc_edges_and_its_gradient_in_a_raises_as_torch():
    a = ge.tensor([1.0, 2.0, 0.5, -1.0, 2.0], dtype="float64")
    x = ge.tensor([0.0, np.inf, 1e-8, 1.0, -1.0], dtype="float64")
    want = torch.special.gammainc(torch.tensor(a.numpy()), torch.tensor(x.numpy()))
    np.testing.assert_allclose(ge.special.gammainc(a, x).numpy(), want.numpy(), rtol=1e-12,
                               equal_nan=True)
    big = np.float64([50.0, 300.0, 2000.0])
    for f in (0.5, 1.0, 1.2):  # near x = a, where a series needs many terms
        got = incomplete_gamma.gammainc(ge.tensor(big), ge.tensor(big * f)).numpy()
        ref = torch.special.gammainc(torch.tensor(big), torch.tensor(big * f)).numpy()
        np.testing.assert_allclose(got, ref, atol=1e-9)
    a = ge.tensor([2.0], dtype="float64", requires_grad=True)
    with pytest.raises(RuntimeError, match="with respect to a"):
        ge.special.gammainc(a, ge.tensor([1.0], dtype="float64")).sum().backward()
    at = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.special.gammainc(at, torch.tensor([1.0], dtype=torch.float64)).sum().backward()


def test_standard_gamma_grad_matches_torch_in_every_regime(device):
    alpha = np.float64([0.05, 0.5, 2.0, 5.0, 7.9, 9.0, 9.0, 9.0, 30.0, 30.0, 300.0, 3.0])
    x = np.float64([0.01, 0.3, 0.7, 2.0, 10.0, 8.5, 3.0, 20.0, 29.0, 45.0, 280.0, 0.9])
    got = apply(sampling.standard_gamma_grad, ge.tensor(alpha, device=device),
                           ge.tensor(x, device=device))
    want = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x))
    assert not got.requires_grad and got.device == ge.tensor(0.0, device=device).device
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_dirichlet_grad_matches_torch_in_every_regime(device):
    rng = np.random.default_rng(0)
    al = np.exp(rng.uniform(-3, 4, 400))
    be = np.exp(rng.uniform(-3, 4, 400))
    x = np.clip(rng.beta(al, be), 1e-300, 1 - 1e-16)
    got = apply(sampling.dirichlet_grad, ge.tensor(x, device=device),
                ge.tensor(al, device=device), ge.tensor(al + be, device=device))
    want = torch._dirichlet_grad(torch.tensor(x), torch.tensor(al), torch.tensor(al + be))
    assert not got.requires_grad
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-300)


def test_standard_gamma_checks_its_argument():
    with pytest.raises(ValueError, match="floating"):
        sampling.standard_gamma(ge.tensor([1, 2]))
    with pytest.raises(ValueError, match="floating"):
        sampling.sample_dirichlet(ge.tensor(1.0))


def test_every_op_of_these_modules_has_a_row():
    names = {"standard_gamma", "standard_gamma_grad", "standard_gamma_grad_diff",
             "sample_dirichlet", "dirichlet_grad", "dirichlet_grad_diff"}
    missing = (optable.op_names(incomplete_gamma, sampling)
               - optable.covered(ROWS, names))
    assert not missing, f"ops without a row: {sorted(missing)}"
