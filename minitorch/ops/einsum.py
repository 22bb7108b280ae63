"""``einsum`` for contractions: products of operands summed over the letters the output leaves out.

The subset with gradients: each operand's subscripts name distinct letters
(no diagonals such as ``"ii->i"``), the output names distinct letters that
appear in some operand, and ``...`` stands for the same leading batch
dimensions everywhere it is used.  That covers matrix products, batched
products, outer products, traces of products, bilinear forms and
transpositions.

The gradient of operand ``k`` is itself a contraction: the upstream gradient
(subscripts: the output's) times every other operand, summed down to
operand ``k``'s letters.  A letter that only operand ``k`` has is summed away
in the forward, so its gradient is broadcast back along it.
"""
from __future__ import annotations

import string
from typing import Any

from minitorch.autograd import Function
from minitorch.backend import get_array_module

_LETTERS = set(string.ascii_letters)


def parse(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """The operands' subscripts and the output's, with ``...`` spelled out as letters the equation does not use.

    Raises ValueError naming what is wrong (the number of operands, a letter
    repeated in one operand, a size mismatch...).
    """
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a string, got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} names {len(inputs)} operands, got {len(shapes)}")
    spare = [c for c in string.ascii_letters if c not in eq]
    batch_ndim = 0
    for sub, shape in zip(inputs, shapes, strict=True):
        if "..." in sub:
            batch_ndim = max(batch_ndim, len(shape) - (len(sub) - 3))
    batch = "".join(spare[:batch_ndim])
    expanded = []
    for i, (sub, shape) in enumerate(zip(inputs, shapes, strict=True)):
        if "..." in sub:
            own = len(shape) - (len(sub) - 3)
            sub = sub.replace("...", batch[batch_ndim - own:] if own > 0 else "")
        for c in sub:
            if c not in _LETTERS:
                raise ValueError(f"einsum: invalid subscript {c!r} in operand {i} of {equation!r}")
        if len(set(sub)) != len(sub):
            raise ValueError(f"einsum: operand {i} repeats a letter in {sub!r}; diagonals are not supported")
        if len(sub) != len(shape):
            raise ValueError(f"einsum: operand {i} has {len(shape)} dimensions but subscripts {sub!r}")
        expanded.append(sub)
    if arrow:
        out = rhs.replace("...", batch)
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: the output {rhs!r} repeats a letter")
        for c in out:
            if not any(c in sub for sub in expanded):
                raise ValueError(f"einsum: output letter {c!r} appears in no operand")
    else:  # implicit output: the batch letters, then the letters used once, in alphabetical order
        counts: dict[str, int] = {}
        for sub in expanded:
            for c in sub:
                counts[c] = counts.get(c, 0) + 1
        out = batch + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in batch))
    sizes: dict[str, int] = {}
    for i, (sub, shape) in enumerate(zip(expanded, shapes, strict=True)):
        for c, n in zip(sub, shape, strict=True):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: letter {c!r} has size {sizes[c]} elsewhere but {n} in operand {i}")
    return expanded, out


class Einsum(Function):
    """A contraction of any number of operands (see the module docstring)."""

    __slots__ = ("equation", "subs", "out", "arrays")
    fresh_grads = True

    def __init__(self, equation: str) -> None:
        self.equation = equation

    def forward(self, *arrays):
        self.subs, self.out = parse(self.equation, [a.shape for a in arrays])
        xp = get_array_module(arrays[0])
        if any(self.needs_grad):
            self.arrays = self.save_for_backward(*arrays)
        spec = ",".join(self.subs) + "->" + self.out
        return xp.einsum(spec, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        xp = get_array_module(g)
        grads: list[Any] = []
        for k, (sub, a) in enumerate(zip(self.subs, self.arrays, strict=True)):
            if not self.needs_grad[k]:
                grads.append(None)
                continue
            others = [(s, x) for j, (s, x) in enumerate(zip(self.subs, self.arrays, strict=True)) if j != k]
            available = set(self.out).union(*[set(s) for s, _ in others])
            kept = "".join(c for c in sub if c in available)
            spec = ",".join([self.out] + [s for s, _ in others]) + "->" + kept
            part = xp.einsum(spec, g, *[x for _, x in others], optimize=len(others) > 1)
            # the letters only this operand has were summed away: their gradient is broadcast back
            part = part.reshape([a.shape[i] if c in available else 1 for i, c in enumerate(sub)])
            grads.append(xp.array(xp.broadcast_to(part, a.shape), dtype=a.dtype))  # new memory, never g's
        return tuple(grads)
