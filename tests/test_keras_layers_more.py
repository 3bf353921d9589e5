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
    ("Conv2D", dict(filters=3, kernel_size=3, padding="same", strides=2,
                    data_format="channels_first"), (2, 2, 5, 6)),
    ("Conv2D", dict(filters=4, kernel_size=2, groups=2, dilation_rate=2), (2, 6, 5, 4)),
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
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same",
                          data_format="channels_first"), (2, 3, 6, 5)),
    ("AveragePooling2D", dict(pool_size=2, data_format="channels_first"), (2, 3, 6, 5)),
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
    ("AdaptiveAveragePooling1D", dict(output_size=3), (2, 7, 2)),
    ("AdaptiveMaxPooling2D", dict(output_size=(2, 3)), (2, 5, 7, 2)),
    ("AdaptiveAveragePooling2D", dict(output_size=3, data_format="channels_first"),
     (2, 2, 5, 4)),
    ("AdaptiveMaxPooling3D", dict(output_size=2), (1, 3, 5, 4, 2)),
    ("EinsumDense", dict(equation="ab,bc->ac", output_shape=4, bias_axes="c"), (3, 5)),
    ("EinsumDense", dict(equation="...b,bc->...c", output_shape=4, bias_axes="c"),
     (2, 3, 5)),
    ("EinsumDense", dict(equation="abc,cde->abde", output_shape=(3, 2, 4), bias_axes="de"),
     (2, 3, 5)),
    ("EinsumDense", dict(equation="ab...,bc->ac...", output_shape=4), (2, 5, 3)),
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
    _compare_weight_grads(k_layer, g_layer)


def _compare_weight_grads(k_layer, g_layer):
    """The weights' gradients too (Keras' torch variables hold theirs in ``.value.grad``)."""
    k_params = k_layer.trainable_weights
    g_params = list(g_layer.parameters())
    assert len(k_params) == len(g_params)
    for kp, gp in zip(k_params, g_params):
        kg = kp.value.grad
        assert (kg is None) == (gp.grad is None)
        if kg is not None:
            np.testing.assert_allclose(gp.grad.numpy(), kg.numpy(), rtol=1e-4, atol=1e-5)


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
    _compare_weight_grads(k_layer, g_layer)


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


def _build_both(k, g, *xs, **kw):
    k_out = k(*[torch.tensor(a) for a in xs], **kw)
    g(*[ge.tensor(a) for a in xs], **kw)
    assert [w.shape for w in g.get_weights()] == [w.shape for w in k.get_weights()]
    g.set_weights(k.get_weights())
    return k_out


ATTENTION = [
    ("Attention", {}, {}),
    ("Attention", dict(use_scale=True), dict(use_causal_mask=True)),
    ("Attention", dict(score_mode="concat", use_scale=True), {}),
    ("AdditiveAttention", {}, dict(return_attention_scores=True)),
    ("AdditiveAttention", dict(use_scale=False), {}),
]


@pytest.mark.parametrize("row", ATTENTION, ids=[f"{a}-{b}-{c}" for a, b, c in ATTENTION])
def test_attention_layers_match_keras(row):
    K = _keras()
    name, kw, call = row
    q, v, key = _x((2, 3, 4)), _x((2, 5, 4), 1), _x((2, 5, 4), 2)
    k, g = getattr(K.layers, name)(**kw), getattr(L, name)(**kw)
    k([torch.tensor(q), torch.tensor(v), torch.tensor(key)], **call)
    g([ge.tensor(q), ge.tensor(v), ge.tensor(key)], **call)
    g.set_weights([np.asarray(w) + 0.5 for w in k.get_weights()])
    k.set_weights([np.asarray(w) + 0.5 for w in k.get_weights()])
    ts = [torch.tensor(a, requires_grad=True) for a in (q, v, key)]
    gs = [ge.tensor(a, requires_grad=True) for a in (q, v, key)]
    vmask = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 0]], dtype=bool)
    k_out = k(ts, mask=[None, torch.tensor(vmask)], **call)
    _compare(k_out, g(gs, mask=[None, vmask], **call), ts, gs)


@pytest.mark.parametrize("kw,call", [
    (dict(num_heads=2, key_dim=3), {}),
    (dict(num_heads=2, key_dim=3, value_dim=2, use_bias=False, output_shape=5),
     dict(use_causal_mask=True)),
    (dict(num_heads=3, key_dim=2), dict(return_attention_scores=True)),
])
def test_multi_head_attention_matches_keras(kw, call):
    K = _keras()
    q, v, key = _x((2, 3, 4)), _x((2, 5, 6), 1), _x((2, 5, 7), 2)
    amask = np.random.default_rng(3).random((2, 3, 5)) > 0.3
    amask[:, :, 0] = True
    k, g = K.layers.MultiHeadAttention(**kw), L.MultiHeadAttention(**kw)
    k(torch.tensor(q), torch.tensor(v), torch.tensor(key))
    g(ge.tensor(q), ge.tensor(v), ge.tensor(key))
    assert [w.shape for w in g.get_weights()] == [w.shape for w in k.get_weights()]
    g.set_weights(k.get_weights())
    ts = [torch.tensor(a, requires_grad=True) for a in (q, v, key)]
    gs = [ge.tensor(a, requires_grad=True) for a in (q, v, key)]
    for w in k.trainable_weights:  # the building call above left gradients out
        w.value.grad = None
    k_out = k(ts[0], ts[1], ts[2], attention_mask=torch.tensor(amask), **call)
    _compare(k_out, g(gs[0], gs[1], gs[2], attention_mask=amask, **call), ts, gs)
    _compare_weight_grads(k, g)


@pytest.mark.parametrize("axes,shapes,normalize", [
    (1, ((3, 4), (3, 4)), False),
    (1, ((3, 4), (3, 4)), True),
    ((2, 2), ((2, 3, 4), (2, 5, 4)), False),
    ((1, 2), ((2, 4, 3), (2, 5, 4)), True),
])
def test_dot_matches_keras(axes, shapes, normalize):
    K = _keras()
    a, b = _x(shapes[0]), _x(shapes[1], 1)
    ts = [torch.tensor(t, requires_grad=True) for t in (a, b)]
    gs = [ge.tensor(t, requires_grad=True) for t in (a, b)]
    k_out = K.layers.Dot(axes, normalize=normalize)(ts)
    _compare(k_out, L.Dot(axes, normalize=normalize)(gs), ts, gs)


