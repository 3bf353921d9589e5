"""The CUDA kernels against their NumPy twins on a real GPU (skipped without CuPy or a device).

Tolerances are RELIABILITY.md section 1: sigmoid forward/backward float32 within 2.4e-7
absolute and float64 within 1e-15; bias + activation float32 rtol 1e-5, atol 1e-5 * sqrt(K)
with K the length of the reduction behind a value (1 for elementwise results, M for the bias
gradient, the inner dimension after a matmul).
"""

from __future__ import annotations

import numpy as np
import pytest

cp = pytest.importorskip("cupy")


def _device_count():
    try:
        return cp.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - no driver or no device
        return 0


pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(_device_count() == 0, reason="needs a CUDA device")]

from gradengine.cuda import kernels  # noqa: E402
from gradengine.ops.fused import (  # noqa: E402
    bias_act_backward_ref,
    bias_act_ref,
    matmul_ref,
    sigmoid_backward_ref,
    sigmoid_ref,
)

SIZES = [0, 1, 31, 32, 33, 255, 256, 257, 1023, 1025, 2**20 + 3]
ACTS = (None, "sigmoid", "relu", "tanh")
SIGMOID_ATOL = {np.dtype(np.float32): 2.4e-7, np.dtype(np.float64): 1e-15,
                np.dtype(np.float16): 2e-3}


def _tol(dtype, k=1):
    scale = 2e-3 if np.dtype(dtype) == np.float16 else 1e-5
    return {"rtol": scale, "atol": scale * np.sqrt(max(k, 1))}


def _layouts(x):
    """(name, device view, the same values on the host) for every layout a launcher takes."""
    d = cp.asarray(x)
    yield "contiguous", d, x
    padded = cp.empty(x.size + 1, x.dtype)
    padded[1:] = d.ravel()
    yield "misaligned", padded[1:].reshape(x.shape), x  # contiguous, not 16-byte aligned
    yield "reversed", cp.ascontiguousarray(d[::-1])[::-1], x
    if x.ndim == 1 and x.size >= 2 and x.size % 2 == 0:
        t = cp.ascontiguousarray(d.reshape(2, -1).T).T  # Fortran order: a transposed view
        yield "transposed", t, x.reshape(2, -1)
    if x.size:
        yield "stride0", cp.broadcast_to(d[:1], x.shape), np.broadcast_to(x[:1], x.shape)


# ---------------------------------------------------------------- sigmoid

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("n", SIZES)
def test_sigmoid_fwd_kernel_matches_twin(n, dtype):
    x = np.random.default_rng(n).normal(0, 6, n).astype(dtype)
    for layout, xd, xh in _layouts(x):
        y = kernels.sigmoid_fwd(xd)
        assert y.shape == xd.shape and y.dtype == dtype and y.flags.c_contiguous
        np.testing.assert_allclose(cp.asnumpy(y), sigmoid_ref(np, xh), rtol=0,
                                   atol=SIGMOID_ATOL[np.dtype(dtype)], err_msg=layout)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("n", SIZES)
def test_sigmoid_bwd_kernel_matches_twin(n, dtype):
    rng = np.random.default_rng(n + 1)
    y = sigmoid_ref(np, rng.normal(0, 3, n).astype(dtype))
    g = rng.normal(size=n).astype(dtype)
    for layout, yd, yh in _layouts(y):
        gh = g[::-1].reshape(yh.shape)
        dx = kernels.sigmoid_bwd(yd, cp.asarray(g)[::-1].reshape(yd.shape))
        np.testing.assert_allclose(cp.asnumpy(dx), sigmoid_backward_ref(np, yh, gh), rtol=0,
                                   atol=SIGMOID_ATOL[np.dtype(dtype)], err_msg=layout)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_kernel_extremes(dtype):
    x = np.array([-np.inf, -1e4, -1e3, -100, -88, -87, -1, 0, 1, 87, 88, 100, 1e3, 1e4,
                  np.inf, np.nan], dtype)
    y = cp.asnumpy(kernels.sigmoid_fwd(cp.asarray(x)))
    assert y[0] == 0 and y[-2] == 1 and np.isnan(y[-1]) and not np.isnan(y[:-1]).any()
    np.testing.assert_allclose(y[:-1], sigmoid_ref(np, x[:-1]), rtol=0,
                               atol=SIGMOID_ATOL[np.dtype(dtype)])
    dx = cp.asnumpy(kernels.sigmoid_bwd(cp.asarray(y[:-1]), cp.ones(15, dtype)))
    assert not np.isnan(dx).any()


