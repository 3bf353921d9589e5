"""``kl_divergence(p, q)`` and ``register_kl``: the closed forms torch registers between
the families here. The most specific registered pair wins (torch's rule), so a subclass
(``Chi2`` of ``Gamma``) uses its parent's formula unless it has its own."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import linalg
from ..core.gradmode import no_grad
from ..ops import creation as C
from ..special import digamma, gammaln, xlogy
from .base import ExponentialFamily, _sum_rightmost
from .continuous import (
    Beta,
    Cauchy,
    Dirichlet,
    Exponential,
    Gamma,
    Laplace,
    Normal,
    Uniform,
)
from .discrete import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from .extra import (
    ContinuousBernoulli,
    Gumbel,
    LowRankMultivariateNormal,
    Pareto,
    _batch_lowrank_logdet,
    _batch_lowrank_mahalanobis,
    _batch_trace_xxt,
)
from .multivariate import Independent, MultivariateNormal, _batch_mahalanobis
from .transforms import HalfNormal, TransformedDistribution

__all__ = ["kl_divergence", "register_kl"]

_KL: dict = {}


def register_kl(type_p, type_q):
    """Decorator: register ``fn(p, q)`` as the KL divergence of two distribution types."""
    def wrap(fn):
        _KL[(type_p, type_q)] = fn
        return fn
    return wrap


def _distance(cls, base):
    return cls.__mro__.index(base)


def kl_divergence(p, q):
    """KL(p || q) for a registered pair of distribution types (batch-shaped)."""
    tp, tq = type(p), type(q)
    matches = [(_distance(tp, a), _distance(tq, b), fn) for (a, b), fn in _KL.items()
               if issubclass(tp, a) and issubclass(tq, b)]
    if not matches:
        raise NotImplementedError(f"kl_divergence: no formula for {tp.__name__} and "
                                  f"{tq.__name__}")
    matches.sort(key=lambda m: (m[0] + m[1], m[0]))
    return matches[0][2](p, q)


def _inf_where(cond, value):
    return F.where(cond, C.full_like(value, math.inf), value)


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
    t = p.probs * (p.logits - q.logits)
    with no_grad():
        inf_q = F.broadcast_to(q.probs == 0, tuple(t.shape))
        zero_p = F.broadcast_to(p.probs == 0, tuple(t.shape))
    t = F.where(inf_q, C.full_like(t, math.inf), t)
    t = F.where(zero_p, C.zeros_like(t), t)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot(p, q):
    return _kl_categorical(p._categorical, q._categorical)


@register_kl(Exponential, Exponential)
def _kl_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - 1 - F.log(ratio)


@register_kl(Laplace, Laplace)
def _kl_laplace(p, q):
    ratio = p.scale / q.scale
    d = F.abs(p.loc - q.loc)
    return -F.log(ratio) + d / q.scale + ratio * F.exp(-d / p.scale) - 1


@register_kl(Uniform, Uniform)
def _kl_uniform(p, q):
    r = F.log((q.high - q.low) / (p.high - p.low))
    with no_grad():
        out = (q.low > p.low) | (q.high < p.high)
    return _inf_where(out, r)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy(p, q):
    d = p.loc - q.loc
    s = p.scale + q.scale
    return F.log(s * s + d * d) - F.log(4 * p.scale * q.scale)


@register_kl(Gamma, Gamma)
def _kl_gamma(p, q):
    t1 = q.concentration * F.log(p.rate / q.rate)
    t2 = gammaln(q.concentration) - gammaln(p.concentration)
    t3 = (p.concentration - q.concentration) * digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Beta, Beta)
def _kl_beta(p, q):
    sp = p.concentration1 + p.concentration0
    sq = q.concentration1 + q.concentration0
    t1 = gammaln(q.concentration1) + gammaln(q.concentration0) + gammaln(sp)
    t2 = gammaln(p.concentration1) + gammaln(p.concentration0) + gammaln(sq)
    t3 = (p.concentration1 - q.concentration1) * digamma(p.concentration1)
    t4 = (p.concentration0 - q.concentration0) * digamma(p.concentration0)
    t5 = (sq - sp) * digamma(sp)
    return t1 - t2 + t3 + t4 + t5


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet(p, q):
    sp = p.concentration.sum(-1)
    sq = q.concentration.sum(-1)
    t1 = gammaln(sp) - gammaln(sq)
    t2 = (gammaln(p.concentration) - gammaln(q.concentration)).sum(-1)
    t3 = p.concentration - q.concentration
    t4 = digamma(p.concentration) - digamma(sp).unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)


@register_kl(Poisson, Poisson)
def _kl_poisson(p, q):
    return p.rate * (F.log(p.rate) - F.log(q.rate)) - (p.rate - q.rate)


@register_kl(Geometric, Geometric)
def _kl_geometric(p, q):
    return -p.entropy() - F.log1p(-q.probs) / p.probs - q.logits


@register_kl(Binomial, Binomial)
def _kl_binomial(p, q):
    with no_grad():
        if bool((p.total_count < q.total_count).any().item()):
            raise NotImplementedError("kl_divergence: KL between Binomials where "
                                      "q.total_count > p.total_count is not implemented")
        more = p.total_count > q.total_count
    kl = p.total_count * (p.probs * (p.logits - q.logits) + F.log1p(-p.probs)
                          - F.log1p(-q.probs))
    return _inf_where(more, kl)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal(p, q):
    return _kl_normal(p.base_dist, q.base_dist)


@register_kl(Independent, Independent)
def _kl_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("kl_divergence: Independent distributions of different "
                                  "reinterpreted_batch_ndims")
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist),
                          p.reinterpreted_batch_ndims)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed(p, q):
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError("kl_divergence: TransformedDistributions with different "
                                  "transforms or event shapes")
    return kl_divergence(p.base_dist, q.base_dist)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different "
                         "event shapes cannot be computed")
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = (F.log(F.diagonal(lq, 0, -2, -1)).sum(-1)
                  - F.log(F.diagonal(lp, 0, -2, -1)).sum(-1))
    n = p.event_shape[0]
    batch = tuple(np.broadcast_shapes(lq.shape[:-2], lp.shape[:-2]))
    sol = linalg.solve_triangular(F.broadcast_to(lq, batch + (n, n)),
                                  F.broadcast_to(lp, batch + (n, n)), upper=False)
    term2 = (sol * sol).sum(-1).sum(-1)
    term3 = _batch_mahalanobis(lq, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - n)


# ---------------------------------------------------------------- across families (torch's)

_EULER = 0.57721566490153286060


def _x_log_x(t):
    return xlogy(t, t)


def _infinite(p_param):
    return C.full_like(p_param, math.inf)


def _register_all(pairs, fn):
    for a, b in pairs:
        register_kl(a, b)(fn)


# q's support misses part of p's: infinite, as torch
_register_all([(Exponential, Beta), (Exponential, Uniform)], lambda p, q: _infinite(p.rate))
_register_all([(Gamma, Beta), (Gamma, Uniform)], lambda p, q: _infinite(p.concentration))
_register_all([(Laplace, Beta), (Laplace, Exponential), (Laplace, Gamma), (Laplace, Uniform),
               (Normal, Beta), (Normal, Exponential), (Normal, Gamma), (Normal, Uniform)],
              lambda p, q: _infinite(p.loc))
_register_all([(Poisson, Bernoulli), (Poisson, Binomial)], lambda p, q: _infinite(p.rate))


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * F.log(q.rate) - q.rate)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return (-p.entropy() - F.log(q.rate)
            + q.rate * (p.concentration1 / (p.concentration1 + p.concentration0)))


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    t1 = -p.entropy()
    t2 = gammaln(q.concentration) - q.concentration * F.log(q.rate)
    t3 = (q.concentration - 1) * (digamma(p.concentration1)
                                  - digamma(p.concentration1 + p.concentration0))
    t4 = q.rate * p.concentration1 / (p.concentration1 + p.concentration0)
    return t1 + t2 - t3 + t4


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    e = p.concentration1 / (p.concentration1 + p.concentration0)
    var = q.scale * q.scale
    t1 = -p.entropy()
    t2 = 0.5 * F.log(var * 2 * math.pi)
    t3 = (e * (1 - e) / (p.concentration1 + p.concentration0 + 1) + e * e) * 0.5
    t4 = q.loc * e
    t5 = q.loc * q.loc * 0.5
    return t1 + t2 + (t3 - t4 + t5) / var


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    r = -p.entropy() + F.log(q.high - q.low)
    with no_grad():
        out = (q.low > 0) | (q.high < 1)
    return _inf_where(F.broadcast_to(out, tuple(r.shape)), r)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    ratio = q.rate / p.rate
    t1 = -q.concentration * F.log(ratio)
    return t1 + ratio + gammaln(q.concentration) + q.concentration * _EULER - (1 + _EULER)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    var = q.scale * q.scale
    rate2 = p.rate * p.rate
    t1 = 0.5 * F.log(rate2 * var * 2 * math.pi)
    return t1 - 1 + (1 / rate2 - q.loc / p.rate + q.loc * q.loc * 0.5) / var


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - F.log(q.rate) + q.rate * p.concentration / p.rate


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    var = q.scale * q.scale
    b2 = p.rate * p.rate
    a = p.concentration
    t1 = 0.5 * F.log(b2 * var * 2 * math.pi) - a - gammaln(a)
    t2 = 0.5 * (a * a + a) / b2
    t3 = q.loc * a / p.rate
    t4 = 0.5 * q.loc * q.loc
    return t1 + (a - 1) * digamma(a) + (t2 - t3 + t4) / var


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    var = q.scale * q.scale
    ratio = p.scale * p.scale / var
    t1 = 0.5 * F.log(2 * ratio / math.pi)
    t2 = 0.5 * p.loc * p.loc
    t3 = p.loc * q.loc
    t4 = 0.5 * q.loc * q.loc
    return -t1 + ratio + (t2 - t3 + t4) / var - 1


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    d = p.loc - q.loc
    ratio = p.scale / q.scale
    dr = d / p.scale
    t1 = F.log(ratio)
    t2 = math.sqrt(2 / math.pi) * p.scale * F.exp(-0.5 * dr * dr)
    t3 = d * F.erf(math.sqrt(0.5) * dr)
    return -t1 + (t2 + t3) / q.scale - (0.5 * (1 + math.log(0.5 * math.pi)))


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    w = p.high - p.low
    t1 = F.log(w)
    t2 = (q.concentration1 - 1) * (_x_log_x(p.high) - _x_log_x(p.low) - w) / w
    t3 = (q.concentration0 - 1) * (_x_log_x(1 - p.high) - _x_log_x(1 - p.low) + w) / w
    t4 = (gammaln(q.concentration1) + gammaln(q.concentration0)
          - gammaln(q.concentration1 + q.concentration0))
    r = t3 + t4 - t1 - t2
    with no_grad():
        out = (p.high > 1) | (p.low < 0)
    return _inf_where(F.broadcast_to(out, tuple(r.shape)), r)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    r = q.rate * (p.high + p.low) / 2 - F.log((p.high - p.low) * q.rate)
    with no_grad():
        out = p.low < 0
    return _inf_where(F.broadcast_to(out, tuple(r.shape)), r)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    w = p.high - p.low
    t1 = F.log(w)
    t2 = gammaln(q.concentration) - q.concentration * F.log(q.rate)
    t3 = (1 - q.concentration) * (_x_log_x(p.high) - _x_log_x(p.low) - w) / w
    t4 = q.rate * (p.high + p.low) / 2
    r = -t1 + t2 + t3 + t4
    with no_grad():
        out = p.low < 0
    return _inf_where(F.broadcast_to(out, tuple(r.shape)), r)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    w = p.high - p.low
    t1 = F.log(math.sqrt(math.pi * 2) * q.scale / w)
    t2 = w * w / 12
    m = (p.high + p.low - 2 * q.loc) / 2
    return t1 + 0.5 * (t2 + m * m) / (q.scale * q.scale)


# ---------------------------------------------------------------- the rest of torch's pairs

_register_all([(Beta, Pareto)], lambda p, q: _infinite(p.concentration1))
_register_all([(ContinuousBernoulli, Pareto)], lambda p, q: _infinite(p.probs))
_register_all([(Exponential, ContinuousBernoulli), (Exponential, Pareto)],
              lambda p, q: _infinite(p.rate))
_register_all([(Gamma, ContinuousBernoulli), (Gamma, Pareto)],
              lambda p, q: _infinite(p.concentration))
_register_all([(Gumbel, Beta), (Gumbel, ContinuousBernoulli), (Gumbel, Exponential),
               (Gumbel, Gamma), (Gumbel, Pareto), (Gumbel, Uniform),
               (Laplace, ContinuousBernoulli), (Laplace, Pareto),
               (Normal, ContinuousBernoulli), (Normal, Pareto)],
              lambda p, q: _infinite(p.loc))
_register_all([(Pareto, Beta), (Pareto, ContinuousBernoulli), (Pareto, Uniform)],
              lambda p, q: _infinite(p.scale))


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p, q):
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + F.log1p(-p.probs)
    t3 = -q._cont_bern_log_norm() - F.log1p(-q.probs)
    return t1 + t2 + t3


@register_kl(Gumbel, Gumbel)
def _kl_gumbel(p, q):
    ct1 = p.scale / q.scale
    ct2 = q.loc / q.scale
    ct3 = p.loc / q.scale
    t1 = -F.log(ct1) - ct2 + ct3
    t2 = ct1 * _EULER
    t3 = F.exp(ct2 + gammaln(1 + ct1) - ct3)
    return t1 + t2 + t3 - (1 + _EULER)


@register_kl(Pareto, Pareto)
def _kl_pareto(p, q):
    scale_ratio = p.scale / q.scale
    alpha_ratio = q.alpha / p.alpha
    r = q.alpha * F.log(scale_ratio) - F.log(alpha_ratio) + alpha_ratio - 1
    with no_grad():
        out = F.broadcast_to(p.scale < q.scale, tuple(r.shape))
    return _inf_where(out, r)


def _lowrank_parts(q):
    return q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, q._capacitance_tril


def _solve_lower(a, b):
    batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    return linalg.solve_triangular(F.broadcast_to(a, batch + tuple(a.shape[-2:])),
                                   F.broadcast_to(b, batch + tuple(b.shape[-2:])), upper=False)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Low Rank Multivariate Normals with "
                         "different event shapes cannot be computed")
    qw, qd, qc = _lowrank_parts(q)
    pw, pd, pc = _lowrank_parts(p)
    term1 = _batch_lowrank_logdet(qw, qd, qc) - _batch_lowrank_logdet(pw, pd, pc)
    term3 = _batch_lowrank_mahalanobis(qw, qd, q.loc - p.loc, qc)
    a = _solve_lower(qc, qw.transpose(-2, -1) / qd.unsqueeze(-2))
    term21 = (pd / qd).sum(-1)
    term22 = _batch_trace_xxt(pw * F.rsqrt(qd).unsqueeze(-1))
    term23 = _batch_trace_xxt(a * F.sqrt(pd).unsqueeze(-2))
    term24 = _batch_trace_xxt(F.matmul(a, pw))
    return 0.5 * (term1 + term21 + term22 - term23 - term24 + term3 - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with "
                         "different event shapes cannot be computed")
    qw, qd, qc = _lowrank_parts(q)
    lp = p._unbroadcasted_scale_tril
    term1 = (_batch_lowrank_logdet(qw, qd, qc)
             - 2 * F.log(F.diagonal(lp, 0, -2, -1)).sum(-1))
    term3 = _batch_lowrank_mahalanobis(qw, qd, q.loc - p.loc, qc)
    a = _solve_lower(qc, qw.transpose(-2, -1) / qd.unsqueeze(-2))
    term21 = _batch_trace_xxt(lp * F.rsqrt(qd).unsqueeze(-1))
    term22 = _batch_trace_xxt(F.matmul(a, lp))
    return 0.5 * (term1 + term21 - term22 + term3 - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with "
                         "different event shapes cannot be computed")
    pw, pd, pc = _lowrank_parts(p)
    lq = q._unbroadcasted_scale_tril
    term1 = 2 * F.log(F.diagonal(lq, 0, -2, -1)).sum(-1) - _batch_lowrank_logdet(pw, pd, pc)
    term3 = _batch_mahalanobis(lq, q.loc - p.loc)
    term21 = _batch_trace_xxt(_solve_lower(lq, pw))
    term22 = _batch_trace_xxt(_solve_lower(lq, F.diag_embed(F.sqrt(pd))))
    return 0.5 * (term1 + term21 + term22 + term3 - p.event_shape[0])


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_cb(p, q):
    return -p.entropy() - p.mean * q.logits - F.log1p(-q.probs) - q._cont_bern_log_norm()


@register_kl(ContinuousBernoulli, Exponential)
def _kl_cb_exponential(p, q):
    return -p.entropy() - F.log(q.rate) + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_cb_normal(p, q):
    t1 = -p.entropy()
    t2 = 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale) ** 2) + F.log(q.scale)
    t3 = (p.variance + p.mean * p.mean - 2.0 * q.loc * p.mean) / (2.0 * q.scale * q.scale)
    return t1 + t2 + t3


@register_kl(ContinuousBernoulli, Uniform)
def _kl_cb_uniform(p, q):
    r = -p.entropy() + F.log(q.high - q.low)
    with no_grad():
        out = F.broadcast_to((q.low >= 0) | (q.high <= 1), tuple(r.shape))
    return _inf_where(out, r)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    srp = p.rate * q.scale
    lsr = q.loc / q.scale
    return F.log(srp) - 1 - lsr + F.exp(lsr) * srp / (srp + 1) + 1.0 / srp


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    bsp = p.rate * q.scale
    lsr = q.loc / q.scale
    a = p.concentration
    t1 = (a - 1) * digamma(a) - gammaln(a) - a
    t2 = F.log(bsp) + a / bsp
    t3 = F.exp(lsr) * F.pow(1 + 1.0 / bsp, -a) - lsr
    return t1 + t2 + t3


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    ratio = p.scale / q.scale
    t1 = F.log(ratio / math.sqrt(2 * math.pi))
    t2 = (math.pi * ratio * 0.5) ** 2 / 3
    t3 = ((p.loc + p.scale * _EULER - q.loc) / q.scale) ** 2 * 0.5
    return -t1 + t2 + t3 - (_EULER + 1)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    msr = p.loc / q.scale
    vsr = (p.scale / q.scale) ** 2
    lsr = q.loc / q.scale
    t1 = F.log(vsr) * 0.5
    t2 = msr - lsr
    t3 = F.exp(-msr + 0.5 * vsr + lsr)
    return -t1 + t2 + t3 - 0.5 * (1 + math.log(2 * math.pi))


def _inf_below(cond, r):
    with no_grad():
        cond = F.broadcast_to(cond, tuple(r.shape))
    return _inf_where(cond, r)


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    srp = p.scale * q.rate
    r = F.log(p.alpha / srp) - 1.0 / p.alpha + p.alpha * srp / (p.alpha - 1) - 1
    return _inf_below(p.alpha <= 1, r)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    common = F.log(p.scale) + 1.0 / p.alpha
    t1 = F.log(p.alpha) - common
    t2 = gammaln(q.concentration) - q.concentration * F.log(q.rate)
    t3 = (1 - q.concentration) * common
    t4 = q.rate * p.alpha * p.scale / (p.alpha - 1)
    return _inf_below(p.alpha <= 1, t1 + t2 + t3 + t4 - 1)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    var = 2 * q.scale * q.scale
    common = p.scale / (p.alpha - 1)
    t1 = F.log(math.sqrt(2 * math.pi) * q.scale * p.alpha / p.scale)
    t2 = 1.0 / p.alpha
    t3 = p.alpha * common * common / (p.alpha - 2)
    t4 = (p.alpha * common - q.loc) ** 2
    return _inf_below(p.alpha <= 2, t1 - t2 + (t3 + t4) / var - 1)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_cb(p, q):
    r = -p.entropy() - p.mean * q.logits - F.log1p(-q.probs) - q._cont_bern_log_norm()
    return _inf_below((p.high >= 1) | (p.low <= 0), r)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    common = q.scale / (p.high - p.low)
    hi = (p.high - q.loc) / q.scale
    lo = (p.low - q.loc) / q.scale
    t1 = F.log(common) + 0.5 * (hi + lo)
    t2 = common * (F.exp(-hi) - F.exp(-lo))
    return t1 - t2


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    w = p.high - p.low
    t1 = F.log(q.alpha * F.pow(q.scale, q.alpha) * w)
    t2 = (_x_log_x(p.high) - _x_log_x(p.low) - w) / w
    return _inf_below(p.low < q.scale, t2 * (q.alpha + 1) - t1)



@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily(p, q):
    """The Bregman divergence of the log-normaliser, for two of one family (torch's)."""
    if type(p) is not type(q):
        raise NotImplementedError(f"kl_divergence: no formula for {type(p).__name__} and "
                                  f"{type(q).__name__} (the cross KL-divergence between "
                                  "different exponential families cannot be computed using "
                                  "Bregman divergences)")
    from ..autograd import grad
    p_nparams = [t.detach().requires_grad_() for t in p._natural_params]
    q_nparams = q._natural_params
    lg_normal = p._log_normalizer(*p_nparams)
    gradients = grad(lg_normal.sum(), p_nparams, create_graph=True)
    result = q._log_normalizer(*q_nparams) - lg_normal
    for pnp, qnp, g in zip(p_nparams, q_nparams, gradients):
        result = result - _sum_rightmost((qnp - pnp) * g, len(q.event_shape))
    return result
