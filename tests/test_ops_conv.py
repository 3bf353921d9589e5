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
               ((1, 3, 3, 5), (2, 3, 1, 3), (2,)), ((2, 2, 6, 3), (1, 2, 3, 1), (1,))]
KW = [dict(), dict(padding=1), dict(stride=2, padding=1), dict(dilation=(2, 1), padding=(1, 0)),
      dict(padding="same")]


def _conv_rows():
    rows = []
    for k, kw in enumerate(KW):
        rows.append(Row(f"conv2d[{k}]", lambda x, w, b, kw=kw: F.conv2d(x, w, b, **kw),
                        lambda x, w, b, kw=kw: TF.conv2d(x, w, b, **kw), _s(*CONV_SHAPES),
                        covers=("im2col_cm", "col2im_cm", "fold_nchw_bias", "unfold_nchw",
                                "channel_sum")))
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


def _pool_rows():
    rows = []
    for k, kw in enumerate(POOL_KW + [dict(kernel_size=2, stride=1, dilation=2)]):
        rows.append(Row(f"max_pool2d[{k}]", lambda x, kw=kw: F.max_pool2d(x, **kw),
                        lambda x, kw=kw: TF.max_pool2d(x, **kw), _pool_samples(*POOL_SHAPES),
                        covers=("max_pool2d_backward", "max_pool2d_select",
                                "max_pool2d_tiles", "max_pool2d_tiles_backward",
                                "max_pool2d_tiles_select")))
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
        F.conv2d(ge.ones((3, 4, 4)), ge.ones((2, 3, 3, 3)))
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
