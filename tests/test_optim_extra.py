"""The rest of torch.optim (Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop, Adafactor, LBFGS,
SparseAdam), the extra schedulers and swa_utils, against torch computed here: the same
model and loss from identical weights, parameters compared after every step (float64
and float32); jitted steps against eager steps; state dicts against torch's."""

import warnings

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn, optim
from gradengine.optim import lr_scheduler as ls
from gradengine.optim import swa_utils

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 4))
Y = RNG.standard_normal((6, 2))
INIT = [RNG.standard_normal((4, 3)), RNG.standard_normal(3), RNG.standard_normal((3, 2)),
        RNG.standard_normal((2, 3, 2))]


def _ge_params(dtype):
    return [nn.Parameter(a, dtype=dtype) for a in INIT]


def _torch_params(dtype):
    tdt = getattr(torch, dtype)
    return [torch.tensor(a, dtype=tdt, requires_grad=True) for a in INIT]


def _loss(lib, params, x, y):
    # the same formula in both: a small two-layer net plus a 3-d parameter
    w, b, v, z = params
    h = lib.tanh(x @ w + b)
    out = h @ v
    return ((out - y) ** 2).mean() + (z * z * z * z).sum() * 0.05 + (z.sum(0) ** 2).mean() * 0.1


def _ge_loss(params, dtype):
    return _loss(ge, params, ge.tensor(X, dtype=dtype), ge.tensor(Y, dtype=dtype))


def _torch_loss(params, dtype):
    tdt = getattr(torch, dtype)
    return _loss(torch, params, torch.tensor(X, dtype=tdt), torch.tensor(Y, dtype=tdt))


def _tol(dtype):
    return dict(rtol=1e-9, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)


def _train(gopt, topt, gp, tp, dtype, steps=8):
    for _ in range(steps):
        gopt.zero_grad()
        _ge_loss(gp, dtype).backward()
        gopt.step()
        topt.zero_grad()
        _torch_loss(tp, dtype).backward()
        topt.step()
        for g, t in zip(gp, tp):
            np.testing.assert_allclose(g.numpy(), t.detach().numpy(), **_tol(dtype))


CONFIGS = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "betas": (0.6, 0.9), "weight_decay": 0.1}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}),
    ("RAdam", {}),  # (rho_t passes 5 at the 6th step: both of its branches)
    ("RAdam", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "betas": (0.8, 0.7), "weight_decay": 0.1,
               "decoupled_weight_decay": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 3, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 2, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2), "d": 1.5,
                   "weight_decay": 0.1}),
    ("Adafactor", {"lr": 0.05, "maximize": True}),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_steps_equal_torch(name, kwargs, dtype):
    gp, tp = _ge_params(dtype), _torch_params(dtype)
    gopt = getattr(optim, name)(gp, **kwargs)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    _train(gopt, topt, gp, tp, dtype)


@pytest.mark.parametrize("name,kwargs", CONFIGS[::2], ids=IDS[::2])
def test_defaults_groups_and_state_dict_match_torch(name, kwargs):
    gp, tp = _ge_params("float64"), _torch_params("float64")
    over = {"lr": 0.02}
    gopt = getattr(optim, name)([{"params": gp[:2], **over}, {"params": gp[2:]}], **kwargs)
    topt = getattr(torch.optim, name)([{"params": tp[:2], **over}, {"params": tp[2:]}],
                                      **kwargs)
    assert {k: v for k, v in gopt.defaults.items()} == {
        k: (tuple(v) if isinstance(v, list) else v) for k, v in topt.defaults.items()}
    _train(gopt, topt, gp, tp, "float64", steps=3)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert [set(g) for g in gsd["param_groups"]] == [set(g) for g in tsd["param_groups"]]
    assert [g["params"] for g in gsd["param_groups"]] == \
        [g["params"] for g in tsd["param_groups"]]
    assert set(gsd["state"]) == set(tsd["state"])
    for i, st in tsd["state"].items():
        assert list(gsd["state"][i]) == list(st), (i, list(st))
        for k, v in st.items():
            np.testing.assert_allclose(np.asarray(gsd["state"][i][k], dtype=np.float64),
                                       v.double().numpy(), rtol=1e-6, atol=1e-12)
    # a fresh gradengine optimizer loaded from torch's state dict continues as torch does
    copy = [nn.Parameter(p.numpy(), dtype="float64") for p in gp]
    fresh = getattr(optim, name)([{"params": copy[:2]}, {"params": copy[2:]}], lr=7.0)
    fresh.load_state_dict(tsd)
    assert [g["lr"] for g in fresh.param_groups] == [g["lr"] for g in topt.param_groups]
    _train(fresh, topt, copy, tp, "float64", steps=3)
    # and one loaded from its own (saved through a file) continues as the original
    again = [nn.Parameter(p.numpy(), dtype="float64") for p in copy]
    other = getattr(optim, name)([{"params": again[:2]}, {"params": again[2:]}], lr=7.0)
    other.load_state_dict(fresh.state_dict())
    for a, b in ((fresh, copy), (other, again)):
        for _ in range(2):
            a.zero_grad()
            _ge_loss(b, "float64").backward()
            a.step()
    for p, q in zip(copy, again):
        assert np.array_equal(p.numpy(), q.numpy())