def test_preprocessing_layers_match_keras():
    K = _keras()
    data = _x((20, 3)) * 3 + 1
    k, g = K.layers.Normalization(), L.Normalization()
    k.adapt(data)
    g.adapt(data)
    assert [w.shape for w in g.get_weights()] == [w.shape for w in k.get_weights()]
    for a, b in zip(g.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    x = _x((4, 3), 1)
    np.testing.assert_allclose(g(x).numpy(), np.asarray(k(x)), rtol=1e-5, atol=1e-6)
    kw = dict(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25])
    np.testing.assert_allclose(L.Normalization(**kw)(x).numpy(),
                               np.asarray(K.layers.Normalization(**kw)(x)), rtol=1e-5)
    np.testing.assert_allclose(L.Normalization(invert=True, **kw)(x).numpy(),
                               np.asarray(K.layers.Normalization(invert=True, **kw)(x)),
                               rtol=1e-5)
    tokens = np.array([[0, 1, 1], [3, 2, 0]])
    for mode in ("multi_hot", "count"):
        np.testing.assert_array_equal(
            L.CategoryEncoding(4, output_mode=mode)(tokens).numpy(),
            np.asarray(K.layers.CategoryEncoding(4, output_mode=mode)(tokens)))
    np.testing.assert_array_equal(
        L.CategoryEncoding(4, output_mode="one_hot")(np.array([0, 3, 1])).numpy(),
        np.asarray(K.layers.CategoryEncoding(4, output_mode="one_hot")(np.array([0, 3, 1]))))
    vals = np.array([[-1.5, 0.0, 0.5], [1.0, 2.5, 9.0]], dtype="float32")
    bounds = [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(
        L.Discretization(bin_boundaries=bounds)(vals).numpy(),
        np.asarray(K.layers.Discretization(bin_boundaries=bounds)(vals)))


# ------------------------------------------------ references without Keras (torch, NumPy)

TF = torch.nn.functional


def _tf_same(size, k, s, d=1):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _torch_conv(x, kernel, strides, padding, dilation, groups=1):
    """TensorFlow's convolution in torch: channels-last x, Keras' kernel layout."""
    r = x.ndim - 2
    xt = x.permute(0, r + 1, *range(1, r + 1))
    if padding == "same":
        pads = []
        for n, k, s, d in reversed(list(zip(xt.shape[2:], kernel.shape[:r], strides,
                                            dilation))):
            pads += list(_tf_same(n, k, s, d))
        xt = TF.pad(xt, pads)
    w = kernel.permute(r + 1, r, *range(r))
    out = getattr(TF, f"conv{r}d")(xt, w, None, strides, 0, dilation, groups)
    return out.permute(0, *range(2, r + 2), 1)


CONV_REF = [
    (L.Conv1D, dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 8, 2)),
    (L.Conv1D, dict(filters=4, kernel_size=2, dilation_rate=2, groups=2), (2, 7, 4)),
    (L.Conv3D, dict(filters=3, kernel_size=(2, 3, 2), strides=(1, 2, 2), padding="same"),
     (2, 3, 5, 4, 2)),
    (L.Conv3D, dict(filters=4, kernel_size=2, dilation_rate=2, groups=2), (1, 5, 5, 4, 2)),
]


@pytest.mark.parametrize("cls,kw,shape", CONV_REF, ids=[c.__name__ + str(k) for c, k, _ in
                                                         CONV_REF])
def test_convolution_matches_torch(cls, kw, shape):
    ge.manual_seed(0)
    layer = cls(**kw)
    x = _x(shape)
    out = layer(ge.tensor(x))
    r = len(shape) - 2
    tup = lambda v: (v,) * r if isinstance(v, int) else tuple(v)  # noqa: E731
    ref = _torch_conv(torch.tensor(x), torch.tensor(layer.kernel.numpy()),
                      tup(kw.get("strides", 1)), kw.get("padding", "valid"),
                      tup(kw.get("dilation_rate", 1)), kw.get("groups", 1))
    ref = ref + torch.tensor(layer.bias.numpy())
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)


TRANSPOSE_REF = [
    (L.Conv1DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 5, 2)),
    (L.Conv1DTranspose, dict(filters=2, kernel_size=2, strides=3), (2, 4, 3)),
    (L.Conv2DTranspose, dict(filters=3, kernel_size=(3, 2), strides=2, padding="same"),
     (2, 3, 4, 2)),
    (L.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=(1, 2)), (1, 3, 4, 2)),
    (L.Conv3DTranspose, dict(filters=2, kernel_size=3, strides=2, padding="same"),
     (1, 2, 3, 2, 2)),
    (L.Conv3DTranspose, dict(filters=2, kernel_size=2, strides=(2, 1, 3)), (1, 3, 2, 2, 3)),
]


@pytest.mark.parametrize("cls,kw,shape", TRANSPOSE_REF,
                         ids=[c.__name__ + str(k) for c, k, _ in TRANSPOSE_REF])
def test_transposed_convolution_is_the_gradient_of_the_convolution(cls, kw, shape):
    """A transposed convolution is the VJP of the forward convolution (TensorFlow's
    definition): its output size is the input the forward convolution would map to x."""
    ge.manual_seed(0)
    layer = cls(**kw)
    x = _x(shape)
    out = layer(ge.tensor(x))
    r = len(shape) - 2
    strides = (kw["strides"],) * r if isinstance(kw["strides"], int) else kw["strides"]
    kernel = torch.tensor(layer.kernel.numpy())  # (k..., filters, in) = forward (k, in, out)
    y = torch.zeros((shape[0],) + tuple(out.shape[1:]), requires_grad=True)
    fwd = _torch_conv(y, kernel, strides, kw.get("padding", "valid"), (1,) * r)
    assert tuple(fwd.shape) == shape
    (ref,) = torch.autograd.grad(fwd, y, torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), ref.numpy() + layer.bias.numpy(), rtol=1e-4,
                               atol=1e-5)


def test_depthwise_and_separable_match_torch():
    ge.manual_seed(0)
    x = _x((2, 6, 5, 3))
    dw = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False)
    out = dw(ge.tensor(x))
    k = torch.tensor(dw.kernel.numpy())  # (3, 3, 3, 2)
    ref = _torch_conv(torch.tensor(x), k.reshape(3, 3, 1, 6), (1, 1), "same", (1, 1), 3)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)
    sep = L.SeparableConv1D(4, 3, depth_multiplier=2, strides=2)
    x1 = _x((2, 9, 3))
    out = sep(ge.tensor(x1))
    d = torch.tensor(sep.depthwise_kernel.numpy())
    mid = _torch_conv(torch.tensor(x1), d.reshape(3, 1, 6), (2,), "valid", (1,), 3)
    ref = mid @ torch.tensor(sep.pointwise_kernel.numpy())[0] + torch.tensor(sep.bias.numpy())
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)
    assert [n for n, _ in sep.named_parameters()] == ["depthwise_kernel", "pointwise_kernel",
                                                      "bias"]


