"""``torch.nn.utils.prune`` (as ``nn.utils.prune``): masks on a module's parameters.

PyTorch's mechanics: pruning ``name`` moves the parameter to ``<name>_orig``, registers the
mask as the buffer ``<name>_mask`` and sets ``module.<name>`` to ``<name>_orig *
<name>_mask``, recomputed by a forward pre-hook before every forward (so the gradient
reaches ``<name>_orig`` through the mask); ``state_dict`` holds ``<name>_orig`` and
``<name>_mask``. Pruning the same parameter again combines the masks (a
:class:`PruningContainer`: the new method acts on what is still unpruned), and
:func:`remove` makes it permanent: ``<name>`` is one Parameter again (the same object as
``<name>_orig``), holding the pruned values.

``dim`` counts in the parameter as gradengine stores it: nn.Linear's weight is
(in_features, out_features), torch's (out_features, in_features), so torch's
``ln_structured(linear, "weight", amount, n, dim=0)`` (whole output neurons) is ``dim=1``
(or ``-1``) here, and torch's ``dim=1`` / ``-1`` (input features) is ``dim=0``.
Convolution weights have torch's layout (out, in, *kernel): the same ``dim``.

The masks are computed on the arrays (they are constants, not part of any graph); the
random methods draw from gradengine's seeded generator, not torch's.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from .. import backend
from ..core.gradmode import no_grad, state_epoch
from ..core.tensor import Tensor

__all__ = ["BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured",
           "LnStructured", "PruningContainer", "RandomStructured", "RandomUnstructured",
           "custom_from_mask", "global_unstructured", "identity", "is_pruned",
           "l1_unstructured", "ln_structured", "random_structured", "random_unstructured",
           "remove"]


def _arr(t):
    return t.data if isinstance(t, Tensor) else t


def _like(arr, t):
    return Tensor._make(arr, t.device if isinstance(t, Tensor) else backend.CPU)


def _pre_hooks(module):
    return module.__dict__.get("_pre_hooks", {})


class BasePruningMethod(ABC):
    """A pruning method: :meth:`compute_mask` gives the mask; :meth:`apply` prunes a
    module's parameter with it (PyTorch's ``BasePruningMethod``)."""

    _tensor_name: str = None
    PRUNING_TYPE = "unstructured"

    def __call__(self, module, inputs):
        """The forward pre-hook: recompute ``module.<name>`` from ``<name>_orig`` and the
        mask."""
        object.__setattr__(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The mask (a Tensor of ``t``'s shape) from ``t`` (the importance scores) and
        ``default_mask`` (the mask so far)."""

    def apply_mask(self, module):
        """``<name>_orig * <name>_mask``: the pruned tensor (differentiable in ``_orig``)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        if mask.dtype != orig.dtype:
            mask = mask.to(orig.dtype)
        return mask * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with this method (combined with any earlier pruning of
        it); returns the method (or the container holding it)."""
        old_method, found, keys = None, 0, []
        hooks = _pre_hooks(module)
        for k, hook in hooks.items():
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                old_method = hook
                keys.append(k)
                found += 1
        if found > 1:
            raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor "
                                 f"{name} of module {module}. Use a PruningContainer.")
        for k in keys:
            del hooks[k]
            state_epoch[0] += 1
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old_method is not None:
            if isinstance(old_method, PruningContainer):
                old_method.add_pruning_method(method)
                method = old_method
            else:
                container = PruningContainer(old_method)
                container.add_pruning_method(method)
                method = container

        orig = getattr(module, name)
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(orig.shape):
                raise AssertionError(f"importance_scores should have the same shape as "
                                     f"parameter {name} of {module}, got "
                                     f"{tuple(importance_scores.shape)} vs {tuple(orig.shape)}")
        else:
            importance_scores = orig
        container = isinstance(method, PruningContainer)
        if not container:
            delattr(module, name)
            module.register_parameter(name + "_orig", orig)
            default_mask = _like(backend.xp_of(orig.device).ones_like(orig.data), orig)
        else:
            default_mask = _like(getattr(module, name + "_mask").data.copy(), orig)
        try:
            with no_grad():
                mask = method.compute_mask(importance_scores.detach(), default_mask=default_mask)
            if isinstance(mask, Tensor):
                mask = mask.detach()
            else:
                mask = _like(mask, orig)
            module.register_buffer(name + "_mask", mask)
            object.__setattr__(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if not container:
                delattr(module, name + "_orig")
                setattr(module, name, orig)
            raise
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` times the mask computed from ``importance_scores`` (default ``t``)."""
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(t.shape):
                raise AssertionError(f"importance_scores should have the same shape as tensor "
                                     f"t, got {tuple(importance_scores.shape)} vs "
                                     f"{tuple(t.shape)}")
        else:
            importance_scores = t
        if default_mask is None:
            default_mask = _like(backend.xp_of(t.device).ones_like(t.data), t)
        with no_grad():
            mask = self.compute_mask(importance_scores, default_mask=default_mask)
        return t * mask

    def remove(self, module) -> None:
        """Make the pruning permanent: ``<name>`` becomes the ``<name>_orig`` Parameter,
        holding the pruned values; ``_orig`` and ``_mask`` are deleted."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be "
                                 "removed")
        name = self._tensor_name
        with no_grad():
            weight = self.apply_mask(module)
        if name in module.__dict__:
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        orig.data = weight.data
        delattr(module, name + "_orig")
        delattr(module, name + "_mask")
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """Successive pruning of one parameter: each new method acts on the entries (or, for a
    structured one, the channels) the earlier ones kept."""

    def __init__(self, *args) -> None:
        self._pruning_methods = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method) -> None:
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        """The last method's mask, computed on the part the mask so far keeps."""
        method = self._pruning_methods[-1]
        ta, mask = _arr(t), _arr(default_mask)
        new_mask = mask.astype(ta.dtype, copy=True)
        kind = method.PRUNING_TYPE
        if kind == "unstructured":
            slc = mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to '
                                     "have the attribute `dim` defined.")
            n_dims = ta.ndim
            dim = method.dim + n_dims if method.dim < 0 else method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
            keep = mask.sum(axis=tuple(d for d in range(n_dims) if d != dim)) != 0
            slc = [slice(None)] * n_dims
            slc[dim] = keep
            slc = tuple(slc)
        elif kind == "global":
            slc = (slice(None),) * ta.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        part = method.compute_mask(_like(ta[slc], t), default_mask=_like(mask[slc], t))
        new_mask[slc] = _arr(part).astype(new_mask.dtype)
        return _like(new_mask, t)


class Identity(BasePruningMethod):
    """Prunes nothing (the mask is all ones)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class _Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries (a fraction in [0, 1] or a count) of smallest
    ``_scores``."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        ta = _arr(t)
        k = _compute_nparams_toprune(self.amount, ta.size)
        _validate_pruning_amount(k, ta.size)
        mask = _arr(default_mask).copy()
        if k != 0:
            dev = t.device if isinstance(t, Tensor) else backend.CPU
            xp = backend.xp_of(dev)
            idx = _argsort(xp, self._scores(xp, dev, ta))[:k]
            mask.reshape(-1)[idx] = 0
        return _like(mask, t)


class RandomUnstructured(_Unstructured):
    """Prunes ``amount`` entries chosen at random (a fraction in [0, 1] or a count)."""

    def _scores(self, xp, dev, ta):
        return -xp.asarray(_uniform(dev, ta.size))  # the k largest draws, as topk

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(_Unstructured):
    """Prunes the ``amount`` entries of smallest absolute value."""

    def _scores(self, xp, dev, ta):
        return xp.abs(ta).reshape(-1)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim``, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t, default_mask):
        ta = _arr(t)
        _validate_structured_pruning(ta)
        _validate_pruning_dim(ta, self.dim)
        n = ta.shape[self.dim]
        k = _compute_nparams_toprune(self.amount, n)
        _validate_pruning_amount(k, n)
        if k == 0:
            return default_mask
        dev = t.device if isinstance(t, Tensor) else backend.CPU
        xp = backend.xp_of(dev)
        prob = xp.asarray(_uniform(dev, n))
        threshold = xp.sort(prob)[k - 1]  # the k-th smallest (torch.kthvalue)
        return _like(_channel_mask(xp, ta, self.dim, prob > threshold) *
                     _arr(default_mask).astype(ta.dtype), t)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest L``n`` norm."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t, default_mask):
        ta = _arr(t)
        _validate_structured_pruning(ta)
        _validate_pruning_dim(ta, self.dim)
        size = ta.shape[self.dim]
        k = _compute_nparams_toprune(self.amount, size)
        _validate_pruning_amount(k, size)
        if k == 0:
            return default_mask
        xp = backend.xp_of(t.device) if isinstance(t, Tensor) else np
        norm = _compute_norm(xp, ta, self.n, self.dim)
        keep = xp.zeros(size, dtype=bool)
        keep[_argsort(xp, -norm)[:size - k]] = True  # topk(largest=True)
        return _like(_channel_mask(xp, ta, self.dim, keep) *
                     _arr(default_mask).astype(ta.dtype), t)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes with a given mask (combined with the mask so far)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask) -> None:
        self.mask = mask

    def compute_mask(self, t, default_mask):
        dm, m = _arr(default_mask), _arr(self.mask)
        if tuple(dm.shape) != tuple(m.shape):
            raise AssertionError(f"default_mask shape {tuple(dm.shape)} must match self.mask "
                                 f"shape {tuple(m.shape)}")
        xp = backend.xp_of(t.device) if isinstance(t, Tensor) else np
        return _like(dm * xp.asarray(m).astype(dm.dtype), t)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def _argsort(xp, a):
    """A stable argsort (CuPy's always is, and takes no ``kind``)."""
    return xp.argsort(a, kind="stable") if xp is np else xp.argsort(a)


def _uniform(dev, n):
    """``n`` draws in [0, 1) from gradengine's seeded generator of ``dev``."""
    gen = backend.rng(dev)
    return gen.random(n) if dev == "cpu" else gen.random_sample(n)


def _channel_mask(xp, ta, dim, keep):
    mask = xp.zeros_like(ta)
    slc = [slice(None)] * ta.ndim
    slc[dim] = keep
    mask[tuple(slc)] = 1
    return mask


def _compute_norm(xp, ta, n, dim):
    """The ``n``-norm of each slice of ``ta`` along ``dim`` (torch.norm's p)."""
    dim = dim + ta.ndim if dim < 0 else dim
    axes = tuple(d for d in range(ta.ndim) if d != dim)
    a = xp.abs(ta.astype(np.float64))
    if n == "fro":
        n = 2
    if n == float("inf"):
        return a.max(axis=axes)
    if n == -float("inf"):
        return a.min(axis=axes)
    if n == 0:
        return (a != 0).sum(axis=axes).astype(np.float64)
    return (a ** n).sum(axis=axes) ** (1.0 / n)


# ---------------------------------------------------------------- the functions
def identity(module, name):
    """Prune nothing, but set up ``<name>_orig`` / ``<name>_mask`` (all ones)."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` random entries of ``module.<name>`` (a fraction or a count)."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` of smallest absolute value (of
    ``importance_scores`` when given).

    Example:
        >>> prune.l1_unstructured(model[0], "weight", amount=0.3)
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim`` (see the module
    docstring for ``dim`` on nn.Linear)."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` of smallest L``n`` norm (``n``: a number,
    ``inf``, ``-inf`` or ``"fro"``). nn.Linear's output neurons are ``dim=1`` here."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune the ``(module, name)`` pairs of ``parameters`` together: ``pruning_method``
    (an unstructured class such as :class:`L1Unstructured`) chooses over all their entries
    at once; each then gets its part as a :func:`custom_from_mask`.

    Raises:
        TypeError: parameters not iterable, importance_scores not a dict, or a method that
            is not unstructured.
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    if not parameters:
        raise ValueError("global_unstructured(): no parameters given")
    first = getattr(*parameters[0])
    xp = backend.xp_of(first.device)
    scores = xp.concatenate([
        _arr(importance_scores.get((m, n), getattr(m, n))).reshape(-1) for m, n in parameters])
    default = xp.concatenate([
        (_arr(getattr(m, n + "_mask")) if hasattr(m, n + "_mask") else
         xp.ones_like(_arr(getattr(m, n)))).reshape(-1).astype(scores.dtype)
        for m, n in parameters])
    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the '
                        f"`pruning_method`. Found method {pruning_method} of type "
                        f"{method.PRUNING_TYPE}")
    container.add_pruning_method(method)
    final = _arr(container.compute_mask(_like(scores, first), _like(default, first)))
    at = 0
    for module, name in parameters:
        p = getattr(module, name)
        size = int(np.prod(p.shape))
        custom_from_mask(module, name, mask=_like(final[at:at + size].reshape(p.shape), p))
        at += size


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` with ``mask`` (a Tensor or array of its shape: 0 prunes)."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent (see the module docstring).

    Raises:
        ValueError: ``name`` is not pruned.
    """
    hooks = _pre_hooks(module)
    for k, hook in list(hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del hooks[k]
            state_epoch[0] += 1
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     "can be removed")


def is_pruned(module) -> bool:
    """Whether ``module`` or any of its descendants has a pruning pre-hook."""
    for _, sub in module.named_modules():
        for hook in _pre_hooks(sub).values():
            if isinstance(hook, BasePruningMethod):
                return True
    return False


def _validate_pruning_amount_init(amount) -> None:
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or
                                                          float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _validate_pruning_amount(amount, tensor_size) -> None:
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to "
                         f"prune={tensor_size}")


def _validate_structured_pruning(ta) -> None:
    if ta.ndim <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional "
                         f"tensors. Found tensor of shape {tuple(ta.shape)} with {ta.ndim} "
                         "dims")


def _compute_nparams_toprune(amount, tensor_size):
    if isinstance(amount, numbers.Integral):
        return amount
    return round(amount * tensor_size)


def _validate_pruning_dim(ta, dim) -> None:
    if dim >= ta.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(ta.shape)}")
