"""What every ``keras.ops`` function shares: the KerasTensor wrapper (:func:`keras_op`),
Keras' conversion of Python values to Tensors (:func:`to_tensor`: a Python float is
floatx, an int int32, a list takes the Keras result type of its items, an ndarray keeps
its dtype) and the weak typing of Python scalars beside a Tensor (:func:`pair`)."""

from __future__ import annotations

import builtins
import functools

import numpy as np

from ... import backend as _backend
from ... import functional as F
from ...core.op import Op, apply
from ...core.tensor import Tensor
from ...ops import creation as C
from .. import symbolic
from ..backend import result_type

__all__ = ["array_call", "floatx", "full_like", "int_result", "is_float", "keras_op", "ones_like",
           "pair", "to_tensor", "wrap_all", "zeros_like"]


def keras_op(fn):
    """The op, recorded as a node when any argument is a KerasTensor."""
    @functools.wraps(fn)
    def op(*args, **kwargs):
        if symbolic.is_symbolic((args, kwargs)):
            return symbolic.symbolic_call(symbolic.Op(fn), args, kwargs)
        return fn(*args, **kwargs)
    op.__wrapped_keras_op__ = True
    return op


def wrap_all(namespace, names):
    """Wrap each public function of a module's ``__all__`` with :func:`keras_op`."""
    for name in names:
        fn = namespace[name]
        if callable(fn) and not getattr(fn, "__wrapped_keras_op__", False):
            namespace[name] = keras_op(fn)


def floatx() -> str:
    return _backend.DEFAULT_FLOAT.name


def _scalar_dtype(v):
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, int):
        return "int32" if -(2 ** 31) <= v < 2 ** 31 else "int64"
    if isinstance(v, float):
        return floatx()
    return None


def _list_dtype(v):
    kinds = set()

    def walk(x):
        if isinstance(x, (list, tuple)):
            for e in x:
                walk(e)
        elif isinstance(x, Tensor):
            kinds.add(x.dtype.name)
        elif isinstance(x, np.generic):
            kinds.add(x.dtype.name)
        else:
            kinds.add(_scalar_dtype(x) or "float32")
    walk(v)
    if not kinds:
        return floatx()
    return result_type(*kinds)


def to_tensor(x, dtype=None):
    """``x`` as a Tensor by Keras' rules (``keras.ops.convert_to_tensor``)."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == np.dtype(dtype) else x.astype(dtype)
    if dtype is None:
        if isinstance(x, (bool, int, float)):
            dtype = _scalar_dtype(x)
        elif isinstance(x, (list, tuple)):
            if builtins.any(isinstance(e, Tensor) for e in x):
                return F.stack([to_tensor(e) for e in x])
            dtype = _list_dtype(x)
        else:
            arr = np.asarray(x)
            dtype = arr.dtype if arr.dtype != np.uint32 else np.int64
            return Tensor(arr.astype(dtype, copy=False))
    return Tensor(np.asarray(x, dtype=np.dtype(dtype)))


def _weak(v, like):
    """A Python scalar beside the Tensor ``like``: takes like's dtype where it fits."""
    kind = _scalar_dtype(v)
    if kind is None or isinstance(v, np.generic):
        return to_tensor(v)
    dt = like.dtype
    if kind == "bool":
        dtype = dt
    elif kind.startswith("int"):
        dtype = dt if dt != np.bool_ else kind
    else:
        dtype = dt if np.issubdtype(dt, np.floating) else floatx()
    return Tensor(np.asarray(v, dtype=dtype), device=like.device)


def pair(a, b):
    """Two operands as Tensors, a Python scalar weakly typed beside a Tensor."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        return a, b
    if ta:
        return a, _weak(b, a)
    if tb:
        return _weak(a, b), b
    return to_tensor(a), to_tensor(b)


def is_float(t) -> bool:
    return np.issubdtype(t.dtype, np.floating)


def int_result(t):
    """Keras' integer result: int32."""
    return t if t.dtype == np.int32 else t.astype("int32")


def _array_call(xp, *args):
    """``fn`` runs on the host (NumPy) arrays; a CUDA result is copied back to the device."""
    *arrays, fn = args
    if xp is np:
        return fn(np, *arrays)
    out = fn(np, *[xp.asnumpy(a) if isinstance(a, xp.ndarray) else a for a in arrays])
    return tuple(xp.asarray(o) for o in out) if isinstance(out, tuple) else xp.asarray(out)


_ARRAY_OPS: dict = {}


def array_call(name, fn, *tensors):
    """``fn(np, *arrays)`` through the dispatch as the non-differentiable op ``name``
    (integer maths, set operations, counting: computed on the host, as these are small or
    data-dependent); ge.jit and anomaly mode see it."""
    op = _ARRAY_OPS.get(name)
    if op is None:
        op = _ARRAY_OPS[name] = Op(_array_call, name=name, params=("fn",),
                                   differentiable=False, quiet=True)
    return apply(op, *tensors, params=(fn,))


def full_like(x, value, dtype=None):
    """A constant Tensor of ``x``'s shape, dtype (or ``dtype``) and device."""
    return C.full(tuple(x.shape), value, dtype=np.dtype(dtype or x.dtype), device=x.device)


def zeros_like(x, dtype=None):
    return full_like(x, 0, dtype)


def ones_like(x, dtype=None):
    return full_like(x, 1, dtype)
