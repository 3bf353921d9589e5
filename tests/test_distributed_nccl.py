"""The NCCL path of gradengine.distributed on the NumPy stand-in for CUDA.

``tests/fake_cupy.py`` plays CuPy (device arrays with addresses, streams); the stand-in
below plays ``cupy.cuda.nccl``: ``get_unique_id``, ``NcclCommunicator(ndev, uid, rank)``
and its ``allReduce`` / ``bcast`` / ``allGather`` on raw device addresses, counts, NCCL
datatype and op codes and a stream handle -- as CuPy's binding is called. It reads and
writes the fake's memory through those addresses (so a wrong pointer, count or dtype gives
wrong numbers), checks that every call runs on the current stream, and moves the bytes
between ranks over MPI. In-process tests use a world of one; the mpiexec tests two ranks.
"""

from __future__ import annotations

import ctypes
import os
import sys
import types

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fake_cupy  # noqa: E402
import test_distributed as td  # noqa: E402

HERE = os.path.abspath(__file__)

NCCL_TYPES = {0: np.int8, 1: np.uint8, 2: np.int32, 3: np.uint32, 4: np.int64, 5: np.uint64,
              6: np.float16, 7: np.float32, 8: np.float64}


def make_nccl(fake, comm=None):
    """A stand-in for ``cupy.cuda.nccl`` over the fake CuPy ``fake`` (ranks over ``comm``,
    an mpi4py communicator, or a world of one)."""
    log = []

    def memory(ptr, count, dtype):
        nbytes = count * np.dtype(dtype).itemsize
        return np.frombuffer((ctypes.c_char * nbytes).from_address(ptr), dtype=dtype)

    def reduce(arrays, op):
        stack = np.stack(arrays)
        return {0: stack.sum(0), 2: stack.max(0), 3: stack.min(0)}[op].astype(arrays[0].dtype)

    class NcclCommunicator:
        def __init__(self, ndev, commId, rank):
            assert isinstance(commId, tuple) and len(commId) == 128
            size = 1 if comm is None else comm.Get_size()
            assert ndev == size and rank == (0 if comm is None else comm.Get_rank())
            if comm is not None:
                assert all(u == commId for u in comm.allgather(commId)), "unique ids differ"
            self.ndev, self.rank, self.device = ndev, rank, fake.cuda.runtime.getDevice()
            log.append(("init", ndev, rank))

        def _stream(self, stream):
            assert stream == fake.cuda.get_current_stream().ptr, "not the current stream"

        def _gather(self, a):
            return [a.copy()] if comm is None else comm.allgather(a.copy())

        def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
            self._stream(stream)
            dt = NCCL_TYPES[datatype]
            out = reduce(self._gather(memory(sendbuf, count, dt)), op)
            memory(recvbuf, count, dt)[:] = out
            log.append(("allReduce", count, np.dtype(dt).name, op))

        def bcast(self, buff, count, datatype, root, stream):
            self._stream(stream)
            dt = NCCL_TYPES[datatype]
            mem = memory(buff, count, dt)
            mem[:] = mem.copy() if comm is None else comm.bcast(mem.copy(), root=root)
            log.append(("bcast", count, np.dtype(dt).name, root))

        def allGather(self, sendbuf, recvbuf, count, datatype, stream):
            self._stream(stream)
            dt = NCCL_TYPES[datatype]
            parts = self._gather(memory(sendbuf, count, dt))
            memory(recvbuf, count * len(parts), dt)[:] = np.concatenate(parts)
            log.append(("allGather", count, np.dtype(dt).name))

    names = {"NCCL_INT8": 0, "NCCL_UINT8": 1, "NCCL_INT32": 2, "NCCL_UINT32": 3,
             "NCCL_INT64": 4, "NCCL_UINT64": 5, "NCCL_FLOAT16": 6, "NCCL_FLOAT32": 7,
             "NCCL_FLOAT64": 8, "NCCL_SUM": 0, "NCCL_PROD": 1, "NCCL_MAX": 2, "NCCL_MIN": 3}
    rng = np.random.default_rng()
    mod = types.SimpleNamespace(available=True, NcclCommunicator=NcclCommunicator,
                                get_unique_id=lambda: tuple(int(v) for v in
                                                            rng.integers(-128, 128, 128)),
                                log=log, **names)
    return mod


