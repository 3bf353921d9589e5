"""Keras 3's masks: a boolean (batch, time) Tensor attached to a layer's output as
``output._keras_mask`` (``Embedding(mask_zero=True)``, ``Masking``), handed to the next
layer's ``call(..., mask=...)`` when its call takes one, and passed on to its output
when the layer ``supports_masking`` (``compute_mask(inputs, previous_mask)``), as
Keras' ``Layer.__call__`` does. Recurrent layers skip the masked steps, the global
average pooling leaves them out, and ``fit`` / ``evaluate`` leave them out of the loss
mean (Keras' ``apply_mask``: ``sum(loss * mask) / sum(mask)`` per batch).

Nothing here runs unless a mask exists: a layer call reads one attribute of its input.
"""

from __future__ import annotations

import inspect
import warnings
import weakref

import numpy as np

from ..core.tensor import Tensor

__all__ = ["get_keras_mask", "set_keras_mask"]


def get_keras_mask(x):
    """The mask attached to ``x`` (Keras' ``backend.get_keras_mask``), or None."""
    return getattr(x, "_keras_mask", None)


def set_keras_mask(x, mask):
    """Attach ``mask`` to the Tensor ``x`` (None removes it), as Keras'
    ``backend.set_keras_mask``."""
    if mask is None:
        if getattr(x, "_keras_mask", None) is not None:
            del x._keras_mask
        return
    if not isinstance(mask, Tensor):
        mask = Tensor(np.asarray(mask, dtype=bool), device=x.device)
    x._keras_mask = mask


def input_mask(x):
    """The mask of a layer's first argument: of a Tensor, or the list of its items' masks
    (None when there is none at all)."""
    if isinstance(x, (list, tuple)):
        masks = [getattr(v, "_keras_mask", None) for v in x]
        return masks if any(m is not None for m in masks) else None
    return getattr(x, "_keras_mask", None)


# shape probes (Sequential's build, the functional API's symbolic calls) run layers on one
# sample; a stateful RNN keeps no states from them
_PROBING = [0]


class probing:
    """Context manager: the calls inside are shape probes."""

    def __enter__(self):
        _PROBING[0] += 1

    def __exit__(self, *exc):
        _PROBING[0] -= 1


def is_probing() -> bool:
    return _PROBING[0] > 0


_TAKES_MASK = weakref.WeakKeyDictionary()


def takes_mask(layer) -> bool:
    """Whether ``layer.forward`` has a ``mask`` argument (looked up once per class)."""
    cls = type(layer)
    known = _TAKES_MASK.get(cls)
    if known is None:
        try:
            known = "mask" in inspect.signature(cls.forward).parameters
        except (TypeError, ValueError):
            known = False
        _TAKES_MASK[cls] = known
    return known


def _flatten(struct):
    if isinstance(struct, (list, tuple)):
        return [leaf for s in struct for leaf in _flatten(s)]
    return [struct]


def set_output_masks(layer, inputs, outputs, previous_mask):
    """Keras' ``_set_mask_metadata``: the masks of ``layer.compute_mask(inputs,
    previous_mask)`` on the outputs that have none yet; a layer that does not support
    masking drops the mask with Keras' warning."""
    if not getattr(layer, "supports_masking", False):
        if previous_mask is not None and any(m is not None for m in _flatten(previous_mask)):
            warnings.warn(f"Layer '{getattr(layer, 'name', None) or type(layer).__name__}' "
                          f"(of type {type(layer).__name__}) was passed an input with a mask "
                          "attached to it. However, this layer does not support masking and "
                          "will therefore destroy the mask information. Downstream layers "
                          "will not see the mask.", stacklevel=1)  # here: once per layer, as Keras
        return
    flat_out = _flatten(outputs)
    if all(get_keras_mask(o) is not None for o in flat_out):
        return
    masks = layer.compute_mask(inputs, previous_mask)
    if masks is None:
        return
    for o, m in zip(flat_out, _flatten(masks)):
        if isinstance(o, Tensor) and m is not None and get_keras_mask(o) is None:
            set_keras_mask(o, m)


def carry(layer, x, y):
    """For a module that is not a Keras ``Layer`` (``Dense``) inside a model: ``y`` gets
    ``x``'s mask when the module ``supports_masking``."""
    m = getattr(x, "_keras_mask", None)
    if m is None or getattr(y, "_keras_mask", None) is not None or \
            hasattr(layer, "compute_mask") and hasattr(layer, "_makes_mask"):
        return  # a Keras Layer set (or dropped) its output's mask itself
    if getattr(layer, "supports_masking", False) and isinstance(y, Tensor):
        y._keras_mask = m


def merge_mask(masks):
    """Keras' ``Merge.compute_mask`` (Add, Subtract, Multiply, Average, Maximum, Minimum):
    the steps any input keeps, None when an input has no mask."""
    if masks is None or not isinstance(masks, (list, tuple)) or \
            any(m is None for m in masks):
        return None
    out = masks[0].astype(bool)
    for m in masks[1:]:
        out = out | m.astype(bool)
    return out


def concat_mask(inputs, masks, axis):
    """Keras' ``Concatenate.compute_mask``: each input's mask (all kept where it has
    none) broadcast to the input, joined on ``axis``, then any over the last axis."""
    from .. import functional as F
    if masks is None or all(m is None for m in masks):
        return None
    full = []
    for x, m in zip(inputs, masks):
        if m is None:
            m = (x == x) | (x != x)  # all True, of x's shape
        elif m.ndim < x.ndim:
            m = F.broadcast_to(m.reshape(*m.shape, 1), x.shape)
        full.append(m.astype(bool))
    return F.concatenate(full, axis=axis).any(axis=-1)


def first_mask(self, inputs, mask=None):
    """Keras' ``Attention.compute_mask``: the query's mask."""
    if mask is None or not isinstance(mask, (list, tuple)) or mask[0] is None:
        return None
    return mask[0]


# ------------------------------------------------------------------ the loss

def _last_mean(v):
    return v.mean(axis=-1)


def elementwise_loss(kind, from_logits):
    """``loss(out, target)`` without the reduction over the batch and time axes (each
    step's mean over its last axis, as Keras' loss functions), for masked outputs."""
    return loss_terms(kind, from_logits, _last_mean)


_EPS = 1e-7  # Keras' clipping of probabilities (losses._EPS)


def loss_terms(kind, from_logits, reduce):
    """``loss(out, target)`` of a named loss kind with ``reduce`` applied to the
    elementwise terms (the batch and time axes kept as ``reduce`` leaves them; the
    categorical kinds reduce over the class axis themselves), or None for another kind."""
    from .. import functional as F

    if kind == "mse":
        return lambda p, t: reduce((p - t) * (p - t))
    if kind == "mae":
        return lambda p, t: reduce(F.abs(p - t))
    if kind == "bce":
        if from_logits:
            return lambda x, t: reduce(F.relu(x) - x * t + F.log(1 + F.exp(-F.abs(x))))

        def bce(p, t):
            p = F.clip(p, _EPS, 1 - _EPS)
            return reduce(-(t * F.log(p) + (1 - t) * F.log(1 - p)))
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
            labels = t.astype("int64")
            if labels.ndim == logp.ndim:  # (N, T, 1) labels
                labels = labels.reshape(*labels.shape[:-1])
            return -F.take_along_dim(logp, labels.reshape(*labels.shape, 1),
                                     dim=-1).reshape(*labels.shape)
        return cce
    return None


def masked_mean(values, mask, sample_weight=None):
    """Keras' ``reduce_weighted_values`` with a mask ("sum_over_batch_size"):
    ``sum(values * w * mask) / sum(mask)``, 0 when every step is masked."""
    from .. import functional as F
    m = mask.astype(values.dtype)
    while m.ndim > values.ndim:
        m = m.reshape(*m.shape[:-1]) if m.shape[-1] == 1 else m.any(axis=-1).astype(m.dtype)
    w = m
    if sample_weight is not None:
        sw = sample_weight.astype(values.dtype)
        sw = sw.reshape(sw.shape[0], *([1] * (values.ndim - 1)))
        w = m * sw
    # Keras weighs the kept steps total / valid and divides by total; valid is a count,
    # so clamping it at 1 only changes the all-masked batch, whose loss is 0 either way
    valid = F.clamp(m.sum(), min=1.0)
    return (values * w).sum() / valid


def loss_object_value(loss, y_true, y_pred, mask, sample_weight=None):
    """A ``keras.losses`` object's value on a masked ``y_pred`` (Keras' ``Loss.__call__``
    with ``apply_mask``): per-step losses, the masked steps weighed 0, then the
    reduction ("sum_over_batch_size" divides by the number of kept steps)."""
    from .. import functional as F
    fn = elementwise_loss(loss.kind, loss.from_logits) if type(loss).call is _base_call(loss) \
        else None
    values = fn(y_pred, y_true) if fn is not None else loss.call(y_true, y_pred)
    if not isinstance(values, Tensor):
        values = Tensor(values, dtype=y_pred.dtype, device=y_pred.device)
    m = mask.astype(values.dtype)
    while m.ndim > values.ndim and m.shape[-1] == 1:
        m = m.reshape(*m.shape[:-1])
    w = m
    if sample_weight is not None:
        sw = sample_weight if isinstance(sample_weight, Tensor) else Tensor(
            sample_weight, dtype=values.dtype, device=values.device)
        sw = sw.astype(values.dtype)
        while sw.ndim > values.ndim and sw.shape[-1] == 1:
            sw = sw.reshape(*sw.shape[:-1])
        while sw.ndim < values.ndim:
            sw = sw.reshape(*sw.shape, 1)
        w = m * sw
    red = loss.reduction
    if red in (None, "none"):
        return values * w
    total = (values * w).sum()
    if red == "sum":
        return total
    if red == "mean_with_sample_weight" and sample_weight is not None:
        return total / w.sum()
    return total / F.clamp(m.sum(), min=1.0)


