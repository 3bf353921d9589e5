"""Keras' ``keras.utils``: ``to_categorical``, ``set_random_seed``, ``normalize``."""

from __future__ import annotations

import random

import numpy as np

from .. import backend

__all__ = ["normalize", "set_random_seed", "to_categorical"]


def to_categorical(x, num_classes=None):
    """One-hot rows (float64, as Keras on NumPy data) for integer class labels; a trailing
    axis of 1 is dropped first, as Keras does.

    Raises:
        ValueError: a label that is negative or not below ``num_classes``, or non-integral
            labels.
    Example:
        >>> to_categorical([0, 2], 3)   # [[1, 0, 0], [0, 0, 1]]
    """
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        if arr.size and not np.all(arr == np.floor(arr)):
            raise ValueError("to_categorical: the labels must be integers, got "
                             f"non-integral {arr.dtype} values")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"to_categorical: the labels must be integers, got {arr.dtype}")
    arr = arr.astype(np.int64)
    shape = arr.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = arr.reshape(-1)
    if num_classes is None:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    num_classes = int(num_classes)
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        bad = int(flat.min()) if flat.min() < 0 else int(flat.max())
        raise ValueError(f"to_categorical: label {bad} is out of range for {num_classes} "
                         f"classes (labels of shape {tuple(arr.shape)})")
    out = np.zeros((flat.size, num_classes))
    out[np.arange(flat.size), flat] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms left at zero)."""
    arr = np.asarray(x, dtype=np.float64) if not isinstance(x, np.ndarray) else x
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    return arr / np.expand_dims(norm, axis)


def set_random_seed(seed):
    """Seed Python's ``random``, NumPy's global generator and gradengine's
    (``ge.manual_seed``), as Keras seeds its backend.

    Raises:
        ValueError: a seed that is not a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed: the seed must be a non-negative integer, got "
                         f"{seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2 ** 32)
    backend.manual_seed(int(seed))
