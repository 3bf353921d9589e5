"""The Tensor: an array (NumPy on the CPU, CuPy on CUDA) plus what autograd needs."""

from __future__ import annotations

import numpy as np

from . import autograd, backend
from . import backward as backward_module
from .backend import DEFAULT_FLOAT, FLOAT_DTYPES, normalize_device, resolve_dtype
from .errors import DTypeError, DeviceError


class Tensor:
    """An n-dimensional array that records the ops applied to it for backpropagation.

    ``data`` is the backend array; ``grad`` a Tensor of the same shape (or None);
    ``node`` the graph node that produced it (None for leaves); ``device`` is
    ``"cpu"`` or ``"cuda:N"``.
    """

    __slots__ = ("data", "requires_grad", "grad", "node", "device", "_version", "_prior",
                 "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to our reflected operators (ndarray * Tensor)
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        arr, dev = _to_array(data, dtype, device, "tensor")
        self.data = arr
        self.device = dev
        self.grad = None
        self.node = None
        self._version = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, arr, device):
        t = object.__new__(Tensor)
        t.data = arr
        t.device = device
        t.requires_grad = False
        t.grad = None
        t.node = None
        t._version = 0
        return t

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.node is None

    @property
    def T(self):
        return self.transpose()

    def requires_grad_(self, flag: bool = True):
        """Set requires_grad in place (leaves only; floating dtypes only)."""
        if flag and self.data.dtype not in FLOAT_DTYPES:
            raise DTypeError(f"tensor: requires_grad=True needs a floating dtype "
                             f"(float16/float32/float64), got {self.data.dtype.name}")
        if not flag and self.node is not None:
            raise autograd.GraphError("requires_grad_: cannot turn off requires_grad of a "
                                      "non-leaf tensor; use detach()")
        self.requires_grad = bool(flag)
        return self

    # ------------------------------------------------------------ conversions
    def _read(self):
        # Reading values while ge.jit traces makes the trace depend on them.
        if autograd._mode.trace is not None:
            autograd._mode.trace.note_read(self)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory on the CPU, a copy from CUDA)."""
        self._read()
        return self.data if self.device == "cpu" else backend.cupy().asnumpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a "
                             f"Python scalar, got shape {self.shape}")
        self._read()
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor._make(self.data, self.device)

    def clone(self) -> "Tensor":
        return self * 1 if self.dtype in FLOAT_DTYPES else Tensor._make(self.data.copy(),
                                                                        self.device)

    def to(self, device=None, dtype=None) -> "Tensor":
        """This tensor on ``device`` (and/or as ``dtype``); differentiable."""
        out = self
        if device is not None:
            dev = normalize_device(device, "to")
            if dev != self.device:
                from .ops.elementwise import to_device
                out = to_device(out, dev)
        if dtype is not None:
            out = out.astype(dtype)
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, index: int = 0) -> "Tensor":
        return self.to(f"cuda:{index}")

    def float(self):
        return self.astype("float32")

    def double(self):
        return self.astype("float64")

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __dlpack__(self, *args, **kwargs):
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    # ------------------------------------------------------------ autograd
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            grad: the upstream gradient; may be omitted for a one-element tensor.
            retain_graph: keep the graph so that backward can run through it again.
            create_graph: record the backward itself, for higher-order gradients.
        Raises:
            GraphError: no graph, a non-scalar without ``grad``, a freed graph, or a saved
                tensor modified in place. ShapeError: ``grad`` of the wrong shape.
        """
        roots, gs = autograd._prepare_roots("backward", [self], [grad])
        autograd.run_backward(roots, gs, retain_graph or create_graph, create_graph)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (read from its node)."""
        return self

    def zero_grad(self):
        self.grad = None

    # ------------------------------------------------------------ python protocol
    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", precision=4, threshold=20)
        extras = [f"dtype={self.dtype.name}"]
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.node is not None:
            extras.append(f"grad_fn={self.node.op.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"bool: the truth value of a tensor of shape {self.shape} is "
                             "ambiguous; use .any() or .all()")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError("only integer tensors of one element can be used as an index")
        return int(self.item())

    __hash__ = object.__hash__

    def any(self):
        return bool(self.data.any())

    def all(self):
        return bool(self.data.all())


autograd.Tensor = Tensor
backward_module.Tensor = Tensor


# ---------------------------------------------------------------- creation

def _to_array(data, dtype, device, op):
    """(array, device) from any array-like, with gradengine's dtype rules."""
    dt = resolve_dtype(dtype, op) if dtype is not None else None
    if isinstance(data, Tensor):
        arr, src = data.data, data.device
    else:
        arr, src = data, None
        cp = backend.cupy()
        if cp is not None and isinstance(data, cp.ndarray):
            src = backend.device_of_array(data)
        elif not isinstance(data, np.ndarray):
            if hasattr(data, "__dlpack__") and not isinstance(data, (list, tuple)):
                try:
                    t = from_dlpack(data)
                    arr, src = t.data, t.device
                except Exception:  # noqa: BLE001 - fall back to a plain conversion
                    arr = np.asarray(data)
            else:
                arr = np.asarray(data)
                # Python floats become the default float dtype (float32), as in PyTorch.
                if dt is None and arr.dtype == np.float64:
                    dt = DEFAULT_FLOAT
    dev = normalize_device(device, op) if device is not None else (src or
                                                                    backend.get_default_device())
    if arr.dtype.name not in backend.SUPPORTED_DTYPES and dt is None:
        raise DTypeError(f"{op}: unsupported dtype {arr.dtype.name}; supported dtypes are "
                         f"{', '.join(backend.SUPPORTED_DTYPES)}")
    src = src or "cpu"
    if src != dev:
        arr = backend.to_device_array(arr, dev)
    if dt is not None and arr.dtype != dt:
        arr = arr.astype(dt)
    if arr is data or (isinstance(data, Tensor) and arr is data.data):
        arr = arr.copy()  # tensor() copies, like torch.tensor; from_numpy shares
    return arr, dev


