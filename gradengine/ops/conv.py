"""Op family: convolution and pooling, NCHW, with PyTorch's signatures and semantics.

A convolution is im2col, one matmul, and a reshape: :data:`im2col` gathers every receptive
field of the (padded) input into the columns of ``(N, C * kh * kw, Ho * Wo)`` matrices, so
the layer is one batched GEMM whose result is already NCHW (cuBLAS on CUDA, through the
matmul op); :data:`col2im` is its
adjoint (a scatter-add of the columns back into the image) and each is the other's VJP, so
double backward comes free. Both loop over the kh * kw kernel offsets only; every offset is
one strided slice of the whole batch (no loop over pixels).

Pooling uses the same strided slices: max_pool2d is kh * kw elementwise maxima, its
backward an op that routes each gradient to the first maximum of its window (PyTorch's
tie rule) and whose VJP gathers from the same places; avg_pool2d and its backward are
each other's adjoints; adaptive_avg_pool2d is two small averaging matmuls.
"""

from __future__ import annotations

import numpy as np

from ..core.op import apply, call, op
from ..core.tensor import Tensor
from ..errors import ArgumentError, DTypeError, ShapeError
from .linalg import _mm, _mT, matmul_op
from .shape import broadcast_to, reshape, transpose

__all__ = ["conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d",
           "adaptive_avg_pool2d"]
TENSOR_METHODS: dict = {}


# ---------------------------------------------------------------- geometry

def _pair(v, name, what):
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * 2
    if len(v) != 2:
        raise ArgumentError(f"{name}: {what} must be an int or a pair, got {v!r}")
    return v


def _out_size(size, k, s, pad_lo, pad_hi, d):
    return (size + pad_lo + pad_hi - d * (k - 1) - 1) // s + 1


