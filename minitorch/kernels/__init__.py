"""The hot loops: convolution, pooling, batch norm, cross-entropy, one-hot targets, ReLU, Linear's products, the
SGD update.

Each kernel is declared here once, as a :class:`Kernel`: its name, the
outputs it makes (shapes and dtypes, computed from its arguments) and the
arguments it changes in place.  Each backend module implements it as one
function of the same name that takes the kernel's arguments followed by its
outputs, and writes every element of every output (outputs arrive
uninitialised and C-contiguous; ``None`` for an output the declaration leaves
out): :mod:`.reference` in plain array code (NumPy and CuPy alike; what the
tests compare against), :mod:`.cpu` compiled with numba (the direct
convolutions: :mod:`.cpu_direct` picks :mod:`.cpu_simd`'s for float32, else
:mod:`.cpu_conv`'s; batch norm in :mod:`.cpu_norm`, pooling in :mod:`.cpu_pool`, a
large Linear weight at a few dozen rows in :mod:`.cpu_skinny`),
:mod:`.cuda` for the GPU, taking the
rest from :mod:`.reference`.  numba and CuPy are imported only when a kernel
first needs them, so ``import minitorch`` stays fast.

Calling a kernel (``relu_forward(a, True)``) picks the backend of its first
argument, allocates the outputs and runs the implementation; a step being
recorded (:mod:`minitorch.step_capture`) is told instead, and keeps the call
to run again into the same outputs.  Adding a kernel means one declaration
below and one function in each backend module.

Arrays: ``x`` (N, C, H, W) images, ``weight`` (O, C, kh, kw), batch-norm inputs
viewed as (N, C, L).
"""
from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from minitorch.backend import _observer, get_array_module
from minitorch.kernels.reference import conv_output_size

__all__ = ["Kernel", "Out", "backend", "conv_output_size", "direct_conv_applies", "im2col_chunk"]  # and the kernels

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
    device = "cpu" if isinstance(array, (np.ndarray, np.generic)) else "cuda"  # a gradient may be a NumPy scalar
    module = BACKENDS.get(device)
    return module if module is not None else _load(device)


# One output of a kernel: its (shape, dtype), a plain pair written out in each declaration: declarations run
# on every kernel call, and a helper function or a NamedTuple costs several times as much as the pair itself.
Out = tuple[tuple[int, ...], Any]

_INT64, _BOOL = np.dtype(np.int64), np.dtype(np.bool_)  # made once: np.dtype(...) is a call per kernel call


def _promoted(a: Any, b: Any) -> Any:
    """The dtype two dtypes promote to; a comparison where they are the same one (every training step)."""
    return a if a == b else np.promote_types(a, b)


class Kernel:
    """A kernel's declaration; calling it runs the backend's implementation (see the module docstring).

    ``outputs(*args)`` gives an :data:`Out` (the kernel returns one array), a
    tuple of two or more of them, with None for an output not made this time
    (the kernel returns a tuple), or None (the kernel returns nothing, it only
    changes the arguments at the positions ``writes``).
    """

    def __init__(self, outputs: Callable[..., Any], writes: tuple[int, ...] = ()) -> None:
        self.name = outputs.__name__
        self.outputs = outputs
        self.writes = writes
        self.__doc__ = outputs.__doc__

    def __call__(self, *args: Any, impl: Callable[..., Any] | None = None,
                 new: Callable[..., Any] | None = None) -> Any:
        """Allocate the outputs and run the implementation of the arguments' device: the CPU's (numba) for
        NumPy arrays, else the GPU's; a step being recorded is told instead.  ``impl`` and ``new``
        (``new(shape, dtype)``, by default the arrays' ``xp.empty``) run another implementation or allocate
        otherwise (:meth:`run`).  One body for every caller, with no call in between (a loop kernel's loop is
        called from here, not through the kernel's function): an eager CoolNet step at batch 4 makes ~40
        kernel calls, where each extra Python call is ~0.1 us of a 0.7 ms step."""
        if impl is None:
            seen = _observer.get()
            if seen is None and type(args[0]) is np.ndarray:  # the common case: no backend() or xp lookup
                impl, new = getattr(BACKENDS.get("cpu") or _load("cpu"), self.name), np.empty
            else:
                impl = getattr(backend(args[0]), self.name)
                if seen is not None:
                    return seen.kernel(self, impl, args)
        if new is None:
            new = get_array_module(args[0]).empty  # numpy's and cupy's take (shape, dtype)
        specs = self.outputs(*args)
        result: Any = None
        if specs is None:
            outs: tuple = ()
        elif specs[1] is not None and type(specs[1]) is not tuple:  # one (shape, dtype) pair: its second is a dtype
            result = new(*specs)
            outs = (result,)
        else:
            made = []
            for spec in specs:  # a plain loop: a comprehension is one more call per kernel
                made.append(None if spec is None else new(*spec))
            outs = result = tuple(made)
        bind = getattr(impl, "bind", None)  # a loop kernel (loops.loop_kernel): its loop is called from here
        if bind is None:
            impl(*args, *outs)
        else:
            loop, loop_args = bind(*args, *outs)
            loop(*loop_args)
        return result

    def on(self, module: ModuleType) -> Callable[..., Any]:
        """This kernel as ``module`` implements it, allocating its outputs (for tests and benchmarks)."""
        return functools.partial(self, impl=getattr(module, self.name))

    def run(self, impl: Callable[..., Any], args: tuple, xp: Any, new: Callable[..., Any] | None = None) -> Any:
        """``impl`` on ``args``, its outputs allocated by ``new(shape, dtype)`` (by default ``xp.empty``)."""
        return self(*args, impl=impl, new=new or xp.empty)


