"""The Keras drop-in against Keras 3's documented behaviour and source (TensorFlow is not
needed): the optimizers' update equations (keras/src/optimizers/*.py), the losses' and
metrics' documented examples, History's keys and order (pythonify_logs sorts them), the
validation split (floor(N * (1 - split))), "accuracy" resolved from the shapes
(compile_utils.is_binary_or_sparse_categorical), and the callbacks' triggering epochs
(ported from keras/src/callbacks/*_test.py)."""

import csv
import math

import numpy as np
import pytest

import gradengine as ge
from gradengine.keras import callbacks, losses, metrics, optimizers
from gradengine.keras.layers import Dense, Input
from gradengine.keras.models import Sequential

# ---------------------------------------------------------------- optimizers


def _keras_reference(name, cfg, w, grads):
    """Keras' update_step, written from keras/src/optimizers/<name>.py in float64."""
    w = w.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    vh = np.zeros_like(w)
    a = np.zeros_like(w)
    acc = np.full_like(w, cfg.get("initial_accumulator_value", 0.1))
    lr = cfg.get("learning_rate", 0.01 if name == "SGD" else 0.001)
    wd = cfg.get("weight_decay", 0.004 if name == "AdamW" else 0.0)
    for it, g in enumerate(grads):
        if wd:
            w = w - w * wd * lr
        if name == "SGD":
            mom = cfg.get("momentum", 0.0)
            if mom:
                m = m * mom - g * lr
                w = w + (m * mom - g * lr if cfg.get("nesterov") else m)
            else:
                w = w - g * lr
        elif name in ("Adam", "AdamW"):
            b1, b2, eps = cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.999), \
                cfg.get("epsilon", 1e-7)
            t = it + 1
            alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            m = m + (g - m) * (1 - b1)
            v = v + (g * g - v) * (1 - b2)
            vv = v
            if cfg.get("amsgrad"):
                vh = np.maximum(vh, v)
                vv = vh
            w = w - m * alpha / (np.sqrt(vv) + eps)
        elif name == "RMSprop":
            rho, mom, eps = cfg.get("rho", 0.9), cfg.get("momentum", 0.0), \
                cfg.get("epsilon", 1e-7)
            v = rho * v + (1 - rho) * g * g
            if cfg.get("centered"):
                a = rho * a + (1 - rho) * g
                denom = v - a * a + eps
            else:
                denom = v + eps
            inc = lr * g / np.sqrt(denom)
            if mom:
                m = mom * m + inc
                w = w - m
            else:
                w = w - inc
        elif name == "Adagrad":
            acc = acc + g * g
            w = w - lr * g / np.sqrt(acc + cfg.get("epsilon", 1e-7))
    return w


OPT_CASES = [
    ("SGD", {}), ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {}), ("Adam", {"learning_rate": 0.01, "beta_1": 0.5, "amsgrad": True}),
    ("AdamW", {}), ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {}), ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {}), ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5}),
]


@pytest.mark.parametrize("name,cfg", OPT_CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                     enumerate(OPT_CASES)])
def test_optimizer_follows_keras_update_equations(name, cfg):
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(6)]
    p = ge.nn.Parameter(w0, dtype="float64")
    opt = getattr(optimizers, name)(**cfg)
    opt.build([p])
    for g in grads:
        p.grad = ge.tensor(g, dtype="float64")
        opt.step()
    np.testing.assert_allclose(p.numpy(), _keras_reference(name, cfg, w0, grads),
                               rtol=1e-10, atol=1e-13)
    assert opt.iterations == len(grads)


def test_optimizer_defaults_are_keras_not_torch():
    assert optimizers.Adam().get_config()["epsilon"] == 1e-7
    assert optimizers.Adam().learning_rate == pytest.approx(0.001)
    assert optimizers.SGD().learning_rate == pytest.approx(0.01)
    assert optimizers.RMSprop().get_config()["rho"] == 0.9
    assert optimizers.AdamW().get_config()["weight_decay"] == 0.004
    assert ge.optim.Adam([ge.nn.Parameter(ge.ones((1,)))]).defaults["eps"] == 1e-8
    opt = optimizers.Adam(0.1)  # Keras' positional learning rate
    assert float(opt.learning_rate.numpy()) == pytest.approx(0.1)
    assert opt.learning_rate.value == pytest.approx(0.1)


