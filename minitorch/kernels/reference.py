"""Plain array-module kernels: the readable definitions, and the GPU fallback.

Every kernel takes its array module from its input (and hands it down to its
helpers), so the same code runs on NumPy and CuPy.  Each takes the arguments
declared in :mod:`minitorch.kernels` followed by its outputs, which it fills.
The compiled CPU kernels in :mod:`.cpu` must agree with these exactly (the
tests check it on random shapes).
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

from minitorch.backend import get_array_module

# Direct (im2col-free) stride-1 convolution pays off up to this many weight values; here it never does
# (the conv2d_* functions below are im2col + GEMM, the definition the compiled ones are checked against).
DIRECT_CONV_MAX_WEIGHT = 0
# im2col + GEMM in chunks of images whose columns take about this many bytes (0: the whole batch at once)
IM2COL_CHUNK_BYTES = 0


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Outputs along one axis of a window sliding over ``size`` values padded by ``padding`` on each side."""
    return (size + 2 * padding - kernel) // stride + 1


def _pad(xp: ModuleType, x: Any, padding: int, value: float) -> Any:
    if padding == 0:
        return x
    width = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    return xp.pad(x, width, mode="constant", constant_values=value)


def _windows(xp: ModuleType, padded: Any, kh: int, kw: int, stride: int, Ho: int, Wo: int) -> Any:
    """A strided view (N, C, kh, kw, Ho, Wo) of every window of a padded input."""
    sN, sC, sH, sW = padded.strides
    N, C = padded.shape[:2]
    return xp.lib.stride_tricks.as_strided(
        padded, shape=(N, C, kh, kw, Ho, Wo), strides=(sN, sC, sH, sW, sH * stride, sW * stride)
    )


def im2col(x: Any, kh: int, kw: int, stride: int, padding: int, cols: Any) -> None:
    """(N, C, H, W) -> cols (C*kh*kw, N*Ho*Wo): row (c, i, j), column (n, oh, ow)."""
    xp = get_array_module(x)
    N, C, H, W = x.shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)
    windows = _windows(xp, _pad(xp, x, padding, 0), kh, kw, stride, Ho, Wo)
    cols.reshape(C, kh, kw, N, Ho, Wo)[...] = windows.transpose(1, 2, 3, 0, 4, 5)


def col2im(cols: Any, x_shape: tuple[int, ...], kh: int, kw: int, stride: int, padding: int, out: Any) -> None:
    """Adjoint of :func:`im2col`: overlapping windows add up."""
    xp = get_array_module(cols)
    N, C, H, W = x_shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)
    padded = xp.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    blocks = cols.reshape(C, kh, kw, N, Ho, Wo).transpose(3, 0, 1, 2, 4, 5)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += blocks[:, :, i, j]
    out[...] = padded[:, :, padding:padding + H, padding:padding + W]


def _new(xp: ModuleType, shape: tuple[int, ...], dtype: Any) -> Any:
    return xp.empty(shape, dtype=dtype)


def max_pool_forward(x: Any, kernel: int, stride: int, padding: int, keep_argmax: bool, out: Any,
                     argmax: Any) -> None:
    xp = get_array_module(x)
    N, C, H, W = x.shape
    Ho, Wo = conv_output_size(H, kernel, stride, padding), conv_output_size(W, kernel, stride, padding)
    k2 = kernel * kernel

    def window_rows(a: Any) -> Any:  # (N, C, Ho, Wo, k*k): each output's window, row-major
        view = _windows(xp, a, kernel, kernel, stride, Ho, Wo)
        return view.transpose(0, 1, 4, 5, 2, 3).reshape(a.shape[0], a.shape[1], Ho, Wo, k2)

    values = window_rows(_pad(xp, x, padding, -xp.inf))
    valid = window_rows(_pad(xp, xp.ones((1, 1, H, W), dtype=bool), padding, False))
    best = values.max(axis=-1, keepdims=True)  # NaN if the window holds one
    hit = ((values == best) | (xp.isnan(values) & xp.isnan(best))) & valid
    pos = hit.argmax(axis=-1)  # first maximum in row-major window order, never padding
    maxima = xp.take_along_axis(values, pos[..., None], axis=-1)[..., 0]
    i, j = pos // kernel, pos % kernel
    h = xp.arange(Ho).reshape(Ho, 1) * stride - padding + i
    w = xp.arange(Wo).reshape(1, Wo) * stride - padding + j
    out[...] = maxima
    if keep_argmax:
        argmax[...] = h * W + w


