"""Op family: special functions and PyTorch's remaining math -- erfc, erfinv, lgamma,
digamma, polygamma, the Bessel functions i0/i1 (and their scaled forms), the normal CDF
and its inverse, Hurwitz zeta, sinc, logit, fmax/fmin, frexp/ldexp, gcd/lcm, the NaN-aware
reductions, histograms, covariance, the remaining products (inner, vdot, addmv, addr,
addbmm) and the trapezoid rule.

The special functions are written against ``xp``'s elementwise ops only (no SciPy): Cephes'
Chebyshev expansions for the Bessel functions and its Euler-Maclaurin sum for zeta (the
tables are those of PyTorch's ATen/native/Math.h; Cephes is 3-clause BSD, Copyright (c)
2018 Steven Moshier), Stirling's series for lgamma and digamma, Giles' approximation
polished by Newton steps for erfinv and ndtri, and the continued fraction of erfc's tail.
They are computed in float64 and rounded to the input's dtype. Each gradient rule is
written in Tensor ops (lgamma' = digamma, digamma' = polygamma(1), ...), so every one of
them is differentiable again. PyTorch's names, argument order and defaults. See
docs/from-pytorch.md.
"""

from __future__ import annotations

import math as _m
from collections import namedtuple

import numpy as np

from ..backend import get_default_dtype
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from .composite import amax, amin, median_of_all, outer, tensordot
from .composite import norm as _pnorm
from .decomp import vector_norm2
from .elementwise import cast, exp, log, promote, sqrt, where
from .linalg import matmul
from .manipulation import gather, sort
from .math import _exp_minus_square, _zero_grad, erf_ref, log1p, sign_op
from .reductions import sum
from .scans import cumsum
from .shape import normalize_axis, reshape, stack

_SQRT_PI = _m.sqrt(_m.pi)
_SQRT_2 = _m.sqrt(2.0)
_SQRT_2PI = _m.sqrt(2 * _m.pi)
_F64 = np.dtype("float64")
_MinMax = namedtuple("aminmax", ["min", "max"])
_Frexp = namedtuple("frexp", ["mantissa", "exponent"])
_NanMedian = namedtuple("nanmedian", ["values", "indices"])


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    return Tensor(x, device=like.device if isinstance(like, Tensor) else None)


def _float(x, like=None):
    """x as a floating tensor: integers and bools become the default float dtype, as
    PyTorch's float-valued functions promote them."""
    x = _t(x, like)
    return x if x.dtype.kind == "f" else cast(x, get_default_dtype())


def _scalar_beside(v, t):
    """A Python number beside tensor ``t`` as a 0-d tensor that never upcasts it: t's dtype
    when t is floating, the default float for a float beside an integer tensor (torch)."""
    if isinstance(v, (bool, int, float)) and not isinstance(v, bool) and t.dtype.kind == "f":
        dt = t.dtype
    elif isinstance(v, float):
        dt = get_default_dtype()
    else:
        dt = None
    return Tensor(np.asarray(v, dtype=dt), device=t.device)


def _pair(a, b):
    """Two operands as tensors on one device (a number beside a tensor: _scalar_beside)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a)
    if not isinstance(a, Tensor):
        a = _scalar_beside(a, b)
    if not isinstance(b, Tensor):
        b = _scalar_beside(b, a)
    return a, b


def _float_pair(a, b):
    a, b = _pair(a, b)
    dt = np.result_type(a.dtype, b.dtype) if a.ndim and b.ndim else (
        a.dtype if not b.ndim and a.ndim else b.dtype if not a.ndim and b.ndim
        else np.result_type(a.dtype, b.dtype))
    if dt.kind != "f":
        dt = get_default_dtype()
    return cast(a, dt) if a.dtype.kind != "f" or a.ndim == 0 else a, \
        cast(b, dt) if b.dtype.kind != "f" or b.ndim == 0 else b


# ================================================================ array-level functions
# Each takes float64 arrays and returns float64 arrays; the ops round to the input dtype.

def _exp_square(xp, z):
    """e^(z^2) without the rounding of z*z (Veltkamp's split, as math._exp_minus_square)."""
    z = xp.clip(z, -40.0, 40.0)
    c = z * 134217729.0
    hi = c - (c - z)
    return xp.exp(hi * hi) * xp.exp((z - hi) * (z + hi))


def _erfcx_tail(xp, z):
    """e^(z^2) erfc(z) for z >= 2 by Laplace's continued fraction (z is clipped to 2)."""
    z = xp.maximum(z, 2.0)
    t = z.copy()
    for k in range(80, 0, -1):
        t = z + (k / 2) / t
    return 1.0 / (_SQRT_PI * t)


def erfc_ref(xp, x):
    """erfc x = 1 - erf x, without cancellation in the right tail."""
    z = xp.abs(x)
    inner = 1.0 - erf_ref(xp, xp.clip(x, -2.0, 2.0))
    tail = _exp_minus_square(xp, xp.minimum(z, 30.0)) * _erfcx_tail(xp, z)
    return xp.where(z < 2.0, inner, xp.where(x > 0, tail, 2.0 - tail))


def erfcx_ref(xp, x):
    """e^(x^2) erfc(x), without overflow for large positive x (inf for x < -26.6)."""
    z = xp.abs(x)
    inner = _exp_square(xp, xp.clip(x, -2.0, 2.0)) * (1.0 - erf_ref(xp, xp.clip(x, -2.0, 2.0)))
    tail = _erfcx_tail(xp, z)
    neg = 2.0 * _exp_square(xp, x) - tail
    return xp.where(z < 2.0, inner, xp.where(x > 0, tail, neg))


def _giles(xp, w, x):
    """M. Giles' approximation of erfinv, "Approximating the erfinv function" (GPU Computing
    Gems, 2011), from w = -log((1 - x)(1 + x)); about 1e-7 relative."""
    lo = w - 2.5
    p = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
        p = c + p * lo
    hi = xp.sqrt(xp.maximum(w, 5.0)) - 3.0
    q = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
        q = c + q * hi
    return xp.where(w < 5.0, p, q) * x


def _inv_erf_center(xp, x):
    """erfinv x for |x| <= 0.5: Giles' guess (1e-7) and two Newton steps on erf."""
    x = xp.clip(x, -0.5, 0.5)
    y = _giles(xp, -xp.log((1.0 - x) * (1.0 + x)), x)
    for _ in range(2):
        y = y - (erf_ref(xp, y) - x) / ((2 / _SQRT_PI) * _exp_minus_square(xp, y))
    return y


_TAIL_STEPS = 3


def _inv_erfc_tail(xp, c):
    """The y >= 0 with erfc y = c, for 0 < c <= 0.5 (c = 1 - |x| is exact there): Giles'
    guess, then Newton's steps on log erfc y = log erfcx(y) - y^2, which is nearly
    quadratic and never underflows, so the far tail converges too."""
    c = xp.clip(c, 5e-324, 0.5)
    logc = xp.log(c)
    w = -xp.log(c * (2.0 - c))
    # Giles' guess holds to w ~ 16 (single precision); beyond it, erfc y ~ e^(-y^2)/(y sqrt(pi))
    far = xp.sqrt(xp.maximum(-logc, 1.0))
    far = xp.sqrt(xp.maximum(-logc - xp.log(far * _SQRT_PI), 0.16))
    y = xp.where(w < 16.0, _giles(xp, xp.minimum(w, 16.0), 1.0 - c), far)
    for _ in range(_TAIL_STEPS):
        y = xp.maximum(y, 0.4)
        ex = erfcx_ref(xp, y)
        y = y + (xp.log(ex) - y * y - logc) * ex * (_SQRT_PI / 2)
    return y


def erfinv_ref(xp, x):
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside)."""
    ax = xp.abs(x)
    center = _inv_erf_center(xp, x)
    tail = xp.sign(x) * _inv_erfc_tail(xp, 1.0 - ax)
    out = xp.where(ax <= 0.5, center, tail)
    out = xp.where(ax == 1.0, xp.sign(x) * np.inf, out)
    return xp.where((ax > 1.0) | (x != x), np.nan, out)


def ndtri_ref(xp, p):
    """The inverse of the standard normal CDF on [0, 1] (-inf at 0, inf at 1)."""
    center = _SQRT_2 * _inv_erf_center(xp, 2.0 * p - 1.0)
    tail = _SQRT_2 * _inv_erfc_tail(xp, 2.0 * xp.minimum(p, 1.0 - p))  # 1 - p exact there
    out = xp.where(p < 0.25, -tail, xp.where(p > 0.75, tail, center))
    out = xp.where(p == 0.0, -np.inf, xp.where(p == 1.0, np.inf, out))
    return xp.where((p < 0.0) | (p > 1.0) | (p != p), np.nan, out)


def _exp_minus_half_square(xp, x):
    """e^(-x^2/2) without the rounding of x*x (Veltkamp's split of x)."""
    x = xp.clip(x, -60.0, 60.0)
    c = x * 134217729.0
    hi = c - (c - x)
    return xp.exp(-0.5 * hi * hi) * xp.exp(-0.5 * (x - hi) * (x + hi))


def ndtr_ref(xp, x):
    """Phi(x) = erfc(-x / sqrt 2) / 2; below -1 as erfcx(-x / sqrt 2) e^(-x^2/2) / 2, which
    keeps the left tail to full precision (x / sqrt 2 would round the exponent)."""
    left = 0.5 * erfcx_ref(xp, xp.minimum(-x, 1e300) / _SQRT_2) * _exp_minus_half_square(xp, x)
    right = 0.5 * erfc_ref(xp, -x / _SQRT_2)
    return xp.where(x < -1.0, left, right)


def log_ndtr_ref(xp, x):
    """log Phi(x), PyTorch's split: through erfcx below -1, log1p above."""
    left = xp.log(erfcx_ref(xp, xp.minimum(-x, 1e300) / _SQRT_2) / 2) - x * x / 2
    right = xp.log1p(-erfc_ref(xp, x / _SQRT_2) / 2)
    return xp.where(x < -1.0, left, right)


# Stirling's series: B_2k / (2k (2k - 1)) for k = 1..8.
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156,
             -3617 / 122400)


