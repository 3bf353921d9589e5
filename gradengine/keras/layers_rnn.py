"""Keras 3's recurrent layers and wrappers: SimpleRNN, LSTM and GRU (their cells, and
``RNN`` over any cell or list of cells), ``Bidirectional``, ``TimeDistributed``.

Weights have Keras' names, shapes, gate order and initializers, so
``set_weights(keras_layer.get_weights())`` loads a Keras model's weights: ``kernel``
(features, gates * units) Glorot-uniform, ``recurrent_kernel`` (units, gates * units)
orthogonal, ``bias`` zeros (LSTM: the forget gate's at one; GRU with ``reset_after``: two
rows, the input's and the recurrent's). Gate order: LSTM i, f, c, o; GRU z, r, h.
The time loop is Python over Tensor ops, so gradients of every order come from the engine.
Re-exported by :mod:`gradengine.keras.layers`.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..errors import ShapeError
from ..nn import _keras_init, _keras_regularizers
from ..nn.layers import _module_device
from ..nn.module import Module
from . import masking
from .layer_base import Layer
from .layers_common import (
    _activation,
    _Base,
    _data_format,
    _from_first,
    _init,
    _pad_spatial,
    _padding,
    _random,
    _same_pads,
    _to_first,
    _tuple,
)
from .layers_conv import _conv

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "Bidirectional", "ConvLSTM1D",
           "ConvLSTM2D", "ConvLSTM3D", "SimpleRNN", "SimpleRNNCell", "StackedRNNCells",
           "TimeDistributed", "Wrapper", "deserialize", "serialize"]


# every layer class by Keras name, to rebuild nested layers from a config: filled by
# gradengine.keras.layers, which holds them all
LAYER_REGISTRY = {}


def _serialize(layer):
    cfg = layer.get_config()
    cfg.pop("device", None)
    return {"class_name": type(layer).__name__, "config": cfg}


def _deserialize(entry):
    if not (isinstance(entry, dict) and "class_name" in entry):
        return entry
    cls = LAYER_REGISTRY.get(entry["class_name"])
    if cls is None:
        from ..nn import layers as nn_layers
        cls = getattr(nn_layers, entry["class_name"], None)
    if cls is None:
        raise ValueError(f"from_config: unknown layer class {entry['class_name']!r}")
    return cls.from_config(dict(entry["config"]))


def serialize(layer):
    """A layer's JSON form, as ``keras.layers.serialize``: ``{"module", "class_name",
    "config"}`` (nested layers in the same form)."""
    entry = _serialize(layer)
    return {"module": "keras.layers", **entry}


def deserialize(config, custom_objects=None):
    """The layer :func:`serialize` wrote (``custom_objects``: extra classes by name)."""
    if custom_objects and config.get("class_name") in custom_objects:
        return custom_objects[config["class_name"]].from_config(dict(config["config"]))
    return _deserialize(config)


class _Nested:
    """get_config / from_config for layers holding layers (``_NESTED`` names the
    arguments): the inner layers written as ``{"class_name", "config"}``, as Keras."""

    _NESTED = ()

    def get_config(self):
        cfg = super().get_config()
        for k in self._NESTED:
            v = cfg.get(k)
            if isinstance(v, Module):
                cfg[k] = _serialize(v)
            elif isinstance(v, (list, tuple)):
                cfg[k] = [_serialize(c) if isinstance(c, Module) else c for c in v]
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for k in cls._NESTED:
            if k not in config:
                continue
            v = config[k]
            config[k] = [_deserialize(c) for c in v] if isinstance(v, list) else \
                _deserialize(v)
        return cls(**config)


def _zeros(like, shape):
    xp = backend.xp_of(like.device)
    with backend.cuda_context(like.device):
        return Tensor._make(xp.zeros(shape, dtype=like.dtype), like.device)


class _Cell(_Base):
    """Base of the cells: ``cell(inputs, states)`` -> ``(output, new_states)``."""

    gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"{type(self).__name__}: units must be positive, got {units}")
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self._act = _activation(activation)
        self._rec_act = _activation(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = _keras_regularizers.get(kernel_regularizer)
        self.recurrent_kernel_regularizer = _keras_regularizers.get(recurrent_regularizer)
        self.bias_regularizer = _keras_regularizers.get(bias_regularizer)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.kernel = self.recurrent_kernel = self.bias = None
        self._maybe_build()

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _bias_init(self):
        return self.bias_initializer

    def _bias_shape(self):
        return (self.gates * self.units,)

    def build(self, input_shape):
        g, u = self.gates, self.units
        self._weight(_init(self.kernel_initializer), (int(input_shape[-1]), g * u), "kernel")
        self._weight(_init(self.recurrent_initializer), (u, g * u), "recurrent_kernel")
        if self.use_bias:
            self._weight(self._bias_init(), self._bias_shape(), "bias")

    def _initial(self, x):
        n = x.shape[0]
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [_zeros(x, (n, s)) for s in sizes]

    def _masks(self, x, h, training):
        """The dropout masks of one sequence (Keras draws them once per call)."""
        def mask(rate, like_shape):
            if not training or not 0 < rate < 1:
                return None
            keep = (_random(self, "uniform", like_shape) >= rate).astype(x.dtype)
            return keep * (1.0 / (1.0 - rate))
        return mask(self.dropout, x.shape), mask(self.recurrent_dropout, h.shape)

    def forward(self, inputs, states=None, training=None):
        states = self._initial(inputs) if states is None else (
            list(states) if isinstance(states, (list, tuple)) else [states])
        dp, rdp = self._masks(inputs, states[0], self.training if training is None else
                              training)
        out, new = self._step(inputs, states, dp, rdp)
        return out, (new if isinstance(self.state_size, list) else new[0])


class SimpleRNNCell(_Cell):
    """``h = activation(x . kernel + h_prev . recurrent_kernel + bias)``."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(units, activation, None, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)

    def _step(self, x, states, dp, rdp):
        h = states[0]
        if dp is not None:
            x = x * dp
        z = F.matmul(x, self.kernel)
        if self.bias is not None:
            z = z + self.bias
        if rdp is not None:
            h = h * rdp
        out = self._act(z + F.matmul(h, self.recurrent_kernel))
        return out, [out]


