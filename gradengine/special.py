"""``torch.special``: ``ge.special.erfcx``, ``ndtri``, ``i1e``, ``zeta`` ... PyTorch's names,
argument order and defaults; each function is differentiable (zeta in its second argument,
as torch). The functions live in :mod:`gradengine.ops.special_math`, with the rest of
PyTorch's math.
"""

from __future__ import annotations

from .ops import activations as _act
from .ops import math as _math
from .ops.composite import xlogy
from .ops.scans import logsumexp as _logsumexp
from .ops.special_math import (
    _float,
    _float_pair,
    digamma,
    entr,
    erfc,
    erfcx,
    erfinv,
    i0,
    i0e,
    i1,
    i1e,
    log_ndtr,
    logit,
    ndtr,
    ndtri,
    polygamma,
    sinc,
    xlog1py,
    zeta,
)
from .ops.special_math import lgamma as gammaln
from .ops.special_math import mvlgamma as multigammaln

psi = digamma

__all__ = [
    "expit", "logit", "erf", "erfc", "erfinv", "erfcx", "log_ndtr", "ndtr", "ndtri", "gammaln",
    "digamma", "psi", "polygamma", "multigammaln", "i0", "i0e", "i1", "i1e", "sinc", "round",
    "log1p", "expm1", "exp2", "logsumexp", "softmax", "log_softmax", "xlogy", "xlog1py",
    "entr", "zeta",
]


def expit(input):  # noqa: A002 - torch's names
    """The logistic sigmoid 1 / (1 + e^-x)."""
    return _act.sigmoid(_float(input))


def erf(input):  # noqa: A002
    """The error function."""
    return _math.erf(_float(input))


def log1p(input):  # noqa: A002
    """ln(1 + x)."""
    return _math.log1p(_float(input))


def expm1(input):  # noqa: A002
    """e^x - 1."""
    return _math.expm1(_float(input))


def exp2(input):  # noqa: A002
    """2^x."""
    return _math.exp2(_float(input))


def round(input, *, decimals=0):  # noqa: A001, A002
    """Rounded half to even (at ``decimals`` places); gradient 0."""
    return _math.round(input, decimals)


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    """log(sum(exp(x))) over dim, stably."""
    return _logsumexp(input, dim, keepdim)


def softmax(input, dim, *, dtype=None):  # noqa: A002
    """Softmax along dim (``dtype``: cast first)."""
    return _act.softmax(input, dim=dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None):  # noqa: A002
    """log softmax along dim (``dtype``: cast first)."""
    return _act.log_softmax(input, dim=dim, dtype=dtype)


# -- dists
from .ops.incomplete_gamma import gammainc as _gammainc  # noqa: E402


def gammainc(input, other):  # noqa: A002
    """The regularised lower incomplete gamma function P(a, x) (a = input, x = other);
    differentiable in x only, as torch."""
    a, x = _float_pair(input, other)
    return _gammainc(a, x)


def gammaincc(input, other):  # noqa: A002
    """The regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return 1 - gammainc(input, other)


__all__ += ["gammainc", "gammaincc"]
