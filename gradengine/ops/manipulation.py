"""Op family: manipulation (see docs/ops.md)."""

from __future__ import annotations

__all__: list = []       # the F functions of this family (re-exported by gradengine.functional)
TENSOR_METHODS: dict = {}  # Tensor method name -> function (installed by gradengine.ops)
