"""Module-level shape and indexing functions: ``minitorch.flip``, ``roll``, ``movedim``, ``chunk``, ``split``,
``unbind``, ``narrow``, ``gather``, ``scatter``, ``index_select``, ``masked_fill``, ``nonzero``, ``tril``,
``triu``, ``diag``, ``t``, ``transpose``, ``squeeze``, ``unsqueeze``, ``reshape``, as in ``torch``.

Each is the Tensor method of the same name (see
:mod:`minitorch.tensor_methods.indexing` and :mod:`minitorch.tensor_methods.shape`).
"""
from __future__ import annotations

from typing import Any

from minitorch.math_functions import _tensor
from minitorch.tensor import Tensor


def flip(input: Tensor, dims: Any) -> Tensor:
    return _tensor(input, "flip").flip(dims)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    return _tensor(input, "roll").roll(shifts, dims)


def t(input: Tensor) -> Tensor:
    return _tensor(input, "t").t()


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return _tensor(input, "transpose").transpose(dim0, dim1)


def permute(input: Tensor, dims: Any) -> Tensor:
    return _tensor(input, "permute").permute(dims)


def reshape(input: Tensor, shape: Any) -> Tensor:
    return _tensor(input, "reshape").reshape(shape)


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    return _tensor(input, "squeeze").squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    return _tensor(input, "unsqueeze").unsqueeze(dim)


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    return _tensor(input, "movedim").movedim(source, destination)


moveaxis = movedim


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    return _tensor(input, "swapaxes").swapaxes(axis0, axis1)


swapdims = swapaxes


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    return _tensor(input, "chunk").chunk(chunks, dim)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    return _tensor(tensor, "split", "tensor").split(split_size_or_sections, dim)


def tensor_split(input: Tensor, sections: int, dim: int = 0) -> tuple[Tensor, ...]:
    return _tensor(input, "tensor_split").tensor_split(sections, dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    return _tensor(input, "unbind").unbind(dim)


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    return _tensor(input, "narrow").narrow(dim, start, length)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    return _tensor(input, "select").select(dim, index)


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    return _tensor(input, "gather").gather(dim, index)


def take_along_dim(input: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    return _tensor(input, "take_along_dim").take_along_dim(indices, dim)


def scatter(input: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    return _tensor(input, "scatter").scatter(dim, index, src, value=value, reduce=reduce)


def scatter_add(input: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    return _tensor(input, "scatter_add").scatter_add(dim, index, src)


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    return _tensor(input, "index_select").index_select(dim, index)


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    return _tensor(input, "masked_fill").masked_fill(mask, value)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    return _tensor(input, "nonzero").nonzero(as_tuple=as_tuple)


def argwhere(input: Tensor) -> Tensor:
    return _tensor(input, "argwhere").nonzero()


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    return _tensor(input, "tril").tril(diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return _tensor(input, "triu").triu(diagonal)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    return _tensor(input, "diag").diag(diagonal)


__all__ = [
    "argwhere", "chunk", "diag", "flip", "gather", "index_select", "masked_fill", "moveaxis", "movedim", "narrow",
    "nonzero", "permute", "reshape", "roll", "scatter",
    "scatter_add", "select", "split", "squeeze", "swapaxes", "swapdims", "t", "take_along_dim", "tensor_split",
    "transpose", "tril", "triu", "unbind", "unsqueeze",
]
