"""Keras 3's ``keras.mixed_precision``: the dtype policy by its older names. gradengine's
Keras layers compute in float32, so "float32" is the only policy that can be set; a mixed
one (``"mixed_float16"``) is a clear NotImplementedError, not a silent no-op (see
:func:`gradengine.keras.config.set_dtype_policy`)."""

from __future__ import annotations

from .config import DTypePolicy, dtype_policy, set_dtype_policy

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]

Policy = DTypePolicy
global_policy = dtype_policy
set_global_policy = set_dtype_policy
