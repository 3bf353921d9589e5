"""nn and optim where they had drifted from torch 2.x: conv padding strings and modes,
state dicts of tied parameters, optimizer state keyed by parameter, ignored targets in the
cross-entropies, parameter assignment, argument checks, reset_parameters, reprs. Each
property has a by-hand test (no torch needed) and, where values are compared, a test with
torch as the oracle."""


import numpy as np
import pytest

import gradengine as ge
from gradengine import nn


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
