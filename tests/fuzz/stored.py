"""PyTorch's outcomes of a fixed sample of cases, stored in tests/reference/fuzz.npz (written by
tests/reference/make_fuzz_references.py), so that the fuzzer runs in the suite without torch.

The file holds one array per tensor of every outcome (``a0``, ``a1``...), and ``index``: a JSON list of
``[generator, seed, fingerprint of the inputs, outcome]`` where an outcome's tensors name their arrays.
"""
from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .core import Case, Framework, run
from .registry import GENERATORS, fingerprint, make_case, schedule

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference", "fuzz.npz")
STORED_CASES = 2400
STORED_START = 1_000_000  # far above the seeds of any live run, so the sample is fresh to them


def sample() -> list[tuple[str, int]]:
    return schedule(STORED_CASES, STORED_START)


def _encode(outcome: Any, arrays: dict[str, np.ndarray]) -> Any:
    kind = outcome[0]
    if kind in ("T", "A"):
        key = f"a{len(arrays)}"
        arrays[key] = outcome[2]
        return [kind, outcome[1], key]
    if kind == "seq":
        return ["seq", [_encode(x, arrays) for x in outcome[1]]]
    if kind == "dict":
        return ["dict", [[k, _encode(v, arrays)] for k, v in outcome[1]]]
    return list(outcome)


def _decode(obj: Any, arrays: Any) -> Any:
    kind = obj[0]
    if kind in ("T", "A"):
        return (kind, obj[1], arrays[obj[2]])
    if kind == "seq":
        return ("seq", tuple(_decode(x, arrays) for x in obj[1]))
    if kind == "dict":
        return ("dict", tuple((k, _decode(v, arrays)) for k, v in obj[1]))
    return tuple(obj)


def write(path: str = PATH) -> int:
    """Run the sample on torch and store the outcomes; returns the number of cases."""
    torch = Framework("torch")
    arrays: dict[str, np.ndarray] = {}
    index = []
    for name, seed in sample():
        case = make_case(name, seed)
        index.append([name, seed, fingerprint(case.inputs), _encode(run(case, torch), arrays)])
    import torch as _torch

    np.savez_compressed(path, index=np.array(json.dumps(index)), torch_version=np.array(_torch.__version__),
                        **arrays)
    return len(index)


def load(path: str = PATH) -> list[tuple[str, int, int, Any]]:
    """The stored cases: (generator, seed, fingerprint, torch's outcome)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    index = json.loads(str(arrays["index"]))
    return [(name, seed, crc, _decode(outcome, arrays)) for name, seed, crc, outcome in index]


def replay(name: str, seed: int, crc: int) -> tuple[Case, bool]:
    """The case rebuilt from its seed, and whether its inputs are those the stored outcome was computed from."""
    case = make_case(name, seed)
    return case, fingerprint(case.inputs) == crc and name in GENERATORS
