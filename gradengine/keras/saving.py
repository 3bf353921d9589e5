"""``model.save("m.keras")`` and ``load_model``: ONE file in gradengine's checksummed
checkpoint format (no pickle) holding the architecture as JSON, the weights and buffers,
the compile arguments, the optimizer's state and the shuffling generator's state, so a
loaded model predicts the same and trains on step for step."""

from __future__ import annotations

import json
import os

import numpy as np

from .. import backend
from ..errors import CheckpointError

__all__ = ["load_model", "save_model"]

FORMAT = "gradengine-keras-model"
VERSION = 1


def _check_suffix(path, where):
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"{where}: the path must end in '.keras' (gradengine's one-file "
                         f"model format), got {path!r}; for the weights alone use "
                         "model.save_weights('name.weights.npz')")
    return path


def _jsonable(value, where):
    from ..nn._keras_init import Initializer, serialize
    if isinstance(value, Initializer):
        return serialize(value)
    if isinstance(value, tuple):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, list):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save: {where} holds {type(value).__name__} {value!r}, which cannot be "
                    "written as JSON; use names (activation='relu') instead of objects")


def _layer_entry(layer):
    cls = type(layer)
    cfg = layer.get_config()
    cfg.pop("device", None)
    return {"class_name": cls.__name__, "module": cls.__module__,
            "config": _jsonable(cfg, f"the config of layer {cls.__name__}")}


def _optimizer_entry(model):
    from .. import optim
    from . import optimizers
    opt = model.optimizer
    if opt is None:
        spec = model.__dict__.get("_opt_spec")
        return {"name": spec} if isinstance(spec, str) else None
    cls = type(opt)
    if isinstance(opt, optimizers.Optimizer):
        cfg = opt.get_config()
    elif isinstance(opt, optim.Optimizer):
        cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in opt.defaults.items()}
    else:
        return None
    return {"class_name": cls.__name__, "module": cls.__module__,
            "config": _jsonable(cfg, f"the optimizer {cls.__name__}")}


def _compile_entry(model):
    if not model.__dict__.get("compiled"):
        return None
    loss = model.loss
    if isinstance(loss, str):
        loss_e = loss
    elif hasattr(loss, "kind") and hasattr(loss, "get_config"):
        loss_e = {"class_name": type(loss).__name__, "config": loss.get_config()}
    else:
        raise TypeError("save: the model was compiled with a custom loss function, which "
                        "cannot be saved; compile with a loss name or a keras.losses object")
    metrics = []
    for name, spec in model._metric_specs:
        if callable(spec):
            raise TypeError(f"save: the metric {name!r} is a custom function, which cannot "
                            "be saved")
        metrics.append([name, spec])
    return {"loss": loss_e, "metrics": metrics, "jit_compile": model.jit_compile,
            "optimizer": _optimizer_entry(model)}


def save_model(model, filepath, overwrite=True):
    """Write ``model`` (a Sequential) to ``filepath`` (``*.keras``), atomically."""
    from ..checkpoint import save
    path = _check_suffix(filepath, "save")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save: {path!r} exists and overwrite=False")
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError("save: only Sequential models can be saved whole; save a module's "
                        "state_dict with ge.save(model.state_dict(), path)")
    _, dtype = model._model_place()
    arch = {"class_name": "Sequential", "name": model.__dict__.get("name"),
            "input_shape": _jsonable(model.__dict__.get("_input_shape"), "the input shape"),
            "dtype": np.dtype(dtype).name,
            "layers": [_layer_entry(layer) for layer in layers]}
    state = {"format": FORMAT, "version": VERSION, "architecture": json.dumps(arch),
             "weights": model.state_dict()}
    comp = _compile_entry(model)
    if comp is not None:
        state["compile"] = json.dumps(comp)
        if model.optimizer is not None:
            state["optimizer_state"] = model.optimizer.state_dict()
        rng = model.__dict__.get("_shuffle_rng")
        if rng is not None:
            state["shuffle_rng"] = json.dumps(rng.bit_generator.state)
    save(state, path)


def _layer_class(entry, custom_objects):
    from .. import nn
    from .layers import LAYER_CLASSES
    name = entry["class_name"]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    cls = LAYER_CLASSES.get(name)
    if cls is None and name in getattr(nn, "__all__", ()):
        cls = getattr(nn, name)
    if cls is None:
        raise ValueError(f"load_model: unknown layer class {name!r} (from "
                         f"{entry.get('module')}); pass custom_objects={{{name!r}: cls}}")
    return cls


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
    from ..checkpoint import load
    from ..nn.sequential import Sequential
    from .layers import InputLayer
    path = _check_suffix(filepath, "load_model")
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"load_model: {path!r} is a gradengine checkpoint but not a "
                              "saved model (no architecture); load it with ge.load")
    if state.get("version") != VERSION:
        raise CheckpointError(f"load_model: {path!r} has model format version "
                              f"{state.get('version')!r}; this gradengine reads {VERSION}")
    arch = json.loads(state["architecture"])
    model = Sequential(name=arch.get("name"))
    layers = []
    for entry in arch["layers"]:
        cls = _layer_class(entry, custom_objects)
        cfg = dict(entry["config"])
        if "input_shape" in cfg and isinstance(cfg["input_shape"], list):
            cfg["input_shape"] = tuple(cfg["input_shape"])
        layers.append(cls.from_config(cfg))
    if arch.get("dtype") and arch["dtype"] != backend.DEFAULT_FLOAT.name:
        for layer in layers:
            layer.to(dtype=arch["dtype"])
            object.__setattr__(layer, "_dtype", np.dtype(arch["dtype"]))
        object.__setattr__(model, "_dtype", np.dtype(arch["dtype"]))
    if arch.get("input_shape") is not None:
        model.add(InputLayer(shape=tuple(arch["input_shape"])))
    for layer in layers:
        model.add(layer)
    if state["weights"] or model.built:  # an unbuilt model was saved without weights
        model.load_state_dict(state["weights"])
    comp = state.get("compile")
    if compile and comp is not None:
        from . import losses as klosses
        comp = json.loads(comp)
        loss = comp["loss"]
        if isinstance(loss, dict):
            loss = klosses._LOSS_CLASSES[loss["class_name"]](**loss["config"])
        opt = _rebuild_optimizer(comp["optimizer"], model)
        model.compile(optimizer=opt, loss=loss, metrics=[n for n, _ in comp["metrics"]],
                      jit_compile=comp["jit_compile"])
        model._metric_specs = [(n, s) for n, s in comp["metrics"]]
        if "optimizer_state" in state and not isinstance(opt, str):
            opt.load_state_dict(state["optimizer_state"])
        if "shuffle_rng" in state:
            model._shuffle_rng.bit_generator.state = json.loads(state["shuffle_rng"])
    return model
