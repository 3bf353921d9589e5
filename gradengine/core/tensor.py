"""The Tensor: an array (NumPy on the CPU, CuPy on CUDA) plus what autograd needs.

A tensor's in-place writes are counted on a version counter that its views and
``detach()`` share (PyTorch's rule), so a write through any of them is caught by a backward
that saved another. The counter is made on first need: most tensors never get one.
"""

from __future__ import annotations

import weakref

import numpy as np

from .. import backend
from ..backend import DEFAULT_FLOAT, FLOAT_DTYPES, normalize_device, resolve_dtype
from ..errors import DeviceError, DTypeError, GraphError, ShapeError


class Tensor:
    """An n-dimensional array that records the ops applied to it for backpropagation.

    ``data`` is the backend array; ``grad`` a Tensor of the same shape (or None);
    ``node`` the graph node that produced it (None for leaves); ``device`` is
    ``"cpu"`` or ``"cuda:N"``.
    """

    # _vc: the version counter (shared with views; a second entry once shared), _view:
    # (base, op, params) of a view, _hv: the version at which a view's history was taken
    # (an older one: its base was written in place since, see core.op.fresh),
    # _retain: retain_grad() was called, _hooks: register_hook's functions
    # _keras_mask: a Keras layer's output mask (gradengine.keras.masking); unset otherwise
    # _keras_var: (name, path) of a Keras layer's weight (set by gradengine.nn); unset else
    __slots__ = ("data", "_rg", "_grad", "node", "device", "_vc", "_view", "_hv", "_retain",
                 "_hooks", "_keras_mask", "_keras_var", "__weakref__")
    __array_ufunc__ = None  # make NumPy defer to our reflected operators (ndarray * Tensor)
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        arr, dev = to_array(data, dtype, device, "tensor")
        self.data = arr
        self.device = dev
        self._grad = None
        self.node = None
        self._vc = None
        self._rg = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, arr, device):
        t = _new(Tensor)
        t.data = arr
        t.device = device
        t._rg = False
        t._grad = None
        t.node = None
        t._vc = None
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
        """NumPy's element count, an int; called, PyTorch's ``size()`` / ``size(dim)``."""
        return _Size(self.data.size, self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        if _STALE[0]:
            _FRESH[0](self)
        return self.node is None

    @property
    def grad_fn(self):
        """The node that produced this tensor (None for leaves), as PyTorch names it."""
        if _STALE[0]:
            _FRESH[0](self)
        return self.node

    @property
    def requires_grad(self) -> bool:
        if _STALE[0]:
            _FRESH[0](self)
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, flag: bool = True):
        """Set requires_grad in place (leaves only; floating dtypes only)."""
        flag = bool(flag)
        if flag and self.data.dtype not in FLOAT_DTYPES:
            raise DTypeError(f"requires_grad_: only floating tensors (float16/float32/float64) "
                             f"can require gradients, got {self.data.dtype.name}")
        if not flag and self.node is not None:
            raise GraphError("requires_grad_: cannot turn off requires_grad of a non-leaf "
                             f"tensor (shape {self.shape}, made by {self.node.op.name}); use "
                             "detach()")
        self._rg = flag
        return self

    # ------------------------------------------------------------ versions
    @property
    def _version(self) -> int:
        vc = self._vc
        return vc[0] if vc is not None else 0

    @_version.setter
    def _version(self, value) -> None:
        vc = self._vc
        if vc is None:
            self._vc = [value]
        else:
            vc[0] = value

    def _counter(self):
        """The version counter, made now if this tensor had none, marked shared (a view or
        ``detach()`` takes it): an in-place write into a shared one may leave views with
        an older history (see core.op.fresh)."""
        vc = self._vc
        if vc is None:
            vc = self._vc = [0, True]
        elif len(vc) == 1:
            vc.append(True)
        return vc

    def detach(self) -> Tensor:
        """The same data, cut from the graph; shares this tensor's version counter."""
        t = Tensor._make(self.data, self.device)
        t._vc = self._counter()
        return t

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (a no-op on
        leaves, which keep theirs anyway)."""
        if _STALE[0]:
            _FRESH[0](self)
        if self.node is not None:
            self._retain = True
            _RETAINED[0] = True
            if self.node.out_ref is None:
                self.node.out_ref = weakref.ref(self)
        elif not self._rg:
            raise GraphError(f"retain_grad: the tensor of shape {self.shape} does not require "
                             "grad")
        return self

    # ------------------------------------------------------------ python protocol
    def __repr__(self):
        """PyTorch's layout (see :mod:`gradengine.core.printing`)."""
        from .. import backend
        from .printing import tensor_repr
        return tensor_repr(self.numpy(), self.device, backend.DEFAULT_FLOAT,
                           self.node.name() if self.node is not None else None, self._rg)

    # -- Keras' variable spellings: a layer's weights answer name, path and trainable
    @property
    def name(self):
        """A Keras layer's weight: its name (``"kernel"``); any other tensor: None, as
        PyTorch's ``t.name``."""
        kv = getattr(self, "_keras_var", None)
        return kv[0] if kv is not None else None

    @property
    def path(self):
        """A Keras layer's weight: its path (``"sequential/dense/kernel"``); else None."""
        kv = getattr(self, "_keras_var", None)
        return kv[1] if kv is not None else None

    @property
    def trainable(self) -> bool:
        """Keras' ``variable.trainable``: whether training updates it (requires grad)."""
        return bool(self._rg) and self.node is None

    def __format__(self, spec):
        """PyTorch's rule: a 0-d tensor formats as its Python scalar (``f"{t:.2f}"``);
        any other tensor as ``object`` does (``f"{t}"`` is ``str(t)``, a spec is refused)."""
        if self.data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __dlpack__(self, *args, **kwargs):
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    __hash__ = object.__hash__


