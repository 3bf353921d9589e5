"""``torch.utils``'s path: :mod:`.data` (Dataset, DataLoader, random_split ...)."""

from __future__ import annotations

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
