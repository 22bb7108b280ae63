"""Gradient clipping, in place, with PyTorch's rules (``torch.nn.utils.clip_grad``)."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from minitorch.backend import as_array, get_array_module, get_default_dtype, new_array
from minitorch.nn.parameter import grad_array
from minitorch.tensor import Tensor


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Any = None) -> Tensor:
    """Rescale the gradients so that their total norm is at most ``max_norm``; return the norm before.

    The total norm is the ``norm_type``-norm of all gradients seen as one
    vector (the norm of the per-parameter norms).  Every gradient is then
    multiplied by ``min(1, max_norm / (total + 1e-6))``, as in PyTorch.
    Parameters without a gradient are skipped; ``foreach`` is accepted and ignored.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or math.isnan(max_norm):
        raise ValueError(f"clip_grad_norm_: max_norm must be a number, got {max_norm!r}")
    p = _norm_type(norm_type)
    grads = _gradients(parameters, "clip_grad_norm_")
    if not grads:
        return Tensor(new_array(np, (), get_default_dtype(), 0))
    xp = get_array_module(grads[0])
    total = as_array(xp, _vector_norm(xp.stack([_vector_norm(g, p).astype(grads[0].dtype) for g in grads]), p))
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {p} of the gradients is non-finite, so "
                           "they cannot be clipped; set error_if_nonfinite=False to scale them by it anyway")
    coef = xp.minimum(float(max_norm) / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef.astype(g.dtype)
    return Tensor(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: Any = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float)) or math.isnan(clip_value):
        raise ValueError(f"clip_grad_value_: clip_value must be a number, got {clip_value!r}")
    for g in _gradients(parameters, "clip_grad_value_"):
        get_array_module(g).clip(g, -clip_value, clip_value, out=g)


def _gradients(parameters: Tensor | Iterable[Tensor], op: str) -> list[Any]:
    """The gradient arrays of ``parameters`` (one Tensor or an iterable), skipping those without one."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor")
    return [g for g in (grad_array(p) for p in params) if g is not None]


def _norm_type(norm_type: Any) -> float:
    if isinstance(norm_type, str) and norm_type == "inf":
        return math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or math.isnan(norm_type) \
            or norm_type <= 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be a positive number or inf, got {norm_type!r}")
    return float(norm_type)


def _vector_norm(values: Any, p: float) -> Any:
    """The p-norm of all elements of ``values``, as a 0-d array."""
    xp = get_array_module(values)
    a = xp.abs(values)
    if p == math.inf:
        return a.max() if a.size else new_array(xp, (), a.dtype, 0)
    if p == 2:
        return xp.sqrt((a * a).sum())
    if p == 1:
        return a.sum()
    return (a ** p).sum() ** (1 / p)
