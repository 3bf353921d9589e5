"""gradengine.optim against torch.optim (2.13), a second pass: every optimizer and option
over 20 steps (parameters and optimizer.state), state dicts (mid-training loads into fresh
optimizers, several groups, add_param_group, named parameters, saved ids matched by
order), zero_grad, torch's errors and messages; every lr_scheduler over 50 steps
(get_last_lr, momentum, state dicts, last_epoch resume) with torch's errors and warnings;
SWALR's warnings. Each torch comparison skips without torch; the by-hand tests do not."""

import copy
import math
import warnings

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn, optim
from gradengine.optim import lr_scheduler as ls
from gradengine.optim import swa_utils


def _torch():
    return pytest.importorskip("torch")


SHAPES = [(3, 4), (4,), (1,), ()]


def _grad_at(p, t, k):
    # depends on the parameter and the step: a wrong rule makes the trajectories diverge
    return np.cos(3.0 * p + k) * (1.5 if t % 2 else -0.7) + 0.1 * p ** 3


def _pair(torch, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    gp = [nn.Parameter(a, dtype=dtype) for a in init]
    tp = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in init]
    return gp, tp


def _groups(params, lr=0.03):
    return [{"params": params[:2], "lr": lr}, {"params": params[2:]}]


def _run(torch, gopt, topt, gp, tp, steps, skip=None, dtype="float64"):
    """Both optimizers on the same gradients (computed from torch's parameters); some
    gradients left None where ``skip(t, k)``. Returns the largest relative difference."""
    worst = 0.0
    for t in range(steps):
        for k, (g, q) in enumerate(zip(gp, tp)):
            if skip is not None and skip(t, k):
                g.grad = None
                q.grad = None
                continue
            grad = _grad_at(q.detach().double().numpy(), t, k)
            g.grad = ge.tensor(grad, dtype=dtype)
            q.grad = torch.tensor(grad, dtype=getattr(torch, dtype))
        gopt.step()
        topt.step()
        for g, q in zip(gp, tp):
            a, b = g.numpy().astype(np.float64), q.detach().double().numpy()
            worst = max(worst, float(np.max(np.abs(a - b) / (np.abs(b) + 1e-12))))
    return worst


def _same_state(torch, gopt, topt, gp, tp, rtol=1e-7):
    """``optimizer.state``: the same parameters with state, the same names in the same
    order, the same values; ``step`` a 0-d float32 Tensor as torch's."""
    assert len(gopt.state) == len(topt.state)
    for g, q in zip(gp, tp):
        gs, ts = gopt.state[g], topt.state[q]
        assert list(gs) == list(ts)
        for k, tv in ts.items():
            gv = gs[k]
            if isinstance(tv, torch.Tensor):
                assert isinstance(gv, ge.Tensor), k
                assert gv.shape == tuple(tv.shape), k
                if k == "step":
                    assert gv.dtype == np.float32 and tv.dtype == torch.float32
                np.testing.assert_allclose(gv.numpy().astype(np.float64),
                                           tv.detach().double().numpy(), rtol=rtol,
                                           atol=1e-12, err_msg=k)
            else:
                assert gv == tv, k


# ---------------------------------------------------------------- 20 steps, every option

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "maximize": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1,
              "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "betas": (0.5, 0.9)}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05}),  # rho_t passes 5 at the 6th step: both branches
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.3,
                 "weight_decay": 0.1, "maximize": True}),
    ("Adadelta", {"lr": 0.5, "rho": 0.7, "weight_decay": 0.1, "maximize": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9, "weight_decay": 0.1,
                 "maximize": True}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.8, "momentum": 0.5}),
    ("Rprop", {"lr": 0.05, "maximize": True}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("ASGD", {"lr": 0.05, "t0": 3, "lambd": 0.01, "weight_decay": 0.1, "maximize": True}),
    ("ASGD", {}),
    ("Adafactor", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)]


@pytest.mark.parametrize("skipping", [False, True], ids=["all-grads", "some-None"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_twenty_steps_and_the_state_equal_torch(name, kwargs, skipping):
    torch = _torch()
    gp, tp = _pair(torch)
    gopt = getattr(optim, name)(gp, **kwargs)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    skip = (lambda t, k: (t + k) % 3 == 0) if skipping else None
    assert _run(torch, gopt, topt, gp, tp, 20, skip) < 1e-10
    _same_state(torch, gopt, topt, gp, tp)


@pytest.mark.parametrize("name,kwargs", CONFIGS[::3], ids=IDS[::3])
def test_twenty_float32_steps_equal_torch(name, kwargs):
    torch = _torch()
    gp, tp = _pair(torch, "float32")
    gopt = getattr(optim, name)(gp, **kwargs)
    topt = getattr(torch.optim, name)(tp, **kwargs)
    assert _run(torch, gopt, topt, gp, tp, 20, dtype="float32") < 1e-4
    assert all(p.dtype == np.float32 for p in gp)


# ---------------------------------------------------------------- state dicts

SD_CONFIGS = [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"amsgrad": True}),
              ("AdamW", {}), ("Adamax", {}), ("NAdam", {}), ("RAdam", {}), ("Adagrad", {}),
              ("Adadelta", {}), ("RMSprop", {"momentum": 0.5, "centered": True}),
              ("Rprop", {}), ("ASGD", {"t0": 2}), ("Adafactor", {})]
