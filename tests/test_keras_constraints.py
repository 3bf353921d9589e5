"""gradengine.keras.constraints and gradengine.keras.config against Keras 3 (torch
backend) where it is installed, and against NumPy formulas everywhere."""

from __future__ import annotations

import os

import numpy as np
import pytest

import gradengine as ge
from gradengine import keras

rng = np.random.default_rng(0)
W = rng.standard_normal((4, 3)).astype(np.float32) * 2
W4 = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)

CASES = [("MaxNorm", {}), ("MaxNorm", {"max_value": 1.5, "axis": 1}), ("NonNeg", {}),
         ("UnitNorm", {}), ("UnitNorm", {"axis": [0, 1, 2]}), ("MinMaxNorm", {}),
         ("MinMaxNorm", {"min_value": 0.5, "max_value": 2.0, "rate": 0.5, "axis": 1})]


@pytest.fixture(scope="module")
def real_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("the oracle needs Keras' torch backend")
    return k


@pytest.mark.parametrize("name,kw", CASES)
def test_constraints_match_keras(real_keras, name, kw):
    w = W4 if isinstance(kw.get("axis"), list) else W
    theirs = getattr(real_keras.constraints, name)(**kw)
    ours = getattr(keras.constraints, name)(**kw)
    want = real_keras.ops.convert_to_numpy(theirs(real_keras.ops.convert_to_tensor(w)))
    np.testing.assert_allclose(ours(ge.tensor(w)).numpy(), want, rtol=1e-6, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert keras.constraints.serialize(ours) == real_keras.constraints.serialize(theirs)


def test_constraint_formulas():
    norms = np.sqrt((W ** 2).sum(0, keepdims=True))
    eps = keras.backend.epsilon()
    np.testing.assert_allclose(keras.constraints.MaxNorm(1.0)(ge.tensor(W)).numpy(),
                               W * np.clip(norms, 0, 1.0) / (eps + norms), rtol=1e-6)
    np.testing.assert_allclose(keras.constraints.UnitNorm()(ge.tensor(W)).numpy(),
                               W / (eps + norms), rtol=1e-6)
    np.testing.assert_array_equal(keras.constraints.NonNeg()(ge.tensor(W)).numpy(),
                                  np.maximum(W, 0))
    w = ge.tensor(W, requires_grad=True)
    (g,) = ge.grad(keras.constraints.MinMaxNorm(0.5, 1.0)(w).sum(), [w])
    assert g.shape == W.shape and np.isfinite(g.numpy()).all()


def test_get_serialize_round_trip():
    c = keras.constraints
    assert isinstance(c.get("max_norm"), c.MaxNorm) and isinstance(c.get("NonNeg"), c.NonNeg)
    assert c.get(None) is None and isinstance(c.get(c.UnitNorm), c.UnitNorm)
    m = c.MinMaxNorm(0.1, 3.0, 0.7, axis=1)
    back = c.deserialize(c.serialize(m))
    assert isinstance(back, c.MinMaxNorm) and back.get_config() == m.get_config()
    fn = lambda w: w * 0.5  # noqa: E731
    assert c.get(fn) is fn
    with pytest.raises(ValueError):
        c.get("no_such_constraint")


def test_config():
    cfg = keras.config
    assert cfg.backend() == "gradengine" and cfg.floatx() == "float32"
    assert cfg.image_data_format() == "channels_last"
    old = cfg.epsilon()
    cfg.set_epsilon(1e-5)
    assert keras.backend.epsilon() == 1e-5
    cfg.set_epsilon(old)
    for on, off, read in [(cfg.enable_traceback_filtering, cfg.disable_traceback_filtering,
                           cfg.is_traceback_filtering_enabled),
                          (cfg.enable_interactive_logging, cfg.disable_interactive_logging,
                           cfg.is_interactive_logging_enabled),
                          (cfg.enable_flash_attention, cfg.disable_flash_attention,
                           cfg.is_flash_attention_enabled)]:
        off()
        assert read() is False
        on()
        assert read() is True
    cfg.set_max_epochs(3)
    assert cfg.max_epochs() == 3
    cfg.set_max_epochs(None)
    assert cfg.dtype_policy().name == "float32" and not cfg.is_nnx_enabled()
    cfg.set_dtype_policy("float32")
    with pytest.raises(NotImplementedError):
        cfg.set_dtype_policy("mixed_float16")
    with pytest.raises(ValueError):
        cfg.set_backend("jax")
    cfg.enable_unsafe_deserialization()
    assert cfg.is_unsafe_deserialization_enabled()


def test_config_names_match_keras(real_keras):
    theirs = {n for n in dir(real_keras.config) if not n.startswith("_")}
    assert theirs <= set(keras.config.__all__)
    assert {n for n in dir(real_keras.constraints) if not n.startswith("_")} <= \
        set(keras.constraints.__all__)


def _constrained(K):
    return K.Sequential([
        K.Input(shape=(6, 6, 2)),
        K.layers.Conv2D(3, 3, kernel_constraint=K.constraints.MaxNorm(0.2),
                        bias_constraint="non_neg"),
        K.layers.Flatten(),
        K.layers.Dense(1, kernel_constraint=K.constraints.UnitNorm(axis=0))])


@pytest.mark.parametrize("jit", [False, True])
def test_fit_applies_the_layers_weight_constraints_after_each_update(jit):
    rng = np.random.default_rng(0)
    x = rng.random((32, 6, 6, 2)).astype("float32")
    y = rng.random((32, 1)).astype("float32") * 5
    from gradengine import keras as gk
    m = _constrained(gk)
    m.compile(optimizer=gk.optimizers.SGD(learning_rate=0.5), loss="mse", jit_compile=jit)
    m.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    kernel, bias, dense, _ = m.get_weights()
    norms = np.sqrt((kernel ** 2).sum(axis=0))  # MaxNorm's default axis=0, as Keras'
    assert (norms <= 0.2 + 1e-6).all() and (bias >= 0).all() and norms.max() > 0.19
    np.testing.assert_allclose(np.sqrt((dense ** 2).sum(axis=0)), 1.0, rtol=1e-5)


def test_constrained_fit_matches_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the oracle needs Keras' torch backend")
    from gradengine import keras as gk
    rng = np.random.default_rng(0)
    x = rng.random((32, 6, 6, 2)).astype("float32")
    y = rng.random((32, 1)).astype("float32")
    km, gm = _constrained(keras), _constrained(gk)
    gm.set_weights(km.get_weights())
    for m in (km, gm):
        m.compile(optimizer="sgd", loss="mse")
        m.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(km.get_weights(), gm.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
