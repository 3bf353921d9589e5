"""Op family: the samplers behind ``ge.distributions`` that need more than a uniform or a
normal draw -- ``standard_gamma`` (Gamma(alpha, 1) draws, reparameterised by implicit
differentiation as torch's ``_standard_gamma``) and its gradient ``standard_gamma_grad``.

The gradient of a gamma sample x with respect to its shape alpha holds the sample's
quantile fixed: dx/dalpha = -(dF(x; alpha)/dalpha) / f(x; alpha) (Figurnov et al. 2018,
"Implicit Reparameterization Gradients"). ``standard_gamma_grad`` computes it as PyTorch
does (``standard_gamma_grad_one`` in ATen's Distributions.h: a Taylor series for small x,
Rice's saddle-point expansion for large alpha, Jankowiak and Obermeyer's bivariate
rational approximation between), so the gradients equal torch's for the same sample. The
gradient is once differentiable, as torch's (its own gradient raises).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, GraphError
from .special_math import digamma_ref

__all__ = ["standard_gamma", "standard_gamma_grad", "sample_dirichlet", "dirichlet_grad"]

_RATIONAL = np.array([
    [0.16009398, -0.094634809, 0.025146376, -0.0030648343,
     1, 0.32668115, 0.10406089, 0.0014179084],
    [0.53487893, 0.1298071, 0.065735949, -0.0015649758,
     0.16639465, 0.020070113, -0.0035938915, -0.00058392623],
    [0.040121004, -0.0065914022, -0.0026286047, -0.0013441777,
     0.017050642, -0.0021309326, 0.00085092367, -1.5247877e-07]])


def standard_gamma_grad_ref(xp, alpha, x):
    """dx/dalpha of a Gamma(alpha, 1) sample x at fixed quantile (torch's three regimes)."""
    alpha = alpha.astype(np.float64)
    x = x.astype(np.float64)
    # small x: Taylor series of the incomplete gamma function
    xs = xp.where(x < 0.8, x, 0.5)
    numer = xp.ones_like(xs)
    denom = alpha.copy()
    s1 = numer / denom
    s2 = numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-xs / i)
        denom = denom + 1
        s1 = s1 + numer / denom
        s2 = s2 + numer / (denom * denom)
    pow_xa = xs ** alpha
    pdf = xs ** (alpha - 1) * xp.exp(-xs)
    cdf_alpha = (xp.log(xs) - digamma_ref(xp, alpha)) * pow_xa * s1 - pow_xa * s2
    small = -cdf_alpha / pdf
    small = xp.where(xp.isnan(small), 0.0, small)
    # large alpha: Rice's saddle-point expansion
    a = xp.where(alpha > 8.0, alpha, 9.0)
    near = (0.9 * a <= x) & (x <= 1.1 * a)
    n1 = 1 + 24 * a * (1 + 12 * a)
    n2 = 1440 * (a * a) + 6 * x * (53 - 120 * x) - 65 * x * x / a + a * (107 + 3600 * x)
    near_val = n1 * n2 / (1244160 * (a * a) * (a * a))
    xf = xp.where(near | (x <= 0), a * 0.5, x)  # keeps the far branch finite where unused
    den = xp.sqrt(8 * a)
    t2 = den / (a - xf)
    t3 = (xf - a - a * xp.log(xf / a)) ** -1.5
    t23 = xp.where(xf < a, t2 - t3, t2 + t3)
    t1 = xp.log(xf / a) * t23 - xp.sqrt(2 / a) * (a + xf) / ((a - xf) * (a - xf))
    stirling = 1 + 1 / (12 * a) * (1 + 1 / (24 * a))
    far_val = -stirling * (xf * t1) / den
    large = xp.where(near, near_val, far_val)
    # between: the bivariate rational approximation
    xm = xp.where(x > 0, x, 1.0)
    u = xp.log(xm / alpha)
    v = xp.log(alpha)
    c = [_RATIONAL[0, i] + u * (_RATIONAL[1, i] + u * _RATIONAL[2, i]) for i in range(8)]
    p = c[0] + v * (c[1] + v * (c[2] + v * c[3]))
    q = c[4] + v * (c[5] + v * (c[6] + v * c[7]))
    mid = xp.exp(p / q)
    return xp.where(x < 0.8, small, xp.where(alpha > 8.0, large, mid))


@op(name="standard_gamma_grad", differentiable=False, quiet=True)
def standard_gamma_grad(xp, alpha, x):
    """dx/dalpha of Gamma(alpha, 1) samples x (PyTorch's ``_standard_gamma_grad``)."""
    return standard_gamma_grad_ref(xp, alpha, x).astype(x.dtype, copy=False)


