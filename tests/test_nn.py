"""nn: Module registration and state, Parameter, Linear, activations, Sequential, Dense."""

import math

import numpy as np
import pytest

import gradengine as ge
from ge_testutil import assert_unchanged, snapshot
from gradengine import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3, activation="tanh")
        self.act = nn.ReLU()
        self.scale = nn.Parameter(np.ones(3, np.float32))
        self.fc2 = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)) * self.scale)


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(np.ones((2, 2), np.float32))
    assert isinstance(p, ge.Tensor) and p.requires_grad and p.is_leaf
    assert "Parameter" in repr(p)
    (p * 2).sum().backward()
    assert np.all(p.grad.numpy() == 2)


def test_modules_register_parameters_and_children_in_assignment_order():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] or \
        names == ["fc1.weight", "fc1.bias", "scale", "fc2.weight", "fc2.bias"]
    assert set(names) == {"fc1.weight", "fc1.bias", "scale", "fc2.weight", "fc2.bias"}
    assert len(m.parameters()) == 5
    assert [type(c).__name__ for c in m.children()] == ["Linear", "ReLU", "Linear"]
    m.fc1 = None  # re-assigning drops the registration
    assert not any(n.startswith("fc1.") for n, _ in m.named_parameters())


def test_shared_parameters_are_listed_once():
    a = nn.Linear(2, 2)
    seq = nn.Sequential(a, a)
    assert len(seq.parameters()) == 2


def test_call_runs_forward_and_gradients_reach_every_parameter():
    m = TwoLayer()
    m(ge.randn(5, 4)).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_train_and_eval_set_the_flag_recursively():
    m = TwoLayer()
    assert m.training and m.fc1.training
    assert m.eval() is m
    assert not m.training and not m.fc1.training and not m.act.training
    m.train()
    assert m.fc2.training


def test_linear_matches_x_at_w_plus_b_and_uses_pytorch_init():
    ge.manual_seed(0)
    layer = nn.Linear(16, 5)
    assert layer.weight.shape == (16, 5) and layer.bias.shape == (5,)
    bound = 1 / math.sqrt(16)
    for p in layer.parameters():
        assert np.all(np.abs(p.numpy()) <= bound) and p.dtype == np.float32
    assert layer.weight.numpy().std() > bound / 4  # actually spread, not all zeros
    x = ge.randn(3, 16)
    np.testing.assert_allclose(layer(x).numpy(),
                               x.numpy() @ layer.weight.numpy() + layer.bias.numpy(), rtol=1e-6)
    act = nn.Linear(16, 5, activation="sigmoid")
    z = x.numpy() @ act.weight.numpy() + act.bias.numpy()
    np.testing.assert_allclose(act(x).numpy(), 1 / (1 + np.exp(-z)), rtol=1e-5)
    assert nn.Linear(3, 2, bias=False).bias is None
    with pytest.raises(ValueError, match="activation"):
        nn.Linear(3, 2, activation="gelu")


def test_manual_seed_makes_initialisation_reproducible():
    ge.manual_seed(42)
    a = nn.Linear(3, 4).weight.numpy().copy()
    ge.manual_seed(42)
    b = nn.Linear(3, 4).weight.numpy()
    assert np.array_equal(a, b)


@pytest.mark.parametrize("module,ref", [
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.Tanh(), np.tanh),
    (nn.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
])
def test_activation_modules(module, ref):
    x = ge.randn(3, 4)
    np.testing.assert_allclose(module(x).numpy(), ref(x.numpy()), rtol=1e-5, atol=1e-7)


