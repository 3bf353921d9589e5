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

* memory comes from the current allocator (``cuda.set_allocator`` / ``using_allocator``,
  default: the default ``MemoryPool``): an array that owns its buffer holds ``nbytes`` of its
  pool's ``used_bytes()`` until it is freed; views hold none.

Streams and CUDA graph capture (``cuda.Stream``, ``Event``, ``graph.Graph``) are modelled
after CuPy's stream capture. While the current stream is capturing, every array operation
(ufuncs, operators, module functions, methods, in-place ops, setitem, copies, uploads) is
still executed, so results exist, and is also recorded as a step that recomputes its result
into the *same* buffer (in-place ops simply run again; views need no step; ``empty``
queues nothing). ``end_capture()`` returns a ``Graph`` whose ``launch()`` runs the steps in
order, and puts back the contents of every array that existed before the capture and was
written during it: as on a GPU, where a captured call runs nothing, a capture leaves the
state as it found it (arrays allocated during the capture keep the captured pass's values,
where a GPU would hold garbage until the first launch). As CuPy does, while capturing:

* host reads (``get``, ``asnumpy``, ``item``, ``tolist``, ``bool``/``int``/``float``,
  ``repr``) and data-dependent shapes (``nonzero``, ``unique``, one-argument ``where``,
  boolean-mask indexing, ``allclose``) raise RuntimeError "... is capturing";
* ``matmul``, ``dot``, ``@`` and ``tensordot`` raise NotImplementedError naming cuBLAS --
  except, as in CuPy, products with an empty operand (zeros, no library call) and products
  of at most 2-D operands with a single output element (vector . vector: a reduction
  kernel) -- and ``random`` raises NotImplementedError naming cuRAND (the capture stays valid);
* host -> device copies (``asarray``/``array`` of host data, ``set``, assigning a NumPy array
  or a list) raise RuntimeError "the current stream is capturing, so H2D transfers are
  disallowed", as CuPy's ``copy_from_host_async`` does; Python scalars are kernel arguments
  and stay allowed;
* ``synchronize()`` of the capturing stream (or of the device) raises CUDARuntimeError and
  invalidates the capture: ``end_capture()`` then ends it and raises CUDARuntimeError.

The current stream is per thread, as in CuPy; one fake device has one stream stack.

``cupy._gradengine_cublas`` is a :class:`CublasModel`: cuBLAS's column-major ``gemmEx`` in
NumPy on the fake's memory (read through each operand's pointer and leading dimension, as
cuBLAS does, so argument order, transposes and leading dimensions are checked), with the rules
that matter for our capture-safe binding (gradengine/cuda/cublas.py): a GEMM runs on the
stream its handle is bound to, which must be the current stream (else it would run out of
order); ``set_stream`` resets the workspace, and a GEMM inside a capture needs one set
after it; handles are not created inside a capture.

It is *not* a model of the CUDA kernels (``kernels.py`` needs NVRTC): run the engine with
``GRADENGINE_KERNELS=0`` against it.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import threading
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_DEVICE_COUNT = 1
_current = [0]

__all__ = ["make_cupyx", "make_module", "ndarray"]


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
        if _CAPTURING:  # a device sync would wait on work that is only being recorded
            for stream in _CAPTURING:
                stream._capture.invalidated = True
            raise CUDARuntimeError("cudaErrorStreamCaptureUnsupported: operation not "
                                   "permitted when stream is capturing (fake cupy)")

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(("Device", self.id))

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


# ---------------------------------------------------------------- capture bookkeeping

_CAPTURING = []  # the streams now capturing; empty almost always, so checks cost nothing
_tls = threading.local()  # per thread: the current-stream stack and using_allocator's allocator


def _session():
    """The capture the current stream records into, or None."""
    if not _CAPTURING:
        return None
    stream = get_current_stream()
    if stream.ptr == 0 and any(s._blocking for s in _CAPTURING):
        for s in _CAPTURING:
            s._capture.invalidated = True
        raise CUDARuntimeError("cudaErrorStreamCaptureImplicit: the legacy stream was used "
                               "while a blocking stream is capturing (fake cupy)")
    return stream._capture


def _host_read(what):
    if _CAPTURING and _session() is not None:
        raise RuntimeError(f"fake cupy: {what} needs a synchronous device-to-host copy, but "
                           "the current stream is capturing")


