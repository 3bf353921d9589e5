"""PyTorch's top-level utilities that gradengine had not spelled yet: more constructors
(``logspace``, ``range``, ``scalar_tensor``, ``asarray``, ``empty_strided``,
``empty_permuted``, ``frombuffer``, the window functions), dtype facts (``finfo``,
``iinfo``, ``promote_types``, ``result_type``, ``can_cast``), runtime switches (threads,
determinism, warn-always, anomaly and inference mode), and the Tensor attributes PyTorch
scripts read (``is_signed``, ``get_device``, ``storage_offset``, ``retains_grad``,
``register_post_accumulate_grad_hook`` ...). Every constructor makes a leaf; every value
computed from a Tensor goes through the ops. See docs/from-pytorch.md for what differs.
"""

from __future__ import annotations

import builtins
import math
import os
import threading
import warnings
import weakref

import numpy as np

from . import backend
from .backend import DEFAULT_FLOAT, normalize_device, resolve_dtype
from .core.backward import add_commit_hook, add_ready_hook
from .core.gradmode import _mode, is_inference_mode_enabled
from .core.op import host_call
from .core.tensor import Tensor
from .errors import ArgumentError, DeviceError, DTypeError, GraphError, ShapeError
from .ops import copy_, elementwise, operand
from .ops.creation import _alloc, _leaf, _shape_arg, from_numpy

# ---------------------------------------------------------------- constructors


def _dtype_or_default(dtype, op):
    """``dtype`` resolved, or the default float (what PyTorch's constructors make)."""
    return resolve_dtype(dtype, op) if dtype is not None else DEFAULT_FLOAT


def _on(arr, device, dtype, requires_grad, op):
    """A leaf on ``device`` from the host array ``arr`` cast to ``dtype``."""
    dev = normalize_device(device, op)
    with np.errstate(over="ignore", invalid="ignore"):
        arr = arr.astype(dtype)
    return _leaf(backend.to_device_array(arr, dev), dev, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False,
             layout=None) -> Tensor:
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the
    exponent (torch.logspace)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ShapeError(f"logspace: steps must be a non-negative integer, got {steps!r}")
    arr = np.power(float(base), np.linspace(float(start), float(end), int(steps)))
    return _on(arr, device, _dtype_or_default(dtype, "logspace"), requires_grad, "logspace")


