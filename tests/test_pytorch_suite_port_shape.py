"""Cases from PyTorch's test/test_shape_ops.py (TestShapeOps, device "cpu"), ported with
``import gradengine as torch``; see tests/test_pytorch_suite_port.py for the rules.
``compare_with_numpy`` and ``_rand_shape`` are TestCase's helpers, rewritten below."""

from __future__ import annotations

import random
from functools import partial
from itertools import permutations, product

import numpy as np
import pytest

import gradengine as torch
from gradengine import nan
from pytorch_port_util import assert_equal, assert_raises_regex


def _rand_shape(dim, min_size, max_size):
    return tuple(random.randint(min_size, max_size) for _ in range(dim))


def compare_with_numpy(torch_fn, np_fn, x):
    """TestCase.compare_with_numpy: torch_fn(x) equals np_fn(x.numpy())."""
    assert_equal(torch_fn(x), np_fn(x.numpy()))


def _generate_input(shape, dtype, with_extremal):
    if shape == ():
        x = torch.tensor((), dtype=dtype)
    else:
        # np.dtype(dtype).kind for dtype.is_floating_point: gradengine's dtypes are NumPy's
        # (docs/from-pytorch.md, "dtypes are NumPy dtypes")
        if np.dtype(dtype).kind == "f":
            x = torch.randn(*shape, dtype=dtype) * random.randint(30, 100)
            x[torch.randn(*shape) > 0.5] = 0
            if with_extremal:
                x[torch.randn(*shape) > 0.5] = float('nan')
                x[torch.randn(*shape) > 0.5] = float('inf')
                x[torch.randn(*shape) > 0.5] = float('-inf')
        elif dtype == torch.bool:
            x = torch.zeros(shape, dtype=dtype)
            x[torch.randn(*shape) > 0.5] = True
        else:
            x = torch.randint(15, 100, shape, dtype=dtype)
    return x


# test_shape_ops.py TestShapeOps.test_unbind
def test_unbind():
    x = torch.rand(2, 3, 4, 5)
    for dim in range(4):
        res = torch.unbind(x, dim)
        res2 = x.unbind(dim)
        assert_equal(x.size(dim), len(res))
        assert_equal(x.size(dim), len(res2))
        for i in range(dim):
            assert_equal(x.select(dim, i), res[i])
            assert_equal(x.select(dim, i), res2[i])


# test_shape_ops.py TestShapeOps.test_tolist (the torch.Storage lines left out: no storages)
def test_tolist():
    list0D = []
    tensor0D = torch.tensor(list0D)
    assert_equal(tensor0D.tolist(), list0D)

    table1D = [1.0, 2.0, 3.0]
    tensor1D = torch.tensor(table1D)
    assert_equal(tensor1D.tolist(), table1D)

    table2D = [[1, 2], [3, 4]]
    tensor2D = torch.tensor(table2D)
    assert_equal(tensor2D.tolist(), table2D)

    tensor3D = torch.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
    tensorNonContig = tensor3D.select(1, 1)
    assert not tensorNonContig.is_contiguous()
    assert_equal(tensorNonContig.tolist(), [[3, 4], [7, 8]])


# test_shape_ops.py TestShapeOps.test_movedim_invalid (dtypes int64, float)
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_movedim_invalid(dtype):
    dtype = getattr(torch, dtype)
    shape = _rand_shape(4, min_size=5, max_size=10)
    x = _generate_input(shape, dtype, False)

    for fn in [torch.movedim, torch.moveaxis]:
        with assert_raises_regex(IndexError, "Dimension out of range"):
            fn(x, 5, 0)

        with assert_raises_regex(IndexError, "Dimension out of range"):
            fn(x, 0, 5)

        with assert_raises_regex(RuntimeError, "movedim: Invalid source or destination dims:"):
            fn(x, (1, 0), (0,))

        with assert_raises_regex(RuntimeError, "movedim: repeated dim in `source`"):
            fn(x, (0, 0), (0, 1))

        with assert_raises_regex(RuntimeError, "movedim: repeated dim in `source`"):
            fn(x, (0, 1, 0), (0, 1, 2))

        with assert_raises_regex(RuntimeError, "movedim: repeated dim in `destination`"):
            fn(x, (0, 1), (1, 1))

        with assert_raises_regex(RuntimeError, "movedim: repeated dim in `destination`"):
            fn(x, (0, 1, 2), (1, 0, 1))


