"""``ge.cuda``: is CUDA usable here, how many devices, and a synchronisation point."""

from __future__ import annotations

from .. import backend


def is_available() -> bool:
    """True when CuPy is installed and at least one CUDA device is present."""
    return backend.cuda_available()


def device_count() -> int:
    """The number of CUDA devices (0 without CuPy or a GPU)."""
    return backend.cuda_device_count()


def synchronize(device=None) -> None:
    """Wait for all work queued on the (current) CUDA device; a no-op without CUDA."""
    if not is_available():
        return
    cp = backend.cupy()
    if device is None:
        cp.cuda.Device().synchronize()
    else:
        dev = backend.normalize_device(device, "synchronize")
        cp.cuda.Device(int(dev[5:])).synchronize()


def memory_used(device=None) -> int:
    """Bytes in use in CuPy's default memory pool (0 without CUDA)."""
    if not is_available():
        return 0
    return int(backend.cupy().get_default_memory_pool().used_bytes())
