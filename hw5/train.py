"""The training loop: SGD on mini-batches, evaluation after every epoch, a checkpoint after every epoch.

A run can stop three ways besides finishing, and each leaves a usable state:

* interrupted (Ctrl-C): the checkpoint of the last finished epoch stays;
  ``--resume`` restores the model, optimizer, scheduler and every random
  generator, so the resumed run ends with exactly the numbers of an
  uninterrupted one;
* diverged (the loss became NaN or infinite, as it does at learning rate 10):
  the epoch is recorded with ``"diverged": true`` and the run ends;
* killed outright: the last checkpoint and every complete line of
  ``metrics.jsonl`` survive, since both are written whole or not at all
  (the unfinished epoch's last loss points, written every couple of seconds,
  may be missing: a resume drops that epoch's lines anyway).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

import minitorch as mt
import minitorch.nn.functional as F
from hw5.checkpoint import Position, check_checkpoint
from hw5.data import Data, load_data
from hw5.epoch_batches import applies, epoch_batches, epoch_chunks
from hw5.experiments import Config, differing_fields
from hw5.models import build_model
from hw5.provenance import provenance
from hw5.runfiles import CURVES, METRICS, RunFiles, RunStateError
from minitorch.step_capture import training_step

LossFn = Callable[[mt.Tensor, mt.Tensor], mt.Tensor]


class CannotResume(RunStateError):
    """The checkpoint does not fit this session (another dataset was found this time)."""


@dataclass
class RunResult:
    name: str
    status: str                 # finished | diverged | interrupted | already done
    epochs: int                 # epochs completed
    test_acc: float | None      # after the last completed epoch
    run_dir: str


# curves.png is redrawn after an epoch when at least this many seconds passed since the last drawing
# (every epoch of a real run; tiny test runs are not slowed down by matplotlib), and always at the end.
REDRAW_SECONDS = 10.0

# The iteration records of an epoch are written at least this often (and when it ends): `watch` follows them.
FLUSH_SECONDS = 2.0


def progress(iterable: Iterable[Any] | None = None, desc: str = "", total: int | None = None,
             disable: bool = False) -> tqdm:
    """A tqdm bar on stderr; on a log file or pipe (not a terminal) bars are left out."""
    return tqdm(iterable, desc=desc, total=total, disable=True if disable else None, dynamic_ncols=True,
                leave=False, file=sys.stderr)


def make_loss(name: str) -> LossFn:
    """Cross-entropy on class indices, or MSE between raw outputs and one-hot targets."""
    if name == "cross_entropy":
        return F.cross_entropy
    if name == "mse":
        return lambda outputs, labels: F.mse_loss(outputs, F.one_hot(labels, outputs.shape[1]))
    raise ValueError(f"unknown loss {name!r}: expected cross_entropy or mse")


def evaluate(model: mt.nn.Module, loader: mt.data.DataLoader, loss_fn: LossFn,
             num_classes: int, bar: tqdm | None = None) -> dict[str, Any]:
    """Mean loss, accuracy and per-class accuracy over a whole dataset, in eval mode (``bar`` counts batches)."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, np.zeros(num_classes)
    seen = np.zeros(num_classes)
    batches = epoch_batches(loader) if applies(loader) else loader   # the same batches, made faster
    with mt.no_grad():
        for images, labels in batches:
            outputs = model(images)
            total_loss += loss_fn(outputs, labels).item() * len(labels)
            truth = labels.numpy()
            hits = outputs.argmax(axis=1).numpy() == truth
            seen += np.bincount(truth, minlength=num_classes)
            correct += np.bincount(truth, weights=hits, minlength=num_classes)
            if bar is not None:
                bar.update(1)
    model.train(was_training)
    n = seen.sum()
    per_class = np.divide(correct, seen, out=np.full(num_classes, math.nan), where=seen > 0)
    return {"loss": total_loss / n, "accuracy": float(correct.sum() / n), "per_class": per_class.tolist()}


