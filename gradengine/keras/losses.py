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
    "binary_crossentropy": "bce", "bce": "bce",
    "categorical_crossentropy": "cce",
    "sparse_categorical_crossentropy": "scce",
    "MSE": "mse", "MAE": "mae",  # Keras 3's upper-case spellings
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
            raise ValueError(f"compile: unknown loss {loss!r}; allowed: {_allowed(LOSSES)}, "
                             f"{_allowed(_LOSS_FUNCTIONS)} or a callable loss(pred, target)")
        return LOSSES[loss]
    kind = next((k for f, k in _FUNCTION_KINDS.items() if f is loss), None)
    if kind is not None:
        return kind  # keras.losses.binary_crossentropy & co: as their names
    if callable(loss):
        return "callable"
    raise TypeError(f"compile: loss must be a name ({_allowed(LOSSES)}) or a "
                    f"callable, got {type(loss).__name__}")


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
            picked = p[(rows, labels)] / p.sum(axis=-1)  # Keras normalizes the scores
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
        elif hasattr(spec, "update_state"):  # a stateful keras.metrics object
            if probs is None:
                probs = _probabilities(xp, out, logits_act)
            spec.update_state(_host(yb), _host(probs))
            v = 0.0  # its value is its result(), read when the logs are made
        else:  # a user callable fn(y_true, y_pred) on host arrays (Keras' order): the
            # mean of what it returns (a value, or one per sample), averaged by batch size
            if probs is None:
                probs = _probabilities(xp, out, logits_act)
            r = spec(_host(yb), _host(probs))
            r = r.numpy() if isinstance(r, Tensor) else np.asarray(r)
            v = float(r.mean(dtype=np.float64)) * len(yb)
        sums[j] = sums[j] + (float(v) if xp is np else v)


# ---------------------------------------------------------------- Keras' loss objects

def _per_sample(kind, from_logits):
    """``loss(out, target) -> per-sample loss (N,)`` (each sample's mean over its other
    axes), for sample and class weights."""
    def lastmean(v):
        return v.mean(axis=tuple(range(1, v.ndim))) if v.ndim > 1 else v

    from .masking import loss_terms  # (masking imports nothing of losses)
    fn = loss_terms(kind, from_logits, lastmean)
    if fn is not None:
        return fn
    raise ValueError(f"sample or class weights need a named loss, not {kind!r}")


_REDUCTIONS = (None, "none", "sum", "sum_over_batch_size", "mean", "mean_with_sample_weight")


def _expand(x):
    return x.reshape(*x.shape, 1)


def _squeeze(x):
    return x.reshape(*x.shape[:-1])


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras' ``squeeze_or_expand_to_same_rank``: when the ranks differ by one and the
    longer one ends in an axis of 1, that axis is dropped (or, when the other is rank 1,
    an axis of 1 is added to it)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = _expand(x2)
        else:
            x1 = _squeeze(x1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = _expand(x1)
        else:
            x2 = _squeeze(x2)
    return x1, x2


def _as_tensor(v, like):
    if isinstance(v, Tensor):
        return v if v.dtype == like.dtype else v.astype(like.dtype)
    return Tensor(np.asarray(v), dtype=like.dtype, device=like.device)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Keras' ``reduce_values``: None / "none" (or a scalar, or no value) as it is, else
    the sum, divided by the number of values ("sum_over_batch_size", "mean") or by the
    sum of the weights ("mean_with_sample_weight" with weights)."""
    if reduction in (None, "none") or tuple(values.shape) in ((), (0,)):
        return values
    total = values.sum()
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            den = float(sample_weight.sum().item())
            return total / den if den else total * 0.0  # Keras' divide_no_nan
        n = int(np.prod(values.shape))
        return total * 0.0 if n == 0 else total / float(n)  # (a float keeps the dtype)
    return total


def _apply_mask(sample_weight, mask, dtype, reduction):
    """Keras' ``apply_mask``: the mask merged into the sample weights (the kept values
    weighed total / kept for "sum_over_batch_size", so that it averages over them)."""
    if mask is None:
        return sample_weight
    m = mask.astype(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        total = float(np.prod(m.shape))
        valid = float(m.sum().item())
        m = m * (total / valid if valid else 0.0)
    if sample_weight is not None:
        m, sample_weight = squeeze_or_expand_to_same_rank(m, sample_weight)
        return sample_weight * m
    return m


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Keras' ``reduce_weighted_values``: the mask merged into the weights, the weights'
    rank matched to the values' (``squeeze_or_expand_to_same_rank``) and broadcast
    against them, then :func:`reduce_values`."""
    if not isinstance(values, Tensor):
        values = Tensor(np.asarray(values), dtype=dtype or "float32")
    elif dtype is not None and values.dtype != np.dtype(dtype):
        values = values.astype(dtype)
    if sample_weight is not None:
        sample_weight = _as_tensor(sample_weight, values)
    sample_weight = _apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


