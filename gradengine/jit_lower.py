"""Lowering a recorded ``ge.jit`` step to straight-line NumPy code.

:class:`Lowerer` turns a :class:`~gradengine.jit.Trace` into the source of one Python
function. Every recorded step becomes a line. A step whose function has a *rule* here
becomes the NumPy calls that function makes, written out, instead of a call of the
function: Python scalars become constant arrays of the operand's shape (a ufunc with two
same-shape arrays costs half as much as one with a scalar), results computed twice are
computed once, and a parameter's gradient is written straight into the optimizer's flat
gradient buffer (:mod:`gradengine.jit_optim`). Each rule performs the same floating-point
operations, in the same order, as the function it replaces, so a replay equals the eager
step bit for bit; a step without a rule is called as recorded.

Rules exist for the hot ops of a training step on the CPU: matmul of matrices, the
transposes the matmul gradient takes, add/sub/mul/div/neg, sigmoid, tanh, relu and
their backward ops, the Linear epilogue (bias + activation) and its backward, and the
MSE loss. On CUDA every step is called as recorded (the GPU path captures a CUDA graph
instead).
"""

from __future__ import annotations

import math

import numpy as np

from .ops import activations, elementwise, linalg, losses, shape
from .ops.fused import bias_grad_accumulator

SLOT, LIVE, CONST = 0, 1, 2
FULL_MAX = 4096  # elements: constants up to this size are expanded to arrays


class Val:
    """A value of the program: the expression naming it, its value at trace time, and
    whether it is a constant of the program (folded, or a constant argument)."""

    __slots__ = ("expr", "arr", "const", "static")

    def __init__(self, expr, arr, const=False, static=False):
        self.expr = expr
        self.arr = arr
        self.const = const
        self.static = static  # a buffer the program owns: copied before it is returned


class Lowerer:
    """Collects the lines and the names (constants, functions) of one replay function."""

    def __init__(self, xp=np):
        self.xp = xp
        self.lines = []
        self.kinds = {}      # line index -> "host" (no array work) or a FlatStep
        self.uncapturable = None  # why the program cannot be one CUDA graph, if it cannot
        self.env = {"np": np}
        self._names = {}
        self._fulls = {}
        self.n = 0
        self.cse = {}        # (function, argument text) -> variable holding the result
        self.producer = {}   # variable -> index of the line computing it (accepts out=)
        self.errstate = False  # some line needs NumPy's floating-point warnings off

    # -- names -------------------------------------------------------------------------
    def name(self, obj, prefix="c"):
        """The program's name for ``obj`` (bound in the function's globals)."""
        key = id(obj)
        nm = self._names.get(key)
        if nm is None:
            nm = f"{prefix}{len(self._names)}"
            self._names[key] = nm
            self.env[nm] = obj
        return nm

    def literal(self, v):
        if v is None or type(v) in (bool, int, str):
            return repr(v)
        if type(v) is float and math.isfinite(v):
            return repr(v)
        return self.name(v)

    def ufunc(self, fname):
        nm = f"_{fname}"
        self.env[nm] = getattr(np, fname)
        return nm

    def var(self):
        self.n += 1
        return f"v{self.n}"

    # -- emitting ----------------------------------------------------------------------
    def line(self, text):
        self.lines.append(text)
        self.cse.clear()  # a line of unknown effect: forget what was computed

    def host(self, text):
        """A line with no array work (setting ``.grad``): after the graph on CUDA."""
        self.kinds[len(self.lines)] = "host"
        self.lines.append(text)

    def flat_step(self, flat):
        """The flat optimizer step (see :mod:`gradengine.jit_optim`)."""
        self.kinds[len(self.lines)] = flat
        self.lines.append(f"{self.name(flat, 'f')}()")
        self.cse.clear()

    def call(self, fn, args, like, out_ok=True):
        """Emit ``v = fn(*args)`` (reusing an identical earlier call); returns its Val."""
        text = ", ".join(a.expr if isinstance(a, Val) else a for a in args)
        key = (fn, text)
        v = self.cse.get(key)
        if v is None:
            v = self.var()
            self.lines.append(f"{v} = {fn}({text})")
            if out_ok:
                self.producer[v] = len(self.lines) - 1
            self.cse[key] = v
        return Val(v, like)

    def inplace(self, fn, args, target):
        """Emit ``fn(*args, out=target)`` on a temporary this rule just made."""
        text = ", ".join(a.expr if isinstance(a, Val) else a for a in args)
        self.lines.append(f"{fn}({text}, out={target.expr})")
        self.producer.pop(target.expr, None)
        for key in [k for k, v in self.cse.items() if v == target.expr]:
            del self.cse[key]
        return target

    def full(self, value, like):
        """A read-only constant array of ``like``'s shape and dtype filled with value; for
        large shapes the scalar itself (then reading a second array would cost more memory
        traffic than the scalar's conversion costs time)."""
        if like.size > FULL_MAX:
            return Val(self.literal(value), value, const=True)
        key = (type(value), value, like.shape, like.dtype.str)
        nm = self._fulls.get(key)
        if nm is None:
            arr = np.full(like.shape, value, dtype=like.dtype)
            arr.flags.writeable = False
            nm = self.name(arr, "k")
            self._fulls[key] = nm
        return Val(nm, self.env[nm], const=True)

    def retarget(self, val, target):
        """Make ``val`` be computed into the buffer named ``target`` (a copy when its line
        cannot take ``out=``). Returns the new Val."""
        i = self.producer.pop(val.expr, None)
        if i is not None:
            text = self.lines[i]
            self.lines[i] = f"{text[:-1]}, out={target})"
        else:
            self.lines.append(f"_copyto({target}, {val.expr})")
            self.env["_copyto"] = self.xp.copyto
        for key in [k for k, v in self.cse.items() if v == val.expr]:
            del self.cse[key]
        return Val(target if i is None else val.expr, val.arr, static=True)