SD_IDS = [n for n, _ in SD_CONFIGS]


@pytest.mark.parametrize("name,kwargs", SD_CONFIGS, ids=SD_IDS)
def test_a_state_dict_loaded_mid_training_continues_as_torch(name, kwargs):
    torch = _torch()
    gp, tp = _pair(torch)
    gopt = getattr(optim, name)(_groups(gp), **kwargs)
    topt = getattr(torch.optim, name)(_groups(tp), **kwargs)
    _run(torch, gopt, topt, gp, tp, 5)
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    # the same layout: ids, group keys, state names; step (and torch's other 0-d tensors)
    # as 0-d float32 arrays
    assert [g["params"] for g in gsd["param_groups"]] == [g["params"] for g in
                                                          tsd["param_groups"]]
    assert [set(g) for g in gsd["param_groups"]] == [set(g) for g in tsd["param_groups"]]
    assert set(gsd["state"]) == set(tsd["state"])
    for i, st in tsd["state"].items():
        assert list(gsd["state"][i]) == list(st)
        for k, v in st.items():
            assert isinstance(gsd["state"][i][k], np.ndarray), k
            if k in ("step", "mu_product", "eta", "mu"):  # torch's 0-d float32 tensors
                assert gsd["state"][i][k].dtype == np.float32, k
            else:  # (also a 0-d parameter's 0-d state)
                assert gsd["state"][i][k].dtype == v.numpy().dtype, k
            np.testing.assert_allclose(np.asarray(gsd["state"][i][k], np.float64),
                                       v.double().numpy(), rtol=1e-6, atol=1e-12)
    # a fresh optimizer (other hyperparameters) loaded from torch's, one loaded from ours
    # (deep-copied, as through a file), and a fresh torch one loaded from torch's: the
    # three go on as the original torch optimizer
    g2 = [nn.Parameter(p.numpy().copy(), dtype="float64") for p in gp]
    g3 = [nn.Parameter(p.numpy().copy(), dtype="float64") for p in gp]
    t2 = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in tp]
    o2 = getattr(optim, name)(_groups(g2, lr=7.0))
    o2.load_state_dict(tsd)
    o3 = getattr(optim, name)(_groups(g3, lr=7.0))
    o3.load_state_dict(copy.deepcopy(gsd))
    ot2 = getattr(torch.optim, name)(_groups(t2, lr=7.0))
    ot2.load_state_dict(copy.deepcopy(tsd))
    assert [g["lr"] for g in o2.param_groups] == [g["lr"] for g in topt.param_groups]
    assert _run(torch, o2, topt, g2, tp, 5) < 1e-10
    assert _run(torch, o3, ot2, g3, t2, 5) < 1e-10
    _same_state(torch, o2, topt, g2, tp)


def test_add_param_group_mid_training_equals_torch():
    torch = _torch()
    gp, tp = _pair(torch)
    gopt = optim.Adam(gp[:2], lr=0.02, amsgrad=True)
    topt = torch.optim.Adam(tp[:2], lr=0.02, amsgrad=True)
    assert _run(torch, gopt, topt, gp[:2], tp[:2], 3) < 1e-12
    gopt.add_param_group({"params": gp[2:], "lr": 0.2, "betas": (0.5, 0.9)})
    topt.add_param_group({"params": tp[2:], "lr": 0.2, "betas": (0.5, 0.9)})
    assert [set(g) for g in gopt.param_groups] == [set(g) for g in topt.param_groups]
    assert gopt.param_groups[1]["amsgrad"] is True
    assert _run(torch, gopt, topt, gp, tp, 6) < 1e-10
    _same_state(torch, gopt, topt, gp, tp)
    assert gopt.state_dict()["param_groups"][1]["params"] == [2, 3]


def test_the_saved_state_is_matched_by_the_order_of_the_saved_ids_as_torch():
    # torch pairs the ids listed in the saved groups with the parameters in order, whatever
    # the ids are
    torch = _torch()
    gp, tp = _pair(torch)
    gopt, topt = optim.Adam(gp, lr=0.1), torch.optim.Adam(tp, lr=0.1)
    _run(torch, gopt, topt, gp, tp, 3)
    remap = {0: 10, 1: 7, 2: 30, 3: 4}
    for lib_sd in (gopt.state_dict(), topt.state_dict()):
        sd = copy.deepcopy(lib_sd)
        sd["state"] = {remap[i]: st for i, st in sd["state"].items()}
        sd["param_groups"][0]["params"] = [remap[i] for i in sd["param_groups"][0]["params"]]
        g2 = [nn.Parameter(p.numpy().copy(), dtype="float64") for p in gp]
        t2 = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in tp]
        o2, ot2 = optim.Adam(g2), torch.optim.Adam(t2)
        o2.load_state_dict(sd)
        ot2.load_state_dict(copy.deepcopy(topt.state_dict()))
        assert _run(torch, o2, ot2, g2, t2, 3) < 1e-10


def test_a_state_for_an_id_no_group_lists_is_refused_with_nothing_changed():
    p = nn.Parameter(np.ones(2))
    opt = optim.Adam([p], lr=0.1)
    p.grad = ge.ones(2, dtype="float64")
    opt.step()
    sd = opt.state_dict()
    sd["state"] = {5: sd["state"][0]}
    before = opt.state_dict()
    with pytest.raises(ValueError, match="state for parameter id 5"):
        opt.load_state_dict(sd)
    assert opt.state_dict()["state"][0]["step"] == before["state"][0]["step"] == 1


