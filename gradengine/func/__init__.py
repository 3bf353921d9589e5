"""``torch.func``'s names (functorch): function transforms built on gradengine's autograd.

    grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian  (transforms.py)
    vmap                                                                  (vmap.py)
    functional_call, stack_module_state                                  (module.py)

They compose in any order: ``grad(grad(f))``, ``vmap(grad(f))``, ``jacrev(jacrev(f))``,
``grad`` of ``functional_call`` with respect to a dict of parameters. Forward mode is
computed by reverse mode (the values are the same) and vmap is a loop over the mapped
dimension; see docs/from-pytorch.md.
"""

from __future__ import annotations

from .module import functional_call, stack_module_state
from .transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from .vmap import vmap

__all__ = ["functional_call", "functionalize", "grad", "grad_and_value", "hessian", "jacfwd",
           "jacrev", "jvp", "linearize", "stack_module_state", "vjp", "vmap"]


def functionalize(func, *, remove="mutations"):
    """``torch.func.functionalize``: ``func`` itself. gradengine runs eagerly and its
    transforms see in-place ops as recorded ops, so there is nothing to rewrite."""
    if remove not in ("mutations", "mutations_and_views"):
        raise ValueError(f"functionalize: remove must be 'mutations' or "
                         f"'mutations_and_views', got {remove!r}")
    return func
