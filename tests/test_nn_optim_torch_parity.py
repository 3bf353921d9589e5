"""nn and optim where they had drifted from torch 2.x: conv padding strings and modes,
state dicts of tied parameters, optimizer state keyed by parameter, ignored targets in the
cross-entropies, parameter assignment, argument checks, reset_parameters, reprs. Each
property has a by-hand test (no torch needed) and, where values are compared, a test with
torch as the oracle."""

import warnings

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from gradengine import nn, optim
from gradengine.errors import ArgumentError


def _torch():
    return pytest.importorskip("torch")


def _load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


# ---------------------------------------------------------------- convolution padding

def test_conv1d_padding_same_and_valid_strings_keep_the_length_by_hand():
    x = ge.randn(1, 2, 9)
    assert nn.Conv1d(2, 2, 3, padding="same")(x).shape == (1, 2, 9)
    assert nn.Conv1d(2, 2, 4, padding="same", dilation=2)(x).shape == (1, 2, 9)
    assert nn.Conv1d(2, 2, 3, padding="valid")(x).shape == (1, 2, 7)


def test_padding_same_with_a_stride_is_refused_at_construction():
    for make in (lambda: nn.Conv2d(1, 1, 3, padding="same", stride=2),
                 lambda: nn.Conv1d(1, 1, 3, padding="same", stride=2),
                 lambda: nn.Conv3d(1, 1, 3, padding="same", stride=(1, 2, 1))):
        with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
            make()


def test_padding_modes_other_than_zeros_are_checked_by_name():
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose1d(1, 1, 3, padding_mode="reflect")


def test_conv1d_circular_padding_wraps_around_by_hand():
    m = nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular", bias=False)
    with ge.no_grad():
        m.weight.data[...] = np.array([[[1.0, 0.0, 0.0]]], np.float32)  # out[i] = x[i - 1]
    x = ge.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    np.testing.assert_array_equal(m(x).numpy(), [[[4.0, 1.0, 2.0, 3.0]]])
    m2 = nn.Conv1d(1, 1, 3, padding=1, padding_mode="replicate", bias=False)
    with ge.no_grad():
        m2.weight.data[...] = np.array([[[1.0, 0.0, 0.0]]], np.float32)
    np.testing.assert_array_equal(m2(x).numpy(), [[[1.0, 1.0, 2.0, 3.0]]])
    assert "padding_mode=circular" in repr(m)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("case", [
    ("Conv1d", (2, 2, 9), dict(kernel_size=3, padding=2)),
    ("Conv1d", (2, 2, 9), dict(kernel_size=4, padding="same")),
    ("Conv2d", (2, 2, 7, 8), dict(kernel_size=3, padding=(1, 2))),
    ("Conv2d", (2, 2, 7, 8), dict(kernel_size=3, padding="same", dilation=2)),
    ("Conv2d", (2, 2, 7, 8), dict(kernel_size=(2, 3), padding=1, stride=2)),
])
def test_conv_padding_modes_match_torch_values_gradients_and_repr(mode, case):
    torch = _torch()
    name, shape, kw = case
    kw = dict(kw)
    k = kw.pop("kernel_size")
    theirs = getattr(torch.nn, name)(2, 3, k, padding_mode=mode, **kw).double()
    ours = getattr(nn, name)(2, 3, k, padding_mode=mode, **kw).to("float64")
    _load_from_torch(ours, theirs)
    x = np.random.default_rng(0).standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    xg = ge.tensor(x, dtype="float64", requires_grad=True)
    yt, yg = theirs(xt), ours(xg)
    w = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    (yt * torch.tensor(w)).sum().backward()
    (yg * ge.tensor(w, dtype="float64")).sum().backward()
    np.testing.assert_allclose(yg.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-10)
    assert repr(ours) == repr(theirs)


# ---------------------------------------------------------------- state dicts

def _tied(lib):
    """Two Linear layers sharing one weight, a module of ``lib`` (gradengine's nn or
    torch.nn)."""
    m = lib.Module()
    m.a, m.b = lib.Linear(2, 3), lib.Linear(2, 3)
    m.b.weight = m.a.weight
    return m


