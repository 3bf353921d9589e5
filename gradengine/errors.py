"""The exceptions gradengine raises; each subclasses the built-in a user would catch.

Where PyTorch raises a different built-in for the same mistake, the error subclasses both
(multiple inheritance), so code written for either library catches it: a shape mismatch is
a ``ValueError`` (NumPy's habit) and a ``RuntimeError`` (PyTorch's); a dimension out of
range is also an ``IndexError``.
"""


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit the op (broadcasting, matmul, reshape, axes, negative sizes)."""


class AxisError(ShapeError, IndexError):
    """A dimension out of range: a ShapeError, and an IndexError as PyTorch raises."""


class IndexingError(ShapeError, IndexError):
    """An index that does not fit the tensor (ragged, out of bounds, a zero slice step)."""


class ArgumentError(ValueError, RuntimeError):
    """An argument value the op cannot take (a zero step, no bound at all, a bad mode)."""


class DivisionByZeroError(ArgumentError, ZeroDivisionError):
    """Integer division or remainder by zero: a ZeroDivisionError (and a RuntimeError, as
    torch's ``RuntimeError: ZeroDivisionError``)."""


class LinAlgError(ArgumentError):
    """A matrix the decomposition or solve cannot take (singular, not positive definite):
    ``ge.linalg.LinAlgError``, a RuntimeError as PyTorch's ``torch.linalg.LinAlgError``."""


class DTypeError(TypeError, RuntimeError):
    """A dtype the op cannot take (integer grads, unsupported dtypes, float labels); also a
    RuntimeError, which PyTorch raises for most dtype mismatches (``except RuntimeError``
    in PyTorch code catches it)."""


class DeviceError(RuntimeError):
    """Tensors on different devices, or CUDA asked for where it is not available."""


class GraphError(RuntimeError):
    """Misuse of the autograd graph: freed graphs, in-place changes, non-scalar backward."""


class StateDictError(KeyError, RuntimeError):
    """``load_state_dict(strict=True)`` with missing or unexpected keys: a KeyError, and a
    RuntimeError as PyTorch raises."""

    def __str__(self):  # the message as written, not KeyError's quoted repr
        return str(self.args[0]) if self.args else ""


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: truncated, corrupted, wrong format or version."""


class CaptureError(RuntimeError):
    """A step that cannot be captured as a CUDA graph (cuBLAS/cuRAND calls, host reads)."""


class OutOfMemoryError(MemoryError):
    """An allocation that cannot be made: the op, the shape and the bytes asked for."""
