"""The benchmark networks, built identically in minitorch and (when installed) PyTorch.

Each network is a flat ``Sequential``, so both frameworks name their parameters and
buffers the same way (``"0.weight"``, ``"1.running_mean"``, ...) and the PyTorch twin
is loaded from the minitorch ``state_dict``: same weights, same buffers.

PyTorch is imported lazily, inside the functions that need it, so this module (and
``benchmarks.run``) works without it.
"""
from __future__ import annotations

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
    """Random normal images (N, 3, 32, 32) float32 and int64 labels in [0, 10)."""
    rng = np.random.default_rng(seed + batch)
    x = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, size=batch, dtype=np.int64)
    return x, y


# --------------------------------------------------------------- training steps
LR, MOMENTUM = 0.01, 0.9
# The timed steps run at learning rate 0, so that the weights stay where they started and every timed step
# sees gradients of the size real training has.  At any useful rate the nets memorise the one fixed batch
# within a few hundred steps: the loss underflows, the gradients turn denormal, and float32 kernels slow
# down for it (PyTorch's BoringNet batch-4 step: 2.07 ms against 0.80), a regime no real run is ever in.
# The step does the same work at rate 0: the update is computed and applied, it just moves nothing.
TIMED_LR = 0.0


def sgd_step(model: Any, optim: Any, functional: Any, lr: float = LR) -> Callable[[Any, Any], Any]:
    """``step(x, y)``: one full training step (forward, CE, backward, SGD momentum 0.9), returning the loss.

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


def training_step(model: Any, x: Any, y: Any, optim: Any, functional: Any,
                  wrap: Callable[[Callable], Callable] | None = None, lr: float = TIMED_LR) -> Callable[[], Any]:
    """:func:`sgd_step` on a fixed batch, as a closure; ``wrap`` (``minitorch.capture``) makes it a captured one."""
    step = sgd_step(model, optim, functional, lr)
    run = step if wrap is None else wrap(step)
    return lambda: run(x, y)


def minitorch_train_step(net: str, batch: int, model: Any = None, seed: int = 0, captured: bool = False,
                         lr: float = TIMED_LR) -> tuple[Callable[[], Any], Any]:
    """A training-step closure on a fixed batch of random images (through ``minitorch.capture`` if
    ``captured``), and the model."""
    import minitorch as mt
    import minitorch.nn.functional as F

    model = model if model is not None else minitorch_net(net, seed)
    model.train()
    xn, yn = make_batch(batch)
    return training_step(model, mt.tensor(xn), mt.tensor(yn), mt.optim, F, mt.capture if captured else None,
                         lr), model


def capture_parity(net: str, batch: int, steps: int = 10) -> float:
    """Largest |captured - eager| / max|eager| over the parameters and buffers after ``steps`` steps from the
    same weights (0: bit-identical)."""
    eager, eager_model = minitorch_train_step(net, batch, lr=LR)
    captured, captured_model = minitorch_train_step(net, batch, captured=True, lr=LR)
    for _ in range(steps):
        eager()
        captured()
    worst = 0.0
    for a, b in zip(eager_model.state_dict().values(), captured_model.state_dict().values(), strict=True):
        a, b = a.numpy().astype(np.float64), b.numpy().astype(np.float64)
        scale = max(float(np.abs(a).max()), 1e-30)
        worst = max(worst, float(np.abs(a - b).max()) / scale)
    return worst


def torch_train_step(net: str, batch: int, mt_model: Any, lr: float = TIMED_LR) -> tuple[Callable[[], Any], Any]:
    import torch
    import torch.nn.functional as F

    model = torch_net_like(net, mt_model)
    model.train()
    xn, yn = make_batch(batch)
    return training_step(model, torch.from_numpy(xn), torch.from_numpy(yn), torch.optim, F, lr=lr), model


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
