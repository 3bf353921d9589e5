"""Keras 3's ``keras.models``: ``from gradengine.keras.models import Sequential, Model,
load_model``.

``Sequential`` is :class:`gradengine.nn.Sequential` (a Module with compile / fit /
evaluate / predict / save); ``Model`` is the functional and subclassing model;
``load_model`` rebuilds a model saved with ``model.save``."""

from __future__ import annotations

from .functional import Model
from .loading import clone_model, load_model, model_from_json
from .model_file import save_model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json",
           "save_model"]
