"""The CUDA C that :mod:`minitorch.kernels.cuda` compiles, kept in files so that it reads as C.

``kernels.cu`` holds every kernel, written once over an element type ``T``.  A
prelude per dtype (``float32.cuh``, ``float64.cuh``) goes in front of it and
defines ``T``, ``NEG_INF`` and ``atomic_add`` for that type; :func:`source`
adds ``BLOCK`` (the threads per block, which the launchers choose) between the
two.  The files are package data, read through :mod:`importlib.resources`, and
this module needs no CuPy, so the text can be checked on any machine.
"""
from __future__ import annotations

from importlib import resources

DTYPES = ("float32", "float64")


def read(name: str) -> str:
    """The text of one file of this folder, e.g. ``"kernels.cu"``."""
    return (resources.files(__name__) / name).read_text(encoding="utf-8")


def source(dtype: str, block: int) -> str:
    """The full CUDA source for ``dtype`` (``"float32"`` or ``"float64"``) and ``block`` threads per block."""
    if dtype not in DTYPES:
        raise ValueError(f"CUDA kernels: dtype must be one of {DTYPES}, got {dtype!r}")
    return read(f"{dtype}.cuh") + f"#define BLOCK {block}\n\n" + read("kernels.cu")
