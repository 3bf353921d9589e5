"""Op family: matrix functions of ``ge.linalg`` -- inverse, determinant, log-determinant,
solve, Cholesky, singular values -- on the last two axes (batched). Each VJP is written
with differentiable ops (the inverse and solve VJPs call the ops themselves), so the
gradients of every order come out; ``svdvals`` is once differentiable."""

from __future__ import annotations

from ..core.op import apply, op
from ..errors import GraphError, ShapeError
from .composite import diag_embed, diagonal, vector_norm2  # noqa: F401 - public here too
from .linalg import matmul
from .manipulation import tril
from .shape import matrix_transpose as _mT  # noqa: N812
from .shape import reshape


def _square(a, name):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{name}: expects square matrices (..., n, n), got shape "
                         f"{tuple(a.shape)}")


def _mat(g):
    """A batch of scalars (...) as (..., 1, 1), to scale matrices."""
    return reshape(g, tuple(g.shape) + (1, 1))


@op(name="inv", save=("out",))
def inv_op(xp, a):
    """A^-1."""
    return xp.linalg.inv(a)


inv_op.defvjp(lambda g, out: -matmul(matmul(_mT(out), g), _mT(out)))


def _prod_except(xp, s, axis):
    """prod_{k != i} s_k along ``axis``, by prefix and suffix products (no division, so
    exact where some s_k are zero)."""
    s = xp.moveaxis(s, axis, -1)
    one = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    left = xp.concatenate([one, xp.cumprod(s[..., :-1], axis=-1)], axis=-1)
    right = xp.cumprod(s[..., :0:-1], axis=-1)[..., ::-1]
    right = xp.concatenate([right, one], axis=-1)
    return xp.moveaxis(left * right, -1, axis)


def _svd_signed(xp, a):
    u, s, vh = xp.linalg.svd(a)
    return u, s, vh, xp.linalg.det(u) * xp.linalg.det(vh)


@op(name="cofactor", save=("a",))
def cofactor_op(xp, a):
    """cof(A) = det(A) A^-T = sign U diag(prod_{j!=i} s_j) V^T (A = U S V^T, sign =
    det(U) det(V^T)): the derivative of det, exact where A is singular."""
    if a.size == 0:
        return xp.zeros_like(a)
    u, s, vh, sign = _svd_signed(xp, a)
    c = _prod_except(xp, s, -1) * sign[..., None]
    return xp.matmul(u * c[..., None, :], vh).astype(a.dtype, copy=False)


@op(name="cofactor_backward", save=("a",))
def cofactor_backward(xp, a, g):
    """The VJP of cof at A (the Hessian of det applied to G): with G~ = U^T G V and
    P_ij = prod_{k != i, j} s_k (P_ii = 0), sign U (diag(P diag G~) - P * G~^T) V^T."""
    n = a.shape[-1]
    if a.size == 0 or n < 2:
        return xp.zeros_like(a)
    u, s, vh, sign = _svd_signed(xp, a)
    eye = xp.eye(n, dtype=bool)
    # s_k for every (i, j, k), with s_i and s_j replaced by 1
    rep = xp.broadcast_to(s[..., None, None, :], s.shape[:-1] + (n, n, n))
    drop = eye[:, None, :] | eye[None, :, :]
    p = xp.where(drop, 1, rep).prod(axis=-1) * ~eye
    gt = xp.matmul(xp.matmul(xp.swapaxes(u, -1, -2), g), xp.swapaxes(vh, -1, -2))
    dg = xp.diagonal(gt, axis1=-2, axis2=-1)
    bar = xp.matmul(p, dg[..., None]) * eye - p * xp.swapaxes(gt, -1, -2)
    return (xp.matmul(xp.matmul(u, bar), vh) * sign[..., None, None]).astype(a.dtype,
                                                                             copy=False)


def _no_third_order(g, a):
    raise GraphError("det: gradients of third and higher order are not supported (the "
                     "second-order rule, cofactor_backward, is differentiable once)")


cofactor_op.defvjp(lambda g, a: apply(cofactor_backward, a, g))
cofactor_backward.defvjp(_no_third_order, _no_third_order)


