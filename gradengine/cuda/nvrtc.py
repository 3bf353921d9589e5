"""Compile every ``kernels/*.cu`` with NVRTC as CuPy 14 would, without CuPy or a GPU.

CI runs ``python -m gradengine.cuda.nvrtc`` (``.ci/run``) with NVRTC from PyPI (the
``nvidia-cuda-nvrtc`` wheel of the dev extra): the pasted source of each file, all of its
name expressions (:data:`kernels.NAME_EXPRESSIONS`), and :func:`kernels.nvrtc_options` -- our
options, CuPy's ``-ftz=true`` and ``--device-as-default-execution-space``, ``-arch=sm_XX``
(CuPy compiles straight to a cubin) and the CUDA include folder when one is found, as CuPy's
``assemble_cupy_compiler_options`` adds it. Plain nvcc (also in ``.ci/run``) checks the
sources with explicit instantiations instead; only this path checks what NVRTC is handed.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import glob
import os
import sys

from . import kernels

__all__ = ["NVRTCError", "compile_all", "compile_file", "find_library", "include_dirs"]

ARCHS = ("sm_80", "sm_90")


class NVRTCError(RuntimeError):
    """NVRTC is missing, or rejected a kernel (the message carries its log)."""


def find_library() -> str | None:
    """libnvrtc from $GRADENGINE_NVRTC, an ``nvidia-cuda-nvrtc`` wheel, or the system."""
    env = os.environ.get("GRADENGINE_NVRTC")
    if env:
        return env
    for site in sys.path:
        hits = sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib", "libnvrtc.so*")))
        hits = [h for h in hits if "builtins" not in h and ".alt." not in h]
        if hits:
            return hits[-1]
    return ctypes.util.find_library("nvrtc")


def include_dirs() -> tuple:
    """The CUDA header folder CuPy would pass with ``-I`` (cuda.pathfinder, CUDA_PATH, or the
    nvidia wheels), or none: the kernels include no CUDA header, so NVRTC needs none."""
    try:
        from cuda.pathfinder import find_nvidia_header_directory
        found = find_nvidia_header_directory("cudart")
        if found:
            return (found,)
    except Exception:  # noqa: BLE001 - not installed, or an older pathfinder
        pass
    for root in (os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root and os.path.isfile(os.path.join(root, "include", "cuda_runtime.h")):
            return (os.path.join(root, "include"),)
    return ()


_lib = None


def _load(path: str | None = None):
    global _lib
    if _lib is not None and path is None:
        return _lib
    path = path or find_library()
    if not path:
        raise NVRTCError("libnvrtc not found: pip install 'nvidia-cuda-nvrtc>=13' (the dev "
                         "extra brings it), or set GRADENGINE_NVRTC to libnvrtc.so")
    # NVRTC dlopens its builtins library by name; load it from the same folder first.
    for builtins in glob.glob(os.path.join(os.path.dirname(path), "libnvrtc-builtins.so*")):
        if ".alt." not in builtins:
            ctypes.CDLL(builtins, mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(path)
    lib.nvrtcGetLoweredName.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                        ctypes.POINTER(ctypes.c_char_p)]
    _lib = lib
    return lib


def version() -> tuple:
    """(major, minor) of the NVRTC found."""
    lib = _load()
    major, minor = ctypes.c_int(), ctypes.c_int()
    lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
    return major.value, minor.value


def compile_file(file: str, arch: str = "sm_90", options: tuple | None = None) -> dict:
    """Compile ``file`` with all its name expressions; returns {expression: lowered name}.

    Raises:
        NVRTCError: NVRTC is missing or the compile failed (with the log).
    """
    lib = _load()
    exprs = kernels.NAME_EXPRESSIONS[file]
    if options is None:
        options = kernels.nvrtc_options(arch, include_dirs())
    source = kernels.kernel_source(file).encode()
    prog = ctypes.c_void_p()
    _check(lib.nvrtcCreateProgram(ctypes.byref(prog), source, file.encode(), 0, None, None),
           "nvrtcCreateProgram")
    try:
        for e in exprs:
            _check(lib.nvrtcAddNameExpression(prog, e.encode()), "nvrtcAddNameExpression")
        opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
        rc = lib.nvrtcCompileProgram(prog, len(options), opts)
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(max(size.value, 1))
        lib.nvrtcGetProgramLog(prog, log)
        if rc != 0:
            raise NVRTCError(f"NVRTC could not compile {file} for {arch} (options "
                             f"{' '.join(options)}):\n{log.value.decode(errors='replace')}")
        lowered = {}
        for e in exprs:
            name = ctypes.c_char_p()
            _check(lib.nvrtcGetLoweredName(prog, e.encode(), ctypes.byref(name)),
                   "nvrtcGetLoweredName")
            lowered[e] = name.value.decode()
        return lowered
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


def _check(rc: int, what: str) -> None:
    if rc != 0:
        raise NVRTCError(f"{what} failed with NVRTC status {rc}")


def compile_all(archs=ARCHS) -> dict:
    """{(file, arch): number of kernels} for every .cu file and arch; raises on the first
    failure."""
    return {(file, arch): len(compile_file(file, arch))
            for file in sorted(kernels.NAME_EXPRESSIONS) for arch in archs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradengine.cuda.nvrtc",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=list(ARCHS))
    args = parser.parse_args(argv)
    try:
        print(f"NVRTC {'.'.join(map(str, version()))} from {find_library()}")
        for (file, arch), n in compile_all(args.arch).items():
            print(f"nvrtc {' '.join(kernels.nvrtc_options(arch, include_dirs()))} {file}: "
                  f"{n} kernels")
    except NVRTCError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
