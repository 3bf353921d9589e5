"""The world: the processes that ``mpiexec`` / ``srun`` started, seen through mpi4py.

:func:`init` reads the world the launcher made. Without a launcher (a plain ``python
train.py``) the world is one process and mpi4py is never imported; every collective is
then the identity. Inside a world of more than one, an uncaught exception on any rank
prints its traceback and aborts the whole world through ``MPI_Abort`` (non-zero exit on
every rank, no hang in a collective waiting for the dead rank).
"""

from __future__ import annotations

import os
import sys
import time

# Environment variables that a launcher sets in each process it starts: MPICH's Hydra and
# Intel MPI (PMI_*), Open MPI (OMPI_COMM_WORLD_*), PMIx launchers, Slurm's srun.
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_NTASKS",
              "MV2_COMM_WORLD_SIZE")
_LOCAL_VARS = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "PMIX_LOCAL_RANK", "SLURM_LOCALID",
               "MV2_COMM_WORLD_LOCAL_RANK")
BACKENDS = (None, "mpi", "nccl")


class _World:
    """The process-wide state: the MPI communicator (None in a world of one without a
    launcher), rank, size, local rank, and the NCCL communicator once made."""

    def __init__(self):
        self.initialized = False
        self.comm = None
        self.MPI = None
        self.rank = 0
        self.size = 1
        self.local_rank = 0
        self.backend = None     # what init() was asked for: None (automatic), "mpi", "nccl"
        self.nccl = None        # gradengine.distributed.nccl.NcclComm, made on first need
        self.prev_hook = None


WORLD = _World()


def launched() -> bool:
    """Whether a launcher started this process as one of a world of more than one."""
    for var in _SIZE_VARS:
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 1:
            return True
    return False


def join(backend: str | None = None) -> None:
    """Join the world that ``mpiexec`` or ``srun`` made (a world of one without a launcher).

    Args:
        backend: ``"mpi"`` (every collective over MPI; CUDA tensors through host memory),
            ``"nccl"`` (CUDA tensors over NCCL through CuPy, its unique id handed out over
            MPI; CPU tensors still over MPI) or None (NCCL for CUDA tensors when CuPy has
            it, else MPI). Calling init again with the same backend does nothing.
    Raises:
        ValueError: an unknown backend, or init again with another one.
        RuntimeError: launched by an MPI launcher but mpi4py is not installed (the message
            says ``pip install 'gradengine[mpi]'``), or ``"nccl"`` without CuPy's NCCL.
    Example:
        >>> import gradengine.distributed as dist
        >>> dist.init()
        >>> print(dist.rank(), "of", dist.world_size())

    ``gradengine.distributed.init`` is this plus, for ``"nccl"``, the NCCL communicator.
    """
    if backend not in BACKENDS:
        raise ValueError(f"init: backend must be one of 'mpi', 'nccl' or None, got {backend!r}")
    w = WORLD
    if w.initialized:
        if backend != w.backend:
            raise ValueError(f"init: the world is already initialized with backend "
                             f"{w.backend!r}; cannot switch to {backend!r}")
        return
    if launched() or _mpi_loaded():
        try:
            from mpi4py import MPI
        except ImportError as exc:
            raise RuntimeError(
                "init: this process was started by an MPI launcher but mpi4py is not "
                "installed; pip install 'gradengine[mpi]' (mpi4py and an MPI from PyPI)"
            ) from exc
        w.MPI = MPI
        w.comm = MPI.COMM_WORLD
        w.rank = w.comm.Get_rank()
        w.size = w.comm.Get_size()
        w.local_rank = _local_rank(w)
    w.backend = backend
    w.initialized = True
    if w.size > 1:
        _install_excepthook(w)


def _mpi_loaded() -> bool:
    """mpi4py's MPI already imported and initialized (a script that imported it itself)."""
    mod = sys.modules.get("mpi4py.MPI")
    return mod is not None and mod.Is_initialized() and not mod.Is_finalized()


def _local_rank(w) -> int:
    for var in _LOCAL_VARS:
        v = os.environ.get(var, "")
        if v.isdigit():
            return int(v)
    # no launcher variable: the rank among the processes sharing this node's memory
    local = w.comm.Split_type(w.MPI.COMM_TYPE_SHARED)
    try:
        return local.Get_rank()
    finally:
        local.Free()


def _install_excepthook(w) -> None:
    """An uncaught exception on this rank prints its traceback, then aborts every rank."""
    prev = sys.excepthook
    w.prev_hook = prev

    def hook(kind, value, tb):
        try:
            sys.stderr.write(f"gradengine.distributed: uncaught exception on rank {w.rank} of "
                             f"{w.size}; aborting the world\n")
            prev(kind, value, tb)
            sys.stderr.flush()
            sys.stdout.flush()
            time.sleep(0.5)  # let mpiexec forward the traceback before the abort kills us
        finally:
            w.comm.Abort(1)
    sys.excepthook = hook


def _reset(w) -> None:
    """Back to a world of one that is not initialized (tests and a failed init)."""
    if w.prev_hook is not None:
        sys.excepthook = w.prev_hook
    w.__init__()


def require(name: str) -> _World:
    """The world, or a RuntimeError saying that ``init()`` comes first."""
    if not WORLD.initialized:
        raise RuntimeError(f"{name}: the world is not initialized; call "
                           "gradengine.distributed.init() first (a plain `python script.py` "
                           "is then a world of one)")
    return WORLD


def is_initialized() -> bool:
    """Whether :func:`init` has been called in this process."""
    return WORLD.initialized


def rank() -> int:
    """This process's rank in the world, 0 .. world_size() - 1 (0 before init)."""
    return WORLD.rank


def world_size() -> int:
    """The number of processes in the world (1 before init and without a launcher)."""
    return WORLD.size


def local_rank() -> int:
    """This process's rank among the processes on its node (the GPU it should use)."""
    return WORLD.local_rank


def barrier() -> None:
    """Wait until every rank has called barrier()."""
    w = require("barrier")
    if w.comm is not None and w.size > 1:
        w.comm.Barrier()
