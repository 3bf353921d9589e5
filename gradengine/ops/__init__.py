"""The op definitions, grouped by kind, and the Tensor methods and operators built on them."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import GraphError, apply, apply1, apply2, rapply2, remember_history, _mode
from ..tensor import Tensor
from ..errors import DeviceError, DTypeError, ShapeError
from . import activations, elementwise, linalg, losses, reductions, shape  # noqa: F401
from .elementwise import add, div, mul, neg, pow, sub

_SCALARS = (int, float, bool, np.number, np.bool_)


def operand(x, like):
    """Python and NumPy scalars stay scalars (they never upcast); anything else becomes a
    constant Tensor on ``like``'s device."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _SCALARS):
        # NumPy scalars are "strong" under NEP 50; as Python scalars they never upcast.
        return x.item() if isinstance(x, (np.number, np.bool_)) else x
    return Tensor(x, device=like.device)


def _binary(fn):
    def forward(self, other):
        if type(other) is not float and type(other) is not int:
            other = operand(other, self)
        return apply2(fn, self, other)

    def reflected(self, other):
        if type(other) is not float and type(other) is not int:
            other = operand(other, self)
        return rapply2(fn, other, self)
    return forward, reflected


_UFUNCS = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide"}


def inplace(self, fn, other):
    """``self op= other``: bumps the version; recorded out of place when grad is needed."""
    other = operand(other, self)
    other_rg = isinstance(other, Tensor) and other.requires_grad
    if _mode.enabled and (self.requires_grad or other_rg):
        if self.node is None and self.requires_grad:
            raise GraphError(f"{fn.name}: a leaf tensor that requires grad (shape {self.shape}) "
                             "cannot be modified in place while gradients are recorded; use "
                             "ge.no_grad() or an out-of-place op")
        out = apply(fn, (_alias(self), other))
        _rebind(self, out, fn.name)
    else:
        od = other.data if isinstance(other, Tensor) else other
        if isinstance(other, Tensor) and other.device != self.device:
            raise DeviceError(f"{fn.name}: tensors on {self.device!r} and {other.device!r}")
        xp = backend.xp_of(self.device)
        ufunc = getattr(xp, _UFUNCS[fn.name])
        try:
            ufunc(self.data, od, out=self.data, casting="same_kind")
        except TypeError as e:
            raise DTypeError(f"{fn.name}: in-place result of {self.dtype.name} {fn.name} "
                             f"{getattr(od, 'dtype', type(od).__name__)} cannot be stored in "
                             f"{self.dtype.name}") from e
        except ValueError:
            raise ShapeError(f"{fn.name}: in-place result of shapes {self.shape} and "
                             f"{tuple(getattr(od, 'shape', ()))} does not fit {self.shape}") \
                from None
        if _mode.trace is not None:
            _mode.trace.log_inplace(_inplace_ufunc(ufunc), self, other)
    self._version += 1
    return self


def _inplace_ufunc(ufunc):
    def run(target, other):
        ufunc(target, other, out=target, casting="same_kind")
    return run


def _setitem_raw(idx):
    def run(target, value):
        target[idx] = value
    return run


def _alias(t):
    """A Tensor standing for ``t``'s value and history before an in-place change."""
    a = Tensor._make(t.data, t.device)
    a.node = t.node
    a.requires_grad = t.requires_grad
    a._version = t._version
    return a


def _rebind(t, out, name):
    if out.shape != t.shape:
        raise ShapeError(f"{name}: in-place result of shape {out.shape} does not fit {t.shape}")
    data = out.data if out.dtype == t.dtype else out.data.astype(t.dtype)
    remember_history(t)
    t.data = data
    t.node = out.node
    t.requires_grad = True


