"""The hot loops: convolution, pooling, batch norm, cross-entropy, ReLU, Linear's products, the SGD update.

Every backend module provides the same functions with the same signatures
(:data:`.reference.KERNELS`): :mod:`.reference` defines them in plain array
code (NumPy and CuPy alike; what the tests compare against), :mod:`.cpu`
compiles them with numba (the direct convolutions live in :mod:`.cpu_conv`),
and :mod:`.cuda` writes the GPU's own kernels and takes the rest from
:mod:`.reference`.  The functions here pick the backend of the array they are
given; numba and CuPy are imported only when a kernel first needs them, so
``import minitorch`` stays fast.

Arrays: ``x`` (N, C, H, W) images, ``weight`` (O, C, kh, kw), batch-norm inputs
viewed as (N, C, L); every kernel returns new arrays except ``sgd_update``,
which works in place on flat (1-d) arrays.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

import numpy as np

from minitorch.backend import observer
from minitorch.kernels.reference import conv_output_size

__all__ = ["backend", "conv_output_size", "direct_conv_applies", "im2col_chunk"]  # and one wrapper per kernel, below

# Each device's backend module, loaded on first use; tests and benchmarks may put another module here.
BACKENDS: dict[str, ModuleType] = {}

def _load(device: str) -> ModuleType:
    if device == "cpu":
        name = "cpu"
    elif os.environ.get("MINITORCH_CUDA_KERNELS", "").lower() == "reference":  # a fallback for debugging
        name = "reference"
    else:
        name = "cuda"
    module = importlib.import_module(f"minitorch.kernels.{name}")
    BACKENDS[device] = module
    return module


def backend(array: Any) -> ModuleType:
    """The kernel module for this array's device: numba for NumPy arrays, CUDA for CuPy ones."""
    device = "cpu" if isinstance(array, np.ndarray) else "cuda"
    module = BACKENDS.get(device)
    if module is None:
        module = _load(device)
    seen = observer()
    return module if seen is None else seen.kernels(module)


# Direct convolution beats im2col + GEMM while the weight is small (each backend says up to what size).
# Measured on a 2-core machine, CoolNet steps with both conv layers direct (weights 6x3x5x5 and
# 16x6x5x5) against conv1 alone: 1.96 vs 2.13 ms at batch 4, 7.5 vs 12.0 at batch 32, 63 vs 76 at
# batch 256.  With many channels, the GEMM's reuse of every loaded value wins instead.
def direct_conv_applies(x: Any, weight: Any, stride: int) -> bool:
    """Whether :func:`conv2d_forward` and its gradients should replace im2col + GEMM for this layer."""
    return stride == 1 and weight.size <= backend(x).DIRECT_CONV_MAX_WEIGHT


def im2col_chunk(x: Any, bytes_per_image: int) -> int:
    """How many images of ``x`` to put through im2col + GEMM at a time (all of them where chunks don't pay)."""
    limit = backend(x).IM2COL_CHUNK_BYTES
    return x.shape[0] if not limit else max(1, limit // max(1, bytes_per_image))


def conv2d_forward(x: Any, weight: Any, bias: Any, padding: int) -> Any:
    """Stride-1 convolution without im2col (on the CPU; elsewhere im2col + GEMM)."""
    return backend(x).conv2d_forward(x, weight, bias, padding)


def conv2d_weight_grad(x: Any, g: Any, kernel_size: tuple[int, int], padding: int) -> Any:
    return backend(x).conv2d_weight_grad(x, g, kernel_size, padding)


def conv2d_input_grad(g: Any, weight: Any, x_shape: tuple[int, ...], padding: int) -> Any:
    return backend(g).conv2d_input_grad(g, weight, x_shape, padding)


def im2col(x: Any, kh: int, kw: int, stride: int, padding: int) -> Any:
    """(N, C, H, W) -> (C*kh*kw, N*Ho*Wo), channel-major columns."""
    return backend(x).im2col(x, kh, kw, stride, padding)


def col2im(cols: Any, x_shape: tuple[int, ...], kh: int, kw: int, stride: int, padding: int) -> Any:
    """Adjoint of :func:`im2col`: scatter-add columns back into an (N, C, H, W) array."""
    return backend(cols).col2im(cols, x_shape, kh, kw, stride, padding)


def max_pool_forward(x: Any, kernel: int, stride: int, padding: int) -> tuple[Any, Any]:
    """Window maxima and, per output, the flat (h*W + w) index of its window's first maximum."""
    return backend(x).max_pool_forward(x, kernel, stride, padding)


def max_pool_backward(grad: Any, argmax: Any, x_shape: tuple[int, ...]) -> Any:
    """Route each output's gradient to the input element that was its maximum."""
    return backend(grad).max_pool_backward(grad, argmax, x_shape)


def batch_norm_forward(x: Any, weight: Any, bias: Any, mean: Any, var: Any, eps: float,
                       keep_xhat: bool = True) -> tuple[Any, Any, Any, Any, Any]:
    """Batch norm of x (N, C, L) over N and L: (out, xhat, scale, batch mean, batch var).

    ``mean``/``var`` None (training) normalises with the batch's statistics and
    returns them (biased variance); given (evaluation), they are used and the
    last two results are None.  With ``keep_xhat=False`` (no backward will run)
    a backend may skip xhat and return None for it.
    """
    return backend(x).batch_norm_forward(x, weight, bias, mean, var, eps, keep_xhat)


def batch_norm_backward(g: Any, xhat: Any, scale: Any, training: bool) -> tuple[Any, Any, Any]:
    """(grad_x, grad_weight, grad_bias) of :func:`batch_norm_forward`."""
    return backend(g).batch_norm_backward(g, xhat, scale, training)


def batch_norm_running_stats(running_mean: Any, running_var: Any, mean: Any, var: Any, momentum: float,
                             count: int) -> None:
    """In place: running statistics move toward the batch's ``mean`` and biased ``var`` (over ``count`` values)."""
    backend(running_mean).batch_norm_running_stats(running_mean, running_var, mean, var, momentum, count)


def linear_forward(x: Any, weight: Any) -> Any:
    """x (N, K) @ weight (J, K).T, a Linear layer's product (a GEMM, or on the CPU a loop at a few rows)."""
    return backend(x).linear_forward(x, weight)


def linear_weight_grad(g: Any, x: Any) -> Any:
    """g (N, J).T @ x (N, K): the Linear layer's weight gradient."""
    return backend(g).linear_weight_grad(g, x)


def sgd_update(data: Any, grad: Any, momentum_buffer: Any, lr: float, momentum: float, dampening: float,
               weight_decay: float, nesterov: bool, first: bool) -> None:
    """One SGD step over flat arrays, in place (``data``, and ``momentum_buffer`` with momentum)."""
    backend(data).sgd_update(data, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, first)


def cross_entropy_forward(logits: Any, target: Any) -> tuple[Any, Any]:
    """(per-row losses, softmax probabilities) of logits (N, C) against class indices (N,)."""
    return backend(logits).cross_entropy_forward(logits, target)


def cross_entropy_backward(probs: Any, target: Any, scale: Any) -> Any:
    """Gradient of the per-row losses, each row scaled by ``scale[n]``."""
    return backend(probs).cross_entropy_backward(probs, target, scale)


def relu_forward(a: Any, keep_mask: bool) -> tuple[Any, Any]:
    """(max(a, 0), the mask a > 0 for backward, or None when ``keep_mask`` is False)."""
    return backend(a).relu_forward(a, keep_mask)


def relu_backward(g: Any, mask: Any) -> Any:
    return backend(g).relu_backward(g, mask)
