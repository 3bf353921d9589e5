"""The fused CUDA kernels: one loader for ``kernels/*.cu`` and the launchers the ops call.

Kernels are data: the ``.cu`` sources are read here, compiled by CuPy (NVRTC) on first use,
memoized per (file, symbol, dtype, device), and kept on disk by CuPy's kernel cache. Each
kernel has a NumPy twin in :mod:`gradengine.ops.fused`. Nothing here imports CuPy at import
time; ``enabled()`` says whether the kernels may be used.
"""

from __future__ import annotations

import functools
import math
import os
import re
import threading
from pathlib import Path

import numpy as np

from .. import backend
from ..errors import DeviceError, DTypeError, ShapeError

__all__ = [
    "KernelCompileError", "bias_act_bwd", "bias_act_fwd", "enabled", "get_function", "matmul",
    "sigmoid_bwd", "sigmoid_fwd", "source_dir",
]

BLOCK = 256  # threads per block; kernels/common.cuh sizes shared memory for it (GE_BLOCK)
MAX_BLOCKS = 4096  # grid-stride loops cover the rest; more blocks only add scheduling
TARGET_BLOCKS = 512  # bias_act_bwd: about four blocks per SM of the largest current GPUs
ROWS_PER_THREAD = 8  # bias_act_bwd: at least this many rows per thread before adding chunks
MAX_GRID_Y = 65535  # CUDA's limit on gridDim.y
MATMUL_TILE = 64  # rows and columns of C per block (GE_MM_TILE in kernels/matmul.cu)
# --fmad=false: no multiply-add contraction, so + - * / round exactly like NumPy's twins.
# CuPy appends -ftz=true (float32 denormals flush to zero; see docs/kernels.md), the -arch of
# the device, --device-as-default-execution-space and its include folders: nvrtc_options().
COMPILE_OPTIONS = ("-std=c++17", "--fmad=false")
CUPY_NVRTC_OPTIONS = ("-ftz=true", "--device-as-default-execution-space")
# What to install when CuPy cannot compile at all (no NVRTC, no CUDA headers: CuPy 14 needs
# both for every RawModule).
COMPILE_HINT = ("install CuPy 14 with its CUDA toolkit extra, which brings NVRTC and the CUDA "
                "headers: pip install 'gradengine[cuda12]' or 'gradengine[cuda13]' (that is "
                "'cupy-cuda12x[ctk]>=14' / 'cupy-cuda13x[ctk]>=14'), or set CUDA_PATH to a "
                "CUDA toolkit; GRADENGINE_KERNELS=0 runs the NumPy-twin path instead")

_TYPES = ("float", "double", "ge_half")
# Every kernel a .cu file defines, as the name expressions NVRTC instantiates: one module per
# file and device holds them all (compiled once, then in CuPy's disk cache).
NAME_EXPRESSIONS = {
    "sigmoid.cu": tuple(f"sigmoid_{d}<{t}>" for d in ("fwd", "bwd") for t in _TYPES),
    "linear_act.cu": tuple(f"bias_act_{d}<{t}, act_{a}>" for d in ("fwd", "bwd")
                           for a in ("none", "sigmoid", "relu", "tanh") for t in _TYPES),
    "matmul.cu": tuple(f"matmul_fwd<{t}>" for t in _TYPES),
}

_CTYPES = {np.dtype(np.float16): "ge_half", np.dtype(np.float32): "float",
           np.dtype(np.float64): "double"}
_ACTS = {None: "act_none", "sigmoid": "act_sigmoid", "relu": "act_relu", "tanh": "act_tanh"}
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"[ \t]*$', re.MULTILINE)
# A null pointer passed by value: 8 zero bytes (older CuPy mishandles None as an argument).
_NULL = np.uint64(0)
_PKG_DIR = Path(__file__).resolve().parent.parent


class KernelCompileError(DeviceError):
    """A kernel could not be compiled: NVRTC rejected the source (the message carries the
    kernel, the file and the log), or CuPy cannot compile at all here (no NVRTC or no CUDA
    headers; the message says what to install)."""


