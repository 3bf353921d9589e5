"""ge.jit, a plug-in: recording a step through the core's one hook, lowering it to
straight-line code, replaying it (one CUDA graph on the GPU). The core never imports it."""

from __future__ import annotations

from .jit import jit

__all__ = ["jit"]
