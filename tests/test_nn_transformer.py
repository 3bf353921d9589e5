"""nn.MultiheadAttention and the Transformer modules against torch.nn on torch's own initial
weights: outputs, attention weights and every gradient (float32) with bool and float masks,
float64 gradcheck, dropout, and the error contract."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from gradengine import nn
from module_oracle import load_from_torch, run_both, swap_params

torch = pytest.importorskip("torch")

TOL = 2e-5
RNG = np.random.default_rng(0)


def _mha_pair(**kw):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(**kw)
    ours = nn.MultiheadAttention(**kw)
    load_from_torch(ours, theirs)
    return ours, theirs


def _arrays(*shapes):
    return [RNG.standard_normal(s).astype(np.float32) for s in shapes]


_BOOL_MASK = np.triu(np.ones((5, 6), bool), 2)
_PADDING = np.array([[False] * 4 + [True] * 2, [False] * 6, [False] * 5 + [True]])

MHA_CASES = [
    (dict(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)], {}),
    (dict(embed_dim=8, num_heads=2, batch_first=True), [(3, 5, 8), (3, 6, 8), (3, 6, 8)],
     dict(average_attn_weights=False)),
    (dict(embed_dim=8, num_heads=2, kdim=5, vdim=7), [(5, 3, 8), (6, 3, 5), (6, 3, 7)], {}),
    (dict(embed_dim=8, num_heads=4), [(5, 8), (6, 8), (6, 8)], {}),
    (dict(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
     dict(attn_mask=_BOOL_MASK, key_padding_mask=_PADDING)),
    (dict(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
     dict(attn_mask=_BOOL_MASK, key_padding_mask=_PADDING, need_weights=False)),
    (dict(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
     dict(attn_mask=RNG.standard_normal((6, 5, 6)).astype(np.float32))),
    (dict(embed_dim=8, num_heads=2), [(5, 3, 8), (6, 3, 8), (6, 3, 8)],
     dict(key_padding_mask=np.where(_PADDING, -1e9, 0.0).astype(np.float32))),
    (dict(embed_dim=8, num_heads=2, bias=False, add_bias_kv=True, add_zero_attn=True),
     [(5, 3, 8), (6, 3, 8), (6, 3, 8)], dict(attn_mask=_BOOL_MASK, key_padding_mask=_PADDING)),
    (dict(embed_dim=8, num_heads=2), [(5, 3, 8)] * 3,
     dict(attn_mask=np.triu(np.ones((5, 5), bool), 1), is_causal=True)),
    (dict(embed_dim=8, num_heads=2), [(5, 8), (6, 8), (6, 8)],
     dict(attn_mask=_BOOL_MASK, key_padding_mask=_PADDING[0], average_attn_weights=False)),
]


@pytest.mark.parametrize("kw,shapes,fkw", MHA_CASES)
def test_multihead_attention_matches_torch_outputs_weights_and_gradients(kw, shapes, fkw):
    ours, theirs = _mha_pair(**kw)
    diffs, outs = run_both(ours, theirs, _arrays(*shapes), torch, RNG, **fkw)
    assert len(outs) == (1 if fkw.get("need_weights") is False else 2)
    assert max(diffs.values()) < TOL, diffs


def test_multihead_attention_without_weights_returns_none_and_the_same_output():
    ours, _ = _mha_pair(embed_dim=8, num_heads=2)
    q, k = (ge.tensor(a) for a in _arrays((4, 2, 8), (5, 2, 8)))
    with_weights, w = ours(q, k, k)
    without, none = ours(q, k, k, need_weights=False)
    assert none is None and w.shape == (2, 4, 5)
    np.testing.assert_allclose(without.numpy(), with_weights.numpy(), atol=1e-6)


def test_is_causal_without_a_mask_builds_the_causal_mask():
    ours, _ = _mha_pair(embed_dim=8, num_heads=2)
    x = ge.tensor(_arrays((5, 2, 8))[0])
    causal, w = ours(x, x, x, is_causal=True)
    masked, _ = ours(x, x, x, attn_mask=np.triu(np.ones((5, 5), bool), 1))
    np.testing.assert_array_equal(causal.numpy(), masked.numpy())
    assert (np.triu(w.numpy(), 1) == 0).all() and (w.numpy()[:, 0, 0] == 1).all()


def test_state_dict_keys_and_shapes_are_torchs():
    for kw in (dict(), dict(kdim=3, vdim=5), dict(bias=False, add_bias_kv=True)):
        theirs = torch.nn.MultiheadAttention(8, 2, **kw)
        ours = nn.MultiheadAttention(8, 2, **kw)
        assert {k: tuple(v.shape) for k, v in theirs.state_dict().items()} == \
            {k: v.shape for k, v in ours.state_dict().items()}
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    tlayer = torch.nn.TransformerEncoderLayer(8, 2, 16)
    assert {k: tuple(v.shape) for k, v in tlayer.state_dict().items()} == \
        {k: v.shape for k, v in layer.state_dict().items()}
    nn.utils.load_torch_state_dict(layer, tlayer.state_dict())  # nothing transposed
    np.testing.assert_array_equal(layer.linear1.weight.numpy(),
                                  tlayer.linear1.weight.detach().numpy())


def test_multihead_attention_initialisation_follows_torch():
    ge.manual_seed(0)
    mha = nn.MultiheadAttention(64, 4)
    w = mha.in_proj_weight.numpy()
    bound = np.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ over (3E, E)
    assert np.abs(w).max() <= bound and w.std() > 0.5 * bound / np.sqrt(3)
    assert (mha.in_proj_bias.numpy() == 0).all() and (mha.out_proj.bias.numpy() == 0).all()
    assert np.abs(mha.out_proj.weight.numpy()).max() <= 1 / 8


@pytest.mark.parametrize("kw", [dict(), dict(kdim=3, vdim=2), dict(add_bias_kv=True,
                                                                   add_zero_attn=True)])
def test_multihead_attention_passes_float64_gradcheck(kw):
    ge.manual_seed(0)
    mha = nn.MultiheadAttention(4, 2, **kw).to("float64")
    q = ge.randn(3, 2, 4, dtype="float64", requires_grad=True)
    k = ge.randn(2, 2, kw.get("kdim", 4), dtype="float64", requires_grad=True)
    v = ge.randn(2, 2, kw.get("vdim", 4), dtype="float64", requires_grad=True)
    mask = np.array([[False, True], [False, False], [True, False]])

    def fn(q, k, v, *ps):
        swap_params(mha, ps)
        out, w = mha(q, k, v, attn_mask=mask)
        return F.concatenate([out.reshape(-1), w.reshape(-1)])
    assert ge.gradcheck(fn, [q, k, v, *mha.parameters()])


def test_attention_dropout_only_in_training():
    ge.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ge.tensor(_arrays((6, 2, 8))[0])
    _, w_train = mha(x, x, x, average_attn_weights=False)
    mha.eval()
    _, w_eval = mha(x, x, x, average_attn_weights=False)
    dropped = w_train.numpy() == 0
    assert 0.3 < dropped.mean() < 0.7
    np.testing.assert_allclose(w_train.numpy()[~dropped], 2 * w_eval.numpy()[~dropped],
                               rtol=1e-6)
    np.testing.assert_allclose(w_eval.numpy().sum(-1), 1, rtol=1e-6)


def _layer_kw(**kw):
    return dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, **kw)


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True, norm_first=True,
                                              activation="gelu"),
                                dict(bias=False, activation=F.tanh, layer_norm_eps=1e-3)])
def test_encoder_layer_and_encoder_match_torch(kw):
    tact = torch.tanh if kw.get("activation") is F.tanh else kw.get("activation", "relu")
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(**_layer_kw(**{**kw, "activation": tact})), 2,
        norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(**_layer_kw(**kw)), 2,
                                 norm=nn.LayerNorm(8))
    load_from_torch(ours, theirs)
    shape = (3, 5, 8) if kw.get("batch_first") else (5, 3, 8)
    padding = np.zeros((3, 5), bool)
    padding[0, 3:] = True
    mask = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    diffs, _ = run_both(ours, theirs, _arrays(shape), torch, RNG, mask=mask,
                        src_key_padding_mask=padding)
    assert max(diffs.values()) < 5 * TOL, diffs
    single = ours.layers[0]
    diffs, _ = run_both(single, theirs.layers[0], _arrays(shape), torch, RNG)
    assert max(diffs.values()) < 5 * TOL, diffs


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True, norm_first=True)])
def test_decoder_and_full_transformer_match_torch(kw):
    torch.manual_seed(0)
    theirs = torch.nn.Transformer(num_encoder_layers=2, num_decoder_layers=2, **_layer_kw(**kw))
    ours = nn.Transformer(num_encoder_layers=2, num_decoder_layers=2, **_layer_kw(**kw))
    load_from_torch(ours, theirs)
    src, tgt = ((3, 4, 8), (3, 5, 8)) if kw else ((4, 3, 8), (5, 3, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(
        mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    memory_padding = np.zeros((3, 4), bool)
    memory_padding[2, 2:] = True
    diffs, outs = run_both(ours, theirs, _arrays(src, tgt), torch, RNG, tgt_mask=mask.numpy(),
                           memory_key_padding_mask=memory_padding)
    assert outs[0].shape == tgt
    assert max(diffs.values()) < 5 * TOL, diffs


def test_transformer_initialises_every_matrix_glorot_uniform():
    ge.manual_seed(0)
    model = nn.Transformer(16, 2, 1, 1, 32)
    w = model.encoder.layers[0].linear1.weight.numpy()
    assert w.shape == (32, 16) and np.abs(w).max() <= np.sqrt(6 / 48)
    assert np.abs(w).max() > 0.9 * np.sqrt(6 / 48)


def test_encoder_layers_are_independent_deep_copies():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 3)
    ws = [layer.self_attn.in_proj_weight for layer in enc.layers]
    assert len({id(w) for w in ws}) == 3
    np.testing.assert_array_equal(ws[0].numpy(), ws[2].numpy())
    assert len(enc.state_dict()) == 3 * len(enc.layers[0].state_dict())


def test_encoder_layer_dropout_is_random_in_train_and_off_in_eval():
    ge.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3)
    x = ge.tensor(_arrays((5, 2, 8))[0])
    a, b = layer(x).numpy(), layer(x).numpy()
    assert a.shape == (5, 2, 8) and not np.allclose(a, b)
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


def test_encoder_layer_passes_float64_gradcheck():
    ge.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu").to("float64")
    x = ge.randn(3, 1, 4, dtype="float64", requires_grad=True)

    def fn(x, *ps):
        swap_params(layer, ps)
        return layer(x, src_mask=np.triu(np.ones((3, 3), bool), 1))
    assert ge.gradcheck(fn, [x, *layer.parameters()])


@pytest.mark.parametrize("call,error,match", [
    (lambda: nn.MultiheadAttention(10, 3), ValueError,
     r"MultiheadAttention: embed_dim=10 .*divisible by num_heads=3"),
    (lambda: nn.MultiheadAttention(8, 2)(ge.ones((5, 3, 6)), ge.ones((5, 3, 8)),
                                         ge.ones((5, 3, 8))),
     ge.ShapeError, r"MultiheadAttention: query \(5, 3, 6\).*embed_dim=8"),
    (lambda: nn.MultiheadAttention(8, 2)(ge.ones((5, 3, 8)), ge.ones((6, 3, 8)),
                                         ge.ones((7, 3, 8))),
     ge.ShapeError, r"MultiheadAttention: key \(6, 3, 8\) and value \(7, 3, 8\)"),
    (lambda: nn.MultiheadAttention(8, 2)(ge.ones((5, 3, 8)), ge.ones((6, 3, 8)),
                                         ge.ones((6, 3, 8)), attn_mask=np.ones((5, 5), bool)),
     ge.ShapeError, r"attn_mask of shape \(5, 5\) must be \(5, 6\) or \(6, 5, 6\)"),
    (lambda: nn.MultiheadAttention(8, 2)(ge.ones((5, 3, 8)), ge.ones((6, 3, 8)),
                                         ge.ones((6, 3, 8)),
                                         key_padding_mask=np.zeros((3, 5), bool)),
     ge.ShapeError, r"key_padding_mask of shape \(3, 5\) must be \(3, 6\)"),
    (lambda: nn.TransformerEncoderLayer(8, 2, 16)(ge.ones((5, 3, 4))), ge.ShapeError,
     r"TransformerEncoderLayer: src of shape \(5, 3, 4\)"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), ValueError,
     r"activation should be 'relu', 'gelu' or a callable, not 'tanh'"),
    (lambda: nn.Transformer(8, 2, 1, 1, 16)(ge.ones((4, 3, 8)), ge.ones((5, 2, 8))),
     ge.ShapeError, r"Transformer: src \(4, 3, 8\) and tgt \(5, 2, 8\)"),
])
def test_bad_inputs_raise_errors_naming_module_and_shapes(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_eval_encoder_with_padding_equals_torch_where_not_padded():
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2).eval()
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True),
                                 2).eval()
    load_from_torch(ours, theirs)
    x = _arrays((2, 5, 8))[0]
    padding = np.zeros((2, 5), bool)
    padding[0, 3:] = True
    with torch.no_grad():
        expected = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(padding)).numpy()
    got = ours(ge.tensor(x), src_key_padding_mask=ge.tensor(padding)).numpy()
    np.testing.assert_allclose(got[~padding], expected[~padding], atol=TOL)
    assert (expected[padding] == 0).all()  # torch's nested-tensor fast path (documented)
