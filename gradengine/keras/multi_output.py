"""Training a model of several outputs (or compiled with a list / dict of losses) as
Keras 3 does: one loss per output (a list in the outputs' order or a dict by output
name), ``loss_weights``, metrics per output, targets as a list or dict.

The total ``loss`` is ``sum(loss_weight_i * loss_i)`` plus the regularization penalties;
the logs also hold each output's unweighted ``<name>_loss`` and its metrics as
``<name>_<metric>``, every entry the epoch's mean over batches weighted by batch size
(Keras' trackers). The losses are the keras.losses objects (from probabilities, as in
Keras; no fused logits path), the metrics the stateful keras.metrics objects. This loop
runs eagerly (``jit_compile`` is not used) and not in a distributed world.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..core.gradmode import enable_grad, no_grad
from ..core.tensor import Tensor
from ..errors import ShapeError
from . import losses as klosses
from . import metrics as kmetrics
from .callbacks import Callback, History
from .symbolic import flatten

_NAMED = {"mse": klosses.MeanSquaredError, "mean_squared_error": klosses.MeanSquaredError,
          "mae": klosses.MeanAbsoluteError, "mean_absolute_error": klosses.MeanAbsoluteError,
          "binary_crossentropy": klosses.BinaryCrossentropy,
          "categorical_crossentropy": klosses.CategoricalCrossentropy,
          "sparse_categorical_crossentropy": klosses.SparseCategoricalCrossentropy}


def output_names(model):
    """Keras' ``model.output_names``: the dict keys of dict outputs, else the names of the
    layers that make the outputs (one model output: ``["output_0"]`` when unknown)."""
    g = model.__dict__.get("_graph")
    if not g:
        return ["output_0"]
    if isinstance(g["outputs"], dict):
        return sorted(g["outputs"])
    names = []
    for t in g["flat_out"]:
        layer = t._node.layer
        names.append(g["names"][g["layers"].index(layer)] if layer in g["layers"] else
                     f"output_{len(names)}")
    return names


def is_multi(model, loss, loss_weights):
    g = model.__dict__.get("_graph")
    n_out = len(g["flat_out"]) if g else 1
    return n_out > 1 or isinstance(loss, (list, tuple, dict)) or loss_weights is not None


def _loss_obj(spec, where):
    if spec is None:
        return None
    if isinstance(spec, str) and spec in _NAMED:
        return _NAMED[spec]()
    obj = klosses._loss_object(spec)
    if isinstance(obj, klosses.Loss):
        return obj
    if callable(obj):  # a user function: Keras' loss(y_true, y_pred) order
        return klosses.LossFunctionWrapper(obj, reduction="sum_over_batch_size")
    raise ValueError(f"compile: {where}: unknown loss {spec!r}; allowed: "
                     f"{', '.join(sorted(_NAMED) + sorted(klosses._LOSS_FUNCTIONS))}, a "
                     "keras.losses object or a callable loss(y_true, y_pred)")


def _per_output(value, names, what, leaf):
    """A list (one entry per output) from one value for all, a list or a dict by name."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile: {what} has keys {unknown} that are not output names "
                             f"{names}")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)) and not leaf(value):
        if len(value) != len(names):
            raise ValueError(f"compile: {what} has {len(value)} entries for "
                             f"{len(names)} outputs {names}")
        return list(value)
    return [value] * len(names)


class MultiSpec:
    """The per-output losses, weights and metrics of a compile."""

    def __init__(self, model, loss, metrics, loss_weights):
        self.raw = (loss, metrics, loss_weights)
        self.names = output_names(model)
        n = len(self.names)
        losses = _per_output(loss, self.names, "loss", lambda v: False)
        self.losses = [_loss_obj(s, f"output {name!r}") for s, name in zip(losses,
                                                                          self.names)]
        if all(x is None for x in self.losses):
            raise ValueError("compile: every output's loss is None; give at least one")
        if loss_weights is None:
            self.weights = [1.0] * n
        else:
            self.weights = [1.0 if w is None else float(w) for w in
                            _per_output(loss_weights, self.names, "loss_weights",
                                        lambda v: False)]
        if metrics is None:
            per = [[] for _ in range(n)]
        elif isinstance(metrics, dict):
            per = [_as_list(m) for m in _per_output(metrics, self.names, "metrics",
                                                     lambda v: True)]
        elif isinstance(metrics, (list, tuple)) and metrics and \
                all(isinstance(m, (list, tuple)) or m is None for m in metrics):
            per = [_as_list(m) for m in _per_output(list(metrics), self.names, "metrics",
                                                     lambda v: False)]
        else:  # a flat list: every output gets each metric
            per = [list(_as_list(metrics)) for _ in range(n)]
        self.raw_metrics = per
        self.metrics = None  # made on the first batch ("accuracy" needs the shapes)

    def build_metrics(self, outs, ys):
        made = []
        for i, (specs, out, y) in enumerate(zip(self.raw_metrics, outs, ys)):
            row = []
            for s in specs:
                row.append(_metric_obj(s, self.losses[i], out.shape, np.shape(y)))
            made.append(row)
        self.metrics = made

    def reset(self):
        for row in self.metrics or ():
            for m in row:
                m.reset_state()


