"""The 1-d / 3-d convolution and pooling family (gradengine/ops/volume.py and
gradengine/nn/volume.py) against torch: the op table (gradcheck in float64, gradgradcheck,
values and gradients against torch.nn.functional in float32 and float64, the CPU and the
NumPy stand-in for CUDA, ge.jit replay equal to eager bit for bit), the indices the pools
return, the modules loaded from torch state dicts (outputs and every gradient), their reprs
and the error contract. Shapes are tiny: the whole file runs in seconds."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
import module_oracle
import optable
from gradengine import nn
from gradengine.ops import volume
from optable import Row

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TNN = torch.nn
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's own note


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny shapes: torch's threads only cost time on a shared machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _s(*shapes):
    def samples(rng):
        return [[rng.standard_normal(s) for s in ss] for ss in shapes]
    return samples


def distinct(x):
    """Values spaced apart (no ties), so each pooling window has one clear maximum."""
    ranks = np.argsort(np.argsort(x.ravel()))
    return np.linspace(-1, 1, x.size)[ranks].reshape(x.shape)


def _pool_samples(*shapes, positive=False):
    def samples(rng):
        return [[distinct(rng.standard_normal(s)) + (1.5 if positive else 0)] for s in shapes]
    return samples


# ---------------------------------------------------------------- convolution rows

CONV3D = [dict(), dict(padding=1), dict(stride=2, padding=(1, 0, 1)),
          dict(dilation=(2, 1, 1), padding=(1, 0, 0), stride=(1, 2, 1)), dict(padding="same"),
          dict(padding="same", dilation=(1, 2, 1)), dict(padding="valid", stride=(2, 1, 1))]
CONV3D_SHAPES = [((1, 2, 4, 3, 4), (3, 2, 2, 2, 3), (3,)), ((2, 1, 3, 4, 3), (2, 1, 3, 2, 1), (2,))]


def _conv_rows():
    rows = []
    for k, kw in enumerate(CONV3D):
        rows.append(Row(f"conv3d[{k}]", lambda x, w, b, kw=kw: F.conv3d(x, w, b, **kw),
                        lambda x, w, b, kw=kw: TF.conv3d(x, w, b, **kw), _s(*CONV3D_SHAPES),
                        covers=("vol2col", "col2vol")))
    rows.append(Row("conv3d[groups]", lambda x, w: F.conv3d(x, w, stride=(1, 2, 1), groups=2),
                    lambda x, w: TF.conv3d(x, w, stride=(1, 2, 1), groups=2),
                    _s(((1, 4, 3, 4, 3), (4, 2, 2, 2, 2)), ((2, 2, 2, 3, 3), (2, 1, 1, 3, 2)))))
    rows.append(Row("conv3d[unbatched]", lambda x, w: F.conv3d(x, w, padding=1),
                    lambda x, w: TF.conv3d(x, w, padding=1),
                    _s(((2, 3, 2, 3), (2, 2, 2, 2, 2)))))
    for k, kw in enumerate([dict(), dict(stride=2, padding=1, output_padding=1),
                            dict(stride=(2, 1, 1), dilation=(1, 2, 1), padding=(0, 1, 0)),
                            dict(groups=2, stride=(1, 1, 2), output_padding=(0, 0, 1))]):
        g = kw.get("groups", 1)
        shapes = [((1, 2, 2, 2, 2), (2, 3 - g, 2, 2, 1), ((3 - g) * g,)),
                  ((2, 2, 1, 2, 2), (2, 1, 2, 2, 2), (g,))]
        rows.append(Row(f"conv_transpose3d[{k}]",
                        lambda x, w, b, kw=kw: F.conv_transpose3d(x, w, b, **kw),
                        lambda x, w, b, kw=kw: TF.conv_transpose3d(x, w, b, **kw),
                        _s(*shapes), covers=("col2vol", "vol2col")))
    rows.append(Row("conv_transpose3d[unbatched]",
                    lambda x, w: F.conv_transpose3d(x, w, stride=2),
                    lambda x, w: TF.conv_transpose3d(x, w, stride=2),
                    _s(((2, 1, 2, 2), (2, 1, 2, 2, 1)))))
    for k, kw in enumerate([dict(stride=2, padding=1, output_padding=1),
                            dict(dilation=2, groups=2)]):
        rows.append(Row(f"conv_transpose1d[{k}]",
                        lambda x, w, kw=kw: F.conv_transpose1d(x, w, **kw),
                        lambda x, w, kw=kw: TF.conv_transpose1d(x, w, **kw),
                        _s(((1, 2, 4), (2, 3, 3)), ((2, 2, 3), (2, 1, 2)))))
    return rows


# ---------------------------------------------------------------- pooling rows

POOL3D_SHAPES = [(1, 2, 4, 4, 4), (2, 1, 3, 5, 4), (2, 3, 4, 3)]
POOL3D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
          dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), ceil_mode=True),
          dict(kernel_size=2, stride=1, padding=1, ceil_mode=True),
          dict(kernel_size=(1, 2, 2), stride=2, padding=(0, 1, 0))]
POOL1D = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
          dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=2, dilation=2, stride=1),
          dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)]
POOL1D_SHAPES = [(2, 2, 7), (1, 3, 8), (2, 6)]


def _gather_at(mod, x, idx, n):
    """x read at the flat spatial indices a pool returned (gradients flow through x)."""
    lead = tuple(x.shape[:x.ndim - n])
    flat = x.reshape(lead + (-1,))
    got = mod.gather(flat, -1, idx.reshape(lead + (-1,)))
    return got.reshape(tuple(idx.shape))


def _pool_rows():
    rows = []
    for k, kw in enumerate(POOL3D + [dict(kernel_size=2, stride=1, dilation=(2, 1, 2))]):
        rows.append(Row(f"max_pool3d[{k}]", lambda x, kw=kw: F.max_pool3d(x, **kw),
                        lambda x, kw=kw: TF.max_pool3d(x, **kw), _pool_samples(*POOL3D_SHAPES),
                        covers=("max_pool_nd", "max_pool_nd_backward", "max_pool_nd_select")))
    for k, kw in enumerate(POOL3D[:3]):
        rows.append(Row(f"max_pool3d_indices[{k}]",
                        lambda x, kw=kw: _gather_at(F, x, F.max_pool3d_with_indices(x, **kw)[1],
                                                    3),
                        lambda x, kw=kw: _gather_at(torch, x, TF.max_pool3d_with_indices(
                            x, **kw)[1], 3), _pool_samples(*POOL3D_SHAPES),
                        covers=("max_pool_nd_indices",)))
    for k, kw in enumerate(POOL1D):
        rows.append(Row(f"max_pool1d[{k}]", lambda x, kw=kw: F.max_pool1d(x, **kw),
                        lambda x, kw=kw: TF.max_pool1d(x, **kw), _pool_samples(*POOL1D_SHAPES)))
    for k, kw in enumerate(POOL3D):
        for cip in (True, False):
            kw = {a: b for a, b in kw.items() if a != "dilation"}
            rows.append(Row(f"avg_pool3d[{k},{cip}]",
                            lambda x, kw=kw, c=cip: F.avg_pool3d(x, count_include_pad=c, **kw),
                            lambda x, kw=kw, c=cip: TF.avg_pool3d(x, count_include_pad=c, **kw),
                            _s(*[(s,) for s in POOL3D_SHAPES]),
                            covers=("avg_pool_nd", "avg_pool_nd_backward")))
    rows.append(Row("avg_pool3d[divisor]",
                    lambda x: F.avg_pool3d(x, 2, padding=1, divisor_override=3),
                    lambda x: TF.avg_pool3d(x, 2, padding=1, divisor_override=3),
                    _s(*[(s,) for s in POOL3D_SHAPES])))
    for k, size in enumerate([(2, 3, 2), 1, (None, 2, None), (5, 2, 3)]):
        rows.append(Row(f"adaptive_avg_pool3d[{k}]",
                        lambda x, s=size: F.adaptive_avg_pool3d(x, s),
                        lambda x, s=size: TF.adaptive_avg_pool3d(x, s),
                        _s(((1, 2, 4, 5, 3),), ((2, 1, 3, 3, 4),), ((2, 4, 5, 3),))))
        rows.append(Row(f"adaptive_max_pool3d[{k}]",
                        lambda x, s=size: F.adaptive_max_pool3d(x, s),
                        lambda x, s=size: TF.adaptive_max_pool3d(x, s),
                        _pool_samples((1, 2, 4, 5, 3), (2, 1, 3, 3, 4), (2, 4, 5, 3))))
    rows.append(Row("adaptive_max_pool3d_indices",
                    lambda x: _gather_at(F, x, F.adaptive_max_pool3d_with_indices(
                        x, (2, 3, 2))[1], 3),
                    lambda x: _gather_at(torch, x, TF.adaptive_max_pool3d_with_indices(
                        x, (2, 3, 2))[1], 3), _pool_samples((1, 2, 4, 5, 3), (2, 3, 4, 3))))
    for p, kw in [(2, dict(kernel_size=3, stride=2)), (3, dict(kernel_size=2, ceil_mode=True)),
                  (1.5, dict(kernel_size=3, stride=1)), (float("inf"), dict(kernel_size=2))]:
        rows.append(Row(f"lp_pool1d[{p}]", lambda x, p=p, kw=kw: F.lp_pool1d(x, p, **kw),
                        lambda x, p=p, kw=kw: TF.lp_pool1d(x, p, **kw),
                        _pool_samples((2, 2, 7), (3, 6), positive=True)))
    for p, kw in [(2, dict(kernel_size=(2, 3))), (3, dict(kernel_size=2, stride=1)),
                  (1.5, dict(kernel_size=3, stride=2, ceil_mode=True)),
                  (float("inf"), dict(kernel_size=2))]:
        rows.append(Row(f"lp_pool2d[{p}]", lambda x, p=p, kw=kw: F.lp_pool2d(x, p, **kw),
                        lambda x, p=p, kw=kw: TF.lp_pool2d(x, p, **kw),
                        _pool_samples((1, 2, 5, 6), (2, 4, 4), positive=True)))
    for p, kw in [(2, dict(kernel_size=2)), (3, dict(kernel_size=(2, 1, 2), stride=1)),
                  (float("inf"), dict(kernel_size=2, ceil_mode=True, stride=2))]:
        rows.append(Row(f"lp_pool3d[{p}]", lambda x, p=p, kw=kw: F.lp_pool3d(x, p, **kw),
                        lambda x, p=p, kw=kw: TF.lp_pool3d(x, p, **kw),
                        _pool_samples((1, 2, 3, 4, 5), (2, 3, 3, 3), positive=True)))
    rows.append(Row("lp_pool2d[signed]", lambda x: F.lp_pool2d(x, 2, 2),
                    lambda x: TF.lp_pool2d(x, 2, 2), _s(((2, 2, 4, 4),))))
    return rows


def _unpool_samples(lead, size_in, size_out):
    """Inputs and distinct flat indices into the output volume (no repeats)."""
    def samples(rng):
        out = []
        for shape in lead:
            x = rng.standard_normal(shape + size_in)
            n_in, n_out = int(np.prod(size_in)), int(np.prod(size_out))
            idx = np.stack([rng.permutation(n_out)[:n_in] for _ in range(int(np.prod(shape)))])
            out.append([x, idx.reshape(shape + size_in).astype(np.int64)])
        return out
    return samples


def _frac_samples(shape, n):
    def samples(rng):
        x = distinct(rng.standard_normal(shape))
        nb = 1 if len(shape) == n + 1 else shape[0]
        return [[x, rng.random((nb, shape[-n - 1], n))]]
    return samples


def _unpool_rows():
    rows = []
    for n, kw, size_in, size_out in [
            (1, dict(kernel_size=2), (3,), (6,)),
            (1, dict(kernel_size=3, stride=2, padding=1, output_size=(6,)), (3,), (6,)),
            (2, dict(kernel_size=2), (2, 3), (4, 6)),
            (2, dict(kernel_size=3, stride=2, padding=1, output_size=(2, 2, 4, 5)), (2, 3), (4, 5)),
            (3, dict(kernel_size=2), (2, 1, 2), (4, 2, 4)),
            (3, dict(kernel_size=(1, 2, 2), stride=(1, 2, 1), output_size=(2, 3, 3)), (2, 1, 2),
             (2, 3, 3))]:
        gf, tf = getattr(F, f"max_unpool{n}d"), getattr(TF, f"max_unpool{n}d")
        lead = [(1, 2), (3,)]
        rows.append(Row(f"max_unpool{n}d[{kw}]", lambda x, i, gf=gf, kw=kw: gf(x, i, **kw),
                        lambda x, i, tf=tf, kw=kw: tf(x, i, **kw),
                        _unpool_samples(lead, size_in, size_out), covers=("max_unpool_op",)))
    for n, shape, k, kw in [(2, (2, 2, 7, 6), (2, 3), dict(output_size=(3, 2))),
                            (2, (3, 9, 8), 2, dict(output_ratio=(0.5, 0.6))),
                            (3, (1, 2, 5, 6, 5), (2, 3, 2), dict(output_size=(3, 2, 3))),
                            (3, (2, 5, 4, 5), 2, dict(output_ratio=(0.5, 0.5, 0.7)))]:
        gf = getattr(F, f"fractional_max_pool{n}d")
        tf = getattr(TF, f"fractional_max_pool{n}d")
        rows.append(Row(f"fractional_max_pool{n}d[{shape}]",
                        lambda x, s, gf=gf, k=k, kw=kw: gf(x, k, _random_samples=s, **kw),
                        lambda x, s, tf=tf, k=k, kw=kw: tf(x, k, _random_samples=s, **kw),
                        _frac_samples(shape, n), diff=(0,)))
    return rows


ROWS = _conv_rows() + _pool_rows() + _unpool_rows()
IDS = [r.name for r in ROWS]
# the first-order checks run on every row; the second-order one on a few of each kind
SECOND = [r for r in ROWS if r.name.split("[")[0] not in {"lp_pool1d", "lp_pool2d", "lp_pool3d"}
          and not r.name.endswith(("[1]", "[2]", "[4]", "[6]", ",False]"))]


def _first_of_each(rows):
    seen, out = set(), []
    for r in rows:
        if r.name.split("[")[0] not in seen:
            seen.add(r.name.split("[")[0])
            out.append(r)
    return out


# the CUDA code paths (the NumPy stand-in, and a GPU when there is one) on one row of each
# op, the CPU on every row
STAND_IN = _first_of_each(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradcheck(row, rng):
    optable.check_gradcheck(row, "cpu", rng)


@pytest.mark.parametrize("row", STAND_IN, ids=[r.name for r in STAND_IN])
def test_gradcheck_on_cuda(row, cuda_device, rng):
    optable.check_gradcheck(row, cuda_device, rng)


@pytest.mark.parametrize("row", SECOND, ids=[r.name for r in SECOND])
def test_gradgradcheck(row, rng):
    optable.check_gradgradcheck(row, "cpu", rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_torch(row, dtype, rng):
    optable.check_torch(row, "cpu", rng, dtype)


@pytest.mark.parametrize("row", STAND_IN, ids=[r.name for r in STAND_IN])
def test_matches_torch_on_cuda(row, cuda_device, rng):
    optable.check_torch(row, cuda_device, rng, "float32")


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    optable.check_jit(row, rng, shift_ok=not row.name.startswith(("max_", "adaptive_max",
                                                                  "fractional", "lp_")))


def test_every_volume_op_has_a_row():
    missing = optable.op_names(volume) - optable.covered(ROWS)
    assert not missing, f"volume ops without a row: {sorted(missing)}"


# ---------------------------------------------------------------- indices, exactly

@pytest.mark.parametrize("n,shape,kws", [
    (1, (2, 3, 9), POOL1D), (1, (3, 8), POOL1D[:2]),
    (2, (2, 2, 5, 6), [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1,
                                                 dilation=2, ceil_mode=True)]),
    (3, (2, 2, 5, 4, 5), POOL3D + [dict(kernel_size=2, stride=1, dilation=(2, 1, 2))]),
    (3, (2, 4, 3, 5), POOL3D[:3])])
def test_max_pool_indices_equal_torch(n, shape, kws, rng):
    x = rng.standard_normal(shape)
    for kw in kws:
        v, i = getattr(F, f"max_pool{n}d_with_indices")(ge.tensor(x), **kw)
        tv, ti = getattr(TF, f"max_pool{n}d_with_indices")(torch.tensor(x), **kw)
        assert i.dtype == np.int64 and i.shape == tuple(ti.shape)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())
        np.testing.assert_array_equal(v.numpy(), tv.numpy())
        v2, i2 = getattr(F, f"max_pool{n}d")(ge.tensor(x), return_indices=True, **kw)
        np.testing.assert_array_equal(i2.numpy(), ti.numpy())


@pytest.mark.parametrize("n,shape,size", [(1, (2, 3, 7), 3), (1, (2, 7), 4),
                                          (2, (2, 2, 7, 5), (3, None)), (2, (2, 5, 4), 2),
                                          (3, (2, 2, 4, 5, 3), (2, 3, None)),
                                          (3, (2, 5, 4, 3), 2)])
def test_adaptive_max_pool_indices_equal_torch(n, shape, size, rng):
    x = rng.standard_normal(shape)
    v, i = getattr(F, f"adaptive_max_pool{n}d_with_indices")(ge.tensor(x), size)
    tv, ti = getattr(TF, f"adaptive_max_pool{n}d_with_indices")(torch.tensor(x), size)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(v.numpy(), tv.numpy())


@pytest.mark.parametrize("n", [2, 3])
def test_fractional_indices_equal_torch_and_round_trip_through_unpool(n, rng):
    shape = (2, 3, 9, 8) if n == 2 else (2, 2, 6, 7, 5)
    x = rng.standard_normal(shape).astype(np.float32)
    s = rng.random((2, shape[1], n)).astype(np.float32)
    v, i = getattr(F, f"fractional_max_pool{n}d_with_indices")(
        ge.tensor(x), 2, output_ratio=(0.5,) * n, _random_samples=ge.tensor(s))
    tv, ti = getattr(TF, f"fractional_max_pool{n}d_with_indices")(
        torch.tensor(x), 2, output_ratio=(0.5,) * n, _random_samples=torch.tensor(s))
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    # without samples: fresh windows, each value still a maximum read at its index
    v, i = getattr(F, f"fractional_max_pool{n}d")(ge.tensor(x), 2, output_size=(3,) * n,
                                                  return_indices=True)
    assert v.shape == shape[:2] + (3,) * n
    np.testing.assert_array_equal(_gather_at(F, ge.tensor(x), i, n).numpy(), v.numpy())


def test_max_unpool_inverts_max_pool_as_torch(rng):
    """Overlapping windows repeat indices: the later write wins, as torch's CPU kernel."""
    x = rng.standard_normal((2, 2, 5, 5))
    for kw in [dict(kernel_size=3, stride=1), dict(kernel_size=2), dict(kernel_size=3, stride=2,
                                                                         padding=1)]:
        gx, tx = ge.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        v, i = F.max_pool2d(gx, return_indices=True, **kw)
        tv, ti = TF.max_pool2d(tx, return_indices=True, **kw)
        out = F.max_unpool2d(v * 2, i, output_size=x.shape, **kw)
        tout = TF.max_unpool2d(tv * 2, ti, output_size=x.shape, **kw)
        np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
        g = rng.standard_normal(x.shape)
        out.backward(ge.tensor(g))
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- modules

