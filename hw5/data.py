"""Where the images come from: CIFAR-10 when it is there, a synthetic stand-in when not.

Results on the synthetic set say nothing about CIFAR-10, so falling back to it
is announced loudly here and recorded with the run (the report repeats it).
"""
from __future__ import annotations

import copy
import hashlib
import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

import minitorch as mt
from hw5.experiments import Config
from minitorch.data import transforms as T

MEAN = STD = (0.5, 0.5, 0.5)  # the assignment's normalisation: [0, 1] -> [-1, 1]


class DataUnavailable(RuntimeError):
    """The dataset a run asked for cannot be used; the message says what to do."""


class DataMissing(DataUnavailable):
    """CIFAR-10 is neither on disk nor downloadable (``auto`` may fall back)."""


class DataDamaged(DataUnavailable):
    """CIFAR-10 is there but its files are damaged or tampered with: like a damaged run, exit status 2."""


@dataclass
class Data:
    name: str                 # "cifar10" or "synthetic"
    train: Any                # training images, with the run's random augmentation
    train_eval: Any           # the same images without augmentation, for measuring accuracy
    test: Any
    classes: list[str]
    source: str = ""           # where the images came from: a folder, or "generated"
    fallback_reason: str = ""  # why the synthetic set stands in for CIFAR-10, if it does
    fingerprint: str = ""      # the images and labels loaded (see data_fingerprint): a resume must find the same


def data_fingerprint(*datasets: Any) -> str:
    """The SHA-256 of the datasets' images, labels and class names, as loaded.

    A resumed run checks it: a --data-dir (or $MINITORCH_DATA) that now holds other
    files would otherwise train the rest of the run on other images, silently.
    """
    digest = hashlib.sha256()
    for dataset in datasets:
        for array in (np.ascontiguousarray(dataset.data), np.asarray(dataset.targets, dtype=np.int64)):
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.data.cast("B"))
        digest.update(repr(list(dataset.classes)).encode())
    return digest.hexdigest()


def eval_transform() -> T.Compose:
    return T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])


def train_transform(config: Config) -> T.Compose:
    """Flips act on the uint8 images, before they become normalised floats."""
    steps: list[Any] = [T.RandomHorizontalFlip(0.5, seed=config.seed + 1)] if config.flip else []
    return T.Compose(steps + [T.ToTensor(), T.Normalize(MEAN, STD)])


def cifar10_root(config: Config) -> str:
    """``--data-dir``, else minitorch's default ($MINITORCH_DATA or ~/.cache/minitorch)."""
    return os.path.expanduser(config.data_dir) if config.data_dir else mt.data.default_root()


def missing_cifar10_message(config: Config, reason: str) -> str:
    root = cifar10_root(config)
    folder = os.path.join(root, mt.data.CIFAR10.base_folder)
    return (
        f"CIFAR-10 is not in {folder} and could not be downloaded ({reason}).\n"
        f"  To use it: download {mt.data.CIFAR10.resolved_url()} and extract it into {root}\n"
        f"  (so that {os.path.join(folder, 'data_batch_1')} exists), or point --data-dir or\n"
        f"  $MINITORCH_DATA at the folder that holds cifar-10-batches-py.\n"
        f"  To train on generated images instead: --dataset synthetic (or --dataset auto)."
    )


def _first(dataset: Any, size: int | None) -> Any:
    """The first ``size`` samples (CIFAR-10's batches are already in random order)."""
    if size is None or size >= len(dataset):
        return dataset
    return mt.data.Subset(dataset, np.arange(size))


def _with_transform(dataset: Any, transform: Any) -> Any:
    """A second view of the same in-memory images with another transform (no copy of the pixels)."""
    view = copy.copy(dataset)
    view.transform = transform
    return view


def _open_cifar10(root: str, train: bool) -> Any:
    """CIFAR10, downloading it if absent; raises DataUnavailable with the reason when neither works."""
    try:
        return mt.data.CIFAR10(root=root, train=train, download=False)
    except FileNotFoundError:
        pass
    try:
        return mt.data.CIFAR10(root=root, train=train, download=True)
    except Exception as exc:  # no network, a bad mirror, a damaged archive: all mean "not available"
        raise DataMissing(f"{type(exc).__name__}: {exc}") from exc


def load_cifar10(config: Config) -> Data:
    root = cifar10_root(config)
    try:
        train = _open_cifar10(root, train=True)
        test = _open_cifar10(root, train=False)
    except DataMissing as exc:
        raise DataMissing(missing_cifar10_message(config, str(exc))) from None
    except mt.data.DatasetError as exc:  # present but damaged: falling back would hide it
        raise DataDamaged(f"CIFAR-10 in {root} cannot be read: {exc}") from None
    # Transforms go on the full datasets: a Subset draws its batches through the dataset it wraps.
    return Data("cifar10",
                _first(_with_transform(train, train_transform(config)), config.train_size),
                _first(_with_transform(train, eval_transform()), config.train_size),
                _first(_with_transform(test, eval_transform()), config.test_size),
                list(train.classes), os.path.join(root, mt.data.CIFAR10.base_folder),
                fingerprint=data_fingerprint(train, test))


def load_synthetic(config: Config, fallback_reason: str = "") -> Data:
    train = mt.data.SyntheticImages(train=True, size=config.train_size, seed=config.seed)
    test = mt.data.SyntheticImages(train=False, size=config.test_size, seed=config.seed,
                                   transform=eval_transform())
    return Data("synthetic", _with_transform(train, train_transform(config)),
                _with_transform(train, eval_transform()), test, list(train.classes),
                f"generated images (seed {config.seed})", fallback_reason, data_fingerprint(train, test))


_warned: set[str] = set()


def warn_synthetic(reason: str) -> None:
    """The banner, once per process and reason: a command that runs several experiments shows it once."""
    if reason in _warned:
        return
    _warned.add(reason)
    bar = "!" * 78
    print(f"\n{bar}\n!! CIFAR-10 IS NOT AVAILABLE: TRAINING ON THE SYNTHETIC IMAGE SET INSTEAD.\n"
          f"!! These numbers say nothing about CIFAR-10.\n"
          + "".join(f"!! {line}\n" for line in reason.splitlines()) + bar + "\n",
          file=sys.stderr, flush=True)


def load_data(config: Config, trained_on: str | None = None) -> Data:
    """The datasets ``config.dataset`` names; ``auto`` falls back to synthetic, loudly.

    ``trained_on``: the dataset a resumed run was trained on, which ``auto`` keeps to
    (a run that fell back to the synthetic set goes on with it once CIFAR-10 appears).
    """
    if config.dataset == "auto" and trained_on == "synthetic":
        reason = "CIFAR-10 was not available when this run started; it goes on with the synthetic set it began on"
        warn_synthetic(reason)
        return load_synthetic(config, fallback_reason=reason)
    if config.dataset == "auto" and trained_on == "cifar10":
        return load_cifar10(config)
    if config.dataset == "synthetic":
        return load_synthetic(config)
    if config.dataset == "cifar10":
        return load_cifar10(config)
    try:
        return load_cifar10(config)
    except DataMissing as exc:
        warn_synthetic(str(exc))
        return load_synthetic(config, fallback_reason=str(exc).splitlines()[0])
