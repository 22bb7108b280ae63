"""2-D convolution as im2col + one GEMM (and col2im for the input gradient)."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module
from minitorch.kernels import col2im, conv_output_size, im2col
from minitorch.ops._checks import check_float


class Conv2d(Function):
    """Cross-correlation of (N, C, H, W) with weight (O, C, kh, kw), then + bias (O,)."""

    __slots__ = ("stride", "padding", "cols", "weight", "x_shape", "w_shape")

    def __init__(self, stride: int = 1, padding: int = 0) -> None:
        self.stride, self.padding = stride, padding

    def forward(self, x, weight, bias=None):
        if x.ndim != 4:
            raise ValueError(f"conv2d: expected a 4-D input (N, C, H, W), got shape {x.shape}")
        if weight.ndim != 4 or x.shape[1] != weight.shape[1]:
            raise ValueError(
                f"conv2d: input of shape {x.shape} has {x.shape[1]} channels but weight of shape "
                f"{weight.shape} expects {weight.shape[1] if weight.ndim == 4 else '?'}"
            )
        check_float("conv2d", input=x, weight=weight, bias=bias)
        N, C, H, W = x.shape
        O, _, kh, kw = weight.shape
        s, p = self.stride, self.padding
        Ho, Wo = conv_output_size(H, kh, s, p), conv_output_size(W, kw, s, p)
        if Ho <= 0 or Wo <= 0:
            raise ValueError(
                f"conv2d: input of shape {x.shape} is smaller than the kernel {kh}x{kw} "
                f"(padding {p}, stride {s})"
            )
        needs = self.needs_grad
        self.x_shape, self.w_shape = x.shape, weight.shape
        if needs[0]:
            self.weight = weight
        w2 = weight.reshape(O, -1)
        chunk = _images_per_chunk(C * kh * kw * Ho * Wo * x.itemsize)
        if needs[1] or N <= chunk:
            cols = im2col(x, kh, kw, s, p)  # (C*kh*kw, N*Ho*Wo)
            if needs[1]:
                self.cols = cols
            return _to_nchw(w2 @ cols, bias, N, Ho, Wo)
        # Nothing to save for backward (inference): go through the batch in
        # chunks whose columns stay in cache, instead of one huge column matrix.
        xp = get_array_module(x)
        out = xp.empty((N, O, Ho, Wo), dtype=x.dtype)
        for start in range(0, N, chunk):
            part = x[start:start + chunk]
            out[start:start + chunk] = _to_nchw(w2 @ im2col(part, kh, kw, s, p), bias, len(part), Ho, Wo)
        return out

    def backward(self, g):
        O = g.shape[1]
        g2 = g.transpose(1, 0, 2, 3).reshape(O, -1)  # (O, N*Ho*Wo), one copy
        needs = self.needs_grad
        gx = gw = gb = None
        if needs[1]:
            gw = (g2 @ self.cols.T).reshape(self.w_shape)
        if len(needs) > 2 and needs[2]:
            gb = g2.sum(axis=1)
        if needs[0]:
            kh, kw = self.w_shape[2], self.w_shape[3]
            gcols = self.weight.reshape(O, -1).T @ g2
            gx = col2im(gcols, self.x_shape, kh, kw, self.stride, self.padding)
        return gx, gw, gb


_CHUNK_BYTES = 2 << 20  # columns of one chunk: small enough to stay in cache


def _images_per_chunk(bytes_per_image: int) -> int:
    return max(1, _CHUNK_BYTES // max(1, bytes_per_image))


def _to_nchw(out, bias, N: int, Ho: int, Wo: int):
    """(O, N*Ho*Wo) GEMM result -> (N, O, Ho, Wo), adding the bias on the way."""
    O = out.shape[0]
    if bias is not None:
        out += bias.reshape(O, 1)
    return out.reshape(O, N, Ho, Wo).transpose(1, 0, 2, 3).copy()

