"""Autograd, nn layers (weights drawn once and loaded into both frameworks), functional ops and losses.

Layers run in float64 (the default dtype is switched inside the program, and put back by the runner), so that
the comparison is tight; the weights are drawn from the shapes of minitorch's state_dict, and loading them into
torch checks that the state_dict keys agree.  Max pooling gets tie-free inputs, so that its gradient is defined.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import minitorch

from .core import Case
from .draw import chance, dim_of, pick, shape, upstream, values
from .registry import backward, generator


def _weights(rng, build) -> dict[str, np.ndarray]:
    """Random values for every entry of the minitorch module's state_dict (running variances positive)."""
    previous = minitorch.get_default_dtype()
    minitorch.set_default_dtype(np.float64)
    try:
        module = build(minitorch.nn)
        state = module.state_dict()
    finally:
        minitorch.set_default_dtype(previous)
    out = {}
    for key, value in state.items():
        array = value.numpy()
        if array.dtype.kind in "iu":
            out[key] = np.array(array)
        elif key.endswith("running_var"):
            out[key] = rng.uniform(0.5, 2.0, array.shape)
        else:
            out[key] = rng.standard_normal(array.shape) * 0.5
    return out


def _run_module(fw, inp, build, train: bool, grad_input: bool = True, buffers: bool = False) -> Any:
    fw.lib.set_default_dtype(fw.lib.float64)
    module = fw.load(build(fw.nn), inp["w"])
    module.train(train)
    x = fw.t(inp["x"], requires_grad=grad_input and inp["x"].dtype.kind == "f")
    out = module(x)
    out.backward(fw.t(np.resize(inp["up"], tuple(out.shape))))
    grads = {name: p.grad for name, p in module.named_parameters()}
    result = [out, x.grad if grad_input and inp["x"].dtype.kind == "f" else None, grads]
    if buffers:
        result.append({k: v for k, v in module.state_dict().items() if "running" in k or "num_batches" in k})
    return result


def _conv_case(rng, dims):
    groups = pick(rng, (1, 1, 2))
    cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    k = int(rng.integers(1, 4))
    stride, dilation = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    padding: Any = int(rng.integers(0, 3))
    if stride == 1 and chance(rng, 0.2):
        padding = pick(rng, ("same", "valid"))
    bias = chance(rng, 0.7)
    size = tuple(int(rng.integers(k * dilation, k * dilation + 4)) for _ in range(dims))
    batched = chance(rng, 0.8)
    xshape = ((int(rng.integers(1, 3)),) if batched else ()) + (cin,) + size
    cls = "Conv1d" if dims == 1 else "Conv2d"

    def build(nn):
        return getattr(nn, cls)(cin, cout, k, stride=stride, padding=padding, dilation=dilation, groups=groups,
                                bias=bias)

    return build, xshape, f"{cls}({cin},{cout},{k},s={stride},p={padding},d={dilation},g={groups}) x{xshape}"


