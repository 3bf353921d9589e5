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

import contextlib
import math
import time
import warnings

import numpy as np

from .. import backend
from ..core.gradmode import enable_grad, no_grad
from ..core.op import host_call
from ..core.tensor import Tensor
from ..distributed import keras as dist_fit
from ..errors import DTypeError, ShapeError
from ..nn import _keras_regularizers
from ..nn.module import KerasWeights
from . import masking as _masking
from .callbacks import Callback, History
from .constraints import apply_constraints
from .loop import (  # noqa: F401  (importable from here, as before)
    _device,
    _print_step_line,
    _rows,
    _shape,
    _should_validate,
    _snake,
    _sorted_logs,
    _tail,
    _take,
    _tensors,
)
from .losses import (  # noqa: F401
    _EPS,
    LOSSES,
    METRICS,
    _allowed,
    _host,
    _loss_function,
    _metric_sums,
    _parse_loss,
    _per_sample,
    _probabilities,
    _resolve_metrics,
)

# The loss/metric tables and the progress bar moved out; their names stay importable here.
from .losses import Loss as _KerasLoss
from .metrics import _parse_metrics
from .progress import _TQDM, _fmt, _Progress, _progress, _tqdm  # noqa: F401

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam",
              "lion", "ftrl", "adafactor", "lamb")


class _NotCompiled(ValueError, RuntimeError):
    """A training call before ``compile``: Keras' ValueError (gradengine raised
    RuntimeError before; both catch it)."""


