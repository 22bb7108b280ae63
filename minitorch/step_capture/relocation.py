"""Results computed straight into the array they are concatenated into: the flat gradient of SGD.

``SGD`` gathers the parameters' gradients into one flat array
(``np.concatenate([p.grad.reshape(-1) ...], out=flat)``) before its one-pass
update.  In a recording each of those gradients is a buffer written by one op
(a weight-gradient GEMM, a kernel), so the program can have that op write
into its slice of ``flat`` instead, and skip the concatenation: for
BoringNet's 3072x120 weight that is 1.5 MB read and written less per step.

:func:`relocate_into_concatenations` does that where it changes nothing but
where the values live: each piece is a whole buffer that only its producer
writes, and nothing else in the program touches the flat array before the
concatenation or writes it after.  Every array over a moved buffer, in any op
and in what the recording gives back (the ``.grad`` it rebinds), becomes the
same view of the flat array.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minitorch.step_capture.recorder import Op
from minitorch.step_capture.traced import arrays_in, tree_map

Relocate = Callable[[Any], Any]


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _written(op: Op) -> list[np.ndarray]:
    """What an op writes: its new results and the arrays it changes in place."""
    return [buf for _, buf in op.results] + list(op.writes)


def _touches(op: Op, array: np.ndarray) -> bool:
    return any(np.may_share_memory(a, array) for a in arrays_in((op.args, op.kwargs, op.writes)) if a.size)


def _whole_buffer(piece: np.ndarray, buffers: list[np.ndarray]) -> np.ndarray | None:
    """The buffer ``piece`` is all of, in C order, or None."""
    if not piece.flags.c_contiguous:
        return None
    for buf in buffers:
        if buf.flags.c_contiguous and buf.size == piece.size and buf.dtype == piece.dtype \
                and _address(buf) == _address(piece):
            return buf
    return None


def _plan(ops: list[Op], index: int, buffers: list[np.ndarray]) -> list[tuple[np.ndarray, int]] | None:
    """[(buffer, element offset in the flat array)] for the concatenation ``ops[index]``, or None."""
    op = ops[index]
    flat = op.kwargs.get("out")
    if (op.name != "numpy.concatenate" or len(op.args) != 1 or set(op.kwargs) - {"out", "axis"}
            or op.kwargs.get("axis", 0) != 0 or not isinstance(flat, np.ndarray) or flat.ndim != 1
            or not flat.flags.c_contiguous):
        return None
    plan, offset = [], 0
    for piece in op.args[0]:
        if not isinstance(piece, np.ndarray) or piece.ndim != 1 or piece.dtype != flat.dtype:
            return None
        buf = _whole_buffer(piece, buffers)
        if buf is None:
            return None
        writers = [i for i, other in enumerate(ops) if any(np.may_share_memory(w, buf) for w in _written(other))]
        if len(writers) != 1 or writers[0] >= index:
            return None
        plan.append((buf, offset))
        offset += piece.size
    if offset != flat.size:
        return None
    if any(_touches(other, flat) for other in ops[:index]):
        return None
    if any(np.may_share_memory(w, flat) for other in ops[index + 1:] for w in _written(other)):
        return None
    return plan


def relocate_into_concatenations(ops: list[Op], buffers: list[np.ndarray]) -> tuple[list[Op], Relocate]:
    """The ops with each eligible concatenation's pieces computed in place, and the map of arrays moved."""
    moves: list[tuple[np.ndarray, np.ndarray, int]] = []  # (buffer, flat array, byte offset of its slice)
    dropped = set()
    for index in range(len(ops)):
        plan = _plan(ops, index, buffers)
        if plan is None:
            continue
        flat = ops[index].kwargs["out"]
        moves.extend((buf, flat, offset * flat.itemsize) for buf, offset in plan)
        dropped.add(index)
    if not moves:
        return ops, _unchanged

    def move(a: np.ndarray) -> np.ndarray:
        if not a.size:
            return a
        for buf, flat, start in moves:
            if np.may_share_memory(a, buf):
                offset = start + _address(a) - _address(buf)
                return np.ndarray(a.shape, a.dtype, flat, offset, a.strides)
        return a

    def relocate(value: Any) -> Any:
        return tree_map(lambda a: move(a) if isinstance(a, np.ndarray) else a, value)

    return [op.moved(move) for index, op in enumerate(ops) if index not in dropped], relocate


def _unchanged(value: Any) -> Any:
    return value
