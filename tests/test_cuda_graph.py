"""Capturing a step as a CUDA graph (gradengine.cuda.graph), and the fake CuPy's capture model.

Every test body runs twice: on ``tests/fake_cupy.py`` (always) and on real CuPy (marked
``gpu``; skipped without CuPy or a device). The second run also checks that the fake models
capture as CuPy does: what runs, what is refused, and that a capture leaves the arrays as it
found them.
"""

from __future__ import annotations

import numpy as np
import pytest

import fake_cupy
import gradengine as ge
from ge_testutil import to_host
from gradengine import backend
from gradengine.cuda import cublas, gemm, kernels
from gradengine.cuda import graph as cuda_graph
from gradengine.cuda.graph import capture, capturing


def _real_cupy():
    try:
        import cupy
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # noqa: BLE001 - no CuPy, no driver or no device
        return None


@pytest.fixture(params=["fake", pytest.param("cuda", marks=pytest.mark.gpu)])
def cp(request, monkeypatch):
    """The CuPy to test against, installed as gradengine's backend."""
    if request.param == "fake":
        module = fake_cupy.make_module()
    else:
        module = _real_cupy()
        if module is None:
            pytest.skip("needs CuPy and a CUDA device")
    monkeypatch.setattr(backend, "_cupy", module)
    return module