def _jit_run(name, kwargs, jitted, steps=6, device="cpu"):
    params = [nn.Parameter(a, dtype="float32", device=device) for a in INIT]
    opt = getattr(optim, name)(params, **kwargs)

    def step(x, y):
        opt.zero_grad()
        loss = _loss(ge, params, x, y)
        loss.backward()
        opt.step()
        return loss
    f = ge.jit(step) if jitted else step
    x = ge.tensor(X, dtype="float32", device=device)
    y = ge.tensor(Y, dtype="float32", device=device)
    losses = [f(x, y).numpy().item() for _ in range(steps)]
    return losses, [p.numpy().copy() for p in params], f


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_jitted_step_equals_eager_bit_for_bit(name, kwargs):
    l1, p1, _ = _jit_run(name, kwargs, False)
    l2, p2, f = _jit_run(name, kwargs, True)
    assert f.traces == 1
    # the elementwise rules run once over the flat buffers; Adafactor's is replayed whole
    prog = next(iter(f.programs.values()))
    assert len(prog.flat_steps) == (0 if name == "Adafactor" else 1)
    assert l1 == l2
    for a, b in zip(p1, p2):
        assert a.tobytes() == b.tobytes()


DEVICE_JIT = [CONFIGS[i] for i in (1, 3, 6, 9, 11, 14, 16)]


@pytest.mark.parametrize("name,kwargs", DEVICE_JIT, ids=[n for n, _ in DEVICE_JIT])
def test_jitted_step_on_the_device_equals_its_eager_step(name, kwargs, cuda_device):
    l1, p1, _ = _jit_run(name, kwargs, False, device=cuda_device)
    l2, p2, f = _jit_run(name, kwargs, True, device=cuda_device)
    assert f.traces == 1
    np.testing.assert_allclose(l2, l1, rtol=1e-6)
    for a, b in zip(p1, p2):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- LBFGS

