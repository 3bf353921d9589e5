"""nn.utils.prune against torch.nn.utils.prune on the same weights: masks, outputs,
gradients, state_dict keys, iterative pruning, remove.

gradengine's nn.Linear weight is (in, out), torch's (out, in): masks are compared
transposed, and torch's structured ``dim=0`` (output neurons) is ``dim=1`` here.
Convolution weights share torch's layout.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import gradengine.nn.utils.prune as prune
from gradengine import nn

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


def _linears(n_in=6, n_out=5, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_out, n_in)).astype(np.float32)  # torch's layout
    b = rng.standard_normal(n_out).astype(np.float32)
    ours = nn.Linear(n_in, n_out)
    ours.weight.data[...] = w.T
    ours.bias.data[...] = b
    ref = torch.nn.Linear(n_in, n_out)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(w))
        ref.bias.copy_(torch.tensor(b))
    return ours, ref


def _check_same(ours, ref, name="weight", transpose=True):
    om = getattr(ours, name + "_mask").numpy()
    rm = getattr(ref, name + "_mask").detach().numpy()
    np.testing.assert_array_equal(om.T if transpose else om, rm)
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = np.random.default_rng(5).standard_normal((3, ours.weight.shape[0] if transpose else 1))
    if transpose:
        x = x.astype(np.float32)
        yo, yr = ours(ge.tensor(x)), ref(torch.tensor(x))
        np.testing.assert_allclose(yo.detach().numpy(), yr.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        yo.sum().backward()
        yr.sum().backward()
        np.testing.assert_allclose(ours.weight_orig.grad.numpy().T,
                                   ref.weight_orig.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("amount", [0.3, 7, 0.0, 1.0])
def test_l1_unstructured_as_torch(amount):
    ours, ref = _linears()
    assert prune.l1_unstructured(ours, "weight", amount=amount) is ours
    tprune.l1_unstructured(ref, "weight", amount=amount)
    _check_same(ours, ref)
    assert isinstance(ours.weight_orig, nn.Parameter)
    assert "weight" not in dict(ours.named_parameters())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in ref.named_buffers()]


def test_l1_unstructured_with_importance_scores_as_torch():
    ours, ref = _linears()
    s = np.random.default_rng(3).standard_normal((5, 6)).astype(np.float32)
    prune.l1_unstructured(ours, "weight", 0.5, importance_scores=ge.tensor(s.T))
    tprune.l1_unstructured(ref, "weight", 0.5, importance_scores=torch.tensor(s))
    _check_same(ours, ref)


@pytest.mark.parametrize("n", [1, 2, float("inf"), -float("inf"), "fro"])
@pytest.mark.parametrize("dims", [(1, 0), (-1, 0), (0, 1), (0, -1)])  # (ours, torch's)
def test_ln_structured_on_linear_with_the_dim_mapping(n, dims):
    ours, ref = _linears()
    prune.ln_structured(ours, "weight", amount=2, n=n, dim=dims[0])
    tprune.ln_structured(ref, "weight", amount=2, n=n, dim=dims[1])
    _check_same(ours, ref)


def test_ln_structured_on_conv2d_has_torchs_dims():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    ours, ref = nn.Conv2d(3, 4, 2), torch.nn.Conv2d(3, 4, 2)
    ours.weight.data[...] = w
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(w))
    for dim in (0, 1, -1):
        prune.ln_structured(ours, "weight", amount=0.5, n=1, dim=dim)
        tprune.ln_structured(ref, "weight", amount=0.5, n=1, dim=dim)
        np.testing.assert_array_equal(ours.weight_mask.numpy(), ref.weight_mask.numpy())
    np.testing.assert_array_equal(ours.weight.detach().numpy(), ref.weight.detach().numpy())
    assert list(ours.state_dict()) == list(ref.state_dict())


def test_iterative_pruning_combines_masks_as_torch():
    ours, ref = _linears()
    steps = [(prune.l1_unstructured, tprune.l1_unstructured, dict(amount=0.2)),
             (prune.ln_structured, tprune.ln_structured, dict(amount=1, n=2)),
             (prune.l1_unstructured, tprune.l1_unstructured, dict(amount=5))]
    for ofn, tfn, kw in steps:
        if ofn is prune.ln_structured:
            ofn(ours, "weight", dim=1, **kw)
            tfn(ref, "weight", dim=0, **kw)
        else:
            ofn(ours, "weight", **kw)
            tfn(ref, "weight", **kw)
        _check_same(ours, ref)
    hooks = [h for h in ours.__dict__["_pre_hooks"].values()
             if isinstance(h, prune.BasePruningMethod)]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer)
    assert len(hooks[0]) == 3


def test_global_unstructured_as_torch():
    (o1, r1), (o2, r2) = _linears(6, 5, 0), _linears(5, 4, 1)
    prune.l1_unstructured(o2, "weight", amount=3)  # an existing mask is kept
    tprune.l1_unstructured(r2, "weight", amount=3)
    prune.global_unstructured([(o1, "weight"), (o2, "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.4)
    tprune.global_unstructured([(r1, "weight"), (r2, "weight")],
                               pruning_method=tprune.L1Unstructured, amount=0.4)
    _check_same(o1, r1)
    _check_same(o2, r2)
    with pytest.raises(TypeError):
        prune.global_unstructured([(o1, "bias")], pruning_method=prune.RandomStructured,
                                  amount=0.1)


def test_custom_from_mask_and_identity_as_torch():
    ours, ref = _linears()
    m = (np.random.default_rng(2).random((5, 6)) > 0.5).astype(np.float32)
    prune.custom_from_mask(ours, "weight", mask=ge.tensor(m.T))
    tprune.custom_from_mask(ref, "weight", mask=torch.tensor(m))
    _check_same(ours, ref)
    prune.identity(ours, "bias")
    tprune.identity(ref, "bias")
    _check_same(ours, ref, "bias", transpose=False)
    assert list(ours.state_dict()) == list(ref.state_dict())


def test_random_methods_prune_as_many_as_torch():
    ours, ref = _linears(8, 6)
    ge.manual_seed(0)
    for _ in range(2):
        prune.random_unstructured(ours, "weight", amount=0.25)
        tprune.random_unstructured(ref, "weight", amount=0.25)
        assert int((ours.weight_mask.numpy() == 0).sum()) == \
            int((ref.weight_mask.numpy() == 0).sum())
    o2, r2 = _linears(8, 6)
    prune.random_structured(o2, "weight", amount=2, dim=1)
    tprune.random_structured(r2, "weight", amount=2, dim=0)
    om, rm = o2.weight_mask.numpy().T, r2.weight_mask.numpy()
    assert sorted(om.sum(axis=1).tolist()) == sorted(rm.sum(axis=1).tolist())
    assert set(np.unique(om.sum(axis=1))) <= {0.0, 8.0}  # whole neurons
    assert list(o2.state_dict()) == list(r2.state_dict())


def test_the_pre_hook_recomputes_the_weight_before_every_forward():
    ours, ref = _linears()
    prune.l1_unstructured(ours, "weight", amount=0.5)
    tprune.l1_unstructured(ref, "weight", amount=0.5)
    ours.weight_orig.data[...] += 1.0
    with torch.no_grad():
        ref.weight_orig += 1.0
    _check_same(ours, ref)
    np.testing.assert_array_equal(ours.weight.detach().numpy().T, ref.weight.detach().numpy())


def test_training_a_pruned_layer_keeps_pruned_weights_out_as_torch():
    ours, ref = _linears()
    prune.l1_unstructured(ours, "weight", amount=0.5)
    tprune.l1_unstructured(ref, "weight", amount=0.5)
    oo = ge.optim.SGD(ours.parameters(), lr=0.1)
    to = torch.optim.SGD(ref.parameters(), lr=0.1)
    x = np.random.default_rng(9).standard_normal((4, 6)).astype(np.float32)
    for _ in range(3):
        oo.zero_grad()
        to.zero_grad()
        (ours(ge.tensor(x)) ** 2).mean().backward()
        (ref(torch.tensor(x)) ** 2).mean().backward()
        oo.step()
        to.step()
    _check_same(ours, ref)


def test_remove_makes_it_permanent_as_torch():
    ours, ref = _linears()
    prune.l1_unstructured(ours, "weight", amount=0.5)
    tprune.l1_unstructured(ref, "weight", amount=0.5)
    orig = ours.weight_orig
    assert prune.remove(ours, "weight") is ours
    tprune.remove(ref, "weight")
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["bias", "weight"]
    assert ours.weight is orig and isinstance(ours.weight, nn.Parameter)
    np.testing.assert_array_equal(ours.weight.numpy().T, ref.weight.detach().numpy())
    assert not prune.is_pruned(ours)
    assert not hasattr(ours, "weight_mask") and not hasattr(ours, "weight_orig")
    x = ge.randn(2, 6)
    np.testing.assert_allclose(ours(x).detach().numpy(),
                               ref(torch.tensor(x.numpy())).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError):
        prune.remove(ours, "weight")
    with pytest.raises(ValueError):
        tprune.remove(ref, "weight")


def test_is_pruned_looks_into_submodules():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert not prune.is_pruned(model)
    prune.random_unstructured(model[2], "weight", amount=1)
    assert prune.is_pruned(model)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.bias", "2.weight_orig",
                                        "2.weight_mask"]


@pytest.mark.parametrize("call", [
    lambda p, m: p.l1_unstructured(m, "weight", amount=1.5),
    lambda p, m: p.l1_unstructured(m, "weight", amount=-1),
    lambda p, m: p.l1_unstructured(m, "weight", amount="x"),
    lambda p, m: p.l1_unstructured(m, "weight", amount=100),
    lambda p, m: p.ln_structured(m, "bias", amount=1, n=2, dim=0),
    lambda p, m: p.random_structured(m, "weight", amount=1, dim=5),
])
def test_bad_arguments_raise_torchs_exceptions(call):
    ours, ref = _linears()
    with pytest.raises(Exception) as want:
        call(tprune, ref)
    with pytest.raises(want.type):
        call(prune, ours)
    assert list(ours.state_dict()) == list(ref.state_dict())  # unchanged, as torch leaves it


def test_pruning_on_every_device_gives_the_cpu_masks(device):
    cpu, _ = _linears()
    dev, _ = _linears()
    dev.to(device)
    for m in (cpu, dev):
        prune.l1_unstructured(m, "weight", amount=0.3)
        prune.ln_structured(m, "weight", amount=1, n=2, dim=1)
        prune.identity(m, "bias")
        prune.random_unstructured(m, "bias", amount=2)
        prune.random_structured(m, "weight", amount=1, dim=0)
    assert dev.weight_mask.device.startswith(device)
    assert int((dev.bias_mask.numpy() == 0).sum()) == 2
    mc, md = cpu.weight_mask.numpy(), dev.weight_mask.numpy()
    assert (md.sum(axis=1) == 0).sum() == (mc.sum(axis=1) == 0).sum()  # one input row
    x = ge.randn(2, 6)
    y = dev(x.to(device))
    y.sum().backward()
    assert dev.weight_orig.grad.device == dev.weight_orig.device
    np.testing.assert_array_equal(dev.weight_orig.grad.numpy()[md == 0], 0)
    prune.global_unstructured([(dev, "weight")], pruning_method=prune.L1Unstructured, amount=2)
    prune.remove(dev, "weight")
    assert list(dev.state_dict()) == ["bias_orig", "weight", "bias_mask"]  # torch's order
