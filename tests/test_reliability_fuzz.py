"""Issue 7 item 8: property-based fuzzing of the autodiff engine (hypothesis).

A random program is drawn: 1-3 float64 leaves of random shapes (0-d to 3-d), then 1-8
steps, each one of: add / sub / mul (with NumPy broadcasting, often against a fresh leaf
of a broadcast-compatible shape), division by a positive tensor, exp of a small argument,
tanh, sigmoid, neg, sum / mean over random axes (keepdims random), reshape, transpose,
a reversed view, and matmul (vector and batched forms) against a fresh leaf. Values are
kept in a moderate range by constant rescaling (no kinks, no overflow). The program's
output is contracted with a fixed random tensor into a scalar.

Checked for each program:
- ``ge.gradcheck`` against float64 central finite differences (full Jacobian up to 64
  input elements, else 3 random directions);
- PyTorch (when installed) replaying the same program: equal forward value and equal
  gradients for every leaf (rtol 1e-10) with the same shapes;
- backward twice on fresh graphs is bit-identical.

CI runs a bounded, derandomized set (100 programs); ``-m slow`` draws 2,000 at random.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradengine as ge
import gradengine.functional as F

try:
    import torch
except Exception:  # noqa: BLE001
    torch = None

F64 = "float64"
SHAPE = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


# ---------------------------------------------------------------- the program

def _apply(step, regs, leaves, lib):
    """Run one step on registers ``regs`` with ``lib`` ("ge" or "torch")."""
    kind = step[0]
    T = lib == "torch"
    if kind == "unary":
        _, name, i = step
        x = regs[i]
        if name == "tanh":
            return torch.tanh(x) if T else F.tanh(x)
        if name == "sigmoid":
            return torch.sigmoid(x) if T else F.sigmoid(x)
        return -x
    if kind == "exp":
        _, i, c = step
        return torch.exp(regs[i] * c) if T else F.exp(regs[i] * c)
    if kind == "scale":
        _, i, c = step
        return regs[i] * c
    if kind == "binary":
        _, name, i, j = step
        a, b = regs[i], (regs[j] if j >= 0 else leaves[-j - 1])
        return a + b if name == "add" else a - b if name == "sub" else a * b
    if kind == "div":
        _, i, j = step
        a, b = regs[i], (regs[j] if j >= 0 else leaves[-j - 1])
        den = 1.5 + (torch.sigmoid(b) if T else F.sigmoid(b))
        return a / den
    if kind in ("sum", "mean"):
        _, i, axes, keep = step
        x = regs[i]
        if T:
            if axes is None:
                r = x.sum() if kind == "sum" else x.mean()
                return r.reshape((1,) * x.ndim) if keep else r
            return (x.sum if kind == "sum" else x.mean)(dim=axes, keepdim=keep)
        return (x.sum if kind == "sum" else x.mean)(axis=axes, keepdims=keep)
    if kind == "reshape":
        _, i, shape = step
        return regs[i].reshape(shape)
    if kind == "transpose":
        _, i, perm = step
        return regs[i].permute(tuple(perm)) if T else regs[i].transpose(perm)
    if kind == "flip":
        _, i = step
        return torch.flip(regs[i], [0]) if T else regs[i][::-1]
    if kind == "matmul":
        _, i, leaf, side = step
        a, b = regs[i], leaves[leaf]
        return (a @ b) if side == "right" else (b @ a)
    raise AssertionError(step)


def run_program(prog, leaves, lib="ge"):
    regs = list(leaves[:prog["n_inputs"]])
    for step in prog["steps"]:
        regs.append(_apply(step, regs, leaves, lib))
    out = regs[-1]
    w = prog["w"]
    if lib == "torch":
        return (out * torch.from_numpy(w)).sum()
    return (out * ge.tensor(w, dtype=F64)).sum()


def _broadcast_partner(draw, shape):
    """A shape that broadcasts with ``shape`` to exactly ``shape``: drop leading dims, set
    some dims to 1."""
    nd = len(shape)
    keep = draw(st.integers(0, nd))
    tail = list(shape[nd - keep:])
    for k in range(len(tail)):
        if draw(st.booleans()):
            tail[k] = 1
    return tuple(tail)


@st.composite
def programs(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    base = draw(SHAPE)
    n_inputs = draw(st.integers(1, 3))
    shapes = [base] + [_broadcast_partner(draw, base) for _ in range(n_inputs - 1)]
    values = [rng.uniform(-1.5, 1.5, size=s) for s in shapes]
    regs = [ge.tensor(v, dtype=F64) for v in values]
    leaves = list(regs)
    steps = []

    def new_leaf(shape):
        values.append(rng.uniform(-1.5, 1.5, size=shape))
        leaves.append(ge.tensor(values[-1], dtype=F64))
        return len(leaves) - 1

    def push(step):
        out = _apply(step, regs, leaves, "ge")
        steps.append(step)
        regs.append(out)
        m = float(np.abs(out.numpy()).max()) if out.size else 0.0
        if m > 3.0:  # keep values moderate with a constant rescale
            push(("scale", len(regs) - 1, 1.0 / m))

    n_steps = draw(st.integers(1, 8))
    for _ in range(n_steps):
        i = draw(st.integers(0, len(regs) - 1))
        x = regs[i]
        kind = draw(st.sampled_from(["unary", "exp", "binary", "binary_leaf", "div", "sum",
                                     "mean", "reshape", "transpose", "flip", "matmul"]))
        if kind == "unary":
            push(("unary", draw(st.sampled_from(["tanh", "sigmoid", "neg"])), i))
        elif kind == "exp":
            m = float(np.abs(x.numpy()).max()) if x.size else 0.0
            push(("exp", i, 1.0 / (1.0 + m)))
        elif kind in ("binary", "div"):
            # a register that broadcasts with x, else a fresh leaf of a partner shape
            cands = [j for j, r in enumerate(regs) if _broadcasts(r.shape, x.shape)]
            j = draw(st.sampled_from(cands))
            if kind == "div":
                push(("div", i, j))
            else:
                push(("binary", draw(st.sampled_from(["add", "sub", "mul"])), i, j))
        elif kind == "binary_leaf":
            leaf = new_leaf(_broadcast_partner(draw, x.shape) if draw(st.booleans())
                            else (draw(st.integers(1, 3)),) + tuple(x.shape)
                            if x.ndim < 3 else tuple(x.shape))
            push(("binary", draw(st.sampled_from(["add", "sub", "mul"])), i, -leaf - 1))
        elif kind in ("sum", "mean"):
            if x.ndim == 0 or draw(st.booleans()) and x.ndim < 2:
                axes = None
            else:
                axes = tuple(sorted(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1))))
                if draw(st.booleans()):  # negative axes too
                    axes = tuple(a - x.ndim for a in axes)
            push((kind, i, axes, draw(st.booleans())))
        elif kind == "reshape":
            push(("reshape", i, _random_shape(draw, x.size)))
        elif kind == "transpose":
            perm = tuple(draw(st.permutations(list(range(x.ndim)))))
            push(("transpose", i, perm))
        elif kind == "flip":
            if x.ndim == 0:
                continue
            push(("flip", i))
        elif kind == "matmul":
            if x.ndim == 0:
                continue
            side = draw(st.sampled_from(["right", "left"]))
            k = x.shape[-1] if side == "right" else (x.shape[0] if x.ndim == 1
                                                     else x.shape[-2])
            form = draw(st.sampled_from(["vector", "matrix", "batched"]))
            n = draw(st.integers(1, 3))
            if form == "vector":
                shape = (k,)
            elif form == "matrix" or x.ndim == 1:
                shape = (k, n) if side == "right" else (n, k)
            else:
                batch = draw(st.sampled_from([1, x.shape[-3]])) if x.ndim >= 3 else \
                    draw(st.integers(1, 2))
                shape = (batch,) + ((k, n) if side == "right" else (n, k))
            push(("matmul", i, new_leaf(shape), side))
    out = regs[-1]
    w = rng.uniform(-1.0, 1.0, size=out.shape)
    return {"n_inputs": n_inputs, "steps": steps, "w": np.asarray(w, dtype=np.float64),
            "values": values}


def _broadcasts(a, b):
    """True when ``a`` broadcast against ``b`` gives ``b``'s shape."""
    try:
        return np.broadcast_shapes(a, b) == tuple(b)
    except ValueError:
        return False


