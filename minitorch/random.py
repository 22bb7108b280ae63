"""The global random generator behind ``randn`` and parameter initialisation.

Random numbers are drawn on the host with NumPy, even for CUDA tensors, so a
seed gives the same initial weights on every device.
"""
from __future__ import annotations

from typing import Any, cast

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator; returns it, as ``torch.manual_seed`` does."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict[str, Any]:
    """The generator's state as plain data (for checkpoints)."""
    return cast(dict[str, Any], _generator.bit_generator.state)  # numpy's stubs say Mapping; it is a new dict


def set_rng_state(state: dict[str, Any]) -> None:
    _generator.bit_generator.state = state


def make_generator(seed: int | None) -> np.random.Generator:
    """A private generator: from ``seed``, or, when it is None, from the global generator,
    so that ``minitorch.manual_seed`` makes a run reproducible."""
    if seed is None:
        seed = int(_generator.integers(2**63))
    return np.random.default_rng(seed)
