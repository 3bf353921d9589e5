"""Helpers shared by the test modules (imported by name: a second conftest.py, bench's,
would shadow ``from conftest import ...`` when both folders run together)."""

import gc

import numpy as np
import pytest

import gradengine as ge


def _cuda_ok():
    try:
        return ge.cuda.is_available()
    except Exception:  # noqa: BLE001
        return False


CUDA = _cuda_ok()
DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason="needs CuPy and a CUDA device")])]


def to_host(a):
    if isinstance(a, ge.Tensor):
        return a.numpy()
    if hasattr(a, "get"):
        return a.get()
    return np.asarray(a)


def live_nodes():
    from gradengine.core.op import Node
    return sum(1 for o in gc.get_objects() if type(o) is Node)


class Snapshot:
    """Everything RELIABILITY.md section 2 says must stay bit-identical after a bad call."""

    def __init__(self, *tensors):
        self.tensors = tensors
        self.state = [self._grab(t) for t in tensors]
        self.nodes = live_nodes()

    @staticmethod
    def _grab(t):
        return (to_host(t.data).copy(), None if t.grad is None else to_host(t.grad.data).copy(),
                t.requires_grad, t.dtype, t.device, t._version, t.node)

    def assert_unchanged(self):
        for t, before in zip(self.tensors, self.state):
            after = self._grab(t)
            np.testing.assert_array_equal(before[0], after[0])
            assert before[0].tobytes() == after[0].tobytes()
            if before[1] is None:
                assert after[1] is None
            else:
                assert before[1].tobytes() == after[1].tobytes()
            assert before[2:] == after[2:]
        assert live_nodes() <= self.nodes


def snapshot(params):
    """A Snapshot of a list of tensors (parameters)."""
    return Snapshot(*params)


def assert_unchanged(before, params=None):
    before.assert_unchanged()


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], np.float32)


def jit_model(kind, device="cpu"):
    """A 2-8-8-1 network and an optimizer of ``kind`` (sgd, plain, adam, adamw)."""
    from gradengine import nn, optim
    ge.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8, activation="tanh"), nn.Linear(8, 8, activation="relu"),
                          nn.Linear(8, 1, activation="sigmoid")).to(device)
    opt = {"sgd": lambda p: optim.SGD(p, lr=0.5, momentum=0.9, nesterov=True),
           "plain": lambda p: optim.SGD(p, lr=0.5),
           "adam": lambda p: optim.Adam(p, lr=0.01),
           "adamw": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1)}[kind](
        model.parameters())
    return model, opt


def train_step(model, opt, x, y):
    """One training step: zero_grad, MSE loss, backward, step; returns the loss."""
    import gradengine.functional as F
    opt.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    return loss
