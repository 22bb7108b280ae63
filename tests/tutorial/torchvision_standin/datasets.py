"""CIFAR10 whose samples are torch Tensors (the image) and ints (the label), as torchvision's."""
from __future__ import annotations

from typing import Any

import torch

from minitorch.vision import datasets


class CIFAR10(datasets.CIFAR10):
    def __getitem__(self, index: int) -> tuple[Any, int]:
        image, label = super().__getitem__(index)
        return torch.from_numpy(image.numpy()), label


__all__ = ["CIFAR10"]
