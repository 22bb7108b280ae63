"""One whole training epoch as hw5 runs it, and PyTorch's same loop: the ``epoch/`` rows.

An epoch is what a report run repeats: a shuffled pass over the training images at
batch 4 (fig1d: CoolNet, SGD at learning rate 0.01, no momentum) and then the
per-epoch evaluation, accuracy on the 50,000 training and 10,000 test images at
batch 1000.  Everything an epoch does counts here (data pipeline, ``.item()`` per
step, logging), unlike the step rows.

* minitorch: ``python -m hw5 run fig1d --epochs 1`` in a fresh process, into a
  temporary runs folder; its epoch record in ``metrics.jsonl`` has the epoch's
  ``time`` and ``train_time`` (evaluation = the difference);
* PyTorch: ``python -m benchmarks.epochs torch`` in a fresh process: the same
  images preloaded as normalised tensors (hw5's own datasets, read by
  ``hw5.data.load_data``), a CoolNet twin, ``torch.randperm`` order, the same
  step, ``.item()`` per step as hw5 takes it, then the evaluation in batches of
  1000 under ``no_grad``.  ``--run NAME`` runs another hw5 experiment's epoch the
  same way (its network, batch size, loss and flips), as ``benchmarks.whole_report``
  projects PyTorch's whole report.

Each process gets one thread (BLAS, OpenMP, numba, ``torch.set_num_threads``), as a
``--jobs 2`` sweep gives each of its runs.  "Two at a time" starts two processes of
the same framework side by side and reports each one's own epoch time.

``train_size``/``test_size`` shorten the epoch (``--set train_size=N`` for hw5); the
times are then scaled to the full epoch, training by 50,000 / N and evaluation by
60,000 / (N + test images), and the row says so.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TRAIN_IMAGES, TEST_IMAGES = 50_000, 10_000
RUN = "fig1d"


def epoch_environment(base: dict[str, str], repo: Path) -> dict[str, str]:
    """``base`` with one thread for every pool, and the repository importable."""
    env = dict(base)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[name] = "1"
    env["PYTHONPATH"] = str(repo) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _sizes(train_size: int | None, test_size: int | None) -> list[str]:
    out = []
    if train_size:
        out += ["--set", f"train_size={train_size}"]
    if test_size:
        out += ["--set", f"test_size={test_size}"]
    return out


def minitorch_command(runs_dir: str, train_size: int | None, test_size: int | None, run: str = RUN) -> list[str]:
    return [sys.executable, "-m", "hw5", "run", run, "--epochs", "1", "--runs-dir", runs_dir, "--quiet",
            "--overwrite", *_sizes(train_size, test_size)]


def torch_command(train_size: int | None, test_size: int | None, run: str = RUN) -> list[str]:
    cmd = [sys.executable, "-m", "benchmarks.epochs", "torch"] + (["--run", run] if run != RUN else [])
    if train_size:
        cmd += ["--train-size", str(train_size)]
    if test_size:
        cmd += ["--test-size", str(test_size)]
    return cmd


def read_hw5_epoch(runs_dir: str, run: str = RUN) -> dict[str, Any]:
    """The epoch record and dataset of the run that :func:`minitorch_command` wrote (read by hw5's own
    :class:`~hw5.runfiles.RunFiles`)."""
    from hw5.runfiles import RunFiles

    files = RunFiles(runs_dir, run)
    epoch = files.epochs()[0]
    data = files.read_config()["data"]
    return {"time_s": epoch["time"], "train_s": epoch["train_time"], "eval_s": epoch["time"] - epoch["train_time"],
            "dataset": data["name"], "train_images": data["train_images"], "test_images": data["test_images"]}


def scaled(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with ``epoch_s``: the time of a whole epoch (50,000 + 60,000 images), scaled from a shorter one."""
    train_images, eval_images = result["train_images"], result["train_images"] + result["test_images"]
    train = result["train_s"] * TRAIN_IMAGES / train_images
    evaluation = result["eval_s"] * (TRAIN_IMAGES + TEST_IMAGES) / eval_images
    return {**result, "full_train_s": train, "full_eval_s": evaluation, "epoch_s": train + evaluation,
            "scaled": train_images != TRAIN_IMAGES or result["test_images"] != TEST_IMAGES}


