"""The CUDA kernels' CPU-side contract, checked on every CI machine (no GPU needed).

- the NumPy twins (gradengine.ops.fused) against independent formulas and at extremes;
- every kernels/*.cu compiles with nvcc for sm_80 and sm_90, and through NVRTC with name
  expressions where libnvrtc is found;
- the kernels themselves, compiled with g++ and run on host threads (a small emulation of
  blockIdx / threadIdx / __syncthreads), driven by the real launchers in gradengine.cuda.kernels
  against the twins: this exercises the index maths, vector paths, tails and the reduction;
- the loader: source_dir, include pasting, enabled(), memoization, compile errors, and the
  .cu files inside a built wheel.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from gradengine import backend
from gradengine.cuda import kernels, nvrtc
from gradengine.errors import DeviceError, DTypeError, ShapeError
from gradengine.ops.fused import (
    act_grad_ref,
    act_ref,
    bias_act_backward_ref,
    bias_act_ref,
    matmul_ref,
    sigmoid_backward_ref,
    sigmoid_ref,
)

REPO = Path(__file__).resolve().parents[1]
CU_FILES = sorted((REPO / "kernels").glob("*.cu"))
ACTS = (None, "sigmoid", "relu", "tanh")
SIGMOID_ATOL = {np.float32: 2.4e-7, np.float64: 1e-15, np.float16: 2e-3}
EXTREMES = [-np.inf, -1e4, -1e3, -100.0, -88.0, -87.0, -20.0, -1.0, -1e-30, -0.0, 0.0, 1e-30,
            1.0, 20.0, 87.0, 88.0, 100.0, 1e3, 1e4, np.inf]


def sigmoid_exact(x):
    """1 / (1 + e^-x) in float64 with overflow silenced: an independent formula."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


# ---------------------------------------------------------------- the NumPy twins

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_twin_matches_exact_formula(dtype):
    x = np.random.default_rng(0).normal(0, 8, 4097).astype(dtype)
    y = sigmoid_ref(np, x)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, sigmoid_exact(x), rtol=0, atol=SIGMOID_ATOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_twin_extremes_without_warning_or_nan(dtype):
    x = np.array(EXTREMES, dtype)
    # NumPy's defaults (underflow to 0 is fine), with every warning an error.
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        y = sigmoid_ref(np, x)
        dx = sigmoid_backward_ref(np, y, np.ones_like(y))
    assert not np.isnan(y).any() and not np.isnan(dx).any()
    assert y[0] == 0 and y[-1] == 1  # -inf and +inf give exactly 0 and 1
    assert ((y >= 0) & (y <= 1)).all()
    np.testing.assert_allclose(y, sigmoid_exact(x), rtol=0, atol=SIGMOID_ATOL[dtype])


