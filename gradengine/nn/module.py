"""The base of every layer and model: :class:`Module` and its trainable :class:`Parameter`.

A Module registers Parameters and sub-modules by attribute assignment, walks them
iteratively (``named_modules``, ``named_parameters``), switches train/eval mode, moves
itself between devices and dtypes, and saves and loads its ``state_dict`` all or nothing.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import weakref
from collections import namedtuple

import numpy as np

from .. import backend
from ..core.gradmode import no_grad, state_epoch
from ..core.op import host_call
from ..core.tensor import Tensor
from ..errors import DTypeError, ShapeError, StateDictError

__all__ = ["Module", "Parameter", "Buffer", "KerasWeights"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns, as in PyTorch: ``(missing_keys, unexpected_keys)``."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class _ParameterList(list):
    """The list ``parameters()`` returns: a list (``len``, indexing, ``+``), and also an
    iterator, so PyTorch's ``next(model.parameters())`` works."""

    def __next__(self):
        it = self.__dict__.get("_it")
        if it is None:
            it = self.__dict__["_it"] = iter(list(self))
        return next(it)


def _check_name(module, kind, name, store):
    """PyTorch's checks of a name given to register_buffer / register_parameter /
    add_module: a string (TypeError), and not an attribute of another kind (KeyError). (An
    instance attribute holding a value only: PyTorch's ``hasattr`` would also refuse a
    class attribute or a placeholder None, which the Keras layers set before they build
    and register their weights.)"""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if name and "." not in name and name not in store and \
            module.__dict__.get(name) is not None:
        raise KeyError(f"attribute '{name}' already exists")


# -- kssuite: Parameter.constraint's side table (Parameters have no instance dict) and the
# function turning a constraint's name into the object, set by gradengine.keras.constraints
_CONSTRAINTS: dict = {}
CONSTRAINT_RESOLVER: list = []


class Parameter(Tensor):
    """A leaf Tensor that a Module registers as trainable (``requires_grad=True``).

    Example:
        >>> w = nn.Parameter(ge.randn(3, 2))
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True, dtype=None, device=None):
        if data is None:  # PyTorch's nn.Parameter(): an empty float tensor
            data = np.empty(0, dtype=backend.DEFAULT_FLOAT if dtype is None else None)
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, device=device)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    # Keras' variable spellings (a Keras layer's weights are these Parameters)
    @property
    def value(self):
        """Keras' ``variable.value``: the parameter itself (its ``.grad`` included)."""
        return self

    def assign(self, value):
        """Keras' ``variable.assign(value)``: written in place without a graph."""
        with no_grad():
            self.copy_(value if isinstance(value, Tensor) else
                       Tensor(value, dtype=self.dtype, device=self.device))
        return self

    def assign_add(self, delta):
        return self.assign(self.detach() + delta)

    def assign_sub(self, delta):
        return self.assign(self.detach() - delta)

    @property
    def trainable(self) -> bool:
        """Keras' ``variable.trainable``: whether it requires grad."""
        return self.requires_grad

    # -- kssuite: Keras' ``variable.constraint`` (the layer's ``<weight>_constraint``)
    @property
    def constraint(self):
        """The constraint a Keras layer was given for this weight (None without one)."""
        entry = _CONSTRAINTS.get(id(self))
        if entry is None or entry[0]() is not self:
            return None
        spec = entry[1]
        if isinstance(spec, (str, dict, type)) and CONSTRAINT_RESOLVER:
            spec = CONSTRAINT_RESOLVER[0](spec)
            _CONSTRAINTS[id(self)] = (entry[0], spec)
        return spec

    @constraint.setter
    def constraint(self, value):
        key = id(self)
        _CONSTRAINTS[key] = (weakref.ref(self, lambda _r, k=key: _CONSTRAINTS.pop(k, None)),
                             value)


class Buffer(Tensor):
    """A tensor that, assigned to a module attribute, registers as a buffer (torch 2.5's
    ``nn.Buffer``): ``self.running = nn.Buffer(ge.zeros(3), persistent=True)``; a
    non-persistent one stays out of the state dict."""

    __slots__ = ()
    persistent = True

    def __new__(cls, data=None, *, persistent=True):
        return Tensor.__new__(cls if persistent else _VolatileBuffer)

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            data = np.zeros((0,), dtype=backend.DEFAULT_FLOAT)
        if isinstance(data, Tensor):
            super().__init__(data.data, device=data.device)
        else:
            super().__init__(data)


class _VolatileBuffer(Buffer):
    __slots__ = ()
    persistent = False


def _name_weight(t, name):
    """A weight's Keras name: the attribute it is first registered under (``kernel``)."""
    if getattr(t, "_keras_var", None) is None:
        t._keras_var = (name, name)


# Types of symbolic inputs (gradengine.keras' KerasTensor, registered there, as nn cannot
# import keras): calling a module on one records the call (the functional API) instead of
# running forward.
SYMBOLIC_TYPES = set()


