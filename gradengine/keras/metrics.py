"""Keras' metric objects (``metrics=[metrics.MeanAbsoluteError()]`` in ``compile``), each
also usable alone, statefully: ``m.update_state(y_true, y_pred); m.result()``."""

from __future__ import annotations

import numpy as np

from .losses import _metric_sums

__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "MeanAbsoluteError",
           "MeanSquaredError", "Metric", "SparseCategoricalAccuracy"]


class Metric:
    """A metric: its ``name`` (the history key) and its kind; the running mean over the
    samples given to :meth:`update_state`."""

    spec = None
    default_name = "metric"

    def __init__(self, name=None, dtype=None):
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self):
        self._sum, self._n = 0.0, 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise NotImplementedError(f"{type(self).__name__}: sample_weight is not supported")
        yt, yp = np.asarray(y_true), np.asarray(y_pred)
        spec = self.spec
        if spec == "binary_accuracy" and getattr(self, "threshold", 0.5) != 0.5:
            yp = yp > self.threshold
            spec = "equal"
            yt = yt.astype(bool) if yt.dtype.kind == "b" else yt
            yp = yp.astype(yt.dtype)
        sums = [0.0]
        _metric_sums([(self.name, spec)], None, yp, yt, sums)
        self._sum += float(sums[0])
        self._n += len(yt)

    def result(self):
        return self._sum / self._n if self._n else 0.0

    def get_config(self):
        return {"name": self.name}


def _metric(name, spec, default):
    return type(name, (Metric,), {"spec": spec, "default_name": default,
                                  "__doc__": f"Keras' {name} (history key {default!r})."})


MeanSquaredError = _metric("MeanSquaredError", "mse", "mean_squared_error")
MeanAbsoluteError = _metric("MeanAbsoluteError", "mae", "mean_absolute_error")
# keras.metrics.Accuracy: how often y_pred equals y_true exactly (the string "accuracy"
# in compile is resolved to the binary, categorical or sparse form instead)
Accuracy = _metric("Accuracy", "equal", "accuracy")


class BinaryAccuracy(Metric):
    """Keras' BinaryAccuracy: how often ``y_pred > threshold`` equals ``y_true`` (history
    key 'binary_accuracy')."""

    spec = "binary_accuracy"
    default_name = "binary_accuracy"

    def __init__(self, name=None, dtype=None, threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(name, dtype)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


CategoricalAccuracy = _metric("CategoricalAccuracy", "categorical_accuracy",
                              "categorical_accuracy")
SparseCategoricalAccuracy = _metric("SparseCategoricalAccuracy", "sparse_categorical_accuracy",
                                    "sparse_categorical_accuracy")
