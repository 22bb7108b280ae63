"""Which direct convolution runs a CPU conv kernel: :mod:`.cpu_simd`'s for float32, else :mod:`.cpu_conv`'s.

:mod:`.cpu_simd`'s register-tiled kernels are 1.1-2.7x faster than
:mod:`.cpu_conv`'s on LeNet's layers, but take only float32 arrays (copied
C-contiguous where they are not); everything else (float64 above all: the
gradient checks) stays on :mod:`.cpu_conv`.  Both take the input padded beforehand; the SIMD input
gradient writes the padded-size gradient, whose border is then cut off.

Each kernel is ``call(*args, *outputs) -> (function, arguments)``, so that a
captured step can replay it in a direct form (the functions' ``replay``): the
compiled entry point on the very arrays, and, where the layer pads, a scratch
padded array made once at recording whose border stays zero and whose
interior each call refills.  Eager calls run the same compiled code on the
same values, so a replay is bit-identical to the eager step.  A large batch's
forward and input gradient go in parts over threads (:func:`.loops.in_parts`),
eagerly and in a replay alike: the SIMD kernels compute each image the same
way whatever images share their call.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from minitorch.kernels import cpu_conv, cpu_simd, loops


def simd_applies(*arrays: np.ndarray | None) -> bool:
    """Whether :mod:`.cpu_simd` takes these arrays (None: an absent bias): all float32.

    Any that is not C-contiguous is copied first (as :mod:`.cpu_conv` does), so that a step gives the same
    numbers whatever the layout of its input.
    """
    for a in arrays:  # a plain loop: asked on every eager conv call, where a generator costs more
        if a is not None and a.dtype != _FLOAT32:
            return False
    return True


_FLOAT32 = np.dtype(np.float32)


Call = tuple[Callable[..., Any], tuple]


def _compiled(fn: Any, args: tuple, direct: bool) -> Callable[..., Any]:
    """``fn``, or with ``direct`` its compiled entry point for these arguments' types (no type dispatch)."""
    if not direct or not hasattr(fn, "overloads"):
        return fn
    found = fn.overloads.get(tuple(numba.typeof(a) for a in args))
    return fn if found is None else found.entry_point


def _staged(x: np.ndarray, padding: int) -> tuple[np.ndarray, np.ndarray]:
    """A zeroed C-contiguous array of x's padded shape, and the view of its interior where x goes."""
    N, C, H, W = x.shape
    p = padding
    padded = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=x.dtype)
    return padded, padded[:, :, p:p + H, p:p + W]


def _fill_then(x: np.ndarray, interior: np.ndarray, fn: Callable[..., Any], *args: Any) -> None:
    """Copy x into the staged array's interior, then run ``fn(*args)`` (which reads the staged array)."""
    np.copyto(interior, x)
    fn(*args)


def _then_cut(fn: Callable[..., Any], g: np.ndarray, weight: np.ndarray, padded: np.ndarray,
              interior: np.ndarray, out: np.ndarray) -> None:
    """The padded-size input gradient into ``padded``, then its interior into ``out``."""
    fn(g, weight, padded)
    np.copyto(out, interior)


def _read(fn: Any, x: np.ndarray, padding: int, rest: tuple, direct: bool) -> Call:
    """``fn(x padded, *rest)``: x itself where it is C-contiguous and unpadded, else staged on every call."""
    if not padding and x.flags.c_contiguous:
        args = (x, *rest)
        return _compiled(fn, args, direct), args
    staged, interior = _staged(x, padding)
    args = (staged, *rest)
    return _fill_then, (x, interior, _compiled(fn, args, direct), *args)


def _contiguous(direct: bool, *arrays: np.ndarray) -> list[np.ndarray] | None:
    """The arrays C-contiguous; None for a replay form (``direct``) where that took a copy, which a replay
    would not refresh (the recorder then replays the kernel as called)."""
    out = [np.ascontiguousarray(a) for a in arrays]
    return None if direct and any(b is not a for a, b in zip(arrays, out, strict=True)) else out