def test_state_dict_lists_a_tied_parameter_under_every_name_by_hand():
    m = _tied(nn)
    assert list(m.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert [n for n, _ in m.named_parameters()] == ["a.weight", "a.bias", "b.bias"]
    lin = nn.Linear(2, 2)
    assert list(nn.Sequential(lin, lin).state_dict()) == ["0.weight", "0.bias", "1.weight",
                                                          "1.bias"]
    assert len(nn.Sequential(lin, lin).parameters()) == 2
    sd = m.state_dict()
    assert m.load_state_dict(sd) == ((), ()) or not any(m.load_state_dict(sd))
    del sd["b.weight"]
    with pytest.raises(KeyError, match="b.weight"):
        m.load_state_dict(sd)
    assert m.b.weight is m.a.weight  # still tied


def test_tied_state_dict_keys_and_a_strict_torch_load_match_torch():
    torch = _torch()
    theirs, ours = _tied(torch.nn), _tied(nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    tl = torch.nn.Linear(2, 2)
    gl = nn.Linear(2, 2)
    assert list(nn.Sequential(gl, gl).state_dict()) == list(
        torch.nn.Sequential(tl, tl).state_dict())
    nn.utils.load_torch_state_dict(ours, theirs.state_dict(), strict=True)
    x = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    with torch.no_grad():
        want = (theirs.a(torch.tensor(x)), theirs.b(torch.tensor(x)))
    for o, w in zip((ours.a(ge.tensor(x)), ours.b(ge.tensor(x))), want):
        np.testing.assert_allclose(o.numpy(), w.numpy(), rtol=1e-6, atol=1e-6)


def test_assigning_a_plain_tensor_to_a_parameter_raises_type_error_by_hand():
    m = nn.Linear(2, 2)
    w = m.weight
    with pytest.raises(TypeError, match=r"Linear: cannot assign 'Tensor of shape \(2, 2\) and "
                                        r"dtype float32' as parameter 'weight' \(nn.Parameter "
                                        r"or None expected\)"):
        m.weight = ge.ones((2, 2))
    assert m.weight is w and [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m.bias = None  # allowed, as in torch
    assert m.bias is None and list(m.state_dict()) == ["weight"]
    m.weight = nn.Parameter(ge.zeros((2, 2)))
    assert list(m.state_dict()) == ["weight"]

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ge.ones(2))
            super().__init__()

    with pytest.raises(AttributeError, match=r"cannot assign parameters before "
                                             r"Module.__init__\(\) call"):
        Early()


def test_parameter_assignment_errors_are_torch_s_kinds():
    torch = _torch()
    with pytest.raises(TypeError, match="cannot assign"):
        torch.nn.Linear(2, 2).weight = torch.ones(2, 2)
    with pytest.raises(TypeError, match="cannot assign"):
        nn.Linear(2, 2).weight = ge.ones((2, 2))


def test_load_state_dict_assign_makes_the_given_tensors_the_parameters_by_hand():
    m = nn.Linear(2, 3)
    m.bias.requires_grad_(False)
    w = ge.ones((2, 3), dtype="float64")
    b = np.arange(3, dtype=np.float32)
    assert not any(m.load_state_dict({"weight": w, "bias": b}, assign=True))
    assert isinstance(m.weight, nn.Parameter) and m.weight.dtype == np.float64
    assert m.weight.requires_grad and not m.bias.requires_grad
    np.testing.assert_array_equal(m.bias.numpy(), [0.0, 1.0, 2.0])
    w.data[0, 0] = 5.0  # shared, not copied
    assert m.weight.numpy()[0, 0] == 5.0
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    p = nn.Parameter(ge.zeros((2, 3)))
    m.load_state_dict({"weight": p, "bias": b}, assign=True)
    assert m.weight is p
    with pytest.raises(ge.ShapeError):
        m.load_state_dict({"weight": ge.ones((3, 3)), "bias": b}, assign=True)
    assert m.weight is p  # all or nothing


def test_load_state_dict_assign_keeps_the_given_dtype_as_torch():
    torch = _torch()
    t = torch.nn.Linear(2, 3)
    t.load_state_dict({"weight": torch.ones(3, 2, dtype=torch.float64),
                       "bias": torch.zeros(3)}, assign=True)
    m = nn.Linear(2, 3)
    m.load_state_dict({"weight": ge.ones((2, 3), dtype="float64"), "bias": ge.zeros(3)},
                      assign=True)
    assert str(t.weight.dtype).endswith(str(m.weight.dtype))
    assert isinstance(t.weight, torch.nn.Parameter) and isinstance(m.weight, nn.Parameter)
    assert t.weight.requires_grad == m.weight.requires_grad


def test_a_batchnorm_checkpoint_without_its_counter_loads_strictly_by_hand():
    bn = nn.BatchNorm1d(3)
    for _ in range(2):
        bn(ge.randn(4, 3))
    sd = bn.state_dict()
    del sd["num_batches_tracked"]
    assert not any(bn.load_state_dict(sd))
    assert bn.num_batches_tracked.item() == 2  # the module keeps its counter, as torch
    seq = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    sd = seq.state_dict()
    del sd["1.num_batches_tracked"]
    seq.load_state_dict(sd)
    del sd["1.running_mean"]  # only the counter may be missing
    with pytest.raises(KeyError, match="1.running_mean"):
        seq.load_state_dict(sd)


def test_a_batchnorm_checkpoint_without_its_counter_loads_as_in_torch():
    torch = _torch()
    tb, gb = torch.nn.BatchNorm2d(3), nn.BatchNorm2d(3)
    sd = {k: v for k, v in tb.state_dict().items() if k != "num_batches_tracked"}
    r_t = tb.load_state_dict(sd, strict=False)
    r_g = gb.load_state_dict({k: v.numpy() for k, v in sd.items()}, strict=False)
    assert list(r_t.missing_keys) == list(r_g.missing_keys) == []
    tb.load_state_dict(sd)
    gb.load_state_dict({k: v.numpy() for k, v in sd.items()})
    assert int(tb.num_batches_tracked) == int(gb.num_batches_tracked.item()) == 0


# ---------------------------------------------------------------- optimizer state

def test_optimizer_state_is_keyed_by_parameter_by_hand():
    p = ge.tensor([1.0, 2.0], requires_grad=True)
    q = ge.tensor([3.0], requires_grad=True)
    o = optim.Adam([p, q], lr=0.1)
    assert len(o.state) == 0 and p not in o.state and len(o.state[p]) == 0
    p.grad = ge.ones(2)
    o.step()
    assert p in o.state and q not in o.state and len(o.state) == 1
    assert list(o.state[p]) == ["step", "exp_avg", "exp_avg_sq"]
    assert o.state[p]["step"].item() == 1.0
    np.testing.assert_allclose(o.state[p]["exp_avg"].numpy(), [0.1, 0.1], rtol=1e-6)
    assert [(k is p, sorted(v)) for k, v in o.state.items()] == [
        (True, ["exp_avg", "exp_avg_sq", "step"])]
    with pytest.raises(KeyError, match="keyed by the optimizer's parameters"):
        o.state[0]
    with pytest.raises(KeyError, match="no entry 'momentum_buffer'"):
        o.state[p]["momentum_buffer"]
    # writes reach the optimizer: a whole entry, in place through the Tensor read, a step
    o.state[p]["exp_avg"] = ge.zeros(2)
    o.state[p]["exp_avg_sq"].data[...] = 4.0
    o.state[p]["step"] = 9
    assert o.state[p]["step"].item() == 9.0
    assert o.state_dict()["state"][0]["step"] == 9
    np.testing.assert_array_equal(o.state_dict()["state"][0]["exp_avg_sq"], [4.0, 4.0])
    with pytest.raises(ge.ShapeError, match="exp_avg"):
        o.state[p]["exp_avg"] = ge.zeros(3)
    del o.state[p]
    assert len(o.state) == 0
    assert "max_exp_avg_sq" in optim.Adam([p], amsgrad=True)._state_names(
        {"amsgrad": True})


def test_optimizer_state_names_and_values_match_torch():
    torch = _torch()
    cases = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1)),
             ("Adam", dict(lr=0.1, amsgrad=True)), ("AdamW", dict(lr=0.1)),
             ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)), ("RMSprop", {}),
             ("Adagrad", dict(lr=0.1)), ("Adamax", {}), ("NAdam", {}), ("RAdam", {}),
             ("Adadelta", {}), ("Rprop", {}), ("ASGD", {}), ("Adafactor", {})]
    x = np.array([1.0, -2.0, 0.5])
    for name, kw in cases:
        tp = torch.nn.Parameter(torch.tensor(x))
        gp = ge.tensor(x, dtype="float64", requires_grad=True)
        to, go = getattr(torch.optim, name)([tp], **kw), getattr(optim, name)([gp], **kw)
        for step in range(3):
            g = np.array([0.3, -0.1, 0.7]) * (step + 1)
            tp.grad, gp.grad = torch.tensor(g), ge.tensor(g, dtype="float64")
            to.step()
            go.step()
        ts, gs = to.state[tp], go.state[gp]
        assert sorted(ts) == sorted(gs), name
        for k in ts:
            want = ts[k]
            got = gs[k]
            if isinstance(want, torch.Tensor):
                np.testing.assert_allclose(np.asarray(got.numpy(), np.float64),
                                           want.double().numpy(), rtol=1e-6, err_msg=name)
        assert len(to.state) == len(go.state) == 1
        assert (tp in to.state) and (gp in go.state)


