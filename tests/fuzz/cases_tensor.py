"""Tensor ops: elementwise math, binary arithmetic and comparisons, matrix products, reductions.

Gradient variants run in float64 on tie-free inputs away from kinks (``distinct``), so that the gradient is
defined; value variants use every dtype, 0-d tensors, Python scalars, empty shapes and non-finite values.
"""
from __future__ import annotations

import functools

import numpy as np

from .core import Case
from .draw import FLOATS, broadcast_partner, chance, dim_of, pick, python_scalar, shape, upstream, values
from .registry import backward, generator

# op: (input kind for gradients, has an in-place form)
UNARY = {
    "sqrt": "positive", "rsqrt": "positive", "abs": "distinct", "sign": "distinct", "exp": "unit",
    "log": "positive", "log1p": "positive", "sin": "normal", "cos": "normal", "floor": "distinct",
    "ceil": "distinct", "round": "distinct", "trunc": "distinct", "sigmoid": "normal", "tanh": "normal",
    "relu": "distinct", "neg": "normal", "square": "normal",
}


@generator("math", weight=2)
def unary_math(rng):
    op = pick(rng, list(UNARY))
    mode = pick(rng, ("fn", "method", "inplace", "grad", "grad"))
    if mode == "grad":
        dtype = "float64"
    else:
        dtype = pick(rng, ("float32", "float64", "float16", "int64", "int32", "uint8", "bool"))
    if op == "relu" and dtype == "bool":
        dtype = "float32"  # torch's relu refuses bool tensors on CPU with an internal error
    nonfinite = 0.2 if dtype in FLOATS and mode != "grad" and chance(rng, 0.3) else 0.0
    kind = UNARY[op] if mode == "grad" or chance(rng, 0.5) else "normal"
    sh = shape(rng, zero=0.1 if mode != "grad" else 0.0)
    x = values(rng, sh, dtype, kind, nonfinite)
    decimals = int(rng.integers(-1, 3)) if op == "round" and chance(rng, 0.3) else None
    g = upstream(rng, sh)

    def program(fw, inp):
        kw = {"decimals": decimals} if decimals is not None else {}
        if mode == "grad":
            t = fw.t(inp["x"], requires_grad=True)
            out = getattr(fw.lib, op)(t, **kw)
            return out, backward(fw, out, inp["g"], t)
        t = fw.t(inp["x"])
        if mode == "fn":
            return getattr(fw.lib, op)(t, **kw)
        if mode == "method":
            return getattr(t, op)(**kw)
        y = t.clone()
        res = getattr(y, op + "_")(**kw)
        return y, res is y

    return Case(program, {"x": x, "g": g}, f"{op} {mode} {dtype} {sh}")


BINARY = ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge")
OPERATORS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "eq": "==", "ne": "!=", "lt": "<",
             "le": "<=", "gt": ">", "ge": ">="}


def _operand(rng, base, dtype, form, kind="normal"):
    if form == "tensor":
        return values(rng, broadcast_partner(rng, base), dtype, kind)
    if form == "0d":
        return values(rng, (), dtype, kind)
    return python_scalar(rng)


