"""Keras' ``keras.utils``: ``to_categorical``, ``set_random_seed``, ``normalize``,
``pad_sequences``, ``Progbar``, ``PyDataset``, ``timeseries_dataset_from_array``,
``split_dataset``, the custom-object registry and object serialization."""

from __future__ import annotations

import random

import numpy as np

from .. import backend
from .saving_lib import (  # noqa: F401
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

__all__ = ["CustomObjectScope", "Progbar", "PyDataset", "Sequence", "custom_object_scope",
           "deserialize_keras_object", "get_custom_objects", "get_file",
           "get_registered_name", "get_registered_object", "normalize", "pad_sequences",
           "plot_model", "register_keras_serializable", "serialize_keras_object",
           "set_random_seed", "split_dataset", "timeseries_dataset_from_array",
           "to_categorical"]


def to_categorical(x, num_classes=None):
    """One-hot rows (float64, as Keras on NumPy data) for integer class labels; a trailing
    axis of 1 is dropped first, as Keras does.

    Raises:
        ValueError: a label that is negative or not below ``num_classes``, or non-integral
            labels.
    Example:
        >>> to_categorical([0, 2], 3)   # [[1, 0, 0], [0, 0, 1]]
    """
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        if arr.size and not np.all(arr == np.floor(arr)):
            raise ValueError("to_categorical: the labels must be integers, got "
                             f"non-integral {arr.dtype} values")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"to_categorical: the labels must be integers, got {arr.dtype}")
    arr = arr.astype(np.int64)
    shape = arr.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = arr.reshape(-1)
    if num_classes is None:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    num_classes = int(num_classes)
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        bad = int(flat.min()) if flat.min() < 0 else int(flat.max())
        raise ValueError(f"to_categorical: label {bad} is out of range for {num_classes} "
                         f"classes (labels of shape {tuple(arr.shape)})")
    out = np.zeros((flat.size, num_classes))
    out[np.arange(flat.size), flat] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero norms left at zero)."""
    arr = np.asarray(x, dtype=np.float64) if not isinstance(x, np.ndarray) else x
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    return arr / np.expand_dims(norm, axis)


def set_random_seed(seed):
    """Seed Python's ``random``, NumPy's global generator and gradengine's
    (``ge.manual_seed``), as Keras seeds its backend.

    Raises:
        ValueError: a seed that is not a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed: the seed must be a non-negative integer, got "
                         f"{seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2 ** 32)
    backend.manual_seed(int(seed))


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Keras' pad_sequences: a ``(len(sequences), maxlen)`` array (plus each element's own
    shape), shorter sequences padded with ``value`` and longer ones truncated, at the
    start ("pre", the default) or the end ("post").

    Raises:
        ValueError: a sequence that is not iterable, an unknown padding / truncating, a
            string ``value`` with a non-object dtype, or elements of different shapes.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be iterable")
    num_samples = len(sequences)
    lengths, sample_shape, flag = [], (), True
    for x in sequences:
        try:
            lengths.append(len(x))
            if flag and len(x):
                sample_shape = np.asarray(x).shape[1:]
                flag = False
        except TypeError as e:
            raise ValueError("pad_sequences: `sequences` must be a list of iterables. "
                             f"Found non-iterable: {x}") from e
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    is_str = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_str:
        raise ValueError(f"pad_sequences: `dtype` {dtype} is not compatible with `value`'s "
                         f"type: {type(value)}; set dtype=object for variable length "
                         "strings")
    x = np.full((num_samples, maxlen) + sample_shape, value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        if truncating == "pre":
            trunc = s[-maxlen:] if maxlen else s[:0]
        elif truncating == "post":
            trunc = s[:maxlen]
        else:
            raise ValueError(f'pad_sequences: Truncating type "{truncating}" not understood')
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: Shape of sample {trunc.shape[1:]} of sequence "
                             f"at position {idx} is different from expected shape "
                             f"{sample_shape}")
        if not len(trunc):
            continue
        if padding == "post":
            x[idx, :len(trunc)] = trunc
        elif padding == "pre":
            x[idx, -len(trunc):] = trunc
        else:
            raise ValueError(f'pad_sequences: Padding type "{padding}" not understood')
    return x


