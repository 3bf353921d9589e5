"""Capturing a step as a CUDA graph (gradengine.cuda.graph), and the fake CuPy's capture model.

Every test body runs twice: on ``tests/fake_cupy.py`` (always) and on real CuPy (marked
``gpu``; skipped without CuPy or a device). The second run also checks that the fake models
capture as CuPy does: what runs, what is refused, and that a capture leaves the arrays as it
found them.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine import backend
from gradengine.cuda import graph as cuda_graph, kernels
from gradengine.cuda.graph import capture, capturing

import fake_cupy


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
