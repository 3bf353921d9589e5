"""One op table drives every op test: gradcheck, second order, a NumPy reference, PyTorch as a
second reference, dtype/shape/device of gradients, and extremes without warnings.

Each row names the op(s) it covers; a guard test fails when an op has no row.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from ge_testutil import to_host
from gradengine import ops as ops_pkg
from gradengine.core.op import Op

torch = None
try:
    import torch  # noqa: F811
except ImportError:
    pass


# ---------------------------------------------------------------- samples

def _unary_shapes(rng):
    """>= 10 samples: 0-d, 1, 5, 2-d, 3-d, size-0, transposed, reversed and strided views."""
    a = rng.standard_normal
    return [
        [a(())], [a((1,))], [a((5,))], [a((3, 4))], [a((2, 3, 4))], [a((0, 3))],
        [a((4, 3)).T], [a((6,))[::-1]], [a((3, 8))[:, ::2]], [a((1, 1))],
    ]


def _binary_shapes(rng):
    a = rng.standard_normal
    return [
        [a(()), a(())], [a((1,)), a((1,))], [a((5,)), a((5,))], [a((3, 4)), a((3, 4))],
        [a((2, 3, 4)), a((2, 3, 4))], [a((3, 1)), a((1, 4))], [a((4,)), a((3, 4))],
        [a((1,)), a((2, 3))], [a((0, 3)), a((0, 3))], [a((4, 3)).T, a((8,))[::-2]],
    ]


def away_from_zero(x, gap=0.1):
    """Keep kinks (relu, abs at 0) at least ``gap`` from the sample points."""
    return np.where(x >= 0, x + gap, x - gap)


def positive(x):
    return np.abs(x) + 0.5


def prob(x):
    return 1 / (1 + np.exp(-x)) * 0.9 + 0.05


def distinct(x):
    """Values without ties (spaced >= 0.02 apart), so max/min have one clear winner."""
    if x.size < 2:
        return x
    ranks = np.argsort(np.argsort(x.ravel()))
    return np.linspace(-1, 1, x.size)[ranks].reshape(x.shape)


@dataclasses.dataclass
class Row:
    name: str
    fn: Callable                 # gradengine: (*tensors) -> Tensor
    ref: Callable                # NumPy reference on float64 arrays
    samples: Callable            # rng -> list of lists of arrays
    torch_fn: Callable = None    # torch: (*tensors) -> tensor
    covers: tuple = ()
    second_order: bool = True
    diff: tuple = None           # which inputs are differentiated (default: all float)
    gc_kw: dict = dataclasses.field(default_factory=dict)  # gradcheck settings, if not default


def U(name, fn, ref, tfn=None, transform=None, **kw):
    def samples(rng):
        s = _unary_shapes(rng)
        return [[transform(x) for x in xs] for xs in s] if transform else s
    return Row(name, fn, ref, samples, tfn, **kw)


def B(name, fn, ref, tfn=None, transform_b=None, **kw):
    def samples(rng):
        s = _binary_shapes(rng)
        return [[a, transform_b(b) if transform_b else b] for a, b in s]
    return Row(name, fn, ref, samples, tfn, **kw)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, axis=-1):
    if x.size == 0:
        return x
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _nd_samples(rng, shapes):
    return [[rng.standard_normal(s) for s in ss] for ss in shapes]


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
                 ((2, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2)),
                 ((0, 3), (3, 2)), ((4, 3), (3, 0)), ((3,), (2, 3, 4))]
AXIS_SAMPLES = [((5,), -1), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), 1),
                ((1, 4), -1), ((4, 1), 0), ((2, 5), 1), ((6,), 0), ((3, 3), -2)]


def _axis_rows():
    rows = []
    for red in ("sum", "mean", "max", "min"):
        for axis, keep in ((None, False), (0, False), (-1, True), ((0, 1), False)):
            def fn(x, red=red, axis=axis, keep=keep):
                if x.ndim == 0 and axis not in (None,):
                    return getattr(x, red)()
                if axis is not None and x.ndim < 2:
                    return getattr(x, red)(axis=0, keepdims=keep)
                return getattr(x, red)(axis=axis, keepdims=keep)

            def ref(x, red=red, axis=axis, keep=keep):
                f = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[red]
                if x.ndim == 0 and axis is not None:
                    return f(x)
                if axis is not None and x.ndim < 2:
                    return f(x, axis=0, keepdims=keep)
                return f(x, axis=axis, keepdims=keep)

            def tfn(x, red=red, axis=axis, keep=keep):
                tf = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax,
                      "min": torch.amin}[red]
                if x.ndim == 0 and axis is not None or axis is None:
                    return tf(x) if red in ("sum", "mean") else tf(x, dim=tuple(range(x.ndim)))
                if x.ndim < 2:
                    return tf(x, dim=0, keepdim=keep)
                return tf(x, dim=axis, keepdim=keep)

            def samples(rng, red=red, axis=axis):
                s = _unary_shapes(rng)
                if red in ("max", "min"):
                    s = [[distinct(x)] for (x,) in s if x.size]  # size-0 max raises
                    s.append([distinct(rng.standard_normal((2, 2, 3)))])
                if axis == (0, 1):
                    s = [[x] for (x,) in s if x.ndim >= 2]
                    s += [[rng.standard_normal((2, 2))], [rng.standard_normal((3, 2, 2))]]
                    if red in ("max", "min"):
                        s = [[distinct(x)] for (x,) in s]
                return s
            rows.append(Row(f"{red}[axis={axis},keepdims={keep}]", fn, ref, samples, tfn,
                            covers=(red,)))
    return rows


def _idx_rows():
    idxs = [(1,), (slice(1, 3),), (slice(None, None, -1),), (Ellipsis, 0), (None, 0),
            ([0, 2, 2, 0],), (np.array([True, False, True]),), ((slice(None), [1, 1]),)]
    rows = []
    for k, idx in enumerate(idxs):
        i = idx[0] if len(idx) == 1 else idx

        def samples(rng, i=i):
            return [[rng.standard_normal(s)] for s in ((3,), (3, 4), (3, 2, 2))
                    if not (isinstance(i, tuple) and len(s) < 2)]
        rows.append(Row(f"getitem[{k}]", lambda x, i=i: x[i], lambda x, i=i: x[i], samples,
                        (lambda x, i=i: x[torch.as_tensor(i)] if isinstance(i, (list, np.ndarray))
                         else x[i]) if len(idx) == 1 and k != 2 else None,
                        covers=("getitem", "index_grad")))
    return rows


def _setitem_fn(x, v):
    y = x * 1.0
    y[1:3] = v
    return y


def _setitem_ref(x, v):
    y = x.copy()
    y[1:3] = v
    return y


def _linear_rows():
    rows = []
    for act in (None, "sigmoid", "relu", "tanh"):
        def fn(x, w, b, act=act):
            return F.linear(x, w, b, activation=act)

        def ref(x, w, b, act=act):
            z = x @ w + b
            return {None: z, "sigmoid": _sig(z), "relu": np.maximum(z, 0),
                    "tanh": np.tanh(z)}[act]

        def tfn(x, w, b, act=act):
            z = x @ w + b
            return {None: z, "sigmoid": torch.sigmoid(z), "relu": torch.relu(z),
                    "tanh": torch.tanh(z)}[act] if act else z

        def samples(rng, act=act):
            out = []
            for n, k, m in ((4, 3, 2), (1, 2, 1), (5, 1, 3), (0, 3, 2), (2, 4, 4), (3, 2, 5),
                            (6, 3, 1), (2, 2, 2), (7, 5, 3), (1, 1, 1)):
                x, w, b = rng.standard_normal((n, k)), rng.standard_normal((k, m)), \
                    rng.standard_normal(m)
                if act == "relu":  # keep z = xw + b away from the kink
                    z = x @ w
                    b = b + np.where(np.abs(z + b) < 0.1, 0.3, 0).max(axis=0, initial=0)
                    z = z + b
                    if np.any(np.abs(z) < 0.05):
                        continue
                out.append([x, w, b])
            return out
        rows.append(Row(f"linear[{act}]", fn, ref, samples, tfn,
                        covers=("linear", "bias_act", "matmul", "bias_act_backward")))
    return rows


def _ce_samples(rng):
    out = []
    for n, c in ((4, 3), (1, 2), (5, 5), (2, 1), (3, 7), (6, 2), (1, 1), (8, 3), (2, 4), (3, 3)):
        out.append([rng.standard_normal((n, c)), rng.integers(0, c, size=n)])
    return out


def _ce_ref(x, lab):
    lsm = x - x.max(-1, keepdims=True)
    lsm = lsm - np.log(np.exp(lsm).sum(-1, keepdims=True))
    return -lsm[np.arange(len(lab)), lab].mean()


def _pair_samples(rng, tf_b=None, same=True):
    shapes = [(), (1,), (5,), (3, 4), (2, 3, 4), (4, 1), (1, 4), (6,), (2, 2), (3,)]
    return [[rng.standard_normal(s), (tf_b or (lambda v: v))(rng.standard_normal(s))]
            for s in shapes]


ROWS = [
    B("add", lambda a, b: a + b, np.add, lambda a, b: a + b),
    B("sub", lambda a, b: a - b, np.subtract, lambda a, b: a - b),
    B("mul", lambda a, b: a * b, np.multiply, lambda a, b: a * b),
    B("div", lambda a, b: a / b, np.divide, lambda a, b: a / b, transform_b=positive),
    Row("pow", lambda a, b: a ** b, np.power,
        lambda rng: [[positive(a), b] for a, b in _binary_shapes(rng)], lambda a, b: a ** b),
    U("pow[scalar]", lambda a: a ** 3, lambda a: a ** 3, lambda a: a ** 3, covers=("pow",)),
    U("rpow", lambda a: 2.0 ** a, lambda a: 2.0 ** a, lambda a: 2.0 ** a, covers=("pow",)),
    B("remainder", lambda a, b: a % b, np.remainder, lambda a, b: a % b,
      transform_b=positive, covers=("floordiv",)),
    B("fmod", lambda a, b: a.fmod(b), np.fmod, lambda a, b: a.fmod(b),
      transform_b=positive, covers=("truncdiv",)),
    U("neg", lambda a: -a, np.negative, lambda a: -a),
    U("exp", F.exp, np.exp, torch and torch.exp),
    U("log", F.log, np.log, torch and torch.log, transform=positive),
    U("sqrt", F.sqrt, np.sqrt, torch and torch.sqrt, transform=positive),
    U("abs", F.abs, np.abs, torch and torch.abs, transform=away_from_zero,
      covers=("abs_sign", "zeros_grad")),
    U("sigmoid", F.sigmoid, _sig, torch and torch.sigmoid, covers=("act_backward",)),
    U("tanh", F.tanh, np.tanh, torch and torch.tanh, covers=("act_backward",)),
    U("relu", F.relu, lambda x: np.maximum(x, 0), torch and torch.relu, transform=away_from_zero),
    U("clip", lambda x: F.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
      lambda x: torch.clamp(x, -0.5, 0.5),
      transform=lambda x: np.where(np.abs(np.abs(x) - 0.5) < 0.05, x * 1.3, x)),
    B("maximum", F.maximum, np.maximum, torch and torch.maximum,
      transform_b=lambda b: b + 0.3),
    B("minimum", F.minimum, np.minimum, torch and torch.minimum,
      transform_b=lambda b: b + 0.3),
    Row("where", lambda a, b: F.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
        lambda rng: _binary_shapes(rng),
        lambda a, b: torch.where(a > 0, a, b)),
    *_axis_rows(),
    U("reshape", lambda x: x.reshape(-1), lambda x: x.reshape(-1), lambda x: x.reshape(-1)),
    U("transpose", lambda x: x.T, lambda x: x.T,
      lambda x: x.permute(*range(x.ndim - 1, -1, -1)) if x.ndim else x),
    U("broadcast_to", lambda x: F.broadcast_to(x, (2,) + x.shape),
      lambda x: np.broadcast_to(x, (2,) + x.shape),
      lambda x: x.expand((2,) + tuple(x.shape)), covers=("sum_to",)),
    U("sum_to", lambda x: F.sum_to(x, (1,) * x.ndim), lambda x: x.sum(keepdims=True)
      if x.ndim else x, None, covers=("sum_to",)),
    *_idx_rows(),
    Row("setitem", _setitem_fn, _setitem_ref,
        lambda rng: [[rng.standard_normal(s), rng.standard_normal(v)] for s, v in
                     (((4,), (2,)), ((4,), ()), ((4, 3), (2, 3)), ((4, 3), (3,)), ((3, 2), (1, 2)),
                      ((5,), (1,)), ((4, 2, 2), (2, 2)), ((3,), (2,)), ((6, 1), (2, 1)),
                      ((4, 0), (2, 0)))],
        None, covers=("index_put", "assign")),
    Row("concatenate", lambda a, b: F.concatenate([a, b], axis=0),
        lambda a, b: np.concatenate([a, b], 0),
        lambda rng: _nd_samples(rng, [((2,), (3,)), ((1, 3), (2, 3)), ((0, 2), (2, 2)),
                                      ((2, 2, 2), (1, 2, 2)), ((1,), (1,)), ((3, 1), (1, 1)),
                                      ((2, 4), (2, 4)), ((5,), (0,)), ((1, 1), (1, 1)),
                                      ((2, 3), (4, 3))]),
        lambda a, b: torch.cat([a, b], 0)),
    Row("stack", lambda a, b: F.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], -1),
        lambda rng: _pair_samples(rng), lambda a, b: torch.stack([a, b], -1)),
    Row("matmul", F.matmul, np.matmul, lambda rng: _nd_samples(rng, MATMUL_SHAPES),
        torch and torch.matmul),
    Row("softmax", lambda x: F.softmax(x, axis=-1), _softmax,
        lambda rng: [[rng.standard_normal(s)] for s in ((5,), (3, 4), (2, 3, 4), (1, 1), (4, 1),
                                                        (0, 3), (2, 5), (1, 6), (3, 3), (7,))],
        lambda x: torch.softmax(x, -1)),
    Row("log_softmax", lambda x: F.log_softmax(x, axis=0), lambda x: np.log(_softmax(x, 0)),
        lambda rng: [[rng.standard_normal(s)] for s in ((5,), (3, 4), (2, 3, 4), (1, 1), (4, 1),
                                                        (3, 0), (2, 5), (1, 6), (3, 3), (7,))],
        lambda x: torch.log_softmax(x, 0)),
    Row("mse_loss", F.mse_loss, lambda p, t: np.mean((p - t) ** 2), _pair_samples,
        torch and (lambda p, t: torch.nn.functional.mse_loss(p, t)), covers=("mse_loss",)),
    Row("binary_cross_entropy", F.binary_cross_entropy,
        lambda p, t: -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)),
        lambda rng: [[prob(a), prob(b)] for a, b in _pair_samples(rng)],
        torch and (lambda p, t: torch.nn.functional.binary_cross_entropy(p, t))),
    Row("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
        lambda x, t: np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))),
        lambda rng: [[a, prob(b)] for a, b in _pair_samples(rng)],
        torch and (lambda x, t: torch.nn.functional.binary_cross_entropy_with_logits(x, t))),
    Row("cross_entropy", F.cross_entropy, _ce_ref, _ce_samples,
        torch and (lambda x, lab: torch.nn.functional.cross_entropy(x, lab)), diff=(0,)),
    Row("cross_entropy[soft]", F.cross_entropy,
        lambda x, t: -(t * np.log(_softmax(x))).sum(-1).mean(),
        lambda rng: [[rng.standard_normal((n, c)), _softmax(rng.standard_normal((n, c)))]
                     for n, c in ((4, 3), (1, 2), (5, 5), (2, 1), (3, 7), (6, 2), (1, 1),
                                  (8, 3), (2, 4), (3, 3))],
        torch and (lambda x, t: torch.nn.functional.cross_entropy(x, t)),
        covers=("cross_entropy",)),
    *_linear_rows(),
    U("astype", lambda x: x.astype("float32").astype(x.dtype),
      lambda x: x.astype("float32").astype(x.dtype), None,
      covers=("astype",), gc_kw={"eps": 1e-2, "atol": 1e-4}),
]
IDS = [r.name for r in ROWS]


def _tensors(arrays, dtype, device, row):
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


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradcheck(row, device, rng):
    for arrays in row.samples(rng):
        ts = _tensors(arrays, "float64", device, row)
        assert ge.gradcheck(row.fn, ts, **row.gc_kw), row.name


def _eager_step(row):
    """The row's op and the gradients of a weighted sum of its output: one step."""
    def step(*ts):
        out = row.fn(*ts)
        diff = [t for t in ts if t.requires_grad]
        if not out.requires_grad or not diff:
            return out, ()
        return out, ge.grad((out * 1.5).sum(), diff, allow_unused=True)
    return step


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_jit_replay_equals_eager_bit_for_bit(row, device, rng):
    """Each row recorded once, then replayed on other values of the same shapes: values
    and gradients equal the eager ones bit for bit (masks and argmax included)."""
    samples = row.samples(rng)
    # a data-dependent shape (a boolean mask) cannot be one CUDA graph: replayed without one
    warnings.filterwarnings("ignore", "ge.jit: this step is replayed without a CUDA graph")
    for arrays in samples[:4]:
        step = _eager_step(row)
        jitted = ge.jit(step)
        for k in range(3):  # the first call records; the others replay
            vals = [np.asarray(a) + (0.25 * k if np.asarray(a).dtype.kind == "f" and
                                     row.name not in _NO_SHIFT else 0) for a in arrays]
            ts = _tensors(vals, "float32", device, row)
            want_out, want_grads = step(*ts)
            got_out, got_grads = jitted(*_tensors(vals, "float32", device, row))
            np.testing.assert_array_equal(got_out.numpy(), want_out.numpy(), err_msg=row.name)
            assert len(got_grads) == len(want_grads)
            for g, w in zip(got_grads, want_grads):
                if w is None:
                    assert g is None
                else:
                    np.testing.assert_array_equal(g.numpy(), w.numpy(), err_msg=row.name)
        assert jitted.traces == 1, row.name


