"""Recurrent, attention, transformer and embedding modules against torch.nn: the cases
where gradengine once differed (values, in-place state, the exceptions raised)."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- Embedding


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0)])
def test_embedding_max_norm_renormalises_looked_up_rows_in_place_as_torch(max_norm, norm_type):
    w = (RNG.standard_normal((6, 4)) * 2).astype("float32")
    idx = np.array([[0, 2], [2, 5]])
    theirs = torch.nn.Embedding(6, 4, max_norm=max_norm, norm_type=norm_type)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
    ours = nn.Embedding(6, 4, max_norm=max_norm, norm_type=norm_type)
    ours.load_state_dict({"weight": w})
    up = RNG.standard_normal((2, 2, 4)).astype("float32")
    t_out, g_out = theirs(torch.tensor(idx)), ours(ge.tensor(idx))
    (t_out * torch.tensor(up)).sum().backward()
    (g_out * ge.tensor(up)).sum().backward()
    np.testing.assert_allclose(g_out.numpy(), t_out.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-6, atol=1e-6)  # rows 1, 3 and 4 untouched
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-6)
    assert repr(ours) == repr(theirs)


def test_embedding_max_norm_bumps_the_version_and_a_bad_index_changes_nothing():
    emb = nn.Embedding(4, 3, max_norm=0.1)
    saved = (emb.weight ** 2).sum()  # pow saved the weight before the renorm
    emb(ge.tensor([1]))
    with pytest.raises(ge.GraphError, match="modified in place"):
        saved.backward()
    before = emb.weight.numpy().copy()
    with pytest.raises(IndexError, match="(?i)embedding: index -1"):
        emb(ge.tensor([0, -1]))
    np.testing.assert_array_equal(emb.weight.numpy(), before)


def test_embedding_max_norm_under_jit_renormalises_the_rows_of_each_call():
    eager, jitted = nn.Embedding(6, 3, max_norm=0.5), nn.Embedding(6, 3, max_norm=0.5)
    jitted.load_state_dict(eager.state_dict())
    row5 = eager.weight.numpy()[5].copy()

    def step(idx, emb):
        loss = emb(idx).sum()
        loss.backward()
        return loss.detach()

    fast = ge.jit(step)
    for idx in ([0, 1], [2, 3], [4, 1]):  # one signature: replayed for new indices (not 5)
        step(ge.tensor(idx), eager)
        fast(ge.tensor(idx), jitted)
    np.testing.assert_array_equal(jitted.weight.numpy(), eager.weight.numpy())
    assert np.linalg.norm(eager.weight.numpy()[:5], axis=1).max() <= 0.5 + 1e-6
    np.testing.assert_array_equal(eager.weight.numpy()[5], row5)


# ---------------------------------------------------------------- MultiheadAttention errors

def _bool(x):
    return np.array(x, dtype=bool)


_BATCHED = [  # torch's test_multihead_attention._test_multihead_attn_invalid_shape_impl
    ("expected `key` and `value` to be 3-D but found 2-D and 3-D tensors respectively",
     lambda q: ((q, q[0], q), {})),
    ("expected `key` and `value` to be 3-D but found 3-D and 2-D tensors respectively",
     lambda q: ((q, q, q[0]), {})),
    ("expected `key_padding_mask` to be `None` or 2-D but found 1-D tensor instead",
     lambda q: ((q, q, q), {"key_padding_mask": _bool([0, 0, 1, 1])})),
    ("expected `attn_mask` to be `None`, 2-D or 3-D but found 1-D tensor instead",
     lambda q: ((q, q, q), {"attn_mask": _bool([0, 0, 1, 1])})),
    ("query should be unbatched 2D or batched 3D tensor but received 4-D query tensor",
     lambda q: ((q[None], q[None], q[None]), {})),
]
_UNBATCHED = [
    ("expected `key` and `value` to be 2-D but found 3-D and 2-D tensors respectively",
     lambda q: ((q[0], q, q[0]), {})),
    ("expected `key` and `value` to be 2-D but found 2-D and 3-D tensors respectively",
     lambda q: ((q[0], q[0], q), {})),
    ("expected `key_padding_mask` to be `None` or 1-D but found 2-D tensor instead",
     lambda q: ((q[0], q[0], q[0]), {"key_padding_mask": _bool([[0, 0, 1, 1] * 2])})),
    (r"Expected `attn_mask` shape to be \(4, 4, 4\)",
     lambda q: ((q[0], q[0], q[0]), {"attn_mask": np.ones((5, 4, 4), bool)})),
]


@pytest.mark.parametrize("match, make", _BATCHED + _UNBATCHED)
def test_multihead_attention_shape_errors_are_torchs_assertions(match, make):
    q = RNG.standard_normal((4, 4, 4)).astype("float32")
    for lib, mha in ((torch, torch.nn.MultiheadAttention(4, 4)),
                     (ge, nn.MultiheadAttention(4, 4))):
        args, kw = make(q)
        args = [lib.tensor(a) for a in args]
        kw = {k: lib.tensor(v) for k, v in kw.items()}
        with pytest.raises(AssertionError, match=match):
            mha(*args, **kw)


def test_multihead_attention_rejects_integer_masks_and_indivisible_heads_as_torch():
    q = ge.ones((3, 2, 4))
    for name, mask in (("key_padding_mask", np.zeros((2, 3), "int64")),
                       ("attn_mask", np.zeros((3, 3), "int64"))):
        with pytest.raises(AssertionError, match=f"only bool and floating types of {name}"):
            torch.nn.MultiheadAttention(4, 2)(*[torch.ones(3, 2, 4)] * 3,
                                              **{name: torch.tensor(mask)})
        with pytest.raises(ge.DTypeError, match=f"only bool and floating types of {name}"):
            nn.MultiheadAttention(4, 2)(q, q, q, **{name: mask})
    for make in (torch.nn.MultiheadAttention, nn.MultiheadAttention):
        with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
            make(8, 3)
    with pytest.raises(AssertionError, match="TransformerEncoderLayer: src of shape"):
        nn.TransformerEncoderLayer(8, 2, 16)(ge.ones((4, 2, 9)))
    with pytest.raises(RuntimeError, match="activation should be"):
        nn.TransformerEncoderLayer(8, 2, 16, activation="tanh")


# ---------------------------------------------------------------- recurrent layers


def _raises_as_torch(theirs, ours, error, match):
    with pytest.raises(error):
        theirs()
    with pytest.raises(error, match=match):
        ours()


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_recurrent_input_errors_have_torchs_types(name):
    t_mod, g_mod = getattr(torch.nn, name)(3, 4), getattr(nn, name)(3, 4)
    _raises_as_torch(lambda: t_mod(torch.zeros(0, 2, 3)), lambda: g_mod(ge.zeros((0, 2, 3))),
                     RuntimeError, f"{name}: expected sequence length to be larger than 0")
    x64 = RNG.standard_normal((5, 2, 3))
    _raises_as_torch(lambda: t_mod(torch.tensor(x64)), lambda: g_mod(ge.tensor(x64)),
                     ValueError, rf"{name}: input dtype \(float64\) does not match weight")


def test_recurrent_constructor_errors_and_dropout_warning_are_torchs():
    for kw, error in ((dict(hidden_size=4.0), TypeError), (dict(num_layers=1.5), TypeError),
                      (dict(proj_size=2.0), TypeError), (dict(dropout=True), ValueError),
                      (dict(input_size=0), ValueError)):
        args = dict(dict(input_size=3, hidden_size=4), **kw)
        _raises_as_torch(lambda a=args: torch.nn.LSTM(**a), lambda a=args: nn.LSTM(**a), error,
                         "LSTM: ")
    for make in (torch.nn.GRU, nn.GRU):
        with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater"):
            make(3, 4, dropout=0.5)


def test_lstm_cell_refuses_a_single_tensor_as_hx_and_rnn_cell_repr_names_relu():
    _raises_as_torch(lambda: torch.nn.LSTMCell(3, 4)(torch.zeros(2, 3), torch.zeros(2, 4)),
                     lambda: nn.LSTMCell(3, 4)(ge.zeros((2, 3)), ge.zeros((2, 4))), TypeError,
                     r"LSTMCell: hx must be a tuple \(h, c\)")
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(3, 4, nonlinearity="relu"))


# ---------------------------------------------------------------- nn.utils.rnn


def test_rnn_utils_argument_errors_are_runtime_errors_as_torchs():
    from torch.nn.utils import rnn as trnn

    from gradengine.nn.utils import rnn as grnn
    x = np.zeros((4, 3, 2), "float32")
    _raises_as_torch(lambda: trnn.pack_padded_sequence(torch.tensor(x), [2, 4, 1]),
                     lambda: grnn.pack_padded_sequence(ge.tensor(x), [2, 4, 1]),
                     RuntimeError, "not sorted in decreasing order")
    _raises_as_torch(lambda: trnn.pad_sequence([torch.ones(2)], padding_side="up"),
                     lambda: grnn.pad_sequence([ge.ones(2)], padding_side="up"),
                     RuntimeError, "padding_side must be 'left' or 'right'")
    _raises_as_torch(lambda: trnn.pad_sequence([]), lambda: grnn.pad_sequence([]),
                     RuntimeError, "empty list of sequences")


def test_embedding_constructor_and_index_errors_have_torchs_types():
    for kw in (dict(padding_idx=6), dict(padding_idx=-7)):
        _raises_as_torch(lambda k=kw: torch.nn.Embedding(6, 4, **k),
                         lambda k=kw: nn.Embedding(6, 4, **k), AssertionError,
                         "Embedding: padding_idx .* is out of range")
    _raises_as_torch(lambda: torch.nn.Embedding(6, 4, _weight=torch.zeros(5, 4)),
                     lambda: nn.Embedding(6, 4, _weight=np.zeros((5, 4), "float32")),
                     AssertionError, r"Embedding: _weight of shape \(5, 4\)")
    _raises_as_torch(lambda: torch.nn.Embedding(6, 4)(torch.tensor([1.0])),
                     lambda: nn.Embedding(6, 4)(ge.tensor([1.0])), RuntimeError,
                     "Embedding: indices must be integers")


def test_functional_embedding_max_norm_as_torch():
    # torch's test_embedding_max_norm_backward: the rows looked up renormalised, the
    # gradient counting each index
    w0 = np.random.default_rng(3).standard_normal((4, 4)) * 2
    idx = [0, 1, 2, 2]
    tw = torch.tensor(w0, requires_grad=True)
    gw = ge.tensor(w0, requires_grad=True)
    with torch.no_grad():
        t_base = tw.detach().clone()
    g_base = gw.detach().clone()
    tout = torch.nn.functional.embedding(torch.tensor(idx), t_base, max_norm=1.0)
    gout = nn.functional.embedding(ge.tensor(idx), g_base, max_norm=1.0)
    np.testing.assert_allclose(gout.numpy(), tout.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_base.numpy(), t_base.numpy(), rtol=1e-12)
    nn.functional.embedding(ge.tensor(idx), gw, max_norm=1.0).sum().backward()
    torch.nn.functional.embedding(torch.tensor(idx), tw, max_norm=1.0).sum().backward()
    np.testing.assert_allclose(gw.grad.numpy(), tw.grad.numpy())
