"""Keras 3's masks and stateful RNNs against Keras itself (torch backend), with the same
initial weights: outputs, masks, losses and the weights after a few epochs of fit."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from gradengine.keras import layers as L  # noqa: E402
from gradengine.keras import losses as GL  # noqa: E402
from gradengine.keras import models as M  # noqa: E402
from gradengine.keras import optimizers as O  # noqa: E402
from gradengine.keras.functional import Model  # noqa: E402

KL = keras.layers
RNG = np.random.default_rng(0)
N, T = 8, 5
X = RNG.integers(1, 10, (N, T))
for _i in range(N):
    X[_i, RNG.integers(2, T + 1):] = 0  # right padding of random lengths


def _np(t):
    """A torch tensor (Keras' output) or a Keras variable as a NumPy array."""
    if hasattr(t, "detach"):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def _kmask(t):
    m = getattr(t, "_keras_mask", None)
    return None if m is None else np.asarray(m.detach().cpu())


def _gmask(t):
    m = getattr(t, "_keras_mask", None)
    return None if m is None else m.numpy()


def _pair(make):
    """The same model in Keras and gradengine, gradengine given Keras' weights."""
    k = make(keras.Sequential, KL)
    k.build((None, T))
    g = make(M.Sequential, L)
    g(X[:1])
    g.set_weights(k.get_weights())
    return k, g


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("backwards", [False, True])
def test_masked_rnn_matches_keras(cell, seq, backwards):
    k, g = _pair(lambda S, lib: S([lib.Embedding(10, 3, mask_zero=True),
                                   getattr(lib, cell)(4, return_sequences=seq,
                                                      go_backwards=backwards)]))
    ko, go = k(X), g(X)
    np.testing.assert_allclose(go.numpy(), _np(ko), atol=1e-6)
    assert (_kmask(ko) is None) == (_gmask(go) is None) == (not seq)
    if seq:
        np.testing.assert_array_equal(_gmask(go), _kmask(ko))


def test_embedding_and_masking_layers_make_keras_masks():
    ke, ge_ = KL.Embedding(10, 2, mask_zero=True), L.Embedding(10, 2, mask_zero=True)
    ke.build((None, T))
    ge_.set_weights(ke.get_weights())
    np.testing.assert_array_equal(_gmask(ge_(X)), _kmask(ke(X)))
    np.testing.assert_array_equal(ge_.compute_mask(ge_._prepare(X)).numpy(),
                                  np.asarray(ke.compute_mask(X)))
    assert getattr(L.Embedding(10, 2)(X), "_keras_mask", None) is None
    v = RNG.normal(size=(3, 4, 2)).astype("float32")
    v[0, 2:] = 0.5
    v[1, 0] = 0.5
    km, gm = KL.Masking(mask_value=0.5), L.Masking(mask_value=0.5)
    ko, go = km(v), gm(v)
    np.testing.assert_allclose(go.numpy(), _np(ko))
    np.testing.assert_array_equal(_gmask(go), _kmask(ko))


def test_mask_passes_through_dense_dropout_and_stops_at_pooling():
    def make(S, lib):
        return S([lib.Embedding(10, 3, mask_zero=True), lib.Dense(4), lib.Dropout(0.3),
                  lib.LSTM(3, return_sequences=True), lib.GlobalAveragePooling1D()])
    k, g = _pair(make)
    ko, go = k(X, training=False), g(X, training=False)
    np.testing.assert_allclose(go.numpy(), _np(ko), atol=1e-6)
    assert _kmask(ko) is None and _gmask(go) is None
    # GlobalAveragePooling1D alone, given the mask: the mean of the kept steps
    v = RNG.normal(size=(N, T, 2)).astype("float32")
    np.testing.assert_allclose(L.GlobalAveragePooling1D()(v, mask=X != 0).numpy(),
                               _np(KL.GlobalAveragePooling1D()(v, mask=X != 0)), atol=1e-6)


def test_layer_without_masking_drops_mask_with_keras_warning():
    e = L.Embedding(10, 3, mask_zero=True)
    with pytest.warns(UserWarning, match="does not support masking"):
        out = L.Flatten()(e(X))
    assert getattr(out, "_keras_mask", None) is None


@pytest.mark.parametrize("merge", ["concat", "sum", None])
def test_bidirectional_masked_matches_keras(merge):
    def make(S, lib):
        return S([lib.Embedding(10, 3, mask_zero=True),
                  lib.Bidirectional(lib.GRU(2, return_sequences=True), merge_mode=merge or
                                    "concat")])
    k, g = _pair(make)
    ko, go = k(X), g(X)
    np.testing.assert_allclose(go.numpy(), _np(ko), atol=1e-6)
    np.testing.assert_array_equal(_gmask(go), _kmask(ko))


def test_functional_model_propagates_masks():
    def build(lib, Model_):
        inp = lib.Input((T,), dtype="int32")
        h = lib.Embedding(10, 3, mask_zero=True)(inp)
        h = lib.LSTM(4, return_sequences=True)(h)
        return Model_(inp, lib.Dense(2)(h))
    k = build(KL, keras.Model)
    g = build(L, Model)
    g.set_weights(k.get_weights())
    ko, go = k(X), g(X)
    np.testing.assert_allclose(go.numpy(), _np(ko), atol=1e-6)
    np.testing.assert_array_equal(_gmask(go), _kmask(ko))


@pytest.mark.parametrize("loss,units,act,metrics,mask", [
    ("mse", 2, None, ["mae", "mse"], True), ("binary_crossentropy", 1, "sigmoid",
                                             ["accuracy"], True),
    ("sparse_categorical_crossentropy", 3, "softmax", ["accuracy"], True),
    ("categorical_crossentropy", 3, "softmax", ["accuracy"], True),
    ("mse", 2, None, ["mae"], False),  # sequence outputs without a mask too
    ("categorical_crossentropy", 3, "softmax", ["accuracy"], False)])
def test_fit_leaves_masked_steps_out_of_loss_and_metrics(loss, units, act, metrics, mask):
    if loss == "mse":
        y = RNG.normal(size=(N, T, 2)).astype("float32")
    elif loss == "binary_crossentropy":
        y = RNG.integers(0, 2, (N, T, 1)).astype("float32")
    elif loss == "categorical_crossentropy":
        y = np.eye(3, dtype="float32")[RNG.integers(0, 3, (N, T))]
    else:
        y = RNG.integers(0, 3, (N, T))

    def make(S, lib):
        return S([lib.Embedding(10, 3, mask_zero=mask), lib.LSTM(4, return_sequences=True),
                  lib.Dense(units, activation=act)])
    k, g = _pair(make)
    k.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss, metrics=metrics)
    g.compile(optimizer=O.SGD(0.5), loss=loss, metrics=metrics)
    ek = k.evaluate(X, y, batch_size=3, verbose=0, return_dict=True)
    eg = g.evaluate(X, y, batch_size=3, verbose=0, return_dict=True)
    assert sorted(eg) == sorted(ek)
    for key in ek:
        assert eg[key] == pytest.approx(ek[key], rel=1e-5), key
    hk = k.fit(X, y, epochs=2, batch_size=3, shuffle=False, verbose=0).history
    hg = g.fit(X, y, epochs=2, batch_size=3, shuffle=False, verbose=0).history
    for key in hk:
        np.testing.assert_allclose(hg[key], hk[key], rtol=1e-5, err_msg=key)
    for a, b in zip(g.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    if mask and loss == "mse":  # the mask matters: the mean over every step differs
        out = g(X)
        masked = float(GL.MeanSquaredError()(y, out).item())
        del out._keras_mask
        assert float(GL.MeanSquaredError()(y, out).item()) != pytest.approx(masked, rel=1e-4)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_loss_object_on_masked_predictions(reduction):
    import torch
    p = RNG.normal(size=(3, 4, 2)).astype("float32")
    t = RNG.normal(size=(3, 4, 2)).astype("float32")
    m = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]], bool)
    kp = torch.tensor(p)
    kp._keras_mask = torch.tensor(m)
    import gradengine as ge
    gp = ge.tensor(p)
    gp._keras_mask = ge.tensor(m)
    kv = keras.losses.MeanSquaredError(reduction=reduction)(t, kp)
    gv = GL.MeanSquaredError(reduction=reduction)(t, gp)
    np.testing.assert_allclose(gv.numpy(), _np(kv), rtol=1e-6)


