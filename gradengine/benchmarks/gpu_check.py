"""``python -m gradengine.benchmarks.gpu_check`` (``make gpu-check``): one prepared check
of the GPU path.

Runs on a machine with a GPU as is (the checkout with ``PYTHONPATH=.``; CuPy, NumPy, pytest and,
for the reference columns, torch), within 8 minutes: each stage in its own subprocess under its
own timeout, going on after a failure, and rewriting the summary after every stage. Stages:
versions; every kernel compiled; copy bandwidth on 1 GiB; sigmoid forward/backward at 2^28
elements in float32/float16/float64 as a fraction of copy bandwidth and beside torch.sigmoid;
bias_act forward/backward at five shapes; GEMM TFLOP/s of matmul.cu, our cuBLAS binding inside a
CUDA graph, cupy.matmul and torch; Linear + sigmoid forward + backward at (4096x1024)(1024x1024)
beside the unfused ops and torch eager; the jitted seed and MLP steps with and without a CUDA
graph beside torch eager; ``pytest -m "gpu and not slow"`` with a per-test timeout;
compute-sanitizer memcheck and racecheck on small odd-sized launches of every kernel.

Writes at most 8 files into ``$GPU_CHECK_OUT`` (default ``build/gpu-check``): summary.json,
check.log, pytest.log, sanitizer.log. Ratios named ``*_vs_*`` are speeds: the reference's time
over ours (above 1: ours is faster); ``*_fraction_of_copy`` are bytes moved per second over the
copy's. Without a GPU it says so in one line and exits 0.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SUMMARY_KEYS = ("sigmoid_fwd_fraction_of_copy", "sigmoid_bwd_fraction_of_copy",
                "bias_act_bwd_fraction_of_copy", "linear_sigmoid_vs_torch",
                "linear_sigmoid_vs_unfused", "gemm_capture_vs_cublas", "seed_step_jit_vs_torch",
                "mlp_step_jit_vs_torch", "gpu_tests_passed", "gpu_tests_failed",
                "sanitizer_errors")
TOTAL_BUDGET_S = 470  # the whole check stays under 8 minutes
RESULT_TAG = "GE_STAGE_RESULT "
DEFAULT_OUT = "build/gpu-check"
PER_TEST_TIMEOUT_S = 60

# Sizes: a dict so that tests can run the same stage code at toy sizes on the stand-in.
FULL = {"copy_bytes": 1 << 30, "sigmoid_n": 1 << 28,
        "bias_shapes": [(16384, 4096), (65536, 1024), (1 << 20, 64), (1024, 65536),
                        (16383, 4099)],
        "gemm": (4096, 1024, 1024), "linear": (4096, 1024, 1024), "mlp_batch": 128,
        "repeat": 10}


# ---------------------------------------------------------------- timing

def timed(cp, fn, repeat: int = 10, warm: int = 2) -> float:
    """Median seconds of ``fn()`` on the current stream, by CUDA events around each call."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeat):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
    return statistics.median(times)


def timed_host(sync, fn, repeat: int = 10, warm: int = 2) -> float:
    """Median seconds of ``fn(); sync()`` by the host clock (whole training steps)."""
    for _ in range(warm):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _torch():
    try:
        import torch
        return torch if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001 - no torch, or a CPU build
        return None


def _ratio(reference, ours):
    return None if not reference or not ours else reference / ours


# ---------------------------------------------------------------- stages

def stage_versions(cp, cfg):
    rt = cp.cuda.runtime
    props = rt.getDeviceProperties(0)
    name = props["name"]
    out = {"device": name.decode() if isinstance(name, bytes) else str(name),
           "compute_capability": f"{props['major']}.{props['minor']}",
           "driver": rt.driverGetVersion(), "cuda_runtime": rt.runtimeGetVersion(),
           "cupy": cp.__version__, "numpy": np.__version__, "python": platform.python_version()}
    torch = _torch()
    out["torch"] = None if torch is None else f"{torch.__version__} (CUDA {torch.version.cuda})"
    smi = shutil.which("nvidia-smi")
    if smi:
        done = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total",
                               "--format=csv,noheader"], capture_output=True, text=True,
                              timeout=15, check=False)
        out["nvidia_smi"] = done.stdout.strip()
    return out


