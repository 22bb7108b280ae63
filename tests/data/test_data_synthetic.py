"""SyntheticImages: CIFAR-shaped, balanced, reproducible, and learnable from form rather than colour."""
from __future__ import annotations

import numpy as np
import pytest

from minitorch.data import SyntheticImages, ToTensor, synthetic


@pytest.fixture(scope="module")
def splits():
    return SyntheticImages(size=2000), SyntheticImages(train=False, size=500)


def test_shapes_dtypes_and_balance(splits):
    train, test = splits
    assert train.data.shape == (2000, 32, 32, 3) and train.data.dtype == np.uint8
    assert train.targets.dtype == np.int64 and train.targets.shape == (2000,)
    assert len(train.classes) == 10 and len(set(train.classes)) == 10
    assert np.bincount(train.targets, minlength=10).tolist() == [200] * 10
    assert np.bincount(test.targets, minlength=10).tolist() == [50] * 10
    assert train.data.std() > 30                      # images, not a constant


def test_default_sizes(monkeypatch):
    sizes = []

    def fake_generate(n, rng):  # skip the pixels: only the sizes asked for matter here
        sizes.append(n)
        return np.zeros((n, 32, 32, 3), np.uint8), np.zeros(n, np.int64)

    monkeypatch.setattr(synthetic, "generate", fake_generate)
    assert len(SyntheticImages(train=True)) == 10000 and len(SyntheticImages(train=False)) == 2000
    assert sizes == [10000, 2000]


def test_reproducible_and_train_test_differ(splits):
    train, test = splits
    again = SyntheticImages(size=2000)
    np.testing.assert_array_equal(again.data, train.data)
    np.testing.assert_array_equal(again.targets, train.targets)
    assert not np.array_equal(SyntheticImages(size=2000, seed=1).data, train.data)
    assert not np.array_equal(test.data, train.data[:500])


def test_interface_matches_cifar10(splits):
    train, _ = splits
    ds = SyntheticImages(size=30, transform=ToTensor())
    image, label = ds[4]
    assert image.shape == (3, 32, 32) and isinstance(label, int) and label == ds.targets[4]
    images, labels = ds.get_batch(np.array([4, 0]))
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [ds.targets[4], ds.targets[0]]
    np.testing.assert_array_equal(images[0], image)


def _nearest_mean_accuracy(train_x, train_y, test_x, test_y) -> float:
    means = np.stack([train_x[train_y == c].mean(0) for c in range(10)])
    dist = ((test_x[:, None, :] - means[None]) ** 2).sum(-1)
    return float((dist.argmin(1) == test_y).mean())


def _spectrum(images: np.ndarray) -> np.ndarray:
    """Translation-invariant features: log magnitude of the grey image's 2-D Fourier transform."""
    grey = images.astype(np.float32).mean(-1)
    grey -= grey.mean((1, 2), keepdims=True)
    return np.log1p(np.abs(np.fft.rfft2(grey))).reshape(len(images), -1)


def test_classes_are_distinguishable_by_form_but_not_by_raw_colour(splits):
    train, test = splits
    by_form = _nearest_mean_accuracy(_spectrum(train.data), train.targets, _spectrum(test.data), test.targets)
    assert by_form > 0.6, f"nearest class mean on spectra: {by_form:.2f} (chance 0.10)"
    raw = lambda d: d.reshape(len(d), -1).astype(np.float32)  # noqa: E731
    by_pixels = _nearest_mean_accuracy(raw(train.data), train.targets, raw(test.data), test.targets)
    assert by_pixels < 0.3, f"raw pixels should not give the class away: {by_pixels:.2f}"
