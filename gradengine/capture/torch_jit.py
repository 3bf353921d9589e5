"""``torch.jit``'s entry points as attributes of ``ge.jit``, so TorchScript code runs as
written: ``ge.jit.script(model)``, ``ge.jit.trace(fn, example_inputs)``,
``@ge.jit.ignore``, ``@ge.jit.export`` ...

gradengine has no TorchScript: a module comes back itself (its forward is Python; the
results are the eager ones, which TorchScript's equal), and a function comes back as a
:class:`ScriptFunction`, which replays it with ``ge.jit`` where a replay is safe -- under
``no_grad`` / ``inference_mode``, where no graph is returned -- and calls it eagerly
otherwise. ``@ge.jit`` itself is unchanged.
"""

from __future__ import annotations

import functools
import typing

from ..core.gradmode import _mode

__all__ = ["Final", "Future", "ScriptFunction", "annotate", "attach", "export", "fork",
           "freeze", "ignore", "is_scripting", "is_tracing", "optimize_for_inference",
           "unused", "wait"]  # and script, trace, trace_module: bound to ge.jit by attach()

Final = typing.Final


def _is_module(obj) -> bool:
    # (capture sits below nn: a module is told by its shape, not by its class)
    return callable(getattr(obj, "forward", None)) and callable(getattr(obj, "parameters", None))


class ScriptFunction:
    """What ``script`` / ``trace`` return for a function: called like it, with its results.

    Under no_grad it is the ``ge.jit`` replay of the function (recorded at the first call
    of each signature); with gradients recorded it runs eagerly, so that its outputs keep
    their graph (a replay returns tensors without one)."""

    def __init__(self, fn, jit):
        self.fn = fn
        self._jitted = jit(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if _mode.enabled:
            return self.fn(*args, **kwargs)
        return self._jitted(*args, **kwargs)

    def __get__(self, obj, objtype=None):  # a decorated method
        return self if obj is None else functools.partial(self.__call__, obj)

    def __repr__(self):
        return f"<ScriptFunction {getattr(self.fn, '__qualname__', self.fn)!r}>"


def _shims(jit):
    def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
        """``torch.jit.script``: a module or a class itself, a function as a
        :class:`ScriptFunction`."""
        if _is_module(obj) or isinstance(obj, type) or isinstance(obj, ScriptFunction):
            return obj
        if not callable(obj):
            raise RuntimeError(f"script: expected a module, a class or a function, got "
                               f"{type(obj).__name__}")
        return ScriptFunction(obj, jit)

    def trace(func, example_inputs=None, optimizer=None, check_trace=True, check_inputs=None,
              check_tolerance=1e-05, strict=True, _force_outplace=False, _module_class=None,
              _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):
        """``torch.jit.trace``: runs ``func`` once on the example inputs (as tracing does)
        and returns a module itself, a function as a :class:`ScriptFunction`."""
        if example_inputs is None and example_kwarg_inputs is None:
            raise RuntimeError("trace: example_inputs or example_kwarg_inputs must be given")
        if example_kwarg_inputs is not None:
            func(**example_kwarg_inputs)
        else:
            func(*(example_inputs if isinstance(example_inputs, tuple) else
                   (example_inputs,)))
        return func if _is_module(func) or isinstance(func, ScriptFunction) else \
            ScriptFunction(func, jit)

    def trace_module(mod, inputs, *args, **kwargs):
        """``torch.jit.trace_module``: runs each named method on its inputs once; the module
        itself."""
        for name, example in inputs.items():
            getattr(mod, name)(*(example if isinstance(example, tuple) else (example,)))
        return mod

    return script, trace, trace_module


def ignore(drop=False, **kwargs):
    """``@torch.jit.ignore`` / ``@torch.jit.ignore(drop=True)``: the function unchanged."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    """``@torch.jit.unused``: the function unchanged."""
    return fn


def export(fn):
    """``@torch.jit.export``: the function unchanged."""
    return fn


def is_scripting() -> bool:
    """``torch.jit.is_scripting``: False (gradengine code always runs as Python)."""
    return False


def is_tracing() -> bool:
    """``torch.jit.is_tracing``: False."""
    return False


def annotate(the_type, the_value):
    """``torch.jit.annotate``: ``the_value``."""
    return the_value


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """``torch.jit.freeze``: the module itself."""
    return mod


def optimize_for_inference(mod, other_methods=None):
    """``torch.jit.optimize_for_inference``: the module itself."""
    return mod


class Future:
    """What :func:`fork` returns: the result, computed when forked."""

    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def value(self):
        return self._value

    def done(self) -> bool:
        return True


def fork(func, *args, **kwargs):
    """``torch.jit.fork``: ``func(*args)`` now (no parallel interpreter), as a Future."""
    return Future(func(*args, **kwargs))


def wait(future):
    """``torch.jit.wait``: the Future's result."""
    return future.wait()


def attach(jit):
    """Set the shims as attributes of the ``jit`` function (``ge.jit.script`` ...)."""
    jit.script, jit.trace, jit.trace_module = _shims(jit)
    for name in ("Final", "ScriptFunction", "annotate", "export", "fork", "freeze", "ignore",
                 "is_scripting", "is_tracing", "optimize_for_inference", "unused", "wait",
                 "Future"):
        setattr(jit, name, globals()[name])
    return jit