def test_sigmoid_twin_propagates_nan():
    with np.errstate(all="raise", under="ignore"):
        assert np.isnan(sigmoid_ref(np, np.array([np.nan], np.float32)))[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_backward_twin_is_the_derivative(dtype):
    x = np.random.default_rng(1).normal(0, 3, 1000)
    g = np.random.default_rng(2).normal(size=1000)
    y = sigmoid_ref(np, x.astype(dtype))
    dx = sigmoid_backward_ref(np, y, g.astype(dtype))
    e = np.exp(-x)
    # 1 - y cancels near y = 1: y's own rounding, times |g| (< 4), bounds the error.
    np.testing.assert_allclose(dx, g * e / (1 + e) ** 2, rtol=1e-5,
                               atol=4 * SIGMOID_ATOL[dtype])


@pytest.mark.parametrize("act", ACTS)
def test_act_grad_twin_matches_central_differences(act):
    z = np.random.default_rng(3).normal(0, 2, 500)
    z = z[np.abs(z) > 1e-3]  # keep relu's kink out of the difference quotient
    eps = 1e-6
    numeric = (act_ref(np, z + eps, act) - act_ref(np, z - eps, act)) / (2 * eps)
    np.testing.assert_allclose(act_grad_ref(np, act_ref(np, z, act), act), numeric,
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ACTS)
def test_bias_act_twin_matches_formula(act):
    rng = np.random.default_rng(4)
    z, b = rng.normal(size=(7, 5)), rng.normal(size=5)
    formulas = {None: lambda s: s, "sigmoid": sigmoid_exact, "relu": lambda s: np.where(
        s > 0, s, 0.0), "tanh": np.tanh}
    np.testing.assert_allclose(bias_act_ref(np, z, b, act), formulas[act](z + b), atol=1e-15)
    np.testing.assert_allclose(bias_act_ref(np, z, None, act), formulas[act](z), atol=1e-15)


@pytest.mark.parametrize("shape", [(6, 4), (2, 3, 4), (0, 4), (4,)])
@pytest.mark.parametrize("act", ACTS)
def test_bias_act_backward_twin_db_is_column_sum_of_dz(shape, act):
    rng = np.random.default_rng(5)
    g = rng.normal(size=shape)
    out = act_ref(np, rng.normal(size=shape), act)
    dz, db = bias_act_backward_ref(np, g, out, act)
    np.testing.assert_array_equal(dz, g * act_grad_ref(np, out, act))
    np.testing.assert_allclose(db, dz.reshape(-1, shape[-1]).sum(axis=0), atol=1e-15)
    assert db.shape == (shape[-1],)
    assert bias_act_backward_ref(np, g, out, act, need_bias=False)[1] is None


def test_unknown_activation_is_a_value_error():
    with pytest.raises(ValueError, match="unknown activation"):
        act_ref(np, np.zeros(2), "gelu")


# ---------------------------------------------------------------- compiling the sources

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not found")


def test_kernel_sources_are_found():
    assert kernels.source_dir() == REPO / "kernels"
    names = {p.name for p in kernels.source_dir().iterdir()}
    assert {"common.cuh", "sigmoid.cu", "linear_act.cu"} <= names


@pytest.mark.parametrize("file", [p.name for p in CU_FILES])
def test_kernel_source_pastes_its_includes(file):
    text = kernels.kernel_source(file)
    assert not re.search(r'^\s*#\s*include\s*"', text, re.MULTILINE)
    assert "ge_half from_acc<ge_half>" in text and '#line 1 "common.cuh"' in text


@needs_nvcc
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("file", CU_FILES, ids=lambda p: p.name)
def test_kernel_compiles_with_nvcc(file, arch, tmp_path):
    _nvcc(file, arch, tmp_path)


@needs_nvcc
@pytest.mark.parametrize("file", [p.name for p in CU_FILES])
def test_pasted_source_compiles_without_the_kernels_folder(file, tmp_path):
    # What CuPy hands NVRTC is the pasted text; compile it where common.cuh is not reachable.
    src = tmp_path / file
    src.write_text(kernels.kernel_source(file))
    _nvcc(src, "sm_90", tmp_path)


def _nvcc(src, arch, tmp_path):
    cmd = [NVCC, "-std=c++17", f"-arch={arch}", "--ptx", "-o", str(tmp_path / "out.ptx"),
           str(src)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stdout}\n{done.stderr}"
    assert ".entry" in (tmp_path / "out.ptx").read_text()


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("file", sorted(kernels.NAME_EXPRESSIONS))
def test_kernel_compiles_with_nvrtc_as_cupy_would(file, arch):
    # The dev extra brings NVRTC from PyPI, so CI never skips this (set GRADENGINE_NVRTC
    # elsewhere); the options are CuPy 14's for a RawModule (-ftz=true, -arch=sm_XX, ...).
    if not nvrtc.find_library():
        pytest.skip("libnvrtc not found (pip install nvidia-cuda-nvrtc, or set GRADENGINE_NVRTC)")
    lowered = nvrtc.compile_file(file, arch)
    assert set(lowered) == set(kernels.NAME_EXPRESSIONS[file])
    assert all(name.startswith("_Z") for name in lowered.values())


def test_nvrtc_options_are_cupys():
    options = kernels.nvrtc_options("sm_90", ("/cuda/include",))
    assert options[:2] == kernels.COMPILE_OPTIONS
    assert {"-ftz=true", "--device-as-default-execution-space", "-arch=sm_90",
            "-I/cuda/include"} <= set(options)


def test_every_kernel_a_launcher_asks_for_is_a_name_expression():
    launched = {"sigmoid_fwd<{T}>", "sigmoid_bwd<{T}>", "matmul_fwd<{T}>"} | {
        f"bias_act_{d}<{{T}}, act_{a}>" for d in ("fwd", "bwd")
        for a in ("none", "sigmoid", "relu", "tanh")}
    exprs = {e for v in kernels.NAME_EXPRESSIONS.values() for e in v}
    for template in launched:
        for t in ("float", "double", "ge_half"):
            assert template.format(T=t) in exprs


# ---------------------------------------------------------------- the kernels on host threads

EMULATION = r"""
// Just enough of CUDA to run gradengine's kernels on host threads, __syncthreads being a
// std::barrier.
#include <barrier>
#include <math.h>
#include <thread>
#include <vector>
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __align__(n) alignas(n)
#define __shared__ static
struct ge_dim3 { unsigned x = 1, y = 1, z = 1; };
thread_local ge_dim3 threadIdx, blockIdx;
ge_dim3 blockDim, gridDim;
static std::barrier<>* ge_barrier;
inline void __syncthreads() { ge_barrier->arrive_and_wait(); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned* p, unsigned v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

// Kernels without __syncthreads run their threads one after another on one host thread;
// the others get one std::thread per CUDA thread and a barrier between blocks.
template <bool Sync, typename F>
void ge_launch(unsigned gx, unsigned gy, unsigned bx, unsigned by, F body) {
    gridDim = {gx, gy, 1};
    blockDim = {bx, by, 1};
    if (!Sync) {
        for (unsigned y = 0; y < gy; ++y)
            for (unsigned x = 0; x < gx; ++x)
                for (unsigned t = 0; t < bx * by; ++t) {
                    blockIdx = {x, y, 1};
                    threadIdx = {t % bx, t / bx, 1};
                    body();
                }
        return;
    }
    std::barrier<> bar(bx * by);
    ge_barrier = &bar;
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < bx * by; ++t) {
        pool.emplace_back([&, t] {
            threadIdx = {t % bx, t / bx, 1};
            for (unsigned y = 0; y < gy; ++y) {
                for (unsigned x = 0; x < gx; ++x) {
                    blockIdx = {x, y, 1};
                    body();
                    bar.arrive_and_wait();  // the next block reuses the shared memory
                }
            }
        });
    }
    for (auto& th : pool) th.join();
}

#include "sigmoid.cu"
#include "linear_act.cu"
#include "matmul.cu"

#define DIMS unsigned gx, unsigned gy, unsigned bx, unsigned by
#define LAUNCH(call) ge_launch<false>(gx, gy, bx, by, [=] { call; })
#define LAUNCH_SYNC(call) ge_launch<true>(gx, gy, bx, by, [=] { call; })
#define EMU_TYPE(T, S)                                                                   \
extern "C" void sigmoid_fwd_##S(const T* x, T* y, long long n, DIMS) {                   \
    LAUNCH((sigmoid_fwd<T>(x, y, n))); }                                                 \
extern "C" void sigmoid_bwd_##S(const T* y, const T* g, T* dx, long long n, DIMS) {      \
    LAUNCH((sigmoid_bwd<T>(y, g, dx, n))); }                                             \
extern "C" void matmul_fwd_##S(const T* a, const T* b, T* c, long long M, long long N,    \
                               long long K, long long sa0, long long sa1, long long sb0, \
                               long long sb1, DIMS) {                                    \
    LAUNCH_SYNC((matmul_fwd<T>(a, b, c, M, N, K, sa0, sa1, sb0, sb1))); }
#define EMU_ACT(T, S, A)                                                                 \
extern "C" void bias_act_fwd_##A##_##S(const T* z, const T* b, T* o, long long M,        \
                                       long long N, DIMS) {                              \
    LAUNCH((bias_act_fwd<T, A>(z, b, o, M, N))); }                                       \
extern "C" void bias_act_bwd_##A##_##S(const T* g, const T* o, T* dz, acc_t<T>* p,       \
                                       unsigned* tk, T* db, long long M, long long N,    \
                                       long long r, int vec, DIMS) {                     \
    LAUNCH_SYNC((bias_act_bwd<T, A>(g, o, dz, p, tk, db, M, N, r, vec))); }
#define EMU_ALL(T, S) EMU_TYPE(T, S) EMU_ACT(T, S, act_none) EMU_ACT(T, S, act_sigmoid)  \
    EMU_ACT(T, S, act_relu) EMU_ACT(T, S, act_tanh)
EMU_ALL(float, f32)
EMU_ALL(double, f64)
EMU_ALL(ge_half, f16)
"""


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    """The kernels built with g++ for host threads, and a stand-in CuPy that launches them."""
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.skip("g++ not found")
    folder = tmp_path_factory.mktemp("emulation")
    (folder / "emulation.cpp").write_text(EMULATION)
    lib_path = folder / "libkernels.so"
    cmd = [cxx, "-std=c++20", "-O1", "-ffp-contract=off", "-pthread", "-shared", "-fPIC",
           "-DGE_HOST_EMULATION", f"-I{REPO / 'kernels'}", "-o", str(lib_path),
           str(folder / "emulation.cpp")]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and re.search(r"_Float16|<barrier>|c\+\+20", done.stderr):
        pytest.skip("this g++ lacks C++20 <barrier> or _Float16")
    assert done.returncode == 0, done.stderr
    return ctypes.CDLL(str(lib_path))


class _HostDevice:
    id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class HostArray(np.ndarray):
    """A NumPy array that answers ``.device`` like a CuPy array does."""

    @property
    def device(self):
        return _HostDevice()


def _host(a):
    return np.asarray(a).view(HostArray)


def _host_cupy():
    return types.SimpleNamespace(
        ascontiguousarray=lambda a: _host(np.ascontiguousarray(a)),
        empty=lambda shape, dtype: _host(np.empty(shape, dtype)),
        zeros=lambda shape, dtype: _host(np.zeros(shape, dtype)),
        broadcast_arrays=lambda *arrays: [_host(a) for a in np.broadcast_arrays(*arrays)],
    )


_SUFFIX = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32",
           np.dtype(np.float64): "f64"}


