"""What ``gradengine bench`` shows and writes: the table, its legend, the JSON, markdown
and the chart, and the maintainers' ``--targets`` view."""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

import gradengine as ge

from .env import IMPLS, TORCH, Env
from .measure import WIDE, Result
from .targets import GPU_TOP_LEVEL, check_targets, derived_ratios

WIDE_MARK = "†"


def _fmt_time(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.3g} µs"
    return f"{s * 1e9:.3g} ns"


def _fmt_bytes(n: float) -> str:
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" else f"{sign}{n:.1f} {unit}"
        n /= 1024


def _cell(res: Result, case, torch_median) -> str:
    st = res.stats()
    text = f"{_fmt_time(st['median_s'] / case.per)} ±{res.spread() * 100:.0f}%"
    if res.impl != TORCH and torch_median:
        text += f" ({st['median_s'] / torch_median:.2f}×)"
    if res.wide:
        text += f" {WIDE_MARK}"
    return text


class _Footnotes:
    """Letters for the reasons of empty cells: the same reason gets the same letter."""

    def __init__(self):
        self.reasons = {}

    def mark(self, reason: str) -> str:
        if reason not in self.reasons:
            self.reasons[reason] = "abcdefghijklmnopqrstuvwxyz"[len(self.reasons) % 26]
        return f"— [{self.reasons[reason]}]"

    def lines(self) -> list:
        return [f"[{letter}] {reason}" for reason, letter in self.reasons.items()]


def _table(headers, rows) -> list:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(r):
        return "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _md_table(headers, rows) -> list:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]


def build_tables(report: dict, cases, results) -> dict:
    """The time and memory tables as (headers, rows), their legend, and the notes."""
    by = {(r.case, r.impl): r for r in results}
    used = [i for i in IMPLS if any((c.key, i) in by and (by[(c.key, i)].samples or
                                                          by[(c.key, i)].memory)
                                    for c in cases)]
    notes = _column_notes(cases, results, used)
    marks = _Footnotes()

    def empty(case, impl):
        res = by.get((case.key, impl))
        if res is not None and res.skipped:
            return marks.mark(f"{impl}: {res.skipped}")
        return marks.mark(case.absent.get(impl, f"no {impl} version of this case"))

    rows = []
    for case in (c for c in cases if c.kind == "time"):
        torch_res = by.get((case.key, TORCH))
        torch_med = torch_res.stats()["median_s"] if torch_res and torch_res.samples else None
        row = [case.label + (f" (per {case.unit})" if case.unit else "")]
        for impl in used:
            res = by.get((case.key, impl))
            row.append(_cell(res, case, torch_med) if res is not None and res.samples
                       else empty(case, impl))
        rows.append(row)
    mem_rows = []
    for case in (c for c in cases if c.kind == "memory"):
        for impl in used:
            res = by.get((case.key, impl))
            if res is not None and res.memory:
                m = res.memory
                mem_rows.append([case.params["step"], impl, f"{m['steps']:,}", m["measure"],
                                 _fmt_bytes(m["growth_per_step_bytes"]),
                                 _fmt_bytes(m["peak_growth_bytes"]),
                                 "yes" if m["flat"] else "NO"])
            elif res is not None or impl in case.absent:
                mem_rows.append([case.params["step"], impl] + [empty(case, impl)] * 5)
    legend = ["Cells: median time per call ± half the interquartile range, and in "
              "parentheses the ratio to torch (< 1 is faster than torch)."]
    if any(r.wide for r in results):
        legend.append(f"{WIDE_MARK} the spread stayed above {WIDE:.0%} after measuring the "
                      "row again: the machine was disturbing it, read it with care.")
    legend += marks.lines()
    return dict(
        time=(["case", *used], rows),
        memory=(["step", "column", "steps", "measure", "growth/step", "peak growth", "flat"],
                mem_rows),
        legend=legend, notes=notes)


