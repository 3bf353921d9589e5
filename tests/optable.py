"""The op-table checks shared by the family test files (test_ops_conv, test_ops_norm,
test_ops_losses): gradcheck in float64, gradgradcheck, PyTorch as the reference (values
and gradients), the CPU, the NumPy stand-in for CUDA and CUDA, and ge.jit replay equal to
eager bit for bit. A helper module (imported by name), not a test module."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

import gradengine as ge
from gradengine.core.op import Op


@dataclasses.dataclass
class Row:
    name: str
    fn: Callable                 # gradengine: (*tensors) -> Tensor
    torch_fn: Callable           # torch: (*tensors) -> tensor (the reference)
    samples: Callable            # rng -> list of lists of arrays (ints: no gradient)
    covers: tuple = ()
    second_order: bool = True
    diff: tuple = None           # which inputs get gradients (default: every float one)
    seeded: bool = False         # draws random numbers: seed before every call
    finite_diff: bool = True     # False: the gradient is a convention, not the derivative
    gc_kw: dict = dataclasses.field(default_factory=dict)


def tensors(arrays, dtype, device, row):
    out = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.dtype.kind == "f":
            t = ge.tensor(a.astype(dtype), device=device)
            t.requires_grad = row.diff is None or i in row.diff
        else:
            t = ge.tensor(a, device=device)
        out.append(t)
    return out


def _seeded(row, fn):
    if not row.seeded:
        return fn

    def call(*ts):
        ge.manual_seed(7)
        return fn(*ts)
    return call


def check_gradcheck(row, device, rng):
    if not row.finite_diff:
        pytest.skip(f"{row.name}: its gradient is a convention (checked against torch)")
    for arrays in row.samples(rng):
        ts = tensors(arrays, "float64", device, row)
        assert ge.gradcheck(_seeded(row, row.fn), ts, **row.gc_kw), row.name


def check_gradgradcheck(row, device, rng):
    if not row.finite_diff:
        pytest.skip(f"{row.name}: its gradient is a convention (checked against torch)")
    for arrays in row.samples(rng)[:4]:
        ts = tensors(arrays, "float64", device, row)
        assert ge.gradgradcheck(_seeded(row, row.fn), ts, **row.gc_kw), row.name


def check_torch(row, device, rng, dtype="float64"):
    """Values and gradients against PyTorch (float64: 1e-10; float32: 1e-5), the result
    and gradients keeping shape, dtype and device."""
    import torch
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-5)
    for arrays in row.samples(rng):
        ts = tensors(arrays, dtype, device, row)
        tt = []
        for a, t in zip(arrays, ts):
            a = np.asarray(a)
            x = torch.tensor(np.array(a.astype(dtype) if a.dtype.kind == "f" else a,
                                      order="C"))
            if t.requires_grad:
                x.requires_grad_(True)
            tt.append(x)
        out = _seeded(row, row.fn)(*ts)
        tout = row.torch_fn(*tt)
        assert out.shape == tuple(tout.shape), row.name
        assert out.dtype == np.dtype(dtype) and out.device == ts[0].device
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), err_msg=row.name, **tol)
        if out.requires_grad and tout.requires_grad and out.size:
            g = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
            out.backward(ge.tensor(g, device=device))
            tout.backward(torch.tensor(g))
            for t, x in zip(ts, tt):
                if t.requires_grad and x.grad is not None:
                    assert t.grad.shape == t.shape and t.grad.dtype == t.dtype
                    assert t.grad.device == t.device
                    np.testing.assert_allclose(t.grad.numpy(), x.grad.numpy(),
                                               err_msg=row.name, **tol)


def check_jit(row, rng, shift_ok=True):
    """Recorded once, replayed on other values of the same shapes: values and gradients
    equal the eager ones bit for bit (random draws too, from the same seed)."""
    def step(*ts):
        out = row.fn(*ts)
        diff = [t for t in ts if t.requires_grad]
        if not out.requires_grad or not diff:
            return out, ()
        return out, ge.grad((out * 1.5).sum(), diff, allow_unused=True)

    for arrays in row.samples(rng)[:3]:
        jitted = ge.jit(step)
        for k in range(3):
            vals = [np.asarray(a) + (0.125 * k if np.asarray(a).dtype.kind == "f" and shift_ok
                                     else 0) for a in arrays]
            ge.manual_seed(k)
            want_out, want_grads = step(*tensors(vals, "float32", "cpu", row))
            ge.manual_seed(k)
            got_out, got_grads = jitted(*tensors(vals, "float32", "cpu", row))
            np.testing.assert_array_equal(got_out.numpy(), want_out.numpy(), err_msg=row.name)
            assert len(got_grads) == len(want_grads)
            for g, w in zip(got_grads, want_grads):
                if w is None:
                    assert g is None
                else:
                    np.testing.assert_array_equal(g.numpy(), w.numpy(), err_msg=row.name)
        assert jitted.traces == 1, row.name


def op_names(*modules):
    """The names of the ops defined in ``modules`` (not those they import)."""
    return {v.name for mod in modules for v in vars(mod).values()
            if isinstance(v, Op) and v.fwd.__module__ == mod.__name__}


def covered(rows, extra=()):
    return {r.name.split("[")[0] for r in rows} | {c for r in rows for c in r.covers} | \
        set(extra)