def _as_list(m):
    if m is None:
        return []
    return list(m) if isinstance(m, (list, tuple)) else [m]


def _metric_obj(spec, loss, out_shape, y_shape):
    if isinstance(spec, str) and spec in ("accuracy", "acc"):
        kind = {klosses.SparseCategoricalCrossentropy: "scce"}.get(type(loss), "")
        acc = klosses._accuracy_kind(kind, tuple(out_shape), tuple(y_shape))
        cls = {"binary_accuracy": kmetrics.BinaryAccuracy,
               "categorical_accuracy": kmetrics.CategoricalAccuracy,
               "sparse_categorical_accuracy": kmetrics.SparseCategoricalAccuracy}[acc]
        return cls(name=spec)
    if isinstance(spec, str):
        obj = kmetrics.get(spec)
        obj.name = spec
        return obj
    if isinstance(spec, type) and issubclass(spec, kmetrics.Metric):
        return spec()
    if isinstance(spec, kmetrics.Metric):
        return spec
    if callable(spec):
        return kmetrics.MeanMetricWrapper(spec)
    raise TypeError(f"compile: a metric must be a name, a keras.metrics object or a "
                    f"callable, got {type(spec).__name__}")


# ---------------------------------------------------------------- data

def _targets(model, spec, y, where, n_rows):
    names = spec.names
    if isinstance(y, dict):
        missing = [k for k, lo in zip(names, spec.losses) if lo is not None and k not in y]
        if missing:
            raise KeyError(f"{where}: no targets for the outputs {missing}; got {sorted(y)}")
        ys = [y.get(k) for k in names]
    elif isinstance(y, (list, tuple)) and len(names) > 1:
        if len(y) != len(names):
            raise ValueError(f"{where}: {len(y)} targets for {len(names)} outputs {names}")
        ys = list(y)
    elif isinstance(y, (list, tuple)) and len(y) == 1 and hasattr(y[0], "shape"):
        ys = [y[0]]  # one output, its targets in a list
    elif len(names) > 1:
        raise ValueError(f"{where}: the model has {len(names)} outputs {names}; give y as a "
                         "list (in the outputs' order) or a dict by output name")
    else:
        ys = [y]
    device, dtype = model._model_place()
    out = []
    for name, v, lo in zip(names, ys, spec.losses):
        if v is None:
            out.append(None)
            continue
        sparse = isinstance(lo, klosses.SparseCategoricalCrossentropy)
        arr = model._array(v, None if sparse else dtype, device, where,
                           f"y (output {name!r})")
        if sparse:
            arr = arr.astype(np.int64)
        if arr.shape[0] != n_rows:
            raise ShapeError(f"{where}: X has {n_rows} samples but the targets of output "
                             f"{name!r} have {arr.shape[0]}")
        out.append(arr)
    return out


def _weights(model, spec, sample_weight, where, n_rows):
    if sample_weight is None:
        return [None] * len(spec.names)
    if isinstance(sample_weight, dict):
        ws = [sample_weight.get(k) for k in spec.names]
    elif isinstance(sample_weight, (list, tuple)) and len(spec.names) > 1 and \
            len(sample_weight) == len(spec.names) and hasattr(sample_weight[0], "__len__"):
        ws = list(sample_weight)
    else:
        ws = [sample_weight] * len(spec.names)
    device, dtype = model._model_place()
    out = []
    for w in ws:
        if w is None:
            out.append(None)
            continue
        arr = model._array(w, dtype, device, where, "sample_weight")
        if arr.shape[0] != n_rows:
            raise ShapeError(f"{where}: sample_weight of shape {tuple(arr.shape)} does not "
                             f"match the {n_rows} samples")
        out.append(arr)
    return out


def _take_all(arrs, idx):
    return [None if a is None else a[idx] for a in arrs]


# ---------------------------------------------------------------- steps

