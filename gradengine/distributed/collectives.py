"""Collectives on Tensors: all_reduce (in place), broadcast (in place), all_gather.

CPU buffers go to MPI as they are (a contiguous array is handed over by address, no copy);
CUDA buffers go to NCCL on the current stream (:mod:`gradengine.distributed.nccl`), or
through host memory over MPI when NCCL is not there or ``init(backend="mpi")`` was asked
for. Every call first makes a cheap handshake (one all-reduce of 28 integers, from a
buffer kept per signature) so that a collective whose op, shape, dtype or transport differs
across ranks raises the same clear error on every rank instead of hanging or mixing bytes.
The handshake is made on every call on every rank, never skipped on what one rank has seen
before, so that every rank always makes the same MPI calls.
"""

from __future__ import annotations

import os

import numpy as np

from .. import backend
from ..core.tensor import Tensor
from ..errors import DTypeError, ShapeError
from .world import WORLD, require

OPS = ("sum", "mean", "max", "min")
_OP_INDEX = {op: i for i, op in enumerate(OPS)}
# the collectives a handshake can name; "bucket" (a backward's gradient average), "early"
# (a bucket's all-reduce started during the backward) and "flat" (a ge.jit replay's flat
# gradient buffer) are DataParallel's
_KINDS = {"all_reduce": 1, "broadcast": 2, "all_gather": 3, "bucket": 4, "early": 5, "flat": 6}
_OVER_NCCL = 8  # added to the kind of a Tensor collective that goes to NCCL (not MPI)
_DTYPES = [np.dtype(d) for d in ("float16", "float32", "float64", "int8", "int16", "int32",
                                 "int64", "uint8", "uint16", "uint32", "uint64")]
_DTYPE_CODE = {d: i for i, d in enumerate(_DTYPES)}
_F16 = _DTYPE_CODE[np.dtype("float16")]
_MAX_DIMS = 8
_ROW = 5 + _MAX_DIMS + 1
# GRADENGINE_DIST_CHECK=0 skips the per-call handshake of the Tensor collectives (one small
# all-reduce of 28 integers); DataParallel's layout check always runs.
CHECK = os.environ.get("GRADENGINE_DIST_CHECK", "1") != "0"


def _check_tensor(name, t, op=None):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(t).__name__}")
    if t.data.dtype not in _DTYPE_CODE:
        raise DTypeError(f"{name}: dtype {t.data.dtype.name} is not supported; use one of "
                         f"{', '.join(d.name for d in _DTYPES)}")
    if op is not None and op not in OPS:
        raise ValueError(f"{name}: op must be one of {', '.join(map(repr, OPS))}, got {op!r}")


def _describe(row):
    kind, code, op, extra, ndim = (int(v) for v in row[:5])
    shape = tuple(int(v) for v in row[5:5 + min(ndim, _MAX_DIMS)])
    if ndim > _MAX_DIMS:
        shape = shape + ("...",)
    over = " over NCCL" if kind & _OVER_NCCL else ""
    name = {v: k for k, v in _KINDS.items()}.get(kind & ~_OVER_NCCL, "?")
    dtype = _DTYPES[code].name if 0 <= code < len(_DTYPES) else "?"
    if name == "bucket" and len(shape) == 2:
        return (f"the gradient average of {shape[0]} parameters ({shape[1]} elements, "
                f"{dtype} first; layout #{extra})")
    if name == "early" and len(shape) == 2:
        return (f"the all-reduce of gradient bucket {shape[0]} ({shape[1]} elements {dtype}; "
                f"layout #{extra}) during its backward")
    if name == "flat" and len(shape) == 1:
        return f"the ge.jit flat gradient average ({shape[0]} elements {dtype})"
    text = f"{name} of shape {shape} {dtype}"
    if name == "all_reduce":
        text += f" op={OPS[op]!r}"
    elif name == "broadcast":
        text += f" src={extra}"
    return text + over