def install_fake(comm=None):
    """Fake CuPy with the NCCL stand-in as gradengine's CuPy (in a worker process)."""
    from gradengine import backend
    fake = fake_cupy.make_module()
    fake.cuda.nccl = make_nccl(fake, comm)
    backend._cupy = fake
    sys.modules["cupyx"] = fake_cupy.make_cupyx()
    os.environ["GRADENGINE_KERNELS"] = "0"
    return fake


# ================================================================== worker cases
def case_nccl_collectives(backend_name):
    from mpi4py import MPI
    fake = install_fake(MPI.COMM_WORLD)
    import gradengine as ge
    import gradengine.distributed as dist
    dist.init(backend=backend_name)
    r, n = dist.rank(), dist.world_size()
    log = fake.cuda.nccl.log
    for dtype in ("float16", "float32", "float64", "int16", "int32", "int64"):
        for shape in td.SHAPES:
            data = [td._rank_data(q, shape, dtype) for q in range(n)]
            stack = np.stack(data).astype(np.float64)
            for op, ref in (("sum", stack.sum(0)), ("max", stack.max(0)),
                            ("min", stack.min(0)), ("mean", stack.sum(0) / n)):
                if op == "mean" and not dtype.startswith("float"):
                    ref = np.floor_divide(stack.sum(0), n)
                t = ge.tensor(data[r].copy(), dtype=dtype, device="cuda")
                dist.all_reduce(t, op=op)
                assert isinstance(t.data, fake_cupy.ndarray) and t.shape == shape
                tol = 2e-2 if dtype == "float16" else 1e-6
                np.testing.assert_allclose(t.numpy().astype(np.float64), ref, rtol=tol,
                                           atol=tol, err_msg=f"{op} {dtype} {shape}")
            t = ge.tensor(data[r].copy(), dtype=dtype, device="cuda")
            dist.broadcast(t, src=n - 1)
            np.testing.assert_array_equal(t.numpy(), data[n - 1])
            got = dist.all_gather(ge.tensor(data[r].copy(), dtype=dtype, device="cuda"))
            assert [g.device for g in got] == ["cuda:0"] * n
            for q in range(n):
                np.testing.assert_array_equal(got[q].numpy(), data[q])
    # a transposed (non-contiguous) device view, reduced in place
    base = ge.tensor(np.arange(6.0).reshape(2, 3) * (r + 1), device="cuda")
    dist.all_reduce(base.T)
    np.testing.assert_allclose(base.numpy(), np.arange(6.0).reshape(2, 3) * n * (n + 1) / 2)
    if backend_name != "mpi":
        # a CPU tensor on one rank against a CUDA one (NCCL) on another: refused, not hung
        last = r == n - 1
        for fn in (dist.all_reduce, dist.broadcast, dist.all_gather):
            msg = td._refused(lambda fn=fn: fn(ge.ones(3, device="cuda" if last else "cpu")),
                              "over NCCL", "rank 0")
            assert msg.count("over NCCL") == 1, msg
        t = ge.ones(3, device="cuda")
        dist.all_reduce(t)
        assert (t.numpy() == n).all()
    kinds = {e[0] for e in log}
    if backend_name == "mpi":
        assert log == [], "backend='mpi' must go through host memory, not NCCL"
    else:
        assert {"init", "allReduce", "bcast", "allGather"} <= kinds, kinds
        assert sum(e[0] == "init" for e in log) == 1
        assert all(e[2] != "int16" for e in log if e[0] != "init")  # staged through int32
    print(f"nccl collectives ok ({backend_name}, {len(log)} NCCL calls)", flush=True)