def test_writing_optimizer_state_then_stepping_matches_torch():
    torch = _torch()
    x = np.array([1.0, -2.0, 0.5])
    tp = torch.nn.Parameter(torch.tensor(x))
    gp = ge.tensor(x, dtype="float64", requires_grad=True)
    to, go = torch.optim.Adam([tp], lr=0.1), optim.Adam([gp], lr=0.1)
    for step in range(4):
        g = np.array([0.3, -0.1, 0.7]) * (step + 1)
        tp.grad, gp.grad = torch.tensor(g), ge.tensor(g, dtype="float64")
        to.step()
        go.step()
        if step == 1:
            to.state[tp]["exp_avg"] = torch.zeros(3, dtype=torch.float64)
            go.state[gp]["exp_avg"] = ge.zeros(3, dtype="float64")
            to.state[tp]["exp_avg_sq"].mul_(4.0)
            go.state[gp]["exp_avg_sq"].data[...] *= 4.0
    np.testing.assert_allclose(gp.numpy(), tp.detach().numpy(), rtol=1e-12)


def test_optimizer_state_writes_reach_a_jit_step_as_an_eager_one():
    def run(jit):
        ge.manual_seed(0)
        m = nn.Linear(3, 2)
        o = optim.Adam(m.parameters(), lr=0.1)

        def step(x, y):
            o.zero_grad()
            loss = F.mse_loss(m(x), y)
            loss.backward()
            o.step()
            return loss

        step = ge.jit(step) if jit else step
        x, y = ge.ones((4, 3)), ge.zeros((4, 2))
        for i in range(6):
            step(x, y)
            if i == 2:
                o.state[m.weight]["exp_avg"] = ge.zeros(m.weight.shape)
                o.state[m.bias]["exp_avg_sq"].data[...] *= 4.0
        return m.weight.numpy(), m.bias.numpy(), o.state[m.weight]["exp_avg"].numpy()

    for a, b in zip(run(False), run(True)):
        np.testing.assert_array_equal(a, b)


