"""gradengine.distributed benchmarks, run under mpiexec (not a pytest suite).

    mpiexec -n 2 python bench/dist_bench.py allreduce      # ours vs raw mpi4py Allreduce
    mpiexec -n 1 python bench/dist_bench.py mlp             # the MLP step, one rank
    mpiexec -n 2 python bench/dist_bench.py mlp             # ... two ranks (weak scaling)

allreduce: float32 buffers of 1 KiB to 256 MiB; ``dist.all_reduce(t, "sum")`` on a Tensor
(with the default mismatch handshake, and without it: GRADENGINE_DIST_CHECK=0) and
``comm.Allreduce(MPI.IN_PLACE, a, MPI.SUM)`` on the same-sized NumPy array, interleaved
round by round (so a slow moment hits all three; each round starts with another of them,
and each buffer is refilled just before its own call), the median of each; overhead =
ours / raw - 1; "paired" is the median over the rounds of that round's ours / raw - 1
(steadier on a busy machine). ``--reps-scale X`` runs X times the rounds.
mlp: the 784-256-256-10 MLP (ReLU, cross-entropy, SGD), batch 128 per rank, eager and
under ge.jit, with DataParallel; the median step time (the slowest rank's per step).
Prints a table on rank 0; ``--json PATH`` also writes the figures.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np


def _world():
    import gradengine.distributed as dist
    dist.init()
    from mpi4py import MPI
    return dist, MPI


def allreduce(reps_scale=1.0):
    import gradengine as ge
    dist, MPI = _world()
    from gradengine.distributed import collectives
    comm = MPI.COMM_WORLD
    rows = []
    size = 1024
    while size <= 256 * 2 ** 20:
        n = size // 4
        a = np.ones(n, np.float32)
        t = ge.tensor(np.ones(n, np.float32))
        reps = int(max(15, min(300, 4e6 / size)) * reps_scale)

        def run_raw(a=a):
            comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)

        def run_ours(t=t):
            dist.all_reduce(t)

        def run_bare(t=t):
            collectives.CHECK = False
            try:
                dist.all_reduce(t)
            finally:
                collectives.CHECK = True
        cases = [(run_raw, a, []), (run_ours, t.data, []), (run_bare, t.data, [])]
        for fn, _, _ in cases:  # warm-up
            fn()
            fn()
        for k in range(reps):
            # each its turn first (an order effect hits all three alike); each buffer
            # refilled just before its own call, so all three start equally warm in cache
            for j in range(3):
                fn, buf, times = cases[(k + j) % 3]
                buf[:] = 1
                comm.Barrier()
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
        raw, ours, bare = (c[2] for c in cases)
        # the slowest rank's time is the collective's time
        r = comm.allreduce(statistics.median(raw), op=MPI.MAX)
        o = comm.allreduce(statistics.median(ours), op=MPI.MAX)
        u = comm.allreduce(statistics.median(bare), op=MPI.MAX)
        # paired: each round's ours / raw (the slowest rank's time of each), the median
        per_round = np.array([raw, ours, bare])
        comm.Allreduce(MPI.IN_PLACE, per_round, op=MPI.MAX)
        paired = float(np.median(per_round[1] / per_round[0])) - 1
        paired_u = float(np.median(per_round[2] / per_round[0])) - 1
        rows.append({"bytes": size, "raw_us": r * 1e6, "ours_us": o * 1e6,
                     "overhead": o / r - 1, "unchecked_us": u * 1e6,
                     "overhead_unchecked": u / r - 1, "overhead_paired": paired,
                     "overhead_unchecked_paired": paired_u,
                     "GB_s_bus": 2 * (comm.size - 1) / comm.size * size / r / 1e9,
                     "reps": reps})
        size *= 4
    if comm.rank == 0:
        print(f"all_reduce float32 over MPI, {comm.size} ranks "
              f"({MPI.Get_library_version().splitlines()[0].strip()})")
        print(f"{'bytes':>10} {'raw mpi4py us':>14} {'ours us':>10} {'overhead':>9} "
              f"{'paired':>8} {'unchecked us':>13} {'overhead':>9} {'paired':>8} "
              f"{'bus GB/s':>9}")
        for row in rows:
            print(f"{_size(row['bytes']):>10} {row['raw_us']:14.1f} {row['ours_us']:10.1f} "
                  f"{row['overhead']:+9.1%} {row['overhead_paired']:+8.1%} "
                  f"{row['unchecked_us']:13.1f} {row['overhead_unchecked']:+9.1%} "
                  f"{row['overhead_unchecked_paired']:+8.1%} {row['GB_s_bus']:9.2f}")
    return rows


def _size(b):
    for unit, k in (("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if b >= k:
            return f"{b // k} {unit}"
    return f"{b} B"


def mlp(steps=60):
    import gradengine as ge
    import gradengine.functional as F
    from gradengine import nn, optim
    dist, MPI = _world()
    comm = MPI.COMM_WORLD
    out = {}
    for mode in ("eager", "jit"):
        ge.manual_seed(0)
        model = dist.DataParallel(nn.Sequential(nn.Linear(784, 256), nn.ReLU(),
                                                nn.Linear(256, 256), nn.ReLU(),
                                                nn.Linear(256, 10)))
        opt = optim.SGD(model.parameters(), lr=0.01)
        rng = np.random.default_rng(comm.rank)
        x = ge.tensor(rng.normal(size=(128, 784)).astype(np.float32))
        y = ge.tensor(rng.integers(0, 10, 128), dtype="int64")

        def step(x, y, model=model, opt=opt):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        fn = ge.jit(step) if mode == "jit" else step
        for _ in range(5):
            fn(x, y)
        times = []
        for _ in range(steps):
            comm.Barrier()
            t0 = time.perf_counter()
            fn(x, y)
            times.append(time.perf_counter() - t0)
        per_step = np.array(times)
        comm.Allreduce(MPI.IN_PLACE, per_step, op=MPI.MAX)
        out[mode] = float(np.median(per_step)) * 1e3
    grad_bytes = sum(int(p.data.nbytes) for p in model.parameters())
    if comm.rank == 0:
        print(f"MLP 784-256-256-10 step, batch 128 per rank, {comm.size} rank(s): "
              f"eager {out['eager']:.2f} ms, jit {out['jit']:.2f} ms "
              f"(gradients {grad_bytes / 2 ** 20:.2f} MiB)")
    return {"ranks": comm.size, "eager_ms": out["eager"], "jit_ms": out["jit"],
            "grad_bytes": grad_bytes}


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "allreduce"
    if what == "allreduce" and "--reps-scale" in sys.argv:
        result = allreduce(float(sys.argv[sys.argv.index("--reps-scale") + 1]))
    else:
        result = {"allreduce": allreduce, "mlp": mlp}[what]()
    if "--json" in sys.argv:
        from mpi4py import MPI
        if MPI.COMM_WORLD.rank == 0:
            with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
                json.dump(result, f, indent=1)
