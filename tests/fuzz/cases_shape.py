"""Shape ops, gather/scatter, indexing (basic, advanced, boolean; get and set), in-place ops, creation, dtypes.

Index lists used to *set* values have no repeats (which value wins is unspecified in PyTorch); index lists
used to *get* may repeat, and their gradient accumulates.
"""
from __future__ import annotations

import numpy as np

from .core import Case
from .draw import FLOATS, broadcast_partner, chance, dim_of, pick, python_scalar, shape, upstream, values
from .registry import backward, generator

SHAPE_OPS = ("reshape", "view", "flatten", "transpose", "permute", "squeeze", "unsqueeze", "expand", "repeat", "flip",
             "roll", "t", "T", "mT", "movedim", "swapaxes", "chunk", "split", "unbind", "narrow", "tensor_split",
             "select", "tril", "triu", "diag", "cat", "stack", "expand_as", "view_as", "reshape_as", "contiguous",
             "clone", "squeeze_all", "split_list")


def _shape_args(rng, op, sh):
    nd = len(sh)
    if op in ("reshape", "view"):
        n = int(np.prod(sh))
        if n and chance(rng, 0.5):
            return (-1,) if chance(rng, 0.3) else (n,) if nd != 1 else (1, n)
        return tuple(reversed(sh)) if n == 0 or chance(rng, 0.5) else (-1,) + ((sh[-1],) if nd else ())
    if op == "flatten":
        a = int(rng.integers(0, max(nd, 1)))
        return (a, int(rng.integers(a, max(nd, 1))))
    if op in ("transpose", "swapaxes"):
        return (dim_of(rng, nd), dim_of(rng, nd))
    if op == "permute":
        return tuple(int(v) for v in rng.permutation(nd))
    if op == "squeeze":
        return (dim_of(rng, nd),)
    if op == "unsqueeze":
        return (int(rng.integers(-nd - 1, nd + 1)),)
    if op == "expand":
        new = tuple(int(rng.integers(1, 4)) if s == 1 else (-1 if chance(rng, 0.3) else s) for s in sh)
        return ((2,) if chance(rng, 0.4) else ()) + new
    if op == "repeat":
        return tuple(int(rng.integers(1, 3)) for _ in range(nd + int(rng.integers(0, 2))))
    if op == "flip":
        return (tuple(sorted({dim_of(rng, nd) % max(nd, 1) for _ in range(int(rng.integers(1, 3)))})),)
    if op == "roll":
        return (int(rng.integers(-3, 4)), dim_of(rng, nd)) if nd else (1,)
    if op == "movedim":
        return (dim_of(rng, nd), dim_of(rng, nd))
    if op == "chunk":
        return (int(rng.integers(1, 4)), dim_of(rng, nd))
    if op == "split":
        return (int(rng.integers(1, 4)), dim_of(rng, nd))
    if op == "split_list":
        d = dim_of(rng, nd)
        size = sh[d]
        cut = int(rng.integers(0, size + 1))
        return ([cut, size - cut], d)
    if op == "unbind":
        return (dim_of(rng, nd),)
    if op == "narrow":
        d = dim_of(rng, nd)
        start = int(rng.integers(0, sh[d] + 1))
        return (d, start, int(rng.integers(0, sh[d] - start + 1)))
    if op == "tensor_split":
        return (int(rng.integers(1, 4)), dim_of(rng, nd))
    if op == "select":
        d = dim_of(rng, nd)
        return (d, int(rng.integers(-sh[d], sh[d])))
    if op in ("tril", "triu"):
        return (int(rng.integers(-2, 3)),)
    if op == "diag":
        return (int(rng.integers(-1, 2)),)
    if op in ("cat", "stack"):
        return (dim_of(rng, nd + (op == "stack")),)
    return ()


