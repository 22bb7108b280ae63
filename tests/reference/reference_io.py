"""What every reference script here shares for writing its .npz file, and the tests for reading it back.

The stored files hold only arrays (they are loaded without pickle), so structured data (case specs, names,
versions) is stored as the UTF-8 bytes of its JSON text.  Only NumPy is needed to import this module.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np


def json_array(obj: Any) -> np.ndarray:
    """``obj`` as the uint8 array of its JSON text (``from_json_array`` reads it back)."""
    return np.frombuffer(json.dumps(obj).encode(), dtype=np.uint8)


def from_json_array(arr: np.ndarray) -> Any:
    return json.loads(arr.tobytes().decode())


def meta_array(torch_version: str) -> np.ndarray:
    """The versions that wrote a reference file, stored under its ``meta`` key."""
    return json_array({"torch": torch_version, "numpy": np.__version__})


def warn_if_other_torch(running: str, specified: str) -> None:
    """Warn (on stderr) when the running torch is not the version the references were specified for."""
    if not running.startswith(specified):
        print(f"warning: references were specified for torch {specified}, running {running}", file=sys.stderr)


def write_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` compressed to ``path`` and say so, with the file's size."""
    np.savez_compressed(path, **arrays)
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1024:.1f} KiB, {len(arrays)} arrays)")