def _np_pool(x, pool, strides, padding, mode):
    """Channels-last pooling in NumPy, TensorFlow's rule: "same" windows average over
    their real elements only."""
    r = x.ndim - 2
    sizes = x.shape[1:-1]
    if padding == "same":
        outs = [-(-n // s) for n, s in zip(sizes, strides)]
        befores = [_tf_same(n, k, s)[0] for n, k, s in zip(sizes, pool, strides)]
    else:
        outs = [(n - k) // s + 1 for n, k, s in zip(sizes, pool, strides)]
        befores = [0] * r
    out = np.zeros((x.shape[0], *outs, x.shape[-1]))
    for idx in np.ndindex(*outs):
        sl = tuple(slice(max(i * s - b, 0), min(i * s - b + k, n)) for i, s, b, k, n in
                   zip(idx, strides, befores, pool, sizes))
        win = x[(slice(None),) + sl + (slice(None),)]
        axes = tuple(range(1, r + 1))
        out[(slice(None),) + idx + (slice(None),)] = win.max(axis=axes) if mode == "max" \
            else win.mean(axis=axes)
    return out


POOL_REF = [
    (L.MaxPooling1D, dict(pool_size=3, strides=2, padding="same"), (2, 8, 3), "max"),
    (L.AveragePooling1D, dict(pool_size=3, strides=2, padding="same"), (2, 8, 3), "avg"),
    (L.AveragePooling2D, dict(pool_size=(3, 2), strides=2, padding="same"), (2, 5, 6, 2),
     "avg"),
    (L.MaxPooling3D, dict(pool_size=(2, 3, 2), strides=(1, 2, 2)), (1, 4, 5, 4, 2), "max"),
    (L.AveragePooling3D, dict(pool_size=2, padding="same"), (1, 3, 5, 3, 2), "avg"),
]


@pytest.mark.parametrize("cls,kw,shape,mode", POOL_REF,
                         ids=[c.__name__ + str(k) for c, k, _, _ in POOL_REF])
def test_pooling_matches_numpy(cls, kw, shape, mode):
    x = _x(shape)
    r = len(shape) - 2
    pool = (kw["pool_size"],) * r if isinstance(kw["pool_size"], int) else kw["pool_size"]
    strides = kw.get("strides", pool)
    strides = (strides,) * r if isinstance(strides, int) else strides
    ref = _np_pool(x, pool, strides, kw.get("padding", "valid"), mode)
    np.testing.assert_allclose(cls(**kw)(ge.tensor(x)).numpy(), ref, rtol=1e-5, atol=1e-6)


def test_global_pooling_upsampling_padding_cropping_match_numpy():
    x = _x((2, 3, 4, 5))
    np.testing.assert_allclose(L.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)),
                               rtol=1e-6)
    np.testing.assert_allclose(L.GlobalMaxPool2D(keepdims=True)(x).numpy(),
                               x.max(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(L.GlobalMaxPooling2D(data_format="channels_first")(x).numpy(),
                               x.max(axis=(2, 3)))
    np.testing.assert_allclose(L.UpSampling2D((2, 3))(x).numpy(),
                               x.repeat(2, axis=1).repeat(3, axis=2))
    np.testing.assert_allclose(L.UpSampling1D(2)(x[:, 0]).numpy(), x[:, 0].repeat(2, axis=1))
    ref = TF.interpolate(torch.tensor(x).permute(0, 3, 1, 2), scale_factor=2,
                         mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
    np.testing.assert_allclose(L.UpSampling2D(2, interpolation="bilinear")(x).numpy(),
                               ref.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(L.ZeroPadding2D(((1, 0), (2, 1)))(x).numpy(),
                               np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 0))))
    np.testing.assert_allclose(L.ZeroPadding1D(2)(x[:, 0]).numpy(),
                               np.pad(x[:, 0], ((0, 0), (2, 2), (0, 0))))
    x3 = _x((1, 3, 4, 5, 2))
    np.testing.assert_allclose(L.ZeroPadding3D((1, 0, 2))(x3).numpy(),
                               np.pad(x3, ((0, 0), (1, 1), (0, 0), (2, 2), (0, 0))))
    np.testing.assert_allclose(L.Cropping3D(((1, 0), (1, 2), 1))(x3).numpy(),
                               x3[:, 1:, 1:2, 1:4])
    np.testing.assert_allclose(L.Cropping2D(((1, 1), (0, 2)))(x).numpy(), x[:, 1:2, :2])
    np.testing.assert_allclose(L.Cropping1D((1, 0))(x[:, 0]).numpy(), x[:, 0, 1:])
    np.testing.assert_allclose(L.UpSampling3D(2)(x3).numpy(),
                               x3.repeat(2, 1).repeat(2, 2).repeat(2, 3))


def test_reshaping_layers_match_numpy():
    x = _x((2, 3, 4))
    np.testing.assert_allclose(L.Reshape((4, -1))(x).numpy(), x.reshape(2, 4, 3))
    np.testing.assert_allclose(L.Permute((2, 1))(x).numpy(), x.transpose(0, 2, 1))
    np.testing.assert_allclose(L.RepeatVector(3)(x[:, 0]).numpy(),
                               np.repeat(x[:, None, 0], 3, axis=1))
    np.testing.assert_allclose(L.Flatten(data_format="channels_first")(x).numpy(),
                               x.transpose(0, 2, 1).reshape(2, -1))
    np.testing.assert_allclose(L.Flatten()(x).numpy(), x.reshape(2, -1))
    np.testing.assert_allclose(L.Lambda(lambda t, k: t * k, arguments={"k": 3.0})(x).numpy(),
                               x * 3)
    assert L.Identity()(ge.tensor(x)).numpy() is not None
    m = x.copy()
    m[0, 1] = 0.5
    np.testing.assert_allclose(L.Masking(0.5)(m).numpy(),
                               m * (m != 0.5).any(axis=-1, keepdims=True))


def test_normalization_layers_match_torch():
    x = _x((2, 3, 4, 6))
    ge.manual_seed(0)
    gn = L.GroupNormalization(groups=3, gamma_initializer="random_normal",
                              beta_initializer="random_normal")
    out = gn(x)
    ref = TF.group_norm(torch.tensor(x).permute(0, 3, 1, 2), 3,
                        torch.tensor(gn.gamma.numpy()), torch.tensor(gn.beta.numpy()),
                        1e-3).permute(0, 2, 3, 1)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)
    ln = L.LayerNormalization(axis=1)
    t = torch.tensor(x)
    mean, var = t.mean(1, keepdim=True), t.var(1, unbiased=False, keepdim=True)
    np.testing.assert_allclose(ln(x).numpy(), ((t - mean) / torch.sqrt(var + 1e-3)).numpy(),
                               rtol=1e-4, atol=1e-5)
    assert ln.gamma.shape == (3,)
    ln = L.LayerNormalization(axis=(-2, -1))
    np.testing.assert_allclose(ln(x).numpy(), TF.layer_norm(t, (4, 6), eps=1e-3).numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(L.RMSNormalization()(x).numpy(),
                               TF.rms_norm(t, (6,), eps=1e-6).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(L.UnitNormalization()(x).numpy(),
                               TF.normalize(t, dim=-1).numpy(), rtol=1e-5, atol=1e-6)


def test_activation_layers_match_torch():
    x = _x((3, 7)) * 2
    t = torch.tensor(x)
    np.testing.assert_allclose(L.LeakyReLU()(x).numpy(), TF.leaky_relu(t, 0.3).numpy())
    np.testing.assert_allclose(L.ELU(0.5)(x).numpy(), TF.elu(t, 0.5).numpy(), rtol=1e-6)
    np.testing.assert_allclose(L.ReLU(max_value=1.0)(x).numpy(), t.clamp(0, 1).numpy())
    np.testing.assert_allclose(L.ReLU(negative_slope=0.1)(x).numpy(),
                               TF.leaky_relu(t, 0.1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(L.ReLU(threshold=0.5)(x).numpy(),
                               TF.threshold(t, 0.5, 0.0).numpy())
    np.testing.assert_allclose(L.Softmax()(x).numpy(), TF.softmax(t, -1).numpy(), rtol=1e-6)
    mask = x > 0
    mask[:, 0] = True
    ref = TF.softmax(t.masked_fill(~torch.tensor(mask), -1e9), -1)
    np.testing.assert_allclose(L.Softmax()(x, mask=mask).numpy(), ref.numpy(), atol=1e-6)
    p = L.PReLU(alpha_initializer="ones")
    p(x)
    p.set_weights([np.full((7,), 0.25, dtype="float32")])
    np.testing.assert_allclose(p(x).numpy(), TF.prelu(t, torch.tensor(0.25)).numpy())
    np.testing.assert_allclose(L.Rescaling(0.5, offset=1.0)(x).numpy(), x * 0.5 + 1.0)


def _torch_rnn(layer, x, kind):
    """torch.nn's LSTM / GRU / RNN with the Keras layer's weights (gate order mapped)."""
    k, rk = (torch.tensor(w.numpy()) for w in (layer.cell.kernel, layer.cell.recurrent_kernel))
    u = layer.cell.units
    b = torch.tensor(layer.cell.bias.numpy())
    if kind == "GRU":  # Keras z, r, h -> torch r, z, n
        def order(m):
            return torch.cat([m[..., u:2 * u], m[..., :u], m[..., 2 * u:]], -1)
        k, rk, b = order(k), order(rk), order(b)
        b_ih, b_hh = b[0], b[1]
    else:
        b_ih, b_hh = b, torch.zeros_like(b)
    mod = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "SimpleRNN": torch.nn.RNN}[kind](
        k.shape[0], u, batch_first=True)
    with torch.no_grad():
        mod.weight_ih_l0.copy_(k.T)
        mod.weight_hh_l0.copy_(rk.T)
        mod.bias_ih_l0.copy_(b_ih)
        mod.bias_hh_l0.copy_(b_hh)
    return mod(torch.tensor(x))[0]


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_layers_match_torch(kind):
    ge.manual_seed(0)
    x = _x((2, 5, 3))
    layer = getattr(L, kind)(4, return_sequences=True,
                             bias_initializer="random_normal")
    out = layer(x)
    np.testing.assert_allclose(out.numpy(), _torch_rnn(layer, x, kind).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    back = getattr(L, kind)(4, return_sequences=True, go_backwards=True)
    back(x)
    back.set_weights(layer.get_weights())
    ref = _torch_rnn(layer, x[:, ::-1].copy(), kind).detach().numpy()
    np.testing.assert_allclose(back(x).numpy(), ref, rtol=1e-4, atol=1e-5)


def test_recurrent_weights_have_keras_shapes_and_initial_values():
    ge.manual_seed(0)
    lstm = L.LSTM(3)
    lstm(np.zeros((1, 2, 5), "float32"))
    kernel, rec, bias = lstm.get_weights()
    assert kernel.shape == (5, 12) and rec.shape == (3, 12) and bias.shape == (12,)
    np.testing.assert_allclose(bias, [0] * 3 + [1] * 3 + [0] * 6)
    np.testing.assert_allclose(rec @ rec.T, np.eye(3), atol=1e-5)  # orthogonal rows
    assert abs(kernel).max() <= np.sqrt(6 / (5 + 12)) + 1e-6
    gru = L.GRU(2)
    gru(np.zeros((1, 2, 5), "float32"))
    assert [w.shape for w in gru.get_weights()] == [(5, 6), (2, 6), (2, 6)]
    assert [w.shape for w in L.GRU(2, reset_after=False, input_shape=(2, 5)).get_weights()] \
        == [(5, 6), (2, 6), (6,)]


def test_return_state_bidirectional_and_time_distributed_shapes():
    x = _x((2, 5, 3))
    out, h, c = L.LSTM(4, return_state=True)(x)
    np.testing.assert_allclose(out.numpy(), h.numpy())
    assert c.shape == (2, 4)
    seq, h = L.GRU(4, return_sequences=True, return_state=True)(x)
    np.testing.assert_allclose(seq.numpy()[:, -1], h.numpy())
    bi = L.Bidirectional(L.SimpleRNN(4, return_sequences=True))
    assert bi(x).shape == (2, 5, 8)
    assert len(bi.get_weights()) == 6
    fwd, bwd = L.Bidirectional(L.SimpleRNN(4), merge_mode=None)(x)
    assert fwd.shape == bwd.shape == (2, 4)
    td = L.TimeDistributed(L.Conv1D(2, 2))
    assert td(_x((2, 5, 4, 3))).shape == (2, 5, 3, 2)


def _torch_attention(q, v, k, mask=None, scale=1.0):
    s = q @ k.transpose(1, 2) * scale
    if mask is not None:
        s = s - 1e9 * (1 - mask[:, None, :].float())
    return torch.softmax(s, -1) @ v


def test_attention_matches_torch():
    q, v, k = _x((2, 3, 4)), _x((2, 5, 4), 1), _x((2, 5, 4), 2)
    mask = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)
    ref = _torch_attention(*map(torch.tensor, (q, v, k)), torch.tensor(mask))
    out = L.Attention()([q, v, k], mask=[None, mask])
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
    out, scores = L.Attention()([q, v], return_attention_scores=True)
    assert scores.shape == (2, 3, 5)
    np.testing.assert_allclose(scores.numpy().sum(-1), 1.0, rtol=1e-5)
    add = L.AdditiveAttention()
    out = add([q, v, k])
    sc = torch.tensor(add.scale.numpy())
    s = (sc * torch.tanh(torch.tensor(q)[:, :, None] + torch.tensor(k)[:, None])).sum(-1)
    ref = torch.softmax(s, -1) @ torch.tensor(v)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_multi_head_attention_matches_torch():
    ge.manual_seed(0)
    q, v = _x((2, 3, 4)), _x((2, 5, 6), 1)
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3, bias_initializer="random_normal")
    out, w = mha(q, v, return_attention_scores=True)
    p = {n: torch.tensor(t.numpy()) for n, t in mha.named_parameters()}
    tq, tv = torch.tensor(q), torch.tensor(v)
    qh = torch.einsum("btd,dhk->bthk", tq, p["query_kernel"]) + p["query_bias"]
    kh = torch.einsum("btd,dhk->bthk", tv, p["key_kernel"]) + p["key_bias"]
    vh = torch.einsum("btd,dhk->bthk", tv, p["value_kernel"]) + p["value_bias"]
    ref = TF.scaled_dot_product_attention(qh.transpose(1, 2), kh.transpose(1, 2),
                                          vh.transpose(1, 2)).transpose(1, 2)
    ref = torch.einsum("bthk,hko->bto", ref, p["output_kernel"]) + p["output_bias"]
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)
    assert w.shape == (2, 2, 3, 5)
    assert [n for n, _ in mha.named_parameters()] == [
        "query_kernel", "query_bias", "key_kernel", "key_bias", "value_kernel", "value_bias",
        "output_kernel", "output_bias"]


def test_dot_and_merge_functions_match_numpy():
    a, b = _x((3, 4)), _x((3, 4), 1)
    np.testing.assert_allclose(L.Dot(1)([a, b]).numpy(), (a * b).sum(1, keepdims=True),
                               rtol=1e-5)
    an, bn = (t / np.linalg.norm(t, axis=1, keepdims=True) for t in (a, b))
    np.testing.assert_allclose(L.Dot(1, normalize=True)([a, b]).numpy(),
                               (an * bn).sum(1, keepdims=True), rtol=1e-5)
    a3, b3 = _x((2, 3, 4)), _x((2, 5, 4), 1)
    np.testing.assert_allclose(L.dot([a3, b3], axes=2).numpy(), a3 @ b3.transpose(0, 2, 1),
                               rtol=1e-5)
    np.testing.assert_allclose(L.add([a, b]).numpy(), a + b)
    np.testing.assert_allclose(L.subtract([a, b]).numpy(), a - b)
    np.testing.assert_allclose(L.multiply([a, b]).numpy(), a * b)
    np.testing.assert_allclose(L.average([a, b]).numpy(), (a + b) / 2)
    np.testing.assert_allclose(L.maximum([a, b]).numpy(), np.maximum(a, b))
    np.testing.assert_allclose(L.minimum([a, b]).numpy(), np.minimum(a, b))
    np.testing.assert_allclose(L.concatenate([a, b]).numpy(), np.concatenate([a, b], 1))


def test_preprocessing_layers_match_numpy():
    data = _x((50, 3)) * 2 + 1
    norm = L.Normalization()
    norm.adapt(data)
    x = _x((4, 3), 1)
    np.testing.assert_allclose(norm(x).numpy(), (x - data.mean(0)) / data.std(0), rtol=1e-4)
    np.testing.assert_allclose(L.CategoryEncoding(4, output_mode="count")(
        np.array([[0, 1, 1], [3, 3, 3]])).numpy(), [[1, 2, 0, 0], [0, 0, 0, 3]])
    disc = L.Discretization(bin_boundaries=[0.0, 1.0])
    np.testing.assert_array_equal(disc(np.array([-1.0, 0.0, 0.5, 1.0, 3.0])).numpy(),
                                  [0, 1, 1, 2, 2])
    disc = L.Discretization(num_bins=4)
    disc.adapt(np.arange(100.0))
    assert np.bincount(disc(np.arange(100.0)).numpy()).tolist() == [25, 25, 25, 25]
    with pytest.raises(ValueError, match="CategoryEncoding"):
        L.CategoryEncoding(3)(np.array([0, 3]))


# ---------------------------------------------------------- gradients, training, errors

@pytest.mark.parametrize("make,shape", [
    (lambda: L.Conv3D(2, 2, padding="same", strides=(2, 1, 1), dtype="float64"),
     (1, 3, 3, 2, 2)),
    (lambda: L.Conv3DTranspose(2, 2, strides=2, dtype="float64"), (1, 2, 2, 2, 2)),
    (lambda: L.Conv1DTranspose(2, 3, strides=2, padding="same", dtype="float64"), (1, 3, 2)),
    (lambda: L.SeparableConv2D(2, 2, dtype="float64"), (1, 3, 3, 2)),
    (lambda: L.AveragePooling2D(3, 2, padding="same", dtype="float64"), (1, 4, 5, 2)),
    (lambda: L.MaxPooling3D(2, padding="same", dtype="float64"), (1, 3, 3, 3, 1)),
    (lambda: L.LSTM(2, return_sequences=True, dtype="float64"), (2, 3, 2)),
    (lambda: L.GRU(2, dtype="float64"), (2, 3, 2)),
    (lambda: L.GroupNormalization(2, dtype="float64"), (2, 3, 4)),
    (lambda: L.LayerNormalization(axis=1, dtype="float64"), (2, 3, 4)),
])
def test_layer_gradients_pass_gradcheck(make, shape):
    ge.manual_seed(0)
    layer = make()
    x = ge.tensor(_x(shape).astype("float64"), requires_grad=True)
    layer(x)
    params = [p for p in layer.parameters()]
    assert ge.gradcheck(lambda x, *ps: layer(x), [x] + params[:1], eps=1e-6, atol=1e-5)


def test_mha_second_order_gradient():
    ge.manual_seed(0)
    mha = L.MultiHeadAttention(2, 2, dtype="float64")
    q = ge.tensor(_x((1, 3, 2)).astype("float64"), requires_grad=True)
    mha(q, q)
    assert ge.gradgradcheck(lambda q: mha(q, q), [q], eps=1e-6, atol=1e-4)


def test_noise_layers_act_only_in_training():
    ge.manual_seed(0)
    x = np.ones((200, 50), dtype="float32")
    for layer in (L.GaussianNoise(0.5), L.GaussianDropout(0.3), L.AlphaDropout(0.3),
                  L.SpatialDropout1D(0.5)):
        xx = x.reshape(200, 10, 5) if isinstance(layer, L.SpatialDropout1D) else x
        np.testing.assert_array_equal(layer(xx, training=False).numpy(), xx)
        assert not np.allclose(layer(xx, training=True).numpy(), xx)
    noisy = L.GaussianNoise(0.5)(x, training=True).numpy()
    assert abs(noisy.mean() - 1) < 0.02 and abs(noisy.std() - 0.5) < 0.02
    drop = L.GaussianDropout(0.5)(x, training=True).numpy()
    assert abs(drop.mean() - 1) < 0.03 and abs(drop.std() - 1) < 0.03
    sd = L.SpatialDropout2D(0.5)(np.ones((50, 3, 4, 8), "float32"), training=True).numpy()
    assert set(np.unique(sd)) <= {0.0, 2.0}
    assert (sd == sd[:, :1, :1]).all()  # one draw per (sample, channel)
    a = L.AlphaDropout(0.2)(_x((400, 100)), training=True).numpy()
    assert abs(a.mean()) < 0.05 and abs(a.std() - 1) < 0.05  # keeps mean 0, variance 1


def test_activity_regularization_adds_its_penalty_to_the_loss():
    from gradengine.nn import _keras_regularizers
    x = ge.tensor(_x((4, 3)))
    with _keras_regularizers.collecting() as losses:
        L.ActivityRegularization(l1=0.1, l2=0.2)(x)
    ref = (0.1 * np.abs(x.numpy()).sum() + 0.2 * (x.numpy() ** 2).sum()) / 4
    assert abs(float(losses[0].item()) - ref) < 1e-5


@pytest.mark.parametrize("make,x", [
    (lambda: L.Conv1D(2, 3), (2, 5)),
    (lambda: L.Conv3D(2, 2), (2, 5, 5, 2)),
    (lambda: L.MaxPooling1D(4), (2, 2, 3)),
    (lambda: L.Reshape((4, 4)), (2, 3, 5)),
    (lambda: L.Permute((2, 1)), (2, 3, 4, 5)),
    (lambda: L.LSTM(2), (2, 3)),
    (lambda: L.Cropping1D((2, 2)), (2, 4, 3)),
])
def test_bad_input_shapes_raise_shape_error(make, x):
    with pytest.raises(ge.ShapeError):
        make()(np.zeros(x, "float32"))


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="dilation_rate"):
        L.Conv2DTranspose(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding"):
        L.Conv2DTranspose(2, 3, padding="causal")
    with pytest.raises(ValueError, match="groups"):
        L.GroupNormalization(4)(np.zeros((1, 2, 6), "float32"))
    with pytest.raises(ValueError, match="merge_mode"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="data_format"):
        L.MaxPooling1D(data_format="NHWC")


def test_models_with_new_layers_train_and_predict():
    ge.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 6, 3)).astype("float32")
    y = (x.sum(axis=(1, 2)) > 0).astype("float32")[:, None]
    model = G.Sequential([
        G.Input(shape=(6, 3)), L.Conv1D(4, 3, padding="causal", activation="relu"),
        L.Bidirectional(L.LSTM(4, return_sequences=True)), L.GlobalAveragePooling1D(),
        L.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    h = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert model.predict(x, verbose=0).shape == (32, 1)
    inp = G.Input(shape=(5, 4))
    att = L.MultiHeadAttention(num_heads=2, key_dim=2)(inp, inp)
    out = L.Dense(2)(L.GlobalMaxPooling1D()(L.LayerNormalization()(L.Add()([inp, att]))))
    fm = G.Model(inp, out)
    assert fm.predict(rng.standard_normal((3, 5, 4)).astype("float32"), verbose=0).shape == \
        (3, 2)
    assert fm.count_params() == (4 * 2 * 2 + 2 * 2) * 3 + (2 * 2 * 4 + 4) + 8 + 10


def _seq_model(keras):
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(7, 3)), layers.Conv1D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling1D(2, padding="same"),
        layers.Bidirectional(layers.GRU(3, return_sequences=True)), layers.LSTM(2),
        layers.RepeatVector(2), layers.SimpleRNN(3), layers.Dense(2)])


