"""The PyTorch-named nn layers against torch.nn: outputs and gradients (float64), the
train/eval switch, buffers in the state dict, containers and loss modules."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


def _copy_params(ours, theirs, transpose_linear=False):
    for (_name, p), (_tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        arr = tp.detach().numpy()
        p.data = arr.T.copy() if transpose_linear and arr.ndim == 2 else arr.copy()


def _both(layer, tlayer, x, dtype="float64"):
    """Forward and input/parameter gradients of both, for a random upstream gradient."""
    tx = torch.tensor(x, requires_grad=True)
    gx = ge.tensor(x, requires_grad=True, dtype=dtype)
    out, tout = layer(gx), tlayer(tx)
    g = RNG.standard_normal(tout.shape)
    (out * ge.tensor(g, dtype=dtype)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    return out, tout, gx, tx


def _close(a, b, tol=1e-9):
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(groups=2, padding=2),
                                dict(dilation=2), dict(bias=False)])
def test_conv2d_matches_torch_forward_and_gradients(kw):
    layer = nn.Conv2d(4, 6, 3, **kw).double()
    tlayer = torch.nn.Conv2d(4, 6, 3, **kw).double()
    assert layer.weight.shape == tuple(tlayer.weight.shape)  # PyTorch layout
    _copy_params(layer, tlayer)
    out, tout, gx, tx = _both(layer, tlayer, RNG.standard_normal((2, 4, 9, 8)))
    _close(out.numpy(), tout)
    _close(gx.grad.numpy(), tx.grad)
    _close(layer.weight.grad.numpy(), tlayer.weight.grad)


def test_conv1d_matches_torch():
    layer, tlayer = nn.Conv1d(3, 5, 4, stride=2, padding=1).double(), \
        torch.nn.Conv1d(3, 5, 4, stride=2, padding=1).double()
    _copy_params(layer, tlayer)
    out, tout, gx, tx = _both(layer, tlayer, RNG.standard_normal((2, 3, 11)))
    _close(out.numpy(), tout)
    _close(gx.grad.numpy(), tx.grad)
    _close(layer.bias.grad.numpy(), tlayer.bias.grad)


@pytest.mark.parametrize("cls", ["MaxPool2d", "AvgPool2d"])
def test_pooling_matches_torch(cls):
    layer, tlayer = getattr(nn, cls)(2), getattr(torch.nn, cls)(2)
    out, tout, gx, tx = _both(layer, tlayer, RNG.standard_normal((2, 3, 6, 7)))
    _close(out.numpy(), tout)
    _close(gx.grad.numpy(), tx.grad)


def test_layer_norm_matches_torch():
    layer, tlayer = nn.LayerNorm(5).double(), torch.nn.LayerNorm(5).double()
    layer.weight.data = RNG.standard_normal(5)
    tlayer.weight.data = torch.tensor(layer.weight.data)
    out, tout, gx, tx = _both(layer, tlayer, RNG.standard_normal((3, 4, 5)))
    _close(out.numpy(), tout)
    _close(gx.grad.numpy(), tx.grad)
    _close(layer.weight.grad.numpy(), tlayer.weight.grad)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 2))])
def test_batch_norm_train_and_eval_match_torch_with_running_stats(cls, shape):
    layer, tlayer = getattr(nn, cls)(3).double(), getattr(torch.nn, cls)(3).double()
    assert (layer.momentum, layer.eps) == (0.1, 1e-5)
    for _ in range(3):
        out, tout, gx, tx = _both(layer, tlayer, RNG.standard_normal(shape) * 2 + 1)
        _close(out.numpy(), tout)
        _close(gx.grad.numpy(), tx.grad)
    _close(layer.running_mean.numpy(), tlayer.running_mean)
    _close(layer.running_var.numpy(), tlayer.running_var)
    assert int(layer.num_batches_tracked.item()) == 3
    layer.eval()
    tlayer.eval()
    x = RNG.standard_normal(shape)
    _close(layer(ge.tensor(x)).numpy(), tlayer(torch.tensor(x)))
    sd = layer.state_dict()
    assert set(sd) == set(tlayer.state_dict())
    before = sd["running_mean"].numpy().copy()
    layer(ge.tensor(x))  # eval: the running stats do not move
    np.testing.assert_array_equal(layer.running_mean.numpy(), before)


def test_batch_norm_buffers_round_trip_through_load_state_dict():
    a, b = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    a(ge.tensor(RNG.standard_normal((8, 3)), dtype="float32"))
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.running_var.numpy(), a.running_var.numpy())
    assert b.num_batches_tracked.item() == 1
    assert b.num_batches_tracked.dtype == np.int64


def test_dropout_train_and_eval():
    ge.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = ge.ones((200, 50), requires_grad=True)
    y = drop(x)
    kept = y.numpy() != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75, rtol=1e-6)
    drop.eval()
    assert drop(x) is x or np.array_equal(drop(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.5)


def test_train_eval_switch_reaches_nested_dropout_and_batchnorm():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    model.eval()
    assert not model[1].training and not model[2].training
    model.train()
    assert model[1].training and model[2].training


def test_embedding_matches_torch_and_padding_row_gets_no_gradient():
    layer = nn.Embedding(7, 3, padding_idx=0)
    assert np.all(layer.weight.numpy()[0] == 0)
    idx = np.array([[0, 2, 2], [5, 0, 6]])
    out = layer(ge.tensor(idx))
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy(), layer.weight.numpy()[idx])
    out.sum().backward()
    g = layer.weight.grad.numpy()
    assert np.all(g[0] == 0) and np.all(g[2] == 2) and np.all(g[5] == 1) and np.all(g[1] == 0)
    with pytest.raises(TypeError, match="Embedding"):
        layer(ge.tensor([0.5]))


@pytest.mark.parametrize("ours,theirs", [(nn.GELU(), torch.nn.GELU()),
                                         (nn.GELU("tanh"), torch.nn.GELU("tanh")),
                                         (nn.SiLU(), torch.nn.SiLU()),
                                         (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
                                         (nn.Identity(5), torch.nn.Identity(5)),
                                         (nn.Flatten(), torch.nn.Flatten())])
def test_activation_and_shape_modules_match_torch(ours, theirs):
    out, tout, gx, tx = _both(ours, theirs, RNG.standard_normal((2, 3, 4)))
    _close(out.numpy(), tout, 1e-7)
    _close(gx.grad.numpy(), tx.grad, 1e-7)


def test_module_list_and_dict_register_their_parameters():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 4)})

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names[:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert "heads.b.bias" in names and len(names) == 10
    assert len(net.blocks) == 3 and isinstance(net.blocks[1], nn.Linear)
    net.blocks.append(nn.Linear(2, 2))
    assert len(net.parameters()) == 12
    assert list(net.heads.keys()) == ["a", "b"]
    with pytest.raises(TypeError):
        net.blocks.append(3)


def test_register_buffer_is_saved_and_moved_but_not_trained():
    m = nn.Linear(2, 2)
    m.register_buffer("scale", ge.ones(2))
    assert "scale" in m.state_dict()
    assert all(p is not m.scale for p in m.parameters())
    m.to("float64")
    assert m.scale.dtype == np.float64
    with pytest.raises(TypeError):
        m.register_buffer("bad", np.ones(2))


@pytest.mark.parametrize("name,kw", [("MSELoss", {}), ("L1Loss", {}), ("HuberLoss", {"delta": 0.5}),
                                     ("MSELoss", {"reduction": "sum"}),
                                     ("L1Loss", {"reduction": "none"})])
def test_regression_loss_modules_match_torch(name, kw):
    a, b = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))
    ga = ge.tensor(a, requires_grad=True)
    ta = torch.tensor(a, requires_grad=True)
    out = getattr(nn, name)(**kw)(ga, ge.tensor(b))
    tout = getattr(torch.nn, name)(**kw)(ta, torch.tensor(b))
    _close(out.numpy(), tout)
    out.sum().backward()
    tout.sum().backward()
    _close(ga.grad.numpy(), ta.grad)


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1}, {"ignore_index": 1},
                                {"weight": [1.0, 2.0, 0.5, 1.0]},
                                {"weight": [1.0, 2.0, 0.5, 1.0], "label_smoothing": 0.2},
                                {"reduction": "sum"}])
def test_cross_entropy_and_nll_loss_modules_match_torch(kw):
    x = RNG.standard_normal((6, 4))
    y = np.array([0, 1, 3, 2, 1, 0])
    tkw = dict(kw)
    if "weight" in kw:
        tkw["weight"] = torch.tensor(kw["weight"], dtype=torch.float64)
        kw = dict(kw, weight=ge.tensor(kw["weight"], dtype="float64"))
    gx, tx = ge.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = nn.CrossEntropyLoss(**kw)(gx, ge.tensor(y))
    tout = torch.nn.CrossEntropyLoss(**tkw)(tx, torch.tensor(y))
    _close(out.numpy(), tout)
    out.backward()
    tout.backward()
    _close(gx.grad.numpy(), tx.grad)
    kw.pop("label_smoothing", None)
    tkw.pop("label_smoothing", None)
    lp = ge.tensor(x).log_softmax()
    _close(nn.NLLLoss(**kw)(lp, ge.tensor(y)).numpy(),
           torch.nn.NLLLoss(**tkw)(torch.tensor(x).log_softmax(-1), torch.tensor(y)))


@pytest.mark.parametrize("kw", [{}, {"pos_weight": [2.0, 0.5]}, {"reduction": "sum"}])
def test_binary_loss_modules_match_torch(kw):
    x = RNG.standard_normal((4, 2))
    t = (RNG.random((4, 2)) > 0.5).astype(float)
    tkw = {k: torch.tensor(v) if isinstance(v, list) else v for k, v in kw.items()}
    gkw = {k: ge.tensor(v, dtype="float64") if isinstance(v, list) else v
           for k, v in kw.items()}
    out = nn.BCEWithLogitsLoss(**gkw)(ge.tensor(x), ge.tensor(t))
    _close(out.numpy(), torch.nn.BCEWithLogitsLoss(**tkw)(torch.tensor(x), torch.tensor(t)))
    p = 1 / (1 + np.exp(-x))
    red = kw.get("reduction", "mean")
    _close(nn.BCELoss(reduction=red)(ge.tensor(p), ge.tensor(t)).numpy(),
           torch.nn.BCELoss(reduction=red)(torch.tensor(p), torch.tensor(t)))


def test_loss_modules_refuse_a_silent_broadcast():
    with pytest.raises(ge.ShapeError, match=r"\(4, 1\).*\(4,\)"):
        nn.L1Loss()(ge.ones((4, 1)), ge.ones(4))


def test_a_small_cnn_trains_end_to_end():
    ge.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 2 * 2, 2))
    x = ge.tensor(RNG.standard_normal((16, 1, 4, 4)), dtype="float32")
    y = ge.tensor((x.numpy().mean(axis=(1, 2, 3)) > 0).astype(np.int64))
    from gradengine import optim
    opt = optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first
