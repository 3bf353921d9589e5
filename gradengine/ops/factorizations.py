"""Op family: the LU, LDL^T and Householder factorizations of ``torch.linalg`` and their
solves (``lu_factor``, ``lu_factor_ex``, ``lu``, ``lu_solve``, ``ldl_factor``,
``ldl_factor_ex``, ``ldl_solve``, ``householder_product``, ``tensorinv``,
``tensorsolve``), and the packed-LU pieces ``torch.lu`` / ``torch.lu_unpack`` share.

The pivots are ops without a gradient (LAPACK's getrf and sytrf choices, 1-based int32);
the LU factors are recomputed from the pivoted rows by Gaussian elimination in Tensor ops,
so their gradients (any order) are those of torch, whose rule also holds the pivots fixed.
The LDL^T factorization and its solve have no gradient, as in torch. See
docs/from-pytorch.md.
"""

from __future__ import annotations

import math as _math
from collections import namedtuple

import numpy as np

from ..core.op import apply, op
from ..errors import ArgumentError, DTypeError, LinAlgError, ShapeError
from .creation import arange, eye, zeros
from .decomp import inv, solve
from .elementwise import cast, where
from .linalg import matmul
from .manipulation import gather, tril, triu
from .shape import broadcast_to, concatenate, matrix_transpose, reshape, unsqueeze

_LuUnpack = namedtuple("lu_unpack", ["P", "L", "U"])
_LuFactor = namedtuple("linalg_lu_factor", ["LU", "pivots"])
_LuFactorEx = namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])
_Lu = namedtuple("linalg_lu", ["P", "L", "U"])
_LdlFactor = namedtuple("linalg_ldl_factor", ["LD", "pivots"])
_LdlFactorEx = namedtuple("linalg_ldl_factor_ex", ["LD", "pivots", "info"])


@op(name="lu_pivots", differentiable=False)
def lu_pivots_op(xp, a):
    """LAPACK's getrf pivots (1-based, int32) of partial-pivoting LU and its info (the
    first zero pivot, 1-based, or 0)."""
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    lu = a.reshape((-1, m, n)).copy()
    nb = lu.shape[0]
    b = xp.arange(nb)
    piv = xp.zeros((nb, k), dtype=np.int32)
    info = xp.zeros(nb, dtype=np.int32)
    for j in range(k):
        p = xp.argmax(xp.abs(lu[:, j:, j]), axis=1) + j if nb else xp.zeros(0, np.int64)
        piv[:, j] = p + 1
        rj, rp = lu[b, j].copy(), lu[b, p].copy()
        lu[b, j], lu[b, p] = rp, rj
        d = lu[:, j, j]
        info = xp.where((info == 0) & (d == 0), j + 1, info).astype(np.int32)
        safe = xp.where(d == 0, 1, d)
        lu[:, j + 1:, j] = xp.where((d == 0)[:, None], lu[:, j + 1:, j],
                                    lu[:, j + 1:, j] / safe[:, None])
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return piv.reshape(batch + (k,)), info.reshape(batch)


@op(name="lu_permutation", params=("m",), differentiable=False)
def lu_permutation(xp, piv, m):
    """The row order perm (int64, (..., m)) of the pivots' swaps: (P^T A)[i] = A[perm[i]]."""
    k = piv.shape[-1]
    p = piv.reshape((-1, k)).astype(np.int64) - 1
    nb = p.shape[0]
    perm = xp.broadcast_to(xp.arange(m), (nb, m)).copy()
    b = xp.arange(nb)
    for j in range(k):
        a, c = perm[b, j].copy(), perm[b, p[:, j]].copy()
        perm[b, j], perm[b, p[:, j]] = c, a
    return perm.reshape(piv.shape[:-1] + (m,))


