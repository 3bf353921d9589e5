"""``torch.linalg``: norms, inverse, determinants, solve and the decompositions.

The single-output functions are ops (:mod:`gradengine.ops.decomp`); the decompositions
with several outputs are :class:`~gradengine.autograd.Function` s: ``eigh`` is
differentiable in both outputs, ``qr`` in both (as torch), ``svd`` through its singular
values only (a backward that would need the missing part raises GraphError instead of
giving a wrong gradient).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .autograd import Function
from .core.op import apply, op
from .core.tensor import Tensor
from .errors import ArgumentError, GraphError, ShapeError
from .ops import decomp as _decomp
from .ops.composite import diag_embed
from .ops.composite import norm as _pnorm
from .ops.decomp import cholesky, det, inv, solve, svdvals
from .ops.elementwise import abs_
from .ops.linalg import matmul
from .ops.reductions import max as _max
from .ops.reductions import min as _min
from .ops.reductions import sum
from .ops.shape import concatenate, matrix_transpose, reshape

__all__ = ["cholesky", "det", "eigh", "eigvalsh", "inv", "matrix_norm", "norm", "qr", "slogdet",
           "solve", "svd", "svdvals", "vector_norm"]

_Eigh = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
_Svd = namedtuple("svd", ["U", "S", "Vh"])
_Qr = namedtuple("qr", ["Q", "R"])
_Slogdet = namedtuple("slogdet", ["sign", "logabsdet"])


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """The ``ord``-norm of ``x``'s elements (over ``dim``, all when None): 2, 1, inf, -inf,
    0 or any p; the 2-norm's gradient at the zero vector is 0, as PyTorch's."""
    if ord == 2:
        return _decomp.vector_norm2(x if dtype is None else x.astype(dtype), dim, keepdim)
    return _pnorm(x, p=ord, dim=dim, keepdim=keepdim, dtype=dtype)


def matrix_norm(a, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """The matrix norm over the two axes ``dim``: "fro", "nuc", 1, -1, 2, -2, inf, -inf.

    Raises:
        ArgumentError: another ``ord``. ShapeError: ``a`` below 2-d.
    """
    if a.ndim < 2:
        raise ShapeError(f"matrix_norm: expects matrices (..., m, n), got shape "
                         f"{tuple(a.shape)}")
    if dtype is not None:
        a = a.astype(dtype)
    r, c = (d % a.ndim for d in dim)
    if ord == "fro":  # gradient 0 at the zero matrix, as torch
        return _decomp.vector_norm2(a, (r, c), keepdim)
    inf = float("inf")
    if ord in (1, -1, inf, -inf):
        axis, other = (r, c) if ord in (1, -1) else (c, r)
        sums = sum(abs_(a), axis=axis, keepdims=True)
        pick = _max if ord > 0 else _min
        out = pick(sums, axis=other, keepdims=True)
    elif ord in ("nuc", 2, -2):
        moved = a.movedim((r, c), (-2, -1))
        s = svdvals(moved)
        out = sum(s, axis=-1) if ord == "nuc" else (_max if ord == 2 else _min)(s, axis=-1)
        if keepdim:
            out = reshape(out, tuple(1 if i in (r, c) else d for i, d in enumerate(a.shape)))
        return out
    else:
        raise ArgumentError(f"matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or "
                            f"-inf, got {ord!r}")
    if keepdim:
        return out
    return reshape(out, tuple(d for i, d in enumerate(out.shape) if i not in (r, c)))


def norm(x, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """``torch.linalg.norm``: a vector norm for 1-d ``x`` or an int ``dim``, a matrix norm
    for 2-d ``x`` or a pair ``dim``; without ``ord`` and ``dim`` the 2-norm of all elements."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 2 or dim is None and ord is not None and x.ndim == 2:
        return matrix_norm(x, "fro" if ord is None else ord, dim or (-2, -1), keepdim,
                           dtype=dtype)
    return vector_norm(x, 2 if ord is None else ord, dim, keepdim, dtype=dtype)



