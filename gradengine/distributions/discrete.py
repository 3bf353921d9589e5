"""The discrete families with PyTorch's parameters (``probs`` or ``logits`` where torch
takes either): ``Bernoulli``, ``Categorical``, ``OneHotCategorical``, ``Poisson``,
``Binomial``, ``Geometric`` and ``Multinomial``. Samples only (no ``rsample``), as
torch; ``log_prob`` and ``entropy`` are differentiable in the parameters."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ArgumentError, ShapeError
from ..ops import creation as C
from ..ops.random_extras import binomial as _binomial_draw
from ..ops.random_extras import poisson as _poisson_draw
from ..special import gammaln, xlogy
from . import constraints
from .base import (
    Distribution,
    ExponentialFamily,
    _bool,
    _eps,
    _full,
    _params,
    _shape,
    _tensor,
    _tiny,
)

__all__ = ["Bernoulli", "Categorical", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Poisson", "Binomial", "Geometric",
           "Multinomial", "NegativeBinomial"]


def _probs_logits(name, probs, logits, binary):
    """(probs, logits, the name given): torch's ``probs_to_logits`` / ``logits_to_probs``;
    a categorical's probs are normalised and its logits made log-probabilities."""
    if (probs is None) == (logits is None):
        raise ArgumentError(f"{name}: give exactly one of probs and logits (either `probs` "
                            "or `logits` must be specified, but not both)")
    if probs is not None:
        p = _tensor(probs)
        if binary:
            eps = _eps(p)
            q = F.clamp(p, eps, 1 - eps)
            return p, F.log(q) - F.log1p(-q), "probs"
        if p.ndim < 1:
            raise ShapeError(f"{name}: probs must have at least one dimension")
        if not _bool(p >= 0):
            raise ArgumentError(f"{name}: probs must be non-negative, got "
                                f"{p.detach().numpy()!r}")
        p = p / p.sum(-1, keepdims=True)
        eps = _eps(p)
        return p, F.log(F.clamp(p, eps, 1 - eps)), "probs"
    lg = _tensor(logits)
    if binary:
        return F.sigmoid(lg), lg, "logits"
    if lg.ndim < 1:
        raise ShapeError(f"{name}: logits must have at least one dimension")
    lg = F.log_softmax(lg, -1)  # normalised, as torch keeps them
    return F.exp(lg), lg, "logits"


def _clamp_by_zero(x):
    return (F.clamp(x, 0.0, None) + x - F.clamp(x, None, 0.0)) / 2


class Bernoulli(ExponentialFamily):
    """``Bernoulli(probs=None, logits=None)``: 1 with probability probs."""

    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (F.log(self.probs) - F.log1p(-self.probs),)

    def _log_normalizer(self, x):
        return F.log1p(F.exp(x))

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self.probs, self.logits, given = _probs_logits("Bernoulli", probs, logits, True)
        self._given = (given,)
        self._like = self.probs
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        m = (self.probs >= 0.5).to(self.probs.dtype)
        return F.where(self.probs == 0.5, _full(self.probs, math.nan), m)

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
        shape = tuple(np.broadcast_shapes(self.logits.shape, value.shape))
        return -F.binary_cross_entropy_with_logits(
            F.broadcast_to(self.logits, shape), F.broadcast_to(value, shape),
            reduction="none")

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        values = C.arange(2, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = F.broadcast_to(values, (2,) + self.batch_shape)
        return values


class Categorical(Distribution):
    """``Categorical(probs=None, logits=None)``: an index in [0, K) over the last axis."""

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self.probs, self.logits, given = _probs_logits(type(self).__name__, probs, logits,
                                                       False)
        self._given = (given,)
        self._like = self.probs
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1], (), validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

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
        value = value if isinstance(value, Tensor) else _tensor(value).to("int64")
        if self._validate_args:
            self._check_value(value)
        if value.dtype.kind not in "iu":
            value = value.to("int64")
        try:
            shape = tuple(np.broadcast_shapes(value.shape, self.batch_shape))
        except ValueError:
            raise ShapeError(f"{type(self).__name__}.log_prob: a value of shape "
                             f"{tuple(value.shape)} does not broadcast with the batch shape "
                             f"{self._batch_shape}") from None
        lg = F.broadcast_to(self.logits, shape + (self._num_events,))
        idx = F.broadcast_to(value, shape).reshape(shape + (1,))
        return F.take_along_dim(lg, idx, -1).reshape(shape)

    def entropy(self):
        eps_logits = F.clamp(self.logits, float(np.finfo(self.logits.dtype).min), None)
        return -(self.probs * eps_logits).sum(-1)

    def enumerate_support(self, expand=True):
        values = C.arange(self._num_events).reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = F.broadcast_to(values, (self._num_events,) + self.batch_shape)
        return values


