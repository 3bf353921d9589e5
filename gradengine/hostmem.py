"""The host allocator's setting for NumPy's arrays: freed memory kept for reuse.

On Linux with glibc, a NumPy array of more than 128 KiB is by default its own ``mmap``, and
the heap's free top is given back to the system: every fresh activation or gradient of a
step then starts as untouched pages, and on virtual machines each first touch of a 4 KiB
page is a fault that costs microseconds -- more than the arithmetic (a (128, 1024) float32
array: 128 faults, ~0.3 ms on the 2-core CI machine, where ``x * w`` itself takes ~0.02 ms).
PyTorch's CPU guide recommends swapping in jemalloc or tcmalloc for the same reason.

gradengine instead asks glibc (``mallopt``), once at import, to serve blocks of up to
32 MiB from its heap and to keep what is freed there: the next step's arrays reuse the
same, already touched pages. The cost is that the process's resident memory stays at its
peak rather than shrinking after it. Set ``GRADENGINE_HOST_ALLOCATOR=system`` before the
import to leave the allocator as it was (on other platforms nothing is changed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 << 20   # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 1 << 30    # free heap top kept up to 1 GiB
TOP_PAD = 64 << 20          # the heap grows in 64 MiB steps

state = "system"
"""``"reuse"`` once the setting is applied, else ``"system"`` (kept as it was)."""


def configure(choice: str | None = None) -> str:
    """Apply the setting (``choice``: ``"reuse"`` or ``"system"``; default from
    ``$GRADENGINE_HOST_ALLOCATOR``, else ``"reuse"``). Returns the state now."""
    global state
    choice = (choice or os.environ.get("GRADENGINE_HOST_ALLOCATOR", "") or "reuse").lower()
    if choice not in ("reuse", "system"):
        raise ValueError(f"GRADENGINE_HOST_ALLOCATOR: expected 'reuse' or 'system', got "
                         f"{choice!r}")
    if choice == "system" or state == "reuse":
        return state
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return state
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = all(libc.mallopt(opt, val) == 1 for opt, val in (
            (_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (_M_TOP_PAD, TOP_PAD)))
    except (OSError, AttributeError):
        return state
    if ok:
        state = "reuse"
    return state


configure()  # at import, before NumPy's first large arrays
