"""Private, simple reference versions of the F functions the layers call, used only while
``gradengine.functional`` lacks them (the op-family work adds the real ops; then these go).

Each is written with existing differentiable ops (getitem, stack, reshape, matmul, the
reductions), so gradients flow and ``ge.jit`` replays them. Signatures are PyTorch's.
"""

from __future__ import annotations

from .. import backend
from .. import functional as F
from ..core.gradmode import no_grad
from ..core.op import Op
from ..core.tensor import Tensor


def _pair(v):
    return (int(v), int(v)) if isinstance(v, (int,)) else tuple(int(a) for a in v)


def _zeros_like_shape(x, shape, fill=0.0):
    xp = backend.xp_of(x.device)
    with backend.cuda_context(x.device):
        arr = xp.full(shape, fill, dtype=x.dtype)
    return Tensor._make(arr, x.device)


def _pad2d(x, ph, pw, fill=0.0):
    """Pad the last two axes of an NCHW tensor by (ph, pw) on each side (concatenation)."""
    if ph:
        n, c, h, w = x.shape
        z = _zeros_like_shape(x, (n, c, ph, w), fill)
        x = F.concatenate([z, x, z], axis=2)
    if pw:
        n, c, h, w = x.shape
        z = _zeros_like_shape(x, (n, c, h, pw), fill)
        x = F.concatenate([z, x, z], axis=3)
    return x