def slogdet(a):
    """``(sign, logabsdet)`` of each square matrix of ``a``; the gradient through
    ``logabsdet``."""
    return _Slogdet(*_decomp.slogdet(a))


@op(differentiable=False, params=("upper",))
def _eigh_arrays(xp, a, upper):
    """Eigenvalues (ascending) and eigenvectors of the symmetric A, from one triangle."""
    return tuple(xp.linalg.eigh(a, UPLO="U" if upper else "L"))


class _EighFn(Function):
    @staticmethod
    def forward(ctx, a, upper):
        w, v = apply(_eigh_arrays, a, params=(upper,))
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        # PyTorch's rule: A_bar = V (diag(w_bar) + skew(V^T V_bar) / (w_j - w_i)) V^T
        w, v = ctx.saved_tensors
        vt_gv = matmul(matrix_transpose(v), gv)
        skew = (vt_gv - matrix_transpose(vt_gv)) * 0.5
        n = w.shape[-1]
        gap = reshape(w, w.shape[:-1] + (1, n)) - reshape(w, w.shape[:-1] + (n, 1))
        off = Tensor(1.0 - np.eye(n), device=w.device).astype(w.dtype)
        inner = skew * off / (gap + (1 - off)) + diag_embed(gw)
        return matmul(matmul(v, inner), matrix_transpose(v)), None


def eigh(a, UPLO="L"):  # noqa: N803 - torch's name
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix of ``a`` (read from the
    ``UPLO`` triangle), eigenvalues ascending; differentiable in both (distinct
    eigenvalues)."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"eigh: expects square matrices (..., n, n), got shape "
                         f"{tuple(a.shape)}")
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return _Eigh(*_EighFn.apply(a, UPLO == "U"))


def eigvalsh(a, UPLO="L"):  # noqa: N803
    """The eigenvalues of each symmetric matrix of ``a``, ascending."""
    return eigh(a, UPLO).eigenvalues


@op(differentiable=False, params=("full_matrices",))
def _svd_arrays(xp, a, full_matrices):
    """U, S, Vh of A."""
    return tuple(xp.linalg.svd(a, full_matrices=full_matrices))


def _only_through(name, grads, allowed):
    for i, g in enumerate(grads):
        if i not in allowed and bool((g.data != 0).any()):
            raise GraphError(f"{name}: the gradient through output {i} is not implemented "
                             f"in gradengine (only through outputs {sorted(allowed)})")


