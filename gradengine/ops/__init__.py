"""The op definitions, by family, and the Tensor methods and operators built on them.

In-place forms (``+=``, ``t[idx] = v``) are an out-of-place op followed by the ``assign``
op, which writes the result into the tensor's own memory (its views see the change) and
bumps the version counter it shares with them. When a gradient is recorded, the tensor
then carries the new op's history; nodes recorded before keep routing to the old one.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..core.gradmode import _mode
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import DeviceError, DTypeError, GraphError, ShapeError
from . import (
    activations,
    conv,
    creation,
    elementwise,
    indexing,
    linalg,
    losses,
    manipulation,
    math,
    normalization,
    reductions,
    scans,
    shape,
)
from .elementwise import add, div, mul, neg, pow, sub

_SCALARS = (int, float, bool, np.number, np.bool_)


def operand(x, like, name="operand"):
    """Python and NumPy scalars stay scalars (they never upcast); anything else becomes a
    constant Tensor on ``like``'s device (``name``: the op, for the error)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _SCALARS):
        # NumPy scalars are "strong" under NEP 50; as Python scalars they never upcast.
        return x.item() if isinstance(x, (np.number, np.bool_)) else x
    if isinstance(x, str) or x is None:  # issue 14: gradengine's error, naming the op
        raise DTypeError(f"{name}: unsupported operand: a tensor of shape {like.shape} and "
                         f"dtype {like.dtype.name} with {type(x).__name__} {x!r}")
    return Tensor(x, device=like.device)


def _binary(fn):
    def forward(self, other):
        if type(other) is not float and type(other) is not int:
            other = operand(other, self, fn.name)
        return apply(fn, self, other)

    def reflected(self, other):
        if type(other) is not float and type(other) is not int:
            other = operand(other, self, fn.name)
        return apply(fn, other, self)
    return forward, reflected


# ---------------------------------------------------------------- in-place writes

def _alias(t, copy):
    """A Tensor standing for ``t``'s value and history before an in-place change; a copy
    of its data (made by an op, so ge.jit sees it) when the new op saves it."""
    a = apply(_copy, t) if copy else Tensor._make(t.data, t.device)
    a.node = t.node
    a._rg = t._rg
    return a


@op(name="clone", differentiable=False)
def _copy(xp, x):
    """A copy of x (the value an in-place op saves of its target)."""
    return x.copy()


def _write(t, out, name, idx=indexing.WHOLE, tensors=()):
    """Write ``out`` into ``t[idx]`` in place (the ``assign`` op) and bump t's version."""
    if isinstance(out, Tensor):
        if out.dtype != t.dtype and not np.can_cast(out.dtype, t.dtype, "same_kind"):
            raise DTypeError(f"{name}: the result of dtype {out.dtype.name} cannot be stored "
                             f"in place in a tensor of dtype {t.dtype.name}")
        if idx is indexing.WHOLE and out.shape != t.shape:
            raise ShapeError(f"{name}: in-place result of shape {out.shape} does not fit "
                             f"the tensor's shape {t.shape}")
    apply(indexing.assign, t, out, *tensors, params=(idx,))
    t._version += 1


def inplace(self, fn, other):
    """``self op= other``: written into self's memory; recorded when grad is needed."""
    other = operand(other, self)
    if isinstance(other, Tensor) and other.device != self.device:
        raise DeviceError(f"{fn.name}: expected all tensors on one device, got "
                          f"{self.device!r} and {other.device!r}")
    other_rg = isinstance(other, Tensor) and other._rg
    if _mode.enabled and (self._rg or other_rg):
        if self.node is None and self._rg:
            raise GraphError(f"{fn.name}: a leaf tensor that requires grad (shape "
                             f"{self.shape}) cannot be modified in place while gradients are "
                             "recorded; use ge.no_grad() or an out-of-place op")
        _root_leaf(self, fn.name)
        needs = (self._rg, other_rg)
        saves_self = 0 in fn.plan(needs)[0]
        out = apply(fn, _alias(self, saves_self), other)
        _write(self, out, fn.name)
        _rebind(self, out)
        _rebase(self)
    else:
        out = apply(fn, self, other)
        _write(self, out, fn.name)
    return self


@op(params=("view", "vparams"))
def view_put(xp, base, value, view, vparams):
    """A copy of base with the region ``view`` selects set to value: the history of a base
    after an in-place write into one of its views."""
    out = base.copy()
    view.fwd(xp, out, *vparams)[...] = value
    return out


view_put.defvjp(lambda g, view, vparams: apply(view_put, g, 0.0, params=(view, vparams)),
                lambda g, view, vparams: apply(view, g, params=vparams))


