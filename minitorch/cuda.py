"""``minitorch.cuda``: whether a GPU can be used, as ``torch.cuda``."""
from __future__ import annotations

from minitorch.backend import cupy_available


def is_available() -> bool:
    """True when CuPy imports and sees a GPU (then ``device("cuda")`` works)."""
    return cupy_available()


def device_count() -> int:
    """GPUs visible to CuPy (0 without one); minitorch computes on the current one."""
    if not cupy_available():
        return 0
    import cupy

    return int(cupy.cuda.runtime.getDeviceCount())


__all__ = ["device_count", "is_available"]
