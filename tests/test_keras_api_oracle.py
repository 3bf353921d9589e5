"""gradengine.keras against real Keras 3 (torch backend): the extra losses, the stateful
metrics after several weighted updates, the optimizers step for step, the schedules,
activations, backend dtype rules, pad_sequences, and multi-output training."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

import gradengine as ge  # noqa: E402
from gradengine import keras as gk  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _close(a, b, rtol=2e-5, atol=2e-6):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64),
                               np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol)


def _data(kind, rng):
    if kind == "bin":
        return ((rng.random((6, 3)) > 0.5).astype("float32"),
                rng.random((6, 3)).astype("float32") * 0.9 + 0.05)
    if kind == "cat":
        p = rng.random((6, 5)).astype("float32")
        return np.eye(5, dtype="float32")[rng.integers(0, 5, 6)], p / p.sum(1, keepdims=True)
    if kind == "sparse":
        p = rng.random((6, 5)).astype("float32")
        return rng.integers(0, 5, 6), p / p.sum(1, keepdims=True)
    return rng.random((6, 2)).astype("float32") + 0.1, rng.random((6, 2)).astype("float32") + 0.1


LOSSES = [("Hinge", {}, "bin"), ("SquaredHinge", {}, "bin"), ("CategoricalHinge", {}, "cat"),
          ("KLDivergence", {}, "cat"), ("LogCosh", {}, "reg"), ("Poisson", {}, "reg"),
          ("CosineSimilarity", {}, "reg"), ("MeanAbsolutePercentageError", {}, "reg"),
          ("MeanSquaredLogarithmicError", {}, "reg"),
          ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "gamma": 1.5}, "bin"),
          ("BinaryFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "bin"),
          ("CategoricalFocalCrossentropy", {"label_smoothing": 0.2}, "cat"),
          ("Dice", {}, "bin"), ("Dice", {"axis": 1}, "bin"), ("Tversky", {"alpha": 0.3}, "bin"),
          ("CategoricalGeneralizedCrossEntropy", {"q": 0.7}, "sparse")]


@pytest.mark.parametrize("name,kw,kind", LOSSES)
def test_losses_equal_keras(name, kw, kind):
    rng = np.random.default_rng(0)
    yt, yp = _data(kind, rng)
    sw = rng.random(6).astype("float32")
    for reduction in ("sum_over_batch_size", "sum", None):
        k = getattr(keras.losses, name)(reduction=reduction, **kw)
        g = getattr(gk.losses, name)(reduction=reduction, **kw)
        _close(k(yt, yp), g(yt, yp).numpy())
        _close(k(yt, yp, sample_weight=sw), g(yt, yp, sample_weight=sw).numpy())
    assert g.name == k.name


METRICS = [("Mean", {}, "val"), ("Precision", {}, "bin"), ("Recall", {"top_k": 2}, "cat"),
           ("Precision", {"thresholds": [0.3, 0.6], "class_id": 1}, "bin"),
           ("AUC", {}, "bin"), ("AUC", {"curve": "PR"}, "bin"),
           ("AUC", {"multi_label": True, "num_thresholds": 50}, "bin"),
           ("AUC", {"summation_method": "majoring"}, "bin"), ("TrueNegatives", {}, "bin"),
           ("FalseNegatives", {"thresholds": [0.2, 0.7]}, "bin"),
           ("TopKCategoricalAccuracy", {"k": 2}, "cat"),
           ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
           ("RootMeanSquaredError", {}, "reg"), ("MeanAbsolutePercentageError", {}, "reg"),
           ("BinaryCrossentropy", {}, "bin"), ("CategoricalCrossentropy", {}, "cat"),
           ("SparseCategoricalCrossentropy", {}, "sparse"), ("KLDivergence", {}, "cat"),
           ("CosineSimilarity", {}, "reg"), ("LogCoshError", {}, "reg"),
           ("CategoricalHinge", {}, "cat"), ("F1Score", {}, "cat"),
           ("FBetaScore", {"beta": 2.0, "average": "weighted"}, "cat"),
           ("F1Score", {"average": "micro", "threshold": 0.5}, "bin"), ("R2Score", {}, "reg"),
           ("PearsonCorrelation", {}, "reg"), ("BinaryAccuracy", {"threshold": 0.3}, "bin"),
           ("OneHotMeanIoU", {"num_classes": 5}, "cat"),
           ("SensitivityAtSpecificity", {"specificity": 0.5}, "bin"),
           ("RecallAtPrecision", {"precision": 0.55, "class_id": 1}, "bin")]


@pytest.mark.parametrize("name,kw,kind", METRICS)
def test_metrics_equal_keras_after_weighted_updates(name, kw, kind):
    rng = np.random.default_rng(1)
    k, g = getattr(keras.metrics, name)(**kw), getattr(gk.metrics, name)(**kw)
    for i in range(3):
        sw = rng.random(6).astype("float32") if i else None
        if kind == "val":
            v = rng.random((6, 2)).astype("float32")
            k.update_state(v, sample_weight=sw)
            g.update_state(v, sample_weight=sw)
        else:
            yt, yp = _data(kind, rng)
            k.update_state(yt, yp, sample_weight=sw)
            g.update_state(yt, yp, sample_weight=sw)
    _close(k.result(), np.asarray(g.result()))
    k.reset_state()
    g.reset_state()
    # Keras numbers a second instance's default name ("precision_1"); gradengine does not
    assert k.name.startswith(g.name)


def test_iou_metrics_equal_keras():
    rng = np.random.default_rng(2)
    k, g = keras.metrics.MeanIoU(num_classes=4, ignore_class=0), \
        gk.metrics.MeanIoU(num_classes=4, ignore_class=0)
    kb, gb = keras.metrics.BinaryIoU(threshold=0.4), gk.metrics.BinaryIoU(threshold=0.4)
    for _ in range(3):
        a, b = rng.integers(0, 4, 10), rng.integers(0, 4, 10)
        k.update_state(a, b)
        g.update_state(a, b)
        t, p = (rng.random(10) > 0.5).astype("float32"), rng.random(10).astype("float32")
        kb.update_state(t, p)
        gb.update_state(t, p)
    _close(k.result(), g.result())
    _close(kb.result(), gb.result())


OPTIMIZERS = [("Adadelta", {"learning_rate": 0.5}), ("Adamax", {}), ("Nadam", {}),
              ("Lion", {}), ("Lamb", {}), ("Adafactor", {"learning_rate": 0.1}),
              ("Ftrl", {"l1_regularization_strength": 0.01, "l2_regularization_strength": 0.01,
                        "beta": 0.1}),
              ("Adam", {"clipnorm": 0.5}), ("SGD", {"global_clipnorm": 1.0, "momentum": 0.9}),
              ("RMSprop", {"clipvalue": 0.3}), ("Nadam", {"weight_decay": 0.05}),
              ("Adam", {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 2}),
              ("SGD", {"learning_rate": keras.optimizers.schedules.CosineDecayRestarts(
                  0.1, 2, m_mul=0.5)})]


@pytest.mark.parametrize("name,kw", OPTIMIZERS)
def test_optimizers_equal_keras_step_for_step(name, kw):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,)]
    init = [rng.standard_normal(s).astype("float32") for s in shapes]
    grads = [[rng.standard_normal(s).astype("float32") for s in shapes] for _ in range(5)]
    gkw = dict(kw)
    if "learning_rate" in kw and not isinstance(kw["learning_rate"], float):
        gkw["learning_rate"] = gk.optimizers.schedules.CosineDecayRestarts(0.1, 2, m_mul=0.5)
    ko, go = getattr(keras.optimizers, name)(**kw), getattr(gk.optimizers, name)(**gkw)
    kv = [keras.Variable(a.copy()) for a in init]
    gv = [ge.tensor(a.copy(), requires_grad=True) for a in init]
    go.build(gv)
    for g in grads:
        ko.apply([keras.ops.convert_to_tensor(x) for x in g], kv)
        for t, x in zip(gv, g):
            t.grad = ge.tensor(x)
        go.step()
        for a, b in zip(kv, gv):
            _close(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    missing = set(ko.get_config()) - set(go.get_config())
    assert not missing


def test_schedules_equal_keras():
    pairs = [(keras.optimizers.schedules.CosineDecayRestarts(0.1, 7, t_mul=2.0, m_mul=0.5,
                                                              alpha=0.1),
              gk.optimizers.schedules.CosineDecayRestarts(0.1, 7, t_mul=2.0, m_mul=0.5,
                                                           alpha=0.1)),
             (keras.optimizers.schedules.PolynomialDecay(0.1, 10, 0.01, 2.0, True),
              gk.optimizers.schedules.PolynomialDecay(0.1, 10, 0.01, 2.0, True)),
             (keras.optimizers.schedules.InverseTimeDecay(0.1, 10, 0.5, True),
              gk.optimizers.schedules.InverseTimeDecay(0.1, 10, 0.5, True))]
    for k, g in pairs:
        _close([float(k(s)) for s in range(40)], [g(s) for s in range(40)], rtol=1e-6)
        assert k.get_config() == g.get_config()


ACTIVATIONS = [("celu", {"alpha": 0.5}), ("glu", {}), ("hard_shrink", {}), ("hard_sigmoid", {}),
               ("hard_silu", {}), ("hard_tanh", {}), ("log_sigmoid", {}), ("log_softmax", {}),
               ("mish", {}), ("relu6", {}), ("selu", {}), ("soft_shrink", {"threshold": 1.0}),
               ("softplus", {}), ("softsign", {}), ("sparse_plus", {}), ("sparse_sigmoid", {}),
               ("squareplus", {"b": 2}), ("tanh_shrink", {}),
               ("threshold", {"threshold": 0.5, "default_value": -1.0}), ("sparsemax", {}),
               ("relu", {"negative_slope": 0.1, "max_value": 2.0, "threshold": 0.5})]


@pytest.mark.parametrize("name,kw", ACTIVATIONS)
def test_activations_equal_keras(name, kw):
    x = np.random.default_rng(0).standard_normal((4, 6)).astype("float32") * 2
    _close(getattr(keras.activations, name)(x, **kw),
           getattr(gk.activations, name)(x, **kw).numpy(), rtol=1e-5, atol=1e-6)


def test_backend_result_type_and_pad_sequences_equal_keras():
    for args in [("int32", "float16"), ("int8", "uint8"), ("float32", "float64"),
                 ("uint32", "int32"), ("uint64", "int64"), ("bfloat16", "float16"),
                 ("bool", "int8"), ("int32", float), ("bfloat16", int)]:
        assert gk.backend.result_type(*args) == keras.backend.result_type(*args), args
    seqs = [[1, 2, 3, 4], [5], [], [6, 7]]
    for kw in [{}, {"maxlen": 3, "padding": "post"}, {"maxlen": 2, "truncating": "post",
                                                      "value": -1.0, "dtype": "float32"}]:
        a = keras.utils.pad_sequences(seqs, **kw)
        b = gk.utils.pad_sequences(seqs, **kw)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def _heads(lib):
    inp = lib.Input((4,))
    h = lib.layers.Dense(5, activation="relu")(inp)
    return lib.Model(inp, [lib.layers.Dense(1, name="reg")(h),
                           lib.layers.Dense(3, activation="softmax", name="cls")(h)])


def test_multi_output_training_equals_keras():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 4)).astype("float32")
    y1 = rng.standard_normal((24, 1)).astype("float32")
    y2 = rng.integers(0, 3, 24)
    keras.utils.set_random_seed(0)
    km, gm = _heads(keras), _heads(gk)
    gm.set_weights([np.asarray(w) for w in km.get_weights()])
    for m, lib in ((km, keras), (gm, gk)):
        m.compile(lib.optimizers.SGD(0.05), loss=["mse", "sparse_categorical_crossentropy"],
                  loss_weights=[1.0, 0.5], metrics=[["mae"], ["accuracy"]])
    kh = km.fit(X, [y1, y2], batch_size=8, epochs=2, shuffle=False, verbose=0,
                validation_data=(X[:8], [y1[:8], y2[:8]])).history
    gh = gm.fit(X, [y1, y2], batch_size=8, epochs=2, shuffle=False, verbose=0,
                validation_data=(X[:8], [y1[:8], y2[:8]])).history
    assert sorted(kh) == sorted(gh)
    for key in kh:
        _close(kh[key], gh[key], rtol=1e-4, atol=1e-5)
    _close(km.evaluate(X, [y1, y2], verbose=0), gm.evaluate(X, [y1, y2], verbose=0),
           rtol=1e-4, atol=1e-5)
    kt = km.train_on_batch(X, [y1, y2], return_dict=True)
    gt = gm.train_on_batch(X, [y1, y2], return_dict=True)
    assert sorted(kt) == sorted(gt)
    for key in kt:
        _close(kt[key], gt[key], rtol=1e-4, atol=1e-5)


def test_compiled_stateful_metrics_equal_keras():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5)).astype("float32")
    y = (rng.random((40, 1)) > 0.5).astype("float32")

    def build(lib):
        inp = lib.Input((5,))
        h = lib.layers.Dense(4, activation="relu")(inp)
        return lib.Model(inp, lib.layers.Dense(1, activation="sigmoid")(h))
    keras.utils.set_random_seed(1)
    km, gm = build(keras), build(gk)
    gm.set_weights([np.asarray(w) for w in km.get_weights()])
    for m, lib in ((km, keras), (gm, gk)):
        m.compile(lib.optimizers.Nadam(0.01), loss="binary_focal_crossentropy",
                  metrics=["auc", lib.metrics.Precision(name="prec"),
                           lib.metrics.Recall(name="rec"),
                           "accuracy"])
    kh = km.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                validation_data=(X[:10], y[:10])).history
    gh = gm.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                validation_data=(X[:10], y[:10])).history
    assert sorted(kh) == sorted(gh)
    for key in kh:
        _close(kh[key], gh[key], rtol=1e-4, atol=1e-5)


def test_weighted_metrics_equal_keras():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 3)).astype("float32")
    y = (rng.random((16, 1)) > 0.5).astype("float32")
    w = rng.random(16).astype("float32")
    keras.utils.set_random_seed(2)
    km = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    gm = gk.Sequential([gk.Input((3,)), gk.layers.Dense(1, activation="sigmoid")])
    gm.set_weights([np.asarray(v) for v in km.get_weights()])
    for m, lib in ((km, keras), (gm, gk)):
        m.compile("sgd", "binary_crossentropy", metrics=["accuracy", "mae"],
                  weighted_metrics=["accuracy", lib.metrics.AUC(name="wauc"), "mse"])
    kh = km.fit(X, y, sample_weight=w, epochs=1, verbose=0, batch_size=8, shuffle=False)
    gh = gm.fit(X, y, sample_weight=w, epochs=1, verbose=0, batch_size=8, shuffle=False)
    assert sorted(kh.history) == sorted(gh.history)
    for key in kh.history:
        _close(kh.history[key], gh.history[key], rtol=1e-5)
    ke = km.evaluate(X, y, sample_weight=w, verbose=0, return_dict=True)
    ge_ = gm.evaluate(X, y, sample_weight=w, verbose=0, return_dict=True)
    assert sorted(ke) == sorted(ge_)
    for key in ke:
        _close(ke[key], ge_[key], rtol=1e-5)


def test_ctc_equals_keras():
    rng = np.random.default_rng(0)
    yp = rng.standard_normal((3, 8, 5)).astype("float32")
    yt = np.array([[1, 2, 2, 0], [3, 0, 0, 0], [4, 1, 3, 2]])
    sw = np.array([1.0, 0.5, 2.0], dtype="float32")
    _close(keras.losses.ctc(yt, yp), gk.losses.ctc(yt, yp).numpy(), rtol=1e-5)
    _close(keras.losses.CTC()(yt, yp, sample_weight=sw),
           gk.losses.CTC()(yt, yp, sample_weight=sw).numpy(), rtol=1e-5)
