"""CIFAR-10 from the official "python version" files.

Layout (as in ``cifar-10-python.tar.gz``)::

    root/cifar-10-batches-py/data_batch_1 ... data_batch_5, test_batch, batches.meta

Each batch is a pickled dict with ``b"data"`` (N x 3072 uint8: the red plane,
then green, then blue, each 32 x 32 row-major) and ``b"labels"`` (N ints in
0..9); ``batches.meta`` holds ``b"label_names"``.  The files were written by
Python 2, hence ``encoding="bytes"``.

Unpickling can run arbitrary code, and dataset files come from the network,
so they are read with :class:`RestrictedUnpickler`, which admits only the few
globals that rebuild NumPy arrays.  A pickle can also describe objects nested
so deeply that building or hashing them overflows the C stack, or a few
kilobytes of shared references that expand to gigabytes once turned into an
array; so before anything is built, :func:`check_pickle_structure` reads the
pickle's opcodes and refuses either.
"""
from __future__ import annotations

import io
import os
import pickle
import pickletools
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from minitorch.data.dataset import DatasetError, ImageDataset
from minitorch.data.download import default_root, install_archive

try:  # NumPy >= 2 moved the array reconstructors to numpy._core
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer  # type: ignore[attr-defined]  # private: not in numpy's stubs
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]  # the same function, older home
    from numpy.core.numeric import _frombuffer  # type: ignore[no-redef]  # the same function, older home


