"""The op table of the resampling family (gradengine/ops/resample.py) -- interpolate in
every mode, pixel_shuffle / pixel_unshuffle, unfold / fold, adaptive max pooling -- and the
composite losses and shrinks added beside it, against torch.nn.functional, on the CPU, the
NumPy stand-in for CUDA and CUDA."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
import optable
from optable import Row

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _s(*shapes):
    def samples(rng):
        return [[rng.standard_normal(s) for s in ss] for ss in shapes]
    return samples


def _distinct(*shapes):
    def samples(rng):
        out = []
        for s in shapes:
            x = rng.standard_normal(s)
            ranks = np.argsort(np.argsort(x.ravel()))
            out.append([np.linspace(-1, 1, x.size)[ranks].reshape(s)])
        return out
    return samples


INTERP = [
    ("nearest", dict(size=(7, 3))), ("nearest", dict(scale_factor=(1.7, 0.6))),
    ("nearest-exact", dict(size=(7, 3))), ("nearest-exact", dict(scale_factor=2)),
    ("bilinear", dict(size=(7, 3))), ("bilinear", dict(scale_factor=1.5, align_corners=True)),
    ("bilinear", dict(scale_factor=(0.7, 2.0))),
    ("bicubic", dict(size=(6, 9))), ("bicubic", dict(scale_factor=2, align_corners=True)),
    ("area", dict(size=(2, 3))),
]


def _rows():
    rows = []
    for mode, kw in INTERP:
        key = ",".join(f"{k}={v}" for k, v in kw.items())
        rows.append(Row(f"interpolate[{mode},{key}]",
                        lambda x, mode=mode, kw=kw: F.interpolate(x, mode=mode, **kw),
                        lambda x, mode=mode, kw=kw: TF.interpolate(x, mode=mode, **kw),
                        _s(((1, 2, 4, 5),), ((2, 1, 3, 3),))))
    rows += [
        Row("interpolate[linear]", lambda x: F.interpolate(x, size=7, mode="linear"),
            lambda x: TF.interpolate(x, size=7, mode="linear"), _s(((2, 3, 4),))),
        Row("interpolate[trilinear]",
            lambda x: F.interpolate(x, scale_factor=1.5, mode="trilinear", align_corners=False),
            lambda x: TF.interpolate(x, scale_factor=1.5, mode="trilinear",
                                     align_corners=False), _s(((1, 1, 2, 3, 2),))),
        Row("interpolate[nearest,1d]", lambda x: F.interpolate(x, scale_factor=3),
            lambda x: TF.interpolate(x, scale_factor=3), _s(((2, 2, 3),))),
        Row("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2),
            _s(((1, 8, 2, 3),), ((4, 2, 3),))),
        Row("pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2),
            lambda x: TF.pixel_unshuffle(x, 2), _s(((1, 2, 4, 6),), ((3, 2, 2),))),
        Row("unfold", lambda x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
            lambda x: TF.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
            _s(((1, 2, 4, 5),), ((2, 3, 3),))),
        Row("fold", lambda x: F.fold(x, (4, 5), (2, 2), padding=1, stride=2),
            lambda x: TF.fold(x, (4, 5), (2, 2), padding=1, stride=2),
            _s(((1, 8, 9),), ((12, 9),))),
        Row("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 3)),
            lambda x: TF.adaptive_max_pool2d(x, (2, 3)),
            _distinct((1, 2, 5, 7), (3, 4, 4)), finite_diff=True),
        Row("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 3),
            lambda x: TF.adaptive_max_pool1d(x, 3), _distinct((2, 2, 7))),
        Row("softshrink", lambda x: F.softshrink(x, 0.3), lambda x: TF.softshrink(x, 0.3),
            _s(((4, 5),))),
        Row("hardshrink", lambda x: F.hardshrink(x, 0.3), lambda x: TF.hardshrink(x, 0.3),
            _s(((4, 5),)), second_order=False),
        Row("pairwise_distance", lambda a, b: F.pairwise_distance(a, b),
            lambda a, b: TF.pairwise_distance(a, b), _s(((3, 4), (3, 4)), ((5,), (5,)))),
        Row("triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True),
            lambda a, p, n: TF.triplet_margin_loss(a, p, n, swap=True),
            _s(((3, 4), (3, 4), (3, 4)))),
        Row("gaussian_nll_loss",
            lambda x, t, v: F.gaussian_nll_loss(x, t, v * v + 0.5, full=True),
            lambda x, t, v: TF.gaussian_nll_loss(x, t, v * v + 0.5, full=True),
            _s(((3, 4), (3, 4), (3, 4)), ((3, 4), (3, 4), (3, 1)))),
        Row("poisson_nll_loss", lambda x, t: F.poisson_nll_loss(x, t * t, full=True),
            lambda x, t: TF.poisson_nll_loss(x, t * t, full=True), _s(((3, 4), (3, 4))),
            diff=(0,)),
        Row("multilabel_soft_margin_loss",
            lambda x, t: F.multilabel_soft_margin_loss(x, (t > 0).astype(x.dtype)),
            lambda x, t: TF.multilabel_soft_margin_loss(x, (t > 0).to(x.dtype)),
            _s(((3, 4), (3, 4))), diff=(0,)),
    ]
    for name, fn, tfn in (("hinge_embedding_loss", F.hinge_embedding_loss,
                           TF.hinge_embedding_loss),):
        rows.append(Row(name, lambda x, y, fn=fn: fn(x, (y > 0) * 2.0 - 1.0, margin=0.5),
                        lambda x, y, fn=tfn: fn(x, (y > 0) * 2.0 - 1.0, margin=0.5),
                        _s(((3, 4), (3, 4))), diff=(0,), second_order=False))
    rows.append(Row("cosine_embedding_loss",
                    lambda a, b, y: F.cosine_embedding_loss(a, b, (y > 0) * 2.0 - 1.0, 0.1),
                    lambda a, b, y: TF.cosine_embedding_loss(a, b, (y > 0) * 2.0 - 1.0, 0.1),
                    _s(((3, 4), (3, 4), (3,))), diff=(0, 1)))
    return rows


ROWS = _rows()
IDS = [r.name for r in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradcheck(row, device, rng):
    optable.check_gradcheck(row, device, rng)


@pytest.mark.parametrize("row", [r for r in ROWS if r.second_order], ids=lambda r: r.name)
def test_gradgradcheck(row, device, rng):
    optable.check_gradgradcheck(row, device, rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_torch(row, dtype, device, rng):
    optable.check_torch(row, device, rng, dtype)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    optable.check_jit(row, rng, shift_ok=not row.name.startswith("adaptive_max"))


def test_adaptive_max_pool_indices_and_ties_follow_torch():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [2.0, 3.0, 1.0, 5.0], [0.0, 0.0, 4.0, 4.0]]]])
    got, gi = F.adaptive_max_pool2d(ge.tensor(x, requires_grad=True), (2, 2),
                                    return_indices=True)
    tx = torch.tensor(x, requires_grad=True)
    want, wi = TF.adaptive_max_pool2d(tx, (2, 2), return_indices=True)
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())
    np.testing.assert_array_equal(gi.numpy(), wi.numpy())
    gx = ge.tensor(x, requires_grad=True)
    F.adaptive_max_pool2d(gx, (2, 2)).sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(gx.grad.numpy(), tx.grad.numpy())  # the first maximum


def test_interpolate_non_finite_values_stay_local():
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 0, 0] = np.inf
    got = F.interpolate(ge.tensor(x), scale_factor=2, mode="bilinear").numpy()
    want = TF.interpolate(torch.tensor(x), scale_factor=2, mode="bilinear").numpy()
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))


@pytest.mark.parametrize("call, match", [
    (lambda x: F.interpolate(x), "exactly one of size and scale_factor"),
    (lambda x: F.interpolate(x, size=3, scale_factor=2), "exactly one"),
    (lambda x: F.interpolate(x, size=3, mode="cubic"), "unknown mode"),
    (lambda x: F.interpolate(x, size=3, mode="linear"), "does not take input"),
    (lambda x: F.interpolate(x, size=(3, 4, 5)), "3 entries for 2 spatial"),
    (lambda x: F.interpolate(x, size=3, align_corners=True), "align_corners"),
    (lambda x: F.pixel_shuffle(x, 2), "divisible by upscale_factor"),
    (lambda x: F.pixel_unshuffle(x, 3), "divisible by downscale_factor"),
    (lambda x: F.unfold(x, 9), "does not fit"),
    (lambda x: F.fold(x, (4, 4), 2), "expected a 2-d or 3-d input"),
    (lambda x: F.adaptive_max_pool2d(x, (0, 2)), "cannot pool"),
])
def test_bad_arguments_name_the_op_and_change_nothing(call, match):
    data = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    x = ge.tensor(data.copy(), requires_grad=True)
    with pytest.raises((ge.ShapeError, ValueError, TypeError), match=match):
        call(x)
    np.testing.assert_array_equal(x.numpy(), data)
    assert x.grad is None