def _no_second_order(g, alpha):
    raise GraphError("standard_gamma: the gradient of a gamma sample is differentiable "
                        "once only (as torch's _standard_gamma_grad)")


@op(name="standard_gamma_grad_diff", save=("alpha", "x"), quiet=True)
def _gamma_grad_once(xp, alpha, x):
    return standard_gamma_grad_ref(xp, alpha, x).astype(x.dtype, copy=False)


_gamma_grad_once.defvjp(_no_second_order, _no_second_order)


@op(name="standard_gamma", save=("alpha", "out"), random=True, quiet=True)
def standard_gamma_op(xp, alpha):
    """Gamma(alpha, 1) draws from the seeded generator, at least the smallest normal
    float (as torch clamps them); d/dalpha by implicit reparameterisation."""
    dev = backend.device_of_array(alpha)
    gen = backend.rng(dev)
    with backend.cuda_context(dev):
        x = xp.asarray(gen.standard_gamma(alpha.astype(np.float64))).astype(alpha.dtype)
    return xp.maximum(x, np.finfo(alpha.dtype).tiny)


standard_gamma_op.defvjp(lambda g, alpha, out: g * apply(_gamma_grad_once, alpha, out))


def standard_gamma(alpha: Tensor) -> Tensor:
    """Gamma(alpha, 1) samples of alpha's shape and dtype (``torch._standard_gamma``),
    differentiable in alpha.

    Raises:
        ArgumentError: a non-floating alpha.
    """
    if alpha.dtype.kind != "f":
        raise ArgumentError(f"standard_gamma: expects a floating tensor of concentrations, "
                            f"got dtype {alpha.dtype.name} (shape {tuple(alpha.shape)})")
    return apply(standard_gamma_op, alpha)


# ---------------------------------------------------------------- Dirichlet (and Beta)

_DIRICHLET_RATIONAL = np.array([
    [[[1.003668233, -0.01061107488, -0.0657888334, 0.01201642863],
      [0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033],
      [-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013]],
     [[0.221950385, -0.3187676331, 0.01799915743, 0.01074823814],
      [-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057],
      [0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05]],
     [[-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565],
      [0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181],
      [0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05]]],
    [[[1, -0.02924021934, -0.04438342661, 0.007285809825],
      [0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521],
      [-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149]],
     [[0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273],
      [0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956],
      [-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05]],
     [[0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05],
      [0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05],
      [-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06]]]])


def _nan_to_zero(xp, v):
    return xp.where(xp.isnan(v), 0.0, v)


def _beta_grad_alpha_small(xp, x, alpha, beta):
    factor = digamma_ref(xp, alpha) - digamma_ref(xp, alpha + beta) - xp.log(x)
    numer = xp.ones_like(x)
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * (i - beta) * x / i
        denom = alpha + i
        series = series + numer / denom * (factor + 1 / denom)
    return _nan_to_zero(xp, x * (1 - x) ** (-beta) * series)


def _beta_grad_beta_small(xp, x, alpha, beta):
    factor = digamma_ref(xp, alpha + beta) - digamma_ref(xp, beta)
    numer, betas, dbetas = xp.ones_like(x), xp.ones_like(x), xp.zeros_like(x)
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    return _nan_to_zero(xp, -(1 - x) ** (1 - beta) * series)


def _beta_grad_alpha_mid(xp, x, alpha, beta):
    total = alpha + beta
    mean = alpha / total
    std = xp.sqrt(alpha * beta / (total + 1)) / total
    b2 = beta * beta
    poly = 47 * x * b2 * b2 + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * b2 * beta + alpha * (
            3 * (59 + 180 * beta - 90 * x) * b2 + alpha * (
                (453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (
                    8 * (1 - x) * (135 * beta - 11)))))
    pre_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    pre_den = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    near = pre_num / (1 - x) * poly / pre_den
    prefactor = -x / xp.sqrt(2 * alpha * beta / total)
    stirling = ((1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha))
                * (1 + 1 / (12 * beta) + 1 / (288 * beta * beta))
                / (1 + 1 / (12 * total) + 1 / (288 * total * total)))
    t1_num = 2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * b2
    axbx = alpha * (x - 1) + beta * x
    t1 = t1_num / (xp.sqrt(2 * alpha / beta) * total ** 1.5 * axbx * axbx)
    t2 = 0.5 * xp.log(alpha / (total * x))
    t3 = xp.sqrt(8 * alpha * beta / total) / (beta * x + alpha * (x - 1))
    t4 = (beta * xp.log(beta / (total * (1 - x))) + alpha * xp.log(alpha / (total * x))) ** -1.5
    far = stirling * prefactor * (t1 + t2 * (t3 + xp.where(x < mean, t4, -t4)))
    return xp.where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), near, far)