def _volume_model(keras):
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(4, 6, 6, 2)), layers.Conv3D(3, 3, padding="same"),
        layers.GroupNormalization(3), layers.MaxPooling3D(2), layers.UpSampling3D(2),
        layers.Conv3DTranspose(2, 2, strides=2, padding="same"), layers.Cropping3D(1),
        layers.GlobalAveragePooling3D(), layers.Dense(2)])


def _image_model(keras):
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(8, 8, 3)), layers.SeparableConv2D(4, 3, padding="same"),
        layers.DepthwiseConv2D(3, depth_multiplier=2), layers.ZeroPadding2D(1),
        layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
        layers.AveragePooling2D(2), layers.PReLU(), layers.Flatten(), layers.Dense(3)])


def _text_model(keras):
    layers = keras.layers
    tokens = keras.Input(shape=(6,), dtype="int32")
    x = layers.Embedding(20, 8)(tokens)
    att = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    x = layers.LayerNormalization()(layers.Add()([x, att]))
    x = layers.TimeDistributed(layers.Dense(4))(x)
    return keras.Model(tokens, layers.Dense(2)(layers.GlobalAveragePooling1D()(x)))


@pytest.mark.parametrize("build", [_seq_model, _volume_model, _image_model, _text_model])
def test_a_keras_models_weights_load_and_predict_the_same(build):
    K = _keras()
    k, g = build(K), build(G)
    assert g.count_params() == k.count_params()
    g.set_weights(k.get_weights())
    shape = (3,) + tuple(k.inputs[0].shape[1:])
    x = np.random.default_rng(0).integers(0, 20, shape).astype("int32") \
        if build is _text_model else _x(shape)
    np.testing.assert_allclose(g.predict(x, verbose=0), k.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)


