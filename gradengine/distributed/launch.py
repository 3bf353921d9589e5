"""``gradengine launch -n N script.py [args]``: mpiexec with the environment set.

Finds ``mpiexec`` beside this Python (the ``mpi`` extra's MPI from PyPI) or on PATH, gives
each rank ``cores // N`` threads (OMP/OpenBLAS/MKL), and adds the flags Open MPI needs to
run as root or with more ranks than cores. Never imports mpi4py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def find_mpiexec():
    """The mpiexec to use, or None."""
    cand = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(cand):
        return cand
    return shutil.which("mpiexec") or shutil.which("mpirun")


def flavor(exe) -> str:
    """``"openmpi"``, ``"mpich"`` (Hydra, also Intel MPI) or ``"unknown"``."""
    try:
        text = subprocess.run([exe, "--version"], capture_output=True, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if "Open MPI" in text or "OpenRTE" in text:
        return "openmpi"
    if "HYDRA" in text or "Intel" in text or "MPICH" in text:
        return "mpich"
    return "unknown"


def command(n, script, args, exe, kind, cores=None):
    """The mpiexec command line and the environment for ``n`` ranks of ``script``."""
    cores = cores or os.cpu_count() or 1
    threads = str(max(1, cores // n))
    env = dict(os.environ)
    env.update({v: threads for v in THREAD_VARS})
    cmd = [exe, "-n", str(n)]
    if kind == "openmpi":
        cmd += ["--oversubscribe"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd += ["--allow-run-as-root"]
        for v in THREAD_VARS:
            cmd += ["-x", v]
    elif kind == "mpich":
        for v in THREAD_VARS:
            cmd += ["-genv", v, threads]
    cmd += [sys.executable, script, *args]
    return cmd, env
