"""The small Tensor facts and real-tensor identities PyTorch scripts and test suites read:
layout and storage questions (``t.layout``, ``t.is_sparse``, ``t.is_pinned()`` ...), the
complex-number identities of a real tensor (``t.conj()`` is ``t``, ``t.real`` is ``t``,
``t.imag`` raises as torch), ``torch.typename``, ``torch.vander``, ``renorm``, the bit
shifts, ``torch.*_copy`` (a view op, then a copy) and torch's layout / memory-format
keywords on ``clone``. Every value computed from a Tensor goes through the ops.
"""

from __future__ import annotations

from .core.tensor import Tensor
from .errors import ArgumentError, DTypeError, ShapeError
from .ops import creation, elementwise
from .ops.creation import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    preserve_format,
    sparse_coo,
    strided,
    torch_layout,
)

__all__ = ["strided", "sparse_coo", "contiguous_format", "channels_last", "channels_last_3d",
           "preserve_format", "typename", "is_signed", "is_inference", "get_device", "conj",
           "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "real", "imag",
           "adjoint", "vander", "renorm", "bitwise_left_shift", "bitwise_right_shift",
           "view_copy", "expand_copy", "permute_copy", "transpose_copy", "t_copy",
           "squeeze_copy", "unsqueeze_copy", "select_copy", "slice_copy", "diagonal_copy",
           "detach_copy", "alias_copy", "unbind_copy", "split_copy", "unfold_copy",
           "narrow_copy", "set_flush_denormal"]

_TYPENAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
              "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
              "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def typename(obj) -> str:
    """``torch.typename``: ``"torch.FloatTensor"`` for a float32 CPU tensor
    (``"torch.cuda.FloatTensor"`` on CUDA); a non-tensor's qualified type name."""
    if isinstance(obj, Tensor):
        where = "torch.cuda." if obj.device != "cpu" else "torch."
        return where + _TYPENAMES[obj.dtype.name]
    t = type(obj)
    return t.__qualname__ if t.__module__ in ("builtins", None) else \
        f"{t.__module__}.{t.__qualname__}"


def is_signed(t) -> bool:
    """Whether the tensor's dtype is signed (floats and signed integers; not uint8, bool)."""
    return t.is_signed()


def is_inference(t) -> bool:
    """Whether the tensor was made under ``inference_mode`` (torch.is_inference)."""
    return t.is_inference()


def get_device(t) -> int:
    """-1 on the CPU, else the CUDA ordinal (torch.get_device)."""
    return t.get_device()


# ---------------------------------------------------------------- real tensors
def conj(t):
    """The complex conjugate: a real tensor itself (torch returns ``t``)."""
    return t


conj_physical = resolve_conj = resolve_neg = conj
real = conj


def is_conj(t) -> bool:
    """False: no tensor here carries a lazy conjugation bit."""
    return False


is_neg = is_conj


def imag(t):
    """torch raises for a real tensor's imaginary part; so does gradengine."""
    raise DTypeError(f"imag: not implemented for tensors with non-complex dtypes (got "
                     f"{t.dtype.name}, shape {tuple(t.shape)}); gradengine has no complex "
                     "dtypes")


def adjoint(t):
    """The conjugate transpose of the last two dimensions: ``t.mT`` for a real tensor."""
    if t.ndim < 2:
        raise ShapeError(f"adjoint: expected a tensor of at least 2 dimensions, got shape "
                         f"{tuple(t.shape)}")
    return t.transpose(-2, -1)


# ---------------------------------------------------------------- maths
def vander(x, N=None, increasing=False):  # noqa: N803 - torch's name
    """``torch.vander``: columns x^(N-1), ..., x, 1 (``increasing``: 1, x, ..., x^(N-1)) of a
    1-d tensor, differentiable in x."""
    if x.ndim != 1:
        raise ShapeError(f"vander: expected a 1-d tensor, got shape {tuple(x.shape)}")
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise ArgumentError(f"vander: N must be non-negative, got {N}")
    from . import functional as F
    if n == 0:
        return creation.zeros(x.shape[0], 0, dtype=_vander_dtype(x), device=x.device)
    xs = x.reshape(-1, 1)
    if x.dtype.kind in "biu":
        xs = xs.to("int64")
    cols = [creation.ones_like(xs)]
    for _ in range(1, n):
        cols.append(cols[-1] * xs)
    out = F.cat(cols, 1)
    return out if increasing else out.flip(1)


def _vander_dtype(x):
    return "int64" if x.dtype.kind in "biu" else x.dtype