def _row(sig):
    """The handshake row of a signature (kind, dtype code, op, extra, shape): those four,
    the number of dimensions, the first eight dimensions, a hash of any further ones."""
    kind, code, op, extra, shape = sig
    row = np.zeros(_ROW, dtype=np.int64)
    row[:5] = (kind, code, op, extra, len(shape))
    row[5:5 + min(len(shape), _MAX_DIMS)] = shape[:_MAX_DIMS]
    row[-1] = hash(shape[_MAX_DIMS:]) if len(shape) > _MAX_DIMS else 0
    return row


# signature -> (the int64 buffer (row, -row), its bytes). A handshake that agrees leaves
# the buffer as it was (each entry's max over the ranks is this rank's own value), so the
# same buffer is sent again next time: no NumPy work on the hot path, only the collective.
_SIGS: dict = {}
_SIGS_MAX = 1024


def _agree(w, sig) -> bool:
    """One ``Allreduce(MAX)`` of this rank's (row, -row): each entry's max and -min over the
    ranks, so every rank learns the same thing -- whether all of them passed ``sig``."""
    entry = _SIGS.get(sig)
    if entry is None:
        if len(_SIGS) >= _SIGS_MAX:
            _SIGS.clear()
        row = _row(sig)
        buf = np.concatenate([row, -row])
        entry = _SIGS[sig] = (buf, buf.tobytes())
    buf, want = entry
    try:
        w.comm.Allreduce(w.MPI.IN_PLACE, buf, op=w.MPI.MAX)
    except BaseException:
        _SIGS.pop(sig, None)  # the buffer may hold anything now
        raise
    if buf.tobytes() == want:
        return True
    _SIGS.pop(sig, None)  # it holds the max and -min now; made afresh next time
    return False


def _refuse(w, name, sig):
    """After a handshake that disagreed (on every rank alike): gather each rank's row and
    raise the same ShapeError on every rank, naming rank 0's call and the first other."""
    row = _row(sig)
    table = np.empty((w.size, row.size), dtype=np.int64)
    w.comm.Allgather(row, table)
    bad = np.nonzero((table != table[0]).any(axis=1))[0]
    q = int(bad[0]) if bad.size else 0
    raise ShapeError(f"{name}: the ranks disagree: rank 0 calls {_describe(table[0])} but "
                     f"rank {q} calls {_describe(table[q])}")


def handshake(w, name, kind, arr, op=0, extra=0):
    """Raise the same ShapeError on every rank when the ranks disagree about a collective.

    Each rank contributes (kind, dtype, op, extra, shape): one small all-reduce when they
    agree; one all-gather more, to name both sides, when they do not. Every rank makes the
    same calls in both cases, so a disagreement can never leave one rank waiting."""
    check(w, name, kind, arr.dtype, arr.shape, op, extra)


def check(w, name, kind, dtype, shape, op=0, extra=0, nccl=False):
    """:func:`handshake` on a dtype and a shape (a tuple of ints) instead of an array;
    ``nccl``: this rank's collective goes to NCCL (a rank on MPI must not meet it)."""
    if w.size == 1:
        return
    sig = (_KINDS[kind] | (_OVER_NCCL if nccl else 0), _DTYPE_CODE.get(np.dtype(dtype), -1),
           int(op), int(extra), tuple(shape))
    if not _agree(w, sig):
        _refuse(w, name, sig)


# ------------------------------------------------------------------ MPI on host buffers
_F16_OK = [None]  # whether this MPI reduces float16 itself (MPICH 4+); else staged via float32


_MPI_OPS = [None, ()]  # the MPI module these were made from, and its op per OPS entry


def _mpi_ops(w):
    MPI = w.MPI
    if _MPI_OPS[0] is not MPI:
        _MPI_OPS[1] = (MPI.SUM, MPI.SUM, MPI.MAX, MPI.MIN)
        _MPI_OPS[0] = MPI
    return _MPI_OPS[1]


def _mpi_op(w, op):
    return _mpi_ops(w)[_OP_INDEX[op]]


