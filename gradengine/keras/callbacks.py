"""Keras-style callbacks for ``Sequential.fit``: History, EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau, CSVLogger, LearningRateScheduler and LambdaCallback, on a
:class:`Callback` base whose hooks do nothing.

    stop = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    model.fit(X, y, epochs=200, validation_split=0.2, callbacks=[stop])
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN",
           "BackupAndRestore", "CallbackList", "ProgbarLogger", "RemoteMonitor",
           "SwapEMAWeights", "TensorBoard"]


class Callback:
    """Base class: override any hook. ``self.model`` is set by ``fit`` before training;
    ``self.params`` holds ``epochs``, ``steps`` (batches per epoch), ``samples`` and
    ``verbose``. Setting ``self.model.stop_training = True`` ends ``fit`` after the epoch.
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def __init_subclass__(cls, **kwargs):
        # Keras' on_train_batch_begin / _end call on_batch_begin / _end: a subclass that
        # defines only the latter gets the former (which fit calls) delegating to them
        super().__init_subclass__(**kwargs)
        for train, plain in (("on_train_batch_begin", "on_batch_begin"),
                             ("on_train_batch_end", "on_batch_end")):
            if getattr(cls, plain) is not getattr(Callback, plain) and \
                    getattr(cls, train) is getattr(Callback, train):
                setattr(cls, train, _delegate(plain, train))

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)  # as Keras

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)  # as Keras

    # Keras' other hooks, accepted so that a Keras callback subclass works unchanged
    # (fit calls the train ones above; on_batch_begin / _end through them)
    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


def _delegate(plain, train):
    def hook(self, batch, logs=None):
        getattr(self, plain)(batch, logs=logs)
    hook.__name__ = train
    hook.__doc__ = f"Keras' {train}: calls {plain}."
    return hook


