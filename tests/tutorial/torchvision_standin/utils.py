"""torchvision.utils.make_grid for torch tensors, through minitorch.vision's."""
from __future__ import annotations

from typing import Any

import minitorch
from minitorch.vision import utils


def make_grid(tensor: Any, **kwargs: Any) -> Any:
    import torch

    return torch.from_numpy(utils.make_grid(minitorch.tensor(tensor.numpy()), **kwargs).numpy())


__all__ = ["make_grid"]