def test_state_dict_step_is_a_float32_array_and_loads_back_as_a_count():
    p = nn.Parameter(np.ones(3))
    opt = optim.NAdam([p], lr=0.1)
    for _ in range(3):
        p.grad = ge.ones(3, dtype="float64")
        opt.step()
    st = opt.state_dict()["state"][0]
    assert st["step"].dtype == np.float32 and st["step"].shape == () and st["step"] == 3
    assert st["step"].item() == 3.0
    assert st["mu_product"].dtype == np.float32 and st["mu_product"].shape == ()
    q = nn.Parameter(np.ones(3))
    other = optim.NAdam([q], lr=0.1)
    other.load_state_dict(opt.state_dict())
    assert other._state[0][0] == 3 and isinstance(other._state[0][0], int)
    assert other.state[q]["step"].item() == 3.0


# ---------------------------------------------------------------- named parameters

def test_named_parameters_keep_their_names_as_torch():
    torch = _torch()
    gp, tp = _pair(torch)
    gnamed = [(f"p{i}", p) for i, p in enumerate(gp)]
    tnamed = [(f"p{i}", p) for i, p in enumerate(tp)]
    gopt = optim.SGD([{"params": gnamed[:2]}, {"params": gnamed[2:], "lr": 0.2}], lr=0.1,
                     momentum=0.9)
    topt = torch.optim.SGD([{"params": tnamed[:2]}, {"params": tnamed[2:], "lr": 0.2}],
                           lr=0.1, momentum=0.9)
    assert gopt.params == gp
    assert [g["param_names"] for g in gopt.param_groups] == \
        [g["param_names"] for g in topt.param_groups]
    assert _run(torch, gopt, topt, gp, tp, 4) < 1e-12
    gsd, tsd = gopt.state_dict(), topt.state_dict()
    assert [g["param_names"] for g in gsd["param_groups"]] == [["p0", "p1"], ["p2", "p3"]]
    assert [set(g) for g in gsd["param_groups"]] == [set(g) for g in tsd["param_groups"]]
    # a named model.named_parameters() at the top level
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.named_parameters())
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    # the saved names replace the optimizer's; a dict without names keeps them
    sd = copy.deepcopy(gsd)
    sd["param_groups"][0]["param_names"] = ["a", "b"]
    renamed = optim.SGD([{"params": [(f"q{i}", nn.Parameter(p.numpy().copy()))
                                     for i, p in enumerate(gp[:2])]},
                         {"params": [(f"q{i}", nn.Parameter(p.numpy().copy()))
                                     for i, p in enumerate(gp[2:], 2)]}], lr=1.0)
    del sd["param_groups"][1]["param_names"]
    renamed.load_state_dict(sd)
    assert [g["param_names"] for g in renamed.param_groups] == [["a", "b"], ["q2", "q3"]]


def test_named_and_unnamed_parameters_do_not_mix_as_torch():
    torch = _torch()
    t1, t2 = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    g1, g2 = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    for lib, a, b in ((torch, t1, t2), (None, g1, g2)):
        mod = torch.optim if lib is torch else optim
        with pytest.raises(ValueError, match="Some param names are missing"):
            mod.SGD([("a", a), b], lr=0.1)
        o = mod.SGD([("a", a)], lr=0.1)
        with pytest.raises(ValueError, match="cannot add param group without names"):
            o.add_param_group({"params": [b]})


# ---------------------------------------------------------------- zero_grad

