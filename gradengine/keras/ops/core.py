"""Keras 3's core ops (``keras.ops.cast``, ``cond``, ``scan``, ``scatter``, ``slice_update``,
``custom_gradient``, ...) on gradengine Tensors. Control flow runs eagerly in Python, as on
Keras' torch backend; every result is built from differentiable ops, so gradients flow
through loops, scans and scatters."""

from __future__ import annotations

import builtins

import numpy as np

from ... import functional as F
from ...autograd.function import Function
from ...core.tensor import Tensor
from ...errors import ShapeError
from ..symbolic import KerasTensor, flatten, map_structure
from ._wrap import to_tensor, wrap_all

__all__ = ["associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor",
           "custom_gradient", "dtype", "fori_loop", "is_tensor", "map", "ndim",
           "saturate_cast", "scan", "scatter", "scatter_update", "shape", "slice",
           "slice_update", "stop_gradient", "switch", "unstack", "vectorized_map",
           "while_loop"]

_t = to_tensor


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if sparse or ragged:
        raise ValueError("convert_to_tensor: sparse and ragged tensors are not supported")
    return to_tensor(x, dtype)


def convert_to_numpy(x):
    if isinstance(x, (list, tuple)):
        return type(x)(convert_to_numpy(v) for v in x)
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def shape(x):
    return tuple(x.shape)


def dtype(x) -> str:
    return np.dtype(x.dtype).name if not isinstance(x, KerasTensor) else x.dtype


def ndim(x) -> int:
    return len(x.shape)


def cast(x, dtype):
    return _t(x).astype(np.dtype(dtype))


def saturate_cast(x, dtype):
    """Cast, clipping to the target dtype's range first (no wrap-around)."""
    x, dt = _t(x), np.dtype(dtype)
    if np.issubdtype(dt, np.integer) or dt == np.bool_:
        info = np.iinfo(dt) if dt != np.bool_ else None
        if info is not None:
            lo, hi = builtins.max(float(info.min), _lowest(x)), float(info.max)
            if np.issubdtype(x.dtype, np.floating):
                x = F.clip(x, lo, hi)
            else:
                src = np.iinfo(x.dtype)
                x = F.clip(x, builtins.max(info.min, src.min), builtins.min(info.max, src.max))
    elif np.issubdtype(dt, np.floating) and np.issubdtype(x.dtype, np.floating):
        info = np.finfo(dt)
        x = F.clip(x, float(info.min), float(info.max))
    elif np.issubdtype(dt, np.floating) and np.issubdtype(x.dtype, np.integer):
        info, src = np.finfo(dt), np.iinfo(x.dtype)
        if float(info.max) < src.max:  # integers beyond float16's range: its largest
            x = F.clip(x, builtins.max(int(info.min), src.min), builtins.min(int(info.max),
                                                                                src.max))
    return x.astype(dt)


def _lowest(x):
    return float(np.finfo(x.dtype).min) if np.issubdtype(x.dtype, np.floating) else \
        float(np.iinfo(x.dtype).min)


def stop_gradient(variable):
    return _t(variable).detach()


# ---------------------------------------------------------------- control flow (eager)
def cond(pred, true_fn, false_fn):
    return true_fn() if bool(_truth(pred)) else false_fn()


def _truth(v):
    return v.item() if isinstance(v, Tensor) else v


