"""Small helpers of the Keras training loops (model.py's single-output loop and
multi_output.py's): batches of one or several input arrays, log ordering, the closing
progress line, Keras' snake_case names."""

from __future__ import annotations

import sys

import numpy as np

from .. import backend
from ..core.tensor import Tensor
from ..nn.module import keras_snake
from .progress import _fmt


def _take(X, idx):
    """Rows ``idx`` of the input data (of each array, for several inputs)."""
    return tuple(a[idx] for a in X) if isinstance(X, tuple) else X[idx]


def _rows(X):
    return (X[0] if isinstance(X, tuple) else X).shape[0]


def _shape(X):
    return tuple(tuple(a.shape) for a in X) if isinstance(X, tuple) else tuple(X.shape)


def _tail(X):
    return tuple(tuple(a.shape[1:]) for a in X) if isinstance(X, tuple) else X.shape[1:]


def _device(X):
    return backend.device_of_array(X[0] if isinstance(X, tuple) else X)


def _tensors(X, device):
    if isinstance(X, tuple):
        return tuple(Tensor._make(a, device) for a in X)
    return Tensor._make(X, device)


def _should_validate(epoch, freq):
    """Keras' rule: every ``freq`` epochs, or at the (1-based) epochs listed."""
    if isinstance(freq, (int, np.integer)):
        return (epoch + 1) % int(freq) == 0
    return epoch + 1 in freq


def _sorted_logs(logs):
    """Keras' order of a log dict: sorted by name (``pythonify_logs``)."""
    return {k: logs[k] for k in sorted(logs)}


def _print_step_line(steps, secs, logs):
    """Keras' closing line: ``4/4 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.1234``."""
    per = secs / max(steps, 1)
    per_txt = f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step"
    line = f"{steps}/{steps} " + "\u2501" * 20 + f" {secs:.0f}s {per_txt}"
    if logs:
        line += " - " + _fmt(logs)
    out = sys.stdout
    out.write(line + "\n")
    out.flush()


_snake = keras_snake  # Keras' to_snake_case (the one in nn.module, which names layers)
