"""gradengine.keras beyond the core: the extra losses, stateful metrics, optimizers,
schedules, callbacks, activations, initializers, utils, saving, backend, random and
multi-output training -- behaviour, round trips and errors, without Keras installed."""

import json
import os

import numpy as np
import pytest

import gradengine as ge
from gradengine import keras
from gradengine.keras import callbacks, layers, losses, metrics, optimizers, utils


def _xy(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype("float32")
    return X, X.sum(axis=1, keepdims=True).astype("float32")


def _regressor(seed=0):
    ge.manual_seed(seed)
    return keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="relu"),
                             layers.Dense(1)])


# ---------------------------------------------------------------- losses

def test_hinge_family_by_hand():
    yt, yp = np.array([[0.0, 1.0]]), np.array([[0.3, -0.4]], dtype="float32")
    # 0/1 labels become -1/1: max(1 - y p, 0) = [1.3, 1.4]
    assert float(losses.hinge(yt, yp)[0]) == pytest.approx(1.35, rel=1e-6)
    assert float(losses.squared_hinge(yt, yp)[0]) == pytest.approx((1.69 + 1.96) / 2, rel=1e-6)
    # neg = max((1-y) p) = 0.3, pos = sum(y p) = -0.4: max(0.3 + 0.4 + 1, 0)
    assert float(losses.categorical_hinge(yt, yp)[0]) == pytest.approx(1.7, rel=1e-6)


def test_loss_reductions_and_sample_weight():
    yt = np.array([[1.0, 2.0], [3.0, 4.0]])
    yp = np.array([[1.5, 2.0], [2.0, 5.0]], dtype="float32")
    per = losses.LogCosh(reduction=None)(yt, yp).numpy()
    assert per.shape == (2,)
    w = np.array([2.0, 0.5])
    assert float(losses.LogCosh(reduction="sum")(yt, yp, sample_weight=w)) == \
        pytest.approx(float((per * w).sum()), rel=1e-6)
    assert float(losses.LogCosh()(yt, yp, sample_weight=w)) == \
        pytest.approx(float((per * w).sum() / 2), rel=1e-6)
    with pytest.raises(ValueError, match="reduction"):
        losses.Poisson(reduction="avg")


def test_dice_tversky_axis_none_give_one_number_and_keras_formula():
    yt = np.array([[1.0, 0.0, 1.0]])
    yp = np.array([[0.5, 0.5, 1.0]], dtype="float32")
    d = losses.dice(yt, yp)
    assert d.ndim == 0 and float(d) == pytest.approx(1 - 2 * 1.5 / (2 + 2 + 1e-7), rel=1e-6)
    assert float(losses.Tversky(alpha=0.5, beta=0.5)(yt, yp)) == pytest.approx(
        1 - 1.5 / (1.5 + 0.5 * 0.5 + 0.5 * 0.5 + 1e-7), rel=1e-6)
    assert losses.Dice(axis=1)(yt, yp).ndim == 0


@pytest.mark.parametrize("cls", [losses.Hinge, losses.KLDivergence, losses.LogCosh,
                                 losses.Poisson, losses.CosineSimilarity,
                                 losses.MeanAbsolutePercentageError,
                                 losses.MeanSquaredLogarithmicError,
                                 losses.BinaryFocalCrossentropy,
                                 losses.CategoricalFocalCrossentropy, losses.Dice])
def test_new_losses_are_differentiable(cls):
    rng = np.random.default_rng(1)
    yp = ge.tensor(rng.uniform(0.1, 0.9, (4, 3)), requires_grad=True)
    yt = (rng.random((4, 3)) > 0.5).astype("float64")
    cls()(yt, yp).backward()
    assert yp.grad is not None and np.isfinite(yp.grad.numpy()).all()


