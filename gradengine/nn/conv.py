"""Convolution and pooling modules with PyTorch's names, layout (NCHW) and initialisation:
:class:`Conv1d`, :class:`Conv2d` (weight (out, in / groups, kH, kW)), :class:`ConvTranspose1d`,
:class:`ConvTranspose2d` (weight (in, out / groups, kH, kW)), the max, average and adaptive
pools in 1-d and 2-d. Each calls the matching ``F`` function."""

from __future__ import annotations

import math

from .. import backend
from .. import functional as F
from . import _keras_init, init
from .module import Module, Parameter

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
           "MaxPool1d", "MaxPool2d"]


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(v, n):
    return (int(v),) * n if isinstance(v, int) else tuple(int(a) for a in v)


class _ConvNd(Module):
    n = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=None,
                 device=None):
        super().__init__()
        name = type(self).__name__
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {set(_PADDING_MODES)}, but "
                             f"got padding_mode='{padding_mode}'")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"{name}: padding must be 'same', 'valid', an int or a tuple, "
                             f"got {padding!r}")
        if padding == "same" and any(s != 1 for s in _tuple(stride, self.n)):
            raise ValueError(f"{name}: padding='same' is not supported for strided "
                             f"convolutions (stride {stride!r})")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _tuple(kernel_size, self.n)
        self.stride = _tuple(stride, self.n)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, self.n)
        self.padding_mode = padding_mode
        self.dilation = _tuple(dilation, self.n)
        self.groups = int(groups)
        dev = backend.normalize_device(device, name) if device is not None else \
            backend.get_default_device()
        fan_in = (self.in_channels // self.groups) * math.prod(self.kernel_size)
        # PyTorch's default: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        init = _keras_init.RandomUniform(-bound, bound)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(init(shape, dtype, dev), device=dev)
        self.bias = Parameter(init((self.out_channels,), dtype, dev), device=dev) if bias \
            else None

    def reset_parameters(self):
        """Draw the weight and bias again as the constructor does (U(-1/sqrt(fan_in),
        1/sqrt(fan_in)), fan_in = weight.shape[1] * the kernel's size), in place."""
        w = self.weight
        if getattr(w, "_lazy_uninit", False):  # a lazy module before its first call
            return
        fan_in = w.shape[1] * math.prod(w.shape[2:])
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        draw = _keras_init.RandomUniform(-bound, bound)
        for p in (w, self.bias):
            if p is not None:
                init._write(p, draw(p.shape, p.dtype, p.device))

    def extra_repr(self):
        # torch.nn.Conv*d's: the defaults are left out
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self.n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _reversed_padding_repeated_twice(self):
        """F.pad's widths (last dim first) for ``padding_mode``, as PyTorch's attribute."""
        if self.padding == "valid":
            return (0,) * (2 * self.n)
        if self.padding == "same":
            out = []
            for d, k in reversed(list(zip(self.dilation, self.kernel_size))):
                total = d * (k - 1)
                out += [total // 2, total - total // 2]
            return tuple(out)
        return tuple(p for p in reversed(self.padding) for _ in range(2))

    def _conv_forward(self, x, weight, bias):
        # PyTorch's rule for a non-zero padding_mode: pad with that mode, then an unpadded conv
        if self.padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice(), self.padding_mode)
            return self._conv(x, weight, bias, 0)
        return self._conv(x, weight, bias, self.padding)

    def forward(self, x):
        return self._conv_forward(x, self.weight, self.bias)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) input, ``torch.nn.Conv2d``'s arguments, layout and
    initialisation (weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))).

    Example:
        >>> conv = nn.Conv2d(1, 8, 3, padding=1); y = conv(x)   # x (N, 1, 8, 8) -> (N, 8, 8, 8)
    """

    n = 2

    def _conv(self, x, weight, bias, padding):
        return F.conv2d(x, weight, bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) input, ``torch.nn.Conv1d``'s arguments and layout."""

    n = 1

    def _conv(self, x, weight, bias, padding):
        if not isinstance(padding, str):
            padding = _tuple(padding, 1)[0]
        return F.conv1d(x, weight, bias, self.stride[0], padding, self.dilation[0],
                        self.groups)


class MaxPool2d(Module):
    """The maximum over each ``kernel_size`` window (stride defaults to the kernel size),
    ``torch.nn.MaxPool2d``'s arguments."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != [] else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                f", dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean over each ``kernel_size`` window (padding counted, as PyTorch's default),
    ``torch.nn.AvgPool2d``'s arguments."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != [] else kernel_size
        self.padding = padding
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` (an int or a pair), as
    ``torch.nn.AdaptiveAvgPool2d``."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class _ConvTransposeNd(_ConvNd):
    """Transposed convolution: weight (in, out / groups, *kernel), bias (out,), PyTorch's
    initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = out / groups * kernel)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=None, device=None):
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got "
                             f"{padding!r}")
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, device)
        self.output_padding = _tuple(output_padding, self.n)
        dev = self.weight.device
        fan_in = (self.out_channels // self.groups) * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        init = _keras_init.RandomUniform(-bound, bound)
        shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        self.weight = Parameter(init(shape, dtype, dev), device=dev)
        if self.bias is not None:
            self.bias = Parameter(init((self.out_channels,), dtype, dev), device=dev)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C, H, W) input, ``torch.nn.ConvTranspose2d``'s
    arguments, layout and initialisation."""

    n = 2

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C, L) input, ``torch.nn.ConvTranspose1d``'s."""

    n = 1

    def forward(self, x):
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride[0], self.padding[0],
                                  self.output_padding[0], self.groups, self.dilation[0])


class MaxPool1d(MaxPool2d):
    """The maximum over each window of (N, C, L) input, ``torch.nn.MaxPool1d``'s arguments."""

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool1d(Module):
    """The mean over each window of (N, C, L) input, ``torch.nn.AvgPool1d``'s arguments."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != [] else kernel_size
        self.padding = padding
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average pooling of (N, C, L) input to ``output_size`` positions."""

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size``, as ``torch.nn.AdaptiveMaxPool2d``."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, bool(return_indices)

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """Max pooling of (N, C, L) input to ``output_size`` positions."""

    def forward(self, x):
        return F.adaptive_max_pool1d(x, self.output_size, self.return_indices)
