"""Capturing a function of device arrays as a CUDA graph (CuPy stream capture), and replaying it.

    graph = cuda_graph.capture(step, device_id=0)   # step() reads and writes preallocated arrays
    for batch in batches:
        x_dev[...] = batch                          # new contents, same buffers
        graph.launch()                              # the whole step: one launch, no host sync

A graph replays the kernels that ``fn`` queued, on the same memory, with no Python in
between. So ``fn`` must not need the host while it runs: no ``.item()``, ``bool()`` or
``asnumpy`` of a device value, no CuPy cuBLAS call (``cupy.matmul``; the matmul op takes
:func:`gradengine.cuda.gemm.matmul`, our own capture-safe cuBLAS binding), cuRAND or cuSOLVER.
CuPy refuses those while capturing; :func:`capture` then raises
:class:`~gradengine.errors.CaptureError`.

:func:`active` is True through the warm-up *and* the recorded call (:func:`capture_path`), so
ops pick the same capture-safe kernels in both, and the graph replays exactly what the
warm-up ran (compiled and loaded there, outside the capture).

What ``fn`` allocates while it is captured (temporaries, results) comes from a memory pool
of the graph's own, never from CuPy's default pool: every launch writes those addresses
again, so no other array may ever be given them. Arrays allocated outside the capture that
the graph reads or writes must be kept alive by the caller for as long as the graph is
launched (the graph holds their addresses, not references).

Nothing here imports CuPy at import time; the module knows nothing of Tensors.
"""

from __future__ import annotations

import contextlib
import threading
import weakref

from .. import backend
from ..errors import CaptureError, DeviceError

__all__ = ["CaptureResources", "CapturedGraph", "active", "capture", "capture_path",
           "capturing", "pool_bytes", "workspace"]

_local = threading.local()


def active() -> bool:
    """True inside :func:`capture_path` on this thread (the warm-up and the captured call of
    :func:`capture`): a flag, so ops choose capture-safe kernels without asking the driver."""
    return getattr(_local, "resources", None) is not None


class CaptureResources:
    """What the ops of one capture keep for its replays: cuBLAS workspaces per stream."""

    __slots__ = ("workspaces",)

    def __init__(self):
        self.workspaces = {}

    def nbytes(self) -> int:
        return sum(w.nbytes for w in self.workspaces.values())


@contextlib.contextmanager
def capture_path():
    """Ops inside choose their capture-safe paths (:func:`active` is True); yields the
    :class:`CaptureResources` they allocate into. Nested uses share the outer one."""
    outer = getattr(_local, "resources", None)
    resources = outer if outer is not None else CaptureResources()
    _local.resources = resources
    try:
        yield resources
    finally:
        _local.resources = outer


def workspace(nbytes: int):
    """A device workspace of ``nbytes`` for the current stream, owned by the current
    :func:`capture_path` (allocated on first use -- the warm-up -- and reused by the recorded
    call, so nothing is allocated for it inside the capture)."""
    resources = getattr(_local, "resources", None)
    if resources is None:
        raise CaptureError("workspace: only inside capture_path() (a CUDA graph capture)")
    cp = backend.cupy()
    key = (cp.cuda.Device().id, cp.cuda.get_current_stream().ptr)
    buf = resources.workspaces.get(key)
    if buf is None or buf.nbytes < nbytes:
        buf = resources.workspaces[key] = cp.empty((nbytes,), cp.uint8)
    return buf


def capturing() -> bool:
    """True while the current CuPy stream is being captured (False without CuPy)."""
    cp = backend.cupy()
    if cp is None:
        return False
    try:
        return bool(cp.cuda.get_current_stream().is_capturing())
    except cp.cuda.runtime.CUDARuntimeError as exc:
        # Querying the legacy default stream while a blocking stream captures is itself an
        # error: a capture is under way. Any other failure (no device) means none is.
        return "StreamCaptureImplicit" in str(exc)


def pool_bytes() -> int:
    """Bytes in use in CuPy's default memory pool on the current device (0 without CuPy)."""
    cp = backend.cupy()
    return 0 if cp is None else int(cp.get_default_memory_pool().used_bytes())


_LIVE = weakref.WeakSet()  # the captured graphs alive now


def graph_bytes() -> int:
    """Bytes held by the live captured graphs: their private pools and cuBLAS workspaces."""
    total = 0
    for g in list(_LIVE):
        total += int(g.pool.used_bytes())
        if g.resources is not None:
            total += int(g.resources.nbytes())
    return total


