"""Sliding windows over (N, C, H, W) arrays: the geometry that convolution and pooling share.

Along each spatial axis a layer has a kernel size ``k``, a stride ``s``, a
dilation ``d`` and padding before and after.  Window ``o`` starts at
``o * s`` in the padded input and reads ``k`` elements ``d`` apart.
:func:`windows` views every window at once without copying (a strided view of
the padded input), and :func:`add_windows` is its adjoint: it adds values laid
out like that view back into an array of the padded shape, overlapping windows
adding up, which is what each backward needs.  :func:`pad` and :func:`windows`
take the array module from their caller, which has looked it up already.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

from minitorch.backend import get_array_module, new_array

Pair = tuple[int, int]
Padding = tuple[int, int, int, int]  # top, bottom, left, right


def output_size(size: int, kernel: int, stride: int, before: int, after: int, dilation: int = 1,
                ceil_mode: bool = False) -> int:
    """Number of windows along one axis (PyTorch's rule; may be <= 0 when the input is too small).

    With ``ceil_mode`` a last, partial window is kept when it starts inside the
    input or its leading padding (never in the trailing padding alone).
    """
    room = size + before + after - (dilation * (kernel - 1) + 1)
    if not ceil_mode:
        return room // stride + 1
    out = -(-room // stride) + 1
    if (out - 1) * stride >= size + before:
        out -= 1
    return out


def pad(xp: ModuleType, x: Any, padding: Padding, value: float = 0.0) -> Any:
    """``x`` with ``padding`` (top, bottom, left, right) rows and columns of ``value`` around each image."""
    if not any(padding):
        return x
    top, bottom, left, right = padding
    return xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="constant", constant_values=value)


def windows(xp: ModuleType, x: Any, kernel: Pair, stride: Pair, dilation: Pair, out: Pair) -> Any:
    """A view ``v`` of shape (N, C, kh, kw, Ho, Wo) with
    ``v[n, c, i, j, oh, ow] = x[n, c, oh * sh + i * dh, ow * sw + j * dw]``.

    Windows overlap in memory, so the view must only be read.
    """
    (kh, kw), (sh, sw), (dh, dw), (Ho, Wo) = kernel, stride, dilation, out
    sN, sC, sH, sW = x.strides
    return xp.lib.stride_tricks.as_strided(
        x, shape=x.shape[:2] + (kh, kw, Ho, Wo), strides=(sN, sC, sH * dh, sW * dw, sH * sh, sW * sw)
    )


def add_windows(values: Any, shape: tuple[int, ...], stride: Pair, dilation: Pair) -> Any:
    """Adjoint of :func:`windows`: an array of ``shape`` (the padded input's) with
    ``values[n, c, i, j, oh, ow]`` added at ``[n, c, oh * sh + i * dh, ow * sw + j * dw]``."""
    xp = get_array_module(values)
    kh, kw, Ho, Wo = values.shape[2:]
    (sh, sw), (dh, dw) = stride, dilation
    out = new_array(xp, shape, values.dtype, 0)
    for i in range(kh):  # one strided slice per kernel tap: kh * kw whole-array adds
        for j in range(kw):
            h, w = i * dh, j * dw
            out[:, :, h:h + sh * (Ho - 1) + 1:sh, w:w + sw * (Wo - 1) + 1:sw] += values[:, :, i, j]
    return out
