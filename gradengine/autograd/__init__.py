"""``torch.autograd``'s names: :class:`Function` (custom ops), :func:`grad`,
:func:`backward`, the grad-mode switches and :mod:`.functional` (jacobian, hessian, vjp,
jvp, hvp, vhp)."""

from __future__ import annotations

from ..core import gradmode as grad_mode  # noqa: F401 - torch.autograd.grad_mode
from ..core.backward import grad as _grad
from ..core.backward import run_backward
from ..core.gradmode import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_anomaly_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from ..core.tensor import Tensor
from . import functional
from .function import Function, FunctionCtx, once_differentiable

__all__ = ["Function", "FunctionCtx", "Variable", "backward", "detect_anomaly", "enable_grad",
           "functional", "grad", "gradcheck", "gradgradcheck", "inference_mode",
           "is_anomaly_enabled", "no_grad", "once_differentiable", "set_detect_anomaly",
           "set_grad_enabled"]

# torch.autograd.gradcheck's keywords that change how torch checks, not what: accepted and
# ignored (gradengine always compares against float64 central differences)
_TORCH_CHECK_KW = ("nondet_tol", "check_undefined_grad", "check_grad_dtypes",
                   "check_batched_grad", "check_batched_forward_grad", "check_forward_ad",
                   "check_backward_ad", "fast_mode", "masked", "check_sparse_nnz",
                   "gen_non_contig_grad_outputs")


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              **kwargs):
    """``torch.autograd.gradcheck``: ``func``'s gradients against float64 central
    differences (see :func:`gradengine.gradcheck`); True, or GradcheckError (a
    RuntimeError) when ``raise_exception``, else False."""
    from ..gradcheck import gradcheck as _check
    _drop(kwargs, "gradcheck")
    return _check(func, inputs, eps=eps, atol=atol, rtol=rtol,
                  raise_exception=raise_exception)


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, **kwargs):
    """``torch.autograd.gradgradcheck``: second-order gradients against finite
    differences (see :func:`gradengine.gradgradcheck`)."""
    from ..gradcheck import gradgradcheck as _check
    _drop(kwargs, "gradgradcheck")
    return _check(func, inputs, grad_outputs, eps=eps, atol=atol, rtol=rtol,
                  raise_exception=raise_exception)


def _drop(kwargs, name):
    bad = [k for k in kwargs if k not in _TORCH_CHECK_KW]
    if bad:
        raise TypeError(f"{name}() got an unexpected keyword argument {bad[0]!r}")


def Variable(data, requires_grad=False, volatile=False):  # noqa: N802 - torch's name
    """``torch.autograd.Variable`` (deprecated in torch): the tensor itself, with
    ``requires_grad`` set when asked."""
    t = data if isinstance(data, Tensor) else Tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False,
         materialize_grads=False):
    """``torch.autograd.grad``: the gradients of ``outputs`` with respect to ``inputs``
    (a tuple); ``materialize_grads=True`` gives zeros instead of None for unused inputs;
    ``is_grads_batched=True`` takes each ``grad_outputs`` with a leading batch axis and
    gives the gradients stacked along it (one backward per batch entry here, where torch
    vmaps); ``only_inputs`` is accepted (deprecated in torch, always True)."""
    allow_unused = bool(allow_unused) or materialize_grads
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                             allow_unused, materialize_grads)
    grads = _grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)
    if not materialize_grads:
        return grads
    from ..ops.creation import zeros_like
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    return tuple(zeros_like(t) if g is None else g for g, t in zip(grads, ins))


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    from ..ops.creation import zeros_like
    from ..ops.shape import stack
    gos = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs or ())
    if not gos or any(g is None for g in gos):
        raise ValueError("grad: is_grads_batched=True needs grad_outputs with a leading "
                         "batch axis")
    n = gos[0].shape[0] if gos[0].ndim else 0
    if any(g.ndim == 0 or g.shape[0] != n for g in gos):
        raise ValueError(f"grad: batched grad_outputs must share their first dimension, got "
                         f"shapes {[tuple(g.shape) for g in gos]}")
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    rows = []
    for k in range(n):
        rows.append(grad(outputs, inputs, [g[k] for g in gos],
                         retain_graph=True if k < n - 1 else retain_graph,
                         create_graph=create_graph, allow_unused=allow_unused,
                         materialize_grads=materialize_grads))
    out = []
    for j, t in enumerate(ins):
        col = [r[j] for r in rows]
        if all(c is None for c in col):
            out.append(None)
        else:
            out.append(stack([zeros_like(t) if c is None else c for c in col]))
    return tuple(out)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """``torch.autograd.backward``: accumulate the gradients of several ``tensors`` at once
    into the leaves' ``.grad`` (only into ``inputs`` when given).

    Raises:
        GraphError / ShapeError: as ``Tensor.backward``.
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * (1 if grad_tensors is not None else len(tensors))
    grad_tensors = list(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"backward: got {len(grad_tensors)} grad_tensors for "
                         f"{len(tensors)} tensors")
    run_backward("backward", tensors, grad_tensors, retain_graph, create_graph, inputs)


# -- autox: torch.autograd.graph (saved-tensor hooks, Node), torch.autograd.profiler
from . import graph, profiler  # noqa: E402

__all__ += ["graph", "profiler"]
