"""The Keras-style training loop: ``compile``, ``fit``, ``evaluate``, ``predict``.

Mixed into :class:`gradengine.nn.Sequential`. Semantics and defaults follow Keras:
batch_size 32, shuffling every epoch, ``validation_split`` taken from the end of the data
before shuffling, one History value per epoch (the epoch's mean over samples), SGD with
lr 0.01 and Adam with lr 0.001. The cross-entropies take probabilities, as in Keras, but
when the last layer ends in the matching activation (sigmoid for binary, softmax for the
categorical ones) the loss is computed from that layer's logits -- stable and fused.

Everything that can be checked is checked before the first step (compile state, sample
counts, shapes, labels), so a bad call leaves the parameters untouched. The train step
is one method, :meth:`KerasModel._train_step`, which ``jit_compile=True`` hands to
``ge.jit`` when that is available.

The loss and metric names and their functions are in :mod:`gradengine.keras.losses`, the
per-epoch progress display in :mod:`gradengine.keras.progress`.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend
from ..core.gradmode import enable_grad, no_grad
from ..core.tensor import Tensor
from ..errors import DTypeError, ShapeError
from .callbacks import Callback, History

# The loss/metric tables and the progress bar moved out; their names stay importable here.
from .losses import (  # noqa: F401
    _EPS,
    LOSSES,
    METRICS,
    _allowed,
    _host,
    _loss_function,
    _metric_sums,
    _parse_loss,
    _parse_metrics,
    _probabilities,
    _resolve_metrics,
)
from .progress import _TQDM, _fmt, _Progress, _progress, _tqdm  # noqa: F401

OPTIMIZERS = ("sgd", "adam", "adamw")


class KerasModel:
    """The Keras methods of a model (a Module whose ``forward`` maps X to predictions)."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.history = None
        self.stop_training = False
        self._invalidate()

    def _invalidate(self):
        self._setup = None  # (logits_fn, activation) and the chosen loss closure
        self._jit_step = None
        self._jit_eval = self._jit_predict = None

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="sgd", loss=None, metrics=None, jit_compile=False):
        """Configure training.

        Args:
            optimizer: "sgd" (lr 0.01), "adam" (lr 0.001), "adamw", or an optimizer
                instance from :mod:`gradengine.optim`.
            loss: "mse" / "mean_squared_error", "mae", "binary_crossentropy",
                "categorical_crossentropy", "sparse_categorical_crossentropy", or a
                callable ``loss(pred, target) -> Tensor`` (a non-scalar result is averaged).
            metrics: a list of "mae", "mse", "accuracy" (binary, categorical or sparse,
                chosen from the loss) and their long names, or callables
                ``metric(pred, target) -> float`` (pred and target as arrays).
            jit_compile: capture the train step with ``ge.jit`` (when available).
        Raises:
            ValueError: an unknown optimizer, loss or metric name (the allowed names are
                listed).
        Example:
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
        """
        from .. import optim
        if isinstance(optimizer, str):
            if optimizer.lower() not in OPTIMIZERS:
                raise ValueError(f"compile: unknown optimizer {optimizer!r}; allowed: "
                                 f"{_allowed(OPTIMIZERS)} or a gradengine.optim optimizer")
            opt_spec = optimizer.lower()
        elif isinstance(optimizer, optim.Optimizer):
            opt_spec = optimizer
        else:
            raise TypeError(f"compile: optimizer must be one of {_allowed(OPTIMIZERS)} or a "
                            f"gradengine.optim optimizer, got {type(optimizer).__name__}")
        loss_kind = _parse_loss(loss)
        specs = _parse_metrics(metrics)
        self._opt_spec = opt_spec
        self.optimizer = opt_spec if not isinstance(opt_spec, str) else None
        self.loss = loss
        self._loss_kind = loss_kind
        self._metric_specs = specs
        self.jit_compile = bool(jit_compile)
        # A generator of our own for shuffling, seeded from ge.manual_seed's stream once,
        # so each model's batches do not depend on what else draws random numbers.
        seed = int(backend.rng("cpu").integers(2 ** 63))
        self._shuffle_rng = np.random.default_rng(seed)
        self.compiled = True
        self._invalidate()
        return self

    # ------------------------------------------------------------ data
    def _model_place(self):
        for p in self.parameters():
            return p.device, p.dtype
        return (self.__dict__.get("_device") or backend.get_default_device(),
                self.__dict__.get("_dtype") or backend.DEFAULT_FLOAT)

    def _array(self, v, dtype, device, where, what):
        if isinstance(v, Tensor):
            arr = v.data
        elif isinstance(v, np.ndarray) or (backend.cupy() is not None and
                                           isinstance(v, backend.cupy().ndarray)):
            arr = v
        else:
            try:
                arr = np.asarray(v)
            except Exception as e:  # noqa: BLE001 - ragged lists and the like
                raise ValueError(f"{where}: {what} cannot be converted to an array: {e}") \
                    from None
        if arr.ndim == 0:
            raise ShapeError(f"{where}: {what} must have a samples axis, got a 0-d value")
        if dtype is not None and arr.dtype != dtype:
            try:
                arr = arr.astype(dtype)
            except (TypeError, ValueError) as e:
                raise DTypeError(f"{where}: {what} of dtype {arr.dtype} cannot be converted "
                                 f"to {np.dtype(dtype).name}: {e}") from None
        return backend.to_device_array(arr, device)

    def _targets(self, y, out_shape, device, dtype, where, what="y"):
        """Targets converted for the loss: labels as int64 for the sparse loss, else the
        model's float dtype, reshaped (N,) -> (N, 1) as Keras does."""
        kind = self._loss_kind
        if kind == "scce":
            arr = self._array(y, None, device, where, what)
            if arr.ndim == 2 and arr.shape[1] == 1:
                arr = arr.reshape(-1)
            if arr.dtype.kind == "f":
                xp = backend.xp_of(device)
                if arr.size and not bool(xp.all(arr == xp.floor(arr))):
                    raise DTypeError(f"{where}: sparse_categorical_crossentropy needs integer "
                                     f"class labels, got non-integral {arr.dtype} values")
            elif arr.dtype.kind not in "iub":
                raise DTypeError(f"{where}: sparse_categorical_crossentropy needs integer "
                                 f"class labels, got {arr.dtype}")
            arr = arr.astype(np.int64, copy=False)
            classes = out_shape[-1]
            if arr.shape != (arr.shape[0],) or len(out_shape) != 2:
                raise ShapeError(f"{where}: sparse labels of shape {tuple(arr.shape)} do not "
                                 f"fit model outputs of shape (N, {classes}); expected (N,)")
            if arr.size:
                lo, hi = int(arr.min()), int(arr.max())
                if lo < 0 or hi >= classes:
                    raise ValueError(f"{where}: label {hi if hi >= classes else lo} is out of "
                                     f"range for {classes} classes")
            return arr
        arr = self._array(y, dtype, device, where, what)
        out_tail = tuple(out_shape[1:])
        if arr.ndim == 1 and out_tail == (1,):
            arr = arr.reshape(-1, 1)
        if kind != "callable" and tuple(arr.shape[1:]) != out_tail:
            hint = ""
            if kind == "cce" and arr.ndim == 1:
                hint = "; for integer labels use loss='sparse_categorical_crossentropy'"
            raise ShapeError(f"{where}: {what} of shape {tuple(arr.shape)} does not match the "
                             f"model's output shape (N, {', '.join(map(str, out_tail))})"
                             f"{hint}")
        return arr

    def _prepare(self, X, y, where, batch_size):
        """Validate and convert (X, y); build lazy layers; returns (X, y, output shape)."""
        if not self.__dict__.get("compiled"):
            raise RuntimeError(f"{where}: the model must be compiled first; call "
                               "model.compile(optimizer=..., loss=...) before fit/evaluate")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"{where}: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        device, dtype = self._model_place()
        Xa = self._array(X, dtype, device, where, "X")
        ya_raw = y
        n_y = _num_samples(y)
        if n_y is not None and n_y != Xa.shape[0]:
            raise ShapeError(f"{where}: X has {Xa.shape[0]} samples but y has {n_y}")
        out_shape = self._probe(Xa)
        ya = self._targets(ya_raw, out_shape, device, dtype, where)
        if ya.shape[0] != Xa.shape[0]:
            raise ShapeError(f"{where}: X has {Xa.shape[0]} samples but y has {ya.shape[0]}")
        return Xa, ya, out_shape

    def _probe(self, Xa):
        """Run one sample through the model (no graph): builds lazy layers and checks the
        input width before any parameter can change."""
        with no_grad():
            out = self.forward(Tensor._make(Xa[:1], backend.device_of_array(Xa)))
        if not isinstance(out, Tensor):
            raise TypeError(f"fit: the model returned {type(out).__name__}, not a Tensor")
        return (Xa.shape[0],) + tuple(out.shape[1:])

    # ------------------------------------------------------------ the step
    def _configure(self, out_shape):
        """Choose the loss closure (logits or probabilities) and the metrics, once."""
        from .. import optim
        if self.optimizer is None:
            cls = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW}[self._opt_spec]
            self.optimizer = cls(self.parameters())
        else:
            held = {id(p) for p in self.optimizer.params}
            left = [n for n, p in self.named_parameters() if id(p) not in held]
            if left:
                warnings.warn(f"fit: the optimizer does not update {left}; it was probably "
                              "made before those layers were built (give the first layer "
                              "input_dim, or pass the optimizer's name to compile)",
                              stacklevel=3)
        logits_fn, act = self.split_activation() if hasattr(self, "split_activation") \
            else (None, None)
        kind = self._loss_kind
        use_logits = (kind == "bce" and act == "sigmoid") or \
            (kind in ("cce", "scce") and act == "softmax")
        self._forward_for_loss = logits_fn if use_logits else self.forward
        self._output_is_logits = act if use_logits else None
        self._loss_fn = _loss_function(kind, use_logits, self.loss)
        metrics = _resolve_metrics(self._metric_specs, kind, out_shape)
        self._metrics = metrics
        self._metric_names = [name for name, _ in metrics]
        self._setup = out_shape[1:]
        self._jit_step = None
        self._jit_eval = self._jit_predict = None
        if self.jit_compile:
            from ..capture import jit
            self._jit_step = jit(self._train_step)
            self._jit_eval = jit(self._eval_step)
            self._jit_predict = jit(self.forward)

    def _train_step(self, xb, yb):
        """One optimisation step on a batch: zero grads, forward, loss, backward, update.

        Returns:
            ``(loss, out)`` as detached Tensors; ``out`` is the model output, or the last
            layer's logits when the loss is computed from logits.
        """
        opt = self.optimizer
        opt.zero_grad()
        out = self._forward_for_loss(xb)
        loss = self._loss_fn(out, yb)
        loss.backward()
        opt.step()
        return loss.detach(), out.detach()

    def _batch_metrics(self, out, yb, sums):
        """Add each metric's sum over the batch's samples into ``sums`` (arrays stay on
        the device; nothing synchronises)."""
        _metric_sums(self._metrics, self._output_is_logits, out, yb, sums)

    # ------------------------------------------------------------ fit
    def fit(self, X, y=None, epochs=1, batch_size=32, shuffle=True, validation_data=None,
            validation_split=0.0, callbacks=None, verbose=1, initial_epoch=0):
        """Train for ``epochs`` epochs of mini-batch steps (Keras's ``fit``).

        Args:
            X, y: samples and targets (NumPy arrays, lists or Tensors), first axis samples.
            epochs: the index of the last epoch (training starts at ``initial_epoch``).
            batch_size: samples per step (default 32). shuffle: reshuffle every epoch.
            validation_data: ``(X_val, y_val)`` evaluated after every epoch.
            validation_split: fraction of the data, taken from the end before shuffling,
                held out for validation (ignored when validation_data is given).
            callbacks: Callback instances (EarlyStopping, ModelCheckpoint, ...).
            verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        Returns:
            A History; ``history.history["loss"]`` has one value per epoch, and so have
            the metrics and their ``val_`` forms. Also kept as ``model.history``.
        Raises:
            RuntimeError: fit before compile. ShapeError: X and y sample counts differ or
                shapes do not fit the model. ValueError: bad arguments. All are raised
                before any parameter changes. KeyboardInterrupt propagates; the epochs
                completed so far stay in ``model.history``.
        Example:
            >>> history = model.fit(X, y, epochs=50, validation_split=0.2, verbose=0)
        """
        if not self.__dict__.get("compiled"):
            raise RuntimeError("fit: the model must be compiled first; call "
                               "model.compile(optimizer=..., loss=...) before fit()")
        if verbose == "auto":
            verbose = 1
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
        Xa, ya, out_shape = self._prepare(X, y, "fit", batch_size)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in \
                    (2, 3):
                raise ValueError("fit: validation_data must be a tuple (X_val, y_val)")
            Xv, yv, _ = self._prepare(validation_data[0], validation_data[1], "fit",
                                      batch_size)
            if Xv.shape[1:] != Xa.shape[1:]:
                raise ShapeError(f"fit: validation X of shape {tuple(Xv.shape)} does not "
                                 f"match X of shape {tuple(Xa.shape)}")
            val = (Xv, yv)
        elif validation_split:
            n_val = int(Xa.shape[0] * validation_split)
            if n_val == 0 or n_val == Xa.shape[0]:
                raise ValueError(f"fit: validation_split={validation_split} of "
                                 f"{Xa.shape[0]} samples leaves an empty set")
            cut = Xa.shape[0] - n_val
            val = (Xa[cut:], ya[cut:])
            Xa, ya = Xa[:cut], ya[:cut]
        if self._setup != out_shape[1:] or self.optimizer is None:
            self._configure(out_shape)
        cbs = [History()] + list(callbacks or [])
        for cb in cbs[1:]:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit: callbacks must be Callback instances, got "
                                f"{type(cb).__name__}")
        self.history = cbs[0]
        with enable_grad():
            self.train()
            self._fit_loop(Xa, ya, val, int(epochs), int(batch_size), bool(shuffle), cbs,
                           verbose, int(initial_epoch))
        return self.history

    def _fit_loop(self, Xa, ya, val, epochs, batch_size, shuffle, cbs, verbose, initial_epoch):
        n = Xa.shape[0]
        steps = -(-n // batch_size)
        device = backend.device_of_array(Xa)
        xp = backend.xp_of(device)
        params = {"epochs": epochs, "steps": steps, "samples": n, "verbose": verbose}
        for cb in cbs:
            cb.set_model(self)
            cb.set_params(params)
        batch_cbs = [cb for cb in cbs if _overrides(cb, "on_train_batch_begin") or
                     _overrides(cb, "on_train_batch_end")]
        step = self._jit_step or self._train_step
        names = ["loss"] + self._metric_names
        make = Tensor._make
        on_cpu = device == "cpu"
        self.stop_training = False
        for cb in cbs:
            cb.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch)
            bar = _progress(verbose, epoch, epochs, steps)
            sums = [0.0] * len(names)
            seen = 0
            if shuffle and n > 1:
                order = self._shuffle_rng.permutation(n)
                if device != "cpu":
                    with backend.cuda_context(device):
                        order = xp.asarray(order)
                Xe, ye = Xa[order], ya[order]
            else:
                Xe, ye = Xa, ya
            for b, start in enumerate(range(0, n, batch_size)):
                for cb in batch_cbs:
                    cb.on_train_batch_begin(b)
                xb = Xe[start:start + batch_size]
                yb = ye[start:start + batch_size]
                loss, out = step(make(xb, device), make(yb, device))
                nb = xb.shape[0]
                seen += nb
                sums[0] = sums[0] + (float(loss.data) * nb if on_cpu else loss.data * nb)
                if len(sums) > 1:
                    metric_sums = sums[1:]
                    self._batch_metrics(out.data, yb, metric_sums)
                    sums[1:] = metric_sums
                if bar is not None:
                    bar.update(sums, seen, names)
                if batch_cbs:
                    blogs = {k: float(s) / seen for k, s in zip(names, sums)}
                    for cb in batch_cbs:
                        cb.on_train_batch_end(b, blogs)
            logs = {k: float(s) / max(seen, 1) for k, s in zip(names, sums)}
            if val is not None:
                vlogs = self._evaluate_arrays(val[0], val[1], batch_size)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            if bar is not None:
                bar.close(logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in cbs:
            cb.on_train_end(logs)

    # ------------------------------------------------------------ evaluate / predict
    def _evaluate_arrays(self, Xa, ya, batch_size):
        names = ["loss"] + self._metric_names
        sums = [0.0] * len(names)
        device = backend.device_of_array(Xa)
        n = Xa.shape[0]
        self.eval()
        try:
            with no_grad():
                for start in range(0, n, batch_size):
                    xb = Tensor._make(Xa[start:start + batch_size], device)
                    yb = ya[start:start + batch_size]
                    step = self._jit_eval or self._eval_step
                    loss, out = step(xb, Tensor._make(yb, device))
                    sums[0] = sums[0] + loss.data * xb.shape[0]
                    metric_sums = sums[1:]
                    self._batch_metrics(out.data, yb, metric_sums)
                    sums[1:] = metric_sums
        finally:
            self.train()
        return {k: float(s) / max(n, 1) for k, s in zip(names, sums)}

    def _eval_step(self, xb, yb):
        """The loss and the output (or logits) on one batch; replayed under jit_compile."""
        out = self._forward_for_loss(xb)
        return self._loss_fn(out, yb), out

    def evaluate(self, X, y=None, batch_size=32, verbose=0, return_dict=True):
        """The loss and metrics on (X, y), without training (Keras's ``evaluate``).

        Returns:
            ``{"loss": ..., metric: ...}`` (means over the samples).
        Raises:
            RuntimeError: the model is not compiled. ShapeError: X and y do not fit.
        """
        was_training = self.training
        Xa, ya, out_shape = self._prepare(X, y, "evaluate", batch_size)
        if self._setup != out_shape[1:] or self.optimizer is None:
            self._configure(out_shape)
        try:
            logs = self._evaluate_arrays(Xa, ya, batch_size)
        finally:
            self.train(was_training)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return logs if return_dict else [logs[k] for k in logs]

    def predict(self, X, batch_size=32, verbose=0):
        """The model's outputs for X as a NumPy array on the host (Keras's ``predict``).

        ``model(x)`` returns a Tensor instead (on the model's device, with a graph).
        """
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"predict: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        device, dtype = self._model_place()
        Xa = self._array(X, dtype, device, "predict", "X")
        was_training = self.training
        outs = []
        forward = getattr(self, "_jit_predict", None) or self.forward
        self.eval()
        try:
            with no_grad():
                for start in range(0, max(Xa.shape[0], 1), batch_size):
                    outs.append(_host(forward(
                        Tensor._make(Xa[start:start + batch_size], device)).data))
        finally:
            self.train(was_training)
        return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=0)

    # ------------------------------------------------------------ weights
    def save_weights(self, path):
        """Save the parameters with ``ge.save`` (checksummed, atomic)."""
        from ..checkpoint import save
        save(self.state_dict(), path)

    def load_weights(self, path):
        """Load parameters saved by :meth:`save_weights`; all or nothing.

        Raises:
            FileNotFoundError, CheckpointError, KeyError, ShapeError.
        """
        from ..checkpoint import load
        self.load_state_dict(load(path))

    def get_weights(self):
        """The parameters as a list of NumPy arrays (copies), in order."""
        return list(self.state_dict().values())

    def set_weights(self, weights):
        """Set the parameters from a list of arrays in :meth:`get_weights` order."""
        names = [n for n, _ in self.named_parameters()]
        if len(weights) != len(names):
            raise ValueError(f"set_weights: expected {len(names)} arrays, got {len(weights)}")
        self.load_state_dict(dict(zip(names, weights)))

    def summary(self, print_fn=print):
        """Print each layer, its parameter count and the total."""
        rows = [(name, type(m).__name__, sum(p.size for p in m.parameters()))
                for name, m in self.named_modules() if name and "." not in name]
        width = max([len(f"{n} ({t})") for n, t, _ in rows] + [20])
        print_fn(f"{'Layer':<{width}}  Params")
        for n, t, c in rows:
            print_fn(f"{f'{n} ({t})':<{width}}  {c:,}")
        print_fn(f"Total params: {self.num_parameters():,}")


# ---------------------------------------------------------------- helpers

def _num_samples(v):
    if v is None:
        return None
    shape = getattr(v, "shape", None)
    if shape is not None:
        return shape[0] if len(shape) else None
    try:
        return len(v)
    except TypeError:
        return None


def _overrides(cb, name):
    fn = getattr(cb, name)
    return getattr(fn, "__func__", fn) is not getattr(Callback, name)
