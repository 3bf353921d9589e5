"""The optimizer base class: parameter groups, the atomic step, state dicts.

Update rules are PyTorch's, written line for line on the arrays (``p.data``,
``p.grad.data``): no Tensor ops and no graph, so a step costs a few array operations per
parameter. Each optimizer implements one public, elementwise rule,
:meth:`Optimizer.update_arrays`, which ``ge.jit`` also applies once to all parameters laid
end to end (:mod:`gradengine.jit_optim`).

A step is atomic. Every gradient is checked against its parameter (shape, dtype, device)
and every new parameter value and state entry is first computed into fresh arrays; only
then are they committed by rebinding (``p.data = new``). If anything -- a
KeyboardInterrupt included -- interrupts the commit, the old arrays are put back, so each
parameter and its optimizer state are either all-before or all-after the step. Committing
bumps each updated parameter's version, so a backward through a graph recorded before the
step raises GraphError instead of using stale values.

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad(); loss.backward(); opt.step()
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np

from .. import backend
from ..core.gradmode import enable_grad
from ..core.op import host_call
from ..core.tensor import Tensor
from ..errors import DeviceError, DTypeError, ShapeError

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: parameter groups with their hyperparameters, per-parameter state.

    ``params`` is an iterable of Tensors, or of dicts (parameter groups) each holding
    ``"params"`` and any hyperparameters that differ from the defaults, as in PyTorch::

        optim.SGD([{"params": model.fc1.parameters(), "lr": 0.1},
                   {"params": model.fc2.parameters()}], lr=0.01, momentum=0.9)

    A subclass gives its defaults to ``__init__`` and implements :meth:`update_arrays`
    (and :meth:`_check` for its hyperparameters, :meth:`_state_names` for its state).

    Attributes:
        param_groups: list of dicts ``{"params": [Tensor, ...], "lr": ..., ...}``; assign
            to a group's hyperparameters to change them (``opt.param_groups[0]["lr"] = 1e-4``).
        defaults: the hyperparameters given to the constructor.
        params: every parameter of every group, in order (a list).
        state: PyTorch's mapping from each parameter to its state, a dict-like of torch's
            names (``opt.state[p]["exp_avg"]``, ``for p, s in opt.state.items()``,
            ``p in opt.state``; see :class:`StateView`). Internally ``_state`` keeps one
            entry per parameter of ``params`` (None before its first update): the list of
            its state values, named by :meth:`_state_names`.
        lr: the learning rate of a single-group optimizer (reads and writes
            ``param_groups[0]["lr"]``); other hyperparameters read the same way
            (``opt.momentum``).
    """

    # the update's array work is the same at every step (a CUDA graph may hold it)
    step_is_static: bool = False
    # a subclass whose parameters come later (the Keras optimizers, bound at build) may be
    # made without any; torch's optimizers refuse an empty list
    _params_later: bool = False

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got a single Tensor ({name}: pass [t] or "
                            "model.parameters())")
        if isinstance(params, dict):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got one dict ({name}: pass [group])")
        groups = list(params)
        if not groups and not self._params_later:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        object.__setattr__(self, "defaults", dict(defaults))
        object.__setattr__(self, "param_groups", [])
        object.__setattr__(self, "params", [])
        object.__setattr__(self, "_state", [])
        object.__setattr__(self, "_groups_of", [])
        if not groups:
            return
        kinds = {isinstance(g, dict) for g in groups}
        if kinds == {True, False}:
            raise TypeError(f"{name}: params mixes Tensors and dicts; give either a list of "
                            "Tensors or a list of parameter groups (dicts)")
        if kinds == {False}:
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (``{"params": [...], <hyperparameter>: value}``);
        missing hyperparameters take the defaults. As in torch, the parameters may be
        named: ``(name, Tensor)`` pairs (``model.named_parameters()``) keep their names in
        ``group["param_names"]`` (and in :meth:`state_dict`).

        Raises:
            TypeError: a group that is not a dict, parameters given as a set, an entry
                that is not a Tensor.
            KeyError: a group without ``"params"`` (also a ValueError).
            ValueError: a non-leaf Tensor, a parameter already in a group or twice in this
                one, some parameters named and others not, or an invalid hyperparameter.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        if "params" not in param_group:
            raise _MissingParams(f"{name}: a parameter group is a dict with a 'params' key; "
                                 f"got the keys {sorted(map(str, param_group))}")
        group = dict(param_group)
        plist = group["params"]
        if isinstance(plist, Tensor):
            plist = [plist]
        elif isinstance(plist, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            plist = list(plist)
        names = [p[0] for p in plist if isinstance(p, tuple)]
        if names:
            if len(names) != len(plist):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            plist = [p[1] for p in plist]
            group["param_names"] = names
        base = len(self.params)
        seen = {id(p) for p in self.params}
        mine = set()
        for k, p in enumerate(plist):
            i = base + k
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__} ({name}: parameter {i})")
            if p.node is not None:
                raise ValueError(f"can't optimize a non-leaf Tensor ({name}: parameter {i} "
                                 f"(shape {p.shape}) is not a leaf Tensor: it was computed by "
                                 "an op; optimize the leaf, or use .detach() to make a new "
                                 "leaf)")
            if id(p) in mine:
                # torch warns and keeps both (each then updated twice); refused here
                raise ValueError("optimizer contains a parameter group with duplicate "
                                 f"parameters ({name}: parameter {i}, shape {p.shape}, appears "
                                 "more than once in this group; torch warns and updates it "
                                 "twice, gradengine refuses)")
            if id(p) in seen:
                raise ValueError("some parameters appear in more than one parameter group "
                                 f"({name}: parameter {i}, shape {p.shape}, is given more "
                                 "than once)")
            mine.add(id(p))
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in group):
                what = "with names" if "param_names" in group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {what} to the optimizer")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        group["params"] = plist
        _plain_lr(self, group)
        self._check(group)
        self.param_groups.append(group)
        self.params.extend(plist)
        self._state.extend([None] * len(plist))
        self._groups_of.extend([group] * len(plist))

    def _check(self, group: dict) -> None:
        """Raise ValueError for an invalid hyperparameter of ``group`` (torch's checks)."""
        _nonneg(self, group, "lr", "learning rate")

    # single-group conveniences: opt.lr, opt.momentum, ... read param_groups
    def _hyper_value(self, key):
        groups = self.param_groups
        if not groups:
            return self.defaults[key]
        first = groups[0][key]
        if any(g[key] != first for g in groups[1:]):
            raise ValueError(f"{type(self).__name__}.{key}: the {len(groups)} parameter groups "
                             f"have different values; read param_groups[i][{key!r}]")
        return first

    def __getattr__(self, key):
        d = self.__dict__
        if "defaults" in d and key in d["defaults"]:
            return self._hyper_value(key)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    def __setattr__(self, key, value):
        d = self.__dict__
        if "defaults" in d and key in d["defaults"]:
            if len(self.param_groups) > 1:
                raise ValueError(f"{type(self).__name__}.{key}: the optimizer has "
                                 f"{len(self.param_groups)} parameter groups; set "
                                 f"param_groups[i][{key!r}]")
            for g in self.param_groups:
                g[key] = value
            d["defaults"][key] = value
            return
        object.__setattr__(self, key, value)

    # ------------------------------------------------------------ the rule
    def update_arrays(self, xp, data, grad, state, group):
        """One parameter's update, computed into fresh arrays, touching nothing.

        The rule is elementwise, so it may also be applied to many parameters laid end to
        end in one flat array (what ``ge.jit`` does) with the same results bit for bit.

        Args:
            xp: the array module (numpy or cupy) of ``data``.
            data: the parameter's array. grad: its gradient (same shape, dtype, device).
            state: the parameter's state list (named by :meth:`_state_names`), or None
                before its first update.
            group: the parameter group (a dict) whose hyperparameters apply.
        Returns:
            ``(new_data, new_state)``: fresh arrays (``new_state`` is None for a rule that
            keeps no state); neither ``data``, ``grad`` nor ``state`` is modified.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define update_arrays")

    def stateless(self, group) -> bool:
        """Whether the rule keeps no state under ``group``'s hyperparameters (then
        :meth:`update_in_place` may be used)."""
        return False

    def update_in_place(self, xp, data, grad, group) -> None:
        """The stateless update written into ``data`` by one final array call (atomic);
        the same numbers as :meth:`update_arrays`. Only valid when :meth:`stateless`."""
        new, _ = self.update_arrays(xp, data, grad, None, group)
        xp.copyto(data, new)

    def _state_names(self, group) -> tuple:
        """The names of a parameter's state entries under ``group``'s hyperparameters."""
        return ()

    # ------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None by default, as in PyTorch 2)."""
        host_call(self._zero_grad, set_to_none)

    def _zero_grad(self, set_to_none):
        if set_to_none:  # (the slot itself: a host step is one call to the plug-in hook)
            for p in self.params:
                p._grad = None
            return
        for p in self.params:
            g = p._grad
            if g is None:
                continue
            d = g.data
            if g.node is None and type(d) is np.ndarray and d.flags.writeable and \
                    d.base is None:
                # torch's grad.zero_(): the same Tensor, so a reference to p.grad sees zeros
                d.fill(0)
                g._version += 1
            else:  # a gradient with a graph (create_graph), a view, a device array
                p._grad = Tensor._make(backend.xp_of(p.device).zeros_like(d), p.device)

    def step(self, closure=None):
        """Update every parameter that has a gradient; atomic (see the module docstring).

        Args:
            closure: optional callable that re-evaluates the model and returns the loss;
                it runs (with gradients enabled) before the update, as in PyTorch.
        Returns:
            The closure's loss, or None.
        Raises:
            TypeError: a ``.grad`` that is not a gradengine Tensor (a NumPy array).
            ShapeError, DTypeError, DeviceError: a gradient whose shape, dtype or device
                differs from its parameter's; nothing is changed.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self.__dict__["_opt_called"] = True  # (a scheduler stepped before it warns, as torch)
        host_call(self._step)  # through the dispatch: ge.jit sees and replays the update
        return loss

    step._ge_marks_called = True

    def _plain_hypers(self):
        """A Tensor lr assigned to a group since it was made, read as its value."""
        for group in self.param_groups:
            if isinstance(group.get("lr"), Tensor):
                _plain_lr(self, group)

    def _step(self):
        self._plain_hypers()
        updates = []
        update = self.update_arrays
        state = self._state
        groups = self._groups_of
        for i, p in enumerate(self.params):
            g = p._grad
            if g is None:
                continue
            d = p.data
            if not isinstance(g, Tensor) or g.data.shape != d.shape or \
                    g.data.dtype != d.dtype or g.device != p.device:
                self._bad_grad(i, p, g)
            xp = np if p.device == "cpu" else backend.xp_of(p.device)
            new, st = update(xp, d, g.data, state[i], groups[i])
            if d.ndim == 0:
                new, st = _zero_dim(d, new, st)
            if not new.flags.c_contiguous and d.flags.c_contiguous:
                # the parameter keeps its layout (a transposed weight's gradient comes
                # back column-major): BLAS rounds by layout, so a weight that changed
                # layout would give other last bits than the same values saved and loaded
                new = xp.ascontiguousarray(new)
            updates.append((i, p, new, st))
        self._commit(updates)

    def _bad_grad(self, i, p, g):
        name = f"{type(self).__name__}.step"
        what = f"parameter {i} (shape {p.shape}, {p.dtype}, on {p.device})"
        if not isinstance(g, Tensor):
            raise TypeError(f"{name}: the .grad of {what} is a {type(g).__module__}."
                            f"{type(g).__name__}, not a gradengine Tensor; assign "
                            "ge.tensor(...) (nothing was updated)")
        gd = g.data
        if gd.shape != p.data.shape:
            raise ShapeError(f"{name}: the gradient of {what} has shape {tuple(gd.shape)}, "
                             f"the parameter {p.shape} (nothing was updated)")
        if gd.dtype != p.data.dtype:
            raise DTypeError(f"{name}: the gradient of {what} has dtype {gd.dtype}, the "
                             f"parameter {p.data.dtype} (nothing was updated)")
        raise DeviceError(f"{name}: the gradient of {what} is on {g.device}, the parameter "
                          f"on {p.device} (nothing was updated)")

    def _commit(self, updates):
        state = self._state
        done = []
        try:
            for i, p, data, st in updates:
                done.append((i, p, p.data, state[i]))
                p.data = data
                state[i] = st
                p._version += 1
        except BaseException:
            # Put every old array back: the step happens completely or not at all.
            for i, p, data, st in reversed(done):
                p.data = data
                state[i] = st
            raise

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index,
        ...]}]}`` as in PyTorch (indices count through the groups in order; a group made
        from named parameters also has its ``"param_names"``).

        Arrays are host (NumPy) copies, so the dict can be given to ``ge.save`` as is;
        ``"step"`` is a 0-d float32 array, as torch keeps a float32 tensor.
        """
        states = {}
        for i, st in enumerate(self._state):
            if st is not None:
                names = self._state_names(self._groups_of[i])
                states[i] = {k: _saved_value(k, v) for k, v in zip(names, st)}
        return {"state": states, "param_groups": self._packed_groups()}

    def _packed_groups(self):
        groups, start = [], 0
        for g in self.param_groups:
            out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()
                   if k != "params"}
            if "param_names" in out:
                out["param_names"] = list(out["param_names"])
            out["params"] = list(range(start, start + len(g["params"])))
            start += len(g["params"])
            groups.append(out)
        return groups

    def _saved_groups(self, state_dict):
        """The saved groups of ``state_dict`` checked against this optimizer's (torch's
        errors), and ``{saved id: index of this optimizer's parameter}``: torch pairs the
        ids listed in the saved groups with the parameters in order."""
        name = type(self).__name__
        try:
            groups = list(state_dict["param_groups"])
            state_dict["state"].items()
            saved_sizes = [len(g["params"]) for g in groups]
        except (KeyError, TypeError, AttributeError):
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             "'param_groups'") from None
        own_sizes = [len(g["params"]) for g in self.param_groups]
        detail = (f"({name}.load_state_dict: the saved state has {sum(saved_sizes)} "
                  f"parameters in {len(groups)} group(s) {saved_sizes}; this optimizer has "
                  f"{sum(own_sizes)} in {len(own_sizes)} {own_sizes})")
        if len(groups) != len(own_sizes):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             + detail)
        if saved_sizes != own_sizes:
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group " + detail)
        index = {}
        for i, key in enumerate(k for g in groups for k in g["params"]):
            index.setdefault(_id_key(key), i)
        return groups, index

    def _own_index(self, key, index, where):
        i = index.get(_id_key(key))
        if i is None:
            raise ValueError(f"{where}: state for parameter id {key!r}, which no saved "
                             f"parameter group lists (they list {sorted(index, key=str)})")
        return i

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by :meth:`state_dict` (all or nothing).

        Also reads a ``torch.optim`` state dict of the same optimizer (torch tensors are
        converted to arrays). As in torch, the saved state is matched to the parameters by
        the order of the ids in the saved groups; saved ``param_names`` replace the
        optimizer's (which stay where the saved groups have none).

        Raises:
            ValueError: a different number of groups or parameters, or a malformed dict.
            ShapeError: a state array whose shape differs from its parameter's.
        """
        name = type(self).__name__
        groups, index = self._saved_groups(state_dict)
        states = state_dict["state"]
        own_sizes = [len(g["params"]) for g in self.param_groups]
        # the new groups, without touching the current ones
        new_groups = []
        for own, saved in zip(self.param_groups, groups):
            g = dict(own)
            for k, v in saved.items():
                if k == "param_names":
                    g[k] = list(v)
                elif k != "params":
                    g[k] = tuple(v) if isinstance(v, list) else v
            _plain_lr(self, g)
            self._check(g)
            new_groups.append(g)
        groups_of = [g for g, n in zip(new_groups, own_sizes) for _ in range(n)]
        new_state = [None] * len(self.params)
        where = f"{name}.load_state_dict"
        for key, st in states.items():
            i = self._own_index(key, index, where)
            new_state[i] = self._entry_from(i, st, groups_of[i], where)
        for own, g in zip(self.param_groups, new_groups):
            own.update(g)
        self._state = new_state

    def _entry_from(self, i, st, group, where):
        """Parameter ``i``'s internal state entry made from ``st``, a mapping of torch's
        names to values (arrays, Tensors, torch tensors, numbers), or None for a state of
        only Nones. Raises ValueError for a missing name, ShapeError for a wrong shape."""
        names = self._state_names(group)
        if not names or all(st.get(k) is None for k in st):
            return None  # torch keeps {"momentum_buffer": None} for plain SGD
        missing = [k for k in names if k not in st]
        if missing:
            raise ValueError(f"{where}: state of parameter {i} lacks {missing}")
        return [_state_value(self, i, k, st[k], where) for k in names]

    @property
    def state(self):
        """PyTorch's ``optimizer.state``: each parameter (with state) to a dict-like of its
        state under torch's names, the arrays read as Tensors sharing them (see
        :class:`StateView`)."""
        return StateView(self)

    @state.setter
    def state(self, value):
        if isinstance(value, list) and len(value) == len(self.params):  # the internal form
            object.__setattr__(self, "_state", value)
            return
        new = [None] * len(self.params)
        index = _index_of(self)
        for p, st in dict(value).items():
            i = index.get(id(p))
            if i is None or self.params[i] is not p:
                raise KeyError(f"{type(self).__name__}.state: a key that is not one of the "
                               "optimizer's parameters")
            new[i] = self._entry_from(i, dict(st), self._groups_of[i],
                                      f"{type(self).__name__}.state")
        object.__setattr__(self, "_state", new)

    def __repr__(self):
        parts = []
        for k, g in enumerate(self.param_groups):
            args = ", ".join(f"{h}={v!r}" for h, v in g.items() if h != "params")
            parts.append(f"group {k}: {len(g['params'])} parameters, {args}")
        return f"{type(self).__name__}({'; '.join(parts) or 'no parameters'})"


class StateView(MutableMapping):
    """``optimizer.state`` as PyTorch has it: a mapping from each parameter that has state
    (after its first update) to a :class:`ParamState`. ``opt.state[p]`` of a parameter
    without state is an empty ParamState (torch's defaultdict gives ``{}``); ``p in
    opt.state``, ``len``, ``items()`` count only parameters with state; ``del
    opt.state[p]`` forgets its state (the next step starts it afresh);
    ``opt.state[p] = {...}`` sets all of its entries."""

    __slots__ = ("_opt",)

    def __init__(self, opt):
        self._opt = opt

    def _index(self, p):
        i = _index_of(self._opt).get(id(p))
        if i is None or self._opt.params[i] is not p:
            raise KeyError(f"{type(self._opt).__name__}.state is keyed by the optimizer's "
                           f"parameters (as torch's); got a {type(p).__name__}"
                           + (" (opt.params[i] is parameter i)" if isinstance(p, int) else ""))
        return i

    def __getitem__(self, p):
        return ParamState(self._opt, self._index(p))

    def __setitem__(self, p, value):
        i = self._index(p)
        opt = self._opt
        opt._state[i] = opt._entry_from(i, dict(value), opt._groups_of[i],
                                        f"{type(opt).__name__}.state")

    def __delitem__(self, p):
        self._opt._state[self._index(p)] = None

    def __contains__(self, p):
        i = _index_of(self._opt).get(id(p))
        return i is not None and self._opt.params[i] is p and self._opt._state[i] is not None

    def __iter__(self):
        opt = self._opt
        return iter([p for p, st in zip(opt.params, opt._state) if st is not None])

    def __len__(self):
        return sum(st is not None for st in self._opt._state)

    def __repr__(self):
        return "{" + ", ".join(f"<parameter {self._index(p)}>: {v!r}"
                               for p, v in self.items()) + "}"


class ParamState(MutableMapping):
    """``opt.state[p]``: one parameter's state under torch's names (``"step"``,
    ``"exp_avg"``, ``"momentum_buffer"``, ...). Reading gives an array entry as a Tensor
    sharing the optimizer's array (an in-place change through it, ``.data[...] = ...`` or
    ``t.mul_(0.5)``, changes the optimizer's state; a step then computes fresh arrays, so
    read the entry again after a step), and a number (``"step"``, NAdam's
    ``"mu_product"``) as a 0-d float32 Tensor, as torch keeps it. Writing ``s[name] = v``
    replaces that entry (an array of the parameter's shape, converted to its dtype and
    device; a number). Only names the state already has can be written; a whole state is
    set with ``opt.state[p] = {...}``."""

    __slots__ = ("_opt", "_i")

    def __init__(self, opt, i):
        self._opt, self._i = opt, i

    def _entry(self):
        return self._opt._state[self._i]

    def _names(self):
        entry = self._entry()
        if entry is None:
            return ()
        if isinstance(entry, dict):
            return tuple(entry)
        return self._opt._state_names(self._opt._groups_of[self._i])[:len(entry)]

    def _position(self, name):
        entry = self._entry()
        if isinstance(entry, dict):
            if name in entry:
                return name
        elif entry is not None and name in self._names():
            return self._names().index(name)
        what = f"{type(self._opt).__name__}.state[p]"
        if entry is None:
            raise KeyError(f"{what}: parameter {self._i} has no state yet (it is made by its "
                           f"first step, or set whole: opt.state[p] = {{...}})")
        raise KeyError(f"{what}: no entry {name!r}; the entries are {list(self._names())}")

    def __getitem__(self, name):
        entry = self._entry()
        k = self._position(name)
        v = entry[k]
        p = self._opt.params[self._i]
        if _is_array(v):
            return Tensor._make(v, p.device)
        if isinstance(entry, dict) and isinstance(v, np.generic) and v.dtype.kind in "fc":
            # a 0-d float kept as a NumPy scalar (LBFGS's H_diag): a 0-d Tensor, as torch's
            return Tensor._make(backend.to_device_array(np.asarray(v), p.device), p.device)
        if not isinstance(entry, dict) or name == "step":
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                return Tensor(np.asarray(v, dtype=np.float32))
        return v

    def __setitem__(self, name, value):
        entry = self._entry()
        k = self._position(name)
        where = f"{type(self._opt).__name__}.state[p][{name!r}]"
        new = dict(entry) if isinstance(entry, dict) else list(entry)
        old = entry[k]
        if isinstance(entry, dict) and hasattr(self._opt, "_load_value"):
            new[k] = self._opt._load_value(name, value, self._opt.params[self._i])
        elif _is_array(old):
            new[k] = _state_value(self._opt, self._i, name, value, where)
        else:
            v = _from_torch(value)
            v = v.item() if isinstance(v, Tensor) or _is_array(v) else v
            new[k] = type(old)(v) if isinstance(old, (int, float)) and \
                not isinstance(old, bool) else v
        # a new entry object: a ge.jit step laid out over the old one notices and re-lays
        self._opt._state[self._i] = new

    def __delitem__(self, name):
        raise TypeError(f"{type(self._opt).__name__}.state[p]: an entry cannot be deleted "
                        "alone; del opt.state[p] forgets the parameter's whole state")

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    def __repr__(self):
        return "{" + ", ".join(f"{k!r}: {self[k]!r}" for k in self) + "}"


def _zero_dim(d, new, st):
    """A 0-d parameter's update kept in 0-d arrays (NumPy's arithmetic on 0-d arrays gives
    scalars): the new value, and the state's arrays, as torch keeps 0-d tensors."""
    if isinstance(new, np.generic):
        new = np.asarray(new, dtype=d.dtype)
    if isinstance(st, list):
        st = [np.asarray(v) if isinstance(v, np.generic) else v for v in st]
    elif isinstance(st, dict):
        st = {k: (np.asarray(v) if isinstance(v, np.generic) else v) for k, v in st.items()}
    return new, st


