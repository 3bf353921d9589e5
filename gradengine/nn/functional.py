"""``torch.nn.functional``'s path: ``import gradengine.nn.functional as F`` is
:mod:`gradengine.functional` itself, the same functions."""

from __future__ import annotations

from ..functional import *  # noqa: F403
from ..functional import __all__  # noqa: F401
