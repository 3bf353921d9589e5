"""Helpers shared by the tests/test_reliability_*.py files (RELIABILITY.md section 3).

Every reliability test reports the figures it measured through :func:`report`: a line
``RELIABILITY {...json...}`` on stdout (shown with ``pytest -s`` or on failure), and, when
the environment variable ``GE_RELIABILITY_REPORT`` names a file, the same JSON appended to
it, one object per line -- that is how the README table is filled in.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading

import gradengine as ge

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1024 * 1024
KiB = 1024


def cuda_ok() -> bool:
    try:
        return bool(ge.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken CuPy counts as absent
        return False


def report(test: str, **figures) -> dict:
    """Print (and optionally append to $GE_RELIABILITY_REPORT) the figures of one test."""
    rec = {"test": test, **figures}
    line = json.dumps(rec, sort_keys=False, default=str)
    print("RELIABILITY " + line)
    path = os.environ.get("GE_RELIABILITY_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    return rec


def rss_bytes() -> int:
    """The resident set size now, from /proc/self/statm (pages * page size)."""
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE")


def live_tensors() -> int:
    """How many gradengine Tensors (Parameters included) the cyclic GC can see right now.

    The tinygrad ``test_gc`` pattern: no ``gc.collect()`` here, so cyclic garbage that has
    not been collected yet is counted too.
    """
    T = ge.Tensor
    seen: dict = {}  # type -> is a Tensor type; type(o), not isinstance: no __class__ lookups
    n = 0
    for o in gc.get_objects():
        t = type(o)
        hit = seen.get(t)
        if hit is None:
            hit = seen[t] = issubclass(t, T)
        n += hit
    return n


def is_gradengine_object(o) -> bool:
    mod = getattr(type(o), "__module__", "") or ""
    return mod == "gradengine" or mod.startswith("gradengine.")


def run_python(code: str, *args, timeout: float = 300, env=None) -> dict:
    """Run ``code`` in a fresh interpreter (repository root on sys.path) and return the
    JSON object it prints on its last stdout line."""
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
    e.pop("GRADENGINE_DEVICE", None)
    if env:
        e.update(env)
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=e, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"subprocess failed with exit code {proc.returncode}:\n"
                             f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n"
                             f"{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    return json.loads(lines[-1])


class PropagatingThread(threading.Thread):
    """A Thread whose ``join()`` re-raises what its target raised (BaseException too) and
    returns what it returned."""

    def run(self):
        self.exc = None
        self.ret = None
        try:
            if self._target is not None:
                self.ret = self._target(*self._args, **self._kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to join()
            self.exc = e
        finally:
            del self._target, self._args, self._kwargs

    def join(self, timeout=None):
        super().join(timeout)
        if self.is_alive():
            raise TimeoutError(f"{self.name} did not finish within {timeout} s")
        if self.exc is not None:
            exc, self.exc = self.exc, None
            raise exc
        return self.ret
