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
         allow_unused=False, materialize_grads=False):
    """``torch.autograd.grad``: the gradients of ``outputs`` with respect to ``inputs``
    (a tuple); ``materialize_grads=True`` gives zeros instead of None for unused inputs."""
    grads = _grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                  allow_unused or materialize_grads)
    if not materialize_grads:
        return grads
    from ..ops.creation import zeros_like
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    return tuple(zeros_like(t) if g is None else g for g, t in zip(grads, ins))


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