class _SvdFn(Function):
    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = apply(_svd_arrays, a, params=(full_matrices,))
        ctx.save_for_backward(u, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        _only_through("svd", (gu, gs, gvh), {1})
        u, vh = ctx.saved_tensors
        k = gs.shape[-1]
        return matmul(u[..., :k] * reshape(gs, gs.shape[:-1] + (1, k)), vh[..., :k, :]), None


def svd(a, full_matrices=True):
    """``(U, S, Vh)`` of each matrix of ``a``; the gradient flows through ``S`` only (a
    loss that reads U or Vh raises GraphError at backward)."""
    if a.ndim < 2:
        raise ShapeError(f"svd: expects matrices (..., m, n), got shape {tuple(a.shape)}")
    return _Svd(*_SvdFn.apply(a, bool(full_matrices)))


@op(differentiable=False, params=("mode",))
def _qr_arrays(xp, a, mode):
    """Q, R of A."""
    return tuple(xp.linalg.qr(a, mode=mode))


class _QrFn(Function):
    @staticmethod
    def forward(ctx, a, mode):
        q, r = apply(_qr_arrays, a, params=("reduced" if mode == "r" else mode,))
        ctx.mode = mode
        ctx.save_for_backward(q, r)
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        q, r = ctx.saved_tensors
        return _qr_backward(gq, gr, q, r, ctx.mode), None


def _qr_backward(gq, gr, q, r, mode):
    """PyTorch's rule (linalg_qr_backward), in Tensor ops so that it differentiates again.
    With M = gR R^T - Q^T gQ: for m >= n, A_bar = (gQ + Q copyltu(M)) R^-T, copyltu(M) the
    upper triangle of M mirrored below the diagonal; for m < n (R = (R1 | R2), R1 square),
    A_bar = (Q tril(M^T - M) R1^-T | 0) + Q gR."""
    m, n = q.shape[-2], r.shape[-1]
    if mode == "r":
        raise GraphError("qr: the derivative of linalg.qr depends on Q, which is not computed "
                         "when mode='r'. Please use linalg.qr(A, mode='reduced') if you are "
                         "going to differentiate through linalg.qr.")
    if mode == "complete" and m > n:
        raise GraphError(f"qr: the QR decomposition of a matrix of shape {(m, n)} is not "
                         f"differentiable when mode='complete' and nrows > ncols (Q's last "
                         f"{m - n} columns are not determined by A)")
    big = matmul(gr, matrix_transpose(r)) - matmul(matrix_transpose(q), gq)
    if m >= n:
        sym = _manip.triu(big) + matrix_transpose(_manip.triu(big, 1))
        ga = matmul(q, sym) + gq
        return solve_triangular(matrix_transpose(r), ga, upper=False, left=False)
    skew = _manip.tril(matrix_transpose(big) - big)
    ga = solve_triangular(matrix_transpose(r[..., :m]), matmul(q, skew), upper=False,
                          left=False)
    pad = _creation.zeros(ga.shape[:-1] + (n - m,), dtype=ga.dtype, device=ga.device)
    return concatenate([ga, pad], axis=-1) + matmul(q, gr)


def qr(a, mode="reduced"):
    """``(Q, R)`` of each matrix of ``a`` ("reduced" or "complete"; "r": R alone, with Q
    an empty tensor of shape (0,), as torch); differentiable in both, as torch (PyTorch's
    rule; R's diagonal must be nonzero), except for mode "r" and for "complete" with more
    rows than columns, whose backward raises GraphError, as torch's.

    Raises:
        ArgumentError: another ``mode``.
    """
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    if a.ndim < 2:
        raise ShapeError(f"qr: expects matrices (..., m, n), got shape {tuple(a.shape)}")
    if mode == "r":
        r = _QrFn.apply(a, "r")[1]
        return _Qr(_creation.zeros(0, dtype=r.dtype, device=a.device), r)
    return _Qr(*_QrFn.apply(a, mode))



# ---------------------------------------------------------------- more of torch.linalg
# Written in Tensor ops (differentiable to any order) or, where the value is an integer or
# a status, on the arrays.

from .errors import LinAlgError  # noqa: E402
from .ops import composite as _composite  # noqa: E402
from .ops import creation as _creation  # noqa: E402
from .ops import manipulation as _manip  # noqa: E402

_LstsqResult = namedtuple("lstsq", ["solution", "residuals", "rank", "singular_values"])
_InvEx = namedtuple("inv_ex", ["inverse", "info"])
_CholeskyEx = namedtuple("cholesky_ex", ["L", "info"])
_SolveEx = namedtuple("solve_ex", ["result", "info"])


def cross(a, b, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (default the last, as torch.linalg)."""
    return _composite.cross(a, b, dim=dim)


def diagonal(a, *, offset=0, dim1=-2, dim2=-1):
    """The diagonals of the matrices over (dim1, dim2) (torch.linalg's defaults)."""
    return _composite.diagonal(a, offset, dim1, dim2)


def vecdot(x, y, *, dim=-1):
    """The dot products of ``x`` and ``y`` along ``dim`` (real tensors)."""
    return sum(x * y, dim)


def multi_dot(tensors):
    """A chain of matrix products (the first may be 1-d, a row; the last 1-d, a column)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ArgumentError(f"multi_dot: expected at least 2 tensors, got {len(tensors)}")
    for i, t in enumerate(tensors):
        if t.ndim not in (1, 2) or (t.ndim == 1 and 0 < i < len(tensors) - 1):
            raise ShapeError(f"multi_dot: tensor {i} must be 2-d (the first and last may be "
                             f"1-d), got shape {tuple(t.shape)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def _eye_like(a):
    n = a.shape[-1]
    eye = _creation.eye(n, dtype=a.dtype, device=a.device)
    return eye if a.ndim == 2 else _manip_broadcast(eye, a.shape)


def _manip_broadcast(t, shape):
    from .ops.shape import broadcast_to
    return broadcast_to(t, tuple(shape))


def matrix_power(a, n):
    """A^n for an integer n (n < 0: the inverse's power; n = 0: the identity)."""
    _square("matrix_power", a)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ArgumentError(f"matrix_power: n must be an integer, got {n!r}")
    n = int(n)
    if n == 0:  # the identity, with a zero gradient (as torch)
        return a * 0 + _eye_like(a)
    if n < 0:
        a, n = inv(a), -n
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def _square(name, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{name}: expects square matrices (..., n, n), got shape "
                         f"{tuple(a.shape)}")


@op(name="pinv", params=("rtol",), save=("a", "out"))
def pinv_op(xp, a, rtol):
    """The Moore-Penrose pseudo-inverse (singular values below rtol * the largest: zero),
    from the SVD as NumPy computes it: V diag(1 / s) U^T."""
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    cutoff = rtol * s.max(axis=-1, keepdims=True) if s.shape[-1] else s
    with np.errstate(divide="ignore"):
        s_inv = xp.where(s > cutoff, 1 / xp.where(s > cutoff, s, 1), 0)
    return xp.matmul(xp.swapaxes(vh, -1, -2) * s_inv[..., None, :], xp.swapaxes(u, -1, -2))


@pinv_op.vjp
def _pinv_vjp(g, a, out, rtol):
    # d P = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P (Golub & Pereyra)
    p, pt = out, matrix_transpose(out)
    eye_m = _eye_like(matmul(a, p))
    eye_n = _eye_like(matmul(p, a))
    gt = matrix_transpose(g)
    return (-matmul(matmul(pt, g), pt) + matmul(matmul(eye_m - matmul(a, p), gt),
                                                matmul(p, pt))
            + matmul(matmul(matmul(pt, p), gt), eye_n - matmul(p, a))), None


def pinv(a, *, atol=None, rtol=None, hermitian=False):
    """``torch.linalg.pinv``: the pseudo-inverse, differentiable where the rank is constant.
    ``rtol`` defaults to eps * max(m, n), as torch; ``atol`` is not supported."""
    if a.ndim < 2:
        raise ShapeError(f"pinv: expects matrices (..., m, n), got shape {tuple(a.shape)}")
    if atol is not None:
        raise ArgumentError("pinv: atol is not supported; give rtol")
    if rtol is None:
        rtol = float(np.finfo(a.dtype).eps) * max(a.shape[-2:])
    return apply(pinv_op, a, params=(float(rtol),))


def lstsq(a, b, rcond=None, *, driver=None):
    """``torch.linalg.lstsq``: the least-squares solution of A X = B (B (..., m, k) or
    (..., m)), differentiable, as pinv(A) B; ``residuals`` and ``singular_values`` are
    empty and ``rank`` is given, as torch's default CPU driver (gelsy) returns them."""
    if a.ndim < 2:
        raise ShapeError(f"lstsq: expects A of shape (..., m, n), got {tuple(a.shape)}")
    if b.shape[:-1] != a.shape[:-1] and b.shape[:-2] + b.shape[-2:-1] != a.shape[:-1]:
        if b.shape[-2] != a.shape[-2] if b.ndim >= 2 else b.shape[0] != a.shape[-2]:
            raise ShapeError(f"lstsq: A of shape {tuple(a.shape)} and B of shape "
                             f"{tuple(b.shape)} differ in their number of rows")
    p = pinv(a, rtol=rcond)
    vec = b.ndim == a.ndim - 1
    x = matmul(p, reshape(b, tuple(b.shape) + (1,)) if vec else b)
    if vec:
        x = reshape(x, tuple(x.shape[:-1]))
    rank = matrix_rank(a, rtol=rcond)
    empty = _creation.zeros(0, dtype=a.dtype, device=a.device)
    return _LstsqResult(x, empty, rank, empty)


def matrix_rank(a, *, atol=None, rtol=None, hermitian=False, tol=None):
    """The rank of the matrices (int64; no gradient): singular values above
    max(atol, rtol * the largest), rtol defaulting to eps * max(m, n)."""
    if a.ndim < 2:
        raise ShapeError(f"matrix_rank: expects matrices (..., m, n), got shape "
                         f"{tuple(a.shape)}")
    if tol is not None:
        atol = tol
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else \
            float(np.finfo(a.dtype).eps) * max(a.shape[-2:])
    return apply(matrix_rank_op, a, params=(0.0 if atol is None else float(atol),
                                            float(rtol)))


@op(name="matrix_rank", params=("atol", "rtol"), differentiable=False)
def matrix_rank_op(xp, a, atol, rtol):
    """The number of singular values above max(atol, rtol * the largest)."""
    s = xp.linalg.svd(a, full_matrices=False)[1]
    top = s.max(axis=-1, keepdims=True) if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,))
    return (s > xp.maximum(atol, rtol * top)).sum(axis=-1).astype(np.int64)


def solve_triangular(a, b, *, upper, left=True, unitriangular=False):
    """X with A X = B (``left``) or X A = B, A triangular (only its ``upper`` or lower
    triangle is read; ``unitriangular``: its diagonal is taken as ones); differentiable."""
    _square("solve_triangular", a)
    t = _manip.triu(a) if upper else _manip.tril(a)
    if unitriangular:
        eye = _eye_like(a)
        t = t * (1 - eye) + eye
    if left:
        return solve(t, b)
    return matrix_transpose(solve(matrix_transpose(t), matrix_transpose(b)))


def cond(a, p=None):
    """The condition number: smax / smin of the singular values for p None or 2 (-2:
    smin / smax), else norm(A, p) * norm(A^-1, p)."""
    if p is None or p in (2, -2):
        s = svdvals(a)
        hi, lo = _max(s, -1), _min(s, -1)
        return lo / hi if p == -2 else hi / lo
    return matrix_norm(a, p) * matrix_norm(inv(a), p)


@op(name="matrix_exp", save=("a",))
def matrix_exp_op(xp, a):
    """e^A by scaling and squaring around a degree-18 Taylor polynomial."""
    norm1 = float(xp.abs(a).sum(axis=-2).max()) if a.size else 0.0
    s = max(0, int(np.ceil(np.log2(norm1))) + 1) if norm1 > 0.5 else 0
    x = a * (0.5 ** s)
    eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    term, out = eye, eye.copy()
    for k in range(1, 19):
        term = xp.matmul(term, x) * (1.0 / k)
        out = out + term
    for _ in range(s):
        out = xp.matmul(out, out)
    return out


@matrix_exp_op.vjp
def _matrix_exp_vjp(g, a):
    # the adjoint of the Frechet derivative: the upper-right block of exp([[A^T, G], [0, A^T]])
    from .ops.shape import concatenate
    n = a.shape[-1]
    at = matrix_transpose(a)
    top = concatenate([at, g], -1)
    bottom = concatenate([a * 0, at], -1)
    big = apply(matrix_exp_op, concatenate([top, bottom], -2))
    return big[..., :n, n:]


def matrix_exp(a):
    """``torch.linalg.matrix_exp``: e^A (scaling and squaring); differentiable to any order
    (its VJP is the matrix exponential of a block matrix)."""
    _square("matrix_exp", a)
    return apply(matrix_exp_op, a)


def vander(x, *, N=None):  # noqa: N803 - torch's name
    """The Vandermonde matrix of ``x`` (..., n): columns x^0, x^1, ..., x^(N-1)."""
    n = x.shape[-1] if N is None else int(N)
    if n < 1:
        raise ArgumentError(f"vander: N must be at least 1, got {n}")
    from .ops.shape import stack
    cols = [_creation.ones_like(x)]
    for _ in range(1, n):
        cols.append(cols[-1] * x)
    return stack(cols, -1)


def _status(name, fn, shape_of, *args):
    """``(fn(*args), info)``: info has one entry per matrix of the batch (torch's shape),
    0, or 1 with NaNs in place of that matrix's result where fn raises LinAlgError."""
    a = args[0]
    batch = tuple(a.shape[:-2])
    try:
        out = fn(*args)
        info = np.zeros(batch, dtype=np.int32)
    except LinAlgError:
        if not batch:
            out = _creation.full(shape_of, float("nan"), dtype=a.dtype, device=a.device)
            info = np.ones((), dtype=np.int32)
        else:  # matrix by matrix, to know which ones failed
            from .ops.shape import reshape, stack
            n = int(np.prod(batch))
            flat = [reshape(v, (n,) + tuple(v.shape[len(batch):])) for v in args]
            parts, codes = [], []
            for k in range(n):
                part, code = _status(name, fn, tuple(shape_of[len(batch):]),
                                     *[v[k] for v in flat])
                parts.append(part)
                codes.append(int(code.item()))
            out = reshape(stack(parts), tuple(shape_of))
            info = np.asarray(codes, dtype=np.int32).reshape(batch)
    return out, Tensor(info, device=a.device)


def inv_ex(a, *, check_errors=False):
    """``(inverse, info)``: info 0, or 1 (and a NaN inverse) for a singular matrix; with
    ``check_errors`` a singular matrix raises LinAlgError."""
    if check_errors:
        return _InvEx(inv(a), Tensor(np.zeros(a.shape[:-2], dtype=np.int32), device=a.device))
    return _InvEx(*_status("inv_ex", inv, a.shape, a))


def cholesky_ex(a, *, upper=False, check_errors=False):
    """``(L, info)`` as :func:`inv_ex`, for the Cholesky factor."""
    def chol(m):
        lower = cholesky(m)
        return matrix_transpose(lower) if upper else lower
    if check_errors:
        return _CholeskyEx(chol(a), Tensor(np.zeros(a.shape[:-2], dtype=np.int32),
                                           device=a.device))
    return _CholeskyEx(*_status("cholesky_ex", chol, a.shape, a))


def solve_ex(a, b, *, left=True, check_errors=False):
    """``(result, info)`` as :func:`inv_ex`, for :func:`solve`."""
    def run(m, r):
        if left:
            return solve(m, r)
        return matrix_transpose(solve(matrix_transpose(m), matrix_transpose(r)))
    if check_errors:
        return _SolveEx(run(a, b), Tensor(np.zeros(a.shape[:-2], dtype=np.int32),
                                          device=a.device))
    return _SolveEx(*_status("solve_ex", run, b.shape, a, b))


__all__ += ["LinAlgError", "cross", "diagonal", "vecdot", "multi_dot", "matrix_power", "pinv",
            "lstsq", "matrix_rank", "solve_triangular", "cond", "matrix_exp", "vander",
            "inv_ex", "cholesky_ex", "solve_ex"]


# -- gapfill: LU (lu_factor, lu_factor_ex, lu, lu_solve), LDL^T, householder_product,
# tensorinv, tensorsolve (gradengine/ops/factorizations.py)
from .ops.factorizations import (  # noqa: E402
    householder_product,
    ldl_factor,
    ldl_factor_ex,
    ldl_solve,
    lu,
    lu_factor,
    lu_factor_ex,
    lu_solve,
    tensorinv,
    tensorsolve,
)

__all__ += ["householder_product", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu",
            "lu_factor", "lu_factor_ex", "lu_solve", "tensorinv", "tensorsolve"]
