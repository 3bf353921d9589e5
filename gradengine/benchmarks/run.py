"""One ``gradengine bench`` run: every case measured, the table printed, the files written."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import sys
import time
from pathlib import Path

from .cases import make_cases
from .env import Env, collect
from .measure import measure_time_case, run_memory_case
from .report import build_report, build_tables, render_markdown, render_text, write_chart

DEFAULT_OUT = "gradengine-bench"  # in the current directory, never in the package


def default_out_dir() -> Path:
    """``./gradengine-bench``: results go where the user runs the command."""
    return Path.cwd() / DEFAULT_OUT


def loadavg():
    """The 1-minute load average, or None where the system has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


@contextlib.contextmanager
def _smoke_threads(env: Env):
    """Smoke runs skip the settle pauses; one torch thread keeps its OpenMP pool from
    fighting OpenBLAS's spinning threads (which slows tiny steps 100x on 2 cores)."""
    if env.size != "smoke" or env.torch is None:
        yield
        return
    threads = env.torch.get_num_threads()
    env.torch.set_num_threads(1)
    try:
        yield
    finally:
        env.torch.set_num_threads(threads)


def results_stem(report: dict) -> str:
    """``<device>-<date>``; on CUDA ``gpu-<gpu name>-<date>``."""
    if report["device"] == "cpu":
        return f"cpu-{report['date']}"
    gpu = re.sub(r"[^a-z0-9]+", "-", (report.get("gpu_name") or "cuda").lower()).strip("-")
    return f"gpu-{gpu}-{report['date']}"


def run(env: Env, out_dir: Path, only=None, quiet=False, targets=False) -> dict:
    """Run every case, print the table, write JSON, markdown and the chart into ``out_dir``.

    Returns the report (the JSON's content).
    """
    log = (lambda *a, **k: None) if quiet else print
    date = datetime.date.today().isoformat()
    loads = [loadavg()]
    cases = make_cases(env, only)
    results = []
    t_start = time.perf_counter()
    with _smoke_threads(env):
        for case in cases:
            t0 = time.perf_counter()
            if case.kind == "memory":
                results += run_memory_case(env, case)
            else:
                results += measure_time_case(env, case)
            log(f"  {case.key:<24} {time.perf_counter() - t0:6.1f} s", file=sys.stderr)
            loads.append(loadavg())
            collect(env)
    report = build_report(env, cases, results, date)
    report["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    known = [x for x in loads if x is not None]
    report["loadavg_1min"] = dict(before=loads[0], after=loads[-1],
                                  max=max(known) if known else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = results_stem(report)
    chart = write_chart(report, out_dir / f"{stem}.png")
    tables = build_tables(report, cases, results)
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out_dir / f"{stem}.md").write_text(
        render_markdown(report, tables, chart.name if chart else None, targets=targets))
    log(render_text(report, tables, targets=targets))
    log(f"\nwrote {out_dir / stem}.json, .md" + (", .png" if chart else "") +
        f" in {report['elapsed_s']} s")
    return report