def _lbfgs_pair(dtype, steps, **kwargs):
    gp, tp = _ge_params(dtype), _torch_params(dtype)
    gopt, topt = optim.LBFGS(gp, **kwargs), torch.optim.LBFGS(tp, **kwargs)
    gcount, tcount = [0], [0]

    def gclosure():
        gcount[0] += 1
        gopt.zero_grad()
        loss = _ge_loss(gp, dtype)
        loss.backward()
        return loss

    def tclosure():
        tcount[0] += 1
        topt.zero_grad()
        loss = _torch_loss(tp, dtype)
        loss.backward()
        return loss
    for _ in range(steps):
        gl = gopt.step(gclosure)
        tl = topt.step(tclosure)
        assert gcount == tcount
        # L-BFGS amplifies rounding (the two libraries' forward passes round differently):
        # 1e-14 after the first step of 20 iterations, about 1e-7 after the third
        tol = dict(rtol=1e-6, atol=1e-6) if dtype == "float64" else dict(rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(gl.numpy(), tl.detach().numpy(), **tol)
        for g, t in zip(gp, tp):
            np.testing.assert_allclose(g.numpy(), t.detach().numpy(), **tol)
    return gopt, topt


@pytest.mark.parametrize("kwargs", [
    {}, {"line_search_fn": "strong_wolfe"}, {"lr": 0.5, "history_size": 3, "max_iter": 7},
    {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 6, "max_eval": 9}])
def test_lbfgs_equals_torch_in_float64(kwargs):
    gopt, topt = _lbfgs_pair("float64", 3, **kwargs)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert set(gsd["state"][0]) == set(tsd["state"][0])
    assert gsd["state"][0]["func_evals"] == tsd["state"][0]["func_evals"]
    assert gsd["state"][0]["n_iter"] == tsd["state"][0]["n_iter"]
    assert set(gsd["param_groups"][0]) == set(tsd["param_groups"][0])


def test_lbfgs_in_float32_and_loaded_from_torch():
    _lbfgs_pair("float32", 2, line_search_fn="strong_wolfe", max_iter=5)
    gopt, topt = _lbfgs_pair("float64", 1, max_iter=4)
    gp = [nn.Parameter(t.detach().numpy(), dtype="float64") for t in topt.param_groups[0]
          ["params"]]
    fresh = optim.LBFGS(gp, max_iter=4)
    fresh.load_state_dict(topt.state_dict())

    def closure():
        fresh.zero_grad()
        loss = _ge_loss(gp, "float64")
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = _torch_loss(topt.param_groups[0]["params"], "float64")
        loss.backward()
        return loss
    fresh.step(closure)
    topt.step(tclosure)
    for g, t in zip(gp, topt.param_groups[0]["params"]):
        np.testing.assert_allclose(g.numpy(), t.detach().numpy(), rtol=1e-8, atol=1e-10)


def test_lbfgs_refusals_and_jit_runs_eagerly():
    p = nn.Parameter(np.ones(3))
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [p]}, {"params": [nn.Parameter(np.ones(1))]}])
    opt = optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = ((p - 2.0) ** 2).sum()
        loss.backward()
        return loss
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        opt.step(closure)

    def run(jitted):
        q = nn.Parameter(np.array([1.0, -2.0, 0.5]), dtype="float32")
        o = optim.LBFGS([q], max_iter=5)

        def step(c):
            def closure():
                o.zero_grad()
                loss = ((q - c) ** 4).sum() + (q * q).sum()
                loss.backward()
                return loss
            return o.step(closure)
        f = ge.jit(step) if jitted else step
        c = ge.tensor([0.5, 0.25, -1.0])
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = [f(c).numpy().item() for _ in range(3)]
        return out, q.numpy().copy(), w
    (l1, q1, _), (l2, q2, w) = run(False), run(True)
    assert l1 == l2 and q1.tobytes() == q2.tobytes()
    assert any("eager" in str(x.message) for x in w)


def test_sparse_adam_refuses_dense_gradients_as_torch():
    p = nn.Parameter(np.ones(3))
    opt = optim.SparseAdam([p])
    assert opt.defaults == dict(torch.optim.SparseAdam([torch.ones(3, requires_grad=True)])
                                .defaults, betas=(0.9, 0.999))
    p.grad = ge.ones(3, dtype="float64")
    tp = torch.ones(3, requires_grad=True)
    topt = torch.optim.SparseAdam([tp])
    tp.grad = torch.ones(3)
    with pytest.raises(RuntimeError) as te:
        topt.step()
    with pytest.raises(RuntimeError) as ge_err:
        opt.step()
    assert str(ge_err.value) == str(te.value)
    assert np.array_equal(p.numpy(), np.ones(3))
    for bad in ({"lr": 0.0}, {"eps": 0.0}, {"betas": (1.0, 0.9)}):
        with pytest.raises(ValueError):
            torch.optim.SparseAdam([tp], **bad)
        with pytest.raises(ValueError):
            optim.SparseAdam([p], **bad)


@pytest.mark.parametrize("name,bad", [
    ("Adadelta", {"rho": 1.5}), ("Adadelta", {"lr": -1.0}), ("Adamax", {"betas": (0.9, 1.0)}),
    ("NAdam", {"momentum_decay": -1.0}), ("RAdam", {"eps": -1.0}),
    ("ASGD", {"weight_decay": -0.1}), ("Rprop", {"etas": (1.2, 0.5)}),
    ("Adafactor", {"beta2_decay": 0.5}), ("Adafactor", {"d": 0.5}),
    ("Adafactor", {"eps": (-1.0, 1e-3)})])
def test_bad_hyperparameters_are_refused_as_torch(name, bad):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **bad)
    with pytest.raises(ValueError):
        getattr(optim, name)([nn.Parameter(np.ones(2))], **bad)


