"""RELIABILITY.md section 3 items 7 and 8: anomaly mode and determinism.

Anomaly mode: inside ``ge.detect_anomaly()`` a backward that produces NaN raises
``GraphError: <op> backward produced NaN in output <i> (shape <shape>); op created at
<file>:<line>`` -- the op, the output index, the shape and the user's line that created
the op -- and a forward that makes NaN/inf from finite inputs raises as well. After the
error the leaves' ``.grad`` are untouched and anomaly mode is off again outside the block.

Determinism: the same ``ge.manual_seed`` gives bit-identical losses for 100 training steps
on the CPU (a hand loop with random mini-batches and Keras ``fit`` with shuffling); on CUDA
two runs agree to 1e-6 relative in float32.
"""

from __future__ import annotations

import os
import re
import threading

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from gradengine import nn, optim
from gradengine.core.gradmode import _mode
from reliability_util import PropagatingThread, report

THIS = os.path.basename(__file__)


def _line_of(marker):
    """The line number in this file of the source line containing ``marker``."""
    with open(__file__, encoding="utf-8") as f:
        for lineno, text in enumerate(f, start=1):
            if marker in text and "_line_of" not in text:
                return lineno
    raise AssertionError(marker)


# ---------------------------------------------------------------- anomaly mode

def test_log_backward_nan_names_op_output_shape_and_creation_site():
    # log(inf) = inf is allowed in forward (its input is not finite); exp(log(x)) passes
    # inf back, and log's backward then computes inf / inf = NaN in its output 0.
    x = ge.tensor([np.inf, 1.0, 2.0], dtype="float64", requires_grad=True)
    with ge.detect_anomaly():
        y = F.log(x)  # <- creation site of the log op
        z = F.exp(y)
        with pytest.raises(ge.GraphError) as ei:
            z.sum().backward()
    msg = str(ei.value)
    line = _line_of("# <- creation site of the log op")
    assert re.fullmatch(r"log backward produced NaN in output 0 \(shape \(3,\)\); op created "
                        rf"at .*{re.escape(THIS)}:{line}", msg), msg
    assert x.grad is None                   # nothing was accumulated
    assert not _mode.anomaly                # and the mode is restored
    report("anomaly_log_backward", message=msg.replace(os.path.dirname(__file__), "tests"))


