"""GPU tests: everything marked ``gpu`` is skipped, with the reason, where CuPy or a GPU is missing.

The check runs once per session (``minitorch.backend.cupy_available``), so a CPU-only machine and CI
collect these tests, skip them and stay green.  The fixtures here hand the tests the ``cupy`` module.
"""
from __future__ import annotations

import functools

import pytest

from minitorch import backend


@functools.cache
def gpu_skip_reason() -> str | None:
    """None when CuPy imports and sees a GPU; otherwise why the GPU tests cannot run."""
    if backend.cupy_available():
        return None
    try:
        backend._load_cupy()
    except backend.DeviceError as exc:
        detail = str(exc)
    else:  # pragma: no cover - raced with another import
        return None
    return f"CuPy with a CUDA GPU is needed: {detail}"


@pytest.fixture(autouse=True)
def _skip_without_gpu(request):
    """Skip a test marked ``gpu`` when there is no usable GPU, saying why."""
    if request.node.get_closest_marker("gpu") is not None:
        reason = gpu_skip_reason()
        if reason is not None:
            pytest.skip(reason)


@pytest.fixture
def cp():
    """The cupy module (only requested by tests marked ``gpu``)."""
    return backend._load_cupy()