def _no_library(library, what):
    if _CAPTURING and _session() is not None:
        raise NotImplementedError(f"calling {library} API during stream capture is currently "
                                  f"unsupported (fake cupy: {what})")


def _root(a):
    """The NumPy array owning the memory of view ``a``."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _arrays_in(obj):
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _arrays_in(v)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _arrays_in(v)


class _Step:
    """One recorded operation: run it again, and copy fresh results into the captured ones."""

    __slots__ = ("args", "call", "kwargs", "single", "targets")

    def __init__(self, call, args, kwargs, single, targets):
        self.call, self.args, self.kwargs = call, args, kwargs
        self.single, self.targets = single, targets

    def __call__(self):
        r = self.call(*self.args, **self.kwargs)
        outs = (r,) if self.single else r
        for i, target in self.targets:
            target[...] = outs[i]


class _Capture:
    """What a capturing stream has recorded: the steps, and the buffers to put back."""

    __slots__ = ("fresh", "invalidated", "saved", "steps")

    def __init__(self):
        self.steps = []
        self.saved = {}  # id(root) -> (root, its contents when first written)
        self.fresh = {}  # id(root) -> root, for buffers allocated during the capture
        self.invalidated = False

    def allocated(self, a):
        root = _root(a)
        self.fresh[id(root)] = root

    def writing(self, a):
        root = _root(a)
        key = id(root)
        if key not in self.fresh and key not in self.saved:
            self.saved[key] = (root, root.copy())

    def restore(self):
        for root, contents in self.saved.values():
            root[...] = contents
        self.saved.clear()

    def record(self, call, args, kwargs, r, writes, replay, owner=None):
        """Note ``r = call(*args, **kwargs)``; returns r with NumPy scalars made 0-d arrays."""
        single = not isinstance(r, (tuple, list))
        outs = [np.asarray(o) if isinstance(o, np.generic) else o
                for o in ((r,) if single else r)]
        for o in outs:
            if o is not None and not isinstance(o, np.ndarray):
                _host_read(f"{getattr(call, '__name__', call)} (a host value)")
        inputs = list(_arrays_in((args, kwargs, owner)))  # owner: a method's array
        # a fresh result is copied into its captured buffer at each launch; a view (which may
        # be read-only, or empty and so share no memory) follows its base instead
        targets = [(i, o) for i, o in enumerate(outs) if isinstance(o, np.ndarray)
                   and o.flags.writeable and o.size
                   and not any(np.may_share_memory(o, x) for x in inputs)]
        for _, o in targets:
            self.allocated(o)
        if replay and (writes or targets):
            self.steps.append(_Step(call, args, kwargs, single, targets))
        return outs[0] if single else type(r)(outs)


def _exec(call, args=(), kwargs=None, writes=(), replay=True, owner=None):
    """``call(*args, **kwargs)`` on NumPy arrays; while capturing, also recorded as a step.

    ``writes``: the arrays the call writes in place (out=, setitem), put back after capture.
    """
    kwargs = {} if kwargs is None else kwargs
    cap = _session() if _CAPTURING else None
    if cap is None:
        return call(*args, **kwargs)
    for w in writes:
        cap.writing(w)
    return cap.record(call, args, kwargs, call(*args, **kwargs), bool(writes), replay, owner)


def _no_upload(what):
    if _CAPTURING and _session() is not None:
        raise RuntimeError(f"the current stream is capturing, so H2D transfers are disallowed "
                           f"(fake cupy: {what})")


def _upload(a):
    """A host -> device copy into the new buffer ``a``; refused while capturing, as in CuPy."""
    _no_upload("asarray/array of host data")
    return a


def _no_data_dependent_shape(name, idx=None):
    if not _CAPTURING:
        return
    if idx is None or any(isinstance(i, np.ndarray) and i.dtype == np.bool_
                          for i in (idx if isinstance(idx, tuple) else (idx,))):
        _host_read(f"{name} (a data-dependent shape)")


# ---------------------------------------------------------------- memory

class _Memory:
    """What an allocator returns (``cupy.cuda.MemoryPointer``): ``size`` bytes of a pool."""

    __slots__ = ("pool", "size")

    def __init__(self, pool, size):
        self.pool, self.size = pool, size
        if pool is not None:
            pool._used += size
            pool._total = max(pool._total, pool._used)

    def __del__(self):
        if self.pool is not None:
            self.pool._used -= self.size


class MemoryPool:
    """``cupy.cuda.MemoryPool``: counts the bytes of the live arrays it allocated."""

    def __init__(self, allocator=None):
        self._used = 0
        self._total = 0  # freed blocks stay in the pool until free_all_blocks

    def malloc(self, size):
        return _Memory(self, int(size))

    def used_bytes(self):
        return self._used

    def total_bytes(self):
        return self._total

    def free_bytes(self):
        return self._total - self._used

    def free_all_blocks(self, stream=None):
        self._total = self._used


def _raw_malloc(size):
    return _Memory(None, int(size))


_POOL = MemoryPool()
_allocator = [_POOL.malloc]


def get_allocator():
    allocator = getattr(_tls, "allocator", None)
    return _allocator[0] if allocator is None else allocator


def set_allocator(allocator=None):
    if getattr(_tls, "allocator", None) is not None:
        raise ValueError("Can't change the global allocator inside `using_allocator` context "
                         "manager")
    _allocator[0] = _raw_malloc if allocator is None else allocator


@contextlib.contextmanager
def using_allocator(allocator=None):
    previous = getattr(_tls, "allocator", None)
    _tls.allocator = _raw_malloc if allocator is None else allocator
    try:
        yield
    finally:
        _tls.allocator = previous


def _allocate(nbytes):
    allocator = getattr(_tls, "allocator", None) or _allocator[0]
    return allocator(nbytes)


# ---------------------------------------------------------------- streams, events, graphs

_handles = itertools.count(0x1000)


class Stream:
    """``cupy.cuda.Stream``: a context manager making it current; it can capture a graph."""

    null = None  # the legacy default stream, set below

    def __init__(self, null=False, non_blocking=False, ptds=False):
        self.ptr = 0 if null else next(_handles)
        self.device_id = -1 if null else _current[0]
        self._blocking = not non_blocking
        self._capture = None

    def __enter__(self):
        _stream_stack().append(self)
        return self

    def __exit__(self, *exc):
        _stream_stack().pop()
        return False

    def use(self):
        _stream_stack()[-1] = self
        return self

    def __eq__(self, other):
        return isinstance(other, Stream) and other.ptr == self.ptr

    def __hash__(self):
        return self.ptr

    def __repr__(self):
        return f"<Stream {self.ptr} (device {self.device_id})>"

    def is_capturing(self):
        if self.ptr == 0 and any(s._blocking for s in _CAPTURING):
            raise CUDARuntimeError("cudaErrorStreamCaptureImplicit: operation would make the "
                                   "legacy stream depend on a capturing blocking stream")
        return self._capture is not None

    def begin_capture(self, mode=None):
        if self.ptr == 0:
            raise RuntimeError("cannot capture on the default (legacy) stream")
        if self._capture is not None:
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is already capturing")
        self._capture = _Capture()
        _CAPTURING.append(self)

    def end_capture(self):
        cap = self._capture
        if cap is None:
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is not capturing")
        self._capture = None
        _CAPTURING.remove(self)
        cap.restore()
        if cap.invalidated:
            raise CUDARuntimeError("cudaErrorStreamCaptureInvalidated: operation failed due "
                                   "to a previous error during capture")
        return Graph._of(cap.steps)

    def synchronize(self):
        if self._capture is not None:
            self._capture.invalidated = True
            raise CUDARuntimeError("cudaErrorStreamCaptureUnsupported: operation not "
                                   "permitted when stream is capturing")

    @property
    def done(self):
        if self._capture is not None:  # querying a capturing stream invalidates the capture
            self._capture.invalidated = True
            return False
        return True

    def record(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def wait_event(self, event):
        pass  # the fake runs everything at once, in order

    def launch_host_func(self, callback, arg):
        if self._capture is not None:
            self._capture.steps.append(lambda: callback(arg))
        callback(arg)


Stream.null = Stream(null=True)


def _stream_stack():
    try:
        return _tls.streams
    except AttributeError:
        _tls.streams = [Stream.null]
        return _tls.streams


def get_current_stream(device_id=-1):
    return _stream_stack()[-1]


class Event:
    """``cupy.cuda.Event``: the fake runs work at once, so every event is complete."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.ptr = next(_handles)

    def record(self, stream=None):
        pass

    def synchronize(self):
        pass

    @property
    def done(self):
        return True


