"""Optimizers against torch.optim (float64, 10 steps, rtol 1e-9), parameter groups, state
dicts, and bad input (each refused with nothing changed)."""

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn, optim

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (1,), ()]

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01,
             "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.3, 0.99), "eps": 1e-6}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.05}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "centered": True, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True}),
]


def _grad_at(p, t, k):
    # depends on the parameter and the step, so a wrong rule makes the trajectories diverge
    return np.cos(3.0 * p + k) * (1.5 if t % 2 else -0.7) + 0.1 * p ** 3


def _pair(shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in shapes]
    gp = [nn.Parameter(a, dtype="float64") for a in init]
    tp = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in init]
    return gp, tp


def _run(gopt, topt, gp, tp, steps=10, check=True):
    for t in range(steps):
        for k, (g, tt) in enumerate(zip(gp, tp)):
            grad = _grad_at(g.numpy(), t, k)
            g.grad = ge.tensor(grad, dtype="float64")
            tt.grad = torch.tensor(grad, dtype=torch.float64)
        gopt.step()
        topt.step()
        if check:
            for g, tt in zip(gp, tp):
                np.testing.assert_allclose(g.numpy(), tt.detach().numpy(), rtol=1e-9,
                                           atol=1e-12)


@pytest.mark.parametrize("name,kwargs", CONFIGS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_ten_steps_equal_torch_in_float64(name, kwargs):
    gp, tp = _pair()
    gopt = getattr(optim, name)(gp, **kwargs)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    _run(gopt, topt, gp, tp)
    assert all(g.dtype == np.float64 for g in gp)


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad"])
def test_torch_defaults(name):
    g = getattr(optim, name)([nn.Parameter(np.ones(2))])
    t = getattr(torch.optim, name)([torch.ones(2, requires_grad=True)])
    for k, v in g.defaults.items():
        assert t.defaults[k] == v, k


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}), ("Adagrad", {"lr": 0.1})])
def test_param_groups_with_their_own_hyperparameters_equal_torch(name, kwargs):
    gp, tp = _pair()
    over = {"lr": 0.3} if name != "SGD" else {"lr": 0.3, "momentum": 0.5}
    gopt = getattr(optim, name)([{"params": gp[:2], **over}, {"params": gp[2:]}], **kwargs)
    topt = getattr(torch.optim, name)([{"params": tp[:2], **over}, {"params": tp[2:]}],
                                      **kwargs)
    assert gopt.param_groups[0]["lr"] == 0.3 and gopt.param_groups[1]["lr"] == kwargs["lr"]
    _run(gopt, topt, gp, tp, steps=4)
    # assigned learning rates are honoured by the next steps
    for gg, tg in zip(gopt.param_groups, topt.param_groups):
        gg["lr"] = tg["lr"] = gg["lr"] * 0.25
    _run(gopt, topt, gp, tp, steps=4)


def test_lr_property_reads_and_writes_the_single_group():
    p = nn.Parameter(np.ones(2))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    assert opt.lr == 0.1 and opt.momentum == 0.9
    opt.lr = 0.5
    assert opt.param_groups[0]["lr"] == 0.5
    two = optim.SGD([{"params": [p], "lr": 0.2}, {"params": [nn.Parameter(np.ones(1))]}])
    with pytest.raises(ValueError, match="param_groups"):
        two.lr = 0.3
    with pytest.raises(ValueError, match="param_groups"):
        _ = two.lr


def test_add_param_group_and_refusals():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.Adam([a], lr=0.01)
    opt.add_param_group({"params": b, "lr": 0.1})
    assert opt.params == [a, b] and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD([{"params": [nn.Parameter(np.ones(1))], "lr": -1.0}])


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("RMSprop", {"momentum": 0.9, "centered": True}), ("Adagrad", {"lr_decay": 0.1})])
def test_state_dict_with_groups_roundtrips_through_a_file(name, kwargs, tmp_path):
    gp, tp = _pair(seed=3)
    def groups(ps):
        return [{"params": ps[:1], "lr": 0.05}, {"params": ps[1:]}]
    a = getattr(optim, name)(groups(gp), **kwargs)
    topt = getattr(torch.optim, name)(groups(tp), **kwargs)
    _run(a, topt, gp, tp, steps=3)
    ge.save(a.state_dict(), tmp_path / "opt.ge")
    copy = [nn.Parameter(p.numpy(), dtype="float64") for p in gp]
    b = getattr(optim, name)(groups(copy), lr=123.0)
    b.load_state_dict(ge.load(tmp_path / "opt.ge"))
    assert [g["lr"] for g in b.param_groups] == [g["lr"] for g in a.param_groups]
    _run(a, topt, gp, tp, steps=3)
    _run(b, getattr(torch.optim, name)(groups([torch.tensor(p.numpy()) for p in copy])),
         copy, [torch.tensor(p.numpy(), requires_grad=True) for p in copy], steps=3,
         check=False)
    for p, q in zip(gp, copy):
        assert np.array_equal(p.numpy(), q.numpy())


