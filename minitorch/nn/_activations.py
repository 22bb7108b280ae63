"""The functional forms of the smooth and clipped activations (re-exported by ``minitorch.nn.functional``)."""
from __future__ import annotations

from minitorch.nn import _args
from minitorch.ops import activation
from minitorch.tensor import Tensor, apply


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF; ``approximate='tanh'`` for the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply(activation.GELU(approximate), _args.float_tensor(input, "gelu"))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x).  ``inplace`` is accepted for PyTorch code; the result is always a new tensor."""
    return apply(activation.SiLU(), _args.float_tensor(input, "silu"))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (exp(x) - 1)."""
    alpha = _args.finite_float(alpha, "alpha", "elu")
    return apply(activation.ELU(alpha), _args.float_tensor(input, "elu"))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear (x) where beta x > threshold."""
    beta = _args.finite_float(beta, "beta", "softplus")
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    threshold = _args.finite_float(threshold, "threshold", "softplus")
    return apply(activation.Softplus(beta, threshold), _args.float_tensor(input, "softplus"))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]."""
    low = _args.finite_float(min_val, "min_val", "hardtanh")
    high = _args.finite_float(max_val, "max_val", "hardtanh")
    if low > high:
        raise ValueError(f"hardtanh: min_val {low} must not exceed max_val {high}")
    return apply(activation.Hardtanh(low, high), _args.float_tensor(input, "hardtanh"))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


__all__ = ["elu", "gelu", "hardtanh", "relu6", "silu", "softplus"]