class Loss:
    """A Keras loss object: ``loss(y_true, y_pred, sample_weight=None)`` (Keras' argument
    order) -> a Tensor; ``compile(loss=...)`` takes it like its name.

    ``call(y_true, y_pred)`` gives the unreduced losses (Keras' loss functions: each
    value's mean or sum over the last axis), then Keras' ``reduce_weighted_values``: the
    sample weights (rank matched by ``squeeze_or_expand_to_same_rank`` and broadcast)
    and any mask (of ``y_pred`` or of the values) multiply them, and ``reduction``
    applies: "sum_over_batch_size" (the default, also "mean") sums and divides by the
    number of values (the kept ones under a mask), "sum" sums, None / "none" returns
    them, "mean_with_sample_weight" divides by the sum of the weights.
    """

    kind = "callable"
    default_name = "loss"

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in _REDUCTIONS:
            # -- kssuite: Keras' wording (its tests match "Invalid value for argument")
            raise ValueError(f"{type(self).__name__}: Invalid value for argument "
                             f"`reduction`. Expected one of {_REDUCTIONS}. Received: "
                             f"reduction={reduction!r}")
        self.name = name or self.default_name
        self.reduction = reduction
        self.dtype = dtype
        self.from_logits = getattr(self, "from_logits", False)

    @property
    def is_plain(self) -> bool:
        """Whether compile may use the named (fused) loss for this object."""
        return self.kind not in ("callable", "huber") and \
            self.reduction in ("sum_over_batch_size", "mean") and \
            not getattr(self, "label_smoothing", 0.0) and \
            getattr(self, "axis", -1) == -1 and \
            getattr(self, "ignore_class", None) is None and \
            type(self).call in _PLAIN_CALLS

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} does not define call")

    def _tensors(self, y_true, y_pred):
        y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(
            y_pred, dtype=self.dtype or None)
        if y_pred.dtype.kind != "f":
            y_pred = y_pred.astype(self.dtype or "float32")  # -- kssuite: Keras' floatx cast
        if self.kind == "scce":
            if not isinstance(y_true, Tensor):
                y_true = Tensor(np.asarray(y_true), device=y_pred.device)
            if y_true.dtype.kind != "i":
                y_true = y_true.astype("int64")
            return y_true, y_pred
        return _as_tensor(y_true, y_pred), y_pred

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "_keras_mask", None)  # -- kmask
        y_true, y_pred = self._tensors(y_true, y_pred)
        if sample_weight is None and in_mask is None and self.is_plain and (
                (y_pred.ndim == 2 and y_true.ndim == 1) if self.kind == "scce" else
                (y_pred.ndim == 2 if self.kind == "cce" else y_pred.ndim >= 1) and
                tuple(y_true.shape) == tuple(y_pred.shape)):
            return _loss_function(self.kind, self.from_logits, None)(y_pred, y_true)
        values = self.call(y_true, y_pred)
        if not isinstance(values, Tensor):
            values = Tensor(np.asarray(values), dtype=y_pred.dtype, device=y_pred.device)
        out_mask = getattr(values, "_keras_mask", None)
        if in_mask is not None and not isinstance(in_mask, Tensor):
            in_mask = Tensor(np.asarray(in_mask), device=values.device)
        if in_mask is not None and out_mask is not None:
            mask = in_mask.astype(bool) & out_mask.astype(bool)
        else:
            mask = in_mask if in_mask is not None else out_mask
        return reduce_weighted_values(values, sample_weight, mask, self.reduction,
                                      values.dtype)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """Keras' LossFunctionWrapper: a Loss from ``fn(y_true, y_pred, **kwargs)`` returning
    the unreduced losses (the ranks of y_true and y_pred matched first, as Keras)."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None,
                 **kwargs):
        self.fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction, dtype)

    def call(self, y_true, y_pred):
        if isinstance(y_true, Tensor) and isinstance(y_pred, Tensor):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self._fn_kwargs}

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, " \
            f"kwargs={self._fn_kwargs})>"


class _NamedLoss(LossFunctionWrapper):
    _fn = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(type(self)._fn, reduction, name or self.default_name, dtype)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


class MeanSquaredError(_NamedLoss):
    """Keras' MeanSquaredError: ``mean((y_true - y_pred)^2, axis=-1)``."""

    kind = "mse"
    default_name = "mean_squared_error"