class UnsafePickleError(DatasetError):
    """A pickle asked for a global that a dataset file has no business using."""


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3 uses it to pickle bytes at protocol 2, and nothing more."""
    if encoding.lower().replace("-", "").replace("_", "") not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin1")


_NUMERIC_KINDS = "biuf"   # bool, integers, floats: what image data and labels are made of


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only NumPy's array-rebuilding globals, each bounded by the file's size.

    Dicts, lists, tuples, ints, bytes and strings need no globals at all; every
    other name (``os.system``, ``builtins.eval``, ...) raises :class:`UnsafePickleError`.
    The array globals are guarded too: a pickle of a few hundred bytes could
    otherwise ask ``ndarray`` or ``_reconstruct`` for gigabytes of blank memory,
    so no reconstruction may allocate more bytes than the file holds, and only
    numeric dtypes (no strings, no Python objects) are admitted.  ``numpy.ndarray``
    resolves to a token that only ``_reconstruct`` accepts, so it cannot be called.
    """

    _NDARRAY = object()   # stands for numpy.ndarray, which pickles pass to _reconstruct

    def __init__(self, file: Any, path: str, budget: int) -> None:
        super().__init__(file, encoding="bytes")
        self.path = path
        self.budget = budget   # the file's size: no array it describes can honestly be larger
        self.safe_globals: dict[tuple[str, str], Any] = {
            ("numpy._core.multiarray", "_reconstruct"): self._reconstruct,
            ("numpy.core.multiarray", "_reconstruct"): self._reconstruct,   # files from NumPy 1.x / Python 2
            ("numpy._core.numeric", "_frombuffer"): self._frombuffer,       # pickle protocol 5
            ("numpy.core.numeric", "_frombuffer"): self._frombuffer,
            ("numpy", "ndarray"): self._NDARRAY,
            ("numpy", "dtype"): self._dtype,
            ("_codecs", "encode"): _latin1_encode,
        }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.safe_globals[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self.path}: refusing to load global {module}.{name}: dataset files may only "
                "contain NumPy arrays and plain containers (the file may have been tampered with)"
            ) from None

    def _refuse(self, what: str) -> UnsafePickleError:
        return UnsafePickleError(f"{self.path}: refusing {what} (the file may have been tampered with)")

    def _dtype(self, spec: Any, *args: Any) -> np.dtype:
        dtype = np.dtype(spec, *args)
        if dtype.kind not in _NUMERIC_KINDS:
            raise self._refuse(f"an array of dtype {dtype}: only numeric arrays belong in a dataset file")
        return dtype

    def _check_size(self, shape: Any, dtype: Any) -> None:
        try:
            count = int(np.prod(np.asarray(shape, dtype=np.int64), dtype=np.int64))
        except (TypeError, ValueError, OverflowError):
            raise self._refuse(f"an array of shape {shape!r}") from None
        nbytes = count * self._dtype(dtype).itemsize
        if count < 0 or nbytes > self.budget:
            raise self._refuse(f"an array of shape {shape!r} ({nbytes} bytes) from a file of {self.budget} bytes")

    def _reconstruct(self, subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
        if subtype is not self._NDARRAY:
            raise self._refuse(f"to rebuild an array of type {subtype!r}")
        self._check_size(shape, "u1" if isinstance(dtype, bytes) else dtype)
        return cast(np.ndarray, _reconstruct(np.ndarray, shape, dtype))  # stubbed as returning object

    def _frombuffer(self, buffer: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
        self._check_size(shape, dtype)
        return _frombuffer(buffer, self._dtype(dtype), shape, order)


MAX_NESTING = 100          # levels of containers a dataset file may nest (CIFAR-10's batches use 5)
SPARE_ELEMENTS = 10_000    # objects a pickle may hold beyond one per byte of the file (see below)
_MODIFIERS = {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"}   # add to the object below
_SCALARS = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",  # hold nothing
            "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE",
            "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "FLOAT", "BINFLOAT", "NONE", "NEWTRUE", "NEWFALSE"}


def check_pickle_structure(data: bytes, path: str) -> None:
    """Refuse (UnsafePickleError) a pickle that nests objects too deeply or holds too many, before building any.

    The pickle's opcodes are replayed on a stack of placeholders, which records
    which object holds which, shared references (the memo) included.  Then the
    object graph is walked from the result: no object may nest more than
    :data:`MAX_NESTING` levels of others, none may refer to itself, and the
    whole may hold no more objects than the file has bytes (plus
    :data:`SPARE_ELEMENTS`), a shared object counted each time it is referred to:
    written out, every object costs at least a byte, so only references repeated
    to blow up (ten lists of ten references to the one below, eight levels deep)
    reach that.
    """
    def refuse(what: str) -> UnsafePickleError:
        return UnsafePickleError(f"{path}: refusing a pickle that {what} (the file may have been tampered with)")

    mark, scalar = -1, -2   # placeholders for a mark and for any number or string (most of a pickle)
    stack: list[int] = []
    holds: list[list[int]] = []   # the objects each placeholder holds
    memo: dict[Any, int] = {}

    def to_mark() -> list[int]:
        start = len(stack) - 1 - stack[::-1].index(mark)
        items = stack[start + 1:]
        del stack[start:]
        return items

    try:
        for opcode, arg, _ in pickletools.genops(data):
            name = opcode.name
            marked = name not in _SCALARS and pickletools.markobject in opcode.stack_before
            if name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE", "DUP") and stack[-1] == mark:
                raise ValueError(f"{name} of a mark")   # unpicklers disagree on what that means: refuse it
            if name in _SCALARS:
                stack.append(scalar)
            elif name in ("PROTO", "FRAME"):
                continue
            elif name == "STOP":
                break
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[arg])
            elif name == "MARK":
                stack.append(mark)
            elif name == "POP":
                stack.pop()
            elif name == "POP_MARK":
                to_mark()
            elif name == "DUP":
                stack.append(stack[-1])
            elif name in _MODIFIERS:
                items = to_mark() if marked else [stack.pop() for _ in range(len(opcode.stack_before) - 1)]
                if stack[-1] < 0:
                    raise ValueError(f"{name} on a number or string")
                holds[stack[-1]].extend(items)
            else:
                items = to_mark() if marked else [stack.pop() for _ in range(len(opcode.stack_before))]
                for _ in opcode.stack_after:
                    holds.append(items)
                    stack.append(len(holds) - 1)
        root = stack[-1]
    except (IndexError, KeyError, ValueError) as exc:   # malformed opcodes: the unpickler would fail too
        raise DatasetError(f"{path}: cannot unpickle (malformed pickle: {type(exc).__name__}: {exc}); the file "
                           "is truncated or corrupt - delete it and download the dataset again") from None
    if root == mark:
        raise DatasetError(f"{path}: cannot unpickle (malformed pickle: it ends on a mark)")
    if root == scalar:
        return
    _check_graph(holds, root, len(data) + SPARE_ELEMENTS, refuse)


def _check_graph(holds: list[list[int]], root: int, budget: int, refuse: Callable[[str], Exception]) -> None:
    """Depth-first from ``root`` without recursion: each object's depth and size (shared ones expanded)."""
    depth, size = [0] * len(holds), [0] * len(holds)
    state = [0] * len(holds)   # 0 unseen, 1 on the current path, 2 measured
    todo = [(root, False)]
    while todo:
        node, measured = todo.pop()
        if measured:
            deepest, total = 0, 1
            for kid in holds[node]:
                deepest = max(deepest, 1 if kid < 0 else depth[kid])   # a scalar: one level, one object
                total += 1 if kid < 0 else size[kid]
            depth[node], size[node] = 1 + deepest, total
            if depth[node] > MAX_NESTING:
                raise refuse(f"nests objects more than {MAX_NESTING} levels deep")
            if size[node] > budget:
                raise refuse(f"holds more than {budget} objects, shared references counted each time")
            state[node] = 2
            continue
        if state[node] == 2:
            continue
        state[node] = 1
        todo.append((node, True))
        for kid in holds[node]:
            if kid < 0:
                continue
            if state[kid] == 1:
                raise refuse("holds an object that contains itself")
            if state[kid] == 0:
                todo.append((kid, False))


def load_pickle(path: str) -> Any:
    """Unpickle ``path`` safely; a missing file raises FileNotFoundError, a damaged one DatasetError."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: file not found")
    with open(path, "rb") as f:
        data = f.read()
    check_pickle_structure(data, path)
    try:
        return RestrictedUnpickler(io.BytesIO(data), path, len(data)).load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # any failure to parse untrusted bytes means a damaged file
        raise DatasetError(f"{path}: cannot unpickle ({type(exc).__name__}: {exc}); the file is "
                           "truncated or corrupt - delete it and download the dataset again") from exc


def _str_keys(obj: Any, path: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise DatasetError(f"{path}: expected a pickled dict, found {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def read_batch(path: str, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (images uint8 N x 32 x 32 x 3, labels int64 N), validated."""
    batch = _str_keys(load_pickle(path), path)
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise DatasetError(f"{path}: malformed batch: missing key(s) {missing}, found {sorted(batch)}")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        desc = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetError(f"{path}: malformed batch: 'data' must be a uint8 array of shape (N, 3072), got {desc}")
    if len(data) == 0:   # every batch of the official archive holds 10,000 images
        raise DatasetError(f"{path}: malformed batch: it holds no images; the file is truncated or was replaced - "
                           "delete the dataset and download it again")
    try:
        labels = np.asarray(labels)
    except Exception as exc:
        raise DatasetError(f"{path}: malformed batch: 'labels' is not a list of integers ({exc})") from exc
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(data):
        raise DatasetError(f"{path}: malformed batch: 'labels' must be {len(data)} integers (one per "
                           f"image), got {labels.dtype} array of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DatasetError(f"{path}: malformed batch: labels must be in [0, {num_classes}), "
                           f"found values in [{labels.min()}, {labels.max()}]")
    return data, labels.astype(np.int64)


def read_meta(path: str) -> list[str]:
    meta = _str_keys(load_pickle(path), path)
    names = meta.get("label_names")
    if not isinstance(names, list) or len(names) != 10 or not all(isinstance(n, (bytes, str)) for n in names):
        raise DatasetError(f"{path}: malformed meta file: 'label_names' must be a list of 10 names")
    try:
        return [n.decode("utf-8") if isinstance(n, bytes) else n.encode("utf-8").decode() for n in names]
    except UnicodeError as exc:
        raise DatasetError(f"{path}: malformed meta file: a label name is not UTF-8 text ({exc})") from None


class CIFAR10(ImageDataset):
    """The CIFAR-10 images (50 000 train / 10 000 test, 32 x 32 RGB, 10 classes).

    ``root`` defaults to ``$MINITORCH_DATA`` or ``~/.cache/minitorch``.  The
    download location and checksum are class attributes (and the URL also
    ``$MINITORCH_CIFAR10_URL``) so a mirror or a test server can stand in.
    """

    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    url_env = "MINITORCH_CIFAR10_URL"
    filename = "cifar-10-python.tar.gz"
    md5 = "c58f30108f718f92721af3b95e74349a"
    base_folder = "cifar-10-batches-py"
    train_list = [f"data_batch_{i}" for i in range(1, 6)]
    test_list = ["test_batch"]
    meta_file = "batches.meta"

    def __init__(self, root: str | None = None, train: bool = True, download: bool = False,
                 transform: Callable[[Any], Any] | None = None) -> None:
        self.root = os.path.expanduser(root) if root is not None else default_root()
        self.train = train
        self.transform = transform
        if download and not self._files_present():
            self.download()
        folder = self.folder
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"CIFAR-10 not found: looked for {folder}. Pass download=True to fetch it "
                f"({self.resolved_url()}), or extract {self.filename} so that "
                f"{os.path.join(folder, 'data_batch_1')} exists (set $MINITORCH_DATA or root= "
                "to use another directory)")
        self._check_complete(folder)
        self.classes = read_meta(os.path.join(folder, self.meta_file))
        parts = [read_batch(os.path.join(folder, f), len(self.classes))
                 for f in (self.train_list if train else self.test_list)]
        self.data = self._to_hwc(parts)
        self.targets = np.concatenate([labels for _, labels in parts])

    @property
    def folder(self) -> str:
        return os.path.join(self.root, self.base_folder)

    @classmethod
    def resolved_url(cls) -> str:
        return os.environ.get(cls.url_env) or cls.url

    def _check_complete(self, folder: str) -> None:
        """Refuse a folder that holds some of the dataset's files but not all, each a regular file.

        Such a folder is damaged, not absent: a caller that falls back to other data when CIFAR-10 is not
        there must not do so here (it would train on the wrong images), so it is a DatasetError naming the
        first file at fault.  A folder with none of the files is as good as absent (FileNotFoundError), and a
        download may fill it.
        """
        paths = [os.path.join(folder, f) for f in self.train_list + self.test_list + [self.meta_file]]
        if not any(os.path.lexists(path) for path in paths):
            raise FileNotFoundError(f"CIFAR-10 not found: {folder} holds none of its files; pass download=True "
                                    f"to fetch it ({self.resolved_url()}), or extract {self.filename} there")
        for path in paths:
            if not os.path.isfile(path):
                problem = "is not a regular file" if os.path.lexists(path) else "is missing"
                raise DatasetError(f"CIFAR-10 in {folder} is incomplete: {path} {problem}; delete the folder "
                                   "and download the dataset again")

    def _files_present(self) -> bool:
        return all(os.path.isfile(os.path.join(self.folder, f))
                   for f in self.train_list + self.test_list + [self.meta_file])

    def download(self) -> None:
        """Fetch, verify and install the archive (see :func:`install_archive`)."""
        required = self.train_list + self.test_list + [self.meta_file]

        def check(staged: str) -> None:
            missing = [f for f in required if not os.path.isfile(os.path.join(staged, f))]
            if missing:
                raise DatasetError(f"{self.filename}: archive lacks {missing} in {self.base_folder}/")

        install_archive(self.resolved_url(), self.root, self.filename, self.md5,
                        self.base_folder, check=check)

    @staticmethod
    def _to_hwc(parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Concatenate the (N, 3072) planar rows into one (N, 32, 32, 3) array in a single copy."""
        total = sum(len(d) for d, _ in parts)
        out = np.empty((total, 32, 32, 3), dtype=np.uint8)
        start = 0
        for rows, _ in parts:
            out[start:start + len(rows)] = rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            start += len(rows)
        return out