def kernel(writes: tuple[int, ...] = ()) -> Callable[[Callable[..., Any]], Kernel]:
    """Declare a kernel by its outputs' function (named as the kernel; see :class:`Kernel`)."""
    return lambda outputs: Kernel(outputs, writes)


def _conv_hw(H: int, W: int, kh: int, kw: int, stride: int, padding: int) -> tuple[int, int]:
    return conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)


# ------------------------------------------------------------------ convolution
@kernel()
def im2col(x: Any, kh: int, kw: int, stride: int, padding: int) -> Out:
    """(N, C, H, W) -> (C*kh*kw, N*Ho*Wo): row (c, i, j), column (n, oh, ow)."""
    N, C, H, W = x.shape
    Ho, Wo = _conv_hw(H, W, kh, kw, stride, padding)
    return ((C * kh * kw, N * Ho * Wo), x.dtype)


@kernel()
def col2im(cols: Any, x_shape: tuple[int, ...], kh: int, kw: int, stride: int, padding: int) -> Out:
    """Adjoint of :func:`im2col`: scatter-add columns back into an (N, C, H, W) array."""
    return (tuple(x_shape), cols.dtype)


@kernel()
def conv2d_forward(x: Any, weight: Any, bias: Any, padding: int) -> Out:
    """Stride-1 convolution of x with weight, plus bias (None: none) (direct on the CPU; else im2col + GEMM)."""
    N, _, H, W = x.shape
    O, _, kh, kw = weight.shape
    return ((N, O, *_conv_hw(H, W, kh, kw, 1, padding)), x.dtype)


@kernel()
def conv2d_weight_grad(x: Any, g: Any, kernel_size: tuple[int, int], padding: int) -> Out:
    """d loss / d weight of :func:`conv2d_forward`, for the output gradient g (N, O, Ho, Wo)."""
    return ((g.shape[1], x.shape[1], *kernel_size), x.dtype)


@kernel()
def conv2d_input_grad(g: Any, weight: Any, x_shape: tuple[int, ...], padding: int) -> Out:
    """d loss / d x of :func:`conv2d_forward`, for x of shape ``x_shape``."""
    return (tuple(x_shape), g.dtype)


@kernel()
def conv2d_bias_grad(g: Any) -> Out:
    """d loss / d bias of a convolution: the output gradient g (N, O, Ho, Wo) summed over all but O."""
    return ((g.shape[1],), g.dtype)


# ------------------------------------------------------------------ pooling
@kernel()
def max_pool_forward(x: Any, kernel: int, stride: int, padding: int, keep_argmax: bool) -> tuple[Out, Out | None]:
    """Window maxima and, per output, the flat (h*W + w) index of its window's first maximum (int64), or
    None when ``keep_argmax`` is False (no backward will run and no indices are asked for)."""
    N, C, H, W = x.shape
    shape = (N, C, *_conv_hw(H, W, kernel, kernel, stride, padding))
    return (shape, x.dtype), ((shape, _INT64) if keep_argmax else None)