def _emulated_function(lib, launches):
    def get_function(file, symbol_template, dtype, device_id):
        name, _, rest = symbol_template.partition("<")
        act = rest.partition(", ")[2].rstrip(">")
        symbol = getattr(lib, f"{name}_{act + '_' if act else ''}{_SUFFIX[np.dtype(dtype)]}")

        def launch(grid, block, args):
            assert all(g >= 1 for g in grid), "a launch with an empty grid"
            launches.append((name, grid, block))
            grid, block = tuple(grid) + (1,), tuple(block) + (1,)
            c_args = [ctypes.c_void_p(a.ctypes.data) if isinstance(a, np.ndarray)
                      else ctypes.c_int(int(a)) if isinstance(a, np.int32)
                      else ctypes.c_longlong(int(a)) for a in args]
            symbol(*c_args, *(ctypes.c_uint(d) for d in (*grid[:2], *block[:2])))
        return launch
    return get_function


@pytest.fixture
def host_kernels(emulated, monkeypatch):
    """Route gradengine.cuda.kernels' launchers to the host build; returns the launch log."""
    launches = []
    monkeypatch.setattr(backend, "_cupy", _host_cupy())
    monkeypatch.setattr(kernels, "get_function", _emulated_function(emulated, launches))
    # Few blocks keep the host threads cheap and make the grid-stride loops go round.
    monkeypatch.setattr(kernels, "MAX_BLOCKS", 3)
    monkeypatch.setattr(kernels, "TARGET_BLOCKS", 6)
    return launches