def test_zero_grad_without_set_to_none_zeroes_the_same_tensor_as_torch():
    torch = _torch()
    tp = torch.ones(3, requires_grad=True)
    tp.grad = torch.full((3,), 2.0)
    tref = tp.grad
    torch.optim.SGD([tp], lr=0.1).zero_grad(set_to_none=False)
    gp = nn.Parameter(np.ones(3))
    gp.grad = ge.tensor(np.full(3, 2.0))
    gref = gp.grad
    gopt = optim.SGD([gp], lr=0.1)
    gopt.zero_grad(set_to_none=False)
    assert tp.grad is tref and gp.grad is gref
    assert np.array_equal(gref.numpy(), tref.numpy())
    # the next backward adds into it, as torch's AccumulateGrad
    (gp * ge.tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    assert np.array_equal(gref.numpy(), [1.0, 2.0, 3.0])
    gopt.zero_grad()
    assert gp.grad is None
    # a gradient that is a view of another array is replaced, not written through
    base = np.arange(6.0)
    view = nn.Parameter(np.ones(3))
    view._grad = ge.Tensor._make(base[:3], "cpu")
    optim.SGD([view]).zero_grad(set_to_none=False)
    assert np.array_equal(view.grad.numpy(), np.zeros(3)) and base[1] == 1.0


# ---------------------------------------------------------------- errors

BAD_HYPERS = [
    ("SGD", {"lr": -1}), ("SGD", {"momentum": -1}), ("SGD", {"weight_decay": -1}),
    ("SGD", {"nesterov": True}), ("SGD", {"nesterov": True, "momentum": 0.9,
                                          "dampening": 0.1}),
    ("Adam", {"lr": -1}), ("Adam", {"eps": -1}), ("Adam", {"betas": (1.0, 0.9)}),
    ("Adam", {"betas": (0.9, 1.0)}), ("Adam", {"weight_decay": -1}),
    ("AdamW", {"betas": (0.9, -1.0)}), ("AdamW", {"weight_decay": -1}),
    ("Adamax", {"eps": -1}), ("Adamax", {"betas": (1.0, 0.9)}),
    ("NAdam", {"momentum_decay": -0.2}), ("NAdam", {"betas": (0.9, 1.0)}),
    ("RAdam", {"eps": -1}), ("RAdam", {"betas": (-0.1, 0.9)}),
    ("Adagrad", {"lr_decay": -1}), ("Adagrad", {"initial_accumulator_value": -1}),
    ("Adagrad", {"eps": -1}), ("Adadelta", {"rho": 1.1}), ("Adadelta", {"eps": -1}),
    ("RMSprop", {"alpha": -1}), ("RMSprop", {"momentum": -1}), ("RMSprop", {"eps": -1}),
    ("Rprop", {"lr": -1}), ("Rprop", {"etas": (1.0, 1.2)}), ("Rprop", {"etas": (0.5, 1.0)}),
    ("ASGD", {"lr": -1}), ("ASGD", {"weight_decay": -1}), ("LBFGS", {"lr": -1}),
    ("Adafactor", {"lr": -1}), ("Adafactor", {"beta2_decay": 0.1}),
    ("Adafactor", {"eps": (-1.0, 1e-3)}), ("Adafactor", {"eps": (None, -1.0)}),
    ("Adafactor", {"d": 0.5}), ("Adafactor", {"weight_decay": -1}),
    ("SparseAdam", {"lr": 0}), ("SparseAdam", {"eps": 0}),
    ("SparseAdam", {"betas": (0.9, 1.0)}),
    ("Adam", {"fused": True, "foreach": True}), ("SGD", {"fused": True,
                                                         "differentiable": True}),
    ("Adagrad", {"fused": True, "foreach": True}),
]


@pytest.mark.parametrize("name,bad", BAD_HYPERS,
                         ids=[f"{n}-{'-'.join(b)}" for n, b in BAD_HYPERS])
def test_invalid_hyperparameters_raise_torchs_error_and_message(name, bad):
    # gradengine's message starts with torch's (so a port's match= finds it), then says more
    torch = _torch()
    with pytest.raises(Exception) as te:
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **bad)
    with pytest.raises(Exception) as ge_err:
        getattr(optim, name)([nn.Parameter(np.ones(2))], **bad)
    assert type(ge_err.value) is type(te.value)
    assert str(ge_err.value).startswith(str(te.value)), (str(ge_err.value), str(te.value))


def test_a_tensor_lr_with_foreach_is_refused_as_torch():
    torch = _torch()
    for mod, t, lr in ((torch.optim, torch.ones(2, requires_grad=True), torch.tensor(0.01)),
                       (optim, nn.Parameter(np.ones(2)), ge.tensor(0.01))):
        for cls in (mod.Adam, mod.AdamW):
            with pytest.raises(ValueError, match="lr as a Tensor is not supported for "
                                                 "capturable=False and foreach=True"):
                cls([t], lr=lr, foreach=True)
            cls([t], lr=lr)  # (without foreach it is accepted)


def test_structural_errors_are_torchs():
    torch = _torch()
    t1, t2 = torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)
    g1, g2 = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    cases = [
        (lambda m, a, b: m.SGD([a * 2], lr=0.1), ValueError),
        (lambda m, a, b: m.SGD([1.0], lr=0.1), TypeError),
        (lambda m, a, b: m.SGD([a], lr=0.1).add_param_group([b]), TypeError),
        (lambda m, a, b: m.SGD([a], lr=0.1).add_param_group({"params": {b}}), TypeError),
        (lambda m, a, b: m.SGD([a], lr=0.1).add_param_group({"params": [a]}), ValueError),
        (lambda m, a, b: m.SGD([], lr=0.1), ValueError),
        (lambda m, a, b: m.SGD(a, lr=0.1), TypeError),
        (lambda m, a, b: m.SGD([a], lr=0.1).load_state_dict(
            m.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).state_dict()), ValueError),
        (lambda m, a, b: m.SGD([a], lr=0.1).load_state_dict(
            m.SGD([a, b], lr=0.1).state_dict()), ValueError),
        (lambda m, a, b: m.LBFGS([{"params": [a]}, {"params": [b]}]), ValueError),
    ]
    for make, err in cases:
        with pytest.raises(err) as te:
            make(torch.optim, t1, t2)
        with pytest.raises(err) as ge_err:
            make(optim, g1, g2)
        tmsg = str(te.value).split(", but got torch.")[0]  # (torch names its tensor type)
        assert tmsg in str(ge_err.value), (str(ge_err.value), tmsg)
    # a group without "params": torch's KeyError (and ValueError, as gradengine raised)
    with pytest.raises(KeyError):
        torch.optim.SGD([t1], lr=0.1).add_param_group({"lr": 0.1})
    with pytest.raises(KeyError):
        optim.SGD([g1], lr=0.1).add_param_group({"lr": 0.1})
    with pytest.raises(ValueError, match="'params' key"):
        optim.SGD([g1], lr=0.1).add_param_group({"lr": 0.1})


