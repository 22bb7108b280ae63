"""The training loop: SGD on mini-batches, evaluation after every epoch, a checkpoint after every epoch.

A run can stop three ways besides finishing, and each leaves a usable state:

* interrupted (Ctrl-C): the checkpoint of the last finished epoch stays;
  ``--resume`` restores the model, optimizer, scheduler and every random
  generator, so the resumed run ends with exactly the numbers of an
  uninterrupted one;
* diverged (the loss became NaN or infinite, as it does at learning rate 10):
  the epoch is recorded with ``"diverged": true`` and the run ends;
* killed outright: the last checkpoint and every complete line of
  ``metrics.jsonl`` survive, since both are written whole or not at all.
"""
from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import minitorch as mt
import minitorch.nn.functional as F
from minitorch.utils.progress import progress

from hw5.data import Data, load_data
from hw5.experiments import Config
from hw5.models import build_model
from hw5.runfiles import RunFiles

LossFn = Callable[[mt.Tensor, mt.Tensor], mt.Tensor]


class CannotResume(RuntimeError):
    """The checkpoint does not fit this session (another dataset was found this time)."""


@dataclass
class RunResult:
    name: str
    status: str                 # finished | diverged | interrupted | already done
    epochs: int                 # epochs completed
    test_acc: float | None      # after the last completed epoch
    run_dir: str


@dataclass
class Position:
    """How far a run has come: everything besides the model that a checkpoint must restore."""

    epoch: int = 0              # epochs completed
    iteration: int = 0          # optimizer steps taken
    window_sum: float = 0.0     # the loss curve's current, unfinished window of `log_every` steps
    window_count: int = 0
    elapsed: float = 0.0        # seconds spent, summed over resumed sessions
    stopped: str = ""           # "diverged" once the run cannot go on


def make_loss(name: str) -> LossFn:
    """Cross-entropy on class indices, or MSE between raw outputs and one-hot targets."""
    if name == "cross_entropy":
        return F.cross_entropy
    if name == "mse":
        return lambda outputs, labels: F.mse_loss(outputs, F.one_hot(labels, outputs.shape[1]))
    raise ValueError(f"unknown loss {name!r}: expected cross_entropy or mse")


