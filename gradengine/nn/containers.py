"""Containers: :class:`ModuleList` and :class:`ModuleDict` register the modules they hold,
so their parameters belong to the enclosing module."""

from __future__ import annotations

from .module import Module

__all__ = ["ModuleDict", "ModuleList"]


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
