"""Resampling, padding and reshaping modules with PyTorch's names and arguments:
:class:`Upsample` (and the two ``Upsampling*2d``), :class:`PixelShuffle`,
:class:`PixelUnshuffle`, :class:`Unfold`, :class:`Fold`, :class:`Unflatten` and the padding
modules (``ZeroPad2d``, ``ConstantPad1d`` ... ``ReplicationPad3d``, ``CircularPad2d``).
Each calls the matching ``F`` function."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle",
           "PixelUnshuffle", "Unfold", "Fold", "Unflatten"]


class Upsample(Module):
    """``F.interpolate`` as a module, ``torch.nn.Upsample``'s arguments."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else \
            f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) input."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling of (N, C, H, W) input with ``align_corners=True`` (PyTorch's)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x):
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class Unfold(Module):
    """Sliding blocks as columns (im2col), ``torch.nn.Unfold``'s arguments."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, x):
        return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Unfold):
    """Columns summed back into an image (col2im), ``torch.nn.Fold``'s arguments."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, x):
        return F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return f"output_size={self.output_size}, " + super().extra_repr()


class Unflatten(Module):
    """Dimension ``dim`` split into ``unflattened_size``, as ``torch.nn.Unflatten``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        return F.unflatten(x, self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class _Pad(Module):
    n = 2
    mode = "constant"
    zero = False  # ZeroPad*d: a constant pad of zeros

    def __init__(self, padding, value=0.0):
        super().__init__()
        self.padding = (int(padding),) * (2 * self.n) if isinstance(padding, int) else \
            tuple(int(p) for p in padding)
        if len(self.padding) != 2 * self.n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or "
                             f"{2 * self.n} ints, got {padding!r}")
        self.value = float(value)

    def forward(self, x):
        if x.ndim not in (self.n + 1, self.n + 2):
            raise ValueError(f"{type(self).__name__}: expected a {self.n + 1}-d or "
                             f"{self.n + 2}-d input, got shape {x.shape}")
        return F.pad(x, self.padding, self.mode, self.value)

    def extra_repr(self):  # torch's: ConstantPad names both, ZeroPad and the others neither
        if self.mode == "constant" and not self.zero:
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


def _pad_class(name, n, mode, constant):
    doc = f"``F.pad(x, padding, {mode!r})`` over the last {n} dims, as ``torch.nn.{name}``."
    if constant:
        def init(self, padding, value):
            _Pad.__init__(self, padding, value)
    else:
        def init(self, padding):
            _Pad.__init__(self, padding)
    cls = type(name, (_Pad,), {"n": n, "mode": mode, "__init__": init, "__doc__": doc,
                               "__module__": __name__,
                               "zero": mode == "constant" and not constant})
    __all__.append(name)
    return cls


ConstantPad1d = _pad_class("ConstantPad1d", 1, "constant", True)
ConstantPad2d = _pad_class("ConstantPad2d", 2, "constant", True)
ConstantPad3d = _pad_class("ConstantPad3d", 3, "constant", True)
ZeroPad1d = _pad_class("ZeroPad1d", 1, "constant", False)
ZeroPad2d = _pad_class("ZeroPad2d", 2, "constant", False)
ZeroPad3d = _pad_class("ZeroPad3d", 3, "constant", False)
ReflectionPad1d = _pad_class("ReflectionPad1d", 1, "reflect", False)
ReflectionPad2d = _pad_class("ReflectionPad2d", 2, "reflect", False)
ReflectionPad3d = _pad_class("ReflectionPad3d", 3, "reflect", False)
ReplicationPad1d = _pad_class("ReplicationPad1d", 1, "replicate", False)
ReplicationPad2d = _pad_class("ReplicationPad2d", 2, "replicate", False)
ReplicationPad3d = _pad_class("ReplicationPad3d", 3, "replicate", False)
CircularPad1d = _pad_class("CircularPad1d", 1, "circular", False)
CircularPad2d = _pad_class("CircularPad2d", 2, "circular", False)
CircularPad3d = _pad_class("CircularPad3d", 3, "circular", False)
