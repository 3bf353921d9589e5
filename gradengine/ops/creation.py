"""Making tensors: from data (always a copy), from NumPy or DLPack (shared), filled,
random (from the generator seeded by ``ge.manual_seed``), ranges."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..backend import DEFAULT_FLOAT, normalize_device, resolve_dtype
from ..core.gradmode import _mode
from ..core.op import apply, op
from ..core.tensor import Tensor, _from_dlpack_array
from ..errors import ArgumentError, DTypeError, OutOfMemoryError, ShapeError


def tensor(data, requires_grad=False, dtype=None, device=None) -> Tensor:
    """A new leaf tensor from a list, scalar, NumPy/CuPy array or DLPack object (copied).

    Python floats become float32 (the default); NumPy arrays keep their dtype.

    Example:
        >>> x = ge.tensor([[1.0, 2.0]], requires_grad=True)
    """
    t = Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)
    return _reread(data, t) if _mode.hook is not None and not requires_grad else t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but a Tensor on the right device and dtype is returned as is,
    and a NumPy array that is already of the dtype and on the CPU is shared, not copied
    (``torch.as_tensor``)."""
    if isinstance(data, Tensor) and dtype is None and (device is None or
                                                      normalize_device(device) == data.device):
        return data
    if type(data) is np.ndarray and _mode.hook is None and \
            data.dtype.name in backend.SUPPORTED_DTYPES and \
            (dtype is None or resolve_dtype(dtype, "as_tensor") == data.dtype) and \
            (device is None and backend.get_default_device() == backend.CPU or
             device is not None and normalize_device(device) == backend.CPU):
        return from_numpy(data)  # as torch.as_tensor: the array's memory, no copy
    t = Tensor(data, dtype=dtype, device=device)
    return _reread(data, t) if _mode.hook is not None else t


def _reread(data, t):
    """Under a ge.jit recording, a tensor made from a NumPy array is a call of the
    ``from_host`` op, so that every replay copies the array again (a global array the
    function reads may have changed between calls); other data stays a constant."""
    if type(data) is not np.ndarray or data.dtype.kind not in "biuf":
        return t
    return apply(from_host, params=(t.device, data, t.dtype))


@op(name="from_host", params=("device", "source", "dtype"), differentiable=False,
    moves=True, random=True)
def from_host(xp, device, source, dtype):
    """A copy of the host array ``source`` on ``device``, made anew at every replay (marked
    random: never folded into a constant of the program)."""
    arr = np.array(source, dtype=dtype)
    return backend.to_device_array(arr, device)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``arr`` (a NumPy array of a supported dtype)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(arr).__name__}")
    if arr.dtype.name not in backend.SUPPORTED_DTYPES:
        raise DTypeError(f"from_numpy: unsupported dtype {arr.dtype.name}; supported dtypes "
                         f"are {', '.join(backend.SUPPORTED_DTYPES)}")
    return Tensor._make(arr, backend.CPU)


def from_dlpack(obj) -> Tensor:
    """A tensor sharing memory with a DLPack-capable object (torch, CuPy, NumPy, JAX)."""
    arr, dev = _from_dlpack_array(obj)
    return Tensor._make(arr, dev)