def _arrays(cp, *shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [cp.asarray(rng.normal(size=shape)) for shape in shapes]


# ---------------------------------------------------------------- capture and launch

def test_launch_replays_the_step_on_new_input_values(cp):
    a, b = _arrays(cp, (5, 3), (3,))
    out, total = cp.empty((5, 3)), cp.empty(())

    def step():
        t = a * 2 + b  # a temporary, allocated from the graph's pool
        out[...] = cp.tanh(t)
        total[...] = (t * t).sum()

    graph = capture(step, device_id=0)
    rng = np.random.default_rng(1)
    for _ in range(3):
        a_h, b_h = rng.normal(size=(5, 3)), rng.normal(size=3)
        a[...] = cp.asarray(a_h)  # new contents, the same buffers
        b[...] = cp.asarray(b_h)
        graph.launch()
        np.testing.assert_allclose(cp.asnumpy(out), np.tanh(a_h * 2 + b_h), rtol=1e-12)
        np.testing.assert_allclose(cp.asnumpy(total), ((a_h * 2 + b_h) ** 2).sum(),
                                   rtol=1e-12)


def test_capture_leaves_the_state_of_one_call_and_each_launch_adds_one(cp):
    (a,) = _arrays(cp, (4,))
    acc = cp.zeros(4)

    def step():
        acc[...] += a

    graph = capture(step, device_id=0)
    a_h = cp.asnumpy(a)
    np.testing.assert_allclose(cp.asnumpy(acc), a_h)  # the warm-up ran; the capture did not
    for n in range(2, 5):
        graph.launch()
        np.testing.assert_allclose(cp.asnumpy(acc), n * a_h, rtol=1e-12)


def test_result_is_what_the_captured_call_returned_and_launch_refreshes_it(cp):
    (a,) = _arrays(cp, (3, 2))
    graph = capture(lambda: (a * 3, a.sum()), device_id=0)
    product, total = graph.result
    for value in (1.0, -2.5):
        a[...] = value
        assert graph.launch() is graph.result
        np.testing.assert_array_equal(cp.asnumpy(product), np.full((3, 2), 3 * value))
        assert cp.asnumpy(total) == 6 * value


def test_capturing_is_true_only_inside_the_captured_call(cp, monkeypatch):
    seen = []
    (a,) = _arrays(cp, (2,))

    def step():
        seen.append(capturing())
        return a + 1

    assert not capturing()
    capture(step, device_id=0)
    assert seen == [False, True] and not capturing()  # the warm-up, then the capture
    monkeypatch.setattr(backend, "_cupy", None)
    assert capturing() is False


def test_pool_memory_is_constant_across_launches(cp):
    a, b = _arrays(cp, (64, 32), (32,))
    out = cp.empty((64, 32))

    def step():
        out[...] = cp.exp(a - b) / (1 + cp.exp(a - b))
        return out.sum(axis=0)

    before = cuda_graph.pool_bytes()
    graph = capture(step, device_id=0)
    # Every allocation of the warm-up and the capture came from the graph's private pool.
    assert cuda_graph.pool_bytes() == before
    assert graph.pool.used_bytes() >= graph.result.nbytes > 0
    private = graph.pool.used_bytes()
    for _ in range(5):
        graph.launch()
    assert cuda_graph.pool_bytes() == before and graph.pool.used_bytes() == private


# ---------------------------------------------------------------- what cannot be captured

def _refused_steps(cp):
    (a,) = _arrays(cp, (3, 3))
    out = cp.zeros((3, 3))
    generator = cp.random.RandomState(0)  # created outside the capture

    def host_read():
        out[...] = a * 2
        if float(a.sum()) > 1e9:  # a host read: CuPy would have to synchronise
            out[...] = 0

    def cublas():
        out[...] = a * 2
        return a @ a

    def curand():
        out[...] = a * 2
        return generator.standard_normal((3, 3))

    def synchronise():
        out[...] = a * 2
        cp.cuda.get_current_stream().synchronize()

    return a, out, {"is capturing": host_read, "cuBLAS": cublas, "cuRAND": curand,
                    "cudaErrorStreamCapture": synchronise}


@pytest.mark.parametrize("why", ["is capturing", "cuBLAS", "cuRAND", "cudaErrorStreamCapture"])
def test_uncapturable_step_raises_capture_error_and_leaves_cupy_usable(cp, why):
    a, out, steps = _refused_steps(cp)
    allocator = cp.cuda.get_allocator()
    with pytest.raises(ge.CaptureError, match="cannot be captured as a CUDA graph") as info:
        capture(steps[why], device_id=0)
    assert why in str(info.value)
    assert not capturing() and not cp.cuda.get_current_stream().is_capturing()
    assert cp.cuda.get_allocator() == allocator
    # The warm-up's writes are in (and ordered before the caller's work); the refused
    # capture changed nothing.
    np.testing.assert_array_equal(cp.asnumpy(out), cp.asnumpy(a) * 2)
    # Capturing works again at once.
    graph = capture(lambda: cp.multiply(a, 3, out=out), device_id=0)
    graph.launch()
    np.testing.assert_array_equal(cp.asnumpy(out), cp.asnumpy(a) * 3)


def test_error_in_the_warm_up_propagates_unchanged(cp):
    allocator = cp.cuda.get_allocator()

    def step():
        raise ValueError("the step itself is broken")

    with pytest.raises(ValueError, match="the step itself is broken"):
        capture(step, device_id=0)
    assert cp.cuda.get_allocator() == allocator and not capturing()


def test_capture_without_cupy_is_a_device_error(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    with pytest.raises(ge.DeviceError, match="capture: CUDA graphs need CuPy"):
        capture(lambda: None, device_id=0)
    assert cuda_graph.pool_bytes() == 0


# ---------------------------------------------------------------- raw stream capture

def test_stream_capture_records_work_that_a_graph_launch_replays(cp):
    (a,) = _arrays(cp, (4,))
    before = cp.asnumpy(a)
    acc = cp.zeros(4)
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        s.begin_capture()
        assert s.is_capturing() and not cp.cuda.Stream.null.is_capturing()
        acc += a
        doubled = acc * 2
        graph = s.end_capture()
    assert not s.is_capturing()
    s.synchronize()
    np.testing.assert_array_equal(cp.asnumpy(acc), np.zeros(4))  # capturing ran nothing
    graph.launch(s)
    graph.launch(s)
    s.synchronize()
    np.testing.assert_array_equal(cp.asnumpy(acc), 2 * before)
    np.testing.assert_array_equal(cp.asnumpy(doubled), 4 * before)


@pytest.mark.parametrize("read", ["get", "asnumpy", "item", "tolist", "bool", "float", "int"])
def test_host_reads_while_capturing_raise_and_the_capture_stays_valid(cp, read):
    x = cp.ones(())
    reads = {"get": lambda: x.get(), "asnumpy": lambda: cp.asnumpy(x), "item": x.item,
             "tolist": x.tolist, "bool": lambda: bool(x), "float": lambda: float(x),
             "int": lambda: int(x)}
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        s.begin_capture()
        with pytest.raises(RuntimeError, match="is capturing"):
            reads[read]()
        s.end_capture()
    assert not s.is_capturing()


def test_library_calls_while_capturing_raise_not_implemented(cp):
    a, b = cp.ones((3, 4)), cp.ones((4, 5))
    generator = cp.random.RandomState(1)
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        s.begin_capture()
        for call in (lambda: a @ b, lambda: cp.matmul(a, b), lambda: cp.dot(a, b),
                     lambda: cp.tensordot(a, b, axes=1)):
            with pytest.raises(NotImplementedError, match="cuBLAS"):
                call()
        with pytest.raises(NotImplementedError, match="cuRAND"):
            generator.uniform(size=4)
        s.end_capture()
    assert not s.is_capturing()


def test_synchronising_a_capturing_stream_invalidates_the_capture(cp):
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        s.begin_capture()
        with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="StreamCaptureUnsupported"):
            s.synchronize()
        with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="StreamCaptureInvalidated"):
            s.end_capture()
    assert not s.is_capturing()
    s.synchronize()


