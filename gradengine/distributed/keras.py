"""What the Keras ``fit`` loop needs in a world of N (the loop itself lives in
gradengine/keras/model.py and calls these; this module never imports gradengine.keras).

    world = dist_fit.begin(model)         # None outside an initialized world of N > 1
    cbs, verbose = world.callbacks(cbs), world.verbose(verbose)
    for epoch ...:
        order = world.epoch_indices(n, epoch, shuffle)   # this rank's share, padded
        ... the steps over Xa[order] (gradients are averaged by the backward hook) ...
        logs = world.logs(names, sums, seen)              # over every rank's samples
    world.close()

Every rank starts from rank 0's weights, sees its own disjoint share of every epoch (the
same number of batches on every rank, so the collectives pair up), averages gradients
after each backward, and reports the metrics averaged over all ranks' samples, so every
rank has the same history. Only rank 0 prints and writes files.
"""

from __future__ import annotations

import numpy as np

from .collectives import reduce_array
from .parallel import GradientAverager, broadcast_tensors, module_state
from .sampler import DistributedSampler
from .world import WORLD


def begin(model, bucket_cap_mb: float = 25, seed: int | None = None):
    """Start a fit in the world: rank 0's weights everywhere, gradient averaging on.

    Returns a :class:`FitWorld`, or None when the world is not initialized or has one
    process (then fit runs exactly as without this module). ``seed`` is the shuffle's seed
    (default: drawn on rank 0 and handed to every rank)."""
    w = WORLD
    if not w.initialized or w.size == 1:
        return None
    return FitWorld(model, bucket_cap_mb, seed)


class FitWorld:
    """A fit in progress in a world of N (see :func:`begin`)."""

    def __init__(self, model, bucket_cap_mb, seed):
        w = WORLD
        self.rank, self.size = w.rank, w.size
        state = module_state(model) if hasattr(model, "named_modules") else \
            list(model.parameters())
        broadcast_tensors(state, 0)
        if seed is None:
            seed = int(np.random.default_rng().integers(2 ** 31)) if w.rank == 0 else None
            seed = w.comm.bcast(seed, root=0)
        self.seed = int(seed)
        self.averager = GradientAverager(list(model.parameters()), bucket_cap_mb)

    @property
    def is_chief(self) -> bool:
        """Rank 0: the one that prints and writes."""
        return self.rank == 0

    def verbose(self, verbose):
        """``verbose`` on rank 0, 0 (silent) elsewhere."""
        return verbose if self.rank == 0 else 0

    def callbacks(self, cbs):
        """``cbs`` on rank 0; elsewhere without the callbacks that write files (those with a
        ``filepath`` or ``filename``: ModelCheckpoint, CSV loggers). The others (History,
        EarlyStopping) run on every rank and decide alike, as the logs are alike."""
        if self.rank == 0:
            return list(cbs)
        return [cb for cb in cbs if not (hasattr(cb, "filepath") or hasattr(cb, "filename"))]

    def epoch_indices(self, n: int, epoch: int, shuffle: bool) -> np.ndarray:
        """This rank's sample indices of epoch ``epoch``: disjoint across ranks, covering
        all ``n``, padded so every rank has ``ceil(n / N)``."""
        sampler = DistributedSampler(n, shuffle=shuffle, seed=self.seed,
                                     num_replicas=self.size, rank=self.rank)
        sampler.set_epoch(epoch)
        return sampler.indices()

    def logs(self, names, sums, seen) -> dict:
        """``{name: sum over all ranks / samples over all ranks}``: the same on every rank
        (one all-reduce of the sums and the sample count, in float64)."""
        vals = np.array([float(s) for s in sums] + [float(seen)], dtype=np.float64)
        reduce_array(WORLD, vals, "cpu", "sum")
        total = max(vals[-1], 1.0)
        return {k: float(v) / total for k, v in zip(names, vals[:-1])}

    def close(self):
        """Stop averaging gradients (at the end of fit)."""
        self.averager.close()