def _lgamma_pos(xp, y):
    """lgamma for y >= 0: shifted to >= 10 by the recurrence, then Stirling's series."""
    small = y < 10.0
    lead = xp.where(small, xp.log(xp.where(small, y, 1.0)), 0.0)
    z = xp.where(small, y + 1.0, y)
    prod = xp.ones_like(y)
    for _ in range(9):
        m = z < 10.0
        prod = xp.where(m, prod * z, prod)
        z = xp.where(m, z + 1.0, z)
    zf = xp.where(xp.isinf(z), 10.0, z)
    r = 1.0 / (zf * zf)
    series = _STIRLING[-1]
    for c in _STIRLING[-2::-1]:
        series = c + series * r
    st = (zf - 0.5) * xp.log(zf) - zf + 0.5 * _m.log(2 * _m.pi) + series / zf
    st = xp.where(xp.isinf(z), np.inf, st)
    return st - lead - xp.log(prod)


def _lgamma_near_1_2(xp, x):
    """lgamma on [0.5, 2.5] by its Taylor series about 1 (and 2), accurate in relative terms
    at the zeros x = 1 and x = 2: lgamma(1 + u) = -gamma u + sum_k (-1)^k zeta(k) u^k / k."""
    upper = x >= 1.5
    u = xp.where(upper, x - 2.0, x - 1.0)
    acc = xp.zeros_like(u)
    for c in _LGAMMA_TAYLOR[::-1]:
        acc = (acc + c) * u
    return acc + xp.where(upper, xp.log1p(u), 0.0)


def lgamma_ref(xp, x):
    """ln |Gamma(x)|: inf at the poles 0, -1, -2, ... and at +-inf (C's lgamma)."""
    neg = x < 0
    pos = _lgamma_pos(xp, xp.where(neg, 1.0 - x, xp.abs(x)))
    f = x - xp.floor(x)
    s = xp.sin(np.pi * xp.minimum(f, 1.0 - f))
    refl = _m.log(_m.pi) - xp.log(s) - pos
    out = xp.where(neg, refl, pos)
    mid = (x >= 0.5) & (x <= 2.5)
    out = xp.where(mid, _lgamma_near_1_2(xp, xp.where(mid, x, 1.0)), out)
    return xp.where(xp.isinf(x), np.inf, out)


_PSI_10 = 2.25175258906672110764
_PSI_A = (8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
          -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
          8.33333333333333333333E-2)


def digamma_ref(xp, x):
    """psi(x) = Gamma'(x)/Gamma(x), Cephes' algorithm as PyTorch runs it: reflection below
    0, the recurrence up to 10, the asymptotic series; -inf at +0, inf at -0, NaN at the
    negative integers."""
    neg = x < 0
    r = x - xp.trunc(x)
    refl = xp.where(neg & (r != 0), -np.pi / xp.tan(np.pi * xp.where(r == 0, 0.5, r)), 0.0)
    y = xp.where(neg, 1.0 - x, x)
    res = xp.zeros_like(y)
    for _ in range(10):
        m = y < 10.0
        res = xp.where(m, res - 1.0 / xp.where(m, y, 1.0), res)
        y = xp.where(m, y + 1.0, y)
    z = 1.0 / (y * y)
    poly = 0.0
    for c in _PSI_A:
        poly = poly * z + c
    asym = res + xp.log(y) - 0.5 / y - xp.where(y < 1e17, z * poly, 0.0)
    out = xp.where(y == 10.0, res + _PSI_10, asym) + refl
    out = xp.where(x == 0, xp.where(xp.signbit(x), np.inf, -np.inf), out)
    return xp.where(neg & (r == 0), np.nan, out)


_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18)
_ZETA_MAX_TERMS = 100_000


def zeta_ref(xp, x, q):
    """Hurwitz zeta sum_k (k + q)^-x (Cephes' Euler-Maclaurin sum, as PyTorch's): inf at
    x == 1 and at the non-positive integers q, NaN for x < 1 or a negative q with a
    non-integer x (and for q below -1e5, past the direct sum's reach)."""
    x, q = xp.broadcast_arrays(x, q)
    x, q = x.astype(_F64), q.astype(_F64)
    fin = xp.isfinite(q)
    n = xp.where(fin, xp.maximum(9.0, xp.floor(9.0 - xp.where(fin, q, 0.0)) + 1.0), 9.0)
    n = xp.minimum(n, _ZETA_MAX_TERMS)
    s = q ** -x
    top = int(n.max()) if n.size else 0
    for i in range(1, top + 1):
        s = s + xp.where(i <= n, (q + i) ** -x, 0.0)
    w = q + n
    b = w ** -x
    s = s + b * w / (x - 1.0) - 0.5 * b
    a = xp.ones_like(x)
    k = 0.0
    for coef in _ZETA_A:
        a = a * (x + k)
        b = b / w
        s = s + a * b / coef
        k += 1.0
        a = a * (x + k)
        b = b / w
        k += 1.0
    s = xp.where(q <= -_ZETA_MAX_TERMS + 9, np.nan, s)
    s = xp.where((q <= 0) & (x != xp.floor(x)), np.nan, s)
    s = xp.where((q <= 0) & (q == xp.floor(q)), np.inf, s)
    s = xp.where(x < 1.0, np.nan, s)
    return xp.where(x == 1.0, np.inf, s)


# lgamma's Taylor coefficients about 1: -Euler's gamma, then (-1)^k zeta(k) / k for k >= 2
_LGAMMA_TAYLOR = (-0.57721566490153286061,) + tuple(
    float((-1) ** k * zeta_ref(np, np.float64(k), np.float64(1.0)) / k) for k in range(2, 64))


def polygamma_ref(xp, n, x):
    """The n-th derivative of digamma: (-1)^(n+1) n! zeta(n + 1, x) for n >= 1."""
    if n == 0:
        return digamma_ref(xp, x)
    return ((-1.0) ** (n + 1) * float(_m.factorial(n))) * zeta_ref(xp, float(n + 1), x)


