"""The Keras-style loop: the seed example as written, learning, losses and metrics,
validation, callbacks, every bad call of RELIABILITY.md rows 20-25, and interrupted fits."""


import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from ge_testutil import assert_unchanged, snapshot
from gradengine import optim
from gradengine.keras import optimizers as koptimizers
from gradengine.keras.callbacks import Callback, EarlyStopping, LambdaCallback, ModelCheckpoint
from gradengine.nn import Dense, Sequential

X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y_XOR = np.array([[0], [1], [1], [0]], dtype=np.float32)


def seed_model():
    model = Sequential()
    model.add(Dense(3, input_dim=2, activation="sigmoid"))
    model.add(Dense(1, activation="sigmoid"))
    return model


def moons(n, rng, noise=0.1):
    t = rng.uniform(0, np.pi, n)
    lab = rng.integers(0, 2, n)
    x = np.where(lab[:, None] == 0, np.c_[np.cos(t), np.sin(t)],
                 np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return (x + rng.normal(0, noise, x.shape)).astype(np.float32), lab.astype(np.float32)


def blobs(n, rng):
    centers = np.array([[0, 3], [3, -2], [-3, -2]], np.float32)
    lab = rng.integers(0, 3, n)
    return (centers[lab] + rng.normal(0, 1.0, (n, 2))).astype(np.float32), lab


# ---------------------------------------------------------------- the seed example

def test_seed_example_runs_as_written(capsys):
    X, y = X_XOR, Y_XOR
    from gradengine.nn import Dense, Sequential
    model = Sequential()
    model.add(Dense(3, input_dim=2, activation="sigmoid"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    results = model.fit(X, y, epochs=50)
    hist = results.history
    assert set(hist) == {"loss", "mae", "mse"}
    assert all(len(v) == 50 for v in hist.values()) and results.epoch == list(range(50))
    assert all(isinstance(v, float) and np.isfinite(v) for vs in hist.values() for v in vs)
    assert hist["loss"][-1] < hist["loss"][0]  # SGD at 0.01 creeps, but downhill
    np.testing.assert_allclose(hist["loss"], hist["mse"], rtol=1e-6)
    out = capsys.readouterr().out
    assert "Epoch 1/50" in out and "Epoch 50/50" in out and "loss:" in out
    assert model.history is results
    assert isinstance(model.optimizer, koptimizers.SGD) and model.optimizer.lr == 0.01


def test_xor_is_learned_to_100_percent():
    ge.manual_seed(0)
    model = Sequential(Dense(16, input_dim=2, activation="tanh"),
                       Dense(1, activation="sigmoid"))
    model.compile(optimizer=optim.Adam(model.parameters(), lr=0.05),
                  loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(X_XOR, Y_XOR, epochs=500, verbose=0).history
    assert hist["accuracy"][-1] == 1.0
    pred = model.predict(X_XOR)
    assert isinstance(pred, np.ndarray) and pred.shape == (4, 1)
    assert np.array_equal(pred > 0.5, Y_XOR > 0.5)
    assert model.evaluate(X_XOR, Y_XOR, return_dict=True)["accuracy"] == 1.0


def test_two_moons_reach_97_percent_on_held_out_data():
    rng = np.random.default_rng(0)
    ge.manual_seed(0)
    X, y = moons(1000, rng)
    Xt, yt = moons(500, rng)
    model = Sequential(Dense(32, input_dim=2, activation="relu"),
                       Dense(32, activation="relu"), Dense(1, activation="sigmoid"))
    model.compile(optimizer=optim.Adam(model.parameters(), lr=0.01),
                  loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=100, verbose=0)
    assert model.evaluate(Xt, yt, return_dict=True)["accuracy"] >= 0.97


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_three_gaussian_blobs_reach_97_percent_on_held_out_data(loss):
    rng = np.random.default_rng(1)
    ge.manual_seed(1)
    X, y = blobs(900, rng)
    Xt, yt = blobs(300, rng)
    if loss == "categorical_crossentropy":
        y, yt = np.eye(3, dtype=np.float32)[y], np.eye(3, dtype=np.float32)[yt]
    model = Sequential(Dense(16, input_dim=2, activation="relu"),
                       Dense(3, activation="softmax"))
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy", "mae"])
    hist = model.fit(X, y, epochs=20, verbose=0, validation_split=0.1).history
    assert set(hist) == {"loss", "accuracy", "mae", "val_loss", "val_accuracy", "val_mae"}
    res = model.evaluate(Xt, yt, return_dict=True)
    assert res["accuracy"] >= 0.97
    probs = model.predict(Xt)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    labels = yt if yt.ndim == 1 else yt.argmax(1)
    assert res["accuracy"] == pytest.approx((probs.argmax(1) == labels).mean())


# ---------------------------------------------------------------- losses and metrics

def test_sigmoid_bce_is_computed_from_logits_and_equals_the_probability_form():
    ge.manual_seed(0)
    model = Sequential(Dense(4, input_dim=2, activation="tanh"), Dense(1, activation="sigmoid"))
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", "mse"])
    res = model.evaluate(X_XOR, Y_XOR, return_dict=True)
    p = np.clip(model.predict(X_XOR), 1e-7, 1 - 1e-7)
    bce = -np.mean(Y_XOR * np.log(p) + (1 - Y_XOR) * np.log(1 - p))
    assert res["loss"] == pytest.approx(bce, rel=1e-5)
    assert res["mse"] == pytest.approx(np.mean((model.predict(X_XOR) - Y_XOR) ** 2), rel=1e-5)
    # Saturated logits: the probability form would clip, the logits form stays exact.
    with ge.no_grad():
        model[1].weight.data[...] = 1e4
    res = model.evaluate(X_XOR, Y_XOR, return_dict=True)
    assert np.isfinite(res["loss"]) and res["loss"] > 10


def test_binary_crossentropy_without_a_sigmoid_clips_the_outputs_as_probabilities():
    ge.manual_seed(0)
    model = Sequential(Dense(2, input_dim=2, activation="relu"), Dense(1))
    model.compile(loss="binary_crossentropy")
    hist = model.fit(X_XOR * 0.1, Y_XOR, epochs=2, verbose=0)  # outputs outside (0, 1)
    assert np.isfinite(hist.history["loss"]).all()
    p = np.clip(model.predict(X_XOR * 0.1).astype(np.float64), 1e-7, 1 - 1e-7)
    expected = -np.mean(Y_XOR * np.log(p) + (1 - Y_XOR) * np.log(1 - p))
    assert model.evaluate(X_XOR * 0.1, Y_XOR, return_dict=True)["loss"] == \
        pytest.approx(expected, rel=1e-5)


def test_epoch_loss_is_the_sample_weighted_mean_over_batches():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.standard_normal((10, 2)).astype(np.float32)
    model = Sequential(Dense(2, input_dim=3))
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.0), loss="mse",
                  metrics=["mae", "mse"])
    hist = model.fit(X, y, batch_size=4, shuffle=False, epochs=1, verbose=0).history
    full = model.evaluate(X, y, batch_size=10, return_dict=True)
    assert hist["loss"][0] == pytest.approx(full["loss"], rel=1e-6)
    assert hist["mae"][0] == pytest.approx(full["mae"], rel=1e-6)
    pred = model.predict(X, batch_size=3)
    assert full["mae"] == pytest.approx(np.abs(pred - y).mean(), rel=1e-6)


def test_targets_of_shape_n_are_reshaped_for_an_n_by_1_output():
    model = seed_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    hist = model.fit(X_XOR, Y_XOR.ravel(), epochs=2, verbose=0).history
    assert len(hist["loss"]) == 2 and "accuracy" in hist


def test_inputs_may_be_lists_tensors_or_float64_arrays():
    model = seed_model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(X_XOR.tolist(), Y_XOR.tolist(), epochs=1, verbose=0)
    model.fit(ge.tensor(X_XOR), ge.tensor(Y_XOR), epochs=1, verbose=0)
    model.fit(X_XOR.astype(np.float64), Y_XOR.astype(np.int64), epochs=1, verbose=0)
    assert all(p.dtype == np.float32 for p in model.parameters())
    out = model(ge.tensor(X_XOR))
    assert isinstance(out, ge.Tensor) and out.requires_grad


def test_custom_loss_and_metric_callables():
    def my_loss(pred, target):
        return ((pred - target) ** 2).sum(axis=1)  # per-sample: averaged by fit

    def ones_ratio(pred, target):
        return float((pred > 0.5).mean())

    model = seed_model()
    model.compile(optimizer="sgd", loss=my_loss, metrics=[ones_ratio])
    hist = model.fit(X_XOR, Y_XOR, epochs=3, verbose=0).history
    assert set(hist) == {"loss", "ones_ratio"} and len(hist["ones_ratio"]) == 3


def test_compile_accepts_optimizer_names_and_instances_with_keras_defaults():
    # the names give Keras' optimizers with Keras' defaults (and numerics)
    for name, cls, lr in (("sgd", koptimizers.SGD, 0.01), ("adam", koptimizers.Adam, 0.001),
                          ("adamw", koptimizers.AdamW, 0.001),
                          ("rmsprop", koptimizers.RMSprop, 0.001),
                          ("adagrad", koptimizers.Adagrad, 0.001)):
        model = seed_model()
        model.compile(optimizer=name, loss="mse")
        model.fit(X_XOR, Y_XOR, epochs=1, verbose=0)
        assert type(model.optimizer) is cls and model.optimizer.lr == lr
    model = seed_model()
    opt = optim.SGD(model.parameters(), lr=0.5)
    model.compile(optimizer=opt, loss="mse")
    model.fit(X_XOR, Y_XOR, epochs=1, verbose=0)
    assert model.optimizer is opt


def test_lazy_model_is_built_by_fit_and_the_optimizer_gets_every_parameter():
    model = Sequential(Dense(4, activation="tanh"), Dense(1, activation="sigmoid"))
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    model.fit(X_XOR, Y_XOR, epochs=1, verbose=0)
    assert model[0].input_dim == 2 and len(model.optimizer.params) == 4


# ---------------------------------------------------------------- validation and output

def test_validation_split_holds_out_the_last_samples_and_adds_val_keys():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2)).astype(np.float32)
    y = rng.standard_normal((20, 1)).astype(np.float32)
    model = Sequential(Dense(1, input_dim=2))
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.0), loss="mse", metrics=["mae"])
    hist = model.fit(X, y, epochs=3, validation_split=0.25, verbose=0).history
    assert set(hist) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(len(v) == 3 for v in hist.values())
    val_loss, _ = model.evaluate(X[15:], y[15:])  # [loss, mae], as Keras returns
    assert hist["val_loss"][0] == pytest.approx(val_loss)
    assert hist["loss"][0] == pytest.approx(model.evaluate(X[:15], y[:15], return_dict=True)
                                            ["loss"])


