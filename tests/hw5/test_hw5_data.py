"""Choosing the data: CIFAR-10 in its official layout when present, the synthetic set otherwise, loudly."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from hw5_helpers import tiny

from hw5.data import DataDamaged, DataMissing, DataUnavailable, load_data


def write_fake_cifar10(root, per_batch: int = 20) -> str:
    """A few random images in CIFAR-10's official python layout, pickled the way the real files are."""
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"labels": [int(x) for x in rng.integers(0, 10, per_batch)]}
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(batch, f, protocol=2)
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({b"label_names": [f"class{i}".encode() for i in range(10)]}, f, protocol=2)
    return folder


def test_auto_falls_back_to_synthetic_and_says_so(capsys):
    data = load_data(tiny("fig1a", dataset="auto"))
    assert data.name == "synthetic" and len(data.train) == 120 and len(data.test) == 60
    assert "CIFAR-10 is not in" in data.fallback_reason
    err = capsys.readouterr().err
    assert "TRAINING ON THE SYNTHETIC IMAGE SET INSTEAD" in err


def test_cifar10_missing_says_where_to_put_it(tmp_path):
    with pytest.raises(DataMissing) as info:
        load_data(tiny("fig1a", dataset="cifar10", data_dir=str(tmp_path / "empty")))
    message = str(info.value)
    assert os.path.join(str(tmp_path / "empty"), "cifar-10-batches-py") in message
    assert "cifar-10-python.tar.gz" in message and "--dataset synthetic" in message


def test_cifar10_in_the_official_layout_is_used(tmp_path):
    write_fake_cifar10(str(tmp_path))
    for dataset in ("cifar10", "auto"):
        data = load_data(tiny("fig1a", dataset=dataset, data_dir=str(tmp_path), train_size=50, test_size=None))
        assert data.name == "cifar10" and data.fallback_reason == ""
        assert (len(data.train), len(data.train_eval), len(data.test)) == (50, 50, 20)
        assert data.classes == [f"class{i}" for i in range(10)]


def test_a_damaged_cifar10_is_an_error_not_a_fallback(tmp_path):
    folder = write_fake_cifar10(str(tmp_path))
    with open(os.path.join(folder, "data_batch_3"), "wb") as f:
        f.write(b"not a pickle")
    with pytest.raises(DataUnavailable, match="cannot be read"):
        load_data(tiny("fig1a", dataset="auto", data_dir=str(tmp_path)))


@pytest.mark.parametrize("damage", ["a batch missing", "a batch without images"])
def test_an_incomplete_cifar10_folder_is_an_error_naming_the_file_not_a_fallback(tmp_path, damage):
    folder = write_fake_cifar10(str(tmp_path))
    path = os.path.join(folder, "data_batch_5")
    os.remove(path)
    if damage == "a batch without images":
        with open(path, "wb") as f:
            pickle.dump({b"data": np.zeros((0, 3072), np.uint8), b"labels": np.zeros(0, np.int64)}, f, protocol=4)
    for dataset in ("cifar10", "auto"):
        with pytest.raises(DataDamaged, match=path):
            load_data(tiny("fig1a", dataset=dataset, data_dir=str(tmp_path)))


def test_images_are_normalised_and_only_training_images_are_flipped(tmp_path):
    write_fake_cifar10(str(tmp_path))
    data = load_data(tiny("fig3b", dataset="cifar10", data_dir=str(tmp_path), flip=True, seed=3))
    index = np.arange(len(data.train))
    plain, _ = data.train_eval.get_batch(index)
    flipped, _ = data.train.get_batch(index)
    assert plain.shape == (100, 3, 32, 32) and plain.dtype == np.float32
    assert plain.min() >= -1.0 and plain.max() <= 1.0 and plain.min() < -0.9 and plain.max() > 0.9
    mirrored = [np.array_equal(f, p[:, :, ::-1]) for f, p in zip(flipped, plain, strict=False)]
    unchanged = [np.array_equal(f, p) for f, p in zip(flipped, plain, strict=False)]
    assert all(m or u for m, u in zip(mirrored, unchanged, strict=False))
    assert 20 < sum(mirrored) < 80                      # about half are flipped
    test, _ = data.test.get_batch(np.arange(len(data.test)))
    assert np.array_equal(test, data.test.get_batch(np.arange(len(data.test)))[0])  # no randomness
