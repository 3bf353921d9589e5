"""``ge.distributions.transforms``, as ``torch.distributions.transforms``: invertible maps
with ``inv``, ``log_abs_det_jacobian(x, y)``, ``sign``, ``domain`` / ``codomain``,
``forward_shape`` / ``inverse_shape`` and torch's one-entry cache (``cache_size=1``,
``with_cache``) -- ``ExpTransform``, ``PowerTransform``, ``AffineTransform``,
``SigmoidTransform``, ``SoftplusTransform``, ``TanhTransform``, ``AbsTransform``,
``SoftmaxTransform``, ``StickBreakingTransform``, ``LowerCholeskyTransform``,
``PositiveDefiniteTransform``, ``CorrCholeskyTransform``, ``ReshapeTransform``,
``IndependentTransform``, ``CatTransform``, ``StackTransform``,
``CumulativeDistributionTransform`` and ``ComposeTransform`` -- and the distributions made
from a base by them: ``TransformedDistribution``, ``LogNormal`` (exp of a Normal) and
``HalfNormal`` (|Normal|)."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ArgumentError, ShapeError
from ..ops import creation as C
from . import constraints
from .base import Distribution, _bool, _eps, _shape, _sum_rightmost, _tensor, _tiny
from .continuous import Normal
from .multivariate import Independent

__all__ = ["Transform", "ExpTransform", "PowerTransform", "AffineTransform",
           "SigmoidTransform", "SoftplusTransform", "TanhTransform", "AbsTransform",
           "SoftmaxTransform", "StickBreakingTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "CorrCholeskyTransform", "ReshapeTransform",
           "IndependentTransform", "CatTransform", "StackTransform",
           "CumulativeDistributionTransform", "ComposeTransform", "identity_transform",
           "TransformedDistribution", "LogNormal", "HalfNormal"]


def _numel(shape):
    return int(np.prod(shape, dtype=np.int64)) if len(shape) else 1


class Transform:
    """An invertible map y = t(x) with ``inv``, ``log_abs_det_jacobian(x, y)``, ``sign``,
    ``domain`` and ``codomain``. ``cache_size=1`` keeps the last (x, y) pair: calling it
    on that x (or its ``inv`` on that y) gives the cached other side, as torch."""

    bijective = False
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size=0):
        if cache_size not in (0, 1) or isinstance(cache_size, bool):
            raise ArgumentError(f"{type(self).__name__}: cache_size must be 0 or 1, got "
                                f"{cache_size!r}")
        self._cache_size = cache_size
        self._cached_x_y = (None, None)
        self._inv = None

    @property
    def event_dim(self):
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ArgumentError("Please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self):
        """The inverse transform (``t.inv.inv is t``)."""
        if self._inv is None:
            self._inv = _InverseTransform(self)
        return self._inv

    @property
    def sign(self):
        """The sign of the Jacobian's determinant (bijective univariate transforms)."""
        raise NotImplementedError(f"{type(self).__name__}.sign is not defined")

    def with_cache(self, cache_size=1):
        """This transform with ``cache_size`` (itself when it already has it)."""
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")

    def __call__(self, x):
        if not self._cache_size:
            return self._call(x)
        x_old, y_old = self._cached_x_y
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached_x_y = (x, y)
        return y

    def _inv_call(self, y):
        if not self._cache_size:
            return self._inverse(y)
        x_old, y_old = self._cached_x_y
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached_x_y = (x, y)
        return x

    def _call(self, x):
        raise NotImplementedError(f"{type(self).__name__} has no forward map")

    def _inverse(self, y):
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError(f"{type(self).__name__}.log_abs_det_jacobian is not "
                                  "implemented")

    def forward_shape(self, shape):
        return tuple(shape)

    def inverse_shape(self, shape):
        return tuple(shape)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return type(self).__name__ + "()"


