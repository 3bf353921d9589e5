"""``torch.utils.data``: datasets, samplers and the DataLoader that batches them.

    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    for xb, yb in loader:   # Tensors, the last batch smaller unless drop_last
        ...

Shuffling draws from ``ge.manual_seed``'s generator, or from ``generator=`` (a
``ge.Generator``). Batches are loaded in the calling process: ``num_workers`` is accepted
and ignored (the arrays are in memory; NumPy does the copying).
"""

from __future__ import annotations

import bisect
import collections.abc as abc
import math

import numpy as np

from .. import backend
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..errors import ArgumentError, ShapeError
from ..ops.creation import tensor
from ..ops.shape import stack

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
           "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
           "TensorDataset", "default_collate", "random_split", "WeightedRandomSampler",
           "ChainDataset", "StackDataset", "default_convert", "get_worker_info"]


def __getattr__(name):
    if name == "DistributedSampler":  # torch.utils.data.DistributedSampler
        from ..distributed.sampler import DistributedSampler
        return DistributedSampler
    raise AttributeError(f"module 'gradengine.utils.data' has no attribute {name!r}")


def _rng(generator):
    return backend.rng("cpu") if generator is None else generator.for_device("cpu", "data")


class Dataset:
    """A map-style dataset: ``__getitem__(i)`` and ``__len__``; ``a + b`` concatenates."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read by iteration (``__iter__``), such as a stream."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} does not define __iter__")


class TensorDataset(Dataset):
    """Samples ``(t[i] for t in tensors)``; every tensor has the same first dimension.

    Raises:
        ShapeError: the first dimensions differ.
    """

    def __init__(self, *tensors):
        tensors = tuple(t if isinstance(t, Tensor) else tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if not tensors or None in sizes or len(set(sizes)) != 1:
            raise ShapeError(f"TensorDataset: the tensors must have one first dimension, got "
                             f"shapes {[tuple(t.shape) for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self):
        return int(self.cumulative_sizes[-1]) if self.datasets else 0

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} "
                             "samples")
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = int(self.cumulative_sizes[k - 1]) if k else 0
        return self.datasets[k][index - start]


def random_split(dataset, lengths, generator=None):
    """Disjoint random :class:`Subset` s of the given lengths, or of fractions summing to 1
    (the remainder going one by one to the first subsets, as PyTorch).

    Raises:
        ArgumentError: lengths that do not add up to ``len(dataset)`` (or fractions to 1).
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n or any(x < 0 for x in lengths):
        raise ArgumentError(f"random_split: lengths {lengths} do not sum to the dataset's "
                            f"{n} samples (or fractions to 1)")
    perm = _rng(generator).permutation(n).tolist()
    out, at = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[at:at + k]))
        at += k
    return out


class Sampler:
    """Yields dataset indices."""

    def __init__(self, data_source=None):
        self.data_source = data_source


class SequentialSampler(Sampler):
    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh permutation at each pass (or ``num_samples`` draws with replacement)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, gen = len(self.data_source), _rng(self.generator)
        if self.replacement:
            return iter(gen.integers(0, n, size=self.num_samples).tolist())
        # PyTorch: without replacement, whole permutations until num_samples are drawn
        out = []
        while len(out) < self.num_samples and n:
            out.extend(gen.permutation(n).tolist())
        return iter(out[:self.num_samples])

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a fresh random order at each pass."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = list(indices), generator

    def __iter__(self):
        return iter([self.indices[i] for i in _rng(self.generator).permutation(len(self))])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with
    replacement by default), as ``torch.utils.data.WeightedRandomSampler``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or \
                num_samples <= 0:
            raise ArgumentError(f"WeightedRandomSampler: num_samples should be a positive "
                                f"integer value, but got num_samples={num_samples!r}")
        w = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                       dtype=np.float64).reshape(-1)
        if w.size == 0 or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ArgumentError("WeightedRandomSampler: weights must be finite, non-negative "
                                "and not all zero")
        if not replacement and num_samples > int((w > 0).sum()):
            raise ArgumentError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                                f"without replacement from {int((w > 0).sum())} non-zero "
                                "weights")
        self.weights, self.num_samples = w, num_samples
        self.replacement, self.generator = replacement, generator

    def __iter__(self):
        p = self.weights / self.weights.sum()
        idx = _rng(self.generator).choice(p.size, size=self.num_samples,
                                          replace=self.replacement, p=p)
        return iter(idx.tolist())

    def __len__(self):
        return self.num_samples


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class StackDataset(Dataset):
    """Datasets of one length side by side: item ``i`` is the tuple (``*args``) or dict
    (``**kwargs``) of their items ``i``."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ArgumentError("StackDataset: give datasets as positional or as keyword "
                                "arguments, not both")
        self.datasets = args or kwargs
        sizes = {len(d) for d in (args or kwargs.values())}
        if len(sizes) > 1:
            raise ArgumentError(f"StackDataset: size mismatch between datasets {sorted(sizes)}")
        self._length = sizes.pop() if sizes else 0

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


def default_convert(data):
    """NumPy arrays (and those inside lists, tuples and dicts) to Tensors; the rest as is."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return Tensor(data)
    if isinstance(data, dict):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):  # a list, as PyTorch's (a tuple sample too)
        return [default_convert(d) for d in data]
    return data


