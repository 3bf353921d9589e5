"""The pieces of a PyTorch training script around the model: AMP's GradScaler and autocast,
torch.backends flags, torch.compile, torch.Size, torch.testing.assert_close,
torch.distributions and torch.cuda's helpers -- each against torch where torch has it."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn, optim

torch = pytest.importorskip("torch")


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((3, 2)).astype(np.float32)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    return w, x


def _scaler_run(lib, scaler_cls, w0, x, poison_steps):
    w = lib.tensor(w0.copy(), requires_grad=True)
    opt = (optim.SGD if lib is ge else torch.optim.SGD)([w], lr=0.1)
    scaler = scaler_cls("cpu", init_scale=8.0, growth_interval=2)
    scales, skipped = [], []
    for step in range(6):
        opt.zero_grad()
        loss = ((lib.tensor(x) @ w) ** 2).mean()
        scaler.scale(loss).backward()
        if step in poison_steps:
            w.grad.data[0, 0] = float("inf")
        before = w.detach().numpy().copy()
        scaler.step(opt)
        skipped.append(bool(np.array_equal(before, w.detach().numpy())))
        scaler.update()
        scales.append(scaler.get_scale())
    return w.detach().numpy(), scales, skipped


def test_grad_scaler_scales_skips_backs_off_and_grows_as_torch():
    w0, x = _pair()
    ours = _scaler_run(ge, ge.amp.GradScaler, w0, x, {1, 4})
    theirs = _scaler_run(torch, torch.amp.GradScaler, w0, x, {1, 4})
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-7)
    assert ours[1] == theirs[1]
    assert ours[2] == theirs[2] == [False, True, False, False, True, False]


def test_grad_scaler_state_dict_unscale_twice_and_disabled_pass_through():
    s = ge.amp.GradScaler("cpu", init_scale=4.0)
    w = ge.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    s.scale((w * 2).sum()).backward()
    assert w.grad.numpy().tolist() == [8.0]
    s.unscale_(opt)
    assert w.grad.numpy().tolist() == [2.0]
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    s.step(opt)
    s.update()
    t = ge.amp.GradScaler("cpu")
    t.load_state_dict(s.state_dict())
    assert t.get_scale() == s.get_scale() and t.state_dict() == s.state_dict()
    off = ge.cuda.amp.GradScaler(enabled=False)
    loss = (w * 3).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}


def test_a_cuda_grad_scaler_without_cuda_disables_itself_as_torch():
    if ge.cuda.is_available():
        pytest.skip("CUDA is available here")
    for make in (ge.amp.GradScaler, ge.cuda.amp.GradScaler):
        with pytest.warns(UserWarning, match="CUDA is not available"):
            s = make()
        loss = ge.tensor(2.0)
        assert not s.is_enabled() and s.scale(loss) is loss  # torch: tensor(2.), not 2**17
        assert s.is_enabled() == torch.amp.GradScaler().is_enabled()


def test_autocast_is_a_recorded_region_that_keeps_dtypes():
    assert not ge.is_autocast_enabled()
    x = ge.ones(2, 3)
    with ge.autocast("cpu", dtype=ge.float16):
        assert ge.is_autocast_enabled() and ge.is_autocast_enabled("cpu")
        assert (x @ ge.ones(3, 1)).dtype == np.float32
    with ge.amp.autocast("cuda", enabled=False):
        assert not ge.is_autocast_enabled()

    @ge.autocast("cpu")
    def f():
        return ge.is_autocast_enabled()
    assert f() and not ge.is_autocast_enabled()


def test_backends_flags_compile_size_and_matmul_precision():
    ge.backends.cudnn.benchmark = True
    ge.backends.cudnn.deterministic = True
    ge.backends.cuda.matmul.allow_tf32 = True
    assert ge.backends.mps.is_available() is False
    m = nn.Linear(2, 2)
    assert ge.compile(m) is m and ge.compile(mode="max-autotune")(m) is m
    assert ge.ones(2, 3).shape == ge.Size([2, 3]) and ge.Size([2, 3]).numel() == 6
    assert torch.Size([2, 3]) == ge.Size([2, 3])
    ge.set_float32_matmul_precision("high")
    assert ge.get_float32_matmul_precision() == "high"
    ge.set_float32_matmul_precision("highest")
    with pytest.raises(ValueError, match="expected 'highest'"):
        ge.set_float32_matmul_precision("fast")


def test_to_takes_torch_keywords_and_a_module_moves_to_a_tensors_place():
    x = ge.ones(2)
    assert x.to("cpu", non_blocking=True) is x
    y = x.to(copy=True)
    assert y is not x and y.numpy().tolist() == [1.0, 1.0]
    m = nn.Linear(2, 2).to(ge.zeros(1, dtype=ge.float64))
    assert m.weight.dtype == np.float64


def test_cuda_helpers_answer_without_a_gpu():
    if ge.cuda.is_available():
        pytest.skip("checks the answers without CUDA")
    assert ge.cuda.memory_allocated() == 0 and ge.cuda.max_memory_allocated() == 0
    assert ge.cuda.memory_reserved() == 0 and ge.cuda.current_device() == 0
    ge.cuda.empty_cache()
    ge.cuda.reset_peak_memory_stats()
    ge.cuda.manual_seed_all(3)
    assert ge.cuda.is_bf16_supported() is False
    with pytest.raises(RuntimeError, match="no CUDA"):
        ge.cuda.get_device_name()


@pytest.mark.parametrize("a, b, kw", [
    (np.float32([1, 2, 3]), np.float32([1, 2, 3.0001]), {}),
    (np.float32([1, 2]), np.float32([1, 2.00001]), {}),
    (np.float64([1, 2]), np.float64([1, 2 + 1e-6]), {}),
    (np.float32([1, np.nan]), np.float32([1, np.nan]), {}),
    (np.float32([1, np.nan]), np.float32([1, np.nan]), {"equal_nan": True}),
    (np.int64([1, 2]), np.int64([1, 3]), {}),
    (np.float32([1, 2]), np.float32([1, 2.5]), {"rtol": 0.3, "atol": 0.0}),
])
def test_assert_close_passes_and_fails_where_torch_does(a, b, kw):
    def outcome(lib):
        try:
            lib.testing.assert_close(lib.tensor(a), lib.tensor(b), **kw)
            return None
        except AssertionError as e:
            return str(e).splitlines()[:3]
    ours, theirs = outcome(ge), outcome(torch)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert ours[0] == theirs[0] and ours[2] == theirs[2]  # the title, mismatched count


def test_assert_close_checks_shape_and_dtype_and_takes_containers():
    with pytest.raises(AssertionError, match="shape"):
        ge.testing.assert_close(ge.ones(2), ge.ones(3))
    with pytest.raises(AssertionError, match="dtype"):
        ge.testing.assert_close(ge.ones(2), ge.ones(2, dtype=ge.float64))
    ge.testing.assert_close(ge.ones(2), ge.ones(2, dtype=ge.float64), check_dtype=False)
    ge.testing.assert_close({"a": [ge.ones(2)]}, {"a": [ge.ones(2)]})
    ge.testing.assert_close(1.0, 1.0 + 1e-9)
    with pytest.raises(AssertionError, match="Scalars are not close"):
        ge.testing.assert_close(1.0, 1.1)


TD = torch.distributions


def _dists():
    loc = np.float64([0.3, -1.0])
    scale = np.float64([0.5, 2.0])
    p = np.float64([0.2, 0.9])
    probs = np.float64([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    return [
        ("Normal", (loc, scale), np.float64([0.1, 2.5])),
        ("Uniform", (loc, loc + scale), np.float64([0.5, -0.5])),
        ("Exponential", (scale,), np.float64([0.1, 2.5])),
        ("Laplace", (loc, scale), np.float64([0.1, 2.5])),
        ("Bernoulli", (p,), np.float64([1.0, 0.0])),
        ("Categorical", (probs,), np.int64([2, 0])),
    ]


@pytest.mark.parametrize("name, params, value", _dists(), ids=lambda v: v if isinstance(
    v, str) else "")
def test_distributions_log_prob_entropy_moments_and_their_gradients_match_torch(
        name, params, value):
    ours = [ge.tensor(p, requires_grad=True) for p in params]
    theirs = [torch.tensor(p, requires_grad=True) for p in params]
    d, t = getattr(ge.distributions, name)(*ours), getattr(TD, name)(*theirs)
    assert d.batch_shape == tuple(t.batch_shape) and d.event_shape == tuple(t.event_shape)
    lp, tlp = d.log_prob(ge.tensor(value)), t.log_prob(torch.tensor(value))
    np.testing.assert_allclose(lp.numpy(), tlp.detach().numpy(), rtol=1e-10, atol=1e-12)
    ent, tent = d.entropy(), t.entropy()
    np.testing.assert_allclose(ent.numpy(), tent.detach().numpy(), rtol=1e-10, atol=1e-12)
    (lp.sum() + ent.sum()).backward()
    (tlp.sum() + tent.sum()).backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)
    if name != "Categorical":
        np.testing.assert_allclose(d.mean.detach().numpy(), t.mean.detach().numpy())
        np.testing.assert_allclose(d.variance.detach().numpy(), t.variance.detach().numpy())


def test_samples_have_the_right_shapes_and_statistics_and_rsample_is_differentiable():
    ge.manual_seed(0)
    loc = ge.tensor([1.0, -2.0], requires_grad=True)
    d = ge.distributions.Normal(loc, 0.5)
    s = d.rsample((4000,))
    assert s.shape == (4000, 2)
    np.testing.assert_allclose(s.numpy().mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(s.numpy().std(0), [0.5, 0.5], atol=0.05)
    s.mean().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [0.5, 0.5], rtol=1e-4)
    assert not d.sample((3,)).requires_grad
    c = ge.distributions.Categorical(logits=ge.tensor([[0.0, np.log(3.0)]]))
    draws = c.sample((4000,))
    assert draws.shape == (4000, 1) and draws.dtype == np.int64
    assert abs(draws.numpy().mean() - 0.75) < 0.03
    b = ge.distributions.Bernoulli(probs=ge.tensor([0.25]))
    assert abs(b.sample((4000,)).numpy().mean() - 0.25) < 0.03
    oh = ge.distributions.OneHotCategorical(probs=ge.tensor([0.5, 0.5]))
    assert oh.sample((5,)).shape == (5, 2) and oh.event_shape == (2,)


@pytest.mark.parametrize("name, a, b", [
    ("Normal", (np.float64([0.0, 1.0]), np.float64([1.0, 2.0])),
     (np.float64([0.5, 0.0]), np.float64([2.0, 0.5]))),
    ("Bernoulli", (np.float64([0.2, 0.7]),), (np.float64([0.5, 0.1]),)),
    ("Categorical", (np.float64([[0.2, 0.8], [0.5, 0.5]]),),
     (np.float64([[0.6, 0.4], [0.1, 0.9]]),)),
    ("Exponential", (np.float64([1.0, 3.0]),), (np.float64([2.0, 0.5]),)),
    ("Laplace", (np.float64([0.0, 1.0]), np.float64([1.0, 2.0])),
     (np.float64([0.5, 0.0]), np.float64([2.0, 0.5]))),
])
def test_kl_divergence_matches_torch(name, a, b):
    ours = ge.distributions.kl_divergence(
        getattr(ge.distributions, name)(*[ge.tensor(v) for v in a]),
        getattr(ge.distributions, name)(*[ge.tensor(v) for v in b]))
    theirs = TD.kl_divergence(getattr(TD, name)(*[torch.tensor(v) for v in a]),
                              getattr(TD, name)(*[torch.tensor(v) for v in b]))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)


def test_distribution_arguments_are_checked():
    with pytest.raises(ValueError, match="scale must be positive"):
        ge.distributions.Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="exactly one of probs and logits"):
        ge.distributions.Categorical()
    with pytest.raises(ValueError, match="probs must lie in"):
        ge.distributions.Bernoulli(probs=ge.tensor([1.5]))
    with pytest.raises(NotImplementedError, match="no formula"):
        ge.distributions.kl_divergence(ge.distributions.Normal(0.0, 1.0),
                                       ge.distributions.Poisson(1.0))  # torch: none either
    with pytest.raises(ge.ShapeError, match="does not broadcast"):
        ge.distributions.Normal(ge.zeros(3), 1.0).log_prob(ge.zeros(2))


@pytest.mark.parametrize("name, kw", [
    ("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {}), ("selu", {}),
    ("celu", {}), ("silu", {}), ("mish", {}), ("hardswish", {}), ("hardsigmoid", {}),
    ("hardtanh", {}), ("relu6", {}), ("threshold", {"threshold": 0.1, "value": 20.0})])
def test_functional_inplace_activations_write_into_the_input_as_torch(name, kw):
    outs = []
    for lib in (torch, ge):
        x = lib.tensor(np.float32([-1.0, 0.5, 2.0]), requires_grad=True)
        h = x * 1
        r = getattr(lib.nn.functional, name)(h, inplace=True, **kw)
        (h * h).sum().backward()
        outs.append((r is h, h.detach().numpy().copy(), x.grad.numpy().copy()))
    assert outs[0][0] and outs[1][0]
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(outs[1][2], outs[0][2], rtol=1e-6, atol=1e-7)
    leaf = ge.tensor([1.0], requires_grad=True)
    with pytest.raises(ge.GraphError, match="leaf"):
        getattr(ge.nn.functional, name)(leaf, inplace=True, **kw)


def _block_grads(ckpt, dropout=False, sequential=False):
    from gradengine.utils.checkpoint import checkpoint, checkpoint_sequential
    ge.manual_seed(0)
    layers = [nn.Linear(4, 4), nn.Tanh()] + ([nn.Dropout(0.5)] if dropout else []) + \
        [nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)]
    blk = nn.Sequential(*layers)
    x = ge.tensor(np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32),
                  requires_grad=True)
    ge.manual_seed(5)
    if not ckpt:
        y = blk(x)
    elif sequential:
        y = checkpoint_sequential(blk, 2, x, use_reentrant=False)
    else:
        y = checkpoint(blk, x, use_reentrant=False)
    (y ** 2).sum().backward()
    return [x.grad.numpy()] + [p.grad.numpy() for p in blk.parameters()], y.numpy()


@pytest.mark.parametrize("dropout, sequential", [(False, False), (True, False), (True, True)])
def test_activation_checkpointing_gives_the_plain_gradients(dropout, sequential):
    plain, y0 = _block_grads(False, dropout)
    ck, y1 = _block_grads(True, dropout, sequential)
    np.testing.assert_array_equal(y0, y1)
    for a, b in zip(plain, ck):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    from gradengine.utils.checkpoint import checkpoint
    with ge.no_grad():
        assert checkpoint(nn.Linear(2, 2), ge.ones(1, 2)).shape == (1, 2)


def test_init_functions_follow_torch():
    w = ge.zeros(4, 6)
    nn.init.orthogonal_(w, gain=2.0)
    np.testing.assert_allclose(w.numpy() @ w.numpy().T, 4 * np.eye(4), atol=1e-5)
    for shape, groups in (((4, 2, 3, 3), 1), ((4, 4, 3), 2), ((2, 2, 3, 3, 3), 1)):
        ours, theirs = ge.zeros(*shape), torch.zeros(*shape)
        nn.init.dirac_(ours, groups)
        torch.nn.init.dirac_(theirs, groups)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(nn.init.eye_(ge.zeros(3, 5)).numpy(),
                                  torch.nn.init.eye_(torch.zeros(3, 5)).numpy())
    ge.manual_seed(0)
    t = nn.init.trunc_normal_(ge.zeros(20000), mean=0.2, std=0.5, a=-0.5, b=1.0).numpy()
    ref = torch.nn.init.trunc_normal_(torch.zeros(20000), mean=0.2, std=0.5, a=-0.5,
                                      b=1.0).numpy()
    assert t.min() >= -0.5 and t.max() <= 1.0
    assert abs(t.mean() - ref.mean()) < 0.02 and abs(t.std() - ref.std()) < 0.02
    s = nn.init.sparse_(ge.zeros(10, 5), 0.3)
    assert ((s.numpy() == 0).sum(0) == 3).all()
    assert nn.init.xavier_uniform is nn.init.xavier_uniform_
    with pytest.raises(ValueError, match="2 or more dimensions"):
        nn.init.orthogonal_(ge.zeros(3))


def test_data_samplers_and_datasets_beside_torchs():
    from gradengine.utils import data
    ge.manual_seed(0)
    counts = np.bincount(list(data.WeightedRandomSampler([0.1, 0.0, 0.9], 2000)),
                         minlength=3)
    assert counts[1] == 0 and abs(counts[2] / 2000 - 0.9) < 0.03
    picks = list(data.WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False))
    assert sorted(picks) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="without replacement"):
        data.WeightedRandomSampler([1, 0], 2, replacement=False)
    assert data.StackDataset([1, 2], [3, 4])[1] == (2, 4)
    assert data.StackDataset(a=[1, 2], b=[3, 4])[0] == {"a": 1, "b": 3}
    assert list(data.ChainDataset([[1, 2], [3]])) == [1, 2, 3]
    conv = data.default_convert({"x": np.ones(2), "n": [np.zeros(1)]})
    assert isinstance(conv["x"], ge.Tensor) and isinstance(conv["n"][0], ge.Tensor)
    assert data.get_worker_info() is None
    assert data.DistributedSampler.__name__ == "DistributedSampler"


def test_out_keyword_of_top_level_functions_as_torchs():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones((3, 2), np.float32)
    c, tc = ge.empty((2, 2)), torch.empty(2, 2)
    assert ge.matmul(ge.tensor(a), ge.tensor(b), out=c) is c
    torch.matmul(torch.tensor(a), torch.tensor(b), out=tc)
    np.testing.assert_array_equal(c.numpy(), tc.numpy())
    v0 = c._version
    ge.exp(ge.tensor(a[0, :2]), out=c[0])  # into a view: the base sees it
    assert c._version > v0
    np.testing.assert_allclose(c.numpy()[0], np.exp(a[0, :2]), rtol=1e-6)
    z = ge.zeros(0)  # an empty out= is resized quietly, a non-empty one with torch's warning
    ge.add(ge.tensor(a), 1, out=z)
    np.testing.assert_array_equal(z.numpy(), a + 1)
    with pytest.warns(UserWarning, match="resized"):
        ge.add(ge.tensor(a), 1, out=ge.zeros(2))
    i = ge.zeros(2, dtype="int64")
    vals = ge.empty(2)
    r = ge.max(ge.tensor(a), 1, out=(vals, i))  # torch's positional dim gives the pair
    tr = torch.max(torch.tensor(a), 1)
    np.testing.assert_array_equal(vals.numpy(), tr.values.numpy())
    np.testing.assert_array_equal(i.numpy(), tr.indices.numpy())
    assert r.values is vals and r.indices is i
    f64 = ge.empty(3, dtype="float64")  # float32 result cast into a float64 out, as torch
    ge.cat([ge.ones(2), ge.zeros(1)], out=f64)
    assert f64.dtype == np.float64 and f64.tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(TypeError, match="can't be cast"):
        ge.exp(ge.ones(2), out=ge.zeros(2, dtype="int64"))
    x = ge.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        ge.exp(x, out=ge.empty(2))
    with ge.no_grad():
        ge.exp(x, out=ge.empty(2))
    with pytest.raises(TypeError, match="must be a Tensor"):
        ge.exp(ge.ones(2), out=np.empty(2))


def test_autograd_namespace_spellings_as_torchs():
    x = ge.tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    assert ge.autograd.gradcheck(lambda a: (a * a).sin(), (x,), fast_mode=True,
                                 check_undefined_grad=False)
    assert ge.autograd.gradgradcheck(lambda a: (a ** 3).sum(), (x,))
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        ge.autograd.gradcheck(lambda a: a * 2, (x,), bogus=1)
    with pytest.raises(ge.GradcheckError):  # a wrong custom gradient is caught
        class Bad(ge.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g * 3
        ge.autograd.gradcheck(Bad.apply, (x,))
    assert not ge.autograd.is_anomaly_enabled()
    with ge.autograd.set_detect_anomaly(True):
        assert ge.autograd.is_anomaly_enabled()
    assert not ge.autograd.is_anomaly_enabled()
    with ge.autograd.detect_anomaly(check_nan=True):
        assert ge.autograd.is_anomaly_enabled()
    v = ge.autograd.Variable(ge.ones(2), requires_grad=True)
    assert v.requires_grad and v.is_leaf
    assert ge.autograd.grad_mode.no_grad is ge.no_grad


def test_where_with_the_condition_alone_is_nonzero_as_tuple():
    a = np.array([[0, 3, 0], [4, 0, 5]])
    got = ge.where(ge.tensor(a) > 0)
    ref = torch.where(torch.tensor(a) > 0)
    assert len(got) == len(ref) == 2
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g.numpy(), r.numpy())
    with pytest.raises(TypeError, match="condition alone"):
        ge.where(ge.tensor(a) > 0, ge.ones(3))


def test_grad_fn_next_functions_walk_the_graph_as_torchs():
    x = ge.ones(2, requires_grad=True)
    w = ge.ones(2, requires_grad=True)
    y = (x * 2 + w.exp()).sum()
    tx, tw = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    ty = (tx * 2 + tw.exp()).sum()

    def names(fn):  # the graph as nested (name, children), leaves by their variable
        if fn is None:
            return None
        if not fn.next_functions:
            return "leaf"
        return (fn.name(), tuple(names(f) for f, _ in fn.next_functions))

    assert names(y.grad_fn) == names(ty.grad_fn)
    (mul, _), (exp, _) = y.grad_fn.next_functions[0][0].next_functions
    assert mul.next_functions[0][0].variable is x and mul.next_functions[1] == (None, 0)
    assert exp.next_functions[0][0].variable is w
    assert repr(y.grad_fn).startswith("<SumBackward0 object at 0x")


def test_state_dict_keywords_and_key_order_as_torchs():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    tm = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    assert list(m.state_dict(prefix="model.")) == list(tm.state_dict(prefix="model."))
    kv = m.state_dict(keep_vars=True)
    assert kv["0.weight"] is m[0].weight
    dest = {}
    assert m.state_dict(destination=dest) is dest and list(dest) == list(tm.state_dict())
    r = m.load_state_dict({"2.bias": np.zeros(1, np.float32), "x": np.zeros(1)}, strict=False)
    tr = tm.load_state_dict({"2.bias": torch.zeros(1), "x": torch.zeros(1)}, strict=False)
    assert r.missing_keys == tr.missing_keys and r.unexpected_keys == tr.unexpected_keys


def test_out_keyword_is_replayed_by_jit():
    def step(x, buf):
        ge.matmul(x, x, out=buf)
        return buf * 1

    f = ge.jit(step)
    for seed in range(3):
        x = ge.tensor(np.random.default_rng(seed).standard_normal((3, 3)).astype(np.float32))
        b1, b2 = ge.zeros((3, 3)), ge.zeros((3, 3))
        np.testing.assert_array_equal(f(x, b1).numpy(), step(x, b2).numpy())
        np.testing.assert_array_equal(b1.numpy(), b2.numpy())
    with pytest.raises(ge.CaptureError, match="resized"):
        ge.jit(lambda x, buf: ge.exp(x, out=buf) * 1)(ge.ones(2), ge.zeros(3))


def test_instance_norm_unbatched_and_lazy_defaults_as_torchs():
    rng = np.random.default_rng(1)
    for cls, shape in (("InstanceNorm1d", (3, 5)), ("InstanceNorm2d", (3, 4, 5))):
        a = rng.standard_normal(shape).astype(np.float32)
        got = getattr(nn, cls)(3)(ge.tensor(a)).numpy()
        ref = getattr(torch.nn, cls)(3)(torch.tensor(a)).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    for cls in ("LazyInstanceNorm1d", "LazyInstanceNorm2d"):
        g, t = getattr(nn, cls)(), getattr(torch.nn, cls)()
        assert (g.affine, g.track_running_stats) == (t.affine, t.track_running_stats)
