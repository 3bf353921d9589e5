"""The op table of the nn-extras family (gradengine/ops/nn_extras.py) -- local_response_norm,
bilinear, embedding_bag, ctc_loss, the margin losses, pdist, rrelu, channel_shuffle,
affine_grid, grid_sample and the random ones (gumbel_softmax, rrelu in training, the alpha
dropouts) -- against torch.nn.functional, on the CPU, the NumPy stand-in for CUDA and
CUDA; the in-place forms, the aliases and the error contract."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
import optable
from gradengine.ops import nn_extras
from optable import Row

torch = pytest.importorskip("torch")
TF = torch.nn.functional

IDX = np.array([1, 2, 4, 5, 4, 3, 2, 9])
OFF = np.array([0, 2, 2, 5])
CTC_TG = np.array([[1, 2, 2], [3, 1, 0]])
CTC_IL, CTC_TL = np.array([6, 4]), np.array([3, 2])
MLM_TG = np.array([[3, 0, -1, 1, 0], [1, 2, 4, 3, 0], [-1, 1, 1, 1, 1]])


def _s(*shapes, ints=()):
    def samples(rng):
        return [[rng.standard_normal(s) for s in ss] + list(ints) for ss in shapes]
    return samples


def _grid(rng):
    return [[rng.standard_normal((2, 2, 3, 4)), rng.uniform(-1.2, 1.2, (2, 3, 2, 2))]]


def _gs(mode, pm, ac):
    return Row(f"grid_sample[{mode},{pm},{ac}]",
               lambda x, g: F.grid_sample(x, g, mode, pm, ac),
               lambda x, g: TF.grid_sample(x, g, mode, pm, ac), _grid,
               diff=(0,) if mode == "nearest" else None)


def _rows():
    return [
        Row("local_response_norm", lambda x: F.local_response_norm(x, 3, 0.5, 0.75, 2.0),
            lambda x: TF.local_response_norm(x, 3, 0.5, 0.75, 2.0),
            _s(((2, 5, 3, 2),), ((2, 4, 3),))),
        Row("bilinear", F.bilinear, TF.bilinear, _s(((3, 3), (3, 2), (4, 3, 2), (4,)))),
        Row("embedding_bag[sum]", lambda w, i, o: F.embedding_bag(i, w, o, mode="sum"),
            lambda w, i, o: TF.embedding_bag(i, w, o, mode="sum"),
            _s(((10, 3),), ints=(IDX, OFF))),
        Row("embedding_bag[mean,padding_idx]",
            lambda w, i, o: F.embedding_bag(i, w, o, padding_idx=4),
            lambda w, i, o: TF.embedding_bag(i, w, o, padding_idx=4),
            _s(((10, 3),), ints=(IDX, OFF))),
        Row("embedding_bag[max,2d]", lambda w, i: F.embedding_bag(i, w, mode="max"),
            lambda w, i: TF.embedding_bag(i, w, mode="max"),
            _s(((10, 3),), ints=(IDX.reshape(2, 4),))),
        Row("embedding_bag[per_sample_weights,include_last_offset]",
            lambda w, p, i, o: F.embedding_bag(i, w, o, mode="sum", per_sample_weights=p,
                                               include_last_offset=True),
            lambda w, p, i, o: TF.embedding_bag(i, w, o, mode="sum", per_sample_weights=p,
                                                include_last_offset=True),
            _s(((10, 3), (8,)), ints=(IDX, np.array([0, 2, 5, 8])))),
        Row("ctc_loss[log_softmax]",
            lambda x, t, i, k: F.ctc_loss(F.log_softmax(x, axis=2), t, i, k),
            lambda x, t, i, k: TF.ctc_loss(TF.log_softmax(x, 2), t, i, k),
            _s(((6, 2, 4),), ints=(CTC_TG, CTC_IL, CTC_TL)), second_order=False),
        # PyTorch's gradient with respect to log_probs is the log_softmax one (a convention)
        Row("ctc_loss[raw,sum,1d-targets]",
            lambda x, t, i, k: F.ctc_loss(x, t, i, k, reduction="sum"),
            lambda x, t, i, k: TF.ctc_loss(x, t, i, k, reduction="sum"),
            _s(((6, 2, 4),), ints=(np.array([1, 2, 2, 3, 1]), CTC_IL, CTC_TL)),
            second_order=False, finite_diff=False),
        Row("multi_margin_loss[p=1]", lambda x, y: F.multi_margin_loss(x, y, margin=0.7),
            lambda x, y: TF.multi_margin_loss(x, y, margin=0.7),
            _s(((4, 5),), ints=(np.array([0, 3, 4, 1]),))),
        Row("multi_margin_loss[p=2,weight,sum]",
            lambda x, y: F.multi_margin_loss(x, y, p=2, weight=ge.tensor(
                np.linspace(0.5, 1.5, 5), dtype=x.dtype, device=x.device), reduction="sum"),
            lambda x, y: TF.multi_margin_loss(x, y, p=2, weight=torch.linspace(
                0.5, 1.5, 5, dtype=x.dtype), reduction="sum"),
            _s(((4, 5),), ints=(np.array([0, 3, 4, 1]),))),
        Row("multilabel_margin_loss",
            lambda x, y: F.multilabel_margin_loss(x, y, reduction="none"),
            lambda x, y: TF.multilabel_margin_loss(x, y, reduction="none"),
            _s(((3, 5),), ints=(MLM_TG,))),
        Row("triplet_margin_with_distance_loss",
            lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=True),
            lambda a, p, n: TF.triplet_margin_with_distance_loss(a, p, n, swap=True),
            _s(((3, 4), (3, 4), (3, 4)))),
        Row("pdist", F.pdist, TF.pdist, _s(((4, 3),))),
        Row("pdist[p=1]", lambda x: F.pdist(x, 1), lambda x: TF.pdist(x, 1), _s(((3, 2),))),
        Row("rrelu[eval]", F.rrelu, TF.rrelu, _s(((3, 4),))),
        Row("channel_shuffle", lambda x: F.channel_shuffle(x, 3),
            lambda x: TF.channel_shuffle(x, 3), _s(((2, 6, 2, 1),))),
        Row("affine_grid", lambda t: F.affine_grid(t, (2, 3, 4, 5)),
            lambda t: TF.affine_grid(t, (2, 3, 4, 5), align_corners=False), _s(((2, 2, 3),))),
        Row("affine_grid[3d,align_corners]",
            lambda t: F.affine_grid(t, (1, 1, 2, 3, 2), align_corners=True),
            lambda t: TF.affine_grid(t, (1, 1, 2, 3, 2), align_corners=True),
            _s(((1, 3, 4),))),
        _gs("bilinear", "zeros", False), _gs("bilinear", "border", True),
        _gs("bilinear", "reflection", False), _gs("nearest", "reflection", True),
        Row("upsample_bilinear", lambda x: F.upsample_bilinear(x, scale_factor=2),
            lambda x: TF.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True),
            _s(((1, 1, 2, 3),))),
    ]


ROWS = _rows()
IDS = [r.name for r in ROWS]
# random: PyTorch draws other numbers, so these rows have gradient and ge.jit checks only
RANDOM = [
    Row("gumbel_softmax", lambda x: F.gumbel_softmax(x, tau=0.5), None, _s(((3, 4),)),
        covers=("gumbel_noise",), seeded=True),
    Row("gumbel_softmax[hard]", lambda x: F.gumbel_softmax(x, hard=True, dim=0), None,
        _s(((3, 4),)), seeded=True, finite_diff=False),  # straight-through: a convention
    Row("rrelu[training]", lambda x: F.rrelu(x, 0.1, 0.4, training=True), None,
        _s(((3, 4),)), covers=("uniform_noise",), seeded=True),
    Row("alpha_dropout", lambda x: F.alpha_dropout(x, 0.3, training=True), None,
        _s(((3, 4),)), covers=("bernoulli_mask",), seeded=True),
    Row("feature_alpha_dropout", lambda x: F.feature_alpha_dropout(x, 0.3, training=True),
        None, _s(((2, 3, 2),)), seeded=True),
]
ALL = ROWS + RANDOM


@pytest.mark.parametrize("row", ALL, ids=[r.name for r in ALL])
def test_gradcheck(row, device, rng):
    optable.check_gradcheck(row, device, rng)


@pytest.mark.parametrize("row", [r for r in ALL if r.second_order], ids=lambda r: r.name)
def test_gradgradcheck(row, device, rng):
    optable.check_gradgradcheck(row, device, rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_torch(row, dtype, device, rng):
    optable.check_torch(row, device, rng, dtype)


@pytest.mark.parametrize("row", ALL, ids=[r.name for r in ALL])
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    optable.check_jit(row, rng, shift_ok=not row.name.startswith("grid_sample[nearest"))


def test_every_op_of_the_family_has_a_row():
    missing = optable.op_names(nn_extras) - optable.covered(ALL)
    assert not missing, missing


def test_ctc_zero_infinity_and_impossible_alignments_follow_torch():
    lp = np.random.default_rng(1).standard_normal((4, 2, 3))
    tg, il, tl = np.array([[1, 1, 1], [2, 1, 0]]), np.array([4, 4]), np.array([3, 2])
    x = ge.tensor(lp, requires_grad=True)
    tx = torch.tensor(lp, requires_grad=True)
    got = F.ctc_loss(F.log_softmax(x, axis=2), tg, il, tl, reduction="none",
                     zero_infinity=True)
    want = TF.ctc_loss(TF.log_softmax(tx, 2), torch.tensor(tg), torch.tensor(il),
                       torch.tensor(tl), reduction="none", zero_infinity=True)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10)
    assert got.numpy()[0] == 0  # "1 1 1" needs 5 steps
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    inf = F.ctc_loss(F.log_softmax(ge.tensor(lp), axis=2), tg, il, tl, reduction="none")
    assert np.isinf(inf.numpy()[0]) and np.isfinite(inf.numpy()[1])


def test_ctc_loss_module_and_blank_other_than_zero():
    lp = np.random.default_rng(2).standard_normal((5, 2, 4)).astype(np.float32)
    tg, il, tl = np.array([[0, 1], [2, 2]]), np.array([5, 5]), np.array([2, 2])
    got = ge.nn.CTCLoss(blank=3)(F.log_softmax(ge.tensor(lp), axis=2), ge.tensor(tg),
                                 ge.tensor(il), ge.tensor(tl))
    want = torch.nn.CTCLoss(blank=3)(TF.log_softmax(torch.tensor(lp), 2), torch.tensor(tg),
                                     torch.tensor(il), torch.tensor(tl))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_alpha_dropout_keeps_selu_statistics_and_is_seeded():
    ge.manual_seed(0)
    x = F.selu(ge.randn(4000, 50, dtype="float64"))
    y = F.alpha_dropout(x, 0.2, training=True)
    assert abs(y.numpy().mean()) < 0.02 and abs(y.numpy().std() - 1) < 0.02
    ge.manual_seed(3)
    a = F.feature_alpha_dropout(x.reshape(400, 10, 50), 0.5, training=True).numpy()
    ge.manual_seed(3)
    b = F.feature_alpha_dropout(x.reshape(400, 10, 50), 0.5, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    dropped = np.isclose(a, a[..., :1]).all(axis=-1)  # whole channels take one value
    assert 0.3 < dropped.mean() < 0.7
    assert F.alpha_dropout(x, 0.5) is x  # training=False by default, as torch
    assert not F.alpha_dropout(x, 1.0, training=True).numpy().any()


def test_rrelu_training_slopes_lie_in_the_range_and_eval_uses_their_mean():
    x = ge.tensor(-np.ones(2000))
    ge.manual_seed(1)
    slopes = -F.rrelu(x, 0.1, 0.3, training=True).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    np.testing.assert_allclose(F.rrelu(x, 0.1, 0.3).numpy(), -0.2)
    m = ge.nn.RReLU(0.1, 0.3)
    ge.manual_seed(1)
    np.testing.assert_array_equal(-m(x).numpy(), slopes)
    np.testing.assert_allclose(m.eval()(x).numpy(), -0.2)


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient():
    logits = ge.randn(5, 4, requires_grad=True)
    ge.manual_seed(4)
    y = F.gumbel_softmax(logits, tau=0.7, hard=True)
    assert (y.numpy().sum(axis=1) == 1).all() and set(np.unique(y.numpy())) <= {0.0, 1.0}
    w = ge.tensor(np.arange(20.0).reshape(5, 4), dtype="float32")
    (y * w).sum().backward()
    g_hard = logits.grad.numpy()
    logits.grad = None
    ge.manual_seed(4)
    (F.gumbel_softmax(logits, tau=0.7) * w).sum().backward()
    np.testing.assert_allclose(g_hard, logits.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name, args", [
    ("relu_", ()), ("elu_", (0.5,)), ("leaky_relu_", (0.2,)), ("hardtanh_", (-0.5, 0.5)),
    ("threshold_", (0.3, -1.0)), ("celu_", (0.7,)), ("selu_", ()), ("rrelu_", ()),
])
def test_in_place_activations_write_into_the_tensor_and_keep_the_gradient(name, args):
    data = np.linspace(-2, 2, 8)  # no kink at 0
    x = ge.tensor(data, requires_grad=True)
    y = x * 1
    assert getattr(F, name)(y, *args) is y and y._version == 1
    tx = torch.tensor(data, requires_grad=True)
    ty = tx * 1
    getattr(TF, name)(ty, *args)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    w = np.arange(8.0)
    (y * ge.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    with pytest.raises(ge.GraphError, match=name):
        getattr(F, name)(x, *args)  # a leaf that requires grad
    np.testing.assert_array_equal(x.numpy(), data)


def test_upsample_nearest_alias_and_threshold_are_there():
    x = np.random.default_rng(0).standard_normal((1, 2, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(F.upsample_nearest(ge.tensor(x), scale_factor=2).numpy(),
                                  TF.interpolate(torch.tensor(x), scale_factor=2).numpy())
    np.testing.assert_array_equal(F.threshold(ge.tensor(x), 0.1, 5.0).numpy(),
                                  TF.threshold(torch.tensor(x), 0.1, 5.0).numpy())


def _x():
    return ge.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10,
                     requires_grad=True)


@pytest.mark.parametrize("call, err, match", [
    (lambda x: F.local_response_norm(x[0], 2), ge.ShapeError, "local_response_norm: .*3 or"),
    (lambda x: F.bilinear(x, x, ge.ones((2, 3, 3))), ge.ShapeError, "bilinear: .*\\(2, 3, 3\\)"),
    (lambda x: F.embedding_bag(ge.tensor([1, 2]), x[0]), ValueError, "needs offsets"),
    (lambda x: F.embedding_bag(ge.tensor([1, 2]), x[0], ge.tensor([1])), ge.ShapeError,
     "offsets\\[0\\] must be 0"),
    (lambda x: F.embedding_bag(ge.tensor([1, 7]), x[0], ge.tensor([0])), IndexError,
     "index 7 is out of range for 3"),
    (lambda x: F.embedding_bag(ge.tensor([[1]]), x[0], mode="median"), ValueError, "mode"),
    (lambda x: F.ctc_loss(x, ge.tensor([[1]] * 3), [3, 3, 3], [1, 1, 1]), ge.ShapeError,
     "ctc_loss: input_lengths \\[3, 3, 3\\] must be in \\[1, 2\\]"),
    (lambda x: F.ctc_loss(x, ge.tensor([[0], [1], [2]]), [1, 1, 1], [1, 1, 1]), ValueError,
     "ctc_loss: target 0 .*blank"),
    (lambda x: F.multi_margin_loss(x[0], ge.tensor([0, 5, 1])), IndexError,
     "multi_margin_loss: target .* 4 classes"),
    (lambda x: F.multi_margin_loss(x[0], ge.tensor([0, 1, 1]), p=3), ValueError, "p == 1"),
    (lambda x: F.multilabel_margin_loss(x[0], ge.tensor([0, 1])), ge.ShapeError,
     "multilabel_margin_loss: target of shape \\(2,\\)"),
    (lambda x: F.pdist(x), ge.ShapeError, "pdist: expected a 2-d"),
    (lambda x: F.channel_shuffle(x, 2), ge.ShapeError, "channel_shuffle: .*groups=2"),
    (lambda x: F.affine_grid(x, (2, 1, 3, 3)), ge.ShapeError, "affine_grid: theta \\(2, 3, 4\\)"),
    (lambda x: F.grid_sample(x, x), ge.ShapeError, "grid_sample: expected input"),
    (lambda x: F.grid_sample(x[None], ge.zeros((1, 1, 1, 2)), mode="bicubic"), ValueError,
     "bicubic is not supported"),
    (lambda x: F.alpha_dropout(x, 1.5, training=True), ValueError, "alpha_dropout: .*p"),
    (lambda x: F.rrelu(x, 0.5, 0.1), ValueError, "rrelu: expected 0 <= lower <= upper"),
])
def test_bad_arguments_name_the_op_and_change_nothing(call, err, match):
    x = _x()
    before = x.numpy().copy()
    with pytest.raises(err, match=match):
        call(x)
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None and x._version == 0


def test_jit_replays_new_integer_arguments_without_a_retrace():
    w = ge.tensor(np.random.default_rng(0).standard_normal((6, 2)), requires_grad=True)
    lp = ge.tensor(np.random.default_rng(1).standard_normal((5, 2, 4)), requires_grad=True)

    def step(idx, off, tg, il, tl):
        loss = F.embedding_bag(idx, w, off, mode="sum").sum() + F.ctc_loss(
            F.log_softmax(lp, axis=2), tg, il, tl)
        return loss, ge.grad(loss, [w, lp])

    jitted = ge.jit(step)
    calls = [([1, 2, 3, 5], [0, 1], [[1, 2], [3, 0]], [5, 4], [2, 1]),
             ([4, 4, 0, 2], [0, 3], [[3, 3], [2, 1]], [4, 5], [2, 2])]
    for args in calls:
        ts = [ge.tensor(np.array(a)) for a in args]
        want_loss, want_grads = step(*ts)
        got_loss, got_grads = jitted(*ts)
        np.testing.assert_array_equal(got_loss.numpy(), want_loss.numpy())
        for g, h in zip(got_grads, want_grads):
            np.testing.assert_array_equal(g.numpy(), h.numpy())
    assert jitted.traces == 1
