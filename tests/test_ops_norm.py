"""The op table of the normalization family (gradengine/ops/normalization.py): layer_norm,
batch_norm, dropout, embedding, scaled_dot_product_attention, against torch."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
import optable
from gradengine.ops import normalization
from optable import Row

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _s(*shapes):
    def samples(rng):
        return [[rng.standard_normal(s) for s in ss] for ss in shapes]
    return samples


def _idx(rng):
    return [[rng.standard_normal((5, 3)), np.array([[0, 2, 4], [2, 2, 1]])],
            [rng.standard_normal((4, 2)), np.array([3, 3, 0])],
            [rng.standard_normal((3, 1)), np.array(1)]]


ROWS = [
    Row("layer_norm", lambda x, w, b: F.layer_norm(x, x.shape[-1:], w, b),
        lambda x, w, b: TF.layer_norm(x, x.shape[-1:], w, b),
        _s(((3, 4), (4,), (4,)), ((2, 3, 5), (5,), (5,)), ((1, 6), (6,), (6,))),
        covers=("normalize_backward",)),
    Row("layer_norm[2d,no affine]", lambda x: F.layer_norm(x, x.shape[-2:], eps=1e-3),
        lambda x: TF.layer_norm(x, x.shape[-2:], eps=1e-3), _s(((2, 3, 4),), ((3, 2),)),
        covers=("normalize_backward",)),
    Row("batch_norm[train]", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
        _s(((4, 3), (3,), (3,)), ((2, 3, 2, 2), (3,), (3,)), ((3, 2, 4), (2,), (2,))),
        covers=("normalize_backward",)),
    Row("batch_norm[eval]",
        lambda x, m, v, w, b: F.batch_norm(x, m.detach(), v.detach().abs() + 0.5, w, b),
        lambda x, m, v, w, b: TF.batch_norm(x, m.detach(), v.detach().abs() + 0.5, w, b),
        _s(((4, 3), (3,), (3,), (3,), (3,)), ((2, 3, 2, 2), (3,), (3,), (3,), (3,))),
        diff=(0, 3, 4)),
    Row("embedding", lambda w, i: F.embedding(i, w), lambda w, i: TF.embedding(i, w), _idx),
    Row("embedding[padding_idx]", lambda w, i: F.embedding(i, w, padding_idx=2) ** 2,
        lambda w, i: TF.embedding(i, w, padding_idx=2) ** 2, _idx,
        covers=("embedding_backward",), finite_diff=False),
    Row("scaled_dot_product_attention", F.scaled_dot_product_attention,
        TF.scaled_dot_product_attention,
        _s(((2, 3, 4), (2, 5, 4), (2, 5, 2)), ((1, 2, 2, 3), (1, 2, 4, 3), (1, 2, 4, 3))),
        covers=("sdpa", "sdpa_backward")),
    Row("scaled_dot_product_attention[causal]",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.5),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.5),
        _s(((2, 3, 4), (2, 3, 4), (2, 3, 2)), ((1, 4, 2), (1, 5, 2), (1, 5, 3)))),
    Row("scaled_dot_product_attention[masks]",
        lambda q, k, v, m: F.scaled_dot_product_attention(
            q, k, v, attn_mask=m.detach() > -0.5) + F.scaled_dot_product_attention(
            q, k, v, attn_mask=m.detach()),
        lambda q, k, v, m: TF.scaled_dot_product_attention(
            q, k, v, attn_mask=m.detach() > -0.5) + TF.scaled_dot_product_attention(
            q, k, v, attn_mask=m.detach()),
        lambda rng: [[rng.standard_normal(s) for s in ((2, 3, 4), (2, 3, 4), (2, 3, 2))] +
                     [np.abs(rng.standard_normal((3, 3)))]], diff=(0, 1, 2)),
]
IDS = [r.name for r in ROWS]

# dropout: PyTorch draws other random numbers, so its reference is the mask it used
DROPOUT = Row("dropout", lambda x: F.dropout(x, 0.4), None,
              _s(((50,),), ((4, 6),), ((2, 3, 5),)), covers=("dropout_mask",), seeded=True)


@pytest.mark.parametrize("row", ROWS + [DROPOUT], ids=IDS + ["dropout"])
def test_gradcheck(row, device, rng):
    optable.check_gradcheck(row, device, rng)


@pytest.mark.parametrize("row", ROWS + [DROPOUT], ids=IDS + ["dropout"])
def test_gradgradcheck(row, device, rng):
    optable.check_gradgradcheck(row, device, rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_torch(row, dtype, device, rng):
    optable.check_torch(row, device, rng, dtype)


@pytest.mark.parametrize("row", ROWS + [DROPOUT], ids=IDS + ["dropout"])
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    optable.check_jit(row, rng)


def test_every_normalization_op_has_a_row():
    missing = optable.op_names(normalization) - optable.covered(ROWS + [DROPOUT])
    assert not missing, f"normalization ops without a row: {sorted(missing)}"


def test_dropout_masks_scale_and_identities(device):
    x = ge.ones((4000,), device=device, requires_grad=True)
    ge.manual_seed(0)
    y = F.dropout(x, 0.25)
    v = y.numpy()
    assert set(np.unique(v)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((v == 0).mean() - 0.25) < 0.03
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), v)  # the gradient is the mask
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).numpy().any()
    ge.manual_seed(0)
    np.testing.assert_array_equal(F.dropout(x, 0.25).numpy(), v)  # seeded: reproducible
    with pytest.raises(ValueError, match="dropout: probability"):
        F.dropout(x, 1.5)


def test_jit_replay_draws_a_fresh_dropout_mask_each_call():
    step = ge.jit(lambda x: F.dropout(x, 0.5) + F.dropout(x, 0.5))
    x = ge.ones((256,))
    first, second = step(x).numpy(), step(x).numpy()
    assert step.traces == 1
    assert not np.array_equal(first, second)
    assert set(np.unique(first)) <= {0.0, 2.0, 4.0} and (first == 2.0).any()  # two masks


def test_batch_norm_updates_running_statistics_as_torch(device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 2, 2))
    rm, rv = ge.zeros(3, dtype="float64", device=device), ge.ones(3, dtype="float64",
                                                                   device=device)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for k in range(3):
        xs = x + k
        F.batch_norm(ge.tensor(xs, device=device, requires_grad=True), rm, rv,
                     training=True, momentum=0.2)
        TF.batch_norm(torch.tensor(xs), trm, trv, training=True, momentum=0.2)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12)
    assert rm._version == 6  # two in-place writes per step, none recorded for a gradient
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(ge.ones((1, 3)), rm, rv, training=True)


def test_embedding_padding_row_gets_no_gradient_and_repeats_accumulate():
    w = ge.tensor(np.ones((4, 2)), requires_grad=True)
    F.embedding(ge.tensor([[1, 1, 3], [0, 1, 3]]), w, padding_idx=3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [3, 3], [0, 0], [0, 0]])
    with pytest.raises(IndexError, match="embedding: index 4 .*4 embeddings"):
        F.embedding(ge.tensor([4]), w)
    with pytest.raises(ge.DTypeError, match="embedding: indices must be integers"):
        F.embedding(ge.tensor([1.0]), w)


def test_norm_errors_name_the_op_and_shapes():
    with pytest.raises(ge.ShapeError, match=r"layer_norm: .*\(2, 3\).*\(4,\)"):
        F.layer_norm(ge.ones((2, 3)), (4,))
    with pytest.raises(ge.ShapeError, match=r"batch_norm: weight of shape \(2,\)"):
        F.batch_norm(ge.ones((2, 3)), None, None, ge.ones(2), training=True)
    with pytest.raises(ge.ShapeError, match=r"scaled_dot_product_attention: .*\(2, 3\)"):
        F.scaled_dot_product_attention(ge.ones((2, 3)), ge.ones((2, 4)), ge.ones((2, 4)))


# ------------------------------------------------ the fused paths of layer_norm and attention

def _torch_grads(fn, arrays, g):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(torch.tensor(g))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


def _ge_grads(fn, arrays, g, device):
    ts = [ge.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(ge.tensor(g, device=device))
    return out.numpy(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-5), ("float64", 1e-10)])
@pytest.mark.parametrize("affine", ["wb", "w", "b", "none"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "large_mean"])
def test_layer_norm_fast_and_general_paths_match_torch(dtype, tol, affine, layout, device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 40)).astype(dtype)
    if layout == "transposed":  # not C-contiguous: the general path
        x = np.ascontiguousarray(x.T).T
    elif layout == "large_mean":  # the variance from x - mean: no cancellation
        x = x + 300
        tol = max(tol, 3e-4)  # float32 holds x to ~2e-5 here: torch is no closer to exact
    w, b = (rng.standard_normal(x.shape[-1:]).astype(dtype) for _ in range(2))
    g = rng.standard_normal(x.shape).astype(dtype)
    arrays = [x] + ([w] if "w" in affine else []) + ([b] if "b" in affine else [])

    def call(lib, ts):
        xs, rest = ts[0], list(ts[1:])
        wt = rest.pop(0) if "w" in affine else None
        bt = rest.pop(0) if "b" in affine else None
        return lib.layer_norm(xs, (x.shape[-1],), wt, bt)

    want, wgrads = _torch_grads(lambda *ts: call(TF, ts), arrays, g)
    got, ggrads = _ge_grads(lambda *ts: call(F, ts), arrays, g, device)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    for a, e in zip(ggrads, wgrads):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, e, rtol=tol * 10, atol=tol * 10)


def test_layer_norm_fast_path_edges(device):
    # 0 rows, float16 (statistics in float32), a second backward through the same graph
    x = ge.zeros((0, 8), device=device, requires_grad=True)
    F.layer_norm(x, (8,)).sum().backward()
    assert x.grad.shape == (0, 8)
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 16))
    h = ge.tensor(a.astype(np.float16), device=device, requires_grad=True)
    y = F.layer_norm(h, (16,))
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.numpy(), TF.layer_norm(torch.tensor(a), (16,)).numpy(),
                               atol=5e-3)
    x = ge.tensor(a.astype(np.float32), device=device, requires_grad=True)
    y = F.layer_norm(x, (16,), ge.ones((16,), device=device))
    g = ge.tensor(rng.standard_normal((4, 16)).astype(np.float32), device=device)
    y.backward(g, retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    y.backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), first)


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-5), ("float64", 1e-10)])
@pytest.mark.parametrize("kind", ["plain", "causal", "causal_wide", "causal_tall", "scale",
                                  "mask", "float_mask", "broadcast", "noncontiguous"])
def test_attention_fused_and_general_paths_match_torch(dtype, tol, kind, device):
    rng = np.random.default_rng(3)
    L, S = {"causal_wide": (3, 6), "causal_tall": (6, 3)}.get(kind, (5, 7))
    shapes = [(2, 3, L, 4), (2, 3, S, 4), (2, 3, S, 5)]
    if kind == "broadcast":
        shapes[1], shapes[2] = (1, 3, S, 4), (1, 3, S, 5)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    if kind == "noncontiguous":
        arrays[0] = np.ascontiguousarray(arrays[0].swapaxes(-1, -2)).swapaxes(-1, -2)
    mask = rng.standard_normal((L, S)) > -0.5
    mask[:, 0] = True
    kw = {"causal": dict(is_causal=True), "causal_wide": dict(is_causal=True),
          "causal_tall": dict(is_causal=True), "scale": dict(scale=0.3)}.get(kind, {})

    def call(lib, wrap, ts):
        m = {}
        if kind == "mask":
            m = dict(attn_mask=wrap(mask))
        elif kind == "float_mask":
            m = dict(attn_mask=wrap(np.where(mask, 0.5, -2.0).astype(dtype)))
        return lib.scaled_dot_product_attention(*ts, **kw, **m)

    g = rng.standard_normal(shapes[0][:-1] + (5,)).astype(dtype)
    want, wgrads = _torch_grads(lambda *ts: call(TF, torch.tensor, ts), arrays, g)
    got, ggrads = _ge_grads(
        lambda *ts: call(F, lambda a: ge.tensor(a, device=device), ts), arrays, g, device)
    if kind == "causal_tall":  # rows with no key: NaN in both
        ok = ~np.isnan(want)
        assert np.array_equal(np.isnan(got), ~ok)
        got, want = got[ok], want[ok]
        wgrads, ggrads = wgrads[:1], ggrads[:1]  # only dq has a row-wise NaN pattern
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    for a, e in zip(ggrads, wgrads):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(np.nan_to_num(a), np.nan_to_num(e), rtol=tol * 10,
                                   atol=tol * 10)


def test_attention_fused_path_gradgradcheck_and_causal_tall(device):
    rng = np.random.default_rng(4)
    ts = [ge.tensor(rng.standard_normal(s), device=device, requires_grad=True)
          for s in ((2, 3, 4), (2, 4, 4), (2, 4, 2))]
    assert ge.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                        ts)
    assert ge.gradgradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), ts)
