"""Smoke tests of `gradengine bench`: every case at tiny sizes, files and keys written."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gradengine import benchmark as gb

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
    assert gb.main(["--smoke", "--device", "cpu", "--out", str(out)]) == 0
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
    assert "| case |" in text and "Targets of the issues" in text
    assert str(smoke_run) not in text  # no machine paths in committed results


def test_bench_runs_without_torch_installed(tmp_path):
    # sys.modules["torch"] = None makes `import torch` raise ImportError, as if absent.
    code = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None
        from gradengine import benchmark
        sys.exit(benchmark.main(["--smoke", "--device", "cpu", "--only", "op_chain,seed_step",
                                 "--out", {str(tmp_path)!r}]))
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
    if gb.ge.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert gb.main(["--smoke", "--device", "cuda"]) == 2
    assert "--device cpu" in capsys.readouterr().err