def _eliminate(m_, singular=False):
    """The packed LU of m_ without pivoting (Gaussian elimination in Tensor ops, so the
    factors are differentiable); ``singular``: some pivot is zero, whose column (all
    zeros below it, the pivot being its largest) stays as it is, as LAPACK's getrf."""
    rows, cols = m_.shape[-2:]
    for j in range(min(rows, cols)):
        top = m_[..., :j + 1, :]
        d = m_[..., j:j + 1, j:j + 1]
        if singular:
            d = where(d == 0, 1.0, d)
        col = m_[..., j + 1:, j:j + 1] / d
        rest = m_[..., j + 1:, j + 1:] - col * m_[..., j:j + 1, j + 1:]
        low = concatenate([m_[..., j + 1:, :j], col, rest], -1)
        m_ = concatenate([top, low], -2)
    return m_


def _lu_factor(a, name):
    if a.ndim < 2:
        raise ShapeError(f"{name}: expects matrices (..., m, n), got shape {a.shape}")
    if a.dtype.kind != "f":
        raise DTypeError(f"{name}: expects a floating tensor, got {a.dtype.name}")
    piv, info = apply(lu_pivots_op, a)
    m = a.shape[-2]
    perm = apply(lu_permutation, piv, params=(m,))
    rows = gather(a, -2, broadcast_to(unsqueeze(perm, -1), a.shape)) if a.numel() else a
    return _eliminate(rows, bool((info.data != 0).any())), piv, info


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):  # noqa: N803
    """(P, L, U) with A = P L U from torch.lu's packed factors; L (m, k) unit lower, U
    (k, n) upper; an empty tensor for a part not unpacked, as torch."""
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = zeros(0, dtype=LU_data.dtype, device=LU_data.device)
    p = empty
    if unpack_pivots:
        perm = apply(lu_permutation, LU_pivots, params=(m,))
        rows = reshape(arange(m, device=LU_data.device), (m, 1))
        p = cast(rows == unsqueeze(perm, -2), LU_data.dtype)
    if not unpack_data:
        return _LuUnpack(p, empty, empty)
    low = tril(LU_data[..., :, :k], -1) + eye(m, k, dtype=LU_data.dtype, device=LU_data.device)
    up = triu(LU_data[..., :k, :])
    return _LuUnpack(p, low, up)


# ---------------------------------------------------------------- torch.linalg's LU

def _no_out(name, out):
    if out is not None:
        raise ArgumentError(f"{name}: out= is not supported by gradengine; use the result")


def _check_pivot(name, pivot):
    if not pivot:
        raise ArgumentError(f"{name}: LU without pivoting is not implemented on the CPU")


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):  # noqa: N803
    """``(LU, pivots, info)``: the packed factors of A = P L U (batched, rectangular too),
    LAPACK's 1-based int32 pivots and info (0, or the first zero pivot of U, 1-based);
    differentiable in LU.

    Raises:
        ArgumentError: ``pivot=False``. LinAlgError: ``check_errors`` and a zero pivot.
    """
    _no_out("linalg.lu_factor_ex", out)
    _check_pivot("linalg.lu_factor_ex", pivot)
    packed, piv, info = _lu_factor(A, "linalg.lu_factor_ex")
    if check_errors and bool((info.data != 0).any()):
        raise LinAlgError(f"linalg.lu_factor_ex: U[{int(info.data.max())},"
                          f"{int(info.data.max())}] is zero (singular input of shape "
                          f"{A.shape})")
    return _LuFactorEx(packed, piv, info)


def lu_factor(A, *, pivot=True, out=None):  # noqa: N803
    """``(LU, pivots)`` as :func:`lu_factor_ex`; a singular (square) matrix raises.

    Raises:
        LinAlgError: a zero pivot of U, naming it, as torch.
    Example:
        >>> LU, pivots = ge.linalg.lu_factor(A); X = ge.linalg.lu_solve(LU, pivots, B)
    """
    _no_out("linalg.lu_factor", out)
    _check_pivot("linalg.lu_factor", pivot)
    packed, piv, info = _lu_factor(A, "linalg.lu_factor")
    flat = info.numpy().reshape(-1)
    bad = np.flatnonzero(flat)
    if bad.size:
        k = int(flat[bad[0]])
        where_ = f"(Batch element {bad[0]}): " if info.ndim else ""
        raise LinAlgError(f"linalg.lu_factor: {where_}U[{k},{k}] is zero and using it on "
                          f"lu_solve would result in a division by zero (input of shape "
                          f"{A.shape}); linalg.lu or linalg.lu_factor_ex still factor it")
    return _LuFactor(packed, piv)


