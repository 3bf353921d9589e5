"""The optimizer step of a ``ge.jit`` replay: one update over all parameters, in place.

Eagerly, ``opt.step()`` updates each parameter on its own and commits by rebinding
``p.data``. In a replayed step, :class:`FlatStep` lays the parameters (and their
gradients and optimizer state) end to end in flat buffers -- each ``p.data`` becomes a
view of its slice -- and applies the optimizer's own elementwise rule
(the public ``opt.update_arrays``) once to the whole buffer: the same operations on the
same numbers, so the same results bit for bit, in a handful of array calls however many
parameters there are. Parameters keep their buffers across replays (what a CUDA graph
needs), and the
commit is one copy into one buffer holding parameters and state together.

Anything that rebinds a parameter or the optimizer's state outside the replay (an eager
``opt.step()``, ``load_state_dict``, ``p.data = ...``) is noticed by the replay's guard
(an identity check per parameter), which copies the new values into the buffers.
"""

from __future__ import annotations

import math

from .. import backend
from ..core.tensor import Tensor

# -- plug-in point: gradient reducers (data-parallel averaging) ----------------------------
# gradengine.distributed registers one; capture never imports it. A reducer is asked once,
# when a FlatStep is laid out, whether it reduces these parameters' gradients; if so, the
# flat gradient buffer G is reduced in place (one collective) before every replayed update.
_grad_reducers = []


def add_grad_reducer(fn):
    """Register ``fn(params) -> reduce(G) or None``. Returns a remover."""
    _grad_reducers.append(fn)
    return lambda: _grad_reducers.remove(fn) if fn in _grad_reducers else None


def _reducer_for(params):
    for fn in list(_grad_reducers):
        reduce = fn(params)
        if reduce is not None:
            return reduce
    return None
# -- end of the plug-in point ----------------------------------------------------------------


ALIGN = 32  # elements: the alignment of each parameter's slice in the flat buffers


