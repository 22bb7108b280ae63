"""Samples and batches as PyTorch gives them: ``dataset[i]`` holds Tensors (after ToTensor for images), and
the DataLoader merges samples with PyTorch's ``default_collate`` rules (a dataset of single tensors gives
Tensor batches, dicts give dicts, tuples give lists, Python floats float64) while the array-backed datasets
keep the vectorised path: one gather and one transform call per batch."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

from minitorch.data import (
    Compose,
    DataLoader,
    Dataset,
    Normalize,
    Subset,
    SyntheticImages,
    TensorDataset,
    ToTensor,
    default_collate,
)
from minitorch.tensor import Tensor


# ----------------------------------------------------------------- dataset[i]
def test_tensor_dataset_items_are_tensors_that_keep_their_dtype():
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    ds = TensorDataset(x, np.arange(4, dtype=np.int64))
    features, label = ds[2]
    assert isinstance(features, Tensor) and isinstance(label, Tensor)
    assert features.dtype == np.float64 and features.tolist() == [6.0, 7.0, 8.0]
    assert label.dtype == np.int64 and label.shape == () and label.item() == 2
    one, = TensorDataset(np.arange(3, dtype=np.float64))[1]  # a 0-d float64 tensor, not the default dtype
    assert one.dtype == np.float64 and one.shape == ()


def test_subset_items_and_lists_of_items():
    ds = Subset(TensorDataset(np.arange(5.0), np.arange(5)), [4, 1, 3])
    x, y = ds[0]
    assert isinstance(x, Tensor) and x.item() == 4.0 and y.item() == 4
    pairs = ds[[2, 0]]
    assert [(a.item(), b.item()) for a, b in pairs] == [(3.0, 3), (4.0, 4)]


def test_image_items_are_tensors_after_to_tensor():
    raw = SyntheticImages(size=3)
    image, label = raw[1]
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.shape == (32, 32, 3)  # as a PIL image
    assert type(label) is int
    ds = SyntheticImages(size=3, transform=Compose([ToTensor(), Normalize((0.5,) * 3, (0.5,) * 3)]))
    image, label = ds[1]
    assert isinstance(image, Tensor) and image.shape == (3, 32, 32) and image.dtype == np.float32
    assert type(label) is int and label == int(raw.targets[1])
    np.testing.assert_array_equal(image.numpy(), ds.get_batch(np.array([1]))[0][0])
    sub_image, sub_label = Subset(ds, [2, 1])[1]
    assert isinstance(sub_image, Tensor) and sub_label == label


# ----------------------------------------------------------------- default_collate
def test_collate_numbers_as_pytorch():
    floats, ints, flags = default_collate([1.5, 2.0]), default_collate([1, 2]), default_collate([True, False])
    assert floats.dtype == np.float64 and ints.dtype == np.int64 and flags.dtype == np.bool_
    assert floats.tolist() == [1.5, 2.0] and ints.tolist() == [1, 2] and flags.tolist() == [True, False]
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32  # NumPy scalars keep theirs
    assert default_collate([np.int32(1), np.int32(2)]).dtype == np.int32
    assert default_collate(["cat", "dog"]) == ["cat", "dog"]


def test_collate_tensors_and_arrays_stack_into_tensors():
    batch = default_collate([np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)])
    assert isinstance(batch, Tensor) and batch.shape == (2, 2, 3) and batch.dtype == np.float32
    t = default_collate([Tensor(np.arange(3.0)), Tensor(np.arange(3.0) + 1)])
    assert isinstance(t, Tensor) and t.tolist() == [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]]
    with pytest.raises(ValueError, match=r"cannot stack samples of different shapes \[\(2,\), \(3,\)\]"):
        default_collate([np.zeros(2), np.zeros(3)])


def test_collate_nested_structures_as_pytorch():
    """Tuples and lists give lists (one batch per field), dicts dicts, named tuples named tuples."""
    batch = default_collate([(1, (2.0, "a")), (3, (4.0, "b"))])
    assert isinstance(batch, list) and len(batch) == 2
    assert batch[0].tolist() == [1, 3] and batch[0].dtype == np.int64
    assert isinstance(batch[1], list) and batch[1][0].tolist() == [2.0, 4.0] and batch[1][1] == ["a", "b"]
    nested = default_collate([{"x": [1, 2], "y": {"z": 0.5}}, {"x": [3, 4], "y": {"z": 1.5}}])
    assert set(nested) == {"x", "y"} and [t.tolist() for t in nested["x"]] == [[1, 3], [2, 4]]
    assert nested["y"]["z"].dtype == np.float64 and nested["y"]["z"].tolist() == [0.5, 1.5]
    Point = namedtuple("Point", "x y")
    point = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(point, Point) and point.x.tolist() == [1, 3] and point.y.dtype == np.float64


def test_collate_errors_name_the_problem():
    with pytest.raises(RuntimeError, match=r"default_collate: each sample must have the same number of fields, "
                                           r"got \[1, 2\]"):
        default_collate([(1, 2), (3,)])
    with pytest.raises(TypeError, match="default_collate: cannot batch samples of type object"):
        default_collate([object(), object()])
    with pytest.raises(KeyError, match="default_collate: a sample lacks the key 'b' the first one has"):
        default_collate([{"a": 1, "b": 2}, {"a": 3}])
    with pytest.raises(TypeError, match="default_collate: samples mix a number with int, str"):
        default_collate([1, "x"])


# ----------------------------------------------------------------- batches from the loader
class Samples(Dataset):
    """No get_batch: the loader collates what __getitem__ returns."""

    def __init__(self, make, n=5):
        self.make, self.n = make, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.make(i)


def test_a_dataset_of_single_tensors_gives_tensor_batches():
    batches = list(DataLoader(Samples(lambda i: Tensor(np.full(2, float(i)))), batch_size=2))
    assert all(isinstance(b, Tensor) for b in batches)
    assert [b.shape for b in batches] == [(2, 2), (2, 2), (1, 2)]

    class OneArray(Dataset):
        def __len__(self):
            return 4

        def get_batch(self, indices):
            return np.asarray(indices, dtype=np.float32)

    assert [b.tolist() for b in DataLoader(OneArray(), batch_size=3)] == [[0.0, 1.0, 2.0], [3.0]]


def test_dict_samples_give_dict_batches():
    loader = DataLoader(Samples(lambda i: {"image": np.full((2, 2), i, np.float32), "label": i, "w": i / 2}),
                        batch_size=3)
    batch = next(iter(loader))
    assert set(batch) == {"image", "label", "w"}
    assert batch["image"].shape == (3, 2, 2) and batch["label"].dtype == np.int64 and batch["w"].dtype == np.float64


def test_tuple_samples_give_a_list_of_tensors_on_both_paths():
    fast = next(iter(DataLoader(TensorDataset(np.arange(4.0), np.arange(4)), batch_size=4)))
    slow = next(iter(DataLoader(Samples(lambda i: (float(i), i), n=4), batch_size=4)))
    for batch in (fast, slow):
        assert isinstance(batch, list) and len(batch) == 2 and all(isinstance(t, Tensor) for t in batch)
        assert batch[0].tolist() == [0.0, 1.0, 2.0, 3.0] and batch[1].tolist() == [0, 1, 2, 3]
        assert batch[0].dtype == np.float64 and batch[1].dtype == np.int64


def test_collate_fn_replaces_default_collate():
    def pairs(samples):
        return tuple(sum(int(s[0].item()) for s in samples) for _ in range(2))

    loader = DataLoader(TensorDataset(np.arange(6.0)), batch_size=3, collate_fn=pairs)
    assert list(loader) == [(3, 3), (12, 12)]  # the user's structure, and samples one by one
    with pytest.raises(TypeError, match="collate_fn must be callable, got int"):
        DataLoader(TensorDataset(np.arange(6.0)), collate_fn=3)


def test_image_batches_stay_one_gather_and_one_transform_call():
    class CountingTransform(ToTensor):
        calls = 0

        def __call__(self, x):
            CountingTransform.calls += 1
            return super().__call__(x)

    ds = SyntheticImages(size=10, transform=CountingTransform())

    def no_items(index):
        raise AssertionError("the loader must not index images one by one")

    ds.__getitem__ = no_items  # type: ignore[method-assign]
    batches = list(DataLoader(ds, batch_size=4, shuffle=True, seed=0))
    assert CountingTransform.calls == 3 and [b[0].shape for b in batches] == [(4, 3, 32, 32)] * 2 + [(2, 3, 32, 32)]
    assert isinstance(batches[0], list) and batches[0][1].dtype == np.int64
