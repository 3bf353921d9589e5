"""The 3-d convolution, pooling and normalization modules, and the pools 1-d and 2-d lacked,
with PyTorch's names, arguments, parameter shapes and initialisation (a torch state dict
loads as is) and reprs: :class:`Conv3d` (``padding_mode`` too), :class:`ConvTranspose3d`,
the lazy twins, :class:`MaxPool3d`, :class:`AvgPool3d`, the adaptive 3-d pools,
``LPPool1d/2d/3d``, ``MaxUnpool1d/2d/3d``, ``FractionalMaxPool2d/3d``, :class:`BatchNorm3d`,
:class:`InstanceNorm3d` and their lazy twins. Each calls the matching ``F`` function."""

from __future__ import annotations

from .. import functional as F
from .conv import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    MaxPool2d,
    _ConvNd,
    _ConvTransposeNd,
)
from .extras import _LazyConv, _LazyConvT, _LazyNorm
from .module import Module
from .normalization import _BatchNorm, _InstanceNorm

__all__ = ["Conv3d", "ConvTranspose3d", "LazyConv3d", "LazyConvTranspose3d", "MaxPool3d",
           "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d",
           "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "FractionalMaxPool2d",
           "FractionalMaxPool3d", "BatchNorm3d", "InstanceNorm3d", "LazyBatchNorm3d",
           "LazyInstanceNorm3d"]



def _tuple(v, n):
    return (int(v),) * n if isinstance(v, int) else tuple(int(a) for a in v)


# ---------------------------------------------------------------- convolution

class Conv3d(_ConvNd):
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) input, ``torch.nn.Conv3d``'s
    arguments, layout (weight (out, in / groups, kD, kH, kW)) and initialisation
    (U(-1/sqrt(fan_in), 1/sqrt(fan_in))); ``padding_mode`` 'zeros', 'reflect', 'replicate'
    or 'circular' as PyTorch (the input padded by F.pad, then an unpadded convolution).

    Example:
        >>> conv = nn.Conv3d(1, 4, 3, padding=1); y = conv(x)   # (N, 1, 8, 8, 8) -> (N, 4, 8, 8, 8)
    """

    n = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, device)

    def _conv(self, x, weight, bias, padding):
        return F.conv3d(x, weight, bias, self.stride, padding, self.dilation, self.groups)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C, D, H, W) or (C, D, H, W) input,
    ``torch.nn.ConvTranspose3d``'s arguments, layout (weight (in, out / groups, kD, kH, kW))
    and initialisation; ``forward(x, output_size=None)`` picks the output padding that gives
    ``output_size``, as PyTorch."""

    n = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding,
                         output_padding, groups, bias, dilation, padding_mode, dtype, device)

    def _output_padding(self, x, output_size):
        """PyTorch's rule: the output padding that turns the minimum size into
        ``output_size`` (spatial sizes, or with the batch and channel sizes in front)."""
        if output_size is None:
            return self.output_padding
        n = self.n
        lead = 2 if x.ndim == n + 2 else 1
        output_size = tuple(int(s) for s in output_size)
        if len(output_size) == lead + n:
            output_size = output_size[lead:]
        if len(output_size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {x.ndim}D input, output_size must have "
                             f"{n} or {lead + n} elements (got {len(output_size)})")
        lo = [(x.shape[lead + j] - 1) * self.stride[j] - 2 * self.padding[j] +
              self.dilation[j] * (self.kernel_size[j] - 1) + 1 for j in range(n)]
        hi = [a + s - 1 for a, s in zip(lo, self.stride)]
        for size, a, b in zip(output_size, lo, hi):
            if size < a or size > b:
                raise ValueError(f"requested an output size of {list(output_size)}, but valid "
                                 f"sizes range from {lo} to {hi} (for an input of "
                                 f"{tuple(x.shape[lead:])})")
        return tuple(s - a for s, a in zip(output_size, lo))

    def forward(self, x, output_size=None):
        return F.conv_transpose3d(x, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(x, output_size), self.groups,
                                  self.dilation)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self.n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class LazyConv3d(_LazyConv, Conv3d):
    """``nn.Conv3d`` whose ``in_channels`` comes from the first input
    (``torch.nn.LazyConv3d(out_channels, kernel_size, ...)``)."""

    cls_to_become = Conv3d


class LazyConvTranspose3d(_LazyConvT, ConvTranspose3d):
    """``nn.ConvTranspose3d`` whose ``in_channels`` comes from the first input."""

    cls_to_become = ConvTranspose3d


# ---------------------------------------------------------------- pooling