def _column_notes(cases, results, used) -> list:
    """Run-wide notes, columns left out entirely, and how each column was built per case."""
    notes = []
    label = {c.key: c.label for c in cases}
    for impl in IMPLS:
        skipped = [r for r in results if r.impl == impl and r.skipped]
        if impl not in used and skipped:
            notes.append(f"column {impl} not shown: {skipped[0].skipped}")
    built = {}
    for r in results:
        if r.note and r.impl in used and not r.case.startswith("memory_"):
            built.setdefault((r.impl, r.note), []).append(label[r.case])
    for (impl, note), where in built.items():
        notes.append(f"{impl} ({'; '.join(dict.fromkeys(where))}): {note}")
    return notes


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_name(env: Env):
    if env.device != "cuda":
        return None
    try:
        props = env.cupy.cuda.runtime.getDeviceProperties(env.cupy.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # noqa: BLE001
        return "unknown CUDA device"


def _version(name: str):
    try:
        return importlib.import_module(name).__version__
    except Exception:  # noqa: BLE001 - missing or broken: recorded as absent
        return None


def _git_commit():
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def build_report(env: Env, cases, results, date: str) -> dict:
    """Everything a run measured, as the JSON that ``--out`` writes."""
    versions = dict(python=platform.python_version(), numpy=np.__version__,
                    torch=_version("torch") if env.torch is not None else None,
                    cupy=_version("cupy") if env.cupy is not None else None,
                    gradengine=ge.__version__, gradengine_commit=_git_commit())
    if env.device == "cuda":
        try:
            versions["cuda_runtime"] = env.cupy.cuda.runtime.runtimeGetVersion()
        except Exception:  # noqa: BLE001
            pass
    rows = []
    for r in results:
        case = next(c for c in cases if c.key == r.case)
        row = dict(case=r.case, label=case.label, kind=case.kind, impl=r.impl,
                   measures=case.measures, params=case.params)
        if r.skipped:
            row["skipped"] = r.skipped
        if r.note:
            row["note"] = r.note
        if r.samples:
            row.update(r.stats())
            row.update(per=case.per, unit=case.unit or None,
                       median_per_unit_s=row["median_s"] / case.per)
            torch_r = next((x for x in results if x.case == r.case and x.impl == TORCH
                            and x.samples), None)
            row["ratio_to_torch"] = (row["median_s"] / torch_r.stats()["median_s"]
                                     if torch_r is not None and r.impl != TORCH else None)
            row.update(spread=r.spread(), attempts=r.attempts, wide=r.wide)
        if r.memory:
            row["memory"] = r.memory
        rows.append(row)
    ratios = derived_ratios(results, cases)
    notes = list(env.notes)
    if env.size != "full":
        sz = env.sizes
        m, k, n = sz["linear" if env.device == "cuda" else "linear_cpu"]
        notes.append(f"{'--quick' if env.size == 'quick' else 'smoke'} sizes: chain of "
                     f"{sz['mul_chain']:,} ops, sigmoid at "
                     f"{', '.join(f'2^{x.bit_length() - 1}' for x in sz['sigmoid'])}, linear "
                     f"{m}x{k}@{k}x{n}, {sz['mem_steps']:,} memory steps (the full sizes: "
                     "gradengine bench without --quick)")
    threads = env.torch.get_num_threads() if env.torch is not None else None
    top = {k: ratios[k] for k in GPU_TOP_LEVEL if k in ratios} if env.device == "cuda" else {}
    return dict(**top, schema=1, device=env.device, size=env.size, quick=env.size != "full",
                date=date, timestamp=datetime.datetime.now().isoformat(timespec="seconds"),
                cpu_model=_cpu_model(), cpu_count=os.cpu_count(), gpu_name=_gpu_name(env),
                platform=platform.platform(), torch_threads=threads, versions=versions,
                ratios=ratios, targets=check_targets(ratios, env.device),
                notes=notes, rows=rows)


def machine_line(report: dict) -> str:
    """One line on what the machine was doing while the run measured."""
    load, cores = report.get("loadavg_1min") or {}, report["cpu_count"]
    if not load or load.get("max") is None:
        return f"machine: {cores} cores; load average not available on this system"
    text = (f"machine: {cores} cores; 1-minute load average {load['before']:.1f} at the start, "
            f"{load['max']:.1f} at most during the run")
    if load["max"] > (cores or 1):
        text += " (above the core count: other processes competed for the CPU)"
    return text


def render_text(report: dict, tables: dict, targets: bool = False) -> str:
    """The user's table as printed; with ``targets``, the maintainers' view after it."""
    out = [_title(report), machine_line(report), ""]
    out += _table(*tables["time"])
    out += [""] + tables["legend"]
    if tables["memory"][1]:
        out += ["", "Memory per training step:", ""] + _table(*tables["memory"])
    if report["notes"] or tables["notes"]:
        out += ["", "Notes:"] + [f"  - {n}" for n in report["notes"] + tables["notes"]]
    if targets:
        out += ["", *render_targets(report)]
    return "\n".join(out)


def render_targets(report: dict, markdown: bool = False) -> list:
    """The maintainers' targets of this device: figure, measured, bound, met."""
    rows = []
    for t in report["targets"]:
        value = "not measured" if t["value"] is None else f"{t['value']:.3g}"
        met = "—" if t["met"] is None else "yes" if t["met"] else "no"
        rows.append([t["key"], t["what"], value, t["target"], met])
    headers = ["figure", "what", "measured", "target", "met"]
    out = ["Maintainers' targets (figures of this run against the bounds we aim for):", ""]
    out += (_md_table if markdown else _table)(headers, rows)
    out += ["", "met: — when the figure was not measured (its column is missing)."]
    if report["size"] != "full":
        out.append("The targets are defined on the full sizes; this run used smaller ones.")
    return out


def _title(report: dict) -> str:
    hw = report["gpu_name"] or report["cpu_model"]
    mode = {"full": "full", "quick": "--quick", "smoke": "smoke"}[report["size"]]
    return f"gradengine bench — {report['device']} ({hw}), {report['date']}, {mode}"


def render_markdown(report: dict, tables: dict, chart_name, targets: bool = False) -> str:
    """The results as markdown (what ``--out`` writes beside the JSON)."""
    v = report["versions"]
    libs = ", ".join(f"{k} {v[k]}" for k in ("python", "numpy", "torch", "cupy", "gradengine")
                     if v.get(k)) + (f" (commit {v['gradengine_commit']})"
                                     if v.get("gradengine_commit") else "")
    out = [f"# {_title(report)}", "",
           f"- device: **{report['device']}**",
           f"- CPU: {report['cpu_model']} ({report['cpu_count']} cores)"]
    if report["gpu_name"]:
        out.append(f"- GPU: {report['gpu_name']}")
    out += [f"- date: {report['date']}", f"- versions: {libs}",
            f"- torch threads: {report['torch_threads']}",
            f"- {machine_line(report)}", ""]
    out += _md_table(*tables["time"])
    out += [""] + [f"{line}  " for line in tables["legend"]]
    if chart_name:
        out += ["", f"![ratios to PyTorch]({chart_name})"]
    seen = set()
    measures = []
    for r in report["rows"]:
        if r["case"] not in seen:
            seen.add(r["case"])
            measures.append(f"- **{r['label']}**: {r['measures']}")
    out += ["", "## What each row measures", ""] + measures
    if tables["memory"][1]:
        out += ["", "## Memory per training step", ""] + _md_table(*tables["memory"])
    notes = report["notes"] + tables["notes"]
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    if targets:
        out += ["", "## Maintainers' targets", ""] + render_targets(report, markdown=True)[2:]
    return "\n".join(out) + "\n"


def write_chart(report: dict, path: Path):
    """A bar chart of every column's ratio to torch per case; None (and a note) without
    matplotlib or without ratios."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        report["notes"].append("chart: matplotlib not installed (pip install matplotlib); "
                               "no PNG written")
        return None
    rows = [r for r in report["rows"] if r.get("ratio_to_torch")]
    if not rows:
        report["notes"].append("chart: no ratios to plot (torch column missing)")
        return None
    labels = list(dict.fromkeys(r["label"] for r in rows))
    impls = [i for i in IMPLS if any(r["impl"] == i for r in rows)]
    height = 0.8 / len(impls)
    fig = Figure(figsize=(9, 0.5 + 0.45 * len(labels) * max(1, len(impls) / 2)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = dict(zip(IMPLS, ("tab:blue", "tab:cyan", "tab:purple", "tab:red", "tab:green",
                              "tab:olive", "tab:orange")))
    for j, impl in enumerate(impls):
        ys, xs = [], []
        for i, label in enumerate(labels):
            r = next((r for r in rows if r["label"] == label and r["impl"] == impl), None)
            if r is not None:
                ys.append(i + (j - (len(impls) - 1) / 2) * height)
                xs.append(r["ratio_to_torch"])
        bars = ax.barh(ys, xs, height=height, label=impl, color=colors[impl])
        ax.bar_label(bars, labels=[f"{x:.2g}×" for x in xs], fontsize=7, padding=2)
    ax.axvline(1.0, color="black", linewidth=1, label="torch (= 1)")
    ax.set_xscale("log")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("time / PyTorch time (log scale; < 1 is faster than PyTorch)")
    ax.set_title(_title(report), fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
