"""The hot loops: convolution, pooling, batch norm, cross-entropy, the SGD update.

Each kernel has a plain array-module version (:mod:`.reference`, works on NumPy
and CuPy alike, and is what the tests compare against) and compiled ones: for
the CPU in :mod:`.cpu` and :mod:`.cpu_conv` (numba), for the GPU in :mod:`.cuda`
(CuPy).  The functions here pick the right one for the array they are given;
numba and CuPy are imported only when a kernel first needs them, so
``import minitorch`` stays fast.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minitorch.kernels import reference

_cpu = None


def _cpu_kernels():
    global _cpu
    if _cpu is None:
        from minitorch.kernels import cpu

        _cpu = cpu
    return _cpu


_cuda = None


def _cuda_kernels():
    """The CUDA kernels (:mod:`.cuda`, imports CuPy), or :mod:`.reference` when
    ``MINITORCH_CUDA_KERNELS=reference`` (a fallback for debugging)."""
    global _cuda
    if _cuda is None:
        import os

        if os.environ.get("MINITORCH_CUDA_KERNELS", "").lower() == "reference":
            _cuda = reference
        else:
            from minitorch.kernels import cuda

            _cuda = cuda
    return _cuda


def _kernels_for(array: Any):
    """The compiled kernels for this array's device: numba for NumPy, CUDA for CuPy."""
    return _cpu_kernels() if isinstance(array, np.ndarray) else _cuda_kernels()


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


# Direct convolution beats im2col + GEMM while the weight is small.  Measured
# on a 2-core machine, CoolNet steps with both conv layers direct (weights
# 6x3x5x5 and 16x6x5x5) against conv1 alone: 1.96 vs 2.13 ms at batch 4,
# 7.5 vs 12.0 at batch 32, 63 vs 76 at batch 256.  With many channels, the
# GEMM's reuse of every loaded value wins instead.
_DIRECT_CONV_MAX_WEIGHT = 4096


def direct_conv_applies(x: Any, weight: Any, stride: int) -> bool:
    """Whether :func:`conv2d_forward` and its gradients (stride 1, CPU) should replace im2col + GEMM."""
    return stride == 1 and isinstance(x, np.ndarray) and weight.size <= _DIRECT_CONV_MAX_WEIGHT


_cpu_conv_module = None


def _cpu_conv():
    global _cpu_conv_module
    if _cpu_conv_module is None:
        from minitorch.kernels import cpu_conv

        _cpu_conv_module = cpu_conv
    return _cpu_conv_module


def conv2d_forward(x: Any, weight: Any, bias: Any, padding: int) -> Any:
    """Stride-1 convolution on the CPU without im2col (see :mod:`.cpu_conv`)."""
    return _cpu_conv().conv2d_forward(x, weight, bias, padding)


def conv2d_weight_grad(x: Any, g: Any, kernel_size: tuple[int, int], padding: int) -> Any:
    return _cpu_conv().conv2d_weight_grad(x, g, kernel_size, padding)


def conv2d_input_grad(g: Any, weight: Any, x_shape: tuple[int, ...], padding: int) -> Any:
    return _cpu_conv().conv2d_input_grad(g, weight, x_shape, padding)


def im2col(x: Any, kh: int, kw: int, stride: int, padding: int) -> Any:
    """(N, C, H, W) -> (C*kh*kw, N*Ho*Wo), channel-major columns."""
    return _kernels_for(x).im2col(x, kh, kw, stride, padding)


def col2im(cols: Any, x_shape: tuple[int, ...], kh: int, kw: int, stride: int, padding: int) -> Any:
    """Adjoint of :func:`im2col`: scatter-add columns back into an (N, C, H, W) array."""
    return _kernels_for(cols).col2im(cols, x_shape, kh, kw, stride, padding)


def max_pool_forward(x: Any, kernel: int, stride: int, padding: int) -> tuple[Any, Any]:
    """Window maxima and, per output, the flat (h*W + w) index of its window's first maximum."""
    return _kernels_for(x).max_pool_forward(x, kernel, stride, padding)


def max_pool_backward(grad: Any, argmax: Any, x_shape: tuple[int, ...]) -> Any:
    """Route each output's gradient to the input element that was its maximum."""
    return _kernels_for(grad).max_pool_backward(grad, argmax, x_shape)


def batch_norm_forward(x, weight, bias, running_mean, running_var, training: bool, momentum: float, eps: float,
                       keep_xhat: bool = True):
    """Batch norm of x (N, C, L) over N and L: (out, xhat, scale); updates running stats in training.

    With ``keep_xhat=False`` (no backward will run) the CPU kernel skips writing
    the normalised input and returns None for it; the GPU kernels return it anyway.
    """
    if isinstance(x, np.ndarray):
        return _cpu_kernels().batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum,
                                                 eps, keep_xhat)
    return _cuda_kernels().batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps)


def batch_norm_backward(g, xhat, scale, training: bool):
    """(grad_x, grad_weight, grad_bias) of :func:`batch_norm_forward`."""
    return _kernels_for(g).batch_norm_backward(g, xhat, scale, training)


def sgd_update_cpu(data, grad, momentum_buffer, lr: float, momentum: float, dampening: float,
                   weight_decay: float, nesterov: bool, first: bool) -> None:
    """One fused pass of SGD over flat NumPy arrays (the optimizer's CPU fast path)."""
    _cpu_kernels().sgd_update(data, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, first)


def cross_entropy_forward(logits: Any, target: Any) -> tuple[Any, Any]:
    """(per-row losses, softmax probabilities) of logits (N, C) against class indices (N,)."""
    return _kernels_for(logits).cross_entropy_forward(logits, target)


def cross_entropy_backward(probs: Any, target: Any, scale: Any) -> Any:
    """Gradient of the per-row losses, each row scaled by ``scale[n]``."""
    return _kernels_for(probs).cross_entropy_backward(probs, target, scale)


def relu_forward(a: Any, keep_mask: bool) -> tuple[Any, Any]:
    """(max(a, 0), the mask a > 0 for backward, or None when ``keep_mask`` is False)."""
    return _kernels_for(a).relu_forward(a, keep_mask)


def relu_backward(g: Any, mask: Any) -> Any:
    return _kernels_for(g).relu_backward(g, mask)
