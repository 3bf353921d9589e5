"""A capture-safe cuBLAS GEMM: our own handle, bound to the capturing stream, with our workspace.

cuBLAS itself can be captured into a CUDA graph (cuBLAS docs, "CUDA Graphs Support"); CuPy
refuses it only in its own wrappers (``cupy_backends.cuda.libs.cublas.setStream`` raises
NotImplementedError while the stream captures, and every CuPy GEMM wrapper calls it). So this
module calls libcublas directly (ctypes): one handle per device; before each GEMM the handle
is bound to the current stream (``cublasSetStream``) and, because that call resets the
workspace to cuBLAS's own pool, to a workspace of ours (``cublasSetWorkspace``), allocated
outside the capture (in the warm-up) and kept alive as long as the graph that uses it.

Row-major C = A @ B is computed as the column-major C^T = B^T A^T: cuBLAS's first operand is
B, its second A, m = N, n = M, and each operand is passed as stored -- a row-major (C-order)
matrix read column-major is its own transpose (op N, ld = its row stride), a column-major
(transposed) one needs op T (ld = its column stride); anything else is copied first.

The library is an object with four calls (:class:`Library`); tests substitute a NumPy model
with cuBLAS's column-major semantics (tests/fake_cupy.py) to check the argument order,
transposes and leading dimensions.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from .. import backend
from ..errors import CaptureError, DeviceError

__all__ = [
    "OP_N",
    "OP_T",
    "WORKSPACE_BYTES",
    "CublasError",
    "Library",
    "available",
    "gemm",
    "library",
    "operand",
]

OP_N, OP_T = 0, 1  # cublasOperation_t
# cudaDataType_t and cublasComputeType_t: float16 is multiplied in float32, like cupy.matmul.
_TYPES = {np.dtype(np.float16): (2, 68, ctypes.c_float),
          np.dtype(np.float32): (0, 68, ctypes.c_float),
          np.dtype(np.float64): (1, 70, ctypes.c_double)}
_GEMM_DEFAULT = -1
_INT_MAX = 2**31 - 1
# cuBLAS recommends 32 MiB on Hopper (4 MiB before); one per captured stream.
WORKSPACE_BYTES = 32 << 20
_SONAMES = ("libcublas.so.13", "libcublas.so.12", "libcublas.so", "cublas64_13.dll",
            "cublas64_12.dll")


class CublasError(DeviceError):
    """A cuBLAS call returned an error status, or libcublas could not be loaded."""


class Library:
    """libcublas through ctypes: create, set_stream, set_workspace, gemm."""

    def __init__(self, cdll):
        self._c = cdll
        self._c.cublasGemmEx.restype = ctypes.c_int
        self.handles = {}  # device id -> handle

    def create(self) -> int:
        handle = ctypes.c_void_p()
        _check(self._c.cublasCreate_v2(ctypes.byref(handle)), "cublasCreate")
        return handle.value

    def set_stream(self, handle: int, stream_ptr: int) -> None:
        _check(self._c.cublasSetStream_v2(ctypes.c_void_p(handle), ctypes.c_void_p(stream_ptr)),
               "cublasSetStream")

    def set_workspace(self, handle: int, workspace) -> None:
        _check(self._c.cublasSetWorkspace_v2(ctypes.c_void_p(handle),
                                             ctypes.c_void_p(_address(workspace)),
                                             ctypes.c_size_t(workspace.nbytes)),
               "cublasSetWorkspace")

    def gemm(self, handle, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        """cublasGemmEx on device arrays a, b, c (their first elements), column-major."""
        dtype, compute, scalar = _TYPES[np.dtype(c.dtype)]
        one, zero = scalar(alpha), scalar(beta)
        _check(self._c.cublasGemmEx(
            ctypes.c_void_p(handle), ctypes.c_int(transa), ctypes.c_int(transb),
            ctypes.c_int(m), ctypes.c_int(n), ctypes.c_int(k), ctypes.byref(one),
            ctypes.c_void_p(_address(a)), ctypes.c_int(dtype), ctypes.c_int(lda),
            ctypes.c_void_p(_address(b)), ctypes.c_int(dtype), ctypes.c_int(ldb),
            ctypes.byref(zero), ctypes.c_void_p(_address(c)), ctypes.c_int(dtype),
            ctypes.c_int(ldc), ctypes.c_int(compute), ctypes.c_int(_GEMM_DEFAULT)),
            "cublasGemmEx")


def _check(status: int, what: str) -> None:
    if status != 0:
        raise CublasError(f"{what} failed with cuBLAS status {status}")


def _address(a) -> int:
    from .kernels import address
    return address(a)


_lock = threading.Lock()
_state: dict = {}  # "lib": the Library, or the error that loading it raised


def _load():
    """libcublas: the one CuPy loaded (cuda.pathfinder finds the same file), else by name."""
    path = None
    try:
        from cuda.pathfinder import load_nvidia_dynamic_lib
        path = load_nvidia_dynamic_lib("cublas").abs_path
    except Exception:  # noqa: BLE001 - no pathfinder, or it found nothing
        pass
    errors = []
    for name in ((path,) if path else ()) + _SONAMES:
        try:
            return Library(ctypes.CDLL(name))
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    raise CublasError("cannot load libcublas (" + "; ".join(errors[-2:]) + "); install CuPy "
                      "with its CUDA toolkit extra: pip install 'gradengine[cuda12]' or "
                      "'gradengine[cuda13]'")


def library():
    """The cuBLAS library object (loaded once); raises CublasError when there is none.

    A CuPy stand-in may bring its own model (``cupy._gradengine_cublas``, see
    tests/fake_cupy.py), which is then used instead.
    """
    cp = backend.cupy()
    if hasattr(cp, "_gradengine_cublas"):  # a stand-in: its model, or none at all
        model = cp._gradengine_cublas
        if model is None:
            raise CublasError("this CuPy stand-in has no cuBLAS model")
        return model
    with _lock:
        lib = _state.get("lib")
        if lib is None:
            try:
                lib = _load()
            except CublasError as exc:
                lib = exc
            _state["lib"] = lib
    if isinstance(lib, Exception):
        raise lib
    return lib


def available() -> bool:
    """True when libcublas can be called here (CuPy present and the library loads)."""
    if backend.cupy() is None:
        return False
    try:
        library()
    except CublasError:
        return False
    return True


def _handle(lib, device_id: int) -> int:
    """The library's handle for ``device_id`` (created once, in the warm-up: cublasCreate
    allocates, so it must not first run inside a capture)."""
    with _lock:
        handle = lib.handles.get(device_id)
        if handle is None:
            from .graph import capturing
            if capturing():
                raise CaptureError("cuBLAS GEMM: the handle is created in the warm-up, never "
                                   "inside a capture (cublasCreate allocates); run the step "
                                   "once before capturing it (gradengine.cuda.graph.capture "
                                   "does)")
            handle = lib.handles[device_id] = lib.create()
    return handle


def operand(x):
    """(array, op, ld): how cuBLAS reads 2-D ``x`` as the column-major matrix x^T.

    A row-major x is x^T column-major (op N, ld = row stride); a column-major x needs op T
    (ld = column stride); any other layout (strided, reversed, stride 0) is copied to C order.
    Size-1 dimensions have no meaningful stride, so their ld is the smallest legal one.
    """
    r, c = x.shape
    s0, s1 = (s // x.itemsize for s in x.strides)
    if (s1 == 1 or c == 1) and (r == 1 or s0 >= max(1, c)):
        return x, OP_N, s0 if r > 1 else max(c, 1)
    if (s0 == 1 or r == 1) and (c == 1 or s1 >= max(1, r)):
        return x, OP_T, s1 if c > 1 else max(r, 1)
    cp = backend.cupy()
    return cp.ascontiguousarray(x), OP_N, max(c, 1)


def fits(M: int, N: int, K: int, dtype) -> bool:
    """True when cuBLAS (32-bit sizes) takes this product in this dtype."""
    return np.dtype(dtype) in _TYPES and max(M, N, K) <= _INT_MAX // 2


def gemm(a, b, out, workspace):
    """out = a @ b with cuBLAS on the current stream, using ``workspace``; capture-safe.

    a (M, K), b (K, N) any 2-D layout; out a C-contiguous (M, N) array of their dtype that does
    not overlap them; ``workspace`` a device array of at least 4 MiB that nothing else uses
    while this stream runs. M, N >= 1; K == 0 gives zeros.
    """
    cp = backend.cupy()
    (M, K), N = a.shape, b.shape[1]
    if K == 0:
        out.fill(0)
        return out
    lib = library()
    handle = _handle(lib, a.device.id)
    # cublasSetStream resets the workspace to cuBLAS's pool: set ours after it, every time
    # (both are host calls on the handle; neither is captured).
    lib.set_stream(handle, cp.cuda.get_current_stream().ptr)
    lib.set_workspace(handle, workspace)
    b_, op_b, ld_b = operand(b)
    a_, op_a, ld_a = operand(a)
    lib.gemm(handle, op_b, op_a, N, M, K, 1.0, b_, ld_b, a_, ld_a, 0.0, out, N)
    return out
