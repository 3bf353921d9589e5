"""The op table of gradengine/ops/shape_extras.py (PyTorch's remaining shape, indexing,
scatter and linear-algebra spellings): gradcheck in float64, gradgradcheck, PyTorch as the
reference (values and gradients), on the CPU and the NumPy stand-in for CUDA, and ge.jit
replay equal to eager bit for bit; then the functions without a gradient, the in-place
methods (versions, leaves, views) and the errors, each against torch."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gradengine as ge
import optable
from gradengine.ops import shape_extras
from optable import Row

torch = pytest.importorskip("torch")


@pytest.fixture
def dev(device):
    """``device``, the stand-in's cupyx given CuPy's scatter_max / scatter_min (it models
    scatter_add only)."""
    fake = sys.modules.get("cupyx")
    if device == "cuda" and fake is not None and not hasattr(fake, "scatter_max"):
        import fake_cupy

        def at(ufunc):
            def scatter(a, slices, value):
                fake_cupy._exec(ufunc.at, (a._a, fake_cupy._index(slices),
                                           fake_cupy._unwrap(value, "scatter")),
                                writes=(a._a,))
            return scatter
        fake.scatter_max, fake.scatter_min = at(np.maximum), at(np.minimum)
    return device


def _s(*shapes):
    def samples(rng):
        return [[rng.standard_normal(s) for s in ss] for ss in shapes]
    return samples


def _idx(a, like):
    return ge.tensor(np.asarray(a), device=like.device)


def _tidx(a):
    return torch.tensor(np.asarray(a))


def _well(*shapes):
    def samples(rng):
        return [[rng.standard_normal(s) + s[-1] * np.eye(s[-1])] for s in shapes]
    return samples


def _spd_factor(rng):  # a lower factor with a safe diagonal, and a right-hand side
    out = []
    for n, k in ((3, 2), (1, 1), (4, 3)):
        a = np.tril(rng.standard_normal((n, n))) + 3 * np.eye(n)
        out.append([a, rng.standard_normal((n, k))])
    return out


_INDEX_2 = np.array([[0, 1, 0, 2], [2, 2, 1, 0]])     # scatter along dim 1 of (2, 3)
_INDEX_0 = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0]])  # along dim 0 of (2, 3)


def _scatter_reduce_rows():
    rows = []
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            tag = f"{reduce},{'self' if include_self else 'noself'}"
            rows.append(Row(
                f"scatter_reduce[{tag},dim1]",
                lambda x, s, r=reduce, i=include_self: ge.scatter_reduce(
                    x, 1, _idx(_INDEX_2, x), s, r, include_self=i),
                lambda x, s, r=reduce, i=include_self: torch.scatter_reduce(
                    x, 1, _tidx(_INDEX_2), s, r, include_self=i),
                _s(((2, 3), (2, 4)), ((2, 5), (2, 4)))))
            rows.append(Row(
                f"scatter_reduce[{tag},dim0]",
                lambda x, s, r=reduce, i=include_self: x.scatter_reduce(
                    0, _idx(_INDEX_0, x), s, reduce=r, include_self=i),
                lambda x, s, r=reduce, i=include_self: x.scatter_reduce(
                    0, _tidx(_INDEX_0), s, reduce=r, include_self=i),
                _s(((2, 3), (3, 3)), ((2, 4), (3, 3)))))
    return rows


def _ties_for_amax(rng):  # integers: ties between self and src, and among src
    return [[rng.integers(0, 3, (2, 3)).astype(np.float64),
             rng.integers(0, 3, (2, 4)).astype(np.float64)] for _ in range(3)]


def _zeros_for_prod(rng):  # zeros among the factors: one and two in a group
    x = rng.standard_normal((2, 3))
    s = rng.standard_normal((2, 4))
    s[0, 0] = 0.0
    s[1, 0] = s[1, 1] = 0.0
    x[0, 2] = 0.0
    return [[x, s]]


ROWS = [
    Row("atleast_1d", lambda a: ge.atleast_1d(a) * 1, lambda a: torch.atleast_1d(a) * 1,
        _s(((),), ((3,),), ((2, 3),))),
    Row("atleast_2d", lambda a: ge.atleast_2d(a) * 1, lambda a: torch.atleast_2d(a) * 1,
        _s(((),), ((3,),), ((2, 3),), ((0,),))),
    Row("atleast_3d[tuple]", lambda a, b: ge.stack([*ge.atleast_3d(a, b)]) if a.ndim == b.ndim
        else ge.atleast_3d([a, b])[0] * 1,
        lambda a, b: torch.stack([*torch.atleast_3d(a, b)]) if a.ndim == b.ndim
        else torch.atleast_3d([a, b])[0] * 1,
        _s(((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 4), (2, 3, 4)))),
    Row("dstack", lambda a, b: ge.dstack([a, b]), lambda a, b: torch.dstack([a, b]),
        _s(((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 1), (2, 3, 2)))),
    Row("row_stack", lambda a, b: ge.row_stack([a, b]), lambda a, b: torch.row_stack([a, b]),
        _s(((3,), (3,)), ((2, 3), (1, 3)))),
    Row("concat", lambda a, b: ge.concat([a, b], dim=-1),
        lambda a, b: torch.concat([a, b], dim=-1), _s(((2, 3), (2, 1)), ((3,), (0,)))),
    Row("concatenate[torch]", lambda a, b: ge.concatenate([a, b], 1),
        lambda a, b: torch.concatenate([a, b], 1), _s(((2, 3), (2, 1)),)),
    Row("tensor_split[sections]", lambda a: ge.stack([p.sum() for p in a.tensor_split(3)]),
        lambda a: torch.stack([p.sum() for p in a.tensor_split(3)]),
        _s(((7,),), ((5, 2),), ((2,),))),
    Row("tensor_split[indices,dim]", lambda a: ge.cat(
        [p * (i + 1) for i, p in enumerate(ge.tensor_split(a, [1, -1, 9], dim=-1))], -1),
        lambda a: torch.cat([p * (i + 1) for i, p in enumerate(
            torch.tensor_split(a, [1, -1, 9], dim=-1))], -1), _s(((2, 5),), ((4,),))),
    Row("hsplit", lambda a: ge.cat([p * (i + 1) for i, p in enumerate(a.hsplit(2))],
                                   1 if a.ndim > 1 else 0),
        lambda a: torch.cat([p * (i + 1) for i, p in enumerate(a.hsplit(2))],
                            1 if a.ndim > 1 else 0), _s(((2, 4),), ((6,),), ((1, 2, 3),))),
    Row("vsplit", lambda a: ge.cat([p * (i + 1) for i, p in enumerate(ge.vsplit(a, [1]))]),
        lambda a: torch.cat([p * (i + 1) for i, p in enumerate(torch.vsplit(a, [1]))]),
        _s(((3, 2),), ((2, 2, 2),))),
    Row("dsplit", lambda a: ge.cat([p * (i + 1) for i, p in enumerate(ge.dsplit(a, 2))], 2),
        lambda a: torch.cat([p * (i + 1) for i, p in enumerate(torch.dsplit(a, 2))], 2),
        _s(((1, 2, 4),),)),
    Row("split_with_sizes", lambda a: ge.cat(
        [p * (i + 1) for i, p in enumerate(a.split_with_sizes([1, 0, 2], dim=-1))], -1),
        lambda a: torch.cat([p * (i + 1) for i, p in enumerate(
            a.split_with_sizes([1, 0, 2], dim=-1))], -1), _s(((2, 3),), ((3,),)),
        covers=("unsafe_split_with_sizes",)),
    Row("unsafe_split", lambda a: ge.cat([p * (i + 1) for i, p in enumerate(
        ge.unsafe_split(a, 2))]), lambda a: torch.cat([p * (i + 1) for i, p in enumerate(
            torch.unsafe_split(a, 2))]), _s(((5,),), ((3, 2),))),
    Row("unsafe_chunk", lambda a: ge.cat([p * (i + 1) for i, p in enumerate(
        a.unsafe_chunk(2, -1))], -1), lambda a: torch.cat([p * (i + 1) for i, p in enumerate(
            a.unsafe_chunk(2, -1))], -1), _s(((5,),), ((3, 3),))),
    Row("swapdims", lambda a: ge.swapdims(a, 0, -1), lambda a: torch.swapdims(a, 0, -1),
        _s(((2, 3),), ((2, 3, 4),), ((3,),))),
    Row("narrow_copy", lambda a: a.narrow_copy(-1, 1, 2),
        lambda a: a.narrow_copy(-1, 1, 2), _s(((2, 4),), ((3,),))),
    Row("select", lambda a: ge.select(a, -1, -2), lambda a: torch.select(a, -1, -2),
        _s(((2, 3),), ((3,),), ((2, 2, 4),))),
    Row("diagflat", lambda a: ge.diagflat(a, -1), lambda a: torch.diagflat(a, -1),
        _s(((3,),), ((2, 2),), ((),))),
    Row("block_diag", lambda a, b, c: ge.block_diag(a, b, c),
        lambda a, b, c: torch.block_diag(a, b, c),
        _s(((), (3,), (2, 2)), ((2, 3), (0, 2), (1, 1)))),
    Row("combinations", lambda a: ge.combinations(a), lambda a: torch.combinations(a),
        _s(((4,),), ((1,),), ((0,),))),
    Row("combinations[r=3,replacement]", lambda a: ge.combinations(a, 3, True),
        lambda a: torch.combinations(a, 3, True), _s(((3,),), ((2,),))),
    Row("sum_to_size", lambda a: a.sum_to_size(3), lambda a: a.sum_to_size(3),
        _s(((2, 3),), ((3,),))),
    Row("sum_to_size[keep]", lambda a: a.sum_to_size((2, 1, 1)),
        lambda a: a.sum_to_size((2, 1, 1)), _s(((2, 3, 4),), ((2, 1, 4),))),
    Row("index_copy", lambda x, s: ge.index_copy(x, 1, _idx([2, 0], x), s),
        lambda x, s: torch.index_copy(x, 1, _tidx([2, 0]), s), _s(((2, 3), (2, 2)),)),
    Row("index_copy[dim0,method]", lambda x, s: x.index_copy(-2, _idx([1], x), s),
        lambda x, s: x.index_copy(-2, _tidx([1]), s), _s(((2, 3), (1, 3)), ((3, 1), (1, 1)))),
    Row("index_put", lambda x, v: ge.index_put(x, (_idx([0, 2], x), _idx([1, 1], x)), v),
        lambda x, v: torch.index_put(x, (_tidx([0, 2]), _tidx([1, 1])), v),
        _s(((3, 2), (2,)), ((3, 2), ()))),
    Row("index_put[accumulate]", lambda x, v: x.index_put(
        (_idx([0, 2, 0], x),), v, accumulate=True), lambda x, v: x.index_put(
        (_tidx([0, 2, 0]),), v, accumulate=True), _s(((3, 2), (3, 2)), ((4,), (3,)),
                                                      ((3, 2), (2,)))),
    Row("index_put[mask]", lambda x, v: ge.index_put(x, (x > 0,), v),
        lambda x, v: torch.index_put(x, (x > 0,), v), _s(((3, 2), ()),)),
    Row("masked_scatter", lambda x, s: x.masked_scatter(x > 0, s),
        lambda x, s: x.masked_scatter(x > 0, s), _s(((3, 4), (13,)), ((2, 3), (2, 3)))),
    Row("masked_scatter[broadcast mask]", lambda x, s: ge.masked_scatter(
        x, _idx([True, False, True], x), s), lambda x, s: torch.masked_scatter(
        x, _tidx([True, False, True]), s), _s(((2, 3), (4, 2)),),
        covers=("masked_positions",)),
    Row("put", lambda x, s: ge.put(x, _idx([[0, -1], [3, 2]], x), s),
        lambda x, s: torch.put(x, _tidx([[0, -1], [3, 2]]), s), _s(((2, 3), (4,)),)),
    Row("put[accumulate]", lambda x, s: x.put(_idx([1, 1, 4], x), s, accumulate=True),
        lambda x, s: x.put(_tidx([1, 1, 4]), s, accumulate=True), _s(((5,), (3,)),
                                                                      ((2, 3), (3,)))),
    *_scatter_reduce_rows(),
    Row("scatter_reduce[amax ties]", lambda x, s: ge.scatter_reduce(
        x, 1, _idx(_INDEX_2, x), s, "amax"), lambda x, s: torch.scatter_reduce(
        x, 1, _tidx(_INDEX_2), s, "amax"), _ties_for_amax, finite_diff=False),
    Row("scatter_reduce[amin ties]", lambda x, s: ge.scatter_reduce(
        x, 0, _idx(_INDEX_0[:2], x), s, "amin"), lambda x, s: torch.scatter_reduce(
        x, 0, _tidx(_INDEX_0[:2]), s, "amin"),
        lambda rng: [[rng.integers(0, 3, (2, 3)).astype(np.float64),
                      rng.integers(0, 3, (2, 3)).astype(np.float64)] for _ in range(3)],
        finite_diff=False),
    Row("scatter_reduce[prod zeros]", lambda x, s: ge.scatter_reduce(
        x, 1, _idx(_INDEX_2, x), s, "prod"), lambda x, s: torch.scatter_reduce(
        x, 1, _tidx(_INDEX_2), s, "prod"), _zeros_for_prod, second_order=False),
    Row("index_reduce[prod]", lambda x, s: x.index_reduce(0, _idx([0, 2, 0], x), s, "prod"),
        lambda x, s: x.index_reduce(0, _tidx([0, 2, 0]), s, "prod"),
        _s(((3, 2), (3, 2)),)),
    Row("index_reduce[mean,noself]", lambda x, s: ge.index_reduce(
        x, 1, _idx([1, 1], x), s, "mean", include_self=False),
        lambda x, s: torch.index_reduce(x, 1, _tidx([1, 1]), s, "mean", include_self=False),
        _s(((3, 2), (3, 2)),)),
    Row("index_reduce[amax]", lambda x, s: ge.index_reduce(x, 0, _idx([1, 0, 1], x), s,
                                                           "amax"),
        lambda x, s: torch.index_reduce(x, 0, _tidx([1, 0, 1]), s, "amax"),
        _s(((2, 3), (3, 3)),)),
    Row("diagonal_scatter", lambda x, s: ge.diagonal_scatter(x, s, 1),
        lambda x, s: torch.diagonal_scatter(x, s, 1), _s(((3, 4), (3,)), ((3, 3), (2,)))),
    Row("diagonal_scatter[dims]", lambda x, s: x.diagonal_scatter(s, 0, -1, 0),
        lambda x, s: x.diagonal_scatter(s, 0, -1, 0), _s(((2, 3, 2), (3, 2)),)),
    Row("select_scatter", lambda x, s: ge.select_scatter(x, s, 1, -1),
        lambda x, s: torch.select_scatter(x, s, 1, -1), _s(((2, 3), (2,)),
                                                          ((2, 3, 2), (2, 2)))),
    Row("slice_scatter", lambda x, s: ge.slice_scatter(x, s, 1, 1, None, 2),
        lambda x, s: torch.slice_scatter(x, s, 1, 1, None, 2), _s(((2, 5), (2, 2)),)),
    Row("slice_scatter[default]", lambda x, s: x.slice_scatter(s),
        lambda x, s: x.slice_scatter(s), _s(((3, 2), (3, 2)),)),
    Row("as_strided", lambda x: ge.as_strided(x, (3, 2), (1, 2), 1),
        lambda x: torch.as_strided(x, (3, 2), (1, 2), 1), _s(((2, 4),), ((9,),))),
    Row("as_strided[windows]", lambda x: x.as_strided((4, 3), (1, 1)),
        lambda x: x.as_strided((4, 3), (1, 1)), _s(((6,),),)),
    # linear algebra spellings
    Row("det", ge.det, torch.det, _well((3, 3), (2, 2, 2))),
    Row("slogdet", lambda a: ge.slogdet(a).logabsdet, lambda a: torch.slogdet(a).logabsdet,
        _s(((3, 3),), ((2, 2, 2),))),
    Row("logdet", lambda a: a.logdet(), lambda a: a.logdet(),
        lambda rng: [[a @ np.swapaxes(a, -1, -2) + np.eye(a.shape[-1])] for a in (
            rng.standard_normal((3, 3)), rng.standard_normal((2, 2, 2)))]),
    Row("inverse", lambda a: a.inverse(), lambda a: a.inverse(), _well((3, 3), (2, 2, 2))),
    Row("svd[S]", lambda a: ge.svd(a).S, lambda a: torch.svd(a).S, _s(((3, 2),), ((2, 4),)),
        second_order=False),
    Row("svd[no uv]", lambda a: ge.svd(a, compute_uv=False).S,
        lambda a: torch.svd(a, compute_uv=False).S, _s(((3, 2),),), second_order=False),
    Row("cholesky[upper]", lambda a: ge.cholesky(a @ a.mT + 3 * ge.eye(
        a.shape[-1], dtype=a.dtype, device=a.device), upper=True),
        lambda a: torch.cholesky(a @ a.mT + 3 * torch.eye(a.shape[-1], dtype=a.dtype),
                                 upper=True), _s(((3, 3),), ((2, 2, 2),))),
    Row("cholesky_solve", lambda b, u: ge.cholesky_solve(b, u),
        lambda b, u: torch.cholesky_solve(b, u), lambda rng: [
            [s[1], s[0]] for s in _spd_factor(rng)]),
    Row("cholesky_solve[upper]", lambda b, u: b.cholesky_solve(u.mT, upper=True),
        lambda b, u: b.cholesky_solve(u.mT, upper=True), lambda rng: [
            [s[1], s[0]] for s in _spd_factor(rng)]),
    Row("cholesky_inverse", lambda u: ge.cholesky_inverse(u),
        lambda u: torch.cholesky_inverse(u), lambda rng: [
            [s[0]] for s in _spd_factor(rng)]),
    Row("cholesky_inverse[upper]", lambda u: u.mT.cholesky_inverse(True),
        lambda u: u.mT.cholesky_inverse(True), lambda rng: [[s[0]] for s in _spd_factor(rng)]),
    Row("lu", lambda a: ge.lu(a)[0], lambda a: torch.linalg.lu_factor(a)[0],
        _s(((3, 3),), ((2, 4, 4),), ((3, 5),), ((4, 2),)),
        covers=("lu_pivots", "lu_permutation")),
    Row("lu_unpack", lambda a: ge.cat([m.reshape(-1) for m in ge.lu_unpack(*ge.lu(a))]),
        lambda a: torch.cat([m.reshape(-1) for m in torch.lu_unpack(
            *torch.linalg.lu_factor(a))]), _s(((3, 3),), ((3, 5),), ((4, 2),))),
    Row("lu_solve", lambda a, b: ge.lu_solve(b, *ge.lu(a)),
        lambda a, b: torch.lu_solve(b, *torch.linalg.lu_factor(a)),
        _s(((3, 3), (3, 2)), ((2, 4, 4), (2, 4, 1)))),
    Row("triangular_solve", lambda b, a: ge.triangular_solve(b, a).solution,
        lambda b, a: torch.triangular_solve(b, a).solution,
        lambda rng: [[rng.standard_normal((3, 2)), rng.standard_normal((3, 3)) + 3 * np.eye(3)]]),
    Row("triangular_solve[lower,transpose,unit]", lambda b, a: b.triangular_solve(
        a, upper=False, transpose=True, unitriangular=True).solution,
        lambda b, a: b.triangular_solve(a, upper=False, transpose=True,
                                        unitriangular=True).solution,
        _s(((3, 2), (3, 3)), ((2, 3, 1), (2, 3, 3)))),
    Row("pinverse", lambda a: a.pinverse(), lambda a: a.pinverse(), _s(((4, 3),), ((2, 5),))),
    Row("matrix_exp", ge.matrix_exp, torch.matrix_exp, _s(((3, 3),), ((2, 2, 2),))),
    Row("matrix_power", lambda a: a.matrix_power(3), lambda a: a.matrix_power(3),
        _s(((3, 3),), ((2, 2, 2),))),
]
IDS = [r.name for r in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradcheck(row, dev, rng):
    optable.check_gradcheck(row, dev, rng)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradgradcheck(row, dev, rng):
    if not row.second_order:
        pytest.skip(f"{row.name}: once differentiable")
    optable.check_gradgradcheck(row, dev, rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_torch(row, dtype, dev, rng):
    optable.check_torch(row, dev, rng, dtype)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    optable.check_jit(row, rng)


def test_every_shape_extras_op_has_a_row():
    names = {"unravel_index", "ones_of", "floor_divide", "resize"}  # tested below
    missing = optable.op_names(shape_extras) - optable.covered(ROWS, names)
    assert not missing, f"shape_extras ops without a row: {sorted(missing)}"


# ---------------------------------------------------------------- without a gradient

def _same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
        return
    assert isinstance(ours, ge.Tensor), type(ours)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    tol = 1e-12 if ours.dtype != np.float32 else 1e-5
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("case", [
    lambda m: m.tril_indices(3, 4, 1), lambda m: m.triu_indices(4, 3, -1),
    lambda m: m.tril_indices(0, 3), lambda m: m.triu_indices(3, 3, 5),
    lambda m: m.tril_indices(2, 2, dtype=m.int32),
    lambda m: m.unravel_index(m.tensor([-1, 5, 6, 0]), (2, 3)),
    lambda m: m.unravel_index(m.tensor(4), (2, 3)),
    lambda m: m.unravel_index(m.tensor([[3, 7], [1, 0]]), (2, 2, 2)),
    lambda m: m.unravel_index(m.tensor([], dtype=m.int64), (4,)),
    lambda m: m.combinations(m.tensor([1, 2, 3]), 2),
    lambda m: m.combinations(m.tensor([1.0, 2.0]), 3),
    lambda m: m.combinations(m.tensor([1.0, 2.0]), 0),
    lambda m: m.block_diag(m.tensor([[1, 2]]), m.tensor(3)),
    lambda m: m.block_diag(m.tensor([1, 2]), m.tensor([[1.5]], dtype=m.float64)),
    lambda m: m.block_diag(),
    lambda m: m.atleast_1d(m.tensor(1.0), m.tensor([2.0])),
    lambda m: m.atleast_2d([m.tensor(1.0)]),
    lambda m: m.atleast_3d(m.tensor([1.0, 2.0])),
    lambda m: m.scatter_reduce(m.tensor([1, 2, 3, 4]), 0, m.tensor([0, 0, 3]),
                               m.tensor([7, 5, -2]), "mean"),
    lambda m: m.scatter_reduce(m.tensor([1, 2, 3, 4]), 0, m.tensor([0, 0, 3]),
                               m.tensor([7, 5, -2]), "mean", include_self=False),
    lambda m: m.scatter_reduce(m.tensor([1, 2, 3, 4]), 0, m.tensor([0, 0, 3]),
                               m.tensor([7, 5, -2]), "amax", include_self=False),
    lambda m: m.scatter_reduce(m.tensor([1, 2, 3, 4]), 0, m.tensor([0, 0, 3]),
                               m.tensor([7, 5, -2]), "prod"),
    lambda m: m.scatter_reduce(m.tensor(2.0), 0, m.tensor([0, 0]), m.tensor([3.0, 4.0]),
                               "sum"),
    lambda m: m.index_put(m.tensor([1, 2, 3]), (m.tensor([0, 0]),), m.tensor([5, 6]),
                          accumulate=True),
    lambda m: m.put(m.tensor([[1, 2], [3, 4]]), m.tensor([3, -4]), m.tensor([9, 8])),
    lambda m: m.tensor([1, 2, 3, 4]).masked_scatter(m.tensor([True, False, True, False]),
                                                    m.tensor([7, 8, 9])),
    lambda m: m.tensor([1.0, 2.0]).masked_scatter(m.tensor([False, False]),
                                                  m.tensor([], dtype=m.float32)),
    lambda m: m.tensor_split(m.arange(7), m.tensor([1, 5])),
    lambda m: m.tensor_split(m.arange(7), m.tensor(3)),
    lambda m: m.tensor_split(m.zeros((2, 0)), 3, dim=1),
    lambda m: m.lu(m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64))[1],
    lambda m: m.lu(m.tensor([[0.0, 0.0], [0.0, 1.0]], dtype=m.float64), get_infos=True)[1:],
    lambda m: m.lu_unpack(*m.lu(m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64)),
                          unpack_data=False),
    lambda m: m.lu_unpack(*m.lu(m.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=m.float64)),
                          unpack_pivots=False),
    lambda m: m.svd(m.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), compute_uv=False),
    lambda m: m.diagflat(m.tensor([1, 2])),
    lambda m: m.select_scatter(m.zeros((2, 2), dtype=m.int64), m.tensor([1, 2]), 0, 0),
    lambda m: m.slice_scatter(m.zeros(4), m.ones(2), start=-2),
    lambda m: m.diagonal_scatter(m.zeros((3, 2)), m.ones(2), -1),
    lambda m: m.index_copy(m.zeros((3, 2)), 0, m.tensor([2]), m.ones((1, 2))),
], ids=lambda c: None)
def test_values_dtypes_and_forms_match_torch(case):
    _same(case(ge), case(torch))


def test_svd_gives_v_and_the_reduced_or_full_factors_as_torch():
    a = np.random.default_rng(0).standard_normal((4, 2))
    for some in (True, False):
        u, s, v = ge.svd(ge.tensor(a), some=some)
        tu, ts, tv = torch.svd(torch.tensor(a), some=some)
        assert u.shape == tuple(tu.shape) and v.shape == tuple(tv.shape)
        np.testing.assert_allclose(s.numpy(), ts.numpy())
        us = u.numpy()[:, :2] * s.numpy()
        np.testing.assert_allclose(us @ v.numpy().T, a, atol=1e-12)
    r = ge.svd(ge.tensor(a))
    assert r._fields == ("U", "S", "V")
    q, rr = ge.qr(ge.tensor(a))
    tq, tr = torch.qr(torch.tensor(a))
    assert q.shape == tuple(tq.shape) and rr.shape == tuple(tr.shape)
    np.testing.assert_allclose(np.abs(rr.numpy()), np.abs(tr.numpy()), atol=1e-12)
    q, rr = ge.qr(ge.tensor(a), some=False)
    assert q.shape == (4, 4) and rr.shape == (4, 2)
    assert ge.slogdet(ge.tensor(np.eye(2)))._fields == ("sign", "logabsdet")
    assert ge.triangular_solve(ge.tensor(np.eye(2)), ge.tensor(np.eye(2)))._fields == (
        "solution", "cloned_coefficient")
    assert ge.lu_unpack(*ge.lu(ge.tensor(np.eye(2))))._fields == ("P", "L", "U")


def test_logdet_is_nan_for_a_negative_and_minus_inf_for_a_zero_determinant():
    for m in (np.diag([-1.0, 2.0]), np.zeros((2, 2)), np.diag([2.0, 3.0])):
        np.testing.assert_equal(ge.logdet(ge.tensor(m)).numpy(),
                                torch.logdet(torch.tensor(m)).numpy())


def test_predicates_and_shapes_as_torch():
    a, b = ge.zeros((2, 3)), ge.zeros((2, 3))
    assert ge.is_same_size(a, b) is True and a.is_same_size(ge.zeros(3)) is False
    assert ge.is_nonzero(ge.tensor([0.5])) is True and ge.tensor(0).is_nonzero() is False
    assert a.ndimension() == 2 and ge.tensor(1.0).ndimension() == 0
    for shapes in [((2, 1), (3,)), ((), (1, 4)), ((0, 1), (3,)), (5, (1,)), ()]:
        shapes = shapes if isinstance(shapes, tuple) else (shapes,)
        assert ge.broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes))
    assert ge.concat is not None and ge.concatenate([a, b], axis=1).shape == (2, 6)


def test_views_share_memory_as_torch():
    x = ge.arange(12.0).reshape(3, 4)
    parts = x.tensor_split(3, dim=1) + ge.hsplit(x, 2) + (ge.select(x, 0, 1),
                                                          ge.atleast_3d(x), x.swapdims(0, 1))
    x[...] = -1.0
    for p in parts:
        assert (p.numpy() == -1).all()
    c = x.narrow_copy(0, 0, 1)
    x[...] = 5.0
    assert (c.numpy() == -1).all()


# ---------------------------------------------------------------- in-place methods

@pytest.mark.parametrize("name,args", [
    ("t_", ()), ("squeeze_", ()), ("squeeze_", (1,)), ("unsqueeze_", (-1,)),
    ("transpose_", (0, 2)), ("swapaxes_", (1, 0)), ("swapdims_", (-1, 0)),
])
def test_inplace_shape_methods_change_the_tensor_itself_as_torch(name, args):
    a = np.random.default_rng(0).standard_normal((2, 1, 3) if name != "t_" else (2, 3))
    x, tx = ge.tensor(a), torch.tensor(a)
    view, tview = x.reshape(-1), tx.reshape(-1)
    assert getattr(x, name)(*args) is x
    getattr(tx, name)(*args)
    assert x.shape == tuple(tx.shape) and x._version == tx._version == 1
    np.testing.assert_array_equal(x.numpy(), tx.numpy())
    assert view.shape == tuple(tview.shape)     # views made before keep their shape
    x.add_(1.0)                                  # the memory is still shared
    tx.add_(1.0)
    np.testing.assert_array_equal(view.numpy(), tview.numpy())
    # with grad: a leaf refuses (as torch), a non-leaf takes the op into its history
    leaf = ge.tensor(a, requires_grad=True)
    with pytest.raises(ge.GraphError, match=name):
        getattr(leaf, name)(*args)
    tleaf = torch.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError):
        getattr(tleaf, name)(*args)
    y, ty = leaf * 2, tleaf * 2
    getattr(y, name)(*args)
    getattr(ty, name)(*args)
    w = np.random.default_rng(1).standard_normal(y.shape)
    (y * ge.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy())
    with ge.no_grad():
        getattr(ge.tensor(a, requires_grad=True), name)(*args)


def test_inplace_shape_change_of_a_view_writes_reach_the_base_with_gradients():
    base = ge.tensor(np.zeros((2, 3)), requires_grad=True)
    tb = torch.zeros((2, 3), dtype=torch.float64, requires_grad=True)
    for b, lib in ((base, ge), (tb, torch)):
        h = b * 1
        v = h[0]
        v.unsqueeze_(0)
        v.mul_(lib.tensor([[1.0, 2.0, 3.0]], dtype=lib.float64))
        (h * lib.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    np.testing.assert_allclose(base.grad.numpy(), tb.grad.numpy())


def test_resize_as_torch():
    for shape in ((3, 2), (2,), (0,), (2, 4)):
        x, tx = ge.arange(6.0).reshape(2, 3), torch.arange(6.0).reshape(2, 3)
        x.resize_(*shape)
        tx.resize_(*shape)
        assert x.shape == tuple(tx.shape) and x._version == 1
        n = min(6, int(np.prod(shape)))
        np.testing.assert_array_equal(x.numpy().reshape(-1)[:n], tx.numpy().reshape(-1)[:n])
    x = ge.zeros(4)
    x.resize_as_(ge.zeros((2, 2)))
    assert x.shape == (2, 2)
    with pytest.raises(ge.GraphError, match="cannot resize variables that require grad"):
        ge.zeros(3, requires_grad=True).resize_(2)
    with pytest.raises(RuntimeError):
        torch.zeros(3, requires_grad=True).resize_(2)
    with pytest.raises(ge.ShapeError, match="resize_"):
        ge.zeros(3).resize_(-1)


@pytest.mark.parametrize("name,args", [
    ("tril_", ()), ("tril_", (-1,)), ("triu_", (1,)), ("cumsum_", (0,)), ("cumprod_", (-1,)),
    ("index_copy_", (1, [2, 0], "S22")), ("index_put_", ((["I01"], ["I12"]), "S2")),
    ("index_put_", ((["I00"],), "S1", True)), ("masked_scatter_", ("M", "S9")),
    ("put_", (["I15"], "S2")), ("put_", (["I11"], "S2", True)),
    ("scatter_reduce_", (1, "I2x2", "S22", "amax")),
    ("index_reduce_", (0, [1, 1], "S23", "prod")), ("fill_diagonal_", (7.0,)),
    ("eq_", (0.5,)), ("ne_", ("T",)), ("lt_", (0.0,)), ("le_", ("T",)), ("gt_", (0.0,)),
    ("ge_", ("T",)), ("greater_", (0.1,)), ("less_", ("T",)), ("greater_equal_", (0.0,)),
    ("less_equal_", ("T",)), ("not_equal_", (0.0,)), ("logical_xor_", ("T",)),
])
def test_inplace_methods_match_torch_values_versions_and_gradients(name, args):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 3))
    other = rng.standard_normal((2, 3))
    src = {k: rng.standard_normal(s) for k, s in (("S23", (2, 3)), ("S2", (2,)),
                                                  ("S1", (1,)), ("S9", (9,)),
                                                  ("S22", (2, 2)))}

    def arg(v, lib):
        if isinstance(v, str) and v in src:
            return lib.tensor(src[v])
        if v == "T":
            return lib.tensor(other)
        if v == "M":
            return lib.tensor(a > 0)
        if v == "I2x2":
            return lib.tensor([[0, 0], [2, 1]])
        if isinstance(v, list) and v and isinstance(v[0], str):
            return lib.tensor([int(c) for c in v[0][1:]])
        if isinstance(v, list):
            return lib.tensor(v)
        if isinstance(v, tuple):
            return tuple(arg(i, lib) for i in v)
        return v

    x, tx = ge.tensor(a), torch.tensor(a)
    assert getattr(x, name)(*[arg(v, ge) for v in args]) is x
    getattr(tx, name)(*[arg(v, torch) for v in args])
    assert x.dtype == np.float64 and x._version == tx._version
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-12)
    leaf = ge.tensor(a, requires_grad=True)
    with pytest.raises(ge.GraphError, match=name):
        getattr(leaf, name)(*[arg(v, ge) for v in args])
    if name.rstrip("_") in ("tril", "triu", "cumsum", "cumprod", "index_copy", "index_put",
                            "masked_scatter", "put", "scatter_reduce", "index_reduce",
                            "fill_diagonal"):
        tleaf = torch.tensor(a, requires_grad=True)
        y, ty = leaf * 1, tleaf * 1
        getattr(y, name)(*[arg(v, ge) for v in args])
        getattr(ty, name)(*[arg(v, torch) for v in args])
        w = rng.standard_normal((2, 3))
        (y * ge.tensor(w)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=1e-12)


def test_inplace_comparisons_keep_integer_dtypes():
    x, tx = ge.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    x.lt_(2.5)
    tx.lt_(2.5)
    assert x.dtype == np.int64 and x.tolist() == tx.tolist()


def test_fill_diagonal_wraps_tall_matrices_as_torch():
    for shape, wrap in (((7, 3), True), ((7, 3), False), ((3, 5), False), ((3, 3, 3), False)):
        x, tx = ge.zeros(shape), torch.zeros(shape)
        x.fill_diagonal_(2.0, wrap=wrap)
        tx.fill_diagonal_(2.0, wrap=wrap)
        np.testing.assert_array_equal(x.numpy(), tx.numpy())


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("call,error,match", [
    (lambda: ge.hsplit(ge.zeros((2, 3)), 2), ge.ShapeError, "not divisible"),
    (lambda: ge.vsplit(ge.zeros(4), 2), ge.ShapeError, "at least 2"),
    (lambda: ge.dsplit(ge.zeros((2, 2)), 2), ge.ShapeError, "at least 3"),
    (lambda: ge.tensor_split(ge.zeros(4), 0), RuntimeError, "sections"),
    (lambda: ge.tensor_split(ge.tensor(1.0), 2), ge.ShapeError, "tensor_split"),
    (lambda: ge.tensor_split(ge.zeros(4), ge.tensor([1.0])), ge.DTypeError, "tensor_split"),
    (lambda: ge.split_with_sizes(ge.zeros(4), [1, 2]), ge.ShapeError, "split"),
    (lambda: ge.select(ge.zeros((2, 3)), 1, 3), IndexError, "out of range"),
    (lambda: ge.select(ge.zeros((2, 3)), 2, 0), IndexError, "select"),
    (lambda: ge.select(ge.tensor(1.0), 0, 0), IndexError, "0-dim"),
    (lambda: ge.swapdims(ge.zeros((2, 3)), 0, 2), IndexError, "swapaxes"),
    (lambda: ge.block_diag(ge.zeros((1, 1, 1))), ge.ShapeError, "block_diag"),
    (lambda: ge.combinations(ge.zeros((2, 2))), ge.ShapeError, "combinations"),
    (lambda: ge.combinations(ge.zeros(3), -1), ValueError, "combinations"),
    (lambda: ge.broadcast_shapes((2, 1), (3, 4)), ge.ShapeError, "broadcast_shapes"),
    (lambda: ge.unravel_index(ge.tensor([1.0]), (2,)), ge.DTypeError, "integer"),
    (lambda: ge.unravel_index(ge.tensor([1]), (2, -1)), ValueError, "negative"),
    (lambda: ge.tril_indices(-1, 2), ValueError, "tril_indices"),
    (lambda: ge.triu_indices(2, 2, dtype=ge.float32), ge.DTypeError, "integer"),
    (lambda: ge.zeros((2, 3)).sum_to_size(4), ge.ShapeError, "expandable"),
    (lambda: ge.zeros((2, 3)).sum_to_size(1, 2, 3), ge.ShapeError, "expandable"),
    (lambda: ge.is_nonzero(ge.zeros(2)), RuntimeError, "more than one"),
    (lambda: ge.is_nonzero(ge.zeros(0)), RuntimeError, "no values"),
    (lambda: ge.index_copy(ge.zeros((2, 3)), 1, ge.tensor([0]), ge.zeros((2, 2))),
     ge.ShapeError, "index_copy"),
    (lambda: ge.index_copy(ge.zeros(3), 0, ge.tensor([0.0]), ge.zeros(1)), ge.DTypeError,
     "integer"),
    (lambda: ge.index_copy(ge.zeros(3), 0, ge.tensor([5]), ge.zeros(1)), IndexError,
     "index"),
    (lambda: ge.index_put(ge.zeros(3), ge.tensor([0]), ge.zeros(1)), ge.DTypeError,
     "tuple"),
    (lambda: ge.index_put(ge.zeros(3), (ge.tensor([7]),), ge.zeros(1)), IndexError,
     "index_put"),
    (lambda: ge.masked_scatter(ge.zeros(3), ge.tensor([1, 0, 1]), ge.zeros(3)),
     ge.DTypeError, "bool"),
    (lambda: ge.masked_scatter(ge.zeros(3), ge.tensor([True, True, True]), ge.zeros(2)),
     ge.ShapeError, "only 2"),
    (lambda: ge.masked_scatter(ge.zeros(3), ge.tensor([True]), ge.zeros(3, dtype=ge.int64)),
     ge.DTypeError, "same dtype"),
    (lambda: ge.masked_scatter(ge.zeros(3), ge.tensor([[True], [False]]), ge.zeros(3)),
     ge.ShapeError, "broadcast"),
    (lambda: ge.put(ge.zeros(3), ge.tensor([0, 1]), ge.zeros(1)), ge.ShapeError, "put"),
    (lambda: ge.put(ge.zeros(3), ge.tensor([3]), ge.zeros(1)), IndexError, "put"),
    (lambda: ge.scatter_reduce(ge.zeros(3), 0, ge.tensor([0]), ge.zeros(1), "max"),
     ValueError, "amax"),
    (lambda: ge.scatter_reduce(ge.zeros(3), 0, ge.tensor([5]), ge.zeros(1), "sum"),
     IndexError, "scatter"),
    (lambda: ge.scatter_reduce(ge.zeros(3), 0, ge.tensor([[0]]), ge.zeros(1), "sum"),
     ge.ShapeError, "scatter_reduce"),
    (lambda: ge.scatter_reduce(ge.zeros(3), 0, ge.tensor([0]), ge.zeros(1, dtype=ge.float64),
                               "sum"), ge.DTypeError, "dtype"),
    (lambda: ge.index_reduce(ge.zeros(3), 0, ge.tensor([0]), ge.zeros(1), "sum"),
     ValueError, "prod"),
    (lambda: ge.diagonal_scatter(ge.zeros((3, 3)), ge.zeros(2)), ge.ShapeError,
     "diagonal_scatter"),
    (lambda: ge.select_scatter(ge.zeros((3, 3)), ge.zeros(2), 0, 0), ge.ShapeError,
     "select_scatter"),
    (lambda: ge.slice_scatter(ge.zeros(4), ge.zeros(4), 0, 1), ge.ShapeError,
     "slice_scatter"),
    (lambda: ge.slice_scatter(ge.zeros(4), ge.zeros(4), 0, step=0), ValueError, "step"),
    (lambda: ge.zeros(3).fill_diagonal_(1.0), ge.ShapeError, "fill_diagonal_"),
    (lambda: ge.zeros((2, 3, 3)).fill_diagonal_(1.0), ge.ShapeError, "equal length"),
    (lambda: ge.zeros((2, 3, 4)).t_(), ge.ShapeError, "t_"),
    (lambda: ge.as_strided(ge.zeros(4), (2, 2), (2, 1), 1), ge.ShapeError, "out of bounds"),
    (lambda: ge.as_strided(ge.zeros(4), (2, 2), (1,)), ge.ShapeError, "mismatch"),
    (lambda: ge.lu(ge.zeros(3)), ge.ShapeError, "lu"),
    (lambda: ge.lu(ge.eye(2), pivot=False), RuntimeError, "without pivoting"),
    (lambda: ge.cholesky_solve(ge.zeros((3, 1)), ge.zeros((2, 2))), ge.ShapeError,
     "cholesky_solve"),
    (lambda: ge.matrix_rank(ge.eye(2)), RuntimeError, "linalg.matrix_rank"),
    (lambda: ge.lstsq(ge.eye(2), ge.eye(2)), RuntimeError, "linalg.lstsq"),
])
def test_bad_input_raises_named_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_torch_raises_where_we_raise():
    """The torch side of a few of the errors above (the same kind of exception)."""
    for call in (lambda: torch.hsplit(torch.zeros((2, 3)), 2),
                 lambda: torch.select(torch.zeros((2, 3)), 1, 3),
                 lambda: torch.broadcast_shapes((2, 1), (3, 4)),
                 lambda: torch.is_nonzero(torch.zeros(2)),
                 lambda: torch.zeros(3).fill_diagonal_(1.0),
                 lambda: torch.matrix_rank(torch.eye(2)),
                 lambda: torch.masked_scatter(torch.zeros(3), torch.tensor([True] * 3),
                                              torch.zeros(2)),
                 lambda: torch.as_strided(torch.zeros(4), (2, 2), (2, 1), 1)):
        with pytest.raises((RuntimeError, IndexError, ValueError)):
            call()
