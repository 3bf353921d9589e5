"""A NumPy-backed stand-in for the parts of CuPy that gradengine uses (one "GPU", id 0).

Tests install it in place of ``gradengine.backend._cupy`` to drive the engine's CUDA code
paths (device strings, transfers, ``xp = cupy`` dispatch) on a machine without a GPU. It
models the device boundary as strictly as real CuPy does:

* ``ndarray`` is its own type (not a ``numpy.ndarray`` subclass): ``isinstance(a,
  np.ndarray)`` is False for it, as for a real CuPy array.
* implicit conversion to NumPy raises TypeError (``np.asarray(a)``), as CuPy does; use
  ``a.get()`` or ``asnumpy``.
* ufuncs, operators and module functions refuse ``numpy.ndarray`` operands with TypeError
  (CuPy's "Unsupported type"); NumPy and Python scalars are fine. Only the explicit
  transfers (``asarray``/``array``) and indexing/assignment accept host arrays.
* reductions and integer indexing return 0-d arrays, never NumPy scalars.
* views remember their base (``a.base``), as CuPy's do.
* arrays know their device (``a.device.id``): new arrays go to the current device
  (``with cupy.cuda.Device(i)``), ``asarray`` of a device array returns it as is (no
  copy, even to another device), ``a.copy()`` copies to the current device -- as in CuPy.
  ``make_module(device_count=2)`` gives a second device.

It is *not* a model of the CUDA kernels (``kernels.py`` needs NVRTC): run the engine with
``GRADENGINE_KERNELS=0`` against it.
"""

from __future__ import annotations

import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_DEVICE_COUNT = 1
_current = [0]

__all__ = ["ndarray", "make_module", "make_cupyx"]


# ---------------------------------------------------------------- devices

class CUDARuntimeError(RuntimeError):
    pass


class Device:
    """``cupy.cuda.Device``: a context manager selecting a device."""

    def __init__(self, device=None):
        self.id = _current[0] if device is None else int(device)
        self._prev = []

    def __enter__(self):
        if not 0 <= self.id < _DEVICE_COUNT:
            raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
        self._prev.append(_current[0])
        _current[0] = self.id
        return self

    def __exit__(self, *exc):
        _current[0] = self._prev.pop()
        return False

    def use(self):
        self.__enter__()

    def synchronize(self):
        pass

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(("Device", self.id))

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


# ---------------------------------------------------------------- the array type

def _check_operand(x, where):
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)} (fake cupy: {where} got a NumPy array; "
                        "move it to the device with cupy.asarray first)")