@op(name="det", save=("a",))
def det_op(xp, a):
    """det(A); d det / dA = cof(A) = det(A) A^-T, by the SVD where A is singular."""
    return xp.asarray(xp.linalg.det(a))


det_op.defvjp(lambda g, a: _mat(g) * apply(cofactor_op, a))


@op(name="logabsdet", save=("a",))
def logabsdet_op(xp, a):
    """log |det(A)|; its gradient is A^-T = cof(A) / det(A) (+-inf where A is singular,
    as torch)."""
    return xp.asarray(xp.linalg.slogdet(a)[1])


logabsdet_op.defvjp(lambda g, a: _mat(g / apply(det_op, a)) * apply(cofactor_op, a))


@op(name="det_sign", differentiable=False)
def det_sign(xp, a):
    """The sign of det(A) (no gradient)."""
    return xp.asarray(xp.linalg.slogdet(a)[0])


@op(name="solve", save=("a", "out"))
def solve_op(xp, a, b):
    """X with A X = B (B of shape (..., n, k))."""
    return xp.linalg.solve(a, b)


@solve_op.vjp
def _solve_vjp(g, a, out):
    gb = solve(_mT(a), g)
    return -matmul(gb, _mT(out)), gb


@op(name="cholesky", save=("out",))
def cholesky_op(xp, a):
    """The lower-triangular L with L L^T = A (A symmetric positive definite)."""
    return xp.linalg.cholesky(a)


@cholesky_op.vjp
def _cholesky_vjp(g, out):
    # Murray (2016): A_bar = L^-T Phi(L^T L_bar) L^-1, symmetrised (A is symmetric)
    m = matmul(_mT(out), tril(g))
    phi = tril(m) - 0.5 * diag_embed(diagonal(m, 0, -2, -1))
    linv = inv(out)
    s = matmul(matmul(_mT(linv), phi), linv)
    return ((s + _mT(s)) * 0.5,)


@op(name="svdvals", extras=("u", "vh"))
def svdvals_op(xp, a):
    """The singular values of A, descending (its VJP U diag(g) V^T keeps U and V)."""
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    return s, u, vh


svdvals_op.defvjp(lambda g, u, vh: matmul(u * reshape(g, g.shape[:-1] + (1, g.shape[-1])),
                                          vh))


def inv(a):
    """The inverse of each square matrix of ``a`` (..., n, n).

    Raises:
        ShapeError: ``a`` is not a batch of square matrices.
    """
    _square(a, "inv")
    return apply(inv_op, a)


def det(a):
    """The determinant of each square matrix of ``a``."""
    _square(a, "det")
    return apply(det_op, a)


def slogdet(a):
    """``(sign, logabsdet)`` of each square matrix of ``a``; the gradient through
    ``logabsdet``."""
    _square(a, "slogdet")
    return apply(det_sign, a), apply(logabsdet_op, a)


def solve(a, b):
    """X with ``a @ X = b``; ``b`` is (..., n, k), or (..., n) as a batch of vectors.

    Raises:
        ShapeError: ``a`` not square, or ``b``'s rows not ``a``'s size.
    """
    _square(a, "solve")
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    rows = b.shape[-1] if vector else (b.shape[-2] if b.ndim >= 2 else None)
    if rows != a.shape[-1]:
        raise ShapeError(f"solve: a of shape {tuple(a.shape)} and b of shape "
                         f"{tuple(b.shape)} do not match: b needs {a.shape[-1]} rows")
    if vector:
        x = apply(solve_op, a, reshape(b, tuple(b.shape) + (1,)))
        return reshape(x, tuple(x.shape[:-1]))
    return apply(solve_op, a, b)


def cholesky(a, upper=False):
    """The Cholesky factor (lower, or upper when ``upper``) of each symmetric positive
    definite matrix of ``a``."""
    _square(a, "cholesky")
    low = apply(cholesky_op, a)
    return _mT(low) if upper else low


def svdvals(a):
    """The singular values of each matrix of ``a`` (..., min(m, n)), descending."""
    if a.ndim < 2:
        raise ShapeError(f"svdvals: expects matrices (..., m, n), got shape {tuple(a.shape)}")
    return apply(svdvals_op, a)
