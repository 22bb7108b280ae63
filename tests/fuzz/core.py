"""The fuzzer's machinery: frameworks, cases, outcomes, and how two outcomes are compared.

A *case* is a generator's name and a seed.  The generator (a function of a NumPy ``Generator``) draws every
input of the case as NumPy arrays and Python values up front and returns them with a *program*: a function of
a :class:`Framework` (torch or minitorch, the same names on both) and of those inputs.  The program runs once
per framework, so the two frameworks see the same inputs, and nothing random happens inside it.

What a program returns is reduced to a framework-free *outcome* (:func:`canon`): nested tuples and dicts of
``("T", dtype, array)`` for a tensor, ``("py", type name, value)`` for a Python number, string or bool, and so
on; a program that raises gives ``("raise", exception type, message)``.  :func:`compare` says how two outcomes
differ, or None when they agree: tensors need the same dtype and shape, equal NaN and infinity positions, and
finite values within a tolerance that depends on the dtype.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# max|a - b| <= TOL * max(1, max|b|) over the finite values; integers, bools and dtypes compare exactly
TOL = {"float64": 1e-7, "float32": 2e-4, "float16": 4e-3}


class Framework:
    """torch or minitorch behind one set of names: ``lib`` is the package, ``nn``, ``F``, ``optim``, ``data``."""

    def __init__(self, name: str):
        self.name = name
        if name == "torch":
            import torch
            import torch.nn.functional as F
            import torch.utils.data as data

            self.lib = torch
        else:
            import minitorch as lib
            import minitorch.nn.functional as F
            import minitorch.utils.data as data

            self.lib = lib
        self.nn = self.lib.nn
        self.F = F
        self.optim = self.lib.optim
        self.data = data

    def t(self, array: Any, requires_grad: bool = False) -> Any:
        """A tensor holding a copy of a NumPy array, with its dtype."""
        array = np.array(array)
        if self.name == "torch":
            out = self.lib.from_numpy(array.copy())
        else:
            out = self.lib.tensor(array.copy())
        if requires_grad:
            out.requires_grad_(True)
        return out

    def dtype(self, name: str) -> Any:
        return getattr(self.lib, name)

    def is_tensor(self, x: Any) -> bool:
        return isinstance(x, self.lib.Tensor)

    def load(self, module: Any, weights: dict[str, np.ndarray]) -> Any:
        """Give ``module`` the case's weights (drawn from minitorch's state_dict shapes by the generator)."""
        module.load_state_dict({k: self.t(v) for k, v in weights.items()})
        return module

    def state(self) -> tuple:
        return (self.lib.get_default_dtype(), self.lib.is_grad_enabled())

    def restore(self, state: tuple) -> None:
        self.lib.set_default_dtype(state[0])
        self.lib.set_grad_enabled(state[1])


def dtype_name(dtype: Any) -> str:
    text = str(dtype)
    if text.startswith("torch."):
        return text[len("torch."):]
    return np.dtype(dtype).name


def canon(x: Any, fw: Framework) -> Any:
    """A framework-free picture of a program's result (see the module docstring)."""
    if fw.is_tensor(x):
        y = x.detach()
        array = y.cpu().numpy() if fw.name == "torch" else y.numpy()
        return ("T", dtype_name(x.dtype), np.array(array, copy=True))
    if x is None:
        return ("none",)
    if type(x) in (bool, int, float, str):
        return ("py", type(x).__name__, x)
    if isinstance(x, np.ndarray):
        return ("A", x.dtype.name, np.array(x, copy=True))
    if isinstance(x, np.generic):  # a NumPy scalar where torch gives a Python number: a difference
        return ("np", type(x).__name__, x.item())
    if isinstance(x, dict):
        return ("dict", tuple((str(k), canon(v, fw)) for k, v in x.items()))
    if isinstance(x, (tuple, list)):
        return ("seq", tuple(canon(v, fw) for v in x))
    if fw.name == "torch" and isinstance(x, fw.lib.dtype) or isinstance(x, type) and issubclass(x, np.generic) \
            or isinstance(x, np.dtype):
        return ("dtype", dtype_name(x))
    return ("obj", type(x).__name__)


@dataclass
class Case:
    """A generator's inputs and program; ``note`` says what the case does (for reports)."""

    program: Callable[[Framework, dict[str, Any]], Any]
    inputs: dict[str, Any]
    note: str = ""


