"""``ge.cuda``: is CUDA usable here, how many devices, and a synchronisation point."""

from __future__ import annotations

import functools

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


# -- PyTorch's torch.cuda spellings (memory statistics from CuPy's default pool) ----------

def memory_allocated(device=None) -> int:
    """``torch.cuda.memory_allocated``: bytes in use in CuPy's pool (0 without CUDA)."""
    return memory_used(device)


def memory_reserved(device=None) -> int:
    """``torch.cuda.memory_reserved``: bytes CuPy's pool holds (0 without CUDA)."""
    if not is_available():
        return 0
    return int(backend.cupy().get_default_memory_pool().total_bytes())


_peak = [0]


def max_memory_allocated(device=None) -> int:
    """The most bytes seen in use by this call or :func:`memory_allocated` since the last
    :func:`reset_peak_memory_stats` (CuPy keeps no peak of its own)."""
    _peak[0] = max(_peak[0], memory_used(device))
    return _peak[0]


def reset_peak_memory_stats(device=None) -> None:
    _peak[0] = memory_used(device)


def empty_cache() -> None:
    """Free the unused blocks of CuPy's memory pools (a no-op without CUDA)."""
    if is_available():
        cp = backend.cupy()
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_default_pinned_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed the generators of every GPU (``torch.cuda.manual_seed``); a no-op without
    CUDA. ``ge.manual_seed`` seeds the CPU and every GPU."""
    backend.seed_gpus(seed)


manual_seed_all = manual_seed


def current_device() -> int:
    """The index of the current CUDA device (0 without CUDA, as a script expects)."""
    if not is_available():
        return 0
    return int(backend.cupy().cuda.Device().id)


def set_device(device) -> None:
    """Make ``device`` (an index or ``"cuda:i"``) the current CUDA device."""
    if isinstance(device, int):
        device = f"cuda:{device}"
    dev = backend.normalize_device(device, "set_device")
    if dev.startswith("cuda"):
        backend.cupy().cuda.Device(int(dev[5:])).use()


def get_device_name(device=None) -> str:
    """The name of a CUDA device (RuntimeError without CUDA, as PyTorch)."""
    if not is_available():
        raise RuntimeError("get_device_name: no CUDA device is available")
    cp = backend.cupy()
    index = 0 if device is None else int(str(device).split(":")[-1]) if not isinstance(
        device, int) else device
    name = cp.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def is_bf16_supported() -> bool:
    """False: gradengine has no bfloat16 (NumPy has none)."""
    return False


def __getattr__(name):
    if name == "amp":  # torch.cuda.amp.GradScaler / autocast
        import types

        from .. import amp
        return types.SimpleNamespace(GradScaler=amp.GradScaler, autocast=functools.partial(
            amp.autocast, "cuda"))
    raise AttributeError(f"module 'gradengine.cuda' has no attribute {name!r}")
