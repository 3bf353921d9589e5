"""Gradient checking against float64 central finite differences (first and second order)."""

from __future__ import annotations

import numpy as np

from . import backend
from .core import Tensor, enable_grad, grad, no_grad
from .errors import GraphError

_F64 = np.dtype("float64")


class GradcheckError(RuntimeError):
    """The analytical gradient disagrees with finite differences."""


def _checked(out, name):
    """``out`` when it is a Tensor or a sequence of Tensors; else GraphError: a check of a
    function that returns a number or None would pass without checking anything."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    bad = [type(o).__name__ for o in outs if not isinstance(o, Tensor)]
    if bad or not outs:
        raise GraphError(f"{name}: the function must return a Tensor or a tuple of Tensors, "
                         f"got {type(out).__name__}" + (f" holding {', '.join(bad)}"
                                                         if isinstance(out, (tuple, list))
                                                         else ""))
    if not any(o.dtype.kind == "f" for o in outs):
        raise GraphError(f"{name}: the function returned no floating-point Tensor (dtypes "
                         f"{', '.join(o.dtype.name for o in outs)}): nothing to check")
    return out


def _outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _to64(inputs):
    xs = []
    for t in inputs:
        if isinstance(t, Tensor) and t.dtype.kind == "f":
            # C order: perturbing one element goes through a flat view of the data
            x = Tensor._make(t.data.astype(_F64, order="C", copy=True), t.device)
            x.requires_grad = t.requires_grad
            xs.append(x)
        else:
            xs.append(t)
    return xs


def _host(a):
    return a if isinstance(a, np.ndarray) else backend.cupy().asnumpy(a)


def _eval(fn, xs):
    with no_grad():
        return [_host(o.data).astype(_F64).ravel() for o in _outputs(fn(*xs))]


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              max_full=64, n_directions=3, seed=0):
    """Compare ``fn``'s analytical gradients with float64 central differences.

    The inputs that require grad are copied to float64. Up to ``max_full`` input elements
    the full Jacobian is compared; beyond that, ``n_directions`` random directions.

    Returns:
        True when every entry matches within ``atol + rtol * |numerical|``.
    Raises:
        GradcheckError: naming the output and input index and both values.
    """
    return _gradcheck(fn, inputs, eps, atol, rtol, raise_exception, max_full, n_directions,
                      seed, "gradcheck")


def _gradcheck(fn, inputs, eps, atol, rtol, raise_exception, max_full, n_directions, seed,
               name):
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    xs = _to64(inputs)
    diff = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    out = fn(*xs)
    outs = _outputs(_checked(out, name) if name else out)
    n_in = sum(xs[i].size for i in diff)
    try:
        if n_in <= max_full:
            _check_full(fn, xs, diff, outs, eps, atol, rtol)
        else:
            _check_directions(fn, xs, diff, outs, eps, atol, rtol, n_directions, seed)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _analytic_rows(outs, xs, diff, k, m):
    """d out_k[m] / d x_i for every differentiable input i (flattened), via ge.grad."""
    o = outs[k]
    xp = backend.xp_of(o.device)
    if not o.requires_grad:
        return [np.zeros(xs[i].size) for i in diff]
    onehot = xp.zeros(o.size, dtype=o.dtype)
    onehot[m] = 1
    g = Tensor._make(onehot.reshape(o.shape), o.device)
    grads = grad([o], [xs[i] for i in diff], [g], retain_graph=True, allow_unused=True)
    return [np.zeros(xs[i].size) if gi is None else _host(gi.data).astype(_F64).ravel()
            for i, gi in zip(diff, grads)]


def _perturbed(fn, xs, i, j, delta):
    x = xs[i]
    flat = x.data.reshape(-1)
    old = flat[j].item()
    flat[j] = old + delta
    try:
        return _eval(fn, xs)
    finally:
        flat[j] = old


def _check_full(fn, xs, diff, outs, eps, atol, rtol):
    numerical = {}  # (i, j) -> list of d outs / d x_i[j]
    for i in diff:
        for j in range(xs[i].size):
            plus = _perturbed(fn, xs, i, j, eps)
            minus = _perturbed(fn, xs, i, j, -eps)
            numerical[i, j] = [(p - q) / (2 * eps) for p, q in zip(plus, minus)]
    for k, o in enumerate(outs):
        for m in range(o.size):
            rows = _analytic_rows(outs, xs, diff, k, m)
            for row, i in zip(rows, diff):
                for j in range(xs[i].size):
                    num = numerical[i, j][k][m]
                    ana = row[j]
                    if not np.isclose(ana, num, atol=atol, rtol=rtol, equal_nan=True):
                        raise GradcheckError(
                            f"gradcheck: Jacobian mismatch for output {k} element {m} with "
                            f"respect to input {i} element {j}: numerical {num!r} vs "
                            f"analytical {ana!r}")


def _check_directions(fn, xs, diff, outs, eps, atol, rtol, n_directions, seed):
    rng = np.random.default_rng(seed)
    for d in range(n_directions):
        us = [rng.standard_normal(o.size) for o in outs]
        vs = {i: rng.standard_normal(xs[i].size) for i in diff}
        olds = {i: xs[i].data.copy() for i in diff}
        results = []
        for sign in (1, -1):
            for i in diff:
                xp = backend.xp_of(xs[i].device)
                step = xp.asarray(vs[i].reshape(xs[i].shape)) * (sign * eps)
                xs[i].data = olds[i] + step
            results.append(_eval(fn, xs))
        for i in diff:
            xs[i].data = olds[i]
        num = sum(float(u @ ((p - q) / (2 * eps))) for u, p, q in zip(us, *results))
        live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        ana = 0.0
        if live:
            gos = [Tensor._make(backend.xp_of(o.device).asarray(u.reshape(o.shape)), o.device)
                   for o, u in live]
            grads = grad([o for o, _ in live], [xs[i] for i in diff], gos, retain_graph=True,
                         allow_unused=True)
            ana = sum(float(_host(g.data).astype(_F64).ravel() @ vs[i])
                      for g, i in zip(grads, diff) if g is not None)
        if not np.isclose(ana, num, atol=atol * max(1, len(vs)), rtol=rtol):
            raise GradcheckError(f"gradcheck: directional derivative mismatch in random "
                                 f"direction {d} (inputs {diff}): numerical {num!r} vs "
                                 f"analytical {ana!r}")


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0, **kwargs):
    """Check second-order gradients: gradcheck of ``ge.grad(fn(x), x, v, create_graph=True)``
    with respect to both the inputs and the upstream gradients ``v``."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    xs = _to64(inputs)
    diff = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(_checked(fn(*xs), "gradgradcheck"))
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        gos = []
        for o in outs:
            xp = backend.xp_of(o.device)
            v = Tensor._make(xp.asarray(rng.standard_normal(o.shape)), o.device)
            v.requires_grad = True
            gos.append(v)
    else:
        gos = _to64(grad_outputs if isinstance(grad_outputs, (list, tuple)) else [grad_outputs])
        for v in gos:
            v.requires_grad = True
    n = len(xs)

    def first_order(*args):
        ins, vs = list(args[:n]), list(args[n:])
        with enable_grad():  # finite differences evaluate this under no_grad
            return _first_order(ins, vs)

    def _first_order(ins, vs):
        os_ = _outputs(fn(*ins))
        live = [(o, v) for o, v in zip(os_, vs) if o.requires_grad]
        if not live:
            return ()
        gs = grad([o for o, _ in live], [ins[i] for i in diff], [v for _, v in live],
                  create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return _gradcheck(first_order, xs + gos, eps, atol, rtol, raise_exception,
                      kwargs.get("max_full", 64), kwargs.get("n_directions", 3), seed, None)