def _stacked_model(keras):
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(4, 3)), layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)]),
        layers.Reshape((2, 1)), layers.ZeroPadding1D(1), layers.Flatten()])


@pytest.mark.parametrize("build", [_seq_model, _text_model, _stacked_model, _image_model])
def test_a_model_with_new_layers_saves_and_loads(build, tmp_path):
    model = build(G)
    shape = (2,) + tuple(model.inputs[0].shape[1:]) if build is _text_model else \
        (2,) + tuple(model._input_shape)
    x = np.random.default_rng(0).integers(0, 20, shape).astype("int32") \
        if build is _text_model else _x(shape)
    before = model.predict(x, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = G.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), before, rtol=1e-6)


@pytest.mark.parametrize("name,kw,shape", [
    ("Conv2D", dict(filters=3, kernel_size=3, strides=2, padding="same"), (7, 6, 2)),
    ("Conv1D", dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (7, 2)),
    ("Conv3D", dict(filters=2, kernel_size=2, data_format="channels_first"), (2, 4, 5, 4)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (4, 5, 2)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=2, strides=3), (4, 2)),
])
def test_conv_compute_output_shape_matches_the_output(name, kw, shape):
    layer = getattr(L, name)(**kw)
    out = layer(_x((1,) + shape))
    # Keras' convention: the shapes carry the batch axis
    assert layer.compute_output_shape((None,) + shape) == (None,) + tuple(out.shape[1:])


