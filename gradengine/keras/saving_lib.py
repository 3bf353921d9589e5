"""Keras' object serialization and custom-object registry (``keras.saving`` /
``keras.utils``): ``register_keras_serializable``, ``get_custom_objects``,
``custom_object_scope``, ``serialize_keras_object`` / ``deserialize_keras_object``.

The serialized form is Keras 3's: ``{"module", "class_name", "config",
"registered_name"}`` for an object with ``get_config``, and ``{"module": "builtins",
"class_name": "function", "config": name, "registered_name": "function"}`` for a function.
A name is looked up in the scopes opened by ``custom_object_scope`` (innermost first),
then the registered objects, then the ``custom_objects`` given, then gradengine's own
Keras classes and functions (losses, metrics, optimizers, schedules, activations,
initializers, regularizers, layers).
"""

from __future__ import annotations

import importlib
import inspect

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object",
           "register_keras_serializable", "serialize_keras_object"]

_GLOBAL_CUSTOM_OBJECTS: dict = {}
_GLOBAL_CUSTOM_NAMES: dict = {}
_SCOPES: list = []

# gradengine's modules answering Keras' module names
_MODULES = {"keras.losses": "losses", "keras.metrics": "metrics",
            "keras.optimizers": "optimizers", "keras.optimizers.schedules": "schedules",
            "keras.activations": "activations", "keras.initializers": "initializers",
            "keras.regularizers": "regularizers", "keras.layers": "layers",
            "keras.callbacks": "callbacks"}


def register_keras_serializable(package="Custom", name=None):
    """Decorator: register a class or function under ``"package>name"`` (name: its
    ``__name__``), as Keras does, so that deserialization finds it.

    Raises:
        ValueError: ``package`` contains ``>``, or an object with ``get_config`` missing
            (a class must define it to be serializable, as in Keras).
    """
    if ">" in str(package):
        raise ValueError(f"register_keras_serializable: the package name must not contain "
                         f"'>', got {package!r}")

    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: {obj.__name__} cannot be "
                             "registered: it has no get_config()")
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = key
        return obj
    return decorator


def get_custom_objects() -> dict:
    """The global registry ``{registered name: object}`` (a live dict, as in Keras: adding
    to it registers)."""
    return _GLOBAL_CUSTOM_OBJECTS


def get_registered_name(obj) -> str:
    """The name ``obj`` is registered under (``"package>Name"``), else its ``__name__``."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered (or in scope, or given) under ``name``, else None."""
    for scope in reversed(_SCOPES):
        if name in scope:
            return scope[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


class CustomObjectScope:
    """``with custom_object_scope({"MyLoss": MyLoss}): ...``: the names resolve inside."""

    def __init__(self, *custom_objects):
        self.custom_objects = {}
        for d in custom_objects:
            if d is not None:
                if not isinstance(d, dict):
                    raise TypeError(f"custom_object_scope: expected dicts, got "
                                    f"{type(d).__name__}")
                self.custom_objects.update(d)

    def __enter__(self):
        _SCOPES.append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _SCOPES.remove(self.custom_objects)
        return False


custom_object_scope = CustomObjectScope


def _keras_module(obj):
    mod = type(obj).__module__ if not inspect.isclass(obj) else obj.__module__
    if mod.startswith("gradengine.keras."):
        tail = mod.split(".")[2]
        for kname, gname in _MODULES.items():
            if gname == tail:
                return kname
    if mod.startswith("gradengine.nn"):
        return "keras.initializers" if "_keras_init" in mod else (
            "keras.regularizers" if "_keras_regularizers" in mod else "keras.layers")
    return mod


def serialize_keras_object(obj):
    """Keras 3's dict form of ``obj`` (None, plain values, lists and dicts pass through)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        registered = _GLOBAL_CUSTOM_NAMES.get(obj)
        return {"module": "builtins", "class_name": "function",
                "config": registered or obj.__name__, "registered_name": "function"}
    if hasattr(obj, "get_config"):
        registered = _GLOBAL_CUSTOM_NAMES.get(type(obj))
        return {"module": None if registered else _keras_module(obj),
                "class_name": type(obj).__name__,
                "config": serialize_keras_object(obj.get_config()),
                "registered_name": registered}
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        return obj.item()
    raise TypeError(f"serialize_keras_object: cannot serialize {type(obj).__name__} "
                    f"{obj!r}: it has no get_config()")


def _builtin_tables():
    """Every name gradengine's Keras modules export, by module."""
    tables = {}
    for kname, gname in _MODULES.items():
        mod = importlib.import_module(f"gradengine.keras.{gname}")
        tables[kname] = {n: getattr(mod, n) for n in dir(mod) if not n.startswith("_")}
    return tables


def lookup(name, module=None, custom_objects=None, module_objects=None):
    """The object called ``name``: scopes, registry, ``custom_objects``,
    ``module_objects``, then gradengine's tables (``module``'s first); None if none."""
    found = get_registered_object(name, custom_objects, module_objects)
    if found is not None:
        return found
    tables = _builtin_tables()
    order = ([tables[module]] if module in tables else []) + list(tables.values())
    for table in order:
        if name in table:
            return table[name]
    return None


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object described by :func:`serialize_keras_object`'s dict (or a name).

    Raises:
        TypeError: a config that is neither a dict, a name nor None. ValueError: a class
            or function that is not registered, not in scope and not gradengine's.
    """
    module_objects = kwargs.pop("module_objects", None)
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects, safe_mode,
                                         module_objects=module_objects) for c in config]
    if isinstance(config, str):
        obj = lookup(config, None, custom_objects, module_objects)
        if obj is None:
            raise ValueError(f"deserialize_keras_object: unknown object {config!r}; "
                             "register it with @keras.saving.register_keras_serializable() "
                             "or pass custom_objects={...}")
        return obj
    if not isinstance(config, dict):
        raise TypeError(f"deserialize_keras_object: expected a dict, got "
                        f"{type(config).__name__}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode,
                                            module_objects=module_objects)
                if isinstance(v, dict) and "class_name" in v else v
                for k, v in config.items()}
    cls_name, inner = config["class_name"], config["config"]
    registered = config.get("registered_name")
    if cls_name == "function":
        obj = lookup(inner, None, custom_objects, module_objects)
        if obj is None:
            raise ValueError(f"deserialize_keras_object: unknown function {inner!r}; "
                             "register it or pass custom_objects={...}")
        return obj
    cls = None
    if registered and registered != cls_name:
        cls = get_registered_object(registered, custom_objects, module_objects)
    if cls is None:
        cls = lookup(cls_name, config.get("module"), custom_objects, module_objects)
    if cls is None:
        raise ValueError(f"deserialize_keras_object: unknown class {cls_name!r} "
                         f"(registered name {registered!r}); register it with "
                         "@keras.saving.register_keras_serializable() or pass "
                         "custom_objects={...}")
    if not inspect.isclass(cls):
        return cls
    if hasattr(cls, "from_config"):
        return cls.from_config(inner)
    return cls(**inner)