def test_bad_gradient_changes_nothing():
    gp = _ge_params("float32")
    opt = optim.Adafactor(gp)
    for p in gp:
        p.grad = ge.ones(p.shape)
    gp[3]._grad = ge.ones((2, 3))  # (past the .grad setter, which refuses it itself)
    before = [p.numpy().copy() for p in gp]
    with pytest.raises(ValueError, match="shape"):
        opt.step()
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, gp))
    assert all(st is None for st in opt._state)


# ---------------------------------------------------------------- schedulers

def _opts(name="SGD", **kw):
    """A gradengine and a torch optimizer with two parameter groups (lr 0.1 and 0.05)."""
    gp, tp = _ge_params("float64"), _torch_params("float64")
    kw = kw or ({"momentum": 0.9} if name == "SGD" else {})
    g = getattr(optim, name)([{"params": gp[:2]}, {"params": gp[2:], "lr": 0.05}], lr=0.1,
                             **kw)
    t = getattr(torch.optim, name)([{"params": tp[:2]}, {"params": tp[2:], "lr": 0.05}],
                                   lr=0.1, **kw)
    return g, t


def _same_schedule(gs, ts, gopt, topt, steps=30, keys=("lr",)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: "lr_scheduler.step() before optimizer.step()"
        for k in range(steps):
            assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=0), k
            for gg, tg in zip(gopt.param_groups, topt.param_groups):
                for key in keys:
                    assert gg[key] == pytest.approx(tg[key], rel=1e-12, abs=0), (k, key)
            gs.step()
            ts.step()


SCHEDULES = [
    ("ConstantLR", {}),
    ("ConstantLR", {"factor": 0.5, "total_iters": 4}),
    ("MultiplicativeLR", {"lr_lambda": lambda e: 0.9 if e % 3 else 1.1}),
    ("PolynomialLR", {}),
    ("PolynomialLR", {"total_iters": 12, "power": 2.5}),
    ("CosineAnnealingWarmRestarts", {"T_0": 4}),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.01}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}),
    ("CyclicLR", {"base_lr": [0.01, 0.02], "max_lr": 0.1, "step_size_up": 3,
                  "step_size_down": 5, "mode": "triangular2"}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.2, "step_size_up": 4, "mode": "exp_range",
                  "gamma": 0.95, "base_momentum": 0.7, "max_momentum": 0.95}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.2, "step_size_up": 2,
                  "scale_fn": lambda x: 0.5 ** x, "scale_mode": "iterations",
                  "cycle_momentum": False}),
]


@pytest.mark.parametrize("name,kwargs", SCHEDULES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedules_equal_torch_over_30_steps(name, kwargs):
    gopt, topt = _opts()
    gs = getattr(ls, name)(gopt, **kwargs)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    _same_schedule(gs, ts, gopt, topt, keys=("lr", "momentum"))
    assert set(gs.state_dict()) == set(ts.state_dict()) - _TORCH_ONLY


_TORCH_ONLY = {"_get_lr_called_within_step"}  # torch's flag for its get_lr warning


def test_cyclic_lr_cycles_adams_beta1_and_restores_from_a_state_dict():
    gopt, topt = _opts("Adam")
    kw = {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 3, "mode": "triangular2"}
    gs, ts = ls.CyclicLR(gopt, **kw), torch.optim.lr_scheduler.CyclicLR(topt, **kw)
    _same_schedule(gs, ts, gopt, topt, steps=7, keys=("lr", "betas"))
    g2, _ = _opts("Adam")
    resumed = ls.CyclicLR(g2, **kw)
    resumed.load_state_dict(gs.state_dict())
    for _ in range(5):
        gs.step()
        resumed.step()
        assert resumed.get_last_lr() == gs.get_last_lr()


def test_warm_restarts_with_fractional_epochs_equal_torch():
    gopt, topt = _opts()
    gs = ls.CosineAnnealingWarmRestarts(gopt, T_0=3, T_mult=2)
    ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=3, T_mult=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in [0.5, 1.25, 2.9, 3.0, 4.5, 8.75, 9.0, 20.3, 2.0]:
            gs.step(e)
            ts.step(e)
            assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
            assert gs.T_cur == pytest.approx(ts.T_cur) and gs.T_i == ts.T_i


def _pair_of(make):
    gopt, topt = _opts()
    return make(ls, gopt), make(torch.optim.lr_scheduler, topt), gopt, topt


@pytest.mark.parametrize("make", [
    lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=4),
                                    m.ExponentialLR(o, gamma=0.9)], milestones=[5]),
    lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.3, total_iters=3),
                                    m.CosineAnnealingLR(o, T_max=8),
                                    m.StepLR(o, step_size=4, gamma=0.5)], milestones=[4, 12]),
    lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.5, total_iters=3),
                                    m.CosineAnnealingWarmRestarts(o, T_0=4)], milestones=[3]),
    lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=6),
                                     m.ExponentialLR(o, gamma=0.9)]),
    lambda m, o: m.ChainedScheduler([m.LinearLR(o, start_factor=0.2, total_iters=5),
                                     m.MultiStepLR(o, milestones=[7, 11], gamma=0.3),
                                     m.PolynomialLR(o, total_iters=20)], optimizer=o),
], ids=["seq-linear-exp", "seq-three", "seq-restarts", "chain-two", "chain-three"])
def test_sequential_and_chained_equal_torch(make):
    gs, ts, gopt, topt = _pair_of(make)
    _same_schedule(gs, ts, gopt, topt)
    gsd, tsd = gs.state_dict(), ts.state_dict()
    assert set(gsd) == set(tsd) - _TORCH_ONLY and len(gsd["_schedulers"]) == len(tsd["_schedulers"])
    # resumed from its state dict, the same lrs follow
    g2, t2, o2, _ = _pair_of(make)
    g2.load_state_dict(gsd)
    for g, h in zip(o2.param_groups, gopt.param_groups):
        g["lr"] = h["lr"]
    for _ in range(5):
        gs.step()
        g2.step()
        assert g2.get_last_lr() == pytest.approx(gs.get_last_lr(), rel=1e-12)


