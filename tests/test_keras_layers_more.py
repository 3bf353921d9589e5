"""The Keras layers of gradengine.keras.layers_more and layers_rnn: against Keras 3 itself
(torch backend, the same weights copied in through set_weights: outputs and input
gradients), skipped without Keras; and against torch / NumPy references written here, so
that CI without Keras still checks every layer."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import gradengine as ge
from gradengine import keras as G
from gradengine.keras import layers as L

os.environ.setdefault("KERAS_BACKEND", "torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _keras():
    K = pytest.importorskip("keras")
    if K.backend.backend() != "torch":
        pytest.skip("the Keras oracle runs on the torch backend")
    return K


# (layer name, constructor kwargs, input shape)
ORACLE = [
    ("Conv1D", dict(filters=4, kernel_size=3), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, padding="same", strides=2), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=2, groups=2, data_format="channels_first"),
     (2, 4, 7)),
    ("Conv3D", dict(filters=3, kernel_size=2), (2, 4, 5, 4, 2)),
    ("Conv3D", dict(filters=3, kernel_size=(3, 2, 2), padding="same", strides=(2, 1, 2)),
     (2, 5, 4, 5, 2)),
    ("Conv3D", dict(filters=2, kernel_size=2, dilation_rate=(2, 1, 1), activation="relu"),
     (1, 5, 3, 3, 2)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2), (2, 5, 2)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=4, strides=2, padding="same"), (2, 5, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"),
     (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=2, strides=3), (1, 3, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, output_padding=1),
     (1, 3, 4, 2)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2), (1, 3, 2, 3, 2)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=3, strides=(2, 1, 2), padding="same"),
     (1, 3, 3, 2, 2)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2), (2, 7, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, padding="same"),
     (2, 5, 6, 3)),
    ("DepthwiseConv2D", dict(kernel_size=2, strides=2), (2, 5, 6, 3)),
    ("SeparableConv1D", dict(filters=4, kernel_size=3, depth_multiplier=2), (2, 7, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, padding="same"), (2, 5, 6, 3)),
    ("MaxPooling1D", dict(pool_size=2), (2, 7, 3)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    ("MaxPooling3D", dict(pool_size=2), (2, 4, 5, 4, 2)),
    ("MaxPooling3D", dict(pool_size=2, padding="same"), (1, 3, 5, 3, 2)),
    ("AveragePooling1D", dict(pool_size=2), (2, 7, 3)),
    # "same" with symmetric padding: Keras' torch backend pads an odd total by repeating
    # the edge (its average then differs from TensorFlow's and JAX's, which we follow)
    ("AveragePooling1D", dict(pool_size=3, strides=1, padding="same"), (2, 8, 3)),
    ("AveragePooling2D", dict(pool_size=3, strides=1, padding="same"), (2, 6, 5, 3)),
    ("AveragePooling3D", dict(pool_size=2), (2, 4, 5, 4, 2)),
    ("AveragePooling3D", dict(pool_size=2, padding="same"), (1, 3, 5, 3, 2)),
    ("GlobalMaxPooling1D", {}, (2, 5, 3)),
    ("GlobalAveragePooling1D", dict(keepdims=True), (2, 5, 3)),
    ("GlobalMaxPooling2D", dict(data_format="channels_first"), (2, 3, 4, 5)),
    ("GlobalAveragePooling2D", {}, (2, 4, 5, 3)),
    ("GlobalMaxPooling3D", {}, (2, 2, 3, 2, 3)),
    ("GlobalAveragePooling3D", dict(keepdims=True), (2, 2, 3, 2, 3)),
    ("UpSampling1D", dict(size=3), (2, 4, 3)),
    ("UpSampling2D", dict(size=(2, 3)), (2, 3, 4, 2)),
    ("UpSampling2D", dict(size=2, interpolation="bilinear"), (2, 3, 4, 2)),
    ("UpSampling3D", dict(size=2), (1, 2, 3, 2, 2)),
    ("ZeroPadding1D", dict(padding=(1, 2)), (2, 4, 3)),
    ("ZeroPadding2D", dict(padding=((1, 0), (2, 3))), (2, 3, 4, 2)),
    ("ZeroPadding3D", dict(padding=1), (1, 2, 3, 2, 2)),
    ("Cropping1D", dict(cropping=(1, 2)), (2, 6, 3)),
    ("Cropping2D", dict(cropping=((1, 0), (1, 2))), (2, 4, 5, 2)),
    ("Cropping3D", dict(cropping=1), (1, 4, 3, 4, 2)),
    ("Reshape", dict(target_shape=(3, -1)), (2, 4, 3)),
    ("Permute", dict(dims=(2, 1)), (2, 4, 3)),
    ("RepeatVector", dict(n=3), (2, 4)),
    ("Flatten", dict(data_format="channels_first"), (2, 3, 2, 2)),
    ("LayerNormalization", dict(axis=(1, 2)), (2, 3, 4)),
    ("LayerNormalization", dict(rms_scaling=True), (2, 3, 4)),
    ("RMSNormalization", {}, (2, 3, 4)),
    ("GroupNormalization", dict(groups=2), (2, 3, 3, 4)),
    ("GroupNormalization", dict(groups=3, axis=1), (2, 6, 5)),
    ("UnitNormalization", {}, (3, 4)),
    ("UnitNormalization", dict(axis=(1, 2)), (2, 3, 4)),
    ("ReLU", dict(max_value=1.0, negative_slope=0.1, threshold=0.2), (3, 5)),
    ("LeakyReLU", {}, (3, 5)),
    ("ELU", dict(alpha=0.5), (3, 5)),
    ("Softmax", dict(axis=1), (3, 5)),
    ("PReLU", dict(alpha_initializer="random_uniform", shared_axes=[1]), (2, 3, 4)),
    ("Identity", {}, (3, 5)),
    ("Masking", {}, None),
    ("Rescaling", dict(scale=1 / 255, offset=-1.0), (3, 5)),
    ("ActivityRegularization", dict(l1=0.1), (3, 5)),
    ("GaussianNoise", dict(stddev=0.5), (3, 5)),
    ("GaussianDropout", dict(rate=0.5), (3, 5)),
    ("AlphaDropout", dict(rate=0.5), (3, 5)),
    ("SpatialDropout1D", dict(rate=0.5), (2, 4, 3)),
    ("SpatialDropout2D", dict(rate=0.5), (2, 4, 3, 2)),
]


def _oracle_id(row):
    name, kw, _ = row
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def _masking_input():
    x = _x((2, 4, 3))
    x[0, 1] = 0.0
    x[1, 3] = 0.0
    return x


@pytest.mark.parametrize("row", ORACLE, ids=[_oracle_id(r) for r in ORACLE])
def test_layer_matches_keras_outputs_and_input_gradients(row):
    K = _keras()
    name, kw, shape = row
    x = _masking_input() if shape is None else _x(shape)
    k_layer = getattr(K.layers, name)(**kw)
    g_layer = getattr(L, name)(**kw)
    xt = torch.tensor(x, requires_grad=True)
    k_out = k_layer(xt, training=False)
    g_layer(ge.tensor(x), training=False)  # builds
    g_layer.set_weights(k_layer.get_weights())
    assert [w.shape for w in g_layer.get_weights()] == \
        [w.shape for w in k_layer.get_weights()]
    xg = ge.tensor(x, requires_grad=True)
    g_out = g_layer(xg, training=False)
    assert tuple(g_out.shape) == tuple(k_out.shape)
    np.testing.assert_allclose(g_out.numpy(), k_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    r = _x(tuple(k_out.shape), seed=1)
    (k_out * torch.tensor(r)).sum().backward()
    (g_out * ge.tensor(r)).sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)


def _compare(k_out, g_out, xt, xg):
    k_list = k_out if isinstance(k_out, (list, tuple)) else [k_out]
    g_list = g_out if isinstance(g_out, (list, tuple)) else [g_out]
    assert len(k_list) == len(g_list)
    for k, g in zip(k_list, g_list):
        assert tuple(g.shape) == tuple(k.shape)
        np.testing.assert_allclose(g.numpy(), k.detach().numpy(), rtol=1e-4, atol=1e-5)
    ks = sum((k * torch.tensor(_x(tuple(k.shape), seed=i + 1))).sum()
             for i, k in enumerate(k_list))
    gs = None
    for i, g in enumerate(g_list):
        term = (g * ge.tensor(_x(tuple(g.shape), seed=i + 1))).sum()
        gs = term if gs is None else gs + term
    ks.backward()
    gs.backward()
    for a, b in zip(xg, xt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


RNN_ORACLE = [
    ("SimpleRNN", dict(units=4)),
    ("SimpleRNN", dict(units=4, return_sequences=True, go_backwards=True)),
    ("LSTM", dict(units=3)),
    ("LSTM", dict(units=3, return_sequences=True, return_state=True)),
    ("LSTM", dict(units=3, go_backwards=True, use_bias=False)),
    ("GRU", dict(units=3, return_sequences=True)),
    ("GRU", dict(units=3, return_state=True, reset_after=False)),
]


@pytest.mark.parametrize("row", RNN_ORACLE, ids=[f"{n}-{kw}" for n, kw in RNN_ORACLE])
def test_recurrent_layer_matches_keras(row):
    K = _keras()
    name, kw = row
    x = _x((2, 5, 3))
    k_layer, g_layer = getattr(K.layers, name)(**kw), getattr(L, name)(**kw)
    xt = torch.tensor(x, requires_grad=True)
    k_out = k_layer(xt)
    g_layer(ge.tensor(x))
    assert [w.shape for w in g_layer.get_weights()] == [w.shape for w in k_layer.get_weights()]
    g_layer.set_weights(k_layer.get_weights())
    xg = ge.tensor(x, requires_grad=True)
    _compare(k_out, g_layer(xg), [xt], [xg])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_matches_keras(merge_mode):
    K = _keras()
    x = _x((2, 4, 3))
    k = K.layers.Bidirectional(K.layers.LSTM(3, return_sequences=True), merge_mode=merge_mode)
    g = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode=merge_mode)
    xt = torch.tensor(x, requires_grad=True)
    k_out = k(xt)
    g(ge.tensor(x))
    g.set_weights(k.get_weights())
    xg = ge.tensor(x, requires_grad=True)
    _compare(k_out, g(xg), [xt], [xg])


def test_bidirectional_gru_return_state_and_initial_state_match_keras():
    K = _keras()
    x, h0, h1 = _x((2, 4, 3)), _x((2, 2), 5), _x((2, 2), 6)
    k = K.layers.Bidirectional(K.layers.GRU(2, return_state=True))
    g = L.Bidirectional(L.GRU(2, return_state=True))
    ts = [torch.tensor(a, requires_grad=True) for a in (x, h0, h1)]
    k_out = k(ts[0], initial_state=[ts[1], ts[2]])
    g(ge.tensor(x))
    g.set_weights(k.get_weights())
    gs = [ge.tensor(a, requires_grad=True) for a in (x, h0, h1)]
    _compare(k_out, g(gs[0], initial_state=[gs[1], gs[2]]), ts, gs)


def test_lstm_mask_and_initial_state_match_keras():
    K = _keras()
    x, h0, c0 = _x((2, 5, 3)), _x((2, 3), 5), _x((2, 3), 6)
    mask = np.array([[1, 1, 0, 1, 0], [1, 0, 1, 1, 1]], dtype=bool)
    k = K.layers.LSTM(3, return_sequences=True, return_state=True)
    g = L.LSTM(3, return_sequences=True, return_state=True)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, h0, c0)]
    k_out = k(ts[0], initial_state=[ts[1], ts[2]], mask=torch.tensor(mask))
    g(ge.tensor(x))
    g.set_weights(k.get_weights())
    gs = [ge.tensor(a, requires_grad=True) for a in (x, h0, c0)]
    _compare(k_out, g(gs[0], initial_state=[gs[1], gs[2]], mask=mask), ts, gs)


def test_stacked_cells_and_time_distributed_match_keras():
    K = _keras()
    x = _x((2, 4, 3))
    k = K.layers.RNN([K.layers.GRUCell(3), K.layers.SimpleRNNCell(2)], return_sequences=True)
    g = L.RNN([L.GRUCell(3), L.SimpleRNNCell(2)], return_sequences=True)
    xt = torch.tensor(x, requires_grad=True)
    k_out = k(xt)
    g(ge.tensor(x))
    g.set_weights(k.get_weights())
    xg = ge.tensor(x, requires_grad=True)
    _compare(k_out, g(xg), [xt], [xg])
    k = K.layers.TimeDistributed(K.layers.Dense(5))
    g = L.TimeDistributed(L.Dense(5))
    xt = torch.tensor(x, requires_grad=True)
    k_out = k(xt)
    g(ge.tensor(x))
    g.set_weights(k.get_weights())
    xg = ge.tensor(x, requires_grad=True)
    _compare(k_out, g(xg), [xt], [xg])
