"""The op table of the conv family (gradengine/ops/conv.py): convolutions and pooling,
against torch.nn.functional, on the CPU, the NumPy stand-in for CUDA and CUDA."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
import optable
from gradengine.ops import conv
from optable import Row

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _s(*shapes):
    def samples(rng):
        return [[rng.standard_normal(s) for s in ss] for ss in shapes]
    return samples


def distinct(x):
    """Values spaced apart (no ties), so each pooling window has one clear maximum."""
    ranks = np.argsort(np.argsort(x.ravel()))
    return np.linspace(-1, 1, x.size)[ranks].reshape(x.shape)


def _pool_samples(*shapes):
    def samples(rng):
        return [[distinct(rng.standard_normal(s))] for s in shapes]
    return samples


CONV_SHAPES = [((1, 2, 5, 4), (3, 2, 3, 3), (3,)), ((2, 1, 4, 4), (2, 1, 2, 2), (2,)),
               ((1, 3, 3, 5), (2, 3, 1, 3), (2,)), ((2, 2, 6, 3), (1, 2, 3, 1), (1,)),
               ((1, 1, 4, 4), (5, 1, 2, 2), (5,))]  # more output channels than C*kh*kw
KW = [dict(), dict(padding=1), dict(stride=2, padding=1), dict(dilation=(2, 1), padding=(1, 0)),
      dict(padding="same")]


def _conv_rows():
    rows = []
    for k, kw in enumerate(KW):
        rows.append(Row(f"conv2d[{k}]", lambda x, w, b, kw=kw: F.conv2d(x, w, b, **kw),
                        lambda x, w, b, kw=kw: TF.conv2d(x, w, b, **kw), _s(*CONV_SHAPES),
                        covers=("im2col_cm", "col2im_cm", "fold_nchw_bias", "unfold_nchw",
                                "row_sum", "conv_gemm")))
    rows.append(Row("conv2d[groups]", lambda x, w: F.conv2d(x, w, stride=(1, 2), groups=2),
                    lambda x, w: TF.conv2d(x, w, stride=(1, 2), groups=2),
                    _s(((1, 4, 4, 5), (4, 2, 2, 2)), ((2, 2, 3, 3), (2, 1, 3, 1))),
                    covers=("im2col_cm", "fold_nchw")))
    rows.append(Row("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
                    lambda x, w, b: TF.conv1d(x, w, b, stride=2, padding=1),
                    _s(((2, 3, 7), (2, 3, 3), (2,)), ((1, 1, 5), (3, 1, 2), (3,)))))
    for k, kw in enumerate([dict(), dict(stride=2, padding=1, output_padding=1),
                            dict(stride=(2, 1), dilation=2), dict(groups=2, stride=2)]):
        shapes = [((1, 2, 3, 3), (2, 3, 2, 2), (3 * kw.get("groups", 1),)),
                  ((2, 2, 2, 3), (2, 1, 3, 2), (kw.get("groups", 1),))]
        rows.append(Row(f"conv_transpose2d[{k}]",
                        lambda x, w, b, kw=kw: F.conv_transpose2d(x, w, b, **kw),
                        lambda x, w, b, kw=kw: TF.conv_transpose2d(x, w, b, **kw),
                        _s(*shapes), covers=("col2im", "im2col")))
    return rows


POOL_SHAPES = [(1, 2, 4, 4), (2, 1, 5, 6), (1, 1, 3, 7), (2, 3, 4)]
POOL_KW = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
           dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=(2, 3), stride=1),
           dict(kernel_size=2, stride=1, padding=1, ceil_mode=True)]


def _gather_at(mod, x, idx):
    flat = x.reshape(tuple(x.shape[:-2]) + (-1,))
    got = mod.gather(flat, -1, idx.reshape(tuple(idx.shape[:-2]) + (-1,)))
    return got.reshape(idx.shape)


def _pool_rows():
    rows = []
    for k, kw in enumerate(POOL_KW + [dict(kernel_size=2, stride=1, dilation=2)]):
        rows.append(Row(f"max_pool2d[{k}]", lambda x, kw=kw: F.max_pool2d(x, **kw),
                        lambda x, kw=kw: TF.max_pool2d(x, **kw), _pool_samples(*POOL_SHAPES),
                        covers=("max_pool2d_backward", "max_pool2d_select",
                                "max_pool2d_tiles", "max_pool2d_tiles_backward",
                                "max_pool2d_tiles_select")))
    for k, kw in enumerate(POOL_KW):  # the indices, read back with gather, are the values
        rows.append(Row(f"max_pool2d_indices[{k}]",
                        lambda x, kw=kw: _gather_at(F, x, F.max_pool2d(
                            x, return_indices=True, **kw)[1]),
                        lambda x, kw=kw: _gather_at(torch, x, TF.max_pool2d(
                            x, return_indices=True, **kw)[1]), _pool_samples(*POOL_SHAPES)))
    for k, kw in enumerate(POOL_KW):
        for cip in (True, False):
            rows.append(Row(f"avg_pool2d[{k},{cip}]",
                            lambda x, kw=kw, c=cip: F.avg_pool2d(x, count_include_pad=c, **kw),
                            lambda x, kw=kw, c=cip: TF.avg_pool2d(x, count_include_pad=c, **kw),
                            _s(*[(s,) for s in POOL_SHAPES]), covers=("avg_pool2d_backward",)))
    rows.append(Row("avg_pool2d[divisor]", lambda x: F.avg_pool2d(x, 2, divisor_override=3),
                    lambda x: TF.avg_pool2d(x, 2, divisor_override=3),
                    _s(*[(s,) for s in POOL_SHAPES])))
    for k, size in enumerate([(2, 3), 1, (3, None), (5, 2)]):
        rows.append(Row(f"adaptive_avg_pool2d[{k}]",
                        lambda x, s=size: F.adaptive_avg_pool2d(x, s),
                        lambda x, s=size: TF.adaptive_avg_pool2d(x, s),
                        _s(((1, 2, 4, 5),), ((2, 1, 5, 3),), ((2, 6, 7),))))
    return rows


ROWS = _conv_rows() + _pool_rows()
IDS = [r.name for r in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradcheck(row, device, rng):
    optable.check_gradcheck(row, device, rng)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradgradcheck(row, device, rng):
    optable.check_gradgradcheck(row, device, rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_torch(row, dtype, device, rng):
    optable.check_torch(row, device, rng, dtype)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    optable.check_jit(row, rng, shift_ok=not row.name.startswith("max_pool2d"))


def test_every_conv_op_has_a_row():
    missing = optable.op_names(conv) - optable.covered(ROWS)
    assert not missing, f"conv ops without a row: {sorted(missing)}"


def test_max_pool2d_ties_and_nan_route_the_gradient_as_torch():
    a = np.array([[[[1.0, 1.0, 0.0], [1.0, np.nan, 2.0], [3.0, 3.0, 3.0]]]])
    x = ge.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    out = F.max_pool2d(x, 2, stride=1)
    tout = TF.max_pool2d(tx, 2, stride=1)
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_conv_errors_name_the_op_and_shapes():
    x = ge.ones((1, 3, 4, 4))
    with pytest.raises(ge.ShapeError, match=r"conv2d: .*\(1, 3, 4, 4\).*\(2, 2, 3, 3\)"):
        F.conv2d(x, ge.ones((2, 2, 3, 3)))
    with pytest.raises(ge.ShapeError, match=r"conv2d: .*4-d"):
        F.conv2d(ge.ones((4, 4)), ge.ones((2, 3, 3, 3)))  # (3, 4, 4): unbatched, as torch
    with pytest.raises(ge.ShapeError, match=r"conv2d: .*smaller than the kernel"):
        F.conv2d(ge.ones((1, 1, 2, 2)), ge.ones((1, 1, 3, 3)))
    with pytest.raises(ge.DTypeError, match=r"conv2d: .*list"):
        F.conv2d([[1.0]], ge.ones((1, 1, 1, 1)))
    with pytest.raises(ValueError, match=r"max_pool2d: padding"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"conv2d: padding='same'"):
        F.conv2d(x, ge.ones((2, 3, 3, 3)), stride=2, padding="same")


def test_conv_weight_gradient_is_one_matmul_path_on_both_devices(device):
    """The backward of a conv reaches the weight and the input through the matmul op's VJP
    and col2im, on each device (shapes, dtypes and devices of every gradient)."""
    x = ge.tensor(np.ones((2, 3, 5, 5), dtype=np.float32), device=device, requires_grad=True)
    w = ge.tensor(np.ones((4, 3, 3, 3), dtype=np.float32), device=device, requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad.device == x.device and w.grad.device == w.device
    assert x.grad.shape == x.shape and w.grad.shape == w.shape
    assert float(w.grad.numpy()[0, 0, 1, 1]) == 50.0  # every pixel of both images
    assert float(x.grad.numpy()[0, 0, 0, 0]) == 16.0  # a corner sees 2x2 taps x 4 filters


def _pool_grads(a, kw, dtype):
    x = ge.tensor(a.astype(dtype), requires_grad=True)
    tx = torch.tensor(a.astype(dtype), requires_grad=True)
    g = np.random.default_rng(1).standard_normal(TF.max_pool2d(tx, **kw).shape).astype(dtype)
    out, tout = F.max_pool2d(x, **kw), TF.max_pool2d(tx, **kw)
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    out.backward(ge.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3)),
                                dict(kernel_size=3, ceil_mode=True)])
def test_max_pool2d_tiling_windows_route_ties_and_nans_as_torch(kw, dtype):
    """The tiling fast path (stride == kernel): ties go to the first maximum, NaNs to the
    last NaN, odd sizes leave the uncovered rows and columns without gradient, and a
    non-contiguous input works."""
    rng = np.random.default_rng(0)
    ties = rng.integers(0, 3, size=(2, 3, 7, 9)).astype(np.float64)  # many ties
    _pool_grads(ties, kw, dtype)
    nans = ties.copy()
    nans[0, 0, :3, :3] = np.nan
    nans[1, 2, 1, ::2] = np.nan
    _pool_grads(nans, kw, dtype)
    _pool_grads(rng.standard_normal((3, 2, 9, 8)).transpose(1, 0, 3, 2), kw, dtype)


# ---------------------------------------------------------------- the CPU fast paths

# stride 1: im2col_cm / col2im_cm by row shifts when the output is the input's size (odd
# sizes, asymmetric padding, dilation, 1-wide images and kernels, groups), strided slices
# otherwise (one-sided and large padding)
ROW_SHIFT = [((2, 3, 7, 5), (4, 3, 3, 3), dict(padding=1)),
             ((1, 2, 6, 9), (3, 2, 5, 5), dict(padding=2)),
             ((2, 1, 5, 6), (2, 1, 3, 5), dict(padding=(0, 2))),
             ((1, 2, 8, 7), (2, 2, 3, 3), dict(padding=(4, 3), dilation=(1, 3))),
             ((2, 2, 5, 6), (3, 2, 4, 4), dict(padding="same")),
             ((1, 3, 4, 4), (2, 3, 2, 4), dict(padding="same", dilation=(2, 1))),
             ((2, 2, 3, 1), (2, 2, 3, 1), dict(padding=(2, 0))),
             ((1, 2, 3, 4), (5, 2, 1, 1), dict()),
             ((2, 4, 5, 5), (4, 2, 3, 3), dict(padding=1, groups=2))]


@pytest.fixture
def row_shifts_always(monkeypatch):
    """The row-shift path for the small shapes of these tests too, and a count of its use."""
    calls = []
    monkeypatch.setattr(conv, "ROW_SHIFT_MIN_ROWS", 0)
    for name in ("_im2col_rows", "_col2im_rows"):
        fn = getattr(conv, name)
        monkeypatch.setattr(conv, name, lambda *a, fn=fn, name=name: calls.append(name) or
                            fn(*a))
    return calls


@pytest.mark.parametrize("xs, ws, kw", ROW_SHIFT)
def test_conv2d_row_shift_path_matches_torch_and_finite_differences(xs, ws, kw,
                                                                   row_shifts_always):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((xs[1], xs[0]) + xs[2:]).transpose(1, 0, 2, 3)  # non-contiguous
    wa, ba = rng.standard_normal(ws), rng.standard_normal(ws[0])
    x, w, b = (ge.tensor(v, requires_grad=True) for v in (a, wa, ba))
    tx, tw, tb = (torch.tensor(np.ascontiguousarray(v), requires_grad=True) for v in (a, wa, ba))
    out, tout = F.conv2d(x, w, b, **kw), TF.conv2d(tx, tw, tb, **kw)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(ge.tensor(g))
    tout.backward(torch.tensor(g))
    for t, tt in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-10, atol=1e-12)
    same = out.shape[2:] == xs[2:]  # the row-shift path: an output the input's size
    assert {"_im2col_rows", "_col2im_rows"} <= set(row_shifts_always) or not same
    xs_ = [ge.tensor(v, requires_grad=True) for v in (a, wa, ba)]
    assert ge.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), xs_)
    assert ge.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), xs_)


def test_conv2d_row_shift_path_is_taken_from_its_size_on(monkeypatch):
    calls = []
    fn = conv._im2col_rows
    monkeypatch.setattr(conv, "_im2col_rows", lambda *a: calls.append(1) or fn(*a))
    w = ge.ones((2, 3, 3, 3))
    F.conv2d(ge.ones((1, 3, 4, 4)), w, padding=1)
    assert not calls  # 12 rows: the strided slices
    F.conv2d(ge.ones((4, 3, 8, 8)), w, padding=1)
    assert calls


def _strided_im2col(x, geom):
    k, s, pads, d, out_hw = geom
    cols = np.empty((x.shape[1], *k, x.shape[0], *out_hw), dtype=x.dtype)
    xpad = conv._padded(np, x.transpose(1, 0, 2, 3), pads)
    for i, j, view in conv._windows(np, xpad, k, s, d, out_hw):
        cols[:, i, j] = view
    return cols.reshape(cols.shape[0] * k[0] * k[1], -1)


def test_row_shifts_equal_the_strided_loops_with_inf_and_nan(row_shifts_always):
    """Every kernel offset, padding and dilation: the row-shift columns equal the strided
    slices; their adjoint equals the strided scatter, and an inf or NaN in a column that
    reads padding never reaches the image (it wrapped round a row edge)."""
    rng = np.random.default_rng(4)
    for h, w, kh, kw, dh, dw, pl, (pt, pb) in [(5, 6, 3, 3, 1, 1, 1, (1, 1)),
                                               (4, 3, 2, 4, 1, 1, 3, (0, 0)),
                                               (6, 7, 3, 3, 2, 3, 0, (5, 2)),
                                               (3, 5, 3, 2, 1, 4, 4, (2, 0)),
                                               (2, 2, 3, 3, 1, 1, 2, (0, 3)),
                                               (5, 4, 5, 3, 1, 2, 2, (2, 2)),
                                               (3, 3, 3, 3, 1, 1, 0, (0, 2)),
                                               (2, 3, 5, 1, 1, 1, 0, (2, 2))]:
        pads = ((pt, pb), (pl, (kw - 1) * dw - pl))
        geom = ((kh, kw), (1, 1), pads, (dh, dw), (h + pt + pb - dh * (kh - 1), w))
        x = rng.standard_normal((2, 3, h, w))
        x.flat[rng.integers(0, x.size, 4)] = [np.inf, -np.inf, np.nan, np.inf]
        np.testing.assert_array_equal(conv.im2col_cm.fwd(np, x, *geom),
                                      _strided_im2col(x, geom))
        cols = rng.standard_normal((3 * kh * kw, 2 * geom[4][0] * w))
        cols.flat[rng.integers(0, cols.size, 8)] = np.inf
        cols.flat[rng.integers(0, cols.size, 4)] = np.nan
        g = cols.reshape(3, kh, kw, 2, *geom[4])
        want = conv._add_back(np, lambda i, j, g=g: g[:, i, j], x.shape, *geom, cols.dtype,
                              True)
        with np.errstate(invalid="ignore"):
            got = conv.col2im_cm.fwd(np, cols, x.shape, *geom)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert {"_im2col_rows", "_col2im_rows"} <= set(row_shifts_always)


def test_conv2d_bias_gradient_row_sum_in_every_float_dtype():
    rng = np.random.default_rng(5)
    for dtype in ("float16", "float32", "float64"):
        a = rng.standard_normal((4, 300)).astype(dtype)
        got = conv.row_sum.fwd(np, a)
        assert got.dtype == a.dtype
        want = a.astype(np.float64).sum(axis=1)
        np.testing.assert_allclose(got, want, rtol=2e-3 if dtype == "float16" else 1e-5)


@pytest.mark.parametrize("kw", [dict(kernel_size=(1, 2)), dict(kernel_size=(3, 1)),
                                dict(kernel_size=1), dict(kernel_size=(3, 2))])
def test_max_pool2d_tiles_other_kernels_and_3d_input(kw):
    rng = np.random.default_rng(6)
    _pool_grads(rng.integers(0, 3, size=(2, 3, 7, 8)).astype(np.float64), kw, "float32")
    _pool_grads(rng.standard_normal((2, 5, 7)), kw, "float64")  # (C, H, W)


def test_max_pool2d_tiles_signed_zeros_infinities_and_inf_gradients():
    """The value is the first maximum's, its sign of zero included; windows of -inf give
    -inf and the gradient to their first cell; an inf or NaN gradient reaches the winner
    only (bits times 0 or 1, not a product that would make 0 * inf = NaN)."""
    a = np.array([[[[0.0, -0.0, -0.0, 0.0, -np.inf, -np.inf],
                    [-0.0, 0.0, 0.0, -0.0, -np.inf, -np.inf]]]])
    x = ge.tensor(a.astype(np.float32), requires_grad=True)
    tx = torch.tensor(a.astype(np.float32), requires_grad=True)
    out, tout = F.max_pool2d(x, 2), TF.max_pool2d(tx, 2)
    np.testing.assert_array_equal(np.signbit(out.numpy()), np.signbit(tout.detach().numpy()))
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    g = np.array([[[[np.inf, np.nan, -np.inf]]]], dtype=np.float32)
    out.backward(ge.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_max_pool2d_tiles_second_order_and_jit_with_nans():
    rng = np.random.default_rng(7)
    x = ge.tensor(distinct(rng.standard_normal((2, 2, 6, 6))), requires_grad=True)
    assert ge.gradgradcheck(lambda x: F.max_pool2d(x, (2, 3)), [x])
    a = rng.standard_normal((2, 2, 4, 6)).astype(np.float32)
    a[0, 1, 1, 3] = np.nan

    def step(x):
        out = F.max_pool2d(x, 2)
        return out, ge.grad((out * 1.5).sum(), [x])[0]

    jitted = ge.jit(step)
    for k in range(3):
        b = a + 0.5 * k
        want = step(ge.tensor(b, requires_grad=True))
        got = jitted(ge.tensor(b, requires_grad=True))
        for u, v in zip(got, want):
            np.testing.assert_array_equal(u.numpy(), v.numpy())


def test_conv2d_row_shift_path_under_jit_is_bit_identical_to_eager():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((2, 4, 8, 8)).astype(np.float32)  # 64 image rows: row shifts
    wa, ba = (rng.standard_normal(s).astype(np.float32) for s in ((3, 4, 3, 3), (3,)))

    def step(x, w, b):
        out = F.conv2d(x, w, b, padding=1)
        return (out, *ge.grad((out * 1.5).sum(), [x, w, b]))

    jitted = ge.jit(step)
    for k in range(3):
        vals = [v + 0.25 * k for v in (a, wa, ba)]
        want = step(*(ge.tensor(v, requires_grad=True) for v in vals))
        got = jitted(*(ge.tensor(v, requires_grad=True) for v in vals))
        for u, v in zip(got, want):
            np.testing.assert_array_equal(u.numpy(), v.numpy())
    assert jitted.traces == 1
