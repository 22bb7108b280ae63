"""Stateless layer functions: ``minitorch.nn.functional`` (PyTorch's names and arguments)."""
from __future__ import annotations

from typing import Any

from minitorch.backend import get_array_module, get_default_dtype
from minitorch.ops import elementwise, linear as linear_op, loss, normalization, pooling
from minitorch.ops.conv import Conv2d
from minitorch.tensor import Tensor, apply


def _pair_to_int(value: Any, name: str, op: str) -> int:
    """Square kernels/strides only: accept 3 or (3, 3)."""
    if type(value) is int and value > 0:
        return value
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or value[0] != value[1]:
            raise ValueError(f"{op}: only square {name}s are supported, got {tuple(value)}")
        value = value[0]
    value = int(value)
    if value < 0 or (value == 0 and name != "padding"):
        raise ValueError(f"{op}: {name} must be positive, got {value}")
    return value


def _inputs(input: Tensor, weight: Tensor | None, bias: Tensor | None) -> tuple[Tensor, ...]:
    """The op's inputs, leaving out a missing bias (and a missing weight)."""
    if bias is not None:
        return (input, weight, bias)
    return (input,) if weight is None else (input, weight)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    return apply(linear_op.Linear(), *_inputs(input, weight, bias))


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0) -> Tensor:
    op = Conv2d(_pair_to_int(stride, "stride", "conv2d"), _pair_to_int(padding, "padding", "conv2d"))
    return apply(op, *_inputs(input, weight, bias))


def relu(input: Tensor) -> Tensor:
    return apply(elementwise.ReLU(), input)


def tanh(input: Tensor) -> Tensor:
    return apply(elementwise.Tanh(), input)


def sigmoid(input: Tensor) -> Tensor:
    return apply(elementwise.Sigmoid(), input)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    k = _pair_to_int(kernel_size, "kernel_size", "max_pool2d")
    s = k if stride is None else _pair_to_int(stride, "stride", "max_pool2d")
    return apply(pooling.MaxPool2d(k, s, _pair_to_int(padding, "padding", "max_pool2d")), input)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation; in training mode the running statistics are updated in place."""
    rm = None if running_mean is None else running_mean._data
    rv = None if running_var is None else running_var._data
    op = normalization.BatchNorm(rm, rv, training, momentum, eps)
    if weight is None and bias is not None:
        raise ValueError("batch_norm: a bias without a weight is not supported")
    return apply(op, *_inputs(input, weight, bias))


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    return apply(loss.LogSoftmax(dim), input)


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    return apply(loss.Softmax(dim), input)


def cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of logits (N, C) against class indices (N,)."""
    return apply(loss.CrossEntropy(reduction), input, _as_tensor(target, input))


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    return apply(loss.MSELoss(reduction), input, _as_tensor(target, input))


def one_hot(target: Tensor, num_classes: int = -1, dtype: Any = None) -> Tensor:
    """Class indices (N,) -> (N, num_classes) rows of zeros with a one (float, default dtype)."""
    t = target._data if isinstance(target, Tensor) else target
    xp = get_array_module(t)
    t = xp.asarray(t)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {t.dtype}")
    if num_classes < 0:
        num_classes = int(t.max()) + 1 if t.size else 0
    if t.size and (int(t.min()) < 0 or int(t.max()) >= num_classes):
        raise ValueError(f"one_hot: class indices must lie in [0, {num_classes}), got min {int(t.min())} max {int(t.max())}")
    eye = xp.eye(num_classes, dtype=dtype or get_default_dtype())
    return Tensor(eye[t])


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    xp = get_array_module(like._data)
    return Tensor(xp.asarray(value))
