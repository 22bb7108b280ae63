"""save/load: nested state (dicts, lists, arrays, tensors, numbers, strings, whole models) in a NumPy .npz file.

No pickle anywhere: arrays are stored as .npz members and the structure
around them as JSON, so loading a file runs no code of the file's choosing.
The one exception must be asked for: a whole model (``save(model, f)``) is
stored as its class's import path and its attributes, and rebuilding it
imports that class, so :func:`load` does it only with ``weights_only=False``
(PyTorch's rule since 2.6).  Writes to a path go to a temporary file that is
renamed into place (:func:`minitorch.utils.atomic_write`), so an interrupted
save leaves the previous file intact.

The structure record is a tree of nodes, each a JSON object whose first key
names its kind::

    {"value": null | bool | number | string}
    {"list": [node, ...]}          {"tuple": [node, ...]}
    {"dict": [[key, node], ...]}   (keys are strings or integers)
    {"array": member}              a NumPy array, loaded as one
    {"tensor": member, "device": "cuda", "requires_grad": true, "parameter": true}   (the last three optional)
    {"module": "package.module:Class", "attributes": [[name, node], ...]}
    {"ref": n}                     the n-th tensor or module already read (shared objects stay shared)

:func:`load` checks every node against this grammar, and the arrays' dtypes,
before building anything: a malformed record is a :class:`SerializationError`.
"""
from __future__ import annotations

import importlib
import io
import json
import os
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from minitorch.backend import DeviceError, check_device, device, device_of, to_device, to_numpy
from minitorch.nn.modules.module import Module
from minitorch.nn.parameter import Parameter
from minitorch.tensor import Tensor
from minitorch.utils.atomic import atomic_write

_STRUCTURE = "__structure__"
MAX_DEPTH = 100  # nesting levels of the structure record, on save and on load
_ARRAY_KINDS = "biufc"  # bool, integers, floats, complex: what an array may hold (no strings or objects)
_TENSOR_KINDS = "biuf"


class SerializationError(ValueError):
    """A file that is not a minitorch checkpoint, or is damaged."""


