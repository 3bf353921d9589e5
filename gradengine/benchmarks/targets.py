"""The maintainers' performance targets, as data, and the figures they are checked on.

The targets are a maintainers' view (``gradengine bench --targets``), never a part of
the user's table. Each one bounds a named ratio of :func:`derived_ratios`; they are
defined on the full sizes (``gradengine bench`` without ``--quick``).
"""

from __future__ import annotations

from typing import NamedTuple

from .cases import CHAIN_OPS
from .env import CUPY, GE, GE_JIT, GE_OFF, KERAS, NUMPY, TORCH


class Target(NamedTuple):
    key: str  # a figure of derived_ratios()
    bound: float
    op: str  # "<=" or ">="
    devices: tuple
    what: str  # the figure in words
    sizes: str = "full"


TARGETS = (
    Target("op_overhead_vs_torch", 0.75, "<=", ("cpu",),
           "per-op dispatch + backward cost, gradengine / torch"),
    Target("mul_chain_vs_torch", 1.0, "<=", ("cpu",),
           "100,000-op chain forward + backward, gradengine / torch"),
    Target("seed_step_vs_torch", 0.25, "<=", ("cpu",), "seed training step, gradengine / torch"),
    Target("mlp_step_vs_torch", 1.0, "<=", ("cpu",), "MLP training step, gradengine / torch"),
    Target("seed_fit_vs_keras", 0.01, "<=", ("cpu",), "seed model.fit, gradengine / TF-Keras"),
    Target("seed_step_jit_vs_numpy", 1.5, "<=", ("cpu",),
           "seed step under ge.jit / the same step in NumPy by hand"),
    Target("seed_step_jit_vs_torch", 0.15, "<=", ("cpu",), "seed step under ge.jit / torch"),
    Target("mlp_step_jit_vs_torch", 0.9, "<=", ("cpu",), "MLP step under ge.jit / torch"),
    Target("seed_step_jit_vs_torch", 0.33, "<=", ("cuda",), "seed step under ge.jit / torch"),
    Target("mlp_step_jit_vs_torch", 0.33, "<=", ("cuda",), "MLP step under ge.jit / torch"),
    Target("linear_sigmoid_vs_torch", 0.9, "<=", ("cuda",),
           "fused linear+sigmoid forward + backward / torch"),
    Target("linear_sigmoid_vs_unfused", 0.8, "<=", ("cuda",),
           "fused linear+sigmoid / the same with kernels switched off"),
    Target("sigmoid_fwd_fraction_of_copy", 0.85, ">=", ("cuda",),
           "sigmoid forward bandwidth as a fraction of a plain copy's"),
    Target("sigmoid_bwd_fraction_of_copy", 0.85, ">=", ("cuda",),
           "sigmoid backward bandwidth as a fraction of a plain copy's"),
    Target("conv2d_vs_torch", 1.5, "<=", ("cpu",),
           "conv2d 32x3x32x32, 16 3x3 filters, forward + backward / torch"),
    Target("max_pool2d_vs_torch", 1.5, "<=", ("cpu",),
           "max_pool2d 2x2 on 32x16x32x32, forward + backward / torch"),
    Target("attention_vs_torch", 1.5, "<=", ("cpu",),
           "scaled_dot_product_attention (8, 128, 64), forward + backward / torch"),
    Target("layer_norm_vs_torch", 1.5, "<=", ("cpu",),
           "layer_norm (128, 1024), forward + backward / torch"),
)

# GPU results carry these figures at the top level of their JSON as well.
GPU_TOP_LEVEL = ("copy_gbps", "sigmoid_fwd_fraction_of_copy", "sigmoid_bwd_fraction_of_copy",
                 "linear_sigmoid_vs_torch", "linear_sigmoid_vs_unfused", "mlp_step_vs_torch",
                 "seed_step_vs_torch", "seed_step_jit_vs_torch", "mlp_step_jit_vs_torch")


def _medians(results) -> dict:
    return {(r.case, r.impl): r.stats()["median_s"] for r in results if r.samples}


def derived_ratios(results, cases) -> dict:
    """The named figures: a gradengine time over a reference time, and bandwidths."""
    med = _medians(results)
    out = {}

    def ratio(name, case, num, den):
        if (case, num) in med and (case, den) in med:
            out[name] = med[(case, num)] / med[(case, den)]

    ratio("op_overhead_vs_torch", "op_chain_200", GE, TORCH)
    ratio("mul_chain_vs_torch", "mul_chain", GE, TORCH)
    ratio("linear_sigmoid_vs_torch", "linear_sigmoid", GE, TORCH)
    ratio("linear_sigmoid_vs_unfused", "linear_sigmoid", GE, GE_OFF)
    for step in ("seed_step", "mlp_step"):
        ratio(f"{step}_vs_torch", step, GE, TORCH)
        ratio(f"{step}_vs_numpy", step, GE, NUMPY)
        ratio(f"{step}_jit_vs_torch", step, GE_JIT, TORCH)
        ratio(f"{step}_jit_vs_numpy", step, GE_JIT, NUMPY)
    ratio("seed_fit_vs_torch", "seed_fit", GE, TORCH)
    ratio("seed_fit_vs_keras", "seed_fit", GE, KERAS)
    ratio("seed_fit_jit_vs_torch", "seed_fit", GE_JIT, TORCH)
    for name, case in (("conv2d", "conv2d_fwd_bwd"), ("max_pool2d", "max_pool2d_fwd_bwd"),
                       ("attention", "attention_fwd_bwd"), ("layer_norm", "layer_norm_fwd_bwd")):
        ratio(f"{name}_vs_torch", case, GE, TORCH)
    if ("op_chain_200", GE) in med:
        out["op_overhead_us_per_op"] = med[("op_chain_200", GE)] / CHAIN_OPS * 1e6
    # bandwidth figures at the largest size measured
    params = {c.key: c.params for c in cases}
    copies = sorted((k for k in params if k.startswith("copy_")), key=lambda k: params[k]["n"])
    for key in reversed(copies):
        ref = med.get((key, CUPY)) or med.get((key, NUMPY))
        if ref is None:
            continue
        out["copy_gbps"] = params[key]["bytes"] / ref / 1e9
        p = key.split("_")[-1]
        for part in ("fwd", "bwd"):
            t = med.get((f"sigmoid_{part}_{p}", GE))
            if t is not None:
                gbps = params[f"sigmoid_{part}_{p}"]["bytes"] / t / 1e9
                out[f"sigmoid_{part}_gbps"] = gbps
                out[f"sigmoid_{part}_fraction_of_copy"] = gbps / out["copy_gbps"]
        out["bandwidth_size"] = p
        break
    return out


def check_targets(ratios: dict, device: str) -> list:
    """One row per target of ``device``: the figure, its value, the bound, met or not.

    ``met`` is None when the figure was not measured in this run (its column is missing).
    """
    rows = []
    for t in TARGETS:
        if device not in t.devices:
            continue
        value = ratios.get(t.key)
        met = None if value is None else (value <= t.bound if t.op == "<=" else
                                          value >= t.bound)
        rows.append(dict(key=t.key, what=t.what, value=value, target=f"{t.op} {t.bound:g}",
                         met=met, sizes=t.sizes))
    return rows