def test_a_duplicate_parameter_in_one_group_is_refused_with_torchs_words():
    # torch warns (and updates it twice); gradengine refuses, naming it as torch does
    torch = _torch()
    t = torch.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        torch.optim.SGD([t, t], lr=0.1)
    g = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="parameter group with duplicate parameters"):
        optim.SGD([g, g], lr=0.1)


# ---------------------------------------------------------------- LBFGS

@pytest.mark.parametrize("kwargs", [{}, {"line_search_fn": "strong_wolfe"},
                                    {"lr": 0.5, "history_size": 3, "max_iter": 7},
                                    {"line_search_fn": "strong_wolfe", "history_size": 2,
                                     "max_iter": 5, "max_eval": 9}])
def test_lbfgs_steps_and_state_equal_torch(kwargs):
    torch = _torch()
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 5))
    a = a @ a.T + np.eye(5)
    b, x0, y0 = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(2)

    def f(lib, x, y):
        m = torch.tensor(a) if lib is torch else ge.tensor(a)
        v = torch.tensor(b) if lib is torch else ge.tensor(b)
        return (x * (m @ x)).sum() * 0.5 - (x * v).sum() + (x ** 4).sum() * 0.1 + \
            ((y - 1) ** 4).sum() + (y[0] * x[0]) ** 2

    tx, ty = torch.tensor(x0, requires_grad=True), torch.tensor(y0, requires_grad=True)
    gx, gy = nn.Parameter(x0.copy()), nn.Parameter(y0.copy())
    to, go = torch.optim.LBFGS([tx, ty], **kwargs), optim.LBFGS([gx, gy], **kwargs)

    def tc():
        to.zero_grad()
        loss = f(torch, tx, ty)
        loss.backward()
        return loss

    def gc():
        go.zero_grad()
        loss = f(ge, gx, gy)
        loss.backward()
        return loss

    for _ in range(3):
        tl, gl = to.step(tc), go.step(gc)
        assert float(gl.item()) == pytest.approx(float(tl.detach()), rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(gx.numpy(), tx.detach().numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gy.numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-12)
    ts, gs = to.state[tx], go.state[gx]
    assert list(gs) == list(ts)
    assert gs["func_evals"] == ts["func_evals"] and gs["n_iter"] == ts["n_iter"]
    for k in ("d", "prev_flat_grad", "H_diag"):
        assert isinstance(gs[k], ge.Tensor), k
        np.testing.assert_allclose(gs[k].numpy(), ts[k].numpy(), rtol=1e-8, atol=1e-12)
    assert len(gs["old_dirs"]) == len(ts["old_dirs"])


# ---------------------------------------------------------------- lr schedulers

def _opts(torch, name="SGD", **kw):
    kw = kw or ({"lr": 0.1, "momentum": 0.9} if name == "SGD" else {"lr": 0.1})
    tp = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]
    gp = [nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))]
    topt = getattr(torch.optim, name)([{"params": [tp[0]]}, {"params": [tp[1]], "lr": 0.05}],
                                      **kw)
    gopt = getattr(optim, name)([{"params": [gp[0]]}, {"params": [gp[1]], "lr": 0.05}], **kw)
    return gopt, topt


def _same_lrs(gopt, topt, gs, ts):
    assert gs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12, abs=0)
    for gg, tg in zip(gopt.param_groups, topt.param_groups):
        assert gg["lr"] == pytest.approx(tg["lr"], rel=1e-12, abs=0)
        for key in ("momentum", "betas"):
            if key in tg:
                assert np.allclose(np.array(gg[key], float), np.array(tg[key], float),
                                   rtol=1e-12, atol=0), key


def _step_both(gopt, topt, gs, ts, n, metric=None):
    for i in range(n):
        gopt.step()
        topt.step()
        if metric is None:
            gs.step()
            ts.step()
        else:
            gs.step(metric(i))
            ts.step(metric(i))
        _same_lrs(gopt, topt, gs, ts)


def _strip(sd):
    return {k: v for k, v in sd.items() if k != "_get_lr_called_within_step"}


SCHEDULERS = [
    ("StepLR", lambda L, o: L.StepLR(o, step_size=7, gamma=0.5)),
    ("MultiStepLR", lambda L, o: L.MultiStepLR(o, milestones=[3, 10, 10, 30], gamma=0.5)),
    ("ExponentialLR", lambda L, o: L.ExponentialLR(o, gamma=0.93)),
    ("CosineAnnealingLR", lambda L, o: L.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("CosineAnnealingLR-13", lambda L, o: L.CosineAnnealingLR(o, T_max=13)),
    ("WarmRestarts", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                eta_min=0.001)),
    ("WarmRestarts-7", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=7)),
    ("LambdaLR", lambda L, o: L.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1 / (e + 1)])),
    ("MultiplicativeLR", lambda L, o: L.MultiplicativeLR(o, lambda e: 0.95)),
    ("LinearLR", lambda L, o: L.LinearLR(o, start_factor=0.2, end_factor=0.9,
                                         total_iters=12)),
    ("LinearLR-down", lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                              total_iters=12)),
    ("ConstantLR", lambda L, o: L.ConstantLR(o, factor=0.3, total_iters=6)),
    ("PolynomialLR", lambda L, o: L.PolynomialLR(o, total_iters=20, power=2.0)),
    ("Sequential", lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=5), L.ExponentialLR(o, gamma=0.9)],
        milestones=[5])),
    ("Sequential-3", lambda L, o: L.SequentialLR(
        o, [L.ConstantLR(o, factor=0.5, total_iters=3), L.StepLR(o, step_size=3),
            L.CosineAnnealingLR(o, T_max=7)], milestones=[4, 12])),
    ("Chained", lambda L, o: L.ChainedScheduler(
        [L.LinearLR(o, start_factor=0.5, total_iters=4), L.MultiStepLR(o, milestones=[3, 6]),
         L.CosineAnnealingLR(o, T_max=8)], optimizer=o)),
    ("Chained-of-Sequential", lambda L, o: L.ChainedScheduler(
        [L.SequentialLR(o, [L.ConstantLR(o, factor=0.5, total_iters=3),
                            L.ExponentialLR(o, gamma=0.9)], milestones=[3]),
         L.StepLR(o, step_size=4)])),
]
for _strategy in ("cos", "linear"):
    for _three in (False, True):
        for _cm in (False, True):
            SCHEDULERS.append((f"OneCycle-{_strategy}-three{_three}-cm{_cm}",
                               lambda L, o, s=_strategy, t=_three, c=_cm: L.OneCycleLR(
                                   o, max_lr=[1.0, 0.5], total_steps=50, anneal_strategy=s,
                                   three_phase=t, cycle_momentum=c)))
