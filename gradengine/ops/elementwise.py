"""Elementwise ops: arithmetic, exp/log/sqrt/abs, clipping, comparisons, where, casts.

The local derivatives read as taught: ``+`` passes the gradient through, ``*`` swaps its
inputs, ``exp`` multiplies by its output.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..backend import floating, resolve_dtype
from ..core.op import apply, call, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, DeviceError, DivisionByZeroError, DTypeError

builtins_max = max


# ---------------------------------------------------------------- type promotion (PyTorch's)
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def result_dtype(*arrays):
    """The dtype PyTorch gives an op on these arrays (Python scalars are NumPy's business:
    they never upcast). The highest category (bool < integer < float) among the tensors with
    dimensions wins, promoted within it: float32 with int64 is float32, float32 with float64
    is float64, int32 with int64 is int64. A 0-d tensor counts only when its category is
    higher than theirs (``float32[3] + float64[]`` is float32, ``int64[3] + float64[]`` is
    float64). None when nothing needs a cast."""
    dims, zero = [], []
    for a in arrays:
        dt = getattr(a, "dtype", None)
        if dt is not None and not isinstance(a, np.generic):
            (dims if a.ndim else zero).append(dt)
    if not dims:
        dims, zero = zero, []
    if len(dims) + len(zero) < 2 or all(d == dims[0] for d in dims + zero):
        return None

    def top(dts):
        cat = builtins_max(_CATEGORY[d.kind] for d in dts)
        return cat, np.result_type(*[d for d in dts if _CATEGORY[d.kind] == cat])
    cat, dt = top(dims)
    if zero:
        zcat, zdt = top(zero)
        if zcat > cat:
            dt = zdt
    return dt


def promote(*arrays):
    """The arrays cast to :func:`result_dtype` (the binary ops' forwards call this first)."""
    if len(arrays) == 2:  # the hot path: one dtype, or a Python scalar beside an array
        a, b = arrays
        if type(b) is float or type(a) is float or type(b) is int or type(a) is int:
            return arrays  # (a Python scalar never upcasts; getattr's miss would cost more)
        da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
        if da is None or db is None or da == db:
            return arrays
    dt = result_dtype(*arrays)
    if dt is None:
        return arrays
    return tuple(a.astype(dt) if getattr(a, "dtype", dt) != dt and not isinstance(
        a, np.generic) else a for a in arrays)
# ---------------------------------------------------------------- end type promotion



@op()
def add(xp, a, b):
    """a + b with NumPy broadcasting."""
    a, b = promote(a, b)
    return a + b


add.defvjp(lambda g: g, lambda g: g)


_BOOL = np.dtype(np.bool_)


@op()
def sub(xp, a, b):
    """a - b (a bool operand is refused, as torch: invert a mask with ``~`` instead)."""
    if getattr(a, "dtype", None) is _BOOL or getattr(b, "dtype", None) is _BOOL or \
            type(a) is bool or type(b) is bool:
        raise DTypeError("sub: Subtraction, the `-` operator, with a bool tensor is not "
                         "supported. If you are trying to invert a mask, use the `~` or "
                         "`logical_not()` operator instead.")
    a, b = promote(a, b)
    return a - b


sub.defvjp(lambda g: g, lambda g: -g)


@op(save=("a", "b"))
def mul(xp, a, b):
    """a * b."""
    a, b = promote(a, b)
    return a * b


mul.defvjp(lambda g, b: g * b, lambda g, a: g * a)


def _unwrapped_int(v, other):
    """A Python int beside an integer array, as a float where it is beyond the array's
    range: true division gives a float, so ``uint8_tensor / -1`` is -1 per element, as
    torch's (never the wrapped 255, nor NumPy's OverflowError)."""
    if type(v) is not int or getattr(other, "dtype", None) is None or \
            other.dtype.kind not in "iu":
        return v
    info = np.iinfo(other.dtype)
    return v if info.min <= v <= info.max else float(v)


@op(save=("a", "b"), quiet=True)
def div(xp, a, b):
    """a / b (true division: integers give the default float)."""
    a, b = promote(_unwrapped_int(a, b), _unwrapped_int(b, a))
    return a / b


# d(a/b)/db = -(a/b)/b, never -a/b**2: b**2 overflows float32 for |b| > 1.8e19
div.defvjp(lambda g, b: g / b, lambda g, a, b: -(g / b) * (a / b))


@op(save=("a", "b", "out"), quiet=True)
def pow(xp, a, b):  # noqa: A001 - the op's name is pow, as in the operator
    """a ** b."""
    if type(b) is int and b < 0 and getattr(a, "dtype", None) is not None and \
            a.dtype.kind in "iu":  # before NumPy's OverflowError for an unsigned a
        raise ValueError("Integers to negative integer powers are not allowed.")
    a, b = promote(a, b)
    if getattr(a, "dtype", None) == np.bool_:  # torch: bool ** int is int64, bool ** bool bool
        if type(b) is bool or getattr(b, "dtype", None) == np.bool_:
            return a | ~xp.asarray(b, dtype=bool)
        if type(b) is int:
            a = a.astype(np.int64)
    if getattr(b, "dtype", None) is not None and b.dtype.kind == "i" and \
            getattr(a, "dtype", np.dtype(type(a))).kind in "iu":
        # an integer tensor exponent may be negative (torch; a Python int one may not): C's
        # integer rule, 1 ** -n = 1, (-1) ** -n = +-1 and 0 for every other base, 0 included
        # (chosen per element, without reading the exponent on the host: ge.jit replays it)
        neg = b < 0
        out = a ** xp.where(neg, 0, b)
        rest = xp.where(a == 1, 1, xp.where(a == -1, xp.where(b % 2 != 0, -1, 1), 0))
        return xp.where(neg, rest, out).astype(out.dtype)
    return a ** b


def _pow_grad_a(g, a, b):
    # b * a^(b-1), and 0 where b == 0 (PyTorch): 0 ** 0 has gradient 0, not 0 * inf. The
    # masked entries compute a^1, so no inf reaches a higher-order gradient either.
    if isinstance(b, Tensor):
        zero = b == 0
        return g * where(zero, 0.0, b * a ** where(zero, 1, b - 1))  # (ints stay ints)
    if b == 0:
        return g * 0.0
    return g * (b * a ** (b - 1))


def _pow_grad_b(g, a, b, out):
    # d(a^b)/db = a^b ln a; where the base is 0 and b >= 0 PyTorch takes it as 0 (not NaN),
    # and -inf (inf * ln 0) where b < 0. The log reads 1 there, so neither this gradient
    # nor its own gradient meets log(0).
    if isinstance(a, Tensor):
        nz = a != 0
        edge = where(b < 0, float("-inf"), 0.0) if isinstance(b, Tensor) else 0.0
        return g * where(nz, out * log(where(nz, a, 1.0)), edge)
    if a == 0:
        return g * where(b < 0, float("-inf"), 0.0)
    with np.errstate(invalid="ignore"):
        return g * out * float(np.log(a))


pow.defvjp(_pow_grad_a, _pow_grad_b)


@op()
def neg(xp, a):
    """-a."""
    return -a


neg.defvjp(lambda g: -g)


@op(save=("out",), quiet=True)
def exp(xp, a):
    """e^a."""
    a = floating(a)
    return xp.exp(a)


exp.defvjp(lambda g, out: g * out)


@op(save=("a",), quiet=True)
def log(xp, a):
    """ln a."""
    a = floating(a)
    return xp.log(a)


log.defvjp(lambda g, a: g / a)


@op(save=("out",), quiet=True)
def sqrt(xp, a):
    """a ** 0.5."""
    a = floating(a)
    return xp.sqrt(a)


sqrt.defvjp(lambda g, out: g / (2 * out))


@op(name="abs", save=("a",))
def abs_(xp, a):
    """|a|; the derivative at 0 is taken as 0."""
    return xp.abs(a)


abs_.defvjp(lambda g, a: g * abs_sign(a))


@op(name="abs_sign")
def abs_sign(xp, a):
    """sign(a) as the gradient of abs reads it: differentiable with gradient 0 (torch's
    sgn), so that under create_graph the gradient of abs stays in a's graph."""
    r = xp.sign(a)
    if r.dtype.kind == "f":
        r = xp.where(a != a, r.dtype.type(0), r)
    return r


@op(name="zeros_grad", differentiable=False)
def zeros_grad(xp, g):
    """zeros of g's shape and dtype: the gradient of an op whose derivative is 0
    everywhere (never g * 0, which is NaN where g is inf)."""
    return xp.zeros_like(g)


abs_sign.defvjp(lambda g: call(zeros_grad, g), arrays=True)


@op(differentiable=False)
def sign(xp, a):
    """-1, 0 or 1 by the sign of a (no gradient)."""
    r = xp.sign(a)
    if r.dtype.kind == "f":  # NaN's sign is 0, as torch.sign
        r = xp.where(a != a, r.dtype.type(0), r)
    return r


@op(save=("a",), params=("lo", "hi"))
def clip(xp, a, lo, hi):
    """min(max(a, lo), hi); the gradient passes where lo <= a <= hi."""
    if lo is None and hi is None:
        raise ArgumentError(f"clip: At least one of 'min' or 'max' must not be None, got "
                            f"min={lo!r} and max={hi!r} for a tensor of shape {a.shape}")
    return xp.clip(a, lo, hi)


clip.defvjp(lambda g, a, lo, hi: g * clip_mask(a, params=(lo, hi)))


@op(params=("lo", "hi"), differentiable=False)
def clip_mask(xp, a, lo, hi):
    """1 where lo <= a <= hi (NaN excluded), else 0, in a's dtype."""
    mask = a == a
    if lo is not None:
        mask &= a >= lo
    if hi is not None:
        mask &= a <= hi
    return mask.astype(a.dtype)


@op(save=("a", "b"))
def maximum(xp, a, b):
    """Elementwise max(a, b); ties split the gradient evenly."""
    a, b = promote(a, b)
    return xp.maximum(a, b)


@op(save=("a", "b"))
def minimum(xp, a, b):
    """Elementwise min(a, b); ties split the gradient evenly."""
    a, b = promote(a, b)
    return xp.minimum(a, b)


@op(params=("upper",), differentiable=False)
def select_share(xp, a, b, upper):
    """The share of the gradient of max(a, b) (upper) or min(a, b) that a receives: 1 where
    a wins, 0.5 on ties, 0 where b wins; where either is NaN, 1 (PyTorch gives both inputs
    the whole gradient there)."""
    wins = (a > b) if upper else (a < b)
    dt = np.promote_types(a.dtype, getattr(b, "dtype", a.dtype))
    dt = dt if dt.kind == "f" else np.dtype(np.float32)
    share = wins.astype(dt) + (a == b).astype(dt) * 0.5
    return xp.where((a != a) | (b != b), 1, share).astype(dt)


def _share(g, a, b, upper):
    # selected, not multiplied (torch's masked_fill): where a loses its gradient is 0 even
    # when g is inf or NaN, and so is what a higher order sends back through g there
    s = select_share(a, b, params=(upper,))
    return where(s > 0, g * s, 0.0)


maximum.defvjp(lambda g, a, b: _share(g, a, b, True), lambda g, a, b: _share(g, b, a, True))
minimum.defvjp(lambda g, a, b: _share(g, a, b, False), lambda g, a, b: _share(g, b, a, False))


@op(name="where", save=("cond",))
def where_op(xp, cond, a, b):
    """a where cond else b (cond gets no gradient)."""
    a, b = promote(a, b)
    return xp.where(cond, a, b)


where_op.defvjp(None, lambda g, cond: where(cond, g, 0.0), lambda g, cond: where(cond, 0.0, g))


def where(cond, a, b):
    """``a`` where ``cond`` else ``b``; the condition gets no gradient."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else \
        cond if isinstance(cond, Tensor) else None
    if like is None:
        like = a = Tensor(a)
    for x in (cond, a, b):
        if isinstance(x, Tensor) and x.device != like.device:
            raise DeviceError(f"where: expected all tensors on one device, got "
                              f"{like.device!r} and {x.device!r}")
    if not isinstance(cond, Tensor):
        cond = Tensor(cond, device=like.device)
    return apply(where_op, cond, _const(a, like), _const(b, like))


def _const(x, like):
    if isinstance(x, (Tensor, int, float, bool)):
        return x
    if isinstance(x, (np.number, np.bool_)):
        return x.item()
    return Tensor(x, device=like.device)


@op(name="astype", params=("dtype",))
def astype_op(xp, a, dtype):
    """a cast to dtype; the gradient is cast back."""
    return a.astype(dtype)


astype_op.defvjp(lambda g, a_dtype: cast(g, a_dtype))


@op(name="astype", params=("dtype",), differentiable=False)
def astype_nograd(xp, a, dtype):
    """a cast to an integer or bool dtype (no gradient flows)."""
    return a.astype(dtype)


def cast(a, dtype):
    """``a.astype(dtype)``: differentiable between float dtypes; a no-op for the same dtype."""
    dt = resolve_dtype(dtype, "astype")
    if a.dtype == dt:
        return a
    if a.dtype.kind != "f" or dt.kind != "f":
        return apply(astype_nograd, a, params=(dt,))
    return apply(astype_op, a, params=(dt,))


@op(name="to", params=("device",), moves=True)
def to_device_op(xp, a, device):
    """a copied to device; the gradient is copied back."""
    with backend.cuda_context(device):
        return backend.to_device_array(a, device)


to_device_op.defvjp(lambda g, a_device: to_device(g, a_device))


def to_device(a, device):
    """``a.to(device)``, differentiable. The result lives on ``device``."""
    return apply(to_device_op, a, params=(device,))


# ---------------------------------------------------------------- comparisons (no gradient)

def wrapped_int(v, dtype):
    """A Python int beyond an integer tensor's range, cast to its dtype with wrap-around as
    PyTorch casts it (``uint8_tensor + 1000`` adds 232); NumPy would raise OverflowError."""
    info = np.iinfo(dtype)
    if info.min <= v <= info.max or not -2 ** 63 <= v < 2 ** 63:
        return v  # in range, or beyond int64 (an error, as in PyTorch)
    return int(np.array(v, dtype=np.int64).astype(dtype))


def _comparison(name, ufunc):
    def fwd(xp, a, b):
        # torch wraps a Python int to an integer tensor's dtype first: uint8 > -1 compares
        # with 255, uint8 == 256 with 0
        if type(b) is int and getattr(a, "dtype", None) is not None and a.dtype.kind in "iu":
            b = wrapped_int(b, a.dtype)
        elif type(a) is int and getattr(b, "dtype", None) is not None and \
                b.dtype.kind in "iu":
            a = wrapped_int(a, b.dtype)
        return getattr(xp, ufunc)(a, b)
    fwd.__name__ = name
    fwd.__doc__ = (f"a {name} b, elementwise (a bool tensor; no gradient); a Python int is "
                   f"first wrapped to an integer tensor's dtype, as torch.")
    return op(name=name, differentiable=False)(fwd)


lt = _comparison("lt", "less")
le = _comparison("le", "less_equal")
gt = _comparison("gt", "greater")
ge = _comparison("ge", "greater_equal")
eq = _comparison("eq", "equal")
ne = _comparison("ne", "not_equal")


@op(name="logical_not", differentiable=False)
def logical_not(xp, a):
    """not a, elementwise."""
    return xp.logical_not(a)


@op(name="logical_and", differentiable=False)
def logical_and(xp, a, b):
    """a and b, elementwise."""
    return xp.logical_and(a, b)


@op(name="logical_or", differentiable=False)
def logical_or(xp, a, b):
    """a or b, elementwise."""
    return xp.logical_or(a, b)


# ---------------------------------------------------------------- integer-style division
# Python's and PyTorch's signs: ``//`` rounds toward -inf and ``%`` takes the divisor's
# sign (NumPy's floor_divide and remainder do the same); ``fmod`` takes the dividend's.

def _as_float_result(out, a, b):
    """An integer tensor with a Python float gives the default float (float32), as torch."""
    if out.dtype == np.float64 and getattr(a, "dtype", None) != np.float64 and \
            getattr(b, "dtype", None) != np.float64:
        return out.astype(np.float32)
    return out


def _integer_kind(v):
    if type(v) is bool or type(v) is int:
        return True
    dt = getattr(v, "dtype", None)
    return dt is not None and dt.kind in "biu"


def _no_integer_zero(xp, name, a, b):
    """torch refuses an integer division by zero on the CPU (NumPy gives 0 and warns);
    on a GPU nothing is read back (torch does not check there either)."""
    if xp is np and _integer_kind(a) and _integer_kind(b) and np.any(np.asarray(b) == 0):
        raise DivisionByZeroError(f"{name}: integer division by zero (ZeroDivisionError), "
                                  f"operands {getattr(a, 'dtype', type(a).__name__)} and "
                                  f"{getattr(b, 'dtype', type(b).__name__)}")


@op(quiet=True)
def floordiv(xp, a, b):
    """floor(a / b); integers stay integers (the gradient is 0, as torch's
    ``div(rounding_mode="floor")``)."""
    _no_integer_zero(xp, "floordiv", a, b)
    a, b = promote(a, b)
    return _as_float_result(xp.floor_divide(a, b), a, b)


@op(quiet=True)
def truncdiv(xp, a, b):
    """trunc(a / b) (torch's ``div(rounding_mode="trunc")``); integers stay integers."""
    _no_integer_zero(xp, "truncdiv", a, b)
    a, b = promote(a, b)
    kind = getattr(a, "dtype", getattr(b, "dtype", None))
    if kind is not None and kind.kind in "iu" and getattr(b, "dtype", kind).kind in "iu" \
            and not isinstance(b, float) and not isinstance(a, float):
        q = xp.floor_divide(a, b)
        fix = (xp.remainder(a, b) != 0) & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0))
        return q + fix.astype(q.dtype)
    return _as_float_result(xp.trunc(a / b), a, b)


