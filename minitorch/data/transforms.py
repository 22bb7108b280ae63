"""Image transforms that work on one image or on a whole batch at once.

Transforms take and return raw arrays (NumPy, or CuPy where noted), never
Tensors: they run before the DataLoader builds its batch Tensors and are not
part of the autograd graph.

Layout follows torchvision's split at :class:`ToTensor`:

* before it, images are **uint8, channels last**: ``(H, W, C)`` or ``(N, H, W, C)``,
  the way CIFAR-10 is stored;
* after it, they are **float, channels first**: ``(C, H, W)`` or ``(N, C, H, W)``.

The random transforms (flip, crop) accept either layout and tell them apart by
that rule (integer dtype = channels last, float dtype = channels first).  They
decide per sample but act on the whole batch with array operations, and draw
their decisions from their own seeded ``np.random.Generator`` whose state
``state_dict()`` captures, so a resumed run makes the same decisions.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minitorch.backend import get_array_module, get_default_dtype
from minitorch.random import make_generator


def _channels_last(x: Any) -> bool:
    return x.dtype.kind in "uib"


class Compose:
    """Apply transforms in order: ``Compose([RandomCrop(32, 4), ToTensor()])``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def state_dict(self) -> dict[str, Any]:
        """The states of the members that have one, keyed by position."""
        return {str(i): t.state_dict() for i, t in enumerate(self.transforms)
                if hasattr(t, "state_dict")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, sub in state.items():
            member: Any = self.transforms[int(key)]  # one that has a state (see state_dict)
            member.load_state_dict(sub)

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class ToTensor:
    """uint8 ``(..., H, W, C)`` in [0, 255] -> float ``(..., C, H, W)`` in [0, 1].

    The result has the default dtype (float32 unless changed).  Float input is
    only moved to channels first and cast, not rescaled, as in torchvision.
    """

    def __call__(self, x: Any) -> Any:
        xp = get_array_module(x)
        x = xp.asarray(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"ToTensor expects (H, W, C) or (N, H, W, C), got shape {x.shape}")
        dtype = get_default_dtype()
        out = xp.ascontiguousarray(xp.moveaxis(x, -1, -3), dtype=dtype)
        if x.dtype == np.uint8:
            out /= dtype.type(255)
        return out

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel, on float ``(C, H, W)`` or ``(N, C, H, W)``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"Normalize: mean has {self.mean.size} values but std has {self.std.size}")
        if np.any(self.std == 0):
            raise ValueError("Normalize: std must not contain zeros")

    def __call__(self, x: Any) -> Any:
        xp = get_array_module(x)
        if x.ndim not in (3, 4) or x.dtype.kind != "f":
            raise ValueError(f"Normalize expects a float (C, H, W) or (N, C, H, W) array "
                             f"(apply ToTensor first), got {x.dtype} {x.shape}")
        channels = x.shape[-3]
        if self.mean.size not in (1, channels):
            raise ValueError(f"Normalize: {self.mean.size} means for {channels} channels")
        shape = (-1, 1, 1)
        mean = xp.asarray(self.mean.reshape(shape), dtype=x.dtype)
        std = xp.asarray(self.std.reshape(shape), dtype=x.dtype)
        return (x - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomTransform:
    """Base of the random transforms: owns a generator and exposes its state."""

    def __init__(self, seed: int | None = None) -> None:
        self.generator = make_generator(seed)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.bit_generator.state = state["generator"]

    def __call__(self, x: Any) -> Any:
        if x.ndim == 3:  # one image: treat it as a batch of one
            return self.apply_batch(x[None])[0]
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__} expects one image (3-D) or a batch (4-D), "
                             f"got shape {x.shape}")
        return self.apply_batch(x)

    def apply_batch(self, x: Any) -> Any:
        raise NotImplementedError


class RandomHorizontalFlip(RandomTransform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5, seed: int | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        super().__init__(seed)
        self.p = p

    def apply_batch(self, x: Any) -> Any:
        xp = get_array_module(x)
        flip = xp.asarray(self.generator.random(len(x)) < self.p)
        width_axis = -2 if _channels_last(x) else -1
        return xp.where(flip[:, None, None, None], xp.flip(x, axis=width_axis), x)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop(RandomTransform):
    """Pad each side with ``padding`` zeros, then cut a ``size`` window at a random offset per image."""

    def __init__(self, size: int | tuple[int, int], padding: int = 0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f"RandomCrop: size must be a positive int or (h, w), got {size}")
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding = int(padding)

    def apply_batch(self, x: Any) -> Any:
        xp = get_array_module(x)
        last = _channels_last(x)
        if not last:  # gather in channels-last order, move back at the end
            x = xp.moveaxis(x, 1, -1)
        n, height, width, _ = x.shape
        p, (h, w) = self.padding, self.size
        if p:
            x = xp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        if h > height + 2 * p or w > width + 2 * p:
            raise ValueError(f"RandomCrop: crop {h}x{w} is larger than the padded image "
                             f"{height + 2 * p}x{width + 2 * p}")
        top = self.generator.integers(0, height + 2 * p - h + 1, size=n)
        left = self.generator.integers(0, width + 2 * p - w + 1, size=n)
        # One gather for the whole batch: out[i, r, c] = x[i, top[i] + r, left[i] + c].
        rows = xp.asarray(top[:, None] + np.arange(h))        # (n, h)
        cols = xp.asarray(left[:, None] + np.arange(w))       # (n, w)
        batch = xp.arange(n)[:, None, None]
        out = x[batch, rows[:, :, None], cols[:, None, :]]     # (n, h, w, C)
        return out if last else xp.ascontiguousarray(xp.moveaxis(out, -1, 1))

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"