def lu(A, *, pivot=True, out=None):  # noqa: N803
    """``torch.linalg.lu``: ``(P, L, U)`` with A = P L U, L (m, k) unit lower, U (k, n)
    upper; differentiable in L and U."""
    _no_out("linalg.lu", out)
    _check_pivot("linalg.lu", pivot)
    packed, piv, _ = _lu_factor(A, "linalg.lu")
    return _Lu(*lu_unpack(packed, piv))


def _tri_solve(t, b, upper, unit=False):
    """X with T X = B, T the (unit) upper or lower triangle of ``t``; differentiable."""
    t = triu(t) if upper else tril(t)
    if unit:
        n = t.shape[-1]
        e = eye(n, dtype=t.dtype, device=t.device)
        t = (triu(t, 1) if upper else tril(t, -1)) + e
    return solve(t, b)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):  # noqa: N803
    """``torch.linalg.lu_solve``: X with A X = B (``left``) or X A = B, or with A^H in
    place of A (``adjoint``), from :func:`lu_factor`'s factors of the square A; batches
    broadcast; differentiable in LU and B.

    Raises:
        ShapeError: LU not square, or B's rows (columns when ``left=False``) not A's size.
    """
    _no_out("linalg.lu_solve", out)
    name = "linalg.lu_solve"
    if LU.ndim < 2 or LU.shape[-1] != LU.shape[-2]:
        raise ShapeError(f"{name}: LU must be batches of square matrices, got shape "
                         f"{LU.shape}")
    if B.ndim < 2:
        raise ShapeError(f"{name}: B must have at least 2 dimensions, got shape {B.shape}")
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        side = "rows" if left else "columns"
        raise ShapeError(f"{name}: B of shape {B.shape} must have {n} {side} (LU of shape "
                         f"{LU.shape}, left={left})")
    if pivots.shape != LU.shape[:-1]:
        raise ShapeError(f"{name}: pivots of shape {pivots.shape} must be LU's shape "
                         f"without its last dimension, {LU.shape[:-1]}")
    p = lu_unpack(LU, pivots, unpack_data=False).P
    if not left:  # X A = B  <=>  A^T X^T = B^T (and X A^T = B <=> A X^T = B^T)
        return matrix_transpose(lu_solve(LU, pivots, matrix_transpose(B), adjoint=not adjoint))
    if not adjoint:  # A = P L U: X = U^-1 L^-1 P^T B
        y = _tri_solve(LU, matmul(matrix_transpose(p), B), upper=False, unit=True)
        return _tri_solve(LU, y, upper=True)
    # A^T = U^T L^T P^T: X = P L^-T U^-T B
    lut = matrix_transpose(LU)
    y = _tri_solve(lut, B, upper=False)
    y = _tri_solve(lut, y, upper=True, unit=True)
    return matmul(p, y)


# ---------------------------------------------------------------- tensorinv, tensorsolve

def _prod(shape):
    return int(np.prod(shape, dtype=np.int64)) if len(shape) else 1


def tensorinv(A, ind=2, *, out=None):  # noqa: N803
    """The tensor X with ``tensordot(X, A, ind) = I``: A reshaped to a square matrix
    prod(shape[:ind]) x prod(shape[ind:]), inverted, shaped shape[ind:] + shape[:ind];
    differentiable.

    Raises:
        ArgumentError: ``ind`` not positive. ShapeError: the two products differ.
    """
    _no_out("linalg.tensorinv", out)
    if ind <= 0:
        raise ArgumentError(f"linalg.tensorinv: Expected a strictly positive integer for "
                            f"'ind', but got {ind}")
    lead, rest = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if _prod(lead) != _prod(rest):
        raise ShapeError(f"linalg.tensorinv: Expected self to satisfy the requirement "
                         f"prod(self.shape[ind:]) == prod(self.shape[:ind]), but got "
                         f"{_prod(rest)} != {_prod(lead)} (shape {A.shape}, ind={ind})")
    return reshape(inv(reshape(A, (_prod(lead), _prod(rest)))), rest + lead)