class OneHotCategorical(Distribution):
    """``OneHotCategorical(probs=None, logits=None)``: a Categorical sample as a one-hot
    vector (event shape (K,)); not a subclass of Categorical, as in torch."""

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        cat = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        self._categorical = cat
        self.probs, self.logits, self._given = cat.probs, cat.logits, cat._given
        self._like = self.probs
        self._num_events = cat._num_events
        super().__init__(cat.batch_shape, (cat._num_events,), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return F.one_hot(self.probs.argmax(dim=-1), self._num_events).to(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        idx = self._categorical.sample(sample_shape)
        return F.one_hot(idx, self._num_events).to(self.probs.dtype)

    def log_prob(self, value):
        value = self._check_value(value)
        return self._categorical.log_prob(value.argmax(dim=-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self._num_events
        values = C.eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        if expand:
            values = F.broadcast_to(values, (n,) + self.batch_shape + (n,))
        return values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """``OneHotCategoricalStraightThrough``: a OneHotCategorical whose ``rsample`` passes
    gradients straight through the probabilities (sample + probs - probs.detach())."""

    has_rsample = True

    def rsample(self, sample_shape=()):
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())


class Poisson(ExponentialFamily):
    """``Poisson(rate)``: counts 0, 1, 2, ... with mean ``rate``."""

    @property
    def _natural_params(self):
        return (F.log(self.rate),)

    def _log_normalizer(self, x):
        return F.exp(x)

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,), shape = _params(rate)
        self._like = self.rate
        super().__init__(shape, (), validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return F.floor(self.rate)

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        with no_grad():
            shape = self._extended_shape(sample_shape)
            flat = F.broadcast_to(self.rate, shape).reshape(-1)  # 1-d: NumPy's 0-d is a scalar
            return _poisson_draw(flat).reshape(shape)

    def log_prob(self, value):
        value = self._check_value(value)
        return xlogy(value, self.rate) - self.rate - gammaln(value + 1)


class Binomial(Distribution):
    """``Binomial(total_count=1, probs=None, logits=None)``: successes in ``total_count``
    trials."""

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        p, lg, given = _probs_logits("Binomial", probs, logits, True)
        (self.total_count, self.probs, self.logits), shape = _params(total_count, p, lg)
        self._given = ("total_count", given)
        self._like = self.probs
        super().__init__(shape, (), validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return F.minimum(F.floor((self.total_count + 1) * self.probs), self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        with no_grad():
            shape = self._extended_shape(sample_shape)
            return _binomial_draw(F.broadcast_to(self.total_count, shape).reshape(-1),
                                  F.broadcast_to(self.probs, shape).reshape(-1)).reshape(shape)

    def log_prob(self, value):
        value = self._check_value(value)
        n, lg = self.total_count, self.logits
        log_factorial_n = gammaln(n + 1)
        log_factorial_k = gammaln(value + 1)
        log_factorial_nmk = gammaln(n - value + 1)
        normalize = n * _clamp_by_zero(lg) + n * F.log1p(F.exp(-F.abs(lg))) - log_factorial_n
        return value * lg - log_factorial_k - log_factorial_nmk - normalize

    def entropy(self):
        with no_grad():
            top = int(self.total_count.max().item())
            if not top == int(self.total_count.min().item()):
                raise NotImplementedError("Binomial.entropy: inhomogeneous total_count is not "
                                          "supported")
        lp = self.log_prob(self.enumerate_support(False))
        return -(F.exp(lp) * lp).sum(0)

    def enumerate_support(self, expand=True):
        with no_grad():
            top = int(self.total_count.max().item())
            if not top == int(self.total_count.min().item()):
                raise NotImplementedError("Binomial.enumerate_support: inhomogeneous "
                                          "total_count is not supported")
        values = C.arange(1 + top, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = F.broadcast_to(values, (1 + top,) + self.batch_shape)
        return values


class Geometric(Distribution):
    """``Geometric(probs=None, logits=None)``: the number of failures before the first
    success (0, 1, 2, ...), as torch."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        self.probs, self.logits, given = _probs_logits("Geometric", probs, logits, True)
        self._given = (given,)
        self._like = self.probs
        super().__init__(self.probs.shape, (), validate_args)
        if self._validate_args and given == "probs" and not _bool(self.probs > 0):
            raise ArgumentError(f"Geometric: probs must be positive, got "
                                f"{self.probs.detach().numpy()!r}")

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return C.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        with no_grad():
            shape = self._extended_shape(sample_shape)
            u = F.clamp(C.rand(*shape, dtype=self.probs.dtype, device=self.probs.device),
                        _tiny(self.probs), None)
            return F.floor(F.log(u) / F.log1p(-self.probs))

    def log_prob(self, value):
        value = self._check_value(value)
        shape = tuple(np.broadcast_shapes(value.shape, self.probs.shape))
        p = F.broadcast_to(self.probs, shape)
        with no_grad():
            ones_at_zero = (p == 1) & (F.broadcast_to(value, shape) == 0)
        p = F.where(ones_at_zero, C.zeros_like(p), p)
        return value * F.log1p(-p) + F.log(self.probs)

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                  reduction="none") / self.probs


class Multinomial(Distribution):
    """``Multinomial(total_count=1, probs=None, logits=None)``: the counts of
    ``total_count`` categorical draws (event shape (K,)); ``total_count`` is an int, as
    torch (``log_prob`` does not need it)."""

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, (int, np.integer)) or isinstance(total_count, bool):
            raise NotImplementedError("Multinomial: inhomogeneous total_count is not "
                                      "supported (an int is)")
        self.total_count = int(total_count)
        cat = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        self._categorical = cat
        self.probs, self.logits, self._given = cat.probs, cat.logits, cat._given
        self._like = self.probs
        super().__init__(cat.batch_shape, cat.param_shape[-1:], validate_args)

    @property
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    def sample(self, sample_shape=()):
        with no_grad():
            k = self._event_shape[0]
            idx = self._categorical.sample((self.total_count,) + _shape(sample_shape))
            return F.one_hot(idx, k).to(self.probs.dtype).sum(0)

    def log_prob(self, value):
        value = self._check_value(value)
        shape = tuple(np.broadcast_shapes(value.shape, self.logits.shape))
        lg = F.broadcast_to(self.logits, shape)
        v = F.broadcast_to(value, shape)
        with no_grad():
            zero = (v == 0) & F.isinf(lg)
        lg = F.where(zero, C.zeros_like(lg), lg)
        return (gammaln(v.sum(-1) + 1) - gammaln(v + 1).sum(-1) + (lg * v).sum(-1))

    def entropy(self):
        n = float(self.total_count)
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        b = Binomial(self.total_count, probs=self.probs, validate_args=False)
        support = b.enumerate_support(expand=False)[1:]
        weights = gammaln(support + 1)
        term2 = (F.exp(b.log_prob(support)) * weights).sum(0).sum(-1)
        return term1 + term2


class NegativeBinomial(Distribution):
    """``NegativeBinomial(total_count, probs=None, logits=None)``: the number of successes
    (each with probability ``probs``) before ``total_count`` failures, as torch."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        p, lg, given = _probs_logits("NegativeBinomial", probs, logits, True)
        (self.total_count, self.probs, self.logits), shape = _params(total_count, p, lg)
        self._given = ("total_count", given)
        self._like = self.probs
        super().__init__(shape, (), validate_args)

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return self.total_count * F.exp(self.logits)

    @property
    def mode(self):
        return F.clamp(F.floor((self.total_count - 1) * F.exp(self.logits)), 0.0, None)

    @property
    def variance(self):
        return self.mean / F.sigmoid(-self.logits)

    @property
    def _gamma(self):
        from .continuous import Gamma
        return Gamma(self.total_count, F.exp(-self.logits), validate_args=False)

    def sample(self, sample_shape=()):
        with no_grad():
            rate = self._gamma.sample(sample_shape)
            shape = tuple(rate.shape)
            return _poisson_draw(rate.reshape(-1)).reshape(shape)

    def log_prob(self, value):
        value = self._check_value(value)
        n, lg = self.total_count, self.logits
        unnorm = n * F.logsigmoid(-lg) + value * F.logsigmoid(lg)
        with no_grad():
            zero = (n + value) == 0.0
        n = F.where(zero, C.ones_like(n + value), n)  # 0 there, as torch's masked_fill
        norm = -gammaln(n + value) + gammaln(1.0 + value) + gammaln(n)
        norm = F.where(zero, C.zeros_like(norm), norm)
        return unnorm - norm
