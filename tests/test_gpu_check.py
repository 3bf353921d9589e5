"""``make gpu-check`` (gradengine.benchmarks.gpu_check) without a GPU: the one-line exit, the stage
runner (timeouts, failures, the summary after every stage, at most 8 files) and the stage code
that the stand-in for CuPy can drive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import fake_cupy
from gradengine import backend
from gradengine.benchmarks import gpu_check as check

REPO = Path(__file__).resolve().parents[1]


def test_without_a_gpu_it_says_so_in_one_line_and_exits_0(tmp_path):
    env = {"PYTHONPATH": str(REPO), "GPU_CHECK_OUT": str(tmp_path / "out"), "PATH": "/usr/bin"}
    done = subprocess.run([sys.executable, "-m", "gradengine.benchmarks.gpu_check"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
                          check=False)
    if check.gpu_status()[0]:
        pytest.skip("this machine has a GPU")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 1 and "no GPU" in done.stdout
    assert not (tmp_path / "out").exists()


def test_stages_run_under_their_timeouts_go_on_after_failures_and_leave_a_summary(tmp_path):
    stages = [("selftest-ok", 60, None), ("selftest-fail", 60, None),
              ("selftest-hang", 3, None), ("selftest-ok", 60, None)]
    summary = check.run_all(tmp_path, stages=stages, budget_s=120)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["stages"].keys() == summary["stages"].keys()
    assert set(check.SUMMARY_KEYS) <= set(on_disk)
    assert on_disk["gpu_tests_passed"] == 3  # from the stage that reported it
    assert on_disk["sanitizer_errors"] is None  # no stage reported it
    failed = on_disk["stages"]["selftest-fail"]
    assert not failed["ok"] and "ZeroDivisionError" in failed["error"]
    hung = on_disk["stages"]["selftest-hang"]
    assert not hung["ok"] and "timed out" in hung["error"] and hung["seconds"] < 30
    assert len(list(tmp_path.iterdir())) <= 8
    assert "==== stage selftest-hang" in (tmp_path / "check.log").read_text()


def test_stages_past_the_budget_are_skipped_not_run(tmp_path):
    summary = check.run_all(tmp_path, stages=[("selftest-ok", 60, None)], budget_s=1)
    assert summary["stages"]["selftest-ok"] == {"ok": False, "error": "skipped: out of time"}


def test_the_default_stages_fit_in_eight_minutes():
    assert sum(timeout for _, timeout, _ in check.STAGES) <= check.TOTAL_BUDGET_S < 480
    names = [name for name, _, _ in check.STAGES]
    assert names[0] == "versions" and {"compile", "sanitizer", "pytest"} <= set(names)


def test_summary_takes_every_key_from_the_stage_that_measured_it():
    stages = {"a": {"ok": True, "result": {"gemm_capture_vs_cublas": 0.97, "other": 1}},
              "b": {"ok": False, "error": "boom"}}
    flat = check.summarize(stages)
    assert flat["gemm_capture_vs_cublas"] == 0.97 and flat["mlp_step_jit_vs_torch"] is None
    assert set(flat) == set(check.SUMMARY_KEYS)


TOY = dict(check.FULL, linear=(8, 4, 3), mlp_batch=4, repeat=1)


@pytest.fixture
def fake_gpu(monkeypatch):
    fake = fake_cupy.make_module()
    monkeypatch.setattr(backend, "_cupy", fake)
    monkeypatch.setenv("GRADENGINE_KERNELS", "0")
    monkeypatch.setattr(backend._RNG, "cupy", {})
    monkeypatch.setattr(check, "_torch", lambda: None)
    return fake


def test_linear_stage_runs_fused_and_unfused_on_the_stand_in(fake_gpu):
    out = check.stage_linear(fake_gpu, TOY)
    assert out["fused_s"] > 0 and out["unfused_s"] > 0 and out["linear_sigmoid_vs_unfused"] > 0
    assert out["linear_sigmoid_vs_torch"] is None  # no CUDA torch here


def test_steps_stage_times_the_jitted_steps_with_and_without_a_graph(fake_gpu, monkeypatch):
    monkeypatch.delenv("GRADENGINE_CUDA_GRAPHS", raising=False)
    out = check.stage_steps(fake_gpu, TOY)
    for name in ("seed_step", "mlp_step"):
        assert out[name]["jit_graph_s"] > 0 and out[name]["jit_s"] > 0
        assert out[f"{name}_jit_vs_torch"] is None


def test_pytest_timeout_plugin_counts_outcomes():
    plugin = check._PerTestTimeout(5)

    class Report:
        def __init__(self, when, outcome):
            self.when, self.outcome = when, outcome
    for when, outcome in [("setup", "passed"), ("call", "passed"), ("teardown", "passed"),
                          ("call", "failed"), ("setup", "skipped"), ("setup", "failed")]:
        plugin.pytest_runtest_logreport(Report(when, outcome))
    assert (plugin.passed, plugin.failed, plugin.skipped) == (1, 2, 1)


def test_make_test_gpu_keeps_the_not_slow_filter_and_gpu_check_exists():
    text = (REPO / "Makefile").read_text()
    recipe = text.split("\ntest-gpu:", 1)[1].split("\n\n", 1)[0]
    assert '-m "gpu and not slow"' in recipe
    assert "\ngpu-check:" in text and "gradengine.benchmarks.gpu_check" in text