def _windows(xp, xpad, k, s, d, out_hw):
    """The strided slice of the padded input seen by kernel offset (i, j), for each offset:
    ``(i, j, view)`` with view of shape (N, C, Ho, Wo)."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = k, s, d, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i, j, xpad[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                             j * dw:j * dw + sw * (wo - 1) + 1:sw]


def _padded(xp, x, pads, fill=0):
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    out = xp.full((n, c, h + pt + pb, w + pl + pr), fill, dtype=x.dtype)
    out[:, :, pt:pt + h, pl:pl + w] = x
    return out


# ---------------------------------------------------------------- im2col / col2im

@op(params=("kernel", "stride", "pads", "dilation", "out_hw"))
def im2col(xp, x, kernel, stride, pads, dilation, out_hw):
    """cols[n, (c, i, j), (ho, wo)] = xpad[n, c, ho * s + i * d, wo * s + j * d]."""
    n, c, h, w = x.shape
    kh, kw = kernel
    ho, wo = out_hw
    cols = xp.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    xpad = _padded(xp, x, pads)
    for i, j, view in _windows(xp, xpad, kernel, stride, dilation, out_hw):
        cols[:, :, i, j] = view
    return cols.reshape(n, c * kh * kw, ho * wo)


im2col.defvjp(lambda g, x_shape, kernel, stride, pads, dilation, out_hw: apply(
    col2im, g, params=(tuple(x_shape), kernel, stride, pads, dilation, out_hw)))


@op(params=("x_shape", "kernel", "stride", "pads", "dilation", "out_hw"))
def col2im(xp, cols, x_shape, kernel, stride, pads, dilation, out_hw):
    """The adjoint of im2col: each column entry added back at the pixel it was read from."""
    n, c = x_shape[:2]
    g = cols.reshape(n, c, *kernel, *out_hw)
    return _add_back(xp, lambda i, j: g[:, :, i, j], x_shape, kernel, stride, pads,
                     dilation, out_hw, cols.dtype, False)


def _add_back(xp, at, x_shape, kernel, stride, pads, dilation, out_hw, dtype, channel_major):
    """The shared body of col2im and col2im_cm: ``at(i, j)`` (the columns of kernel offset
    (i, j), as (N, C, Ho, Wo), or (C, N, Ho, Wo) when ``channel_major``) added into a zero
    padded image at the pixels they were read from; the image without its padding."""
    n, c, h, w = x_shape
    (pt, pb), (pl, pr) = pads
    out = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=dtype)
    target = out.transpose(1, 0, 2, 3) if channel_major else out
    for i, j, view in _windows(xp, target, kernel, stride, dilation, out_hw):
        view += at(i, j)
    return out[:, :, pt:pt + h, pl:pl + w]


col2im.defvjp(lambda g, kernel, stride, pads, dilation, out_hw: apply(
    im2col, g, params=(kernel, stride, pads, dilation, out_hw)))


# ---------------------------------------------------------------- channel-major columns

@op(params=("kernel", "stride", "pads", "dilation", "out_hw"))
def im2col_cm(xp, x, kernel, stride, pads, dilation, out_hw):
    """im2col with the batch in the columns: cols[(c, i, j), (n, ho, wo)] =
    xpad[n, c, ho * s + i * d, wo * s + j * d], so a convolution is one 2-D GEMM."""
    n, c, h, w = x.shape
    kh, kw = kernel
    ho, wo = out_hw
    if xp is np and _row_shifts(stride, x.shape, out_hw):
        return _im2col_rows(x, kernel, pads, dilation)
    cols = xp.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    xpad = _padded(xp, x.transpose(1, 0, 2, 3), pads)  # (C, N, H + pads, W + pads)
    for i, j, view in _windows(xp, xpad, kernel, stride, dilation, out_hw):
        cols[:, i, j] = view
    return cols.reshape(c * kh * kw, n * ho * wo)


im2col_cm.defvjp(lambda g, x_shape, kernel, stride, pads, dilation, out_hw: call(
    col2im_cm, g, params=(tuple(x_shape), kernel, stride, pads, dilation, out_hw)),
    arrays=True)


@op(params=("x_shape", "kernel", "stride", "pads", "dilation", "out_hw"))
def col2im_cm(xp, cols, x_shape, kernel, stride, pads, dilation, out_hw):
    """The adjoint of im2col_cm: each column entry added back at the pixel it was read
    from."""
    n, c = x_shape[:2]
    if xp is np and _row_shifts(stride, x_shape, out_hw):
        return _col2im_rows(cols, x_shape, kernel, pads, dilation)
    g = cols.reshape(c, *kernel, n, *out_hw)
    return _add_back(xp, lambda i, j: g[:, i, j], x_shape, kernel, stride, pads, dilation,
                     out_hw, cols.dtype, True)


col2im_cm.defvjp(lambda g, kernel, stride, pads, dilation, out_hw: call(
    im2col_cm, g, params=(kernel, stride, pads, dilation, out_hw)), arrays=True)


# ---------------------------------------------------------------- row shifts (CPU)
#
# With stride 1 and an output the size of the input (3x3 with padding 1, "same"; any
# dilation), the columns of kernel offset (i, j) are the images shifted by oi = i * dh - pt
# rows and oj = j * dw - pl columns: in a channel-major (C, N * H * W) layout, one flat
# shift by oi * W + oj. Each offset is then one copy (im2col) or one add (col2im) of C
# long rows, where a strided slice moves C * N * H rows of W (NumPy pays ~0.1 us per
# strided row of an add). Only the entries a shift carries across a row or image edge are
# wrong: in im2col they are zeroed (the output rows and columns whose input is off the
# image); in col2im they land in the image rows and columns that shift cannot reach, which
# are saved before the offset is added and restored after.

ROW_SHIFT_MIN_ROWS = 64  # N * C * H from which the row-shift path pays for its extra calls


def _row_shifts(stride, x_shape, out_hw):
    """Whether the row-shift path applies (stride 1, an output the size of the input) and
    pays: it makes ~20 more NumPy calls than a strided slice per kernel offset, which it
    wins back once each slice would have moved ROW_SHIFT_MIN_ROWS rows or more."""
    n, c, h, w = x_shape
    return (tuple(stride) == (1, 1) and tuple(out_hw) == (h, w) and
            n * c * h >= ROW_SHIFT_MIN_ROWS)


def _shifts(kernel, pads, dilation, w):
    """(oi, oj, flat shift oi * W + oj) of each kernel offset, row-major."""
    (kh, kw), (dh, dw), (pt, pl) = kernel, dilation, (pads[0][0], pads[1][0])
    return [(i * dh - pt, j * dw - pl, (i * dh - pt) * w + j * dw - pl) for i in range(kh)
            for j in range(kw)]


def _off_rows(oi, h):
    """The rows y whose row y + oi is off the image."""
    return slice(0, min(-oi, h)) if oi < 0 else slice(max(0, h - oi), h)


def _off_cols(oj, w):
    """The columns x whose column x + oj is off the row."""
    return range(max(0, w - oj), w) if oj > 0 else range(0, min(-oj, w))


def _im2col_rows(x, kernel, pads, dilation):
    """im2col_cm by row shifts (see above): per kernel offset one copy of the shifted
    channel-major images, then zeros where the input is off the image."""
    n, c, h, w = x.shape
    total = n * h * w
    src = np.empty((c, n, h, w), dtype=x.dtype)
    src[...] = x.transpose(1, 0, 2, 3)
    src = src.reshape(c, total)
    cols = np.empty((c, kernel[0] * kernel[1], total), dtype=x.dtype)
    img = cols.reshape(c, -1, n, h, w)
    for k, (oi, oj, s) in enumerate(_shifts(kernel, pads, dilation, w)):
        dst = cols[:, k]
        if abs(oi) >= h or abs(oj) >= w:
            dst[...] = 0  # this offset only ever reads padding
            continue
        a, b = max(0, -s), min(total, total - s)
        dst[:, a:b] = src[:, a + s:b + s]
        dst[:, :a] = 0
        dst[:, b:] = 0
        if oi:
            img[:, k, :, _off_rows(oi, h)] = 0
        for col in _off_cols(oj, w):
            img[:, k, ..., col] = 0  # one strided pass down the column, all images at once
    return cols.reshape(-1, total)


def _col2im_rows(cols, x_shape, kernel, pads, dilation):
    """col2im_cm by row shifts, the adjoint of _im2col_rows: per kernel offset one add of
    its shifted columns into a channel-major image; the rows its shift cannot reach are
    restored once per kernel row, the columns once per offset."""
    n, c, h, w = x_shape
    kh, kw = kernel
    total = n * h * w
    g = cols.reshape(c, kh * kw, total)
    out = np.zeros((c, total), dtype=cols.dtype)
    img = out.reshape(c, n, h, w)
    shifts = _shifts(kernel, pads, dilation, w)
    for i in range(kh):
        oi = shifts[i * kw][0]
        if abs(oi) >= h:
            continue  # this kernel row only ever reads padding
        rows = _off_rows(-oi, h)  # the image rows its entries from another image land in
        saved_rows = img[:, :, rows].copy() if oi else None
        for k in range(i * kw, (i + 1) * kw):
            _, oj, s = shifts[k]
            if abs(oj) >= w:
                continue
            hit = list(_off_cols(-oj, w))  # the columns its wrapped entries land in
            saved = [img[..., col].copy() for col in hit]
            a, b = max(0, -s), min(total, total - s)
            out[:, a + s:b + s] += g[:, k, a:b]
            for col, v in zip(hit, saved):
                img[..., col] = v
        if oi:
            img[:, :, rows] = saved_rows
    return np.ascontiguousarray(img.transpose(1, 0, 2, 3))


@op(params=("n", "out_hw"))
def fold_nchw(xp, y, n, out_hw):
    """(O, N * Ho * Wo) GEMM result -> contiguous (N, O, Ho, Wo): out[n, o] = y[o, n]."""
    o = y.shape[0]
    out = xp.empty((n, o) + tuple(out_hw), dtype=y.dtype)
    # written through the transposed view of out, so the loop reads y in order
    out.reshape(n, o, -1).transpose(1, 0, 2)[...] = y.reshape(o, n, -1)
    return out


fold_nchw.defvjp(lambda g: call(unfold_nchw, g), arrays=True)


@op(params=("n", "out_hw"))
def fold_nchw_bias(xp, y, b, n, out_hw):
    """fold_nchw(y) + b[o], in the same pass: out[n, o] = y[o, n] + b[o]."""
    o = y.shape[0]
    out = xp.empty((n, o) + tuple(out_hw), dtype=xp.result_type(y.dtype, b.dtype))
    # through the transposed view of out: NumPy then reads y in order (2x faster than
    # adding the transposed y into out)
    xp.add(y.reshape(o, n, -1), b.reshape(o, 1, 1),
           out=out.reshape(n, o, -1).transpose(1, 0, 2))
    return out


@fold_nchw_bias.vjp(arrays=True)
def _(g):
    u = call(unfold_nchw, g)  # (O, N * Ho * Wo), still in cache for the bias' row sums
    return u, call(row_sum, u)


@op()
def unfold_nchw(xp, g):
    """(N, O, Ho, Wo) -> contiguous (O, N * Ho * Wo), the adjoint of fold_nchw."""
    n, o, ho, wo = g.shape
    out = xp.empty((o, n, ho, wo), dtype=g.dtype)
    out[...] = g.transpose(1, 0, 2, 3)
    return out.reshape(o, n * ho * wo)


unfold_nchw.defvjp(lambda g, g_shape: call(fold_nchw, g, params=(g_shape[0],
                                                                 tuple(g_shape[2:]))),
                   arrays=True)


@op(quiet=True)
def row_sum(xp, a):
    """a.sum(axis=1) of a 2-d array (a conv bias' gradient from the unfolded gradient): on
    the CPU one BLAS matrix-vector product with ones (5x faster than NumPy's sum)."""
    if xp is not np or a.dtype.itemsize < 4:
        acc = np.float32 if a.dtype == np.float16 else None  # as the sum op does
        s = xp.sum(a, axis=1, dtype=acc)
        return s.astype(a.dtype) if acc is not None else s
    return np.dot(a, np.ones(a.shape[1], dtype=a.dtype))


row_sum.defvjp(lambda g, a_shape: broadcast_to(reshape(g, (-1, 1)), a_shape))


# ---------------------------------------------------------------- the convolution GEMM

@op(name="conv_gemm", save=("w", "cols"), quiet=True)
def conv_gemm(xp, w, cols):
    """w (O, C*kh*kw) @ cols (C*kh*kw, N*Ho*Wo): a convolution as one GEMM (matmul_op,
    with its own backward)."""
    return matmul_op.fwd(xp, w, cols)


@conv_gemm.vjp(arrays=True)
def _(g, w, cols):
    # the weight's gradient g @ cols.T reduces over the N*Ho*Wo columns; with fewer output
    # channels than C*kh*kw, OpenBLAS runs it 1.2-1.8x faster as (cols @ g.T).T (the
    # same products and sums, the operands swapped)
    gw = _mT(_mm(cols, _mT(g))) if w.shape[0] < w.shape[1] else _mm(g, _mT(cols))
    return gw, _mm(_mT(w), g)


# ---------------------------------------------------------------- checks

def _check_float(name, *ts):
    for t in ts:
        if t is not None and not isinstance(t, Tensor):
            raise DTypeError(f"{name}: expected Tensors, got {type(t).__name__}")
        if t is not None and t.dtype.kind != "f":
            raise DTypeError(f"{name}: expected floating tensors, got {t.dtype.name}")


def _conv_pads(name, padding, kernel, dilation, stride):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if stride != (1, 1):
                raise ArgumentError(f"{name}: padding='same' is not supported for strided "
                                    f"convolutions (stride {stride})")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))  # the extra one on the right
            return tuple(pads)
        raise ArgumentError(f"{name}: padding must be 'valid', 'same', an int or a pair, got "
                            f"{padding!r}")
    p = _pair(padding, name, "padding")
    if min(p) < 0:
        raise ArgumentError(f"{name}: negative padding {padding!r}")
    return ((p[0], p[0]), (p[1], p[1]))