def stage_compile(cp, cfg):
    from ..cuda import kernels
    out = {}
    for file, exprs in sorted(kernels.NAME_EXPRESSIONS.items()):
        t0 = time.perf_counter()
        for expr in exprs:
            kernels._compile(cp, file, expr, 0)
        out[file] = {"kernels": len(exprs), "seconds": round(time.perf_counter() - t0, 2)}
    return out


def copy_bandwidth(cp, cfg):
    n = cfg["copy_bytes"] // 4
    a = cp.ones(n, cp.float32)
    b = cp.empty_like(a)
    t = timed(cp, lambda: cp.copyto(b, a), cfg["repeat"])
    return 2 * a.nbytes / t  # bytes read + written per second


def stage_copy(cp, cfg):
    return {"bytes": cfg["copy_bytes"], "copy_GBps": copy_bandwidth(cp, cfg) / 1e9}


def stage_sigmoid(cp, cfg):
    from ..cuda import kernels
    copy = copy_bandwidth(cp, cfg)
    torch = _torch()
    n = cfg["sigmoid_n"]
    out = {"n": n, "copy_GBps": copy / 1e9}
    for dtype in (np.float32, np.float16, np.float64):
        out[np.dtype(dtype).name] = _sigmoid_row(cp, cfg, kernels, torch, n, dtype, copy)
        cp.get_default_memory_pool().free_all_blocks()
    out["sigmoid_fwd_fraction_of_copy"] = out["float32"]["fwd_fraction_of_copy"]
    out["sigmoid_bwd_fraction_of_copy"] = out["float32"]["bwd_fraction_of_copy"]
    return out


def _sigmoid_row(cp, cfg, kernels, torch, n, dtype, copy):
    x = cp.random.standard_normal(n, dtype=np.float32).astype(dtype)
    y = kernels.sigmoid_fwd(x)
    g = cp.ones_like(y)
    fwd = timed(cp, lambda: kernels.sigmoid_fwd(x), cfg["repeat"])
    bwd = timed(cp, lambda: kernels.sigmoid_bwd(y, g), cfg["repeat"])
    size = x.itemsize * n
    row = {"fwd_fraction_of_copy": 2 * size / fwd / copy,
           "bwd_fraction_of_copy": 3 * size / bwd / copy, "fwd_s": fwd, "bwd_s": bwd}
    if torch is not None:
        tx = torch.from_dlpack(x)
        row["torch_fwd_s"] = timed(cp, lambda: torch.sigmoid(tx), cfg["repeat"])
        row["fwd_vs_torch"] = _ratio(row["torch_fwd_s"], fwd)
    return row


def _bias_act_row(cp, cfg, kernels, M, N, copy):
    z = cp.random.standard_normal((M, N), dtype=np.float32)
    b = cp.random.standard_normal(N, dtype=np.float32)
    out = kernels.bias_act_fwd(z, b, "sigmoid")
    fwd = timed(cp, lambda: kernels.bias_act_fwd(z, b, "sigmoid"), cfg["repeat"])
    bwd = timed(cp, lambda: kernels.bias_act_bwd(z, out, "sigmoid"), cfg["repeat"])
    return {"shape": [M, N], "fwd_fraction_of_copy": 2 * z.nbytes / fwd / copy,
            "bwd_fraction_of_copy": 3 * z.nbytes / bwd / copy, "fwd_s": fwd, "bwd_s": bwd}


def stage_bias_act(cp, cfg):
    from ..cuda import kernels
    copy = copy_bandwidth(cp, cfg)
    rows = []
    for M, N in cfg["bias_shapes"]:
        rows.append(_bias_act_row(cp, cfg, kernels, M, N, copy))
        cp.get_default_memory_pool().free_all_blocks()
    return {"shapes": rows, "copy_GBps": copy / 1e9,
            "bias_act_bwd_fraction_of_copy": rows[0]["bwd_fraction_of_copy"]}


