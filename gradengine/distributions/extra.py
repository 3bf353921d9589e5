"""The rest of ``torch.distributions``' families, with PyTorch's parameters, formulas and
checks: ``Gumbel``, ``HalfCauchy``, ``Weibull``, ``Pareto``, ``InverseGamma``,
``Kumaraswamy``, ``LogisticNormal`` (transformed distributions, as in torch),
``FisherSnedecor``, ``GeneralizedPareto``, ``VonMises``, ``ContinuousBernoulli``,
``LogitRelaxedBernoulli`` / ``RelaxedBernoulli``, ``ExpRelaxedCategorical`` /
``RelaxedOneHotCategorical``, ``LKJCholesky`` and ``LowRankMultivariateNormal``."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import linalg
from ..core.gradmode import no_grad
from ..errors import ArgumentError, ShapeError
from ..ops import creation as C
from ..special import digamma, gammaln, multigammaln
from . import constraints
from .base import (
    LOG_2PI,
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
from .continuous import Beta, Cauchy, Exponential, Gamma, Normal, Uniform
from .discrete import Categorical, _probs_logits
from .multivariate import _batch_mahalanobis, _batch_mv, _TrilMatrices
from .transforms import (
    AbsTransform,
    AffineTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    StickBreakingTransform,
    TransformedDistribution,
)

__all__ = ["Gumbel", "HalfCauchy", "Weibull", "Pareto", "InverseGamma", "Kumaraswamy",
           "LogisticNormal", "FisherSnedecor", "GeneralizedPareto", "VonMises",
           "ContinuousBernoulli", "LogitRelaxedBernoulli", "RelaxedBernoulli",
           "ExpRelaxedCategorical", "RelaxedOneHotCategorical", "LKJCholesky",
           "LowRankMultivariateNormal"]

EULER = 0.57721566490153286060


def _nan_where(cond, t):
    with no_grad():
        cond = F.broadcast_to(cond, tuple(t.shape))
    return F.where(cond, _full(t, math.nan), t)


def _clamp_probs(p):
    eps = _eps(p)
    return F.clamp(p, eps, 1 - eps)


# ---------------------------------------------------------------- transformed families


class Gumbel(TransformedDistribution):
    """``Gumbel(loc, scale)``: density exp(-(z + exp(-z))) / scale, z = (x - loc) / scale."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        (self.loc, self.scale), _ = _params(loc, scale)
        tiny, eps = _tiny(self.loc), _eps(self.loc)
        base = Uniform(_full(self.loc, tiny), _full(self.loc, 1 - eps),
                       validate_args=validate_args)
        transforms = [ExpTransform().inv, AffineTransform(0, -C.ones_like(self.scale)),
                      ExpTransform().inv, AffineTransform(self.loc, -self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def log_prob(self, value):
        value = self._check_value(value)
        y = (self.loc - value) / self.scale
        return y - F.exp(y) - F.log(self.scale)

    @property
    def mean(self):
        return self.loc + self.scale * EULER

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return math.pi / math.sqrt(6) * self.scale

    @property
    def variance(self):
        s = self.stddev
        return s * s

    def entropy(self):
        return F.log(self.scale) + (1 + EULER)


class HalfCauchy(TransformedDistribution):
    """``HalfCauchy(scale)``: |Cauchy(0, scale)|."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        scale = _tensor(scale)
        base = Cauchy(C.zeros_like(scale), scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return C.full(self._extended_shape(), math.inf, dtype=self.scale.dtype,
                      device=self.scale.device)

    @property
    def mode(self):
        return C.zeros_like(self.scale)

    @property
    def variance(self):
        return self.base_dist.variance

    def log_prob(self, value):
        value = self._check_value(value)
        lp = self.base_dist.log_prob(value) + math.log(2)
        return F.where(value >= 0, lp, lp * 0 - math.inf)

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, value):
        return self.base_dist.icdf((self._check_icdf(value) + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class Weibull(TransformedDistribution):
    """``Weibull(scale, concentration)``: scale * Exponential(1) ** (1 / concentration)."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    _expand_names = ("concentration_reciprocal",)

    def __init__(self, scale, concentration, validate_args=None):
        (self.scale, self.concentration), _ = _params(scale, concentration)
        self.concentration_reciprocal = 1.0 / self.concentration
        base = Exponential(C.ones_like(self.scale), validate_args=validate_args)
        transforms = [PowerTransform(self.concentration_reciprocal),
                      AffineTransform(0, self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    @property
    def mean(self):
        return self.scale * F.exp(gammaln(1 + self.concentration_reciprocal))

    @property
    def mode(self):
        k = self.concentration
        return self.scale * F.pow((k - 1) / k, 1.0 / k)

    @property
    def variance(self):
        r = self.concentration_reciprocal
        return self.scale * self.scale * (F.exp(gammaln(1 + 2 * r))
                                          - F.exp(2 * gammaln(1 + r)))

    def entropy(self):
        r = self.concentration_reciprocal
        return EULER * (1 - r) + F.log(self.scale * r) + 1


class Pareto(TransformedDistribution):
    """``Pareto(scale, alpha)``: scale * exp(Exponential(alpha)), on x >= scale."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args=None):
        (self.scale, self.alpha), _ = _params(scale, alpha)
        base = Exponential(self.alpha, validate_args=validate_args)
        super().__init__(base, [ExpTransform(), AffineTransform(0, self.scale)],
                         validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self):
        a = F.clamp(self.alpha, 1.0, None)
        return a * self.scale / (a - 1)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        a = F.clamp(self.alpha, 2.0, None)
        return self.scale * self.scale * a / ((a - 1) * (a - 1) * (a - 2))

    def entropy(self):
        return F.log(self.scale / self.alpha) + (1 + 1.0 / self.alpha)


class InverseGamma(TransformedDistribution):
    """``InverseGamma(concentration, rate)``: 1 / Gamma(concentration, rate)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        base = Gamma(concentration, rate, validate_args=validate_args)
        neg_one = C.full((), -1.0, dtype=base.rate.dtype, device=base.rate.device)
        super().__init__(base, PowerTransform(neg_one), validate_args=validate_args)

    @property
    def concentration(self):
        return self.base_dist.concentration

    @property
    def rate(self):
        return self.base_dist.rate

    @property
    def mean(self):
        a = self.concentration
        r = self.rate / (a - 1)
        return F.where(a > 1, r, _full(r, math.inf))

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        a = self.concentration
        r = self.rate * self.rate / ((a - 1) * (a - 1) * (a - 2))
        return F.where(a > 2, r, _full(r, math.inf))

    def entropy(self):
        a = self.concentration
        return a + F.log(self.rate) + gammaln(a) - (1 + a) * digamma(a)


def _kumaraswamy_moments(a, b, n):
    arg1 = 1 + n / a
    return b * F.exp(gammaln(arg1) + gammaln(b) - gammaln(arg1 + b))


class Kumaraswamy(TransformedDistribution):
    """``Kumaraswamy(concentration1, concentration0)``: density a b x^(a-1) (1-x^a)^(b-1)
    on (0, 1)."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        (self.concentration1, self.concentration0), _ = _params(concentration1,
                                                                concentration0)
        c0 = self.concentration0
        base = Uniform(C.zeros_like(c0), C.ones_like(c0), validate_args=validate_args)
        transforms = [PowerTransform(1.0 / c0), AffineTransform(1.0, -1.0),
                      PowerTransform(1.0 / self.concentration1)]
        super().__init__(base, transforms, validate_args=validate_args)

    @property
    def mean(self):
        return _kumaraswamy_moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        log_mode = (1.0 / b) * F.log1p(-b) - F.log1p(-b * a)
        return F.exp(_nan_where((b < 1) | (a < 1), log_mode))

    @property
    def variance(self):
        m = self.mean
        return _kumaraswamy_moments(self.concentration1, self.concentration0, 2) - m * m

    def entropy(self):
        t1 = 1 - 1.0 / self.concentration1
        t0 = 1 - 1.0 / self.concentration0
        h0 = digamma(self.concentration0 + 1) + EULER
        return t0 + t1 * h0 - F.log(self.concentration1) - F.log(self.concentration0)


class LogisticNormal(TransformedDistribution):
    """``LogisticNormal(loc, scale)``: the stick-breaking image of Normal(loc, scale) on the
    simplex of one more entry."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    @property
    def loc(self):
        return self.base_dist.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.base_dist.scale


# ---------------------------------------------------------------- direct families


class FisherSnedecor(Distribution):
    """``FisherSnedecor(df1, df2)``: the F distribution, (chi2(df1)/df1) / (chi2(df2)/df2)."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        (self.df1, self.df2), shape = _params(df1, df2)
        self._like = self.df1
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)
        super().__init__(shape, (), validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)
        return new

    @property
    def mean(self):
        df2 = self.df2
        return _nan_where(df2 <= 2, df2 / (df2 - 2))

    @property
    def mode(self):
        m = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return _nan_where(self.df1 <= 2, m)

    @property
    def variance(self):
        d1, d2 = self.df1, self.df2
        v = 2 * d2 * d2 * (d1 + d2 - 2) / (d1 * (d2 - 2) * (d2 - 2) * (d2 - 4))
        return _nan_where(d2 <= 4, v)

    def rsample(self, sample_shape=()):
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape)
        tiny = _tiny(x2)
        return F.clamp(x1 / F.clamp(x2, tiny, None), tiny, None)

    def log_prob(self, value):
        value = self._check_value(value)
        ct1, ct2 = self.df1 * 0.5, self.df2 * 0.5
        ct3 = self.df1 / self.df2
        t1 = gammaln(ct1 + ct2) - gammaln(ct1) - gammaln(ct2)
        t2 = ct1 * F.log(ct3) + (ct1 - 1) * F.log(value)
        t3 = (ct1 + ct2) * F.log1p(ct3 * value)
        return t1 + t2 - t3


class GeneralizedPareto(Distribution):
    """``GeneralizedPareto(loc, scale, concentration)``: on [loc, inf) (concentration >= 0)
    or [loc, loc - scale / concentration] (concentration < 0)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        (self.loc, self.scale, self.concentration), shape = _params(loc, scale, concentration)
        self._like = self.loc
        super().__init__(shape, (), validate_args)

    def _safe(self):
        c = self.concentration
        with no_grad():
            zero = F.abs(c) <= 1e-8  # torch.isclose(c, 0)
        return zero, F.where(zero, C.ones_like(c), c)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def rsample(self, sample_shape=()):
        u = C.rand(*self._extended_shape(sample_shape), dtype=self.loc.dtype,
                   device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value):
        value = self._check_value(value)
        z = self._z(value)
        zero, safe = self._safe()
        y = 1 / safe + C.ones_like(z)
        nonzero = F.where(y == 0, y, y * F.log1p(safe * z))
        return -F.log(self.scale) - F.where(zero, z, nonzero)

    def log_survival_function(self, value):
        value = self._check_value(value, "log_survival_function")
        z = self._z(value)
        zero, safe = self._safe()
        return F.where(zero, -z, -F.log1p(safe * z) / safe)

    def log_cdf(self, value):
        return F.log1p(-F.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return F.exp(self.log_cdf(value))

    def icdf(self, value):
        value = self._check_icdf(value)
        zero, safe = self._safe()
        logu = F.log1p(-value)
        nonzero = self.loc + self.scale / safe * F.expm1(-safe * logu)
        return F.where(zero, self.loc - self.scale * logu, nonzero)

    @property
    def mean(self):
        c = self.concentration
        valid = c < 1
        safe = F.where(valid, c, _full(c, 0.5))
        return F.where(valid, self.loc + self.scale / (1 - safe), _full(c, math.nan))

    @property
    def variance(self):
        c = self.concentration
        valid = c < 0.5
        safe = F.where(valid, c, _full(c, 0.25))
        r = self.scale * self.scale / ((1 - safe) * (1 - safe) * (1 - 2 * safe))
        return F.where(valid, r, _full(c, math.nan))

    def entropy(self):
        return F.broadcast_to(F.log(self.scale) + self.concentration + 1, self._batch_shape)

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        lower = self.loc
        c = self.concentration
        upper = F.where(c < 0, lower - self.scale / c, _full(c, math.inf))
        return constraints.interval(lower, upper)


# torch's polynomial approximations of log I0 and log I1 (Abramowitz and Stegun 9.8.1-4)
_I0_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813]
_I0_LARGE = [0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706,
             0.02635537, -0.01647633, 0.00392377]
_I1_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411]
_I1_LARGE = [0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967,
             -0.02895312, 0.01787654, -0.00420059]


def _eval_poly(y, coef):
    coef = list(coef)
    result = coef.pop()
    while coef:
        result = coef.pop() + y * result
    return result


def _log_modified_bessel_fn(x, order=0):
    """log I_order(x) for x > 0, order 0 or 1, as torch's VonMises computes it."""
    y = x / 3.75
    y = y * y
    small = _eval_poly(y, (_I0_SMALL, _I1_SMALL)[order])
    if order == 1:
        small = F.abs(x) * small
    small = F.log(small)
    y = 3.75 / x
    large = x - 0.5 * F.log(x) + F.log(_eval_poly(y, (_I0_LARGE, _I1_LARGE)[order]))
    return F.where(x < 3.75, small, large)


class VonMises(Distribution):
    """``VonMises(loc, concentration)``: the circular normal on [-pi, pi) (samples by
    torch's rejection sampler, in float64)."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        (self.loc, self.concentration), shape = _params(loc, concentration)
        self._like = self.loc
        super().__init__(shape, (), validate_args)

    def log_prob(self, value):
        value = self._check_value(value)
        lp = self.concentration * F.cos(value - self.loc)
        return lp - math.log(2 * math.pi) - _log_modified_bessel_fn(self.concentration, 0)

    def _proposal_r(self, kappa):
        tau = 1 + F.sqrt(1 + 4 * kappa * kappa)
        rho = (tau - F.sqrt(2 * tau)) / (2 * kappa)
        r = (1 + rho * rho) / (2 * rho)
        return F.where(kappa < 1e-5, 1 / kappa + kappa, r)

    def sample(self, sample_shape=()):
        with no_grad():
            shape = self._extended_shape(sample_shape)
            loc = F.broadcast_to(self.loc.detach().to("float64"), shape)
            kappa = F.broadcast_to(self.concentration.detach().to("float64"), shape)
            r = self._proposal_r(kappa)
            x = C.zeros(shape, dtype="float64", device=self.loc.device)
            done = C.zeros(shape, dtype="bool", device=self.loc.device)
            while not _bool(done):
                u = C.rand(3, *shape, dtype="float64", device=self.loc.device)
                u1, u2, u3 = u[0], u[1], u[2]
                z = F.cos(math.pi * u1)
                f = (1 + r * z) / (r + z)
                c = kappa * (r - f)
                accept = ((c * (2 - c) - u2) > 0) | ((F.log(c / u2) + 1 - c) >= 0)
                accept = accept & ~done
                x = F.where(accept, F.sign(u3 - 0.5) * F.acos(F.clamp(f, -1.0, 1.0)), x)
                done = done | accept
            out = F.remainder(x + math.pi + loc, 2 * math.pi) - math.pi
            return out.to(self.loc.dtype)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        k = self.concentration
        return 1 - F.exp(_log_modified_bessel_fn(k, 1) - _log_modified_bessel_fn(k, 0))


class ContinuousBernoulli(ExponentialFamily):
    """``ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501))``: density
    C(p) p^x (1-p)^(1-x) on [0, 1] (Taylor expansions near p = 1/2, as torch)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        with no_grad():
            out = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = F.where(out, x, _full(x, self._lims[0] - 0.5))
        log_norm = F.log(F.abs(F.expm1(cut))) - F.log(F.abs(cut))
        taylor = 0.5 * x + x * x / 24.0 - x ** 4 / 2880.0
        return F.where(out, log_norm, taylor)

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ArgumentError("ContinuousBernoulli: either `probs` or `logits` must be "
                                "specified, but not both.")
        if probs is not None:
            p = _tensor(probs)
            if validate_args is not None and not _bool(
                    self.arg_constraints["probs"].check(p)):
                raise ArgumentError("ContinuousBernoulli: the parameter probs has invalid "
                                    "values")
            self.probs = _clamp_probs(p)
            q = self.probs
            self.logits = F.log(q) - F.log1p(-q)
            self._given = ("probs",)
        else:
            self.logits = _tensor(logits)
            self.probs = _clamp_probs(F.sigmoid(self.logits))
            self._given = ("logits",)
        self._lims = lims
        self._like = self.probs
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def param_shape(self):
        return self.probs.shape

    def _outside_unstable_region(self):
        with no_grad():
            return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        return F.where(self._outside_unstable_region(), self.probs,
                       _full(self.probs, self._lims[0]))

    def _cont_bern_log_norm(self):
        cut = self._cut_probs()
        with no_grad():
            le_half, ge_half = cut <= 0.5, cut >= 0.5
        below = F.where(le_half, cut, C.zeros_like(cut))
        above = F.where(ge_half, cut, C.ones_like(cut))
        log_norm = (F.log(F.abs(F.log1p(-cut) - F.log(cut)))
                    - F.where(le_half, F.log1p(-2.0 * below), F.log(2.0 * above - 1.0)))
        x = (self.probs - 0.5) * (self.probs - 0.5)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return F.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / (F.log1p(-cut) - F.log(cut))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x * x) * x
        return F.where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self):
        cut = self._cut_probs()
        d = F.log1p(-cut) - F.log(cut)
        vs = cut * (cut - 1.0) / ((1.0 - 2.0 * cut) * (1.0 - 2.0 * cut)) + 1.0 / (d * d)
        x = (self.probs - 0.5) * (self.probs - 0.5)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return F.where(self._outside_unstable_region(), vs, taylor)

    @property
    def stddev(self):
        return F.sqrt(self.variance)

    def sample(self, sample_shape=()):
        u = C.rand(*self._extended_shape(sample_shape), dtype=self.probs.dtype,
                   device=self.probs.device)
        with no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape=()):
        u = C.rand(*self._extended_shape(sample_shape), dtype=self.probs.dtype,
                   device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        value = self._check_value(value)
        shape = tuple(np.broadcast_shapes(tuple(self.logits.shape), tuple(value.shape)))
        lg, v = F.broadcast_to(self.logits, shape), F.broadcast_to(value, shape)
        return (-F.binary_cross_entropy_with_logits(lg, v, reduction="none")
                + self._cont_bern_log_norm())

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        cut = self._cut_probs()
        cdfs = ((F.pow(cut, value) * F.pow(1.0 - cut, 1.0 - value) + cut - 1.0)
                / (2.0 * cut - 1.0))
        unbounded = F.where(self._outside_unstable_region(), cdfs, value)
        return F.where(value <= 0.0, C.zeros_like(unbounded),
                       F.where(value >= 1.0, C.ones_like(unbounded), unbounded))

    def icdf(self, value):
        value = self._check_icdf(value)
        cut = self._cut_probs()
        inside = ((F.log1p(-cut + value * (2.0 * cut - 1.0)) - F.log1p(-cut))
                  / (F.log(cut) - F.log1p(-cut)))
        return F.where(self._outside_unstable_region(), inside, value)

    def entropy(self):
        lp0, lp1 = F.log1p(-self.probs), F.log(self.probs)
        return self.mean * (lp0 - lp1) - self._cont_bern_log_norm() - lp0


class LogitRelaxedBernoulli(Distribution):
    """``LogitRelaxedBernoulli(temperature, probs=None, logits=None)``: the logit of a
    RelaxedBernoulli sample (Concrete / Gumbel-softmax relaxation)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.probs, self.logits, given = _probs_logits(type(self).__name__, probs, logits,
                                                       True)
        self._given = (given,)
        self._like = self.probs
        self.temperature = _tensor(temperature, self.probs)
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def param_shape(self):
        return self.probs.shape

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        probs = _clamp_probs(F.broadcast_to(self.probs, shape))
        u = _clamp_probs(C.rand(*shape, dtype=probs.dtype, device=probs.device))
        return (F.log(u) - F.log1p(-u) + F.log(probs) - F.log1p(-probs)) / self.temperature

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape)

    def log_prob(self, value):
        value = self._check_value(value)
        diff = self.logits - value * self.temperature
        return F.log(self.temperature) + diff - 2 * F.log1p(F.exp(diff))


class RelaxedBernoulli(TransformedDistribution):
    """``RelaxedBernoulli(temperature, probs=None, logits=None)``: a relaxed Bernoulli on
    (0, 1), the sigmoid of a LogitRelaxedBernoulli."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class ExpRelaxedCategorical(Distribution):
    """``ExpRelaxedCategorical(temperature, probs=None, logits=None)``: the log of a
    RelaxedOneHotCategorical sample."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        self._like = self._categorical.probs
        self.temperature = _tensor(temperature, self._like)
        cat = self._categorical
        super().__init__(cat.batch_shape, cat.param_shape[-1:], validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        new._categorical = self._categorical.expand(_shape(batch_shape))
        return new

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def probs(self):
        return self._categorical.probs

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = _clamp_probs(C.rand(*shape, dtype=self.logits.dtype, device=self.logits.device))
        gumbels = -F.log(-F.log(u))
        scores = (self.logits + gumbels) / self.temperature
        return scores - F.logsumexp(scores, -1, keepdim=True)

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape)

    def log_prob(self, value):
        k = self._categorical._num_events
        value = self._check_value(value)
        t = self.temperature
        log_scale = math.lgamma(float(k)) + F.log(t) * (k - 1)
        score = self.logits - value * t
        score = (score - F.logsumexp(score, -1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    """``RelaxedOneHotCategorical(temperature, probs=None, logits=None)``: the
    Gumbel-softmax relaxation of a OneHotCategorical, on the simplex."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class LKJCholesky(Distribution):
    """``LKJCholesky(dim, concentration=1.0)``: the LKJ distribution of Cholesky factors of
    dim x dim correlation matrices (samples by torch's onion method)."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ArgumentError(f"LKJCholesky: expected dim to be an integer greater than or "
                                f"equal to 2. Found dim={dim}.")
        self.dim = int(dim)
        (self.concentration,), shape = _params(concentration)
        self._like = self.concentration
        c = self.concentration
        marginal = c + 0.5 * (self.dim - 2)
        offset = C.arange(self.dim - 1, dtype=c.dtype, device=c.device)
        offset = F.cat([C.zeros(1, dtype=c.dtype, device=c.device), offset])
        self._beta = Beta(offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset,
                          validate_args=False)
        super().__init__(shape, (self.dim, self.dim), validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = _shape(batch_shape)
        new = super().expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        return new

    def sample(self, sample_shape=()):
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u = F.tril(C.randn(*self._extended_shape(sample_shape), dtype=y.dtype,
                               device=y.device), -1)
            norm = F.sqrt((u * u).sum(-1, keepdims=True))
            u = u / F.where(norm == 0, C.ones_like(norm), norm)  # row 0 is all zeros
            w = F.sqrt(y) * u
            diag = F.sqrt(F.clamp(1 - (w * w).sum(-1), _tiny(w), None))
            return w + F.diag_embed(diag)

    def log_prob(self, value):
        value = self._check_value(value)
        diag = F.diagonal(value, 0, -2, -1)[..., 1:]
        order = C.arange(2, self.dim + 1, dtype=self.concentration.dtype,
                         device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnorm = (order * F.log(diag)).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = gammaln(alpha) * dm1
        numerator = multigammaln(alpha - 0.5, dm1)
        normalize = 0.5 * dm1 * math.log(math.pi) + numerator - denominator
        return unnorm - normalize


# ---------------------------------------------------------------- low-rank normal


def _batch_capacitance_tril(w, d):
    """Cholesky of I + W^T D^-1 W."""
    m = w.shape[-1]
    wt_dinv = w.transpose(-2, -1) / d.unsqueeze(-2)
    k = F.matmul(wt_dinv, w) + C.eye(m, dtype=w.dtype, device=w.device)
    return linalg.cholesky(k)


def _batch_lowrank_logdet(w, d, capacitance_tril):
    return (2 * F.log(F.diagonal(capacitance_tril, 0, -2, -1)).sum(-1)
            + F.log(d).sum(-1))


def _batch_lowrank_mahalanobis(w, d, x, capacitance_tril):
    wt_dinv = w.transpose(-2, -1) / d.unsqueeze(-2)
    wt_dinv_x = _batch_mv(wt_dinv, x)
    return (x * x / d).sum(-1) - _batch_mahalanobis(capacitance_tril, wt_dinv_x)


def _batch_trace_xxt(b):
    """trace(B B^T) of each matrix of a batch."""
    return (b * b).sum(-1).sum(-1)


class LowRankMultivariateNormal(Distribution):
    """``LowRankMultivariateNormal(loc, cov_factor, cov_diag)``: a normal with covariance
    cov_factor @ cov_factor^T + diag(cov_diag)."""

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        loc = _tensor(loc)
        cov_factor, cov_diag = _tensor(cov_factor, loc), _tensor(cov_diag, loc)
        if loc.ndim < 1:
            raise ArgumentError("LowRankMultivariateNormal: loc must be at least "
                                "one-dimensional.")
        ev = tuple(loc.shape[-1:])
        if cov_factor.ndim < 2:
            raise ArgumentError("LowRankMultivariateNormal: cov_factor must be at least "
                                "two-dimensional, with optional leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != ev:
            raise ShapeError(f"LowRankMultivariateNormal: cov_factor must be a batch of "
                             f"matrices with shape {ev[0]} x m")
        if tuple(cov_diag.shape[-1:]) != ev:
            raise ShapeError(f"LowRankMultivariateNormal: cov_diag must be a batch of "
                             f"vectors with shape {ev}")
        try:
            full = tuple(np.broadcast_shapes(tuple(loc.shape) + (1,), tuple(cov_factor.shape),
                                             tuple(cov_diag.shape) + (1,)))
        except ValueError:
            raise ShapeError(f"LowRankMultivariateNormal: incompatible batch shapes: loc "
                             f"{tuple(loc.shape)}, cov_factor {tuple(cov_factor.shape)}, "
                             f"cov_diag {tuple(cov_diag.shape)}") from None
        self.cov_factor = F.broadcast_to(cov_factor, full)
        self.loc = F.broadcast_to(loc, full[:-1])
        self.cov_diag = F.broadcast_to(cov_diag, full[:-1])
        self._like = self.loc
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _batch_capacitance_tril(cov_factor, cov_diag)
        super().__init__(full[:-2], ev, validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = _shape(batch_shape)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        ls = batch_shape + self._event_shape
        try:
            new.loc = F.broadcast_to(self.loc, ls)
            new.cov_diag = F.broadcast_to(self.cov_diag, ls)
            new.cov_factor = F.broadcast_to(self.cov_factor, ls + tuple(
                self.cov_factor.shape[-1:]))
        except ValueError:
            raise ShapeError(f"LowRankMultivariateNormal.expand: the batch shape "
                             f"{self._batch_shape} does not expand to {batch_shape}") from None
        new._like = new.loc
        new._batch_shape = batch_shape
        return new

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        w = self._unbroadcasted_cov_factor
        return F.broadcast_to((w * w).sum(-1) + self._unbroadcasted_cov_diag,
                              self._batch_shape + self._event_shape)

    @property
    def scale_tril(self):
        n = self._event_shape[0]
        dsqrt = F.sqrt(self._unbroadcasted_cov_diag).unsqueeze(-1)
        dw = self._unbroadcasted_cov_factor / dsqrt
        k = F.matmul(dw, dw.transpose(-2, -1)) + C.eye(n, dtype=dw.dtype, device=dw.device)
        return F.broadcast_to(dsqrt * linalg.cholesky(k),
                              self._batch_shape + self._event_shape + self._event_shape)

    @property
    def covariance_matrix(self):
        w = self._unbroadcasted_cov_factor
        cov = F.matmul(w, w.transpose(-2, -1)) + F.diag_embed(self._unbroadcasted_cov_diag)
        return F.broadcast_to(cov, self._batch_shape + self._event_shape + self._event_shape)

    @property
    def precision_matrix(self):
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        wt_dinv = w.transpose(-2, -1) / d.unsqueeze(-2)
        batch = tuple(np.broadcast_shapes(self._capacitance_tril.shape[:-2],
                                          wt_dinv.shape[:-2]))
        ct = F.broadcast_to(self._capacitance_tril,
                            batch + tuple(self._capacitance_tril.shape[-2:]))
        a = linalg.solve_triangular(ct, F.broadcast_to(wt_dinv, batch + tuple(
            wt_dinv.shape[-2:])), upper=False)
        prec = F.diag_embed(1.0 / d) - F.matmul(a.transpose(-2, -1), a)
        return F.broadcast_to(prec, self._batch_shape + self._event_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        w_shape = shape[:-1] + tuple(self.cov_factor.shape[-1:])
        eps_w = C.randn(*w_shape, dtype=self.loc.dtype, device=self.loc.device)
        eps_d = C.randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return (self.loc + _batch_mv(self._unbroadcasted_cov_factor, eps_w)
                + F.sqrt(self._unbroadcasted_cov_diag) * eps_d)

    def _log_det(self):
        return _batch_lowrank_logdet(self._unbroadcasted_cov_factor,
                                     self._unbroadcasted_cov_diag, self._capacitance_tril)

    def log_prob(self, value):
        value = self._check_value(value)
        m = _batch_lowrank_mahalanobis(self._unbroadcasted_cov_factor,
                                       self._unbroadcasted_cov_diag, value - self.loc,
                                       self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * LOG_2PI + self._log_det() + m)

    def entropy(self):
        h = 0.5 * (self._event_shape[0] * (1.0 + LOG_2PI) + self._log_det())
        return F.broadcast_to(h, self._batch_shape)


# ---------------------------------------------------------------- Wishart

_LOG_2 = math.log(2)


def _mvdigamma(x, p):
    """The multivariate digamma function: sum_i digamma(x - i/2), i < p."""
    offs = C.arange(p, dtype=x.dtype, device=x.device) / 2
    return digamma(x.unsqueeze(-1) - offs).sum(-1)


class Wishart(_TrilMatrices, ExponentialFamily):
    """``Wishart(df, covariance_matrix=None, precision_matrix=None, scale_tril=None)``:
    positive-definite p x p matrices, the scatter of ``df`` normal draws (Bartlett
    sampling, reparameterised through the chi-squared draws)."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @constraints.dependent_property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self._event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        from .multivariate import _precision_to_scale_tril
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if m is not None]
        if len(given) != 1:
            raise ArgumentError("Wishart: exactly one of covariance_matrix or "
                                "precision_matrix or scale_tril may be specified.")
        name, mat = given[0]
        mat = _tensor(mat)
        if mat.ndim < 2:
            raise ArgumentError("Wishart: scale_tril must be at least two-dimensional, with "
                                "optional leading batch dimensions")
        df = _tensor(df, mat)
        if df.dtype != mat.dtype:
            df = df.to(mat.dtype)
        try:
            batch = tuple(np.broadcast_shapes(tuple(mat.shape[:-2]), tuple(df.shape)))
        except ValueError:
            raise ShapeError(f"Wishart: df of shape {tuple(df.shape)} does not broadcast "
                             f"with {name} of shape {tuple(mat.shape)}") from None
        self.df = F.broadcast_to(df, batch)
        p = mat.shape[-1]
        if not _bool(self.df > p - 1):
            raise ArgumentError(f"Wishart: value of df={df.detach().numpy()!r} expected to be "
                                f"greater than ndim - 1 = {p - 1}.")
        self.__dict__[name] = F.broadcast_to(mat, batch + tuple(mat.shape[-2:]))
        self._given = ("df", name)
        self._like = self.df
        if _bool(self.df < p):
            import warnings
            warnings.warn("Low df values detected. Singular samples are highly likely to "
                          "occur for ndim - 1 < df < ndim.", stacklevel=2)
        super().__init__(batch, tuple(mat.shape[-2:]), validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = mat
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(mat)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(mat)
        self._make_chi2()

    def _make_chi2(self):
        from .continuous import Chi2
        p = self._event_shape[-1]
        offs = C.arange(p, dtype=self.df.dtype, device=self.df.device)
        self._dist_chi2 = Chi2(self.df.unsqueeze(-1) - offs, validate_args=False)

    def expand(self, batch_shape, _instance=None):
        batch_shape = _shape(batch_shape)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        cov_shape = batch_shape + self._event_shape
        try:
            new.df = F.broadcast_to(self.df, batch_shape)
            for n in ("covariance_matrix", "precision_matrix", "scale_tril"):
                if n in self.__dict__:
                    new.__dict__[n] = F.broadcast_to(self.__dict__[n], cov_shape)
        except ValueError:
            raise ShapeError(f"Wishart.expand: the batch shape {self._batch_shape} does not "
                             f"expand to {batch_shape}") from None
        new._like = new.df
        new._batch_shape = batch_shape
        new._make_chi2()
        return new

    def _full_shape(self, t):
        return F.broadcast_to(t, self._batch_shape + self._event_shape)

    def _df_mat(self, t):
        return t.reshape(self._batch_shape + (1, 1))

    @property
    def mean(self):
        return self._df_mat(self.df) * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self._event_shape[-1] - 1
        factor = _nan_where(factor <= 0, factor)
        return self._df_mat(factor) * self.covariance_matrix

    @property
    def variance(self):
        v = self.covariance_matrix
        d = F.diagonal(v, 0, -2, -1)
        return self._df_mat(self.df) * (v * v + d.unsqueeze(-1) * d.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape=()):
        from .transforms import vec_to_tril_matrix
        p = self._event_shape[-1]
        chi = self._dist_chi2.rsample(sample_shape)
        diag = F.clamp(F.sqrt(chi), _eps(chi), None)
        low = C.randn(*(_shape(sample_shape) + self._batch_shape + (p * (p - 1) // 2,)),
                      dtype=chi.dtype, device=chi.device)
        noise = F.diag_embed(diag) + vec_to_tril_matrix(low, diag=-1)
        chol = F.matmul(self._unbroadcasted_scale_tril, noise)
        return F.matmul(chol, chol.transpose(-2, -1))

    def rsample(self, sample_shape=(), max_try_correction=10):
        sample = self._bartlett_sampling(sample_shape)
        for _ in range(max_try_correction):  # redraw the (rare) singular ones, as torch
            with no_grad():
                bad = ~self.support.check(sample)
            if not _bool(~bad):
                import warnings
                warnings.warn("Singular sample detected.", stacklevel=2)
                new = self._bartlett_sampling(sample_shape)
                sample = F.where(bad.unsqueeze(-1).unsqueeze(-1), new, sample)
            else:
                break
        return sample

    def _half_log_det(self):
        return F.log(F.diagonal(self._unbroadcasted_scale_tril, 0, -2, -1)).sum(-1)

    def log_prob(self, value):
        value = self._check_value(value)
        nu = self.df
        p = self._event_shape[-1]
        lt = self._unbroadcasted_scale_tril
        batch = tuple(np.broadcast_shapes(tuple(lt.shape[:-2]), tuple(value.shape[:-2])))
        ltb = F.broadcast_to(lt, batch + (p, p))
        a = linalg.solve_triangular(ltb, F.broadcast_to(value, batch + (p, p)), upper=False)
        sol = linalg.solve_triangular(ltb.transpose(-2, -1), a, upper=True)  # (L L^T)^-1 V
        trace = F.diagonal(sol, 0, -2, -1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + self._half_log_det()) - multigammaln(nu / 2, p)
                + (nu - p - 1) / 2 * linalg.slogdet(value).logabsdet - trace / 2)

    def entropy(self):
        nu = self.df
        p = self._event_shape[-1]
        return ((p + 1) * (p * _LOG_2 / 2 + self._half_log_det()) + multigammaln(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self):
        p = self._event_shape[-1]
        return (-self.precision_matrix / 2, (self.df - p - 1) / 2)

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p)
                + multigammaln(y + (p + 1) / 2, p))
