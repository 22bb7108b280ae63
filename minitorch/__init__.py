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
from minitorch.creation import (
    empty,
    empty_like,
    equal,
    eye,
    full,
    full_like,
    isclose,
    isfinite,
    isinf,
    isnan,
    linspace,
    rand_like,
    randint_like,
    randn_like,
    randperm,
)
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
from minitorch.math_functions import abs as abs  # noqa: I001 - these shadow builtins: left out of __all__
from minitorch.math_functions import (
    add,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    bmm,
    ceil,
    clamp,
    clamp_,
    clip,
    clip_,
    cos,
    div,
    divide,
    dot,
    einsum,
    eq,
    floor,
    floor_divide,
    fmod,
    ge,
    ger,
    greater,
    greater_equal,
    gt,
    inner,
    le,
    less,
    less_equal,
    log1p,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    matmul,
    maximum,
    minimum,
    mm,
    mul,
    multiply,
    ne,
    neg,
    negative,
    not_equal,
    outer,
    relu,
    remainder,
    rsqrt,
    sigmoid,
    sign,
    sin,
    softmax,
    sqrt,
    square,
    sub,
    subtract,
    tanh,
    true_divide,
    trunc,
    where,
)
from minitorch.math_functions import pow as pow
from minitorch.math_functions import round as round
from minitorch.random import manual_seed
from minitorch.reduction_functions import all as all
from minitorch.reduction_functions import (
    amax,
    amin,
    argsort,
    count_nonzero,
    cumsum,
    logsumexp,
    median,
    norm,
    prod,
    sort,
    std,
    std_mean,
    topk,
    var,
    var_mean,
)
from minitorch.reduction_functions import any as any
from minitorch.serialization import SerializationError, load, save
from minitorch.shape_functions import (
    argwhere,
    chunk,
    diag,
    flip,
    gather,
    index_select,
    masked_fill,
    moveaxis,
    movedim,
    narrow,
    nonzero,
    permute,
    reshape,
    roll,
    scatter,
    scatter_add,
    select,
    split,
    squeeze,
    swapaxes,
    swapdims,
    t,
    take_along_dim,
    tensor_split,
    transpose,
    tril,
    triu,
    unbind,
    unsqueeze,
)
from minitorch.step_capture import CaptureError, capture
from minitorch.tensor import Tensor

float16 = _np.float16
float32 = _np.float32
float64 = _np.float64
half = _np.float16
float = _np.float32  # noqa: A001 - torch.float is float32
double = _np.float64
uint8 = _np.uint8
int8 = _np.int8
int16 = _np.int16
int32 = _np.int32
int64 = _np.int64
short = _np.int16
int = _np.int32  # noqa: A001 - torch.int is int32
long = _np.int64
bool = _np.bool_  # noqa: A001

__version__ = "0.1.0"

# not listed, so that `from minitorch import *` does not shadow Python's builtins: abs, all, any, bool, float,
# int, max, min, pow, round, sum
__all__ = [
    "CaptureError", "GradcheckError", "SerializationError", "Tensor", "allclose", "arange", "argmax", "argmin",
    "capture", "cat", "concat",
    "cuda", "cupy_available", "data", "device", "double", "enable_grad", "exp", "flatten", "float32", "float64",
    "from_numpy", "get_default_dtype", "gradcheck", "inference_mode", "int64", "is_grad_enabled", "is_tensor",
    "load", "log", "long", "manual_seed", "mean", "nn", "no_grad", "numel", "ones", "ones_like", "optim", "rand",
    "randint", "randn", "return_types", "save", "set_default_dtype", "set_grad_enabled", "stack", "tensor",
    "utils", "zeros", "zeros_like",
    # math
    "add", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "bmm", "ceil", "clamp", "clamp_", "clip",
    "clip_", "cos", "div", "divide", "dot", "einsum", "eq", "floor", "floor_divide", "fmod", "ge", "ger", "greater",
    "greater_equal", "gt", "inner", "le", "less", "less_equal", "logical_and", "logical_not", "logical_or",
    "logical_xor", "lt", "ne", "not_equal", "log1p", "log_softmax", "matmul", "maximum", "minimum", "mm", "mul",
    "multiply", "neg", "negative", "outer", "relu", "remainder", "rsqrt", "sigmoid", "sign", "sin", "softmax",
    "sqrt", "square", "sub", "subtract", "tanh", "true_divide", "trunc", "where",
    # reductions
    "amax", "amin", "argsort", "count_nonzero", "cumsum", "logsumexp", "median", "norm", "prod", "sort", "std",
    "std_mean", "topk", "var", "var_mean",
    # shape and indexing
    "argwhere", "chunk", "diag", "flip", "gather", "index_select", "masked_fill", "moveaxis", "movedim", "narrow",
    "nonzero", "permute", "reshape", "roll", "scatter", "scatter_add", "select", "split", "squeeze", "swapaxes",
    "swapdims", "t", "take_along_dim", "tensor_split", "transpose", "tril", "triu", "unbind", "unsqueeze",
    # creation and dtypes
    "empty", "empty_like", "equal", "eye", "float16", "full", "full_like", "half", "int16", "int32", "int8",
    "isclose", "isfinite", "isinf", "isnan", "linspace", "rand_like", "randint_like", "randn_like", "randperm",
    "short", "uint8",
]
