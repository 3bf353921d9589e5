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

__all__ = ["standard_gamma", "standard_gamma_grad"]

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
        x = gen.standard_gamma(alpha.astype(np.float64)).astype(alpha.dtype)
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