def test_optimizer_state_dict_round_trip_still_works_with_the_mapping():
    p = ge.tensor([1.0, 2.0], requires_grad=True)
    o = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = ge.ones(2)
    o.step()
    sd = o.state_dict()
    assert list(sd["state"][0]) == ["momentum_buffer"]
    o2 = optim.SGD([ge.tensor([1.0, 2.0], requires_grad=True)], lr=0.1, momentum=0.9)
    o2.load_state_dict(sd)
    q = o2.params[0]
    np.testing.assert_array_equal(o2.state[q]["momentum_buffer"].numpy(), [1.0, 1.0])


# ---------------------------------------------------------------- optimizer arguments

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
              "RAdam", "Rprop", "ASGD", "Adafactor", "LBFGS"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_an_empty_parameter_list_is_refused_by_hand(name):
    with pytest.raises(ValueError, match=f"{name}: optimizer got an empty parameter list"):
        getattr(optim, name)([])


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_an_empty_parameter_list_is_refused_as_torch(name):
    torch = _torch()
    with pytest.raises(ValueError, match="empty parameter list"):
        getattr(torch.optim, name)([])
    with pytest.raises(ValueError, match="empty parameter list"):
        getattr(optim, name)([])


def test_param_group_keys_include_foreach_fused_differentiable_capturable_by_hand():
    p = ge.tensor([1.0], requires_grad=True)
    sgd = optim.SGD([p])
    assert {"foreach", "fused", "differentiable", "maximize"} <= set(sgd.param_groups[0])
    assert sgd.defaults["foreach"] is None and sgd.defaults["differentiable"] is False
    adam = optim.Adam([p], fused=None)
    assert adam.param_groups[0]["capturable"] is False and "fused" in adam.defaults


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_param_group_keys_match_torch(name):
    torch = _torch()
    t = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))])
    g = getattr(optim, name)([ge.tensor([1.0, 1.0], requires_grad=True)])
    assert sorted(g.param_groups[0]) == sorted(t.param_groups[0])
    assert sorted(g.defaults) == sorted(t.defaults)
    for k in ("foreach", "fused", "differentiable", "capturable"):
        if k in t.defaults:
            assert g.defaults[k] == t.defaults[k]


