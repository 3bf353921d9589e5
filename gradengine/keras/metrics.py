"""Keras 3's metrics: stateful objects (``update_state`` / ``result`` / ``reset_state``,
also ``m(y_true, y_pred)``), usable alone or in ``compile(metrics=[...])`` by object or by
name, and the metric functions (``binary_accuracy``, ``top_k_categorical_accuracy``, ...).

The state is kept on the host in float32 (Keras' default dtype) and follows
``keras/src/metrics``: Mean's weighted total / count, the confusion-matrix counts at
thresholds (Precision, Recall, AUC with Keras' interpolation), F-scores, R2, IoU.
In ``compile`` the accuracies, MeanSquaredError and MeanAbsoluteError keep gradengine's
fast on-device path; every other metric object is updated batch by batch and reset at the
start of each epoch and of each evaluation, as Keras does.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..core.tensor import Tensor
from . import losses as _losses
from .loop import _snake as _to_snake
from .losses import _metric_sums  # noqa: F401  (imported from here by older code)

__all__ = ["AUC", "Accuracy", "ConcordanceCorrelation", "PearsonCorrelation",
           "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
           "SpecificityAtSensitivity",
           "concordance_correlation", "pearson_correlation", "BinaryAccuracy",
           "BinaryCrossentropy", "BinaryIoU",
           "CategoricalAccuracy", "CategoricalCrossentropy", "CategoricalHinge",
           "CosineSimilarity", "F1Score", "FBetaScore", "FalseNegatives", "FalsePositives",
           "Hinge", "IoU", "KLDivergence", "LogCoshError", "Mean", "MeanAbsoluteError",
           "MeanAbsolutePercentageError", "MeanIoU", "MeanMetricWrapper", "MeanSquaredError",
           "MeanSquaredLogarithmicError", "Metric", "OneHotIoU", "OneHotMeanIoU", "Poisson",
           "Precision", "R2Score", "Recall", "RootMeanSquaredError",
           "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
           "SparseTopKCategoricalAccuracy", "SquaredHinge", "Sum", "TopKCategoricalAccuracy",
           "TrueNegatives", "TruePositives", "binary_accuracy", "categorical_accuracy",
           "deserialize", "get", "serialize", "sparse_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy"]

_EPSILON = 1e-7
_NEG_INF = -1e10  # Keras' metrics_utils.NEG_INF


class _Scalar(float):
    """A metric result: a float that also answers ``.numpy()`` (Keras returns a tensor)."""

    def numpy(self):
        return np.float32(self)


class _Array(np.ndarray):
    """An array metric result with Keras' ``.numpy()``."""

    def numpy(self):
        return np.asarray(self)


class MetricVariable:
    """A metric's state variable, on the host (Keras' ``metric.add_variable``)."""

    def __init__(self, shape=(), initializer="zeros", dtype="float32", name=None):
        self.shape, self.name = tuple(shape), name
        self.dtype = np.dtype(dtype)
        if isinstance(initializer, str):
            if initializer not in ("zeros", "ones"):
                raise ValueError(f"add_variable: initializer {initializer!r} is not "
                                 "supported for metric variables; use 'zeros' or 'ones'")
            fill = 0.0 if initializer == "zeros" else 1.0
            self._init = np.full(self.shape, fill, self.dtype)
        elif callable(initializer):
            self._init = np.asarray(_np(initializer(self.shape, self.dtype.name), None),
                                    self.dtype)
        else:
            self._init = np.broadcast_to(np.asarray(initializer, self.dtype),
                                         self.shape).copy()
        self.value = self._init.copy()

    def reset(self):
        self.value = self._init.copy()

    def assign(self, v):
        self.value = np.broadcast_to(_np(v, None), self.shape).astype(self.dtype)
        return self

    def assign_add(self, v):
        return self.assign(self.value + _np(v, None))

    def assign_sub(self, v):
        return self.assign(self.value - _np(v, None))

    def numpy(self):
        return self.value.copy()

    def __array__(self, dtype=None, copy=None):
        return self.value.astype(dtype) if dtype is not None else self.value

    def __float__(self):
        return float(self.value)

    def _v(self, other):
        return other.value if isinstance(other, MetricVariable) else _np(other, None)

    def __add__(self, o):
        return self.value + self._v(o)

    __radd__ = __add__

    def __sub__(self, o):
        return self.value - self._v(o)

    def __rsub__(self, o):
        return self._v(o) - self.value

    def __mul__(self, o):
        return self.value * self._v(o)

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self.value / self._v(o)

    def __rtruediv__(self, o):
        return self._v(o) / self.value

    def __repr__(self):
        return f"<MetricVariable {self.name} shape={self.shape} value={self.value}>"


def _result(v):
    v = np.asarray(v, dtype=np.float32)
    return _Scalar(float(v)) if v.ndim == 0 else v.view(_Array)


def _np(v, dtype=np.float32):
    """A host NumPy array of a Tensor, a CuPy array, a list or a number."""
    if isinstance(v, Tensor):
        v = v.data
    if not isinstance(v, np.ndarray) and type(v).__module__.startswith("cupy"):
        v = backend.cupy().asnumpy(v)
    arr = np.asarray(v)
    return arr.astype(dtype, copy=False) if dtype is not None else arr


def _rank_match(x1, x2):
    """Keras' squeeze_or_expand_to_same_rank on host arrays (expand_rank_1)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _same_rank(a, b):
    """Keras' squeeze_or_expand_to_same_rank (a trailing axis of 1 squeezed or added)."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        a = a[..., 0]
    elif b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        b = b[..., 0]
    return a, b


