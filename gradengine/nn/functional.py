"""``torch.nn.functional``'s path: ``import gradengine.nn.functional as F`` is
:mod:`gradengine.functional` itself, the same functions."""

from __future__ import annotations

from ..functional import *  # noqa: F403
from ..functional import __all__  # noqa: F401

# -- gapfill: torch.nn.functional.multi_head_attention_forward (nn/gapfill.py; it reuses
# nn.MultiheadAttention's maths, so it lives in nn, and gradengine.functional lacks it)
from .gapfill import multi_head_attention_forward  # noqa: E402, F401

__all__ = list(__all__) + ["multi_head_attention_forward"]
