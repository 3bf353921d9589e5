"""ge.jit: replayed steps equal eager steps bit for bit on the CPU; retracing; limits."""

import warnings

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from ge_testutil import XOR_X, XOR_Y, jit_model, to_host, train_step
from gradengine import nn, optim

X, Y = XOR_X, XOR_Y
_model, _step = jit_model, train_step


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw"])
def test_hundred_replayed_steps_equal_eager_steps_bit_for_bit(kind, device):
    m1, o1 = _model(kind, device)
    m2, o2 = _model(kind, device)
    jstep = ge.jit(lambda x, y: _step(m2, o2, x, y))
    x, y = ge.tensor(X, device=device), ge.tensor(Y, device=device)
    eager = [to_host(_step(m1, o1, x, y)).item() for _ in range(100)]
    replay = [to_host(jstep(x, y)).item() for _ in range(100)]
    if device == "cpu":
        assert eager == replay
        for a, b in zip(m1.parameters(), m2.parameters()):
            assert to_host(a).tobytes() == to_host(b).tobytes()
    else:
        # one CUDA graph; its matmuls are gradengine's capture-safe kernel, not cuBLAS
        prog = next(iter(jstep.programs.values()))
        assert prog.graph is not None and prog.graph.usable, prog.graph and prog.graph.reason
        np.testing.assert_allclose(eager, replay, rtol=1e-4)
    assert jstep.traces == 1
    assert eager[-1] < eager[0]


def test_retraces_on_a_new_shape_and_replays_numpy_inputs():
    m, o = _model("sgd")
    jstep = ge.jit(lambda x, y: _step(m, o, x, y))
    jstep(X, Y)
    jstep(X, Y)
    assert jstep.traces == 1
    jstep(X[:2], Y[:2])
    assert jstep.traces == 2
    jstep(X[:2] + 1, Y[:2])
    assert jstep.traces == 2


def test_replay_uses_the_new_input_values():
    w = ge.tensor([1.0, 2.0], requires_grad=True)

    @ge.jit
    def f(x):
        w.grad = None if w.grad is None else w.grad
        out = (w * x).sum()
        return out

    with ge.no_grad():  # (with grad on, a result with an unused graph runs eagerly)
        assert f(ge.tensor([1.0, 1.0])).item() == 3.0
        assert f(ge.tensor([2.0, 3.0])).item() == 8.0
    assert f.traces == 1


def test_manual_sgd_with_in_place_updates_is_replayed():
    def run(jitted):
        ge.manual_seed(1)
        w = ge.randn(2, 1, requires_grad=True)
        b = ge.zeros(1, requires_grad=True)

        def step(x, y):
            nonlocal w, b
            loss = F.binary_cross_entropy_with_logits(x @ w + b, y)
            loss.backward()
            with ge.no_grad():
                w -= 0.5 * w.grad
                b -= 0.5 * b.grad
            w.grad = None
            b.grad = None
            return loss
        f = ge.jit(step) if jitted else step
        losses = [f(ge.tensor(X), ge.tensor(Y)).numpy().item() for _ in range(20)]
        return losses, w.numpy().copy()

    (l1, w1), (l2, w2) = run(False), run(True)
    assert l1 == l2
    assert w1.tobytes() == w2.tobytes()


def test_classifier_with_cross_entropy_and_max_is_replayed_exactly():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((16, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 16)

    def run(jitted):
        ge.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 5, activation="relu"), nn.Linear(5, 3))
        opt = optim.Adam(model.parameters(), lr=0.05)

        def step(x, lab):
            opt.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, lab) + 0.01 * logits.max(axis=1).abs().mean()
            loss.backward()
            opt.step()
            return loss
        f = ge.jit(step) if jitted else step
        return [f(ge.tensor(xs), ge.tensor(labels)).numpy().item() for _ in range(30)]

    assert run(False) == run(True)


def test_reading_values_while_tracing_falls_back_to_eager_with_a_warning():
    w = ge.tensor([1.0], requires_grad=True)
    calls = []

    @ge.jit
    def f(x):
        calls.append(1)
        y = (w * x).sum()
        if y.item() > 0:   # value-dependent control flow cannot be replayed
            return y * 2
        return y

    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        assert f(ge.tensor([1.0])).item() == 2.0
    assert f(ge.tensor([-1.0])).item() == -1.0
    assert len(calls) == 2


def test_output_structures_are_rebuilt():
    w = ge.tensor([1.0, 2.0])

    @ge.jit
    def f(x):
        return {"sum": (x * w).sum(), "pair": (x + 1, x * 2), "const": 3}

    f(ge.tensor([1.0, 1.0]))
    out = f(ge.tensor([2.0, 2.0]))
    assert out["sum"].item() == 6.0
    assert out["pair"][1].tolist() == [4.0, 4.0]
    assert out["const"] == 3


def test_keras_fit_with_jit_compile_matches_eager():
    def run(jit_compile):
        ge.manual_seed(0)
        model = nn.Sequential()
        model.add(nn.Dense(3, input_dim=2, activation="sigmoid"))
        model.add(nn.Dense(1, activation="sigmoid"))
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"], jit_compile=jit_compile)
        hist = model.fit(X, Y, epochs=20, verbose=0, shuffle=False)
        return hist.history["loss"], model.predict(X)

    (h1, p1), (h2, p2) = run(False), run(True)
    np.testing.assert_allclose(h1, h2, rtol=1e-6)
    np.testing.assert_allclose(p1, p2, rtol=1e-6)


def test_keras_evaluate_and_predict_with_jit_compile_match_eager():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((70, 4)).astype(np.float32)   # 70: a partial last batch
    ys = (xs.sum(axis=1, keepdims=True) > 0).astype(np.float32)

    def run(jit_compile):
        ge.manual_seed(0)
        model = nn.Sequential()
        model.add(nn.Dense(8, input_dim=4, activation="relu"))
        model.add(nn.Dense(1, activation="sigmoid"))
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"],
                      jit_compile=jit_compile)
        model.fit(xs, ys, epochs=3, verbose=0, shuffle=False)
        return model.evaluate(xs, ys, return_dict=True), model.predict(xs), model.predict(xs[:5])

    (e1, p1, q1), (e2, p2, q2) = run(False), run(True)
    assert e1.keys() == e2.keys()
    for k in e1:
        assert e1[k] == pytest.approx(e2[k], rel=1e-6)
    np.testing.assert_allclose(p1, p2, rtol=1e-6)
    np.testing.assert_allclose(q1, q2, rtol=1e-6)


def test_a_numpy_array_read_inside_is_read_again_at_every_replay():
    # ge.tensor / ge.as_tensor of a NumPy array inside a jitted function: a replay copies the
    # array again, so a global array changed between calls is seen (it was baked in before)
    table = np.ones(4, np.float32)
    f = ge.jit(lambda x: x * ge.tensor(table) + ge.as_tensor(table, dtype="float64").sum())
    x = ge.tensor(np.arange(4.0, dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # replayed, never the eager fallback (it warns)
        for k in range(4):
            table[:] = k + 1
            want = x.numpy() * (k + 1) + 4.0 * (k + 1)
            np.testing.assert_array_equal(f(x).numpy(), want.astype(np.float32))
    assert f.traces == 1
