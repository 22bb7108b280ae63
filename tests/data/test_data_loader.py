"""DataLoader: batching, shuffling from a seed, the fast and slow paths, exact resumption."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import minitorch
from minitorch.data import (
    Compose,
    DataLoader,
    Dataset,
    RandomCrop,
    RandomHorizontalFlip,
    Subset,
    SyntheticImages,
    TensorDataset,
    ToTensor,
)
from minitorch.tensor import Tensor


def numbered(n: int = 10) -> TensorDataset:
    """Sample i is (features [i, 10 i], label i % 3)."""
    x = np.stack([np.arange(n), 10 * np.arange(n)], 1).astype(np.float32)
    return TensorDataset(x, np.arange(n) % 3)


def first_column(loader) -> list[list[int]]:
    return [batch[0].numpy()[:, 0].astype(int).tolist() for batch in loader]


# ----------------------------------------------------------------- batching
def test_batches_in_order_with_a_partial_last_batch():
    loader = DataLoader(numbered(10), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert first_column(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = batches[2]
    assert isinstance(x, Tensor) and isinstance(y, Tensor)
    assert x.dtype == np.float32 and y.dtype == np.int64 and x.device == "cpu"
    assert y.tolist() == [8 % 3, 9 % 3]
    np.testing.assert_array_equal(x.numpy()[:, 1], [80, 90])


def test_drop_last_drops_the_partial_batch():
    loader = DataLoader(numbered(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert first_column(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(numbered(8), batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(numbered(8), batch_size=4)) == 2
    assert len(DataLoader(numbered(3), batch_size=4, drop_last=True)) == 0


def test_rejects_bad_batch_size():
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(numbered(), batch_size=bad)


class PerSample(Dataset):
    """No get_batch: the loader must stack samples.  Counts calls."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        self.calls += 1
        return np.full((2, 2), i, np.float32), i, float(i) / 2


def test_falls_back_to_stacking_samples():
    ds = PerSample(5)
    x, label, half = list(DataLoader(ds, batch_size=3))[1]
    assert ds.calls == 5
    assert x.shape == (2, 2, 2) and x.numpy()[1, 0, 0] == 4
    assert label.dtype == np.int64 and label.tolist() == [3, 4]
    assert half.dtype == np.float64 and half.tolist() == [1.5, 2.0]  # Python floats: float64, as in PyTorch


def test_uses_get_batch_with_one_call_per_batch():
    class Counting(TensorDataset):
        calls = 0

        def __getitem__(self, i):
            raise AssertionError("the fast path must not index samples one by one")

        def get_batch(self, indices):
            Counting.calls += 1
            return super().get_batch(indices)

    loader = DataLoader(Counting(np.arange(10.0), np.arange(10)), batch_size=4, shuffle=True, seed=0)
    assert sorted(np.concatenate([b.numpy() for b, _ in loader]).tolist()) == list(range(10))
    assert Counting.calls == 3


# ---------------------------------------------------------------- shuffling
def test_shuffle_is_reproducible_from_the_seed_and_new_each_epoch():
    def epochs(seed, n=3):
        loader = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=seed)
        return [sum(first_column(loader), []) for _ in range(n)]

    a, b = epochs(1), epochs(1)
    assert a == b
    for order in a:
        assert sorted(order) == list(range(50))      # each epoch is a permutation
    assert a[0] != a[1] != a[2] and a[0] != list(range(50))
    assert epochs(2)[0] != a[0]
    # the permutations are those drawn from np.random.default_rng(seed), one per epoch
    rng = np.random.default_rng(1)
    assert a[0] == rng.permutation(50).tolist() and a[1] == rng.permutation(50).tolist()


def test_no_shuffle_means_the_same_order_every_epoch():
    loader = DataLoader(numbered(7), batch_size=3)
    assert first_column(loader) == first_column(loader) == [[0, 1, 2], [3, 4, 5], [6]]


