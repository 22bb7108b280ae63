from minitorch.nn.modules.activation import Identity, ReLU, Sigmoid, Tanh
from minitorch.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d
from minitorch.nn.modules.container import Sequential
from minitorch.nn.modules.conv import Conv2d
from minitorch.nn.modules.flatten import Flatten
from minitorch.nn.modules.linear import Linear
from minitorch.nn.modules.loss import CrossEntropyLoss, MSELoss
from minitorch.nn.modules.module import Module
from minitorch.nn.modules.pooling import MaxPool2d

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Flatten", "Identity", "Linear",
    "MSELoss", "MaxPool2d", "Module", "ReLU", "Sequential", "Sigmoid", "Tanh",
]