def _id_key(key):
    """A saved parameter id as a lookup key (ints, also read back from text as strings)."""
    try:
        return int(key)
    except (TypeError, ValueError):
        return key


def _saved_value(name, v):
    """A state entry as :meth:`Optimizer.state_dict` gives it: arrays as host copies,
    ``"step"`` as a 0-d float32 array (torch's float32 tensor)."""
    if _is_array(v):
        return _host_copy(v)
    if name == "step" and isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
        return np.asarray(v, dtype=np.float32)
    return v


def _index_of(opt):
    """``{id(p): i}`` for the optimizer's parameters (kept while their number is the same;
    callers check ``opt.params[i] is p``)."""
    cached = opt.__dict__.get("_index_cache")
    if cached is None or cached[0] != len(opt.params):
        cached = (len(opt.params), {id(p): i for i, p in enumerate(opt.params)})
        object.__setattr__(opt, "_index_cache", cached)
    return cached[1]


def _state_value(opt, i, k, v, where):
    """A state value for parameter ``i``'s entry ``k``: an int step, an array of the
    parameter's shape, dtype and device, or the value as given."""
    p = opt.params[i]
    v = _from_torch(v)
    if k == "step":
        return int(v.item() if isinstance(v, Tensor) or _is_array(v) else v)
    if isinstance(v, np.generic) and v.dtype.kind in "fc" and p.data.ndim == 0:
        v = np.asarray(v)  # (a 0-d parameter's state saved as a NumPy scalar)
    if _is_array(v) or isinstance(v, Tensor):
        arr = v.data if isinstance(v, Tensor) else v
        if tuple(arr.shape) != p.shape:
            raise ShapeError(f"{where}: state {k!r} of parameter {i} has shape "
                             f"{tuple(arr.shape)}, the parameter {p.shape}")
        return backend.to_device_array(arr, p.device).astype(p.dtype, copy=True)
    return v


