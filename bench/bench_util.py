"""Shared by the benchmark suites (a module of its own: two conftest.py would clash)."""

import pytest


def cases(*keys):
    """Parametrize over case keys, each in its own pytest-benchmark group."""
    return pytest.mark.parametrize(
        "key", [pytest.param(k, id=k, marks=pytest.mark.benchmark(group=k)) for k in keys])