# ---------------------------------------------------------------- bias + activation

SHAPES = [(0, 7), (7, 0), (1, 1), (31, 33), (32, 32), (33, 31), (255, 3), (256, 256),
          (257, 129), (1023, 5), (1025, 64), (2**20 + 3, 3), (4, 33, 12)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_bias_act_kernels_match_twins(shape, act, dtype):
    rng = np.random.default_rng(sum(shape))
    N, M = shape[-1], int(np.prod(shape[:-1]))
    z = rng.normal(0, 2, shape).astype(dtype)
    b = rng.normal(size=N).astype(dtype)
    g = rng.normal(size=shape).astype(dtype)
    for bias in (b, None):
        out = kernels.bias_act_fwd(cp.asarray(z), None if bias is None else cp.asarray(bias),
                                   act)
        out_h = cp.asnumpy(out)
        np.testing.assert_allclose(out_h, bias_act_ref(np, z, bias, act), **_tol(dtype))
        dz, db = kernels.bias_act_bwd(cp.asarray(g), out, act)
        dz_ref, db_ref = bias_act_backward_ref(np, g, out_h, act)
        np.testing.assert_allclose(cp.asnumpy(dz), dz_ref, **_tol(dtype))
        assert db.shape == (N,) and db.dtype == dtype
        np.testing.assert_allclose(cp.asnumpy(db), db_ref, **_tol(dtype, M))
        dz2, none = kernels.bias_act_bwd(cp.asarray(g), out, act, need_bias=False)
        assert none is None
        np.testing.assert_array_equal(cp.asnumpy(dz2), cp.asnumpy(dz))


@pytest.mark.parametrize("act", ACTS)
def test_bias_act_kernels_accept_transposed_reversed_and_broadcast_inputs(act):
    rng = np.random.default_rng(3)
    base = rng.normal(size=(64, 1025)).astype(np.float32)
    b = cp.broadcast_to(cp.asarray(rng.normal(size=1).astype(np.float32)), (64,))
    g = cp.broadcast_to(cp.asarray(rng.normal(size=(1, 64)).astype(np.float32)), (1025, 64))
    bd = cp.asarray(base)
    for layout, z in [("transposed", bd.T), ("reversed", bd.T[::-1]),
                      ("stride0", cp.broadcast_to(bd.T[:1], (1025, 64)))]:
        zh, bh, gh = cp.asnumpy(z), cp.asnumpy(b), cp.asnumpy(g)
        out = kernels.bias_act_fwd(z, b, act)
        np.testing.assert_allclose(cp.asnumpy(out), bias_act_ref(np, zh, bh, act),
                                   **_tol(np.float32), err_msg=layout)
        dz, db = kernels.bias_act_bwd(g, out[::-1][::-1], act)
        dz_ref, db_ref = bias_act_backward_ref(np, gh, cp.asnumpy(out), act)
        np.testing.assert_allclose(cp.asnumpy(dz), dz_ref, **_tol(np.float32), err_msg=layout)
        np.testing.assert_allclose(cp.asnumpy(db), db_ref, **_tol(np.float32, 1025),
                                   err_msg=layout)


def test_bias_act_fwd_runs_in_place():
    z = cp.asarray(np.random.default_rng(4).normal(size=(300, 40)).astype(np.float32))
    b = cp.arange(40, dtype=cp.float32) / 40
    expected = bias_act_ref(np, cp.asnumpy(z), cp.asnumpy(b), "sigmoid")
    assert kernels.bias_act_fwd(z, b, "sigmoid", out=z) is z
    np.testing.assert_allclose(cp.asnumpy(z), expected, **_tol(np.float32))


@pytest.mark.parametrize("act", ACTS)
def test_linear_epilogue_after_cublas_matmul_matches_numpy(act):
    rng = np.random.default_rng(5)
    K = 300
    x = rng.normal(size=(513, K)).astype(np.float32)
    w = (rng.normal(size=(K, 65)) / np.sqrt(K)).astype(np.float32)
    b = rng.normal(size=65).astype(np.float32)
    out = kernels.bias_act_fwd(cp.asarray(x) @ cp.asarray(w), cp.asarray(b), act)
    expected = bias_act_ref(np, x.astype(np.float64) @ w.astype(np.float64), b, act)
    np.testing.assert_allclose(cp.asnumpy(out), expected, **_tol(np.float32, K))


@pytest.mark.parametrize("shape", [(2**20 + 3, 3), (1025, 257), (33, 1)], ids=str)
def test_bias_gradient_is_bit_identical_across_runs(shape):
    rng = np.random.default_rng(6)
    g = cp.asarray(rng.normal(size=shape).astype(np.float32))
    out = cp.asarray(sigmoid_ref(np, rng.normal(size=shape).astype(np.float32)))
    first = cp.asnumpy(kernels.bias_act_bwd(g, out, "sigmoid")[1]).tobytes()
    for _ in range(3):
        assert cp.asnumpy(kernels.bias_act_bwd(g, out, "sigmoid")[1]).tobytes() == first


def test_size_zero_returns_empty_results():
    dz, db = kernels.bias_act_bwd(cp.zeros((0, 4), cp.float32), None, None)
    assert dz.shape == (0, 4) and db.shape == (4,) and not cp.asnumpy(db).any()
    assert kernels.sigmoid_fwd(cp.zeros((3, 0))).shape == (3, 0)


# ---------------------------------------------------------------- matmul (capture-safe)

MATMUL_SHAPES = [(1, 1, 1), (1, 300, 7), (7, 300, 1), (33, 17, 65), (64, 64, 64),
                 (127, 1000, 129), (1025, 513, 257), (3, 0, 4), (0, 5, 3), (4, 5, 0)]


def _matmul_layouts(a, b):
    """(name, a view, b view) on the device: the same values, read in place by the kernel."""
    yield "contiguous", a, b
    yield "transposed", cp.ascontiguousarray(a.T).T, cp.ascontiguousarray(b.T).T
    yield "reversed", cp.ascontiguousarray(a[::-1])[::-1], cp.ascontiguousarray(b[:, ::-1])[:, ::-1]
    wide = cp.zeros((a.shape[0], 2 * a.shape[1] + 1), a.dtype)
    wide[:, 1::2] = a
    yield "strided", wide[:, 1::2], b


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", MATMUL_SHAPES, ids=str)
def test_matmul_kernel_matches_cupy_matmul(shape, dtype):
    M, K, N = shape
    rng = np.random.default_rng(sum(shape))
    a = cp.asarray(rng.normal(size=(M, K)).astype(dtype))
    b = cp.asarray(rng.normal(size=(K, N)).astype(dtype))
    acc = np.float32 if dtype == np.float16 else dtype
    expected = cp.asnumpy(matmul_ref(cp, a.astype(acc), b.astype(acc)))
    for layout, av, bv in _matmul_layouts(a, b):
        out = kernels.matmul(av, bv)
        assert out.shape == (M, N) and out.dtype == dtype and out.flags.c_contiguous
        np.testing.assert_allclose(cp.asnumpy(out).astype(acc), expected, **_tol(dtype, K),
                                   err_msg=layout)


def test_matmul_kernel_writes_out_and_is_deterministic():
    rng = np.random.default_rng(7)
    a = cp.asarray(rng.normal(size=(300, 700)).astype(np.float32))
    b = cp.asarray(rng.normal(size=(700, 200)).astype(np.float32))
    out = cp.full((300, 200), cp.nan, cp.float32)
    assert kernels.matmul(a, b, out=out) is out
    first = cp.asnumpy(out).tobytes()
    for _ in range(3):
        assert cp.asnumpy(kernels.matmul(a.T.copy().T, b)).tobytes() == first


# ---------------------------------------------------------------- the loader on a device

def test_kernels_switch(monkeypatch):
    monkeypatch.delenv("GRADENGINE_KERNELS", raising=False)
    assert kernels.enabled() is True
    monkeypatch.setenv("GRADENGINE_KERNELS", "0")
    assert kernels.enabled() is False


def test_nvrtc_error_raises_kernel_compile_error_with_the_log(monkeypatch):
    monkeypatch.setattr(kernels, "_functions", {})
    monkeypatch.setattr(kernels, "kernel_source",
                        lambda file: "template <typename T> __global__ void broken(T* x) "
                                     "{ x[0] = undefined_name; }\n")
    with pytest.raises(kernels.KernelCompileError) as info:
        kernels.get_function("broken.cu", "broken<{T}>", np.float32, 0)
    message = str(info.value)
    assert "broken<float>" in message and "broken.cu" in message
    assert "undefined_name" in message


def test_kernels_run_on_the_arrays_device():
    if _device_count() < 2:
        pytest.skip("needs two CUDA devices")
    with cp.cuda.Device(1):
        x = cp.linspace(-5, 5, 1001, dtype=cp.float32)
    y = kernels.sigmoid_fwd(x)
    assert y.device.id == 1
    np.testing.assert_allclose(cp.asnumpy(y), sigmoid_ref(np, cp.asnumpy(x)), atol=2.4e-7)


# ---------------------------------------------------------------- issue 17

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_sigmoid_kernels_keep_a_0d_shape(dtype):
    x = cp.asarray(np.array(0.25, dtype))
    y = kernels.sigmoid_fwd(x)
    assert y.shape == ()
    assert kernels.sigmoid_bwd(y, cp.asarray(np.array(1.0, dtype))).shape == ()


@pytest.mark.parametrize("shape", [(70, 40, 50), (1, 33, 1), (4096, 64, 3)], ids=str)
def test_cublas_binding_in_a_graph_matches_cupy_matmul(shape):
    from gradengine.cuda import gemm, graph
    M, K, N = shape
    rng = np.random.default_rng(0)
    a = cp.asarray(rng.normal(size=(M, K)).astype(np.float32))
    b = cp.asarray(rng.normal(size=(N, K)).astype(np.float32)).T  # a transposed view
    captured = graph.capture(lambda: gemm.matmul(cp, a, b), device_id=0)
    assert gemm.path(a, b) == "cupy"
    for seed in range(2):
        a[...] = cp.asarray(np.random.default_rng(seed).normal(size=(M, K)).astype(np.float32))
        captured.launch()
        np.testing.assert_allclose(cp.asnumpy(captured.result), cp.asnumpy(cp.matmul(a, b)),
                                   rtol=1e-5, atol=1e-5 * np.sqrt(K))


def test_bias_gradient_in_one_launch_is_deterministic_on_the_gpu():
    g = cp.asarray(np.random.default_rng(1).normal(size=(50_000, 96)).astype(np.float32))
    out = kernels.sigmoid_fwd(g)
    first = cp.asnumpy(kernels.bias_act_bwd(g, out, "sigmoid")[1])
    for _ in range(3):
        np.testing.assert_array_equal(cp.asnumpy(kernels.bias_act_bwd(g, out, "sigmoid")[1]),
                                      first)
    dz = cp.asnumpy(kernels.bias_act_bwd(g, out, "sigmoid")[0]).astype(np.float64)
    np.testing.assert_allclose(first, dz.sum(axis=0), rtol=1e-5, atol=1e-3)