class Metric:
    """Base of Keras' metrics: ``update_state(y_true, y_pred, sample_weight=None)``,
    ``result()``, ``reset_state()``; calling the metric updates it and returns the result.
    A subclass defines those three (and ``get_config`` for its arguments)."""

    spec = None  # a gradengine fast-path kind for compile, when there is one
    default_name = "metric"

    def __init__(self, name=None, dtype=None):
        self.name = name or self.default_name
        # Keras' dtype policies: "float" and "int" name float32 and int32
        dtype = getattr(dtype, "name", dtype) if not isinstance(dtype, str) else dtype
        self.dtype = {"float": "float32", "int": "int32"}.get(dtype, dtype) or "float32"
        self._variables = []
        # gradengine's own state is made here; a Keras-style subclass adds its variables
        # after super().__init__(), so its own reset_state cannot run yet
        for cls in type(self).__mro__:
            if "reset_state" in cls.__dict__ and cls.__module__ == __name__:
                cls.reset_state(self)
                break

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        """A state variable (``assign`` / ``assign_add`` / ``assign_sub`` / ``numpy()``),
        reset to its initial value by the default :meth:`reset_state`."""
        v = MetricVariable(shape, initializer, dtype or self.dtype, name)
        self.__dict__.setdefault("_variables", []).append(v)
        return v

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None,
                   aggregation="sum"):
        return self.add_variable(shape, initializer, dtype, aggregation, name)

    @property
    def variables(self):
        own = list(self.__dict__.get("_variables", ()))
        if own:
            return own
        # -- kssuite: the built-in state as Keras lists it (Mean: total, count; Sum: total)
        return [np.asarray(self.__dict__[k]) for k in ("total", "count")
                if k in self.__dict__ and np.ndim(self.__dict__[k]) == 0]

    @property
    def _dtype(self):  # -- kssuite: Keras' attribute, read by its tests
        return self.dtype

    def reset_state(self):
        for v in self.__dict__.get("_variables", ()):
            v.reset()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} does not define result")

    def _result_value(self):
        return self.result()

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """The (weighted) mean of the values given: ``total / count``."""

    default_name = "mean"

    def reset_state(self):
        self.total, self.count = np.float32(0), np.float32(0)

    def update_state(self, values, sample_weight=None):
        values, sample_weight = _samplewise(_np(values), sample_weight, np.mean)
        self.total = np.float32(self.total + values.sum())
        if sample_weight is not None:
            n = sample_weight.sum()
        else:
            n = values.shape[0] if values.ndim >= 1 else 1
        self.count = np.float32(self.count + n)

    def result(self):
        return _result(self.total / self.count if self.count else 0.0)


class Sum(Metric):
    """The (weighted) sum of the values given."""

    default_name = "sum"

    def reset_state(self):
        self.total = np.float32(0)

    def update_state(self, values, sample_weight=None):
        values, _ = _samplewise(_np(values), sample_weight, np.sum)
        self.total = np.float32(self.total + values.sum())

    def result(self):
        return _result(self.total)


def _samplewise(values, sample_weight, reduce_fn):
    """Keras' reduce_to_samplewise_values: weights broadcast to the values, then each
    sample's values reduced to one."""
    if sample_weight is not None:
        sw = _np(sample_weight)
        values, sw = _same_rank(values, sw)
        if values.ndim > sw.ndim:
            values = reduce_fn(values, axis=tuple(range(sw.ndim, values.ndim)))
        sw = np.broadcast_to(sw, values.shape)
        values = values * sw
        if sw.ndim > 1:
            sw = reduce_fn(sw, axis=tuple(range(1, sw.ndim)))
        sample_weight = sw
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class MeanMetricWrapper(Mean):
    """A Mean of ``fn(y_true, y_pred, **kwargs)``, the per-sample values of a function."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn, self._fn_kwargs = fn, kwargs
        super().__init__(name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(_np(self._fn(y_true, y_pred, **self._fn_kwargs)), sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        if cls is MeanMetricWrapper:
            raise TypeError("MeanMetricWrapper.from_config: the wrapped function is not "
                            "serialized; construct MeanMetricWrapper(fn) again")
        return cls(**config)


# ---------------------------------------------------------------- metric functions

def accuracy(y_true, y_pred):
    """1 where ``y_pred`` equals ``y_true`` exactly, else 0 (per element)."""
    yt, yp = _same_rank(_np(y_true), _np(y_pred))
    return (yt == yp).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """``mean(y_true == (y_pred > threshold), axis=-1)``."""
    yt, yp = _same_rank(_np(y_true), _np(y_pred))
    # -- kssuite: elementwise, as Keras 3 (no mean over the last axis)
    return (yt == (yp > threshold).astype(np.float32)).astype(np.float32)


def categorical_accuracy(y_true, y_pred):
    """1 where ``argmax(y_pred) == argmax(y_true)`` (sparse labels also taken)."""
    yt, yp = _np(y_true), _np(y_pred)
    if yt.ndim == yp.ndim:
        yt = yt.argmax(axis=-1)
    elif yt.ndim == yp.ndim - 1:
        pass
    return (yp.argmax(axis=-1) == yt.reshape(yp.shape[:-1])).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where ``argmax(y_pred)`` equals the integer label."""
    yt, yp = _np(y_true), _np(y_pred)
    if yt.ndim == yp.ndim and yt.shape[-1] == 1:
        yt = yt[..., 0]
    return (yp.argmax(axis=-1) == yt).astype(np.float32)


