"""gradengine.distributed over real MPI worlds: ``mpiexec -n 2`` and ``-n 3`` on localhost.

Each test starts ``mpiexec -n N python tests/test_distributed.py CASE`` (this file is also
the worker: the ``case_*`` functions below run on every rank and assert against NumPy or
against one process training on the whole batch). Skipped cleanly when mpi4py or
``mpiexec`` is absent; every run is bounded by a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.abspath(__file__)
TIMEOUT = 120


def _mpiexec():
    cand = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return cand if os.path.exists(cand) else shutil.which("mpiexec")


def _has_mpi():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return _mpiexec() is not None


_skip = pytest.mark.skipif(not _has_mpi(), reason="needs mpi4py and mpiexec "
                           "(pip install 'gradengine[mpi]')")


def mpi(fn):
    """Mark a test that starts mpiexec worlds: ``-m mpi`` selects them, and they skip
    cleanly where mpi4py or mpiexec is absent."""
    return pytest.mark.mpi(_skip(fn))


def mpi_flags(exe):
    """Open MPI refuses more ranks than cores and running as root unless told."""
    try:
        text = subprocess.run([exe, "--version"], capture_output=True, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        text = ""
    if "Open MPI" in text or "OpenRTE" in text:
        return ["--oversubscribe", "--allow-run-as-root"]
    return []


def run_world(n, case, *args, timeout=TIMEOUT, env=None, script=HERE):
    exe = _mpiexec()
    e = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
             OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    e.update(env or {})
    cmd = [exe, "-n", str(n)] + mpi_flags(exe) + [sys.executable, script, case, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e,
                          cwd=ROOT, check=False)


def ok(res):
    assert res.returncode == 0, f"exit {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n" \
                                f"{res.stderr}"
    return res.stdout


# ================================================================== the worker cases
def _world():
    import gradengine.distributed as dist
    dist.init()
    return dist, dist.rank(), dist.world_size()


def case_world():
    dist, r, n = _world()
    assert dist.is_initialized() and 0 <= r < n
    assert 0 <= dist.local_rank() < n  # all on localhost
    from mpi4py import MPI
    assert (MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()) == (r, n)
    dist.barrier()
    dist.init()  # again: nothing happens
    print(f"rank {r} of {n} local {dist.local_rank()}", flush=True)


def _rank_data(r, shape, dtype):
    rng = np.random.default_rng(100 + r)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-4, 4, shape).astype(dtype)
    return rng.integers(-50, 50, shape).astype(dtype) if np.dtype(dtype).kind == "i" else \
        rng.integers(0, 50, shape).astype(dtype)


SHAPES = [(), (0,), (0, 3), (1,), (7,), (3, 4), (2, 3, 5)]
DTYPES = ["float16", "float32", "float64", "int32", "int64", "uint8"]


def case_collectives():
    import gradengine as ge
    dist, r, n = _world()
    for dtype in DTYPES:
        for shape in SHAPES:
            all_data = [_rank_data(q, shape, dtype) for q in range(n)]
            stack = np.stack(all_data).astype(np.float64)
            refs = {"sum": stack.sum(0), "max": stack.max(0), "min": stack.min(0)}
            refs["mean"] = stack.sum(0) / n if dtype.startswith("float") else \
                np.floor_divide(stack.sum(0), n)
            for op, ref in refs.items():
                if dtype == "uint8" and op in ("sum", "mean"):
                    ref = np.mod(stack.sum(0), 256) if op == "sum" else \
                        np.floor_divide(np.mod(stack.sum(0), 256), n)
                t = ge.tensor(all_data[r].copy(), dtype=dtype)
                v0 = t._version
                out = dist.all_reduce(t, op=op)
                assert out is t and t.shape == shape and t.dtype == np.dtype(dtype)
                assert t._version == v0 + 1
                tol = 2e-3 * n * 4 if dtype == "float16" else 1e-6
                np.testing.assert_allclose(t.numpy().astype(np.float64), ref, rtol=tol,
                                           atol=tol, err_msg=f"{op} {dtype} {shape}")
            src = n - 1
            t = ge.tensor(all_data[r].copy(), dtype=dtype)
            dist.broadcast(t, src=src)
            np.testing.assert_array_equal(t.numpy(), all_data[src])
            got = dist.all_gather(ge.tensor(all_data[r].copy(), dtype=dtype))
            assert len(got) == n
            for q in range(n):
                assert got[q].shape == shape and got[q].dtype == np.dtype(dtype)
                np.testing.assert_array_equal(got[q].numpy(), all_data[q])
    # a non-contiguous view is reduced in place, its base sees it
    base = ge.tensor(np.arange(12.0).reshape(3, 4) * (r + 1))
    view = base.T
    dist.all_reduce(view, op="sum")
    np.testing.assert_allclose(base.numpy(), np.arange(12.0).reshape(3, 4) * n * (n + 1) / 2)
    # mismatched shapes: the same clear error on every rank, naming both
    from gradengine.errors import ShapeError
    bad = ge.zeros((2, 3) if r == 0 else (3, 2))
    try:
        dist.all_reduce(bad)
    except ShapeError as exc:
        msg = str(exc)
        assert "rank 0" in msg and "(2, 3)" in msg and "(3, 2)" in msg, msg
    else:
        raise AssertionError("mismatched shapes were not refused")
    bad = ge.zeros(3, dtype="float32" if r == 0 else "float64")
    try:
        dist.broadcast(bad)
    except ShapeError as exc:
        assert "float32" in str(exc) and "float64" in str(exc), str(exc)
    else:
        raise AssertionError("mismatched dtypes were not refused")
    # and the world still works afterwards
    t = ge.ones(4)
    dist.all_reduce(t)
    assert (t.numpy() == n).all()
    print("collectives ok", flush=True)


def _refused(fn, *names):
    """``fn()`` must raise the ShapeError that names every one of ``names``."""
    from gradengine.errors import ShapeError
    try:
        fn()
    except ShapeError as exc:
        msg = str(exc)
        assert "the ranks disagree" in msg and all(x in msg for x in names), msg
        return msg
    raise AssertionError(f"not refused: {names}")


def case_mismatch():
    """Every kind of disagreement raises the same clear error on every rank, whatever each
    rank has seen before (the handshake is made on every call: a signature cached on one
    rank only, or on both, changes nothing), and the world goes on working afterwards."""
    import gradengine as ge
    dist, r, n = _world()
    last = r == n - 1
    for _ in range(3):  # both signatures seen (and agreed) before on every rank
        dist.all_reduce(ge.ones(5))
        dist.all_reduce(ge.ones(6))
    _refused(lambda: dist.all_reduce(ge.ones(6 if last else 5)), "rank 0", f"rank {n - 1}",
             "(5,)", "(6,)")
    # a shape that only one rank has seen (agreed) before, another never
    _refused(lambda: dist.all_reduce(ge.ones((7, 2) if last else 5)), "(5,)", "(7, 2)")
    _refused(lambda: dist.all_reduce(ge.ones(5, dtype="float64" if last else "float32")),
             "float32", "float64")
    _refused(lambda: dist.all_reduce(ge.ones(5), op="max" if last else "sum"),
             "op='sum'", "op='max'")
    _refused(lambda: dist.all_reduce(ge.ones(0 if last else 1)), "(0,)", "(1,)")
    _refused(lambda: dist.all_reduce(ge.ones(5, dtype="int64" if last else "float32")),
             "int64", "float32")
    big = 2 ** 18  # 1 MiB of float32 against one element more
    _refused(lambda: dist.all_reduce(ge.zeros(big + (1 if last else 0))), f"({big},)",
             f"({big + 1},)")
    _refused(lambda: dist.broadcast(ge.ones(3), src=n - 1 if last else 0), "src=0",
             f"src={n - 1}")
    _refused(lambda: dist.all_gather(ge.ones(2 if last else 3)), "(2,)", "(3,)")
    _refused(lambda: (dist.all_gather if last else dist.all_reduce)(ge.ones(3)),
             "all_reduce", "all_gather")
    for shape in [(5,), (6,), (big,)]:  # and everything still works, cached or not
        t = ge.ones(shape)
        dist.all_reduce(t)
        assert (t.numpy() == n).all()
    print("mismatch ok", flush=True)


def case_dp_layout_one_rank():
    """A backward that takes another branch on one rank only (a parameter without a
    gradient there: a layout the other ranks never see) raises on every rank -- during the
    backward on the ranks that started a bucket's all-reduce, at its end on the other --
    instead of hanging; afterwards the ranks train on, equal."""
    import gradengine as ge
    from gradengine import nn, optim
    from gradengine.errors import ShapeError
    dist, r, n = _world()
    ge.manual_seed(0)

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 3)
            self.b = nn.Linear(4, 3)

        def forward(self, x, both):
            y = self.a(x)
            return y + self.b(x) if both else y
    model = dist.DataParallel(TwoHeads())
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = ge.tensor(np.full((2, 4), r + 1.0, dtype=np.float32))
    refused = 0
    for step in range(6):
        opt.zero_grad()
        loss = model(x, not (step == 2 and r == n - 1)).sum()
        try:
            loss.backward()
        except ShapeError as exc:
            assert step == 2 and "the ranks disagree" in str(exc), (step, str(exc))
            assert "gradient" in str(exc) and "rank 0" in str(exc), str(exc)
            refused += 1
            continue
        opt.step()
    assert refused == 1
    flat = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    from mpi4py import MPI
    assert all(np.array_equal(flat, f) for f in MPI.COMM_WORLD.allgather(flat))
    print("dp layout ok", flush=True)


def _mlp(seed, dtype="float64"):
    import gradengine as ge
    from gradengine import nn
    ge.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(),
                         nn.Linear(8, 3)).to(dtype=dtype)


def _optimizer(name, params):
    from gradengine import optim
    if name == "sgd":
        return optim.SGD(params, lr=0.1, momentum=0.9)
    return optim.Adam(params, lr=0.01)


def _train(model, opt, X, Y, steps, use_jit):
    import gradengine as ge
    import gradengine.functional as F

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss
    fn = ge.jit(step) if use_jit else step
    for k in range(steps):
        sl = slice((k % 2) * (len(X) // 2), (k % 2 + 1) * (len(X) // 2))
        fn(ge.tensor(X[sl]), ge.tensor(Y[sl]))
    return fn


def case_data_parallel(opt_name, use_jit, cap_mb):
    import gradengine as ge  # noqa: F401
    dist, r, n = _world()
    use_jit = use_jit == "jit"
    cap_mb = float(cap_mb)
    per_rank, steps = 6, 8
    rng = np.random.default_rng(7)
    X = rng.normal(size=(2 * per_rank * n, 5))
    Y = rng.normal(size=(2 * per_rank * n, 3))
    # one process on the whole batch (every rank computes it alone, no collectives)
    ref = _mlp(0)
    _train(ref, _optimizer(opt_name, ref.parameters()), X, Y, steps, use_jit)
    # N ranks, each on its shard of every batch; rank r starts from other weights, and
    # DataParallel must replace them with rank 0's
    model = dist.DataParallel(_mlp(r), bucket_cap_mb=cap_mb)
    shard = np.concatenate([np.arange(h * per_rank * n, (h + 1) * per_rank * n)[r::n]
                            for h in range(2)])
    fn = _train(model, _optimizer(opt_name, model.parameters()), X[shard], Y[shard], steps,
                use_jit)
    for (name, p), q in zip(model.module.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    mine = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    from mpi4py import MPI
    first = MPI.COMM_WORLD.bcast(mine, root=0)
    np.testing.assert_array_equal(mine, first)  # bit-equal on every rank
    av = model.averager
    if use_jit:
        progs = [p for p in fn.programs.values()]
        assert progs and all(p is not None for p in progs), "the step did not replay"
        assert all(f.reduce is not None for p in progs for f in p.flat_steps)
        # the traced steps reduce bucket by bucket, every replay once (the flat buffer)
        assert av.collectives == len(av.buckets) * fn.traces + (steps - fn.traces), \
            (av.collectives, len(av.buckets), fn.traces)
    else:
        assert av.collectives == len(av.buckets) * steps
        # from the second step on (the layout is known) every bucket's all-reduce starts
        # during the backward, as soon as its gradients are final
        assert av.overlapped == len(av.buckets) * (steps - 1), (av.overlapped, steps)
    if cap_mb < 0.01:
        assert len(av.buckets) > 1
    print(f"dp ok buckets={len(av.buckets)} collectives={av.collectives}", flush=True)


def case_sampler():
    import gradengine as ge
    dist, r, n = _world()
    for total in (0, 1, 10, 11, 12, 13):
        s = dist.DistributedSampler(total, shuffle=True, seed=3)
        for epoch in (0, 1):
            s.set_epoch(epoch)
            mine = s.indices()
            assert len(mine) == len(s) == -(-total // n)
            got = dist.all_gather(ge.tensor(mine, dtype="int64"))
            every = np.concatenate([g.numpy() for g in got])
            assert set(every.tolist()) == set(range(total))
            if total % n == 0:  # no padding: disjoint
                assert len(set(every.tolist())) == len(every)
            again = dist.DistributedSampler(total, shuffle=True, seed=3)
            again.set_epoch(epoch)
            np.testing.assert_array_equal(again.indices(), mine)
        if total >= 10:
            s.set_epoch(0)
            a = s.indices()
            s.set_epoch(1)
            assert not np.array_equal(a, s.indices())
    print("sampler ok", flush=True)


def case_fault(where):
    dist, r, n = _world()
    import gradengine as ge
    dist.barrier()
    if r == n - 1:
        raise ValueError(f"deliberate failure on rank {r}")
    t = ge.ones(3)
    if where == "collective":
        dist.all_reduce(t)  # waits for the rank that died: must be aborted, not hang
    else:
        time.sleep(60)
    print("should not get here", flush=True)


def case_keras_fit(use_jit):
    """A fit-like loop wired as docs/distributed.md tells keras/model.py to wire it."""
    import gradengine as ge
    import gradengine.functional as F
    from gradengine.distributed import keras as dist_fit
    dist, r, n = _world()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 5))
    Y = rng.normal(size=(50, 3))
    model = _mlp(10 + r)   # a different start on every rank
    opt = _optimizer("adam", model.parameters())
    world = dist_fit.begin(model, seed=5)
    assert world is not None and world.seed == 5

    class Saver:
        filepath = "ckpt.ge"
    cbs = world.callbacks(["history", Saver()])
    assert (len(cbs) == 2) == (r == 0)
    verbose = world.verbose(1)

    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = F.mse_loss(out, y)
        loss.backward()
        opt.step()
        return loss, F.mse_loss(out, y)
    fn = ge.jit(step) if use_jit == "jit" else step
    history = []
    batch = 8
    for epoch in range(3):
        order = world.epoch_indices(len(X), epoch, shuffle=True)
        Xe, Ye = X[order], Y[order]
        sums, seen = [0.0, 0.0], 0
        for start in range(0, len(order), batch):
            loss, metric = fn(ge.tensor(Xe[start:start + batch]),
                              ge.tensor(Ye[start:start + batch]))
            nb = len(Xe[start:start + batch])
            sums = [sums[0] + float(loss.data) * nb, sums[1] + float(metric.data) * nb]
            seen += nb
        logs = world.logs(["loss", "mse"], sums, seen)
        history.append(logs["loss"])
        if verbose:
            print(f"Epoch {epoch + 1}/3 - loss: {logs['loss']:.6f}", flush=True)
    world.close()
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    flat = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    assert all(np.array_equal(flat, f) for f in comm.allgather(flat)), "weights differ"
    assert all(h == history for h in comm.allgather(history)), "histories differ"
    # after close, a backward no longer averages
    from gradengine.optim import SGD  # noqa: F401
    loss = F.mse_loss(model(ge.tensor(X[r::n][:4])), ge.tensor(Y[r::n][:4]))
    opt.zero_grad()
    loss.backward()
    g = model.parameters()[0].grad.numpy()
    assert not all(np.array_equal(g, x) for x in comm.allgather(g))


def case_real_keras_fit(use_jit):
    """The Keras model's own fit in a world of N: rank 0's weights everywhere, equal weights
    and equal history on every rank after training, one progress output (rank 0's)."""
    from mpi4py import MPI

    import gradengine as ge
    from gradengine.keras.layers import Dense
    from gradengine.keras.models import Sequential
    dist, r, n = _world()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    Y = rng.normal(size=(60, 1)).astype(np.float32)
    ge.manual_seed(10 + r)   # a different start on every rank: fit must broadcast rank 0's
    model = Sequential([Dense(8, activation="tanh", input_shape=(4,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"], jit_compile=use_jit == "jit")
    h = model.fit(X, Y, epochs=3, batch_size=8, verbose=2)
    comm = MPI.COMM_WORLD
    flat = np.concatenate([w.ravel() for w in model.get_weights()])
    assert all(np.array_equal(flat, f) for f in comm.allgather(flat)), "weights differ"
    hist = {k: list(v) for k, v in h.history.items()}
    assert all(x == hist for x in comm.allgather(hist)), "histories differ"
    assert len(hist["loss"]) == 3


CASES = {k[5:]: v for k, v in dict(globals()).items() if k.startswith("case_")}


# ================================================================== the tests
@mpi
@pytest.mark.parametrize("n", [2, 3])
def test_the_world_that_mpiexec_made(n):
    out = ok(run_world(n, "world"))
    for r in range(n):
        assert f"rank {r} of {n} local {r}" in out


def test_a_plain_python_run_is_a_world_of_one_without_mpi4py(tmp_path):
    script = tmp_path / "one.py"
    script.write_text(
        "import sys\n"
        "import gradengine as ge\n"
        "import gradengine.distributed as dist\n"
        "assert 'mpi4py' not in sys.modules\n"
        "dist.init()\n"
        "assert 'mpi4py' not in sys.modules\n"
        "assert (dist.rank(), dist.world_size(), dist.local_rank()) == (0, 1, 0)\n"
        "t = ge.tensor([1.0, 2.0])\n"
        "for op in ('sum', 'mean', 'max', 'min'):\n"
        "    dist.all_reduce(t, op=op)\n"
        "assert t.tolist() == [1.0, 2.0]\n"
        "assert dist.broadcast(t) is t and [g.tolist() for g in dist.all_gather(t)] == "
        "[[1.0, 2.0]]\n"
        "dist.barrier()\n"
        "print('one ok')\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "OMPI_", "PMIX_", "SLURM_", "MPI_"))}
    env["PYTHONPATH"] = ROOT
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60, env=env, check=False)
    assert "one ok" in ok(res)


@mpi
@pytest.mark.parametrize("n", [2, 3])
def test_each_collective_against_numpy(n):
    assert "collectives ok" in ok(run_world(n, "collectives", timeout=180))


@mpi
@pytest.mark.parametrize("n", [2, 3])
def test_mismatched_collectives_raise_on_every_rank_whatever_each_has_seen(n):
    assert ok(run_world(n, "mismatch", timeout=90)).count("mismatch ok") == n


@mpi
@pytest.mark.parametrize("n", [2, 3])
def test_a_gradient_layout_seen_on_one_rank_only_raises_and_never_hangs(n):
    assert ok(run_world(n, "dp_layout_one_rank", timeout=90)).count(
        "dp layout ok") == n


@mpi
@pytest.mark.parametrize("opt,jit,n", [("sgd", "eager", 2), ("adam", "eager", 2),
                                       ("sgd", "jit", 2), ("adam", "jit", 2),
                                       ("sgd", "eager", 3), ("adam", "jit", 3)])
def test_data_parallel_equals_one_process_on_the_whole_batch(opt, jit, n):
    out = ok(run_world(n, "data_parallel", opt, jit, "25"))
    assert out.count("dp ok") == n


@mpi
def test_small_buckets_split_the_gradients_and_still_agree():
    out = ok(run_world(2, "data_parallel", "adam", "eager", "0.001"))
    assert out.count("dp ok") == 2 and "buckets=1 " not in out


@mpi
@pytest.mark.parametrize("n", [2, 3])
def test_distributed_sampler_shares_are_disjoint_padded_and_cover_everything(n):
    assert ok(run_world(n, "sampler")).count("sampler ok") == n


@mpi
@pytest.mark.parametrize("where", ["collective", "sleep"])
def test_an_exception_on_one_rank_ends_the_whole_world(where):
    t0 = time.monotonic()
    res = run_world(3, "fault", where, timeout=60)
    took = time.monotonic() - t0
    assert res.returncode != 0
    assert "deliberate failure on rank 2" in res.stderr
    assert "should not get here" not in res.stdout
    assert took < 30, f"the world took {took:.1f} s to end"


@mpi
@pytest.mark.parametrize("jit", ["eager", "jit"])
def test_a_keras_style_fit_gives_equal_weights_and_one_progress_output(jit):
    out = ok(run_world(2, "keras_fit", jit))
    assert out.count("Epoch 1/3") == 1 and out.count("Epoch 3/3") == 1


def test_collectives_before_init_say_to_call_init():
    import gradengine as ge
    from gradengine.distributed import all_reduce, world
    if world.WORLD.initialized:
        pytest.skip("the world was initialized by another test")
    with pytest.raises(RuntimeError, match=r"all_reduce: .*init\(\)"):
        all_reduce(ge.ones(2))


def test_the_sampler_matches_pytorchs_rules_without_a_world():
    from gradengine.distributed import DistributedSampler
    shares = []
    for r in range(3):
        s = DistributedSampler(10, shuffle=False, num_replicas=3, rank=r)
        shares.append(s.indices().tolist())
    assert shares == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]  # padded from the start
    s = DistributedSampler(10, num_replicas=3, rank=0, drop_last=True)
    assert len(s.indices()) == 3
    with pytest.raises(ValueError, match="rank 3"):
        DistributedSampler(10, num_replicas=3, rank=3)


def _cli(*args, timeout=TIMEOUT):
    e = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "gradengine", *args], capture_output=True,
                          text=True, timeout=timeout, env=e, cwd=ROOT, check=False)


@mpi
def test_gradengine_launch_runs_the_script_on_n_ranks_with_cores_over_n_threads(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import os, sys\n"
                      "import gradengine.distributed as dist\n"
                      "dist.init()\n"
                      "r = dist.rank()\n"
                      "with open(os.path.join(os.path.dirname(__file__), f'rank{r}.txt'), 'w') "
                      "as f:\n"
                      "    f.write(f\"rank {r} of {dist.world_size()} threads "
                      "{os.environ['OMP_NUM_THREADS']} {sys.argv[1:]}\")\n"
                      "sys.exit(3 if '--fail' in sys.argv and r == 1 else 0)\n")
    ok(_cli("launch", "-n", "2", str(script), "--epochs", "3"))
    threads = max(1, (os.cpu_count() or 1) // 2)
    for r in range(2):
        text = (tmp_path / f"rank{r}.txt").read_text()
        assert text == f"rank {r} of 2 threads {threads} ['--epochs', '3']"
    assert _cli("launch", "-n", "2", str(script), "--fail").returncode != 0


def test_gradengine_launch_user_errors_are_one_line_and_exit_2(tmp_path):
    for args, msg in [(["launch", "-n", "0", "x.py"], "at least 1"),
                      (["launch", "-n", "2", str(tmp_path / "missing.py")], "not found"),
                      (["launch", str(tmp_path / "x.py")], "required: -n")]:
        res = _cli(*args)
        assert res.returncode == 2, res
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and msg in lines[0] and lines[0].startswith("gradengine launch")


def test_launch_adds_open_mpis_flags_and_mpichs_environment():
    from gradengine.distributed import launch
    cmd, env = launch.command(4, "t.py", ["-a"], "mpiexec", "openmpi", cores=16)
    assert cmd[:4] == ["mpiexec", "-n", "4", "--oversubscribe"] and "-x" in cmd
    assert env["OMP_NUM_THREADS"] == "4" and cmd[-2:] == ["t.py", "-a"]
    cmd, env = launch.command(3, "t.py", [], "mpiexec", "mpich", cores=2)
    assert ["-genv", "OMP_NUM_THREADS", "1"] == cmd[3:6] and env["MKL_NUM_THREADS"] == "1"


if __name__ == "__main__":
    CASES[sys.argv[1]](*sys.argv[2:])


@mpi
@pytest.mark.parametrize("jit", ["eager", "jit"])
def test_keras_fit_in_a_world_of_two_trains_alike_and_prints_once(jit):
    out = ok(run_world(2, "real_keras_fit", jit))
    assert out.count("Epoch 1/3") == 1, out