# test_shape_ops.py TestShapeOps.test_movedim (dtypes int64, float)
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_movedim(dtype):
    dtype = getattr(torch, dtype)
    for fn in [torch.moveaxis, torch.movedim]:
        for nd in range(5):
            shape = _rand_shape(nd, min_size=5, max_size=10)
            x = _generate_input(shape, dtype, with_extremal=False)
            for random_negative in [True, False]:
                for src_dim, dst_dim in permutations(range(nd), r=2):
                    random_prob = random.random()

                    if random_negative and random_prob > 0.66:
                        src_dim = src_dim - nd
                    elif random_negative and random_prob > 0.33:
                        dst_dim = dst_dim - nd
                    elif random_negative:
                        src_dim = src_dim - nd
                        dst_dim = dst_dim - nd

                    torch_fn = partial(fn, source=src_dim, destination=dst_dim)
                    np_fn = partial(np.moveaxis, source=src_dim, destination=dst_dim)
                    compare_with_numpy(torch_fn, np_fn, x)

                if nd == 0:
                    continue

                # (PyTorch's helper as written: it reads the loop variables)
                def make_index_negative(sequence, idx):
                    sequence = list(sequence)
                    sequence[random_idx] = sequence[random_idx] - nd  # noqa: B023
                    return tuple(src_sequence)  # noqa: B023

                for src_sequence in permutations(range(nd), r=random.randint(1, nd)):
                    dst_sequence = tuple(random.sample(range(nd), len(src_sequence)))

                    random_prob = random.random()
                    if random_negative and random_prob > 0.66:
                        random_idx = random.randint(0, len(src_sequence) - 1)
                        src_sequence = make_index_negative(src_sequence, random_idx)
                    elif random_negative and random_prob > 0.33:
                        random_idx = random.randint(0, len(src_sequence) - 1)
                        dst_sequence = make_index_negative(dst_sequence, random_idx)
                    elif random_negative:
                        random_idx = random.randint(0, len(src_sequence) - 1)
                        dst_sequence = make_index_negative(dst_sequence, random_idx)
                        random_idx = random.randint(0, len(src_sequence) - 1)
                        src_sequence = make_index_negative(src_sequence, random_idx)

                    torch_fn = partial(fn, source=src_sequence, destination=dst_sequence)
                    np_fn = partial(np.moveaxis, source=src_sequence,
                                    destination=dst_sequence)
                    compare_with_numpy(torch_fn, np_fn, x)

        x = torch.randn(2, 3, 5, 7, 11)
        torch_fn = partial(fn, source=(0, 1), destination=(0, 1))
        np_fn = partial(np.moveaxis, source=(0, 1), destination=(0, 1))
        compare_with_numpy(torch_fn, np_fn, x)

        torch_fn = partial(fn, source=1, destination=1)
        np_fn = partial(np.moveaxis, source=1, destination=1)
        compare_with_numpy(torch_fn, np_fn, x)

        torch_fn = partial(fn, source=(), destination=())
        np_fn = partial(np.moveaxis, source=(), destination=())
        compare_with_numpy(torch_fn, np_fn, x)


# test_shape_ops.py TestShapeOps.test_diag (dtypes float, bool)
@pytest.mark.parametrize("dtype", ["float32", "bool"])
def test_diag(dtype):
    dtype = getattr(torch, dtype)
    if dtype is torch.bool:
        x = torch.rand(100, 100) >= 0.5
    else:
        x = torch.rand(100, 100, dtype=dtype)

    res1 = torch.diag(x)
    res2 = torch.tensor((), dtype=dtype)
    torch.diag(x, out=res2)
    assert_equal(res1, res2)


# test_shape_ops.py TestShapeOps.test_diagonal
def test_diagonal():
    x = torch.randn((100, 100))
    result = torch.diagonal(x)
    expected = torch.diag(x)
    assert_equal(result, expected)

    x = torch.randn((100, 100))
    result = torch.diagonal(x, 17)
    expected = torch.diag(x, 17)
    assert_equal(result, expected)


# test_shape_ops.py TestShapeOps.test_diagonal_multidim
def test_diagonal_multidim():
    x = torch.randn(10, 11, 12, 13, dtype=torch.float)
    xn = x.numpy()
    for args in [(2, 2, 3), (2,), (-2, 1, 2), (0, -2, -1)]:
        result = torch.diagonal(x, *args)
        expected = xn.diagonal(*args)
        assert_equal(expected.shape, result.shape)
        assert_equal(expected, result)
    xp = x.permute(1, 2, 3, 0)
    result = torch.diagonal(xp, 0, -2, -1)
    expected = xp.numpy().diagonal(0, -2, -1)
    assert_equal(expected.shape, result.shape)
    assert_equal(expected, result)