def _in_top_k(labels, pred, k):
    # as the torch backend's in_top_k: ties with the k-th largest value count as in
    kth = -np.sort(-pred, axis=-1)[..., min(k, pred.shape[-1]) - 1]
    picked = np.take_along_axis(pred, labels[..., None].astype(np.int64), axis=-1)[..., 0]
    return (picked >= kth).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the true class (argmax of y_true) is among the ``k`` largest predictions."""
    yt, yp = _np(y_true), _np(y_pred)
    return _in_top_k(yt.argmax(axis=-1), yp, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1 where the integer label is among the ``k`` largest predictions (with
    ``from_sorted_ids``, y_pred holds the top class ids, best first)."""
    yt, yp = _np(y_true), _np(y_pred)
    if yt.ndim == yp.ndim and yt.shape[-1] == 1:
        yt = yt[..., 0]
    if from_sorted_ids:
        return (yp[..., :k] == yt[..., None]).any(axis=-1).astype(np.float32)
    return _in_top_k(yt, yp, k)


def _cosine(y_true, y_pred, axis=-1):
    yt, yp = _same_rank(_np(y_true), _np(y_pred))

    def norm(x):
        return x / np.sqrt(np.maximum((x * x).sum(axis=axis, keepdims=True), 1e-12))
    return (norm(yt) * norm(yp)).sum(axis=axis)


def _rmse_values(y_true, y_pred):
    yt, yp = _same_rank(_np(y_true), _np(y_pred))
    return (yp - yt) ** 2


def _wrapper(name, fn, default, params=(), spec=None):
    keys = [k for k, _ in params]
    defaults = dict(params)

    def __init__(self, *args, **kwargs):
        order = ["k", "name", "dtype"] + keys[1:] if keys[:1] == ["k"] else \
            ["name", "dtype"] + keys
        for k, v in zip(order, args):
            kwargs[k] = v
        bad = set(kwargs) - set(order)
        if bad:
            raise TypeError(f"{name}: unexpected keyword arguments {sorted(bad)}")
        fk = {k: kwargs.get(k, defaults[k]) for k in keys}
        for k, v in fk.items():
            setattr(self, k, v)
        MeanMetricWrapper.__init__(self, fn, kwargs.get("name") or default,
                                   kwargs.get("dtype"), **fk)

    return type(name, (MeanMetricWrapper,), {
        "__init__": __init__, "spec": spec, "default_name": default,
        "__doc__": f"Keras' {name}: the (weighted) mean of ``{fn.__name__}`` per sample."})


def _loss_values(fn):
    def values(y_true, y_pred, **kwargs):
        return _np(fn(y_true, y_pred, **kwargs))
    values.__name__ = fn.__name__
    return values


MeanSquaredError = _wrapper("MeanSquaredError", _loss_values(_losses.mean_squared_error),
                            "mean_squared_error", spec="mse")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", _loss_values(_losses.mean_absolute_error),
                             "mean_absolute_error", spec="mae")
MeanAbsolutePercentageError = _wrapper(
    "MeanAbsolutePercentageError", _loss_values(_losses.mean_absolute_percentage_error),
    "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _wrapper(
    "MeanSquaredLogarithmicError", _loss_values(_losses.mean_squared_logarithmic_error),
    "mean_squared_logarithmic_error")
LogCoshError = _wrapper("LogCoshError", _loss_values(_losses.log_cosh), "logcosh")
Poisson = _wrapper("Poisson", _loss_values(_losses.poisson), "poisson")
KLDivergence = _wrapper("KLDivergence", _loss_values(_losses.kl_divergence), "kl_divergence")
Hinge = _wrapper("Hinge", _loss_values(_losses.hinge), "hinge")
SquaredHinge = _wrapper("SquaredHinge", _loss_values(_losses.squared_hinge), "squared_hinge")
CategoricalHinge = _wrapper("CategoricalHinge", _loss_values(_losses.categorical_hinge),
                            "categorical_hinge")
CosineSimilarity = _wrapper("CosineSimilarity", _cosine, "cosine_similarity",
                            (("axis", -1),))
CosineSimilarity.get_config = Metric.get_config  # Keras 3.15's (no axis)
BinaryCrossentropy = _wrapper("BinaryCrossentropy",
                              _loss_values(_losses.binary_crossentropy),
                              "binary_crossentropy",
                              (("from_logits", False), ("label_smoothing", 0.0)))
