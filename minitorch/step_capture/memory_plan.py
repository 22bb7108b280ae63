"""Static memory planning: buffers whose lifetimes in the program do not overlap share storage.

A recording keeps every buffer its step allocated (see :mod:`.recorder`), so
a replay cycles through as much memory as the eager step allocated in all
(55.7 MiB for CoolNet at batch 256), where the eager step gets freed,
cache-warm memory back from the allocator; the same kernels then run slower
on a replay.  So, once per recording, :func:`share_storage` computes each
buffer's *live range*: from the first op that mentions it to the last one
(reads and writes alike; any view of it counts, since a view keeps its base
alive).  Taking the buffers in order of first use (larger first), each gets
a block of storage that is free by then: the smallest that fits, else the
largest free one (grown), else a new one; a block is free again after the
last use of the buffer it holds.  That is greedy best-fit, the classic
static planning of XLA's buffer assignment or tinygrad's TinyJit.

Never moved (each keeps its own memory): buffers that outlive the program
(``kept``: the state after the step, with the gradients bound into ``.grad``;
what the step returns or a stop returns; any array of the step that
something still holds after it), buffers the program reads before writing
(constants, whose values must last from one replay to the next), and
buffers that are views of other memory; nothing at all where a call's
argument is an object that could hold arrays out of sight (a closure, say).
Every array over a moved buffer becomes the same view of its block, so a
replay runs the same calls on the same values in the same order:
bit-identical results, in less memory.
"""
from __future__ import annotations

import bisect
import types

import numpy as np
from numpy.lib.array_utils import byte_bounds

from minitorch.step_capture.recorder import Op
from minitorch.step_capture.traced import arrays_in, leaves

# What may stand in a call's arguments without hiding an array: arrays, scalars, and compiled functions.
_PLAIN = (np.ndarray, np.generic, np.dtype, np.ufunc, int, float, complex, str, bytes, slice, type(None),
          type(Ellipsis), types.BuiltinFunctionType)


def _plain_leaf(value: object) -> bool:
    return isinstance(value, _PLAIN) or hasattr(value, "overloads")  # a numba dispatcher


def share_storage(ops: list[Op], buffers: list[np.ndarray], kept: list[np.ndarray]) -> list[Op]:
    """The ops with the buffers that may share storage moved into shared blocks (see the module docstring)."""
    if any(not _plain_leaf(v) for op in ops for v in leaves((op.args, op.kwargs))):
        return ops  # an argument that could hold arrays out of sight: their live ranges are unknown
    owned = sorted((b for b in buffers if b.size and b.base is None), key=lambda b: byte_bounds(b)[0])
    if any(b.dtype.hasobject for b in owned):
        return ops  # Python objects (dtype=object) hold references: their memory is never reused for numbers
    bounds = [byte_bounds(b) for b in owned]
    starts = [lo for lo, _ in bounds]

    def owner(a: np.ndarray) -> int | None:
        """The index in ``owned`` of the buffer whose memory ``a`` lies in, or None."""
        if not a.size:
            return None
        lo, hi = byte_bounds(a)
        i = bisect.bisect_right(starts, lo) - 1
        return i if i >= 0 and hi <= bounds[i][1] else None

    first: dict[int, int] = {}
    last: dict[int, int] = {}
    pinned = {owner(a) for a in kept}
    for index, op in enumerate(ops):
        written = {owner(w) for w in [*(buf for _, buf in op.results), *op.writes]}
        for a in arrays_in((op.args, op.kwargs, op.writes)):
            o = owner(a)
            if o is None:
                continue
            if o not in first:
                first[o] = index
                if o not in written:  # read before it is written: its values come from before the replay
                    pinned.add(o)
            last[o] = index
    blocks: list[list[int]] = []  # [size in bytes, index of the last op that uses what it holds]
    block_of: dict[int, int] = {}
    for o in sorted(set(first) - pinned, key=lambda o: (first[o], -owned[o].nbytes)):
        need = owned[o].nbytes
        free = [k for k, (_, until) in enumerate(blocks) if until < first[o]]
        fits = [k for k in free if blocks[k][0] >= need]
        if fits or free:
            k = min(fits, key=lambda k: blocks[k][0]) if fits else max(free, key=lambda k: blocks[k][0])
        else:
            k = len(blocks)
            blocks.append([0, -1])
        blocks[k] = [max(blocks[k][0], need), last[o]]
        block_of[o] = k
    storage = [np.empty(size, dtype=np.uint8) for size, _ in blocks]

    def move(a: np.ndarray) -> np.ndarray:
        o = owner(a) if isinstance(a, np.ndarray) else None
        if o not in block_of:
            return a
        offset = a.__array_interface__["data"][0] - owned[o].__array_interface__["data"][0]
        return np.ndarray(a.shape, a.dtype, storage[block_of[o]], offset, a.strides)

    return [op.moved(move) for op in ops] if block_of else ops
