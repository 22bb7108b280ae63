"""Functional forms of more layers (re-exported by ``minitorch.nn.functional``): layer_norm, group_norm,
embedding, conv1d, max_pool1d, avg_pool1d, dropout2d, pad, interpolate, normalize, cosine_similarity.

Most are exact compositions of existing differentiable ops (the 1-D layers are the 2-D ones on a height-1
plane; the normalisations are means, powers and quotients); the lookups and index maps that have no such
form are ops of :mod:`minitorch.ops.embedding` and :mod:`minitorch.ops.padding`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minitorch import random as _random
from minitorch.backend import get_array_module, new_array, to_device
from minitorch.nn import _args
from minitorch.ops import activation, elementwise
from minitorch.ops import embedding as embedding_op
from minitorch.ops import padding as padding_op
from minitorch.ops._checks import check_float
from minitorch.ops._windows import output_size
from minitorch.tensor import Tensor, apply


# ----------------------------------------------------------------------------- normalisation
def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims (biased variance), then scale and shift."""
    input = _args.float_tensor(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or input.shape[input.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} does not match the trailing dims of input "
                         f"{input.shape}")
    _check_affine(input, weight, bias, shape, "layer_norm")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = _standardise(input, dims, eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each sample's channels in ``num_groups`` groups (with their spatial dims), then apply the
    per-channel ``weight`` and ``bias``."""
    input = _args.float_tensor(input, "group_norm")
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected an input (N, C, ...), got shape {input.shape}")
    n, c = input.shape[0], input.shape[1]
    num_groups = _args.positive_int(num_groups, "num_groups", "group_norm")
    if c % num_groups:
        raise ValueError(f"group_norm: {c} channels are not divisible into {num_groups} groups")
    _check_affine(input, weight, bias, (c,), "group_norm")
    grouped = input.reshape(n, num_groups, -1)
    out = _standardise(grouped, (2,), eps).reshape(*input.shape)
    channel_shape = (c,) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(*channel_shape)
    if bias is not None:
        out = out + bias.reshape(*channel_shape)
    return out


def _check_affine(input: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple[int, ...],
                  op: str) -> None:
    """``weight`` and ``bias`` must have ``shape`` and the input's dtype, as for the other layers: a weight of
    another size would broadcast (or fail deep in a reshape), and a float32 weight would silently make a float64
    input's result float64 (PyTorch refuses both)."""
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"{op}: input of shape {input.shape} needs a {name} of shape {shape}, got {t.shape}")
    check_float(op, input=input, weight=weight, bias=bias)


