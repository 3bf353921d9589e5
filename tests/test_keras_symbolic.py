"""Keras' symbolic attributes: ``model.input`` / ``model.output``, ``layer.input`` /
``layer.output`` of a layer's first call, a built Sequential's ``inputs`` / ``outputs``,
and the feature-extractor / transfer-learning idiom built on them, against Keras."""

import collections
import os

import numpy as np
import pytest

import gradengine as ge
from gradengine import keras, nn
from gradengine.keras import layers

os.environ.setdefault("KERAS_BACKEND", "torch")


def _keras():
    return pytest.importorskip("keras")


def _functional(k):
    inp = k.Input((4,))
    h = k.layers.Dense(3, activation="relu", name="h")(inp)
    return k.Model(inp, k.layers.Dense(2, name="o")(h)), inp, h


def test_functional_model_input_output_and_layer_attributes_are_the_graphs_tensors():
    model, inp, h = _functional(keras)
    assert model.input is inp and model.inputs == [inp]
    assert model.get_layer("h").output is h and model.get_layer("h").input is inp
    assert model.get_layer("o").input is h
    assert tuple(model.output.shape) == (None, 2)
    two = keras.Input((3,))
    pair = keras.Model([inp, two], [h, layers.Dense(1)(two)])
    assert pair.input == [inp, two] and len(pair.output) == 2


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_a_feature_extractor_gives_keras_values_and_shares_the_weights(kind, rng):
    k = _keras()
    x = rng.standard_normal((5, 4)).astype("float32")
    if kind == "functional":
        ours, theirs = _functional(keras)[0], _functional(k)[0]
    else:
        def seq(lib):
            return lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="relu",
                                                                      name="h"),
                                   lib.layers.Dense(2, name="o")])
        ours, theirs = seq(keras), seq(k)
    theirs.set_weights(ours.get_weights())
    feat = keras.Model(ours.input, ours.get_layer("h").output)
    # (a Keras 3 Sequential has no .input of its own, only .inputs)
    want = k.Model(theirs.inputs, theirs.get_layer("h").output).predict(x, verbose=0)
    np.testing.assert_allclose(feat.predict(x, verbose=0), want, rtol=1e-6)
    both = keras.Model(ours.inputs, [layer.output for layer in ours.layers
                                     if not isinstance(layer, layers.InputLayer)])
    outs = both.predict(x, verbose=0)
    np.testing.assert_allclose(outs[-1], theirs.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
    # the same layers: training the model moves the extractor's output
    ours.compile("sgd", "mse")
    ours.fit(x, np.ones((5, 2), "float32"), epochs=2, verbose=0)
    assert not np.allclose(feat.predict(x, verbose=0), want)


def test_sequential_symbolic_attributes_follow_the_model():
    inp = keras.Input((4,))
    s = keras.Sequential([inp, layers.Dense(3, name="a"), layers.Dense(1)])
    assert s.input is inp and s.inputs == [inp]
    assert tuple(s.output.shape) == (None, 1)
    assert s.input_shape == (None, 4) and s.output_shape == (None, 1)
    assert tuple(s.get_layer("a").output.shape) == (None, 3)
    s.add(layers.Dense(5))
    assert tuple(s.output.shape) == (None, 5)  # the graph follows the layers
    s.pop()
    assert tuple(s.output.shape) == (None, 1)
    assert len(s.get_layer("a").__dict__["_inbound_nodes"]) == 1  # old graphs dropped


def test_a_sequential_learns_its_graph_from_data_and_refuses_before():
    s = keras.Sequential([layers.Dense(3), layers.Dense(1)])
    with pytest.raises(AttributeError, match="no defined inputs yet"):
        _ = s.inputs
    with pytest.raises(AttributeError, match="never been called"):
        _ = s.layers[0].output
    s(ge.ones((2, 6)))
    assert tuple(s.input.shape) == (None, 6) and tuple(s.layers[0].output.shape) == (None, 3)


def test_a_layer_never_called_symbolically_has_no_output():
    with pytest.raises(AttributeError, match="never been called"):
        _ = layers.Dense(2).output


def test_attributes_named_input_or_output_are_the_users():
    m = nn.Sequential(collections.OrderedDict(hidden=nn.Linear(4, 3), output=nn.Linear(3, 1)))
    assert isinstance(m.output, nn.Linear)
    assert m(ge.ones((2, 4))).shape == (2, 1)


def test_transfer_learning_with_a_frozen_base_against_keras(rng):
    k = _keras()
    x = rng.standard_normal((16, 4)).astype("float32")
    y = rng.integers(0, 2, 16)

    def build(lib, base_weights=None, head_weights=None):
        base = _functional(lib)[0]
        if base_weights is not None:
            base.set_weights(base_weights)
        base.trainable = False
        out = lib.layers.Dense(2, activation="softmax", name="head")(
            base.get_layer("h").output)
        model = lib.Model(base.input, out)
        if head_weights is not None:
            model.get_layer("head").set_weights(head_weights)
        model.compile(optimizer=lib.optimizers.SGD(0.1),
                      loss="sparse_categorical_crossentropy")
        return base, model
    base, ours = build(keras)
    before = [w.copy() for w in base.get_weights()]
    tbase, theirs = build(k, before, ours.get_layer("head").get_weights())
    h1 = ours.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    h2 = theirs.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-5)
    for a, b in zip(base.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ours.get_layer("head").get_weights(),
                    theirs.get_layer("head").get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