CategoricalCrossentropy = _wrapper(
    "CategoricalCrossentropy", _loss_values(_losses.categorical_crossentropy),
    "categorical_crossentropy",
    (("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)))
SparseCategoricalCrossentropy = _wrapper(
    "SparseCategoricalCrossentropy", _loss_values(_losses.sparse_categorical_crossentropy),
    "sparse_categorical_crossentropy",
    (("from_logits", False), ("ignore_class", None), ("axis", -1)))
Accuracy = _wrapper("Accuracy", accuracy, "accuracy", spec="equal")
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy,
                               "categorical_accuracy", spec="categorical_accuracy")
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                     "sparse_categorical_accuracy",
                                     spec="sparse_categorical_accuracy")
TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                   "top_k_categorical_accuracy", (("k", 5),))
SparseTopKCategoricalAccuracy = _wrapper(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy", (("k", 5), ("from_sorted_ids", False)))


def _sparse_top_k_config(self):  # Keras: from_sorted_ids only when True
    cfg = {"name": self.name, "dtype": self.dtype, "k": self.k}
    if self.from_sorted_ids:
        cfg["from_sorted_ids"] = True
    return cfg


SparseTopKCategoricalAccuracy.get_config = _sparse_top_k_config


class BinaryAccuracy(MeanMetricWrapper):
    """Keras' BinaryAccuracy: how often ``y_pred > threshold`` equals ``y_true``."""

    default_name = "binary_accuracy"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(binary_accuracy, name, dtype, threshold=self.threshold)

    @property
    def spec(self):
        return "binary_accuracy" if self.threshold == 0.5 else None


class RootMeanSquaredError(Mean):
    """``sqrt`` of the (weighted) mean squared error."""

    default_name = "root_mean_squared_error"

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(_rmse_values(y_true, y_pred), sample_weight)

    def result(self):
        return _result(np.sqrt(self.total / self.count) if self.count else 0.0)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Keras' pearson_correlation: the mean product of the standardized values along
    ``axis``."""
    yt, yp = _same_rank(_np(y_true), _np(y_pred))
    tn = yt - yt.mean(axis=axis, keepdims=True)
    pn = yp - yp.mean(axis=axis, keepdims=True)
    tn = tn / tn.std(axis=axis, keepdims=True)
    pn = pn / pn.std(axis=axis, keepdims=True)
    return (tn * pn).mean(axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Keras' concordance_correlation, formula for formula (its covariance term centres
    y_true at y_pred's mean, as Keras 3 does)."""
    yt, yp = _same_rank(_np(y_true), _np(y_pred))
    tm, pm = yt.mean(axis=axis, keepdims=True), yp.mean(axis=axis, keepdims=True)
    tv, pv = (yt - tm).var(axis=axis, keepdims=True), (yp - pm).var(axis=axis, keepdims=True)
    covar = (yt - pm) * (yp - pm)
    norm = tv + pv + (tm - pm) ** 2
    return (2 * covar / (norm + _EPSILON)).mean(axis=axis)


PearsonCorrelation = _wrapper("PearsonCorrelation", pearson_correlation,
                              "pearson_correlation", (("axis", -1),))
ConcordanceCorrelation = _wrapper("ConcordanceCorrelation", concordance_correlation,
                                  "concordance_correlation", (("axis", -1),))


# ---------------------------------------------------------------- confusion matrix

def _thresholds(thresholds, default):
    t = default if thresholds is None else thresholds
    return np.atleast_1d(np.asarray(t, dtype=np.float32)), np.ndim(t) == 0


def _confusion_update(counts, y_true, y_pred, thresholds, sample_weight, top_k=None,
                      class_id=None, multi_label=False, label_weights=None):
    """Keras' update_confusion_matrix_variables on host arrays: add the weighted counts
    of ``y_pred > threshold`` against ``y_true`` for each threshold into ``counts``
    (a dict with tp / fp / tn / fn, each of shape (T,) or (T, labels))."""
    yt, yp = _np(y_true), _np(y_pred)
    yp, yt = _same_rank(yp, yt)
    sw = None
    if sample_weight is not None:
        sw = _np(sample_weight)[..., None]
        _, sw = _same_rank(yt, sw) if sw.ndim == yt.ndim + 1 else (yt, sw)
    if top_k is not None:
        k = min(int(top_k), yp.shape[-1])
        idx = np.argsort(-yp, axis=-1, kind="stable")[..., :k]
        mask = np.zeros_like(yp)
        np.put_along_axis(mask, idx, 1.0, axis=-1)
        yp = yp * mask + _NEG_INF * (1 - mask)
    if class_id is not None:
        if yp.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with "
                             f"shape (num_samples, num_classes), found shape: {yp.shape}")
        yt, yp = yt[..., class_id, None], yp[..., class_id, None]
        if sw is not None and sw.ndim == yt.ndim and sw.shape[-1] != 1:
            sw = sw[..., class_id, None]
    w = np.ones_like(yp) if sw is None else np.broadcast_to(sw.astype(np.float32),
                                                              yp.shape)
    if label_weights is not None and not multi_label:
        w = w * np.broadcast_to(np.asarray(label_weights, np.float32), yp.shape)
    lab = yt.astype(bool)
    if multi_label:
        yp2, lab2, w2 = (a.reshape(a.shape[0], -1) for a in (yp, lab, w))
        pos = yp2[None] > thresholds[:, None, None]
        axis = 1
    else:
        yp2, lab2, w2 = yp.reshape(-1), lab.reshape(-1), w.reshape(-1)
        pos = yp2[None] > thresholds[:, None]
        axis = 1
    lab2, w2 = lab2[None], w2[None]
    counts["tp"] = counts["tp"] + np.where(lab2 & pos, w2, 0).sum(axis=axis)
    counts["fp"] = counts["fp"] + np.where(~lab2 & pos, w2, 0).sum(axis=axis)
    counts["fn"] = counts["fn"] + np.where(lab2 & ~pos, w2, 0).sum(axis=axis)
    counts["tn"] = counts["tn"] + np.where(~lab2 & ~pos, w2, 0).sum(axis=axis)


def _divide_no_nan(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, np.float32(0), a / np.where(b == 0, 1, b)).astype(np.float32)


class _ConfusionMetric(Metric):
    _key = "tp"

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.thresholds, self._one = _thresholds(thresholds, 0.5)
        super().__init__(name, dtype)

    def reset_state(self):
        z = np.zeros(len(self.thresholds), np.float32)
        self._counts = {k: z.copy() for k in ("tp", "fp", "tn", "fn")}

    def update_state(self, y_true, y_pred, sample_weight=None):
        _confusion_update(self._counts, y_true, y_pred, self.thresholds, sample_weight)

    def result(self):
        v = self._counts[self._key]
        return _result(v[0] if self._one else v)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMetric):
    """The (weighted) count of true positives at each threshold (default 0.5)."""

    default_name = "true_positives"


