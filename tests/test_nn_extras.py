"""The extra nn modules (gradengine/nn/extras.py) against torch.nn with the same weights,
the lazy modules, nn.Buffer, nn.utils (vectors, norms, weight_norm, spectral_norm), the
packed sequences of nn.utils.rnn and packed RNN / LSTM / GRU, and the module hooks."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from gradengine import nn, optim
from module_oracle import load_from_torch, run_both

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _close(diffs, tol=1e-5):
    assert max(diffs.values()) < tol, diffs


# ---------------------------------------------------------------- modules vs torch

@pytest.mark.parametrize("make, shapes", [
    (lambda m: m.Bilinear(3, 2, 4), [(5, 3), (5, 2)]),
    (lambda m: m.LocalResponseNorm(3, alpha=0.3, k=2.0), [(2, 5, 3, 3)]),
    (lambda m: m.ChannelShuffle(2), [(2, 4, 3)]),
    (lambda m: m.Softmax2d(), [(2, 3, 2, 2)]),
    (lambda m: m.RReLU(0.1, 0.3).eval(), [(3, 4)]),
    (lambda m: m.AlphaDropout(0.3).eval(), [(3, 4)]),
])
def test_module_matches_torch_with_the_same_weights(make, shapes, rng):
    theirs = make(torch.nn)
    ours = make(nn)
    load_from_torch(ours, theirs)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    diffs, _ = run_both(ours, theirs, arrays, torch, rng)
    _close(diffs)


def test_cross_map_lrn2d_forward_is_torchs_and_its_gradient_the_true_one(rng):
    x = rng.standard_normal((1, 5, 2, 2))
    m = nn.CrossMapLRN2d(3, alpha=0.3, beta=0.6, k=2.0)
    want = torch.nn.CrossMapLRN2d(3, alpha=0.3, beta=0.6, k=2.0)(torch.tensor(x))
    np.testing.assert_allclose(m(ge.tensor(x)).numpy(), want.numpy(), rtol=1e-12)
    # torch's own backward fails torch.autograd.gradcheck; ours is the derivative
    assert ge.gradcheck(m, [ge.tensor(x, requires_grad=True)])


def test_bilinear_state_dict_keys_shapes_and_init_bounds():
    m = nn.Bilinear(4, 2, 3)
    t = torch.nn.Bilinear(4, 2, 3)
    assert {k: v.shape for k, v in m.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t.state_dict().items()}
    assert np.abs(m.weight.numpy()).max() <= 0.5 and nn.Bilinear(4, 2, 3, bias=False).bias \
        is None


@pytest.mark.parametrize("kw, call", [
    (dict(mode="sum"), lambda m, i, o: m(i, o)),
    (dict(mode="mean", padding_idx=2), lambda m, i, o: m(i, o)),
    (dict(mode="max"), lambda m, i, o: m(i, o)),
    (dict(mode="sum", include_last_offset=True), lambda m, i, o: m(i, o)),
])
def test_embedding_bag_matches_torch(kw, call, rng):
    theirs = torch.nn.EmbeddingBag(7, 3, **kw)
    ours = nn.EmbeddingBag(7, 3, **kw)
    load_from_torch(ours, theirs)
    idx, off = np.array([1, 2, 2, 6, 0, 3]), np.array([0, 2, 2, 4])
    if kw.get("include_last_offset"):
        # the last offset must be len(indices): torch leaves rows of indices past it
        # with uninitialised gradient memory, so only this form has an oracle
        off = np.array([0, 2, 2, 4, 6])
    got = call(ours, ge.tensor(idx), ge.tensor(off))
    want = call(theirs, torch.tensor(idx), torch.tensor(off))
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-6)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-6)


def test_embedding_bag_per_sample_weights_padding_row_and_from_pretrained():
    bag = nn.EmbeddingBag(5, 2, padding_idx=1)
    assert not bag.weight.numpy()[1].any()
    w = np.arange(10.0, dtype=np.float32).reshape(5, 2)
    frozen = nn.EmbeddingBag.from_pretrained(ge.tensor(w), mode="sum")
    assert not frozen.weight.requires_grad
    out = frozen(ge.tensor([[0, 4], [3, 3]]), per_sample_weights=ge.tensor([[1.0, 2.0],
                                                                            [0.5, 0.5]]))
    np.testing.assert_allclose(out.numpy(), [[16, 19], [6, 7]])
    tfrozen = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), mode="sum")
    np.testing.assert_allclose(out.numpy(), tfrozen(torch.tensor([[0, 4], [3, 3]]),
                                                    per_sample_weights=torch.tensor(
                                                        [[1.0, 2.0], [0.5, 0.5]])).numpy())


@pytest.mark.parametrize("ours, theirs, args", [
    (lambda: nn.MultiMarginLoss(p=2, margin=0.5, weight=ge.tensor([1.0, 2.0, 0.5],
                                                                   dtype="float64")),
     lambda: torch.nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor(
        [1.0, 2.0, 0.5], dtype=torch.float64)),
     lambda r: [r.standard_normal((4, 3)), np.array([0, 2, 1, 1])]),
    (lambda: nn.MultiLabelMarginLoss(reduction="sum"),
     lambda: torch.nn.MultiLabelMarginLoss(reduction="sum"),
     lambda r: [r.standard_normal((2, 4)), np.array([[2, 0, -1, 3], [1, -1, 0, 0]])]),
    (lambda: nn.TripletMarginWithDistanceLoss(
        distance_function=lambda a, b: 1 - F.cosine_similarity(a, b), margin=0.5),
     lambda: torch.nn.TripletMarginWithDistanceLoss(
        distance_function=lambda a, b: 1 - TF.cosine_similarity(a, b), margin=0.5),
     lambda r: [r.standard_normal((3, 4)) for _ in range(3)]),
])
def test_loss_modules_match_torch(ours, theirs, args, rng):
    arrays = args(rng)
    gx = [ge.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    tx = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    got, want = ours()(*gx), theirs()(*tx)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10)
    got.backward()
    want.backward()
    for g, t in zip(gx, tx):
        if t.grad is not None:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    m = ours()
    assert set(m.state_dict()) == set(theirs().state_dict())


def test_alpha_dropout_modules_train_and_eval():
    x = ge.randn(50, 20)
    drop = nn.FeatureAlphaDropout(0.5)
    assert drop(x.reshape(10, 5, 20)).shape == (10, 5, 20)
    assert drop.eval()(x) is x
    assert (nn.AlphaDropout(0.2)(x).numpy() != x.numpy()).any()


# ---------------------------------------------------------------- lazy modules

@pytest.mark.parametrize("lazy, plain, shape", [
    (lambda: nn.LazyLinear(4), lambda n: nn.Linear(n, 4), (2, 3)),
    (lambda: nn.LazyConv1d(4, 3, padding=1), lambda n: nn.Conv1d(n, 4, 3, padding=1),
     (2, 3, 5)),
    (lambda: nn.LazyConv2d(2, (2, 3), stride=2), lambda n: nn.Conv2d(n, 2, (2, 3), stride=2),
     (1, 3, 5, 6)),
    (lambda: nn.LazyConvTranspose1d(2, 3), lambda n: nn.ConvTranspose1d(n, 2, 3), (2, 3, 4)),
    (lambda: nn.LazyConvTranspose2d(2, 2, stride=2),
     lambda n: nn.ConvTranspose2d(n, 2, 2, stride=2), (1, 3, 2, 2)),
    (lambda: nn.LazyBatchNorm1d(), lambda n: nn.BatchNorm1d(n), (4, 3)),
    (lambda: nn.LazyBatchNorm2d(momentum=0.2), lambda n: nn.BatchNorm2d(n, momentum=0.2),
     (2, 3, 2, 2)),
    (lambda: nn.LazyInstanceNorm1d(track_running_stats=False),
     lambda n: nn.InstanceNorm1d(n, affine=True), (2, 3, 4)),
    (lambda: nn.LazyInstanceNorm2d(),  # torch's lazy defaults: affine, running statistics
     lambda n: nn.InstanceNorm2d(n, affine=True, track_running_stats=True), (2, 3, 2, 2)),
])
def test_lazy_module_becomes_the_plain_one_drawn_alike(lazy, plain, shape):
    ge.manual_seed(5)
    m = lazy()
    assert all(isinstance(p, nn.UninitializedParameter) for p in m.parameters())
    assert m.has_uninitialized_params() == bool(m.parameters() + m.buffers())
    x = ge.randn(*shape)
    ge.manual_seed(5)
    y = m(x)
    ge.manual_seed(5)
    ref = plain(shape[1] if len(shape) > 1 else shape[0])
    assert type(m) is type(ref)
    assert not any(isinstance(p, nn.UninitializedParameter) for p in m.parameters())
    np.testing.assert_allclose(y.numpy(), ref(x).numpy(), rtol=1e-6)
    assert [k for k in m.state_dict()] == [k for k in ref.state_dict()]
    for k, v in ref.state_dict().items():  # the running statistics updated alike too
        np.testing.assert_array_equal(m.state_dict()[k], v, err_msg=k)
    assert repr(m) == repr(ref)


def test_lazy_linear_keeps_gradengines_layout_and_an_early_optimizer_works():
    m = nn.LazyLinear(2)
    opt = optim.SGD(m.parameters(), lr=0.5)  # built before the first call
    w_obj = m.weight
    x = ge.randn(5, 3)
    m(x).sum().backward()
    assert m.weight is w_obj and m.weight.shape == (3, 2)  # (in, out), as nn.Linear
    before, grad = m.weight.numpy().copy(), m.weight.grad.numpy()
    np.testing.assert_allclose(grad, np.repeat(x.numpy().sum(0)[:, None], 2, 1), rtol=1e-6)
    opt.step()
    np.testing.assert_allclose(m.weight.numpy(), before - 0.5 * grad, rtol=1e-6)
    assert m.get_config()["in_features"] == 3


def test_lazy_module_loads_a_state_dict_and_matches_torch_lazy():
    tm = torch.nn.LazyConv2d(2, 3)
    tm(torch.zeros(1, 4, 5, 5))
    m = nn.LazyConv2d(2, 3)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert type(m) is nn.Conv2d and m.in_channels == 4
    x = np.random.default_rng(0).standard_normal((1, 4, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(m(ge.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    lazy_bn = nn.LazyBatchNorm1d()
    with pytest.raises(ge.ShapeError):
        lazy_bn.load_state_dict({"weight": np.ones(3), "bias": np.ones(4),
                                 "running_mean": np.ones(3), "running_var": np.ones(3),
                                 "num_batches_tracked": np.array(0)})
    assert lazy_bn.has_uninitialized_params()


def test_uninitialized_parameter_moves_with_the_module_and_says_what_it_is():
    m = nn.LazyLinear(3).to("float64")
    assert "UninitializedParameter" in repr(m.weight)
    m(ge.randn(2, 4, dtype="float64"))
    assert m.weight.dtype == np.float64


# ---------------------------------------------------------------- Buffer, utils

def test_buffer_assignment_registers_a_buffer():
    m = nn.Module()
    m.stat = nn.Buffer(ge.zeros(3))
    m.tmp = nn.Buffer(ge.ones(2), persistent=False)
    assert list(m.state_dict()) == ["stat"]
    assert [n for n, _ in m.named_buffers()] == ["stat", "tmp"]
    assert list(m.parameters()) == []


def test_parameters_to_vector_and_back():
    m = nn.Linear(3, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,)
    nn.utils.vector_to_parameters(v * 0 + 1, m.parameters())
    assert (m.weight.numpy() == 1).all() and (m.bias.numpy() == 1).all()
    with pytest.raises(ge.ShapeError, match="vector_to_parameters: .*\\(7,\\)"):
        nn.utils.vector_to_parameters(ge.zeros(7), m.parameters())
    assert (m.weight.numpy() == 1).all()


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    g = [np.arange(6.0).reshape(2, 3), np.array([3.0, -4.0])]
    ps = [ge.tensor(a, requires_grad=True) for a in g]
    tps = [torch.tensor(a, requires_grad=True) for a in g]
    for p, t, a in zip(ps, tps, g):
        p.grad, t.grad = ge.tensor(a), torch.tensor(a)
    total = nn.utils.get_total_norm([p.grad for p in ps], 3.0)
    ttotal = torch.nn.utils.get_total_norm([t.grad for t in tps], 3.0)
    np.testing.assert_allclose(total.numpy(), ttotal.numpy())
    nn.utils.clip_grads_with_norm_(ps, 2.0, total)
    torch.nn.utils.clip_grads_with_norm_(tps, 2.0, ttotal)
    for p, t in zip(ps, tps):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy())


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch deprecates the hooks form
def test_weight_norm_matches_torch_and_can_be_removed(rng):
    tm = torch.nn.utils.weight_norm(torch.nn.Conv1d(3, 4, 2), dim=0)
    m = nn.utils.weight_norm(nn.Conv1d(3, 4, 2), dim=0)
    assert list(m.state_dict()) == list(tm.state_dict())
    load_from_torch(m, tm)
    diffs, _ = run_both(m, tm, [rng.standard_normal((2, 3, 5)).astype(np.float32)], torch,
                        rng)
    _close(diffs)
    y = m(ge.ones((1, 3, 5))).numpy()
    nn.utils.remove_weight_norm(m)
    assert set(m.state_dict()) == {"weight", "bias"}
    np.testing.assert_allclose(m(ge.ones((1, 3, 5))).numpy(), y, rtol=1e-6)


def test_parametrizations_weight_norm_matches_torch_keys_values_and_gradients(rng):
    from gradengine.nn.utils.parametrizations import weight_norm
    tm = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(3, 4, 2))
    m = weight_norm(nn.Conv1d(3, 4, 2))
    assert type(m).__name__ == type(tm).__name__ == "ParametrizedConv1d"
    load_from_torch(m, tm)
    diffs, _ = run_both(m, tm, [rng.standard_normal((2, 3, 5)).astype(np.float32)], torch,
                        rng)
    _close(diffs)
    assert nn.utils.parametrize.is_parametrized(m, "weight")
    w = m.weight.numpy()
    nn.utils.parametrize.remove_parametrizations(m, "weight")
    assert type(m) is nn.Conv1d and list(m.state_dict()) == ["bias", "weight"]  # as torch
    np.testing.assert_allclose(m.weight.numpy(), w)


def test_spectral_norm_matches_torch_with_its_vectors(rng):
    tm = torch.nn.utils.spectral_norm(torch.nn.Conv2d(2, 3, 2))
    m = nn.utils.spectral_norm(nn.Conv2d(2, 3, 2))
    assert list(m.state_dict()) == list(tm.state_dict())
    load_from_torch(m, tm)
    x = rng.standard_normal((1, 2, 3, 3)).astype(np.float32)
    for _ in range(2):  # training: a power iteration per call
        np.testing.assert_allclose(m(ge.tensor(x)).numpy(), tm(torch.tensor(x)).detach()
                                   .numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.weight_u.numpy(), tm.weight_u.numpy(), rtol=1e-5)
    m.eval()
    tm.eval()
    np.testing.assert_allclose(m(ge.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- packed sequences

def _seqs(rng, lengths, feat=3):
    return [rng.standard_normal((n, feat)).astype(np.float32) for n in lengths]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, side, rng):
    seqs = _seqs(rng, [2, 4, 1])
    got = nn.utils.rnn.pad_sequence([ge.tensor(s) for s in seqs], batch_first, -1.0, side)
    want = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, -1.0,
                                           side)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("enforce_sorted, lengths", [(True, [4, 2, 1]), (False, [2, 4, 1])])
def test_pack_and_pad_round_trip_matches_torch(enforce_sorted, lengths, rng):
    from gradengine.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    seqs = _seqs(rng, lengths)
    padded = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs],
                                             batch_first=True)
    x = ge.tensor(padded.numpy(), requires_grad=True)
    got = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=enforce_sorted)
    want = torch.nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=True,
                                                   enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(got.data.numpy(), want.data.numpy())
    np.testing.assert_array_equal(got.batch_sizes.numpy(), want.batch_sizes.numpy())
    if enforce_sorted:
        assert got.sorted_indices is None and want.sorted_indices is None
    else:
        np.testing.assert_array_equal(got.sorted_indices.numpy(), want.sorted_indices.numpy())
        np.testing.assert_array_equal(got.unsorted_indices.numpy(),
                                      want.unsorted_indices.numpy())
    back, lens = pad_packed_sequence(got, batch_first=True, padding_value=9.0, total_length=5)
    tback, tlens = torch.nn.utils.rnn.pad_packed_sequence(want, batch_first=True,
                                                          padding_value=9.0, total_length=5)
    np.testing.assert_array_equal(back.numpy(), tback.numpy())
    np.testing.assert_array_equal(lens.numpy(), tlens.numpy())
    back.sum().backward()
    mask = np.arange(padded.shape[1])[None, :] < np.array(lengths)[:, None]
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(mask[..., None],
                                                                  x.shape).astype(np.float32))
    packed = nn.utils.rnn.pack_sequence([ge.tensor(s) for s in seqs], enforce_sorted=False)
    for a, b in zip(nn.utils.rnn.unpack_sequence(packed), seqs):
        np.testing.assert_array_equal(a.numpy(), b)
    with pytest.raises(ValueError, match="enforce_sorted=False"):
        pack_padded_sequence(ge.tensor(padded.numpy()), [1, 4, 2], batch_first=True)


@pytest.mark.parametrize("kind, kw", [
    ("RNN", dict(num_layers=2)),
    ("LSTM", dict(bidirectional=True)),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(proj_size=2, hidden_size=4)),
])
@pytest.mark.parametrize("with_hx", [False, True])
def test_packed_rnn_matches_torch(kind, kw, with_hx, rng):
    kw = dict(dict(input_size=3, hidden_size=5), **kw)
    theirs = getattr(torch.nn, kind)(**kw)
    ours = getattr(nn, kind)(**kw)
    load_from_torch(ours, theirs)
    lengths = [3, 5, 2]
    seqs = _seqs(rng, lengths)
    gx = [ge.tensor(s, requires_grad=True) for s in seqs]
    tx = [torch.tensor(s, requires_grad=True) for s in seqs]
    gp = nn.utils.rnn.pack_sequence(gx, enforce_sorted=False)
    tp = torch.nn.utils.rnn.pack_sequence(tx, enforce_sorted=False)
    dirs = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    hx, thx = None, None
    if with_hx:
        h = rng.standard_normal((layers * dirs, 3, kw.get("proj_size") or 5)).astype(
            np.float32)
        c = rng.standard_normal((layers * dirs, 3, kw["hidden_size"])).astype(np.float32)
        hx = (ge.tensor(h), ge.tensor(c)) if kind == "LSTM" else ge.tensor(h)
        thx = (torch.tensor(h), torch.tensor(c)) if kind == "LSTM" else torch.tensor(h)
    gout, gh = ours(gp, hx)
    tout, th = theirs(tp, thx)
    assert isinstance(gout, nn.utils.rnn.PackedSequence)
    np.testing.assert_allclose(gout.data.numpy(), tout.data.detach().numpy(), atol=1e-5)
    gh, th = (list(gh), list(th)) if kind == "LSTM" else ([gh], [th])
    for a, b in zip(gh, th):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), atol=1e-5)
    up = rng.standard_normal(tuple(tout.data.shape)).astype(np.float32)
    hup = [rng.standard_normal(tuple(b.shape)).astype(np.float32) for b in th]
    ((gout.data * ge.tensor(up)).sum() + sum((a * ge.tensor(u)).sum()
                                            for a, u in zip(gh, hup))).backward()
    ((tout.data * torch.tensor(up)).sum() + sum((b * torch.tensor(u)).sum()
                                               for b, u in zip(th, hup))).backward()
    for a, b in zip(gx, tx):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-5)
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), atol=1e-4,
                                   err_msg=name)


# ---------------------------------------------------------------- hooks

def test_full_backward_hooks_see_and_replace_gradients_as_torch():
    def run(lib, mod, x):
        m = mod.Linear(3, 2) if lib is ge else torch.nn.Linear(3, 2)
        with (ge.no_grad() if lib is ge else torch.no_grad()):
            if lib is ge:
                m.weight.data[...] = np.arange(6.0, dtype=np.float32).reshape(3, 2) / 6
            else:
                m.weight.copy_(torch.tensor(np.arange(6.0, dtype=np.float32).reshape(3, 2).T
                                            / 6))
            m.bias.data[...] = 0.5
        seen = []
        m.register_full_backward_pre_hook(lambda mod_, go: (go[0] * 2,))
        m.register_full_backward_hook(
            lambda mod_, gi, go: seen.append((gi[0].numpy().copy(), go[0].numpy().copy()))
            or (gi[0] + 1,))
        y = m(x)
        (y * y).sum().backward()
        return seen, x.grad.numpy(), m.bias.grad.numpy()
    data = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]], dtype=np.float32)
    s1, gx1, gb1 = run(ge, nn, ge.tensor(data, requires_grad=True))
    s2, gx2, gb2 = run(torch, None, torch.tensor(data, requires_grad=True))
    assert len(s1) == len(s2) == 1
    for a, b in zip(s1[0], s2[0]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(gx1, gx2, rtol=1e-6)
    np.testing.assert_allclose(gb1, gb2, rtol=1e-6)


def test_backward_hook_with_inputs_that_need_no_grad_gets_none():
    m = nn.Linear(3, 2)
    calls = []
    h = m.register_full_backward_hook(lambda mod, gi, go: calls.append((gi, go[0].shape)))
    m(ge.ones((4, 3))).sum().backward()
    assert calls == [((None,), (4, 2))]
    h.remove()
    m(ge.ones((4, 3))).sum().backward()
    assert len(calls) == 1


def test_forward_hooks_with_kwargs_and_prepend():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor
    m = Scale()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}),
                                with_kwargs=True)
    m.register_forward_pre_hook(lambda mod, args: order.append("first"), prepend=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: out + kwargs["factor"],
                            with_kwargs=True)
    out = m(ge.ones(2), factor=2.0)
    np.testing.assert_array_equal(out.numpy(), [6.0, 6.0])
    assert order == ["first"]


def test_full_backward_hook_of_a_two_input_module_matches_torch(rng):
    theirs = torch.nn.Bilinear(3, 2, 4)
    ours = nn.Bilinear(3, 2, 4)
    load_from_torch(ours, theirs)
    got, want = [], []
    ours.register_full_backward_hook(
        lambda m, gi, go: got.append([None if g is None else g.numpy().copy()
                                      for g in gi + go]))
    theirs.register_full_backward_hook(
        lambda m, gi, go: want.append([None if g is None else g.numpy().copy()
                                       for g in gi + go]))
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    ga, gb = ge.tensor(a, dtype="float32", requires_grad=True), ge.tensor(b, dtype="float32")
    ta = torch.tensor(a, dtype=torch.float32, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float32)
    (ours(ga, gb) ** 2).sum().backward()
    (theirs(ta, tb) ** 2).sum().backward()
    assert len(got) == len(want) == 1
    # (grad of input1, zeros for input2 beside it, as torch, grad_output)
    got_, want_ = got[0], want[0]
    assert len(got_) == len(want_) == 3
    for g, w in zip(got_, want_):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_lazy_linear_materializes_on_the_cuda_stand_in(fake_gpu):
    m = nn.LazyLinear(3, device="cuda")
    y = m(ge.randn(2, 4, device="cuda"))
    assert type(m) is nn.Linear and m.weight.device == "cuda:0" and y.device == "cuda:0"