def _geometry(name, stride, dilation):
    s, d = _pair(stride, name, "stride"), _pair(dilation, name, "dilation")
    if min(s) < 1 or min(d) < 1:
        raise ArgumentError(f"{name}: stride and dilation must be positive, got stride "
                            f"{stride!r} and dilation {dilation!r}")
    return s, d


# ---------------------------------------------------------------- convolution

def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution (cross-correlation) of (N, C, H, W) input with (O, C / groups, kh, kw)
    weights, as ``torch.nn.functional.conv2d``: im2col, one matmul, a reshape.

    Raises:
        ShapeError: the input is not 4-d, the channels do not match the weight and groups,
            or the (padded) input is smaller than the (dilated) kernel.
    """
    _check_float("conv2d", input, weight, bias)
    if input.ndim == 3 and weight.ndim == 4:  # an unbatched (C, H, W) input, as torch
        out = conv2d(input.reshape((1,) + input.shape), weight, bias, stride, padding,
                     dilation, groups)
        return out.reshape(out.shape[1:])
    if input.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"conv2d: expected a 4-d input (N, C, H, W) (or 3-d, unbatched) and a "
                         f"4-d weight "
                         f"(O, C/groups, kh, kw), got {input.shape} and {weight.shape}")
    n, c, h, w = input.shape
    o, cg, kh, kw = weight.shape
    if groups < 1 or c != cg * groups or o % groups:
        raise ShapeError(f"conv2d: input of shape {input.shape} with {c} channels does not "
                         f"fit weight of shape {weight.shape} and groups={groups}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ShapeError(f"conv2d: bias of shape {bias.shape} does not match {o} output "
                         "channels")
    s, d = _geometry("conv2d", stride, dilation)
    pads = _conv_pads("conv2d", padding, (kh, kw), d, s)
    ho = _out_size(h, kh, s[0], *pads[0], d[0])
    wo = _out_size(w, kw, s[1], *pads[1], d[1])
    if ho < 1 or wo < 1:
        raise ShapeError(f"conv2d: input of shape {input.shape} with padding {padding!r} is "
                         f"smaller than the kernel {(kh, kw)} (dilation {d})")
    # columns (C * kh * kw, N * Ho * Wo): one GEMM for the batch, forward and backward
    cols = apply(im2col_cm, input, params=((kh, kw), s, pads, d, (ho, wo)))
    if groups == 1:
        y = apply(conv_gemm, reshape(weight, o, cg * kh * kw), cols)  # (O, N*Ho*Wo)
    else:
        wg = reshape(weight, groups, o // groups, cg * kh * kw)
        y = reshape(apply(matmul_op, wg, reshape(cols, groups, cg * kh * kw, n * ho * wo)),
                    o, n * ho * wo)
    if bias is None:
        return apply(fold_nchw, y, params=(n, (ho, wo)))
    return apply(fold_nchw_bias, y, bias, params=(n, (ho, wo)))


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution of (N, C, L) input with (O, C / groups, k) weights (conv2d on a
    height of 1), as ``torch.nn.functional.conv1d``."""
    _check_float("conv1d", input, weight, bias)
    if input.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv1d: expected a 3-d input (N, C, L) and a 3-d weight "
                         f"(O, C/groups, k), got {input.shape} and {weight.shape}")
    if isinstance(padding, str):
        pad2 = padding
    else:
        pad2 = (0, _one(padding, "padding"))
    x = reshape(input, input.shape[0], input.shape[1], 1, input.shape[2])
    wt = reshape(weight, weight.shape[0], weight.shape[1], 1, weight.shape[2])
    out = conv2d(x, wt, bias, stride=(1, _one(stride, "stride")), padding=pad2,
                 dilation=(1, _one(dilation, "dilation")), groups=groups)
    return reshape(out, out.shape[0], out.shape[1], out.shape[3])