class Size(tuple):
    """``torch.Size``: a tuple of dimensions (``x.shape`` is a plain tuple and compares
    equal to it). -- ptsuite: here, not in gradengine/__init__.py, so that ``t.size()``
    returns one, as PyTorch's does (``x.new(y.size())`` then reads a shape, not data)."""

    def numel(self):
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self):
        return f"Size({list(self)!r})"


class _Size(int):
    """The element count (an int, as NumPy's ``size``) that, called, answers as PyTorch's
    ``t.size()`` (the shape tuple) and ``t.size(dim)`` (one dimension)."""

    # (an int subclass cannot have __slots__; the shape lives in the instance dict)

    def __new__(cls, n, shape):
        self = int.__new__(cls, n)
        self._shape = shape
        return self

    def __call__(self, dim=None):
        shape = self._shape
        if dim is None:
            return Size(shape)
        nd = len(shape)
        if not -max(nd, 1) <= dim < max(nd, 1):
            raise IndexError(f"size: dimension {dim} out of range for a tensor of "
                             f"{nd} dimensions")
        return shape[dim] if nd else 1


_new = object.__new__
_RETAINED = [False]  # whether any tensor ever asked for retain_grad (backward skips the search)
_HOOKED = [False]  # whether any tensor ever had register_hook (commit skips the look-up)
# whether a recorded in-place write ever went into a tensor whose counter is shared: only
# then can a view hold an older history than its base's (the dispatch checks its arguments)
_STALE = [False]
_FRESH = [lambda t: None]  # core.op.fresh, installed by core.op (which imports this module)


class _IntOverflow(DTypeError, ValueError):
    """A Python int beyond int64: gradengine's DTypeError, and PyTorch's ValueError."""


def _holds_numpy(data, kinds=None, depth=0):
    """Whether nested lists / tuples hold a NumPy scalar or array (of ``kinds``'s dtypes)."""
    if isinstance(data, (np.generic, np.ndarray)):
        return kinds is None or data.dtype in kinds
    if depth < 32 and isinstance(data, (list, tuple)):
        return any(_holds_numpy(d, kinds, depth + 1) for d in data)
    return False


def _holds_numpy_float64(data):
    return _holds_numpy(data, (np.dtype(np.float64),))


def to_array(data, dtype, device, op):
    """(array, device) from any array-like, with gradengine's dtype rules (always a copy)."""
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
                    arr, src = _from_dlpack_array(data)
                except Exception:  # noqa: BLE001 - fall back to a plain conversion
                    arr = np.asarray(data)
            else:
                try:
                    arr = np.asarray(data)
                except ValueError as e:  # ragged nesting
                    raise ShapeError(f"{op}: cannot make a tensor from ragged "
                                     f"{type(data).__name__} data (the nested sequences differ "
                                     f"in length): {e}") from None
                except OverflowError as e:  # a Python int beyond int64
                    raise DTypeError(f"{op}: a value does not fit any supported dtype: "
                                     f"{e}") from None
                # Python floats become the default float dtype (float32), as in PyTorch
                # (NumPy float64 scalars or arrays, also inside a list, keep float64, as
                # torch.tensor keeps it).
                if dt is None and arr.dtype == np.float64 and not isinstance(data, np.generic) \
                        and not _holds_numpy_float64(data):
                    dt = DEFAULT_FLOAT
                if arr.dtype == np.uint64 and dt is None and not isinstance(data, np.generic) \
                        and not _holds_numpy(data):  # a Python int beyond int64 (torch refuses)
                    raise _IntOverflow(f"{op}: a value does not fit int64 (Overflow when "
                                       "unpacking long long)")
    dev = normalize_device(device, op) if device is not None else (src or
                                                                    backend.get_default_device())
    if arr.dtype.name not in backend.SUPPORTED_DTYPES and dt is None:
        raise DTypeError(f"{op}: unsupported dtype {arr.dtype.name}; supported dtypes are "
                         f"{', '.join(backend.SUPPORTED_DTYPES)}")
    src = src or "cpu"
    if src != dev:
        arr = backend.to_device_array(arr, dev)
    if dt is not None and arr.dtype != dt:
        with np.errstate(over="ignore", invalid="ignore"):  # 1e300 -> inf quietly, as torch
            arr = arr.astype(dt)
    if arr is data or (isinstance(data, Tensor) and arr is data.data) or (
            not isinstance(data, (list, tuple, int, float, bool)) and _shares(arr, data)):
        arr = arr.copy()  # tensor() copies, like torch.tensor; from_numpy shares
    return arr, dev


def _shares(arr, data):
    base = getattr(arr, "base", None)
    return base is not None and not isinstance(data, np.generic)


def _from_dlpack_array(obj):
    kind = obj.__dlpack_device__()[0] if hasattr(obj, "__dlpack_device__") else 1
    if int(kind) == 1:  # kDLCPU
        return np.from_dlpack(obj), "cpu"
    cp = backend.cupy()
    if cp is None:
        raise DeviceError(f"from_dlpack: the object lives on a CUDA device; "
                          f"{backend.INSTALL_HINT}")
    arr = cp.from_dlpack(obj)
    return arr, backend.device_of_array(arr)
