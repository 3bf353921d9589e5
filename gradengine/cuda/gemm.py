"""The one matmul entry point of the CUDA path: which GEMM runs, eagerly and in a CUDA graph.

``matmul(xp, a, b)`` is what the matmul op calls for CuPy operands. Outside a capture
(:func:`graph.active` False) it is ``cupy.matmul`` (cuBLAS through CuPy). Inside one -- the
warm-up, the recorded call, and so every replay, since :func:`graph.capture` sets the flag
around both -- 2-D products take, in order of preference:

1. ``cublas``: cuBLAS on our own handle, bound to the capturing stream with a workspace owned
   by the capture (:mod:`gradengine.cuda.cublas`): cuBLAS's speed, capture-safe;
2. ``kernel``: ``kernels/matmul.cu`` when libcublas cannot be loaded (and the kernels are on);
3. ``chunked``: with the kernels off, broadcast products summed over chunks of K, so no
   temporary exceeds max(CHUNK_ELEMENTS, M * N) elements (never the M x K x N of the naive
   form: 16 GiB at 4096 x 1024 x 1024).

Products CuPy computes without cuBLAS -- vector . vector and empty operands -- and batched
ones keep ``cupy.matmul`` (the latter then fail the capture with a CaptureError, as before).
"""

from __future__ import annotations

import os

from . import cublas, graph, kernels

__all__ = ["CHUNK_ELEMENTS", "matmul", "path"]

CHUNK_ELEMENTS = 1 << 24  # 64 MiB of float32 per temporary in the chunked fallback


def path(a, b) -> str:
    """The GEMM ``matmul`` uses for these operands now: "cupy", "cublas", "kernel" or
    "chunked". ``GRADENGINE_CAPTURE_GEMM`` = kernel | chunked forces a fallback (benchmarks
    and tests)."""
    if not graph.active() or a.ndim != 2 or b.ndim != 2 or a.size == 0 or b.size == 0:
        return "cupy"
    (M, K), N = a.shape, b.shape[1]
    forced = os.environ.get("GRADENGINE_CAPTURE_GEMM", "").strip()
    if forced in ("kernel", "chunked"):
        return "kernel" if forced == "kernel" and kernels.enabled() else "chunked"
    if cublas.fits(M, N, K, a.dtype) and a.dtype == b.dtype and cublas.available():
        return "cublas"
    if kernels.enabled() and a.dtype == b.dtype and a.dtype.kind == "f":
        return "kernel"
    return "chunked"


def matmul(xp, a, b):
    """a @ b for CuPy arrays on the path :func:`path` picks; capture-safe inside a capture."""
    how = path(a, b)
    if how == "cupy":
        return xp.matmul(a, b)
    if how == "cublas":
        (M, _), N = a.shape, b.shape[1]
        with a.device:
            out = xp.empty((M, N), a.dtype)
            return cublas.gemm(a, b, out, graph.workspace(cublas.WORKSPACE_BYTES))
    if how == "kernel":
        return kernels.matmul(a, b)
    return chunked_matmul(xp, a, b)


def chunked_matmul(xp, a, b, chunk_elements: int | None = None):
    """a @ b from elementwise products and sums only (no library call): capture-safe, for
    any dtype, with temporaries of at most max(chunk_elements, M * N) elements."""
    budget = CHUNK_ELEMENTS if chunk_elements is None else chunk_elements
    (M, K), N = a.shape, b.shape[1]
    dtype = xp.result_type(a.dtype, b.dtype)
    out = xp.zeros((M, N), dtype)
    step = max(1, budget // max(1, M * N))
    for k0 in range(0, K, step):
        k1 = min(K, k0 + step)
        out += (a[:, k0:k1, None] * b[None, k0:k1, :]).sum(axis=1)
    return out
