"""Cases from PyTorch's test/test_type_promotion.py (TestTypePromotion), ported with
``import gradengine as torch``; see tests/test_pytorch_suite_port.py for the rules.

PyTorch runs each of these twice, with the default dtype float32 and float64
(``float_double_default_dtype``); gradengine's default dtype is float32 only
(docs/from-pytorch.md, "Where the drop-in differs"), so they run once, in float32.
"""

from __future__ import annotations

import itertools

import pytest

import gradengine as torch
from pytorch_port_util import assert_equal, assert_raises_regex


# test_type_promotion.py TestTypePromotion.test_inplace
def test_inplace():
    int_tensor = torch.ones([4, 4, 4], dtype=torch.int32)

    with assert_raises_regex(RuntimeError, "can't be cast to"):
        int_tensor.add_(1.5)

    expected = torch.ones([4, 4, 4], dtype=torch.int32)

    long_tensor = torch.ones([4, 4, 4], dtype=torch.int64)
    int_tensor.add_(long_tensor)
    int_tensor.add_(1)
    three = expected + 2
    assert_equal(int_tensor, three)
    assert_equal(int_tensor.dtype, torch.int32)

    bool_tensor = torch.tensor([1, 1, 1], dtype=torch.bool)
    uint8_tensor = torch.tensor([1, 1, 1], dtype=torch.uint8)
    with assert_raises_regex(RuntimeError, "can't be cast to"):
        bool_tensor.add_(uint8_tensor)

    int16_tensor = torch.tensor([1, 1, 1], dtype=torch.int16)
    uint8_tensor *= int16_tensor


# test_type_promotion.py TestTypePromotion.test_unsinged
def test_unsinged():
    dont_promote = torch.ones(3, dtype=torch.uint8) + 5
    assert_equal(dont_promote.dtype, torch.uint8)


# test_type_promotion.py TestTypePromotion.test_int_promotion
def test_int_promotion():
    a = torch.ones([4, 4, 4], dtype=torch.int32)
    b = torch.ones([4, 4, 4], dtype=torch.int64)
    c = a + b
    assert_equal(c, b + b)
    assert_equal(c.dtype, torch.int64)


# test_type_promotion.py TestTypePromotion.test_float_promotion
def test_float_promotion():
    def test_promotion(dtype_float, dtype_double):
        a = torch.ones([4, 4, 4], dtype=dtype_float)
        b = torch.ones([4, 4, 4], dtype=dtype_double)
        c = a + b
        assert_equal(c, b + b)
        assert_equal(c.dtype, dtype_double)
        c = b + a
        assert_equal(c, b + b)
        assert_equal(c.dtype, dtype_double)
    test_promotion(torch.float, torch.double)


# test_type_promotion.py TestTypePromotion.test_add_wrapped
def test_add_wrapped():
    a = torch.ones([4, 4, 4], dtype=torch.int)
    b = 1
    c = a + b
    assert_equal(c, a + a)
    assert_equal(c.dtype, torch.int)


# test_type_promotion.py TestTypePromotion.test_int_to_float
def test_int_to_float():
    a = torch.ones([4, 4, 4], dtype=torch.int32)
    b = torch.ones([4, 4, 4], dtype=torch.float)
    c = a + b
    assert_equal(c.dtype, torch.float32)


# test_type_promotion.py TestTypePromotion.test_from_issue
def test_from_issue():
    a = torch.rand(3, dtype=torch.float32)
    u = torch.tensor([0, 0, 1], dtype=torch.uint8)
    assert_equal((a * 5).dtype, torch.float32)
    assert_equal((u + 1).dtype, torch.uint8)
    assert_equal((u + 1000).dtype, torch.uint8)  # integer overflow

    other = torch.tensor(5.5, dtype=torch.double)

    assert_equal((u + 5.5).dtype, torch.get_default_dtype())
    assert_equal((u + other).dtype, torch.double)
    assert_equal((a + other).dtype, torch.float32)


# test_type_promotion.py TestTypePromotion.test_alternate_result
def test_alternate_result():
    f = torch.tensor([1, 1, 1, 1], dtype=torch.float)
    o = torch.tensor([0, 0, 0, 0], dtype=torch.long)
    with assert_raises_regex(RuntimeError, "can't be cast to"):
        torch.add(f, f, out=o)
    d = torch.tensor([1, 1, 1, 1], dtype=torch.double)
    torch.add(f, f, out=d)
    assert_equal(d.dtype, torch.double)
    assert_equal(f + f, d, exact_dtype=False)