# rows whose inputs must stay in a domain (probabilities, positive values): no shift
_NO_SHIFT = {"binary_cross_entropy", "binary_cross_entropy_with_logits", "log", "sqrt",
             "cross_entropy[soft]", "pow", "div"}


@pytest.mark.parametrize("row", [r for r in ROWS if r.second_order],
                         ids=[r.name for r in ROWS if r.second_order])
def test_gradgradcheck(row, device, rng):
    for arrays in row.samples(rng)[:6]:
        ts = _tensors(arrays, "float64", device, row)
        assert ge.gradgradcheck(row.fn, ts, **row.gc_kw), row.name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_numpy_and_grads_keep_shape_dtype_device(row, dtype, device, rng):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for arrays in row.samples(rng):
            ts = _tensors(arrays, dtype, device, row)
            out = row.fn(*ts)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the reference's warnings are not ours
                ref = row.ref(*[np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f"
                                else np.asarray(a) for a in arrays])
            assert out.dtype == np.dtype(dtype)
            assert out.shape == np.shape(ref)
            np.testing.assert_allclose(to_host(out), ref, **tol)
            if out.requires_grad:
                out.backward(ge.ones_like(out))
                for t in ts:
                    if t.requires_grad:
                        assert t.grad is not None
                        assert t.grad.shape == t.shape
                        assert t.grad.dtype == t.dtype
                        assert t.grad.device == t.device


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
@pytest.mark.parametrize("row", [r for r in ROWS if r.torch_fn], ids=[r.name for r in ROWS
                                                                        if r.torch_fn])