class FalsePositives(_ConfusionMetric):
    """The (weighted) count of false positives at each threshold."""

    _key, default_name = "fp", "false_positives"


class TrueNegatives(_ConfusionMetric):
    """The (weighted) count of true negatives at each threshold."""

    _key, default_name = "tn", "true_negatives"


class FalseNegatives(_ConfusionMetric):
    """The (weighted) count of false negatives at each threshold."""

    _key, default_name = "fn", "false_negatives"


class Precision(Metric):
    """``tp / (tp + fp)`` at each threshold (0.5; with ``top_k`` any prediction among the
    top k), optionally of one ``class_id``."""

    default_name = "precision"
    _num, _den = "tp", "fp"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        default = 0.5 if top_k is None else _NEG_INF
        self.thresholds, self._one = _thresholds(thresholds, default)
        super().__init__(name, dtype)

    def reset_state(self):
        z = np.zeros(len(self.thresholds), np.float32)
        self._counts = {k: z.copy() for k in ("tp", "fp", "tn", "fn")}

    def update_state(self, y_true, y_pred, sample_weight=None):
        _confusion_update(self._counts, y_true, y_pred, self.thresholds, sample_weight,
                          self.top_k, self.class_id)

    def result(self):
        tp = self._counts["tp"]
        v = _divide_no_nan(tp, tp + self._counts[self._den])
        return _result(v[0] if self._one else v)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Recall(Precision):
    """``tp / (tp + fn)`` at each threshold (see Precision)."""

    default_name = "recall"
    _den = "fn"


class AUC(Metric):
    """The area under the ROC or PR curve from ``num_thresholds`` confusion matrices
    (Keras' thresholds, its interpolation for "interpolation" -- Davis & Goadrich for PR --
    and its "minoring" / "majoring" Riemann sums)."""

    default_name = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        curve, summation_method = str(curve).upper(), str(summation_method).lower()
        if curve not in ("ROC", "PR"):
            raise ValueError(f'AUC: invalid curve {curve!r}; expected "ROC" or "PR"')
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: invalid summation_method {summation_method!r}; expected "
                             '"interpolation", "minoring" or "majoring"')
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            inner = sorted(float(t) for t in thresholds)
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thr = np.array([0.0 - _EPSILON] + inner + [1.0 + _EPSILON], dtype=np.float32)
        self._init_thresholds = thresholds is not None
        self.curve, self.summation_method = curve, summation_method
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights,
                                                                           np.float32)
        self.from_logits = bool(from_logits)
        super().__init__(name, dtype)

    @property
    def thresholds(self):
        return list(self._thr)

    def reset_state(self):
        self._counts = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        yp = _np(y_pred)
        if self.multi_label and yp.ndim != 2:  # Keras' check and words
            raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                             f"{yp.ndim}. Full shape received for `y_pred`: {yp.shape}")
        if self.from_logits:
            yp = 1.0 / (1.0 + np.exp(-yp))
        if self._counts is None:
            labels = int(np.prod(yp.shape[1:])) if self.multi_label and yp.ndim > 1 else None
            shape = (len(self._thr),) + ((labels,) if labels else ())
            self._counts = {k: np.zeros(shape, np.float32) for k in ("tp", "fp", "tn", "fn")}
        _confusion_update(self._counts, y_true, yp, self._thr, sample_weight,
                          multi_label=self.multi_label,
                          label_weights=None if self.multi_label else self.label_weights)

    def _by_label(self, terms):
        if not self.multi_label:
            return terms.sum()
        by = terms.sum(axis=0)
        if self.label_weights is None:
            return by.mean()
        return _divide_no_nan((by * self.label_weights).sum(), self.label_weights.sum())

    def result(self):
        if self._counts is None:
            return _result(0.0)
        c, n = self._counts, self.num_thresholds
        tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[:n - 1] - tp[1:]
            p = tp + fp
            dp = p[:n - 1] - p[1:]
            slope = _divide_no_nan(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * p[1:]
            ratio = np.where((p[:n - 1] > 0) & (p[1:] > 0),
                             _divide_no_nan(p[:n - 1], np.maximum(p[1:], 0)), 1.0)
            inc = _divide_no_nan(slope * (dtp + intercept * np.log(ratio)),
                                 np.maximum(tp[1:] + fn[1:], 0))
            return _result(self._by_label(inc))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:n - 1], y[1:])
        else:
            heights = np.maximum(y[:n - 1], y[1:])
        return _result(self._by_label((x[:n - 1] - x[1:]) * heights))

    def get_config(self):
        cfg = {"name": self.name, "dtype": self.dtype, "num_thresholds": self.num_thresholds,
               "curve": self.curve, "summation_method": self.summation_method,
               "multi_label": self.multi_label, "num_labels": self.num_labels,
               "label_weights": None if self.label_weights is None
               else self.label_weights.tolist(), "from_logits": self.from_logits}
        if self._init_thresholds:
            cfg["thresholds"] = [float(t) for t in self._thr[1:-1]]
        return cfg


