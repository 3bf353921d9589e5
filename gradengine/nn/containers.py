"""Containers: :class:`ModuleList` and :class:`ModuleDict` register the modules they hold,
and :class:`ParameterList` and :class:`ParameterDict` the parameters, so that they belong to
the enclosing module (``parameters()``, ``state_dict()`` keys ``"0"``, ``"name"``)."""

from __future__ import annotations

from ..core.tensor import Tensor
from .module import Module, Parameter

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList"]


def _check(mod, where):
    if not isinstance(mod, Module):
        raise TypeError(f"{where}: expected a Module, got {type(mod).__name__}")
    return mod


class ModuleList(Module):
    """A list of modules (indexable, iterable, ``append`` / ``extend`` / ``insert``).

    Example:
        >>> self.blocks = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])
    """

    def __init__(self, modules=None):
        super().__init__()
        object.__setattr__(self, "_list", [])
        if modules is not None:
            self.extend(modules)

    def _sync(self):
        self._modules.clear()
        for i, m in enumerate(self._list):
            self._modules[str(i)] = m
            object.__setattr__(self, str(i), m)

    def append(self, module):
        self._list.append(_check(module, "ModuleList.append"))
        self._sync()
        return self

    def extend(self, modules):
        for m in modules:
            self._list.append(_check(m, "ModuleList.extend"))
        self._sync()
        return self

    def insert(self, index, module):
        self._list.insert(index, _check(module, "ModuleList.insert"))
        self._sync()

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(self._list[idx])
        return self._list[idx]

    def __setitem__(self, idx, module):
        self._list[idx] = _check(module, "ModuleList")
        self._sync()

    def __delitem__(self, idx):
        del self._list[idx]
        self._sync()

    def __len__(self):
        return len(self._list)

    def __iter__(self):
        return iter(self._list)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over its modules")


class ModuleDict(Module):
    """A dict of modules (``d["name"]``, ``keys()``, ``items()``, ``update``)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        setattr(self, str(key), _check(module, "ModuleDict"))

    def __delitem__(self, key):
        delattr(self, key)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self[k] = m

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(); index it by name")


def _param(value, where):
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):  # a plain tensor becomes a Parameter (PyTorch's rule)
        return Parameter(value.data, device=value.device)
    raise TypeError(f"{where}: expected a Parameter or Tensor, got {type(value).__name__}")


class ParameterList(Module):
    """A list of parameters (indexable, iterable, ``append`` / ``extend``), registered
    under ``"0"``, ``"1"``, ... as ``torch.nn.ParameterList``."""

    def __init__(self, values=None):
        super().__init__()
        object.__setattr__(self, "_list", [])
        if values is not None:
            self.extend(values)

    def _sync(self):
        for k in [k for k in self._parameters if k.isdigit()]:
            del self._parameters[k]
        for i, p in enumerate(self._list):
            self._parameters[str(i)] = p
            object.__setattr__(self, str(i), p)

    def append(self, value):
        self._list.append(_param(value, "ParameterList.append"))
        self._sync()
        return self

    def extend(self, values):
        for v in values:
            self._list.append(_param(v, "ParameterList.extend"))
        self._sync()
        return self

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(self._list[idx])
        return self._list[idx]

    def __setitem__(self, idx, value):
        self._list[idx] = _param(value, "ParameterList")
        self._sync()

    def __len__(self):
        return len(self._list)

    def __iter__(self):
        return iter(self._list)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward(); iterate over it")


class ParameterDict(Module):
    """A dict of parameters (``d["name"]``, ``keys()``, ``items()``, ``update``), as
    ``torch.nn.ParameterDict``."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return self._parameters[key]

    def __setitem__(self, key, value):
        setattr(self, str(key), _param(value, "ParameterDict"))

    def __delitem__(self, key):
        delattr(self, key)

    def __contains__(self, key):
        return key in self._parameters

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def update(self, parameters):
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for k, v in items:
            self[k] = v

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterDict has no forward(); index it by name")
