"""``torch.autograd.profiler``: :class:`profile` (``enabled=True, *, record_shapes=False,
...``), :class:`record_function`, :class:`emit_nvtx` and the event lists; the recorder
itself is :mod:`gradengine.profiler` (``torch.profiler``), which documents what is timed."""

from __future__ import annotations

from ..profiler import EventList, FunctionEvent, FunctionEventAvg, emit_nvtx, record_function
from ..profiler import autograd_profile as profile

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "emit_nvtx", "profile",
           "record_function"]
