"""nn.RNN / LSTM / GRU and their cells against torch.nn on torch's own initial weights:
outputs, final states and every gradient (float32), float64 gradcheck, dropout between
layers, the error contract, and an LSTM classifier trained eagerly and under ge.jit."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from gradengine import nn, optim
from module_oracle import load_from_torch, run_both, swap_params

torch = pytest.importorskip("torch")

TOL = 2e-5  # float32, sequences of a few steps

CONFIGS = [
    ("RNN", dict(input_size=3, hidden_size=4), (5, 2, 3)),
    ("RNN", dict(input_size=3, hidden_size=4, nonlinearity="relu", num_layers=2), (5, 2, 3)),
    ("RNN", dict(input_size=3, hidden_size=4, batch_first=True, bidirectional=True), (2, 5, 3)),
    ("LSTM", dict(input_size=3, hidden_size=4), (5, 2, 3)),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), (5, 2, 3)),
    ("LSTM", dict(input_size=3, hidden_size=4, batch_first=True, bias=False), (2, 5, 3)),
    ("LSTM", dict(input_size=3, hidden_size=5, proj_size=2, num_layers=2), (4, 2, 3)),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), (5, 3)),
    ("GRU", dict(input_size=3, hidden_size=4), (5, 2, 3)),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True,
                 batch_first=True), (2, 5, 3)),
    ("GRU", dict(input_size=3, hidden_size=4, bias=False), (6, 3)),
]


def _pair(name, kw, seed=0):
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, name)(**kw)
    ours = getattr(nn, name)(**kw)
    load_from_torch(ours, theirs)
    return ours, theirs


def _h0_shapes(kw, shape):
    dirs = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    out = kw.get("proj_size") or kw["hidden_size"]
    batch = () if len(shape) == 2 else (shape[0] if kw.get("batch_first") else shape[1],)
    return (layers * dirs, *batch, out), (layers * dirs, *batch, kw["hidden_size"])


@pytest.mark.parametrize("name,kw,shape", CONFIGS)
def test_recurrent_layer_matches_torch_outputs_and_every_gradient(name, kw, shape):
    ours, theirs = _pair(name, kw)
    rng = np.random.default_rng(1)
    diffs, outs = run_both(ours, theirs, [rng.standard_normal(shape).astype(np.float32)],
                           torch, rng)
    assert len(diffs) == 1 + 1 + 1 + (name == "LSTM") + len(list(ours.parameters()))
    assert max(diffs.values()) < TOL, diffs


@pytest.mark.parametrize("name,kw,shape", [c for c in CONFIGS if c[0] != "RNN" or
                                           c[1].get("bidirectional")])
def test_recurrent_layer_with_initial_state_matches_torch(name, kw, shape):
    ours, theirs = _pair(name, kw, seed=2)
    rng = np.random.default_rng(3)
    h_shape, c_shape = _h0_shapes(kw, shape)
    x = rng.standard_normal(shape).astype(np.float32)
    h0 = rng.standard_normal(h_shape).astype(np.float32)
    c0 = rng.standard_normal(c_shape).astype(np.float32)

    def call(mod):
        def f(x, h0, c0=None):
            return mod(x, (h0, c0) if c0 is not None else h0)
        f.named_parameters = mod.named_parameters
        return f
    arrays = [x, h0, c0] if name == "LSTM" else [x, h0]
    diffs, _ = run_both(call(ours), call(theirs), arrays, torch, rng)
    assert f"input {len(arrays) - 1} grad" in diffs  # the initial state got a gradient
    assert max(diffs.values()) < TOL, diffs


@pytest.mark.parametrize("name,kw", [("RNNCell", dict(nonlinearity="tanh")),
                                     ("RNNCell", dict(nonlinearity="relu", bias=False)),
                                     ("LSTMCell", {}), ("GRUCell", {}),
                                     ("GRUCell", dict(bias=False))])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cells_match_torch(name, kw, batched, with_state):
    ours, theirs = _pair(name, dict(input_size=3, hidden_size=4, **kw))
    rng = np.random.default_rng(4)
    lead = (2,) if batched else ()
    arrays = [rng.standard_normal((*lead, 3)).astype(np.float32)]
    if with_state:
        arrays += [rng.standard_normal((*lead, 4)).astype(np.float32)
                   for _ in range(2 if name == "LSTMCell" else 1)]

    def call(mod):
        def f(x, *state):
            if not state:
                return mod(x)
            return mod(x, tuple(state) if len(state) == 2 else state[0])
        f.named_parameters = mod.named_parameters
        return f
    diffs, outs = run_both(call(ours), call(theirs), arrays, torch, rng)
    assert outs[0].shape == (*lead, 4)
    assert max(diffs.values()) < TOL, diffs


@pytest.mark.parametrize("name,kw", [("LSTM", dict(num_layers=2, bidirectional=True,
                                                   proj_size=3)),
                                     ("GRU", dict(num_layers=2)), ("RNN", dict(bias=False)),
                                     ("LSTMCell", {}), ("GRUCell", {})])
def test_parameter_names_shapes_and_order_are_torchs(name, kw):
    theirs = getattr(torch.nn, name)(4, 5, **kw)
    ours = getattr(nn, name)(4, 5, **kw)
    assert [(n, tuple(p.shape)) for n, p in theirs.named_parameters()] == \
        [(n, p.shape) for n, p in ours.named_parameters()]
    nn.utils.load_torch_state_dict(ours, theirs.state_dict())  # no transposition either
    for n, p in ours.named_parameters():
        np.testing.assert_array_equal(p.numpy(), theirs.state_dict()[n].numpy())


def test_initialisation_is_uniform_within_one_over_sqrt_hidden():
    ge.manual_seed(0)
    lstm = nn.LSTM(8, 25, num_layers=2)
    values = np.concatenate([p.numpy().ravel() for p in lstm.parameters()])
    bound = 1 / np.sqrt(25)
    assert np.abs(values).max() <= bound
    assert abs(values.std() - bound / np.sqrt(3)) < 0.05 * bound  # U(-b, b): std b/sqrt(3)
    assert abs(values.mean()) < 0.05 * bound


@pytest.mark.parametrize("name,kw,shape", [
    ("RNN", dict(num_layers=2, bidirectional=True), (3, 2, 2)),
    ("LSTM", dict(num_layers=2, bidirectional=True), (3, 2, 2)),
    ("LSTM", dict(proj_size=1, batch_first=True), (2, 3, 2)),
    ("GRU", dict(num_layers=2, bidirectional=True), (3, 2)),
])
def test_recurrent_layer_passes_float64_gradcheck_for_input_and_parameters(name, kw, shape):
    ge.manual_seed(0)
    mod = getattr(nn, name)(2, 2, **kw).to("float64")
    params = list(mod.parameters())
    x = ge.randn(*shape, dtype="float64", requires_grad=True)

    def fn(x, *ps):
        swap_params(mod, ps)
        out, h = mod(x)
        return F.concatenate([out.reshape(-1)] + [t.reshape(-1) for t in
                                                  (h if isinstance(h, tuple) else (h,))])
    assert ge.gradcheck(fn, [x, *params])


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_pass_second_order_gradcheck(name):
    ge.manual_seed(0)
    cell = getattr(nn, name)(2, 2).to("float64")
    x = ge.randn(2, 2, dtype="float64", requires_grad=True)
    h = ge.randn(2, 2, dtype="float64", requires_grad=True)

    def fn(x, h):
        out = cell(x, (h, h * 0.5) if name == "LSTMCell" else h)
        return out[0] * out[1] if name == "LSTMCell" else out
    assert ge.gradgradcheck(fn, [x, h])


def test_dropout_between_layers_only_while_training():
    ge.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = ge.randn(6, 2, 3)
    lstm.eval()
    a, (ha, _) = lstm(x)
    b, _ = lstm(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    lstm.train()
    c, (hc, _) = lstm(x)
    assert c.shape == a.shape and hc.shape == ha.shape
    assert not np.allclose(c.numpy(), a.numpy())
    # the first layer's final state is computed before any dropout: the same in both modes
    np.testing.assert_allclose(hc.numpy()[0], ha.numpy()[0], rtol=0, atol=0)
    assert not np.allclose(hc.numpy()[1], ha.numpy()[1])


def test_dropout_zero_makes_train_and_eval_identical_and_eval_matches_torch():
    ours, theirs = _pair("GRU", dict(input_size=3, hidden_size=4, num_layers=3))
    x = np.random.default_rng(5).standard_normal((4, 2, 3)).astype(np.float32)
    train_out, _ = ours(ge.tensor(x))
    ours.eval()
    eval_out, _ = ours(ge.tensor(x))
    np.testing.assert_array_equal(train_out.numpy(), eval_out.numpy())
    ours2, theirs2 = _pair("GRU", dict(input_size=3, hidden_size=4, num_layers=3,
                                       dropout=0.3))
    ours2.eval()
    theirs2.eval()
    np.testing.assert_allclose(ours2(ge.tensor(x))[0].numpy(),
                               theirs2(torch.tensor(x))[0].detach().numpy(), atol=TOL)


def test_dropout_between_layers_zeroes_a_quarter_and_scales_the_rest():
    ge.manual_seed(0)
    rnn = nn.RNN(4, 200, num_layers=2, dropout=0.25, nonlinearity="relu", bias=False)
    # layer 1 as relu(its input): its output shows layer 0's output after the dropout
    rnn.weight_ih_l1.data[...] = np.eye(200, dtype=np.float32)
    rnn.weight_hh_l1.data[...] = 0
    x = ge.ones((1, 50, 4))
    train_out = rnn(x)[0].numpy()
    rnn.eval()
    eval_out = rnn(x)[0].numpy()
    alive = eval_out > 0
    kept = train_out > 0
    assert not (kept & ~alive).any()
    assert 0.7 < kept.sum() / alive.sum() < 0.8
    np.testing.assert_allclose(train_out[kept], eval_out[kept] / 0.75, rtol=1e-6)


@pytest.mark.parametrize("make,call,match", [
    (lambda: nn.LSTM(3, 4), lambda m: m(ge.ones((5, 2, 6))),
     r"LSTM: input of shape \(5, 2, 6\).*input_size=3"),
    (lambda: nn.GRU(3, 4, num_layers=2), lambda m: m(ge.ones((5, 2, 3)), ge.zeros((1, 2, 4))),
     r"GRU: h0 of shape \(1, 2, 4\).*\(2, 2, 4\)"),
    (lambda: nn.LSTM(3, 4), lambda m: m(ge.ones((5, 2, 3)), (ge.zeros((1, 2, 4)),
                                                             ge.zeros((1, 3, 4)))),
     r"LSTM: c0 of shape \(1, 3, 4\).*\(1, 2, 4\)"),
    (lambda: nn.RNN(3, 4), lambda m: m(ge.ones((5, 3)), ge.zeros((1, 2, 4))),
     r"RNN: h0 of shape \(1, 2, 4\).*unbatched.*\(1, 4\)"),
    (lambda: nn.RNN(3, 4), lambda m: m(ge.ones((2, 5, 2, 3))),
     r"RNN: .*2 \(unbatched\) or 3 dimensions.*\(2, 5, 2, 3\)"),
    (lambda: nn.LSTMCell(3, 4), lambda m: m(ge.ones((2, 3)), (ge.zeros((2, 4)),
                                                              ge.zeros((3, 4)))),
     r"LSTMCell: c of shape \(3, 4\).*\(2, 3\).*\(2, 4\)"),
    (lambda: nn.GRUCell(3, 4), lambda m: m(ge.ones((2, 5))),
     r"GRUCell: input of shape \(2, 5\).*input_size=3"),
])
def test_bad_shapes_raise_shape_error_naming_module_and_shapes(make, call, match):
    mod = make()
    before = {k: v.numpy().copy() for k, v in mod.state_dict().items()}
    with pytest.raises(ge.ShapeError, match=match):
        call(mod)
    for k, v in mod.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_bad_constructor_arguments_raise_value_error():
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"LSTM: proj_size must be in \(0, hidden_size=4\)"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match=r"GRU: dropout must be in \[0, 1\]"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size > 0"):
        nn.GRUCell(3, 0)
    with pytest.raises(TypeError, match=r"LSTM: hx must be a tuple \(h0, c0\)"):
        nn.LSTM(3, 4)(ge.ones((2, 1, 3)), ge.zeros((1, 1, 4)))


class _Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(2, 8, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


def _sequences(seed=0, n=32, length=6):
    """Class 1 when the sequence's first feature sums above zero."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, length, 2)).astype(np.float32)
    return x, (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)


def _train(jit, steps=15):
    ge.manual_seed(0)
    model = _Classifier()
    opt = optim.Adam(model.parameters(), lr=0.03)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    run = ge.jit(step) if jit else step
    x, y = _sequences()
    losses = [run(ge.tensor(x), ge.tensor(y)).item() for _ in range(steps)]
    return losses, model, run


def test_lstm_classifier_learns_with_adam():
    losses, model, _ = _train(jit=False, steps=40)
    assert losses[-1] < 0.5 * losses[0]
    x, y = _sequences(seed=1)
    with ge.no_grad():
        acc = (model(ge.tensor(x)).numpy().argmax(axis=1) == y).mean()
    assert acc > 0.75


def test_lstm_classifier_under_jit_equals_eager_bit_for_bit():
    eager, m1, _ = _train(jit=False)
    jitted, m2, run = _train(jit=True)
    assert run.traces == 1
    assert eager == jitted
    for (n, p1), (_, p2) in zip(m1.named_parameters(), m2.named_parameters()):
        np.testing.assert_array_equal(p1.numpy(), p2.numpy(), err_msg=n)