def evaluate(model: mt.nn.Module, loader: mt.data.DataLoader, loss_fn: LossFn,
             num_classes: int) -> dict[str, Any]:
    """Mean loss, accuracy and per-class accuracy over a whole dataset, in eval mode."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, np.zeros(num_classes)
    seen = np.zeros(num_classes)
    with mt.no_grad():
        for images, labels in loader:
            outputs = model(images)
            total_loss += loss_fn(outputs, labels).item() * len(labels)
            truth = labels.numpy()
            hits = outputs.argmax(axis=1).numpy() == truth
            seen += np.bincount(truth, minlength=num_classes)
            correct += np.bincount(truth, weights=hits, minlength=num_classes)
    model.train(was_training)
    n = seen.sum()
    per_class = np.divide(correct, seen, out=np.full(num_classes, math.nan), where=seen > 0)
    return {"loss": total_loss / n, "accuracy": float(correct.sum() / n), "per_class": per_class.tolist()}


class Run:
    """One experiment's model, optimizer, data and files, trained epoch by epoch."""

    def __init__(self, config: Config, runs_dir: str, data: Data | None = None, quiet: bool = False) -> None:
        self.config = config
        self.files = RunFiles(runs_dir, config.name)
        self.quiet = quiet
        self.data = data if data is not None else load_data(config)
        mt.manual_seed(config.seed)  # the initial weights
        self.model = build_model(config.model, config.activation).to(config.device)
        self.optimizer = mt.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum)
        self.scheduler = (mt.optim.lr_scheduler.StepLR(self.optimizer, config.lr_step, config.lr_gamma)
                          if config.lr_step else None)
        self.loss_fn = make_loss(config.loss)
        self.loader = mt.data.DataLoader(self.data.train, config.batch_size, shuffle=True,
                                         seed=config.seed, device=config.device)
        self.eval_loaders = {
            split: mt.data.DataLoader(dataset, config.eval_batch_size, device=config.device)
            for split, dataset in (("train", self.data.train_eval), ("test", self.data.test))
        }
        self.position = Position()

    # -------------------------------------------------------- checkpoints
    def save_checkpoint(self) -> None:
        p = self.position
        mt.save({
            "epoch": p.epoch, "iteration": p.iteration, "window_sum": p.window_sum,
            "window_count": p.window_count, "elapsed": p.elapsed, "stopped": p.stopped,
            "dataset": self.data.name,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "rng": mt.random.get_rng_state(),
            "loader": self.loader.state_dict(),  # shuffle order and random transforms
        }, self.files.checkpoint)

    def load_checkpoint(self) -> None:
        state = mt.load(self.files.checkpoint, map_location="cpu")  # load_state_dict moves it where it belongs
        if state["dataset"] != self.data.name:
            raise CannotResume(f"{self.config.name}: the checkpoint was trained on {state['dataset']}, "
                               f"but this session loaded {self.data.name}; resume with --dataset {state['dataset']}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        mt.random.set_rng_state(state["rng"])
        self.loader.load_state_dict(state["loader"])
        self.position = Position(state["epoch"], state["iteration"], state["window_sum"],
                                 state["window_count"], state["elapsed"], state["stopped"])

    # ------------------------------------------------------------ training
    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def train_epoch(self, epoch: int) -> tuple[float, bool]:
        """One pass over the training set; returns (mean batch loss, diverged)."""
        config, p = self.config, self.position
        total, steps = 0.0, 0
        bar = progress(self.loader, desc=f"{config.name} {epoch}/{config.epochs}", disable=self.quiet)
        for images, labels in bar:
            loss = self.loss_fn(self.model(images), labels)
            value = loss.item()
            total, steps = total + value, steps + 1
            if not math.isfinite(value):
                bar.close()
                return total / steps, True
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            p.iteration += 1
            p.window_sum += value
            p.window_count += 1
            if p.window_count == config.log_every:
                self.files.append({"type": "iteration", "epoch": epoch, "iteration": p.iteration,
                                   "loss": p.window_sum / p.window_count, "lr": self.lr})
                p.window_sum, p.window_count = 0.0, 0
            if steps % 10 == 0:
                bar.set_postfix(loss=total / steps)
        return total / max(steps, 1), False

    def run_epoch(self, epoch: int) -> dict[str, Any]:
        start = time.perf_counter()
        lr = self.lr
        num_classes = len(self.data.classes)
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported below
            train_loss, diverged = self.train_epoch(epoch)
            train_time = time.perf_counter() - start
            on_train = evaluate(self.model, self.eval_loaders["train"], self.loss_fn, num_classes)
            on_test = evaluate(self.model, self.eval_loaders["test"], self.loss_fn, num_classes)
        diverged = diverged or not math.isfinite(on_test["loss"])
        if self.scheduler is not None:
            self.scheduler.step()
        seconds = time.perf_counter() - start
        self.position.elapsed += seconds
        return {
            "type": "epoch", "epoch": epoch, "iteration": self.position.iteration,
            "train_loss": train_loss, "train_acc": on_train["accuracy"], "train_eval_loss": on_train["loss"],
            "test_loss": on_test["loss"], "test_acc": on_test["accuracy"],
            "class_acc": dict(zip(self.data.classes, on_test["per_class"])),
            "lr": lr, "time": seconds, "train_time": train_time, "elapsed": self.position.elapsed,
            "diverged": diverged,
        }

    def describe_data(self) -> dict[str, Any]:
        d = self.data
        return {"name": d.name, "fallback_reason": d.fallback_reason, "train_images": len(d.train),
                "test_images": len(d.test), "classes": d.classes}

    def start(self, resume: bool) -> None:
        """Restore the last checkpoint, or begin afresh (forgetting an earlier run of this name)."""
        if resume and self.files.exists() and os.path.isfile(self.files.checkpoint):
            self.load_checkpoint()
            self.files.truncate_to_epoch(self.position.epoch)
            self.say(f"{self.config.name}: resuming after epoch {self.position.epoch}")
        else:
            if resume:
                self.say(f"{self.config.name}: no checkpoint in {self.files.dir}, starting from scratch")
            self.files.start_fresh()
        self.files.write_config({**self.config.to_dict(), "data": self.describe_data()})

    def train(self, resume: bool = False) -> RunResult:
        config = self.config
        self.start(resume)
        p = self.position
        if p.stopped or p.epoch >= config.epochs:
            self.say(f"{config.name}: nothing to do ({p.stopped or 'finished'} after {p.epoch} epochs)")
            return self.result(p.stopped or "already done")
        saved = p.epoch
        try:
            for epoch in range(p.epoch + 1, config.epochs + 1):
                record = self.run_epoch(epoch)
                with _interrupts_deferred():  # the record and its checkpoint land together
                    self.files.append(record)
                    p.epoch = epoch
                    p.stopped = "diverged" if record["diverged"] else ""
                    self.save_checkpoint()
                    saved = epoch
                self.say(_summary(config, record))
                if p.stopped:
                    self.say(f"{config.name}: the loss became NaN or infinite in epoch {epoch} (learning rate "
                             f"{record['lr']:g}); stopping. The epoch is recorded as diverged in "
                             f"{self.files.path('metrics.jsonl')}.")
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

    def result(self, status: str) -> RunResult:
        epochs = [r for r in self.files.records() if r.get("type") == "epoch"]
        test_acc = epochs[-1]["test_acc"] if epochs else None
        return RunResult(self.config.name, status, self.position.epoch, test_acc, self.files.dir)

    def say(self, text: str, always: bool = False) -> None:
        if always or not self.quiet:
            print(text, flush=True)


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


def _summary(config: Config, r: dict[str, Any]) -> str:
    def pct(x: Any) -> str:
        return "  nan" if x is None or not math.isfinite(x) else f"{100 * x:5.1f}%"
    return (f"{config.name} epoch {r['epoch']:>3}/{config.epochs}: loss {r['train_loss']:.4f}  "
            f"train {pct(r['train_acc'])}  test {pct(r['test_acc'])}  test loss {r['test_loss']:.4f}  "
            f"lr {r['lr']:g}  {r['time']:.1f}s")


def train(config: Config, runs_dir: str = "runs", resume: bool = False, data: Data | None = None,
          quiet: bool = False) -> RunResult:
    """Train ``config`` into ``runs_dir/<name>``; see the module docstring for how a run can end."""
    return Run(config, runs_dir, data, quiet).train(resume)
