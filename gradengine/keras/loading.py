"""``load_model``: rebuild a model written by ``model.save("m.keras")`` (see
:mod:`gradengine.keras.saving` for the format)."""

from __future__ import annotations

import json
import os

from ..errors import CheckpointError
from .architecture import layer_class as _layer_class
from .architecture import rebuild
from .model_file import FORMAT, VERSION, _check_suffix

__all__ = ["clone_model", "load_model", "model_from_json"]


class _ModelFileNotFound(FileNotFoundError, ValueError):
    """A missing ``.keras`` file: Keras raises ValueError, gradengine FileNotFoundError.
    -- kssuite"""


def _rebuild_optimizer(entry, model):
    from .. import optim
    from . import optimizers
    if entry is None:
        return "rmsprop"
    if "name" in entry and "class_name" not in entry:
        return entry["name"]
    name, cfg = entry["class_name"], entry["config"]
    if entry.get("module", "").startswith("gradengine.keras"):
        cls = getattr(optimizers, name)
        opt = cls.from_config(cfg)
        opt.build(model.parameters())
        return opt
    cls = getattr(optim, name)
    cfg = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items()}
    return cls(model.parameters(), **cfg)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):  # noqa: A002
    """Rebuild a model written by ``model.save("m.keras")``: the same layers and weights
    (predictions identical), compiled again with its optimizer's state restored (training
    continues step for step).

    Raises:
        ValueError: a path that does not end in ``.keras``, or an unknown layer class.
        FileNotFoundError; CheckpointError: a damaged file or one that is not a model.
    """
    from ..checkpoint import load_arrays as load
    path = _check_suffix(filepath, "load_model")
    if not os.path.exists(path):  # -- kssuite: Keras' ValueError, still FileNotFoundError
        raise _ModelFileNotFound(2, f"load_model: File not found: filepath={path}. Please "
                                    "ensure the file is an accessible `.keras` file.", path)
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"load_model: {path!r} is a gradengine checkpoint but not a "
                              "saved model (no architecture); load it with ge.load")
    if state.get("version") != VERSION:
        raise CheckpointError(f"load_model: {path!r} has model format version "
                              f"{state.get('version')!r}; this gradengine reads {VERSION}")
    arch = json.loads(state["architecture"])
    model = _rebuild(arch, custom_objects)
    if state["weights"] or model.built:  # an unbuilt model was saved without weights
        model.load_state_dict(state["weights"])
    comp = state.get("compile")
    if compile and comp is not None:
        from .saving_lib import custom_object_scope
        comp = json.loads(comp)
        with custom_object_scope(custom_objects or {}):
            opt = _rebuild_optimizer(comp["optimizer"], model)
            if "multi" in comp:
                mc = comp["multi"]
                model.compile(optimizer=opt, loss=_decode(mc["loss"], custom_objects),
                              metrics=_decode(mc["metrics"], custom_objects),
                              loss_weights=mc["loss_weights"],
                              jit_compile=comp["jit_compile"])
            else:
                metrics = [n if not isinstance(spec, dict) else
                           _named(_decode(spec, custom_objects), n)
                           for n, spec in comp["metrics"]]
                weighted = [n if not isinstance(spec, dict) else
                            _named(_decode(spec, custom_objects), n)
                            for n, spec in comp.get("weighted_metrics", [])]
                model.compile(optimizer=opt, loss=_decode(comp["loss"], custom_objects),
                              metrics=metrics, weighted_metrics=weighted or None,
                              jit_compile=comp["jit_compile"])
                model._metric_specs = [  # the saved names, the objects just made
                    (n, cur if isinstance(s, dict) else s)
                    for (n, s), (_, cur) in zip(comp["metrics"], model._metric_specs)]
        if "optimizer_state" in state and not isinstance(opt, str):
            opt.load_state_dict(state["optimizer_state"])
        if "shuffle_rng" in state:
            model._shuffle_rng.bit_generator.state = json.loads(state["shuffle_rng"])
    return model


def _named(metric, name):
    metric.name = name
    return metric


def _decode(entry, custom_objects):
    """A loss / metric argument of compile from its saved form."""
    from . import losses as klosses
    from .saving_lib import deserialize_keras_object
    if entry is None or isinstance(entry, str):
        return entry
    if isinstance(entry, list):
        return [_decode(e, custom_objects) for e in entry]
    if "__per_output__" in entry:
        return {k: _decode(v, custom_objects) for k, v in entry["__per_output__"].items()}
    if "module" not in entry and entry.get("class_name") in klosses._LOSS_CLASSES:
        return klosses._LOSS_CLASSES[entry["class_name"]](**entry["config"])  # version 1
    return deserialize_keras_object(entry, custom_objects=custom_objects)


def _rebuild(arch, custom_objects=None, make_layer=None):
    """A new model (freshly initialized) from an architecture entry of ``model.save``."""
    from .functional import Model
    from .sequential import Sequential
    return rebuild(arch, Sequential, Model, custom_objects, make_layer)


def model_from_json(json_string, custom_objects=None):
    """A new model (freshly initialized weights) from ``model.to_json()``'s string."""
    arch = json.loads(json_string)
    if isinstance(arch, dict) and arch.get("format") == "gradengine-keras-architecture":
        arch = arch["config"]
    else:
        raise ValueError("model_from_json: not a gradengine model JSON (model.to_json()); "
                         "Keras' own JSON layout is not read")
    return _rebuild(arch, custom_objects)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """Keras' clone_model: a new model of the same architecture with new weights (the
    layers made again from their configs, or by ``clone_function(layer)``).

    Raises:
        NotImplementedError: ``input_tensors`` or ``call_function``.
        TypeError: a subclassed model (its call() is Python code).
    """
    from .model_file import _architecture
    if input_tensors is not None or call_function is not None:
        raise NotImplementedError("clone_model: input_tensors and call_function are not "
                                  "supported")
    arch = _architecture(model, "clone_model")
    make = None
    if clone_function is not None:
        originals = list(model._graph["layers"]) if model.__dict__.get("_graph") else \
            list(model.layers)

        def make(i, entry):
            from .layers import InputLayer
            layer = originals[i]
            if isinstance(layer, InputLayer):
                return _layer_class(entry, None).from_config(dict(entry["config"]))
            return clone_function(layer)
    return _rebuild(arch, None, make)
