"""``torchvision.utils.make_grid``: a batch of images tiled into one image, for showing a batch."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minitorch.tensor import Tensor


def make_grid(tensor: Any, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Images (B, C, H, W) (or a list of (C, H, W)) laid out in rows of ``nrow``, ``padding`` pixels apart,
    as a (C, H', W') tensor; single-channel images become three channels, as in torchvision."""
    if isinstance(tensor, (list, tuple)):
        images = np.stack([t.numpy() if isinstance(t, Tensor) else np.asarray(t) for t in tensor])
    else:
        images = tensor.detach().numpy() if isinstance(tensor, Tensor) else np.asarray(tensor)
    if images.ndim == 2:
        images = images[None]
    if images.ndim == 3:
        images = images[None] if images.shape[0] in (1, 3) else images[:, None]
    if images.ndim != 4:
        raise ValueError(f"make_grid: expected images of shape (B, C, H, W), got {images.shape}")
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, axis=1)
    if normalize:
        images = images.astype(np.float64)
        parts = list(images) if scale_each else [images]
        for part in parts:
            low, high = value_range if value_range is not None else (part.min(), part.max())
            part[...] = np.clip(part, low, high)
            part -= low
            part /= max(high - low, 1e-5)
        images = images.astype(tensor.dtype if hasattr(tensor, "dtype") else np.float32)
    count, channels, height, width = images.shape
    columns = min(nrow, count)
    rows = int(math.ceil(count / columns))
    h, w = height + padding, width + padding
    grid = np.full((channels, rows * h + padding, columns * w + padding), pad_value, dtype=images.dtype)
    for k in range(count):
        r, c = divmod(k, columns)
        grid[:, r * h + padding: r * h + padding + height, c * w + padding: c * w + padding + width] = images[k]
    return Tensor(grid)


__all__ = ["make_grid"]