class _AtConstraint(Metric):
    """Keras' SensitivitySpecificityBase: confusion counts at ``num_thresholds`` evenly
    spaced thresholds from 0 to 1; the best ``dependent`` rate where ``constrained``
    reaches ``value``."""

    _arg = "value"

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if not 0 <= value <= 1:
            raise ValueError(f"{type(self).__name__}: `{self._arg}` must be in the range "
                             f"[0, 1]. Received: {self._arg}={value}")
        if num_thresholds <= 0:
            raise ValueError(f"{type(self).__name__}: `num_thresholds` must be an integer "
                             f"> 0. Received: num_thresholds={num_thresholds}")
        self.value, self.num_thresholds, self.class_id = float(value), int(num_thresholds), \
            class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            self.thresholds = [0.0] + [(i + 1) * 1.0 / (num_thresholds - 1)
                                       for i in range(num_thresholds - 2)] + [1.0]
        super().__init__(name, dtype)

    def reset_state(self):
        z = np.zeros(len(self.thresholds), np.float32)
        self._counts = {k: z.copy() for k in ("tp", "fp", "tn", "fn")}

    def update_state(self, y_true, y_pred, sample_weight=None):
        _confusion_update(self._counts, y_true, y_pred,
                          np.asarray(self.thresholds, np.float32), sample_weight,
                          class_id=self.class_id)

    def _rates(self):
        c = self._counts
        return {"sensitivity": _divide_no_nan(c["tp"], c["tp"] + c["fn"]),
                "specificity": _divide_no_nan(c["tn"], c["tn"] + c["fp"]),
                "precision": _divide_no_nan(c["tp"], c["tp"] + c["fp"])}

    def result(self):
        r = self._rates()
        constrained, dependent = r[self._constrained], r[self._dependent]
        return _result(np.max(np.where(constrained >= self.value, dependent, 0), initial=0))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "num_thresholds": self.num_thresholds,
                self._arg: self.value, "class_id": self.class_id}


def _at(name, arg, constrained, dependent, default):
    def __init__(self, *args, **kwargs):
        if arg in kwargs:
            kwargs["value"] = kwargs.pop(arg)
        _AtConstraint.__init__(self, *args, **kwargs)
    return type(name, (_AtConstraint,), {
        "__init__": __init__, "_arg": arg, "_constrained": constrained,
        "_dependent": dependent, "default_name": default,
        "__doc__": f"Keras' {name}: the best {dependent} where {constrained} >= {arg}."})


SensitivityAtSpecificity = _at("SensitivityAtSpecificity", "specificity", "specificity",
                               "sensitivity", "sensitivity_at_specificity")
SpecificityAtSensitivity = _at("SpecificityAtSensitivity", "sensitivity", "sensitivity",
                               "specificity", "specificity_at_sensitivity")
PrecisionAtRecall = _at("PrecisionAtRecall", "recall", "sensitivity", "precision",
                        "precision_at_recall")
RecallAtPrecision = _at("RecallAtPrecision", "precision", "precision", "sensitivity",
                        "recall_at_precision")


# ---------------------------------------------------------------- F-scores, R2, IoU

class FBetaScore(Metric):
    """Keras' FBetaScore: per class ``(1 + b^2) P R / (b^2 P + R)`` (``average``: None,
    "micro", "macro" or "weighted"); without ``threshold`` the largest prediction of each
    row is the positive one. 2-D inputs (batch, classes); the counts are made at the first
    update (one per class, or one for "micro") and zeroed by ``reset_state``."""

    default_name = "fbeta_score"

    def __init__(self, average=None, beta=1.0, threshold=None, name=None, dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, "
                             f"'micro', 'macro', 'weighted'}}. Received: average={average}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: "
                             f"beta={beta}")
        if threshold is not None and not 0 < threshold <= 1:
            raise ValueError("Invalid `threshold` argument value. It should verify 0 < "
                             f"threshold <= 1. Received: threshold={threshold}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        self.axis = None if average == "micro" else 0
        super().__init__(name, dtype)

    def reset_state(self):
        s = self.__dict__.get("_s")
        self._s = None if s is None else {k: np.zeros_like(v) for k, v in s.items()}

    def update_state(self, y_true, y_pred, sample_weight=None):
        yt, yp = _np(y_true), _np(y_pred)
        if self._s is None:
            if yp.ndim != 2 or yt.ndim != 2:  # Keras' check and words
                raise ValueError("FBetaScore expects 2D inputs with shape (batch_size, "
                                 f"output_dim). Received input shapes: y_pred.shape="
                                 f"{yp.shape} and y_true.shape={yt.shape}.")
            shape = () if self.average == "micro" else (yp.shape[-1],)
            self._s = {k: np.zeros(shape, np.float32) for k in ("tp", "fp", "fn", "w")}
        if self.threshold is None:
            yp = (yp >= yp.max(axis=-1, keepdims=True)) & (np.abs(yp) > 1e-9)
        else:
            yp = yp > self.threshold
        yp = yp.astype(np.float32)
        sw = None if sample_weight is None else _np(sample_weight)

        def wsum(v):
            if sw is not None:  # Keras' val * expand_dims(sample_weight, 1)
                v = v * np.expand_dims(sw, 1)
            return v.sum(axis=self.axis)
        new = {"tp": wsum(yp * yt), "fp": wsum(yp * (1 - yt)), "fn": wsum((1 - yp) * yt),
               "w": wsum(yt)}
        if new["tp"].shape != self._s["tp"].shape:
            raise ValueError(f"FBetaScore: sample_weight of shape {sw.shape} gives counts of "
                             f"shape {new['tp'].shape}, not {self._s['tp'].shape}: give "
                             "one weight per sample")
        self._s = {k: (self._s[k] + new[k]).astype(np.float32) for k in new}

    def result(self):
        if self._s is None:
            return _result(0.0)
        s, eps, b2 = self._s, _EPSILON, self.beta ** 2
        precision = s["tp"] / (s["tp"] + s["fp"] + eps)
        recall = s["tp"] / (s["tp"] + s["fn"] + eps)
        f = precision * recall / (b2 * precision + recall + eps) * (1 + b2)
        if self.average == "weighted":
            f = (f * (s["w"] / (s["w"].sum() + eps))).sum()
        elif self.average is not None:
            f = np.mean(f)
        return _result(f)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "average": self.average,
                "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """FBetaScore with ``beta=1``."""

    default_name = "f1_score"

    def __init__(self, average=None, threshold=None, name=None, dtype=None):
        super().__init__(average, 1.0, threshold, name, dtype)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("beta")
        return cfg


class R2Score(Metric):
    """The coefficient of determination per output column, then averaged
    (``class_aggregation``: "uniform_average", "variance_weighted_average" or None);
    ``num_regressors`` gives the adjusted R2. 2-D inputs (ranks matched first, as Keras);
    after ``reset_state`` the result is NaN (0 / 0), as Keras'."""

    default_name = "r2_score"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name=None,
                 dtype=None):
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one "
                             "of (None, 'uniform_average', 'variance_weighted_average'). "
                             f"Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a "
                             f"value >= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, int(num_regressors)
        super().__init__(name, dtype)

    def reset_state(self):
        s = self.__dict__.get("_s")
        self._s = None if s is None else {k: np.zeros_like(v) for k, v in s.items()}
        self.num_samples = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        yt, yp = _np(y_true), _np(y_pred)
        yt, yp = _rank_match(yt, yp)
        if yt.ndim != 2 or yp.ndim != 2:  # Keras' check and words
            raise ValueError(f"R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={yp.shape} and "
                             f"y_true.shape={yt.shape}.")
        sw = np.float32(1) if sample_weight is None else _np(sample_weight)
        if np.ndim(sw) == 1:
            sw = sw[:, None]
        sw = np.broadcast_to(sw, yt.shape)
        wy = yt * sw
        new = {"sum": wy.sum(0), "sq": (yt * wy).sum(0), "mse": ((yt - yp) ** 2 * sw).sum(0),
               "count": sw.sum(0)}
        if self._s is None:
            self._s = {k: np.zeros(yp.shape[-1], np.float32) for k in new}
        self._s = {k: (self._s[k] + new[k]).astype(np.float32) for k in new}
        self.num_samples += yt.size

    def result(self):
        if self._s is None:
            return _result(0.0)
        s = self._s
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s["sum"] / s["count"]
            total = s["sq"] - s["sum"] * mean
            raw = 1 - s["mse"] / total
            raw = np.where(np.isinf(raw), np.float32(0.0), raw)
            if self.class_aggregation == "uniform_average":
                r2 = raw.mean()
            elif self.class_aggregation == "variance_weighted_average":
                r2 = (total * raw).sum() / total.sum()
            else:
                r2 = raw
            n, p = self.num_samples, self.num_regressors
            if p:
                if p > n - 1:
                    warnings.warn("More independent predictors than datapoints in adjusted "
                                  "R2 score. Falling back to standard R2 score.",
                                  stacklevel=2)
                elif p == n - 1:
                    warnings.warn("Division by zero in Adjusted R2 score. Falling back to "
                                  "standard R2 score.", stacklevel=2)
                else:
                    r2 = 1 - (1 - r2) * np.float32(n - 1) / np.float32(n - p - 1)
        return _result(r2)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


