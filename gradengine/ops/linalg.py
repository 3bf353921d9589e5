"""Linear algebra: matmul (1-D, 2-D, batched with broadcasting) and the Linear layer op."""

from __future__ import annotations

import numpy as np

from ..core.gradmode import is_grad_enabled
from ..core.op import apply, call, op
from ..core.tensor import Tensor
from ..cuda import gemm, kernels
from ..errors import DTypeError, ShapeError
from .activations import act_backward
from .fused import ACTIVATIONS, bias_act_backward_ref, bias_act_ref
from .shape import reshape_op, transpose_op


@op(name="matmul", save=("a", "b"), quiet=True)
def matmul_op(xp, a, b, *, out=None):
    """a @ b (NumPy matmul semantics). NumPy's ``dot`` makes the same BLAS call for two
    matrices (bit-identical results) at half the call overhead of ``matmul``, except where
    one operand is 1x1: ``dot`` takes it for a scalar and BLAS's axpy skips a zero scalar,
    so 0 @ [inf] would be 0 where PyTorch (and ``matmul``) give NaN.

    Quiet (no NumPy floating-point warning), as every op that calls BLAS: OpenBLAS's
    vector kernels can leave the invalid flag set on finite operands (numpy#24067,
    OpenBLAS#1924), which NumPy then reports as a spurious "invalid value encountered in
    matmul"; and PyTorch never warns here either. ``out``: a C-contiguous buffer of the
    result's shape and dtype to write it into (ge.jit's gradient buffers)."""
    if xp is np and a.ndim == 2 and b.ndim == 2 and a.size != 1 and b.size != 1:
        return np.dot(a, b) if out is None else np.dot(a, b, out=out)
    if xp is np:
        return xp.matmul(a, b) if out is None else xp.matmul(a, b, out=out)
    res = gemm.matmul(xp, a, b)  # cupy.matmul, or in a CUDA graph a capture-safe GEMM
    if out is None:
        return res
    xp.copyto(out, res)
    return out


def _mm(a, b):
    if type(a) is np.ndarray and type(b) is np.ndarray:  # a first-order CPU backward
        return matmul_op.fwd(np, a, b)
    return call(matmul_op, a, b)  # shapes known to fit: no checks


def _mT(x):  # noqa: N802 - the last two axes swapped (matrix_transpose, on arrays too)
    if type(x) is np.ndarray:
        return x.swapaxes(-1, -2)  # (the transpose op's forward on arrays)
    nd = x.ndim
    return call(transpose_op, x, params=(tuple(range(nd - 2)) + (nd - 1, nd - 2),))


def _reshape(x, shape):
    return call(reshape_op, x, params=(shape,))


# The rules run on Tensors and, in a first-order backward, on arrays (``call``).
def _matmul_grad_a(g, a_shape, b):
    if len(a_shape) == 1 and b.ndim == 1:
        return g * b
    if len(a_shape) == 1:  # (k,) @ (..., k, n) -> (..., n)
        return _mm(_reshape(g, g.shape[:-1] + (1, g.shape[-1])), _mT(b))
    if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
        return _reshape(g, g.shape + (1,)) * b
    return _mm(g, _mT(b))


def _matmul_grad_b(g, a, b_shape):
    if a.ndim == 1 and len(b_shape) == 1:
        return g * a
    if a.ndim == 1:
        return _reshape(a, (a.shape[0], 1)) * _reshape(g, g.shape[:-1] + (1, g.shape[-1]))
    if len(b_shape) == 1:
        return _reshape(_mm(_mT(a), _reshape(g, g.shape + (1,))),
                        a.shape[:-2] + (a.shape[-1],))
    return _mm(_mT(a), g)


matmul_op.defvjp(_matmul_grad_a, _matmul_grad_b, arrays=True)


def _check_matmul(a_shape, b_shape, name="matmul"):
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ShapeError(f"{name}: both arguments must be at least 1-d, got a 0-d tensor "
                         f"(shapes {a_shape} and {b_shape})")
    k1 = a_shape[-1]
    k2 = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k1 != k2:
        raise ShapeError(f"{name}: shapes {a_shape} and {b_shape} are not aligned: inner "
                         f"dimensions {k1} and {k2} differ")
    if len(a_shape) > 2 and len(b_shape) > 2:
        try:
            np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
        except ValueError:
            raise ShapeError(f"{name}: batch dimensions of {a_shape} and {b_shape} cannot be "
                             "broadcast together") from None