for _mode in ("triangular", "triangular2", "exp_range"):
    for _cm in (False, True):
        SCHEDULERS.append((f"Cyclic-{_mode}-cm{_cm}", lambda L, o, m=_mode, c=_cm: L.CyclicLR(
            o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, step_size_down=6, mode=m,
            gamma=0.9, cycle_momentum=c)))
SCHEDULERS.append(("Cyclic-scale_fn", lambda L, o: L.CyclicLR(
    o, base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 0.5 ** x,
    scale_mode="iterations")))


@pytest.mark.parametrize("make", [m for _, m in SCHEDULERS], ids=[n for n, _ in SCHEDULERS])
def test_schedules_over_fifty_steps_equal_torch(make):
    torch = _torch()
    gopt, topt = _opts(torch)
    gs, ts = make(ls, gopt), make(torch.optim.lr_scheduler, topt)
    _same_lrs(gopt, topt, gs, ts)
    _step_both(gopt, topt, gs, ts, 50)
    assert set(gs.state_dict()) == set(_strip(ts.state_dict()))


@pytest.mark.parametrize("make", [m for _, m in SCHEDULERS], ids=[n for n, _ in SCHEDULERS])
def test_a_reloaded_schedule_goes_on_as_torchs_reloaded_one(make):
    # after 7 steps: the optimizer's and the scheduler's state dicts (deep-copied, as
    # through a file) into fresh ones; ours from ours, and ours from torch's, go on as
    # torch's from torch's
    torch = _torch()
    gopt, topt = _opts(torch)
    gs, ts = make(ls, gopt), make(torch.optim.lr_scheduler, topt)
    _step_both(gopt, topt, gs, ts, 7)
    gosd, tosd = copy.deepcopy(gopt.state_dict()), copy.deepcopy(topt.state_dict())
    gssd, tssd = copy.deepcopy(gs.state_dict()), copy.deepcopy(ts.state_dict())
    g2, t2 = _opts(torch)
    g3, _ = _opts(torch)
    g2.load_state_dict(gosd)
    g3.load_state_dict(copy.deepcopy(gosd))
    t2.load_state_dict(tosd)
    s2, s3, st2 = make(ls, g2), make(ls, g3), make(torch.optim.lr_scheduler, t2)
    s2.load_state_dict(gssd)
    s3.load_state_dict(tssd)
    st2.load_state_dict(copy.deepcopy(tssd))
    for _ in range(10):
        for o in (g2, g3, t2):
            o.step()
        for sc in (s2, s3, st2):
            sc.step()
        _same_lrs(g2, t2, s2, st2)
        _same_lrs(g3, t2, s3, st2)


RESUMABLE = [
    lambda L, o, e: L.StepLR(o, 3, 0.5, last_epoch=e),
    lambda L, o, e: L.MultiStepLR(o, [2, 5, 9], 0.5, last_epoch=e),
    lambda L, o, e: L.ExponentialLR(o, 0.9, last_epoch=e),
    lambda L, o, e: L.CosineAnnealingLR(o, 6, 0.001, last_epoch=e),
    lambda L, o, e: L.CosineAnnealingWarmRestarts(o, 3, 2, 0.001, last_epoch=e),
    lambda L, o, e: L.LambdaLR(o, lambda k: 0.9 ** k, last_epoch=e),
    lambda L, o, e: L.MultiplicativeLR(o, lambda k: 0.9, last_epoch=e),
    lambda L, o, e: L.LinearLR(o, 0.2, 1.0, 6, last_epoch=e),
    lambda L, o, e: L.ConstantLR(o, 0.3, 4, last_epoch=e),
    lambda L, o, e: L.PolynomialLR(o, 8, 2.0, last_epoch=e),
    lambda L, o, e: L.OneCycleLR(o, 1.0, total_steps=40, last_epoch=e),
    lambda L, o, e: L.OneCycleLR(o, 1.0, total_steps=40, three_phase=True,
                                 anneal_strategy="linear", last_epoch=e),
    lambda L, o, e: L.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="triangular2",
                               last_epoch=e),
]