def mpi_allreduce(w, arr, op):
    """``arr`` (a NumPy array) reduced in place over MPI: no copy when it is contiguous."""
    if arr.size == 0:
        return
    if arr.dtype == np.float16 and _F16_OK[0] is not True:
        if _F16_OK[0] is None:
            try:
                probe = np.ones(1, np.float16)
                w.comm.Allreduce(w.MPI.IN_PLACE, probe, op=w.MPI.SUM)
                _F16_OK[0] = bool(probe[0] == w.size)
            except Exception:  # noqa: BLE001 - any MPI without float16 reductions
                _F16_OK[0] = False
        if not _F16_OK[0]:
            wide = arr.astype(np.float32)
            w.comm.Allreduce(w.MPI.IN_PLACE, wide, op=_mpi_op(w, op))
            np.copyto(arr, wide, casting="unsafe")
            return
    if arr.flags.c_contiguous and arr.flags.writeable:
        w.comm.Allreduce(w.MPI.IN_PLACE, arr, op=_mpi_op(w, op))
    else:  # a view with gaps: MPI needs one block of memory
        tmp = np.ascontiguousarray(arr)
        w.comm.Allreduce(w.MPI.IN_PLACE, tmp, op=_mpi_op(w, op))
        np.copyto(arr, tmp)


def mpi_iallreduce(w, arr):
    """Start a sum of the contiguous ``arr`` in place; returns the MPI request."""
    return w.comm.Iallreduce(w.MPI.IN_PLACE, arr, op=w.MPI.SUM)


def _mpi_bcast(w, arr, src):
    if arr.size == 0:
        return
    if arr.flags.c_contiguous and arr.flags.writeable:
        w.comm.Bcast(arr, root=src)
    else:
        tmp = np.ascontiguousarray(arr)
        w.comm.Bcast(tmp, root=src)
        np.copyto(arr, tmp)


def _mpi_allgather(w, arr):
    out = np.empty((w.size,) + arr.shape, dtype=arr.dtype)
    if arr.size:
        w.comm.Allgather(np.ascontiguousarray(arr), out)
    return out


# ------------------------------------------------------------------ routing
def _goes_to_nccl(w, t):
    """Whether ``t``'s collectives go to NCCL: what :func:`_use_nccl` decides, without
    making the communicator (that is itself collective: it comes after the handshake)."""
    if t.device == "cpu" or w.backend == "mpi":
        return False
    from .nccl import nccl_module
    return w.backend == "nccl" or nccl_module() is not None


def _use_nccl(w, t):
    """The NCCL communicator for a CUDA tensor, or None (MPI through host memory)."""
    if t.device == "cpu" or w.backend == "mpi":
        return None
    from .nccl import communicator, nccl_module
    if w.backend == "nccl" or nccl_module() is not None:
        return communicator(t.device)
    return None


def reduce_array(w, arr, device, op):
    """``arr`` all-reduced in place with ``op`` (the Tensor-free core of all_reduce)."""
    if device == "cpu":
        if w.size > 1:
            mpi_allreduce(w, arr, op)
    else:
        comm = _use_nccl(w, Tensor._make(arr, device))
        if comm is not None:
            comm.all_reduce(arr, op)
        elif w.size > 1:
            host = backend.cupy().asnumpy(arr)
            mpi_allreduce(w, host, op)
            arr[...] = host
    if op == "mean" and w.size > 1:
        _mean(arr, w.size)


def _mean(arr, n):
    if arr.dtype.kind == "f":
        arr /= n
    else:  # an integer mean floors, as NumPy's // does
        arr //= n