def _shape_for(rng, op):
    if op in ("t",):
        return shape(rng, 0, 2)
    if op == "T":
        return shape(rng, 2, 2)  # other ranks: deprecated in PyTorch (a warning now, an error later)
    if op in ("mT", "tril", "triu"):
        return shape(rng, 2, 3)
    if op == "diag":
        return shape(rng, 1, 2)
    if op in ("squeeze", "unbind", "narrow", "select", "roll", "chunk", "split", "split_list", "tensor_split",
              "flip", "transpose", "swapaxes", "movedim"):
        sh = shape(rng, 1, 3)
        return tuple(1 if chance(rng, 0.2) else s for s in sh) if op == "squeeze" else sh
    return shape(rng, 0, 3, zero=0.1)


@generator("shape", weight=3)
def shape_op(rng):
    op = pick(rng, SHAPE_OPS)
    grad = chance(rng, 0.4)
    dtype = "float64" if grad else pick(rng, ("float32", "float64", "int64", "bool", "uint8"))
    sh = _shape_for(rng, op)
    args = _shape_args(rng, op, sh)
    x = values(rng, sh, dtype)
    other = values(rng, sh, pick(rng, ("float32", "float64", "int64", "bool")))
    if op == "cat" and len(sh) and chance(rng, 0.5):
        d = args[0] % len(sh)
        other = values(rng, sh[:d] + (int(rng.integers(0, 3)),) + sh[d + 1:], str(other.dtype))
    form = pick(rng, ("method", "fn"))
    up = upstream(rng, (256,))

    def program(fw, inp):
        t = fw.t(inp["x"], requires_grad=grad)
        if op in ("cat", "stack"):
            o = fw.t(inp["o"])
            out = getattr(fw.lib, op)([t, o], *args)
        elif op in ("expand_as", "view_as", "reshape_as"):
            target = fw.t(np.zeros((2,) + inp["x"].shape)) if op == "expand_as" else fw.t(inp["x"].reshape(-1))
            out = getattr(t, op)(target)
        elif op == "squeeze_all":
            out = t.squeeze()
        elif op == "split_list":
            out = t.split(*args)
        elif op == "T":
            out = t.T
        elif op == "mT":
            out = t.mT
        elif form == "fn" and op not in ("view", "expand", "repeat", "contiguous", "clone", "flip") \
                and hasattr(fw.lib, op):
            out = getattr(fw.lib, op)(t, *args)
        elif op == "flip":
            out = t.flip(*args) if form == "method" else fw.lib.flip(t, *args)
        else:
            out = getattr(t, op)(*args)
        if not grad:
            return out
        parts = list(out) if isinstance(out, (tuple, list)) else [out]
        total = sum((p * fw.t(np.resize(inp["up"], tuple(p.shape)))).sum() for p in parts if p.numel()) \
            if any(p.numel() for p in parts) else None
        if total is None:
            return out
        total.backward()
        return out, t.grad

    return Case(program, {"x": x, "o": other, "up": up}, f"{op}{args} {form} {dtype} {sh} grad={grad}")