def dirichlet_grad_ref(xp, x, alpha, total):
    """PyTorch's ``dirichlet_grad_one``: -(d/dalpha of Beta(alpha, total - alpha)'s CDF at
    x) / its density / (1 - x), by its four regimes."""
    x, alpha, total = (v.astype(np.float64) for v in xp.broadcast_arrays(x, alpha, total))
    beta = total - alpha
    boundary = total * x * (1 - x)
    small = (x <= 0.5) & (boundary < 2.5)
    large = (x >= 0.5) & (boundary < 0.75)
    mid = (alpha > 6) & (beta > 6)
    c = _DIRICHLET_RATIONAL
    u = xp.log(x)
    a = xp.log(alpha) - u
    b = xp.log(total) - a
    p = xp.zeros_like(x)
    q = xp.zeros_like(x)
    for i, pu in enumerate((1.0, u, u * u)):
        for j, pa in enumerate((1.0, a, a * a)):
            ua = pu * pa
            p = p + ua * (c[0, i, j, 0] + b * (c[0, i, j, 1] + b * (c[0, i, j, 2]
                                                                 + b * c[0, i, j, 3])))
            q = q + ua * (c[1, i, j, 0] + b * (c[1, i, j, 1] + b * (c[1, i, j, 2]
                                                                 + b * c[1, i, j, 3])))
    approx = x * (digamma_ref(xp, total) - digamma_ref(xp, alpha)) / beta
    out = xp.where(mid, _beta_grad_alpha_mid(xp, x, alpha, beta), p / q * approx)
    out = xp.where(large, -_beta_grad_beta_small(xp, 1 - x, beta, alpha), out)
    return xp.where(small, _beta_grad_alpha_small(xp, x, alpha, beta), out)


@op(name="dirichlet_grad", differentiable=False, quiet=True)
def dirichlet_grad(xp, x, alpha, total):
    """PyTorch's ``_dirichlet_grad(x, alpha, total)``."""
    return dirichlet_grad_ref(xp, x, alpha, total).astype(x.dtype, copy=False)


@op(name="dirichlet_grad_diff", save=("x", "alpha", "total"), quiet=True)
def _dirichlet_grad_once(xp, x, alpha, total):
    return dirichlet_grad_ref(xp, x, alpha, total).astype(x.dtype, copy=False)


_dirichlet_grad_once.defvjp(_no_second_order, _no_second_order, _no_second_order)


@op(name="sample_dirichlet", save=("concentration", "out"), random=True, quiet=True)
def sample_dirichlet_op(xp, concentration):
    """Dirichlet draws over the last axis (normalised gamma draws, clamped into
    [tiny, 1 - eps] as torch's ``_sample_dirichlet``); d/dconcentration by torch's
    ``_dirichlet_grad``."""
    dev = backend.device_of_array(concentration)
    gen = backend.rng(dev)
    with backend.cuda_context(dev):
        g = xp.asarray(gen.standard_gamma(concentration.astype(np.float64)))
    g = xp.maximum(g, np.finfo(np.float64).tiny)
    x = (g / g.sum(-1, keepdims=True)).astype(concentration.dtype)
    fi = np.finfo(concentration.dtype)
    return xp.clip(x, fi.tiny, 1 - fi.eps)


def _dirichlet_vjp(g, concentration, out):
    total = concentration.sum(-1, keepdims=True) + concentration * 0
    grad = apply(_dirichlet_grad_once, out, concentration, total)
    return grad * (g - (out * g).sum(-1, keepdims=True))


sample_dirichlet_op.defvjp(_dirichlet_vjp)


def sample_dirichlet(concentration: Tensor) -> Tensor:
    """Dirichlet(concentration) samples of its shape (``torch._sample_dirichlet``),
    differentiable in the concentration as torch's ``Dirichlet.rsample``.

    Raises:
        ArgumentError: a non-floating or 0-d concentration.
    """
    if concentration.dtype.kind != "f" or concentration.ndim < 1:
        raise ArgumentError(f"sample_dirichlet: expects a floating tensor of at least one "
                            f"dimension, got dtype {concentration.dtype.name} and shape "
                            f"{tuple(concentration.shape)}")
    return apply(sample_dirichlet_op, concentration)
