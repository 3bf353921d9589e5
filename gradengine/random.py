"""``ge.random``, as ``torch.random``: the seed and the state of gradengine's generators.

The CPU generator is NumPy's PCG64 (the one ``ge.manual_seed`` seeds, and every
random op draws from); its state is a uint8 Tensor of :data:`STATE_BYTES` bytes that
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
from .errors import ArgumentError, DeviceError, DTypeError

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "fork_rng", "default_generator"]

# The state of a CPU generator as bytes: PCG64's 128-bit state and increment, its buffered
# 32-bit half, and the seed it started from (so that a restored generator also answers
# initial_seed). PyTorch's CPU state is a Mersenne Twister's 5056 bytes.

_STATE_TAG = b"gePCG64\x01"
STATE_BYTES = len(_STATE_TAG) + 16 + 16 + 1 + 4 + 16


def generator_seed(gen) -> int:
    """The seed a NumPy generator was made from (its SeedSequence's entropy)."""
    ent = gen.bit_generator.seed_seq.entropy
    if isinstance(ent, (int, np.integer)):
        return int(ent)
    return int(np.random.SeedSequence(ent).generate_state(2, np.uint64)[0])


def generator_state(gen, op="get_rng_state") -> np.ndarray:
    """A NumPy PCG64 generator's state as a uint8 array of :data:`STATE_BYTES`."""
    st = gen.bit_generator.state
    if st.get("bit_generator") != "PCG64":
        raise DTypeError(f"{op}: only PCG64 generators have a state here, got "
                         f"{st.get('bit_generator')!r}")
    seed = generator_seed(gen) % 2 ** 128
    raw = (_STATE_TAG + st["state"]["state"].to_bytes(16, "little")
           + st["state"]["inc"].to_bytes(16, "little") + bytes([st["has_uint32"] & 1])
           + int(st["uinteger"]).to_bytes(4, "little") + seed.to_bytes(16, "little"))
    return np.frombuffer(raw, dtype=np.uint8).copy()


def generator_from_state(arr, op="set_rng_state"):
    """A NumPy generator continuing where the one whose :func:`generator_state` is ``arr``
    stood.

    Raises:
        ArgumentError: bytes that are not such a state (PyTorch's 5056 bytes among them).
    """
    raw = bytes(np.asarray(arr, dtype=np.uint8).reshape(-1))
    if len(raw) != STATE_BYTES or not raw.startswith(_STATE_TAG):
        raise ArgumentError(f"{op}: expected a gradengine generator state of {STATE_BYTES} "
                            f"bytes (from get_rng_state / get_state), got {len(raw)} bytes"
                            + (" (PyTorch's CPU state is 5056 bytes of another generator)"
                               if len(raw) == 5056 else ""))
    at = len(_STATE_TAG)
    state = int.from_bytes(raw[at:at + 16], "little")
    inc = int.from_bytes(raw[at + 16:at + 32], "little")
    has, uint = raw[at + 32], int.from_bytes(raw[at + 33:at + 37], "little")
    seed = int.from_bytes(raw[at + 37:at + 53], "little")
    bits = np.random.PCG64(seed)
    bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                  "has_uint32": has, "uinteger": uint}
    return np.random.Generator(bits)



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
    return generator_seed(backend._RNG.numpy)


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
    return _state_tensor(generator_state(backend._RNG.numpy))


def set_rng_state(new_state) -> None:
    """Restore the CPU generator to a state from :func:`get_rng_state`.

    Raises:
        DTypeError: not a uint8 Tensor. ArgumentError: bytes that are not such a state.
    """
    backend._RNG.numpy = generator_from_state(_state_array(new_state,
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
    cpu = generator_state(backend._RNG.numpy)
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
        rng.numpy = generator_from_state(cpu)
        rng.cupy_seed, rng.cupy = saved_gpu


def _generator_get_state(self) -> Tensor:
    """``Generator.get_state()``: a uint8 Tensor (CPU generators).

    Raises:
        DeviceError: a CUDA generator (CuPy's RandomState does not expose its state).
    """
    if self.device != "cpu":
        raise DeviceError(f"get_state: the state of a CUDA generator ({self.device}) cannot "
                          "be read (CuPy's RandomState does not expose it); use manual_seed")
    return _state_tensor(generator_state(self._gen, "get_state"))


def _generator_set_state(self, new_state):
    """``Generator.set_state(state)``; returns the generator."""
    if self.device != "cpu":
        raise DeviceError(f"set_state: the state of a CUDA generator ({self.device}) cannot "
                          "be set; use manual_seed")
    self._gen = generator_from_state(_state_array(new_state, "set_state"), "set_state")
    self._seed = generator_seed(self._gen)
    return self


# ge.Generator's state methods return and take Tensors, a layer above the backend's
backend.Generator.get_state = _generator_get_state
backend.Generator.set_state = _generator_set_state