# Cephes' Chebyshev coefficients (PyTorch's ATen/native/Math.h) for e^-x I0(x) on [0, 8],
# e^-x sqrt(x) I0(x) on [8, inf), and the same for I1.
_I0E_A = (
    -4.4153416464793395e-18, 3.3307945188222384e-17, -2.431279846547955e-16,
    1.715391285555133e-15, -1.1685332877993451e-14, 7.676185498604936e-14,
    -4.856446783111929e-13, 2.95505266312964e-12, -1.726826291441556e-11,
    9.675809035373237e-11, -5.189795601635263e-10, 2.6598237246823866e-09,
    -1.300025009986248e-08, 6.046995022541919e-08, -2.670793853940612e-07,
    1.1173875391201037e-06, -4.4167383584587505e-06, 1.6448448070728896e-05,
    -5.754195010082104e-05, 0.00018850288509584165, -0.0005763755745385824,
    0.0016394756169413357, -0.004324309995050576, 0.010546460394594998, -0.02373741480589947,
    0.04930528423967071, -0.09490109704804764, 0.17162090152220877, -0.3046826723431984,
    0.6767952744094761)
_I0E_B = (
    -7.233180487874754e-18, -4.830504485944182e-18, 4.46562142029676e-17,
    3.461222867697461e-17, -2.8276239805165836e-16, -3.425485619677219e-16,
    1.7725601330565263e-15, 3.8116806693526224e-15, -9.554846698828307e-15,
    -4.150569347287222e-14, 1.54008621752141e-14, 3.8527783827421426e-13,
    7.180124451383666e-13, -1.7941785315068062e-12, -1.3215811840447713e-11,
    -3.1499165279632416e-11, 1.1889147107846439e-11, 4.94060238822497e-10,
    3.3962320257083865e-09, 2.266668990498178e-08, 2.0489185894690638e-07,
    2.8913705208347567e-06, 6.889758346916825e-05, 0.0033691164782556943, 0.8044904110141088)
_I1E_A = (
    2.7779141127610464e-18, -2.111421214358166e-17, 1.5536319577362005e-16,
    -1.1055969477353862e-15, 7.600684294735408e-15, -5.042185504727912e-14,
    3.223793365945575e-13, -1.9839743977649436e-12, 1.1736186298890901e-11,
    -6.663489723502027e-11, 3.625590281552117e-10, -1.8872497517228294e-09,
    9.381537386495773e-09, -4.445059128796328e-08, 2.0032947535521353e-07,
    -8.568720264695455e-07, 3.4702513081376785e-06, -1.3273163656039436e-05,
    4.781565107550054e-05, -0.00016176081582589674, 0.0005122859561685758,
    -0.0015135724506312532, 0.004156422944312888, -0.010564084894626197, 0.024726449030626516,
    -0.05294598120809499, 0.1026436586898471, -0.17641651835783406, 0.25258718644363365)
_I1E_B = (
    7.517296310842105e-18, 4.414348323071708e-18, -4.6503053684893586e-17,
    -3.209525921993424e-17, 2.96262899764595e-16, 3.3082023109209285e-16,
    -1.8803547755107825e-15, -3.8144030724370075e-15, 1.0420276984128802e-14,
    4.272440016711951e-14, -2.1015418427726643e-14, -4.0835511110921974e-13,
    -7.198551776245908e-13, 2.0356285441470896e-12, 1.4125807436613782e-11,
    3.2526035830154884e-11, -1.8974958123505413e-11, -5.589743462196584e-10,
    -3.835380385964237e-09, -2.6314688468895196e-08, -2.512236237870209e-07,
    -3.882564808877691e-06, -0.00011058893876262371, -0.009761097491361469, 0.7785762350182801)


def _chbevl(xp, y, coef):
    """Clenshaw's sum of a Chebyshev series (Cephes' chbevl)."""
    b0, b1, b2 = xp.full_like(y, coef[0]), xp.zeros_like(y), xp.zeros_like(y)
    for c in coef[1:]:
        b2, b1 = b1, b0
        b0 = y * b1 - b2 + c
    return 0.5 * (b0 - b2)


def _bessel_parts(xp, x, a, b):
    """(the [0, 8] expansion, the [8, inf) expansion over sqrt(z), z = |x|)."""
    z = xp.abs(x)
    small = _chbevl(xp, xp.minimum(z, 8.0) / 2.0 - 2.0, a)
    zb = xp.maximum(z, 8.0)
    big = _chbevl(xp, 32.0 / zb - 2.0, b) / xp.sqrt(zb)
    return z, small, big


def i0e_ref(xp, x):
    """e^-|x| I0(x)."""
    z, small, big = _bessel_parts(xp, x, _I0E_A, _I0E_B)
    return xp.where(z <= 8.0, small, big)


def i0_ref(xp, x):
    """I0(x), the modified Bessel function of the first kind of order 0."""
    z, small, big = _bessel_parts(xp, x, _I0E_A, _I0E_B)
    return xp.where(z <= 8.0, xp.exp(z) * small, xp.exp(z) * big)


def i1e_ref(xp, x):
    """e^-|x| I1(x) (odd)."""
    z, small, big = _bessel_parts(xp, x, _I1E_A, _I1E_B)
    out = xp.where(z <= 8.0, small * z, big)
    return xp.where(x < 0, -out, out)


def i1_ref(xp, x):
    """I1(x), the modified Bessel function of the first kind of order 1 (odd)."""
    z, small, big = _bessel_parts(xp, x, _I1E_A, _I1E_B)
    out = xp.where(z <= 8.0, xp.exp(z) * z * small, xp.exp(z) * big)
    return xp.where(x < 0, -out, out)


# ================================================================ the ops

def _in64(ref):
    """A forward computing ``ref`` in float64 and rounding to x's dtype."""
    def fwd(xp, x):
        return ref(xp, x.astype(_F64)).astype(x.dtype)
    return fwd


@op(name="erfc", save=("x",), quiet=True)
def erfc_op(xp, x):
    """erfc x = 1 - erf x; d/dx = -2/sqrt(pi) e^(-x^2)."""
    return _in64(erfc_ref)(xp, x)


erfc_op.defvjp(lambda g, x: g * ((-2 / _SQRT_PI) * exp(-(x * x))))


@op(name="erfcx", save=("x", "out"), quiet=True)
def erfcx_op(xp, x):
    """e^(x^2) erfc x; d/dx = 2x erfcx(x) - 2/sqrt(pi)."""
    return _in64(erfcx_ref)(xp, x)


erfcx_op.defvjp(lambda g, x, out: g * (2 * x * out - 2 / _SQRT_PI))


@op(name="erfinv", save=("out",), quiet=True)
def erfinv_op(xp, x):
    """erf^-1 x; d/dx = sqrt(pi)/2 e^(erfinv(x)^2)."""
    return _in64(erfinv_ref)(xp, x)


erfinv_op.defvjp(lambda g, out: g * ((_SQRT_PI / 2) * exp(out * out)))


@op(name="ndtri", save=("out",), quiet=True)
def ndtri_op(xp, x):
    """Phi^-1 p; d/dp = sqrt(2 pi) e^(ndtri(p)^2 / 2)."""
    return _in64(ndtri_ref)(xp, x)


ndtri_op.defvjp(lambda g, out: g * (_SQRT_2PI * exp(out * out * 0.5)))


@op(name="ndtr", save=("x",), quiet=True)
def ndtr_op(xp, x):
    """Phi(x), the standard normal CDF; d/dx = e^(-x^2/2) / sqrt(2 pi)."""
    return _in64(ndtr_ref)(xp, x)


ndtr_op.defvjp(lambda g, x: g * (exp(x * x * -0.5) * (1 / _SQRT_2PI)))


@op(name="log_ndtr", save=("x", "out"), quiet=True)
def log_ndtr_op(xp, x):
    """log Phi(x); d/dx = phi(x) / Phi(x) = e^(-x^2/2 - log_ndtr(x)) / sqrt(2 pi)."""
    return _in64(log_ndtr_ref)(xp, x)


log_ndtr_op.defvjp(lambda g, x, out: g * (exp(-(out + x * x * 0.5)) * (1 / _SQRT_2PI)))


@op(name="lgamma", save=("x",), quiet=True)
def lgamma_op(xp, x):
    """ln |Gamma(x)|; d/dx = digamma(x)."""
    return _in64(lgamma_ref)(xp, x)


