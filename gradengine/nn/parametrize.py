"""Parametrizations, as ``torch.nn.utils.parametrize`` (also importable as
``gradengine.nn.utils.parametrize``) and ``torch.nn.utils.parametrizations.weight_norm``
(``gradengine.nn.utils.parametrizations``).

``register_parametrization(module, "weight", P())`` moves the parameter into
``module.parametrizations.weight.original`` (``original0``, ``original1``, ... when
``P.right_inverse`` returns a tuple) and makes ``module.weight`` a property that computes
``P(original)`` on every access -- the state-dict keys PyTorch writes
(``parametrizations.weight.original0``). As in PyTorch the module's class becomes a
subclass of its own (``ParametrizedLinear``) holding that property.
"""

from __future__ import annotations

from ..core.gradmode import no_grad, state_epoch
from ..core.tensor import Tensor
from ..ops.composite import sqrt
from .module import Module, Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized",
           "cached", "ParametrizationList", "weight_norm"]


class ParametrizationList(Module):
    """The parametrizations of one tensor (sub-modules "0", "1", ...) and its original
    value(s), as PyTorch's."""

    def __init__(self, modules, original, unsafe=False):
        super().__init__()
        self.unsafe = unsafe
        self._n = 0
        for m in modules:
            self.append(m)
        new = original
        with no_grad():
            for m in reversed(list(self.children())):
                inv = getattr(m, "right_inverse", None)
                if inv is not None:
                    new = inv(new)
        self.is_tensor = isinstance(new, Tensor)
        if self.is_tensor:
            self.original = Parameter(new.data.copy(), requires_grad=original.requires_grad,
                                      device=original.device)
            self.ntensors = 1
        else:
            for i, t in enumerate(new):
                setattr(self, f"original{i}", Parameter(t.data.copy(),
                                                        requires_grad=original.requires_grad,
                                                        device=original.device))
            self.ntensors = len(new)

    def append(self, module):
        self.add_module(str(self._n), module)
        self._n += 1

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        return self._modules[str(i % self._n)]

    def originals(self):
        if self.is_tensor:
            return (self.original,)
        return tuple(getattr(self, f"original{i}") for i in range(self.ntensors))

    def forward(self):
        x = self[0](*self.originals())
        for i in range(1, self._n):
            x = self[i](x)
        return x


def _property(name):
    def get(self):
        return self.parametrizations[name]()

    def set_(self, value):
        plist = self.parametrizations[name]
        with no_grad():
            new = value
            for m in reversed(list(plist.children())):
                inv = getattr(m, "right_inverse", None)
                if inv is not None:
                    new = inv(new)
        for t, v in zip(plist.originals(), new if isinstance(new, tuple) else (new,)):
            t.data = v.data.copy()
            t._version += 1
    return property(get, set_)


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Parametrize ``module.<tensor_name>`` by the module ``parametrization`` (its
    ``forward`` maps the original(s) to the tensor, its optional ``right_inverse`` the
    tensor to the original(s)); a second registration chains after the first.

    Raises:
        AttributeError: the module has no parameter ``tensor_name``.
    """
    from .containers import ModuleDict
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        state_epoch[0] += 1
        return module
    original = module._parameters.get(tensor_name)
    if original is None:
        raise AttributeError(f"register_parametrization: {type(module).__name__} has no "
                             f"parameter {tensor_name!r}")
    plist = ParametrizationList([parametrization], original, unsafe)
    delattr(module, tensor_name)
    if "parametrizations" not in module._modules:
        module.parametrizations = ModuleDict()
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
    module.parametrizations[tensor_name] = plist
    setattr(type(module), tensor_name, _property(tensor_name))
    state_epoch[0] += 1
    return module


def is_parametrized(module, tensor_name=None) -> bool:
    """Whether ``module`` (or its ``tensor_name``) has a parametrization."""
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if plists is None:
        return False
    return tensor_name is None or tensor_name in plists._modules


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Remove the parametrizations of ``tensor_name``: it becomes a Parameter again, with
    its parametrized value (``leave_parametrized``) or its original one.

    Raises:
        ValueError: nothing parametrized under that name, or an original that is a tuple
            with ``leave_parametrized=False``.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"remove_parametrizations: {type(module).__name__} has no "
                         f"parametrization on {tensor_name!r}")
    plist = module.parametrizations[tensor_name]
    if leave_parametrized:
        with no_grad():
            value = plist()
    elif plist.is_tensor:
        value = plist.original
    else:
        raise ValueError("remove_parametrizations: leave_parametrized=False needs a single "
                         "original tensor")
    requires = plist.originals()[0].requires_grad
    delattr(type(module), tensor_name)
    del module.parametrizations._modules[tensor_name]
    object.__delattr__(module.parametrizations, tensor_name) \
        if tensor_name in module.parametrizations.__dict__ else None
    setattr(module, tensor_name, Parameter(value.data.copy(), requires_grad=requires,
                                           device=value.device))
    if not module.parametrizations._modules:
        del module.parametrizations
        module.__class__ = type(module).__mro__[1]
    state_epoch[0] += 1
    return module


class cached:
    """``with parametrize.cached():`` -- accepted for PyTorch compatibility; the
    parametrized tensors are recomputed on each access (no cache)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _norm_except_dim(v, dim):
    if dim is None or dim == -1:
        return sqrt((v * v).sum())
    dim %= v.ndim
    axes = tuple(i for i in range(v.ndim) if i != dim)
    return sqrt((v * v).sum(axis=axes, keepdims=True)) if axes else (v * v) ** 0.5


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """``torch.nn.utils.parametrizations.weight_norm``: ``<name>`` = g v / ||v||, with
    ``parametrizations.<name>.original0`` (g) and ``original1`` (v) in the state dict.
    ``dim`` counts in the parameter as gradengine stores it (nn.Linear's is (in, out))."""
    return register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
