"""``torch.func.functional_call`` and ``stack_module_state``: a module run with other
tensors in place of its parameters and buffers, which makes a module a function of its
parameters (``grad(loss)(params, x)``, ``vmap`` over an ensemble)."""

from __future__ import annotations

from ..core.gradmode import state_epoch
from ..core.tensor import Tensor
from ..errors import ArgumentError, StateDictError
from ..ops.shape import stack

__all__ = ["functional_call", "stack_module_state"]

_MISSING = object()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """``torch.func.functional_call``: ``module(*args, **kwargs)`` with the tensors of
    ``parameter_and_buffer_dicts`` (a dict name -> Tensor, or a sequence of dicts with
    distinct keys) in place of the parameters and buffers of those names. The module's
    own tensors are put back afterwards, also when the call raises; a tensor the module
    rebinds during the call (``self.foo = self.foo + 1``) is written back into the dict.

    Args:
        args: a tuple of positional arguments, or one argument that is not a tuple.
        tie_weights: a tensor the module holds under several names (tied weights) is
            replaced under all of them when the dict names one of them.
        strict: the dict's keys must be exactly the module's parameter and buffer names.

    Raises:
        ArgumentError: (a ValueError) a key in several dicts; different tensors for tied
            names with ``tie_weights``.
        StateDictError: (a RuntimeError) missing or unexpected keys with ``strict``.

    Example:
        >>> params = {k: v.detach() for k, v in model.named_parameters()}
        >>> grads = ge.func.grad(lambda p: loss(functional_call(model, p, (x,)), y))(params)
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, (list, tuple)):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ArgumentError("Expected all elements of parameter_and_buffer_dicts to be "
                                "dictionaries")
        keys = [k for d in parameter_and_buffer_dicts for k in d]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ArgumentError(f"{repeated} appeared in multiple dictionaries; behavior of "
                                "functional call is ambiguous")
        tensors = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ArgumentError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple "
                            f"of dicts, but got {type(parameter_and_buffer_dicts).__name__}")
    kwargs = {} if kwargs is None else kwargs
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    named = _named_tensors(module)
    given = _untie(named, tensors) if tie_weights else dict(tensors)
    if strict:
        missing = sorted(set(named) - set(given))
        unexpected = sorted(set(given) - set(named))
        msgs = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise StateDictError(f"Error(s) in reparametrizing for {type(module).__name__}:"
                                 "\n\t" + "\n\t".join(msgs))
    originals = {}
    try:
        for name, t in given.items():
            originals[name] = _swap(module, name, t)
        return module(*args, **kwargs)
    finally:
        now = {name: _swap(module, name, t) for name, t in originals.items()}
        tensors.update({k: now[k] for k in tensors if k in now and now[k] is not _MISSING})


def _named_tensors(module):
    """Every (dotted name, tensor) of the module's parameters and buffers, tied ones under
    each of their names (PyTorch's ``remove_duplicate=False``)."""
    out = {}
    for mod_name, mod in module.named_modules(remove_duplicate=False):
        for kind in ("_parameters", "_buffers"):
            for name, t in mod.__dict__.get(kind, {}).items():
                if t is not None:
                    out[f"{mod_name}.{name}" if mod_name else name] = t
    return out


def _untie(named, tensors):
    """``tensors`` with each tied name given the tensor passed for one of its names."""
    by_id = {}
    for name, t in named.items():
        by_id.setdefault(id(t), set()).add(name)
    tied = {n: names for names in by_id.values() if len(names) > 1 for n in names}
    out = dict(tensors)
    for name in [n for n in tensors if n in tied]:
        names = tied[name]
        if len({id(tensors[n]) for n in names if n in tensors}) > 1:
            raise ArgumentError(f"functional_call got multiple values for keys "
                                f"{sorted(names)}, which are tied. Consider using "
                                "tie_weights=False")
        for n in names:
            out[n] = tensors[name]
    return out


def _swap(module, path, value):
    """Put ``value`` (or nothing, for _MISSING) at ``path``; return what was there."""
    prefix, _, attr = path.rpartition(".")
    mod = module
    for part in prefix.split(".") if prefix else ():
        mod = getattr(mod, part, None)
        if mod is None or not hasattr(mod, "_parameters"):
            raise AttributeError(f"functional_call: {type(module).__name__} has no submodule "
                                 f"{prefix!r} (key {path!r})")
    if value is not _MISSING and not isinstance(value, Tensor):
        raise TypeError(f"functional_call: {path!r} must be a Tensor, got "
                        f"{type(value).__name__}")
    d = mod.__dict__
    state_epoch[0] += 1  # ge.jit programs that baked the module's tensors in are stale
    for kind in ("_parameters", "_buffers"):
        table = d.get(kind, {})
        if attr in table:
            orig = table[attr]
            if value is _MISSING:
                del table[attr]
                d.pop(attr, None)
            else:  # in place in the table: the names keep their registration order
                table[attr] = value
                object.__setattr__(mod, attr, value)
            return orig
    orig = getattr(mod, attr, _MISSING)
    if orig is not _MISSING and orig is not None and not isinstance(orig, Tensor):
        raise TypeError(f"functional_call: attribute {path!r} is a {type(orig).__name__}, "
                        "not a Tensor")
    if value is _MISSING:
        if attr in d:
            object.__delattr__(mod, attr)
    else:
        object.__setattr__(mod, attr, value)
    return orig


def stack_module_state(models):
    """``torch.func.stack_module_state``: ``(params, buffers)``, two dicts name -> the
    tensors of that name in every model stacked along a new dimension 0, for
    ``vmap(functional_call)`` over an ensemble. Stacked parameters are new leaves that
    require grad (when the models' do).

    Raises:
        ArgumentError: no models, models of different classes or modes, or a parameter
            that requires grad in some models only.
    """
    models = list(models)
    if not models:
        raise ArgumentError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) != 1:
        raise ArgumentError("stack_module_state: Expected all models to have the same "
                            "training/eval mode.")
    if len({type(m) for m in models}) != 1:
        raise ArgumentError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        out = {}
        for k in named[0]:
            ts = [n[k] for n in named]
            rg = {t.requires_grad for t in ts}
            if len(rg) != 1:
                raise ArgumentError(f"Expected {k} from each model to have the same "
                                    ".requires_grad")
            s = stack([t.detach() for t in ts])
            out[k] = s.requires_grad_(True) if rg.pop() else s
        return out

    return (stacked([dict(m.named_parameters()) for m in models]),
            stacked([dict(m.named_buffers()) for m in models]))