def stage_gemm(cp, cfg):
    from ..cuda import gemm, graph, kernels
    M, K, N = cfg["gemm"]
    a = cp.random.standard_normal((M, K), dtype=np.float32)
    b = cp.random.standard_normal((K, N), dtype=np.float32)
    flops = 2.0 * M * K * N
    out = {"shape": [M, K, N], "dtype": "float32"}
    ref = cp.matmul(a, b)
    captured = graph.capture(lambda: gemm.matmul(cp, a, b), device_id=0)
    captured.launch()
    err = float(cp.abs(captured.result - ref).max() / cp.abs(ref).max())
    times = {"matmul_cu": timed(cp, lambda: kernels.matmul(a, b), cfg["repeat"]),
             "cublas_in_graph": timed(cp, captured.launch, cfg["repeat"]),
             "cupy_matmul": timed(cp, lambda: cp.matmul(a, b), cfg["repeat"])}
    torch = _torch()
    if torch is not None:
        ta, tb = torch.from_dlpack(a), torch.from_dlpack(b)
        times["torch"] = timed(cp, lambda: ta @ tb, cfg["repeat"])
    out["tflops"] = {k: flops / t / 1e12 for k, t in times.items()}
    out["cublas_in_graph_max_rel_error"] = err
    out["gemm_capture_vs_cublas"] = _ratio(times["cupy_matmul"], times["cublas_in_graph"])
    out["matmul_cu_vs_cublas"] = _ratio(times["cupy_matmul"], times["matmul_cu"])
    return out


def stage_linear(cp, cfg):
    import gradengine as ge
    from gradengine import functional as F
    M, K, N = cfg["linear"]
    rng = np.random.default_rng(0)
    x_h = rng.standard_normal((M, K), dtype=np.float32)
    w_h = rng.standard_normal((K, N), dtype=np.float32) / np.float32(np.sqrt(K))
    b_h = np.zeros(N, np.float32)
    g_h = np.ones((M, N), np.float32)
    x = ge.tensor(x_h, device="cuda")
    w = ge.tensor(w_h, device="cuda", requires_grad=True)
    b = ge.tensor(b_h, device="cuda", requires_grad=True)
    g = ge.tensor(g_h, device="cuda")

    def fused():
        w.grad = b.grad = None
        F.linear(x, w, b, activation="sigmoid").backward(g)

    def unfused():
        w.grad = b.grad = None
        F.sigmoid(ge.matmul(x, w) + b).backward(g)

    sync = cp.cuda.Device().synchronize
    out = {"shape": [M, K, N], "fused_s": timed_host(sync, fused, cfg["repeat"]),
           "unfused_s": timed_host(sync, unfused, cfg["repeat"])}
    torch = _torch()
    if torch is not None:
        tx = torch.tensor(x_h, device="cuda")
        tw = torch.tensor(w_h, device="cuda", requires_grad=True)
        tb = torch.tensor(b_h, device="cuda", requires_grad=True)
        tg = torch.tensor(g_h, device="cuda")

        def eager():
            tw.grad = tb.grad = None
            torch.sigmoid(tx @ tw + tb).backward(tg)
        out["torch_s"] = timed_host(torch.cuda.synchronize, eager, cfg["repeat"])
    out["linear_sigmoid_vs_torch"] = _ratio(out.get("torch_s"), out["fused_s"])
    out["linear_sigmoid_vs_unfused"] = _ratio(out["unfused_s"], out["fused_s"])
    return out