@pytest.mark.parametrize("name,kw,shape", [
    ("ConvLSTM1D", dict(filters=2, kernel_size=3), (2, 3, 6, 2)),
    ("ConvLSTM2D", dict(filters=2, kernel_size=3, padding="same", return_sequences=True),
     (2, 3, 4, 5, 2)),
    ("ConvLSTM2D", dict(filters=3, kernel_size=2, strides=2, return_state=True,
                        data_format="channels_first"), (1, 3, 2, 4, 5)),
    ("ConvLSTM3D", dict(filters=2, kernel_size=2, go_backwards=True), (1, 2, 3, 3, 3, 1)),
])
def test_conv_lstm_matches_keras(name, kw, shape):
    K = _keras()
    x = _x(shape)
    k, g = getattr(K.layers, name)(**kw), getattr(L, name)(**kw)
    xt = torch.tensor(x, requires_grad=True)
    k_out = k(xt)
    g(ge.tensor(x))
    assert [w.shape for w in g.get_weights()] == [w.shape for w in k.get_weights()]
    g.set_weights(k.get_weights())
    xg = ge.tensor(x, requires_grad=True)
    _compare(k_out, g(xg), [xt], [xg])
    _compare_weight_grads(k, g)


def test_conv_lstm_matches_an_lstm_for_one_pixel():
    """A ConvLSTM with 1x1 kernels on a 1x1 image is an LSTM."""
    ge.manual_seed(0)
    x = _x((2, 4, 1, 1, 3))
    conv = L.ConvLSTM2D(2, 1, return_sequences=True, bias_initializer="random_normal")
    out = conv(x)
    lstm = L.LSTM(2, return_sequences=True)
    lstm(x[:, :, 0, 0])
    lstm.set_weights([w.reshape(w.shape[-2:]) if w.ndim > 2 else w
                      for w in conv.get_weights()])
    np.testing.assert_allclose(out.numpy()[:, :, 0, 0], lstm(x[:, :, 0, 0]).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_adaptive_pooling_matches_torch():
    x = _x((2, 5, 7, 3))
    t = torch.tensor(x).permute(0, 3, 1, 2)
    np.testing.assert_allclose(L.AdaptiveAveragePooling2D((2, 3))(x).numpy(),
                               TF.adaptive_avg_pool2d(t, (2, 3)).permute(0, 2, 3, 1).numpy(),
                               rtol=1e-5, atol=1e-6)
    x3 = _x((1, 4, 5, 3, 2))
    t3 = torch.tensor(x3).permute(0, 4, 1, 2, 3)
    np.testing.assert_allclose(L.AdaptiveMaxPooling3D((3, 2, 2))(x3).numpy(),
                               TF.adaptive_max_pool3d(t3, (3, 2, 2)).permute(0, 2, 3, 4, 1)
                               .numpy())


def test_einsum_dense_matches_numpy():
    ge.manual_seed(0)
    layer = L.EinsumDense("abc,cd->abd", output_shape=(None, 4), bias_axes="d",
                          bias_initializer="random_normal")
    x = _x((2, 3, 5))
    out = layer(x)
    assert layer.kernel.shape == (5, 4) and layer.bias.shape == (4,)
    ref = np.einsum("abc,cd->abd", x, layer.kernel.numpy()) + layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-6)