def test_scheduler_refusals_as_torch():
    gopt, topt = _opts()
    other, _ = _opts()
    cases = [
        (lambda m, o: m.ConstantLR(o, factor=1.5), ValueError),
        (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), ValueError),
        (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError),
        (lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="sawtooth"), ValueError),
        (lambda m, o: m.MultiplicativeLR(o, [lambda e: 1.0]), ValueError),
        (lambda m, o: m.MultiplicativeLR(o, 0.5), TypeError),
        (lambda m, o: m.SequentialLR(o, [m.ConstantLR(o)], milestones=[3]), ValueError),
        (lambda m, o: m.SequentialLR(o, [], milestones=[]), ValueError),
        (lambda m, o: m.ChainedScheduler([m.ReduceLROnPlateau(o)]), ValueError),
    ]
    for make, err in cases:
        with pytest.raises(err):
            make(torch.optim.lr_scheduler, topt)
        with pytest.raises(err):
            make(ls, gopt)
    with pytest.raises(ValueError, match="same optimizer"):
        ls.ChainedScheduler([ls.ConstantLR(gopt), ls.ConstantLR(other)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        ls.CyclicLR(optim.Adadelta(_ge_params("float32")), 0.01, 0.1)


# ---------------------------------------------------------------- swa_utils

W0, B0 = RNG.standard_normal((4, 3)), RNG.standard_normal(3)


class _GNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(W0, dtype="float64")
        self.b = nn.Parameter(B0, dtype="float64")
        self.bn = nn.BatchNorm1d(3, dtype="float64")

    def forward(self, x):
        return self.bn(x @ self.w + self.b)


class _TNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(W0))
        self.b = torch.nn.Parameter(torch.tensor(B0))
        self.bn = torch.nn.BatchNorm1d(3).double()

    def forward(self, x):
        return self.bn(x @ self.w + self.b)


def _close(g, t):
    np.testing.assert_allclose(np.asarray(g.numpy(), dtype=np.float64),
                               t.detach().double().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("how", ["swa", "ema_multi", "ema_fn", "swa_fn", "buffers",
                                 "buffers_ema"])
def test_averaged_model_equals_torch(how):
    su = torch.optim.swa_utils

    def kwargs(mod):
        return {"swa": {}, "ema_multi": {"multi_avg_fn": mod.get_ema_multi_avg_fn(0.8)},
                "ema_fn": {"avg_fn": mod.get_ema_avg_fn(0.7)},
                "swa_fn": {"avg_fn": mod.get_swa_avg_fn()},
                "buffers": {"use_buffers": True},
                "buffers_ema": {"use_buffers": True,
                                "multi_avg_fn": mod.get_ema_multi_avg_fn(0.6)}}[how]
    gm, tm = _GNet(), _TNet()
    ga, ta = swa_utils.AveragedModel(gm, **kwargs(swa_utils)), su.AveragedModel(tm, **kwargs(su))
    gopt = optim.SGD(gm.parameters(), lr=0.1)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    for k in range(5):
        x = RNG.standard_normal((8, 4)) + k
        gopt.zero_grad()
        (gm(ge.tensor(x, dtype="float64")) ** 3).mean().backward()
        gopt.step()
        topt.zero_grad()
        (tm(torch.tensor(x)) ** 3).mean().backward()
        topt.step()
        ga.update_parameters(gm)
        ta.update_parameters(tm)
        assert ga.n_averaged.item() == ta.n_averaged.item() == k + 1
        named = list(ga.module._named_state())
        assert [n for n, _ in named] == list(ta.module.state_dict())
        for (_, g), t in zip(named, ta.module.state_dict().values()):
            _close(g, t)
    x = RNG.standard_normal((5, 4))
    ga.eval()
    ta.eval()
    _close(ga(ge.tensor(x, dtype="float64")), ta(torch.tensor(x)))
    # the averaged copy is its own: the model's weights are untouched by the average
    _close(gm.w, tm.w)
    assert ga.module.w is not gm.w


def test_update_bn_equals_torch_and_the_averaging_refusals():
    gm, tm = _GNet(), _TNet()
    xs = [RNG.standard_normal((6, 4)) * (k + 1) for k in range(4)]
    gm.eval()
    tm.eval()
    swa_utils.update_bn([(ge.tensor(x, dtype="float64"), 0) for x in xs], gm)
    torch.optim.swa_utils.update_bn([(torch.tensor(x), 0) for x in xs], tm)
    assert not gm.training and gm.bn.momentum == tm.bn.momentum == 0.1
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        _close(getattr(gm.bn, name), getattr(tm.bn, name))
    swa_utils.update_bn([ge.tensor(x, dtype="float64") for x in xs[:2]], gm)
    torch.optim.swa_utils.update_bn([torch.tensor(x) for x in xs[:2]], tm)
    _close(gm.bn.running_var, tm.bn.running_var)
    # torch's foreach average refuses the integer buffer (num_batches_tracked)
    errors = []
    for mod, m in ((torch.optim.swa_utils, tm), (swa_utils, gm)):
        avg = mod.AveragedModel(m, use_buffers=True, multi_avg_fn=mod.get_swa_multi_avg_fn())
        avg.update_parameters(m)
        with pytest.raises(RuntimeError) as e:
            avg.update_parameters(m)
        errors.append(str(e.value))
    assert errors[0] == errors[1]
    with pytest.raises(AssertionError):
        swa_utils.AveragedModel(gm, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    for fn in (swa_utils.get_ema_avg_fn, swa_utils.get_ema_multi_avg_fn):
        with pytest.raises(ValueError, match="decay"):
            fn(1.5)


@pytest.mark.parametrize("kwargs", [
    {"swa_lr": 0.05}, {"swa_lr": [0.02, 0.3], "anneal_epochs": 3, "anneal_strategy": "linear"},
    {"swa_lr": 0.01, "anneal_epochs": 0}])
def test_swalr_equals_torch(kwargs):
    gopt, topt = _opts()
    gs = swa_utils.SWALR(gopt, **kwargs)
    ts = torch.optim.swa_utils.SWALR(topt, **kwargs)
    _same_schedule(gs, ts, gopt, topt)
    assert set(gs.state_dict()) == set(ts.state_dict()) - _TORCH_ONLY
    with pytest.raises(ValueError):
        swa_utils.SWALR(gopt, 0.1, anneal_strategy="step")
    with pytest.raises(ValueError):
        swa_utils.SWALR(gopt, 0.1, anneal_epochs=-1)


# ---------------------------------------------------------------- on the GPU (and stand-in)

DEVICE_CASES = [(n, k) for n, k in CONFIGS if n != "Adafactor"][::2] + [
    ("Adafactor", CONFIGS[-2][1]), ("LBFGS", {"line_search_fn": "strong_wolfe", "max_iter": 4})]


def _device_run(name, kwargs, device, steps=4):
    params = [nn.Parameter(a, dtype="float32", device=device) for a in INIT]
    opt = getattr(optim, name)(params, **kwargs)
    x = ge.tensor(X, dtype="float32", device=device)
    y = ge.tensor(Y, dtype="float32", device=device)

    def closure():
        opt.zero_grad()
        loss = _loss(ge, params, x, y)
        loss.backward()
        return loss
    for _ in range(steps):
        if name == "LBFGS":
            opt.step(closure)
        else:
            closure()
            opt.step()
    return [p.numpy() for p in params], opt


@pytest.mark.parametrize("name,kwargs", DEVICE_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(DEVICE_CASES)])
def test_every_rule_runs_on_the_device_as_on_the_cpu(name, kwargs, cuda_device):
    on_cpu, _ = _device_run(name, kwargs, "cpu")
    on_dev, opt = _device_run(name, kwargs, cuda_device)
    for a, b in zip(on_cpu, on_dev):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    sd = opt.state_dict()  # host arrays, so ge.save can write it
    for st in sd["state"].values():
        for v in st.values():
            assert not hasattr(v, "device") or isinstance(v, np.ndarray) or np.isscalar(v)


def test_averaged_model_on_the_device(cuda_device):
    gm = _GNet().to(cuda_device)
    avg = swa_utils.AveragedModel(gm)
    ema = swa_utils.AveragedModel(gm, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.5))
    seen = []
    for _ in range(3):
        with ge.no_grad():
            gm.w.copy_(gm.w + 1.0)
        seen.append(gm.w.numpy())
        avg.update_parameters(gm)
        ema.update_parameters(gm)
    assert avg.module.w.device == gm.w.device and avg.n_averaged.item() == 3
    # on a GPU torch averages by lerp with the weight 1 / (n + 1) rounded to float32
    np.testing.assert_allclose(avg.module.w.numpy(), np.mean(seen, axis=0), rtol=1e-6)
    assert not np.array_equal(avg.module.w.numpy(), np.mean(seen, axis=0))
    e = seen[0]
    for s in seen[1:]:
        e = 0.5 * e + 0.5 * s
    np.testing.assert_allclose(ema.module.w.numpy(), e, rtol=1e-12)


def test_averaged_model_device_argument(cuda_device):
    avg = swa_utils.AveragedModel(_GNet(), device=cuda_device)
    assert avg.module.w.device == avg.n_averaged.device != "cpu"


NAMES = [(optim, torch.optim, n) for n in
         ("Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "Adafactor", "LBFGS",
          "SparseAdam")] + \
    [(ls, torch.optim.lr_scheduler, n) for n in
     ("ConstantLR", "MultiplicativeLR", "PolynomialLR", "CosineAnnealingWarmRestarts",
      "CyclicLR", "SequentialLR", "ChainedScheduler")] + \
    [(swa_utils, torch.optim.swa_utils, n) for n in
     ("AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
      "get_ema_avg_fn", "get_swa_avg_fn")]


@pytest.mark.parametrize("ours,theirs,name", NAMES, ids=[n for _, _, n in NAMES])
def test_signatures_are_torchs(ours, theirs, name):
    import inspect

    def sig(obj):
        return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]
    mine, torchs = sig(getattr(ours, name)), sig(getattr(theirs, name))
    assert mine == torchs


@pytest.mark.parametrize("name,kwargs", [
    ("LBFGS", {"history_size": 3, "max_iter": 4, "line_search_fn": "strong_wolfe"}),
    ("Adafactor", {"lr": 0.05}), ("NAdam", {"lr": 0.05}), ("ASGD", {"t0": 1})])
def test_state_dict_through_a_file_continues_bit_for_bit(name, kwargs, tmp_path):
    def make(params):
        opt = getattr(optim, name)(params, **kwargs)

        def closure():
            opt.zero_grad()
            loss = _ge_loss(params, "float64")
            loss.backward()
            return loss
        return opt, closure
    gp = _ge_params("float64")
    a, ca = make(gp)
    for _ in range(2):
        a.step(ca)
    ge.save(a.state_dict(), tmp_path / "opt.ge")
    copy = [nn.Parameter(p.numpy(), dtype="float64") for p in gp]
    b, cb = make(copy)
    b.load_state_dict(ge.load(tmp_path / "opt.ge"))
    for _ in range(2):
        a.step(ca)
        b.step(cb)
    for p, q in zip(gp, copy):
        assert p.numpy().tobytes() == q.numpy().tobytes()
