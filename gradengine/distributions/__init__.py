"""``ge.distributions``: ``torch.distributions``' families with PyTorch's names,
constructor signatures, shapes and checks (``validate_args``, on by default).

Continuous (``rsample`` differentiable in the parameters): ``Normal``, ``Uniform``,
``Exponential``, ``Laplace``, ``Cauchy``, ``StudentT``, ``Gamma``, ``Chi2``, ``Beta``,
``Dirichlet``, ``MultivariateNormal``, ``LowRankMultivariateNormal``, ``LogNormal``,
``HalfNormal``, ``HalfCauchy``, ``Gumbel``, ``Weibull``, ``Pareto``, ``InverseGamma``,
``Kumaraswamy``, ``LogisticNormal``, ``FisherSnedecor``, ``GeneralizedPareto``,
``ContinuousBernoulli``, ``RelaxedBernoulli``, ``RelaxedOneHotCategorical``, ``Wishart``;
sample only: ``VonMises``, ``LKJCholesky``. Discrete (``sample`` only): ``Bernoulli``,
``Categorical``, ``OneHotCategorical`` (and its ``StraightThrough`` rsample), ``Poisson``,
``Binomial``, ``Geometric``, ``Multinomial``, ``NegativeBinomial``. Wrappers: ``Independent``,
``MixtureSameFamily``, ``TransformedDistribution`` with :mod:`.transforms`. Each has
``batch_shape``, ``event_shape``, ``sample(sample_shape)``, ``log_prob``, ``entropy``,
``mean``, ``mode``, ``variance``, ``stddev``, ``expand``, ``cdf``/``icdf`` where torch has
them, ``arg_constraints`` and ``support`` (:mod:`.constraints`, with ``biject_to`` and
``transform_to``); ``kl_divergence`` knows the pairs torch registers among them. Written in
Tensor ops, so ``log_prob`` and ``entropy`` are differentiable to any order; samples come
from the generator ``ge.manual_seed`` seeds.
"""

from __future__ import annotations

from . import constraints, transforms
from .base import Distribution, ExponentialFamily
from .constraint_registry import biject_to, transform_to
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
    NegativeBinomial,
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
    Poisson,
)
from .extra import (
    ContinuousBernoulli,
    ExpRelaxedCategorical,
    FisherSnedecor,
    GeneralizedPareto,
    Gumbel,
    HalfCauchy,
    InverseGamma,
    Kumaraswamy,
    LKJCholesky,
    LogisticNormal,
    LogitRelaxedBernoulli,
    LowRankMultivariateNormal,
    Pareto,
    RelaxedBernoulli,
    RelaxedOneHotCategorical,
    VonMises,
    Weibull,
    Wishart,
)
from .kl import kl_divergence, register_kl
from .multivariate import Independent, MixtureSameFamily, MultivariateNormal
from .transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    HalfNormal,
    IndependentTransform,
    LogNormal,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    TransformedDistribution,
)

__all__ = ["Distribution", "ExponentialFamily", "Normal", "Uniform", "Exponential", "Laplace",
           "Cauchy",
           "StudentT", "Gamma", "Chi2", "Beta", "Dirichlet", "MultivariateNormal",
           "LowRankMultivariateNormal", "LogNormal", "HalfNormal", "HalfCauchy", "Gumbel",
           "Weibull", "Pareto", "InverseGamma", "Kumaraswamy", "LogisticNormal",
           "FisherSnedecor", "GeneralizedPareto", "VonMises", "ContinuousBernoulli",
           "LogitRelaxedBernoulli", "RelaxedBernoulli", "ExpRelaxedCategorical",
           "RelaxedOneHotCategorical", "LKJCholesky", "Wishart", "Bernoulli", "Categorical",
           "OneHotCategorical", "OneHotCategoricalStraightThrough", "Poisson", "Binomial",
           "Geometric", "Multinomial", "NegativeBinomial", "Independent",
           "MixtureSameFamily", "TransformedDistribution", "Transform", "ExpTransform",
           "PowerTransform", "AffineTransform", "SigmoidTransform", "SoftplusTransform",
           "TanhTransform", "AbsTransform", "SoftmaxTransform", "StickBreakingTransform",
           "LowerCholeskyTransform", "PositiveDefiniteTransform", "CorrCholeskyTransform",
           "ReshapeTransform", "IndependentTransform", "CatTransform", "StackTransform",
           "CumulativeDistributionTransform", "ComposeTransform", "kl_divergence",
           "register_kl", "biject_to", "transform_to", "constraints", "transforms"]