def _patches(x, kernel, stride, dilation):
    """(N, C, kh*kw, Ho, Wo): the input under each kernel offset, by strided slicing."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho = (h - dh * (kh - 1) - 1) // sh + 1
    wo = (w - dw * (kw - 1) - 1) // sw + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(f"conv/pool: the kernel {kernel} does not fit the input {x.shape}")
    cols = []
    for i in range(kh):
        for j in range(kw):
            cols.append(x[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                          j * dw:j * dw + sw * (wo - 1) + 1:sw])
    return F.stack(cols, axis=2), ho, wo


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    x = input
    o, cg, kh, kw = weight.shape
    ph, pw = _pair(padding)
    x = _pad2d(x, ph, pw)
    cols, ho, wo = _patches(x, (kh, kw), _pair(stride), _pair(dilation))
    n, c = x.shape[0], x.shape[1]
    cols = cols.reshape(n, groups, (c // groups) * kh * kw, ho * wo)
    w = weight.reshape(1, groups, o // groups, cg * kh * kw)
    out = (w @ cols).reshape(n, o, ho, wo)
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1)
    return out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    n, c, length = input.shape
    o, cg, k = weight.shape
    out = conv2d(input.reshape(n, c, 1, length), weight.reshape(o, cg, 1, k), bias,
                 (1, int(stride)), (0, int(padding)), (1, int(dilation)), groups)
    return out.reshape(n, o, out.shape[-1])


def max_pool2d(input, kernel_size, stride=None, padding=0):  # noqa: A002
    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    ph, pw = _pair(padding)
    x = _pad2d(input, ph, pw, fill=float("-inf"))
    cols, _, _ = _patches(x, k, s, (1, 1))
    return cols.max(axis=2)


def avg_pool2d(input, kernel_size, stride=None, padding=0):  # noqa: A002
    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    ph, pw = _pair(padding)
    cols, _, _ = _patches(_pad2d(input, ph, pw), k, s, (1, 1))
    return cols.mean(axis=2)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(normalized_shape)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    mean = input.mean(axis=axes, keepdims=True)
    d = input - mean
    var = (d * d).mean(axis=axes, keepdims=True)
    out = d / F.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5):
    x = input
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(axis=axes, keepdims=True)
        d = x - mean
        var = (d * d).mean(axis=axes, keepdims=True)
        if running_mean is not None:
            n = x.size // c
            with no_grad():
                running_mean *= 1 - momentum
                running_mean += mean.detach().reshape(c) * momentum
                running_var *= 1 - momentum
                running_var += var.detach().reshape(c) * (momentum * n / max(n - 1, 1))
    else:
        mean = running_mean.reshape(bshape)
        var = running_var.reshape(bshape)
        d = x - mean
    out = d / F.sqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out


def _keep_mask(xp, x, p):
    """1/(1-p) where a Bernoulli(1-p) draw keeps the element, else 0 (x's dtype)."""
    dev = "cpu" if xp.__name__ == "numpy" else f"cuda:{x.device.id}"
    gen = backend.rng(dev)
    draw = gen.random(x.shape) if dev == "cpu" else gen.random_sample(x.shape)
    return ((draw >= p) / (1.0 - p)).astype(x.dtype)


_keep_mask_op = Op(_keep_mask, name="dropout_mask", params=("p",), differentiable=False)


def dropout(input, p=0.5, training=True):  # noqa: A002
    if not training or p == 0.0:
        return input
    if p >= 1.0:
        return input * 0.0
    return input * _keep_mask_op(input, params=(float(p),))


def embedding(input, weight, padding_idx=None):  # noqa: A002
    idx = input if isinstance(input, Tensor) else Tensor(input, dtype="int64")
    out = weight[idx]
    if padding_idx is not None:
        pad = padding_idx % weight.shape[0]
        keep = (idx != pad).reshape(*idx.shape, 1)
        out = F.where(keep, out, out.detach())  # the padding row gets no gradient
    return out


def _reduce(v, reduction, name):
    if reduction == "mean":
        return v.mean()
    if reduction == "sum":
        return v.sum()
    if reduction == "none":
        return v
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    t = target if isinstance(target, Tensor) else Tensor(target, dtype="int64")
    xp = backend.xp_of(input.device)
    lab = t.data
    valid = lab != ignore_index
    safe = xp.where(valid, lab, 0)
    rows = xp.arange(lab.shape[0])
    picked = -input[(rows, safe)]
    w = xp.ones(lab.shape, dtype=input.dtype) if weight is None else \
        (weight.data if isinstance(weight, Tensor) else xp.asarray(weight))[safe]
    w = Tensor._make((w * valid).astype(input.dtype), input.device)
    v = picked * w
    if reduction == "mean":
        return v.sum() / w.sum()
    return _reduce(v, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",  # noqa: A002
                  label_smoothing=0.0):
    logp = F.log_softmax(input, axis=-1)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    c = input.shape[-1]
    xp = backend.xp_of(input.device)
    lab = target.data if isinstance(target, Tensor) else xp.asarray(target)
    valid = Tensor._make((lab != ignore_index).astype(input.dtype), input.device)
    if weight is None:
        smooth = -logp.sum(axis=-1) * valid
        denom = valid.sum()
    else:
        wt = weight if isinstance(weight, Tensor) else Tensor._make(xp.asarray(weight),
                                                                    input.device)
        smooth = -(logp * wt).sum(axis=-1) * valid
        safe = xp.where(lab != ignore_index, lab, 0)
        denom = (Tensor._make(wt.data[safe], input.device) * valid).sum()
    smooth = smooth.sum() / denom if reduction == "mean" else \
        _reduce(smooth, reduction, "cross_entropy")
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    return _reduce(F.abs(input - target), reduction, "l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):  # noqa: A002
    d = F.abs(input - target)
    v = F.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _reduce(v, reduction, "huber_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):  # noqa: A002
    d = F.abs(input - target)
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss")
    v = F.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(v, reduction, "smooth_l1_loss")


def get(name):
    """``F.<name>`` when gradengine.functional has it, else the reference here."""
    return getattr(F, name, None) or globals()[name]


def _erf_fwd(xp, x):
    """erf(x) (the reference: math.erf elementwise)."""
    import math
    host = x if xp.__name__ == "numpy" else xp.asnumpy(x)
    out = _np_vectorize(math.erf)(host).astype(host.dtype)
    return out if xp.__name__ == "numpy" else xp.asarray(out)


def _np_vectorize(fn):
    import numpy as np
    return np.vectorize(fn, otypes=[np.float64])


_erf = Op(_erf_fwd, name="erf", save=("x",))
_erf.defvjp(lambda g, x: g * (2.0 / 3.141592653589793 ** 0.5) * F.exp(-(x * x)))


def gelu(input, approximate="none"):  # noqa: A002
    x = input
    if approximate == "tanh":
        return 0.5 * x * (1.0 + F.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + _erf(x * 0.7071067811865476))


def silu(input):  # noqa: A002
    return input * F.sigmoid(input)


def leaky_relu(input, negative_slope=0.01):  # noqa: A002
    return F.where(input > 0, input, input * negative_slope)
