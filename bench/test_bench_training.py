"""Training benchmarks: the seed step, the MLP step, the seed's fit, and memory per step.

Each group is one case of ``gradengine.benchmarks``; its rows are the implementations
(gradengine, gradengine+jit under ``ge.jit``, torch, NumPy or CuPy by hand, and
TF-Keras for the seed fit when installed).
"""

import pytest

from bench_util import cases
from gradengine import benchmarks as gb

STEP_COLUMNS = [gb.GE, gb.GE_OFF, gb.GE_JIT, gb.TORCH, gb.NUMPY, gb.CUPY]


@cases("seed_step", "mlp_step")
@pytest.mark.parametrize("impl", STEP_COLUMNS)
def test_training_step(run_case, key, impl):
    run_case(key, impl)


@cases("seed_fit")
@pytest.mark.parametrize("impl", STEP_COLUMNS + [gb.KERAS])
def test_seed_fit(run_case, key, impl):
    run_case(key, impl)


@cases("memory_seed_step", "memory_mlp_step")
@pytest.mark.parametrize("impl", STEP_COLUMNS)
def test_memory_per_step(run_memory, key, impl):
    """Times N steps once and records the memory growth (extra_info: growth, flat)."""
    run_memory(key, impl)
