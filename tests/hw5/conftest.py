"""Fixtures for the hw5 tests: no real CIFAR-10, no network, one BLAS thread.

Every test sees an empty ``$MINITORCH_DATA`` and a download URL that fails at
once, so nothing depends on what this machine happens to have cached.
"""
from __future__ import annotations

import shutil

import pytest
from hw5_helpers import TINY_ARGS

from hw5.cli import main


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


@pytest.fixture(scope="module")
def finished_once(tmp_path_factory):
    """A 2-epoch fig1a run made by the command line, once per test module."""
    runs = str(tmp_path_factory.mktemp("finished") / "runs")
    assert main(["run", "fig1a", "--epochs", "2", "--runs-dir", runs, *TINY_ARGS]) == 0
    return runs


@pytest.fixture
def finished(finished_once, tmp_path):
    """A finished 2-epoch run made by the command line (once per module), and a runs folder of its own."""
    runs = str(tmp_path / "runs")
    shutil.copytree(finished_once, runs)
    return runs
