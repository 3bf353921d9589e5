"""The continuous families with PyTorch's parameters: ``Normal``, ``Uniform``,
``Exponential``, ``Laplace``, ``Cauchy``, ``StudentT``, ``Gamma``, ``Chi2``, ``Beta`` and
``Dirichlet``. Every one has ``rsample``: location-scale families by transforming a
uniform or normal draw, the gamma family by implicit reparameterisation with torch's
gradients (:mod:`gradengine.ops.sampling`)."""

from __future__ import annotations

import math

from .. import functional as F
from ..core.gradmode import no_grad
from ..errors import ArgumentError
from ..ops import creation as C
from ..ops.incomplete_gamma import gammainc
from ..ops.sampling import sample_dirichlet, standard_gamma
from ..special import digamma, gammaln, xlogy
from . import constraints
from .base import LOG_2PI, Distribution, ExponentialFamily, _eps, _full, _params, _tensor, _tiny

__all__ = ["Normal", "Uniform", "Exponential", "Laplace", "Cauchy", "StudentT", "Gamma",
           "Chi2", "Beta", "Dirichlet"]


def _randn(d, like, sample_shape):
    return C.randn(*d._extended_shape(sample_shape), dtype=like.dtype, device=like.device)


def _rand(d, like, sample_shape):
    return C.rand(*d._extended_shape(sample_shape), dtype=like.dtype, device=like.device)


class Normal(ExponentialFamily):
    """``Normal(loc, scale)``: N(loc, scale^2)."""

    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (self.loc / (self.scale * self.scale), -0.5 / (self.scale * self.scale))

    def _log_normalizer(self, x, y):
        return -0.25 * x * x / y + 0.5 * F.log(-math.pi / y)
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        (self.loc, self.scale), shape = _params(loc, scale)
        self._like = self.loc
        super().__init__(shape, (), validate_args)

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
        return self.loc + _randn(self, self.loc, sample_shape) * self.scale

    def log_prob(self, value):
        value = self._check_value(value)
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - F.log(self.scale) - 0.5 * LOG_2PI

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        # torch's order: a float64 value against float32 parameters stays float64
        return 0.5 * (1 + F.erf((value - self.loc) * (1.0 / self.scale) / math.sqrt(2)))

    def icdf(self, value):
        value = self._check_icdf(value)
        return self.loc + self.scale * F.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * LOG_2PI + F.log(self.scale)


class Uniform(Distribution):
    """``Uniform(low, high)``: uniform on [low, high)."""

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        (self.low, self.high), shape = _params(low, high)
        self._like = self.low
        super().__init__(shape, (), validate_args)

    @constraints.dependent_property
    def arg_constraints(self):
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.low + self.high) * 0.5

    @property
    def mode(self):
        return _full(self.low, math.nan)

    @property
    def variance(self):
        w = self.high - self.low
        return w * w / 12.0

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    def rsample(self, sample_shape=()):
        return self.low + _rand(self, self.low, sample_shape) * (self.high - self.low)

    def log_prob(self, value):
        value = self._check_value(value)
        inside = (value >= self.low) & (value < self.high)
        lp = -F.log(self.high - self.low)
        return F.where(inside, lp, C.full_like(lp, -math.inf))

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        return F.clamp((value - self.low) / (self.high - self.low), 0.0, 1.0)

    def icdf(self, value):
        value = self._check_icdf(value)
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return F.log(self.high - self.low)


class Exponential(ExponentialFamily):
    """``Exponential(rate)``: density rate * exp(-rate * x) on x >= 0."""

    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -F.log(-x)
    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative

    def __init__(self, rate, validate_args=None):
        (self.rate,), shape = _params(rate)
        self._like = self.rate
        super().__init__(shape, (), validate_args)

    @property
    def mean(self):
        return 1.0 / self.rate

    @property
    def mode(self):
        return C.zeros_like(self.rate)

    @property
    def variance(self):
        return 1.0 / (self.rate * self.rate)

    @property
    def stddev(self):
        return 1.0 / self.rate

    def rsample(self, sample_shape=()):
        return -F.log1p(-_rand(self, self.rate, sample_shape)) / self.rate

    def log_prob(self, value):
        value = self._check_value(value)
        return F.log(self.rate) - self.rate * value

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        return 1 - F.exp(-self.rate * value)

    def icdf(self, value):
        value = self._check_icdf(value)
        return -F.log1p(-value) / self.rate

    def entropy(self):
        return 1.0 - F.log(self.rate)