@generator("shape", weight=2)
def gather_scatter(rng):
    op = pick(rng, ("gather", "scatter", "scatter_value", "scatter_add", "index_select", "masked_fill",
                    "masked_fill_tensor", "nonzero", "nonzero_tuple", "take_along_dim", "scatter_", "masked_fill_"))
    grad = op not in ("nonzero", "nonzero_tuple", "scatter_", "masked_fill_") and chance(rng, 0.4)
    dtype = "float64" if grad else pick(rng, ("float32", "float64", "int64"))
    sh = shape(rng, 1, 3)
    nd = len(sh)
    d = dim_of(rng, nd)
    x = values(rng, sh, dtype)
    idx_shape = tuple(int(rng.integers(1, s + 1)) for s in sh)
    if op in ("gather", "take_along_dim", "scatter_add"):
        index = rng.integers(0, sh[d], idx_shape)
    elif op.startswith("scatter"):  # no repeats along d: which scattered value wins is unspecified in PyTorch
        moved = np.moveaxis(np.zeros(idx_shape, dtype=np.int64), d, 0)
        for pos in np.ndindex(moved.shape[1:]):
            moved[(slice(None),) + pos] = rng.permutation(sh[d])[:moved.shape[0]]
        index = np.moveaxis(moved, 0, d)
    else:
        index = rng.integers(-sh[d], sh[d], int(rng.integers(0, 5)))
    src = values(rng, idx_shape, dtype)
    mask = values(rng, broadcast_partner(rng, sh), "bool")
    fill = python_scalar(rng, ("int", "float")) if dtype in FLOATS else python_scalar(rng, ("int",))
    up = upstream(rng, (256,))

    def program(fw, inp):
        t = fw.t(inp["x"], requires_grad=grad)
        i = fw.t(inp["i"])
        s = fw.t(inp["s"], requires_grad=grad)
        leaves = [t]
        if op == "gather":
            out = fw.lib.gather(t, d, i)
        elif op == "take_along_dim":
            out = fw.lib.take_along_dim(t, i, d)
        elif op == "scatter":
            out = t.scatter(d, i, s)
            leaves.append(s)
        elif op == "scatter_value":
            out = fw.lib.scatter(t, d, i, fill)
        elif op == "scatter_add":
            out = t.scatter_add(d, i, s)
            leaves.append(s)
        elif op == "scatter_":
            out = t.clone()
            out.scatter_(d, i, s)
        elif op == "index_select":
            out = t.index_select(d, fw.t(inp["i"] % inp["x"].shape[d]))  # PyTorch's index_select takes no negatives
        elif op == "masked_fill":
            out = t.masked_fill(fw.t(inp["m"]), fill)
        elif op == "masked_fill_tensor":
            out = fw.lib.masked_fill(t, fw.t(inp["m"]), fw.t(np.array(fill, dtype=inp["x"].dtype)))
        elif op == "masked_fill_":
            out = t.clone()
            out.masked_fill_(fw.t(inp["m"]), fill)
        elif op == "nonzero":
            return fw.lib.nonzero(fw.t(inp["m"]))
        else:
            return fw.t(inp["x"] > 0).nonzero(as_tuple=True)
        if not grad:
            return out
        return out, backward(fw, out, np.resize(inp["up"], tuple(out.shape)), *leaves)

    return Case(program, {"x": x, "i": np.asarray(index, dtype=np.int64), "s": src, "m": mask, "up": up},
                f"{op} dim={d} {dtype} {sh} grad={grad}")


def _index(rng, sh, for_set):
    """An index for a tensor of shape ``sh``: ints, slices, None, Ellipsis, int lists, int tensors, bool masks."""
    parts: list = []
    dim = 0
    nd = len(sh)
    used_ellipsis = False
    advanced = 0
    while dim < nd and len(parts) < nd + 1 and not (parts and chance(rng, 0.25)):
        kind = pick(rng, ("int", "slice", "slice", "none", "ellipsis", "list", "tensor", "mask", "int0d"))
        size = sh[dim]
        if kind == "ellipsis" and not used_ellipsis:
            used_ellipsis = True
            parts.append(("ellipsis",))
            skip = int(rng.integers(0, nd - dim + 1))
            dim += skip
            continue
        if kind == "none":
            parts.append(("none",))
            continue
        if kind in ("int", "int0d") and size:
            parts.append((kind, int(rng.integers(-size, size))))
        elif kind in ("list", "tensor") and size and advanced < 2:
            n = int(rng.integers(1, min(size, 3) + 1)) if for_set else int(rng.integers(0, 4))
            items = rng.permutation(size)[:n] if for_set else rng.integers(-size, size, n)
            if kind == "tensor" and chance(rng, 0.3) and not for_set:
                items = items.reshape(1, -1) if n else items
            parts.append((kind, np.asarray(items, dtype=np.int64)))
            advanced += 1
        elif kind == "mask" and advanced < 2 and not any(p[0] == "mask" for p in parts):
            parts.append(("mask", rng.random(size) < 0.5))
            advanced += 1
        else:
            lo = int(rng.integers(-size - 1, size + 1)) if chance(rng, 0.5) else None
            hi = int(rng.integers(-size - 1, size + 2)) if chance(rng, 0.5) else None
            parts.append(("slice", lo, hi, int(rng.integers(1, 3)) if chance(rng, 0.3) else None))
        dim += 1
    return parts


