"""StringLookup, IntegerLookup, TextVectorization and Hashing against Keras' own layers (which need
TensorFlow: those comparisons are skipped without it) and against the outputs printed in
Keras' docstrings."""

import os

import numpy as np
import pytest

from gradengine.keras import layers as L

VOCAB = ["a", "b", "c", "d"]
DATA = np.array([["a", "c", "d"], ["d", "z", "b"]])
TEXTS = np.array(["The Cat sat, on the mat!", "the dog ate my homework.", "Hello   world"])


def _arr(v):
    if hasattr(v, "detach"):
        v = v.detach().cpu()
    v = v.numpy() if hasattr(v, "numpy") else np.asarray(v)
    if v.dtype.kind in "SO":
        v = np.vectorize(lambda s: s.decode() if isinstance(s, bytes) else s)(v)
    return v


def _same(ours, theirs):
    a, b = _arr(ours), _arr(theirs)
    assert a.shape == b.shape and (a.dtype.kind in "US") == (b.dtype.kind in "USO")
    if a.dtype.kind not in "US":
        assert a.dtype == b.dtype
    if a.dtype.kind in "US" or b.dtype.kind in "US":
        np.testing.assert_array_equal(a.astype(str), b.astype(str))
    else:
        np.testing.assert_allclose(a, b, rtol=1e-6)


# ------------------------------------------------------------------ Keras' docstrings
def test_string_lookup_docstring_examples():
    assert L.StringLookup(vocabulary=VOCAB)(DATA).numpy().tolist() == [[1, 3, 4], [4, 0, 2]]
    layer = L.StringLookup()
    layer.adapt(DATA.tolist())
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    assert layer(DATA.tolist()).numpy().tolist() == [[5, 3, 1], [1, 2, 4]]
    data = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
    assert L.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(data).numpy().tolist() \
        == [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    assert L.StringLookup(vocabulary=VOCAB, output_mode="count")(data).numpy().tolist() \
        == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    inv = L.StringLookup(vocabulary=VOCAB, invert=True)
    assert inv(np.array([[1, 3, 4], [4, 0, 2]])).tolist() == [["a", "c", "d"],
                                                             ["d", "[UNK]", "b"]]


def test_lookup_errors():
    with pytest.raises(ValueError, match="repeated"):
        L.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        L.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(DATA)
    with pytest.raises(ValueError, match="Cannot adapt"):
        L.StringLookup(vocabulary=VOCAB).adapt(DATA)
    with pytest.raises(ValueError, match="salt"):
        L.Hashing(num_bins=3, salt="x")
    with pytest.raises(ValueError, match="num_bins"):
        L.Hashing(num_bins=0)


def test_hashing_docstring_examples():
    inp = [["A"], ["B"], ["C"], ["D"], ["E"]]
    assert L.Hashing(num_bins=3)(inp).numpy().ravel().tolist() == [1, 0, 1, 1, 2]
    assert L.Hashing(num_bins=3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]]) \
        .numpy().ravel().tolist() == [1, 1, 0, 2, 2]
    assert L.Hashing(num_bins=3, salt=[133, 137])(inp).numpy().ravel().tolist() == \
        [1, 2, 1, 0, 2]
    assert L.Hashing(num_bins=3, salt=133)(inp).numpy().ravel().tolist() == [0, 0, 2, 1, 0]
    # several OOV indices hash the OOV strings into them (Keras' StringLookup docstring)
    lk = L.StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    assert lk([["a", "c", "d"], ["m", "z", "b"]]).numpy().tolist() == [[2, 4, 5], [0, 1, 3]]


def test_hashes_against_tensorflow():
    tf = pytest.importorskip("tensorflow")
    from gradengine.keras.layers_text import fingerprint64, siphash24
    rng = np.random.default_rng(0)
    for n in list(range(0, 70)) + [127, 128, 129, 300, 640]:
        s = bytes(rng.integers(0, 256, n, dtype=np.uint8))
        assert fingerprint64(s) % (2 ** 62) == \
            int(tf.strings.to_hash_bucket_fast([s], 2 ** 62).numpy()[0])
        assert siphash24([133, 137], s) % (2 ** 62) == \
            int(tf.strings.to_hash_bucket_strong([s], 2 ** 62, key=[133, 137]).numpy()[0])


# ------------------------------------------------------------------ Keras itself
@pytest.fixture(scope="module")
def kl():
    pytest.importorskip("tensorflow")  # Keras' lookup layers are written in TensorFlow
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    return keras.layers


@pytest.mark.parametrize("kw", [{}, {"mask_token": "[M]"}, {"output_mode": "multi_hot"},
                                {"output_mode": "count"}, {"output_mode": "one_hot"}])
def test_string_lookup_matches_keras(kl, kw):
    data = np.array(["a", "z", "b"]) if kw.get("output_mode") == "one_hot" else DATA
    k, g = kl.StringLookup(vocabulary=VOCAB, **kw), L.StringLookup(vocabulary=VOCAB, **kw)
    _same(g(data), k(data))
    assert g.get_vocabulary() == k.get_vocabulary()


