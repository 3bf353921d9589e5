"""CUDA tensors over NCCL through CuPy (``cupy.cuda.nccl``), ChainerMN's and Horovod's way.

Rank 0 makes NCCL's unique id and hands it out over MPI; every rank then joins one
``NcclCommunicator`` bound to its GPU. Collectives run on the current CUDA stream, on the
array's memory by address (a contiguous array is not copied).
"""

from __future__ import annotations

import importlib

from .. import backend
from ..errors import DeviceError, DTypeError
from .world import WORLD

_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
          "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32",
          "uint32": "NCCL_UINT32", "int64": "NCCL_INT64", "uint64": "NCCL_UINT64"}
_WIDER = {"int16": "int32", "uint16": "uint32"}  # NCCL has no 16-bit integers
_OPS = {"sum": "NCCL_SUM", "mean": "NCCL_SUM", "max": "NCCL_MAX", "min": "NCCL_MIN"}


def nccl_module():
    """CuPy's NCCL binding, or None (no CuPy, or CuPy built without NCCL)."""
    cp = backend.cupy()
    if cp is None:
        return None
    mod = getattr(cp.cuda, "nccl", None)
    if mod is None:
        try:
            mod = importlib.import_module("cupy.cuda.nccl")
        except ImportError:
            return None
    return mod if getattr(mod, "available", True) else None


def communicator(device=None):
    """The world's NCCL communicator (made on first use, on ``device`` or the local rank's
    GPU), or a RuntimeError saying what to install."""
    w = WORLD
    if w.nccl is None:
        nccl = nccl_module()
        if nccl is None:
            raise RuntimeError("nccl: CuPy with NCCL is needed for backend='nccl'; pip install "
                               "'gradengine[cuda12]' (CuPy wheels bring NCCL), or use "
                               "init(backend='mpi')")
        cp = backend.cupy()
        dev = int(device[5:]) if device else w.local_rank % cp.cuda.runtime.getDeviceCount()
        w.nccl = NcclComm(w, nccl, dev)
    elif device is not None and int(device[5:]) != w.nccl.device_id:
        raise DeviceError(f"nccl: the communicator is bound to 'cuda:{w.nccl.device_id}', got "
                          f"a tensor on {device!r} (one GPU per rank)")
    return w.nccl


class NcclComm:
    """One NCCL communicator: all_reduce, broadcast and all_gather on device arrays."""

    def __init__(self, w, nccl, device_id):
        self.nccl, self.size, self.device_id = nccl, w.size, device_id
        uid = nccl.get_unique_id() if w.rank == 0 else None
        if w.comm is not None and w.size > 1:
            uid = w.comm.bcast(uid, root=0)
        cp = backend.cupy()
        with cp.cuda.Device(device_id):
            self.comm = nccl.NcclCommunicator(w.size, uid, w.rank)

    def _type(self, arr):
        name = arr.dtype.name
        attr = _TYPES.get(name)
        if attr is None:
            raise DTypeError(f"nccl: dtype {name} is not supported")
        return getattr(self.nccl, attr)

    def _stream(self):
        return backend.cupy().cuda.get_current_stream().ptr

    def _staged(self, arr, fn):
        """Run ``fn`` on a contiguous array of an NCCL type; copy back when it was staged."""
        cp = backend.cupy()
        wide = _WIDER.get(arr.dtype.name)
        if wide is None and arr.flags.c_contiguous:
            fn(arr)
            return
        tmp = cp.ascontiguousarray(arr if wide is None else arr.astype(wide))
        fn(tmp)
        arr[...] = tmp.astype(arr.dtype) if wide else tmp

    def all_reduce(self, arr, op):
        if arr.size == 0:
            return
        nccl = self.nccl

        def run(a):
            self.comm.allReduce(a.data.ptr, a.data.ptr, a.size, self._type(a),
                                getattr(nccl, _OPS[op]), self._stream())
        self._staged(arr, run)

    def broadcast(self, arr, src):
        if arr.size == 0:
            return

        def run(a):
            self.comm.bcast(a.data.ptr, a.size, self._type(a), src, self._stream())
        self._staged(arr, run)

    def all_gather(self, arr):
        cp = backend.cupy()
        wide = _WIDER.get(arr.dtype.name)
        src = cp.ascontiguousarray(arr if wide is None else arr.astype(wide))
        with cp.cuda.Device(self.device_id):
            out = cp.empty((self.size,) + arr.shape, dtype=src.dtype)
        if arr.size:
            self.comm.allGather(src.data.ptr, out.data.ptr, src.size, self._type(src),
                                self._stream())
        return out.astype(arr.dtype) if wide else out
