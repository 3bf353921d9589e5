"""Keras 3's ``keras.ops.numpy``: the NumPy-like ops with Keras' names, argument names,
defaults and result dtypes (integers in, float32 out for the float-valued maths; index
results int32; ``std``/``var`` over the population; ``median``/``quantile`` interpolating as
NumPy). Each is built on gradengine's differentiable ops, so gradients flow; integer-only
maths (``gcd``, ``bitwise_*``), counting and set operations go through the dispatch as
non-differentiable ops."""

from __future__ import annotations

import builtins
import math

import numpy as np

from ... import functional as F
from ... import linalg as _linalg
from ...core.tensor import Tensor
from ...errors import ShapeError
from ...ops import creation as C
from ..backend import result_type
from ._wrap import array_call, floatx, int_result, is_float, pair, to_tensor, wrap_all

_t = to_tensor

__all__ = [
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "angle", "any", "append",
    "arange", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh",
    "argmax", "argmin", "argpartition", "argsort", "array", "array_split", "average",
    "bartlett", "bincount", "bitwise_and", "bitwise_invert", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "blackman",
    "broadcast_to", "cbrt", "ceil", "clip", "concatenate", "conj", "conjugate", "copy",
    "corrcoef", "correlate", "cos", "cosh", "count_nonzero", "cross", "cumprod", "cumsum",
    "deg2rad", "diag", "diagflat", "diagonal", "diff", "digitize", "divide", "divide_no_nan",
    "dot", "dsplit", "dstack", "einsum", "empty", "empty_like", "equal", "exp", "exp2",
    "expand_dims", "expm1", "eye", "fabs", "flip", "fliplr", "flipud", "floor",
    "floor_divide", "fmax", "fmin", "fmod", "full", "full_like", "gcd", "geomspace",
    "get_item", "greater", "greater_equal", "hamming", "hanning", "heaviside", "histogram",
    "hsplit", "hstack", "hypot", "i0", "identity", "imag", "inner", "isclose", "isfinite", "isin",
    "isinf", "isnan", "isneginf", "isposinf", "isreal", "kaiser", "kron", "lcm", "ldexp",
    "left_shift", "less", "less_equal", "linspace", "log", "log10", "log1p", "log2",
    "logaddexp", "logaddexp2", "logical_and", "logical_not", "logical_or", "logical_xor",
    "logspace", "matmul", "max", "maximum", "mean", "median", "meshgrid", "min", "minimum",
    "mod", "moveaxis", "multiply", "nan_to_num", "nanargmax", "nanargmin", "nancumprod",
    "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod",
    "nanquantile", "nanstd", "nansum", "nanvar", "ndim", "negative", "nextafter", "nonzero",
    "not_equal", "ones", "ones_like", "outer", "pad", "percentile", "power", "prod", "ptp",
    "quantile", "rad2deg", "ravel", "real", "reciprocal", "repeat", "reshape", "right_shift",
    "roll", "rot90", "round", "searchsorted", "select", "sign", "signbit", "sin", "sinc",
    "sinh", "size", "slogdet", "sort", "split", "sqrt", "square", "squeeze", "stack", "std",
    "subtract", "sum", "swapaxes", "take", "take_along_axis", "tan", "tanh", "tensordot",
    "tile", "trace", "transpose", "trapezoid", "tri", "tril", "triu", "true_divide", "trunc",
    "unique", "unravel_index", "vander", "var", "vdot", "vectorize", "view", "vsplit",
    "vstack", "where", "zeros", "zeros_like",
]


def _float(x):
    """``x`` as a Tensor, integers and bools cast to floatx (Keras' float-valued maths)."""
    x = _t(x)
    return x if is_float(x) else x.astype(floatx())


def _axes(axis, ndim_):
    if axis is None:
        return tuple(range(ndim_))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % builtins.max(ndim_, 1) for a in axis)


def _sum_dtype(x):
    return "int32" if x.dtype.name in ("bool", "uint8", "int8", "int16") else x.dtype


# ---------------------------------------------------------------- creation
def _dt(dtype, default):
    return np.dtype(dtype or default)


def zeros(shape, dtype=None):
    return C.zeros(_shape(shape), dtype=_dt(dtype, floatx()))


def ones(shape, dtype=None):
    return C.ones(_shape(shape), dtype=_dt(dtype, floatx()))


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def full(shape, fill_value, dtype=None):
    if isinstance(fill_value, Tensor):
        return F.broadcast_to(fill_value.astype(_dt(dtype, fill_value.dtype)),
                              _shape(shape)) * 1
    return C.full(_shape(shape), fill_value, dtype=_dt(dtype, floatx()))


def _like(x, dtype):
    x = _t(x)
    return _shape(x.shape), _dt(dtype, x.dtype)


def zeros_like(x, dtype=None):
    s, d = _like(x, dtype)
    return C.zeros(s, dtype=d, device=_t(x).device)


def ones_like(x, dtype=None):
    s, d = _like(x, dtype)
    return C.ones(s, dtype=d, device=_t(x).device)


def empty_like(x, dtype=None):
    return zeros_like(x, dtype)


def full_like(x, fill_value, dtype=None):
    s, d = _like(x, dtype)
    return C.full(s, fill_value, dtype=d, device=_t(x).device)


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def array(x, dtype=None):
    return _t(x, dtype)