def test_validation_data_adds_val_keys():
    model = seed_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    hist = model.fit(X_XOR, Y_XOR, epochs=2, validation_data=(X_XOR, Y_XOR), verbose=0)
    assert set(hist.history) == {"loss", "mae", "val_loss", "val_mae"}
    with pytest.raises(ge.ShapeError, match="4 samples but y has 3"):
        model.fit(X_XOR, Y_XOR, validation_data=(X_XOR, Y_XOR[:3]), verbose=0)


def test_verbose_levels(capsys):
    model = seed_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(X_XOR, Y_XOR, epochs=3, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(X_XOR, Y_XOR, epochs=3, verbose=2)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert len(lines) == 3 and all("loss:" in ln and "mae:" in ln for ln in lines)
    model.fit(X_XOR, Y_XOR, epochs=2, verbose=1, validation_data=(X_XOR, Y_XOR))
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "val_loss:" in out


def test_second_fit_continues_and_grad_mode_is_restored():
    model = seed_model()
    model.compile(optimizer=optim.SGD(model.parameters(), lr=1.0), loss="mse")
    h1 = model.fit(X_XOR, Y_XOR, epochs=5, verbose=0)
    with ge.no_grad():
        h2 = model.fit(X_XOR, Y_XOR, epochs=5, verbose=0)  # trains even inside no_grad
        assert not ge.is_grad_enabled()
    assert ge.is_grad_enabled()
    assert h2.history["loss"][0] < h1.history["loss"][0]
    assert len(h2.history["loss"]) == 5


def test_jit_compile_flag_trains():
    model = seed_model()
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert model.jit_compile
    hist = model.fit(X_XOR, Y_XOR, epochs=3, verbose=0).history
    assert len(hist["loss"]) == 3


# ---------------------------------------------------------------- callbacks

def test_callback_hooks_run_in_keras_order():
    events = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"epoch_begin {epoch}")

        def on_train_batch_end(self, batch, logs=None):
            events.append(f"batch {batch} {sorted(logs)}")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"epoch_end {epoch} {sorted(logs)}")

        def on_train_end(self, logs=None):
            events.append("train_end")

    model = seed_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(X_XOR, Y_XOR, epochs=2, batch_size=2, shuffle=False, verbose=0,
              callbacks=[Recorder()])
    assert events == ["train_begin", "epoch_begin 0", "batch 0 ['loss', 'mae']",
                      "batch 1 ['loss', 'mae']", "epoch_end 0 ['loss', 'mae']",
                      "epoch_begin 1", "batch 0 ['loss', 'mae']", "batch 1 ['loss', 'mae']",
                      "epoch_end 1 ['loss', 'mae']", "train_end"]