class Run:
    """One experiment's model, optimizer, data and files, trained epoch by epoch."""

    def __init__(self, config: Config, runs_dir: str, data: Data | None = None, quiet: bool = False,
                 files: RunFiles | None = None) -> None:
        self.config = config
        self.files = files if files is not None else RunFiles(runs_dir, config.name)   # the locked one, if given
        self.quiet = quiet
        self.data = data if data is not None else load_data(config)
        self.last_drawn = -math.inf
        mt.manual_seed(config.seed)  # the initial weights
        self.model = build_model(config.model, config.activation).to(config.device)
        self.optimizer = mt.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum)
        self.scheduler = (mt.optim.lr_scheduler.StepLR(self.optimizer, config.lr_step, config.lr_gamma)
                          if config.lr_step else None)
        self.loss_fn = make_loss(config.loss)
        # forward, loss, backward and the SGD step, recorded once and replayed (unless capture is off); a step
        # the recorder cannot replay (MSE's one-hot targets are built in Python) runs eagerly, with a warning
        self.train_step = training_step(self.model, self.loss_fn, self.optimizer, capture=config.capture)
        self.loader = mt.data.DataLoader(self.data.train, config.batch_size, shuffle=True,
                                         seed=config.seed, device=config.device)
        self.eval_loaders = {
            split: mt.data.DataLoader(dataset, config.eval_batch_size, device=config.device)
            for split, dataset in (("train", self.data.train_eval), ("test", self.data.test))
        }
        self.position = Position()

    # -------------------------------------------------------- checkpoints
    def save_checkpoint(self) -> None:
        """Everything a resumed run needs, with the config and the metrics lines it goes with."""
        self.files.save_checkpoint({
            "config": self.config.to_dict(),
            "metrics": self.files.fingerprint(),
            "position": dataclasses.asdict(self.position),
            "dataset": self.data.name,
            "data_fingerprint": self.data.fingerprint,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "rng": mt.random.get_rng_state(),
            "loader": self.loader.state_dict(),  # shuffle order and random transforms
        })

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint that :func:`check_run_state` accepted."""
        if state["dataset"] != self.data.name:
            raise CannotResume(f"{self.config.name}: the checkpoint was trained on {state['dataset']}, "
                               f"but this session loaded {self.data.name}; start afresh with --overwrite")
        trained_on = state.get("data_fingerprint") or self.data.fingerprint   # older checkpoints have none
        if trained_on != self.data.fingerprint:
            raise CannotResume(f"{self.config.name}: the checkpoint was trained on other images than "
                               f"{self.data.source} holds (data fingerprint {trained_on[:16]} in the checkpoint, "
                               f"{self.data.fingerprint[:16]} there); point --data-dir at the data it was trained "
                               "on, or start afresh with --overwrite")
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None and state["scheduler"] is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            mt.random.set_rng_state(state["rng"])
            self.loader.load_state_dict(state["loader"])
            self.position = Position(**state["position"])
        except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise RunStateError(f"{self.files.checkpoint} does not fit this run's model and settings ({exc}); "
                                "start afresh with --overwrite") from None
        finished = self.files.epochs_after(state["metrics"]["lines"])
        dropped = self.files.trim_to(state["metrics"])
        if dropped:
            self.say(_dropped_note(self.config.name, dropped, self.position.epoch, finished), always=True)

    # ------------------------------------------------------------ training
    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def train_epoch(self, epoch: int) -> tuple[float, bool]:
        """One pass over the training set; returns (mean batch loss, diverged).

        A step of a small net takes well under a millisecond, so the loop does per step only what
        must be done per step: the step, its loss read back (it is refilled by the next step, and a
        NaN must end the epoch at once) and the sums behind the records, in the same order as ever
        (so the recorded numbers are those of a loop that writes every line at once).  The progress
        bar moves, and the iteration records are written, a chunk of batches at a time
        (:func:`hw5.epoch_batches.epoch_chunks`); the records at least every :data:`FLUSH_SECONDS`,
        and in any case before the epoch ends, however it ends.
        """
        config, p, step = self.config, self.position, self.train_step
        log_every, lr = config.log_every, self.lr
        total, steps = 0.0, 0
        iteration, window_sum, window_count = p.iteration, p.window_sum, p.window_count
        points: list[tuple[int, float]] = []   # (iteration, mean loss) of the records not yet written
        flushed = time.monotonic()
        chunks = epoch_chunks(self.loader) if applies(self.loader) else _one_by_one(self.loader)
        bar = progress(desc=f"{config.name} {epoch}/{config.epochs}", total=len(self.loader), disable=self.quiet)
        try:
            for chunk in chunks:
                for images, labels in chunk:
                    value = step(images, labels).item()   # a NaN or infinite loss stops before backward
                    total += value
                    steps += 1
                    if not math.isfinite(value):
                        return total / steps, True
                    iteration += 1
                    window_sum += value
                    window_count += 1
                    if window_count == log_every:
                        points.append((iteration, window_sum / window_count))
                        window_sum, window_count = 0.0, 0
                bar.update(len(chunk))
                bar.set_postfix(loss=total / steps, refresh=False)
                if points and time.monotonic() - flushed >= FLUSH_SECONDS:
                    self._write_points(epoch, lr, points)
                    flushed = time.monotonic()
            return total / max(steps, 1), False
        finally:
            p.iteration, p.window_sum, p.window_count = iteration, window_sum, window_count
            bar.close()
            self._write_points(epoch, lr, points)

    def _write_points(self, epoch: int, lr: float, points: list[tuple[int, float]]) -> None:
        """Append the saved-up iteration records (and forget them)."""
        self.files.append_all([{"type": "iteration", "epoch": epoch, "iteration": iteration, "loss": loss, "lr": lr}
                               for iteration, loss in points])
        points.clear()

    def run_epoch(self, epoch: int) -> dict[str, Any]:
        start = time.perf_counter()
        lr = self.lr
        num_classes = len(self.data.classes)
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
            train_loss, diverged = self.train_epoch(epoch)
            train_time = time.perf_counter() - start
            batches = sum(len(loader) for loader in self.eval_loaders.values())
            with progress(desc=f"{self.config.name} {epoch}/{self.config.epochs} evaluating", total=batches,
                          disable=self.quiet) as bar:
                on_train = evaluate(self.model, self.eval_loaders["train"], self.loss_fn, num_classes, bar)
                on_test = evaluate(self.model, self.eval_loaders["test"], self.loss_fn, num_classes, bar)
        diverged = diverged or not math.isfinite(on_test["loss"])
        if self.scheduler is not None:
            self.scheduler.step()
        seconds = time.perf_counter() - start
        self.position.elapsed += seconds
        return {
            "type": "epoch", "epoch": epoch, "iteration": self.position.iteration,
            "train_loss": train_loss, "train_acc": on_train["accuracy"], "train_eval_loss": on_train["loss"],
            "test_loss": on_test["loss"], "test_acc": on_test["accuracy"],
            "class_acc": dict(zip(self.data.classes, on_test["per_class"], strict=False)),
            "lr": lr, "time": seconds, "train_time": train_time, "elapsed": self.position.elapsed,
            "diverged": diverged,
        }

    def describe_data(self) -> dict[str, Any]:
        d = self.data
        return {"name": d.name, "source": d.source, "fallback_reason": d.fallback_reason,
                "train_images": len(d.train), "test_images": len(d.test), "classes": d.classes,
                "fingerprint": d.fingerprint}

    def draw_curves(self, force: bool = False) -> None:
        """Redraw curves.png (atomically), so that a long run can be watched."""
        if force or time.monotonic() - self.last_drawn >= REDRAW_SECONDS:
            with _interrupts_deferred():   # a Ctrl-C waits for the drawing (or matplotlib's first import)
                from hw5.plots import run_png  # matplotlib only for the commands that draw
                from hw5.results import load_run
                png = run_png(load_run(self.files))
                self.files.write_atomic(CURVES, lambda f: f.write(png))
            self.last_drawn = time.monotonic()

    def start(self, checkpoint: dict[str, Any] | None, resume: bool) -> None:
        """Restore the checked checkpoint, or begin afresh."""
        sessions: list[Any] = []
        if checkpoint is not None:
            self.restore(checkpoint)
            self.say(f"{self.config.name}: resuming after epoch {self.position.epoch}")
            sessions = _earlier_sessions(self.files)
        else:
            cut_short = self.files.line_count() if resume else 0   # epoch 1's, at most (check_not_clobbering)
            if cut_short:
                self.say(f"{self.config.name}: dropped {cut_short} line(s) of {METRICS} of epoch 1, which was cut "
                         "short before its checkpoint was saved; starting again from epoch 1", always=True)
            elif resume:
                self.say(f"{self.config.name}: nothing to resume in {self.files.dir}, starting from scratch")
            self.files.start_fresh(keep_log=resume)
        sessions.append({"from_epoch": self.position.epoch + 1, **provenance(self.config.capture)})
        self.files.write_config({**self.config.to_dict(), "data": self.describe_data(), "provenance": sessions})
        d = self.data
        self.say(f"{self.config.name}: {d.name} data from {d.source} ({len(d.train)} training, {len(d.test)} test "
                 f"images); writing {self.files.dir}")

    def train(self, checkpoint: dict[str, Any] | None = None, resume: bool = False) -> RunResult:
        """Train from ``checkpoint`` (None: from scratch) to the configured number of epochs."""
        config = self.config
        self.start(checkpoint, resume)
        p = self.position
        if p.stopped or p.epoch >= config.epochs:
            self.say(f"{config.name}: nothing to do ({p.stopped or 'finished'} after {p.epoch} epochs)")
            return self.result(p.stopped or "already done")
        saved = p.epoch
        try:
            for epoch in range(p.epoch + 1, config.epochs + 1):
                record = self.run_epoch(epoch)
                with _interrupts_deferred():  # the record and its checkpoint land together
                    self.commit(record)
                    saved = epoch
                self.say(_summary(config, record))
                self.draw_curves(force=epoch == config.epochs or bool(p.stopped))
                if p.stopped:
                    self.say(f"{config.name}: the loss became NaN or infinite in epoch {epoch} (learning rate "
                             f"{record['lr']:g}); stopping. The epoch is recorded as diverged in "
                             f"{self.files.path(METRICS)}.")
                    return self.result("diverged")
        except KeyboardInterrupt:
            runs_dir = os.path.dirname(self.files.dir)
            where = f" --runs-dir {runs_dir}" if os.path.normpath(runs_dir) != "runs" else ""
            kept = f"the checkpoint after epoch {saved} is kept" if saved else "no epoch had finished yet"
            self.say(f"\n{config.name}: interrupted during epoch {saved + 1}; {kept}. Continue with:\n"
                     f"    python -m hw5 run {config.name} --resume{where}", always=True)
            self.position.epoch = saved
            return self.result("interrupted")
        return self.result("finished")

    def commit(self, record: dict[str, Any]) -> None:
        """Append the epoch's record and save its checkpoint; if the checkpoint fails, take the record back."""
        p, size = self.position, self.files.size()
        before = (p.epoch, p.stopped)
        self.files.append(record)
        p.epoch, p.stopped = record["epoch"], "diverged" if record["diverged"] else ""
        try:
            self.save_checkpoint()
        except OSError as exc:
            self.files.cut_back_to(size)
            p.epoch, p.stopped = before
            raise RunStateError(f"could not save {self.files.checkpoint} ({exc.strerror or exc}); epoch "
                                f"{record['epoch']} is lost, the run is intact up to epoch {p.epoch}: free "
                                f"space, then `python -m hw5 run {self.config.name} --resume`") from None

    def result(self, status: str) -> RunResult:
        epochs = self.files.epochs()
        test_acc = epochs[-1]["test_acc"] if epochs else None
        return RunResult(self.config.name, status, self.position.epoch, test_acc, self.files.dir)

    def say(self, text: str, always: bool = False) -> None:
        """Print a line (unless quiet) and add it to train.log (unless stdout is train.log already)."""
        if always or not self.quiet:
            print(text, flush=True)
        self.files.log(text.lstrip("\n") + "\n")


