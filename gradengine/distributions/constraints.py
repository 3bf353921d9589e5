"""``ge.distributions.constraints``, as ``torch.distributions.constraints``: the sets a
parameter or a sample must lie in. ``c.check(value)`` is a bool Tensor (one entry per
event: ``event_dim`` trailing axes are reduced); ``c.what`` says it in words for errors.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import linalg
from ..core.gradmode import no_grad
from ..ops import creation as C

__all__ = ["Constraint", "dependent", "dependent_property", "is_dependent", "independent",
           "boolean", "cat", "corr_cholesky", "one_hot", "nonnegative_integer",
           "positive_integer", "integer_interval", "real", "real_vector", "positive",
           "nonnegative", "greater_than", "greater_than_eq", "less_than", "multinomial",
           "unit_interval", "interval", "half_open_interval", "simplex", "lower_triangular",
           "lower_cholesky", "positive_definite", "positive_semidefinite", "square", "stack",
           "symmetric", "MixtureSameFamilyConstraint"]


class Constraint:
    """A set of values: :meth:`check` says which values lie in it."""

    is_discrete = False
    event_dim = 0
    what = "be valid"

    def check(self, value):
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__.lstrip("_") + "()"


class _Dependent(Constraint):
    """A placeholder whose set depends on other parameters (not checked)."""

    def __init__(self, *, is_discrete=False, event_dim=0):
        self.is_discrete, self.event_dim = is_discrete, event_dim

    def __call__(self, *, is_discrete=False, event_dim=0):
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(c):
    return isinstance(c, _Dependent)


class dependent_property(property):  # noqa: N801 - torch's name
    """A property whose constraint is :data:`dependent`."""

    def __init__(self, fn=None, *, is_discrete=False, event_dim=0):
        super().__init__(fn)
        self.is_discrete, self.event_dim = is_discrete, event_dim

    def __call__(self, fn):
        """``@dependent_property(is_discrete=..., event_dim=...)`` on a method."""
        return dependent_property(fn, is_discrete=self.is_discrete, event_dim=self.event_dim)


class _Independent(Constraint):
    """``base`` checked on each element, reduced over ``reinterpreted_batch_ndims`` more
    trailing axes."""

    def __init__(self, base, reinterpreted_batch_ndims):
        self.base, self.n = base, int(reinterpreted_batch_ndims)
        self.is_discrete = base.is_discrete
        self.event_dim = base.event_dim + self.n
        self.what = base.what

    def check(self, value):
        ok = self.base.check(value)
        if self.n:
            ok = ok.reshape(tuple(ok.shape[:ok.ndim - self.n]) + (-1,)).all(-1)
        return ok

    def __repr__(self):
        return f"IndependentConstraint({self.base!r}, {self.n})"


independent = _Independent


def _elementwise(check, what, name, is_discrete=False):
    class _C(Constraint):
        def check(self, value):
            with no_grad():
                return check(value)

        def __repr__(self):
            return name
    c = _C()
    c.what, c.is_discrete = what, is_discrete
    return c


def _is_int(v):
    return v == F.floor(v) if v.dtype.kind == "f" else v == v


def _is_zero(bound):
    return isinstance(bound, (int, float)) and bound == 0


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound
        self.what = ("must be positive" if _is_zero(lower_bound)
                     else f"must exceed {lower_bound}")

    def check(self, value):
        with no_grad():
            return value > self.lower_bound

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound
        self.what = ("must be non-negative" if _is_zero(lower_bound)
                     else f"must be at least {lower_bound}")

    def check(self, value):
        with no_grad():
            return value >= self.lower_bound

    def __repr__(self):
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound
        self.what = f"must be below {upper_bound}"

    def check(self, value):
        with no_grad():
            return value < self.upper_bound

    def __repr__(self):
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound
        self.what = f"must lie in [{lower_bound}, {upper_bound}]"

    def check(self, value):
        with no_grad():
            return (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    def __init__(self, lower_bound, upper_bound):
        super().__init__(lower_bound, upper_bound)
        self.what = f"must lie in [{lower_bound}, {upper_bound})"

    def check(self, value):
        with no_grad():
            return (value >= self.lower_bound) & (value < self.upper_bound)

    def __repr__(self):
        return (f"HalfOpenInterval(lower_bound={self.lower_bound}, "
                f"upper_bound={self.upper_bound})")


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound
        self.what = f"must be integers in [{lower_bound}, {upper_bound}]"

    def check(self, value):
        with no_grad():
            return _is_int(value) & (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound
        self.what = f"must be integers of at least {lower_bound}"

    def check(self, value):
        with no_grad():
            return _is_int(value) & (value >= self.lower_bound)

    def __repr__(self):
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Simplex(Constraint):
    event_dim = 1
    what = "must lie on the simplex (non-negative, summing to 1)"

    def check(self, value):
        with no_grad():
            return (value >= 0).all(-1) & (F.abs(value.sum(-1) - 1) < 1e-6)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1
    what = "must be one-hot vectors"

    def check(self, value):
        with no_grad():
            return ((value == 0) | (value == 1)).all(-1) & (value.sum(-1) == 1)


class _Multinomial(Constraint):
    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound
        self.what = f"must be non-negative counts summing to at most {upper_bound}"

    def check(self, value):
        with no_grad():
            return (value >= 0).all(-1) & (value.sum(-1) <= self.upper_bound)


class _Square(Constraint):
    event_dim = 2
    what = "must be square matrices"

    def check(self, value):
        with no_grad():
            ok = value.shape[-1] == value.shape[-2]
            return C.full(tuple(value.shape[:-2]), ok, dtype="bool", device=value.device)


class _Symmetric(_Square):
    what = "must be symmetric matrices"

    def check(self, value):
        with no_grad():
            if value.shape[-1] != value.shape[-2]:
                return super().check(value)
            return F.isclose(value, value.transpose(-1, -2), atol=1e-6).all(-1).all(-1)


class _LowerTriangular(Constraint):
    event_dim = 2
    what = "must be lower-triangular matrices"

    def check(self, value):
        with no_grad():
            return (F.tril(value) == value).reshape(tuple(value.shape[:-2]) + (-1,)).all(-1)


class _LowerCholesky(Constraint):
    event_dim = 2
    what = "must be lower-triangular with a positive diagonal"

    def check(self, value):
        with no_grad():
            tri = (F.tril(value) == value).reshape(tuple(value.shape[:-2]) + (-1,)).all(-1)
            return tri & (F.diagonal(value, 0, -2, -1) > 0).all(-1)


class _PositiveDefinite(_Symmetric):
    what = "must be symmetric positive-definite matrices"

    def check(self, value):
        with no_grad():
            sym = super().check(value)
            if value.shape[-1] != value.shape[-2]:
                return sym
            return sym & (linalg.cholesky_ex(value).info == 0)


class _CorrCholesky(Constraint):
    """Lower Cholesky factors of correlation matrices (rows of unit norm)."""

    event_dim = 2
    what = "must be Cholesky factors of correlation matrices"

    def check(self, value):
        with no_grad():
            tol = float(np.finfo(value.dtype).eps) * value.shape[-1] * 10
            row_norm = F.sqrt((value * value).sum(-1))
            unit = (F.abs(row_norm - 1.0) <= tol).all(-1)
            return _LowerCholesky().check(value) & unit


class _PositiveSemidefinite(_Symmetric):
    what = "must be symmetric positive-semidefinite matrices"

    def check(self, value):
        with no_grad():
            sym = super().check(value)
            if value.shape[-1] != value.shape[-2]:
                return sym
            return sym & (linalg.eigvalsh(value) >= 0).all(-1)


def _split(value, dim, lengths):
    d = dim + value.ndim if dim < 0 else dim
    out, start = [], 0
    for n in lengths:
        out.append(value[(slice(None),) * d + (slice(start, start + n),)])
        start += n
    return out


class _Cat(Constraint):
    """``cat(cseq, dim=0, lengths=None)``: ``cseq[i]`` on the i-th slice along ``dim``."""

    def __init__(self, cseq, dim=0, lengths=None):
        self.cseq = list(cseq)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise ValueError("cat: lengths must match the constraints")
        self.dim = dim
        self.what = "must satisfy each constraint on its slice"

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        with no_grad():
            parts = [c.check(v) for c, v in zip(self.cseq, _split(value, self.dim,
                                                                   self.lengths))]
            return F.cat(parts, dim=self.dim)

    def __repr__(self):
        return "Cat()"


class _Stack(Constraint):
    """``stack(cseq, dim=0)``: ``cseq[i]`` on the i-th entry along ``dim``."""

    def __init__(self, cseq, dim=0):
        self.cseq, self.dim = list(cseq), dim
        self.what = "must satisfy each constraint on its slice"

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        dim = max(c.event_dim for c in self.cseq)
        if self.dim + dim < 0:
            dim += 1
        return dim

    def check(self, value):
        with no_grad():
            d = self.dim + value.ndim if self.dim < 0 else self.dim
            vs = [value[(slice(None),) * d + (i,)] for i in range(value.shape[d])]
            return F.stack([c.check(v) for c, v in zip(self.cseq, vs)], dim=self.dim)

    def __repr__(self):
        return "Stack()"


class MixtureSameFamilyConstraint(Constraint):
    """The support of a ``MixtureSameFamily``: its component's support, checked against
    each component and reduced over them."""

    def __init__(self, base_constraint):
        self.base_constraint = base_constraint
        self.what = base_constraint.what

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim

    def check(self, value):
        with no_grad():
            if value.ndim < self.event_dim:
                raise ValueError(f"value must have at least {self.event_dim} dimensions")
            ok = self.base_constraint.check(value.unsqueeze(-1 - self.event_dim))
            keep = value.ndim - self.event_dim
            return ok.reshape(tuple(ok.shape[:keep]) + (-1,)).all(-1)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_constraint!r})"


dependent = _Dependent()
boolean = _elementwise(lambda v: (v == 0) | (v == 1), "must be 0 or 1", "Boolean()", True)
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _elementwise(lambda v: v == v, "must be real (not NaN)", "Real()")
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
multinomial = _Multinomial
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
positive_semidefinite = _PositiveSemidefinite()
corr_cholesky = _CorrCholesky()
cat = _Cat
stack = _Stack
square = _Square()
symmetric = _Symmetric()