def _base_call(loss):
    for cls in type(loss).__mro__:
        if cls.__name__ == "Loss" and cls.__module__.endswith("keras.losses"):
            return cls.call
    return None


def model_loss(model, out, target, sample_weight=None):
    """The training loss of a masked model output (``out._keras_mask`` set), as Keras'
    ``compile_loss``: a named loss or a ``keras.losses`` object with the mask; a plain
    function's per-step values (of the mask's shape) averaged over the kept steps, as
    Keras' ``LossFunctionWrapper`` (a scalar it returns stays as it is)."""
    mask = out._keras_mask
    kind = model.__dict__.get("_loss_kind")
    fn = elementwise_loss(kind, model.__dict__.get("_output_is_logits") is not None)
    if fn is None:
        loss_obj = model.__dict__.get("loss")
        if hasattr(loss_obj, "call"):
            return loss_obj(target, out, sample_weight=sample_weight)
        if callable(loss_obj):
            values = loss_obj(out, target)
            if isinstance(values, Tensor) and values.ndim and \
                    tuple(values.shape) == tuple(mask.shape):
                return masked_mean(values, mask, sample_weight)
        return model._loss_fn(out, target)
    values = fn(out, target)
    return masked_mean(values, mask, sample_weight)


def detached(out):
    """``out.detach()`` keeping its mask (the metrics read it)."""
    d = out.detach()
    m = getattr(out, "_keras_mask", None)
    if m is not None:
        d._keras_mask = m.detach()
    return d


# ------------------------------------------------------------------ the compiled metrics
class _Running(float):
    """A metric's entry in fit's / evaluate's running sums (which are divided by the rows
    seen): the masked mean so far times the rows, with its numerator and denominator."""


def _probs(xp, out, act):
    if act == "sigmoid":
        return 1.0 / (1.0 + xp.exp(-out))
    if act == "softmax":
        e = xp.exp(out - out.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return out


def _step_values(spec, xp, out, y, act):
    """Keras' per-step metric values for a sequence output (N, T, C), or None for a metric
    this does not cover."""
    if spec in ("mae", "mse"):
        p = _probs(xp, out, act)
        if y.dtype.kind in "iu" and p.ndim == y.ndim + 1 and p.shape[-1] > 1:
            y = xp.eye(p.shape[-1], dtype=p.dtype)[y]
        elif y.ndim == p.ndim - 1:
            y = y[..., None]
        d = p - y
        return xp.abs(d).mean(axis=-1) if spec == "mae" else (d * d).mean(axis=-1)
    if spec == "binary_accuracy":
        y = y[..., None] if y.ndim == out.ndim - 1 else y
        return ((out > (0 if act else 0.5)) == (y > 0.5)).mean(axis=-1)
    if spec == "categorical_accuracy":
        return (out.argmax(axis=-1) == y.argmax(axis=-1)).astype("float64")
    if spec == "sparse_categorical_accuracy":
        y = y.reshape(out.shape[:-1])
        return (out.argmax(axis=-1) == y).astype("float64")
    return None


def metric_sums(metrics, act, out, yb, sums, mask, plain):
    """The compiled metrics of a sequence output, masked or not, as Keras' metric
    wrappers: each step's value, weighed by the mask, the sample's mean over its steps,
    and the epoch's ``sum(values) / sum(weights)``; ``plain`` (the usual per-sample path)
    takes the metrics this does not cover."""
    xp = np if isinstance(out, np.ndarray) else backend_cupy()
    m = None if mask is None else (mask.data if isinstance(mask, Tensor) else mask)
    for j, (name, spec) in enumerate(metrics):
        v = _step_values(spec, xp, out, yb, act) if isinstance(spec, str) else None
        if v is None:
            sub = [sums[j]]
            plain([(name, spec)], act, out, yb, sub)
            sums[j] = sub[0]
            continue
        w = xp.ones(v.shape) if m is None else m.reshape(v.shape).astype("float64")
        axes = tuple(range(1, v.ndim))
        num = float((v * w).mean(axis=axes).sum())
        den = float(w.mean(axis=axes).sum())
        rows = v.shape[0]
        prev = sums[j]
        if type(prev) is _Running:
            num, den, rows = num + prev.num, den + prev.den, rows + prev.rows
        r = _Running(num / den * rows if den else 0.0)
        r.num, r.den, r.rows = num, den, rows
        sums[j] = r


def backend_cupy():
    from .. import backend
    return backend.cupy()
