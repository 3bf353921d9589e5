"""``ge.testing.assert_close``: PyTorch's comparison, with its default tolerances per dtype.

    ge.testing.assert_close(actual, expected)            # rtol / atol from the dtype
    ge.testing.assert_close(a, b, rtol=0, atol=0)        # exact
"""

from __future__ import annotations

import numpy as np

from .core.tensor import Tensor

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

# PyTorch's defaults (torch.testing._comparison): (rtol, atol)
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}


def _host(x):
    if isinstance(x, Tensor):
        return x.numpy(), x.device
    return np.asarray(x), None


def _fail(msg, user_msg):
    raise AssertionError(user_msg if isinstance(user_msg, str) else
                         user_msg(msg) if callable(user_msg) else msg)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close: Tensors, arrays,
    Python numbers, or (nested) sequences and mappings of them, compared elementwise with
    ``|a - e| <= atol + rtol * |e|``. Without ``rtol`` / ``atol`` the tolerances are
    PyTorch's for the dtype (float32: 1.3e-6 / 1e-5; float64: 1e-7 / 1e-7; float16:
    1e-3 / 1e-5; integers and bools: exact). Shapes must match, and dtypes and devices
    unless ``check_dtype`` / ``check_device`` is False."""
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: both 'rtol' and 'atol' must be either specified or "
                         f"omitted, but got no {'rtol' if rtol is None else 'atol'}.")
    if isinstance(expected, dict) or isinstance(actual, dict):
        if not (isinstance(actual, dict) and isinstance(expected, dict)) or \
                set(actual) != set(expected):
            _fail(f"The mappings differ: keys {sorted(map(str, actual))} and "
                  f"{sorted(map(str, expected))}", msg)
        for k in expected:
            assert_close(actual[k], expected[k], rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_device=check_device, check_dtype=check_dtype, msg=msg)
        return
    if isinstance(expected, (list, tuple)) and not isinstance(actual, (Tensor, np.ndarray)) \
            and any(isinstance(v, (Tensor, np.ndarray, list, tuple, dict)) for v in expected):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                  msg)
        for a, e in zip(actual, expected):
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_device=check_device, check_dtype=check_dtype, msg=msg)
        return
    a, a_dev = _host(actual)
    e, e_dev = _host(expected)
    scalar = not isinstance(actual, (Tensor, np.ndarray)) and \
        not isinstance(expected, (Tensor, np.ndarray))
    if a.shape != e.shape:
        _fail(f"The values for attribute 'shape' do not match: {a.shape} != {e.shape}.", msg)
    if check_device and a_dev is not None and e_dev is not None and a_dev != e_dev:
        _fail(f"The values for attribute 'device' do not match: {a_dev} != {e_dev}.", msg)
    if check_dtype and not scalar and a.dtype != e.dtype:
        _fail(f"The values for attribute 'dtype' do not match: {a.dtype} != {e.dtype}.", msg)
    if rtol is None:
        dt = np.promote_types(a.dtype, e.dtype)
        rtol, atol = _TOLERANCES.get(dt, (1.3e-6, 1e-5) if dt.kind in "fc" else (0.0, 0.0))
    af = a.astype(np.float64) if a.dtype.kind in "biuf" else a
    ef = e.astype(np.float64) if e.dtype.kind in "biuf" else e
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(af - ef)
        ok = diff <= atol + rtol * np.abs(ef)
        ok |= af == ef  # equal infinities
        if equal_nan:
            ok |= np.isnan(af) & np.isnan(ef)
    if bool(np.all(ok)):
        return
    bad = ~ok
    n_bad, total = int(bad.sum()), ok.size
    what = "Scalars are" if scalar else "Tensor-likes are"
    lines = [f"{what} not {'equal' if rtol == 0 and atol == 0 else 'close'}!", ""]
    if scalar:
        lines.append(f"Expected {e.item()} but got {a.item()}.")
        lines.append(f"Absolute difference: {float(diff):g} (up to {atol:g} allowed)")
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(bad, diff / np.abs(ef), 0.0)
        d = np.where(bad, np.nan_to_num(diff, nan=np.inf), -1.0)
        i_abs = np.unravel_index(int(np.argmax(d)), a.shape) if a.ndim else ()
        i_rel = np.unravel_index(int(np.argmax(np.nan_to_num(rel, nan=np.inf))), a.shape) \
            if a.ndim else ()
        lines.append(f"Mismatched elements: {n_bad} / {total} ({100.0 * n_bad / total:.1f}%)")
        lines.append(f"Greatest absolute difference: {float(diff[i_abs]):g} at index "
                     f"{tuple(int(i) for i in i_abs)} (up to {atol:g} allowed)")
        lines.append(f"Greatest relative difference: {float(rel[i_rel]):g} at index "
                     f"{tuple(int(i) for i in i_rel)} (up to {rtol:g} allowed)")
    _fail("\n".join(lines), msg)


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """The deprecated ``torch.testing.assert_allclose``: :func:`assert_close` without the
    dtype check, NaNs equal."""
    if rtol is None and atol is not None:
        rtol = 0.0
    if atol is None and rtol is not None:
        atol = 0.0
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_dtype=False, msg=msg or None)


def make_tensor(*shape, dtype, device="cpu", low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False):
    """``torch.testing.make_tensor``: uniform values in [low, high) (default [-9, 9) for
    floats, [-9, 10) for integers), from gradengine's seeded generator."""
    from . import backend
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    dt = backend.resolve_dtype(dtype, "make_tensor")
    lo = -9 if low is None else low
    hi = (9 if dt.kind == "f" else 10) if high is None else high
    gen = backend.rng("cpu")
    if dt.kind == "b":
        arr = gen.integers(0, 2, shape).astype(bool)
    elif dt.kind in "iu":
        arr = gen.integers(int(lo), int(hi), shape).astype(dt)
    else:
        arr = gen.uniform(lo, hi, shape).astype(dt)
    if exclude_zero:
        arr[arr == 0] = 1 if dt.kind != "f" else np.finfo(dt).tiny
    t = Tensor(arr, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t
