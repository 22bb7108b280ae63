"""PyTorch trained with an hw5 experiment's exact recipe: same data, same batch order, same initial weights.

    python -m benchmarks.torch_recipe fig1f --out /tmp/fig1f-torch.jsonl           # 50 epochs, 1 thread
    python -m benchmarks.torch_recipe fig1d --epochs 2 --set train_size=5000 --threads 2

The batches come from minitorch's own ``DataLoader`` over hw5's datasets (so the
shuffling and the random flips are exactly a minitorch run's), converted to
torch tensors; the network is PyTorch's twin of hw5's, loaded from the minitorch
model's initial ``state_dict``.  What differs from ``python -m hw5 run NAME`` is
then only the framework's arithmetic, which makes this the reference for two
questions: is a result of the report minitorch's or the recipe's (fig1f's gap to
the published numbers), and how long does PyTorch take for the same epochs.

Each epoch prints and appends one JSON line with the fields of hw5's epoch
records (train loss in training mode, train/test accuracy and loss in eval mode,
seconds).  Needs PyTorch.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import minitorch as mt
from benchmarks.models import build_layers
from hw5.data import load_data
from hw5.experiments import get_experiment, parse_assignment, with_overrides
from hw5.models import build_model


def torch_twin(config: Any) -> Any:
    """PyTorch's copy of the hw5 network, with the minitorch model's initial weights and buffers."""
    import torch
    import torch.nn as tnn

    mt.manual_seed(config.seed)  # as hw5.train.Run does before building the model
    ours = build_model(config.model, config.activation)
    net = config.model if config.model != "boringnet" or config.activation else "boringnet"
    layers = build_layers(tnn, net)
    if config.model == "boringnet" and not config.activation:
        layers = [layer for layer in layers if not isinstance(layer, tnn.ReLU)]
    twin = tnn.Sequential(*layers)
    mine, theirs = list(ours.state_dict().values()), list(twin.state_dict().items())
    if len(mine) != len(theirs):
        raise RuntimeError(f"{config.model}: {len(mine)} tensors in minitorch's state, {len(theirs)} in PyTorch's")
    state = {}
    for value, (key, like) in zip(mine, theirs, strict=True):
        array = np.array(value.numpy(), copy=True)
        if tuple(array.shape) != tuple(like.shape):
            raise RuntimeError(f"{key}: shape {array.shape} in minitorch, {tuple(like.shape)} in PyTorch")
        state[key] = torch.from_numpy(array).to(like.dtype)
    twin.load_state_dict(state)
    return twin


def evaluate(model: Any, loader: Any, loss_fn: Any) -> tuple[float, float]:
    """(mean loss, accuracy) over a whole split in eval mode."""
    import torch

    model.eval()
    total, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in loader:
            x, y = torch.from_numpy(images.numpy()), torch.from_numpy(labels.numpy())
            out = model(x)
            total += float(loss_fn(out, y)) * len(y)
            correct += int((out.argmax(1) == y).sum())
            seen += len(y)
    model.train()
    return total / seen, correct / seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="an hw5 experiment (fig1d, fig1f-seed1, ...)")
    parser.add_argument("--epochs", type=int, help="default: the experiment's")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as hw5's --set")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--out", help="append each epoch's record to this JSON-lines file")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    overrides = dict(parse_assignment(text) for text in args.set)
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    config = with_overrides(get_experiment(args.name), {"dataset": "cifar10", **overrides})
    data = load_data(config)
    model = torch_twin(config)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, config.lr_step, config.lr_gamma) if config.lr_step else None
    def mse_on_one_hot(out: Any, y: Any) -> Any:
        return F.mse_loss(out, F.one_hot(y, out.shape[1]).to(out.dtype))

    loss_fn: Callable[[Any, Any], Any] = mse_on_one_hot if config.loss == "mse" else F.cross_entropy
    loader = mt.data.DataLoader(data.train, config.batch_size, shuffle=True, seed=config.seed)
    evals = {split: mt.data.DataLoader(dataset, config.eval_batch_size)
             for split, dataset in (("train", data.train_eval), ("test", data.test))}
    model.train()
    for epoch in range(1, config.epochs + 1):
        start, total, steps = time.perf_counter(), 0.0, 0
        lr = optimizer.param_groups[0]["lr"]
        for images, labels in loader:
            loss = loss_fn(model(torch.from_numpy(images.numpy())), torch.from_numpy(labels.numpy()))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, steps = total + loss.item(), steps + 1
        train_time = time.perf_counter() - start
        train_eval_loss, train_acc = evaluate(model, evals["train"], loss_fn)
        test_loss, test_acc = evaluate(model, evals["test"], loss_fn)
        if scheduler is not None:
            scheduler.step()
        record = {"type": "epoch", "framework": "torch", "torch": torch.__version__, "name": config.name,
                  "epoch": epoch, "train_loss": total / steps, "train_acc": train_acc,
                  "train_eval_loss": train_eval_loss, "test_loss": test_loss, "test_acc": test_acc, "lr": lr,
                  "time": time.perf_counter() - start, "train_time": train_time, "threads": args.threads}
        print(json.dumps(record), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")
        if not math.isfinite(total):
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