# ---------------------------------------------------------------------------------------------------- save
class _Encoder:
    """Turns an object into structure nodes and .npz members; tensors and modules met twice become refs."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.memo: dict[int, int] = {}  # id(object) -> its index among the tensors and modules written
        self.keep: list[Any] = []  # the memoised objects, alive until the save ends (their ids stay unique)

    def add_array(self, array: Any, where: str) -> str:
        array = to_numpy(array)
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"save: {where} is an array of dtype {array.dtype}; only numbers and booleans are stored")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        return key

    def memoise(self, obj: Any) -> dict | None:
        """A ref node if ``obj`` was written before; otherwise None, and ``obj`` is remembered."""
        index = self.memo.get(id(obj))
        if index is not None:
            return {"ref": index}
        self.memo[id(obj)] = len(self.memo)
        self.keep.append(obj)
        return None

    def encode(self, obj: Any, where: str, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(f"save: {where} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(obj, Tensor):
            return self.memoise(obj) or self.tensor(obj, where)
        if isinstance(obj, Module):
            return self.memoise(obj) or self.module(obj, where, depth)
        if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
            return {"array": self.add_array(obj, where)}
        if isinstance(obj, np.generic):
            return self.encode(obj.item(), where, depth)
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return {"value": obj}
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__} in {where}")
                items.append([k, self.encode(v, f"{where}[{k!r}]", depth + 1)])
            return {"dict": items}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {kind: [self.encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]}
        raise TypeError(f"save: cannot store an object of type {type(obj).__name__} ({where})")

    def tensor(self, t: Tensor, where: str) -> dict:
        node: dict[str, Any] = {"tensor": self.add_array(t._data, where)}
        if device_of(t._data) != "cpu":
            node["device"] = device_of(t._data)
        if t.requires_grad and t.is_leaf:
            node["requires_grad"] = True
        if isinstance(t, Parameter):
            node["parameter"] = True
        return node

    def module(self, m: Any, where: str, depth: int) -> dict:
        cls = type(m)
        if "<locals>" in cls.__qualname__:
            raise TypeError(f"save: {where} is a {cls.__qualname__}, a class defined inside a function, which "
                            "load could not import; save its state_dict() instead")
        attributes = [[name, self.encode(value, f"{where}.{name}", depth + 1)] for name, value in vars(m).items()]
        return {"module": f"{cls.__module__}:{cls.__qualname__}", "attributes": attributes}


def save(obj: Any, f: str | os.PathLike | Any) -> None:
    """Write ``obj`` to ``f``: a path (written atomically, the name used as given) or a binary file object."""
    encoder = _Encoder()
    structure = encoder.encode(obj, "the object")
    arrays = encoder.arrays
    arrays[_STRUCTURE] = np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8)
    if hasattr(f, "write"):
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stubs fear a key named allow_pickle
        return
    atomic_write(f, lambda out: np.savez(out, **arrays))  # type: ignore[arg-type]  # as above


# ---------------------------------------------------------------------------------------------------- load
_NODE_KEYS = {
    "value": set(), "list": set(), "tuple": set(), "dict": set(), "array": set(), "ref": set(),
    "tensor": {"device", "requires_grad", "parameter"}, "module": {"attributes"},
}


class _Decoder:
    """Checks and builds the nodes of one structure record (see the module docstring)."""

    def __init__(self, arrays: Any, source: str, map_location: Any, weights_only: bool) -> None:
        self.arrays, self.source = arrays, source
        self.map_location, self.weights_only = map_location, weights_only
        self.memo: list[Any] = []

    def fail(self, where: str, problem: str) -> SerializationError:
        return SerializationError(f"load: {self.source}: {where}: {problem}")

    def decode(self, node: Any, where: str = "root", depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(where, f"nested more than {MAX_DEPTH} levels deep")
        if not isinstance(node, dict) or not node:
            raise self.fail(where, f"expected an entry (a JSON object naming its kind), got {_describe(node)}")
        kind = next(iter(node))
        if kind not in _NODE_KEYS:
            raise self.fail(where, f"unknown entry kind {kind!r}")
        extra = set(node) - {kind} - _NODE_KEYS[kind]
        if extra:
            raise self.fail(where, f"unexpected keys {sorted(extra)} in a {kind!r} entry")
        value = node[kind]
        if kind == "value":
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise self.fail(where, f"a 'value' entry holds {_describe(value)}")
            return value
        if kind in ("list", "tuple"):
            items = [self.decode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(self.sequence(value, where))]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            out = {}
            for pair in self.sequence(value, where):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self.fail(where, f"a dict item must be a [key, entry] pair, got {_describe(pair)}")
                key, item = pair
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise self.fail(where, f"a dict key must be a string or an integer, got {_describe(key)}")
                out[key] = self.decode(item, f"{where}[{key!r}]", depth + 1)
            return out
        if kind == "array":
            return self.array(value, where, _ARRAY_KINDS)
        if kind == "tensor":
            return self.tensor(node, where)
        if kind == "module":
            return self.module(node, where, depth)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(self.memo):
            raise self.fail(where, f"a 'ref' to {_describe(value)}, but {len(self.memo)} objects were read so far")
        return self.memo[value]

    def sequence(self, value: Any, where: str) -> list:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list of entries, got {_describe(value)}")
        return value

    def array(self, name: Any, where: str, kinds: str) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise self.fail(where, f"refers to the array {_describe(name)}, which the file does not hold")
        array = self.arrays[name]
        if array.dtype.kind not in kinds:
            raise self.fail(where, f"the array {name!r} has dtype {array.dtype}, which is not allowed here")
        return array

    def tensor(self, node: dict, where: str) -> Tensor:
        array = self.array(node["tensor"], where, _TENSOR_KINDS)
        saved_on = node.get("device", "cpu")
        if saved_on not in ("cpu", "cuda"):
            raise self.fail(where, f"unknown device {_describe(saved_on)}")
        flags = {k: node.get(k, False) for k in ("requires_grad", "parameter")}
        for k, v in flags.items():
            if not isinstance(v, bool):
                raise self.fail(where, f"{k!r} must be true or false, got {_describe(v)}")
        target = _mapped_device(self.map_location, saved_on)
        try:
            data = to_device(array, target)
        except DeviceError as exc:
            raise DeviceError(f"load: {self.source} holds tensors saved on {saved_on!r}, which this machine cannot "
                              f"use ({exc}); pass map_location='cpu'") from exc
        t: Tensor
        if flags["parameter"]:
            t = Parameter(data, requires_grad=flags["requires_grad"])
        else:
            if flags["requires_grad"] and data.dtype.kind != "f":
                raise self.fail(where, f"an {data.dtype} tensor cannot require grad")
            t = Tensor(data, requires_grad=flags["requires_grad"])
        self.memo.append(t)
        return t

    def module(self, node: dict, where: str, depth: int) -> Any:
        name = node["module"]
        if not isinstance(name, str) or name.count(":") != 1:
            raise self.fail(where, f"a module class must be written 'package.module:Class', got {_describe(name)}")
        if self.weights_only:
            raise self.fail(where, f"holds a whole model (class {name}); building it imports that class, so "
                                   "load(..., weights_only=False) does it, for files you trust. Saving "
                                   "model.state_dict() instead avoids this")
        cls = _import_module_class(name, lambda problem: self.fail(where, problem))
        module = cls.__new__(cls)
        self.memo.append(module)
        attributes = {}
        for pair in self.sequence(node.get("attributes", []), where):
            if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str):
                raise self.fail(where, f"a module attribute must be a [name, entry] pair, got {_describe(pair)}")
            attributes[pair[0]] = self.decode(pair[1], f"{where}.{pair[0]}", depth + 1)
        vars(module).update(attributes)
        return module


def _import_module_class(name: str, fail: Callable[[str], Exception]) -> type[Module]:
    module_name, qualname = name.split(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise fail(f"cannot import the model's class {name} ({exc}); define or import it before loading") from None
    if not isinstance(obj, type) or not issubclass(obj, Module):
        raise fail(f"{name} is not a minitorch.nn.Module subclass")
    return obj


def _mapped_device(map_location: Any, saved_on: str) -> str:
    """Where a tensor saved on ``saved_on`` goes: its own device, or as ``map_location`` says."""
    if map_location is None:
        return saved_on
    if isinstance(map_location, dict):
        for source, target in map_location.items():
            if str(source).partition(":")[0] == saved_on:
                return check_device(target)
        return saved_on
    return check_device(map_location)


def _check_map_location(map_location: Any) -> None:
    if map_location is None:
        return
    if isinstance(map_location, dict):
        for source, target in map_location.items():
            device(source)  # a valid name; it need not exist here
            check_device(target)
        return
    if not isinstance(map_location, (str, device)):
        raise TypeError(f"load: map_location must be a device, a device name or a dict of them, "
                        f"got {type(map_location).__name__}")
    check_device(map_location)


def _describe(value: Any) -> str:
    """A short description of a JSON value for an error message."""
    if isinstance(value, dict):
        return f"a JSON object with {len(value)} keys"
    if isinstance(value, list):
        return f"a JSON list of {len(value)} items"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def load(f: str | os.PathLike | Any, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read what :func:`save` wrote, from a path or a binary file object.

    Tensors come back on the device they were saved from, or where ``map_location``
    says (``"cpu"``, a :class:`~minitorch.device`, or a dict such as ``{"cuda": "cpu"}``).
    A whole model is rebuilt only with ``weights_only=False``.

    Only the arrays the structure record names are read, each no larger than the
    shape its header declares, and no header may declare more than its member
    holds: a small file cannot make this allocate gigabytes.  Every damaged,
    foreign or oversized file is a :class:`SerializationError`.
    """
    _check_map_location(map_location)
    if not isinstance(weights_only, bool):
        raise TypeError(f"load: weights_only must be True or False, got {weights_only!r}")
    if hasattr(f, "read"):
        source = str(getattr(f, "name", "<file object>"))
        data = f.read()
    else:
        source = os.fspath(f)
        if not os.path.exists(source):
            raise FileNotFoundError(f"load: no such file {source}")
        with open(source, "rb") as stream:
            data = stream.read()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        what = "a single NumPy array" if data.startswith(b"\x93NUMPY") else "not a zip (.npz) file"
        raise SerializationError(f"load: {source} is damaged or not a minitorch checkpoint: it is {what} "
                                 f"({exc})") from None
    with archive:
        members = _Members(archive, source, len(data))
        record = members.read(_STRUCTURE, where="the structure record")
        if record is None:
            raise SerializationError(f"load: {source} is an .npz file but not a minitorch checkpoint")
        if record.dtype != np.uint8 or record.ndim != 1:
            raise SerializationError(f"load: {source}: the structure record is not JSON text")
        try:
            structure = json.loads(record.tobytes().decode())
        except RecursionError as exc:
            raise SerializationError(f"load: {source}: the structure record is nested too deeply") from exc
        except ValueError as exc:   # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise SerializationError(f"load: {source} is damaged or not a minitorch checkpoint (its structure "
                                     f"record is not JSON: {exc})") from None
        return _Decoder(members, source, map_location, weights_only).decode(structure)


