"""The PyTorch drop-in against torch itself: module reprs and the Module API (apply,
named_children, next(parameters()), requires_grad_, load_state_dict's result), and whole
training runs -- a small MLP trained by each optimizer (with schedulers and gradient
clipping) from the same initial weights -- step for step in float64."""

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn, optim

torch = pytest.importorskip("torch")
T = torch.nn


# ---------------------------------------------------------------- reprs and constructors

MODULES = [
    lambda m: m.Linear(2, 3), lambda m: m.Linear(2, 3, bias=False),
    lambda m: m.ReLU(), lambda m: m.ReLU(inplace=True), lambda m: m.Sigmoid(),
    lambda m: m.Tanh(), lambda m: m.Softmax(dim=1), lambda m: m.LogSoftmax(dim=-1),
    lambda m: m.GELU(), lambda m: m.GELU(approximate="tanh"), lambda m: m.SiLU(),
    lambda m: m.LeakyReLU(0.1), lambda m: m.ELU(), lambda m: m.Identity(),
    lambda m: m.Flatten(), lambda m: m.Dropout(0.2), lambda m: m.LayerNorm(4),
    lambda m: m.LayerNorm([2, 3], elementwise_affine=False), lambda m: m.BatchNorm1d(4),
    lambda m: m.BatchNorm2d(4, affine=False), lambda m: m.Embedding(10, 3),
    lambda m: m.Embedding(10, 3, padding_idx=0), lambda m: m.Conv2d(1, 16, 3, padding=1),
    lambda m: m.Conv2d(2, 4, 3, stride=2, bias=False), lambda m: m.Conv2d(4, 4, 3, groups=2),
    lambda m: m.Conv1d(1, 8, 3), lambda m: m.MaxPool2d(2), lambda m: m.MaxPool2d(3, 2, 1),
    lambda m: m.AvgPool2d(2), lambda m: m.AdaptiveAvgPool2d((1, 1)), lambda m: m.MSELoss(),
    lambda m: m.CrossEntropyLoss(), lambda m: m.BCEWithLogitsLoss(), lambda m: m.HuberLoss(),
    lambda m: m.SmoothL1Loss(),
    lambda m: m.Sequential(m.Linear(2, 3), m.ReLU(), m.Dropout(0.1), m.Linear(3, 1)),
    lambda m: m.ModuleDict({"a": m.Linear(2, 2)}),
]


@pytest.mark.parametrize("make", MODULES, ids=range(len(MODULES)))
def test_module_repr_equals_torch(make):
    assert repr(make(nn)) == repr(make(T))


def test_softmax_takes_dim_and_relu_inplace_keeps_the_graph():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    for dim in (0, 1, -1):
        np.testing.assert_allclose(nn.Softmax(dim=dim)(ge.tensor(x)).numpy(),
                                   T.Softmax(dim=dim)(torch.tensor(x)).numpy(), rtol=1e-6)
    t = ge.tensor(x, requires_grad=True)
    nn.ReLU(inplace=True)(t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), (x > 0).astype(np.float32))


# ---------------------------------------------------------------- the Module API

def _net(M, zeros):
    class Net(M.Module):
        def __init__(self):
            super().__init__()
            self.body = M.Sequential(M.Linear(2, 3), M.ReLU())
            self.head = M.Linear(3, 1)
            self.register_buffer("steps", zeros((1,)))

        def forward(self, x):
            return self.head(self.body(x))
    return Net()


def _both():
    return _net(nn, ge.zeros), _net(T, torch.zeros)


def test_traversal_names_and_order_equal_torch():
    g, t = _both()
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [type(m).__name__ for m in g.modules()] == [type(m).__name__ for m in t.modules()]
    assert [type(m).__name__ for m in g.children()] == [type(m).__name__ for m in t.children()]
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(g.state_dict()) == list(t.state_dict())
    assert len(g.parameters(recurse=False)) == len(list(t.parameters(recurse=False))) == 0
    assert [n for n, _ in g.named_parameters(prefix="m")] == \
        [n for n, _ in t.named_parameters(prefix="m")]


def test_apply_visits_children_first_like_torch():
    g, t = _both()
    seen_g, seen_t = [], []
    assert g.apply(lambda m: seen_g.append(type(m).__name__)) is g
    t.apply(lambda m: seen_t.append(type(m).__name__))
    assert seen_g == seen_t

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)
    g.apply(init)
    assert all(float(p.numpy().sum()) == 0.5 * p.size for n, p in g.named_parameters()
               if n.endswith("weight"))