def _root_leaf(t, name):
    """Refuse an in-place write with grad into a view of a leaf that requires grad."""
    view = getattr(t, "_view", None)
    while view is not None:
        t = view[0]
        view = getattr(t, "_view", None)
    if t.node is None and t._rg:
        raise GraphError(f"{name}: a view of a leaf tensor that requires grad (shape "
                         f"{t.shape}) cannot be modified in place while gradients are "
                         "recorded; use ge.no_grad() or clone() the leaf first")


def _rebase(t):
    """After an in-place write into the view ``t``: its bases take the write into their
    histories (PyTorch's CopySlices), up the chain of views."""
    view = getattr(t, "_view", None)
    while view is not None:
        base, vop, vparams = view
        new = apply(view_put, _alias(base, False), t, params=(vop, vparams))
        _rebind(base, new)
        t, view = base, getattr(base, "_view", None)


def _rebind(t, out):
    """``t`` now holds ``out``'s value: it takes ``out``'s history (nodes that read ``t``
    before keep the edges they were recorded with)."""
    node = out.node
    t.node = node
    t._rg = node is not None
    if node is not None:
        node.out_version = t._version
        if node.out_ref is not None:
            node.out_ref = _weak(t)


def _weak(t):
    import weakref
    return weakref.ref(t)


def setitem(self, idx, value):
    """``self[idx] = value`` (version-checked; recorded when grad is needed)."""
    value = operand(value, self)
    if isinstance(value, Tensor) and value.device != self.device:
        raise DeviceError(f"setitem: expected all tensors on one device, got "
                          f"{self.device!r} and {value.device!r}")
    template, tensors = indexing.split_index(idx, self.device)
    v_rg = isinstance(value, Tensor) and value._rg
    if isinstance(value, Tensor) and value.dtype != self.dtype and not np.can_cast(
            value.dtype, self.dtype, "same_kind"):
        raise DTypeError(f"setitem: a value of dtype {value.dtype.name} cannot be stored in a "
                         f"tensor of dtype {self.dtype.name}")
    try:
        if _mode.enabled and (self._rg or v_rg):
            if self.node is None and self._rg:
                raise GraphError(f"setitem: a leaf tensor that requires grad (shape "
                                 f"{self.shape}) cannot be modified in place while gradients "
                                 "are recorded; use ge.no_grad()")
            _root_leaf(self, "setitem")
            out = apply(indexing.index_put, _alias(self, False), value, *tensors,
                        params=(template,))
            _write(self, out, "setitem")
            _rebind(self, out)
            _rebase(self)
        else:
            _write(self, value, "setitem", template, tensors)
    except IndexError as e:
        raise IndexError(f"setitem: {e} (tensor of shape {self.shape})") from None
    except (ShapeError, DTypeError, GraphError):
        raise
    except ValueError as e:
        raise ShapeError(f"setitem: cannot assign a value of shape "
                         f"{tuple(getattr(value, 'shape', ()))} to index {idx!r} of a tensor "
                         f"of shape {self.shape}: {e}") from None


def zero_(self):
    """Fill with zeros in place (version-checked)."""
    setitem(self, Ellipsis, 0)
    return self


# ---------------------------------------------------------------- reading values

@op(name="to_host", differentiable=False)
def to_host(xp, x):
    """x as a NumPy array on the host (a read of the values: ge.jit cannot replay past it)."""
    return x if xp is np else xp.asnumpy(x)


def numpy(self) -> np.ndarray:
    """The values as a NumPy array (shares memory on the CPU, a copy from CUDA)."""
    return apply(to_host, self).data


def item(self):
    """The one element as a Python scalar."""
    if self.data.size != 1:
        raise ValueError(f"item: only a tensor with one element can be converted to a Python "
                         f"scalar, got shape {self.shape}")
    return numpy(self).reshape(()).item()


def tolist(self):
    return numpy(self).tolist()


def _bool(self):
    if self.data.size != 1:
        raise ValueError(f"bool: the truth value of a tensor of shape {self.shape} is "
                         "ambiguous; use .any() or .all()")
    return bool(item(self))


def _index(self):
    if self.data.dtype.kind not in "iub" or self.data.size != 1:
        raise TypeError("only integer tensors of one element can be used as an index")
    return int(item(self))


def to(self, *args, device=None, dtype=None):
    """This tensor on ``device`` and/or as ``dtype`` (``to("cuda")``, ``to("float64")``,
    ``to("cuda", "float16")``); differentiable."""
    for a in args:
        if _is_dtype(a):
            dtype = a
        else:
            device = a
    out = self
    if device is not None:
        dev = backend.normalize_device(device, "to")
        if dev != self.device:
            out = elementwise.to_device(out, dev)
    if dtype is not None:
        out = elementwise.cast(out, dtype)
    return out