def test_early_stopping_stops_and_restores_the_best_weights():
    model = seed_model()
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.5), loss="mse")
    best = {}

    def remember(epoch, logs):
        if "loss" not in best or logs["val_loss"] < best["loss"]:
            best.update(loss=logs["val_loss"], weights=model.state_dict())

    # Validation targets opposite to the training targets: val_loss rises from the start.
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    y = X_XOR[:, :1]
    hist = model.fit(X_XOR, y, epochs=100, verbose=0, validation_data=(X_XOR, 1 - y),
                     callbacks=[LambdaCallback(on_epoch_end=remember), stop])
    assert len(hist.history["loss"]) < 100 and stop.stopped_epoch > 0
    for k, v in model.state_dict().items():
        assert np.array_equal(v, best["weights"][k])


def test_early_stopping_on_a_maximised_metric_and_min_delta():
    stop = EarlyStopping(monitor="accuracy", patience=1, min_delta=0.5)
    assert stop.mode == "max"
    model = seed_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    hist = model.fit(X_XOR, Y_XOR, epochs=20, verbose=0, callbacks=[stop])
    assert len(hist.history["loss"]) == 2


def test_model_checkpoint_saves_the_best_weights(tmp_path):
    path = tmp_path / "best-{epoch:02d}.ge"
    ckpt = ModelCheckpoint(str(path), monitor="loss", save_best_only=True)
    model = seed_model()
    model.compile(optimizer=optim.SGD(model.parameters(), lr=1.0), loss="mse")
    model.fit(X_XOR, Y_XOR, epochs=3, verbose=0, callbacks=[ckpt])
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == ["best-01.ge", "best-02.ge", "best-03.ge"]
    other = seed_model()
    other.load_weights(ckpt.last_saved)
    every = ModelCheckpoint(str(tmp_path / "last.ge"))
    model.fit(X_XOR, Y_XOR, epochs=1, verbose=0, callbacks=[every])
    other.load_weights(tmp_path / "last.ge")
    for k, v in model.state_dict().items():
        assert np.array_equal(v, other.state_dict()[k])


