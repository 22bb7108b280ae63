"""``minitorch.vision.datasets``: torchvision's path to the CIFAR-10 dataset."""
from minitorch.data.cifar10 import CIFAR10

__all__ = ["CIFAR10"]