def test_the_new_group_keys_keep_the_jit_flat_step_bit_for_bit():
    def run(jit):
        ge.manual_seed(0)
        m = nn.Linear(3, 2)
        o = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            o.zero_grad()
            F.mse_loss(m(x), y).backward()
            o.step()

        step = ge.jit(step) if jit else step
        for _ in range(4):
            step(ge.ones((4, 3)), ge.zeros((4, 2)))
        return m.weight.numpy()

    np.testing.assert_array_equal(run(False), run(True))


def test_a_tensor_learning_rate_is_read_as_its_value_by_hand():
    p = ge.tensor([1.0, 2.0], requires_grad=True, dtype="float64")
    o = optim.Adam([p], lr=ge.tensor(0.5, dtype="float64"))
    p.grad = ge.ones(2, dtype="float64")
    o.step()
    np.testing.assert_allclose(p.numpy(), [0.5, 1.5], rtol=1e-7)  # Adam's first step is lr
    o.param_groups[0]["lr"] = ge.tensor(0.25, dtype="float64")  # assigned later too
    o.step()
    assert o.param_groups[0]["lr"] == 0.25
    s = optim.SGD([p], lr=ge.tensor(0.1, dtype="float64"))
    s.step()
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.SGD([p], lr=ge.tensor([0.1, 0.2]))


def test_a_tensor_learning_rate_matches_torch():
    torch = _torch()
    x = np.array([1.0, -2.0])
    tp = torch.nn.Parameter(torch.tensor(x))
    gp = ge.tensor(x, dtype="float64", requires_grad=True)
    to = torch.optim.Adam([tp], lr=torch.tensor(0.01))
    go = optim.Adam([gp], lr=ge.tensor(0.01))
    for _ in range(3):
        tp.grad, gp.grad = torch.tensor([0.5, -1.0], dtype=torch.float64), \
            ge.tensor([0.5, -1.0], dtype="float64")
        to.step()
        go.step()
    np.testing.assert_allclose(gp.numpy(), tp.detach().numpy(), rtol=1e-7)


# ---------------------------------------------------------------- losses

@pytest.mark.parametrize("kw", [{}, dict(label_smoothing=0.1), dict(weight=(1.0, 2.0, 3.0)),
                                dict(weight=(1.0, 2.0, 3.0), label_smoothing=0.2)])
def test_every_target_ignored_gives_a_nan_loss_and_zero_gradients_by_hand(kw):
    kw = dict(kw)
    if "weight" in kw:
        kw["weight"] = ge.tensor(kw["weight"])
    x = ge.randn(3, 3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning either
        loss = F.cross_entropy(x, ge.tensor([-100, -100, -100]), **kw)
        loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 3)))
    x2 = ge.randn(3, 3, requires_grad=True)
    kw.pop("label_smoothing", None)
    loss = F.nll_loss(x2, ge.tensor([-100, -100, -100]), **kw)
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x2.grad.numpy(), np.zeros((3, 3)))
    x3 = ge.randn(2, 3, 4, requires_grad=True)  # (N, C, d): the ignored rows only
    labels = ge.tensor([[0, -100, 2, 1], [-100, -100, 1, 0]])
    nn.CrossEntropyLoss(label_smoothing=0.1)(x3, labels).backward()
    g = x3.grad.numpy()
    assert np.all(g[0, :, 1] == 0) and np.all(g[1, :, :2] == 0) and np.all(g[0, :, 0] != 0)