def tensorsolve(A, B, dims=None, *, out=None):  # noqa: N803
    """The tensor X with ``tensordot(A, X, X.ndim) = B``: the dims of A named in ``dims``
    moved to the end, A reshaped to prod(B.shape) x prod(the rest), solved;
    differentiable in A and B.

    Raises:
        ShapeError: the sizes do not make a square system.
    """
    _no_out("linalg.tensorsolve", out)
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        order = [d for d in range(A.ndim) if d not in dims] + dims
        A = A.transpose(*order)
    rest = tuple(A.shape[B.ndim:])
    n = _prod(B.shape)
    if tuple(A.shape[:B.ndim]) != tuple(B.shape) or _prod(rest) != n:
        raise ShapeError(f"linalg.tensorsolve: Expected self to satisfy the requirement "
                         f"prod(result_shape) == prod(other.shape), A of shape {A.shape} and "
                         f"B of shape {B.shape} do not make a square system")
    x = solve(reshape(A, (n, n)), reshape(B, (n, 1)))
    return reshape(x, rest)


# ---------------------------------------------------------------- householder_product

def householder_product(A, tau, *, out=None):  # noqa: N803
    """``torch.linalg.householder_product`` (LAPACK's orgqr): the first n columns of
    H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i 1 at i, A's column i below it;
    batched; differentiable in A and tau (a composite of Tensor ops).

    Raises:
        ShapeError: m < n, n < k or batch shapes that differ.
    """
    _no_out("linalg.householder_product", out)
    name = "torch.linalg.householder_product"
    if A.ndim < 2:
        raise ShapeError(f"{name}: input must have at least 2 dimensions, got {A.shape}")
    if tau.ndim < 1:
        raise ShapeError(f"{name}: tau must have at least 1 dimension, got {tau.shape}")
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if m < n:
        raise ShapeError(f"{name}: input.shape[-2] must be greater than or equal to "
                         f"input.shape[-1] (got shape {A.shape})")
    if n < k:
        raise ShapeError(f"{name}: input.shape[-1] must be greater than or equal to "
                         f"tau.shape[-1] (got {A.shape} and {tau.shape})")
    if tuple(A.shape[:-2]) != tuple(tau.shape[:-1]):
        raise ShapeError(f"{name}: Expected batch dimensions of tau to be equal to "
                         f"input.shape[:-2], got {tau.shape} and {A.shape}")
    v = tril(A, -1) + eye(m, n, dtype=A.dtype, device=A.device)
    q = broadcast_to(eye(m, dtype=A.dtype, device=A.device), tuple(A.shape[:-2]) + (m, m))
    for i in range(k):
        vi = v[..., :, i:i + 1]
        ti = reshape(tau[..., i], tuple(tau.shape[:-1]) + (1, 1))
        q = q - matmul(matmul(q, vi) * ti, matrix_transpose(vi))
    return q[..., :, :n]


# ---------------------------------------------------------------- LDL^T (Bunch-Kaufman)

_ALPHA = (1.0 + _math.sqrt(17.0)) / 8.0


