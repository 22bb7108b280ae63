"""Live progress of a sweep: one line per running experiment, read from each run's ``metrics.jsonl``.

The training processes run anywhere on the cluster; what they share with the
driver is the runs folder.  So progress is read from there, and only what was
appended since the last look: a 200-epoch run's file has ten thousand lines.
On a terminal the lines are redrawn in place; elsewhere (a log file, CI) the
changed lines are printed now and then as plain lines.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from typing import TextIO

from hw5.runfiles import CONFIG, METRICS


class RunWatch:
    """How far one run has come, kept up to date by reading its files' new lines."""

    def __init__(self, run_dir: str, name: str, total_epochs: int) -> None:
        self.run_dir, self.name, self.total = run_dir, name, total_epochs
        self.epochs_done = 0
        self.test_acc: float | None = None
        self.elapsed = 0.0                  # seconds the recorded epochs took, over all sessions
        self.iteration = 0                  # optimizer steps, from the latest record
        self.epoch_iteration = 0            # steps when the last recorded epoch ended
        self.steps_per_epoch: int | None = None
        self.last_epoch_seen: float | None = None   # when this watcher saw the last epoch record
        self._inode: int | None = None
        self._offset, self._partial = 0, b""

    def poll(self) -> None:
        """Read what the run appended since the last call (from the start if the file was replaced)."""
        path = os.path.join(self.run_dir, METRICS)
        try:
            stat = os.stat(path)
        except OSError:
            return
        if stat.st_ino != self._inode or stat.st_size < self._offset:  # a resumed run rewrote it
            self._offset, self._inode, self._partial = 0, stat.st_ino, b""
            self.epochs_done, self.iteration, self.epoch_iteration, self.test_acc = 0, 0, 0, None
        if stat.st_size == self._offset:
            return
        with open(path, "rb") as f:
            f.seek(self._offset)
            data = self._partial + f.read()
            self._offset = f.tell()
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self._take(line)
        if self.steps_per_epoch is None:
            self.steps_per_epoch = self._read_steps_per_epoch()

    def _take(self, line: bytes) -> None:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return
        self.iteration = record.get("iteration", self.iteration)
        if record.get("type") == "epoch":
            self.epochs_done = record.get("epoch", self.epochs_done)
            self.test_acc = record.get("test_acc")
            self.elapsed = record.get("elapsed", self.elapsed)
            self.epoch_iteration = self.iteration
            self.last_epoch_seen = time.monotonic()

    def _read_steps_per_epoch(self) -> int | None:
        try:
            with open(os.path.join(self.run_dir, CONFIG)) as f:
                config = json.load(f)
            return math.ceil(config["data"]["train_images"] / config["batch_size"])
        except (OSError, ValueError, KeyError, TypeError, ZeroDivisionError):
            return None

    def seconds_left(self) -> float | None:
        """The recorded epochs' mean time, times the epochs left, less the time already in this one."""
        if not self.epochs_done:
            return None
        per_epoch = self.elapsed / self.epochs_done
        since = time.monotonic() - self.last_epoch_seen if self.last_epoch_seen is not None else 0.0
        return max(0.0, per_epoch * (self.total - self.epochs_done) - since)

    def line(self) -> str:
        current = min(self.epochs_done + 1, self.total)
        text = f"{self.name:<6} epoch {current:>{len(str(self.total))}}/{self.total}"
        if self.steps_per_epoch and self.epochs_done < self.total:
            into = (self.iteration - self.epoch_iteration) / self.steps_per_epoch
            text += " eval" if into >= 1 else f" {100 * into:3.0f}%"   # trained through: evaluating
        text += "  test " + ("   -  " if self.test_acc is None else f"{100 * self.test_acc:5.1f}%")
        if self.epochs_done >= self.total:
            return text + "  finishing"
        left = self.seconds_left()
        return text + "  " + ("time left: after epoch 1" if left is None else f"{duration(left)} left")


def duration(seconds: float) -> str:
    """``"1h05m"``, ``"12m30s"``, ``"45s"``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class LiveLines:
    """Permanent lines above a block of status lines that is redrawn in place (on a terminal).

    Not on a terminal, :meth:`show` prints the lines that changed, at most once
    every ``every`` seconds, so a log gets a plain line now and then.
    """

    def __init__(self, stream: TextIO = sys.stdout, every: float = 60.0, tty: bool | None = None) -> None:
        self.stream, self.every = stream, every
        self.tty = stream.isatty() if tty is None else tty
        self._drawn = 0                      # lines of the block now on screen
        self._block: list[str] = []
        self._printed: dict[str, str] = {}   # not a terminal: what each line said when last printed
        self._last_print = time.monotonic()

    def say(self, text: str) -> None:
        """A line that stays (started, done, ...)."""
        self._erase()
        print(text, file=self.stream, flush=True)
        self._draw()

    def show(self, lines: list[str]) -> None:
        """The status lines, one per running experiment, each starting with its name."""
        self._block = lines
        if self.tty:
            self._erase()
            self._draw()
            return
        if time.monotonic() - self._last_print < self.every:
            return
        self._last_print = time.monotonic()
        for line in lines:
            key = line.split(" ", 1)[0]
            if self._printed.get(key) != line:
                print(f"  {line}", file=self.stream, flush=True)
                self._printed[key] = line

    def close(self) -> None:
        self._erase()
        self._block = []

    def _erase(self) -> None:
        if self.tty and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")  # up to the block's first line, clear to the end
            self._drawn = 0

    def _draw(self) -> None:
        if self.tty and self._block:
            width = shutil.get_terminal_size().columns - 1  # a wrapped line would break the redraw
            self.stream.write("".join(f"  {line}"[:width] + "\n" for line in self._block))
            self.stream.flush()
            self._drawn = len(self._block)
