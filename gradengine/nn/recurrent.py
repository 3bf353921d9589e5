"""Recurrent layers with PyTorch's names, signatures and parameter layouts: :class:`RNN`,
:class:`LSTM`, :class:`GRU` and their cells :class:`RNNCell`, :class:`LSTMCell`,
:class:`GRUCell`.

Weights keep PyTorch's layout (``weight_ih_l0`` of shape (gates * hidden, input), gates
stacked i, f, g, o for the LSTM and r, z, n for the GRU), so ``load_state_dict`` of a torch
state dict works unchanged. Every step is written in Tensor ops (linear, sigmoid, tanh,
slicing, stack), so autograd, higher-order gradients and ``ge.jit`` see it like any model.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from .. import functional as F
from ..core.tensor import Tensor
from ..errors import DTypeError, ShapeError
from ..ops.creation import zeros
from . import init
from .module import Module, Parameter
from .rnn_utils import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell", "RNNBase", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _uniform_param(shape, bound, dtype, device, op):
    """A Parameter drawn from U(-bound, bound) (``ge.manual_seed``'s generator); zeros when
    ``bound`` is None."""
    dev = backend.normalize_device(device, op) if device is not None else \
        backend.get_default_device()
    dt = backend.resolve_dtype(dtype, op) if dtype is not None else backend.DEFAULT_FLOAT
    with backend.cuda_context(dev):
        arr = backend.xp_of(dev).zeros(shape, dtype=dt) if bound is None else \
            backend.rng(dev).uniform(-bound, bound, size=shape).astype(dt, copy=False)
    return Parameter(arr, device=dev)


class _InputDTypeError(DTypeError, ValueError):
    """An input whose dtype is not the weights': a DTypeError, and a ValueError as torch's."""


def _check_sizes(op, min_input, **sizes):
    """Integer sizes (TypeError otherwise, as torch), input_size >= min_input and every other
    size > 0 (ValueError)."""
    for name, v in sizes.items():
        if not isinstance(v, (int, np.integer)):
            raise TypeError(f"{op}: {name} should be of type int, got: {type(v).__name__}")
    others = [k for k in sizes if k != "input_size"]
    if sizes["input_size"] < min_input or any(sizes[k] <= 0 for k in others):
        want = ", ".join([f"input_size >= {min_input}"] + [f"{k} > 0" for k in others])
        raise ValueError(f"{op}: expected {want}, got {sizes}")


def _check_dtype(op, x, weight):
    if x.dtype != weight.dtype:
        raise _InputDTypeError(f"{op}: input dtype ({x.dtype.name}) does not match weight "
                               f"dtype ({weight.dtype.name}); convert the input with "
                               f"x.to('{weight.dtype.name}') or the module with "
                               f"module.to('{x.dtype.name}')")


def _rnn_step(gi, h, w_hh, b_hh, relu):
    """``act(gi + h W_hh^T + b_hh)``; ``gi`` holds ``x W_ih^T + b_ih``."""
    z = gi + F.linear(h, w_hh.T, b_hh)
    return z.relu() if relu else z.tanh()


def _lstm_step(gi, h, c, w_hh, b_hh, w_hr=None):
    """One LSTM step: gates i, f, g, o from ``gi + h W_hh^T + b_hh``; c' = f c + i g,
    h' = o tanh(c') (projected by ``W_hr`` when given)."""
    i, f, g, o = F.chunk(gi + F.linear(h, w_hh.T, b_hh), 4, dim=-1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if w_hr is None else F.linear(h, w_hr.T)), c


def _gru_step(gi, h, w_hh, b_hh):
    """One GRU step: r, z from the summed input and hidden parts,
    n = tanh(gi_n + r (h W_hn^T + b_hn)), h' = n + z (h - n)."""
    i_r, i_z, i_n = F.chunk(gi, 3, dim=-1)
    h_r, h_z, h_n = F.chunk(F.linear(h, w_hh.T, b_hh), 3, dim=-1)
    r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (h - n)


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence shared by RNN, LSTM and GRU."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        op = "LSTM" if mode == "LSTM" else "GRU" if mode == "GRU" else "RNN"
        _check_sizes(op, 1, input_size=input_size, hidden_size=hidden_size,
                     num_layers=num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{op}: dropout must be in [0, 1] (a number, the probability of "
                             f"an element being zeroed), got {dropout!r}")
        if not isinstance(proj_size, (int, np.integer)):
            raise TypeError(f"{op}: proj_size should be of type int, got: "
                            f"{type(proj_size).__name__}")
        if proj_size and (mode != "LSTM" or not 0 < proj_size < hidden_size):
            raise ValueError(f"{op}: proj_size must be in (0, hidden_size={hidden_size}) "
                             f"and is only for LSTM, got {proj_size}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{op}: dropout option adds dropout after all but last recurrent "
                          "layer, so non-zero dropout expects num_layers greater than 1, but "
                          f"got dropout={dropout} and num_layers={num_layers}", UserWarning,
                          stacklevel=3)
        self.mode, self._op = mode, op
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.bias = int(num_layers), bool(bias)
        self.batch_first, self.dropout = bool(batch_first), float(dropout)
        self.bidirectional, self.proj_size = bool(bidirectional), int(proj_size)
        dirs = 2 if self.bidirectional else 1
        gates = _GATES[mode] * self.hidden_size
        out = self.proj_size or self.hidden_size
        bound = 1.0 / math.sqrt(self.hidden_size)
        self._flat_weights_names = []
        for layer in range(self.num_layers):
            layer_in = self.input_size if layer == 0 else out * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [(f"weight_ih{sfx}", (gates, layer_in)),
                          (f"weight_hh{sfx}", (gates, out))]
                if self.bias:
                    shapes += [(f"bias_ih{sfx}", (gates,)), (f"bias_hh{sfx}", (gates,))]
                if self.proj_size:
                    shapes.append((f"weight_hr{sfx}", (self.proj_size, self.hidden_size)))
                for name, shape in shapes:
                    setattr(self, name, _uniform_param(shape, bound, dtype, device, op))
                    self._flat_weights_names.append(name)

    def reset_parameters(self):
        """Draw every weight and bias again from U(-1/sqrt(hidden_size),
        1/sqrt(hidden_size)), in place, as the constructor (and torch's) does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name in self._flat_weights_names:
            init.uniform_(getattr(self, name), -bound, bound)

    def flatten_parameters(self):
        """A no-op, as torch's on the CPU: the weights are used as they are (no cuDNN)."""

    @property
    def all_weights(self):
        """The parameters per (layer, direction), as PyTorch's ``all_weights``."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional
                                                                   else 1))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def _weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = self.__dict__.get
        return (get(f"weight_ih{sfx}"), get(f"weight_hh{sfx}"), get(f"bias_ih{sfx}"),
                get(f"bias_hh{sfx}"), get(f"weight_hr{sfx}"))

    def _check_hidden(self, h, name, expected, batched):
        if h.shape != expected:
            layout = "(num_layers * num_directions, batch, size)" if batched else \
                "(num_layers * num_directions, size) for unbatched input"
            raise ShapeError(f"{self._op}: {name} of shape {h.shape} does not match {layout} "
                             f"= {expected}")

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's argument name
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        x = input
        if x.ndim not in (2, 3):
            raise ShapeError(f"{self._op}: expected input of 2 (unbatched) or 3 dimensions, "
                             f"got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{self._op}: input of shape {x.shape} has {x.shape[-1]} "
                             f"features, expected input_size={self.input_size}")
        batched = x.ndim == 3
        if x.shape[1 if batched and self.batch_first else 0] == 0:
            raise ShapeError(f"{self._op}: expected sequence length to be larger than 0, got "
                             f"input of shape {x.shape}")
        _check_dtype(self._op, x, self.weight_ih_l0)
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        n, dirs = x.shape[1], 2 if self.bidirectional else 1
        out_size = self.proj_size or self.hidden_size
        h_shape = (self.num_layers * dirs, n, out_size)
        c_shape = (self.num_layers * dirs, n, self.hidden_size)
        lstm = self.mode == "LSTM"
        if lstm and hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"LSTM: hx must be a tuple (h0, c0), got {type(hx).__name__}")
        if hx is None:
            h0 = zeros(h_shape, dtype=x.dtype, device=x.device)
            c0 = zeros(c_shape, dtype=x.dtype, device=x.device) if lstm else None
        else:
            h0, c0 = hx if lstm else (hx, None)
            given = [(h0, "h0", h_shape)] + ([(c0, "c0", c_shape)] if lstm else [])
            for h, name, shape in given:
                self._check_hidden(h, name, shape if batched else (shape[0], shape[2]),
                                   batched)
            if not batched:
                h0 = h0.reshape(h_shape)
                c0 = c0.reshape(c_shape) if lstm else None
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                seq, h, c = self._direction(x, h0[k], c0[k] if lstm else None,
                                            self._weights(layer, d), reverse=bool(d))
                outs.append(seq)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if dirs == 1 else F.concatenate(outs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, p=self.dropout, training=True)
        h_n = F.stack(h_n, axis=0)
        c_n = F.stack(c_n, axis=0) if lstm else None
        if not batched:
            x = x.reshape(x.shape[0], x.shape[2])
            h_n = h_n.reshape(h_n.shape[0], h_n.shape[2])
            c_n = c_n.reshape(c_n.shape[0], c_n.shape[2]) if lstm else None
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        return (x, (h_n, c_n)) if lstm else (x, h_n)

    def _direction(self, x, h, c, weights, reverse, masks=None):
        """Run one direction of one layer over x (L, N, in): (outputs, h_last, c_last).
        ``masks[t]`` (N, 1), for packed input: which sequences are running at step t (the
        state of the others is carried unchanged, so h_last is each one's last step)."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        gi = F.linear(x, w_ih.T, b_ih)  # every step's input part in one matmul
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outs = [None] * x.shape[0]
        for t in steps:
            h_old, c_old = h, c
            if self.mode == "LSTM":
                h, c = _lstm_step(gi[t], h, c, w_hh, b_hh, w_hr)
            elif self.mode == "GRU":
                h = _gru_step(gi[t], h, w_hh, b_hh)
            else:
                h = _rnn_step(gi[t], h, w_hh, b_hh, self.mode == "RNN_RELU")
            if masks is not None and masks[t] is not None:
                h = F.where(masks[t], h, h_old)
                c = F.where(masks[t], c, c_old) if c is not None else None
            outs[t] = h
        return F.stack(outs, axis=0), h, c

    def _forward_packed(self, packed, hx):
        """A PackedSequence in, a PackedSequence out (PyTorch's batch order rules: hx and
        the final states in the caller's order, the data in the packed order)."""
        padded, _ = pad_packed_sequence(PackedSequence(packed.data, packed.batch_sizes))
        x = padded
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ShapeError(f"{self._op}: packed data of shape {packed.data.shape} does not "
                             f"have input_size={self.input_size} features")
        _check_dtype(self._op, x, self.weight_ih_l0)
        bs = packed.batch_sizes.numpy().astype("int64")
        n, dirs, lstm = x.shape[1], 2 if self.bidirectional else 1, self.mode == "LSTM"
        lengths = (bs[None, :] > np.arange(n)[:, None]).sum(axis=1)
        masks = [None if bs[t] == n else
                 Tensor((np.arange(n) < bs[t]).reshape(n, 1), device=x.device)
                 for t in range(x.shape[0])]
        h_shape = (self.num_layers * dirs, n, self.proj_size or self.hidden_size)
        c_shape = (self.num_layers * dirs, n, self.hidden_size)
        sort, unsort = packed.sorted_indices, packed.unsorted_indices
        if hx is None:
            h0 = zeros(h_shape, dtype=x.dtype, device=x.device)
            c0 = zeros(c_shape, dtype=x.dtype, device=x.device) if lstm else None
        else:
            if lstm and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                raise TypeError(f"LSTM: hx must be a tuple (h0, c0), got {type(hx).__name__}")
            h0, c0 = hx if lstm else (hx, None)
            self._check_hidden(h0, "h0", h_shape, True)
            if lstm:
                self._check_hidden(c0, "c0", c_shape, True)
            if sort is not None:
                idx = Tensor(sort.numpy(), device=x.device)
                h0 = F.index_select(h0, 1, idx)
                c0 = F.index_select(c0, 1, idx) if lstm else None
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                seq, h, c = self._direction(x, h0[k], c0[k] if lstm else None,
                                            self._weights(layer, d), bool(d), masks)
                outs.append(seq)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if dirs == 1 else F.concatenate(outs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, p=self.dropout, training=True)
        h_n = F.stack(h_n, axis=0)
        c_n = F.stack(c_n, axis=0) if lstm else None
        if unsort is not None:
            idx = Tensor(unsort.numpy(), device=x.device)
            h_n = F.index_select(h_n, 1, idx)
            c_n = F.index_select(c_n, 1, idx) if lstm else None
        data = pack_padded_sequence(x, lengths).data
        out = PackedSequence(data, packed.batch_sizes, sort, unsort)
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class RNN(RNNBase):
    """Elman RNN, ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, as
    ``torch.nn.RNN``.

    Args:
        input_size, hidden_size: feature sizes. num_layers: stacked layers.
        nonlinearity: "tanh" or "relu". bias: use b_ih and b_hh.
        batch_first: input and output as (N, L, H) instead of (L, N, H).
        dropout: dropout on every layer's output but the last, while training.
        bidirectional: also run the sequence backwards and concatenate.
    Returns:
        ``forward(input, h0=None)`` gives ``(output, h_n)``: output (L, N, D * hidden),
        h_n (D * num_layers, N, hidden); unbatched input (L, H_in) drops the N axis.
    Raises:
        ShapeError: an input or h0 of the wrong shape. ValueError: a bad argument.
    Example:
        >>> rnn = nn.RNN(10, 20, 2); output, h_n = rnn(ge.randn(5, 3, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; use 'tanh' or "
                             "'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory, as ``torch.nn.LSTM`` (gates i, f, g, o stacked in that
    order in ``weight_ih_l{k}`` (4 * hidden, input)).

    Args:
        As :class:`RNN` (no nonlinearity), plus proj_size: when > 0, h is projected to
        that size by ``weight_hr_l{k}`` (proj_size, hidden).
    Returns:
        ``forward(input, (h0, c0)=None)`` gives ``(output, (h_n, c_n))``.
    Raises:
        ShapeError: an input, h0 or c0 of the wrong shape. TypeError: hx not a pair.
    Example:
        >>> lstm = nn.LSTM(10, 20, batch_first=True); out, (h, c) = lstm(ge.randn(3, 5, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit, as ``torch.nn.GRU`` (gates r, z, n stacked in that order in
    ``weight_ih_l{k}`` (3 * hidden, input); n = tanh(W_in x + b_in + r (W_hn h + b_hn))).

    Args, Returns, Raises: as :class:`RNN` (no nonlinearity).
    Example:
        >>> gru = nn.GRU(10, 20, bidirectional=True); out, h_n = gru(ge.randn(5, 3, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


class RNNCellBase(Module):
    """The base of RNNCell, LSTMCell and GRUCell, as ``torch.nn.RNNCellBase``: the weights
    ``weight_ih`` (num_chunks * hidden, input), ``weight_hh`` and the biases."""

    gates = 1

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.gates = int(num_chunks)
        op = type(self).__name__
        _check_sizes(op, 0, input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), \
            bool(bias)
        g, bound = self.gates * self.hidden_size, 1.0 / math.sqrt(self.hidden_size)
        self.weight_ih = _uniform_param((g, self.input_size), bound, dtype, device, op)
        self.weight_hh = _uniform_param((g, self.hidden_size), bound, dtype, device, op)
        self.bias_ih = _uniform_param((g,), bound, dtype, device, op) if bias else None
        self.bias_hh = _uniform_param((g,), bound, dtype, device, op) if bias else None

    def reset_parameters(self):
        """Draw the weights and biases again from U(-1/sqrt(hidden_size),
        1/sqrt(hidden_size)), in place, as the constructor does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            if p is not None:
                init.uniform_(p, -bound, bound)

    def _prepare(self, x, states):
        """(x as (N, in), states as (N, hidden) or zeros, batched?) after the checks."""
        op = type(self).__name__
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{op}: input of shape {x.shape} must be (batch, input_size) or "
                             f"(input_size,) with input_size={self.input_size}")
        _check_dtype(op, x, self.weight_ih)
        batched = x.ndim == 2
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        out = []
        for name, h in states:
            if h is None:
                h = zeros(expected, dtype=x.dtype, device=x.device)
            elif h.shape != expected:
                raise ShapeError(f"{op}: {name} of shape {h.shape} does not match input of "
                                 f"shape {x.shape}; expected {expected}")
            out.append(h if batched else h.reshape(1, self.hidden_size))
        return (x if batched else x.reshape(1, self.input_size)), out, batched

    def _input_part(self, x):
        return F.linear(x, self.weight_ih.T, self.bias_ih)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """One Elman RNN step, as ``torch.nn.RNNCell``: ``h' = act(x W_ih^T + b_ih + h W_hh^T
    + b_hh)``.

    Args:
        input_size, hidden_size: sizes. bias: use the biases. nonlinearity: "tanh" | "relu".
    Returns:
        ``forward(input, hx=None)``: h' (N, hidden), or (hidden,) for an unbatched input.
    Raises:
        ShapeError: an input or hx of the wrong shape.
    Example:
        >>> cell = nn.RNNCell(10, 20); h = cell(ge.randn(3, 10))
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; use 'tanh' or "
                             "'relu'")
        super().__init__(input_size, hidden_size, bias, self.gates, device, dtype)
        self.nonlinearity = nonlinearity

    def extra_repr(self):
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity}"

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), batched = self._prepare(input, [("hx", hx)])
        h = _rnn_step(self._input_part(x), h, self.weight_hh, self.bias_hh,
                      self.nonlinearity == "relu")
        return h if batched else h.reshape(self.hidden_size)


class LSTMCell(RNNCellBase):
    """One LSTM step, as ``torch.nn.LSTMCell``; weights (4 * hidden, ...), gates i, f, g, o.

    Returns:
        ``forward(input, (h, c)=None)``: the pair ``(h', c')``.
    Raises:
        ShapeError: an input, h or c of the wrong shape.
    Example:
        >>> cell = nn.LSTMCell(10, 20); h, c = cell(ge.randn(3, 10))
    """

    gates = 4

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, self.gates, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        x, (h, c), batched = self._prepare(input, [("h", h0), ("c", c0)])
        h, c = _lstm_step(self._input_part(x), h, c, self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.reshape(self.hidden_size), c.reshape(self.hidden_size))


class GRUCell(RNNCellBase):
    """One GRU step, as ``torch.nn.GRUCell``; weights (3 * hidden, ...), gates r, z, n.

    Returns:
        ``forward(input, hx=None)``: h'.
    Raises:
        ShapeError: an input or hx of the wrong shape.
    Example:
        >>> cell = nn.GRUCell(10, 20); h = cell(ge.randn(3, 10))
    """

    gates = 3

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, self.gates, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), batched = self._prepare(input, [("hx", hx)])
        h = _gru_step(self._input_part(x), h, self.weight_hh, self.bias_hh)
        return h if batched else h.reshape(self.hidden_size)
