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


def _param(value, where):
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):  # a plain tensor becomes a Parameter (PyTorch's rule)
        return Parameter(value.data, device=value.device)
    raise TypeError(f"{where}: expected a Parameter or Tensor, got {type(value).__name__}")


def _param_or_object(value, where):
    """ParameterList's entries (PyTorch's rule): a Tensor becomes a Parameter, any other
    object is kept as it is, not registered."""
    return _param(value, where) if isinstance(value, Tensor) else value


def _iterable(values, where):
    """PyTorch's check: ``extend`` / ``+=`` take an iterable (a Tensor is not taken as one)."""
    if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
        raise TypeError(f"{where} should be called with an iterable, but got "
                        f"{type(values).__name__}")
    return values


class _List(Module):
    """A list whose entries are registered under "0", "1", ... in ``self.<_store>``."""

    _store = "_modules"
    _entry = staticmethod(_check)

    def __init__(self, values=None):
        super().__init__()
        object.__setattr__(self, "_list", [])
        if values is not None:
            self.extend(values)

    def _sync(self):
        store = getattr(self, self._store)
        for k in [k for k in store if k.isdigit()]:
            del store[k]
        for i, m in enumerate(self._list):
            if isinstance(m, (Module, Tensor)):
                store[str(i)] = m
            object.__setattr__(self, str(i), m)

    def _checked(self, value, what):
        return self._entry(value, f"{type(self).__name__}{what}")

    def append(self, value):
        self._list.append(self._checked(value, ".append"))
        self._sync()
        return self

    def extend(self, values):
        for v in _iterable(values, f"{type(self).__name__}.extend"):
            self._list.append(self._checked(v, ".extend"))
        self._sync()
        return self

    def insert(self, index, value):
        self._list.insert(index, self._checked(value, ".insert"))
        self._sync()

    def pop(self, idx=-1):
        """Remove and return the entry at ``idx`` (PyTorch's ``ModuleList.pop``)."""
        v = self._list.pop(idx)
        self._sync()
        return v

    def __iadd__(self, values):
        return self.extend(values)

    def __add__(self, other):
        """A new list of this one's entries, then ``other``'s (PyTorch's ``+``)."""
        return type(self)(list(self._list) + list(_iterable(other, f"{type(self).__name__}"
                                                               ".__add__")))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(self._list[idx])
        return self._list[idx]

    def __setitem__(self, idx, value):
        self._list[idx] = self._checked(value, "")
        self._sync()

    def __delitem__(self, idx):
        del self._list[idx]
        self._sync()

    def __len__(self):
        return len(self._list)

    def __iter__(self):
        return iter(self._list)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); iterate over it")


class _Dict(Module):
    """A dict whose entries are registered by name in ``self.<_store>``."""

    _store = "_modules"
    _entry = staticmethod(_check)

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.update(values)

    def __getitem__(self, key):
        return getattr(self, self._store)[key]

    def __setitem__(self, key, value):
        if not isinstance(key, str):  # PyTorch's add_module rule
            raise TypeError(f"{type(self).__name__}: a key should be a string, got "
                            f"{type(key).__name__}")
        setattr(self, key, self._entry(value, type(self).__name__))

    def pop(self, key):
        """Remove the entry ``key`` and return it."""
        v = self[key]
        del self[key]
        return v

    def clear(self):
        """Remove every entry."""
        for k in list(self.keys()):
            del self[k]

    def __delitem__(self, key):
        delattr(self, key)

    def __contains__(self, key):
        return key in getattr(self, self._store)

    def __len__(self):
        return len(getattr(self, self._store))

    def __iter__(self):
        return iter(getattr(self, self._store))

    def keys(self):
        return getattr(self, self._store).keys()

    def values(self):
        return getattr(self, self._store).values()

    def items(self):
        return getattr(self, self._store).items()

    def update(self, values):
        """Add or replace entries from a mapping or an iterable of (key, value) pairs, with
        PyTorch's checks (TypeError for a non-iterable or a non-iterable element,
        ValueError for an element that is not a pair)."""
        name = type(self).__name__
        if hasattr(values, "items"):
            for k, v in values.items():
                self[k] = v
            return
        if not hasattr(values, "__iter__") or isinstance(values, Tensor):
            raise TypeError(f"{name}.update should be called with an iterable of key/value "
                            f"pairs, but got {type(values).__name__}")
        for j, m in enumerate(values):
            if not hasattr(m, "__iter__") or isinstance(m, Module):
                raise TypeError(f"{name} update sequence element #{j} should be Iterable; is "
                                f"{type(m).__name__}")
            m = list(m)
            if len(m) != 2:
                raise ValueError(f"{name} update sequence element #{j} has length {len(m)}; "
                                 "2 is required")
            self[m[0]] = m[1]

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); index it by name")


class ModuleList(_List):
    """A list of modules (indexable, iterable, ``append`` / ``extend`` / ``insert``).

    Example:
        >>> self.blocks = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])
    """


class ModuleDict(_Dict):
    """A dict of modules (``d["name"]``, ``keys()``, ``items()``, ``update``)."""


class ParameterList(_List):
    """A list of parameters (indexable, iterable, ``append`` / ``extend``), registered
    under ``"0"``, ``"1"``, ... as ``torch.nn.ParameterList``; a plain Tensor becomes a
    Parameter."""

    _store = "_parameters"
    _entry = staticmethod(_param_or_object)


class ParameterDict(_Dict):
    """A dict of parameters (``d["name"]``, ``keys()``, ``items()``, ``update``), as
    ``torch.nn.ParameterDict``."""

    _store = "_parameters"
    _entry = staticmethod(_param)
