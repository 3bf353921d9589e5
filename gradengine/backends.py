"""``ge.backends``: PyTorch's backend switches, so scripts that set them run unchanged.

``ge.backends.cudnn.benchmark = True``, ``.deterministic``, ``.enabled``, ``.allow_tf32``
and ``ge.backends.cuda.matmul.allow_tf32`` are plain settable flags: gradengine does not
use cuDNN, and its results do not depend on them. ``ge.backends.mps.is_available()`` and
``is_built()`` are False (no Apple-GPU backend); ``ge.backends.cuda.is_built()`` says
whether CuPy is installed.
"""

from __future__ import annotations

import types

from . import backend

__all__ = ["cudnn", "cuda", "mps", "mkldnn", "openmp"]

cudnn = types.SimpleNamespace(
    enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
    is_available=lambda: False, version=lambda: None)

cuda = types.SimpleNamespace(
    matmul=types.SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                                 allow_bf16_reduced_precision_reduction=True),
    is_built=lambda: backend.cupy() is not None,
    enable_flash_sdp=lambda enabled: None, enable_mem_efficient_sdp=lambda enabled: None,
    enable_math_sdp=lambda enabled: None,
    flash_sdp_enabled=lambda: False, mem_efficient_sdp_enabled=lambda: False,
    math_sdp_enabled=lambda: True)

mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
mkldnn = types.SimpleNamespace(is_available=lambda: False, enabled=False)
openmp = types.SimpleNamespace(is_available=lambda: False)
