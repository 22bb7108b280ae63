"""torchvision for the tutorial's run on torch, where torchvision is not installed: minitorch.vision's
CIFAR-10 and transforms, with each sample handed to torch as torch Tensors (minitorch's dataset gives
minitorch Tensors, which torch's DataLoader cannot batch)."""
from tutorial.torchvision_standin import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils"]
