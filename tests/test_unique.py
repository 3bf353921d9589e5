"""ge.unique / Tensor.unique as torch.unique: the sorted values, return_inverse,
return_counts and dim= (unique slices in lexicographic order). By-hand cases first (no
torch needed), then torch as the oracle over many inputs."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine.errors import AxisError, ShapeError


def _np(ts):
    return [t.numpy().tolist() for t in ts]


def test_unique_values_inverse_and_counts_by_hand(device):
    x = ge.tensor([3, 1, 2, 3, 1], device=device)
    assert ge.unique(x).tolist() == [1, 2, 3]
    values, inverse, counts = ge.unique(x, return_inverse=True, return_counts=True)
    assert _np((values, inverse, counts)) == [[1, 2, 3], [2, 0, 1, 2, 0], [2, 1, 2]]
    assert inverse.dtype == np.int64 and counts.dtype == np.int64
    assert (values[inverse]).tolist() == x.tolist()  # the inverse rebuilds x
    values, counts = x.unique(return_counts=True)
    assert _np((values, counts)) == [[1, 2, 3], [2, 1, 2]]


def test_unique_inverse_has_the_shape_of_x(device):
    x = ge.tensor([[2.0, 0.5], [0.5, 2.0], [7.0, 2.0]], device=device)
    values, inverse = x.unique(return_inverse=True)
    assert values.tolist() == [0.5, 2.0, 7.0] and values.dtype == np.float32
    assert inverse.shape == (3, 2) and inverse.tolist() == [[1, 0], [0, 1], [2, 1]]
    values, inverse = ge.unique(ge.tensor(5, device=device), return_inverse=True)
    assert values.tolist() == [5] and inverse.shape == () and inverse.item() == 0


def test_unique_along_a_dim_sorts_slices_lexicographically(device):
    x = ge.tensor([[1, 2], [0, 5], [1, 2], [0, 1]], device=device)
    values, inverse, counts = ge.unique(x, dim=0, return_inverse=True, return_counts=True)
    assert values.tolist() == [[0, 1], [0, 5], [1, 2]]
    assert inverse.tolist() == [2, 1, 2, 0] and counts.tolist() == [1, 1, 2]
    values, inverse, counts = x.unique(dim=1, return_inverse=True, return_counts=True)
    assert values.tolist() == x.tolist() and inverse.tolist() == [0, 1]
    assert ge.unique(x.T, dim=-1).tolist() == [[0, 0, 1], [1, 5, 2]]
    assert ge.unique(x, dim=0, sorted=False).tolist() == [[0, 1], [0, 5], [1, 2]]


def test_unique_of_floats_with_ties_nan_and_signed_zeros():
    x = ge.tensor([0.0, -0.0, 3.0, np.nan, 3.0, np.nan])
    values, inverse, counts = ge.unique(x, return_inverse=True, return_counts=True)
    v = values.numpy()
    assert v[:2].tolist() == [0.0, 3.0] and np.isnan(v[2:]).all()  # each NaN its own
    assert not np.signbit(v[0])  # the first of 0.0 and -0.0, as torch
    assert inverse.tolist() == [0, 0, 1, 2, 1, 3] and counts.tolist() == [2, 2, 1, 1]
    assert np.signbit(ge.unique(ge.tensor([-0.0, 0.0])).numpy()[0])


def test_unique_of_bools_and_empty_tensors(device):
    values, inverse, counts = ge.unique(ge.tensor([True, False, True], device=device),
                                        return_inverse=True, return_counts=True)
    assert _np((values, inverse, counts)) == [[False, True], [1, 0, 1], [1, 2]]
    values, inverse, counts = ge.unique(ge.zeros(0, device=device), return_inverse=True,
                                        return_counts=True)
    assert values.shape == inverse.shape == counts.shape == (0,)
    values, inverse = ge.unique(ge.zeros((0, 3), device=device), dim=0, return_inverse=True)
    assert values.shape == (0, 3) and inverse.shape == (0,)
    assert ge.unique(ge.zeros((3, 0), device=device), dim=1).shape == (3, 0)


def test_unique_refuses_what_torch_refuses():
    with pytest.raises(ShapeError, match=r"unique.*\(3, 0\)"):
        ge.unique(ge.zeros((3, 0)), dim=0)
    with pytest.raises(ShapeError, match=r"unique.*\(0, 0\)"):
        ge.unique(ge.zeros((0, 0)), dim=1)
    with pytest.raises(AxisError, match="unique"):  # an IndexError, as torch's
        ge.unique(ge.tensor(5), dim=0)
    with pytest.raises(IndexError, match="unique"):
        ge.unique(ge.zeros((2, 3)), dim=2)


def test_unique_has_no_gradient():
    x = ge.tensor([1.0, 2.0, 1.0], requires_grad=True)
    assert not any(t.requires_grad for t in ge.unique(x, return_inverse=True,
                                                      return_counts=True))


def test_unique_is_replayed_by_jit():
    @ge.jit
    def f(x):
        return ge.unique(x, dim=0, return_inverse=True, return_counts=True)

    for _ in range(3):
        out = f(ge.tensor([[1, 2], [0, 5], [1, 2]]))
        assert _np(out) == [[[0, 5], [1, 2]], [1, 0, 1], [1, 2]]


_KWS = [{}, {"return_inverse": True}, {"return_counts": True},
        {"return_inverse": True, "return_counts": True},
        {"sorted": False, "return_inverse": True, "return_counts": True}]


def _against_torch(torch, a, **kw):
    got = ge.unique(ge.tensor(a), **kw)
    want = torch.unique(torch.from_numpy(a.copy()), **kw)
    got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = w.numpy()
        assert g.shape == w.shape and g.dtype == w.dtype, (a, kw, g.shape, w.shape)
        np.testing.assert_array_equal(g.numpy(), w, err_msg=f"{a!r} {kw}")
        if w.dtype.kind == "f":
            np.testing.assert_array_equal(np.signbit(g.numpy()), np.signbit(w))


@pytest.mark.parametrize("shape", [(9,), (4, 3), (2, 3, 4), (0,), (5, 1), (1,), ()],
                         ids=str)
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "float32", "float64", "bool"])
def test_unique_matches_torch(shape, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for trial in range(4):
        a = rng.integers(0, 2 + trial, size=shape).astype(dtype)  # many ties
        if dtype.startswith("float") and a.size:
            a.flat[rng.integers(0, a.size)] = -0.0 if trial % 2 else np.nan
        for kw in _KWS:
            _against_torch(torch, a, **kw)
            for d in range(-len(shape), len(shape)):
                if a.dtype.kind == "f" and np.isnan(a).any():
                    continue  # torch's slice order with a NaN is its sort's accident
                _against_torch(torch, a, dim=d, **kw)


def test_unique_of_float_slices_with_ties_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a = np.round(rng.standard_normal((12, 3, 2)), 0).astype(np.float32)
    a[5], a[9] = a[2], a[2]
    for d in (0, 1, 2, -1):
        for kw in _KWS:
            _against_torch(torch, a, dim=d, **kw)
