"""PyTorch's ``out=`` keyword for the top-level functions (``ge.matmul(a, b, out=c)``,
``ge.add(a, b, out=c)``, ``ge.max(x, 1, out=(values, indices))``).

The result is computed as usual and written into ``out`` (cast to ``out``'s dtype when
PyTorch's rule allows it, resized when its shape differs -- with PyTorch's warning when
``out`` was not empty); ``out`` is returned. As in PyTorch, ``out=`` does not record a
gradient: a call with inputs that require grad while grad mode is on raises."""

from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np

from ..core.gradmode import _mode, is_grad_enabled
from ..core.tensor import Tensor
from ..errors import CaptureError, DeviceError, DTypeError, GraphError

__all__ = ["torch_can_cast", "with_out", "write_out"]


def torch_can_cast(src, dst) -> bool:
    """PyTorch's ``can_cast`` category rule: no float to an integer, nothing but bool to
    bool; any integer to any integer (``uint8_tensor *= int16_tensor``, an int64 sum into a
    uint8 ``out``), which NumPy's ``same_kind`` refuses."""
    src, dst = np.dtype(src).kind, np.dtype(dst).kind
    if dst == "b":
        return src == "b"
    if dst in "iu":
        return src in "biu"
    if dst == "f":
        return src != "c"
    return True


# PyTorch's unary ops that keep their input's dtype (no promotion) refuse an out= of
# another dtype ("Found dtype Double but expected Float"), unlike exp, sin ...
_SAME_DTYPE_OUT = frozenset(("neg", "negative", "abs", "absolute", "floor", "ceil", "round",
                             "trunc", "fix", "frac", "sign", "sgn", "bitwise_not"))


def _torch_name(dtype):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(np.dtype(dtype).name, np.dtype(dtype).name)


def _write_one(name, res, out):
    if not isinstance(out, Tensor):
        raise DTypeError(f"{name}(): argument 'out' must be a Tensor, not "
                         f"{type(out).__name__}")
    if not isinstance(res, Tensor):
        raise DTypeError(f"{name}(): out= is not supported for a result of type "
                         f"{type(res).__name__}")
    if res.device != out.device:
        raise DeviceError(f"{name}(): expected out tensor to be on {res.device!r} like the "
                          f"result, got {out.device!r}")
    if res.dtype != out.dtype and name in _SAME_DTYPE_OUT:
        raise DTypeError(f"{name}(): Found dtype {_torch_name(out.dtype)} but expected "
                         f"{_torch_name(res.dtype)} (its out= must have the result's dtype)")
    if res.dtype != out.dtype and not torch_can_cast(res.dtype, out.dtype):
        raise DTypeError(f"{name}(): result type {res.dtype.name} can't be cast to the "
                         f"desired output type {out.dtype.name}")
    if out.shape == res.shape:  # through the dispatch (ge.jit replays the write)
        out.copy_(res)
        return out
    # a resize rebinds out's array, which a ge.jit replay could not repeat: refused there
    if _mode.hook is not None:
        raise CaptureError(f"{name}(): out= of shape {out.shape} would be resized to "
                           f"{res.shape}, which ge.jit cannot record; pass an out of the "
                           "result's shape")
    if out.data.size != 0:
        warnings.warn(
            f"{name}(): an output with one or more elements was resized since it had "
            f"shape {list(out.shape)}, which does not match the required output shape "
            f"{list(res.shape)}. This behavior is deprecated, and in a future PyTorch "
            "release outputs will not be resized unless they have zero elements.",
            UserWarning, stacklevel=4)
    arr = res.data.astype(out.dtype)  # a fresh array, never the result's own
    out.data = arr
    out._version += 1
    return out


def write_out(name, res, out):
    """Write ``res`` (a Tensor or a tuple of Tensors) into ``out`` and return ``out``."""
    if is_grad_enabled():
        outs = out if isinstance(out, (tuple, list)) else (out,)
        ress = res if isinstance(res, (tuple, list)) else (res,)
        if any(isinstance(t, Tensor) and t.requires_grad for t in (*outs, *ress)):
            raise GraphError(f"{name}(): functions with out=... arguments don't support "
                             "automatic differentiation, but one of the arguments requires "
                             "grad.")
    if isinstance(res, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(res):
            raise DTypeError(f"{name}(): out= expects a tuple of {len(res)} Tensors, got "
                             f"{type(out).__name__}")
        for r, o in zip(res, out):
            _write_one(name, r, o)
        return type(res)(*out) if hasattr(res, "_fields") else tuple(out)
    return _write_one(name, res, out)


def _takes_out(fn) -> bool:
    try:
        return "out" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True  # unknown: leave it alone


def with_out(fn, name=None):
    """``fn`` accepting ``out=`` as PyTorch's functions do (``fn`` itself when it already
    takes an ``out`` parameter or is not a plain function)."""
    if not inspect.isfunction(fn) or _takes_out(fn):
        return fn
    name = name or fn.__name__

    @functools.wraps(fn)
    def call(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if isinstance(out, (tuple, list)) and 2 <= len(args) <= 3 and "dim" not in kwargs:
            # max(x, 1, out=(values, indices)): torch's positional dim gives the pair
            kw = {"dim": args[1]}
            if len(args) == 3:
                kw["keepdim"] = args[2]
            res = fn(args[0], **kw, **kwargs)
        else:
            res = fn(*args, **kwargs)
        return write_out(name, res, out)
    call.__wrapped_out__ = True
    return call
