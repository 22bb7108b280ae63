"""Differentiable ops on raw arrays, one module per family.

Each op is a :class:`minitorch.autograd.Function`: ``forward`` on arrays, ``backward``
returning one gradient per input.  Ops never see a Tensor, so this package
depends only on the engine, and the Tensor class depends on it.
"""
