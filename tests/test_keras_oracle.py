"""gradengine.keras against Keras 3 itself (torch backend): shapes, parameter counts, layer
order, summary columns, to_categorical, regularizer penalties, and -- with Keras' weights
copied in through set_weights -- forward outputs and one training step.

Skipped when Keras is not installed (it is not a dependency).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
K = pytest.importorskip("keras")
if K.backend.backend() != "torch":
    pytest.skip("the Keras oracle runs on the torch backend", allow_module_level=True)

from gradengine import keras as G  # noqa: E402

# Keras' torch backend itself warns about NumPy 2's copy= protocol
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _both(build):
    """The same architecture made with Keras and with gradengine, Keras' weights copied."""
    k, g = build(K), build(G)
    g.set_weights(k.get_weights())
    return k, g


def _convnet(keras):
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def _mlp(keras):
    inputs = keras.Input(shape=(784,))
    x = keras.layers.Dense(64, activation="relu")(inputs)
    x = keras.layers.Dense(64, activation="relu")(x)
    return keras.Model(inputs=inputs, outputs=keras.layers.Dense(10)(x))


def _two_inputs(keras):
    layers = keras.layers
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(3,))
    shared = layers.Dense(5, activation="tanh")
    xa = layers.Dense(6)(a)
    xb = shared(layers.Dense(5)(b))
    z = layers.Concatenate()([xa, xb, shared(layers.Dense(5, activation="relu")(b))])
    z = layers.Add()([layers.Dense(3)(z), layers.Dense(3)(xa)])
    return keras.Model(inputs=[a, b], outputs=layers.Dense(2)(z))


def _x(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype("float32")


def test_convnet_shapes_params_and_forward_match_keras():
    k, g = _both(_convnet)
    assert g.count_params() == k.count_params() == 34826
    shapes = [tuple(layer.output.shape) for layer in k.layers]
    assert [(None,) + s for s in g._layer_shapes((28, 28, 1))] == shapes
    assert [layer.count_params() for layer in k.layers] == \
        [sum(w.size for w in layer.get_weights()) for layer in g.layers]
    x = _x((6, 28, 28, 1))
    np.testing.assert_allclose(g.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)


def test_convnet_one_training_step_matches_keras():
    k, g = _both(_convnet)
    x, y = _x((8, 28, 28, 1)), np.eye(10)[np.arange(8) % 10]
    for keras, m in ((K, k), (G, g)):
        m.layers[-2].rate = 0.0  # no dropout: the step is deterministic
        m.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.1))
    lk = float(k.train_on_batch(x, y))
    lg = float(g.train_on_batch(x, y))
    assert lg == pytest.approx(lk, rel=1e-5)
    for wk, wg in zip(k.get_weights(), g.get_weights()):
        np.testing.assert_allclose(wg, wk, atol=1e-5)


def test_functional_mlp_forward_and_a_training_step_match_keras():
    k, g = _both(_mlp)
    assert [type(layer).__name__ for layer in g.layers] == \
        [type(layer).__name__ for layer in k.layers]
    assert g.count_params() == k.count_params()
    x, y = _x((16, 784)), np.arange(16) % 10
    np.testing.assert_allclose(g.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)
    for keras, m in ((K, k), (G, g)):
        m.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    rk = k.train_on_batch(x, y)
    rg = g.train_on_batch(x, y)
    np.testing.assert_allclose(rg, rk, rtol=1e-5)
    for wk, wg in zip(k.get_weights(), g.get_weights()):
        np.testing.assert_allclose(wg, wk, atol=1e-5)
    ek = k.evaluate(x, y, verbose=0)
    eg = g.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(eg, ek, rtol=1e-5)


