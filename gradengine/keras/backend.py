"""The parts of Keras 3's ``keras.backend`` that scripts read: the backend's name, the float
type, epsilon, the image layout, dtype helpers (``standardize_dtype``, ``result_type`` with
Keras' promotion lattice), ``get_uid``, ``clear_session``.

gradengine's layers compute in float32 and take channels-last images: ``set_floatx`` and
``set_image_data_format`` accept only those (anything else is a clear error, not a
setting that would be silently ignored).
"""

from __future__ import annotations

import functools

import numpy as np

from .. import backend as _backend
from ..errors import DTypeError
from ..nn.module import KERAS_UIDS, keras_uid

__all__ = ["backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format",
           "is_float_dtype", "is_int_dtype", "is_keras_tensor", "result_type",
           "set_epsilon", "set_floatx", "set_image_data_format", "standardize_dtype"]

_EPSILON = [1e-7]
_FLOATS = ("bfloat16", "float16", "float32", "float64")
_ALLOWED = ("float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8",
            "int16", "int32", "int64", "bfloat16", "bool", "string", "complex64",
            "complex128")


def backend() -> str:
    """The backend's name: ``"gradengine"``."""
    return "gradengine"


def floatx() -> str:
    return _backend.DEFAULT_FLOAT.name


def set_floatx(value) -> None:
    """Keras' set_floatx: only "float32" here (gradengine's layers are float32).

    Raises:
        ValueError: not a float dtype name (Keras' error). DTypeError: another float
            (cast the model with ``model.to("float64")`` instead).
    """
    if value not in _FLOATS:
        raise ValueError(f"Unknown `floatx` value: {value}. Expected one of {set(_FLOATS)}")
    if value != floatx():
        raise DTypeError(f"set_floatx: gradengine's default float is float32 and cannot be "
                         f"changed to {value}; build the model, then cast it with "
                         f"model.to({value!r})")


def epsilon() -> float:
    """The fuzz factor (1e-7 unless :func:`set_epsilon` changed it)."""
    return _EPSILON[0]


def set_epsilon(value) -> None:
    """Set :func:`epsilon`'s value (read by code that asks for it; gradengine's losses and
    metrics keep Keras' default 1e-7)."""
    _EPSILON[0] = float(value)


def image_data_format() -> str:
    """``"channels_last"``: the Keras layers take (N, H, W, C)."""
    return "channels_last"


def set_image_data_format(data_format) -> None:
    """Keras' set_image_data_format: only "channels_last" here.

    Raises:
        ValueError: not "channels_first" / "channels_last" (Keras' error).
        NotImplementedError: "channels_first" (gradengine's layers are channels-last).
    """
    fmt = str(data_format).lower()
    if fmt not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format}")
    if fmt == "channels_first":
        raise NotImplementedError("set_image_data_format: gradengine's Keras layers are "
                                  "channels_last only; transpose the data to (N, H, W, C)")


def clear_session(free_memory=True):
    """Reset the name counters (:func:`get_uid`): the next Dense is ``dense`` again, as in
    Keras; gradengine keeps no global graph besides."""
    KERAS_UIDS.clear()


def get_uid(prefix=""):
    """1, 2, 3, ... per ``prefix``: Keras' counters, the ones its default layer names
    (``dense``, ``dense_1`` ...) come from."""
    return keras_uid(prefix)


def is_keras_tensor(x) -> bool:
    from .symbolic import KerasTensor
    return isinstance(x, KerasTensor)


def standardize_dtype(dtype) -> str:
    """Keras' dtype name: None -> floatx(), ``int`` -> "int32", ``float`` -> "float32",
    NumPy / torch / gradengine dtypes -> their names.

    Raises:
        ValueError: an unknown dtype.
    """
    if dtype is None:
        return floatx()
    py = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32",
          complex: "complex64"}
    if dtype in py:
        return py[dtype]
    if hasattr(dtype, "name") and not isinstance(dtype, str):
        name = dtype.name
    elif isinstance(dtype, type) and issubclass(dtype, np.generic):
        name = np.dtype(dtype).name
    else:
        name = str(dtype)
    if name.startswith("torch."):
        name = name[6:]
    if name not in _ALLOWED:
        raise ValueError(f"Invalid dtype: {dtype}")
    return name


def is_float_dtype(dtype) -> bool:
    return "float" in standardize_dtype(dtype)


def is_int_dtype(dtype) -> bool:
    return "int" in standardize_dtype(dtype)


# Keras' type promotion lattice (keras/src/backend/common/dtypes.py, JAX's rules)
_LATTICE = {"bool": ["int"], "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"],
            "uint32": ["int64", "uint64"], "uint64": ["float"],
            "int": ["uint8", "int8", "complex64"], "int8": ["int16"], "int16": ["int32"],
            "int32": ["int64"], "int64": ["float"], "float": ["bfloat16", "float16"],
            "bfloat16": ["float32"], "float16": ["float32"],
            "float32": ["float64", "complex64"], "float64": ["complex128"],
            "complex64": ["complex128"], "complex128": []}


def _upper_bounds():
    ub = {n: {n} for n in _LATTICE}
    for n in _LATTICE:
        while True:
            new = set().union(*(_LATTICE[b] for b in ub[n]))
            if new.issubset(ub[n]):
                break
            ub[n] |= new
    return ub


_UB = _upper_bounds()


@functools.lru_cache(256)
def _least_upper_bound(*nodes):
    n = set(nodes)
    cub = set.intersection(*[_UB[x] for x in n])
    lub = (cub & n) or {c for c in cub if cub.issubset(_UB[c])}
    if len(lub) != 1:
        raise ValueError(f"Input dtypes {nodes} have no available implicit dtype promotion "
                         "path. Try explicitly casting inputs to the desired output type.")
    return lub.pop()


_BIT64_TO_32 = {"int64": "int32", "uint64": "uint32", "float64": "float32",
                "complex128": "complex64"}


def result_type(*dtypes) -> str:
    """Keras' result_type: the least upper bound on its promotion lattice (Python ``int``
    and ``float`` weak), 64-bit results narrowed to 32 bits as Keras does off TensorFlow.

    Raises:
        ValueError: an unknown dtype, or dtypes without a common type.
    """
    if not dtypes:
        return floatx()
    pairs = [(standardize_dtype(d), d is int or d is float) for d in dtypes]
    names = [p[0] for p in pairs]
    weak = [p[1] for p in pairs]
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _least_upper_bound(*set(names)), True
    else:
        def respect(d, w):
            if not w or d == "bool":
                return d
            return "float" if "float" in d else ("int" if "int" in d else d)
        out = _least_upper_bound(*{respect(d, w) for d, w in zip(names, weak)})
        out_weak = out in ("int", "float")
    out_weak = out != "bool" and out_weak
    if out_weak or out in ("int", "float"):
        prec = floatx()[-2:]
        ind = "f" if out == "bfloat16" else out[:1]
        out = {"b": "bool", "i": f"int{prec}", "u": f"uint{prec}"}.get(ind, f"float{prec}")
    return _BIT64_TO_32.get(out, out)