class MeanAbsoluteError(_NamedLoss):
    """Keras' MeanAbsoluteError: ``mean(|y_true - y_pred|, axis=-1)``."""

    kind = "mae"
    default_name = "mean_absolute_error"


class BinaryCrossentropy(LossFunctionWrapper):
    """Keras' BinaryCrossentropy (probabilities, or logits with ``from_logits=True``;
    ``label_smoothing`` moves the targets towards 0.5; the mean over ``axis``)."""

    kind = "bce"
    default_name = "binary_crossentropy"
    _fn = None

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)
        self.axis = axis
        super().__init__(type(self)._fn, reduction, name or self.default_name, dtype,
                         from_logits=self.from_logits, label_smoothing=self.label_smoothing,
                         axis=axis)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "from_logits":
                self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}


class CategoricalCrossentropy(BinaryCrossentropy):
    """Keras' CategoricalCrossentropy of one-hot targets (``label_smoothing`` mixes in the
    uniform distribution over the classes; the sum over ``axis``)."""

    kind = "cce"
    default_name = "categorical_crossentropy"


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Keras' SparseCategoricalCrossentropy of integer labels; the values whose label is
    ``ignore_class`` are 0 and left out of the reduction (Keras' mask)."""

    kind = "scce"
    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name=None, dtype=None):
        self.from_logits, self.ignore_class = bool(from_logits), ignore_class
        super().__init__(sparse_categorical_crossentropy, reduction,
                         name or self.default_name, dtype, from_logits=self.from_logits,
                         ignore_class=ignore_class)

    def call(self, y_true, y_pred):
        # Keras' LossFunctionWrapper matches the ranks first (a trailing axis of 1 of
        # the labels stays: sparse_categorical_crossentropy squeezes it itself)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "from_logits":
                self.from_logits, "ignore_class": self.ignore_class}


class Huber(LossFunctionWrapper):
    """Keras' Huber loss: ``0.5 d^2`` for ``|d| <= delta``, else ``delta |d| - 0.5
    delta^2``, averaged over the last axis."""

    kind = "huber"
    default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None, dtype=None):
        self.delta = float(delta)
        super().__init__(huber, reduction, name or self.default_name, dtype,
                         delta=self.delta)

    def get_config(self):
        # -- kssuite: Keras 3.15's Huber.get_config is Loss.get_config (no delta)
        return {"name": self.name, "reduction": self.reduction}


# Keras' loss functions: the unreduced losses, Keras' argument order, formulas and
# shape rules (keras/src/losses/losses.py); given to compile(loss=...), the five with a
# fused kind are taken as their names (so the order is Keras' there too).

def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred)^2, axis=-1)`` (ranks matched)."""
    y_true, y_pred = _pair(y_true, y_pred)
    d = y_true - y_pred
    return (d * d).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(|y_true - y_pred|, axis=-1)`` (ranks matched)."""
    from .. import functional as F
    y_true, y_pred = _pair(y_true, y_pred)
    return F.abs(y_true - y_pred).mean(axis=-1)


def _same_shape(y_true, y_pred):
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError("Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={tuple(y_true.shape)}, "
                         f"output.shape={tuple(y_pred.shape)}")


