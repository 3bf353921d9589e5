"""ge.jit's lowering (jit_lower.py) and flat optimizer step (jit_optim.py) on the CPU.

Every rule must compute what the eager op computes, bit for bit: each case runs the same
training step eagerly and replayed and compares losses, gradients and parameters as bytes,
and checks that the rule was used (no call of the op's forward is left in the program).
"""

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from gradengine import nn, optim

RNG = np.random.default_rng(7)
X = RNG.standard_normal((6, 3)).astype(np.float32)
Y = RNG.standard_normal((6, 2)).astype(np.float32)


def _net(act, bias=True, dtype="float32", sizes=(3, 5, 2)):
    ge.manual_seed(3)
    layers = [nn.Linear(i, o, activation=act, bias=bias) for i, o in zip(sizes, sizes[1:])]
    return nn.Sequential(*layers).to(dtype=dtype) if dtype != "float32" else \
        nn.Sequential(*layers)


def _pair(make_model, make_opt, body):
    """Two identical (model, optimizer) pairs and the step ``body(model, x, y)``."""
    runs = []
    for _ in range(2):
        model = make_model()
        opt = make_opt(model.parameters())

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = body(model, x, y)
            loss.backward()
            opt.step()
            return loss
        runs.append((model, opt, step))
    return runs


def _bytes(model):
    return [p.numpy().tobytes() for p in model.parameters()]


def _grads(model):
    return [p.grad.numpy().tobytes() for p in model.parameters()]


def _compare(runs, x, y, steps=6):
    (m1, _, eager), (m2, _, step2) = runs
    jstep = ge.jit(step2)
    for k in range(steps):
        a, b = eager(x, y), jstep(x, y)
        assert a.numpy().tobytes() == b.numpy().tobytes(), f"loss differs at step {k}"
        assert _grads(m1) == _grads(m2), f"gradients differ at step {k}"
        assert _bytes(m1) == _bytes(m2), f"parameters differ at step {k}"
    assert jstep.traces == 1
    return next(iter(jstep.programs.values()))


def _calls_left(prog):
    """The lines still calling a recorded function (fN) other than the optimizer step."""
    return [ln.strip() for ln in prog.source.splitlines()
            if "= f" in ln and "(" in ln]