def _device_stack():
    return [L.Conv1D(3, 2, padding="causal"), L.LSTM(3, return_sequences=True),
            L.MultiHeadAttention(2, 2), L.Conv2DTranspose(2, 3, strides=2, padding="same"),
            L.AveragePooling3D(2, padding="same"), L.GroupNormalization(3),
            L.SeparableConv2D(2, 2), L.ConvLSTM1D(2, 2), L.Normalization()]


def _device_run(layers, xs):
    c1, lstm, mha, ct, ap, gn, sep, cl, norm = layers
    a = lstm(c1(xs[0]))
    outs = [mha(a, a), ct(xs[1]), ap(xs[2]), gn(xs[3]), sep(xs[1]), cl(xs[4]), norm(xs[0])]
    return outs


def test_layers_run_on_the_cuda_code_path(device):
    shapes = [(2, 5, 3), (1, 3, 4, 2), (1, 3, 3, 4, 2), (2, 4, 6), (1, 3, 5, 2)]
    data = [_x(s, i) for i, s in enumerate(shapes)]
    ge.manual_seed(0)
    cpu_layers = _device_stack()
    cpu_layers[-1].adapt(data[0])
    ref = _device_run(cpu_layers, [ge.tensor(d) for d in data])
    weights = [layer.get_weights() for layer in cpu_layers]
    previous = ge.get_default_device()
    ge.set_default_device(device)
    try:
        layers = _device_stack()
        xs = [ge.tensor(d, requires_grad=True) for d in data]
        layers[-1].adapt(data[0])
        _device_run(layers, xs)  # builds
        for layer, w in zip(layers, weights):
            layer.set_weights(w)
        outs = _device_run(layers, xs)
        total = None
        for o in outs:
            total = o.sum() if total is None else total + o.sum()
        total.backward()
        for o, r in zip(outs, ref):
            assert o.device.startswith(device)
            np.testing.assert_allclose(o.numpy(), r.numpy(), rtol=1e-5, atol=1e-5)
        assert all(x.grad is not None for x in xs)
    finally:
        ge.set_default_device(previous)


@pytest.mark.parametrize("kw,shape", [
    (dict(height=5, width=7), (2, 4, 6, 3)),
    (dict(height=3, width=2, interpolation="nearest"), (2, 7, 5, 1)),
    (dict(height=6, width=6, interpolation="nearest"), (1, 4, 3, 2)),
    (dict(height=4, width=4, crop_to_aspect_ratio=True), (2, 6, 9, 2)),
    (dict(height=4, width=4, pad_to_aspect_ratio=True, fill_value=1.0), (2, 6, 9, 2)),
    (dict(height=5, width=3, data_format="channels_first"), (2, 2, 6, 4)),
])
def test_resizing_matches_keras(kw, shape):
    K = _keras()
    x = _x(shape)
    xt = torch.tensor(x, requires_grad=True)
    k_out = K.layers.Resizing(**kw)(xt)
    xg = ge.tensor(x, requires_grad=True)
    _compare(k_out, L.Resizing(**kw)(xg), [xt], [xg])


