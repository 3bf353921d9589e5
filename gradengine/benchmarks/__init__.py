"""``gradengine bench``: gradengine beside PyTorch, NumPy and CuPy, measured in one run.

Every case is one piece of work written once per implementation ("column"):

    gradengine              the engine on the chosen device
    gradengine kernels=0    the same on CUDA with the fused kernels switched off
    gradengine+jit          training steps under ``ge.jit``
    torch                   PyTorch eager on the same device (the reference of every ratio)
    numpy / cupy            the same maths written by hand (NumPy on the CPU, CuPy on CUDA)
    keras                   TF-Keras, for the seed ``fit`` only (when installed)

All columns of a case are timed in the same process, interleaved block by block, so that
a slow moment of the machine hits every column alike; a row whose spread stays wide is
measured again and marked if it stays wide. A column whose library is missing is skipped
with the reason, never an error. Ratios are ``column time / torch time``.

This package is not imported by the library: only ``gradengine.cli`` loads it, on
``gradengine bench``. The pytest-benchmark suites in ``bench/`` build their cases from
:func:`make_case`.

    env = Env.detect("cpu", "quick")
    run(env, Path("gradengine-bench"))      # prints the table, writes .json/.md/.png
"""

from .cases import CHAIN_OPS, Bench, Case, case_keys, make_case, make_cases
from .env import CUPY, GE, GE_JIT, GE_OFF, IMPLS, KERAS, NUMPY, SIZES, TORCH, Env, Skip
from .measure import SETTLE_S, WIDE, Result, build_column, measure_memory, measure_time_case
from .report import build_report, build_tables, render_markdown, render_targets, render_text
from .run import DEFAULT_OUT, default_out_dir, run
from .targets import TARGETS, check_targets, derived_ratios

__all__ = [
    "CHAIN_OPS", "CUPY", "DEFAULT_OUT", "GE", "GE_JIT", "GE_OFF", "IMPLS", "KERAS", "NUMPY",
    "SETTLE_S", "SIZES", "TARGETS", "TORCH", "WIDE", "Bench", "Case", "Env", "Result", "Skip",
    "build_column", "build_report", "build_tables", "case_keys", "check_targets",
    "default_out_dir", "derived_ratios", "make_case", "make_cases", "measure_memory",
    "measure_time_case", "render_markdown", "render_targets", "render_text", "run",
]