class Graph:
    """``cupy.cuda.graph.Graph``: the steps a capture recorded; ``launch`` runs them again."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("currently this class cannot be initiated by the user and "
                                  "must be created via stream capture")

    @classmethod
    def _of(cls, steps):
        graph = object.__new__(cls)
        graph._steps = tuple(steps)
        return graph

    def launch(self, stream=None):
        if _CAPTURING and (stream._capture if stream is not None else _session()) is not None:
            raise NotImplementedError("fake cupy: launching a graph into a capture (a child "
                                      "graph) is not modelled")
        for step in self._steps:
            step()

    def upload(self, stream=None):
        pass


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

    __slots__ = ("__weakref__", "_a", "_base", "_dev", "_mem")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = np.empty(shape, dtype=dtype, order=order)
        self._base = None
        self._dev = _current[0]
        self._mem = _allocate(self._a.nbytes)
        if _CAPTURING and _session() is not None:
            _session().allocated(self._a)

    @classmethod
    def _of(cls, a, base=None):
        obj = object.__new__(cls)
        obj._a = a
        obj._base = base
        # a view lives where its base does; anything new is allocated on the current device
        obj._dev = base._dev if base is not None else _current[0]
        obj._mem = _allocate(a.nbytes) if base is None and a.base is None else None
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
    # ``a.data.ptr``: the address of the first element (a MemoryPointer in CuPy)
    data = property(lambda self: types.SimpleNamespace(
        ptr=self._a.__array_interface__["data"][0]))

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str,
                "data": (self._a.__array_interface__["data"][0], False),
                "strides": None if self._a.flags.c_contiguous else self.strides,
                "version": 3}

    # ---------------------------------------------------- host <-> device
    def get(self, stream=None, order="C", out=None):
        _host_read("get()")
        return np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        _no_upload("ndarray.set")
        _exec(operator.setitem, (self._a, Ellipsis, np.array(arr, copy=True)),
              writes=(self._a,))

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
        if ufunc is np.matmul and _CAPTURING and not _without_cublas(*inputs):
            _no_library("cuBLAS", where)
        args = [_unwrap(x, where) for x in inputs]
        out = kwargs.get("out")
        writes = (args[0],) if method == "at" else ()
        if out is not None:
            for o in out:
                if not isinstance(o, ndarray):
                    raise TypeError(f"{where}: out must be a cupy.ndarray (fake cupy)")
            kwargs["out"] = writes = tuple(o._a for o in out)
        for k in ("where",):
            if k in kwargs:
                kwargs[k] = _unwrap(kwargs[k], where)
        r = _exec(getattr(ufunc, method), args, kwargs, writes)
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
        idx = _index(idx)
        _no_data_dependent_shape("boolean-mask indexing", idx)
        return _wrap(_exec(operator.getitem, (self._a, idx)), (self,))

    def __setitem__(self, idx, value):
        idx = _index(idx)
        _no_data_dependent_shape("boolean-mask assignment", idx)
        if _CAPTURING and isinstance(value, (np.ndarray, list, tuple)):
            _no_upload("assigning host data")
        _exec(operator.setitem, (self._a, idx, _unwrap(value, "setitem", strict=False)),
              writes=(self._a,))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for i in range(len(self._a)):
            yield self[i]

    def __repr__(self):
        _host_read("repr()")
        return repr(self._a).replace("array(", "fake_cupy.array(", 1)

    def __str__(self):
        _host_read("str()")
        return str(self._a)

    __hash__ = None

    # ---------------------------------------------------- methods
    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        kw = {} if casting is None else {"casting": casting}
        kw.update(order=order, copy=copy)
        return _wrap(_exec(self._a.astype, (dtype,), kw), (self,))

    def item(self):
        _host_read("item()")
        return self._a.item()

    def tolist(self):
        _host_read("tolist()")
        return self._a.tolist()

    def fill(self, value):
        _exec(self._a.fill, (value,), writes=(self._a,))


def _without_cublas(a=None, b=None, *rest):
    """True for the products CuPy computes without cuBLAS: an empty operand (zeros), or at
    most 2-D operands with one output element (vector . vector: a reduction kernel)."""
    shapes = [np.shape(x._a if isinstance(x, ndarray) else x) for x in (a, b)]
    if any(0 in sh for sh in shapes):
        return True
    if rest or any(len(sh) > 2 or len(sh) == 0 for sh in shapes):
        return False
    m = shapes[0][0] if len(shapes[0]) == 2 else 1
    n = shapes[1][-1] if len(shapes[1]) == 2 else 1
    return m == 1 and n == 1


def _index(idx):
    """Indices may hold device arrays, host arrays, lists, slices, ints."""
    if isinstance(idx, tuple):
        return tuple(_unwrap(i, "index", strict=False) for i in idx)
    return _unwrap(idx, "index", strict=False)


def _writable_view(fn, base):
    def call(*args, **kwargs):
        v = fn(*args, **kwargs)
        if base.flags.writeable and not v.flags.writeable:
            v.setflags(write=True)
        return v
    return call


def _method(name):
    def m(self, *args, **kwargs):
        if name == "dot" and _CAPTURING and not _without_cublas(self, *args):
            _no_library("cuBLAS", "ndarray.dot")
        elif name == "nonzero":
            _no_data_dependent_shape("ndarray.nonzero")
        args = [_unwrap(a, name) for a in args]
        kwargs = {k: _unwrap(v, name) for k, v in kwargs.items()}
        if "out" in kwargs:
            raise NotImplementedError("fake cupy: out= on methods")
        fn = getattr(self._a, name)
        if name == "diagonal":  # CuPy's diagonal is a writable view (NumPy's is read-only)
            fn = _writable_view(fn, self._a)
        return _wrap(_exec(fn, args, kwargs, owner=self._a), (self,))
    m.__name__ = name
    return m


def _host_conversion(convert):
    """``float(a)``, ``int(a)``...: a host read of the value."""
    def f(self):
        _host_read(f"{convert.__name__}()")
        return convert(self._a)
    f.__name__ = f"__{convert.__name__}__"
    return f


for _convert in (float, int, complex, bool):
    setattr(ndarray, f"__{_convert.__name__}__", _host_conversion(_convert))


for _name in ("reshape", "transpose", "swapaxes", "squeeze", "ravel", "flatten", "view",
              "copy", "sum", "mean", "prod", "max", "min", "argmax", "argmin", "any", "all",
              "cumsum", "clip", "dot", "var", "std", "nonzero", "round", "conj", "diagonal"):
    setattr(ndarray, _name, _method(_name))


# ---------------------------------------------------------------- module functions

_CUBLAS = frozenset({"matmul", "dot", "tensordot"})
_DATA_DEPENDENT = frozenset({"nonzero", "unique"})


def _func(name, np_fn=None):
    np_fn = np_fn or getattr(np, name)

    def f(*args, **kwargs):
        out = kwargs.get("out")
        if out is not None and not isinstance(out, ndarray):
            raise TypeError(f"{name}: out must be a cupy.ndarray (fake cupy)")
        if _CAPTURING:
            if name in _CUBLAS and not _without_cublas(*args[:2]):
                _no_library("cuBLAS", name)
            if name in _DATA_DEPENDENT or (name == "where" and len(args) == 1):
                _no_data_dependent_shape(name)
        a = [_unwrap(x, name) for x in args]
        kw = {k: _unwrap(v, name) for k, v in kwargs.items()}
        writes = (kw["out"],) if out is not None else (a[0],) if name == "copyto" else ()
        r = _exec(np_fn, a, kw, writes, replay=name not in ("empty", "empty_like"))
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
    "tensordot",
    "sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "any", "all",
    "cumsum", "var", "std", "allclose", "array_equal",
    # shape
    "reshape", "transpose", "swapaxes", "squeeze", "expand_dims", "ravel", "broadcast_to",
    "diagonal", "broadcast_arrays", "concatenate", "stack", "ascontiguousarray", "take_along_axis",
    "take", "copyto", "copy", "nonzero", "argsort", "sort", "unique",
)

# CuPy functions the op families use, NumPy's function of the same name in CuPy too
_FAMILY_FUNCS = ("sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
                 "arccosh", "arctanh", "exp2", "log2", "log10", "trunc", "round", "flip",
                 "roll", "tile", "tril", "triu", "pad", "moveaxis", "cumprod", "einsum",
                 "isclose", "floor_divide", "remainder", "fmod", "bitwise_and", "bitwise_or",
                 "bitwise_xor", "invert", "left_shift", "right_shift", "logical_xor",
                 "signbit", "nan_to_num", "argwhere", "arctan2", "searchsorted")
_LINALG_FUNCS = ("inv", "det", "slogdet", "solve", "cholesky", "svd", "eigh", "qr")
_MODULE_FUNCS = {name: _func(name) for name in (*_FUNCS, *_FAMILY_FUNCS) if hasattr(np, name)}
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
    return ndarray._of(_upload(np.array(a, dtype=dtype, order=order or "K", copy=True)))


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(obj, ndarray):
        kwargs = {"dtype": dtype, "copy": True, "order": order, "ndmin": ndmin}
        return ndarray._of(_exec(np.array, (obj._a,), kwargs))
    return ndarray._of(_upload(np.array(_unwrap(obj, "array", strict=False), dtype=dtype,
                                        copy=True, order=order, ndmin=ndmin)))


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


class RandomState:
    """``cupy.random.RandomState``: its own stream (not CuPy's bits), device arrays out."""

    def __init__(self, seed=None):
        self._rs = np.random.RandomState(seed)

    def _out(self, arr, dtype):
        return ndarray._of(np.asarray(arr, dtype=dtype))

    def __getattribute__(self, name):
        if not name.startswith("_"):
            _no_library("cuRAND", f"random.{name}")
        return object.__getattribute__(self, name)

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

    # the samplers ge.distributions calls, with CuPy's signatures (device-array parameters)
    def standard_gamma(self, shape, size=None, dtype=float):
        return self._out(self._rs.standard_gamma(_param(shape), size), dtype)

    def poisson(self, lam=1.0, size=None, dtype=int):
        return self._out(self._rs.poisson(_param(lam), size), dtype)

    def binomial(self, n, p, size=None, dtype=int):
        return self._out(self._rs.binomial(_param(n), _param(p), size), dtype)


def _param(v):
    return v._a if isinstance(v, ndarray) else v


class CompileException(Exception):
    pass


class CublasError(RuntimeError):
    pass


def _column_major(arr, rows, cols, ld, what):
    """The (rows, cols) column-major matrix cuBLAS reads at arr's first element with leading
    dimension ld: a view of the allocation's memory, so writes land where cuBLAS's would."""
    if not isinstance(arr, ndarray):
        raise TypeError(f"fake cublas: {what} must be a device array")
    x = arr._a
    root = _root(x)
    offset = x.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    item = x.itemsize
    extent = ((rows - 1) + (cols - 1) * ld + 1) * item if rows and cols else 0
    if offset + extent > root.nbytes:
        raise CublasError(f"fake cublas: {what} ({rows} x {cols}, ld {ld}) reads past the end of "
                          "its allocation (an illegal address on a GPU)")
    return np.ndarray((rows, cols), x.dtype, buffer=root, offset=offset,
                      strides=(item, ld * item))


class CublasModel:
    """cuBLAS as gradengine.cuda.cublas calls it, in NumPy with column-major semantics."""

    def __init__(self):
        self.handles = {}  # device id -> handle, kept here as the binding's Library does
        self.state = {}  # handle -> its stream and workspace
        self.calls = []  # (transa, transb, m, n, k, lda, ldb, ldc, captured)

    def create(self):
        if _CAPTURING and _session() is not None:
            raise CublasError("fake cublas: cublasCreate inside a capture (it allocates)")
        handle = next(_handles)
        self.state[handle] = {"stream": 0, "workspace": None}
        return handle

    def set_stream(self, handle, stream_ptr):
        state = self.state[handle]
        state["stream"] = int(stream_ptr)
        state["workspace"] = None  # cublasSetStream resets the workspace, as cuBLAS does

    def set_workspace(self, handle, workspace):
        if not isinstance(workspace, ndarray) or workspace.nbytes < 4 << 20:
            raise CublasError("fake cublas: the workspace must be a device array of >= 4 MiB")
        self.state[handle]["workspace"] = workspace

    def gemm(self, handle, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        state = self.state[handle]
        current = get_current_stream().ptr
        if state["stream"] != current:
            raise CublasError(f"fake cublas: the handle is bound to stream {state['stream']}, "
                              f"the current stream is {current}: the GEMM would run out of "
                              "order with the work around it")
        cap = _session() if _CAPTURING else None
        if cap is not None and state["workspace"] is None:
            raise CublasError("fake cublas: a GEMM inside a capture without a workspace of "
                              "ours (cublasSetWorkspace after cublasSetStream)")
        rows_a, cols_a = (m, k) if transa == 0 else (k, m)
        rows_b, cols_b = (k, n) if transb == 0 else (n, k)
        if (min(m, n, k) < 0 or lda < max(1, rows_a) or ldb < max(1, rows_b)
                or ldc < max(1, m) or transa not in (0, 1) or transb not in (0, 1)):
            raise CublasError("fake cublas: CUBLAS_STATUS_INVALID_VALUE (m, n, k, lda, ldb, "
                              f"ldc = {m}, {n}, {k}, {lda}, {ldb}, {ldc})")
        if not (a.dtype == b.dtype == c.dtype):
            raise CublasError("fake cublas: mixed dtypes")
        A = _column_major(a, rows_a, cols_a, lda, "A")
        B = _column_major(b, rows_b, cols_b, ldb, "B")
        C = _column_major(c, m, n, ldc, "C")
        acc = np.float32 if c.dtype == np.float16 else c.dtype
        self.calls.append((transa, transb, m, n, k, lda, ldb, ldc, cap is not None))

        def run():
            op_a = A if transa == 0 else A.T
            op_b = B if transb == 0 else B.T
            product = alpha * (op_a.astype(acc) @ op_b.astype(acc))
            if beta != 0:  # beta == 0: C is not read, as in BLAS
                product = product + beta * C.astype(acc)
            C[...] = product.astype(C.dtype)
        _exec(run, writes=(C,))


def _scatter_add(a, slices, value):
    """``cupyx.scatter_add``: unbuffered a[slices] += value (repeats accumulate)."""
    if not isinstance(a, ndarray):
        raise TypeError("cupyx.scatter_add: a must be a cupy.ndarray (fake cupy)")
    _check_no_host(value, "scatter_add")
    _exec(np.add.at, (a._a, _index(slices), _unwrap(value, "scatter_add")), writes=(a._a,))


def _linalg(name):
    """``cupy.linalg.<name>``: NumPy's, its named-tuple results as plain tuples (as CuPy's)."""
    fn = getattr(np.linalg, name)
    if name in ("slogdet", "svd", "eigh", "qr"):
        return _func(name, lambda *a, **k: tuple(fn(*a, **k)))
    return _func(name, fn)


def make_module(device_count: int = 1, cublas: bool = True):
    """A fresh fake ``cupy`` module object; ``cublas=False`` leaves out the cuBLAS model (as
    on a machine whose libcublas cannot be loaded)."""
    global _DEVICE_COUNT, _POOL
    _DEVICE_COUNT = device_count
    _current[0] = 0
    _POOL = MemoryPool()
    _allocator[0] = _POOL.malloc
    _tls.allocator = None
    _tls.streams = [Stream.null]
    for stream in _CAPTURING:  # a capture a failed test left open
        stream._capture = None
    _CAPTURING.clear()
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
    mod.cuda = types.SimpleNamespace(
        runtime=runtime, Device=Device, compiler=compiler,
        is_available=lambda: _DEVICE_COUNT > 0, Stream=Stream, Event=Event, Graph=Graph,
        graph=types.SimpleNamespace(Graph=Graph), get_current_stream=get_current_stream,
        MemoryPool=MemoryPool, set_allocator=set_allocator, get_allocator=get_allocator,
        using_allocator=using_allocator)
    mod.random = types.SimpleNamespace(RandomState=RandomState)
    mod.linalg = types.SimpleNamespace(**{name: _linalg(name) for name in _LINALG_FUNCS})

    def _no_kernels(*a, **k):
        raise RuntimeError("fake cupy cannot compile CUDA kernels; set GRADENGINE_KERNELS=0")
    mod._gradengine_cublas = CublasModel() if cublas else None
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

# -- tmath: the CuPy functions gradengine/ops/special_math.py calls (each is in CuPy too)
_MODULE_FUNCS.update({name: _func(name) for name in (
    "bincount", "diff", "frexp", "ldexp", "isin", "nextafter", "gcd", "lcm")
    if name not in _MODULE_FUNCS})
