"""Parameter initialisation, PyTorch's ``torch.nn.init``: in place, from gradengine's
generator (seeded by ``ge.manual_seed``), returning the tensor.

Fan-in and fan-out. gradengine's Linear and Dense keep their weight as (in_features,
out_features) (``y = x @ W + b``), PyTorch's as (out, in). So for a 2-D tensor
``fan_in = shape[0]`` and ``fan_out = shape[1]``: ``kaiming_uniform_(linear.weight)``
draws from the same distribution as PyTorch's for the same layer. A tensor of 3 or more
dimensions is a convolution kernel in PyTorch's layout (out, in / groups, *kernel):
``fan_in = shape[1] * prod(kernel)``, ``fan_out = shape[0] * prod(kernel)``, as in PyTorch.

    nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
    nn.init.zeros_(layer.bias)
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..core.tensor import Tensor
from ..errors import DTypeError

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table): 1 for linear, conv and
    sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu
    (slope ``param``, default 0.01), 3/4 for selu.

    Raises:
        ValueError: an unknown nonlinearity or a non-numeric slope.
    Example:
        >>> nn.init.calculate_gain("relu")
        1.4142135623730951
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; one of "
                     f"{', '.join(_LINEAR + ('tanh', 'relu', 'leaky_relu', 'selu'))}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """(fan_in, fan_out) by the rule in the module docstring."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out cannot be computed for a tensor with "
                         f"fewer than 2 dimensions (shape {shape})")
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode {mode!r} is not supported; 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _target(tensor, op, random=True):
    if not isinstance(tensor, Tensor):
        dev = _array_device(tensor)
        if dev is None:
            raise TypeError(f"{op}: expected a gradengine Tensor, got "
                            f"{type(tensor).__name__}")
        # ``nn.init.normal_(m.weight.data, ...)`` (PyTorch's DCGAN idiom): a Tensor on the
        # array itself, so the values land in the parameter's buffer (untracked, as in torch)
        tensor = Tensor._make(tensor, dev)
    if random and tensor.data.dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating tensor, got {tensor.data.dtype} of shape "
                         f"{tensor.shape}")
    return tensor


def _array_device(arr):
    """The device of a backend array (a parameter's ``.data``), or None for anything else."""
    cp = backend.cupy()
    if isinstance(arr, np.ndarray) or cp is not None and isinstance(arr, cp.ndarray):
        return backend.device_of_array(arr)
    return None


def _write(tensor, values):
    """Write ``values`` into ``tensor`` in place (its buffer stays; the version moves on)."""
    xp = backend.xp_of(tensor.device)
    data = tensor.data
    with backend.cuda_context(tensor.device):
        if getattr(data, "flags", None) is not None and data.flags.writeable:
            xp.copyto(data, xp.asarray(values, dtype=data.dtype))
        else:
            tensor.data = xp.array(values, dtype=data.dtype).reshape(data.shape)
    tensor._version += 1
    return tensor


def _sample(tensor, kind, a, b):
    gen = backend.rng(tensor.device)
    with backend.cuda_context(tensor.device):
        if kind == "uniform":
            return gen.uniform(a, b, size=tensor.shape)
        return gen.normal(a, b, size=tensor.shape)


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill ``tensor`` with U(a, b) samples, in place; returns it.

    Example:
        >>> nn.init.uniform_(w, -0.1, 0.1)
    """
    tensor = _target(tensor, "uniform_")
    return _write(tensor, _sample(tensor, "uniform", a, b))


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill ``tensor`` with N(mean, std^2) samples, in place; returns it.

    Example:
        >>> nn.init.normal_(embedding.weight, std=0.02)
    """
    tensor = _target(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std!r}")
    return _write(tensor, _sample(tensor, "normal", mean, std))


def constant_(tensor, val: float):
    """Fill ``tensor`` with ``val``, in place; returns it."""
    tensor = _target(tensor, "constant_", random=False)
    xp = backend.xp_of(tensor.device)
    with backend.cuda_context(tensor.device):
        return _write(tensor, xp.full(tensor.shape, val, dtype=tensor.data.dtype))


def ones_(tensor):
    """Fill ``tensor`` with ones, in place; returns it."""
    return constant_(tensor, 1)


def zeros_(tensor):
    """Fill ``tensor`` with zeros, in place; returns it."""
    return constant_(tensor, 0)


