"""``ge.amp``: PyTorch's mixed-precision API, so that AMP training scripts run unchanged.

:class:`GradScaler` is PyTorch's, update for update: the loss is multiplied by the scale,
``step`` unscales the gradients, skips the optimizer step when any of them is inf or NaN,
and ``update`` halves the scale after a skipped step and doubles it after
``growth_interval`` clean ones. It works for every dtype.

:class:`autocast` is accepted as a context manager and a decorator, and
``ge.is_autocast_enabled()`` reports it, but the ops keep the dtypes of their inputs:
gradengine does not cast to float16 / bfloat16 on its own (NumPy has no bfloat16, and its
float16 matmul has no BLAS). Cast the model (``model.half()``) to train in float16; the
scaler then does what it does in PyTorch.

    scaler = ge.amp.GradScaler()
    with ge.autocast("cuda", dtype=ge.float16):
        loss = F.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
"""

from __future__ import annotations

import functools
import math
import threading
import warnings

from .core.gradmode import no_grad
from .core.tensor import Tensor
from .errors import ArgumentError

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype"]

_state = threading.local()


def _stack():
    s = getattr(_state, "stack", None)
    if s is None:
        s = _state.stack = []
    return s


def is_autocast_enabled(device_type=None) -> bool:
    """Whether an enabled :class:`autocast` region is open in this thread (for
    ``device_type`` if given)."""
    return any(on and (device_type is None or dev == device_type)
               for dev, _, on in _stack())


def get_autocast_dtype(device_type="cuda"):
    """The dtype the innermost autocast region for ``device_type`` names (PyTorch's
    defaults: float16 on CUDA, bfloat16 on the CPU, given as strings)."""
    for dev, dtype, _on in reversed(_stack()):
        if dev == device_type:
            return dtype
    return "float16" if device_type == "cuda" else "bfloat16"


class autocast:  # noqa: N801 - PyTorch's name
    """``torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``: a
    region (or a decorated function) where PyTorch would run matmuls in lower precision.
    Here the ops keep their inputs' dtypes (see the module docstring); the region is
    recorded, so :func:`is_autocast_enabled` answers as in PyTorch."""

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        device_type = str(device_type).split(":")[0]
        if device_type not in ("cuda", "cpu", "mps", "xpu"):
            raise ArgumentError(f"autocast: device_type must be 'cuda' or 'cpu', got "
                                f"{device_type!r}")
        self.device_type = device_type
        self.fast_dtype = dtype if dtype is not None else \
            ("float16" if device_type == "cuda" else "bfloat16")
        self.enabled = bool(enabled)

    def __enter__(self):
        _stack().append((self.device_type, self.fast_dtype, self.enabled))
        return self

    def __exit__(self, *exc):
        _stack().pop()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return fn(*args, **kwargs)
        return wrapper


def _grads(optimizer):
    return [p.grad for p in optimizer.params if isinstance(p.grad, Tensor)]


class GradScaler:
    """``torch.amp.GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0,
    backoff_factor=0.5, growth_interval=2000, enabled=True)``, as PyTorch's.

    Methods: :meth:`scale` (the loss times the scale), :meth:`unscale_` (divide an
    optimizer's gradients by the scale, once per step), :meth:`step` (unscale if not done,
    then ``optimizer.step()`` unless a gradient is inf or NaN; returns its result or
    None), :meth:`update` (the next scale), :meth:`get_scale`, :meth:`is_enabled`,
    :meth:`state_dict` / :meth:`load_state_dict`. Disabled, every method passes through.
    """

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        if growth_factor <= 1.0:
            raise ArgumentError(f"GradScaler: growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ArgumentError(f"GradScaler: backoff_factor must be in (0, 1), got "
                                f"{backoff_factor}")
        if int(growth_interval) < 1:
            raise ArgumentError(f"GradScaler: growth_interval must be >= 1, got "
                                f"{growth_interval}")
        self.device = str(device)
        self._enabled = bool(enabled)
        if self._enabled and self.device.startswith("cuda"):
            from . import backend
            if not backend.cuda_available():  # PyTorch's rule (and words)
                warnings.warn("GradScaler is enabled, but CUDA is not available.  Disabling.",
                              UserWarning, stacklevel=2)
                self._enabled = False
        self._scale = float(init_scale)
        self._init_scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer = {}  # id(optimizer) -> {"unscaled": bool, "found_inf": bool}

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_factor(self, v):
        self._growth_factor = float(v)

    def set_backoff_factor(self, v):
        self._backoff_factor = float(v)

    def set_growth_interval(self, v):
        self._growth_interval = int(v)

    def scale(self, outputs):
        """``outputs`` (a Tensor, or a list / tuple / dict of them) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, dict):
            return {k: self.scale(v) for k, v in outputs.items()}
        raise TypeError(f"GradScaler.scale: expected a Tensor or a container of them, got "
                        f"{type(outputs).__name__}")

    def _entry(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer),
                                              {"unscaled": False, "found_inf": False})

    def unscale_(self, optimizer):
        """Divide ``optimizer``'s gradients by the scale, in place, and note whether any is
        inf or NaN. Raises RuntimeError when called twice before :meth:`update`."""
        if not self._enabled:
            return
        entry = self._entry(optimizer)
        if entry["unscaled"]:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        inv = 1.0 / self._scale
        found = False
        with no_grad():  # ops, so that ge.jit sees them (the finite check reads the host)
            for g in _grads(optimizer):
                if g.dtype.kind != "f":
                    continue
                g.mul_(inv)
                if not bool(g.isfinite().all().item()):
                    found = True
        entry["unscaled"] = True
        entry["found_inf"] = found

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if :meth:`unscale_` was not called) and step, unless a gradient is inf
        or NaN; returns what ``optimizer.step`` returns, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        entry = self._entry(optimizer)
        if not entry["unscaled"]:
            self.unscale_(optimizer)
        if entry["found_inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        """The scale for the next iteration: ``new_scale`` if given, else backed off after
        a step that found inf / NaN, grown after ``growth_interval`` clean steps."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if isinstance(new_scale, Tensor)
                                else new_scale)
        elif self._per_optimizer:
            found = any(e["found_inf"] for e in self._per_optimizer.values())
            if found:
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if math.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer = {}

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was "
                               "saved from a disabled instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
