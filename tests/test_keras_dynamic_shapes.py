"""Inputs with an unknown size past the batch axis (``Input((None, 10))``: sequences or
images of any size): the layers after them see a long enough probe, and the symbolic
shapes keep None where the size depends on it, as Keras' do."""

from __future__ import annotations

import os

import numpy as np
import pytest

from gradengine import keras as gk

os.environ.setdefault("KERAS_BACKEND", "torch")


def _chain(K, shape, layers, dtype="float32"):
    inp = K.Input(shape, dtype=dtype)
    x = inp
    for name, args, kwargs in layers:
        x = getattr(K.layers, name)(*args, **kwargs)(x)
    return inp, x


CASES = [
    ((None, 10), [("Conv1D", (3, 3), {})]),
    ((None, 10), [("Conv1D", (3, 3), {"padding": "same"}), ("MaxPooling1D", (2,), {})]),
    ((None, 10), [("Conv1D", (4, 5), {"strides": 2}), ("GlobalMaxPooling1D", (), {})]),
    ((None, 10), [("LSTM", (4,), {"return_sequences": True})]),
    ((None, 10), [("GRU", (4,), {})]),
    ((None, None, 3), [("Conv2D", (4, 3), {}), ("MaxPooling2D", (), {})]),
    ((None, None, 3), [("Conv2D", (4, 3), {"padding": "same"}),
                       ("GlobalAveragePooling2D", (), {})]),
    ((None, 10), [("Dense", (5,), {})]),
    ((None, 10), [("UpSampling1D", (2,), {}), ("Cropping1D", ((1, 2),), {})]),
    ((None, 8), [("Permute", ((2, 1),), {})]),
    ((4, None), [("Permute", ((2, 1),), {}), ("LayerNormalization", (), {})]),
]


@pytest.mark.parametrize("shape, layers", CASES)
def test_symbolic_shapes_match_keras(shape, layers):
    keras = pytest.importorskip("keras")
    _, ko = _chain(keras, shape, layers)
    _, go = _chain(gk, shape, layers)
    assert tuple(go.shape) == tuple(ko.shape)


def test_embedding_of_any_length_matches_keras():
    keras = pytest.importorskip("keras")
    layers = [("Embedding", (50, 8), {"mask_zero": True}),
              ("LSTM", (3,), {"return_sequences": True})]
    assert tuple(_chain(gk, (None,), layers, "int32")[1].shape) == \
        tuple(_chain(keras, (None,), layers, "int32")[1].shape) == (None, None, 3)


def test_conv_on_sequences_of_any_length():
    # the kernel (3) is longer than a probe of length 1 would be
    inp = gk.Input((None, 10))
    out = gk.layers.Conv1D(3, 3)(inp)
    model = gk.Model(inp, out)
    assert model.output_shape == (None, None, 3)
    for n in (5, 12):
        x = np.random.default_rng(n).standard_normal((2, n, 10)).astype("float32")
        assert model.predict(x, verbose=0).shape == (2, n - 2, 3)
    pooled = gk.Model(inp, gk.layers.GlobalMaxPooling1D()(out))
    assert pooled.output_shape == (None, 3)


def test_sequential_with_an_unknown_length():
    model = gk.Sequential([gk.Input((None, 10)), gk.layers.Conv1D(3, 3),
                           gk.layers.GlobalMaxPooling1D(), gk.layers.Dense(2)])
    assert model.output_shape == (None, 2)
    assert [tuple(layer.output.shape) for layer in model.layers] == \
        [(None, None, 3), (None, 3), (None, 2)]
    assert model.compute_output_shape((None, 7, 10)) == (None, 2)
    lazy = gk.Sequential([gk.layers.Conv1D(3, 3), gk.layers.Dense(2)])
    lazy.build((None, None, 10))
    assert lazy.output_shape == (None, None, 2)
