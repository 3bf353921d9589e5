"""``ge.distributions``: the probability distributions PyTorch scripts use most (policy
gradients, VAEs, Bayesian layers), with PyTorch's names, parameters and shapes.

``Normal``, ``Uniform``, ``Exponential``, ``Laplace`` (reparameterised: ``rsample`` is
differentiable in the parameters), ``Bernoulli``, ``Categorical`` and ``OneHotCategorical``
(``sample`` only). Each has ``batch_shape``, ``event_shape``, ``sample(sample_shape)``,
``log_prob``, ``entropy``, ``mean``, ``variance`` and ``stddev``; ``kl_divergence`` knows
the pairs of one family. Written in Tensor ops, so ``log_prob`` and ``entropy`` are
differentiable to any order; samples come from the generator ``ge.manual_seed`` seeds.
"""

from __future__ import annotations

import math

import numpy as np

from . import functional as F
from .core.gradmode import no_grad
from .core.tensor import Tensor
from .errors import ArgumentError, ShapeError
from .ops import creation as C

__all__ = ["Distribution", "Normal", "Uniform", "Exponential", "Laplace", "Bernoulli",
           "Categorical", "OneHotCategorical", "kl_divergence", "register_kl"]


def _tensor(v, like=None):
    if isinstance(v, Tensor):
        return v
    dtype = like.dtype if isinstance(like, Tensor) and like.dtype.kind == "f" else "float32"
    return Tensor(np.asarray(v, dtype=dtype), device=getattr(like, "device", None))


def _params(*vals):
    """The parameters as Tensors of one float dtype and device, broadcast to one shape."""
    like = next((v for v in vals if isinstance(v, Tensor)), None)
    ts = [_tensor(v, like) for v in vals]
    shape = np.broadcast_shapes(*(t.shape for t in ts))
    return [t if t.shape == shape else F.broadcast_to(t, shape) for t in ts], tuple(shape)


def _shape(sample_shape):
    if isinstance(sample_shape, int):
        return (sample_shape,)
    return tuple(sample_shape)