@pytest.mark.parametrize("make", RESUMABLE, ids=[f"r{i}" for i in range(len(RESUMABLE))])
def test_resuming_with_last_epoch_equals_torch(make):
    torch = _torch()
    gopt, topt = _opts(torch)
    gs, ts = make(ls, gopt, -1), make(torch.optim.lr_scheduler, topt, -1)
    _step_both(gopt, topt, gs, ts, 7)
    g2, t2 = _opts(torch)
    g2.load_state_dict(copy.deepcopy(gopt.state_dict()))
    t2.load_state_dict(copy.deepcopy(topt.state_dict()))
    s2, st2 = make(ls, g2, 6), make(torch.optim.lr_scheduler, t2, 6)
    _same_lrs(g2, t2, s2, st2)
    _step_both(g2, t2, s2, st2, 10)


PLATEAU_METRICS = [lambda i: 1.0, lambda i: 10 - i * 0.01,
                   lambda i: [5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 2][i % 14],
                   lambda i: math.sin(i)]


@pytest.mark.parametrize("metric", PLATEAU_METRICS, ids=["flat", "slow", "steps", "sin"])
@pytest.mark.parametrize("mode,threshold_mode,cooldown", [
    ("min", "rel", 0), ("min", "abs", 2), ("max", "rel", 2), ("max", "abs", 0)])
def test_reduce_lr_on_plateau_equals_torch(mode, threshold_mode, cooldown, metric):
    torch = _torch()
    gopt, topt = _opts(torch)
    kw = {"mode": mode, "threshold_mode": threshold_mode, "cooldown": cooldown,
          "patience": 2, "factor": 0.5, "min_lr": [0.01, 0.002], "threshold": 0.05}
    gs = ls.ReduceLROnPlateau(gopt, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    _step_both(gopt, topt, gs, ts, 25, metric)
    assert gs.state_dict() == ts.state_dict()
    # torch's state dict into a fresh one: it goes on as torch's
    g2, _ = _opts(torch)
    g2.load_state_dict(copy.deepcopy(gopt.state_dict()))
    s2 = ls.ReduceLROnPlateau(g2, mode="max" if mode == "min" else "min")
    s2.load_state_dict(copy.deepcopy(ts.state_dict()))
    assert s2.mode == mode and s2.mode_worse == ts.mode_worse
    _step_both(g2, topt, s2, ts, 25, metric)


def test_reduce_lr_on_plateau_eps_and_a_scalar_min_lr_equal_torch():
    torch = _torch()
    for kw in ({"patience": 0, "min_lr": 0.02}, {"patience": 0, "eps": 0.01}):
        gopt, topt = _opts(torch)
        gs = ls.ReduceLROnPlateau(gopt, **kw)
        ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
        _step_both(gopt, topt, gs, ts, 10, lambda i: 1.0)


SCHEDULER_ERRORS = [
    lambda L, o: L.StepLR(object(), 1),
    lambda L, o: L.LinearLR(o, start_factor=0),
    lambda L, o: L.LinearLR(o, end_factor=1.5),
    lambda L, o: L.ConstantLR(o, factor=1.5),
    lambda L, o: L.ReduceLROnPlateau(o, factor=1.5),
    lambda L, o: L.ReduceLROnPlateau(o, mode="avg"),
    lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="x"),
    lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda L, o: L.ReduceLROnPlateau(object()),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=0),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=5.0),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-3),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
    lambda L, o: L.OneCycleLR(o, max_lr=[0.1], total_steps=10),
    lambda L, o: L.CyclicLR(o, 0.01, 0.1, mode="saw"),
    lambda L, o: L.CyclicLR(o, [0.01], 0.1),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2.0),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="a"),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2).step(-1),
    lambda L, o: L.LambdaLR(o, [lambda e: 1]),
    lambda L, o: L.MultiplicativeLR(o, [lambda e: 1]),
    lambda L, o: L.MultiplicativeLR(o, 0.5),
    lambda L, o: L.StepLR(o, 1, last_epoch=3),
    lambda L, o: L.SequentialLR(o, [], milestones=[]),
    lambda L, o: L.SequentialLR(o, [L.ConstantLR(o)], milestones=[3]),
    lambda L, o: L.SequentialLR(o, [L.ConstantLR(o), L.ReduceLROnPlateau(o)],
                                milestones=[3]),
    lambda L, o: L.SequentialLR(o, [object()], milestones=[]),
    lambda L, o: L.ChainedScheduler([]),
    lambda L, o: L.ChainedScheduler([L.ReduceLROnPlateau(o)]),
    lambda L, o: L.ChainedScheduler([L.ConstantLR(o), object()]),
    lambda L, o: _overrun(L.OneCycleLR(o, max_lr=0.1, total_steps=2), 3),
    lambda L, o: (swa_utils if L is ls else _torch().optim.swa_utils).SWALR(o, [0.05]),
]


def _overrun(sched, n):
    for _ in range(n):
        sched.step()


@pytest.mark.parametrize("make", SCHEDULER_ERRORS,
                         ids=[f"e{i}" for i in range(len(SCHEDULER_ERRORS))])