def test_the_fake_counts_pool_bytes_per_allocator():
    fake = fake_cupy.make_module()
    pool = fake.cuda.MemoryPool()
    with fake.cuda.using_allocator(pool.malloc):
        x = fake.zeros(10)
        view = x[2:]
    assert pool.used_bytes() == 80 and fake.get_default_memory_pool().used_bytes() == 0
    del x
    assert pool.used_bytes() == 80  # the view keeps its base alive
    del view
    assert pool.used_bytes() == 0 and pool.total_bytes() == 80
    fake.cuda.set_allocator(pool.malloc)
    with pytest.raises(ValueError, match="using_allocator"), fake.cuda.using_allocator(None):
        fake.cuda.set_allocator(None)
    fake.cuda.set_allocator(fake.get_default_memory_pool().malloc)


# ---------------------------------------------------------------- the matmul kernel

@pytest.mark.gpu
def test_matmul_kernel_is_capture_safe(monkeypatch):
    real = _real_cupy()
    if real is None:
        pytest.skip("needs CuPy and a CUDA device")
    monkeypatch.setattr(backend, "_cupy", real)
    monkeypatch.delenv("GRADENGINE_KERNELS", raising=False)
    rng = np.random.default_rng(3)
    a = real.asarray(rng.normal(size=(70, 40)).astype(np.float32))
    b = real.asarray(rng.normal(size=(50, 40)).astype(np.float32))
    out = real.empty((70, 50), np.float32)

    def step():
        kernels.matmul(a, b.T, out=out)  # a transposed view, read in place
        return kernels.matmul(out, b) * 2

    graph = capture(step, device_id=0)
    for seed in range(3):
        a_h = np.random.default_rng(seed).normal(size=(70, 40)).astype(np.float32)
        a[...] = real.asarray(a_h)
        graph.launch()
        b_h = real.asnumpy(b).astype(np.float64)
        expected = a_h.astype(np.float64) @ b_h.T
        np.testing.assert_allclose(real.asnumpy(out), expected, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(real.asnumpy(graph.result), 2 * (expected @ b_h),
                                   rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------- one GEMM path, capture-safe



def _fake_with(monkeypatch, **kwargs):
    module = fake_cupy.make_module(**kwargs)
    monkeypatch.setattr(backend, "_cupy", module)
    return module


def test_warm_up_capture_and_replay_take_the_same_gemm(monkeypatch):
    cp = _fake_with(monkeypatch)
    a, b = _arrays(cp, (5, 4), (4, 3))
    paths, flags = [], []

    def step():
        flags.append(cuda_graph.active())
        paths.append(gemm.path(a, b))
        return ge.matmul(ge.Tensor(a, device="cuda"), ge.Tensor(b, device="cuda")).data

    assert not cuda_graph.active()
    graph = capture(step, device_id=0)
    assert flags == [True, True] and paths == ["cublas", "cublas"] and not cuda_graph.active()
    calls = cp._gradengine_cublas.calls
    assert [c[-1] for c in calls] == [False, True]  # the warm-up ran it, then the capture
    a[...] = 2.0
    graph.launch()
    np.testing.assert_allclose(cp.asnumpy(graph.result), 2.0 * cp.asnumpy(b).sum(axis=0)[None]
                               .repeat(5, axis=0), rtol=1e-12)
    assert graph.resources.nbytes() == cublas.WORKSPACE_BYTES  # the workspace is the graph's
    assert gemm.path(a, b) == "cupy"  # eager: cupy.matmul


def test_the_cublas_handle_and_workspace_are_made_in_the_warm_up_not_in_the_capture(monkeypatch):
    cp = _fake_with(monkeypatch)
    a, b = _arrays(cp, (3, 3), (3, 3))
    with cp.cuda.Stream(non_blocking=True) as s:
        s.begin_capture()
        with cuda_graph.capture_path():
            with pytest.raises(ge.errors.CaptureError, match="warm-up"):
                gemm.matmul(cp, a, b)  # no warm-up: cublasCreate would run in the capture
        s.end_capture()


GEMM_LAYOUTS = ["contiguous", "transposed", "strided", "reversed", "stride0", "sliced"]


def _layout(cp, x, layout):
    if layout == "contiguous":
        return cp.asarray(x)
    if layout == "transposed":
        return cp.ascontiguousarray(cp.asarray(x).T).T
    if layout == "strided":
        wide = cp.zeros((x.shape[0], 2 * x.shape[1] + 1))
        wide[:, 1::2] = cp.asarray(x)
        return wide[:, 1::2]
    if layout == "reversed":
        return cp.ascontiguousarray(cp.asarray(x)[::-1])[::-1]
    if layout == "stride0":
        return cp.broadcast_to(cp.asarray(x[:1]), x.shape)
    wide = cp.zeros((x.shape[0] + 2, x.shape[1] + 3))  # a view with a larger row stride
    wide[1:-1, 2:-1] = cp.asarray(x)
    return wide[1:-1, 2:-1]


@pytest.mark.parametrize("shape", [(5, 4, 3), (1, 7, 1), (1, 7, 5), (6, 7, 1), (6, 1, 5),
                                   (1, 1, 1), (33, 17, 9)], ids=str)
@pytest.mark.parametrize("layout_a", GEMM_LAYOUTS)
@pytest.mark.parametrize("layout_b", ["contiguous", "transposed", "sliced", "stride0"])
def test_cublas_binding_matches_numpy_in_every_layout(monkeypatch, shape, layout_a, layout_b):
    # The stand-in's cuBLAS reads memory through the pointers and leading dimensions the
    # binding passes, column-major: wrong operand order, op or ld gives wrong numbers or an
    # out-of-bounds read.
    cp = _fake_with(monkeypatch)
    M, K, N = shape
    rng = np.random.default_rng(M * 100 + K * 10 + N)
    a_h, b_h = rng.normal(size=(M, K)), rng.normal(size=(K, N))
    a, b = _layout(cp, a_h, layout_a), _layout(cp, b_h, layout_b)
    expected = cp.asnumpy(a) @ cp.asnumpy(b)
    out = cp.empty((M, N))
    workspace = cp.empty((cublas.WORKSPACE_BYTES,), cp.uint8)
    assert cublas.gemm(a, b, out, workspace) is out
    np.testing.assert_allclose(cp.asnumpy(out), expected, rtol=1e-12, atol=1e-12)


def test_cublas_binding_reads_plain_and_transposed_operands_in_place(monkeypatch):
    cp = _fake_with(monkeypatch)
    a = cp.asarray(np.arange(12.0).reshape(3, 4))
    b = cp.asarray(np.arange(10.0).reshape(2, 5))
    model = cp._gradengine_cublas
    out = cp.empty((3, 2))
    cublas.gemm(a, cp.ascontiguousarray(cp.asarray(np.ones((2, 4)))).T, out,
                cp.empty((4 << 20,), cp.uint8))
    # C^T = B^T A^T: cuBLAS's A is our b (transposed view: op T, ld 4), its B our a (op N)
    assert model.calls[-1][:8] == (cublas.OP_T, cublas.OP_N, 2, 3, 4, 4, 4, 2)
    out = cp.empty((3, 5))
    cublas.gemm(a[:, :2], b, out, cp.empty((4 << 20,), cp.uint8))
    assert model.calls[-1][:8] == (cublas.OP_N, cublas.OP_N, 5, 3, 2, 5, 4, 5)  # ld = 4: a view
    np.testing.assert_allclose(cp.asnumpy(out), np.arange(12.0).reshape(3, 4)[:, :2] @
                               np.arange(10.0).reshape(2, 5))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_cublas_binding_keeps_the_dtype_and_gives_zeros_for_k_0(monkeypatch, dtype):
    cp = _fake_with(monkeypatch)
    a = cp.asarray(np.full((2, 3), 0.5, dtype))
    out = cp.empty((2, 2), dtype)
    ws = cp.empty((4 << 20,), cp.uint8)
    cublas.gemm(a, cp.asarray(np.ones((3, 2), dtype)), out, ws)
    assert out.dtype == dtype
    np.testing.assert_array_equal(cp.asnumpy(out), np.full((2, 2), 1.5, dtype))
    cublas.gemm(cp.ones((2, 0), dtype), cp.ones((0, 2), dtype), out, ws)
    np.testing.assert_array_equal(cp.asnumpy(out), np.zeros((2, 2)))


def test_the_stand_in_cublas_refuses_what_cublas_would_get_wrong(monkeypatch):
    cp = _fake_with(monkeypatch)
    lib = cublas.library()
    handle = lib.create()
    a, out = cp.ones((4, 4)), cp.empty((4, 4))
    ws = cp.empty((4 << 20,), cp.uint8)
    with cp.cuda.Stream(non_blocking=True) as s:
        lib.set_stream(handle, s.ptr)
    with pytest.raises(fake_cupy.CublasError, match="out of order"):  # bound to another stream
        lib.gemm(handle, 0, 0, 4, 4, 4, 1.0, a, 4, a, 4, 0.0, out, 4)
    lib.set_stream(handle, cp.cuda.get_current_stream().ptr)
    with pytest.raises(fake_cupy.CublasError, match="INVALID_VALUE"):
        lib.gemm(handle, 0, 0, 4, 4, 4, 1.0, a, 3, a, 4, 0.0, out, 4)
    with pytest.raises(fake_cupy.CublasError, match="past the end"):
        lib.gemm(handle, 0, 0, 4, 4, 4, 1.0, a, 5, a, 4, 0.0, out, 4)
    with cp.cuda.Stream(non_blocking=True) as s:
        lib.set_stream(handle, s.ptr)
        s.begin_capture()
        with pytest.raises(fake_cupy.CublasError, match="without a workspace"):
            lib.gemm(handle, 0, 0, 4, 4, 4, 1.0, a, 4, a, 4, 0.0, out, 4)
        lib.set_workspace(handle, ws)
        lib.gemm(handle, 0, 0, 4, 4, 4, 1.0, a, 4, a, 4, 0.0, out, 4)
        s.end_capture()


class _RecordingCDLL:
    """Stands in for libcublas under ctypes: records each call's arguments."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args):
            self.calls.append((name, args))
            if name == "cublasCreate_v2":
                args[0]._obj.value = 0xABC
            return 0
        call.restype = None
        setattr(self, name, call)
        return call


def test_ctypes_library_passes_cublas_gemmex_its_arguments_in_order():
    cdll = _RecordingCDLL()
    lib = cublas.Library(cdll)
    assert lib.create() == 0xABC
    a = np.ones((3, 4), np.float32)
    b = np.ones((4, 2), np.float32)
    c = np.empty((3, 2), np.float32)
    lib.set_stream(0xABC, 0x1234)
    lib.set_workspace(0xABC, np.empty(4 << 20, np.uint8))
    lib.gemm(0xABC, cublas.OP_T, cublas.OP_N, 2, 3, 4, 1.0, b, 2, a, 4, 0.0, c, 2)
    names = [n for n, _ in cdll.calls]
    assert names == ["cublasCreate_v2", "cublasSetStream_v2", "cublasSetWorkspace_v2",
                     "cublasGemmEx"]
    args = cdll.calls[-1][1]
    values = [getattr(x, "value", None) for x in args]
    assert values[1:6] == [cublas.OP_T, cublas.OP_N, 2, 3, 4]
    assert args[6]._obj.value == 1.0 and args[13]._obj.value == 0.0  # alpha, beta by reference
    assert values[7] == b.ctypes.data and values[10] == a.ctypes.data
    assert values[14] == c.ctypes.data
    assert values[8] == values[11] == values[15] == 0  # CUDA_R_32F for A, B and C
    assert values[9] == 2 and values[12] == 4 and values[16] == 2  # lda, ldb, ldc
    assert values[17] == 68 and values[18] == -1  # CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT
    assert cdll.calls[2][1][2].value == 4 << 20


def test_without_cublas_the_capture_uses_the_kernel_or_the_chunked_product(monkeypatch):
    cp = _fake_with(monkeypatch, cublas=False)
    a, b = _arrays(cp, (4, 3), (3, 2))
    with cuda_graph.capture_path():
        monkeypatch.setenv("GRADENGINE_KERNELS", "1")
        assert gemm.path(a, b) == "kernel"
        monkeypatch.setenv("GRADENGINE_KERNELS", "0")
        assert gemm.path(a, b) == "chunked"
        assert gemm.path(a[0], b) == "cupy"  # not 2-D: CuPy's own (capturable or refused)


def test_kernels_off_capture_safe_matmul_never_builds_an_m_k_n_temporary(monkeypatch):
    cp = _fake_with(monkeypatch, cublas=False)
    monkeypatch.setenv("GRADENGINE_KERNELS", "0")
    monkeypatch.setattr(gemm, "CHUNK_ELEMENTS", 2048)
    M, K, N = 64, 96, 32
    a, b = _arrays(cp, (M, K), (K, N))
    graph = capture(lambda: gemm.matmul(cp, a, b), device_id=0)
    graph.launch()
    np.testing.assert_allclose(cp.asnumpy(graph.result), cp.asnumpy(a) @ cp.asnumpy(b),
                               rtol=1e-12, atol=1e-12)
    # the private pool's high-water mark: a few M x N arrays, never M x K x N
    assert graph.pool.total_bytes() < M * K * N * 8 // 8


def test_host_to_device_copies_are_refused_while_capturing(cp):
    host = np.ones(3)
    a = cp.zeros(3)
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        s.begin_capture()
        for upload in (lambda: cp.asarray(host), lambda: cp.array(host),
                       lambda: a.set(host), lambda: a.__setitem__(slice(None), host)):
            with pytest.raises(RuntimeError, match="is capturing"):
                upload()
        a[...] = 2.0  # a Python scalar is a kernel argument, not a copy
        s.end_capture()
    assert not s.is_capturing()


def test_vector_dot_and_empty_matmuls_are_capturable(cp):
    v, w = cp.ones(4), cp.ones(4)
    e, f = cp.ones((3, 0)), cp.ones((0, 2))
    s = cp.cuda.Stream(non_blocking=True)
    with s:
        s.begin_capture()
        dot = cp.matmul(v, w)
        inner = v @ w
        zeros = cp.matmul(e, f)
        row_col = cp.matmul(cp.ones((1, 4)), cp.ones((4, 1)))
        graph = s.end_capture()
    graph.launch(s)
    s.synchronize()
    assert float(cp.asnumpy(dot)) == float(cp.asnumpy(inner)) == 4.0
    np.testing.assert_array_equal(cp.asnumpy(zeros), np.zeros((3, 2)))
    assert cp.asnumpy(row_col).shape == (1, 1)


def test_graph_bytes_counts_the_private_pools_of_live_graphs(fake_gpu):
    import gc
    buf = fake_gpu.zeros(1024, dtype="float32")

    def step():
        return buf * 2 + 1

    gc.collect()  # graphs that earlier tests dropped but the collector has not yet freed
    before = cuda_graph.graph_bytes()
    graph = capture(step)
    held = cuda_graph.graph_bytes()
    assert held > before and held >= graph.pool.used_bytes()
    del graph
    gc.collect()
    assert cuda_graph.graph_bytes() == before


def test_cuda_benchmark_rows_use_at_least_2_to_the_26_elements():
    from gradengine.benchmarks.env import SIZES
    assert min(SIZES["quick"]["sigmoid_cuda"]) >= 2 ** 26
    assert min(SIZES["full"]["sigmoid_cuda"]) >= 2 ** 26


def test_a_program_that_draws_is_not_baked_into_a_cuda_graph(cp):
    f = ge.jit(lambda x: x * ge.rand(3, device="cuda"))
    x = ge.ones(3, device="cuda")
    f(x)
    prog = next(iter(f.programs.values()))
    assert prog.graph is not None and not prog.graph.usable
    assert "random" in prog.graph.reason
    ge.manual_seed(3)
    a = to_host(f(x))
    ge.manual_seed(3)
    assert np.array_equal(a, to_host(ge.rand(3, device="cuda")))
