"""What Keras users' own code relies on: custom metric functions (Keras' argument order,
per-sample values), ``training`` handed to custom layers by fit / evaluate / predict,
``add_loss`` -- checked by hand, and against Keras itself when it is installed."""

import importlib.util
import os

import numpy as np
import pytest

from gradengine import keras
from gradengine.keras import layers, models, ops


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    if os.environ["KERAS_BACKEND"] != "torch" or importlib.util.find_spec("keras") is None \
            or importlib.util.find_spec("torch") is None:
        pytest.skip("Keras with the torch backend is not installed")
    import keras as real
    return real


def _ones_model(k, n_in=2):
    return k.models.Sequential([k.Input((n_in,)),
                                k.layers.Dense(1, kernel_initializer="ones")])


def test_custom_metric_gets_y_true_first_and_may_return_per_sample_values():
    def first(y_true, y_pred):
        return ops.mean(y_true)

    def per_sample(y_true, y_pred):
        return ops.mean(ops.abs(y_true - y_pred), axis=-1)

    m = _ones_model(keras)
    m.compile("sgd", "mse", metrics=[first, per_sample])
    got = m.evaluate(np.ones((8, 2)), np.zeros((8, 1)), return_dict=True, verbose=0)
    assert got == pytest.approx({"loss": 4.0, "first": 0.0, "per_sample": 2.0})
    h = m.fit(np.ones((8, 2)), np.zeros((8, 1)), epochs=1, verbose=0)
    assert set(h.history) == {"loss", "first", "per_sample"}


def test_custom_metrics_as_keras():
    k = _keras()
    x = np.random.default_rng(0).standard_normal((12, 2)).astype("float32")
    y = np.random.default_rng(1).standard_normal((12, 1)).astype("float32")

    def asym(y_true, y_pred):
        return y_true - 2 * y_pred  # per element: Keras averages

    results = []
    for lib in (k, keras):
        m = _ones_model(lib)
        m.compile("sgd", "mse", metrics=[asym])
        results.append(m.evaluate(x, y, batch_size=5, return_dict=True, verbose=0))
    assert results[1] == pytest.approx(results[0], rel=1e-5)


class _Counter(layers.Layer):
    def build(self, shape):
        self.c = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, x, training=None):
        if training:
            self.c.assign_add(1.0)
        return x


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_fit_passes_training_true_and_predict_false_to_custom_layers(kind):
    c = _Counter()
    if kind == "sequential":
        m = models.Sequential([keras.Input((4,)), c, layers.Dense(1)])
    else:
        i = keras.Input((4,))
        m = keras.Model(i, layers.Dense(1)(c(i)))
    m.compile("sgd", "mse")
    x, y = np.ones((16, 4), "float32"), np.ones((16, 1), "float32")
    m.fit(x, y, batch_size=8, verbose=0)
    assert float(c.c.numpy()) == 2.0  # one per batch
    m.predict(x, verbose=0)
    m.evaluate(x, y, verbose=0)
    assert float(c.c.numpy()) == 2.0
    m.train_on_batch(x[:8], y[:8])
    assert float(c.c.numpy()) == 3.0
    m(x, training=True)
    assert float(c.c.numpy()) == 4.0


class _Penalised(layers.Layer):
    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1], 2), initializer="ones")

    def call(self, x):
        self.add_loss(0.1 * ops.sum(ops.square(self.w)))
        return ops.matmul(x, self.w)


def test_add_loss_joins_the_training_loss_and_model_losses():
    m = models.Sequential([keras.Input((3,)), _Penalised()])
    m.compile(keras.optimizers.SGD(0.01), "mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    # mse of 3.0 everywhere is 9, the penalty 0.1 * 6 = 0.6
    assert m.evaluate(x, y, verbose=0) == pytest.approx(9.6)
    h = m.fit(x, y, epochs=2, verbose=0, shuffle=False)
    assert h.history["loss"] == pytest.approx([9.6, 8.99543], rel=1e-5)
    assert len(m.losses) == 1
    m(x)
    m(x)  # the terms of the last call only
    assert len(m.losses) == 1 and len(m.layers[0].losses) == 1


def test_add_loss_as_keras():
    k = _keras()

    def make(lib):
        class P(lib.layers.Layer):
            def build(self, shape):
                self.w = self.add_weight(shape=(shape[-1], 2), initializer="ones")

            def call(self, x):
                self.add_loss(0.05 * lib.ops.sum(lib.ops.abs(self.w)))
                return lib.ops.matmul(x, self.w)
        m = lib.models.Sequential([lib.Input((3,)), P()])
        m.compile(lib.optimizers.SGD(0.05), "mse")
        return m

    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 3)).astype("float32")
    y = rng.standard_normal((10, 2)).astype("float32")
    ref = make(k).fit(x, y, epochs=3, batch_size=5, shuffle=False, verbose=0).history["loss"]
    got = make(keras).fit(x, y, epochs=3, batch_size=5, shuffle=False, verbose=0)
    assert got.history["loss"] == pytest.approx(ref, rel=1e-5)


