"""The backend: which array module (`xp`) and device a tensor lives on.

This is the only module that imports CuPy, and only if it is installed. Devices are
strings: ``"cpu"`` or ``"cuda:N"`` (``"cuda"`` means the current CUDA device).
"""

from __future__ import annotations

import os
import threading

import numpy as np

from .errors import DeviceError, DTypeError

try:  # CuPy is optional: the CPU path never needs it.
    import cupy as _cupy
except Exception:  # noqa: BLE001 - a broken CuPy install counts as absent
    _cupy = None

INSTALL_HINT = (
    "install the CUDA extra: pip install 'gradengine[cuda12]' (CUDA 12) "
    "or pip install 'gradengine[cuda13]' (CUDA 13)"
)

SUPPORTED_DTYPES = (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool",
)
_DTYPES = {name: np.dtype(name) for name in SUPPORTED_DTYPES}
_DTYPES.update({"half": _DTYPES["float16"], "float": _DTYPES["float32"],
                "double": _DTYPES["float64"], "int": _DTYPES["int64"], "long": _DTYPES["int64"]})
DEFAULT_FLOAT = np.dtype("float32")
FLOAT_DTYPES = frozenset(np.dtype(n) for n in ("float16", "float32", "float64"))


def resolve_dtype(dtype, op: str = "tensor") -> np.dtype:
    """A supported numpy dtype from a name, numpy dtype or Python type; else DTypeError."""
    if dtype is float:
        return DEFAULT_FLOAT
    if dtype is int:
        return _DTYPES["int64"]
    if dtype is bool:
        return _DTYPES["bool"]
    try:
        dt = _DTYPES[dtype] if isinstance(dtype, str) else np.dtype(dtype)
    except (KeyError, TypeError):
        name = str(dtype)  # a torch dtype: torch.float32 -> "float32"
        dt = _DTYPES.get(name[6:]) if name.startswith("torch.") else None
    if dt is None or dt.name not in SUPPORTED_DTYPES:
        raise DTypeError(
            f"{op}: unsupported dtype {dtype!r}; supported dtypes are {', '.join(SUPPORTED_DTYPES)}"
        )
    return dt


def get_default_dtype() -> np.dtype:
    """The dtype of new floating tensors: float32 (``torch.get_default_dtype``)."""
    return DEFAULT_FLOAT


def floating(a):
    """``a``, or ``a`` cast to the default float dtype when it holds bools or integers:
    PyTorch's rule for the floating unary ops (``torch.sqrt`` of an int64 tensor is
    float32; NumPy's would be float64, and float16 for bools and int8)."""
    if a.dtype.kind in "biu":
        return a.astype(DEFAULT_FLOAT)
    return a


def set_default_dtype(dtype) -> None:
    """``torch.set_default_dtype``: gradengine's default float is fixed at float32.

    Raises:
        DTypeError: any other dtype (cast with ``.double()`` / ``module.to("float64")``).
    """
    dt = resolve_dtype(dtype, "set_default_dtype")
    if dt != DEFAULT_FLOAT:
        raise DTypeError(f"set_default_dtype: gradengine's default float dtype is float32 and "
                         f"cannot be changed to {dt.name}; pass dtype= or cast with "
                         ".double() / module.to('float64')")


def is_float(dtype) -> bool:
    return dtype in FLOAT_DTYPES


# ---------------------------------------------------------------- devices

def cuda_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no driver / no device
        return False


def cuda_device_count() -> int:
    return _cupy.cuda.runtime.getDeviceCount() if cuda_available() else 0


_several = None


def several_gpus() -> bool:
    """More than one CUDA device (then ops switch to their tensor's GPU); asked once."""
    global _several
    if _several is None:
        _several = cuda_device_count() > 1
    return _several


class device(str):  # noqa: N801 - torch.device's name
    """A device, as ``torch.device``: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``
    or ``device("cuda", 1)``, with ``.type`` and ``.index``. A ``str``, so it equals (and
    hashes as) the device strings gradengine uses: ``t.device == "cpu"`` and
    ``t.device == device("cpu")`` both hold. ``device("cuda")`` has no index and, as in
    PyTorch, is not equal to ``"cuda:0"``; no GPU is needed to make one.

    Raises:
        DeviceError: a type other than "cpu" or "cuda", or a bad index.
    """

    __slots__ = ()

    def __new__(cls, type, index=None):  # noqa: A002 - torch's argument names
        if isinstance(type, device) and index is None:
            return type
        name = str(type).strip().lower()
        kind, _, num = name.partition(":")
        if kind not in ("cpu", "cuda") or (num and index is not None):
            raise DeviceError(f"device: unknown device {type!r}" + (
                f" with index {index!r}" if index is not None else "") +
                "; use 'cpu', 'cuda', 'cuda:N' or ('cuda', N)")
        if index is not None:
            num = str(index)
        if num and not (num.isdigit() and (kind == "cuda" or num == "0")):
            raise DeviceError(f"device: bad device index {num!r} in {type!r}; a "
                              "non-negative integer is expected")
        return str.__new__(cls, f"{kind}:{int(num)}" if num and kind == "cuda" else kind)

    @property
    def type(self) -> str:  # noqa: A003
        return self.partition(":")[0]

    @property
    def index(self):
        num = self.partition(":")[2]
        return int(num) if num else None


CPU = device("cpu")


