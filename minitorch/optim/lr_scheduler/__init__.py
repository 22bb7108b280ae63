"""Learning-rate schedules (``minitorch.optim.lr_scheduler``), with PyTorch's names, rules and state dicts.

Every schedule rewrites each ``group["lr"]`` once per ``step()``; most do so
*chainably* (from the current rate), so schedules compose and manual changes
carry forward (see :mod:`.base`).
"""
from minitorch.optim.lr_scheduler.base import LRScheduler
from minitorch.optim.lr_scheduler.composite import ChainedScheduler, SequentialLR
from minitorch.optim.lr_scheduler.cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR
from minitorch.optim.lr_scheduler.decay import (
    ConstantLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)
from minitorch.optim.lr_scheduler.plateau import ReduceLROnPlateau

__all__ = [
    "ChainedScheduler", "ConstantLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "ExponentialLR",
    "LRScheduler", "LambdaLR", "LinearLR", "MultiStepLR", "MultiplicativeLR", "OneCycleLR", "PolynomialLR",
    "ReduceLROnPlateau", "SequentialLR", "StepLR",
]