def test_sequential_is_iterable_indexable_and_appendable():
    a, b = nn.Linear(2, 3), nn.Sigmoid()
    seq = nn.Sequential(a, b)
    assert seq[0] is a and seq[-1] is b and list(seq) == [a, b] and len(seq) == 2
    assert seq.layers == [a, b]
    c = nn.Linear(3, 1)
    seq.add(c)
    assert seq[2] is c and [n for n, _ in seq.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and sub.layers == [b, c]
    x = ge.randn(4, 2)
    np.testing.assert_allclose(seq(x).numpy(), c(b(a(x))).numpy())
    with pytest.raises(TypeError, match="Module"):
        seq.add("relu")


def test_dense_glorot_kernel_zero_bias_and_keras_activations():
    ge.manual_seed(0)
    d = nn.Dense(20, input_dim=30, activation="relu")
    limit = math.sqrt(6 / 50)
    assert d.weight.shape == (30, 20) and d.kernel is d.weight
    assert np.all(np.abs(d.weight.numpy()) <= limit)
    assert np.all(d.bias.numpy() == 0)
    x = ge.randn(4, 30)
    assert np.all(d(x).numpy() >= 0)
    sm = nn.Dense(5, input_dim=30, activation="softmax")
    np.testing.assert_allclose(sm(x).numpy().sum(-1), 1, rtol=1e-6)
    lin = nn.Dense(5, input_dim=30, activation="linear")
    np.testing.assert_allclose(lin(x).numpy(), x.numpy() @ lin.weight.numpy(), rtol=1e-5)
    assert nn.Dense(2, input_dim=3, use_bias=False).bias is None
    with pytest.raises(ValueError, match="'softmax'"):
        nn.Dense(2, activation="bogus")


def test_dense_infers_its_input_size_at_the_first_call():
    d = nn.Dense(4)
    assert not d.built and d.parameters() == []
    out = d(np.ones((3, 7), np.float32))
    assert d.built and d.input_dim == 7 and d.weight.shape == (7, 4) and out.shape == (3, 4)


def test_dense_with_the_wrong_input_width_raises_and_changes_nothing():
    d = nn.Dense(3, input_dim=2)
    before = snapshot(d.parameters())
    with pytest.raises(ge.ShapeError, match=r"Dense.*\(5, 3\).*input_dim=2"):
        d(ge.ones((5, 3)))
    assert_unchanged(before, d.parameters())


def test_state_dict_holds_detached_tensor_copies():
    m = TwoLayer()
    sd = m.state_dict()
    assert set(sd) == {n for n, _ in m.named_parameters()}
    assert all(isinstance(v, ge.Tensor) and not v.requires_grad for v in sd.values())
    sd["fc1.weight"].data[...] = 123
    assert not np.any(m.fc1.weight.numpy() == 123)
    best = {k: v.clone() for k, v in sd.items()}  # torch's "best model" idiom
    np.testing.assert_array_equal(best["fc2.bias"].cpu().numpy(), m.fc2.bias.numpy())


def test_load_state_dict_roundtrip_is_bit_exact_and_accepts_tensors_and_lists():
    a, b = TwoLayer(), TwoLayer()
    b.load_state_dict(a.state_dict())
    for (_n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes()
    sd = {k: ge.tensor(v) for k, v in a.state_dict().items()}
    sd["fc2.bias"] = sd["fc2.bias"].tolist()
    b.load_state_dict(sd)
    v = b.fc1.weight._version
    b.load_state_dict(a.state_dict())
    assert b.fc1.weight._version == v + 1  # a write bumps the version, like an optimizer step


def test_load_state_dict_names_every_missing_and_unexpected_key_and_changes_nothing():
    m = TwoLayer()
    sd = m.state_dict()
    del sd["fc1.bias"], sd["scale"]
    sd["fc3.weight"] = np.ones((2, 2))
    sd["fc1.weight"] = np.zeros((4, 3))  # valid, but must not be applied
    before = snapshot(m.parameters())
    with pytest.raises(KeyError) as info:
        m.load_state_dict(sd)
    msg = str(info.value)
    assert "fc1.bias" in msg and "scale" in msg and "fc3.weight" in msg
    assert_unchanged(before, m.parameters())


def test_load_state_dict_names_every_bad_shape_and_changes_nothing():
    m = TwoLayer()
    sd = {k: np.zeros_like(v) for k, v in m.state_dict().items()}
    sd["fc1.weight"] = np.zeros((3, 4))
    sd["fc2.bias"] = np.zeros((5,))
    before = snapshot(m.parameters())
    with pytest.raises(ge.ShapeError, match=r"fc1\.weight.*\(3, 4\).*\(4, 3\).*fc2\.bias.*"
                                            r"\(5,\).*\(2,\)"):
        m.load_state_dict(sd)
    assert_unchanged(before, m.parameters())


def test_load_state_dict_non_strict_skips_missing_and_extra_keys():
    m = TwoLayer()
    missing, unexpected = m.load_state_dict({"fc2.bias": np.array([1.0, 2.0]),
                                             "other": np.ones(1)}, strict=False)
    assert "fc1.weight" in missing and unexpected == ["other"]
    assert m.fc2.bias.tolist() == [1.0, 2.0] and m.fc2.bias.dtype == np.float32


def test_load_state_dict_builds_lazy_dense_layers():
    src = nn.Sequential(nn.Dense(4, input_dim=3), nn.Dense(2))
    src(np.ones((1, 3), np.float32))
    dst = nn.Sequential(nn.Dense(4), nn.Dense(2))
    dst.load_state_dict(src.state_dict())
    assert dst[0].input_dim == 3 and dst[1].input_dim == 4
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    assert np.array_equal(dst(x).numpy(), src(x).numpy())
    bad = nn.Sequential(nn.Dense(5), nn.Dense(2))
    with pytest.raises(ge.ShapeError, match=r"0\.weight"):
        bad.load_state_dict(src.state_dict())
    assert not bad[0].built


def test_to_casts_dtype_in_place_keeping_the_same_parameters():
    m = TwoLayer()
    params = m.parameters()
    assert m.to(dtype="float64") is m
    assert m.parameters() == params and all(p.dtype == np.float64 for p in params)
    assert m(ge.randn(2, 4, dtype="float64")).dtype == np.float64
    assert m.to("cpu") is m and all(p.device == "cpu" for p in params)


@pytest.mark.skipif(ge.cuda.is_available(), reason="checks the error without a GPU")
def test_to_cuda_without_a_gpu_raises_device_error_and_changes_nothing():
    m = TwoLayer()
    before = snapshot(m.parameters())
    with pytest.raises(ge.DeviceError):
        m.to("cuda")
    assert_unchanged(before, m.parameters())


def test_module_moves_to_cuda_and_trains_there(cuda_device):
    m = nn.Sequential(nn.Dense(8, input_dim=2, activation="tanh"),
                      nn.Dense(1, activation="sigmoid")).to("cuda")
    assert all(p.device.startswith("cuda") for p in m.parameters())
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = m.fit(X, y, epochs=5, verbose=0)
    assert len(h.history["loss"]) == 5
    assert isinstance(m.predict(X), np.ndarray)
    assert all(isinstance(w, np.ndarray) for w in m.get_weights())


def test_sequential_add_builds_a_dense_layer_when_its_input_width_is_known():
    m = nn.Sequential(nn.Dense(3, input_dim=2), nn.ReLU())
    m.add(nn.Dense(1))
    assert m[2].built and m[2].weight.shape == (3, 1) and len(m.parameters()) == 4
    lazy = nn.Sequential(nn.Dense(3), nn.Dense(1))
    assert not lazy[1].built and lazy.parameters() == []


def test_sequential_takes_an_ordered_dict_and_list_methods_as_torch():
    from collections import OrderedDict
    s = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU()),
                                   ("out", nn.Linear(3, 1))]))
    assert list(s.state_dict()) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert s.fc is s[0] and list(s[1:].state_dict()) == ["out.weight", "out.bias"]
    assert s(ge.ones(4, 2)).shape == (4, 1)
    t = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    assert t.append(nn.Linear(2, 1)) is t
    t.insert(0, nn.Tanh())
    assert list(t.state_dict()) == ["1.weight", "1.bias", "3.weight", "3.bias"]
    del t[0]
    assert list(t.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    t[1] = nn.Sigmoid()
    assert [type(m).__name__ for m in t] == ["Linear", "Sigmoid", "Linear"]
    t.extend([nn.ReLU()])
    assert type(t.pop(0)).__name__ == "Linear" and len(t) == 3
    assert list(t.state_dict()) == ["1.weight", "1.bias"]
    with pytest.raises(IndexError, match="out of range"):
        t.insert(9, nn.ReLU())
    assert len(t) == 3