def normalize_device(device, op: str = "tensor") -> str:
    """``"cpu"`` or ``"cuda:N"``; raises DeviceError for CUDA where it cannot run."""
    if device is None:
        return get_default_device()
    if not isinstance(device, str):
        device = str(device)
    dev = device.strip().lower()
    if dev == "cpu":
        return CPU
    if dev == "cuda" or dev.startswith("cuda:"):
        if _cupy is None:
            raise DeviceError(f"{op}: device {device!r} needs CuPy, which is not installed; "
                              f"{INSTALL_HINT}")
        if not cuda_available():
            raise DeviceError(f"{op}: device {device!r} requested but there is no CUDA device "
                              "(CuPy is installed, but no GPU or driver was found)")
        index = _cupy.cuda.runtime.getDevice() if dev == "cuda" else int(dev[5:])
        if not 0 <= index < cuda_device_count():
            raise DeviceError(f"{op}: no CUDA device {index}; "
                              f"{cuda_device_count()} device(s) present")
        return _intern(f"cuda:{index}")
    raise DeviceError(f"{op}: unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'")


_interned: dict = {}


def _intern(name: str) -> str:
    # Device strings are compared on every op, so keep one object per name.
    dev = _interned.get(name)
    if dev is None:
        dev = _interned[name] = device(name)
    return dev


class _DefaultDevice(threading.local):
    value = None


_default = _DefaultDevice()
_process_default = None


def get_default_device() -> str:
    """The device new tensors go to: set_default_device, else $GRADENGINE_DEVICE, else cpu."""
    global _process_default
    if _process_default is None:
        env = os.environ.get("GRADENGINE_DEVICE", "").strip()
        _process_default = normalize_device(env, "GRADENGINE_DEVICE") if env else CPU
    return _process_default


def set_default_device(device) -> None:
    """Make ``device`` the default for new tensors in this process."""
    global _process_default
    _process_default = normalize_device(device, "set_default_device")


def xp_of(device: str):
    """The array module for a device string."""
    return np if device == "cpu" else _cupy


def cupy():
    """The CuPy module (None if not installed)."""
    return _cupy


def device_of_array(arr) -> str:
    if isinstance(arr, np.ndarray):
        return CPU
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        return _intern(f"cuda:{arr.device.id}")
    return CPU


def to_device_array(arr, device: str):
    """Copy (or pass through) an array to ``device``."""
    src = device_of_array(arr)
    if src == device:
        return arr
    if device == "cpu":
        return _cupy.asnumpy(arr)
    with _cupy.cuda.Device(int(device[5:])):
        if src != "cpu":
            # cupy.asarray returns a CuPy array as is, even one on another GPU; copy()
            # allocates on the current device (peer-to-peer)
            return arr.copy()
        return _cupy.asarray(arr)


def cuda_context(device: str):
    """A context manager selecting the CUDA device (a no-op on CPU)."""
    if device == "cpu":
        return _NULL
    return _cupy.cuda.Device(int(device[5:]))


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


_NULL = _Null()


# ---------------------------------------------------------------- randomness

class _RNG:
    numpy = np.random.default_rng()
    cupy_seed = None  # the seed of every device's generator (None: from the OS)
    cupy = {}         # device -> cupy RandomState, made on first use on that device


def manual_seed(seed: int) -> None:
    """Seed gradengine's generators on every backend (NumPy and, if present, every GPU).

    As PyTorch: any integer in [-2**63, 2**64) (a negative seed is taken modulo 2**64).

    Raises:
        ValueError: a seed outside that range."""
    seed = int(seed)
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"manual_seed: Overflow when unpacking long: the seed must be in "
                         f"[-2**63, 2**64), got {seed}")
    seed %= 2 ** 64
    _RNG.numpy = np.random.default_rng(seed)
    _RNG.cupy_seed = seed
    _RNG.cupy = {}


def seed_gpus(seed: int) -> None:
    """Seed the generators of every GPU only (``torch.cuda.manual_seed_all``)."""
    _RNG.cupy_seed = seed
    _RNG.cupy = {}


def rng(device: str):
    """The random generator for a device (numpy Generator or cupy RandomState)."""
    if device == "cpu":
        return _RNG.numpy
    gen = _RNG.cupy.get(device)
    if gen is None:
        with cuda_context(device):
            gen = _RNG.cupy[device] = _cupy.random.RandomState(_RNG.cupy_seed)
    return gen


class Generator:
    """A random generator of its own, as ``torch.Generator``: ``g = ge.Generator()``,
    ``g.manual_seed(0)``, then ``generator=g`` to randn / rand / randint / randperm,
    DataLoader and random_split. Its draws do not move the global generator's."""

    def __init__(self, device="cpu"):
        self.device = normalize_device(device, "Generator")
        self.seed()

    def manual_seed(self, seed: int):
        """Restart from ``seed``; returns the generator (as PyTorch's)."""
        self._seed = int(seed)
        if self.device == "cpu":
            self._gen = np.random.default_rng(self._seed)
        else:
            with cuda_context(self.device):
                self._gen = _cupy.random.RandomState(self._seed)
        return self

    def seed(self) -> int:
        """Restart from a fresh seed from the OS; returns it."""
        self.manual_seed(int(np.random.SeedSequence().entropy % 2 ** 63))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def for_device(self, device, op):
        """The array generator, after checking that it draws for ``device``."""
        if device != self.device:
            raise DeviceError(f"{op}: the generator is on {self.device!r} but the tensor "
                              f"goes to {device!r}")
        return self._gen


def _fp_switch():
    """``(quiet, restore)``: NumPy's floating-point warnings off and back on in about 0.1 us
    (NumPy >= 2 keeps them in a context variable), else through ``np.errstate``."""
    try:
        from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
        state = _make_extobj(all="ignore")
        return (lambda: _extobj_contextvar.set(state)), _extobj_contextvar.reset
    except (ImportError, AttributeError, TypeError):
        def quiet():
            e = np.errstate(all="ignore")
            e.__enter__()
            return e
        return quiet, (lambda e: e.__exit__(None, None, None))


fp_quiet, fp_restore = _fp_switch()
