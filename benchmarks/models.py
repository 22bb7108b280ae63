"""The benchmark networks, built identically in minitorch and (when installed) PyTorch.

Each network is a flat ``Sequential``, so both frameworks name their parameters and
buffers the same way (``"0.weight"``, ``"1.running_mean"``, ...) and the PyTorch twin
is loaded from the minitorch ``state_dict``: same weights, same buffers.

PyTorch is imported lazily, inside the functions that need it, so this module (and
``benchmarks.run``) works without it.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

NETS = ("lazynet", "boringnet", "coolnet")
NET_TITLES = {"lazynet": "LazyNet", "boringnet": "BoringNet", "coolnet": "CoolNet"}


def build_layers(nn: Any, net: str) -> list:
    """Layer list of a network, written once against either framework's ``nn``."""
    if net == "lazynet":
        return [nn.Flatten(), nn.Linear(3072, 10)]
    if net == "boringnet":
        return [nn.Flatten(), nn.Linear(3072, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)]
    if net == "coolnet":
        return [
            nn.Conv2d(3, 6, 5), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120), nn.BatchNorm1d(120), nn.ReLU(),
            nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(),
            nn.Linear(84, 10),
        ]
    raise ValueError(f"unknown network {net!r}; choose from {NETS}")


def layer_names(net: str) -> list[str]:
    """Short readable names, e.g. ``"0 Conv2d(3,6,5)"``, in the order of ``build_layers``."""
    import minitorch.nn as nn

    names = []
    for i, layer in enumerate(build_layers(nn, net)):
        kind = type(layer).__name__
        if kind == "Conv2d":
            k = layer.kernel_size  # a (height, width) pair, as in PyTorch; a square one is shown as one number
            kind += f"({layer.in_channels},{layer.out_channels},{k[0] if k[0] == k[1] else k})"
        elif kind == "Linear":
            kind += f"({layer.in_features},{layer.out_features})"
        elif kind.startswith("BatchNorm"):
            kind += f"({layer.num_features})"
        elif kind == "MaxPool2d":
            kind += f"({layer.kernel_size})"
        names.append(f"{i} {kind}")
    return names


def minitorch_net(net: str, seed: int = 0):
    import minitorch as mt
    import minitorch.nn as nn

    mt.manual_seed(seed)
    return nn.Sequential(*build_layers(nn, net))


def torch_net_like(net: str, mt_model: Any):
    """The PyTorch twin of ``mt_model``, loaded from its state dict (weights and BN buffers)."""
    import torch
    import torch.nn as tnn

    model = tnn.Sequential(*build_layers(tnn, net))
    state = {k: torch.from_numpy(np.array(v.numpy(), copy=True)) for k, v in mt_model.state_dict().items()}
    model.load_state_dict(state, strict=True)
    return model


def make_batch(batch: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Random normal images (N, 3, 32, 32) float32 and int64 labels in [0, 10): one fixed batch (the per-layer
    rows, eval's images and the GPU suite; the training rows take :func:`batch_pool`'s distinct batches)."""
    rng = np.random.default_rng(seed + batch)
    x = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, size=batch, dtype=np.int64)
    return x, y


# --------------------------------------------------------------- the batches a timed step trains on
# Every timed training step takes the next batch of a rotating pool of distinct batches, as real training does:
# on one fixed batch, at any useful learning rate, the nets memorise it within a few hundred steps, the
# gradients underflow into denormals and float32 kernels slow down for it (PyTorch's BoringNet batch-4 step
# took 2.07 ms there against 0.80 ms), a regime no real run is in.  The pool holds POOL_IMAGES images (at
# least MIN_POOL_BATCHES batches), so a timed row cycles through it a few dozen times at most, not thousands.
POOL_IMAGES = 4096
MIN_POOL_BATCHES = 16
POOL_SEED = 0


@functools.lru_cache(maxsize=1)
def _cifar10_images() -> tuple[np.ndarray, np.ndarray, str] | None:
    """CIFAR-10's 50,000 training images (uint8, channels last) and labels, and their folder; None if absent.

    Looked for where hw5 looks: ``$MINITORCH_DATA`` or ``~/.cache/minitorch`` (never downloaded here).
    """
    import minitorch as mt

    try:
        train = mt.data.CIFAR10(root=mt.data.default_root(), train=True, download=False)
    except (FileNotFoundError, mt.data.DatasetError):
        return None
    return train.data, train.targets, train.folder


_POOLS: dict[tuple[int, int], tuple[list[tuple[np.ndarray, np.ndarray]], str]] = {}


def batch_pool(batch: int, images: int = POOL_IMAGES) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Distinct training batches of ``batch`` images, and where they came from.

    CIFAR-10 (when present) in a seeded shuffled order, normalised as hw5 normalises it (``ToTensor`` then
    ``Normalize(0.5, 0.5)``: [-1, 1], float32, (N, 3, 32, 32)); otherwise random normal images with random
    labels, and the source says so.  Cached per process: every row of a batch size trains on the same pool.
    """
    key = (batch, images)
    if key in _POOLS:
        return _POOLS[key]
    count = max(MIN_POOL_BATCHES, images // batch)
    rng = np.random.default_rng(POOL_SEED + batch)
    found = _cifar10_images()
    if found is not None:
        from minitorch.data import transforms as T

        data, targets, folder = found
        normalise = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])  # hw5.data's
        order = rng.permutation(len(data))
        need = count * batch
        order = np.resize(order, need)  # more images than CIFAR-10 holds only for tiny test pools
        pool = [(normalise(data[order[i:i + batch]]), targets[order[i:i + batch]].astype(np.int64))
                for i in range(0, need, batch)]
        source = f"CIFAR-10 training images from {folder}, normalised as hw5 does"
    else:
        pool = [(rng.standard_normal((batch, 3, 32, 32), dtype=np.float32),
                 rng.integers(0, 10, size=batch, dtype=np.int64)) for _ in range(count)]
        source = "synthetic batches (random normal images, random labels): CIFAR-10 was not found"
    _POOLS[key] = (pool, source)
    return pool, source


