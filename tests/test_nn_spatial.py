"""The nn modules of the resampling, padding, transposed-convolution, 1-d / adaptive
pooling, group / instance / RMS normalization and extra loss families, against torch.nn:
the same constructor arguments, torch's initial parameters copied in, the same outputs and
gradients, PyTorch's parameter shapes and initialisation bounds."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn

torch = pytest.importorskip("torch")
TNN = torch.nn

CASES = [  # (class name, constructor args, constructor kwargs, input shapes)
    ("ConvTranspose2d", (3, 4, 3), dict(stride=2, padding=1, output_padding=1), [(2, 3, 4, 5)]),
    ("ConvTranspose2d", (4, 6, (2, 3)), dict(groups=2, bias=False), [(1, 4, 3, 3)]),
    ("ConvTranspose1d", (2, 3, 3), dict(stride=2), [(2, 2, 5)]),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), [(2, 3, 9)]),
    ("AvgPool1d", (2,), dict(), [(2, 3, 8)]),
    ("AdaptiveAvgPool1d", (4,), dict(), [(2, 3, 9)]),
    ("AdaptiveMaxPool1d", (4,), dict(), [(2, 3, 9)]),
    ("AdaptiveMaxPool2d", ((2, 3),), dict(), [(2, 3, 5, 7)]),
    ("GroupNorm", (2, 6), dict(), [(3, 6, 4, 2)]),
    ("GroupNorm", (3, 3), dict(affine=False, eps=1e-3), [(2, 3, 5)]),
    ("InstanceNorm1d", (3,), dict(), [(2, 3, 6)]),
    ("InstanceNorm2d", (3,), dict(affine=True), [(2, 3, 4, 5)]),
    ("RMSNorm", (5,), dict(), [(3, 4, 5)]),
    ("RMSNorm", ((4, 5),), dict(eps=1e-3), [(3, 4, 5)]),
    ("Upsample", (), dict(scale_factor=2, mode="nearest"), [(2, 3, 4, 5)]),
    ("Upsample", (), dict(size=(7, 3), mode="bilinear"), [(2, 3, 4, 5)]),
    ("UpsamplingBilinear2d", (), dict(scale_factor=2), [(1, 2, 3, 4)]),
    ("UpsamplingNearest2d", (), dict(size=5), [(1, 2, 3, 4)]),
    ("PixelShuffle", (2,), dict(), [(2, 8, 3, 4)]),
    ("PixelUnshuffle", (2,), dict(), [(2, 2, 4, 6)]),
    ("Unfold", ((2, 3),), dict(padding=1, stride=2), [(2, 3, 5, 6)]),
    ("Fold", ((4, 5), (2, 2)), dict(), [(2, 12, 12)]),
    ("Unflatten", (1, (2, 3)), dict(), [(4, 6, 5)]),
    ("ZeroPad2d", ((1, 2, 0, 3),), dict(), [(2, 3, 4, 5)]),
    ("ConstantPad1d", (2, 3.5), dict(), [(2, 3, 4)]),
    ("ConstantPad2d", ((1, 0, 2, 1), -1.0), dict(), [(2, 3, 4, 5)]),
    ("ReflectionPad1d", ((2, 1),), dict(), [(2, 3, 5)]),
    ("ReflectionPad2d", (1,), dict(), [(2, 3, 4, 5)]),
    ("ReplicationPad2d", ((2, 0, 1, 3),), dict(), [(2, 3, 4, 5)]),
    ("ReplicationPad1d", (2,), dict(), [(2, 3, 4)]),
    ("CircularPad2d", (1,), dict(), [(2, 3, 4, 5)]),
    ("Softshrink", (0.3,), dict(), [(3, 4)]),
    ("Hardshrink", (), dict(), [(3, 4)]),
    ("CosineSimilarity", (), dict(dim=1), [(3, 4), (3, 4)]),
    ("PairwiseDistance", (), dict(p=1.0, keepdim=True), [(3, 4), (3, 4)]),
    ("KLDivLoss", (), dict(reduction="batchmean"), [(3, 4), (3, 4)]),
    ("MarginRankingLoss", (), dict(margin=0.2), [(5,), (5,), "sign5"]),
    ("SoftMarginLoss", (), dict(), [(3, 4), "sign34"]),
    ("HingeEmbeddingLoss", (), dict(margin=0.5, reduction="sum"), [(3, 4), "sign34"]),
    ("CosineEmbeddingLoss", (), dict(margin=0.1), [(3, 4), (3, 4), "sign3"]),
    ("TripletMarginLoss", (), dict(margin=0.5, p=1.0), [(3, 4), (3, 4), (3, 4)]),
    ("PoissonNLLLoss", (), dict(full=True), [(3, 4), "counts34"]),
    ("GaussianNLLLoss", (), dict(), [(3, 4), (3, 4), "pos34"]),
    ("MultiLabelSoftMarginLoss", (), dict(), [(3, 4), "labels34"]),
]


def _input(spec, rng):
    if isinstance(spec, tuple):
        return rng.standard_normal(spec), True
    shape = tuple(int(c) for c in spec.lstrip("abcdefghijklmnopqrstuvwxyz"))
    kind = spec.rstrip("0123456789")
    if kind == "sign":
        return np.where(rng.random(shape) > 0.5, 1.0, -1.0), False
    if kind == "counts":
        return rng.poisson(2.0, shape).astype(float), False
    if kind == "labels":
        return (rng.random(shape) > 0.5).astype(float), False
    return rng.random(shape) + 0.1, True  # pos


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, args, kwargs, inputs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_module_matches_torch(name, args, kwargs, inputs, dtype, rng):
    tm = getattr(TNN, name)(*args, **kwargs).to(getattr(torch, dtype))
    gm = getattr(nn, name)(*args, **kwargs)
    tparams = dict(tm.named_parameters())
    gparams = dict(gm.named_parameters())
    assert sorted(gparams) == sorted(tparams)
    for k, p in gparams.items():
        assert tuple(p.shape) == tuple(tparams[k].shape), k
        p.data = tparams[k].detach().numpy().copy()
    arrays = [_input(s, rng) for s in inputs]
    gx = [ge.tensor(a.astype(dtype), requires_grad=g) for a, g in arrays]
    tx = [torch.tensor(a.astype(dtype), requires_grad=g) for a, g in arrays]
    got, want = gm(*gx), tm(*tx)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-5)
    assert got.shape == tuple(want.shape) and got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), **tol)
    g = rng.standard_normal(got.shape).astype(dtype)
    got.backward(ge.tensor(g))
    want.backward(torch.tensor(g))
    for a, b in zip(gx, tx):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)
    for k, p in gparams.items():
        np.testing.assert_allclose(p.grad.numpy(), tparams[k].grad.numpy(), err_msg=k, **tol)


@pytest.mark.parametrize("cls, args", [(nn.ConvTranspose2d, (4, 6, 3)),
                                       (nn.ConvTranspose1d, (8, 2, 5))])
def test_transposed_convolution_initialisation_bounds_are_torchs(cls, args):
    m = cls(*args)
    bound = 1.0 / np.sqrt(args[1] * np.prod(m.kernel_size))
    for p in (m.weight, m.bias):
        assert np.abs(p.numpy()).max() <= bound
    assert np.abs(m.weight.numpy()).max() > 0.9 * bound  # dozens of draws fill the range


def test_instance_norm_tracks_running_statistics_as_torch(rng):
    x = rng.standard_normal((4, 3, 5))
    gm = nn.InstanceNorm1d(3, track_running_stats=True, momentum=0.2, dtype="float64")
    tm = TNN.InstanceNorm1d(3, track_running_stats=True, momentum=0.2).double()
    for _ in range(2):
        gm(ge.tensor(x))
        tm(torch.tensor(x))
    np.testing.assert_allclose(gm.running_mean.numpy(), tm.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gm.running_var.numpy(), tm.running_var.numpy(), rtol=1e-12)
    gm.eval()
    tm.eval()
    np.testing.assert_allclose(gm(ge.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(),
                               rtol=1e-10, atol=1e-12)


def test_bad_constructor_and_input_errors_name_the_module():
    with pytest.raises(ValueError, match="GroupNorm.*divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ge.ShapeError, match="GroupNorm.*6 channels"):
        nn.GroupNorm(2, 6)(ge.ones((2, 4, 3)))
    with pytest.raises(ValueError, match="ZeroPad2d.*4 ints"):
        nn.ZeroPad2d((1, 2, 3))
    with pytest.raises(ValueError, match="ReflectionPad2d.*3-d or 4-d"):
        nn.ReflectionPad2d(1)(ge.ones((2, 3)))
    with pytest.raises(ValueError, match="ConvTranspose2d.*padding"):
        nn.ConvTranspose2d(2, 2, 3, padding="same")
    with pytest.raises(TypeError, match="KLDivLoss.*unexpected"):
        nn.KLDivLoss(margin=1.0)


@pytest.mark.filterwarnings("ignore:size_average and reduce")
def test_legacy_reduction_flags_map_as_torch(rng):
    x, y = rng.standard_normal((3, 4)), np.where(rng.random((3, 4)) > 0.5, 1.0, -1.0)
    for kw in (dict(size_average=False), dict(reduce=False)):
        got = nn.SoftMarginLoss(**kw)(ge.tensor(x), ge.tensor(y))
        want = TNN.SoftMarginLoss(**kw)(torch.tensor(x), torch.tensor(y))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:dropout2d")
@pytest.mark.parametrize("cls, shape, lead", [
    (nn.Dropout1d, (8, 16, 5), 2), (nn.Dropout1d, (16, 5), 1),
    (nn.Dropout2d, (8, 16, 3, 4), 2), (nn.Dropout2d, (16, 3, 4), 2),
    (nn.Dropout3d, (4, 16, 2, 3, 2), 2), (nn.Dropout3d, (16, 2, 3, 2), 1)])
def test_channel_dropout_zeroes_whole_channels_and_scales_the_rest(cls, shape, lead):
    ge.manual_seed(3)
    x = ge.tensor(np.random.default_rng(0).random(shape) + 0.5, requires_grad=True)
    m = cls(0.25)
    if cls is nn.Dropout2d and len(shape) == 3:
        with pytest.warns(UserWarning, match="taken as \\(N, C, L\\)"):
            y = m(x)
    else:
        y = m(x)
    y.sum().backward()
    mask = x.grad.numpy()  # the mask itself
    np.testing.assert_array_equal(y.numpy(), x.numpy() * mask)
    per = mask.reshape(int(np.prod(shape[:lead])), -1)
    assert np.all(per == per[:, :1])  # one decision per channel
    assert set(np.unique(per)) <= {0.0, per.dtype.type(1 / 0.75)}
    assert 0 < (per[:, 0] == 0).sum() < per.shape[0]
    m.eval()
    assert m(x) is x


def test_channel_dropout_redraws_at_each_jit_replay_like_eager():
    m = nn.Dropout2d(0.5)

    def f(x):
        return m(x) * 1.0

    x = ge.ones((4, 8, 2, 2))
    jf = ge.jit(f)
    for seed in range(3):
        ge.manual_seed(seed)
        want = f(x).numpy()
        ge.manual_seed(seed)
        np.testing.assert_array_equal(jf(x).numpy(), want)
    assert jf.traces == 1
    ge.manual_seed(0)
    a = jf(x).numpy()
    assert not np.array_equal(a, jf(x).numpy())


def test_parameter_containers_register_as_torch():
    def net(lib, mod):
        class Net(mod.Module):
            def __init__(self):
                super().__init__()
                self.ps = mod.ParameterList([mod.Parameter(lib.ones(2) * (i + 1))
                                             for i in range(3)])
                self.pd = mod.ParameterDict({"b": mod.Parameter(lib.zeros(3))})
        return Net()

    gm, tm = net(ge, nn), net(torch, TNN)
    assert [k for k, _ in gm.named_parameters()] == [k for k, _ in tm.named_parameters()]
    assert list(gm.state_dict()) == list(tm.state_dict())
    gm.ps.append(ge.ones(1))  # a plain tensor becomes a Parameter
    assert isinstance(gm.ps[3], nn.Parameter) and len(gm.ps) == 4
    loss = gm.ps[1].sum() * 3 + gm.pd["b"].sum()
    loss.backward()
    np.testing.assert_array_equal(gm.ps[1].grad.numpy(), [3.0, 3.0])
    with pytest.raises(TypeError, match="ParameterDict: expected a Parameter"):
        gm.pd["c"] = 1.0