def case_nccl_data_parallel(use_jit):
    from mpi4py import MPI
    fake = install_fake(MPI.COMM_WORLD)
    import gradengine as ge
    import gradengine.distributed as dist
    dist.init(backend="nccl")
    r, n = dist.rank(), dist.world_size()
    rng = np.random.default_rng(7)
    per_rank, steps = 4, 6
    X = rng.normal(size=(2 * per_rank * n, 5))
    Y = rng.normal(size=(2 * per_rank * n, 3))
    ref = td._mlp(0)
    td._train(ref, td._optimizer("adam", ref.parameters()), X, Y, steps, False)
    model = dist.DataParallel(td._mlp(r).to("cuda"))
    shard = np.concatenate([np.arange(h * per_rank * n, (h + 1) * per_rank * n)[r::n]
                            for h in range(2)])

    import gradengine.functional as F
    opt = td._optimizer("adam", model.parameters())

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss
    fn = ge.jit(step) if use_jit == "jit" else step
    Xs, Ys = X[shard], Y[shard]
    for k in range(steps):
        sl = slice((k % 2) * per_rank, (k % 2 + 1) * per_rank)
        fn(ge.tensor(Xs[sl], device="cuda"), ge.tensor(Ys[sl], device="cuda"))
    for p, q in zip(model.parameters(), ref.parameters()):
        assert p.device == "cuda:0"
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-10, atol=1e-12)
    n_reduce = sum(e[0] == "allReduce" for e in fake.cuda.nccl.log)
    assert n_reduce >= steps, n_reduce
    print(f"nccl dp ok ({use_jit}, {n_reduce} allReduce)", flush=True)


CASES = {k[5:]: v for k, v in dict(globals()).items() if k.startswith("case_")}


# ================================================================== tests
@td.mpi
@pytest.mark.parametrize("backend_name", ["nccl", None, "mpi"])
def test_cuda_tensors_go_over_nccl_or_through_host_memory(backend_name):
    out = td.ok(td.run_world(2, "nccl_collectives", str(backend_name),
                             timeout=240, env={"GRADENGINE_KERNELS": "0"}, script=HERE))
    assert out.count("nccl collectives ok") == 2


@td.mpi
@pytest.mark.parametrize("use_jit", ["eager", "jit"])
def test_data_parallel_on_cuda_over_nccl_equals_one_process(use_jit):
    out = td.ok(td.run_world(2, "nccl_data_parallel", use_jit, script=HERE,
                             env={"GRADENGINE_KERNELS": "0"}))
    assert out.count("nccl dp ok") == 2


@pytest.fixture
def world_of_one_nccl(monkeypatch):
    from gradengine import backend
    from gradengine.distributed import world
    fake = fake_cupy.make_module()
    fake.cuda.nccl = make_nccl(fake)
    monkeypatch.setattr(backend, "_cupy", fake)
    monkeypatch.setitem(sys.modules, "cupyx", fake_cupy.make_cupyx())
    monkeypatch.setenv("GRADENGINE_KERNELS", "0")
    monkeypatch.setattr(backend, "_process_default", backend._process_default)
    for var in world._SIZE_VARS:
        monkeypatch.delenv(var, raising=False)
    assert not world.WORLD.initialized
    yield fake
    world._reset(world.WORLD)


def test_a_one_gpu_nccl_world_runs_its_collectives_through_the_communicator(world_of_one_nccl):
    import gradengine as ge
    import gradengine.distributed as dist
    dist.init(backend="nccl")
    log = world_of_one_nccl.cuda.nccl.log
    assert log == [("init", 1, 0)]
    t = ge.tensor([1.0, -2.0, 3.0], device="cuda")
    dist.all_reduce(t, op="max")
    dist.broadcast(t)
    got = dist.all_gather(t)
    assert [e[0] for e in log[1:]] == ["allReduce", "bcast", "allGather"]
    assert t.tolist() == [1.0, -2.0, 3.0] and got[0].tolist() == [1.0, -2.0, 3.0]
    with pytest.raises(ValueError, match="cannot switch"):
        dist.init(backend="mpi")


def test_nccl_without_cupy_says_what_to_install(monkeypatch):
    from gradengine import backend
    from gradengine.distributed import nccl, world
    monkeypatch.setattr(backend, "_cupy", None)
    for var in world._SIZE_VARS:
        monkeypatch.delenv(var, raising=False)
    import gradengine.distributed as dist
    with pytest.raises(RuntimeError, match=r"pip install 'gradengine\[cuda12\]'"):
        dist.init(backend="nccl")
    assert not world.WORLD.initialized and nccl.nccl_module() is None


if __name__ == "__main__":
    args = [None if a == "None" else a for a in sys.argv[2:]]
    CASES[sys.argv[1]](*args)