def _unwrap(x, where, strict=True):
    """fake ndarray -> numpy array; lists/tuples recursively; numpy arrays refused."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, where, strict) for v in x)
    if strict:
        _check_operand(x, where)
    return x


def _owner(a):
    return a if a.base is None else a.base


def _wrap(r, sources=()):
    """numpy result -> fake ndarray (0-d for scalars); views keep their device base."""
    if isinstance(r, tuple):
        return tuple(_wrap(v, sources) for v in r)
    if isinstance(r, list):
        return [_wrap(v, sources) for v in r]
    if isinstance(r, np.generic):
        return ndarray._of(np.asarray(r))
    if not isinstance(r, np.ndarray):
        return r
    base = None
    if r.base is not None:
        rb = r.base
        for s in sources:
            if isinstance(s, ndarray) and _owner(s._a) is rb:
                base = s._base if s._base is not None else s
                break
    return ndarray._of(r, base)


class _Flags:
    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.base is None

    def __getitem__(self, key):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[key]


class ndarray(NDArrayOperatorsMixin):
    """A "device" array: a NumPy array behind CuPy's interface."""

    __slots__ = ("_a", "_base", "_dev", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = np.empty(shape, dtype=dtype, order=order)
        self._base = None
        self._dev = _current[0]

    @classmethod
    def _of(cls, a, base=None):
        obj = object.__new__(cls)
        obj._a = a
        obj._base = base
        # a view lives where its base does; anything new is allocated on the current device
        obj._dev = base._dev if base is not None else _current[0]
        return obj

    # ---------------------------------------------------- attributes
    shape = property(lambda self: self._a.shape)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    dtype = property(lambda self: self._a.dtype)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    base = property(lambda self: self._base)
    T = property(lambda self: _wrap(self._a.T, (self,)))
    device = property(lambda self: Device(self._dev))

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str,
                "data": (self._a.__array_interface__["data"][0], False),
                "strides": None if self._a.flags.c_contiguous else self.strides,
                "version": 3}

    # ---------------------------------------------------- host <-> device
    def get(self, stream=None, order="C", out=None):
        return np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        self._a[...] = np.asarray(arr)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly. (fake cupy)")

    def __dlpack__(self, stream=None, **kwargs):
        kwargs.pop("dl_device", None)
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return (2, self._dev)  # kDLCUDA, device id

    # ---------------------------------------------------- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__
        args = [_unwrap(x, where) for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            for o in out:
                if not isinstance(o, ndarray):
                    raise TypeError(f"{where}: out must be a cupy.ndarray (fake cupy)")
            kwargs["out"] = tuple(o._a for o in out)
        for k in ("where",):
            if k in kwargs:
                kwargs[k] = _unwrap(kwargs[k], where)
        r = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(r, inputs)

    def __array_function__(self, func, types_, args, kwargs):
        fn = _MODULE_FUNCS.get(func.__name__)
        if fn is None:
            return NotImplemented
        return fn(*args, **kwargs)

    # ---------------------------------------------------- python protocol
    def __getitem__(self, idx):
        return _wrap(self._a[_index(idx)], (self,))

    def __setitem__(self, idx, value):
        self._a[_index(idx)] = _unwrap(value, "setitem", strict=False)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for i in range(len(self._a)):
            yield self[i]

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    def __repr__(self):
        return repr(self._a).replace("array(", "fake_cupy.array(", 1)

    def __str__(self):
        return str(self._a)

    __hash__ = None

    # ---------------------------------------------------- methods
    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        kw = {} if casting is None else {"casting": casting}
        return _wrap(self._a.astype(dtype, order=order, copy=copy, **kw), (self,))

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def fill(self, value):
        self._a.fill(value)


def _index(idx):
    """Indices may hold device arrays, host arrays, lists, slices, ints."""
    if isinstance(idx, tuple):
        return tuple(_unwrap(i, "index", strict=False) for i in idx)
    return _unwrap(idx, "index", strict=False)


def _method(name):
    def m(self, *args, **kwargs):
        args = [_unwrap(a, name) for a in args]
        kwargs = {k: _unwrap(v, name) for k, v in kwargs.items()}
        if "out" in kwargs:
            raise NotImplementedError("fake cupy: out= on methods")
        return _wrap(getattr(self._a, name)(*args, **kwargs), (self,))
    m.__name__ = name
    return m


for _name in ("reshape", "transpose", "swapaxes", "squeeze", "ravel", "flatten", "view",
              "copy", "sum", "mean", "prod", "max", "min", "argmax", "argmin", "any", "all",
              "cumsum", "clip", "dot", "var", "std", "nonzero", "round", "conj"):
    setattr(ndarray, _name, _method(_name))


# ---------------------------------------------------------------- module functions

def _func(name, np_fn=None):
    np_fn = np_fn or getattr(np, name)

    def f(*args, **kwargs):
        out = kwargs.get("out")
        if out is not None and not isinstance(out, ndarray):
            raise TypeError(f"{name}: out must be a cupy.ndarray (fake cupy)")
        a = [_unwrap(x, name) for x in args]
        kw = {k: _unwrap(v, name) for k, v in kwargs.items()}
        r = np_fn(*a, **kw)
        if out is not None:
            return out
        return _wrap(r, args)
    f.__name__ = name
    return f


_FUNCS = (
    # creation (shape/dtype arguments only)
    "empty", "zeros", "ones", "full", "arange", "eye", "identity", "linspace",
    "zeros_like", "ones_like", "empty_like", "full_like",
    # math
    "exp", "log", "log1p", "expm1", "sqrt", "square", "abs", "absolute", "negative",
    "reciprocal", "sign", "tanh", "maximum", "minimum", "fmax", "fmin", "clip", "floor",
    "ceil", "power", "add", "subtract", "multiply", "divide", "true_divide", "logaddexp",
    "less", "less_equal", "greater", "greater_equal", "equal", "not_equal", "logical_and",
    "logical_or", "logical_not", "isfinite", "isnan", "isinf", "where", "matmul", "dot",
    "sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "any", "all",
    "cumsum", "var", "std", "allclose", "array_equal",
    # shape
    "reshape", "transpose", "swapaxes", "squeeze", "expand_dims", "ravel", "broadcast_to",
    "broadcast_arrays", "concatenate", "stack", "ascontiguousarray", "take_along_axis",
    "take", "copyto", "copy", "nonzero", "argsort", "sort", "unique",
)

_MODULE_FUNCS = {name: _func(name) for name in _FUNCS if hasattr(np, name)}
_MODULE_FUNCS.update(shape=lambda a: a.shape, ndim=lambda a: a.ndim,
                     size=lambda a, axis=None: a.size if axis is None else a.shape[axis])


def _check_no_host(x, name):
    if isinstance(x, (list, tuple)):
        for v in x:
            _check_no_host(v, name)
    else:
        _check_operand(x, name)


def asarray(a, dtype=None, order=None, blocking=False):
    """Host -> device (a copy), or a device array as is (dtype-converted if asked)."""
    if isinstance(a, ndarray):
        if dtype is None or a.dtype == np.dtype(dtype):
            return a
        return a.astype(dtype)
    if isinstance(a, (list, tuple)):
        a = _unwrap(a, "asarray", strict=False)
    return ndarray._of(np.array(a, dtype=dtype, order=order or "K", copy=True))


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(obj, ndarray):
        return ndarray._of(np.array(obj._a, dtype=dtype, copy=True, order=order, ndmin=ndmin))
    return ndarray._of(np.array(_unwrap(obj, "array", strict=False), dtype=dtype, copy=True,
                                order=order, ndmin=ndmin))


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order)
    return np.asarray(a, order=order)