def all_reduce(t: Tensor, op: str = "sum") -> Tensor:
    """Reduce ``t`` over all ranks, in place: every rank ends with the same values.

    Args:
        t: a Tensor (float16/32/64 or integer, any shape, CPU or CUDA); written in place.
        op: ``"sum"``, ``"mean"`` (an integer mean floors), ``"max"`` or ``"min"``.
    Returns:
        ``t`` itself.
    Raises:
        RuntimeError: before ``init()``. ValueError: an unknown op. ShapeError: the ranks
            pass different shapes, dtypes or ops (the same error on every rank).
    Example:
        >>> loss_sum = ge.tensor(3.0); dist.all_reduce(loss_sum, op="mean")
    """
    w = WORLD
    if not w.initialized:
        require("all_reduce")
    if not isinstance(t, Tensor):
        _check_tensor("all_reduce", t, op)
    arr = t.data
    code = _DTYPE_CODE.get(arr.dtype)
    try:
        k = _OP_INDEX.get(op)
    except TypeError:  # an unhashable op
        k = None
    if code is None or k is None:
        _check_tensor("all_reduce", t, op)
    if w.size > 1:
        if CHECK and not _agree(w, sig := (1 if t.device == "cpu" or not _goes_to_nccl(w, t)
                                           else 1 | _OVER_NCCL, code, k, 0, arr.shape)):
            _refuse(w, "all_reduce", sig)
        if t.device == "cpu":
            if arr.flags.c_contiguous and arr.flags.writeable and code != _F16 and arr.size:
                # the hot path: the buffer itself to MPI, by address (no copy, no staging)
                w.comm.Allreduce(w.MPI.IN_PLACE, arr, op=_mpi_ops(w)[k])
            else:  # a view with gaps, a read-only or empty array, float16
                mpi_allreduce(w, arr, op)
            if k == 1:
                _mean(arr, w.size)
        else:
            reduce_array(w, arr, t.device, op)
    elif w.nccl is not None:
        reduce_array(w, arr, t.device, op)
    else:
        return t  # a world of one: nothing changes
    t._version += 1
    return t


def broadcast(t: Tensor, src: int = 0) -> Tensor:
    """Copy rank ``src``'s values of ``t`` into ``t`` on every rank, in place.

    Raises:
        RuntimeError: before ``init()``. ValueError: ``src`` outside the world.
        ShapeError: the ranks pass different shapes, dtypes or sources.
    """
    w = require("broadcast")
    _check_tensor("broadcast", t)
    if not isinstance(src, (int, np.integer)) or not 0 <= src < w.size:
        raise ValueError(f"broadcast: src must be a rank in 0..{w.size - 1}, got {src!r}")
    if CHECK:
        check(w, "broadcast", "broadcast", t.data.dtype, t.data.shape, 0, int(src),
              _goes_to_nccl(w, t))
    arr = t.data
    if t.device != "cpu" and (comm := _use_nccl(w, t)) is not None:
        comm.broadcast(arr, int(src))
    elif w.size > 1:
        if t.device == "cpu":
            _mpi_bcast(w, arr, int(src))
        else:
            host = backend.cupy().asnumpy(arr)
            _mpi_bcast(w, host, int(src))
            arr[...] = host
    else:
        return t
    t._version += 1
    return t


def all_gather(t: Tensor) -> list:
    """Every rank's ``t``, in rank order, as a list of new Tensors (on ``t``'s device).

    Raises:
        RuntimeError: before ``init()``. ShapeError: the ranks pass different shapes or
            dtypes.
    """
    w = require("all_gather")
    _check_tensor("all_gather", t)
    if CHECK:
        check(w, "all_gather", "all_gather", t.data.dtype, t.data.shape,
              nccl=_goes_to_nccl(w, t))
    arr = t.data
    if t.device == "cpu":
        out = _mpi_allgather(w, arr) if w.size > 1 else arr.copy()[None]
    elif (comm := _use_nccl(w, t)) is not None:
        out = comm.all_gather(arr)
    else:
        cp = backend.cupy()
        host = _mpi_allgather(w, cp.asnumpy(arr)) if w.size > 1 else cp.asnumpy(arr)[None]
        with backend.cuda_context(t.device):
            out = cp.asarray(host)
    return [Tensor._make(out[i], t.device) for i in range(w.size)]