class History(Callback):
    """What ``fit`` returns: ``history`` maps each of loss, the metrics and their ``val_``
    forms to one value per completed epoch; ``epoch`` lists the epoch indices."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []  # Keras: the epochs of this fit (the history itself goes on)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        hist = self.history
        n = len(self.epoch)
        try:
            for k, v in logs.items():
                hist.setdefault(k, []).append(v)
            self.epoch.append(epoch)
            if self.model is not None:
                try:
                    self.model.history = self  # as Keras
                except AttributeError:
                    pass
        except BaseException:
            # Keep every list the same length: an epoch is recorded whole or not at all.
            for v in hist.values():
                del v[n:]
            del self.epoch[n:]
            raise

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _is_improvement(mode, min_delta, current, reference):
    """Keras' ``MonitorCallback._is_improvement``: ``current`` beats ``reference`` by
    more than ``min_delta`` (None: always), compared as Keras' ``ops.less`` /
    ``ops.greater`` do, in float32; a NaN never improves."""
    if reference is None:
        return True
    md = abs(min_delta)
    c = np.asarray(current, np.float64)
    r = np.asarray(reference, np.float64).astype(np.float32)
    better = (c + md).astype(np.float32) < r if mode == "min" else \
        (c - md).astype(np.float32) > r
    return bool(better.all())


def _monitor_op(monitor, mode, name):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{name}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        base = monitor.removeprefix("val_")
        # -- kssuite: the metrics Keras maximizes (their direction "up"), F1 and the others
        mode = "max" if base in _MAXIMIZED or base.endswith("accuracy") or \
            base.startswith("auc") else "min"
    return mode


_MAXIMIZED = ("acc", "accuracy", "auc", "f1_score", "fbeta_score", "precision", "recall",
              "r2_score", "iou", "mean_iou", "binary_iou", "one_hot_iou", "one_hot_mean_iou",
              "cosine_similarity", "pearson_correlation", "concordance_correlation",
              "precision_at_recall", "recall_at_precision", "sensitivity_at_specificity",
              "specificity_at_sensitivity")


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has stopped improving (Keras's rules).

    Args:
        monitor: the log key to watch (default "val_loss").
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: "min", "max" or "auto" (max for accuracies, else min).
        baseline: a value the monitor must beat before patience counts down is reset.
        restore_best_weights: put back the weights of the best epoch when training ends.
        start_from_epoch: epochs to wait before monitoring starts.
    Example:
        >>> model.fit(X, y, validation_split=0.2,
        ...           callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = _monitor_op(monitor, mode, "EarlyStopping")
        self._auto_mode = mode == "auto"  # -- kssuite
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.on_train_begin()

    def _better(self, current, reference):
        # Keras' _is_improvement: a NaN never improves
        return _is_improvement(self.mode, self.min_delta, current, reference)

    @property
    def monitor_op(self):
        """Keras' ``monitor_op``: ``keras.ops.greater`` when a larger value is better,
        else ``keras.ops.less``. -- kssuite"""
        from . import ops
        return ops.greater if self.mode == "max" else ops.less

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        base = self.monitor.removeprefix("val_")
        if current is None and self._auto_mode and logs and not base.endswith("loss"):
            # -- kssuite: Keras' error: mode="auto" and a metric the model does not have
            raise ValueError(f"EarlyStopping callback received monitor={self.monitor} but "
                             "Keras isn't able to automatically determine whether that "
                             "metric should be maximized or minimized. Pass `mode='max'` in "
                             "order to do early stopping based on the maximal "
                             "monitor_op value or `mode='min'` in order to use the minimal "
                             "monitor_op value.")
        if current is None:
            warnings.warn(f"EarlyStopping: monitor {self.monitor!r} is not in the logs "
                          f"(available: {sorted(logs or {})}); not stopping", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Keras keeps the first monitored epoch's weights, so that something is restored
            # even when no epoch improves (a NaN from the start)
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._better(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model's weights (``ge.save`` format) after every epoch, or only when
    ``monitor`` improves.

    Args:
        filepath: where to save; may contain ``{epoch}`` and log keys, e.g.
            ``"ckpt-{epoch:02d}-{val_loss:.3f}.ge"``.
        monitor: the log key used with ``save_best_only``.
        save_best_only: save only when the monitored value improves.
        mode: "min", "max" or "auto".
        save_weights_only: False (Keras' default) saves the whole model when the path ends
            in ``.keras``; otherwise, or when True, the weights (``ge.save`` format).
    Example:
        >>> ModelCheckpoint("best.ge", monitor="val_loss", save_best_only=True)
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        import os
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = save_weights_only
        self.mode = _monitor_op(monitor, mode, "ModelCheckpoint")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or
                                     not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: unrecognized save_freq {save_freq!r}; "
                             "expected 'epoch' or a positive integer (batches)")
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best = initial_value_threshold
        self.last_saved = None
        self._epoch = 0
        self._batches_since = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since += 1
        if self._batches_since >= self.save_freq:
            self._batches_since = 0
            self._save(self._epoch, logs or {}, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {}, None)

    def _path(self, epoch, logs, batch):
        """Keras' ``_get_file_path``: ``{epoch}`` (1-based), ``{batch}`` (1-based, when
        saving by batches) and the log keys."""
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from None

    def _should_save(self, epoch, logs, path):
        """Keras' ``_should_save_model`` (its messages with ``verbose``)."""
        if not self.save_best_only:
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            # Keras saves anyway when the monitored value is missing
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=4)
            return True
        if np.ndim(current) > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.",
                          stacklevel=4)
            return True
        best = self.best
        best_str = "None" if best is None else f"{best:.5f}"
        if _is_improvement(self.mode, 0.0, current, best):
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
            return True
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save(self, epoch, logs, batch):
        import os
        path = self._path(epoch, logs, batch)
        if not self._should_save(epoch, logs, path):
            return
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if os.path.isdir(path):
            raise OSError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {path}")
        if not self.save_weights_only and path.endswith(".keras"):
            self.model.save(path)
        else:
            self.model.save_weights(path)
        self.last_saved = path
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: finished saving model to {path}")


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        # Keras' on_train_batch_* call on_batch_*: given (as keyword arguments) alone,
        # those run at each training batch
        on_train_batch_begin = on_train_batch_begin or kwargs.get("on_batch_begin")
        on_train_batch_end = on_train_batch_end or kwargs.get("on_batch_end")
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end),
                         ("on_train_batch_begin", on_train_batch_begin),
                         ("on_train_batch_end", on_train_batch_end)):
            if fn is not None:
                setattr(self, name, fn)


def _get_lr(model):
    opt = model.optimizer
    from .optimizers import Optimizer as _KerasOptimizer
    if isinstance(opt, _KerasOptimizer):
        # Keras reads its float32 learning-rate variable (0.01 logs 0.009999999776...)
        return float(np.float32(opt.learning_rate))
    if hasattr(opt, "learning_rate"):
        return float(opt.learning_rate)
    return float(opt.param_groups[0]["lr"])


