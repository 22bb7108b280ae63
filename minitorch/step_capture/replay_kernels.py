"""Replay forms of minitorch's CPU kernels: the compiled loop, called on the recording's buffers.

A kernel function of :mod:`minitorch.kernels.cpu` or ``cpu_conv`` allocates
its outputs, makes its inputs contiguous and calls a numba loop.  On a replay
the outputs already exist, so each form here calls the same loop on them
directly, with the same arguments the function would pass (hence bit-identical
results), and keeps whatever the function decides from the data: max pooling's
NaN fallback, cross-entropy's out-of-range target error.

A form applies only where the function would have done nothing else than
what the form does (inputs already contiguous); otherwise :func:`fast_form`
returns None and the kernel function itself is replayed.  Every array a form
touches is one of its step's arguments (closures keep only compiled functions
and numbers), so that :mod:`.program` sees every use of an input.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Step = tuple[Callable[..., Any], tuple, dict]


def compiled(fn: Any, *args: Any) -> Any:
    """The compiled entry point of the numba function ``fn`` for exactly these arguments, or ``fn`` itself.

    Calling the entry point skips numba's dispatch on the argument types, which a replay, always
    passing the same arrays, does not need.
    """
    overloads = getattr(fn, "overloads", None)
    if not overloads:
        return fn
    from numba import typeof

    try:
        found = overloads.get(tuple(typeof(a) for a in args))
    except (TypeError, ValueError):
        return fn
    return fn if found is None else found.entry_point


def _direct(fn: Any, *args: Any) -> Step:
    return compiled(fn, *args), args, {}


def _contiguous(*arrays: Any) -> bool:
    return all(isinstance(a, np.ndarray) and a.flags.c_contiguous for a in arrays)


def _relu_forward(results: dict, a, keep_mask) -> Step | None:
    from minitorch.kernels import cpu

    out, mask = results.get(0), results.get(1)
    if out is None or not _contiguous(a) or (keep_mask and mask is None):
        return None
    flat_mask = mask.reshape(-1) if keep_mask and mask is not None else np.empty(0, dtype=np.bool_)
    return _direct(cpu._relu_forward, a.reshape(-1), out.reshape(-1), flat_mask, keep_mask)


def _relu_backward(results: dict, g, mask) -> Step | None:
    from minitorch.kernels import cpu

    out = results.get(None)
    if out is None or not _contiguous(g, mask):
        return None
    return _direct(cpu._relu_backward, g.reshape(-1), mask.reshape(-1), out.reshape(-1))


def _batch_norm_forward(results: dict, x, weight, bias, mean, var, eps, keep_xhat=True) -> Step | None:
    from minitorch.kernels import cpu

    out, xhat, scale = results.get(0), results.get(1), results.get(2)
    training = mean is None
    if training:  # the kernel writes the batch's statistics into these buffers
        mean, var = results.get(3), results.get(4)
    if out is None or scale is None or mean is None or (keep_xhat and xhat is None) or not _contiguous(x):
        return None
    return _direct(cpu._batch_norm_forward, x, weight, bias, training, eps, out, xhat if keep_xhat else out, scale,
                   mean, var, keep_xhat)


def _batch_norm_backward(results: dict, g, xhat, scale, training) -> Step | None:
    from minitorch.kernels import cpu

    gx, gweight, gbias = results.get(0), results.get(1), results.get(2)
    if gx is None or gweight is None or gbias is None or not _contiguous(g):
        return None
    return _direct(cpu._batch_norm_backward, g, xhat, scale, training, gx, gweight, gbias)


def _max_pool_forward(results: dict, x, kernel, stride, padding) -> Step | None:
    from minitorch.kernels import cpu

    out, argmax = results.get(0), results.get(1)
    if out is None or argmax is None or not _contiguous(x):
        return None
    if kernel == 2 and stride == 2 and padding == 0:
        unrolled = compiled(cpu._max_pool_2x2, x, out, argmax)

        def pool_2x2(x, out, argmax):
            if not unrolled(x, out, argmax):  # a NaN or inf: the general kernel, as the function does
                cpu._max_pool_forward(x, 2, 2, 0, out, argmax)
        return pool_2x2, (x, out, argmax), {}
    return _direct(cpu._max_pool_forward, x, kernel, stride, padding, out, argmax)


def _max_pool_backward(results: dict, grad, argmax, x_shape) -> Step | None:
    from minitorch.kernels import cpu

    out = results.get(None)
    if out is None or not _contiguous(grad, out):
        return None
    N, C, H, W = x_shape
    planes = out.reshape(N, C, H * W)
    scatter = compiled(cpu._max_pool_backward, grad, argmax, planes)

    def pool_backward(grad, argmax, planes):
        planes.fill(0)
        scatter(grad, argmax, planes)

    return pool_backward, (grad, argmax, planes), {}


def _cross_entropy_forward(results: dict, logits, target) -> Step | None:
    from minitorch.kernels import cpu

    losses, probs = results.get(0), results.get(1)
    if losses is None or probs is None or not _contiguous(logits, target):
        return None

    kernel = compiled(cpu._cross_entropy_forward, logits, target, losses, probs)

    def cross_entropy(logits, target, losses, probs):
        bad = kernel(logits, target, losses, probs)
        if bad >= 0:
            raise ValueError(f"cross_entropy: target {int(target[bad])} is out of range for {logits.shape[1]} classes")

    return cross_entropy, (logits, target, losses, probs), {}


def _cross_entropy_backward(results: dict, probs, target, scale) -> Step | None:
    from minitorch.kernels import cpu

    grad = results.get(None)
    if grad is None:
        return None
    return _direct(cpu._cross_entropy_backward, probs, target, scale, grad)


def _batch_norm_running_stats(results: dict, running_mean, running_var, mean, var, momentum, count) -> Step | None:
    from minitorch.kernels import cpu

    args = cpu.running_stats_loop_args(running_mean, running_var, mean, var, momentum, count)
    return None if args is None else _direct(cpu._batch_norm_running_stats, *args)


def _linear_forward(results: dict, x, weight) -> Step | None:
    from minitorch.kernels import cpu

    out = results.get(None)
    if out is None:
        return None
    if cpu.linear_forward_by_rows(x, weight):
        return _direct(cpu._linear_forward_rows, x, weight, out)
    return np.matmul, (x, weight.T), {"out": out}


def _linear_weight_grad(results: dict, g, x) -> Step | None:
    from minitorch.kernels import cpu

    out = results.get(None)
    if out is None:
        return None
    if cpu.linear_weight_grad_by_rows(g, x):
        return _direct(cpu._linear_weight_grad_rows, g, x, out)
    return np.matmul, (g.T, x), {"out": out}


def _sgd_update(results: dict, data, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                first) -> Step | None:
    from minitorch.kernels import cpu

    buffer = momentum_buffer if momentum_buffer is not None else grad
    return _direct(cpu._sgd_update, data, grad, buffer, lr, momentum, dampening, weight_decay, nesterov, first)


def _padded(x: np.ndarray, padding: int) -> tuple[np.ndarray, np.ndarray]:
    """A zero-bordered array for ``x`` and the view of its interior (the border stays zero)."""
    N, C, H, W = x.shape
    p = padding
    padded = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=x.dtype)
    return padded, padded[:, :, p:p + H, p:p + W]


def _conv2d_forward(results: dict, x, weight, bias, padding) -> Step | None:
    from minitorch.kernels import cpu_conv

    out = results.get(None)
    if out is None or not _contiguous(x, weight):
        return None
    bias = bias if bias is not None else np.zeros(weight.shape[0], dtype=x.dtype)
    if not padding:
        return _direct(cpu_conv._forward, x, weight, bias, out)
    padded, interior = _padded(x, padding)
    kernel = compiled(cpu_conv._forward, padded, weight, bias, out)

    def conv_padded(x, interior, padded, weight, bias, out):
        np.copyto(interior, x)
        kernel(padded, weight, bias, out)

    return conv_padded, (x, interior, padded, weight, bias, out), {}


def _conv2d_weight_grad(results: dict, x, g, kernel_size, padding) -> Step | None:
    from minitorch.kernels import cpu_conv

    gw = results.get(None)
    if gw is None or not _contiguous(x, g):
        return None
    if not padding:
        kernel = compiled(cpu_conv._weight_grad, x, g, gw)

        def weight_grad(x, g, gw):
            gw.fill(0)
            kernel(x, g, gw)
        return weight_grad, (x, g, gw), {}
    padded, interior = _padded(x, padding)
    kernel = compiled(cpu_conv._weight_grad, padded, g, gw)

    def weight_grad_padded(x, interior, padded, g, gw):
        np.copyto(interior, x)
        gw.fill(0)
        kernel(padded, g, gw)

    return weight_grad_padded, (x, interior, padded, g, gw), {}


def _conv2d_input_grad(results: dict, g, weight, x_shape, padding) -> Step | None:
    from minitorch.kernels import cpu_conv

    gx = results.get(None)
    if gx is None or not _contiguous(g, weight):
        return None
    if not padding:
        return _direct(cpu_conv._input_grad, g, weight, gx)
    N, C, H, W = x_shape
    p = padding
    scratch = np.empty((N, C, H + 2 * p, W + 2 * p), dtype=g.dtype)
    kernel = compiled(cpu_conv._input_grad, g, weight, scratch)

    def input_grad_padded(g, weight, scratch, interior, gx):
        kernel(g, weight, scratch)
        np.copyto(gx, interior)

    return input_grad_padded, (g, weight, scratch, scratch[:, :, p:p + H, p:p + W], gx), {}


_FORMS: dict[str, Callable[..., Step | None]] = {
    "cpu.relu_forward": _relu_forward,
    "cpu.relu_backward": _relu_backward,
    "cpu.batch_norm_forward": _batch_norm_forward,
    "cpu.batch_norm_backward": _batch_norm_backward,
    "cpu.batch_norm_running_stats": _batch_norm_running_stats,
    "cpu.max_pool_forward": _max_pool_forward,
    "cpu.max_pool_backward": _max_pool_backward,
    "cpu.cross_entropy_forward": _cross_entropy_forward,
    "cpu.cross_entropy_backward": _cross_entropy_backward,
    "cpu.sgd_update": _sgd_update,
    "cpu.linear_forward": _linear_forward,
    "cpu.linear_weight_grad": _linear_weight_grad,
    "cpu.conv2d_forward": _conv2d_forward,  # minitorch.kernels.cpu takes these from cpu_conv
    "cpu.conv2d_weight_grad": _conv2d_weight_grad,
    "cpu.conv2d_input_grad": _conv2d_input_grad,
}


def fast_form(op: Any) -> Step | None:
    """The direct replay of a recorded kernel call, or None where the kernel function must be replayed."""
    form = _FORMS.get(op.name)
    if form is None or op.kwargs:
        return None
    try:
        return form(dict(op.results), *op.args)
    except TypeError:  # called with other arguments than this form knows: replay the function itself
        return None


KERNEL_WRITES = {"sgd_update": (0, 2), "batch_norm_running_stats": (0, 1)}
