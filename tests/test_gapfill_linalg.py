"""ge.linalg's LU, LDL^T and Householder factorizations, tensorinv and tensorsolve, against
torch.linalg (values, pivots, dtypes, namedtuple fields, errors) and float64 finite
differences (gradients of the differentiable ones)."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine.ops import factorizations

torch = pytest.importorskip("torch")
import optable  # noqa: E402


def _t(a):
    return torch.tensor(a)


def _close(ours, theirs, tol=1e-10):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), atol=tol, rtol=tol)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (3, 5), (5, 3), (2, 4, 2)])
def test_lu_factor_and_lu_match_torch(shape, rng):
    a = rng.standard_normal(shape)
    ours, theirs = ge.linalg.lu_factor(ge.tensor(a)), torch.linalg.lu_factor(_t(a))
    assert type(ours).__name__ == "linalg_lu_factor" and ours._fields == ("LU", "pivots")
    _close(ours.LU, theirs.LU)
    assert ours.pivots.dtype == np.int32
    np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
    ex, tex = ge.linalg.lu_factor_ex(ge.tensor(a)), torch.linalg.lu_factor_ex(_t(a))
    assert ex._fields == ("LU", "pivots", "info") and ex.info.dtype == np.int32
    assert ex.info.shape == tuple(tex.info.shape)
    np.testing.assert_array_equal(ex.info.numpy(), tex.info.numpy())
    p, low, up = ge.linalg.lu(ge.tensor(a))
    tp, tl, tu = torch.linalg.lu(_t(a))
    assert type(ge.linalg.lu(ge.tensor(a))).__name__ == "linalg_lu"
    for o, t in ((p, tp), (low, tl), (up, tu)):
        _close(o, t)


def test_lu_factor_of_a_singular_matrix(rng):
    z = np.zeros((3, 3))
    ex, tex = ge.linalg.lu_factor_ex(ge.tensor(z)), torch.linalg.lu_factor_ex(_t(z))
    assert int(ex.info.item()) == int(tex.info.item()) == 1
    np.testing.assert_array_equal(ex.pivots.numpy(), tex.pivots.numpy())
    _close(ex.LU, tex.LU)
    s = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # rank 2
    ex, tex = ge.linalg.lu_factor_ex(ge.tensor(s)), torch.linalg.lu_factor_ex(_t(s))
    _close(ex.LU, tex.LU)
    np.testing.assert_array_equal(ex.info.numpy(), tex.info.numpy())
    with pytest.raises(RuntimeError):
        torch.linalg.lu_factor(_t(z))
    with pytest.raises(ge.linalg.LinAlgError, match="U\\[1,1\\] is zero"):
        ge.linalg.lu_factor(ge.tensor(z))
    with pytest.raises(ge.linalg.LinAlgError, match="U\\[1,1\\] is zero"):
        ge.linalg.lu_factor(ge.tensor(np.zeros((2, 3))))
    batch = np.stack([np.eye(3), z])
    with pytest.raises(RuntimeError, match="Batch element 1"):
        torch.linalg.lu_factor(_t(batch))
    with pytest.raises(ge.linalg.LinAlgError, match="Batch element 1"):
        ge.linalg.lu_factor(ge.tensor(batch))
    with pytest.raises(RuntimeError, match="check_errors|singular"):
        ge.linalg.lu_factor_ex(ge.tensor(z), check_errors=True)
    with pytest.raises(RuntimeError, match="without pivoting"):
        ge.linalg.lu_factor(ge.tensor(rng.standard_normal((3, 3))), pivot=False)


def test_lu_gradients_match_torch_and_finite_differences(rng):
    a = rng.standard_normal((2, 4, 3))
    ga, ta = ge.tensor(a, requires_grad=True), _t(a).requires_grad_()
    p, low, up = ge.linalg.lu(ga)
    tp, tl, tu = torch.linalg.lu(ta)
    wl, wu = rng.standard_normal(low.shape), rng.standard_normal(up.shape)
    ((low * ge.tensor(wl)).sum() + (up * ge.tensor(wu)).sum()).backward()
    ((tl * _t(wl)).sum() + (tu * _t(wu)).sum()).backward()
    _close(ga.grad, ta.grad, 1e-9)
    sq = ge.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    assert ge.gradcheck(lambda x: ge.linalg.lu_factor(x).LU, (sq,))
    assert ge.gradgradcheck(lambda x: ge.linalg.lu_factor(x).LU, (sq,))


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_matches_torch_with_gradients(left, adjoint, rng):
    a = rng.standard_normal((2, 3, 3)) + 2 * np.eye(3)
    b = rng.standard_normal((2, 3, 2) if left else (2, 2, 3))
    lu_t, piv_t = torch.linalg.lu_factor(_t(a))
    lu_g = ge.tensor(lu_t.numpy(), requires_grad=True)
    piv_g = ge.tensor(piv_t.numpy())
    bg = ge.tensor(b, requires_grad=True)
    lt, bt = lu_t.clone().requires_grad_(), _t(b).requires_grad_()
    ours = ge.linalg.lu_solve(lu_g, piv_g, bg, left=left, adjoint=adjoint)
    theirs = torch.linalg.lu_solve(lt, piv_t, bt, left=left, adjoint=adjoint)
    _close(ours, theirs, 1e-9)
    w = rng.standard_normal(ours.shape)
    (ours * ge.tensor(w)).sum().backward()
    (theirs * _t(w)).sum().backward()
    _close(bg.grad, bt.grad, 1e-9)
    _close(lu_g.grad, lt.grad, 1e-9)
    assert ge.gradcheck(lambda x, y: ge.linalg.lu_solve(x, piv_g, y, left=left,
                                                        adjoint=adjoint),
                        (ge.tensor(lu_t.numpy(), requires_grad=True),
                         ge.tensor(b, requires_grad=True)))


def test_lu_solve_broadcasts_batches_and_checks_shapes(rng):
    a = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    b = rng.standard_normal((4, 3, 2))
    lu_t, piv_t = torch.linalg.lu_factor(_t(a))
    got = ge.linalg.lu_solve(ge.tensor(lu_t.numpy()), ge.tensor(piv_t.numpy()), ge.tensor(b))
    _close(got, torch.linalg.lu_solve(lu_t, piv_t, _t(b)))
    with pytest.raises(ge.ShapeError, match="lu_solve"):
        ge.linalg.lu_solve(ge.tensor(lu_t.numpy()), ge.tensor(piv_t.numpy()),
                           ge.tensor(rng.standard_normal((4, 2))))


def test_tensorinv_and_tensorsolve_match_torch(rng):
    a = rng.standard_normal((4, 6, 8, 3))
    _close(ge.linalg.tensorinv(ge.tensor(a), ind=2), torch.linalg.tensorinv(_t(a), ind=2))
    a1 = rng.standard_normal((6, 2, 3))
    _close(ge.linalg.tensorinv(ge.tensor(a1), ind=1), torch.linalg.tensorinv(_t(a1), ind=1))
    with pytest.raises(ge.ShapeError, match="prod"):
        ge.linalg.tensorinv(ge.tensor(rng.standard_normal((2, 3, 4))), ind=1)
    with pytest.raises(ValueError, match="ind"):
        ge.linalg.tensorinv(ge.tensor(a), ind=0)
    x = ge.tensor(rng.standard_normal((2, 3, 6)), requires_grad=True)
    assert ge.gradcheck(lambda t: ge.linalg.tensorinv(t, ind=2), (x,))

    a2, b2 = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3))
    _close(ge.linalg.tensorsolve(ge.tensor(a2), ge.tensor(b2)),
           torch.linalg.tensorsolve(_t(a2), _t(b2)))
    a3, b3 = rng.standard_normal((6, 4, 4, 3, 2)), rng.standard_normal((4, 3, 2))
    _close(ge.linalg.tensorsolve(ge.tensor(a3), ge.tensor(b3), dims=(0, 2)),
           torch.linalg.tensorsolve(_t(a3), _t(b3), dims=(0, 2)), 1e-8)
    assert ge.gradcheck(ge.linalg.tensorsolve, (ge.tensor(a2, requires_grad=True),
                                                ge.tensor(b2, requires_grad=True)))
    with pytest.raises(ge.ShapeError, match="tensorsolve"):
        ge.linalg.tensorsolve(ge.tensor(a2), ge.tensor(rng.standard_normal((3, 2))))


@pytest.mark.parametrize("shape,k", [((4, 4), 4), ((5, 3), 2), ((2, 4, 3), 3)])
def test_householder_product_matches_torch_with_gradients(shape, k, rng):
    a, tau = rng.standard_normal(shape), rng.standard_normal(shape[:-2] + (k,))
    ga, gt = ge.tensor(a, requires_grad=True), ge.tensor(tau, requires_grad=True)
    ta, tt = _t(a).requires_grad_(), _t(tau).requires_grad_()
    ours, theirs = ge.linalg.householder_product(ga, gt), torch.linalg.householder_product(ta, tt)
    _close(ours, theirs)
    w = rng.standard_normal(ours.shape)
    (ours * ge.tensor(w)).sum().backward()
    (theirs * _t(w)).sum().backward()
    _close(ga.grad, ta.grad, 1e-9)
    _close(gt.grad, tt.grad, 1e-9)
    assert ge.gradcheck(ge.linalg.householder_product,
                        (ge.tensor(a, requires_grad=True), ge.tensor(tau, requires_grad=True)))


def test_householder_product_of_geqrf_is_q(rng):
    a = rng.standard_normal((5, 3))
    h, tau = torch.geqrf(_t(a))
    q = ge.linalg.householder_product(ge.tensor(h.numpy()), ge.tensor(tau.numpy()))
    _close(q, torch.linalg.qr(_t(a)).Q)
    with pytest.raises(ge.ShapeError, match="greater than or equal"):
        ge.linalg.householder_product(ge.tensor(rng.standard_normal((3, 4))),
                                      ge.tensor(rng.standard_normal(2)))


def _symmetric_indefinite(rng, n, batch=()):
    s = rng.standard_normal(batch + (n, n))
    s = s + np.swapaxes(s, -1, -2)
    return s - 2.5 * np.eye(n) * (np.arange(n) % 2)  # small, mixed diagonals: 2x2 pivots


@pytest.mark.parametrize("n,batch", [(1, ()), (3, ()), (5, ()), (6, (2,)), (4, (2, 2))])
def test_ldl_factor_matches_lapack_through_torch(n, batch, rng):
    for trial in range(3):
        s = _symmetric_indefinite(rng, n, batch)
        if trial == 2:
            s = s * (1 - np.eye(n)) + 1e-3 * np.eye(n)  # forces 2x2 blocks
        ours, theirs = ge.linalg.ldl_factor_ex(ge.tensor(s)), torch.linalg.ldl_factor_ex(_t(s))
        assert ours._fields == ("LD", "pivots", "info")
        assert ours.pivots.dtype == np.int32 and ours.info.dtype == np.int32
        np.testing.assert_array_equal(ours.pivots.numpy(), theirs.pivots.numpy())
        _close(ours.LD, theirs.LD, 1e-9)
        np.testing.assert_array_equal(ours.info.numpy(), theirs.info.numpy())
        ld, piv = ge.linalg.ldl_factor(ge.tensor(s))
        b = rng.standard_normal(batch + (n, 2))
        got = ge.linalg.ldl_solve(ld, piv, ge.tensor(b))
        _close(got, torch.linalg.ldl_solve(theirs.LD, theirs.pivots, _t(b)), 1e-8)
        np.testing.assert_allclose(s @ got.numpy(), b, atol=1e-8)


def test_ldl_reads_the_lower_triangle_and_reports_singular_d(rng):
    s = _symmetric_indefinite(rng, 4)
    junk = s + np.triu(rng.standard_normal((4, 4)), 1)
    _close(ge.linalg.ldl_factor(ge.tensor(junk)).LD, torch.linalg.ldl_factor(_t(s)).LD, 1e-9)
    z = np.zeros((3, 3))
    ex, tex = ge.linalg.ldl_factor_ex(ge.tensor(z)), torch.linalg.ldl_factor_ex(_t(z))
    assert int(ex.info.item()) == int(tex.info.item()) == 1
    with pytest.raises(ge.linalg.LinAlgError, match="singular"):
        ge.linalg.ldl_factor(ge.tensor(z))
    with pytest.raises(ge.DTypeError, match="int32"):
        ge.linalg.ldl_solve(ex.LD, ex.pivots.astype("int64"), ge.tensor(np.ones((3, 1))))
    out = ge.linalg.ldl_factor(ge.tensor(s, requires_grad=True)).LD
    assert not out.requires_grad  # no derivative in torch either


def test_every_op_of_the_family_has_a_row():
    tested = {"lu_pivots", "lu_permutation", "ldl_factor_arrays", "ldl_solve_arrays"}
    assert optable.op_names(factorizations) <= tested


def test_the_factorizations_run_on_each_device_and_keep_float32(device, rng):
    a = rng.standard_normal((2, 4, 4)).astype(np.float32) + 2 * np.eye(4, dtype=np.float32)
    s = (a + np.swapaxes(a, -1, -2)) * np.float32(0.5) - 3 * np.eye(4, dtype=np.float32)
    b = rng.standard_normal((2, 4, 3)).astype(np.float32)
    ga, gs, gb = (ge.tensor(x, device=device) for x in (a, s, b))
    lu_, piv = ge.linalg.lu_factor(ga)
    x = ge.linalg.lu_solve(lu_, piv, gb)
    ld, lpiv = ge.linalg.ldl_factor(gs)
    y = ge.linalg.ldl_solve(ld, lpiv, gb)
    q = ge.linalg.householder_product(ga, ge.tensor(b[:, 0, :], device=device))
    for t in (lu_, x, ld, y, q):
        assert t.dtype == np.float32 and t.device == ge.tensor(a, device=device).device
    assert piv.dtype == lpiv.dtype == np.int32
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), atol=1e-4)
    np.testing.assert_allclose(y.numpy(), np.linalg.solve(s, b), atol=1e-4)
    _close(ld, torch.linalg.ldl_factor(_t(s)).LD, 1e-5)


def test_second_order_gradients_of_the_composites(rng):
    a = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    lu_t, piv_t = torch.linalg.lu_factor(_t(a))
    piv = ge.tensor(piv_t.numpy())
    assert ge.gradgradcheck(lambda x, y: ge.linalg.lu_solve(x, piv, y, adjoint=True),
                            (ge.tensor(lu_t.numpy(), requires_grad=True),
                             ge.tensor(rng.standard_normal((3, 2)), requires_grad=True)))
    assert ge.gradgradcheck(ge.linalg.householder_product,
                            (ge.tensor(rng.standard_normal((4, 3)), requires_grad=True),
                             ge.tensor(rng.standard_normal(2), requires_grad=True)))