def range(start=0, end=None, step=1, *, dtype=None, device=None,  # noqa: A001
          requires_grad=False, layout=None) -> Tensor:
    """``torch.range`` (deprecated): start to end *inclusive* by step, in the default float
    dtype even for integer arguments. Warns as PyTorch does; use :func:`ge.arange`."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    if end is None:
        start, end = 0, start
    for v in (start, end, step):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(v)):
            raise ArgumentError(f"range: start, end and step must be finite numbers, got "
                                f"({start!r}, {end!r}, {step!r})")
    if step == 0:
        raise ArgumentError(f"range: step must be nonzero, got range({start!r}, {end!r}, "
                            f"{step!r})")
    if (end - start) * step < 0:
        raise ArgumentError(f"range: upper bound and larger bound inconsistent with step sign "
                            f"(start={start!r}, end={end!r}, step={step!r})")
    n = int(math.floor((end - start) / step)) + 1
    _shape_arg((n,), "range")
    arr = start + np.arange(n, dtype=np.float64) * step
    return _on(arr, device, _dtype_or_default(dtype, "range"), requires_grad, "range")


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False) -> Tensor:
    """A 0-d tensor holding ``s``, of the default float dtype unless ``dtype`` is given."""
    if isinstance(s, Tensor):
        s = s.item()
    return _on(np.asarray(s, dtype=np.float64 if not isinstance(s, (int, np.integer)) or
                          isinstance(s, bool) else np.int64),
               device, _dtype_or_default(dtype, "scalar_tensor"), requires_grad, "scalar_tensor")


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None) -> Tensor:
    """``obj`` as a Tensor, sharing its memory when it can (torch.asarray): a Tensor of the
    right dtype and device is returned as is, a NumPy array or DLPack object is shared;
    ``copy=True`` always copies, ``copy=False`` raises when a copy is needed. A Tensor's
    copy or cast keeps its history (``requires_grad=False`` detaches it), as PyTorch 2.13's
    default ``requires_grad=None`` does.

    Raises:
        ArgumentError: ``copy=False`` with a dtype or device change, or data that is not an
            array (a list).
    """
    dt = resolve_dtype(dtype, "asarray") if dtype is not None else None
    dev = normalize_device(device, "asarray") if device is not None else None
    shared = None
    if isinstance(obj, Tensor):
        shared = obj
    elif isinstance(obj, np.ndarray) and obj.dtype.name in backend.SUPPORTED_DTYPES:
        shared = from_numpy(obj)
    elif hasattr(obj, "__dlpack__") and not isinstance(obj, (list, tuple)):
        try:
            from .ops.creation import from_dlpack
            shared = from_dlpack(obj)
        except Exception:  # noqa: BLE001 - not exchangeable: converted below
            shared = None
    if shared is not None:
        same = (dt is None or shared.dtype == dt) and (dev is None or shared.device == dev)
        if same and not copy:
            out = shared
        elif copy is False:
            raise ArgumentError(f"asarray: cannot alias data of dtype {shared.dtype.name} on "
                                f"{shared.device} as dtype {(dt or shared.dtype).name} on "
                                f"{dev or shared.device} without a copy (copy=False)")
        elif shared is obj:  # a Tensor: a differentiable copy or cast
            out = obj.to(device=dev, dtype=dt, copy=True)
            if requires_grad is False:
                out = out.detach()
        else:
            out = Tensor(shared.data, dtype=dt, device=dev or shared.device)
    else:
        if copy is False:
            raise ArgumentError(f"asarray: a {type(obj).__name__} cannot be shared without a "
                                "copy (copy=False)")
        out = Tensor(obj, dtype=dt, device=dev)
    if requires_grad:
        out.requires_grad_(True)
    return out


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False) -> Tensor:
    """A tensor of ``size`` laid out with ``stride`` (in elements) over one allocation of
    zeros (gradengine never hands out stale memory)."""
    shape = _shape_arg((tuple(size),), "empty_strided")
    stride = tuple(int(s) for s in stride)
    if len(stride) != len(shape) or any(s < 0 for s in stride):
        raise ShapeError(f"empty_strided: {len(stride)} non-negative strides are needed for "
                         f"size {shape}, got {stride}")
    dev = normalize_device(device, "empty_strided")
    dt = _dtype_or_default(dtype, "empty_strided")
    n = 0 if 0 in shape else 1 + sum((d - 1) * s for d, s in zip(shape, stride))
    xp = backend.xp_of(dev)
    with backend.cuda_context(dev):
        buf = _alloc(lambda: xp.zeros(n, dtype=dt), (n,), dt, "empty_strided")
        arr = xp.lib.stride_tricks.as_strided(buf, shape, tuple(s * dt.itemsize
                                                                 for s in stride))
    return _leaf(arr, dev, requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, device=None, requires_grad=False,
                   layout=None, pin_memory=False) -> Tensor:
    """A tensor of ``size`` whose dimensions lie in memory in the order ``physical_layout``
    (outermost first): zeros of the permuted shape, seen through the inverse permutation."""
    shape = _shape_arg((tuple(size),), "empty_permuted")
    perm = tuple(int(p) for p in physical_layout)
    if sorted(perm) != list(builtins.range(len(shape))):
        raise ShapeError(f"empty_permuted: physical_layout {perm} is not a permutation of the "
                         f"{len(shape)} dimensions of size {shape}")
    dev = normalize_device(device, "empty_permuted")
    dt = _dtype_or_default(dtype, "empty_permuted")
    xp = backend.xp_of(dev)
    with backend.cuda_context(dev):
        phys = xp.zeros(tuple(shape[p] for p in perm), dtype=dt)
        arr = phys.transpose(tuple(np.argsort(perm)))
    return _leaf(arr, dev, requires_grad)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False) -> Tensor:
    """A 1-d CPU tensor sharing the memory of a Python buffer (bytes, bytearray, array,
    memoryview), as torch.frombuffer; warns as PyTorch does when the buffer is read-only."""
    dt = resolve_dtype(dtype, "frombuffer")
    view = memoryview(buffer)
    if view.nbytes == 0 and count in (-1, 0):
        raise ArgumentError(f"frombuffer: both buffer length (0) and count ({count}) must "
                            "not be 0")
    if view.readonly:
        warnings.warn("frombuffer: the given buffer is not writable; writing to the tensor "
                      "fails (NumPy's read-only array)", UserWarning, stacklevel=2)
    try:
        arr = np.frombuffer(buffer, dtype=dt, count=count, offset=offset)
    except ValueError as e:
        raise ArgumentError(f"frombuffer: {e} (buffer of {view.nbytes} bytes, dtype "
                            f"{dt.name}, count={count}, offset={offset})") from None
    return _leaf(arr, backend.CPU, requires_grad)


def _window(name, n, periodic, dtype, device, requires_grad, fn):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ArgumentError(f"{name}: requires non-negative window_length, got "
                            f"window_length={n!r}")
    dt = _dtype_or_default(dtype, name)
    if dt.kind != "f":
        raise ArgumentError(f"{name}: expects floating point dtypes, got {dt.name}")
    n = int(n)
    if n <= 1:
        arr = np.ones(n)
    else:
        m = n + 1 if periodic else n
        arr = fn(np.arange(m, dtype=np.float64), m)[:n]
    return _on(arr, device, dt, requires_grad, name)


def hann_window(window_length, periodic=True, *, dtype=None, device=None,
                requires_grad=False, layout=None) -> Tensor:
    """``0.5 - 0.5 cos(2 pi n / (N - 1))``; periodic: N = window_length + 1, last dropped."""
    return hamming_window(window_length, periodic, 0.5, 0.5, dtype=dtype, device=device,
                          requires_grad=requires_grad, _name="hann_window")


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   device=None, requires_grad=False, layout=None,
                   _name="hamming_window") -> Tensor:
    """``alpha - beta cos(2 pi n / (N - 1))``."""
    return _window(_name, window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: alpha - beta * np.cos(2 * np.pi * k / (m - 1)))


def blackman_window(window_length, periodic=True, *, dtype=None, device=None,
                    requires_grad=False, layout=None) -> Tensor:
    """``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: 0.42 - 0.5 * np.cos(2 * np.pi * k / (m - 1))
                   + 0.08 * np.cos(4 * np.pi * k / (m - 1)))