def test_matches_torch(row, rng):
    for arrays in row.samples(rng):
        ts = _tensors(arrays, "float64", "cpu", row)
        tt = []
        for a, t in zip(arrays, ts):
            x = torch.tensor(np.array(a, order="C"))
            if t.requires_grad:
                x.requires_grad_(True)
            tt.append(x)
        out = row.fn(*ts)
        tout = row.torch_fn(*tt)
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert out.shape == tuple(tout.shape)
        if out.requires_grad and tout.requires_grad and out.size:
            g = np.random.default_rng(1).standard_normal(out.shape)
            out.backward(ge.tensor(g))
            tout.backward(torch.tensor(g))
            for t, x in zip(ts, tt):
                if t.requires_grad and x.grad is not None:
                    np.testing.assert_allclose(t.grad.numpy(), x.grad.numpy(), rtol=1e-9,
                                               atol=1e-12)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_backward_is_linear_in_upstream_gradient(row, rng):
    samples = row.samples(rng)
    arrays = samples[min(3, len(samples) - 1)]
    ts = _tensors(arrays, "float64", "cpu", row)
    out = row.fn(*ts)
    out.backward(ge.zeros_like(out), retain_graph=True)
    for t in ts:
        if t.requires_grad:
            assert not np.any(t.grad.numpy()), row.name
            t.grad = None
    g = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(ge.tensor(g), retain_graph=True)
    first = [t.grad.numpy().copy() for t in ts if t.requires_grad]
    for t in ts:
        t.grad = None
    out.backward(ge.tensor(g))
    second = [t.grad.numpy() for t in ts if t.requires_grad]
    for a, b in zip(first, second):
        assert a.tobytes() == b.tobytes()  # two runs on the CPU are bit-identical


