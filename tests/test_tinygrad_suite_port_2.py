"""More cases from tinygrad's op suite (test/backend/test_ops.py) that gradengine got
wrong, found by tests/suites/run_tinygrad_ops.py once it also ran the suite's
``helper_test_exception`` cases, its skipped tests and ``TestOpsUint8``. Each runs as that
suite runs it: the same PyTorch expression on torch and on gradengine (``torch`` bound to
gradengine), values and gradients compared, or the same exception expected of both.
torch is the oracle; the module skips without it."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge

torch = pytest.importorskip("torch")


def _run(fn, arrays, *, grad=True, atol=1e-6, rtol=1e-5):
    """fn(lib, *tensors) on torch and on gradengine: values (shape, dtype, numbers) and,
    for float inputs, the gradients of the sum compared."""
    outs, grads = [], []
    for lib in (torch, ge):
        ts = [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out = fn(lib, *ts)
        outs.append(out)
        diff = [t for t in ts if t.requires_grad]
        if diff and out.is_floating_point():
            grads.append(list(lib.autograd.grad(out.sum(), diff)))
        else:
            grads.append([])
    t, g = outs
    assert tuple(g.shape) == tuple(t.shape), (g.shape, t.shape)
    assert np.dtype(g.dtype) == t.detach().numpy().dtype, (g.dtype, t.dtype)
    if t.is_floating_point():
        np.testing.assert_allclose(g.numpy(), t.detach().numpy(), atol=atol, rtol=rtol)
    else:
        np.testing.assert_array_equal(g.numpy(), t.numpy())
    for a, b in zip(grads[1], grads[0]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=atol, rtol=rtol)


def _raises_both(fn, arrays, expected):
    """fn must raise ``expected`` on torch and on gradengine alike."""
    for lib in (torch, ge):
        with pytest.raises(expected):
            fn(lib, *[lib.tensor(a) for a in arrays])


# ---------------------------------------------------------------- integer pow

@pytest.mark.parametrize("base", [[1, 2, 3], [-1, -2, -3], [0, 0, 0]])
@pytest.mark.parametrize("exponent", [[2, 3, 4], [-2, -3, -4], [0, 1, 2], [-1, -1, -1]])
def test_integer_tensor_to_negative_integer_tensor_powers(base, exponent):
    # test_pow_int: C's integer rule, 1 and -1 keep their magnitude, every other base
    # (0 included) gives 0
    _run(lambda L, x, y: x ** y, [np.array(base, np.int32), np.array(exponent, np.int32)])


@pytest.mark.parametrize("fn", [
    lambda L: L.tensor([2], dtype=L.int) ** L.tensor(-2, dtype=L.int),  # test_pow_int
    lambda L: 2 ** L.tensor([-1, -2, 1]),
    lambda L: L.pow(L.tensor([2, 3, -1]), L.tensor([2, -1, -3])),
    lambda L: L.tensor([2], dtype=L.uint8) ** L.tensor([-1], dtype=L.int8),
    lambda L: L.tensor([True, False]) ** L.tensor([-1, -2]),
])
def test_integer_powers_with_a_tensor_exponent(fn):
    _run(lambda L: fn(L), [])


def test_integer_tensor_to_a_negative_python_int_still_raises():
    _raises_both(lambda L, x: x ** -2, [np.array([-2, 0, 2], np.int32)], RuntimeError)


# ---------------------------------------------------------------- uint8 interpolate

@pytest.mark.parametrize("mode", ["bilinear", "nearest", "nearest-exact"])
def test_interpolate_of_uint8_images(mode):
    # TestOpsUint8.test_interpolate_*: (10 * x).relu() as uint8, to 10 x 10
    x = np.random.default_rng(0).uniform(-2, 2, (2, 3, 64, 64)).astype(np.float32)
    _run(lambda L, t: L.nn.functional.interpolate((10 * t).relu().type(L.uint8),
                                                  size=(10, 10), mode=mode), [x])


@pytest.mark.parametrize("mode,align", [("bilinear", None), ("bilinear", True),
                                        ("bicubic", None), ("bicubic", True)])
@pytest.mark.parametrize("shape,kw", [
    ((1, 2, 6, 7), dict(size=(4, 9))), ((1, 1, 5, 5), dict(size=(13, 11))),
    ((2, 3, 30, 40), dict(size=(7, 3))), ((1, 1, 7, 3), dict(size=(7, 8))),
    ((1, 2, 9, 9), dict(scale_factor=(0.5, 2.3))), ((1, 1, 1, 5), dict(size=(3, 1))),
    ((1, 2, 8, 6), dict(scale_factor=1.7, recompute_scale_factor=True))])
def test_interpolate_uint8_is_pytorchs_fixed_point_kernel(mode, align, shape, kw):
    # each pass rounds to uint8 with int16 weights, bit for bit as PyTorch's uint8 kernel
    x = np.random.default_rng(1).integers(0, 256, shape).astype(np.uint8)
    _run(lambda L, t: L.nn.functional.interpolate(t, mode=mode, align_corners=align, **kw),
         [x])


@pytest.mark.parametrize("shape,mode", [((1, 2, 5), "linear"), ((1, 2, 3, 4, 5), "trilinear"),
                                        ((1, 2, 4, 4), "area")])
def test_interpolate_uint8_where_pytorch_has_no_kernel(shape, mode):
    x = np.zeros(shape, np.uint8)
    size = (3,) * (len(shape) - 2)
    _raises_both(lambda L, t: L.nn.functional.interpolate(t, size=size, mode=mode), [x],
                 RuntimeError)


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
@pytest.mark.parametrize("shape,kw,mode", [
    ((1, 2, 17, 9), dict(scale_factor=(2.03, 2.69)), "nearest"),  # 2-d: twice halves
    ((1, 2, 4), dict(scale_factor=2.06), "nearest"),  # 1-d: the scale's own index
    ((1, 2, 4, 8, 4), dict(scale_factor=(2.1, 2.05, 2.04)), "nearest"),
    ((1, 2, 6), dict(scale_factor=1.117), "nearest-exact"),  # the size kept, not the index
    ((1, 2, 3, 10), dict(scale_factor=(1.32, 1.03)), "nearest-exact"),
    ((1, 2, 4), dict(scale_factor=1.103), "nearest")])
def test_nearest_with_a_scale_factor_kept(dtype, shape, kw, mode):
    # values only: torch's 1-d / 3-d nearest backward halves the index at twice the size
    # where its forward does not, so its gradient is not its forward's; gradengine's is
    x = np.random.default_rng(2).integers(0, 256, shape).astype(dtype)
    _run(lambda L, t: L.nn.functional.interpolate(t, mode=mode, recompute_scale_factor=False,
                                                  **kw), [x], grad=False)
    if dtype == np.float32:
        assert ge.gradcheck(lambda t: ge.nn.functional.interpolate(
            t, mode=mode, recompute_scale_factor=False, **kw),
            [ge.tensor(x.astype(np.float64), requires_grad=True)])


# ---------------------------------------------------------------- argument checks

@pytest.mark.parametrize("args", [(0, 9, 3), (0, 1, -1), (0, 3, 0), (0, -1, 1)])
def test_unfold_checks_size_and_step(args):
    # test_unfold: x.unfold(0, 9, 3) of 8 elements is a RuntimeError
    _raises_both(lambda L, t: t.unfold(*args), [np.arange(8.0, dtype=np.float32)],
                 RuntimeError)


@pytest.mark.parametrize("args", [(0, 1, 1), (-1, 1, 2), (0, 0, 1)])
def test_unfold_of_a_0d_tensor(args):
    _run(lambda L, t: t.unfold(*args), [np.array(3.0, np.float32)])


def test_unfold_of_a_0d_tensor_checks_dim_and_size():
    _raises_both(lambda L, t: t.unfold(1, 1, 1), [np.array(3.0)], IndexError)
    _raises_both(lambda L, t: t.unfold(0, 2, 1), [np.array(3.0)], RuntimeError)


@pytest.mark.parametrize("args", [(0, 3, 2), (-1, 2, 3), (0, 8, 1), (0, 0, 1)])
def test_unfold_values_and_gradients(args):
    _run(lambda L, t: t.unfold(*args) * 1.5, [np.arange(8.0, dtype=np.float32)])


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [1, -2])
def test_cummax_cummin_of_a_0d_tensor_check_dim(name, dim):
    # test_cummax / test_cummin: dim 1 of a 0-d tensor is an IndexError
    _raises_both(lambda L, t: getattr(L, name)(t, dim=dim).values, [np.array(0.5)],
                 IndexError)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [0, -1])
def test_cummax_cummin_of_a_0d_tensor(name, dim):
    _run(lambda L, t: getattr(L, name)(t, dim=dim).values * 2, [np.array(0.5, np.float32)])


@pytest.mark.parametrize("fn", [lambda L: L.linspace(5, 10, 3, dtype=L.bool),
                                lambda L: L.arange(5, dtype=L.bool)])
def test_linspace_and_arange_of_bools_raise(fn):
    # test_linspace: torch has no bool kernel ("linspace_cpu" not implemented for 'Bool')
    for lib in (torch, ge):
        with pytest.raises(NotImplementedError):
            fn(lib)


def test_linspace_and_arange_of_integers_still_work():
    _run(lambda L: L.linspace(5, -5, 20, dtype=L.int32), [])
    _run(lambda L: L.arange(127, -129, -1, dtype=L.int8), [])


def test_pad_with_an_unknown_mode_is_not_implemented():
    # test_pad: mode="typo" is a NotImplementedError (and gradengine's ArgumentError)
    x = np.zeros((3, 3, 3), np.float32)
    _raises_both(lambda L, t: L.nn.functional.pad(t, (3, 0), mode="typo"), [x],
                 NotImplementedError)
    with pytest.raises(ge.ArgumentError):
        ge.nn.functional.pad(ge.tensor(x), (3, 0), mode="typo")


def test_sdpa_with_is_causal_and_a_mask_is_a_runtime_error():
    # test_scaled_dot_product_attention_causal, its tensors requiring grad as that suite's
    # do: torch's documented error (its CPU flash kernel, taken when nothing needs a
    # gradient, combines the two instead)
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in ((2, 4, 5, 8),) * 3 + ((2, 4, 5, 5),)]
    for lib in (torch, ge):
        q, k, v, m = (lib.tensor(a, requires_grad=True) for a in arrays)
        with pytest.raises(RuntimeError, match="attn_mask"):
            lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                           attn_mask=m)


@pytest.mark.parametrize("fn,shapes", [
    (lambda L, x, w: L.nn.functional.conv2d(x, w, padding=(1, 1, 1)),
     [(2, 16, 2, 2), (32, 16, 3, 3)]),
    (lambda L, x, w: L.nn.functional.conv_transpose2d(x, w, padding=(1, 1, 1)),
     [(2, 16, 2, 2), (16, 32, 3, 3)]),
    (lambda L, x: L.nn.functional.max_pool2d(x, kernel_size=(2, 2), padding=(1, 1, 1)),
     [(4, 2, 11, 8)]),
    (lambda L, x: L.nn.functional.avg_pool2d(x, kernel_size=(2, 2), padding=(1, 1, 1)),
     [(4, 2, 11, 8)])])
def test_conv_and_pool_padding_of_three_is_a_runtime_error(fn, shapes):
    # test_conv2d_errors / test_max_pool2d_padding / test_avg_pool2d_asymmetric_padding:
    # torch raises RuntimeError; gradengine's ArgumentError is one (and a ValueError)
    arrays = [np.zeros(s, np.float32) for s in shapes]
    _raises_both(fn, arrays, RuntimeError)
    with pytest.raises(ValueError):
        fn(ge, *[ge.tensor(a) for a in arrays])


# ---------------------------------------------------------------- 0-d tensors and dims
# (around the cummax / cummin cases: the same dim rule checked op by op)

_DIM_OPS = {
    "cumsum": lambda L, t, d: L.cumsum(t, dim=d),
    "logcumsumexp": lambda L, t, d: L.logcumsumexp(t, dim=d),
    "sort": lambda L, t, d: L.sort(t, dim=d)[0],
    "argsort": lambda L, t, d: L.argsort(t, dim=d),
    "kthvalue": lambda L, t, d: L.kthvalue(t, 1, dim=d)[0],
    "median": lambda L, t, d: L.median(t, dim=d)[0],
    "mode": lambda L, t, d: L.mode(t, dim=d)[0],
    "softmax": lambda L, t, d: L.softmax(t, dim=d),
    "log_softmax": lambda L, t, d: L.log_softmax(t, dim=d),
    "flatten": lambda L, t, d: L.flatten(t, d),
    "movedim": lambda L, t, d: L.movedim(t, d, 0),
    "flip": lambda L, t, d: L.flip(t, dims=(d,)),
}


@pytest.mark.parametrize("name", sorted(_DIM_OPS))
@pytest.mark.parametrize("dim", [0, -1])
def test_a_0d_tensor_takes_dim_0_and_minus_1(name, dim):
    _run(lambda L, t: _DIM_OPS[name](L, t, dim) * 1, [np.array(1.5, np.float32)])


@pytest.mark.parametrize("name", sorted(_DIM_OPS))
@pytest.mark.parametrize("dim", [1, -2])
def test_a_0d_tensor_refuses_other_dims(name, dim):
    _raises_both(lambda L, t: _DIM_OPS[name](L, t, dim), [np.array(1.5, np.float32)],
                 IndexError)


@pytest.mark.parametrize("fn", [
    lambda L, t: L.gather(t, 0, L.tensor(0)) * 2,
    lambda L, t: L.index_select(t, 0, L.tensor([0])) * 2,
    lambda L, t: L.index_select(t, -1, L.tensor(0)) * 2])
def test_gather_and_index_select_of_a_0d_tensor(fn):
    _run(fn, [np.array(1.5, np.float32)])


@pytest.mark.parametrize("fn,expected", [
    (lambda L, t: L.index_select(t, 0, L.tensor([0, 0])), RuntimeError),
    (lambda L, t: L.roll(t, 1, dims=0), IndexError),
    (lambda L, t: L.diff(t), RuntimeError)])
def test_0d_tensor_errors(fn, expected):
    _raises_both(fn, [np.array(1.5, np.float32)], expected)


@pytest.mark.parametrize("fn", [lambda L, t: L.flip(t, dims=(0, 1)),
                                lambda L, t: t.flip(dims=[1]), lambda L, t: t.flip(0, 1),
                                lambda L, t: L.roll(t, 1)])
def test_flip_takes_torchs_dims_keyword(fn):
    _run(fn, [np.arange(6.0, dtype=np.float32).reshape(2, 3)])
