"""The :class:`Sequential` container: layers applied in order, with the Keras training loop
of :class:`gradengine.keras.KerasModel` (compile / fit / evaluate / predict)."""

from __future__ import annotations

from ..keras.model import KerasModel
from .layers import Dense, Linear, ReLU, Sigmoid, Softmax, Tanh
from .module import Module

__all__ = ["Sequential"]


class Sequential(KerasModel, Module):
    """Layers applied in order; a Module with the Keras training loop.

    Iterable and indexable (``model[0]``, ``model[1:]``), ``len(model)``, ``model.layers``
    is the list; :meth:`add` appends. See :class:`gradengine.keras.KerasModel` for
    ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

    Example:
        >>> model = nn.Sequential(nn.Linear(2, 8, activation="tanh"), nn.Linear(8, 1))
    """

    def __init__(self, *layers):
        Module.__init__(self)
        object.__setattr__(self, "layers", [])
        KerasModel.__init__(self)
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            self.add(layer)

    def add(self, layer):
        """Append a layer (any Module)."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.add: expected a Module (layer), got "
                            f"{type(layer).__name__}")
        if isinstance(layer, Dense) and not layer.built and self.layers:
            # As in Keras: when the width feeding the new layer is known, build it now, so
            # that model.parameters() (and an optimizer made from it) is complete at once.
            width, ref = self._output_width()
            if width is not None:
                layer.build(width, device=ref.device, dtype=ref.dtype)
        setattr(self, str(len(self.layers)), layer)
        self.layers.append(layer)
        self._invalidate()
        return self

    def _output_width(self):
        """(last-axis size of the model's output, a parameter to copy device and dtype
        from), or (None, None) when it cannot be known before a call."""
        for layer in reversed(self.layers):
            if isinstance(layer, Dense):
                return (layer.units, layer.weight) if layer.built else (None, None)
            if isinstance(layer, Linear):
                return layer.out_features, layer.weight
            if not isinstance(layer, (Sigmoid, ReLU, Tanh, Softmax)):
                return None, None
        return None, None

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def split_activation(self):
        """``(forward_to_logits, activation)`` when the last layer ends in a sigmoid or a
        softmax over the last axis, else ``(None, None)``; used to compute the
        cross-entropies from logits."""
        if not self.layers:
            return None, None
        last = self.layers[-1]
        body = [layer.forward for layer in self.layers[:-1]]
        act = None
        head = None
        if isinstance(last, (Dense, Linear)) and last.activation in ("sigmoid", "softmax"):
            act, head = last.activation, last.pre_activation
        elif isinstance(last, Sigmoid):
            act = "sigmoid"
        elif isinstance(last, Softmax) and last.axis in (-1,):
            act = "softmax"
        if act is None:
            return None, None
        if head is not None:
            body.append(head)

        def logits(x):
            for f in body:
                x = f(x)
            return x
        return logits, act

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(*self.layers[idx])
        return self.layers[idx]