def tensor(data, requires_grad=False, dtype=None, device=None) -> Tensor:
    """A new leaf tensor from a list, scalar, NumPy/CuPy array or DLPack object (copied).

    Python floats become float32 (the default); NumPy arrays keep their dtype.

    Example:
        >>> x = ge.tensor([[1.0, 2.0]], requires_grad=True)
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but a Tensor on the right device and dtype is returned as is."""
    if isinstance(data, Tensor) and dtype is None and (device is None or
                                                      normalize_device(device) == data.device):
        return data
    return Tensor(data, dtype=dtype, device=device)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``arr``."""
    return Tensor._make(arr, "cpu")


def from_dlpack(obj) -> Tensor:
    """A tensor sharing memory with a DLPack-capable object (torch, CuPy, NumPy, JAX)."""
    kind, index = obj.__dlpack_device__()[:2] if hasattr(obj, "__dlpack_device__") else (1, 0)
    if int(kind) == 1:  # kDLCPU
        return Tensor._make(np.from_dlpack(obj), "cpu")
    cp = backend.cupy()
    if cp is None:
        raise DeviceError(f"from_dlpack: the object lives on a CUDA device; "
                          f"{backend.INSTALL_HINT}")
    arr = cp.from_dlpack(obj)
    return Tensor._make(arr, backend.device_of_array(arr))


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _filled(fill, shape, dtype, device, requires_grad, op):
    dev = normalize_device(device, op)
    dt = resolve_dtype(dtype, op) if dtype is not None else DEFAULT_FLOAT
    xp = backend.xp_of(dev)
    with backend.cuda_context(dev):
        arr = xp.full(_shape_arg(shape), fill, dtype=dt)
    return _leaf(arr, dev, requires_grad)


def _leaf(arr, dev, requires_grad):
    t = Tensor._make(arr, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros: ``ge.zeros((2, 3))`` or ``ge.zeros(2, 3)``."""
    return _filled(0, shape, dtype, device, requires_grad, "zeros")


def ones(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones."""
    return _filled(1, shape, dtype, device, requires_grad, "ones")


def full(shape, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value``."""
    return _filled(fill_value, (shape,), dtype, device, requires_grad, "full")


def empty(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros(*shape, dtype=dtype, device=device, requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of ``t``'s shape, dtype and device."""
    return _filled(0, (tuple(t.shape),), dtype or t.dtype, device or t.device, requires_grad,
                   "zeros_like")


def ones_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(1, (tuple(t.shape),), dtype or t.dtype, device or t.device, requires_grad,
                   "ones_like")


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    dev = normalize_device(device, "eye")
    dt = resolve_dtype(dtype, "eye") if dtype is not None else DEFAULT_FLOAT
    with backend.cuda_context(dev):
        arr = backend.xp_of(dev).eye(n, m, dtype=dt)
    return _leaf(arr, dev, requires_grad)


def _random(kind, shape, dtype, device, requires_grad, op):
    dev = normalize_device(device, op)
    dt = resolve_dtype(dtype, op) if dtype is not None else DEFAULT_FLOAT
    shape = _shape_arg(shape)
    gen = backend.rng(dev)
    with backend.cuda_context(dev):
        if dev == "cpu":
            arr = gen.standard_normal(shape) if kind == "normal" else gen.random(shape)
        else:
            arr = gen.standard_normal(shape) if kind == "normal" else gen.random_sample(shape)
        arr = arr.astype(dt, copy=False)
    return _leaf(arr, dev, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples, from the generator seeded by ``ge.manual_seed``."""
    return _random("normal", shape, dtype, device, requires_grad, "randn")


def rand(*shape, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1)."""
    return _random("uniform", shape, dtype, device, requires_grad, "rand")


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``ge.arange(n)`` or ``ge.arange(start, stop, step)``; int64 for integer arguments."""
    dev = normalize_device(device, "arange")
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dt = np.dtype("int64") if ints else DEFAULT_FLOAT
    else:
        dt = resolve_dtype(dtype, "arange")
    with backend.cuda_context(dev):
        arr = backend.xp_of(dev).arange(start, stop, step).astype(dt)
    return _leaf(arr, dev, requires_grad)