def _ge_step(sizes, x_h, y_h):
    import gradengine as ge
    from gradengine import functional as F
    from gradengine import nn, optim
    ge.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(i, o, activation="sigmoid")
                            for i, o in zip(sizes, sizes[1:])]).to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.01)
    X, Y = ge.tensor(x_h, device="cuda"), ge.tensor(y_h, device="cuda")

    def step(X, Y):
        opt.zero_grad()
        loss = F.mse_loss(model(X), Y)
        loss.backward()
        opt.step()
        return loss
    jstep = ge.jit(step)
    return lambda: jstep(X, Y)


def stage_steps(cp, cfg):
    rng = np.random.default_rng(0)
    cases = {"seed_step": ((2, 3, 1), np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32),
                           np.array([[0], [1], [1], [0]], np.float32))}
    batch = cfg["mlp_batch"]
    cases["mlp_step"] = ((784, 256, 256, 10), rng.standard_normal((batch, 784), np.float32),
                         np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)])
    sync = cp.cuda.Device().synchronize
    torch = _torch()
    out = {}
    for name, (sizes, x_h, y_h) in cases.items():
        row = {}
        for graphs in ("1", "0"):
            os.environ["GRADENGINE_CUDA_GRAPHS"] = graphs  # read when ge.jit builds a replay
            step = _ge_step(sizes, x_h, y_h)
            row["jit_graph_s" if graphs == "1" else "jit_s"] = timed_host(
                sync, step, 5 * cfg["repeat"])
        os.environ.pop("GRADENGINE_CUDA_GRAPHS", None)
        if torch is not None:
            torch.manual_seed(0)
            layers = []
            for i, o in zip(sizes, sizes[1:]):
                layers += [torch.nn.Linear(i, o), torch.nn.Sigmoid()]
            model = torch.nn.Sequential(*layers).cuda()
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            tx, ty = torch.tensor(x_h, device="cuda"), torch.tensor(y_h, device="cuda")

            def tstep(opt=opt, model=model, tx=tx, ty=ty):
                opt.zero_grad()
                torch.nn.functional.mse_loss(model(tx), ty).backward()
                opt.step()
            row["torch_s"] = timed_host(torch.cuda.synchronize, tstep, 5 * cfg["repeat"])
        row[f"{name}_jit_vs_torch"] = _ratio(row.get("torch_s"), row["jit_graph_s"])
        out[name] = row
        out[f"{name}_jit_vs_torch"] = row[f"{name}_jit_vs_torch"]
    return out


class _PerTestTimeout:
    """A per-test timeout for pytest without pytest-timeout: SIGALRM fails the test."""

    def __init__(self, seconds: int):
        self.seconds = seconds
        self.passed = self.failed = self.skipped = 0

    def pytest_runtest_call(self, item):
        import signal

        def expire(signum, frame):
            raise TimeoutError(f"{item.nodeid}: over {self.seconds} s")
        signal.signal(signal.SIGALRM, expire)
        signal.alarm(self.seconds)

    def pytest_runtest_teardown(self, item):
        import signal
        signal.alarm(0)

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            if report.outcome == "passed" and report.when == "call":
                self.passed += 1
            elif report.outcome == "failed":
                self.failed += 1
            elif report.outcome == "skipped" and report.when in ("setup", "call"):
                self.skipped += 1


def stage_pytest(cp, cfg):
    import pytest
    plugin = _PerTestTimeout(PER_TEST_TIMEOUT_S)
    log = Path(cfg["out_dir"]) / "pytest.log"
    with open(log, "w") as f:
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = f
        try:
            rc = pytest.main(["-q", "-p", "no:cacheprovider", "-m", "gpu and not slow",
                              "-o", "addopts=", "tests"], plugins=[plugin])
        finally:
            sys.stdout, sys.stderr = stdout, stderr
    return {"exit_code": int(rc), "gpu_tests_passed": plugin.passed,
            "gpu_tests_failed": plugin.failed, "skipped": plugin.skipped}