def test_losses_get_serialize_deserialize_round_trip():
    assert losses.get("hinge") is losses.hinge and losses.get("mape") is \
        losses.mean_absolute_percentage_error
    obj = losses.get("BinaryFocalCrossentropy")
    assert isinstance(obj, losses.BinaryFocalCrossentropy)
    cfg = losses.serialize(losses.Tversky(alpha=0.3, name="tv"))
    assert cfg["class_name"] == "Tversky" and cfg["module"] == "keras.losses"
    back = losses.deserialize(json.loads(json.dumps(cfg)))
    assert back.get_config() == losses.Tversky(alpha=0.3, name="tv").get_config()
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get("no_such_loss")
    logits = ge.tensor(np.random.default_rng(0).standard_normal((2, 6, 4)), requires_grad=True)
    loss = losses.CTC()(np.array([[1, 2, 0], [3, 3, 1]]), logits)
    loss.backward()
    assert loss.ndim == 0 and np.isfinite(logits.grad.numpy()).all()
    with pytest.raises(ValueError, match="max_length"):
        losses.ctc(np.ones(3), logits)


def test_compile_takes_the_new_loss_names_and_trains():
    X, y = _xy()
    m = _regressor()
    m.compile("adam", loss="log_cosh")
    hist = m.fit(X, y, epochs=3, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
    m.compile("adam", loss=losses.huber)
    assert np.isfinite(m.evaluate(X, y, verbose=0))


# ---------------------------------------------------------------- metrics

def test_precision_recall_by_hand_with_state_across_updates():
    p, r = metrics.Precision(), metrics.Recall()
    for m in (p, r):
        m.update_state([1, 0, 1, 1], [0.9, 0.8, 0.2, 0.7])
        m.update_state([0, 1], [0.1, 0.6])
    # tp = 3 (0.9, 0.7, 0.6), fp = 1 (0.8), fn = 1 (0.2)
    assert float(p.result()) == pytest.approx(0.75) and float(r.result()) == pytest.approx(0.75)
    p.reset_state()
    assert float(p.result()) == 0.0
    pk = metrics.Precision(thresholds=[0.5, 0.85])
    pk.update_state([1, 0, 1], [0.9, 0.8, 0.6])
    np.testing.assert_allclose(pk.result().numpy(), [2 / 3, 1.0])


def test_auc_of_separable_scores_is_one_and_of_reversed_is_zero():
    y = np.array([0, 0, 1, 1])
    a = metrics.AUC()
    a.update_state(y, [0.1, 0.2, 0.8, 0.9])
    assert float(a.result()) == pytest.approx(1.0)
    b = metrics.AUC(curve="PR")
    b.update_state(y, [0.1, 0.2, 0.8, 0.9])
    assert float(b.result()) == pytest.approx(1.0, abs=1e-6)
    c = metrics.AUC()
    c.update_state(y, [0.9, 0.8, 0.2, 0.1])
    assert float(c.result()) == pytest.approx(0.0, abs=1e-6)


def test_mean_and_sum_with_sample_weight():
    m = metrics.Mean()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert float(m.result()) == 2.0
    s = metrics.Sum()
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert float(s.result()) == 4.0
    rmse = metrics.RootMeanSquaredError()
    rmse.update_state([[0.0], [0.0]], [[3.0], [4.0]])
    assert float(rmse.result()) == pytest.approx(np.sqrt(12.5))


def test_top_k_f1_r2_iou_values():
    t = metrics.TopKCategoricalAccuracy(k=2)
    t.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.5, 0.4], [0.05, 0.01, 0.9]])
    assert float(t.result()) == 0.5
    f1 = metrics.F1Score(average="micro", threshold=0.5)
    f1.update_state(np.array([[1, 0], [0, 1]], "float32"), np.array([[0.9, 0.2], [0.8, 0.1]]))
    assert float(f1.result()) == pytest.approx(2 * 0.5 * 0.5 / (0.5 + 0.5), rel=1e-5)
    r2 = metrics.R2Score()
    r2.update_state(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [2.0], [3.0]]))
    assert float(r2.result()) == pytest.approx(1.0)
    iou = metrics.MeanIoU(num_classes=2)
    iou.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    assert float(iou.result()) == pytest.approx(1 / 3)