class KerasModel(KerasWeights):
    """The Keras methods of a model (a Module whose ``forward`` maps X to predictions)."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.history = None
        self.stop_training = False
        self._invalidate()

    def get_layer(self, name=None, index=None):
        """The layer called ``name`` (as shown by ``summary``), or at ``index``.

        Raises:
            ValueError: no layer of that name or index.
        """
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range for "
                                 f"{len(layers)} layers")
            return layers[index]
        graph = getattr(self, "_graph", None)  # a functional model names its layers in its graph
        names = graph["names"] if graph is not None else _layer_names(layers)
        for layer, lname in zip(layers, names):
            if lname == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are {names}")

    def _invalidate(self):
        self._setup = None  # (logits_fn, activation) and the chosen loss closure
        self._weight_penalties, self._activity_penalties = (), False
        self._constraints = ()
        self.__dict__.pop("_per_sample_cached", None)
        self._jit_step = self._jit_step_w = None
        self._jit_eval = self._jit_predict = None

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile=False, **kwargs):
        """Configure training (Keras's ``compile``).

        Args:
            optimizer: a name -- "sgd", "adam", "adamw", "rmsprop" (the default, as Keras),
                "adagrad" -- giving the Keras optimizer with Keras' defaults, a
                :mod:`gradengine.keras.optimizers` instance, or a :mod:`gradengine.optim`
                optimizer made on the model's parameters.
            loss: "mse" / "mean_squared_error", "mae", "binary_crossentropy",
                "categorical_crossentropy", "sparse_categorical_crossentropy", a
                :mod:`gradengine.keras.losses` object (``from_logits=`` honoured), or a
                callable ``loss(pred, target) -> Tensor`` (a non-scalar result is averaged).
            metrics: names ("mae", "mse", "accuracy", ...), :mod:`gradengine.keras.metrics`
                objects, or callables ``metric(y_true, y_pred)`` on arrays (Keras' order;
                a value or one per sample, averaged).
            jit_compile: capture the train step with ``ge.jit``.
        Raises:
            ValueError: an unknown optimizer, loss or metric name (the allowed names are
                listed).
        Example:
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
        """
        from .. import optim
        unknown = set(kwargs) - {"auto_scale_loss"}
        if unknown:
            raise TypeError(f"compile: unexpected keyword arguments {sorted(unknown)}")
        if isinstance(optimizer, str):
            if optimizer.lower() not in OPTIMIZERS:
                raise ValueError(f"compile: unknown optimizer {optimizer!r}; allowed: "
                                 f"{_allowed(OPTIMIZERS)} or an optimizer instance")
            opt_spec = optimizer.lower()
        elif isinstance(optimizer, optim.Optimizer):
            opt_spec = optimizer
        else:
            raise TypeError(f"compile: optimizer must be one of {_allowed(OPTIMIZERS)} or an "
                            f"optimizer instance, got {type(optimizer).__name__}")
        from . import multi_output
        from .losses import _loss_object
        multi = None
        if multi_output.is_multi(self, loss, loss_weights):
            # several outputs (or a list / dict of losses): Keras' per-output losses
            if weighted_metrics is not None:
                raise NotImplementedError("compile: weighted_metrics is not supported for a "
                                          "model of several outputs")
            multi = multi_output.MultiSpec(self, loss, metrics, loss_weights)
            from_logits, loss_kind, specs = False, "callable", []
        else:
            loss = _loss_object(loss)
            from_logits = bool(getattr(loss, "from_logits", False))
            loss_kind = getattr(loss, "kind", None) if not isinstance(loss, str) else None
            if loss_kind is None or loss_kind in ("callable", "huber"):
                loss_kind = _parse_loss(loss)
            specs = _parse_metrics(metrics)
        self._multi = multi
        self._opt_spec = opt_spec
        if isinstance(opt_spec, str):  # Keras makes it at compile (model.optimizer.learning_rate)
            from . import optimizers
            opt_spec = optimizers.get(opt_spec)
        self.optimizer = opt_spec
        self.loss = loss
        self._loss_kind = loss_kind
        self._from_logits = from_logits
        self._metric_specs = specs
        self._weighted_specs = _parse_metrics(weighted_metrics) if multi is None else []
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
            if len(out_shape) > 2 and arr.ndim == len(out_shape) and arr.shape[-1] == 1:
                arr = arr.reshape(arr.shape[:-1])  # -- kmask: per-step labels (N, T[, 1])
            if len(out_shape) > 2 and tuple(arr.shape[1:]) == tuple(out_shape[1:-1]):
                pass
            elif arr.shape != (arr.shape[0],) or len(out_shape) != 2:
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
            raise _NotCompiled(f"{where}: the model must be compiled first; call "
                               "model.compile(optimizer=..., loss=...) before fit/evaluate")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"{where}: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        device, dtype = self._model_place()
        Xa = self._input_arrays(X, device, dtype, where, "X")
        if _rows(Xa) == 0:
            raise ValueError(f"{where}: X has no samples (shape {_shape(Xa)}); there is "
                             "nothing to train on or to evaluate")
        ya_raw = y
        n_y = _num_samples(y)
        if n_y is not None and n_y != _rows(Xa):
            raise ShapeError(f"{where}: X has {_rows(Xa)} samples but y has {n_y}")
        out_shape = self._probe(Xa, where)
        ya = self._targets(ya_raw, out_shape, device, dtype, where)
        if ya.shape[0] != _rows(Xa):
            raise ShapeError(f"{where}: X has {_rows(Xa)} samples but y has {ya.shape[0]}")
        return Xa, ya, out_shape

    def _input_arrays(self, x, device, dtype, where, what):
        """The model's input data as a backend array (a tuple of them for a model of
        several inputs)."""
        return self._array(x, self._input_dtype_for(dtype), device, where, what)

    def _input_dtype_for(self, dtype):
        """X's dtype: the model's float dtype, or int64 for a model that starts with an
        Embedding (indices)."""
        layers = getattr(self, "layers", None) or []
        if layers and type(layers[0]).__name__ == "Embedding":
            return np.int64
        return dtype

    def _probe(self, Xa, where="fit"):
        """Run one sample through the model (no graph, eval mode): builds lazy layers and
        checks the input width before any parameter can change."""
        probe = _take(Xa, slice(0, 1))
        # a state the model's own forward moves (a counter variable) is as before the probe
        held = [(v, v.data.copy()) for v in self.non_trainable_weights]
        try:
            with self.in_mode(False), no_grad(), _masking.probing():  # -- kmask
                out = self.forward(_tensors(probe, _device(Xa)))
            for v, data in held:
                v.data = data
        except ShapeError as e:
            # name the data's shape, not the one-sample probe's
            text = str(e).replace(str(_shape(probe)), str(_shape(Xa)))
            raise ShapeError(f"{where}: X of shape {_shape(Xa)} does not fit the model: "
                             f"{text}") from None
        if not isinstance(out, Tensor):
            raise TypeError(f"fit: the model returned {type(out).__name__}, not a Tensor")
        return (_rows(Xa),) + tuple(out.shape[1:])

    # ------------------------------------------------------------ the step
    def _configure(self, out_shape, y_shape=None):
        """Choose the loss closure (logits or probabilities) and the metrics, once."""
        from . import optimizers
        if self.optimizer is None:
            self.optimizer = optimizers.get(self._opt_spec)
        if isinstance(self.optimizer, optimizers.Optimizer):
            self.optimizer.build(self.parameters())
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
        loss_obj = self.loss
        keras_obj = isinstance(loss_obj, _KerasLoss) and not loss_obj.is_plain
        if keras_obj:
            # a keras.losses object with label smoothing, another reduction or its own
            # call(): called as Keras calls it, loss(y_true, y_pred), on the model's output
            self._forward_for_loss = self.forward
            self._output_is_logits = None
            self._loss_fn = lambda p, t: _scalar(loss_obj(t, p))
            self._loss_per_sample = (lambda: (lambda p, t: loss_obj.call(t, p)))
        else:
            if self.__dict__.get("_from_logits"):
                # the model's output already is the logits (Keras' from_logits=True)
                self._forward_for_loss = self.forward
                self._output_is_logits = "sigmoid" if kind == "bce" else "softmax"
                use_logits = True
            else:
                use_logits = (kind == "bce" and act == "sigmoid") or \
                    (kind in ("cce", "scce") and act == "softmax")
                self._forward_for_loss = logits_fn if use_logits else self.forward
                self._output_is_logits = act if use_logits else None
            self._loss_fn = _loss_function(kind, use_logits, self.loss)
            if kind in ("cce", "scce") and len(out_shape) > 2:  # -- kmask: per-step classes
                step_loss = _masking.elementwise_loss(kind, use_logits)
                self._loss_fn = lambda p, t: step_loss(p, t).mean()
            self._loss_per_sample = (lambda: _per_sample(kind, use_logits))
        self._weight_penalties = self._regularized_weights()
        self._constraints = self._constrained_weights()
        object.__setattr__(self.optimizer, "_keras_constraints", self._constraints)
        self._activity_penalties = any(
            m.__dict__.get("activity_regularizer") is not None or
            _keras_regularizers.uses_add_loss(type(m)) for m in self.modules())
        metrics = _resolve_metrics(self._metric_specs, kind, out_shape, y_shape)
        self._metrics = metrics
        self._metric_names = [name for name, _ in metrics]
        # weighted_metrics: stateful objects given each batch's sample weights; a name
        # already taken by a metric becomes "weighted_<name>", as in Keras
        self._weighted = []
        for name, spec in _resolve_metrics(self.__dict__.get("_weighted_specs") or [], kind,
                                           out_shape, y_shape):
            obj = spec if hasattr(spec, "update_state") else _stateful_metric(spec, name)
            key = f"weighted_{name}" if name in self._metric_names else name
            self._weighted.append((key, obj))
            self._metric_names.append(key)
        self._setup = (tuple(out_shape[1:]), None if y_shape is None else
                       (len(y_shape), tuple(y_shape[1:])))
        self.__dict__.pop("_per_sample_cached", None)
        self._jit_step = self._jit_step_w = None
        self._jit_eval = self._jit_predict = None
        if self.jit_compile:
            from ..capture import jit
            self._jit_step = jit(self._train_step)
            self._jit_step_w = jit(self._train_step_weighted)
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
        out, penalty = self._forward_with_penalty(xb)
        loss = self._loss_fn(out, yb) if getattr(out, "_keras_mask", None) is None else \
            _masking.model_loss(self, out, yb)  # -- kmask: masked steps left out
        if penalty is not None:
            loss = loss + penalty
        if loss.requires_grad:  # -- kssuite: a model with no trainable weight fits as Keras
            loss.backward()
        opt.step()
        if self._constraints:
            host_call(apply_constraints, self._constraints)
        return loss.detach(), _masking.detached(out)  # -- kmask: the mask for the metrics

    def _train_step_weighted(self, xb, yb, wb):
        """The train step with per-sample weights: ``sum(w_i loss_i) / batch size`` (Keras'
        "sum_over_batch_size")."""
        opt = self.optimizer
        opt.zero_grad()
        out, penalty = self._forward_with_penalty(xb)
        if getattr(out, "_keras_mask", None) is not None:  # -- kmask
            loss = _masking.model_loss(self, out, yb, wb)
        else:
            per = self._per_sample_fn(out, yb)
            loss = (per * wb).sum() / per.shape[0]
        if penalty is not None:
            loss = loss + penalty
        if loss.requires_grad:  # -- kssuite: a model with no trainable weight fits as Keras
            loss.backward()
        opt.step()
        if self._constraints:
            host_call(apply_constraints, self._constraints)
        return loss.detach(), _masking.detached(out)  # -- kmask: the mask for the metrics

    def _forward_with_penalty(self, xb):
        """The output for the loss and the regularization penalty (None without
        regularizers): every weight regularizer's, and the activity regularizers' of the
        layers this forward called, as Keras adds ``model.losses`` to the loss."""
        if not (self._weight_penalties or self._activity_penalties):
            return self._forward_for_loss(xb), None
        with _keras_regularizers.collecting() as terms:
            out = self._forward_for_loss(xb)
        terms = [reg(w) for reg, w in self._weight_penalties] + terms
        total = terms[0] if terms else None
        for t in terms[1:]:
            total = total + t
        return out, total

    def _regularized_weights(self):
        """``(regularizer, weight)`` for each weight given a regularizer: a layer's
        ``<weight>_regularizer`` (``kernel_regularizer`` penalises ``kernel``) and the
        ``add_weight(regularizer=...)`` ones."""
        pairs = []
        for m in self.modules():
            for name, reg in list(m.__dict__.items()):
                if name.endswith("_regularizer") and name != "activity_regularizer" and \
                        reg is not None:
                    w = getattr(m, name[:-len("_regularizer")], None)
                    if w is not None:
                        pairs.append((reg, w))
            pairs.extend(m.__dict__.get("_weight_regularizers", ()))
        return pairs

    def _constrained_weights(self):
        """``(constraint, weight)`` for each ``<weight>_constraint=`` a layer was made with
        (``kernel_constraint`` projects ``kernel``, ``recurrent_constraint`` the
        ``recurrent_kernel``, also inside a recurrent layer's cell), applied after every
        optimizer update as Keras does.

        Raises:
            NotImplementedError: a constraint whose weight the layer does not have.
        """
        from . import constraints
        pairs = []
        for m in self.modules():
            cfg = m.__dict__.get("_init_args") or {}
            for k, v in cfg.items():
                if not k.endswith("_constraint") or v is None:
                    continue
                base = k[:-len("_constraint")]
                w = None
                for sub in m.modules():
                    for name in (base, base + "_kernel"):
                        cand = getattr(sub, name, None)
                        if isinstance(cand, Tensor):
                            w = cand
                            break
                    if w is not None:
                        break
                if w is None:
                    raise NotImplementedError(f"{type(m).__name__}: {k}= has no weight "
                                              f"{base!r} to constrain")
                pairs.append((constraints.get(v), w))
        return tuple(pairs)

    @property
    def losses(self) -> list:
        """The weight regularization penalties (scalar Tensors) and the layers'
        ``add_loss`` terms of their last call, as Keras' ``model.losses`` after a call."""
        return [reg(w) for reg, w in self._regularized_weights()] + [
            t for m in self.modules() for t in m.__dict__.get("_added_losses", ())]

    def _per_sample_fn(self, out, yb):
        fn = self.__dict__.get("_per_sample_cached")
        if fn is None:
            fn = self._loss_per_sample()
            self.__dict__["_per_sample_cached"] = fn
        return fn(out, yb)

    def _batch_metrics(self, out, yb, sums, mask=None):
        """Add each metric's sum over the batch's samples into ``sums`` (arrays stay on
        the device; nothing synchronises)."""
        # Keras' metrics see the model's output as it is: with from_logits=True the
        # logits themselves; when gradengine chose the logits, the probabilities
        act = None if self.__dict__.get("_from_logits") else self._output_is_logits
        if mask is not None or out.ndim > 2:  # -- kmask: per-step values, masked
            _masking.metric_sums(self._metrics, act, out, yb, sums, mask, _metric_sums)
            return
        _metric_sums(self._metrics, act, out, yb, sums)

    # ------------------------------------------------------------ customizing fit
    # Keras' "customizing what happens in fit()": a subclass that overrides train_step /
    # test_step / predict_step has fit / evaluate / predict call it on every batch, with
    # compute_loss, compute_metrics and the metrics trackers below.
    @property
    def metrics(self) -> list:
        """Keras' ``model.metrics`` after compile: the ``"loss"`` tracker (a
        :class:`keras.metrics.Mean`) and the compiled metrics (one object named
        ``"compile_metrics"`` whose ``result()`` is a dict), as Keras 3."""
        if not getattr(self, "compiled", False):
            return []
        d = self.__dict__
        made = d.get("_trackers")
        if made is None or made[0] is not self._metric_specs:
            from .metrics import Mean
            made = d["_trackers"] = (self._metric_specs, Mean(name="loss"),
                                     _CompileMetrics(self))
        return [made[1], made[2]]

    @property
    def metrics_names(self) -> list:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras' ``compute_loss``: the compiled loss of ``y_pred`` (``self(x)`` when not
        given) against ``y``, plus the weights' regularization penalties."""
        from .losses import get as get_loss
        if y_pred is None:
            y_pred = self(x, training=training)
        if getattr(self, "_multi", None) is not None:
            raise NotImplementedError("compute_loss: a model of several outputs in a custom "
                                      "train_step is not supported")
        if not isinstance(y, Tensor):
            y = Tensor(np.asarray(y), device=y_pred.device)
        loss = self.loss
        if isinstance(loss, str):
            per = get_loss(loss)(y, y_pred)
        elif isinstance(loss, _KerasLoss):
            per = loss(y, y_pred, sample_weight=sample_weight)
            sample_weight = None
        else:  # gradengine's callable(pred, target)
            per = loss(y_pred, y)
        if sample_weight is not None:
            w = sample_weight if isinstance(sample_weight, Tensor) else \
                Tensor(np.asarray(sample_weight, dtype=per.dtype), device=per.device)
            total = (per * w.reshape(per.shape)).sum() / max(per.shape[0], 1)
        else:
            total = per.mean() if per.ndim else per
        for pen in self.losses:
            total = total + pen
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        """Keras' ``compute_metrics``: update the compiled metrics with this batch and
        return every metric's result (the loss tracker's too)."""
        self.metrics[1].update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """``{name: result}`` of every metric, the compiled ones' dict flattened."""
        out = {}
        for m in self.metrics:
            r = m.result()
            if isinstance(r, dict):
                out.update(r)
            else:
                out[m.name] = r
        return out

    def train_step(self, data) -> dict:
        """One training step on a batch ``data`` = ``(x, y)`` or ``(x, y, sample_weight)``,
        as Keras' default: forward, :meth:`compute_loss`, backward, optimizer update,
        metrics; returns :meth:`get_metrics_result`. Override it to customize ``fit``."""
        from .utils import unpack_x_y_sample_weight
        x, y, sw = unpack_x_y_sample_weight(data)
        self.optimizer.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw)
        loss.backward()
        self.optimizer.step()
        self.metrics[0].update_state(loss.detach(), sample_weight=_batch_size(y_pred))
        return self.compute_metrics(x, y, y_pred.detach(), sw)

    def test_step(self, data) -> dict:
        """One evaluation step (no update), as Keras' default; override to customize
        ``evaluate``."""
        from .utils import unpack_x_y_sample_weight
        x, y, sw = unpack_x_y_sample_weight(data)
        with no_grad():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw,
                                     training=False)
        self.metrics[0].update_state(loss, sample_weight=_batch_size(y_pred))
        return self.compute_metrics(x, y, y_pred, sw)

    def predict_step(self, data):
        """The outputs for one batch, as Keras' default; override to customize
        ``predict``."""
        from .utils import unpack_x_y_sample_weight
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _custom(self, name) -> bool:
        """Whether this model's class overrides ``train_step`` / ``test_step`` /
        ``predict_step``."""
        fn = getattr(type(self), name, None)
        return fn is not None and fn is not getattr(KerasModel, name)

    # ------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, **kwargs):
        """Train for ``epochs - initial_epoch`` epochs of mini-batch steps (Keras's ``fit``).

        Args:
            x, y: samples and targets (NumPy arrays, lists or Tensors), first axis samples.
            batch_size: samples per step (None: 32). epochs: the index of the last epoch.
            verbose: "auto" or 1 a live progress bar per epoch, 2 one line per epoch, 0
                silent. callbacks: Callback instances (EarlyStopping, ModelCheckpoint, ...).
            validation_split: fraction of the data, taken from the end before shuffling,
                held out for validation (ignored when validation_data is given).
            validation_data: ``(x_val, y_val)`` evaluated after every epoch.
            shuffle: reshuffle every epoch.
            class_weight: ``{class: weight}``, each sample's loss weighted by its class.
            sample_weight: one weight per sample; the loss is ``sum(w_i l_i) / batch``.
            initial_epoch: the epoch to start from (to resume a run).
            validation_batch_size: batch size of the validation pass (default batch_size).
            validation_freq: validate every this many epochs (an int), or at the epochs
                (1-based) in a list, as Keras.
        Returns:
            A History; ``history.history["loss"]`` has one value per epoch, and so have
            the metrics and their ``val_`` forms. Also kept as ``model.history``.
        Raises:
            RuntimeError: fit before compile. ShapeError: x and y sample counts differ or
                shapes do not fit the model. ValueError: bad arguments, or no samples. All
                are raised before any parameter changes. KeyboardInterrupt propagates; the
                epochs completed so far stay in ``model.history``.
        Example:
            >>> history = model.fit(X, y, epochs=50, validation_split=0.2, verbose=0)
        """
        if x is None and "X" in kwargs:
            x = kwargs.pop("X")  # the seed's spelling
        if kwargs:
            raise TypeError(f"fit: unexpected keyword arguments {sorted(kwargs)}")
        if isinstance(validation_freq, bool) or not (
                isinstance(validation_freq, (int, np.integer)) and validation_freq >= 1 or
                isinstance(validation_freq, (list, tuple, set, range))):
            raise ValueError(f"fit: validation_freq must be a positive integer or a list of "
                             f"epochs, got {validation_freq!r}")
        if not self.__dict__.get("compiled"):
            raise _NotCompiled("fit: the model must be compiled first; call "
                               "model.compile(optimizer=..., loss=...) before fit()")
        batch_size = 32 if batch_size is None else batch_size
        verbose = _verbosity(verbose, "fit")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
        if not isinstance(initial_epoch, (int, np.integer)) or initial_epoch < 0:
            raise ValueError(f"fit: initial_epoch must be a non-negative integer, got "
                             f"{initial_epoch!r}")
        if (steps_per_epoch is not None and not _is_batch_source(x)) or (
                validation_steps is not None and not _is_batch_source(validation_data)):
            raise NotImplementedError("fit: steps_per_epoch / validation_steps are supported "
                                      "for a PyDataset or a generator only (arrays are taken "
                                      "whole)")
        from .utils import PyDataset
        refresh = None
        if isinstance(x, PyDataset):
            if validation_split:
                raise ValueError("fit: validation_split is only supported for arrays, not a "
                                 "PyDataset; give validation_data")
            dataset, steps_given = x, steps_per_epoch

            def refresh():  # the next epoch's batches (Keras reads a PyDataset each epoch)
                xs, ys, ws, _, _ = _batch_source(dataset, None, None, None, False, "fit",
                                                 steps_given)
                return xs, ys, ws
        x, y, sample_weight, batch_size, shuffle = _batch_source(
            x, y, sample_weight, batch_size, shuffle, "fit", steps_per_epoch)
        if validation_data is not None and not isinstance(validation_data, (tuple, list)):
            vx, vy, vw, _, _ = _batch_source(validation_data, None, None, batch_size, False,
                                             "fit", validation_steps)
            validation_data = (vx, vy) if vw is None else (vx, vy, vw)
        if self.__dict__.get("_multi") is not None:
            from . import multi_output
            if class_weight is not None:
                raise NotImplementedError("fit: class_weight is not supported for a model "
                                          "of several outputs (as in Keras)")
            return multi_output.fit(self, x, y, int(batch_size), int(epochs), verbose,
                                    callbacks, validation_split, validation_data,
                                    bool(shuffle), sample_weight, int(initial_epoch),
                                    validation_batch_size, validation_freq)
        Xa, ya, out_shape = self._prepare(x, y, "fit", batch_size)
        wa = self._sample_weights(sample_weight, class_weight, ya, _rows(Xa), "fit")
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in \
                    (2, 3):
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            Xv, yv, _ = self._prepare(validation_data[0], validation_data[1], "fit",
                                      batch_size)
            if _tail(Xv) != _tail(Xa):
                raise ShapeError(f"fit: validation X of shape {_shape(Xv)} does not "
                                 f"match X of shape {_shape(Xa)}")
            val = (Xv, yv)
        elif validation_split:
            # Keras' split: the first floor(N * (1 - split)) samples train, the rest validate
            cut = int(math.floor(_rows(Xa) * (1.0 - validation_split)))
            if cut == 0 or cut == _rows(Xa):
                raise ValueError(f"fit: validation_split={validation_split} of "
                                 f"{_rows(Xa)} samples leaves an empty set")
            val = (_take(Xa, slice(cut, None)), ya[cut:])
            Xa, ya = _take(Xa, slice(None, cut)), ya[:cut]
            if wa is not None:
                wa = wa[:cut]
        if self._setup != _setup_key(out_shape, ya) or self.optimizer is None:
            self._configure(out_shape, ya.shape)
        elif hasattr(self.optimizer, "build") and not self.optimizer.params:
            self._configure(out_shape, ya.shape)
        # History last, as Keras: it records what the other callbacks add to the logs
        cbs = list(callbacks or []) + [History()]
        for cb in cbs[:-1]:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit: callbacks must be Callback instances, got "
                                f"{type(cb).__name__}")
        self.history = cbs[-1]
        world = dist_fit.begin(self)  # None outside an initialized world of N > 1
        if world is not None:
            cbs, verbose = world.callbacks(cbs), world.verbose(verbose)
        with enable_grad():
            self.train()
            try:
                self._fit_loop(Xa, ya, wa, val, int(epochs), int(batch_size), bool(shuffle),
                               cbs, verbose, int(initial_epoch), world, validation_freq,
                               validation_batch_size, refresh)
            finally:
                if world is not None:
                    world.close()
        return self.history

    def _sample_weights(self, sample_weight, class_weight, ya, n, where):
        """Per-sample weights (an array of the model's dtype on its device) or None."""
        if sample_weight is None and class_weight is None:
            return None
        if sample_weight is not None and class_weight is not None:
            raise ValueError(f"{where}: You cannot `class_weight` and `sample_weight` at the "
                             "same time.")  # Keras' words
        device, dtype = self._model_place()
        xp = backend.xp_of(device)
        w = None
        if sample_weight is not None:
            w = self._array(sample_weight, dtype, device, where, "sample_weight")
            if w.ndim == 2 and w.shape[1] == 1:
                w = w.reshape(-1)
            if w.shape != (n,):
                raise ShapeError(f"{where}: sample_weight of shape {tuple(w.shape)} does not "
                                 f"match the {n} samples")
        if class_weight is not None:
            if not isinstance(class_weight, dict):
                raise TypeError(f"{where}: class_weight must be a dict {{class: weight}}")
            labels = ya
            if labels.ndim == 2 and labels.shape[1] > 1:
                labels = labels.argmax(axis=-1)
            elif labels.ndim == 2:
                labels = (labels[:, 0] > 0.5) if labels.dtype.kind == "f" else labels[:, 0]
            labels = _host(labels).astype(np.int64)
            table = np.ones(int(max(labels.max(initial=0), max(class_weight))) + 1)
            for k, v in class_weight.items():
                table[int(k)] = float(v)
            cw = backend.to_device_array(table[labels].astype(dtype), device)
            w = cw if w is None else w * cw
        return xp.ascontiguousarray(w)

    def _fit_loop(self, Xa, ya, wa, val, epochs, batch_size, shuffle, cbs, verbose,
                  initial_epoch, world=None, validation_freq=1, validation_batch_size=None,
                  refresh=None):
        n = _rows(Xa)
        # in a world of N each rank takes its disjoint, padded share of every epoch
        n_local = n if world is None else len(world.epoch_indices(n, 0, False))
        steps = -(-n_local // batch_size)
        device = _device(Xa)
        xp = backend.xp_of(device)
        params = {"epochs": epochs, "steps": steps, "samples": n, "verbose": verbose}
        for cb in cbs:
            cb.set_model(self)
            cb.set_params(params)
        batch_cbs = [cb for cb in cbs if _overrides(cb, "on_train_batch_begin") or
                     _overrides(cb, "on_train_batch_end")]
        if wa is None:
            step = self._jit_step or self._train_step
        else:
            step = self._jit_step_w or self._train_step_weighted
        names = ["loss"] + self._metric_names
        custom = self._custom("train_step")
        if custom and world is not None:
            raise NotImplementedError("fit: a custom train_step in a distributed fit is not "
                                      "supported")
        make = Tensor._make
        on_cpu = device == "cpu"
        self.stop_training = False
        for cb in cbs:
            cb.on_train_begin({})
        initial_epoch = self.__dict__.pop("_resume_epoch", initial_epoch)  # BackupAndRestore
        logs = {}
        for epoch in range(initial_epoch, epochs):
            if refresh is not None and epoch > initial_epoch:
                # a PyDataset's batches again, after its on_epoch_end
                xs, ys, ws = refresh()
                Xa, ya, _ = self._prepare(xs, ys, "fit", batch_size)
                wa = self._sample_weights(ws, None, ya, _rows(Xa), "fit")
                n = _rows(Xa)
                steps = -(-n // batch_size)
            for cb in cbs:
                cb.on_epoch_begin(epoch, {})
            self._reset_stateful()
            if custom:
                self.reset_metrics()
                clogs = {}
            bar = _progress(verbose, epoch, epochs, steps)
            sums = [0.0] * len(names)
            seen = 0
            if world is not None:
                order = world.epoch_indices(n, epoch, shuffle)
                if device != "cpu":
                    with backend.cuda_context(device):
                        order = xp.asarray(order)
                Xe, ye = _take(Xa, order), ya[order]
                we = wa[order] if wa is not None else None
            elif shuffle and n > 1:
                order = self._shuffle_rng.permutation(n)
                if device != "cpu":
                    with backend.cuda_context(device):
                        order = xp.asarray(order)
                Xe, ye = _take(Xa, order), ya[order]
                we = wa[order] if wa is not None else None
            else:
                Xe, ye, we = Xa, ya, wa
            for b, start in enumerate(range(0, _rows(Xe), batch_size)):
                for cb in batch_cbs:
                    cb.on_train_batch_begin(b, {})
                xb = _take(Xe, slice(start, start + batch_size))
                yb = ye[start:start + batch_size]
                if custom:  # the user's train_step: its dict is the logs
                    data = (_tensors(xb, device), make(yb, device))
                    if we is not None:
                        data += (make(we[start:start + batch_size], device),)
                    clogs = _flat_logs(self.train_step(data))
                    seen += _rows(xb)
                    if bar is not None:
                        bar.update([v * seen for v in clogs.values()], seen, list(clogs))
                    for cb in batch_cbs:
                        cb.on_train_batch_end(b, dict(clogs))
                    if self.stop_training and batch_cbs:
                        break
                    continue
                if we is None:
                    loss, out = step(_tensors(xb, device), make(yb, device))
                else:
                    loss, out = step(_tensors(xb, device), make(yb, device),
                                     make(we[start:start + batch_size], device))
                nb = _rows(xb)
                seen += nb
                sums[0] = sums[0] + (float(loss.data) * nb if on_cpu else loss.data * nb)
                if len(sums) > 1:
                    metric_sums = sums[1:]
                    self._batch_metrics(out.data, yb, metric_sums,
                                        getattr(out, "_keras_mask", None))
                    sums[1:] = metric_sums
                    if self._weighted:
                        self._weighted_update(out.data, yb, None if we is None else
                                              we[start:start + batch_size])
                if bar is not None:
                    bar.update(self._display_sums(names, sums, seen), seen, names)
                if batch_cbs:
                    blogs = {k: float(s) / seen for k, s in zip(names, sums)}
                    blogs = _sorted_logs(self._stateful_results(blogs))
                    for cb in batch_cbs:
                        cb.on_train_batch_end(b, blogs)
                    if self.stop_training:  # Keras ends the epoch at once
                        break
            if custom:
                logs = dict(clogs)
            else:
                logs = (world.logs(names, sums, seen) if world is not None
                        else {k: float(s) / max(seen, 1) for k, s in zip(names, sums)})
                self._stateful_results(logs)
            if val is not None and _should_validate(epoch, validation_freq):
                for cb in cbs:
                    cb.on_test_begin({})
                with _batch_hooks(self, cbs, "test"):
                    vlogs = self._evaluate_arrays(val[0], val[1], validation_batch_size or
                                                  batch_size)
                for cb in cbs:
                    cb.on_test_end(vlogs)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            logs = _sorted_logs(logs)  # the callbacks' logs in Keras' order: sorted by key
            if bar is not None:
                bar.close(logs)
            for cb in cbs:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        if getattr(self.optimizer, "use_ema", False):
            self.optimizer.finalize_variable_values()  # Keras: the averages at the end
        for cb in cbs:
            cb.on_train_end(logs)

    # ------------------------------------------------------------ evaluate / predict
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """The loss and metrics on (x, y), without training (Keras's ``evaluate``); x may
        also be a PyDataset or a generator of batches (``steps`` of them at most), and the
        ``callbacks`` get ``on_test_begin`` / ``on_test_end``.

        Returns:
            As Keras: the loss alone (a float) when the model has no metrics, else the
            list ``[loss, *metrics]``; with ``return_dict=True`` the dict ``{"loss": ...,
            metric: ...}`` (means over the samples).
        Raises:
            RuntimeError: the model is not compiled. ShapeError: x and y do not fit.
            ValueError: no samples.
        """
        if x is None and "X" in kwargs:
            x = kwargs.pop("X")
        if kwargs:
            raise TypeError(f"evaluate: unexpected keyword arguments {sorted(kwargs)}")
        cbs = list(callbacks or [])
        for cb in cbs:
            if not isinstance(cb, Callback):
                raise TypeError(f"evaluate: callbacks must be Callback instances, got "
                                f"{type(cb).__name__}")
            cb.set_model(self)
            cb.on_test_begin({})
        with _batch_hooks(self, cbs, "test"):
            out = self._evaluate_call(x, y, batch_size, verbose, sample_weight, steps,
                                      return_dict)
        for cb in cbs:
            cb.on_test_end(dict(self.__dict__.get("_last_eval_logs") or {}))
        return out

    def _evaluate_call(self, x, y, batch_size, verbose, sample_weight, steps, return_dict):
        batch_size = 32 if batch_size is None else batch_size
        verbose = _verbosity(verbose, "evaluate")
        was_training = self.training
        start = time.perf_counter()
        x, y, sample_weight, batch_size, _ = _batch_source(x, y, sample_weight, batch_size,
                                                           False, "evaluate", steps)
        if self.__dict__.get("_multi") is not None:
            from . import multi_output
            out = multi_output.evaluate(self, x, y, int(batch_size), verbose, sample_weight,
                                        True)
            self.__dict__["_last_eval_logs"] = out
            return out if return_dict else multi_output._result(
                multi_output.keras_order(self, out), False)
        Xa, ya, out_shape = self._prepare(x, y, "evaluate", batch_size)
        wa = self._sample_weights(sample_weight, None, ya, _rows(Xa), "evaluate")
        if self._setup != _setup_key(out_shape, ya) or self.optimizer is None:
            self._configure(out_shape, ya.shape)
        try:
            logs = self._evaluate_arrays(Xa, ya, batch_size, wa)
        finally:
            self.train(was_training)
        if verbose:
            _print_step_line(-(-_rows(Xa) // batch_size), time.perf_counter() - start, logs)
        self.__dict__["_last_eval_logs"] = logs
        return _keras_result(logs, return_dict)

    def _evaluate_arrays(self, Xa, ya, batch_size, wa=None):
        if self._custom("test_step"):
            return self._evaluate_custom(Xa, ya, batch_size, wa)
        names = ["loss"] + self._metric_names
        sums = [0.0] * len(names)
        device = _device(Xa)
        n = _rows(Xa)
        self._reset_stateful()
        hooks = self.__dict__.get("_batch_hooks") or ()
        self.eval()
        try:
            with no_grad():
                for start in range(0, n, batch_size):
                    for cb in hooks:
                        cb.on_test_batch_begin(start // batch_size, {})
                    xb = _tensors(_take(Xa, slice(start, start + batch_size)), device)
                    yb = ya[start:start + batch_size]
                    if wa is None:
                        step = self._jit_eval or self._eval_step
                        loss, out = step(xb, Tensor._make(yb, device))
                    else:
                        out, penalty = self._forward_with_penalty(xb)
                        per = self._per_sample_fn(out, Tensor._make(yb, device))
                        loss = (per * Tensor._make(wa[start:start + batch_size], device)
                                ).sum() / per.shape[0]
                        if penalty is not None:
                            loss = loss + penalty
                    sums[0] = sums[0] + loss.data * yb.shape[0]
                    metric_sums = sums[1:]
                    self._batch_metrics(out.data, yb, metric_sums,
                                        getattr(out, "_keras_mask", None))
                    sums[1:] = metric_sums
                    if self._weighted:
                        self._weighted_update(out.data, yb, None if wa is None else
                                              wa[start:start + batch_size])
                    if hooks:  # the running means so far, as Keras' batch logs
                        seen = min(start + batch_size, n)
                        blogs = self._stateful_results(
                            {k: float(v) / seen for k, v in zip(names, sums)})
                        for cb in hooks:
                            cb.on_test_batch_end(start // batch_size, dict(blogs))
        finally:
            self.train()
        return self._stateful_results({k: float(s) / max(n, 1) for k, s in zip(names, sums)})

    def _evaluate_custom(self, Xa, ya, batch_size, wa):
        """evaluate with the user's test_step: its last dict is the result."""
        device = _device(Xa)
        self.reset_metrics()
        logs = {}
        for start in range(0, _rows(Xa), batch_size):
            data = (_tensors(_take(Xa, slice(start, start + batch_size)), device),
                    Tensor._make(ya[start:start + batch_size], device))
            if wa is not None:
                data += (Tensor._make(wa[start:start + batch_size], device),)
            logs = _flat_logs(self.test_step(data))
        return logs

    def _stateful(self):
        return [(name, spec) for name, spec in getattr(self, "_metrics", ())
                if hasattr(spec, "update_state")] + list(self.__dict__.get("_weighted", ()))

    def _weighted_update(self, out, yb, wb):
        """Update the weighted metrics from a batch's output and sample weights."""
        xp = np if isinstance(out, np.ndarray) else backend.cupy()
        act = None if self.__dict__.get("_from_logits") else self._output_is_logits
        probs = _host(_probabilities(xp, out, act))
        y, w = _host(yb), None if wb is None else _host(wb)
        for _, m in self._weighted:
            m.update_state(y, probs, sample_weight=w)

    def _reset_stateful(self):
        for _, m in self._stateful():
            m.reset_state()

    def _display_sums(self, names, sums, seen):
        """``sums`` with each stateful scalar metric's entry its result times ``seen`` (the
        progress bar divides by ``seen``)."""
        stateful = self._stateful()
        if not stateful:
            return sums
        out = list(sums)
        for name, m in stateful:
            r = m.result()
            if name in names and np.ndim(r) == 0:
                out[names.index(name)] = float(r) * seen
        return out

    def _stateful_results(self, logs):
        """``logs`` with each stateful metric's entry set to its ``result()``."""
        for name, m in self._stateful():
            if name in logs:
                r = m.result()
                logs[name] = float(r) if np.ndim(r) == 0 else np.asarray(r)
        return logs

    def _eval_step(self, xb, yb):
        """The loss and the output (or logits) on one batch; replayed under jit_compile."""
        out, penalty = self._forward_with_penalty(xb)
        loss = self._loss_fn(out, yb) if getattr(out, "_keras_mask", None) is None else \
            _masking.model_loss(self, out, yb)  # -- kmask
        return (loss if penalty is None else loss + penalty), out

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                **kwargs):
        """The model's outputs for x as a NumPy array on the host (Keras's ``predict``); x
        may also be a PyDataset or a generator of batches (their x parts are used), and
        the ``callbacks`` get ``on_predict_begin`` / ``on_predict_end``.

        ``model(x)`` returns a Tensor instead (on the model's device, with a graph).
        """
        if kwargs:
            raise TypeError(f"predict: unexpected keyword arguments {sorted(kwargs)}")
        x, _, _, batch_size, _ = _batch_source(x, None, None, batch_size, False, "predict",
                                               steps)
        cbs = list(callbacks or [])
        for cb in cbs:
            cb.set_model(self)
            cb.on_predict_begin({})
        with _batch_hooks(self, cbs, "predict"):
            out = self._predict_call(x, batch_size, verbose)
        for cb in cbs:
            cb.on_predict_end({})
        return out

    def _predict_call(self, x, batch_size, verbose):
        batch_size = 32 if batch_size is None else batch_size
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"predict: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        verbose = _verbosity(verbose, "predict")
        start_t = time.perf_counter()
        device, dtype = self._model_place()
        Xa = self._input_arrays(x, device, dtype, "predict", "x")
        was_training = self.training
        outs = []
        forward = getattr(self, "_jit_predict", None) or self.forward
        hooks = self.__dict__.get("_batch_hooks") or ()
        self.eval()
        try:
            with no_grad():
                for b, start in enumerate(range(0, max(_rows(Xa), 1), batch_size)):
                    for cb in hooks:
                        cb.on_predict_batch_begin(b, {})
                    out = forward(_tensors(_take(Xa, slice(start, start + batch_size)),
                                           device))
                    outs.append(_host(out.data) if isinstance(out, Tensor) else
                                _host_structure(out))
                    for cb in hooks:
                        cb.on_predict_batch_end(b, {"outputs": outs[-1]})
        finally:
            self.train(was_training)
        if verbose:
            _print_step_line(len(outs), time.perf_counter() - start_t, {})
        if len(outs) == 1:
            return outs[0]
        return _concatenate_structure(outs)

    # ------------------------------------------------------------ one batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimisation step on (x, y) as one batch; returns the batch's loss (and
        metrics) as :meth:`evaluate` does."""
        if not self.__dict__.get("compiled"):
            raise _NotCompiled("train_on_batch: the model must be compiled first")
        if self.__dict__.get("_multi") is not None:
            from . import multi_output
            return multi_output.train_on_batch(self, x, y, sample_weight, return_dict)
        Xa, ya, out_shape = self._prepare(x, y, "train_on_batch", 1)
        wa = self._sample_weights(sample_weight, class_weight, ya, _rows(Xa),
                                  "train_on_batch")
        if self._setup != _setup_key(out_shape, ya) or self.optimizer is None:
            self._configure(out_shape, ya.shape)
        device = _device(Xa)
        make = Tensor._make
        with enable_grad():
            self.train()
            if wa is None:
                loss, out = (self._jit_step or self._train_step)(_tensors(Xa, device),
                                                                 make(ya, device))
            else:
                loss, out = (self._jit_step_w or self._train_step_weighted)(
                    _tensors(Xa, device), make(ya, device), make(wa, device))
        sums = [0.0] * len(self._metric_names)
        self._reset_stateful()
        self._batch_metrics(out.data, ya, sums, getattr(out, "_keras_mask", None))
        if self._weighted:
            self._weighted_update(out.data, ya, wa)
        logs = {"loss": float(loss.data)}
        logs.update({k: float(v) / _rows(Xa) for k, v in zip(self._metric_names, sums)})
        self._stateful_results(logs)
        return _keras_result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss (and metrics) on (x, y) as one batch, without training."""
        if self.__dict__.get("_multi") is not None:
            if not self.__dict__.get("compiled"):
                raise _NotCompiled("test_on_batch: the model must be compiled first")
            from . import multi_output
            return multi_output.test_on_batch(self, x, y, sample_weight, return_dict)
        return self.evaluate(x, y, batch_size=max(_input_samples(x) or 1, 1), verbose=0,
                             sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x):
        """The outputs for x as one batch (a NumPy array)."""
        return self.predict(x, batch_size=max(_input_samples(x) or 1, 1), verbose=0)

    # ------------------------------------------------------------ weights
    def count_params(self) -> int:
        """The number of weights (parameters and buffers, as Keras counts).

        Raises:
            ValueError: the model is not built yet (its sizes are unknown).
        """
        if not _model_built(self):
            raise ValueError(f"count_params: the model {self._display_name()!r} is not built "
                             "yet: give the first layer input_shape=..., add an Input, or "
                             "call the model on data first")
        return sum(int(t.size) for t in self.weights)

    def save_weights(self, filepath, overwrite=True):
        """Save the weights (and buffers) with ``ge.save``: checksummed, atomic, no pickle.

        Any name but ``.keras`` is taken, Keras 3's ``model.weights.h5`` too: the file
        holds gradengine's checkpoint format, not HDF5 (Keras cannot read it).

        Raises:
            ValueError: a ``.keras`` path (use :meth:`save`).
        """
        from ..checkpoint import save
        save(self.state_dict(), _weights_path(filepath, "save_weights", overwrite))

    def load_weights(self, filepath):
        """Load weights saved by :meth:`save_weights`; all or nothing.

        Raises:
            FileNotFoundError, CheckpointError (a real HDF5 file written by Keras
            included), KeyError, ShapeError; ValueError for a ``.keras`` path.
        """
        from ..checkpoint import load_arrays as load
        self.load_state_dict(load(_weights_path(filepath, "load_weights", True)))

    def save(self, filepath, overwrite=True):
        """Save the whole model to ONE ``.keras`` file: the architecture as JSON, the
        weights and the optimizer state, in gradengine's checksummed checkpoint format
        (no pickle). :func:`gradengine.keras.models.load_model` rebuilds it.

        Raises:
            ValueError: a path that does not end in ``.keras``. TypeError: a layer whose
                configuration cannot be written as JSON (a custom module).
        """
        from .model_file import save_model
        save_model(self, filepath, overwrite=overwrite)

    def get_config(self) -> dict:
        """A Sequential or functional model: its architecture (the layers' configs and,
        functional, their calls), what ``from_config`` rebuilds it from with new weights
        (gradengine's layout, as ``to_json``); a subclass: its constructor arguments."""
        from .model_file import _architecture
        graph = self.__dict__.get("_graph", False)
        if getattr(self, "layers", None) is None or graph is None:
            return super().get_config()
        arch = _architecture(self, "get_config")
        arch["trainable"] = self.trainable
        return arch

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model ``get_config`` describes, with freshly initialized weights."""
        kind = config.get("class_name") if isinstance(config, dict) else None
        if kind in ("Sequential", "Functional") and "layers" in config:
            from .architecture import rebuild
            seq, fun = hasattr(cls, "add"), hasattr(cls, "_build_graph")
            if not (seq if kind == "Sequential" else fun):
                raise TypeError(f"{cls.__name__}.from_config: the config is a {kind} "
                                "model's; call from_config on its class")
            model = rebuild(config, cls, cls, custom_objects)
            if config.get("trainable") is False:
                model.trainable = False
            return model
        return cls(**config)

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON (gradengine's layout; ``models.model_from_json`` reads
        it back with new weights)."""
        from .model_file import to_json
        return to_json(self, **kwargs)

    @property
    def output_names(self) -> list:
        """Keras' output names: dict keys, else the output layers' names."""
        from .multi_output import output_names
        return output_names(self)

    def _display_name(self):
        return self.name

    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs):
        """Print each layer with its output shape and parameter count, then the totals; a
        model that is not built yet says so (and shows "?" for what is unknown)."""
        print_fn = print_fn or print
        built = _model_built(self)
        header, rows = self._summary_rows(built)
        _print_table(print_fn, f'Model: "{self._display_name()}"', header, rows)
        if not built:
            print_fn("The model is not built yet: its parameter counts are unknown. Give the "
                     "first layer input_shape=..., start with Input(shape=...), call "
                     "model.build(...), or fit / call it on data.")
            return
        trainable = sum(int(p.size) for p in self.trainable_weights)
        total = sum(int(t.size) for t in self.weights)
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")

    def _summary_rows(self, built):
        """The summary's column names and one row per layer (name (type), output shape,
        parameter count)."""
        layers = list(getattr(self, "layers", None) or
                      [m for n, m in self.named_modules() if n and "." not in n])
        shapes = [None] * len(layers)
        in_shape = self.__dict__.get("_input_shape")
        if built and in_shape is not None and hasattr(self, "_layer_shapes"):
            try:
                shapes = self._layer_shapes(in_shape)
            except Exception:  # noqa: BLE001 - a summary never fails on a shape probe
                shapes = [None] * len(layers)
        names = _layer_names(layers)
        rows = [(f"{name} ({type(layer).__name__})",
                 "?" if shape is None else str((None,) + tuple(shape)), _param_count(layer))
                for layer, name, shape in zip(layers, names, shapes)]
        return ("Layer (type)", "Output Shape", "Param #"), rows


# ---------------------------------------------------------------- helpers

def _layer_names(layers):
    """Each layer's name: its own, else Keras' default (``dense``, ``dense_1``, ...)."""
    counts, names = {}, []
    for layer in layers:
        name = getattr(layer, "name", None)  # a Keras layer's own (given or Keras' default)
        if not isinstance(name, str) or not name:
            base = _snake(type(layer).__name__)
            k = counts.get(base, 0)
            counts[base] = k + 1
            name = base if k == 0 else f"{base}_{k}"
        names.append(name)
    return names


def _param_count(layer):
    if not bool(getattr(layer, "built", True)):
        return "0 (unbuilt)"
    return f"{sum(int(t.size) for _, t in layer._named_state()):,}"


def _print_table(print_fn, title, header, rows):
    """A summary table: the third column (Param #) right-aligned, the others left."""
    w = [max([len(r[i]) for r in rows] + [len(h)]) + 2 for i, h in enumerate(header)]
    width = sum(w) + (2 if len(header) > 3 else 0)

    def line(cells):
        return "".join(f"{c:>{w[i]}}  " if i == 2 else f"{c:<{w[i]}}"
                       for i, c in enumerate(cells)).rstrip()
    print_fn(title)
    print_fn("-" * width)
    print_fn(line(header))
    print_fn("=" * width)
    for r in rows:
        print_fn(line(r))
    print_fn("=" * width)


def _host_structure(out):
    """A model's several outputs (a list, tuple or dict of Tensors) as host arrays."""
    if isinstance(out, dict):
        return {k: _host_structure(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [_host_structure(v) for v in out]
    return _host(out.data)


def _concatenate_structure(batches):
    first = batches[0]
    if isinstance(first, dict):
        return {k: _concatenate_structure([b[k] for b in batches]) for k in first}
    if isinstance(first, list):
        return [_concatenate_structure([b[i] for b in batches]) for i in range(len(first))]
    return np.concatenate(batches, axis=0)








def _input_samples(x):
    """The sample count of input data: one array, or a list / dict of arrays (inputs)."""
    if isinstance(x, dict):
        x = list(x.values())
    if isinstance(x, (list, tuple)) and x and all(hasattr(a, "shape") for a in x):
        x = x[0]
    return _num_samples(x)


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


def _verbosity(verbose, where):
    if verbose == "auto":
        return 1
    if verbose in (0, 1, 2) or verbose is False or verbose is True:
        return int(verbose)
    raise ValueError(f"{where}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")


def _scalar(v):
    return v if v.ndim == 0 else v.mean()



def _setup_key(out_shape, ya):
    return (tuple(out_shape[1:]), (ya.ndim, tuple(ya.shape[1:])))



def _keras_result(logs, return_dict):
    if return_dict:
        return _sorted_logs(logs)
    values = list(logs.values())
    return values[0] if len(values) == 1 else values




def _model_built(model):
    layers = getattr(model, "layers", None)
    if layers is None:
        return True
    return bool(layers) and all(bool(getattr(layer, "built", True)) for layer in layers)


def _weights_path(filepath, where, overwrite):
    import os
    path = os.fspath(filepath)
    low = path.lower()
    # A Keras 3 name (``model.weights.h5``) is taken as it is; the file holds gradengine's
    # checksummed checkpoint format, not HDF5 (Keras itself cannot read it).
    if low.endswith(".keras"):
        raise ValueError(f"{where}: {path!r} ends in .keras, the whole-model format; use "
                         "model.save / keras.models.load_model for it, or a name like "
                         "'model.weights.npz' for the weights alone")
    if where == "save_weights" and not overwrite and os.path.exists(path):
        raise FileExistsError(f"{where}: {path!r} exists and overwrite=False")
    return path


@contextlib.contextmanager
def _batch_hooks(model, cbs, kind):
    """The callbacks among ``cbs`` that act on each ``kind`` ("test" / "predict") batch,
    kept on the model while its evaluate or predict loop runs."""
    hooks = [cb for cb in cbs if _overrides(cb, f"on_{kind}_batch_begin") or
             _overrides(cb, f"on_{kind}_batch_end")]
    prev = model.__dict__.get("_batch_hooks")
    model.__dict__["_batch_hooks"] = hooks
    try:
        yield
    finally:
        model.__dict__["_batch_hooks"] = prev


def _overrides(cb, name):
    fn = getattr(cb, name)
    return getattr(fn, "__func__", fn) is not getattr(Callback, name)


def _is_batch_source(x):
    from .utils import PyDataset
    return isinstance(x, PyDataset) or (hasattr(x, "__next__") and not hasattr(x, "shape"))


def _batch_source(x, y, sample_weight, batch_size, shuffle, where, steps):
    """``(x, y, sample_weight, batch_size, shuffle)`` for ``fit`` / ``evaluate``: arrays
    unchanged; a :class:`keras.utils.PyDataset` or an iterator / generator of ``(x, y)``
    or ``(x, y, sample_weight)`` batches gathered into arrays (``steps`` batches at most),
    trained in their order with the first batch's size."""
    from .utils import PyDataset
    if isinstance(x, PyDataset):
        n = len(x) if steps is None else min(int(steps), len(x))
        batches = [x[i] for i in range(n)]
        x.on_epoch_end()
    elif hasattr(x, "__next__") and not hasattr(x, "shape"):
        batches = []
        for b in x:
            batches.append(b)
            if steps is not None and len(batches) >= int(steps):
                break
    else:
        return x, y, sample_weight, batch_size, shuffle
    if y is not None:
        raise ValueError(f"{where}: y must not be given when x is a PyDataset or a "
                         "generator (the batches hold the targets)")
    if not batches:
        raise ValueError(f"{where}: the PyDataset / generator gave no batches")
    parts = [b if isinstance(b, tuple) else (b,) for b in batches]
    width = len(parts[0])
    if any(len(p) != width for p in parts) or width not in (1, 2, 3):
        raise ValueError(f"{where}: every batch must be x, (x, y) or (x, y, sample_weight)")
    cols = [_concat_leaves([p[i] for p in parts]) for i in range(width)]
    first = parts[0][0]
    while isinstance(first, (list, tuple, dict)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    size = int(np.shape(first)[0]) if np.ndim(first) else 1
    return (cols[0], cols[1] if width > 1 else None, cols[2] if width > 2 else None,
            max(size, 1), False)


def _concat_leaves(items):
    first = items[0]
    if isinstance(first, dict):
        return {k: _concat_leaves([it[k] for it in items]) for k in first}
    if isinstance(first, (list, tuple)):
        return [_concat_leaves([it[i] for it in items]) for i in range(len(first))]
    return np.concatenate([_host(v.data) if isinstance(v, Tensor) else np.asarray(v)
                           for v in items], axis=0)


def _stateful_metric(kind, name):
    """A keras.metrics object for a fast-path metric kind (for weighted_metrics)."""
    from . import metrics as km
    cls = {"mae": km.MeanAbsoluteError, "mse": km.MeanSquaredError,
           "binary_accuracy": km.BinaryAccuracy,
           "categorical_accuracy": km.CategoricalAccuracy,
           "sparse_categorical_accuracy": km.SparseCategoricalAccuracy,
           "equal": km.Accuracy}.get(kind)
    if cls is None:
        if callable(kind):
            return km.MeanMetricWrapper(kind, name=name)
        raise ValueError(f"compile: weighted metric {name!r} of kind {kind!r} is not known")
    return cls(name=name)


def _batch_size(y_pred):
    t = y_pred[0] if isinstance(y_pred, (list, tuple)) else y_pred
    return int(t.shape[0]) if getattr(t, "ndim", 0) else 1


def _flat_logs(logs) -> dict:
    """A train_step's dict as fit's logs: nested dicts merged, numbers as floats."""
    out = {}
    for k, v in dict(logs or {}).items():
        if isinstance(v, dict):
            out.update(_flat_logs(v))
            continue
        if isinstance(v, Tensor):
            v = v.numpy()
        out[k] = float(v) if np.ndim(v) == 0 else np.asarray(v)
    return out


class _CompileMetrics:
    """The compiled metrics as one Keras metric (``model.metrics[1]``): ``update_state(y,
    y_pred)`` folds a batch into every metric, ``result()`` is ``{name: value}``."""

    name = "compile_metrics"

    def __init__(self, model):
        self.model = model
        self.reset_state()

    def _specs(self):
        return list(getattr(self.model, "_metrics", None) or ())

    def reset_state(self):
        self.sums = [0.0] * len(self._specs())
        self.count = 0
        for _, spec in self._specs():
            if hasattr(spec, "reset_state"):
                spec.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        specs = self._specs()
        if not specs:
            return
        if len(self.sums) != len(specs):
            self.sums = [0.0] * len(specs)
        out = _host(y_pred.data if isinstance(y_pred, Tensor) else np.asarray(y_pred))
        y = _host(y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true))
        _metric_sums(specs, None, out, y, self.sums)
        self.count += int(out.shape[0]) if out.ndim else 1

    def result(self) -> dict:
        res = {}
        for (name, spec), s in zip(self._specs(), self.sums):
            if hasattr(spec, "result"):
                r = spec.result()
                res[name] = float(r) if np.ndim(r) == 0 else np.asarray(r)
            else:
                res[name] = float(s) / self.count if self.count else 0.0
        return res

