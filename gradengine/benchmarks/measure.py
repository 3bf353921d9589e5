"""How ``gradengine bench`` measures: warm-up, interleaved timing blocks, re-measuring
rows whose spread is wide, and memory growth per training step."""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass, field

from .cases import Bench, Case
from .env import KERAS, TORCH, Env, Skip, collect

MAX_ROUNDS = 200
WARM_S = 0.15  # warm-up time per column (at least 3 calls unless one call is slow)
SETTLE_S = 0.2  # idle time before each block: lets the other library's threads stop spinning
WIDE = 0.10  # a cell whose half interquartile range exceeds 10% of its median is "wide"


@dataclass
class Result:
    """What one column of one case measured (or why it was skipped)."""

    case: str
    impl: str
    skipped: str = ""
    note: str = ""
    samples: list = field(default_factory=list)  # seconds per call
    inner: int = 1
    memory: dict = field(default_factory=dict)
    attempts: int = 1  # how many times the row was measured
    wide: bool = False  # the spread stayed above WIDE after the last attempt

    def spread(self) -> float:
        """Half the interquartile range over the median (0 without samples)."""
        st = self.stats()
        if not st or st["median_s"] <= 0:
            return 0.0
        return (st["p75_s"] - st["p25_s"]) / 2 / st["median_s"]

    def stats(self) -> dict:
        s = sorted(self.samples)
        if not s:
            return {}
        q = statistics.quantiles(s, n=4, method="inclusive") if len(s) > 1 else [s[0]] * 3
        return dict(median_s=statistics.median(s), p25_s=q[0], p75_s=q[2], min_s=s[0],
                    max_s=s[-1], rounds=len(s), inner=self.inner)


def build_column(env: Env, case: Case, impl: str):
    """(Bench, None) or (None, reason): build one column inside its context."""
    with env.context(impl):
        try:
            bench = case.builders[impl]()
        except Skip as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - a broken column must not stop the run
            return None, f"error while building: {type(exc).__name__}: {exc}"
    return bench, None


def _warm_up(env: Env, impl: str, bench: Bench, warm_s: float) -> float:
    """Run until warm (>= 3 calls and warm_s, or one call when a call is slow); last time."""
    sync = env.sync(impl)
    with env.context(impl):
        start = time.perf_counter()
        calls = 0
        while True:
            t0 = time.perf_counter()
            bench.fn()
            sync()
            dt = time.perf_counter() - t0
            calls += 1
            if dt > 0.5 or (calls >= 3 and time.perf_counter() - start >= warm_s):
                return dt


