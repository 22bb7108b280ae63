"""Module-level math: ``minitorch.where``, ``clamp``, ``sqrt``, ``maximum``, ``add(alpha=)``, ``div(rounding_mode=)``,
``remainder``, ``bitwise_and``, ``logical_or``, ``matmul``/``mm``/``bmm``/``dot``/``outer``, ``einsum``..., as in
``torch``.

Each is the Tensor method of the same name (see
:mod:`minitorch.tensor_methods.math`), except ``where`` with numbers for both
values and ``einsum``, which takes any number of tensors.
"""
from __future__ import annotations

from typing import Any

from minitorch.ops.einsum import Einsum
from minitorch.tensor import Tensor, _lift, apply
from minitorch.tensor_methods.math import _where


def _tensor(input: Any, op: str, name: str = "input") -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(input).__name__}")
    return input


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` is True, else ``other`` (either may be a number); with only a
    condition, the indices of its True elements, one tensor per dim (``nonzero(as_tuple=True)``)."""
    if input is None and other is None:
        return _tensor(condition, "where", "condition").nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither")
    return _where(condition, input, other)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
    return _tensor(input, "clamp").clamp(min, max)


clip = clamp


def clamp_(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return _tensor(input, "clamp_").clamp_(min, max)


clip_ = clamp_


def sqrt(input: Tensor) -> Tensor:
    return _tensor(input, "sqrt").sqrt()


def rsqrt(input: Tensor) -> Tensor:
    return _tensor(input, "rsqrt").rsqrt()


def abs(input: Tensor) -> Tensor:  # noqa: A001 - PyTorch's name
    return _tensor(input, "abs").abs()


def sign(input: Tensor) -> Tensor:
    return _tensor(input, "sign").sign()


def log1p(input: Tensor) -> Tensor:
    return _tensor(input, "log1p").log1p()


def sin(input: Tensor) -> Tensor:
    return _tensor(input, "sin").sin()


def cos(input: Tensor) -> Tensor:
    return _tensor(input, "cos").cos()


def floor(input: Tensor) -> Tensor:
    return _tensor(input, "floor").floor()


def ceil(input: Tensor) -> Tensor:
    return _tensor(input, "ceil").ceil()


def trunc(input: Tensor) -> Tensor:
    return _tensor(input, "trunc").trunc()


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    return _tensor(input, "round").round(decimals)


def neg(input: Tensor) -> Tensor:
    return -_tensor(input, "neg")


negative = neg


def square(input: Tensor) -> Tensor:
    return _tensor(input, "square").square()


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    """``input ** exponent``; either may be a number (not both)."""
    if isinstance(input, Tensor):
        return input ** exponent
    return _tensor(exponent, "pow", "exponent").__rpow__(input)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    return _tensor(input, "maximum").maximum(other)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    return _tensor(input, "minimum").minimum(other)


def eq(input: Tensor, other: Any) -> Tensor:
    """``input == other`` elementwise (a bool tensor); ``other`` may be a number."""
    return _tensor(input, "eq") == other


def ne(input: Tensor, other: Any) -> Tensor:
    return _tensor(input, "ne") != other


def lt(input: Tensor, other: Any) -> Tensor:
    return _tensor(input, "lt") < other


def le(input: Tensor, other: Any) -> Tensor:
    return _tensor(input, "le") <= other


def gt(input: Tensor, other: Any) -> Tensor:
    return _tensor(input, "gt") > other


def ge(input: Tensor, other: Any) -> Tensor:
    return _tensor(input, "ge") >= other


less, less_equal, greater, greater_equal, not_equal = lt, le, gt, ge, ne


def sigmoid(input: Tensor) -> Tensor:
    return _tensor(input, "sigmoid").sigmoid()


def tanh(input: Tensor) -> Tensor:
    return _tensor(input, "tanh").tanh()


def relu(input: Tensor) -> Tensor:
    return _tensor(input, "relu").relu()


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return _tensor(input, "softmax").softmax(dim, dtype)


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return _tensor(input, "log_softmax").log_softmax(dim, dtype)


def _first_tensor(op: str, input: Any, other: Any) -> tuple[Tensor, Any]:
    """``input`` as a Tensor: a number ``input`` is lifted beside a Tensor ``other``."""
    if isinstance(input, Tensor):
        return input, other
    return _lift(input, _tensor(other, op, "input or other")), other


def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input + alpha * other."""
    a, b = _first_tensor("add", input, other)
    return a.add(b, alpha=alpha)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """input - alpha * other."""
    a, b = _first_tensor("sub", input, other)
    return a.sub(b, alpha=alpha)


subtract = sub


def mul(input: Any, other: Any) -> Tensor:
    a, b = _first_tensor("mul", input, other)
    return a * b


multiply = mul


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """True division, or rounded (``"trunc"``, ``"floor"``); see :meth:`Tensor.div`."""
    a, b = _first_tensor("div", input, other)
    return a.div(b, rounding_mode=rounding_mode)


divide = div
true_divide = div


def floor_divide(input: Any, other: Any) -> Tensor:
    """``input // other`` (either may be a number); see :meth:`Tensor.floor_divide`, which has no gradient."""
    a, b = _first_tensor("floor_divide", input, other)
    return a.floor_divide(b)


def remainder(input: Any, other: Any) -> Tensor:
    """``input % other``, with the divisor's sign (either may be a number); see :meth:`Tensor.remainder`."""
    if isinstance(input, Tensor):
        return input.remainder(other)
    return _tensor(other, "remainder", "input or other").__rmod__(input)


def fmod(input: Tensor, other: Any) -> Tensor:
    """The remainder with the dividend's sign (``other`` may be a number); see :meth:`Tensor.fmod`."""
    return _tensor(input, "fmod").fmod(other)


def bitwise_and(input: Any, other: Any) -> Tensor:
    """``input & other`` of bool or integer tensors (either may be a number)."""
    a, b = _first_tensor("bitwise_and", input, other)
    return a.bitwise_and(b)


def bitwise_or(input: Any, other: Any) -> Tensor:
    a, b = _first_tensor("bitwise_or", input, other)
    return a.bitwise_or(b)


def bitwise_xor(input: Any, other: Any) -> Tensor:
    a, b = _first_tensor("bitwise_xor", input, other)
    return a.bitwise_xor(b)


def bitwise_not(input: Tensor) -> Tensor:
    return _tensor(input, "bitwise_not").bitwise_not()


def logical_and(input: Tensor, other: Tensor) -> Tensor:
    """Whether both are nonzero, elementwise (a bool tensor; any dtypes)."""
    return _tensor(input, "logical_and").logical_and(other)


def logical_or(input: Tensor, other: Tensor) -> Tensor:
    return _tensor(input, "logical_or").logical_or(other)


def logical_xor(input: Tensor, other: Tensor) -> Tensor:
    return _tensor(input, "logical_xor").logical_xor(other)


def logical_not(input: Tensor) -> Tensor:
    return _tensor(input, "logical_not").logical_not()


def matmul(input: Tensor, other: Tensor) -> Tensor:
    return _tensor(input, "matmul") @ _tensor(other, "matmul", "other")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    return _tensor(input, "mm").mm(mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    return _tensor(input, "bmm").bmm(mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    return _tensor(input, "dot").dot(other)


inner = dot


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    return _tensor(input, "outer").outer(vec2)


ger = outer


def einsum(equation: str, *operands: Any) -> Tensor:
    """A contraction named by subscripts: ``einsum("bij,bjk->bik", a, b)`` (operands also as one list).

    Supported with gradients: distinct letters within each operand and the
    output, and ``...`` for shared leading dims (see :mod:`minitorch.ops.einsum`).
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: at least one operand is required")
    tensors = [_tensor(t, "einsum", f"operand {i}") for i, t in enumerate(operands)]
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"einsum: operands have different dtypes ({sorted(map(str, dtypes))}); convert them first")
    return apply(Einsum(equation), *tensors)


__all__ = [
    "abs", "add", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "bmm", "ceil", "clamp", "clamp_",
    "clip", "clip_", "cos", "div", "divide", "dot", "einsum", "eq", "floor", "floor_divide", "fmod", "ge", "ger",
    "greater", "greater_equal", "gt", "inner", "le", "less", "less_equal", "logical_and", "logical_not",
    "logical_or", "logical_xor", "lt", "ne", "not_equal", "log1p", "log_softmax", "matmul", "maximum", "minimum",
    "mm", "mul", "multiply", "neg", "negative", "outer", "pow", "relu", "remainder", "round", "rsqrt", "sigmoid",
    "sign", "sin", "softmax", "sqrt", "square", "sub", "subtract", "tanh", "true_divide", "trunc", "where",
]