class Progbar:
    """Keras' text progress bar: ``Progbar(target)``, then ``update(current, values)`` or
    ``add(n, values)``; ``values`` are ``(name, value)`` pairs, averaged over the steps
    since the start unless named in ``stateful_metrics`` (shown as given)."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step"):
        import time
        self.target, self.width, self.verbose = target, int(width), verbose
        self.interval, self.unit_name = interval, unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self._values, self._names = {}, []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0

    def update(self, current, values=None, finalize=None):
        import sys
        import time
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            if k not in self._names:
                self._names.append(k)
            if k not in self.stateful_metrics:
                steps = max(current - self._seen_so_far, 1)
                old = self._values.get(k, [0.0, 0])
                self._values[k] = [old[0] + float(v) * steps, old[1] + steps]
            else:
                self._values[k] = [float(v), 1]
        self._seen_so_far = current
        now = time.time()
        if self.verbose == 1 and not finalize and now - self._last_update < self.interval:
            return
        self._last_update = now
        if self.verbose == 0 or (self.verbose == 2 and not finalize):
            return
        if self.target is not None:
            filled = int(self.width * min(current, self.target) / max(self.target, 1))
            bar = f"{current}/{self.target} " + "\u2501" * filled + \
                "\u2500" * (self.width - filled)
        else:
            bar = f"{current}"
        info = f" {now - self._start:.0f}s"
        for k in self._names:
            total, n = self._values[k]
            avg = total / max(n, 1)
            info += f" - {k}: {avg:.4f}" if abs(avg) > 1e-3 else f" - {k}: {avg:.4e}"
        sys.stdout.write(("\r" if self.verbose == 1 else "") + bar + info +
                         ("\n" if finalize else ""))
        sys.stdout.flush()

    def add(self, n, values=None):
        self.update(self._seen_so_far + n, values)


class PyDataset:
    """Keras' PyDataset (``keras.utils.Sequence``): subclass it with ``__len__`` (the
    number of batches) and ``__getitem__(i)`` (batch ``i``: ``x``, ``(x, y)`` or ``(x, y,
    sample_weight)``); ``fit`` / ``evaluate`` / ``predict`` take it as x. ``fit`` reads
    every batch at the start of each epoch (then calls ``on_epoch_end``) and trains on
    them in order with the first batch's size (Keras' ``shuffle=True`` also shuffles the
    batch order; gradengine does not); ``workers``,
    ``use_multiprocessing`` and ``max_queue_size`` are accepted and ignored."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers, self._use_multiprocessing = workers, use_multiprocessing
        self._max_queue_size = max_queue_size

    @property
    def workers(self):
        return self.__dict__.get("_workers", 1)

    @property
    def use_multiprocessing(self):
        return self.__dict__.get("_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return self.__dict__.get("_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    @property
    def num_batches(self):
        return len(self) if hasattr(self, "__len__") else None

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


Sequence = PyDataset


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format="tf"):
    """Keras' sliding windows over ``data`` as a list of batches: each batch is ``x`` of
    shape ``(batch, sequence_length, ...)``, or ``(x, y)`` with ``y = targets[start]``
    for each window; ``batch_size=None`` gives the windows one by one. A plain list (no
    tf.data), so it is an iterable and ``fit`` takes it through ``iter(...)``.

    Raises:
        ValueError: Keras' checks of start_index, end_index, sampling_rate and
            sequence_stride.
    """
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= n:
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index}")
        if end_index >= n:
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {n}")
    if sampling_rate <= 0 or sampling_rate >= n:
        raise ValueError(f"`sampling_rate` must be higher than 0 and lower than the length "
                         f"of the data. Received: sampling_rate={sampling_rate}, for data "
                         f"of length {n}")
    if sequence_stride <= 0 or sequence_stride >= n:
        raise ValueError(f"`sequence_stride` must be higher than 0 and lower than the "
                         f"length of the data. Received: sequence_stride={sequence_stride}, "
                         f"for data of length {n}")
    start = start_index or 0
    end = end_index or n
    arr = np.asarray(data)[start:end]
    num = end - start - (sequence_length - 1) * sampling_rate
    tarr = None
    if targets is not None:
        tarr = np.asarray(targets)[start:end]
        num = min(num, len(targets))
    positions = np.arange(0, max(num, 0), sequence_stride)
    if shuffle:
        rng = np.random.RandomState(np.random.randint(1e6) if seed is None else seed)
        rng.shuffle(positions)
    offsets = np.arange(sequence_length) * sampling_rate
    windows = [arr[p + offsets] for p in positions]
    items = windows if tarr is None else list(zip(windows, [tarr[p] for p in positions]))
    if batch_size is None:
        return items
    batches = []
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        if tarr is None:
            batches.append(np.stack(chunk))
        else:
            batches.append((np.stack([c[0] for c in chunk]), np.stack([c[1] for c in chunk])))
    return batches


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Keras' split_dataset for arrays (or a tuple / list of arrays with the same first
    axis): ``(left, right)``; a size is a fraction in (0, 1) or a sample count.

    Raises:
        TypeError: a dataset that is not an array or a tuple / list of arrays.
        ValueError: sizes that do not fit the samples.
    """
    parts = dataset if isinstance(dataset, (tuple, list)) else (dataset,)
    arrays = [np.asarray(a) for a in parts]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("split_dataset: the arrays have different numbers of samples")

    def count(size):
        if size is None:
            return None
        if isinstance(size, float):
            if not 0 < size < 1:
                raise ValueError(f"split_dataset: a fraction must be in (0, 1), got {size}")
            return int(round(size * n))
        return int(size)
    left, right = count(left_size), count(right_size)
    if left is None and right is None:
        left = int(round(0.5 * n))
    if left is None:
        left = n - right
    if right is None:
        right = n - left
    if left + right > n or left < 0 or right < 0:
        raise ValueError(f"split_dataset: left_size + right_size ({left} + {right}) exceeds "
                         f"the {n} samples")
    idx = np.arange(n)
    if shuffle:
        np.random.default_rng(seed).shuffle(idx)
    li, ri = idx[:left], idx[left:left + right]

    def pick(ix):
        out = [a[ix] for a in arrays]
        return out[0] if not isinstance(dataset, (tuple, list)) else type(dataset)(out)
    return pick(li), pick(ri)


def get_file(fname=None, origin=None, *args, **kwargs):
    """Not available: gradengine downloads nothing.

    Raises:
        NotImplementedError: always (fetch the file yourself and pass its path).
    """
    raise NotImplementedError(f"utils.get_file: gradengine does not download files "
                              f"(origin={origin!r}); fetch it yourself and give the local "
                              "path")


def plot_model(model, *args, **kwargs):
    """Not available (no pydot / graphviz).

    Raises:
        NotImplementedError: always; use ``model.summary()``.
    """
    raise NotImplementedError("utils.plot_model: not available in gradengine (no pydot / "
                              "graphviz); use model.summary()")


model_to_dot = plot_model


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Keras' packing: ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if not isinstance(x, (list, tuple)) else (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """Keras' unpacking: ``(x, y, sample_weight)`` with None for what is missing."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return data
    raise ValueError(f"unpack_x_y_sample_weight: data is expected to be (x,), (x, y) or "
                     f"(x, y, sample_weight), got a tuple of length {len(data)}")


def standardize_dtype(dtype):
    from .backend import standardize_dtype as sd
    return sd(dtype)


def clear_session(free_memory=True):
    from .backend import clear_session as cs
    return cs(free_memory)


def is_keras_tensor(x):
    from .symbolic import KerasTensor
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor):
    """The ``keras.Input`` tensors that ``tensor`` (a symbolic tensor) is computed from, in
    the order a depth-first walk meets them.

    Raises:
        TypeError: ``tensor`` is not a symbolic tensor.
    """
    from .layers import InputLayer
    from .symbolic import KerasTensor
    if not isinstance(tensor, KerasTensor):
        raise TypeError(f"get_source_inputs: expected a symbolic tensor (keras.Input and layer "
                        f"calls on it), got {type(tensor).__name__}")
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        node = t._node
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.layer, InputLayer):
            found.append(t)
        else:
            stack.extend(reversed(list(node.inputs)))
    return found