class IoU(Metric):
    """Intersection over union of ``target_class_ids`` from the accumulated confusion
    matrix (integer labels and predictions unless ``sparse_y_true`` / ``sparse_y_pred``
    is False: then the argmax over ``axis``)."""

    default_name = "io_u"

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1):
        self.num_classes = int(num_classes)
        self.target_class_ids = list(target_class_ids)
        if max(self.target_class_ids, default=0) >= self.num_classes:
            raise ValueError(f"{type(self).__name__}: target_class_ids "
                             f"{self.target_class_ids} must be below num_classes "
                             f"{self.num_classes}")
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        super().__init__(name, dtype or "int32")  # Keras' "int" policy

    def reset_state(self):
        dt = np.int64 if "int" in str(self.dtype) else np.float32
        self.total_cm = np.zeros((self.num_classes, self.num_classes), dt)

    def _labels(self, y_true, y_pred):
        yt, yp = _np(y_true), _np(y_pred)
        if not self.sparse_y_pred:
            yp = yp.argmax(axis=self.axis)
        if not self.sparse_y_true:
            yt = yt.argmax(axis=self.axis)
        return yt, yp

    def update_state(self, y_true, y_pred, sample_weight=None):
        yt, yp = self._labels(y_true, y_pred)
        yt, yp = yt.reshape(-1), yp.reshape(-1)
        int_dtype = "int" in str(self.dtype)
        w = np.ones(yt.shape, np.float32) if sample_weight is None else \
            np.broadcast_to(_np(sample_weight).reshape(-1) if np.ndim(sample_weight) > 1
                            else _np(sample_weight), yt.shape)
        if int_dtype:  # Keras' default dtype "int" truncates float weights, as it does
            yt, yp, w = yt.astype(np.int64), yp.astype(np.int64), w.astype(np.int64)
        keep = (yt >= 0) & (yt < self.num_classes) & (yp >= 0) & (yp < self.num_classes)
        if self.ignore_class is not None:
            keep &= yt != self.ignore_class
        w = np.where(keep, w, 0)
        yt, yp = np.where(keep, yt, 0), np.where(keep, yp, 0)
        np.add.at(self.total_cm, (yt.astype(np.int64), yp.astype(np.int64)),
                  w.astype(self.total_cm.dtype))

    def result(self):
        cm = self.total_cm
        tp = np.diag(cm)
        denom = cm.sum(0) + cm.sum(1) - tp
        ids = self.target_class_ids
        tp, denom = tp[ids], denom[ids]
        valid = (denom > 1e-9).sum()
        return _result(_divide_no_nan(_divide_no_nan(tp, denom).sum(), valid))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class MeanIoU(IoU):
    """IoU averaged over every class."""

    default_name = "mean_io_u"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name, dtype, ignore_class,
                         sparse_y_true, sparse_y_pred, axis)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("target_class_ids")
        return cfg


