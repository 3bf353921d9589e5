"""RELIABILITY.md section 3 item 6: threads.

8 threads x 200 steps, started together behind a barrier while the main thread is inside
``ge.no_grad()``:

- odd threads train independent models (Adam, a hand loop on the engine API) and
  their final weights are bit-identical to the same runs done one after the other in
  the main thread;
- even threads run ``predict`` and ``model(x)`` under ``ge.no_grad()`` 200 times: the
  tensors they get have ``requires_grad=False`` and no graph node, and their outputs
  are bit-identical to the single-threaded ones;
- every fresh thread starts with grad enabled, the training threads see grad enabled at
  every step (no leak from the no_grad threads), and the main thread's mode is the same
  afterwards (False inside its block, True outside);
- exceptions raised in a thread reach ``join()`` (PropagatingThread).

Models are built in the main thread (``ge.manual_seed`` is process-wide), and the threads
only train or predict.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from gradengine import nn, optim
from reliability_util import PropagatingThread, report

THREADS, STEPS = 8, 200


def build(i):
    ge.manual_seed(100 + i)
    X = ge.randn(64, 2)
    Y = ((X[:, :1] * X[:, 1:]) > 0).astype("float32")
    model = nn.Sequential(nn.Dense(16, input_dim=2, activation="sigmoid"),
                          nn.Dense(16, activation="tanh"),
                          nn.Dense(1, activation="sigmoid"))
    model(X[:1])  # build the lazy layers here, in the main thread
    return model, X, Y


def train(model, X, Y, barrier=None, log=None):
    if barrier is not None:
        barrier.wait()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    enabled_every_step = ge.is_grad_enabled()
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = F.mse_loss(model(X), Y)
        enabled_every_step &= ge.is_grad_enabled() and loss.requires_grad and \
            loss.node is not None
        loss.backward()
        opt.step()
        losses.append(loss.item())
    if log is not None:
        log["enabled_every_step"] = enabled_every_step
    return [p.numpy().copy() for p in model.parameters()], losses


def infer(model, X, barrier=None, log=None):
    if barrier is not None:
        barrier.wait()
    outs = []
    clean = True
    for _ in range(STEPS):
        with ge.no_grad():
            t = model(X)
            h = (t * 2 + 1).sigmoid()
            clean &= (not ge.is_grad_enabled()) and not t.requires_grad and t.node is None \
                and not h.requires_grad and h.node is None
        clean &= ge.is_grad_enabled()  # restored after the block, in this thread
        outs.append(model.predict(X.numpy()))
    if log is not None:
        log["no_grad_tensors_clean"] = clean
    return outs[-1], all(o.tobytes() == outs[0].tobytes() for o in outs)


def test_8_threads_200_steps_match_single_thread():
    # single-threaded reference, in the main thread
    ref = {}
    for i in range(THREADS):
        model, X, Y = build(i)
        ref[i] = train(model, X, Y)[0] if i % 2 else infer(model, X)[0]

    setups = {i: build(i) for i in range(THREADS)}
    barrier = threading.Barrier(THREADS)
    logs = {i: {} for i in range(THREADS)}
    fresh = {}

    def worker(i):
        fresh[i] = ge.is_grad_enabled()  # a fresh thread starts with grad enabled
        model, X, Y = setups[i]
        if i % 2:
            return train(model, X, Y, barrier, logs[i])
        return infer(model, X, barrier, logs[i])

    assert ge.is_grad_enabled()
    with ge.no_grad():
        threads = [PropagatingThread(target=worker, args=(i,), name=f"w{i}")
                   for i in range(THREADS)]
        for t in threads:
            t.start()
        results = {i: t.join(timeout=300) for i, t in enumerate(threads)}
        main_inside = ge.is_grad_enabled()
    main_after = ge.is_grad_enabled()

    identical_train = all(
        all(a.tobytes() == b.tobytes() for a, b in zip(results[i][0], ref[i]))
        for i in range(1, THREADS, 2))
    identical_infer = all(results[i][0].tobytes() == ref[i].tobytes() and results[i][1]
                          for i in range(0, THREADS, 2))
    report("threads_8x200", training_threads_bit_identical=identical_train,
           predict_threads_bit_identical=identical_infer,
           fresh_threads_grad_enabled=all(fresh.values()),
           training_grad_enabled_every_step=all(logs[i]["enabled_every_step"]
                                                for i in range(1, THREADS, 2)),
           no_grad_tensors_clean=all(logs[i]["no_grad_tensors_clean"]
                                     for i in range(0, THREADS, 2)),
           main_grad_mode_inside_after=[main_inside, main_after])
    assert all(fresh.values()) and len(fresh) == THREADS
    assert main_inside is False and main_after is True
    for i in range(1, THREADS, 2):
        assert logs[i]["enabled_every_step"], i
        losses = results[i][1]
        assert losses[-1] < losses[0]
    for i in range(0, THREADS, 2):
        assert logs[i]["no_grad_tensors_clean"], i
    assert identical_train
    assert identical_infer


def test_keras_fit_in_threads_matches_single_thread():
    """Keras ``fit`` (with shuffling, from each model's own generator) in 4 threads."""
    def setup(i):
        model, X, Y = build(i)
        model.compile(optimizer="adam", loss="mse")
        return model, X.numpy(), Y.numpy()

    def run(model, X, Y):
        h = model.fit(X, Y, epochs=10, batch_size=16, verbose=0)
        return [w.tobytes() for w in model.get_weights()], h.history["loss"]

    ref = [run(*setup(i)) for i in range(4)]
    setups = [setup(i) for i in range(4)]
    threads = [PropagatingThread(target=run, args=setups[i]) for i in range(4)]
    for t in threads:
        t.start()
    got = [t.join(timeout=300) for t in threads]
    assert got == ref


def test_exceptions_propagate_through_join():
    def bad():
        ge.ones((2, 3)) @ ge.ones((4, 5))

    t = PropagatingThread(target=bad)
    t.start()
    with pytest.raises(ge.ShapeError, match=r"matmul: .*\(2, 3\).*\(4, 5\)"):
        t.join()

    def interrupted():
        raise KeyboardInterrupt("in a worker")

    t = PropagatingThread(target=interrupted)
    t.start()
    with pytest.raises(KeyboardInterrupt):
        t.join()

    def no_grad_then_raise():
        with ge.no_grad():
            raise ValueError("boom")

    t = PropagatingThread(target=no_grad_then_raise)
    t.start()
    with pytest.raises(ValueError, match="boom"):
        t.join()
    assert ge.is_grad_enabled()


def test_backward_in_one_thread_while_another_is_in_no_grad():
    """The no_grad switch of one thread must never disable recording in a backward that
    runs at the same time in another (backward toggles grad mode internally)."""
    stop = threading.Event()

    def toggler():
        while not stop.is_set():
            with ge.no_grad():
                pass
            with ge.enable_grad():
                pass

    t = PropagatingThread(target=toggler)
    t.start()
    try:
        x = ge.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
        for _ in range(300):
            (g,) = ge.grad(F.sigmoid(x).sum(), [x], create_graph=True)
            assert g.requires_grad and g.node is not None
            (h,) = ge.grad(g.sum(), [x])
            s = 1 / (1 + np.exp(-x.numpy()))
            np.testing.assert_allclose(h.numpy(), s * (1 - s) * (1 - 2 * s), rtol=1e-12)
    finally:
        stop.set()
        t.join()
