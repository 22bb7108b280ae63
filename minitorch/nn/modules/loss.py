"""Loss layers."""
from __future__ import annotations

from typing import Any

from minitorch.nn import functional as F
from minitorch.nn.modules.module import Module
from minitorch.tensor import Tensor


class CrossEntropyLoss(Module):
    """Cross-entropy of logits (N, C) against class indices (N,), PyTorch's arguments.

    ``weight`` (C,) is registered as a buffer, as in PyTorch, so it follows
    ``.to()`` and appears in ``state_dict()``.  ``size_average`` and ``reduce``
    (deprecated in PyTorch) are not supported: use ``reduction``.
    """

    weight: Tensor | None

    def __init__(self, weight: Tensor | None = None, size_average: Any = None, ignore_index: int = -100,
                 reduce: Any = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__()
        if weight is not None and not isinstance(weight, Tensor):
            raise TypeError(f"CrossEntropyLoss: weight must be a Tensor of shape (C,), got {type(weight).__name__} "
                            f"{weight!r}" + ("; pass reduction= by keyword" if isinstance(weight, str) else ""))
        if size_average is not None or reduce is not None:
            raise TypeError("CrossEntropyLoss: size_average and reduce are deprecated in PyTorch and not "
                            "supported; use reduction=")
        self.register_buffer("weight", weight)
        self.ignore_index, self.reduction, self.label_smoothing = ignore_index, reduction, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class MSELoss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, self.reduction)