@op(name="digamma", save=("x",), quiet=True)
def digamma_op(xp, x):
    """psi(x) = d/dx ln Gamma(x); d/dx = polygamma(1, x)."""
    return _in64(digamma_ref)(xp, x)


@op(name="polygamma", params=("n",), save=("x",), quiet=True)
def polygamma_op(xp, x, n):
    """psi^(n)(x), the n-th derivative of digamma; d/dx = psi^(n+1)(x)."""
    return polygamma_ref(xp, n, x.astype(_F64)).astype(x.dtype)


lgamma_op.defvjp(lambda g, x: g * apply(digamma_op, x))
digamma_op.defvjp(lambda g, x: g * apply(polygamma_op, x, params=(1,)))
polygamma_op.defvjp(lambda g, x, n: g * apply(polygamma_op, x, params=(n + 1,)))


@op(name="zeta", save=("x", "q"), quiet=True)
def zeta_op(xp, x, q):
    """Hurwitz zeta(x, q) = sum_k (k + q)^-x; d/dq = -x zeta(x + 1, q) (x: no gradient,
    as PyTorch)."""
    x, q = promote(x, q)
    dt = getattr(x, "dtype", None) or getattr(q, "dtype", None)
    return zeta_ref(xp, xp.asarray(x, dtype=_F64), xp.asarray(q, dtype=_F64)).astype(dt)


zeta_op.defvjp(None, lambda g, x, q: -g * x * apply(zeta_op, x + 1, q))


@op(name="i0", save=("x",), quiet=True)
def i0_op(xp, x):
    """I0(x); d/dx = I1(x)."""
    return _in64(i0_ref)(xp, x)


@op(name="i0e", save=("x", "out"), quiet=True)
def i0e_op(xp, x):
    """e^-|x| I0(x); d/dx = i1e(x) - sgn(x) i0e(x)."""
    return _in64(i0e_ref)(xp, x)


@op(name="i1", save=("x", "out"), quiet=True)
def i1_op(xp, x):
    """I1(x); d/dx = I0(x) - I1(x)/x (1/2 at 0)."""
    return _in64(i1_ref)(xp, x)


@op(name="i1e", save=("x", "out"), quiet=True)
def i1e_op(xp, x):
    """e^-|x| I1(x); d/dx = i0e(x) - i1e(x) (sgn(x) + 1/x) (1/2 at 0)."""
    return _in64(i1e_ref)(xp, x)


def _nonzero(x):
    return where(x == 0, 1.0, x)


i0_op.defvjp(lambda g, x: g * apply(i1_op, x))
i0e_op.defvjp(lambda g, x, out: g * (apply(i1e_op, x) - apply(sign_op, x) * out))
i1_op.defvjp(lambda g, x, out: g * where(x == 0, 0.5, apply(i0_op, x) - out / _nonzero(x)))
i1e_op.defvjp(lambda g, x, out: g * where(
    x == 0, 0.5, apply(i0e_op, x) - out * (apply(sign_op, x) + 1 / _nonzero(x))))


@op(name="sinc", save=("x",), quiet=True)
def sinc_op(xp, x):
    """sin(pi x) / (pi x), 1 at 0; d/dx = (cos(pi x) - sinc(x)) / x (0 at 0)."""
    px = np.pi * x.astype(_F64)
    out = xp.sin(px) / xp.where(px == 0, 1.0, px)
    return xp.where(x == 0, 1.0, out).astype(x.dtype)


@op(name="sinc_grad", save=("x", "out"), quiet=True)
def sinc_grad_op(xp, x):
    """d/dx sinc(x) = (cos(pi x) - sinc(x)) / x, 0 at 0; its own derivative is
    -pi^2 sinc(x) - 2 sinc'(x) / x (-pi^2/3 at 0)."""
    x64 = x.astype(_F64)
    s = sinc_op.fwd(xp, x64)
    out = (xp.cos(np.pi * x64) - s) / xp.where(x == 0, 1.0, x64)
    return xp.where(x == 0, 0.0, out).astype(x.dtype)


sinc_op.defvjp(lambda g, x: g * apply(sinc_grad_op, x))
sinc_grad_op.defvjp(lambda g, x, out: g * where(
    x == 0, -np.pi ** 2 / 3, -np.pi ** 2 * apply(sinc_op, x) - 2 * out / _nonzero(x)))


@op(name="logit_mask", params=("lo", "hi", "outside"), differentiable=False)
def logit_mask(xp, x, lo, hi, outside):
    """1 inside [lo, hi], ``outside`` (0 or NaN) beyond, in x's dtype."""
    return xp.where((x < lo) | (x > hi), outside, 1.0).astype(x.dtype)


@op(name="logit", params=("eps",), save=("x",), quiet=True)
def logit_op(xp, x, eps):
    """log(z / (1 - z)) with z = x clamped to [eps, 1 - eps] (no clamp when eps < 0);
    d/dx = 1 / (x (1 - x)) inside, 0 outside the clamp (NaN outside [0, 1] without one)."""
    z = x if eps < 0 else xp.clip(x, eps, 1 - eps)
    return xp.log(z / (1 - z))


logit_op.defvjp(lambda g, x, eps: g * apply(
    logit_mask, x, params=((0.0, 1.0, np.nan) if eps < 0 else (eps, 1 - eps, 0.0)))
    / (x * (1 - x)))


@op(name="entr", save=("x",), quiet=True)
def entr_op(xp, x):
    """-x ln x for x > 0, 0 at 0, -inf below; d/dx = -(1 + ln x)."""
    out = -x * xp.log(xp.where(x > 0, x, 1))
    out = xp.where(x == 0, 0, out)
    return xp.where(x < 0, -np.inf, out).astype(x.dtype)


entr_op.defvjp(lambda g, x: g * -(1 + log(x)))


@op(name="xlog1py_mask", differentiable=False)
def xlog1py_mask(xp, x, y):
    """1 except where x == 0 and y <= -1 (where PyTorch zeroes x's gradient)."""
    x, y = promote(x, y)
    return xp.where((x == 0) & (y <= -1), 0.0, 1.0).astype(x.dtype)


@op(name="xlog1py", save=("x", "y"), quiet=True)
def xlog1py_op(xp, x, y):
    """x log(1 + y), 0 where x == 0 (unless y is NaN); d/dx = log1p(y), d/dy = x/(1+y)."""
    x, y = promote(x, y)
    return xp.where((x == 0) & (y == y), 0, x * xp.log1p(y)).astype(x.dtype)


xlog1py_op.defvjp(lambda g, x, y: g * log1p(y) * apply(xlog1py_mask, x, y),
                  lambda g, x, y: g * x / (1 + y))


@op(name="fshare", params=("upper",), differentiable=False)
def fshare(xp, a, b, upper):
    """1 where a takes fmax's (upper) or fmin's gradient (a wins or ties, or b is NaN)."""
    a, b = promote(a, b)
    wins = (a >= b) if upper else (a <= b)
    return (wins | (b != b)).astype(a.dtype)


@op(name="fmax", save=("a", "b"))
def fmax_op(xp, a, b):
    """max(a, b), ignoring a NaN on either side; the gradient goes to a on ties."""
    a, b = promote(a, b)
    return xp.fmax(a, b)


@op(name="fmin", save=("a", "b"))
def fmin_op(xp, a, b):
    """min(a, b), ignoring a NaN on either side; the gradient goes to a on ties."""
    a, b = promote(a, b)
    return xp.fmin(a, b)


fmax_op.defvjp(lambda g, a, b: g * apply(fshare, a, b, params=(True,)),
               lambda g, a, b: g * (1 - apply(fshare, a, b, params=(True,))))
fmin_op.defvjp(lambda g, a, b: g * apply(fshare, a, b, params=(False,)),
               lambda g, a, b: g * (1 - apply(fshare, a, b, params=(False,))))


@op(name="frexp_exponent", differentiable=False)
def frexp_exponent(xp, x):
    """The exponent e of x = m 2^e with 0.5 <= |m| < 1 (int32; 0 for 0, inf and NaN)."""
    return xp.frexp(x)[1].astype(np.int32)