class _BatchLog(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_test_batch_begin(self, batch, logs=None):
        self.events.append(("test_begin", batch))

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(("test_end", batch, dict(logs)))

    def on_predict_batch_begin(self, batch, logs=None):
        self.events.append(("predict_begin", batch))

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("predict_end", batch, np.shape(logs["outputs"])))


def test_test_and_predict_batch_hooks_fire_per_batch():
    m = _ones_model(keras)
    m.compile("sgd", "mse", metrics=["mae"])
    x = np.arange(20, dtype="float32").reshape(10, 2) / 10
    y = np.zeros((10, 1), "float32")
    cb = _BatchLog()
    m.evaluate(x, y, batch_size=4, callbacks=[cb], verbose=0)
    assert [e[:2] for e in cb.events] == [("test_begin", 0), ("test_end", 0),
                                          ("test_begin", 1), ("test_end", 1),
                                          ("test_begin", 2), ("test_end", 2)]
    # running means: the first batch's rows are x = (0, .1), ..., (.6, .7)
    first = cb.events[1][2]
    out = x[:4].sum(axis=1)
    assert first["loss"] == pytest.approx(float((out ** 2).mean()))
    assert first["mae"] == pytest.approx(float(out.mean()))
    assert cb.events[-1][2]["loss"] == pytest.approx(
        float((x.sum(axis=1) ** 2).mean()), rel=1e-6)
    cb.events.clear()
    m.predict(x, batch_size=4, callbacks=[cb], verbose=0)
    assert cb.events == [("predict_begin", 0), ("predict_end", 0, (4, 1)),
                         ("predict_begin", 1), ("predict_end", 1, (4, 1)),
                         ("predict_begin", 2), ("predict_end", 2, (2, 1))]
    cb.events.clear()
    m.fit(x, y, batch_size=4, validation_data=(x, y), callbacks=[cb], verbose=0)
    assert [e[0] for e in cb.events].count("test_end") == 3  # the validation batches


# ---------------------------------------------------------------- saving user code

def test_registered_custom_layers_load_without_custom_objects(tmp_path):
    @keras.saving.register_keras_serializable(package="tests_user_code")
    class Twice(layers.Layer):
        def call(self, x):
            return x * 2

    @keras.saving.register_keras_serializable()
    class Thrice(layers.Layer):
        def call(self, x):
            return x * 3

    inp = keras.Input((5,))
    m = keras.Model(inp, Thrice()(Twice()(inp)))
    m.save(str(tmp_path / "s.keras"))
    loaded = keras.models.load_model(str(tmp_path / "s.keras"))
    assert [type(la).__name__ for la in loaded.layers[1:]] == ["Twice", "Thrice"]
    np.testing.assert_array_equal(loaded.predict(np.ones((1, 5)), verbose=0),
                                  np.full((1, 5), 6.0))


def test_model_get_config_from_config_round_trip():
    inp = keras.Input((5,))
    f = keras.Model(inp, layers.Dense(2)(layers.Dense(3, activation="relu")(inp)))
    g = keras.Model.from_config(f.get_config())
    assert type(g).__name__ == "Functional"
    assert [w.shape for w in g.get_weights()] == [w.shape for w in f.get_weights()]
    g.set_weights(f.get_weights())
    x = np.random.default_rng(0).standard_normal((3, 5)).astype("float32")
    np.testing.assert_array_equal(g.predict(x, verbose=0), f.predict(x, verbose=0))
    s = models.Sequential([keras.Input((5,)), layers.Dense(3), layers.Dense(1)])
    t = models.Sequential.from_config(s.get_config())
    assert [w.shape for w in t.get_weights()] == [(5, 3), (3,), (3, 1), (1,)]
    assert s.get_config()["trainable"] is True


def test_a_model_compiled_with_custom_functions_saves_and_loads_with_them(tmp_path):
    def my_loss(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred))

    def my_metric(y_true, y_pred):
        return ops.mean(ops.abs(y_true - y_pred))

    m = models.Sequential([keras.Input((2,)), layers.Dense(1)])
    m.compile("adam", loss=my_loss, metrics=[my_metric])
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    m.fit(x, y, verbose=0)
    path = str(tmp_path / "c.keras")
    m.save(path)
    with pytest.raises(ValueError, match="my_"):
        keras.models.load_model(path)  # as Keras: the functions must be given
    bare = keras.models.load_model(path, compile=False)
    np.testing.assert_array_equal(bare.predict(x, verbose=0), m.predict(x, verbose=0))
    full = keras.models.load_model(path, custom_objects={"my_loss": my_loss,
                                                         "my_metric": my_metric})
    assert full.evaluate(x, y, return_dict=True, verbose=0) == pytest.approx(
        m.evaluate(x, y, return_dict=True, verbose=0))
    m.compile("adam", loss=lambda t, p: ops.mean(t - p))
    with pytest.raises(TypeError, match="lambda"):
        m.save(path)