def _shape_arg(shape, op="tensor"):
    """A shape tuple from varargs or one sequence; ShapeError for negative or non-integer
    sizes and for more elements than an array can index."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    # a one-element integer Tensor is a size, as in PyTorch (``ones(t.prod())``)
    shape = tuple(int(s.item()) if isinstance(s, Tensor) and s.size == 1 and
                  s.dtype.kind in "iu" else s for s in shape)
    n = 1
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise ShapeError(f"{op}: sizes must be integers, got {s!r} in shape {shape}")
        if s < 0:
            raise ShapeError(f"{op}: negative size {int(s)} in shape {shape}")
        n *= int(s)
    if n > np.iinfo(np.intp).max:
        raise ShapeError(f"{op}: shape {shape} has {n} elements, more than an array can "
                         f"hold ({np.iinfo(np.intp).max})")
    return tuple(int(s) for s in shape)


def _alloc(fn, shape, dt, op):
    try:
        return fn()
    except MemoryError:
        n = 1
        for s in shape:
            n *= s
        raise OutOfMemoryError(f"{op}: out of memory allocating shape {shape} of "
                               f"{dt.name} ({n * dt.itemsize} bytes)") from None
    except ValueError as e:  # "array is too big"
        raise ShapeError(f"{op}: cannot allocate shape {shape} of {dt.name}: {e}") from None


def _fill_dtype(fill):
    """The dtype PyTorch infers for ``full(shape, fill)``: bool, int64 or the default float."""
    if isinstance(fill, (bool, np.bool_)):
        return np.dtype("bool")
    if isinstance(fill, (int, np.integer)):
        return np.dtype("int64")
    return DEFAULT_FLOAT


def _filled(fill, shape, dtype, device, requires_grad, op):
    dev = normalize_device(device, op)
    dt = resolve_dtype(dtype, op) if dtype is not None else DEFAULT_FLOAT
    shape = _shape_arg(shape, op)
    xp = backend.xp_of(dev)
    with backend.cuda_context(dev), np.errstate(over="ignore", invalid="ignore"):
        arr = _alloc(lambda: xp.full(shape, fill, dtype=dt), shape, dt, op)
    return _leaf(arr, dev, requires_grad)


def _leaf(arr, dev, requires_grad):
    t = Tensor._make(arr, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*shape, size=None, dtype=None, device=None, requires_grad=False, layout=None,
          pin_memory=False) -> Tensor:
    """A tensor of zeros: ``ge.zeros((2, 3))`` or ``ge.zeros(2, 3)``."""
    torch_layout("zeros", layout, pin_memory)
    return _filled(0, _sized(shape, size, "zeros"), dtype, device, requires_grad, "zeros")


def ones(*shape, size=None, dtype=None, device=None, requires_grad=False, layout=None,
         pin_memory=False) -> Tensor:
    """A tensor of ones."""
    torch_layout("ones", layout, pin_memory)
    return _filled(1, _sized(shape, size, "ones"), dtype, device, requires_grad, "ones")


def full(size, fill_value, dtype=None, device=None, requires_grad=False, layout=None,
         pin_memory=False) -> Tensor:
    """A tensor filled with ``fill_value``; without ``dtype``, bool, int64 or float32 from the
    fill value's type (PyTorch's inference)."""
    torch_layout("full", layout, pin_memory)
    shape = (size,) if isinstance(size, (int, np.integer)) else size
    return _filled(fill_value, (shape,), dtype if dtype is not None else _fill_dtype(fill_value),
                   device, requires_grad, "full")


def empty(*shape, size=None, dtype=None, device=None, requires_grad=False, layout=None,
          pin_memory=False) -> Tensor:
    """An uninitialised tensor (zeros here: gradengine never hands out stale memory)."""
    torch_layout("empty", layout, pin_memory)
    return _filled(0, _sized(shape, size, "empty"), dtype, device, requires_grad, "empty")


def empty_like(t, dtype=None, device=None, requires_grad=False, layout=None,
               pin_memory=False, memory_format=None) -> Tensor:
    """A tensor of ``t``'s shape, dtype and device (zeros: see :func:`empty`)."""
    torch_layout("empty_like", layout, pin_memory, memory_format)
    return _filled(0, (tuple(t.shape),), dtype or t.dtype, device or t.device, requires_grad,
                   "empty_like")


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False, layout=None,
              pin_memory=False, memory_format=None) -> Tensor:
    """A tensor of ``t``'s shape, dtype and device filled with ``fill_value``."""
    torch_layout("full_like", layout, pin_memory, memory_format)
    return _filled(fill_value, (tuple(t.shape),), dtype or t.dtype, device or t.device,
                   requires_grad, "full_like")


def zeros_like(t, dtype=None, device=None, requires_grad=False, layout=None,
               pin_memory=False, memory_format=None) -> Tensor:
    """Zeros of ``t``'s shape, dtype and device."""
    torch_layout("zeros_like", layout, pin_memory, memory_format)
    return _filled(0, (tuple(t.shape),), dtype or t.dtype, device or t.device, requires_grad,
                   "zeros_like")


def ones_like(t, dtype=None, device=None, requires_grad=False, layout=None,
              pin_memory=False, memory_format=None) -> Tensor:
    """Ones of ``t``'s shape, dtype and device."""
    torch_layout("ones_like", layout, pin_memory, memory_format)
    return _filled(1, (tuple(t.shape),), dtype or t.dtype, device or t.device, requires_grad,
                   "ones_like")


def eye(n, m=None, dtype=None, device=None, requires_grad=False, layout=None,
        pin_memory=False) -> Tensor:
    torch_layout("eye", layout, pin_memory)
    dev = normalize_device(device, "eye")
    dt = resolve_dtype(dtype, "eye") if dtype is not None else DEFAULT_FLOAT
    with backend.cuda_context(dev):
        arr = backend.xp_of(dev).eye(n, m, dtype=dt)
    return _leaf(arr, dev, requires_grad)


@op(name="random", params=("device", "kind", "shape", "dtype", "bounds", "name"),
    differentiable=False, moves=True, random=True)
def draw(xp, device, kind, shape, dtype, bounds, name):
    """Samples from ``device``'s generator (the one ``ge.manual_seed`` seeds), drawn when the
    op runs: "normal", "uniform", "integers" in [low, high) or a "permutation" of
    range(shape[0]). An op, so that a ge.jit replay draws again instead of repeating the
    recording's numbers."""
    return _alloc(lambda: _sample(backend.rng(device), device, kind, shape, dtype, bounds),
                  shape, dtype, name)