def test_stateful_metrics_in_compile_by_name_and_object():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 3)).astype("float32")
    y = (X[:, :1] > 0).astype("float32")
    ge.manual_seed(0)
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy",
              metrics=["auc", metrics.Precision(name="prec"), "accuracy"])
    h = m.fit(X, y, epochs=2, batch_size=8, verbose=0, validation_split=0.25).history
    assert sorted(h) == ["accuracy", "auc", "loss", "prec", "val_accuracy", "val_auc",
                         "val_loss", "val_prec"]
    # the epoch's value is the metric over all its batches: evaluate agrees with a
    # fresh metric fed the whole set
    logs = m.evaluate(X, y, verbose=0, return_dict=True)
    a = metrics.AUC()
    a.update_state(y, m.predict(X, verbose=0))
    assert logs["auc"] == pytest.approx(float(a.result()), rel=1e-6)
    with pytest.raises(ValueError, match="unknown metric"):
        m.compile("adam", "mse", metrics=["no_such_metric"])


def test_metrics_get_and_round_trip():
    assert isinstance(metrics.get("precision"), metrics.Precision)
    assert isinstance(metrics.get("mape"), metrics.MeanAbsolutePercentageError)
    cfg = metrics.serialize(metrics.AUC(num_thresholds=50, curve="PR", name="pr"))
    back = metrics.deserialize(json.loads(json.dumps(cfg)))
    assert back.get_config() == metrics.AUC(num_thresholds=50, curve="PR",
                                            name="pr").get_config()
    with pytest.raises(ValueError, match="could not interpret"):
        metrics.get("nope")


# ---------------------------------------------------------------- optimizers

@pytest.mark.parametrize("name", ["adadelta", "adamax", "nadam", "lion", "ftrl",
                                  "adafactor", "lamb"])
def test_new_optimizers_descend_a_quadratic(name):
    p = ge.tensor([2.0, -3.0], requires_grad=True)
    lr = {"adadelta": 1.0, "ftrl": 0.5, "adafactor": 0.5}.get(name, 0.05)
    opt = optimizers.get(name)
    opt.learning_rate = lr
    opt.build([p])
    start = float((p * p).sum())
    for _ in range(20):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert float((p * p).sum()) < start and opt.iterations == 20


def test_clipvalue_and_global_clipnorm_bound_the_step():
    p = ge.tensor([0.0, 0.0], requires_grad=True)
    opt = optimizers.SGD(learning_rate=1.0, clipvalue=0.1)
    opt.build([p])
    p.grad = ge.tensor([5.0, -0.05])
    opt.step()
    np.testing.assert_allclose(p.numpy(), [-0.1, 0.05], rtol=1e-6)
    q = ge.tensor([0.0, 0.0], requires_grad=True)
    opt = optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0)
    opt.build([q])
    q.grad = ge.tensor([3.0, 4.0])
    opt.step()
    np.testing.assert_allclose(q.numpy(), [-0.6, -0.8], rtol=1e-6)
    assert q.grad.numpy().tolist() == [3.0, 4.0]  # the gradient itself is left alone


def test_ema_weights_are_the_moving_average_at_the_end_of_fit():
    X, y = _xy()
    m = _regressor()
    opt = optimizers.Adam(0.05, use_ema=True, ema_momentum=0.5)
    m.compile(opt, "mse")
    m.fit(X, y, epochs=2, batch_size=8, verbose=0)
    for p, avg in zip(opt.params, opt._ema):
        np.testing.assert_array_equal(p.numpy(), avg)


def test_optimizer_serialize_round_trip_and_errors():
    opt = optimizers.Nadam(learning_rate=optimizers.schedules.CosineDecayRestarts(0.1, 5),
                           clipnorm=2.0)
    back = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    assert isinstance(back, optimizers.Nadam) and back.clipnorm == 2.0
    assert back.get_config()["learning_rate"]["class_name"] == "CosineDecayRestarts"
    with pytest.raises(ValueError, match="only one of"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.get("adamm")


def test_cosine_decay_restarts_restarts():
    s = optimizers.schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5)
    assert s(0) == 1.0 and s(10) == pytest.approx(0.5) and s(30) == pytest.approx(0.25)
    assert s(5) == pytest.approx(0.5)
    again = optimizers.schedules.deserialize(optimizers.schedules.serialize(s))
    assert again(17) == s(17)


# ---------------------------------------------------------------- callbacks

