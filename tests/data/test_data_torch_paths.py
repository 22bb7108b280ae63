"""PyTorch's module paths for data loading (minitorch.utils.data, minitorch.vision), random_split, num_workers and
the other loading options PyTorch's DataLoader takes (pin_memory, persistent_workers, prefetch_factor)."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import minitorch
import minitorch.data as data
from minitorch.utils.data import DataLoader, Subset, TensorDataset, random_split


@pytest.mark.parametrize("path,names", [
    ("minitorch.utils.data", ["Dataset", "DataLoader", "TensorDataset", "Subset", "random_split",
                              "default_collate"]),
    ("minitorch.vision.datasets", ["CIFAR10"]),
    ("minitorch.vision.transforms", ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip"]),
])
def test_torch_module_paths_hold_the_same_objects(path, names):
    module = importlib.import_module(path)
    source = data.transforms if path.endswith("transforms") else data
    for name in names:
        assert getattr(module, name) is getattr(source, name), f"{path}.{name}"


def test_paths_are_reachable_as_attributes_like_torch():
    """``import torch`` makes torch.utils.data usable; ``import torchvision`` gives .datasets and .transforms."""
    assert minitorch.utils.data.DataLoader is data.DataLoader
    vision = importlib.import_module("minitorch.vision")
    assert vision.datasets.CIFAR10 is data.CIFAR10
    assert vision.transforms.ToTensor is data.ToTensor


def test_vision_cifar10_reads_the_official_layout(cifar_root):
    from minitorch.vision import datasets, transforms

    root, written = cifar_root
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    train = datasets.CIFAR10(root=str(root), train=True, download=True, transform=transform)  # present: no download
    assert len(train) == 100
    images, labels = next(iter(DataLoader(train, batch_size=4, shuffle=False, num_workers=2)))
    assert images.shape == (4, 3, 32, 32) and labels.tolist() == written["data_batch_1"][1][:4]
    assert -1.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0


# ----------------------------------------------------------------------------- random_split
def test_random_split_by_lengths_is_a_partition():
    ds = TensorDataset(np.arange(10.0), np.arange(10))
    parts = random_split(ds, [3, 7], generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [3, 7] and all(isinstance(p, Subset) for p in parts)
    together = np.concatenate([p.indices for p in parts])
    assert sorted(together.tolist()) == list(range(10))
    assert together.tolist() != list(range(10))  # shuffled
    assert [int(parts[0][i][1]) for i in range(3)] == parts[0].indices.tolist()


def test_random_split_by_fractions_deals_out_the_remainder_like_torch():
    ds = TensorDataset(np.arange(11.0))
    # floor(11 * 0.5) = 5, floor(11 * 0.3) = 3, floor(11 * 0.2) = 2; remainder 1 goes to the first split
    assert [len(p) for p in random_split(ds, [0.5, 0.3, 0.2])] == [6, 3, 2]
    with pytest.warns(UserWarning, match="split 1 is empty"):
        assert [len(p) for p in random_split(TensorDataset(np.arange(2.0)), [0.9, 0.1])] == [2, 0]


def test_random_split_follows_the_global_seed():
    ds = TensorDataset(np.arange(20.0))
    minitorch.manual_seed(4)
    a = [p.indices.tolist() for p in random_split(ds, [10, 10])]
    minitorch.manual_seed(4)
    b = [p.indices.tolist() for p in random_split(ds, [10, 10])]
    assert a == b


def test_random_split_bad_lengths():
    ds = TensorDataset(np.arange(10.0))
    with pytest.raises(ValueError, match=r"random_split: lengths \[3, 3\] sum to 6, but the dataset has 10"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError, match="random_split: lengths must be non-negative integers"):
        random_split(ds, [12, -2])
    with pytest.raises(ValueError, match="random_split: lengths is empty"):
        random_split(ds, [])


# ----------------------------------------------------------------------------- num_workers
def test_num_workers_is_accepted_and_loading_stays_in_process():
    ds = TensorDataset(np.arange(10.0), np.arange(10))
    plain = [b[0].numpy().tolist() for b in DataLoader(ds, batch_size=3)]
    loader = DataLoader(ds, batch_size=3, num_workers=4)
    assert loader.num_workers == 4
    assert [b[0].numpy().tolist() for b in loader] == plain


@pytest.mark.parametrize("bad", [-1, 1.5, "2", True])
def test_num_workers_must_be_a_non_negative_integer(bad):
    with pytest.raises(ValueError, match="num_workers must be a non-negative integer"):
        DataLoader(TensorDataset(np.arange(3.0)), num_workers=bad)


# ----------------------------------------------------------------------------- pin_memory and the workers' options
def test_pin_memory_and_the_workers_options_are_accepted_and_change_no_batch():
    """As PyTorch's DataLoader takes them (without an accelerator it warns and pins nothing); the attributes hold
    what PyTorch's hold: prefetch_factor None without workers and 2 by default with them."""
    ds = TensorDataset(np.arange(10.0), np.arange(10))
    plain = [b[0].numpy().tolist() for b in DataLoader(ds, batch_size=3)]
    pinned = DataLoader(ds, batch_size=3, pin_memory=True, pin_memory_device="cuda")
    assert pinned.pin_memory is True and pinned.pin_memory_device == "cuda" and pinned.prefetch_factor is None
    assert [b[0].numpy().tolist() for b in pinned] == plain
    workers = DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True, prefetch_factor=4)
    assert workers.persistent_workers is True and workers.prefetch_factor == 4
    assert [b[0].numpy().tolist() for b in workers] == plain
    assert DataLoader(ds, num_workers=2).prefetch_factor == 2
    assert DataLoader(ds).pin_memory is False and DataLoader(ds).persistent_workers is False


def test_the_workers_options_need_workers_as_in_pytorch():
    ds = TensorDataset(np.arange(3.0))
    with pytest.raises(ValueError, match="persistent_workers=True needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="prefetch_factor needs num_workers > 0"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="prefetch_factor must be a non-negative integer, got -1"):
        DataLoader(ds, num_workers=1, prefetch_factor=-1)
    with pytest.raises(TypeError, match="pin_memory_device must be a str, got int"):
        DataLoader(ds, pin_memory_device=0)