@generator("math", weight=3)
def binary_arith(rng):
    op = pick(rng, BINARY)
    mode = pick(rng, ("operator", "reflected", "fn", "method", "method", "grad"))
    base = shape(rng, zero=0.05)
    if mode == "grad":
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            op = "mul"
        da = db = "float64"
        form = pick(rng, ("tensor", "tensor", "0d"))
    else:
        da = pick(rng, ("float32", "float64", "float16", "int64", "int32", "uint8", "bool"))
        db = pick(rng, ("float32", "float64", "int64", "int32", "uint8", "bool"))
        form = pick(rng, ("tensor", "0d", "scalar"))
        if mode == "reflected" and op in ("maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"):
            mode = "operator"
        if mode == "reflected":
            form = "scalar"
    kind_a = "distinct" if op in ("maximum", "minimum") else ("positive" if op == "pow" else "normal")
    a = values(rng, base, da, kind_a if mode == "grad" or chance(rng, 0.6) else "normal",
               nonfinite=0.15 if mode != "grad" and da in FLOATS and chance(rng, 0.2) else 0.0)
    b = _operand(rng, base, db, form, "distinct" if op in ("maximum", "minimum", "div") else "unit")
    if op == "pow" and mode == "reflected" and da not in FLOATS + ("float16",):
        # an integer to a negative integer power raises here, where PyTorch gives 0, 1 or -1 (README, "Differences")
        a = np.abs(a)
    if op == "pow":  # integers to negative integer powers raise in torch: keep exponents >= 0 for int bases
        if isinstance(b, np.ndarray):
            b = np.asarray(np.abs(b)) if b.dtype != np.bool_ else b
        elif not isinstance(b, bool):
            b = abs(b)
    if op in ("maximum", "minimum") and form == "scalar":
        form, b = "0d", np.asarray(values(rng, (), db, "distinct"))
    alpha = python_scalar(rng, ("int", "float")) if op in ("add", "sub") and mode in ("fn", "method") \
        and chance(rng, 0.3) else None
    if alpha is not None and isinstance(alpha, float) and (da not in FLOATS + ("float16",)):
        alpha = int(alpha)  # torch refuses a float alpha for integer tensors
    mode_div = pick(rng, ("trunc", "floor")) if op == "div" and mode in ("fn", "method") and chance(rng, 0.4) \
        else None
    if mode_div and isinstance(b, np.ndarray):
        b = np.where(b == 0, np.ones_like(b), b)  # integer division by zero raises in torch
    elif mode_div and not isinstance(b, np.ndarray) and b == 0:
        b = 2
    g = None
    if mode == "grad":
        g = True

    def program(fw, inp):
        req = mode == "grad"
        x = fw.t(inp["a"], requires_grad=req)
        y = fw.t(inp["b"], requires_grad=req) if isinstance(inp["b"], np.ndarray) else inp["b"]
        kw = {}
        if alpha is not None:
            kw["alpha"] = alpha
        if mode_div is not None:
            kw["rounding_mode"] = mode_div
        if mode in ("operator", "grad") and op in OPERATORS:
            out = eval(f"x {OPERATORS[op]} y")  # noqa: S307 - the operator under test
        elif mode == "reflected":
            out = eval(f"y {OPERATORS[op]} x")  # noqa: S307
        elif mode == "method":
            out = getattr(x, op)(y, **kw)
        else:
            out = getattr(fw.lib, op)(x, y, **kw)
        if not req:
            return out
        up = np.resize(inp["up"], tuple(out.shape)) if out.numel() else np.zeros(tuple(out.shape))
        return out, backward(fw, out, up, x, y)

    inputs = {"a": a, "b": b}
    if g:
        inputs["up"] = upstream(rng, (64,))
    return Case(program, inputs, f"{op} {mode} {da}/{db} {form} {base}")


@generator("math")
def where_clamp(rng):
    op = pick(rng, ("where", "where_method", "clamp", "clamp_tensor", "clip_", "clamp_min", "clamp_max"))
    grad = chance(rng, 0.4)
    base = shape(rng, zero=0.05)
    da = "float64" if grad else pick(rng, ("float32", "float64", "int64", "int32", "uint8"))
    x = values(rng, base, da, "distinct")
    cond = values(rng, broadcast_partner(rng, base), "bool")
    if grad:
        other = values(rng, broadcast_partner(rng, base), "float64")
    else:
        other = pick(rng, (values(rng, broadcast_partner(rng, base), pick(rng, ("float32", "float64", "int64"))),
                           values(rng, (), pick(rng, ("float64", "int64", "float32"))), python_scalar(rng)))
    lo = pick(rng, (None, -0.55, -1, 0))
    hi = pick(rng, (None, 0.45, 1, 2)) if lo is not None else pick(rng, (0.45, 1))
    up = upstream(rng, (64,))

    def program(fw, inp):
        t = fw.t(inp["x"], requires_grad=grad)
        o = fw.t(inp["o"], requires_grad=grad) if isinstance(inp["o"], np.ndarray) else inp["o"]
        c = fw.t(inp["c"])
        leaves = [t] + ([o] if grad and op.startswith("where") else [])
        if op == "where":
            out = fw.lib.where(c, t, o)
        elif op == "where_method":
            out = t.where(c, o)
        elif op == "clamp":
            out = fw.lib.clamp(t, min=lo, max=hi)
        elif op == "clamp_tensor":
            bound = fw.t(inp["x"] * 0 + 0.25).to(t.dtype) if isinstance(inp["o"], np.ndarray) else None
            out = t.clamp(min=bound, max=hi)
        elif op == "clip_":
            out = (t * 1).clip_(lo, hi)
        elif op == "clamp_min":
            out = t.clamp_min(lo if lo is not None else 0)
        else:
            out = t.clamp_max(hi)
        if not grad:
            return out
        return out, backward(fw, out, np.resize(inp["up"], tuple(out.shape)), *leaves)

    return Case(program, {"x": x, "o": other, "c": cond, "up": up}, f"{op} {da} {base} grad={grad}")