def _check_axis(axis):
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type "
                         f"{type(axis)}")


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``mean(bce(y_true, y_pred), axis)`` (y_true and y_pred of one shape; probabilities
    clipped to [1e-7, 1 - 1e-7], or logits)."""
    from .. import functional as F
    y_pred = _t(y_pred)
    y_true = _t(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _same_shape(y_true, y_pred)
    if from_logits:
        terms = F.relu(y_pred) - y_pred * y_true + F.log1p(F.exp(-F.abs(y_pred)))
    else:
        terms = _bce_elementwise(F, y_true, y_pred)
    return terms.mean(axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                             axis=-1):
    """``-sum(y_true log(softmax or normalized y_pred), axis)`` (one-hot y_true)."""
    from .. import functional as F
    _check_axis(axis)
    y_pred = _t(y_pred)
    y_true = _t(y_true, y_pred)
    if label_smoothing:
        k = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / k
    _same_shape(y_true, y_pred)
    if y_pred.ndim < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1. "
                         f"Received: target.shape={tuple(y_true.shape)}, "
                         f"output.shape={tuple(y_pred.shape)}")
    if from_logits:
        logp = F.log_softmax(y_pred, axis=axis)
    else:
        p = y_pred / y_pred.sum(axis=axis, keepdims=True)
        logp = F.log(F.clip(p, _EPS, 1.0 - _EPS))
    return -(y_true * logp).sum(axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """The cross-entropy of integer labels against the class scores on ``axis`` (a
    trailing label axis of 1 squeezed); labels equal to ``ignore_class`` give 0 and are
    masked out of a loss object's reduction."""
    from .. import functional as F
    y_pred = _t(y_pred)
    labels = y_true if isinstance(y_true, Tensor) else Tensor(np.asarray(y_true),
                                                             device=y_pred.device)
    if labels.dtype.kind == "f":
        labels = labels.astype("int64")
    if y_pred.ndim < 1:
        raise ValueError(f"Argument `output` must be at least rank 1. Received: "
                         f"output.shape={tuple(y_pred.shape)}")
    ax = axis % y_pred.ndim
    if labels.ndim == y_pred.ndim and labels.shape[ax] == 1:
        labels = labels.reshape(*[d for i, d in enumerate(labels.shape) if i != ax])
    want = [d for i, d in enumerate(y_pred.shape) if i != ax]
    if list(labels.shape) != want:
        raise ValueError("Arguments `target` and `output` must have the same shape up "
                         f"until the last dimension: target.shape={tuple(labels.shape)}, "
                         f"output.shape={tuple(y_pred.shape)}")
    valid = None
    if ignore_class is not None:
        valid = labels != int(ignore_class)
        labels = F.where(valid, labels, labels * 0)
    if from_logits:
        logp = F.log_softmax(y_pred, axis=ax)
    else:
        p = y_pred / y_pred.sum(axis=ax, keepdims=True)
        logp = F.log(F.clip(p, _EPS, 1.0 - _EPS))
    idx = labels.astype("int64").reshape(*labels.shape[:ax], 1, *labels.shape[ax:])
    res = -F.take_along_dim(logp, idx, dim=ax).reshape(*labels.shape)
    if valid is not None:
        res = F.where(valid, res, res * 0.0)
        res._keras_mask = valid
    return res


def huber(y_true, y_pred, delta=1.0):
    """``mean(0.5 d^2 if |d| <= delta else delta |d| - 0.5 delta^2, axis=-1)``."""
    from .. import functional as F
    y_true, y_pred = _pair(y_true, y_pred)
    d = y_pred - y_true
    a = F.abs(d)
    delta = float(delta)
    return F.where(a <= delta, 0.5 * d * d, delta * a - 0.5 * delta * delta).mean(axis=-1)


# ---------------------------------------------------------------- more of Keras' losses
# Each per-sample function below is written in gradengine ops (differentiable), with
# Keras' formula, epsilon (1e-7) and clipping (keras/src/losses/losses.py).

def _t(v, like=None):
    """A Tensor of ``v`` (y_true cast to y_pred's dtype when ``like`` is given)."""
    if isinstance(v, Tensor):
        return v if like is None or v.dtype == like.dtype else v.astype(like.dtype)
    if like is None:
        arr = np.asarray(v)
        return Tensor(arr if arr.dtype.kind == "f" else arr.astype(np.float32))
    return Tensor(np.asarray(v), dtype=like.dtype, device=like.device)


def _pair(y_true, y_pred):
    """y_pred as a Tensor, y_true cast to its dtype, their ranks matched as Keras'
    ``squeeze_or_expand_to_same_rank``."""
    y_pred = _t(y_pred)
    y_true = _t(y_true, y_pred)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _cast_pair(y_true, y_pred):
    """y_pred as a Tensor and y_true cast to its dtype, ranks as given (Keras' hinge,
    KL divergence and Poisson functions match no ranks; their loss objects do)."""
    y_pred = _t(y_pred)
    return _t(y_true, y_pred), y_pred


