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
from ..core.op import apply, fresh, op
from ..core.tensor import _HOOKED, _STALE, Tensor
from ..errors import DeviceError, DTypeError, GraphError, ShapeError
from . import (
    activations,
    composite,
    conv,
    creation,
    elementwise,
    extras,
    indexing,
    linalg,
    losses,
    manipulation,
    math,
    nn_extras,
    normalization,
    reductions,
    resample,
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
    # true division gives a float: its int operand is a number, never wrapped to the
    # tensor's dtype (``uint8_tensor / -1`` is -1, as torch; div's forward handles it);
    # nor is an exponent (torch refuses ``uint8_tensor ** -1`` and ``** 300``)
    wraps = fn is not div and fn is not pow

    def forward(self, other):
        if type(other) is not float and type(other) is not int:
            other = operand(other, self, fn.name)
        elif type(other) is int and self.dtype.kind in "iu" and wraps:
            other = elementwise.wrapped_int(other, self.dtype)
        return apply(fn, self, other)

    def reflected(self, other):
        if type(other) is not float and type(other) is not int:
            other = operand(other, self, fn.name)
        elif type(other) is int and self.dtype.kind in "iu" and wraps:
            other = elementwise.wrapped_int(other, self.dtype)
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


from .outarg import torch_can_cast  # noqa: E402 - PyTorch's casting rule, defined once


def _write(t, out, name, idx=indexing.WHOLE, tensors=(), broadcast=False):
    """Write ``out`` into ``t[idx]`` in place (the ``assign`` op) and bump t's version.
    An in-place op's result must have t's shape; a value set (``broadcast``: ``t[...] = v``,
    ``copy_``) broadcasts to it."""
    if isinstance(out, Tensor):
        if out.dtype != t.dtype and not torch_can_cast(out.dtype, t.dtype):
            raise DTypeError(f"{name}: result type {out.dtype.name} can't be cast to the "
                             f"desired output type {t.dtype.name} (an in-place op keeps the "
                             "tensor's dtype)")
        if idx is indexing.WHOLE and out.shape != t.shape and not broadcast:
            raise ShapeError(f"{name}: in-place result of shape {out.shape} does not fit "
                             f"the tensor's shape {t.shape}")
    apply(indexing.assign, t, out, *tensors, params=(idx,))
    t._version += 1


def inplace(self, fn, other):
    """``self op= other``: written into self's memory; recorded when grad is needed."""
    if _STALE[0]:
        fresh(self)  # (its history before the write: the base's current one)
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
        if _mode.enabled and getattr(self, "_view", None) is not None:
            _root_leaf(self, fn.name)  # a view taken before its leaf was set to require grad
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
    vc = t._vc
    if vc is not None:
        t._hv = vc[0]  # (a view: its history is now current)
        if len(vc) > 1:  # shared: the other views of its memory hold an older history now
            _STALE[0] = True
    if node is not None:
        node.out_version = t._version
        if node.out_ref is not None:
            node.out_ref = _weak(t)


def _weak(t):
    import weakref
    return weakref.ref(t)


def setitem(self, idx, value):
    """``self[idx] = value`` (version-checked; recorded when grad is needed)."""
    if _STALE[0]:
        fresh(self)
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
            _write(self, value, "setitem", template, tensors, broadcast=True)
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


def fill_(self, value):
    """Fill with ``value`` (a number or a one-element tensor) in place."""
    setitem(self, Ellipsis, value)
    return self


def copy_(self, src):
    """Copy ``src`` (broadcast to this shape, cast to this dtype) in place."""
    if isinstance(src, Tensor) and src.dtype != self.dtype:
        src = elementwise.cast(src, self.dtype)
    setitem(self, Ellipsis, src)
    return self


def inplace_fn(self, fn, name):
    """``self`` replaced in place by ``fn(self)`` (the in-place form of any out-of-place
    Tensor function: ``clamp_``, ``masked_fill_``, ``relu_`` ...), version-checked and
    recorded when grad is needed, as :func:`inplace`."""
    if _STALE[0]:
        fresh(self)
    if _mode.enabled and self._rg:
        if self.node is None:
            raise GraphError(f"{name}: a leaf tensor that requires grad (shape "
                             f"{self.shape}) cannot be modified in place while gradients are "
                             "recorded; use ge.no_grad() or an out-of-place op")
        _root_leaf(self, name)
        out = fn(_alias(self, True))
        _write(self, out, name)
        _rebind(self, out)
        _rebase(self)
    else:
        out = fn(self)
        if isinstance(out, Tensor) and out._rg and _mode.enabled:
            # a tensor that requires grad written into one that does not: record it
            _root_leaf(self, name)
            _write(self, out, name)
            _rebind(self, out)
            _rebase(self)
        else:
            _write(self, out, name)
    return self


def _binary_method(fn, name, alpha_ok=True):
    """``t.add(other, alpha=1)`` and its in-place ``t.add_(...)``, as torch."""
    def method(self, other, *, alpha=1):
        if alpha != 1:
            other = operand(other, self, name) * alpha
        return fn(self, other)

    def method_(self, other, *, alpha=1):
        if alpha != 1:
            other = operand(other, self, name) * alpha
        return inplace(self, _OPS[name], other)
    method.__name__, method_.__name__ = name, name + "_"
    return method, method_


_OPS = {"add": add, "sub": sub, "mul": mul, "div": div, "pow": pow}


def div_method(self, other, *, rounding_mode=None):
    """``t.div(other, rounding_mode=None | "trunc" | "floor")``, as torch."""
    if rounding_mode is None:
        return self / other
    if rounding_mode not in ("trunc", "floor"):
        from ..errors import ArgumentError
        raise ArgumentError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                            f"{rounding_mode!r}")
    o = elementwise.truncdiv if rounding_mode == "trunc" else elementwise.floordiv
    return apply(o, self, operand(other, self, "div"))