def test_save_and_load_weights_roundtrip(tmp_path):
    model = seed_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X_XOR, Y_XOR, epochs=2, verbose=0)
    model.save_weights(tmp_path / "w.ge")
    other = Sequential(Dense(3, activation="sigmoid"), Dense(1, activation="sigmoid"))
    other.load_weights(tmp_path / "w.ge")  # builds the lazy layers from the saved shapes
    assert np.array_equal(other.predict(X_XOR), model.predict(X_XOR))
    assert [w.shape for w in other.get_weights()] == [(2, 3), (3,), (3, 1), (1,)]


# ---------------------------------------------------------------- bad calls (rows 20-25)

def test_mse_loss_does_not_broadcast_n1_against_n():
    pred, target = ge.ones((4, 1), requires_grad=True), ge.ones((4,))
    before = snapshot([pred, target])
    with pytest.raises(ge.ShapeError, match=r"mse_loss: .*\(4, 1\).*\(4,\)"):
        F.mse_loss(pred, target)
    assert_unchanged(before, [pred, target])


def test_fit_with_mismatched_sample_counts_raises_before_any_change():
    X = np.ones((10, 2), np.float32)
    y = np.ones((9, 1), np.float32)
    for opt in ("sgd", "adam"):
        model = seed_model()
        model.compile(optimizer=opt, loss="mse")
        model.fit(X_XOR, Y_XOR, epochs=1, verbose=0)  # optimizer state exists
        before = snapshot(model.parameters())
        state = [None if s is None else [np.copy(v) for v in s] for s in model.optimizer._state]
        with pytest.raises(ge.ShapeError, match=r"fit: X has 10 samples but y has 9"):
            model.fit(X, y, epochs=3)
        assert_unchanged(before, model.parameters())
        for s, old in zip(model.optimizer._state, state):
            assert (s is None and old is None) or all(np.array_equal(a, b)
                                                      for a, b in zip(s, old))
        assert len(model.history.history["loss"]) == 1