def test_next_parameters_requires_grad_and_load_state_dict_result():
    g, t = _both()
    assert next(g.parameters()) is g.body[0].weight
    assert next(t.parameters()) is t.body[0].weight
    assert g.requires_grad_(False) is g
    assert not any(p.requires_grad for p in g.parameters())
    g.requires_grad_()
    assert all(p.requires_grad for p in g.parameters())
    res = g.load_state_dict(g.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == repr(t.load_state_dict(t.state_dict()))
    sd = g.state_dict()
    sd.pop("head.bias")
    sd["extra"] = np.zeros(1)
    res = g.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["head.bias"] and res.unexpected_keys == ["extra"]
    assert g.get_submodule("body.0") is g.body[0]
    assert g.get_parameter("head.bias") is g.head.bias


def test_train_eval_zero_grad_and_to_dtype():
    g, _ = _both()
    assert g.eval() is g and not any(m.training for m in g.modules())
    assert g.train() is g and all(m.training for m in g.modules())
    g(ge.ones((4, 2))).sum().backward()
    assert all(p.grad is not None for p in g.parameters())
    g.zero_grad(set_to_none=False)
    assert all(float(abs(p.grad.numpy()).sum()) == 0 for p in g.parameters())
    g.zero_grad()
    assert all(p.grad is None for p in g.parameters())
    params = g.parameters()
    g.to(ge.float64)
    assert all(p.dtype == np.float64 for p in g.parameters()) and g.steps.dtype == np.float64
    assert all(a is b for a, b in zip(params, g.parameters()))


def test_register_parameter_and_add_module():
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(ge.ones((2,))))
    m.add_module("lin", nn.Linear(2, 1))
    m.register_parameter("b", None)
    assert [n for n, _ in m.named_parameters()] == ["w", "lin.weight", "lin.bias"]
    assert m.b is None
    with pytest.raises(TypeError):
        m.register_parameter("c", ge.ones((1,)))


# ---------------------------------------------------------------- training runs

RNG = np.random.default_rng(0)
X = RNG.standard_normal((24, 3))
Y = RNG.standard_normal((24, 2))

RUNS = [
    ("SGD", {"lr": 0.1}, None),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}, None),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1}, ("StepLR", {"step_size": 2})),
    ("Adam", {"lr": 0.01}, None),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01},
     ("ExponentialLR", {"gamma": 0.8})),
    ("AdamW", {"lr": 0.01}, ("CosineAnnealingLR", {"T_max": 4})),
    ("AdamW", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "foreach": False},
     ("MultiStepLR", {"milestones": [1, 3], "gamma": 0.5})),
    ("RMSprop", {"lr": 0.01}, None),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}, ("LinearLR", {})),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}, None),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.01},
     ("LambdaLR", {"lr_lambda": lambda e: 0.9 ** e})),
]


def _mlps():
    ge.manual_seed(0)
    g = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(ge.float64)
    t = T.Sequential(T.Linear(3, 5), T.Tanh(), T.Linear(5, 2)).double()
    with torch.no_grad():
        for (name, p), tp in zip(g.named_parameters(), t.parameters()):
            arr = p.numpy()
            tp.copy_(torch.tensor(arr.T if name.endswith("weight") else arr))
    return g, t


@pytest.mark.parametrize("name,kwargs,sched", RUNS, ids=[f"{r[0]}-{i}" for i, r in
                                                          enumerate(RUNS)])
def test_training_trajectory_equals_torch(name, kwargs, sched):
    g, t = _mlps()
    gopt = getattr(optim, name)(g.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(t.parameters(), **kwargs)
    gs = ts = None
    if sched is not None:
        gs = getattr(optim.lr_scheduler, sched[0])(gopt, **sched[1])
        ts = getattr(torch.optim.lr_scheduler, sched[0])(topt, **sched[1])
    g_loss, t_loss = nn.MSELoss(), T.MSELoss()
    for _epoch in range(5):
        for start in range(0, len(X), 8):
            xb, yb = X[start:start + 8], Y[start:start + 8]
            gopt.zero_grad()
            lg = g_loss(g(ge.tensor(xb)), ge.tensor(yb))
            lg.backward()
            gn = nn.utils.clip_grad_norm_(g.parameters(), 1.0)
            gopt.step()
            topt.zero_grad()
            lt = t_loss(t(torch.tensor(xb)), torch.tensor(yb))
            lt.backward()
            tn = T.utils.clip_grad_norm_(t.parameters(), 1.0)
            topt.step()
            assert float(lg.item()) == pytest.approx(float(lt.item()), rel=1e-10)
            assert float(gn.item()) == pytest.approx(float(tn.item()), rel=1e-10)
        if gs is not None:
            gs.step()
            ts.step()
            assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    for (pname, p), tp in zip(g.named_parameters(), t.parameters()):
        want = tp.detach().numpy()
        np.testing.assert_allclose(p.numpy(), want.T if pname.endswith("weight") else want,
                                   rtol=1e-9, atol=1e-12)


def test_checkpoint_round_trip_resumes_the_same_trajectory(tmp_path):
    g, _ = _mlps()
    opt = optim.Adam(g.parameters(), lr=0.01)
    sched = optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)

    def step():
        opt.zero_grad()
        nn.MSELoss()(g(ge.tensor(X)), ge.tensor(Y)).backward()
        opt.step()
        sched.step()
    step()
    ge.save({"model": g.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()},
            tmp_path / "ck.ge")
    step()
    after = g.state_dict()
    ck = ge.load(tmp_path / "ck.ge")
    g.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    sched.load_state_dict(ck["sched"])
    step()
    for k, v in g.state_dict().items():
        np.testing.assert_array_equal(v, after[k])
