"""Checkpoints: ``ge.save(state_dict, path)`` and ``ge.load(path)``, without pickle.

The file is a zip archive (stored, not compressed) that ``np.load(path,
allow_pickle=False)`` can also open: one ``.npy`` member per array, written by NumPy, and
a ``manifest.json`` member::

    {"magic": "gradengine-checkpoint", "version": 1,
     "arrays": {"arr_0": {"dtype": "float32", "shape": [2, 3], "crc32": 123456789}, ...},
     "tree": <the saved structure, arrays replaced by {"__array__": "arr_0"}>}

Nested dicts (an optimizer's state dict), lists, tuples, strings, numbers, booleans and
None are kept in ``tree``; Tensors and CUDA arrays are saved as host arrays. Saving is
atomic: the data goes to a temporary file in the same directory, is flushed and fsync'ed,
then renamed over the target, so a crash leaves the old checkpoint intact (at worst a
stray ``*.tmp`` file).

Loading verifies everything before returning: the zip structure (its CRC32 per member),
the magic, the format version, every manifest entry (present, dtype, shape) and each
array's own CRC32. Any damage raises :class:`gradengine.CheckpointError` naming the path
and the reason (``truncated``, ``bad magic``, ``checksum mismatch``, ``unsupported
version``, ``not a gradengine checkpoint``, ``missing entry``, ``shape mismatch``).
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import tempfile
import zipfile
import zlib

import numpy as np

from . import backend
from .core.tensor import Tensor
from .errors import CheckpointError

MAGIC = "gradengine-checkpoint"
VERSION = 1
MANIFEST = "manifest.json"
_ZIP_SIGNATURE = b"PK\x03\x04"
_NPY_SIGNATURE = b"\x93NUMPY"

__all__ = ["MAGIC", "VERSION", "load", "load_arrays", "save"]


# ---------------------------------------------------------------- save

def _to_host(value):
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        return value
    cp = backend.cupy()
    if cp is not None and isinstance(value, cp.ndarray):
        return cp.asnumpy(value)
    if isinstance(value, np.generic):
        return np.asarray(value)
    return None


def _encode(value, arrays, where):
    """The JSON form of ``value``; arrays are appended to ``arrays`` and referenced."""
    arr = _to_host(value)
    if arr is not None:
        if arr.dtype.hasobject:
            raise TypeError(f"save: {where} has dtype object, which cannot be saved without "
                            "pickle")
        name = f"arr_{len(arrays)}"
        arrays.append((name, _c_order(arr)))
        return {"__array__": name}
    if isinstance(value, dict):
        return {"__dict__": [[_key(k, where), _encode(v, arrays, f"{where}/{k}")]
                             for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save: cannot save {where} of type {type(value).__name__}; use arrays, "
                    "Tensors, numbers, strings, lists, tuples and dicts")


def _key(k, where):
    if isinstance(k, (str, int)) and not isinstance(k, bool):
        return k
    raise TypeError(f"save: dict key {k!r} in {where or 'the state dict'} must be a str or "
                    "an int")


def save(state_dict, path, pickle_protocol=None, _use_new_zipfile_serialization=True) -> None:
    """Save a state dict (``{name: array or Tensor}``, a nested dict) -- or, as
    ``torch.save``, a Tensor, a list or a tuple of them -- to ``path``.

    The write is atomic (temp file in the same directory, flush + fsync, rename) and no
    pickle is involved. Arrays keep their dtype, shape and bits; CUDA data is copied to
    the host, so the file loads anywhere.

    Args:
        state_dict: e.g. ``model.state_dict()`` or ``optimizer.state_dict()``.
        path: the file to write (no suffix is added), or a binary file object opened for
            writing (``io.BytesIO``, ``open(p, "wb")``), as ``torch.save`` takes; written
            at its position and left open (atomicity is then the caller's).
        pickle_protocol, _use_new_zipfile_serialization: torch's keywords, accepted and
            ignored (nothing is pickled).
    Raises:
        TypeError: a value that cannot be saved without pickle.
    Example:
        >>> ge.save(model.state_dict(), "model.ge")
    """
    if not isinstance(state_dict, (dict, list, tuple, Tensor, np.ndarray)):
        if callable(getattr(state_dict, "state_dict", None)):
            from .nn.module import Module
            kind = type(state_dict).__name__
            var = "model" if isinstance(state_dict, Module) else "obj"
            hint = f" or {var}.save(path)" if callable(getattr(state_dict, "save", None)) \
                else ""
            raise TypeError(f"save: expected a state dict, got a {kind} object; save its "
                            f"state with ge.save({var}.state_dict(), path){hint}, and load "
                            f"it back with {var}.load_state_dict(ge.load(path))")
        raise TypeError(f"save: expected a state dict, a Tensor, or a list or tuple of them, "
                        f"got {type(state_dict).__name__}")
    fileobj = None if isinstance(path, (str, bytes, os.PathLike)) else path
    if fileobj is not None and not callable(getattr(fileobj, "write", None)):
        raise TypeError(f"save: expected a path or a binary file object, got "
                        f"{type(path).__name__}")
    if fileobj is None:
        path = os.fspath(path)
    arrays = []
    tree = _encode(state_dict, arrays, "")
    manifest = {
        "magic": MAGIC,
        "version": VERSION,
        "arrays": {name: {"dtype": arr.dtype.str, "shape": list(arr.shape),
                          "crc32": _crc(arr)} for name, arr in arrays},
        "tree": tree,
    }
    if fileobj is not None:
        _write_zip(fileobj, manifest, arrays)
        if callable(getattr(fileobj, "flush", None)):
            fileobj.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        # mkstemp makes the file 0600: give it the mode of the file it replaces, or the
        # umask's default for a new file, as open() would
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as f:
            _write_zip(f, manifest, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _write_zip(f, manifest, arrays):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, sort_keys=True))
        for name, arr in arrays:
            with zf.open(f"{name}.npy", "w", force_zip64=arr.nbytes > 2 ** 30) as m:
                np.lib.format.write_array(m, arr, allow_pickle=False)


def _mode_for(path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask is process-wide, racy in threads)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _c_order(arr):
    # Not np.ascontiguousarray: it turns a 0-d array into shape (1,).
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _crc(arr) -> int:
    arr = _c_order(arr)
    return zlib.crc32(arr.reshape(-1).view(np.uint8)) if arr.size else 0


# ---------------------------------------------------------------- load

def load(path, map_location=None, *, weights_only=None, mmap=None):
    """Load a checkpoint written by :func:`save`, verifying it completely first.

    ``path`` is a path or a binary file object opened for reading (read from its position).
    As ``torch.load``: the arrays come back as Tensors, on the CPU, or on the device
    ``map_location`` names (``"cpu"``, ``"cuda"``, ``"cuda:1"``; a dict or a function is
    accepted and leaves them on the CPU); nothing is ever unpickled, so ``weights_only``
    and ``mmap`` make no difference.

    Returns:
        The saved structure: for a model, ``{name: Tensor}`` (ready for
        ``model.load_state_dict``); nested dicts come back nested.
    Raises:
        FileNotFoundError: there is no file at ``path``.
        CheckpointError: the file is not a readable gradengine checkpoint; the message
            names the path and the reason.
    Example:
        >>> model.load_state_dict(ge.load("model.ge"))
    """
    device = map_location if isinstance(map_location, str) else \
        getattr(map_location, "type", None) and str(map_location)
    return _as_tensors(load_arrays(path), backend.normalize_device(device, "load")
                       if device else backend.CPU)


def _as_tensors(node, device):
    if isinstance(node, np.ndarray):
        t = Tensor._make(node, backend.CPU)
        return t if device == backend.CPU else t.to(device)
    if isinstance(node, dict):
        return {k: _as_tensors(v, device) for k, v in node.items()}
    if isinstance(node, list):
        return [_as_tensors(v, device) for v in node]
    if isinstance(node, tuple):
        return tuple(_as_tensors(v, device) for v in node)
    return node


def load_arrays(path):
    """:func:`load` with the arrays left as NumPy arrays on the host (what the Keras
    loaders read)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        read = getattr(path, "read", None)
        if not callable(read):
            raise TypeError(f"load: expected a path or a binary file object, got "
                            f"{type(path).__name__}")
        try:
            data = read()
        except UnicodeDecodeError:
            data = ""  # a file opened in text mode: refused below
        name = getattr(path, "name", None)
        return _parse(name if isinstance(name, str) else f"<{type(path).__name__}>", data)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, f"load: no checkpoint file at {path!r}", path)
    _require_regular(path, os.stat(path).st_mode)
    try:
        # O_NONBLOCK: a FIFO swapped in after the check must not block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise CheckpointError(f"load: cannot read {path!r}: {e}") from None
    try:
        st = os.fstat(fd)
        _require_regular(path, st.st_mode)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as f:
            fd = None
            data = f.read(st.st_size)
    except OSError as e:
        raise CheckpointError(f"load: cannot read {path!r}: {e}") from None
    finally:
        if fd is not None:
            os.close(fd)
    return _parse(path, data)


