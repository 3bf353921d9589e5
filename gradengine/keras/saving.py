"""Keras 3's ``keras.saving``: ``save_model`` / ``load_model`` (the one-file ``.keras``
format of :mod:`gradengine.keras.model_file`, read back by :mod:`.loading`),
``save_weights`` / ``load_weights``, and the custom-object registry of
:mod:`gradengine.keras.saving_lib`."""

from __future__ import annotations

from .loading import load_model as _load_model
from .model_file import FORMAT, VERSION, _check_suffix  # noqa: F401
from .model_file import save_model as _save_model
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

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object",
           "load_model", "load_weights", "register_keras_serializable", "save_model",
           "save_weights", "serialize_keras_object"]


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """``keras.saving.load_model``: :func:`gradengine.keras.models.load_model`."""
    return _load_model(filepath, custom_objects=custom_objects, compile=compile,
                 safe_mode=safe_mode)


def save_weights(model, filepath, overwrite=True, **kwargs):
    """``keras.saving.save_weights(model, path)``: ``model.save_weights(path)``."""
    return model.save_weights(filepath, overwrite=overwrite)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """``keras.saving.load_weights(model, path)``: ``model.load_weights(path)``."""
    if skip_mismatch:
        raise NotImplementedError("load_weights: skip_mismatch=True is not supported")
    return model.load_weights(filepath)


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """``keras.saving.save_model(model, path)``: ``model.save(path)``, with Keras' checks of
    the other arguments (``save_format`` is deprecated: "keras" with a ``.keras`` path is
    accepted, anything else a ValueError; an unknown argument a ValueError). -- kssuite"""
    import warnings
    include_optimizer = kwargs.pop("include_optimizer", True)
    save_format = kwargs.pop("save_format", False)
    if save_format:
        if str(filepath).endswith(".keras") and save_format == "keras":
            warnings.warn("The `save_format` argument is deprecated in Keras 3. We "
                          "recommend removing this argument as it can be inferred from the "
                          f"file path. Received: save_format={save_format}", stacklevel=2)
        else:
            raise ValueError("The `save_format` argument is deprecated in Keras 3. Please "
                             "remove this argument and pass a file path with either "
                             "`.keras` or `.h5` extension. Received: "
                             f"save_format={save_format}")
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    if not include_optimizer:
        raise NotImplementedError("save_model: include_optimizer=False is not supported")
    if zipped is False:
        raise NotImplementedError("save_model: zipped=False (a directory) is not supported")
    return _save_model(model, filepath, overwrite=overwrite)

