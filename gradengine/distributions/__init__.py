"""``ge.distributions``: ``torch.distributions``' families with PyTorch's names,
constructor signatures, shapes and checks (``validate_args``, on by default).

Continuous (``rsample`` differentiable in the parameters): ``Normal``, ``Uniform``,
``Exponential``, ``Laplace``, ``Cauchy``, ``StudentT``, ``Gamma``, ``Chi2``, ``Beta``,
``Dirichlet``, ``MultivariateNormal``, ``LogNormal``, ``HalfNormal``. Discrete (``sample``
only): ``Bernoulli``, ``Categorical``, ``OneHotCategorical``, ``Poisson``, ``Binomial``,
``Geometric``, ``Multinomial``. Wrappers: ``Independent``, ``MixtureSameFamily``,
``TransformedDistribution`` with ``transforms`` (``ExpTransform``, ``AffineTransform``,
``SigmoidTransform``, ``TanhTransform``, ...). Each has ``batch_shape``, ``event_shape``,
``sample(sample_shape)``, ``log_prob``, ``entropy``, ``mean``, ``mode``, ``variance``,
``stddev``, ``expand``, ``cdf``/``icdf`` where torch has them, ``arg_constraints`` and
``support`` (:mod:`.constraints`); ``kl_divergence`` knows the pairs torch registers among
them. Written in Tensor ops, so ``log_prob`` and ``entropy`` are differentiable to any
order; samples come from the generator ``ge.manual_seed`` seeds.
"""

from __future__ import annotations

from . import constraints, transforms
from .base import Distribution
from .continuous import (
    Beta,
    Cauchy,
    Chi2,
    Dirichlet,
    Exponential,
    Gamma,
    Laplace,
    Normal,
    StudentT,
    Uniform,
)
from .discrete import (
    Bernoulli,
    Binomial,
    Categorical,
    Geometric,
    Multinomial,
    OneHotCategorical,
    Poisson,
)
from .kl import kl_divergence, register_kl
from .multivariate import Independent, MixtureSameFamily, MultivariateNormal
from .transforms import (
    AbsTransform,
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    HalfNormal,
    LogNormal,
    SigmoidTransform,
    TanhTransform,
    Transform,
    TransformedDistribution,
)

__all__ = ["Distribution", "Normal", "Uniform", "Exponential", "Laplace", "Cauchy",
           "StudentT", "Gamma", "Chi2", "Beta", "Dirichlet", "MultivariateNormal",
           "LogNormal", "HalfNormal", "Bernoulli", "Categorical", "OneHotCategorical",
           "Poisson", "Binomial", "Geometric", "Multinomial", "Independent",
           "MixtureSameFamily", "TransformedDistribution", "Transform", "ExpTransform",
           "AffineTransform", "SigmoidTransform", "TanhTransform", "AbsTransform",
           "ComposeTransform", "kl_divergence", "register_kl", "constraints", "transforms"]