def _is_dtype(a):
    if isinstance(a, (np.dtype, type)):
        return True
    if isinstance(a, str):
        return a in backend.SUPPORTED_DTYPES or a in ("float", "double", "half", "bool_")
    return False


def clone(self):
    """A copy with the same history (gradients flow back through it)."""
    if self.dtype.kind == "f" and self._rg:
        return self * 1
    return apply(_copy, self)


def _install():
    T = Tensor
    for name, fn in (("add", add), ("sub", sub), ("mul", mul), ("truediv", div), ("pow", pow)):
        f, r = _binary(fn)
        setattr(T, f"__{name}__", f)
        setattr(T, f"__r{name}__", r)
    for name, fn in (("iadd", add), ("isub", sub), ("imul", mul), ("itruediv", div)):
        setattr(T, f"__{name}__", lambda self, other, _fn=fn: inplace(self, _fn, other))
    T.__neg__ = lambda self: apply(neg, self)
    T.__pos__ = lambda self: self
    T.__abs__ = lambda self: apply(elementwise.abs_, self)
    T.__matmul__ = lambda self, other: linalg.matmul(self, operand(other, self))
    T.__rmatmul__ = lambda self, other: linalg.matmul(operand(other, self), self)
    for dunder, fn in (("lt", elementwise.lt), ("le", elementwise.le), ("gt", elementwise.gt),
                       ("ge", elementwise.ge), ("eq", elementwise.eq), ("ne", elementwise.ne)):
        setattr(T, f"__{dunder}__", lambda self, other, _fn=fn: apply(_fn, self,
                                                                      operand(other, self)))
    T.__invert__ = lambda self: apply(elementwise.logical_not, self)
    T.__and__ = lambda self, other: apply(elementwise.logical_and, self, operand(other, self))
    T.__or__ = lambda self, other: apply(elementwise.logical_or, self, operand(other, self))
    T.__hash__ = object.__hash__
    T.__getitem__ = indexing.getitem
    T.__setitem__ = setitem
    T.__bool__ = _bool
    T.__float__ = lambda self: float(item(self))
    T.__int__ = lambda self: int(item(self))
    T.__index__ = _index
    T.__array__ = lambda self, dtype=None, copy=None: (
        numpy(self) if dtype is None else numpy(self).astype(dtype, copy=False))
    T.numpy = numpy
    T.item = item
    T.tolist = tolist
    T.to = to
    T.cpu = lambda self: to(self, "cpu")
    T.cuda = lambda self, index=0: to(self, f"cuda:{index}")
    T.float = lambda self: elementwise.cast(self, "float32")
    T.double = lambda self: elementwise.cast(self, "float64")
    T.half = lambda self: elementwise.cast(self, "float16")
    T.clone = clone
    T.zero_ = zero_
    T.zero_grad = lambda self: setattr(self, "grad", None)
    T.sum = reductions.sum
    T.mean = reductions.mean
    T.max = reductions.max
    T.min = reductions.min
    T.argmax = reductions.argmax_
    T.argmin = reductions.argmin_
    T.any = reductions.any
    T.all = reductions.all
    T.reshape = shape.reshape
    T.view = shape.reshape
    T.transpose = shape.transpose
    T.permute = shape.transpose
    T.swapaxes = shape.swapaxes
    T.flatten = shape.flatten
    T.squeeze = shape.squeeze
    T.unsqueeze = shape.unsqueeze
    T.broadcast_to = shape.broadcast_to
    T.expand = shape.expand
    T.T = property(lambda self: shape.transpose(self))
    T.exp = lambda self: apply(elementwise.exp, self)
    T.log = lambda self: apply(elementwise.log, self)
    T.sqrt = lambda self: apply(elementwise.sqrt, self)
    T.abs = T.__abs__
    T.sigmoid = activations.sigmoid
    T.tanh = activations.tanh
    T.relu = activations.relu
    T.softmax = activations.softmax
    T.log_softmax = activations.log_softmax
    T.matmul = linalg.matmul
    T.astype = elementwise.cast
    T.clip = lambda self, lo=None, hi=None: apply(elementwise.clip, self, params=(lo, hi))
    T.clamp = T.clip
    T.pow = T.__pow__
    for family in FAMILIES:
        for name, fn in family.TENSOR_METHODS.items():
            setattr(T, name, fn)


FAMILIES = (math, scans, manipulation, conv, normalization)
_install()

__all__ = ["activations", "conv", "creation", "elementwise", "indexing", "linalg", "losses",
           "manipulation", "math", "normalization", "operand", "reductions", "scans", "shape"]
