"""``torch.func.vmap``: ``func`` mapped over one dimension of its inputs, as a Python loop
over that dimension whose results are stacked (functorch pushes the map into each op
instead; the values are the same). Every op inside is an ordinary recorded op, so vmap
composes with the gradient transforms and with itself in any order."""

from __future__ import annotations

import functools

import numpy as np

from ..core.tensor import Tensor
from ..errors import ArgumentError
from ..ops.creation import zeros
from ..ops.shape import stack
from ..random import get_rng_state, set_rng_state
from .pytree import broadcast_prefix, spec_str, tree_flatten, tree_unflatten

__all__ = ["vmap"]


def _name(func):
    if hasattr(func, "__name__"):
        return func.__name__
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return repr(func)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``torch.func.vmap``: a function that maps ``func`` over dimension ``in_dims`` of its
    inputs and stacks the results at ``out_dims``.

    Args:
        in_dims: an int for every input, or a tuple with one entry per positional argument,
            each an int, None (not mapped) or a nested structure matching that argument.
        out_dims: an int, None (the output is not mapped: the first sample's is returned)
            or a structure matching the outputs.
        randomness: "error" (a random op inside raises), "different" (each sample draws its
            own numbers) or "same" (every sample draws the same numbers).
        chunk_size: accepted; the samples run one at a time whatever it is.

    Raises:
        ArgumentError: (a ValueError) in_dims or out_dims that do not fit, mapped sizes that
            differ, nothing to map over; a random op under randomness="error".

    Example:
        >>> ge.vmap(lambda row: row.sum())(ge.ones(4, 3))   # shape (4,)
    """
    if randomness not in ("error", "different", "same"):
        raise ArgumentError(f"Only allowed values for randomness are 'error', 'different', or "
                            f"'same'. Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ArgumentError(f"vmap: chunk_size should be None or greater than 0. (got "
                            f"{chunk_size})")
    _check_out_dims(out_dims, func)

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        size, flat_dims, flat_args, spec = _batched_inputs(in_dims, args, func)
        if size == 0:
            return _empty_result(func, flat_dims, flat_args, spec, kwargs, out_dims)
        state = get_rng_state() if randomness != "different" else None
        results = []
        for i in range(size):
            if randomness == "same":
                set_rng_state(state)
            sample = [a if d is None else a[(slice(None),) * d + (i,)]
                      for a, d in zip(flat_args, flat_dims)]
            results.append(func(*tree_unflatten(sample, spec), **kwargs))
            if randomness == "error" and i == 0 and _changed(state):
                raise ArgumentError("vmap: called random operation while in randomness error "
                                    "mode. Please either use the 'same' or 'different' "
                                    "randomness flags on vmap or perform the randomness "
                                    "operation out of vmap")
        return _stack_results(results, out_dims, func)

    return wrapped


def _changed(state):
    return not np.array_equal(get_rng_state().numpy(), state.numpy())


def _check_out_dims(out_dims, func):
    for d in tree_flatten(out_dims)[0] if not isinstance(out_dims, int) else ():
        if d is not None and (not isinstance(d, int) or isinstance(d, bool)):
            raise ArgumentError(f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` "
                                "must be an int, None or a python collection of ints "
                                "representing where in the outputs the vmapped dimension "
                                "should appear.")


def _batched_inputs(in_dims, args, func):
    name = _name(func)
    if not isinstance(in_dims, (int, tuple)):
        raise ArgumentError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected "
                            "`in_dims` to be int or a (potentially nested) tuple matching the "
                            f"structure of inputs, got: {type(in_dims).__name__}.")
    if not args:
        raise ArgumentError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add "
                            "inputs, or you are trying to vmap over a function with no "
                            "inputs. The latter is unsupported.")
    flat_args, spec = tree_flatten(args)
    flat_dims = broadcast_prefix(in_dims, spec)
    if flat_dims is None:
        raise ArgumentError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not "
                            "compatible with the structure of `inputs`. in_dims has structure "
                            f"{spec_str(tree_flatten(in_dims)[1])} but inputs has structure "
                            f"{spec_str(spec)}.")
    sizes = []
    for i, (a, d) in enumerate(zip(flat_args, flat_dims)):
        if d is None:
            continue
        if not isinstance(d, int) or isinstance(d, bool):
            raise ArgumentError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got "
                                f"in_dim={d} for an input but in_dim must be either an integer "
                                "dimension or None.")
        if not isinstance(a, Tensor):
            raise ArgumentError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got "
                                f"in_dim={d} for an input but the input is of type "
                                f"{type(a).__name__}. We cannot vmap over non-Tensor "
                                "arguments, please use None as the respective in_dim")
        if not -a.ndim <= d < a.ndim:
            raise ArgumentError(f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got "
                                f"in_dim={d} for some input, but that input is a Tensor of "
                                f"dimensionality {a.ndim} so expected in_dim to satisfy "
                                f"-{a.ndim} <= in_dim < {a.ndim}.")
        flat_dims[i] = d % a.ndim
        sizes.append(a.shape[flat_dims[i]])
    if not sizes:
        raise ArgumentError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ArgumentError("vmap: Expected all tensors to have the same size in the mapped "
                            f"dimension, got sizes {sizes} for the mapped dimension")
    return sizes[0], flat_dims, flat_args, spec


def _flat_out_dims(out_dims, out, spec, func):
    if isinstance(out, Tensor):
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            return list(out_dims)
        if isinstance(out_dims, int) or out_dims is None:
            return [out_dims]
        dims = None
    else:
        dims = broadcast_prefix(out_dims, spec)
    if dims is None:
        raise ArgumentError(f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): "
                            "out_dims is not compatible with the structure of `outputs`. "
                            f"out_dims has structure {spec_str(tree_flatten(out_dims)[1])} but "
                            f"outputs has structure {spec_str(spec)}.")
    return dims


def _stack_results(results, out_dims, func):
    flats = [tree_flatten(r) for r in results]
    spec = flats[0][1]
    if any(s != spec for _, s in flats):
        raise ArgumentError(f"vmap({_name(func)}): the outputs of the samples have different "
                            f"structures ({spec_str(spec)} and another)")
    dims = _flat_out_dims(out_dims, results[0], spec, func)
    out = []
    for j, d in enumerate(dims):
        column = [leaves[j] for leaves, _ in flats]
        if d is None:
            out.append(column[0])
            continue
        for o in column:
            if not isinstance(o, Tensor):
                raise ArgumentError(f"vmap({_name(func)}, ...): `{_name(func)}` must only "
                                    f"return Tensors, got type {type(o).__name__}. Did you "
                                    "mean to set out_dims= to None for output?")
        out.append(stack(column, axis=d))
    return tree_unflatten(out, spec)


def _empty_result(func, flat_dims, flat_args, spec, kwargs, out_dims):
    """A batch of size 0: ``func`` runs once on zeros of a sample's shape to learn the
    outputs' shapes, and each mapped output is empty along its mapped dimension."""
    sample = [a if d is None else zeros(a.shape[:d] + a.shape[d + 1:], dtype=a.dtype,
                                        device=a.device)
              for a, d in zip(flat_args, flat_dims)]
    res = func(*tree_unflatten(sample, spec), **kwargs)
    leaves, out_spec = tree_flatten(res)
    dims = _flat_out_dims(out_dims, res, out_spec, func)
    out = []
    for o, d in zip(leaves, dims):
        if d is None:
            out.append(o)
            continue
        if not isinstance(o, Tensor):
            raise ArgumentError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                                f"Tensors, got type {type(o).__name__}.")
        d = d % (o.ndim + 1)
        out.append(zeros(o.shape[:d] + (0,) + o.shape[d:], dtype=o.dtype, device=o.device))
    return tree_unflatten(out, out_spec)
