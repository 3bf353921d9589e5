"""keras.ops at the edges a sweep against Keras 3 found: NaN in quantiles and angle,
infinities in the sparse activations, saturating casts to float16, circular padding, the
dtypes of fabs / square / sign / diff / heaviside on ints and bools, corrcoef of one
variable -- by hand, and against Keras itself (torch backend) when it is installed."""

import importlib.util
import os
import warnings

import numpy as np
import pytest

from gradengine.keras import ops

NAN, INF = float("nan"), float("inf")
CASES = [
    ("median", (np.array([1, NAN, 3], "float32"),), {}, np.float32(NAN)),
    ("median", (np.array([[1, 2, 3], [1, NAN, 3]], "float32"),), {"axis": 1},
     np.array([2, NAN], "float32")),
    ("quantile", (np.array([1, NAN, 3], "float32"), [0.1, 0.5]), {},
     np.array([NAN, NAN], "float32")),
    ("percentile", (np.array([1.0, 2.0, 4.0], "float32"), 50), {}, np.float32(2.0)),
    ("angle", (np.array([NAN, -1, 2], "float32"),), {}, np.array([NAN, np.pi, 0], "float32")),
    ("sparse_sigmoid", (np.array([INF, -INF, 2, 0], "float32"),), {},
     np.array([1, 0, 1, 0.5], "float32")),
    ("sparse_plus", (np.array([INF, -INF, 2, 0], "float32"),), {},
     np.array([INF, 0, 2, 0.25], "float32")),
    ("saturate_cast", (np.array([1, 70000, -70000], "int32"), "float16"), {},
     np.array([1, 65504, -65504], "float16")),
    ("pad", (np.arange(6.0, dtype="float32").reshape(2, 3), ((1, 1), (1, 1))),
     {"mode": "circular"},
     np.pad(np.arange(6.0, dtype="float32").reshape(2, 3), 1, mode="wrap")),
    ("fabs", (np.array([1, -2], "int32"),), {}, np.array([1, 2], "float32")),
    ("square", (np.array([True, False]),), {}, np.array([1, 0], "int32")),
    ("sign", (np.array([True, False]),), {}, np.array([True, False])),
    ("diff", (np.array([True, False, False]),), {}, np.array([True, False])),
    ("heaviside", (np.array([-1, 0, 2], "int32"), np.array([5, 5, 5], "int32")), {},
     np.array([0, 5, 1], "float32")),
    ("relu", (np.array([-2, 3], "int32"),), {}, np.array([0, 3], "int32")),
    ("hard_tanh", (np.array([-2, 0, 3], "int32"),), {}, np.array([-1, 0, 1], "int32")),
    ("corrcoef", (np.array([1.0, 2.0, 4.0], "float32"),), {}, np.float32(1.0)),
]


def _np(v):
    return v.numpy() if hasattr(v, "numpy") else np.asarray(v)


@pytest.mark.parametrize("name, args, kwargs, expected", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_edges_by_hand(name, args, kwargs, expected):
    got = _np(getattr(ops, name)(*args, **kwargs))
    assert got.shape == np.shape(expected)
    assert got.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(got.astype(np.float64), np.asarray(expected, np.float64),
                               rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name, args, kwargs, expected", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_edges_as_keras(name, args, kwargs, expected):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    if os.environ["KERAS_BACKEND"] != "torch" or importlib.util.find_spec("keras") is None:
        pytest.skip("Keras (torch backend) is not installed")
    import keras
    with warnings.catch_warnings():  # (Keras' own casts may warn)
        warnings.simplefilter("ignore")
        ref = keras.ops.convert_to_numpy(getattr(keras.ops, name)(*args, **kwargs))
    got = _np(getattr(ops, name)(*args, **kwargs))
    assert got.shape == ref.shape and got.dtype == ref.dtype
    np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=1e-6,
                               equal_nan=True)


PRODUCT_DTYPES = [("int32", "float32", "float32"), ("int8", "int8", None),
                  ("float16", "float32", "float32"), ("int32", "float16", "float16"),
                  ("int64", "int64", "int32"), ("float64", "float32", "float32"),
                  ("int64", "float32", "float32")]


@pytest.mark.parametrize("a, b, expected", PRODUCT_DTYPES)
@pytest.mark.parametrize("name", ["matmul", "dot", "tensordot", "inner"])
def test_products_promote_as_keras(name, a, b, expected):
    x, y = np.ones((2, 2), a), np.full((2, 2), 2, b)
    got = _np(getattr(ops, name)(x, y))
    if expected is None:  # int8: Keras' matmul gives int32, the others keep int8
        expected = "int32" if name == "matmul" else "int8"
    assert got.dtype == np.dtype(expected)
    np.testing.assert_array_equal(got.astype(np.float64),
                                  getattr(np, name)(x.astype(np.float64), y.astype(
                                      np.float64)))


def test_vectorize_broadcasts_and_excludes():
    f = ops.vectorize(lambda a, b: a + b)
    np.testing.assert_array_equal(_np(f(np.array([1.0, 2.0, 3.0]), np.array(0.0))),
                                  [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(_np(f(np.array([1.0, 2.0]), np.array([[10.0], [20.0]]))),
                                  [[11.0, 12.0], [21.0, 22.0]])
    g = ops.vectorize(lambda a, k: a * k, excluded={1})
    np.testing.assert_array_equal(_np(g(np.array([1.0, 2.0]), 3.0)), [3.0, 6.0])
