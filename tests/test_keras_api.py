"""gradengine.keras with Keras 3's module paths: layers, optimizers, schedules, callbacks,
the fit/evaluate/predict arguments and returns, summary, save / load_model, and the bad
inputs that must raise and change nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradengine as ge
from ge_testutil import assert_unchanged, snapshot
from gradengine import nn
from gradengine.keras import callbacks, losses, metrics, optimizers
from gradengine.keras.layers import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Input,
    LayerNormalization,
    MaxPooling2D,
)
from gradengine.keras.models import Sequential, load_model

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 4)).astype(np.float32)
Y = (X[:, :1] + X[:, 1:2] > 0).astype(np.float32)


def mlp(**kw):
    ge.manual_seed(0)
    return Sequential([Input(shape=(4,)), Dense(8, activation="relu"),
                       Dense(1, activation="sigmoid")], **kw)


def test_the_seed_classes_are_the_keras_classes():
    assert nn.Sequential is Sequential and nn.Dense is Dense


def test_dense_takes_keras_arguments():
    d = Dense(3, activation="tanh", use_bias=False, kernel_initializer="he_normal",
              input_shape=(5,), name="hidden")
    assert d.built and d.kernel.shape == (5, 3) and d.bias is None and d.name == "hidden"
    ones = Dense(2, kernel_initializer="ones", bias_initializer="ones", input_dim=3)
    np.testing.assert_array_equal(ones(np.ones((1, 3))).numpy(), [[4.0, 4.0]])


def test_dense_casts_an_int64_input_to_its_dtype():
    d = Dense(2, input_dim=3)
    out = d(ge.tensor(np.arange(6).reshape(2, 3)))  # int64
    assert out.dtype == np.float32


def test_sequential_with_input_is_built_at_once_and_summary_shows_shapes(capsys):
    model = Sequential([Input(shape=(8, 8, 1)), Conv2D(4, 3, padding="same", activation="relu"),
                        MaxPooling2D(), Flatten(), Dense(10, activation="softmax")])
    assert model.built and len(model.layers) == 4
    model.summary()
    out = capsys.readouterr().out
    assert "(None, 8, 8, 4)" in out and "(None, 4, 4, 4)" in out and "(None, 64)" in out
    total = (3 * 3 * 1 * 4 + 4) + (64 * 10 + 10)
    assert f"Total params: {total:,}" in out and model.count_params() == total


def test_summary_of_an_unbuilt_model_says_so_instead_of_zero(capsys):
    model = Sequential([Dense(3), Dense(1)])
    model.summary()
    out = capsys.readouterr().out
    assert "not built" in out and "Total params: 0" not in out and "?" in out
    with pytest.raises(ValueError, match="not built"):
        model.count_params()


def test_conv2d_channels_last_matches_torch_nchw():
    torch = pytest.importorskip("torch")
    layer = Conv2D(5, (3, 2), strides=(2, 1), input_shape=(7, 6, 3))
    x = RNG.standard_normal((2, 7, 6, 3)).astype(np.float32)
    w = torch.tensor(layer.kernel.numpy()).permute(3, 2, 0, 1)
    ref = torch.nn.functional.conv2d(torch.tensor(x).permute(0, 3, 1, 2), w,
                                     torch.tensor(layer.bias.numpy()), stride=(2, 1))
    np.testing.assert_allclose(layer(x).numpy(), ref.permute(0, 2, 3, 1).numpy(), atol=1e-5)
    assert layer.compute_output_shape((None, 7, 6, 3)) == (None,) + tuple(ref.shape[2:]) + (5,)


def test_same_padding_conv_and_pooling_output_sizes():
    x = np.ones((1, 7, 5, 2), np.float32)
    assert Conv2D(3, 3, strides=2, padding="same")(x).shape == (1, 4, 3, 3)
    assert MaxPooling2D(2, padding="same")(x).shape == (1, 4, 3, 2)
    assert AveragePooling2D(2)(x).shape == (1, 3, 2, 2)
    np.testing.assert_allclose(AveragePooling2D(2)(x).numpy(), 1.0)


def test_batch_normalization_keeps_keras_moving_statistics():
    bn = BatchNormalization()
    assert (bn.momentum, bn.epsilon) == (0.99, 1e-3)
    x = RNG.standard_normal((16, 3)).astype(np.float64) * 3 + 2
    bn = BatchNormalization(dtype="float64")
    out = bn(x).numpy()
    ref = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    np.testing.assert_allclose(out, ref, rtol=1e-9)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * x.mean(0), rtol=1e-9)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * x.var(0), rtol=1e-9)
    bn.eval()
    np.testing.assert_allclose(bn(x).numpy(), (x - bn.moving_mean.numpy()) /
                               np.sqrt(bn.moving_variance.numpy() + 1e-3), rtol=1e-9)
    assert [w.shape for w in bn.get_weights()] == [(3,)] * 4  # gamma, beta, mean, variance


def test_layer_normalization_embedding_dropout_activation():
    x = RNG.standard_normal((2, 3, 6)).astype(np.float64)
    ln = LayerNormalization(dtype="float64")
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(ln(x).numpy(), ref, rtol=1e-9)
    emb = Embedding(10, 4)
    assert np.abs(emb.embeddings.numpy()).max() <= 0.05
    assert emb(np.array([[1, 2, 3]])).shape == (1, 3, 4)
    drop = Dropout(0.5)
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), x.astype(np.float32))
    np.testing.assert_allclose(Activation("softmax")(x).numpy().sum(-1), 1, rtol=1e-6)


def test_get_and_set_weights_on_layers_and_models():
    model = mlp()
    w = model.get_weights()
    assert [a.shape for a in w] == [(4, 8), (8,), (8, 1), (1,)]
    model.layers[0].set_weights([np.zeros((4, 8)), np.ones(8)])
    assert model.layers[0].get_weights()[1].tolist() == [1.0] * 8
    model.set_weights(w)
    np.testing.assert_array_equal(model.get_weights()[1], w[1])
    with pytest.raises(ValueError, match="expected 4 arrays"):
        model.set_weights(w[:2])
    assert len(model.weights) == 4 and len(model.trainable_weights) == 4


def test_pop_removes_the_last_layer():
    model = mlp()
    last = model.pop()
    assert isinstance(last, Dense) and len(model.layers) == 1
    with pytest.raises(IndexError):
        Sequential().pop()


def test_evaluate_returns_a_float_without_metrics_and_a_list_with_them(capsys):
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    loss = model.evaluate(X, Y)
    assert isinstance(loss, float)
    assert "2/2" in capsys.readouterr().out  # the Keras progress line
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "mae"])
    loss2, acc, mae = model.evaluate(X, Y, verbose=0)
    assert loss2 == pytest.approx(loss) and 0 <= acc <= 1
    d = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert list(d) == ["accuracy", "loss", "mae"]  # Keras' order: sorted (pythonify_logs)


def test_fit_takes_keras_arguments_and_batch_size_none_means_32():
    model = mlp()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    seen = []
    cb = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    h = model.fit(X, Y, batch_size=None, epochs=3, verbose=0, initial_epoch=1, callbacks=[cb])
    assert h.epoch == [1, 2] and len(seen) == 2 * 2
    assert isinstance(model.optimizer, optimizers.RMSprop)


def test_sample_weight_and_class_weight_weight_the_loss():
    model = mlp()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse")
    plain = model.evaluate(X, Y, verbose=0)
    w = np.where(Y[:, 0] > 0.5, 2.0, 0.0)
    weighted = model.evaluate(X, Y, verbose=0, sample_weight=w)
    p = model.predict(X, verbose=0)
    per = ((p - Y) ** 2).mean(-1)
    assert weighted == pytest.approx((per * w).sum() / len(w), rel=1e-5)
    assert plain == pytest.approx(per.mean(), rel=1e-5)
    h = model.fit(X, Y, epochs=1, batch_size=64, verbose=0, shuffle=False,
                  class_weight={0: 0.0, 1: 2.0})
    assert h.history["loss"][0] == pytest.approx((per * w).sum() / len(w), rel=1e-5)


def test_train_test_predict_on_batch():
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    before = model.get_weights()
    loss, acc = model.train_on_batch(X[:16], Y[:16])
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert not np.array_equal(before[0], model.get_weights()[0])
    loss_t = model.test_on_batch(X[:16], Y[:16], return_dict=True)["loss"]
    assert np.isfinite(loss_t)
    assert model.predict_on_batch(X[:5]).shape == (5, 1)


def _reference_keras_adam(p, grads, lr=0.01, b1=0.9, b2=0.999, eps=1e-7, wd=0.0):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        p = p - p * wd * lr
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        p = p - m * alpha / (np.sqrt(v) + eps)
    return p


def _run(opt, p0, grads):
    p = ge.tensor(p0.copy(), requires_grad=True)
    opt.build([p])
    for g in grads:
        p.grad = ge.tensor(g)
        opt.step()
    return p.numpy()


def test_keras_optimizers_follow_keras_update_rules():
    p0 = RNG.standard_normal(5)
    grads = [RNG.standard_normal(5) for _ in range(10)]
    np.testing.assert_allclose(_run(optimizers.Adam(learning_rate=0.01), p0, grads),
                               _reference_keras_adam(p0, grads), rtol=1e-12)
    np.testing.assert_allclose(
        _run(optimizers.AdamW(learning_rate=0.01), p0, grads),
        _reference_keras_adam(p0, grads, wd=0.004), rtol=1e-12)
    # SGD momentum: velocity m = 0.9 m - lr g; p += m
    p, m = p0.copy(), np.zeros(5)
    for g in grads:
        m = 0.9 * m - 0.1 * g
        p = p + m
    np.testing.assert_allclose(_run(optimizers.SGD(0.1, momentum=0.9), p0, grads), p,
                               rtol=1e-12)
    # RMSprop: epsilon inside the root
    p, v = p0.copy(), np.zeros(5)
    for g in grads:
        v = 0.9 * v + 0.1 * g * g
        p = p - 0.01 * g / np.sqrt(v + 1e-7)
    np.testing.assert_allclose(_run(optimizers.RMSprop(0.01), p0, grads), p, rtol=1e-12)
    # Adagrad: accumulators from 0.1
    p, acc = p0.copy(), np.full(5, 0.1)
    for g in grads:
        acc = acc + g * g
        p = p - 0.01 * g / np.sqrt(acc + 1e-7)
    np.testing.assert_allclose(_run(optimizers.Adagrad(0.01), p0, grads), p, rtol=1e-12)


def test_keras_optimizer_defaults():
    assert optimizers.SGD().learning_rate == 0.01
    assert optimizers.Adam().epsilon == 1e-7 and optimizers.Adam().learning_rate == 0.001
    assert optimizers.AdamW().weight_decay == 0.004
    assert optimizers.RMSprop().rho == 0.9
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
    assert optimizers.Adam(clipnorm=1.0).clipnorm == 1.0
    with pytest.raises(ValueError, match="only one of clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)


def test_schedules_follow_keras_formulas_and_drive_the_learning_rate():
    s = optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(0) == 0.1 and s(10) == pytest.approx(0.05) and s(5) == pytest.approx(0.1 * 0.5 ** .5)
    st = optimizers.schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert st(19) == pytest.approx(0.05)
    pc = optimizers.schedules.PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])
    assert [pc(s) for s in (0, 2, 3, 4, 5)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    cd = optimizers.schedules.CosineDecay(1.0, 10, alpha=0.1)
    assert cd(0) == 1.0 and cd(10) == pytest.approx(0.1) and cd(20) == pytest.approx(0.1)
    assert cd(5) == pytest.approx(0.1 + 0.9 * 0.5)
    opt = optimizers.SGD(learning_rate=pc)
    p = ge.tensor([1.0], requires_grad=True)
    opt.build([p])
    seen = []
    for _ in range(6):
        p.grad = ge.tensor([1.0])
        before = p.numpy().copy()
        opt.step()
        seen.append(float(before[0] - p.numpy()[0]))
    np.testing.assert_allclose(seen, [1.0, 1.0, 1.0, 0.5, 0.5, 0.1], rtol=1e-6)
    assert opt.iterations == 6


def test_reduce_lr_on_plateau_learning_rate_scheduler_and_csv_logger(tmp_path):
    model = mlp()
    path = tmp_path / "log.csv"
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 if epoch == 0 else lr)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.0), loss="mse")
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[sched, callbacks.CSVLogger(path)])
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    rows = path.read_text().splitlines()
    assert rows[0].split(",")[0] == "epoch" and len(rows) == 2
    # no epoch counts as an improvement after the first (min_delta is huge): the rate is
    # halved after each patience epoch; the logs show the rate the epoch ran with
    red = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e9)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.4), loss="mse")
    h = model.fit(X, Y, epochs=3, verbose=0, callbacks=[red])
    assert h.history["learning_rate"] == pytest.approx([0.4, 0.4, 0.2])
    assert model.optimizer.learning_rate == pytest.approx(0.1)


def test_loss_and_metric_objects_in_compile():
    model = mlp()
    model.compile(optimizer="adam", loss=losses.BinaryCrossentropy(),
                  metrics=[metrics.BinaryAccuracy(), metrics.MeanSquaredError()])
    h = model.fit(X, Y, epochs=1, verbose=0)
    assert set(h.history) == {"loss", "binary_accuracy", "mean_squared_error"}
    lin = Sequential([Input(shape=(4,)), Dense(1)])
    lin.compile(optimizer="sgd", loss=losses.BinaryCrossentropy(from_logits=True))
    logits = lin.predict(X, verbose=0)
    ref = np.mean(np.maximum(logits, 0) - logits * Y + np.log1p(np.exp(-np.abs(logits))))
    assert lin.evaluate(X, Y, verbose=0) == pytest.approx(ref, rel=1e-5)
    m = metrics.MeanAbsoluteError()
    m.update_state([[1.0], [2.0]], [[1.5], [2.0]])
    assert m.result() == pytest.approx(0.25)


def test_progress_prints_small_values_in_e_notation(capsys):
    from gradengine.keras.progress import _fmt
    assert _fmt({"loss": 0.00001234}) == "loss: 1.2340e-05"
    assert _fmt({"loss": 0.5}) == "loss: 0.5000"


# ---------------------------------------------------------------- save / load

def test_model_save_and_load_model_predict_the_same_and_continue_step_for_step(tmp_path):
    model = Sequential([Input(shape=(4,)), Dense(8, activation="relu"), BatchNormalization(),
                        Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, Y, epochs=2, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    again = load_model(path)
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))
    assert isinstance(again.optimizer, optimizers.Adam) and again.optimizer.iterations == 4
    h1 = model.fit(X, Y, epochs=2, verbose=0)
    h2 = again.fit(X, Y, epochs=2, verbose=0)
    assert h1.history == h2.history
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_model_rebuilds_a_cnn_and_an_unbuilt_model(tmp_path):
    cnn = Sequential([Input(shape=(6, 6, 1)), Conv2D(2, 3, activation="relu"),
                      AveragePooling2D(), Flatten(), Dropout(0.1), Dense(3, activation="softmax")])
    cnn.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    cnn.save(tmp_path / "cnn.keras")
    x = RNG.standard_normal((4, 6, 6, 1)).astype(np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "cnn.keras").predict(x, verbose=0),
                                  cnn.predict(x, verbose=0))
    lazy = Sequential([Dense(3), Dense(1)])
    lazy.save(tmp_path / "lazy.keras")
    assert not load_model(tmp_path / "lazy.keras").built


def test_save_refuses_other_suffixes_and_weights_take_keras_3_names(tmp_path):
    model = mlp()
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"\.keras"):
        load_model(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save_weights(tmp_path / "m.keras")
    assert not list(tmp_path.iterdir())
    for name in ("m.weights.npz", "m.weights.h5"):  # Keras 3's name works as it is
        model.save_weights(tmp_path / name)
        other = mlp()
        other.load_weights(tmp_path / name)
        for a, b in zip(model.get_weights(), other.get_weights()):
            np.testing.assert_array_equal(a, b)
    real = tmp_path / "keras.weights.h5"  # an HDF5 file Keras wrote: refused, unchanged
    real.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    before = model.get_weights()
    with pytest.raises(ge.CheckpointError):
        model.load_weights(real)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_model_of_a_plain_checkpoint_is_a_clear_error(tmp_path):
    ge.save({"a": np.ones(2)}, tmp_path / "x.keras")
    with pytest.raises(ge.CheckpointError, match="not a saved model"):
        load_model(tmp_path / "x.keras")


def test_model_checkpoint_saves_the_whole_model_for_a_keras_path(tmp_path):
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(X, Y, epochs=1, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "best.keras"),
                                                   monitor="loss")])
    np.testing.assert_array_equal(load_model(tmp_path / "best.keras").predict(X, verbose=0),
                                  model.predict(X, verbose=0))


# ---------------------------------------------------------------- bad input

def _compiled():
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_fit_and_evaluate_on_zero_samples_raise_and_change_nothing():
    model = _compiled()
    snap = snapshot(model.parameters())
    with pytest.raises(ValueError, match="no samples"):
        model.fit(np.zeros((0, 4), np.float32), np.zeros((0, 1), np.float32), verbose=0)
    with pytest.raises(ValueError, match="no samples"):
        model.evaluate(np.zeros((0, 4), np.float32), np.zeros((0, 1), np.float32))
    assert_unchanged(snap)
    assert model.history is None


def test_fit_on_the_wrong_width_names_the_datas_shape():
    model = _compiled()
    snap = snapshot(model.parameters())
    with pytest.raises(ge.ShapeError, match=r"\(10, 3\)") as err:
        model.fit(np.zeros((10, 3), np.float32), np.zeros((10, 1), np.float32), verbose=0)
    assert "(1, 3)" not in str(err.value)
    assert_unchanged(snap)


def test_an_unbuilt_model_refuses_a_checkpoint_whose_shapes_do_not_chain():
    model = Sequential([Dense(3), Dense(1)])
    bad = {"0.weight": np.ones((2, 3)), "0.bias": np.ones(3), "1.weight": np.ones((4, 1)),
           "1.bias": np.ones(1)}
    with pytest.raises(ge.ShapeError, match="chain"):
        model.load_state_dict(bad)
    assert not model.built and model.parameters() == []
    good = dict(bad, **{"1.weight": np.ones((3, 1))})
    model.load_state_dict(good)
    assert model.predict(np.ones((2, 2)), verbose=0).shape == (2, 1)


def test_requires_grad_setter_refuses_integers_and_non_leaves():
    t = ge.tensor([1, 2])
    with pytest.raises(ge.DTypeError, match="int64"):
        t.requires_grad = True
    assert not t.requires_grad
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(ge.GraphError, match="non-leaf"):
        y.requires_grad = False
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