@pytest.mark.parametrize("kw", [{}, {"max_tokens": 3}, {"output_mode": "tf_idf"}])
def test_string_lookup_adapt_matches_keras(kl, kw):
    data = np.array([["a", "b", "c"], ["b", "c", "e"], ["e", "b", "q"]])
    k, g = kl.StringLookup(**kw), L.StringLookup(**kw)
    k.adapt(data)
    g.adapt(data)
    assert g.get_vocabulary() == [str(t) for t in k.get_vocabulary()]
    _same(g(data), k(data))


def test_invert_and_tf_idf_weights_match_keras(kl):
    idx = np.array([[1, 2], [0, 5]])
    for kw in ({}, {"mask_token": "[M]"}):
        k = kl.StringLookup(vocabulary=VOCAB, invert=True, **kw)
        _same(L.StringLookup(vocabulary=VOCAB, invert=True, **kw)(idx), k(idx))
    w = [0.1, 0.2, 0.3, 0.4]
    k = kl.StringLookup(vocabulary=VOCAB, output_mode="tf_idf", idf_weights=w)
    _same(L.StringLookup(vocabulary=VOCAB, output_mode="tf_idf", idf_weights=w)(DATA), k(DATA))


@pytest.mark.parametrize("kw", [{}, {"mask_token": 0}, {"num_oov_indices": 2},
                                {"output_mode": "multi_hot"}, {"invert": True}])
def test_integer_lookup_matches_keras(kl, kw):
    vocab, data = [12, 36, 1138, 42], np.array([[12, 1138, 42], [42, 1000, 36]])
    if kw.get("invert"):
        data = np.array([[1, 2], [0, 7]])
    k, g = kl.IntegerLookup(vocabulary=vocab, **kw), L.IntegerLookup(vocabulary=vocab, **kw)
    _same(g(data), k(data))
    assert g.get_vocabulary() == [int(v) for v in k.get_vocabulary()]
    a = np.array([[12, 1138, 42], [42, 1000, 36], [36, 36, 7]])
    k, g = kl.IntegerLookup(), L.IntegerLookup()
    k.adapt(a)
    g.adapt(a)
    assert g.get_vocabulary() == [int(v) for v in k.get_vocabulary()]


@pytest.mark.parametrize("kw", [
    {}, {"output_sequence_length": 4}, {"max_tokens": 6}, {"output_mode": "multi_hot"},
    {"output_mode": "count"}, {"output_mode": "tf_idf"}, {"ngrams": 2},
    {"split": "character", "output_sequence_length": 8}, {"standardize": None},
    {"standardize": "lower"}])
def test_text_vectorization_matches_keras(kl, kw):
    k, g = kl.TextVectorization(**kw), L.TextVectorization(**kw)
    k.adapt(TEXTS)
    g.adapt(TEXTS)
    assert g.get_vocabulary() == [str(t) for t in k.get_vocabulary()]
    _same(g(TEXTS), k(TEXTS))
    new = np.array(["cat and the hat", "zzz"])
    _same(g(new), k(new))


def test_text_vectorization_given_vocabulary_matches_keras(kl):
    k = kl.TextVectorization(vocabulary=["cat", "mat"], output_sequence_length=3)
    g = L.TextVectorization(vocabulary=["cat", "mat"], output_sequence_length=3)
    _same(g(TEXTS), k(TEXTS))
    assert g.get_vocabulary() == [str(t) for t in k.get_vocabulary()]


@pytest.mark.parametrize("kw", [
    {"num_bins": 3}, {"num_bins": 3, "mask_value": ""}, {"num_bins": 5, "salt": [133, 137]},
    {"num_bins": 7, "output_mode": "one_hot"}, {"num_bins": 7, "output_mode": "multi_hot"},
    {"num_bins": 7, "output_mode": "count"}])
def test_hashing_matches_keras(kl, kw):
    s = np.array([["A"], ["B"], [""], ["hello world, a string longer than 32 bytes!"]])
    _same(L.Hashing(**kw)(s), kl.Hashing(**kw)(s))
    if kw.get("output_mode") != "one_hot":
        ints = np.array([[1, 2, 3], [4, 5, -6], [1000000007, 0, 12]])
        kw = {**kw, "mask_value": 0} if "mask_value" in kw else kw
        _same(L.Hashing(**kw)(ints), kl.Hashing(**kw)(ints))


@pytest.mark.parametrize("kw", [{"num_oov_indices": 3, "salt": 7},
                                {"num_oov_indices": 2, "mask_token": "[M]"}])
def test_lookup_oov_hashing_matches_keras(kl, kw):
    data = np.array([["a", "c", "d"], ["m", "z", "b"]])
    _same(L.StringLookup(vocabulary=VOCAB, **kw)(data), kl.StringLookup(vocabulary=VOCAB,
                                                                        **kw)(data))
    ints = np.array([[12, 1138, 42], [42, 1000, 37]])
    kw = {"num_oov_indices": 4, "oov_method": "farmhash", "salt": kw.get("salt")}
    vocab = [12, 36, 1138, 42]
    _same(L.IntegerLookup(vocabulary=vocab, **kw)(ints),
          kl.IntegerLookup(vocabulary=vocab, **kw)(ints))