# ------------------------------------------------------------------ stateful RNNs
@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_stateful_rnn_carries_states_between_calls(cell):
    v = RNG.normal(size=(2, 3, 2)).astype("float32")
    kl = getattr(KL, cell)(3, stateful=True, return_sequences=True)
    k = keras.Sequential([keras.Input(batch_shape=(2, 3, 2)), kl])
    gl = getattr(L, cell)(3, stateful=True, return_sequences=True)
    g = M.Sequential([L.Input((3, 2), batch_size=2), gl])
    g.set_weights(k.get_weights())
    for _ in range(2):
        np.testing.assert_allclose(g(v).numpy(), _np(k(v)), atol=1e-6)
    for a, b in zip(gl.states, kl.states):
        np.testing.assert_allclose(a.numpy(), _np(b.value), atol=1e-6)
    kl.reset_states()
    gl.reset_states()
    np.testing.assert_allclose(g(v).numpy(), _np(k(v)), atol=1e-6)
    with pytest.raises(ValueError, match="batch size"):
        g(v[:1])


def test_stateful_fit_matches_keras():
    """Keras' own stateful fit breaks on the torch backend (an in-place state update under
    autograd), so the oracle is the same training written out with Keras' stateless LSTM:
    each batch starts from the states the previous batch ended with (computed before the
    update, as a stateful fit does), and the states carry across epochs."""
    x = RNG.normal(size=(8, 3, 2)).astype("float32")
    y = RNG.normal(size=(8, 1)).astype("float32")
    inp, h0, c0 = keras.Input((3, 2)), keras.Input((3,)), keras.Input((3,))
    lstm, dense = KL.LSTM(3, return_state=True), KL.Dense(1)
    out, h, c = lstm(inp, initial_state=[h0, c0])
    train = keras.Model([inp, h0, c0], dense(out))
    states = keras.Model([inp, h0, c0], [h, c])
    train.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    g = M.Sequential([L.Input((3, 2), batch_size=4), L.LSTM(3, stateful=True), L.Dense(1)])
    g.set_weights(train.get_weights())
    g.compile(optimizer=O.SGD(0.1), loss="mse")
    hist = []
    st = [np.zeros((4, 3), "float32")] * 2
    for _ in range(2):
        losses = []
        for i in (0, 4):
            nxt = states.predict([x[i:i + 4]] + st, verbose=0)
            losses.append(train.train_on_batch([x[i:i + 4]] + st, y[i:i + 4]))
            st = [np.asarray(v) for v in nxt]
        hist.append(np.mean(losses))
    hg = g.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(hg, hist, rtol=1e-5)
    for a, b in zip(g.get_weights(), train.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for a, b in zip(g.layers[0].states, st):
        np.testing.assert_allclose(a.numpy(), b, atol=1e-5)


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_return_state_initial_state_unroll(cell):
    v = RNG.normal(size=(2, 4, 3)).astype("float32")
    kl = getattr(KL, cell)(2, return_state=True, return_sequences=True, unroll=True)
    gl = getattr(L, cell)(2, return_state=True, return_sequences=True, unroll=True)
    ko = kl(v)
    gl(v)
    gl.set_weights(kl.get_weights())
    init = [RNG.normal(size=(2, 2)).astype("float32") for _ in ko[1:]]
    ko = kl(v, initial_state=init)
    go = gl(v, initial_state=init)
    assert len(go) == len(ko)
    for a, b in zip(go, ko):
        np.testing.assert_allclose(a.numpy(), _np(b), atol=1e-6)


@pytest.mark.parametrize("cls,kw", [
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}),
    ("GroupQueryAttention", {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1})])