@generator("math")
def matmul_family(rng):
    op = pick(rng, ("matmul", "operator", "mm", "bmm", "dot", "outer", "einsum"))
    grad = chance(rng, 0.5)
    dtype = "float64" if grad else pick(rng, ("float32", "float64", "int64"))
    n, k, m, b = (int(v) for v in rng.integers(1, 5, 4))
    if op in ("matmul", "operator"):
        sa, sb = pick(rng, (((k,), (k,)), ((n, k), (k,)), ((k,), (k, m)), ((n, k), (k, m)), ((b, n, k), (k, m)),
                            ((b, n, k), (b, k, m)), ((1, n, k), (b, k, m)), ((k,), (b, k, m)),
                            ((2, b, n, k), (b, k, m))))
    elif op == "mm":
        sa, sb = (n, k), (k, m)
    elif op == "bmm":
        sa, sb = (b, n, k), (b, k, m)
    elif op == "dot":
        sa, sb = (k,), (k,)
    elif op == "outer":
        sa, sb = (n,), (m,)
    else:
        eq, sa, sb = pick(rng, (("ij,jk->ik", (n, k), (k, m)), ("bij,bjk->bik", (b, n, k), (b, k, m)),
                                ("i,i->", (k,), (k,)), ("ij,j->i", (n, k), (k,)), ("i,j->ij", (n,), (m,)),
                                ("...ij,...jk", (b, n, k), (b, k, m)), ("ij->ji", (n, k), None),
                                ("ij->", (n, k), None), ("ij,kj->ik", (n, k), (m, k))))
    a = values(rng, sa, dtype)
    bb = values(rng, sb, dtype) if sb is not None else None
    equation = eq if op == "einsum" else None
    up = upstream(rng, (64,))

    def program(fw, inp):
        x = fw.t(inp["a"], requires_grad=grad)
        y = fw.t(inp["b"], requires_grad=grad) if inp["b"] is not None else None
        if op == "operator":
            out = x @ y
        elif op == "einsum":
            out = fw.lib.einsum(equation, x, y) if y is not None else fw.lib.einsum(equation, x)
        else:
            out = getattr(fw.lib, op)(x, y)
        if not grad:
            return out
        return out, backward(fw, out, np.resize(inp["up"], tuple(out.shape)), *[v for v in (x, y) if v is not None])

    return Case(program, {"a": a, "b": bb, "up": up}, f"{op} {sa} {sb} {dtype} grad={grad}")


# mean takes floats only: of an integer tensor it is float64 here where PyTorch raises (README, "Differences from
# PyTorch"); max/min take one int dim, not a second tensor (same list)
# op: (dtypes it takes, how the dim is given: "int", "tuple", "opt" (int or None), "opt_tuple", "none")
REDUCTIONS = {
    "sum": ("any", "opt_tuple"), "mean": ("float", "opt_tuple"), "prod": ("any", "opt"),
    "amax": ("num", "opt_tuple"), "amin": ("num", "opt_tuple"), "max": ("num", "opt"), "min": ("num", "opt"),
    "argmax": ("num", "opt"), "argmin": ("num", "opt"), "var": ("float", "opt_tuple"), "std": ("float", "opt_tuple"),
    "logsumexp": ("float", "tuple"), "norm": ("float", "opt"), "any": ("any", "opt"), "all": ("any", "opt"),
    "count_nonzero": ("any", "opt_tuple"), "cumsum": ("any", "int"), "median": ("num", "opt"),
    "sort": ("num", "int"), "argsort": ("num", "int"), "topk": ("num", "int"), "softmax": ("float", "int"),
    "log_softmax": ("float", "int"),
}
DIFFERENTIABLE = {"sum", "mean", "prod", "amax", "amin", "max", "min", "var", "std", "logsumexp", "norm", "cumsum",
                  "median", "sort", "topk", "softmax", "log_softmax"}