class LSTMCell(_Cell):
    """The LSTM step: gates i, f, c, o of ``x . kernel + h . recurrent_kernel + bias``;
    ``c = f * c_prev + i * activation(c~)``, ``h = o * activation(c)``; states [h, c]."""

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        self.unit_forget_bias = bool(unit_forget_bias)
        super().__init__(units, activation, recurrent_activation, use_bias,
                         kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         **kwargs)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = _keras_init.get(self.bias_initializer), self.units

        def init(shape, dtype=None, device=None):
            xp = backend.xp_of(device or backend.get_default_device())
            ones = _keras_init.Ones()((u,), dtype, device)
            return xp.concatenate([base((u,), dtype, device), ones,
                                   base((2 * u,), dtype, device)])
        return init

    def _step(self, x, states, dp, rdp):
        h, c = states
        if dp is not None:
            x = x * dp
        if rdp is not None:
            h = h * rdp
        z = F.matmul(x, self.kernel) + F.matmul(h, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        u = self.units
        i = self._rec_act(z[:, :u])
        f = self._rec_act(z[:, u:2 * u])
        c = f * c + i * self._act(z[:, 2 * u:3 * u])
        o = self._rec_act(z[:, 3 * u:])
        h = o * self._act(c)
        return h, [h, c]


class GRUCell(_Cell):
    """The GRU step: gates z, r, h; with ``reset_after`` (the default, as Keras and cuDNN)
    the reset gate multiplies the recurrent projection, and the bias has two rows (input,
    recurrent); ``h = z * h_prev + (1 - z) * h~``."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, reset_after=True, seed=None, **kwargs):
        self.reset_after = bool(reset_after)
        super().__init__(units, activation, recurrent_activation, use_bias,
                         kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         **kwargs)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _step(self, x, states, dp, rdp):
        h = states[0]
        u = self.units
        if dp is not None:
            x = x * dp
        hr = h * rdp if rdp is not None else h
        mx = F.matmul(x, self.kernel)
        if self.bias is not None:
            mx = mx + (self.bias[0] if self.reset_after else self.bias)
        if self.reset_after:
            mh = F.matmul(hr, self.recurrent_kernel)
            if self.bias is not None:
                mh = mh + self.bias[1]
            z = self._rec_act(mx[:, :u] + mh[:, :u])
            r = self._rec_act(mx[:, u:2 * u] + mh[:, u:2 * u])
            hh = self._act(mx[:, 2 * u:] + r * mh[:, 2 * u:])
        else:
            mh = F.matmul(hr, self.recurrent_kernel[:, :2 * u])
            z = self._rec_act(mx[:, :u] + mh[:, :u])
            r = self._rec_act(mx[:, u:2 * u] + mh[:, u:2 * u])
            hh = self._act(mx[:, 2 * u:] + F.matmul(r * hr, self.recurrent_kernel[:, 2 * u:]))
        out = z * h + (1 - z) * hh
        return out, [out]


class StackedRNNCells(_Nested, _Base):
    """Cells run one above the other in each step; the states are the cells' in order."""

    _NESTED = ("cells",)

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        self.cells = list(cells)
        for i, c in enumerate(self.cells):
            setattr(self, f"cell_{i}", c)

    @property
    def state_size(self):
        out = []
        for c in self.cells:
            out += c.state_size if isinstance(c.state_size, list) else [c.state_size]
        return out

    @property
    def output_size(self):
        return self.cells[-1].output_size

    def build(self, input_shape):
        size = int(input_shape[-1])
        for c in self.cells:
            if not c.built:
                c.build((None, size))
                object.__setattr__(c, "_built", True)
            size = c.output_size

    def _initial(self, x):
        return [s for c in self.cells for s in c._initial(_zeros(x, (x.shape[0], 1)))]

    def _masks(self, x, h, training):
        return None, None

    def _step(self, x, states, dp, rdp):
        new, k = [], 0
        for c in self.cells:
            n = len(c.state_size) if isinstance(c.state_size, list) else 1
            d, r = c._masks(x, states[k], c.training)
            x, s = c._step(x, states[k:k + n], d, r)
            new += s
            k += n
        return x, new


class RNN(_Nested, _Base):
    """A cell (or a list of cells, stacked) run over the time axis of (batch, time,
    features) input: ``layer(x, initial_state=None, mask=None, training=None)``.

    ``return_sequences`` gives every step's output (batch, time, units), else the last;
    ``return_state`` adds the final states (``[output, *states]``); ``go_backwards`` runs
    the sequence backwards (the sequence output stays in that order, as Keras). A ``mask``
    (batch, time) of booleans keeps the states and repeats the last output at the masked
    steps, as Keras."""

    _NESTED = ("cell",)
    _input_rank = 3

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        kwargs.pop("time_major", None)
        kwargs.pop("use_cudnn", None)
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not isinstance(cell, Module) or not hasattr(cell, "_step"):
            raise TypeError(f"RNN: cell must be a gradengine.keras cell (SimpleRNNCell, "
                            f"LSTMCell, GRUCell or a list of them), got {type(cell).__name__}")
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.unroll = bool(go_backwards), bool(unroll)
        # -- kmask: stateful=True keeps the last states for the next call (reset_state)
        self.stateful = bool(stateful)
        object.__setattr__(self, "_states", None)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._maybe_build()

    @property
    def units(self):
        return self.cell.units

    # -- kmask: stateful RNNs, as Keras' (the states are not weights)
    @property
    def states(self):
        """The states a stateful layer carries to its next call (None before the first
        call, and for a layer that is not stateful)."""
        return self.__dict__.get("_states")

    def reset_state(self):
        """Set a stateful layer's states to zeros (Keras' ``reset_state``)."""
        st = self.__dict__.get("_states")
        if st is not None:  # zeros on the layer's device (after a model.to(), there)
            dev = _module_device(self)
            xp = backend.xp_of(dev)
            with backend.cuda_context(dev):
                object.__setattr__(self, "_states", [
                    Tensor._make(xp.zeros(s.shape, dtype=s.dtype), dev) for s in st])

    def reset_states(self):
        """The alias of :meth:`reset_state`, as Keras."""
        self.reset_state()

    def _carried_states(self, x):
        st = self.__dict__.get("_states")
        if st is None:
            return None
        if st[0].shape[0] != x.shape[0]:
            raise ValueError(f"If an RNN is stateful, the batch size of the input sequences "
                             f"must be the same as the batch size of the initial state. \n"
                             f"- Expected batch size: {st[0].shape[0]}\n"
                             f"- Received batch size: {x.shape[0]}")
        return list(st)

    # -- kmask: Keras' RNN.compute_mask: the sequence output keeps the input's mask
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            n = len(self.cell.state_size) if isinstance(self.cell.state_size, list) else 1
            return [out] + [None] * n
        return out

    def build(self, input_shape):
        if len(input_shape) != self._input_rank:
            raise ShapeError(f"{type(self).__name__}: expected inputs of rank "
                             f"{self._input_rank} (batch, time, ...), got shape "
                             f"{tuple(input_shape)}")
        if not self.cell.built:
            self.cell.build((None,) + tuple(int(d) for d in input_shape[2:]))
            object.__setattr__(self.cell, "_built", True)

    def forward(self, x, initial_state=None, mask=None):
        name = type(self).__name__
        if x.ndim != self._input_rank:
            raise ShapeError(f"{name}: expected inputs of rank {self._input_rank} (batch, "
                             f"time, ...), got shape {tuple(x.shape)}")
        cell = self.cell
        if initial_state is None and self.stateful:  # -- kmask
            initial_state = self._carried_states(x)
        if initial_state is None:
            states = cell._initial(x[:, 0])
        else:
            states = [self._float_input(s) for s in (
                initial_state if isinstance(initial_state, (list, tuple)) else
                [initial_state])]
            want = [tuple(s.shape) for s in cell._initial(x[:, 0])]
            if [tuple(s.shape) for s in states] != want:
                raise ShapeError(f"{name}: initial_state of shapes "
                                 f"{[tuple(s.shape) for s in states]} does not fit states "
                                 f"{want}")
        steps = range(x.shape[1] - 1, -1, -1) if self.go_backwards else range(x.shape[1])
        if mask is not None:
            mask = mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask),
                                                                device=x.device)
            mask = mask.astype(x.dtype)
        dp, rdp = cell._masks(x[:, 0], states[0], self.training)
        outputs, prev = [], None
        for t in steps:
            out, new = cell._step(x[:, t], states, dp, rdp)
            if mask is not None:
                m = mask[:, t].reshape(-1, *([1] * (out.ndim - 1)))
                new = [m * n + (1 - m) * s for n, s in zip(new, states)]
                last = prev if prev is not None else out * 0.0
                out = m * out + (1 - m) * (out * 0.0 if self.zero_output_for_mask else last)
            states, prev = new, out
            outputs.append(out)
        if self.stateful and not masking.is_probing():  # -- kmask: no gradient flows into
            # the next batch, as Keras
            object.__setattr__(self, "_states", [s.detach() for s in states])
        result = F.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [result] + list(states) if self.return_state else result