def test_attention_reads_query_and_value_masks(cls, kw):
    import warnings
    ke = KL.Embedding(10, 4, mask_zero=True)
    ke.build((None, T))
    g_emb = L.Embedding(10, 4, mask_zero=True)
    g_emb.set_weights(ke.get_weights())
    km, gm = getattr(KL, cls)(**kw), getattr(L, cls)(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' inner EinsumDense layers drop the mask
        km(ke(X), ke(X))
        gm(g_emb(X), g_emb(X))
        gm.set_weights(km.get_weights())
        x2 = X[:, :3]
        for q, v in ((X, X), (X, x2)):
            ko, go = km(ke(q), ke(v)), gm(g_emb(q), g_emb(v))
            np.testing.assert_allclose(go.numpy(), _np(ko), atol=1e-6)
            np.testing.assert_array_equal(_gmask(go), _kmask(ko))


def test_batch_normalization_uses_the_kept_steps_in_fit():
    y = RNG.normal(size=(N, 2)).astype("float32")

    def make(S, lib):
        return S([lib.Embedding(10, 3, mask_zero=True), lib.BatchNormalization(momentum=0.5),
                  lib.LSTM(4), lib.Dense(2)])
    k, g = _pair(make)
    k.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    g.compile(optimizer=O.SGD(0.5), loss="mse")
    hk = k.fit(X, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    hg = g.fit(X, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(hg, hk, rtol=1e-5)
    for a, b in zip(g.get_weights(), k.get_weights()):  # moving statistics included
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_plain_loss_function_is_masked_as_keras_wraps_it():
    import gradengine.functional as F
    y = RNG.normal(size=(N, T, 2)).astype("float32")

    def make(S, lib):
        return S([lib.Embedding(10, 3, mask_zero=True), lib.GRU(4, return_sequences=True),
                  lib.Dense(2)])
    k, g = _pair(make)
    k.compile(optimizer=keras.optimizers.SGD(0.5),
              loss=lambda t, p: keras.ops.mean(keras.ops.abs(t - p), axis=-1))
    g.compile(optimizer=O.SGD(0.5), loss=lambda p, t: F.abs(p - t).mean(axis=-1))
    hk = k.fit(X, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    hg = g.fit(X, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(hg, hk, rtol=1e-5)


@pytest.mark.parametrize("body", ["bidirectional", "pooling"])
def test_masked_classifiers_fit_as_keras(body):
    y = RNG.integers(0, 2, (N, 1)).astype("float32")

    def make(S, lib):
        mid = [lib.Bidirectional(lib.LSTM(3))] if body == "bidirectional" else \
            [lib.Dense(4, activation="relu"), lib.GlobalAveragePooling1D()]
        return S([lib.Embedding(10, 3, mask_zero=True)] + mid +
                 [lib.Dense(1, activation="sigmoid")])
    k, g = _pair(make)
    k.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy",
              metrics=["accuracy"])
    g.compile(optimizer=O.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    hk = k.fit(X, y, epochs=3, batch_size=4, shuffle=False, verbose=0).history
    hg = g.fit(X, y, epochs=3, batch_size=4, shuffle=False, verbose=0).history
    for key in hk:
        np.testing.assert_allclose(hg[key], hk[key], rtol=1e-5, err_msg=key)
    for a, b in zip(g.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("merge", ["Add", "Concatenate", "Average"])
def test_merged_masks_match_keras(merge):
    x2 = X[::-1].copy()

    def build(lib, Model_):
        a, b = lib.Input((T,), dtype="int32"), lib.Input((T,), dtype="int32")
        ea, eb = lib.Embedding(10, 3, mask_zero=True), lib.Embedding(10, 3, mask_zero=True)
        return Model_([a, b], getattr(lib, merge)()([ea(a), eb(b)]))
    k, g = build(KL, keras.Model), build(L, Model)
    g.set_weights(k.get_weights())
    ko, go = k([X, x2]), g([X, x2])
    np.testing.assert_allclose(go.numpy(), _np(ko), atol=1e-6)
    np.testing.assert_array_equal(_gmask(go), _kmask(ko))