# test_shape_ops.py TestShapeOps.test_trace (all_types: the integer dtypes and float, double)
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "float32",
                                   "float64"])
def test_trace(dtype):
    dtype = getattr(torch, dtype)

    def test(shape):
        tensor = torch.testing.make_tensor(shape, dtype=dtype, device="cpu", low=-9, high=9)
        expected_dtype = tensor.sum().dtype

        result = np.trace(tensor.cpu().numpy(), dtype=expected_dtype)
        expected = torch.tensor(result)
        assert_equal(tensor.trace(), expected)

    shapes = ([10, 1], [1, 10], [100, 100], [20, 100], [100, 20])
    for shape in shapes:
        test(shape)


def generate_clamp_baseline(dtype, *, min_vals, max_vals, with_nans):
    X = torch.rand(100).mul(50).add(-25)  # uniform in [-25, 25]
    X = X.to(dtype)
    if with_nans:
        mask = torch.randint(0, 2, X.shape, dtype=torch.bool)
        X[mask] = nan

    if isinstance(min_vals, torch.Tensor):
        min_vals = min_vals.cpu().numpy()

    if isinstance(max_vals, torch.Tensor):
        max_vals = max_vals.cpu().numpy()

    X_clamped = torch.tensor(np.clip(X.cpu().numpy(), a_min=min_vals, a_max=max_vals))
    return X, X_clamped


# test_shape_ops.py TestShapeOps.test_clamp (dtypes int64, float32)
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_clamp(dtype):
    dtype = getattr(torch, dtype)
    op_list = (torch.clamp, torch.Tensor.clamp, torch.Tensor.clamp_, torch.clip,
               torch.Tensor.clip, torch.Tensor.clip_)

    args = product((-10, None), (10, None))

    for op in op_list:
        for min_val, max_val in args:
            if min_val is None and max_val is None:
                continue

            X, Y_expected = generate_clamp_baseline(dtype, min_vals=min_val, max_vals=max_val,
                                                    with_nans=False)

            X1 = X.clone()
            Y_actual = op(X1, min_val, max_val)
            assert_equal(Y_expected, Y_actual)

            if op in (torch.clamp, torch.clip):
                Y_out = torch.empty_like(X)
                op(X, min=min_val, max=max_val, out=Y_out)
                assert_equal(Y_expected, Y_out)


# test_shape_ops.py TestShapeOps.test_clamp_propagates_nans
def test_clamp_propagates_nans():
    op_list = (torch.clamp, torch.Tensor.clamp, torch.Tensor.clamp_, torch.clip,
               torch.Tensor.clip, torch.Tensor.clip_)

    args = product((-10, None), (10, None))

    for op in op_list:
        for min_val, max_val in args:
            if min_val is None and max_val is None:
                continue

            X, Y_expected = generate_clamp_baseline(torch.float, min_vals=min_val,
                                                    max_vals=max_val, with_nans=True)
            Y_expected = torch.isnan(Y_expected)

            X1 = X.clone()
            Y_actual = op(X1, min_val, max_val)
            assert_equal(Y_expected, torch.isnan(Y_actual))

            if op in (torch.clamp, torch.clip):
                Y_out = torch.empty_like(X)
                op(X, min_val, max_val, out=Y_out)
                assert_equal(Y_expected, torch.isnan(Y_out))


# test_shape_ops.py TestShapeOps.test_clamp_scalar_nan_bounds
def test_clamp_scalar_nan_bounds():
    x = torch.ones(3)
    y = torch.clamp(x, None, float("nan"))
    assert torch.isnan(y).all()
    y = torch.clamp(x, float("nan"), None)
    assert torch.isnan(y).all()


# test_shape_ops.py TestShapeOps.test_clamp_raises_arg_errors
def test_clamp_raises_arg_errors():
    X = torch.randn(100, dtype=torch.float)
    error_msg = "At least one of 'min' or 'max' must not be None"
    with assert_raises_regex(RuntimeError, error_msg):
        X.clamp()
    with assert_raises_regex(RuntimeError, error_msg):
        X.clamp_()
    with assert_raises_regex(RuntimeError, error_msg):
        torch.clamp(X)
