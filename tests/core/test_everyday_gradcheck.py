"""Finite-difference gradient checks (float64, random upstream gradient) of every differentiable everyday op.

The cases are those of tests/reference/make_everyday_references.py (whose results PyTorch's are compared with in
test_everyday_parity.py): each case's function is checked w.r.t. every float input that requires grad, over all of
its float outputs at once: every case for which PyTorch gives an input gradient.  Left out here, and compared with
PyTorch's gradients only: cases built on ties, on the jumps of round or on -inf rows (a tie has no derivative:
nudging one of two equal values moves the index PyTorch's rule picks), and one that computes in float32 (too coarse
for differences).
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest
from mt_core_helpers import reference

import minitorch as mt

MER = importlib.import_module("make_everyday_references")
GC = dict(atol=1e-7, rtol=1e-6)
LEFT_OUT = {"maximum_ties", "sort_ties", "sort_ties_desc", "max_dim_ties", "round_half_even", "sum_dtype_float32_input",
            "logsumexp_minus_inf", "cast_roundtrip"}  # the last two compute in float32/float16: see test_casts below


def has_gradients(name: str) -> bool:
    """Whether PyTorch gave the case an input gradient (stored in everyday.npz)."""
    return any(k.startswith(name + ":grad:") for k in reference("everyday"))


CASES = [s for s in MER.CASES if has_gradients(s["name"]) and s["name"] not in LEFT_OUT]


def float_outputs(out) -> mt.Tensor:
    """The case's float outputs flattened into one tensor (what gradcheck differentiates)."""
    outs = list(out) if isinstance(out, tuple) else [out]
    floats = [o.reshape(-1) for o in outs if isinstance(o, mt.Tensor) and o.dtype.kind == "f"]
    return floats[0] if len(floats) == 1 else mt.cat(floats)


@pytest.mark.parametrize("name", [s["name"] for s in CASES])
def test_gradcheck(name):
    spec = next(s for s in CASES if s["name"] == name)
    arrays = MER.case_inputs(spec)
    names = list(arrays)
    tensors = [mt.tensor(arrays[k], requires_grad=arrays[k].dtype.kind == "f" and k not in spec["const"])
               for k in names]
    fn = lambda *ts: float_outputs(spec["fn"](mt, **dict(zip(names, ts, strict=True))))  # noqa: E731
    assert mt.gradcheck(fn, tensors, **GC)


def test_the_cases_cover_every_differentiable_family():
    covered = {s["name"] for s in CASES}
    for name in ["where", "clamp_tensor_bounds", "sqrt", "rsqrt", "pow_tensor", "log1p", "sin", "cos", "maximum",
                 "softmax", "log_softmax", "add_alpha", "div_floor", "mm", "bmm", "dot", "outer", "einsum_three",
                 "einsum_ellipsis", "var_dims_keepdim", "std_correction", "prod_dim_zero", "cumsum", "norm_p3_dim",
                 "logsumexp_dims", "sort", "topk", "median_all", "median_dim", "expand", "repeat", "flip", "roll",
                 "movedim_multi", "chunk", "split_sections", "unbind", "narrow", "gather", "scatter_src",
                 "scatter_add", "index_select", "masked_fill_tensor_value", "tril", "triu", "diag_vector",
                 "diag_matrix", "unsqueeze_inplace", "clamp_inplace", "masked_fill_inplace", "scatter_inplace",
                 "remainder", "remainder_operator_scalar", "remainder_inplace", "fmod", "fmod_scalar_inplace", "trunc",
                 "square", "select", "amin_amax", "take_along_dim", "relu6", "unflatten_module", "std_mean",
                 "minimum_function", "sub_function", "arithmetic_methods", "shape_functions", "tensor_split",
                 "fliplr_flipud", "squeeze_inplace", "scatter_add_inplace", "clamp_spellings", "inplace_abs_",
                 "inplace_relu_", "inplace_sqrt_", "inplace_log_", "inplace_pow_", "inplace_tril_"]:
        assert name in covered, name


def test_gradcheck_catches_a_wrong_gradient():
    """The check can fail: a Where op whose backward ignores the condition is caught."""
    from minitorch.ops.math import Where
    from minitorch.tensor import apply

    class WrongWhere(Where):
        __slots__ = ()

        def backward(self, g):
            return g, g

    c = np.array([True, False, True])
    x, y = (mt.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True) for _ in range(2))
    with pytest.raises(mt.GradcheckError):
        mt.gradcheck(lambda a, b: apply(WrongWhere(c), a, b), [x, y], **GC)


@pytest.mark.parametrize("cast", ["float", "half"])
def test_casts(cast):
    """A cast to float32 or float16 and back passes the gradient through, as float64.  Central differences through
    the narrow dtype are only good to its rounding (~1e-7 or ~1e-3 of a value) over ``eps``: the step is wide and the
    tolerance loose, yet a dropped, scaled or misplaced gradient still fails (PyTorch's exact gradients are compared
    in test_everyday_parity.py, case cast_roundtrip)."""
    x = mt.tensor(np.random.default_rng(5).uniform(-2, 2, (3, 4)), requires_grad=True)
    eps, tol = (1e-2, 1e-4) if cast == "float" else (0.25, 1e-2)
    assert mt.gradcheck(lambda t: getattr(t, cast)().double() * 3, [x], eps=eps, atol=tol, rtol=tol)
    assert x.grad.dtype == np.float64