def run_time_case(env: Env, case: Case) -> list:
    """Time every column of ``case``; one Result per column.

    The columns run in blocks, ``passes`` times over (ABC ABC ...), so that a slow moment of
    the machine hits every column. Before each block the process sleeps briefly: on a
    2-core machine the thread pools of OpenBLAS (NumPy, gradengine) and of OpenMP (torch)
    keep spinning for ~0.1 s after their last call and would otherwise slow the next
    column down by up to 2x.
    """
    sz = env.sizes
    settle = SETTLE_S if env.size != "smoke" else 0.0
    results, live = [], {}
    for impl, res, bench in _built_columns(env, case, results):
        time.sleep(settle)
        try:
            dt = _warm_up(env, impl, bench, WARM_S if env.size != "smoke" else 0.0)
        except Exception as exc:  # noqa: BLE001
            res.skipped = f"error: {type(exc).__name__}: {exc}"
            continue
        res.inner = max(1, int(sz["sample_s"] / max(dt, 1e-9)))
        live[impl] = (bench, res)
    if not live:
        return results
    collect(env)
    passes = sz["passes"]
    block_s = sz["budget"] / (passes * len(live))
    per_block = -(-sz["min_rounds"] // passes)
    for _ in range(passes):
        for impl, (bench, res) in list(live.items()):
            try:
                _time_block(env, impl, bench, res, settle, block_s, per_block)
            except Exception as exc:  # noqa: BLE001
                res.skipped = f"error: {type(exc).__name__}: {exc}"
                res.samples.clear()
                del live[impl]
    return results


def _worst_spread(results) -> float:
    return max((r.spread() for r in results if r.samples), default=0.0)


def measure_time_case(env: Env, case: Case) -> list:
    """Time ``case``; measure the whole row again while any cell's spread is wide.

    The row is re-measured up to ``remeasure`` times (all columns together, so that the
    ratios stay within one measurement); the attempt with the narrowest worst cell is
    kept, and a cell that is still wide is marked ``wide``.
    """
    results = run_time_case(env, case)
    attempts = 1
    for _ in range(env.sizes["remeasure"]):
        if _worst_spread(results) <= WIDE:
            break
        collect(env)
        again = run_time_case(env, case)
        attempts += 1
        if _worst_spread(again) < _worst_spread(results):
            results = again
    for r in results:
        r.attempts = attempts
        r.wide = bool(r.samples) and r.spread() > WIDE
    return results


def _time_block(env, impl, bench, res, settle, block_s, min_samples):
    sync = env.sync(impl)
    with env.context(impl):
        time.sleep(settle)
        if not res.samples or res.samples[-1] < 0.1:
            bench.fn()  # untimed: wakes this column's thread pool and caches
            sync()
        start = time.perf_counter()
        taken = 0
        while taken < min_samples or (time.perf_counter() - start < block_s and
                                      len(res.samples) < MAX_ROUNDS):
            t0 = time.perf_counter()
            for _ in range(res.inner):
                bench.fn()
            sync()
            res.samples.append((time.perf_counter() - t0) / res.inner)
            taken += 1


def rss_bytes() -> int:
    """This process's resident set size now (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak * (1 if sys.platform == "darwin" else 1024)


def _memory_reader(env: Env, impl: str):
    if env.device == "cpu":
        return rss_bytes
    if impl == TORCH:
        return env.torch.cuda.memory_allocated
    from ..cuda import graph
    # the default pool and the private pools (and workspaces) of ge.jit's CUDA graphs
    return lambda: int(env.cupy.get_default_memory_pool().used_bytes()) + graph.graph_bytes()


def measure_memory(env: Env, impl: str, bench: Bench, steps: int) -> dict:
    """Memory growth over ``steps`` calls after a warm-up; flat if the 2nd half adds none."""
    read, sync = _memory_reader(env, impl), env.sync(impl)
    # RSS moves in allocator chunks; pool bytes are exact.
    tolerance = (1 << 20) if env.device == "cpu" else 0
    with env.context(impl):
        for _ in range(max(5, steps // 20)):
            bench.fn()
        sync()
        collect(env)
        base = read()
        every = max(1, steps // 20)
        samples = []
        for i in range(1, steps + 1):
            bench.fn()
            if i % every == 0 or i == steps:
                sync()
                samples.append(read() - base)
    half = len(samples) // 2
    first, second = max(samples[:half] or [0]), max(samples[half:])
    return dict(steps=steps, baseline_bytes=base, growth_bytes=samples[-1],
                peak_growth_bytes=max(max(samples), 0),
                growth_per_step_bytes=samples[-1] / steps,
                flat=bool(second - max(first, 0) <= tolerance),
                measure="host RSS" if env.device == "cpu" else
                ("torch.cuda.memory_allocated" if impl == TORCH else "CuPy pool used_bytes"))


def _built_columns(env: Env, case: Case, results: list, skip=()):
    """(impl, result, bench) for each column of ``case`` that could be built; every column's
    Result (skipped ones with the reason) is appended to ``results``."""
    for impl in env.columns:
        if impl not in case.builders or impl in skip:
            continue
        res = Result(case.key, impl)
        results.append(res)
        bench, why = build_column(env, case, impl)
        if bench is None:
            res.skipped = why
            continue
        res.note = bench.note
        yield impl, res, bench


def run_memory_case(env: Env, case: Case) -> list:
    results = []
    for impl, res, bench in _built_columns(env, case, results, skip=(KERAS,)):
        try:
            res.memory = measure_memory(env, impl, bench, case.params["steps"])
        except Exception as exc:  # noqa: BLE001
            res.skipped = f"error: {type(exc).__name__}: {exc}"
        del bench
    return results


