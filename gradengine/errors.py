"""The exceptions gradengine raises; each subclasses the built-in a user would catch."""


class ShapeError(ValueError):
    """Shapes that do not fit the op (broadcasting, matmul, reshape, axes)."""


class DTypeError(TypeError):
    """A dtype the op cannot take (integer grads, unsupported dtypes, float labels)."""


class DeviceError(RuntimeError):
    """Tensors on different devices, or CUDA asked for where it is not available."""


class GraphError(RuntimeError):
    """Misuse of the autograd graph: freed graphs, in-place changes, non-scalar backward."""


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: truncated, corrupted, wrong format or version."""


class CaptureError(RuntimeError):
    """A step that cannot be captured as a CUDA graph (cuBLAS/cuRAND calls, host reads)."""