def test_multi_input_model_layer_order_weights_and_outputs_match_keras():
    k, g = _both(_two_inputs)
    assert [type(layer).__name__ for layer in g.layers] == \
        [type(layer).__name__ for layer in k.layers]
    assert [w.shape for w in g.get_weights()] == [w.shape for w in k.get_weights()]
    xa, xb = _x((5, 4)), _x((5, 3), 1)
    np.testing.assert_allclose(g.predict([xa, xb], verbose=0),
                               k.predict([xa, xb], verbose=0), atol=1e-5)
    _, rows = g._summary_rows(True)
    assert [row[1] for row in rows] == [str(tuple(layer.output.shape)) for layer in k.layers]
    assert [row[2] for row in rows] == [f"{layer.count_params():,}" for layer in k.layers]


def test_summary_columns_and_rows_match_keras(capsys):
    k, g = _both(_two_inputs)
    lines = []
    k.summary(print_fn=lambda s, **kw: lines.append(s))
    text = "\n".join(lines)
    g.summary()
    ours = capsys.readouterr().out
    for header in ("Layer (type)", "Output Shape", "Param #", "Connected to"):
        assert header in text and header in ours
    for layer in k.layers:
        n = f"{layer.count_params():,}"
        assert f"({type(layer).__name__})" in ours
        assert any(str(tuple(layer.output.shape)) in line and n in line
                   for line in ours.splitlines()), (layer.name, ours)
    assert f"Total params: {k.count_params():,}" in ours


def test_subclassed_model_weights_and_outputs_match_keras():
    def build(keras):
        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.a = keras.layers.Dense(7, activation="relu")
                self.b = keras.layers.Dense(3)

            def call(self, x, training=False):
                return self.b(self.a(x))
        net = Net()
        net(np.zeros((1, 5), "float32"))
        return net
    k, g = _both(build)
    assert len(g.trainable_weights) == len(k.trainable_weights) == 4
    x = _x((4, 5))
    np.testing.assert_allclose(g.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("y,n", [([0, 2, 1], None), ([0, 2, 1], 5), ([[1], [0]], None),
                                 (np.array([[0, 1], [2, 0]]), 3), (np.array([3.0, 1.0]), 4)])
def test_to_categorical_matches_keras(y, n):
    want = K.utils.to_categorical(y, n)
    got = G.utils.to_categorical(y, n)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_regularizer_penalties_match_keras():
    w = _x((4, 3)) - 0.5
    for name, args in (("L1", (0.03,)), ("L2", (0.2,)), ("L1L2", (0.1, 0.05))):
        want = float(getattr(K.regularizers, name)(*args)(K.ops.convert_to_tensor(w)))
        got = getattr(G.regularizers, name)(*args)(G.ops.convert_to_tensor(w)).item()
        assert got == pytest.approx(want, rel=1e-6), name
    for name in ("l1", "l2", "l1l2", "L1L2"):
        assert G.regularizers.get(name).get_config() == \
            pytest.approx(K.regularizers.get(name).get_config())


def test_regularized_training_step_and_evaluate_match_keras():
    def build(keras):
        r = keras.regularizers
        return keras.Sequential([
            keras.Input(shape=(6,)),
            keras.layers.Dense(4, activation="relu", kernel_regularizer=r.L2(0.05),
                               bias_regularizer=r.L1(0.02), activity_regularizer=r.L1(0.01)),
            keras.layers.Dense(1, kernel_regularizer="l1")])
    k, g = _both(build)
    x, y = _x((10, 6)), _x((10, 1), 1)
    for keras, m in ((K, k), (G, g)):
        m.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=0.1))
    assert g.evaluate(x, y, batch_size=10, verbose=0) == pytest.approx(
        k.evaluate(x, y, batch_size=10, verbose=0), rel=1e-5)
    assert float(g.train_on_batch(x, y)) == pytest.approx(float(k.train_on_batch(x, y)),
                                                          rel=1e-5)
    for wk, wg in zip(k.get_weights(), g.get_weights()):
        np.testing.assert_allclose(wg, wk, atol=1e-6)
    hk = k.fit(x, y, batch_size=5, epochs=1, shuffle=False, verbose=0).history
    hg = g.fit(x, y, batch_size=5, epochs=1, shuffle=False, verbose=0).history
    assert hg["loss"][0] == pytest.approx(hk["loss"][0], rel=1e-5)
