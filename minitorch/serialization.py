"""save/load: nested state (dicts, lists, arrays, tensors, numbers, strings) in a NumPy .npz file.

No pickle anywhere: arrays are stored as .npz members and the structure
around them as JSON, so loading a file can never run code.  Writes go to a
temporary file that is renamed into place, so an interrupted save leaves the
previous file intact.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from minitorch.backend import to_numpy
from minitorch.tensor import Tensor

_STRUCTURE = "__structure__"


class SerializationError(ValueError):
    """A file that is not a minitorch checkpoint, or is damaged."""


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = to_numpy(obj._data)
        return {"tensor": key}
    if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
        key = f"a{len(arrays)}"
        arrays[key] = to_numpy(obj)
        return {"array": key}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), arrays)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__}")
            items.append([k, _encode(v, arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        return {"list" if isinstance(obj, list) else "tuple": [_encode(v, arrays) for v in obj]}
    raise TypeError(f"save: cannot store an object of type {type(obj).__name__}")


def _decode(node: Any, arrays: Any, path: str) -> Any:
    kind, value = next(iter(node.items()))
    if kind == "tensor":
        return Tensor(arrays[value])
    if kind == "array":
        return arrays[value]
    if kind == "value":
        return value
    if kind == "dict":
        return {k: _decode(v, arrays, path) for k, v in value}
    if kind == "list":
        return [_decode(v, arrays, path) for v in value]
    if kind == "tuple":
        return tuple(_decode(v, arrays, path) for v in value)
    raise SerializationError(f"load: {path} has an unknown entry kind {kind!r}")


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` to ``path`` atomically (the name is used as given, no suffix added)."""
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    structure = _encode(obj, arrays)
    arrays[_STRUCTURE] = np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike) -> Any:
    """Read what :func:`save` wrote; tensors come back on the CPU."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file {path}")
    try:
        with open(path, "rb") as f:
            data = f.read()
        npz = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise SerializationError(f"load: {path} is a single NumPy array, not a minitorch checkpoint")
        with npz:
            if _STRUCTURE not in npz.files:
                raise SerializationError(f"load: {path} is an .npz file but not a minitorch checkpoint")
            arrays = {name: npz[name] for name in npz.files}
        structure = json.loads(arrays.pop(_STRUCTURE).tobytes().decode())
        return _decode(structure, arrays, path)
    except SerializationError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, EOFError, json.JSONDecodeError) as exc:
        raise SerializationError(f"load: {path} is damaged or not a minitorch checkpoint ({exc})") from exc
