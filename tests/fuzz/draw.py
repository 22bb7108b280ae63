"""Drawing a case's inputs: shapes, values of each dtype, tie-free and non-finite values, broadcast partners.

Every function takes the case's NumPy ``Generator`` first, so a case is a pure function of its seed.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

FLOATS = ("float32", "float64")
INTS = ("int64", "int32", "uint8")
ALL_DTYPES = ("float32", "float64", "float16", "int64", "int32", "uint8", "bool")


def pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def chance(rng: np.random.Generator, p: float) -> bool:
    return bool(rng.random() < p)


def shape(rng: np.random.Generator, min_dims: int = 0, max_dims: int = 3, high: int = 4,
          zero: float = 0.0) -> tuple[int, ...]:
    """A shape of ``min_dims``..``max_dims`` sizes in 1..high; with probability ``zero`` one size is 0."""
    dims = int(rng.integers(min_dims, max_dims + 1))
    sizes = [int(s) for s in rng.integers(1, high + 1, dims)]
    if dims and chance(rng, zero):
        sizes[int(rng.integers(dims))] = 0
    return tuple(sizes)


def broadcast_partner(rng: np.random.Generator, base: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts against ``base``: a suffix of it with some sizes replaced by 1 (or ``base``)."""
    keep = int(rng.integers(0, len(base) + 1))
    sizes = list(base[len(base) - keep:])
    for i in range(len(sizes)):
        if chance(rng, 0.3):
            sizes[i] = 1
    if chance(rng, 0.2) and len(sizes) < 4:  # the partner may add a leading dim
        sizes.insert(0, int(rng.integers(1, 3)))
    return tuple(sizes)


def values(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "float64", kind: str = "normal",
           nonfinite: float = 0.0) -> np.ndarray:
    """An array of ``dtype``.  kinds: normal, distinct (no ties, at least 0.05 apart, away from 0 and the
    integers +- 0.02), positive (0.3..2), unit (-0.9..0.9), small ints.  With ``nonfinite`` > 0 that fraction
    of a float array becomes inf, -inf or NaN."""
    n = int(np.prod(shape)) if shape else 1
    if dtype == "bool":
        return (rng.random(shape) < 0.5) if shape else np.array(rng.random() < 0.5)
    if dtype in INTS:
        low = 0 if dtype == "uint8" else -5
        return rng.integers(low, 6, shape).astype(dtype) if shape else np.array(rng.integers(low, 6), dtype=dtype)
    if kind == "distinct":
        base = (rng.permutation(n) - n / 2 + 0.5) * 0.25
        array = base + rng.uniform(0.05, 0.2, n) * rng.choice([-1, 1], n)
        array = np.where(np.abs(array) < 0.05, array + 0.1, array)
    elif kind == "positive":
        array = rng.uniform(0.3, 2.0, n)
    elif kind == "unit":
        array = rng.uniform(-0.9, 0.9, n)
    else:
        array = rng.standard_normal(n) * 1.5
    array = array.reshape(shape).astype(dtype)
    if nonfinite and n:
        mask = rng.random(shape) < nonfinite
        special = rng.choice(np.array([np.inf, -np.inf, np.nan]), size=shape)
        array = np.where(mask, special, array).astype(dtype)
    return np.asarray(array)


def dim_of(rng: np.random.Generator, ndim: int) -> int:
    """A valid dim of an ``ndim``-dim tensor, sometimes negative (0-d tensors take 0 and -1)."""
    n = max(ndim, 1)
    d = int(rng.integers(n))
    return d - n if chance(rng, 0.4) else d


def upstream(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "float64") -> np.ndarray:
    """A random upstream gradient (not all ones, so that a backward that mixes up elements is caught)."""
    return np.asarray(rng.uniform(-1.5, 1.5, shape).astype(dtype))


def python_scalar(rng: np.random.Generator, kinds: Sequence[str] = ("int", "float", "bool")) -> Any:
    kind = pick(rng, kinds)
    if kind == "int":
        return int(rng.integers(-3, 4))
    if kind == "bool":
        return bool(rng.random() < 0.5)
    return float(np.round(rng.standard_normal() * 2, 3))