def xavier_uniform_(tensor, gain: float = 1.0):
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    Example:
        >>> nn.init.xavier_uniform_(linear.weight)
    """
    tensor = _target(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _write(tensor, _sample(tensor, "uniform", -a, a))


def xavier_normal_(tensor, gain: float = 1.0):
    """Glorot normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    tensor = _target(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _write(tensor, _sample(tensor, "normal", 0.0, std))


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu"):
    """He uniform: U(-b, b) with ``b = sqrt(3) * gain / sqrt(fan)``, ``gain =
    calculate_gain(nonlinearity, a)``; ``fan`` is fan_in or fan_out (``mode``).

    Example:
        >>> nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5))  # PyTorch's Linear
    """
    tensor = _target(tensor, "kaiming_uniform_")
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return _write(tensor, _sample(tensor, "uniform", -bound, bound))


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu"):
    """He normal: N(0, std^2) with ``std = gain / sqrt(fan)`` (see :func:`kaiming_uniform_`).

    Example:
        >>> nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    """
    tensor = _target(tensor, "kaiming_normal_")
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return _write(tensor, _sample(tensor, "normal", 0.0, std))


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None):
    """N(mean, std^2) truncated to [a, b] (absolute bounds, as PyTorch), in place; drawn by
    rejection, so the values follow the truncated normal exactly."""
    tensor = _target(tensor, "trunc_normal_")
    if std < 0 or not a < b:
        raise ValueError(f"trunc_normal_: need std >= 0 and a < b, got std={std}, a={a}, "
                         f"b={b}")
    gen = backend.rng("cpu")
    n = int(np.prod(tensor.shape))
    out = np.empty(0)
    while out.size < n:
        draw = gen.normal(mean, std, size=max(16, 2 * (n - out.size)))
        out = np.concatenate([out, draw[(draw >= a) & (draw <= b)]])
    return _write(tensor, _on(tensor, out[:n].reshape(tensor.shape)))


def _on(tensor, host):
    """A host array as an array on ``tensor``'s device."""
    return host if tensor.device == "cpu" else backend.to_device_array(host, tensor.device)


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al.), as PyTorch: the Q of the QR
    decomposition of a normal draw, signs fixed by R's diagonal; a tensor of 3 or more
    dimensions is flattened to (shape[0], rest)."""
    tensor = _target(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {tensor.shape}")
    if 0 in tensor.shape:
        return tensor
    rows = tensor.shape[0]
    cols = int(np.prod(tensor.shape)) // rows
    flat = backend.rng("cpu").normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, _on(tensor, (gain * q).reshape(tensor.shape)))


def eye_(tensor):
    """The identity in a 2-D tensor, in place (ones on the diagonal)."""
    tensor = _target(tensor, "eye_", random=False)
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-d tensors are supported, got shape {tensor.shape}")
    return _write(tensor, _on(tensor, np.eye(*tensor.shape)))


def dirac_(tensor, groups: int = 1):
    """The Dirac delta in a convolution kernel (3-, 4- or 5-d, PyTorch's layout (out,
    in, *k)): each of the first min(out/groups, in) channels passes through unchanged."""
    tensor = _target(tensor, "dirac_", random=False)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: only 3, 4 or 5-d tensors are supported, got shape "
                         f"{tensor.shape}")
    shape = tensor.shape
    if shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    out_per = shape[0] // groups
    w = np.zeros(shape)
    centre = tuple(k // 2 for k in shape[2:])
    for g in range(groups):
        for d in range(min(out_per, shape[1])):
            w[(g * out_per + d, d) + centre] = 1
    return _write(tensor, _on(tensor, w))


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    """A 2-D tensor of N(0, std^2) values with a ``sparsity`` share of each column zero
    (Martens 2010), as PyTorch."""
    tensor = _target(tensor, "sparse_")
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: only 2-d tensors are supported, got shape {tensor.shape}")
    rows, cols = tensor.shape
    gen = backend.rng("cpu")
    w = gen.normal(0.0, std, size=(rows, cols))
    zeros = int(math.ceil(sparsity * rows))
    for c in range(cols):
        w[gen.permutation(rows)[:zeros], c] = 0
    return _write(tensor, _on(tensor, w))


# PyTorch's deprecated spellings without the underscore
uniform, normal, constant = uniform_, normal_, constant_
xavier_uniform, xavier_normal = xavier_uniform_, xavier_normal_
kaiming_uniform, kaiming_normal = kaiming_uniform_, kaiming_normal_
orthogonal, sparse, eye, dirac = orthogonal_, sparse_, eye_, dirac_
__all__ += ["trunc_normal_", "orthogonal_", "eye_", "dirac_", "sparse_"]
