"""Grad mode and anomaly mode: thread-local switches read on every op."""

from __future__ import annotations

import functools
import os
import threading
import traceback

import numpy as np

from ..backend import cupy


class _Mode(threading.local):
    """Grad mode is thread-local: a new thread starts with gradients enabled."""

    enabled = True
    anomaly = False
    hook = None  # the recorder plug-in (ge.jit) while a step is being traced
    inference = ()  # the modes of the inference_mode blocks being run, innermost last


_mode = _Mode()

# Bumped whenever a module's attributes change (assigned, deleted, train()/eval()): a
# plug-in that caches what a function computed (ge.jit) re-reads modules' state only then.
state_epoch = [0]


def is_grad_enabled() -> bool:
    return _mode.enabled


class _GradModeSwitch:
    """Base of no_grad / enable_grad: a context manager and a decorator."""

    _value = True

    def __init__(self, fn=None):
        self._fn = fn
        self._prev = []
        if fn is not None:
            functools.update_wrapper(self, fn)

    def __enter__(self):
        self._prev.append(_mode.enabled)
        _mode.enabled = self._value

    def __exit__(self, *exc):
        _mode.enabled = self._prev.pop()
        return False

    def _fresh(self, fn=None):
        """A new switch of this one's kind and value (``inference_mode(False)`` included),
        so that each call and each decorated function keeps its own saved state."""
        new = object.__new__(type(self))
        _GradModeSwitch.__init__(new, fn)
        new._value = self._value
        return new

    def __call__(self, *args, **kwargs):
        if self._fn is None:  # used as @no_grad() -> decorate the function given
            return self._fresh(args[0])
        with self._fresh():
            return self._fn(*args, **kwargs)

    def __get__(self, obj, objtype=None):  # decorating methods
        return self if obj is None else functools.partial(self.__call__, obj)


class no_grad(_GradModeSwitch):
    """Disable gradient recording in this thread (``with ge.no_grad():`` or ``@ge.no_grad``)."""

    _value = False


class enable_grad(_GradModeSwitch):
    """Enable gradient recording in this thread, e.g. inside a ``no_grad`` block."""

    _value = True


class set_grad_enabled(_GradModeSwitch):
    """``torch.set_grad_enabled(mode)``: switches grad mode on or off at the call; as a
    ``with`` block it restores the previous mode on exit, and as a decorator
    (``@set_grad_enabled(False)``) the function runs in that mode and the call itself
    changes nothing (PyTorch's three forms)."""

    def __init__(self, mode):
        super().__init__()
        self._value = bool(mode)
        self._prev.append(_mode.enabled)  # restored by __exit__, or when decorating
        self._armed = True
        _mode.enabled = self._value

    def __enter__(self):
        if getattr(self, "_armed", False):  # the call switched already
            self._armed = False
            return None
        return super().__enter__()

    def __call__(self, *args, **kwargs):
        if self._fn is None and getattr(self, "_armed", False):  # used as a decorator
            self._armed = False
            _mode.enabled = self._prev.pop()
        return super().__call__(*args, **kwargs)

    def clone(self):
        return self._fresh()


class detect_anomaly:
    """Context manager: a NaN/inf made by an op's forward or backward raises GraphError
    naming the op and the line of user code that created it. ``check_nan`` is accepted for
    PyTorch's signature (the check is always made)."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = _mode.anomaly
        _mode.anomaly = True
        return self

    def __exit__(self, *exc):
        _mode.anomaly = self._prev
        return False


_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _creation_site() -> str:
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PKG_DIR):
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


def _all_finite(arr) -> bool:
    xp = np if isinstance(arr, np.ndarray) else cupy()
    return bool(xp.isfinite(arr).all())


class set_detect_anomaly:
    """``torch.autograd.set_detect_anomaly(mode)``: anomaly mode on or off from the call
    on (as a function), or for a ``with`` block (restored on exit)."""

    def __init__(self, mode, check_nan=True):
        self._prev = _mode.anomaly
        _mode.anomaly = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _mode.anomaly = self._prev
        return False


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode (``detect_anomaly``) is on in this thread."""
    return bool(_mode.anomaly)


class inference_mode(_GradModeSwitch):
    """``torch.inference_mode``: no gradients are recorded (here the same as no_grad);
    ``inference_mode(False)`` leaves grad mode as it is (as PyTorch's). A context manager
    and a decorator; :func:`is_inference_mode_enabled` tells whether one is running."""

    _value = False

    def __init__(self, mode=True):
        if callable(mode):  # used as a bare decorator
            super().__init__(mode)
            return
        super().__init__()
        self._value = False if mode else None  # None: grad mode unchanged

    def __enter__(self):
        _mode.inference = _mode.inference + (self._value is not None,)
        self._prev.append(_mode.enabled)
        if self._value is not None:
            _mode.enabled = self._value

    def __exit__(self, *exc):
        _mode.inference = _mode.inference[:-1]
        _mode.enabled = self._prev.pop()
        return False


def is_inference_mode_enabled() -> bool:
    """``torch.is_inference_mode_enabled``: whether an ``inference_mode()`` block (not
    ``inference_mode(False)``) is the innermost one running in this thread."""
    return bool(_mode.inference and _mode.inference[-1])