# what a deflated stream can expand to, at most, per compressed byte (zlib's limit is 1032:1)
_MAX_EXPANSION = 1100


class _Members:
    """The arrays of an .npz archive, each read when the structure first names it, and checked on the way.

    A member's header declares its dtype and shape; the member must hold exactly that many
    bytes after the header, which the zip directory must also declare, and which its
    compressed size must be able to hold.  Reading stops at the declared size, so a member
    that inflates to more is refused without being inflated.
    """

    def __init__(self, archive: zipfile.ZipFile, source: str, file_size: int) -> None:
        self.archive, self.source, self.file_size = archive, source, file_size
        self.names = {info.filename for info in archive.infolist()}
        self.loaded: dict[str, np.ndarray] = {}

    def __contains__(self, name: str) -> bool:
        """Whether the structure may name ``name`` as an array (the structure record itself is no array)."""
        return name != _STRUCTURE and f"{name}.npy" in self.names

    def __getitem__(self, name: str) -> np.ndarray:
        array = self.read(name, where=f"the array {name!r}")
        assert array is not None   # callers ask only for names they checked are here
        return array

    def fail(self, where: str, problem: str) -> SerializationError:
        return SerializationError(f"load: {self.source}: {where}: {problem}")

    def read(self, name: str, where: str) -> np.ndarray | None:
        """The member ``name`` as an array (None if there is none); SerializationError if it is damaged."""
        if name in self.loaded:
            return self.loaded[name]
        if f"{name}.npy" not in self.names:
            return None
        try:
            array = self._read(self.archive.getinfo(f"{name}.npy"), where)
        except SerializationError:
            raise
        except MemoryError:
            raise self.fail(where, "too large to load into memory") from None
        except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, RuntimeError, NotImplementedError,
                KeyError, OverflowError, TypeError, SyntaxError) as exc:
            raise self.fail(where, f"damaged ({type(exc).__name__}: {exc})") from None
        self.loaded[name] = array
        return array

    def _read(self, info: zipfile.ZipInfo, where: str) -> np.ndarray:
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise self.fail(where, f"a stored member of {info.compress_size} bytes declares {info.file_size}")
        elif info.file_size > _MAX_EXPANSION * max(info.compress_size, 1):
            raise self.fail(where, f"{info.compress_size} compressed bytes cannot hold the {info.file_size} "
                                   "the member declares")
        if info.compress_size > self.file_size:
            raise self.fail(where, "the member is larger than the file")
        with self.archive.open(info) as stream:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise self.fail(where, f"unsupported .npy format version {version}")
            if dtype.hasobject:
                raise self.fail(where, "holds pickled Python objects (dtype object), which load never unpickles")
            count = 1
            for n in shape:
                count *= n
            nbytes = count * dtype.itemsize
            header = stream.tell()
            if nbytes != info.file_size - header:
                raise self.fail(where, f"declares shape {shape} ({nbytes} bytes) but the member holds "
                                       f"{info.file_size - header}")
            buffer = bytearray(nbytes)
            view, filled = memoryview(buffer), 0
            while filled < nbytes:   # in pieces: memory grows only as bytes really arrive
                chunk = stream.read(min(nbytes - filled, 1 << 24))
                if not chunk:
                    raise self.fail(where, f"ends after {filled} of its {nbytes} bytes")
                view[filled:filled + len(chunk)] = chunk
                filled += len(chunk)
        array = np.frombuffer(buffer, dtype=dtype)
        return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
