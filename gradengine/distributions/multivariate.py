"""``MultivariateNormal`` (by covariance, precision or Cholesky factor), and the two
wrappers that make events of batches or mix components: ``Independent`` and
``MixtureSameFamily``."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import linalg
from ..core.gradmode import no_grad
from ..errors import ArgumentError, ShapeError
from ..ops import creation as C
from . import constraints
from .base import LOG_2PI, Distribution, _shape, _sum_rightmost, _tensor
from .discrete import Categorical

__all__ = ["MultivariateNormal", "Independent", "MixtureSameFamily"]


def _batch_mv(mat, vec):
    return F.matmul(mat, vec.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(tril, x):
    """x^T (L L^T)^-1 x for a lower-triangular L, batches broadcast."""
    n = x.shape[-1]
    shape = tuple(np.broadcast_shapes(tril.shape[:-2], x.shape[:-1]))
    sol = linalg.solve_triangular(F.broadcast_to(tril, shape + (n, n)),
                                  F.broadcast_to(x, shape + (n,)).unsqueeze(-1), upper=False)
    return (sol * sol).sum(-1).sum(-1)


def _precision_to_scale_tril(p):
    """The lower Cholesky factor of P^-1, without inverting P (torch's flip trick)."""
    lf = linalg.cholesky(F.flip(p, (-2, -1)))
    l_inv = F.flip(lf, (-2, -1)).transpose(-2, -1)
    eye = C.eye(p.shape[-1], dtype=p.dtype, device=p.device)
    return linalg.solve_triangular(l_inv, F.broadcast_to(eye, tuple(p.shape)), upper=False)


class _TrilMatrices:
    """The three forms of a distribution's matrix parameter from its Cholesky factor
    ``_unbroadcasted_scale_tril`` (the one given kept as given), each broadcast by the
    class's ``_full_shape``: MultivariateNormal's covariance, Wishart's scale."""

    @property
    def scale_tril(self):
        if "scale_tril" in self.__dict__:
            return self.__dict__["scale_tril"]
        return self._full_shape(self._unbroadcasted_scale_tril)

    @property
    def covariance_matrix(self):
        if "covariance_matrix" in self.__dict__:
            return self.__dict__["covariance_matrix"]
        lt = self._unbroadcasted_scale_tril
        return self._full_shape(F.matmul(lt, lt.transpose(-2, -1)))

    @property
    def precision_matrix(self):
        if "precision_matrix" in self.__dict__:
            return self.__dict__["precision_matrix"]
        lt = self._unbroadcasted_scale_tril
        n = lt.shape[-1]
        eye = F.broadcast_to(C.eye(n, dtype=lt.dtype, device=lt.device), tuple(lt.shape))
        inv = linalg.solve_triangular(lt, eye, upper=False)  # L^-1
        return self._full_shape(F.matmul(inv.transpose(-2, -1), inv))


class MultivariateNormal(_TrilMatrices, Distribution):
    """``MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None,
    scale_tril=None)``: exactly one of the three matrices; everything is computed from the
    Cholesky factor ``scale_tril``."""

    has_rsample = True
    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        loc = _tensor(loc)
        if loc.ndim < 1:
            raise ArgumentError("MultivariateNormal: loc must be at least one-dimensional.")
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if m is not None]
        if len(given) != 1:
            raise ArgumentError("MultivariateNormal: exactly one of covariance_matrix or "
                                "precision_matrix or scale_tril may be specified.")
        name, mat = given[0]
        mat = _tensor(mat, loc)
        if mat.ndim < 2:
            raise ArgumentError(f"MultivariateNormal: {name} matrix must be at least "
                                "two-dimensional, with optional leading batch dimensions")
        n = loc.shape[-1]
        if tuple(mat.shape[-2:]) != (n, n):
            raise ShapeError(f"MultivariateNormal: {name} of shape {tuple(mat.shape)} does "
                             f"not match loc of shape {tuple(loc.shape)}")
        try:
            batch = tuple(np.broadcast_shapes(mat.shape[:-2], loc.shape[:-1]))
        except ValueError:
            raise ShapeError(f"MultivariateNormal: the batch shapes of loc "
                             f"{tuple(loc.shape)} and {name} {tuple(mat.shape)} do not "
                             "broadcast") from None
        self.__dict__[name] = F.broadcast_to(mat, batch + (n, n))
        self.loc = F.broadcast_to(loc, batch + (n,))
        self._like = self.loc
        self._given = ("loc", name)
        super().__init__(batch, (n,), validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = mat
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(mat)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(mat)

    def expand(self, batch_shape, _instance=None):
        batch_shape = _shape(batch_shape)
        new = super().expand(batch_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        return new

    def _full_shape(self, t):
        n = self._event_shape[0]
        return F.broadcast_to(t, self._batch_shape + (n, n))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        lt = self._unbroadcasted_scale_tril
        return F.broadcast_to((lt * lt).sum(-1), self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = C.randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def _half_log_det(self):
        return F.log(F.diagonal(self._unbroadcasted_scale_tril, 0, -2, -1)).sum(-1)

    def log_prob(self, value):
        value = self._check_value(value)
        m = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (self._event_shape[0] * LOG_2PI + m) - self._half_log_det()

    def entropy(self):
        h = 0.5 * self._event_shape[0] * (1.0 + LOG_2PI) + self._half_log_det()
        return F.broadcast_to(h, self._batch_shape)


class Independent(Distribution):
    """``Independent(base_distribution, reinterpreted_batch_ndims)``: the base's rightmost
    ``reinterpreted_batch_ndims`` batch axes made event axes (their log-probabilities
    summed)."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        shape = base_distribution.batch_shape + base_distribution.event_shape
        ev_dim = n + len(base_distribution.event_shape)
        if n > len(base_distribution.batch_shape):
            raise ArgumentError(f"Independent: expected reinterpreted_batch_ndims <= "
                                f"len(base_distribution.batch_shape), actual {n} vs "
                                f"{len(base_distribution.batch_shape)}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        super().__init__(shape[:len(shape) - ev_dim], shape[len(shape) - ev_dim:],
                         validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return False if self.reinterpreted_batch_ndims else self.base_dist.has_enumerate_support

    @property
    def support(self):
        s = self.base_dist.support
        return constraints.independent(s, self.reinterpreted_batch_ndims) if s else s

    def expand(self, batch_shape, _instance=None):
        batch_shape = _shape(batch_shape)
        n = self.reinterpreted_batch_ndims
        new = object.__new__(Independent)
        new.__dict__.update(self.__dict__)
        new.base_dist = self.base_dist.expand(
            batch_shape + self._event_shape[:n])
        new._batch_shape = batch_shape
        return new

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


class MixtureSameFamily(Distribution):
    """``MixtureSameFamily(mixture_distribution, component_distribution)``: a Categorical
    over the rightmost batch axis of the components (sample only; ``log_prob``
    differentiable in both)."""

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        mix, comp = mixture_distribution, component_distribution
        if not isinstance(mix, Categorical):
            raise ArgumentError("MixtureSameFamily: the mixture distribution needs to be an "
                                "instance of Categorical")
        if not isinstance(comp, Distribution):
            raise ArgumentError("MixtureSameFamily: the component distribution needs to be "
                                "an instance of Distribution")
        mb, cb = mix.batch_shape, comp.batch_shape
        if len(cb) < 1:
            raise ShapeError("MixtureSameFamily: the component distribution needs a batch "
                             "axis of its mixture components")
        if len(mb) != len(cb) - 1 or any(
                a != 1 and b != 1 and a != b for a, b in zip(mb, cb[:-1])):
            raise ShapeError(f"MixtureSameFamily: mixture_distribution.batch_shape {mb} is "
                             f"not compatible with component_distribution.batch_shape {cb}")
        k = mix.logits.shape[-1]
        if k != cb[-1]:
            raise ShapeError(f"MixtureSameFamily: the mixture has {k} components but the "
                             f"component distribution's last batch axis has {cb[-1]}")
        self._mixture_distribution = mix
        self._component_distribution = comp
        self._num_component = k
        self._event_ndims = len(comp.event_shape)
        super().__init__(cb[:-1], comp.event_shape, validate_args)

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    def expand(self, batch_shape, _instance=None):
        batch_shape = _shape(batch_shape)
        new = object.__new__(MixtureSameFamily)
        new.__dict__.update(self.__dict__)
        new._component_distribution = self._component_distribution.expand(
            batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._batch_shape = batch_shape
        return new

    def _pad_mix(self, t):
        """The mixture probabilities shaped to line up with the components' event axes."""
        return t.reshape(tuple(t.shape) + (1,) * self._event_ndims)

    @property
    def mean(self):
        probs = self._pad_mix(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        probs = self._pad_mix(self._mixture_distribution.probs)
        d = -1 - self._event_ndims
        comp = self._component_distribution
        mean_cond_var = (probs * comp.variance).sum(d)
        diff = comp.mean - self._pad(self.mean)
        var_cond_mean = (probs * diff * diff).sum(d)
        return mean_cond_var + var_cond_mean

    def _pad(self, x):
        return x.unsqueeze(-1 - self._event_ndims)

    def cdf(self, value):
        value = self._pad(_tensor(value, getattr(self._component_distribution, "_like", None)))
        cdf_x = self._component_distribution.cdf(value)
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, value):
        value = self._pad(_tensor(value, getattr(self._component_distribution, "_like", None)))
        lp = self._component_distribution.log_prob(value)
        mix_lp = F.log_softmax(self._mixture_distribution.logits, -1)
        return F.logsumexp(lp + mix_lp, -1)

    def sample(self, sample_shape=()):
        with no_grad():
            sample_shape = _shape(sample_shape)
            idx = self._mixture_distribution.sample(sample_shape)      # S + B
            x = self._component_distribution.sample(sample_shape)      # S + B + (K,) + E
            es = self._event_shape
            idx = idx.reshape(tuple(idx.shape) + (1,) * (1 + len(es)))
            idx = F.broadcast_to(idx, tuple(idx.shape[:-1 - len(es)]) + (1,) + es)
            return F.take_along_dim(x, idx, -1 - len(es)).squeeze(-1 - len(es))

    def __repr__(self):
        return (f"MixtureSameFamily(\n  {self._mixture_distribution!r},\n"
                f"  {self._component_distribution!r})")