def register_hook(self, fn):
    """Call ``fn(grad)`` with this tensor's gradient during backward; a non-None result
    replaces the gradient (torch's ``Tensor.register_hook``). Returns a handle with
    ``remove()``."""
    if _STALE[0]:
        fresh(self)
    if not self._rg:
        raise GraphError(f"register_hook: the tensor of shape {self.shape} does not require "
                         "grad")
    if self.node is None:
        _HOOKED[0] = True
        hooks = getattr(self, "_hooks", None)
        if hooks is None:
            self._hooks = hooks = []
        hooks.append(fn)
        return _Handle(hooks, fn)
    # a non-leaf: the hooks live on the node that made it and run, in registration order,
    # on the sum of the gradients of all its uses (before and after this call), before
    # retain_grad keeps it (PyTorch's order)
    _HOOKED[0] = True
    node = self.node
    hooks = getattr(node, "hooks", None)
    if hooks is None:
        node.hooks = hooks = []
    hooks.append(fn)
    return _Handle(hooks, fn)


class _Handle:
    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def _delitem(self, idx):
    # PyTorch's TypeError (a class without __delitem__ but with __getattr__ would raise
    # AttributeError instead)
    raise TypeError("Tensor object doesn't support item deletion")


def detach_(self):
    """Cut this tensor from the graph in place (torch's ``detach_``).

    Raises:
        GraphError: a view that is part of a graph (PyTorch refuses it: use ``detach()``).
    """
    if getattr(self, "_view", None) is not None and self._rg:
        raise GraphError(f"detach_: can't detach views in-place (shape {self.shape}); use "
                         "detach() instead")
    self.node = None
    self._rg = False
    return self


# ---------------------------------------------------------------- reading values

@op(name="to_host", differentiable=False)
def to_host(xp, x):
    """x as a NumPy array on the host (a read of the values: ge.jit cannot replay past it)."""
    return x if xp is np else xp.asnumpy(x)


def numpy(self, *, force=False) -> np.ndarray:
    """The values as a NumPy array (shares memory on the CPU, a copy from CUDA);
    ``force=True`` (torch's keyword) always works here, as the plain call does."""
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


def to(self, *args, device=None, dtype=None, non_blocking=False, copy=False,
       memory_format=None):
    """This tensor on ``device`` and/or as ``dtype`` (``to("cuda")``, ``to("float64")``,
    ``to("cuda", "float16")``); differentiable. ``copy=True`` returns a new tensor even
    when nothing changes; ``non_blocking`` and ``memory_format`` are accepted (copies are
    synchronous; every tensor is contiguous)."""
    for a in args:
        if isinstance(a, Tensor):  # x.to(other): other's device and dtype, as torch
            device, dtype = a.device, a.dtype
        elif _is_dtype(a):
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
    if copy and out is self:
        out = clone(self)
    return out