class _Singleton(Transform):
    """A parameterless transform: equal to every other of its class."""

    def __eq__(self, other):
        return isinstance(other, type(self))

    def __hash__(self):
        return hash(type(self))


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

    def with_cache(self, cache_size=1):
        return self.inv.with_cache(cache_size).inv

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __hash__(self):
        return hash(("inv", self._inv))

    def __repr__(self):
        return f"{type(self).__name__}({self._inv!r})"


class ComposeTransform(Transform):
    """``ComposeTransform(parts, cache_size=0)``: the parts applied in order; its domain
    and codomain carry the event dimensions the chain needs (torch's rule)."""

    def __init__(self, parts, cache_size=0):
        parts = list(parts)
        if cache_size:
            parts = [p.with_cache(cache_size) for p in parts]
        super().__init__(cache_size)
        self.parts = parts

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        event_dim = self.parts[-1].codomain.event_dim
        for p in reversed(self.parts):
            event_dim += p.domain.event_dim - p.codomain.event_dim
            event_dim = max(event_dim, p.domain.event_dim)
        if event_dim > domain.event_dim:
            domain = constraints.independent(domain, event_dim - domain.event_dim)
        return domain

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for p in self.parts:
            event_dim += p.codomain.event_dim - p.domain.event_dim
            event_dim = max(event_dim, p.codomain.event_dim)
        if event_dim > codomain.event_dim:
            codomain = constraints.independent(codomain, event_dim - codomain.event_dim)
        return codomain

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
        if self._inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv, inv._inv = inv, self
        return self._inv

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return C.zeros_like(x)
        xs = [x]
        for p in self.parts[:-1]:
            xs.append(p(xs[-1]))
        xs.append(y)
        total = None
        event_dim = self.domain.event_dim
        for p, a, b in zip(self.parts, xs[:-1], xs[1:]):
            term = _sum_rightmost(p.log_abs_det_jacobian(a, b), event_dim - p.domain.event_dim)
            total = term if total is None else total + term
            event_dim += p.codomain.event_dim - p.domain.event_dim
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

    def __repr__(self):
        return (type(self).__name__ + "(\n    " + ",\n    ".join(repr(p) for p in self.parts)
                + "\n)")


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """``IndependentTransform(base_transform, reinterpreted_batch_ndims)``: the base's map,
    its log-Jacobian summed over ``reinterpreted_batch_ndims`` more trailing axes."""

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size=0):
        super().__init__(cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = int(reinterpreted_batch_ndims)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims,
                                    cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(self.base_transform.domain,
                                       self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return constraints.independent(self.base_transform.codomain,
                                       self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        if x.ndim < self.domain.event_dim:
            raise ShapeError("IndependentTransform: too few dimensions on input")
        return self.base_transform(x)

    def _inverse(self, y):
        if y.ndim < self.codomain.event_dim:
            raise ShapeError("IndependentTransform: too few dimensions on input")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return _sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y),
                              self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __repr__(self):
        return (f"{type(self).__name__}({self.base_transform!r}, "
                f"{self.reinterpreted_batch_ndims})")


class ReshapeTransform(Transform):
    """``ReshapeTransform(in_shape, out_shape)``: the rightmost ``in_shape`` axes reshaped to
    ``out_shape`` (unit Jacobian)."""

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size=0):
        self.in_shape, self.out_shape = _shape(in_shape), _shape(out_shape)
        if _numel(self.in_shape) != _numel(self.out_shape):
            raise ArgumentError("ReshapeTransform: in_shape, out_shape have different "
                                "numbers of elements")
        super().__init__(cache_size)

    @property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        batch = tuple(x.shape[:x.ndim - len(self.in_shape)])
        return x.reshape(batch + self.out_shape)

    def _inverse(self, y):
        batch = tuple(y.shape[:y.ndim - len(self.out_shape)])
        return y.reshape(batch + self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        batch = tuple(x.shape[:x.ndim - len(self.in_shape)])
        return C.zeros(batch, dtype=x.dtype, device=x.device)

    def _reshape(self, shape, src, dst):
        shape = tuple(shape)
        if len(shape) < len(src):
            raise ShapeError("ReshapeTransform: too few dimensions on input")
        cut = len(shape) - len(src)
        if shape[cut:] != src:
            raise ShapeError(f"ReshapeTransform: shape mismatch: expected {shape[cut:]} "
                             f"but got {src}")
        return shape[:cut] + dst

    def forward_shape(self, shape):
        return self._reshape(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._reshape(shape, self.out_shape, self.in_shape)


class ExpTransform(_Singleton):
    """y = exp(x)."""

    bijective = True
    sign = 1
    codomain = constraints.positive

    def _call(self, x):
        return F.exp(x)

    def _inverse(self, y):
        return F.log(y)

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """``PowerTransform(exponent)``: y = x ** exponent on x > 0."""

    bijective = True
    domain = constraints.positive
    codomain = constraints.positive

    def __init__(self, exponent, cache_size=0):
        super().__init__(cache_size)
        self.exponent = _tensor(exponent)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return PowerTransform(self.exponent, cache_size=cache_size)

    @property
    def sign(self):
        return F.sign(self.exponent.detach())

    def __eq__(self, other):
        if not isinstance(other, PowerTransform):
            return False
        return _bool(self.exponent.detach() == other.exponent.detach())

    __hash__ = Transform.__hash__

    def _call(self, x):
        return F.pow(x, self.exponent)

    def _inverse(self, y):
        return F.pow(y, 1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return F.log(F.abs(self.exponent * y / x))

    def forward_shape(self, shape):
        return tuple(np.broadcast_shapes(tuple(shape), tuple(self.exponent.shape)))

    inverse_shape = forward_shape


def _clipped_sigmoid(x):
    return F.clamp(F.sigmoid(x), _tiny(x), 1.0 - _eps(x))


class SigmoidTransform(_Singleton):
    """y = sigmoid(x), clipped into (0, 1) as torch's."""

    bijective = True
    sign = 1
    codomain = constraints.unit_interval

    def _call(self, x):
        return _clipped_sigmoid(x)

    def _inverse(self, y):
        y = F.clamp(y, _tiny(y), 1.0 - _eps(y))
        return F.log(y) - F.log1p(-y)

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x) - F.softplus(x)


class SoftplusTransform(_Singleton):
    """y = log(1 + exp(x)) (linear above 20, as torch's softplus)."""

    bijective = True
    sign = 1
    codomain = constraints.positive

    def _call(self, x):
        return F.softplus(x)

    def _inverse(self, y):
        return F.log(-F.expm1(-y)) + y

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x)


class TanhTransform(_Singleton):
    """y = tanh(x)."""

    bijective = True
    sign = 1
    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x):
        return F.tanh(x)

    def _inverse(self, y):
        return F.atanh(y)

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AbsTransform(_Singleton):
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

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

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
            r = C.full(shape, math.log(abs(s)), dtype=x.dtype, device=x.device)
        if self._event_dim:
            r = r.reshape(tuple(r.shape[:r.ndim - self._event_dim]) + (-1,)).sum(-1)
            shape = shape[:len(shape) - self._event_dim]
        return F.broadcast_to(r, shape)

    def forward_shape(self, shape):
        return tuple(np.broadcast_shapes(tuple(shape), tuple(getattr(self.loc, "shape", ())),
                                         tuple(getattr(self.scale, "shape", ()))))

    inverse_shape = forward_shape

    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        for a, b in ((self.loc, other.loc), (self.scale, other.scale)):
            if isinstance(a, Tensor) or isinstance(b, Tensor):
                a = a.detach() if isinstance(a, Tensor) else a
                b = b.detach() if isinstance(b, Tensor) else b
                try:
                    if not _bool(a == b):
                        return False
                except ValueError:  # shapes that do not broadcast
                    return False
            elif a != b:
                return False
        return True

    __hash__ = Transform.__hash__


def _tril_index(n, diag):
    """(the row-major positions of the entries on and below diagonal ``diag`` of an n x n
    matrix, their count)."""
    r, c = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    mask = (c < r + diag + 1).reshape(-1)
    return np.nonzero(mask)[0], int(mask.sum())


def vec_to_tril_matrix(vec, diag=0):
    """A batch of vectors laid out, in row order, on and below diagonal ``diag`` of square
    matrices (zeros elsewhere), as torch's ``vec_to_tril_matrix``."""
    m = vec.shape[-1]
    a = 1 + 2 * diag
    n = (-a + (a * a + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if abs(round(n) - n) > 1e-9:
        raise ShapeError(f"The size of last dimension is {m} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = int(round(n))
    pos, _ = _tril_index(n, diag)
    idx = np.full(n * n, m, dtype=np.int64)
    idx[pos] = np.arange(m)
    padded = F.pad(vec, (0, 1))
    return padded[..., idx].reshape(tuple(vec.shape[:-1]) + (n, n))


def tril_matrix_to_vec(mat, diag=0):
    """The entries on and below diagonal ``diag`` of square matrices, in row order."""
    n = mat.shape[-1]
    pos, _ = _tril_index(n, diag)
    return mat.reshape(tuple(mat.shape[:-2]) + (n * n,))[..., pos]


class CorrCholeskyTransform(Transform):
    """A real vector of length D(D-1)/2 to the Cholesky factor of a D x D correlation
    matrix (signed stick-breaking of tanh'd rows), as torch's."""

    bijective = True
    domain = constraints.real_vector
    codomain = constraints.corr_cholesky

    def _call(self, x):
        x = F.tanh(x)
        eps = _eps(x)
        x = F.clamp(x, -1 + eps, 1 - eps)
        r = vec_to_tril_matrix(x, diag=-1)
        z = r * r
        z1m_cumprod_sqrt = F.cumprod(F.sqrt(1 - z), -1)
        r = r + C.eye(r.shape[-1], dtype=r.dtype, device=r.device)
        return r * F.pad(z1m_cumprod_sqrt[..., :-1], (1, 0), value=1.0)

    def _inverse(self, y):
        y_cumsum = 1 - F.cumsum(y * y, -1)
        shifted = F.pad(y_cumsum[..., :-1], (1, 0), value=1.0)
        y_vec = tril_matrix_to_vec(y, diag=-1)
        cum_vec = tril_matrix_to_vec(shifted, diag=-1)
        t = y_vec / F.sqrt(cum_vec)
        return (F.log1p(t) - F.log1p(-t)) / 2

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        y1m_cumsum = 1 - F.cumsum(y * y, -1)
        tril = tril_matrix_to_vec(y1m_cumsum, diag=-2)
        stick = 0.5 * F.log(tril).sum(-1)
        tanh_logdet = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick + tanh_logdet

    def forward_shape(self, shape):
        shape = tuple(shape)
        if len(shape) < 1:
            raise ShapeError("CorrCholeskyTransform: too few dimensions on input")
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ShapeError("CorrCholeskyTransform: input is not a flattened "
                             "lower-diagonal number")
        return shape[:-1] + (d, d)

    def inverse_shape(self, shape):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ShapeError("CorrCholeskyTransform: too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ShapeError("CorrCholeskyTransform: input is not square")
        d = shape[-1]
        return shape[:-2] + (d * (d - 1) // 2,)


class SoftmaxTransform(_Singleton):
    """Real vectors to the simplex by exp and normalising (not bijective)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        probs = F.exp(x - x.detach().max(-1, keepdims=True))
        return probs / probs.sum(-1, keepdims=True)

    def _inverse(self, y):
        return F.log(y)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ShapeError("SoftmaxTransform: too few dimensions on input")
        return tuple(shape)

    inverse_shape = forward_shape


def _stick_offset(x, k):
    """k, k-1, ..., 1 (torch's ``x.shape[-1] + 1 - cumsum(ones)`` with k = shape[-1])."""
    return C.tensor(np.arange(k, 0, -1, dtype=np.float64), dtype=x.dtype, device=x.device)


class StickBreakingTransform(_Singleton):
    """Real vectors of length K-1 to the K-simplex by stick breaking (bijective)."""

    bijective = True
    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        offset = _stick_offset(x, x.shape[-1])
        z = _clipped_sigmoid(x - F.log(offset))
        z_cumprod = F.cumprod(1 - z, -1)
        return F.pad(z, (0, 1), value=1.0) * F.pad(z_cumprod, (1, 0), value=1.0)

    def _inverse(self, y):
        y_crop = y[..., :-1]
        offset = _stick_offset(y, y_crop.shape[-1])
        sf = F.clamp(1 - F.cumsum(y_crop, -1), _tiny(y), None)
        return F.log(y_crop) - F.log(sf) + F.log(offset)

    def log_abs_det_jacobian(self, x, y):
        offset = _stick_offset(x, x.shape[-1])
        x = x - F.log(offset)
        return (-x + F.logsigmoid(x) + F.log(y[..., :-1])).sum(-1)

    def forward_shape(self, shape):
        shape = tuple(shape)
        if len(shape) < 1:
            raise ShapeError("StickBreakingTransform: too few dimensions on input")
        return shape[:-1] + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        shape = tuple(shape)
        if len(shape) < 1:
            raise ShapeError("StickBreakingTransform: too few dimensions on input")
        return shape[:-1] + (shape[-1] - 1,)


class LowerCholeskyTransform(_Singleton):
    """Square matrices to lower-triangular ones with a positive diagonal (the strictly
    lower part kept, the diagonal exponentiated)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x):
        return F.tril(x, -1) + F.diag_embed(F.exp(F.diagonal(x, 0, -2, -1)))

    def _inverse(self, y):
        return F.tril(y, -1) + F.diag_embed(F.log(F.diagonal(y, 0, -2, -1)))


class PositiveDefiniteTransform(_Singleton):
    """Square matrices to positive-definite ones: L L^T of the LowerCholeskyTransform."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x):
        lt = LowerCholeskyTransform()(x)
        return F.matmul(lt, lt.transpose(-2, -1))

    def _inverse(self, y):
        from .. import linalg
        return LowerCholeskyTransform().inv(linalg.cholesky(y))


def _norm_dim(dim, ndim):
    return dim + ndim if dim < 0 else dim


def _narrow(t, dim, start, length):
    d = _norm_dim(dim, t.ndim)
    idx = (slice(None),) * d + (slice(start, start + length),)
    return t[idx]


class CatTransform(Transform):
    """``CatTransform(tseq, dim=0, lengths=None)``: ``tseq[i]`` applied to the i-th slice
    (of ``lengths[i]`` entries along ``dim``), as ``torch.cat`` splits them."""

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        tseq = list(tseq)
        if not all(isinstance(t, Transform) for t in tseq):
            raise ArgumentError("CatTransform: every element of tseq must be a Transform")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size)
        self.transforms = tseq
        self.lengths = [1] * len(tseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ArgumentError(f"CatTransform: lengths ({len(self.lengths)}) must match "
                                f"transforms ({len(self.transforms)})")
        self.dim = int(dim)

    @property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self):
        return sum(self.lengths)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _check(self, t, what):
        if not -t.ndim <= self.dim < t.ndim:
            raise ShapeError(f"CatTransform: dim {self.dim} out of range for {what} with "
                             f"{t.ndim} dimensions")
        if t.shape[self.dim] != self.length:
            raise ShapeError(f"CatTransform: {what}.size({self.dim}) = {t.shape[self.dim]} "
                             f"must equal length {self.length}")

    def _map(self, t, inverse):
        self._check(t, "y" if inverse else "x")
        out, start = [], 0
        for tr, n in zip(self.transforms, self.lengths):
            piece = _narrow(t, self.dim, start, n)
            out.append(tr.inv(piece) if inverse else tr(piece))
            start += n
        return F.cat(out, dim=self.dim)

    def _call(self, x):
        return self._map(x, False)

    def _inverse(self, y):
        return self._map(y, True)

    def log_abs_det_jacobian(self, x, y):
        self._check(x, "x")
        self._check(y, "y")
        terms, start = [], 0
        for tr, n in zip(self.transforms, self.lengths):
            ld = tr.log_abs_det_jacobian(_narrow(x, self.dim, start, n),
                                         _narrow(y, self.dim, start, n))
            if tr.event_dim < self.event_dim:
                ld = _sum_rightmost(ld, self.event_dim - tr.event_dim)
            terms.append(ld)
            start += n
        dim = self.dim - x.ndim if self.dim >= 0 else self.dim
        dim = dim + self.event_dim
        if dim < 0:
            return F.cat(terms, dim=dim)
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim,
                               self.lengths)


class StackTransform(Transform):
    """``StackTransform(tseq, dim=0)``: ``tseq[i]`` applied to the i-th slice along ``dim``,
    as ``torch.stack`` joins them."""

    def __init__(self, tseq, dim=0, cache_size=0):
        tseq = list(tseq)
        if not all(isinstance(t, Transform) for t in tseq):
            raise ArgumentError("StackTransform: every element of tseq must be a Transform")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size)
        self.transforms = tseq
        self.dim = int(dim)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _check(self, t, what):
        if not -t.ndim <= self.dim < t.ndim:
            raise ShapeError(f"StackTransform: dim {self.dim} out of range for {what} with "
                             f"{t.ndim} dimensions")
        if t.shape[self.dim] != len(self.transforms):
            raise ShapeError(f"StackTransform: {what}.size({self.dim}) = "
                             f"{t.shape[self.dim]} must equal len(transforms) "
                             f"{len(self.transforms)}")

    def _slice(self, z):
        d = _norm_dim(self.dim, z.ndim)
        return [z[(slice(None),) * d + (i,)] for i in range(z.shape[d])]

    def _call(self, x):
        self._check(x, "x")
        return F.stack([t(s) for s, t in zip(self._slice(x), self.transforms)], dim=self.dim)

    def _inverse(self, y):
        self._check(y, "y")
        return F.stack([t.inv(s) for s, t in zip(self._slice(y), self.transforms)],
                       dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        self._check(x, "x")
        self._check(y, "y")
        return F.stack([t.log_abs_det_jacobian(a, b) for a, b, t in
                        zip(self._slice(x), self._slice(y), self.transforms)], dim=self.dim)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)


class CumulativeDistributionTransform(Transform):
    """``CumulativeDistributionTransform(distribution)``: y = distribution.cdf(x) (its
    inverse the icdf, its log-Jacobian the log_prob)."""

    bijective = True
    sign = 1
    codomain = constraints.unit_interval

    def __init__(self, distribution, cache_size=0):
        super().__init__(cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)


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
        names = tuple(n for n in self.arg_constraints if isinstance(n, str)) \
            if isinstance(self.arg_constraints, dict) else ()
        for name in names + self._expand_names:  # a subclass's own parameters
            t = self.__dict__.get(name)
            if isinstance(t, Tensor):
                try:
                    new.__dict__[name] = F.broadcast_to(t, batch_shape)
                except ValueError:
                    raise ShapeError(f"{type(self).__name__}.expand: the batch shape "
                                     f"{self._batch_shape} does not expand to "
                                     f"{batch_shape}") from None
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
        value = _tensor(value, self._like)
        for t in reversed(self.transforms):
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._check_value(value, "cdf")
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