def max_pool_backward(grad: Any, argmax: Any, x_shape: tuple[int, ...], out: Any) -> None:
    xp = get_array_module(grad)
    N, C, H, W = x_shape
    out.fill(0)
    rows = xp.arange(N * C).reshape(-1, 1)
    xp.add.at(out.reshape(N * C, H * W), (rows, argmax.reshape(N * C, -1)), grad.reshape(N * C, -1))


def batch_norm_forward(x: Any, weight: Any, bias: Any, mean: Any, var: Any, eps: float, keep_xhat: bool,
                       out: Any, xhat_out: Any, scale_out: Any, mean_out: Any, var_out: Any) -> None:
    """Batch norm of x (N, C, L) over N and L: (out, xhat, scale = weight / std, batch mean, batch var).

    ``mean`` and ``var`` (C,) are the statistics to normalise with (evaluation
    mode), or None for the batch's own (training mode), which are then returned
    (the variance biased) so that the caller can update its running statistics;
    otherwise the last two are None.  ``keep_xhat`` says whether a backward will
    need xhat (``xhat_out`` is None otherwise).
    """
    xp = get_array_module(x)
    if mean is None:
        mean = x.mean(axis=(0, 2))
        centered = x - mean[:, None]
        var = (centered * centered).mean(axis=(0, 2))
        mean_out[...], var_out[...] = mean, var
    else:
        centered = x - mean[:, None]
    invstd = 1.0 / xp.sqrt(var + eps)
    xhat = centered * invstd[:, None]
    scale_out[...] = invstd * weight
    out[...] = xhat * weight[:, None] + bias[:, None]
    if xhat_out is not None:
        xhat_out[...] = xhat


def batch_norm_backward(g: Any, xhat: Any, scale: Any, training: bool, gx: Any, gweight: Any, gbias: Any) -> None:
    """Closed-form gradients of :func:`batch_norm_forward`: (grad_x, grad_weight, grad_bias)."""
    count = g.shape[0] * g.shape[2]
    gbias[...] = g.sum(axis=(0, 2))
    gweight[...] = (g * xhat).sum(axis=(0, 2))
    if training:  # both statistics depend on x
        gx[...] = (scale / count)[:, None] * (count * g - gbias[:, None] - xhat * gweight[:, None])
    else:
        gx[...] = g * scale[:, None]


def batch_norm_running_stats(running_mean: Any, running_var: Any, mean: Any, var: Any, momentum: float,
                             count: int) -> None:
    """In place: the running statistics move toward the batch's by ``momentum``; the batch variance (biased,
    over ``count`` values per channel) is made unbiased first, as PyTorch does."""
    xp = get_array_module(running_mean)
    xp.add((1 - momentum) * running_mean, momentum * mean, out=running_mean)
    xp.add((1 - momentum) * running_var, (momentum * count / (count - 1)) * var, out=running_var)


def cross_entropy_forward(logits: Any, target: Any, losses: Any, probs: Any) -> None:
    """(per-row losses -log softmax(logits)[target], softmax probabilities)."""
    xp = get_array_module(logits)
    C = logits.shape[1]
    out_of_range = (target < 0) | (target >= C)
    if out_of_range.any():  # one host sync on a GPU, not two
        raise ValueError(f"cross_entropy: target {int(target[out_of_range][0])} is out of range for {C} classes")
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
    losses[...] = -logp[xp.arange(logits.shape[0]), target]
    probs[...] = xp.exp(logp)


def cross_entropy_backward(probs: Any, target: Any, scale: Any, grad: Any) -> None:
    """(probs - onehot(target)) * scale, with one scale per row."""
    xp = get_array_module(probs)
    grad[...] = probs
    grad[xp.arange(grad.shape[0]), target] -= 1
    grad *= scale[:, None]


def one_hot(target: Any, num_classes: int, dtype: Any, out: Any) -> None:
    """Rows of the identity, one per class index (ValueError outside [0, num_classes))."""
    xp = get_array_module(target)
    if target.size and bool(((target < 0) | (target >= num_classes)).any()):
        raise ValueError(one_hot_range_message(target, num_classes))
    out[...] = xp.eye(num_classes, dtype=out.dtype)[target]