def test_unseeded_shuffle_follows_minitorch_manual_seed():
    minitorch.manual_seed(7)
    a = first_column(DataLoader(numbered(30), batch_size=30, shuffle=True))
    minitorch.manual_seed(7)
    b = first_column(DataLoader(numbered(30), batch_size=30, shuffle=True))
    assert a == b and a != [list(range(30))]


def test_subset_keeps_the_fast_path():
    ds = Subset(numbered(10), [9, 2, 5])
    assert hasattr(ds, "get_batch")
    assert first_column(DataLoader(ds, batch_size=2)) == [[9, 2], [5]]
    assert not hasattr(Subset(PerSample(4), [1]), "get_batch")


# ------------------------------------------------------------- resumption
def augmented(seed: int) -> SyntheticImages:
    return SyntheticImages(size=40, seed=0, transform=Compose([
        RandomCrop(32, padding=4, seed=seed), RandomHorizontalFlip(seed=seed + 1), ToTensor()]))


def arrays(batches):
    return [tuple(t.numpy().copy() for t in batch) for batch in batches]


def assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=False):
        for a, b in zip(g, w, strict=False):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("stop_after", [0, 2, 5])  # at the epoch boundary, mid-epoch, after the last batch
def test_state_dict_resumes_bit_identically(stop_after):
    reference = DataLoader(augmented(seed=10), batch_size=8, shuffle=True, seed=3)
    list(reference)                                       # epoch 1
    it = iter(reference)
    seen = arrays(next(it) for _ in range(stop_after))    # part of epoch 2
    state = pickle.loads(pickle.dumps(reference.state_dict()))   # as a checkpoint would
    rest = arrays(it)
    following = arrays(reference)                         # epoch 3
    assert len(seen) + len(rest) == len(reference) == 5

    # A fresh loader with different seeds, restored from the state, continues identically.
    resumed = DataLoader(augmented(seed=99), batch_size=8, shuffle=True, seed=42)
    resumed.load_state_dict(state)
    assert_same(arrays(resumed), rest)
    assert_same(arrays(resumed), following)


def test_state_dict_without_loading_would_differ():
    """Guards the test above: different seeds really give different batches."""
    a = arrays(DataLoader(augmented(seed=10), batch_size=8, shuffle=True, seed=3))
    b = arrays(DataLoader(augmented(seed=99), batch_size=8, shuffle=True, seed=42))
    assert not np.array_equal(a[0][0], b[0][0])


def test_load_state_dict_checks_compatibility():
    shuffled = DataLoader(numbered(), batch_size=2, shuffle=True, seed=0)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(numbered(), batch_size=2).load_state_dict(shuffled.state_dict())
    with pytest.raises(ValueError, match="random transforms"):
        DataLoader(augmented(0), batch_size=2, shuffle=True).load_state_dict(shuffled.state_dict())


# ------------------------------------------------------------------ devices
def test_images_come_out_in_the_default_dtype_and_labels_int64():
    loader = DataLoader(SyntheticImages(size=20, transform=ToTensor()), batch_size=16)
    x, y = next(iter(loader))
    assert x.shape == (16, 3, 32, 32) and x.dtype == minitorch.get_default_dtype()
    assert y.dtype == np.int64 and y.shape == (16,)
    minitorch.set_default_dtype(np.float64)
    try:
        assert next(iter(loader))[0].dtype == np.float64
    finally:
        minitorch.set_default_dtype(np.float32)


def test_cuda_device_works_or_fails_clearly():
    if minitorch.cupy_available():
        x, _ = next(iter(DataLoader(numbered(), batch_size=2, device="cuda")))
        assert x.device == "cuda"
    else:
        with pytest.raises(RuntimeError, match="cuda"):
            DataLoader(numbered(), device="cuda")


def test_bad_batch_size_and_0d_arrays():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got True"):
        DataLoader(numbered(), batch_size=True)  # was a batch size of 1
    with pytest.raises(ValueError, match="TensorDataset: array 1 is 0-dimensional; each needs a first dim of samples"):
        TensorDataset(np.arange(3.0), np.float32(1.0))  # "len() of unsized object"
