"""Elementwise ops: arithmetic, exp/log/sqrt/abs, clipping, comparisons, where, casts.

The local derivatives read as taught: ``+`` passes the gradient through, ``*`` swaps its
inputs, ``exp`` multiplies by its output.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import _finish as finish, apply, compute, op
from ..tensor import Tensor
from ..backend import resolve_dtype
from ..errors import DeviceError, ShapeError


@op(saves_inputs=False)
def add(xp, a, b):
    """a + b with NumPy broadcasting."""
    return a + b


@add.defvjp
def _(g, node):
    return g, g


@op(saves_inputs=False)
def sub(xp, a, b):
    """a - b."""
    return a - b


@sub.defvjp
def _(g, node):
    return g, (-g if node.needs[1] else None)


@op()
def mul(xp, a, b):
    """a * b."""
    return a * b


@mul.defvjp
def _(g, node):
    a, b = node.args
    e = node.needs
    return (g * b if e[0] else None), (g * a if e[1] else None)


@op()
def div(xp, a, b):
    """a / b."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b


@div.defvjp
def _(g, node):
    a, b = node.args
    e = node.needs
    ga = g / b if e[0] else None
    gb = -g * a / (b * b) if e[1] else None
    return ga, gb


@op(save_out=True)
def pow(xp, a, b):  # noqa: A001 - the op's name is pow, as in the operator
    """a ** b."""
    with np.errstate(all="ignore"):
        return a ** b


@pow.defvjp
def _(g, node):
    a, b = node.args
    e = node.needs
    ga = gb = None
    if e[0]:
        ga = g * b * a ** (b - 1) if isinstance(b, Tensor) else g * (b * a ** (b - 1))
    if e[1]:
        gb = g * node.output() * log(a) if isinstance(a, Tensor) else \
            g * node.output() * float(np.log(a))
    return ga, gb


@op(saves_inputs=False)
def neg(xp, a):
    """-a."""
    return -a


@neg.defvjp
def _(g, node):
    return (-g,)


@op(save_out=True, saves_inputs=False)
def exp(xp, a):
    """e^a."""
    with np.errstate(over="ignore"):
        return xp.exp(a)


@exp.defvjp
def _(g, node):
    return (g * node.output(),)


@op()
def log(xp, a):
    """ln a."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.log(a)


@log.defvjp
def _(g, node):
    return (g / node.args[0],)


@op(save_out=True, saves_inputs=False)
def sqrt(xp, a):
    """a ** 0.5."""
    with np.errstate(invalid="ignore"):
        return xp.sqrt(a)


@sqrt.defvjp
def _(g, node):
    return (g / (2 * node.output()),)


@op(name="abs")
def abs_(xp, a):
    """|a|; the derivative at 0 is taken as 0."""
    return xp.abs(a)


@abs_.defvjp
def _(g, node):
    return (g * compute(_sign, node.args[0]),)


def _sign(xp, a):
    return xp.sign(a)


@op()
def clip(xp, a, lo, hi):
    """min(max(a, lo), hi); the gradient passes where lo <= a <= hi."""
    return xp.clip(a, lo, hi)


@clip.defvjp
def _(g, node):
    return (g * compute(_clip_mask, node.args[0], *node.params),)


def _clip_mask(xp, a, lo, hi):
    mask = a == a  # NaN stays masked out
    if lo is not None:
        mask &= a >= lo
    if hi is not None:
        mask &= a <= hi
    return mask.astype(a.dtype)


@op()
def maximum(xp, a, b):
    """Elementwise max(a, b); ties send the gradient to a."""
    return xp.maximum(a, b)


@maximum.defvjp
def _(g, node):
    return _select_vjp(g, node, _ge_mask)


@op()
def minimum(xp, a, b):
    """Elementwise min(a, b); ties send the gradient to a."""
    return xp.minimum(a, b)


@minimum.defvjp
def _(g, node):
    return _select_vjp(g, node, _le_mask)


def _ge_mask(xp, a, b, dtype):
    m = a >= b
    return m.astype(dtype), (~m).astype(dtype)


def _le_mask(xp, a, b, dtype):
    m = a <= b
    return m.astype(dtype), (~m).astype(dtype)


def _select_vjp(g, node, pick_a):
    a, b = node.args
    ma, mb = compute(pick_a, a, b, g.dtype)
    ga = g * ma if node.needs[0] else None
    gb = g * mb if node.needs[1] else None
    return ga, gb


@op(saves_inputs=False)
def where(xp, cond, a, b):
    """a where cond else b (cond gets no gradient)."""
    return xp.where(cond, a, b)


@where.defvjp
def _(g, node):
    cond = node.args[0]
    cond = cond.data if isinstance(cond, Tensor) else cond
    e = node.needs
    ga = where(cond, g, 0.0) if e[1] else None
    gb = where(cond, 0.0, g) if e[2] else None
    return None, ga, gb


@op(saves_inputs=False)
def astype(xp, a, dtype):
    """a cast to dtype; the gradient is cast back."""
    return a.astype(dtype)


@astype.defvjp
def _(g, node):
    return (cast(g, node.args[0].dtype),)


@op(name="to", saves_inputs=False)
def to_device_op(xp, a, device):
    """a copied to device; the gradient is copied back."""
    return backend.to_device_array(a, device)


@to_device_op.defvjp
def _(g, node):
    return (to_device(g, node.args[0].device),)


def to_device(a, device):
    """``a.to(device)``, differentiable. The output lives on ``device``, so it is finished
    there (``apply`` would take the device, and array module, of the input)."""
    with backend.cuda_context(device):
        out = to_device_op.fwd(None, a.data, device)
    return finish(to_device_op, (a,), (device,), out, device, a.requires_grad)


def cast(a, dtype):
    """``a.astype(dtype)``: differentiable between float dtypes; a no-op for the same dtype."""
    dt = resolve_dtype(dtype, "astype")
    if a.dtype == dt:
        return a
    if a.dtype.kind != "f" or dt.kind != "f":  # no gradient flows through int/bool casts
        return Tensor._make(a.data.astype(dt), a.device)
    return apply(astype, (a,), (dt,))


# ---------------------------------------------------------------- comparisons (no gradient)

def _compare(ufunc_name):
    def compare(a, b):
        if isinstance(b, Tensor):
            if b.device != a.device:
                raise DeviceError(f"{ufunc_name}: tensors on {a.device!r} and {b.device!r}")
            b = b.data
        elif not isinstance(b, (int, float, bool)):
            b = backend.to_device_array(np.asarray(b), a.device) if a.device == "cpu" else \
                backend.xp_of(a.device).asarray(b)
        xp = backend.xp_of(a.device)
        try:
            out = getattr(xp, ufunc_name)(a.data, b)
        except ValueError as e:
            raise ShapeError(f"{ufunc_name}: shapes {a.shape} and {np.shape(b)} cannot be "
                             f"broadcast together") from e
        return Tensor._make(out, a.device)
    compare.__name__ = ufunc_name
    return compare


lt = _compare("less")
le = _compare("less_equal")
gt = _compare("greater")
ge = _compare("greater_equal")
eq = _compare("equal")
ne = _compare("not_equal")