@pytest.mark.parametrize("act", [None, "sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_layers_are_lowered_and_exact(act, bias):
    runs = _pair(lambda: _net(act, bias), lambda p: optim.SGD(p, lr=0.1),
                 lambda m, x, y: F.mse_loss(m(x), y))
    _compare(runs, ge.tensor(X), ge.tensor(Y))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_reductions_are_lowered_and_exact(reduction):
    runs = _pair(lambda: _net("sigmoid"), lambda p: optim.SGD(p, lr=0.05),
                 lambda m, x, y: F.mse_loss(m(x), y, reduction=reduction))
    _compare(runs, ge.tensor(X), ge.tensor(Y))


def test_elementwise_ops_with_scalars_and_activations_are_exact():
    def body(m, x, y):
        h = m(x)
        z = (h * 2.5 + 1.0 - y / 3.0) * h - (-h)
        return F.mse_loss(F.sigmoid(z) + F.tanh(z) + F.relu(z), y, reduction="none").mean()
    runs = _pair(lambda: _net(None), lambda p: optim.SGD(p, lr=0.001), body)
    _compare(runs, ge.tensor(X), ge.tensor(Y))


def test_three_d_input_and_float64_are_exact():
    x3 = RNG.standard_normal((2, 6, 3))
    y3 = RNG.standard_normal((2, 6, 2))
    runs = _pair(lambda: _net("tanh", dtype="float64"), lambda p: optim.Adam(p, lr=0.01),
                 lambda m, x, y: F.mse_loss(m(x), y))
    _compare(runs, ge.tensor(x3), ge.tensor(y3))


def test_large_batch_bias_gradient_accumulates_in_float64_as_eager():
    xb = RNG.standard_normal((100, 3)).astype(np.float32)
    yb = RNG.standard_normal((100, 2)).astype(np.float32)
    runs = _pair(lambda: _net("sigmoid"), lambda p: optim.SGD(p, lr=0.1),
                 lambda m, x, y: F.mse_loss(m(x), y))
    _compare(runs, ge.tensor(xb), ge.tensor(yb))


@pytest.mark.parametrize("make_opt", [
    lambda p: optim.SGD(p, lr=0.1),
    lambda p: optim.SGD(p, lr=0.1, weight_decay=0.01),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.001),
    lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    lambda p: optim.Adam(p, lr=0.01, weight_decay=0.01),
    lambda p: optim.AdamW(p, lr=0.01),
], ids=["sgd", "sgd-wd", "momentum", "nesterov-wd", "amsgrad", "adam-l2", "adamw"])
def test_flat_optimizer_step_equals_eager_for_every_optimizer(make_opt):
    runs = _pair(lambda: _net("tanh"), make_opt, lambda m, x, y: F.mse_loss(m(x), y))
    prog = _compare(runs, ge.tensor(X), ge.tensor(Y), steps=12)
    assert prog.flat_steps, "the optimizer step was not lowered"
    (m1, o1, _), (m2, o2, _) = runs
    # the optimizer state is the eager one, entry by entry
    for s1, s2 in zip(o1._state, o2._state):
        assert (s1 is None) == (s2 is None)
        for a, b in zip(s1 or (), s2 or ()):
            assert (a.tobytes() == b.tobytes()) if hasattr(a, "tobytes") else a == b


def test_parameters_become_views_of_one_buffer_and_grads_are_set():
    runs = _pair(lambda: _net("sigmoid"), lambda p: optim.SGD(p, lr=0.1),
                 lambda m, x, y: F.mse_loss(m(x), y))
    prog = _compare(runs, ge.tensor(X), ge.tensor(Y), steps=3)
    flat = prog.flat_steps[0]
    m2 = runs[1][0]
    for p, v in zip(m2.parameters(), flat.views):
        assert p.data is v and np.shares_memory(p.data, flat.B)
    assert all(p.grad is not None for p in m2.parameters())


@pytest.mark.parametrize("change", ["eager_step", "load_state_dict", "rebind", "set_lr"])
def test_changes_outside_the_replay_are_picked_up(change):
    runs = _pair(lambda: _net("tanh"), lambda p: optim.Adam(p, lr=0.01),
                 lambda m, x, y: F.mse_loss(m(x), y))
    (m1, o1, eager), (m2, o2, step2) = runs
    jstep = ge.jit(step2)
    x, y = ge.tensor(X), ge.tensor(Y)
    for _ in range(3):
        eager(x, y), jstep(x, y)
    if change == "eager_step":
        eager(x, y), step2(x, y)
    elif change == "load_state_dict":
        saved_m, saved_o = m1.state_dict(), o1.state_dict()
        eager(x, y)
        for m, o in ((m1, o1), (m2, o2)):
            m.load_state_dict(saved_m)
            o.load_state_dict(saved_o)
    elif change == "rebind":
        for p1, p2 in zip(m1.parameters(), m2.parameters()):
            p1.data = p1.data * 0.5
            p2.data = p2.data * 0.5
    else:
        o1.lr = o2.lr = 0.003
    for k in range(4):
        a, b = eager(x, y), jstep(x, y)
        assert a.numpy().tobytes() == b.numpy().tobytes(), (change, k)
        assert _bytes(m1) == _bytes(m2), (change, k)
    assert jstep.traces == 1


def test_gradient_accumulation_without_zero_grad_is_replayed_exactly():
    def make():
        ge.manual_seed(1)
        return nn.Linear(3, 2, activation="sigmoid")

    m1, m2 = make(), make()

    def acc(m, x, y):
        F.mse_loss(m(x), y).backward()

    jacc = ge.jit(lambda x, y: acc(m2, x, y))
    x, y = ge.tensor(X), ge.tensor(Y)
    for _ in range(4):
        acc(m1, x, y)
        jacc(x, y)
        for p1, p2 in zip(m1.parameters(), m2.parameters()):
            assert p1.grad.numpy().tobytes() == p2.grad.numpy().tobytes()


def test_mixed_parameter_dtypes_are_not_flattened_but_still_exact():
    def make():
        ge.manual_seed(2)
        w = ge.randn(3, 2, requires_grad=True)
        b = ge.zeros(2, dtype="float64", requires_grad=True)
        return [w, b]

    p1, p2 = make(), make()
    o1, o2 = optim.SGD(p1, lr=0.1), optim.SGD(p2, lr=0.1)

    def step(ps, o, x):
        o.zero_grad()
        loss = ((x @ ps[0]) * ps[1]).sum()
        loss.backward()
        o.step()
        return loss

    jstep = ge.jit(lambda x: step(p2, o2, x))
    x = ge.tensor(X)
    for _ in range(4):
        assert step(p1, o1, x).item() == jstep(x).item()
    prog = next(iter(jstep.programs.values()))
    assert not prog.flat_steps
    assert [p.numpy().tobytes() for p in p1] == [p.numpy().tobytes() for p in p2]


def test_replayed_losses_are_fresh_arrays():
    runs = _pair(lambda: _net("sigmoid"), lambda p: optim.SGD(p, lr=0.5),
                 lambda m, x, y: F.mse_loss(m(x), y))
    jstep = ge.jit(runs[1][2])
    x, y = ge.tensor(X), ge.tensor(Y)
    losses = [jstep(x, y) for _ in range(5)]
    values = [loss.item() for loss in losses]
    assert len(set(values)) == 5  # none overwritten by a later replay


def test_no_floating_point_warning_leaks_and_the_error_state_is_restored():
    import warnings
    m = nn.Linear(2, 2, activation="sigmoid")
    opt = optim.SGD(m.parameters(), lr=0.1)

    @ge.jit
    def step(x):
        opt.zero_grad()
        loss = m(x).sum()
        loss.backward()
        opt.step()
        return loss

    before = np.geterr()
    x = ge.tensor(np.full((3, 2), -1e30, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            step(x)
    assert np.geterr() == before


def test_flat_buffer_views_start_on_32_element_boundaries():
    from gradengine.capture.flat_step import ALIGN
    ge.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5, activation="tanh"), nn.Linear(5, 1))
    opt = optim.Adam(model.parameters(), lr=0.01)
    x, y = ge.randn(4, 3), ge.randn(4, 1)

    @ge.jit
    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step(x, y)
    flats = [f for prog in step.programs.values() for f in prog.flat_steps]
    assert flats
    for flat in flats:
        assert all(o % ALIGN == 0 for o in flat.offsets)
        itemsize = flat.G.dtype.itemsize
        for p, g in zip(flat.params, flat.grads):
            assert p.data.ctypes.data % (ALIGN * itemsize) == flat.B.ctypes.data % (
                ALIGN * itemsize)
            assert g.ctypes.data % (ALIGN * itemsize) == flat.G.ctypes.data % (ALIGN * itemsize)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_weight_gradients_are_computed_into_the_flat_buffer(dtype):
    # an op whose forward takes out= (matmul) writes a parameter's gradient straight into
    # the optimizer's flat gradient buffer: no copy left for the weights, results exact
    runs = _pair(lambda: _net("sigmoid", dtype=dtype), lambda p: optim.SGD(p, lr=0.1),
                 lambda m, x, y: F.mse_loss(m(x), y))
    prog = _compare(runs, ge.tensor(X.astype(dtype)), ge.tensor(Y.astype(dtype)))
    lines = prog.source.splitlines()
    assert sum("out=g" in ln for ln in lines) == 2, prog.source  # the two weights
    assert sum("_copyto(" in ln for ln in lines) == 2, prog.source  # the two biases


def test_a_gradient_of_another_dtype_is_copied_not_written_out():
    # float64 data through float32 weights cast up in the step (matmul does not promote,
    # as torch's): the weight gradient leaves the matmul as float64 and is cast down to
    # the float32 buffer afterwards, never written into it with out=
    x64 = ge.tensor(X.astype(np.float64))
    y64 = ge.tensor(np.tile(Y[:, :1], (1, 5)).astype(np.float64))
    runs = _pair(lambda: _net(None, sizes=(3, 5)), lambda p: optim.SGD(p, lr=0.1),
                 lambda m, x, y: F.mse_loss(F.linear(x, m[0].weight.double(),
                                                     m[0].bias.double()), y))
    prog = _compare(runs, x64, y64)
    assert "out=g" not in prog.source