class _RNNLayer(RNN):
    """SimpleRNN / LSTM / GRU: an RNN over the cell made from the same arguments; the
    cell's weights read through (``layer.kernel``...)."""

    @property
    def kernel(self):
        return self.cell.kernel

    @property
    def recurrent_kernel(self):
        return self.cell.recurrent_kernel

    @property
    def bias(self):
        return self.cell.bias

    def get_config(self):
        """The constructor's arguments and, as Keras' RNN, ``zero_output_for_mask``."""
        return {**super().get_config(), "zero_output_for_mask": self.zero_output_for_mask}


_CELL_ARGS = ("use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "dropout",
              "recurrent_dropout", "seed")


def _rnn(layer, cell, args, kwargs):
    # -- kssuite: Keras' implementation=1|2 (the same numbers either way), accepted
    object.__setattr__(layer, "implementation", kwargs.pop("implementation", 2))
    if kwargs.get("dtype") is not None and "_dtype" not in cell.__dict__:
        # the cell's weights in the layer's dtype, as Keras (matmul does not promote)
        object.__setattr__(cell, "_dtype", backend.resolve_dtype(kwargs["dtype"], "layer"))
    RNN.__init__(layer, cell, return_sequences=args["return_sequences"],
                 return_state=args["return_state"], go_backwards=args["go_backwards"],
                 stateful=args["stateful"], unroll=args["unroll"],
                 activity_regularizer=args["activity_regularizer"], **kwargs)


