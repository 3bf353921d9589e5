"""Keras 3's ``keras.config``: the global settings a script reads or sets. The float type,
epsilon and image layout are :mod:`gradengine.keras.backend`'s (float32 and channels_last
only); ``backend()`` names the engine, "gradengine". The switches that only change how
Keras itself reports (traceback filtering, interactive logging) or that gradengine has no
use for (flash attention, NNX) are recorded and read back, so scripts that set them run.
"""

from __future__ import annotations

from ..nn.module import DTypePolicy
from . import backend as _backend
from .backend import (
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)

__all__ = ["backend", "disable_flash_attention", "disable_interactive_logging",
           "disable_traceback_filtering", "dtype_policy", "enable_flash_attention",
           "enable_interactive_logging", "enable_traceback_filtering",
           "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format",
           "is_flash_attention_enabled", "is_interactive_logging_enabled", "is_nnx_enabled",
           "is_traceback_filtering_enabled", "is_unsafe_deserialization_enabled",
           "max_epochs", "max_steps_per_epoch", "set_backend", "set_dtype_policy",
           "set_epsilon", "set_floatx", "set_image_data_format", "set_max_epochs",
           "set_max_steps_per_epoch"]

_STATE = {"traceback_filtering": True, "interactive_logging": True, "flash_attention": None,
          "unsafe_deserialization": False, "max_epochs": None, "max_steps_per_epoch": None}


def backend() -> str:
    """The backend's name: ``"gradengine"`` (as ``keras.backend.backend()``)."""
    return _backend.backend()


def set_backend(backend):
    """Keras' set_backend: only "gradengine" here (there is no other engine to switch to).

    Raises:
        ValueError: another backend's name.
    """
    if backend != "gradengine":
        raise ValueError(f"set_backend: gradengine.keras runs on gradengine only, got "
                         f"{backend!r}; use Keras itself for the {backend!r} backend")


def dtype_policy():
    return DTypePolicy(floatx())


def set_dtype_policy(policy):
    """Only "float32" (gradengine's layers compute in float32; mixed policies such as
    "mixed_float16" are a clear error, not a silent no-op).

    Raises:
        ValueError: an unknown policy. NotImplementedError: a mixed or non-float32 one.
    """
    name = policy.name if isinstance(policy, DTypePolicy) else policy
    if name not in ("float32", "float16", "float64", "bfloat16", "mixed_float16",
                    "mixed_bfloat16"):
        raise ValueError(f"set_dtype_policy: unknown policy {policy!r}")
    if name != "float32":
        raise NotImplementedError(f"set_dtype_policy: gradengine's Keras layers are float32; "
                                  f"{name!r} is not supported (use gradengine.amp for mixed "
                                  "precision)")


def enable_traceback_filtering():
    _STATE["traceback_filtering"] = True


def disable_traceback_filtering():
    _STATE["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    return _STATE["traceback_filtering"]


def enable_interactive_logging():
    _STATE["interactive_logging"] = True


def disable_interactive_logging():
    _STATE["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    return _STATE["interactive_logging"]


def enable_flash_attention():
    _STATE["flash_attention"] = True


def disable_flash_attention():
    _STATE["flash_attention"] = False


def is_flash_attention_enabled():
    """None (the default: let the op decide), True or False."""
    return _STATE["flash_attention"]


def enable_unsafe_deserialization():
    """Record Keras' switch (read back by :func:`is_unsafe_deserialization_enabled`);
    gradengine's ``load_model`` takes ``safe_mode=False`` for the effect itself."""
    _STATE["unsafe_deserialization"] = True


def is_unsafe_deserialization_enabled() -> bool:
    return _STATE["unsafe_deserialization"]


def is_nnx_enabled() -> bool:
    return False


def max_epochs():
    return _STATE["max_epochs"]


def set_max_epochs(max_epochs):
    """Record Keras' global cap on epochs (read back by :func:`max_epochs`; gradengine's
    ``fit`` does not read it)."""
    _STATE["max_epochs"] = None if max_epochs is None else int(max_epochs)


def max_steps_per_epoch():
    return _STATE["max_steps_per_epoch"]


def set_max_steps_per_epoch(max_steps_per_epoch):
    _STATE["max_steps_per_epoch"] = None if max_steps_per_epoch is None else \
        int(max_steps_per_epoch)