def _batch(model, spec, xb, ybs, wbs, train):
    """One batch: the outputs, the per-output losses and the total (with the penalty);
    with ``train`` the optimizer steps."""
    from .loop import _device, _tensors
    device = _device(xb)
    make = Tensor._make
    opt = model.optimizer
    if train:
        opt.zero_grad()
    out, penalty = model._forward_with_penalty(_tensors(xb, device))
    outs = flatten(out)
    if len(outs) != len(spec.names):
        raise ValueError(f"fit: the model returned {len(outs)} outputs, the compile has "
                         f"{len(spec.names)} ({spec.names})")
    values, total = [], None
    for lo, w, o, yb, wb in zip(spec.losses, spec.weights, outs, ybs, wbs):
        if lo is None or yb is None:
            values.append(None)
            continue
        v = lo(make(yb, device), o, sample_weight=None if wb is None else make(wb, device))
        if v.ndim:
            v = v.mean()
        values.append(v)
        total = v * w if total is None else total + v * w
    if penalty is not None:
        total = total + penalty
    if train:
        total.backward()
        opt.step()
    return [o.detach() for o in outs], [None if v is None else float(v.data) for v in values], \
        float(total.data)


class _Tracker:
    """Batch-size weighted means of the loss entries, and the metric objects."""

    def __init__(self, spec):
        self.spec = spec
        self.sums = {}
        self.n = 0

    def add(self, spec, outs, ybs, values, total, nb):
        if spec.metrics is None:
            spec.build_metrics(outs, ybs)
        self.n += nb
        self.sums["loss"] = self.sums.get("loss", 0.0) + total * nb
        multi = len(spec.names) > 1
        for name, v in zip(spec.names, values):
            if v is not None and multi:
                key = f"{name}_loss"
                self.sums[key] = self.sums.get(key, 0.0) + v * nb
        for row, o, yb in zip(spec.metrics, outs, ybs):
            if yb is None:
                continue
            for m in row:
                m.update_state(_host(yb), _host(o.data))

    def logs(self):
        spec = self.spec
        out = {k: s / max(self.n, 1) for k, s in self.sums.items()}
        multi = len(spec.names) > 1
        metric_logs = {}
        for name, row in zip(spec.names, spec.metrics or ()):
            for m in row:
                key = f"{name}_{m.name}" if multi else m.name
                r = m.result()
                metric_logs[key] = float(r) if np.ndim(r) == 0 else np.asarray(r)
        out.update({k: metric_logs[k] for k in sorted(metric_logs)})
        return out


def _host(a):
    from .losses import _host as h
    return h(a)


# ---------------------------------------------------------------- the public calls

