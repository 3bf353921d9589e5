"""The base of the Keras layers, :class:`Layer` (lazy build, Keras' ``add_weight``, the
call on KerasTensors), kept apart from :mod:`gradengine.keras.layers` so that the layer
families in other modules (:mod:`gradengine.keras.layers_more`) can build on it and
``layers`` can re-export them."""

from __future__ import annotations

from .. import backend
from ..core.tensor import Tensor
from ..nn import _keras_init, _keras_regularizers
from ..nn.layers import _module_device, _module_dtype
from ..nn.module import KerasWeights, Module, Parameter
from . import masking, symbolic

__all__ = ["Layer"]


class _StateVariable(Tensor):
    """A non-trainable Keras weight (a buffer) with Keras' variable methods: ``assign``,
    ``assign_add``, ``assign_sub``, ``value``. -- kssuite"""

    __slots__ = ()
    assign = Parameter.assign
    assign_add = Parameter.assign_add
    assign_sub = Parameter.assign_sub
    value = Parameter.value

# -- kssuite: the ``training=`` an outer call was given (a model's ``model(x,
# training=True)``), handed to each inner layer whose ``call`` takes ``training``, as
# Keras' call context does; empty: the module's mode alone decides (gradengine's rule)
EXPLICIT_TRAINING: list = []
_TAKES_TRAINING: dict = {}


def takes_training(cls) -> bool:
    """Whether ``cls.call`` has a ``training`` argument (looked up once per class)."""
    known = _TAKES_TRAINING.get(cls)
    if known is None:
        import inspect
        try:
            known = "training" in inspect.signature(cls.call).parameters
        except (TypeError, ValueError, AttributeError):
            known = False
        _TAKES_TRAINING[cls] = known
    return known

# the modules whose ``build`` takes the shape without the batch axis (the older layers);
# a Keras-style build elsewhere gets Keras' form, with it
_SHAPE_WITHOUT_BATCH = ("gradengine.keras.layers", __name__)


