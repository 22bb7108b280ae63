"""Finite-difference gradient checking.

The analytic gradient of ``sum(fn(*inputs) * u)`` for a random upstream
gradient ``u`` (not all ones, so that a backward that mixes up output
elements is caught) is compared with central differences, element by
element, in float64.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minitorch.autograd import no_grad
from minitorch.backend import get_array_module, to_numpy
from minitorch.tensor import Tensor


class GradcheckError(ValueError):
    """An analytic gradient disagrees with finite differences."""


def _scalar_objective(fn: Callable[..., Tensor], inputs: Sequence[Tensor], upstream: Any) -> float:
    with no_grad():
        out = fn(*inputs)
    return float((out._data * upstream).sum())


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-7,
    rtol: float = 1e-6,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s gradients w.r.t. every input that requires grad.

    Returns True, or raises :class:`GradcheckError` naming the input, the
    element and both values.  Inputs must be float64 (float32 differences are
    too coarse to say anything).

    The tolerances fit float64 central differences with ``eps = 1e-6``: their
    truncation error is ~eps**2 and their rounding error ~1e-16 * |objective| / eps,
    both far below ``rtol = 1e-6``, so a gradient wrong by 0.1% (or 0.01%) fails.
    """
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(t).__name__}, not a Tensor")
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {t.dtype}; use float64")
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")

    for t in inputs:
        t.grad = None
    out = fn(*inputs)
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise ValueError("gradcheck: fn must return a Tensor that depends on the inputs")
    xp = get_array_module(out._data)
    upstream = xp.asarray(np.random.default_rng(seed).standard_normal(out.shape))
    out.backward(upstream)

    for i in checked:
        t = inputs[i]
        analytic = np.zeros(t.shape) if t.grad is None else to_numpy(t.grad._data)
        flat = t._data.reshape(-1)  # a view: perturb in place, restore after
        for j in range(flat.size):
            original = float(flat[j])
            flat[j] = original + eps
            plus = _scalar_objective(fn, inputs, upstream)
            flat[j] = original - eps
            minus = _scalar_objective(fn, inputs, upstream)
            flat[j] = original
            numeric = (plus - minus) / (2 * eps)
            a = float(analytic.reshape(-1)[j])
            if not abs(a - numeric) <= atol + rtol * abs(numeric):
                where = np.unravel_index(j, t.shape) if t.shape else ()
                raise GradcheckError(
                    f"gradcheck: input {i} (shape {t.shape}), element {tuple(int(k) for k in where)}: "
                    f"analytic {a:.8g} vs numeric {numeric:.8g}"
                )
    return True