def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split,
        validation_data, shuffle, sample_weight, initial_epoch, validation_batch_size,
        validation_freq):
    from .loop import _rows, _should_validate, _sorted_logs, _take
    from .progress import _progress
    spec = model._multi
    Xa, ys, ws = _prepare(model, spec, x, y, sample_weight, "fit")
    val = None
    if validation_data is not None:
        vx, vy = validation_data[0], validation_data[1]
        vw = validation_data[2] if len(validation_data) > 2 else None
        val = _prepare(model, spec, vx, vy, vw, "fit")
    elif validation_split:
        n = _rows(Xa)
        cut = int(math.floor(n * (1.0 - validation_split)))
        if cut == 0 or cut == n:
            raise ValueError(f"fit: validation_split={validation_split} of {n} samples "
                             "leaves an empty set")
        val = (_take(Xa, slice(cut, None)), _take_all(ys, slice(cut, None)),
               _take_all(ws, slice(cut, None)))
        Xa, ys, ws = _take(Xa, slice(None, cut)), _take_all(ys, slice(None, cut)), \
            _take_all(ws, slice(None, cut))
    _bind_optimizer(model)
    cbs = list(callbacks or []) + [History()]
    for cb in cbs[:-1]:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be Callback instances, got "
                            f"{type(cb).__name__}")
    model.history = cbs[-1]
    n = _rows(Xa)
    steps = -(-n // batch_size)
    params = {"epochs": epochs, "steps": steps, "samples": n, "verbose": verbose}
    for cb in cbs:
        cb.set_model(model)
        cb.set_params(params)
    model.stop_training = False
    for cb in cbs:
        cb.on_train_begin({})
    initial_epoch = model.__dict__.pop("_resume_epoch", initial_epoch)  # BackupAndRestore
    logs = {}
    with enable_grad():
        model.train()
        for epoch in range(initial_epoch, epochs):
            for cb in cbs:
                cb.on_epoch_begin(epoch, {})
            bar = _progress(verbose, epoch, epochs, steps)
            spec.reset()
            tracker = _Tracker(spec)
            if shuffle and n > 1:
                order = model._shuffle_rng.permutation(n)
                if not isinstance(Xa if not isinstance(Xa, tuple) else Xa[0], np.ndarray):
                    from .. import backend
                    order = backend.xp_of(model._model_place()[0]).asarray(order)
                Xe, ye, we = _take(Xa, order), _take_all(ys, order), _take_all(ws, order)
            else:
                Xe, ye, we = Xa, ys, ws
            for b, start in enumerate(range(0, n, batch_size)):
                sl = slice(start, start + batch_size)
                for cb in cbs:
                    cb.on_train_batch_begin(b, {})
                xb, ybs, wbs = _take(Xe, sl), _take_all(ye, sl), _take_all(we, sl)
                outs, values, total = _batch(model, spec, xb, ybs, wbs, True)
                tracker.add(spec, outs, ybs, values, total, _rows(xb))
                blogs = tracker.logs()
                if bar is not None:
                    bar.update([blogs[k] * tracker.n for k in blogs], tracker.n, list(blogs))
                for cb in cbs:
                    cb.on_train_batch_end(b, _sorted_logs(blogs))
                if model.stop_training:
                    break
            logs = tracker.logs()
            if val is not None and _should_validate(epoch, validation_freq):
                for cb in cbs:
                    cb.on_test_begin({})
                vlogs = _evaluate(model, spec, *val, validation_batch_size or batch_size)
                for cb in cbs:
                    cb.on_test_end(vlogs)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            logs = _sorted_logs(logs)
            if bar is not None:
                bar.close(logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    if getattr(model.optimizer, "use_ema", False):
        model.optimizer.finalize_variable_values()
    for cb in cbs:
        cb.on_train_end(logs)
    return model.history


def _prepare(model, spec, x, y, sample_weight, where):
    from .loop import _rows
    if y is None:
        raise ValueError(f"{where}: the targets y are required")
    device, dtype = model._model_place()
    Xa = model._input_arrays(x, device, dtype, where, "x")
    n = _rows(Xa)
    if n == 0:
        raise ValueError(f"{where}: x has no samples")
    return Xa, _targets(model, spec, y, where, n), _weights(model, spec, sample_weight,
                                                          where, n)


def _bind_optimizer(model):
    from . import optimizers
    if model.optimizer is None:
        model.optimizer = optimizers.get(model._opt_spec)
    if isinstance(model.optimizer, optimizers.Optimizer):
        model.optimizer.build(model.parameters())
    model._weight_penalties = model._regularized_weights()
    model._activity_penalties = any(m.__dict__.get("activity_regularizer") is not None
                                    for m in model.modules())
    model._forward_for_loss = model.forward


def _evaluate(model, spec, Xa, ys, ws, batch_size):
    from .loop import _rows, _take
    _bind_optimizer(model)
    spec.reset()
    tracker = _Tracker(spec)
    was = model.training
    model.eval()
    try:
        with no_grad():
            for start in range(0, _rows(Xa), batch_size):
                sl = slice(start, start + batch_size)
                xb, ybs, wbs = _take(Xa, sl), _take_all(ys, sl), _take_all(ws, sl)
                outs, values, total = _batch(model, spec, xb, ybs, wbs, False)
                tracker.add(spec, outs, ybs, values, total, _rows(xb))
    finally:
        model.train(was)
    return tracker.logs()


def keras_order(model, logs):
    """Keras' list order: loss, the output losses in order, then the metrics by key."""
    spec = model._multi
    first = ["loss"] + [f"{n}_loss" for n in spec.names if f"{n}_loss" in logs]
    return {**{k: logs[k] for k in first if k in logs},
            **{k: logs[k] for k in sorted(logs) if k not in first}}


def _result(logs, return_dict):
    from .loop import _sorted_logs
    if return_dict:
        return _sorted_logs(logs)
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def evaluate(model, x, y, batch_size, verbose, sample_weight, return_dict):
    from .loop import _print_step_line, _rows
    start = time.perf_counter()
    spec = model._multi
    Xa, ys, ws = _prepare(model, spec, x, y, sample_weight, "evaluate")
    logs = _evaluate(model, spec, Xa, ys, ws, batch_size)
    if verbose:
        _print_step_line(-(-_rows(Xa) // batch_size), time.perf_counter() - start, logs)
    return _result(keras_order(model, logs), return_dict)


def train_on_batch(model, x, y, sample_weight, return_dict):
    from .loop import _rows
    spec = model._multi
    Xa, ys, ws = _prepare(model, spec, x, y, sample_weight, "train_on_batch")
    _bind_optimizer(model)
    spec.reset()
    tracker = _Tracker(spec)
    with enable_grad():
        model.train()
        outs, values, total = _batch(model, spec, Xa, ys, ws, True)
    tracker.add(spec, outs, ys, values, total, _rows(Xa))
    return _result(tracker.logs(), return_dict)


def test_on_batch(model, x, y, sample_weight, return_dict):
    from .loop import _rows
    spec = model._multi
    Xa, ys, ws = _prepare(model, spec, x, y, sample_weight, "test_on_batch")
    return _result(_evaluate(model, spec, Xa, ys, ws, max(_rows(Xa), 1)), return_dict)
