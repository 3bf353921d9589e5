"""The op table of the op families of issue 14 (ops/math.py, ops/scans.py,
ops/manipulation.py): gradcheck in float64, gradgradcheck, a NumPy reference, PyTorch as a
second reference, on the CPU and on the NumPy stand-in for CUDA (and a real GPU when there
is one), and ge.jit replay equal to eager bit for bit. The guard at the end fails when an
op of these modules has no row (tests/test_ops.py guards the core modules the same way).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from ge_testutil import to_host
from gradengine.core.op import Op
from gradengine.ops import manipulation, scans
from gradengine.ops import math as math_ops

torch = pytest.importorskip("torch")
tnf = torch.nn.functional

# the `device` fixture (tests/conftest.py): cpu, the NumPy stand-in for CUDA, a real GPU


# ---------------------------------------------------------------- samples

def _unary_shapes(rng):
    """0-d, 1, 5, 2-d, 3-d, size-0, and transposed / reversed / strided views."""
    a = rng.standard_normal
    return [[a(())], [a((1,))], [a((5,))], [a((3, 4))], [a((2, 3, 2))], [a((0, 3))],
            [a((4, 3)).T], [a((6,))[::-1]], [a((3, 8))[:, ::2]]]


def _binary_shapes(rng):
    a = rng.standard_normal
    return [[a(()), a(())], [a((5,)), a((5,))], [a((3, 4)), a((3, 4))], [a((3, 1)), a((1, 4))],
            [a((4,)), a((3, 4))], [a((0, 3)), a((0, 3))], [a((4, 3)).T, a((8,))[::-2]]]


def _nd(rng, *shapes):
    return [[rng.standard_normal(s)] for s in shapes]


def positive(x):
    return np.abs(x) + 0.5


def unit(x):
    return np.tanh(x) * 0.9


def above_one(x):
    return np.abs(x) + 1.2


def away_from(points, gap=0.05):
    def f(x):
        for p in points:
            x = np.where(np.abs(x - p) < gap, x + 2 * gap * np.sign(x - p + 1e-12), x)
        return x
    return f


def distinct(x):
    if x.size < 2:
        return x
    ranks = np.argsort(np.argsort(x.ravel()))
    return np.linspace(-1, 1, x.size)[ranks].reshape(x.shape)


@dataclasses.dataclass
class Row:
    name: str
    fn: Callable                 # gradengine: (*tensors) -> Tensor
    ref: Callable                # NumPy on float64 arrays
    samples: Callable            # rng -> list of lists of arrays
    torch_fn: Callable = None
    covers: tuple = ()
    second_order: bool = True
    diff: tuple = None           # which inputs are differentiated (default: all float ones)


def U(name, fn, ref, tfn, transform=None, **kw):
    def samples(rng):
        s = _unary_shapes(rng)
        return [[transform(x) for x in xs] for xs in s] if transform else s
    return Row(name, fn, ref, samples, tfn, **kw)


def _v(f):
    return np.vectorize(f, otypes=[np.float64])


_erf = _v(math.erf)


def _gelu_ref(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


_SA, _SS = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _softplus_ref(x, beta=2.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.logaddexp(0, beta * x) / beta)


MATH_ROWS = [
    U("sin", F.sin, np.sin, torch.sin),
    U("cos", F.cos, np.cos, torch.cos),
    U("tan", F.tan, np.tan, torch.tan, transform=unit),
    U("asin", F.asin, np.arcsin, torch.asin, transform=unit),
    U("acos", F.acos, np.arccos, torch.acos, transform=unit),
    U("atan", F.atan, np.arctan, torch.atan),
    U("sinh", F.sinh, np.sinh, torch.sinh),
    U("cosh", F.cosh, np.cosh, torch.cosh),
    U("asinh", F.asinh, np.arcsinh, torch.asinh),
    U("acosh", F.acosh, np.arccosh, torch.acosh, transform=above_one),
    U("atanh", F.atanh, np.arctanh, torch.atanh, transform=unit),
    U("erf", F.erf, _erf, torch.erf, transform=lambda x: x * 2),
    U("exp2", F.exp2, np.exp2, torch.exp2),
    U("expm1", F.expm1, np.expm1, torch.expm1),
    U("log2", F.log2, np.log2, torch.log2, transform=positive),
    U("log10", F.log10, np.log10, torch.log10, transform=positive),
    U("log1p", F.log1p, np.log1p, torch.log1p, transform=positive),
    U("rsqrt", F.rsqrt, lambda x: 1 / np.sqrt(x), torch.rsqrt, transform=positive),
    U("square", F.square, np.square, torch.square),
    U("reciprocal", F.reciprocal, np.reciprocal, torch.reciprocal, transform=positive),
    U("sign", F.sign, np.sign, torch.sign, transform=away_from([0.0]), covers=("sgn",)),
    U("floor", lambda x: F.floor(x * 3), lambda x: np.floor(x * 3), lambda x: torch.floor(x * 3),
      transform=away_from([k / 3 for k in range(-12, 13)], 0.01), covers=("zeros_of",)),
    U("ceil", lambda x: F.ceil(x * 3), lambda x: np.ceil(x * 3), lambda x: torch.ceil(x * 3),
      transform=away_from([k / 3 for k in range(-12, 13)], 0.01)),
    U("round", lambda x: F.round(x * 3), lambda x: np.round(x * 3), lambda x: torch.round(x * 3),
      transform=away_from([(k + 0.5) / 3 for k in range(-12, 12)], 0.01)),
    U("round[decimals]", lambda x: F.round(x, decimals=1), lambda x: np.round(x, 1),
      lambda x: torch.round(x, decimals=1),
      transform=away_from([(k + 0.5) / 10 for k in range(-40, 40)], 0.005), covers=("round",)),
    U("trunc", lambda x: F.trunc(x * 3), lambda x: np.trunc(x * 3), lambda x: torch.trunc(x * 3),
      transform=away_from([k / 3 for k in range(-12, 13)], 0.01)),
    Row("logaddexp", F.logaddexp, np.logaddexp, _binary_shapes, torch.logaddexp),
    Row("atan2", F.atan2, np.arctan2, _binary_shapes, torch.atan2),
    U("gelu", F.gelu, _gelu_ref, tnf.gelu, covers=("erf",)),
    U("gelu[tanh]", lambda x: F.gelu(x, approximate="tanh"), _gelu_tanh_ref,
      lambda x: tnf.gelu(x, approximate="tanh"), covers=("gelu",)),
    U("elu", lambda x: F.elu(x, 0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)),
      lambda x: tnf.elu(x, 0.7), transform=away_from([0.0])),
    U("selu", F.selu, lambda x: _SS * np.where(x > 0, x, _SA * np.expm1(x)), tnf.selu,
      transform=away_from([0.0]), covers=("elu",)),
    U("silu", F.silu, lambda x: x / (1 + np.exp(-x)), tnf.silu),
    U("softplus", lambda x: F.softplus(x * 12, beta=2.0), lambda x: _softplus_ref(x * 12),
      lambda x: tnf.softplus(x * 12, beta=2.0), transform=away_from([20 / 24], 0.02)),
    U("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
      lambda x: tnf.leaky_relu(x, 0.2), transform=away_from([0.0])),
    U("log_sigmoid", F.log_sigmoid, lambda x: -np.logaddexp(0, -x), tnf.logsigmoid),
    U("hardtanh", F.hardtanh, lambda x: np.clip(x, -1, 1), tnf.hardtanh,
      transform=away_from([-1.0, 1.0]), covers=("act_mask",)),
    U("relu6", lambda x: F.relu6(x * 4), lambda x: np.clip(x * 4, 0, 6),
      lambda x: tnf.relu6(x * 4), transform=away_from([0.0, 1.5], 0.02), covers=("hardtanh",)),
    U("hardsigmoid", lambda x: F.hardsigmoid(x * 4), lambda x: np.clip(x * 4 / 6 + 0.5, 0, 1),
      # torch's clamp, not its hardsigmoid, whose float64 gradient is float32's 1/6
      lambda x: torch.clamp(x * 4 * (1 / 6) + 0.5, 0, 1),
      transform=away_from([-0.75, 0.75], 0.02)),
    U("threshold", lambda x: F.threshold(x, 0.5, -2.0), lambda x: np.where(x <= 0.5, -2.0, x),
      lambda x: tnf.threshold(x, 0.5, -2.0), transform=away_from([0.5])),
    U("hardshrink", lambda x: F.hardshrink(x, 0.5), lambda x: np.where(np.abs(x) <= 0.5, 0, x),
      lambda x: tnf.hardshrink(x, 0.5), transform=away_from([-0.5, 0.5])),
    U("softshrink", lambda x: F.softshrink(x, 0.5),
      lambda x: np.where(np.abs(x) <= 0.5, 0, x - 0.5 * np.sign(x)),
      lambda x: tnf.softshrink(x, 0.5), transform=away_from([-0.5, 0.5])),
    U("softsign", F.softsign, lambda x: x / (1 + np.abs(x)), tnf.softsign,
      transform=away_from([0.0])),
    U("mish", F.mish, lambda x: x * np.tanh(np.logaddexp(0, x)), tnf.mish),
]


def _axis_samples(rng):
    return _nd(rng, (5,), (3, 4), (2, 3, 2), (4, 1), (2, 5), (3, 3))


def _np_lse(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m, axis=axis)


SCAN_ROWS = [
    Row("var", lambda x: F.var(x, -1), lambda x: np.var(x, -1, ddof=1), _axis_samples,
        lambda x: torch.var(x, -1)),
    Row("var[correction=0,all]", lambda x: x.var(correction=0), lambda x: np.var(x),
        lambda rng: [xs for xs in _unary_shapes(rng) if xs[0].size],
        lambda x: torch.var(x, correction=0), covers=("var",)),
    Row("std", lambda x: F.std(x, 0, keepdim=True), lambda x: np.std(x, 0, ddof=1,
                                                                       keepdims=True),
        lambda rng: _nd(rng, (3,), (3, 4), (2, 3, 2), (2, 5), (4, 4), (5, 1)),
        lambda x: torch.std(x, 0, keepdim=True)),
    Row("std[unbiased=False]", lambda x: F.std(x, (0, 1), unbiased=False),
        lambda x: np.std(x, (0, 1)), lambda rng: _nd(rng, (3, 2), (2, 3, 2), (2, 5)),
        lambda x: torch.std(x, (0, 1), unbiased=False), covers=("std",)),
    Row("prod", lambda x: F.prod(x, 1), lambda x: np.prod(x, 1),
        lambda rng: [[positive(x) * np.sign(x)] for (x,) in _nd(rng, (3, 4), (2, 3, 2), (4, 1),
                                                                   (2, 5), (1, 3), (3, 0))],
        lambda x: torch.prod(x, 1), covers=("exclusive_cumprod",)),
    U("prod[all]", F.prod, np.prod, torch.prod, transform=lambda x: np.sign(x) * (
        np.abs(x) * 0.3 + 0.8), covers=("prod",)),
    Row("logsumexp", lambda x: F.logsumexp(x, 1), lambda x: _np_lse(x, 1),
        lambda rng: _nd(rng, (3, 4), (2, 3, 2), (4, 1), (2, 5), (1, 6), (2, 2)),
        lambda x: torch.logsumexp(x, 1)),
    U("logsumexp[all]", F.logsumexp,
      lambda x: _np_lse(x, None) if x.size else np.log(0.0 * x.sum()),
      lambda x: torch.logsumexp(x, tuple(range(x.ndim))), covers=("logsumexp",)),
    U("cumsum", lambda x: F.cumsum(x, 0), lambda x: np.cumsum(x, 0) if x.ndim else x,
      lambda x: torch.cumsum(x, 0)),
    Row("cumsum[-1]", lambda x: x.cumsum(-1), lambda x: np.cumsum(x, -1), _axis_samples,
        lambda x: torch.cumsum(x, -1), covers=("cumsum",)),
    U("cumprod", lambda x: F.cumprod(x, 0), lambda x: np.cumprod(x, 0) if x.ndim else x,
      lambda x: torch.cumprod(x, 0), transform=lambda x: np.sign(x) * (np.abs(x) + 0.5)),
]


def _index_samples(rng, k=3):
    out = []
    for shape, dim in (((3, 4), 1), ((3, 4), 0), ((2, 3, 2), 2), ((5,), 0), ((2, 5), -1),
                       ((4, 1), 0)):
        ishape = list(shape)
        ishape[dim] = k
        out.append([rng.standard_normal(shape), rng.integers(0, shape[dim], size=ishape), dim])
    return out


def _tensors(arrays, dtype, device, row):
    out = []
    for i, a in enumerate(arrays):
        if isinstance(a, int):
            out.append(a)
            continue
        a = np.asarray(a)
        if a.dtype.kind == "f":
            t = ge.tensor(a.astype(dtype), device=device)
            t.requires_grad = row.diff is None or i in row.diff
        else:
            t = ge.tensor(a, device=device)
        out.append(t)
    return out


def _einsum_rows():
    rows = []
    for eq, shapes in (("ij,jk->ik", [((2, 3), (3, 4)), ((1, 2), (2, 1)), ((3, 0), (0, 2))]),
                       ("ij->j", [((2, 3),), ((4, 1),), ((1, 5),)]),
                       ("bij,bjk->bik", [((2, 2, 3), (2, 3, 2)), ((1, 1, 1), (1, 1, 2))]),
                       ("ij,k->ijk", [((2, 3), (2,)), ((1, 1), (3,))]),
                       ("ij,ij", [((2, 3), (2, 3)), ((4, 1), (4, 1))]),
                       ("ij,jk", [((2, 3), (3, 2)), ((1, 4), (4, 3))])):
        def samples(rng, shapes=shapes):
            return [[rng.standard_normal(s) for s in ss] for ss in shapes]
        rows.append(Row(f"einsum[{eq}]", lambda *ts, eq=eq: F.einsum(eq, *ts),
                        lambda *xs, eq=eq: np.asarray(np.einsum(eq, *xs)), samples,
                        lambda *ts, eq=eq: torch.einsum(eq, *ts), covers=("einsum",)))
    return rows


MANIP_ROWS = [
    U("flip", lambda x: F.flip(x, tuple(range(x.ndim))), lambda x: np.flip(x),
      lambda x: torch.flip(x, tuple(range(x.ndim)))),
    Row("flip[1]", lambda x: x.flip(1), lambda x: np.flip(x, 1),
        lambda rng: _nd(rng, (3, 4), (2, 3, 2), (4, 1), (2, 0)),
        lambda x: torch.flip(x, (1,)), covers=("flip",)),
    Row("diagonal[offset,dims]", lambda x: x.diagonal(1, 0, -1),
        lambda x: np.diagonal(x, 1, 0, -1).copy(), lambda rng: _nd(rng, (3, 4), (2, 3, 4)),
        lambda x: torch.diagonal(x, 1, 0, -1), covers=("diagonal",)),
    Row("diagonal[-1]", lambda x: x.diagonal(-1), lambda x: np.diagonal(x, -1).copy(),
        lambda rng: _nd(rng, (4, 3), (3, 3, 2)), lambda x: torch.diagonal(x, -1),
        covers=("diagonal",)),
    U("roll", lambda x: F.roll(x, 2), lambda x: np.roll(x, 2), lambda x: torch.roll(x, 2)),
    Row("roll[dims]", lambda x: F.roll(x, (1, -3), (0, -1)), lambda x: np.roll(x, (1, -3), (0, -1)),
        lambda rng: _nd(rng, (3, 4), (2, 3, 2), (4, 1), (2, 5)),
        lambda x: torch.roll(x, (1, -3), (0, -1)), covers=("roll",)),
    U("tile", lambda x: F.tile(x, (2, 3)), lambda x: np.tile(x, (2, 3)),
      lambda x: torch.tile(x, (2, 3))),
    U("repeat", lambda x: x.repeat(*((2,) * x.ndim + (1, 2))[:max(x.ndim, 2)]),
      lambda x: np.tile(x, ((2,) * x.ndim + (1, 2))[:max(x.ndim, 2)]),
      lambda x: x.repeat(*((2,) * x.ndim + (1, 2))[:max(x.ndim, 2)]), covers=("tile",)),
    Row("tril", lambda x: F.tril(x, -1), lambda x: np.tril(x, -1),
        lambda rng: _nd(rng, (3, 4), (2, 3, 3), (4, 1), (1, 5), (0, 2), (3, 3)),
        lambda x: torch.tril(x, -1)),
    Row("triu", lambda x: F.triu(x, 1), lambda x: np.triu(x, 1),
        lambda rng: _nd(rng, (3, 4), (2, 3, 3), (4, 1), (1, 5), (0, 2), (3, 3)),
        lambda x: torch.triu(x, 1)),
    Row("split", lambda x: F.split(x, 2, 0)[-1], lambda x: np.split(x, range(2, len(x), 2))[-1],
        lambda rng: _nd(rng, (5,), (3, 4), (4, 2), (1, 3), (2, 2, 2)),
        lambda x: torch.split(x, 2, 0)[-1], covers=("getitem",)),
    Row("split[sections]", lambda x: F.split(x, [1, 2], -1)[1], lambda x: x[..., 1:3],
        lambda rng: _nd(rng, (3,), (2, 3), (2, 2, 3)),
        lambda x: torch.split(x, [1, 2], -1)[1], covers=("split",)),
    Row("chunk", lambda x: F.chunk(x, 3, 1)[1], lambda x: np.array_split(x, 3, 1)[1]
        if x.shape[1] % 3 == 0 else x[:, -(-x.shape[1] // 3):2 * -(-x.shape[1] // 3)],
        lambda rng: _nd(rng, (2, 3), (3, 7), (1, 4), (2, 6, 2), (4, 5)),
        lambda x: torch.chunk(x, 3, 1)[1]),
    Row("pad", lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
        lambda x: np.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, 1), (1, 2)], constant_values=0.5),
        lambda rng: _nd(rng, (3, 4), (2, 3, 5), (1, 3), (5, 2), (0, 2)),
        lambda x: tnf.pad(x, (1, 2, 0, 1), value=0.5), covers=("pad_backward",)),
    Row("pad[reflect]", lambda x: F.pad(x, (2, 1), mode="reflect"),
        lambda x: np.pad(x, [(0, 0)] * (x.ndim - 1) + [(2, 1)], mode="reflect"),
        lambda rng: _nd(rng, (3, 4), (2, 3, 5), (4,), (1, 3)),
        lambda x: tnf.pad(x[None] if x.ndim == 1 else x, (2, 1), mode="reflect").reshape(
            x.shape[:-1] + (x.shape[-1] + 3,)), covers=("pad",)),
    Row("pad[replicate]", lambda x: F.pad(x, (2, 3, 1, 0), mode="replicate"),
        lambda x: np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 0), (2, 3)], mode="edge"),
        lambda rng: _nd(rng, (3, 4), (2, 3, 5), (1, 1)),
        lambda x: tnf.pad(x[None] if x.ndim == 2 else x, (2, 3, 1, 0), mode="replicate"
                          ).reshape(x.shape[:-2] + (x.shape[-2] + 1, x.shape[-1] + 5)),
        covers=("pad",)),
    Row("gather", lambda x, i, d: F.gather(x, d, i),
        lambda x, i, d: np.take_along_axis(x, i, d), _index_samples,
        lambda x, i, d: torch.gather(x, d, i), diff=(0,), covers=("zeros_shaped",)),
    Row("scatter_add", lambda x, i, s, d: F.scatter_add(x, d, i, s),
        lambda x, i, s, d: _np_scatter_add(x, i, s, d),
        lambda rng: [[x, i, rng.standard_normal(i.shape), d] for x, i, d in _index_samples(rng)],
        lambda x, i, s, d: torch.scatter_add(x, d, i, s), diff=(0, 2)),
    Row("scatter_add[larger src]", lambda x, i, s: F.scatter_add(x, 0, i, s),
        lambda x, i, s: _np_scatter_add(x, i, s[:i.shape[0], :i.shape[1]], 0),
        lambda rng: [[rng.standard_normal((3, 4)), rng.integers(0, 3, (2, 3)),
                      rng.standard_normal((3, 4))]],
        None, diff=(0, 2),  # torch's own backward rejects a src larger than index
        covers=("scatter_add", "pad_zeros")),
    Row("scatter", lambda x, i, s, d: F.scatter(x, d, i, s),
        lambda x, i, s, d: _np_scatter(x, i, s, d),
        lambda rng: [[x, j, rng.standard_normal(j.shape), d] for x, i, d in _index_samples(rng)
                     for j in [_distinct_along(rng, x.shape, i.shape, d)]],
        lambda x, i, s, d: torch.scatter(x, d, i, s), diff=(0, 2),
        covers=("gather", "zeros_shaped", "scatter_winners")),
    # repeated targets: the last write stays, and only it gets src's gradient (finite
    # differences; torch hands every repeated write the gradient, so it is no oracle here)
    Row("scatter[repeats]", lambda x, i, s, d: F.scatter(x, d, i, s),
        lambda x, i, s, d: _np_scatter(x, i, s, d),
        lambda rng: [[x, i, rng.standard_normal(i.shape), d] for x, i, d in _index_samples(rng)],
        None, diff=(0, 2), covers=("scatter",)),
    Row("scatter[larger src]", lambda x, i, s: F.scatter(x, 0, i, s),
        lambda x, i, s: _np_scatter(x, i, s[:i.shape[0], :i.shape[1]], 0),
        lambda rng: [[rng.standard_normal((3, 4)), rng.integers(0, 3, (2, 3)),
                      rng.standard_normal((3, 4))]],
        None, diff=(0, 2), covers=("scatter", "pad_zeros")),
    Row("take_along_dim", lambda x, i, d: F.take_along_dim(x, i, d),
        lambda x, i, d: np.take_along_axis(x, i, d), _index_samples,
        lambda x, i, d: torch.take_along_dim(x, i, d), diff=(0,), covers=("gather",)),
    Row("take_along_dim[None]", lambda x, i, d: F.take_along_dim(x, i),
        lambda x, i, d: np.take_along_axis(x.ravel(), i.ravel(), 0), _index_samples,
        lambda x, i, d: torch.take_along_dim(x, i), diff=(0,), covers=("gather",)),
    U("masked_fill", lambda x: F.masked_fill(x, x > 0.3, -2.0), lambda x: np.where(
        x > 0.3, -2.0, x), lambda x: x.masked_fill(x > 0.3, -2.0), covers=("where",)),
    Row("sort", lambda x: F.sort(x, -1).values, lambda x: np.sort(x, -1),
        lambda rng: [[distinct(x)] for (x,) in _nd(rng, (5,), (3, 4), (2, 3, 2), (4, 1), (0, 3))],
        lambda x: torch.sort(x, -1).values, covers=("argsort", "gather")),
    Row("sort[descending]", lambda x: F.sort(x, 0, descending=True)[0],
        lambda x: np.flip(np.sort(x, 0), 0),
        lambda rng: [[distinct(x)] for (x,) in _nd(rng, (5,), (3, 4), (2, 3, 2))],
        lambda x: torch.sort(x, 0, descending=True)[0], covers=("sort",)),
    Row("topk", lambda x: F.topk(x, 2, -1).values,
        lambda x: np.flip(np.sort(x, -1), -1)[..., :2],
        lambda rng: [[distinct(x)] for (x,) in _nd(rng, (5,), (3, 4), (2, 3, 2), (4, 2))],
        lambda x: torch.topk(x, 2, -1).values),
    Row("topk[smallest]", lambda x: x.topk(3, 0, largest=False)[0],
        lambda x: np.sort(x, 0)[:3],
        lambda rng: [[distinct(x)] for (x,) in _nd(rng, (5,), (3, 4), (4, 2, 2))],
        lambda x: torch.topk(x, 3, 0, largest=False)[0], covers=("topk",)),
    *_einsum_rows(),
]


def _np_scatter_add(x, i, s, d):
    out = x.copy()
    idx = list(np.indices(i.shape))
    idx[d] = i
    np.add.at(out, tuple(idx), s)
    return out


def _distinct_along(rng, shape, ishape, d):
    """An index of ishape (at most shape[d] long along d) whose entries along d are
    distinct: each target written once."""
    n = shape[d]
    ishape = list(ishape)
    ishape[d] = min(ishape[d], n)
    lines = np.moveaxis(np.zeros(ishape, np.int64), d, -1)
    for pos in np.ndindex(lines.shape[:-1]):
        lines[pos] = rng.permutation(n)[:ishape[d]]
    return np.moveaxis(lines, -1, d)


def _np_scatter(x, i, s, d):
    out = x.copy()
    idx = list(np.indices(i.shape))
    idx[d] = i
    out[tuple(idx)] = s  # of repeated targets the last write wins
    return out


ROWS = MATH_ROWS + SCAN_ROWS + MANIP_ROWS
IDS = [r.name for r in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradcheck(row, device, rng):
    samples = row.samples(rng)
    for arrays in samples if device == "cpu" else samples[:4]:
        ts = _tensors(arrays, "float64", device, row)
        assert ge.gradcheck(row.fn, ts), row.name


@pytest.mark.parametrize("row", [r for r in ROWS if r.second_order],
                         ids=[r.name for r in ROWS if r.second_order])
def test_gradgradcheck(row, device, rng):
    samples = row.samples(rng)
    for arrays in samples[:3] if device == "cpu" else samples[2:4]:
        ts = _tensors(arrays, "float64", device, row)
        if not any(isinstance(t, ge.Tensor) and t.requires_grad and t.size for t in ts):
            continue
        assert ge.gradgradcheck(row.fn, ts), row.name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_numpy_without_warnings(row, dtype, device, rng):
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for arrays in row.samples(rng):
            ts = _tensors(arrays, dtype, device, row)
            out = row.fn(*ts)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = row.ref(*[a if isinstance(a, int) else np.asarray(a).astype(dtype)
                                if np.asarray(a).dtype.kind == "f" else np.asarray(a)
                                for a in arrays])
            assert out.dtype == np.dtype(dtype), row.name
            assert out.shape == np.shape(ref), row.name
            assert out.device == ge.tensor(0.0, device=device).device
            np.testing.assert_allclose(to_host(out), ref, **tol, err_msg=row.name)
            if out.requires_grad:
                out.backward(ge.ones_like(out))
                for t in ts:
                    if isinstance(t, ge.Tensor) and t.requires_grad:
                        assert t.grad.shape == t.shape and t.grad.dtype == t.dtype
                        assert t.grad.device == t.device


@pytest.mark.parametrize("row", [r for r in ROWS if r.torch_fn], ids=[r.name for r in ROWS
                                                                        if r.torch_fn])
def test_matches_torch(row, rng):
    for arrays in row.samples(rng):
        ts = _tensors(arrays, "float64", "cpu", row)
        tt = []
        for a, t in zip(arrays, ts):
            if isinstance(a, int):
                tt.append(a)
                continue
            x = torch.tensor(np.array(a, order="C"))
            if t.requires_grad:
                x.requires_grad_(True)
            tt.append(x)
        out = row.fn(*ts)
        tout = row.torch_fn(*tt)
        assert out.shape == tuple(tout.shape), row.name
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-13,
                                   err_msg=row.name)
        if out.requires_grad and tout.requires_grad and out.size:
            g = np.random.default_rng(1).standard_normal(out.shape)
            out.backward(ge.tensor(g))
            tout.backward(torch.tensor(g))
            for t, x in zip(ts, tt):
                if isinstance(t, ge.Tensor) and t.requires_grad and x.grad is not None:
                    np.testing.assert_allclose(t.grad.numpy(), x.grad.numpy(), rtol=1e-10,
                                               atol=1e-12, err_msg=row.name)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    """Recorded once, replayed on other values of the same shapes: values and gradients
    equal the eager ones bit for bit."""
    for arrays in row.samples(rng)[:3]:
        def step(*ts):
            out = row.fn(*ts)
            diff = [t for t in ts if isinstance(t, ge.Tensor) and t.requires_grad]
            if not out.requires_grad or not diff:
                return out, ()
            return out, ge.grad((out * 1.5).sum(), diff, allow_unused=True)
        jitted = ge.jit(step)
        for k in range(3):
            vals = [a if isinstance(a, int) else np.asarray(a) * (1 + 0.125 * k)
                    if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
            want_out, want_grads = step(*_tensors(vals, "float32", "cpu", row))
            got_out, got_grads = jitted(*_tensors(vals, "float32", "cpu", row))
            np.testing.assert_array_equal(got_out.numpy(), want_out.numpy(), err_msg=row.name)
            assert len(got_grads) == len(want_grads)
            for g, w in zip(got_grads, want_grads):
                if w is None:
                    assert g is None
                else:
                    np.testing.assert_array_equal(g.numpy(), w.numpy(), err_msg=row.name)
        assert jitted.traces == 1, row.name


# ---------------------------------------------------------------- ops without a gradient

def _np_argsort_desc(x):
    if x.ndim == 0:
        return np.argsort(x.reshape(1)).reshape(())
    n = x.shape[0]
    return np.flip(n - 1 - np.argsort(np.flip(x, 0), 0, kind="stable"), 0)


NONDIFF_ROWS = [
    ("isnan", lambda x: F.isnan(x), np.isnan),
    ("isinf", lambda x: F.isinf(x), np.isinf),
    ("isfinite", lambda x: F.isfinite(x), np.isfinite),
    ("isclose", lambda x: F.isclose(x, x * (1 + 1e-6)), lambda x: np.isclose(x, x * (1 + 1e-6))),
    ("isclose[equal_nan]", lambda x: F.isclose(x, x, equal_nan=True),
     lambda x: np.isclose(x, x, equal_nan=True)),
    ("argsort", lambda x: F.argsort(x), lambda x: np.argsort(x, -1, kind="stable")),
    ("argsort[descending]", lambda x: F.argsort(x, 0, descending=True) if x.ndim else
     F.argsort(x), _np_argsort_desc),
    ("one_hot", lambda x: F.one_hot((x.abs() * 2).astype("int64"), 6),
     lambda x: np.eye(6, dtype=np.int64)[(np.abs(x) * 2).astype(np.int64)]),
    ("zeros_of", lambda x: math_ops.zeros_of(x), np.zeros_like),
    ("act_mask[clip]", lambda x: math_ops.act_mask(x, params=("clip", -0.5, 0.5)),
     lambda x: (~((x <= -0.5) | (x >= 0.5))).astype(x.dtype)),
    ("act_mask[slope]", lambda x: math_ops.act_mask(x, params=("slope", 0.25, None)),
     lambda x: np.where(x > 0, 1, 0.25).astype(x.dtype)),
    ("act_mask[open]", lambda x: math_ops.act_mask(x, params=("open", -0.5, 0.5)),
     lambda x: ((x > -0.5) & (x < 0.5)).astype(x.dtype)),
    ("act_mask[outside]", lambda x: math_ops.act_mask(x, params=("outside", -0.5, 0.5)),
     lambda x: (~((x >= -0.5) & (x <= 0.5))).astype(x.dtype)),
    ("zeros_shaped", lambda x: manipulation._zeros(x, params=((2, 3),)),
     lambda x: np.zeros((2, 3), x.dtype)),
]


@pytest.mark.parametrize("name,fn,ref", NONDIFF_ROWS, ids=[r[0] for r in NONDIFF_ROWS])
def test_ops_without_gradient_match_numpy(name, fn, ref, device, rng):
    for (x,) in _unary_shapes(rng):
        x = np.where(np.abs(x) > 2.9, 2.9, x).astype(np.float32)
        x = np.where(x > 2.5, np.nan, np.where(x < -2.5, np.inf, x)) if "is" in name else x
        if name == "one_hot":
            x = np.nan_to_num(x)
        out = fn(ge.tensor(x, device=device, requires_grad=False))
        assert not out.requires_grad
        np.testing.assert_array_equal(to_host(out), ref(x), err_msg=name)


def test_argsort_descending_keeps_ties_in_order_and_puts_nan_first_as_torch():
    x = np.array([1.0, 3.0, np.nan, 3.0, 2.0, 1.0])
    got = F.argsort(ge.tensor(x), descending=True).numpy()
    want = torch.argsort(torch.tensor(x), descending=True, stable=True).numpy()
    assert got.tolist() == want.tolist()
    got = F.sort(ge.tensor(x)).indices.numpy()
    assert got.tolist() == torch.sort(torch.tensor(x), stable=True).indices.numpy().tolist()


def test_erf_is_accurate_to_float64():
    xs = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 1e-300, -1e-8, 2.0, 30.0]])
    got = F.erf(ge.tensor(xs)).numpy()
    ref = _erf(xs)
    np.testing.assert_allclose(got, ref, rtol=2e-15, atol=1e-300)
    assert np.isnan(F.erf(ge.tensor([np.nan])).numpy()).all()
    assert F.erf(ge.tensor([np.inf, -np.inf])).numpy().tolist() == [1.0, -1.0]


def test_prod_gradient_is_exact_with_zeros_as_torch():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.5, -2.0, 0.5]])
    for dim in (None, 0, 1):
        a = ge.tensor(x, requires_grad=True, dtype="float64")
        b = torch.tensor(x, requires_grad=True)
        (F.prod(a) if dim is None else F.prod(a, dim)).sum().backward()
        (torch.prod(b) if dim is None else torch.prod(b, dim)).sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_softplus_threshold_and_gelu_keywords_follow_torch():
    x = np.array([-30.0, -1.0, 0.0, 5.0, 10.1, 30.0])
    got = F.softplus(ge.tensor(x, dtype="float64"), beta=2, threshold=20).numpy()
    np.testing.assert_allclose(got, tnf.softplus(torch.tensor(x), 2, 20).numpy(), rtol=1e-15)
    with pytest.raises(ge.errors.ArgumentError, match="gelu: approximate"):
        F.gelu(ge.tensor(x), approximate="fast")


def test_var_std_keywords_match_torch():
    x = np.random.default_rng(0).standard_normal((4, 5))
    a, t = ge.tensor(x, dtype="float64"), torch.tensor(x)
    for kw in ({}, {"correction": 0}, {"correction": 2}, {"unbiased": False}, {"keepdim": True}):
        np.testing.assert_allclose(F.var(a, 1, **kw).numpy(), torch.var(t, 1, **kw).numpy())
        np.testing.assert_allclose(a.std(0, **kw).numpy(), t.std(0, **kw).numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(F.var(ge.tensor([1.0])).item())


def test_split_chunk_sort_topk_return_torch_shaped_results():
    x = ge.arange(10.0)
    assert [p.shape for p in F.split(x, 4)] == [(4,), (4,), (2,)]
    assert [p.shape for p in x.chunk(4)] == [tuple(p.shape) for p in torch.arange(10.).chunk(4)]
    v, i = F.sort(ge.tensor([3.0, 1.0, 2.0]))
    assert v.tolist() == [1.0, 2.0, 3.0] and i.tolist() == [1, 2, 0]
    r = F.topk(ge.tensor([3.0, 1.0, 2.0]), 2)
    assert r.values.tolist() == [3.0, 2.0] and r.indices.tolist() == [0, 2]


def test_family_errors_name_the_op():
    x = ge.ones((3, 4))
    with pytest.raises(ge.ShapeError, match=r"pad: reflect padding \(4, 0\).*size 4"):
        F.pad(x, (4, 0), mode="reflect")
    with pytest.raises(ge.errors.ArgumentError, match="pad: mode"):
        F.pad(x, (1, 1), mode="circularish")
    with pytest.raises(ge.errors.IndexingError, match="gather: index out of range"):
        F.gather(x, 1, ge.tensor([[4]] * 3))
    with pytest.raises(ge.ShapeError, match=r"split: sections \[1, 1\]"):
        F.split(x, [1, 1])
    with pytest.raises(ge.ShapeError, match="einsum: operand of shape"):
        F.einsum("ijk->i", x)
    with pytest.raises(ge.DTypeError, match="masked_fill: mask"):
        F.masked_fill(x, ge.ones((3, 4)), 0.0)
    with pytest.raises(ge.ShapeError, match="topk: k=5"):
        F.topk(x, 5)
    with pytest.raises(IndexError, match="cumsum: axis 2"):
        F.cumsum(x, 2)


def test_every_family_op_has_a_row():
    names = set()
    for mod in (math_ops, scans, manipulation):
        for v in vars(mod).values():
            if isinstance(v, Op) and v.fwd.__module__ == mod.__name__:
                names.add(v.name)
    covered = {r.name.split("[")[0] for r in ROWS} | {c for r in ROWS for c in r.covers}
    covered |= {r[0].split("[")[0] for r in NONDIFF_ROWS}
    missing = names - covered
    assert not missing, f"ops without a row in the family op table: {sorted(missing)}"


def test_shrinks_and_threshold_keep_torchs_values_at_nan_inf_and_the_edges():
    x = np.array([np.nan, np.inf, -np.inf, 0.5, -0.5, 0.0, -0.0], np.float32)
    for fn, tfn in ((lambda t: F.threshold(t, 0.5, -2.0), lambda t: tnf.threshold(t, 0.5, -2.0)),
                    (F.hardshrink, tnf.hardshrink), (F.softshrink, tnf.softshrink)):
        got, want = fn(ge.tensor(x)).numpy(), tfn(torch.tensor(x)).numpy()
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