@pytest.mark.parametrize("labels", [[-100, -100, -100], [0, -100, 2], [1, 1, -100]])
@pytest.mark.parametrize("kw", [{}, dict(label_smoothing=0.1), dict(weight=(1.0, 2.0, 3.0)),
                                dict(weight=(1.0, 2.0, 3.0), label_smoothing=0.2),
                                dict(reduction="sum", label_smoothing=0.3),
                                dict(reduction="none")])
def test_ignored_targets_match_torch_losses_and_gradients(labels, kw):
    torch = _torch()
    x = np.random.default_rng(3).standard_normal((3, 3))
    kg, kt = dict(kw), dict(kw)
    if "weight" in kw:
        kg["weight"] = ge.tensor(kw["weight"], dtype="float64")
        kt["weight"] = torch.tensor(kw["weight"], dtype=torch.float64)
    for fn in ("cross_entropy", "nll_loss"):
        if fn == "nll_loss":
            kg.pop("label_smoothing", None)
            kt.pop("label_smoothing", None)
        xg = ge.tensor(x, dtype="float64", requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        lg = getattr(F, fn)(xg, ge.tensor(labels), **kg)
        lt = getattr(torch.nn.functional, fn)(xt, torch.tensor(labels), **kt)
        lg.sum().backward()
        lt.sum().backward()
        np.testing.assert_allclose(lg.numpy(), lt.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_binary_cross_entropy_refuses_targets_and_inputs_outside_0_1_by_hand():
    for p, t, what in (([0.5], [2.0], "targets"), ([0.5, 0.2], [-0.1, 0.0], "targets"),
                       ([1.5], [0.5], "input probabilities")):
        with pytest.raises(ArgumentError, match=f"binary_cross_entropy: all elements of "
                                                   f"the {what} should be between 0 and 1"):
            F.binary_cross_entropy(ge.tensor(p), ge.tensor(t))
    with pytest.raises(ValueError, match=r"shape \(1,\), float32"):
        nn.BCELoss()(ge.tensor([0.5]), ge.tensor([2.0]))
    np.testing.assert_allclose(F.binary_cross_entropy(ge.tensor([0.5]), ge.tensor([1.0])).item(),
                               np.log(2.0), rtol=1e-6)


def test_binary_cross_entropy_out_of_range_raises_runtime_error_as_torch():
    torch = _torch()
    for p, t in (([0.5], [2.0]), ([1.5], [0.5])):
        with pytest.raises(RuntimeError, match="should be between 0 and 1"):
            torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t))
        with pytest.raises(RuntimeError, match="should be between 0 and 1"):
            F.binary_cross_entropy(ge.tensor(p), ge.tensor(t))


# ---------------------------------------------------------------- reset_parameters

_RESETTABLE = {"Linear": (3, 4), "Conv1d": (2, 3, 3), "Conv2d": (2, 3, 3), "Conv3d": (2, 3, 2),
               "ConvTranspose1d": (2, 4, 3), "ConvTranspose2d": (2, 3, 3),
               "BatchNorm1d": (3,), "BatchNorm2d": (3,), "LayerNorm": (4,),
               "GroupNorm": (2, 4), "Embedding": (5, 3), "LSTM": (3, 4), "GRU": (3, 4),
               "RNN": (3, 4), "LSTMCell": (3, 4), "GRUCell": (3, 4), "RNNCell": (3, 4),
               "MultiheadAttention": (4, 2), "PReLU": (3,)}


@pytest.mark.parametrize("name", sorted(_RESETTABLE))
def test_reset_parameters_redraws_in_place_as_the_constructor_by_hand(name):
    m = getattr(nn, name)(*_RESETTABLE[name])
    params = {k: p for k, p in m.named_parameters()}
    with ge.no_grad():
        for p in params.values():
            p.data[...] = 7.0
    (m._reset_parameters if name == "MultiheadAttention" else m.reset_parameters)()
    for k, p in m.named_parameters():
        assert p is params[k]  # the same Parameter objects, filled in place
    if name == "MultiheadAttention":  # torch leaves out_proj.weight alone
        params = {k: p for k, p in params.items() if k != "out_proj.weight"}
    fresh = dict(getattr(nn, name)(*_RESETTABLE[name]).named_parameters())
    for k, p in params.items():
        a = p.numpy()
        assert not np.any(a == 7.0), k
        if np.all(fresh[k].numpy() == fresh[k].numpy().flat[0]):  # a constant init
            np.testing.assert_array_equal(a, fresh[k].numpy())
        else:  # a random init: the constructor's bound
            assert np.abs(a).max() <= np.abs(fresh[k].numpy()).max() * 3 + 1e-6


