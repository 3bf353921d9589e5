"""PyTorch's spellings and signs checked against NumPy and Python (no torch needed):
floor division and modulo signs, bitwise ops, the Tensor methods PyTorch users call,
in-place forms and their versions, hooks, einsum's ellipsis and diagonals, circular and
negative padding, unbatched conv2d. tests/test_torch_parity.py checks the same against
PyTorch itself."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F

A = [-7, -3, 0, 3, 7]
B = [2, -2, 3, -3, 2]


def test_floor_division_and_modulo_take_pythons_signs():
    a, b = ge.tensor(A), ge.tensor(B)
    assert (a // b).tolist() == [x // y for x, y in zip(A, B)]
    assert (a % b).tolist() == [x % y for x, y in zip(A, B)]
    assert (a // b).dtype == np.int64 and (a % 3).dtype == np.int64
    assert (7 // b).tolist() == [7 // y for y in B] and (7 % b).tolist() == [7 % y for y in B]
    assert a.fmod(b).tolist() == np.fmod(A, B).tolist()
    assert a.div(b, rounding_mode="trunc").tolist() == [int(x / y) for x, y in zip(A, B)]
    assert a.div(b, rounding_mode="floor").tolist() == (a // b).tolist()
    f = ge.tensor([5.5, -5.5])
    np.testing.assert_allclose((f % 2).numpy(), [1.5, 0.5])
    assert (a // 2.5).dtype == np.float32


def test_modulo_gradients():
    a = ge.tensor([5.5, -5.5], dtype="float64", requires_grad=True)
    b = ge.tensor([2.0, 2.0], dtype="float64", requires_grad=True)
    (a % b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1, 1])
    np.testing.assert_allclose(b.grad.numpy(), [-2, 3])  # -floor(a / b)
    assert ge.gradcheck(lambda x, y: x.fmod(y), [a.detach().requires_grad_(),
                                                  b.detach().requires_grad_()])


def test_bitwise_ops_on_ints_and_bools():
    a, b = ge.tensor(A), ge.tensor(B)
    na, nb = np.array(A), np.array(B)
    for got, want in ((a & b, na & nb), (a | b, na | nb), (a ^ b, na ^ nb), (~a, ~na),
                      (a << 1, na << 1), (a >> 1, na >> 1), (3 & a, 3 & na)):
        assert got.tolist() == want.tolist()
    t, f = ge.tensor([True, False]), ge.tensor([True, True])
    assert (~t).tolist() == [False, True] and (t ^ f).tolist() == [False, True]
    with pytest.raises(TypeError):
        ~ge.tensor([1.0])


def test_size_is_an_int_that_answers_torchs_calls():
    x = ge.zeros((2, 3))
    assert x.size == 6 and isinstance(x.size, int)
    assert x.size() == (2, 3) and x.size(0) == 2 and x.size(-1) == 3
    with pytest.raises(IndexError):
        x.size(2)


def test_tensor_method_spellings():
    x = ge.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.transpose(0, 1).shape == (3, 2) and x.t().shape == (3, 2)
    assert x.transpose((0, 1)).shape == (2, 3)  # a tuple is a permutation (NumPy)
    assert x.mT.shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.view_as(ge.zeros((3, 2))).shape == (3, 2)
    assert x[:, :1].expand_as(x).tolist() == [[1.0] * 3, [4.0] * 3]
    assert x.type_as(ge.tensor([1])).dtype == np.int64
    assert x.new_zeros(2, 2).dtype == np.float32 and x.new_full((1,), 7).tolist() == [7.0]
    assert x.new_tensor([1, 2]).dtype == np.float32
    assert x.T.contiguous().data.flags.c_contiguous and x.contiguous() is x
    assert x.add(1, alpha=2).tolist() == (x + 2).tolist()
    assert x.movedim(0, 1).shape == (3, 2) and x.unflatten(1, (3, 1)).shape == (2, 3, 1)
    assert [t.tolist() for t in x.unbind(1)] == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert x.diagonal().tolist() == [1.0, 5.0] and x.flip(0, 1).tolist()[0] == [6.0, 5.0, 4.0]
    assert x.repeat_interleave(2, dim=0).shape == (4, 3) and x.tile(2, 1).shape == (4, 3)
    assert x.index_select(1, ge.tensor([2, 0])).tolist() == [[3.0, 1.0], [6.0, 4.0]]
    assert x.nonzero().shape == (6, 2) and x.amax(1).tolist() == [3.0, 6.0]
    assert x.clamp(min=ge.tensor([2.0, 0.0, 4.0])).tolist() == [[2.0, 2.0, 4.0],
                                                                  [4.0, 5.0, 6.0]]
    assert F.cat([ge.tensor([1, 2]), ge.tensor([1.5])]).dtype == np.float32
    assert ge.tensor(np.float64(1.5)).dtype == np.float64
    assert ge.exp(ge.tensor([0.0])).tolist() == [1.0]  # torch.exp spelled ge.exp


def test_inplace_methods_bump_the_version_and_record_the_gradient():
    x = ge.tensor([1.0, -2.0, 3.0])
    v = x._version
    assert x.add_(1.0) is x and x._version == v + 1
    x.clamp_(0.0, 2.0).mul_(3).fill_(1.5)
    assert x.tolist() == [1.5] * 3 and x._version == v + 4
    a = ge.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    b.add_(a, alpha=3)  # b = 5a
    b.clamp_(max=7.0)   # 5, 7 (clamped: no gradient)
    b.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [5.0, 0.0])
    with pytest.raises(ge.GraphError):
        a.mul_(2)


def test_register_hook_on_leaves_and_intermediates():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    h = x * 3
    h.register_hook(lambda g: g * 2)
    (h * h).sum().backward()  # dh = 2h = 6x, doubled by the hook; dx = 3 * 12x
    np.testing.assert_allclose(x.grad.numpy(), [36.0, 72.0])
    assert seen == [[36.0, 72.0]]


def test_einsum_ellipsis_and_diagonal_gradients():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 6, 5))
    got = F.einsum("...id,...jd->...ij", ge.tensor(a), ge.tensor(b))
    np.testing.assert_allclose(got.numpy(), np.einsum("...id,...jd->...ij", a, b), rtol=1e-5)
    m = ge.tensor(rng.standard_normal((4, 4)), dtype="float64", requires_grad=True)
    assert ge.gradcheck(lambda t: F.einsum("ii->i", t), [m])
    assert ge.gradcheck(lambda t: F.einsum("ii", t), [m])


def test_circular_and_negative_padding():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 4)
    got = F.pad(ge.tensor(x), (1, 2, 2, 1), mode="circular")
    np.testing.assert_array_equal(got.numpy(), np.pad(x, ((0, 0), (0, 0), (2, 1), (1, 2)),
                                                      mode="wrap"))
    got = F.pad(ge.tensor(x), (-1, 2, 0, -1))
    np.testing.assert_array_equal(got.numpy(), np.pad(x[..., :2, 1:], ((0, 0), (0, 0),
                                                                       (0, 0), (0, 2))))
    t = ge.tensor(x.astype(np.float64), requires_grad=True)
    assert ge.gradcheck(lambda v: F.pad(v, (1, 1, -1, 1), mode="circular"), [t])


def test_unbatched_conv2d():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    got = F.conv2d(ge.tensor(x), ge.tensor(w))
    want = F.conv2d(ge.tensor(x[None]), ge.tensor(w))[0]
    assert got.shape == (3, 3, 3)
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_bool_powers_follow_torch():
    t = ge.tensor([True, False])
    assert (t ** 2).dtype == np.int64 and (t ** 2).tolist() == [1, 0]
    assert (t ** True).dtype == np.bool_ and (t ** False).tolist() == [True, True]


def test_cumprod_gradient_is_exact_at_zeros():
    x = ge.tensor([[2.0, 0.0, 3.0, 0.0], [0.5, 1.5, 2.0, 4.0]], dtype="float64",
                  requires_grad=True)
    assert ge.gradcheck(lambda t: t.cumprod(1), [x])
    x.cumprod(1).sum().backward()
    # row 0: d/dx0 = 1; d/dx1 = x0 + x0 x2 = 2 + 6; later ones 0 (x1 = 0 in every product)
    np.testing.assert_allclose(x.grad.numpy()[0], [1.0, 8.0, 0.0, 0.0])


def test_max_pool2d_return_indices():
    x = ge.tensor(np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4)[..., ::-1].copy())
    v, i = F.max_pool2d(x, 2, return_indices=True)
    assert i.dtype == np.int64 and i.tolist() == [[[[4, 6], [12, 14]]]]  # as torch
    flat = x.reshape(1, 1, -1)
    np.testing.assert_array_equal(flat.gather(2, i.reshape(1, 1, -1)).reshape(v.shape).numpy(),
                                  v.numpy())


_R = np.random.default_rng(3)


def _t(*shape, lo=-1.0, hi=1.0):
    return ge.tensor(_R.uniform(lo, hi, shape), dtype="float64", requires_grad=True)


COMPOSITES = {
    "lerp": (lambda a, b: a.lerp(b, 0.3), (3, 4), (3, 4)),
    "addcdiv": (lambda a, b: F.addcdiv(a, a, b + 3, value=0.5), (3, 4), (3, 4)),
    "hypot": (lambda a, b: F.hypot(a, b), (3, 4), (3, 4)),
    "atan2": (lambda a, b: F.atan2(a, b), (3, 4), (3, 4)),
    "xlogy": (lambda a, b: F.xlogy(a, b.abs() + 0.5), (3, 4), (3, 4)),
    "logaddexp2": (lambda a, b: F.logaddexp2(a, b), (3, 4), (3, 4)),
    "celu": (lambda a: F.celu(a, 0.7), (3, 4)),
    "hardswish": (lambda a: F.hardswish(a * 2.5), (3, 4)),
    "glu": (lambda a: F.glu(a, -1), (3, 4)),
    "normalize": (lambda a: F.normalize(a, dim=1), (3, 4)),
    "norm_p3": (lambda a: a.norm(3, dim=0), (3, 4)),
    "logcumsumexp": (lambda a: a.logcumsumexp(1), (3, 4)),
    "cummax": (lambda a: a.cummax(1).values, (3, 4)),
    "diagonal": (lambda a: a.diagonal(1), (3, 4)),
    "diag": (lambda a: F.diag(a, -1), (4,)),
    "repeat_interleave": (lambda a: a.repeat_interleave(2, dim=1), (3, 4)),
    "unfold": (lambda a: a.unfold(1, 2, 1), (3, 4)),
    "index_add": (lambda a, b: a.index_add(0, ge.tensor([0, 2, 0]), b), (3, 4), (3, 4)),
    "scatter": (lambda a, b: a.scatter(1, ge.tensor([[0, 2], [1, 3], [3, 0]]), b),
                (3, 4), (3, 2)),
    "cross": (lambda a, b: F.cross(a, b, dim=-1), (4, 3), (4, 3)),
    "tensordot": (lambda a, b: F.tensordot(a, b, dims=([1], [0])), (3, 4), (4, 2)),
    "group_norm": (lambda a: F.group_norm(a, 2), (2, 4, 3)),
    "rms_norm": (lambda a, w: F.rms_norm(a, (4,), w), (3, 4), (4,)),
    "kl_div": (lambda a, b: F.kl_div(a.log_softmax(-1), b.softmax(-1), reduction="batchmean"),
               (3, 4), (3, 4)),
    "remainder": (lambda a, b: a % (b.abs() + 0.5), (3, 4), (3, 4)),
    "clamp_tensor_bounds": (lambda a, b: a.clamp(min=b - 0.3, max=b + 0.3), (3, 4), (4,)),
}


@pytest.mark.parametrize("name", COMPOSITES)
def test_composites_are_twice_differentiable(name):
    fn, *shapes = COMPOSITES[name]
    xs = [_t(*s) for s in shapes]
    assert ge.gradcheck(fn, xs)
    assert ge.gradgradcheck(fn, xs)


def test_torchs_dtype_names():
    assert ge.long == np.int64 and ge.int == np.int32 and ge.float == np.float32
    assert ge.double == np.float64 and ge.half == np.float16 and ge.short == np.int16
    assert ge.zeros(2, dtype=ge.uint8).dtype == np.uint8 and ge.int8 == np.int8


def test_max_and_min_with_the_dim_keyword_give_values_and_indices():
    x = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]])
    t = ge.tensor(x, dtype="float64", requires_grad=True)
    values, indices = t.max(dim=1)
    assert values.numpy().tolist() == [5.0, 7.0] and indices.numpy().tolist() == [1, 0]
    values.sum().backward()  # the index taken gets the gradient, not a share of the ties
    assert t.grad.numpy().tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    low = t.min(dim=0, keepdim=True)
    assert low.values.shape == (1, 3) and low.indices.numpy().tolist() == [[0, 1, 0]]
    assert t.max(1).numpy().tolist() == [5.0, 7.0]  # positional: NumPy's values only
    assert ge.gradcheck(lambda a: a.max(dim=0).values, (ge.tensor(np.random.default_rng(0)
                        .standard_normal((3, 4)), dtype="float64", requires_grad=True),))
