"""Smoke tests of `gradengine bench`: every case at tiny sizes, files and keys written."""

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gradengine import benchmarks as gb
from gradengine import cli

ROOT = Path(__file__).resolve().parent.parent


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert cli.main(["bench", "--smoke", "--device", "cpu", "--out", str(out)]) == 0
    return out


def _report(out: Path) -> dict:
    (path,) = out.glob("cpu-*.json")
    return json.loads(path.read_text())


def test_bench_smoke_writes_json_with_every_case_and_column(smoke_run):
    report = _report(smoke_run)
    for key in ("device", "date", "cpu_model", "gpu_name", "versions", "rows", "ratios",
                "targets", "notes", "quick", "loadavg_1min"):
        assert key in report
    assert report["device"] == "cpu" and report["gpu_name"] is None
    assert {"python", "numpy", "torch", "cupy", "gradengine"} <= set(report["versions"])
    cases = {r["case"] for r in report["rows"]}
    assert {"op_chain_200", "mul_chain", "sigmoid_fwd_2^10", "sigmoid_bwd_2^10",
            "sigmoid_fwd_bwd_2^10", "linear_sigmoid", "seed_step", "mlp_step", "seed_fit",
            "memory_seed_step", "memory_mlp_step"} <= cases
    timed = [r for r in report["rows"] if r["kind"] == "time" and "median_s" in r]
    assert {r["impl"] for r in timed} >= {gb.GE, gb.NUMPY}
    for r in timed:
        assert 0 < r["p25_s"] <= r["median_s"] <= r["p75_s"] and r["rounds"] >= 2
    memory = [r for r in report["rows"] if r["kind"] == "memory" and "memory" in r]
    assert memory and all(isinstance(r["memory"]["flat"], bool) for r in memory)
    ge_rows = [r for r in report["rows"] if r["impl"] == gb.GE and r["case"] != "seed_fit"]
    assert all("skipped" not in r for r in ge_rows), ge_rows  # the engine itself always runs


def test_bench_smoke_ratios_to_torch_only_when_torch_ran(smoke_run):
    report = _report(smoke_run)
    torch_rows = [r for r in report["rows"] if r["impl"] == gb.TORCH]
    if _has_torch():
        assert all("median_s" in r or "memory" in r for r in torch_rows)
        assert "op_overhead_vs_torch" in report["ratios"]
        assert report["ratios"]["op_overhead_us_per_op"] > 0
    else:
        assert all("skipped" in r for r in torch_rows)
        assert not any(r.get("ratio_to_torch") for r in report["rows"])


def test_bench_smoke_writes_markdown_naming_device_and_versions(smoke_run):
    (md,) = smoke_run.glob("cpu-*.md")
    text = md.read_text()
    report = _report(smoke_run)
    assert "device: **cpu**" in text and report["date"] in text
    assert report["cpu_model"] in text and f"numpy {report['versions']['numpy']}" in text
    assert "| case |" in text and "machine:" in text and "load average" in text
    assert "Maintainers' targets" not in text and not re.search(r"#\d|[Ii]ssue", text)
    assert str(smoke_run) not in text  # no machine paths in committed results


def test_bench_runs_without_torch_installed(tmp_path):
    # sys.modules["torch"] = None makes `import torch` raise ImportError, as if absent.
    code = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None
        from gradengine import cli
        sys.exit(cli.main(["bench", "--smoke", "--device", "cpu", "--only",
                           "op_chain,seed_step", "--out", {str(tmp_path)!r}]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = _report(tmp_path)
    assert report["versions"]["torch"] is None
    assert any("torch: not installed" in n for n in report["notes"])
    torch_rows = [r for r in report["rows"] if r["impl"] == gb.TORCH]
    assert torch_rows and all(r["skipped"] == "torch not installed" for r in torch_rows)
    assert not any(r.get("ratio_to_torch") for r in report["rows"])
    assert any(r["impl"] == gb.GE and "median_s" in r for r in report["rows"])


def test_bench_cuda_without_a_gpu_is_a_clear_error(capsys):
    import gradengine as ge
    if ge.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert cli.main(["bench", "--smoke", "--device", "cuda"]) == 2
    assert "--device cpu" in capsys.readouterr().err


def test_every_empty_cell_says_why(smoke_run):
    (md,) = smoke_run.glob("cpu-*.md")
    lines = md.read_text().splitlines()
    table = [ln for ln in lines if ln.startswith("| ")]
    legend = {ln.split("]")[0] + "]" for ln in lines if ln.startswith("[")}
    for row in table:
        for cell in row.strip("|").split("|"):
            cell = cell.strip()
            if cell.startswith("—"):
                assert cell[2:] in legend, (cell, legend)  # "— [a]" and its "[a] why" line
    assert any("copy" in r and "— [" in r for r in table)  # gradengine has no copy op


def test_the_default_folder_is_gradengine_bench_in_the_current_directory(tmp_path,
                                                                         monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bench", "--smoke", "--device", "cpu", "--only", "seed_step"]) == 0
    assert list((tmp_path / "gradengine-bench").glob("cpu-*.json"))
    assert "gradengine-bench" in capsys.readouterr().err


def test_targets_are_a_separate_view(tmp_path, capsys):
    assert cli.main(["bench", "--smoke", "--device", "cpu", "--only", "seed_step",
                     "--out", str(tmp_path)]) == 0
    assert "Maintainers' targets" not in capsys.readouterr().out
    assert cli.main(["bench", "--smoke", "--device", "cpu", "--only", "seed_step",
                     "--out", str(tmp_path), "--targets"]) == 0
    out = capsys.readouterr().out
    assert "Maintainers' targets" in out and "seed_step_vs_torch" in out
    assert not re.search(r"#\d|issue", out)


def test_a_row_with_a_wide_spread_is_measured_again_and_marked():
    env = gb.Env.detect("cpu", "smoke")
    env_sizes = dict(env.sizes, remeasure=2)
    calls = []

    class Noisy(gb.Env):
        @property
        def sizes(self):
            return env_sizes

    noisy = Noisy(device="cpu", size="smoke")
    case = gb.Case("noise", "noise", "alternating fast and slow calls",
                   {gb.GE: lambda: gb.Bench(lambda: calls.append(time.sleep(
                       0.03 if len(calls) % 2 else 0.002)))})
    (res,) = gb.measure_time_case(noisy, case)
    assert res.attempts == 3 and res.wide and res.spread() > gb.WIDE
    report = {"rows": [], "notes": []}
    tables = gb.build_tables(report, [case], [res])
    assert "†" in tables["time"][1][0][1]
    assert any("spread stayed above" in line for line in tables["legend"])
