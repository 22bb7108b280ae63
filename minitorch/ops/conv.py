"""2-D convolution: im2col + one GEMM (col2im for the input gradient), or a direct kernel for small CPU layers."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module, new_array
from minitorch.kernels import (
    col2im,
    conv2d_bias_grad,
    conv2d_forward,
    conv2d_input_grad,
    conv2d_weight_grad,
    conv_output_size,
    direct_conv_applies,
    im2col,
    im2col_chunk,
)
from minitorch.ops._checks import check_float


class Conv2d(Function):
    """Cross-correlation of (N, C, H, W) with weight (O, C, kh, kw), then + bias (O,).

    A batch whose column matrix is small is done in one GEMM, and its columns
    are kept for the weight gradient.  A larger batch is done in chunks of
    images whose columns stay in cache; backward then rebuilds each chunk's
    columns instead of keeping them all, which is both faster (the GEMMs run
    from cache) and far lighter on memory (conv1's columns at batch 256 would
    be 60 MB).

    On the CPU, a stride-1 layer with a small weight (LeNet's) skips im2col
    altogether: :mod:`minitorch.kernels.cpu_conv` convolves directly, and keeps
    only the input and weight for backward.
    """

    __slots__ = ("stride", "padding", "cols", "x", "weight", "x_shape", "w_shape", "chunk", "direct")
    fresh_grads = True

    def __init__(self, stride: int = 1, padding: int = 0) -> None:
        self.stride, self.padding = stride, padding

    def forward(self, x, weight, bias=None):
        if x.ndim != 4:
            raise ValueError(f"conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
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
            self.weight, = self.save_for_backward(weight)
        self.direct = direct_conv_applies(x, weight, s)
        if self.direct:
            if needs[1]:
                self.x, = self.save_for_backward(x)
            return conv2d_forward(x, weight, bias, p)
        w2 = weight.reshape(O, -1)
        chunk = self.chunk = im2col_chunk(x, C * kh * kw * Ho * Wo * x.itemsize)
        if N <= chunk:
            cols = im2col(x, kh, kw, s, p)  # (C*kh*kw, N*Ho*Wo)
            if needs[1]:
                self.cols = cols
            return _to_nchw(w2 @ cols, bias, N, Ho, Wo)
        if needs[1]:
            self.x, = self.save_for_backward(x)
        out = get_array_module(x).empty((N, O, Ho, Wo), dtype=x.dtype)
        for start in range(0, N, chunk):
            part = x[start:start + chunk]
            out[start:start + chunk] = _to_nchw(w2 @ im2col(part, kh, kw, s, p), bias, len(part), Ho, Wo)
        return out

    def backward(self, g):
        N, O = g.shape[0], g.shape[1]
        needs = self.needs_grad
        kh, kw = self.w_shape[2], self.w_shape[3]
        s, p = self.stride, self.padding
        gb = conv2d_bias_grad(g) if len(needs) > 2 and needs[2] else None
        if self.direct:
            gw = conv2d_weight_grad(self.x, g, (kh, kw), p) if needs[1] else None
            gx = conv2d_input_grad(g, self.weight, self.x_shape, p) if needs[0] else None
            return gx, gw, gb
        if N <= self.chunk:
            g2 = g.transpose(1, 0, 2, 3).reshape(O, -1)  # (O, N*Ho*Wo), one copy
            gw = (g2 @ self.cols.T).reshape(self.w_shape) if needs[1] else None
            gx = col2im(self.weight.reshape(O, -1).T @ g2, self.x_shape, kh, kw, s, p) if needs[0] else None
            return gx, gw, gb
        xp = get_array_module(g)
        gw = new_array(xp, (O, self.w_shape[1] * kh * kw), g.dtype, 0) if needs[1] else None
        gx = new_array(xp, self.x_shape, g.dtype) if needs[0] else None
        w2t = self.weight.reshape(O, -1).T if needs[0] else None
        for start in range(0, N, self.chunk):
            stop = min(start + self.chunk, N)
            g2 = g[start:stop].transpose(1, 0, 2, 3).reshape(O, -1)
            if gw is not None:
                gw += g2 @ im2col(self.x[start:stop], kh, kw, s, p).T
            if gx is not None:
                shape = (stop - start,) + self.x_shape[1:]
                gx[start:stop] = col2im(w2t @ g2, shape, kh, kw, s, p)
        return gx, (gw.reshape(self.w_shape) if gw is not None else None), gb


def _to_nchw(out, bias, N: int, Ho: int, Wo: int):
    """(O, N*Ho*Wo) GEMM result -> (N, O, Ho, Wo), adding the bias on the way."""
    O = out.shape[0]
    if bias is not None:
        out += bias.reshape(O, 1)
    return out.reshape(O, N, Ho, Wo).transpose(1, 0, 2, 3).copy()

