"""The op table of the losses (gradengine/ops/losses.py), against torch.nn.functional; its
guard covers every op of the module (the rows of tests/test_ops.py included here)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
import optable
from gradengine.ops import losses
from optable import Row

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pairs(rng, tf=None):
    return [[rng.standard_normal(s), (tf or (lambda v: v))(rng.standard_normal(s))]
            for s in ((), (5,), (3, 4), (2, 3, 2), (0, 3))]


def _prob(x):
    return 1 / (1 + np.exp(-x)) * 0.9 + 0.05


W4 = np.array([0.5, 2.0, 1.0, 0.3])


def _ce_samples(rng):
    return [[rng.standard_normal((6, 4)), np.array([0, 3, -100, 2, 1, 3]), W4],
            [rng.standard_normal((3, 4, 2, 2)), rng.integers(0, 4, (3, 2, 2)), W4],
            [rng.standard_normal(4), np.array(2), W4],
            [rng.standard_normal((2, 4, 3)), np.array([[1, -100, 0], [3, 3, 2]]), W4]]


def _soft_samples(rng):
    def soft(shape):
        e = np.exp(rng.standard_normal(shape))
        return e / e.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    return [[rng.standard_normal(s), soft(s), W4] for s in ((5, 4), (2, 4, 3), (4,))]


def _ce_rows():
    rows = []
    for red in ("mean", "sum", "none"):
        for ls in (0.0, 0.25):
            for weighted in (False, True):
                kw = dict(reduction=red, label_smoothing=ls)

                def fn(x, t, w, kw=kw, weighted=weighted):
                    return F.cross_entropy(x, t, weight=w if weighted else None, **kw)

                def tfn(x, t, w, kw=kw, weighted=weighted):
                    return TF.cross_entropy(x, t, weight=w if weighted else None, **kw)
                tag = f"{red},ls={ls},w={weighted}"
                rows.append(Row(f"cross_entropy[{tag}]", fn, tfn, _ce_samples, diff=(0,),
                                covers=("target_weights", "onehot_like")))
                rows.append(Row(f"cross_entropy[soft,{tag}]", fn, tfn, _soft_samples,
                                diff=(0, 1)))
        rows.append(Row(f"nll_loss[{red}]",
                        lambda x, t, w, r=red: F.nll_loss(x, t, w, ignore_index=2, reduction=r),
                        lambda x, t, w, r=red: TF.nll_loss(x, t, w, ignore_index=2,
                                                           reduction=r),
                        lambda rng: [[x, np.where(t < 0, 1, t) if t.ndim else np.array(1), w]
                                     for x, t, w in _ce_samples(rng)], diff=(0,),
                        covers=("target_weights", "onehot_like")))
        rows.append(Row(f"l1_loss[{red}]", lambda a, b, r=red: F.l1_loss(a, b, r),
                        lambda a, b, r=red: TF.l1_loss(a, b, reduction=r),
                        lambda rng: [[a, a + np.where(b >= 0, b + 0.1, b - 0.1)]
                                     for a, b in _pairs(rng)]))
        rows.append(Row(f"huber_loss[{red}]",
                        lambda a, b, r=red: F.huber_loss(a, b, r, delta=0.8),
                        lambda a, b, r=red: TF.huber_loss(a, b, reduction=r, delta=0.8),
                        lambda rng: [[a, a + np.where(np.abs(np.abs(b) - 0.8) < 0.05, b * 1.2,
                                                      b)] for a, b in _pairs(rng)]))
        rows.append(Row(f"smooth_l1_loss[{red}]",
                        lambda a, b, r=red: F.smooth_l1_loss(a, b, r, beta=0.5),
                        lambda a, b, r=red: TF.smooth_l1_loss(a, b, reduction=r, beta=0.5),
                        lambda rng: [[a, a + np.where(np.abs(np.abs(b) - 0.5) < 0.05, b * 1.2,
                                                      b)] for a, b in _pairs(rng)],
                        covers=("huber_loss",)))
        rows.append(Row(f"binary_cross_entropy_with_logits[{red}]",
                        lambda x, t, w, pw, r=red: F.binary_cross_entropy_with_logits(
                            x, t, weight=w, pos_weight=pw, reduction=r),
                        lambda x, t, w, pw, r=red: TF.binary_cross_entropy_with_logits(
                            x, t, weight=w, pos_weight=pw, reduction=r),
                        lambda rng: [[rng.standard_normal(s), _prob(rng.standard_normal(s)),
                                      np.abs(rng.standard_normal(s[-1:])) + 0.2,
                                      np.abs(rng.standard_normal(s[-1:])) + 0.5]
                                     for s in ((5,), (3, 4), (2, 2, 3))], diff=(0, 1)))
        rows.append(Row(f"mse_loss[{red}]", lambda a, b, r=red: F.mse_loss(a, b, r),
                        lambda a, b, r=red: TF.mse_loss(a, b, reduction=r), _pairs))
        rows.append(Row(f"binary_cross_entropy[{red}]",
                        lambda a, b, r=red: F.binary_cross_entropy(a, b, r),
                        lambda a, b, r=red: TF.binary_cross_entropy(a, b, reduction=r),
                        lambda rng: [[_prob(a), _prob(b)] for a, b in _pairs(rng)]))
    return rows


ROWS = _ce_rows()
IDS = [r.name for r in ROWS]
# rows whose inputs must stay in a domain (probabilities, soft labels): no shift on replay
_NO_SHIFT = ("binary_cross_entropy", "cross_entropy[soft")


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradcheck(row, device, rng):
    optable.check_gradcheck(row, device, rng)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradgradcheck(row, device, rng):
    optable.check_gradgradcheck(row, device, rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_torch(row, dtype, device, rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optable.check_torch(row, device, rng, dtype)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    optable.check_jit(row, rng, shift_ok=not row.name.startswith(_NO_SHIFT))


def test_every_loss_op_has_a_row():
    missing = optable.op_names(losses) - optable.covered(ROWS)
    assert not missing, f"loss ops without a row: {sorted(missing)}"


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.huber_loss, F.smooth_l1_loss,
                                F.binary_cross_entropy, F.binary_cross_entropy_with_logits,
                                F.cross_entropy, F.nll_loss])
def test_a_list_input_raises_a_clear_dtype_error(fn):
    with pytest.raises(ge.DTypeError, match=rf"{fn.__name__}: the input must be a Tensor, "
                                            r"got list \[0.5, 0.5\]"):
        fn([0.5, 0.5], ge.tensor([1.0, 0.0]))


def test_weighted_mean_divides_by_the_weights_of_counted_targets():
    x = ge.zeros((3, 2))
    t = ge.tensor([0, 1, -100])
    loss = F.cross_entropy(x, t, weight=ge.tensor([1.0, 3.0]))
    assert abs(loss.item() - np.log(2)) < 1e-6  # (1 + 3) log 2 / (1 + 3)
    assert np.isnan(F.cross_entropy(x, ge.tensor([-100] * 3)).item())  # 0 / 0, as torch


def test_extreme_logits_give_no_nan_and_no_warning_with_weights():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = ge.tensor([[-1e4, 1e4, 0.0], [np.inf, -np.inf, 1.0]], requires_grad=True)
        loss = F.binary_cross_entropy_with_logits(
            x, ge.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), weight=ge.tensor([1.0, 2, 3]),
            pos_weight=ge.tensor([2.0, 2, 2]))
        assert np.isfinite(loss.item())
        big = ge.tensor([[-1e4, 1e4, 0.0]], requires_grad=True)
        ce = F.cross_entropy(big, ge.tensor([0]), label_smoothing=0.1,
                             weight=ge.tensor([1.0, 2, 3]))
        ce.backward()
        assert np.isfinite(ce.item()) and np.isfinite(big.grad.numpy()).all()


def test_loss_errors_name_the_op():
    with pytest.raises(ValueError, match=r"cross_entropy: label 3 .*3 classes"):
        F.cross_entropy(ge.ones((4, 3)), ge.tensor([0, 1, 2, 3]))
    with pytest.raises(ge.ShapeError, match=r"cross_entropy: weight of shape \(2,\)"):
        F.cross_entropy(ge.ones((4, 3)), ge.tensor([0, 1, 2, 0]), weight=ge.ones(2))
    with pytest.raises(ge.ShapeError, match=r"nll_loss: labels of shape \(4,\) .*\(4, 3, 2\)"):
        F.nll_loss(ge.ones((4, 3, 2)), ge.tensor([0, 1, 2, 0]))
    with pytest.raises(ge.ShapeError, match=r"pos_weight of shape \(2,\)"):
        F.binary_cross_entropy_with_logits(ge.ones((4, 3)), ge.ones((4, 3)),
                                           pos_weight=ge.ones(2))
    with pytest.raises(ge.ShapeError, match=r"huber_loss: .*\(4, 1\).*\(4,\)"):
        F.huber_loss(ge.ones((4, 1)), ge.ones(4))
