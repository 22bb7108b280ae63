"""Ops that pick, place or rearrange elements by index: gather, scatter, index_select, flip, roll,
repeat, expand, diag.

Each backward is the adjoint of its forward: what picks elements adds the
gradient back where they came from (repeated indices add up), what places
elements gathers it.
"""
from __future__ import annotations

from minitorch.autograd import Function, unbroadcast
from minitorch.backend import as_array, get_array_module, new_array


def _positions(xp, index, axis: int) -> tuple:
    """The full NumPy index of ``gather``'s elements: ``index`` along ``axis``, a range along every other."""
    ndim = index.ndim
    parts = []
    for i, n in enumerate(index.shape):
        if i == axis:
            parts.append(index)
        else:
            shape = [1] * ndim
            shape[i] = n
            parts.append(as_array(xp, xp.arange(n)).reshape(shape))
    return tuple(parts)


def check_index(op: str, a, index, axis: int) -> None:
    """PyTorch's rules for gather/scatter indices: integer, same ndim, in range; one line naming the argument."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim != a.ndim:
        raise ValueError(f"{op}: index has {index.ndim} dimensions but input has {a.ndim}")
    for i, (n, m) in enumerate(zip(index.shape, a.shape, strict=True)):
        if i != axis and n > m:
            raise ValueError(f"{op}: index has size {n} in dim {i}, more than the input's {m}")
    if index.size and (int(index.min()) < -a.shape[axis] or int(index.max()) >= a.shape[axis]):
        raise IndexError(f"{op}: index out of range for dim {axis} of size {a.shape[axis]}")


class Gather(Function):
    """``out[i][j][k] = a[i][index[i][j][k]][k]`` for axis 1 (and so on): ``torch.gather``.

    Also the op behind ``sort``, ``topk`` and ``median`` along a dim: their
    values are the input gathered at the indices they choose, so the gradient
    goes to exactly those elements.
    """

    __slots__ = ("axis", "index", "in_shape")
    fresh_grads = True

    def __init__(self, axis: int, index) -> None:
        self.axis, self.index = axis, index

    def forward(self, a):
        xp = get_array_module(a)
        if a.ndim == 0:  # PyTorch treats a 0-d tensor as 1-D here
            self.in_shape = a.shape
            return a.reshape(1)[self.index.reshape(1)].reshape(self.index.shape)
        check_index("gather", a, self.index, self.axis)
        self.in_shape = a.shape
        return a[_positions(xp, self.index, self.axis)]

    def backward(self, g):
        xp = get_array_module(g)
        out = new_array(xp, self.in_shape, g.dtype, 0)
        if not self.in_shape:
            return (g.reshape(()).copy(),)
        xp.add.at(out, _positions(xp, self.index, self.axis), g)
        return (out,)


class Scatter(Function):
    """``a`` with ``src`` placed (``add=False``) or added (``add=True``) at ``index`` along an axis:
    ``torch.scatter`` and ``torch.scatter_add``.  Only ``src``'s elements that ``index`` covers are used.

    Gradients: ``a`` gets ``g``, zeroed where values were replaced; ``src`` gets
    ``g`` gathered at ``index``.
    """

    __slots__ = ("axis", "index", "add", "src_shape")
    fresh_grads = True

    def __init__(self, axis: int, index, add: bool = False) -> None:
        self.axis, self.index, self.add = axis, index, add

    def forward(self, a, src):
        xp = get_array_module(a)
        op = "scatter_add" if self.add else "scatter"
        check_index(op, a, self.index, self.axis)
        if src.ndim != 0:
            if src.ndim != a.ndim:
                raise ValueError(f"{op}: src has {src.ndim} dimensions but input has {a.ndim}")
            if any(n > m for n, m in zip(self.index.shape, src.shape, strict=True)):
                raise ValueError(f"{op}: index of shape {self.index.shape} is larger than src of shape {src.shape}")
            src = src[tuple(slice(0, n) for n in self.index.shape)]
        self.src_shape = src.shape
        out = a.copy()
        where = _positions(xp, self.index, self.axis)
        if self.add:
            xp.add.at(out, where, src)
        else:
            out[where] = src
        return out

    def backward(self, g):
        xp = get_array_module(g)
        where = _positions(xp, self.index, self.axis)
        ga = gsrc = None
        if self.needs_grad[0]:
            ga = g.copy()
            if not self.add:
                ga[where] = 0
        if self.needs_grad[1]:
            picked = g[where]
            if not self.src_shape:
                gsrc = xp.asarray(picked.sum(), dtype=g.dtype)
            else:
                gsrc = new_array(xp, self.src_shape, g.dtype, 0)
                gsrc[tuple(slice(0, n) for n in self.index.shape)] = picked
        return ga, gsrc


class IndexSelect(Function):
    """The entries ``index`` (1-D) along an axis; repeated indices add their gradients."""

    __slots__ = ("axis", "index", "in_shape")
    fresh_grads = True

    def __init__(self, axis: int, index) -> None:
        self.axis, self.index = axis, index

    def forward(self, a):
        xp = get_array_module(a)
        self.in_shape = a.shape
        return xp.take(a, self.index, axis=self.axis)

    def backward(self, g):
        xp = get_array_module(g)
        out = new_array(xp, self.in_shape, g.dtype, 0)
        where = [slice(None)] * len(self.in_shape)
        where[self.axis] = self.index
        xp.add.at(out, tuple(where), g)
        return (out,)


class Flip(Function):
    __slots__ = ("axes",)

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, a):
        return get_array_module(a).flip(a, self.axes).copy()  # PyTorch's flip copies

    def backward(self, g):
        return (get_array_module(g).flip(g, self.axes),)


class Roll(Function):
    """Elements shifted along axes, wrapping around (all elements flattened when ``axes`` is None)."""

    __slots__ = ("shifts", "axes")
    fresh_grads = True

    def __init__(self, shifts, axes) -> None:
        self.shifts, self.axes = shifts, axes

    def forward(self, a):
        return get_array_module(a).roll(a, self.shifts, self.axes)

    def backward(self, g):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (get_array_module(g).roll(g, back, self.axes),)


class Repeat(Function):
    """``a`` tiled ``reps`` times along each dim (``torch.Tensor.repeat``; extra leading reps add dims)."""

    __slots__ = ("reps", "in_shape")
    fresh_grads = True

    def __init__(self, reps: tuple[int, ...]) -> None:
        self.reps = reps

    def forward(self, a):
        self.in_shape = a.shape
        return get_array_module(a).tile(a, self.reps)

    def backward(self, g):
        lead = len(self.reps) - len(self.in_shape)
        shape = (1,) * lead + tuple(self.in_shape)
        split = []  # each dim n*r as (r, n): sum over the r copies
        for r, n in zip(self.reps, shape, strict=True):
            split += [r, n]
        summed = g.reshape(split).sum(axis=tuple(range(0, 2 * len(shape), 2)))
        return (summed.reshape(self.in_shape),)


class Expand(Function):
    """A read-only broadcast view of ``a`` at a larger shape; the gradient sums the copies back."""

    __slots__ = ("shape", "in_shape")
    is_view = True

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, a):
        self.in_shape = a.shape
        return get_array_module(a).broadcast_to(a, self.shape)

    def backward(self, g):
        return (unbroadcast(g, self.in_shape),)


class Diag(Function):
    """``torch.diag``: a 1-D ``a`` becomes a square matrix with it on diagonal ``k``; a 2-D ``a`` gives its
    diagonal ``k`` (a copy)."""

    __slots__ = ("k", "in_shape")
    fresh_grads = True

    def __init__(self, k: int) -> None:
        self.k = k

    def forward(self, a):
        xp = get_array_module(a)
        self.in_shape = a.shape
        if a.ndim not in (1, 2):
            raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {a.shape}")
        return xp.diag(a, self.k).copy()

    def backward(self, g):
        xp = get_array_module(g)
        if len(self.in_shape) == 1:
            return (xp.diagonal(g, self.k).copy(),)
        out = new_array(xp, self.in_shape, g.dtype, 0)
        n = len(g)
        rows = as_array(xp, xp.arange(n)) + max(-self.k, 0)
        out[rows, rows + self.k] = g
        return (out,)


__all__ = ["Diag", "Expand", "Flip", "Gather", "IndexSelect", "Repeat", "Roll", "Scatter", "check_index"]
