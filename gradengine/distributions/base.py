"""The base class of ``ge.distributions`` and the helpers every family shares: parameters
made Tensors of one dtype and broadcast, the parameter and sample checks (``validate_args``,
on by default as in PyTorch), ``expand``."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ArgumentError, ShapeError
from ..ops import creation as C
from . import constraints

__all__ = ["Distribution", "ExponentialFamily"]


def _tensor(v, like=None):
    if isinstance(v, Tensor):
        return v
    dtype = like.dtype if isinstance(like, Tensor) and like.dtype.kind == "f" else "float32"
    return Tensor(np.asarray(v, dtype=dtype), device=getattr(like, "device", None))


def _params(*vals):
    """The parameters as Tensors of one float dtype and device, broadcast to one shape
    (torch's ``broadcast_all``)."""
    floats = [v for v in vals if isinstance(v, Tensor) and v.dtype.kind == "f"]
    like = max(floats, key=lambda v: v.dtype.itemsize) if floats else None  # torch promotes
    ts = [_tensor(v, like) for v in vals]
    if like is not None:
        ts = [t if t.dtype == like.dtype else t.to(like.dtype) for t in ts]
    shape = tuple(np.broadcast_shapes(*(t.shape for t in ts)))
    return [t if t.shape == shape else F.broadcast_to(t, shape) for t in ts], shape


def _shape(sample_shape):
    if isinstance(sample_shape, (int, np.integer)):
        return (int(sample_shape),)
    return tuple(int(s) for s in sample_shape)


def _sum_rightmost(t, n):
    """``t`` summed over its ``n`` trailing axes."""
    if n <= 0:
        return t
    return t.reshape(tuple(t.shape[:t.ndim - n]) + (-1,)).sum(-1)


def _bool(t):
    """A bool Tensor's all(), as a Python bool (outside any graph)."""
    with no_grad():
        return bool(t.all().item()) if isinstance(t, Tensor) else bool(np.all(t))


class Distribution:
    """The base class: ``batch_shape``, ``event_shape``, :meth:`sample`, :meth:`rsample`,
    :meth:`log_prob`, :meth:`cdf`, :meth:`icdf`, :meth:`entropy`, ``mean``, ``mode``,
    ``variance``, ``stddev``, :meth:`expand`, ``arg_constraints`` and ``support``."""

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict = {}
    support = None
    _validate_default = True

    @staticmethod
    def set_default_validate_args(value):
        """Whether distributions check their arguments unless told (default True, as in
        PyTorch outside ``python -O``)."""
        if value not in (True, False):
            raise ArgumentError(f"set_default_validate_args: expects True or False, got "
                                f"{value!r}")
        Distribution._validate_default = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = (Distribution._validate_default if validate_args is None
                               else bool(validate_args))
        if self._validate_args:
            self._validate_params()

    # ------------------------------------------------------------------ checks

    def _validate_params(self):
        given = getattr(self, "_given", None)
        for name, c in self.arg_constraints.items():
            if constraints.is_dependent(c) or (given is not None and name not in given):
                continue
            value = self.__dict__.get(name)
            if value is None and isinstance(getattr(type(self), name, None), property):
                value = getattr(self, name)  # a parameter derived from others (Chi2's df)
            if not isinstance(value, Tensor):
                continue
            if not _bool(c.check(value)):
                raise ArgumentError(
                    f"{type(self).__name__}: {name} {c.what}: expected parameter {name} "
                    f"(Tensor of shape {tuple(value.shape)}) to satisfy the constraint "
                    f"{c!r}, but found invalid values {value.detach().numpy()!r}")

    def _check_value(self, value, name="log_prob"):
        """``value`` as a Tensor (the parameters' dtype), checked against the batch and event
        shapes and, when validating, the support."""
        like = getattr(self, "_like", None)
        value = _tensor(value, like)
        want = self._batch_shape + self._event_shape
        n_ev = len(self._event_shape)
        try:
            np.broadcast_shapes(value.shape, want)
            if n_ev and tuple(value.shape[value.ndim - n_ev:]) != self._event_shape:
                raise ValueError
        except ValueError:
            raise ShapeError(f"{type(self).__name__}.{name}: a value of shape "
                             f"{tuple(value.shape)} does not broadcast with the batch shape "
                             f"{self._batch_shape} and event shape {self._event_shape}"
                             ) from None
        if self._validate_args:
            support = self.support
            if support is not None and not constraints.is_dependent(support):
                if not _bool(support.check(value)):
                    raise ArgumentError(
                        f"{type(self).__name__}.{name}: expected value argument (Tensor of "
                        f"shape {tuple(value.shape)}) to be within the support "
                        f"({support!r}) of the distribution, but found invalid values "
                        f"{value.detach().numpy()!r}")
        return value

    # ------------------------------------------------------------------ shapes

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return _shape(sample_shape) + self._batch_shape + self._event_shape

    _expand_names: tuple = ()

    def expand(self, batch_shape, _instance=None):
        """The same distribution with its parameters broadcast to ``batch_shape`` (views,
        no copies; no new checks)."""
        batch_shape = _shape(batch_shape)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        old = len(self._batch_shape)
        for name in tuple(self.arg_constraints) + ("probs", "logits") + self._expand_names:
            t = self.__dict__.get(name)
            if isinstance(t, Tensor):
                ev = tuple(t.shape[old:])
                try:
                    new.__dict__[name] = F.broadcast_to(t, batch_shape + ev)
                except ValueError:
                    raise ShapeError(f"{type(self).__name__}.expand: the batch shape "
                                     f"{self._batch_shape} does not expand to "
                                     f"{batch_shape}") from None
        if "_like" in self.__dict__:
            first = next((n for n in self.arg_constraints if n in new.__dict__), None)
            if first is not None:
                new._like = new.__dict__[first]
        new._batch_shape = batch_shape
        return new

    # ------------------------------------------------------------------ sampling

    def sample(self, sample_shape=()):
        """A sample without a graph (``rsample`` under ``no_grad`` where there is one)."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sample "
                                  "(rsample); use sample()")

    def sample_n(self, n):
        return self.sample((n,))

    # ------------------------------------------------------------------ the rest

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__}.log_prob is not implemented")

    def cdf(self, value):
        raise NotImplementedError(f"{type(self).__name__}.cdf is not implemented")

    def icdf(self, value):
        raise NotImplementedError(f"{type(self).__name__}.icdf is not implemented")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__}.entropy is not implemented")

    def enumerate_support(self, expand=True):
        raise NotImplementedError(f"{type(self).__name__}.enumerate_support is not "
                                  "implemented")

    def perplexity(self):
        return F.exp(self.entropy())

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__}.mean is not implemented")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__}.mode is not implemented")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__}.variance is not implemented")

    @property
    def stddev(self):
        return F.sqrt(self.variance)

    def _check_icdf(self, value):
        """A probability as a Tensor; outside [0, 1] the quantile is NaN (torch does not
        check either)."""
        return _tensor(value, getattr(self, "_like", None))

    def __repr__(self):
        given = getattr(self, "_given", None)
        parts = []
        for k in self.arg_constraints:
            if given is not None and k not in given:
                continue
            v = self.__dict__.get(k)
            if v is None and isinstance(getattr(type(self), k, None), property):
                v = getattr(self, k)
            if isinstance(v, Tensor):
                parts.append(f"{k}: {v.detach().numpy() if v.size == 1 else tuple(v.shape)}")
        return f"{type(self).__name__}({', '.join(parts)})"


class ExponentialFamily(Distribution):
    """The exponential families p(x) = h(x) exp(<t(x), theta> - F(theta)): a subclass gives
    ``_natural_params`` (theta), ``_log_normalizer(*theta)`` (F) and
    ``_mean_carrier_measure`` (E[log h(x)]); the entropy then follows by the Bregman
    divergence of F (autograd, as torch), and ``kl_divergence`` between two of the same
    family without a closed form of its own too."""

    @property
    def _natural_params(self):
        raise NotImplementedError(f"{type(self).__name__}._natural_params is not "
                                  "implemented")

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError(f"{type(self).__name__}._log_normalizer is not "
                                  "implemented")

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError(f"{type(self).__name__}._mean_carrier_measure is not "
                                  "implemented")

    def entropy(self):
        from ..autograd import grad
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for t, g in zip(nparams, gradients):
            result = result - (t * g).reshape(self._batch_shape + (-1,)).sum(-1)
        return result


def _full(like, value, shape=None):
    return C.full(tuple(like.shape) if shape is None else shape, value, dtype=like.dtype,
                  device=like.device)


def _tiny(t):
    return float(np.finfo(t.dtype).tiny)


def _eps(t):
    return float(np.finfo(t.dtype).eps)


LOG_2PI = math.log(2 * math.pi)