def check_same_dtype(name, *tensors):
    """torch's matrix products refuse operands of different dtypes (no promotion)."""
    first = tensors[0].dtype
    for t in tensors[1:]:
        if t.dtype != first:
            raise DTypeError(f"{name}: expected both operands to have the same dtype, but got "
                             f"{first.name} and {t.dtype.name} (as torch, the matrix "
                             f"products do not promote: cast one, e.g. b.to(a.dtype))")


def matmul(a, b):
    """Matrix product with NumPy semantics: 1-D, 2-D and broadcast batches.

    Raises:
        ShapeError: 0-d arguments, mismatched inner dimensions or batch shapes.
        DTypeError: operands of different dtypes (torch does not promote them either).
    """
    if not isinstance(a, Tensor):
        a = Tensor(a, device=b.device if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = Tensor(b, device=a.device)
    _check_matmul(a.shape, b.shape)
    if a.dtype != b.dtype:
        check_same_dtype("matmul", a, b)
    return apply(matmul_op, a, b)


# ---------------------------------------------------------------- the Linear epilogue

def _use_kernel(xp):
    return xp is not np and kernels.enabled()


@op(name="bias_act", params=("act",), save=("out",), kernel="linear_act.cu:bias_act_fwd")
def bias_act_op(xp, z, b, act):
    """act(z + b): the epilogue after the matmul of a Linear layer (b may be None)."""
    if _use_kernel(xp):
        return kernels.bias_act_fwd(z, b, act)
    # z stays intact (no in-place bias add): it is the matmul node's value in ge.viz
    return bias_act_ref(xp, z, b, act)


@bias_act_op.vjp(arrays=True)
def _(g, out, act):
    if is_grad_enabled():  # create_graph: the differentiable VJP
        dz = act_backward(out, g, act)
        return dz, dz  # the engine sums the bias' gradient down to its shape
    # One pass over g gives dz and the bias gradient (the column sum of dz).
    return call(bias_act_backward, g, out, params=(act,))


@op(params=("act",), differentiable=False, kernel="linear_act.cu:bias_act_bwd")
def bias_act_backward(xp, g, out, act):
    """(dz, db): dz = g * act'(z) from out = act(z), db = the column sum of dz, in one
    pass over g (the fused backward of the Linear epilogue; create_graph uses act_backward
    and the engine's sum instead)."""
    if _use_kernel(xp):
        return kernels.bias_act_bwd(g, out, act, need_bias=True)
    return bias_act_backward_ref(xp, g, out, act, need_bias=True)


def linear(x, weight, bias=None, activation=None):
    """``act(x @ weight + bias)``, with ``weight`` of shape (in_features, out_features).

    On CUDA the bias + activation run as one fused kernel after the cuBLAS matmul, and
    the backward produces dz and the bias gradient in one pass.

    Args:
        x: (..., in_features). weight: (in_features, out_features). bias: (out_features,).
        activation: None, "sigmoid", "relu" or "tanh".
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"linear: unknown activation {activation!r}; use one of "
                         f"{ACTIVATIONS}")
    if not isinstance(x, Tensor):
        x = Tensor(x, device=weight.device)
    _check_matmul(x.shape, weight.shape, "linear")
    wdt = weight.data.dtype
    if x.data.dtype != wdt or (bias is not None and bias.data.dtype != wdt):
        check_same_dtype("linear", x, weight, *(() if bias is None else (bias,)))
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-d (in_features, out_features), got "
                         f"shape {weight.shape}")
    if bias is not None and tuple(bias.shape) != (weight.shape[1],):
        raise ShapeError(f"linear: bias of shape {bias.shape} does not match weight of shape "
                         f"{weight.shape}; expected ({weight.shape[1]},)")
    z = apply(matmul_op, x, weight)
    if bias is None and activation is None:
        return z
    return apply(bias_act_op, z, bias, params=(activation,))