def _hinge_labels(y_true):
    """Keras' convert_binary_labels_to_hinge: 0/1 labels become -1/1, others stay."""
    d = y_true.data
    xp = backend.xp_of(y_true.device)
    if bool(xp.all((d == 0) | (d == 1))):
        return 2.0 * y_true - 1.0
    return y_true


def hinge(y_true, y_pred):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)`` (0/1 labels become -1/1)."""
    from .. import functional as F
    y_true, y_pred = _cast_pair(y_true, y_pred)
    return F.relu(1.0 - _hinge_labels(y_true) * y_pred).mean(axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(maximum(1 - y_true * y_pred, 0)^2, axis=-1)``."""
    from .. import functional as F
    y_true, y_pred = _cast_pair(y_true, y_pred)
    h = F.relu(1.0 - _hinge_labels(y_true) * y_pred)
    return (h * h).mean(axis=-1)


def categorical_hinge(y_true, y_pred):
    """``maximum(max((1 - y_true) y_pred) - sum(y_true y_pred) + 1, 0)``."""
    from .. import functional as F
    y_true, y_pred = _cast_pair(y_true, y_pred)
    pos = (y_true * y_pred).sum(axis=-1)
    neg = ((1.0 - y_true) * y_pred).max(axis=-1)
    return F.relu(neg - pos + 1.0)