class Module:
    """Base class of layers and models.

    Parameters and sub-modules are registered by attribute assignment
    (``self.fc = Linear(2, 3)``; ``self.w = Parameter(...)``), in that order. Calling a
    module runs its ``forward``.
    """

    def __init_subclass__(cls, **kwargs):
        # Remember each module's constructor arguments (the outermost __init__'s), so a
        # model's architecture can be written as JSON (get_config) and rebuilt.
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        sig = inspect.signature(init)

        @functools.wraps(init)
        def __init__(self, *args, **kw):
            if "_init_args" not in self.__dict__:
                try:
                    bound = sig.bind(self, *args, **kw)
                    bound.apply_defaults()
                    cfg = {}
                    for k, v in list(bound.arguments.items())[1:]:
                        kind = sig.parameters[k].kind
                        if kind is inspect.Parameter.VAR_KEYWORD:
                            cfg.update(v)
                        elif kind is not inspect.Parameter.VAR_POSITIONAL:
                            cfg[k] = v
                except TypeError:
                    cfg = None
                object.__setattr__(self, "_init_args", cfg)
            init(self, *args, **kw)
        cls.__init__ = __init__

    def get_config(self) -> dict:
        """The constructor arguments of this module (what ``from_config`` rebuilds it
        from)."""
        cfg = self.__dict__.get("_init_args")
        return dict(cfg) if cfg else {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def get_weights(self) -> list:
        """The parameters and buffers as a list of NumPy arrays (copies), in the order of
        :meth:`state_dict` (Keras's ``get_weights``)."""
        return [_host_copy(t.data) for _, t in self._named_state()]

    def set_weights(self, weights) -> None:
        """Set the parameters and buffers from arrays in :meth:`get_weights` order; all or
        nothing.

        Raises:
            ValueError: a different number of arrays. ShapeError: a wrong shape.
        """
        state = list(self._named_state())
        names = [n for n, _ in state]
        weights = list(weights)
        if len(weights) != len(names):
            raise ValueError(f"set_weights: expected {len(names)} arrays ({names}), got "
                             f"{len(weights)}")
        by_id = {id(t): w for (_, t), w in zip(state, weights)}  # a tied tensor's names
        self.load_state_dict({n: by_id[id(t)]  # all get its one array
                              for n, t in self._named_state(remove_duplicate=False)})

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        d = self.__dict__
        if d.get(name, d) is not value:  # what a ge.jit program baked in may have changed
            state_epoch[0] += 1
        if "_parameters" not in d:
            if isinstance(value, Parameter):  # PyTorch's rule
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            Module.__init__(self)
        params, mods = d["_parameters"], d["_modules"]
        bufs = d.setdefault("_buffers", {})
        if name in params and value is not None and not isinstance(value, (Parameter, Buffer)):
            # PyTorch's rule: a plain value would silently unregister the parameter
            what = type(value).__name__
            if isinstance(value, Tensor):
                what += f" of shape {value.shape} and dtype {value.dtype}"
            raise TypeError(f"{type(self).__name__}: cannot assign '{what}' as parameter "
                            f"'{name}' (nn.Parameter or None expected)")
        if name in bufs and (value is None or isinstance(value, Tensor)) and \
                not isinstance(value, Parameter):
            bufs[name] = value  # assigning to a buffer's name rebinds the buffer (PyTorch)
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Buffer):
            params.pop(name, None)
            mods.pop(name, None)
            self.register_buffer(name, value, value.persistent)
            return
        # PyTorch's rule: a name rebound to the same kind keeps its place in the order of
        # parameters() / children() (only the other kinds' entries are removed)
        if not isinstance(value, Parameter):
            params.pop(name, None)
        if not isinstance(value, Module):
            mods.pop(name, None)
        bufs.pop(name, None)
        if isinstance(value, Parameter):
            params[name] = value
            _name_weight(value, getattr(type(self), "_keras_names", {}).get(name, name))
            if d.get("_frozen") and value.requires_grad:  # a frozen Keras layer's new weight
                value.requires_grad_(False)
        elif isinstance(value, Module):
            mods[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        state_epoch[0] += 1
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self.__dict__.get("_buffers", {}).pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register ``tensor`` (a Tensor or None) as a buffer: state that is not trained
        but is saved in :meth:`state_dict` (when ``persistent``) and moved by :meth:`to`,
        such as BatchNorm's running statistics.

        Raises:
            TypeError: ``tensor`` is neither a Tensor nor None.
            KeyError: ``name`` is already a parameter or a sub-module.
        """
        _check_name(self, "buffer", name, self.__dict__.get("_buffers", {}))
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: {name!r} is already a parameter or a module")
        self.__dict__.setdefault("_buffers", {})[name] = tensor
        if tensor is not None:
            _name_weight(tensor, name)
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)
        else:  # re-registered as persistent (PyTorch's rule)
            self.__dict__.get("_non_persistent", set()).discard(name)
        object.__setattr__(self, name, tensor)

    def get_buffer(self, target: str):
        """The buffer at the dotted path ``target`` ("sub.running_mean")."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod.__dict__.get("_buffers", {}):
            raise AttributeError(f"`{name}` is not a buffer of {type(mod).__name__}")
        return mod.__dict__["_buffers"][name]

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      persistent_only: bool = False):
        """(dotted name, Tensor) for every buffer of this module and its descendants."""
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            skip = mod.__dict__.get("_non_persistent", ()) if persistent_only else ()
            for name, b in mod.__dict__.get("_buffers", {}).items():
                if b is not None and name not in skip:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self, recurse: bool = True):
        """Every buffer (a list that ``next()`` also reads)."""
        return _ParameterList(b for _, b in self.named_buffers(recurse=recurse))

    def _named_state(self, remove_duplicate: bool = True):
        """(name, Tensor) of the parameters and persistent buffers, module by module
        (each module's parameters, then its buffers: PyTorch's and Keras' order); a tensor
        held under several names once (Keras' weight lists), or, with
        ``remove_duplicate=False``, under every name (PyTorch's state dict)."""
        seen = set()
        for mod_name, mod in self.named_modules(remove_duplicate=remove_duplicate):
            skip = mod.__dict__.get("_non_persistent", ())
            items = list(mod.__dict__.get("_parameters", {}).items()) + [
                (n, b) for n, b in mod.__dict__.get("_buffers", {}).items()
                if b is not None and n not in skip]
            for name, t in items:
                if not remove_duplicate or id(t) not in seen:
                    seen.add(id(t))
                    yield (f"{mod_name}.{name}" if mod_name else name), t

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        if args and type(args[0]) in SYMBOLIC_TYPES:
            return args[0].__module_call__(self, args, kwargs)
        d = self.__dict__
        if "_pre_hooks" not in d and "_post_hooks" not in d:
            return self.forward(*args, **kwargs)
        for hook in list(d.get("_pre_hooks", {}).values()):
            if type(hook) is _KwHook:
                new = hook.fn(self, args, kwargs)
                if new is not None:
                    if not (isinstance(new, tuple) and len(new) == 2):
                        raise RuntimeError("forward pre-hook with_kwargs must return None or "
                                           f"a tuple (args, kwargs), got {new!r}")
                    args, kwargs = new
                    args = args if isinstance(args, tuple) else (args,)
                continue
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        bw = d.get("_bw_hooks") or d.get("_bw_pre_hooks")
        if bw:
            from .hooks import wrap_inputs, wrap_outputs
            args, state = wrap_inputs(self, args)
        out = self.forward(*args, **kwargs)
        if bw:
            out = wrap_outputs(self, out, state)
        for hook in list(d.get("_post_hooks", {}).values()):
            new = hook.fn(self, args, kwargs, out) if type(hook) is _KwHook else \
                hook(self, args, out)
            if new is not None:
                out = new
        return out

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before every forward; a non-None result replaces the
        positional arguments (``with_kwargs=True``: ``hook(module, args, kwargs)`` returning
        None or ``(args, kwargs)``; ``prepend``: run before the hooks already there).
        Returns a handle whose ``remove()`` unregisters it. (Hooks are Python: under ge.jit
        they run when a step is recorded, not at its replays.)"""
        return _Handle(self.__dict__.setdefault("_pre_hooks", {}),
                       _KwHook(hook) if with_kwargs else hook, prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """Call ``hook(module, args, output)`` after every forward; a non-None result
        replaces the output (``with_kwargs=True``: ``hook(module, args, kwargs, output)``).
        Returns a handle whose ``remove()`` unregisters it."""
        return _Handle(self.__dict__.setdefault("_post_hooks", {}),
                       _KwHook(hook) if with_kwargs else hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_output)`` when the gradients of this module's outputs
        are ready (a tuple, one per Tensor output); a non-None result (a tuple) replaces
        them. Returns a handle whose ``remove()`` unregisters it."""
        self.__dict__.setdefault("_pre_hooks", {})  # leaves the hook-free fast path
        return _Handle(self.__dict__.setdefault("_bw_pre_hooks", {}), hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        the module's positional Tensor inputs are computed (all None when no input needs
        one, zeros beside one that does, as PyTorch); a non-None result (a tuple) replaces
        ``grad_input``. Returns a handle whose ``remove()`` unregisters it."""
        self.__dict__.setdefault("_pre_hooks", {})
        return _Handle(self.__dict__.setdefault("_bw_hooks", {}), hook, prepend)

    # ------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """(name, module) for this module and every descendant, pre-order, iteratively
        (PyTorch's arguments; ``named_modules("x")`` is taken as the prefix)."""
        if isinstance(memo, str):
            memo, prefix = None, memo
        stack = [(prefix, self)]
        seen = set() if memo is None else {id(m) for m in memo}
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in seen:
                    continue
                seen.add(id(mod))
            yield name, mod
            children = [(n, m) for n, m in mod.__dict__.get("_modules", {}).items()
                        if m is not None]
            for child_name, child in reversed(children):
                stack.append((f"{name}.{child_name}" if name else child_name, child))

    def children(self):
        """The direct sub-modules (an iterator), in registration order."""
        for _, m in self.named_children():
            yield m

    def named_children(self):
        """(name, module) for each direct sub-module (an iterator); a module held twice
        once, as in PyTorch."""
        seen = set()
        for name, m in self.__dict__.get("_modules", {}).items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def add_module(self, name: str, module) -> None:
        """Register ``module`` (a Module or None) as the sub-module ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module")
        _check_name(self, "module", name, self.__dict__.get("_modules", {}))
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f"add_module: module name must be a non-empty string without "
                           f"'.', got {name!r}")
        if module is None:
            self.__dict__.setdefault("_modules", {})[name] = None
            object.__setattr__(self, name, None)
            return
        setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name: str, param) -> None:
        """Register ``param`` (a Parameter or None) as the parameter ``name``."""
        _check_name(self, "parameter", name, self.__dict__.get("_parameters", {}))
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: cannot assign {type(param).__name__} as "
                            f"parameter {name!r} (nn.Parameter or None expected)")
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f"register_parameter: parameter name must be a non-empty string "
                           f"without '.', got {name!r}")
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
            return
        setattr(self, name, param)

    def get_submodule(self, target: str = ""):
        """The sub-module at the dotted path ``target`` ("" is this module)."""
        mod = self
        if not target:
            return mod
        for item in target.split("."):
            child = mod.__dict__.get("_modules", {}).get(item)
            if child is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule {item!r}")
            mod = child
        return mod

    def get_parameter(self, target: str):
        """The parameter at the dotted path ``target`` ("0.weight")."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        p = mod.__dict__.get("_parameters", {}).get(name)
        if p is None:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return p

    def apply(self, fn):
        """Call ``fn`` on every sub-module (children first, recursively) and then on this
        module, as ``torch.nn.Module.apply`` (e.g. to initialise weights); returns self."""
        order = []
        stack = [(self, False)]
        seen = set()
        while stack:  # post-order, iteratively
            mod, expanded = stack.pop()
            if expanded:
                order.append(mod)
                continue
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            stack.append((mod, True))
            for child in reversed(list(mod.children())):
                stack.append((child, False))
        for mod in order:
            fn(mod)
        return self

    def requires_grad_(self, requires_grad: bool = True):
        """Set ``requires_grad`` on every parameter (freeze with ``False``); returns self."""
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """(dotted name, Parameter) pairs: ``("0.weight", p)``; shared parameters once."""
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_name, mod in mods:
            for name, p in mod.__dict__.get("_parameters", {}).items():
                if p is None:
                    continue
                if id(p) not in seen or not remove_duplicate:
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True):
        """Every Parameter, in registration order: a list that ``next()`` also reads, as
        PyTorch's generator (``next(model.parameters()).device``)."""
        return _ParameterList(p for _, p in self.named_parameters(recurse=recurse))

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter."""
        host_call(self._zero_grad, set_to_none)

    def _zero_grad(self, set_to_none):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor._make(backend.xp_of(p.device).zeros_like(p.data), p.device)

    def train(self, mode: bool = True):
        """Set training mode on this module and every descendant; returns self.

        Raises:
            ValueError: ``mode`` is not a bool (PyTorch's check).
        """
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        state_epoch[0] += 1
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode (``train(False)``); returns self."""
        return self.train(False)

    @contextlib.contextmanager
    def in_mode(self, training: bool):
        """This module and every one inside it in training (True) or evaluation (False)
        mode for a ``with`` block; each one's own mode is put back afterwards, also after
        an exception (Keras' ``model(x, training=...)``, the shape probes)."""
        modes = [(m, m.training) for m in self.modules()]
        self.train(bool(training))
        try:
            yield self
        finally:
            for m, t in modes:
                object.__setattr__(m, "training", t)

    # ------------------------------------------------------------ state
    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """``{name: Tensor}`` for every parameter and persistent buffer, in the model's
        order: detached copies on the parameter's device (PyTorch's values share the
        parameters' storage, so a later step changes a dict kept as a "best model"; these
        do not), with the Tensor methods PyTorch code calls on them (``v.clone()``,
        ``v.cpu()``, ``v.numpy()``, arithmetic). PyTorch's keywords: ``prefix`` before
        every name, ``destination`` a mapping to fill (and return), ``keep_vars=True`` the
        Tensors themselves instead of copies. (torch's deprecated positional form
        ``state_dict(destination, prefix, keep_vars)`` is taken too.) A tensor held under
        several names (tied weights, a module used twice) is listed under each, as in
        PyTorch; ``named_parameters()`` lists it once."""
        if args:
            destination, prefix, keep_vars = (list(args) + [destination, prefix,
                                                            keep_vars][len(args):])[:3]
        out = {} if destination is None else destination
        for name, p in self._named_state(remove_duplicate=False):
            out[prefix + name] = p if keep_vars else _detached_copy(p)
        return out

    def __dir__(self):
        # PyTorch's rule: names starting with a digit (a Sequential's "0") are left out
        return [k for k in super().__dir__() if not k[:1].isdigit()]

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values from ``state_dict`` into the parameters, all or nothing.

        Every key and shape is checked before anything is written, so on error the model
        is unchanged. Values may be NumPy/CuPy arrays, Tensors or nested lists; they are
        converted to each parameter's dtype and device. Lazily-built layers (``Dense``
        without ``input_dim``) are built from the saved shapes. A tensor held under several
        names needs each of them (PyTorch's rule). A BatchNorm's ``num_batches_tracked``
        may be missing (a checkpoint older than that buffer, as PyTorch loads it): the
        module keeps its own counter.

        Args:
            state_dict: ``{name: array}`` as returned by :meth:`state_dict` or ``ge.load``.
            strict: require exactly the model's keys (else missing/extra keys are skipped).
            assign: PyTorch's ``assign=True``: the given values become the parameters and
                buffers (sharing memory with a Tensor or array given, keeping its dtype and
                device) instead of being copied into them; a parameter stays a Parameter
                with the module's ``requires_grad``. An optimizer made before then still
                holds the old parameters, as in PyTorch.
        Returns:
            ``(missing_keys, unexpected_keys)``, a named tuple as in PyTorch (both empty
            when strict).
        Raises:
            KeyError: naming every missing and every unexpected key (strict only).
            ShapeError: naming every key whose shape differs, with both shapes.
            DTypeError: naming every key whose array is not real numbers (object,
                complex, strings).
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = {k: v for k, v in self._named_state(remove_duplicate=False)  # a lazy module's
               if not getattr(v, "_lazy_uninit", False)}  # uninitialized tensors: pending
        lazy = {}  # name -> (layer, expected shape with None for the unknown input size)
        optional = set()  # keys an older checkpoint may lack (BatchNorm's counter)
        for mod_name, mod in self.named_modules(remove_duplicate=False):
            pending_fn = getattr(mod, "_pending_parameters", None)
            for pname, shape in (pending_fn() if pending_fn else {}).items():
                lazy[f"{mod_name}.{pname}" if mod_name else pname] = (mod, shape)
            for pname in getattr(mod, "_optional_state", ()):
                optional.add(f"{mod_name}.{pname}" if mod_name else pname)
        expected = set(own) | set(lazy)
        given = set(state_dict)
        missing = [k for k in (*own, *lazy)  # in the model's order
                   if k not in given and k not in optional]
        unexpected = [k for k in state_dict if k not in expected]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise StateDictError(f"load_state_dict: {' and '.join(parts)} (the model's keys "
                                 f"are {sorted(expected)}); nothing was loaded")
        arrays = {}
        bad = []
        kinds = []
        for name in sorted(expected & given):
            arr = _as_array(state_dict[name])
            if arr.dtype.kind not in "fiub":
                kinds.append(f"{name!r} has dtype {arr.dtype}")
                continue
            if name in own:
                want = own[name].shape
                ok = tuple(arr.shape) == want
            else:
                want = lazy[name][1]
                ok = len(arr.shape) == len(want) and all(
                    w is None or w == s for w, s in zip(want, arr.shape))
            if not ok:
                bad.append(f"{name!r}: checkpoint {tuple(arr.shape)} vs model "
                           f"{tuple(want)}")
            arrays[name] = arr
        if kinds:
            raise DTypeError("load_state_dict: " + "; ".join(kinds) + " (parameters take real "
                             "numbers: an object array would load as NaN, a complex one "
                             "would lose its imaginary part); nothing was loaded")
        if bad:
            raise ShapeError("load_state_dict: shape mismatch for " + "; ".join(bad))
        pending = {}
        for name, (layer, _) in lazy.items():
            if name in arrays:
                pending.setdefault(id(layer), (layer, {}))[1][name] = arrays[name]
        builds = []
        for layer, entries in pending.values():
            builds.append((layer, layer._shape_from_state(entries)))
        if assign:
            assigned = [(name, _assigned(state_dict[name], arrays[name], p))
                        for name, p in own.items() if name in arrays]
            for name, value in assigned:
                mod_path, _, attr = name.rpartition(".")
                setattr(self.get_submodule(mod_path), attr, value)
            own = {}
        # Convert everything first (a bad dtype fails here, before any write) ...
        commits = []
        for name, p in own.items():
            if name in arrays:
                commits.append((p, _converted(arrays[name], p.dtype, p.device)))
        # ... then build the lazy layers and write, restoring the old arrays on any error.
        done = []
        try:
            for layer, in_features in builds:
                layer.build(in_features)
                prefix = next(n for n, m in self.named_modules() if m is layer)
                for pname, p in list(layer._parameters.items()) + list(
                        layer.__dict__.get("_buffers", {}).items()):
                    key = f"{prefix}.{pname}" if prefix else pname
                    if key in arrays:
                        commits.append((p, _converted(arrays[key], p.dtype, p.device)))
            for p, arr in commits:
                done.append((p, p.data))
                p.data = arr
                p._version += 1
        except BaseException:
            for p, old in reversed(done):
                p.data = old
            for layer, _ in builds:
                layer._unbuild()
            raise
        return _IncompatibleKeys(missing, unexpected)

    def to(self, device=None, dtype=None, non_blocking=False, memory_format=None):
        """Move every parameter (and gradient) to ``device`` and/or cast to a floating
        ``dtype``, in place (the Parameter objects stay the same); returns self.

        ``to("cuda")``, ``to("float64")``, ``to("cuda", "float16")``, ``to(dtype=...)``,
        ``to(tensor)`` (its device and dtype); ``non_blocking`` / ``memory_format`` are
        accepted (copies are synchronous).
        Everything is converted before anything is rebound, so on error nothing changes.

        Raises:
            DTypeError: a dtype that is not floating (parameters must stay trainable).
            DeviceError: a device that cannot be used.
        """
        if isinstance(device, Tensor):  # module.to(tensor), as torch
            device, dtype = device.device, device.dtype
        if dtype is None and device is not None and _looks_like_dtype(device):
            device, dtype = None, device
        dev = backend.normalize_device(device, "to") if device is not None else None
        dt = backend.resolve_dtype(dtype, "to") if dtype is not None else None
        if dt is not None and dt.kind != "f":
            raise DTypeError(f"to: dtype {dt} is not a floating dtype; a module's parameters "
                             "must stay floating to be trained (nothing was changed)")
        changes = []
        for p in self.parameters() + self.buffers():
            for t in (p, p.grad):
                if t is None or not isinstance(t, Tensor):
                    continue
                arr, where = t.data, t.device
                if dev is not None and dev != t.device:
                    arr, where = backend.to_device_array(arr, dev), dev
                if dt is not None and arr.dtype != dt and arr.dtype.kind == "f":
                    with backend.cuda_context(where):
                        arr = arr.astype(dt)
                if arr is not t.data:
                    changes.append((t, arr, where))
        for m in self.modules():
            if dev is not None:
                object.__setattr__(m, "_device", dev)
            if dt is not None:
                object.__setattr__(m, "_dtype", dt)
        for t, arr, where in changes:
            t.data = arr
            t.device = where
            t._version += 1
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index: int = 0):
        return self.to(f"cuda:{index}")

    def double(self):
        return self.to(dtype="float64")

    def float(self):
        return self.to(dtype="float32")

    def half(self):
        return self.to(dtype="float16")

    def type(self, dst_type):
        return self.to(dtype=dst_type)

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        mods = self.__dict__.get("_modules", {})
        if not mods:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, m in mods.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


