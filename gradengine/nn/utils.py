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
from .parametrize import _norm_except_dim

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
    for prefix, mod in module.named_modules(remove_duplicate=False):  # tied: every name
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
    own = dict(module.named_parameters(remove_duplicate=False))
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


# ---------------------------------------------------------------- vectors, norms, hooks forms

def parameters_to_vector(parameters) -> Tensor:
    """The parameters flattened and concatenated into one 1-d Tensor (differentiable), as
    ``torch.nn.utils.parameters_to_vector``.

    Raises:
        DeviceError (from concatenate): parameters on different devices.
    """
    from ..ops.shape import concatenate, reshape
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    return concatenate([reshape(p, (-1,)) for p in params], 0)


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-d ``vec`` into ``parameters`` (their values, not
    their history), as ``torch.nn.utils.vector_to_parameters``; all or nothing.

    Raises:
        TypeError: vec is not a Tensor. ShapeError: vec is not 1-d or its size differs from
            the parameters' total size.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total = sum(p.size for p in params)
    if vec.ndim != 1 or vec.size != total:
        raise ShapeError(f"vector_to_parameters: vec of shape {vec.shape} does not hold the "
                         f"{total} values of the parameters")
    at, writes = 0, []
    for p in params:
        arr = backend.to_device_array(vec.data[at:at + p.size], p.device)
        writes.append((p, arr.reshape(p.shape).astype(p.dtype, copy=True)))
        at += p.size
    for p, arr in writes:
        p.data = arr
        p._version += 1


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (a 0-d Tensor), as
    ``torch.nn.utils.get_total_norm`` (for gradients: ``[p.grad for p in params]``); ops
    under no_grad, as :func:`clip_grad_norm_`."""
    ts = [tensors] if isinstance(tensors, Tensor) else [t for t in tensors if t is not None]
    norm_type = float(norm_type)
    if not ts:
        return Tensor._make(np.zeros((), dtype=backend.DEFAULT_FLOAT), backend.CPU)
    device = ts[0].device
    with no_grad():
        norms = [_grad_norm(t, norm_type).to(device) for t in ts]
        dtype = np.result_type(*[n.dtype for n in norms])
        total = _grad_norm(stack([n.to(dtype) for n in norms]), norm_type)
        if error_if_nonfinite and not bool(total.isfinite().item()):
            raise RuntimeError(f"get_total_norm: the total norm of order {norm_type} is "
                               f"non-finite ({total.item()})")
    return total


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))``, in place, as
    ``torch.nn.utils.clip_grads_with_norm_`` (``total_norm`` from :func:`get_total_norm`)."""
    grads = _grads(parameters, "clip_grads_with_norm_")
    if not grads:
        return
    if not isinstance(total_norm, Tensor):
        total_norm = Tensor(np.asarray(total_norm, dtype=grads[0].dtype),
                            device=grads[0].device)
    with no_grad():
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in _distinct(grads):
            g.mul_(coef.to(g.device, g.dtype))


class _WeightNorm:
    """The classic weight_norm's forward pre-hook: recompute ``<name>`` from g and v."""

    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module, args):
        object.__setattr__(module, self.name, self.compute(module))