def _is_dtype(a):
    if isinstance(a, (np.dtype, type)) or str(a).startswith("torch."):
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
    T.__hash__ = object.__hash__
    T.__getitem__ = indexing.getitem
    T.__setitem__ = setitem
    T.__delitem__ = _delitem
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
    T.is_cuda = property(lambda self: self.device != "cpu")
    T.nelement = lambda self: int(self.data.size)
    T.float = lambda self: elementwise.cast(self, "float32")
    T.double = lambda self: elementwise.cast(self, "float64")
    T.half = lambda self: elementwise.cast(self, "float16")
    T.clone = clone
    T.zero_ = zero_
    T.fill_ = fill_
    T.copy_ = copy_
    T.detach_ = detach_
    T.register_hook = register_hook
    for name, fn in _OPS.items():
        m, m_ = _binary_method(fn, name)
        if name != "div":
            setattr(T, name, m)
        setattr(T, name + "_", m_)
    T.div = div_method
    T.true_divide = lambda self, other: self / other
    T.floor_divide = lambda self, other: apply(elementwise.floordiv, self,
                                               operand(other, self, "floor_divide"))
    T.remainder = lambda self, other: apply(elementwise.remainder, self,
                                            operand(other, self, "remainder"))
    T.fmod = lambda self, other: apply(elementwise.fmod, self, operand(other, self, "fmod"))
    T.neg = T.negative = lambda self: apply(neg, self)
    for name, fn in (("floordiv", elementwise.floordiv), ("mod", elementwise.remainder),
                     ("and", elementwise.bitwise_and), ("or", elementwise.bitwise_or),
                     ("xor", elementwise.bitwise_xor), ("lshift", elementwise.left_shift),
                     ("rshift", elementwise.right_shift)):
        f, r = _binary(fn)
        setattr(T, f"__{name}__", f)
        setattr(T, f"__r{name}__", r)
        setattr(T, f"__i{name}__", lambda self, other, _fn=fn: inplace(self, _fn, other))
    T.__ipow__ = lambda self, other: inplace(self, pow, other)
    T.__invert__ = lambda self: apply(elementwise.bitwise_not, self)
    for name, fn in (("bitwise_and", elementwise.bitwise_and),
                     ("bitwise_or", elementwise.bitwise_or),
                     ("bitwise_xor", elementwise.bitwise_xor),
                     ("logical_and", elementwise.logical_and),
                     ("logical_or", elementwise.logical_or),
                     ("logical_xor", elementwise.logical_xor)):
        setattr(T, name, lambda self, other, _fn=fn: apply(_fn, self, operand(other, self)))
    T.bitwise_not = lambda self: apply(elementwise.bitwise_not, self)
    T.logical_not = lambda self: apply(elementwise.logical_not, self)
    for name, fn in (("eq", elementwise.eq), ("ne", elementwise.ne), ("lt", elementwise.lt),
                     ("le", elementwise.le), ("gt", elementwise.gt), ("ge", elementwise.ge)):
        setattr(T, name, lambda self, other, _fn=fn: apply(_fn, self, operand(other, self)))
    T.greater, T.less, T.greater_equal, T.less_equal = T.gt, T.lt, T.ge, T.le
    T.not_equal = T.ne
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
    T.view = shape.view
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
    _install_torch_spellings(T)


def _t_too_many(x):
    raise ShapeError(f"t: expects a tensor of at most 2 dimensions, got shape {x.shape} "
                     "(use transpose(dim0, dim1) or .mT)")


def _new(self, data_fn):
    def make(*size, dtype=None, device=None, requires_grad=False):
        shape = size[0] if len(size) == 1 and not isinstance(size[0], int) else size
        t = data_fn(tuple(shape), dtype or self.dtype, device or self.device)
        if requires_grad:
            t.requires_grad_(True)
        return t
    return make