SIZES = [0, 1, 31, 32, 33, 255, 256, 257, 1023, 1025, 2**16 + 3]
DTYPES = [np.float32, np.float64, np.float16]


def _views(x):
    """The layouts a launcher must accept: contiguous, misaligned, transposed, [::-1],
    stride 0."""
    n = x.size
    padded = np.empty(n + 1, x.dtype)
    padded[1:] = x
    yield "contiguous", x
    yield "misaligned", padded[1:]  # contiguous but not 16-byte aligned: the scalar path
    yield "reversed", x[::-1].copy()[::-1]
    if n >= 4 and n % 2 == 0:
        yield "transposed", x.reshape(2, -1).T.copy().T.reshape(2, -1)
    yield "stride0", np.broadcast_to(x[:1], x.shape) if n else x


def _sigmoid_atol(dtype):
    return SIGMOID_ATOL[np.dtype(dtype).type]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", SIZES)
def test_emulated_sigmoid_kernels_match_twins(host_kernels, n, dtype):
    rng = np.random.default_rng(n)
    x = (rng.normal(0, 6, n)).astype(dtype)
    g = rng.normal(size=n).astype(dtype)
    for layout, xv in _views(x):
        y = kernels.sigmoid_fwd(xv)
        assert y.shape == xv.shape and y.dtype == dtype, layout
        np.testing.assert_allclose(y, sigmoid_ref(np, np.asarray(xv)), rtol=0,
                                   atol=_sigmoid_atol(dtype), err_msg=layout)
        gv = g[::-1].reshape(xv.shape)
        dx = kernels.sigmoid_bwd(y, gv)
        np.testing.assert_allclose(dx, sigmoid_backward_ref(np, np.asarray(y), gv),
                                   rtol=0, atol=_sigmoid_atol(dtype), err_msg=layout)
    if n == 0:
        assert host_kernels == []  # size 0 never launches


@pytest.mark.parametrize("dtype", DTYPES)
def test_emulated_sigmoid_kernels_keep_a_0d_shape(host_kernels, dtype):
    x = np.array(0.75, dtype)
    y = kernels.sigmoid_fwd(x)
    assert y.shape == () and y.dtype == dtype
    np.testing.assert_allclose(y, sigmoid_ref(np, x), atol=_sigmoid_atol(dtype))
    dx = kernels.sigmoid_bwd(y, np.array(2.0, dtype))
    assert dx.shape == ()
    np.testing.assert_allclose(dx, sigmoid_backward_ref(np, np.asarray(y), np.array(2.0, dtype)),
                               atol=_sigmoid_atol(dtype))
    # a 0-d upstream gradient broadcast against a vector keeps the vector's shape
    assert kernels.sigmoid_bwd(_host(np.full(3, 0.5, dtype)), np.array(1.0, dtype)).shape == (3,)


@pytest.mark.parametrize("dtype", DTYPES)
def test_emulated_sigmoid_result_of_a_misaligned_view_shares_its_phase(host_kernels, dtype):
    # x[1:] is 16-byte misaligned; its result sits at the same offset, so both peel together
    # and the body keeps the 128-bit path.
    padded = np.random.default_rng(2).normal(size=1001).astype(dtype)
    for k in range(1, pack_width := kernels.pack_width(dtype)):
        x = padded[k:]
        y = kernels.sigmoid_fwd(x)
        assert kernels.address(y) % 16 == kernels.address(x) % 16 != 0
        np.testing.assert_allclose(y, sigmoid_ref(np, x), rtol=0, atol=_sigmoid_atol(dtype))
        dx = kernels.sigmoid_bwd(y, kernels.sigmoid_fwd(x))
        assert kernels.address(dx) % 16 == kernels.address(y) % 16
        np.testing.assert_allclose(dx, sigmoid_backward_ref(np, np.asarray(y), np.asarray(y)),
                                   rtol=0, atol=_sigmoid_atol(dtype))
    assert pack_width > 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_emulated_sigmoid_extremes(host_kernels, dtype):
    x = np.array(EXTREMES + [np.nan], dtype)
    y = np.asarray(kernels.sigmoid_fwd(x))
    assert y[0] == 0 and y[-2] == 1 and np.isnan(y[-1]) and not np.isnan(y[:-1]).any()
    np.testing.assert_allclose(y[:-1], sigmoid_exact(x[:-1]), rtol=0, atol=SIGMOID_ATOL[dtype])


