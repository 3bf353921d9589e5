"""The parts of Keras 3's ``keras.backend`` that scripts read: the backend's name, the float
type, epsilon, the image layout, ``clear_session``."""

from __future__ import annotations

from .. import backend as _backend

__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format"]


def backend() -> str:
    """The backend's name: ``"gradengine"``."""
    return "gradengine"


def floatx() -> str:
    return _backend.DEFAULT_FLOAT.name


def epsilon() -> float:
    return 1e-7


def image_data_format() -> str:
    """``"channels_last"``: the Keras layers take (N, H, W, C)."""
    return "channels_last"


def clear_session(free_memory=True):
    """Nothing to clear: gradengine keeps no global graph (layer names are per model)."""
