"""Datasets: indexable collections of samples, held as NumPy arrays.

A dataset answers ``len(ds)`` and ``ds[i]``, one sample as PyTorch gives it:
``TensorDataset`` a tuple of Tensors, an image dataset ``(image, label)`` with
the image a Tensor once ``ToTensor`` has made it a float ``(C, H, W)`` array
(before that, the raw ``(H, W, C)`` uint8 array stands where torchvision has
a PIL image) and the label an ``int``.

Python-level indexing costs microseconds per sample, which adds up to seconds
per epoch.  A dataset that keeps its samples in arrays can therefore offer
``get_batch(indices)``: one fancy-index per field, and its transform applied to
the whole batch at once, returning raw arrays that the DataLoader wraps in
Tensors on its device.  The DataLoader uses it when present.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minitorch import random as _random
from minitorch.backend import to_numpy
from minitorch.tensor import Tensor


class DatasetError(RuntimeError):
    """A dataset's files exist but cannot be used (truncated, malformed, unsafe)."""


class Dataset:
    """Base class: subclasses implement ``__len__`` and ``__getitem__``."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")


def as_item_tensor(value: Any) -> Tensor:
    """One sample's field as a Tensor that keeps its dtype (a NumPy scalar becomes a 0-d array first,
    since Tensor() would give a Python-level float the default dtype)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.generic) or not (isinstance(value, np.ndarray) or hasattr(value, "__array_namespace__")):
        value = np.asarray(value)
    return Tensor(value)


def _as_array(value: Any) -> Any:
    """The raw array of a Tensor, or ``value`` as a NumPy array."""
    data = getattr(value, "_data", value)  # a Tensor's array
    if isinstance(data, np.ndarray) or hasattr(data, "__array_namespace__"):
        return data
    return np.asarray(data)


class TensorDataset(Dataset):
    """Samples made of same-length arrays (or Tensors): sample ``i`` is ``(a[i], b[i], ...)``."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.tensors = tuple(_as_array(t) for t in tensors)
        for i, t in enumerate(self.tensors):
            if t.ndim == 0:  # len() would fail with "len() of unsized object"
                raise ValueError(f"TensorDataset: array {i} is 0-dimensional; each needs a first dim of samples")
        lengths = [len(t) for t in self.tensors]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: arrays differ in length along dim 0: {lengths}")

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(as_item_tensor(t[index]) for t in self.tensors)

    def get_batch(self, indices: np.ndarray) -> tuple[Any, ...]:
        return tuple(t[indices] for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (e.g. a validation split)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        n = len(dataset)
        if self.indices.ndim != 1 or (self.indices.size and not (
                -n <= self.indices.min() and self.indices.max() < n)):
            raise IndexError(f"Subset: indices must be a 1-D array of positions in [0, {n})")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int | Sequence[int]) -> Any:
        if isinstance(index, (list, tuple, np.ndarray)):  # a list of positions: a list of samples
            return [self.dataset[int(self.indices[i])] for i in index]
        return self.dataset[int(self.indices[index])]

    def __getattr__(self, name: str) -> Any:
        # Offer get_batch (and transform, for the DataLoader's state) only when
        # the wrapped dataset has it, so the fast path is used exactly when valid.
        dataset: Any = self.dataset  # the attributes are optional: not on Dataset itself
        if name == "get_batch":
            inner = dataset.get_batch
            return lambda indices: inner(self.indices[np.asarray(indices)])
        if name == "transform":
            return dataset.transform
        raise AttributeError(name)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets (PyTorch's rule).

    ``lengths`` are sizes that sum to ``len(dataset)``, or fractions that sum
    to 1: each split then gets ``floor(n * fraction)`` samples and the
    remainder is dealt out one by one from the first split on.  The
    permutation comes from ``generator`` (a NumPy generator, e.g. the one
    :func:`minitorch.manual_seed` returns), by default minitorch's global one.
    """
    if generator is not None and not callable(getattr(generator, "permutation", None)):
        raise TypeError(f"random_split: generator must be a numpy.random.Generator (such as the one "
                        f"minitorch.manual_seed returns), got {type(generator).__name__} {generator!r}")
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1, got {frac}")
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"random_split: split {i} is empty", UserWarning, stacklevel=2)
    else:
        if any(not isinstance(k, (int, np.integer)) or k < 0 for k in lengths):
            raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                             f"summing to 1, got {lengths}")
        sizes = [int(k) for k in lengths]
    if sum(sizes) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(sizes)}, but the dataset has {n} samples")
    order = (generator if generator is not None else _random.generator()).permutation(n)
    splits, start = [], 0
    for size in sizes:
        splits.append(Subset(dataset, order[start:start + size]))
        start += size
    return splits


class ImageDataset(Dataset):
    """Labelled images held in memory: the shared base of CIFAR10 and SyntheticImages.

    ``data`` is uint8 N x H x W x C (channels last, as torchvision stores CIFAR),
    ``targets`` an int64 array, ``classes`` the label names.  ``transform`` is
    applied to one image in ``__getitem__`` and to a whole batch in ``get_batch``,
    so it must accept both (every transform in :mod:`minitorch.data.transforms` does).
    ``ds[i]`` gives the image as a Tensor once it is float (after ``ToTensor``), and
    the label as an ``int``; ``get_batch`` gives raw arrays, for the DataLoader.
    """

    data: np.ndarray
    targets: np.ndarray
    classes: list[str]
    transform: Callable[[Any], Any] | None

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.data[index]
        if self.transform is not None:
            image = self.transform(image)
        if not isinstance(image, Tensor) and getattr(getattr(image, "dtype", None), "kind", "") == "f":
            image = Tensor(image)  # what ToTensor made (float, channels first), as torchvision gives it
        return image, int(self.targets[index])

    def get_batch(self, indices: np.ndarray) -> tuple[Any, np.ndarray]:
        indices = to_numpy(indices)
        images = self.data[indices]
        if self.transform is not None:
            images = self.transform(images)
        return images, self.targets[indices]

    def __repr__(self) -> str:
        split = "train" if getattr(self, "train", True) else "test"
        return (f"{type(self).__name__}(split={split}, size={len(self)}, "
                f"classes={len(self.classes)}, transform={self.transform!r})")