@op(name="frexp_mantissa", save=("x",), quiet=True)
def frexp_mantissa(xp, x):
    """The mantissa m of x = m 2^e; d/dx = 2^-e."""
    return xp.frexp(x)[0]


frexp_mantissa.defvjp(lambda g, x: g / cast(apply(pow2_of, apply(frexp_exponent, x)), g.dtype))


@op(name="pow2_of", differentiable=False)
def pow2_of(xp, e):
    """2^e as float64 (exact for every int32 exponent frexp gives)."""
    return xp.ldexp(1.0, e.astype(np.int32))


@op(name="gcd", differentiable=False)
def gcd_op(xp, a, b):
    """The greatest common divisor (non-negative)."""
    a, b = promote(a, b)
    return xp.gcd(a, b)


@op(name="lcm", differentiable=False)
def lcm_op(xp, a, b):
    """The least common multiple (non-negative)."""
    a, b = promote(a, b)
    return xp.lcm(a, b)


@op(name="nextafter", differentiable=False)
def nextafter_op(xp, a, b):
    """The next float after a towards b."""
    a, b = promote(a, b)
    return xp.nextafter(a, b)


@op(name="isposinf", differentiable=False)
def isposinf_op(xp, x):
    """x == +inf."""
    return x == np.inf


@op(name="isneginf", differentiable=False)
def isneginf_op(xp, x):
    """x == -inf."""
    return x == -np.inf


@op(name="isreal", differentiable=False)
def isreal_op(xp, x):
    """True everywhere for a real tensor."""
    return xp.ones(x.shape, dtype=bool)


@op(name="isin", params=("invert",), differentiable=False)
def isin_op(xp, x, test, invert):
    """Whether each element of x is among test's."""
    return xp.isin(x, test, invert=invert)


@op(name="signbit_", differentiable=False)
def _signbit(xp, x):
    """Whether the sign bit is set (-0.0 included; x < 0 for integers)."""
    return xp.signbit(x) if x.dtype.kind == "f" else x < 0


# ================================================================ elementwise functions

def erfc(input):  # noqa: A002 - torch's names
    """torch.erfc: 1 - erf(x), accurate in the right tail."""
    return apply(erfc_op, _float(input))


def erfinv(input):  # noqa: A002
    """torch.erfinv: the inverse of erf on [-1, 1]."""
    return apply(erfinv_op, _float(input))


def lgamma(input):  # noqa: A002
    """torch.lgamma: ln |Gamma(x)|."""
    return apply(lgamma_op, _float(input))


def digamma(input):  # noqa: A002
    """torch.digamma: psi(x); -inf at +0, inf at -0, NaN at negative integers."""
    return apply(digamma_op, _float(input))


def polygamma(n, input):  # noqa: A002
    """torch.polygamma: the n-th derivative of digamma (n >= 0)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ArgumentError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return apply(polygamma_op, _float(input), params=(int(n),))


def mvlgamma(input, p):  # noqa: A002
    """torch.mvlgamma: the log of the multivariate gamma function of dimension p,
    sum_i lgamma(x - i/2) + p (p - 1)/4 ln pi."""
    if not isinstance(p, (int, np.integer)) or p < 1:
        raise ArgumentError(f"mvlgamma: p must be a positive integer, got {p!r}")
    x = _float(input)
    out = lgamma(x)
    for i in range(1, int(p)):
        out = out + lgamma(x - i / 2)
    return out + p * (p - 1) / 4 * _m.log(_m.pi)


def i0(input):  # noqa: A002
    """torch.i0: the modified Bessel function of the first kind of order 0."""
    return apply(i0_op, _float(input))


def sinc(input):  # noqa: A002
    """torch.sinc: sin(pi x) / (pi x), 1 at 0."""
    return apply(sinc_op, _float(input))


def logit(input, eps=None):  # noqa: A002
    """torch.logit: log(x / (1 - x)), x first clamped to [eps, 1 - eps] when eps is given."""
    return apply(logit_op, _float(input), params=(-1.0 if eps is None else float(eps),))


def deg2rad(input):  # noqa: A002
    """torch.deg2rad: x * pi / 180."""
    return _float(input) * (_m.pi / 180)


def rad2deg(input):  # noqa: A002
    """torch.rad2deg: x * 180 / pi."""
    return _float(input) * (180 / _m.pi)


def fmax(input, other):  # noqa: A002
    """torch.fmax: the elementwise maximum, a NaN losing to a number."""
    a, b = _pair(input, other)
    return apply(fmax_op, a, b)


def fmin(input, other):  # noqa: A002
    """torch.fmin: the elementwise minimum, a NaN losing to a number."""
    a, b = _pair(input, other)
    return apply(fmin_op, a, b)


def float_power(input, exponent):  # noqa: A002
    """torch.float_power: input ** exponent computed in float64."""
    a = cast(_t(input, exponent), "float64")
    b = exponent if isinstance(exponent, (int, float)) and not isinstance(exponent, bool) \
        else cast(_t(exponent, a), "float64")
    return a ** b


def frexp(input):  # noqa: A002
    """torch.frexp: (mantissa, exponent) with input = mantissa * 2^exponent, 0.5 <= |m| < 1
    (exponent int32); the mantissa's gradient is 2^-exponent."""
    x = _t(input)
    if x.dtype.kind != "f":
        raise DTypeError(f"frexp: only floating-point dtypes are supported, got {x.dtype.name}")
    return _Frexp(apply(frexp_mantissa, x), apply(frexp_exponent, x))


def ldexp(input, other):  # noqa: A002
    """torch.ldexp: input * 2^other (a float result)."""
    x = _t(input, other)
    return x * (2.0 ** _float(other, x) if isinstance(other, Tensor) else 2.0 ** other)


def _integers(name, a, b):
    a, b = _pair(a, b)
    for t in (a, b):
        if t.dtype.kind not in "iu":
            raise DTypeError(f"{name}: expects integer tensors, got {a.dtype.name} and "
                             f"{b.dtype.name}")
    return a, b


def gcd(input, other):  # noqa: A002
    """torch.gcd: the elementwise greatest common divisor of integers."""
    return apply(gcd_op, *_integers("gcd", input, other))


def lcm(input, other):  # noqa: A002
    """torch.lcm: the elementwise least common multiple of integers."""
    return apply(lcm_op, *_integers("lcm", input, other))


def nextafter(input, other):  # noqa: A002
    """torch.nextafter: the next representable float after input towards other (no
    gradient)."""
    a, b = _pair(input, other)
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        raise DTypeError(f"nextafter: expects floating tensors, got {a.dtype.name} and "
                         f"{b.dtype.name}")
    return apply(nextafter_op, a, b)


def signbit(input):  # noqa: A002
    """torch.signbit: whether the sign bit is set (True for -0.0)."""
    return apply(_signbit, _t(input))


@op(name="sgn", quiet=True)
def sgn_op(xp, x):
    """-1, 0 or 1 by the sign of x, 0 at NaN (torch.sgn); gradient 0."""
    return xp.where(x != x, 0, xp.sign(x)).astype(x.dtype)


sgn_op.defvjp(_zero_grad)


def sgn(input):  # noqa: A002
    """torch.sgn: the sign of x (0 at NaN, as torch)."""
    return apply(sgn_op, _t(input))


def positive(input):  # noqa: A002
    """torch.positive: input itself (an error for bool, as torch)."""
    x = _t(input)
    if x.dtype.kind == "b":
        raise DTypeError("positive: the `+` operator on a bool tensor is not supported")
    return x


def isposinf(input):  # noqa: A002
    """torch.isposinf."""
    return apply(isposinf_op, _t(input))


def isneginf(input):  # noqa: A002
    """torch.isneginf."""
    return apply(isneginf_op, _t(input))


def isreal(input):  # noqa: A002
    """torch.isreal: True everywhere (gradengine's tensors are real)."""
    return apply(isreal_op, _t(input))


def absolute(input):  # noqa: A002
    """torch.absolute: |x| (an alias of abs)."""
    return abs(_t(input))


def _alias(name, method):
    def fn(input, *args, **kwargs):  # noqa: A002
        return getattr(_t(input), method)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}: an alias of {method}."
    return fn


arccos, arcsin, arctan = _alias("arccos", "acos"), _alias("arcsin", "asin"), \
    _alias("arctan", "atan")
