"""``minitorch.utils.data``: PyTorch's module path for the data-loading classes.

A script that does ``from torch.utils.data import DataLoader`` ports by changing
``torch`` to ``minitorch``.  The classes are those of :mod:`minitorch.data`
(the same objects, not copies).
"""
from __future__ import annotations

from minitorch.data.dataloader import DataLoader, default_collate
from minitorch.data.dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]
