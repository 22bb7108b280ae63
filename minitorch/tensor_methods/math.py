"""Math methods: ``clamp``, ``sqrt``, ``sin``, ``floor``, ``maximum``, ``where``, ``softmax``, ``add(alpha=)``,
``div(rounding_mode=)``, ``//`` and ``%`` (``floor_divide``, ``remainder``, ``fmod``), ``&``, ``|``, ``^``, ``~``
(``bitwise_*``, and ``logical_*``), ``mm``/``bmm``/``dot``/``outer``, and the in-place forms (``clamp_``, ``sqrt_``...).

dtypes follow PyTorch: functions that are only defined on the reals (``sqrt``,
``sin``, ``log1p``...) turn integer tensors into the default float dtype;
rounding, ``sign``, ``abs``, ``clamp`` with integer bounds keep integers; tensors
combined elementwise promote by :func:`~minitorch.promotion.result_type` (PyTorch's rule).

An in-place form computes the out-of-place result and writes it back (see
:mod:`~minitorch.tensor_methods.inplace_result`), so every op here has one definition.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from minitorch.backend import cast_array, get_array_module, get_default_dtype
from minitorch.ops import arithmetic as A
from minitorch.ops import loss as L
from minitorch.ops import math as M
from minitorch.ops.reduction import normalize_axis
from minitorch.promotion import result_type
from minitorch.tensor_methods.base import TensorBase, int_dim
from minitorch.tensor_methods.inplace_result import InPlaceResultMethods

if TYPE_CHECKING:
    from minitorch.tensor import Tensor

_ROUNDING_MODES = (None, "trunc", "floor")


def _round(decimals: int) -> Callable[[Any, Any], Any]:
    def compute(xp, a):
        if a.dtype.kind != "f":
            return a.copy()
        if decimals == 0:
            return xp.rint(a)  # half to even, as PyTorch
        scale = a.dtype.type(10.0 ** decimals)
        return xp.rint(a * scale) / scale

    return compute


def _sign(xp: Any, a: Any) -> Any:
    """-1, 0 or 1; NaN gives 0, as in PyTorch (NumPy gives NaN)."""
    if a.dtype.kind == "b":
        return a.copy()
    out = xp.sign(a)
    return xp.where(xp.isnan(out), xp.zeros((), dtype=a.dtype), out) if a.dtype.kind == "f" else out


def _same_dtype(compute: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``compute`` for floats; integers (already whole) come back as a copy of the same dtype."""
    return lambda xp, a: compute(xp, a) if a.dtype.kind == "f" else a.copy()


