"""Op family: convolution and pooling in any number of spatial dims (1-d and 3-d chiefly),
with PyTorch's signatures and semantics: ``conv3d``, ``conv_transpose3d``, ``max_pool3d``,
``avg_pool3d``, the adaptive 3-d pools, the ``*_with_indices`` spellings, ``lp_pool1d/2d/3d``,
``max_unpool1d/2d/3d`` and ``fractional_max_pool2d/3d``.

The machinery is :mod:`.conv`'s generalized to N spatial dims: :data:`vol2col` gathers every
receptive field of the (padded) input into the columns of ``(N, C * prod(k), prod(out))``
matrices, so a convolution is one batched matmul; :data:`col2vol` is its adjoint (a
scatter-add of the columns back into the volume) and each is the other's VJP, so double
backward comes free. Both loop over the ``prod(k)`` kernel offsets only; each offset is one
strided slice of the whole batch. Max and average pooling use the same strided slices;
each backward is an op whose VJP is the forward's adjoint (max pooling: the gradient goes to
the first maximum of its window, a NaN replacing it, PyTorch's CPU rule).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..core.op import apply, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, ShapeError
from .activations import relu
from .composite import avg_pool1d, index_select, max_pool1d
from .conv import _adaptive_matrix, _avg_divisor, _check_float, _pool_out, avg_pool2d, max_pool2d
from .creation import rand
from .linalg import matmul_op
from .manipulation import gather, take_along_dim
from .reductions import argmax_
from .resample import _window_index, adaptive_max_pool1d, adaptive_max_pool2d
from .shape import concatenate, reshape, transpose, unsqueeze

__all__ = ["conv3d", "conv_transpose3d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool3d",
           "adaptive_avg_pool3d", "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
           "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d",
           "max_unpool3d", "fractional_max_pool2d", "fractional_max_pool3d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"]
TENSOR_METHODS: dict = {}


# ---------------------------------------------------------------- geometry

def _ntuple(v, n, name, what):
    """An int or a sequence of 1 or n ints, as n ints (PyTorch's _single/_pair/_triple)."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    try:
        v = tuple(int(a) for a in v)
    except TypeError:
        raise ArgumentError(f"{name}: {what} must be an int or {n} ints, got {v!r}") from None
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise ArgumentError(f"{name}: {what} must be an int or {n} ints, got {v!r}")
    return v


def _no_stride(stride):
    return stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0)


def _windows(arr, kernel, stride, dilation, out):
    """For each kernel offset (row-major): the offset and the strided slice of ``arr``
    (N, C, *padded) it reads, of shape (N, C, *out)."""
    for offs in itertools.product(*(range(k) for k in kernel)):
        yield offs, arr[(slice(None), slice(None)) + tuple(
            slice(i * d, i * d + s * (o - 1) + 1, s)
            for i, s, d, o in zip(offs, stride, dilation, out))]


def _padded_shape(shape, pads):
    return tuple(shape[:2]) + tuple(n + lo + hi for n, (lo, hi) in zip(shape[2:], pads))


def _inner(pads, sizes):
    return (slice(None), slice(None)) + tuple(slice(lo, lo + n)
                                              for n, (lo, _) in zip(sizes, pads))


def _padded(xp, x, pads, fill=0):
    if not any(lo or hi for lo, hi in pads):
        return x
    out = xp.full(_padded_shape(x.shape, pads), fill, dtype=x.dtype)
    out[_inner(pads, x.shape[2:])] = x
    return out


def _batched(n, fn, x, *args):
    """fn on (N, C, *spatial); an unbatched (C, *spatial) input gets a batch of one."""
    if x.ndim == n + 1:
        out = fn(unsqueeze(x, 0), *args)
        if isinstance(out, tuple):
            return tuple(reshape(o, o.shape[1:]) for o in out)
        return reshape(out, out.shape[1:])
    return fn(x, *args)


def _check_ndim(name, x, n):
    if x.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{name}: expected a {n + 1}-d (unbatched) or {n + 2}-d input, got "
                         f"shape {x.shape}")


# ---------------------------------------------------------------- vol2col / col2vol

