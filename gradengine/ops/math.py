"""Op family: math and activations -- the trigonometric and hyperbolic functions and their
inverses, erf, exponentials and logarithms in other bases, rounding, and the activations
PyTorch users reach for (gelu, elu, selu, silu, softplus, leaky_relu, ...). Each gradient
rule is written in Tensor ops, so every op here is twice differentiable (rounding and sign
have a zero gradient, as in PyTorch). See docs/ops.md.
"""

from __future__ import annotations

import math as _m

import numpy as np

from ..backend import floating
from ..core.op import apply, call, op
from ..core.tensor import Tensor
from .activations import in_place, sigmoid, tanh
from .elementwise import exp, promote, sqrt, where, zeros_grad

_SQRT_PI = _m.sqrt(_m.pi)
_LN2, _LN10 = _m.log(2.0), _m.log(10.0)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _unary(o):
    def fn(x):
        return apply(o, _t(x))
    fn.__name__ = o.name
    fn.__doc__ = o.doc
    return fn


# ---------------------------------------------------------------- trigonometric, hyperbolic

@op(name="sin", save=("x",))
def sin_op(xp, x):
    """sin x."""
    x = floating(x)
    return xp.sin(x)


@op(name="cos", save=("x",))
def cos_op(xp, x):
    """cos x."""
    x = floating(x)
    return xp.cos(x)


sin_op.defvjp(lambda g, x: g * apply(cos_op, x))
cos_op.defvjp(lambda g, x: -g * apply(sin_op, x))


@op(name="tan", save=("out",))
def tan_op(xp, x):
    """tan x; d/dx = 1 + tan^2 x."""
    x = floating(x)
    return xp.tan(x)


tan_op.defvjp(lambda g, out: g * (1 + out * out))


@op(name="asin", save=("x",), quiet=True)
def asin_op(xp, x):
    """arcsin x; d/dx = 1 / sqrt(1 - x^2)."""
    x = floating(x)
    return xp.arcsin(x)


asin_op.defvjp(lambda g, x: g / sqrt(1 - x * x))


@op(name="acos", save=("x",), quiet=True)
def acos_op(xp, x):
    """arccos x; d/dx = -1 / sqrt(1 - x^2)."""
    x = floating(x)
    return xp.arccos(x)


acos_op.defvjp(lambda g, x: -g / sqrt(1 - x * x))


@op(name="atan", save=("x",))
def atan_op(xp, x):
    """arctan x; d/dx = 1 / (1 + x^2)."""
    x = floating(x)
    return xp.arctan(x)


atan_op.defvjp(lambda g, x: g / (1 + x * x))


@op(name="atan2", save=("a", "b"))
def atan2_op(xp, a, b):
    """The angle of the point (b, a): atan(a / b) in the right quadrant."""
    # integers give the default float, from their own values (NumPy: float16 for uint8;
    # promoting first would wrap a 0-d int64 -1 beside a uint8 tensor to 255)
    a, b = (floating(v) if getattr(v, "dtype", None) is not None and v.dtype.kind in "biu"
            else v for v in (a, b))
    a, b = promote(a, b)
    return xp.arctan2(a, b)


def _atan2_recip(a, b):
    """1 / (a^2 + b^2), 0 where that is 0 (torch's atan2 backward masks the origin)."""
    den = a * a + b * b
    zero = den.detach() == 0
    return where(zero, 0.0, 1 / where(zero, 1.0, den))


# torch's order of products, so the signs of zeros agree: (g * b) r and (g * -a) r
atan2_op.defvjp(lambda g, a, b: g * b * _atan2_recip(a, b),
                lambda g, a, b: g * -a * _atan2_recip(a, b))


@op(name="sinh", save=("x",), quiet=True)
def sinh_op(xp, x):
    """sinh x."""
    x = floating(x)
    return xp.sinh(x)


@op(name="cosh", save=("x",), quiet=True)
def cosh_op(xp, x):
    """cosh x."""
    x = floating(x)
    return xp.cosh(x)


sinh_op.defvjp(lambda g, x: g * apply(cosh_op, x))
cosh_op.defvjp(lambda g, x: g * apply(sinh_op, x))


@op(name="asinh", save=("x",))
def asinh_op(xp, x):
    """arsinh x; d/dx = 1 / sqrt(x^2 + 1)."""
    x = floating(x)
    return xp.arcsinh(x)


asinh_op.defvjp(lambda g, x: g / sqrt(x * x + 1))


