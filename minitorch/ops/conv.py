"""2-D convolution as im2col + one GEMM (and col2im for the input gradient)."""
from __future__ import annotations

from minitorch.autograd import Function
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
        cols = im2col(x, kh, kw, s, p)  # (C*kh*kw, N*Ho*Wo)
        out = weight.reshape(O, -1) @ cols  # (O, N*Ho*Wo)
        if bias is not None:
            out += bias.reshape(O, 1)
        needs = self.needs_grad
        if needs[1]:
            self.cols = cols
        if needs[0]:
            self.weight = weight
        self.x_shape, self.w_shape = x.shape, weight.shape
        return out.reshape(O, N, Ho, Wo).transpose(1, 0, 2, 3).copy()

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