def _set_lr(model, lr):
    opt = model.optimizer
    if hasattr(type(opt), "learning_rate"):  # a Keras optimizer (a schedule: TypeError)
        opt.learning_rate = float(lr)
    else:
        for g in opt.param_groups:
            g["lr"] = float(lr)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved (by more
    than ``min_delta``) for ``patience`` epochs, then wait ``cooldown`` epochs; never
    below ``min_lr`` (Keras's rules; adds ``learning_rate`` to the logs)."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        self.monitor, self.factor, self.patience = monitor, float(factor), int(patience)
        self.verbose, self.min_delta = verbose, float(min_delta)
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self.mode = _monitor_op(monitor, mode, "ReduceLROnPlateau")
        self._reset()

    def _reset(self):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def _improved(self, current):
        return _is_improvement(self.mode, self.min_delta, current, self.best)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _get_lr(self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: monitor {self.monitor!r} is not in the logs "
                          f"(available: {sorted(logs)})", stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = _get_lr(self.model)
                # (Keras reads its float32 learning rate)
                if np.float32(old) > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    _set_lr(self.model, new)
                    if self.verbose:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning "
                              f"rate to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


def _as_float_lr(value):
    """Keras' check of a schedule's output: a float (Python, np.float32 or np.float64;
    an int, a 0-d array or a tensor is refused, as Keras refuses them)."""
    if not isinstance(value, (float, np.float32, np.float64)):
        raise ValueError("The output of the `schedule` function should be a float. "
                         f"Got: {value}")
    return float(value)


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = _get_lr(self.model)
        try:
            new = self.schedule(epoch, lr)
        except TypeError:
            new = self.schedule(epoch)
        new = _as_float_lr(new)
        _set_lr(self.model, new)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_lr(self.model)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite (Keras'); with
    ``raise_error=True`` a RuntimeError at once instead (the other callbacks' ``on_train_end``
    does not run)."""

    def __init__(self, raise_error: bool = False):  # -- kssuite: Keras 3.15's raise_error
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss "
                                   f"value: {loss}. Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


def _csv_value(v):
    """Keras' CSVLogger ``handle_value``: an iterable (not a string, not a 0-d array)
    as ``"[a, b, ...]"``."""
    import collections.abc
    if isinstance(v, str) or (isinstance(v, np.ndarray) and v.ndim == 0):
        return v
    if isinstance(v, collections.abc.Iterable):
        return '"[' + ", ".join(map(str, v)) + ']"'
    return v


class CSVLogger(Callback):
    """Write one CSV row per epoch (``epoch`` and every log key) to ``filename``."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = str(filename), separator, bool(append)
        self.keys = None
        self._file = None

    def on_train_begin(self, logs=None):
        import os
        exists = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._header_done = exists
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        import csv
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                # Keras' header always has the val_ columns ("NA" without validation)
                self.keys.extend([f"val_{k}" for k in self.keys])
        writer = csv.writer(self._file, delimiter=self.sep)
        if not self._header_done:
            writer.writerow(["epoch"] + self.keys)
            self._header_done = True
        writer.writerow([epoch] + [_csv_value(logs.get(k, "NA")) for k in self.keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
          "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
          "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
          "on_predict_batch_end")


class CallbackList(Callback):
    """Keras' CallbackList: calls each hook on every callback in order; ``append``,
    ``set_model``, ``set_params``; iterable. ``add_history`` / ``add_progbar`` append a
    History / ProgbarLogger."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"CallbackList: expected Callback instances, got "
                                f"{type(cb).__name__}")
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if add_history and not any(isinstance(c, History) for c in self.callbacks):
            self.callbacks.append(History())
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_model(self, model):
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)


def _dispatch(name):
    def hook(self, *args, **kwargs):
        for cb in self.callbacks:
            getattr(cb, name)(*args, **kwargs)
    hook.__name__ = name
    return hook


for _name in _HOOKS:
    setattr(CallbackList, _name, _dispatch(_name))


class ProgbarLogger(Callback):
    """Keras' ProgbarLogger: a :class:`keras.utils.Progbar` per epoch with the batch logs
    (``fit(verbose=...)`` draws gradengine's own bar; give this one with ``verbose=0`` to
    get Keras' bar instead)."""

    def __init__(self):
        super().__init__()
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        from .utils import Progbar
        epochs = self.params.get("epochs")
        verbose = self.params.get("verbose", 1) or 1
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
        self._bar = Progbar(self.params.get("steps"), verbose=verbose)

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(batch + 1, [(k, v) for k, v in (logs or {}).items()
                                         if np.ndim(v) == 0], finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            steps = self.params.get("steps") or self._bar._seen_so_far
            self._bar.stateful_metrics = set(logs or {})
            self._bar.update(steps, [(k, v) for k, v in (logs or {}).items()
                                     if np.ndim(v) == 0], finalize=True)


class BackupAndRestore(Callback):
    """Keras' BackupAndRestore: after every epoch, write the weights, the optimizer's
    state, the shuffling generator's state and the epoch to ``backup_dir``; a ``fit``
    started with a backup there resumes after the last completed epoch, as if never
    interrupted; a ``fit`` that ends normally deletes the backup (``delete_checkpoint``).

    Only its own file (``backup_dir/latest.ckpt``, gradengine's checksummed format, written
    atomically) is written and deleted; nothing else in ``backup_dir`` is touched.

    Raises:
        ValueError: no ``backup_dir``, or a ``save_freq`` that is not "epoch" / False.
        NotImplementedError: an integer ``save_freq`` (saving in the middle of an epoch).
    """

    FILE = "latest.ckpt"

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        import os
        if not backup_dir:
            raise ValueError("BackupAndRestore: empty `backup_dir` argument passed")
        if save_freq not in ("epoch", False):
            if isinstance(save_freq, int) and not isinstance(save_freq, bool):
                raise NotImplementedError("BackupAndRestore: an integer save_freq (a backup "
                                          "in the middle of an epoch) is not supported; use "
                                          "save_freq='epoch'")
            raise ValueError(f"BackupAndRestore: invalid save_freq {save_freq!r}; expected "
                             "'epoch' or False")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.double_checkpoint = save_freq, bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._path = os.path.join(self.backup_dir, self.FILE)

    def on_train_begin(self, logs=None):
        import json
        import os

        from ..checkpoint import load_arrays as load
        if not os.path.exists(self._path):
            return
        state = load(self._path)
        model = self.model
        model.load_state_dict(state["weights"])
        if "optimizer" in state:
            if model.optimizer is None or (hasattr(model.optimizer, "build") and
                                           not model.optimizer.params):
                from . import optimizers
                if model.optimizer is None:
                    model.optimizer = optimizers.get(model._opt_spec)
                model.optimizer.build(model.parameters())
            model.optimizer.load_state_dict(state["optimizer"])
        rng = model.__dict__.get("_shuffle_rng")
        if rng is not None and "shuffle_rng" in state:
            rng.bit_generator.state = json.loads(state["shuffle_rng"])
        model.__dict__["_resume_epoch"] = int(state["epoch"]) + 1

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq != "epoch":
            return
        import json
        import os

        from ..checkpoint import save
        model = self.model
        os.makedirs(self.backup_dir, exist_ok=True)
        state = {"weights": model.state_dict(), "epoch": int(epoch)}
        if model.optimizer is not None:
            state["optimizer"] = model.optimizer.state_dict()
        rng = model.__dict__.get("_shuffle_rng")
        if rng is not None:
            state["shuffle_rng"] = json.dumps(rng.bit_generator.state)
        save(state, self._path)

    def on_train_end(self, logs=None):
        import os
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)
            try:
                os.rmdir(self.backup_dir)  # only when nothing else is in it
            except OSError:
                pass


class SwapEMAWeights(Callback):
    """Keras' SwapEMAWeights: evaluate (validation, ``evaluate``, ``predict`` hooks) with
    the optimizer's moving averages of the weights (``use_ema=True``), then swap back;
    with ``swap_on_epoch`` also at each epoch's end (so checkpoints hold the averages).

    Raises:
        ValueError: at training start, an optimizer without ``use_ema=True``.
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = bool(swap_on_epoch)
        self._in_model = False

    def _swap(self):
        self.model.optimizer.swap_ema_weights()

    def on_train_begin(self, logs=None):
        if not getattr(self.model.optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights requires that the optimizer is built with "
                             "use_ema=True")

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._in_model:
            self._swap()
            self._in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._in_model:
            self._swap()
            self._in_model = True

    def on_test_begin(self, logs=None):
        if not self._in_model:
            self._swap()
            self._in_model = True

    def on_test_end(self, logs=None):
        if self._in_model:
            self._swap()
            self._in_model = False

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end


class TensorBoard(Callback):
    """Not available: TensorBoard's event files need TensorFlow / tensorboard.

    Raises:
        NotImplementedError: always; log with CSVLogger or a LambdaCallback instead.
    """

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("callbacks.TensorBoard: not available in gradengine (its "
                                  "event files need tensorflow / tensorboard); use "
                                  "callbacks.CSVLogger('log.csv') or a LambdaCallback")


class RemoteMonitor(Callback):
    """Not available (gradengine sends nothing over the network).

    Raises:
        NotImplementedError: always.
    """

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("callbacks.RemoteMonitor: not available in gradengine")
