"""Where a benchmark run happens: the device, the run size, and the optional libraries."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import gradengine as ge

GE, GE_OFF, GE_JIT = "gradengine", "gradengine kernels=0", "gradengine+jit"
TORCH, NUMPY, CUPY, KERAS = "torch", "numpy", "cupy", "keras"
IMPLS = (GE, GE_OFF, GE_JIT, TORCH, NUMPY, CUPY, KERAS)
GE_FAMILY = (GE, GE_OFF, GE_JIT)

# Per run size: how much work each case does, how long it may sample, and how many times
# a row whose spread stays wide is measured again.
SIZES = {
    # on CUDA the elementwise rows use >= 2**26 elements: 2**20 fits in L2 and would time
    # Python overhead, not the memory system
    "full": dict(mul_chain=100_000, sigmoid=(2**20, 2**26), sigmoid_cuda=(2**26, 2**28),
                 linear=(4096, 1024, 1024),
                 linear_cpu=(4096, 1024, 1024), mem_steps=1000, mlp_batch=128,
                 budget=12.0, min_rounds=6, passes=3, sample_s=0.025, remeasure=2),
    "quick": dict(mul_chain=20_000, sigmoid=(2**20,), sigmoid_cuda=(2**26,),
                  linear=(4096, 1024, 1024),
                  linear_cpu=(512, 1024, 1024), mem_steps=300, mlp_batch=128,
                  budget=3.0, min_rounds=6, passes=2, sample_s=0.02, remeasure=1),
    # Tiny sizes for the smoke test: exercises every code path in seconds.
    "smoke": dict(mul_chain=300, sigmoid=(2**10,), sigmoid_cuda=(2**10,), linear=(16, 32, 32),
                  linear_cpu=(16, 32, 32),
                  mem_steps=10, mlp_batch=1, budget=0.0, min_rounds=2, passes=1,
                  sample_s=0.0005, remeasure=0),
}


class Skip(Exception):
    """A column (or case) that cannot run here; the message says why."""


@dataclass
class Env:
    """The device, run size and optional libraries of one benchmark run."""

    device: str  # "cpu" or "cuda"
    size: str = "quick"  # "full", "quick" or "smoke"
    torch: object = None
    cupy: object = None
    notes: list = field(default_factory=list)
    torch_missing: str = "torch not installed"

    @classmethod
    def detect(cls, device: str = "auto", size: str = "quick") -> Env:
        """Resolve ``device`` ("auto" picks CUDA when CuPy sees a GPU) and import the refs.

        Raises:
            ValueError: an unknown device name.
            gradengine.DeviceError: "cuda" without CuPy or without a GPU.
        """
        cuda_ok = ge.cuda.is_available()
        if device == "auto":
            device = "cuda" if cuda_ok else "cpu"
        if device not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {device!r}; use auto, cpu or cuda")
        if device == "cuda" and not cuda_ok:
            raise ge.DeviceError("--device cuda needs CuPy and a CUDA device; "
                                 f"{ge.backend.INSTALL_HINT}, or use --device cpu")
        env = cls(device=device, size=size)
        try:
            import torch
            if device == "cuda" and not torch.cuda.is_available():
                env.torch_missing = "this torch build has no CUDA support"
                env.notes.append(f"torch: {env.torch_missing}; torch column skipped")
            else:
                env.torch = torch
        except ImportError:
            env.notes.append("torch: not installed (pip install 'gradengine[bench]'); "
                             "torch column and all ratios skipped")
        if device == "cuda":
            env.cupy = ge.backend.cupy()
        return env

    @property
    def sizes(self) -> dict:
        return SIZES[self.size]

    @property
    def columns(self) -> tuple:
        if self.device == "cuda":
            return (GE, GE_OFF, GE_JIT, TORCH, CUPY, KERAS)
        return (GE, GE_JIT, TORCH, NUMPY, KERAS)

    @property
    def torch_device(self) -> str:
        return "cuda" if self.device == "cuda" else "cpu"

    def xp(self):
        return self.cupy if self.device == "cuda" else np

    def sync(self, impl: str) -> Callable[[], None]:
        """What waits for queued GPU work of a column (nothing on the CPU)."""
        if self.device == "cpu":
            return _noop
        if impl == TORCH:
            return self.torch.cuda.synchronize
        return ge.cuda.synchronize

    @contextlib.contextmanager
    def context(self, impl: str):
        """Active while a column builds, warms up and runs: its device and kernel switch."""
        old_device = ge.get_default_device()
        old_kernels = os.environ.get("GRADENGINE_KERNELS")
        if impl in GE_FAMILY:
            ge.set_default_device(self.device)
            if impl == GE_OFF:
                # read at call time by gradengine.cuda.kernels.enabled()
                os.environ["GRADENGINE_KERNELS"] = "0"
        try:
            yield
        finally:
            ge.set_default_device(old_device)
            if old_kernels is None:
                os.environ.pop("GRADENGINE_KERNELS", None)
            else:
                os.environ["GRADENGINE_KERNELS"] = old_kernels


def _noop():
    return None


def collect(env: Env) -> None:
    """A full GC pass (0.1-0.3 s with torch loaded), skipped in smoke runs."""
    if env.size != "smoke":
        gc.collect()
