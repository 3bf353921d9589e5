"""RELIABILITY.md section 3 items 2 and 3: depth and width.

- A chain of 100,000 ops (``y = y * 1.0000001``) under ``sys.setrecursionlimit(200)``:
  backward succeeds, ``x.grad == 1.0000001**100000`` to rtol 1e-9 in float64, in <= 10 s
  and <= 500 MiB peak RSS. Time and peak RSS are measured in a fresh subprocess, the
  peak as its ``VmHWM`` (/proc/self/status), so other tests cannot pollute it.
  (``ru_maxrss`` would not do: Linux carries the parent's peak over ``execve``.)
- Building the same chain and deleting it without backward does not crash.
- ``ge.viz.to_dot`` on a 10,000-node chain under the same recursion limit.
- Width: one ``x`` used 10,000 times, ``x.grad == 49,995,000`` exactly (float64).
- ``-m slow``: the same with 1,000,000 ops.

tests/test_engine.py already runs the 100,000-op chain in process; these add the
recursion limit on every phase, the time and memory figures, and the variants.
"""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest

import gradengine as ge
from reliability_util import report, run_python

CHAIN = r"""
import gc, json, resource, sys, time
import gradengine as ge
n = int(sys.argv[1]); mode = sys.argv[2]

def hwm_kib():
    # The peak RSS of this process image: VmHWM belongs to the address space that execve
    # created. (ru_maxrss is not used for the figure: Linux carries the parent's peak
    # over execve, so a child of a large pytest process would report the parent's.)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

base = hwm_kib()
sys.setrecursionlimit(200)   # from here on: building, backward, deletion
t0 = time.perf_counter()
x = ge.tensor(1.0, dtype="float64", requires_grad=True)
y = x
for _ in range(n):
    y = y * 1.0000001
t1 = time.perf_counter()
grad = None
if mode == "backward":
    y.sum().backward()
    grad = x.grad.item()
t2 = time.perf_counter()
del y                        # the deep graph is freed by reference counting
t3 = time.perf_counter()
gc.collect()
peak = hwm_kib()
print(json.dumps({"n": n, "grad": grad, "build_s": t1 - t0, "backward_s": t2 - t1,
                  "delete_s": t3 - t2, "total_s": t3 - t0, "peak_rss_MiB": peak / 1024,
                  "base_rss_MiB": base / 1024, "delta_rss_MiB": (peak - base) / 1024,
                  "ru_maxrss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _chain(n, mode, timeout):
    res = run_python(CHAIN, n, mode, timeout=timeout)
    res = {k: (round(v, 4) if isinstance(v, float) and k != "grad" else v)
           for k, v in res.items()}
    return res


# (ops, timeout, seconds, MiB): the 1,000,000-op bounds are 10x the 100,000-op figures,
# as time and memory are linear in the depth.
CHAINS = [pytest.param(100_000, 120, 10.0, 500.0, id="100k"),
          pytest.param(1_000_000, 600, 100.0, 5000.0, id="1m", marks=pytest.mark.slow)]


@pytest.mark.parametrize("n, timeout, max_s, max_mib", CHAINS)
def test_chain_backward_at_recursion_limit_200_time_and_peak_rss(n, timeout, max_s, max_mib):
    res = _chain(n, "backward", timeout=timeout)
    expected = 1.0000001 ** n
    rel = abs(res["grad"] - expected) / expected
    report("depth_chain_100k" if n == 100_000 else "depth_chain_1m", expected=expected,
           rel_err=rel, **res)
    assert rel <= 1e-9
    assert res["build_s"] + res["backward_s"] <= max_s
    assert res["peak_rss_MiB"] <= max_mib


def test_chain_100k_built_and_deleted_without_backward():
    res = _chain(100_000, "delete", timeout=120)
    report("depth_chain_100k_delete", **res)
    assert res["grad"] is None and res["peak_rss_MiB"] <= 500.0


def test_deep_graph_deleted_in_process_at_low_recursion_limit():
    """In this process too (a crash would take pytest down): a 50,000-node graph mixing
    unary and binary ops dies at ``del`` under recursion limit 200, and leaves no nodes."""
    from gradengine.core.op import Node
    gc.collect()
    before = sum(1 for o in gc.get_objects() if type(o) is Node)
    old = sys.getrecursionlimit()
    x = ge.tensor([1.0, 2.0], requires_grad=True)
    y = x
    sys.setrecursionlimit(200)
    try:
        for _i in range(25_000):
            y = (y * 0.5 + x).tanh()
        del y
    finally:
        sys.setrecursionlimit(old)
    after = sum(1 for o in gc.get_objects() if type(o) is Node)
    assert after == before


def test_to_dot_on_a_10000_node_chain_at_recursion_limit_200():
    x = ge.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0000001
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        before = ge.viz.to_dot(y)
        y.backward()
        after = ge.viz.to_dot(y)   # after backward the structure is still there
    finally:
        sys.setrecursionlimit(old)
    for dot in (before, after):
        assert dot.startswith("digraph")
        assert dot.count("shape=box") == 10_000      # one box per op node
        assert dot.count("shape=ellipse") == 1       # the one leaf
        assert dot.count("->") == 10_000
    assert "grad:" in after
    report("depth_to_dot_10k", nodes=10_000, dot_chars=len(after))


def test_width_10000_fold_reuse_is_exact():
    """``sum(x * i for i in range(10000))``, as written, and a genuinely wide variant: one
    node whose 10,000 inputs all come from ``x``."""
    x = ge.tensor(1.0, dtype="float64", requires_grad=True)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        total = sum(x * i for i in range(10_000))
        total.backward()
        g1 = x.grad.item()
        x.grad = None
        wide = ge.stack([x * i for i in range(10_000)]).sum()
        wide.backward()
        g2 = x.grad.item()
        (g3,) = ge.grad(ge.stack([x * i for i in range(10_000)]).sum(), [x])
    finally:
        sys.setrecursionlimit(old)
    report("width_10k", grad_sum=g1, grad_stack=g2, grad_ge_grad=g3.item(),
           expected=49_995_000)
    assert g1 == 49_995_000.0
    assert g2 == 49_995_000.0
    assert g3.item() == 49_995_000.0


def test_width_10000_consumers_of_a_vector_in_float32():
    """The same fan-out on a (3,) float32 vector: the gradient is the exact integer
    sum of 0..9999 = 49,995,000 only up to float32 rounding, and equal on every element."""
    x = ge.ones(3, requires_grad=True)
    total = sum(x * 1.0 for _ in range(10_000))
    total.sum().backward()
    g = x.grad.numpy()
    assert g.dtype == np.float32
    assert np.all(g == 10_000.0)


@pytest.mark.slow
def test_chain_1m_built_and_deleted_without_backward():
    res = _chain(1_000_000, "delete", timeout=600)
    report("depth_chain_1m_delete", **res)
    assert res["grad"] is None