class SimpleRNN(_RNNLayer):
    """A fully connected RNN, ``h = activation(x . kernel + h_prev . recurrent_kernel +
    bias)``; weights kernel, recurrent_kernel, bias."""

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        args = locals()
        cell = SimpleRNNCell(units, activation, **{k: args[k] for k in _CELL_ARGS})
        _rnn(self, cell, args, kwargs)


class LSTM(_RNNLayer):
    """Long short-term memory (gates i, f, c, o); with ``return_state`` the outputs are
    ``[output, h, c]``."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        args = locals()
        cell = LSTMCell(units, activation, recurrent_activation,
                        unit_forget_bias=unit_forget_bias, **{k: args[k] for k in _CELL_ARGS})
        _rnn(self, cell, args, kwargs)


class GRU(_RNNLayer):
    """Gated recurrent unit (gates z, r, h); weights kernel (features, 3 units),
    recurrent_kernel (units, 3 units), bias (2, 3 units) with ``reset_after``."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        args = locals()
        cell = GRUCell(units, activation, recurrent_activation, reset_after=reset_after,
                       **{k: args[k] for k in _CELL_ARGS})
        _rnn(self, cell, args, kwargs)


class _ConvLSTMCell(LSTMCell):
    """The ConvLSTM step: LSTMCell's gates with convolutions in place of the products;
    kernel (k..., in, 4 filters), recurrent_kernel (k..., filters, 4 filters) applied with
    "same" padding and stride 1, bias (4 filters,)."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, **kwargs):
        name = f"ConvLSTM{rank}D"
        self.rank = int(rank)
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, rank, "kernel_size", name)
        self.strides = _tuple(strides, rank, "strides", name)
        self.dilation_rate = _tuple(dilation_rate, rank, "dilation_rate", name)
        self.padding = _padding(padding, name)
        self.data_format = _data_format(data_format, name)
        super().__init__(filters, **kwargs)

    def build(self, input_shape):
        c = int(input_shape[1 if self.data_format == "channels_first" else -1])
        f, k = self.filters, self.kernel_size
        self._weight(_init(self.kernel_initializer), k + (c, 4 * f), "kernel")
        self._weight(_init(self.recurrent_initializer), k + (f, 4 * f), "recurrent_kernel")
        if self.use_bias:
            self._weight(self._bias_init(), (4 * f,), "bias")

    def _out_sizes(self, sizes):
        out = []
        for n, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate):
            out.append(-(-n // s) if self.padding == "same" else (n - (k - 1) * d - 1) // s + 1)
        return tuple(out)

    def _initial(self, x):
        first = self.data_format == "channels_first"
        sizes = self._out_sizes(x.shape[2:] if first else x.shape[1:-1])
        shape = (x.shape[0], self.filters) + sizes if first else \
            (x.shape[0],) + sizes + (self.filters,)
        return [_zeros(x, shape), _zeros(x, shape)]

    def _torch(self, w):
        r = self.rank
        return w.transpose(r + 1, r, *range(r))

    def _step(self, x, states, dp, rdp):
        h, c = states
        if dp is not None:
            x = x * dp
        if rdp is not None:
            h = h * rdp
        fmt, r, f = self.data_format, self.rank, self.filters
        xt, ht = _to_first(x, fmt), _to_first(h, fmt)
        if self.padding == "same":
            xt = _pad_spatial(xt, [_same_pads(n, k, s, d) for n, k, s, d in zip(
                xt.shape[2:], self.kernel_size, self.strides, self.dilation_rate)])
        ht = _pad_spatial(ht, [_same_pads(n, k, 1) for n, k in zip(ht.shape[2:],
                                                                    self.kernel_size)])
        z = _conv(xt, self._torch(self.kernel), self.strides, self.dilation_rate, 1) + \
            _conv(ht, self._torch(self.recurrent_kernel), (1,) * r, (1,) * r, 1)
        if self.bias is not None:
            z = z + self.bias.reshape(-1, *([1] * r))
        i = self._rec_act(z[:, :f])
        fg = self._rec_act(z[:, f:2 * f])
        c = fg * _to_first(c, fmt) + i * self._act(z[:, 2 * f:3 * f])
        o = self._rec_act(z[:, 3 * f:])
        h = _from_first(o * self._act(c), fmt)
        c = _from_first(c, fmt)
        return h, [h, c]


class _ConvLSTM(RNN):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, **kwargs):
        cell = _ConvLSTMCell(self.rank, filters, kernel_size, strides, padding, data_format,
                             dilation_rate, activation=activation,
                             recurrent_activation=recurrent_activation, use_bias=use_bias,
                             kernel_initializer=kernel_initializer,
                             recurrent_initializer=recurrent_initializer,
                             bias_initializer=bias_initializer,
                             unit_forget_bias=unit_forget_bias,
                             kernel_regularizer=kernel_regularizer,
                             recurrent_regularizer=recurrent_regularizer,
                             bias_regularizer=bias_regularizer, dropout=dropout,
                             recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful,
                         activity_regularizer=activity_regularizer, **kwargs)

    @property
    def _input_rank(self):
        return self.rank + 3

    @property
    def filters(self):
        return self.cell.filters


class ConvLSTM1D(_ConvLSTM):
    """Convolutional LSTM over (batch, time, steps, channels) input."""

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """Convolutional LSTM over (batch, time, H, W, channels) input: the LSTM's products
    replaced by 2-D convolutions; outputs (batch, [time,] H', W', filters)."""

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """Convolutional LSTM over (batch, time, D, H, W, channels) input."""

    rank = 3


class Wrapper(_Nested, _Base):
    """Base of the layers that wrap one layer (``self.layer``)."""

    _NESTED = ("layer", "backward_layer")

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Module):
            raise TypeError(f"{type(self).__name__}: expected a layer, got "
                            f"{type(layer).__name__}")
        self.layer = layer

    def _prepare(self, x):
        return self.layer._prepare(x) if isinstance(self.layer, Layer) else \
            self._float_input(x)


class TimeDistributed(Wrapper):
    """The wrapped layer applied to every time step of (batch, time, ...) input (the steps
    folded into the batch)."""

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        object.__setattr__(self, "_built", True)

    def forward(self, x, mask=None):
        if x.ndim < 3:
            raise ShapeError(f"TimeDistributed: expected inputs (batch, time, ...), got shape "
                             f"{tuple(x.shape)}")
        b, t = x.shape[0], x.shape[1]
        y = self.layer(x.reshape(b * t, *x.shape[2:]))
        return y.reshape(b, t, *y.shape[1:])


_MERGES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Wrapper):
    """An RNN run forwards and a copy run backwards, their outputs merged (``merge_mode``
    "concat", "sum", "mul", "ave", or None for the list); weights: the forward layer's,
    then the backward one's, as Keras."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        super().__init__(layer, **kwargs)
        if not isinstance(layer, RNN):
            raise TypeError(f"Bidirectional: expected an RNN layer, got {type(layer).__name__}")
        if merge_mode not in _MERGES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {_MERGES}, got "
                             f"{merge_mode!r}")
        self.merge_mode = merge_mode
        if backward_layer is None:
            cfg = layer.get_config()
            cfg["go_backwards"] = not layer.go_backwards
            cfg.pop("name", None)
            backward_layer = type(layer).from_config(cfg)
        self.forward_layer, self.backward_layer = layer, backward_layer
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        for lay in (layer, backward_layer):  # -- kmask: as Keras, masked steps output 0
            lay.zero_output_for_mask = lay.return_sequences
        self._maybe_build()
        if weights is not None:
            self.set_weights(weights)

    def _prepare(self, x):
        return self._float_input(x)

    def build(self, input_shape):
        for lay in (self.forward_layer, self.backward_layer):
            if not lay.built:
                lay.build(input_shape)
                object.__setattr__(lay, "_built", True)

    # -- kmask: Keras' Bidirectional masks and states
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        if self.return_sequences:
            out = [mask, mask] if not self.merge_mode else mask
        else:
            out = [None, None] if not self.merge_mode else None
        if self.return_state:
            n = 2 * len(self.forward_layer.states or ())
            return (out if isinstance(out, list) else [out]) + [None] * n
        return out

    @property
    def states(self):
        f, b = self.forward_layer.states, self.backward_layer.states
        return None if f is None else list(f) + list(b or ())

    def reset_state(self):
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self):
        self.reset_state()

    def forward(self, x, initial_state=None, mask=None):
        fs = bs = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fs, bs = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(x, initial_state=fs, mask=mask)
        y_rev = self.backward_layer(x, initial_state=bs, mask=mask)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = F.flip(y_rev, 1)
        if self.merge_mode == "concat":
            out = F.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) * 0.5
        elif self.merge_mode == "mul":
            out = y * y_rev
        else:
            out = [y, y_rev]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