@op(name="acosh", save=("x",), quiet=True)
def acosh_op(xp, x):
    """arcosh x (x >= 1); d/dx = 1 / sqrt((x - 1)(x + 1))."""
    x = floating(x)
    return xp.arccosh(x)


acosh_op.defvjp(lambda g, x: g / sqrt((x - 1) * (x + 1)))


@op(name="atanh", save=("x",), quiet=True)
def atanh_op(xp, x):
    """artanh x (|x| < 1); d/dx = 1 / (1 - x^2)."""
    x = floating(x)
    return xp.arctanh(x)


atanh_op.defvjp(lambda g, x: g / (1 - x * x))


# ---------------------------------------------------------------- erf

def _exp_minus_square(xp, z):
    """e^(-z^2) without the rounding of z*z: z = hi + lo with hi of 26 bits, so hi*hi is
    exact and e^(-z^2) = e^(-hi^2) e^(-lo (z + hi))."""
    c = z * 134217729.0  # 2^27 + 1 (Veltkamp's split)
    hi = c - (c - z)
    return xp.exp(-hi * hi) * xp.exp(-(z - hi) * (z + hi))


def erf_ref(xp, x):
    """erf x in float64 to about 1e-15 relative, from xp's elementwise ops only (NumPy has
    no erf; CuPy's lives in cupyx.scipy): the series of Abramowitz & Stegun 7.1.6, whose
    terms are all positive, for |x| < 2, and erfc's continued fraction beyond."""
    dt = x.dtype
    z = xp.abs(x.astype(np.float64))
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        small = xp.minimum(z, 2.0)
        z2 = small * small
        term = small.copy()
        acc = small.copy()
        for n in range(1, 60):  # the ratio 2z^2/(2n+1) < 8/121 after n = 60
            term = term * (2 * z2) / (2 * n + 1)
            acc = acc + term
        s = acc * _exp_minus_square(xp, small) * (2 / _SQRT_PI)
        big = xp.minimum(xp.maximum(z, 2.0), 27.0)  # erfc(27) underflows: erf is 1
        t = big.copy()
        for k in range(80, 0, -1):
            t = big + (k / 2) / t
        c = _exp_minus_square(xp, big) / (_SQRT_PI * t)
        r = xp.where(z < 2.0, s, 1 - c)
        r = xp.where(z != z, z, r)  # NaN stays NaN
        return (xp.sign(x) * r).astype(dt) if dt.kind == "f" else xp.sign(x) * r


@op(name="erf", save=("x",))
def erf_op(xp, x):
    """erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt; d/dx = 2/sqrt(pi) e^(-x^2)."""
    x = floating(x)
    return erf_ref(xp, x)


erf_op.defvjp(lambda g, x: g * ((2 / _SQRT_PI) * exp(-(x * x))))


# ---------------------------------------------------------------- exponentials, logarithms

@op(name="exp2", save=("out",), quiet=True)
def exp2_op(xp, x):
    """2^x; d/dx = 2^x ln 2."""
    x = floating(x)
    return xp.exp2(x)


exp2_op.defvjp(lambda g, out: g * out * _LN2)


@op(name="expm1", save=("out",), quiet=True)
def expm1_op(xp, x):
    """e^x - 1, exact for small x; d/dx = e^x."""
    x = floating(x)
    return xp.expm1(x)


expm1_op.defvjp(lambda g, out: g * (out + 1))


@op(name="log2", save=("x",), quiet=True)
def log2_op(xp, x):
    """log_2 x; d/dx = 1 / (x ln 2)."""
    x = floating(x)
    return xp.log2(x)


log2_op.defvjp(lambda g, x: g / (x * _LN2))


@op(name="log10", save=("x",), quiet=True)
def log10_op(xp, x):
    """log_10 x; d/dx = 1 / (x ln 10)."""
    x = floating(x)
    return xp.log10(x)


log10_op.defvjp(lambda g, x: g / (x * _LN10))


@op(name="log1p", save=("x",), quiet=True)
def log1p_op(xp, x):
    """ln(1 + x), exact for small x; d/dx = 1 / (1 + x)."""
    x = floating(x)
    return xp.log1p(x)


log1p_op.defvjp(lambda g, x: g / (1 + x))


@op(name="rsqrt", save=("out",), quiet=True)
def rsqrt_op(xp, x):
    """1 / sqrt x; d/dx = -out^3 / 2."""
    x = floating(x)
    return 1 / xp.sqrt(x)


rsqrt_op.defvjp(lambda g, out: g * (-0.5 * out * out * out))


@op(name="square", save=("x",))
def square_op(xp, x):
    """x^2; d/dx = 2x."""
    return x * x


square_op.defvjp(lambda g, x: g * (2 * x))


@op(name="reciprocal", save=("out",), quiet=True)
def reciprocal_op(xp, x):
    """1 / x; d/dx = -1/x^2 = -out^2."""
    x = floating(x)
    return 1 / x if x.dtype.kind == "f" else 1 / x.astype(np.float32)


reciprocal_op.defvjp(lambda g, out: -g * out * out)


@op(name="logaddexp", save=("a", "b", "out"))
def logaddexp_op(xp, a, b):
    """ln(e^a + e^b) without overflow; d/da = e^(a - out), d/db = e^(b - out)."""
    a, b = promote(a, b)
    return xp.logaddexp(a, b)


logaddexp_op.defvjp(lambda g, a, out: g * exp(a - out), lambda g, b, out: g * exp(b - out))


# ---------------------------------------------------------------- rounding: zero gradient

@op(name="zeros_of", differentiable=False)
def zeros_of(xp, g):
    """zeros of g's shape and dtype (the gradient of a step function)."""
    return xp.zeros_like(g)


def _zero_grad(g):
    return apply(zeros_of, g)


@op(name="floor")
def floor_op(xp, x):
    """floor x (gradient 0)."""
    return xp.floor(x)


@op(name="ceil")
def ceil_op(xp, x):
    """ceil x (gradient 0)."""
    return xp.ceil(x)


@op(name="trunc")
def trunc_op(xp, x):
    """x rounded toward 0 (gradient 0)."""
    return xp.trunc(x)


@op(name="round", params=("decimals",))
def round_op(xp, x, decimals):
    """x rounded half to even at ``decimals`` places (gradient 0)."""
    return xp.round(x, decimals)


@op(name="sgn")
def sign_op(xp, x):
    """-1, 0 or 1 by the sign of x (gradient 0, as torch.sign)."""
    r = xp.sign(x)
    if r.dtype.kind == "f":  # NaN's sign is 0, as torch.sign
        r = xp.where(x != x, r.dtype.type(0), r)
    return r


for _o in (floor_op, ceil_op, trunc_op, sign_op):
    _o.defvjp(_zero_grad)
round_op.defvjp(lambda g: _zero_grad(g))


# ---------------------------------------------------------------- activations

@op(name="gelu", params=("approximate",), save=("x",))
def gelu_op(xp, x, approximate):
    """x Phi(x) (exact: Phi by erf) or 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))."""
    if approximate == "tanh":
        k = _m.sqrt(2 / _m.pi)
        return 0.5 * x * (1 + xp.tanh(k * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + erf_ref(xp, x * (1 / _m.sqrt(2.0))))


@gelu_op.vjp
def _(g, x, approximate):
    if approximate == "tanh":
        k = _m.sqrt(2 / _m.pi)
        t = tanh(k * (x + 0.044715 * x * x * x))
        return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 0.134145 * x * x)),)
    cdf = 0.5 * (1 + apply(erf_op, x * (1 / _m.sqrt(2.0))))
    pdf = exp(-0.5 * x * x) * (1 / _m.sqrt(2 * _m.pi))
    return (g * (cdf + x * pdf),)


@op(name="elu", params=("alpha", "scale"), save=("x", "out"), quiet=True)
def elu_op(xp, x, alpha, scale):
    """scale * (x if x > 0 else alpha (e^x - 1)) (elu: scale 1; selu: its constants)."""
    return scale * xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0)))


# out read below 0 only: at x = 0 the second derivative is 0, as torch's elu_double_backward
elu_op.defvjp(lambda g, x, out, alpha, scale: where(x > 0, g * scale, g * (
    where(x < 0, out, 0.0) + scale * alpha)))


@op(name="softplus", params=("beta", "threshold"), save=("x",))
def softplus_op(xp, x, beta, threshold):
    """ln(1 + e^(beta x)) / beta, and x where beta x > threshold (PyTorch's rule)."""
    bx = x * beta
    soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / beta
    return xp.where(bx > threshold, x, soft)


softplus_op.defvjp(lambda g, x, beta, threshold: where(x * beta > threshold, g,
                                                       g * sigmoid(x * beta)))


@op(name="leaky_relu", params=("negative_slope",), save=("x",))
def leaky_relu_op(xp, x, negative_slope):
    """x if x > 0 else negative_slope * x."""
    return xp.where(x > 0, x, x * negative_slope)


