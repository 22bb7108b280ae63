"""``minitorch.vision``: torchvision's module paths (``datasets``, ``transforms``, ``utils``).

A script that does ``import torchvision`` or ``import torchvision.transforms as
transforms`` ports by changing ``torchvision`` to ``minitorch.vision``.  The
objects are those of :mod:`minitorch.data`.
"""
from minitorch.vision import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils"]