def _random_shape(draw, size):
    dims = []
    rest = size
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, rest + 1) if rest % d == 0]
        d = draw(st.sampled_from(divisors))
        dims.append(d)
        rest //= d
    dims.append(rest)
    if draw(st.booleans()) and len(dims) > 1:
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


# ---------------------------------------------------------------- the properties

def _leaves(prog):
    return [ge.tensor(v, dtype=F64, requires_grad=True) for v in prog["values"]]


def _describe(prog):
    steps = [s[:2] + tuple(x for x in s[2:] if not isinstance(x, float)) for s in prog["steps"]]
    return f"inputs {[np.shape(v) for v in prog['values']]}, steps {steps}"


def check_program(prog):
    xs = _leaves(prog)

    def fn(*leaves):
        return run_program(prog, list(leaves))

    assert ge.gradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-3), _describe(prog)

    out = fn(*xs)
    grads = ge.grad(out, xs, allow_unused=True)
    out2 = fn(*xs)
    grads2 = ge.grad(out2, xs, allow_unused=True)
    for g, g2, x in zip(grads, grads2, xs):
        if g is None:
            assert g2 is None
            continue
        assert g.shape == x.shape and g.dtype == x.dtype, _describe(prog)
        assert g.numpy().tobytes() == g2.numpy().tobytes()  # deterministic backward

    if torch is not None:
        tl = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in prog["values"]]
        tout = run_program(prog, tl, lib="torch")
        np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-10, atol=1e-12,
                                   err_msg=_describe(prog))
        tgrads = torch.autograd.grad(tout, tl, allow_unused=True)
        for g, tg, x in zip(grads, tgrads, xs):
            ge_g = np.zeros(x.shape) if g is None else g.numpy()
            t_g = np.zeros(x.shape) if tg is None else tg.numpy()
            assert ge_g.shape == t_g.shape
            np.testing.assert_allclose(ge_g, t_g, rtol=1e-10, atol=1e-12,
                                       err_msg=_describe(prog))


COMMON = {"deadline": None, "database": None, "print_blob": True,
          "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                    HealthCheck.filter_too_much]}


@settings(max_examples=100, derandomize=True, **COMMON)
@given(programs())
def test_random_programs_gradcheck_and_torch(prog):
    check_program(prog)


@pytest.mark.slow
@settings(max_examples=2000, **COMMON)
@given(programs())
def test_random_programs_gradcheck_and_torch_slow(prog):
    check_program(prog)


def test_the_generator_reaches_every_op():
    """The strategy is not degenerate: across a fixed batch of draws every step kind and
    broadcasting against a smaller shape occur."""
    seen = set()
    broadcast = False

    @settings(max_examples=120, derandomize=True, **COMMON)
    @given(programs())
    def collect(prog):
        nonlocal broadcast
        for s in prog["steps"]:
            seen.add(s[0] if s[0] != "unary" else s[1])
        shapes = [np.shape(v) for v in prog["values"]]
        broadcast |= len(set(shapes)) > 1

    collect()
    assert {"tanh", "sigmoid", "exp", "binary", "div", "sum", "mean", "reshape", "transpose",
            "flip", "matmul"} <= seen, seen
    assert broadcast
