"""A dependency-free progress bar in the spirit of tqdm.

Long loops (an epoch, a download) should say how far they are and how long
they will take.  On a terminal the bar redraws itself in place with ``\\r``,
at most about ten times a second so that drawing never costs more than the
work it reports on.  When the output is a file or a pipe (a log, a CI job)
``\\r`` would leave garbage, so the bar prints only an occasional line and a
final one.

    for batch in (bar := progress(loader, desc="epoch 1")):
        loss = step(batch)
        bar.set_postfix(f"loss={loss:.3f}")

    with ProgressBar(total=size, desc="download", unit="B", unit_scale=True) as bar:
        bar.update(len(chunk))
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import IO, Any, Iterable, Iterator

_BAR_WIDTH = 20


def format_interval(seconds: float) -> str:
    """``mm:ss`` or ``h:mm:ss``, the way a clock would show it."""
    seconds = int(max(seconds, 0))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_count(value: float, unit_scale: bool) -> str:
    """A count, shortened with SI suffixes (1.5M) when ``unit_scale`` is on."""
    if not unit_scale:
        return f"{value:g}" if isinstance(value, float) and not value.is_integer() else f"{int(value)}"
    for suffix in ("", "k", "M", "G", "T"):
        if abs(value) < 999.5:
            return f"{value:.0f}{suffix}" if suffix == "" else f"{value:.1f}{suffix}"
        value /= 1000.0
    return f"{value:.1f}P"


def format_meter(
    n: float,
    total: float | None,
    elapsed: float,
    desc: str = "",
    unit: str = "it",
    postfix: str = "",
    unit_scale: bool = False,
) -> str:
    """One status line, e.g. ``train:  45%|#########           | 450/1000 [00:05<00:06, 90.0it/s, loss=0.3]``.

    A pure function of its arguments, so the format can be tested without a clock.
    """
    prefix = f"{desc}: " if desc else ""
    rate = n / elapsed if elapsed > 0 else None
    rate_text = f"{format_count(rate, True) if unit_scale else f'{rate:.2f}'}{unit}/s" if rate else f"?{unit}/s"
    count = format_count(n, unit_scale)
    if total is not None:
        frac = 1.0 if total <= 0 else min(max(n / total, 0.0), 1.0)
        filled = int(frac * _BAR_WIDTH)
        bar = "#" * filled + " " * (_BAR_WIDTH - filled)
        eta = format_interval((total - n) / rate) if rate and total >= n else "?"
        head = f"{prefix}{frac * 100:3.0f}%|{bar}| {count}/{format_count(total, unit_scale)}"
        times = f"{format_interval(elapsed)}<{eta}"
    else:
        head = f"{prefix}{count}{unit}"
        times = format_interval(elapsed)
    tail = f", {postfix}" if postfix else ""
    return f"{head} [{times}, {rate_text}{tail}]"


class ProgressBar:
    """Counts work done and shows it; use as a context manager or call :meth:`close`.

    ``file`` defaults to ``sys.stderr`` looked up at construction time (so test
    capture and redirection work).  ``min_interval`` bounds the redraw rate on a
    terminal; ``log_interval`` is the spacing of lines when the output is not one.
    """

    def __init__(
        self,
        total: float | None = None,
        desc: str = "",
        unit: str = "it",
        file: IO[str] | None = None,
        disable: bool = False,
        unit_scale: bool = False,
        min_interval: float = 0.1,
        log_interval: float = 30.0,
        iterable: Iterable[Any] | None = None,
    ) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total
        self.desc = desc
        self.unit = unit
        self.unit_scale = unit_scale
        self.file = sys.stderr if file is None else file
        self.disable = disable
        self.min_interval = min_interval
        self.log_interval = log_interval
        self.iterable = iterable
        self.n = 0
        self.postfix = ""
        self.closed = False
        try:
            self._tty = bool(self.file.isatty())
        except (AttributeError, ValueError):
            self._tty = False
        self._start = time.monotonic()
        # A terminal shows the bar at once; a log gets its first line only after
        # log_interval, so that short loops leave just the final line.
        self._last_draw = self._start
        self._last_len = 0
        if self._tty and not disable:
            self._draw(self._start)

    # -------------------------------------------------------------- counting
    def update(self, n: float = 1) -> None:
        """Record ``n`` more units of work done; redraw if it is time to."""
        self.n += n
        if self.disable or self.closed:
            return
        now = time.monotonic()
        interval = self.min_interval if self._tty else self.log_interval
        if now - self._last_draw >= interval:
            self._draw(now)

    def set_postfix(self, text: str = "", **values: Any) -> None:
        """Extra text after the rate, e.g. ``set_postfix("loss=0.31")`` or ``set_postfix(loss=0.31)``."""
        parts = [text] if text else []
        parts += [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()]
        self.postfix = ", ".join(parts)

    def write(self, text: str) -> None:
        """Print a line of text without tearing the bar apart (the bar is redrawn below it)."""
        if self.disable:
            return
        if self._tty and self._last_len:
            self.file.write("\r" + " " * self._last_len + "\r")
        self.file.write(text + "\n")
        if self._tty and not self.closed:
            self._draw(time.monotonic())
        self.file.flush()

    def close(self) -> None:
        """Draw the final state and end the line; later calls do nothing."""
        if self.closed:
            return
        self.closed = True
        if self.disable:
            return
        self._draw(time.monotonic())
        if self._tty:
            self.file.write("\n")
        self.file.flush()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    # ------------------------------------------------------------- protocols
    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("ProgressBar is iterable only when it wraps an iterable (use progress())")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("this progress bar has no total")
        return int(self.total)

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --------------------------------------------------------------- drawing
    def _draw(self, now: float) -> None:
        self._last_draw = now
        line = format_meter(self.n, self.total, now - self._start, self.desc, self.unit,
                            self.postfix, self.unit_scale)
        if self._tty:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            line = line[:width]
            pad = " " * max(self._last_len - len(line), 0)  # wipe what a longer line left behind
            self.file.write("\r" + line + pad)
            self._last_len = len(line)
        else:
            self.file.write(line + "\n")
        self.file.flush()


def progress(
    iterable: Iterable[Any],
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    file: IO[str] | None = None,
    disable: bool = False,
    **kwargs: Any,
) -> ProgressBar:
    """Wrap ``iterable`` so that iterating it shows progress (``total`` defaults to ``len``).

    Returns the :class:`ProgressBar` itself, so the loop body can call
    ``set_postfix``; the bar closes when the iteration ends or is abandoned.
    """
    return ProgressBar(total=total, desc=desc, unit=unit, file=file, disable=disable,
                       iterable=iterable, **kwargs)
