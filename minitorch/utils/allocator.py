"""Freed memory kept for reuse: eager steps stop paying the kernel for their large arrays' pages.

An eager step allocates its activations and gradients afresh, and a batch of
32 CIFAR-10 images through CoolNet makes arrays of 600 KB and more.  glibc's
``malloc`` gives the memory of a large free back to the kernel (it trims the
heap, or unmaps a block that ``mmap`` made), so the next step's arrays of the
same sizes come back as new pages: a page fault per 4 KB, taken while the op
first writes them.  Measured on the 2-core Xeon: a batch-norm forward over
(32, 6, 784) took 263 us with its two outputs allocated that way, 49 us with
the memory kept; an eager CoolNet step at batch 32, 2.50 ms against 2.03 ms;
an evaluation batch of 1,000 images, 20.3 ms against 16.3 ms.

:func:`keep_freed_memory` sets two of glibc's documented ``mallopt``
parameters, for the whole process: blocks below ``M_MMAP_THRESHOLD`` come
from the heap, and up to ``M_TRIM_THRESHOLD`` bytes of free heap stay with the
process.  The cost is that a process keeps up to that much memory it no longer
uses (never more than its own peak).  Like ``torch.set_num_threads`` it is a
choice for a program to make (hw5's training processes and the benchmarks
make it), not something importing minitorch does.  Captured steps gain
nothing from it: a replay writes into arrays allocated once.
"""
from __future__ import annotations

import ctypes

# mallopt's parameter numbers, from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 << 20  # glibc's ceiling on 64-bit systems (4 MiB * sizeof(long))


def keep_freed_memory(trim_threshold: int = 256 << 20) -> bool:
    """Tell glibc's malloc to keep freed memory, up to ``trim_threshold`` bytes, for the process to reuse.

    Returns False, changing nothing, where the C library has no ``mallopt``
    or ignores it (not glibc: macOS, Windows, musl); True once both parameters
    are set.
    """
    if trim_threshold < 0:
        raise ValueError(f"keep_freed_memory: trim_threshold must be at least 0 bytes, got {trim_threshold}")
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols: Python's C library among them
    except (OSError, AttributeError, TypeError):  # a C library without mallopt; Windows (no CDLL(None))
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    limit = min(trim_threshold, (1 << 31) - 1)  # an int parameter
    # mallopt returns 1 on success; setting either parameter also turns off glibc's own adjustment of both
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) and mallopt(M_TRIM_THRESHOLD, limit))
