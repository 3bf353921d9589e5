"""Keras scripts with only the import changed: ``from gradengine import keras``.

The keras-io examples as written (synthetic data instead of the downloads), the top-level
names, the functional API, subclassed models, ``keras.utils`` and the regularizers. The
comparisons with Keras itself are in ``test_keras_oracle.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine import keras
from gradengine.errors import ShapeError
from gradengine.keras import layers


@pytest.fixture(autouse=True)
def _seed():
    ge.manual_seed(0)


def _digits(n=96, d=784, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = rng.normal(size=(classes, d)).astype("float32")
    x = centers[y] + 0.5 * rng.normal(size=(n, d)).astype("float32")
    return x, y


# ---------------------------------------------------------------- the keras-io examples

def test_simple_mnist_convnet_runs_as_written(capsys):
    num_classes = 10
    input_shape = (28, 28, 1)
    rng = np.random.default_rng(0)
    x_train = rng.random((160, 28, 28, 1)).astype("float32")
    y_train = rng.integers(0, num_classes, 160)
    x_test, y_test = x_train[:32], y_train[:32]
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ])
    model.summary()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=128, epochs=1, validation_split=0.1,
                        verbose=0)
    score = model.evaluate(x_test, y_test, verbose=0)
    out = capsys.readouterr().out
    # Keras' shapes and parameter counts for this model
    for shape, params in (("(None, 26, 26, 32)", "320"), ("(None, 13, 13, 32)", "0"),
                          ("(None, 11, 11, 64)", "18,496"), ("(None, 5, 5, 64)", "0"),
                          ("(None, 1600)", "0"), ("(None, 10)", "16,010")):
        assert any(shape in line and line.rstrip().endswith(params)
                   for line in out.splitlines()), (shape, out)
    assert "Total params: 34,826" in out
    assert model.count_params() == 34826
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(score) == 2 and np.isfinite(score[0]) and 0.0 <= score[1] <= 1.0
    assert model.predict(x_test[:3], verbose=0).shape == (3, 10)


def test_functional_api_guide_first_model_trains():
    inputs = keras.Input(shape=(784,))
    assert inputs.shape == (None, 784) and inputs.dtype == "float32"
    dense = layers.Dense(64, activation="relu")
    x = dense(inputs)
    assert x.shape == (None, 64)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    assert model.count_params() == 784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10
    x, y = _digits(320)
    x_train, y_train, x_test, y_test = x[:256], y[:256], x[256:], y[256:]
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.RMSprop(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    history = model.fit(x_train, y_train, batch_size=64, epochs=3, validation_split=0.2,
                        verbose=0)
    h = history.history
    assert set(h) == {"loss", "sparse_categorical_accuracy", "val_loss",
                      "val_sparse_categorical_accuracy"}
    assert h["loss"][-1] < h["loss"][0]
    test_scores = model.evaluate(x_test, y_test, verbose=0)
    assert test_scores[1] > 0.5  # separable clusters
    again = keras.Model(inputs=inputs, outputs=outputs)
    again.compile(optimizer="rmsprop", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    np.testing.assert_allclose(again.predict(x_test, verbose=0),
                               model.predict(x_test, verbose=0), rtol=1e-6)


# ---------------------------------------------------------------- top-level names

def test_top_level_names_are_keras_3s():
    import gradengine.keras as k2
    for name in ("Sequential", "Model", "Input", "layers", "models", "optimizers", "losses",
                 "metrics", "callbacks", "activations", "initializers", "utils",
                 "regularizers", "ops", "saving", "backend", "random"):
        assert getattr(keras, name) is getattr(k2, name), name
    from gradengine.keras import Input, Model, Sequential
    assert Sequential is keras.models.Sequential and Model is keras.models.Model
    assert Input is keras.layers.Input
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        keras.Nope  # noqa: B018


# ---------------------------------------------------------------- functional API

def test_functional_model_equals_the_same_layers_applied_by_hand():
    inputs = keras.Input(shape=(5,))
    d1, d2 = layers.Dense(4, activation="tanh"), layers.Dense(2)
    model = keras.Model(inputs, d2(d1(inputs)))
    x = np.random.default_rng(0).normal(size=(7, 5)).astype("float32")
    want = d2(d1(ge.tensor(x))).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-6)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense"]
    assert model.trainable_weights == [d1.weight, d1.bias, d2.weight, d2.bias]


def test_functional_model_trains_its_layers_and_matches_sequential_step_for_step():
    x, y = _digits(64, d=6, classes=3)
    ge.manual_seed(1)
    seq = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                            layers.Dense(3, activation="softmax")])
    inputs = keras.Input(shape=(6,))
    a, b = layers.Dense(8, activation="relu"), layers.Dense(3, activation="softmax")
    func = keras.Model(inputs, b(a(inputs)))
    func.set_weights(seq.get_weights())
    for m in (seq, func):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hs = seq.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    hf = func.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    np.testing.assert_allclose(hf["loss"], hs["loss"], rtol=1e-6)
    for ws, wf in zip(seq.get_weights(), func.get_weights()):
        np.testing.assert_allclose(wf, ws, rtol=1e-5, atol=1e-7)


def test_multi_input_model_with_concatenate_and_a_shared_layer():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(4,), name="b")
    shared = layers.Dense(3, activation="relu")
    merged = layers.Concatenate()([shared(a), shared(b)])
    out = layers.Dense(1, activation="sigmoid")(merged)
    model = keras.Model(inputs=[a, b], outputs=out)
    assert model.count_params() == (4 * 3 + 3) + (6 + 1)
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(40, 4)), rng.normal(size=(40, 4))
    y = (xa.sum(1) > xb.sum(1)).astype("float32")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit([xa, xb], y, epochs=3, batch_size=8, verbose=0).history
    assert len(h["loss"]) == 3
    by_list = model.predict([xa, xb], verbose=0)
    by_dict = model.predict({"b": xb, "a": xa}, verbose=0)
    np.testing.assert_array_equal(by_list, by_dict)
    sa = shared(ge.tensor(xa.astype("float32")))
    sb = shared(ge.tensor(xb.astype("float32")))
    head = model.layers[-1]
    want = head(ge.cat([sa, sb], axis=1)).numpy()
    np.testing.assert_allclose(by_list, want, rtol=1e-5)


def test_dict_inputs_and_list_outputs():
    keras.backend.clear_session()  # Keras' default names count from here, as in Keras
    x1, x2 = keras.Input(shape=(2,)), keras.Input(shape=(3,))
    s = layers.Add()([layers.Dense(4)(x1), layers.Dense(4)(x2)])
    model = keras.Model(inputs={"left": x1, "right": x2},
                        outputs=[layers.Dense(1)(s), layers.Dense(2)(s)])
    rng = np.random.default_rng(0)
    data = {"left": rng.normal(size=(40, 2)), "right": rng.normal(size=(40, 3))}
    out = model.predict(data, batch_size=16, verbose=0)
    assert [o.shape for o in out] == [(40, 1), (40, 2)]
    whole = model.predict(data, batch_size=64, verbose=0)
    for a, b in zip(out, whole):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    both = model({"left": ge.ones((5, 2)), "right": ge.ones((5, 3))})
    assert [t.shape for t in both] == [(5, 1), (5, 2)]
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="2 outputs"):
        model.fit({"left": np.ones((5, 2)), "right": np.ones((5, 3))}, np.ones((5, 1)))
    hist = model.fit({"left": np.ones((5, 2)), "right": np.ones((5, 3))},
                     [np.ones((5, 1)), np.ones((5, 2))], verbose=0)
    assert sorted(hist.history) == ["dense_2_loss", "dense_3_loss", "loss"]


@pytest.mark.parametrize("cls,fn", [
    (layers.Add, lambda a, b: a + b), (layers.Subtract, lambda a, b: a - b),
    (layers.Multiply, lambda a, b: a * b), (layers.Average, lambda a, b: (a + b) / 2),
    (layers.Maximum, np.maximum), (layers.Minimum, np.minimum),
])
def test_merge_layers_compute_elementwise(cls, fn):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(cls()([ge.tensor(a), ge.tensor(b)]).numpy(), fn(a, b),
                               rtol=1e-6)
    ia, ib = keras.Input(shape=(4,)), keras.Input(shape=(4,))
    model = keras.Model([ia, ib], cls()([ia, ib]))
    np.testing.assert_allclose(model.predict([a, b], verbose=0), fn(a, b), rtol=1e-6)


def test_merge_layers_name_the_layer_and_the_shapes():
    with pytest.raises(ShapeError, match=r"Add: .*\(None, 3\).*\(None, 4\)"):
        layers.Add()([keras.Input(shape=(3,)), keras.Input(shape=(4,))])
    with pytest.raises(ShapeError, match=r"Concatenate: .*\(None, 2, 3\).*\(None, 3, 3\)"):
        layers.Concatenate(axis=-1)([keras.Input(shape=(2, 3)), keras.Input(shape=(3, 3))])
    with pytest.raises(ValueError, match="Subtract: .*exactly 2"):
        layers.Subtract()([keras.Input(shape=(3,))] * 3)
    with pytest.raises(ValueError, match="Concatenate: expected a list"):
        layers.Concatenate()(ge.ones((2, 3)))
    out = layers.Concatenate(axis=1)([ge.ones((2, 3)), ge.zeros((2, 2))])
    np.testing.assert_array_equal(out.numpy(), np.c_[np.ones((2, 3)), np.zeros((2, 2))])


def test_functional_model_errors_name_the_inputs_and_shapes():
    inputs = keras.Input(shape=(4,), name="features")
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ShapeError, match=r"fit: input 'features' expects shape "
                                         r"\(None, 4\), got \(10, 3\)"):
        model.fit(np.ones((10, 3)), np.ones((10, 2)), verbose=0)
    with pytest.raises(ShapeError, match="fit: X has 10 samples but y has 9"):
        model.fit(np.ones((10, 4)), np.ones((9, 2)), verbose=0)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    other = keras.Input(shape=(4,))
    with pytest.raises(ValueError, match="graph disconnected"):
        keras.Model(inputs, layers.Add()([inputs, other]))
    with pytest.raises(TypeError, match="symbolic tensors"):
        keras.Model(inputs=np.ones(3), outputs=inputs)
    with pytest.raises(TypeError, match="both inputs= and outputs="):
        keras.Model(inputs=inputs)
    two = keras.Input(shape=(2,))
    pair = keras.Model([inputs, two], layers.Concatenate()([inputs, two]))
    with pytest.raises(ValueError, match=r"2 inputs .*got 3 values"):
        pair.predict([np.ones((2, 4)), np.ones((2, 2)), np.ones((2, 2))], verbose=0)
    with pytest.raises(ShapeError, match=r"different numbers of samples.*\(3, 4\).*\(2, 2\)"):
        pair.predict([np.ones((3, 4)), np.ones((2, 2))], verbose=0)


def test_functional_summary_shows_inputs_shapes_params_and_connections(capsys):
    keras.backend.clear_session()  # Keras' default names count from here, as in Keras
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,))
    x = layers.Concatenate()([layers.Dense(5, name="da")(a), layers.Dense(5)(b)])
    model = keras.Model([a, b], layers.Dense(2)(x))
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "functional"' in out and "Connected to" in out
    rows = [line.split() for line in out.splitlines()]
    assert ["a", "(InputLayer)", "(None,", "4)", "0", "-"] in rows
    assert ["input_layer", "(InputLayer)", "(None,", "3)", "0", "-"] in rows
    assert ["da", "(Dense)", "(None,", "5)", "25", "a[0][0]"] in rows
    assert ["dense", "(Dense)", "(None,", "5)", "20", "input_layer[0][0]"] in rows
    assert ["concatenate", "(Concatenate)", "(None,", "10)", "0", "da[0][0],",
            "dense[0][0]"] in rows
    assert "Total params: 67" in out
    assert model.get_layer("da") is model.layers[2]
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")


def test_layers_called_on_input_build_and_sequential_takes_keras_input():
    inputs = keras.Input(shape=(8, 8, 3))
    conv = layers.Conv2D(4, 3, padding="same")
    y = conv(inputs)
    assert conv.built and y.shape == (None, 8, 8, 4)
    assert layers.Flatten()(layers.MaxPooling2D()(y)).shape == (None, 64)
    seq = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(2)])
    assert seq.built and seq.count_params() == 8


def test_a_functional_model_is_a_layer_of_another():
    inner_in = keras.Input(shape=(3,))
    inner = keras.Model(inner_in, layers.Dense(2)(inner_in))
    outer_in = keras.Input(shape=(3,))
    outer = keras.Model(outer_in, layers.Dense(1)(inner(outer_in)))
    x = np.ones((4, 3), "float32")
    want = outer.layers[-1](inner(ge.tensor(x))).numpy()
    np.testing.assert_allclose(outer.predict(x, verbose=0), want, rtol=1e-6)
    assert outer.count_params() == 8 + 3


# ---------------------------------------------------------------- subclassing

class _MLP(keras.Model):
    def __init__(self, classes=3):
        super().__init__()
        self.hidden = layers.Dense(16, activation="relu")
        self.dropout = layers.Dropout(0.5)
        self.out = layers.Dense(classes)

    def call(self, inputs, training=False):
        return self.out(self.dropout(self.hidden(inputs), training=training))


def test_subclassed_model_compiles_fits_predicts_and_evaluates():
    x, y = _digits(120, d=6, classes=3)
    model = _MLP()
    assert not model.built
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    h = model.fit(x, y, epochs=20, batch_size=16, verbose=0).history
    assert h["loss"][-1] < h["loss"][0]
    assert model.trainable_weights == [model.hidden.weight, model.hidden.bias,
                                       model.out.weight, model.out.bias]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.8
    p = model.predict(x[:4], verbose=0)
    assert p.shape == (4, 3)
    # predict is deterministic (dropout off); model(x, training=True) drops
    np.testing.assert_array_equal(p, model.predict(x[:4], verbose=0))
    t = ge.tensor(x[:4])
    np.testing.assert_allclose(model(t, training=False).numpy(), p, rtol=1e-6)
    assert not np.allclose(model(t, training=True).numpy(), p)
    assert model.layers == [model.hidden, model.dropout, model.out]


def test_subclassed_model_with_a_list_of_layers_and_two_inputs():
    class Two(keras.Model):
        def __init__(self):
            super().__init__(name="two")
            self.blocks = [layers.Dense(4, activation="relu") for _ in range(2)]
            self.head = layers.Dense(1)

        def call(self, inputs):
            a, b = inputs
            return self.head(layers.Concatenate()([self.blocks[0](a), self.blocks[1](b)]))

    model = Two()
    model.compile(optimizer="sgd", loss="mse")
    xa, xb = np.ones((8, 2)), np.ones((8, 3))
    model.fit([xa, xb], np.ones((8, 1)), epochs=1, verbose=0)
    assert len(model.trainable_weights) == 6
    assert model.count_params() == (2 * 4 + 4) + (3 * 4 + 4) + (8 + 1)
    assert model.predict([xa, xb], verbose=0).shape == (8, 1)
    assert model._display_name() == "two"


def test_subclassed_model_without_call_says_what_to_define():
    class Empty(keras.Model):
        pass
    with pytest.raises(NotImplementedError, match="Empty: define call"):
        Empty()(ge.ones((2, 2)))


def test_subclassed_model_build_then_summary(capsys):
    keras.backend.clear_session()  # Keras' default names count from here, as in Keras
    model = _MLP()
    model.build((None, 6))
    model.summary()
    out = capsys.readouterr().out
    assert 'Model: "_mlp"' in out and "Total params: 163" in out


def test_custom_layer_with_build_add_weight_and_call():
    class Linear(layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            assert input_shape[0] is None  # Keras' build sees the batch axis
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="zeros")
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False)

        def call(self, inputs):
            return inputs @ self.w + self.b

    inputs = keras.Input(shape=(3,))
    lin = Linear(2)
    model = keras.Model(inputs, lin(inputs))
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 1
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               x @ lin.w.numpy() + lin.b.numpy(), rtol=1e-6)


# ---------------------------------------------------------------- utils

def test_to_categorical_is_one_hot_and_checks_labels():
    y = keras.utils.to_categorical([0, 2, 1, 2], 3)
    np.testing.assert_array_equal(y, np.eye(3)[[0, 2, 1, 2]])
    assert y.dtype == np.float64
    assert keras.utils.to_categorical(np.array([[1], [0]])).shape == (2, 2)
    assert keras.utils.to_categorical(np.zeros((2, 3), int), 4).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="to_categorical: label 3 .*3 classes"):
        keras.utils.to_categorical([0, 3], 3)
    with pytest.raises(ValueError, match="to_categorical: label -1"):
        keras.utils.to_categorical([-1, 0], 3)
    with pytest.raises(ValueError, match="to_categorical: .*integers"):
        keras.utils.to_categorical([0.5, 1.0], 3)


def test_set_random_seed_makes_runs_repeatable():
    def run():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(2)])
        return model.get_weights()[0], np.random.rand(), ge.rand(2).numpy()
    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="set_random_seed: .*non-negative"):
        keras.utils.set_random_seed(-1)


def test_normalize_gives_unit_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(keras.utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])


# ---------------------------------------------------------------- regularizers

def test_regularizer_penalties_are_keras_formulas():
    w = ge.tensor([[1.0, -2.0], [0.5, 0.0]])
    r = keras.regularizers
    assert r.L2(0.1)(w).item() == pytest.approx(0.1 * 5.25)
    assert r.L1(0.1)(w).item() == pytest.approx(0.1 * 3.5)
    assert r.L1L2(l1=0.1, l2=0.2)(w).item() == pytest.approx(0.35 + 0.2 * 5.25)
    assert r.l2 is r.L2 and r.l1_l2 is r.L1L2
    assert r.get("l2").l2 == 0.01 and r.get("l1").l1 == 0.01
    assert r.get({"class_name": "L2", "config": {"l2": 0.3}}).l2 == 0.3
    with pytest.raises(ValueError, match="unknown regularizer 'l3'"):
        r.get("l3")
    with pytest.raises(ValueError, match="L2: l2 must be a non-negative float"):
        r.L2(-1.0)


def test_kernel_regularizer_penalty_is_added_to_the_training_loss():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1))
    reg = keras.regularizers.L2(0.5)
    model = keras.Sequential([keras.Input(shape=(3,)),
                              layers.Dense(1, kernel_regularizer=reg, bias_regularizer="l1")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    dense = model.layers[0]
    w, b = dense.weight.numpy(), dense.bias.numpy()
    pred = x @ w + b
    penalty = 0.5 * (w ** 2).sum() + 0.01 * np.abs(b).sum()
    want = ((pred - y) ** 2).mean() + penalty
    loss = model.evaluate(x, y, batch_size=16, verbose=0)
    assert loss == pytest.approx(want, rel=1e-5)
    h = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    assert h["loss"][0] == pytest.approx(want, rel=1e-5)
    assert [p.item() for p in model.losses] == pytest.approx(
        [0.5 * (w ** 2).sum(), 0.01 * np.abs(b).sum()], rel=1e-5)


def test_regularizer_gradient_shrinks_the_weights():
    x, y = np.zeros((8, 2), "float32"), np.zeros((8, 1))
    inputs = keras.Input(shape=(2,))
    out = layers.Dense(1, kernel_initializer="ones", kernel_regularizer=keras.regularizers.L2(
        0.25))(inputs)
    model = keras.Model(inputs, out)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    # the data gradient is 0 (x = 0): w <- w - lr * 2 * 0.25 * w
    np.testing.assert_allclose(model.layers[1].kernel.numpy(), np.full((2, 1), 0.95),
                               rtol=1e-6)


def test_conv2d_kernel_regularizer_and_activity_regularizer():
    conv = layers.Conv2D(2, 3, kernel_regularizer="l2", activity_regularizer="l1")
    model = keras.Sequential([keras.Input(shape=(5, 5, 1)), conv, layers.Flatten(),
                              layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    x = np.random.default_rng(0).random((4, 5, 5, 1)).astype("float32")
    y = np.zeros((4, 1))
    out = conv(ge.tensor(x)).numpy()
    pred = model.predict(x, verbose=0)
    want = (pred ** 2).mean() + 0.01 * (conv.kernel.numpy() ** 2).sum() + \
        0.01 * np.abs(out).sum() / 4
    assert model.evaluate(x, y, batch_size=4, verbose=0) == pytest.approx(want, rel=1e-5)


def test_regularizer_arguments_that_are_not_supported_are_refused():
    with pytest.raises(TypeError, match="BatchNormalization: unexpected keyword arguments "
                                        r"\['moving_mean_regularizer'\]"):
        layers.BatchNormalization(moving_mean_regularizer="l2")
    with pytest.raises(NotImplementedError, match="Dense: lora_rank"):
        layers.Dense(2, lora_rank=4)


# ---------------------------------------------------------------- saving

def test_functional_model_save_and_load_round_trip(tmp_path):
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,))
    shared = layers.Dense(5, activation="relu", kernel_regularizer=keras.regularizers.L2(0.1))
    z = layers.Concatenate()([shared(a), shared(layers.Dense(4)(b))])
    model = keras.Model({"x": a, "y": b}, layers.Dense(2, activation="softmax")(z), name="mm")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = {"x": rng.random((20, 4)), "y": rng.random((20, 3))}
    y = rng.integers(0, 2, 20)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.models.load_model(path)
    assert [type(layer).__name__ for layer in again.layers] == \
        [type(layer).__name__ for layer in model.layers]
    assert again.layers[3].kernel_regularizer.l2 == 0.1
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    h1 = model.fit(x, y, epochs=2, verbose=0).history
    h2 = again.fit(x, y, epochs=2, verbose=0).history
    np.testing.assert_allclose(h2["loss"], h1["loss"], rtol=1e-6)


def test_saving_what_cannot_be_rebuilt_is_a_clear_error(tmp_path):
    with pytest.raises(TypeError, match="save: only Sequential and functional models .*_MLP"):
        model = _MLP()
        model.build((None, 6))
        model.save(tmp_path / "s.keras")
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.ops.mean(layers.Dense(2)(inputs), axis=-1))
    with pytest.raises(TypeError, match="save: the model calls 'mean' on symbolic tensors"):
        model.save(tmp_path / "o.keras")


# ---------------------------------------------------------------- ops

def test_ops_compute_on_tensors_and_record_on_symbolic_tensors():
    ops = keras.ops
    x = np.arange(6, dtype="float32").reshape(2, 3)
    t = ge.tensor(x)
    np.testing.assert_allclose(ops.mean(t, axis=-1).numpy(), x.mean(-1))
    np.testing.assert_allclose(ops.sum(t).numpy(), x.sum())
    np.testing.assert_allclose(ops.exp(t).numpy(), np.exp(x), rtol=1e-6)
    np.testing.assert_allclose(ops.relu(t - 2).numpy(), np.maximum(x - 2, 0))
    np.testing.assert_allclose(ops.softmax(t).numpy(),
                               np.exp(x) / np.exp(x).sum(-1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(ops.matmul(t, ops.transpose(t)).numpy(), x @ x.T)
    assert ops.reshape(t, (3, 2)).shape == (3, 2) and ops.expand_dims(t, 0).shape == (1, 2, 3)
    assert ops.concatenate([t, t], axis=0).shape == (4, 3)
    np.testing.assert_allclose(ops.std(t, axis=0).numpy(), x.std(0), rtol=1e-6)
    np.testing.assert_allclose(ops.leaky_relu(-t).numpy(), -0.2 * x, rtol=1e-6)
    np.testing.assert_array_equal(ops.one_hot(ge.tensor([0, 2]), 3).numpy(), np.eye(3)[[0, 2]])
    inputs = keras.Input(shape=(3,))
    h = layers.Dense(4)(inputs)
    out = ops.concatenate([ops.mean(h, axis=-1, keepdims=True), h * 2.0 + 1.0], axis=-1)
    assert out.shape == (None, 5)
    model = keras.Model(inputs, out)
    dense = model.layers[1]
    hv = dense(ge.tensor(x)).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               np.c_[hv.mean(-1, keepdims=True), hv * 2 + 1], rtol=1e-6)


def test_backend_names():
    assert keras.backend.backend() == "gradengine"
    assert keras.backend.floatx() == "float32"
    assert keras.backend.image_data_format() == "channels_last"
    keras.utils.set_random_seed(1)
    a = keras.random.normal((3,)).numpy()
    keras.utils.set_random_seed(1)
    np.testing.assert_array_equal(keras.random.normal((3,)).numpy(), a)
    u = keras.random.uniform((1000,), minval=2.0, maxval=3.0).numpy()
    assert u.min() >= 2.0 and u.max() < 3.0


def test_functional_model_with_regularizers_under_jit_compile_equals_eager():
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 5)), rng.integers(0, 3, 64)
    losses = []
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        a, b = keras.Input(shape=(5,)), keras.Input(shape=(5,))
        h = layers.Add()([layers.Dense(8, activation="relu", kernel_regularizer="l2")(a),
                          layers.Dense(8, activity_regularizer="l1")(b)])
        model = keras.Model([a, b], layers.Dense(3, activation="softmax")(h))
        model.compile("adam", "sparse_categorical_crossentropy", jit_compile=jit)
        losses.append(model.fit([x, x[::-1]], y, epochs=3, verbose=0).history["loss"])
    assert losses[1] == losses[0]


def test_trainable_false_freezes_a_layer_in_fit_as_keras():
    rng = np.random.default_rng(0)
    x = rng.random((32, 4)).astype("float32")
    y = rng.random((32, 1)).astype("float32")
    m = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(3, name="a"),
                          layers.BatchNormalization(name="bn"), layers.Dense(1, name="b")])
    m.layers[0].trainable = False
    m.layers[1].trainable = False  # a frozen BatchNormalization runs in inference mode
    before = [w.copy() for w in m.get_weights()]
    m.compile("sgd", "mse")
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = m.get_weights()
    for i in range(6):  # a's kernel and bias, bn's gamma, beta and moving statistics
        np.testing.assert_array_equal(before[i], after[i])
    assert not np.array_equal(before[6], after[6])  # b trained
    assert [w.shape for w in m.trainable_weights] == [(3, 1), (1,)]
    assert len(m.non_trainable_weights) == 6 and m.layers[0].trainable_weights == []
    assert m.layers[0].count_params() == 15
    lines = []
    m.summary(print_fn=lines.append)
    assert "Trainable params: 4" in lines and "Non-trainable params: 27" in lines
    m.trainable = True  # unfreezes every layer inside, as Keras 3
    assert all(layer.trainable for layer in m.layers) and len(m.trainable_weights) == 6


def test_a_frozen_layer_built_later_starts_frozen():
    d = layers.Dense(2, trainable=False)
    out = d(ge.ones((1, 3)))
    assert out.shape == (1, 2) and not d.weight.requires_grad and d.trainable_weights == []
    base = keras.Sequential([layers.Dense(4), layers.Dense(4)])
    base.trainable = False
    model = keras.Sequential([base, layers.Dense(1)])
    model(ge.ones((2, 3)))
    assert [p.requires_grad for p in base.parameters()] == [False] * 4
    assert len(model.trainable_weights) == 2


def test_default_names_count_across_models_as_keras_and_survive_save_and_load(tmp_path):
    real = pytest.importorskip("keras")

    def build(k):
        k.backend.clear_session()
        a = k.Sequential([k.Input((3,)), k.layers.Dense(2), k.layers.Dense(1)])
        b = k.Sequential([k.layers.Dense(2, name="mine"), k.layers.Dropout(0.1)])
        inp = k.Input((3,))
        c = k.Model(inp, k.layers.Dense(1)(k.layers.BatchNormalization()(inp)))
        return [m.name for m in (a, b, c)] + [layer.name for m in (a, b, c)
                                              for layer in m.layers]
    assert build(keras) == build(real)
    keras.backend.clear_session()
    inp = keras.Input((3,))
    model = keras.Model(inp, layers.Dense(1)(layers.Dense(4)(inp)))
    model.compile("adam", "mse")
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)  # made at compile
    path = str(tmp_path / "m.keras")
    model.save(path)
    layers.Dense(3)  # the counters move on; the loaded model keeps the saved names
    back = keras.models.load_model(path)
    assert [layer.name for layer in back.layers] == [layer.name for layer in model.layers]
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
