"""Dropout: random zeroing during training, the identity in evaluation mode."""
from __future__ import annotations

from minitorch.nn import _args
from minitorch.nn import functional as F
from minitorch.nn.modules.module import Module
from minitorch.tensor import Tensor


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` and scale the rest by 1 / (1 - p),
    so that evaluation (``model.eval()``: the identity) sees the same expected activations.

    ``inplace`` is accepted for PyTorch code; the result is always a new tensor.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = _args.probability(p, "Dropout")
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Module):
    """In training mode, zero whole channels of (N, C, H, W) with probability ``p`` (the rest scaled by
    1 / (1 - p)); the identity in evaluation mode.  ``inplace``: as for :class:`Dropout`."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = _args.probability(p, "Dropout2d")
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