def test_backup_and_restore_resumes_exactly_and_keeps_other_files(tmp_path):
    X, y = _xy(32)
    full = _regressor()
    full.compile(optimizers.Adam(0.01), "mse")
    ref = full.fit(X, y, epochs=4, batch_size=8, verbose=0).history["loss"]
    (tmp_path / "mine.txt").write_text("keep")

    class Boom(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("boom")
    m = _regressor()
    m.compile(optimizers.Adam(0.01), "mse")
    with pytest.raises(RuntimeError):
        m.fit(X, y, epochs=4, batch_size=8, verbose=0,
              callbacks=[callbacks.BackupAndRestore(tmp_path), Boom()])
    again = _regressor(seed=7)  # other weights and shuffling: all restored
    again.compile(optimizers.Adam(0.01), "mse")
    h = again.fit(X, y, epochs=4, batch_size=8, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(tmp_path)])
    assert h.epoch == [2, 3]
    np.testing.assert_allclose(h.history["loss"], ref[2:], rtol=1e-6)
    for a, b in zip(again.get_weights(), full.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert sorted(os.listdir(tmp_path)) == ["mine.txt"]


def test_callback_list_swap_ema_and_clear_errors():
    seen = []
    cl = callbacks.CallbackList([callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append(e))], add_history=True)
    cl.on_epoch_end(3, {"loss": 1.0})
    assert seen == [3] and len(cl) == 2
    X, y = _xy()
    m = _regressor()
    m.compile("adam", "mse")
    with pytest.raises(ValueError, match="use_ema"):
        m.fit(X, y, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
    with pytest.raises(NotImplementedError, match="CSVLogger"):
        callbacks.TensorBoard("logs")
    with pytest.raises(NotImplementedError, match="save_freq"):
        callbacks.BackupAndRestore("d", save_freq=10)


def test_swap_ema_weights_validates_with_the_averages():
    X, y = _xy()
    m = _regressor()
    m.compile(optimizers.SGD(0.01, use_ema=True, ema_momentum=0.9), "mse")
    seen = {}

    class Peek(callbacks.Callback):
        def on_test_begin(self, logs=None):
            seen["w"] = self.model.get_weights()[0].copy()
    m.fit(X, y, epochs=1, verbose=0, validation_split=0.25,
          callbacks=[callbacks.SwapEMAWeights(), Peek()])
    np.testing.assert_array_equal(seen["w"], m.optimizer._ema[0])


def test_progbar_logger_prints_keras_bar(capsys):
    X, y = _xy()
    m = _regressor()
    m.compile("sgd", "mse")
    m.fit(X, y, epochs=1, verbose=0, callbacks=[callbacks.ProgbarLogger()])
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "loss:" in out


# ---------------------------------------------------------------- activations, initializers

def test_activations_by_formula():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype="float32")
    a = keras.activations
    np.testing.assert_allclose(a.hard_sigmoid(x).numpy(), np.clip(x / 6 + 0.5, 0, 1), 1e-6)
    np.testing.assert_allclose(a.squareplus(x).numpy(), (x + np.sqrt(x * x + 4)) / 2, 1e-6)
    np.testing.assert_allclose(a.soft_shrink(x).numpy(), [-1.5, 0, 0, 0, 1.5], atol=1e-7)
    np.testing.assert_allclose(a.threshold(x, 0.0, -9.0).numpy(), [-9, -9, -9, 0.5, 2])
    np.testing.assert_allclose(a.relu(x, max_value=1.0).numpy(), [0, 0, 0, 0.5, 1])
    np.testing.assert_allclose(a.glu(np.array([[1.0, 0.0]])).numpy(), [[0.5]])
    sm = a.sparsemax(np.array([[0.1, 2.0, 0.3]])).numpy()
    assert sm[0, 0] == 0 and sm[0, 1] > 0
    assert a.get("mish") is a.mish and a.serialize(a.selu) == "selu"
    assert a.deserialize("hard_swish") is a.hard_silu
    with pytest.raises(ValueError, match="unknown activation"):
        a.get("nope")
    with pytest.raises(ValueError, match="even"):
        a.glu(np.ones((2, 3)))