def test_dense_called_with_the_wrong_width_raises_before_any_change():
    model = seed_model()
    model.compile(optimizer="sgd", loss="mse")
    before = snapshot(model.parameters())
    with pytest.raises(ge.ShapeError, match=r"Dense.*\(5, 3\).*input_dim=2"):
        model[0](ge.ones((5, 3)))
    with pytest.raises(ge.ShapeError, match=r"Dense.*\(5, 3\).*input_dim=2"):
        model.fit(np.ones((5, 3), np.float32), np.ones((5, 1), np.float32), verbose=0)
    assert_unchanged(before, model.parameters())


@pytest.mark.parametrize("kwargs,allowed", [
    (dict(loss="no_such_loss"), "'binary_crossentropy'"),
    (dict(loss="mse", optimizer="foo"), "'adam'"),
    (dict(loss="mse", metrics=["f1"]), "'accuracy'"),
    (dict(loss=None), "'mse'"),
])
def test_compile_with_unknown_names_lists_the_allowed_ones(kwargs, allowed):
    model = seed_model()
    before = snapshot(model.parameters())
    with pytest.raises(ValueError, match=allowed):
        model.compile(**kwargs)
    assert not model.compiled
    assert_unchanged(before, model.parameters())


def test_fit_evaluate_before_compile_raise_runtime_error():
    model = seed_model()
    before = snapshot(model.parameters())
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(X_XOR, Y_XOR)
    with pytest.raises(RuntimeError, match="compile"):
        model.evaluate(X_XOR, Y_XOR, return_dict=True)
    assert_unchanged(before, model.parameters())
    assert model.predict(X_XOR).shape == (4, 1)  # predict needs no compile, as in Keras


def test_load_weights_with_bad_keys_or_shapes_changes_nothing(tmp_path):
    model = seed_model()
    model(X_XOR)  # builds the second, lazy layer
    good = model.state_dict()
    before = snapshot(model.parameters())
    bad_keys = dict(good)
    del bad_keys["1.bias"]
    bad_keys["2.weight"] = np.ones((1, 1))
    with pytest.raises(KeyError, match=r"1\.bias.*2\.weight"):
        model.load_state_dict(bad_keys)
    bad_shape = dict(good)
    bad_shape["0.weight"] = np.ones((3, 2))
    ge.save(bad_shape, tmp_path / "bad.ge")
    with pytest.raises(ge.ShapeError, match=r"0\.weight.*\(3, 2\).*\(2, 3\)"):
        model.load_weights(tmp_path / "bad.ge")
    assert_unchanged(before, model.parameters())