def _parse(path, data):
    if not isinstance(data, bytes):
        raise TypeError(f"load: {path!r} gave {type(data).__name__}, not bytes (open the file "
                        "in binary mode)")
    if len(data) < len(_ZIP_SIGNATURE):
        raise CheckpointError(f"load: {path!r} is truncated ({len(data)} bytes; "
                              "a checkpoint starts with a zip header)")
    if data.startswith(_NPY_SIGNATURE):
        raise CheckpointError(f"load: {path!r} is not a gradengine checkpoint: it is a plain "
                              ".npy file (np.save); save state dicts with ge.save")
    if not data.startswith(_ZIP_SIGNATURE):
        raise CheckpointError(f"load: {path!r} has a bad magic number {data[:4]!r} (expected "
                              "a zip archive written by ge.save)")
    try:
        return _read(path, data)
    except CheckpointError:
        raise
    except zipfile.BadZipFile as e:
        msg = str(e)
        if "CRC" in msg:
            raise CheckpointError(f"load: {path!r}: checksum mismatch ({msg}); the file is "
                                  "corrupted") from None
        raise CheckpointError(f"load: {path!r} is truncated or corrupted ({msg})") from None
    except Exception as e:  # noqa: BLE001 - any parse failure of a damaged file
        raise CheckpointError(f"load: {path!r} is truncated or corrupted "
                              f"({type(e).__name__}: {e})") from None


