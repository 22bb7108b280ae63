"""minitorch: a small deep-learning framework on NumPy (CPU) and CuPy (GPU).

``import minitorch`` gives the tensor API at the top level and the
sub-packages ``nn``, ``optim``, ``data`` and ``utils`` (with PyTorch's
``utils.data``), as ``import torch`` does.  torchvision's counterpart is
``minitorch.vision``.
"""
from __future__ import annotations

import numpy as _np

import minitorch.utils.data as _utils_data  # noqa: F401  (as torch.utils.data is, after `import torch`)
from minitorch import data, nn, optim, utils
from minitorch.autograd import enable_grad, is_grad_enabled, no_grad
from minitorch.backend import cupy_available, get_default_dtype, set_default_dtype
from minitorch.gradcheck import GradcheckError, gradcheck
from minitorch.random import manual_seed
from minitorch.serialization import SerializationError, load, save
from minitorch.tensor import Tensor, ones, rand, randn, tensor, zeros

float32 = _np.float32
float64 = _np.float64
int64 = _np.int64

__version__ = "0.1.0"

__all__ = [
    "GradcheckError", "SerializationError", "Tensor", "cupy_available", "data", "enable_grad", "float32",
    "float64", "get_default_dtype", "gradcheck", "int64", "is_grad_enabled", "load", "manual_seed", "nn",
    "no_grad", "ones", "optim", "rand", "randn", "save", "set_default_dtype", "tensor", "utils", "zeros",
]