def _one(v, what):
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = tuple(v)
    if len(v) != 1:
        raise ArgumentError(f"conv1d: {what} must be an int or a 1-tuple, got {v!r}")
    return int(v[0])


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0, groups=1, dilation=1):
    """Transposed 2-D convolution (the gradient of conv2d with respect to its input) of
    (N, C_in, H, W) input with (C_in, C_out / groups, kh, kw) weights, as
    ``torch.nn.functional.conv_transpose2d``: one matmul, then col2im."""
    _check_float("conv_transpose2d", input, weight, bias)
    if input.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"conv_transpose2d: expected a 4-d input and a 4-d weight, got "
                         f"{input.shape} and {weight.shape}")
    n, c, h, w = input.shape
    ci, og, kh, kw = weight.shape
    if groups < 1 or ci != c or c % groups:
        raise ShapeError(f"conv_transpose2d: input of shape {input.shape} does not fit weight "
                         f"of shape {weight.shape} and groups={groups}")
    o = og * groups
    if bias is not None and tuple(bias.shape) != (o,):
        raise ShapeError(f"conv_transpose2d: bias of shape {bias.shape} does not match {o} "
                         "output channels")
    s, d = _geometry("conv_transpose2d", stride, dilation)
    p = _pair(padding, "conv_transpose2d", "padding")
    op_ = _pair(output_padding, "conv_transpose2d", "output_padding")
    if any(a >= max(si, di) for a, si, di in zip(op_, s, d)):
        raise ArgumentError(f"conv_transpose2d: output_padding {output_padding!r} must be "
                            f"smaller than stride {s} or dilation {d}")
    hout = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op_[0] + 1
    wout = (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op_[1] + 1
    if hout < 1 or wout < 1:
        raise ShapeError(f"conv_transpose2d: the output of shape ({hout}, {wout}) for input "
                         f"{input.shape} is empty")
    xm = reshape(input, n, groups, c // groups, h * w)
    wm = reshape(weight, groups, c // groups, og * kh * kw)
    cols = apply(matmul_op, transpose(wm, (0, 2, 1)), xm)  # (N, G, og*kh*kw, H*W)
    cols = reshape(cols, n, o * kh * kw, h * w)
    pads = ((p[0], p[0]), (p[1], p[1]))
    out = apply(col2im, cols, params=((n, o, hout, wout), (kh, kw), s, pads, d, (h, w)))
    if bias is not None:
        out = out + reshape(bias, o, 1, 1)
    return out


# ---------------------------------------------------------------- pooling

def _pool_out(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size: with ceil_mode, a last window must start inside the
    input or its left padding."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_geometry(name, x, kernel_size, stride, padding, dilation, ceil_mode):
    _check_float(name, x)
    if x.ndim not in (3, 4):
        raise ShapeError(f"{name}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got "
                         f"shape {x.shape}")
    k = _pair(kernel_size, name, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _pair(stride, name, "stride")
    p = _pair(padding, name, "padding")
    d = _pair(dilation, name, "dilation")
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ArgumentError(f"{name}: kernel_size, stride and dilation must be positive, got "
                            f"{k}, {s}, {d}")
    if any(pi > ki // 2 for pi, ki in zip(p, k)) or min(p) < 0:
        raise ArgumentError(f"{name}: padding {p} must be at most half the kernel size {k}")
    h, w = x.shape[-2:]
    ho = _pool_out(h, k[0], s[0], p[0], d[0], ceil_mode)
    wo = _pool_out(w, k[1], s[1], p[1], d[1], ceil_mode)
    if ho < 1 or wo < 1:
        raise ShapeError(f"{name}: input of shape {x.shape} is too small for kernel {k} "
                         f"(padding {p}, dilation {d})")
    # the padded input must hold every window, ceil_mode's last one included
    pads = tuple((pi, max(pi, (o - 1) * si + di * (ki - 1) + 1 - size - pi))
                 for pi, o, si, di, ki, size in zip(p, (ho, wo), s, d, k, (h, w)))
    return (k, s, pads, d, (ho, wo))


def _batched(fn, x, *args):
    if x.ndim == 3:
        out = fn(reshape(x, (1,) + x.shape), *args)
        return reshape(out, out.shape[1:])
    return fn(x, *args)


def _maximum(xp, a, b):
    return xp.maximum(a, b, out=a) if xp is np else xp.maximum(a, b)


@op(name="max_pool2d", params=("geom",), save=("x",))
def max_pool2d_op(xp, x, geom):
    """out[n, c, ho, wo] = max of x over the window at (ho, wo) (padding is -inf; a NaN
    in the window gives NaN)."""
    k, s, pads, d, out_hw = geom
    xpad = _padded(xp, x, pads, -np.inf)
    out = None
    for _, _, view in _windows(xp, xpad, k, s, d, out_hw):
        out = view.copy() if out is None else _maximum(xp, out, view)
    return out


max_pool2d_op.defvjp(lambda g, x, geom: apply(max_pool2d_backward, g, x, params=(geom,)))


def _argmax(xp, x, geom):
    """The kernel offset (i * kw + j) of each window's maximum, by PyTorch's CPU rule: the
    first maximum, a NaN replacing it."""
    k, s, pads, d, out_hw = geom
    xpad = _padded(xp, x, pads, -np.inf)
    best = idx = None
    for i, j, view in _windows(xp, xpad, k, s, d, out_hw):
        if best is None:
            best, idx = view.copy(), xp.zeros(view.shape, dtype=np.int32)
            continue
        take = (view > best) | (view != view)
        idx = xp.where(take, i * k[1] + j, idx)
        best = xp.where(take, view, best)
    return idx


@op(params=("geom",), save=("x",))
def max_pool2d_backward(xp, g, x, geom):
    """gx: each window's gradient added at its maximum."""
    k, s, pads, d, out_hw = geom
    (pt, pb), (pl, pr) = pads
    n, c, h, w = x.shape
    idx = _argmax(xp, x, geom)
    gx = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=g.dtype)
    zero = xp.zeros((), dtype=g.dtype)
    for i, j, view in _windows(xp, gx, k, s, d, out_hw):
        view += xp.where(idx == i * k[1] + j, g, zero)
    return gx[:, :, pt:pt + h, pl:pl + w]


max_pool2d_backward.defvjp(
    lambda gg, x, geom: apply(max_pool2d_select, gg, x, params=(geom,)), None)


@op(params=("geom",), save=("x",))
def max_pool2d_select(xp, h, x, geom):
    """h read at each window's maximum of x (the adjoint of max_pool2d_backward)."""
    k, s, pads, d, out_hw = geom
    idx = _argmax(xp, x, geom)
    res = xp.zeros(idx.shape, dtype=h.dtype)
    for i, j, view in _windows(xp, _padded(xp, h, pads), k, s, d, out_hw):
        res = xp.where(idx == i * k[1] + j, view, res)
    return res


max_pool2d_select.defvjp(
    lambda g, x, geom: apply(max_pool2d_backward, g, x, params=(geom,)), None)


# ---------------------------------------------------------------- max_pool2d, tiling windows
#
# When the windows tile the input (stride == kernel, no padding or dilation: the usual
# 2x2 pooling), each input pixel is in at most one window. The forward finds each window's
# maximum in two scans, along its rows and then down the row maxima, and keeps which column
# won in each row (cols) and which row won (rows); the backward writes each gradient at
# its winner from those, with no compare against x and no branchy np.where (a random mask
# costs NumPy a mispredicted branch per element): the gradient's bits times 0 or 1.

def _tiles(geom):
    """Whether the windows tile the input (stride == kernel, no dilation or padding)."""
    k, s, pads, d, _ = geom
    return s == k and d == (1, 1) and not any(pads[0] + pads[1])


def _scan(xp, views, nan):
    """(max, index): the running maximum over ``views`` in order and, per element, the
    index (uint8) of the view it came from. A later view wins only when greater (ties keep
    the first, as PyTorch), or, with ``nan``, when it is NaN (the last NaN wins)."""
    best, idx = views[0].copy(), None
    for k, v in enumerate(views[1:], 1):
        take = v > best
        if nan:
            take |= v != v
        best = xp.maximum(v, best)  # NaN from either side; on a tie (+0, -0) the second
        step = take.view(np.uint8) * np.uint8(k)
        idx = step if idx is None else xp.maximum(idx, step)  # k grows: max is "set to k"
    return best, xp.zeros(best.shape, dtype=np.uint8) if idx is None else idx


def _tile_scan(xp, x, kernel, nan):
    """(out, rows, cols) for tiling windows: cols[n, c, y, wo] the winning column of
    window row y, rows[n, c, ho, wo] the winning row."""
    (kh, kw), (h, w) = kernel, x.shape[-2:]
    ho, wo = h // kh, w // kw
    x = x[:, :, :ho * kh, :wo * kw]  # the rows and columns no window covers dropped
    row_max, cols = _scan(xp, [x[:, :, :, j::kw] for j in range(kw)], nan)
    out, rows = _scan(xp, [row_max[:, :, i::kh] for i in range(kh)], nan)
    return out, rows, cols


@op(params=("geom",), extras=("rows", "cols"))
def max_pool2d_tiles(xp, x, geom):
    """max_pool2d over tiling windows: out, and the winner of each window (PyTorch's CPU
    rule: the first maximum, a later NaN replacing it) as (rows, cols) for the backward.
    On the CPU the scans first ignore NaNs and run again with the NaN rule only when the
    result holds one (a NaN in a window always makes its maximum NaN)."""
    out, rows, cols = _tile_scan(xp, x, geom[0], nan=xp is not np)
    if xp is np and np.isnan(out).any():
        out, rows, cols = _tile_scan(xp, x, geom[0], nan=True)
    return out, rows, cols


max_pool2d_tiles.defvjp(lambda g, rows, cols, x_shape, geom: call(
    max_pool2d_tiles_backward, g, rows, cols, params=(tuple(x_shape), geom)), arrays=True)


def _winners(rows, cols, kernel):
    """Per window offset (i, j): the views of the windows' cells at that offset (slices of
    an input-shaped array) and where the window's winner is that offset."""
    kh, kw = kernel
    ho, wo = rows.shape[-2:]
    for i in range(kh):
        in_row = rows == i
        for j in range(kw):
            cells = (slice(i, ho * kh, kh), slice(j, wo * kw, kw))
            yield cells, in_row & (cols[:, :, i::kh] == j)


@op(params=("x_shape", "geom"), save=("rows", "cols"))
def max_pool2d_tiles_backward(xp, g, rows, cols, x_shape, geom):
    """gx of max_pool2d_tiles: each window's gradient at its winner, zero elsewhere
    (selected exactly, inf and NaN included, as the bits of g times 0 or 1)."""
    kh, kw = geom[0]
    h, w = x_shape[-2:]
    uint = np.dtype(f"u{g.dtype.itemsize}")
    gx = (xp.zeros if h % kh or w % kw else xp.empty)(x_shape, dtype=g.dtype)
    bits, dst = xp.ascontiguousarray(g).view(uint), gx.view(uint)
    for (ys, xs), hit in _winners(rows, cols, (kh, kw)):
        xp.multiply(bits, hit, out=dst[:, :, ys, xs])
    return gx


max_pool2d_tiles_backward.defvjp(lambda gg, rows, cols, geom: call(
    max_pool2d_tiles_select, gg, rows, cols, params=(geom,)), None, None, arrays=True)


@op(params=("geom",), save=("rows", "cols"))
def max_pool2d_tiles_select(xp, h, rows, cols, geom):
    """h (input-shaped) read at each window's winner: the adjoint of
    max_pool2d_tiles_backward (its VJP, for double backward)."""
    out = xp.zeros(rows.shape, dtype=h.dtype)
    for (ys, xs), hit in _winners(rows, cols, geom[0]):
        out = xp.where(hit, h[:, :, ys, xs], out)
    return out


max_pool2d_tiles_select.defvjp(lambda g, rows, cols, h_shape, geom: call(
    max_pool2d_tiles_backward, g, rows, cols, params=(tuple(h_shape), geom)), None, None,
    arrays=True)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,  # noqa: A002
               ceil_mode=False, return_indices=False):
    """2-D max pooling of (N, C, H, W) or (C, H, W) input, as
    ``torch.nn.functional.max_pool2d`` (stride defaults to kernel_size; ties and NaNs: the
    first in the window takes the gradient). Integer input pools exactly (as float64,
    so up to 2**53) and keeps its dtype, as torch."""
    if isinstance(input, Tensor) and input.dtype.kind in "iu":
        res = max_pool2d(input.to(np.float64), kernel_size, stride, padding, dilation,
                         ceil_mode, return_indices)
        return (res[0].to(input.dtype), res[1]) if return_indices else res.to(input.dtype)
    geom = _pool_geometry("max_pool2d", input, kernel_size, stride, padding, dilation,
                          ceil_mode)
    pool = max_pool2d_tiles if _tiles(geom) else max_pool2d_op
    out = _batched(lambda x: apply(pool, x, params=(geom,)), input)
    if return_indices:  # (values, the flat h * W + w index of each window's maximum)
        return out, _batched(lambda x: apply(max_pool2d_indices, x, params=(geom,)), input)
    return out


@op(params=("geom",), differentiable=False)
def max_pool2d_indices(xp, x, geom):
    """The index h * W + w in its (H, W) plane of each window's maximum (int64), by the
    rule the gradient follows: the first maximum, a NaN replacing it."""
    k, s, pads, d, (ho, wo) = geom
    off = _argmax(xp, x, geom).astype(np.int64)
    i, j = off // k[1], off % k[1]
    rows = xp.arange(ho, dtype=np.int64).reshape(ho, 1) * s[0] - pads[0][0]
    cols = xp.arange(wo, dtype=np.int64).reshape(1, wo) * s[1] - pads[1][0]
    return (rows + i * d[0]) * x.shape[3] + cols + j * d[1]


@op(name="avg_pool2d", params=("geom",), save=("div",))
def avg_pool2d_op(xp, x, div, geom):
    """out = the sum of x over each window (zero padding) / div[ho, wo]."""
    k, s, pads, d, out_hw = geom
    xpad = _padded(xp, x, pads)
    out = None
    for _, _, view in _windows(xp, xpad, k, s, d, out_hw):
        out = view.copy() if out is None else (
            xp.add(out, view, out=out) if xp is np else out + view)
    return out / div


avg_pool2d_op.defvjp(lambda g, x_shape, div, geom: apply(
    avg_pool2d_backward, g, div, params=(tuple(x_shape), geom)), None)


@op(params=("x_shape", "geom"), save=("div",))
def avg_pool2d_backward(xp, g, div, x_shape, geom):
    """gx: each window's gradient / div spread over the window (the adjoint of
    avg_pool2d)."""
    k, s, pads, d, out_hw = geom
    (pt, pb), (pl, pr) = pads
    n, c, h, w = x_shape
    gx = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=g.dtype)
    share = g / div
    for _, _, view in _windows(xp, gx, k, s, d, out_hw):
        view += share
    return gx[:, :, pt:pt + h, pl:pl + w]


avg_pool2d_backward.defvjp(lambda gg, div, geom: apply(avg_pool2d_op, gg, div,
                                                       params=(geom,)), None)


def _avg_divisor(size, k, s, p, out, include_pad):
    """Per output position along one axis: the window's extent within the padded input
    (count_include_pad) or within the input."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d`` (count_include_pad=True and
    ceil_mode=False by default; divisor_override replaces the window size)."""
    geom = _pool_geometry("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    k, s, _, _, (ho, wo) = geom
    p = _pair(padding, "avg_pool2d", "padding")
    h, w = input.shape[-2:]
    if divisor_override is not None:
        if divisor_override == 0:
            raise ArgumentError("avg_pool2d: divisor_override must be non-zero")
        div = np.full((ho, wo), float(divisor_override))
    else:
        dh = _avg_divisor(h, k[0], s[0], p[0], ho, count_include_pad)
        dw = _avg_divisor(w, k[1], s[1], p[1], wo, count_include_pad)
        div = np.outer(dh, dw)
    div = Tensor(div.astype(input.dtype), device=input.device)
    return _batched(lambda x: apply(avg_pool2d_op, x, div, params=(geom,)), input)


def _adaptive_matrix(size, out, dtype):
    """(out, size): row i averages input positions floor(i*size/out) .. ceil((i+1)*size/out)."""
    m = np.zeros((out, size), dtype=dtype)
    for i in range(out):  # one row per output position (not per pixel)
        a, b = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, a:b] = 1.0 / (b - a)
    return m


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Adaptive average pooling to ``output_size`` (an int, or a pair whose None entries keep
    the input's size), as ``torch.nn.functional.adaptive_avg_pool2d``: two averaging matmuls,
    ``A_h @ x @ A_w^T``."""
    _check_float("adaptive_avg_pool2d", input)
    if input.ndim not in (3, 4):
        raise ShapeError(f"adaptive_avg_pool2d: expected a 3-d or 4-d input, got shape "
                         f"{input.shape}")
    h, w = input.shape[-2:]
    if isinstance(output_size, (int, np.integer)):
        output_size = (int(output_size), int(output_size))
    ho, wo = (h if output_size[0] is None else int(output_size[0]),
              w if output_size[1] is None else int(output_size[1]))
    if ho < 1 or wo < 1 or h < 1 or w < 1:
        raise ShapeError(f"adaptive_avg_pool2d: cannot pool input of shape {input.shape} to "
                         f"{(ho, wo)}")
    ah = Tensor(_adaptive_matrix(h, ho, input.dtype), device=input.device)
    aw = Tensor(_adaptive_matrix(w, wo, input.dtype).T, device=input.device)
    return apply(matmul_op, apply(matmul_op, ah, input), aw)