@contextlib.contextmanager
def _interrupts_deferred():
    """Hold Ctrl-C until the block ends, so an epoch's metrics line and its checkpoint are written together.

    Without this, a Ctrl-C between the two writes would leave a recorded epoch with no checkpoint, and its
    training would be lost. Outside the main thread signals cannot be caught, and nothing is deferred.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[tuple[int, Any]] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending and callable(previous):
            previous(*pending[0])


def _one_by_one(loader: Iterable[Any]) -> Iterator[list[Any]]:
    """A loader's batches as chunks of one (a loader :func:`epoch_chunks` cannot reproduce)."""
    for batch in loader:
        yield [batch]


def _earlier_sessions(files: RunFiles) -> list[Any]:
    """The provenance entries of the sessions that trained a resumed run so far (none in runs older than them)."""
    earlier = files.read_config().get("provenance")
    return list(earlier) if isinstance(earlier, list) else []


def _dropped_note(name: str, dropped: int, epoch: int, finished: list[int]) -> str:
    """What a resume says of the ``dropped`` lines of metrics.jsonl written after the checkpoint of ``epoch``,
    among them the records of the ``finished`` epochs.

    Usually they are the loss points of the epoch a stop cut short.  Whole epochs among them mean the
    checkpoint is older than the records (one put back from an earlier epoch): those are trained again.
    """
    text = f"{name}: dropped {dropped} line(s) of {METRICS} written after the checkpoint of epoch {epoch}"
    if not finished:
        return text + " (the epoch that was cut short)"
    span = f"{finished[0]}" if len(finished) == 1 else f"{finished[0]}-{finished[-1]}"
    return (text + f", among them {len(finished)} finished epoch(s) ({span}): the checkpoint is older than the "
            "records (put back from an earlier epoch?), so those epochs are trained again")


