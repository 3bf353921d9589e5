"""Broadcasting and its inverse: the engine's one unbroadcasting rule (``sum_to``)."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .op import apply, op


@op(params=("shape",), view=True)
def broadcast_to(xp, x, shape):
    """x broadcast to shape (NumPy rules)."""
    return xp.broadcast_to(x, shape)


broadcast_to.defvjp(lambda g, x_shape: sum_to(g, x_shape))


@op(params=("shape",))
def sum_to_op(xp, x, shape):
    """x summed over its broadcast axes down to shape."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and x.shape[i + lead] != 1)
    out = x.sum(axis=axes, keepdims=True) if axes else x
    return out.reshape(shape) if lead else out


sum_to_op.name = "sum_to"
sum_to_op.defvjp(lambda g, x_shape: broadcast(g, x_shape))


def sum_to(x, shape):
    """``x`` summed down to ``shape`` (the gradient of a broadcast)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return apply(sum_to_op, x, params=(shape,))


def broadcast(x, shape):
    """``x`` broadcast to ``shape``; the gradient is summed back."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    try:
        if len(shape) < x.ndim or np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"broadcast_to: cannot broadcast a tensor of shape {x.shape} to "
                         f"shape {shape}") from None
    return apply(broadcast_to, x, params=(shape,))