def sanitizer_launches(cp, cfg):
    """Small odd-sized launches of every kernel and of the cuBLAS binding in a graph."""
    from ..cuda import gemm, graph, kernels
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64, np.float16):
        for n in (1, 33, 1025):
            x = cp.asarray(rng.normal(size=n + 1).astype(dtype))
            for view in (x[:n], x[1:]):  # aligned and misaligned
                y = kernels.sigmoid_fwd(view)
                kernels.sigmoid_bwd(y, view)
        for act in (None, "sigmoid", "relu", "tanh"):
            for M, N in ((33, 31), (7, 32), (257, 3), (5, 1)):
                z = cp.asarray(rng.normal(size=(M, N)).astype(dtype))
                b = cp.asarray(rng.normal(size=N).astype(dtype))
                out = kernels.bias_act_fwd(z, b, act)
                kernels.bias_act_fwd(z[1:], b, act)
                kernels.bias_act_bwd(z, out, act)
                kernels.bias_act_bwd(z, out, act, need_bias=False)
        for M, K, N in ((65, 17, 63), (1, 5, 1), (7, 33, 2)):
            a = cp.asarray(rng.normal(size=(M, K)).astype(dtype))
            bb = cp.asarray(rng.normal(size=(K, N)).astype(dtype))
            kernels.matmul(a, bb)
            kernels.matmul(a.T.copy().T, bb)
    a = cp.asarray(rng.normal(size=(5, 7)).astype(np.float32))
    bb = cp.asarray(rng.normal(size=(7, 3)).astype(np.float32))
    graph.capture(lambda: gemm.matmul(cp, a, bb), device_id=0).launch()
    cp.cuda.Device().synchronize()
    return {"launched": True}


def stage_sanitizer(cp, cfg):
    tool = shutil.which("compute-sanitizer") or next(
        (p for p in ("/usr/local/cuda/bin/compute-sanitizer",) if os.path.exists(p)), None)
    if tool is None:
        return {"sanitizer_errors": None, "note": "compute-sanitizer not found"}
    log = Path(cfg["out_dir"]) / "sanitizer.log"
    out = {"sanitizer_errors": 0}
    with open(log, "w") as f:
        for which in ("memcheck", "racecheck"):
            cmd = [tool, "--tool", which, "--error-exitcode", "99", sys.executable, "-m",
                   "gradengine.benchmarks.gpu_check", "--stage", "sanitizer-launches"]
            f.write(f"$ {' '.join(cmd)}\n")
            f.flush()
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                      timeout=cfg.get("sanitizer_timeout", 100))
                text = done.stdout + done.stderr
                rc = done.returncode
            except subprocess.TimeoutExpired as exc:
                text, rc = f"timed out after {exc.timeout} s\n", None
            f.write(text)
            errors = [int(m) for m in re.findall(r"ERROR SUMMARY: (\d+) error", text)]
            hazards = [int(m) for m in re.findall(r"RACECHECK SUMMARY: (\d+) hazard", text)]
            count = sum(errors) + sum(hazards)
            out[which] = {"exit_code": rc, "errors": count}
            out["sanitizer_errors"] += count if rc is not None else 0
    return out


STAGES = [  # (name, timeout in seconds, function): the order they run in
    ("versions", 30, stage_versions),
    ("compile", 60, stage_compile),
    ("copy", 20, stage_copy),
    ("sigmoid", 45, stage_sigmoid),
    ("bias_act", 30, stage_bias_act),
    ("gemm", 30, stage_gemm),
    ("linear", 30, stage_linear),
    ("steps", 45, stage_steps),
    ("pytest", 120, stage_pytest),
    ("sanitizer", 60, stage_sanitizer),
]
EXTRA_STAGES = {"sanitizer-launches": sanitizer_launches,
                # for tests of the runner itself
                "selftest-ok": lambda cp, cfg: {"gpu_tests_passed": 3},
                "selftest-fail": lambda cp, cfg: 1 / 0,
                "selftest-hang": lambda cp, cfg: time.sleep(60)}


# ---------------------------------------------------------------- the runner

