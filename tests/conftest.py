"""Shared fixtures: the `device` fixture runs one test body on the CPU and, when present, CUDA."""

import numpy as np
import pytest

from ge_testutil import DEVICES


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)
