"""Op-level benchmarks: per-op overhead, the deep chain, large elementwise, Linear + sigmoid.

Each group is one case of ``gradengine.benchmarks``; its rows are the implementations
(gradengine, gradengine kernels=0 on CUDA, torch, NumPy or CuPy by hand).
"""

import pytest

from bench_util import cases
from gradengine import benchmarks as gb

COLUMNS = [gb.GE, gb.GE_OFF, gb.TORCH, gb.NUMPY, gb.CUPY]


@cases("op_chain_200", "mul_chain")
@pytest.mark.parametrize("impl", COLUMNS)
def test_overhead(run_case, key, impl):
    run_case(key, impl)


@cases(*(f"{case}_2^{p}" for p in (20, 26)
         for case in ("copy", "sigmoid_fwd", "sigmoid_bwd", "sigmoid_fwd_bwd")))
@pytest.mark.parametrize("impl", COLUMNS)
def test_elementwise(run_case, key, impl):
    run_case(key, impl)


@cases("linear_sigmoid")
@pytest.mark.parametrize("impl", COLUMNS)
def test_linear_sigmoid(run_case, key, impl):
    run_case(key, impl)
