"""Keras 3's activation functions (``activations.relu(x)``, ``activations.get("gelu")``),
each written with gradengine's ``F`` functions (differentiable), with Keras' arguments and
formulas (``keras/src/activations/activations.py``)."""

from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..nn.layers import ACTIVATION_NAMES, EXTRA_ACTIVATIONS, _activation_fn
from ..ops.creation import ones_like, zeros_like

__all__ = ["celu", "deserialize", "elu", "exponential", "gelu", "get", "glu", "hard_shrink",
           "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "leaky_relu", "linear",
           "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu", "serialize",
           "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus",
           "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
           "threshold"]


def _t(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32)
                                                  if np.asarray(x).dtype.kind != "f"
                                                  else np.asarray(x))


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras' relu: ``max(x, 0)``, with a ``negative_slope`` below ``threshold``, values
    under ``threshold`` zeroed, and clipped at ``max_value``."""
    x = _t(x)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return F.leaky_relu(x, negative_slope)
        negative_part = F.relu(-x + threshold) if threshold != 0 else F.relu(-x)
    clip_max = max_value is not None
    if threshold != 0:
        x = x * (x > threshold).astype(x.dtype)
    elif max_value == 6:
        x = F.relu6(x)
        clip_max = False
    else:
        x = F.relu(x)
    if clip_max:
        x = F.clip(x, 0.0, float(max_value))
    if negative_slope != 0.0:
        x = x - negative_slope * negative_part
    return x


def sigmoid(x):
    return F.sigmoid(_t(x))


def tanh(x):
    return F.tanh(_t(x))


def softmax(x, axis=-1):
    return F.softmax(_t(x), axis=axis)


def log_softmax(x, axis=-1):
    return F.log_softmax(_t(x), axis=axis)


def gelu(x, approximate=False):
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


def silu(x):
    return F.silu(_t(x))


swish = silu


def leaky_relu(x, negative_slope=0.2):
    return F.leaky_relu(_t(x), negative_slope)


def exponential(x):
    return F.exp(_t(x))


def linear(x):
    return x


def elu(x, alpha=1.0):
    x = _t(x)
    return F.where(x > 0, x, alpha * (F.exp(F.minimum(x, 0.0)) - 1))


def celu(x, alpha=1.0):
    """``max(x, 0) + min(0, alpha (exp(x / alpha) - 1))``."""
    x = _t(x)
    return F.relu(x) + F.minimum(alpha * (F.exp(F.minimum(x, 0.0) / alpha) - 1), 0.0)


def selu(x):
    return F.selu(_t(x))


def softplus(x):
    return F.softplus(_t(x))


def softsign(x):
    return F.softsign(_t(x))


def relu6(x):
    return F.relu6(_t(x))


def mish(x):
    return F.mish(_t(x))


def log_sigmoid(x):
    return F.log_sigmoid(_t(x))


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``."""
    return F.relu6(_t(x) + 3.0) / 6.0


def hard_silu(x):
    """``x * hard_sigmoid(x)``."""
    x = _t(x)
    return x * (F.relu6(x + 3.0) / 6.0)


hard_swish = hard_silu


def hard_tanh(x):
    """``clip(x, -1, 1)``."""
    return F.hardtanh(_t(x))


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    x = _t(x)
    return F.where(F.abs(x) > threshold, x, x * 0.0)


