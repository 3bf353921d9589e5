"""Linear algebra: matmul (1-D, 2-D, batched with broadcasting) and the Linear layer op."""

from __future__ import annotations

import numpy as np

from ..cuda import gemm, kernels
from ..autograd import apply, apply2, compute, is_grad_enabled, op
from ..tensor import Tensor
from ..errors import ShapeError
from .activations import sigmoid_backward
from .fused import ACTIVATIONS, bias_act_backward_ref, bias_act_ref
from .shape import matrix_transpose, reshape


@op(name="matmul")
def matmul_op(xp, a, b):
    """a @ b (NumPy matmul semantics). NumPy's ``dot`` makes the same BLAS call for two
    matrices (bit-identical results) at half the call overhead of ``matmul``."""
    if xp is np and a.ndim == 2 and b.ndim == 2:
        return np.dot(a, b)
    if xp is np:
        return xp.matmul(a, b)
    return gemm.matmul(xp, a, b)  # cupy.matmul, or in a CUDA graph a capture-safe GEMM


def _mm(a, b):
    return apply2(matmul_op, a, b)  # shapes known to fit: no checks


@matmul_op.defvjp
def _(g, node):
    a, b = node.args
    need_a, need_b = node.needs[0], node.needs[1]
    ga = gb = None
    if a.ndim == 1 and b.ndim == 1:
        ga = g * b if need_a else None
        gb = g * a if need_b else None
    elif a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n)
        g2 = reshape(g, g.shape[:-1] + (1, g.shape[-1]))
        ga = _mm(g2, matrix_transpose(b)) if need_a else None
        gb = reshape(a, (a.shape[0], 1)) * g2 if need_b else None
    elif b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
        g2 = reshape(g, g.shape + (1,))
        ga = g2 * b if need_a else None
        gb = reshape(_mm(matrix_transpose(a), g2), a.shape[:-2] + (a.shape[-1],)) \
            if need_b else None
    else:
        ga = _mm(g, matrix_transpose(b)) if need_a else None
        gb = _mm(matrix_transpose(a), g) if need_b else None
    return ga, gb


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


def matmul(a, b):
    """Matrix product with NumPy semantics: 1-D, 2-D and broadcast batches.

    Raises:
        ShapeError: 0-d arguments, mismatched inner dimensions or batch shapes.
    """
    if not isinstance(a, Tensor):
        a = Tensor(a, device=b.device if isinstance(b, Tensor) else None)
    if not isinstance(b, Tensor):
        b = Tensor(b, device=a.device)
    _check_matmul(a.shape, b.shape)
    return apply(matmul_op, (a, b))


# ---------------------------------------------------------------- the Linear epilogue

def _use_kernel(xp):
    return xp is not np and kernels.enabled()


@op(name="bias_act", save_out=True, saves_inputs=False)
def bias_act_op(xp, z, b, act):
    """act(z + b): the epilogue after the matmul of a Linear layer (b may be None)."""
    if _use_kernel(xp):
        return kernels.bias_act_fwd(z, b, act)
    # z stays intact (no in-place bias add): it is the matmul node's value in ge.viz
    return bias_act_ref(xp, z, b, act)


@bias_act_op.defvjp
def _(g, node):
    act = node.params[0]
    need_b = node.needs[1]
    out = node.output()
    if is_grad_enabled():  # create_graph: the unfused VJP in Tensor ops, differentiable
        if act == "sigmoid":
            dz = sigmoid_backward(out, g)
        elif act == "tanh":
            dz = g * (1 - out * out)
        elif act == "relu":
            dz = g * compute(_positive, out)
        else:
            dz = g
        db = dz if need_b else None  # the engine sums it down to the bias' shape
        return dz, db
    # One pass over g gives dz and the bias gradient (the column sum of dz).
    return compute(_bias_act_backward, g, out, act, need_b)


def _bias_act_backward(xp, g, out, act, need_b):
    if _use_kernel(xp):
        return kernels.bias_act_bwd(g, out, act, need_bias=need_b)
    return bias_act_backward_ref(xp, g, out, act, need_bias=need_b)


def _positive(xp, x):
    return (x > 0).astype(x.dtype)


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
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-d (in_features, out_features), got "
                         f"shape {weight.shape}")
    if bias is not None and tuple(bias.shape) != (weight.shape[1],):
        raise ShapeError(f"linear: bias of shape {bias.shape} does not match weight of shape "
                         f"{weight.shape}; expected ({weight.shape[1]},)")
    z = apply2(matmul_op, x, weight)
    if bias is None and activation is None:
        return z
    return apply(bias_act_op, (z, bias), (activation,))