def weight_norm(module, name: str = "weight", dim=0):
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (the norm over every dimension
    but ``dim``; ``dim=None``: the whole tensor), as the classic
    ``torch.nn.utils.weight_norm``: parameters ``<name>_g`` and ``<name>_v`` replace it and
    a forward pre-hook recomputes it. ``dim`` counts in the parameter as gradengine stores
    it: nn.Linear's weight is (in, out), so torch's default ``dim=0`` there is ``dim=1``.

    Raises:
        AttributeError / RuntimeError: no such parameter, or already weight-normed.
    """
    from .module import Parameter
    hooks = module.__dict__.setdefault("_weight_norm", {})
    if name in hooks:
        raise RuntimeError(f"weight_norm: {name!r} of {type(module).__name__} is already "
                           "weight-normed")
    w = module._parameters.get(name)
    if w is None:
        raise AttributeError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
    fn = _WeightNorm(name, -1 if dim is None else dim)
    from ..core.gradmode import no_grad
    with no_grad():
        g = _norm_except_dim(w, fn.dim)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(g.data.copy(), device=w.device))
    module.register_parameter(name + "_v", Parameter(w.data.copy(), device=w.device))
    fn(module, ())
    hooks[name] = (fn, module.register_forward_pre_hook(fn))
    return module


def remove_weight_norm(module, name: str = "weight"):
    """Undo :func:`weight_norm`: ``<name>`` becomes one Parameter again (its current value)."""
    from .module import Parameter
    hooks = module.__dict__.get("_weight_norm", {})
    if name not in hooks:
        raise ValueError(f"remove_weight_norm: weight_norm of {name!r} not found in "
                         f"{type(module).__name__}")
    fn, handle = hooks.pop(name)
    handle.remove()
    w = fn.compute(module)
    delattr(module, name + "_g")
    delattr(module, name + "_v")
    setattr(module, name, Parameter(w.data.copy(), device=w.device))
    return module


class _SpectralNorm:
    def __init__(self, name, n_power_iterations, dim, eps):
        self.name, self.n, self.dim, self.eps = name, n_power_iterations, dim, eps

    def matrix(self, w):
        from ..ops.shape import reshape, transpose
        if self.dim:
            w = transpose(w, (self.dim,) + tuple(i for i in range(w.ndim) if i != self.dim))
        return reshape(w, (w.shape[0], -1))

    def _normalize(self, xp, a):
        return a / max(float(xp.sqrt((a * a).sum())), self.eps)

    def compute(self, module, do_power_iteration):
        w = getattr(module, self.name + "_orig")
        u_buf = getattr(module, self.name + "_u")
        v_buf = getattr(module, self.name + "_v")
        mat = self.matrix(w)
        if do_power_iteration:
            xp = backend.xp_of(w.device)
            m = mat.data
            u, v = u_buf.data, v_buf.data
            with backend.cuda_context(w.device):
                for _ in range(self.n):
                    v = self._normalize(xp, m.T @ u)
                    u = self._normalize(xp, m @ v)
            u_buf.data, v_buf.data = u.copy(), v.copy()
            u_buf._version += 1
            v_buf._version += 1
        u = Tensor._make(u_buf.data.copy(), w.device)
        v = Tensor._make(v_buf.data.copy(), w.device)
        from ..ops.linalg import matmul
        from ..ops.shape import reshape
        sigma = (u * reshape(matmul(mat, reshape(v, (-1, 1))), (-1,))).sum()
        return w / sigma

    def __call__(self, module, args):
        object.__setattr__(module, self.name, self.compute(module, module.training))


def spectral_norm(module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim=None):
    """Divide ``module.<name>`` by its largest singular value, estimated by power iteration
    (one step per training forward), as the classic ``torch.nn.utils.spectral_norm``:
    parameter ``<name>_orig``, buffers ``<name>_u`` and ``<name>_v`` (drawn from the seeded
    generator, then normalized). ``dim`` (default 0, 1 for transposed convolutions) is the
    output dimension of the parameter as gradengine stores it.

    Raises:
        ValueError: n_power_iterations <= 0. AttributeError: no such parameter.
    """
    from .conv import ConvTranspose1d, ConvTranspose2d
    from .module import Parameter
    if n_power_iterations <= 0:
        raise ValueError(f"spectral_norm: n_power_iterations must be positive, got "
                         f"{n_power_iterations}")
    w = module._parameters.get(name)
    if w is None:
        raise AttributeError(f"spectral_norm: {type(module).__name__} has no parameter "
                             f"{name!r}")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0
    fn = _SpectralNorm(name, int(n_power_iterations), dim, float(eps))
    mat = fn.matrix(w).data
    gen = backend.rng(w.device)
    xp = backend.xp_of(w.device)
    with backend.cuda_context(w.device):
        u = fn._normalize(xp, gen.standard_normal(mat.shape[0]).astype(w.dtype))
        v = fn._normalize(xp, gen.standard_normal(mat.shape[1]).astype(w.dtype))
    delattr(module, name)
    module.register_parameter(name + "_orig", Parameter(w.data.copy(), device=w.device))
    module.register_buffer(name + "_u", Tensor._make(u, w.device))
    module.register_buffer(name + "_v", Tensor._make(v, w.device))
    object.__setattr__(module, name, fn.compute(module, False))
    module.__dict__.setdefault("_spectral_norm", {})[name] = (
        fn, module.register_forward_pre_hook(fn))
    return module


def remove_spectral_norm(module, name: str = "weight"):
    """Undo :func:`spectral_norm`: ``<name>`` becomes one Parameter (its current value)."""
    from .module import Parameter
    hooks = module.__dict__.get("_spectral_norm", {})
    if name not in hooks:
        raise ValueError(f"remove_spectral_norm: spectral_norm of {name!r} not found in "
                         f"{type(module).__name__}")
    fn, handle = hooks.pop(name)
    handle.remove()
    w = fn.compute(module, False)
    for sfx in ("_orig", "_u", "_v"):
        delattr(module, name + sfx)
    setattr(module, name, Parameter(w.data.copy(), device=w.device))
    return module


def _register_rnn():
    import sys

    from . import rnn_utils
    sys.modules[__name__ + ".rnn"] = rnn_utils  # `from gradengine.nn.utils.rnn import ...`
    return rnn_utils


def _register_parametrize():
    import sys
    import types

    from . import parametrize
    sys.modules[__name__ + ".parametrize"] = parametrize
    ns = types.ModuleType(__name__ + ".parametrizations",
                          "torch.nn.utils.parametrizations: weight_norm")
    ns.weight_norm = parametrize.weight_norm
    ns.__all__ = ["weight_norm"]
    sys.modules[ns.__name__] = ns
    return parametrize, ns


rnn = _register_rnn()
parametrize, parametrizations = _register_parametrize()
__all__ += ["parametrize", "parametrizations", "parameters_to_vector",
            "vector_to_parameters", "get_total_norm", "clip_grads_with_norm_", "weight_norm",
            "remove_weight_norm", "spectral_norm", "remove_spectral_norm", "rnn"]
# -- autox: torch.nn.utils.prune (nn/prune.py), also as `import gradengine.nn.utils.prune`
import sys as _sys  # noqa: E402

from . import prune  # noqa: E402

_sys.modules[__name__ + ".prune"] = prune
__all__ += ["prune"]
