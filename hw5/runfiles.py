"""What a run leaves on disk, and the only code that reads or writes it.

``runs/<name>/`` holds ``config.json`` (the resolved config and the data used),
``metrics.jsonl`` (one JSON object per line: ``"type": "iteration"`` records
of the smoothed training loss and ``"type": "epoch"`` records), the last
``checkpoint.npz``, ``curves.png`` and ``train.log``.  Every file that a
reader may open while a run is going is replaced atomically, so a reader never
sees half a file; ``metrics.jsonl`` only grows by whole lines.

One process at a time writes a run: :meth:`RunFiles.lock` holds an exclusive
``flock`` on ``.lock`` for the run's lifetime.  The kernel drops the lock when
the holder dies, however it dies, so a killed run never leaves a stale lock.

The lock belongs to the folder, not to its path.  While it is held, every file
is opened through a descriptor of the folder that was locked, and before each
write the path is checked to still name that folder (and its ``.lock`` the
file locked): a run whose folder was moved, removed or replaced stops with
:class:`RunMoved` rather than write into another run's folder.  Run files are
opened without following symbolic links, so a link planted in a run's folder
never makes a run write (or truncate) a file elsewhere.

Damaged or foreign files raise :class:`RunStateError`, whose message is one
line naming the file and what to do.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import math
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

import minitorch as mt
from minitorch.utils import atomic_write, remove_temporaries
from minitorch.utils.atomic import TEMP_PREFIX

CONFIG, METRICS, CHECKPOINT, CURVES, LOG = "config.json", "metrics.jsonl", "checkpoint.npz", "curves.png", "train.log"
LOCK = ".lock"


class RunStateError(Exception):
    """A run's files are damaged, foreign or busy: reported in one line, exit status 2."""


class RunBusy(RunStateError):
    """Another process holds the run's lock."""


class RunMoved(RunStateError):
    """The folder a run locked is no longer at its path: the run stops rather than write elsewhere."""


_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK   # O_NONBLOCK: a planted FIFO must not hang an open
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN or infinity: a diverged loss is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


# The fields of metrics.jsonl's records that their readers rely on (the report computes with them, a resume
# counts epochs): the whole numbers each kind of record must hold (with their least value), and the numbers
# any record may hold (null where a diverged run's value was not finite).
_REQUIRED = {"epoch": {"epoch": 1}, "iteration": {"epoch": 1, "iteration": 0}}
_NUMBERS = ("loss", "train_loss", "train_acc", "train_eval_loss", "test_loss", "test_acc", "lr", "time",
            "train_time", "elapsed")


def _is_number(value: Any) -> bool:
    """A JSON number (Python's True is an int, but JSON's true is no number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _record_problem(record: dict[str, Any]) -> str | None:
    """What makes an epoch or iteration record unusable (None if nothing does); records of other types are
    another version's, and left alone."""
    kind = record.get("type")
    if kind not in _REQUIRED:
        return None
    for key, least in _REQUIRED[kind].items():
        value = record.get(key)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= least):
            return f"its {key!r} is {value!r:.40}, not a whole number from {least} up"
    if kind == "iteration" and "loss" not in record:
        return "its 'loss' is missing"
    for key in _NUMBERS:
        value = record.get(key)
        if value is not None and not _is_number(value):
            return f"its {key!r} is {value!r:.40}, not a number"
    class_acc = record.get("class_acc", {})
    if not (isinstance(class_acc, dict) and all(v is None or _is_number(v) for v in class_acc.values())):
        return f"its 'class_acc' is {class_acc!r:.40}, not an accuracy per class"
    if not isinstance(record.get("diverged", False), bool):
        return f"its 'diverged' is {record['diverged']!r:.40}, not true or false"
    return None