# test_type_promotion.py TestTypePromotion.test_mixed_type_backward
def test_mixed_type_backward():
    f = torch.ones([3, 3], dtype=torch.float, requires_grad=True)
    ten = torch.tensor([10.], dtype=torch.double)
    tens = f * ten
    s = (tens + 2).sum()
    s.backward()
    # exact_dtype=False: f.grad is float32 (f's dtype), tens float64; the test class
    # compared without dtypes when this case was written (TestCase.exact_dtype False)
    assert_equal(f.grad, tens, exact_dtype=False)

    f_dtypes = [torch.float, torch.double]
    i_dtypes = [torch.int, torch.long]
    for func in [torch.add, torch.sub, torch.rsub, torch.mul, torch.div]:
        for dtype1, dtype2 in itertools.product(f_dtypes, f_dtypes + i_dtypes):
            x = torch.ones(10, requires_grad=True, dtype=dtype1)
            y = torch.ones(10, dtype=dtype2)
            func(x, y).sum().backward()


# test_type_promotion.py TestTypePromotion.test_non_promoting_ops
def test_non_promoting_ops():
    x = torch.ones(4, dtype=torch.double)
    with pytest.raises(RuntimeError):
        torch.neg(torch.ones(4, dtype=torch.float), out=x)
    with pytest.raises(RuntimeError):
        torch.lerp(x, torch.ones(4, dtype=torch.float), 1)


# test_type_promotion.py TestTypePromotion.test_alpha_mismatch
def test_alpha_mismatch():
    x = torch.ones(4, dtype=torch.int)
    err = 'alpha must not be'
    with assert_raises_regex(RuntimeError, err):
        torch.add(x, x, alpha=1.1)
    x = x.to(torch.bool)
    with assert_raises_regex(RuntimeError, err):
        torch.add(x, x, alpha=1.1)
    assert_equal(x + x, torch.add(x, x, alpha=True))


# test_type_promotion.py TestTypePromotion.test_booleans
def test_booleans():
    onedim = torch.tensor([True])

    assert_equal(onedim + onedim, onedim)
    assert_equal(onedim + True, onedim)
    assert_equal(torch.add(True, True), True)
    assert_equal(torch.add(False, False), False)
    assert_equal(torch.add(False, True), True)

    with assert_raises_regex(RuntimeError, "Boolean alpha only supported"):
        torch.add(1, 1, alpha=True)
    assert_equal(torch.add(torch.tensor(True), torch.tensor(True), True), torch.tensor(True))


# test_type_promotion.py TestTypePromotion.test_create_bool_tensors
def test_create_bool_tensors():
    expected = torch.tensor([0], dtype=torch.int64)
    assert_equal(torch.arange(False, True), expected)
    assert_equal(torch.arange(True), expected)
    expected = torch.tensor([0, 0.5], dtype=torch.get_default_dtype())
    assert_equal(torch.arange(False, True, 0.5), expected)
    expected = torch.ones(0, dtype=torch.int64)
    assert_equal(torch.arange(False, False), expected)

    # steps=100 given: PyTorch's default of 100 steps is gone, torch 2 requires steps
    assert_equal(torch.linspace(False, True, 100), torch.linspace(0, 1, 100))
    assert_equal(torch.logspace(False, True, 100), torch.logspace(0, 1, 100))

    assert_equal(torch.scalar_tensor(False), torch.tensor(0.))


# test_type_promotion.py TestTypePromotion.test_result_type
def test_result_type():
    assert_equal(torch.result_type(torch.tensor(1, dtype=torch.int), 1), torch.int)
    assert_equal(torch.result_type(1, torch.tensor(1, dtype=torch.int)), torch.int)
    assert_equal(torch.result_type(1, 1.), torch.get_default_dtype())
    assert_equal(torch.result_type(torch.tensor(1), 1.), torch.get_default_dtype())
    assert_equal(torch.result_type(torch.tensor(1, dtype=torch.long),
                                   torch.tensor([1, 1], dtype=torch.int)), torch.int)
    assert_equal(torch.result_type(torch.tensor([1., 1.], dtype=torch.float), 1.), torch.float)
    assert_equal(torch.result_type(torch.tensor(1., dtype=torch.float),
                                   torch.tensor(1, dtype=torch.double)), torch.double)


# test_type_promotion.py TestTypePromotion.test_can_cast
def test_can_cast():
    assert torch.can_cast(torch.double, torch.float)
    assert not torch.can_cast(torch.float, torch.int)
