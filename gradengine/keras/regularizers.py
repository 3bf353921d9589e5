"""Keras' regularizers: ``Dense(64, kernel_regularizer=regularizers.L2(1e-4))`` (or "l2");
the penalties are added to the loss in fit and evaluate, as Keras does."""

from __future__ import annotations

from ..nn._keras_regularizers import L1, L1L2, L2, Regularizer, get, serialize

l1, l2, l1_l2 = L1, L2, L1L2  # Keras' lower-case aliases are the classes

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]