@op(name="random_from", params=("device", "kind", "shape", "dtype", "bounds", "name",
                               "generator"),
    differentiable=False, moves=True, random=True)
def draw_from(xp, device, kind, shape, dtype, bounds, name, generator):
    """:func:`draw` from a :class:`~gradengine.backend.Generator` of the user's."""
    return _alloc(lambda: _sample(generator.for_device(device, name), device, kind, shape,
                                  dtype, bounds), shape, dtype, name)


def _sample(gen, device, kind, shape, dtype, bounds):
    cpu = device == "cpu"
    with backend.cuda_context(device):
        if kind == "normal":
            arr = gen.standard_normal(shape)
        elif kind == "uniform":
            arr = gen.random(shape) if cpu else gen.random_sample(shape)
        elif kind == "integers":
            arr = gen.integers(*bounds, size=shape) if cpu else gen.randint(*bounds, size=shape)
        elif cpu:
            arr = gen.permutation(shape[0])
        else:  # CuPy's RandomState: the order of uniform keys is a uniform permutation
            arr = backend.xp_of(device).argsort(gen.random_sample(shape))
        return arr.astype(dtype, copy=False)


def _random(kind, shape, dtype, device, requires_grad, op, bounds=None, default=DEFAULT_FLOAT,
            generator=None):
    dev = normalize_device(device, op)
    dt = resolve_dtype(dtype, op) if dtype is not None else default
    shape = _shape_arg(shape, op)
    if generator is None:
        t = apply(draw, params=(dev, kind, shape, dt, bounds, op))
    else:
        t = apply(draw_from, params=(dev, kind, shape, dt, bounds, op, generator))
    if requires_grad:
        t.requires_grad_(True)
    return t


def randn(*shape, size=None, dtype=None, device=None, requires_grad=False, generator=None,
          layout=None, pin_memory=False) -> Tensor:
    """Standard normal samples, from the generator seeded by ``ge.manual_seed``."""
    torch_layout("randn", layout, pin_memory)
    return _random("normal", _sized(shape, size, "randn"), _float_only(dtype, "randn"),
                   device, requires_grad, "randn", generator=generator)


def rand(*shape, size=None, dtype=None, device=None, requires_grad=False, generator=None,
         layout=None, pin_memory=False) -> Tensor:
    """Uniform samples in [0, 1)."""
    torch_layout("rand", layout, pin_memory)
    return _random("uniform", _sized(shape, size, "rand"), _float_only(dtype, "rand"),
                   device, requires_grad, "rand", generator=generator)


def _sized(shape, size, op):
    """The shape given positionally or as torch's ``size=`` keyword (not both)."""
    if size is None:
        return shape
    if shape:
        raise ArgumentError(f"{op}: give the shape positionally or as size=, not both")
    return (size,)


def _float_only(dtype, op):
    """PyTorch's rule: uniform and normal draws are floating point only."""
    if dtype is not None and resolve_dtype(dtype, op).kind != "f":
        raise DTypeError(f"{op}: not implemented for dtype {resolve_dtype(dtype, op).name}; "
                         "draws are floating point (use randint for integers)")
    return dtype


def rand_like(t, dtype=None, device=None, requires_grad=False, layout=None,
              pin_memory=False, memory_format=None) -> Tensor:
    """Uniform samples in [0, 1) of ``t``'s shape, dtype and device."""
    torch_layout("rand_like", layout, pin_memory, memory_format)
    return rand(tuple(t.shape), dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False, layout=None,
               pin_memory=False, memory_format=None) -> Tensor:
    """Standard normal samples of ``t``'s shape, dtype and device."""
    torch_layout("randn_like", layout, pin_memory, memory_format)
    return randn(tuple(t.shape), dtype=dtype or t.dtype, device=device or t.device,
                 requires_grad=requires_grad)


class NotImplementedDTypeError(DTypeError, NotImplementedError):
    """A dtype the op has no kernel for (``arange`` / ``linspace`` of bools): a DTypeError,
    and a NotImplementedError as PyTorch's \"arange_cpu\" not implemented for 'Bool'."""