def from_dlpack(obj):
    if isinstance(obj, ndarray):
        return ndarray._of(obj._a.view(), obj._base if obj._base is not None else obj)
    kind, index = obj.__dlpack_device__()[:2]
    if int(kind) != 2:
        raise BufferError(f"fake cupy: from_dlpack of a device of kind {kind}")

    class _Host:  # the fake's "device memory" is host memory: hand it to NumPy as such
        def __dlpack__(self, **kwargs):
            kwargs.pop("dl_device", None)
            return obj.__dlpack__(**kwargs)

        def __dlpack_device__(self):
            return (1, 0)
    arr = ndarray._of(np.from_dlpack(_Host()))
    arr._dev = int(index)
    return arr


def get_array_module(*args):
    return _module if any(isinstance(a, ndarray) for a in args) else np


class _MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


_POOL = _MemoryPool()


class RandomState:
    """``cupy.random.RandomState``: its own stream (not CuPy's bits), device arrays out."""

    def __init__(self, seed=None):
        self._rs = np.random.RandomState(seed)

    def _out(self, arr, dtype):
        return ndarray._of(np.asarray(arr, dtype=dtype))

    def standard_normal(self, size=None, dtype=float):
        return self._out(self._rs.standard_normal(size), dtype)

    def random_sample(self, size=None, dtype=float):
        return self._out(self._rs.random_sample(size), dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return self._out(self._rs.uniform(low, high, size), dtype)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return self._out(self._rs.normal(loc, scale, size), dtype)

    def randint(self, low, high=None, size=None, dtype="l"):
        return self._out(self._rs.randint(low, high, size), dtype)


class CompileException(Exception):
    pass


def _scatter_add(a, slices, value):
    """``cupyx.scatter_add``: unbuffered a[slices] += value (repeats accumulate)."""
    if not isinstance(a, ndarray):
        raise TypeError("cupyx.scatter_add: a must be a cupy.ndarray (fake cupy)")
    _check_no_host(value, "scatter_add")
    np.add.at(a._a, _index(slices), _unwrap(value, "scatter_add"))


def make_module(device_count: int = 1):
    """A fresh fake ``cupy`` module object."""
    global _DEVICE_COUNT
    _DEVICE_COUNT = device_count
    _current[0] = 0
    mod = types.ModuleType("cupy", "fake cupy (tests/fake_cupy.py)")
    mod.__fake__ = True
    mod.ndarray = ndarray
    for name, fn in _MODULE_FUNCS.items():
        setattr(mod, name, fn)
    mod.asarray = asarray
    mod.array = array
    mod.asnumpy = asnumpy
    mod.from_dlpack = from_dlpack
    mod.fromDlpack = from_dlpack
    mod.get_array_module = get_array_module
    mod.get_default_memory_pool = lambda: _POOL
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                 "uint8", "bool_", "integer", "floating", "dtype", "nan", "inf", "newaxis",
                 "pi", "e", "issubdtype", "result_type", "can_cast", "finfo", "iinfo"):
        setattr(mod, name, getattr(np, name))
    runtime = types.SimpleNamespace(getDeviceCount=lambda: _DEVICE_COUNT,
                                    getDevice=lambda: _current[0],
                                    CUDARuntimeError=CUDARuntimeError)
    compiler = types.SimpleNamespace(CompileException=CompileException)
    mod.cuda = types.SimpleNamespace(runtime=runtime, Device=Device, compiler=compiler,
                                     is_available=lambda: _DEVICE_COUNT > 0)
    mod.random = types.SimpleNamespace(RandomState=RandomState)

    def _no_kernels(*a, **k):
        raise RuntimeError("fake cupy cannot compile CUDA kernels; set GRADENGINE_KERNELS=0")
    mod.RawModule = _no_kernels
    mod.RawKernel = _no_kernels
    mod.ElementwiseKernel = _no_kernels
    global _module
    _module = mod
    return mod


def make_cupyx():
    mod = types.ModuleType("cupyx", "fake cupyx (tests/fake_cupy.py)")
    mod.scatter_add = _scatter_add
    return mod


_module = None
