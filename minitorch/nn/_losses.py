"""The functional forms of the losses beyond cross-entropy and MSE (re-exported by ``minitorch.nn.functional``):
nll_loss, binary_cross_entropy(_with_logits), l1_loss, smooth_l1_loss, huber_loss, kl_div.

Each computes PyTorch's per-element (or per-sample) term with an op of :mod:`minitorch.ops.loss_terms`
and reduces it by composition (``weight *``, ``sum``, ``mean``), so the reductions' gradients are the
engine's own.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minitorch.backend import get_array_module
from minitorch.nn import _args
from minitorch.ops import loss_terms
from minitorch.tensor import Tensor, apply

REDUCTIONS = ("none", "mean", "sum")


def _tensor(value: Any, like: Tensor, name: str, op: str) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, list, tuple, int, float)):
        return Tensor(get_array_module(like._data).asarray(value, dtype=like.dtype))
    raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


def broadcast_target(input: Tensor, target: Tensor, op: str, stacklevel: int) -> tuple[int, ...]:
    """The shape a target of another shape than the input broadcasts to with it, warning as PyTorch does
    (``stacklevel`` as the caller would pass it to ``warnings.warn``); a clear error if they do not broadcast."""
    try:
        common = np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        raise ValueError(f"{op}: input of shape {input.shape} and target of shape {target.shape} do not "
                         "broadcast together") from None
    warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                  "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
                  "same size.", UserWarning, stacklevel=stacklevel + 1)
    return common


def _check(input: Any, target: Any, reduction: str, op: str, allowed: tuple[str, ...] = REDUCTIONS,
           same_shape: bool = True, broadcast: bool = False) -> tuple[Tensor, Tensor]:
    """The input and the target as tensors, checked; with ``broadcast`` a target of another shape broadcasts
    against the input (both are expanded to the common shape), with PyTorch's warning."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {', '.join(repr(r) for r in allowed)}, got {reduction!r}")
    target = _tensor(target, input, "target", op)
    if broadcast and target.shape != input.shape:
        common = broadcast_target(input, target, op, stacklevel=3)
        return input.expand(*common), target.expand(*common)
    if same_shape and target.shape != input.shape:
        raise ValueError(f"{op}: target size {target.shape} must be the same as input size {input.shape}")
    return input, target


def _reduce(terms: Tensor, reduction: str) -> Tensor:
    if reduction == "sum":
        return terms.sum()
    if reduction == "mean":
        return terms.mean()
    return terms


def _weighted(terms: Tensor, weight: Any, op: str) -> Tensor:
    if weight is None:
        return terms
    return terms * _broadcastable(_tensor(weight, terms, "weight", op), terms, "weight", op)


def _broadcastable(value: Tensor, input: Tensor, name: str, op: str) -> Tensor:
    """``value`` once checked to broadcast to the input's shape without changing it: a weight of another shape
    would fail deep in NumPy's broadcasting, or silently give a loss of the wrong shape."""
    try:
        fits = np.broadcast_shapes(value.shape, input.shape) == input.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{op}: {name} of shape {value.shape} does not broadcast to the input's shape {input.shape}")
    return value