def test_load_state_dict_refuses_other_group_sizes_without_changes():
    gp, _ = _pair()
    opt = optim.SGD([{"params": gp[:2]}, {"params": gp[2:]}], lr=0.1)
    other = optim.SGD([{"params": gp[:1]}, {"params": gp[1:]}], lr=0.2)
    with pytest.raises(ValueError, match=r"\[2, 2\].*\[1, 3\]"):
        other.load_state_dict(opt.state_dict())
    assert [g["lr"] for g in other.param_groups] == [0.2, 0.2]


def test_load_state_dict_reads_a_torch_state_dict():
    gp, tp = _pair()
    gopt, topt = optim.Adam(gp, lr=0.01), torch.optim.Adam(tp, lr=0.01)
    _run(gopt, topt, gp, tp, steps=3)
    fresh = optim.Adam(gp, lr=0.5)
    fresh.load_state_dict(topt.state_dict())
    assert fresh.lr == 0.01 and all(st[0] == 3 for st in fresh._state)
    _run(fresh, topt, gp, tp, steps=3)


# ---------------------------------------------------------------- bad input

def _trained(name="Adam"):
    rng = np.random.default_rng(7)
    params = [nn.Parameter(rng.standard_normal(3).astype(np.float32)),
              nn.Parameter(rng.standard_normal((2, 2)).astype(np.float32))]
    opt = getattr(optim, name)(params, lr=0.1) if name != "SGD" else \
        optim.SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = ge.ones(p.shape)
    opt.step()
    return params, opt


def _snapshot(params, opt):
    return ([(p.numpy().copy(), p.dtype, p._version) for p in params],
            [None if st is None else [v.copy() if hasattr(v, "copy") else v for v in st]
             for st in opt._state], [dict(g) for g in opt.param_groups])


def _assert_unchanged(params, opt, snap):
    data, state, groups = snap
    for p, (d, dt, v) in zip(params, data):
        assert p.dtype == dt and p._version == v
        assert np.array_equal(p.numpy(), d) and p.numpy().tobytes() == d.tobytes()
    for st, old in zip(opt._state, state):
        assert len(st) == len(old)
        for a, b in zip(st, old):
            assert np.array_equal(a, b) and np.asarray(a).dtype == np.asarray(b).dtype
    assert [dict(g) for g in opt.param_groups] == groups


def _fake_cuda_grad(p):
    g = ge.ones(p.shape)
    g.device = "cuda:0"
    return g


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
@pytest.mark.parametrize("bad,exc,match", [
    (lambda p: ge.ones((2, 3)), ge.ShapeError, r"\(2, 3\).*\(3,\)"),
    (lambda p: ge.ones(3, dtype="float64"), ge.DTypeError, r"float64.*float32"),
    (lambda p: np.ones(3, np.float32), TypeError, r"numpy\.ndarray.*not a gradengine Tensor"),
    (_fake_cuda_grad, ge.DeviceError, r"cuda:0.*cpu"),
], ids=["shape", "dtype", "numpy", "device"])
def test_a_bad_gradient_is_refused_and_nothing_changes(name, bad, exc, match):
    params, opt = _trained(name)
    params[1].grad = ge.ones((2, 2))  # a good one first: it must not be updated either
    # past the .grad setter, which refuses these itself (as torch's): the optimizer's own
    # check guards gradients that arrive by other paths
    params[0]._grad = bad(params[0])
    snap = _snapshot(params, opt)
    with pytest.raises(exc, match=match):
        opt.step()
    _assert_unchanged(params, opt, snap)


def test_the_bad_gradient_of_a_later_parameter_changes_the_earlier_ones_neither():
    params, opt = _trained()
    params[0].grad = ge.ones(3)
    params[1]._grad = ge.ones(4)  # (past the .grad setter, which refuses it itself)
    snap = _snapshot(params, opt)
    with pytest.raises(ge.ShapeError, match=r"parameter 1.*\(4,\).*\(2, 2\)"):
        opt.step()
    _assert_unchanged(params, opt, snap)


def test_non_leaf_parameters_are_refused_at_construction():
    w = nn.Parameter(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="parameter 1 .*not a leaf"):
        optim.SGD([w, w * 2])
    with pytest.raises(ValueError, match="not a leaf"):
        optim.Adam([{"params": [w + 1]}])


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.SGD(p, lr=-0.1), "learning rate"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.0)), "betas"),
    (lambda p: optim.AdamW(p, betas=(-0.1, 0.9)), "betas"),
    (lambda p: optim.Adam(p, eps=-1e-8), "epsilon"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "alpha"),
    (lambda p: optim.RMSprop(p, momentum=-1), "momentum"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "decay"),
    (lambda p: optim.Adagrad(p, eps=-1), "epsilon"),
])
def test_invalid_hyperparameters_are_refused_like_torch(make, match):
    with pytest.raises(ValueError, match=match):
        make([nn.Parameter(np.ones(2, np.float32))])
