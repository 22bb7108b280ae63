"""Embedding: a lookup table of learnable vectors, indexed by integers."""
from __future__ import annotations

from minitorch.nn import _args, init
from minitorch.nn import functional as F
from minitorch.nn.modules.module import Module
from minitorch.nn.parameter import data_array, new_parameter
from minitorch.tensor import Tensor


class Embedding(Module):
    """``weight`` (num_embeddings, embedding_dim), drawn from N(0, 1) as in PyTorch; the row ``padding_idx``
    starts at zero and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, device: str | None = None) -> None:
        super().__init__()
        self.num_embeddings = _args.positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _args.positive_int(embedding_dim, "embedding_dim", "Embedding")
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: max_norm, scale_grad_by_freq and sparse are not supported")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), "
                                 f"got {padding_idx}")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx = padding_idx
        self.weight = new_parameter(num_embeddings, embedding_dim, device=device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            data_array(self.weight)[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
