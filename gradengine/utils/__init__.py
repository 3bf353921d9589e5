"""``torch.utils``'s path: :mod:`.data` (Dataset, DataLoader, random_split ...)."""

from __future__ import annotations

from . import data

__all__ = ["data"]
