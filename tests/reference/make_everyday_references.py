"""Write tests/reference/everyday.npz: PyTorch's results for the everyday tensor ops (math, reductions, shape and
indexing, creation and dtypes).

Run from the repository root, with PyTorch 2.13.0 installed::

    python tests/reference/make_everyday_references.py

(``--new-only`` adds the results of cases the file lacks and leaves every stored array as it is.)

Each case is a function of the framework module (``torch`` or ``minitorch``: the ops are called by the same
names on both) and of tensors made from seeded NumPy inputs.  Stored per case (no pickle):

* ``<case>:in:<name>`` -- the inputs (float64 unless the case is about another dtype);
* ``<case>:out:<i>`` -- each output (a tuple's items in order; a Python bool as a 0-d array), with its dtype;
* ``<case>:grad:<name>`` -- the gradient of every float input that requires grad, for the upstream gradient
  :func:`upstream` draws from the case's seed (one per differentiable output).

The tests (tests/core/test_everyday_parity.py) run the same functions on minitorch without torch.  Inputs are
tie-free where ties would make the chosen index arbitrary (``topk``, ``median`` along a dim, ``maximum``);
``sort`` gets ties on purpose, since PyTorch's CPU sort is stable and so is minitorch's.
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
from reference_io import json_array, meta_array, warn_if_other_torch, write_npz

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_VERSION = "2.13"


# --------------------------------------------------------------------------- inputs
def normal(*shape):
    return ("normal", shape)


def distinct(*shape):
    """Values at least 0.05 apart (no ties, far from kinks at 0)."""
    return ("distinct", shape)


def positive(*shape):
    return ("positive", shape)


def ints(high, *shape, dtype="int64"):
    return ("ints", shape, high, dtype)


def mask(*shape):
    return ("mask", shape)


def const(array):
    return ("const", np.asarray(array))


def make_input(rng: np.random.Generator, spec: tuple) -> np.ndarray:
    kind = spec[0]
    if kind == "normal":
        return rng.standard_normal(spec[1])
    if kind == "distinct":
        n = int(np.prod(spec[1]))
        return ((rng.permutation(n) - n / 2 + 0.5) * 0.1 + rng.uniform(-0.02, 0.02, n)).reshape(spec[1])
    if kind == "positive":
        return rng.uniform(0.3, 2.0, spec[1])
    if kind == "ints":
        return rng.integers(0, spec[2], spec[1]).astype(spec[3])
    if kind == "mask":
        return rng.random(spec[1]) < 0.5
    if kind == "const":
        return spec[1].copy()
    raise ValueError(kind)  # pragma: no cover


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode())


def case_inputs(case: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed_of(case["name"]))
    return {k: make_input(rng, spec) for k, spec in case["inputs"].items()}


# --------------------------------------------------------------------------- cases
CASES: list[dict[str, Any]] = []


def case(name: str, fn: Callable[..., Any], const_inputs: tuple[str, ...] = (), **inputs: tuple) -> None:
    """A case: ``fn(m, **tensors)``; float inputs require grad unless named in ``const_inputs``."""
    CASES.append(dict(name=name, fn=fn, inputs=inputs, const=const_inputs))


# ---- math
case("where", lambda m, c, x, y: m.where(c, x, y), c=mask(3, 4), x=normal(3, 4), y=normal(1, 4))
case("where_scalar", lambda m, c, x: m.where(c, x, 0.5), c=mask(3, 4), x=normal(3, 4))
case("where_method", lambda m, c, x, y: x.where(c, y), c=mask(4), x=normal(2, 4), y=normal(2, 4))
case("clamp_scalars", lambda m, x: m.clamp(x, -0.5, 0.7), x=distinct(4, 5))
case("clamp_min_only", lambda m, x: x.clamp(min=0.2), x=distinct(4, 5))
case("clip_max_only", lambda m, x: m.clip(x, max=0.1), x=distinct(4, 5))
case("clamp_tensor_bounds", lambda m, x, lo, hi: m.clamp(x, lo, hi), x=distinct(3, 4),
     lo=const([-0.5, -0.3, 0.1, -1.0]), hi=const([[0.4], [0.6], [0.2]]))
case("clamp_int_float_bound", lambda m, x: m.clamp(x, min=1.5), x=ints(5, 6))
case("clamp_int", lambda m, x: x.clamp(1, 3), x=ints(5, 6))
case("clamp_inplace", lambda m, x: (x * 1).clamp_(-0.3, 0.3), x=distinct(3, 4))
case("sqrt", lambda m, x: m.sqrt(x), x=positive(3, 4))
case("sqrt_int", lambda m, x: x.sqrt(), x=ints(9, 5))
case("rsqrt", lambda m, x: m.rsqrt(x), x=positive(3, 4))
case("pow_scalar", lambda m, x: m.pow(x, 3), x=normal(3, 4))
case("pow_tensor", lambda m, x, y: x.pow(y), x=positive(3, 4), y=normal(4))
case("pow_number_base", lambda m, y: m.pow(2.0, y), y=normal(5))
case("abs", lambda m, x: m.abs(x), x=distinct(3, 4))
case("sign", lambda m, x: m.sign(x), x=distinct(3, 4))
case("sign_int", lambda m, x: (x - 2).sign(), x=ints(5, 6))
case("exp", lambda m, x: m.exp(x), x=normal(3, 4))
case("log", lambda m, x: m.log(x), x=positive(3, 4))
case("log1p", lambda m, x: m.log1p(x), x=positive(3, 4))
case("sin", lambda m, x: m.sin(x), x=normal(3, 4))
case("cos", lambda m, x: x.cos(), x=normal(3, 4))
case("floor", lambda m, x: m.floor(x * 3), x=distinct(3, 4))
case("ceil", lambda m, x: (x * 3).ceil(), x=distinct(3, 4))
case("round", lambda m, x: m.round(x * 3), x=distinct(3, 4))
case("round_half_even", lambda m, x: x.round(), x=const([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49]))
case("round_decimals", lambda m, x: m.round(x, decimals=2), x=distinct(3, 4))
case("maximum", lambda m, x, y: m.maximum(x, y), x=distinct(3, 4), y=distinct(4))
case("minimum", lambda m, x, y: x.minimum(y), x=distinct(3, 4), y=distinct(3, 1))
case("maximum_ties", lambda m, x, y: m.maximum(x, y), x=const([1.0, 2.0, 3.0]), y=const([1.0, 0.0, 3.0]))
case("sigmoid", lambda m, x: m.sigmoid(x), x=normal(3, 4))
case("tanh", lambda m, x: m.tanh(x), x=normal(3, 4))
case("relu", lambda m, x: m.relu(x), x=distinct(3, 4))
case("softmax", lambda m, x: m.softmax(x, 0), x=normal(3, 4))
case("softmax_method", lambda m, x: x.softmax(dim=-1), x=normal(2, 3, 4))
case("log_softmax", lambda m, x: m.log_softmax(x, dim=-1), x=normal(3, 4))
case("add_alpha", lambda m, x, y: m.add(x, y, alpha=2.5), x=normal(3, 4), y=normal(4))
case("sub_alpha", lambda m, x, y: x.sub(y, alpha=-0.5), x=normal(3, 4), y=normal(3, 1))
case("mul", lambda m, x, y: m.mul(x, y), x=normal(3, 4), y=normal(4))
case("div", lambda m, x, y: m.div(x, y), x=normal(3, 4), y=positive(4))
case("div_trunc", lambda m, x, y: m.div(x * 4, y, rounding_mode="trunc"), x=distinct(3, 4), y=positive(4))
case("div_floor", lambda m, x, y: x.div(y, rounding_mode="floor"), x=distinct(3, 4), y=const([0.7, -0.9, 1.3, -0.4]))
case("div_int_trunc", lambda m, x: m.div(x - 10, 3, rounding_mode="trunc"), x=ints(20, 8))
case("div_int_floor", lambda m, x: m.div(x - 10, -3, rounding_mode="floor"), x=ints(20, 8))
case("inplace_add_alpha", lambda m, x, y: (x * 1).add_(y, alpha=3), x=normal(3, 4), y=normal(4))
case("inplace_sub_mul", lambda m, x, y: (x * 1).sub_(y, alpha=2).mul_(y), x=normal(3, 4), y=normal(4))
case("inplace_div_floor", lambda m, x, y: (x * 5).div_(y, rounding_mode="floor"), x=distinct(3, 4), y=positive(4))
case("matmul_batched", lambda m, x, y: m.matmul(x, y), x=normal(2, 3, 4), y=normal(4, 5))
case("matmul_vec", lambda m, x, y: x.matmul(y), x=normal(3, 4), y=normal(4))
case("mm", lambda m, x, y: m.mm(x, y), x=normal(3, 4), y=normal(4, 2))
case("bmm", lambda m, x, y: x.bmm(y), x=normal(2, 3, 4), y=normal(2, 4, 2))
case("dot", lambda m, x, y: m.dot(x, y), x=normal(5), y=normal(5))
case("outer", lambda m, x, y: m.outer(x, y), x=normal(3), y=normal(4))
case("einsum_mm", lambda m, x, y: m.einsum("ij,jk->ik", x, y), x=normal(3, 4), y=normal(4, 2))
case("einsum_bmm", lambda m, x, y: m.einsum("bij,bjk->bik", x, y), x=normal(2, 3, 4), y=normal(2, 4, 2))
case("einsum_outer", lambda m, x, y: m.einsum("i,j->ij", x, y), x=normal(3), y=normal(4))
case("einsum_full", lambda m, x, y: m.einsum("ij,ij->", x, y), x=normal(3, 4), y=normal(3, 4))
case("einsum_transpose", lambda m, x: m.einsum("ij->ji", x), x=normal(3, 4))
case("einsum_sum_out", lambda m, x: m.einsum("ijk->k", x), x=normal(2, 3, 4))
case("einsum_ellipsis", lambda m, x, y: m.einsum("...ij,...jk->...ik", x, y), x=normal(2, 3, 4), y=normal(2, 4, 5))
case("einsum_three", lambda m, x, y, z: m.einsum("ij,jk,kl->il", x, y, z), x=normal(2, 3), y=normal(3, 4),
     z=normal(4, 2))
case("einsum_implicit", lambda m, x, y: m.einsum("ij,jk", x, y), x=normal(3, 4), y=normal(4, 2))
case("einsum_bilinear", lambda m, x, w, y: m.einsum("bi,oij,bj->bo", x, w, y), x=normal(2, 3), w=normal(4, 3, 5),
     y=normal(2, 5))
case("einsum_list", lambda m, x, y: m.einsum("ik,jk->ij", [x, y]), x=normal(3, 4), y=normal(2, 4))

# ---- reductions
case("var_default", lambda m, x: m.var(x), x=normal(3, 4))
case("var_dims_keepdim", lambda m, x: x.var((0, 2), keepdim=True, correction=0), x=normal(2, 3, 4))
case("var_unbiased_false", lambda m, x: m.var(x, 1, unbiased=False), x=normal(3, 4))
case("std_correction", lambda m, x: m.std(x, dim=-1, correction=2), x=normal(3, 5))
case("std_all", lambda m, x: x.std(), x=normal(3, 4))
case("var_mean", lambda m, x: m.var_mean(x, 0), x=normal(3, 4))
case("prod_all", lambda m, x: m.prod(x), x=normal(2, 3))
case("prod_dim_zero", lambda m, x: x.prod(1, keepdim=True), x=const([[1.5, 0.0, 2.0, -1.0], [0.0, 0.0, 3.0, 2.0],
                                                                   [0.5, -2.0, 1.0, 1.5]]))
case("prod_int", lambda m, x: x.prod(0), x=ints(4, 3, 2, dtype="int32"))
case("cumsum", lambda m, x: m.cumsum(x, -1), x=normal(3, 4))
case("cumsum_dim0", lambda m, x: x.cumsum(dim=0), x=normal(3, 4))
case("cumsum_uint8", lambda m, x: x.cumsum(0), x=ints(200, 6, dtype="uint8"))
case("sum_int32", lambda m, x: x.sum(), x=ints(100, 6, dtype="int32"))
case("sum_bool", lambda m, c: c.sum(0), c=mask(3, 4))
case("sum_dtype", lambda m, x: x.sum(dtype=m.float64), x=ints(9, 4))
case("sum_dtype_float32_input", lambda m, x: m.sum(x.float(), 1, dtype=m.float64), x=normal(3, 4))
case("norm_fro", lambda m, x: m.norm(x), x=normal(3, 4))
case("norm_p3_dim", lambda m, x: x.norm(p=3, dim=1, keepdim=True), x=normal(3, 4))
case("norm_1_dims", lambda m, x: m.norm(x, 1, (0, 2)), x=distinct(2, 3, 4))
case("logsumexp", lambda m, x: m.logsumexp(x, 1), x=normal(3, 4))
case("logsumexp_dims", lambda m, x: x.logsumexp((0, -1), keepdim=True), x=normal(2, 3, 4))
case("logsumexp_large", lambda m, x: m.logsumexp(x * 1000, 0), x=normal(3, 4))
case("any_all", lambda m, c: (m.any(c), c.all(0), c.any(1, keepdim=True), m.all(c, -1)), c=mask(3, 4))
case("any_float", lambda m, x: (x.any(), m.all(x, 1)), x=const([[0.0, 1.0], [0.0, 0.0]]))
case("count_nonzero", lambda m, x: (m.count_nonzero(x), x.count_nonzero(0), m.count_nonzero(x, (0, 1))),
     x=ints(3, 4, 5))
case("sort", lambda m, x: m.sort(x), x=distinct(3, 5))
case("sort_desc_dim0", lambda m, x: x.sort(0, descending=True), x=distinct(4, 3))
case("sort_ties", lambda m, x: m.sort(x, stable=True), x=const([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0, 2.0]]))
case("sort_ties_desc", lambda m, x: x.sort(descending=True), x=const([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0, 2.0]]))
case("argsort", lambda m, x: (m.argsort(x), x.argsort(dim=0, descending=True)), x=ints(4, 3, 5))
case("topk", lambda m, x: m.topk(x, 3), x=distinct(3, 6))
case("topk_smallest_dim0", lambda m, x: x.topk(2, dim=0, largest=False), x=distinct(4, 3))
case("median_all", lambda m, x: m.median(x), x=distinct(3, 5))
case("median_all_even", lambda m, x: x.median(), x=distinct(2, 3))
case("median_dim", lambda m, x: m.median(x, 1), x=distinct(3, 4))
case("median_dim_keepdim", lambda m, x: x.median(dim=0, keepdim=True), x=distinct(5, 3))
case("max_dim_ties", lambda m, x: x.max(1), x=const([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]))

# ---- shape and indexing
case("expand", lambda m, x: x.expand(2, 3, 4), x=normal(3, 1))
case("expand_minus_one", lambda m, x: x.expand(-1, 4), x=normal(3, 1))
case("expand_as", lambda m, x, y: x.expand_as(y), ("y",), x=normal(4), y=normal(3, 4))
case("repeat", lambda m, x: x.repeat(2, 1, 3), x=normal(2, 3))
case("flip", lambda m, x: m.flip(x, (0, 2)), x=normal(2, 3, 4))
case("flip_method", lambda m, x: x.flip(-1), x=normal(2, 3))
case("roll", lambda m, x: m.roll(x, 1, 0), x=normal(3, 4))
case("roll_multi", lambda m, x: x.roll((1, -2), (0, 1)), x=normal(3, 4))
case("roll_flat", lambda m, x: m.roll(x, 5), x=normal(3, 4))
case("t", lambda m, x: m.t(x), x=normal(3, 4))
case("T", lambda m, x: x.T, x=normal(3, 4))
case("mT", lambda m, x: x.mT, x=normal(2, 3, 4))
case("movedim", lambda m, x: m.movedim(x, 0, -1), x=normal(2, 3, 4))
case("movedim_multi", lambda m, x: x.movedim((0, 1), (2, 0)), x=normal(2, 3, 4))
case("swapaxes", lambda m, x: m.swapaxes(x, 0, 2), x=normal(2, 3, 4))
case("chunk", lambda m, x: m.chunk(x, 3, 1), x=normal(2, 7))
case("chunk_fewer", lambda m, x: x.chunk(4, 0), x=normal(6, 2))
case("split_size", lambda m, x: m.split(x, 2, dim=1), x=normal(2, 5))
case("split_sections", lambda m, x: x.split([1, 3, 1], 1), x=normal(2, 5))
case("unbind", lambda m, x: m.unbind(x, 1), x=normal(2, 3))
case("narrow", lambda m, x: m.narrow(x, 1, 1, 2), x=normal(2, 4))
case("narrow_negative_start", lambda m, x: x.narrow(0, -2, 2), x=normal(4, 2))
case("gather", lambda m, x, i: m.gather(x, 1, i), x=normal(3, 4), i=ints(4, 3, 5))
case("gather_smaller", lambda m, x, i: x.gather(0, i), x=normal(4, 5), i=ints(4, 2, 3))
case("scatter_src", lambda m, x, s: x.scatter(1, m.tensor([[2, 0], [1, 3], [0, 2]]), s), x=normal(3, 4),
     s=normal(3, 2))
case("scatter_value", lambda m, x: m.scatter(x, 0, m.tensor([[1, 0, 2]]), value=-1.0), x=normal(3, 3))
case("scatter_add", lambda m, x, s, i: m.scatter_add(x, 1, i, s), x=normal(3, 4), s=normal(3, 5), i=ints(4, 3, 5))
case("scatter_inplace", lambda m, x, s: (x * 1).scatter_(0, m.tensor([[2, 1, 0]]), s), x=normal(3, 3),
     s=normal(1, 3))
case("index_select", lambda m, x, i: m.index_select(x, 1, i), x=normal(3, 4), i=const(np.array([3, 0, 3, 1])))
case("index_select_dim0", lambda m, x, i: x.index_select(0, i), x=normal(3, 2), i=const(np.array([2, 2])))
case("masked_fill", lambda m, x, c: m.masked_fill(x, c, -2.0), x=normal(3, 4), c=mask(3, 4))
case("masked_fill_broadcast", lambda m, x, c: x.masked_fill(c, 0.25), x=normal(3, 4), c=mask(4))
case("masked_fill_tensor_value", lambda m, x, c, v: x.masked_fill(c, v), x=normal(3, 4), c=mask(3, 4),
     v=const(np.array(1.5)))
case("masked_fill_inplace", lambda m, x, c: (x * 1).masked_fill_(c, 0.0), x=normal(3, 4), c=mask(3, 4))
case("nonzero", lambda m, x: (m.nonzero(x), x.nonzero(as_tuple=True)), x=ints(2, 3, 4))
case("where_one_arg", lambda m, c: m.where(c), c=mask(3, 4))
case("tril", lambda m, x: m.tril(x), x=normal(4, 5))
case("tril_batched_offset", lambda m, x: x.tril(1), x=normal(2, 3, 4))
case("triu", lambda m, x: m.triu(x, -1), x=normal(4, 3))
case("diag_vector", lambda m, x: m.diag(x, 1), x=normal(3))
case("diag_matrix", lambda m, x: x.diag(-1), x=normal(4, 3))
case("view_as", lambda m, x, y: x.view_as(y), ("y",), x=normal(3, 4), y=normal(2, 6))
case("reshape_as", lambda m, x, y: x.reshape_as(y), ("y",), x=normal(3, 4), y=normal(12))
case("unsqueeze_inplace", lambda m, x: (x * 1).unsqueeze_(1), x=normal(3, 4))

# ---- creation and dtypes
case("full", lambda m: (m.full((2, 3), 1.5), m.full((2,), 7), m.full((1,), True), m.full((2,), 2, dtype=m.float64)))
case("full_like", lambda m, x: (m.full_like(x, 3), m.full_like(x, 2.5, dtype=m.float32)), ("x",), x=ints(5, 2, 3))
case("eye", lambda m: (m.eye(3), m.eye(2, 4), m.eye(3, dtype=m.int64)))
case("linspace", lambda m: (m.linspace(0, 1, 5), m.linspace(-2, 3, 7, dtype=m.float64), m.linspace(0, 10, 4,
                                                                                                    dtype=m.int64)))
case("zeros_ones_like", lambda m, x: (m.zeros_like(x), m.ones_like(x, dtype=m.int32)), ("x",), x=normal(2, 3))
case("new_zeros_tensor", lambda m, x: (x.new_zeros(2, 3), x.new_zeros((1, 2)), x.new_tensor([1, 2, 3]),
                                       x.new_ones(2), x.new_full((2,), 4.0)), ("x",), x=normal(2, 3))
case("fill_zero_", lambda m, x: ((x * 1).fill_(2.5), (x * 1).zero_()), x=normal(2, 3))
case("conversions", lambda m, x: (x.int(), x.long(), x.float(), x.double(), x.bool(), x.half()), ("x",),
     x=const([[-1.7, 0.0, 2.5], [3.9, -0.2, 1.0]]))
case("type_dtype", lambda m, x: (x.type(m.int32), x.type(m.float64)), ("x",), x=const([1.5, -2.5]))
case("dtype_names", lambda m, x: (x.to(m.int32), x.to(m.uint8), x.to(m.bool), x.to(m.float16), x.to(m.int16),
                                  x.to(m.int8)), ("x",), x=const([0.0, 1.0, 2.0, 3.0]))
case("isnan_isinf_isfinite", lambda m, x: (m.isnan(x), x.isinf(), m.isfinite(x)), ("x",),
     x=const([1.0, np.nan, np.inf, -np.inf, 0.0]))
case("isnan_int", lambda m, x: (x.isnan(), m.isfinite(x)), x=ints(3, 4))
case("allclose_equal", lambda m, x, y: (m.allclose(x, y), x.allclose(y, atol=1e-3), m.equal(x, x), x.equal(y),
                                        m.isclose(x, y, atol=1e-3)), ("x", "y"),
     x=const([1.0, 2.0, 3.0]), y=const([1.0, 2.0005, 3.0]))

# ---- non-finite values and 0-d tensors
NAN_ROW = [[2.0, np.nan, -1.0, 0.5], [np.inf, 1.0, -np.inf, 3.0]]
case("nan_sort", lambda m, x: (m.sort(x), x.sort(descending=True), x.argsort()), ("x",), x=const(NAN_ROW))
case("nan_median_topk", lambda m, x: (m.median(x, 1), x.median(), x.topk(2)), ("x",), x=const(NAN_ROW))
case("nan_clamp_maximum", lambda m, x: (x.clamp(-0.5, 0.5), m.maximum(x, x.flip(1)), m.minimum(x, x.flip(0))), ("x",),
     x=const(NAN_ROW))
case("nan_reductions", lambda m, x: (x.var(1), x.prod(1), x.cumsum(1), m.logsumexp(x, 1), x.count_nonzero(1),
                                     x.any(1), x.sign(), x.floor(), x.sqrt(), x.log1p(), x.rsqrt()), ("x",),
     x=const(NAN_ROW))
case("logsumexp_minus_inf", lambda m, x: m.logsumexp(x, 1), x=const([[-np.inf, -np.inf], [0.0, -np.inf]]))
case("zero_d", lambda m, x: (x.sort().values, x.cumsum(0), x.logsumexp(0), x.prod(), x.flip(0), x.softmax(0),
                             x.sqrt(), x.clamp(0, 1), x.std(correction=0), m.where(x > 0, x, -x), x.expand(3),
                             x.repeat(2), x.topk(1).values, x.median(0).values, x.log_softmax(0)),
     x=const(np.array(0.7)))
case("empty_reductions", lambda m, x: (x.sum(1), x.prod(1), x.logsumexp(1), x.any(1), x.all(1),
                                       x.count_nonzero(1), x.cumsum(1), x.sort(1).values), ("x",),
     x=const(np.zeros((2, 0))))


# ---- spellings and ops whose backward had no gradcheck or no stored PyTorch gradient (the gradient audit)
QUOTIENTS = np.array([[1.3, -2.6, 0.4, 2.7], [-0.5, 3.3, -1.75, 0.35], [2.45, 0.6, -3.6, -1.25]])  # 0.25+ from whole
DIVISORS = np.array([0.7, -0.9, 1.3, -0.4])  # numbers: the remainders' derivatives exist (no jump within reach)
case("remainder", lambda m, x, y: m.remainder(x, y), x=const(QUOTIENTS * DIVISORS), y=const(DIVISORS))
case("remainder_operator_scalar", lambda m, x: x % -0.7, x=const(QUOTIENTS * -0.7))
case("remainder_inplace", lambda m, x, y: (x * 1).remainder_(y), x=const(QUOTIENTS * DIVISORS), y=const(DIVISORS))
case("fmod", lambda m, x, y: m.fmod(x, y), x=const(QUOTIENTS * DIVISORS), y=const(DIVISORS))
case("fmod_scalar_inplace", lambda m, x: (x.fmod(0.7), (x * 1).fmod_(-0.7)), x=const(QUOTIENTS * 0.7))
case("trunc", lambda m, x: (m.trunc(x * 3), x.trunc()), x=distinct(3, 4))
case("square", lambda m, x: (m.square(x), x.square()), x=normal(3, 4))
case("select", lambda m, x: (m.select(x, 1, 2), x.select(0, -1)), x=normal(3, 4))
case("amin_amax", lambda m, x: (m.amin(x, 1), x.amin((0, 2), keepdim=True), m.amax(x, 0)), x=distinct(2, 3, 4))
case("take_along_dim", lambda m, x, i: (m.take_along_dim(x, i, dim=1), x.take_along_dim(i[:, :2], 1)),
     x=normal(3, 4), i=ints(4, 3, 5))
case("relu6", lambda m, x: m.nn.functional.relu6(x * 12), x=distinct(3, 4))
case("unflatten_module", lambda m, x: m.nn.Unflatten(1, (2, 3))(x), x=normal(4, 6))
case("std_mean", lambda m, x: m.std_mean(x, 1), x=normal(3, 5))
case("minimum_function", lambda m, x, y: m.minimum(x, y), x=distinct(3, 4), y=distinct(4))
case("sub_function", lambda m, x, y: (m.sub(x, y), m.subtract(x, y, alpha=2)), x=normal(3, 4), y=normal(4))
case("arithmetic_methods", lambda m, x, y: (x.true_divide(y), x.divide(y), x.mul(y), x.multiply(y), x.subtract(y),
                                            x.neg(), x.negative()), x=normal(3, 4), y=positive(4))
case("shape_functions", lambda m, x: (m.permute(x, (2, 0, 1)), m.reshape(x, (4, 6)), m.flatten(x, 1),
                                      m.squeeze(m.unsqueeze(x, 1), 1), m.moveaxis(x, 0, 2), m.swapdims(x, 0, 1)),
     x=normal(2, 3, 4))
case("tensor_split", lambda m, x: (*m.tensor_split(x, 3, 1), *x.tensor_split(2)), x=normal(4, 7))
case("fliplr_flipud", lambda m, x: (x.fliplr(), x.flipud()), x=normal(3, 4))
case("squeeze_inplace", lambda m, x: (x * 1).squeeze_(1), x=normal(3, 1, 4))
case("scatter_add_inplace", lambda m, x, s, i: (x * 1).scatter_add_(1, i, s), x=normal(3, 4), s=normal(3, 5),
     i=ints(4, 3, 5))
case("clamp_spellings", lambda m, x: (m.clamp_(x * 1, -0.3, 0.3), m.clip_(x * 2, min=-0.4), x.clip(-0.3, 0.3)),
     x=distinct(3, 4))
case("cast_roundtrip", lambda m, x: (x.float().double() * 2, x.half().to(m.float64), x.float().type_as(x),
                                     x.type(m.float32).double()), x=normal(3, 4))
for _name in ("abs_", "neg_", "cos_", "sin_", "exp_", "tanh_", "sigmoid_", "relu_", "square_", "floor_", "ceil_",
              "round_", "trunc_", "sign_", "tril_", "triu_"):  # distinct: no value at a kink or jump
    case(f"inplace_{_name}", lambda m, x, name=_name: getattr(x * 1, name)(), x=distinct(3, 4))
for _name in ("sqrt_", "rsqrt_", "log_", "log1p_"):
    case(f"inplace_{_name}", lambda m, x, name=_name: getattr(x * 1, name)(), x=positive(3, 4))
case("inplace_pow_", lambda m, x: (x * 1).pow_(3), x=normal(3, 4))

# --------------------------------------------------------------------------- running a case
def to_array(value) -> np.ndarray:
    """A NumPy copy of a tensor from either framework, or of a Python bool/number."""
    if hasattr(value, "detach"):
        return np.array(value.detach().numpy())
    return np.array(value)


def upstream(seed: int, index: int, shape) -> np.ndarray:
    return np.random.default_rng([seed, index]).standard_normal(tuple(shape))


def run_case(m, spec: dict, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run a case on framework ``m``: its outputs, and the gradients of its float inputs."""
    tensors = {}
    for name, arr in arrays.items():
        grad = arr.dtype.kind == "f" and name not in spec["const"]
        tensors[name] = m.tensor(arr, requires_grad=grad)
    out = spec["fn"](m, **tensors)
    outs = list(out) if isinstance(out, tuple) else [out]
    res = {f"out:{i}": to_array(o) for i, o in enumerate(outs)}
    loss = None
    seed = seed_of(spec["name"])
    for i, o in enumerate(outs):
        if getattr(o, "requires_grad", False):
            term = (o * m.tensor(upstream(seed, i, o.shape))).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
        for name, t in tensors.items():
            if t.requires_grad and t.grad is not None:
                res[f"grad:{name}"] = to_array(t.grad)
    return res