def get_worker_info():
    """None: the DataLoader loads in the main process (``num_workers`` is accepted)."""
    return None


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ArgumentError(f"BatchSampler: batch_size must be a positive integer, got "
                                f"{batch_size!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def default_collate(batch):
    """Samples to a batch, as PyTorch's: Tensors and arrays stacked into a Tensor, Python
    floats to float64, ints to int64, bools to bool; tuples and lists position by position
    (a list), dicts key by key, named tuples as named tuples; strings as a list."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        with no_grad():
            return stack(list(batch))
    if isinstance(elem, (np.ndarray, np.number, np.bool_)):
        return tensor(np.stack([np.asarray(b) for b in batch]))
    if isinstance(elem, bool):  # all bools: bool; mixed with numbers: PyTorch's inference
        return tensor(batch, dtype="bool") if all(isinstance(b, bool) for b in batch) else \
            tensor(batch)
    if isinstance(elem, int):  # PyTorch infers: ints give int64, a float among them float32
        return tensor(batch) if any(isinstance(b, float) for b in batch) else \
            tensor(batch, dtype="int64")
    if isinstance(elem, float):
        return tensor(batch, dtype="float64")
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, abc.Mapping):
        return {k: default_collate([b[k] for b in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise ShapeError(f"default_collate: the samples of a batch have different lengths "
                             f"{sorted({len(b) for b in batch})}")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(f"default_collate: cannot batch samples of type {type(elem).__name__}")


class DataLoader:
    """Batches of a dataset, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style :class:`Dataset` (or anything with ``__getitem__`` and
            ``__len__``) or an :class:`IterableDataset`.
        batch_size: samples per batch (None: the samples one by one, uncollated).
        shuffle: a new random order at every pass (map-style datasets only).
        drop_last: drop the last, smaller batch.
        collate_fn: list of samples -> batch (:func:`default_collate`).
        generator: the ``ge.Generator`` that shuffles (default: ``ge.manual_seed``'s).
    Raises:
        ArgumentError: ``shuffle`` together with ``sampler``, or with an IterableDataset.
    Example:
        >>> for xb, yb in DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True): ...
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, generator=None, prefetch_factor=None,
                 persistent_workers=False):
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.num_workers, self.generator = num_workers, generator
        self.collate_fn = collate_fn or (default_collate if batch_size is not None
                                         or batch_sampler is not None else default_convert)
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ArgumentError("DataLoader: an IterableDataset takes no shuffle, sampler or "
                                "batch_sampler")
        if sampler is not None and shuffle:
            raise ArgumentError("DataLoader: sampler and shuffle are mutually exclusive")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ArgumentError("DataLoader: batch_sampler excludes batch_size, shuffle, "
                                "sampler and drop_last")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        self.sampler = sampler
        if batch_sampler is None and batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_sampler = batch_sampler

    def __iter__(self):
        if self._iterable:
            return self._iter_stream()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        return (self._fetch(b) for b in self.batch_sampler)

    def _fetch(self, indices):
        ds = self.dataset
        if type(ds) is TensorDataset and self.collate_fn is default_collate:
            # one gather per tensor instead of a stack of samples: the same batch
            idx = np.asarray(indices, dtype=np.int64)
            with no_grad():
                return [t[idx] for t in ds.tensors]
        return self.collate_fn([ds[i] for i in indices])

    def _iter_stream(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)  # TypeError without __len__, as PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