leaky_relu_op.defvjp(lambda g, x, negative_slope: g * call(act_mask, x,
                                                            params=("slope", negative_slope,
                                                                    None)), arrays=True)


@op(name="log_sigmoid", save=("x",))
def log_sigmoid_op(xp, x):
    """ln sigma(x) = min(x, 0) - ln(1 + e^-|x|), without overflow; d/dx = sigma(-x)."""
    x = floating(x)
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


log_sigmoid_op.defvjp(lambda g, x: g * sigmoid(-x))


@op(name="hardtanh", params=("min_val", "max_val"), save=("x",))
def hardtanh_op(xp, x, min_val, max_val):
    """clip(x, min_val, max_val); the gradient passes strictly inside (PyTorch)."""
    return xp.clip(x, min_val, max_val)


@op(name="act_mask", params=("kind", "lo", "hi"))
def act_mask(xp, x, kind, lo, hi):
    """The derivative of a piecewise-linear activation, read from x as torch's *_backward
    ops read it, in x's dtype: "slope": 1 where x > 0, else lo (leaky_relu); "clip": 0 where
    x <= lo or x >= hi, else 1 (hardtanh, relu6); "open": 1 where lo < x < hi, else 0
    (hardsigmoid); "outside": 0 where lo <= x <= hi, else 1 (hardshrink, softshrink,
    threshold). Differentiable with gradient 0, so that under create_graph the gradient of
    the activation stays in x's graph (a second derivative of zeros), as torch's."""
    one = x.dtype.type(1)
    if kind == "slope":
        return xp.where(x > 0, one, x.dtype.type(lo))
    if kind == "clip":
        return (~((x <= lo) | (x >= hi))).astype(x.dtype)
    if kind == "open":
        return ((x > lo) & (x < hi)).astype(x.dtype)
    return (~((x >= lo) & (x <= hi))).astype(x.dtype)


act_mask.defvjp(lambda g: call(zeros_grad, g), arrays=True)
hardtanh_op.defvjp(lambda g, x, min_val, max_val: g * call(act_mask, x, params=(
    "clip", min_val, max_val)), arrays=True)


@op(name="hardsigmoid", save=("x",))
def hardsigmoid_op(xp, x):
    """clip(x / 6 + 1/2, 0, 1); the gradient 1/6 strictly inside (-3, 3), as torch."""
    return xp.clip(x * (1.0 / 6.0) + 0.5, 0.0, 1.0)


hardsigmoid_op.defvjp(lambda g, x: g * call(act_mask, x, params=("open", -3.0, 3.0))
                      * (1.0 / 6.0), arrays=True)


@op(name="threshold", params=("threshold", "value"), save=("x",))
def threshold_op(xp, x, threshold, value):
    """value where x <= threshold, else x (NaN stays)."""
    return xp.where(x <= threshold, xp.asarray(value, dtype=x.dtype), x)


threshold_op.defvjp(lambda g, x, threshold, value: g * call(
    act_mask, x, params=("outside", -_m.inf, threshold)), arrays=True)


@op(name="hardshrink", params=("lambd",), save=("x",))
def hardshrink_op(xp, x, lambd):
    """0 where -lambd <= x <= lambd, else x (NaN stays)."""
    return xp.where((x >= -lambd) & (x <= lambd), x.dtype.type(0), x)


@op(name="softshrink", params=("lambd",), save=("x",), quiet=True)
def softshrink_op(xp, x, lambd):
    """x - lambd above lambd, x + lambd below -lambd, x * 0 between (signed zeros, NaN)."""
    return xp.where(x > lambd, x - lambd, xp.where(x < -lambd, x + lambd, x * 0))


hardshrink_op.defvjp(lambda g, x, lambd: g * call(act_mask, x, params=(
    "outside", -lambd, lambd)), arrays=True)
softshrink_op.defvjp(lambda g, x, lambd: g * call(act_mask, x, params=(
    "outside", -lambd, lambd)), arrays=True)


@op(name="softsign", save=("x",))
def softsign_op(xp, x):
    """x / (1 + |x|); d/dx = 1 / (1 + |x|)^2."""
    x = floating(x)
    return x / (1 + xp.abs(x))


@softsign_op.vjp
def _(g, x):
    d = 1 + abs(x)
    return (g / (d * d),)


@op(name="mish", save=("x",))
def mish_op(xp, x):
    """x tanh(softplus(x))."""
    x = floating(x)
    return x * xp.tanh(xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x))))


