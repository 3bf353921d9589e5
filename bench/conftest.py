"""pytest-benchmark suites: each group times one piece of work in every implementation.

    .venv/bin/python -m pytest bench --benchmark-only [--bench-device cpu|cuda] [--bench-quick]

The cases themselves (sizes, the gradengine / torch / NumPy / CuPy code) live in
``gradengine.benchmarks``, shared with ``gradengine bench``; this file only adapts them to
the ``benchmark`` fixture. A column whose library or device is missing is skipped.
pytest-benchmark keeps what it saves in ``.benchmarks/`` (ignored by git).
"""

from __future__ import annotations

import os
import time

import pytest

import gradengine as ge
from gradengine import benchmarks as gb


def pytest_addoption(parser):
    group = parser.getgroup("gradengine bench")
    group.addoption("--bench-device", choices=("auto", "cpu", "cuda"),
                    default=os.environ.get("GRADENGINE_BENCH_DEVICE", "auto"),
                    help="device of the gradengine/torch columns (auto: CUDA if present)")
    group.addoption("--bench-quick", action="store_true",
                    default=os.environ.get("GRADENGINE_BENCH_QUICK", "") not in ("", "0"),
                    help="the --quick sizes of `gradengine bench` (skips the 2^26 cases)")


def pytest_configure(config):
    # pyproject's addopts carries --benchmark-disable so that the unit tests never time
    # anything; asking for --benchmark-only here means "measure", so switch timing back on
    # (pytest-benchmark reads the option later, in its own trylast pytest_configure).
    if config.getoption("benchmark_only", False):
        config.option.benchmark_enable = True


@pytest.fixture(scope="session")
def bench_env(pytestconfig):
    device = pytestconfig.getoption("bench_device")
    size = "quick" if pytestconfig.getoption("bench_quick") else "full"
    try:
        return gb.Env.detect(device, size)
    except ge.DeviceError as exc:
        pytest.skip(str(exc))


def _column(env, key, impl):
    """The case and the built column, or a pytest skip saying why not."""
    try:
        case = gb.make_case(key, env)
    except gb.Skip as exc:
        pytest.skip(str(exc))
    if impl not in env.columns or impl not in case.builders:
        pytest.skip(f"{key}: no {impl} column on {env.device}")
    bench, why = gb.build_column(env, case, impl)
    if bench is None:
        pytest.skip(f"{key} / {impl}: {why}")
    return case, bench


@pytest.fixture
def run_case(benchmark, bench_env):
    """``run_case(key, impl)``: time one column of one case with the benchmark fixture."""

    def run(key, impl):
        env = bench_env
        case, bench = _column(env, key, impl)
        sync = env.sync(impl)

        def call():
            bench.fn()
            sync()

        benchmark.extra_info.update(case=key, impl=impl, device=env.device,
                                    measures=case.measures, per=case.per, unit=case.unit)
        # Let the previous test's thread pools (OpenBLAS, OpenMP) stop spinning first: on
        # 2 cores they slow the next library's multi-threaded calls down many times over.
        time.sleep(gb.SETTLE_S)
        with env.context(impl):
            for _ in range(3):  # warm-up: caches, lazy init, and ge.jit's recording call
                call()
            benchmark(call)

    return run


@pytest.fixture
def run_memory(benchmark, bench_env):
    """``run_memory(key, impl)``: memory growth over N training steps, in extra_info."""

    def run(key, impl):
        env = bench_env
        case, bench = _column(env, key, impl)
        steps = case.params["steps"]
        mem = benchmark.pedantic(gb.measure_memory, args=(env, impl, bench, steps),
                                 rounds=1, iterations=1)
        benchmark.extra_info.update(case=key, impl=impl, device=env.device, **mem)

    return run