def side_by_side(framework: str, copies: int, env: dict[str, str], repo: Path, train_size: int | None,
                 test_size: int | None, timeout: float = 900, run: str = RUN) -> list[dict[str, Any]]:
    """``copies`` epochs of ``framework`` (hw5's ``run``) started together, each in its own process; each one's
    scaled result."""
    with tempfile.TemporaryDirectory(prefix="minitorch-epoch-") as tmp:
        procs = []
        for i in range(copies):
            runs_dir = os.path.join(tmp, f"runs{i}")
            cmd = (minitorch_command(runs_dir, train_size, test_size, run) if framework == "minitorch"
                   else torch_command(train_size, test_size, run))
            procs.append((runs_dir, cmd, subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE,
                                                          stderr=subprocess.PIPE, text=True)))
        results = []
        for runs_dir, cmd, proc in procs:
            out, err = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
            raw = (read_hw5_epoch(runs_dir, run) if framework == "minitorch"
                   else json.loads(out.strip().splitlines()[-1]))
            results.append(scaled(raw))
        return results


# ------------------------------------------------------------------ PyTorch's epoch (run in its own process)
def torch_epoch(train_size: int | None, test_size: int | None, seed: int = 0, run: str = RUN) -> dict[str, Any]:
    """hw5's ``run`` (fig1d by default) for one epoch in PyTorch over preloaded tensors: its network, batch
    size, learning rate and momentum, loss (MSE on one-hot targets too) and random flips (one draw per image, as
    hw5's transform); its times and the dataset, as :func:`read_hw5_epoch`."""
    import numpy as np
    import torch
    import torch.nn as tnn
    import torch.nn.functional as F

    from benchmarks.models import build_layers
    from hw5.data import load_data
    from hw5.experiments import get_experiment, with_overrides

    torch.set_num_threads(1)
    config = with_overrides(get_experiment(run), {"train_size": train_size, "test_size": test_size})
    data = load_data(config)

    def preload(dataset: Any) -> tuple[Any, Any]:
        x, y = dataset.get_batch(np.arange(len(dataset)))
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.asarray(y, dtype=np.int64))

    def loss_of(outputs: Any, labels: Any, reduction: str = "mean") -> Any:
        if config.loss == "mse":
            return F.mse_loss(outputs, F.one_hot(labels, outputs.shape[1]).float(), reduction=reduction)
        return F.cross_entropy(outputs, labels, reduction=reduction)

    train_x, train_y = preload(data.train_eval)   # the training images as evaluated; flips are drawn per batch
    test_x, test_y = preload(data.test)
    torch.manual_seed(seed)
    layers = build_layers(tnn, config.model)
    if not config.activation:
        layers = [layer for layer in layers if not isinstance(layer, tnn.ReLU)]
    model = tnn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    batch, n = config.batch_size, len(train_y)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))

    start = time.perf_counter()
    model.train()
    total = 0.0
    for i in range(0, n, batch):
        idx = order[i:i + batch]
        images = train_x[idx]
        if config.flip:
            flip = torch.rand(len(idx)) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(3), images)
        loss = loss_of(model(images), train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    train_s = time.perf_counter() - start
    model.eval()
    accuracy = {}
    with torch.no_grad():
        for split, (xs, ys) in (("train", (train_x, train_y)), ("test", (test_x, test_y))):
            loss_sum, correct = 0.0, 0
            for i in range(0, len(ys), config.eval_batch_size):
                out = model(xs[i:i + config.eval_batch_size])
                labels = ys[i:i + config.eval_batch_size]
                loss_sum += loss_of(out, labels, reduction="sum").item()
                correct += int((out.argmax(1) == labels).sum())
            accuracy[split] = correct / len(ys)
    seconds = time.perf_counter() - start
    return {"time_s": seconds, "train_s": train_s, "eval_s": seconds - train_s, "dataset": data.name,
            "train_images": n, "test_images": len(test_y), "train_loss": total / -(-n // batch),
            "accuracy": accuracy}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.epochs", description=__doc__.split("\n\n")[0])
    p.add_argument("framework", choices=["torch"])
    p.add_argument("--run", default=RUN, help=f"the hw5 experiment whose epoch to run (default: {RUN})")
    p.add_argument("--train-size", type=int, default=None)
    p.add_argument("--test-size", type=int, default=None)
    args = p.parse_args(argv)
    from minitorch.utils import keep_freed_memory

    keep_freed_memory()  # as hw5's training processes do (hw5.__main__): the same allocator for both
    print(json.dumps(torch_epoch(args.train_size, args.test_size, run=args.run)))


if __name__ == "__main__":
    main()
