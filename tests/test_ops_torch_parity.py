"""Edge cases where gradengine's ops must agree with PyTorch 2.x: gradients at singular or
degenerate points, NaN propagation, empty and zero-size reductions, integer division and
dtype rules. Each test checks a value worked out by hand (or by finite differences) so it
runs without torch, and PyTorch as a second reference where it is installed."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gradengine as ge
from gradengine import functional as F
from gradengine.errors import IndexingError

NAN = float("nan")


def _torch():
    return pytest.importorskip("torch")


# ---------------------------------------------------------------- det, slogdet


SINGULAR = [
    [[1.0, 2.0], [2.0, 4.0]],
    [[0.0, 0.0], [0.0, 0.0]],
    [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]],
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]],
]


def _cofactor(m):
    m = np.asarray(m, dtype=np.float64)
    n = m.shape[0]
    c = np.zeros_like(m)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(m, i, 0), j, 1)
            c[i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return c


@pytest.mark.parametrize("m", SINGULAR)
def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix(m):
    a = ge.tensor(m, dtype=ge.float64, requires_grad=True)
    ge.linalg.det(a).backward()
    np.testing.assert_allclose(a.grad.numpy(), _cofactor(m), atol=1e-12)
    assert ge.gradcheck(ge.linalg.det, [ge.tensor(m, dtype=ge.float64, requires_grad=True)])
    assert ge.gradgradcheck(ge.linalg.det,
                            [ge.tensor(m, dtype=ge.float64, requires_grad=True)])


def test_det_gradient_of_a_batch_with_one_singular_matrix():
    m = [[[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]]]
    a = ge.tensor(m, dtype=ge.float64, requires_grad=True)
    ge.linalg.det(a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [[[4, -2], [-2, 1]], [[4, -3], [-2, 1]]],
                               atol=1e-12)


@pytest.mark.parametrize("m", SINGULAR)
def test_det_first_and_second_order_gradients_match_torch_at_singular_matrices(m):
    torch = _torch()
    t = torch.tensor(m, dtype=torch.float64, requires_grad=True)
    # torch's create_graph path (its SVD-based rule) is the exact derivative
    tg, = torch.autograd.grad(torch.linalg.det(t), t, create_graph=True)
    tg.sum().backward()
    a = ge.tensor(m, dtype=ge.float64, requires_grad=True)
    g, = ge.autograd.grad(ge.linalg.det(a), a, create_graph=True)
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), atol=1e-9)
    g.sum().backward()
    if np.isfinite(t.grad.numpy()).all():  # NaN in torch where singular values repeat
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-9)


def test_slogdet_gradient_at_a_singular_matrix_is_infinite_not_an_error():
    a = ge.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=ge.float64, requires_grad=True)
    sign, logabsdet = ge.linalg.slogdet(a)
    assert sign.item() == 0 and logabsdet.item() == -math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logabsdet.backward()
    assert np.isinf(a.grad.numpy()).all()
    # the signs of cof(A) / det(A), as torch's (det = -0. there)
    np.testing.assert_array_equal(np.abs(np.sign(a.grad.numpy())), np.ones((2, 2)))


def test_det_third_order_gradient_raises_a_clear_error():
    a = ge.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=ge.float64, requires_grad=True)
    g, = ge.autograd.grad(ge.linalg.det(a), a, create_graph=True)
    h, = ge.autograd.grad(g.sum(), a, create_graph=True)
    with pytest.raises(ge.GraphError, match="det"):
        ge.autograd.grad((h * h).sum(), a)


# ---------------------------------------------------------------- std, cdist, atan2


@pytest.mark.parametrize("kw", [{}, {"unbiased": False}, {"correction": 0}])
def test_std_gradient_of_equal_values_is_zero_not_nan(kw):
    x = ge.tensor([1.0, 1.0], requires_grad=True)
    x.std(**kw).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_std_over_a_dim_with_a_constant_row_and_std_mean():
    x = ge.tensor([[1.0, 1.0], [1.0, 2.0]], requires_grad=True)
    x.std(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0], [-0.5 ** 0.5, 0.5 ** 0.5]], rtol=1e-6)
    y = ge.tensor([1.0, 1.0], requires_grad=True)
    s, m = ge.std_mean(y)
    (s + m).backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.5, 0.5])
    t = ge.tensor(np.random.default_rng(0).standard_normal((3, 4)), dtype=ge.float64,
                  requires_grad=True)
    assert ge.gradcheck(lambda a: a.std(dim=1), [t])
    assert ge.gradgradcheck(lambda a: a.std(dim=1), [t])


@pytest.mark.parametrize("p", [0.5, 1, 1.5, 2, 3, math.inf])
@pytest.mark.parametrize("pts", [[[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [1.0, 3.0]],
                                 [[1.0, 2.0], [1.0, 2.0]]])
def test_cdist_gradient_at_identical_points_matches_torch(p, pts):
    x = ge.tensor(pts, requires_grad=True)
    ge.cdist(x, x.detach(), p=p).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    if pts[0] == pts[1]:
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 2)))
    torch = _torch()
    t = torch.tensor(pts, requires_grad=True)
    torch.cdist(t, t.detach(), p=p).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_cdist_inf_gives_every_tied_coordinate_the_whole_gradient():
    x = ge.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    ge.cdist(x, ge.tensor([[2.0, 1.0]]), p=math.inf).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[-1.0, 1.0], [0.0, 1.0]])


@pytest.mark.parametrize("y, x, g, gy, gx", [
    (0.0, 0.0, 1.0, 0.0, -0.0), (-0.0, -0.0, 1.0, -0.0, 0.0), (0.0, 0.0, -2.0, -0.0, 0.0),
    (1.0, 0.0, 1.0, 0.0, -1.0), (0.0, -0.0, 1.0, -0.0, -0.0)])
def test_atan2_gradient_at_the_origin_is_signed_zero_as_torch(y, x, g, gy, gx):
    a = ge.tensor([y], requires_grad=True)
    b = ge.tensor([x], requires_grad=True)
    ge.atan2(a, b).backward(ge.tensor([g]))
    assert a.grad.item() == gy and np.signbit(a.grad.item()) == np.signbit(gy)
    assert b.grad.item() == gx and np.signbit(b.grad.item()) == np.signbit(gx)


# ---------------------------------------------------------------- median, cummax, kthvalue


@pytest.mark.parametrize("vals, grad", [
    ([3.0, 1.0, 2.0, 2.0], [0, 0, 0.5, 0.5]), ([3.0, 2.0, 1.0, 2.0], [0, 0.5, 0, 0.5]),
    ([2.0, 2.0, 2.0, 2.0], [0.25] * 4), ([3.0, NAN, 1.0], [0, 1, 0]),
    ([NAN, 3.0, NAN, 1.0], [0.5, 0, 0.5, 0])])
def test_median_of_all_shares_the_gradient_among_ties_and_nans_as_torch(vals, grad):
    x = ge.tensor(vals, requires_grad=True)
    m = x.median()
    m.backward()
    assert math.isnan(m.item()) == any(math.isnan(v) for v in vals)
    np.testing.assert_array_equal(x.grad.numpy(), grad)


def test_median_propagates_nan_and_nanmedian_ignores_it():
    assert math.isnan(ge.tensor([3.0, NAN, 1.0]).median().item())
    assert ge.tensor([3.0, NAN, 1.0]).nanmedian().item() == 1.0
    r = ge.tensor([[1.0, NAN, 0.0], [3.0, 1.0, 2.0]]).median(dim=1)
    assert math.isnan(r.values[0].item()) and r.values[1].item() == 2.0
    assert r.indices.tolist() == [1, 2]
    r = ge.nanmedian(ge.tensor([[1.0, NAN, 0.0]]), 1)
    assert r.values.tolist() == [0.0] and r.indices.tolist() == [2]


def test_median_along_a_dim_gives_the_gradient_to_its_index():
    x = ge.tensor([[NAN, 3.0, NAN, 1.0], [3.0, 1.0, 2.0, 5.0]], requires_grad=True)
    r = x.median(dim=1)
    assert r.indices.tolist() == [0, 2]  # the first NaN, as torch
    r.values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 0, 0], [0, 0, 1, 0]])


@pytest.mark.parametrize("vals, fn, values, indices, grad", [
    ([1.0, NAN, 3.0], "cummax", [1, NAN, NAN], [0, 1, 1], [1, 2, 0]),
    ([1.0, NAN, 0.0], "cummin", [1, NAN, NAN], [0, 1, 1], [1, 2, 0]),
    ([1.0, NAN, 3.0, NAN, 5.0], "cummax", [1, NAN, NAN, NAN, NAN], [0, 1, 1, 3, 3],
     [1, 2, 0, 2, 0]),
    ([NAN, 1.0, NAN], "cummin", [NAN] * 3, [0, 0, 2], [2, 0, 1]),
    ([1.0, 3.0, 3.0, 2.0, 3.0], "cummax", [1, 3, 3, 3, 3], [0, 1, 2, 2, 4], [1, 1, 2, 0, 1])])
def test_cummax_cummin_propagate_nan_with_torchs_indices(vals, fn, values, indices, grad):
    x = ge.tensor(vals, requires_grad=True)
    r = getattr(x, fn)(0)
    np.testing.assert_array_equal(r.values.numpy(), np.array(values, dtype=np.float32))
    assert r.indices.tolist() == indices
    r.values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), grad)


def test_median_cummax_match_torch_on_random_data_with_nans():
    torch = _torch()
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, (5, 7)).astype(np.float32)
    a[rng.random((5, 7)) < 0.2] = np.nan
    for dim in (0, 1):
        got, want = ge.tensor(a).median(dim=dim), torch.tensor(a).median(dim=dim)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        nan_rows = np.isnan(want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy()[nan_rows],
                                      want.indices.numpy()[nan_rows])
        for fn in ("cummax", "cummin"):
            got, want = getattr(ge.tensor(a), fn)(dim), getattr(torch.tensor(a), fn)(dim)
            np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
            np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())


@pytest.mark.parametrize("k", [0, 4, -1])
def test_kthvalue_out_of_range_names_kthvalue_k_and_the_size(k):
    with pytest.raises(IndexingError, match=r"kthvalue\(\).*k = -?\d.*size 3") as e:
        ge.ones(2, 3).kthvalue(k)
    assert isinstance(e.value, IndexError) and isinstance(e.value, RuntimeError)


# ---------------------------------------------------------------- reductions over () and empty dims


@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "amax", "amin", "std", "var",
                                  "count_nonzero", "norm"])
@pytest.mark.parametrize("dims", [(), []])
def test_an_empty_dim_list_reduces_over_every_dim(name, dims):
    out = getattr(ge, name)(ge.ones(2, 3), dim=dims)
    assert tuple(out.shape) == ()
    assert tuple(ge.ones(2, 3).sum(dims).shape) == ()
    assert tuple(ge.ones(2, 3).mean(dim=dims, keepdim=True).shape) == (1, 1)


def test_an_empty_dim_list_reduces_nothing_in_any_and_all():
    assert tuple(ge.any(ge.ones(2, 3), dim=()).shape) == (2, 3)
    assert tuple(ge.all(ge.ones(2, 3), dim=[]).shape) == (2, 3)


@pytest.mark.parametrize("name", ["argmax", "argmin", "max", "min", "amax", "amin", "median"])
def test_reducing_a_non_empty_dim_of_a_zero_size_tensor_gives_an_empty_result(name):
    out = getattr(ge.zeros(2, 0), name)(dim=0)
    for t in (out if isinstance(out, tuple) else (out,)):
        assert tuple(t.shape) == (0,)
    with pytest.raises(IndexingError, match=name.removeprefix("a")) as e:
        getattr(ge.zeros(2, 0), name)(dim=1)
    assert isinstance(e.value, IndexError) and isinstance(e.value, ValueError)
    assert tuple(ge.zeros(2, 0).kthvalue(1, dim=0).values.shape) == (0,)


def test_max_with_dim_of_a_zero_size_tensor_backpropagates():
    x = ge.zeros(2, 0, requires_grad=True)
    x.max(dim=0).values.sum().backward()
    assert tuple(x.grad.shape) == (2, 0)


# ---------------------------------------------------------------- integer scalars and division


@pytest.mark.parametrize("fn, want", [
    (lambda u: u / -1, [-1.0, -2.0]), (lambda u: u / 300, [1 / 300, 2 / 300]),
    (lambda u: -1 / u, [-1.0, -0.5]), (lambda u: u.div(-1), [-1.0, -2.0]),
    (lambda u: ge.true_divide(u, -1), [-1.0, -2.0]),
    (lambda u: ge.atan2(u, ge.tensor(-1)), [math.atan2(1, -1), math.atan2(2, -1)])])
def test_float_results_of_a_uint8_tensor_and_an_out_of_range_int_do_not_wrap(fn, want):
    out = fn(ge.tensor([1, 2], dtype=ge.uint8))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)


def test_integer_results_of_a_uint8_tensor_and_an_int_still_wrap_as_torch():
    u = ge.tensor([1, 2], dtype=ge.uint8)
    assert (u * -1).tolist() == [255, 254] and (u - 300).tolist() == [213, 214]
    assert (u // -1).tolist() == [0, 0]


_CMP = {"gt": lambda a, b: a > b, "lt": lambda a, b: a < b, "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b, "ge": lambda a, b: a >= b, "le": lambda a, b: a <= b}


def test_comparisons_wrap_an_out_of_range_int_to_the_tensors_dtype_by_hand():
    u = ge.tensor([1, 2], dtype=ge.uint8)  # as torch: -1 is 255, 256 is 0, 300 is 44
    assert (u > -1).tolist() == [False, False] and (u <= -1).tolist() == [True, True]
    assert (-1 > u).tolist() == [True, True] and u.gt(-1).tolist() == [False, False]
    assert (u == 256).tolist() == [False, False] and (u > 256).tolist() == [True, True]
    assert (u < 300).tolist() == [True, True] and ge.ge(u, 300).tolist() == [False, False]
    assert (ge.tensor([0, 44], dtype=ge.uint8) == 300).tolist() == [False, True]
    assert (ge.tensor([1], dtype=ge.int8) > 128).tolist() == [True]  # 128 is -128
    assert (ge.tensor([1], dtype=ge.int32) > 2 ** 31).tolist() == [True]
    assert (ge.tensor([1.0]) > -1).tolist() == [True]  # a float tensor: no wrapping


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
def test_comparisons_with_an_out_of_range_int_match_torch(dtype):
    torch = pytest.importorskip("torch")
    vals = [0, 1, 2, 100, 127]
    g, t = ge.tensor(vals, dtype=dtype), torch.tensor(vals, dtype=getattr(torch, dtype))
    for s in (-1, 0, 44, 255, 256, 300, 128, -129, -128, 65539, 2 ** 31, 2 ** 31 + 5,
              2 ** 40, -2 ** 40):
        for name, f in _CMP.items():
            want = f(t, s).tolist()
            assert f(g, s).tolist() == want, (dtype, s, name)
            assert getattr(ge, name)(g, s).tolist() == want, (dtype, s, name)
            assert f(s, g).tolist() == f(s, t).tolist(), (dtype, s, name)


@pytest.mark.parametrize("fn", [lambda u: u ** -1, lambda u: ge.pow(u, -1),
                                lambda u: u.long() ** -1])
def test_an_integer_tensor_to_a_negative_int_power_raises(fn):
    with pytest.raises(ge.DTypeError, match="negative integer"):
        fn(ge.tensor([1, 2], dtype=ge.uint8))


@pytest.mark.parametrize("fn", [
    lambda: ge.tensor([5, 2]) // ge.tensor([0, 1]), lambda: ge.tensor([5, 2]) % ge.tensor([0, 1]),
    lambda: ge.tensor([5, 2]) // 0, lambda: ge.tensor([5, 2]) % 0, lambda: 5 // ge.tensor([0, 1]),
    lambda: ge.tensor([5, 2]).div(ge.tensor([0, 1]), rounding_mode="floor"),
    lambda: ge.tensor([5, 2]).div(ge.tensor([0, 1]), rounding_mode="trunc"),
    lambda: 2 // ge.tensor([True, False]), lambda: 2 % ge.tensor([True, False]),
    lambda: ge.fmod(ge.tensor([5, 2]), ge.tensor([0, 1])),
    lambda: ge.tensor([5, 2], dtype=ge.uint8) // ge.tensor([0, 1], dtype=ge.uint8)])
def test_integer_division_by_zero_raises_zero_division_error(fn):
    with pytest.raises(ZeroDivisionError, match="division by zero") as e:
        fn()
    assert isinstance(e.value, RuntimeError)


def test_float_division_by_zero_still_gives_inf_and_nan():
    assert (ge.tensor([5.0, 2.0]) // ge.tensor([0.0, 1.0])).tolist() == [math.inf, 2.0]
    assert (ge.tensor([5, 2]) / ge.tensor([0, 1])).tolist() == [math.inf, 2.0]
    assert (ge.tensor([5, 2]) // ge.tensor([0.0, 1.0])).tolist() == [math.inf, 2.0]
    assert all(math.isnan(v) for v in (ge.tensor([5.0, 2.0]) % 0).tolist())


# ---------------------------------------------------------------- float16 scans


def test_float16_scans_accumulate_in_float32():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ge.ones(5000, dtype=ge.float16).cumsum(0)[-1].item() == 5000.0
        out = ge.ones(5000, dtype=ge.float16).cumsum(0)
        assert out.dtype == np.float16
        want = np.cumsum(np.ones(5000, np.float32)).astype(np.float16)
        np.testing.assert_array_equal(out.numpy(), want)
        p = ge.full((5000,), 1.001, dtype=ge.float16).cumprod(0)
        want = np.cumprod(np.full(5000, 1.001, np.float16).astype(np.float32))
        np.testing.assert_array_equal(p.numpy(), want.astype(np.float16))
        lse = ge.zeros(5000, dtype=ge.float16).logcumsumexp(0)
        assert lse.dtype == np.float16 and abs(lse[-1].item() - math.log(5000)) < 0.01
        x = ge.ones(3000, dtype=ge.float16, requires_grad=True)
        x.cumsum(0).sum().backward()
        assert x.grad[0].item() == 3000.0 and x.grad.dtype == np.float16


# ---------------------------------------------------------------- dtype rules: matmul, mean


_PRODUCTS = {
    "matmul": lambda a, b: a @ b, "mm": lambda a, b: ge.mm(a, b),
    "mv": lambda a, b: ge.mv(a, b[0]), "dot": lambda a, b: ge.dot(a[0], b[0]),
    "bmm": lambda a, b: ge.bmm(a[None], b[None]), "linear": lambda a, b: F.linear(a, b),
    "einsum": lambda a, b: ge.einsum("ij,jk->ik", a, b),
    "tensordot": lambda a, b: ge.tensordot(a, b, 1)}


@pytest.mark.parametrize("name", sorted(_PRODUCTS))
@pytest.mark.parametrize("da, db", [("int64", "float32"), ("float32", "float64"),
                                    ("float16", "float32")])
def test_matrix_products_refuse_operands_of_different_dtypes(name, da, db):
    a, b = ge.ones(2, 2, dtype=da), ge.ones(2, 2, dtype=db)
    with pytest.raises(ge.DTypeError, match=rf"{name}.*{da}.*{db}") as e:
        _PRODUCTS[name](a, b)
    assert isinstance(e.value, RuntimeError)
    assert _PRODUCTS[name](a, a).dtype == np.dtype(da)


def test_linear_refuses_a_bias_of_another_dtype():
    with pytest.raises(ge.DTypeError, match="linear"):
        F.linear(ge.ones(2, 2), ge.ones(2, 2), ge.ones(2, dtype=ge.float64))


def test_outer_and_kron_still_promote_as_torch():
    assert ge.outer(ge.ones(2), ge.ones(2, dtype=ge.float64)).dtype == np.float64
    assert ge.kron(ge.ones(2, 2), ge.ones(2, 2, dtype=ge.float64)).dtype == np.float64


@pytest.mark.parametrize("t", [lambda: ge.tensor([1, 2]), lambda: ge.tensor([True, False]),
                               lambda: ge.tensor([1, 2], dtype=ge.uint8)])
def test_mean_of_an_integer_or_bool_tensor_raises_as_torch(t):
    with pytest.raises(ge.DTypeError, match=r"mean\(\).*floating point"):
        t().mean()
    with pytest.raises(ge.DTypeError, match="mean"):
        ge.mean(t(), dim=0)
    assert t().mean(dtype=ge.float32).dtype == np.float32
    assert abs(t().float().mean().item() - float(np.mean(t().numpy()))) < 1e-6


# ---------------------------------------------------------------- linalg.qr(mode="r")


def test_qr_mode_r_returns_an_empty_q_and_r():
    a = np.random.default_rng(0).standard_normal((4, 3, 2))
    q, r = ge.linalg.qr(ge.tensor(a), mode="r")
    assert tuple(q.shape) == (0,) and q.dtype == np.float64
    np.testing.assert_allclose(r.numpy(), np.linalg.qr(a, mode="r"), atol=1e-12)
    _, r2 = ge.linalg.qr(ge.tensor(a))
    np.testing.assert_array_equal(r.numpy(), r2.numpy())


# ---------------------------------------------------------------- maximum/minimum gradients


def test_hessian_through_minimum_of_logcumsumexp_has_no_nan():
    x = ge.tensor([-0.40086157, 1.06787747, 0.20854929], dtype=ge.float64, requires_grad=True)
    y = ge.tensor([-0.6132466, 0.48395392, 0.1626991], dtype=ge.float64, requires_grad=True)
    y3 = ge.minimum(y.logcumsumexp(0), x)
    gx, gy = ge.autograd.grad(x.sum() + (y3 * y3).sum(), [x, y], create_graph=True)
    r = ge.autograd.grad((gx * gx).sum() + (gy * gy).sum(), x)[0]
    # by hand: where x wins (the last element) y3 = x, gx = 1 + 2x, d(gx^2)/dx = 4(1 + 2x);
    # elsewhere x loses and gets nothing
    want = [0.0, 0.0, 4 * (1 + 2 * 0.20854929)]
    np.testing.assert_allclose(r.numpy(), want, rtol=1e-12)


def test_maximum_gives_a_losing_input_zero_even_for_an_infinite_gradient():
    a = ge.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ge.tensor([2.0, 2.0, 1.0], requires_grad=True)
    (ge.maximum(a, b) * ge.tensor([math.inf, 1.0, NAN])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.5, NAN])
    np.testing.assert_array_equal(b.grad.numpy(), [math.inf, 0.5, 0.0])


# ---------------------------------------------------------------- xlogy at x == 0

XLOGY_X = [0.0, 0.0, 0.0, 2.0, 0.0, 1.0]
XLOGY_Y = [-1.0, 0.0, math.nan, 0.0, 2.0, 3.0]


def test_xlogy_gradient_in_x_is_log_y_also_at_zero():
    x = ge.tensor(XLOGY_X, dtype=ge.float64, requires_grad=True)
    y = ge.tensor(XLOGY_Y, dtype=ge.float64, requires_grad=True)
    v = ge.xlogy(x, y)
    np.testing.assert_array_equal(v.detach().numpy(), [0, 0, math.nan, -math.inf, 0,
                                                       math.log(3)])
    v.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0, math.nan, -math.inf, math.log(2),
                                                math.log(3)])
    # where x == 0 and y > 0: d/dx = log y (finite differences), d/dy = 0
    assert ge.gradcheck(ge.xlogy, [ge.tensor([0.0, 0.5], dtype=ge.float64, requires_grad=True),
                                   ge.tensor([2.0, 3.0], dtype=ge.float64,
                                             requires_grad=True)])
    c = ge.tensor([1.0, 1.0, 1.0], dtype=ge.float64, requires_grad=True)  # Dirichlet(ones)
    ge.distributions.Dirichlet(c).log_prob(
        ge.tensor([0.2, 0.3, 0.5], dtype=ge.float64)).backward()
    assert not np.allclose(c.grad.numpy(), c.grad.numpy()[0])  # (it was 1.5 everywhere)


def test_xlogy_as_torch():
    torch = pytest.importorskip("torch")
    x = ge.tensor(XLOGY_X, dtype=ge.float64, requires_grad=True)
    y = ge.tensor(XLOGY_Y, dtype=ge.float64, requires_grad=True)
    tx = torch.tensor(XLOGY_X, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(XLOGY_Y, dtype=torch.float64, requires_grad=True)
    ge.xlogy(x, y).sum().backward()
    torch.xlogy(tx, ty).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    keep = [0, 2, 3, 4, 5]  # torch's d/dy at x == y == 0 is 0/0 (NaN), gradengine's 0
    np.testing.assert_array_equal(y.grad.numpy()[keep], ty.grad.numpy()[keep])
    c = ge.tensor([1.0, 1.0, 1.0], dtype=ge.float64, requires_grad=True)
    tc = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    ge.distributions.Dirichlet(c).log_prob(ge.tensor([0.2, 0.3, 0.5], dtype=ge.float64)
                                           ).backward()
    torch.distributions.Dirichlet(tc).log_prob(
        torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)).backward()
    np.testing.assert_allclose(c.grad.numpy(), tc.grad.numpy(), rtol=1e-10)


# ---------------------------------------------------------------- found by the fuzz round

def test_max_and_min_of_two_tensors_are_elementwise_as_torch():
    a = ge.tensor([1.0, 5.0, 3.0], requires_grad=True)
    b = ge.tensor([4.0, 2.0, 3.0])
    assert ge.max(a, b).tolist() == [4.0, 5.0, 3.0] and a.max(b).tolist() == [4.0, 5.0, 3.0]
    assert ge.min(a, b).tolist() == [1.0, 2.0, 3.0]
    ge.max(a, b).sum().backward()
    assert a.grad.tolist() == [0.0, 1.0, 0.5]  # a tie splits evenly (DESIGN's rule)


def test_quantile_var_mean_hypot_t_new_tensor_as_torch():
    torch = pytest.importorskip("torch")
    nan, inf = math.nan, math.inf
    for data, kw in (([1, nan, 3, 2], {}), ([[1, nan, 3], [1, 2, 3]], {"dim": 1}),
                     ([1, 3, 2], {})):
        mine = ge.quantile(ge.tensor(data), 0.5, **kw).numpy()
        theirs = torch.quantile(torch.tensor(data, dtype=torch.float32), 0.5, **kw).numpy()
        np.testing.assert_array_equal(mine, theirs)
    x = np.arange(12.0).reshape(3, 4)
    for mine, theirs in zip(ge.var_mean(ge.tensor(x), False),
                            torch.var_mean(torch.tensor(x), False)):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy())
    h = ge.hypot(ge.tensor([inf, nan, 3.0]), ge.tensor([nan, inf, 4.0]))
    np.testing.assert_array_equal(h.numpy(), [inf, inf, 5.0])
    with pytest.raises(ge.ShapeError, match="at most 2"):
        ge.ones(2, 3, 4).t()
    assert ge.zeros(2, dtype="int64").new_tensor(ge.tensor([1.5, 2.5])).tolist() == [1, 2]


def test_subtraction_with_a_bool_tensor_is_refused_as_torch():
    for a, b in ((ge.tensor([1, 2]), ge.tensor([True, False])), (ge.tensor([1.0]), True),
                 (1, ge.tensor([True]))):
        with pytest.raises(ge.DTypeError, match="~"):
            a - b
    assert (ge.tensor([1.0]) - 2).tolist() == [-1.0]
    assert (~ge.tensor([True, False])).tolist() == [False, True]


def test_pow_gradient_of_a_float64_scalar_base_with_integer_exponents_is_float64():
    a = ge.tensor(1.7, dtype=ge.float64, requires_grad=True)
    (a ** ge.tensor([150, 3])).sum().backward()
    want = 150 * 1.7 ** 149 + 3 * 1.7 ** 2
    assert a.grad.dtype == np.float64
    assert abs(a.grad.item() - want) <= 1e-12 * want  # (float32 would be off by ~1e-6)


def test_median_of_all_integers_keeps_their_dtype_as_torch():
    assert ge.tensor([3, 1, 2]).median().dtype == np.int64
    assert ge.nanmedian(ge.tensor([3, 1, 2], dtype="int32")).dtype == np.int32
    assert ge.tensor([3, 1, 2, 2]).median().item() == 2


def test_linalg_ex_info_has_one_entry_per_matrix_as_torch():
    m = np.stack([np.eye(2), np.zeros((2, 2))])
    r = ge.linalg.inv_ex(ge.tensor(m))
    assert r.info.tolist() == [0, 1] and r.info.dtype == np.int32
    np.testing.assert_array_equal(r.inverse[0].numpy(), np.eye(2))
    assert np.isnan(r.inverse[1].numpy()).all()
    assert ge.linalg.inv_ex(ge.tensor(np.eye(2))).info.shape == ()
    assert ge.linalg.cholesky_ex(ge.tensor(np.stack([np.eye(2), -np.eye(2)]))).info.tolist() \
        == [0, 1]
    assert ge.linalg.solve_ex(ge.tensor(m), ge.ones(2, 2, 1, dtype=ge.float64),
                              check_errors=False).info.tolist() == [0, 1]