def _install_torch_spellings(T):
    """The Tensor methods and properties PyTorch users call, spelled as PyTorch."""
    T.mT = property(lambda self: shape.matrix_transpose(self))
    T.mH = T.mT
    T.H = property(lambda self: shape.transpose(self))
    T.t = lambda self: self if self.ndim < 2 else shape.swapaxes(self, 0, 1) \
        if self.ndim == 2 else _t_too_many(self)
    T.view_as = lambda self, other: shape.reshape(self, other.shape)
    T.reshape_as = T.view_as
    T.expand_as = lambda self, other: shape.broadcast_to(self, other.shape)
    T.type_as = lambda self, other: elementwise.cast(self, other.dtype)
    T.contiguous = lambda self, memory_format=None: self if self.data.flags.c_contiguous \
        else clone(self)
    T.is_contiguous = lambda self, memory_format=None: bool(self.data.flags.c_contiguous)
    T.long = lambda self: elementwise.cast(self, "int64")
    T.int = lambda self: elementwise.cast(self, "int32")
    T.bool = lambda self: elementwise.cast(self, "bool")
    T.is_floating_point = lambda self: self.dtype.kind == "f"
    T.element_size = lambda self: self.dtype.itemsize
    T.nbytes = property(lambda self: int(self.data.nbytes))
    T.itemsize = property(lambda self: self.dtype.itemsize)
    T.stride = lambda self, dim=None: (
        tuple(s // self.dtype.itemsize for s in self.data.strides) if dim is None
        else self.data.strides[dim] // self.dtype.itemsize)
    T.data_ptr = lambda self: int(self.data.ctypes.data if self.device == "cpu"
                                  else self.data.data.ptr)
    T.type = lambda self, dtype=None: self.dtype.name if dtype is None else \
        elementwise.cast(self, dtype)
    T.equal = lambda self, other: self.shape == other.shape and bool(
        (self == other).all().item())
    T.allclose = lambda self, other, rtol=1e-05, atol=1e-08, equal_nan=False: bool(
        manipulation.isclose(self, other, rtol, atol, equal_nan).all().item())
    T.new_zeros = lambda self, *size, **kw: _new(self, lambda s, d, v: creation.zeros(
        s, dtype=d, device=v))(*size, **kw)
    T.new_ones = lambda self, *size, **kw: _new(self, lambda s, d, v: creation.ones(
        s, dtype=d, device=v))(*size, **kw)
    T.new_empty = lambda self, *size, **kw: _new(self, lambda s, d, v: creation.zeros(
        s, dtype=d, device=v))(*size, **kw)
    T.new_full = lambda self, size, fill_value, dtype=None, device=None, requires_grad=False: \
        _new(self, lambda s, d, v: creation.full(s, fill_value, dtype=d, device=v))(
            size, dtype=dtype, device=device, requires_grad=requires_grad)
    T.new_tensor = lambda self, data, dtype=None, device=None, requires_grad=False: Tensor(
        data, dtype=dtype or self.dtype, device=device or self.device,
        requires_grad=requires_grad)  # torch: self's dtype, also for Tensor data
    # in-place forms of the out-of-place methods (version-checked, recorded with grad)
    for name in ("clamp", "clip", "clamp_min", "clamp_max", "masked_fill", "relu", "sigmoid",
                 "tanh", "exp", "log", "sqrt", "abs", "neg", "floor", "ceil", "round", "trunc",
                 "sin", "cos", "square", "reciprocal", "rsqrt", "sign", "frac", "lerp",
                 "addcmul", "addcdiv", "index_fill", "index_add", "scatter_add",
                 "exp2", "expm1", "log1p", "log2", "log10", "floor_divide", "remainder",
                 "fmod", "copysign", "hypot",
                 "nan_to_num", "logical_not", "logical_and", "logical_or", "bitwise_and",
                 "bitwise_or", "bitwise_xor", "bitwise_not"):
        fn = getattr(T, name)
        setattr(T, name + "_", lambda self, *a, _fn=fn, _n=name + "_", **kw: inplace_fn(
            self, lambda t: _fn(t, *a, **kw), _n))
    T.maximum = lambda self, other: apply(elementwise.maximum, self, operand(other, self))
    T.minimum = lambda self, other: apply(elementwise.minimum, self, operand(other, self))
    # the functional activations and layers as methods too (``Tensor.gelu(x, ...)``, as
    # tinygrad and others spell them), and the constructors as static methods
    for name in ("gelu", "elu", "selu", "silu", "softplus", "leaky_relu", "hardtanh", "relu6",
                 "softsign", "mish", "hardswish", "hardsigmoid", "celu", "log_sigmoid",
                 "logsigmoid", "tanhshrink", "glu", "conv1d", "conv2d", "conv_transpose2d",
                 "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "layer_norm", "dropout",
                 "scaled_dot_product_attention", "linear", "pad", "one_hot", "embedding"):
        src = "log_sigmoid" if name == "logsigmoid" else name
        fn = next((getattr(m, src) for m in FAMILIES + (linalg,) if hasattr(m, src)), None)
        if fn is not None and not hasattr(T, name):
            setattr(T, name, fn)
    T.swish = T.silu
    for name in ("zeros", "ones", "full", "empty", "eye", "arange", "linspace", "rand",
                 "randn", "randint", "zeros_like", "ones_like", "full_like"):
        setattr(T, name, staticmethod(getattr(creation, name)))
    T.einsum = staticmethod(lambda equation, *operands: manipulation.einsum(equation,
                                                                              *operands))
    T.stack = lambda self, *others, dim=0: shape.stack((self,) + others, dim)
    T.cat = lambda self, *others, dim=0: shape.concatenate((self,) + others, dim)
    T.uniform_ = lambda self, a=0.0, b=1.0: copy_(self, creation.rand(
        self.shape, dtype=self.dtype, device=self.device) * (b - a) + a)
    T.normal_ = lambda self, mean=0.0, std=1.0: copy_(self, creation.randn(
        self.shape, dtype=self.dtype, device=self.device) * std + mean)


FAMILIES = (math, scans, manipulation, conv, normalization, composite, extras, resample,
            nn_extras)
_install()

__all__ = ["activations", "conv", "creation", "elementwise", "indexing", "linalg", "losses",
           "manipulation", "math", "normalization", "operand", "reductions", "scans", "shape"]


# -- tmisc
# the in-place random fills (random_, uniform_ and normal_ with generator=, exponential_,
# cauchy_, geometric_, log_normal_, bernoulli_): ops of gradengine/ops/random_extras.py
from . import random_extras  # noqa: E402

for _name, _fn in random_extras.TENSOR_METHODS.items():
    setattr(Tensor, _name, _fn)


# -- vol: the 1-d / 3-d convolution and pooling family (ops/volume.py)
from . import volume  # noqa: E402

FAMILIES = FAMILIES + (volume,)
__all__ += ["volume"]

# -- tmath
from . import special_math  # noqa: E402

FAMILIES = FAMILIES + (special_math,)


def _float_power_(self, exponent):
    """``t.float_power_(e)``: only a float64 tensor can hold the float64 result (torch)."""
    if self.dtype != np.float64:
        raise DTypeError(f"float_power_: the base has dtype {self.dtype.name} but the result "
                         "requires float64")
    return inplace_fn(self, lambda t: special_math.float_power(t, exponent), "float_power_")


def _install_tmath(T):
    """The special_math family's methods, torch's remaining spellings of arithmetic and the
    in-place forms of every out-of-place method in ``special_math.INPLACE_METHODS``."""
    for name, fn in special_math.TENSOR_METHODS.items():
        setattr(T, name, fn)
    T.multiply, T.subtract, T.divide = T.mul, T.sub, div_method
    T.multiply_, T.subtract_, T.true_divide_ = T.mul_, T.sub_, T.div_
    T.float_power_ = _float_power_
    for name in special_math.INPLACE_METHODS:
        if hasattr(T, name + "_"):
            continue
        fn = getattr(T, name)
        setattr(T, name + "_", lambda self, *a, _fn=fn, _n=name + "_", **kw: inplace_fn(
            self, lambda t: _fn(t, *a, **kw), _n))


_install_tmath(Tensor)
__all__ += ["special_math"]

# -- tshape
from . import shape_extras  # noqa: E402 - the shape, scatter and linalg spellings

FAMILIES = FAMILIES + (shape_extras,)
for _name, _fn in shape_extras.TENSOR_METHODS.items():
    setattr(Tensor, _name, _fn)
