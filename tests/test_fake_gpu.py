"""The engine's CUDA *device plumbing*, exercised on a NumPy stand-in for CuPy.

Every test here installs ``tests/fake_cupy.py`` as ``gradengine.backend._cupy`` (one fake
device, ``cuda:0``) with ``GRADENGINE_KERNELS=0``, and runs the engine on device
``"cuda"``: device strings, host/device transfers, ``xp = cupy`` dispatch in every op and
VJP, the optimizers, Keras, ge.jit, checkpoints, DLPack and seeding. The fake refuses what
real CuPy refuses (implicit NumPy conversion, NumPy arrays as ufunc operands), so a host
array leaking into device code fails here as it would on a GPU.

What this does NOT cover: the fused CUDA kernels and real GPU numerics. Those are tested on
a GPU by tests/test_kernels_gpu.py and the other ``gpu``-marked tests. The monkeypatches
are undone after each test, so nothing here leaks into the CPU-only tests.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import fake_cupy
import gradengine as ge
import gradengine.functional as F
from ge_testutil import XOR_X, XOR_Y, jit_model, train_step
from gradengine import backend, nn, optim


def _is_dev(arr):
    return isinstance(arr, fake_cupy.ndarray)


def _host(t):
    return t.numpy() if isinstance(t, ge.Tensor) else np.asarray(t)


# ---------------------------------------------------------------- the fake itself

def test_the_fake_refuses_what_cupy_refuses(fake_gpu):
    a = fake_gpu.ones(3)
    assert not isinstance(a, np.ndarray) and a.device.id == 0
    with pytest.raises(TypeError):
        np.asarray(a)
    with pytest.raises(TypeError):
        a + np.ones(3)
    with pytest.raises(TypeError):
        fake_gpu.maximum(a, np.ones(3))
    assert _is_dev(a.sum()) and a.sum().shape == ()
    assert _is_dev(a[0]) and _is_dev(a + 1) and _is_dev(np.exp(a))
    assert a[1:].base is a and backend.device_of_array(a) == "cuda:0"
    assert ge.cuda.is_available() and ge.cuda.device_count() == 1


# The op table runs on the stand-in through the ``device`` fixture (tests/test_ops.py).

def test_gradcheck_directional_on_cuda(fake_gpu):
    x = ge.randn(9, 9, dtype="float64", device="cuda", requires_grad=True)
    assert ge.gradcheck(lambda a: (a.tanh() @ a).sum(axis=0), [x])



# ---------------------------------------------------------------- creation and transfers

def test_creation_functions_on_cuda(fake_gpu):
    for t in (ge.zeros(2, 3, device="cuda"), ge.ones((2,), device="cuda"),
              ge.full((2, 2), 3.0, device="cuda"), ge.eye(3, device="cuda"),
              ge.arange(5, device="cuda"), ge.randn(4, device="cuda"),
              ge.rand(4, device="cuda"), ge.empty(2, device="cuda"),
              ge.zeros_like(ge.ones(2, device="cuda")), ge.tensor([1.0, 2.0], device="cuda"),
              ge.tensor(np.ones(3), device="cuda"), ge.as_tensor([1, 2], device="cuda")):
        assert t.device == "cuda:0" and _is_dev(t.data)
    assert ge.arange(5, device="cuda").dtype == np.int64
    assert ge.tensor(fake_gpu.ones(3)).device == "cuda:0"
    assert ge.tensor([1.5]).device == "cpu"


def test_to_and_cpu_round_trip_carry_gradients(fake_gpu):
    x = ge.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    xc = x.to("cuda")
    assert xc.device == "cuda:0" and _is_dev(xc.data) and xc.requires_grad
    y = (xc * xc).sum(axis=1)
    back = y.cpu()
    assert back.device == "cpu" and isinstance(back.data, np.ndarray)
    (back * ge.tensor([1.0, 2.0])).sum().backward()
    assert x.grad.device == "cpu" and isinstance(x.grad.data, np.ndarray)
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, -4.0], [12.0, 16.0]])
    # a leaf on cuda, used on the CPU
    w = ge.tensor([0.5, 1.5], device="cuda", requires_grad=True)
    (w.cpu() * ge.tensor([2.0, 3.0])).sum().backward()
    assert w.grad.device == "cuda:0" and _is_dev(w.grad.data)
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 3.0])
    # cuda(), dtype change on the way, .numpy() is a host copy
    z = ge.tensor([1, 2, 3]).cuda()
    assert z.device == "cuda:0" and z.dtype == np.int64
    h = ge.tensor([1.0, 2.0]).to("cuda", dtype="float64")
    assert h.dtype == np.float64 and isinstance(h.numpy(), np.ndarray)
    assert "device='cuda:0'" in repr(h)
    assert h.tolist() == [1.0, 2.0] and float(h.sum()) == 3.0


def test_second_order_through_a_transfer(fake_gpu):
    x = ge.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = (x.to("cuda") ** 3).sum()
    (g,) = ge.grad(y, x, create_graph=True)
    assert g.device == "cpu"
    (gg,) = ge.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [6.0, 12.0])


def test_mixed_devices_raise_device_error_naming_both(fake_gpu):
    a, b = ge.ones(3, device="cpu"), ge.ones(3, device="cuda")
    for fn, name in ((lambda: a + b, "add"), (lambda: b * a, "mul"),
                     (lambda: F.matmul(a, b), "matmul"), (lambda: F.maximum(b, a), "maximum"),
                     (lambda: a < b, "lt"), (lambda: F.concatenate([a, b]), "concatenate"),
                     (lambda: F.cross_entropy(b.reshape(1, 3), ge.tensor([0])),
                      "cross_entropy"),
                     (lambda: F.mse_loss(b, a), "mse_loss")):
        with pytest.raises(ge.DeviceError, match=rf"{name}: .*(cpu.*cuda:0|cuda:0.*cpu)"):
            fn()
    w = ge.ones(3, device="cuda", requires_grad=True)
    with pytest.raises(ge.DeviceError, match=r"backward: .*cpu.*cuda:0"):
        (w * 2).backward(ge.ones(3))
    x = ge.ones(3, device="cuda")
    with pytest.raises(ge.DeviceError, match=r"add: .*cuda:0.*cpu"):
        x += ge.ones(3)
    # where and setitem: a condition or a value Tensor on the other device
    with pytest.raises(ge.DeviceError, match=r"where: .*cuda:0.*cpu"):
        F.where(a > 0, b, 0.0)
    with pytest.raises(ge.DeviceError, match=r"where: .*cpu.*cuda:0"):
        F.where(b > 0, a, 0.0)
    with pytest.raises(ge.DeviceError, match=r"setitem: .*cuda:0.*cpu"):
        x[0:2] = ge.ones(2)
    with pytest.raises(ge.DeviceError, match=r"setitem: .*cpu.*cuda:0"):
        a[0:2] = ge.ones(2, device="cuda")
    with pytest.raises(ge.DeviceError, match=r"no CUDA device 1"):
        ge.zeros(2, device="cuda:1")


def test_inplace_and_setitem_on_cuda(fake_gpu):
    x = ge.zeros(4, device="cuda")
    x += 1
    x *= ge.full((4,), 3.0, device="cuda")
    x[1:3] = 7.0
    x[ge.tensor([0], device="cuda")] = ge.tensor([5.0], device="cuda")
    x[np.array([3])] = 2.0
    assert _is_dev(x.data) and x.tolist() == [5.0, 7.0, 7.0, 2.0]
    w = ge.ones(3, device="cuda", requires_grad=True)
    y = w * 2
    y[0] = ge.tensor(10.0, device="cuda")
    y.sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 2.0] and _is_dev(w.grad.data)
    assert x[ge.tensor([True, False, True, False])].tolist() == [5.0, 7.0]
    assert x[[0, 0]].tolist() == [5.0, 5.0]
    assert x.argmax().item() == 1 and _is_dev(x.argmax().data)


def test_functional_constants_follow_the_tensor_device(fake_gpu):
    x = ge.tensor([[1.0, -1.0]], device="cuda", requires_grad=True)
    assert (x + np.array([1.0, 2.0])).device == "cuda:0"
    assert (np.array([1.0, 2.0]) * x).device == "cuda:0"
    assert F.where(x > 0, x, 0.0).device == "cuda:0"
    assert F.maximum(x, 0.5).device == "cuda:0"
    assert (x == np.array([1.0, 0.0])).tolist() == [[True, False]]
    labels = [1]
    loss = F.cross_entropy(x, labels) + F.cross_entropy(x, np.array(labels)) + \
        F.mse_loss(x, [[0.0, 0.0]]) + F.binary_cross_entropy_with_logits(x, np.ones((1, 2)))
    loss.backward()
    assert x.grad.device == "cuda:0"


def test_host_arrays_and_index_tensors_go_to_the_tensor_device(fake_gpu):
    xc = ge.arange(3.0, device="cuda")
    x = ge.arange(3.0)
    # a NumPy array as the second argument of maximum/minimum/where is a constant there
    assert F.maximum(xc, np.ones(3)).tolist() == [1.0, 1.0, 2.0]
    assert F.minimum(xc, np.ones(3)).tolist() == [0.0, 1.0, 1.0]
    assert F.where(xc > 0, xc, np.full(3, -1.0)).tolist() == [-1.0, 1.0, 2.0]
    assert F.where(np.array([True, False, True]), np.zeros(3), xc).tolist() == [0.0, 1.0, 0.0]
    # index Tensors move to the indexed tensor's device, both ways
    assert x[ge.tensor([2, 0], device="cuda")].tolist() == [2.0, 0.0]
    assert xc[ge.tensor([2, 0])].tolist() == [2.0, 0.0]
    w = ge.ones(3, requires_grad=True)
    w[ge.tensor([1, 1], device="cuda")].sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 0.0]
    # F.maximum with an array b still differentiates a, on the device
    v = ge.tensor([0.0, 2.0], device="cuda", requires_grad=True)
    F.maximum(v, np.ones(2)).sum().backward()
    assert v.grad.tolist() == [0.0, 1.0] and _is_dev(v.grad.data)


@pytest.fixture
def two_fake_gpus(monkeypatch):
    fake = fake_cupy.make_module(device_count=2)
    monkeypatch.setattr(backend, "_cupy", fake)
    monkeypatch.setitem(sys.modules, "cupyx", fake_cupy.make_cupyx())
    monkeypatch.setenv("GRADENGINE_KERNELS", "0")
    monkeypatch.setattr(backend._RNG, "cupy", {})
    monkeypatch.setattr(backend._RNG, "numpy", backend._RNG.numpy)
    monkeypatch.setattr(backend, "_several", None)  # re-asked of this fake
    yield fake


def test_copies_between_two_devices_land_on_the_target(two_fake_gpus):
    t = ge.tensor([1.0, 2.0], device="cuda:0", requires_grad=True)
    assert t.data.device.id == 0
    u = t.to("cuda:1")
    assert u.device == "cuda:1" and u.data.device.id == 1
    assert u.data is not t.data
    assert ge.tensor(t, device="cuda:1").data.device.id == 1
    assert ge.zeros(2, device="cuda:1").data.device.id == 1
    # the gradient comes back to cuda:0
    u.sum().backward()
    assert t.grad.device == "cuda:0" and t.grad.data.device.id == 0
    m = nn.Linear(2, 2, device="cuda:0").to("cuda:1")
    assert all(p.data.device.id == 1 for p in m.parameters())


def test_detect_anomaly_on_cuda(fake_gpu):
    x = ge.tensor([-1.0, 1.0], device="cuda", requires_grad=True)
    with ge.detect_anomaly():
        with pytest.raises(ge.GraphError, match="sqrt"):
            F.sqrt(x)
        (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


# ---------------------------------------------------------------- models and optimizers

def _mlp(device):
    ge.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8, activation="tanh"), nn.Linear(8, 8, activation="relu"),
                      nn.Linear(8, 4, activation="sigmoid"), nn.Linear(4, 1))
    return m.to(device)


@pytest.mark.parametrize("kind", ["adam", "sgd", "adamw-amsgrad"])
def test_sequential_with_optimizer_matches_cpu(kind, fake_gpu):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3)).astype(np.float32)
    Y = rng.standard_normal((16, 1)).astype(np.float32)
    runs = {}
    for device in ("cpu", "cuda"):
        m = _mlp(device)
        opt = {"adam": lambda p: optim.Adam(p, lr=0.01),
               "sgd": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                          weight_decay=1e-3),
               "adamw-amsgrad": lambda p: optim.AdamW(p, lr=0.01, amsgrad=True)}[kind](
            m.parameters())
        x, y = ge.tensor(X, device=device), ge.tensor(Y, device=device)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = F.mse_loss(m(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        for p in m.parameters():
            assert p.device == m.parameters()[0].device
            assert p.grad.device == p.device
        if device == "cuda":
            assert all(_is_dev(p.data) for p in m.parameters())
            st = opt.state_dict()
            assert all(isinstance(v, np.ndarray) for s in st["state"].values()
                       for v in s.values() if hasattr(v, "shape"))
            opt.load_state_dict(st)
            assert all(_is_dev(v) for s in opt._state for v in s if hasattr(v, "shape"))
        runs[device] = (losses, [p.numpy() for p in m.parameters()])
    np.testing.assert_allclose(runs["cuda"][0], runs["cpu"][0], rtol=1e-6, atol=1e-6)
    for a, b in zip(runs["cuda"][1], runs["cpu"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_module_to_moves_parameters_and_grads_both_ways(fake_gpu):
    m = _mlp("cpu")
    F.mse_loss(m(ge.ones((2, 3))), ge.zeros((2, 1))).backward()
    m.to("cuda")
    for p in m.parameters():
        assert p.device == "cuda:0" and _is_dev(p.data)
        assert p.grad.device == "cuda:0" and _is_dev(p.grad.data)
    out = m(ge.ones((2, 3), device="cuda"))
    assert out.device == "cuda:0"
    sd = m.state_dict()  # copies on the parameters' device, as torch's values
    assert all(v.device == "cuda:0" and _is_dev(v.data) for v in sd.values())
    assert all(isinstance(w, np.ndarray) for w in m.get_weights())  # Keras': host arrays
    m.load_state_dict(sd)
    assert all(_is_dev(p.data) for p in m.parameters())
    m.cpu()
    assert all(p.device == "cpu" and isinstance(p.data, np.ndarray) and
               isinstance(p.grad.data, np.ndarray) for p in m.parameters())


def test_layers_created_on_cuda(fake_gpu):
    lin = nn.Linear(3, 2, device="cuda")
    d = nn.Dense(2, input_dim=3, device="cuda")
    lazy = nn.Dense(2, device="cuda")
    x = ge.ones((4, 3), device="cuda")
    for layer in (lin, d, lazy):
        assert layer(x).device == "cuda:0"
        assert all(p.device == "cuda:0" and _is_dev(p.data) for p in layer.parameters())
    assert nn.Dense(2, device="cuda")(np.ones((1, 3), np.float32)).device == "cuda:0"


# ---------------------------------------------------------------- Keras

@pytest.mark.parametrize("jit_compile", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("loss,act,units", [("mse", None, 1),
                                            ("binary_crossentropy", "sigmoid", 1),
                                            ("categorical_crossentropy", "softmax", 3),
                                            ("sparse_categorical_crossentropy", "softmax", 3)])
def test_keras_fit_predict_on_cuda_matches_cpu(loss, act, units, jit_compile, fake_gpu):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2)).astype(np.float32)
    if loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, units, 40)
        metrics = ["accuracy", "mae"]
    elif loss == "categorical_crossentropy":
        y = np.eye(units, dtype=np.float32)[rng.integers(0, units, 40)]
        metrics = ["accuracy", "mse"]
    else:
        y = (rng.random((40, 1)) > 0.5).astype(np.float32)
        metrics = ["accuracy", "mae", lambda p, t: float(np.mean(p))]
    res = {}
    for device in ("cpu", "cuda"):
        ge.manual_seed(1)
        m = nn.Sequential(nn.Dense(8, input_dim=2, activation="tanh"),
                          nn.Dense(units, activation=act)).to(device)
        m.compile(optimizer="adam", loss=loss, metrics=metrics, jit_compile=jit_compile)
        h = m.fit(X, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
        ev = m.evaluate(X, y, verbose=0, return_dict=True)
        pred = m.predict(X)
        assert isinstance(pred, np.ndarray)
        assert all(p.device == m.parameters()[0].device for p in m.parameters())
        res[device] = (h.history, ev, pred)
    hc, hg = res["cpu"][0], res["cuda"][0]
    assert hc.keys() == hg.keys()
    for k in hc:
        assert all(isinstance(v, float) for v in hg[k]), k
        np.testing.assert_allclose(hg[k], hc[k], rtol=1e-5, atol=1e-6, err_msg=k)
    for k in res["cpu"][1]:
        np.testing.assert_allclose(res["cuda"][1][k], res["cpu"][1][k], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res["cuda"][2], res["cpu"][2], rtol=1e-5, atol=1e-6)


def test_keras_lazy_model_moved_before_compile_and_device_inputs(fake_gpu):
    m = nn.Sequential(nn.Dense(4, activation="relu"), nn.Dense(1)).to("cuda")
    m.compile(optimizer="sgd", loss="mse")
    X = ge.randn(8, 3, device="cuda")
    y = fake_gpu.zeros((8, 1), dtype=np.float32)
    m.fit(X, y, epochs=2, batch_size=4, verbose=0, validation_data=(X, y))
    assert all(p.device == "cuda:0" and _is_dev(p.data) for p in m.parameters())
    assert m.predict(X).shape == (8, 1)
    w = m.get_weights()
    assert all(isinstance(a, np.ndarray) for a in w)
    m.set_weights(w)
    assert all(_is_dev(p.data) for p in m.parameters())


# ---------------------------------------------------------------- jit

@pytest.mark.parametrize("graphs", ["graph", "no-graph"])
@pytest.mark.parametrize("kind", ["sgd", "plain", "adam", "adamw"])
def test_jit_replay_on_cuda_equals_eager(kind, graphs, fake_gpu, monkeypatch):
    if graphs == "no-graph":
        monkeypatch.setenv("GRADENGINE_CUDA_GRAPHS", "0")
    m1, o1 = jit_model(kind, "cuda")
    m2, o2 = jit_model(kind, "cuda")
    jstep = ge.jit(lambda x, y: train_step(m2, o2, x, y))
    x, y = ge.tensor(XOR_X, device="cuda"), ge.tensor(XOR_Y, device="cuda")
    eager = [train_step(m1, o1, x, y).numpy().item() for _ in range(20)]
    replay = []
    for _ in range(20):
        out = jstep(x, y)
        assert out.device == "cuda:0" and _is_dev(out.data)
        replay.append(out.numpy().item())
    assert jstep.traces == 1
    prog = next(iter(jstep.programs.values()))
    if graphs == "graph":
        # one CUDA graph, captured once; its matmuls are the capture-safe kernel's (here
        # the kernels are off: a broadcast product and a sum), so float32 rounding differs
        assert prog.graph.usable and prog.graph.captures == 1, prog.graph.reason
        np.testing.assert_allclose(eager, replay, rtol=2e-6)
        for a, b in zip(m1.parameters(), m2.parameters()):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    else:
        assert prog.graph is None
        assert eager == replay  # the same array program on the same backend
        for a, b in zip(m1.parameters(), m2.parameters()):
            assert a.numpy().tobytes() == b.numpy().tobytes()
    for b in m2.parameters():
        assert _is_dev(b.data) and _is_dev(b.grad.data)


def test_jit_cuda_graph_recaptures_when_what_it_baked_in_changes(fake_gpu):
    m1, o1 = jit_model("plain", "cuda")
    m2, o2 = jit_model("plain", "cuda")
    jstep = ge.jit(lambda x, y: train_step(m2, o2, x, y))
    x, y = ge.tensor(XOR_X, device="cuda"), ge.tensor(XOR_Y, device="cuda")
    for _ in range(3):
        train_step(m1, o1, x, y), jstep(x, y)
    prog = next(iter(jstep.programs.values()))
    assert prog.graph.captures == 1
    o1.lr = o2.lr = 0.05                      # a hyperparameter baked into the graph
    for _ in range(2):
        a, b = train_step(m1, o1, x, y), jstep(x, y)
    assert prog.graph.captures == 2
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-6)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):  # rebound outside the replay
        p1.data = p1.data * 0.5
        p2.data = p2.data * 0.5
    for _ in range(2):
        a, b = train_step(m1, o1, x, y), jstep(x, y)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-6)
    assert prog.graph.captures == 2  # copied into the same buffers: the graph still holds


def test_jit_cuda_graph_keeps_pool_memory_constant(fake_gpu):
    from gradengine.cuda import graph as cuda_graph
    m, o = jit_model("sgd", "cuda")
    jstep = ge.jit(lambda x, y: train_step(m, o, x, y))
    x, y = ge.tensor(XOR_X, device="cuda"), ge.tensor(XOR_Y, device="cuda")
    for _ in range(3):
        jstep(x, y)
    before = cuda_graph.pool_bytes()
    for _ in range(20):
        jstep(x, y)
    assert cuda_graph.pool_bytes() == before


def test_jit_step_that_cannot_be_captured_warns_once_and_replays_uncaptured(fake_gpu):
    ge.manual_seed(0)
    w = ge.randn(2, 3, 4, device="cuda", requires_grad=True)  # batched matmul: cuBLAS only
    opt = ge.optim.SGD([w], lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = (x @ w).sum()
        loss.backward()
        opt.step()
        return loss

    jstep = ge.jit(step)
    x = ge.ones(2, 5, 3, device="cuda")
    jstep(x)
    with pytest.warns(RuntimeWarning, match="without a CUDA graph"):
        jstep(x)
    prog = next(iter(jstep.programs.values()))
    assert not prog.graph.usable and "cuBLAS" in prog.graph.reason
    w_before = w.numpy().copy()
    jstep(x)  # uncaptured, no new warning, still updates
    assert not np.array_equal(w.numpy(), w_before)


def test_jit_with_device_array_arguments(fake_gpu):
    f = ge.jit(lambda a, b: (a * b + 1).sum(axis=0))
    a = fake_gpu.ones((3, 2))
    b = fake_gpu.full((3, 2), 2.0)
    r1, r2 = f(a, b), f(a, b)
    assert f.traces == 1 and r1.device == r2.device == "cuda:0"
    assert r2.tolist() == [9.0, 9.0]


# ---------------------------------------------------------------- checkpoints, DLPack, seed

def test_save_cuda_parameters_load_on_cpu_bit_exact(fake_gpu, tmp_path):
    m = _mlp("cuda")
    ge.save({"m": m.state_dict(), "t": ge.ones(2, device="cuda"),
             "raw": fake_gpu.arange(3)}, tmp_path / "x.ge")
    back = ge.load(tmp_path / "x.ge")
    cpu = _mlp("cpu")
    cpu.load_state_dict(back["m"])
    for p, q in zip(m.parameters(), cpu.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes()
    assert back["raw"].tolist() == [0, 1, 2] and isinstance(back["t"], ge.Tensor)
    assert back["t"].device == "cpu"


def test_dlpack_round_trip(fake_gpu):
    t = ge.arange(6, dtype="float32", device="cuda").reshape(2, 3)
    assert t.__dlpack_device__() == (2, 0)
    u = ge.from_dlpack(t)
    assert u.device == "cuda:0" and _is_dev(u.data)
    assert u.tolist() == t.tolist()
    u.data[0, 0] = 42.0  # shares memory, as DLPack does
    assert t.tolist()[0][0] == 42.0
    c = ge.from_dlpack(np.arange(3.0))
    assert c.device == "cpu"
    assert ge.tensor(t).device == "cuda:0"  # a Tensor copy keeps its device


def test_manual_seed_reproducible_on_cuda(fake_gpu):
    ge.manual_seed(5)
    a = [ge.randn(3, device="cuda").numpy(), ge.rand(2, device="cuda").numpy(),
         nn.Linear(2, 2, device="cuda").weight.numpy()]
    ge.manual_seed(5)
    b = [ge.randn(3, device="cuda").numpy(), ge.rand(2, device="cuda").numpy(),
         nn.Linear(2, 2, device="cuda").weight.numpy()]
    for x, y in zip(a, b):
        assert x.tobytes() == y.tobytes()
    ge.manual_seed(6)
    assert ge.randn(3, device="cuda").numpy().tobytes() != a[0].tobytes()
    assert ge.randn(3, device="cuda").dtype == np.float32


def test_cuda_helpers(fake_gpu):
    ge.cuda.synchronize()
    ge.cuda.synchronize("cuda:0")
    assert ge.cuda.memory_used() == 0
    ge.set_default_device("cuda")  # the fixture restores the default
    assert ge.zeros(2).device == "cuda:0" and ge.tensor([1.0]).device == "cuda:0"
    assert nn.Linear(2, 2).weight.device == "cuda:0"


def test_ops_and_their_gradients_run_on_their_tensors_gpu(two_fake_gpus):
    x = ge.tensor([1.0, 2.0], device="cuda:1", requires_grad=True)
    y = (x * 3).sigmoid().sum()
    assert y.data.device.id == 1  # computed with cuda:1 current, not CuPy's default 0
    y.backward()
    assert x.grad.device == "cuda:1" and x.grad.data.device.id == 1
