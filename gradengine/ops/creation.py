"""Making tensors: from data (always a copy), from NumPy or DLPack (shared), filled,
random (from the generator seeded by ``ge.manual_seed``), ranges."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..backend import DEFAULT_FLOAT, normalize_device, resolve_dtype
from ..core.tensor import Tensor, _from_dlpack_array
from ..errors import DTypeError


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
    """A CPU tensor sharing memory with ``arr`` (a NumPy array of a supported dtype)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(arr).__name__}")
    if arr.dtype.name not in backend.SUPPORTED_DTYPES:
        raise DTypeError(f"from_numpy: unsupported dtype {arr.dtype.name}; supported dtypes "
                         f"are {', '.join(backend.SUPPORTED_DTYPES)}")
    return Tensor._make(arr, "cpu")


def from_dlpack(obj) -> Tensor:
    """A tensor sharing memory with a DLPack-capable object (torch, CuPy, NumPy, JAX)."""
    arr, dev = _from_dlpack_array(obj)
    return Tensor._make(arr, dev)


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