def test_scheduler_errors_are_torchs(make):
    # the same exception type, gradengine's message starting with torch's (a KeyError's
    # text is torch's with gradengine's words after it)
    torch = _torch()
    gopt, topt = _opts(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as te:
            make(torch.optim.lr_scheduler, topt)
        with pytest.raises(Exception) as ge_err:
            make(ls, gopt)
    assert type(ge_err.value) is type(te.value)
    tmsg, gmsg = str(te.value), str(ge_err.value)
    if isinstance(te.value, KeyError):
        tmsg, gmsg = te.value.args[0], ge_err.value.args[0]
    assert gmsg.startswith(tmsg.rstrip(".")), (gmsg, tmsg)


def _warned(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fn()
    return [str(x.message) for x in w if issubclass(x.category, UserWarning)]


def _after_opt_step(sched, fn):
    # (torch counts the optimizer's steps from the scheduler's construction on: a step
    # before it is not seen, and torch warns; gradengine counts every step)
    sched.optimizer.step()
    fn(sched)


WARNING_CASES = [
    lambda L, o: L.StepLR(o, 2).step(),
    lambda L, o: _after_opt_step(L.StepLR(o, 2), lambda s: s.step()),
    lambda L, o: _after_opt_step(L.StepLR(o, 2), lambda s: s.step(5)),
    lambda L, o: (o.step(), L.StepLR(o, 2).get_lr()),
    lambda L, o: (o.step(), L.CyclicLR(o, 0.01, 0.1).get_lr()),
    lambda L, o: (o.step(), L.ReduceLROnPlateau(o).step(1.0, 3)),
    lambda L, o: L.ReduceLROnPlateau(o).step(1.0),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, 3).step(),
    lambda L, o: (o.step(), L.CosineAnnealingWarmRestarts(o, 3).step(2)),
    lambda L, o: L.SequentialLR(o, [L.ConstantLR(o), L.ExponentialLR(o, 0.9)],
                                milestones=[2]).step(),
    lambda L, o: L.ChainedScheduler([L.ConstantLR(o), L.ExponentialLR(o, 0.9)]).step(),
    lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=10).step(),
    lambda L, o: (L.StepLR(o, 2), L.ExponentialLR(o, 0.9).step()),
    lambda L, o: _after_opt_step(L.LinearLR(o), lambda s: [s.step() for _ in range(4)]),
]


@pytest.mark.parametrize("make", WARNING_CASES,
                         ids=[f"w{i}" for i in range(len(WARNING_CASES))])
def test_scheduler_warnings_are_torchs(make):
    torch = _torch()
    gopt, topt = _opts(torch)
    # (torch's optimizer has no gradients here, so its step changes nothing)
    assert _warned(lambda: make(ls, gopt)) == _warned(
        lambda: make(torch.optim.lr_scheduler, topt))


def test_swalr_warns_as_torch():
    torch = _torch()
    for make in (lambda S, o: S.SWALR(o, 0.05).step(),
                 lambda S, o: (o.step(), S.SWALR(o, 0.05).get_lr()),
                 lambda S, o: _after_opt_step(S.SWALR(o, 0.05), lambda s: s.step())):
        gopt, topt = _opts(torch)
        assert _warned(lambda m=make, o=gopt: m(swa_utils, o)) == _warned(
            lambda m=make, o=topt: m(torch.optim.swa_utils, o))


# ---------------------------------------------------------------- by hand (no torch)

def test_the_step_order_warning_by_hand():
    p = nn.Parameter(np.ones(2))
    opt = optim.SGD([p], lr=0.1)
    sched = ls.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        sched.step()
    opt2 = optim.Adafactor([nn.Parameter(np.ones(2))], lr=0.1)
    s2 = ls.ExponentialLR(opt2, 0.9)
    opt2.step()  # (no gradients: nothing changes, but it was called)
    assert _warned(s2.step) == []
    assert _warned(sched.step) == []  # (only the first step after the constructor's)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    assert "_get_lr_called_within_step" not in sched.state_dict()


def test_optimizer_errors_by_hand():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -0.5 \(SGD"):
        optim.SGD([p], lr=-0.5)
    with pytest.raises(ValueError, match=r"^Invalid beta parameter at index 1: 1.0"):
        optim.AdamW([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"^Invalid rho value: 2"):
        optim.Adadelta([p], rho=2)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}])
    with pytest.raises(TypeError, match="param_group must be a dict"):
        optim.SGD([p]).add_param_group(p)


def test_a_zero_dim_parameter_keeps_zero_dim_arrays():
    # NumPy's arithmetic on 0-d arrays gives scalars: the parameter and its state stay
    # 0-d arrays of its dtype (torch's 0-d tensors)
    for make in (lambda q: optim.Adam([q], lr=0.1, amsgrad=True),
                 lambda q: optim.SGD([q], lr=0.1, momentum=0.9),
                 lambda q: optim.Adafactor([q], lr=0.1), lambda q: optim.ASGD([q])):
        p = nn.Parameter(np.array(1.5))
        opt = make(p)
        for _ in range(2):
            p.grad = ge.tensor(np.array(0.5))
            opt.step()
        assert type(p.data) is np.ndarray and p.data.shape == () and p.dtype == np.float64
        for k, v in opt.state[p].items():
            if k not in ("step", "eta", "mu"):
                assert isinstance(v, ge.Tensor) and v.shape == () and v.dtype == np.float64, k
        sd = opt.state_dict()
        q = nn.Parameter(np.array(1.5))
        again = make(q)
        again.load_state_dict(sd)
        q.data = p.data.copy()
        for a, b in ((opt, p), (again, q)):
            b.grad = ge.tensor(np.array(-0.25))
            a.step()
        assert p.numpy() == q.numpy()
