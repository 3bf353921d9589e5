"""DataParallel: one model per rank, its gradients averaged across ranks after each backward.

:class:`GradientAverager` attaches to the core at its one gradient-commit hook
(:func:`gradengine.core.backward.add_commit_hook`). After a backward has written the leaves'
``.grad`` (in the order their gradients became ready: the last layer first), it lays
them into buckets of about ``bucket_cap_mb`` -- one flat buffer and one collective each --
starts each bucket's sum as soon as it is packed (MPI's non-blocking ``Iallreduce``, so the
packing of the next bucket overlaps the transfer of the previous one), then divides by the
world size and writes the averages back into the same ``.grad`` arrays.

Under ``ge.jit`` the replay never runs the commit; the averager registers with the flat
optimizer step instead (:func:`gradengine.capture.flat_step.add_grad_reducer`), which
reduces the whole flat gradient buffer as one collective inside the replay, before the
update.

The ranks check that they agree before every gradient collective they could disagree on,
with one small all-reduce each (:func:`collectives.check`): at each backward's commit the
layout (which parameters got gradients, their shapes and dtypes), before each bucket
started during the backward that bucket, and in each replay the flat buffer. The checks
are made at the same points on every rank whatever each rank has seen before (no local
"seen this layout" cache decides whether to check), so a rank whose gradients differ --
a branch taken on one rank only, a parameter left without a gradient -- meets the other
ranks in a check, and every rank raises the same ShapeError; none waits in a collective
that the others never start.
"""

from __future__ import annotations

import weakref
import zlib

import numpy as np

from .. import backend
from ..capture.flat_step import add_grad_reducer
from ..core.backward import add_commit_hook, add_ready_hook
from ..core.gradmode import _mode
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn.module import Module, Parameter
from . import collectives
from .world import WORLD, require


class _Bucket:
    __slots__ = ("flat", "items", "device")

    def __init__(self, params, device, dtype):
        xp = backend.xp_of(device)
        n = sum(int(p.data.size) for p in params)
        with backend.cuda_context(device):
            self.flat = xp.empty(n, dtype=dtype)
        self.device = device
        self.items = []
        off = 0
        for p in params:
            size = int(p.data.size)
            self.items.append((p, self.flat[off:off + size].reshape(p.data.shape)))
            off += size

    def pack(self, xp):
        for p, view in self.items:
            xp.copyto(view, p.grad.data)

    def unpack(self, xp):
        for p, view in self.items:
            g = p.grad.data
            if getattr(g.flags, "writeable", True) and g.dtype == view.dtype:
                xp.copyto(g, view)
            else:  # a read-only gradient (a broadcast view): a new array of its own
                p.grad = Tensor._make(view.copy(), p.device)


def _buckets(params, cap_bytes):
    """Consecutive parameters of one dtype and device, up to ``cap_bytes`` a bucket."""
    out, cur, size, key = [], [], 0, None
    for p in params:
        k = (p.device, p.data.dtype)
        nb = int(p.data.nbytes)
        if cur and (k != key or size + nb > cap_bytes):
            out.append(_Bucket(cur, key[0], key[1]))
            cur, size = [], 0
        cur.append(p)
        size += nb
        key = k
    if cur:
        out.append(_Bucket(cur, key[0], key[1]))
    return out