SHAPES = [(0, 5), (5, 0), (1, 1), (3, 1), (31, 1), (1, 33), (33, 31), (7, 32), (257, 3),
          (4, 8, 12), (1025, 1), (1024, 40)]


def _bias_act_tol(dtype, k=1):
    if dtype == np.float16:
        return {"rtol": 2e-3, "atol": 2e-3 * np.sqrt(k)}
    return {"rtol": 1e-5, "atol": 1e-5 * np.sqrt(k)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_emulated_bias_act_kernels_match_twins(host_kernels, shape, act, dtype):
    rng = np.random.default_rng(sum(shape))
    N = shape[-1]
    z = rng.normal(0, 2, shape).astype(dtype)
    b = rng.normal(size=N).astype(dtype)
    g = rng.normal(size=shape).astype(dtype)
    M = int(np.prod(shape[:-1]))
    for bias in (b, None):
        out = kernels.bias_act_fwd(z, bias, act)
        np.testing.assert_allclose(out, bias_act_ref(np, z, bias, act), **_bias_act_tol(dtype))
        dz, db = kernels.bias_act_bwd(g, out, act)
        dz_ref, db_ref = bias_act_backward_ref(np, g, np.asarray(out), act)
        np.testing.assert_allclose(dz, dz_ref, **_bias_act_tol(dtype))
        assert db.shape == (N,) and db.dtype == dtype
        np.testing.assert_allclose(db, db_ref, **_bias_act_tol(dtype, M))
        dz2, db2 = kernels.bias_act_bwd(g, out, act, need_bias=False)
        assert db2 is None
        np.testing.assert_array_equal(dz2, dz)


@pytest.mark.parametrize("act", ACTS)
def test_emulated_bias_act_accepts_any_layout(host_kernels, act):
    rng = np.random.default_rng(7)
    base = rng.normal(size=(12, 40))
    padded = np.empty(481)
    padded[1:] = base.T.ravel()
    b = np.broadcast_to(rng.normal(size=1), (12,))  # stride 0
    g = np.broadcast_to(rng.normal(size=(1, 12)), (40, 12))  # stride 0
    for layout, z in [("transposed", base.T), ("reversed", base.T[::-1]),
                      ("misaligned", padded[1:].reshape(40, 12)),
                      ("stride0", np.broadcast_to(base.T[:1], (40, 12)))]:
        out = kernels.bias_act_fwd(z, b, act)
        np.testing.assert_allclose(out, bias_act_ref(np, z, b, act), atol=1e-12, err_msg=layout)
        dz, db = kernels.bias_act_bwd(g, out[::-1][::-1], act)
        dz_ref, db_ref = bias_act_backward_ref(np, g, np.asarray(out), act)
        np.testing.assert_allclose(dz, dz_ref, atol=1e-12, err_msg=layout)
        np.testing.assert_allclose(db, db_ref, atol=1e-12, err_msg=layout)


def test_emulated_bias_act_runs_in_place(host_kernels):
    z = np.random.default_rng(8).normal(size=(33, 8)).astype(np.float32)
    b = np.arange(8, dtype=np.float32)
    expected = bias_act_ref(np, z, b, "tanh")
    zh = _host(z)
    assert kernels.bias_act_fwd(zh, b, "tanh", out=zh) is zh
    np.testing.assert_allclose(z, expected, rtol=1e-6)


def test_emulated_bias_gradient_is_bit_identical_across_runs(host_kernels):
    rng = np.random.default_rng(9)
    g = rng.normal(size=(2049, 7)).astype(np.float32)
    out = sigmoid_ref(np, rng.normal(size=(2049, 7)).astype(np.float32))
    first = kernels.bias_act_bwd(g, out, "sigmoid")[1]
    for _ in range(2):
        np.testing.assert_array_equal(kernels.bias_act_bwd(g, out, "sigmoid")[1], first)
    # dz, the chunk partials and db in one launch: the last block per column group sums them.
    assert [name for name, *_ in host_kernels[-1:]] == ["bias_act_bwd"]
    assert host_kernels[-1][1][1] > 1  # several row chunks, so the ticket decides


def test_emulated_size_zero_returns_empty_results_without_launching(host_kernels):
    dz, db = kernels.bias_act_bwd(np.zeros((0, 4), np.float32), None, None)
    assert dz.shape == (0, 4) and db.shape == (4,) and not db.any()
    assert kernels.bias_act_fwd(np.zeros((0, 4)), np.zeros(4), "relu").shape == (0, 4)
    assert kernels.sigmoid_fwd(np.zeros((3, 0))).shape == (3, 0)
    assert host_kernels == []


MATMUL_SHAPES = [(1, 1, 1), (1, 37, 1), (1, 300, 5), (5, 300, 1), (3, 5, 2), (64, 16, 64),
                 (65, 17, 63), (7, 33, 130), (7, 9, 200), (200, 9, 7), (4, 0, 3), (0, 3, 4),
                 (4, 3, 0)]


def _matmul_tol(dtype, k):
    if dtype == np.float16:
        return {"rtol": 2e-3, "atol": 2e-3 * np.sqrt(max(k, 1))}
    if dtype == np.float32:
        return {"rtol": 1e-5, "atol": 1e-6 * np.sqrt(max(k, 1))}
    return {"rtol": 1e-12, "atol": 1e-14 * np.sqrt(max(k, 1))}


def _matmul_layouts(a, b):
    """(name, a view, b view): the same values in every layout the kernel reads in place."""
    (M, K), N = a.shape, b.shape[1]
    yield "contiguous", a, b
    yield "transposed", np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
    yield "reversed", a[::-1].copy()[::-1], b[:, ::-1].copy()[:, ::-1]
    wide_a, wide_b = np.zeros((M, 2 * K + 1), a.dtype), np.zeros((2 * K + 1, N), b.dtype)
    wide_a[:, 1::2], wide_b[1::2] = a, b
    yield "strided", wide_a[:, 1::2], wide_b[1::2]  # stride 2 and an odd offset
    if M and K and N:
        yield "stride0", np.broadcast_to(a[:1], a.shape), np.broadcast_to(b[:, :1], b.shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", MATMUL_SHAPES, ids=str)
def test_emulated_matmul_kernel_matches_twin(host_kernels, shape, dtype):
    M, K, N = shape
    rng = np.random.default_rng(M * 10_000 + K * 100 + N)
    a = rng.normal(size=(M, K)).astype(dtype)
    b = rng.normal(size=(K, N)).astype(dtype)
    for layout, av, bv in _matmul_layouts(a, b):
        out = kernels.matmul(_host(av), _host(bv))
        assert out.shape == (M, N) and out.dtype == dtype and out.flags.c_contiguous, layout
        # float16's twin runs in float32: NumPy's own float16 product rounds at every step.
        acc = np.float32 if dtype == np.float16 else dtype
        expected = matmul_ref(np, av.astype(acc), bv.astype(acc)).astype(dtype)
        np.testing.assert_allclose(out, expected, **_matmul_tol(dtype, K), err_msg=layout)
    if M * N == 0:
        assert host_kernels == []  # size 0 never launches
    else:
        assert all(name == "matmul_fwd" and block == (kernels.BLOCK,) and max(grid) <= 3
                   for name, grid, block in host_kernels)


def test_emulated_matmul_writes_out_and_is_bit_identical_across_layouts(host_kernels):
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(70, 45)), rng.normal(size=(45, 66))
    out = _host(np.full((70, 66), np.nan))
    assert kernels.matmul(_host(a), _host(b), out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-12, atol=1e-13)
    # The order of the sum is fixed by the shape, not by the operands' layout.
    for layout, av, bv in _matmul_layouts(a, b):
        if layout != "stride0":  # other values
            np.testing.assert_array_equal(kernels.matmul(_host(av), _host(bv)), out)
    zeros = kernels.matmul(_host(np.ones((3, 0))), _host(np.ones((0, 2))))
    np.testing.assert_array_equal(zeros, np.zeros((3, 2)))  # K == 0 still launches


class _OtherDevice(_HostDevice):
    id = 1


class _OtherHostArray(np.ndarray):
    @property
    def device(self):
        return _OtherDevice()


def test_matmul_launcher_rejects_operands_that_do_not_fit(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", _host_cupy())
    f32 = _host(np.ones((2, 3), np.float32))
    with pytest.raises(ShapeError, match=r"matmul: .*\(2, 3\) @ \(2, 3\)"):
        kernels.matmul(f32, f32)
    with pytest.raises(ShapeError, match=r"matmul: .*\(3,\) @ \(3, 2\)"):
        kernels.matmul(_host(np.ones(3, np.float32)), f32.T)
    with pytest.raises(DTypeError, match="matmul: dtypes differ: float32 and float64"):
        kernels.matmul(f32, _host(np.ones((3, 2))))
    with pytest.raises(DTypeError, match="matmul: unsupported dtype 'int64'"):
        kernels.matmul(_host(np.ones((2, 3), np.int64)), _host(np.ones((3, 2), np.int64)))
    with pytest.raises(DeviceError, match="matmul: operands on different devices"):
        kernels.matmul(f32, np.ones((3, 2), np.float32).view(_OtherHostArray))
    b = _host(np.ones((3, 4), np.float32))
    for bad in (np.empty((2, 5), np.float32), np.empty((4, 2), np.float32).T):
        with pytest.raises(ShapeError, match=r"out must be C-contiguous with shape \(2, 4\)"):
            kernels.matmul(f32, b, out=_host(bad))
    with pytest.raises(DTypeError, match="matmul: out has dtype float64"):
        kernels.matmul(f32, b, out=_host(np.empty((2, 4))))
    with pytest.raises(DeviceError, match="matmul: out is on cuda:1"):
        kernels.matmul(f32, b, out=np.empty((2, 4), np.float32).view(_OtherHostArray))


# ---------------------------------------------------------------- the launch shapes

@pytest.mark.parametrize("M,N", [(1, 1), (2**20 + 3, 1), (64, 4096), (1000, 3), (33, 33),
                                 (5, 100_000), (10**7, 1000)])
def test_bias_act_bwd_launch_shape_covers_every_row_and_column(M, N):
    (gx, gy), (bx, by), rows, chunks = kernels.bwd_launch(M, N)
    assert bx * by == kernels.BLOCK and by & (by - 1) == 0  # the tree reduction needs 2^k
    assert gx * bx >= N > (gx - 1) * bx
    assert gy == chunks <= 65535 and rows % by == 0
    assert chunks * rows >= M > (chunks - 1) * rows
    assert kernels.bwd_launch(M, N) == ((gx, gy), (bx, by), rows, chunks)  # shape only


@pytest.mark.parametrize("M,N,dtype", [(1, 1, np.float32), (5, 3, np.float32),
                                       (4096, 1024, np.float32), (7, 1023, np.float16),
                                       (10**6, 1, np.float64), (3, 100_000, np.float32)])
def test_bias_act_fwd_launch_shape_covers_rows_and_packs(M, N, dtype):
    (gx, gy), (bx, by) = kernels.fwd_launch(M, N, dtype)
    assert bx * by == kernels.BLOCK and 1 <= gy <= kernels.MAX_GRID_Y
    assert gx * gy <= kernels.MAX_BLOCKS or gy == 1  # grid-stride covers the rest
    packs = -(-N // kernels.pack_width(dtype))
    assert bx <= max(1, 2 * packs)  # no block of threads mostly past the end of a row


def test_bias_act_bwd_vector_launch_gives_each_thread_a_pack_and_several_rows():
    (gx, gy), (bx, by), rows, chunks = kernels.bwd_launch(4096, 1024, 4)
    assert gx * bx * 4 >= 1024 and rows // by >= kernels.ROWS_PER_THREAD
    assert gx * gy <= 2 * kernels.TARGET_BLOCKS


def test_grid_1d_is_never_empty():
    assert kernels.grid_1d(0) == 1 and kernels.grid_1d(1) == 1
    assert kernels.grid_1d(10**12) == kernels.MAX_BLOCKS


# ---------------------------------------------------------------- the loader

def test_kernels_disabled_without_cupy(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.delenv("GRADENGINE_KERNELS", raising=False)
    assert kernels.enabled() is False


def test_kernels_switch_is_read_at_call_time(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", types.SimpleNamespace())
    monkeypatch.setenv("GRADENGINE_KERNELS", "0")
    assert kernels.enabled() is False
    monkeypatch.setenv("GRADENGINE_KERNELS", "1")
    assert kernels.enabled() is True


def test_launchers_without_cupy_raise_device_error(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(DeviceError, match="sigmoid_fwd: .*CuPy.*pip install"):
        kernels.sigmoid_fwd(np.zeros(3))


def test_launchers_reject_other_dtypes(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", _host_cupy())
    with pytest.raises(DTypeError, match="sigmoid_fwd: unsupported dtype 'int32'"):
        kernels.sigmoid_fwd(np.zeros(3, np.int32))
    with pytest.raises(DTypeError, match="linear: dtypes differ"):
        kernels.bias_act_fwd(np.zeros((2, 3), np.float32), np.zeros(3), None)
    with pytest.raises(ValueError, match="linear: unknown activation 'gelu'"):
        kernels.bias_act_bwd(np.zeros((2, 3)), np.zeros((2, 3)), "gelu")


class _FakeCompileException(Exception):
    def get_message(self):
        return "kernel.cu(12): error: identifier \"oops\" is undefined"


def _fake_cupy(modules, fail=False):
    def raw_module(code, options, name_expressions):
        modules.append((code, options, tuple(name_expressions)))

        def get_function(expr):
            if fail:
                raise _FakeCompileException()
            return ("kernel", expr)
        return types.SimpleNamespace(get_function=get_function)

    cuda = types.SimpleNamespace(Device=lambda i: _HostDevice(),
                                 compiler=types.SimpleNamespace(
                                     CompileException=_FakeCompileException))
    return types.SimpleNamespace(RawModule=raw_module, cuda=cuda)


def test_get_function_memoizes_per_file_symbol_dtype_device(monkeypatch):
    modules = []
    monkeypatch.setattr(backend, "_cupy", _fake_cupy(modules))
    monkeypatch.setattr(kernels, "_functions", {})
    monkeypatch.setattr(kernels, "_modules", {})
    fn = kernels.get_function("sigmoid.cu", "sigmoid_fwd<{T}>", np.float32, 0)
    assert fn == ("kernel", "sigmoid_fwd<float>")
    assert kernels.get_function("sigmoid.cu", "sigmoid_fwd<{T}>", np.float32, 0) is fn
    kernels.get_function("sigmoid.cu", "sigmoid_fwd<{T}>", np.float64, 0)
    kernels.get_function("sigmoid.cu", "sigmoid_fwd<{T}>", np.float32, 1)
    kernels.get_function("linear_act.cu", "bias_act_fwd<{T}, act_relu>", np.float16, 0)
    kernels.get_function("sigmoid.cu", "sigmoid_bwd<{T}>", np.float16, 0)
    # One module per (file, device), holding every kernel of the file.
    assert [m[2] for m in modules] == [kernels.NAME_EXPRESSIONS["sigmoid.cu"],
                                       kernels.NAME_EXPRESSIONS["sigmoid.cu"],
                                       kernels.NAME_EXPRESSIONS["linear_act.cu"]]
    assert "bias_act_fwd<ge_half, act_relu>" in modules[2][2]
    code, options, _ = modules[0]
    assert "-std=c++17" in options and '#include "common.cuh"' not in code


def test_compile_failure_names_the_kernel_and_shows_the_log(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", _fake_cupy([], fail=True))
    monkeypatch.setattr(kernels, "_functions", {})
    monkeypatch.setattr(kernels, "_modules", {})
    with pytest.raises(kernels.KernelCompileError) as info:
        kernels.get_function("linear_act.cu", "bias_act_bwd<{T}, act_tanh>", np.float64, 0)
    message = str(info.value)
    assert "bias_act_bwd<double, act_tanh>" in message and "linear_act.cu" in message
    assert 'identifier "oops" is undefined' in message
    assert isinstance(info.value, DeviceError)


@pytest.mark.parametrize("error", [
    RuntimeError("Failed to find CUDA headers. Please install CUDA toolkit headers (e.g., pip "
                 "install cupy-cuda12x[ctk]) or specify CUDA_PATH environment variable."),
    OSError("libnvrtc.so.13: cannot open shared object file"),
    ImportError("cannot import name 'nvrtc'")])
def test_a_machine_that_cannot_compile_gets_one_error_saying_what_to_install(monkeypatch, error):
    def raw_module(**kwargs):
        raise error
    cuda = types.SimpleNamespace(Device=lambda i: _HostDevice(), compiler=types.SimpleNamespace(
        CompileException=_FakeCompileException))
    monkeypatch.setattr(backend, "_cupy", types.SimpleNamespace(RawModule=raw_module, cuda=cuda))
    monkeypatch.setattr(kernels, "_functions", {})
    monkeypatch.setattr(kernels, "_modules", {})
    with pytest.raises(kernels.KernelCompileError, match=r"cupy-cuda12x\[ctk\]>=14") as info:
        kernels.get_function("sigmoid.cu", "sigmoid_fwd<{T}>", np.float32, 0)
    assert "GRADENGINE_KERNELS=0" in str(info.value) and type(error).__name__ in str(info.value)
    assert kernels._modules == {}  # nothing half-built is kept: a later call tries again


# ---------------------------------------------------------------- packaging

NETWORK_ERRORS = ("Could not find a version that satisfies", "No matching distribution",
                  "Failed to establish a new connection", "Temporary failure in name resolution",
                  "Network is unreachable", "Connection refused", "timed out",
                  "ProxyError", "Max retries exceeded")


def test_built_wheel_contains_the_kernel_sources(tmp_path):
    # Build from a copy: the build never touches the checkout, and works before README.md
    # exists (a missing README is another test's business).
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(REPO / "pyproject.toml", src)
    for folder in ("gradengine", "kernels"):
        shutil.copytree(REPO / folder, src / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    readme = REPO / "README.md"
    (src / "README.md").write_text(readme.read_text() if readme.exists() else "gradengine\n")
    out = tmp_path / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(out)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    log = done.stdout + done.stderr
    if done.returncode != 0 and any(e in log for e in NETWORK_ERRORS):
        pytest.skip("cannot fetch the build backend (no network)")
    assert done.returncode == 0, log
    import zipfile

    (wheel,) = out.glob("gradengine-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for cu in ["common.cuh"] + [p.name for p in CU_FILES]:
        assert f"gradengine/kernels_src/{cu}" in names
    assert "gradengine/cuda/kernels.py" in names
