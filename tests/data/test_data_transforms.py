"""Transforms: exact values, both layouts, whole batches, per-sample randomness from a seed."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch
from minitorch.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor


@pytest.fixture
def images():
    """A batch of 64 random uint8 HWC images: no two columns alike, so any flip or shift shows."""
    return np.random.default_rng(0).integers(0, 256, (64, 8, 10, 3), dtype=np.uint8)


# ------------------------------------------------------------------ ToTensor
def test_to_tensor_single_image(images):
    out = ToTensor()(images[0])
    assert out.shape == (3, 8, 10) and out.dtype == np.float32 and out.flags["C_CONTIGUOUS"]
    assert out[2, 5, 7] == np.float32(images[0, 5, 7, 2]) / np.float32(255)
    np.testing.assert_array_equal(out, images[0].transpose(2, 0, 1).astype(np.float32) / np.float32(255))


def test_to_tensor_batch_is_the_stack_of_single_images(images):
    out = ToTensor()(images)
    assert out.shape == (64, 3, 8, 10)
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out[17], ToTensor()(images[17]))


def test_to_tensor_follows_the_default_dtype(images):
    minitorch.set_default_dtype(np.float64)
    try:
        out = ToTensor()(images)
    finally:
        minitorch.set_default_dtype(np.float32)
    assert out.dtype == np.float64
    assert out[0, 1, 2, 3] == images[0, 2, 3, 1] / 255.0


def test_to_tensor_rejects_wrong_rank():
    with pytest.raises(ValueError, match="ToTensor"):
        ToTensor()(np.zeros((8, 8), np.uint8))


# ----------------------------------------------------------------- Normalize
def test_normalize_per_channel(images):
    x = ToTensor()(images)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.25, 0.5)
    out = Normalize(mean, std)(x)
    assert out.shape == x.shape and out.dtype == np.float32
    for c in range(3):
        np.testing.assert_allclose(out[:, c], (x[:, c] - mean[c]) / std[c], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(Normalize(mean, std)(x[5]), out[5], rtol=1e-6)
    assert out is not x and not np.shares_memory(out, x)


def test_normalize_checks_its_input():
    with pytest.raises(ValueError, match="2 means for 3 channels"):
        Normalize((0.5, 0.5), (1, 1))(np.zeros((3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="ToTensor first"):
        Normalize((0.5,), (1,))(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="zeros"):
        Normalize((0.5,), (0,))


# ------------------------------------------------------------------- flips
def test_flip_p1_mirrors_every_image_in_both_layouts(images):
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0, seed=0)(images), images[:, :, ::-1, :])
    x = ToTensor()(images)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0, seed=0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0, seed=0)(images[3]), images[3, :, ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0, seed=0)(images), images)


def test_flip_decides_per_sample_from_its_seed(images):
    out = RandomHorizontalFlip(p=0.5, seed=3)(images)
    flipped = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images, strict=False)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, images, strict=False)])
    assert np.all(flipped ^ kept)                  # every sample is exactly one of the two
    assert 16 <= flipped.sum() <= 48               # about half of 64
    np.testing.assert_array_equal(flipped, np.random.default_rng(3).random(64) < 0.5)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.5, seed=3)(images), out)
    assert not np.array_equal(RandomHorizontalFlip(p=0.5, seed=4)(images), out)


# -------------------------------------------------------------------- crops
def _offsets(out, padded, size):
    """Brute force: where in each padded image does each crop come from?"""
    found = []
    for o, p in zip(out, padded, strict=False):
        hits = [(t, l) for t in range(p.shape[0] - size[0] + 1) for l in range(p.shape[1] - size[1] + 1)
                if np.array_equal(p[t:t + size[0], l:l + size[1]], o)]
        assert len(hits) == 1, "crop is not a window of the padded image"
        found.append(hits[0])
    return np.array(found)


def test_crop_with_padding_keeps_size_and_cuts_windows_of_the_padded_image(images):
    out = RandomCrop((8, 10), padding=2, seed=5)(images)
    assert out.shape == images.shape and out.dtype == np.uint8
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    offsets = _offsets(out, padded, (8, 10))
    assert len({tuple(o) for o in offsets}) > 10                     # per-sample offsets
    # Every offset in [0, 4] occurs, so some crops include the zero border (which the match checked).
    assert set(offsets[:, 0]) == set(offsets[:, 1]) == {0, 1, 2, 3, 4}
    top = np.flatnonzero(offsets[:, 0] == 0)[0]
    assert np.all(out[top, :2] == 0)


def test_crop_without_padding_shrinks(images):
    out = RandomCrop(5, seed=1)(images)
    assert out.shape == (64, 5, 5, 3)
    _offsets(out, images, (5, 5))
    assert RandomCrop(5, seed=1)(images[0]).shape == (5, 5, 3)


def test_crop_is_the_same_in_both_layouts(images):
    hwc = RandomCrop(6, padding=3, seed=11)(images)
    chw = RandomCrop(6, padding=3, seed=11)(ToTensor()(images))
    assert chw.shape == (64, 3, 6, 6) and chw.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(chw, ToTensor()(hwc))


def test_crop_determinism_and_errors(images):
    a = RandomCrop(6, padding=2, seed=2)(images)
    np.testing.assert_array_equal(a, RandomCrop(6, padding=2, seed=2)(images))
    assert not np.array_equal(a, RandomCrop(6, padding=2, seed=9)(images))
    with pytest.raises(ValueError, match="larger than the padded image"):
        RandomCrop(13, padding=2)(images)


# ------------------------------------------------------------ compose/state
def test_compose_applies_in_order_and_restores_random_state(images):
    t = Compose([RandomCrop(8, padding=1, seed=0), RandomHorizontalFlip(seed=1), ToTensor(),
                 Normalize((0.5,) * 3, (0.5,) * 3)])
    state = t.state_dict()
    assert set(state) == {"0", "1"}
    first = t(images[:, :, :8])
    assert first.shape == (64, 3, 8, 8) and first.min() >= -1 and first.max() <= 1
    second = t(images[:, :, :8])
    assert not np.array_equal(first, second)           # the generators moved on
    t.load_state_dict(state)
    np.testing.assert_array_equal(t(images[:, :, :8]), first)


def test_unseeded_transforms_follow_minitorch_manual_seed(images):
    minitorch.manual_seed(123)
    a = RandomCrop(6, padding=2)(images)
    minitorch.manual_seed(123)
    b = RandomCrop(6, padding=2)(images)
    np.testing.assert_array_equal(a, b)
