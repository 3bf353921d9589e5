"""DistributedSampler: each rank's share of the sample indices, as PyTorch's."""

from __future__ import annotations

import math

import numpy as np

from . import world


class DistributedSampler:
    """This rank's indices of ``n_samples``: disjoint across ranks, together covering every
    sample, padded (by repeating the first indices) to the same length on every rank;
    shuffled by ``seed + epoch`` (:meth:`set_epoch`), so the same on every rank and run.

    Args:
        n_samples: the number of samples (or anything with ``len()``).
        shuffle: permute the indices every epoch (default True).
        seed: the base of the shuffle (the same on every rank).
        num_replicas, rank: the world size and this rank (default: the world's).
        drop_last: drop the tail instead of padding, so every share has
            ``n_samples // num_replicas`` indices.
    Example:
        >>> sampler = dist.DistributedSampler(len(X), shuffle=True, seed=0)
        >>> for epoch in range(10):
        ...     sampler.set_epoch(epoch)
        ...     idx = sampler.indices()
    """

    def __init__(self, n_samples, shuffle: bool = True, seed: int = 0,
                 num_replicas: int | None = None, rank: int | None = None,
                 drop_last: bool = False):
        n = n_samples if isinstance(n_samples, (int, np.integer)) else len(n_samples)
        if n < 0:
            raise ValueError(f"DistributedSampler: n_samples must be >= 0, got {n}")
        self.n_samples = int(n)
        self.num_replicas = world.world_size() if num_replicas is None else int(num_replicas)
        self.rank = world.rank() if rank is None else int(rank)
        if self.num_replicas < 1 or not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank {self.rank} is not in a world of "
                             f"{self.num_replicas}")
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        if drop_last:
            self.num_samples = self.n_samples // self.num_replicas
        else:
            self.num_samples = math.ceil(self.n_samples / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle of ``epoch`` (call it at the start of every epoch)."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch (an int64 array of ``len(self)``)."""
        n = self.n_samples
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n and n > 0:
            reps = math.ceil((self.total_size - n) / n)
            order = np.concatenate([order] + [order] * reps)[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples
