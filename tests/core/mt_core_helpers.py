"""Helpers shared by the core tests: CoolNet, tolerances, stored references, gradcheck wrappers."""
from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable, Sequence

import numpy as np

import minitorch as mt
import minitorch.nn as nn
from minitorch.autograd import Function
from minitorch.tensor import Tensor, apply

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE_DIR = os.path.join(os.path.dirname(HERE), "reference")

# Parity tolerances: max|a - b| <= TOL * max|b| (relative to the largest reference value)
TOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-4}


def coolnet() -> nn.Sequential:
    """LeNet with BatchNorm, from the same layer list tests/reference/make_references.py builds in torch."""
    return nn.Sequential(*make_references().coolnet_layers(nn))


# Biases of layers followed by BatchNorm in training mode: their gradient is mathematically zero
# (BatchNorm subtracts the batch mean), so only an absolute comparison means anything.
COOLNET_ZERO_GRAD = {"0.bias", "4.bias", "9.bias", "12.bias"}


def assert_close(actual, expected, tol: float, what: str = "", atol: float | None = None) -> None:
    """max|a - b| <= tol * max|b| (or <= atol when given), with shapes equal and no NaNs."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    assert np.all(np.isfinite(actual)), f"{what}: non-finite values"
    if expected.size == 0:
        return
    err = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))
    if atol is not None:
        bound = atol
    else:
        scale = float(np.max(np.abs(expected)))
        bound = tol * (scale if scale > 0 else 1.0)
    assert err <= bound, f"{what}: max abs error {err:.3g} > {bound:.3g} (tol {tol:g}, atol {atol})"


def make_references():
    """tests/reference/make_references.py (on pytest's pythonpath; its case builders need only NumPy)."""
    return importlib.import_module("make_references")


@functools.cache
def reference(name: str) -> dict[str, np.ndarray]:
    """A stored reference file as a dict of arrays (loaded without pickle)."""
    with np.load(os.path.join(REFERENCE_DIR, f"{name}.npz"), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


# ------------------------------------------------------------------ gradcheck over a subset of elements
class _Embed(Function):
    """Forward: ``base`` with ``values`` written at flat positions ``index``; backward: gather."""

    __slots__ = ("base", "index")

    def __init__(self, base: np.ndarray, index: np.ndarray) -> None:
        self.base, self.index = base, index

    def forward(self, values):
        out = self.base.copy()
        out.reshape(-1)[self.index] = values
        return out

    def backward(self, g):
        return (g.reshape(-1)[self.index],)


class Subset:
    """Let gradcheck perturb only some elements of a big tensor.

    ``Subset(array, count, rng)`` picks ``count`` flat positions; ``.values`` is a float64 leaf holding
    their current values, and ``.full(values)`` rebuilds the whole tensor (a differentiable function of
    ``values``) with the other elements fixed.  A wrong backward anywhere downstream still fails gradcheck.
    """

    def __init__(self, array: np.ndarray, count: int | None, rng: np.random.Generator) -> None:
        self.base = np.array(array, dtype=np.float64)
        n = self.base.size
        self.index = np.arange(n) if count is None or count >= n else np.sort(rng.choice(n, count, replace=False))
        self.values = mt.tensor(self.base.reshape(-1)[self.index].copy(), requires_grad=True)

    def full(self, values: Tensor) -> Tensor:
        return apply(_Embed(self.base, self.index), values)


def gradcheck_module(
    model: nn.Module,
    loss_fn: Callable[[Tensor], Tensor],
    x: np.ndarray,
    subsets: dict[str, int | None],
    rng: np.random.Generator,
    x_count: int | None = None,
    **tolerances,
) -> bool:
    """gradcheck ``loss_fn(model(x))`` w.r.t. (a subset of) the input and of the named parameters.

    The parameters are swapped, for each call, for tensors rebuilt from the checked values (bypassing
    ``Module.__setattr__``), then restored; the module's own Parameters are left untouched.
    """
    modules = dict(model.named_modules())
    targets = []
    for name in subsets:
        owner, _, attr = name.rpartition(".")
        targets.append((modules[owner], attr))
    params = dict(model.named_parameters())
    x_subset = Subset(x, x_count, rng)
    p_subsets = [Subset(params[name].data, count, rng) for name, count in subsets.items()]

    def fn(xv, *pvs):
        saved = [module.__dict__[attr] for module, attr in targets]
        try:
            for (module, attr), sub, pv in zip(targets, p_subsets, pvs, strict=False):
                object.__setattr__(module, attr, sub.full(pv))
            return loss_fn(model(x_subset.full(xv)))
        finally:
            for (module, attr), value in zip(targets, saved, strict=False):
                object.__setattr__(module, attr, value)

    return mt.gradcheck(fn, [x_subset.values] + [s.values for s in p_subsets], **tolerances)


def to_numpy_dict(named: Sequence[tuple[str, Tensor]]) -> dict[str, np.ndarray]:
    return {name: t.numpy().copy() for name, t in named}