def test_schedules_follow_keras_formulas():
    s = optimizers.schedules
    assert s.ExponentialDecay(0.1, 10, 0.5)(5) == pytest.approx(0.1 * 0.5 ** 0.5)
    assert s.ExponentialDecay(0.1, 10, 0.5, staircase=True)(15) == pytest.approx(0.05)
    assert s.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])(10) == 1.0
    assert s.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])(11) == 0.5
    assert s.CosineDecay(0.1, 10)(5) == pytest.approx(0.05)
    assert s.PolynomialDecay(0.1, 10)(5) == pytest.approx((0.1 - 1e-4) * 0.5 + 1e-4)
    assert s.PolynomialDecay(0.1, 10)(50) == pytest.approx(1e-4)
    assert s.InverseTimeDecay(0.1, 10, 0.5)(20) == pytest.approx(0.05)


# ---------------------------------------------------------------- losses and metrics
# (the numbers are the examples in Keras' docstrings)

def _f(t):
    return float(t.numpy()) if hasattr(t, "numpy") else float(t)


def test_loss_objects_reductions_and_sample_weights_as_keras():
    yt, yp = [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]
    assert _f(losses.MeanSquaredError()(yt, yp)) == pytest.approx(0.5)
    assert _f(losses.MeanSquaredError()(yt, yp, sample_weight=[0.7, 0.3])) == \
        pytest.approx(0.25)
    assert _f(losses.MeanSquaredError(reduction="sum")(yt, yp)) == pytest.approx(1.0)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction=None)(yt, yp).numpy(),
                               [0.5, 0.5])
    np.testing.assert_allclose(losses.mean_squared_error(yt, yp).numpy(), [0.5, 0.5])
    assert _f(losses.MeanAbsoluteError()(yt, yp)) == pytest.approx(0.5)
    yt, yp = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
    assert _f(losses.BinaryCrossentropy()(yt, yp)) == pytest.approx(0.815, abs=1e-3)
    assert _f(losses.Huber()(yt, yp)) == pytest.approx(0.155, abs=1e-6)
    y_true, logits = [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8]
    assert _f(losses.BinaryCrossentropy(from_logits=True)(y_true, logits)) == \
        pytest.approx(0.865, abs=1e-3)
    yt, yp = [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    assert _f(losses.CategoricalCrossentropy()(yt, yp)) == pytest.approx(1.177, abs=1e-3)
    assert _f(losses.SparseCategoricalCrossentropy()([1, 2], yp)) == \
        pytest.approx(1.177, abs=1e-3)
    smooth = losses.CategoricalCrossentropy(label_smoothing=0.3)
    want = -np.mean(np.sum((np.array(yt) * 0.7 + 0.1) *
                           np.log(np.clip(yp, 1e-7, 1 - 1e-7)), axis=-1))
    assert _f(smooth(yt, yp)) == pytest.approx(want, rel=1e-6)


def test_metric_objects_as_keras():
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert m.result() == pytest.approx(0.75)
    m = metrics.BinaryAccuracy()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    assert m.result() == pytest.approx(0.75)
    m = metrics.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert m.result() == pytest.approx(0.5)
    m = metrics.SparseCategoricalAccuracy()
    m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    assert m.result() == pytest.approx(0.5)
    m = metrics.MeanSquaredError()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    assert m.result() == pytest.approx(0.25)
    assert metrics.MeanAbsoluteError().name == "mean_absolute_error"


# ---------------------------------------------------------------- fit, History, evaluate

RNG = np.random.default_rng(0)
XB = RNG.standard_normal((40, 4)).astype(np.float32)
YB = (XB[:, :1] + XB[:, 1:2] > 0).astype(np.float32)
YC = RNG.integers(0, 3, size=40)


def _model(units=1, act="sigmoid"):
    ge.manual_seed(0)
    return Sequential([Input(shape=(4,)), Dense(8, activation="relu"),
                       Dense(units, activation=act)])


def test_history_keys_are_named_and_ordered_as_keras():
    m = _model()
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "mae"])
    h = m.fit(XB, YB, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    assert list(h.history) == ["accuracy", "loss", "mae", "val_accuracy", "val_loss",
                               "val_mae"]
    assert all(len(v) == 3 for v in h.history.values()) and h.epoch == [0, 1, 2]
    m.compile(optimizer="sgd", loss="mse", metrics=["acc", "mean_absolute_error"])
    h = m.fit(XB, YB, epochs=1, verbose=0)
    assert list(h.history) == ["acc", "loss", "mean_absolute_error"]
    m.compile(optimizer="sgd", loss="mse", metrics=[metrics.MeanAbsoluteError()])
    assert list(m.fit(XB, YB, epochs=1, verbose=0).history) == ["loss",
                                                                "mean_absolute_error"]
    d = m.evaluate(XB, YB, verbose=0, return_dict=True)
    assert list(d) == ["loss", "mean_absolute_error"]
    loss, mae = m.evaluate(XB, YB, verbose=0)
    assert (loss, mae) == pytest.approx((d["loss"], d["mean_absolute_error"]))


def test_validation_split_takes_keras_share_from_the_end():
    # Keras: the first floor(N * (1 - split)) samples train: 40 * 0.85 -> 34, 6 validate
    m = _model()
    m.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy")
    seen = []
    cb = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    h = m.fit(XB, YB, epochs=1, batch_size=5, validation_split=0.15, shuffle=False,
              verbose=0, callbacks=[cb])
    assert len(seen) == math.ceil(34 / 5)
    assert h.history["val_loss"][0] == pytest.approx(m.evaluate(XB[34:], YB[34:], verbose=0),
                                                     rel=1e-6)


def test_accuracy_is_resolved_from_the_shapes_as_keras():
    # multi-label sigmoid outputs with binary_crossentropy: Keras picks categorical accuracy
    y2 = np.stack([YB[:, 0], 1 - YB[:, 0]], axis=1)
    m = _model(2, "sigmoid")
    m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    acc = m.evaluate(XB, y2, verbose=0, return_dict=True)["accuracy"]
    p = m.predict(XB, verbose=0)
    assert acc == pytest.approx(np.mean(p.argmax(-1) == y2.argmax(-1)))
    # sparse labels of shape (N, 1) with mse: sparse categorical accuracy
    m = _model(3, "softmax")
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    acc = m.evaluate(XB, YC[:, None], verbose=0, return_dict=True)["accuracy"]
    assert acc == pytest.approx(np.mean(m.predict(XB, verbose=0).argmax(-1) == YC))


def test_from_logits_metrics_see_the_raw_output_as_keras():
    m = _model(1, None)
    m.compile(optimizer="sgd", loss=losses.BinaryCrossentropy(from_logits=True),
              metrics=["accuracy"])
    acc = m.evaluate(XB, YB, verbose=0, return_dict=True)["accuracy"]
    logits = m.predict(XB, verbose=0)
    assert acc == pytest.approx(np.mean((logits > 0.5) == (YB > 0.5)))


def test_compile_takes_keras_loss_functions_and_objects_in_keras_order():
    m = _model(3, "softmax")
    m.compile(optimizer="sgd", loss=losses.sparse_categorical_crossentropy)
    a = m.evaluate(XB, YC, verbose=0)
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert a == pytest.approx(m.evaluate(XB, YC, verbose=0), rel=1e-6)
    onehot = np.eye(3, dtype=np.float32)[YC]
    m.compile(optimizer="sgd", loss=losses.CategoricalCrossentropy(label_smoothing=0.2))
    got = m.evaluate(XB, onehot, verbose=0)
    p = np.clip(m.predict(XB, verbose=0), 1e-7, 1 - 1e-7)
    want = -np.mean(np.sum((onehot * 0.8 + 0.2 / 3) * np.log(p), axis=-1))
    assert got == pytest.approx(want, rel=1e-5)

    class Scaled(losses.Loss):
        def call(self, y_true, y_pred):
            return ((y_true - y_pred) ** 2).mean(axis=-1) * 2.0
    m = _model()
    m.compile(optimizer="sgd", loss=Scaled())
    m.fit(XB, YB, epochs=1, verbose=0)
    got = m.evaluate(XB, YB, verbose=0)
    assert got == pytest.approx(2 * np.mean((m.predict(XB, verbose=0) - YB) ** 2), rel=1e-5)


def test_predict_returns_numpy_and_validation_freq():
    m = _model()
    m.compile(optimizer="adam", loss="binary_crossentropy")
    out = m.predict(XB, batch_size=7, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (40, 1)
    h = m.fit(XB, YB, epochs=4, verbose=0, validation_data=(XB, YB), validation_freq=2,
              validation_batch_size=16)
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2


# ---------------------------------------------------------------- callbacks

class _Dummy:
    def __init__(self):
        self.stop_training = False
        self.weights = -1

    def get_weights(self):
        return self.weights

    def set_weights(self, w):
        self.weights = w


@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_early_stopping_patience_as_keras(patience):
    losses_ = [10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5]
    stopper = callbacks.EarlyStopping(monitor="loss", patience=patience)
    stopper.set_model(_Dummy())
    stopper.on_train_begin()
    for epoch, loss in enumerate(losses_):
        stopper.on_epoch_end(epoch, {"loss": loss})
        if stopper.model.stop_training:
            break
    assert stopper.stopped_epoch == max(patience, 1) + 2


def test_early_stopping_restores_the_best_weights_as_keras():
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    stop.set_model(_Dummy())
    stop.on_train_begin()
    for epoch, loss in enumerate([0.2, 0.15, 0.1, 0.11, 0.12]):
        stop.model.weights = epoch
        stop.on_epoch_end(epoch, {"val_loss": loss})
        if stop.model.stop_training:
            break
    stop.on_train_end()
    assert stop.model.weights == 2
    # no epoch beats the baseline: the best one is restored all the same
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=5, baseline=0.5,
                                   restore_best_weights=True)
    stop.set_model(_Dummy())
    stop.on_train_begin()
    n = 0
    for epoch, loss in enumerate([0.9, 0.8, 0.7, 0.71, 0.72, 0.73]):
        n += 1
        stop.model.weights = epoch
        stop.on_epoch_end(epoch, {"val_loss": loss})
        if stop.model.stop_training:
            break
    stop.on_train_end()
    assert n == 5 and stop.model.weights == 2
    # min_delta and mode: 0.05 better is not better than min_delta=0.1
    stop = callbacks.EarlyStopping(monitor="acc", patience=1, min_delta=0.1, mode="max")
    stop.set_model(_Dummy())
    stop.on_train_begin()
    for epoch, acc in enumerate([0.5, 0.55, 0.58]):
        stop.on_epoch_end(epoch, {"acc": acc})
        if stop.model.stop_training:
            break
    assert stop.stopped_epoch == 1
    # a NaN counts as no improvement
    stop = callbacks.EarlyStopping(monitor="loss", patience=1)
    stop.set_model(_Dummy())
    stop.on_train_begin()
    stop.on_epoch_end(0, {"loss": 1.0})
    stop.on_epoch_end(1, {"loss": float("nan")})
    assert stop.model.stop_training and stop.stopped_epoch == 1


def _lr_model():
    ge.manual_seed(0)
    m = Sequential([Input(shape=(4,)), Dense(5), Dense(2)])
    m.compile(loss="mse", optimizer=optimizers.Adam(0.1))
    return m, XB[:10], np.eye(2, dtype=np.float32)[YC[:10] % 2]


@pytest.mark.parametrize("kw,epochs,want", [
    ({"min_delta": 100}, 2, 0.01),
    ({"min_delta": 10, "min_lr": 0.005}, 4, 0.005),
    ({"min_delta": 100, "cooldown": 2}, 4, 0.001),
])
def test_reduce_lr_on_plateau_as_keras(kw, epochs, want):
    m, x, y = _lr_model()
    cb = callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", **kw)
    h = m.fit(x, y, validation_data=(x, y), callbacks=[cb], epochs=epochs, verbose=0)
    assert float(m.optimizer.learning_rate) == pytest.approx(want)
    assert "learning_rate" in h.history and list(h.history)[-1] == "learning_rate"


def test_learning_rate_scheduler_as_keras():
    m, x, y = _lr_model()
    m.fit(x, y, callbacks=[callbacks.LearningRateScheduler(lambda e: 1.0 / (2.0 + e))],
          epochs=1, verbose=0)
    assert float(m.optimizer.learning_rate) == pytest.approx(0.5)
    m.compile(loss="mse", optimizer=optimizers.Adam(0.03))
    h = m.fit(x, y, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: lr / 2)],
              epochs=2, verbose=0)
    assert float(m.optimizer.learning_rate) == pytest.approx(0.03 / 4)
    assert type(h.history["learning_rate"][0]) is float
    m.compile(loss="mse", optimizer=optimizers.Adam(
        optimizers.schedules.PolynomialDecay(0.1, decay_steps=10)))
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        m.fit(x, y, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: lr / 2)],
              epochs=2, verbose=0)
    m.compile(loss="mse", optimizer=optimizers.Adam(0.03))
    m.fit(x, y, callbacks=[callbacks.LearningRateScheduler(lambda e: np.float32(0.25))],
          epochs=1, verbose=0)  # numpy floats are floats
    assert float(m.optimizer.learning_rate) == 0.25