arccosh, arcsinh, arctanh = _alias("arccosh", "acosh"), _alias("arcsinh", "asinh"), \
    _alias("arctanh", "atanh")
greater, greater_equal = _alias("greater", "gt"), _alias("greater_equal", "ge")
less, less_equal, not_equal = _alias("less", "lt"), _alias("less_equal", "le"), \
    _alias("not_equal", "ne")
fix = _alias("fix", "trunc")


# ---------------------------------------------------------------- torch.special's extra

def erfcx(input):  # noqa: A002
    """torch.special.erfcx: e^(x^2) erfc(x)."""
    return apply(erfcx_op, _float(input))


def ndtr(input):  # noqa: A002
    """torch.special.ndtr: the standard normal CDF."""
    return apply(ndtr_op, _float(input))


def ndtri(input):  # noqa: A002
    """torch.special.ndtri: the inverse of ndtr on [0, 1]."""
    return apply(ndtri_op, _float(input))


def log_ndtr(input):  # noqa: A002
    """torch.special.log_ndtr: log ndtr(x), accurate far into the left tail."""
    return apply(log_ndtr_op, _float(input))


def i0e(input):  # noqa: A002
    """torch.special.i0e: e^-|x| I0(x)."""
    return apply(i0e_op, _float(input))


def i1(input):  # noqa: A002
    """torch.special.i1: the modified Bessel function of the first kind of order 1."""
    return apply(i1_op, _float(input))


def i1e(input):  # noqa: A002
    """torch.special.i1e: e^-|x| I1(x)."""
    return apply(i1e_op, _float(input))


def entr(input):  # noqa: A002
    """torch.special.entr: -x ln x (0 at 0, -inf below 0)."""
    return apply(entr_op, _float(input))


def xlog1py(input, other):  # noqa: A002
    """torch.special.xlog1py: x log(1 + y), 0 where x == 0 (unless y is NaN)."""
    a, b = _float_pair(input, other)
    return apply(xlog1py_op, a, b)


def zeta(input, other):  # noqa: A002
    """torch.special.zeta: the Hurwitz zeta function sum_k (k + other)^-input (the gradient
    flows to other only, as torch)."""
    a, b = _float_pair(input, other)
    return apply(zeta_op, a, b)


# ================================================================ reductions and statistics

def nansum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """torch.nansum: the sum treating NaN as 0 (their gradient is 0)."""
    x = _t(input)
    if x.dtype.kind == "f":
        x = where(x != x, 0.0, x)
    return sum(x, axis=dim, keepdims=keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """torch.nanmean: the mean of the non-NaN elements (NaN where there are none)."""
    x = _t(input)
    if x.dtype.kind != "f":
        raise DTypeError(f"nanmean: expected a floating point tensor, got {x.dtype.name}")
    count = sum(cast(x == x, x.dtype if dtype is None else dtype), axis=dim, keepdims=keepdim)
    return nansum(x, dim, keepdim, dtype=dtype) / count


@op(name="nanmedian_index", params=("axis",), differentiable=False)
def nanmedian_index(xp, x, axis):
    """The index along axis of the lower median of the non-NaN values (kept dim; the first
    element's where all are NaN)."""
    order = xp.argsort(x, axis=axis, kind="stable")  # NaN sorts last
    k = (x == x).sum(axis=axis, keepdims=True)
    pos = xp.maximum(k - 1, 0) // 2
    return xp.take_along_axis(order, pos, axis=axis).astype(np.int64)


def nanmedian(input, dim=None, keepdim=False):  # noqa: A002
    """torch.nanmedian: the lower median ignoring NaN (of all elements, or (values,
    indices) along dim); NaN where every element is NaN."""
    x = _t(input)
    if dim is None:
        flat = reshape(x, (-1,))
        if flat.shape[0] == 0:
            return reshape(sum(flat) * np.nan, ())
        return median_of_all(flat, apply(nanmedian_index, flat, params=(0,)))
    if x.ndim == 0:
        return _NanMedian(x * 1, Tensor(np.zeros((), np.int64), device=x.device))
    ax = normalize_axis(dim, x.ndim, "nanmedian")[0]
    if x.shape[ax] == 0:
        raise ShapeError(f"nanmedian: cannot take the median of an empty dim {dim} of a tensor "
                         f"of shape {x.shape}")
    idx = apply(nanmedian_index, x, params=(ax,))
    v = gather(x, ax, idx)
    if not keepdim:
        shape = x.shape[:ax] + x.shape[ax + 1:]
        v, idx = reshape(v, shape), reshape(idx, shape)
    return _NanMedian(v, idx)


_INTERPOLATIONS = ("linear", "lower", "higher", "nearest", "midpoint")


@op(name="nanquantile_plan", params=("qs", "axis", "interpolation"), differentiable=False)
def nanquantile_plan(xp, x, qs, axis, interpolation):
    """For x sorted along axis (NaN last) and each q: the (low, high) positions and the
    weight of high among the non-NaN values (stacked first)."""
    k = (x == x).sum(axis=axis, keepdims=True).astype(_F64)
    q = xp.asarray(qs, dtype=_F64).reshape((-1,) + (1,) * x.ndim)
    pos = q * xp.maximum(k - 1, 0)
    lo, hi = xp.floor(pos), xp.ceil(pos)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = xp.round(pos)
    w = xp.full_like(pos, 0.5) if interpolation == "midpoint" else pos - lo
    return lo.astype(np.int64), hi.astype(np.int64), w.astype(x.dtype)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):  # noqa: A002
    """torch.nanquantile: the q-quantiles ignoring NaN (NaN where a row is all NaN); q a
    number or a 1-d tensor (its axis first)."""
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"nanquantile: interpolation must be one of {_INTERPOLATIONS}, "
                            f"got {interpolation!r}")
    qs = np.asarray(q.numpy() if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1 or bool(((qs < 0) | (qs > 1)).any()):
        raise ArgumentError(f"nanquantile: q must be a number or a 1-d tensor in [0, 1], got "
                            f"{qs.tolist()!r}")
    x = _t(input)
    if x.dtype.kind != "f":
        raise DTypeError(f"nanquantile: expects a float tensor, got {x.dtype.name}")
    if dim is None:
        flat, ax = reshape(x, (-1,)), 0
    else:
        ax = normalize_axis(dim, max(x.ndim, 1), "nanquantile")[0]
        flat = x if x.ndim else reshape(x, (1,))
    if flat.shape[ax] == 0:
        raise ShapeError(f"nanquantile: expects a non-empty tensor, got shape {x.shape}")
    s = sort(flat, dim=ax).values
    lo, hi, w = apply(nanquantile_plan, s, params=(tuple(qs.reshape(-1).tolist()), ax,
                                                   interpolation))
    outs = []
    for i in range(lo.shape[0]):
        a, b = gather(s, ax, lo[i]), gather(s, ax, hi[i])
        v = a + (b - a) * w[i]
        if keepdim:
            v = reshape(v, (1,) * x.ndim) if dim is None else reshape(v, x.shape[:ax] + (1,) +
                                                                      x.shape[ax + 1:])
        else:
            v = reshape(v, () if dim is None else x.shape[:ax] + x.shape[ax + 1:])
        outs.append(v)
    return outs[0] if qs.ndim == 0 else stack(outs, axis=0)


def aminmax(input, *, dim=None, keepdim=False):  # noqa: A002
    """torch.aminmax: (min, max) over dim (all elements when None); ties share the
    gradient."""
    x = _t(input)
    if x.size == 0:
        raise ShapeError(f"aminmax: cannot reduce an empty tensor of shape {x.shape}")
    d = () if dim is None else dim
    return _MinMax(amin(x, d, keepdim), amax(x, d, keepdim))


@op(name="histc", params=("bins", "lo", "hi"), differentiable=False)
def histc_op(xp, x, bins, lo, hi):
    """The counts of x in ``bins`` equal bins over [lo, hi] (the top edge in the last bin;
    values outside and NaN are left out), PyTorch's arithmetic in x's dtype."""
    if xp is not np:  # a data-dependent reduction: on the host, as cumextreme_index
        return xp.asarray(histc_op.fwd(np, xp.asnumpy(x), bins, lo, hi))
    dt = x.dtype
    flat = x.reshape(-1)
    if lo == hi == 0.0 and flat.size:
        lo, hi = float(flat[flat == flat].min(initial=np.inf)), \
            float(flat[flat == flat].max(initial=-np.inf))
        if not np.isfinite(lo):
            lo, hi = 0.0, 0.0
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    lo_, hi_ = dt.type(lo), dt.type(hi)
    keep = flat[(flat >= lo_) & (flat <= hi_)]
    pos = ((keep - lo_) * dt.type(bins) / (hi_ - lo_)).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)
    return xp.bincount(pos, minlength=bins).astype(dt)