def nvrtc_options(arch: str, include_dirs=()) -> tuple:
    """The NVRTC options CuPy 14's RawModule ends up passing for ``arch`` (``sm_90``):
    ours, the include folders, then CuPy's own (cupy/_core/core.pyx and cupy/cuda/compiler.py).
    CI compiles with exactly these (tests/test_kernels_cpu.py, .ci/run)."""
    return (COMPILE_OPTIONS + tuple(f"-I{d}" for d in include_dirs) + CUPY_NVRTC_OPTIONS +
            (f"-arch={arch}",))


def enabled() -> bool:
    """True iff CuPy is importable and ``GRADENGINE_KERNELS`` is not ``"0"``."""
    return os.environ.get("GRADENGINE_KERNELS", "1").strip() != "0" and (
        backend.cupy() is not None)


@functools.cache
def source_dir() -> Path:
    """The folder holding the ``.cu`` files: in the wheel, else in the source checkout."""
    for folder in (_PKG_DIR / "kernels_src", _PKG_DIR.parent / "kernels"):
        if (folder / "common.cuh").is_file():
            return folder
    raise FileNotFoundError(
        f"kernels: CUDA sources not found in {_PKG_DIR / 'kernels_src'} (wheel) or "
        f"{_PKG_DIR.parent / 'kernels'} (source checkout); reinstall gradengine")


@functools.cache
def kernel_source(file: str) -> str:
    """The text of ``file`` with its local ``#include "..."`` lines pasted in.

    Pasting (rather than ``-I``) puts the headers into the text that CuPy hashes for its disk
    cache, so editing ``common.cuh`` can never load a stale binary.
    """
    return _expand(source_dir(), file, set())


def _expand(folder: Path, file: str, seen: set) -> str:
    if file in seen:  # every header is #pragma once
        return ""
    seen.add(file)
    text = (folder / file).read_text(encoding="utf-8")

    def paste(match: re.Match) -> str:
        line = text.count("\n", 0, match.start()) + 1
        body = _expand(folder, match.group(1), seen)
        return f'#line 1 "{match.group(1)}"\n{body}\n#line {line + 1} "{file}"'

    return _INCLUDE.sub(paste, text)


_functions: dict = {}
_modules: dict = {}
_compile_lock = threading.Lock()


def get_function(file: str, symbol_template: str, dtype, device_id: int):
    """The compiled kernel ``symbol_template`` (``{T}`` = the C type of ``dtype``) from ``file``.

    Memoized per (file, symbol, dtype, device); one ``cupy.RawModule`` per (file, device)
    holds every kernel of the file (:data:`NAME_EXPRESSIONS`).

    Raises:
        KernelCompileError: the source did not compile (with NVRTC's log), or CuPy cannot
            compile here (the message says what to install).
    """
    key = (file, symbol_template, np.dtype(dtype), device_id)
    fn = _functions.get(key)
    if fn is not None:
        return fn
    cp = _require_cupy(symbol_template)
    expr = symbol_template.format(T=_ctype(dtype, symbol_template))
    with _compile_lock:
        fn = _functions.get(key)
        if fn is None:
            with cp.cuda.Device(device_id):
                fn = _compile(cp, file, expr, device_id)
            _functions[key] = fn
    return fn


def _compile(cp, file: str, expr: str, device_id: int):
    exprs = NAME_EXPRESSIONS.get(file, (expr,))
    if expr not in exprs:
        exprs = exprs + (expr,)
    compile_error = getattr(getattr(cp.cuda, "compiler", None), "CompileException", ())
    try:
        module = _modules.get((file, device_id))
        if module is None:
            module = cp.RawModule(code=kernel_source(file), options=COMPILE_OPTIONS,
                                  name_expressions=list(exprs))
            _modules[(file, device_id)] = module
        return module.get_function(expr)  # compiles here (or loads CuPy's cached binary)
    except compile_error as exc:
        _modules.pop((file, device_id), None)
        log = exc.get_message() if hasattr(exc, "get_message") else str(exc)
        raise KernelCompileError(
            f"{expr}: NVRTC could not compile {source_dir() / file} "
            f"(options {' '.join(COMPILE_OPTIONS)}); set CUPY_DUMP_CUDA_SOURCE_ON_ERROR=1 "
            f"to print the source. NVRTC log:\n{log}") from exc
    except (RuntimeError, OSError, ImportError) as exc:
        # CuPy 14 raises RuntimeError('Failed to find CUDA headers...') without the headers,
        # and OSError / ImportError / RuntimeError without a loadable NVRTC.
        _modules.pop((file, device_id), None)
        raise KernelCompileError(
            f"{expr}: CuPy cannot compile the CUDA kernels of {file} here "
            f"({type(exc).__name__}: {exc}); {COMPILE_HINT}") from exc