class FlatStep:
    """``opt.step()`` for the parameters ``opt.params[i] for i in index``, over flat
    buffers. ``grads`` are the gradient views the replay writes (one per parameter)."""

    def __init__(self, opt, index):
        self.opt = opt
        self.index = list(index)
        self.params = [opt.params[i] for i in self.index]
        first = self.params[0]
        self.device = first.device
        xp = self.xp = backend.xp_of(self.device)
        self.dtype = first.data.dtype
        self.shapes = [p.data.shape for p in self.params]
        # Each parameter's slice starts on a multiple of ALIGN elements, so every view is
        # aligned for the kernels' vector loads; the gaps hold zeros (a zero gradient, a
        # zero parameter and zero state update to zero under every optimizer's rule).
        self.offsets = []
        n = 0
        for p in self.params:
            self.offsets.append(n)
            n += -(-int(p.data.size) // ALIGN) * ALIGN
        self.n = n
        self.G = xp.zeros(self.n, dtype=self.dtype)
        self.grads = self._views(self.G)
        self.grad_tensors = [Tensor._make(g, self.device) for g in self.grads]
        self.B = None        # rows: the parameters, then each array of the state
        self.views = []      # the parameters' views into B[0]
        self.state = None    # the flat state entry given to update_arrays
        self.entries = []    # each parameter's state list, holding views into B
        self.state_list = None
        self.layout = 0      # bumped whenever B is reallocated (a CUDA graph must be re-made)
        self.reduce = _reducer_for(self.params)  # distributed: G averaged before the update
        self.sync()

    def _views(self, flat):
        return [flat[o:o + math.prod(s)].reshape(s) for o, s in zip(self.offsets, self.shapes)]

    # ------------------------------------------------------------ layout
    def sync(self):
        """(Re)build the flat buffers from the parameters' and the state's current values,
        and point ``p.data`` and the state entries at them."""
        xp, opt = self.xp, self.opt
        for p, shp in zip(self.params, self.shapes):
            if p.data.shape != shp or p.data.dtype != self.dtype or p.device != self.device:
                raise _Changed(f"parameter of shape {shp} is now {p.data.shape} "
                               f"{p.data.dtype} on {p.device}")
        states = [opt._state[i] for i in self.index]
        arrays = []   # positions of the state entries holding arrays
        if all(st is None for st in states):
            flat_state = None
        elif all(st is not None for st in states) and len({len(st) for st in states}) == 1:
            first = states[0]
            arrays = [k for k, v in enumerate(first) if hasattr(v, "shape")]
            scalars = [k for k in range(len(first)) if k not in arrays]
            if any(st[k] != first[k] for st in states for k in scalars) or \
                    any(not hasattr(st[k], "shape") for st in states for k in arrays):
                flat_state = False  # mixed: every replay steps eagerly until it is uniform
            else:
                flat_state = list(first)
        else:
            flat_state = False
        shape = (1 + len(arrays), self.n)
        if self.B is not None and self.B.shape == shape:
            B, views = self.B, self.views  # same addresses: a captured graph stays valid
        else:
            B = xp.zeros(shape, dtype=self.dtype)
            views = self._views(B[0])
            self.layout += 1
        for v, p in zip(views, self.params):
            xp.copyto(v, p.data)
        rows = []
        for r, k in enumerate(arrays, start=1):
            row_views = self._views(B[r])
            for v, st in zip(row_views, states):
                xp.copyto(v, st[k])
            rows.append(row_views)
        entries = []
        if flat_state:
            for r, k in enumerate(arrays, start=1):
                flat_state[k] = B[r]
            for j, st in enumerate(states):
                e = list(st)
                for r, k in enumerate(arrays):
                    e[k] = rows[r][j]
                entries.append(e)
        # commit the new layout
        self.B, self.views, self.arrays = B, views, arrays
        self.pairs = list(zip(self.params, views))
        self.counters = [p._counter() for p in self.params]  # bumped after each update
        self.state, self.entries = (flat_state or None), entries
        self.eager = flat_state is False
        for p, v in zip(self.params, views):
            p.data = v
        if flat_state:
            for i, e in zip(self.index, entries):
                opt._state[i] = e
        self.state_list = opt._state

    def in_sync(self):
        """Whether the parameters and the state still live in this step's buffers."""
        for p, v in self.pairs:
            if p.data is not v:
                return False
        state = self.opt._state
        if state is not self.state_list:
            return False
        if self.state is None:
            for i in self.index:
                if state[i] is not None:
                    return False
            return True
        for i, e in zip(self.index, self.entries):
            if state[i] is not e:
                return False
        return True

    # ------------------------------------------------------------ the step
    def __call__(self):
        self.opt._plain_hypers()  # (a Tensor lr assigned to a group: its value)
        if not self.in_sync():
            self.sync()
        if self.reduce is not None:  # distributed: the flat gradients, one collective
            self.reduce(self.G)
        if self.flat_ok():
            self.device_step()
            self.after_device_step()
            return
        # Mixed state, or the first step of a stateful optimizer (its state does not exist
        # yet): the eager step, which rebinds; the next replay lays it out again.
        for p, g in zip(self.params, self.grad_tensors):
            p.grad = g
        self.opt.step()

    def flat_ok(self) -> bool:
        """Whether the update can run on the flat buffers: the state is laid out (or the
        optimizer keeps none)."""
        opt = self.opt
        if len(opt.param_groups) != 1:  # per-group hyperparameters: the eager step
            return False
        return not self.eager and (self.state is not None or
                                   opt.stateless(opt.param_groups[0]))

    def device_step(self):
        """The update's array work, committed in one call (captured in a CUDA graph for
        SGD): no checks, no version bumps."""
        group = self.opt.param_groups[0]
        if self.state is None or self.opt.stateless(group):
            # a stateless update (also SGD whose momentum was set to 0 after its buffers
            # were made: they stay as they are, as in the eager step), written in place
            self.opt.update_in_place(self.xp, self.B[0], self.G, group)
            return
        new, new_state = self.opt.update_arrays(self.xp, self.B[0], self.G, self.state,
                                                self.opt.param_groups[0])
        self._commit(new, new_state)

    def after_device_step(self):
        """The bookkeeping of an update: every parameter's version moves on (on the
        counters it shares with its views, made once at layout)."""
        for vc in self.counters:
            vc[0] += 1

    # ------------------------------------------------------------ CUDA graphs
    def graph_safe(self) -> bool:
        """Whether the update's array work is the same at every step (so a CUDA graph may
        hold it): true for SGD, whose numbers are hyperparameters only; Adam's bias
        corrections change with the step count."""
        return getattr(type(self.opt), "step_is_static", False) and self.flat_ok() and \
            self.reduce is None  # a collective stays outside the graph

    def hyper(self):
        """The hyperparameters a captured update has baked in."""
        return tuple((k, v) for g in self.opt.param_groups for k, v in g.items()
                     if k != "params")

    def _commit(self, new, new_state):
        """Parameters and state into B with one copy (an interrupt leaves all old or all
        new); the state's scalars (Adam's step) are put back if the copy does not happen."""
        xp = self.xp
        staged = xp.stack([new] + [new_state[k] for k in self.arrays])
        scalars = [(k, v) for k, v in enumerate(new_state) if k not in self.arrays]
        old = [[e[k] for k, _ in scalars] for e in self.entries]
        try:
            for e in self.entries:
                for k, v in scalars:
                    e[k] = v
            xp.copyto(self.B, staged)
        except BaseException:
            for e, vals in zip(self.entries, old):
                for (k, _), v in zip(scalars, vals):
                    e[k] = v
            raise
        for k, v in scalars:
            self.state[k] = v


class _Changed(RuntimeError):
    """A parameter changed shape, dtype or device since the step was recorded."""
