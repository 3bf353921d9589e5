"""``ge.random``, as ``torch.random``: the seed and the state of gradengine's generators.

The CPU generator is NumPy's PCG64 (the one ``ge.manual_seed`` seeds, and every
random op draws from); its state is a uint8 Tensor of ``backend.STATE_BYTES`` bytes that
:func:`set_rng_state` restores exactly. PyTorch's CPU state is a Mersenne Twister's 5056
bytes: the two are not interchangeable. As in PyTorch, ``get_rng_state`` and
``set_rng_state`` touch the CPU generator only; ``manual_seed`` and :func:`seed` reseed
every device.
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import backend
from .core.tensor import Tensor
from .errors import DeviceError, DTypeError

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "fork_rng", "default_generator"]


def manual_seed(seed):
    """Seed the generators of every device; returns :data:`default_generator` (as torch)."""
    backend.manual_seed(int(seed))
    return default_generator


def seed() -> int:
    """Seed every device's generator from the OS's entropy; returns the seed (63 bits)."""
    s = int(np.random.SeedSequence().entropy % 2 ** 63)
    backend.manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed of the CPU generator: the last ``manual_seed`` / :func:`seed`, or, never
    seeded, the OS entropy NumPy started it from (which may exceed 64 bits);
    ``ge.manual_seed(ge.initial_seed())`` replays the stream from its start."""
    return backend.generator_seed(backend._RNG.numpy)


def _state_tensor(arr) -> Tensor:
    return Tensor._make(arr, backend.CPU)


def _state_array(new_state, op):
    if isinstance(new_state, Tensor):
        if new_state.dtype != np.uint8:
            raise DTypeError(f"{op}: the RNG state must be a uint8 tensor (torch.ByteTensor), "
                             f"got dtype {new_state.dtype.name}")
        return backend.to_device_array(new_state.data, backend.CPU)
    raise DTypeError(f"{op}: the RNG state must be a uint8 Tensor (from get_rng_state), got "
                     f"{type(new_state).__name__}")


def get_rng_state() -> Tensor:
    """The CPU generator's state, a uint8 Tensor (a copy: drawing does not change it)."""
    return _state_tensor(backend.generator_state(backend._RNG.numpy))


def set_rng_state(new_state) -> None:
    """Restore the CPU generator to a state from :func:`get_rng_state`.

    Raises:
        DTypeError: not a uint8 Tensor. ArgumentError: bytes that are not such a state.
    """
    backend._RNG.numpy = backend.generator_from_state(_state_array(new_state,
                                                                   "set_rng_state"))


class _DefaultGenerator:
    """``torch.default_generator``: the global CPU generator seen as a Generator."""

    device = backend.CPU

    def manual_seed(self, s):
        backend.manual_seed(int(s))
        return self

    def seed(self) -> int:
        return seed()

    def initial_seed(self) -> int:
        return initial_seed()

    def get_state(self) -> Tensor:
        return get_rng_state()

    def set_state(self, new_state):
        set_rng_state(new_state)
        return self

    def for_device(self, device, op):
        """The global NumPy generator, for ``generator=ge.default_generator``."""
        if device != "cpu":
            raise DeviceError(f"{op}: the default generator is on 'cpu' but the tensor goes "
                              f"to {device!r}")
        return backend._RNG.numpy

    def __repr__(self):
        return "<gradengine default CPU generator>"


default_generator = _DefaultGenerator()
_forks = [0]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type=None):
    """Run a block with the generators forked: on exit they stand where they stood on entry
    (``torch.random.fork_rng``). The CPU generator continues its stream inside the block,
    exactly as PyTorch's. A GPU generator cannot be copied (CuPy's RandomState keeps its
    state in cuRAND): inside the block each GPU draws from a fresh generator seeded from the
    last seed and a fork count (so deterministic after ``manual_seed``, but not the outer
    stream's continuation); the outer ones are put back on exit."""
    if not enabled:
        yield
        return
    cpu = backend.generator_state(backend._RNG.numpy)
    rng = backend._RNG
    saved_gpu = (rng.cupy_seed, rng.cupy)
    _forks[0] += 1
    if rng.cupy_seed is not None:
        rng.cupy_seed = int(np.random.SeedSequence([rng.cupy_seed, _forks[0]])
                            .generate_state(1, np.uint32)[0])
    rng.cupy = {}
    try:
        yield
    finally:
        rng.numpy = backend.generator_from_state(cpu)
        rng.cupy_seed, rng.cupy = saved_gpu


def _generator_get_state(self) -> Tensor:
    """``Generator.get_state()``: a uint8 Tensor (CPU generators)."""
    return _state_tensor(backend.generator_get_state(self))


def _generator_set_state(self, new_state):
    """``Generator.set_state(state)``; returns the generator."""
    return backend.generator_set_state(self, _state_array(new_state, "set_state"))


# ge.Generator's state methods return and take Tensors, a layer above the backend's
backend.Generator.get_state = _generator_get_state
backend.Generator.set_state = _generator_set_state