def test_log_of_a_negative_inside_pow_backward():
    # d(a ** b)/db = a ** b * log(a): a log of a negative base, computed in backward
    a = ge.tensor([-1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    b = ge.tensor([2.0, 2.0, 2.0], dtype="float64", requires_grad=True)
    with ge.detect_anomaly():
        y = a ** b  # <- creation site of the pow op
        with pytest.raises(ge.GraphError) as ei:
            y.sum().backward()
    line = _line_of("# <- creation site of the pow op")
    assert re.fullmatch(r"pow backward produced NaN in output 1 \(shape \(3,\)\); op created "
                        rf"at .*{re.escape(THIS)}:{line}", str(ei.value)), str(ei.value)
    assert a.grad is None and b.grad is None


def test_log_of_a_negative_in_forward_is_caught_at_its_line():
    x = ge.tensor([-1.0, 1.0, 2.0], requires_grad=True)
    with ge.detect_anomaly(), pytest.raises(ge.GraphError) as ei:
        F.log(x)  # <- creation site of the forward log
    line = _line_of("# <- creation site of the forward log")
    assert re.fullmatch(rf"log: forward produced NaN or inf in its output \(shape \(3,\)\) "
                        rf"from finite inputs; op created at .*{re.escape(THIS)}:{line}",
                        str(ei.value)), str(ei.value)


def test_without_anomaly_mode_nan_propagates_silently_and_nothing_is_recorded():
    x = ge.tensor([np.inf, 1.0, 2.0], dtype="float64", requires_grad=True)
    y = F.log(x)
    F.exp(y).sum().backward()
    assert np.isnan(x.grad.numpy()[0]) and y.node.site is None


def test_anomaly_mode_is_thread_local_and_nests():
    seen = {}

    def worker():
        seen["thread"] = _mode.anomaly

    with ge.detect_anomaly():
        t = PropagatingThread(target=worker)
        t.start()
        t.join()
        with ge.detect_anomaly():
            assert _mode.anomaly
        assert _mode.anomaly
    assert seen["thread"] is False and not _mode.anomaly


def test_anomaly_mode_leaves_finite_training_unchanged():
    """Anomaly mode checks, it does not alter: 20 steps give bit-identical losses."""
    def run(anomaly):
        model, opt, X, Y = _mlp(3)
        losses = []
        for _ in range(20):
            if anomaly:
                with ge.detect_anomaly():
                    losses.append(_step(model, opt, X, Y))
            else:
                losses.append(_step(model, opt, X, Y))
        return np.array(losses, dtype=np.float32)

    assert run(True).tobytes() == run(False).tobytes()


# ---------------------------------------------------------------- determinism

def _mlp(seed, device="cpu", n=256):
    ge.manual_seed(seed)
    X = ge.randn(n, 2, device=device)
    Y = ((X[:, :1] * X[:, 1:]) > 0).astype("float32")  # quadrants: learnable
    model = nn.Sequential(nn.Linear(2, 16, activation="sigmoid", device=device),
                          nn.Linear(16, 16, activation="tanh", device=device),
                          nn.Linear(16, 1, activation="sigmoid", device=device))
    return model, optim.Adam(model.parameters(), lr=1e-2), X, Y


def _step(model, opt, X, Y):
    opt.zero_grad()
    loss = F.mse_loss(model(X), Y)
    loss.backward()
    opt.step()
    return loss.item()


def hand_loop(seed, steps=100, device="cpu", batch=32):
    """100 Adam steps on random mini-batches drawn from gradengine's seeded generator."""
    model, opt, X, Y = _mlp(seed, device)
    losses = []
    for _ in range(steps):
        idx = (ge.rand(batch).numpy() * X.shape[0]).astype(np.int64)
        losses.append(_step(model, opt, X[idx], Y[idx]))
    weights = [p.numpy().copy() if device == "cpu" else p.cpu().numpy() for p in
               model.parameters()]
    return np.array(losses, dtype=np.float64), weights


def keras_loop(seed):
    """Keras fit with shuffling: 25 epochs x 4 batches = 100 steps."""
    ge.manual_seed(seed)
    X = ge.randn(64, 2).numpy()
    y = (X[:, :1] * X[:, 1:] > 0).astype(np.float32)
    model = nn.Sequential(nn.Dense(8, input_dim=2, activation="tanh"),
                          nn.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    batch_losses = []

    from gradengine.keras.callbacks import Callback

    class Recorder(Callback):
        def on_train_batch_end(self, batch, logs=None):
            batch_losses.append(logs["loss"])

    hist = model.fit(X, y, epochs=25, batch_size=16, shuffle=True, verbose=0,
                     callbacks=[Recorder()])
    return (np.array(batch_losses), np.array(hist.history["loss"]),
            [w.copy() for w in model.get_weights()])


def test_same_seed_bit_identical_losses_for_100_steps_cpu():
    a, wa = hand_loop(7)
    other, _ = hand_loop(8)          # a different seed in between must not matter
    b, wb = hand_loop(7)
    assert len(a) == 100
    assert a.tobytes() == b.tobytes()
    assert all(x.tobytes() == y.tobytes() for x, y in zip(wa, wb))
    assert other.tobytes() != a.tobytes()
    assert a[-10:].mean() < a[:10].mean()  # it trains
    report("determinism_cpu_hand_loop", steps=100, identical=True,
           first_last_loss=[float(a[0]), float(a[-1])])


def test_same_seed_bit_identical_keras_fit_with_shuffle():
    ba, ha, wa = keras_loop(3)
    bb, hb, wb = keras_loop(3)
    assert len(ba) == 100 and len(ha) == 25
    assert ba.tobytes() == bb.tobytes() and ha.tobytes() == hb.tobytes()
    assert all(x.tobytes() == y.tobytes() for x, y in zip(wa, wb))
    report("determinism_cpu_keras_fit", steps=len(ba), identical=True)


def test_determinism_does_not_depend_on_other_threads_drawing_nothing():
    """Two seeded runs in two threads, one after the other, equal a main-thread run."""
    ref, _ = hand_loop(11, steps=30)
    out = []
    for _ in range(2):
        t = PropagatingThread(target=lambda: out.append(hand_loop(11, steps=30)[0]))
        t.start()
        t.join()
    assert all(o.tobytes() == ref.tobytes() for o in out)
    assert threading.current_thread() is threading.main_thread()


def test_same_seed_cuda_losses_agree_to_1e6_relative(cuda_device):
    a, _ = hand_loop(7, device="cuda")
    b, _ = hand_loop(7, device="cuda")
    rel = np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-30))
    report("determinism_cuda", steps=100, max_rel_diff=float(rel))
    assert rel <= 1e-6