def _build_index(fw, parts):
    out = []
    for p in parts:
        kind = p[0]
        if kind == "int":
            out.append(p[1])
        elif kind == "int0d":
            out.append(fw.t(np.array(p[1], dtype=np.int64)))
        elif kind == "slice":
            out.append(slice(p[1], p[2], p[3]))
        elif kind == "none":
            out.append(None)
        elif kind == "ellipsis":
            out.append(Ellipsis)
        elif kind == "list":
            out.append(p[1].tolist())
        else:
            out.append(fw.t(p[1]))
    return tuple(out) if len(out) != 1 else out[0]


@generator("indexing", weight=4)
def indexing(rng):
    mode = pick(rng, ("get", "get", "grad", "set_scalar", "set_tensor", "set_grad"))
    sh = shape(rng, 1, 4)
    dtype = "float64" if "grad" in mode else pick(rng, ("float32", "float64", "int64", "bool"))
    x = values(rng, sh, dtype)
    parts = _index(rng, sh, for_set=mode.startswith("set"))
    if mode.startswith("set") and sum(p[0] in ("list", "tensor", "mask") for p in parts) > 1:
        parts = [p for p in parts if p[0] not in ("list", "tensor", "mask")][:1] or [("int", 0)]
    scalar = python_scalar(rng, ("int", "float")) if dtype != "bool" else True
    pool = values(rng, (512,), dtype)
    up = upstream(rng, (512,))

    def program(fw, inp):
        t = fw.t(inp["x"], requires_grad="grad" in mode)
        idx = _build_index(fw, parts)
        if mode == "get":
            return t[idx]
        if mode == "grad":
            out = t[idx]
            return out, backward(fw, out, np.resize(inp["up"], tuple(out.shape)), t)
        y = t * 1 if mode == "set_grad" else t.clone()
        # the shape from a fresh tensor: a view of y would mark y's memory as shared (README, "Differences")
        target_shape = tuple(fw.t(inp["x"])[idx].shape)
        if mode == "set_scalar":
            y[idx] = scalar
            return y
        v = fw.t(np.resize(inp["pool"], target_shape), requires_grad=mode == "set_grad")
        y[idx] = v
        if mode == "set_tensor":
            return y
        return y, backward(fw, y, np.resize(inp["up"], tuple(y.shape)), t, v)

    return Case(program, {"x": x, "pool": pool, "up": up}, f"{mode} {dtype} {sh} {parts}")


INPLACE = ("add_", "sub_", "mul_", "div_", "clamp_", "pow_", "zero_", "fill_", "copy_", "iadd", "isub", "imul",
           "itruediv", "unsqueeze_", "squeeze_", "t_grad", "abs_", "exp_")


@generator("inplace", weight=2)
def inplace(rng):
    op = pick(rng, INPLACE)
    grad = op in ("add_", "mul_", "sub_", "div_", "iadd", "imul", "clamp_", "copy_", "t_grad", "exp_") \
        and chance(rng, 0.4)
    sh = shape(rng, 0, 3)
    if grad:
        dtype, odt = "float64", "float64"
    else:
        dtype = pick(rng, ("float32", "float64", "int64"))
        # an in-place op keeps its tensor's dtype: a float result into an integer tensor raises in PyTorch, so
        # the other operand is of a dtype the result can be cast to
        odt = pick(rng, ("float32", "float64", "int64", "int32", "bool") if dtype in FLOATS else ("int64", "int32"))
    x = values(rng, sh, dtype, "positive" if op in ("pow_", "div_", "itruediv") else "normal")
    if op == "pow_" and dtype not in FLOATS:
        odt = "int64"
    form = pick(rng, ("tensor", "0d", "scalar"))
    if form == "tensor":
        other = values(rng, broadcast_partner(rng, sh)[-len(sh):] if sh else (), odt, "positive")
        other = np.abs(other) if op == "pow_" else other
    elif form == "0d":
        other = values(rng, (), odt, "positive")
        other = np.abs(other) if op == "pow_" else other
    else:
        other = python_scalar(rng, ("int", "float") if dtype in FLOATS else ("int",))
        other = abs(other) + 1 if op in ("div_", "itruediv", "pow_") else other
    if dtype not in FLOATS and op in ("div_", "itruediv"):
        op = "mul_"  # true division into an integer tensor raises in PyTorch
    if dtype not in FLOATS and op in ("exp_",):
        op = "abs_"
    up = upstream(rng, (64,))

    def program(fw, inp):
        leaf = fw.t(inp["x"], requires_grad=grad)
        y = leaf * 1 if grad else leaf.clone()
        o = fw.t(inp["o"]) if isinstance(inp["o"], np.ndarray) else inp["o"]
        if op == "iadd":
            y += o
        elif op == "isub":
            y -= o
        elif op == "imul":
            y *= o
        elif op == "itruediv":
            y /= o
        elif op == "clamp_":
            y.clamp_(-0.5, 0.7)
        elif op in ("zero_", "abs_", "exp_", "squeeze_"):
            getattr(y, op)()
        elif op == "unsqueeze_":
            y.unsqueeze_(0)
        elif op == "fill_":
            y.fill_(o)
        elif op == "copy_":
            y.copy_(o if not isinstance(o, (int, float)) else fw.t(np.asarray(o)))
        elif op == "t_grad":
            y.mul_(2).add_(o if not isinstance(o, (int, float)) else 1.0)
        else:
            getattr(y, op)(o)
        if not grad:
            return y
        return y, backward(fw, y, np.resize(inp["up"], tuple(y.shape)), leaf)

    return Case(program, {"x": x, "o": other, "up": up}, f"{op} {dtype} {sh} other {form} grad={grad}")