def _require_regular(path, mode):
    if stat.S_ISREG(mode):
        return
    kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if
            stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode) else
            "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    raise CheckpointError(f"load: {path!r} is {kind}, not a gradengine checkpoint file "
                          "(only regular files are read)")


def _check_members(path, zf, size):
    """Refuse compressed members (gradengine writes stored ones only, and a compressed
    member can expand a small file into gigabytes) and sizes beyond the file's own."""
    for info in zf.infolist():
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(f"load: {path!r}: member {info.filename!r} is compressed "
                                  f"(method {info.compress_type}); gradengine writes stored "
                                  "members only, so this is not its checkpoint (a compressed "
                                  "member may be a decompression bomb)")
        if info.file_size > size or info.compress_size > size:
            raise CheckpointError(f"load: {path!r}: member {info.filename!r} declares "
                                  f"{info.file_size} bytes, more than the file's {size}; "
                                  "the file is corrupted")


def _read_npy(path, name, raw, meta):
    """An array from a member's bytes, its header checked against the manifest and the
    member's size before anything is allocated."""
    bio = io.BytesIO(raw)
    version = np.lib.format.read_magic(bio)
    if version == (1, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_1_0(bio)
    elif version == (2, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_2_0(bio)
    else:
        raise CheckpointError(f"load: {path!r}: {name!r} has .npy format version {version}, "
                              "which gradengine does not write")
    if dtype.hasobject:
        raise CheckpointError(f"load: {path!r}: {name!r} has dtype object (pickle); refused")
    if tuple(shape) != tuple(meta["shape"]) or dtype.str != meta["dtype"]:
        raise CheckpointError(f"load: {path!r}: shape mismatch for {name!r}: the manifest "
                              f"says {tuple(meta['shape'])} {meta['dtype']}, the data has "
                              f"{tuple(shape)} {dtype.str}")
    need = math.prod(shape) * dtype.itemsize
    if need != len(raw) - bio.tell():
        raise CheckpointError(f"load: {path!r}: {name!r} is truncated or corrupted: its "
                              f"header declares {need} bytes of data, the member holds "
                              f"{len(raw) - bio.tell()}")
    bio.seek(0)
    return np.lib.format.read_array(bio, allow_pickle=False)


def _read(path, data):
    zf = zipfile.ZipFile(io.BytesIO(data))
    _check_members(path, zf, len(data))
    names = set(zf.namelist())
    if MANIFEST not in names:
        raise CheckpointError(f"load: {path!r} is not a gradengine checkpoint: a zip without "
                              f"{MANIFEST} (a plain np.savez archive?)")
    try:
        manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"load: {path!r}: the manifest is corrupted ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("magic") != MAGIC:
        got = manifest.get("magic") if isinstance(manifest, dict) else None
        raise CheckpointError(f"load: {path!r} has a bad magic {got!r} in its manifest "
                              f"(expected {MAGIC!r}); not a gradengine checkpoint")
    version = manifest.get("version")
    if version != VERSION:
        raise CheckpointError(f"load: {path!r} has unsupported version {version!r}; this "
                              f"gradengine reads version {VERSION}")
    entries = manifest.get("arrays")
    if not isinstance(entries, dict) or "tree" not in manifest:
        raise CheckpointError(f"load: {path!r}: the manifest lacks its 'arrays' or 'tree'")
    arrays = {}
    for name, meta in entries.items():
        member = f"{name}.npy"
        if member not in names:
            raise CheckpointError(f"load: {path!r}: missing entry {member!r} listed in the "
                                  "manifest")
        arr = _read_npy(path, name, zf.read(member), meta)
        shape = tuple(meta["shape"])
        if arr.shape != shape:
            raise CheckpointError(f"load: {path!r}: shape mismatch for {name!r}: the manifest "
                                  f"says {shape}, the data has {arr.shape}")
        if arr.dtype.str != meta["dtype"]:
            raise CheckpointError(f"load: {path!r}: dtype mismatch for {name!r}: the manifest "
                                  f"says {meta['dtype']}, the data has {arr.dtype.str}")
        if _crc(arr) != meta["crc32"]:
            raise CheckpointError(f"load: {path!r}: checksum mismatch for {name!r} (CRC32 "
                                  f"{_crc(arr)} != {meta['crc32']}); the file is corrupted")
        arrays[name] = arr
    return _decode(manifest["tree"], arrays, path)


def _decode(node, arrays, path):
    if isinstance(node, dict):
        if "__array__" in node:
            name = node["__array__"]
            if name not in arrays:
                raise CheckpointError(f"load: {path!r}: missing entry {name!r} referenced by "
                                      "the manifest")
            return arrays[name]
        if "__dict__" in node:
            return {(k if isinstance(k, int) else str(k)): _decode(v, arrays, path)
                    for k, v in node["__dict__"]}
        if "__tuple__" in node:
            return tuple(_decode(v, arrays, path) for v in node["__tuple__"])
        raise CheckpointError(f"load: {path!r}: unknown manifest node {sorted(node)}")
    if isinstance(node, list):
        return [_decode(v, arrays, path) for v in node]
    return node