def pool_source(batch: int = 4) -> str:
    """Where the timed training batches come from (the same for every batch size)."""
    return batch_pool(batch)[1]


# --------------------------------------------------------------- training steps
# hw5's settings (hw5/experiments.py): plain SGD, learning rate 0.01, no momentum.
LR, MOMENTUM = 0.01, 0.0


def sgd_step(model: Any, optim: Any, functional: Any, lr: float = LR) -> Callable[[Any, Any], Any]:
    """``step(x, y)``: one full training step (forward, CE, backward, SGD at ``lr``, momentum MOMENTUM),
    returning the loss.

    Written once for both frameworks: pass ``minitorch.optim`` and ``minitorch.nn.functional``,
    or ``torch.optim`` and ``torch.nn.functional`` (the names are the same).
    """
    opt = optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM)

    def step(x, y):
        loss = functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def rotating_step(model: Any, batches: list[tuple[Any, Any]], optim: Any, functional: Any,
                  wrap: Callable[[Callable], Callable] | None = None, lr: float = LR) -> Callable[[], Any]:
    """:func:`sgd_step` as a closure that trains on the next batch of ``batches`` at every call (back to the
    first after the last); ``wrap`` (``minitorch.capture``) makes it a captured step."""
    step = sgd_step(model, optim, functional, lr)
    run = step if wrap is None else wrap(step)
    position = [0]

    def next_step() -> Any:
        x, y = batches[position[0]]
        position[0] = (position[0] + 1) % len(batches)
        return run(x, y)

    return next_step


def training_step(model: Any, x: Any, y: Any, optim: Any, functional: Any,
                  wrap: Callable[[Callable], Callable] | None = None, lr: float = 0.0) -> Callable[[], Any]:
    """A step on one fixed batch (the GPU suite's regime), at learning rate 0 by default so that it does not
    memorise the batch; the CPU rows use :func:`rotating_step`."""
    return rotating_step(model, [(x, y)], optim, functional, wrap, lr)


def minitorch_train_step(net: str, batch: int, model: Any = None, seed: int = 0, captured: bool = False,
                         lr: float = LR) -> tuple[Callable[[], Any], Any]:
    """A training-step closure over :func:`batch_pool`'s batches (through ``minitorch.capture`` if
    ``captured``), and the model."""
    import minitorch as mt
    import minitorch.nn.functional as F

    model = model if model is not None else minitorch_net(net, seed)
    model.train()
    batches = [(mt.from_numpy(x), mt.from_numpy(y)) for x, y in batch_pool(batch)[0]]  # no copies
    return rotating_step(model, batches, mt.optim, F, mt.capture if captured else None, lr), model


def capture_parity(net: str, batch: int, steps: int = 10) -> float:
    """Largest |captured - eager| / max|eager| over the parameters and buffers after ``steps`` steps (each on
    the next batch of the pool) from the same weights (0: bit-identical)."""
    eager, eager_model = minitorch_train_step(net, batch)
    captured, captured_model = minitorch_train_step(net, batch, captured=True)
    for _ in range(steps):
        eager()
        captured()
    worst = 0.0
    for a, b in zip(eager_model.state_dict().values(), captured_model.state_dict().values(), strict=True):
        a, b = a.numpy().astype(np.float64), b.numpy().astype(np.float64)
        scale = max(float(np.abs(a).max()), 1e-30)
        worst = max(worst, float(np.abs(a - b).max()) / scale)
    return worst


def torch_train_step(net: str, batch: int, mt_model: Any, lr: float = LR) -> tuple[Callable[[], Any], Any]:
    """PyTorch's step over the same pool, in the same order, from ``mt_model``'s weights."""
    import torch
    import torch.nn.functional as F

    model = torch_net_like(net, mt_model)
    model.train()
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batch_pool(batch)[0]]
    return rotating_step(model, batches, torch.optim, F, lr=lr), model


# ------------------------------------------------------------ analytic FLOPs
def layer_flops(layer: Any, in_shape: tuple[int, ...], input_grad: bool) -> tuple[int, int] | None:
    """(forward, backward) multiply-add FLOPs (2 per MAC) of a Conv2d or Linear layer, else None.

    Backward = weight gradient (same cost as forward) plus, when the input needs a
    gradient, the input gradient (same cost again); bias terms are ignored.
    """
    kind = type(layer).__name__
    if kind == "Linear":
        n = int(np.prod(in_shape[:-1]))
        fwd = 2 * n * layer.in_features * layer.out_features
    elif kind == "Conv2d":
        k = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
        s = layer.stride if isinstance(layer.stride, int) else layer.stride[0]
        p = layer.padding if isinstance(layer.padding, int) else layer.padding[0]
        n, _, h, w = in_shape
        ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        fwd = 2 * n * layer.out_channels * ho * wo * layer.in_channels * k * k
    else:
        return None
    return fwd, fwd * (2 if input_grad else 1)