def test_orthogonal_identity_and_lowercase_initializers():
    init = keras.initializers
    w = init.Orthogonal(gain=2.0)((5, 3))
    np.testing.assert_allclose(w.T @ w, 4 * np.eye(3), atol=1e-5)
    np.testing.assert_array_equal(init.Identity(3.0)((2, 2)), 3 * np.eye(2))
    assert init.glorot_uniform is init.GlorotUniform
    assert isinstance(init.get("orthogonal"), init.Orthogonal)
    back = init.deserialize(init.serialize(init.Orthogonal(gain=0.5)))
    assert back.gain == 0.5
    with pytest.raises(ValueError, match="2-D"):
        init.Identity()((2, 2, 2))
    d = layers.Dense(3, kernel_initializer=init.Orthogonal())
    assert d(ge.ones((1, 3))).shape == (1, 3)


# ---------------------------------------------------------------- utils

def test_pad_sequences_keras_semantics():
    seqs = [[1, 2, 3], [4], [5, 6]]
    np.testing.assert_array_equal(utils.pad_sequences(seqs), [[1, 2, 3], [0, 0, 4], [0, 5, 6]])
    np.testing.assert_array_equal(utils.pad_sequences(seqs, maxlen=2, padding="post",
                                                      truncating="post", value=-1),
                                  [[1, 2], [4, -1], [5, 6]])
    assert utils.pad_sequences(seqs).dtype == np.int32
    assert utils.pad_sequences(seqs, dtype="float32", maxlen=1).tolist() == [[3], [4], [6]]
    with pytest.raises(ValueError, match="Padding type"):
        utils.pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match="non-iterable"):
        utils.pad_sequences([1, 2])


