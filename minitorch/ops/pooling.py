"""Max pooling; the gradient goes to the first maximum of each window."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.kernels import conv_output_size, max_pool_backward, max_pool_forward


class MaxPool2d(Function):
    __slots__ = ("kernel", "stride", "padding", "argmax", "x_shape")
    fresh_grads = True

    def __init__(self, kernel: int, stride: int, padding: int = 0) -> None:
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"max_pool2d: expected a 4-D input (N, C, H, W), got shape {x.shape}")
        k, s, p = self.kernel, self.stride, self.padding
        if p > k // 2:
            raise ValueError(f"max_pool2d: padding {p} must be at most half the kernel size {k}")
        if conv_output_size(x.shape[2], k, s, p) <= 0 or conv_output_size(x.shape[3], k, s, p) <= 0:
            raise ValueError(f"max_pool2d: input of shape {x.shape} is smaller than the {k}x{k} window")
        out, argmax = max_pool_forward(x, k, s, p)
        if self.needs_grad[0]:
            self.argmax, self.x_shape = argmax, x.shape
        return out

    def backward(self, g):
        return (max_pool_backward(g, self.argmax, self.x_shape),)