@op(params=("geom",))
def vol2col(xp, x, geom):
    """cols[n, (c, *i), (*o)] = xpad[n, c, *(o * s + i * d)] (im2col in N dims)."""
    k, s, pads, d, out = geom
    n, c = x.shape[:2]
    cols = xp.empty((n, c) + k + out, dtype=x.dtype)
    for offs, view in _windows(_padded(xp, x, pads), k, s, d, out):
        cols[(slice(None), slice(None)) + offs] = view
    return cols.reshape(n, c * math.prod(k), math.prod(out))


vol2col.defvjp(lambda g, x_shape, geom: apply(col2vol, g, params=(tuple(x_shape), geom)))


@op(params=("x_shape", "geom"))
def col2vol(xp, cols, x_shape, geom):
    """The adjoint of vol2col: each column entry added back at the position it was read
    from."""
    k, s, pads, d, out = geom
    n, c = x_shape[:2]
    g = cols.reshape((n, c) + k + out)
    buf = xp.zeros(_padded_shape(x_shape, pads), dtype=cols.dtype)
    for offs, view in _windows(buf, k, s, d, out):
        view += g[(slice(None), slice(None)) + offs]
    return buf[_inner(pads, x_shape[2:])]


col2vol.defvjp(lambda g, geom: apply(vol2col, g, params=(geom,)))


# ---------------------------------------------------------------- convolution

def _conv_pads(name, n, padding, kernel, dilation, stride):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ArgumentError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride {stride})")
            return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                         for k, d in zip(kernel, dilation))  # the extra one on the right
        raise ArgumentError(f"{name}: padding must be 'valid', 'same', an int or {n} ints, got "
                         f"{padding!r}")
    p = _ntuple(padding, n, name, "padding")
    if min(p) < 0:
        raise ArgumentError(f"{name}: negative padding {padding!r}")
    return tuple((a, a) for a in p)


def _strides(name, n, stride, dilation):
    s, d = _ntuple(stride, n, name, "stride"), _ntuple(dilation, n, name, "dilation")
    if min(s) < 1 or min(d) < 1:
        raise ArgumentError(f"{name}: stride and dilation must be positive, got stride {stride!r}"
                         f" and dilation {dilation!r}")
    return s, d


