"""Keras' "customizing what happens in fit()": a Model subclass overriding train_step /
test_step, with compute_loss, metrics, optimizer.apply and variable.value -- against Keras
itself (torch backend) where it is installed, and against hand-computed updates."""

from __future__ import annotations

import os

import numpy as np
import pytest

import gradengine as ge
from gradengine import keras as gk


def _custom_model(K, no_grad):
    class CustomModel(K.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            tw = list(self.trainable_weights)
            grads = [v.value.grad for v in tw]
            with no_grad():
                self.optimizer.apply(grads, tw)
            for m in self.metrics:
                if m.name == "loss":
                    m.update_state(loss)
                else:
                    m.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for m in self.metrics:
                if m.name == "loss":
                    m.update_state(loss)
                else:
                    m.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inp = K.Input(shape=(5,))
    out = K.layers.Dense(1)(K.layers.Dense(4, activation="relu")(inp))
    return CustomModel(inp, out)


def _super_model(K):
    class M(K.Model):
        calls = 0

        def train_step(self, data):
            type(self).calls += 1
            return super().train_step(data)

        def test_step(self, data):
            return super().test_step(data)

    inp = K.Input(shape=(5,))
    out = K.layers.Dense(3, activation="softmax")(K.layers.Dense(4, activation="relu")(inp))
    return M(inp, out)


@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("the oracle needs Keras' torch backend")
    return k


def _data(classes=None):
    rng = np.random.default_rng(0)
    x = rng.random((64, 5)).astype("float32")
    y = rng.integers(0, classes, 64) if classes else rng.random((64, 1)).astype("float32")
    return x, y


def test_custom_train_and_test_step_against_keras(keras):
    import torch
    x, y = _data()
    km, gm = _custom_model(keras, torch.no_grad), _custom_model(gk, ge.no_grad)
    gm.set_weights(km.get_weights())
    for m in (km, gm):
        m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    hk = km.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
    hg = gm.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history
    assert sorted(hk) == sorted(hg)
    for k in hk:
        np.testing.assert_allclose(hg[k], hk[k], rtol=1e-5)
    np.testing.assert_allclose(gm.evaluate(x, y, verbose=0), km.evaluate(x, y, verbose=0),
                               rtol=1e-5)
    assert [m.name for m in gm.metrics] == [m.name for m in km.metrics]


def test_super_train_step_against_keras(keras):
    x, y = _data(classes=3)
    km, gm = _super_model(keras), _super_model(gk)
    gm.set_weights(km.get_weights())
    for m in (km, gm):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    kw = dict(batch_size=16, epochs=2, verbose=0, shuffle=False, validation_data=(x, y))
    hk, hg = km.fit(x, y, **kw).history, gm.fit(x, y, **kw).history
    assert sorted(hk) == sorted(hg)
    for k in hk:
        np.testing.assert_allclose(hg[k], hk[k], rtol=1e-5)
    assert type(gm).calls == type(km).calls == 8


def test_custom_train_step_is_called_and_its_update_applied():
    x, y = _data()
    ge.manual_seed(0)
    gm = _custom_model(gk, ge.no_grad)
    ref = _custom_model(gk, ge.no_grad)
    ref.set_weights(gm.get_weights())
    gm.compile(optimizer=gk.optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
    h = gm.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False).history
    # the same step by hand: one SGD update of the full-batch MSE
    pred = ref(ge.tensor(x))
    loss = ((pred - ge.tensor(y)) ** 2).mean()
    loss.backward()
    for p, q in zip(ref.trainable_weights, gm.trainable_weights):
        np.testing.assert_allclose(q.numpy(), p.numpy() - 0.1 * p.grad.numpy(), rtol=1e-5,
                                   atol=1e-7)
    np.testing.assert_allclose(h["loss"], [float(loss)], rtol=1e-5)
    mae = float(np.abs(pred.detach().numpy() - y).mean())
    np.testing.assert_allclose(h["mae"], [mae], rtol=1e-5)


def test_optimizer_apply_and_apply_gradients_update_only_the_given_variables():
    a, b = ge.nn.Parameter(ge.ones(2)), ge.nn.Parameter(ge.ones(2))
    opt = gk.optimizers.SGD(learning_rate=0.5)
    opt.apply([ge.ones(2), None], [a, b])  # a None gradient leaves its variable alone
    assert a.tolist() == [0.5, 0.5] and b.tolist() == [1.0, 1.0]
    b.grad = ge.ones(2) * 7  # held gradients of variables not given survive an apply
    opt.apply_gradients(zip([np.full(2, 2.0, np.float32)], [a]))
    assert a.tolist() == [-0.5, -0.5] and b.tolist() == [1.0, 1.0] and b.grad.tolist() == [7, 7]
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        opt.apply([ge.ones(2), ge.ones(2)], [a])
    a.assign(np.zeros(2, np.float32))
    a.assign_add(ge.ones(2))
    assert a.value is a and a.tolist() == [1.0, 1.0] and a.trainable


def test_sequential_takes_keras_training_keyword():
    m = gk.Sequential([gk.layers.Dense(3), gk.layers.Dropout(0.99)])
    m.eval()
    x = ge.ones((4, 2))
    ge.manual_seed(0)
    assert (m(x, training=True).numpy() == 0).mean() > 0.5  # dropout on for this call
    assert not m.training and not m[1].training
    np.testing.assert_array_equal(m(x, training=False).numpy(), m(x).numpy())
