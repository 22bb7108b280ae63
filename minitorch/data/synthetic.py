"""A synthetic 10-class image set with CIFAR-10's shape, for fast offline experiments.

Each class is a shape or texture: stripes at four orientations, a disc, a
ring, a square, a cross, a checkerboard and a triangle.  What makes it more
than a lookup table is the nuisance variation: random position, scale, small
rotation, stripe period, foreground/background colours (unrelated to the
class), a background colour ramp and pixel noise.  A class is therefore told
by its *form*, not by its colour or place, which is what a small CNN learns
and what a linear model on raw pixels struggles with.

Generation is vectorised per class (ten array programs, no per-image Python),
and train and test are independent draws from the same distribution.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minitorch.data.dataset import ImageDataset

SIZE = 32
CLASSES = ["horizontal stripes", "vertical stripes", "diagonal stripes", "anti-diagonal stripes",
           "disc", "ring", "square", "cross", "checkerboard", "triangle"]


def _stripes(angle: float) -> Callable[..., np.ndarray]:
    def mask(u: np.ndarray, v: np.ndarray, radius: np.ndarray, period: np.ndarray) -> np.ndarray:
        along = u * np.cos(angle) + v * np.sin(angle)
        return (u * u + v * v < radius**2) & (np.sin(2 * np.pi * along / period) > 0)
    return mask


def _disc(u, v, radius, period):
    return u * u + v * v < radius**2


def _ring(u, v, radius, period):
    r2 = u * u + v * v
    return (r2 < radius**2) & (r2 > (radius - 0.45 * period) ** 2)


def _square(u, v, radius, period):
    return np.maximum(np.abs(u), np.abs(v)) < 0.85 * radius


def _cross(u, v, radius, period):
    arm = 0.3 * period
    au, av = np.abs(u), np.abs(v)
    return ((au < arm) & (av < radius)) | ((av < arm) & (au < radius))


def _checkerboard(u, v, radius, period):
    cells = np.floor(u / (0.6 * period)) + np.floor(v / (0.6 * period))
    return (np.maximum(np.abs(u), np.abs(v)) < 0.85 * radius) & (cells % 2 == 0)


def _triangle(u, v, radius, period):
    # apex up (v grows downwards): inside when below the two slanted edges and above the base
    return (v < 0.6 * radius) & (v > -radius + 1.7 * np.abs(u))


_MASKS = [_stripes(np.pi / 2), _stripes(0.0), _stripes(np.pi / 4), _stripes(-np.pi / 4),
          _disc, _ring, _square, _cross, _checkerboard, _triangle]


def generate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (uint8 n x 32 x 32 x 3) with balanced, shuffled labels (int64)."""
    labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    images = np.empty((n, SIZE, SIZE, 3), dtype=np.uint8)
    grid = np.arange(SIZE, dtype=np.float32) + 0.5
    for c, mask_fn in enumerate(_MASKS):
        idx = np.flatnonzero(labels == c)
        k = len(idx)
        if k == 0:
            continue
        f32 = lambda a: np.asarray(a, dtype=np.float32)[:, None, None]  # noqa: E731  (per-image scalar)
        cx, cy = f32(rng.uniform(10, 22, k)), f32(rng.uniform(10, 22, k))
        radius = f32(rng.uniform(5.0, 11.0, k))
        period = f32(rng.uniform(3.5, 6.0, k))
        theta = f32(rng.uniform(-0.2, 0.2, k))  # +-11 degrees: orientation still tells stripes apart
        x, y = grid[None, None, :] - cx, grid[None, :, None] - cy
        cos, sin = np.cos(theta), np.sin(theta)
        u, v = cos * x + sin * y, cos * y - sin * x
        m = mask_fn(u, v, radius, period).astype(np.float32)[..., None]      # (k, 32, 32, 1)

        # Colours independent of the class; light-on-dark or dark-on-light at random.
        dark, light = rng.uniform(0.0, 0.6, (k, 3)), rng.uniform(0.4, 1.0, (k, 3))  # contrast may be low
        swap = rng.random(k) < 0.5
        fg = np.where(swap[:, None], dark, light).astype(np.float32)[:, None, None, :]
        bg = np.where(swap[:, None], light, dark).astype(np.float32)[:, None, None, :]
        ramp_dir = rng.uniform(0, 2 * np.pi, k)
        ramp = (np.cos(ramp_dir)[:, None, None] * (grid[None, None, :] - 16)
                + np.sin(ramp_dir)[:, None, None] * (grid[None, :, None] - 16)) / 16
        ramp = (ramp * rng.uniform(0.0, 0.15, k)[:, None, None]).astype(np.float32)[..., None]
        # Built in place in one float32 buffer: noise, then background, ramp and shape.
        img = rng.standard_normal((k, SIZE, SIZE, 3), dtype=np.float32)
        img *= 0.12 * 255
        img += 255 * bg + 0.5
        img += 255 * ramp
        img += m * (255 * (fg - bg))
        images[idx] = np.clip(img, 0, 255, out=img)  # the assignment truncates to uint8
    return images, labels


class SyntheticImages(ImageDataset):
    """Generated 32 x 32 colour images of 10 classes, with CIFAR10's interface.

    ``size`` defaults to 10 000 (train) or 2 000 (test).  The train and test
    sets are drawn from independent streams of the same seed, so they never
    share images but follow the same distribution.
    """

    def __init__(self, train: bool = True, size: int | None = None, seed: int = 0,
                 transform: Callable[[Any], Any] | None = None) -> None:
        self.train = train
        self.size = (10_000 if train else 2_000) if size is None else int(size)
        if self.size < 0:
            raise ValueError(f"SyntheticImages: size must be >= 0, got {size}")
        self.seed = seed
        self.transform = transform
        self.classes = list(CLASSES)
        rng = np.random.default_rng([seed, 0 if train else 1])
        self.data, self.targets = generate(self.size, rng)
