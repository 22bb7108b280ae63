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

Damaged or foreign files raise :class:`RunStateError`, whose message is one
line naming the file and what to do.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import math
import os
from collections.abc import Iterator
from typing import Any

from minitorch.utils import atomic_write_text, remove_temporaries

CONFIG, METRICS, CHECKPOINT, CURVES, LOG = "config.json", "metrics.jsonl", "checkpoint.npz", "curves.png", "train.log"
LOCK = ".lock"


class RunStateError(Exception):
    """A run's files are damaged, foreign or busy: reported in one line, exit status 2."""


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN or infinity: a diverged loss is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


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

    def path(self, filename: str) -> str:
        return os.path.join(self.dir, filename)

    @property
    def checkpoint(self) -> str:
        return self.path(CHECKPOINT)

    def exists(self) -> bool:
        return os.path.isfile(self.path(CONFIG))

    def has_records(self) -> bool:
        """Whether there is anything here that starting afresh would destroy."""
        metrics = self.path(METRICS)
        return (os.path.isfile(metrics) and os.path.getsize(metrics) > 0) or os.path.isfile(self.checkpoint)

    # --------------------------------------------------------------- lock
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run for this process; a second process gets RunStateError naming the holder."""
        os.makedirs(self.dir, exist_ok=True)
        fd = os.open(self.path(LOCK), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise RunStateError(f"{self.dir} is being written by another process (pid {holder}); "
                                    "wait for it to end, or stop it first") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def remove_temporaries(self) -> list[str]:
        """Delete the ``.tmp-*`` files a killed save left behind."""
        return remove_temporaries(self.dir) if os.path.isdir(self.dir) else []

    # ------------------------------------------------------------- config
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_text(self.path(CONFIG), json.dumps(config, indent=2) + "\n")

    def read_config(self) -> dict[str, Any]:
        """The saved config; RunStateError if it is missing or not a JSON object."""
        path = self.path(CONFIG)
        try:
            with open(path) as f:
                config = json.load(f)
        except FileNotFoundError:
            raise RunStateError(f"{path} is missing; restore it beside the run's other files, or start the run "
                                "afresh with --overwrite") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunStateError(f"{path} is not valid JSON ({exc}); restore it, or start the run afresh "
                                "with --overwrite") from None
        if not isinstance(config, dict):
            raise RunStateError(f"{path} holds a JSON {type(config).__name__}, not a run's config object; "
                                "restore it, or start the run afresh with --overwrite")
        return config

    # ------------------------------------------------------------ metrics
    def start_fresh(self) -> None:
        """Forget an earlier run of the same name (the caller holds the lock)."""
        os.makedirs(self.dir, exist_ok=True)
        for filename in (METRICS, CHECKPOINT, CURVES, CONFIG):
            if os.path.exists(self.path(filename)):
                os.remove(self.path(filename))

    def append(self, record: dict[str, Any]) -> None:
        with open(self.path(METRICS), "a") as f:
            f.write(json.dumps(_finite_or_none(record)) + "\n")

    def size(self) -> int:
        """The byte length of ``metrics.jsonl``: where :meth:`cut_back_to` returns to."""
        return os.path.getsize(self.path(METRICS)) if os.path.isfile(self.path(METRICS)) else 0

    def cut_back_to(self, size: int) -> None:
        """Undo appends made after ``size`` (the checkpoint that should have followed them failed)."""
        if self.size() > size:
            os.truncate(self.path(METRICS), size)

    def _lines(self) -> list[bytes]:
        if not os.path.isfile(self.path(METRICS)):
            return []
        with open(self.path(METRICS), "rb") as f:
            return f.read().splitlines(keepends=True)

    def records(self) -> list[dict[str, Any]]:
        """Every record; RunStateError naming the line if one is damaged or cut short."""
        out = []
        for number, line in enumerate(self._lines(), 1):
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("the line is cut short")
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError(f"a JSON {type(record).__name__}, not an object")
            except (ValueError, UnicodeDecodeError) as exc:
                raise RunStateError(
                    f"{self.path(METRICS)}, line {number}, is damaged ({exc}); a run killed while writing "
                    f"leaves this, and `python -m hw5 run {self.name} --resume` repairs it from the checkpoint"
                ) from None
            out.append(record)
        return out

    def epochs(self) -> list[dict[str, Any]]:
        """The per-epoch records, in order."""
        return [r for r in self.records() if r.get("type") == "epoch"]

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
            atomic_write_text(self.path(METRICS), b"".join(lines[:want]).decode())
        return len(lines) - want


def split_records(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(iteration records, epoch records)."""
    return [r for r in records if r.get("type") == "iteration"], [r for r in records if r.get("type") == "epoch"]


def find_runs(runs_dir: str) -> list[RunFiles]:
    """The runs directly under ``runs_dir`` (folders holding a config.json), by name."""
    if not os.path.isdir(runs_dir):
        return []
    names = sorted(n for n in os.listdir(runs_dir) if os.path.isfile(os.path.join(runs_dir, n, CONFIG)))
    return [RunFiles(runs_dir, n) for n in names]