class BinaryIoU(IoU):
    """IoU of binary predictions ``y_pred >= threshold`` (classes 0 and 1)."""

    default_name = "binary_io_u"

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        self.threshold = float(threshold)
        super().__init__(2, target_class_ids, name, dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        yp = (_np(y_pred) >= self.threshold).astype(np.float32)
        super().update_state(_np(y_true), yp, sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "target_class_ids": self.target_class_ids, "threshold": self.threshold}


class OneHotIoU(IoU):
    """IoU of one-hot targets and class scores (both argmax'ed)."""

    default_name = "one_hot_io_u"

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, False,
                         sparse_y_pred, axis)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("sparse_y_true")
        return cfg


class OneHotMeanIoU(MeanIoU):
    """MeanIoU of one-hot targets and class scores."""

    default_name = "one_hot_mean_io_u"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name, dtype, ignore_class, False, sparse_y_pred, axis)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("sparse_y_true")
        return cfg


# ---------------------------------------------------------------- names

from .losses import (  # noqa: E402,F401  the loss functions are Keras' metric functions
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)

mse, mae, mape, msle = (mean_squared_error, mean_absolute_error,
                        mean_absolute_percentage_error, mean_squared_logarithmic_error)
kld = kl_divergence
logcosh = log_cosh

_CLASSES = {c.__name__: c for c in (
    AUC, Accuracy, BinaryAccuracy, BinaryCrossentropy, BinaryIoU, CategoricalAccuracy,
    CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, F1Score, FBetaScore,
    FalseNegatives, FalsePositives, Hinge, IoU, KLDivergence, LogCoshError, Mean,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanIoU, MeanSquaredError,
    MeanSquaredLogarithmicError, OneHotIoU, OneHotMeanIoU, Poisson, Precision, R2Score,
    Recall, RootMeanSquaredError, SparseCategoricalAccuracy, SparseCategoricalCrossentropy,
    SparseTopKCategoricalAccuracy, SquaredHinge, Sum, TopKCategoricalAccuracy, TrueNegatives,
    TruePositives, PearsonCorrelation, ConcordanceCorrelation, SensitivityAtSpecificity,
    SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision)}
_SNAKE = {}
for _c in _CLASSES.values():
    _SNAKE.setdefault(_c.default_name, _c)
    _SNAKE.setdefault(_to_snake(_c.__name__), _c)
_SNAKE.update({"mape": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
               "mse": MeanSquaredError, "mae": MeanAbsoluteError, "auc": AUC,
               "bce": BinaryCrossentropy})
_SNAKE.pop("logcosh", None)


def get(identifier):
    """A metric from a name ("auc", "precision", "top_k_categorical_accuracy", "AUC", ...:
    a new instance), a config dict, or a Metric / callable (returned).

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier) or _SNAKE.get(identifier)
        if cls is None:
            from .saving_lib import get_registered_object
            cls = get_registered_object(identifier)
        if cls is None:
            raise ValueError(f"metrics.get: could not interpret metric identifier "
                             f"{identifier!r}; known: {', '.join(sorted(_SNAKE))}")
        return cls() if isinstance(cls, type) else cls
    if callable(identifier):
        return identifier
    raise ValueError(f"metrics.get: could not interpret metric identifier {identifier!r}")


def serialize(metric):
    from .saving_lib import serialize_keras_object
    return serialize_keras_object(metric)


def deserialize(config, custom_objects=None):
    from .saving_lib import deserialize_keras_object
    return deserialize_keras_object(config, custom_objects=custom_objects,
                                    module_objects=_CLASSES)


def _is_stateful(m):
    """A metric object that compile updates batch by batch (no fast-path kind)."""
    return isinstance(m, Metric) and m.spec is None


def _update_host(metric, y_true, y_pred):
    metric.update_state(_np(y_true, None), _np(y_pred))



def _parse_metrics(metrics):
    """``[(display name, METRICS value, callable, or a stateful keras.metrics object)]`` for
    ``compile(metrics=...)``."""
    specs = []
    for m in metrics or ():
        if isinstance(m, type) and issubclass(m, Metric):
            m = m()
        if isinstance(m, Metric):
            specs.append((m.name, m.spec if m.spec is not None else m))
        elif isinstance(m, str):
            if m in _losses.METRICS:
                specs.append((m, _losses.METRICS[m]))
                continue
            try:
                obj = get(m)
            except ValueError:
                raise ValueError(f"compile: unknown metric {m!r}; allowed: "
                                 f"{_losses._allowed(_losses.METRICS)}, a keras.metrics name "
                                 "or object, or a callable") from None
            obj.name = m  # Keras names the history entry by the string given
            specs.append((m, obj.spec if obj.spec is not None else obj))
        elif callable(m) and (getattr(m, "__module__", None) or "").startswith(
                "gradengine.keras."):
            # keras.metrics / keras.losses functions: Keras' (y_true, y_pred) order
            specs.append((m.__name__, MeanMetricWrapper(m)))
        elif callable(m):
            specs.append((getattr(m, "__name__", "metric"), m))
        else:
            raise TypeError(f"compile: metric must be a name "
                            f"({_losses._allowed(_losses.METRICS)}) or a callable, got "
                            f"{type(m).__name__}")
    return specs
