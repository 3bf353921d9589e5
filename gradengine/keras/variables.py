"""Keras' ``keras.Variable``: a named weight made from a value or an initializer. -- kssuite

A Variable is a :class:`gradengine.nn.Parameter` (a leaf Tensor; ``requires_grad`` is its
``trainable``) with Keras' ``name``, ``assign`` / ``assign_add`` / ``assign_sub``,
``numpy()`` and ``value``, so ``optimizer.apply_gradients(zip(grads, [v]))`` and the
Keras layers take it as they take their own weights.
"""

from __future__ import annotations

import numpy as np

from ..nn.module import Parameter

__all__ = ["Variable"]


class Variable(Parameter):
    """``keras.Variable(initializer, shape=None, dtype=None, trainable=True, name=None)``:
    ``initializer`` is a value (array, list, number) or an initializer (name or object,
    with ``shape``); the dtype is Keras' floatx (float32) unless given.

    Raises:
        ValueError: an initializer without a shape.
    """

    __slots__ = ("_keras_var_name",)

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None):
        dtype = np.dtype(dtype or "float32").name
        if isinstance(initializer, str) or (callable(initializer) and
                                            not hasattr(initializer, "shape")):
            if shape is None:
                raise ValueError("Variable: an initializer needs a `shape`, got "
                                 f"initializer={initializer!r} and shape=None")
            from . import initializers
            value = initializers.get(initializer)(tuple(shape), dtype=dtype)
        else:
            value = initializer
            if hasattr(value, "data") and not isinstance(value, np.ndarray):
                value = value.data  # a Tensor: its array
            value = np.asarray(value, dtype=dtype)
            if shape is not None and tuple(value.shape) != tuple(shape):
                raise ValueError(f"Variable: the initial value has shape {value.shape}, "
                                 f"not shape={tuple(shape)}")
        trainable = bool(trainable) and np.dtype(dtype).kind == "f"
        super().__init__(value, requires_grad=trainable, dtype=dtype)
        self._keras_var_name = name or "variable"

    @property
    def name(self) -> str:
        return self._keras_var_name

    @property
    def path(self) -> str:
        return self._keras_var_name

    def numpy(self):
        return np.array(self.detach().numpy())

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={tuple(self.shape)}, "
                f"dtype={self.dtype}, value={self.numpy()}>")