def bartlett_window(window_length, periodic=True, *, dtype=None, device=None,
                    requires_grad=False, layout=None) -> Tensor:
    """The triangle ``1 - |2n / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: 1 - np.abs(2 * k / (m - 1) - 1))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, device=None,
                  requires_grad=False, layout=None) -> Tensor:
    """``I0(beta sqrt(1 - ((n - N/2) / (N/2))**2)) / I0(beta)`` with N = window_length - 1
    (+1 when periodic), I0 the modified Bessel function of order 0."""
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, m: np.i0(beta * np.sqrt(np.clip(
                       1 - ((k - (m - 1) / 2) / ((m - 1) / 2)) ** 2, 0, None)))
                   / np.i0(beta))


# ---------------------------------------------------------------- dtypes


class finfo:  # noqa: N801 - torch's name
    """``torch.finfo``: the limits of a floating dtype (the default one without argument):
    ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``), ``resolution``
    and ``dtype`` (its name)."""

    def __init__(self, type=None):  # noqa: A002 - torch's argument name
        dt = resolve_dtype(type, "finfo") if type is not None else DEFAULT_FLOAT
        if dt.kind != "f":
            raise DTypeError(f"finfo: requires a floating point input type, got {dt.name}; "
                             "use ge.iinfo for integer types")
        fi = np.finfo(dt)
        self.bits = int(fi.bits)
        self.eps, self.max, self.min = float(fi.eps), float(fi.max), float(fi.min)
        self.tiny = self.smallest_normal = float(fi.smallest_normal)
        self.resolution = 10.0 ** -int(fi.precision)  # as torch: a power of ten
        self.dtype = dt.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801 - torch's name
    """``torch.iinfo``: ``bits``, ``max``, ``min`` and ``dtype`` of an integer dtype."""

    def __init__(self, type):  # noqa: A002
        dt = resolve_dtype(type, "iinfo")
        if dt.kind not in "iu":
            raise DTypeError(f"iinfo: requires an integer input type, got {dt.name}; use "
                             "ge.finfo for floating types")
        ii = np.iinfo(dt)
        self.bits, self.max, self.min, self.dtype = int(ii.bits), int(ii.max), int(ii.min), \
            dt.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def _category(dt):
    return 0 if dt.kind == "b" else 1 if dt.kind in "iu" else 2


def _promote(a, b):
    if a is None:
        return b
    if b is None or a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:  # int64 with float16 is float16, as in PyTorch (NumPy says float64)
        return a if ca > cb else b
    return np.promote_types(a, b)


def promote_types(type1, type2):
    """The smallest dtype both promote to, by PyTorch's rules (a float wins over any
    integer; integers and floats each promote within their kind)."""
    return _promote(resolve_dtype(type1, "promote_types"), resolve_dtype(type2,
                                                                          "promote_types"))


def _combine(higher, lower):
    if higher is not None and higher.kind == "f":
        return higher
    if higher is not None and (higher.kind == "b" or (lower is not None and lower.kind == "f")):
        return _promote(higher, lower)
    return higher if higher is not None else lower


def result_type(tensor1, tensor2):
    """The dtype of an arithmetic op on the two operands (Tensors or numbers), by PyTorch's
    rules: tensors with dimensions decide within their kind over 0-d tensors, which decide
    over Python numbers (a float number is the default float, an int int64)."""
    dims = zeros = wrapped = None
    for x in (tensor1, tensor2):
        if isinstance(x, Tensor):
            if x.ndim:
                dims = _promote(dims, x.dtype)
            else:
                zeros = _promote(zeros, x.dtype)
        elif isinstance(x, (bool, np.bool_)):
            wrapped = _promote(wrapped, np.dtype("bool"))
        elif isinstance(x, (int, np.integer)):
            wrapped = _promote(wrapped, np.dtype("int64"))
        elif isinstance(x, (float, np.floating)):
            wrapped = _promote(wrapped, DEFAULT_FLOAT)
        else:
            raise DTypeError(f"result_type: expects Tensors or numbers, got "
                             f"{type(x).__name__}")
    return _combine(dims, _combine(zeros, wrapped))


def can_cast(from_, to) -> bool:
    """Whether PyTorch's type promotion allows casting ``from_`` to ``to``: no float to an
    integer, nothing but bool to bool."""
    a, b = resolve_dtype(from_, "can_cast"), resolve_dtype(to, "can_cast")
    if a.kind == "f" and b.kind != "f":
        return False
    return not (a.kind != "b" and b.kind == "b")


def is_complex(input) -> bool:  # noqa: A002
    """False: gradengine has no complex dtypes."""
    return False


def is_nonzero(input) -> bool:  # noqa: A002
    """The truth of a one-element tensor (torch.is_nonzero).

    Raises:
        ArgumentError: not one element.
    """
    if input.numel() != 1:
        what = "more than one value" if input.numel() else "no values"
        raise ArgumentError(f"is_nonzero: Boolean value of Tensor with {what} is ambiguous "
                            f"(shape {tuple(input.shape)})")
    return bool(input.item())


# ---------------------------------------------------------------- runtime switches

_threads = {"intra": None, "interop": None, "limiter": None}


def _default_threads():
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def get_num_threads() -> int:
    """The intra-op thread count set by :func:`set_num_threads`; before that,
    $OMP_NUM_THREADS or the CPUs this process may run on."""
    return _threads["intra"] or _default_threads()


def set_num_threads(n) -> None:
    """Record the intra-op thread count and apply it to NumPy's BLAS and OpenMP pools
    through ``threadpoolctl`` when it is installed (it is not a dependency: without it
    the count is recorded, and exported in $OMP_NUM_THREADS for child processes only).

    Raises:
        ArgumentError: not a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ArgumentError(f"set_num_threads: expects a positive integer, got {n!r}")
    _threads["intra"] = int(n)
    os.environ["OMP_NUM_THREADS"] = str(int(n))
    try:
        import threadpoolctl
    except ImportError:
        return
    _threads["limiter"] = threadpoolctl.threadpool_limits(limits=int(n))