class CapturedGraph:
    """A captured ``fn``: launch it with :meth:`launch`; ``result`` is what ``fn`` returned.

    Holds everything the graph's replays touch: the graph, its stream, its private memory
    pool (so the temporaries' addresses stay reserved), the ops' resources (cuBLAS
    workspaces) and ``result``.
    """

    __slots__ = ("__weakref__", "_done", "_ready", "device_id", "graph", "pool", "resources",
                 "result", "stream")

    def __init__(self, graph, stream, pool, result, device_id: int, ready, done,
                 resources=None):
        self.graph = graph
        self.stream = stream
        self.pool = pool
        self.result = result
        self.device_id = device_id
        self._ready = ready
        self._done = done
        self.resources = resources
        _LIVE.add(self)

    def launch(self):
        """Replay the graph after the work queued on the current stream; returns ``result``.

        The current stream then waits for the graph, so later work sees its writes; the host
        never waits.
        """
        cp = backend.cupy()
        with cp.cuda.Device(self.device_id):
            current = cp.cuda.get_current_stream()
            self._ready.record(current)
            self.stream.wait_event(self._ready)
            self.graph.launch(self.stream)
            self._done.record(self.stream)
            current.wait_event(self._done)
        return self.result

    def __repr__(self):
        return f"<CapturedGraph on cuda:{self.device_id}, pool {self.pool.used_bytes()} bytes>"


def capture(fn, device_id: int | None = None) -> CapturedGraph:
    """Capture ``fn()`` as a CUDA graph on device ``device_id`` (default: the current one).

    ``fn`` takes no arguments, reads and writes preallocated device arrays and may allocate
    temporaries. It runs twice here, both times on a fresh non-blocking stream ordered after
    the current stream's work, and with allocations from a new private memory pool: once for
    real (a warm-up that compiles kernels and fills the pool; its effects are those of one
    call), then once while capturing (queued into the graph, not executed). The current
    stream then waits for the warm-up. The allocator is restored on every path; it is set
    per thread, so other threads never allocate from the private pool.

    Args:
        fn: the function to capture; its return value (from the captured call) becomes
            ``result``. On a GPU its contents are valid only after a launch.
        device_id: the CUDA device; the arrays ``fn`` touches must live there.

    Returns:
        CapturedGraph: ``launch()`` replays the captured work.

    Raises:
        CaptureError: ``fn`` did something that cannot be captured (a cuBLAS, cuRAND or
            cuSOLVER call, a host read of a device value, a synchronisation). The stream is
            left usable and the allocator restored.
        DeviceError: CuPy is not installed.
        Exception: whatever ``fn`` raises in its warm-up call, unchanged.

    Example:
        >>> graph = capture(lambda: cupy.multiply(a, 2, out=out), device_id=0)
        >>> graph.launch()
    """
    cp = backend.cupy()
    if cp is None:
        raise DeviceError(f"capture: CUDA graphs need CuPy, which is not installed; "
                          f"{backend.INSTALL_HINT}")
    with cp.cuda.Device(device_id) as device:
        pool = cp.cuda.MemoryPool()
        stream = cp.cuda.Stream(non_blocking=True)
        ready = cp.cuda.Event(disable_timing=True)
        done = cp.cuda.Event(disable_timing=True)
        caller = cp.cuda.get_current_stream()
        ready.record(caller)
        stream.wait_event(ready)
        try:
            with cp.cuda.using_allocator(pool.malloc), stream, capture_path() as resources:
                try:
                    fn()
                finally:
                    done.record(stream)
                graph, result = _record(cp, stream, fn)
        finally:
            caller.wait_event(done)  # the warm-up's writes, even when the capture failed
        return CapturedGraph(graph, stream, pool, result, device.id, ready, done, resources)


def _record(cp, stream, fn):
    """(graph, fn's result): ``fn()`` captured on ``stream``, which is current."""
    stream.begin_capture()
    try:
        result = fn()
    except BaseException as exc:
        _abandon(cp, stream)
        if _uncapturable(cp, exc):
            raise CaptureError(_message(exc)) from exc
        raise
    try:
        graph = stream.end_capture()
    except cp.cuda.runtime.CUDARuntimeError as exc:  # the capture was invalidated
        raise CaptureError(_message(exc)) from exc
    graph.upload(stream)  # instantiate it on the device now, not in the first launch
    return graph, result


def _abandon(cp, stream) -> None:
    """End a failed capture so that the stream takes work again; the graph is dropped."""
    try:
        stream.end_capture()
    except cp.cuda.runtime.CUDARuntimeError:
        pass  # an invalidated capture reports it here, and is over all the same


def _uncapturable(cp, exc: BaseException) -> bool:
    # CuPy refuses library calls with NotImplementedError and host syncs with a RuntimeError
    # saying the stream "is capturing"; CUDA itself fails unsupported calls.
    return isinstance(exc, (NotImplementedError, cp.cuda.runtime.CUDARuntimeError)) or (
        isinstance(exc, RuntimeError) and "capturing" in str(exc))


def _message(exc: BaseException) -> str:
    return ("capture: this step cannot be captured as a CUDA graph: "
            f"{type(exc).__name__}: {exc}. While capturing, a step may not read device "
            "values on the host (item(), bool(), numpy()), synchronise, or call cuBLAS "
            "(cupy.matmul; gradengine.cuda.gemm.matmul is capture-safe), cuRAND or cuSOLVER")
