"""``biject_to`` and ``transform_to``, as ``torch.distributions.constraint_registry``: the
transform from unconstrained reals onto a constraint's set (``biject_to``'s bijective,
``transform_to``'s maybe not, e.g. the simplex by softmax). Register more with
``biject_to.register(constraint_or_class, factory)``."""

from __future__ import annotations

from . import constraints
from . import transforms as T

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """Constraint class -> factory(constraint) -> Transform."""

    def __init__(self):
        self._registry = {}

    def register(self, constraint, factory=None):
        """Register ``factory`` for a Constraint subclass (or an instance's class); without
        a factory, a decorator."""
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not isinstance(constraint, type) or not issubclass(constraint,
                                                               constraints.Constraint):
            raise TypeError(f"Expected constraint to be either a Constraint subclass or "
                            f"instance, but got {constraint}")
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint):
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(f"Cannot transform {type(constraint).__name__} "
                                      "constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _both(c, fn):
    biject_to.register(c, fn)
    transform_to.register(c, fn)


_both(constraints.real, lambda c: T.identity_transform)


def _biject_independent(c):
    base = biject_to(c.base)
    return T.IndependentTransform(base, c.n)


def _transform_independent(c):
    base = transform_to(c.base)
    return T.IndependentTransform(base, c.n)


biject_to.register(constraints.independent, _biject_independent)
transform_to.register(constraints.independent, _transform_independent)
# positive and nonnegative share greater_than's classes: the general factory covers them


def _greater_than(c):
    return T.ComposeTransform([T.ExpTransform(), T.AffineTransform(c.lower_bound, 1)])


_both(constraints.greater_than, _greater_than)
_both(constraints.greater_than_eq, _greater_than)


def _less_than(c):
    return T.ComposeTransform([T.ExpTransform(), T.AffineTransform(c.upper_bound, -1)])


_both(constraints.less_than, _less_than)


def _interval(c):
    lo, hi = c.lower_bound, c.upper_bound
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo == 0 and hi == 1:
        return T.SigmoidTransform()
    return T.ComposeTransform([T.SigmoidTransform(), T.AffineTransform(lo, hi - lo)])


_both(constraints.interval, _interval)
_both(constraints.half_open_interval, _interval)
biject_to.register(constraints.simplex, lambda c: T.StickBreakingTransform())
transform_to.register(constraints.simplex, lambda c: T.SoftmaxTransform())
transform_to.register(constraints.lower_cholesky, lambda c: T.LowerCholeskyTransform())
transform_to.register(constraints.positive_definite,
                      lambda c: T.PositiveDefiniteTransform())
transform_to.register(constraints.positive_semidefinite,
                      lambda c: T.PositiveDefiniteTransform())
_both(constraints.corr_cholesky, lambda c: T.CorrCholeskyTransform())
biject_to.register(constraints.cat, lambda c: T.CatTransform(
    [biject_to(x) for x in c.cseq], c.dim, c.lengths))
transform_to.register(constraints.cat, lambda c: T.CatTransform(
    [transform_to(x) for x in c.cseq], c.dim, c.lengths))
biject_to.register(constraints.stack, lambda c: T.StackTransform(
    [biject_to(x) for x in c.cseq], c.dim))
transform_to.register(constraints.stack, lambda c: T.StackTransform(
    [transform_to(x) for x in c.cseq], c.dim))
