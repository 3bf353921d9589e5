"""Optimizers: step for step equal to torch.optim (float64), atomic steps, state dicts."""

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from gradengine import nn, optim

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (1,), ()]

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
]


def _grad_at(p, t, k):
    # A gradient that depends on the parameter and the step, so trajectories diverge if a
    # rule is wrong; sign changes exercise the momentum and AMSGrad paths.
    return np.cos(3.0 * p + k) * (1.5 if t % 2 else -0.7) + 0.1 * p ** 3


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                       enumerate(CONFIGS)])
def test_step_for_step_equal_to_torch_in_float64(name, kwargs):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in SHAPES]
    gp = [nn.Parameter(a, dtype="float64") for a in init]
    tp = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in init]
    gopt = getattr(optim, name)(gp, **kwargs)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    for t in range(5):
        for k, (g, tt) in enumerate(zip(gp, tp)):
            grad = _grad_at(g.numpy(), t, k)
            g.grad = ge.tensor(grad, dtype="float64")
            tt.grad = torch.tensor(grad, dtype=torch.float64)
        gopt.step()
        topt.step()
        for g, tt in zip(gp, tp):
            np.testing.assert_allclose(g.numpy(), tt.detach().numpy(), rtol=0, atol=1e-9)
    for g in gp:
        assert g.dtype == np.float64