@pytest.mark.parametrize("name", ["Linear", "Conv2d", "Conv1d", "LSTM", "GRUCell",
                                  "Embedding", "BatchNorm2d", "LayerNorm"])
def test_a_seeded_reset_draws_what_a_seeded_constructor_draws(name):
    ge.manual_seed(0)
    want = getattr(nn, name)(*_RESETTABLE[name]).state_dict()
    m = getattr(nn, name)(*_RESETTABLE[name])
    ge.manual_seed(0)
    m.reset_parameters()
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), want[k].numpy())


def test_batchnorm_reset_running_stats_and_rnn_flatten_parameters_by_hand():
    bn = nn.BatchNorm1d(3)
    bn(ge.randn(8, 3) * 5 + 2)
    w = bn.weight
    with ge.no_grad():
        w.data[...] = 3.0
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3))
    assert bn.num_batches_tracked.item() == 0 and np.all(bn.weight.numpy() == 3.0)
    bn.reset_parameters()
    assert bn.weight is w and np.all(w.numpy() == 1.0)
    lstm = nn.LSTM(3, 4)
    before = [p.numpy().copy() for p in lstm.parameters()]
    assert lstm.flatten_parameters() is None
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, lstm.parameters()))


def test_reset_methods_exist_where_torch_has_them():
    torch = _torch()
    for name, args in _RESETTABLE.items():
        theirs, ours = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
        for meth in ("reset_parameters", "_reset_parameters", "reset_running_stats",
                     "flatten_parameters"):
            if hasattr(theirs, meth):
                assert callable(getattr(ours, meth, None)), (name, meth)


# ---------------------------------------------------------------- reprs, warnings

_REPRS = ["PReLU(4)", "PReLU()", "Softshrink(0.3)", "Hardshrink(0.3)", "Softshrink()",
          "ZeroPad2d((1, 2, 0, 3))", "ZeroPad1d(2)", "ZeroPad3d(1)",
          "ConstantPad2d((1, 2, 0, 3), 1.5)", "ReflectionPad2d((1, 2, 0, 3))"]


def test_reprs_by_hand():
    assert repr(nn.PReLU(4)) == "PReLU(num_parameters=4)"
    assert repr(nn.Softshrink(0.3)) == "Softshrink(0.3)"
    assert repr(nn.Hardshrink(0.3)) == "Hardshrink(0.3)"
    assert repr(nn.ZeroPad2d((1, 2, 0, 3))) == "ZeroPad2d((1, 2, 0, 3))"
    assert repr(nn.ConstantPad1d(2, 0.5)) == "ConstantPad1d(padding=(2, 2), value=0.5)"


@pytest.mark.parametrize("expr", _REPRS)
def test_reprs_match_torch(expr):
    torch = _torch()
    assert repr(eval("nn." + expr)) == repr(eval("torch.nn." + expr, {"torch": torch}))


def test_a_fully_masked_attention_row_is_nan_without_a_warning():
    m = nn.MultiheadAttention(4, 2)
    q = ge.randn(3, 2, 4, requires_grad=True)
    mask = ge.tensor(np.array([[False, False, True], [True, True, True]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, w = m(q, q, q, key_padding_mask=mask)
        out.sum().backward()
        y = F.softmax(ge.tensor([[-np.inf, -np.inf], [0.0, 1.0]]), dim=-1)
        z = F.log_softmax(ge.tensor([[-np.inf, -np.inf]]), dim=-1)
    assert np.all(np.isnan(out.numpy()[:, 1])) and np.all(np.isfinite(out.numpy()[:, 0]))
    assert np.all(np.isnan(y.numpy()[0])) and np.all(np.isnan(z.numpy()))
    np.testing.assert_allclose(y.numpy()[1], [0.26894142, 0.73105858], rtol=1e-6)
