"""Data-parallel training across processes and machines: MPI for CPU tensors (mpi4py),
NCCL through CuPy for CUDA tensors.

    import gradengine.distributed as dist
    dist.init()                                   # the world mpiexec / srun made
    model = dist.DataParallel(model)              # rank 0's weights; gradients averaged
    sampler = dist.DistributedSampler(len(X))     # this rank's share of every epoch

Run with ``mpiexec -n 4 python train.py`` or ``gradengine launch -n 4 train.py``; a plain
``python train.py`` is a world of one. ``import gradengine`` never imports mpi4py.
"""

from .collectives import all_gather, all_reduce, broadcast
from .nccl import communicator as _nccl_communicator
from .parallel import DataParallel, GradientAverager
from .sampler import DistributedSampler
from .world import WORLD as _WORLD
from .world import _reset, barrier, is_initialized, join, local_rank, rank, world_size


def init(backend: str | None = None) -> None:
    """Join the world that ``mpiexec`` or ``srun`` made; a plain ``python script.py`` is a
    world of one where every collective is the identity.

    Args:
        backend: ``"mpi"`` (CUDA tensors through host memory), ``"nccl"`` (CUDA tensors
            over NCCL through CuPy, its unique id handed out over MPI; made now) or None
            (NCCL for CUDA tensors when CuPy has it, made on first use; else MPI).
    Raises:
        ValueError: an unknown backend, or init again with another one. RuntimeError: an
            MPI launcher but no mpi4py (``pip install 'gradengine[mpi]'``), or ``"nccl"``
            without CuPy's NCCL.
    Example:
        >>> import gradengine.distributed as dist
        >>> dist.init()
        >>> print(dist.rank(), "of", dist.world_size())
    """
    first = not _WORLD.initialized
    join(backend)
    if backend == "nccl" and first:
        try:
            _nccl_communicator()
        except BaseException:
            _reset(_WORLD)
            raise

__all__ = ["init", "rank", "world_size", "local_rank", "is_initialized", "barrier",
           "all_reduce", "broadcast", "all_gather", "DataParallel", "GradientAverager",
           "DistributedSampler"]


# -- gapfill: nn.SyncBatchNorm all-reduces its batch statistics through this hook
def _sum_over_ranks(t):
    return all_reduce(t.detach().clone(), "sum")


def _many_ranks():
    return is_initialized() and world_size() > 1


from ..nn.gapfill import set_sync_reducer as _set_sync_reducer  # noqa: E402

_set_sync_reducer(_sum_over_ranks, _many_ranks)