def _sytf2_lower(a):
    """LAPACK's dsytf2 with UPLO='L' on one matrix (in place): the packed L and block
    diagonal D, the pivots (1-based; a 2x2 block's pair both -kp) and info."""
    n = a.shape[0]
    ipiv = np.zeros(n, dtype=np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = abs(a[k, k])
        if k < n - 1:
            imax = k + 1 + int(np.argmax(np.abs(a[k + 1:, k])))
            colmax = abs(a[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or np.isnan(absakk):
            if info == 0:
                info = k + 1
            kp = k
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                jmax = k + int(np.argmax(np.abs(a[imax, k:imax])))
                rowmax = abs(a[imax, jmax])
                if imax < n - 1:
                    jmax = imax + 1 + int(np.argmax(np.abs(a[imax + 1:, imax])))
                    rowmax = max(rowmax, abs(a[jmax, imax]))
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(a[imax, imax]) >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:
                if kp < n - 1:
                    a[kp + 1:, kk], a[kp + 1:, kp] = a[kp + 1:, kp].copy(), \
                        a[kp + 1:, kk].copy()
                col = a[kk + 1:kp, kk].copy()
                a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
                a[kp, kk + 1:kp] = col
                a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
                if kstep == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            if kstep == 1:
                if k < n - 1:
                    d11 = 1.0 / a[k, k]
                    x = a[k + 1:, k].copy()
                    a[k + 1:, k + 1:] -= np.tril(d11 * np.outer(x, x))
                    a[k + 1:, k] *= d11
            elif k < n - 2:
                d21 = a[k + 1, k]
                d11 = a[k + 1, k + 1] / d21
                d22 = a[k, k] / d21
                t = 1.0 / (d11 * d22 - 1.0)
                d21 = t / d21
                for j in range(k + 2, n):
                    wk = d21 * (d11 * a[j, k] - a[j, k + 1])
                    wkp1 = d21 * (d22 * a[j, k + 1] - a[j, k])
                    a[j:, j] -= a[j:, k] * wk + a[j:, k + 1] * wkp1
                    a[j, k], a[j, k + 1] = wk, wkp1
        if kstep == 1:
            ipiv[k] = kp + 1
        else:
            ipiv[k] = ipiv[k + 1] = -(kp + 1)
        k += kstep
    return np.tril(a), ipiv, info


@op(name="ldl_factor_arrays", differentiable=False)
def ldl_factor_arrays(xp, a):
    """LAPACK's sytrf (lower, Bunch-Kaufman): the packed LD, the pivots and info of each
    symmetric matrix (its lower triangle read), matrix by matrix on the host."""
    n = a.shape[-1]
    host = np.asarray(a.get() if hasattr(a, "get") else a).reshape((-1, n, n))
    ld, piv, info = np.empty_like(host), np.zeros(host.shape[:2], np.int32), \
        np.zeros(host.shape[0], np.int32)
    for i, m in enumerate(host):
        ld[i], piv[i], info[i] = _sytf2_lower(m.copy())
    batch = a.shape[:-2]
    return (xp.asarray(ld.reshape(a.shape)), xp.asarray(piv.reshape(batch + (n,))),
            xp.asarray(info.reshape(batch)))


def _sytrs_lower(a, ipiv, b):
    """LAPACK's dsytrs with UPLO='L' (in place on b): X with A X = B from sytrf's LD."""
    n = a.shape[0]
    k = 0
    while k < n:
        if ipiv[k] > 0:
            kp = ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            b[k + 1:] -= np.outer(a[k + 1:, k], b[k])
            b[k] /= a[k, k]
            k += 1
        else:
            kp = -ipiv[k] - 1
            b[[k + 1, kp]] = b[[kp, k + 1]]
            if k < n - 2:
                b[k + 2:] -= np.outer(a[k + 2:, k], b[k]) + np.outer(a[k + 2:, k + 1], b[k + 1])
            akm1k = a[k + 1, k]
            akm1, ak = a[k, k] / akm1k, a[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:
        if ipiv[k] > 0:
            if k < n - 1:
                b[k] -= a[k + 1:, k] @ b[k + 1:]
            kp = ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 1
        else:
            if k < n - 1:
                b[k] -= a[k + 1:, k] @ b[k + 1:]
                b[k - 1] -= a[k + 1:, k - 1] @ b[k + 1:]
            kp = -ipiv[k] - 1
            b[[k, kp]] = b[[kp, k]]
            k -= 2
    return b


@op(name="ldl_solve_arrays", differentiable=False)
def ldl_solve_arrays(xp, ld, piv, b):
    """LAPACK's sytrs (lower): X with A X = B from sytrf's LD and pivots, batches
    broadcast, matrix by matrix on the host."""
    n, k = b.shape[-2:]
    batch = np.broadcast_shapes(ld.shape[:-2], piv.shape[:-1], b.shape[:-2])

    def host(x, shape):
        x = np.asarray(x.get() if hasattr(x, "get") else x)
        return np.broadcast_to(x, batch + shape).reshape((-1,) + shape)
    lds, pivs = host(ld, (n, n)), host(piv, (n,))
    bs = host(b, (n, k)).copy()
    for i in range(bs.shape[0]):
        _sytrs_lower(lds[i], pivs[i], bs[i])
    return xp.asarray(bs.reshape(batch + (n, k)))


def _check_ldl(name, A, hermitian):  # noqa: N803
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"{name}: A must be batches of square matrices, got shape {A.shape}")
    if A.dtype.kind != "f":
        raise DTypeError(f"{name}: expects a floating tensor, got {A.dtype.name}")


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):  # noqa: N803
    """``(LD, pivots, info)``: the LDL^T factorization of each symmetric matrix (its lower
    triangle read) with Bunch-Kaufman pivoting, LAPACK's sytrf layout (L unit lower below
    the diagonal, the 1x1 and 2x2 blocks of D on it; pivots 1-based int32, negative for a
    2x2 block); info > 0 names a zero block of D. No gradient, as torch.

    Raises:
        LinAlgError: ``check_errors`` and a singular D.
    """
    _no_out("linalg.ldl_factor_ex", out)
    _check_ldl("linalg.ldl_factor_ex", A, hermitian)
    ld, piv, info = apply(ldl_factor_arrays, A)
    if check_errors and bool((info.data != 0).any()):
        raise LinAlgError(f"linalg.ldl_factor_ex: the factor D is singular (info "
                          f"{int(info.data.max())}, input of shape {A.shape})")
    return _LdlFactorEx(ld, piv, info)


def ldl_factor(A, *, hermitian=False, out=None):  # noqa: N803
    """``(LD, pivots)`` as :func:`ldl_factor_ex`.

    Raises:
        LinAlgError: a singular D (torch raises there too).
    Example:
        >>> LD, piv = ge.linalg.ldl_factor(S); X = ge.linalg.ldl_solve(LD, piv, B)
    """
    _no_out("linalg.ldl_factor", out)
    ld, piv, info = ldl_factor_ex(A, hermitian=hermitian)
    if bool((info.data != 0).any()):
        raise LinAlgError(f"linalg.ldl_factor: the factor D is singular (info "
                          f"{int(info.data.max())}, input of shape {A.shape})")
    return _LdlFactor(ld, piv)


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):  # noqa: N803
    """X with A X = B from :func:`ldl_factor`'s LD and pivots (LAPACK's sytrs); batches
    broadcast; no gradient, as torch.

    Raises:
        ShapeError: LD not square or B's rows not its size. DTypeError: pivots not int32.
    """
    _no_out("linalg.ldl_solve", out)
    name = "linalg.ldl_solve"
    _check_ldl(name, LD, hermitian)
    if B.ndim < 2 or B.shape[-2] != LD.shape[-1]:
        raise ShapeError(f"{name}: B of shape {B.shape} must be (..., {LD.shape[-1]}, k) "
                         f"for LD of shape {LD.shape}")
    if pivots.shape != LD.shape[:-1]:
        raise ShapeError(f"{name}: pivots of shape {pivots.shape} must be LD's shape without "
                         f"its last dimension, {LD.shape[:-1]}")
    if pivots.dtype != np.int32:
        raise DTypeError(f"{name}: pivots must be int32, got {pivots.dtype.name}")
    if B.dtype != LD.dtype:
        raise DTypeError(f"{name}: LD ({LD.dtype.name}) and B ({B.dtype.name}) must have "
                         f"the same dtype")
    return apply(ldl_solve_arrays, LD, pivots, B)


__all__ = ["lu_unpack", "lu_factor", "lu_factor_ex", "lu", "lu_solve", "tensorinv",
           "tensorsolve", "householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve"]