class MathMethods(InPlaceResultMethods):
    __slots__ = ()

    # ------------------------------------------------------------------ helpers
    def _floating(self) -> Tensor:
        """This tensor, or, for an integer or bool tensor, its values as the default float dtype."""
        return self._as_tensor if self.dtype.kind == "f" else self._as_tensor.to(get_default_dtype())

    def _promoted(self, *others: Any) -> list[Tensor]:
        """This tensor and ``others`` (lifted) cast to their common dtype, PyTorch's rule.

        The dtype comes from all operands at once, and numbers are then made in it: ``clamp`` of a uint8
        tensor to ``(-1, 0.5)`` computes in float, where -1 stays -1 (lifted alone it would wrap to 255).
        """
        dtype = result_type(self, *others)
        xp = get_array_module(self._data)
        tensors: list[Any] = [self._as_tensor]
        for o in others:
            if isinstance(o, (bool, int, float)):
                tensors.append(self._wrap_array(xp.asarray(cast_array(o, dtype))))
            else:
                tensors.append(self._lift_value(o))
        return [t if t.dtype == dtype else t.to(dtype) for t in tensors]

    # ------------------------------------------------------- functions of one tensor
    def sqrt(self) -> Tensor:
        return self._floating()._op(M.Sqrt())

    def rsqrt(self) -> Tensor:
        return self._floating()._op(M.Rsqrt())

    def sin(self) -> Tensor:
        return self._floating()._op(M.Sin())

    def cos(self) -> Tensor:
        return self._floating()._op(M.Cos())

    def log1p(self) -> Tensor:
        return self._floating()._op(M.Log1p())

    def sign(self) -> Tensor:
        """-1, 0 or 1 (NaN stays NaN); the gradient is 0."""
        return self._op(M.Piecewise(_sign))

    def floor(self) -> Tensor:
        return self._op(M.Piecewise(_same_dtype(lambda xp, a: xp.floor(a))))

    def ceil(self) -> Tensor:
        return self._op(M.Piecewise(_same_dtype(lambda xp, a: xp.ceil(a))))

    def trunc(self) -> Tensor:
        return self._op(M.Piecewise(_same_dtype(lambda xp, a: xp.trunc(a))))

    def round(self, decimals: int = 0) -> Tensor:
        """Round half to even (``round(2.5) == 2``), at ``decimals`` places, as PyTorch; the gradient is 0."""
        if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
            raise TypeError(f"round: decimals must be an int, got {type(decimals).__name__}")
        return self._op(M.Piecewise(_round(int(decimals))))

    def neg(self) -> Tensor:
        return -self._as_tensor

    negative = neg

    def pow(self, exponent: Any) -> Tensor:
        return self ** exponent

    def square(self) -> Tensor:
        """``self * self``; a bool tensor's square is int64, as PyTorch's ``pow(x, 2)``."""
        if self.dtype == np.bool_:
            return self._as_tensor.long() * self.long()  # type: ignore[attr-defined]
        return self._as_tensor * self

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
        """Values limited to [min, max] (either may be None, a number or a tensor; min > max gives max).

        Integer tensors with integer bounds stay integers; a float bound makes
        the result float, as in PyTorch.
        """
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        for name, bound in (("min", min), ("max", max)):
            if bound is not None and not isinstance(bound, (TensorBase, int, float, np.number)):
                raise TypeError(f"clamp: {name} must be a number or a Tensor, got {type(bound).__name__}")
        given = [b for b in (min, max) if b is not None]
        promoted = self._promoted(*given)
        x, dtype = promoted[0], promoted[0].dtype
        bounds = iter(promoted[1:])
        low = next(bounds) if min is not None else self._extreme_constant(dtype, low=True)
        high = next(bounds) if max is not None else self._extreme_constant(dtype, low=False)
        return x._op(M.Clamp(), low, high)

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Tensor:  # noqa: A002
        return self.clamp(max=max)

    def _extreme_constant(self, dtype: np.dtype, low: bool) -> Tensor:
        """The bound that never binds: -inf/+inf, or an integer dtype's extreme."""
        xp = get_array_module(self._data)
        if dtype.kind == "f":
            value = -np.inf if low else np.inf
        elif dtype.kind == "b":
            value = not low
        else:
            info = np.iinfo(dtype)
            value = info.min if low else info.max
        return self._wrap_array(xp.asarray(value, dtype=dtype))

    def maximum(self, other: Tensor) -> Tensor:
        """Elementwise maximum with another tensor (NaN propagates; ties split the gradient)."""
        return self._pairwise("maximum", other, True)

    def minimum(self, other: Tensor) -> Tensor:
        return self._pairwise("minimum", other, False)

    def _pairwise(self, name: str, other: Any, largest: bool) -> Tensor:
        if not isinstance(other, TensorBase):
            raise TypeError(f"{name}: other must be a Tensor, got {type(other).__name__}")
        a, b = self._promoted(other)
        return a._op(M.Maximum(largest), b)

    def where(self, condition: Any, other: Any) -> Tensor:
        """``self`` where ``condition`` is True, else ``other``: ``minitorch.where(condition, self, other)``."""
        return _where(condition, self, other)

    # ------------------------------------------------------------- softmax family
    def softmax(self, dim: int, dtype: Any = None) -> Tensor:
        return self._softmax(L.Softmax, "softmax", dim, dtype)

    def log_softmax(self, dim: int, dtype: Any = None) -> Tensor:
        return self._softmax(L.LogSoftmax, "log_softmax", dim, dtype)

    def _softmax(self, op: Any, name: str, dim: Any, dtype: Any) -> Tensor:
        x = self._as_tensor if dtype is None else self._as_tensor.to(dtype)
        if x.dtype.kind != "f":
            raise TypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype} (pass dtype=)")
        axes = normalize_axis(int_dim(dim, name), x.ndim, name)   # () for a 0-d tensor (dim 0 or -1)
        if x.ndim == 0:  # one element: softmax 1, log_softmax 0
            return x.reshape(1)._op(op(0)).reshape(())
        return x._op(op(axes[0]))

    # -------------------------------------------------------- arithmetic by name
    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self + alpha * other."""
        return self + (other if alpha == 1 else _scaled(self._as_tensor, other, alpha))

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self - alpha * other."""
        return self - (other if alpha == 1 else _scaled(self._as_tensor, other, alpha))

    subtract = sub

    def mul(self, other: Any) -> Tensor:
        return self * other

    multiply = mul

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """True division, or rounded toward zero (``"trunc"``) or down (``"floor"``) with a zero gradient.

        With a rounding mode, integers stay integers (divided exactly), as in PyTorch.
        """
        if rounding_mode not in _ROUNDING_MODES:
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        if rounding_mode is None:
            return self / other
        a, b = self._promoted(other)
        return a._op(M.DivRounded(rounding_mode), b)

    divide = div

    def true_divide(self, other: Any) -> Tensor:
        return self / other

    # ------------------------------------------------ floor division and remainders: //, %
    def floor_divide(self, other: Any) -> Tensor:
        """``self // other``: the quotient rounded down, as Python's ``//``; integers stay integers.

        PyTorch defines no derivative for it, so a backward through it raises; ``div(other,
        rounding_mode="floor")`` gives the same values with a zero gradient.
        """
        a, b = _division_operands("floor_divide", self._as_tensor, other)
        return a._op(M.NoDerivative(M.DivRounded("floor", "floor_divide"), "floor_divide (//)",
                                    "div(other, rounding_mode='floor') gives the same values with a zero gradient"), b)

    def remainder(self, other: Any) -> Tensor:
        """``self % other``: ``self - other * floor(self / other)``, which has the divisor's sign, as Python's
        and NumPy's ``%`` (``fmod`` keeps the dividend's); differentiable in both operands."""
        a, b = _division_operands("remainder", self._as_tensor, other)
        return a._op(M.Remainder("floor"), b)

    def fmod(self, other: Any) -> Tensor:
        """``self - other * trunc(self / other)``, C's ``fmod``: the remainder with the dividend's sign."""
        a, b = _division_operands("fmod", self._as_tensor, other)
        return a._op(M.Remainder("trunc"), b)

    __floordiv__ = floor_divide
    __mod__ = remainder

    def __rfloordiv__(self, other: Any) -> Tensor:
        _check_operand("floor_divide", other)
        return self._lift_value(other).floor_divide(self)

    def __rmod__(self, other: Any) -> Tensor:
        """``number % self``.  PyTorch's ``remainder`` of a number by a tensor has no derivative (that of two
        tensors has), so neither has this one."""
        _check_operand("remainder", other)
        a, b = _division_operands("remainder", self._lift_value(other), self)
        return a._op(M.NoDerivative(M.Remainder("floor"), "remainder of a number by a tensor (number % x)",
                                    "minitorch.tensor(number) % x is differentiable"), b)

    # ------------------------------------------------ bitwise and logical: &, |, ^, ~
    # Results of bool and integer tensors, which never require grad: no op is recorded (as for comparisons).
    def bitwise_and(self, other: Any) -> Tensor:
        """``self & other`` of bool or integer tensors (and numbers), in their common dtype."""
        return self._bitwise("bitwise_and", other)

    def bitwise_or(self, other: Any) -> Tensor:
        return self._bitwise("bitwise_or", other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return self._bitwise("bitwise_xor", other)

    def bitwise_not(self) -> Tensor:
        """``~self``: logical not of a bool tensor, the bits flipped of an integer one."""
        _check_bitwise("bitwise_not", self.dtype)
        return self._wrap_array(get_array_module(self._data).invert(self._data))

    def _bitwise(self, name: str, other: Any) -> Tensor:
        _check_operand(name, other)
        a, b = self._promoted(other)
        _check_bitwise(name, a.dtype)
        return self._wrap_array(getattr(get_array_module(a._data), name)(a._data, b._data))

    __and__ = __rand__ = bitwise_and
    __or__ = __ror__ = bitwise_or
    __xor__ = __rxor__ = bitwise_xor
    __invert__ = bitwise_not

    def logical_and(self, other: Tensor) -> Tensor:
        """Whether both are nonzero, elementwise: a bool tensor, from tensors of any dtype."""
        return self._logical_pair("logical_and", other)

    def logical_or(self, other: Tensor) -> Tensor:
        return self._logical_pair("logical_or", other)

    def logical_xor(self, other: Tensor) -> Tensor:
        return self._logical_pair("logical_xor", other)

    def logical_not(self) -> Tensor:
        return self._wrap_array(get_array_module(self._data).logical_not(self._data))

    def _logical_pair(self, name: str, other: Any) -> Tensor:
        if not isinstance(other, TensorBase):  # PyTorch takes no number here
            raise TypeError(f"{name}: other must be a Tensor, got {type(other).__name__}")
        return self._wrap_array(getattr(get_array_module(self._data), name)(self._data, other._data))

    # ---------------------------------------------------------- matrix products
    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def mm(self, mat2: Tensor) -> Tensor:
        """(n, m) @ (m, p), both exactly 2-D."""
        _check_ndim("mm", self, "input", 2)
        _check_ndim("mm", mat2, "mat2", 2)
        return self._op(A.MatMul(), mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        """(b, n, m) @ (b, m, p): a batch of matrix products with equal batch sizes (no broadcasting)."""
        _check_ndim("bmm", self, "input", 3)
        _check_ndim("bmm", mat2, "mat2", 3)
        if self.shape[0] != mat2.shape[0]:
            raise ValueError(f"bmm: batch sizes differ: input {self.shape}, mat2 {mat2.shape}")
        return self._op(A.MatMul(), mat2)

    def dot(self, other: Tensor) -> Tensor:
        """The inner product of two 1-D tensors of the same size."""
        _check_ndim("dot", self, "input", 1)
        _check_ndim("dot", other, "other", 1)
        if self.shape != other.shape:
            raise ValueError(f"dot: sizes differ: input {self.shape[0]}, other {other.shape[0]}")
        return self._op(A.MatMul(), other)

    inner = dot

    def outer(self, vec2: Tensor) -> Tensor:
        """The (n, m) matrix of products of two 1-D tensors."""
        _check_ndim("outer", self, "input", 1)
        _check_ndim("outer", vec2, "vec2", 1)
        return self._as_tensor.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    # ------------------------------------------------------------- in-place forms
    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return self._inplace_result("clamp_", lambda t: t.clamp(min, max), min, max)

    clip_ = clamp_

    def sqrt_(self) -> Tensor:
        return self._inplace_result("sqrt_", lambda t: t.sqrt())

    def rsqrt_(self) -> Tensor:
        return self._inplace_result("rsqrt_", lambda t: t.rsqrt())

    def exp_(self) -> Tensor:
        return self._inplace_result("exp_", lambda t: t.exp())

    def log_(self) -> Tensor:
        return self._inplace_result("log_", lambda t: t.log())

    def log1p_(self) -> Tensor:
        return self._inplace_result("log1p_", lambda t: t.log1p())

    def sin_(self) -> Tensor:
        return self._inplace_result("sin_", lambda t: t.sin())

    def cos_(self) -> Tensor:
        return self._inplace_result("cos_", lambda t: t.cos())

    def abs_(self) -> Tensor:
        return self._inplace_result("abs_", lambda t: t.abs())

    def neg_(self) -> Tensor:
        return self._inplace_result("neg_", lambda t: -t)

    def sign_(self) -> Tensor:
        return self._inplace_result("sign_", lambda t: t.sign())

    def floor_(self) -> Tensor:
        return self._inplace_result("floor_", lambda t: t.floor())

    def ceil_(self) -> Tensor:
        return self._inplace_result("ceil_", lambda t: t.ceil())

    def trunc_(self) -> Tensor:
        return self._inplace_result("trunc_", lambda t: t.trunc())

    def round_(self, decimals: int = 0) -> Tensor:
        return self._inplace_result("round_", lambda t: t.round(decimals))

    def relu_(self) -> Tensor:
        return self._inplace_result("relu_", lambda t: t.relu())

    def sigmoid_(self) -> Tensor:
        return self._inplace_result("sigmoid_", lambda t: t.sigmoid())

    def tanh_(self) -> Tensor:
        return self._inplace_result("tanh_", lambda t: t.tanh())

    def pow_(self, exponent: Any) -> Tensor:
        return self._inplace_result("pow_", lambda t: t ** exponent, exponent)

    def square_(self) -> Tensor:
        return self._inplace_result("square_", lambda t: t * t)

    def floor_divide_(self, other: Any) -> Tensor:
        return self._inplace_result("floor_divide_", lambda t: t.floor_divide(other), other)

    def remainder_(self, other: Any) -> Tensor:
        return self._inplace_result("remainder_", lambda t: t.remainder(other), other)

    def fmod_(self, other: Any) -> Tensor:
        return self._inplace_result("fmod_", lambda t: t.fmod(other), other)

    def bitwise_and_(self, other: Any) -> Tensor:
        return self._inplace_result("bitwise_and_", lambda t: t.bitwise_and(other), other)

    def bitwise_or_(self, other: Any) -> Tensor:
        return self._inplace_result("bitwise_or_", lambda t: t.bitwise_or(other), other)

    def bitwise_xor_(self, other: Any) -> Tensor:
        return self._inplace_result("bitwise_xor_", lambda t: t.bitwise_xor(other), other)

    __ifloordiv__ = floor_divide_
    __imod__ = remainder_
    __iand__ = bitwise_and_
    __ior__ = bitwise_or_
    __ixor__ = bitwise_xor_


def _scaled(like: Tensor, other: Any, alpha: Any) -> Any:
    """alpha * other, checked as PyTorch does (a float alpha with integer tensors is refused)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)):
        raise TypeError(f"alpha must be a number, got {type(alpha).__name__}")
    kind = (other.dtype.kind if isinstance(other, TensorBase) else "f" if isinstance(other, float) else "i")
    if isinstance(alpha, float) and like.dtype.kind != "f" and kind != "f":
        raise TypeError(f"alpha: a float ({alpha}) cannot scale integer tensors")
    common = result_type(like, other)
    if common.kind == "b":  # bool arithmetic is logical: alpha * other is other for a nonzero alpha
        return other if alpha else other * False
    if isinstance(other, TensorBase) and other.dtype != common:
        other = other.to(common)  # type: ignore[attr-defined]  # scaled in the result's dtype: no uint8 wrap
    return other * alpha


def _division_operands(name: str, a: Tensor, b: Any) -> list[Tensor]:
    """``a`` and ``b`` in their common dtype for a floor division or a remainder, which bools lack (as in
    PyTorch: ``True // True`` has no quotient of its own dtype)."""
    _check_operand(name, b)
    operands = cast("MathMethods", a)._promoted(b)
    if operands[0].dtype.kind == "b":
        raise TypeError(f"{name}: not defined for bool tensors; convert them first (.long())")
    return operands


def _check_operand(name: str, other: Any) -> None:
    """``other`` is what an elementwise op joins a tensor with: a tensor, a number or an array."""
    if not isinstance(other, (TensorBase, bool, int, float, np.number, np.bool_, np.ndarray)):
        raise TypeError(f"{name}: expected a Tensor or a number as the other operand, got {type(other).__name__}")


def _check_bitwise(name: str, dtype: np.dtype) -> None:
    if dtype.kind not in "biu":
        raise TypeError(f"{name}: only bool and integer tensors have bits to combine, got dtype {dtype}")


def _check_ndim(op: str, t: Any, name: str, ndim: int) -> None:
    if not isinstance(t, TensorBase):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if t.ndim != ndim:
        raise ValueError(f"{op}: {name} must be {ndim}-D, got shape {t.shape}")


def _where(condition: Any, input: Any, other: Any) -> Tensor:
    """``minitorch.where(condition, input, other)``: either value may be a number (it takes the tensor's dtype)."""
    if not isinstance(condition, TensorBase):
        raise TypeError(f"where: condition must be a bool Tensor, got {type(condition).__name__}")
    if condition.dtype.kind != "b":
        raise TypeError(f"where: condition must be a bool Tensor, got dtype {condition.dtype}")
    like = input if isinstance(input, TensorBase) else other if isinstance(other, TensorBase) else None
    if like is None:  # two numbers: the dtype a Python number would make, as torch.tensor(number) does
        xp = get_array_module(condition._data)
        values = [xp.asarray(v, dtype=get_default_dtype() if isinstance(v, float) else
                             (np.bool_ if isinstance(v, bool) else np.int64)) for v in (input, other)]
        dtype = result_type(*values)
        a, b = (condition._wrap_array(v.astype(dtype)) for v in values)
    else:
        a, b = cast("MathMethods", like)._promoted(input, other)[1:]
    cond = condition._data
    if a.device != condition.device or b.device != condition.device:
        raise ValueError(f"where: condition is on {condition.device}, the values on {a.device} and {b.device}")
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: shapes {cond.shape} (condition), {a.shape} (input) and {b.shape} (other) "
                         "do not broadcast") from None
    return a._op(M.Where(cond), b)