@kernel()
def max_pool_backward(grad: Any, argmax: Any, x_shape: tuple[int, ...]) -> Out:
    """Route each output's gradient to the input element that was its maximum."""
    return (tuple(x_shape), grad.dtype)


# ------------------------------------------------------------------ batch norm
@kernel()
def batch_norm_forward(x: Any, weight: Any, bias: Any, mean: Any, var: Any, eps: float,
                       keep_xhat: bool) -> tuple[Out | None, ...]:
    """Batch norm of x (N, C, L) over N and L: (out, xhat, scale = weight / std, batch mean, batch var).

    ``mean``/``var`` None (training) normalises with the batch's statistics and
    returns them (biased variance); given (evaluation), they are used and the
    last two results are None.  With ``keep_xhat=False`` (no backward will run)
    xhat is None.
    """
    C = (x.shape[1],)
    stats = (C, x.dtype) if mean is None else None
    return (x.shape, x.dtype), ((x.shape, x.dtype) if keep_xhat else None), (C, x.dtype), stats, stats


@kernel()
def batch_norm_backward(g: Any, xhat: Any, scale: Any, training: bool) -> tuple[Out, Out, Out]:
    """(grad_x, grad_weight, grad_bias) of :func:`batch_norm_forward`."""
    return (g.shape, g.dtype), ((g.shape[1],), g.dtype), ((g.shape[1],), g.dtype)


@kernel(writes=(0, 1))
def batch_norm_running_stats(running_mean: Any, running_var: Any, mean: Any, var: Any, momentum: float,
                             count: int) -> None:
    """In place: running statistics move toward the batch's ``mean`` and biased ``var`` (over ``count`` values)."""
    return None


# ------------------------------------------------------------------ losses, activations, Linear, SGD
@kernel()
def cross_entropy_forward(logits: Any, target: Any) -> tuple[Out, Out]:
    """(per-row losses, softmax probabilities) of logits (N, C) against class indices (N,)."""
    return ((logits.shape[0],), logits.dtype), (logits.shape, logits.dtype)


@kernel()
def cross_entropy_backward(probs: Any, target: Any, scale: Any) -> Out:
    """Gradient of the per-row losses, each row scaled by ``scale[n]``."""
    return (probs.shape, probs.dtype)


@kernel()
def one_hot(target: Any, num_classes: int, dtype: Any) -> Out:
    """Class indices (...) -> (..., num_classes) rows of zeros with a one, or ValueError naming the range where an
    index lies outside [0, num_classes) (checked in the kernel: a captured step checks it on every replay)."""
    return ((*target.shape, num_classes), np.dtype(dtype))


@kernel()
def relu_forward(a: Any, keep_mask: bool) -> tuple[Out, Out | None]:
    """(max(a, 0), the mask a > 0 for backward, or None when ``keep_mask`` is False)."""
    return (a.shape, a.dtype), ((a.shape, _BOOL) if keep_mask else None)


@kernel()
def relu_backward(g: Any, mask: Any) -> Out:
    """g where the mask is set, else 0."""
    return (g.shape, g.dtype)


@kernel()
def linear_forward(x: Any, weight: Any) -> Out:
    """x (N, K) @ weight (J, K).T, a Linear layer's product (a GEMM, or on the CPU a loop at a few rows)."""
    return ((x.shape[0], weight.shape[0]), _promoted(x.dtype, weight.dtype))


@kernel()
def linear_weight_grad(g: Any, x: Any) -> Out:
    """g (N, J).T @ x (N, K): the Linear layer's weight gradient."""
    return ((g.shape[1], x.shape[1]), _promoted(g.dtype, x.dtype))


@kernel()
def linear_input_grad(g: Any, weight: Any) -> Out:
    """g (N, J) @ weight (J, K): the Linear layer's input gradient."""
    return ((g.shape[0], weight.shape[1]), _promoted(g.dtype, weight.dtype))


@kernel(writes=(0, 2))
def sgd_update(data: Any, grad: Any, momentum_buffer: Any, lr: float, momentum: float, dampening: float,
               weight_decay: float, nesterov: bool, first: bool) -> None:
    """One SGD step over flat arrays, in place (``data``, and ``momentum_buffer`` with momentum)."""
    return None


KERNELS = {k.name: k for k in globals().values() if isinstance(k, Kernel)}  # every kernel, by name


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