def keras_snake(name: str) -> str:
    """Keras' ``to_snake_case``: ``Conv2D`` -> ``conv2d``, ``InputLayer`` -> ``input_layer``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


KERAS_UIDS: dict = {}
"""Keras' name counters (``keras.backend.get_uid``), reset by ``clear_session()``."""


def keras_uid(prefix: str) -> int:
    """1, 2, 3, ... per ``prefix``."""
    KERAS_UIDS[prefix] = KERAS_UIDS.get(prefix, 0) + 1
    return KERAS_UIDS[prefix]


def keras_auto_name(prefix: str) -> str:
    """Keras' unique default name: ``dense``, then ``dense_1``, ``dense_2`` ... in the order
    the objects are made, across models, until ``keras.backend.clear_session()``."""
    uid = keras_uid(prefix)
    return prefix if uid == 1 else f"{prefix}_{uid - 1}"


class DTypePolicy:
    """Keras' dtype policy: ``name``, ``compute_dtype`` and ``variable_dtype`` (one float
    type: gradengine has no mixed policies). :mod:`gradengine.keras.config` re-exports it."""

    def __init__(self, name=None):
        self.name = name or backend.DEFAULT_FLOAT.name
        self.compute_dtype = self.variable_dtype = self.name

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'

    def get_config(self):
        return {"name": self.name}