def _summary(config: Config, r: dict[str, Any]) -> str:
    def pct(x: Any) -> str:
        return "  nan" if x is None or not math.isfinite(x) else f"{100 * x:5.1f}%"
    return (f"{config.name} epoch {r['epoch']:>3}/{config.epochs}: loss {r['train_loss']:.4f}  "
            f"train {pct(r['train_acc'])}  test {pct(r['test_acc'])}  test loss {r['test_loss']:.4f}  "
            f"lr {r['lr']:g}  {r['time']:.1f}s")


def check_run_state(files: RunFiles, config: Config, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    """The checkpoint to resume from (None: start afresh), once it is shown to belong with the run's files.

    Runs before any data is loaded, under the run's lock.  Refuses (RunStateError)
    rather than destroy records: a run over an earlier one needs ``overwrite``; a
    resume needs a checkpoint whose contents are whole (:func:`check_checkpoint`),
    whose config matches config.json and this command, and whose metrics lines
    are the start of metrics.jsonl.
    """
    files.remove_temporaries()
    if resume and files.has_checkpoint():
        path = files.checkpoint
        state = files.load_checkpoint()
        check_checkpoint(state, path, config)
        trained = state["config"]
        for what, other in (("config.json", files.read_config()), ("this command", config.to_dict())):
            changed = differing_fields(trained, other)
            if changed:
                raise RunStateError(
                    f"{path} was trained with {', '.join(f'{k}={trained.get(k)!r}' for k in changed)}, but "
                    f"{what} says {', '.join(f'{k}={other.get(k)!r}' for k in changed)}; restore the run's "
                    "own config.json, or start afresh with --overwrite")
        files.verify(state["metrics"])
        done = state["position"]["epoch"]
        if config.epochs < done:
            raise RunStateError(f"{files.dir} has run {done} epochs already, more than --epochs "
                                f"{config.epochs}: give --epochs {done} or more to continue it (or leave "
                                "--epochs out to keep its plan)")
        return state
    if not overwrite:
        check_not_clobbering(files, resume)
    return None


def check_not_clobbering(files: RunFiles, resume: bool) -> None:
    """Refuse (RunStateError) to start a run afresh over records an earlier one left.

    A resume with no checkpoint whose records are of the first epoch alone starts again
    from epoch 1: the run was stopped, killed or out of disk space before its first
    checkpoint was saved (an epoch's record is written just before its checkpoint), so
    what is lost is the epoch that was cut short, as a later one's would be.  More epochs
    without a checkpoint are a committed run's (checkpoints are not committed): refused.
    """
    if resume and files.has_checkpoint() or not files.has_records():
        return
    epochs = [record["epoch"] for record in files.epochs(torn_end=resume)]
    if resume and epochs in ([], [1]):
        return
    if resume:
        raise RunStateError(
            f"{files.dir} holds {len(epochs)} epoch(s) of records but no {os.path.basename(files.checkpoint)} "
            "(checkpoints are not committed), so it cannot be resumed; --overwrite starts it again, "
            "--runs-dir trains elsewhere")
    raise RunStateError(f"{files.dir} already holds a run ({len(epochs)} epoch(s) recorded); --resume continues "
                        "it, --overwrite discards it, --runs-dir trains elsewhere")


def train(config: Config, runs_dir: str = "runs", resume: bool = False, data: Data | None = None,
          quiet: bool = False, overwrite: bool = False) -> RunResult:
    """Train ``config`` into ``runs_dir/<name>``; see the module docstring for how a run can end."""
    files = RunFiles(runs_dir, config.name)
    with files.lock():
        checkpoint = check_run_state(files, config, resume, overwrite)
        if data is None and checkpoint is not None:   # `auto` resumes on the dataset it was trained on
            data = load_data(config, trained_on=checkpoint["dataset"])
        return Run(config, runs_dir, data, quiet, files=files).train(checkpoint, resume)