@mish_op.vjp
def _(g, x):
    t = tanh(apply(softplus_op, x, params=(1.0, 20.0)))
    return (g * (t + x * sigmoid(x) * (1 - t * t)),)


# ---------------------------------------------------------------- the F functions

sin, cos, tan = _unary(sin_op), _unary(cos_op), _unary(tan_op)
asin, acos, atan = _unary(asin_op), _unary(acos_op), _unary(atan_op)


def atan2(a, b):
    """torch.atan2: the angle of (b, a), elementwise."""
    a = _t(a)
    return apply(atan2_op, a, b if isinstance(b, (int, float)) else _t(b))


arctan2 = atan2
sinh, cosh = _unary(sinh_op), _unary(cosh_op)
asinh, acosh, atanh = _unary(asinh_op), _unary(acosh_op), _unary(atanh_op)
erf, exp2, expm1 = _unary(erf_op), _unary(exp2_op), _unary(expm1_op)
log2, log10, log1p = _unary(log2_op), _unary(log10_op), _unary(log1p_op)
rsqrt, square, reciprocal = _unary(rsqrt_op), _unary(square_op), _unary(reciprocal_op)
floor, ceil, trunc, sign = _unary(floor_op), _unary(ceil_op), _unary(trunc_op), \
    _unary(sign_op)
log_sigmoid, softsign = _unary(log_sigmoid_op), _unary(softsign_op)


def mish(x, inplace=False):
    """x tanh(softplus(x))."""
    if inplace:
        return in_place(x, mish, "mish")
    return apply(mish_op, _t(x))


def round(x, decimals=0):  # noqa: A001 - torch.round
    """x rounded half to even (at ``decimals`` places); gradient 0."""
    return apply(round_op, _t(x), params=(int(decimals),))


def logaddexp(a, b):
    """ln(e^a + e^b), elementwise, without overflow."""
    a = _t(a)
    return apply(logaddexp_op, a, b if isinstance(b, (Tensor, int, float)) else
                 Tensor(b, device=a.device))


def gelu(x, approximate="none"):
    """Gaussian error linear unit: ``approximate="none"`` (erf) or ``"tanh"``."""
    if approximate not in ("none", "tanh"):
        from ..errors import ArgumentError
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply(gelu_op, _t(x), params=(approximate,))


def elu(x, alpha=1.0, inplace=False):
    """x if x > 0 else alpha (e^x - 1)."""
    if inplace:
        return in_place(x, lambda t: elu(t, alpha), "elu")
    return apply(elu_op, _t(x), params=(float(alpha), 1.0))


def selu(x, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    if inplace:
        return in_place(x, selu, "selu")
    return apply(elu_op, _t(x), params=(_SELU_ALPHA, _SELU_SCALE))


def silu(x, inplace=False):
    """x sigma(x) (swish)."""
    if inplace:
        return in_place(x, silu, "silu")
    x = _t(x)
    return x * sigmoid(x)


def softplus(x, beta=1.0, threshold=20.0):
    """ln(1 + e^(beta x)) / beta; linear above ``threshold`` (as PyTorch)."""
    return apply(softplus_op, _t(x), params=(float(beta), float(threshold)))


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x."""
    if inplace:
        return in_place(x, lambda t: leaky_relu(t, negative_slope), "leaky_relu")
    return apply(leaky_relu_op, _t(x), params=(float(negative_slope),))


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]."""
    if inplace:
        return in_place(x, lambda t: hardtanh(t, min_val, max_val), "hardtanh")
    return apply(hardtanh_op, _t(x), params=(float(min_val), float(max_val)))


def relu6(x, inplace=False):
    """min(max(x, 0), 6) (hardtanh(x, 0, 6))."""
    return hardtanh(x, 0.0, 6.0, inplace)


__all__ = [
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "erf", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "square", "reciprocal", "sign",
    "floor", "ceil", "round", "trunc", "logaddexp", "atan2", "arctan2",
    "gelu", "elu", "selu", "silu", "softplus",
    "leaky_relu", "log_sigmoid", "hardtanh", "relu6", "softsign", "mish",
]
TENSOR_METHODS = {name: globals()[name] for name in (
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
    "erf", "exp2", "expm1", "log2", "log10", "log1p", "rsqrt", "square", "reciprocal", "sign",
    "floor", "ceil", "round", "trunc", "logaddexp", "atan2", "arctan2")}
TENSOR_METHODS.update(arcsin=asin, arccos=acos, arctan=atan, arcsinh=asinh, arccosh=acosh,
                      arctanh=atanh)
