"""``ge.distributions.transforms`` (``ExpTransform``, ``AffineTransform``,
``SigmoidTransform``, ``TanhTransform``, ``AbsTransform``, ``ComposeTransform``) and the
distributions made from a base by them: ``TransformedDistribution``, ``LogNormal``
(exp of a Normal) and ``HalfNormal`` (|Normal|), as in ``torch.distributions``."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ArgumentError
from ..ops import creation as C
from . import constraints
from .base import Distribution, _eps, _shape, _sum_rightmost, _tensor, _tiny
from .continuous import Normal
from .multivariate import Independent

__all__ = ["Transform", "ExpTransform", "AffineTransform", "SigmoidTransform",
           "TanhTransform", "AbsTransform", "ComposeTransform", "identity_transform",
           "TransformedDistribution", "LogNormal", "HalfNormal"]


class Transform:
    """An invertible map y = t(x) with ``inv``, ``log_abs_det_jacobian(x, y)``, ``sign``,
    ``domain`` and ``codomain`` (elementwise unless ``event_dim`` says otherwise)."""

    bijective = False
    sign = 1
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size=0):
        if cache_size not in (0, 1):
            raise ArgumentError(f"{type(self).__name__}: cache_size must be 0 or 1, got "
                                f"{cache_size!r}")
        self._cache_size = cache_size
        self._cached = None

    @property
    def event_dim(self):
        return self.domain.event_dim

    @property
    def inv(self):
        return _InverseTransform(self)

    def __call__(self, x):
        y = self._call(x)
        if self._cache_size:
            self._cached = (x, y)
        return y

    def _inv_call(self, y):
        if self._cache_size and self._cached is not None and self._cached[1] is y:
            return self._cached[0]
        return self._inverse(y)

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError

    def forward_shape(self, shape):
        return tuple(shape)

    def inverse_shape(self, shape):
        return tuple(shape)

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))

    def __repr__(self):
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    def __init__(self, t):
        super().__init__(t._cache_size)
        self._inv = t

    @property
    def domain(self):
        return self._inv.codomain

    @property
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self):
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self):
        return self._inv

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __hash__(self):
        return hash(("inv", self._inv))


class ComposeTransform(Transform):
    """``ComposeTransform(parts)``: the parts applied in order."""

    def __init__(self, parts, cache_size=0):
        super().__init__(cache_size)
        self.parts = list(parts)

    @property
    def domain(self):
        return self.parts[0].domain if self.parts else constraints.real

    @property
    def codomain(self):
        return self.parts[-1].codomain if self.parts else constraints.real

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        s = 1
        for p in self.parts:
            s = s * p.sign
        return s

    @property
    def inv(self):
        return ComposeTransform([p.inv for p in reversed(self.parts)])

    def _call(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return C.zeros_like(x)
        total = 0.0
        for p in self.parts:
            y = p(x)
            total = total + p.log_abs_det_jacobian(x, y)
            x = y
        return total

    def forward_shape(self, shape):
        for p in self.parts:
            shape = p.forward_shape(shape)
        return tuple(shape)

    def inverse_shape(self, shape):
        for p in reversed(self.parts):
            shape = p.inverse_shape(shape)
        return tuple(shape)

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    def __hash__(self):
        return hash(tuple(self.parts))


identity_transform = ComposeTransform([])


class ExpTransform(Transform):
    """y = exp(x)."""

    bijective = True
    codomain = constraints.positive

    def _call(self, x):
        return F.exp(x)

    def _inverse(self, y):
        return F.log(y)

    def log_abs_det_jacobian(self, x, y):
        return x


class SigmoidTransform(Transform):
    """y = sigmoid(x), clipped into (0, 1) as torch's."""

    bijective = True
    codomain = constraints.unit_interval

    def _call(self, x):
        return F.clamp(F.sigmoid(x), _tiny(x), 1.0 - _eps(x))

    def _inverse(self, y):
        y = F.clamp(y, _tiny(y), 1.0 - _eps(y))
        return F.log(y) - F.log1p(-y)

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x) - F.softplus(x)


class TanhTransform(Transform):
    """y = tanh(x)."""

    bijective = True
    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x):
        return F.tanh(x)

    def _inverse(self, y):
        return F.atanh(y)

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AbsTransform(Transform):
    """y = |x| (not bijective; its "inverse" is the identity on y >= 0)."""

    codomain = constraints.positive

    def _call(self, x):
        return F.abs(x)

    def _inverse(self, y):
        return y