def _nested(rng, depth, kinds):
    n = int(rng.integers(1, 4))
    if depth == 0:
        return [python_scalar(rng, kinds) for _ in range(n)]
    return [_nested(rng, depth - 1, kinds) for _ in range(1)] * n


@generator("creation", weight=2)
def creation(rng):
    op = pick(rng, ("tensor", "tensor_dtype", "zeros", "ones", "full", "full_like", "zeros_like", "ones_like",
                    "arange", "linspace", "eye", "new_zeros", "new_ones", "new_full", "new_tensor", "empty_shape",
                    "default_float64", "scalar_tensor"))
    kinds = pick(rng, (("int",), ("float",), ("bool",), ("int", "float"), ("int", "bool"), ("int", "float", "bool")))
    data = _nested(rng, int(rng.integers(0, 3)), kinds)
    sh = shape(rng, 0, 3, zero=0.1)
    fill = python_scalar(rng)
    dtype = pick(rng, (None, "float32", "float64", "int64", "int32", "bool", "float16", "uint8"))
    start, end = (python_scalar(rng, ("int", "float")) for _ in range(2))
    step = pick(rng, (1, 2, 0.5, -1, 3))
    if (end - start) * step < 0:
        step = -step
    x = values(rng, shape(rng, 1, 2), pick(rng, ("float32", "float64", "int64")))

    def program(fw, inp):
        kw = {"dtype": fw.dtype(dtype)} if dtype else {}
        lib = fw.lib
        if op == "tensor":
            return lib.tensor(data)
        if op == "tensor_dtype":
            return lib.tensor(data, **kw)
        if op in ("zeros", "ones"):
            return getattr(lib, op)(*sh, **kw) if chance_shape else getattr(lib, op)(sh, **kw)
        if op == "full":
            return lib.full(sh, fill, **kw)
        if op in ("full_like",):
            return lib.full_like(fw.t(inp["x"]), fill, **kw)
        if op in ("zeros_like", "ones_like"):
            return getattr(lib, op)(fw.t(inp["x"]), **kw)
        if op == "arange":
            return lib.arange(start, end, step, **kw) if dtype not in ("bool", "uint8") else lib.arange(abs(end) + 1)
        if op == "linspace":
            return lib.linspace(start, end, len(sh) + 2, **({} if dtype in ("bool",) else kw))
        if op == "eye":
            return lib.eye(len(sh) + 1, **kw) if chance_shape else lib.eye(len(sh) + 1, 3, **kw)
        if op in ("new_zeros", "new_ones"):
            return getattr(fw.t(inp["x"]), op)(sh, **kw)
        if op == "new_full":
            return fw.t(inp["x"]).new_full(sh, fill, **kw)
        if op == "new_tensor":
            return fw.t(inp["x"]).new_tensor(data, **kw)
        if op == "empty_shape":
            e = lib.empty(*sh, **kw)
            return tuple(e.shape), e.dtype
        if op == "default_float64":
            lib.set_default_dtype(lib.float64)
            return lib.tensor(data), lib.ones(2), lib.full((2,), fill), lib.arange(3.0), lib.tensor(1.5) * 2
        return lib.tensor(fill), lib.tensor(fill) + 1, lib.tensor(fill) * 1.5

    chance_shape = chance(rng, 0.5)
    return Case(program, {"x": x}, f"{op} dtype={dtype} data={data} sh={sh} fill={fill} {start}:{end}:{step}")


