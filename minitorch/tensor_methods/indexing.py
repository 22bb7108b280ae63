"""Shape and indexing methods beyond reshape and ``[]``: ``expand``, ``repeat``, ``flip``, ``roll``, ``t``/``mT``,
``movedim``, ``chunk``/``split``/``unbind``/``narrow``, ``gather``/``scatter``/``index_select``, ``masked_fill``,
``nonzero``, ``tril``/``triu``/``diag``, ``view_as``, ``unsqueeze_``.

Pieces (``chunk``, ``split``, ``unbind``, ``narrow``) are basic slices, so
they are views, as in PyTorch.  Every index argument may be a Tensor or an
array of integers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minitorch.backend import cast_array, get_array_module, to_device
from minitorch.ops import copy as C
from minitorch.ops import indexing_ops as I
from minitorch.ops import math as M
from minitorch.ops import shape as S
from minitorch.tensor_methods.base import TensorBase, int_dim
from minitorch.tensor_methods.inplace_result import InPlaceResultMethods

if TYPE_CHECKING:
    from minitorch.tensor import Tensor


def _sizes(args: tuple, op: str) -> tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` as a tuple of ints."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(int_dim(n, op) for n in args)


def _axis(dim: Any, ndim: int, op: str, name: str = "dim") -> int:
    """One dim as a non-negative axis; a 0-d tensor accepts 0 and -1."""
    d = int_dim(dim, op)
    if not -max(ndim, 1) <= d < max(ndim, 1):
        raise ValueError(f"{op}: {name} {d} is out of range for a tensor of {ndim} dimensions")
    return d % max(ndim, 1)


class IndexingMethods(InPlaceResultMethods):
    __slots__ = ()

    def _index_array(self, index: Any, op: str) -> Any:
        """An index argument (Tensor, array or list of ints) as an int64 array on this tensor's device."""
        raw = index._data if isinstance(index, TensorBase) else np.asarray(index)
        if raw.dtype.kind not in "iu":
            raise TypeError(f"{op}: index must hold integers, got dtype {raw.dtype}")
        return to_device(raw.astype(np.int64, copy=False), self.device)

    # ------------------------------------------------------------- broadcast and tile
    def expand(self, *sizes: Any) -> Tensor:
        """A broadcast view at ``sizes`` (-1 keeps a dim's size; new dims go in front)."""
        shape = _sizes(sizes, "expand")
        if len(shape) < self.ndim:
            raise ValueError(f"expand: {len(shape)} sizes given for a tensor of {self.ndim} dimensions")
        lead = len(shape) - self.ndim
        full = []
        for i, n in enumerate(shape):
            if n == -1:
                if i < lead:
                    raise ValueError(f"expand: -1 is not allowed for the new leading dim {i}")
                n = self.shape[i - lead]
            elif i >= lead and self.shape[i - lead] not in (1, n):
                raise ValueError(f"expand: the size {self.shape[i - lead]} of dim {i - lead} cannot expand to "
                                 f"{n} (only size 1 can)")
            full.append(n)
        return self._op(I.Expand(tuple(full)))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        """The tensor tiled ``sizes[i]`` times along dim i (extra leading sizes add dims)."""
        reps = _sizes(sizes, "repeat")
        if len(reps) < self.ndim:
            raise ValueError(f"repeat: {len(reps)} repeats given for a tensor of {self.ndim} dimensions")
        if any(r < 0 for r in reps):
            raise ValueError(f"repeat: repeats must be >= 0, got {reps}")
        return self._op(I.Repeat(reps))

    # ------------------------------------------------------------------ reorder
    def flip(self, *dims: Any) -> Tensor:
        axes = tuple(_axis(d, self.ndim, "flip") for d in _sizes(dims, "flip"))
        if len(set(axes)) != len(axes):
            raise ValueError(f"flip: dims {_sizes(dims, 'flip')} repeat a dim")
        return self._op(I.Flip(axes if self.ndim else ()))

    def fliplr(self) -> Tensor:
        return self.flip(1)

    def flipud(self) -> Tensor:
        return self.flip(0)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """Elements shifted by ``shifts`` along ``dims``, wrapping around (flattened when ``dims`` is None)."""
        if dims is None:
            if isinstance(shifts, (tuple, list)):
                if len(shifts) != 1:
                    raise ValueError("roll: without dims, shifts must be a single int")
                shifts = shifts[0]
            return self._op(I.Roll(int_dim(shifts, "roll"), None))
        shift_t = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
        dim_t = dims if isinstance(dims, (tuple, list)) else (dims,)
        if len(shift_t) != len(dim_t):
            raise ValueError(f"roll: shifts ({len(shift_t)}) and dims ({len(dim_t)}) must have the same length")
        axes = tuple(_axis(d, self.ndim, "roll") for d in dim_t)
        return self._op(I.Roll(tuple(int_dim(s, "roll") for s in shift_t), axes))

    def t(self) -> Tensor:
        """The transpose of a matrix (a tensor of at most 2 dims is returned as it is otherwise)."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor of at most 2 dimensions, got shape {self.shape}; use transpose")
        return self._as_tensor.transpose(0, 1) if self.ndim == 2 else self._as_tensor

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dims swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise ValueError(f"mT: expects a tensor of at least 2 dimensions, got shape {self.shape}")
        return self._as_tensor.transpose(-2, -1)

    def movedim(self, source: Any, destination: Any) -> Tensor:
        """Dims ``source`` moved to positions ``destination`` (ints or sequences of equal length)."""
        src = source if isinstance(source, (tuple, list)) else (source,)
        dst = destination if isinstance(destination, (tuple, list)) else (destination,)
        if len(src) != len(dst):
            raise ValueError(f"movedim: source ({len(src)} dims) and destination ({len(dst)}) differ in length")
        nd = self.ndim
        src = [_axis(d, nd, "movedim", "source") for d in src]
        dst = [_axis(d, nd, "movedim", "destination") for d in dst]
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise ValueError("movedim: repeated dim in source or destination")
        if nd == 0:
            return self._as_tensor
        order = [i for i in range(nd) if i not in src]
        for d, s in sorted(zip(dst, src, strict=True)):
            order.insert(d, s)
        return self._op(S.Transpose(tuple(order)))

    moveaxis = movedim

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self._as_tensor.transpose(axis0, axis1)

    swapdims = swapaxes

    # ------------------------------------------------------------------- pieces
    def _slice(self, axis: int, start: int, stop: int) -> Tensor:
        index = (slice(None),) * axis + (slice(start, stop),)
        return self._op(S.GetItem(index))

    def narrow(self, dim: int, start: Any, length: int) -> Tensor:
        """The ``length`` entries from ``start`` along ``dim`` (a view)."""
        axis = _axis(dim, self.ndim, "narrow")
        size = self.shape[axis]
        start = int(start._data) if isinstance(start, TensorBase) else int_dim(start, "narrow")
        if not -size <= start <= size:
            raise IndexError(f"narrow: start {start} is out of range for dim {dim} of size {size}")
        if start < 0:
            start += size
        length = int_dim(length, "narrow")
        if length < 0 or start + length > size:
            raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds dim {dim} of size {size}")
        return self._slice(axis, start, start + length)

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed sizes."""
        axis = _axis(dim, self.ndim, "split")
        size = self.shape[axis]
        if isinstance(split_size_or_sections, (tuple, list)):
            sizes = [int_dim(n, "split") for n in split_size_or_sections]
            if sum(sizes) != size or any(n < 0 for n in sizes):
                raise ValueError(f"split: sections {sizes} must be >= 0 and add up to dim {dim}'s size {size}")
        else:
            step = int_dim(split_size_or_sections, "split")
            if step <= 0 and size > 0:
                raise ValueError(f"split: split_size must be positive, got {step}")
            sizes = [min(step, size - s) for s in range(0, size, step)] if size else [0]
        pieces, start = [], 0
        for n in sizes:
            pieces.append(self._slice(axis, start, start + n))
            start += n
        return tuple(pieces)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most ``chunks`` pieces of equal size ceil(n / chunks) along ``dim`` (the last may be smaller)."""
        chunks = int_dim(chunks, "chunk")
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        size = self.shape[_axis(dim, self.ndim, "chunk")]
        return self.split(max(-(-size // chunks), 1), dim)

    def tensor_split(self, sections: int, dim: int = 0) -> tuple[Tensor, ...]:
        axis = _axis(dim, self.ndim, "tensor_split")
        size, n = self.shape[axis], int_dim(sections, "tensor_split")
        return self.split([size // n + (1 if i < size % n else 0) for i in range(n)], dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, each without that dim (views)."""
        axis = _axis(dim, self.ndim, "unbind")
        return tuple(self._op(S.GetItem((slice(None),) * axis + (i,))) for i in range(self.shape[axis]))

    def select(self, dim: int, index: int) -> Tensor:
        axis = _axis(dim, self.ndim, "select")
        i = int_dim(index, "select")
        if not -self.shape[axis] <= i < self.shape[axis]:
            raise IndexError(f"select: index {i} is out of range for dim {dim} of size {self.shape[axis]}")
        return self._op(S.GetItem((slice(None),) * axis + (i,)))

    # ---------------------------------------------------------- gather and scatter
    def gather(self, dim: int, index: Any) -> Tensor:
        """``out[i][j] = self[i][index[i][j]]`` for dim 1 (and so on); the gradient adds back."""
        return self._op(I.Gather(_axis(dim, self.ndim, "gather"), self._index_array(index, "gather")))

    def take_along_dim(self, indices: Any, dim: int | None = None) -> Tensor:
        """``gather`` after broadcasting this tensor and ``indices`` against each other in every dim but
        ``dim`` (as PyTorch); without ``dim``, over the flattened tensor."""
        if not isinstance(indices, TensorBase):
            raise TypeError(f"take_along_dim: indices must be a Tensor, got {type(indices).__name__}")
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))  # type: ignore[attr-defined]
        if indices.ndim != self.ndim:
            raise ValueError(f"take_along_dim: indices must have as many dims as the input ({self.ndim}), "
                             f"got shape {indices.shape}")
        axis = _axis(dim, self.ndim, "take_along_dim")
        try:
            common = list(np.broadcast_shapes(tuple(s for i, s in enumerate(self.shape) if i != axis),
                                              tuple(s for i, s in enumerate(indices.shape) if i != axis)))
        except ValueError:
            raise ValueError(f"take_along_dim: indices of shape {indices.shape} do not broadcast against the "
                             f"input's shape {self.shape} outside dim {dim}") from None
        source = self.expand(*common[:axis], self.shape[axis], *common[axis:])
        index = indices.expand(*common[:axis], indices.shape[axis], *common[axis:])  # type: ignore[attr-defined]
        return source.gather(axis, index)

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> Tensor:
        """A copy with ``src`` (a tensor, or a number ``value``) written at ``index`` along ``dim``.

        ``reduce="add"`` adds instead (as :meth:`scatter_add`).  Where ``index``
        repeats a position, PyTorch leaves the winner unspecified; here the
        last one wins.
        """
        if src is None and value is None:
            raise TypeError("scatter: give src (a Tensor) or value (a number)")
        if reduce not in (None, "add"):
            raise ValueError(f"scatter: reduce must be None or 'add', got {reduce!r}")
        source = src if src is not None else value
        if not isinstance(source, TensorBase):
            source = self._wrap_array(get_array_module(self._data).asarray(source, dtype=self.dtype))
        elif source.dtype != self.dtype:
            raise TypeError(f"scatter: src has dtype {source.dtype} but self has {self.dtype}")
        axis = _axis(dim, self.ndim, "scatter")
        return self._op(I.Scatter(axis, self._index_array(index, "scatter"), add=reduce == "add"), source)

    def scatter_add(self, dim: int, index: Any, src: Tensor) -> Tensor:
        """A copy with ``src`` added at ``index`` along ``dim`` (repeated positions add up)."""
        if not isinstance(src, TensorBase):
            raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
        return self.scatter(dim, index, src, reduce="add")

    def scatter_(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                 reduce: str | None = None) -> Tensor:
        return self._inplace_result("scatter_", lambda t: t.scatter(dim, index, src, value=value, reduce=reduce),
                                    src)

    def scatter_add_(self, dim: int, index: Any, src: Tensor) -> Tensor:
        return self._inplace_result("scatter_add_", lambda t: t.scatter_add(dim, index, src), src)

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The entries ``index`` (1-D) along ``dim``; the same index may repeat."""
        idx = self._index_array(index, "index_select")
        if idx.ndim > 1:
            raise ValueError(f"index_select: index must be 1-D, got shape {idx.shape}")
        axis = _axis(dim, self.ndim, "index_select")
        size = self.shape[axis] if self.ndim else 1
        if idx.size and (int(idx.min()) < -size or int(idx.max()) >= size):
            raise IndexError(f"index_select: index out of range for dim {dim} of size {size}")
        if self.ndim == 0:
            return self._as_tensor.reshape(1)._op(I.IndexSelect(0, idx.reshape(-1))).reshape(idx.shape)
        return self._op(I.IndexSelect(axis, idx.reshape(-1)))

    # ------------------------------------------------------------------ masks
    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """A copy with ``value`` (a number or a 0-d tensor) where the bool ``mask`` (broadcast) is True."""
        if not isinstance(mask, TensorBase) or mask.dtype.kind != "b":
            raise TypeError(f"masked_fill: mask must be a bool Tensor, got "
                            f"{mask.dtype if isinstance(mask, TensorBase) else type(mask).__name__}")
        if isinstance(value, TensorBase):
            if value.ndim != 0:
                raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
            filler = value if value.dtype == self.dtype else value._op(C.Cast(self.dtype, self.device.type))
        else:  # cast to this dtype, as PyTorch does (a float into an integer tensor truncates)
            filler = self._wrap_array(get_array_module(self._data).asarray(cast_array(value, self.dtype)))
        try:  # the result has the broadcast shape of the tensor and the mask, as in PyTorch
            np.broadcast_shapes(mask.shape, self.shape)
        except ValueError:
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast with {self.shape}") \
                from None
        return filler._op(M.Where(mask._data), self._as_tensor)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return self._inplace_result("masked_fill_", lambda t: t.masked_fill(mask, value), value)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """Indices of the nonzero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
        xp = get_array_module(self._data)
        data = self._data if self.ndim else self._data.reshape(1)
        where = xp.nonzero(data)
        if as_tuple:
            return tuple(self._wrap_array(w.astype(np.int64)) for w in where)
        stacked = xp.stack(where, axis=1) if where else xp.zeros((0, 0), dtype=np.int64)
        if not self.ndim:
            stacked = stacked[:, :0]
        return self._wrap_array(stacked.astype(np.int64))

    def argwhere(self) -> Tensor:
        return self.nonzero()

    # ---------------------------------------------------------------- triangles
    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dims (on and below ``diagonal``); the rest is 0."""
        return self._triangle("tril", diagonal, lower=True)

    def triu(self, diagonal: int = 0) -> Tensor:
        return self._triangle("triu", diagonal, lower=False)

    def _triangle(self, name: str, diagonal: int, lower: bool) -> Tensor:
        if self.ndim < 2:
            raise ValueError(f"{name}: expects a tensor of at least 2 dimensions, got shape {self.shape}")
        k = int_dim(diagonal, name)
        xp = get_array_module(self._data)
        n, m = self.shape[-2:]
        rows, cols = xp.arange(n).reshape(n, 1), xp.arange(m).reshape(1, m)
        keep = (cols - rows <= k) if lower else (cols - rows >= k)
        zero = self._wrap_array(xp.zeros((), dtype=self.dtype))
        return self._op(M.Where(keep), zero)

    def tril_(self, diagonal: int = 0) -> Tensor:
        return self._inplace_result("tril_", lambda t: t.tril(diagonal))

    def triu_(self, diagonal: int = 0) -> Tensor:
        return self._inplace_result("triu_", lambda t: t.triu(diagonal))

    def diag(self, diagonal: int = 0) -> Tensor:
        """A 1-D tensor as a square matrix with it on ``diagonal``; a 2-D tensor's ``diagonal`` as 1-D."""
        if self.ndim not in (1, 2):
            raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {self.shape}")
        return self._op(I.Diag(int_dim(diagonal, "diag")))

    # ------------------------------------------------------------- like another
    def view_as(self, other: Tensor) -> Tensor:
        return self._as_tensor.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self._as_tensor.reshape(other.shape)

    def unsqueeze_(self, dim: int) -> Tensor:
        """Insert a dim of size 1 at ``dim``, in place: this tensor takes the new shape."""
        return self._reshape_inplace("unsqueeze_", self._wrap_array(self._data).unsqueeze(dim).shape)

    def squeeze_(self, dim: Any = None) -> Tensor:
        return self._reshape_inplace("squeeze_", self._wrap_array(self._data).squeeze(dim).shape)
