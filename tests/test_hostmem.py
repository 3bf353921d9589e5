"""The host allocator setting (gradengine.hostmem): applied at import on glibc Linux, left
alone with GRADENGINE_HOST_ALLOCATOR=system, refused for other values."""

import os
import platform
import subprocess
import sys

import pytest

from gradengine import hostmem

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def _state_in_fresh_process(value):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("GRADENGINE_HOST_ALLOCATOR", None)
    if value is not None:
        env["GRADENGINE_HOST_ALLOCATOR"] = value
    return subprocess.run([sys.executable, "-c", "import gradengine.hostmem as h; print(h.state)"],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not GLIBC, reason="the setting applies to glibc's malloc only")
def test_reuse_is_applied_at_import_and_system_leaves_the_allocator_alone():
    assert _state_in_fresh_process(None).stdout.strip() == "reuse"
    assert _state_in_fresh_process("system").stdout.strip() == "system"


def test_an_unknown_choice_is_refused_naming_the_variable():
    r = _state_in_fresh_process("jemalloc")
    assert r.returncode != 0 and "GRADENGINE_HOST_ALLOCATOR" in r.stderr
    with pytest.raises(ValueError, match="GRADENGINE_HOST_ALLOCATOR"):
        hostmem.configure("fast")


@pytest.mark.skipif(not GLIBC, reason="the setting applies to glibc's malloc only")
def test_freed_arrays_are_reused_so_the_next_step_touches_no_new_pages():
    # a step that allocates and frees several 512 KiB arrays: with the setting on, the
    # process's minor page faults stay flat from one step to the next (the memory is reused)
    code = (
        "import resource, numpy as np, gradengine\n"
        "x = np.ones((128, 1024), np.float32)\n"
        "def step():\n"
        "    a = x * 2; b = a + x; c = b * a; d = c - b\n"
        "    return float(d[0, 0])\n"
        "for _ in range(20): step()\n"
        "f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(200): step()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("GRADENGINE_HOST_ALLOCATOR", None)
    faults = int(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, timeout=120, check=True).stdout)
    # without the setting each step faults in ~4 x 128 pages (~100,000 over 200 steps)
    assert faults < 2000, faults
