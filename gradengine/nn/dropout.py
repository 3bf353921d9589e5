"""Dropout: zero elements with probability ``p`` in training, the identity in eval mode."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"]


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    while training (``module.train()``); the identity after ``module.eval()``.

    Args:
        p: the drop probability, in [0, 1].
    Raises:
        ValueError: ``p`` outside [0, 1].
    Example:
        >>> drop = nn.Dropout(0.2); y = drop(x)
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p!r}")
        self.p = float(p)
        self.inplace = bool(inplace)

    def forward(self, x):
        return F.dropout(x, p=self.p, training=self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p`` while
    training, as ``torch.nn.Dropout1d``."""

    def forward(self, x):
        return F.dropout1d(x, p=self.p, training=self.training)


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) or (C, H, W) input, as ``torch.nn.Dropout2d``."""

    def forward(self, x):
        return F.dropout2d(x, p=self.p, training=self.training)


class Dropout3d(Dropout):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""

    def forward(self, x):
        return F.dropout3d(x, p=self.p, training=self.training)