floordiv.defvjp(lambda g: g * 0.0, lambda g: g * 0.0)
truncdiv.defvjp(lambda g: g * 0.0, lambda g: g * 0.0)


@op(save=("a", "b"), quiet=True)
def remainder(xp, a, b):
    """a - floor(a / b) * b: the sign of b, as Python's and torch's ``%``."""
    _no_integer_zero(xp, "remainder", a, b)
    a, b = promote(a, b)
    return _as_float_result(xp.remainder(a, b), a, b)


@op(save=("a", "b"), quiet=True)
def fmod(xp, a, b):
    """a - trunc(a / b) * b: the sign of a, as C's fmod and torch.fmod."""
    _no_integer_zero(xp, "fmod", a, b)
    a, b = promote(a, b)
    return _as_float_result(xp.fmod(a, b), a, b)


remainder.defvjp(lambda g: g, lambda g, a, b: -g * apply(floordiv, a, b))
fmod.defvjp(lambda g: g, lambda g, a, b: -g * apply(truncdiv, a, b))


# ---------------------------------------------------------------- bitwise (no gradient)

def _bitwise(name, ufunc, doc):
    def fwd(xp, a, b):
        a, b = promote(a, b)
        return getattr(xp, ufunc)(a, b)
    fwd.__name__ = name
    fwd.__doc__ = doc
    return op(name=name, differentiable=False)(fwd)


bitwise_and = _bitwise("bitwise_and", "bitwise_and", "a & b: bitwise on integers, logical on bool.")
bitwise_or = _bitwise("bitwise_or", "bitwise_or", "a | b: bitwise on integers, logical on bool.")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor", "a ^ b: bitwise on integers, logical on bool.")
left_shift = _bitwise("left_shift", "left_shift", "a << b on integers.")
right_shift = _bitwise("right_shift", "right_shift", "a >> b on integers (arithmetic).")


@op(name="bitwise_not", differentiable=False)
def bitwise_not(xp, a):
    """~a: bitwise on integers, logical on bool (floats raise, as in torch)."""
    return xp.invert(a)


@op(name="logical_xor", differentiable=False)
def logical_xor(xp, a, b):
    """a xor b, elementwise (nonzero is true)."""
    return xp.logical_xor(a, b)
