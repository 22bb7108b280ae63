"""The three networks of the report, written the way the PyTorch homework writes them.

Layers are named attributes (``conv1``, ``bn1``, ``fc1`` ...) in the style of
the PyTorch CIFAR-10 tutorial, so ``state_dict()`` keys are exactly those the
same ``torch.nn.Module`` would have and weights can be compared one to one.
"""
from __future__ import annotations

import minitorch.nn as nn
from minitorch import Tensor

IMAGE_FEATURES = 3 * 32 * 32  # a flattened CIFAR-10 image
NUM_CLASSES = 10


class LazyNet(nn.Module):
    """Multinomial logistic regression on raw pixels: the report's baseline."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(IMAGE_FEATURES, NUM_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc1(self.flatten(x))


class BoringNet(nn.Module):
    """A 3072-120-84-10 perceptron; ``activation=False`` drops the ReLUs,
    which collapses it to a linear model with extra parameters (fig. 1c)."""

    def __init__(self, activation: bool = True) -> None:
        super().__init__()
        self.activation = activation
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(IMAGE_FEATURES, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, NUM_CLASSES)
        self.act = nn.ReLU() if activation else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(self.fc1(self.flatten(x)))
        x = self.act(self.fc2(x))
        return self.fc3(x)


class CoolNet(nn.Module):
    """LeNet-5 with batch normalisation after every conv and linear layer but the last."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.bn3 = nn.BatchNorm1d(120)
        self.fc2 = nn.Linear(120, 84)
        self.bn4 = nn.BatchNorm1d(84)
        self.fc3 = nn.Linear(84, NUM_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.relu(self.bn1(self.conv1(x))))    # 3x32x32 -> 6x14x14
        x = self.pool(self.relu(self.bn2(self.conv2(x))))    # -> 16x5x5
        x = self.flatten(x)
        x = self.relu(self.bn3(self.fc1(x)))
        x = self.relu(self.bn4(self.fc2(x)))
        return self.fc3(x)


MODELS = {"lazynet": LazyNet, "boringnet": BoringNet, "coolnet": CoolNet}


def build_model(name: str, activation: bool = True) -> nn.Module:
    """The network called ``name`` (case-insensitive); ``activation`` matters for BoringNet only."""
    key = name.lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}: expected one of {sorted(MODELS)}")
    return BoringNet(activation) if key == "boringnet" else MODELS[key]()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
