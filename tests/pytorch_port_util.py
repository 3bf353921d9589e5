"""PyTorch's test harness, replaced: ``assert_equal`` compares as
``torch.testing._internal.common_utils.TestCase.assertEqual`` does (values within the
dtype's default tolerances, shapes, and dtypes when both sides are tensors), so that the
cases ported from PyTorch's own test suite (tests/test_pytorch_suite_port*.py) keep their
logic and expected values."""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from numbers import Number

import numpy as np
import pytest

import gradengine as torch

# TestCase's default tolerances (torch.testing._comparison's, by dtype)
_TOL = {np.dtype("float16"): (1e-3, 1e-5), np.dtype("float32"): (1.3e-6, 1e-5),
        np.dtype("float64"): (1e-7, 1e-7)}


def _as_array(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _tol(*dtypes):
    rtols, atols = zip(*[_TOL.get(np.dtype(d), (0.0, 0.0)) for d in dtypes])
    return max(rtols), max(atols)


def assert_equal(x, y, atol=None, rtol=None, exact_dtype=True, msg=None):
    """TestCase.assertEqual: tensors, arrays, numbers and sequences of them."""
    if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor) or \
            isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        both = (isinstance(x, (torch.Tensor, np.ndarray))
                and isinstance(y, (torch.Tensor, np.ndarray)))
        a, b = _as_array(x), _as_array(y)
        if not both:  # a number or list compared with a tensor takes the tensor's dtype
            ref = a if isinstance(x, (torch.Tensor, np.ndarray)) else b
            a, b = a.astype(ref.dtype, copy=False), b.astype(ref.dtype, copy=False)
        if a.size == 1 and b.size == 1 and not both:
            a, b = a.reshape(()), b.reshape(())
        assert a.shape == b.shape, msg or f"shapes differ: {a.shape} vs {b.shape}"
        if both and exact_dtype:
            assert a.dtype == b.dtype, msg or f"dtypes differ: {a.dtype} vs {b.dtype}"
        r, t = _tol(a.dtype, b.dtype)
        rtol = r if rtol is None else rtol
        atol = t if atol is None else atol
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol,
                                       atol=atol, equal_nan=True, err_msg=msg or "")
        else:
            np.testing.assert_array_equal(a, b, err_msg=msg or "")
        return
    from gradengine import nn
    if isinstance(x, nn.Module) and isinstance(y, nn.Module) and hasattr(x, "__iter__"):
        # containers (Sequential, ModuleList, ModuleDict): element by element, each
        # module compared by ==, which for a module is identity
        x, y = list(x.items() if hasattr(x, "items") else x), \
            list(y.items() if hasattr(y, "items") else y)
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        assert len(x) == len(y), msg or f"lengths differ: {len(x)} vs {len(y)}"
        for xi, yi in zip(x, y):
            assert_equal(xi, yi, atol=atol, rtol=rtol, exact_dtype=exact_dtype, msg=msg)
        return
    if isinstance(x, Number) and isinstance(y, Number) and not isinstance(x, bool):
        if isinstance(x, float) or isinstance(y, float):
            if math.isnan(x) and math.isnan(y):
                return
            assert math.isclose(x, y, rel_tol=rtol or 1.3e-6, abs_tol=atol or 1e-5), \
                msg or f"{x} != {y}"
            return
    assert x == y, msg or f"{x!r} != {y!r}"


@contextmanager
def assert_raises_regex(exc, regex):
    """TestCase.assertRaisesRegex."""
    with pytest.raises(exc) as info:
        yield info
    assert re.search(regex, str(info.value)), f"{regex!r} not in {str(info.value)!r}"
