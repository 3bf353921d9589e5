"""The Keras loss and metric names of ``compile`` and what each computes.

``LOSSES`` and ``METRICS`` map every accepted name to its kind. :func:`_loss_function`
turns a loss kind into ``loss(out, target) -> scalar Tensor`` (from probabilities, as in
Keras, or from logits when the model's last activation allows it); :func:`_metric_sums`
adds a batch's metric sums on the device, without synchronising.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..core.tensor import Tensor

LOSSES = {
    "mse": "mse", "mean_squared_error": "mse",
    "mae": "mae", "mean_absolute_error": "mae",
    "binary_crossentropy": "bce",
    "categorical_crossentropy": "cce",
    "sparse_categorical_crossentropy": "scce",
}
METRICS = {
    "mae": "mae", "mean_absolute_error": "mae",
    "mse": "mse", "mean_squared_error": "mse",
    "accuracy": "accuracy", "acc": "accuracy",
    "binary_accuracy": "binary_accuracy",
    "categorical_accuracy": "categorical_accuracy",
    "sparse_categorical_accuracy": "sparse_categorical_accuracy",
}
_EPS = 1e-7  # Keras's clipping of probabilities in the cross-entropies


def _allowed(table):
    return ", ".join(repr(k) for k in table)


# ---------------------------------------------------------------- names (compile)

def _parse_loss(loss):
    """The loss kind of a ``compile(loss=...)`` argument: a LOSSES value or "callable"."""
    if loss is None:
        raise ValueError(f"compile: a loss is required; allowed: {_allowed(LOSSES)} or a "
                         "callable loss(pred, target)")
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"compile: unknown loss {loss!r}; allowed: {_allowed(LOSSES)}"
                             " or a callable loss(pred, target)")
        return LOSSES[loss]
    if callable(loss):
        return "callable"
    raise TypeError(f"compile: loss must be a name ({_allowed(LOSSES)}) or a "
                    f"callable, got {type(loss).__name__}")


def _parse_metrics(metrics):
    """``[(display name, METRICS value or callable)]`` for ``compile(metrics=...)``."""
    specs = []
    for m in metrics or ():
        if isinstance(m, type) and getattr(m, "spec", None) is not None:
            m = m()
        if getattr(m, "spec", None) is not None and not isinstance(m, str):
            specs.append((m.name, m.spec))
        elif isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"compile: unknown metric {m!r}; allowed: "
                                 f"{_allowed(METRICS)} or a callable")
            specs.append((m, METRICS[m]))
        elif callable(m):
            specs.append((getattr(m, "__name__", "metric"), m))
        else:
            raise TypeError(f"compile: metric must be a name ({_allowed(METRICS)}) or a "
                            f"callable, got {type(m).__name__}")
    return specs


def _resolve_metrics(specs, kind, out_shape, y_shape=None):
    """The metric specs with "accuracy" made binary, categorical or sparse by Keras' rule
    (``compile_utils.is_binary_or_sparse_categorical``): binary when the output's last
    axis is 1, sparse when the targets have fewer axes than the output (or a last axis of
    1 against a wider output), else categorical."""
    metrics = []
    for name, spec in specs:
        if spec == "accuracy":
            spec = _accuracy_kind(kind, out_shape, y_shape)
        metrics.append((name, spec))
    return metrics


def _accuracy_kind(kind, out_shape, y_shape):
    p_last = out_shape[-1] if len(out_shape) > 1 else 1
    if p_last == 1:
        return "binary_accuracy"
    if y_shape is None:  # not known: the loss tells
        return "sparse_categorical_accuracy" if kind == "scce" else "categorical_accuracy"
    t_last = y_shape[-1] if len(y_shape) > 1 else 1
    if len(y_shape) < len(out_shape) or (t_last == 1 and p_last > 1):
        return "sparse_categorical_accuracy"
    return "categorical_accuracy"


# ---------------------------------------------------------------- losses

def _loss_function(kind, from_logits, user_fn):
    """``loss(out, target) -> scalar Tensor`` for a Keras loss name."""
    from .. import functional as F
    if kind == "mse":
        return F.mse_loss
    if kind == "mae":
        return lambda p, t: F.abs(p - t).mean()
    if kind == "bce":
        if from_logits:
            return F.binary_cross_entropy_with_logits

        def bce(p, t):
            p = F.clip(p, _EPS, 1 - _EPS)
            return -(t * F.log(p) + (1 - t) * F.log(1 - p)).mean()
        return bce
    if kind == "cce":
        if from_logits:
            return F.cross_entropy

        def cce(p, t):
            p = p / p.sum(axis=-1, keepdims=True)
            return -(t * F.log(F.clip(p, _EPS, 1 - _EPS))).sum(axis=-1).mean()
        return cce
    if kind == "scce":
        if from_logits:
            return F.cross_entropy

        def scce(p, labels):
            xp = backend.xp_of(p.device)
            rows = xp.arange(labels.shape[0])
            picked = p[(rows, labels.data)]
            return -F.log(F.clip(picked, _EPS, 1 - _EPS)).mean()
        return scce

    def custom(p, t):
        out = user_fn(p, t)
        if not isinstance(out, Tensor):
            raise TypeError(f"fit: the loss function returned {type(out).__name__}, "
                            "not a Tensor")
        return out if out.ndim == 0 else out.mean()
    return custom


# ---------------------------------------------------------------- metrics

def _host(arr):
    return arr if isinstance(arr, np.ndarray) else backend.cupy().asnumpy(arr)


def _probabilities(xp, out, logits_act):
    if logits_act == "sigmoid":
        from ..ops.fused import sigmoid_ref
        return sigmoid_ref(xp, out)
    if logits_act == "softmax":
        e = xp.exp(out - out.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return out


def _metric_sums(metrics, logits_act, out, yb, sums):
    """Add each metric's sum over the batch's samples into ``sums`` (arrays stay on the
    device; nothing synchronises). ``out`` is the model output, or its logits when
    ``logits_act`` names the activation they still need."""
    xp = np if isinstance(out, np.ndarray) else backend.cupy()
    probs = None
    for j, (_name, spec) in enumerate(metrics):
        if spec in ("mae", "mse"):
            if probs is None:
                probs = _probabilities(xp, out, logits_act)
                if yb.dtype.kind in "iu" and probs.ndim == yb.ndim + 1:
                    yb = xp.eye(probs.shape[-1], dtype=probs.dtype)[yb]  # sparse labels
            d = probs - yb
            v = xp.abs(d).sum() if spec == "mae" else (d * d).sum()
            if d.ndim > 1:
                v = v / d.shape[-1]
        elif spec == "binary_accuracy":
            pred = out > (0 if logits_act else 0.5)
            v = (pred == (yb > 0.5)).sum()
            if yb.ndim > 1:
                v = v / yb.shape[-1]
        elif spec == "categorical_accuracy":
            v = (out.argmax(axis=-1) == yb.argmax(axis=-1)).sum()
        elif spec == "sparse_categorical_accuracy":
            v = (out.argmax(axis=-1) == yb.reshape(-1)).sum()
        elif spec == "equal":  # keras.metrics.Accuracy: how often y_pred equals y_true
            eq = out == yb.reshape(out.shape)
            v = eq.sum() / (eq[0].size if eq.ndim > 1 else 1)
        else:  # a user callable on host arrays, averaged over batches by size
            if probs is None:
                probs = _probabilities(xp, out, logits_act)
            v = float(spec(_host(probs), _host(yb))) * len(yb)
        sums[j] = sums[j] + (float(v) if xp is np else v)


# ---------------------------------------------------------------- Keras' loss objects

def _per_sample(kind, from_logits):
    """``loss(out, target) -> per-sample loss (N,)`` (each sample's mean over its last
    axis), for sample and class weights."""
    from .. import functional as F

    def lastmean(v):
        return v.mean(axis=tuple(range(1, v.ndim))) if v.ndim > 1 else v

    if kind == "mse":
        return lambda p, t: lastmean((p - t) * (p - t))
    if kind == "mae":
        return lambda p, t: lastmean(F.abs(p - t))
    if kind == "bce":
        if from_logits:
            return lambda x, t: lastmean(F.relu(x) - x * t + F.log(1 + F.exp(-F.abs(x))))

        def bce(p, t):
            p = F.clip(p, _EPS, 1 - _EPS)
            return lastmean(-(t * F.log(p) + (1 - t) * F.log(1 - p)))
        return bce
    if kind in ("cce", "scce"):
        def cce(out, t):
            if from_logits:
                logp = F.log_softmax(out, axis=-1)
            else:
                p = out / out.sum(axis=-1, keepdims=True)
                logp = F.log(F.clip(p, _EPS, 1 - _EPS))
            if kind == "cce":
                return -(t * logp).sum(axis=-1)
            xp = backend.xp_of(out.device)
            return -logp[(xp.arange(t.shape[0]), t.data)]
        return cce
    if kind == "huber":
        raise ValueError("sample weights with the Huber loss are not supported")
    raise ValueError(f"sample or class weights need a named loss, not {kind!r}")


class Loss:
    """A Keras loss object: ``loss(y_true, y_pred)`` (Keras' argument order) -> the mean
    loss as a Tensor; ``compile(loss=...)`` takes it like its name."""

    kind = "callable"

    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size"):
        self.from_logits, self.name = bool(from_logits), name or type(self).__name__
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        from ..core.tensor import Tensor
        y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)
        dtype = "int64" if self.kind == "scce" else y_pred.dtype
        y_true = y_true if isinstance(y_true, Tensor) else Tensor(y_true, dtype=dtype)
        if sample_weight is None:
            return _loss_function(self.kind, self.from_logits, None)(y_pred, y_true)
        w = sample_weight if isinstance(sample_weight, Tensor) else Tensor(
            sample_weight, dtype=y_pred.dtype)
        v = _per_sample(self.kind, self.from_logits)(y_pred, y_true)
        return (v * w).sum() / v.shape[0]

    def get_config(self):
        return {"from_logits": self.from_logits, "name": self.name}


def _loss_class(name, kind, logits=True):
    return type(name, (Loss,), {"kind": kind, "__doc__": f"Keras' {name}."})


MeanSquaredError = _loss_class("MeanSquaredError", "mse")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", "mae")
BinaryCrossentropy = _loss_class("BinaryCrossentropy", "bce")
CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", "cce")
SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy", "scce")


class Huber(Loss):
    """Keras' Huber loss: ``0.5 d^2`` for ``|d| <= delta``, else ``delta (|d| - 0.5
    delta)``, averaged."""

    kind = "huber"

    def __init__(self, delta=1.0, name="huber_loss", reduction="sum_over_batch_size"):
        super().__init__(False, name, reduction)
        self.delta = float(delta)

    def __call__(self, y_true, y_pred, sample_weight=None):
        from .. import functional as F
        from ..core.tensor import Tensor
        y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)
        y_true = y_true if isinstance(y_true, Tensor) else Tensor(y_true, dtype=y_pred.dtype)
        d = F.abs(y_pred - y_true)
        v = F.where(d <= self.delta, 0.5 * d * d, self.delta * (d - 0.5 * self.delta))
        return v.mean()

    def get_config(self):
        return {"delta": self.delta, "name": self.name}


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError()(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    return MeanAbsoluteError()(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return BinaryCrossentropy(from_logits)(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return CategoricalCrossentropy(from_logits)(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return SparseCategoricalCrossentropy(from_logits)(y_true, y_pred)


mse, mae = mean_squared_error, mean_absolute_error
_LOSS_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError,
                                         BinaryCrossentropy, CategoricalCrossentropy,
                                         SparseCategoricalCrossentropy, Huber)}