@generator("reduction", weight=3)
def reduction(rng):
    op = pick(rng, list(REDUCTIONS))
    takes, how = REDUCTIONS[op]
    grad = op in DIFFERENTIABLE and chance(rng, 0.4)
    if grad:
        dtype = "float64"
    elif takes == "float":
        dtype = pick(rng, ("float32", "float64", "float16"))
    elif takes == "num":
        dtype = pick(rng, ("float32", "float64", "int64", "int32", "uint8"))
    else:
        dtype = pick(rng, ("float32", "float64", "int64", "int32", "uint8", "bool"))
    sh = shape(rng, zero=0.0 if grad else 0.1)
    ties = op in ("sort", "argsort") and chance(rng, 0.3)
    kind = "distinct" if not ties else "normal"
    x = values(rng, sh, dtype, kind, nonfinite=0.2 if not grad and dtype in FLOATS and chance(rng, 0.2) else 0.0)
    if kind == "distinct" and dtype in ("int64", "int32", "uint8") and op in ("max", "min", "argmax", "argmin",
                                                                            "median", "sort", "argsort", "topk"):
        # which of equal values an index names is unspecified in PyTorch (README, "Differences"): no ties
        x = rng.permutation(max(int(np.prod(sh)), 1))[: int(np.prod(sh))].reshape(sh).astype(dtype)
    if ties:
        x = np.round(x).astype(dtype)
    nd = len(sh)
    dim = None
    if how == "int" or (how in ("opt", "opt_tuple") and chance(rng, 0.7)) or how == "tuple":
        dim = dim_of(rng, nd)
        if how in ("tuple", "opt_tuple") and nd >= 2 and chance(rng, 0.4):
            dims = sorted(rng.choice(nd, size=int(rng.integers(1, nd + 1)), replace=False).tolist())
            dim = tuple(d - nd if chance(rng, 0.3) else d for d in dims)
    keepdim = chance(rng, 0.4)
    extra: dict = {}
    if op in ("var", "std"):
        extra = pick(rng, ({}, {"correction": int(rng.integers(0, 3))}, {"unbiased": chance(rng, 0.5)}))
        if grad and extra.get("correction", 0) > 1:
            # no degrees of freedom left (correction >= count) makes the gradient infinite: its signs differ from
            # PyTorch's (README, "Differences from PyTorch"), the value agrees; gradients use corrections 0 and 1
            extra = {"correction": 1}
    elif op == "norm":
        extra = {"p": pick(rng, (2, 1, 3, float("inf"), "fro"))}
        if extra["p"] == "fro" and (dim is None or not isinstance(dim, tuple)):
            extra["p"] = 2
    elif op == "sort":
        extra = {"descending": chance(rng, 0.5)}
        if ties:
            extra["stable"] = True
    elif op == "argsort":
        extra = {"descending": chance(rng, 0.5)}
        if ties:
            extra["stable"] = True
    elif op == "topk":
        size = sh[dim] if nd else 1
        extra = {"k": int(rng.integers(0, size + 1)), "largest": chance(rng, 0.5)}
    elif op == "sum" and dtype != "bool" and chance(rng, 0.2):
        extra = {"dtype": pick(rng, ("float64", "int64", "float32"))}
    elif op == "cumsum" and chance(rng, 0.2):
        extra = {"dtype": pick(rng, ("float64", "int64"))}
    form = pick(rng, ("method", "fn"))
    up = upstream(rng, (128,))

    def program(fw, inp):
        t = fw.t(inp["x"], requires_grad=grad)
        kw = dict(extra)
        if "dtype" in kw:
            kw["dtype"] = fw.dtype(kw["dtype"])
        fn = getattr(t, op) if form == "method" else functools.partial(getattr(fw.lib, op), t)
        args: list = []
        if op == "topk":
            args = [kw.pop("k")]
        if dim is not None:
            kw["dim"] = dim
            if op not in ("cumsum", "sort", "argsort", "topk", "softmax", "log_softmax", "count_nonzero"):
                kw["keepdim"] = keepdim
        out = fn(*args, **kw)
        if not grad:
            return out
        first = out[0] if isinstance(out, tuple) else out
        return out, backward(fw, first, np.resize(inp["up"], tuple(first.shape)), t)

    return Case(program, {"x": x, "up": up}, f"{op} {form} {dtype} {sh} dim={dim} {extra} grad={grad}")
