"""Keras 3's ``keras.ops.linalg`` on gradengine's differentiable linear algebra
(``gradengine.linalg``), with Keras' argument names (``lower=`` for ``solve_triangular``,
``upper=`` for ``cholesky``, ``tol=`` for ``matrix_rank``) and ``jvp`` by the double-vjp
trick. ``eig`` (complex results) is not provided."""

from __future__ import annotations

from ... import functional as F
from ... import linalg as L
from ...autograd import functional as _af
from ._wrap import array_call, floatx, to_tensor, wrap_all

_t = to_tensor

__all__ = ["cholesky", "cholesky_inverse", "det", "eigh", "inv", "jvp", "lstsq", "lu_factor",
           "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular", "svd"]


def _f(x):
    x = _t(x)
    return x if x.dtype.kind == "f" else x.astype(floatx())


def cholesky(x, upper=False):
    return L.cholesky(_f(x), upper=upper)


def cholesky_inverse(x, upper=False):
    """The inverse of ``A`` given its Cholesky factor ``x`` (``A = x x^T``, or ``x^T x`` when
    ``upper``)."""
    x = _f(x)
    xt = F.swapaxes(x, -1, -2)
    return L.inv(F.matmul(xt, x) if upper else F.matmul(x, xt))


def det(x):
    return L.det(_f(x))


def eigh(x):
    return L.eigh(_f(x))


def inv(x):
    return L.inv(_f(x))


def solve(a, b):
    return L.solve(_f(a), _f(b))


def solve_triangular(a, b, lower=False):
    a, b = _f(a), _f(b)
    vec = b.ndim == a.ndim - 1
    if vec:
        b = F.unsqueeze(b, -1)
    out = L.solve_triangular(a, b, upper=not lower)
    return F.squeeze(out, -1) if vec else out


def lstsq(a, b, rcond=None):
    a, b = _f(a), _f(b)
    vec = b.ndim == 1
    if vec:
        b = F.unsqueeze(b, -1)
    sol = L.lstsq(a, b, rcond=rcond)
    sol = sol[0] if isinstance(sol, tuple) else sol.solution
    return F.squeeze(sol, -1) if vec else sol


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras' name
    return L.norm(_f(x), ord=ord, dim=axis, keepdim=keepdims)


def pinv(x, rcond=None):
    return L.pinv(_f(x), rtol=rcond) if rcond is not None else L.pinv(_f(x))


def qr(x, mode="reduced"):
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    return tuple(L.qr(_f(x), mode=mode))


def svd(x, full_matrices=True, compute_uv=True):
    x = _f(x)
    if not compute_uv:
        return L.svdvals(x)
    return tuple(L.svd(x, full_matrices=full_matrices))


def matrix_rank(x, tol=None):
    return L.matrix_rank(_f(x), tol=tol).astype("int32")


def _lu(xp, a):
    """Partial-pivot LU of each matrix: the packed factors and the pivots (0-based)."""
    a = a.copy()
    n = a.shape[-1]
    piv = xp.zeros(a.shape[:-1], dtype=xp.int32)
    flat = a.reshape((-1,) + a.shape[-2:])
    pflat = piv.reshape((-1, n))
    for m, p in zip(flat, pflat):
        for k in range(n):
            r = k + int(xp.argmax(xp.abs(m[k:, k])))
            p[k] = r
            if r != k:
                m[[k, r]] = m[[r, k]]
            if m[k, k] != 0:
                m[k + 1:, k] /= m[k, k]
                m[k + 1:, k + 1:] -= xp.outer(m[k + 1:, k], m[k, k + 1:])
    return flat.reshape(a.shape), pflat.reshape(piv.shape)


def lu_factor(x):
    """``(lu, pivots)`` as LAPACK's getrf, the pivots 0-based int32 as Keras' torch backend;
    no gradient."""
    return array_call("lu_factor", _lu, _f(x))


def jvp(fun, primals, tangents, has_aux=False):
    """``(fun(*primals), J @ tangents)`` (and the aux output with ``has_aux``)."""
    aux = []

    def f(*p):
        res = fun(*p)
        if has_aux:
            aux.append(res[1])
            return res[0]
        return res
    out, tan = _af.jvp(f, tuple(_f(p) for p in primals), tuple(_f(t) for t in tangents))
    return (out, tan, aux[0]) if has_aux else (out, tan)


wrap_all(globals(), [n for n in __all__ if n != "jvp"])