def _no_bool(dt, name):
    if dt == np.bool_:
        raise NotImplementedDTypeError(f"{name}: not implemented for dtype bool (PyTorch "
                                       f"neither); use an integer dtype and compare")


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False,
           layout=None, pin_memory=False) -> Tensor:
    """``ge.arange(n)`` or ``ge.arange(start, stop, step)``; int64 for integer arguments."""
    torch_layout("arange", layout, pin_memory)
    dev = normalize_device(device, "arange")
    if stop is None:
        start, stop = 0, start
    # bools are the integers 0 and 1 here, as in PyTorch (arange(False, True) is [0])
    start, stop, step = (int(v) if isinstance(v, (bool, np.bool_)) else v
                         for v in (start, stop, step))
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dt = np.dtype("int64") if ints else DEFAULT_FLOAT
    else:
        dt = resolve_dtype(dtype, "arange")
        _no_bool(dt, "arange")
    for v in (start, stop, step):
        if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool):
            raise ArgumentError(f"arange: start, end and step must be numbers, got "
                                f"({start!r}, {stop!r}, {step!r})")
    if step == 0:
        raise ArgumentError(f"arange: step must be nonzero, got arange({start!r}, {stop!r}, "
                            f"{step!r})")
    if not all(np.isfinite(float(v)) for v in (start, stop, step)):
        raise ArgumentError(f"arange: start, end and step must be finite, got "
                            f"({start!r}, {stop!r}, {step!r})")
    n = max(int(np.ceil((stop - start) / step)), 0)
    _shape_arg((n,), "arange")
    with backend.cuda_context(dev):
        arr = _alloc(lambda: backend.xp_of(dev).arange(start, stop, step).astype(dt), (n,),
                     dt, "arange")
    return _leaf(arr, dev, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False, layout=None,
             pin_memory=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (torch.linspace)."""
    torch_layout("linspace", layout, pin_memory)
    dev = normalize_device(device, "linspace")
    dt = resolve_dtype(dtype, "linspace") if dtype is not None else DEFAULT_FLOAT
    _no_bool(dt, "linspace")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ShapeError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    with backend.cuda_context(dev):
        arr = backend.xp_of(dev).linspace(start, end, int(steps)).astype(dt)
    return _leaf(arr, dev, requires_grad)


def randint(low=None, high=None, size=None, dtype=None, device=None, requires_grad=False,
            generator=None) -> Tensor:
    """Integers drawn uniformly from [low, high) (``randint(high, size)`` as torch too);
    int64 unless ``dtype`` says otherwise."""
    if low is None:  # randint(high=5, size=(2,))
        low = 0
    if size is None:  # torch.randint(high, size)
        if not isinstance(high, (tuple, list)):
            raise ArgumentError(f"randint: a size tuple is needed, got randint({low!r}, "
                                f"{high!r})")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    shape = _shape_arg((size,) if isinstance(size, (int, np.integer)) else (tuple(size),),
                       "randint")
    if high <= low:
        raise ArgumentError(f"randint: need low < high, got low={low!r} and high={high!r}")
    if dtype is not None:  # PyTorch's check: the bounds must fit the integer dtype
        dt = resolve_dtype(dtype, "randint")
        if dt.kind in "iu":
            info = np.iinfo(dt)
            if low < info.min or high - 1 > info.max:
                raise ArgumentError(f"randint: from {low} to {high} is out of bounds for "
                                    f"{dt.name} ([{info.min}, {info.max}])")
    return _random("integers", shape, dtype, device, requires_grad, "randint",
                   (low, high), np.dtype("int64"), generator)


def randperm(n, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """A random permutation of 0..n-1 (int64), from the seeded generator."""
    return _random("permutation", (n,), dtype, device, requires_grad, "randperm",
                   default=np.dtype("int64"), generator=generator)


# ---------------------------------------------------------------- torch's layout keywords

class _Named:
    """A torch constant (``ge.strided``, ``ge.contiguous_format`` ...) by name."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_named, (self.name,))


def _named(name):
    return _CONSTANTS[name]


_CONSTANTS = {n: _Named(n) for n in ("strided", "sparse_coo", "contiguous_format",
                                      "channels_last", "channels_last_3d", "preserve_format")}
strided, sparse_coo = _CONSTANTS["strided"], _CONSTANTS["sparse_coo"]
contiguous_format, channels_last = _CONSTANTS["contiguous_format"], _CONSTANTS["channels_last"]
channels_last_3d, preserve_format = _CONSTANTS["channels_last_3d"], _CONSTANTS["preserve_format"]
MEMORY_FORMATS = (None, contiguous_format, channels_last, channels_last_3d, preserve_format)


def torch_layout(op_name, layout=None, pin_memory=False, memory_format=None):
    """Check torch's layout keywords of a constructor: dense (``strided``) tensors only;
    ``pin_memory`` is accepted (host memory is never pinned here); every memory format gives
    gradengine's one dense row-major layout (values and shapes are the same)."""
    if layout is not None and layout is not strided and str(layout) != "torch.strided":
        raise ArgumentError(f"{op_name}: only the dense layout (strided) is supported, got "
                            f"layout={layout!r}")
    if memory_format not in MEMORY_FORMATS and not str(memory_format).startswith("torch."):
        raise ArgumentError(f"{op_name}: unknown memory_format {memory_format!r}")