def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above it, ``x + threshold`` below ``-threshold``, else 0."""
    x = _t(x)
    return F.where(x > threshold, x - threshold, F.where(x < -threshold, x + threshold,
                                                          x * 0.0))


def tanh_shrink(x):
    """``x - tanh(x)``."""
    x = _t(x)
    return x - F.tanh(x)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    x = _t(x)
    return F.where(x > threshold, x, x * 0.0 + default_value)


def glu(x, axis=-1):
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second.

    Raises:
        ValueError: an odd size along ``axis``.
    """
    x = _t(x)
    n = x.shape[axis]
    if n % 2:
        raise ValueError(f"glu: axis {axis} must be of even size, got shape {x.shape}")
    ax = axis % x.ndim
    idx_a = tuple(slice(None) if i != ax else slice(0, n // 2) for i in range(x.ndim))
    idx_b = tuple(slice(None) if i != ax else slice(n // 2, n) for i in range(x.ndim))
    return x[idx_a] * F.sigmoid(x[idx_b])


def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)^2 / 4`` for ``|x| < 1``, ``x`` for ``x >= 1``."""
    x = _t(x)
    return F.where(x <= -1, zeros_like(x), F.where(x < 1, 0.25 * (x + 1) * (x + 1), x))


def sparse_sigmoid(x):
    """0 for ``x <= -1``, ``(x + 1) / 2`` between, 1 for ``x >= 1``."""
    x = _t(x)
    return F.where(x <= -1, zeros_like(x), F.where(x >= 1, ones_like(x), 0.5 * (x + 1)))


def squareplus(x, b=4):
    """``(x + sqrt(x^2 + b)) / 2``."""
    x = _t(x)
    return (x + F.sqrt(x * x + float(b))) / 2.0


def sparsemax(x, axis=-1):
    """Keras 3's sparsemax, formula for formula: ``max(x - tau, 0)`` with ``tau = (sum of
    the cumulative sums of the sorted x over the support - 1) / k`` (Keras sums the
    cumulative sums where Martins & Astudillo take the k-th one, so its rows need not sum
    to 1; gradengine gives Keras' numbers). The support and the ranks come from the host;
    ``tau`` is then a Tensor expression of ``x``, so the gradient flows through it."""
    x = _t(x)
    xp = backend.xp_of(x.device)
    data = x.data
    ax = axis % data.ndim
    srt = -xp.sort(-data, axis=ax)
    csum = xp.cumsum(srt, axis=ax)
    shape = [1] * data.ndim
    shape[ax] = -1
    r = xp.arange(1, data.shape[ax] + 1).reshape(shape)
    k = ((srt - (csum - 1) / r) > 0).sum(axis=ax, keepdims=True)
    order = xp.argsort(-data, axis=ax, kind="stable")
    rank = xp.empty_like(order)
    xp.put_along_axis(rank, order, xp.broadcast_to(r, order.shape) - 1, axis=ax)
    # the element of rank i (0-based) enters sum_{j < k} cumsum_j  (k - i) times
    w = xp.where(rank < k, k - rank, 0).astype(data.dtype)
    tau = ((x * Tensor._make(w, x.device)).sum(axis=ax, keepdims=True) - 1.0) / \
        Tensor._make(k.astype(data.dtype), x.device)
    return F.relu(x - tau)


_FUNCTIONS = {f.__name__: f for f in (
    relu, sigmoid, tanh, softmax, log_softmax, gelu, silu, leaky_relu, exponential, linear,
    elu, celu, selu, softplus, softsign, relu6, mish, log_sigmoid, hard_sigmoid, hard_silu,
    hard_tanh, hard_shrink, soft_shrink, tanh_shrink, threshold, glu, sparse_plus,
    sparse_sigmoid, squareplus, sparsemax)}
_FUNCTIONS.update({"swish": silu, "hard_swish": hard_silu})
# Dense (a gradengine.nn layer) takes these names too
EXTRA_ACTIVATIONS.update({k: f for k, f in _FUNCTIONS.items() if k not in ACTIVATION_NAMES})


def get(identifier):
    """The activation function of a name (None and "linear": the identity), a serialized
    dict, or a callable (returned).

    Raises:
        ValueError: an unknown name (the known ones are listed).
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        from .saving_lib import get_registered_object
        found = get_registered_object(identifier)
        if found is not None:
            return found
        raise ValueError(f"activations.get: unknown activation {identifier!r}; allowed: "
                         f"{', '.join(sorted(_FUNCTIONS))} or a callable")
    return _activation_fn(identifier)


def serialize(activation):
    """Keras' form: the name of a built-in activation, else the registered name or the
    function's ``__name__``.

    Raises:
        ValueError: an object that is not a function (nor a name).
    """
    if isinstance(activation, str):
        return activation
    name = getattr(activation, "__name__", None)
    if name in _FUNCTIONS and _FUNCTIONS[name] is activation:
        return name
    from .saving_lib import get_registered_name, serialize_keras_object
    if name is None:
        return serialize_keras_object(activation)
    return get_registered_name(activation)


def deserialize(config, custom_objects=None):
    """The activation function of :func:`serialize`'s result."""
    if isinstance(config, dict):
        from .saving_lib import deserialize_keras_object
        return deserialize_keras_object(config, custom_objects=custom_objects)
    if custom_objects and config in custom_objects:
        return custom_objects[config]
    return get(config)


NAMES = ACTIVATION_NAMES