def test_center_crop_and_random_flip():
    x = _x((2, 6, 7, 3))
    np.testing.assert_allclose(L.CenterCrop(3, 4)(x).numpy(), x[:, 1:4, 1:5])
    try:
        import keras as K
    except ImportError:
        K = None
    if K is not None and K.backend.backend() == "torch":
        np.testing.assert_allclose(L.CenterCrop(3, 4)(x).numpy(),
                                   np.asarray(K.layers.CenterCrop(3, 4)(x)))
    ge.manual_seed(0)
    flip = L.RandomFlip("horizontal")
    np.testing.assert_array_equal(flip(x, training=False).numpy(), x)
    out = flip(np.repeat(x[:1], 64, axis=0), training=True).numpy()
    same = [np.array_equal(o, x[0]) for o in out]
    mirrored = [np.array_equal(o, x[0, :, ::-1]) for o in out]
    assert all(a or b for a, b in zip(same, mirrored)) and 10 < sum(same) < 54


def test_serialize_deserialize_and_input_spec():
    layer = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="sum")
    cfg = L.serialize(layer)
    assert cfg["class_name"] == "Bidirectional"
    again = L.deserialize(cfg)
    assert isinstance(again, L.Bidirectional) and again.merge_mode == "sum"
    assert isinstance(again.forward_layer, L.LSTM) and again.forward_layer.return_sequences
    conv = L.deserialize(L.serialize(L.Conv1D(4, 3, padding="causal")))
    assert conv.filters == 4 and conv.padding == "causal"
    spec = L.InputSpec(ndim=3, axes={-1: 4})
    assert spec.ndim == 3 and spec.axes == {-1: 4}


def test_noise_layers_draw_anew_under_ge_jit():
    ge.manual_seed(0)
    x = ge.tensor(np.ones((4, 6, 3), "float32"))
    for layer in (L.GaussianNoise(1.0), L.SpatialDropout1D(0.5), L.AlphaDropout(0.5),
                  L.LSTM(2, dropout=0.5)):
        def run(t, layer=layer):
            with ge.no_grad():
                return layer(t, training=True)
        step = ge.jit(run)
        outs = [step(x).numpy() for _ in range(3)]
        assert not np.allclose(outs[1], outs[2]), type(layer).__name__


@pytest.mark.parametrize("axis,shape", [(-1, (6, 3, 4)), (1, (6, 3, 4, 2)), (2, (6, 3, 5))])
def test_batch_normalization_on_any_axis_matches_keras(axis, shape):
    K = _keras()
    x = _x(shape) * 2 + 1
    k, g = K.layers.BatchNormalization(axis=axis), L.BatchNormalization(axis=axis)
    k(torch.tensor(x))
    g(ge.tensor(x))
    w = [np.asarray(a) + np.random.default_rng(i).random(np.shape(a)).astype("float32")
         for i, a in enumerate(k.get_weights())]
    k.set_weights(w)
    g.set_weights(w)
    for training in (True, False):
        xt = torch.tensor(x, requires_grad=True)
        xg = ge.tensor(x, requires_grad=True)
        _compare(k(xt, training=training), g(xg, training=training), [xt], [xg])
    for a, b in zip(g.get_weights(), k.get_weights()):  # the moving statistics moved alike
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_dropout_noise_shape_shares_the_draw():
    ge.manual_seed(0)
    x = np.ones((8, 5, 6), "float32")
    out = L.Dropout(0.5, noise_shape=(None, 1, 6))(x, training=True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert (out == out[:, :1]).all() and 0 < (out == 0).mean() < 1
    np.testing.assert_array_equal(L.Dropout(0.5, noise_shape=(None, 1, 6))(x, training=False)
                                  .numpy(), x)


@pytest.mark.parametrize("kw,call", [
    (dict(head_dim=2, num_query_heads=4, num_key_value_heads=2), {}),
    (dict(head_dim=3, num_query_heads=2, num_key_value_heads=1, use_bias=False),
     dict(use_causal_mask=True, return_attention_scores=True)),
])
def test_grouped_query_attention_matches_keras(kw, call):
    K = _keras()
    q, v = _x((2, 3, 4)), _x((2, 5, 6), 1)
    k, g = K.layers.GroupQueryAttention(**kw), L.GroupQueryAttention(**kw)
    k(torch.tensor(q), torch.tensor(v))
    g(ge.tensor(q), ge.tensor(v))
    assert [w.shape for w in g.get_weights()] == [w.shape for w in k.get_weights()]
    g.set_weights(k.get_weights())
    ts = [torch.tensor(a, requires_grad=True) for a in (q, v)]
    gs = [ge.tensor(a, requires_grad=True) for a in (q, v)]
    _compare(k(ts[0], ts[1], **call), g(gs[0], gs[1], **call), ts, gs)


def test_multi_head_attention_query_and_value_masks_match_keras():
    K = _keras()
    q, v = _x((2, 3, 4)), _x((2, 5, 4), 1)
    qm = np.array([[1, 1, 0], [1, 0, 1]], dtype=bool)
    vm = np.array([[1, 0, 1, 1, 0], [1, 1, 1, 0, 1]], dtype=bool)
    k, g = K.layers.MultiHeadAttention(2, 3), L.MultiHeadAttention(2, 3)
    k(torch.tensor(q), torch.tensor(v))
    g(ge.tensor(q), ge.tensor(v))
    g.set_weights(k.get_weights())
    ts = [torch.tensor(a, requires_grad=True) for a in (q, v)]
    gs = [ge.tensor(a, requires_grad=True) for a in (q, v)]
    k_out = k(ts[0], ts[1], query_mask=torch.tensor(qm), value_mask=torch.tensor(vm),
              use_causal_mask=True)
    _compare(k_out, g(gs[0], gs[1], query_mask=qm, value_mask=vm, use_causal_mask=True),
             ts, gs)


def test_softmax_with_a_fully_masked_row_matches_keras():
    K = _keras()
    x = _x((3, 5))
    mask = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    xt = torch.tensor(x, requires_grad=True)
    xg = ge.tensor(x, requires_grad=True)
    _compare(K.layers.Softmax()(xt, mask=torch.tensor(mask)), L.Softmax()(xg, mask=mask),
             [xt], [xg])