# ---------------------------------------------------------------- rules

def _is_float_array(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.ndim > 0


def _operand(L, v, out):
    """An operand of an elementwise op whose result is ``out``: a constant scalar (or
    constant 0-d array of out's dtype) becomes a constant array of out's shape, which
    rounds exactly as NumPy casts the scalar."""
    a = v.arr
    if isinstance(a, np.ndarray):
        if a.ndim == 0 and v.const and a.dtype == out.dtype:
            return L.full(a[()], out)
        return v
    if v.const and (type(a) in (int, float, bool) or
                    (isinstance(a, np.generic) and a.dtype == out.dtype)):
        return L.full(a, out)
    return v


def _binary(fname, errstate=False):
    def rule(L, args, params, out):
        if not _is_float_array(out) or len(args) != 2:
            return None
        if errstate:
            L.errstate = True
        a, b = (_operand(L, v, out) for v in args)
        return L.call(L.ufunc(fname), (a, b), out)
    return rule


def _neg(L, args, params, out):
    if not _lowerable_float(out, args[0].arr):
        return None
    return L.call(L.ufunc("negative"), args, out)


def _matmul(L, args, params, out):
    a, b = args
    if not (isinstance(a.arr, np.ndarray) and isinstance(b.arr, np.ndarray) and
            a.arr.ndim == 2 and b.arr.ndim == 2):
        return None
    L.env["_dot"] = np.dot
    return L.call("_dot", (a, b), out)


def _transpose(L, args, params, out):
    (x,), (axes,) = args, params
    if not isinstance(x.arr, np.ndarray) or x.arr.ndim != 2 or tuple(axes) != (1, 0):
        return None
    v = L.var()
    L.lines.append(f"{v} = {x.expr}.T")
    return Val(v, out)


def _sigmoid_tail(L, t):
    """sigma finished in place on t = -x (a fresh temporary): e^t, 1 + e^t, 1 / that --
    the twin's operations in the twin's order."""
    L.errstate = True
    L.inplace(L.ufunc("exp"), (t,), t)
    L.inplace(L.ufunc("add"), (t, L.full(1, t.arr)), t)
    return L.inplace(L.ufunc("reciprocal"), (t,), t)


def _fresh(L, fn, args, like):
    """``fn(*args)`` into a new temporary that the caller goes on to change in place."""
    v = L.var()
    L.lines.append(f"{v} = {fn}({', '.join(a.expr for a in args)})")
    return Val(v, like)


def _act(L, x, act, out, inplace):
    """act(x) as the twin computes it; ``inplace``: x is a fresh temporary to reuse."""
    if act == "sigmoid":
        if inplace:
            return _sigmoid_tail(L, L.inplace(L.ufunc("negative"), (x,), x))
        return _sigmoid_tail(L, _fresh(L, L.ufunc("negative"), (x,), out))
    if act == "relu":
        args = (x, L.full(0, out))
        return L.inplace(L.ufunc("maximum"), args, x) if inplace else \
            L.call(L.ufunc("maximum"), args, out)
    if act == "tanh":
        return L.inplace(L.ufunc("tanh"), (x,), x) if inplace else \
            L.call(L.ufunc("tanh"), (x,), out)
    return x


def _lowerable_float(out, *inputs):
    """A float result of at least one dimension (float16 is left to the twins, which
    compute some of it in float32) from arrays of its dtype."""
    return (_is_float_array(out) and out.dtype != np.float16 and
            all(isinstance(a, np.ndarray) and a.dtype == out.dtype for a in inputs))


def _sigmoid(L, args, params, out):
    (x,) = args
    return _act(L, x, "sigmoid", out, False) if _lowerable_float(out, x.arr) else None


def _act_grad(L, out, act):
    """act'(z) from out = act(z), as the twin computes it (None: no factor)."""
    if act == "sigmoid":    # out * (1 - out)
        t = L.call(L.ufunc("subtract"), (L.full(1, out.arr), out), out.arr)
        return L.call(L.ufunc("multiply"), (out, t), out.arr)
    if act == "tanh":       # 1 - out * out
        t = L.call(L.ufunc("multiply"), (out, out), out.arr)
        return L.call(L.ufunc("subtract"), (L.full(1, out.arr), t), out.arr)
    if act == "relu":       # (out > 0) as out's dtype
        m = L.call(L.ufunc("greater"), (out, L.full(0, out.arr)), out.arr)
        return L.call(f"{m.expr}.astype", (L.name(out.arr.dtype),), out.arr)
    return None


def _sigmoid_backward(L, args, params, out):
    y, g = args  # g * y * (1 - y), left to right
    if not (_lowerable_float(out, y.arr, g.arr) and y.arr.shape == g.arr.shape == out.shape):
        return None
    gy = L.call(L.ufunc("multiply"), (g, y), out)
    one_minus = L.call(L.ufunc("subtract"), (L.full(1, y.arr), y), out)
    return L.call(L.ufunc("multiply"), (gy, one_minus), out)


def _tanh(L, args, params, out):
    (x,) = args
    return _act(L, x, "tanh", out, False) if _lowerable_float(out, x.arr) else None


def _tanh_backward(L, args, params, out):
    y, g = args  # g * (1 - y * y)
    if not (_lowerable_float(out, y.arr, g.arr) and y.arr.shape == g.arr.shape == out.shape):
        return None
    return L.call(L.ufunc("multiply"), (g, _act_grad(L, y, "tanh")), out)


def _relu(L, args, params, out):
    (x,) = args
    return _act(L, x, "relu", out, False) if _lowerable_float(out, x.arr) else None


def _positive(L, args, params, out):
    (x,) = args  # (x > 0) as x's dtype
    return _act_grad(L, x, "relu") if _lowerable_float(out, x.arr) else None


def _bias_act(L, args, params, out):
    z, b = args
    (act,) = params
    if b.arr is None:
        return _act(L, z, act, out, False) if _lowerable_float(out, z.arr) else None
    if not _lowerable_float(out, z.arr, b.arr):
        return None
    return _act(L, _fresh(L, L.ufunc("add"), (z, b), out), act, out, True)


def _bias_act_backward(L, args, params, out):
    g, y, act, need_b = args[0], args[1], args[2].arr, args[3].arr
    dz_arr, db_arr = out
    if not (_lowerable_float(dz_arr, g.arr, y.arr) and dz_arr.ndim >= 2 and
            g.arr.shape == y.arr.shape):
        return None
    factor = _act_grad(L, y, act)
    dz = g if factor is None else L.call(L.ufunc("multiply"), (g, factor), dz_arr)
    if not need_b:
        return dz, None
    # the twin: sum over the leading axes (in a wider type for many rows), in dz's dtype
    acc = bias_grad_accumulator(dz_arr.shape, dz_arr.dtype)
    axes = tuple(range(dz_arr.ndim - 1))
    L.env["_add_reduce"] = np.add.reduce
    axis = repr(axes[0] if len(axes) == 1 else axes)
    s = L.call("_add_reduce", (dz, axis) if acc == dz_arr.dtype else (dz, axis, L.name(acc)),
               db_arr, out_ok=dz_arr.dtype == acc)
    if dz_arr.dtype == acc:
        return dz, s
    return dz, L.call(f"{s.expr}.astype", (L.name(dz_arr.dtype),), db_arr, out_ok=False)


def _squared_error(L, args, params, out):
    p, t = args
    (reduction,) = params
    if not (_lowerable_float(p.arr, t.arr) and p.arr.shape == t.arr.shape):
        return None
    d = L.call(L.ufunc("subtract"), (p, t), p.arr)  # kept intact: the VJP reuses p - t
    d2 = L.call(L.ufunc("multiply"), (d, d), p.arr)
    if reduction == "none":
        return d2
    L.env["_add_reduce"] = np.add.reduce
    s = L.call("_add_reduce", (d2, "None"), out, out_ok=False)
    if reduction == "mean":
        s = L.call(L.ufunc("divide"), (s, L.name(p.arr.dtype.type(p.arr.size))), out,
                   out_ok=False)
    L.env["_asarray"] = np.asarray
    return L.call("_asarray", (s,), out, out_ok=False)


def quiet_fp():
    """``(enter, exit, state)`` that switch NumPy's floating-point warnings off and back in
    about 0.1 us (NumPy >= 2 keeps them in a context variable), or None when this NumPy
    has no such variable (then ``np.errstate`` is used, about 0.7 us)."""
    try:
        from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
        return _extobj_contextvar.set, _extobj_contextvar.reset, _make_extobj(all="ignore")
    except (ImportError, AttributeError, TypeError):
        return None


RULES = {
    elementwise.add.fwd: _binary("add"),
    elementwise.sub.fwd: _binary("subtract"),
    elementwise.mul.fwd: _binary("multiply"),
    elementwise.div.fwd: _binary("divide", errstate=True),
    elementwise.neg.fwd: _neg,
    linalg.matmul_op.fwd: _matmul,
    linalg.bias_act_op.fwd: _bias_act,
    linalg._bias_act_backward: _bias_act_backward,
    shape.transpose_op.fwd: _transpose,
    activations.sigmoid_op.fwd: _sigmoid,
    activations.sigmoid_backward_op.fwd: _sigmoid_backward,
    activations.tanh_op.fwd: _tanh,
    activations.tanh_backward_op.fwd: _tanh_backward,
    activations.relu_op.fwd: _relu,
    activations._positive: _positive,
    losses.squared_error.fwd: _squared_error,
}