class GradientAverager:
    """Average the gradients of ``params`` across ranks after every backward (the machinery
    of :class:`DataParallel`, also used by the Keras fit loop). ``close()`` detaches it."""

    def __init__(self, params, bucket_cap_mb: float = 25):
        require("DataParallel")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb!r}")
        self.params = list(params)
        self.index = {id(p): k for k, p in enumerate(self.params)}
        self.cap = int(bucket_cap_mb * 2 ** 20)
        self.key = None
        self.layout = (0, 0, "float64")  # (crc of the layout, its elements, first dtype)
        self.buckets = []
        self.collectives = 0  # collectives launched for gradients (eager buckets + replays)
        self.where = {}       # id(param) -> index of its bucket (the current layout)
        self.early = {}       # bucket index -> {id(param): grad} arrived in this backward
        self.launched = {}    # bucket index -> request of its all-reduce, started early
        self.overlapped = 0   # buckets whose all-reduce started during a backward
        ref = weakref.ref(self)

        def on_commit(leaves):
            me = ref()
            if me is not None:
                me._on_commit(leaves)

        def on_ready(leaf, grad):
            me = ref()
            if me is not None:
                me._on_ready(leaf, grad)

        def reducer(params):
            me = ref()
            return None if me is None else me._flat_reducer(params)
        self._removers = [add_commit_hook(on_commit), add_ready_hook(on_ready),
                          add_grad_reducer(reducer)]
        weakref.finalize(self, _remove_all, list(self._removers))

    def close(self):
        """Stop averaging (the hooks are removed)."""
        _remove_all(self._removers)

    # ---------------------------------------------------------------- eager backward
    def _on_ready(self, leaf, grad):
        """A gradient is final while the backward goes on: once every gradient of a bucket
        (of the layout the last backward used) is, its all-reduce starts at once (MPI's
        Iallreduce), overlapping the rest of the backward. Only for gradients that will be
        assigned (``.grad`` is None: the usual step after zero_grad) on CPU buffers."""
        b = self.where.get(id(leaf))
        w = WORLD
        if b is None or w.size == 1 or leaf.grad is not None or _mode.hook is not None:
            return
        bucket = self.buckets[b]
        if bucket.device != "cpu" or bucket.flat.dtype == np.float16 or \
                grad.data.dtype != bucket.flat.dtype:
            return
        got = self.early.setdefault(b, {})
        got[id(leaf)] = grad.data
        if len(got) == len(bucket.items) and b not in self.launched:
            # every rank must be starting this same bucket now (a rank whose backward took
            # another way is at another check: both raise, neither waits for the other)
            self._check("early", bucket.flat.dtype, (b, int(bucket.flat.size)),
                        self.layout[0])
            for p, view in bucket.items:
                np.copyto(view, got[id(p)])
            self.launched[b] = collectives.mpi_iallreduce(w, bucket.flat)
            self.collectives += 1
            self.overlapped += 1

    def _finish_early(self):
        """Wait for the all-reduces started during the backward; returns their buckets."""
        done = {}
        for b, req in self.launched.items():
            req.Wait()
            done[b] = True
        self.launched = {}
        self.early = {}
        return done

    def _check(self, kind, dtype, shape, extra):
        """One layout check with the other ranks; when they disagree, every rank forgets
        its layout alike (the all-reduces started so far were agreed: they are waited for)
        and raises the same ShapeError."""
        try:
            collectives.check(WORLD, "DataParallel", kind, dtype, shape, 0, extra)
        except ShapeError:
            self._finish_early()
            self.key, self.buckets, self.where = None, [], {}
            raise

    def _on_commit(self, leaves):
        w = WORLD
        if w.size == 1 and w.nccl is None:
            return  # a world of one: the average is the gradient itself
        index = self.index
        ready = [p for p in leaves if id(p) in index and p.grad is not None]
        if not ready:
            self._finish_early()
            return
        trace = _mode.hook
        if trace is not None and hasattr(trace, "reduced"):
            trace.reduced.update(id(p) for p in ready)  # the replay must reduce these too
        self.reduce(ready)

    def reduce(self, ready):
        """Average the ``.grad`` of ``ready`` (in this order) across ranks, bucket by bucket."""
        w = WORLD
        key = tuple((self.index[id(p)], p.grad.data.dtype.str) for p in ready)
        new = key != self.key
        if new:
            layout = (zlib.crc32(repr([(k, p.data.shape, p.device == "cpu")
                                       for k, p in zip(key, ready)]).encode()) & 0x7FFFFFFF,
                      sum(int(p.data.size) for p in ready), ready[0].data.dtype)
        else:
            layout = self.layout
        # every backward, on every rank: the layout of this one (the early starts so far
        # were each checked when they were made)
        self._check("bucket", layout[2], (len(ready), layout[1]), layout[0])
        early = self._finish_early()
        if new:
            early = {}  # another layout: what was reduced early is reduced again below
            self.buckets = _buckets(ready, self.cap)
            self.key = key
            self.layout = layout
            self.where = {id(p): b for b, bucket in enumerate(self.buckets)
                          for p, _ in bucket.items}
        reqs = []
        for i, b in enumerate(self.buckets):
            if i in early:
                reqs.append(None)  # reduced during the backward already
                continue
            xp = backend.xp_of(b.device)
            b.pack(xp)
            if b.device == "cpu" and w.size > 1 and b.flat.dtype != np.float16:
                reqs.append(collectives.mpi_iallreduce(w, b.flat))
            else:
                collectives.reduce_array(w, b.flat, b.device, "sum")
                reqs.append(None)
            self.collectives += 1
        for b, req in zip(self.buckets, reqs):
            if req is not None:
                req.Wait()
            xp = backend.xp_of(b.device)
            if w.size > 1:
                b.flat /= w.size
            b.unpack(xp)

    # ---------------------------------------------------------------- ge.jit replay
    def _flat_reducer(self, params):
        w = WORLD
        if w.size == 1 and w.nccl is None:
            return None
        if not all(id(p) in self.index for p in params):
            return None
        device = params[0].device

        def reduce_flat(G):
            # every replay, on every rank (one small all-reduce beside the flat buffer's)
            collectives.check(w, "DataParallel (ge.jit)", "flat", G.dtype, (int(G.size),))
            collectives.reduce_array(w, G, device, "mean")
            self.collectives += 1
        return reduce_flat


