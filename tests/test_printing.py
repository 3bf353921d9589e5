"""A Tensor prints as in PyTorch: the same text for every layout case (floats, integers,
scientific notation, non-finite values, empty, summarised, default and other dtypes,
grad_fn / requires_grad), and set_printoptions as torch.set_printoptions."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge

torch = pytest.importorskip("torch")


def _arrays():
    rng = np.random.default_rng(0)
    return {
        "floats": np.float32([1.0, 2.0]),
        "ints": np.int64([1, 2]),
        "fraction_matrix": np.float32([[1.5, 2.25], [3, 4]]),
        "scalar": np.float32(3.0),
        "bools": np.array([True, False]),
        "float64": np.float64([1, 2]),
        "float16": np.zeros(2, np.float16),
        "sci": np.float32([1e-5, 1e5]),
        "cube": rng.standard_normal((3, 4, 5)).astype(np.float32),
        "summarised": np.arange(2000.0, dtype=np.float32).reshape(40, 50),
        "long_vector": np.arange(30),
        "empty_2d": np.zeros((0, 3), np.float32),
        "empty": np.zeros(0, np.float32),
        "non_finite": np.float32([np.nan, np.inf, -1.5]),
        "nan_int_mode": np.float32([np.nan, 1.0]),
        "large_int_mode": np.float32([1e10, 1.0]),
        "signed_zeros": np.float32([-0.0, 0.0]),
        "int32": np.arange(12, dtype=np.int32).reshape(3, 4),
        "wide": rng.standard_normal(40).astype(np.float32) * 1000,
    }


@pytest.mark.parametrize("name", sorted(_arrays()))
def test_repr_is_torchs(name):
    a = _arrays()[name]
    assert repr(ge.tensor(a)) == repr(torch.tensor(a)).replace("torch.", "")


def test_grad_fn_and_requires_grad_suffixes_and_names():
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == repr(tx)
    assert repr(x * 2) == repr(tx * 2)
    assert (x * 2).grad_fn.name() == (tx * 2).grad_fn.name() == "MulBackward0"


@pytest.mark.parametrize("opts", [dict(precision=2), dict(sci_mode=True), dict(profile="short"),
                                  dict(threshold=5, edgeitems=1), dict(linewidth=30)])
def test_set_printoptions_as_torch(opts):
    a = np.linspace(-3, 7, 24, dtype=np.float32).reshape(4, 6)
    try:
        ge.set_printoptions(**opts)
        torch.set_printoptions(**opts)
        assert repr(ge.tensor(a)) == repr(torch.tensor(a))
    finally:
        ge.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    with pytest.raises(ValueError, match="profile must be"):
        ge.set_printoptions(profile="long")
