"""The op table of the PyTorch drop-in families (gradengine/ops/extras.py, ops/decomp.py and
the decompositions of gradengine/linalg.py): gradcheck in float64, gradgradcheck, PyTorch
as the reference (values and gradients), on the CPU and the NumPy stand-in for CUDA, and
ge.jit replay equal to eager bit for bit. The ops without a gradient are checked against
PyTorch on their own; the guard at the end fails when an op of these modules has no row.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
import optable
from gradengine.ops import decomp, extras
from optable import Row

torch = pytest.importorskip("torch")
TL = torch.linalg


def _s(*shapes):
    def samples(rng):
        return [[rng.standard_normal(s) for s in ss] for ss in shapes]
    return samples


def _well_conditioned(*shapes):
    def samples(rng):
        return [[rng.standard_normal(s) + s[-1] * np.eye(s[-1])] for s in shapes]
    return samples


def _spd(rng):
    out = []
    for s in ((3, 3), (1, 1), (2, 4, 4), (5, 5)):
        a = rng.standard_normal(s)
        out.append([a @ np.swapaxes(a, -1, -2) + s[-1] * np.eye(s[-1])])
    return out


def _ties(rng):
    return [[rng.integers(0, 3, s).astype(np.float64)] for s in ((4, 7), (9,), (2, 3, 5))]


def _sym(x):
    return x + x.mT


def _half_sym(x):  # Cholesky reads one triangle: perturb both, as PyTorch's tests
    return (x + x.mT) * 0.5


ROWS = [
    Row("meshgrid[ij]", lambda a, b: ge.stack(ge.meshgrid(a, b, indexing="ij")),
        lambda a, b: torch.stack(torch.meshgrid(a, b, indexing="ij")),
        _s(((4,), (3,)), ((1,), (5,)), ((0,), (2,)))),
    Row("meshgrid[xy]", lambda a, b, c: ge.stack(ge.meshgrid(a, b, c, indexing="xy")),
        lambda a, b, c: torch.stack(torch.meshgrid(a, b, c, indexing="xy")),
        _s(((4,), (3,), (2,)), ((1,), (5,), (1,)))),
    Row("cartesian_prod", ge.cartesian_prod, torch.cartesian_prod,
        _s(((4,), (3,)), ((2,), (1,)), ((3,), (2,)))),
    Row("column_stack", lambda a, b: ge.column_stack([a, b]),
        lambda a, b: torch.column_stack([a, b]), _s(((3,), (3, 2)), ((4,), (4,)), ((2, 2), (2,)))),
    Row("diff", lambda a: ge.diff(a), torch.diff, _s(((5,),), ((3, 4),), ((2, 3, 2),), ((1,),))),
    Row("diff[n=2,dim=0,prepend,append]",
        lambda a, b: ge.diff(a, n=2, dim=0, prepend=b, append=b),
        lambda a, b: torch.diff(a, n=2, dim=0, prepend=b, append=b),
        _s(((3, 4), (1, 4)), ((2,), (2,)), ((4, 2, 3), (2, 2, 3)))),
    Row("take", lambda a: ge.take(a, ge.tensor([[0, 5], [2, 3]], device=a.device)),
        lambda a: torch.take(a, torch.tensor([[0, 5], [2, 3]])), _s(((3, 4),), ((6,),))),
    Row("kron", ge.kron, torch.kron, _s(((2, 3), (3, 2)), ((3,), (2,)), ((2, 2), (3,)),
                                        ((2, 1, 2), (1, 3, 2)))),
    Row("baddbmm", lambda i, a, b: ge.baddbmm(i, a, b, beta=0.5, alpha=2.0),
        lambda i, a, b: torch.baddbmm(i, a, b, beta=0.5, alpha=2.0),
        _s(((2, 3, 5), (2, 3, 4), (2, 4, 5)), ((1, 1), (3, 2, 4), (3, 4, 1)))),
    Row("cdist[2]", ge.cdist, torch.cdist, _s(((3, 4), (5, 4)), ((2, 3, 2), (2, 4, 2)))),
    Row("cdist[1]", lambda a, b: ge.cdist(a, b, p=1), lambda a, b: torch.cdist(a, b, p=1),
        _s(((3, 4), (5, 4)), ((2, 2, 3), (2, 3, 3)))),
    Row("cdist[3]", lambda a, b: ge.cdist(a, b, p=3), lambda a, b: torch.cdist(a, b, p=3),
        _s(((3, 4), (5, 4)),)),
    Row("cdist[inf]", lambda a, b: ge.cdist(a, b, p=float("inf")),
        lambda a, b: torch.cdist(a, b, p=float("inf")), _s(((3, 4), (5, 4)),)),
    Row("quantile[linear]", lambda a: ge.quantile(a, 0.3, dim=-1),
        lambda a: torch.quantile(a, 0.3, dim=-1), _s(((3, 5),), ((7,),), ((2, 3, 4),))),
    Row("quantile[q tensor,dim=0,keepdim]",
        lambda a: ge.quantile(a, [0.1, 0.5, 0.9], dim=0, keepdim=True),
        lambda a: torch.quantile(a, torch.tensor([0.1, 0.5, 0.9], dtype=a.dtype), dim=0,
                                 keepdim=True), _s(((5, 3),), ((4,),))),
    Row("quantile[all,midpoint]", lambda a: ge.quantile(a, 0.45, interpolation="midpoint"),
        lambda a: torch.quantile(a, 0.45, interpolation="midpoint"), _s(((3, 4),), ((6,),))),
    Row("mode", lambda a: ge.mode(a, dim=-1).values, lambda a: torch.mode(a, dim=-1).values,
        _ties, finite_diff=False, covers=("mode_index",)),
    Row("vector_norm2", lambda a: ge.linalg.vector_norm(a), lambda a: TL.vector_norm(a),
        _s(((5,),), ((3, 4),), ((1,),), ((2, 3, 2),))),
    Row("vector_norm2[dim,keepdim]", lambda a: ge.linalg.vector_norm(a, dim=(0, -1), keepdim=True),
        lambda a: TL.vector_norm(a, dim=(0, -1), keepdim=True), _s(((3, 4),), ((2, 3, 2),))),
    Row("inv", ge.linalg.inv, TL.inv, _well_conditioned((3, 3), (1, 1), (2, 4, 4), (2, 1, 3, 3))),
    Row("det", ge.linalg.det, TL.det, _well_conditioned((3, 3), (1, 1), (2, 4, 4)),
        covers=("cofactor", "cofactor_backward")),
    Row("slogdet", lambda a: ge.linalg.slogdet(a).logabsdet,
        lambda a: TL.slogdet(a).logabsdet, _s(((3, 3),), ((2, 4, 4),), ((1, 1),)),
        covers=("logabsdet", "det_sign")),
    Row("solve", ge.linalg.solve, TL.solve,
        lambda rng: [[rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((3, 2))],
                     [rng.standard_normal((2, 4, 4)) + 4 * np.eye(4),
                      rng.standard_normal((2, 4, 1))],
                     [rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal(3)]]),
    Row("cholesky", lambda a: ge.linalg.cholesky(_half_sym(a)),
        lambda a: TL.cholesky(_half_sym(a)), _spd),
    Row("cholesky[upper]", lambda a: ge.linalg.cholesky(_half_sym(a), upper=True),
        lambda a: TL.cholesky(_half_sym(a), upper=True), _spd),
    Row("svdvals", ge.linalg.svdvals, TL.svdvals, _s(((3, 5),), ((4, 2),), ((2, 3, 3),)),
        second_order=False),
    Row("eigh[eigenvalues]", lambda a: ge.linalg.eigh(_sym(a)).eigenvalues,
        lambda a: TL.eigh(_sym(a)).eigenvalues, _s(((3, 3),), ((2, 4, 4),))),
    # eigenvectors up to sign: their squares are sign-free
    Row("eigh[eigenvectors]", lambda a: ge.linalg.eigh(_sym(a)).eigenvectors ** 2,
        lambda a: TL.eigh(_sym(a)).eigenvectors ** 2, _s(((3, 3),), ((2, 4, 4),))),
    Row("svd[S]", lambda a: ge.linalg.svd(a, full_matrices=False).S,
        lambda a: TL.svd(a, full_matrices=False).S, _s(((3, 5),), ((4, 2),)),
        second_order=False),
    # QR: square, tall and wide matrices and batches (LAPACK's signs, in both libraries)
    Row("qr[Q]", lambda a: ge.linalg.qr(a).Q, lambda a: TL.qr(a).Q,
        _s(((3, 3),), ((5, 3),), ((3, 5),), ((2, 4, 3),), ((2, 3, 4),), ((1, 1),))),
    Row("qr[R]", lambda a: ge.linalg.qr(a).R, lambda a: TL.qr(a).R,
        _s(((3, 3),), ((5, 3),), ((3, 5),), ((2, 4, 3),), ((2, 3, 4),))),
    Row("qr[complete,wide]", lambda a: ge.cat([t.reshape(-1) for t in ge.linalg.qr(
        a, mode="complete")]), lambda a: torch.cat([t.reshape(-1) for t in TL.qr(
            a, mode="complete")]), _s(((3, 5),), ((2, 2, 4),), ((3, 3),))),
    Row("pinv", ge.linalg.pinv, TL.pinv, _s(((4, 3),), ((2, 5),), ((2, 3, 2),))),
    Row("matrix_power[3]", lambda a: ge.linalg.matrix_power(a, 3),
        lambda a: TL.matrix_power(a, 3), _s(((3, 3),), ((2, 2, 2),))),
    Row("matrix_power[-2]", lambda a: ge.linalg.matrix_power(a, -2),
        lambda a: TL.matrix_power(a, -2), _well_conditioned((3, 3), (2, 2, 2))),
    Row("lstsq", lambda a, b: ge.linalg.lstsq(a, b).solution,
        lambda a, b: TL.lstsq(a, b).solution, _s(((5, 3), (5, 2)), ((4, 2), (4, 1)))),
    Row("solve_triangular[upper]", lambda a, b: ge.linalg.solve_triangular(a, b, upper=True),
        lambda a, b: TL.solve_triangular(a, b, upper=True),
        lambda rng: [[rng.standard_normal((3, 3)) + 3 * np.eye(3), rng.standard_normal((3, 2))]]),
    Row("solve_triangular[lower,right,unit]",
        lambda a, b: ge.linalg.solve_triangular(a, b, upper=False, left=False,
                                                unitriangular=True),
        lambda a, b: TL.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
        _s(((3, 3), (2, 3)),)),
    Row("cond", ge.linalg.cond, TL.cond, _well_conditioned((3, 3), (2, 2, 2)),
        second_order=False),
    Row("matrix_exp", ge.linalg.matrix_exp, TL.matrix_exp, _s(((3, 3),), ((2, 2, 2),))),
    Row("multi_dot", lambda a, b, c: ge.linalg.multi_dot([a, b, c]),
        lambda a, b, c: TL.multi_dot([a, b, c]), _s(((3,), (3, 4), (4, 2)), ((2, 3), (3, 3),
                                                                               (3,)))),
    Row("vecdot", ge.linalg.vecdot, TL.vecdot, _s(((3, 4), (3, 4)), ((5,), (2, 5)))),
    Row("vander", lambda a: ge.linalg.vander(a, N=4), lambda a: TL.vander(a, N=4),
        _s(((3,),), ((2, 3),))),
    Row("linalg.cross", ge.linalg.cross, TL.cross, _s(((3,), (3,)), ((2, 3), (2, 3)))),
]
IDS = [r.name for r in ROWS]


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradcheck(row, device, rng):
    optable.check_gradcheck(row, device, rng)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_gradgradcheck(row, device, rng):
    if not row.second_order:
        pytest.skip(f"{row.name}: once differentiable")
    optable.check_gradgradcheck(row, device, rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_matches_torch(row, dtype, device, rng):
    optable.check_torch(row, device, rng, dtype)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_jit_replay_equals_eager_bit_for_bit(row, rng):
    optable.check_jit(row, rng)


# ops without a gradient: (name, gradengine fn, torch fn, samples)
_SORTED = np.sort(np.random.default_rng(3).standard_normal(6))
NONDIFF = [
    ("searchsorted", lambda v: ge.searchsorted(ge.tensor(_SORTED, device=v.device), v),
     lambda v: torch.searchsorted(torch.tensor(_SORTED), v)),
    ("searchsorted[right,n-d]",
     lambda v: ge.searchsorted(ge.tensor(np.sort(np.abs(_SORTED))[None].repeat(3, 0),
                                         device=v.device), v[:3], right=True),
     lambda v: torch.searchsorted(torch.tensor(np.sort(np.abs(_SORTED))[None].repeat(3, 0)),
                                  v[:3].contiguous(), right=True)),
    ("bucketize", lambda v: ge.bucketize(v, ge.tensor(_SORTED, device=v.device)),
     lambda v: torch.bucketize(v, torch.tensor(_SORTED))),
    ("heaviside", lambda v: ge.heaviside(ge.round(v), ge.tensor([0.5], device=v.device)),
     lambda v: torch.heaviside(torch.round(v), torch.tensor([0.5], dtype=v.dtype))),
    ("count_nonzero", lambda v: ge.count_nonzero(ge.round(v), dim=0),
     lambda v: torch.count_nonzero(torch.round(v), dim=0)),
    ("mode[indices]", lambda v: ge.mode(ge.round(v), 1).indices,
     lambda v: torch.mode(torch.round(v), 1).indices),
    ("det_sign", lambda v: ge.linalg.slogdet(v[:4, :4]).sign,
     lambda v: TL.slogdet(v[:4, :4]).sign),
]


@pytest.mark.parametrize("name,fn,tfn", NONDIFF, ids=[r[0] for r in NONDIFF])
def test_ops_without_gradient_match_torch(name, fn, tfn, device, rng):
    v = rng.standard_normal((5, 7)) * 2
    out = fn(ge.tensor(v, device=device))
    want = tfn(torch.tensor(v))
    assert not out.requires_grad and out.shape == tuple(want.shape)
    assert out.dtype.name == str(want.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(out.numpy(), want.numpy())


def test_every_dropin_op_has_a_row():
    # multinomial draws: its distribution is checked in tests/test_torch_dropin.py
    names = {r[0].split("[")[0] for r in NONDIFF} | {"multinomial"}
    missing = optable.op_names(extras, decomp) - optable.covered(ROWS, names)
    assert not missing, f"drop-in ops without a row: {sorted(missing)}"


def test_linalg_rank_status_forms_and_errors_as_torch():
    v = np.random.default_rng(0).standard_normal(4)
    for a in (np.outer(v, v), np.eye(3), np.zeros((2, 3))):
        assert ge.linalg.matrix_rank(ge.tensor(a)).item() == TL.matrix_rank(
            torch.tensor(a)).item()
    sing = np.zeros((2, 2))
    for ours, theirs in ((ge.linalg.inv_ex(ge.tensor(sing)), TL.inv_ex(torch.tensor(sing))),
                         (ge.linalg.cholesky_ex(ge.tensor(-np.eye(2))),
                          TL.cholesky_ex(torch.tensor(-np.eye(2))))):
        assert (ours.info.item() > 0) == (theirs.info.item() > 0)
    ok = ge.linalg.solve_ex(ge.tensor(np.eye(2) * 2), ge.tensor(np.ones((2, 1))))
    assert ok.info.item() == 0 and ok.result.numpy().tolist() == [[0.5], [0.5]]
    for call in (lambda: ge.linalg.inv(ge.tensor(sing)),
                 lambda: ge.linalg.inv_ex(ge.tensor(sing), check_errors=True)):
        with pytest.raises(ge.linalg.LinAlgError, match="inv") as e:
            call()
        assert isinstance(e.value, RuntimeError)
    with pytest.raises(ge.ShapeError, match="multi_dot"):
        ge.linalg.multi_dot([ge.ones(2), ge.ones(2), ge.ones(2)])
    with pytest.raises(ge.ShapeError, match="square"):
        ge.linalg.matrix_exp(ge.ones(2, 3))
