"""Gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``, as ``torch.nn.utils``) and
:func:`load_torch_state_dict`, which moves a PyTorch model's weights into the equivalent
gradengine model.

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()

The clipping functions are ops run under no_grad (as PyTorch's), writing into each
gradient in place: ``ge.jit`` records and replays them like any op, so a jitted step that
clips equals the eager one.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..linalg import vector_norm
from ..ops.creation import zeros
from ..ops.shape import stack

__all__ = ["clip_grad_norm_", "clip_grad_value_", "load_torch_state_dict"]


def _grads(parameters, op):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    out = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor")
        g = p.grad
        if g is None:
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"{op}: the .grad of parameter {i} (shape {p.shape}) is a "
                            f"{type(g).__name__}, not a gradengine Tensor")
        out.append(g)
    return out


def _vector_norm(xp, x, p):
    """``torch.linalg.vector_norm(x, p)`` of an array, as an array of x's dtype."""
    if x.size == 0:
        return xp.zeros((), dtype=x.dtype)
    a = xp.abs(x)
    if p == math.inf:
        return a.max()
    if p == -math.inf:
        return a.min()
    if p == 0:
        return xp.asarray(xp.count_nonzero(x), dtype=x.dtype)
    if p == 1:
        return a.sum()
    if p == 2:
        return xp.sqrt((a * a).sum())
    return (a ** p).sum() ** (1.0 / p)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale the gradients so that their total norm is at most ``max_norm``, in place.

    As ``torch.nn.utils.clip_grad_norm_``: the total norm is the ``norm_type``-norm of the
    per-gradient norms; every gradient is multiplied by ``min(1, max_norm / (total +
    1e-6))``.

    Args:
        parameters: a Tensor or an iterable of Tensors (parameters without a gradient are
            skipped). max_norm: the largest allowed norm. norm_type: p of the p-norm
            (``float("inf")`` for the max norm). error_if_nonfinite: raise if the total
            norm is NaN or infinite. foreach: accepted for PyTorch compatibility.
    Returns:
        The total norm of the gradients before clipping, a 0-d Tensor.
    Raises:
        RuntimeError: a non-finite total norm with ``error_if_nonfinite``; nothing changed.
    Example:
        >>> total = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    """
    grads = _grads(parameters, "clip_grad_norm_")
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor._make(np.zeros((), dtype=backend.DEFAULT_FLOAT), backend.CPU)
    device = grads[0].device
    with no_grad():
        norms = [_grad_norm(g, norm_type).to(device) for g in grads]
        dtype = np.result_type(*[n.dtype for n in norms])
        total = _grad_norm(stack([n.to(dtype) for n in norms]), norm_type)
        if error_if_nonfinite and not bool(total.isfinite().item()):
            raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                               f"gradients is non-finite ({total.item()}), so it cannot be "
                               "clipped; pass error_if_nonfinite=False to scale by it anyway")
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in _distinct(grads):
            g.mul_(coef.to(g.device, g.dtype))
    return total


def _grad_norm(g, p):
    """``torch.linalg.vector_norm(g, p)`` as ops (0-d, g's dtype)."""
    if g.numel() == 0:
        return zeros((), dtype=g.dtype, device=g.device)
    if p == 2:
        return vector_norm(g)
    a = g.abs()
    if p == math.inf:
        return a.max()
    if p == -math.inf:
        return a.min()
    if p == 0:
        return (g != 0).sum().to(g.dtype)
    if p == 1:
        return a.sum()
    return (a ** p).sum() ** (1.0 / p)


def _distinct(grads):
    """The gradients with their arrays told apart: two that hold one array (or one Tensor)
    are written once, so each is scaled once."""
    seen, out = set(), []
    for g in grads:
        if id(g.data) not in seen:
            seen.add(id(g.data))
            out.append(g)
    return out


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient to ``[-clip_value, clip_value]``, in place (as PyTorch).

    Example:
        >>> nn.utils.clip_grad_value_(model.parameters(), 0.5)
    """
    grads = _grads(parameters, "clip_grad_value_")
    clip_value = float(clip_value)
    with no_grad():
        for g in _distinct(grads):
            g.clamp_(-clip_value, clip_value)


# ---------------------------------------------------------------- from PyTorch

def _transposed_keys(module):
    """The state-dict keys of weights gradengine keeps as (in, out) where PyTorch keeps
    (out, in): Linear's and Dense's, and any module's listed in ``_torch_transposed``."""
    from .layers import Dense, Linear
    keys = set()
    for prefix, mod in module.named_modules():
        names = tuple(getattr(mod, "_torch_transposed", ()))
        if isinstance(mod, (Linear, Dense)):
            names += ("weight",)
        for n in names:
            keys.add(f"{prefix}.{n}" if prefix else n)
    return keys


def _as_numpy(value, key):
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    elif isinstance(value, Tensor):
        value = value.data
    arr = value if hasattr(value, "dtype") and hasattr(value, "shape") else np.asarray(value)
    return arr


def load_torch_state_dict(module, state_dict, strict: bool = True):
    """Load a PyTorch ``state_dict`` into the equivalent gradengine model, all or nothing.

    The keys must be the same (``"0.weight"``, ``"fc1.bias"``: build the gradengine model
    with the same structure and attribute names). Values may be torch tensors or NumPy
    arrays. Linear (and Dense) weights are transposed: PyTorch keeps them as
    (out_features, in_features), gradengine as (in_features, out_features). Every other
    value keeps its layout (convolution kernels share PyTorch's (out, in, kh, kw)).
    Values are converted to each parameter's dtype and device.

    Args:
        module: the gradengine Module. state_dict: ``torch_model.state_dict()`` or a dict
            of arrays. strict: require exactly the model's keys.
    Returns:
        ``(missing_keys, unexpected_keys)``, as ``Module.load_state_dict``.
    Raises:
        KeyError: missing or unexpected keys (strict), naming them all.
        ShapeError: a value whose shape (after transposing) differs from the parameter's,
            naming the key and the PyTorch, transposed and model shapes.
        TypeError: an object or complex array. In every case the model is unchanged.
    Example:
        >>> tm = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(),
        ...                          torch.nn.Linear(8, 1))
        >>> gm = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        >>> nn.utils.load_torch_state_dict(gm, tm.state_dict())
    """
    if not hasattr(state_dict, "items"):
        raise TypeError(f"load_torch_state_dict: expected a dict of tensors or arrays, got "
                        f"{type(state_dict).__name__}")
    transposed = _transposed_keys(module)
    own = dict(module.named_parameters())
    converted, bad = {}, []
    for key, value in state_dict.items():
        arr = _as_numpy(value, key)
        if key in transposed:
            if arr.ndim != 2:
                bad.append(f"{key!r}: PyTorch shape {tuple(arr.shape)} is not 2-D (a Linear "
                           "weight)")
                continue
            t = np.ascontiguousarray(arr.T) if isinstance(arr, np.ndarray) else arr.T.copy()
            if key in own and tuple(t.shape) != own[key].shape:
                bad.append(f"{key!r}: PyTorch (out, in) {tuple(arr.shape)}, transposed "
                           f"{tuple(t.shape)}, model (in, out) {own[key].shape}")
            arr = t
        elif key in own and tuple(arr.shape) != own[key].shape:
            bad.append(f"{key!r}: PyTorch {tuple(arr.shape)} vs model {own[key].shape}")
        converted[key] = arr
    if bad:
        raise ShapeError("load_torch_state_dict: shape mismatch for " + "; ".join(bad))
    return module.load_state_dict(converted, strict=strict)
