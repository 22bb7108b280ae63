"""The generators, by family, and how a case (a generator's name and a seed) is rebuilt."""
from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from .core import Case, Framework

Generator = Callable[[np.random.Generator], Case]
GENERATORS: dict[str, tuple[str, Generator]] = {}
WEIGHTS: dict[str, int] = {}


def generator(family: str, weight: int = 1) -> Callable[[Generator], Generator]:
    """Register a case generator under its function name, in ``family``; ``weight`` is its share of the cases
    (the generators with many ops and options get more)."""
    def register(fn: Generator) -> Generator:
        assert fn.__name__ not in GENERATORS, fn.__name__
        GENERATORS[fn.__name__] = (family, fn)
        WEIGHTS[fn.__name__] = weight
        return fn
    return register


def schedule(n: int, start: int = 0, names: list[str] | None = None) -> list[tuple[str, int]]:
    """``n`` cases (generator name, seed): the generators in turn, each ``weight`` times per round, each
    generator's seeds counting up from ``start`` (the stored sample starts far above any live run's seeds)."""
    names = sorted(GENERATORS) if names is None else names
    cycle = [name for name in names for _ in range(WEIGHTS[name])]
    counts = dict.fromkeys(names, start)
    out = []
    for i in range(n):
        name = cycle[i % len(cycle)]
        out.append((name, counts[name]))
        counts[name] += 1
    return out


def make_case(name: str, seed: int) -> Case:
    rng = np.random.default_rng([zlib.crc32(name.encode()), seed])
    return GENERATORS[name][1](rng)


def backward(fw: Framework, out: Any, grad: Any, *leaves: Any) -> list[Any]:
    """``out.backward(grad)`` and the leaves' gradients (the upstream gradient drawn by the generator)."""
    out.backward(fw.t(grad))
    return [leaf.grad for leaf in leaves]


def fingerprint(inputs: dict[str, Any]) -> int:
    """A checksum of a case's inputs, stored with torch's outcome so that a drifted generator is noticed."""
    crc = 0
    for key in sorted(inputs):
        value = inputs[key]
        if isinstance(value, np.ndarray):
            crc = zlib.crc32(f"{key}:{value.dtype}:{value.shape}".encode(), crc)
            crc = zlib.crc32(np.ascontiguousarray(value).tobytes(), crc)
        else:
            crc = zlib.crc32(f"{key}={_text(value)}".encode(), crc)
    return crc


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array({value.dtype}, {value.tolist()})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return repr(value)
