"""What a run leaves on disk, and the only code that reads or writes it.

``runs/<name>/`` holds ``config.json`` (the resolved config and the data used),
``metrics.jsonl`` (one JSON object per line: ``"type": "iteration"`` records
of the smoothed training loss and ``"type": "epoch"`` records), the last
``checkpoint.npz`` and ``curves.png``.  Every file that a reader may open
while a run is going is replaced atomically, so a reader never sees half a file.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any

CONFIG, METRICS, CHECKPOINT, CURVES, LOG = "config.json", "metrics.jsonl", "checkpoint.npz", "curves.png", "train.log"


def atomic_write_text(path: str, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; these are for reading
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _finite_or_none(value: Any) -> Any:
    """JSON has no NaN or infinity: a diverged loss is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


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

    # ------------------------------------------------------------- config
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_text(self.path(CONFIG), json.dumps(config, indent=2) + "\n")

    def read_config(self) -> dict[str, Any]:
        with open(self.path(CONFIG)) as f:
            return json.load(f)

    # ------------------------------------------------------------ metrics
    def start_fresh(self) -> None:
        """Forget an earlier run of the same name."""
        os.makedirs(self.dir, exist_ok=True)
        for filename in (METRICS, CHECKPOINT, CURVES):
            if os.path.exists(self.path(filename)):
                os.remove(self.path(filename))

    def append(self, record: dict[str, Any]) -> None:
        with open(self.path(METRICS), "a") as f:
            f.write(json.dumps(_finite_or_none(record)) + "\n")

    def records(self) -> list[dict[str, Any]]:
        """Every complete record so far (a line cut short by a crash is skipped)."""
        if not os.path.isfile(self.path(METRICS)):
            return []
        out = []
        with open(self.path(METRICS)) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def truncate_to_epoch(self, epoch: int) -> None:
        """Keep only the records of epochs up to ``epoch``, the last one checkpointed,
        so that a resumed run does not repeat the iterations of an interrupted epoch."""
        kept = [r for r in self.records() if r.get("epoch", 0) <= epoch]
        atomic_write_text(self.path(METRICS), "".join(json.dumps(r) + "\n" for r in kept))


def split_records(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(iteration records, epoch records)."""
    return ([r for r in records if r.get("type") == "iteration"],
            [r for r in records if r.get("type") == "epoch"])


def find_runs(runs_dir: str) -> list[RunFiles]:
    """The runs directly under ``runs_dir`` (folders holding a config.json), by name."""
    if not os.path.isdir(runs_dir):
        return []
    names = sorted(n for n in os.listdir(runs_dir) if os.path.isfile(os.path.join(runs_dir, n, CONFIG)))
    return [RunFiles(runs_dir, n) for n in names]
