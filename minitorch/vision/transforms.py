"""``minitorch.vision.transforms``: torchvision's path to the image transforms.

They work on whole batches of arrays; see :mod:`minitorch.data.transforms`.
"""
from minitorch.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor

__all__ = ["Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip", "ToTensor"]