@generator("creation", weight=2)
def dtypes(rng):
    op = pick(rng, ("int", "long", "float", "double", "bool", "half", "to", "type", "type_as", "isnan", "isinf",
                    "isfinite", "allclose", "equal", "isclose", "byte", "is_floating_point", "item", "tolist",
                    "numel_dim", "sum_dtype"))
    src = pick(rng, ("float32", "float64", "int64", "int32", "bool", "uint8", "float16"))
    sh = shape(rng, 0, 3, zero=0.05)
    nonfinite = 0.3 if op in ("isnan", "isinf", "isfinite", "allclose", "equal", "isclose") else 0.0
    x = values(rng, sh, src, "positive" if chance(rng, 0.5) else "normal", nonfinite if src in FLOATS else 0.0)
    if src in FLOATS + ("float16",) and op not in ("isnan", "isinf", "isfinite", "allclose", "equal", "isclose"):
        x = np.where(np.isfinite(x), x, 0).astype(src)
    y = x + (values(rng, sh, "float64") * 1e-7).astype(x.dtype) if chance(rng, 0.5) and x.dtype.kind == "f" \
        else x.copy()
    target = pick(rng, ("float32", "float64", "int64", "int32", "bool", "uint8", "float16"))
    if target == "uint8" and x.dtype.kind == "f":
        x = np.abs(x)  # negative floats to uint8 are undefined behaviour in C, so in PyTorch
    equal_nan = chance(rng, 0.5)

    def program(fw, inp):
        t = fw.t(inp["x"])
        u = fw.t(inp["y"])
        if op in ("int", "long", "float", "double", "bool", "half", "byte"):
            return getattr(t, op)()
        if op == "to":
            return t.to(fw.dtype(target))
        if op == "type":
            return t.type(fw.dtype(target))
        if op == "type_as":
            return t.type_as(fw.t(np.zeros(1, dtype=target)))
        if op in ("isnan", "isinf", "isfinite"):
            return getattr(fw.lib, op)(t), getattr(t, op)()
        if op == "allclose":
            return fw.lib.allclose(t, u, equal_nan=equal_nan) if src in FLOATS else fw.lib.allclose(t, u)
        if op == "isclose":
            return fw.lib.isclose(t, u, equal_nan=equal_nan)
        if op == "equal":
            return fw.lib.equal(t, u), t.equal(t)
        if op == "is_floating_point":
            return t.is_floating_point(), t.dtype
        if op == "item":
            return t.reshape(-1)[0].item() if t.numel() else t.numel()
        if op == "tolist":
            return t.tolist()
        if op == "numel_dim":
            return t.numel(), t.dim(), t.ndim, tuple(t.size()), t.size(-1) if t.dim() else None, len(t.shape)
        return t.sum(dtype=fw.dtype(target)) if target not in ("bool", "uint8", "float16") else t.sum()

    return Case(program, {"x": x, "y": y}, f"{op} {src}->{target} {sh}")