# --------------------------------------------------------------------------- file
def case_names() -> list[str]:
    return [c["name"] for c in CASES]


def main(new_only: bool = False) -> None:
    """Write everyday.npz; ``new_only`` (``--new-only``): run only the cases it lacks and keep the rest as stored."""
    import torch

    warn_if_other_torch(torch.__version__, TORCH_VERSION)
    torch.set_default_dtype(torch.float32)
    path = os.path.join(HERE, "everyday.npz")
    stored: dict[str, np.ndarray] = {}
    if new_only:
        with np.load(path, allow_pickle=False) as npz:
            stored = {k: npz[k] for k in npz.files}
    out: dict[str, np.ndarray] = {}
    for spec in CASES:
        if f"{spec['name']}:out:0" in stored:
            continue
        arrays = case_inputs(spec)
        for k, v in arrays.items():
            out[f"{spec['name']}:in:{k}"] = v
        for k, v in run_case(torch, spec, arrays).items():
            out[f"{spec['name']}:{k}"] = v
    out["cases"] = json_array(case_names())
    out["meta"] = meta_array(torch.__version__)
    if new_only:  # the stored cases' arrays are kept as they are; only the new cases' are added
        out = {**out, **stored, "cases": out["cases"]}
    write_npz(path, out)


if __name__ == "__main__":
    import sys

    main(new_only="--new-only" in sys.argv[1:])
