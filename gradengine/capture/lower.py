"""Lowering a recorded ``ge.jit`` step to straight-line code.

:class:`Lowerer` collects the source of one Python function: every recorded step becomes
one line that calls the op's own forward (the same function the eager dispatch calls, so
a replay equals the eager step bit for bit), steps whose inputs are all constants are
folded, identical calls are made once, and a parameter's gradient lands in the
optimizer's flat gradient buffer (:mod:`gradengine.capture.flat_step`).
"""

from __future__ import annotations

import math

import numpy as np

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

    def retarget(self, val, target, buf=None):
        """Make ``val`` be computed into the buffer named ``target`` (``buf``: the buffer
        itself); a copy when its line cannot take ``out=`` or the buffer differs from the
        value in shape, dtype or layout. Returns the new Val."""
        i = self.producer.pop(val.expr, None)
        arr = val.arr
        if i is not None and buf is not None and not (
                getattr(arr, "shape", None) == buf.shape and
                getattr(arr, "dtype", None) == buf.dtype and buf.flags.c_contiguous):
            i = None
        if i is not None:
            text = self.lines[i]
            self.lines[i] = f"{text[:-1]}, out={target})"
        else:
            self.lines.append(f"_copyto({target}, {val.expr})")
            self.env["_copyto"] = self.xp.copyto
        for key in [k for k, v in self.cse.items() if v == val.expr]:
            del self.cse[key]
        return Val(target if i is None else val.expr, val.arr, static=True)


def quiet_fp():
    """``(enter, exit, state)`` that switch NumPy's floating-point warnings off and back in
    about 0.1 us (NumPy >= 2 keeps them in a context variable), or None when this NumPy
    has no such variable (then ``np.errstate`` is used, about 0.7 us)."""
    try:
        from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
        return _extobj_contextvar.set, _extobj_contextvar.reset, _make_extobj(all="ignore")
    except (ImportError, AttributeError, TypeError):
        return None