def test_full_training_steps_equal_to_torch_through_backward():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((8, 3))
    Y = rng.standard_normal((8, 2))
    W1, b1 = rng.standard_normal((3, 5)), rng.standard_normal(5)
    W2, b2 = rng.standard_normal((5, 2)), rng.standard_normal(2)
    gp = [nn.Parameter(a, dtype="float64") for a in (W1, b1, W2, b2)]
    tp = [torch.tensor(a, requires_grad=True) for a in (W1, b1, W2, b2)]
    for gcls, tcls, kw in ((optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
                           (optim.Adam, torch.optim.Adam, dict(lr=0.01))):
        gopt, topt = gcls(gp, **kw), tcls(tp, **kw)
        x, y = ge.tensor(X, dtype="float64"), ge.tensor(Y, dtype="float64")
        tx, ty = torch.tensor(X), torch.tensor(Y)
        for _ in range(5):
            gopt.zero_grad()
            h = F.linear(x, gp[0], gp[1], activation="sigmoid")
            F.mse_loss(F.linear(h, gp[2], gp[3]), y).backward()
            gopt.step()
            topt.zero_grad()
            th = torch.sigmoid(tx @ tp[0] + tp[1])
            torch.nn.functional.mse_loss(th @ tp[2] + tp[3], ty).backward()
            topt.step()
        for g, t in zip(gp, tp):
            np.testing.assert_allclose(g.numpy(), t.detach().numpy(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_parameters_without_grad_are_skipped_like_torch(name):
    gp = [nn.Parameter(np.ones(3), dtype="float64"), nn.Parameter(np.ones(2), dtype="float64")]
    tp = [torch.ones(3, dtype=torch.float64, requires_grad=True),
          torch.ones(2, dtype=torch.float64, requires_grad=True)]
    kw = dict(lr=0.1, momentum=0.9) if name == "SGD" else dict(lr=0.1)
    gopt, topt = getattr(optim, name)(gp, **kw), getattr(torch.optim, name)(tp, **kw)
    for t in range(4):
        for i, (g, tt) in enumerate(zip(gp, tp)):
            if i == 1 and t < 2:
                g.grad, tt.grad = None, None
                continue
            grad = np.full(g.shape, 0.5 + t)
            g.grad, tt.grad = ge.tensor(grad, dtype="float64"), torch.tensor(grad)
        gopt.step()
        topt.step()
    for g, tt in zip(gp, tp):
        np.testing.assert_allclose(g.numpy(), tt.detach().numpy(), atol=1e-12)


def test_float32_parameters_stay_float32_and_change():
    p = nn.Parameter(np.ones(4, np.float32))
    for cls in (optim.SGD, optim.Adam, optim.AdamW):
        opt = cls([p], lr=0.1)
        before = p.numpy().copy()
        p.grad = ge.ones(4)
        opt.step()
        assert p.dtype == np.float32 and p.grad.dtype == np.float32
        assert not np.array_equal(before, p.numpy())


def test_zero_grad_sets_none_or_zeros():
    p = nn.Parameter(np.ones(3, np.float32))
    opt = optim.SGD([p])
    p.grad = ge.ones(3)
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and np.all(p.grad.numpy() == 0) and p.grad.dtype == np.float32
    opt.zero_grad()
    assert p.grad is None


def test_keras_default_learning_rates():
    p = [nn.Parameter(np.ones(1, np.float32))]
    assert optim.SGD(p).lr == 0.01
    assert optim.Adam(p).lr == 0.001
    assert optim.AdamW(p).weight_decay == 0.01


def test_step_bumps_version_so_a_stale_backward_raises_graph_error():
    x = ge.tensor([1.0, 2.0, 3.0])
    w = nn.Parameter(np.ones(3, np.float32))
    opt = optim.SGD([w], lr=0.1)
    loss = (w * x).sum()
    loss.backward(retain_graph=True)
    v = w._version
    opt.step()
    assert w._version == v + 1
    loss2 = (w * w).sum()
    w.grad = ge.ones(3)
    opt.step()
    with pytest.raises(ge.GraphError, match=r"mul: .*modified in place.*\(3,\).*version"):
        loss2.backward()


@pytest.mark.parametrize("bad", [
    lambda p: optim.SGD(p, lr=-1),
    lambda p: optim.SGD(p, momentum=-0.1),
    lambda p: optim.SGD(p, nesterov=True),
    lambda p: optim.Adam(p, betas=(1.0, 0.9)),
    lambda p: optim.Adam(p, eps=-1),
    lambda p: optim.AdamW(p, weight_decay=-1),
])
def test_invalid_hyperparameters_raise_value_error(bad):
    with pytest.raises(ValueError):
        bad([nn.Parameter(np.ones(2, np.float32))])


def test_bad_params_argument_raises_type_error():
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(nn.Parameter(np.ones(2, np.float32)))
    with pytest.raises(TypeError, match="parameter 1"):
        optim.SGD([nn.Parameter(np.ones(2, np.float32)), np.ones(2)])
    with pytest.raises(TypeError, match="mixes Tensors and dicts"):
        optim.SGD([{"params": [nn.Parameter(np.ones(2, np.float32))]},
                   nn.Parameter(np.ones(2, np.float32))])


def _adam_setup(n=6):
    rng = np.random.default_rng(3)
    params = [nn.Parameter(rng.standard_normal((2, 3)), dtype="float64") for _ in range(n)]
    opt = optim.Adam(params, lr=0.1)
    for _ in range(2):
        for p in params:
            p.grad = ge.tensor(rng.standard_normal((2, 3)), dtype="float64")
        opt.step()
    for p in params:
        p.grad = ge.tensor(rng.standard_normal((2, 3)), dtype="float64")
    return params, opt


def _state_copy(opt):
    return [None if st is None else [v.copy() if hasattr(v, "copy") else v for v in st]
            for st in opt._state]


def _assert_same(params, opt, data, state):
    for p, d in zip(params, data):
        assert np.array_equal(p.numpy(), d)
    for st, old in zip(opt._state, state):
        assert st[0] == old[0]
        for a, b in zip(st[1:], old[1:]):
            assert np.array_equal(a, b)


def test_keyboard_interrupt_while_computing_leaves_everything_old(monkeypatch):
    params, opt = _adam_setup()
    data = [p.numpy().copy() for p in params]
    versions = [p._version for p in params]
    state = _state_copy(opt)
    calls = []
    original = opt.update_arrays

    def interrupting(xp, d, g, st, group):
        calls.append(d)
        if len(calls) == len(params) // 2 + 1:
            raise KeyboardInterrupt
        return original(xp, d, g, st, group)

    monkeypatch.setattr(opt, "update_arrays", interrupting)
    with pytest.raises(KeyboardInterrupt):
        opt.step()
    _assert_same(params, opt, data, state)
    assert [p._version for p in params] == versions
    monkeypatch.undo()
    opt.step()  # and the optimizer still works
    assert all(st[0] == 3 for st in opt._state)


class _FragileParameter(nn.Parameter):
    """A parameter whose ``data`` setter raises KeyboardInterrupt once armed: simulates an
    interrupt in the middle of the optimizer's commit."""

    __slots__ = ("armed",)

    @property
    def data(self):
        return ge.Tensor.data.__get__(self)

    @data.setter
    def data(self, value):
        if getattr(self, "armed", False):
            self.armed = False
            raise KeyboardInterrupt
        ge.Tensor.data.__set__(self, value)


def test_keyboard_interrupt_during_commit_rolls_every_parameter_back():
    rng = np.random.default_rng(4)
    params = [nn.Parameter(rng.standard_normal(3), dtype="float64") for _ in range(2)]
    fragile = _FragileParameter(rng.standard_normal(3), dtype="float64")
    params += [fragile] + [nn.Parameter(rng.standard_normal(3), dtype="float64")
                           for _ in range(2)]
    opt = optim.Adam(params, lr=0.1)
    for p in params:
        p.grad = ge.ones(3, dtype="float64")
    opt.step()
    data = [p.numpy().copy() for p in params]
    state = _state_copy(opt)
    fragile.armed = True
    with pytest.raises(KeyboardInterrupt):
        opt.step()
    _assert_same(params, opt, data, state)
    opt.step()
    assert all(st[0] == 2 for st in opt._state)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                         ("Adam", dict(lr=0.1, amsgrad=True)),
                                         ("AdamW", dict(lr=0.1))])
def test_state_dict_roundtrip_continues_identically(name, kwargs, tmp_path):
    rng = np.random.default_rng(5)
    init = [rng.standard_normal((2, 2)), rng.standard_normal(2)]
    a = [nn.Parameter(v, dtype="float64") for v in init]
    opt_a = getattr(optim, name)(a, **kwargs)
    grads = [[rng.standard_normal(p.shape) for p in a] for _ in range(5)]

    def run(params, opt, steps):
        for gs in steps:
            for p, g in zip(params, gs):
                p.grad = ge.tensor(g, dtype="float64")
            opt.step()

    run(a, opt_a, grads[:3])
    ge.save(opt_a.state_dict(), tmp_path / "opt.ge")
    b = [nn.Parameter(p.numpy(), dtype="float64") for p in a]
    opt_b = getattr(optim, name)(b, lr=123.0)
    opt_b.load_state_dict(ge.load(tmp_path / "opt.ge"))
    assert opt_b.lr == opt_a.lr
    run(a, opt_a, grads[3:])
    run(b, opt_b, grads[3:])
    for p, q in zip(a, b):
        assert np.array_equal(p.numpy(), q.numpy())


def test_load_state_dict_rejects_a_mismatch_without_changes():
    p = [nn.Parameter(np.ones((2, 2)), dtype="float64")]
    opt = optim.SGD(p, lr=0.1, momentum=0.9)
    p[0].grad = ge.ones((2, 2), dtype="float64")
    opt.step()
    sd = opt.state_dict()
    other = optim.SGD([nn.Parameter(np.ones(3), dtype="float64")], lr=0.5, momentum=0.9)
    with pytest.raises(ge.ShapeError, match=r"\(2, 2\).*\(3,\)"):
        other.load_state_dict(sd)
    assert other.lr == 0.5 and other._state == [None]
    with pytest.raises(ValueError, match="has 1 parameters"):
        optim.SGD([p[0], nn.Parameter(np.ones(1))]).load_state_dict(sd)
