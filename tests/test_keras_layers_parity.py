"""gradengine.keras layers against Keras 3 (torch backend) as the oracle: the same layer
built in both, Keras' weights copied in (``set_weights(keras_layer.get_weights())``), and
the outputs, scores and gradients compared."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import gradengine as ge  # noqa: E402
from gradengine.keras import layers as L  # noqa: E402

K = keras.layers


def _np(x):
    if isinstance(x, (list, tuple)):
        return [_np(a) for a in x]
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x.numpy())


def _pair(k_layer, g_layer, *inputs, **call):
    """Both layers called on ``inputs`` (Keras' weights copied into gradengine's)."""
    k_out = k_layer(*[keras.ops.convert_to_tensor(a) for a in inputs], **call)
    g_layer(*[ge.tensor(a) for a in inputs], **call)
    g_layer.set_weights(k_layer.get_weights())
    g_out = g_layer(*[ge.tensor(a) for a in inputs], **call)
    return _np(k_out), _np(g_out)


def _close(a, b, atol=1e-5):
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y, atol)
        return
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, atol=atol, rtol=1e-4)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# -- activation= takes every Keras activation name (keras.activations.get)

@pytest.mark.parametrize("name", ["celu", "hard_tanh", "soft_shrink", "squareplus",
                                  "sparse_plus", "tanh_shrink", "glu"])
def test_activation_layer_takes_every_keras_name(name):
    _close(*_pair(K.Activation(name), L.Activation(name), _rand(2, 6)))


def test_conv_and_rnn_activation_by_keras_name():
    x = _rand(2, 7, 4)
    _close(*_pair(K.Conv1D(3, 3, activation="hard_tanh"),
                  L.Conv1D(3, 3, activation="hard_tanh"), x))
    _close(*_pair(K.LSTM(3, activation="soft_shrink", recurrent_activation="hard_tanh"),
                  L.LSTM(3, activation="soft_shrink", recurrent_activation="hard_tanh"), x))


# -- Concatenate may join the batch axis, as Keras

def test_concatenate_on_the_batch_axis():
    a, b = _rand(2, 3, 4), _rand(3, 3, 4, seed=1)
    k = K.Concatenate(axis=0)([keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)])
    g = L.Concatenate(axis=0)([ge.tensor(a), ge.tensor(b)])
    _close(_np(k), _np(g))


# -- MultiHeadAttention over attention_axes, Keras' scores layout

@pytest.mark.parametrize("axes,q_shape,v_shape", [
    (None, (2, 3, 4, 5), (2, 2, 3, 5)),  # every axis: scores (B, N, T1, T2, S1, S2)
    ((2,), (2, 3, 4, 5), (2, 3, 6, 5)),
    (-2, (2, 3, 4, 5), (2, 3, 6, 5)),
    ((1, 2), (2, 3, 4, 5), (2, 3, 4, 5)),
    (1, (2, 3, 4, 5), (2, 4, 4, 5)),
])
def test_mha_attention_axes(axes, q_shape, v_shape):
    q, v = _rand(*q_shape), _rand(*v_shape, seed=1)
    k_mha = K.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=axes)
    g_mha = L.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=axes)
    k_out, g_out = _pair(k_mha, g_mha, q, v, return_attention_scores=True)
    _close(k_out, g_out)
    # an attention mask of the scores' shape without the heads axis
    shape = list(k_out[1].shape)
    del shape[-2 * len(k_mha._attention_axes) - 1]
    mask = np.random.default_rng(2).random(shape) > 0.3
    k_out = k_mha(keras.ops.convert_to_tensor(q), keras.ops.convert_to_tensor(v),
                  attention_mask=keras.ops.convert_to_tensor(mask))
    g_out = g_mha(ge.tensor(q), ge.tensor(v), attention_mask=ge.tensor(mask))
    _close(_np(k_out), _np(g_out))


def test_mha_attention_axes_gradients():
    q = _rand(2, 3, 4, 5)
    k_mha = K.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=(2,))
    g_mha = L.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=(2,))
    _pair(k_mha, g_mha, q, q)
    tq = torch.tensor(q, requires_grad=True)
    (k_mha(tq, tq) ** 2).sum().backward()
    gq = ge.tensor(q, requires_grad=True)
    (g_mha(gq, gq) ** 2).sum().backward()
    _close(tq.grad.numpy(), _np(gq.grad), atol=1e-4)
    for kw, gw in zip(k_mha.trainable_weights, g_mha.trainable_weights):
        _close(kw.value.grad.numpy(), _np(gw.grad), atol=1e-4)


def test_mha_returns_the_scores_before_dropout():
    # Keras returns the softmax weights; the dropout only reaches the combination
    q = _rand(2, 4, 5)
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5)
    ge.manual_seed(0)
    _, scores = mha(ge.tensor(q), ge.tensor(q), return_attention_scores=True, training=True)
    np.testing.assert_allclose(_np(scores).sum(-1), 1.0, atol=1e-5)


# -- SimpleRNN / LSTM / GRU configs carry zero_output_for_mask, as Keras'

@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_rnn_config_has_zero_output_for_mask(name):
    k_cfg = getattr(K, name)(3, zero_output_for_mask=True).get_config()
    g_layer = getattr(L, name)(3, zero_output_for_mask=True)
    g_cfg = g_layer.get_config()
    assert g_cfg["zero_output_for_mask"] is k_cfg["zero_output_for_mask"] is True
    assert type(g_layer).from_config(g_cfg).zero_output_for_mask is True
    assert getattr(L, name)(3).get_config()["zero_output_for_mask"] is False


# -- get_config keys: Keras' set

@pytest.mark.parametrize("name,args", [("BatchNormalization", {}),
                                       ("BatchNormalization", {"renorm_momentum": 0.9}),
                                       ("AdditiveAttention", {})])
def test_config_has_keras_keys(name, args):
    k_cfg = getattr(K, name)(**args).get_config()
    g_layer = getattr(L, name)(**args)
    g_cfg = g_layer.get_config()
    assert set(k_cfg) - {"dtype", "trainable", "name"} <= set(g_cfg)
    for key, value in args.items():
        assert g_cfg[key] == k_cfg[key] == value
    assert type(g_layer).from_config(g_cfg).get_config() == g_cfg


@pytest.mark.parametrize("name", ["celu", "glu", "hard_tanh", "soft_shrink", "squareplus",
                                  "sparse_plus", "tanh_shrink"])
def test_dense_takes_every_keras_activation_name(name):
    x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
    k = K.Dense(6, activation=name)
    k.build((None, 5))
    g = L.Dense(6, activation=name)
    g(ge.tensor(x))
    g.set_weights(k.get_weights())
    np.testing.assert_allclose(_np(g(ge.tensor(x))), _np(k(x)), atol=1e-6)
    assert g.get_config()["activation"] == name
