"""Datasets, the DataLoader and image transforms.

    from minitorch.data import CIFAR10, DataLoader, transforms as T

    train = CIFAR10(train=True, download=True, transform=T.Compose([
        T.RandomCrop(32, padding=4, seed=0), T.RandomHorizontalFlip(seed=1),
        T.ToTensor(), T.Normalize(CIFAR10_MEAN, CIFAR10_STD)]))
    loader = DataLoader(train, batch_size=128, shuffle=True, seed=0)
    for images, labels in loader:   # Tensors: float (N, 3, 32, 32), int64 (N,)
        ...

Datasets hold NumPy arrays; the DataLoader gathers a batch with one
fancy-index per field (``get_batch``), applies the transforms to the whole
batch, and only then wraps the arrays in Tensors on the requested device.
"""
from __future__ import annotations

from minitorch.data import transforms
from minitorch.data.cifar10 import CIFAR10, UnsafePickleError
from minitorch.data.dataloader import DataLoader, default_collate
from minitorch.data.dataset import Dataset, DatasetError, ImageDataset, Subset, TensorDataset, random_split
from minitorch.data.download import default_root
from minitorch.data.synthetic import SyntheticImages
from minitorch.data.transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    ToTensor,
)

# Per-channel statistics of the CIFAR-10 training images, for Normalize.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

__all__ = [
    "CIFAR10", "CIFAR10_MEAN", "CIFAR10_STD", "Compose", "DataLoader", "Dataset", "DatasetError",
    "ImageDataset", "Normalize", "RandomCrop", "RandomHorizontalFlip", "Subset", "SyntheticImages",
    "TensorDataset", "ToTensor", "UnsafePickleError", "default_collate", "default_root", "random_split",
    "transforms",
]