def setitem(self, idx, value):
    """``self[idx] = value`` (version-checked; recorded when grad is needed)."""
    value = operand(value, self)
    if isinstance(value, Tensor) and value.device != self.device:
        raise DeviceError(f"setitem: tensors on {self.device!r} and {value.device!r}")
    nidx, advanced = shape._normalize_index(idx, self.device)
    v_rg = isinstance(value, Tensor) and value.requires_grad
    vd = value.data if isinstance(value, Tensor) else value
    try:
        if _mode.enabled and (self.requires_grad or v_rg):
            if self.node is None and self.requires_grad:
                raise GraphError(f"setitem: a leaf tensor that requires grad (shape "
                                 f"{self.shape}) cannot be modified in place while gradients "
                                 "are recorded; use ge.no_grad()")
            out = apply(shape.index_put, (_alias(self), value), (nidx, advanced))
            _rebind(self, out, "setitem")
        else:
            self.data[nidx] = vd
            if _mode.trace is not None:
                _mode.trace.log_inplace(_setitem_raw(nidx), self, value)
    except IndexError as e:
        raise IndexError(f"setitem: {e} (tensor of shape {self.shape})") from None
    except ShapeError:
        raise
    except ValueError as e:
        raise ShapeError(f"setitem: cannot assign a value of shape "
                         f"{tuple(getattr(vd, 'shape', ()))} to index {idx!r} of a tensor of "
                         f"shape {self.shape}: {e}") from None
    self._version += 1


def _install():
    T = Tensor
    for name, fn in (("add", add), ("sub", sub), ("mul", mul), ("truediv", div), ("pow", pow)):
        f, r = _binary(fn)
        setattr(T, f"__{name}__", f)
        setattr(T, f"__r{name}__", r)
    for name, fn in (("iadd", add), ("isub", sub), ("imul", mul), ("itruediv", div)):
        setattr(T, f"__{name}__", lambda self, other, _fn=fn: inplace(self, _fn, other))
    T.__neg__ = lambda self: apply1(neg, self)
    T.__pos__ = lambda self: self
    T.__abs__ = lambda self: apply(elementwise.abs_, (self,))
    T.__matmul__ = lambda self, other: linalg.matmul(self, operand(other, self))
    T.__rmatmul__ = lambda self, other: linalg.matmul(operand(other, self), self)
    for dunder, fn in (("lt", elementwise.lt), ("le", elementwise.le), ("gt", elementwise.gt),
                       ("ge", elementwise.ge), ("eq", elementwise.eq), ("ne", elementwise.ne)):
        setattr(T, f"__{dunder}__", fn)
    T.__hash__ = object.__hash__
    T.__getitem__ = shape.getitem
    T.__setitem__ = setitem
    T.sum = reductions.sum
    T.mean = reductions.mean
    T.max = reductions.max
    T.min = reductions.min
    T.reshape = shape.reshape
    T.view = shape.reshape
    T.transpose = shape.transpose
    T.permute = shape.transpose
    T.swapaxes = shape.swapaxes
    T.flatten = shape.flatten
    T.squeeze = shape.squeeze
    T.unsqueeze = shape.unsqueeze
    T.broadcast_to = shape.broadcast_to
    T.expand = lambda self, *s: shape.broadcast_to(self, s[0] if len(s) == 1 and
                                                   isinstance(s[0], (tuple, list)) else s)
    T.exp = lambda self: apply1(elementwise.exp, self)
    T.log = lambda self: apply1(elementwise.log, self)
    T.sqrt = lambda self: apply1(elementwise.sqrt, self)
    T.abs = T.__abs__
    T.sigmoid = activations.sigmoid
    T.tanh = activations.tanh
    T.relu = activations.relu
    T.softmax = activations.softmax
    T.log_softmax = activations.log_softmax
    T.matmul = linalg.matmul
    T.astype = elementwise.cast
    T.clip = lambda self, lo=None, hi=None: apply(elementwise.clip, (self,), (lo, hi))
    T.clamp = T.clip
    T.pow = T.__pow__
    T.argmax = lambda self, axis=None, keepdims=False: Tensor._make(
        self.data.argmax(axis=axis, keepdims=keepdims), self.device)
    T.argmin = lambda self, axis=None, keepdims=False: Tensor._make(
        self.data.argmin(axis=axis, keepdims=keepdims), self.device)


_install()