def test_model_checkpoint_and_csv_logger_as_keras(tmp_path):
    m = _model()
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    best = callbacks.ModelCheckpoint(tmp_path / "sub" / "best.keras", monitor="loss",
                                     save_best_only=True)
    per_epoch = callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch:02d}.weights.npz"),
                                          save_weights_only=True)
    log = callbacks.CSVLogger(tmp_path / "log.csv")
    with pytest.warns(UserWarning):  # no val_loss: Keras warns and saves anyway
        missing = callbacks.ModelCheckpoint(tmp_path / "m.keras", save_best_only=True)
        m.fit(XB, YB, epochs=2, verbose=0, callbacks=[best, per_epoch, log, missing])
    assert (tmp_path / "sub" / "best.keras").exists() and (tmp_path / "m.keras").exists()
    assert sorted(p.name for p in tmp_path.glob("w-*")) == ["w-01.weights.npz",
                                                            "w-02.weights.npz"]
    rows = list(csv.reader(open(tmp_path / "log.csv")))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"] and rows[1][3] == "NA"
    again = ge.keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(XB, verbose=0), m.predict(XB, verbose=0))


def test_callback_hooks_get_logs_dicts_and_terminate_on_nan():
    got = {}
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: got.setdefault("tb", logs),
                                  on_epoch_begin=lambda e, logs: got.setdefault("eb", logs))
    m = _model()
    m.compile(optimizer="sgd", loss="mse")
    m.fit(XB, YB, epochs=1, verbose=0, callbacks=[cb])
    assert got == {"tb": {}, "eb": {}}
    m = _model(1, None)
    m.compile(optimizer="sgd", loss="mse")
    bad = XB.copy()
    bad[5, 0] = np.nan
    batches = []
    h = m.fit(bad, YB, epochs=5, batch_size=4, verbose=0, shuffle=False,
              callbacks=[callbacks.TerminateOnNaN(), callbacks.LambdaCallback(
                  on_train_batch_end=lambda b, logs: batches.append(b))])
    assert len(h.epoch) == 1 and batches == [0, 1]


def test_weights_summary_and_count_params_as_keras():
    m = _model(3, "softmax")
    shapes = [w.shape for w in m.get_weights()]
    assert shapes == [(4, 8), (8,), (8, 3), (3,)]
    assert m.count_params() == 4 * 8 + 8 + 8 * 3 + 3
    m.set_weights([np.zeros(s) for s in shapes])
    assert float(np.abs(m.predict(XB, verbose=0) - 1 / 3).max()) < 1e-6
    lines = []
    m.summary(print_fn=lines.append)
    assert any("Total params: 67" in line for line in lines)
