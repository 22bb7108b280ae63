"""The DataLoader: a dataset, cut into (optionally shuffled) batches of Tensors.

Reproducibility is the design constraint.  The loader owns an
``np.random.Generator``; each epoch draws its permutation from it, and random
transforms draw from their own generators.  ``state_dict()`` records all of
these, plus how far into the current epoch the loader is, so a run restored
from a checkpoint sees exactly the batches it would have seen.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from minitorch.backend import check_device, get_array_module, to_device
from minitorch.data.dataset import Dataset
from minitorch.random import make_generator
from minitorch.tensor import Tensor


def default_collate(batch: list[Any]) -> Any:
    """Merge a list of samples into a batch, as PyTorch's ``default_collate`` does (the slow path, for
    datasets without ``get_batch``).

    By the type of the first sample, recursively: Tensors and arrays are stacked into one Tensor (keeping
    their dtype); Python floats become a float64 Tensor, ints an int64 one and bools a bool one; NumPy
    scalars keep their dtype; strings stay a list; a dict gives a dict of batches; a tuple or list of fields
    gives a list with one batch per field (a named tuple stays one).  Samples of different lengths, or of a
    type nothing here merges, are an error naming it.
    """
    if not batch:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor(_stack([_checked(b, Tensor, "a Tensor")._data for b in batch]))
    if isinstance(elem, (np.ndarray, np.generic)) and elem.dtype.kind in "biufc":
        return Tensor(_stack([np.asarray(_checked(b, (np.ndarray, np.generic), "an array")) for b in batch]))
    if isinstance(elem, (bool, int, float)):
        dtype = np.bool_ if isinstance(elem, bool) else np.int64 if isinstance(elem, int) else np.float64
        if any(not isinstance(b, (bool, int, float)) for b in batch):
            raise TypeError(f"default_collate: samples mix a number with {_kinds(batch)}")
        return Tensor(np.asarray(batch, dtype=dtype))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        try:
            return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem})  # type: ignore[call-arg]
        except KeyError as exc:
            raise KeyError(f"default_collate: a sample lacks the key {exc.args[0]!r} the first one has") from None
        except TypeError:  # a mapping type that cannot be built from a dict
            return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple
        return type(elem)(*(default_collate(list(field)) for field in _transpose(batch)))
    if isinstance(elem, (tuple, list)):
        return [default_collate(list(field)) for field in _transpose(batch)]
    raise TypeError(f"default_collate: cannot batch samples of type {type(elem).__name__}; a sample may hold "
                    "Tensors, NumPy arrays, numbers, strings, and dicts, tuples or lists of them")


def _stack(arrays: list[Any]) -> Any:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: cannot stack samples of different shapes {sorted(shapes)}")
    return get_array_module(arrays[0]).stack(arrays)


def _checked(value: Any, kind: Any, name: str) -> Any:
    if not isinstance(value, kind):
        raise TypeError(f"default_collate: the first sample holds {name} where another holds "
                        f"{type(value).__name__}")
    return value


def _kinds(batch: list[Any]) -> str:
    return ", ".join(sorted({type(b).__name__ for b in batch}))


def _transpose(batch: list[Any]) -> list[tuple[Any, ...]]:
    sizes = {len(sample) for sample in batch}
    if len(sizes) > 1:
        raise RuntimeError(f"default_collate: each sample must have the same number of fields, got {sorted(sizes)}")
    return list(zip(*batch, strict=True))


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


def _prefetch_factor(prefetch_factor: int | None, num_workers: int) -> int | None:
    """``prefetch_factor`` as PyTorch's DataLoader records it: None without workers (where giving one is an
    error), 2 by default with them."""
    if prefetch_factor is None:
        return 2 if num_workers > 0 else None
    if num_workers == 0:
        raise ValueError("prefetch_factor needs num_workers > 0 (batches per worker, as in PyTorch); "
                         "leave it None without workers")
    if isinstance(prefetch_factor, bool) or not isinstance(prefetch_factor, (int, np.integer)) or prefetch_factor < 0:
        raise ValueError(f"prefetch_factor must be a non-negative integer, got {prefetch_factor!r}")
    return int(prefetch_factor)


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors on ``device``.

    ``len(loader)`` is the number of batches per epoch.  With ``shuffle`` each
    epoch visits the samples in a fresh permutation drawn from the loader's
    generator (seeded by ``seed``, or from minitorch's global generator when it
    is None).  ``drop_last`` drops a final batch smaller than ``batch_size``.

    A batch has the structure of a sample, as in PyTorch: a list of Tensors
    for samples that are tuples (``images, labels``), one Tensor for samples
    that are one Tensor, a dict for dict samples (see :func:`default_collate`).
    ``collate_fn`` replaces :func:`default_collate` and then always receives
    the list of samples; the Tensors it returns are moved to ``device``.

    ``num_workers`` is accepted so that PyTorch code runs unchanged, and
    checked, but loading always happens in this process: a batch is one
    fancy-index per field and one vectorised transform call (``get_batch``),
    so worker processes would mostly add pickling between processes; and the
    random transforms' generators must live in one place for ``state_dict``
    to resume a run exactly.  The workers' options, ``persistent_workers`` and
    ``prefetch_factor``, are checked against ``num_workers`` as PyTorch checks
    them, and recorded.

    ``pin_memory`` (and the deprecated ``pin_memory_device``) is accepted and
    recorded, and has no effect: PyTorch pins host memory so that copies to the
    GPU can run asynchronously, which changes their speed, never the batches;
    minitorch's batches are NumPy arrays in ordinary memory, and ``device``
    says where they go.
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
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
            raise ValueError(f"num_workers must be a non-negative integer, got {num_workers!r}")
        # The workers' options are recorded only, since batches are always made in this process (see the
        # class docstring); they are checked as PyTorch checks them, so that code valid there is valid here.
        self.num_workers = int(num_workers)
        self.prefetch_factor = _prefetch_factor(prefetch_factor, self.num_workers)
        if persistent_workers and self.num_workers == 0:
            raise ValueError("persistent_workers=True needs num_workers > 0 (as in PyTorch)")
        self.persistent_workers = persistent_workers
        if not isinstance(pin_memory_device, str):
            raise TypeError(f"pin_memory_device must be a str, got {type(pin_memory_device).__name__}")
        self.pin_memory = pin_memory  # no effect: see the class docstring
        self.pin_memory_device = pin_memory_device
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"collate_fn must be callable, got {type(collate_fn).__name__}")
        self.collate_fn = collate_fn
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

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        if self.generator is not None:
            self._epoch_start_state = copy.deepcopy(self.generator.bit_generator.state)
            order = self.generator.permutation(n)
        else:
            order = np.arange(n)
        skip, self._resume_position = self._resume_position, 0
        self._position = skip
        get_batch = getattr(self.dataset, "get_batch", None) if self.collate_fn is None else None
        collate = self.collate_fn or default_collate
        for b in range(skip, len(self)):
            indices = order[b * self.batch_size:(b + 1) * self.batch_size]
            if get_batch is not None:
                batch = get_batch(indices)  # raw arrays: one gather and one transform call
                if type(batch) is tuple:  # fields of tuple samples: a list, as default_collate gives
                    batch = list(batch)
            else:
                batch = collate([self.dataset[int(i)] for i in indices])
            self._position = b + 1
            yield self._to_device(batch)
        self._position = 0  # epoch complete: a checkpoint now resumes at the next epoch

    def _to_device(self, batch: Any) -> Any:
        """Every array and Tensor in ``batch`` as a Tensor on this loader's device; the structure kept."""
        if isinstance(batch, Tensor):
            moved = to_device(batch._data, self.device)
            return batch if moved is batch._data else Tensor(moved)
        if isinstance(batch, np.ndarray) or hasattr(batch, "__array_namespace__"):
            return Tensor(to_device(batch, self.device))
        if isinstance(batch, Mapping):
            return {key: self._to_device(value) for key, value in batch.items()}
        if isinstance(batch, tuple) and hasattr(batch, "_fields"):
            return type(batch)(*(self._to_device(v) for v in batch))
        if isinstance(batch, (list, tuple)):
            return type(batch)(self._to_device(v) for v in batch)
        return batch

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