def one_hot_range_message(target: Any, num_classes: int) -> str:
    return (f"one_hot: class indices must lie in [0, {num_classes}), got min {int(target.min())} "
            f"max {int(target.max())}")


def relu_forward(a: Any, keep_mask: bool, out: Any, mask_out: Any) -> None:
    """(max(a, 0), the mask a > 0 if ``keep_mask``); a NaN stays NaN and -inf becomes 0, as in PyTorch."""
    xp = get_array_module(a)
    mask = a > 0
    out[...] = xp.where(mask | (a != a), a, 0)
    if mask_out is not None:
        mask_out[...] = mask


def relu_backward(g: Any, mask: Any, out: Any) -> None:
    get_array_module(g).multiply(g, mask, out=out)


# ------------------------------------------------------------- convolution
def _im2col(x: Any, kh: int, kw: int, stride: int, padding: int) -> Any:
    N, C, H, W = x.shape
    Ho, Wo = conv_output_size(H, kh, stride, padding), conv_output_size(W, kw, stride, padding)
    cols = _new(get_array_module(x), (C * kh * kw, N * Ho * Wo), x.dtype)
    im2col(x, kh, kw, stride, padding, cols)
    return cols


def conv2d_forward(x: Any, weight: Any, bias: Any, padding: int, out: Any) -> None:
    """Stride-1 convolution of x (N, C, H, W) with weight (O, C, kh, kw), as im2col + GEMM."""
    N, _, H, W = x.shape
    O, _, kh, kw = weight.shape
    Ho, Wo = conv_output_size(H, kh, 1, padding), conv_output_size(W, kw, 1, padding)
    rows = weight.reshape(O, -1) @ _im2col(x, kh, kw, 1, padding)
    if bias is not None:
        rows += bias[:, None]
    out[...] = rows.reshape(O, N, Ho, Wo).transpose(1, 0, 2, 3)


def conv2d_weight_grad(x: Any, g: Any, kernel_size: tuple[int, int], padding: int, out: Any) -> None:
    """d loss / d weight of :func:`conv2d_forward`, for the output gradient g (N, O, Ho, Wo)."""
    kh, kw = kernel_size
    O = g.shape[1]
    g_rows = g.transpose(1, 0, 2, 3).reshape(O, -1)
    out[...] = (g_rows @ _im2col(x, kh, kw, 1, padding).T).reshape(O, x.shape[1], kh, kw)


def conv2d_input_grad(g: Any, weight: Any, x_shape: tuple[int, ...], padding: int, out: Any) -> None:
    """d loss / d x of :func:`conv2d_forward`."""
    O, _, kh, kw = weight.shape
    cols = weight.reshape(O, -1).T @ g.transpose(1, 0, 2, 3).reshape(O, -1)
    col2im(cols, x_shape, kh, kw, 1, padding, out)


def conv2d_bias_grad(g: Any, out: Any) -> None:
    """d loss / d bias of :func:`conv2d_forward`: g summed over the images and positions."""
    get_array_module(g).sum(g, axis=(0, 2, 3), out=out)


# ------------------------------------------------------------------ linear
def linear_forward(x: Any, weight: Any, out: Any) -> None:
    """x (N, K) @ weight (J, K).T: a Linear layer's product, without its bias."""
    get_array_module(x).matmul(x, weight.T, out=out)


def linear_weight_grad(g: Any, x: Any, out: Any) -> None:
    """g (N, J).T @ x (N, K): the weight gradient (J, K) of :func:`linear_forward`."""
    get_array_module(g).matmul(g.T, x, out=out)


def linear_input_grad(g: Any, weight: Any, out: Any) -> None:
    """g (N, J) @ weight (J, K): the input gradient (N, K) of :func:`linear_forward`."""
    get_array_module(g).matmul(g, weight, out=out)


# --------------------------------------------------------------------- SGD
def sgd_update(data: Any, grad: Any, momentum_buffer: Any, lr: float, momentum: float, dampening: float,
               weight_decay: float, nesterov: bool, first: bool) -> None:
    """One step of PyTorch's SGD rule (see :class:`minitorch.optim.SGD`), in place on flat arrays.

    ``momentum_buffer`` (ignored without momentum) is overwritten on the ``first`` step.
    """
    g = grad + weight_decay * data if weight_decay else grad
    if momentum:
        if first:
            momentum_buffer[...] = g
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1 - dampening) * g
        g = g + momentum * momentum_buffer if nesterov else momentum_buffer
    data -= lr * g
