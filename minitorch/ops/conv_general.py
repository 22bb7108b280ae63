"""2-D convolution of any geometry: per-axis stride, asymmetric padding, dilation and groups.

:class:`minitorch.ops.conv.Conv2d` is the fast path for the common layer (one
stride, the same padding on every side, no dilation, one group).  Everything
else comes here, to the textbook method written once for every case: gather
the windows into columns (im2col over a strided view), then one batched GEMM
with a batch of ``groups`` matrices.  Backward runs the same two steps
transposed, scattering the column gradient back with the windows' adjoint.
"""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import get_array_module
from minitorch.kernels import conv2d_bias_grad
from minitorch.ops._checks import check_float
from minitorch.ops._windows import Padding, Pair, add_windows, output_size, pad, windows


class GeneralConv2d(Function):
    """Cross-correlation of x (N, C, H, W) with weight (K, C / groups, kh, kw), then + bias (K,).

    The K output channels and the C input channels split into ``groups``
    equal runs, and output channel k sees only the inputs of its run,
    ``k // (K / groups)``; groups = C is a depthwise convolution.
    """

    __slots__ = ("stride", "padding", "dilation", "groups", "cols", "weight", "x_shape", "w_shape", "out_hw")

    def __init__(self, stride: Pair, padding: Padding, dilation: Pair, groups: int) -> None:
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def forward(self, x, weight, bias=None):
        G = self.groups
        if x.ndim != 4:
            raise ValueError(f"conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
        if weight.ndim != 4 or x.shape[1] != weight.shape[1] * G:
            expects = weight.shape[1] * G if weight.ndim == 4 else "?"
            grouped = f" ({G} groups of {weight.shape[1]})" if G > 1 and weight.ndim == 4 else ""
            raise ValueError(f"conv2d: input of shape {x.shape} has {x.shape[1]} channels but weight of shape "
                             f"{weight.shape} expects {expects}{grouped}")
        if weight.shape[0] % G:
            raise ValueError(f"conv2d: weight of shape {weight.shape} has {weight.shape[0]} output channels, "
                             f"not divisible by groups={G}")
        check_float("conv2d", input=x, weight=weight, bias=bias)
        N, C, H, W = x.shape
        K, Cg, kh, kw = weight.shape
        (sh, sw), (dh, dw), (top, bottom, left, right) = self.stride, self.dilation, self.padding
        Ho, Wo = output_size(H, kh, sh, top, bottom, dh), output_size(W, kw, sw, left, right, dw)
        if Ho <= 0 or Wo <= 0:
            raise ValueError(f"conv2d: input of shape {x.shape} is smaller than the kernel {kh}x{kw} "
                             f"(padding {self.padding}, stride {self.stride}, dilation {self.dilation})")
        xp = get_array_module(x)
        view = windows(xp, pad(xp, x, self.padding), (kh, kw), self.stride, self.dilation, (Ho, Wo))
        cols = view.transpose(1, 2, 3, 0, 4, 5).reshape(G, Cg * kh * kw, N * Ho * Wo)  # one copy
        out = weight.reshape(G, K // G, Cg * kh * kw) @ cols  # (G, K / G, N * Ho * Wo)
        out = out.reshape(K, N, Ho, Wo)
        if bias is not None:
            out += bias.reshape(K, 1, 1, 1)
        needs = self.needs_grad
        if needs[0]:
            self.weight, = self.save_for_backward(weight)
        if needs[1]:
            self.cols = cols
        self.x_shape, self.w_shape, self.out_hw = x.shape, weight.shape, (Ho, Wo)
        return out.transpose(1, 0, 2, 3).copy()

    def backward(self, g):
        G, needs = self.groups, self.needs_grad
        N, C, H, W = self.x_shape
        K, Cg, kh, kw = self.w_shape
        Ho, Wo = self.out_hw
        g2 = g.transpose(1, 0, 2, 3).reshape(G, K // G, N * Ho * Wo)
        gb = conv2d_bias_grad(g) if len(needs) > 2 and needs[2] else None
        gw = (g2 @ self.cols.transpose(0, 2, 1)).reshape(self.w_shape) if needs[1] else None
        gx = None
        if needs[0]:
            gcols = self.weight.reshape(G, K // G, Cg * kh * kw).transpose(0, 2, 1) @ g2
            gview = gcols.reshape(C, kh, kw, N, Ho, Wo).transpose(3, 0, 1, 2, 4, 5)
            top, bottom, left, right = self.padding
            padded = (N, C, H + top + bottom, W + left + right)
            gx = add_windows(gview, padded, self.stride, self.dilation)[:, :, top:top + H, left:left + W].copy()
        return gx, gw, gb