def _standardise(x: Tensor, dims: tuple[int, ...], eps: float) -> Tensor:
    centred = x - x.mean(dims, keepdim=True)
    variance = (centred * centred).mean(dims, keepdim=True)
    return centred / (variance + eps) ** 0.5


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Tensor:
    """input / max(||input||_p along dim, eps)."""
    if out is not None:
        raise TypeError("normalize: out= is not supported")
    input = _args.float_tensor(input, "normalize")
    norm = input.norm(p, dim, keepdim=True)
    return input / _clamp_min(norm, eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along ``dim`` (inputs broadcast first),
    as PyTorch computes it: each input is divided by its clamped norm, then the products are summed."""
    x1, x2 = _args.float_tensor(x1, "cosine_similarity"), _args.float_tensor(x2, "cosine_similarity")
    shape = np.broadcast_shapes(x1.shape, x2.shape)
    xp = get_array_module(x1._data)
    if x1.shape != shape:  # broadcast by adding zeros: the gradient then sums back over the broadcast dims
        x1 = x1 + Tensor(new_array(xp, shape, x1.dtype, 0))
    if x2.shape != shape:
        x2 = x2 + Tensor(new_array(xp, shape, x2.dtype, 0))
    n1 = _clamp_min(x1.norm(2, dim, keepdim=True), eps)
    n2 = _clamp_min(x2.norm(2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def _clamp_min(x: Tensor, low: float) -> Tensor:
    """max(x, low), with gradient 1 above ``low`` (a Hardtanh open at the top)."""
    return apply(activation.Hardtanh(low, math.inf), x)


# ----------------------------------------------------------------------------- lookup
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: Any = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) at the integer ``input``; the row ``padding_idx`` gets no
    gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    indices = input._data if isinstance(input, Tensor) else np.asarray(input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: input must hold integer indices, got dtype {indices.dtype}")
    rows = weight.shape[0]
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= rows):
        raise IndexError(f"embedding: index out of range: indices lie in [{int(indices.min())}, "
                         f"{int(indices.max())}] but the weight has {rows} rows")
    if padding_idx is not None:
        padding_idx = padding_idx + rows if padding_idx < 0 else padding_idx
        if not 0 <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx must be within the {rows} rows")
    return apply(embedding_op.Embedding(to_device(indices, weight.device), padding_idx), weight)


# ----------------------------------------------------------------------------- 1-D layers
def _single(value: Any, name: str, op: str, minimum: int = 1) -> int:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) != 1:
        raise TypeError(f"{op}: {name} must be an int or a 1-tuple, got {value!r}")
    return _args.pair(items[0], name, op, minimum)[0]


def _planes(input: Tensor, op: str) -> tuple[Tensor, bool]:
    """(N, C, L) -> (N, C, 1, L); an unbatched (C, L) gets a batch of one."""
    if input.ndim == 2:
        return input.reshape(1, input.shape[0], 1, input.shape[1]), True
    if input.ndim != 3:
        raise ValueError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape {input.shape}")
    return input.reshape(input.shape[0], input.shape[1], 1, input.shape[2]), False


def _check_length(input: Tensor, kernel: int, padding: int, dilation: int, ceil_mode: bool, op: str, what: str,
                  stride: int = 1) -> None:
    """The padded length must hold one (dilated) window; checked before the 2-D op runs, whose error would name
    its (N, C, 1, L) planes."""
    if output_size(input.shape[-1], kernel, stride, padding, padding, dilation, bool(ceil_mode)) <= 0:
        raise ValueError(f"{op}: input of shape {input.shape} is shorter than the {what} {kernel} "
                         f"(padding {padding}, dilation {dilation})")


def _lines(out: Tensor, unbatched: bool) -> Tensor:
    out = out.reshape(out.shape[0], out.shape[1], out.shape[3])
    return out.reshape(out.shape[1], out.shape[2]) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation with weight (O, C / groups, k): conv2d on a height-1 plane."""
    from minitorch.nn.functional import conv2d

    if weight.ndim != 3:
        raise ValueError(f"conv1d: weight must be 3-D (out_channels, in_channels / groups, k), got {weight.shape}")
    planes, unbatched = _planes(input, "conv1d")
    s, d = _single(stride, "stride", "conv1d"), _single(dilation, "dilation", "conv1d")
    p: Any = padding if isinstance(padding, str) else (0, _single(padding, "padding", "conv1d", minimum=0))
    channels = weight.shape[1] * groups if isinstance(groups, int) else planes.shape[1]
    if planes.shape[1] != channels:  # checked here so that the error names the 1-D shapes, not conv2d's planes
        raise ValueError(f"conv1d: input of shape {input.shape} has {planes.shape[1]} channels but weight of "
                         f"shape {weight.shape} expects {channels}")
    if p != "same":  # 'same' pads any length to a full window
        _check_length(input, weight.shape[2], 0 if p == "valid" else p[1], d, False, "conv1d", "kernel")
    w = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
    return _lines(conv2d(planes, w, bias, (1, s), p, (1, d), groups), unbatched)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Window maxima along the last dim (indices, with ``return_indices``, are positions along it)."""
    from minitorch.nn.functional import max_pool2d

    planes, unbatched = _planes(input, "max_pool1d")
    k = _single(kernel_size, "kernel_size", "max_pool1d")
    s = k if stride is None else _single(stride, "stride", "max_pool1d")
    p = _single(padding, "padding", "max_pool1d", minimum=0)
    d = _single(dilation, "dilation", "max_pool1d")
    _check_length(input, k, p, d, ceil_mode, "max_pool1d", "window", s)
    out = max_pool2d(planes, (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices)
    if isinstance(out, tuple):  # return_indices
        values, indices = out
        return _lines(values, unbatched), _lines(indices, unbatched)
    assert isinstance(out, Tensor)
    return _lines(out, unbatched)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Window averages along the last dim."""
    from minitorch.nn.functional import avg_pool2d

    planes, unbatched = _planes(input, "avg_pool1d")
    k = _single(kernel_size, "kernel_size", "avg_pool1d")
    s = k if stride is None else _single(stride, "stride", "avg_pool1d")
    p = _single(padding, "padding", "avg_pool1d", minimum=0)
    _check_length(input, k, p, 1, ceil_mode, "avg_pool1d", "window", s)
    return _lines(avg_pool2d(planes, (1, k), (1, s), (0, p), ceil_mode, count_include_pad), unbatched)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) (or unbatched (C, H, W)) with probability ``p`` and scale the
    rest by 1 / (1 - p); the identity unless ``training``."""
    p = _args.probability(p, "dropout2d")
    input = _args.float_tensor(input, "dropout2d")
    if not training or p == 0:
        return input
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {input.shape}")
    channels = input.shape[:-2]
    keep = _random.generator().random(channels) >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    mask = np.broadcast_to((keep * scale).astype(input.dtype)[..., None, None], input.shape)
    return apply(elementwise.MaskedScale(to_device(np.ascontiguousarray(mask), input.device)), input)


# ----------------------------------------------------------------------------- padding and resampling
PAD_MODES = ("constant", "reflect", "replicate")


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)`` from the last dim
    backwards, as PyTorch; ``mode`` constant (with ``value``, default 0), reflect or replicate."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: input must be a Tensor, got {type(input).__name__}")
    widths = tuple(pad) if isinstance(pad, (tuple, list)) else None
    if widths is None or len(widths) % 2 or any(isinstance(w, bool) or not isinstance(w, (int, np.integer))
                                                 for w in widths):
        raise TypeError(f"pad: pad must be a tuple of ints of even length, got {pad!r}")
    if len(widths) // 2 > input.ndim:
        raise ValueError(f"pad: {len(widths) // 2} padded dims for an input of {input.ndim} dims")
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(PAD_MODES)}, got {mode!r}")
    if min(widths, default=0) < 0:
        raise ValueError(f"pad: negative padding {widths} (cropping) is not supported")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: value is only for mode='constant', got value={value} with mode={mode!r}")
    pads = []
    for i in range(len(widths) // 2):
        axis = input.ndim - 1 - i
        before, after = int(widths[2 * i]), int(widths[2 * i + 1])
        if mode == "reflect" and max(before, after) >= input.shape[axis]:
            raise ValueError(f"pad: reflect padding ({before}, {after}) must be smaller than the size "
                             f"{input.shape[axis]} of dim {axis}")
        if mode == "replicate" and input.shape[axis] == 0 and (before or after):
            raise ValueError(f"pad: cannot replicate the empty dim {axis}")
        pads.append((axis, before, after))
    if mode != "constant" and input.ndim - len(pads) < 1:
        raise ValueError(f"pad: {mode} padding needs a batch or channel dim before the padded ones")
    return apply(padding_op.Pad(pads, mode, 0.0 if value is None else float(value)), input)


INTERPOLATE_MODES = ("nearest", "linear", "bilinear")


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L) (``nearest``, ``linear``) or (N, C, H, W) (``nearest``,
    ``bilinear``) to ``size`` or by ``scale_factor``, with PyTorch's source-index rules (``align_corners``
    for the linear modes)."""
    input = _args.float_tensor(input, "interpolate")
    if mode not in INTERPOLATE_MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(INTERPOLATE_MODES)}, got {mode!r}")
    if antialias:
        raise NotImplementedError("interpolate: antialias is not supported")
    spatial = input.ndim - 2
    if spatial not in (1, 2) or (mode == "linear" and spatial != 1) or (mode == "bilinear" and spatial != 2):
        raise ValueError(f"interpolate: mode {mode!r} does not take an input of shape {input.shape}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners is only for the linear modes")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = input.shape[2:]
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * spatial
        if len(sizes) != spatial:
            raise ValueError(f"interpolate: size {size!r} for {spatial} spatial dims")
        out_sizes = tuple(_args.positive_int(s, "size", "interpolate") for s in sizes)
        scales: tuple[float | None, ...] = (None,) * spatial
    else:
        factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * spatial
        if len(factors) != spatial:
            raise ValueError(f"interpolate: scale_factor {scale_factor!r} for {spatial} spatial dims")
        factors = tuple(_args.finite_float(f, "scale_factor", "interpolate") for f in factors)
        if min(factors) <= 0:
            raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor!r}")
        out_sizes = tuple(int(math.floor(n * f)) for n, f in zip(in_sizes, factors, strict=True))
        scales = (None,) * spatial if recompute_scale_factor else factors
    out = input
    for axis, n_in, n_out, factor in zip(range(2, input.ndim), in_sizes, out_sizes, scales, strict=True):
        if n_in == n_out and mode != "nearest" and factor is None:
            continue
        out = apply(_blend(axis, n_in, n_out, factor, mode, bool(align_corners)), out)
    return out


def _blend(axis: int, n_in: int, n_out: int, factor: float | None, mode: str, align_corners: bool) -> Any:
    """The 1-D step along ``axis``: PyTorch's source coordinate of each output position."""
    dst = np.arange(n_out, dtype=np.float64)
    if mode == "nearest":
        scale = 1.0 / factor if factor is not None else n_in / n_out
        src = np.minimum(np.floor(dst.astype(np.float32) * np.float32(scale)).astype(np.int64), n_in - 1)
        return padding_op.Blend1d(axis, src)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros_like(dst)
    else:
        scale = 1.0 / factor if factor is not None else n_in / n_out
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return padding_op.Blend1d(axis, i0, i1, src - i0)


__all__ = ["avg_pool1d", "conv1d", "cosine_similarity", "dropout2d", "embedding", "group_norm", "interpolate",
           "layer_norm", "max_pool1d", "normalize", "pad"]
