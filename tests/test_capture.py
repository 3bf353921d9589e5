"""ge.jit against eager on the calls that used to replay stale values: masks, argmax,
casts, fresh models, NumPy scalars, frozen parameters, anomaly mode; and random
straight-line programs (hypothesis) run eagerly and jitted on several inputs."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradengine as ge
import gradengine.functional as F
from ge_testutil import to_host
from gradengine import nn, optim


def _same(a, b):
    np.testing.assert_array_equal(np.asarray(a.numpy()), np.asarray(b.numpy()))


def test_a_mask_is_recomputed_at_every_replay(device):
    f = ge.jit(lambda x: F.where(x > 0, x, x * 0))
    for v in ([1.0, -2.0, 3.0], [-1.0, 2.0, -3.0], [5.0, 5.0, -5.0]):
        x = ge.tensor(v, device=device)
        _same(f(x), F.where(x > 0, x, x * 0))


def test_argmax_indexing_reads_this_calls_argmax(device):
    f = ge.jit(lambda x: x[x.argmax()])
    for v in ([1.0, 5.0, 3.0], [9.0, 0.0, 3.0], [0.0, 1.0, 7.0]):
        x = ge.tensor(v, device=device)
        assert f(x).item() == max(v)
    assert f.traces == 1


def test_integer_casts_and_comparisons_are_replayed(device):
    f = ge.jit(lambda x: (x * 10).astype("int64") + (x > 0.5).astype("int64"))
    for v in ([0.1, 0.7], [0.9, 0.2], [0.55, 0.45]):
        x = ge.tensor(v, device=device)
        _same(f(x), (x * 10).astype("int64") + (x > 0.5).astype("int64"))


def test_a_fresh_model_each_call_gives_its_own_output():
    with ge.no_grad():  # inference calls: a replay returns no graph
        f = ge.jit(lambda model, x: model(x))
        x = ge.ones((2, 3))
        for seed in range(5):
            ge.manual_seed(seed)
            model = nn.Linear(3, 2)
            _same(f(model, x), model(x))
            del model
            gc.collect()


def test_the_cache_does_not_keep_a_dead_model_alive():
    with ge.no_grad():  # inference calls: a replay returns no graph
        f = ge.jit(lambda model, x: model(x))
        model = nn.Linear(3, 2)
        f(model, ge.ones((1, 3)))
        ref = weakref.ref(model)
        del model
        gc.collect()
        assert ref() is None
        assert not f.programs


@pytest.mark.parametrize("scalar", [np.int64(2), np.float32(0.5), 3, 2.5, True])
def test_python_and_numpy_scalars_are_keyed_by_value(scalar):
    f = ge.jit(lambda x, s: x * s)
    x = ge.tensor([1.0, 2.0])
    _same(f(x, scalar), x * scalar)
    other = type(scalar)(scalar * 3) if not isinstance(scalar, bool) else False
    _same(f(x, other), x * other)


def test_a_method_of_another_instance_is_not_replayed_for_the_first():
    class Scaler:
        def __init__(self, k):
            self.k = k

        @ge.jit
        def __call__(self, x):
            return x * self.k

    x = ge.tensor([1.0, 2.0])
    for k in (2.0, 3.0, 4.0):
        s = Scaler(k)
        _same(s(x), x * k)
        del s
        gc.collect()


def _sgd_step(model, opt):
    @ge.jit
    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def test_a_frozen_parameter_stops_moving_between_jitted_steps():
    ge.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    opt = optim.SGD(model.parameters(), lr=0.5)
    step = _sgd_step(model, opt)
    x, y = ge.randn(4, 2), ge.randn(4, 1)
    step(x, y)
    step(x, y)
    w = model[0].weight
    w.requires_grad = False
    frozen = w.numpy().copy()
    for _ in range(3):
        step(x, y)
    np.testing.assert_array_equal(w.numpy(), frozen)
    assert model[2].weight.grad is not None


def test_jitted_training_equals_eager_training_step_for_step():
    def make():
        ge.manual_seed(1)
        m = nn.Sequential(nn.Linear(2, 4, activation="tanh"), nn.Linear(4, 1))
        return m, optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m1, o1 = make()
    m2, o2 = make()
    step = _sgd_step(m2, o2)
    rng = np.random.default_rng(0)
    for _ in range(6):
        # float32 data for the float32 model (matmul does not promote, as torch's)
        x = ge.tensor(rng.standard_normal((5, 2)).astype(np.float32))
        y = ge.tensor(rng.standard_normal((5, 1)).astype(np.float32))
        o1.zero_grad()
        loss1 = F.mse_loss(m1(x), y)
        loss1.backward()
        o1.step()
        loss2 = step(x, y)
        _same(loss1, loss2)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        _same(p1, p2)


def test_a_replay_inside_detect_anomaly_raises_like_eager():
    f = ge.jit(lambda x: ge.log(x) * 0 + x.sqrt())
    f(ge.tensor([1.0, 4.0]))
    f(ge.tensor([1.0, 9.0]))
    with ge.detect_anomaly(), pytest.raises(ge.GraphError, match="log"):
        f(ge.tensor([0.0, 1.0]) - 1.0)


def test_a_replay_honours_grad_mode():
    w = ge.tensor([1.0, 2.0], requires_grad=True)
    f = ge.jit(lambda x: x * w)
    x = ge.tensor([3.0, 4.0])
    with pytest.warns(RuntimeWarning, match="requires grad"):
        assert f(x).requires_grad  # its graph is unused: eager, so that backward works
    assert f(x).requires_grad
    with ge.no_grad():
        out = f(x)
        _same(out, x * w)
    assert f.traces == 2


# ---------------------------------------------------------------- random programs

_UNARY = [
    lambda a: a.sigmoid(), lambda a: a.tanh(), lambda a: (a * 0.5).exp(),
    lambda a: a * 2.0 - 1.0, lambda a: a.sum(axis=-1, keepdims=True) + a,
    lambda a: a.mean(axis=0) * a, lambda a: a.reshape(-1).reshape(a.shape),
    lambda a: a.T.T, lambda a: F.where(a > 0, a, a * -0.1),
    lambda a: a[a.argmax(axis=-1)] if a.ndim == 1 else a * a.max(),
    lambda a: a + (a > 0).astype(a.dtype), lambda a: a.relu() + a.abs(),
    lambda a: a @ a.T if a.ndim == 2 else a * a,
]
_BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b,
           lambda a, b: F.maximum(a, b), lambda a, b: F.where(a > b, a, b)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_UNARY) - 1), st.integers(0, len(_BINARY) - 1),
                          st.booleans()), min_size=1, max_size=6),
       st.sampled_from([(3,), (2, 3), (4, 4)]), st.integers(0, 2**16))
def test_random_programs_replay_equal_to_eager(program, shape, seed):
    def run(x):
        a, b = x, x * 0.5 + 0.25
        for u, bi, use_binary in program:
            a = _UNARY[u](a)
            if use_binary and a.shape == b.shape:
                a = _BINARY[bi](a, b)
            a = a.tanh()  # keep values in range
        loss = a.sum()
        (g,) = ge.grad(loss, x)
        return a, g

    f = ge.jit(run)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        v = rng.standard_normal(shape).astype(np.float32)
        want = run(ge.tensor(v, requires_grad=True))
        got = f(ge.tensor(v, requires_grad=True))
        _same(got[0], want[0])
        _same(got[1], want[1])
    assert f.traces == 1


# ---------------------------------------------------------------- random draws

def _draws(x):
    d = x.device
    return (x + ge.randn(3, device=d) + ge.rand(3, device=d) * ge.randint(0, 5, (3,), device=d)
            + ge.randperm(3, device=d) + ge.randn(3, device=d) + F.dropout(x, 0.5))


def test_random_draws_are_made_anew_at_every_replay_as_eager_makes_them(device):
    f = ge.jit(_draws)
    x = ge.ones(3, device=device)
    for seed in range(4):  # the first call records, the others replay
        ge.manual_seed(seed)
        eager = to_host(_draws(x))
        ge.manual_seed(seed)
        assert np.array_equal(to_host(f(x)), eager)
    assert f.traces == 1
    assert not np.array_equal(to_host(f(x)), to_host(f(x)))  # no seed: fresh numbers


def test_two_identical_draws_are_not_merged_and_a_draw_is_not_folded():
    f = ge.jit(lambda: ge.randn(4) - ge.randn(4))
    f()
    a, b = f(), f()
    assert np.all(a.numpy() != 0) and not np.array_equal(a.numpy(), b.numpy())


# ---------------------------------------------------------------- module state and context

def _dropout_model():
    ge.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))


def test_train_and_eval_of_a_module_argument_select_their_own_programs():
    with ge.no_grad():  # inference calls: a replay returns no graph
        m = _dropout_model()
        f = ge.jit(lambda m, x: m(x))
        x = ge.ones(2, 4)
        f(m, x)
        f(m, x)
        m.eval()
        assert np.array_equal(f(m, x).numpy(), m(x).numpy())
        m.train()
        ge.manual_seed(1)
        a = f(m, x).numpy()
        ge.manual_seed(1)
        assert np.array_equal(a, m(x).numpy())
        assert f.traces == 2  # one program per mode, both kept


def test_a_module_read_from_a_global_or_a_closure_is_guarded():
    with ge.no_grad():  # inference calls: a replay returns no graph
        m = _dropout_model()
        x = ge.ones(2, 4)

        def make():
            return ge.jit(lambda x: m(x))
        f = make()
        f(x)
        f(x)
        m.eval()
        assert np.array_equal(f(x).numpy(), m(x).numpy())


class _Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.scale = 1.0

    def forward(self, x):
        return self.lin(x) * self.scale


class _ScaledJitted(_Scaled):
    @ge.jit
    def forward(self, x):
        return self.lin(x) * self.scale


@pytest.mark.parametrize("cls", [_Scaled, _ScaledJitted])
def test_a_changed_scalar_attribute_of_a_module_is_not_replayed_stale(cls):
    with ge.no_grad():  # inference calls: a replay returns no graph
        m = cls()
        f = ge.jit(lambda m, x: m(x)) if cls is _Scaled else (lambda m, x: m(x))
        x = ge.ones(1, 2)
        f(m, x)
        f(m, x)
        m.scale = 5.0
        expect = (m.lin(x) * 5.0).numpy()
        assert np.array_equal(f(m, x).numpy(), expect)


SCALE = 2.0


def _times_scale(x):
    return x * SCALE


def test_a_global_scalar_and_a_rebound_global_model_are_guarded():
    with ge.no_grad():  # inference calls: a replay returns no graph
        global SCALE
        f = ge.jit(_times_scale)
        x = ge.ones(2)
        f(x)
        SCALE = 3.0
        try:
            assert f(x).numpy().tolist() == [3.0, 3.0]
        finally:
            SCALE = 2.0
        assert f(x).numpy().tolist() == [2.0, 2.0]
        models = [nn.Linear(2, 1), nn.Linear(2, 1)]
        box = {"m": models[0]}

        def make():
            m = box["m"]
            return ge.jit(lambda x: m(x))
        g = make()
        g(ge.ones(1, 2))
        box["m"] = models[1]
        h = make()  # another function object: its own cache
        assert np.array_equal(h(ge.ones(1, 2)).numpy(), models[1](ge.ones(1, 2)).numpy())


W_GLOBAL = ge.tensor([1.0, 1.0])


def _times_w(x):
    return x * W_GLOBAL


def _times_late(x):
    return LATE_MODEL(x)  # noqa: F821 - defined after the decoration, as scripts often do


def test_a_global_or_closure_tensor_rebound_to_another_is_not_replayed_stale():
    global W_GLOBAL, LATE_MODEL
    with ge.no_grad():
        x = ge.tensor([2.0, 3.0])
        f = ge.jit(_times_w)
        f(x)
        f(x)
        W_GLOBAL.data[...] = 5.0  # written in place: the program reads it live
        assert f(x).numpy().tolist() == [10.0, 15.0]
        old = W_GLOBAL
        W_GLOBAL = ge.tensor([7.0, 7.0])
        try:
            assert f(x).numpy().tolist() == [14.0, 21.0]
            assert f(x).numpy().tolist() == [14.0, 21.0]
        finally:
            W_GLOBAL = old
        assert f(x).numpy().tolist() == [10.0, 15.0]

        w = ge.tensor([1.0, 2.0])

        def make():
            return ge.jit(lambda x: x * w)
        g = make()
        g(x)
        g(x)
        w = ge.tensor([3.0, 3.0])  # the closure cell now holds another tensor
        assert g(x).numpy().tolist() == [6.0, 9.0]

        h = ge.jit(_times_late)  # its global is defined only after the decoration
        models = [nn.Linear(2, 1), nn.Linear(2, 1)]
        xs = ge.ones(1, 2)
        try:
            for m in models + models[:1]:
                LATE_MODEL = m
                _same(h(xs), m(xs))
                _same(h(xs), m(xs))
        finally:
            del LATE_MODEL


def test_a_global_tensor_rebound_inside_the_function_follows_eager():
    global W_STEP
    start = np.array([1.0, -2.0], np.float32)

    def run(jitted):
        global W_STEP
        W_STEP = ge.tensor(start.copy())

        def step(x):
            global W_STEP
            W_STEP = W_STEP - 0.5 * x  # rebinds the global: a new tensor every call
            return W_STEP.sum()
        fn = ge.jit(step) if jitted else step
        with ge.no_grad():
            return [fn(ge.tensor([1.0, 2.0])).item() for _ in range(4)], W_STEP.numpy()
    eager, jitted = run(False), run(True)
    del W_STEP
    assert eager[0] == jitted[0]
    np.testing.assert_array_equal(eager[1], jitted[1])


def test_momentum_switched_off_and_on_keeps_the_buffer_as_torch_does():
    torch = pytest.importorskip("torch")
    moms = [0.9, 0.9, 0.0, 0.0, 0.5, 0.5]

    def ours(jit):
        w = ge.tensor(np.array([1.0, -2.0, 3.0], np.float32), requires_grad=True)
        opt = optim.SGD([w], lr=0.1, momentum=0.9)

        def step():
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            opt.step()
            return loss
        s = ge.jit(step) if jit else step
        for mom in moms:
            opt.param_groups[0]["momentum"] = mom
            s()
        assert "momentum_buffer" in opt.state_dict()["state"][0]
        return w.numpy()

    w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    for mom in moms:
        opt.param_groups[0]["momentum"] = mom
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    expect = w.detach().numpy()
    np.testing.assert_allclose(ours(False), expect, rtol=1e-6)
    assert np.array_equal(ours(True), ours(False))


# ---------------------------------------------------------------- .grad and open graphs

def _manual_sgd_step(m):
    def step(x, y):
        loss = F.mse_loss(m(x), y)
        for p in m.parameters():
            p.grad = None  # plain Python: the replay must clear it too
        loss.backward()
        with ge.no_grad():
            for p in m.parameters():
                p -= 0.1 * p.grad
        return loss
    return step


def test_a_gradient_set_to_none_inside_the_function_is_cleared_at_every_replay():
    ge.manual_seed(0)
    m1 = nn.Linear(3, 1)
    ge.manual_seed(0)
    m2 = nn.Linear(3, 1)
    eager, jitted = _manual_sgd_step(m1), ge.jit(_manual_sgd_step(m2))
    x = ge.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    y = ge.zeros(5, 1)
    a = [eager(x, y).item() for _ in range(5)]
    b = [jitted(x, y).item() for _ in range(5)]
    assert a == b and jitted.traces == 1
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert np.array_equal(p.numpy(), q.numpy())
        assert np.array_equal(p.grad.numpy(), q.grad.numpy())


def test_a_returned_tensor_with_an_unused_graph_runs_eagerly_so_backward_works():
    ge.manual_seed(0)
    m = nn.Linear(3, 1)
    x = ge.ones(4, 3)
    f = ge.jit(lambda x: F.mse_loss(m(x), ge.zeros(4, 1)))
    with pytest.warns(RuntimeWarning, match="requires grad"):
        f(x).backward()
    for _ in range(2):
        m.zero_grad()
        f(x).backward()  # a replay would have no graph: eager for this signature
        assert m.weight.grad is not None
    with ge.no_grad():  # no graph to give: replayed
        f(x)
        f(x)
    assert len([p for p in f.programs.values() if p is not None]) == 1


def test_an_index_given_as_the_raw_array_of_an_argument_is_replayed_with_its_values():
    x = ge.tensor([10.0, 20.0, 30.0])
    f = ge.jit(lambda x, i: x[i.data] * 1)
    for idx in ([0, 2], [1, 1], [2, 0]):
        i = ge.tensor(np.array(idx))
        assert f(x, i).numpy().tolist() == x.numpy()[idx].tolist()


def test_keras_sparse_crossentropy_on_probabilities_follows_each_calls_labels():
    from gradengine.keras import losses
    loss = losses.SparseCategoricalCrossentropy()
    p = ge.tensor(np.float32([[0.2, 0.8], [0.6, 0.4]]))
    f = ge.jit(lambda p, y: loss(y, p))
    for y in ([0, 1], [1, 0], [1, 1]):
        yt = ge.tensor(np.array(y))
        assert f(p, yt).item() == loss(yt, p).item()


@pytest.mark.parametrize("clip", ["norm2", "norm_inf", "norm1", "value"])
def test_gradient_clipping_inside_a_jitted_step_equals_eager(clip):
    x = ge.tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32))
    y = ge.ones(8, 1) * 10

    def run(jitted):
        ge.manual_seed(0)
        m = nn.Linear(3, 1)
        opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(m(x), y)
            loss.backward()
            if clip == "value":
                nn.utils.clip_grad_value_(m.parameters(), 0.3)
                total = loss
            else:
                p = {"norm2": 2.0, "norm_inf": float("inf"), "norm1": 1.0}[clip]
                total = nn.utils.clip_grad_norm_(m.parameters(), 0.5, norm_type=p)
            opt.step()
            return total
        fn = ge.jit(step) if jitted else step
        totals = [fn(x, y).item() for _ in range(4)]
        return totals, m.weight.numpy().copy(), m.bias.numpy().copy()
    eager, jitted = run(False), run(True)
    assert eager[0] == jitted[0]
    np.testing.assert_array_equal(eager[1], jitted[1])
    np.testing.assert_array_equal(eager[2], jitted[2])