def test_feature_extractor_from_a_nested_sequential_output():
    base = models.Sequential([keras.Input((6,)), layers.Dense(4), layers.Dense(3)],
                             name="base")
    inp = keras.Input((6,))
    m = keras.Model(inp, layers.Dense(1)(base(inp)))
    fe = keras.Model(m.input, m.get_layer("base").output)  # as Keras: the call inside m
    x = np.random.default_rng(0).standard_normal((2, 6)).astype("float32")
    np.testing.assert_allclose(fe.predict(x, verbose=0), base.predict(x, verbose=0),
                               rtol=1e-6)
    assert base.input is m.input


def test_layers_answer_keras_dtype_attributes():
    d = layers.Dense(3)
    assert (d.dtype, d.compute_dtype, d.variable_dtype) == ("float32",) * 3
    assert d.dtype_policy.name == "float32" and d.input_spec is None
    m = models.Sequential([keras.Input((3,)), layers.Dense(2)])
    assert m.dtype == "float32"
    m.to(dtype="float64")
    assert m.layers[0].dtype == "float64"


def test_from_config_refuses_a_config_of_the_other_model_kind():
    s = models.Sequential([keras.Input((5,)), layers.Dense(3)])
    inp = keras.Input((5,))
    f = keras.Model(inp, layers.Dense(2)(inp))
    with pytest.raises(TypeError, match="Functional"):
        models.Sequential.from_config(f.get_config())
    assert type(keras.Model.from_config(f.get_config())).__name__ == "Functional"
    assert len(models.Sequential.from_config(s.get_config()).layers) == 1


def test_keras_spellings_and_errors_of_the_loop():
    m = models.Sequential([keras.Input((2,)),
                           layers.Dense(1, activation="sigmoid", kernel_initializer="ones")])
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    m.compile("sgd", "bce", metrics=["bce"])
    got = m.evaluate(x, y, return_dict=True, verbose=0)
    assert got["loss"] == pytest.approx(-np.log(1 / (1 + np.exp(-2.0))), rel=1e-5)
    assert got["bce"] == pytest.approx(got["loss"], rel=1e-5)
    assert keras.losses.get("bce") is keras.losses.binary_crossentropy
    assert keras.losses.get("MSE") is keras.losses.mean_squared_error
    with pytest.raises(ValueError, match="class_weight"):
        m.fit(x, y, class_weight={0: 1.0}, sample_weight=np.ones(4), verbose=0)
    fresh = models.Sequential([keras.Input((2,)), layers.Dense(1)])
    for call in (lambda: fresh.fit(x, y, verbose=0), lambda: fresh.evaluate(x, y, verbose=0),
                 lambda: fresh.train_on_batch(x, y)):
        with pytest.raises(ValueError, match="compile"):  # Keras' type (still RuntimeError)
            call()
    with pytest.raises(ValueError, match="2D inputs"):
        keras.metrics.R2Score().update_state(np.ones(3), np.ones(3))


def _weight_paths(lib):
    la = lib.layers
    m = lib.Sequential([lib.Input((8,), dtype="int32"), la.Embedding(10, 4), la.Conv1D(3, 2),
                        la.LayerNormalization(), la.GRU(2), la.Dense(2, name="d"),
                        la.BatchNormalization()])
    i = lib.Input((3,))
    f = lib.Model(i, la.Dense(2, name="e")(i))
    return ([v.name for v in m.weights], [v.path for v in m.weights],
            [v.trainable for v in m.weights], [v.path for v in f.weights],
            m.layers[4].kernel.name)


def test_weights_answer_keras_name_path_and_trainable():
    names, paths, trainable, fpaths, kname = _weight_paths(keras)
    assert names[:3] == ["embeddings", "kernel", "bias"] and kname == "kernel"
    paths = [_unnumbered(p) for p in paths]
    assert paths[0] == "sequential/embedding/embeddings"
    assert paths[5] == "sequential/gru/gru_cell/kernel"
    assert names[-2:] == ["moving_mean", "moving_variance"]
    assert trainable[-2:] == [False, False] and all(trainable[:-2])
    assert fpaths == ["e/kernel", "e/bias"]  # a functional model's layers: their own scope
    import gradengine as ge
    assert ge.ones(2).name is None  # any other tensor: None, as torch's t.name


