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
    kind = next((k for f, k in _FUNCTION_KINDS.items() if f is loss), None)
    if kind is not None:
        return kind  # keras.losses.binary_crossentropy & co: as their names
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
            picked = p[(rows, labels)]
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
            return -logp[(xp.arange(t.shape[0]), t)]
        return cce
    raise ValueError(f"sample or class weights need a named loss, not {kind!r}")


_REDUCTIONS = (None, "none", "sum", "sum_over_batch_size", "mean", "mean_with_sample_weight")


class Loss:
    """A Keras loss object: ``loss(y_true, y_pred, sample_weight=None)`` (Keras' argument
    order) -> a Tensor; ``compile(loss=...)`` takes it like its name.

    Each sample's loss is its mean over the last axis (Keras' ``axis=-1``), then
    ``reduction`` applies: "sum_over_batch_size" (the default, also "mean") sums and divides
    by the number of samples, "sum" sums, None / "none" returns the per-sample losses, and
    "mean_with_sample_weight" divides by the sum of the weights. A subclass may define
    ``call(y_true, y_pred)`` returning the per-sample (or per-element) losses, as in Keras.
    """

    kind = "callable"
    default_name = "loss"

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: invalid reduction {reduction!r}; "
                             f"expected one of {_REDUCTIONS}")
        self.name = name or self.default_name
        self.reduction = reduction
        self.dtype = dtype
        self.from_logits = getattr(self, "from_logits", False)

    @property
    def is_plain(self) -> bool:
        """Whether compile may use the named (fused) loss for this object."""
        return self.kind not in ("callable", "huber") and \
            self.reduction in ("sum_over_batch_size", "mean") and \
            not getattr(self, "label_smoothing", 0.0) and type(self).call is Loss.call

    def call(self, y_true, y_pred):
        return _per_sample(self.kind, self.from_logits)(y_pred, y_true)

    def _tensors(self, y_true, y_pred):
        y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(
            y_pred, dtype=self.dtype or None)
        dtype = "int64" if self.kind == "scce" else y_pred.dtype
        if isinstance(y_true, Tensor):
            y_true = y_true if self.kind == "scce" or y_true.dtype == y_pred.dtype else \
                y_true.astype(y_pred.dtype)
        else:
            y_true = Tensor(y_true, dtype=dtype, device=y_pred.device)
        if self.kind == "scce" and y_true.ndim == y_pred.ndim:
            y_true = y_true.reshape(*y_true.shape[:-1])
        elif self.kind in ("mse", "mae", "bce") and y_true.ndim == y_pred.ndim - 1 and \
                y_pred.shape[-1] == 1:
            y_true = y_true.reshape(*y_true.shape, 1)
        return y_true, y_pred

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = self._tensors(y_true, y_pred)
        if sample_weight is None and self.is_plain:
            return _loss_function(self.kind, self.from_logits, None)(y_pred, y_true)
        values = self.call(y_true, y_pred)
        if not isinstance(values, Tensor):
            values = Tensor(values, dtype=y_pred.dtype, device=y_pred.device)
        w = None
        if sample_weight is not None:
            w = sample_weight if isinstance(sample_weight, Tensor) else Tensor(
                sample_weight, dtype=values.dtype, device=values.device)
            while w.ndim > values.ndim and w.shape[-1] == 1:
                w = w.reshape(*w.shape[:-1])
            while w.ndim < values.ndim:
                w = w.reshape(*w.shape, 1)
            values = values * w
        red = self.reduction
        if red in (None, "none") or values.ndim == 0:
            return values
        total = values.sum()
        if red == "sum":
            return total
        if red == "mean_with_sample_weight" and w is not None:
            return total / w.sum()
        return total / max(values.size, 1)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _NamedLoss(Loss):
    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(name, reduction, dtype)


class MeanSquaredError(_NamedLoss):
    """Keras' MeanSquaredError: ``mean((y_true - y_pred)^2, axis=-1)`` per sample."""

    kind = "mse"
    default_name = "mean_squared_error"


class MeanAbsoluteError(_NamedLoss):
    """Keras' MeanAbsoluteError: ``mean(|y_true - y_pred|, axis=-1)`` per sample."""

    kind = "mae"
    default_name = "mean_absolute_error"


class BinaryCrossentropy(Loss):
    """Keras' BinaryCrossentropy (probabilities, or logits with ``from_logits=True``;
    ``label_smoothing`` moves the targets towards 0.5)."""

    kind = "bce"
    default_name = "binary_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)
        if axis != -1:
            raise NotImplementedError(f"{type(self).__name__}: only axis=-1 is supported")
        self.axis = axis
        super().__init__(name, reduction, dtype)

    def call(self, y_true, y_pred):
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return _per_sample("bce", self.from_logits)(y_pred, y_true)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "from_logits":
                self.from_logits, "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(BinaryCrossentropy):
    """Keras' CategoricalCrossentropy of one-hot targets (``label_smoothing`` mixes in the
    uniform distribution over the classes)."""

    kind = "cce"
    default_name = "categorical_crossentropy"

    def call(self, y_true, y_pred):
        if self.label_smoothing:
            k = y_pred.shape[-1]
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / k
        return _per_sample("cce", self.from_logits)(y_pred, y_true)


class SparseCategoricalCrossentropy(Loss):
    """Keras' SparseCategoricalCrossentropy of integer labels."""

    kind = "scce"
    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        if ignore_class is not None:
            raise NotImplementedError("SparseCategoricalCrossentropy: ignore_class is not "
                                      "supported")
        self.from_logits = bool(from_logits)
        super().__init__(name, reduction, dtype)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "from_logits":
                self.from_logits}


class Huber(Loss):
    """Keras' Huber loss: ``0.5 d^2`` for ``|d| <= delta``, else ``delta (|d| - 0.5
    delta)``, averaged over the last axis."""

    kind = "huber"
    default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(name, reduction, dtype)
        self.delta = float(delta)

    def call(self, y_true, y_pred):
        from .. import functional as F
        d = F.abs(y_pred - y_true)
        v = F.where(d <= self.delta, 0.5 * d * d, self.delta * (d - 0.5 * self.delta))
        return v.mean(axis=-1) if v.ndim > 1 else v

    def get_config(self):
        return {"delta": self.delta, "name": self.name, "reduction": self.reduction}


# Keras' loss functions: the per-sample losses (no reduction), Keras' argument order; given
# to compile(loss=...), each is taken as its name (so the order is Keras' there too).

def mean_squared_error(y_true, y_pred):
    return MeanSquaredError(reduction=None)(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    return MeanAbsoluteError(reduction=None)(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    return BinaryCrossentropy(from_logits, label_smoothing, axis, reduction=None)(y_true,
                                                                                 y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                             axis=-1):
    return CategoricalCrossentropy(from_logits, label_smoothing, axis, reduction=None)(
        y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    return SparseCategoricalCrossentropy(from_logits, ignore_class, reduction=None)(y_true,
                                                                                  y_pred)


def huber(y_true, y_pred, delta=1.0):
    return Huber(delta, reduction=None)(y_true, y_pred)


mse, mae = mean_squared_error, mean_absolute_error
MSE, MAE = MeanSquaredError, MeanAbsoluteError
_FUNCTION_KINDS = {mean_squared_error: "mse", mean_absolute_error: "mae",
                   binary_crossentropy: "bce", categorical_crossentropy: "cce",
                   sparse_categorical_crossentropy: "scce"}
_LOSS_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError,
                                         BinaryCrossentropy, CategoricalCrossentropy,
                                         SparseCategoricalCrossentropy, Huber)}
