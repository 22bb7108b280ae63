"""The DataLoader: a dataset, cut into (optionally shuffled) batches of Tensors.

Reproducibility is the design constraint.  The loader owns an
``np.random.Generator``; each epoch draws its permutation from it, and random
transforms draw from their own generators.  ``state_dict()`` records all of
these, plus how far into the current epoch the loader is, so a run restored
from a checkpoint sees exactly the batches it would have seen.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from minitorch.backend import check_device, get_default_dtype, to_device
from minitorch.data.dataset import Dataset
from minitorch.random import make_generator
from minitorch.tensor import Tensor


def default_collate(samples: list[Any]) -> tuple[np.ndarray, ...]:
    """Stack a list of samples field by field (the slow path, for datasets without ``get_batch``).

    Python ints become int64 and Python floats the default dtype; arrays keep theirs.
    """
    first = samples[0]
    if not isinstance(first, (tuple, list)):
        samples = [(s,) for s in samples]
    fields = []
    for column in zip(*samples, strict=False):
        head = column[0]
        if isinstance(head, (bool, np.bool_)):
            fields.append(np.asarray(column, dtype=np.bool_))
        elif isinstance(head, (int, np.integer)):
            fields.append(np.asarray(column, dtype=np.int64))
        elif isinstance(head, (float, np.floating)) and np.ndim(head) == 0:
            fields.append(np.asarray(column, dtype=get_default_dtype()))
        else:
            fields.append(np.stack([c._data if isinstance(c, Tensor) else c for c in column]))
    return tuple(fields)


def _random_parts(dataset: Any) -> dict[str, Any]:
    """The objects with generator state reachable from ``dataset``: its transform,
    and those of any datasets it wraps (``Subset.dataset``)."""
    parts: dict[str, Any] = {}
    path = "dataset"
    seen: set[int] = set()
    while dataset is not None and id(dataset) not in seen:
        seen.add(id(dataset))
        transform = getattr(dataset, "transform", None)
        if (hasattr(transform, "state_dict") and hasattr(transform, "load_state_dict")
                and id(transform) not in seen):  # a Subset shows its dataset's transform too
            seen.add(id(transform))
            parts[f"{path}.transform"] = transform
        dataset = getattr(dataset, "dataset", None)
        path += ".dataset"
    return parts


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors on ``device``.

    ``len(loader)`` is the number of batches per epoch.  With ``shuffle`` each
    epoch visits the samples in a fresh permutation drawn from the loader's
    generator (seeded by ``seed``, or from minitorch's global generator when it
    is None).  ``drop_last`` drops a final batch smaller than ``batch_size``.

    ``num_workers`` is accepted so that PyTorch code runs unchanged, and
    checked, but loading always happens in this process: a batch is one
    fancy-index per field and one vectorised transform call (``get_batch``),
    so worker processes would mostly add pickling between processes; and the
    random transforms' generators must live in one place for ``state_dict``
    to resume a run exactly.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        device: str | None = None,
        *,
        num_workers: int = 0,
    ) -> None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"num_workers must be a non-negative integer, got {num_workers!r}")
        self.num_workers = int(num_workers)  # recorded only: batches are always made in this process
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.device = check_device(device)
        self.generator = make_generator(seed) if shuffle else None
        # Resumption bookkeeping: the generator state just before the current
        # epoch's permutation was drawn, and how many batches it has handed out.
        self._epoch_start_state: Mapping[str, Any] | None = None
        self._position = 0
        self._resume_position = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        n = len(self.dataset)
        if self.generator is not None:
            self._epoch_start_state = copy.deepcopy(self.generator.bit_generator.state)
            order = self.generator.permutation(n)
        else:
            order = np.arange(n)
        skip, self._resume_position = self._resume_position, 0
        self._position = skip
        get_batch = getattr(self.dataset, "get_batch", None)
        for b in range(skip, len(self)):
            indices = order[b * self.batch_size:(b + 1) * self.batch_size]
            if get_batch is not None:
                fields = get_batch(indices)
            else:
                fields = default_collate([self.dataset[int(i)] for i in indices])
            if not isinstance(fields, tuple):
                fields = (fields,)
            self._position = b + 1
            yield tuple(self._to_tensor(f) for f in fields)
        self._position = 0  # epoch complete: a checkpoint now resumes at the next epoch

    def _to_tensor(self, array: Any) -> Tensor:
        return Tensor(to_device(array, self.device))

    # ----------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything random about the iteration so far, as plain data.

        Taken mid-epoch (``position`` > 0), it holds the generator state from
        before that epoch's permutation, so loading it re-draws the same
        permutation and skips the batches already seen.
        """
        mid_epoch = self._position > 0 and self._epoch_start_state is not None
        gen_state = None
        if self.generator is not None:
            gen_state = copy.deepcopy(self._epoch_start_state if mid_epoch
                                      else self.generator.bit_generator.state)
        return {
            "generator": gen_state,
            "position": self._position,
            "transforms": {k: copy.deepcopy(t.state_dict())
                           for k, t in _random_parts(self.dataset).items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the next ``iter(loader)`` continues where it left off."""
        if (state.get("generator") is None) != (self.generator is None):
            raise ValueError("load_state_dict: the state is from a loader with shuffle="
                             f"{state.get('generator') is not None}, this one has shuffle={self.shuffle}")
        if self.generator is not None:
            self.generator.bit_generator.state = copy.deepcopy(state["generator"])
        position = int(state.get("position", 0))
        if not 0 <= position <= len(self):
            raise ValueError(f"load_state_dict: position {position} is outside this loader's "
                             f"{len(self)} batches")
        self._resume_position = self._position = position
        self._epoch_start_state = None
        parts = _random_parts(self.dataset)
        saved = state.get("transforms", {})
        if set(saved) != set(parts):
            raise ValueError(f"load_state_dict: state has random transforms {sorted(saved)}, "
                             f"this loader's dataset has {sorted(parts)}")
        for key, part in parts.items():
            part.load_state_dict(copy.deepcopy(saved[key]))

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, device={self.device!r})")