def test_weight_names_as_keras():
    k = _keras()
    mine, theirs = _weight_paths(keras), _weight_paths(k)
    assert mine[0] == theirs[0] and mine[2] == theirs[2] and mine[4] == theirs[4]
    # Keras numbers default names per session (dense_3): compare them unnumbered
    assert [_unnumbered(p) for p in mine[1]] == [_unnumbered(p) for p in theirs[1]]
    assert mine[3] == theirs[3]


def _unnumbered(path):
    import re
    return re.sub(r"_\d+(?=/|$)", "", path)


def test_dense_activation_is_a_named_function_and_can_be_replaced():
    d = layers.Dense(3)
    assert d.activation.__name__ == "linear" and callable(d.activation)
    relu = layers.Dense(3, activation="relu").activation
    assert relu == "relu" and relu.__name__ == "relu"
    np.testing.assert_array_equal(relu(keras.ops.array([-1.0, 2.0])).numpy(), [0.0, 2.0])
    m = models.Sequential([keras.Input((2,)), layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(0).standard_normal((4, 2)).astype("float32")
    probs = m.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    m.layers[-1].activation = keras.activations.linear  # the Grad-CAM idiom: logits out
    logits = m.predict(x, verbose=0)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True), probs, rtol=1e-5)


SHAPE_CASES = [("Conv1D", dict(filters=4, kernel_size=3), (2, 9, 4), (2, 7, 4)),
               ("Conv2D", dict(filters=3, kernel_size=3, padding="same", strides=2),
                (None, 8, 8, 2), (None, 4, 4, 3)),
               ("Flatten", {}, (None, 3, 4), (None, 12)),
               ("MaxPooling2D", {}, (None, 8, 8, 3), (None, 4, 4, 3)),
               ("GlobalAveragePooling1D", {}, (None, 5, 3), (None, 3)),
               ("Reshape", dict(target_shape=(2, 6)), (None, 12), (None, 2, 6)),
               ("UpSampling2D", {}, (None, 4, 4, 1), (None, 8, 8, 1)),
               ("Dense", dict(units=5), (None, 7), (None, 5)),
               ("BatchNormalization", {}, (None, 4), (None, 4))]


@pytest.mark.parametrize("name, kw, shape, expected", SHAPE_CASES,
                         ids=[c[0] for c in SHAPE_CASES])
def test_compute_output_shape_has_the_batch_axis_as_keras(name, kw, shape, expected):
    assert tuple(getattr(layers, name)(**kw).compute_output_shape(shape)) == expected


def test_compute_output_shape_of_layers_without_a_rule_probes_them():
    assert layers.LSTM(4, return_sequences=True).compute_output_shape((None, 6, 3)) == \
        (None, 6, 4)
    assert layers.Bidirectional(layers.GRU(3)).compute_output_shape((None, 5, 2)) == (None, 6)
    assert layers.MultiHeadAttention(2, 4).compute_output_shape((None, 5, 8), (None, 3, 8)) \
        == (None, 5, 8)
    assert layers.Concatenate().compute_output_shape([(None, 2), (None, 3)]) == (None, 5)


def test_compute_output_shape_as_keras():
    k = _keras()
    for name, kw, shape, _ in SHAPE_CASES:
        assert tuple(getattr(layers, name)(**kw).compute_output_shape(shape)) == tuple(
            getattr(k.layers, name)(**kw).compute_output_shape(shape)), name


def test_dense_takes_training_and_passes_a_mask_on():
    import gradengine as ge
    ids = np.array([[1, 2, 0, 0, 0], [3, 1, 2, 4, 0]])
    h = layers.Dense(3)(layers.Embedding(8, 4, mask_zero=True)(ge.tensor(ids)),
                        training=False)
    np.testing.assert_array_equal(h._keras_mask.numpy(), ids != 0)


def test_discretization_gives_int32_as_keras():
    out = layers.Discretization(bin_boundaries=[0.0, 1.0])(np.array([-1.0, 0.5, 2.0]))
    assert out.dtype == np.int32 and out.tolist() == [0, 1, 2]


def test_category_encoding_of_a_rank_1_input_is_one_sample_as_keras():
    x = np.array([0, 3, 2, 3])
    assert layers.CategoryEncoding(4, "multi_hot")(x).tolist() == [1.0, 0.0, 1.0, 1.0]
    assert layers.CategoryEncoding(4, "count")(x).tolist() == [1.0, 0.0, 1.0, 2.0]
    assert layers.CategoryEncoding(4, "one_hot")(x).shape == (4, 4)
    assert layers.CategoryEncoding(4, "multi_hot")(np.array([[0, 3], [2, 3]])).shape == (2, 4)