def histc(input, bins=100, min=0, max=0):  # noqa: A002 - torch's names
    """torch.histc: a histogram of ``bins`` equal bins over [min, max] (the data's range
    when both are 0); float tensors only, no gradient."""
    x = _t(input)
    if x.dtype.kind != "f":
        raise DTypeError(f"histc: expects a float tensor, got {x.dtype.name}")
    if int(bins) <= 0:
        raise ArgumentError(f"histc: bins must be > 0, got {bins}")
    if float(min) > float(max):
        raise ArgumentError(f"histc: max ({max}) must be larger than min ({min})")
    if not (np.isfinite(float(min)) and np.isfinite(float(max))):
        raise ArgumentError(f"histc: range of [{min}, {max}] is not finite")
    return apply(histc_op, x, params=(int(bins), float(min), float(max)))


@op(name="bincount", params=("minlength",), differentiable=False)
def bincount_op(xp, x, minlength):
    """The count of each value of the 1-d non-negative integer x (int64)."""
    return xp.bincount(x, minlength=minlength).astype(np.int64)


@op(name="bincount_weighted", params=("minlength",), differentiable=False)
def bincount_weighted(xp, x, w, minlength):
    """The sum of w's elements by the value of x beside them (float32 for float32 weights,
    float64 otherwise, as torch)."""
    out = xp.bincount(x, weights=w, minlength=minlength)
    return out.astype(w.dtype if w.dtype == np.float32 else _F64)


def bincount(input, weights=None, minlength=0):  # noqa: A002
    """torch.bincount: the number of occurrences (or summed weights) of each value of a 1-d
    tensor of non-negative integers; no gradient."""
    x = _t(input)
    if x.ndim != 1 or x.dtype.kind not in "iub" or (x.size and bool((x < 0).any().item())):
        raise ArgumentError(f"bincount: only supports 1-d non-negative integral inputs, got "
                            f"shape {x.shape} and dtype {x.dtype.name}")
    if minlength < 0:
        raise ArgumentError(f"bincount: minlength should be >= 0, got {minlength}")
    if weights is not None:
        w = _t(weights, x)
        if w.shape != x.shape:
            raise ShapeError(f"bincount: weights of shape {w.shape} must have the input's "
                             f"shape {x.shape}")
        return apply(bincount_weighted, x, w.detach(), params=(int(minlength),))
    return apply(bincount_op, x, params=(int(minlength),))


def msort(input):  # noqa: A002
    """torch.msort: sorted along the first dim (the values; their gradient flows back)."""
    return sort(_t(input), dim=0).values


@op(name="unique_consecutive", params=("axis",), differentiable=False)
def unique_consecutive_op(xp, x, axis):
    """(values, inverse, counts) of the runs of equal elements (or slices along axis)."""
    if xp is not np:  # a data-dependent shape: on the host
        return tuple(xp.asarray(a) for a in unique_consecutive_op.fwd(np, xp.asnumpy(x), axis))
    if axis is None:
        flat = x.reshape(-1)
        keep = xp.ones(flat.shape, dtype=bool)
        if flat.size:
            keep[1:] = flat[1:] != flat[:-1]
        values = flat[keep]
        inverse = (xp.cumsum(keep) - 1).reshape(x.shape)
    else:
        moved = xp.moveaxis(x, axis, 0)
        rows = moved.reshape(moved.shape[0], -1)
        keep = xp.ones(rows.shape[0], dtype=bool)
        if rows.shape[0]:
            keep[1:] = (rows[1:] != rows[:-1]).any(axis=1)
        values = xp.moveaxis(moved[keep], 0, axis)
        inverse = xp.cumsum(keep) - 1
    starts = xp.nonzero(keep)[0]
    counts = xp.diff(xp.concatenate([starts, xp.asarray([keep.shape[0]])]))
    return values, inverse.astype(np.int64), counts.astype(np.int64)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """torch.unique_consecutive: the first element of each run of equal consecutive values
    (of the flattened tensor, or of slices along dim); optionally the run index of every
    element and the run lengths."""
    x = _t(input)
    ax = None if dim is None else normalize_axis(dim, max(x.ndim, 1), "unique_consecutive")[0]
    values, inverse, counts = apply(unique_consecutive_op, x, params=(ax,))
    out = (values,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts
                                                                else ())
    return out[0] if len(out) == 1 else out


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """torch.isin: whether each element of ``elements`` is in ``test_elements`` (either may
    be a number)."""
    a = _t(elements, test_elements)
    b = _t(test_elements, a)
    return apply(isin_op, a, b, params=(bool(invert),))


def cov(input, *, correction=1, fweights=None, aweights=None):  # noqa: A002
    """torch.cov: the covariance of the variables in the rows of input (observations in the
    columns), optionally weighted by integer frequency and float observation weights."""
    x = _float(input)
    if x.ndim > 2:
        raise ShapeError(f"cov: expected input to have two or fewer dimensions, got shape "
                         f"{x.shape}")
    if x.ndim < 2:
        x = reshape(x, (1, -1))
    n = x.shape[1]
    w = None
    if fweights is not None:
        fw = _t(fweights, x)
        if fw.ndim > 1 or fw.shape[0] != n or fw.dtype.kind not in "iu":
            raise ShapeError(f"cov: fweights must be a 1-d integer tensor of {n} elements, got "
                             f"shape {fw.shape} and dtype {fw.dtype.name}")
        w = cast(fw, x.dtype)
    if aweights is not None:
        aw = _t(aweights, x)
        if aw.ndim > 1 or aw.shape[0] != n or aw.dtype.kind != "f":
            raise ShapeError(f"cov: aweights must be a 1-d float tensor of {n} elements, got "
                             f"shape {aw.shape} and dtype {aw.dtype.name}")
        w = aw if w is None else w * aw
    if w is None:
        avg = sum(x, axis=1) / n
        w_sum, norm = float(n), float(n - correction)
        xc = x - reshape(avg, (-1, 1))
        c = matmul(xc, xc.mT)
    else:
        w_sum = sum(w)
        avg = sum(x * w, axis=1) / w_sum
        if correction == 0:
            norm = w_sum
        elif aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * sum(w * aw) / w_sum
        xc = x - reshape(avg, (-1, 1))
        c = matmul(xc, (xc * w).mT)
    if isinstance(norm, Tensor):
        norm = where(norm <= 0, 0.0, norm)
    elif norm <= 0:
        norm = 0.0
    c = c / norm
    return reshape(c, tuple(d for d in c.shape if d != 1)) if c.shape != (1, 1) else \
        reshape(c, ())


def corrcoef(input):  # noqa: A002
    """torch.corrcoef: the Pearson correlation coefficients of the rows' variables, clipped
    to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = sqrt(c.diagonal())
    c = c / reshape(d, (-1, 1)) / reshape(d, (1, -1))
    from .composite import clamp
    return clamp(c, -1.0, 1.0)


def dist(input, other, p=2):  # noqa: A002
    """torch.dist: the p-norm of input - other (broadcast)."""
    d = _t(input, other) - other
    if p in (2, 2.0):
        return vector_norm2(d)
    return _pnorm(d, p=p)


# ================================================================ products

def inner(input, other):  # noqa: A002
    """torch.inner: the sum over the last dims of input and other (a product when either is
    0-d); the result's shape is input.shape[:-1] + other.shape[:-1]."""
    a, b = _t(input, other), _t(other, input)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner: the last dims of shapes {a.shape} and {b.shape} differ")
    return tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 1]))


