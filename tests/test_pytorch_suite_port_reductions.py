"""Cases from PyTorch's test/test_reductions.py (TestReductions, device "cpu"), ported with
``import gradengine as torch``; see tests/test_pytorch_suite_port.py for the rules."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as torch
from gradengine import inf
from pytorch_port_util import assert_equal


# test_reductions.py TestReductions.test_var_unbiased
def test_var_unbiased():
    tensor = torch.randn(100)
    assert_equal(tensor.var(0), tensor.var(0, unbiased=True))
    assert_equal(tensor.var(), tensor.var(unbiased=True))
    assert_equal(tensor.var(unbiased=False), tensor.var(0, unbiased=False))

    tensor = torch.tensor([1.0, 2.0])
    assert_equal(tensor.var(unbiased=True), 0.5)
    assert_equal(tensor.var(unbiased=False), 0.25)

    tensor = torch.tensor([1.0, 2.0, 3.0])
    assert_equal(tensor.var(unbiased=True), 1.0)
    assert_equal(tensor.var(unbiased=False), 2.0 / 3.0)

    tensor = torch.randn(100)
    assert_equal(tensor.std(0), tensor.std(0, unbiased=True))
    assert_equal(tensor.std(), tensor.std(unbiased=True))
    assert_equal(tensor.std(unbiased=False), tensor.std(0, unbiased=False))


# test_reductions.py TestReductions.test_var_stability
def test_var_stability():
    tensor = torch.tensor([2281.5, 2281.25])
    assert_equal(tensor.var(dim=0), 0.03125)
    assert_equal(tensor.var(), 0.03125)


# test_reductions.py TestReductions.test_sum_dim_reduction_uint8_overflow
def test_sum_dim_reduction_uint8_overflow():
    example = [[-1, 2, 1], [5, 3, 6]]
    x = torch.tensor(example, dtype=torch.uint8)
    assert_equal(x.sum(dtype=torch.uint8).item(), 16)
    assert_equal(x.sum(0, dtype=torch.uint8), torch.tensor([4, 5, 7], dtype=torch.uint8))
    assert_equal(x.sum(1, dtype=torch.uint8), torch.tensor([2, 14], dtype=torch.uint8))
    y = torch.tensor(example, dtype=torch.uint8)
    torch.sum(x, 0, out=y)
    assert_equal(x.sum(0, dtype=torch.uint8), y)


# test_reductions.py TestReductions.test_dim_reduction_lastdim (dtype float)
def test_dim_reduction_lastdim():
    x = torch.randn(3, 5, 40, dtype=torch.float)
    x = x[:, :, 0:40:2]
    x2 = x.contiguous()
    ops = [torch.norm, torch.argmax, torch.argmin]
    for op in ops:
        y = op(x, dim=-1)
        y2 = op(x2, dim=-1)
        assert_equal(y, y2)


# test_reductions.py TestReductions.test_logsumexp (dtypes float32, double)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsumexp(dtype):
    logsumexp = pytest.importorskip("scipy.special").logsumexp
    dtype = getattr(torch, dtype)
    a = torch.randn(5, 4, dtype=dtype)
    a[1, :] = -inf
    actual = a.logsumexp(1)
    expected = logsumexp(a.cpu().numpy(), 1)
    assert_equal(expected.shape, actual.shape)
    assert_equal(expected, actual)

    b = torch.zeros(5, 2, dtype=dtype)
    c = b[:, 0]
    torch.logsumexp(a, 1, out=c)
    assert_equal(expected, b[:, 0])


# test_reductions.py TestReductions.test_logsumexp_integral_promotion
def test_logsumexp_integral_promotion():
    logsumexp = pytest.importorskip("scipy.special").logsumexp
    e = torch.randint(-100, 100, [5, 4])
    actual = e.logsumexp(1).to(torch.float64)
    expected = logsumexp(e.cpu().numpy(), 1)
    assert_equal(expected.shape, actual.shape)
    assert_equal(expected, actual)


# test_reductions.py TestReductions.test_sum_parallel
def test_sum_parallel():
    def _run_test(size):
        for dim in range(len(size) + 1):
            nv = np.round(np.random.rand(*size))
            tv = torch.from_numpy(nv)
            assert tv.numel() > 32768
            if dim == len(size):
                nvs = nv.sum()
                tvs = tv.sum()
            else:
                nvs = nv.sum(dim)
                tvs = tv.sum(dim)
            diff = np.abs(nvs - tvs.numpy()).sum()
            assert_equal(diff, 0)

    _run_test([2, 3, 3, 3, 3, 2, 2, 3, 2, 3, 2, 3, 3])
    _run_test([4, 4, 4, 4, 4, 4, 4, 4, 4, 4])
    _run_test([1, 32 * 8 * 32 * 8])
    _run_test([1, 32770])


# test_reductions.py TestReductions.test_all_any
def test_all_any():
    def test(size):
        x = torch.ones(*size).byte()
        assert x.all()
        assert x.any()

        x[3] = 0
        assert not x.all()
        assert x.any()

        x.zero_()
        assert not x.all()
        assert not x.any()

        x.fill_(2)
        assert x.all()
        assert x.any()

        x = torch.ones(*size).bool()
        assert x.all()
        assert x.any()

        x[3] = False
        assert not x.all()
        assert x.any()

    test((10,))
    test((5, 5))


# test_reductions.py TestReductions.test_all_any_with_dim
def test_all_any_with_dim():
    def test(x):
        r1 = x.prod(dim=0, keepdim=False).byte()
        r2 = x.all(dim=0, keepdim=False)
        assert_equal(r1.shape, r2.shape)
        assert (r1 == r2).all()

        r3 = x.sum(dim=1, keepdim=True).clamp(0, 1).byte()
        r4 = x.any(dim=1, keepdim=True)
        assert_equal(r3.shape, r4.shape)
        assert (r3 == r4).all()

    test(torch.tensor([[0, 0, 0],
                       [0, 0, 1],
                       [0, 1, 1],
                       [1, 1, 1]], dtype=torch.uint8))
