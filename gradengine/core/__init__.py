"""The engine's core: the Tensor, the op record and its one dispatch path, the tape,
backward and the grad modes. Nothing here imports the ops, the plug-ins or the models."""

from __future__ import annotations

from .backward import backward, grad
from .gradmode import (
                       detect_anomaly,
                       enable_grad,
                       inference_mode,
                       is_grad_enabled,
                       no_grad,
                       set_grad_enabled,
)
from .op import Node, Op, apply, host_call, op
from .tensor import Tensor

__all__ = ["Node", "Op", "Tensor", "apply", "backward", "detect_anomaly", "enable_grad",
           "grad", "host_call", "inference_mode", "is_grad_enabled", "no_grad", "op",
           "set_grad_enabled"]