def get_num_interop_threads() -> int:
    """The inter-op thread count (recorded: gradengine runs ops one after another)."""
    return _threads["interop"] or _default_threads()


def set_num_interop_threads(n) -> None:
    """Record the inter-op thread count (gradengine has no inter-op pool to size)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ArgumentError(f"set_num_interop_threads: expects a positive integer, got {n!r}")
    _threads["interop"] = int(n)


_flags = {"deterministic": False, "warn_only": False, "warn_always": False}


def use_deterministic_algorithms(mode, *, warn_only=False) -> None:
    """Record the deterministic-algorithms switch. gradengine's CPU ops are deterministic
    (bit-identical runs); on CUDA, scatter-style additions use atomics whatever is set."""
    _flags["deterministic"], _flags["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _flags["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _flags["warn_only"]


def set_warn_always(b) -> None:
    """Record PyTorch's warn-always switch (gradengine's warnings follow Python's filters)."""
    _flags["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _flags["warn_always"]


class _Anomaly(threading.local):
    check_nan = True
    traceback_only = False  # enabled with check_nan=False: nothing is checked


_anomaly = _Anomaly()


def set_anomaly_enabled(mode, check_nan=True) -> None:
    """Switch gradengine's anomaly mode (``ge.detect_anomaly``) on or off in this thread.
    With ``check_nan=False`` PyTorch only keeps tracebacks; gradengine then checks nothing
    (its errors name the op's creation site in anomaly mode only)."""
    _anomaly.check_nan = bool(check_nan)
    _anomaly.traceback_only = bool(mode) and not check_nan
    _mode.anomaly = bool(mode) and bool(check_nan)


def is_anomaly_enabled() -> bool:
    return bool(_mode.anomaly) or _anomaly.traceback_only


def is_anomaly_check_nan_enabled() -> bool:
    return _anomaly.check_nan


_TENSOR_TYPES = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16"}


def set_default_tensor_type(t) -> None:
    """``torch.set_default_tensor_type`` (deprecated, and warns so): "torch.FloatTensor"
    (or the class) keeps float32 on the CPU, "torch.cuda.FloatTensor" makes CUDA the
    default device. gradengine's default float is fixed at float32, so DoubleTensor
    raises as ``set_default_dtype(float64)`` does."""
    name = t if isinstance(t, str) else getattr(t, "__module__", "") + "." + getattr(
        t, "__name__", "")
    if not isinstance(t, (str, type)):
        raise DTypeError(f"set_default_tensor_type: invalid type object {t!r}")
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    kind = name.rsplit(".", 1)[-1]
    if kind not in _TENSOR_TYPES:
        raise DTypeError(f"set_default_tensor_type: only floating-point types are supported "
                         f"as the default type, got {name!r}")
    backend.set_default_dtype(_TENSOR_TYPES[kind])
    backend.set_default_device("cuda" if ".cuda." in f".{name}." else "cpu")


# ---------------------------------------------------------------- top-level spellings


def clone(input, *, memory_format=None) -> Tensor:  # noqa: A002
    """A copy with the same history (``torch.clone``)."""
    return input.clone()


def detach(input) -> Tensor:  # noqa: A002
    """The same data cut from the graph (``torch.detach``)."""
    return input.detach()


def zero_(input) -> Tensor:  # noqa: A002
    """Fill ``input`` with zeros in place."""
    return input.zero_()


def fill_(input, value) -> Tensor:  # noqa: A002
    """Fill ``input`` with ``value`` in place."""
    return input.fill_(value)


def rsub(input, other, *, alpha=1) -> Tensor:  # noqa: A002
    """``other - alpha * input`` (torch.rsub)."""
    scaled = input if alpha == 1 else input * alpha
    if isinstance(other, Tensor):
        return other - scaled
    return operand(other, input, "rsub") - scaled


# ---------------------------------------------------------------- Tensor attributes

class _PostHooks:
    """A leaf's post-accumulate hooks, kept in its ``register_hook`` list (so the tensor
    owns them and they die with it, cycles included) as a pre-hook that changes nothing."""

    __slots__ = ("fns", "__weakref__")

    def __init__(self):
        self.fns = []

    def __call__(self, grad):
        return None


_all_post = weakref.WeakSet()  # every live _PostHooks
_engine_hooks = []  # the removers of the engine hooks while any post hook exists


def _post_of(leaf):
    for fn in getattr(leaf, "_hooks", None) or ():
        if type(fn) is _PostHooks:
            return fn
    return None


def _uninstall_if_idle():
    """No post hook left: take the engine hooks out, so backwards stop counting edges."""
    if _engine_hooks and not any(p.fns for p in list(_all_post)):
        for remove in _engine_hooks:
            remove()
        _engine_hooks.clear()


class _Ready(threading.local):
    order = None  # the hooked leaves of the running backward, as their gradients got final


_ready = _Ready()


def _note_ready(leaf, grad):
    post = _post_of(leaf)
    if post is not None and post.fns:
        if _ready.order is None:
            _ready.order = []
        _ready.order.append(leaf)


def _run_post_hooks(leaves):
    """After the commit: each hooked leaf's hooks, in the order the leaves' gradients
    became final in the walk (PyTorch runs AccumulateGrad as soon as it is ready)."""
    order, _ready.order = _ready.order or [], None
    committed = {id(leaf) for leaf in leaves}
    listed = {id(leaf) for leaf in order}
    for leaf in [t for t in order if id(t) in committed] + [
            t for t in leaves if id(t) not in listed]:
        post = _post_of(leaf)
        if post is not None:
            for fn in list(post.fns):  # a host step: a ge.jit replay calls it again
                host_call(lambda fn=fn, leaf=leaf: fn(leaf))


class _Handle:
    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)
        _uninstall_if_idle()