def _require_cupy(op: str):
    cp = backend.cupy()
    if cp is None:
        raise DeviceError(f"{op}: the CUDA kernels need CuPy, which is not installed; "
                          f"{backend.INSTALL_HINT}")
    return cp


def _ctype(dtype, op: str) -> str:
    ctype = _CTYPES.get(np.dtype(dtype))
    if ctype is None:
        raise DTypeError(f"{op}: unsupported dtype {np.dtype(dtype).name!r}; the CUDA kernels "
                         "take float16, float32 or float64")
    return ctype


# ---------------------------------------------------------------- launch shapes

def pack_width(dtype) -> int:
    """Elements per 128-bit load for ``dtype`` (4 for float32)."""
    return 16 // np.dtype(dtype).itemsize


def grid_1d(items: int) -> int:
    """Blocks for a grid-stride loop over ``items`` work items (never 0)."""
    return max(1, min(-(-items // BLOCK), MAX_BLOCKS))


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


def fwd_launch(M: int, N: int, dtype):
    """(grid, block) for bias_act_fwd: threads along x over a row's 128-bit packs, along y
    over rows, so each thread finds its column from the loop, not from a division."""
    packs = max(1, -(-N // pack_width(dtype)))
    bx = min(BLOCK, _pow2_at_least(packs))
    by = BLOCK // bx
    gx = min(-(-packs // bx), MAX_BLOCKS)
    gy = max(1, min(-(-M // by), MAX_GRID_Y, max(1, MAX_BLOCKS // gx)))
    return (gx, gy), (bx, by)


def bwd_launch(M: int, N: int, cols_per_thread: int = 1):
    """(grid, block, rows_per_chunk, chunks) for bias_act_bwd; a function of its arguments only.

    Threads along x cover column groups of ``cols_per_thread`` columns (up to 32 groups, fewer
    for narrow N so no lanes idle), the rest of the block strides over rows, at least
    ROWS_PER_THREAD rows each. Depending on nothing but the shape keeps the order of the bias
    reduction, and so its bits, the same on every run and every GPU.
    """
    groups = -(-N // cols_per_thread)
    bx = min(32, _pow2_at_least(groups))
    by = BLOCK // bx
    grid_x = max(1, -(-groups // bx))
    wanted = max(1, TARGET_BLOCKS // grid_x)
    rows = max(by * ROWS_PER_THREAD, -(-M // wanted), -(-M // MAX_GRID_Y))
    rows = -(-rows // by) * by  # whole strides of threadIdx.y per chunk
    chunks = max(1, -(-M // rows))
    return (grid_x, chunks), (bx, by), rows, chunks


def address(a) -> int:
    """The device address of array ``a`` (CuPy: ``a.data.ptr``; NumPy-backed test arrays:
    their host address)."""
    ptr = getattr(getattr(a, "data", None), "ptr", None)
    return int(ptr) if ptr is not None else int(a.__array_interface__["data"][0])


def _empty_in_phase(cp, shape, ref):
    """An empty C-contiguous array of ``shape`` and ref's dtype at the same offset from a
    16-byte boundary as ``ref``, so a misaligned view (x[1:]) and its result peel together and
    keep the 128-bit path (a view into an allocation a pack longer)."""
    offset = (address(ref) % 16) // ref.itemsize if ref.size else 0
    if offset == 0:
        return cp.empty(shape, ref.dtype)
    size = math.prod(shape)
    return cp.empty((size + offset,), ref.dtype)[offset:].reshape(shape)


# ---------------------------------------------------------------- launchers

def sigmoid_fwd(x):
    """y = sigmoid(x) on a CuPy array (any strides, 0-d included); a new C-contiguous array
    of x's shape."""
    cp = _require_cupy("sigmoid_fwd")
    _ctype(x.dtype, "sigmoid_fwd")
    shape = x.shape  # ascontiguousarray makes a 0-d array (1,)
    x = cp.ascontiguousarray(x)  # also materialises transposed, [::-1] and stride-0 views
    y = _empty_in_phase(cp, shape, x)
    if x.size == 0:
        return y
    with x.device:
        fn = get_function("sigmoid.cu", "sigmoid_fwd<{T}>", x.dtype, x.device.id)
        fn((grid_1d(-(-x.size // pack_width(x.dtype))),), (BLOCK,),
           (x, y, np.int64(x.size)))
    return y


def sigmoid_bwd(y, g):
    """dx = g * y * (1 - y) on CuPy arrays (broadcast together, 0-d included); a new array of
    the broadcast shape."""
    cp = _require_cupy("sigmoid_bwd")
    _same_dtype("sigmoid_bwd", y, g)
    y, g = cp.broadcast_arrays(y, g)
    shape = y.shape
    y, g = cp.ascontiguousarray(y), cp.ascontiguousarray(g)
    dx = _empty_in_phase(cp, shape, y)
    if y.size == 0:
        return dx
    with y.device:
        fn = get_function("sigmoid.cu", "sigmoid_bwd<{T}>", y.dtype, y.device.id)
        fn((grid_1d(-(-y.size // pack_width(y.dtype))),), (BLOCK,),
           (y, g, dx, np.int64(y.size)))
    return dx


def bias_act_fwd(z, b, act, out=None):
    """out = act(z + b) for z of shape (..., N) and b of shape (N,) or None.

    ``out`` (optional) must be a C-contiguous array of z's shape and dtype; it may be ``z``
    itself (in place). ``act`` is None, "sigmoid", "relu" or "tanh".
    """
    cp = _require_cupy("linear")
    act_name = _act("linear", act)
    _ctype(z.dtype, "linear")
    if z.ndim == 0:
        raise ShapeError(f"linear: z must have at least one dimension, got shape {z.shape!r}")
    N = z.shape[-1]
    if b is not None:
        _same_dtype("linear", z, b)
        if b.shape != (N,):
            raise ShapeError(f"linear: bias shape {b.shape!r} does not fit z of shape "
                             f"{z.shape!r}; expected {(N,)!r}")
        b = cp.ascontiguousarray(b)
    if out is None:
        z = cp.ascontiguousarray(z)
        out = _empty_in_phase(cp, z.shape, z)
    else:
        if out.shape != z.shape or out.dtype != z.dtype or not out.flags.c_contiguous:
            raise ShapeError(f"linear: out must be C-contiguous with shape {z.shape!r} and "
                             f"dtype {z.dtype.name}; got {out.shape!r} {out.dtype.name}")
        z = cp.ascontiguousarray(z)  # the same array when out is z (in place)
    if z.size == 0:
        return out
    M = z.size // N
    grid, block = fwd_launch(M, N, z.dtype)
    with z.device:
        fn = get_function("linear_act.cu", f"bias_act_fwd<{{T}}, {act_name}>", z.dtype,
                          z.device.id)
        fn(grid, block, (z, _NULL if b is None else b, out, np.int64(M), np.int64(N)))
    return out


def bias_act_bwd(g, out, act, need_bias=True):
    """(dz, db): dz = g * act'(out), db = column sum of dz (None unless ``need_bias``).

    g and out have shape (..., N); ``out`` is the saved forward output (ignored, and may be
    None, when ``act`` is None). One launch reads g once, writes dz and per-chunk column sums,
    and its last block per column group adds the chunks in a fixed order into db: the same
    bits on every run.
    """
    cp = _require_cupy("linear")
    act_name = _act("linear", act)
    _ctype(g.dtype, "linear")
    if g.ndim == 0:
        raise ShapeError(f"linear: g must have at least one dimension, got shape {g.shape!r}")
    g = cp.ascontiguousarray(g)
    if act is None:
        out = g  # act_none never reads it; any valid pointer will do
    else:
        _same_dtype("linear", g, out)
        if out.shape != g.shape:
            raise ShapeError(f"linear: out shape {out.shape!r} does not match g shape "
                             f"{g.shape!r}")
        out = cp.ascontiguousarray(out)
    N = g.shape[-1]
    M = g.size // N if N else 0
    dz = cp.empty(g.shape, g.dtype)
    if g.size == 0:
        return dz, (cp.zeros((N,), g.dtype) if need_bias else None)
    W = pack_width(g.dtype)
    vec = N % W == 0 and all(address(a) % 16 == 0 for a in (g, out, dz))
    grid, block, rows, chunks = bwd_launch(M, N, W if vec else 1)
    with g.device:
        fn = get_function("linear_act.cu", f"bias_act_bwd<{{T}}, {act_name}>", g.dtype,
                          g.device.id)
        if not need_bias:
            fn(grid, block, (g, out, dz, _NULL, _NULL, _NULL, np.int64(M), np.int64(N),
                             np.int64(rows), np.int32(vec)))
            return dz, None
        acc = np.float32 if g.dtype == np.float16 else g.dtype
        partial = cp.empty((chunks, N), acc)
        ticket = cp.zeros((grid[0],), np.uint32)
        db = cp.empty((N,), g.dtype)
        fn(grid, block, (g, out, dz, partial, ticket, db, np.int64(M), np.int64(N),
                         np.int64(rows), np.int32(vec)))
    return dz, db


def matmul(a, b, out=None):
    """out = a @ b for 2-D CuPy arrays of any strides; capture-safe (no cuBLAS).

    Transposed, sliced, reversed and broadcast views are read in place, without copies.
    ``out`` (optional) must be a C-contiguous (M, N) array of the operands' dtype on their
    device, not overlapping a or b; it is returned. The product is accumulated in float32
    for float16 and in the operands' dtype otherwise; K == 0 gives zeros.

    Raises:
        ShapeError, DTypeError, DeviceError: operands or ``out`` that do not fit.
    """
    cp = _require_cupy("matmul")
    _same_dtype("matmul", a, b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ShapeError(f"matmul: the kernel takes 2-D operands (M, K) @ (K, N); got "
                         f"{a.shape!r} @ {b.shape!r}")
    dev = a.device.id
    if b.device.id != dev:
        raise DeviceError(f"matmul: operands on different devices: {a.shape!r} on cuda:{dev}, "
                          f"{b.shape!r} on cuda:{b.device.id}")
    (M, K), N = a.shape, b.shape[1]
    if out is None:
        with a.device:
            out = cp.empty((M, N), a.dtype)
    else:
        if out.dtype != a.dtype:
            raise DTypeError(f"matmul: out has dtype {out.dtype.name}, the operands "
                             f"{a.dtype.name}")
        if out.shape != (M, N) or not out.flags.c_contiguous:
            raise ShapeError(f"matmul: out must be C-contiguous with shape {(M, N)!r} for "
                             f"{a.shape!r} @ {b.shape!r}; got shape {out.shape!r}")
        if out.device.id != dev:
            raise DeviceError(f"matmul: out is on cuda:{out.device.id}, the operands on "
                              f"cuda:{dev}")
    if out.size == 0:
        return out
    tiles_m, tiles_n = -(-M // MATMUL_TILE), -(-N // MATMUL_TILE)
    # The kernel loops over the tiles beyond the grid; gridDim.y is capped at 65535.
    grid = (min(tiles_n, MAX_BLOCKS), min(tiles_m, MAX_BLOCKS, 65535))
    sa, sb = (s // a.itemsize for s in a.strides), (s // b.itemsize for s in b.strides)
    with a.device:
        fn = get_function("matmul.cu", "matmul_fwd<{T}>", a.dtype, dev)
        fn(grid, (BLOCK,), (a, b, out, np.int64(M), np.int64(N), np.int64(K),
                            *map(np.int64, sa), *map(np.int64, sb)))
    return out


def _act(op: str, act) -> str:
    try:
        return _ACTS[act]
    except (KeyError, TypeError):
        raise ValueError(f"{op}: unknown activation {act!r}; use one of "
                         f"{tuple(_ACTS)}") from None


def _same_dtype(op: str, a, b) -> None:
    if a.dtype != b.dtype:
        raise DTypeError(f"{op}: dtypes differ: {a.dtype.name} and {b.dtype.name}")
    _ctype(a.dtype, op)