def _pair_modules(ours, theirs, *shapes, rng, train=True, **kw):
    theirs = theirs.double()
    ours.to("float64")
    if list(theirs.state_dict()):
        module_oracle.load_from_torch(ours, theirs)
    ours.train(train)
    theirs.train(train)
    arrays = [rng.standard_normal(s) for s in shapes]
    diffs, _ = module_oracle.run_both(ours, theirs, arrays, torch, rng, dtype="float64", **kw)
    assert max(diffs.values()) < 1e-10, diffs
    return ours, theirs


MODULES = [
    ("Conv3d", dict(args=(2, 4, 3), kw=dict(padding=1)), (2, 2, 4, 3, 4)),
    ("Conv3d", dict(args=(4, 2, (2, 1, 3)), kw=dict(stride=(2, 1, 1), groups=2, bias=False,
                                                   dilation=(1, 1, 2))), (1, 4, 4, 3, 6)),
    ("Conv3d", dict(args=(2, 3, 3), kw=dict(padding="same", padding_mode="reflect")),
     (2, 2, 4, 5, 3)),
    ("Conv3d", dict(args=(2, 3, 2), kw=dict(padding=(1, 0, 2), padding_mode="circular")),
     (1, 2, 3, 4, 3)),
    ("Conv3d", dict(args=(2, 3, (3, 2, 2)), kw=dict(padding=1, padding_mode="replicate",
                                                    stride=2)), (2, 3, 3, 4)),
    ("ConvTranspose3d", dict(args=(2, 4, 3), kw=dict(stride=2, padding=1, output_padding=1)),
     (2, 2, 2, 3, 2)),
    ("ConvTranspose3d", dict(args=(4, 2, 2), kw=dict(groups=2, dilation=(1, 2, 1))),
     (4, 2, 2, 3)),
    ("MaxPool3d", dict(args=(3,), kw=dict(stride=2, padding=1, ceil_mode=True)),
     (2, 2, 5, 4, 5)),
    ("AvgPool3d", dict(args=(2,), kw=dict(stride=1, padding=1, count_include_pad=False)),
     (2, 2, 3, 4, 3)),
    ("AdaptiveAvgPool3d", dict(args=((2, None, 3),), kw={}), (2, 2, 4, 5, 6)),
    ("AdaptiveMaxPool3d", dict(args=(2,), kw={}), (2, 4, 5, 3)),
    ("LPPool1d", dict(args=(2, 3), kw=dict(stride=2)), (2, 3, 8)),
    ("LPPool2d", dict(args=(2, (2, 3)), kw=dict(ceil_mode=True)), (2, 2, 5, 7)),
    ("LPPool3d", dict(args=(2, 2), kw={}), (2, 2, 4, 4, 4)),
    ("BatchNorm3d", dict(args=(3,), kw={}), (2, 3, 2, 3, 2)),
    ("BatchNorm3d", dict(args=(3,), kw=dict(momentum=None, affine=False)), (2, 3, 2, 2, 2)),
    ("InstanceNorm3d", dict(args=(3,), kw={}), (2, 3, 2, 3, 2)),
    ("InstanceNorm3d", dict(args=(3,), kw=dict(affine=True, track_running_stats=True)),
     (3, 2, 3, 2)),
]


