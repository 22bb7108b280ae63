"""Fixtures for the hw5 tests: no real CIFAR-10, no network, one BLAS thread.

Every test sees an empty ``$MINITORCH_DATA`` and a download URL that fails at
once, so nothing depends on what this machine happens to have cached.
"""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread(single_thread_blas):
    """As ``python -m hw5`` does (see hw5/__main__.py): small GEMMs run far faster on one BLAS thread.

    Every hw5 test gets the core suite's ``single_thread_blas`` (tests/conftest.py)."""
    yield


@pytest.fixture(autouse=True)
def no_cifar10(tmp_path, monkeypatch):
    monkeypatch.setenv("MINITORCH_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("MINITORCH_CIFAR10_URL", (tmp_path / "absent" / "cifar-10-python.tar.gz").as_uri())


@pytest.fixture
def runs_dir(tmp_path):
    return str(tmp_path / "runs")