class Distribution:
    """The base class: ``batch_shape``, ``event_shape``, :meth:`sample`, :meth:`rsample`,
    :meth:`log_prob`, :meth:`entropy`, :meth:`mean`, :meth:`variance`, :meth:`stddev`."""

    has_rsample = False
    arg_constraints: dict = {}

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate = validate_args is not False

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return _shape(sample_shape) + self._batch_shape + self._event_shape

    def sample(self, sample_shape=()):
        """A sample without a graph (``rsample`` under ``no_grad`` where there is one)."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sample "
                                  "(rsample); use sample()")

    @property
    def stddev(self):
        return F.sqrt(self.variance)

    def _check_value(self, value, name="log_prob"):
        value = _tensor(value, self._like)
        try:
            np.broadcast_shapes(value.shape, self._batch_shape + self._event_shape)
        except ValueError:
            raise ShapeError(f"{type(self).__name__}.{name}: a value of shape {value.shape} "
                             f"does not broadcast with the batch shape {self._batch_shape}"
                             f" and event shape {self._event_shape}") from None
        return value

    def __repr__(self):
        args = ", ".join(f"{k}: {tuple(getattr(self, k).shape)}" for k in self.arg_constraints)
        return f"{type(self).__name__}({args})"


def _positive(name, what, t):
    if bool((t.detach() <= 0).any().item()):
        raise ArgumentError(f"{name}: {what} must be positive, got {t.detach().numpy()!r}")


class Normal(Distribution):
    """``Normal(loc, scale)``: N(loc, scale^2)."""

    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}

    def __init__(self, loc, scale, validate_args=None):
        (self.loc, self.scale), shape = _params(loc, scale)
        self._like = self.loc
        super().__init__(shape, (), validate_args)
        if self._validate:
            _positive("Normal", "scale", self.scale)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return self.scale * self.scale

    @property
    def stddev(self):
        return self.scale

    def rsample(self, sample_shape=()):
        eps = C.randn(*self._extended_shape(sample_shape), dtype=self.loc.dtype,
                      device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = self._check_value(value)
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - F.log(self.scale) - 0.5 * math.log(2 * math.pi)

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        return 0.5 * (1 + F.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + F.log(self.scale)


class Uniform(Distribution):
    """``Uniform(low, high)``: uniform on [low, high)."""

    has_rsample = True
    arg_constraints = {"low": "real", "high": "real"}

    def __init__(self, low, high, validate_args=None):
        (self.low, self.high), shape = _params(low, high)
        self._like = self.low
        super().__init__(shape, (), validate_args)
        if self._validate and bool((self.low.detach() >= self.high.detach()).any().item()):
            raise ArgumentError("Uniform: low must be below high")

    @property
    def mean(self):
        return (self.low + self.high) * 0.5

    @property
    def variance(self):
        w = self.high - self.low
        return w * w / 12.0

    def rsample(self, sample_shape=()):
        u = C.rand(*self._extended_shape(sample_shape), dtype=self.low.dtype,
                   device=self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        value = self._check_value(value)
        inside = (value >= self.low) & (value < self.high)
        lp = -F.log(self.high - self.low)
        return F.where(inside, lp, C.full_like(lp, -math.inf))

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        return F.clamp((value - self.low) / (self.high - self.low), 0.0, 1.0)

    def entropy(self):
        return F.log(self.high - self.low)


class Exponential(Distribution):
    """``Exponential(rate)``: density rate * exp(-rate * x) on x >= 0."""

    has_rsample = True
    arg_constraints = {"rate": "positive"}

    def __init__(self, rate, validate_args=None):
        (self.rate,), shape = _params(rate)
        self._like = self.rate
        super().__init__(shape, (), validate_args)
        if self._validate:
            _positive("Exponential", "rate", self.rate)

    @property
    def mean(self):
        return 1.0 / self.rate

    @property
    def variance(self):
        return 1.0 / (self.rate * self.rate)

    def rsample(self, sample_shape=()):
        u = C.rand(*self._extended_shape(sample_shape), dtype=self.rate.dtype,
                   device=self.rate.device)
        return -F.log1p(-u) / self.rate

    def log_prob(self, value):
        value = self._check_value(value)
        return F.log(self.rate) - self.rate * value

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        return 1 - F.exp(-self.rate * value)

    def entropy(self):
        return 1.0 - F.log(self.rate)


class Laplace(Distribution):
    """``Laplace(loc, scale)``: density exp(-|x - loc| / scale) / (2 scale)."""

    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}

    def __init__(self, loc, scale, validate_args=None):
        (self.loc, self.scale), shape = _params(loc, scale)
        self._like = self.loc
        super().__init__(shape, (), validate_args)
        if self._validate:
            _positive("Laplace", "scale", self.scale)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return 2.0 * self.scale * self.scale

    def rsample(self, sample_shape=()):
        eps = np.finfo(self.loc.dtype).eps
        u = C.rand(*self._extended_shape(sample_shape), dtype=self.loc.dtype,
                   device=self.loc.device) * (2 - 2 * eps) - (1 - eps)  # (-1, 1), as torch
        return self.loc - self.scale * F.sign(u) * F.log1p(-F.abs(u))

    def log_prob(self, value):
        value = self._check_value(value)
        return -F.log(2 * self.scale) - F.abs(value - self.loc) / self.scale

    def entropy(self):
        return 1 + F.log(2 * self.scale)


def _probs_logits(name, probs, logits, binary):
    if (probs is None) == (logits is None):
        raise ArgumentError(f"{name}: give exactly one of probs and logits")
    if probs is not None:
        p = _tensor(probs)
        if binary:
            with no_grad():
                bad = bool(((p < 0) | (p > 1)).any().item())
            if bad:
                raise ArgumentError(f"{name}: probs must lie in [0, 1]")
            eps = float(np.finfo(p.dtype).eps)
            q = F.clamp(p, eps, 1 - eps)
            return p, F.log(q) - F.log1p(-q)
        with no_grad():
            bad = bool((p < 0).any().item())
        if bad:
            raise ArgumentError(f"{name}: probs must be non-negative")
        p = p / p.sum(-1, keepdims=True)
        eps = float(np.finfo(p.dtype).eps)
        return p, F.log(F.clamp(p, eps, 1 - eps))
    lg = _tensor(logits)
    if binary:
        return F.sigmoid(lg), lg
    lg = F.log_softmax(lg, -1)  # normalised, as torch keeps them
    return F.exp(lg), lg


class Bernoulli(Distribution):
    """``Bernoulli(probs=None, logits=None)``: 1 with probability probs."""

    arg_constraints = {"probs": "unit_interval"}

    def __init__(self, probs=None, logits=None, validate_args=None):
        self.probs, self.logits = _probs_logits("Bernoulli", probs, logits, True)
        self._like = self.probs
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        with no_grad():
            shape = self._extended_shape(sample_shape)
            u = C.rand(*shape, dtype=self.probs.dtype, device=self.probs.device)
            return (u < F.broadcast_to(self.probs, shape)).to(self.probs.dtype)

    def log_prob(self, value):
        value = self._check_value(value)
        # -BCE with logits, stable for any logit
        return -F.binary_cross_entropy_with_logits(
            F.broadcast_to(self.logits, np.broadcast_shapes(self.logits.shape, value.shape)),
            F.broadcast_to(value, np.broadcast_shapes(self.logits.shape, value.shape)),
            reduction="none")

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Categorical(Distribution):
    """``Categorical(probs=None, logits=None)``: an index in [0, K) over the last axis."""

    arg_constraints = {"probs": "simplex"}

    def __init__(self, probs=None, logits=None, validate_args=None):
        self.probs, self.logits = _probs_logits("Categorical", probs, logits, False)
        if self.probs.ndim < 1:
            raise ShapeError("Categorical: probs / logits must have at least one dimension")
        self._like = self.probs
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1], (), validate_args)

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return C.full(self.batch_shape, math.nan, dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)

    @property
    def variance(self):
        return C.full(self.batch_shape, math.nan, dtype=self.probs.dtype)

    def sample(self, sample_shape=()):
        with no_grad():
            shape = _shape(sample_shape) + self.batch_shape
            cdf = F.cumsum(self.probs, -1)
            u = C.rand(*shape, 1, dtype=self.probs.dtype, device=self.probs.device)
            idx = (F.broadcast_to(cdf, shape + (self._num_events,)) <= u).sum(-1)
            return F.clamp(idx, None, self._num_events - 1).to("int64")

    def log_prob(self, value):
        value = _tensor(value).to("int64") if not isinstance(value, Tensor) else value
        if value.dtype.kind not in "iu":
            value = value.to("int64")
        shape = np.broadcast_shapes(value.shape, self.batch_shape)
        lg = F.broadcast_to(self.logits, tuple(shape) + (self._num_events,))
        idx = F.broadcast_to(value, tuple(shape)).reshape(tuple(shape) + (1,))
        return F.take_along_dim(lg, idx, -1).reshape(tuple(shape))

    def entropy(self):
        eps_logits = F.clamp(self.logits, float(np.finfo(self.logits.dtype).min), None)
        return -(self.probs * eps_logits).sum(-1)

    def enumerate_support(self, expand=True):
        values = C.arange(self._num_events).reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = F.broadcast_to(values, (self._num_events,) + self.batch_shape)
        return values


class OneHotCategorical(Categorical):
    """``OneHotCategorical(probs=None, logits=None)``: a Categorical sample as a one-hot
    vector (event shape (K,))."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        super().__init__(probs, logits, validate_args)
        self._event_shape = (self._num_events,)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        idx = super().sample(sample_shape)
        return F.one_hot(idx, self._num_events).to(self.probs.dtype)

    def log_prob(self, value):
        return super().log_prob(_tensor(value).argmax(dim=-1))


_KL = {}


def register_kl(type_p, type_q):
    """Decorator: register ``fn(p, q)`` as the KL divergence of two distribution types."""
    def wrap(fn):
        _KL[(type_p, type_q)] = fn
        return fn
    return wrap


def kl_divergence(p, q):
    """KL(p || q) for a registered pair of distribution types (batch-shaped)."""
    for (tp, tq), fn in _KL.items():
        if isinstance(p, tp) and isinstance(q, tq):
            return fn(p, q)
    raise NotImplementedError(f"kl_divergence: no formula for {type(p).__name__} and "
                              f"{type(q).__name__}")


@register_kl(Normal, Normal)
def _kl_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - F.log(var_ratio))


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli(p, q):
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical(p, q):
    return (p.probs * (p.logits - q.logits)).sum(-1)


@register_kl(Exponential, Exponential)
def _kl_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - 1 - F.log(ratio)


@register_kl(Laplace, Laplace)
def _kl_laplace(p, q):
    ratio = p.scale / q.scale
    d = F.abs(p.loc - q.loc)
    return -F.log(ratio) + d / q.scale + ratio * F.exp(-d / p.scale) - 1