class Layer(KerasWeights, Module):
    """Base of the Keras layers: ``name``, ``input_shape``, lazy :meth:`build` at the first
    call from the input's shape (batch axis excluded), and the input cast to the layer's
    dtype.

    A Keras-style subclass defines ``build(input_shape)`` (given the shape with the batch
    axis, as Keras) creating weights with :meth:`add_weight`, and ``call(inputs)``; a call
    takes ``training=`` to force fit's or predict's behaviour for that call. Called on
    KerasTensors (``keras.Input``), a layer records the call for ``keras.Model``.
    """

    def __init__(self, name=None, input_shape=None, dtype=None, trainable=True,
                 activity_regularizer=None, **kwargs):
        super().__init__()
        unknown = set(kwargs) - {"input_dim", "batch_input_shape", "autocast"}
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments "
                            f"{sorted(unknown)}")
        self.name = name
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.trainable = bool(trainable)
        self.activity_regularizer = _keras_regularizers.get(activity_regularizer)
        if dtype is not None:
            object.__setattr__(self, "_dtype", backend.resolve_dtype(dtype, "layer"))
        object.__setattr__(self, "_built", False)

    @property
    def built(self) -> bool:
        return self.__dict__.get("_built", False)

    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (without the batch axis)."""
        object.__setattr__(self, "_built", True)

    def _unbuild(self):
        for name in list(self._parameters):
            delattr(self, name)
            object.__setattr__(self, name, None)
        for name in list(self.__dict__.get("_buffers", {})):
            self._buffers.pop(name)
            object.__setattr__(self, name, None)
        object.__setattr__(self, "_built", False)

    def _weight(self, init, shape, name):
        p = Parameter(_keras_init.get(init)(shape, _module_dtype(self), _module_device(self)),
                      device=_module_device(self))
        setattr(self, name, p)
        return p

    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None,
                   trainable=True, name=None, regularizer=None, **kwargs):
        """Create and register a weight (Keras' ``add_weight``): a Parameter, or a buffer
        when ``trainable=False``; ``regularizer`` adds its penalty to the training loss."""
        shape = () if shape is None else tuple(int(d) for d in shape)
        taken = set(self.__dict__)
        base = name or "weight"
        key = base if base not in taken else next(
            f"{base}_{i}" for i in range(1, len(taken) + 2) if f"{base}_{i}" not in taken)
        dev = _module_device(self)
        dt = backend.resolve_dtype(dtype, "add_weight") if dtype is not None else \
            _module_dtype(self)
        arr = _keras_init.get(initializer)(shape, dt, dev)
        if trainable:
            w = Parameter(arr, device=dev)
            setattr(self, key, w)
        else:
            # -- kssuite: a non-trainable weight is a buffer with Keras' assign methods
            self.register_buffer(key, _StateVariable(arr, device=dev))
            w = self.__dict__[key]
        if name is not None:  # Keras' variable name is the one given (the key may differ)
            w._keras_var = (name, name)
        if regularizer is not None:
            self.__dict__.setdefault("_weight_regularizers", []).append(
                (_keras_regularizers.get(regularizer), w))
        return w

    def add_variable(self, shape=None, initializer="glorot_uniform", dtype=None,
                     trainable=True, autocast=True, regularizer=None, constraint=None,
                     aggregation="none", name=None):
        """Keras' ``add_variable``: :meth:`add_weight` with Keras' argument order. --
        kssuite"""
        w = Layer.add_weight(self, shape=shape, initializer=initializer, dtype=dtype,
                             trainable=trainable, name=name, regularizer=regularizer)
        if constraint is not None and isinstance(w, Parameter):
            w.constraint = constraint
        return w

    def _buffer(self, init, shape, name):
        dev = _module_device(self)
        self.register_buffer(name, Tensor._make(
            _keras_init.get(init)(shape, _module_dtype(self), dev), dev))

    def _float_input(self, x):
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=_module_dtype(self), device=_module_device(self))
        elif x.dtype != _module_dtype(self):
            x = x.astype(_module_dtype(self))  # Keras casts inputs to the layer's dtype
        return x

    def __call__(self, x, *args, **kwargs):
        if symbolic.is_symbolic((x, args, kwargs)):
            return symbolic.symbolic_call(self, (x,) + args, kwargs)
        training = kwargs.pop("training", None)
        if self.__dict__.get("_added_losses"):  # add_loss terms are those of the last call
            self.__dict__["_added_losses"] = []
        # -- kmask: Keras' masks (gradengine.keras.masking); one attribute read when none
        prev_mask = kwargs.get("mask")
        if prev_mask is None:
            prev_mask = masking.input_mask(x) if isinstance(x, (list, tuple)) else \
                getattr(x, "_keras_mask", None)
            if prev_mask is not None and masking.takes_mask(self):
                kwargs["mask"] = prev_mask
        x = self._prepare(x)
        if not self.built:
            shape = tuple(x.shape[1:])
            # Keras' build takes the shape with the batch axis; ours (below) without it
            self.build(shape if type(self).build.__module__ in _SHAPE_WITHOUT_BATCH else
                       (None,) + shape)
            object.__setattr__(self, "_built", True)
        if training is not None:  # -- kssuite: passed on to the layers inside
            EXPLICIT_TRAINING.append(bool(training))
        try:
            if training is None or bool(training) == self.training:
                out = self.forward(x, *args, **kwargs)
            else:
                with self.in_mode(training):
                    out = self.forward(x, *args, **kwargs)
        finally:
            if training is not None:
                EXPLICIT_TRAINING.pop()
        if self.activity_regularizer is not None:
            for o in symbolic.flatten(out):
                _keras_regularizers.record_activity(self.activity_regularizer, o)
        if prev_mask is not None or self._makes_mask:  # -- kmask
            masking.set_output_masks(self, x, out, prev_mask)
        return out

    # -- kmask: Keras' masking API. A layer that passes a mask on sets supports_masking;
    # one that makes a mask from its inputs (Embedding, Masking) sets _makes_mask too.
    supports_masking = False
    _makes_mask = False

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs (Keras' ``compute_mask``): the input's, by default."""
        return mask

    def forward(self, x, *args, **kwargs):
        if "training" not in kwargs and takes_training(type(self)):
            # the outer call's training=, else the module's mode: True inside fit (and
            # train_on_batch), False inside evaluate and predict, as Keras passes it
            kwargs["training"] = EXPLICIT_TRAINING[-1] if EXPLICIT_TRAINING else \
                self.training
        return self.call(x, *args, **kwargs)

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define call(inputs)")

    def _prepare(self, x):
        return self._float_input(x)