def test_fit_takes_a_pydataset_and_a_generator():
    X, y = _xy(24)

    class Batches(utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return X[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]
    a, b = _regressor(), _regressor()
    for m in (a, b):
        m.compile("sgd", "mse")
    ha = a.fit(Batches(), epochs=2, verbose=0).history["loss"]
    hb = b.fit(X, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(ha, hb, rtol=1e-6)
    gen = ((X[i:i + 8], y[i:i + 8]) for i in range(0, 24, 8))
    assert np.isfinite(a.evaluate(gen, verbose=0))
    with pytest.raises(ValueError, match="y must not be given"):
        a.fit(Batches(), y, verbose=0)


def test_timeseries_dataset_windows_and_targets():
    data = np.arange(10)
    batches = utils.timeseries_dataset_from_array(data, data * 10, sequence_length=3,
                                                  sequence_stride=2, batch_size=2)
    x0, y0 = batches[0]
    np.testing.assert_array_equal(x0, [[0, 1, 2], [2, 3, 4]])
    np.testing.assert_array_equal(y0, [0, 20])
    assert sum(len(b[0]) for b in batches) == 4
    only = utils.timeseries_dataset_from_array(data, None, 4, sampling_rate=2, batch_size=None)
    np.testing.assert_array_equal(only[0], [0, 2, 4, 6])
    with pytest.raises(ValueError, match="sequence_stride"):
        utils.timeseries_dataset_from_array(data, None, 3, sequence_stride=0)


def test_split_dataset_progbar_and_clear_errors(capsys):
    left, right = utils.split_dataset((np.arange(10), np.arange(10) * 2), left_size=0.8)
    assert len(left[0]) == 8 and right[1].tolist() == [16, 18]
    bar = utils.Progbar(4)
    for i in range(4):
        bar.update(i + 1, [("loss", 1.0)])
    assert "loss: 1.0000" in capsys.readouterr().out
    with pytest.raises(NotImplementedError, match="download"):
        utils.get_file("x.zip", "https://example.com/x.zip")
    with pytest.raises(NotImplementedError, match="summary"):
        utils.plot_model(None)


def test_registry_scope_and_object_serialization():
    @utils.register_keras_serializable(package="tests_more")
    def doubled(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean(axis=-1) * 2

    assert utils.get_registered_name(doubled) == "tests_more>doubled"
    assert utils.get_custom_objects()["tests_more>doubled"] is doubled
    cfg = utils.serialize_keras_object(doubled)
    assert utils.deserialize_keras_object(cfg) is doubled
    with utils.custom_object_scope({"Thing": losses.Hinge}):
        assert isinstance(utils.deserialize_keras_object(
            {"class_name": "Thing", "config": {}, "module": None}), losses.Hinge)
    with pytest.raises(ValueError, match="unknown class"):
        utils.deserialize_keras_object({"class_name": "Thing", "config": {}, "module": None})


# ---------------------------------------------------------------- saving, models

def test_save_load_with_registered_loss_metrics_and_new_optimizer(tmp_path):
    @keras.saving.register_keras_serializable(package="tests_more")
    class Scaled(losses.Loss):
        def __init__(self, k=2.0, **kw):
            super().__init__(**kw)
            self.k = k

        def call(self, y_true, y_pred):
            return self.k * ((y_true - y_pred) ** 2).mean(axis=-1)

        def get_config(self):
            return {**super().get_config(), "k": self.k}
    X, y = _xy()
    m = _regressor()
    m.compile(optimizers.Adamax(0.01, clipvalue=1.0), Scaled(3.0),
              metrics=[metrics.RootMeanSquaredError(name="rmse"), "mae"])
    m.fit(X, y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    keras.saving.save_model(m, path)
    back = keras.saving.load_model(path)
    assert back.loss.k == 3.0 and isinstance(back.optimizer, optimizers.Adamax)
    a = m.fit(X, y, epochs=1, shuffle=False, verbose=0).history
    b = back.fit(X, y, epochs=1, shuffle=False, verbose=0).history
    assert sorted(a) == ["loss", "mae", "rmse"]
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-6)


def test_clone_model_and_model_from_json():
    m = _regressor()
    c = keras.models.clone_model(m)
    assert [w.shape for w in c.get_weights()] == [w.shape for w in m.get_weights()]
    assert not np.allclose(c.get_weights()[0], m.get_weights()[0])
    j = keras.models.model_from_json(m.to_json())
    assert j.predict(np.ones((2, 3)), verbose=0).shape == (2, 1)
    with pytest.raises(ValueError, match="to_json"):
        keras.models.model_from_json('{"class_name": "Sequential"}')


# ---------------------------------------------------------------- backend, random

def test_backend_dtype_rules():
    B = keras.backend
    assert B.result_type("int8", "uint8") == "int16"
    assert B.result_type("int32", "float16") == "float16"
    assert B.result_type("int32", float) == "float32"
    assert B.standardize_dtype(int) == "int32" and B.standardize_dtype(np.float64) == "float64"
    assert B.is_float_dtype("bfloat16") and not B.is_int_dtype("bool")
    B.set_floatx("float32")
    with pytest.raises(ValueError, match="floatx"):
        B.set_floatx("int32")
    with pytest.raises(ge.DTypeError, match="float32"):
        B.set_floatx("float64")
    with pytest.raises(NotImplementedError, match="channels_last"):
        B.set_image_data_format("channels_first")
    assert B.get_uid("kapi_test") + 1 == B.get_uid("kapi_test")


def test_random_draws():
    R = keras.random
    a = R.randint((3, 4), 0, 5, seed=1)
    assert a.dtype == np.int32 and np.array_equal(a.numpy(), R.randint((3, 4), 0, 5,
                                                                       seed=1).numpy())
    assert float(np.abs(R.truncated_normal((500,), seed=2).numpy()).max()) <= 2.0
    c = R.categorical(np.log([[0.05, 0.95]]), 4000, seed=0).numpy()
    assert c.shape == (1, 4000) and 0.9 < c.mean() < 1.0
    d = R.dropout(ge.ones((1000,)), 0.25, seed=0).numpy()
    assert set(np.unique(d).tolist()) <= {0.0, float(np.float32(1 / 0.75))}
    g = R.SeedGenerator(3)
    assert not np.array_equal(R.normal((3,), seed=g).numpy(), R.normal((3,), seed=g).numpy())
    assert sorted(R.shuffle(np.arange(5), seed=0).numpy().tolist()) == [0, 1, 2, 3, 4]
    assert R.beta((4,), 2.0, 2.0, seed=0).shape == (4,) and R.gamma((2,), 1.0).shape == (2,)
    assert (R.binomial((50,), 3, 0.5, seed=0).numpy() <= 3).all()


# ---------------------------------------------------------------- multi-output

def _two_headed(seed=0):
    ge.manual_seed(seed)
    inp = keras.Input((3,))
    h = layers.Dense(4, activation="relu")(inp)
    return keras.Model(inp, [layers.Dense(1, name="reg")(h),
                             layers.Dense(3, activation="softmax", name="cls")(h)])


def test_multi_output_fit_evaluate_and_the_weighted_total():
    X, y = _xy(32)
    labels = (np.abs(X[:, 0] * 2).astype(int) % 3)
    m = _two_headed()
    m.compile("adam", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5],
              metrics=[["mae"], ["accuracy"]])
    h = m.fit(X, [y, labels], epochs=2, batch_size=8, verbose=0, validation_split=0.25)
    assert sorted(h.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae",
                                 "val_cls_accuracy", "val_cls_loss", "val_loss",
                                 "val_reg_loss", "val_reg_mae"]
    logs = m.evaluate(X, [y, labels], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["reg_loss"] + 0.5 * logs["cls_loss"], rel=1e-5)
    as_list = m.evaluate(X, [y, labels], verbose=0)
    assert as_list[:3] == pytest.approx([logs["loss"], logs["reg_loss"], logs["cls_loss"]])
    before = m.get_weights()[0].copy()
    out = m.train_on_batch(X, {"reg": y, "cls": labels}, return_dict=True)
    assert out["loss"] == pytest.approx(logs["loss"], rel=1e-5)  # before the update
    assert not np.allclose(before, m.get_weights()[0])
    assert m.test_on_batch(X, [y, labels], return_dict=True)["loss"] < out["loss"] * 10


def test_multi_output_dict_losses_and_errors():
    X, y = _xy(16)
    labels = np.zeros(16, dtype=int)
    m = _two_headed()
    m.compile("sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
              metrics={"cls": "accuracy"})
    h = m.fit(X, {"reg": y, "cls": labels}, epochs=1, verbose=0).history
    assert sorted(h) == ["cls_accuracy", "cls_loss", "loss", "reg_loss"]
    with pytest.raises(ValueError, match="2 outputs"):
        m.fit(X, y, verbose=0)
    with pytest.raises(ValueError, match="3 targets"):
        m.fit(X, [y, labels, y], verbose=0)
    with pytest.raises(ValueError, match="not output names"):
        m.compile("sgd", loss={"nope": "mse"})
    with pytest.raises(KeyError, match="cls"):
        m.compile("sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"})
        m.fit(X, {"reg": y}, verbose=0)


def test_multi_output_sample_weight_and_save(tmp_path):
    X, y = _xy(16)
    labels = np.zeros(16, dtype=int)
    m = _two_headed()
    m.compile("adam", loss=["mse", "sparse_categorical_crossentropy"])
    w = np.zeros(16)
    w[:8] = 1.0
    full = m.evaluate(X[:8], [y[:8], labels[:8]], verbose=0, return_dict=True)
    weighted = m.evaluate(X, [y, labels], sample_weight=w, verbose=0, return_dict=True)
    assert weighted["reg_loss"] == pytest.approx(full["reg_loss"] / 2, rel=1e-5)
    m.save(tmp_path / "two.keras")
    back = keras.models.load_model(tmp_path / "two.keras")
    again = back.evaluate(X, [y, labels], verbose=0, return_dict=True)
    assert again == pytest.approx(m.evaluate(X, [y, labels], verbose=0, return_dict=True))


def test_a_keras_style_metric_subclass_with_add_variable():
    class CountPositive(metrics.Metric):
        def __init__(self, name="count_positive", **kwargs):
            super().__init__(name=name, **kwargs)
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign_add((np.asarray(y_pred) > 0.5).sum())

        def result(self):
            return self.total

    m = CountPositive()
    m.update_state([1, 0], [0.7, 0.9])
    m.update_state([1], [0.2])
    assert float(m.result()) == 2.0
    m.reset_state()
    assert float(m.result()) == 0.0
    X, y = _xy()
    model = _regressor()
    model.compile("sgd", "mse", metrics=[CountPositive()])
    logs = model.evaluate(X, y, verbose=0, return_dict=True)
    assert logs["count_positive"] == float((model.predict(X, verbose=0) > 0.5).sum())


def test_evaluate_and_predict_take_callbacks_and_batch_sources():
    X, y = _xy(16)
    model = _regressor()
    model.compile("sgd", "mse")
    seen = []
    cb = callbacks.LambdaCallback()
    cb.on_test_end = lambda logs: seen.append(("test", sorted(logs)))
    cb.on_predict_end = lambda logs: seen.append(("predict", logs))
    model.evaluate(X, y, verbose=0, callbacks=[cb])
    out = model.predict(((X[i:i + 4], y[i:i + 4]) for i in range(0, 16, 4)), verbose=0,
                        callbacks=[cb])
    np.testing.assert_allclose(out, model.predict(X, verbose=0), rtol=1e-6)
    assert seen == [("test", ["loss"]), ("predict", {})]


def test_get_source_inputs_walks_to_the_inputs():
    a, b = keras.Input((2,)), keras.Input((3,))
    out = layers.Dense(1)(layers.Add()([layers.Dense(4)(a), layers.Dense(4)(b)]))
    assert [t.shape for t in utils.get_source_inputs(out)] == [(None, 2), (None, 3)]
    with pytest.raises(TypeError, match="symbolic"):
        utils.get_source_inputs(np.ones(3))


def test_weighted_metrics_take_the_sample_weights_and_save(tmp_path):
    X, y = _xy(16)
    w = np.zeros(16, dtype="float32")
    w[:8] = 1.0
    m = _regressor()
    m.compile("sgd", "mse", metrics=["mae"],
              weighted_metrics=["mae", metrics.RootMeanSquaredError(name="s")])
    logs = m.evaluate(X, y, sample_weight=w, verbose=0, return_dict=True)
    half = m.evaluate(X[:8], y[:8], verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "mae", "s", "weighted_mae"]
    assert logs["weighted_mae"] == pytest.approx(half["mae"], rel=1e-5)
    assert logs["mae"] != pytest.approx(logs["weighted_mae"])
    m.save(tmp_path / "w.keras")
    back = keras.models.load_model(tmp_path / "w.keras")
    assert back.evaluate(X, y, sample_weight=w, verbose=0, return_dict=True) == \
        pytest.approx(logs)


def test_a_pydataset_is_read_again_every_epoch():
    X, y = _xy(16)

    class Flipping(utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.sign, self.ends = 1.0, 0

        def __len__(self):
            return 2

        def __getitem__(self, i):
            return X[i * 8:(i + 1) * 8], self.sign * y[i * 8:(i + 1) * 8]

        def on_epoch_end(self):
            self.ends += 1
            self.sign = -self.sign
    ds = Flipping()
    a, b = _regressor(), _regressor()
    a.compile("sgd", "mse")
    b.compile("sgd", "mse")
    ha = a.fit(ds, epochs=2, verbose=0).history["loss"]
    b.fit(X, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    hb = b.fit(X, -y, batch_size=8, epochs=1, shuffle=False, verbose=0).history["loss"]
    assert ds.ends == 2 and ha[1] == pytest.approx(hb[0], rel=1e-6)
    with pytest.raises(ValueError, match="validation_split"):
        a.fit(ds, validation_split=0.2, verbose=0)


# ---------------------------------------------------------------- the functional class

def test_model_from_inputs_and_outputs_is_functional(tmp_path):
    inp = keras.Input((3,))
    out = layers.Dense(2)(inp)
    for m in (keras.Model(inp, out), keras.Model(inputs=inp, outputs=out),
              keras.Model(inp, outputs=out)):
        assert type(m).__name__ == "Functional" and isinstance(m, keras.Model)
        assert m.name.startswith("functional")

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(1)

        def call(self, x):
            return self.d(x)

    assert type(Sub()) is Sub and type(keras.Model()) is keras.Model
    m = keras.Model(inp, out)
    m.compile(optimizer="sgd", loss="mse")
    path = str(tmp_path / "f.keras")
    m.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded).__name__ == "Functional"
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