def fingerprint(lines: list[bytes]) -> str:
    """The SHA-256 of some complete lines of ``metrics.jsonl``: what a checkpoint says it goes with."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line)
    return digest.hexdigest()


class RunFiles:
    """The files of the run ``name`` under ``runs_dir``."""

    def __init__(self, runs_dir: str, name: str) -> None:
        self.dir = os.path.join(runs_dir, name)
        self.name = name
        self._dir_fd: int | None = None      # while the lock is held: the folder that was locked
        self._lock_fd: int | None = None
        self._identity: tuple[int, int] | None = None

    def path(self, filename: str) -> str:
        return os.path.join(self.dir, filename)

    @property
    def checkpoint(self) -> str:
        return self.path(CHECKPOINT)

    def exists(self) -> bool:
        return os.path.isfile(self.path(CONFIG))

    def has_checkpoint(self) -> bool:
        return self._stat(CHECKPOINT) is not None

    def has_records(self) -> bool:
        """Whether there is anything here that starting afresh would destroy."""
        return self.size() > 0 or self._stat(CHECKPOINT) is not None

    # ------------------------------------------------------------ opening
    def _stat(self, filename: str) -> os.stat_result | None:
        """The file itself (a link is not followed), or None if there is none."""
        try:
            if self._dir_fd is not None:
                return os.stat(filename, dir_fd=self._dir_fd, follow_symlinks=False)
            return os.lstat(self.path(filename))
        except FileNotFoundError:
            return None

    def _open(self, filename: str, flags: int, mode: int = 0o666) -> int:
        """A descriptor of one of the run's files, never through a link; RunStateError if it is not a file."""
        path = self.path(filename)
        try:
            if self._dir_fd is not None:
                fd = os.open(filename, flags | _NOFOLLOW, mode, dir_fd=self._dir_fd)
            else:
                fd = os.open(path, flags | _NOFOLLOW, mode)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise RunStateError(f"{path} is a symbolic link; a run's files must be plain files in its folder, "
                                    "and links are not followed: replace it with the file itself") from None
            raise OSError(exc.errno, exc.strerror, path) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RunStateError(f"{path} is not a regular file; move it away, or start afresh with --overwrite")
        return fd

    def _read(self, filename: str) -> bytes | None:
        """The whole file, or None if there is none."""
        try:
            fd = self._open(filename, os.O_RDONLY)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as f:
            return f.read()

    @contextlib.contextmanager
    def _writing(self, filename: str) -> Iterator[None]:
        """Check the folder is still the locked one, and name the file in any error (a full disk says which)."""
        self.check_in_place()
        try:
            yield
        except OSError as exc:
            if exc.filename == self.path(filename):
                raise
            raise OSError(exc.errno, exc.strerror or str(exc), self.path(filename)) from None

    def _open_own(self, filename: str, flags: int) -> int:
        """A descriptor of one of the run's files for changing it in place (appending, truncating), once the
        file is the run's alone.

        A hard-linked copy of a runs folder (``cp -al``, ``rsync --link-dest``: a cheap snapshot) shares its
        files with the run, so appending to one would append to the snapshot too.  A file with other names is
        first replaced by a copy of itself (atomically, as every rewrite here), and the other names keep what
        they held.  The output of a sweep's training process is train.log itself (:meth:`open_log`): that one
        is left as it is.
        """
        fd = self._open(filename, flags)
        found = os.fstat(fd)
        if found.st_nlink > 1 and not _is_stdout(found):
            os.close(fd)
            content = self._read(filename) or b""
            self.write_atomic(filename, lambda f: f.write(content))
            fd = self._open(filename, flags)
        return fd

    def _append(self, filename: str, data: bytes) -> None:
        with self._writing(filename):
            fd = self._open_own(filename, _APPEND)
            with os.fdopen(fd, "ab") as f:
                f.write(data)

    def write_atomic(self, filename: str, write: Callable[[IO[bytes]], object]) -> None:
        """Write ``filename`` whole or not at all: ``write(file)`` fills a temporary that replaces it."""
        if self._dir_fd is None:
            with self._writing(filename):
                atomic_write(self.path(filename), write)
            return
        with self._writing(filename):
            temporary = f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666, dir_fd=self._dir_fd)
            try:
                with os.fdopen(fd, "wb") as f:
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
                self.check_in_place()
                os.replace(temporary, filename, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=self._dir_fd)
                raise

    # --------------------------------------------------------------- lock
    @contextlib.contextmanager
    def lock(self, probe: bool = False) -> Iterator[None]:
        """Hold the run for this process; a second process gets RunStateError naming the holder.

        ``probe``: only check that no other process holds it (the pid in ``.lock`` is left as it is).
        """
        os.makedirs(self.dir, exist_ok=True)
        dir_fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = self._open_lock(dir_fd)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    raise RunBusy(f"{self.dir} is being written by another process (pid {holder}); "
                                        "wait for it to end, or stop it first") from None
                if not probe:    # only the holder ever truncates .lock
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                    folder = os.fstat(dir_fd)
                    self._dir_fd, self._lock_fd, self._identity = dir_fd, fd, (folder.st_dev, folder.st_ino)
                    self.check_in_place()   # the .lock locked is the folder's (not one swapped in meanwhile)
                yield
            finally:
                self._dir_fd = self._lock_fd = self._identity = None
                os.close(fd)  # closing the descriptor releases the lock
        finally:
            os.close(dir_fd)

    def _open_lock(self, dir_fd: int) -> int:
        try:
            fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o666, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise RunStateError(f"{self.path(LOCK)} is a symbolic link; remove it (a run's lock is a plain "
                                    "file in its folder, and links are not followed)") from None
            raise OSError(exc.errno, exc.strerror, self.path(LOCK)) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RunStateError(f"{self.path(LOCK)} is not a regular file; remove it")
        return fd

    def check_in_place(self) -> None:
        """RunMoved if the path no longer names the folder this process locked, or its .lock was replaced."""
        if self._dir_fd is None or self._lock_fd is None:
            return
        here: os.stat_result | None
        lock: os.stat_result | None
        try:
            here = os.stat(self.dir)
            lock = os.stat(LOCK, dir_fd=self._dir_fd, follow_symlinks=False)
        except OSError:
            here = lock = None
        held = os.fstat(self._lock_fd)
        if here is None or lock is None or (here.st_dev, here.st_ino) != self._identity \
                or (lock.st_dev, lock.st_ino) != (held.st_dev, held.st_ino):
            raise RunMoved(f"{self.dir} is no longer the folder this process locked (it was moved, removed or "
                           "replaced while the run was going); stopping without writing there. What was "
                           "written is in the folder wherever it went")

    def remove_temporaries(self) -> list[str]:
        """Delete the ``.tmp-*`` files a killed save left behind (the caller holds the lock)."""
        if self._dir_fd is None:
            return remove_temporaries(self.dir) if os.path.isdir(self.dir) else []
        removed = []
        for name in sorted(os.listdir(self._dir_fd)):
            if name.startswith(TEMP_PREFIX):
                try:
                    os.unlink(name, dir_fd=self._dir_fd)
                except IsADirectoryError:   # no save leaves a folder: someone else's, not to be deleted
                    raise RunStateError(f"{self.path(name)} is a folder, where only the temporary files of an "
                                        "interrupted save belong; move it away") from None
                except OSError as exc:
                    raise OSError(exc.errno, exc.strerror, self.path(name)) from None
                removed.append(name)
        return removed

    # ------------------------------------------------------------- config
    def write_config(self, config: dict[str, Any]) -> None:
        text = json.dumps(config, indent=2) + "\n"
        self.write_atomic(CONFIG, lambda f: f.write(text.encode()))

    def read_config(self) -> dict[str, Any]:
        """The saved config; RunStateError if it is missing or not a JSON object."""
        path = self.path(CONFIG)
        data = self._read(CONFIG)
        if data is None:
            raise RunStateError(f"{path} is missing; restore it beside the run's other files, or start the run "
                                "afresh with --overwrite")
        try:
            config = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise RunStateError(f"{path} is not valid JSON ({exc}); restore it, or start the run afresh "
                                "with --overwrite") from None
        if not isinstance(config, dict):
            raise RunStateError(f"{path} holds a JSON {type(config).__name__}, not a run's config object; "
                                "restore it, or start the run afresh with --overwrite")
        return config

    # --------------------------------------------------------- checkpoint
    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Write ``checkpoint.npz`` whole or not at all (``minitorch.save``)."""
        self.write_atomic(CHECKPOINT, lambda f: mt.save(state, f))

    def load_checkpoint(self) -> Any:
        """What ``checkpoint.npz`` holds, tensors on the CPU; RunStateError if it is not a minitorch file."""
        data = self._read(CHECKPOINT)
        if data is None:
            raise RunStateError(f"{self.checkpoint} is missing")
        source = io.BytesIO(data)
        source.name = self.checkpoint   # what minitorch.load names in its errors
        try:
            return mt.load(source, map_location="cpu")   # load_state_dict moves it where it belongs
        except mt.SerializationError as exc:   # its message names the file, after the name of the call
            raise RunStateError(f"{str(exc).removeprefix('load: ')}; restore it, or start the run afresh with "
                                "--overwrite") from None

    # ---------------------------------------------------------------- log
    def log(self, text: str) -> None:
        """Add ``text`` to train.log, unless this process's stdout is train.log already (a sweep's child)."""
        data = text.encode("utf-8", "backslashreplace")
        with self._writing(LOG):
            fd = self._open_own(LOG, _APPEND)
            with os.fdopen(fd, "ab") as f:
                if not _is_stdout(os.fstat(fd)):
                    f.write(data)

    def open_log(self) -> IO[str]:
        """train.log for appending, as a text file (a sweep hands it to the training process as its output)."""
        os.makedirs(self.dir, exist_ok=True)
        return os.fdopen(self._open(LOG, _APPEND), "a")

    # ------------------------------------------------------------ metrics
    def start_fresh(self, keep_log: bool = False) -> None:
        """Forget an earlier run of the same name (the caller holds the lock).

        ``keep_log``: keep train.log (a resumed run that begins again at epoch 1 is still the same run, and its
        log tells what happened to it).  A sweep's training process writes its output to train.log
        (:meth:`open_log`): that one is left as it is.
        """
        os.makedirs(self.dir, exist_ok=True)
        for filename in (METRICS, CHECKPOINT, CURVES, CONFIG, *(() if keep_log else (LOG,))):
            found = self._stat(filename)
            if found is not None and not (filename == LOG and _is_stdout(found)):
                with self._writing(filename):
                    if self._dir_fd is not None:
                        os.unlink(filename, dir_fd=self._dir_fd)   # a link is removed, not what it names
                    else:
                        os.unlink(self.path(filename))

    def append(self, record: dict[str, Any]) -> None:
        self.append_all([record])

    def append_all(self, records: list[dict[str, Any]]) -> None:
        """Append one line per record, in a single write (the training loop saves its loss points up); compact
        JSON (no spaces after separators): a 200-epoch run logs ~10,000 lines, and the spaces were a tenth of them."""
        if records:
            self._append(METRICS, "".join(json.dumps(_finite_or_none(r), separators=(",", ":")) + "\n"
                                          for r in records).encode())

    def size(self) -> int:
        """The byte length of ``metrics.jsonl``: where :meth:`cut_back_to` returns to."""
        found = self._stat(METRICS)
        return found.st_size if found is not None and stat.S_ISREG(found.st_mode) else 0

    def cut_back_to(self, size: int) -> None:
        """Undo appends made after ``size`` (the checkpoint that should have followed them failed)."""
        if self.size() > size:
            with self._writing(METRICS):
                fd = self._open_own(METRICS, os.O_WRONLY)
                try:
                    os.ftruncate(fd, size)
                finally:
                    os.close(fd)

    def _lines(self) -> list[bytes]:
        data = self._read(METRICS)
        return [] if data is None else data.splitlines(keepends=True)

    def records(self, torn_end: bool = False) -> list[dict[str, Any]]:
        """Every record; RunStateError naming the line if one is damaged or cut short.

        ``torn_end``: a last line cut short (what a kill during an append leaves) is left out instead.
        """
        out = []
        lines = self._lines()
        if torn_end and lines and not lines[-1].endswith(b"\n"):
            lines.pop()
        for number, line in enumerate(lines, 1):
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("the line is cut short")
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError(f"a JSON {type(record).__name__}, not an object")
                problem = _record_problem(record)
                if problem:
                    raise ValueError(problem)
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                raise RunStateError(f"{self.path(METRICS)}, line {number}, is damaged ({exc}); "
                                    + self._repair(number)) from None
            out.append(record)
        return out

    def _repair(self, number: int) -> str:
        """What mends damaged line ``number`` of metrics.jsonl.

        ``--resume`` drops the lines after those the checkpoint goes with (what a run killed while writing
        leaves), so it mends the line only if the checkpoint goes with fewer lines, and those are intact.
        """
        try:
            saved = self.load_checkpoint()["metrics"]
            want = saved["lines"]
            intact = want < number and fingerprint(self._lines()[:want]) == saved["sha256"]
        except (RunStateError, OSError, LookupError, TypeError):
            return (f"there is no usable {CHECKPOINT} to repair it from: restore the file, or start the run "
                    "afresh with --overwrite")
        if intact:
            return (f"a run killed while writing leaves this, and `python -m hw5 run {self.name} --resume` "
                    f"repairs it from the checkpoint (which goes with the {want} line(s) before it)")
        return (f"{CHECKPOINT} goes with this line (or with other lines), so --resume cannot repair it: restore "
                "the file, or start the run afresh with --overwrite")

    def epochs(self, torn_end: bool = False) -> list[dict[str, Any]]:
        """The per-epoch records, in order."""
        return [r for r in self.records(torn_end) if r.get("type") == "epoch"]

    def line_count(self) -> int:
        """How many lines ``metrics.jsonl`` has (a last one cut short included)."""
        return len(self._lines())

    def epochs_after(self, count: int) -> list[int]:
        """The epochs whose records follow the first ``count`` lines of ``metrics.jsonl`` (those a checkpoint
        goes with); a damaged line is no epoch's."""
        epochs = []
        for line in self._lines()[count:]:
            with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError):
                record = json.loads(line)
                if isinstance(record, dict) and record.get("type") == "epoch" and not _record_problem(record):
                    epochs.append(record["epoch"])
        return epochs

    def fingerprint(self) -> dict[str, Any]:
        """How many lines ``metrics.jsonl`` has and their hash: stored in each checkpoint."""
        lines = self._lines()
        return {"lines": len(lines), "sha256": fingerprint(lines)}

    def verify(self, saved: dict[str, Any]) -> list[bytes]:
        """The lines of ``metrics.jsonl``, once its start is shown to be the lines a checkpoint went with.

        Fewer lines, or other ones, mean the metrics and the checkpoint are not of the
        same run: RunStateError.
        """
        lines, want = self._lines(), saved["lines"]
        if len(lines) < want or fingerprint(lines[:want]) != saved["sha256"]:
            raise RunStateError(
                f"{self.path(METRICS)} does not match {self.checkpoint} (the checkpoint goes with "
                f"{want} lines; the file has {len(lines)}{' other' if len(lines) >= want else ''} ones): they are "
                "not from the same run. Restore the run's files together, or start afresh with --overwrite")
        return lines

    def trim_to(self, saved: dict[str, Any]) -> int:
        """Make ``metrics.jsonl`` exactly the lines the checkpoint went with; returns how many were dropped.

        Lines after those belong to an epoch the checkpoint never saw (the run was
        stopped during it).
        """
        lines, want = self.verify(saved), saved["lines"]
        if len(lines) > want:
            self.write_atomic(METRICS, lambda f: f.write(b"".join(lines[:want])))
        return len(lines) - want


def _is_stdout(found: os.stat_result) -> bool:
    """Whether ``found`` is the file this process's stdout writes to."""
    try:
        return os.path.samestat(os.fstat(sys.stdout.fileno()), found)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):   # a stdout with no descriptor
        return False


def split_records(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(iteration records, epoch records)."""
    return [r for r in records if r.get("type") == "iteration"], [r for r in records if r.get("type") == "epoch"]


def find_runs(runs_dir: str) -> list[RunFiles]:
    """The runs directly under ``runs_dir`` (folders holding a config.json), by name."""
    if not os.path.isdir(runs_dir):
        return []
    names = sorted(n for n in os.listdir(runs_dir) if os.path.isfile(os.path.join(runs_dir, n, CONFIG)))
    return [RunFiles(runs_dir, n) for n in names]
