"""Learning-rate schedulers against torch.optim.lr_scheduler: the same lr (and momentum)
at every step, two parameter groups, state dicts that resume the schedule."""

import math
import warnings

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn, optim
from gradengine.optim import lr_scheduler as ls

torch = pytest.importorskip("torch")
tls = torch.optim.lr_scheduler

SCHEDULES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("LinearLR", {"start_factor": 0.25, "end_factor": 0.9, "total_iters": 6}),
    ("LambdaLR", {"lr_lambda": lambda e: 1.0 / (1 + e)}),
    ("OneCycleLR", {"max_lr": [0.5, 0.2], "total_steps": 25}),
    ("OneCycleLR", {"max_lr": 0.3, "total_steps": 25, "anneal_strategy": "linear",
                        "three_phase": True}),
]


def _opts(kind="SGD"):
    a, b = np.ones(2), np.ones(3)
    gp = [{"params": [nn.Parameter(a)], "lr": 0.1}, {"params": [nn.Parameter(b)]}]
    tp = [{"params": [torch.tensor(a, requires_grad=True)], "lr": 0.1},
          {"params": [torch.tensor(b, requires_grad=True)]}]
    kw = {"lr": 0.05, "momentum": 0.9} if kind == "SGD" else {"lr": 0.05}
    return getattr(optim, kind)(gp, **kw), getattr(torch.optim, kind)(tp, **kw)


def _torch_step(topt, tsched, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topt.step()
        tsched.step(*args)


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name,kwargs", SCHEDULES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedule_equals_torch_step_for_step(name, kwargs, kind):
    gopt, topt = _opts(kind)
    g, t = getattr(ls, name)(gopt, **kwargs), getattr(tls, name)(topt, **kwargs)
    for _ in range(24):
        assert g.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12, abs=0)
        for gg, tg in zip(gopt.param_groups, topt.param_groups):
            assert gg["lr"] == pytest.approx(tg["lr"], rel=1e-12, abs=0)
            if kind == "SGD":
                assert gg["momentum"] == pytest.approx(tg["momentum"], rel=1e-12)
            else:
                assert gg["betas"][0] == pytest.approx(tg["betas"][0], rel=1e-12)
        gopt.step()
        g.step()
        _torch_step(topt, t)


def test_reduce_lr_on_plateau_equals_torch():
    losses = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.61, 0.7]
    for kw in ({"patience": 2, "factor": 0.5}, {"mode": "max", "patience": 1, "cooldown": 2,
                                                  "threshold_mode": "abs", "min_lr": [0.02, 0.0]}):
        gopt, topt = _opts()
        g, t = ls.ReduceLROnPlateau(gopt, **kw), tls.ReduceLROnPlateau(topt, **kw)
        for v in losses:
            g.step(v)
            _torch_step(topt, t, v)
            assert g.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)
            assert g.num_bad_epochs == t.num_bad_epochs


def test_the_optimizer_steps_with_the_scheduled_lr():
    p = nn.Parameter(np.zeros(1))
    opt = optim.SGD([p], lr=1.0)
    sched = ls.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = ge.tensor([1.0], dtype="float64")
        opt.step()
        sched.step()
    assert p.numpy()[0] == pytest.approx(-(1 + 0.5 + 0.25))
    assert opt.lr == 0.125


def test_scheduler_state_dict_resumes_through_a_file(tmp_path):
    gopt, _ = _opts()
    sched = ls.CosineAnnealingLR(gopt, T_max=10)
    for _ in range(4):
        sched.step()
    ge.save({"opt": gopt.state_dict(), "sched": sched.state_dict()}, tmp_path / "s.ge")
    expected = []
    for _ in range(5):
        sched.step()
        expected.append(sched.get_last_lr())
    back = ge.load(tmp_path / "s.ge")
    opt2, _ = _opts()
    opt2.load_state_dict(back["opt"])
    sched2 = ls.CosineAnnealingLR(opt2, T_max=10)
    sched2.load_state_dict(back["sched"])
    got = []
    for _ in range(5):
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == expected


def test_multistep_state_dict_through_a_file_keeps_the_milestones(tmp_path):
    gopt, _ = _opts()
    sched = ls.MultiStepLR(gopt, milestones=[2, 4])
    ge.save(sched.state_dict(), tmp_path / "m.ge")
    opt2, _ = _opts()
    s2 = ls.MultiStepLR(opt2, milestones=[100])
    s2.load_state_dict(ge.load(tmp_path / "m.ge"))
    for _ in range(4):
        s2.step()
    assert s2.get_last_lr() == pytest.approx([0.1 * 0.01, 0.05 * 0.01])


def test_step_with_an_epoch_uses_the_closed_form():
    gopt, _ = _opts()
    sched = ls.ExponentialLR(gopt, gamma=0.5)
    sched.step(3)
    assert sched.get_last_lr() == pytest.approx([0.1 / 8, 0.05 / 8])
    assert math.isclose(gopt.param_groups[0]["initial_lr"], 0.1)


def test_bad_arguments_raise():
    gopt, _ = _opts()
    with pytest.raises(TypeError, match="not a gradengine Optimizer"):
        ls.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="start_factor"):
        ls.LinearLR(gopt, start_factor=0)
    with pytest.raises(ValueError, match="factor"):
        ls.ReduceLROnPlateau(gopt, factor=1.5)
    with pytest.raises(ValueError, match="total_steps"):
        ls.OneCycleLR(gopt, max_lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        ls.OneCycleLR(optim.Adagrad([nn.Parameter(np.ones(1))]), max_lr=0.1, total_steps=5)
    with pytest.raises(ValueError, match="2 lr_lambdas"):
        ls.LambdaLR(gopt, [lambda e: 1.0])
    with pytest.raises(KeyError, match="initial_lr"):
        ls.StepLR(optim.SGD([nn.Parameter(np.ones(1))]), step_size=1, last_epoch=3)
    sched = ls.OneCycleLR(gopt, max_lr=0.1, total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="total_steps is 2"):
        sched.step()