class KerasWeights:
    """Keras' ``trainable`` switch and weight lists, mixed into the Keras layers and models
    (not into plain modules, whose ``weights`` may be a user's own attribute).

    ``layer.trainable = False`` freezes the layer and every layer inside it, as Keras 3
    does: their parameters stop requiring grad (so ``fit`` and any optimizer leave them
    alone, as ``p.requires_grad = False`` does in PyTorch), weights the layer builds later
    start frozen, and ``trainable = True`` unfreezes them all again."""

    @property
    def name(self) -> str:
        """The layer's (or model's) name: the one given, else Keras' unique default
        (``dense``, ``dense_1``, ...; ``sequential``, ``functional``), made when the layer
        is constructed."""
        n = self.__dict__.get("_keras_name")
        if n is None:
            n = self.__dict__["_keras_name"] = keras_auto_name(self._default_name())
        return n

    @name.setter
    def name(self, value) -> None:
        if value is None:  # a constructor's name=None: Keras' default, made now
            if self.__dict__.get("_keras_name") is None:
                self.__dict__["_keras_name"] = keras_auto_name(self._default_name())
            return
        if not isinstance(value, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, got "
                            f"{type(value).__name__} {value!r}")
        self.__dict__["_keras_name"] = value

    def _default_name(self) -> str:
        return keras_snake(type(self).__name__)

    @property
    def trainable(self) -> bool:
        return not self.__dict__.get("_frozen", False)

    def compute_output_shape(self, input_shape, *more_shapes):
        """Keras' ``compute_output_shape``: the output's shape (batch axis included) for
        inputs of ``input_shape`` (a shape, or a list of shapes for a layer of several
        inputs; further shapes are further arguments, as MultiHeadAttention's query and
        value), found by one probe of zeros in inference mode without a graph. A layer
        with a rule of its own overrides this."""
        several = isinstance(input_shape, list) and input_shape and \
            isinstance(input_shape[0], (list, tuple))
        shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
        shapes += [tuple(s) for s in more_shapes]
        dt = self.__dict__.get("_dtype") or backend.DEFAULT_FLOAT
        probes = [Tensor._make(np.zeros(tuple(1 if d is None else int(d) for d in s),
                                        dtype=dt), backend.CPU) for s in shapes]
        with no_grad(), self.in_mode(False):
            out = self(probes) if several else self(*probes)
        batch = shapes[0][0] if shapes[0] else None

        def shape_of(t):
            return (batch,) + tuple(t.shape[1:]) if t.ndim else ()
        if isinstance(out, (list, tuple)):
            return type(out)(shape_of(t) for t in out)
        return shape_of(out)

    # Keras' dtype attributes: the layer's float type (its policy is never mixed here)
    @property
    def dtype(self) -> str:
        """The layer's variable (and compute) dtype name, ``"float32"`` by default."""
        return np.dtype(self.__dict__.get("_dtype") or backend.DEFAULT_FLOAT).name

    @dtype.setter
    def dtype(self, value) -> None:
        self.__dict__["_dtype"] = np.dtype(value)

    compute_dtype = variable_dtype = dtype

    @property
    def dtype_policy(self):
        return DTypePolicy(self.dtype)

    input_spec = None  # Keras' InputSpec, when a layer sets one (not checked here)

    @trainable.setter
    def trainable(self, value) -> None:
        frozen = not bool(value)
        for m in self.modules():
            object.__setattr__(m, "_frozen", frozen)
        for p in self.parameters():
            p.requires_grad_(not frozen)
        state_epoch[0] += 1

    @property
    def weights(self) -> list:
        """Every weight: the parameters, then the buffers (moving statistics); each answers
        Keras' ``name``, ``path`` (this layer's name, the inner layers', the weight's) and
        ``trainable``."""
        return self._keras_paths([t for _, t in self._named_state()])

    def _keras_paths(self, tensors):
        """``tensors`` (weights of this layer), after giving each its Keras path."""
        wanted = {id(t) for t in tensors}
        for key, t in self._named_state():
            if id(t) not in wanted:
                continue
            parts = key.split(".")
            # a functional model's layers are built outside it: their paths start with
            # their own names (Keras' name scopes); a Sequential or subclass prefixes its own
            names = [] if self.__dict__.get("_graph") else [self.name]
            mod = self
            for part in parts[:-1]:
                mod = mod.__dict__.get("_modules", {}).get(part)
                if isinstance(mod, KerasWeights):
                    names.append(mod.name)
            wname = getattr(type(mod), "_keras_names", {}).get(parts[-1], parts[-1])
            t._keras_var = (wname, "/".join(names + [wname]))
        return tensors

    @property
    def variables(self) -> list:
        return self.weights

    @property
    def trainable_weights(self) -> list:
        """The parameters that training updates (none of a frozen layer)."""
        return self._keras_paths([p for p in self.parameters() if p.requires_grad])

    @property
    def trainable_variables(self) -> list:
        return self.trainable_weights

    @property
    def non_trainable_weights(self) -> list:
        """The frozen parameters, then the buffers."""
        return self._keras_paths([p for p in self.parameters() if not p.requires_grad] +
                                 list(self.buffers()))

    @property
    def non_trainable_variables(self) -> list:
        return self.non_trainable_weights

    # -- kssuite: Keras' ``layer.losses``: the weight regularization penalties
    @property
    def losses(self) -> list:
        """The penalties of the weights given a regularizer (``kernel_regularizer``
        penalises ``kernel``, ``add_weight(regularizer=...)`` its weight), as scalar
        Tensors, for this layer and the layers inside it (Keras' ``layer.losses``)."""
        out = []
        for m in self.modules():
            for name, reg in list(m.__dict__.items()):
                if name.endswith("_regularizer") and name != "activity_regularizer" and \
                        reg is not None and callable(reg):
                    base = name[:-len("_regularizer")]
                    w = getattr(m, base, None)
                    if not isinstance(w, Tensor):
                        w = getattr(m, base + "_kernel", None)
                    if isinstance(w, Tensor):
                        out.append(reg(w))
            out.extend(reg(w) for reg, w in m.__dict__.get("_weight_regularizers", ()))
            out.extend(m.__dict__.get("_added_losses", ()))  # add_loss, of the last call
        return out

    def add_loss(self, loss) -> None:
        """Keras' ``add_loss``: a scalar term (a non-scalar one is summed) added to the
        training loss of the ``fit`` step whose forward made it, and listed in
        ``layer.losses`` / ``model.losses`` until the layer's next call."""
        if not isinstance(loss, Tensor):
            loss = Tensor(np.asarray(loss, dtype=np.float32))
        if loss.ndim:
            loss = loss.sum()
        self.__dict__.setdefault("_added_losses", []).append(loss)
        from . import _keras_regularizers
        _keras_regularizers.record_loss(loss)

    # ------------------------------------------------------------ symbolic (Keras)
    # A call on KerasTensors (keras.Input and what layers make of it) records a node on
    # the layer (``_inbound_nodes``, Keras' name); ``input`` / ``output`` are those of its
    # first call, as Keras gives them: ``keras.Model(model.input,
    # model.get_layer("features").output)`` is the feature-extractor idiom. A layer of a
    # Sequential model is called symbolically by the model when first asked.
    @property
    def output(self):
        """The symbolic output of this layer's first call on KerasTensors."""
        return self._node_attribute("outputs", "output")

    @output.setter
    def output(self, value):  # an attribute of that name (InputLayer's, a submodule) wins
        self.__dict__["output"] = value

    @output.deleter
    def output(self):
        self.__dict__.pop("output", None)

    @property
    def input(self):
        """The symbolic input of this layer's first call on KerasTensors (one tensor, or a
        list of them)."""
        return self._node_attribute("inputs", "input")

    @input.setter
    def input(self, value):
        self.__dict__["input"] = value

    @input.deleter
    def input(self):
        self.__dict__.pop("input", None)

    def _node_attribute(self, attr, what):
        d = self.__dict__
        if what in d:
            return d[what]
        nodes = d.get("_inbound_nodes")
        if not nodes:
            for ref in list(d.get("_keras_parents", ())):
                parent = ref()
                if parent is not None:
                    parent._symbolic()  # a Sequential builds its graph on demand
            nodes = d.get("_inbound_nodes")
        if not nodes:
            name = getattr(self, "name", None) or type(self).__name__
            raise AttributeError(f"The layer {name!r} has never been called on symbolic "
                                 f"tensors (keras.Input) and thus has no defined {what}.")
        value = getattr(nodes[0], attr)
        if isinstance(value, list):
            return value[0] if len(value) == 1 else list(value)
        return value

    def count_params(self) -> int:
        """The number of weights' elements (parameters and buffers, as Keras counts).

        Raises:
            ValueError: the layer is not built yet (its sizes are unknown).
        """
        if not getattr(self, "built", True) and not self.weights:
            name = getattr(self, "name", None) or type(self).__name__
            raise ValueError(f"count_params: the layer {name!r} is not built yet: call it "
                             "on data first")
        return sum(int(t.size) for t in self.weights)