def renorm(input, p, dim, maxnorm):  # noqa: A002
    """``torch.renorm``: each sub-tensor along ``dim`` whose p-norm exceeds ``maxnorm`` is
    scaled down to norm ``maxnorm`` (scale ``maxnorm / (norm + 1e-7)``, torch's)."""
    if input.dtype.kind != "f":
        raise DTypeError(f"renorm: expected a floating tensor, got {input.dtype.name}")
    if p <= 0:
        raise ArgumentError(f"renorm: p must be positive, got {p}")
    d = dim % input.ndim if input.ndim else 0
    axes = tuple(i for i in range(input.ndim) if i != d)
    norms = (abs(input) ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
    scale = elementwise.where(norms > maxnorm, maxnorm / (norms + 1e-7),
                              creation.ones_like(norms))
    return input * scale


def bitwise_left_shift(input, other):  # noqa: A002
    """``input << other`` on integer tensors (torch.bitwise_left_shift)."""
    return input << other


def bitwise_right_shift(input, other):  # noqa: A002
    """``input >> other`` on integer tensors (arithmetic for signed types, as torch)."""
    return input >> other


# ---------------------------------------------------------------- torch.*_copy
def _copy_of(view_method):
    def fn(input, *args, **kwargs):  # noqa: A002
        out = getattr(input, view_method)(*args, **kwargs)
        if isinstance(out, (tuple, list)):
            return tuple(o.clone() for o in out)
        return out.clone()
    fn.__name__ = f"{view_method}_copy"
    fn.__doc__ = (f"``torch.{view_method}_copy``: ``input.{view_method}(...)`` as a new tensor "
                  "(no memory shared; gradients flow as through the view).")
    return fn


view_copy, expand_copy, permute_copy = (_copy_of("view"), _copy_of("expand"),
                                        _copy_of("permute"))
transpose_copy, t_copy, squeeze_copy = (_copy_of("transpose"), _copy_of("t"),
                                        _copy_of("squeeze"))
unsqueeze_copy, select_copy, diagonal_copy = (_copy_of("unsqueeze"), _copy_of("select"),
                                              _copy_of("diagonal"))
detach_copy, unbind_copy, split_copy = (_copy_of("detach"), _copy_of("unbind"),
                                        _copy_of("split"))
unfold_copy, narrow_copy = _copy_of("unfold"), _copy_of("narrow")


def alias_copy(input):  # noqa: A002
    """``torch.alias_copy``: a copy of the tensor (an alias, copied)."""
    return input.clone()


def slice_copy(input, dim=0, start=None, end=None, step=1):  # noqa: A002
    """``torch.slice_copy``: ``input[..., start:end:step, ...]`` along ``dim``, copied."""
    idx = [slice(None)] * input.ndim
    idx[dim] = slice(start, end, step)
    return input[tuple(idx)].clone()


def set_flush_denormal(mode: bool) -> bool:
    """``torch.set_flush_denormal``: NumPy cannot switch the CPU's denormal handling, so
    this answers False (unsupported), as torch does on CPUs without the switch."""
    return False


# ---------------------------------------------------------------- Tensor facts
def _false(self, *args, **kwargs):
    return False


def _clone(self, *, memory_format=None):
    """A copy with the same history (torch's ``memory_format`` accepted: the layout here is
    always dense row-major)."""
    torch_layout("clone", None, False, memory_format)
    return _plain_clone(self)


_plain_clone = Tensor.clone


def _pin_memory(self, device=None):
    """Host memory is not pinned by gradengine: the tensor itself (a CPU tensor)."""
    if self.device != "cpu":
        raise ArgumentError(f"pin_memory: only CPU tensors can be pinned, got one on "
                            f"{self.device!r}")
    return self


def _share_memory_(self):
    return self


def _install():
    T = Tensor
    T.layout = property(lambda self: strided, doc="torch.strided: every tensor is dense")
    for name in ("is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_mkldnn",
                 "is_nested", "is_xpu", "is_mps", "is_xla", "is_ipu", "is_vulkan", "is_maia",
                 "is_mtia"):
        setattr(T, name, property(_false))
    for name in ("is_conj", "is_neg", "is_pinned", "is_shared", "is_coalesced"):
        setattr(T, name, _false)
    T.conj = T.conj_physical = T.resolve_conj = T.resolve_neg = conj
    T.real = property(conj, doc="A real tensor's real part: the tensor itself.")
    T.imag = property(imag)
    T.adjoint = adjoint
    T.renorm = renorm
    T.renorm_ = lambda self, p, dim, maxnorm: self.copy_(renorm(self.detach(), p, dim,
                                                                maxnorm))
    T.bitwise_left_shift = bitwise_left_shift
    T.bitwise_right_shift = bitwise_right_shift
    T.bitwise_left_shift_ = lambda self, other: self.__ilshift__(other)
    T.bitwise_right_shift_ = lambda self, other: self.__irshift__(other)
    T.clone = _clone
    T.pin_memory = _pin_memory
    T.share_memory_ = _share_memory_


_install()