def _all_op_names():
    names = set()
    # ops_pkg.losses: every op there has a row in tests/test_ops_losses.py (its own guard)
    for mod in (ops_pkg.elementwise, ops_pkg.shape, ops_pkg.reductions, ops_pkg.linalg,
                ops_pkg.activations, ops_pkg.indexing):
        for v in vars(mod).values():
            if isinstance(v, Op):
                names.add(v.name)
    return names


# ops without a gradient: (name, fn, NumPy reference, covers) checked against NumPy
NONDIFF_ROWS = [
    ("lt", lambda a, b: a < b, np.less, ()),
    ("view_dtype", lambda a, b: (a + b).view(ge.int32), lambda a, b: (a + b).view(np.int32),
     ()),
    ("le", lambda a, b: a <= b, np.less_equal, ()),
    ("gt", lambda a, b: a > b, np.greater, ()),
    ("ge", lambda a, b: a >= b, np.greater_equal, ()),
    ("eq", lambda a, b: a == b, np.equal, ()),
    ("ne", lambda a, b: a != b, np.not_equal, ()),
    ("bitwise_and", lambda a, b: (a > 0) & (b > 0), lambda a, b: (a > 0) & (b > 0), ()),
    ("bitwise_or", lambda a, b: (a > 0) | (b > 0), lambda a, b: (a > 0) | (b > 0), ()),
    ("bitwise_xor", lambda a, b: (a > 0) ^ (b > 0), lambda a, b: (a > 0) ^ (b > 0), ()),
    ("bitwise_not", lambda a, b: ~(a > b), lambda a, b: ~(a > b), ()),
    ("logical_and", lambda a, b: a.logical_and(b), np.logical_and, ()),
    ("logical_or", lambda a, b: a.logical_or(b), np.logical_or, ()),
    ("logical_xor", lambda a, b: a.logical_xor(b), np.logical_xor, ()),
    ("logical_not", lambda a, b: a.logical_not(), lambda a, b: np.logical_not(a), ()),
    ("left_shift", lambda a, b: (a * 10).astype("int64") << 2,
     lambda a, b: (a * 10).astype("int64") << 2, ()),
    ("right_shift", lambda a, b: (a * 10).astype("int64") >> 1,
     lambda a, b: (a * 10).astype("int64") >> 1, ()),
    ("argmax", lambda a, b: (a + b).argmax(), lambda a, b: np.argmax(a + b), ()),
    ("argmin", lambda a, b: (a * b).argmin(axis=-1) if a.ndim else (a * b).argmin(),
     lambda a, b: np.argmin(a * b, axis=-1) if np.ndim(a * b) else np.argmin(a * b), ()),
    ("any", lambda a, b: (a > b).any(), lambda a, b: np.any(a > b), ()),
    ("all", lambda a, b: (a > b).all(axis=0) if (a > b).ndim else (a > b).all(),
     lambda a, b: np.all(a > b, axis=0) if np.ndim(a > b) else np.all(a > b), ()),
    ("sign", lambda a, b: F.getitem(a, ...).abs().detach() * 0 + ops_pkg.elementwise.sign(a),
     lambda a, b: np.abs(a) * 0 + np.sign(a), ()),
    ("clip_mask", lambda a, b: ops_pkg.elementwise.clip_mask(a, params=(-0.5, 0.5)),
     lambda a, b: ((a >= -0.5) & (a <= 0.5)).astype(a.dtype), ()),
    ("select_share", lambda a, b: ops_pkg.elementwise.select_share(a, b, params=(True,)),
     lambda a, b: (a > b) + 0.5 * (a == b), ()),
    ("winners", lambda a, b: ops_pkg.reductions.winners(a, a.max(), params=(None,)),
     lambda a, b: (a == a.max()) / (a == a.max()).sum(), ()),
    ("onehot_like", lambda a, b: ops_pkg.losses.onehot_like(
        ge.zeros((3, 4), device=a.device), ge.tensor([0, 3, 1], device=a.device)),
     lambda a, b: np.eye(4)[[0, 3, 1]], ()),
    ("astype[int]", lambda a, b: (a * 10).astype("int64"),
     lambda a, b: (a * 10).astype("int64"), ("astype",)),
    ("ones_like", lambda a, b: ops_pkg.creation.ones(a.shape, device=a.device) * 0 + __import__(
        "gradengine.core.backward", fromlist=["ones_like"]).ones_like(a),
     lambda a, b: np.ones_like(a), ()),
]


