"""Reductions: sum, mean, max/min over axes or along one axis (with indices), and norms."""
from __future__ import annotations

from minitorch.autograd import Function
from minitorch.backend import as_array, get_array_module, new_array
from minitorch.ops._checks import DimensionError, check_dim


def normalize_axis(axis, ndim: int, op: str) -> tuple[int, ...]:
    """Turn ``axis`` (None, int or tuple) into a sorted tuple of non-negative axes.

    A 0-d tensor has no axis to reduce, but accepts dim 0 and -1 as PyTorch does
    (``tensor(2.).sum(-1)`` is ``tensor(2.)``): the tuple is empty.
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = {check_dim(ax, ndim, op) for ax in axes}
    return tuple(sorted(out)) if ndim else ()


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape) if keepdims or i not in axes)


def _expand(g, in_shape, axes, keepdims):
    """Reshape a reduced gradient so that it broadcasts against the input."""
    if not keepdims:
        shape = [1 if i in axes else n for i, n in enumerate(in_shape)]
        g = g.reshape(shape)
    return g


class Sum(Function):
    __slots__ = ("in_shape", "axes", "keepdims")

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axes, self.keepdims = axis, keepdims

    def forward(self, a):
        self.in_shape = a.shape
        self.axes = normalize_axis(self.axes, a.ndim, "sum")
        # in the input's dtype (NumPy would sum small integers in int64; the caller chose the dtype)
        return a.sum(axis=self.axes, keepdims=self.keepdims, dtype=a.dtype if a.dtype.kind in "iu" else None)

    def backward(self, g):
        xp = get_array_module(g)
        return (xp.broadcast_to(_expand(g, self.in_shape, self.axes, self.keepdims), self.in_shape),)


class Mean(Function):
    __slots__ = ("in_shape", "axes", "keepdims", "count")

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axes, self.keepdims = axis, keepdims

    def forward(self, a):
        self.in_shape = a.shape
        self.axes = normalize_axis(self.axes, a.ndim, "mean")
        count = 1
        for ax in self.axes:
            count *= a.shape[ax]
        self.count = count
        if count == 0:  # the mean of nothing is NaN, as in PyTorch (NumPy would warn)
            return get_array_module(a).full(_reduced_shape(a.shape, self.axes, self.keepdims), float("nan"),
                                            dtype=a.dtype)
        return a.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        g = _expand(g, self.in_shape, self.axes, self.keepdims) / max(self.count, 1)  # count 0: nothing to fill
        return (xp.broadcast_to(g, self.in_shape),)


class Max(Function):
    """Maximum over axes; ties share the gradient equally (like ``torch.amax``)."""

    __slots__ = ("a", "out", "axes", "keepdims")
    name_ = "max"

    def __init__(self, axis=None, keepdims: bool = False) -> None:
        self.axes, self.keepdims = axis, keepdims

    def reduce(self, a, axes):
        return a.max(axis=axes, keepdims=True)

    def forward(self, a):
        self.axes = normalize_axis(self.axes, a.ndim, self.name_)
        if a.size == 0:  # reducing an empty dim has no identity; the other dims of an empty tensor are fine
            for ax in self.axes:
                if a.shape[ax] == 0:
                    raise DimensionError(f"{self.name_}: cannot reduce dim {ax} of the tensor of shape {a.shape}: "
                                         "it is empty")
            if not self.axes:
                raise ValueError(f"{self.name_}: the tensor of shape {a.shape} is empty; give the dim to reduce")
        self.a, self.out = self.save_for_backward(a, self.reduce(a, self.axes))
        return self.out if self.keepdims else self.out.reshape(
            [n for i, n in enumerate(a.shape) if i not in self.axes]
        )

    def backward(self, g):
        mask = self.a == self.out
        count = mask.sum(axis=self.axes, keepdims=True)
        g = _expand(g, self.a.shape, self.axes, self.keepdims)
        return (mask * (g / count),)


class Min(Max):
    """Minimum over axes; ties share the gradient equally (like ``torch.amin``)."""

    __slots__ = ()
    name_ = "min"

    def reduce(self, a, axes):
        return a.min(axis=axes, keepdims=True)


class MaxAlong(Function):
    """Maximum (or minimum) along one axis, and where it is: ``torch.max(x, dim)``.

    The index is the first extreme along the axis, and the whole gradient goes to
    it, as in PyTorch (``amax`` shares it between ties instead).  ``index`` holds
    the indices (with the axis kept) for the caller and for backward.
    """

    __slots__ = ("axis", "keepdims", "largest", "index", "in_shape")

    def __init__(self, axis: int, keepdims: bool = False, largest: bool = True) -> None:
        self.axis, self.keepdims, self.largest = axis, keepdims, largest

    @property
    def indices(self):
        """The int64 indices, shaped like the values."""
        index = self.index.astype("int64", copy=False)
        return index if self.keepdims or not self.in_shape else index.squeeze(self.axis)

    def forward(self, a):
        op = "max" if self.largest else "min"
        self.in_shape = a.shape
        axis = check_dim(self.axis, a.ndim, op)
        if a.ndim == 0:
            self.axis, self.index = 0, get_array_module(a).zeros((), dtype="int64")
            return a.copy()
        if a.shape[axis] == 0:
            raise DimensionError(f"{op}: dim {self.axis} of the tensor of shape {a.shape} is empty")
        xp = get_array_module(a)
        self.axis = axis
        pick = a.argmax if self.largest else a.argmin
        self.index = pick(axis=axis, keepdims=True)
        values = xp.take_along_axis(a, self.index, axis=axis)
        return values if self.keepdims else values.squeeze(axis)

    def backward(self, g):
        if not self.in_shape:
            return (g.copy(),)
        xp = get_array_module(g)
        if not self.keepdims:
            g = xp.expand_dims(g, self.axis)
        shape = [1] * len(self.in_shape)
        shape[self.axis] = self.in_shape[self.axis]
        positions = as_array(xp, xp.arange(self.in_shape[self.axis])).reshape(shape)
        return (xp.where(positions == self.index, g, new_array(xp, (), g.dtype, 0)),)


class Norm(Function):
    """The p-norm over axes (all by default): (sum |a|**p) ** (1/p), p > 0, or max |a| for p = inf.

    At a zero norm the gradient is 0, as in PyTorch (the formula gives 0/0).
    """

    __slots__ = ("p", "axes", "keepdims", "a", "out")

    def __init__(self, p: float, axis=None, keepdims: bool = False) -> None:
        self.p, self.axes, self.keepdims = p, axis, keepdims

    def forward(self, a):
        xp = get_array_module(a)
        self.axes = normalize_axis(self.axes, a.ndim, "norm")
        p, absolute = self.p, xp.abs(a)
        if p == float("inf"):
            out = absolute.max(axis=self.axes, keepdims=True) if a.size else new_array(
                xp, [1 if i in self.axes else n for i, n in enumerate(a.shape)], a.dtype, 0)
        elif p == 2:
            out = xp.sqrt((a * a).sum(axis=self.axes, keepdims=True))
        elif p == 1:
            out = absolute.sum(axis=self.axes, keepdims=True)
        else:
            out = (absolute ** p).sum(axis=self.axes, keepdims=True) ** (1.0 / p)
        self.a, self.out = self.save_for_backward(a, out)
        return out if self.keepdims else out.reshape([n for i, n in enumerate(a.shape) if i not in self.axes])

    def backward(self, g):
        xp = get_array_module(g)
        a, out, p = self.a, self.out, self.p
        g = _expand(g, a.shape, self.axes, self.keepdims)
        safe = xp.where(out == 0, 1, out)  # the masked-out places get 0 below
        if p == float("inf"):
            hit = xp.abs(a) == out
            grad = xp.sign(a) * hit * (g / hit.sum(axis=self.axes, keepdims=True))
        elif p == 2:
            grad = a * (g / safe)
        elif p == 1:
            grad = xp.sign(a) * g
        else:
            grad = xp.sign(a) * xp.abs(a) ** (p - 1) * (g / safe ** (p - 1))
        return (xp.where(out == 0, new_array(xp, (), grad.dtype, 0), grad),)
