from minitorch.nn.modules.activation import Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from minitorch.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d
from minitorch.nn.modules.container import Sequential
from minitorch.nn.modules.conv import Conv2d
from minitorch.nn.modules.dropout import Dropout
from minitorch.nn.modules.flatten import Flatten
from minitorch.nn.modules.linear import Linear
from minitorch.nn.modules.loss import CrossEntropyLoss, MSELoss
from minitorch.nn.modules.module import Module
from minitorch.nn.modules.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout",
    "Flatten", "Identity", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module", "ReLU",
    "Sequential", "Sigmoid", "Softmax", "Tanh",
]