class _KwHook:
    """A forward (pre-)hook registered with ``with_kwargs=True``."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


class _Handle:
    """What the register_*_hook methods return: ``handle.remove()`` unregisters the hook."""

    _ids = iter(range(1 << 62))

    def __init__(self, hooks, hook, prepend=False):
        self.hooks, self.id = hooks, next(_Handle._ids)
        hooks[self.id] = hook
        if prepend:
            for k in [k for k in hooks if k != self.id]:
                hooks[k] = hooks.pop(k)
        state_epoch[0] += 1  # what a ge.jit program of the module baked in may change

    def remove(self):
        if self.hooks.pop(self.id, None) is not None:
            state_epoch[0] += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _detached_copy(t):
    """A copy of ``t``'s values as a new leaf on its device."""
    with backend.cuda_context(t.device):
        return Tensor._make(t.data.copy(), t.device)


def _host_copy(arr):
    return arr.copy() if isinstance(arr, np.ndarray) else backend.cupy().asnumpy(arr)


def _looks_like_dtype(x):
    """Whether ``to``'s first argument names a dtype rather than a device."""
    if isinstance(x, (np.dtype, type)):
        return True
    if isinstance(x, str):
        d = x.strip().lower()
        return not (d == "cpu" or d.startswith("cuda"))
    return False


def _as_array(v):
    if isinstance(v, Tensor):
        return v.data
    if isinstance(v, np.ndarray) or (backend.cupy() is not None and
                                     isinstance(v, backend.cupy().ndarray)):
        return v
    return np.asarray(v)


def _assigned(value, arr, like):
    """What ``load_state_dict(assign=True)`` puts in ``like``'s place: the Tensor given (or
    one sharing the array given), a Parameter with ``like``'s requires_grad for a
    parameter."""
    if not isinstance(like, Parameter):
        return value if isinstance(value, Tensor) else \
            Tensor._make(arr, backend.device_of_array(arr))
    if isinstance(value, Parameter):
        return value.requires_grad_(like.requires_grad)
    p = Parameter(None, requires_grad=False)  # then given the array itself, not a copy
    p.data, p.device = arr, backend.device_of_array(arr)
    return p.requires_grad_(like.requires_grad)


def _converted(arr, dtype, device):
    """A fresh array of ``dtype`` on ``device`` holding ``arr``'s values (never aliased)."""
    out = backend.to_device_array(arr, device)
    return out.astype(dtype, copy=out is arr or out.dtype != dtype)