def kl_divergence(y_true, y_pred):
    """``sum(y_true log(y_true / y_pred), axis=-1)``, both clipped to [1e-7, 1]."""
    from .. import functional as F
    y_pred = _t(y_pred)
    y_true = _t(y_true, y_pred)
    yt, yp = F.clip(y_true, _EPS, 1.0), F.clip(y_pred, _EPS, 1.0)
    return (yt * F.log(yt / yp)).sum(axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(x + softplus(-2x) - log 2, axis=-1)`` of ``x = y_pred - y_true``."""
    from .. import functional as F
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return (x + _softplus(F, -2.0 * x) - float(np.log(2.0))).mean(axis=-1)


def _softplus(F, x):
    # log(1 + e^x) without overflow (Keras' exact softplus, no torch threshold)
    return F.relu(x) + F.log1p(F.exp(-F.abs(x)))


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true log(y_pred + 1e-7), axis=-1)``."""
    from .. import functional as F
    y_pred = _t(y_pred)
    y_true = _t(y_true, y_pred)
    return (y_pred - y_true * F.log(y_pred + _EPS)).mean(axis=-1)


def _l2_normalize(F, x, axis):
    # Keras' normalize: x * minimum(rsqrt(sum(x^2)), 1 / epsilon)
    sq = (x * x).sum(axis=axis, keepdims=True)
    return x / F.sqrt(F.maximum(sq, _EPS * _EPS))


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``."""
    from .. import functional as F
    y_true, y_pred = _pair(y_true, y_pred)
    return -(_l2_normalize(F, y_true, axis) * _l2_normalize(F, y_pred, axis)).sum(axis=axis)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 mean(|y_true - y_pred| / maximum(|y_true|, 1e-7), axis=-1)``."""
    from .. import functional as F
    y_true, y_pred = _pair(y_true, y_pred)
    return 100.0 * F.abs((y_true - y_pred) / F.maximum(F.abs(y_true), _EPS)).mean(axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, axis=-1)``."""
    from .. import functional as F
    y_true, y_pred = _pair(y_true, y_pred)
    d = F.log(F.maximum(y_pred, _EPS) + 1.0) - F.log(F.maximum(y_true, _EPS) + 1.0)
    return (d * d).mean(axis=-1)


def _bce_elementwise(F, y_true, p):
    p = F.clip(p, _EPS, 1.0 - _EPS)
    return -(y_true * F.log(p) + (1.0 - y_true) * F.log(1.0 - p))


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Keras' binary focal crossentropy: ``(1 - p_t)^gamma`` times the cross-entropy
    (``alpha`` / ``1 - alpha`` class weights with ``apply_class_balancing``)."""
    from .. import functional as F
    y_pred = _t(y_pred)
    y_true = _t(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = F.sigmoid(y_pred)
    bce = _bce_elementwise(F, y_true, y_pred)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = (1.0 - p_t) ** gamma * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return focal.mean(axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Keras' categorical focal crossentropy: ``sum(alpha (1 - p)^gamma (-y log p))``."""
    from .. import functional as F
    y_pred = _t(y_pred)
    y_true = _t(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = F.softmax(y_pred, axis=axis)
    out = y_pred / y_pred.sum(axis=axis, keepdims=True)
    out = F.clip(out, _EPS, 1.0 - _EPS)
    cce = -y_true * F.log(out)
    a = alpha if np.ndim(alpha) == 0 else Tensor(np.asarray(alpha), dtype=out.dtype,
                                                   device=out.device)
    return ((1.0 - out) ** gamma * a * cce).sum(axis=axis)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def dice(y_true, y_pred, axis=None):
    """``1 - 2 sum(y_true y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)`` over ``axis``
    (None: everything, one number)."""
    y_pred = _t(y_pred)
    y_true = _t(y_true, y_pred)
    axis = _axis(axis)
    inter = (y_true * y_pred).sum(axis=axis)
    return 1.0 - 2.0 * inter / (y_true.sum(axis=axis) + y_pred.sum(axis=axis) + _EPS)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """``1 - TP / (TP + alpha FP + beta FN + 1e-7)`` over ``axis``."""
    y_pred = _t(y_pred)
    y_true = _t(y_true, y_pred)
    axis = _axis(axis)
    inter = (y_true * y_pred).sum(axis=axis)
    fp = ((1.0 - y_pred) * y_true).sum(axis=axis)
    fn = (y_pred * (1.0 - y_true)).sum(axis=axis)
    return 1.0 - inter / (inter + fp * alpha + fn * beta + _EPS)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """``(1 - p^q) / q`` of the true class's probability ``p`` (integer labels)."""
    y_pred = _t(y_pred)
    labels = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    xp = backend.xp_of(y_pred.device)
    onehot = xp.eye(y_pred.shape[-1], dtype=y_pred.dtype)[xp.asarray(labels).astype(np.int64)]
    p = (y_pred * Tensor._make(onehot, y_pred.device)).sum(axis=-1)
    return (1.0 - p ** q) / q


def _wrapped(cls_name, fn, default, params=(), doc=None):
    """A LossFunctionWrapper subclass with Keras' constructor: ``params`` (name, default)
    first, then reduction, name, dtype (``axis`` where Keras puts it)."""
    names = [p for p, _ in params]
    defaults = dict(params)

    def __init__(self, *args, **kwargs):
        order = names + ["reduction", "name", "dtype"]
        if cls_name in ("Dice", "Tversky"):
            order = names[:-1] + ["reduction", "name", "axis", "dtype"] if "axis" in names \
                else order
        if len(args) > len(order):
            raise TypeError(f"{cls_name}: at most {len(order)} positional arguments")
        for k, v in zip(order, args):
            if k in kwargs:
                raise TypeError(f"{cls_name}: {k} given twice")
            kwargs[k] = v
        bad = set(kwargs) - set(order)
        if bad:
            raise TypeError(f"{cls_name}: unexpected keyword arguments {sorted(bad)}")
        fn_kwargs = {k: kwargs.get(k, defaults[k]) for k in names}
        if "from_logits" in fn_kwargs:
            self.from_logits = bool(fn_kwargs["from_logits"])
        if fn_kwargs.get("label_smoothing"):
            self.label_smoothing = float(fn_kwargs["label_smoothing"])
        LossFunctionWrapper.__init__(self, fn, kwargs.get("reduction", "sum_over_batch_size"),
                                     kwargs.get("name") or default, kwargs.get("dtype"),
                                     **fn_kwargs)

    return type(cls_name, (LossFunctionWrapper,), {
        "__init__": __init__, "default_name": default,
        "__doc__": doc or f"Keras' {cls_name} (``losses.{fn.__name__}`` per sample)."})


MeanSquaredError._fn = staticmethod(mean_squared_error)
MeanAbsoluteError._fn = staticmethod(mean_absolute_error)
BinaryCrossentropy._fn = staticmethod(binary_crossentropy)
CategoricalCrossentropy._fn = staticmethod(categorical_crossentropy)
_PLAIN_CALLS = (LossFunctionWrapper.call, SparseCategoricalCrossentropy.call)

Hinge = _wrapped("Hinge", hinge, "hinge")
SquaredHinge = _wrapped("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _wrapped("CategoricalHinge", categorical_hinge, "categorical_hinge")
KLDivergence = _wrapped("KLDivergence", kl_divergence, "kl_divergence")
LogCosh = _wrapped("LogCosh", log_cosh, "log_cosh")
Poisson = _wrapped("Poisson", poisson, "poisson")
CosineSimilarity = _wrapped("CosineSimilarity", cosine_similarity, "cosine_similarity",
                            (("axis", -1),))
CosineSimilarity.get_config = Loss.get_config  # Keras 3.15's (no axis)
MeanAbsolutePercentageError = _wrapped("MeanAbsolutePercentageError",
                                       mean_absolute_percentage_error,
                                       "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _wrapped("MeanSquaredLogarithmicError",
                                       mean_squared_logarithmic_error,
                                       "mean_squared_logarithmic_error")
BinaryFocalCrossentropy = _wrapped(
    "BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
    (("apply_class_balancing", False), ("alpha", 0.25), ("gamma", 2.0),
     ("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)))
CategoricalFocalCrossentropy = _wrapped(
    "CategoricalFocalCrossentropy", categorical_focal_crossentropy,
    "categorical_focal_crossentropy",
    (("alpha", 0.25), ("gamma", 2.0), ("from_logits", False), ("label_smoothing", 0.0),
     ("axis", -1)))
Dice = _wrapped("Dice", dice, "dice", (("axis", None),))
Tversky = _wrapped("Tversky", tversky, "tversky", (("alpha", 0.5), ("beta", 0.5),
                                                   ("axis", None)))
CategoricalGeneralizedCrossEntropy = _wrapped(
    "CategoricalGeneralizedCrossEntropy", categorical_generalized_cross_entropy,
    "categorical_generalized_cross_entropy", (("q", 0.5),))

kld = kullback_leibler_divergence = KLD = kl_divergence
mape, msle = mean_absolute_percentage_error, mean_squared_logarithmic_error
MAPE, MSLE = mape, msle
logcosh = log_cosh


def ctc(y_true, y_pred):
    """Keras' CTC loss per sample: ``y_true`` (batch, max_length) integer labels with 0 the
    blank / padding, ``y_pred`` (batch, time, classes) logits (``log_softmax`` is taken);
    every sample uses all ``time`` steps.

    Raises:
        ValueError: y_true not 2-D or y_pred not 3-D (Keras' messages).
    """
    from .. import functional as F
    y_pred = _t(y_pred)
    labels = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    if labels.ndim != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape `(batch_size, "
                         f"max_length)` in integer format. Received: y_true.shape="
                         f"{tuple(labels.shape)}")
    if y_pred.ndim != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape `(batch_size, "
                         f"max_length, num_classes)`. Received: y_pred.shape={y_pred.shape}")
    xp = backend.xp_of(y_pred.device)
    labels = xp.asarray(labels).astype(np.int64)
    n, t = y_pred.shape[0], y_pred.shape[1]
    target_len = Tensor._make((labels != 0).sum(axis=-1).astype(np.int64), y_pred.device)
    input_len = Tensor._make(xp.full((n,), t, dtype=np.int64), y_pred.device)
    log_probs = F.log_softmax(y_pred, axis=-1).transpose(1, 0, 2)
    return F.ctc_loss(log_probs, Tensor._make(labels, y_pred.device), input_len, target_len,
                      blank=0, reduction="none")


class CTC(LossFunctionWrapper):
    """Keras' CTC loss object (``losses.ctc`` per sample)."""

    default_name = "ctc"

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction, name, dtype)


mse, mae = mean_squared_error, mean_absolute_error
MSE, MAE = MeanSquaredError, MeanAbsoluteError
_FUNCTION_KINDS = {mean_squared_error: "mse", mean_absolute_error: "mae",
                   binary_crossentropy: "bce", categorical_crossentropy: "cce",
                   sparse_categorical_crossentropy: "scce"}
_LOSS_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError,
                                         BinaryCrossentropy, CategoricalCrossentropy,
                                         SparseCategoricalCrossentropy, Huber)}
_LOSS_CLASSES.update({c.__name__: c for c in (
    Hinge, SquaredHinge, CategoricalHinge, KLDivergence, LogCosh, Poisson, CosineSimilarity,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy, Dice, Tversky, CategoricalGeneralizedCrossEntropy, CTC)})
_LOSS_FUNCTIONS = {f.__name__: f for f in (
    mean_squared_error, mean_absolute_error, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy, huber, hinge, squared_hinge, categorical_hinge,
    kl_divergence, log_cosh, poisson, cosine_similarity, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, binary_focal_crossentropy, categorical_focal_crossentropy,
    dice, tversky, categorical_generalized_cross_entropy, ctc)}
_LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
                 "mape": "mean_absolute_percentage_error",
                 "msle": "mean_squared_logarithmic_error", "kld": "kl_divergence",
                 "kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh",
                 "huber_loss": "huber", "bce": "binary_crossentropy",
                 # Keras 3's upper-case spellings name the functions too
                 "MSE": "mean_squared_error", "MAE": "mean_absolute_error",
                 "MAPE": "mean_absolute_percentage_error",
                 "MSLE": "mean_squared_logarithmic_error", "KLD": "kl_divergence"}


def get(identifier):
    """A loss from a name (Keras' function names "hinge", "mse", ... give the function, its
    class names "Hinge" an instance), a config dict, or a callable (returned as it is).

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        name = _LOSS_ALIASES.get(identifier, identifier)
        if name in _LOSS_FUNCTIONS:
            return _LOSS_FUNCTIONS[name]
        from .saving_lib import lookup
        cls = _LOSS_CLASSES.get(identifier) or lookup(identifier)
        if cls is None:
            raise ValueError(f"losses.get: unknown loss {identifier!r}; known: "
                             f"{', '.join(sorted(_LOSS_FUNCTIONS) + sorted(_LOSS_CLASSES))}")
        return cls() if isinstance(cls, type) else cls
    if callable(identifier):
        return identifier
    raise ValueError(f"losses.get: could not interpret the loss identifier {identifier!r}")


def serialize(loss):
    """Keras' serialized form ``{"module", "class_name", "config", "registered_name"}``."""
    from .saving_lib import serialize_keras_object
    return serialize_keras_object(loss)


def deserialize(config, custom_objects=None):
    """A loss from :func:`serialize`'s dict (or a name)."""
    from .saving_lib import deserialize_keras_object
    if isinstance(config, str):
        return get(config)
    return deserialize_keras_object(config, custom_objects=custom_objects,
                                    module_objects={**_LOSS_CLASSES, **_LOSS_FUNCTIONS})


def _loss_object(loss):
    """A keras.losses object for a Keras loss name or function beyond the fused kinds of
    LOSSES ("hinge", losses.kl_divergence, "Huber", ...); anything else unchanged."""
    if isinstance(loss, str) and loss not in LOSSES:
        name = _LOSS_ALIASES.get(loss, loss)
        if name in _LOSS_BY_FUNCTION:
            return _LOSS_BY_FUNCTION[name]()
        if loss in _LOSS_CLASSES:
            return _LOSS_CLASSES[loss]()
        from .saving_lib import get_registered_object
        found = get_registered_object(loss)
        if found is not None:
            return found() if isinstance(found, type) else found
    elif callable(loss) and not isinstance(loss, (Loss, type)) and \
            loss not in _FUNCTION_KINDS:
        name = getattr(loss, "__name__", None)
        if _LOSS_FUNCTIONS.get(name) is loss:
            return _LOSS_BY_FUNCTION[name]()
    elif isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    return loss


_LOSS_BY_FUNCTION = {"hinge": Hinge, "squared_hinge": SquaredHinge,
                     "categorical_hinge": CategoricalHinge, "kl_divergence": KLDivergence,
                     "log_cosh": LogCosh, "poisson": Poisson,
                     "cosine_similarity": CosineSimilarity, "huber": Huber,
                     "mean_absolute_percentage_error": MeanAbsolutePercentageError,
                     "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
                     "binary_focal_crossentropy": BinaryFocalCrossentropy,
                     "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
                     "dice": Dice, "tversky": Tversky,
                     "categorical_generalized_cross_entropy":
                         CategoricalGeneralizedCrossEntropy, "ctc": CTC}