def gpu_status():
    """(True, device count) or (False, why not)."""
    try:
        import cupy as cp
    except Exception as exc:  # noqa: BLE001 - not installed, or broken
        return False, f"CuPy not importable ({type(exc).__name__}: {exc})"
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - no driver
        return False, f"no CUDA driver or device ({type(exc).__name__}: {exc})"
    return (True, count) if count > 0 else (False, "no CUDA device")


def run_stage_here(name: str, cfg: dict) -> dict:
    """Run one stage in this process; prints its JSON result tagged for the parent."""
    fn = {n: f for n, _, f in STAGES}.get(name) or EXTRA_STAGES[name]
    from .. import backend
    cp = backend.cupy()
    result = fn(cp, cfg)
    print(RESULT_TAG + json.dumps(result, default=str), flush=True)
    return result


def run_stage(name: str, timeout: float, out_dir: Path, log) -> dict:
    """One stage in a subprocess under ``timeout``; {"ok", "seconds", "result" | "error"}."""
    env = dict(os.environ, GPU_CHECK_OUT=str(out_dir))
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "gradengine.benchmarks.gpu_check", "--stage", name]
    t0 = time.perf_counter()
    log.write(f"==== stage {name} (timeout {timeout:.0f} s)\n")
    log.flush()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              check=False, cwd=root)
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or b"").decode(errors="replace") if isinstance(
            exc.stdout, bytes) else (exc.stdout or "")
        log.write(text + f"\n[timed out after {timeout:.0f} s]\n")
        return {"ok": False, "seconds": round(time.perf_counter() - t0, 1),
                "error": f"timed out after {timeout:.0f} s"}
    seconds = round(time.perf_counter() - t0, 1)
    log.write(done.stdout + done.stderr + f"\n[exit {done.returncode}, {seconds} s]\n")
    log.flush()
    tagged = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if done.returncode != 0 or not tagged:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "seconds": seconds, "error": f"exit {done.returncode}: {tail}"}
    return {"ok": True, "seconds": seconds, "result": json.loads(tagged[-1][len(RESULT_TAG):])}


def summarize(stages: dict) -> dict:
    """The flat summary: SUMMARY_KEYS from wherever a stage reported them (None if not)."""
    flat = {key: None for key in SUMMARY_KEYS}
    for entry in stages.values():
        result = entry.get("result") or {}
        for key in SUMMARY_KEYS:
            if key in result:
                flat[key] = result[key]
    return flat


def run_all(out_dir: Path, stages=None, budget_s: float = TOTAL_BUDGET_S) -> dict:
    stages = STAGES if stages is None else stages
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "stages": {}}
    start = time.perf_counter()
    with open(out_dir / "check.log", "w") as log:
        for name, timeout, _ in stages:
            left = budget_s - (time.perf_counter() - start)
            if left < 5:
                summary["stages"][name] = {"ok": False, "error": "skipped: out of time"}
            else:
                summary["stages"][name] = run_stage(name, min(timeout, left), out_dir, log)
            summary.update(summarize(summary["stages"]))
            versions = summary["stages"].get("versions", {}).get("result")
            if versions:
                summary["versions"] = versions
            summary["seconds"] = round(time.perf_counter() - start, 1)
            (out_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
            state = "ok" if summary["stages"][name].get("ok") else \
                f"FAILED ({summary['stages'][name].get('error')})"
            print(f"gpu-check: {name}: {state}", flush=True)
    return summary


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(os.environ.get("GPU_CHECK_OUT") or DEFAULT_OUT)
    if argv[:1] == ["--stage"]:
        cfg = dict(FULL, out_dir=str(out_dir))
        run_stage_here(argv[1], cfg)
        return 0
    ok, why = gpu_status()
    if not ok:
        print(f"gpu-check: no GPU here ({why}); nothing checked")
        return 0
    summary = run_all(out_dir)
    print(json.dumps({k: summary.get(k) for k in SUMMARY_KEYS}, default=str))
    print(f"gpu-check: summary and logs in {out_dir}/")
    return 0 if all(s.get("ok") for s in summary["stages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