class AffineTransform(Transform):
    """``AffineTransform(loc, scale, event_dim=0)``: y = loc + scale * x."""

    bijective = True

    def __init__(self, loc, scale, event_dim=0, cache_size=0):
        super().__init__(cache_size)
        self.loc, self.scale = loc, scale
        self._event_dim = int(event_dim)

    @property
    def domain(self):
        return (constraints.real if self._event_dim == 0
                else constraints.independent(constraints.real, self._event_dim))

    codomain = domain

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def sign(self):
        s = self.scale
        if isinstance(s, Tensor):
            return F.sign(s.detach())
        return 1 if s > 0 else -1 if s < 0 else 0

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        shape = tuple(x.shape)
        s = self.scale
        if isinstance(s, Tensor):
            r = F.log(F.abs(s))
        else:
            r = x * 0 + math.log(abs(s))
        if self._event_dim:
            shape_r = tuple(r.shape[:r.ndim - self._event_dim]) + (-1,)
            r = r.reshape(shape_r).sum(-1)
            shape = shape[:len(shape) - self._event_dim]
        return F.broadcast_to(r, tuple(np.broadcast_shapes(shape, r.shape)))

    def forward_shape(self, shape):
        return tuple(np.broadcast_shapes(shape, getattr(self.loc, "shape", ()),
                                         getattr(self.scale, "shape", ())))

    inverse_shape = forward_shape

    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        for a, b in ((self.loc, other.loc), (self.scale, other.scale)):
            if isinstance(a, Tensor) or isinstance(b, Tensor):
                if a is not b:
                    return False
            elif a != b:
                return False
        return self._event_dim == other._event_dim

    __hash__ = Transform.__hash__


class TransformedDistribution(Distribution):
    """``TransformedDistribution(base_distribution, transforms)``: samples of the base put
    through ``transforms`` (one or a list) in order; ``log_prob`` by the change of
    variables."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, list) and all(isinstance(t, Transform)
                                                  for t in transforms):
            self.transforms = transforms
        else:
            raise ArgumentError(f"TransformedDistribution: transforms must be a Transform or "
                                f"a list of Transforms, got {transforms!r}")
        base = base_distribution
        base_shape = base.batch_shape + base.event_shape
        base_ev = len(base.event_shape)
        t = ComposeTransform(self.transforms)
        if len(base_shape) < t.domain.event_dim:
            raise ArgumentError(f"TransformedDistribution: base_distribution needs to have "
                                f"shape with size at least {t.domain.event_dim}, but got "
                                f"{base_shape}.")
        fwd = t.forward_shape(base_shape)
        back = t.inverse_shape(fwd)
        if back != base_shape:
            base = base.expand(back[:len(back) - base_ev])
        if t.domain.event_dim > base_ev:
            base = Independent(base, t.domain.event_dim - base_ev)
        self.base_dist = base
        ev = max(t.codomain.event_dim, base_ev + t.codomain.event_dim - t.domain.event_dim)
        cut = len(fwd) - ev
        self._like = getattr(base, "_like", None)
        super().__init__(fwd[:cut], fwd[cut:], validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        s = self.transforms[-1].codomain
        if len(self._event_shape) > s.event_dim:
            s = constraints.independent(s, len(self._event_shape) - s.event_dim)
        return s

    def expand(self, batch_shape, _instance=None):
        batch_shape = _shape(batch_shape)
        shape = batch_shape + self._event_shape
        for t in reversed(self.transforms):
            shape = t.inverse_shape(shape)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.base_dist = self.base_dist.expand(shape[:len(shape)
                                                    - len(self.base_dist.event_shape)])
        new._batch_shape = batch_shape
        return new

    def sample(self, sample_shape=()):
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for t in self.transforms:
                x = t(x)
            return x

    def rsample(self, sample_shape=()):
        x = self.base_dist.rsample(sample_shape)
        for t in self.transforms:
            x = t(x)
        return x

    def log_prob(self, value):
        y = self._check_value(value)
        event_dim = len(self._event_shape)
        lp = 0.0
        for t in reversed(self.transforms):
            x = t.inv(y)
            event_dim += t.domain.event_dim - t.codomain.event_dim
            lp = lp - _sum_rightmost(t.log_abs_det_jacobian(x, y),
                                     event_dim - t.domain.event_dim)
            y = x
        return lp + _sum_rightmost(self.base_dist.log_prob(y),
                                   event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value):
        value = self._check_value(value, "cdf")
        for t in reversed(self.transforms):
            value = t.inv(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value):
        value = self._monotonize_cdf(self._check_icdf(value))
        value = self.base_dist.icdf(value)
        for t in self.transforms:
            value = t(value)
        return value

    def __repr__(self):
        return f"{type(self).__name__}({self.base_dist!r}, {self.transforms!r})"


class LogNormal(TransformedDistribution):
    """``LogNormal(loc, scale)``: exp of Normal(loc, scale)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    @property
    def loc(self):
        return self.base_dist.loc

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return F.exp(self.loc + self.scale * self.scale / 2)

    @property
    def mode(self):
        return F.exp(self.loc - self.scale * self.scale)

    @property
    def variance(self):
        s2 = self.scale * self.scale
        return F.expm1(s2) * F.exp(2 * self.loc + s2)

    def entropy(self):
        return self.base_dist.entropy() + self.loc

    def __repr__(self):
        return f"LogNormal(loc: {tuple(self.loc.shape)}, scale: {tuple(self.scale.shape)})"


class HalfNormal(TransformedDistribution):
    """``HalfNormal(scale)``: |Normal(0, scale)|."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        scale = _tensor(scale)
        base = Normal(C.zeros_like(scale), scale,
                      validate_args=validate_args)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    @property
    def scale(self):
        return self.base_dist.scale

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self):
        return C.zeros_like(self.scale)

    @property
    def variance(self):
        return self.scale * self.scale * (1 - 2 / math.pi)

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

    def __repr__(self):
        return f"HalfNormal(scale: {tuple(self.scale.shape)})"