def forward_call(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, padding: int, out: np.ndarray,
                 direct: bool = False) -> Call | None:
    """The call that computes :func:`conv2d_forward` (``direct``: in its replay form, or None)."""
    if not simd_applies(x, weight, bias):
        return cpu_conv.conv2d_forward, (x, weight, bias, padding, out)
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=np.float32)  # never written: a constant of the replay
    arrays = _contiguous(direct, weight, bias)
    if arrays is None:
        return None
    fn, args = _read(cpu_simd.conv2d_forward_into, x, padding, (*arrays, out), direct)
    return loops.in_parts(fn, args, (0, 3) if fn is not _fill_then else (0, 1, 3, 6))  # x, out (+ interior, staged)


def weight_grad_call(x: np.ndarray, g: np.ndarray, kernel_size: tuple[int, int], padding: int, out: np.ndarray,
                     direct: bool = False) -> Call | None:
    """The call that computes :func:`conv2d_weight_grad` (``direct``: in its replay form, or None)."""
    if not simd_applies(x, g):
        return cpu_conv.conv2d_weight_grad, (x, g, kernel_size, padding, out)
    arrays = _contiguous(direct, g)
    return None if arrays is None else _read(cpu_simd.conv2d_weight_grad_into, x, padding, (*arrays, out), direct)


def input_grad_call(g: np.ndarray, weight: np.ndarray, x_shape: tuple[int, ...], padding: int, out: np.ndarray,
                    direct: bool = False) -> Call | None:
    """The call that computes :func:`conv2d_input_grad` (``direct``: in its replay form, or None)."""
    if not simd_applies(g, weight):
        return cpu_conv.conv2d_input_grad, (g, weight, x_shape, padding, out)
    arrays = _contiguous(direct, g, weight)
    if arrays is None:
        return None
    if not padding:
        args = (*arrays, out)
        return loops.in_parts(_compiled(cpu_simd.conv2d_input_grad_into, args, direct), args, (0, 2))  # g, out
    padded, interior = _staged(out, padding)
    fn = _compiled(cpu_simd.conv2d_input_grad_into, (*arrays, padded), direct)
    return loops.in_parts(_then_cut, (fn, *arrays, padded, interior, out), (1, 3, 4, 5))  # g, padded, interior, out


def _run(call: Call | None) -> None:
    assert call is not None  # only a replay form is ever None
    fn, args = call
    fn(*args)


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, padding: int,
                   out: np.ndarray) -> None:
    """Stride-1 convolution of (N, C, H, W) with (O, C, kh, kw), plus bias: out (N, O, Ho, Wo)."""
    _run(forward_call(x, weight, bias, padding, out))


def conv2d_weight_grad(x: np.ndarray, g: np.ndarray, kernel_size: tuple[int, int], padding: int,
                       out: np.ndarray) -> None:
    """Gradient of :func:`conv2d_forward` with respect to the weight, given the output gradient ``g``."""
    _run(weight_grad_call(x, g, kernel_size, padding, out))


def conv2d_input_grad(g: np.ndarray, weight: np.ndarray, x_shape: tuple[int, ...], padding: int,
                      out: np.ndarray) -> None:
    """Gradient of :func:`conv2d_forward` with respect to its (unpadded) input of shape ``x_shape``."""
    _run(input_grad_call(g, weight, x_shape, padding, out))


# a recorded call's direct form (see the module docstring); the recorder asks ``kernel.replay(*call)``
conv2d_forward.replay = functools.partial(forward_call, direct=True)  # type: ignore[attr-defined]
conv2d_weight_grad.replay = functools.partial(weight_grad_call, direct=True)  # type: ignore[attr-defined]
conv2d_input_grad.replay = functools.partial(input_grad_call, direct=True)  # type: ignore[attr-defined]