def run(case: Case, fw: Framework) -> Any:
    """The program's outcome on one framework; global state (default dtype, grad mode) is put back."""
    state = fw.state()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return canon(case.program(fw, case.inputs), fw)
    except Exception as e:  # noqa: BLE001 - every failure is an outcome to compare
        return ("raise", type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "")
    finally:
        fw.restore(state)


def _compare_arrays(a: np.ndarray, b: np.ndarray, dtype: str, where: str) -> str | None:
    if a.shape != b.shape:
        return f"{where}: shape {a.shape} != torch {b.shape}"
    if a.size == 0:
        return None
    if dtype not in TOL:
        if not np.array_equal(a, b):
            bad = np.argwhere(a != b)[0]
            return f"{where}: {dtype} values differ at {tuple(bad)}: {a[tuple(bad)]} != torch {b[tuple(bad)]}"
        return None
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if not np.array_equal(np.isnan(a64), np.isnan(b64)):
        return f"{where}: NaN positions differ ({int(np.isnan(a64).sum())} vs torch {int(np.isnan(b64).sum())})"
    infs = np.isinf(b64) | np.isinf(a64)
    if not np.array_equal(a64[infs], b64[infs]):
        return f"{where}: infinities differ"
    finite = np.isfinite(b64) & np.isfinite(a64)
    if not finite.any():
        return None
    err = float(np.max(np.abs(a64[finite] - b64[finite])))
    bound = TOL[dtype] * max(1.0, float(np.max(np.abs(b64[finite]))))
    if err > bound:
        return f"{where}: max abs error {err:.3g} > {bound:.3g}"
    return None


def compare(mine: Any, theirs: Any, where: str = "out") -> str | None:
    """None when minitorch's outcome agrees with torch's, else a line saying where they first differ."""
    if mine[0] != theirs[0]:
        return f"{where}: {describe(mine)} != torch {describe(theirs)}"
    kind = mine[0]
    if kind in ("T", "A"):
        if mine[1] != theirs[1]:
            return f"{where}: dtype {mine[1]} != torch {theirs[1]}"
        return _compare_arrays(mine[2], theirs[2], mine[1], where)
    if kind == "py":
        if mine[1] != theirs[1]:
            return f"{where}: {mine[1]} != torch {theirs[1]}"
        a, b = mine[2], theirs[2]
        if isinstance(b, float):
            if math.isnan(b) and math.isnan(a):
                return None
            if a == b or abs(a - b) <= 1e-6 * max(1.0, abs(b)):
                return None
            return f"{where}: {a!r} != torch {b!r}"
        return None if a == b else f"{where}: {a!r} != torch {b!r}"
    if kind == "seq":
        if len(mine[1]) != len(theirs[1]):
            return f"{where}: {len(mine[1])} items != torch {len(theirs[1])}"
        for i, (a, b) in enumerate(zip(mine[1], theirs[1], strict=True)):
            diff = compare(a, b, f"{where}[{i}]")
            if diff:
                return diff
        return None
    if kind == "dict":
        if [k for k, _ in mine[1]] != [k for k, _ in theirs[1]]:
            return f"{where}: keys {[k for k, _ in mine[1]]} != torch {[k for k, _ in theirs[1]]}"
        for (k, a), (_, b) in zip(mine[1], theirs[1], strict=True):
            diff = compare(a, b, f"{where}[{k!r}]")
            if diff:
                return diff
        return None
    if kind == "raise":
        return None  # both raise: they agree that the input is bad
    return None if mine == theirs else f"{where}: {describe(mine)} != torch {describe(theirs)}"


def describe(outcome: Any) -> str:
    kind = outcome[0]
    if kind in ("T", "A"):
        return f"{'tensor' if kind == 'T' else 'array'}({outcome[1]}, shape {outcome[2].shape})"
    if kind == "raise":
        return f"raises {outcome[1]}: {outcome[2]}"
    if kind == "seq":
        return f"sequence of {len(outcome[1])}"
    if kind in ("py", "np"):
        return f"{outcome[1]} {outcome[2]!r}"
    return repr(outcome)[:80]


def classify(mine: Any, theirs: Any) -> tuple[str, str | None]:
    """("agree" | "mismatch" | "raises" | "lenient", detail): ``raises`` is minitorch raising where torch works,
    ``lenient`` minitorch working where torch raises."""
    if theirs[0] == "raise" and mine[0] == "raise":
        return "agree", None
    if mine[0] == "raise":
        return "raises", f"{mine[1]}: {mine[2]}"
    if theirs[0] == "raise":
        return "lenient", f"torch raises {theirs[1]}: {theirs[2]}"
    diff = compare(mine, theirs)
    return ("agree", None) if diff is None else ("mismatch", diff)