class MaxPool3d(MaxPool2d):
    """The maximum over each ``kernel_size`` window of (N, C, D, H, W) or (C, D, H, W)
    input, ``torch.nn.MaxPool3d``'s arguments (stride defaults to the kernel size)."""

    def forward(self, x):
        return F.max_pool3d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool3d(AvgPool2d):
    """The mean over each ``kernel_size`` window of (N, C, D, H, W) or (C, D, H, W) input,
    ``torch.nn.AvgPool3d``'s arguments (padding counted by default)."""

    def forward(self, x):
        return F.avg_pool3d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) input to ``output_size`` (an int
    or a triple, None keeping a size), as ``torch.nn.AdaptiveAvgPool3d``."""

    def forward(self, x):
        return F.adaptive_avg_pool3d(x, self.output_size)


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) input to ``output_size``, as
    ``torch.nn.AdaptiveMaxPool3d``."""

    def forward(self, x):
        return F.adaptive_max_pool3d(x, self.output_size, self.return_indices)


class _LPPool(Module):
    fn = None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, x):
        return type(self).fn(x, float(self.norm_type), self.kernel_size, self.stride,
                             self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPool):
    """Power-average pooling ``(sum of x^p over the window)^(1/p)`` over (N, C, L) input, as
    ``torch.nn.LPPool1d(norm_type, kernel_size, stride=None, ceil_mode=False)``."""

    fn = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPool):
    """Power-average pooling over (N, C, H, W) input, as ``torch.nn.LPPool2d``."""

    fn = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPool):
    """Power-average pooling over (N, C, D, H, W) input, as ``torch.nn.LPPool3d``."""

    fn = staticmethod(F.lp_pool3d)


class _MaxUnpool(Module):
    n = 2
    fn = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _tuple(kernel_size, self.n)
        self.stride = _tuple(stride if stride is not None else kernel_size, self.n)
        self.padding = _tuple(padding, self.n)

    def forward(self, input, indices, output_size=None):  # noqa: A002
        return type(self).fn(input, indices, self.kernel_size, self.stride, self.padding,
                             output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """The partial inverse of MaxPool1d (zeros, each value at its index), as
    ``torch.nn.MaxUnpool1d``; ``forward(input, indices, output_size=None)``."""

    n = 1
    fn = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    """The partial inverse of MaxPool2d, as ``torch.nn.MaxUnpool2d``."""

    n = 2
    fn = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpool):
    """The partial inverse of MaxPool3d, as ``torch.nn.MaxUnpool3d``."""

    n = 3
    fn = staticmethod(F.max_unpool3d)


class _FractionalMaxPool(Module):
    n = 2
    fn = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _tuple(kernel_size, self.n)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)  # in the state dict, as torch
        self.output_size = _tuple(output_size, self.n) if output_size is not None else None
        self.output_ratio = None
        if output_ratio is not None:
            r = output_ratio
            self.output_ratio = (float(r),) * self.n if isinstance(r, (int, float)) else \
                tuple(float(a) for a in r)
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a "
                             "pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, x):
        return type(self).fn(x, self.kernel_size, self.output_size, self.output_ratio,
                             self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPool):
    """Fractional max pooling over (N, C, H, W) or (C, H, W) input, as
    ``torch.nn.FractionalMaxPool2d`` (fresh window offsets per call unless
    ``_random_samples`` is given)."""

    n = 2
    fn = staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPool):
    """Fractional max pooling over (N, C, D, H, W) or (C, D, H, W) input, as
    ``torch.nn.FractionalMaxPool3d``."""

    n = 3
    fn = staticmethod(F.fractional_max_pool3d)


# ---------------------------------------------------------------- normalization

class BatchNorm3d(_BatchNorm):
    """Batch normalization over (N, C, D, H, W) input, ``torch.nn.BatchNorm3d`` (batch
    statistics while training, the running ones after ``eval()``)."""

    dims = (5,)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization over (N, C, D, H, W) or (C, D, H, W) input,
    ``torch.nn.InstanceNorm3d`` (no affine parameters and no running statistics by
    default)."""

    dims = (4, 5)

    def forward(self, x):
        if x.ndim == 4:  # unbatched, as torch
            out = super().forward(F.unsqueeze(x, 0))
            return F.reshape(out, out.shape[1:])
        return super().forward(x)


class LazyBatchNorm3d(_LazyNorm, BatchNorm3d):
    """``nn.BatchNorm3d`` whose ``num_features`` comes from the first input."""

    cls_to_become = BatchNorm3d


class LazyInstanceNorm3d(_LazyNorm, InstanceNorm3d):
    """``nn.InstanceNorm3d`` whose ``num_features`` comes from the first input; as
    ``torch.nn.LazyInstanceNorm3d``, affine and tracking running statistics by default
    (unlike InstanceNorm3d)."""

    cls_to_become = InstanceNorm3d

    def _in_size(self, x):
        return x.shape[0] if x.ndim == 4 else x.shape[1]