@pytest.mark.parametrize("name,fn,ref,covers", NONDIFF_ROWS, ids=[r[0] for r in NONDIFF_ROWS])
def test_ops_without_gradient_match_numpy(name, fn, ref, covers, device, rng):
    for a, b in _binary_shapes(rng):
        if name.startswith(("arg", "winners")) and np.broadcast(a, b).size == 0:
            continue  # no extreme element of an empty tensor
        a32, b32 = a.astype(np.float32), b.astype(np.float32)
        out = fn(ge.tensor(a32, device=device), ge.tensor(b32, device=device))
        assert not out.requires_grad
        np.testing.assert_allclose(out.numpy(), ref(a32, b32), rtol=1e-6)


def test_every_op_has_a_row():
    covered = {r.name.split("[")[0] for r in ROWS} | {c for r in ROWS for c in r.covers}
    covered |= {r[0] for r in NONDIFF_ROWS} | {c for r in NONDIFF_ROWS for c in r[3]}
    covered |= {"to"}  # to(device) is covered by the device tests (needs two devices)
    missing = _all_op_names() - covered
    assert not missing, f"ops without a row in the op table: {sorted(missing)}"


# The ops that must never overflow or warn, on inputs in [-1e4, 1e4].
EXTREME_FNS = [F.sigmoid, F.softmax, F.log_softmax,
               lambda x: F.binary_cross_entropy_with_logits(x, ge.ones_like(x)),
               lambda x: F.binary_cross_entropy(F.sigmoid(x), ge.ones_like(x)),
               lambda x: F.cross_entropy(x.reshape(1, -1), ge.tensor([0], device=x.device))]
