"""``torch.linalg``: norms, inverse, determinants, solve and the decompositions.

The single-output functions are ops (:mod:`gradengine.ops.decomp`); the decompositions
with several outputs are :class:`~gradengine.autograd.Function` s: ``eigh`` is
differentiable in both outputs, ``svd`` through its singular values only and ``qr`` not at
all (a backward that would need the missing part raises GraphError instead of giving a
wrong gradient).
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
from .ops.elementwise import abs_, sqrt
from .ops.linalg import matmul
from .ops.reductions import max as _max
from .ops.reductions import min as _min
from .ops.reductions import sum
from .ops.shape import matrix_transpose, reshape

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
    if ord == "fro":
        return sqrt(sum(a * a, axis=(r, c), keepdims=keepdim))
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
        return apply(_qr_arrays, a, params=(mode,))

    @staticmethod
    def backward(ctx, gq, gr):
        _only_through("qr", (gq, gr), set())
        return None, None


def qr(a, mode="reduced"):
    """``(Q, R)`` of each matrix of ``a`` ("reduced" or "complete"); no gradient (its
    backward raises GraphError).

    Raises:
        ArgumentError: another ``mode``.
    """
    if mode not in ("reduced", "complete"):
        raise ArgumentError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    if a.ndim < 2:
        raise ShapeError(f"qr: expects matrices (..., m, n), got shape {tuple(a.shape)}")
    return _Qr(*_QrFn.apply(a, mode))

