"""A model's architecture (the entries ``model.save``, ``to_json`` and ``get_config``
write) made into a new model with fresh weights; the Sequential and functional model
classes are given by the caller (``load_model``, ``from_config``), so this module needs
neither."""

from __future__ import annotations

import sys

import numpy as np

from .. import backend

__all__ = ["layer_class", "rebuild"]


def layer_class(entry, custom_objects):
    """The class of a saved layer entry: registered or given, else gradengine's (a Keras
    layer, or a ``gradengine.nn`` module: that package is loaded whenever a model is)."""
    from .layers import LAYER_CLASSES
    nn = sys.modules.get("gradengine.nn")
    from .saving_lib import get_registered_object
    name = entry["class_name"]
    for key in (entry.get("registered_name"), name):  # Keras: "package>Name", then Name
        found = get_registered_object(key, custom_objects) if key else None
        if found is not None:
            return found
    cls = LAYER_CLASSES.get(name)
    if cls is None and name in getattr(nn, "__all__", ()):
        cls = getattr(nn, name)
    if cls is None:
        raise ValueError(f"load_model: unknown layer class {name!r} (from "
                         f"{entry.get('module')}); pass custom_objects={{{name!r}: cls}}")
    return cls


def _functional(arch, layers, model_cls):
    """Call the rebuilt layers on new Inputs as the saved model did; the functional model
    of the results."""
    from .symbolic import flatten
    outputs = [flatten(layers[i].output) for i in arch["input_nodes"]]

    def real(v):
        if isinstance(v, dict) and set(v) == {"tensor"}:
            node, index = v["tensor"]
            return outputs[node][index]
        if isinstance(v, dict):
            return {k: real(x) for k, x in v.items()}
        if isinstance(v, list):
            return [real(x) for x in v]
        return v
    for node in arch["nodes"]:
        out = layers[node["layer"]](*real(node["args"]), **real(node["kwargs"]))
        outputs.append(flatten(out))
    return model_cls(inputs=real(arch["inputs"]), outputs=real(arch["outputs"]),
                     name=arch.get("name"))


def rebuild(arch, sequential_cls, model_cls, custom_objects=None, make_layer=None):
    """A new model (freshly initialized) from an architecture entry of ``model.save``;
    ``make_layer(index, entry)``, when given, makes each layer instead of its config."""
    from .layers import InputLayer
    layers = []
    for i, entry in enumerate(arch["layers"]):
        if make_layer is not None:
            layers.append(make_layer(i, entry))
            continue
        cls = layer_class(entry, custom_objects)
        cfg = dict(entry["config"])
        if "input_shape" in cfg and isinstance(cfg["input_shape"], list):
            cfg["input_shape"] = tuple(cfg["input_shape"])
        layers.append(cls.from_config(cfg))
    if arch.get("dtype") and arch["dtype"] != backend.DEFAULT_FLOAT.name:
        for layer in layers:
            layer.to(dtype=arch["dtype"])
            object.__setattr__(layer, "_dtype", np.dtype(arch["dtype"]))
    if arch["class_name"] == "Functional":
        model = _functional(arch, layers, model_cls)
    else:
        model = sequential_cls(name=arch.get("name"))
        if arch.get("input_shape") is not None:
            model.add(InputLayer(shape=tuple(arch["input_shape"])))
        for layer in layers:
            model.add(layer)
    if arch.get("dtype") and arch["dtype"] != backend.DEFAULT_FLOAT.name:
        object.__setattr__(model, "_dtype", np.dtype(arch["dtype"]))
    return model