def switch(index, branches, *operands):
    i = int(_truth(index))
    i = builtins.min(builtins.max(i, 0), len(branches) - 1)
    return branches[i](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    val = init_val
    for i in range(int(_truth(lower)), int(_truth(upper))):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_tuple = isinstance(loop_vars, (tuple, list))
    loop_vars = tuple(loop_vars) if is_tuple else (loop_vars,)
    it = 0
    while (maximum_iterations is None or it < maximum_iterations) and \
            bool(_truth(cond(*loop_vars))):
        loop_vars = body(*loop_vars)
        loop_vars = tuple(loop_vars) if isinstance(loop_vars, (list, tuple)) else (loop_vars,)
        it += 1
    return loop_vars if is_tuple else loop_vars[0]


def _leading(xs):
    leaves = [v for v in flatten(xs) if v is not None]
    return int(leaves[0].shape[0]) if leaves else None


def _index(struct, i):
    return map_structure(lambda v: None if v is None else _t(v)[i], struct)


def _stack_structs(outs):
    """A list of structures -> one structure of stacked Tensors."""
    first = outs[0]
    if first is None:
        return None
    if isinstance(first, (list, tuple)):
        return type(first)(_stack_structs([o[k] for o in outs]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack_structs([o[k] for o in outs]) for k in first}
    return F.stack([_t(o) for o in outs])


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``(carry, ys)``: ``carry, y = f(carry, x)`` over the leading axis of ``xs``."""
    n = _leading(xs) if xs is not None else None
    if n is None:
        if length is None:
            raise ValueError("scan: give `xs` or `length`")
        n = int(length)
    elif length is not None and int(length) != n:
        raise ShapeError(f"scan: length={length} but xs has leading size {n}")
    carry, ys = init, []
    order = range(n - 1, -1, -1) if reverse else range(n)
    for i in order:
        carry, y = f(carry, None if xs is None else _index(xs, i))
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys:
        return carry, None
    return carry, _stack_structs(ys)


def associative_scan(f, elems, reverse=False, axis=0):
    """Cumulative ``f`` along ``axis`` (computed sequentially; ``f`` is associative)."""
    leaves = [_t(v) for v in flatten(elems)]
    n = int(leaves[0].shape[axis])

    def at(i):
        return map_structure(lambda v: F.moveaxis(_t(v), axis, 0)[i:i + 1], elems)
    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
    acc, outs = None, {}
    for i in order:
        cur = at(i)
        acc = cur if acc is None else f(acc, cur)
        outs[i] = acc

    def join(parts):
        first = parts[0]
        if isinstance(first, (list, tuple)):
            return type(first)(join([p[k] for p in parts]) for k in range(len(first)))
        if isinstance(first, dict):
            return {k: join([p[k] for p in parts]) for k in first}
        return F.moveaxis(F.concatenate([_t(p) for p in parts], axis=0), 0, axis)
    return join([outs[i] for i in range(n)])


def map(f, xs):  # noqa: A001 - Keras' name
    n = _leading(xs)
    return _stack_structs([f(_index(xs, i)) for i in range(n)])


def vectorized_map(function, elements):
    return map(function, elements)


def unstack(x, num=None, axis=0):
    x = _t(x)
    if num is not None and num != x.shape[axis]:
        raise ShapeError(f"unstack: num={num} but axis {axis} of {tuple(x.shape)} has "
                         f"size {x.shape[axis]}")
    return list(F.unbind(x, axis))


# ---------------------------------------------------------------- scatter and slices
def _linear(indices, shape_):
    """Rows of ``indices`` (N, k) into flat positions over ``shape_[:k]``."""
    idx = np.asarray(indices.numpy() if isinstance(indices, Tensor) else indices, np.int64)
    if idx.ndim == 1:
        idx = idx[:, None]
    k = idx.shape[-1]
    lead = idx.reshape(-1, k)
    dims = tuple(int(d) for d in shape_[:k])
    return np.ravel_multi_index(tuple(lead.T), dims, mode="wrap"), k, idx.shape[:-1]


def scatter(indices, values, shape):
    """Zeros of ``shape`` with ``values`` added at ``indices`` (repeats accumulate)."""
    shape = tuple(int(s) for s in shape)
    values = _t(values)
    flat, k, lead = _linear(indices, shape)
    rest = shape[k:]
    base = Tensor(np.zeros((int(np.prod(shape[:k])),) + rest, dtype=values.dtype),
                  device=values.device)
    src = F.reshape(values, (len(flat),) + rest)
    out = F.index_add(base, 0, Tensor(flat, device=values.device), src)
    return F.reshape(out, shape)


def scatter_update(inputs, indices, updates, reduction=None):
    """``inputs`` with ``updates`` written at ``indices`` (``reduction``: None to replace,
    "add", "max", "min" or "mul")."""
    inputs = _t(inputs)
    updates = _t(updates).astype(inputs.dtype)
    shape_ = tuple(inputs.shape)
    flat, k, lead = _linear(indices, shape_)
    rest = shape_[k:]
    x = F.reshape(inputs, (int(np.prod(shape_[:k])),) + rest)
    upd = F.reshape(updates, (len(flat),) + rest)
    pos = Tensor(flat, device=inputs.device)
    if reduction is None:
        x = F.index_fill(x, 0, pos, 0)
        # the last of repeated indices wins, as in Keras
        last = {}
        for i, p in enumerate(flat.tolist()):
            last[p] = i
        keep = np.array(sorted(last.values()), dtype=np.int64)
        x = F.index_add(x, 0, Tensor(flat[keep], device=inputs.device),
                        upd[Tensor(keep, device=inputs.device)])
    elif reduction == "add":
        x = F.index_add(x, 0, pos, upd)
    elif reduction in ("max", "min", "mul"):
        x = x.clone()
        for i, p in enumerate(flat.tolist()):
            cur = x[p]
            x[p] = (F.maximum(cur, upd[i]) if reduction == "max" else
                    F.minimum(cur, upd[i]) if reduction == "min" else cur * upd[i])
    else:
        raise ValueError(f"scatter_update: unsupported reduction: {reduction}")
    return F.reshape(x, shape_)


def _starts(start_indices):
    if isinstance(start_indices, Tensor):
        start_indices = start_indices.tolist()
    return [int(_truth(s)) for s in start_indices]


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras' name
    inputs = _t(inputs)
    starts = _starts(start_indices)
    idx = tuple(builtins.slice(s, s + int(n) if int(n) != -1 else None)
                for s, n in zip(starts, _starts(shape)))
    return inputs[idx]


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    inputs, updates = _t(inputs), _t(updates).astype(_t(inputs).dtype)
    starts = _starts(start_indices)
    pads = []
    for s, n, total in zip(starts, updates.shape, inputs.shape):
        s = builtins.min(builtins.max(s, 0), total - n)
        pads.append((s, total - s - n))
    widths = [v for p in reversed(pads) for v in p]
    placed = F.pad(updates, widths)
    mask = np.zeros(inputs.shape, dtype=bool)
    mask[tuple(builtins.slice(a, a + n) for (a, _), n in zip(pads, updates.shape))] = True
    return F.where(Tensor(mask, device=inputs.device), placed, inputs)


# ---------------------------------------------------------------- custom gradients
class _CustomGradient(Function):
    @staticmethod
    def forward(ctx, fn, *args):
        out, ctx.grad_fn = fn(*args)
        ctx.args = args
        return out

    @staticmethod
    def backward(ctx, upstream):
        grads = ctx.grad_fn(*ctx.args, upstream=upstream)
        grads = grads if isinstance(grads, tuple) else (grads,)
        return (None,) + tuple(grads)


def custom_gradient(f):
    """Keras' decorator: ``f(*args)`` returns ``(output, grad_fn)`` and
    ``grad_fn(*args, upstream)`` the gradients of the arguments."""
    def wrapper(*args):
        return _CustomGradient.apply(f, *(_t(a) if not isinstance(a, Tensor) and
                                          not callable(a) else a for a in args))
    wrapper.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapper.__doc__ = f.__doc__
    return wrapper


wrap_all(globals(), [n for n in __all__ if n not in ("custom_gradient",)])