def vdot(input, other):  # noqa: A002
    """torch.vdot: the dot product of two 1-d tensors (no conjugation for real tensors)."""
    a, b = _t(input, other), _t(other, input)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ShapeError(f"vdot: expects two 1-d tensors of one size, got {a.shape} and "
                         f"{b.shape}")
    return matmul(a, b)


def ger(input, vec2):  # noqa: A002
    """torch.ger: the outer product (an alias of outer)."""
    return outer(input, vec2)


def _scaled_sum(name, input, p, beta, alpha):  # noqa: A002
    """beta * input + alpha * p, input ignored when beta == 0 (NaN in it included)."""
    p = p if alpha == 1 else p * alpha
    x = _t(input, p)
    try:
        shape = np.broadcast_shapes(x.shape, p.shape)
    except ValueError:
        raise ShapeError(f"{name}: input of shape {x.shape} does not broadcast to the "
                         f"product's shape {p.shape}") from None
    if shape != p.shape:
        raise ShapeError(f"{name}: input of shape {x.shape} does not broadcast to the "
                         f"product's shape {p.shape}")
    if beta == 0:
        return p
    return (x if beta == 1 else x * beta) + p


def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002
    """torch.addmv: beta * input + alpha * (mat @ vec)."""
    if mat.ndim != 2 or vec.ndim != 1 or mat.shape[1] != vec.shape[0]:
        raise ShapeError(f"addmv: expects a matrix and a vector that fit, got {mat.shape} and "
                         f"{vec.shape}")
    return _scaled_sum("addmv", input, matmul(mat, vec), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):  # noqa: A002
    """torch.addr: beta * input + alpha * outer(vec1, vec2)."""
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise ShapeError(f"addr: expects two 1-d vectors, got {vec1.shape} and {vec2.shape}")
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """torch.addbmm: beta * input + alpha * sum_b batch1[b] @ batch2[b]."""
    if batch1.ndim != 3 or batch2.ndim != 3 or batch1.shape[0] != batch2.shape[0] or \
            batch1.shape[2] != batch2.shape[1]:
        raise ShapeError(f"addbmm: expects two 3-d batches of matrices that fit, got "
                         f"{batch1.shape} and {batch2.shape}")
    return _scaled_sum("addbmm", input, sum(matmul(batch1, batch2), axis=0), beta, alpha)


def chain_matmul(*matrices):
    """torch.chain_matmul: the product of 2-d matrices, left to right."""
    if not matrices:
        raise ArgumentError("chain_matmul: expected one or more matrices")
    for m in matrices:
        if m.ndim != 2:
            raise ShapeError(f"chain_matmul: expects 2-d tensors, got shapes "
                             f"{[tuple(t.shape) for t in matrices]}")
    out = matrices[0] * 1
    for m in matrices[1:]:
        out = matmul(out, m)
    return out


# ================================================================ the trapezoid rule

def _trapezoid_parts(name, y, x, dx, dim):
    y = _t(y)
    if x is not None and dx is not None:
        raise ArgumentError(f"{name}: give x or dx, not both")
    ax = normalize_axis(dim, y.ndim, name)[0]
    n = y.shape[ax]

    def part(t, start, stop):
        return t[(slice(None),) * ax + (slice(start, stop),)]
    if x is None:
        return y, ax, n, part, 1.0 if dx is None else dx
    x = _t(x, y)
    if x.ndim == 1:
        if x.shape[0] != n:
            raise ShapeError(f"{name}: there must be one x value for each sample point, got "
                             f"x of shape {x.shape} and y of shape {y.shape} along dim {dim}")
        x = reshape(x, tuple(n if i == ax else 1 for i in range(y.ndim)))
    elif x.ndim < y.ndim:
        x = reshape(x, (1,) * (y.ndim - x.ndim) + x.shape)
    return y, ax, n, part, part(x, 1, None) - part(x, 0, -1)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """torch.trapezoid: the integral of y along dim by the trapezoid rule, with sample
    points x or a constant spacing dx (1 by default)."""
    y, ax, n, part, d = _trapezoid_parts("trapezoid", y, x, dx, dim)
    if n == 0:
        return sum(y, axis=ax)
    if not isinstance(d, Tensor):
        first, last = part(y, 0, 1), part(y, n - 1, n)
        return (sum(y, axis=ax) - reshape(first + last, first.shape[:ax] +
                                          first.shape[ax + 1:]) * 0.5) * d
    return sum(d * (part(y, 0, -1) + part(y, 1, None)), axis=ax) / 2.0


def trapz(y, x=None, *, dx=None, dim=-1):
    """torch.trapz: trapezoid's older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """torch.cumulative_trapezoid: the running trapezoid integral along dim (one fewer
    element)."""
    y, ax, n, part, d = _trapezoid_parts("cumulative_trapezoid", y, x, dx, dim)
    pairs = part(y, 0, -1) + part(y, 1, None) if n else part(y, 0, 0)
    if not isinstance(d, Tensor):
        return cumsum(pairs * (d / 2.0), ax)
    return cumsum(d * pairs, ax) / 2.0


# ================================================================ in-place forms

# The in-place Tensor methods PyTorch has that take the out-of-place method's arguments:
# installed by ops/__init__.py through its ``inplace_fn`` (version-checked, recorded when a
# gradient is needed).
INPLACE_METHODS = (
    "absolute", "acos", "acosh", "addbmm", "addmm", "addmv", "addr", "arccos", "arccosh",
    "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "asin", "asinh", "atan", "atan2",
    "atanh", "baddbmm", "cosh", "cumprod", "cumsum", "deg2rad", "digamma", "eq", "erf",
    "erfc", "erfinv", "fix", "float_power", "gcd", "ge", "greater", "greater_equal", "gt",
    "heaviside", "i0", "lcm", "ldexp", "le", "less", "less_equal", "lgamma", "logical_xor",
    "logit", "lt", "multiply", "mvlgamma", "ne", "negative", "nextafter", "not_equal",
    "polygamma", "rad2deg", "sgn", "sinc", "sinh", "subtract", "tan", "tril", "triu",
    "true_divide", "xlogy", "divide",
)
# PyTorch's top-level in-place functions (``torch.exp_(t)``): each calls the method.
INPLACE_FUNCTIONS = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_",
    "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_",
    "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_",
    "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_",
    "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "rad2deg_", "reciprocal_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_",
    "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_",
)


def _inplace_function(name):
    def fn(input, *args, **kwargs):  # noqa: A002
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}(input, ...): input.{name}(...)."
    return fn


inplace_functions = {name: _inplace_function(name) for name in INPLACE_FUNCTIONS}


__all__ = [
    "erfc", "erfinv", "lgamma", "digamma", "polygamma", "mvlgamma", "i0", "sinc", "logit",
    "deg2rad", "rad2deg", "fmax", "fmin", "float_power", "frexp", "ldexp", "gcd", "lcm",
    "nextafter", "signbit", "sgn", "positive", "isneginf", "isposinf", "isreal", "absolute",
    "arccos", "arcsin", "arctan", "arccosh", "arcsinh", "arctanh", "greater", "greater_equal",
    "less", "less_equal", "not_equal", "fix",
    "nansum", "nanmean", "nanmedian", "nanquantile", "aminmax", "histc", "bincount", "msort",
    "unique_consecutive", "isin", "cov", "corrcoef", "dist", "inner", "vdot", "ger", "addmv",
    "addr", "addbmm", "chain_matmul", "trapezoid", "trapz", "cumulative_trapezoid",
]


TENSOR_METHODS = {name: globals()[name] for name in (
    "erfc", "erfinv", "lgamma", "digamma", "mvlgamma", "i0", "sinc", "logit", "deg2rad",
    "rad2deg", "fmax", "fmin", "float_power", "frexp", "ldexp", "gcd", "lcm", "nextafter",
    "signbit", "sgn", "positive", "isneginf", "isposinf", "isreal", "absolute", "fix",
    "nansum", "nanmean", "nanmedian", "nanquantile", "aminmax", "histc", "bincount", "msort",
    "unique_consecutive", "cov", "corrcoef", "dist", "inner", "vdot", "ger", "addmv", "addr",
    "addbmm")}
TENSOR_METHODS["polygamma"] = lambda self, n: polygamma(n, self)