@pytest.mark.parametrize("name,spec,shape", MODULES, ids=[m[0] for m in MODULES])
def test_module_matches_torch_from_its_state_dict(name, spec, shape, rng):
    ours = getattr(nn, name)(*spec["args"], **spec["kw"])
    theirs = getattr(TNN, name)(*spec["args"], **spec["kw"])
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours, theirs = _pair_modules(ours, theirs, shape, rng=rng)
    if "Norm" in name:  # the running statistics, then eval mode on them
        for k, v in theirs.state_dict().items():
            np.testing.assert_allclose(np.asarray(ours.state_dict()[k]), v.numpy(), rtol=1e-12,
                                       atol=1e-12, err_msg=k)
        ours.eval()
        theirs.eval()
        x = rng.standard_normal(shape)
        np.testing.assert_allclose(ours(ge.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_conv_init_is_torch_bound():
    ge.manual_seed(0)
    m = nn.Conv3d(2, 4, (3, 2, 2), groups=2)
    bound = 1 / np.sqrt(1 * 3 * 2 * 2)
    assert m.weight.shape == (4, 1, 3, 2, 2) and m.bias.shape == (4,)
    assert np.abs(m.weight.numpy()).max() <= bound and np.abs(m.bias.numpy()).max() <= bound
    t = nn.ConvTranspose3d(4, 6, 2, groups=2)
    assert t.weight.shape == (4, 3, 2, 2, 2)
    assert np.abs(t.weight.numpy()).max() <= 1 / np.sqrt(3 * 8)


def test_conv_transpose3d_output_size(rng):
    ours, theirs = nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1), \
        TNN.ConvTranspose3d(2, 3, 3, stride=2, padding=1)
    for size in [(4, 6, 5), (2, 3, 4, 6, 5), (3, 5, 6)]:
        _pair_modules(ours, theirs, (2, 2, 2, 3, 3), rng=rng, output_size=size)
    with pytest.raises(ValueError, match="valid sizes range"):
        ours(ge.zeros((1, 2, 2, 3, 3), dtype="float64"), output_size=(9, 9, 9))


def test_max_unpool_modules_match_torch(rng):
    x = rng.standard_normal((2, 2, 4, 6, 4))
    for n in (1, 2, 3):
        xs = np.ascontiguousarray(x[(slice(None), slice(None)) + (0,) * (3 - n)])
        pool = getattr(nn, f"MaxPool{n}d")(2, return_indices=True)
        tpool = getattr(TNN, f"MaxPool{n}d")(2, return_indices=True)
        ours = getattr(nn, f"MaxUnpool{n}d")(2)
        theirs = getattr(TNN, f"MaxUnpool{n}d")(2)
        assert repr(ours) == repr(theirs)
        v, i = pool(ge.tensor(xs))
        tv, ti = tpool(torch.tensor(xs))
        np.testing.assert_array_equal(ours(v, i).numpy(), theirs(tv, ti).numpy())
        np.testing.assert_array_equal(ours(v, i, output_size=xs.shape).numpy(),
                                      theirs(tv, ti, output_size=xs.shape).numpy())


def test_fractional_modules_match_torch_with_the_same_samples(rng):
    x = rng.standard_normal((2, 3, 7, 8))
    s = rng.random((2, 3, 2))
    ours = nn.FractionalMaxPool2d(2, output_ratio=0.5, _random_samples=ge.tensor(s))
    theirs = TNN.FractionalMaxPool2d(2, output_ratio=0.5, _random_samples=torch.tensor(s))
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    np.testing.assert_array_equal(ours(ge.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
    assert list(nn.FractionalMaxPool3d(2, 2).state_dict()) == []
    x3, s3 = rng.standard_normal((1, 2, 5, 6, 7)), rng.random((1, 2, 3))
    ours = nn.FractionalMaxPool3d((2, 3, 2), output_size=(3, 3, 4), return_indices=True,
                                  _random_samples=ge.tensor(s3))
    theirs = TNN.FractionalMaxPool3d((2, 3, 2), output_size=(3, 3, 4), return_indices=True,
                                     _random_samples=torch.tensor(s3))
    (v, i), (tv, ti) = ours(ge.tensor(x3)), theirs(torch.tensor(x3))
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    for bad in [dict(), dict(output_size=2, output_ratio=0.5), dict(output_ratio=1.5)]:
        with pytest.raises(ValueError):
            nn.FractionalMaxPool2d(2, **bad)


@pytest.mark.parametrize("name,tname,shape,build", [
    ("LazyConv3d", "LazyConv3d", (2, 3, 3, 4, 3), dict(args=(4, 2), kw=dict(padding=1))),
    ("LazyConvTranspose3d", "LazyConvTranspose3d", (2, 2, 2, 3, 2),
     dict(args=(4, 2), kw=dict(stride=2))),
    ("LazyBatchNorm3d", "LazyBatchNorm3d", (2, 3, 2, 2, 3), dict(args=(), kw={})),
    ("LazyInstanceNorm3d", "LazyInstanceNorm3d", (2, 3, 3, 2, 2),
     dict(args=(), kw={})),
])
def test_lazy_modules_build_then_load_torch_weights(name, tname, shape, build, rng):
    ours = getattr(nn, name)(*build["args"], **build["kw"])
    theirs = getattr(TNN, tname)(*build["args"], **build["kw"])
    assert ours.has_uninitialized_params()
    x = rng.standard_normal(shape).astype(np.float32)
    ours(ge.tensor(x))
    theirs(torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__  # became the plain class
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    _pair_modules(ours, theirs, shape, rng=rng)


def test_lazy_conv3d_loads_a_torch_state_dict_before_its_first_call(rng):
    theirs = TNN.Conv3d(3, 2, 2, padding=1).double()
    ours = nn.LazyConv3d(2, 2, padding=1)
    module_oracle.load_from_torch(ours, theirs)
    x = rng.standard_normal((1, 3, 3, 3, 2))
    np.testing.assert_allclose(ours(ge.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_modules_run_in_float32_on_unbatched_input(rng):
    x = rng.standard_normal((2, 4, 3, 4)).astype(np.float32)
    for ours, theirs in [(nn.Conv3d(2, 3, 2, padding_mode="reflect", padding=1),
                          TNN.Conv3d(2, 3, 2, padding_mode="reflect", padding=1)),
                         (nn.MaxPool3d(2), TNN.MaxPool3d(2)), (nn.AvgPool3d(2), TNN.AvgPool3d(2)),
                         (nn.InstanceNorm3d(2), TNN.InstanceNorm3d(2))]:
        if list(theirs.state_dict()):
            module_oracle.load_from_torch(ours, theirs)
        out = ours(ge.tensor(x))
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=2e-5, atol=2e-5)


def test_gradcheck_through_conv3d_module(rng):
    m = nn.Conv3d(2, 2, 2, padding=1, padding_mode="circular").to("float64")
    x = ge.tensor(rng.standard_normal((1, 2, 2, 3, 2)), requires_grad=True)
    w = ge.tensor(m.weight.numpy(), requires_grad=True)
    b = ge.tensor(m.bias.numpy(), requires_grad=True)

    def fn(x, w, b):
        module_oracle.swap_params(m, [w, b])
        return m(x)
    assert ge.gradcheck(fn, [x, w, b])


# ---------------------------------------------------------------- errors

def test_bad_input_raises_gradengine_errors_naming_the_op():
    x5 = ge.zeros((1, 2, 3, 3, 3))
    w = ge.zeros((2, 2, 2, 2, 2))
    cases = [
        (lambda: F.conv3d(ge.zeros((2, 3, 3)), w), ge.ShapeError, "conv3d"),
        (lambda: F.conv3d(ge.zeros((1, 3, 3, 3, 3)), w), ge.ShapeError, "conv3d"),
        (lambda: F.conv3d(x5, ge.zeros((2, 2, 4, 4, 4))), ge.ShapeError, "conv3d"),
        (lambda: F.conv3d(x5, w, padding="same", stride=2), ValueError, "strided"),
        (lambda: F.conv3d(x5, w, stride=0), ValueError, "positive"),
        (lambda: F.conv3d(x5, w, padding=(1, 1)), ValueError, "padding"),
        (lambda: F.conv3d(x5, w, bias=ge.zeros(3)), ge.ShapeError, "bias"),
        (lambda: F.conv3d(ge.zeros((1, 2, 3, 3, 3), dtype="int64"), w), ge.DTypeError,
         "conv3d"),
        (lambda: F.conv_transpose3d(x5, w, stride=2, output_padding=2), ValueError,
         "output_padding"),
        (lambda: F.conv_transpose3d(x5, w, padding="same"), ValueError, "conv_transpose3d"),
        (lambda: F.max_pool3d(x5, 2, padding=2), ValueError, "half"),
        (lambda: F.max_pool3d(ge.zeros((2, 3)), 2), ge.ShapeError, "max_pool3d"),
        (lambda: F.max_pool3d(x5, 4), ge.ShapeError, "too small"),
        (lambda: F.avg_pool3d(x5, 2, divisor_override=0), ValueError, "divisor"),
        (lambda: F.adaptive_avg_pool3d(x5, (2, 2)), ValueError, "output_size"),
        (lambda: F.adaptive_max_pool3d(ge.zeros((3, 3)), 2), ge.ShapeError,
         "adaptive_max_pool3d"),
        (lambda: F.max_unpool2d(ge.zeros((1, 1, 2, 2)), ge.zeros((1, 1, 2, 2), dtype="int64"),
                                2, output_size=(9, 9)), ValueError, "output_size"),
        (lambda: F.max_unpool2d(ge.zeros((1, 1, 2, 2)), ge.full((1, 1, 2, 2), 16,
                                                                dtype="int64"), 2),
         ge.ShapeError, "invalid max index"),
        (lambda: F.max_unpool1d(ge.zeros((1, 1, 2)), ge.zeros((1, 1, 3), dtype="int64"), 2),
         ge.ShapeError, "same shape"),
        (lambda: F.fractional_max_pool2d(ge.zeros((1, 1, 4, 4)), 2), ValueError,
         "output_size"),
        (lambda: F.fractional_max_pool2d(ge.zeros((1, 1, 4, 4)), 3, output_size=3),
         ge.ShapeError, "fractional_max_pool2d"),
        (lambda: nn.Conv3d(2, 2, 2, padding_mode="mirror"), ValueError, "padding_mode"),
        (lambda: nn.Conv3d(2, 2, 2, padding="same", stride=2), ValueError, "strided"),
        (lambda: nn.Conv3d(3, 2, 2, groups=2), ValueError, "divisible"),
        (lambda: nn.ConvTranspose3d(2, 2, 2, padding_mode="reflect"), ValueError, "zeros"),
        (lambda: nn.BatchNorm3d(2)(ge.zeros((2, 2, 3, 3))), ValueError, "BatchNorm3d"),
        (lambda: nn.BatchNorm3d(2)(ge.zeros((1, 2, 1, 1, 1))), ValueError, "more than 1"),
    ]
    for fn, err, match in cases:
        with pytest.raises(err, match=match):
            fn()
    # torch's functional raises RuntimeError for all of these: ours are RuntimeErrors too
    for fn, err, _ in cases:
        if "nn" not in fn.__code__.co_names and err is not ge.DTypeError:
            with pytest.raises(RuntimeError):
                fn()


def test_top_level_torch_spellings():
    x = ge.tensor(np.arange(2 * 4 * 4 * 4, dtype=np.float32).reshape(1, 2, 4, 4, 4))
    assert ge.max_pool3d(x, 2).shape == (1, 2, 2, 2, 2)
    assert ge.conv3d(x, ge.ones((1, 2, 2, 2, 2))).shape == (1, 1, 3, 3, 3)
    assert ge.conv_transpose3d(x, ge.ones((2, 1, 2, 2, 2))).shape == (1, 1, 5, 5, 5)
    assert ge.nn.functional.max_pool3d_with_indices(x, 2)[1].dtype == np.int64
    v = x.reshape(2, 4, 16)
    np.testing.assert_array_equal(ge.avg_pool1d(v, 2).numpy(), F.avg_pool1d(v, 2).numpy())
    np.testing.assert_array_equal(ge.max_pool1d_with_indices(v, 3)[1].numpy(),
                                  F.max_pool1d_with_indices(v, 3)[1].numpy())


def test_max_pool3d_ties_and_nan_route_the_gradient_as_torch():
    a = np.array([1.0, 1.0, 0.0, 3.0, np.nan, 2.0, 3.0, np.nan, 3.0, 0.0, 0.0, 1.0])
    a = np.concatenate([a, a[::-1]]).reshape(1, 1, 2, 3, 4)
    for kw in [dict(kernel_size=2, stride=1), dict(kernel_size=(2, 2, 3), stride=1, padding=1)]:
        x, tx = ge.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        (out, idx), (tout, tidx) = F.max_pool3d(x, return_indices=True, **kw), \
            TF.max_pool3d(tx, return_indices=True, **kw)
        np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_pool_modules_return_indices_and_conv3d_valid_padding_mode(rng):
    x = rng.standard_normal((2, 2, 4, 5, 4))
    (v, i), (tv, ti) = nn.MaxPool3d(2, stride=1, return_indices=True)(ge.tensor(x)), \
        TNN.MaxPool3d(2, stride=1, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    (v, i), (tv, ti) = nn.AdaptiveMaxPool3d((2, 3, 1), return_indices=True)(ge.tensor(x)), \
        TNN.AdaptiveMaxPool3d((2, 3, 1), return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    ours = nn.Conv3d(2, 2, 2, padding="valid", padding_mode="replicate")
    theirs = TNN.Conv3d(2, 2, 2, padding="valid", padding_mode="replicate")
    assert repr(ours) == repr(theirs)
    _pair_modules(ours, theirs, (1, 2, 3, 3, 3), rng=rng)


# ---------------------------------------------------------------- a 3-d network, trained

def _net3d(M):
    class Net(M.Module):
        def __init__(self):
            super().__init__()
            self.conv = M.Conv3d(1, 4, 3, padding=1, padding_mode="replicate")
            self.bn = M.BatchNorm3d(4)
            self.pool = M.MaxPool3d(2)
            self.up = M.ConvTranspose3d(4, 2, 2, stride=2)
            self.head = M.Conv3d(2, 3, 1)
            self.gap = M.AdaptiveAvgPool3d(1)

        def forward(self, x):
            h = self.pool(self.bn(self.conv(x)).relu())
            return self.gap(self.head(self.up(h))).flatten(1)
    return Net()


def test_a_3d_network_trains_step_for_step_as_torch_eager_and_under_jit(rng):
    theirs = _net3d(TNN).double()
    x = rng.standard_normal((2, 1, 4, 4, 4))
    y = rng.integers(0, 3, 2)
    results = []
    for use_jit in (False, True):
        ours = _net3d(nn).to("float64")
        module_oracle.load_from_torch(ours, theirs)  # torch's weights, before it trains
        opt = ge.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)

        def step(xb, yb, ours=ours, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(ours(xb), yb)
            loss.backward()
            opt.step()
            return loss
        run = ge.jit(step) if use_jit else step
        results.append(([run(ge.tensor(x), ge.tensor(y)).item() for _ in range(3)],
                        {k: np.asarray(v).copy() for k, v in ours.state_dict().items()}))
        assert not use_jit or run.traces == 1
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    tlosses = []
    for _ in range(3):
        topt.zero_grad()
        loss = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        topt.step()
        tlosses.append(loss.item())
    for losses, state in results:
        np.testing.assert_allclose(losses, tlosses, rtol=1e-10)
        for k, v in theirs.state_dict().items():
            np.testing.assert_allclose(state[k], v.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)
    assert results[0][0] == results[1][0]  # ge.jit's replay: eager's losses bit for bit


@pytest.mark.parametrize("name,args,kw", [
    ("conv3d", ((2, 2, 2, 2, 2),), {}), ("conv_transpose3d", ((2, 1, 2, 2, 2),), {}),
    ("max_pool3d", (2,), {}), ("avg_pool3d", (2,), {}), ("adaptive_avg_pool3d", (2,), {}),
    ("adaptive_max_pool3d", (2,), {}), ("lp_pool3d", (2, 2), {}),
    ("fractional_max_pool3d", (2,), dict(output_size=2))])
def test_an_empty_batch_gives_torchs_shapes_and_empty_gradients(name, args, kw):
    x = ge.zeros((0, 2, 4, 4, 4), requires_grad=True)
    tx = torch.zeros((0, 2, 4, 4, 4))
    gargs = [ge.ones(a) if isinstance(a, tuple) else a for a in args]
    targs = [torch.ones(a) if isinstance(a, tuple) else a for a in args]
    out = getattr(F, name)(x, *gargs, **kw)
    assert out.shape == tuple(getattr(TF, name)(tx, *targs, **kw).shape)
    out.sum().backward()
    assert x.grad.shape == x.shape


def test_non_contiguous_inputs(rng):
    a = rng.standard_normal((2, 4, 3, 5, 2))
    w = rng.standard_normal((3, 2, 2, 2, 2))
    x, tx = ge.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for f, tf in [(lambda v: F.conv3d(v, ge.tensor(w), padding=1),
                   lambda v: TF.conv3d(v, torch.tensor(w), padding=1)),
                  (lambda v: F.max_pool3d(v, 2, 1), lambda v: TF.max_pool3d(v, 2, 1)),
                  (lambda v: F.avg_pool3d(v, 2, 1, 1), lambda v: TF.avg_pool3d(v, 2, 1, 1)),
                  (lambda v: F.adaptive_max_pool3d(v, 2), lambda v: TF.adaptive_max_pool3d(v, 2))]:
        x.grad, tx.grad = None, None
        gv = x.transpose(0, 4, 2, 3, 1)[:, :, :, ::2]  # (2, 2, 3, 3, 4), strided
        tv = tx.permute(0, 4, 2, 3, 1)[:, :, :, ::2]
        assert not gv.is_contiguous()
        out, tout = f(gv), tf(tv)
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
