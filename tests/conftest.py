"""Shared fixtures. ``device`` runs one test body on the CPU, on the NumPy stand-in for
CuPy (``tests/fake_cupy.py``: every CUDA code path without a GPU) and, when present, on a
real CUDA device (marked ``gpu``). ``cuda_device`` runs a CUDA-only body on the stand-in
and on a real GPU. ``fake_gpu`` installs the stand-in and yields the fake CuPy module."""

import sys

import numpy as np
import pytest

import fake_cupy
from ge_testutil import CUDA
from gradengine import backend

_REAL = pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason="needs CuPy and a CUDA device")])


def _install_stand_in(monkeypatch):
    fake = fake_cupy.make_module()
    monkeypatch.setattr(backend, "_cupy", fake)
    monkeypatch.setitem(sys.modules, "cupyx", fake_cupy.make_cupyx())
    monkeypatch.setenv("GRADENGINE_KERNELS", "0")
    monkeypatch.setattr(backend._RNG, "cupy", {})
    monkeypatch.setattr(backend._RNG, "numpy", backend._RNG.numpy)
    monkeypatch.setattr(backend, "_process_default", backend._process_default)
    return fake


@pytest.fixture
def fake_gpu(monkeypatch):
    yield _install_stand_in(monkeypatch)


@pytest.fixture(params=["cpu", "cuda-stand-in", _REAL])
def device(request, monkeypatch):
    if request.param == "cuda-stand-in":
        _install_stand_in(monkeypatch)
        return "cuda"
    return request.param


@pytest.fixture(params=["cuda-stand-in", _REAL])
def cuda_device(request, monkeypatch):
    if request.param == "cuda-stand-in":
        _install_stand_in(monkeypatch)
    return "cuda"


@pytest.fixture
def rng():
    return np.random.default_rng(0)