@generator("promotion", weight=3)
def promotion(rng):
    """Result dtypes across dtypes, 0-d tensors and Python scalars, for every kind of op that promotes."""
    op = pick(rng, ("add", "mul", "sub", "div", "maximum", "where", "cat", "stack", "eq", "lt", "clamp",
                    "pow", "masked_fill", "sum_count", "mean_bool_div", "matmul_same", "reflected_div"))
    kinds = pick(rng, (("tensor", "tensor"), ("tensor", "0d"), ("0d", "tensor"), ("0d", "0d"), ("tensor", "scalar"),
                       ("0d", "scalar"), ("scalar", "tensor")))
    da = pick(rng, ("float32", "float64", "float16", "int64", "int32", "uint8", "bool", "int8", "int16"))
    db = pick(rng, ("float32", "float64", "float16", "int64", "int32", "uint8", "bool", "int8", "int16"))
    sh = shape(rng, 1, 2)

    def operand(kind, dtype):
        if kind == "tensor":
            return values(rng, sh, dtype, "positive")
        if kind == "0d":
            return values(rng, (), dtype, "positive")
        return python_scalar(rng)

    a, b = operand(kinds[0], da), operand(kinds[1], db)
    if op == "sub" and ((isinstance(a, bool) or getattr(a, "dtype", None) == np.bool_)
                        or (isinstance(b, bool) or getattr(b, "dtype", None) == np.bool_)):
        op = "add"  # minus with a bool: see README, "Differences from PyTorch" (integer minus bool is allowed)
    if op == "pow" and not isinstance(b, np.ndarray) and not isinstance(b, bool):
        b = abs(b)
    if op == "pow" and isinstance(b, np.ndarray) and b.dtype.kind in "iu":
        b = np.asarray(np.abs(b))
    cond = values(rng, sh, "bool")

    def program(fw, inp):
        x = fw.t(inp["a"]) if isinstance(inp["a"], np.ndarray) else inp["a"]
        y = fw.t(inp["b"]) if isinstance(inp["b"], np.ndarray) else inp["b"]
        if not fw.is_tensor(x) and not fw.is_tensor(y):
            x = fw.t(np.asarray(inp["a"]))
        lib = fw.lib
        if op in ("add", "mul", "sub", "div", "maximum", "eq", "lt", "pow"):
            if op in ("maximum",) and not (fw.is_tensor(x) and fw.is_tensor(y)):
                return None
            if op in ("add", "mul", "sub", "div", "pow") and chance_op:
                return {"add": lambda: x + y, "mul": lambda: x * y, "sub": lambda: x - y, "div": lambda: x / y,
                        "pow": lambda: x ** y}[op]()
            if not fw.is_tensor(x):
                x, y = y, x
            return getattr(lib, op)(x, y)
        if op == "where":
            return lib.where(fw.t(inp["c"]), x, y)
        if op in ("cat", "stack"):
            tx = x if fw.is_tensor(x) else fw.t(np.asarray(inp["a"]))
            ty = y if fw.is_tensor(y) else fw.t(np.asarray(inp["b"]))
            tx, ty = tx.reshape(-1), ty.reshape(-1)
            if op == "stack" and tuple(tx.shape) != tuple(ty.shape):
                return None
            return getattr(lib, op)([tx, ty])
        if op == "clamp":
            t = x if fw.is_tensor(x) else y
            s = y if fw.is_tensor(x) else x
            return lib.clamp(t, min=s) if not fw.is_tensor(s) else lib.clamp(t, min=s, max=s + 3)
        if op == "masked_fill":
            t = x if fw.is_tensor(x) else y
            s = y if fw.is_tensor(x) else x
            m = fw.t(inp["c"]) if t.dim() else fw.t(np.array(True))
            return t.masked_fill(m, s if not fw.is_tensor(s) or s.dim() == 0 else 1)
        if op == "sum_count":
            t = x if fw.is_tensor(x) else y
            return (t == t).sum(), (t > 1).sum() / 3, t.sum(), (t.sum() * 1.0)
        if op == "mean_bool_div":
            t = x if fw.is_tensor(x) else y
            return (t > 1).float().mean(), (t > 1).sum().item() / max(t.numel(), 1), t.float() / 2
        if op == "matmul_same":
            t = x if fw.is_tensor(x) else y
            return t.reshape(-1) @ t.reshape(-1) if t.dtype != lib.bool and t.dim() else None
        return 1 / x if fw.is_tensor(x) else 2 / y

    chance_op = chance(rng, 0.5)
    return Case(program, {"a": a, "b": b, "c": cond}, f"{op} {kinds} {da}/{db} {sh}")