def _layer(rng):
    kind = pick(rng, ("Linear", "Conv1d", "Conv2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
                      "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten", "Unflatten",
                      "Identity", "Sequential", "activation", "Dropout_eval"))
    kind_x = "normal"
    if kind == "Linear":
        i, o, bias = int(rng.integers(1, 5)), int(rng.integers(1, 5)), chance(rng, 0.7)
        xshape = pick(rng, ((int(rng.integers(1, 4)), i), (i,), (2, int(rng.integers(1, 3)), i)))
        return (lambda nn: nn.Linear(i, o, bias=bias)), xshape, kind_x, f"Linear({i},{o}) x{xshape}"
    if kind in ("Conv1d", "Conv2d"):
        build, xshape, note = _conv_case(rng, 1 if kind == "Conv1d" else 2)
        return build, xshape, kind_x, note
    if kind.startswith("BatchNorm"):
        c = int(rng.integers(1, 4))
        n = int(rng.integers(2, 4))
        xshape = (n, c) if kind == "BatchNorm1d" and chance(rng, 0.5) else \
            (n, c, int(rng.integers(1, 4))) if kind == "BatchNorm1d" else (n, c, 2, int(rng.integers(1, 3)))
        momentum, affine, track = pick(rng, (0.1, 0.5, None)), chance(rng, 0.8), chance(rng, 0.8)
        return (lambda nn: getattr(nn, kind)(c, momentum=momentum, affine=affine, track_running_stats=track)), \
            xshape, kind_x, f"{kind}({c}, momentum={momentum}, affine={affine}, track={track}) x{xshape}"
    if kind == "LayerNorm":
        xshape = shape(rng, 2, 3)
        normalized = xshape[-int(rng.integers(1, len(xshape))):]
        affine = chance(rng, 0.7)
        return (lambda nn: nn.LayerNorm(normalized, elementwise_affine=affine)), xshape, kind_x, \
            f"LayerNorm({normalized}) x{xshape}"
    if kind == "GroupNorm":
        g = int(rng.integers(1, 3))
        c = g * int(rng.integers(1, 3))
        xshape = (int(rng.integers(1, 3)), c) + shape(rng, 0, 2)
        affine = chance(rng, 0.7)
        return (lambda nn: nn.GroupNorm(g, c, affine=affine)), xshape, kind_x, f"GroupNorm({g},{c}) x{xshape}"
    if kind.startswith(("MaxPool", "AvgPool")):
        dims = int(kind[-2])
        k = int(rng.integers(1, 4))
        stride = pick(rng, (None, 1, 2))
        padding = int(rng.integers(0, k // 2 + 1))
        ceil_mode = chance(rng, 0.3)
        size = tuple(int(rng.integers(k, k + 4)) for _ in range(dims))
        xshape = ((int(rng.integers(1, 3)),) if chance(rng, 0.8) else ()) + (int(rng.integers(1, 3)),) + size
        extra = {"count_include_pad": chance(rng, 0.5)} if kind.startswith("Avg") else {}
        return (lambda nn: getattr(nn, kind)(k, stride=stride, padding=padding, ceil_mode=ceil_mode, **extra)), \
            xshape, "distinct", f"{kind}({k}, s={stride}, p={padding}, ceil={ceil_mode}, {extra}) x{xshape}"
    if kind == "AdaptiveAvgPool2d":
        out = pick(rng, (1, 2, (2, 1), (3, 2)))
        xshape = (int(rng.integers(1, 3)), 2, int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        return (lambda nn: nn.AdaptiveAvgPool2d(out)), xshape, kind_x, f"AdaptiveAvgPool2d({out}) x{xshape}"
    if kind == "Flatten":
        xshape = shape(rng, 2, 4)
        a = int(rng.integers(0, len(xshape)))
        b = int(rng.integers(a, len(xshape)))
        return (lambda nn: nn.Flatten(a, b)), xshape, kind_x, f"Flatten({a},{b}) x{xshape}"
    if kind == "Unflatten":
        xshape = (2, 6)
        sizes = pick(rng, ((2, 3), (3, 2), (6, 1), (-1, 2)))
        return (lambda nn: nn.Unflatten(1, sizes)), xshape, kind_x, f"Unflatten(1, {sizes})"
    if kind == "Identity":
        return (lambda nn: nn.Identity()), shape(rng, 0, 3), kind_x, "Identity"
    if kind == "Sequential":
        i, h = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        return (lambda nn: nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, 2), nn.Tanh())), \
            (3, i), "normal", f"Sequential(Linear({i},{h}), ReLU, Linear, Tanh)"
    if kind == "Dropout_eval":
        which = pick(rng, ("Dropout", "Dropout2d"))
        return (lambda nn: getattr(nn, which)(0.5)), (2, 3, 2, 2), kind_x, f"{which} in eval"
    act = pick(rng, ("ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "GELU_tanh", "SiLU", "Softplus", "Hardtanh", "Tanh",
                     "Sigmoid", "Softmax", "LogSoftmax"))
    xshape = shape(rng, 1, 3)
    d = dim_of(rng, len(xshape))
    args = {"LeakyReLU": (0.2,), "ELU": (0.7,), "Softplus": (2.0, 5.0), "Hardtanh": (-0.5, 1.2), "Softmax": (d,),
            "LogSoftmax": (d,)}.get(act, ())

    def build(nn):
        if act == "GELU_tanh":
            return nn.GELU(approximate="tanh")
        return getattr(nn, act)(*args)

    return build, xshape, "distinct", f"{act}{args} x{xshape}"


@generator("nn", weight=4)
def layer(rng):
    build, xshape, kind, note = _layer(rng)
    train = chance(rng, 0.6) and "eval" not in note
    weights = _weights(rng, build)
    x = values(rng, xshape, "float64", kind)
    up = upstream(rng, (512,))
    buffers = "BatchNorm" in note

    def program(fw, inp):
        return _run_module(fw, inp, build, train, buffers=buffers)

    return Case(program, {"w": weights, "x": x, "up": up}, f"{note} train={train}")


@generator("nn")
def embedding(rng):
    num, dim = int(rng.integers(2, 6)), int(rng.integers(1, 4))
    pad = pick(rng, (None, 0, 1))

    def build(nn):
        return nn.Embedding(num, dim, padding_idx=pad)

    weights = _weights(rng, build)
    idx = rng.integers(0, num, shape(rng, 0, 2))

    def program(fw, inp):
        return _run_module(fw, inp, build, True, grad_input=False)

    return Case(program, {"w": weights, "x": np.asarray(idx, dtype=np.int64), "up": upstream(rng, (64,))},
                f"Embedding({num},{dim},padding_idx={pad})")


@generator("nn", weight=2)
def functional(rng):
    op = pick(rng, ("pad", "interpolate", "normalize", "cosine_similarity", "one_hot", "dropout_train",
                    "relu", "gelu", "leaky_relu", "silu", "elu", "softplus", "hardtanh", "relu6", "sigmoid", "tanh",
                    "softmax", "log_softmax", "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
                    "layer_norm", "batch_norm_eval"))
    sh = (int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(2, 5)), int(rng.integers(2, 5)))
    x = values(rng, sh, "float64", "distinct")
    w = values(rng, (2, sh[1], 2, 2), "float64")
    mode = pick(rng, ("constant", "reflect", "replicate"))
    pads = tuple(int(rng.integers(0, 2)) for _ in range(pick(rng, (2, 4))))
    interp = pick(rng, ({"mode": "nearest", "scale_factor": 2}, {"mode": "nearest", "size": (3, 5)},
                        {"mode": "bilinear", "size": (3, 4), "align_corners": False},
                        {"mode": "bilinear", "scale_factor": 2, "align_corners": True},
                        {"mode": "bilinear", "size": (5, 2), "align_corners": False}))
    labels = rng.integers(0, 4, int(rng.integers(0, 5)))
    up = upstream(rng, (512,))
    p = pick(rng, (1, 2, 3))
    dim = dim_of(rng, 4)

    def program(fw, inp):
        F = fw.F
        t = fw.t(inp["x"], requires_grad=True)
        if op == "pad":
            out = F.pad(t, pads, mode=mode) if mode != "constant" else F.pad(t, pads, value=0.5)
        elif op == "interpolate":
            out = F.interpolate(t, **interp)
        elif op == "normalize":
            out = F.normalize(t, p=p, dim=dim)
        elif op == "cosine_similarity":
            out = F.cosine_similarity(t, fw.t(inp["x"][::-1].copy()), dim=dim)
        elif op == "one_hot":
            return F.one_hot(fw.t(inp["labels"]), 4), F.one_hot(fw.t(inp["labels"]))
        elif op == "dropout_train":
            out = F.dropout(t, 0.5, training=True)
            ratio = (out.detach().numpy() / inp["x"])
            return bool(np.all(np.isclose(ratio, 0) | np.isclose(ratio, 2))), tuple(out.shape), \
                F.dropout(t, 0.5, training=False)
        elif op in ("relu", "gelu", "silu", "elu", "softplus", "hardtanh", "relu6", "sigmoid", "tanh"):
            out = getattr(F, op)(t) if op not in ("sigmoid", "tanh") else getattr(fw.lib, op)(t)
        elif op == "leaky_relu":
            out = F.leaky_relu(t, 0.1)
        elif op in ("softmax", "log_softmax"):
            out = getattr(F, op)(t, dim=dim)
        elif op == "linear":
            out = F.linear(t, fw.t(inp["w"].reshape(2, -1)[:, : inp["x"].shape[-1]].copy()))
        elif op == "conv2d":
            out = F.conv2d(t, fw.t(inp["w"]), padding=1)
        elif op == "max_pool2d":
            out = F.max_pool2d(t, 2, stride=1)
        elif op == "avg_pool2d":
            out = F.avg_pool2d(t, 2, stride=1, padding=1)
        elif op == "adaptive_avg_pool2d":
            out = F.adaptive_avg_pool2d(t, (1, 2))
        elif op == "layer_norm":
            out = F.layer_norm(t, tuple(inp["x"].shape[-2:]))
        else:
            c = inp["x"].shape[1]
            out = F.batch_norm(t, fw.t(np.zeros(c)), fw.t(np.ones(c) * 2), training=False)
        return out, backward(fw, out, np.resize(inp["up"], tuple(out.shape)), t)

    return Case(program, {"x": x, "w": w, "labels": np.asarray(labels, dtype=np.int64), "up": up},
                f"{op} {sh} {mode} {pads} {interp} p={p} dim={dim}")


