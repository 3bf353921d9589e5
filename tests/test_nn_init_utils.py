"""nn.init (distributions against PyTorch's formulas, fan rule for (in, out) weights),
nn.utils.clip_grad_norm_ / clip_grad_value_ against torch, load_torch_state_dict."""

import math

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn

torch = pytest.importorskip("torch")
tinit = torch.nn.init


def _std_bound(gw, tw):
    """(our std, torch's std) of the same layer's weight."""
    return float(np.std(gw.numpy())), float(tw.detach().std())


@pytest.mark.parametrize("name,kwargs,kind", [
    ("kaiming_uniform_", {"a": math.sqrt(5)}, "uniform"),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, "uniform"),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, "uniform"),
    ("kaiming_normal_", {"nonlinearity": "relu"}, "normal"),
    ("kaiming_normal_", {"mode": "fan_out", "a": 0.2}, "normal"),
    ("xavier_uniform_", {}, "uniform"),
    ("xavier_uniform_", {"gain": 5 / 3}, "uniform"),
    ("xavier_normal_", {"gain": 2.0}, "normal"),
])
def test_initialisers_draw_the_distribution_pytorch_draws_for_the_same_layer(name, kwargs,
                                                                           kind):
    in_f, out_f = 600, 150  # asymmetric, so a swapped fan_in/fan_out would show
    ge.manual_seed(0)
    gw = nn.Linear(in_f, out_f).weight          # (in, out)
    tw = torch.nn.Linear(in_f, out_f).weight    # (out, in)
    assert getattr(nn.init, name)(gw, **kwargs) is gw
    getattr(tinit, name)(tw, **kwargs)
    ours, theirs = _std_bound(gw, tw)
    # the formula's std, with PyTorch's fans for the torch layer
    fan_in, fan_out = tinit._calculate_fan_in_and_fan_out(tw)
    if name.startswith("kaiming"):
        fan = fan_in if kwargs.get("mode", "fan_in") == "fan_in" else fan_out
        std = tinit.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"),
                                   kwargs.get("a", 0)) / math.sqrt(fan)
    else:
        std = kwargs.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    assert ours == pytest.approx(std, rel=0.02) and theirs == pytest.approx(std, rel=0.02)
    if kind == "uniform":
        bound = math.sqrt(3) * std
        assert np.abs(gw.numpy()).max() <= bound * (1 + 1e-6)
        assert np.abs(gw.numpy()).max() > 0.99 * bound
    assert abs(float(np.mean(gw.numpy()))) < 0.05 * std
    assert gw.dtype == np.float32 and gw.shape == (in_f, out_f)


def test_fan_rule_for_conv_kernels_follows_pytorch():
    w = ge.zeros((8, 3, 5, 5))
    assert nn.init._calculate_fan_in_and_fan_out(w) == \
        tinit._calculate_fan_in_and_fan_out(torch.zeros(8, 3, 5, 5))
    assert nn.init._calculate_fan_in_and_fan_out(ge.zeros((4, 7))) == (4, 7)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(ge.zeros(3))


def test_initialisers_are_seeded_by_manual_seed_and_in_place():
    w = nn.Parameter(np.zeros((50, 40), np.float32))
    buf, v = w.data, w._version
    ge.manual_seed(3)
    a = nn.init.normal_(w, mean=1.0, std=0.5).numpy().copy()
    assert w.data is buf and w._version == v + 1 and w.grad is None and w.node is None
    ge.manual_seed(3)
    b = nn.init.normal_(w, mean=1.0, std=0.5).numpy().copy()
    assert np.array_equal(a, b)
    assert np.mean(a) == pytest.approx(1.0, abs=0.03) and np.std(a) == pytest.approx(0.5,
                                                                                      rel=0.05)
    u = nn.init.uniform_(w, -2.0, 3.0).numpy()
    assert u.min() >= -2.0 and u.max() <= 3.0 and np.mean(u) == pytest.approx(0.5, abs=0.05)


def test_constant_zeros_ones():
    w = nn.Parameter(np.ones((2, 3), np.float64))
    assert np.all(nn.init.zeros_(w).numpy() == 0)
    assert np.all(nn.init.ones_(w).numpy() == 1)
    assert np.all(nn.init.constant_(w, 0.25).numpy() == 0.25) and w.dtype == np.float64
    ints = ge.tensor([1, 2, 3])
    assert nn.init.constant_(ints, 7).numpy().tolist() == [7, 7, 7]
    with pytest.raises(ge.DTypeError, match="floating.*int64"):
        nn.init.normal_(ints)


def test_calculate_gain_equals_torch():
    for nl, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert nn.init.calculate_gain(nl, param) == tinit.calculate_gain(nl, param)
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


# ---------------------------------------------------------------- clipping