def register_post_accumulate_grad_hook(self, hook):
    """Call ``hook(tensor)`` after a backward has accumulated this leaf's ``.grad`` (it
    sees the new gradient); a handle with ``remove()``. Run from the backward's commit,
    after every leaf of that backward got its gradient, leaf by leaf in the order their
    gradients became final (PyTorch's order; PyTorch runs each as soon as its leaf is
    done, so a hook here also sees the other leaves' new gradients). ``ge.grad``
    accumulates nothing and calls none (as torch.autograd.grad).

    Raises:
        GraphError: a non-leaf tensor, or one that does not require grad.
    """
    if self.node is not None:
        raise GraphError(f"register_post_accumulate_grad_hook: post accumulate grad hooks "
                         f"cannot be registered on non-leaf tensors (shape {tuple(self.shape)},"
                         f" made by {self.node.op.name})")
    if not self._rg:
        raise GraphError(f"register_post_accumulate_grad_hook: cannot register a hook on a "
                         f"tensor that doesn't require gradient (shape {tuple(self.shape)})")
    post = _post_of(self)
    if post is None:
        post = _PostHooks()
        self.register_hook(post)
        _all_post.add(post)
        weakref.finalize(post, _uninstall_if_idle)
    if not _engine_hooks:  # (while installed, each backward counts the edges into leaves)
        _engine_hooks.extend([add_ready_hook(_note_ready), add_commit_hook(_run_post_hooks)])
    post.fns.append(hook)
    return _Handle(post.fns, hook)