LOSSES = ("cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
          "binary_cross_entropy_with_logits", "kl_div")
MODULES = {"cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss", "mse_loss": "MSELoss", "l1_loss": "L1Loss",
           "smooth_l1_loss": "SmoothL1Loss", "huber_loss": "HuberLoss", "binary_cross_entropy": "BCELoss",
           "binary_cross_entropy_with_logits": "BCEWithLogitsLoss", "kl_div": "KLDivLoss"}


@generator("loss", weight=4)
def loss(rng):
    name = pick(rng, LOSSES)
    reduction = pick(rng, ("mean", "sum", "none"))
    form = pick(rng, ("functional", "module"))
    n, c = int(rng.integers(1, 5)), int(rng.integers(2, 5))
    kw: dict = {}
    if name in ("cross_entropy", "nll_loss"):
        layout = pick(rng, ("nc", "nc", "ncd", "c"))
        xshape = {"nc": (n, c), "ncd": (n, c, int(rng.integers(1, 3))), "c": (c,)}[layout]
        tshape = {"nc": (n,), "ncd": (n, xshape[2] if len(xshape) > 2 else 1), "c": ()}[layout]
        x = values(rng, xshape, "float64")
        probs = name == "cross_entropy" and chance(rng, 0.25)
        if probs:
            target = rng.dirichlet(np.ones(c), size=int(np.prod(tshape)) or 1)
            target = np.moveaxis(target.reshape(tshape + (c,)), -1, 1 if layout != "c" else 0) \
                if tshape else target.reshape(c)
        else:
            target = rng.integers(0, c, tshape).astype(np.int64) if tshape else np.array(rng.integers(0, c))
        if chance(rng, 0.3):
            kw["weight"] = rng.uniform(0.2, 2.0, c)
        if not probs and chance(rng, 0.3):
            kw["ignore_index"] = int(rng.integers(0, c))
            if np.all(target == kw["ignore_index"]) and reduction == "mean":
                kw.pop("ignore_index")  # all rows ignored: 0/0, NaN in both (left to the non-finite cases)
        if name == "cross_entropy" and chance(rng, 0.4):
            kw["label_smoothing"] = float(pick(rng, (0.1, 0.25, 0.0)))
        if name == "cross_entropy" and chance(rng, 0.2) and layout == "nc":
            x[0, int(rng.integers(c))] = -np.inf  # an impossible class: finite loss unless it is the target
            if not probs and target[0] == np.argmax(np.isinf(x[0])):
                target[0] = (target[0] + 1) % c
            if probs or "label_smoothing" in kw:
                x[0, :] = np.where(np.isinf(x[0]), 0.0, x[0])  # smoothing puts mass on it: inf in both
        if name == "nll_loss":
            x = x - np.log(np.exp(x).sum(axis=1 if layout != "c" else 0, keepdims=True))
        grad_target = probs
    elif name in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        xshape = shape(rng, 1, 2)
        x = values(rng, xshape, "float64", "unit") * 0.5 + 0.5 if name == "binary_cross_entropy" \
            else values(rng, xshape, "float64")
        target = rng.uniform(0, 1, xshape) if chance(rng, 0.5) else (rng.random(xshape) < 0.5).astype(np.float64)
        if chance(rng, 0.3):
            kw["weight"] = rng.uniform(0.2, 2.0, xshape[-1:])
        if name.endswith("logits") and chance(rng, 0.3):
            kw["pos_weight"] = rng.uniform(0.2, 2.0, xshape[-1:])
        grad_target = True
    elif name == "kl_div":
        xshape = (n, c)
        x = np.log(rng.dirichlet(np.ones(c), size=n))
        log_target = chance(rng, 0.5)
        t = rng.dirichlet(np.ones(c), size=n)
        target = np.log(t) if log_target else t
        kw["log_target"] = log_target
        reduction = pick(rng, ("batchmean", "sum", "mean", "none"))
        grad_target = True
    else:
        xshape = shape(rng, 0, 3)
        x = values(rng, xshape, "float64", "distinct")
        tshape = xshape if chance(rng, 0.8) else xshape[1:]  # a broadcast target (PyTorch warns)
        target = values(rng, tshape, "float64", "distinct")
        if name == "smooth_l1_loss" and chance(rng, 0.5):
            kw["beta"] = float(pick(rng, (0.5, 2.0)))
        if name == "huber_loss" and chance(rng, 0.5):
            kw["delta"] = float(pick(rng, (0.5, 2.0)))
        grad_target = True
    up = upstream(rng, (256,))

    def program(fw, inp):
        F = fw.F
        t = fw.t(inp["x"], requires_grad=True)
        y = fw.t(inp["target"], requires_grad=grad_target and inp["target"].dtype.kind == "f")
        args = {k: fw.t(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        if form == "functional":
            out = getattr(F, name)(t, y, reduction=reduction, **args)
        else:
            out = getattr(fw.nn, MODULES[name])(reduction=reduction, **args)(t, y)
        leaves = [t] + ([y] if y.requires_grad else [])
        return out, backward(fw, out, np.resize(inp["up"], tuple(out.shape)), *leaves)

    inputs = {"x": np.asarray(x, dtype=np.float64), "target": np.asarray(target), "up": up}
    return Case(program, inputs, f"{name} {form} {reduction} x{np.shape(x)} t{np.shape(target)} {sorted(kw)}")


@generator("autograd", weight=3)
def autograd_graph(rng):
    """A random chain of differentiable ops over two inputs, with the graph idioms: retain_grad, accumulation
    over two backward calls, detach, no_grad, a 0-d leaf, in-place changes on non-leaves."""
    steps = [pick(rng, ("add", "mul", "sub", "div", "tanh", "sigmoid", "exp", "square", "sum_keep", "mean_dim",
                        "relu", "matmul", "transpose", "index", "cat", "pow", "where", "max_dim", "abs",
                        "softmax", "reshape", "clamp", "inplace_mul", "detach_add", "expand", "log_softmax"))
             for _ in range(int(rng.integers(2, 6)))]
    idiom = pick(rng, ("plain", "retain", "twice", "no_grad", "zero_grad", "scalar_leaf"))
    n = int(rng.integers(1, 4))
    a = values(rng, (n, n), "float64", "distinct")
    b = values(rng, (n, n), "float64", "positive")
    s = values(rng, (), "float64", "positive")
    up = upstream(rng, (64,))

    def program(fw, inp):
        lib = fw.lib
        x = fw.t(inp["a"], requires_grad=True)
        y = fw.t(inp["b"], requires_grad=True)
        w = fw.t(inp["s"], requires_grad=True)
        h = x * w if idiom == "scalar_leaf" else x
        mid = None
        for i, op in enumerate(steps):
            if op == "add":
                h = h + y
            elif op == "mul":
                h = h * y
            elif op == "sub":
                h = y - h
            elif op == "div":
                h = h / (y + 1)
            elif op in ("tanh", "sigmoid", "exp", "relu", "abs"):
                h = getattr(h, op)() if op != "exp" else (h * 0.3).exp()
            elif op == "square":
                h = h ** 2
            elif op == "pow":
                h = (h.abs() + 0.5) ** 1.5
            elif op == "sum_keep":
                h = h.sum(1, keepdim=True) * y
            elif op == "mean_dim":
                h = h.mean(0) + y
            elif op == "matmul":
                h = h @ y
            elif op == "transpose":
                h = h.t() * 2
            elif op == "index":
                h = h[[0, -1]].sum(0) * y[0] + h[-1:] + h
            elif op == "cat":
                h = lib.cat([h, y], 0)[: inp["a"].shape[0]] * lib.cat([y, h], 1)[:, : inp["a"].shape[1]]
            elif op == "where":
                h = lib.where(fw.t(inp["a"] > 0), h, y * 2)
            elif op == "max_dim":
                h = h.max(1, keepdim=True).values * y + h.amax(0)
            elif op == "softmax":
                h = h.softmax(1) * y
            elif op == "log_softmax":
                h = lib.log_softmax(h, 0) * y
            elif op == "reshape":
                h = h.reshape(-1).flip(0).reshape(inp["a"].shape)
            elif op == "clamp":
                h = h.clamp(-0.77, 0.83) + h * 0.1
            elif op == "inplace_mul":
                h = h * 1
                h.mul_(y)
                h += 1
            elif op == "detach_add":
                h = h + h.detach() * 3
            elif op == "expand":
                h = h[:1].expand(inp["a"].shape[0], -1) + h
            if i == 0 and idiom == "retain":
                mid = h
                mid.retain_grad()
        loss = (h * fw.t(np.resize(inp["up"], tuple(h.shape)))).sum()
        if idiom == "no_grad":
            with lib.no_grad():
                z = h * 2
            return loss, z.requires_grad, backward(fw, loss, np.array(1.0), x, y)
        if idiom == "twice":
            loss.backward(retain_graph=True)
            loss.backward()
            return loss, x.grad, y.grad
        if idiom == "zero_grad":
            loss.backward(retain_graph=True)
            x.grad.zero_()
            (loss * 2).backward()
            return loss, x.grad, y.grad
        loss.backward()
        return loss, x.grad, y.grad, (mid.grad if mid is not None else None), (w.grad if idiom == "scalar_leaf"
                                                                                else None)

    return Case(program, {"a": a, "b": b, "s": s, "up": up}, f"{idiom} {steps} n={n}")
