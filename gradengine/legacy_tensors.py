"""PyTorch's legacy tensor types: ``torch.FloatTensor``, ``LongTensor``, ``BoolTensor`` ...

Each is a type that ``isinstance`` answers by dtype (``isinstance(x.float(),
torch.FloatTensor)``; CPU tensors, as PyTorch's CPU types) and a constructor as PyTorch's:
``FloatTensor(2, 3)`` (zeros of that shape: gradengine has no uninitialised memory),
``FloatTensor(ge.Size(...))`` likewise, ``FloatTensor([1, 2])`` (a copy of the data, in
the type's dtype), ``FloatTensor()`` (empty).
"""

from __future__ import annotations

import numpy as np

from .core.tensor import Tensor
from .errors import ArgumentError

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
           "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]


class _LegacyType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device == "cpu"

    def __call__(cls, *args, device=None):
        if not args:
            shape = (0,)
        elif all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            shape = tuple(int(a) for a in args)
        elif len(args) == 1 and isinstance(args[0], tuple) and type(args[0]) is not tuple:
            shape = tuple(args[0])  # a Size is a shape; a plain sequence is data
        elif len(args) == 1:
            return Tensor(args[0], dtype=cls.dtype, device=device)
        else:
            raise ArgumentError(f"{cls.__name__}: expects sizes or one sequence of data, got "
                                f"{args!r}")
        return Tensor(np.zeros(shape, dtype=cls.dtype), device=device)

    def __repr__(cls):
        return f"<class 'gradengine.{cls.__name__}'>"


def _make(name, dtype):
    return _LegacyType(name, (), {"dtype": np.dtype(dtype), "is_cuda": False,
                                  "__doc__": f"PyTorch's legacy ``torch.{name}``: "
                                             f"{dtype} tensors."})


FloatTensor = _make("FloatTensor", "float32")
DoubleTensor = _make("DoubleTensor", "float64")
HalfTensor = _make("HalfTensor", "float16")
LongTensor = _make("LongTensor", "int64")
IntTensor = _make("IntTensor", "int32")
ShortTensor = _make("ShortTensor", "int16")
CharTensor = _make("CharTensor", "int8")
ByteTensor = _make("ByteTensor", "uint8")
BoolTensor = _make("BoolTensor", "bool")