def _root(arr):
    base = arr
    while getattr(base, "base", None) is not None and hasattr(base.base, "shape"):
        base = base.base
    return base


def _address(arr):
    return int(arr.ctypes.data) if isinstance(arr, np.ndarray) else int(arr.data.ptr)


def storage_offset(self) -> int:
    """Elements between the start of the memory this tensor views and its first element."""
    root = _root(self.data)
    if root is self.data or root.size == 0 or self.data.size == 0:
        return 0
    return (_address(self.data) - _address(root)) // self.dtype.itemsize


def new(self, *args, dtype=None, device=None):
    """``Tensor.new`` (deprecated in PyTorch): ``new()`` an empty tensor, ``new(2, 3)`` or
    ``new(ge.Size(...))`` zeros of that shape, ``new(data)`` a tensor of ``data``; this
    tensor's dtype and device."""
    dt, dev = dtype or self.dtype, device or self.device
    if not args:
        shape = (0,)
    elif all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        shape = tuple(int(a) for a in args)
    elif len(args) == 1 and isinstance(args[0], tuple) and type(args[0]) is not tuple:
        shape = tuple(args[0])  # a Size (ge.Size, torch.Size) is a shape
    elif len(args) == 1:
        return Tensor(args[0], dtype=dt, device=dev)
    else:
        raise ArgumentError(f"new: expects sizes or one sequence of data, got {args!r}")
    from .ops.creation import zeros
    return zeros(shape, dtype=dt, device=dev)