EXTREME_IDS = ["sigmoid", "softmax", "log_softmax", "bce_logits", "bce", "cross_entropy"]


@pytest.mark.parametrize("fn", EXTREME_FNS, ids=EXTREME_IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extremes_give_no_nan_and_no_warning(fn, dtype, device):
    values = [-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = ge.tensor(values, dtype=dtype, device=device, requires_grad=True)
        out = fn(x)
        assert not np.isnan(to_host(out)).any()
        out.sum().backward()
        assert not np.isnan(to_host(x.grad)).any()


@pytest.mark.parametrize("fn", [F.sigmoid, lambda x: F.binary_cross_entropy_with_logits(
    x, ge.tensor([1.0, 0.0, 1.0, 0.0], dtype=x.dtype, device=x.device))],
    ids=["sigmoid", "bce_logits"])
def test_infinite_inputs_are_handled(fn, device):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = ge.tensor([np.inf, -np.inf, np.inf, -np.inf], device=device, requires_grad=True)
        out = fn(x)
        assert not np.isnan(to_host(out)).any()


def test_nan_propagates_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = ge.tensor([np.nan, 1.0])
        for f in (F.exp, F.log, F.sqrt, F.sigmoid, F.tanh, F.relu, F.abs):
            assert np.isnan(f(x).numpy()[0])


def test_size_zero_inputs_give_empty_results():
    x = ge.zeros((0, 3), requires_grad=True)
    assert (x * 2).shape == (0, 3)
    assert x.sum().item() == 0.0
    assert (x @ ge.ones((3, 2))).shape == (0, 2)
    assert (ge.ones((2, 0)) @ ge.ones((0, 3))).numpy().tolist() == [[0.0] * 3] * 2
    x.sum().backward()
    assert x.grad.shape == (0, 3)