def _grads_pair(dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) * 3 for s in [(3, 4), (5,), (), (2, 1, 3)]]
    gp, tp = [], []
    for a in arrays:
        p = nn.Parameter(np.zeros(a.shape), dtype=dtype)
        p.grad = ge.tensor(a, dtype=dtype)
        t = torch.zeros(a.shape, dtype=getattr(torch, dtype), requires_grad=True)
        t.grad = torch.tensor(a, dtype=getattr(torch, dtype))
        gp.append(p)
        tp.append(t)
    return gp, tp


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0),
                                                (2.0, float("inf")), (1.0, 3.0), (3.0, 0.5)])
def test_clip_grad_norm_equals_torch(dtype, max_norm, norm_type):
    gp, tp = _grads_pair(dtype)
    total = nn.utils.clip_grad_norm_(gp, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert isinstance(total, ge.Tensor) and total.shape == () and total.dtype == dtype
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), rtol=rtol)
    for p, t in zip(gp, tp):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(np.ones(3, np.float32))
    assert float(nn.utils.clip_grad_norm_([p], 1.0).numpy()) == 0.0  # no gradients
    p.grad = ge.tensor([np.inf, 1.0, 0.0])
    before = p.grad.numpy().copy()
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert np.array_equal(p.grad.numpy(), before)
    q = nn.Parameter(np.ones(2, np.float32))
    shared = ge.ones(2)
    q.grad = shared
    r = nn.Parameter(np.ones(2, np.float32))
    r.grad = ge.Tensor._make(shared.data, "cpu")  # two gradients sharing one array
    nn.utils.clip_grad_norm_([q, r], 1.0)
    np.testing.assert_allclose(q.grad.numpy(), 0.5, rtol=1e-5)
    np.testing.assert_allclose(r.grad.numpy(), 0.5, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_grad_value_equals_torch(dtype):
    gp, tp = _grads_pair(dtype, seed=1)
    assert nn.utils.clip_grad_value_(gp, 1.5) is None
    torch.nn.utils.clip_grad_value_(tp, 1.5)
    for p, t in zip(gp, tp):
        assert p.grad.dtype == dtype
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


# ---------------------------------------------------------------- from PyTorch

def _torch_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))


def test_load_torch_state_dict_gives_the_same_predictions():
    tm = _torch_mlp().double()
    gm = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    assert nn.utils.load_torch_state_dict(gm, tm.state_dict()) == ([], [])
    x = np.random.default_rng(0).standard_normal((4, 3))
    with ge.no_grad():
        got = gm(ge.tensor(x, dtype="float64")).numpy()
    want = tm(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert gm[0].weight.numpy().flags.c_contiguous


def test_load_torch_state_dict_accepts_numpy_arrays_and_casts_to_the_model_dtype():
    tm = _torch_mlp()
    gm = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    sd = {k: v.double().numpy() for k, v in tm.state_dict().items()}
    nn.utils.load_torch_state_dict(gm, sd)
    assert gm[0].weight.dtype == np.float32
    np.testing.assert_allclose(gm[2].weight.numpy(), sd["2.weight"].T, rtol=1e-6)


def _model_snapshot(gm):
    return {k: v.numpy().tobytes() for k, v in gm.state_dict().items()}


def test_load_torch_state_dict_refuses_mismatches_changing_nothing():
    tm = _torch_mlp()
    gm = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 3))
    snap = _model_snapshot(gm)
    with pytest.raises(ge.ShapeError, match=r"'2.weight'.*\(2, 5\).*\(5, 2\).*\(5, 3\)"):
        nn.utils.load_torch_state_dict(gm, tm.state_dict())
    assert _model_snapshot(gm) == snap
    other = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))  # keys 0.*, 1.*
    snap = _model_snapshot(other)
    with pytest.raises(KeyError, match=r"missing keys \['1.weight', '1.bias'\].*unexpected "
                                       r"keys \['2.weight', '2.bias'\]"):
        nn.utils.load_torch_state_dict(other, tm.state_dict())
    assert _model_snapshot(other) == snap


def test_nn_exports_init_and_utils():
    assert nn.init.zeros_ is not None and nn.utils.clip_grad_norm_ is not None
    assert "init" in nn.__all__ and "utils" in nn.__all__


def test_init_functions_fill_a_parameters_data_array_in_place_as_dcgan_does():
    # PyTorch's DCGAN tutorial: nn.init.normal_(m.weight.data, 0.0, 0.02) through model.apply
    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)
    ge.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 64, 4), nn.BatchNorm2d(64), nn.ReLU())
    conv, bn = net[0], net[1]
    before = conv.weight.data
    net.apply(weights_init)
    assert conv.weight.data is before  # the same buffer, filled in place
    assert abs(float(conv.weight.data.std()) - 0.02) < 0.002
    assert abs(float(bn.weight.data.mean()) - 1.0) < 0.01 and not bn.bias.data.any()
    with pytest.raises(TypeError, match="normal_: expected a gradengine Tensor, got list"):
        nn.init.normal_([1.0, 2.0])
