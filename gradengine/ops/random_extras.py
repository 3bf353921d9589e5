"""Op family: PyTorch's in-place random fills (``random_``, ``uniform_``, ``normal_``,
``exponential_``, ``cauchy_``, ``geometric_``, ``log_normal_``, ``bernoulli_``) and the
samplers ``poisson``, ``binomial``, ``randint_like``, ``rand_like``, ``randn_like``.

Every draw is an op marked ``random`` (as ``ge.randn``'s), so it goes through the one
dispatch and a ge.jit replay draws anew; each takes the generator seeded by
``ge.manual_seed`` or, with ``generator=``, a ``ge.Generator`` of the user's. The
distributions are made from the generator's uniform and normal draws (inverse CDFs), so
NumPy and CuPy compute the same function; ``poisson`` and ``binomial`` call the
generator's own samplers. The draws are not PyTorch's bit streams (another generator),
only the same distributions. See docs/from-pytorch.md.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError
from . import copy_
from .creation import _float_only, _random

_DIGITS = {"float16": 11, "float32": 24, "float64": 53}


def _generator(x, generator, name):
    dev = backend.device_of_array(x)
    return dev, backend.rng(dev) if generator is None else generator.for_device(dev, name)


def _draw(gen, dev, kind, shape, args):
    """Samples of ``kind`` (float64, or int64 for "integers") from ``gen`` of ``shape``."""
    cpu = dev == "cpu"
    xp = backend.xp_of(dev)
    if kind == "integers":
        lo, hi = args
        return gen.integers(lo, hi, size=shape) if cpu else gen.randint(lo, hi, size=shape)
    if kind in ("normal", "log_normal"):
        mean, std = args
        z = mean + std * gen.standard_normal(shape)
        return xp.exp(z) if kind == "log_normal" else z
    u = gen.random(shape) if cpu else gen.random_sample(shape)
    if kind == "uniform":
        return args[0] + (args[1] - args[0]) * u
    if kind == "exponential":
        return -xp.log1p(-u) / args[0]
    if kind == "cauchy":
        return args[0] + args[1] * xp.tan(math.pi * (u - 0.5))
    if kind == "geometric":  # trials up to the first success: 1, 2, ...
        return xp.maximum(xp.ceil(xp.log1p(-u) / math.log1p(-args[0])), 1.0)
    return u < args[0]  # "bernoulli"


@op(name="random_fill", params=("kind", "args", "generator"), differentiable=False,
    random=True, quiet=True)
def sample_like(xp, x, kind, args, generator):
    """Samples of ``kind`` with ``args`` in x's shape and dtype (x's values are not read),
    drawn when the op runs."""
    dev, gen = _generator(x, generator, kind)
    with backend.cuda_context(dev):
        return _draw(gen, dev, kind, x.shape, args).astype(x.dtype, copy=False)


@op(name="bernoulli_fill", params=("generator",), differentiable=False, random=True)
def bernoulli_like(xp, x, p, generator):
    """1 where a uniform draw is below ``p`` (broadcast to x's shape), else 0; x's dtype."""
    dev, gen = _generator(x, generator, "bernoulli_")
    with backend.cuda_context(dev):
        u = gen.random(x.shape) if dev == "cpu" else gen.random_sample(x.shape)
        return (u < p).astype(x.dtype)


@op(name="poisson", params=("generator",), differentiable=False, random=True)
def poisson_op(xp, rates, generator):
    """Poisson counts with the rates ``rates``, in their dtype."""
    dev, gen = _generator(rates, generator, "poisson")
    with backend.cuda_context(dev):
        # (xp.asarray: a 0-d rate gives NumPy's scalar)
        return xp.asarray(gen.poisson(rates.astype(np.float64))).astype(rates.dtype)


@op(name="binomial", params=("generator",), differentiable=False, random=True)
def binomial_op(xp, count, prob, generator):
    """Successes in ``count`` trials of probability ``prob``, in count's dtype."""
    dev, gen = _generator(count, generator, "binomial")
    shape = np.broadcast_shapes(count.shape, prob.shape)
    n = xp.broadcast_to(count, shape).astype(np.int64)
    p = xp.broadcast_to(prob, shape).astype(np.float64)
    with backend.cuda_context(dev):
        return xp.asarray(gen.binomial(n, p)).astype(count.dtype)


# ---------------------------------------------------------------- in-place fills

def _fill(self, kind, args, generator, name, floating=True):
    if floating and self.dtype.kind != "f":
        raise ArgumentError(f"{name}: expects a floating tensor, got dtype "
                            f"{self.dtype.name} (shape {tuple(self.shape)}); PyTorch raises "
                            "NotImplementedError or RuntimeError, both RuntimeErrors")
    return copy_(self, apply(sample_like, self, params=(kind, args, generator)))


def _number(v, name, what):
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{name}: {what} must be a number, got {v!r}")
    return float(v)


def random_(self, from_=None, to=None, *, generator=None):
    """Integers drawn uniformly from [from, to) (``random_(to)``: [0, to)); without bounds,
    from [0, 2**mantissa] for floating dtypes and [0, max] for integer ones, as torch."""
    if from_ is not None and to is None:
        from_, to = 0, from_
    lo = 0 if from_ is None else int(from_)
    dt = self.dtype
    if to is None:
        hi = (2 ** _DIGITS[dt.name] + 1 if dt.kind == "f" else 2 if dt.kind == "b"
              else int(np.iinfo(dt).max) + 1)
    else:
        hi = int(to)
    if lo >= hi:
        raise ArgumentError(f"random_: expects 'from' to be less than 'to', but got "
                            f"from={lo} >= to={hi} (tensor of shape {tuple(self.shape)})")
    return _fill(self, "integers", (lo, hi), generator, "random_", floating=False)


def uniform_(self, from_=0.0, to=1.0, *, generator=None):
    """Fill with U[from, to) draws (floating tensors)."""
    a, b = _number(from_, "uniform_", "from"), _number(to, "uniform_", "to")
    if a > b:
        raise ArgumentError(f"uniform_: expects to return a [from, to) range, but found "
                            f"from={from_} > to={to}")
    return _fill(self, "uniform", (a, b), generator, "uniform_")


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with N(mean, std**2) draws (floating tensors)."""
    m, s = _number(mean, "normal_", "mean"), _number(std, "normal_", "std")
    if s < 0:
        raise ArgumentError(f"normal_: expects std >= 0.0, but found std {std}")
    return _fill(self, "normal", (m, s), generator, "normal_")


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with Exp(lambd) draws: density ``lambd * exp(-lambd * x)``."""
    lam = _number(lambd, "exponential_", "lambd")
    if not lam > 0:
        raise ArgumentError(f"exponential_: expects lambda > 0.0, but found lambda={lambd}")
    return _fill(self, "exponential", (lam,), generator, "exponential_")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy draws: density ``1/pi * sigma / ((x - median)**2 + sigma**2)``."""
    m, s = _number(median, "cauchy_", "median"), _number(sigma, "cauchy_", "sigma")
    if not s > 0:
        raise ArgumentError(f"cauchy_: expects sigma > 0.0, but found sigma={sigma}")
    return _fill(self, "cauchy", (m, s), generator, "cauchy_")


def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    q = _number(p, "geometric_", "p")
    if not 0 < q < 1:
        raise ArgumentError(f"geometric_: expects p to be in (0, 1), but got p={p}")
    return _fill(self, "geometric", (q,), generator, "geometric_", floating=False)


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with ``exp(N(mean, std**2))`` draws."""
    m, s = _number(mean, "log_normal_", "mean"), _number(std, "log_normal_", "std")
    if not s > 0:
        raise ArgumentError(f"log_normal_: expects std > 0.0, but found std={std}")
    return _fill(self, "log_normal", (m, s), generator, "log_normal_")


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 1 at probability ``p`` (a number, or a tensor broadcast to this shape),
    else 0."""
    if isinstance(p, Tensor):
        if p.device != self.device:
            from ..errors import DeviceError
            raise DeviceError(f"bernoulli_: p is on {p.device!r} but the tensor on "
                              f"{self.device!r}")
        return copy_(self, apply(bernoulli_like, self, p, params=(generator,)))
    q = _number(p, "bernoulli_", "p")
    if not 0 <= q <= 1:
        raise ArgumentError(f"bernoulli_: expects p to be in [0, 1], but got p={p}")
    return _fill(self, "bernoulli", (q,), generator, "bernoulli_", floating=False)


# ---------------------------------------------------------------- samplers

def poisson(input, generator=None) -> Tensor:  # noqa: A002 - torch's names
    """Poisson counts with rates ``input`` (floating, non-negative), in its dtype.

    Raises:
        ArgumentError: an integer tensor (torch: NotImplementedError) or a negative rate.
    """
    if input.dtype.kind != "f":
        raise ArgumentError(f"poisson: expects a floating tensor of rates, got dtype "
                            f"{input.dtype.name}")
    if bool((input.data < 0).any()):
        raise ArgumentError(f"poisson: invalid Poisson rate, expected rate to be "
                            f"non-negative (tensor of shape {tuple(input.shape)})")
    return apply(poisson_op, input, params=(generator,))


def binomial(count, prob, generator=None) -> Tensor:
    """Binomial(count, prob) draws (broadcast), in count's (floating) dtype.

    Raises:
        ArgumentError: an integer ``count`` (torch: ValueError), ``prob`` outside [0, 1]
            or a negative count.
    """
    if count.dtype.kind != "f":
        raise ArgumentError(f"binomial: only supports floating-point dtypes for count, got "
                            f"{count.dtype.name}")
    if not isinstance(prob, Tensor):
        prob = Tensor(prob, dtype=count.dtype, device=count.device)
    if bool((prob.data < 0).any()) or bool((prob.data > 1).any()) or bool(
            (count.data < 0).any()):
        raise ArgumentError(f"binomial: expects prob in [0, 1] and count >= 0 (shapes "
                            f"{tuple(count.shape)} and {tuple(prob.shape)})")
    try:
        np.broadcast_shapes(count.shape, prob.shape)
    except ValueError:
        from ..errors import ShapeError
        raise ShapeError(f"binomial: count of shape {tuple(count.shape)} and prob of shape "
                         f"{tuple(prob.shape)} do not broadcast") from None
    return apply(binomial_op, count, prob, params=(generator,))


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None,  # noqa: A002
                 requires_grad=False, memory_format=None) -> Tensor:
    """Integers from [low, high) (``randint_like(x, high)``: [0, high)) of input's shape,
    dtype and device."""
    if high is None:
        low, high = 0, low
    if int(high) <= int(low):
        raise ArgumentError(f"randint_like: expects 'from' to be less than 'to', but got "
                            f"from={low} >= to={high}")
    return _random("integers", (tuple(input.shape),), dtype or input.dtype,
                   device or input.device, requires_grad, "randint_like",
                   (int(low), int(high)), generator=generator)


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False,  # noqa: A002
              memory_format=None, layout=None) -> Tensor:
    """U[0, 1) draws of input's shape, dtype and device (floating point only, as torch)."""
    return _random("uniform", (tuple(input.shape),), _float_only(dtype or input.dtype,
                                                                  "rand_like"),
                   device or input.device, requires_grad, "rand_like", generator=generator)


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False,  # noqa: A002
               memory_format=None, layout=None) -> Tensor:
    """N(0, 1) draws of input's shape, dtype and device (floating point only, as torch)."""
    return _random("normal", (tuple(input.shape),), _float_only(dtype or input.dtype,
                                                                 "randn_like"),
                   device or input.device, requires_grad, "randn_like", generator=generator)


TENSOR_METHODS = {
    "random_": random_, "uniform_": uniform_, "normal_": normal_,
    "exponential_": exponential_, "cauchy_": cauchy_, "geometric_": geometric_,
    "log_normal_": log_normal_, "bernoulli_": bernoulli_,
}

__all__ = ["poisson", "binomial", "randint_like", "rand_like", "randn_like"]