def _host_map(self, name, fn, arrays):
    if self.device != "cpu":
        raise DeviceError(f"{name}: is only implemented on CPU tensors (tensor on "
                          f"{self.device})")
    if self._rg:
        raise GraphError(f"{name}: Can't call {name}() on Variable that requires grad. Use "
                         f"var.detach().{name}() instead.")
    vals = np.vectorize(fn, otypes=[self.dtype])(*arrays) if self.numel() else self.numpy()
    return copy_(self, Tensor(np.asarray(vals, dtype=self.dtype)))


def apply_(self, callable):  # noqa: A002 - torch's argument name
    """Replace each element ``v`` by ``callable(v)`` in place (CPU tensors, as torch)."""
    return _host_map(self, "apply_", callable, (self.numpy(),))


def map_(self, tensor, callable):  # noqa: A002
    """``self[i] = callable(self[i], tensor[i])`` in place, ``tensor`` broadcast to this
    shape (CPU tensors, as torch)."""
    other = np.broadcast_to(operand(tensor, self, "map_").numpy() if isinstance(
        tensor, Tensor) else np.asarray(tensor), self.shape)
    return _host_map(self, "map_", callable, (self.numpy(), other))


def _install(T):
    T.is_signed = lambda self: self.dtype.kind in "if"
    T.is_cpu = property(lambda self: self.device == "cpu")
    T.get_device = lambda self: -1 if self.device == "cpu" else int(self.device[5:])
    T.byte = lambda self: elementwise.cast(self, "uint8")
    T.char = lambda self: elementwise.cast(self, "int8")
    T.short = lambda self: elementwise.cast(self, "int16")
    T.is_complex = lambda self: False
    T.is_inference = lambda self: False
    T.retains_grad = property(lambda self: self.node is not None and bool(
        getattr(self, "_retain", False)))
    T.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
    T.output_nr = property(lambda self: 0)  # every gradengine node has one output
    T.storage_offset = storage_offset
    T.new = new
    T.apply_ = apply_
    T.map_ = map_


_install(Tensor)

__all__ = [
    "logspace", "range", "scalar_tensor", "asarray", "empty_strided", "empty_permuted",
    "frombuffer", "hann_window", "hamming_window", "blackman_window", "bartlett_window",
    "kaiser_window", "finfo", "iinfo", "promote_types", "result_type", "can_cast",
    "is_complex", "is_nonzero", "get_num_threads", "set_num_threads",
    "get_num_interop_threads", "set_num_interop_threads", "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
    "set_warn_always", "is_warn_always_enabled", "set_anomaly_enabled", "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled", "is_inference_mode_enabled",
    "set_default_tensor_type", "clone", "detach", "zero_", "fill_", "rsub",
]
