"""Shared fixtures for the minitorch test suite.

* every test starts and ends with minitorch's global state as it found it (default dtype, grad mode);
* ``float64``: the default float dtype is float64 for the test (restored afterwards);
* ``rng``: a seeded NumPy generator; ``seeded``: minitorch's global generator reseeded;
* ``single_thread_blas``: BLAS limited to one thread.  The gradient checks run thousands of tiny GEMMs, for
  which OpenBLAS' threads cost far more than they save (5-15x slower on a busy 2-core machine).

Ctrl-C is Python's KeyboardInterrupt for the whole session, and its processes' default: a suite started as a
shell's background job (``make test &``) inherits SIGINT *ignored*, and the tests of what a run does on Ctrl-C
would then see runs that never hear it.
"""
from __future__ import annotations

import signal

import numpy as np
import pytest

import minitorch
from minitorch import autograd

signal.signal(signal.SIGINT, signal.default_int_handler)  # see the module docstring; children then get SIG_DFL


@pytest.fixture(autouse=True)
def _restore_minitorch_globals():
    dtype = minitorch.get_default_dtype()
    grad_mode = autograd.is_grad_enabled()
    yield
    minitorch.set_default_dtype(dtype)
    minitorch.set_grad_enabled(grad_mode)


@pytest.fixture
def float64():
    """Make float64 the default dtype for the test; the previous default comes back afterwards."""
    previous = minitorch.get_default_dtype()
    minitorch.set_default_dtype(np.float64)
    yield np.float64
    minitorch.set_default_dtype(previous)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def seeded():
    """minitorch's global generator (randn, parameter initialisation) reseeded for the test."""
    return minitorch.manual_seed(0)


@pytest.fixture
def small_batch_loops(monkeypatch):
    """The CPU's small-batch Linear loops taken at every size up to 8 rows (by default only for large weights)."""
    from minitorch.kernels import cpu

    monkeypatch.setattr(cpu, "SMALL_BATCH_MIN_WEIGHT", 0)
    monkeypatch.setattr(cpu, "SMALL_BATCH_FORWARD_ROWS", range(1, 9))
    monkeypatch.setattr(cpu, "SMALL_BATCH_WEIGHT_GRAD_ROWS", 8)
    return cpu


@pytest.fixture(scope="module")
def single_thread_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only speed depends on it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