def _plain_lr(opt, group):
    """A 0-d (one-element) Tensor learning rate read as its value, as torch accepts one."""
    lr = group.get("lr")
    if isinstance(lr, Tensor):
        if lr.size != 1:
            raise ValueError(f"{type(opt).__name__}: Tensor lr must be 1-element, got shape "
                             f"{lr.shape}")
        group["lr"] = float(lr.item())


# torch's words for each hyperparameter in its "Invalid ..." errors
_TORCH_LABEL = {"lr": "learning rate", "eps": "epsilon value", "momentum": "momentum value",
                "weight_decay": "weight_decay value", "lr_decay": "lr_decay value",
                "initial_accumulator_value": "initial_accumulator_value value",
                "alpha": "alpha value", "momentum_decay": "momentum_decay value"}


def _nonneg(opt, group, key, what=None):
    """Refuse ``group[key] < 0`` (and NaN) with torch's ValueError ("Invalid learning rate:
    -1"), then gradengine's words."""
    v = group[key]
    if not v >= 0.0:
        raise ValueError(f"Invalid {_TORCH_LABEL.get(key, key + ' value')}: {v} "
                         f"({type(opt).__name__}: {key} must be >= 0)")


def _invalid_betas(opt, group):
    """Refuse a beta outside [0, 1) with torch's "Invalid beta parameter at index k"."""
    betas = tuple(group["betas"])
    name = type(opt).__name__
    if len(betas) != 2:
        raise ValueError(f"{name}: betas must be a pair (b1, b2), got {betas!r}")
    for k, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {k}: {b} ({name}: betas must "
                             "each be in [0, 1))")
    group["betas"] = betas


def _fused_checks(fused, foreach, differentiable):
    """torch's refusals of ``fused=True`` with ``differentiable`` or ``foreach`` (the
    keywords are otherwise accepted: gradengine has one code path)."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


class _MissingParams(KeyError, ValueError):
    """A parameter group without "params": torch's KeyError (gradengine raised ValueError
    before; both catch it)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def _is_array(v):
    return isinstance(v, np.ndarray) or (backend.cupy() is not None and
                                         isinstance(v, backend.cupy().ndarray))


def _host_copy(arr):
    return arr.copy() if isinstance(arr, np.ndarray) else backend.cupy().asnumpy(arr)


def _from_torch(v):
    if type(v).__module__.startswith("torch") and hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    return v


def lerp(xp, a, b, w):
    """``a + w (b - a)`` into a fresh array, rounded as ``torch.lerp`` on the CPU."""
    if abs(w) < 0.5:
        out = b - a
        out *= w
        out += a
        return out
    out = b - a
    out *= 1 - w
    return b - out
