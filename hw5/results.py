"""A finished (or unfinished) run read back from disk, as the plots and the report need it."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any

from hw5.experiments import EXPERIMENTS, PREFIX_OF, SAME_AS, Config, run_name, seeded_name, split_seed, validate
from hw5.runfiles import CONFIG, LOCK, RunFiles, RunStateError, find_runs, split_records


def as_float(value: Any) -> float:
    """Metrics store a non-finite number as null; plots want NaN there (matplotlib skips it)."""
    return math.nan if value is None else float(value)


def is_being_written(run_dir: str) -> bool:
    """Whether a live ``python -m hw5 run`` holds this run.

    The writer keeps its pid in ``.lock`` (see :meth:`RunFiles.lock`).  This only reads
    it, never takes the lock, so a report can never make a starting run fail.  A pid that
    a dead run left and another program now has is told apart by its command line where
    /proc exists.
    """
    try:
        with open(os.path.join(run_dir, LOCK)) as f:
            pid = int(f.read().strip())
        if pid == os.getpid():      # this process wrote the pid; whether it still holds the lock, the kernel knows
            return _locked_here(os.path.join(run_dir, LOCK))
        os.kill(pid, 0)
    except PermissionError:
        pass                                    # alive, another user's
    except (OSError, ValueError):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"hw5" in f.read()
    except OSError:
        return not os.path.isdir("/proc")


def _locked_here(path: str) -> bool:
    """Whether this process holds a ``flock`` on ``path``, read from /proc/locks (False where there is none).

    ``python -m hw5 quick`` reports on its own runs once their training has ended: the pid in ``.lock``
    is still this process's, but the lock is gone, and the runs are finished, not running.
    """
    try:
        inode = os.stat(path).st_ino
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 6978 fe:00:16039970 0 EOF" (a "->" marks a waiter, which holds nothing)
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[2] != "->" and fields[4] == str(os.getpid()):
            if fields[5].rsplit(":", 1)[-1] == str(inode):
                return True
    return False


@dataclass
class RunResults:
    name: str
    config: dict[str, Any]
    iterations: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""
    running: bool = False                       # a live process is still adding epochs
    source: str = ""                            # the run folder whose records these are ("fig3a" for fig1d)
    seeds: tuple[int, ...] = ()                 # set on a mean over seeds (:func:`seed_mean`): which ones

    @property
    def folder(self) -> str:
        """The name of the run folder the records come from."""
        return self.source or self.name

    @property
    def seed(self) -> int:
        return int(self.config.get("seed", 0))

    @property
    def is_prefix(self) -> bool:
        """Whether this is the start of a longer run (fig1d drawn from fig3a's first 50 epochs)."""
        return self.folder != self.name

    def prefix(self, name: str, config: dict[str, Any]) -> RunResults:
        """The first ``config["epochs"]`` epochs of this run, as the run ``name`` with ``config``: every record of
        those epochs, the iteration records included, and nothing after them."""
        epochs = int(config["epochs"])
        return replace(self, name=name, config=config, source=self.folder,
                       iterations=[r for r in self.iterations if r["epoch"] <= epochs],
                       epochs=[r for r in self.epochs if r["epoch"] <= epochs],
                       running=self.running and self.done < epochs)

    @property
    def title(self) -> str:
        return self.config.get("title") or self.name

    @property
    def dataset(self) -> str:
        return self.config.get("data", {}).get("name", self.config.get("dataset", "?"))

    @property
    def planned(self) -> int:
        return int(self.config.get("epochs", 0))

    @property
    def done(self) -> int:
        """Epochs run (the last epoch's number; a resumed run has no gaps)."""
        return int(self.epochs[-1]["epoch"]) if self.epochs else 0

    @property
    def diverged(self) -> bool:
        return any(r.get("diverged") for r in self.epochs)

    @property
    def complete(self) -> bool:
        """Every planned epoch ran, or the run stopped as diverged: nothing more will come."""
        return self.diverged or (self.done >= self.planned and not self.running)

    @property
    def status(self) -> str:
        if self.diverged:
            return f"diverged in epoch {self.done}"
        if self.done >= self.planned:
            return "finished"
        return f"{'running' if self.running else 'stopped'} after {self.done} of {self.planned} epochs"

    @property
    def progress(self) -> str:
        """What a panel's caption says about an incomplete run ("epoch 37/200, running"); "" when complete."""
        if self.diverged:
            return f"diverged in epoch {self.done}"
        if self.done >= self.planned:
            return ""
        return f"epoch {self.done}/{self.planned}, {'running' if self.running else 'stopped'}"

    def series(self, key: str) -> list[float]:
        return [as_float(r.get(key)) for r in self.epochs]

    def final(self, key: str) -> float:
        """The value of ``key`` after the last epoch run (NaN if none ran or it diverged)."""
        return as_float(self.epochs[-1].get(key)) if self.epochs else math.nan

    @property
    def last5(self) -> float:
        """The mean test accuracy of the last 5 planned epochs (of those run): what the claims compare."""
        return self.window_mean("test_acc", self.planned)

    @property
    def epoch_seconds(self) -> float:
        """The sum of the epochs' own "time": the compute the run took, however many sessions it had."""
        return sum(as_float(r.get("time")) for r in self.epochs)

    def window_mean(self, key: str, last: int, width: int = 5) -> float:
        """The mean of ``key`` over epochs ``last - width + 1 .. last``: one epoch's noise, averaged out."""
        values = [as_float(r.get(key)) for r in self.epochs if last - width < r["epoch"] <= last]
        return sum(values) / len(values) if values else math.nan

    def first_epoch_reaching(self, key: str, value: float) -> int | None:
        """The first epoch at which ``key`` is at least ``value`` (None if it never is)."""
        return next((r["epoch"] for r in self.epochs if as_float(r.get(key)) >= value), None)

    @property
    def final_test_acc(self) -> float:
        return self.final("test_acc")

    @property
    def best_test_acc(self) -> tuple[float, int]:
        """(accuracy, epoch) of the best test accuracy; NaN epochs are ignored."""
        pairs = zip(self.series("test_acc"), self.epochs, strict=True)
        scored = [(acc, r["epoch"]) for acc, r in pairs if math.isfinite(acc)]
        return max(scored, key=lambda t: t[0]) if scored else (math.nan, 0)

    @property
    def wall_time(self) -> float:
        """Seconds spent on the epochs run, summed over resumed sessions."""
        return as_float(self.epochs[-1].get("elapsed")) if self.epochs else 0.0

    @property
    def projected_time(self) -> float:
        """The wall time the whole run will have taken, at the pace of its epochs so far."""
        if self.complete or not self.done:
            return self.wall_time
        return self.wall_time / self.done * self.planned


def saved_config(files: RunFiles, saved: dict[str, Any] | None = None) -> Config:
    """A run's config.json (or ``saved``, its contents read already) as a Config, checked as a command line's
    settings are (:func:`hw5.experiments.validate`): a value no run could have had is a RunStateError naming the
    file, not a crash later on.  The name is the folder's, never a path read from the file."""
    saved = files.read_config() if saved is None else saved
    try:
        return validate(Config.from_dict({**saved, "name": files.name}))
    except (TypeError, ValueError) as exc:
        problem = str(exc).removeprefix(f"{files.name}: ")
        raise RunStateError(f"{files.path(CONFIG)}: {problem}; restore it, or start the run afresh with "
                            "--overwrite") from None


def _check_data(files: RunFiles, config: dict[str, Any]) -> None:
    """The ``data`` entry that training writes into config.json: an object whose name and reason are text."""
    data = config.get("data", {})
    wrong = "is not an object" if not isinstance(data, dict) else next(
        (f"has a {key} that is not text" for key in ("name", "fallback_reason")
         if not isinstance(data.get(key, ""), str)), None)
    if wrong:
        raise RunStateError(f"{files.path(CONFIG)}: 'data' {wrong} ({data!r:.60}); restore it, or start the run "
                            "afresh with --overwrite")


def load_run(files: RunFiles) -> RunResults:
    """A run as recorded; RunStateError (one line, naming the file) where its config or records are damaged."""
    config = files.read_config()
    saved_config(files, config)
    _check_data(files, config)
    iterations, epochs = split_records(files.records())
    return RunResults(files.name, config, iterations, epochs, files.dir, is_being_written(files.dir))


def load_runs(runs_dir: str) -> dict[str, RunResults]:
    """Every run folder under ``runs_dir``, by folder name, as recorded (no prefixes resolved: see :func:`views`)."""
    return {files.name: load_run(files) for files in find_runs(runs_dir)}


def panel_config(name: str, source: RunResults) -> dict[str, Any]:
    """The config of ``name`` (a panel's run, with seed) as the longer run ``source`` trained it: its own epoch
    count, schedule, name and captions, and everything else as recorded."""
    panel = EXPERIMENTS[split_seed(name)[0]]
    own = {k: getattr(panel, k) for k in ("title", "figure", "epochs", "lr_step", "lr_gamma")}
    return {**source.config, **own, "name": name}


def view(runs: dict[str, RunResults], name: str) -> RunResults | None:
    """The records the report shows for the run ``name`` (a panel with its seed: ``fig2c-seed1``).

    A panel that is another's run (fig2c = fig1d) is that run.  A panel that is the start of a longer
    one (fig1d = fig3a's first 50 epochs) is drawn from the longer run once it has those epochs, so one
    setting always shows one curve; before that from its own folder if there is one (``hw5 quick`` trains
    fig1d for 2 epochs), else from as far as the longer run has got.
    """
    own_name = run_name(name)
    panel, seed = split_seed(own_name)
    own = runs.get(own_name)
    longer = runs.get(seeded_name(PREFIX_OF[panel], seed)) if panel in PREFIX_OF else None
    if longer is None:
        return own
    prefix = longer.prefix(own_name, panel_config(own_name, longer))
    return prefix if prefix.done >= prefix.planned or prefix.diverged or own is None else own


def run_names(runs: dict[str, RunResults]) -> list[str]:
    """The panels' runs, every seed found: ``fig1a``, ``fig1d``, ``fig1d-seed1`` ... in registry, then seed order."""
    found: dict[str, set[int]] = {}
    for name in runs:
        try:
            panel, seed = split_seed(name)
        except KeyError:
            continue
        found.setdefault(panel, set()).add(seed)
    for short, long in PREFIX_OF.items():
        found.setdefault(short, set()).update(found.get(long, set()))
    order = [p for p in EXPERIMENTS if p not in SAME_AS]
    return [seeded_name(p, s) for p in order for s in sorted(found.get(p, ()))]


def views(runs: dict[str, RunResults]) -> dict[str, RunResults]:
    """What the report draws: every panel's run with every seed found, each as :func:`view` gives it."""
    out = {name: view(runs, name) for name in run_names(runs)}
    return {name: run for name, run in out.items() if run is not None}


def seeds_of(runs: dict[str, RunResults], panel: str) -> list[RunResults]:
    """The runs of ``panel`` (fig2c: fig1d's) with each seed found, as :func:`view` shows them.

    ``runs`` may be the folders as loaded or a :func:`views` result: a view of a view is the same view."""
    base = run_name(panel)
    out = [view(runs, name) for name in run_names(runs) if split_seed(name)[0] == base]
    return [run for run in out if run is not None]


MEAN_KEYS = ("train_loss", "train_acc", "train_eval_loss", "test_loss", "test_acc", "time")


def seed_mean(runs: list[RunResults]) -> RunResults:
    """Several seeds' runs of one panel read as one run: each epoch's numbers are the mean over the seeds.

    Only the epochs every seed has run are kept, so that a mean never mixes seeds in and out.  The
    result has the first run's name and config and ``seeds`` set; it works wherever a run does: its
    final value, last-5-epoch mean and series are the means of the seeds' (one seed: that run's numbers).
    """
    if not runs:
        raise ValueError("seed_mean needs at least one run")
    if len(runs) == 1:
        return replace(runs[0], seeds=(runs[0].seed,))
    common = min(run.done for run in runs)
    records = []
    by_epoch = [{r["epoch"]: r for r in run.epochs} for run in runs]
    for epoch in range(1, common + 1):
        rows = [records[epoch] for records in by_epoch]
        record: dict[str, Any] = {"type": "epoch", "epoch": epoch, "lr": rows[0].get("lr"),
                                  "diverged": any(r.get("diverged") for r in rows)}
        for key in MEAN_KEYS:
            values = [as_float(r.get(key)) for r in rows]
            record[key] = sum(values) / len(values)
        records.append(record)
    first = runs[0]
    return replace(first, epochs=records, iterations=[], running=any(r.running for r in runs),
                   seeds=tuple(r.seed for r in runs))



def counted(seeds: list[RunResults]) -> list[RunResults]:
    """The seeds a panel's numbers are the mean of: its complete runs, or all of them (so far) while none is."""
    return [run for run in seeds if run.complete] or seeds


def panel_mean(runs: dict[str, RunResults], panel: str) -> RunResults | None:
    """The panel's counted seeds as one run (:func:`seed_mean`); None if it has no run."""
    seeds = counted(seeds_of(runs, panel))
    return seed_mean(seeds) if seeds else None