def _remove_all(removers):
    for r in removers:
        r()


def module_state(module):
    """The parameters and buffers (Tensor attributes that are not parameters, such as running
    statistics) of ``module`` and its descendants, in a fixed order."""
    out = list(module.parameters())
    seen = {id(p) for p in out}
    for _, m in module.named_modules():
        for name in sorted(vars(m)):
            v = vars(m)[name]
            if isinstance(v, Tensor) and not isinstance(v, Parameter) and id(v) not in seen:
                seen.add(id(v))
                out.append(v)
    return out


def broadcast_tensors(tensors, src: int = 0, cap_bytes: int = 25 * 2 ** 20):
    """Copy rank ``src``'s values of ``tensors`` into them on every rank, a bucket (one flat
    buffer and one broadcast) per run of one dtype and device."""
    w = require("DataParallel")
    if w.size == 1:
        return
    for b in _buckets(list(tensors), cap_bytes):
        xp = backend.xp_of(b.device)
        for p, view in b.items:
            xp.copyto(view, p.data)
        collectives.broadcast(Tensor._make(b.flat, b.device), src)
        for p, view in b.items:
            xp.copyto(p.data, view)
            p._version += 1


class DataParallel(Module):
    """Data-parallel training: ``module`` on every rank, gradients averaged after backward.

    Making it broadcasts rank 0's parameters and buffers to every rank. After each
    ``backward()`` the gradients of ``module``'s parameters are averaged across ranks in
    buckets of about ``bucket_cap_mb`` (one flat buffer and one collective per bucket, in
    the order the gradients became ready); under ``ge.jit`` the optimizer's flat gradient
    buffer is reduced as one collective inside the replay. Each rank then takes the same
    optimizer step, so the ranks stay equal. ``state_dict()`` is the module's own (no
    prefix), so a checkpoint loads into the bare module in a world of any size.

    Args:
        module: an ``nn.Module`` with all its parameters built.
        bucket_cap_mb: the bucket size in MiB (default 25, as PyTorch's).
    Raises:
        RuntimeError: before ``dist.init()``; or the module gains parameters after it was
            wrapped (a lazily built layer: build it first).
    Example:
        >>> dist.init()
        >>> model = dist.DataParallel(Sequential(Linear(784, 256), ReLU(), Linear(256, 10)))
        >>> loss = F.cross_entropy(model(xb), yb); loss.backward(); opt.step()
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected an nn.Module, got {type(module).__name__}")
        self.module = module
        object.__setattr__(self, "bucket_cap_mb", bucket_cap_mb)
        params = list(module.parameters())
        broadcast_tensors(module_state(module), 0, int(bucket_cap_mb * 2 ** 20))
        object.__setattr__(self, "_n_params", len(params))
        object.__setattr__(self, "averager", GradientAverager(params, bucket_cap_mb))

    def forward(self, *args, **kwargs):
        out = self.module(*args, **kwargs)
        n = sum(1 for _ in self.module.parameters())
        if n != self._n_params:
            raise RuntimeError(f"DataParallel: the module has {n} parameters now but "
                               f"{self._n_params} when it was wrapped (a lazily built layer?); "
                               "build it first (one forward call), then wrap it")
        return out

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state_dict, strict: bool = True):
        return self.module.load_state_dict(state_dict, strict)