def _float_target(target: Tensor, op: str) -> None:
    """Binary cross-entropy takes probabilities: an integer target would silently make the loss float64 (PyTorch
    refuses it)."""
    if target.dtype.kind != "f":
        raise TypeError(f"{op}: target must be a floating-point tensor of probabilities, got dtype {target.dtype}; "
                        "convert it with .to(input.dtype)")


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean") -> Tensor:
    """|input - target|, reduced."""
    _deprecated(size_average, reduce, "l1_loss")
    input, target = _check(input, target, reduction, "l1_loss", broadcast=True)
    return _reduce(abs(input - target), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta 0 is L1."""
    _deprecated(size_average, reduce, "smooth_l1_loss")
    beta = _args.finite_float(beta, "beta", "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    input, target = _check(input, target, reduction, "smooth_l1_loss", broadcast=True)
    return _reduce(apply(loss_terms.RobustL1(beta, huber=False), input, target), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); ``weight`` scales each element."""
    delta = _args.finite_float(delta, "delta", "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    input, target = _check(input, target, reduction, "huber_loss", broadcast=True)
    terms = apply(loss_terms.RobustL1(delta, huber=True), input, target)
    return _reduce(_weighted(terms, weight, "huber_loss"), reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-(y log x + (1 - y) log(1 - x)) for probabilities x, each log clamped at -100 (PyTorch's)."""
    _deprecated(size_average, reduce, "binary_cross_entropy")
    input, target = _check(input, target, reduction, "binary_cross_entropy")
    _float_target(target, "binary_cross_entropy")
    terms = apply(loss_terms.BinaryCrossEntropy(), input, target)
    return _reduce(_weighted(terms, weight, "binary_cross_entropy"), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE of sigmoid(input), computed stably from the logits; ``pos_weight`` weighs the positive term
    (broadcast along the last dim: one per class)."""
    _deprecated(size_average, reduce, "binary_cross_entropy_with_logits")
    op = "binary_cross_entropy_with_logits"
    input, target = _check(input, target, reduction, op)
    _float_target(target, op)
    pw = None
    if pos_weight is not None:
        pw = _broadcastable(_tensor(pos_weight, input, "pos_weight", op), input, "pos_weight", op)._data
    terms = apply(loss_terms.BinaryCrossEntropyWithLogits(pw), input, target)
    return _reduce(_weighted(terms, weight, "binary_cross_entropy_with_logits"), reduction)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise, for log-probabilities ``input``.  ``reduction='batchmean'`` divides
    the sum by the batch size (the mathematical KL); ``'mean'`` divides by the element count, with PyTorch's
    warning."""
    _deprecated(size_average, reduce, "kl_div")
    input, target = _check(input, target, reduction, "kl_div", REDUCTIONS + ("batchmean",), same_shape=False)
    terms = apply(loss_terms.KLDivergence(bool(log_target)), input, target)
    if reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides by the number of elements, not the batch size; "
                      "'batchmean' gives the KL divergence (as PyTorch warns)", UserWarning, stacklevel=2)
    if reduction == "batchmean":
        return terms.sum() / input.shape[0] if input.ndim else terms.sum()
    return _reduce(terms, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-input[n, target[n]] (weighted by ``weight[target[n]]``) for log-probabilities (N, C) or (N, C, d1, ...);
    ``mean`` divides by the summed weights of the rows not ignored."""
    _deprecated(size_average, reduce, "nll_loss")
    input, target = _check(input, target, reduction, "nll_loss", same_shape=False)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"nll_loss: ignore_index must be an int, got {ignore_index!r}")
    t = target._data
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices (an integer dtype), got {t.dtype}")
    if input.ndim == 1:  # unbatched (C,)
        input, t = input.reshape(1, -1), t.reshape(1)
    elif input.ndim > 2:  # (N, C, d1, ...): classes last, then rows
        if t.shape != (input.shape[0],) + input.shape[2:]:
            raise ValueError(f"nll_loss: expected target of shape {(input.shape[0],) + input.shape[2:]}, "
                             f"got {t.shape}")
        c = input.shape[1]
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
        t = t.reshape(-1)
    elif input.ndim != 2 or t.shape != (input.shape[0],):
        raise ValueError(f"nll_loss: expected input (N, C) and target (N,), got {input.shape} and {t.shape}")
    w = None if weight is None else _tensor(weight, input, "weight", "nll_loss")._data
    if w is not None and w.shape != (input.shape[1],):
        raise ValueError(f"nll_loss: weight must have shape ({input.shape[1]},), got {w.shape}")
    op = loss_terms.NLLLoss(t, w, int(ignore_index))
    terms = apply(op, input)
    if reduction == "none":
        return terms.reshape(target.shape)
    if reduction == "sum":
        return terms.sum()
    total = get_array_module(op.picked_weight).asarray(op.picked_weight.sum())  # 0-d, in the input's dtype
    return terms.sum() / Tensor(total)


def _deprecated(size_average: Any, reduce: Any, op: str) -> None:
    if size_average is not None or reduce is not None:
        raise TypeError(f"{op}: size_average and reduce are deprecated in PyTorch and not supported; use reduction=")


__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "huber_loss", "kl_div", "l1_loss",
           "nll_loss", "smooth_l1_loss"]
