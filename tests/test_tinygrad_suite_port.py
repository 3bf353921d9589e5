"""Cases from tinygrad's op suite (test/backend/test_ops.py) that gradengine got wrong,
each run as that suite runs it: the same PyTorch expression on torch and on gradengine,
values and gradients compared. torch is the oracle; the module skips without it."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge

torch = pytest.importorskip("torch")


def _pair(arr, grad=True):
    return (ge.tensor(arr, requires_grad=grad and arr.dtype.kind == "f"),
            torch.tensor(arr, requires_grad=grad and arr.dtype.kind == "f"))


def _check(g, t, *, atol=1e-6, rtol=1e-5):
    t = t.detach().numpy()
    assert g.shape == t.shape, (g.shape, t.shape)
    np.testing.assert_allclose(g.numpy(), t, atol=atol, rtol=rtol)


def _backward_both(g_out, t_out, seed=0):
    w = np.random.default_rng(seed).standard_normal(g_out.shape).astype(g_out.numpy().dtype)
    (g_out * ge.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()


# ---------------------------------------------------------------- scatter

@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_scatter_repeated_indices_last_write_wins(dim):
    rng = np.random.default_rng(abs(dim))
    idx = rng.integers(0, 3, (3, 4, 5))
    x, s = (rng.standard_normal(sh).astype(np.float32) for sh in ((4, 5, 6), (3, 4, 5)))
    (gx, tx), (gs, ts) = _pair(x), _pair(s)
    go = gx.scatter(dim, ge.tensor(idx), gs)
    to = tx.scatter(dim, torch.tensor(idx), ts)
    _check(go, to, atol=0)
    _backward_both(go, to)
    _check(gx.grad, tx.grad, atol=0)
    _check(gs.grad, ts.grad, atol=0)


def test_scatter_src_larger_than_index_and_value_forms():
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 3, (3, 4, 5))
    x, s = rng.standard_normal((4, 5, 6)), rng.standard_normal((4, 5, 6))
    _check(ge.tensor(x).scatter(1, ge.tensor(idx), ge.tensor(s)),
           torch.tensor(x).scatter(1, torch.tensor(idx), torch.tensor(s)), atol=0)
    for v in (3, float("inf")):
        _check(ge.tensor(x).scatter(1, ge.tensor(idx), value=v),
               torch.tensor(x).scatter(1, torch.tensor(idx), value=v), atol=0)
    xi = rng.integers(0, 9, (4, 5, 6))
    _check(ge.tensor(xi).scatter(2, ge.tensor(idx), ge.tensor(xi)),
           torch.tensor(xi).scatter(2, torch.tensor(idx), torch.tensor(xi)), atol=0)
    a = ge.tensor([1.0, 2.0, 3.0, 4.0])
    a.scatter_(0, ge.tensor([0, 0]), ge.tensor([1.0, 0.0]))
    assert a.tolist() == [0.0, 2.0, 3.0, 4.0]


def test_scatter_multiply_accumulates_repeats_and_dtype_mismatch_raises():
    rng = np.random.default_rng(2)
    idx = rng.integers(0, 3, (3, 4, 5))
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.tensor(x).scatter(1, torch.tensor(idx), torch.tensor(x), reduce="multiply")
    _check(ge.tensor(x).scatter(1, ge.tensor(idx), ge.tensor(x), reduce="multiply"), want)
    with pytest.raises(ge.DTypeError, match="scatter"):
        ge.tensor(x).half().scatter(1, ge.tensor(idx), ge.tensor(x))
