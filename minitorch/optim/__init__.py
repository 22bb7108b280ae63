"""Optimizers and learning-rate schedules (``minitorch.optim``)."""
from minitorch.optim import lr_scheduler
from minitorch.optim.optimizer import Optimizer
from minitorch.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "lr_scheduler"]
