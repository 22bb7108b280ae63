"""minitorch: a small deep-learning framework on NumPy (CPU) and CuPy (GPU).

``import minitorch`` gives the tensor API at the top level and the
sub-packages ``nn``, ``optim``, ``data`` and ``utils`` (with PyTorch's
``utils.data``), as ``import torch`` does.  torchvision's counterpart is
``minitorch.vision``.
"""
from __future__ import annotations

import numpy as _np

import minitorch.utils.data as _utils_data  # noqa: F401  (as torch.utils.data is, after `import torch`)
from minitorch import cuda, data, nn, optim, return_types, utils
from minitorch.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from minitorch.backend import cupy_available, device, get_default_dtype, set_default_dtype
from minitorch.factories import (
    arange,
    from_numpy,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from minitorch.functions import (
    allclose,
    argmax,
    argmin,
    cat,
    concat,
    exp,
    flatten,
    is_tensor,
    log,
    mean,
    numel,
    stack,
)
from minitorch.functions import max as max  # re-exported, but left out of __all__ (they shadow builtins)
from minitorch.functions import min as min
from minitorch.functions import sum as sum
from minitorch.gradcheck import GradcheckError, gradcheck
from minitorch.random import manual_seed
from minitorch.serialization import SerializationError, load, save
from minitorch.step_capture import CaptureError, capture
from minitorch.tensor import Tensor

float32 = _np.float32
float64 = _np.float64
int64 = _np.int64
long = _np.int64
float = _np.float32  # noqa: A001 - torch.float is float32
double = _np.float64
bool = _np.bool_  # noqa: A001

__version__ = "0.1.0"

# not listed, so that `from minitorch import *` does not shadow Python's builtins: bool, float, max, min, sum
__all__ = [
    "CaptureError", "GradcheckError", "SerializationError", "Tensor", "allclose", "arange", "argmax", "argmin",
    "capture", "cat", "concat",
    "cuda", "cupy_available", "data", "device", "double", "enable_grad", "exp", "flatten", "float32", "float64",
    "from_numpy", "get_default_dtype", "gradcheck", "inference_mode", "int64", "is_grad_enabled", "is_tensor",
    "load", "log", "long", "manual_seed", "mean", "nn", "no_grad", "numel", "ones", "ones_like", "optim", "rand",
    "randint", "randn", "return_types", "save", "set_default_dtype", "set_grad_enabled", "stack", "tensor",
    "utils", "zeros", "zeros_like",
]