def _conv_nd(name, n, input, weight, bias, stride, padding, dilation, groups):  # noqa: A002
    _check_float(name, input, weight, bias)
    if input.ndim == n + 1 and weight.ndim == n + 2:  # unbatched, as torch
        out = _conv_nd(name, n, unsqueeze(input, 0), weight, bias, stride, padding, dilation,
                       groups)
        return reshape(out, out.shape[1:])
    if input.ndim != n + 2 or weight.ndim != n + 2:
        raise ShapeError(f"{name}: expected a {n + 2}-d input (N, C, *spatial) (or {n + 1}-d, "
                         f"unbatched) and a {n + 2}-d weight (O, C/groups, *kernel), got "
                         f"{input.shape} and {weight.shape}")
    nb, c = input.shape[:2]
    o, cg = weight.shape[:2]
    k = tuple(weight.shape[2:])
    if groups < 1 or c != cg * groups or o % groups:
        raise ShapeError(f"{name}: input of shape {input.shape} with {c} channels does not "
                         f"fit weight of shape {weight.shape} and groups={groups}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ShapeError(f"{name}: bias of shape {bias.shape} does not match {o} output "
                         "channels")
    s, d = _strides(name, n, stride, dilation)
    pads = _conv_pads(name, n, padding, k, d, s)
    out = tuple((size + lo + hi - dd * (kk - 1) - 1) // ss + 1
                for size, (lo, hi), kk, ss, dd in zip(input.shape[2:], pads, k, s, d))
    if min(out) < 1:
        raise ShapeError(f"{name}: input of shape {input.shape} with padding {padding!r} is "
                         f"smaller than the kernel {k} (dilation {d})")
    cols = apply(vol2col, input, params=((k, s, pads, d, out),))  # (N, C * K, L)
    kk, L = math.prod(k), math.prod(out)
    if groups == 1:
        y = apply(matmul_op, reshape(weight, o, cg * kk), cols)  # (N, O, L)
    else:
        y = apply(matmul_op, reshape(weight, groups, o // groups, cg * kk),
                  reshape(cols, nb, groups, cg * kk, L))  # (N, G, O / G, L)
    y = reshape(y, (nb, o) + out)
    if bias is not None:
        y = y + reshape(bias, (o,) + (1,) * n)
    return y


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """3-D convolution of (N, C, D, H, W) (or unbatched (C, D, H, W)) input with
    (O, C / groups, kd, kh, kw) weights, as ``torch.nn.functional.conv3d`` (padding: an int,
    a triple, 'valid' or 'same'): vol2col and one batched matmul.

    Raises:
        ShapeError: the input or weight is not 5-d, the channels do not fit the weight and
            groups, or the (padded) input is smaller than the (dilated) kernel.
    """
    return _conv_nd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose_nd(name, n, input, weight, bias, stride, padding,  # noqa: A002
                       output_padding, groups, dilation):
    _check_float(name, input, weight, bias)
    if input.ndim == n + 1 and weight.ndim == n + 2:
        out = _conv_transpose_nd(name, n, unsqueeze(input, 0), weight, bias, stride, padding,
                                 output_padding, groups, dilation)
        return reshape(out, out.shape[1:])
    if input.ndim != n + 2 or weight.ndim != n + 2:
        raise ShapeError(f"{name}: expected a {n + 2}-d input (or {n + 1}-d, unbatched) and a "
                         f"{n + 2}-d weight (C_in, C_out/groups, *kernel), got {input.shape} "
                         f"and {weight.shape}")
    nb, c = input.shape[:2]
    ci, og = weight.shape[:2]
    k = tuple(weight.shape[2:])
    if groups < 1 or ci != c or c % groups:
        raise ShapeError(f"{name}: input of shape {input.shape} does not fit weight of shape "
                         f"{weight.shape} and groups={groups}")
    o = og * groups
    if bias is not None and tuple(bias.shape) != (o,):
        raise ShapeError(f"{name}: bias of shape {bias.shape} does not match {o} output "
                         "channels")
    if isinstance(padding, str):
        raise ArgumentError(f"{name}: padding must be an int or {n} ints, got {padding!r}")
    s, d = _strides(name, n, stride, dilation)
    p = _ntuple(padding, n, name, "padding")
    op_ = _ntuple(output_padding, n, name, "output_padding")
    if min(p) < 0 or min(op_) < 0:
        raise ArgumentError(f"{name}: negative padding {padding!r} or output_padding "
                         f"{output_padding!r}")
    if any(a >= max(si, di) for a, si, di in zip(op_, s, d)):
        raise ArgumentError(f"{name}: output_padding {output_padding!r} must be smaller than "
                         f"stride {s} or dilation {d}")
    size_in = tuple(input.shape[2:])
    size_out = tuple((i - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
                     for i, si, pi, di, ki, oi in zip(size_in, s, p, d, k, op_))
    if min(size_out) < 1:
        raise ShapeError(f"{name}: the output of shape {size_out} for input {input.shape} is "
                         "empty")
    kk, L = math.prod(k), math.prod(size_in)
    xm = reshape(input, nb, groups, c // groups, L)
    wm = reshape(weight, groups, c // groups, og * kk)
    cols = apply(matmul_op, transpose(wm, (0, 2, 1)), xm)  # (N, G, og * K, L)
    cols = reshape(cols, nb, o * kk, L)
    geom = (k, s, tuple((a, a) for a in p), d, size_in)
    out = apply(col2vol, cols, params=((nb, o) + size_out, geom))
    if bias is not None:
        out = out + reshape(bias, (o,) + (1,) * n)
    return out


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """Transposed 3-D convolution (the gradient of conv3d with respect to its input) of
    (N, C_in, D, H, W) input with (C_in, C_out / groups, kd, kh, kw) weights, as
    ``torch.nn.functional.conv_transpose3d``: one matmul, then col2vol."""
    return _conv_transpose_nd("conv_transpose3d", 3, input, weight, bias, stride, padding,
                              output_padding, groups, dilation)


# ---------------------------------------------------------------- max pooling

def _pool_geom(name, n, x, kernel_size, stride, padding, dilation, ceil_mode):
    _check_float(name, x)
    _check_ndim(name, x, n)
    k = _ntuple(kernel_size, n, name, "kernel_size")
    s = k if _no_stride(stride) else _ntuple(stride, n, name, "stride")
    p = _ntuple(padding, n, name, "padding")
    d = _ntuple(dilation, n, name, "dilation")
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ArgumentError(f"{name}: kernel_size, stride and dilation must be positive, got "
                         f"{k}, {s}, {d}")
    if min(p) < 0 or any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ArgumentError(f"{name}: padding {p} must be at most half the kernel size {k}")
    sizes = tuple(x.shape[-n:])
    out = tuple(_pool_out(sz, ki, si, pi, di, ceil_mode)
                for sz, ki, si, pi, di in zip(sizes, k, s, p, d))
    if min(out) < 1:
        raise ShapeError(f"{name}: input of shape {x.shape} is too small for kernel {k} "
                         f"(padding {p}, dilation {d}): output size {out}")
    # the padded input must hold every window, ceil_mode's last one included
    pads = tuple((pi, max(pi, (o - 1) * si + di * (ki - 1) + 1 - sz - pi))
                 for pi, o, si, di, ki, sz in zip(p, out, s, d, k, sizes))
    return (k, s, pads, d, out)


@op(params=("geom",), save=("x",))
def max_pool_nd(xp, x, geom):
    """out[n, c, *o] = the maximum of x over the window at o (padding is -inf; a NaN in the
    window gives NaN)."""
    k, s, pads, d, out = geom
    res = None
    for _, view in _windows(_padded(xp, x, pads, -np.inf), k, s, d, out):
        res = view.copy() if res is None else xp.maximum(res, view)
    return res


max_pool_nd.defvjp(lambda g, x, geom: apply(max_pool_nd_backward, g, x, params=(geom,)))


def _argmax(xp, x, geom):
    """The flat kernel offset of each window's maximum, by PyTorch's CPU rule: the first
    maximum, a NaN replacing it."""
    k, s, pads, d, out = geom
    best = idx = None
    for f, (_, view) in enumerate(_windows(_padded(xp, x, pads, -np.inf), k, s, d, out)):
        if best is None:
            best, idx = view.copy(), xp.zeros(view.shape, dtype=np.int32)
            continue
        take = (view > best) | (view != view)
        idx = xp.where(take, f, idx)
        best = xp.where(take, view, best)
    return idx


@op(params=("geom",), save=("x",))
def max_pool_nd_backward(xp, g, x, geom):
    """gx: each window's gradient added at its maximum."""
    k, s, pads, d, out = geom
    idx = _argmax(xp, x, geom)
    gx = xp.zeros(_padded_shape(x.shape, pads), dtype=g.dtype)
    zero = xp.zeros((), dtype=g.dtype)
    for f, (_, view) in enumerate(_windows(gx, k, s, d, out)):
        view += xp.where(idx == f, g, zero)
    return gx[_inner(pads, x.shape[2:])]


max_pool_nd_backward.defvjp(
    lambda gg, x, geom: apply(max_pool_nd_select, gg, x, params=(geom,)), None)


@op(params=("geom",), save=("x",))
def max_pool_nd_select(xp, h, x, geom):
    """h read at each window's maximum of x (the adjoint of max_pool_nd_backward)."""
    k, s, pads, d, out = geom
    idx = _argmax(xp, x, geom)
    res = xp.zeros(idx.shape, dtype=h.dtype)
    for f, (_, view) in enumerate(_windows(_padded(xp, h, pads), k, s, d, out)):
        res = xp.where(idx == f, view, res)
    return res


max_pool_nd_select.defvjp(
    lambda g, x, geom: apply(max_pool_nd_backward, g, x, params=(geom,)), None)


@op(params=("geom",), differentiable=False)
def max_pool_nd_indices(xp, x, geom):
    """The flat index of each window's maximum in its (*spatial) volume (int64), by the rule
    the gradient follows: the first maximum, a NaN replacing it."""
    k, s, pads, d, out = geom
    rem = _argmax(xp, x, geom).astype(np.int64)
    sizes = x.shape[2:]
    n = len(k)
    flat = 0
    for j in reversed(range(n)):
        i, rem = rem % k[j], rem // k[j]
        shape = [1] * n
        shape[j] = out[j]
        start = (xp.arange(out[j], dtype=np.int64) * s[j] - pads[j][0]).reshape(shape)
        flat = flat + (start + i * d[j]) * math.prod(sizes[j + 1:])
    return flat


def _max_pool(name, n, input, kernel_size, stride, padding, dilation,  # noqa: A002
              ceil_mode, return_indices):
    geom = _pool_geom(name, n, input, kernel_size, stride, padding, dilation, ceil_mode)
    out = _batched(n, lambda x: apply(max_pool_nd, x, params=(geom,)), input)
    if return_indices:
        return out, _batched(n, lambda x: apply(max_pool_nd_indices, x, params=(geom,)), input)
    return out


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """3-D max pooling of (N, C, D, H, W) or (C, D, H, W) input, as
    ``torch.nn.functional.max_pool3d`` (stride defaults to kernel_size; the gradient goes to
    the first maximum of each window, a NaN replacing it; indices are flat in D * H * W)."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0,  # noqa: A002
                            dilation=1, ceil_mode=False, return_indices=False):
    """``max_pool1d(..., return_indices=True)``: (values, indices) whatever return_indices."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0,  # noqa: A002
                            dilation=1, ceil_mode=False, return_indices=False):
    """``max_pool2d(..., return_indices=True)``: (values, indices) whatever return_indices."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0,  # noqa: A002
                            dilation=1, ceil_mode=False, return_indices=False):
    """``max_pool3d(..., return_indices=True)``: (values, indices) whatever return_indices."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---------------------------------------------------------------- average pooling

@op(params=("geom",), save=("div",))
def avg_pool_nd(xp, x, div, geom):
    """out = the sum of x over each window (zero padding) / div[*o]."""
    k, s, pads, d, out = geom
    res = None
    for _, view in _windows(_padded(xp, x, pads), k, s, d, out):
        res = view.copy() if res is None else res + view
    return res / div


avg_pool_nd.defvjp(lambda g, x_shape, div, geom: apply(
    avg_pool_nd_backward, g, div, params=(tuple(x_shape), geom)), None)


@op(params=("x_shape", "geom"), save=("div",))
def avg_pool_nd_backward(xp, g, div, x_shape, geom):
    """gx: each window's gradient / div spread over the window (the adjoint of
    avg_pool_nd)."""
    k, s, pads, d, out = geom
    gx = xp.zeros(_padded_shape(x_shape, pads), dtype=g.dtype)
    share = g / div
    for _, view in _windows(gx, k, s, d, out):
        view += share
    return gx[_inner(pads, x_shape[2:])]


avg_pool_nd_backward.defvjp(lambda gg, div, geom: apply(avg_pool_nd, gg, div,
                                                        params=(geom,)), None)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """3-D average pooling of (N, C, D, H, W) or (C, D, H, W) input, as
    ``torch.nn.functional.avg_pool3d`` (count_include_pad=True and ceil_mode=False by
    default; divisor_override replaces the window size)."""
    geom = _pool_geom("avg_pool3d", 3, input, kernel_size, stride, padding, 1, ceil_mode)
    k, s, _, _, out = geom
    p = _ntuple(padding, 3, "avg_pool3d", "padding")
    if divisor_override is not None:
        if divisor_override == 0:
            raise ArgumentError("avg_pool3d: divisor_override must be non-zero")
        div = np.full(out, float(divisor_override))
    else:
        div = np.ones(())
        for j, size in enumerate(input.shape[-3:]):
            shape = [1, 1, 1]
            shape[j] = out[j]
            div = div * _avg_divisor(size, k[j], s[j], p[j], out[j],
                                     count_include_pad).reshape(shape)
    div = Tensor(div.astype(input.dtype), device=input.device)
    return _batched(3, lambda x: apply(avg_pool_nd, x, div, params=(geom,)), input)


# ---------------------------------------------------------------- adaptive pooling

def _adaptive_size(name, n, x, output_size):
    if isinstance(output_size, (int, np.integer)):
        output_size = (int(output_size),) * n
    output_size = tuple(output_size)
    if len(output_size) != n:
        raise ArgumentError(f"{name}: output_size must be an int or {n} ints (or None), got "
                         f"{output_size!r}")
    sizes = tuple(x.shape[-n:])
    out = tuple(sz if o is None else int(o) for sz, o in zip(sizes, output_size))
    if min(out) < 1 or min(sizes) < 1:
        raise ShapeError(f"{name}: cannot pool input of shape {x.shape} to {out}")
    return out


def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    """Adaptive average pooling of (N, C, D, H, W) or (C, D, H, W) input to ``output_size``
    (an int, or a triple whose None entries keep the input's size), as
    ``torch.nn.functional.adaptive_avg_pool3d``: three averaging matmuls."""
    name = "adaptive_avg_pool3d"
    _check_float(name, input)
    _check_ndim(name, input, 3)
    do, ho, wo = _adaptive_size(name, 3, input, output_size)
    lead, (d, h, w) = tuple(input.shape[:-3]), tuple(input.shape[-3:])

    def mat(size, out, t=False):
        m = _adaptive_matrix(size, out, input.dtype)
        return Tensor(m.T if t else m, device=input.device)
    y = apply(matmul_op, input, mat(w, wo, True))              # (*lead, D, H, Wo)
    y = apply(matmul_op, mat(h, ho), y)                        # (*lead, D, Ho, Wo)
    y = apply(matmul_op, mat(d, do), reshape(y, lead + (d, ho * wo)))  # (*lead, Do, Ho Wo)
    return reshape(y, lead + (do, ho, wo))


def _first_max(win, shape):
    """The index of each window's first maximum along the last axis (keepdims); an empty
    batch has none to look for."""
    if win.size == 0:
        return Tensor(np.zeros(shape, dtype=np.int64), device=win.device)
    return argmax_(win, axis=-1, keepdims=True)


def _adaptive_max_nd(name, n, x, out, return_indices):
    """Each adaptive window's entries gathered (PyTorch's start and end per axis, short
    windows padded with a repeat of their last position, which never wins a first-max),
    then the first maximum of each; indices are flat in the spatial volume."""
    _check_float(name, x)
    _check_ndim(name, x, n)
    sizes = tuple(x.shape[-n:])
    lead = tuple(x.shape[:-n])
    idx = [_window_index(sz, o) for sz, o in zip(sizes, out)]  # per axis (o, kmax)
    pos = np.zeros((1,) * (2 * n), dtype=np.int64)
    for j, ij in enumerate(idx):
        shape = [1] * (2 * n)
        shape[j], shape[n + j] = ij.shape
        pos = pos + ij.reshape(shape) * math.prod(sizes[j + 1:])
    pos = pos.reshape(out + (-1,))                          # (*out, K)
    kk = pos.shape[-1]
    flat = reshape(x, lead + (math.prod(sizes),))
    index = Tensor(pos.reshape(-1), device=x.device)  # one index for every plane
    win = reshape(index_select(flat, flat.ndim - 1, index), lead + out + (kk,))
    best = _first_max(win, lead + out + (1,))
    values = reshape(take_along_dim(win, best, dim=-1), lead + out)
    if not return_indices:
        return values
    pos = pos.reshape((1,) * len(lead) + pos.shape)
    where = take_along_dim(Tensor(pos, device=x.device), best, dim=-1)
    return values, reshape(where, lead + out)


def adaptive_max_pool3d(input, output_size, return_indices=False):  # noqa: A002
    """Adaptive max pooling of (N, C, D, H, W) or (C, D, H, W) input to ``output_size`` (an
    int, or a triple whose None entries keep the input's size), as
    ``torch.nn.functional.adaptive_max_pool3d``; indices are flat in D * H * W."""
    name = "adaptive_max_pool3d"
    _check_ndim(name, input, 3)
    out = _adaptive_size(name, 3, input, output_size)
    return _adaptive_max_nd(name, 3, input, out, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    """``adaptive_max_pool1d(..., return_indices=True)``: (values, indices)."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    """``adaptive_max_pool2d(..., return_indices=True)``: (values, indices)."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):  # noqa: A002
    """``adaptive_max_pool3d(..., return_indices=True)``: (values, indices)."""
    return adaptive_max_pool3d(input, output_size, True)


# ---------------------------------------------------------------- power-average pooling

def _lp_pool(name, n, input, norm_type, kernel_size, stride, ceil_mode):  # noqa: A002
    maxp = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}[n]
    avgp = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}[n]
    k = _ntuple(kernel_size, n, name, "kernel_size")
    if norm_type == float("inf"):
        return maxp(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -maxp(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    ks = k[0] if n == 1 else k
    out = avgp(input ** norm_type, ks, None if _no_stride(stride) else stride, 0, ceil_mode)
    return ((out.sign() * relu(out.abs())) * math.prod(k)) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """Power-average pooling over (N, C, L) input, as ``torch.nn.functional.lp_pool1d``:
    ``(sum over the window of x^p)^(1/p)`` (p = inf: the max of |x|)."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """Power-average pooling over (N, C, H, W) input, as ``torch.nn.functional.lp_pool2d``."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):  # noqa: A002
    """Power-average pooling over (N, C, D, H, W) input, as
    ``torch.nn.functional.lp_pool3d``."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


# ---------------------------------------------------------------- max unpooling

@op(params=("size",), save=("index",))
def max_unpool_op(xp, x, index, size):
    """out (rows, size) zeros with out[r, index[r, i]] = x[r, i] (a later write wins);
    x and index of shape (rows, L)."""
    rows, length = x.shape
    if index.size and (int(index.min()) < 0 or int(index.max()) >= size):
        bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
        raise ShapeError(f"max_unpool: found an invalid max index {bad} (output volumes are "
                         f"of size {size})")
    out = xp.zeros((rows, size), dtype=x.dtype)
    base = (xp.arange(rows, dtype=np.int64) * size).reshape(rows, 1)
    out.reshape(-1)[(base + index).reshape(-1)] = x.reshape(-1)
    return out


max_unpool_op.defvjp(lambda g, index: gather(g, 1, index), None)


def _max_unpool(name, n, input, indices, kernel_size, stride, padding,  # noqa: A002
                output_size):
    _check_float(name, input)
    _check_ndim(name, input, n)
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
        raise ShapeError(f"{name}: indices must be an integer Tensor, got "
                         f"{getattr(indices, 'dtype', type(indices).__name__)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise ShapeError(f"{name}: input of shape {input.shape} and indices of shape "
                         f"{indices.shape} must have the same shape")
    k = _ntuple(kernel_size, n, name, "kernel_size")
    s = k if _no_stride(stride) else _ntuple(stride, n, name, "stride")
    p = _ntuple(padding, n, name, "padding")
    sizes = tuple(input.shape[-n:])
    default = tuple((i - 1) * si + ki - 2 * pi for i, si, ki, pi in zip(sizes, s, k, p))
    if output_size is None:
        out = default
    else:
        out = tuple(int(a) for a in output_size)
        if len(out) == n + 2:
            out = out[2:]
        if len(out) != n:
            raise ArgumentError(f"{name}: output_size should be a sequence containing {n} or "
                             f"{n + 2} elements, but it has a length of '{len(out)}'")
        for j in range(n):
            lo, hi = default[j] - s[j], default[j] + s[j]
            if not lo < out[j] < hi:
                raise ArgumentError(f'{name}: invalid output_size "{output_size}" (dim {j} must '
                                 f"be between {lo} and {hi})")
    if min(out) < 0:
        raise ShapeError(f"{name}: output size {out} must not be negative")
    lead = tuple(input.shape[:-n])
    rows = math.prod(lead)
    flat = apply(max_unpool_op, reshape(input, rows, math.prod(sizes)),
                 reshape(indices.astype("int64"), rows, math.prod(sizes)),
                 params=(math.prod(out),))
    return reshape(flat, lead + out)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """The partial inverse of max_pool1d, as ``torch.nn.functional.max_unpool1d``: zeros
    with each value written at its index (flat along L)."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """The partial inverse of max_pool2d, as ``torch.nn.functional.max_unpool2d`` (indices
    flat in H * W)."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0,  # noqa: A002
                 output_size=None):
    """The partial inverse of max_pool3d, as ``torch.nn.functional.max_unpool3d`` (indices
    flat in D * H * W)."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


# ---------------------------------------------------------------- fractional max pooling

def _intervals(samples, size, out, k):
    """PyTorch's generate_intervals, through ops (so ge.jit replays it): the window starts
    (N, C, out) along one axis from each plane's sample (N, C), computed in the samples'
    dtype as PyTorch computes them: int((i + u) * alpha) - int(u * alpha), the last at
    size - k."""
    lead = tuple(samples.shape)
    last = Tensor(np.full(lead + (1,), size - k, dtype=np.int64), device=samples.device)
    if out == 1:
        return last
    dt = samples.dtype.type
    alpha = float(dt(size - k) / dt(out - 1))  # the quotient rounded to the samples' dtype
    i = Tensor(np.arange(out - 1).astype(samples.dtype), device=samples.device)
    u = reshape(samples, lead + (1,))
    head = ((i + u) * alpha).astype("int64") - (u * alpha).astype("int64")
    return concatenate([head, last], axis=-1)


def _fractional(name, n, input, kernel_size, output_size, output_ratio,  # noqa: A002
                return_indices, _random_samples):
    _check_float(name, input)
    _check_ndim(name, input, n)
    if output_size is None and output_ratio is None:
        raise ArgumentError(f"{name} requires specifying either an output_size or an "
                         "output_ratio")
    k = _ntuple(kernel_size, n, name, "kernel_size")
    sizes = tuple(input.shape[-n:])
    if output_size is None:
        ratio = (float(output_ratio),) * n if isinstance(output_ratio, (int, float)) else \
            tuple(float(r) for r in output_ratio)
        if len(ratio) == 1:
            ratio = ratio * n
        out = tuple(int(sz * r) for sz, r in zip(sizes, ratio))
    else:
        out = _ntuple(output_size, n, name, "output_size")
    for o, ki, sz in zip(out, k, sizes):
        if o + ki - 1 > sz or o < 1 or ki < 1:
            raise ShapeError(f"{name}: output size {out} with kernel {k} does not fit input "
                             f"of shape {input.shape}")
    x = input if input.ndim == n + 2 else unsqueeze(input, 0)
    nb, c = x.shape[:2]
    if _random_samples is None:
        _random_samples = rand((nb, c, n), dtype=input.dtype, device=input.device)
    samples = _random_samples if isinstance(_random_samples, Tensor) else \
        Tensor(np.asarray(_random_samples), device=input.device)
    if tuple(samples.shape) != (nb, c, n) or samples.dtype.kind != "f":
        raise ShapeError(f"{name}: _random_samples of shape {samples.shape} and dtype "
                         f"{samples.dtype} must be floating of shape {(nb, c, n)}")
    # (N, C, *out, K) flat positions of every window, per plane; PyTorch's kernels read the
    # samples as (w, h) in 2-d and as (t, h, w) in 3-d
    order = (1, 0) if n == 2 else tuple(range(n))
    pos = None
    for j in range(n):
        starts = _intervals(samples[:, :, order[j]], sizes[j], out[j], k[j])  # (N, C, out_j)
        offs = Tensor(np.arange(k[j], dtype=np.int64), device=x.device)
        cells = reshape(starts, (nb, c, out[j], 1)) + offs                    # (N, C, o, k)
        shape = [nb, c] + [1] * (2 * n)
        shape[2 + j], shape[2 + n + j] = out[j], k[j]
        term = reshape(cells, tuple(shape)) * math.prod(sizes[j + 1:])
        pos = term if pos is None else pos + term
    kk = math.prod(k)
    pos = reshape(pos, (nb, c) + out + (kk,))
    flat = reshape(x, nb, c, math.prod(sizes))
    index = reshape(pos, nb, c, math.prod(out) * kk)
    win = reshape(gather(flat, 2, index), (nb, c) + out + (kk,))
    best = _first_max(win, (nb, c) + out + (1,))
    values = reshape(take_along_dim(win, best, dim=-1), (nb, c) + out)
    where = reshape(take_along_dim(pos, best, dim=-1), (nb, c) + out)
    if input.ndim == n + 1:
        values, where = reshape(values, values.shape[1:]), reshape(where, where.shape[1:])
    return (values, where) if return_indices else values


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices=False, _random_samples=None):
    """Fractional max pooling of (N, C, H, W) or (C, H, W) input, as
    ``torch.nn.functional.fractional_max_pool2d``: pseudo-random window starts from
    ``_random_samples`` (N, C, 2) in [0, 1) (drawn with ge's generator when None; the same
    samples give torch's windows)."""
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,  # noqa: A002
                          return_indices=False, _random_samples=None):
    """Fractional max pooling of (N, C, D, H, W) or (C, D, H, W) input, as
    ``torch.nn.functional.fractional_max_pool3d`` (``_random_samples`` (N, C, 3))."""
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                       output_ratio, return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None,  # noqa: A002
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """``fractional_max_pool2d(..., return_indices=True)``: (values, indices)."""
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None,  # noqa: A002
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None):
    """``fractional_max_pool3d(..., return_indices=True)``: (values, indices)."""
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)