class Laplace(Distribution):
    """``Laplace(loc, scale)``: density exp(-|x - loc| / scale) / (2 scale)."""

    has_rsample = True
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        (self.loc, self.scale), shape = _params(loc, scale)
        self._like = self.loc
        super().__init__(shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2.0 * self.scale * self.scale

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    def rsample(self, sample_shape=()):
        eps = _eps(self.loc)
        u = _rand(self, self.loc, sample_shape) * (2 - 2 * eps) - (1 - eps)  # (-1, 1), as torch
        return self.loc - self.scale * F.sign(u) * F.log1p(-F.abs(u))

    def log_prob(self, value):
        value = self._check_value(value)
        return -F.log(2 * self.scale) - F.abs(value - self.loc) / self.scale

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        return 0.5 - 0.5 * F.sign(value - self.loc) * F.expm1(
            -F.abs(value - self.loc) / self.scale)

    def icdf(self, value):
        value = self._check_icdf(value)
        term = value - 0.5
        return self.loc - self.scale * F.sign(term) * F.log1p(-2 * F.abs(term))

    def entropy(self):
        return 1 + F.log(2 * self.scale)


class Cauchy(Distribution):
    """``Cauchy(loc, scale)``: density 1 / (pi scale (1 + ((x - loc) / scale)^2)); its mean
    and variance do not exist (NaN and inf, as torch)."""

    has_rsample = True
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        (self.loc, self.scale), shape = _params(loc, scale)
        self._like = self.loc
        super().__init__(shape, (), validate_args)

    @property
    def mean(self):
        return _full(self.loc, math.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return _full(self.loc, math.inf)

    def rsample(self, sample_shape=()):
        u = _rand(self, self.loc, sample_shape)
        return self.loc + self.scale * F.tan(math.pi * (u - 0.5))

    def log_prob(self, value):
        value = self._check_value(value)
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - F.log(self.scale) - F.log1p(z * z)

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        return F.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        value = self._check_icdf(value)
        return F.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + F.log(self.scale)


class Gamma(ExponentialFamily):
    """``Gamma(concentration, rate)``: density rate^a x^(a-1) e^(-rate x) / Gamma(a)."""

    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return gammaln(x + 1) + (x + 1) * F.log(-1.0 / y)
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative

    def __init__(self, concentration, rate, validate_args=None):
        (self.concentration, self.rate), shape = _params(concentration, rate)
        self._like = self.concentration
        super().__init__(shape, (), validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return F.clamp((self.concentration - 1) / self.rate, 0.0, None)

    @property
    def variance(self):
        return self.concentration / (self.rate * self.rate)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = standard_gamma(F.broadcast_to(self.concentration, shape)) / self.rate
        return F.clamp(x, _tiny(x), None)  # as torch: never 0

    def log_prob(self, value):
        value = self._check_value(value)
        return (xlogy(self.concentration, self.rate) + xlogy(self.concentration - 1, value)
                - self.rate * value - gammaln(self.concentration))

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        return gammainc(self.concentration, self.rate * value)

    def entropy(self):
        a = self.concentration
        return a - F.log(self.rate) + gammaln(a) + (1.0 - a) * digamma(a)


class Chi2(Gamma):
    """``Chi2(df)``: Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}
    _expand_names = ("concentration", "rate")

    def __init__(self, df, validate_args=None):
        (df,), _ = _params(df)
        super().__init__(0.5 * df, C.full_like(df, 0.5), validate_args)

    @property
    def df(self):
        return self.concentration * 2


class StudentT(Distribution):
    """``StudentT(df, loc=0.0, scale=1.0)``: Student's t with ``df`` degrees of freedom."""

    has_rsample = True
    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        (self.df, self.loc, self.scale), shape = _params(df, loc, scale)
        self._like = self.df
        super().__init__(shape, (), validate_args)

    @property
    def mean(self):
        return F.where(self.df > 1, self.loc, _full(self.loc, math.nan))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        big = F.where(df > 2, df, _full(df, 3.0))
        v = self.scale * self.scale * big / (big - 2)
        return F.where(df > 2, v, F.where(df > 1, _full(df, math.inf), _full(df, math.nan)))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = _randn(self, self.df, sample_shape)
        z = standard_gamma(F.broadcast_to(0.5 * self.df, shape)) * 2.0  # chi-squared
        return self.loc + self.scale * x * F.rsqrt(z / self.df)

    def log_prob(self, value):
        value = self._check_value(value)
        y = (value - self.loc) / self.scale
        z = (F.log(self.scale) + 0.5 * F.log(self.df) + 0.5 * math.log(math.pi)
             + gammaln(0.5 * self.df) - gammaln(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * F.log1p(y * y / self.df) - z

    def entropy(self):
        df = self.df
        lbeta = gammaln(0.5 * df) + math.lgamma(0.5) - gammaln(0.5 * (df + 1))
        return (F.log(self.scale) + 0.5 * (df + 1) * (digamma(0.5 * (df + 1))
                                                       - digamma(0.5 * df))
                + 0.5 * F.log(df) + lbeta)


class Dirichlet(ExponentialFamily):
    """``Dirichlet(concentration)``: on the simplex of the last axis (event shape (K,))."""

    has_rsample = True

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return gammaln(x).sum(-1) - gammaln(x.sum(-1))
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex

    def __init__(self, concentration, validate_args=None):
        self.concentration = _tensor(concentration)
        if self.concentration.ndim < 1:
            raise ArgumentError("Dirichlet: `concentration` parameter must be at least "
                                "one-dimensional.")
        self._like = self.concentration
        c = self.concentration
        super().__init__(c.shape[:-1], c.shape[-1:], validate_args)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return sample_dirichlet(F.broadcast_to(self.concentration, shape))

    def log_prob(self, value):
        value = self._check_value(value)
        c = self.concentration
        return (xlogy(c - 1.0, value).sum(-1) + gammaln(c.sum(-1)) - gammaln(c).sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdims=True)

    @property
    def mode(self):
        cm1 = F.clamp(self.concentration - 1, 0.0, None)
        mode = cm1 / cm1.sum(-1, keepdims=True)
        k = self.concentration.shape[-1]
        with no_grad():
            hot = F.one_hot(mode.argmax(dim=-1), k).to(mode.dtype)
            mask = (self.concentration < 1).all(-1, keepdims=True)
        return F.where(mask, hot, mode)

    @property
    def variance(self):
        c = self.concentration
        c0 = c.sum(-1, keepdims=True)
        return c * (c0 - c) / (c0 * c0 * (c0 + 1))

    def entropy(self):
        c = self.concentration
        k = c.shape[-1]
        a0 = c.sum(-1)
        return (gammaln(c).sum(-1) - gammaln(a0) - (k - a0) * digamma(a0)
                - ((c - 1.0) * digamma(c)).sum(-1))


class Beta(ExponentialFamily):
    """``Beta(concentration1, concentration0)``: density x^(a-1) (1-x)^(b-1) / B(a, b)."""

    has_rsample = True

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return gammaln(x) + gammaln(y) - gammaln(x + y)
    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval

    def __init__(self, concentration1, concentration0, validate_args=None):
        (self.concentration1, self.concentration0), shape = _params(concentration1,
                                                                    concentration0)
        self._like = self.concentration1
        super().__init__(shape, (), validate_args)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return Dirichlet(F.stack([self.concentration1, self.concentration0], -1),
                         validate_args=False).mode[..., 0]

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        t = a + b
        return a * b / (t * t * (t + 1))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape) + (2,)
        both = F.stack([self.concentration1, self.concentration0], -1)
        return sample_dirichlet(F.broadcast_to(both, shape))[..., 0]  # as torch

    def log_prob(self, value):
        value = self._check_value(value)
        a, b = self.concentration1, self.concentration0
        return (xlogy(a - 1, value) + xlogy(b - 1, 1 - value) + gammaln(a + b) - gammaln(a)
                - gammaln(b))

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        t = a + b
        return (gammaln(a) + gammaln(b) - gammaln(t) - (a - 1) * digamma(a)
                - (b - 1) * digamma(b) + (t - 2) * digamma(t))