def test_other_bad_fit_arguments_raise_before_any_change():
    model = Sequential(Dense(3, input_dim=2, activation="relu"), Dense(3, activation="softmax"))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = snapshot(model.parameters())
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        model.fit(X_XOR, np.array([0, 1, 2, 3]), verbose=0)
    with pytest.raises(ge.DTypeError, match="integer"):
        model.fit(X_XOR, np.array([0.5, 1, 2, 0]), verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(X_XOR, np.array([0, 1, 2, 0]), batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(X_XOR, np.array([0, 1, 2, 0]), validation_split=1.5, verbose=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ge.ShapeError, match="sparse_categorical_crossentropy"):
        model.fit(X_XOR, np.array([0, 1, 2, 0]), verbose=0)
    assert_unchanged(before, model.parameters())


# ---------------------------------------------------------------- KeyboardInterrupt mid-fit

class _Interrupt(Exception):
    pass


def _params(model):
    return [p.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("where", ["forward", "between_backward_and_step", "inside_step"])
@pytest.mark.parametrize("seed", range(10))
def test_keyboard_interrupt_mid_fit_leaves_a_consistent_resumable_model(where, seed,
                                                                        monkeypatch):
    ge.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((16, 2)).astype(np.float32)
    y = (X[:, :1] * X[:, 1:] > 0).astype(np.float32)
    model = Sequential(Dense(4, input_dim=2, activation="tanh"),
                       Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(X, y, epochs=1, batch_size=4, verbose=0)
    opt = model.optimizer
    steps_done = opt._state[0][0]
    target_step = 4 * 2 + 1 + int(rng.integers(0, 4))  # somewhere in the third epoch
    snapshots = []
    calls = {"n": 0}

    class Track(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            snapshots.append(_params(model))

    if where == "forward":
        target_step += 1  # fit's one-sample probe also calls forward
        original = model[1].forward

        def forward(x):
            calls["n"] += 1
            if calls["n"] == target_step:
                raise KeyboardInterrupt
            return original(x)
        monkeypatch.setattr(model[1], "forward", forward)
        monkeypatch.setattr(model[1], "pre_activation", forward)
        model._invalidate()
    elif where == "between_backward_and_step":
        original = opt.step

        def step(closure=None):
            calls["n"] += 1
            if calls["n"] == target_step:
                assert all(p.grad is not None for p in opt.params)  # backward has run
                raise KeyboardInterrupt
            return original(closure)
        monkeypatch.setattr(opt, "step", step)
    else:
        original = opt.update_arrays

        def update(xp, d, g, st, group):
            calls["n"] += 1
            if calls["n"] == (target_step - 1) * len(opt.params) + len(opt.params) // 2 + 1:
                raise KeyboardInterrupt
            return original(xp, d, g, st, group)
        monkeypatch.setattr(opt, "update_arrays", update)

    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=5, batch_size=4, verbose=0, callbacks=[Track()])
    # All-before: the parameters equal the snapshot taken when the step began.
    now = _params(model)
    assert all(np.array_equal(a, b) for a, b in zip(now, snapshots[-1]))
    assert all(np.all(np.isfinite(a)) for a in now)
    completed = steps_done + len(snapshots) - 1
    for st, p in zip(opt._state, opt.params):
        assert st[0] == completed and st[1].shape == p.shape and np.all(np.isfinite(st[2]))
    assert model.history.epoch == [0, 1] and len(model.history.history["loss"]) == 2
    assert ge.is_grad_enabled()
    monkeypatch.undo()
    model._invalidate()
    hist = model.fit(X, y, epochs=13, batch_size=4, verbose=0).history  # 52 steps
    assert hist["loss"][-1] < hist["loss"][0]


def test_an_optimizer_that_misses_parameters_is_reported():
    model = Sequential(Dense(4, input_dim=2), Dense(1, input_dim=4))
    opt = optim.SGD(model.layers[0].parameters())  # not the second layer's
    model.compile(optimizer=opt, loss="mse")
    with pytest.warns(UserWarning, match="does not update"):
        model.fit(X_XOR, Y_XOR, verbose=0)
