"""``torch.utils.checkpoint``: activation checkpointing -- a segment runs its forward
without keeping its graph, and runs again during the backward to make it.

    from gradengine.utils.checkpoint import checkpoint
    h = checkpoint(block, x, use_reentrant=False)

The recomputation draws the same random numbers as the first run (the generator's state
is saved and restored, as ``preserve_rng_state=True`` does), so dropout inside a segment
gets the same mask. Gradients equal those of the plain call.
"""

from __future__ import annotations

import copy

from .. import backend
from ..autograd.function import Function
from ..core.gradmode import enable_grad, is_grad_enabled
from ..core.tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _rng_state():
    return copy.deepcopy(backend._RNG.numpy.bit_generator.state)


def _set_rng_state(state):
    backend._RNG.numpy.bit_generator.state = state


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, run, preserve, *args):
        ctx.run = run
        ctx.rng = _rng_state() if preserve else None
        ctx.tensor_at = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.others = [None if isinstance(a, Tensor) else a for a in args]
        ctx.rg = [ctx.needs_input_grad[2 + i] for i in ctx.tensor_at]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        return run(*args)

    @staticmethod
    def backward(ctx, *grads):
        saved = ctx.saved_tensors
        args = list(ctx.others)
        inputs = []
        for i, t, needs in zip(ctx.tensor_at, saved, ctx.rg):
            d = t.detach()
            if needs:
                d.requires_grad_(True)
            args[i] = d
            inputs.append(d)
        now = _rng_state() if ctx.rng is not None else None
        if ctx.rng is not None:
            _set_rng_state(ctx.rng)
        try:
            with enable_grad():
                out = ctx.run(*args)
        finally:
            if now is not None:
                _set_rng_state(now)
        outs = out if isinstance(out, tuple) else (out,)
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            from ..autograd import backward as run_backward
            run_backward([o for o, _ in pairs], [g for _, g in pairs])
        result = [None, None] + [None] * len(ctx.others)
        for i, d in zip(ctx.tensor_at, inputs):
            result[2 + i] = d.grad
        return tuple(result)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check=None,
               debug=None, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)`` without keeping its graph; during the backward it runs
    again (with the same random draws) to make the gradients, which equal the plain call's.
    ``use_reentrant`` and the other options of torch are accepted."""
    run = (lambda *a: function(*a, **kwargs)) if kwargs else function
    if not is_grad_enabled() or not any(isinstance(a, Tensor) and a.requires_grad
                                        for a in args):
        # no input needs a gradient: the output would carry no graph to the parameters
        # inside (torch's reentrant form warns and drops them); run it plainly instead
        return run(*args)
    return _Checkpoint.apply(run, bool(preserve_rng_state), *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None,  # noqa: A002
                          **kwargs):
    """``torch.utils.checkpoint.checkpoint_sequential``: ``functions`` (a Sequential or a
    list of modules) split into ``segments`` checkpointed runs; the last segment runs
    plainly, as torch does."""
    fns = list(functions.children()) if hasattr(functions, "children") and \
        not isinstance(functions, (list, tuple)) else list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be >= 1, got {segments}")
    size = max(1, len(fns) // segments)
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        chunk = fns[start:end + 1]

        def run(x, chunk=chunk):
            for f in chunk:
                x = f(x)
            return x
        input = checkpoint(run, input, **kwargs)  # noqa: A001
    for f in fns[end + 1:]:
        input = f(input)  # noqa: A001
    return input

