"""Neural-network layers, their functional forms, initialisers and gradient clipping (``minitorch.nn``)."""
from minitorch.nn import functional, init, utils
from minitorch.nn.modules import *  # noqa: F401,F403
from minitorch.nn.modules import __all__ as _modules
from minitorch.nn.parameter import Parameter

__all__ = ["Parameter", "functional", "init", "utils", *_modules]