def arange(start, stop=None, step=None, dtype=None):
    """int32 for integer arguments, floatx when any is a float (Keras)."""
    vals = [v for v in (start, stop, step) if v is not None]
    if dtype is None:
        dtype = floatx() if builtins.any(isinstance(v, float) for v in vals) else "int32"
    step = 1 if step is None else step
    if stop is None:
        start, stop = 0, start
    return C.arange(start, stop, step, dtype=np.dtype(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    out = np.linspace(np.asarray(_host(start), np.float64), np.asarray(_host(stop), np.float64),
                      int(num), endpoint=endpoint, retstep=retstep, axis=axis)
    if retstep:
        vals, step = out
        return Tensor(vals.astype(_dt(dtype, floatx()))), Tensor(np.asarray(step, floatx()))
    return Tensor(out.astype(_dt(dtype, floatx())))


def _host(v):
    return v.numpy() if isinstance(v, Tensor) else v


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    out = np.logspace(np.asarray(_host(start), np.float64), np.asarray(_host(stop), np.float64),
                      int(num), endpoint=endpoint, base=base, axis=axis)
    return Tensor(out.astype(_dt(dtype, floatx())))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    out = np.geomspace(np.asarray(_host(start), np.float64),
                       np.asarray(_host(stop), np.float64), int(num), endpoint=endpoint,
                       axis=axis)
    return Tensor(out.astype(_dt(dtype, floatx())))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras' names
    return Tensor(np.eye(int(N), None if M is None else int(M), int(k or 0),
                         dtype=_dt(dtype, floatx())))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras' names
    return Tensor(np.tri(int(N), None if M is None else int(M), int(k),
                         dtype=_dt(dtype, floatx())))


def _window(fn, x):
    return Tensor(fn(int(_host(x))).astype(floatx()))


def bartlett(x):
    return _window(np.bartlett, x)


def blackman(x):
    return _window(np.blackman, x)


def hamming(x):
    return _window(np.hamming, x)


def hanning(x):
    return _window(np.hanning, x)


def kaiser(x, beta):
    return Tensor(np.kaiser(int(_host(x)), float(_host(beta))).astype(floatx()))


def meshgrid(*x, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    return list(F.meshgrid(*[_t(v) for v in x], indexing=indexing))


def vander(x, N=None, increasing=False):  # noqa: N803 - Keras' name
    x = _t(x)
    n = x.shape[0] if N is None else int(N)
    powers = range(n) if increasing else range(n - 1, -1, -1)
    cols = [ones_like(x) if p == 0 else x ** p for p in powers]
    return F.stack(cols, axis=-1) if cols else F.reshape(x, (x.shape[0], 0))


# ---------------------------------------------------------------- elementwise, one argument
def _unary_float(fn):
    return lambda x: fn(_float(x))


abs = lambda x: F.abs(_t(x))  # noqa: E731,A001 - Keras' name
absolute = abs
fabs = _unary_float(F.abs)  # Keras: fabs is a float op (an int input gives float32)
negative = lambda x: -_t(x)  # noqa: E731


def _bool_as_int(x):
    x = _t(x)
    return x.astype("int32") if x.dtype == np.bool_ else x


square = lambda x: F.square(_bool_as_int(x))  # noqa: E731 - Keras: bool squares as int32


def sign(x):
    x = _t(x)
    return x if x.dtype == np.bool_ else F.sign(x)  # (a bool is its own sign, as Keras)
exp = _unary_float(F.exp)
exp2 = _unary_float(F.exp2)
expm1 = _unary_float(F.expm1)
log = _unary_float(F.log)
log2 = _unary_float(F.log2)
log10 = _unary_float(F.log10)
log1p = _unary_float(F.log1p)
sqrt = _unary_float(F.sqrt)
sin, cos, tan = _unary_float(F.sin), _unary_float(F.cos), _unary_float(F.tan)
sinh, cosh, tanh = _unary_float(F.sinh), _unary_float(F.cosh), _unary_float(F.tanh)
arcsin, arccos, arctan = _unary_float(F.asin), _unary_float(F.acos), _unary_float(F.atan)
arcsinh, arccosh = _unary_float(F.asinh), _unary_float(F.acosh)
arctanh = _unary_float(F.atanh)
reciprocal = _unary_float(F.reciprocal)
for _n in ("abs", "negative", "square", "sign", "exp", "exp2", "expm1", "log", "log2",
           "log10", "log1p", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsin",
           "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "reciprocal"):
    globals()[_n].__name__ = _n
del _n
fabs.__name__ = "fabs"


def cbrt(x):
    x = _float(x)
    return F.sign(x) * F.abs(x) ** (1.0 / 3.0)


def deg2rad(x):
    return _float(x) * (math.pi / 180.0)


def rad2deg(x):
    return _float(x) * (180.0 / math.pi)


def sinc(x):
    x = _float(x)
    px = x * math.pi
    safe = F.where(x == 0, ones_like(x), px)
    return F.where(x == 0, ones_like(x), F.sin(safe) / safe)


def i0(x):
    """The modified Bessel function of order 0: its power series for ``|x| <= 30`` and the
    asymptotic expansion beyond, computed in float64 (differentiable)."""
    x = _float(x)
    z = x.astype("float64")
    a = F.abs(z)
    small = F.clip(z, -30.0, 30.0)
    q = small * small / 4.0
    term, total = full_like(z, 1.0), full_like(z, 1.0)
    for k in range(1, 90):
        term = term * q / float(k * k)
        total = total + term
    big = F.clip(a, 30.0, None)
    inv = 1.0 / (8.0 * big)
    series = 1.0 + inv * (1.0 + inv * (4.5 + inv * (37.5 + inv * 459.375)))
    asym = F.exp(big) / F.sqrt(2.0 * math.pi * big) * series
    return F.where(a <= 30.0, total, asym).astype(x.dtype)


def floor(x):
    return F.floor(_float(x))


def ceil(x):
    return F.ceil(_float(x))


def trunc(x):
    x = _t(x)
    return F.trunc(x) if is_float(x) else x


def round(x, decimals=0):  # noqa: A001 - Keras' name
    x = _t(x)
    if not is_float(x):
        if decimals >= 0:
            return x
        f = 10 ** (-decimals)
        return (F.round(x.astype("float64") / f) * f).astype(x.dtype)
    return F.round(x, decimals=decimals)


def signbit(x):
    x = _t(x)
    return array_call("signbit", lambda xp, a: xp.signbit(a), x)


def copy(x):
    return _t(x).clone()


def conj(x):
    return _t(x)


conjugate = conj


def real(x):
    return _t(x)


def imag(x):
    return zeros_like(_t(x))


def angle(x):
    x = _float(x)
    return F.where(F.isnan(x), x, F.where(x < 0, full_like(x, math.pi), zeros_like(x)))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    x = _t(x)
    return F.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf) if is_float(x) else x


def isnan(x):
    return F.isnan(_t(x))


def isinf(x):
    return F.isinf(_t(x))


def isfinite(x):
    return F.isfinite(_t(x))


def isneginf(x):
    x = _t(x)
    return F.logical_and(F.isinf(x), x < 0)


def isposinf(x):
    x = _t(x)
    return F.logical_and(F.isinf(x), x > 0)


def isreal(x):
    return ones_like(_t(x), dtype="bool")


def logical_not(x):
    return F.logical_not(_t(x).astype("bool"))


def bitwise_not(x):
    return F.bitwise_not(_t(x))


bitwise_invert = bitwise_not


# ---------------------------------------------------------------- elementwise, two arguments
def add(x1, x2):
    a, b = pair(x1, x2)
    return a + b


def subtract(x1, x2):
    a, b = pair(x1, x2)
    return a - b


def multiply(x1, x2):
    a, b = pair(x1, x2)
    return a * b


def divide(x1, x2):
    a, b = pair(x1, x2)
    if not is_float(a) and not is_float(b):
        a, b = a.astype(floatx()), b.astype(floatx())
    return a / b


true_divide = divide


def divide_no_nan(x1, x2):
    a, b = pair(x1, x2)
    if not is_float(a) and not is_float(b):
        a, b = a.astype(floatx()), b.astype(floatx())
    safe = F.where(b == 0, ones_like(b), b)
    q = a / safe
    return F.where(b == 0, zeros_like(q), q)


def power(x1, x2):
    a, b = pair(x1, x2)
    return a ** b


def maximum(x1, x2):
    return F.maximum(*pair(x1, x2))


def minimum(x1, x2):
    return F.minimum(*pair(x1, x2))


def fmax(x1, x2):
    a, b = pair(x1, x2)
    if not is_float(a) and not is_float(b):
        return F.maximum(a, b)
    return F.where(F.isnan(a), b, F.where(F.isnan(b), a, F.maximum(a, b)))


def fmin(x1, x2):
    a, b = pair(x1, x2)
    if not is_float(a) and not is_float(b):
        return F.minimum(a, b)
    return F.where(F.isnan(a), b, F.where(F.isnan(b), a, F.minimum(a, b)))


def mod(x1, x2):
    return F.remainder(*pair(x1, x2))


def fmod(x1, x2):
    return F.fmod(*pair(x1, x2))


def floor_divide(x1, x2):
    return F.floor_divide(*pair(x1, x2))


def arctan2(x1, x2):
    a, b = pair(x1, x2)
    return F.arctan2(_float(a), _float(b))


def hypot(x1, x2):
    a, b = pair(x1, x2)
    return F.hypot(_float(a), _float(b))


def logaddexp(x1, x2):
    a, b = pair(x1, x2)
    return F.logaddexp(_float(a), _float(b))


def logaddexp2(x1, x2):
    a, b = pair(x1, x2)
    return F.logaddexp2(_float(a), _float(b))


def heaviside(x1, x2):
    a, b = pair(x1, x2)
    a = a if is_float(a) else a.astype("float32")  # Keras: always a float result
    return F.heaviside(a, b.astype(a.dtype))


def ldexp(x1, x2):
    a, b = pair(x1, x2)
    return _float(a) * (2.0 ** b.astype(_float(a).dtype))


def nextafter(x1, x2):
    a, b = pair(_float(x1), _float(x2))
    return array_call("nextafter", lambda xp, u, v: xp.nextafter(u, v.astype(u.dtype)), a, b)


def _compare(fn):
    return lambda x1, x2: fn(*pair(x1, x2))


equal = _compare(lambda a, b: a == b)
not_equal = _compare(lambda a, b: a != b)
greater = _compare(lambda a, b: a > b)
greater_equal = _compare(lambda a, b: a >= b)
less = _compare(lambda a, b: a < b)
less_equal = _compare(lambda a, b: a <= b)
for _n in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal"):
    globals()[_n].__name__ = _n
del _n


def _logical(fn):
    def op(x1, x2):
        a, b = pair(x1, x2)
        return fn(a.astype("bool"), b.astype("bool"))
    return op


logical_and = _logical(F.logical_and)
logical_or = _logical(F.logical_or)
logical_xor = _logical(F.logical_xor)


def bitwise_and(x, y):
    return F.bitwise_and(*pair(x, y))


def bitwise_or(x, y):
    return F.bitwise_or(*pair(x, y))


def bitwise_xor(x, y):
    return F.bitwise_xor(*pair(x, y))


def bitwise_left_shift(x, y):
    a, b = pair(x, y)
    return array_call("left_shift", lambda xp, u, v: xp.left_shift(u, v.astype(u.dtype)), a, b)


def bitwise_right_shift(x, y):
    a, b = pair(x, y)
    return array_call("right_shift", lambda xp, u, v: xp.right_shift(u, v.astype(u.dtype)),
                      a, b)


left_shift, right_shift = bitwise_left_shift, bitwise_right_shift


def gcd(x1, x2):
    return array_call("gcd", lambda xp, u, v: xp.gcd(u, v), *pair(x1, x2))


def lcm(x1, x2):
    return array_call("lcm", lambda xp, u, v: xp.lcm(u, v), *pair(x1, x2))


def clip(x, x_min, x_max):
    x = _t(x)
    if x.dtype == np.bool_:
        x = x.astype("int32")
    return F.clip(x, _scalar(x_min), _scalar(x_max))


def _scalar(v):
    return v.item() if isinstance(v, Tensor) and v.ndim == 0 else v


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = pair(x1, x2)
    return F.isclose(a, b.astype(a.dtype), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    return all(isclose(x1, x2, rtol, atol, equal_nan))


def where(condition, x1=None, x2=None):
    """With the condition alone: the indices of its True values stacked into one
    ``(ndim, count)`` int64 Tensor, as Keras' torch backend (``rows, cols = where(c)``
    unpacks as with NumPy's tuple)."""
    condition = _t(condition).astype("bool")
    if x1 is None and x2 is None:
        return F.stack([i.astype("int64") for i in F.nonzero(condition, as_tuple=True)])
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    a, b = pair(x1, x2)
    if a.dtype != b.dtype:
        dt = result_type(a.dtype.name, b.dtype.name)
        a, b = a.astype(dt), b.astype(dt)
    return F.where(condition, a, b)


def select(condlist, choicelist, default=0):
    out = _t(default) if isinstance(default, Tensor) else None
    choices = [_t(c) for c in choicelist]
    out = full_like(choices[0], default) if out is None else out
    for cond_, choice in zip(reversed(list(condlist)), reversed(choices)):
        out = F.where(_t(cond_).astype("bool"), choice, out)
    return out


# ---------------------------------------------------------------- reductions
def _reduce_axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    x = _t(x)
    if axis == () or axis == []:
        return x
    return F.sum(x, axis=_reduce_axis(axis), keepdims=keepdims).astype(_sum_dtype(x))


def prod(x, axis=None, keepdims=False, dtype=None):
    x = _t(x)
    out = _prod(x, _reduce_axis(axis), keepdims)
    return out.astype(np.dtype(dtype) if dtype else _sum_dtype(x))


def _prod(x, axis, keepdims):
    if axis is None:
        out = F.prod(F.reshape(x, (-1,)), 0)
        return F.reshape(out, (1,) * x.ndim) if keepdims else out
    for a in sorted(_axes(axis, x.ndim), reverse=True):
        x = F.prod(x, a, keepdim=keepdims)
    return x


def mean(x, axis=None, keepdims=False):
    return F.mean(_float(x), axis=_reduce_axis(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return F.var(_float(x), axis=_reduce_axis(axis), keepdims=keepdims, correction=0)


def std(x, axis=None, keepdims=False):
    return F.std(_float(x), axis=_reduce_axis(axis), keepdims=keepdims, correction=0)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras' name
    x = _t(x)
    if x.size == 0 and initial is not None:
        return C.full(_reduced_shape(x.shape, axis, keepdims), initial, dtype=x.dtype)
    out = F.amax(x, axis=_reduce_axis(axis) if axis is not None else tuple(range(x.ndim)),
                 keepdims=keepdims)
    return out if initial is None else F.maximum(out, _weak_like(initial, out))


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras' name
    x = _t(x)
    if x.size == 0 and initial is not None:
        return C.full(_reduced_shape(x.shape, axis, keepdims), initial, dtype=x.dtype)
    out = F.amin(x, axis=_reduce_axis(axis) if axis is not None else tuple(range(x.ndim)),
                 keepdims=keepdims)
    return out if initial is None else F.minimum(out, _weak_like(initial, out))


def _weak_like(v, like):
    return pair(like, v)[1]


def _reduced_shape(shape_, axis, keepdims):
    axes = _axes(axis, len(shape_))
    return tuple(1 if i in axes else d for i, d in enumerate(shape_) if keepdims or i not in axes)


def amax(x, axis=None, keepdims=False):
    return max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    return min(x, axis=axis, keepdims=keepdims)


def ptp(x, axis=None, keepdims=False):
    return max(x, axis, keepdims) - min(x, axis, keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    x = _t(x).astype("bool")
    return F.all(x, axis=_reduce_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    x = _t(x).astype("bool")
    return F.any(x, axis=_reduce_axis(axis), keepdims=keepdims)


def argmax(x, axis=None, keepdims=False):
    x = _t(x)
    return int_result(F.argmax(x, axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    x = _t(x)
    return int_result(F.argmin(x, axis=axis, keepdims=keepdims))


def count_nonzero(x, axis=None):
    x = _t(x)
    return int_result(F.sum((x != 0).astype("int32"), axis=_reduce_axis(axis)))


def average(x, axis=None, weights=None):
    x = _float(x)
    if weights is None:
        return mean(x, axis=axis)
    w = _t(weights).astype(x.dtype)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        shape_ = [1] * x.ndim
        shape_[axis] = w.shape[0]
        w = F.reshape(w, tuple(shape_))
    return F.sum(x * w, axis=axis) / F.sum(F.broadcast_to(w, x.shape), axis=axis)


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """NumPy's quantile (``method``: linear, lower, higher, midpoint, nearest); ``q`` may be
    a vector (a leading axis of the result)."""
    x = _float(x)
    qt = _t(q)
    qs = np.asarray(qt.numpy(), np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"quantile: q must lie in [0, 1], got {qs.tolist()}")
    nd = x.ndim
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = _axes(axis, nd)
    rest = [i for i in range(nd) if i not in axes]
    moved = F.transpose(x, tuple(rest + list(axes))) if nd else x
    flat = F.reshape(moved, tuple(x.shape[i] for i in rest) + (-1,))
    srt = F.sort(flat, dim=-1)[0]
    n = srt.shape[-1]
    # NumPy's rule: a NaN anywhere in a slice makes its quantiles NaN (sort puts it last)
    nan_rows = F.isnan(srt[..., -1]) if n else None
    outs = []
    for qv in qs.reshape(-1):
        pos = qv * (n - 1)
        lo, hi = int(math.floor(pos)), int(math.ceil(pos))
        frac = pos - lo
        a, b = srt[..., lo], srt[..., hi]
        if method == "linear":
            v = a + (b - a) * frac
        elif method == "lower":
            v = a
        elif method == "higher":
            v = b
        elif method == "midpoint":
            v = (a + b) * 0.5
        elif method == "nearest":
            v = srt[..., int(np.round(pos))]
        else:
            raise ValueError(f"quantile: unknown method {method!r}")
        if nan_rows is not None:  # (no host read: a ge.jit replay keeps it)
            v = F.where(nan_rows, srt[..., -1], v)
        if keepdims:
            shape_ = [1 if i in axes else x.shape[i] for i in range(nd)]
            v = F.reshape(v, tuple(shape_))
        outs.append(v)
    out = F.stack(outs, axis=0) if qs.ndim else outs[0]
    return F.reshape(out, qs.shape + tuple(out.shape[1:])) if qs.ndim > 1 else out


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return quantile(x, _t(q).astype("float64") / 100.0, axis=axis, method=method,
                    keepdims=keepdims)


def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


# nan reductions
def _nan_fill(x, value):
    x = _t(x)
    if not is_float(x):
        return x, None
    nan = F.isnan(x)
    return F.where(nan, full_like(x, value), x), nan


def nansum(x, axis=None, keepdims=False):
    return sum(_nan_fill(x, 0.0)[0], axis, keepdims)


def nanprod(x, axis=None, keepdims=False):
    return prod(_nan_fill(x, 1.0)[0], axis, keepdims)


def _nan_count(x, axis, keepdims):
    x = _float(x)
    return F.sum(F.logical_not(F.isnan(x)).astype(x.dtype), axis=_reduce_axis(axis),
                 keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False):
    x = _float(x)
    return nansum(x, axis, keepdims) / _nan_count(x, axis, keepdims)


def nanvar(x, axis=None, keepdims=False):
    x = _float(x)
    m = nanmean(x, axis, True)
    d, _ = _nan_fill(x - m, 0.0)
    return F.sum(d * d, axis=_reduce_axis(axis), keepdims=keepdims) / \
        _nan_count(x, axis, keepdims)


def nanstd(x, axis=None, keepdims=False):
    return F.sqrt(nanvar(x, axis, keepdims))


def _nan_extreme(fn, fill, x, axis, keepdims):
    x = _t(x)
    filled, nan = _nan_fill(x, fill)
    out = fn(filled, axis, keepdims)
    if nan is None:
        return out
    all_nan = F.all(nan, axis=_reduce_axis(axis), keepdims=keepdims)
    return F.where(all_nan, full_like(out, float("nan")), out)


def nanmax(x, axis=None, keepdims=False):
    return _nan_extreme(max, -np.inf, x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    return _nan_extreme(min, np.inf, x, axis, keepdims)


def nanargmax(x, axis=None, keepdims=False):
    return argmax(_nan_fill(x, -np.inf)[0], axis, keepdims)


def nanargmin(x, axis=None, keepdims=False):
    return argmin(_nan_fill(x, np.inf)[0], axis, keepdims)


def nancumsum(x, axis=None, dtype=None):
    return cumsum(_nan_fill(x, 0.0)[0], axis, dtype)


def nancumprod(x, axis=None, dtype=None):
    return cumprod(_nan_fill(x, 1.0)[0], axis, dtype)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """Quantiles ignoring NaNs (computed per slice where the NaN counts differ)."""
    x = _float(x)
    if not bool(F.any(F.isnan(x)).item()):
        return quantile(x, q, axis, method, keepdims)
    if axis is None:
        keep = _t(x)[F.logical_not(F.isnan(x))]
        out = quantile(keep, q, None, method)
        if keepdims:
            out = F.reshape(out, tuple(out.shape) + (1,) * x.ndim)
        return out
    if not isinstance(axis, int):
        raise NotImplementedError("nanquantile: with NaNs, axis must be None or an int")
    moved = F.moveaxis(x, axis, -1)
    lead = moved.shape[:-1]
    rows = F.reshape(moved, (-1, moved.shape[-1]))
    vals = []
    for i in range(rows.shape[0]):
        r = rows[i]
        r = r[F.logical_not(F.isnan(r))]
        vals.append(quantile(r, q, None, method) if r.shape[0] else
                    C.full(np.shape(_host(q)), float("nan"), dtype=x.dtype))
    out = F.stack(vals, axis=-1)
    qshape = tuple(out.shape[:-1])
    out = F.reshape(out, qshape + tuple(lead))
    if keepdims:
        out = F.unsqueeze(out, len(qshape) + (axis % x.ndim))
    return out


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return nanquantile(x, _t(q).astype("float64") / 100.0, axis, method, keepdims)


def nanmedian(x, axis=None, keepdims=False):
    return nanquantile(x, 0.5, axis, keepdims=keepdims)


def cumsum(x, axis=None, dtype=None):
    x = _t(x)
    if axis is None:
        x, axis = F.reshape(x, (-1,)), 0
    out = F.cumsum(x, axis)
    return out.astype(np.dtype(dtype) if dtype else _sum_dtype(x))


def cumprod(x, axis=None, dtype=None):
    x = _t(x)
    if axis is None:
        x, axis = F.reshape(x, (-1,)), 0
    out = F.cumprod(x, axis)
    return out.astype(np.dtype(dtype) if dtype else _sum_dtype(x))


def diff(a, n=1, axis=-1):
    a = _t(a)
    if a.dtype == np.bool_:  # Keras (NumPy): the differences of booleans are "not equal"
        for _ in range(n):
            length = a.shape[axis]
            a = F.narrow(a, axis, 1, length - 1) != F.narrow(a, axis, 0, length - 1)
        return a
    return F.diff(a, n=n, dim=axis)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = _float(y)
    yl = F.narrow(y, axis, 1, y.shape[axis] - 1)
    yr = F.narrow(y, axis, 0, y.shape[axis] - 1)
    if x is None:
        return F.sum((yl + yr) * (dx / 2.0), axis=axis)
    d = diff(_t(x).astype(y.dtype), axis=-1 if _t(x).ndim == 1 else axis)
    if d.ndim == 1 and y.ndim > 1:
        shape_ = [1] * y.ndim
        shape_[axis] = d.shape[0]
        d = F.reshape(d, tuple(shape_))
    return F.sum((yl + yr) * d / 2.0, axis=axis)


# ---------------------------------------------------------------- shapes
def ndim(x):
    return _t(x).ndim


def size(x):
    """The number of elements, as a 0-d int64 Tensor (Keras' torch backend)."""
    return Tensor(np.asarray(int(np.prod(x.shape)), dtype=np.int64))


def reshape(x, newshape):
    if isinstance(newshape, int):
        newshape = (newshape,)
    return F.reshape(_t(x), tuple(-1 if d is None else int(d) for d in newshape))


def ravel(x):
    return F.reshape(_t(x), (-1,))


def transpose(x, axes=None):
    x = _t(x)
    return F.transpose(x, tuple(reversed(range(x.ndim))) if axes is None else tuple(axes))


def expand_dims(x, axis):
    x = _t(x)
    if isinstance(axis, (list, tuple)):
        out_nd = x.ndim + len(axis)
        for a in sorted(a % out_nd for a in axis):
            x = F.unsqueeze(x, a)
        return x
    return F.unsqueeze(x, axis)


def squeeze(x, axis=None):
    x = _t(x)
    if isinstance(axis, (list, tuple)):
        for a in sorted((a % x.ndim for a in axis), reverse=True):
            x = F.squeeze(x, a)
        return x
    return F.squeeze(x, axis)


def broadcast_to(x, shape):
    return F.broadcast_to(_t(x), _shape(shape))


def moveaxis(x, source, destination):
    return F.moveaxis(_t(x), source, destination)


def swapaxes(x, axis1, axis2):
    return F.swapaxes(_t(x), axis1, axis2)


def _common(xs):
    ts = [_t(v) for v in xs]
    kinds = {t.dtype for t in ts}
    if len(kinds) > 1:
        dt = result_type(*[k.name for k in kinds])
        ts = [t.astype(dt) for t in ts]
    return ts


def concatenate(xs, axis=0):
    ts = _common(xs)
    if axis is None:
        return F.concatenate([F.reshape(t, (-1,)) for t in ts], axis=0)
    return F.concatenate(ts, axis=axis)


def append(x1, x2, axis=None):
    return concatenate([x1, x2], axis=axis)


def stack(x, axis=0):
    return F.stack(_common(x), axis=axis)


def _atleast(t, n):
    if t.ndim >= n:
        return t
    if n == 2:
        return F.reshape(t, (1, -1) if t.ndim == 1 else (1, 1))
    if t.ndim == 0:
        return F.reshape(t, (1, 1, 1))
    if t.ndim == 1:
        return F.reshape(t, (1, t.shape[0], 1))
    return F.unsqueeze(t, -1)


def hstack(xs):
    ts = _common(xs)
    if ts[0].ndim <= 1:
        return F.concatenate([F.reshape(t, (-1,)) for t in ts], axis=0)
    return F.concatenate(ts, axis=1)


def vstack(xs):
    return F.concatenate([_atleast(t, 2) for t in _common(xs)], axis=0)


def dstack(xs):
    return F.concatenate([_atleast(t, 3) for t in _common(xs)], axis=2)


def _split_points(n, indices_or_sections, even, name):
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if even and n % k:
            raise ShapeError(f"{name}: an axis of size {n} does not divide into {k} equal "
                             "sections")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        return list(np.cumsum(sizes)[:-1])
    return [int(i) for i in indices_or_sections]


def _split(x, points, axis):
    n = x.shape[axis]
    bounds = [0] + [builtins.min(builtins.max(p if p >= 0 else p + n, 0), n) for p in points]
    bounds.append(n)
    return [F.narrow(x, axis, a, builtins.max(b - a, 0)) for a, b in zip(bounds, bounds[1:])]


def split(x, indices_or_sections, axis=0):
    x = _t(x)
    return _split(x, _split_points(x.shape[axis], indices_or_sections, True, "split"), axis)


def array_split(x, indices_or_sections, axis=0):
    x = _t(x)
    return _split(x, _split_points(x.shape[axis], indices_or_sections, False, "array_split"),
                  axis)


def hsplit(x, indices_or_sections):
    x = _t(x)
    return split(x, indices_or_sections, axis=1 if x.ndim > 1 else 0)


def vsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=2)


def flip(x, axis=None):
    x = _t(x)
    axes = _axes(axis, x.ndim)
    return F.flip(x, *axes) if axes else x


def fliplr(x):
    return F.fliplr(_t(x))


def flipud(x):
    return F.flipud(_t(x))


def rot90(array, k=1, axes=(0, 1)):  # noqa: A002 - Keras' name
    return F.rot90(_t(array), k=k, dims=tuple(axes))


def roll(x, shift, axis=None):
    x = _t(x)
    if axis is None:
        return F.reshape(F.roll(F.reshape(x, (-1,)), shift, 0), tuple(x.shape))
    return F.roll(x, shift, axis)


def tile(x, repeats):
    x = _t(x)
    reps = (int(repeats),) if isinstance(repeats, (int, np.integer)) else \
        tuple(int(r) for r in _host(repeats))
    return F.tile(x, *reps)


def repeat(x, repeats, axis=None):
    x = _t(x)
    if isinstance(repeats, Tensor):
        repeats = repeats.tolist()
    if isinstance(repeats, (list, tuple)) and len(repeats) == 1:
        repeats = repeats[0]
    if axis is None:
        x, axis = F.reshape(x, (-1,)), 0
    if isinstance(repeats, (list, tuple)):
        repeats = Tensor(np.asarray(repeats, np.int64), device=x.device)
    return F.repeat_interleave(x, repeats, dim=axis)


def tril(x, k=0):
    return F.tril(_t(x), diagonal=k)


def triu(x, k=0):
    return F.triu(_t(x), diagonal=k)


def diag(x, k=0):
    return F.diag(_t(x), diagonal=k)


def diagflat(x, k=0):
    return F.diag(F.reshape(_t(x), (-1,)), diagonal=k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    return F.diagonal(_t(x), offset=offset, dim1=axis1, dim2=axis2)


def trace(x, offset=0, axis1=0, axis2=1):
    x = _t(x)
    d = F.diagonal(x, offset=offset, dim1=axis1, dim2=axis2)
    return F.sum(d, axis=-1).astype(_sum_dtype(x))


def _pad_width(pad_width, nd):
    pw = np.asarray(_host(pad_width), dtype=np.int64)
    return [tuple(int(v) for v in p) for p in np.broadcast_to(pw, (nd, 2))]


def pad(x, pad_width, mode="constant", constant_values=None):
    """NumPy's pad (modes constant, reflect, symmetric, edge, wrap; "circular" is wrap)."""
    x = _t(x)
    widths = _pad_width(pad_width, x.ndim)
    if mode == "constant":
        flat = [v for p in reversed(widths) for v in p]
        value = 0 if constant_values is None else _scalar(constant_values)
        return F.pad(x, flat, mode="constant", value=value)
    if constant_values is not None:
        raise ValueError(f"pad: constant_values is only for mode='constant', got mode={mode!r}")
    if mode == "circular":  # Keras' name (torch's) for NumPy's "wrap"
        mode = "wrap"
    if mode not in ("reflect", "symmetric", "edge", "wrap"):
        raise ValueError(f"pad: unsupported mode {mode!r}")
    for ax, (lo, hi) in enumerate(widths):
        if lo or hi:
            x = _pad_axis(x, ax, lo, hi, mode)
    return x


def _pad_axis(x, ax, lo, hi, mode):
    n = x.shape[ax]
    idx = np.arange(-lo, n + hi)
    if mode == "edge":
        idx = np.clip(idx, 0, n - 1)
    elif mode == "wrap":
        idx = idx % n
    elif mode == "reflect":
        period = 2 * (n - 1) if n > 1 else 1
        idx = np.abs(idx) % period
        idx = np.where(idx >= n, period - idx, idx)
    else:  # symmetric
        period = 2 * n
        idx = idx % period
        idx = np.where(idx >= n, period - 1 - idx, idx)
    return F.index_select(x, ax, Tensor(idx.astype(np.int64), device=x.device))


# ---------------------------------------------------------------- indexing, sorting, searching
def get_item(x, key):
    return _t(x)[key]


def _norm_index(idx, n):
    return F.where(idx < 0, idx + n, idx)


def take(x, indices, axis=None):
    x = _t(x)
    idx = _t(indices).astype("int64")
    if axis is None:
        x, axis = F.reshape(x, (-1,)), 0
    axis %= x.ndim
    n = x.shape[axis]
    flat = _norm_index(F.reshape(idx, (-1,)), n)
    out = F.index_select(x, axis, flat)
    return F.reshape(out, tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:]))


def take_along_axis(x, indices, axis=None):
    x = _t(x)
    idx = _t(indices).astype("int64")
    if axis is None:
        x, axis = F.reshape(x, (-1,)), 0
        idx = F.reshape(idx, (-1,))
    axis %= x.ndim
    idx = _norm_index(idx, x.shape[axis])
    shape_x = list(x.shape)
    shape_i = list(idx.shape)
    shape_x[axis] = 1
    shape_i[axis] = 1
    common = np.broadcast_shapes(tuple(shape_x), tuple(shape_i))
    xs = list(common)
    xs[axis] = x.shape[axis]
    ids = list(common)
    ids[axis] = idx.shape[axis]
    return F.take_along_dim(F.broadcast_to(x, tuple(xs)), F.broadcast_to(idx, tuple(ids)),
                            axis)


def sort(x, axis=-1):
    x = _t(x)
    if axis is None:
        x, axis = F.reshape(x, (-1,)), 0
    return F.sort(x, dim=axis)[0]


def argsort(x, axis=-1):
    x = _t(x)
    if axis is None:
        x, axis = F.reshape(x, (-1,)), 0
    if x.ndim == 0:
        return Tensor(np.zeros((), np.int32))
    return int_result(F.argsort(x, dim=axis, stable=True))


def argpartition(x, kth, axis=-1):
    """Indices of a partition: here a full stable argsort (one valid partition)."""
    return argsort(x, axis=axis)


def searchsorted(sorted_sequence, values, side="left"):
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    seq = _t(sorted_sequence)
    vals = _t(values)
    if seq.ndim != 1:
        raise ShapeError(f"searchsorted: sorted_sequence must be 1-D, got shape "
                         f"{tuple(seq.shape)}")
    return int_result(F.searchsorted(seq, vals.astype(seq.dtype), side=side))


def digitize(x, bins):
    x, b = _t(x), _t(bins)
    return int_result(F.searchsorted(b, x.astype(b.dtype), side="right"))


def nonzero(x):
    x = _t(x)
    return tuple(int_result(i) for i in F.nonzero(x, as_tuple=True))


def unravel_index(indices, shape):
    idx = _t(indices)
    out = array_call("unravel_index",
                     lambda xp, a: tuple(xp.asarray(v) for v in
                                         xp.unravel_index(a, tuple(int(s) for s in shape))),
                     idx)
    return tuple(o.astype(idx.dtype) for o in out)


def isin(x1, x2, assume_unique=False, invert=False):
    a, b = pair(x1, x2)
    return array_call("isin", lambda xp, u, v: xp.isin(u, v, assume_unique=assume_unique,
                                                        invert=invert), a, b)


def unique(x, sorted=True, return_index=False, return_inverse=False,  # noqa: A002
           return_counts=False, axis=None, size=None, fill_value=None):
    """NumPy's unique (sorted; index, inverse and counts int64 as Keras' torch backend);
    ``size`` pads (with ``fill_value``, else the smallest
    value) or truncates the unique values to a fixed length."""
    x = _t(x)

    def run(xp, a):
        res = np.unique(xp.asnumpy(a) if hasattr(xp, "asnumpy") else a,
                        return_index=True, return_inverse=True, return_counts=True, axis=axis)
        vals, index, inverse, counts = res
        if size is not None:
            n = vals.shape[0 if axis is None else axis]
            if n < size:
                fill = vals.min() if fill_value is None else fill_value
                pad_shape = list(vals.shape)
                pad_shape[0 if axis is None else axis] = size - n
                vals = np.concatenate([vals, np.full(pad_shape, fill, vals.dtype)],
                                      axis=0 if axis is None else axis)
                index = np.concatenate([index, np.zeros(size - n, index.dtype)])
                counts = np.concatenate([counts, np.zeros(size - n, counts.dtype)])
            else:
                vals = np.take(vals, np.arange(size), axis=0 if axis is None else axis)
                index, counts = index[:size], counts[:size]
        if axis is None:
            inverse = inverse.reshape(a.shape)
        return tuple(xp.asarray(v) for v in (vals, index.astype(np.int64),
                                              inverse.astype(np.int64),
                                              counts.astype(np.int64)))
    vals, index, inverse, counts = array_call("unique", run, x)
    extra = [t for t, want in ((index, return_index), (inverse, return_inverse),
                               (counts, return_counts)) if want]
    return (vals, *extra) if extra else vals


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each non-negative integer (rows counted separately for a 2-D ``x``);
    with ``weights``, their sums (differentiable in the weights)."""
    if sparse:
        raise ValueError("bincount: sparse=True is not supported")
    x = _t(x).astype("int64")
    n = builtins.max(int(F.max(x).item()) + 1 if x.size else 0, int(minlength))
    if weights is None:
        w = ones_like(x, dtype="int32")
    else:
        w = _t(weights)
    if x.ndim == 1:
        base = C.zeros((n,), dtype=w.dtype, device=x.device)
        return F.index_add(base, 0, x, w)
    rows = x.shape[0]
    offs = F.reshape(x + Tensor(np.arange(rows)[:, None] * n, device=x.device), (-1,))
    base = C.zeros((rows * n,), dtype=w.dtype, device=x.device)
    return F.reshape(F.index_add(base, 0, offs, F.reshape(w, (-1,))), (rows, n))


def histogram(x, bins=10, range=None):  # noqa: A002 - Keras' name
    """``(counts, bin_edges)`` as NumPy's histogram (counts in floatx)."""
    x = _t(x)
    if range is None:
        lo, hi = float(F.min(x).item()), float(F.max(x).item())
    else:
        lo, hi = (float(v) for v in range)
    edges = np.linspace(lo, hi, int(bins) + 1)

    def run(xp, a):
        counts, _ = np.histogram(xp.asnumpy(a) if hasattr(xp, "asnumpy") else a,
                                 bins=int(bins), range=(lo, hi))
        return xp.asarray(counts.astype(floatx()))
    counts = array_call("histogram", run, x)
    return counts, Tensor(edges.astype(x.dtype if is_float(x) else floatx()))


# ---------------------------------------------------------------- products
def _product_pair(x1, x2):
    """Both operands of a product in Keras' result_type (gradengine's matrix products, as
    torch's, refuse mixed dtypes; Keras promotes, 64-bit types narrowed)."""
    a, b = pair(x1, x2)
    dt = result_type(a.dtype.name, b.dtype.name)
    return (a if a.dtype == dt else a.astype(dt)), (b if b.dtype == dt else b.astype(dt))


def matmul(x1, x2):
    a, b = _product_pair(x1, x2)
    if a.dtype == np.int8:  # Keras' matmul: int8 operands give int32
        a, b = a.astype("int32"), b.astype("int32")
    return F.matmul(a, b)


def dot(x1, x2):
    a, b = _product_pair(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim == 1 and b.ndim == 1:
        return F.sum(a * b)
    if b.ndim == 1:
        return F.matmul(a, b)
    return F.tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 2]))


def vdot(x1, x2):
    a, b = pair(x1, x2)
    return F.sum(F.reshape(a, (-1,)) * F.reshape(b, (-1,)))


def inner(x1, x2):
    a, b = _product_pair(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return F.tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 1]))


def outer(x1, x2):
    a, b = pair(x1, x2)
    return F.outer(F.reshape(a, (-1,)), F.reshape(b, (-1,)))


def tensordot(x1, x2, axes=2):
    a, b = _product_pair(x1, x2)
    if isinstance(axes, (list, tuple)) and len(axes) == 2 and \
            builtins.all(isinstance(v, int) for v in axes):
        axes = ([axes[0]], [axes[1]])
    return F.tensordot(a, b, dims=axes)


def einsum(subscripts, *operands, **kwargs):
    ts = _common(operands)
    return F.einsum(subscripts, *ts)


def kron(x1, x2):
    return F.kron(*pair(x1, x2))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = pair(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = F.moveaxis(a, axisa, -1), F.moveaxis(b, axisb, -1)
    if a.shape[-1] == 2:
        a = F.pad(a, [0, 1])
    if b.shape[-1] == 2:
        b = F.pad(b, [0, 1])
    shape_ = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    out = F.cross(F.broadcast_to(a, shape_), F.broadcast_to(b, shape_), dim=-1)
    if _t(x1).shape[axisa] == 2 and _t(x2).shape[axisb] == 2:
        return out[..., 2]
    return F.moveaxis(out, -1, axisc)


def correlate(x1, x2, mode="valid"):
    """NumPy's 1-D cross-correlation (``mode``: valid, same, full)."""
    a, b = pair(x1, x2)
    a, b = _float(a), _float(b).astype(_float(a).dtype)
    n, m = a.shape[0], b.shape[0]
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full', got {mode!r}")
    if n < m:  # NumPy swaps the arguments and reverses the result
        return F.flip(correlate(b, a, mode), 0)
    lo = {"valid": 0, "same": m // 2, "full": m - 1}[mode]
    hi = {"valid": 0, "same": m - 1 - m // 2, "full": m - 1}[mode]
    return _corr(a, b, lo, hi)


def _corr(a, b, lo, hi):
    a = F.pad(a, [lo, hi])
    return F.reshape(F.conv1d(F.reshape(a, (1, 1, -1)), F.reshape(b, (1, 1, -1))), (-1,))


def corrcoef(x):
    x = _float(x)
    one = x.ndim == 1 or x.shape[0] == 1
    if x.ndim == 1:
        x = F.reshape(x, (1, -1))
    c = x - F.mean(x, axis=1, keepdims=True)
    cov = F.matmul(c, F.transpose(c, 1, 0))
    d = F.sqrt(F.diagonal(cov))
    out = F.clip(cov / F.outer(d, d), -1.0, 1.0)
    return F.reshape(out, ()) if one else out  # one variable: a 0-d result, as NumPy


def slogdet(x):
    sign_, logabs = _linalg.slogdet(_float(x))
    return sign_, logabs


def vectorize(pyfunc, *, excluded=None, signature=None):
    """Apply ``pyfunc`` along the leading axis of its Tensor arguments (Keras' torch backend
    loops the same way)."""
    from .core import map as _map

    skip = set(excluded or ())

    def wrapped(*args, **kwargs):
        idx = [i for i in range(len(args)) if i not in skip and args[i] is not None]
        ts = [_t(args[i]) for i in idx]
        shape = np.broadcast_shapes(*[t.shape for t in ts]) if ts else ()
        if shape == ():  # all scalars: one call
            return pyfunc(*args, **kwargs)
        ts = [F.broadcast_to(t, shape) for t in ts]  # NumPy's vectorize broadcasts

        def call(vals):
            full = list(args)
            for i, v in zip(idx, vals):
                full[i] = v
            return pyfunc(*full, **kwargs)
        return _map(lambda xs: call(xs), tuple(ts))
    return wrapped


def view(x, dtype=None):
    x = _t(x)
    if dtype is None:
        return x
    return array_call("view", lambda xp, a: a.view(np.dtype(dtype)), x)


wrap_all(globals(), [n for n in __all__ if n not in ("vectorize",)])
