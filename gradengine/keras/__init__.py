"""The Keras-style API: the model with compile / fit / evaluate / predict, its losses and
metrics, callbacks and the progress display."""

from __future__ import annotations

from . import callbacks, losses
from .model import KerasModel

__all__ = ["KerasModel", "callbacks", "losses"]
