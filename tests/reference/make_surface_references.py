"""Write tests/reference/surface.npz: PyTorch's results for the PyTorch surface.

Run from the repository root, with PyTorch 2.13.0 installed::

    python tests/reference/make_surface_references.py

What it stores (float64 unless said; no pickle, so it loads with ``np.load(allow_pickle=False)``):

* ``layer:<name>:...`` -- one case per layer configuration: Conv2d with per-axis kernel, stride and padding,
  ``'same'``/``'valid'``, dilation and groups (and rectangular kernels on the fast path); MaxPool2d with
  per-axis geometry, dilation, ceil_mode and return_indices; AvgPool2d (ceil_mode, count_include_pad,
  divisor_override); AdaptiveAvgPool2d; LeakyReLU, Tanh, Sigmoid, Identity, Softmax, LogSoftmax; Dropout
  in evaluation and in training mode; CrossEntropyLoss with weight, ignore_index and label_smoothing.  The
  inputs and parameters, and PyTorch's output, input gradient and parameter gradients for an upstream
  gradient drawn from the case's seed;
* ``optim:<name>:...`` -- Adam, AdamW and RMSprop over 20 steps on a small MLP, some with two parameter
  groups, a learning-rate schedule, or a gradient missing at a step: the parameters after every step, the
  learning rates, the losses and the optimizer's final ``state_dict()["state"]``;
* ``sched:<name>:...`` -- MultiStepLR, ExponentialLR, CosineAnnealingLR and LambdaLR on two parameter
  groups: the learning rates after construction and after every ``step()``, ``get_last_lr()``, and the
  keys of ``state_dict()``;
* ``clip:<name>:...`` -- ``clip_grad_norm_`` for several norms, clipping and not: the total norm and the
  clipped gradients;
* ``init:...`` -- ``calculate_gain`` for every nonlinearity, and for each initialiser the bound or standard
  deviation PyTorch's formula gives (from its own fan and gain helpers) with a sample's spread.

The cases are built and run by functions written once against a small adapter (``Framework``: the
framework's ``nn``, ``F``, ``optim``, a tensor factory and a parameter setter), so the tests
(tests/test_surface_parity.py) run the very same code on minitorch.  Only NumPy is needed to import this
module; torch is imported by :func:`torch_framework`.
"""
from __future__ import annotations

import math
import os
from types import SimpleNamespace

import numpy as np
from make_references import tie_free  # values with no ties, as for the core references
from reference_io import json_array, meta_array, warn_if_other_torch, write_npz

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_VERSION = "2.13.0"
Framework = SimpleNamespace  # nn, F, optim, init, clip_grad_norm_, tensor(array, requires_grad), set_param(p, array)

# --------------------------------------------------------------------------- layers
LAYER_SPECS: list[dict] = [
    # Conv2d: the general path (per-axis geometry, dilation, 'same'/'valid', groups), then the fast path
    # with rectangular kernels (one stride, the same padding everywhere)
    dict(name="conv_k2x4_s1x2_p1x0", kind="conv2d", x=[2, 4, 9, 8], out=6, kernel=[2, 4], stride=[1, 2],
         padding=[1, 0]),
    dict(name="conv_k3_d2x1_p2x1", kind="conv2d", x=[2, 3, 9, 8], out=4, kernel=3, dilation=[2, 1], padding=[2, 1]),
    dict(name="conv_k4x3_same", kind="conv2d", x=[1, 3, 7, 6], out=2, kernel=[4, 3], padding="same"),
    dict(name="conv_k3_d2_same_nobias", kind="conv2d", x=[2, 2, 8, 7], out=3, kernel=3, dilation=2,
         padding="same", bias=False),
    dict(name="conv_k3_s2x3_valid", kind="conv2d", x=[2, 3, 9, 11], out=2, kernel=3, stride=[2, 3],
         padding="valid"),
    dict(name="conv_groups2", kind="conv2d", x=[2, 4, 7, 7], out=6, kernel=3, padding=1, groups=2),
    dict(name="conv_depthwise_s2_nobias", kind="conv2d", x=[2, 4, 8, 7], out=4, kernel=3, stride=2, padding=1,
         groups=4, bias=False),
    dict(name="conv_depthwise_x2_k3x2", kind="conv2d", x=[1, 3, 6, 6], out=6, kernel=[3, 2], groups=3),
    dict(name="conv_k3x5_p1_fast", kind="conv2d", x=[2, 3, 8, 9], out=4, kernel=[3, 5], padding=1),
    dict(name="conv_k1x3_s2_p2_fast", kind="conv2d", x=[1, 2, 7, 8], out=3, kernel=[1, 3], stride=2, padding=2),
    # MaxPool2d
    dict(name="maxpool_k3_s2_ceil", kind="maxpool", x=[2, 3, 9, 8], kernel=3, stride=2, ceil_mode=True),
    dict(name="maxpool_k3_s2_p1_ceil", kind="maxpool", x=[1, 2, 10, 7], kernel=3, stride=2, padding=1,
         ceil_mode=True),
    dict(name="maxpool_k2_ceil_odd", kind="maxpool", x=[1, 2, 7, 5], kernel=2, ceil_mode=True),
    dict(name="maxpool_k2x3_s2x1_p1", kind="maxpool", x=[2, 2, 7, 8], kernel=[2, 3], stride=[2, 1], padding=1),
    dict(name="maxpool_k3_d2_p1", kind="maxpool", x=[1, 3, 9, 9], kernel=3, stride=1, padding=1, dilation=2),
    dict(name="maxpool_k2_indices", kind="maxpool", x=[2, 2, 6, 8], kernel=2, return_indices=True),
    dict(name="maxpool_k3_s2_p1_ceil_indices", kind="maxpool", x=[1, 2, 8, 9], kernel=3, stride=2, padding=1,
         ceil_mode=True, return_indices=True),
    # AvgPool2d
    dict(name="avgpool_k2", kind="avgpool", x=[2, 3, 8, 6], kernel=2),
    dict(name="avgpool_k3_s2_p1", kind="avgpool", x=[2, 2, 9, 8], kernel=3, stride=2, padding=1),
    dict(name="avgpool_k3_s2_p1_exclude_pad", kind="avgpool", x=[2, 2, 9, 8], kernel=3, stride=2, padding=1,
         count_include_pad=False),
    dict(name="avgpool_k3_s2_p1_ceil", kind="avgpool", x=[1, 2, 10, 7], kernel=3, stride=2, padding=1,
         ceil_mode=True),
    dict(name="avgpool_k3_s2_p1_ceil_exclude_pad", kind="avgpool", x=[1, 2, 10, 7], kernel=3, stride=2,
         padding=1, ceil_mode=True, count_include_pad=False),
    dict(name="avgpool_k2x3_s1x2_p1_divisor5", kind="avgpool", x=[1, 3, 6, 7], kernel=[2, 3], stride=[1, 2],
         padding=1, divisor_override=5),
    # AdaptiveAvgPool2d
    dict(name="adaptive_1", kind="adaptive", x=[2, 3, 7, 6], output=1),
    dict(name="adaptive_3_none", kind="adaptive", x=[2, 3, 9, 8], output=[3, None]),
    dict(name="adaptive_4x3", kind="adaptive", x=[1, 2, 9, 8], output=[4, 3]),
    dict(name="adaptive_5x7_of_7x6", kind="adaptive", x=[1, 2, 7, 6], output=[5, 7]),
    # activations
    dict(name="leaky_relu_default", kind="leaky_relu", x=[3, 5, 4]),
    dict(name="leaky_relu_02", kind="leaky_relu", x=[4, 6], negative_slope=0.2),
    dict(name="tanh", kind="tanh", x=[3, 5]),
    dict(name="sigmoid", kind="sigmoid", x=[3, 5]),
    dict(name="identity", kind="identity", x=[2, 3]),
    dict(name="softmax_dim1", kind="softmax", x=[4, 6], dim=1),
    dict(name="softmax_3d_dim0", kind="softmax", x=[3, 2, 4], dim=0),
    dict(name="log_softmax_dim1", kind="log_softmax", x=[4, 6], dim=1),
    dict(name="log_softmax_3d_dim2", kind="log_softmax", x=[2, 3, 5], dim=2),
    # Dropout: in evaluation mode the identity; in training mode compared by its scaling (see the tests)
    dict(name="dropout_eval", kind="dropout", x=[4, 5], p=0.5, train=False),
    dict(name="dropout_train", kind="dropout", x=[10, 40, 5], p=0.3, train=True),
    # CrossEntropyLoss options
    dict(name="ce_weight_mean", kind="cross_entropy", x=[7, 5], weight=True),
    dict(name="ce_weight_sum", kind="cross_entropy", x=[7, 5], weight=True, reduction="sum"),
    dict(name="ce_weight_none", kind="cross_entropy", x=[7, 5], weight=True, reduction="none"),
    dict(name="ce_ignore_default", kind="cross_entropy", x=[8, 4], ignore=[1, 5]),
    dict(name="ce_ignore_index_class2", kind="cross_entropy", x=[8, 4], ignore_index=2),
    dict(name="ce_smoothing_mean", kind="cross_entropy", x=[6, 5], label_smoothing=0.1),
    dict(name="ce_smoothing_sum", kind="cross_entropy", x=[6, 5], label_smoothing=0.25, reduction="sum"),
    dict(name="ce_smoothing_none", kind="cross_entropy", x=[6, 5], label_smoothing=0.4, reduction="none"),
    dict(name="ce_all_mean", kind="cross_entropy", x=[9, 6], weight=True, ignore=[0, 4], label_smoothing=0.2),
    dict(name="ce_all_none", kind="cross_entropy", x=[9, 6], weight=True, ignore=[3], label_smoothing=0.3,
         reduction="none"),
]


def layer_arrays(spec: dict, seed: int) -> dict[str, np.ndarray]:
    """The float64 inputs and parameters of one layer case, and the seed of its upstream gradient."""
    rng = np.random.default_rng(seed)
    kind, xs = spec["kind"], tuple(spec["x"])
    a: dict[str, np.ndarray] = {"seed": np.array(seed + 10**6)}
    if kind == "conv2d":
        kernel = spec["kernel"] if isinstance(spec["kernel"], list) else [spec["kernel"]] * 2
        in_per_group = xs[1] // spec.get("groups", 1)
        bound = 1 / np.sqrt(in_per_group * kernel[0] * kernel[1])
        a["x"] = rng.standard_normal(xs)
        a["param.weight"] = rng.uniform(-bound, bound, (spec["out"], in_per_group, *kernel))
        if spec.get("bias", True):
            a["param.bias"] = rng.uniform(-bound, bound, spec["out"])
    elif kind == "maxpool":
        a["x"] = tie_free(rng, xs)
    elif kind == "leaky_relu":
        a["x"] = rng.choice([-1.0, 1.0], xs) * rng.uniform(0.1, 2.0, xs)  # away from the kink
    elif kind == "cross_entropy":
        a["x"] = rng.standard_normal(xs) * 2
        target = rng.integers(0, xs[1], xs[0])
        target[spec.get("ignore", [])] = -100
        a["target"] = target.astype(np.int64)
        if spec.get("weight"):
            a["class_weight"] = rng.uniform(0.2, 2.0, xs[1])
    else:
        a["x"] = rng.standard_normal(xs) * (2 if kind in ("softmax", "log_softmax") else 1)
    return a


def cast_inputs(arrays: dict[str, np.ndarray], dtype) -> dict[str, np.ndarray]:
    """Float arrays to ``dtype``; integer arrays (targets, seeds) unchanged."""
    return {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in arrays.items()}


def _pair_arg(value):
    return tuple(value) if isinstance(value, list) else value


def build_layer(fw: Framework, spec: dict, arrays: dict[str, np.ndarray]):
    """The module a case tests, built with either framework's ``nn``."""
    nn, kind = fw.nn, spec["kind"]
    if kind == "conv2d":
        return nn.Conv2d(spec["x"][1], spec["out"], _pair_arg(spec["kernel"]), stride=_pair_arg(spec.get("stride", 1)),
                         padding=_pair_arg(spec.get("padding", 0)), dilation=_pair_arg(spec.get("dilation", 1)),
                         groups=spec.get("groups", 1), bias=spec.get("bias", True))
    if kind == "maxpool":
        return nn.MaxPool2d(_pair_arg(spec["kernel"]), stride=_pair_arg(spec.get("stride")),
                            padding=_pair_arg(spec.get("padding", 0)), dilation=_pair_arg(spec.get("dilation", 1)),
                            return_indices=spec.get("return_indices", False), ceil_mode=spec.get("ceil_mode", False))
    if kind == "avgpool":
        return nn.AvgPool2d(_pair_arg(spec["kernel"]), stride=_pair_arg(spec.get("stride")),
                            padding=_pair_arg(spec.get("padding", 0)), ceil_mode=spec.get("ceil_mode", False),
                            count_include_pad=spec.get("count_include_pad", True),
                            divisor_override=spec.get("divisor_override"))
    if kind == "adaptive":
        return nn.AdaptiveAvgPool2d(_pair_arg(spec["output"]))
    if kind == "leaky_relu":
        return nn.LeakyReLU(spec["negative_slope"]) if "negative_slope" in spec else nn.LeakyReLU()
    if kind in ("tanh", "sigmoid", "identity"):
        return {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "identity": nn.Identity}[kind]()
    if kind == "softmax":
        return nn.Softmax(dim=spec["dim"])
    if kind == "log_softmax":
        return nn.LogSoftmax(dim=spec["dim"])
    if kind == "dropout":
        return nn.Dropout(spec["p"])
    if kind == "cross_entropy":
        weight = fw.tensor(arrays["class_weight"]) if "class_weight" in arrays else None
        return nn.CrossEntropyLoss(weight=weight, ignore_index=spec.get("ignore_index", -100),
                                   reduction=spec.get("reduction", "mean"),
                                   label_smoothing=spec.get("label_smoothing", 0.0))
    raise ValueError(kind)  # pragma: no cover


def to_array(value) -> np.ndarray:
    """A copy of a tensor's (or an array's) values as a NumPy array, from either framework."""
    return np.array(value.detach().numpy() if hasattr(value, "detach") else value)


def upstream(arrays: dict[str, np.ndarray], shape, dtype) -> np.ndarray:
    return np.asarray(np.random.default_rng(int(arrays["seed"])).standard_normal(tuple(shape)), dtype=dtype)


def run_layer(fw: Framework, spec: dict, arrays: dict[str, np.ndarray], dtype=np.float64) -> dict[str, np.ndarray]:
    """Forward in the case's mode, backward with the seeded upstream gradient; outputs and gradients."""
    arrays = cast_inputs(arrays, dtype)
    layer = build_layer(fw, spec, arrays)
    layer.double() if np.dtype(dtype) == np.float64 else layer.float()
    for name, p in layer.named_parameters():
        fw.set_param(p, arrays[f"param.{name}"])
    layer.train(spec.get("train", True))
    x = fw.tensor(arrays["x"], requires_grad=True)
    out = layer(x, fw.tensor(arrays["target"])) if spec["kind"] == "cross_entropy" else layer(x)
    res: dict[str, np.ndarray] = {}
    if spec.get("return_indices"):
        out, indices = out
        res["indices"] = to_array(indices)
    out.backward(fw.tensor(upstream(arrays, out.shape, dtype)))
    res["out"] = to_array(out)
    res["grad.x"] = to_array(x.grad)
    for name, p in layer.named_parameters():
        res[f"grad.{name}"] = to_array(p.grad)
    return res


# --------------------------------------------------------------------------- optimizers and schedules
OPTIM_STEPS = 20
MLP_PARAMS = [("0.weight", (8, 5)), ("0.bias", (8,)), ("2.weight", (3, 8)), ("2.bias", (3,))]
LAMBDAS = {
    "power95": lambda epoch: 0.95 ** epoch,
    "inverse": lambda epoch: 1.0 / (1 + epoch),
    "warmup": lambda epoch: min(1.0, (epoch + 1) / 4),
}
OPTIM_CONFIGS: list[dict] = [
    dict(name="adam_default", opt="Adam", kwargs={}),
    dict(name="adam_l2_amsgrad", opt="Adam", kwargs=dict(lr=0.01, betas=[0.8, 0.99], eps=1e-6, weight_decay=0.1,
                                                         amsgrad=True)),
    dict(name="adam_maximize_low_betas", opt="Adam", kwargs=dict(lr=0.005, betas=[0.3, 0.6], maximize=True)),
    dict(name="adamw_default", opt="AdamW", kwargs={}),
    dict(name="adamw_wd_amsgrad", opt="AdamW", kwargs=dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    dict(name="rmsprop_default", opt="RMSprop", kwargs={}),
    dict(name="rmsprop_centered_momentum_wd", opt="RMSprop", kwargs=dict(lr=0.005, alpha=0.9, eps=1e-6,
                                                                         weight_decay=0.05, momentum=0.9,
                                                                         centered=True)),
    dict(name="rmsprop_momentum_maximize", opt="RMSprop", kwargs=dict(lr=0.001, alpha=0.3, momentum=0.5,
                                                                      maximize=True)),
    dict(name="adam_groups_cosine", opt="Adam", kwargs=dict(lr=0.01), groups=True,
         scheduler=dict(kind="CosineAnnealingLR", T_max=7, eta_min=1e-3)),
    dict(name="adamw_multistep", opt="AdamW", kwargs=dict(lr=0.02), scheduler=dict(kind="MultiStepLR",
                                                                                   milestones=[5, 12], gamma=0.3)),
    dict(name="rmsprop_exponential", opt="RMSprop", kwargs=dict(lr=0.01), scheduler=dict(kind="ExponentialLR",
                                                                                         gamma=0.9)),
    dict(name="adam_lambda_missing_grads", opt="Adam", kwargs=dict(lr=0.01), scheduler=dict(kind="LambdaLR",
                                                                                            fn="inverse"),
         drop_grad={"0": ["2.bias"], "3": ["0.weight", "0.bias"]}),
]


def optim_case(seed: int) -> dict[str, np.ndarray]:
    """Initial MLP weights, 20 batches, targets and per-sample loss weights."""
    rng = np.random.default_rng(seed)
    a = {f"param.{name}": rng.uniform(-0.5, 0.5, shape) for name, shape in MLP_PARAMS}
    a["x"] = rng.standard_normal((OPTIM_STEPS, 6, 5))
    a["y"] = rng.integers(0, 3, (OPTIM_STEPS, 6)).astype(np.int64)
    a["w"] = rng.uniform(0.1, 1.0, (OPTIM_STEPS, 6))
    return a


def make_scheduler(fw: Framework, optimizer, config: dict):
    args = {k: v for k, v in config.items() if k != "kind"}
    if config["kind"] == "LambdaLR":
        fn = args.pop("fn")
        args["lr_lambda"] = [LAMBDAS[f] for f in fn] if isinstance(fn, list) else LAMBDAS[fn]
    return getattr(fw.optim.lr_scheduler, config["kind"])(optimizer, **args)


def run_optimizer(fw: Framework, config: dict, case: dict[str, np.ndarray], dtype=np.float64) -> dict[str, np.ndarray]:
    """20 steps of ``config``'s optimizer (and schedule) on an MLP; the trajectory and the final state."""
    model = fw.nn.Sequential(fw.nn.Linear(5, 8), fw.nn.Tanh(), fw.nn.Linear(8, 3))
    model.double() if np.dtype(dtype) == np.float64 else model.float()
    params = dict(model.named_parameters())
    for name, p in params.items():
        fw.set_param(p, case[f"param.{name}"].astype(dtype))
    groups = model.parameters()
    if config.get("groups"):
        groups = [{"params": [params["0.weight"], params["0.bias"]], "lr": 0.03},
                  {"params": [params["2.weight"], params["2.bias"]]}]
    kwargs = {k: (tuple(v) if k == "betas" else v) for k, v in config["kwargs"].items()}
    opt = getattr(fw.optim, config["opt"])(groups, **kwargs)
    sched = make_scheduler(fw, opt, config["scheduler"]) if "scheduler" in config else None
    traj: dict[str, list] = {name: [] for name in params}
    lrs, losses = [], []
    for step in range(OPTIM_STEPS):
        out = model(fw.tensor(case["x"][step].astype(dtype)))
        per_sample = fw.F.cross_entropy(out, fw.tensor(case["y"][step]), reduction="none")
        loss = (per_sample * fw.tensor(case["w"][step].astype(dtype))).sum()
        opt.zero_grad()
        loss.backward()
        for name in config.get("drop_grad", {}).get(str(step), []):
            params[name].grad = None
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(loss.item())
        for name, p in params.items():
            traj[name].append(to_array(p))
    res = {f"param.{name}": np.stack(v) for name, v in traj.items()}
    res["lr"], res["loss"] = np.array(lrs), np.array(losses)
    for index, entry in opt.state_dict()["state"].items():
        for key, value in entry.items():
            res[f"state.{index}.{key}"] = to_array(value).astype(np.float64)
    return res


SCHEDULER_CASES: list[dict] = [
    dict(name="multistep", kind="MultiStepLR", milestones=[2, 5, 5, 9], gamma=0.5, epochs=12),
    dict(name="exponential", kind="ExponentialLR", gamma=0.8, epochs=10),
    dict(name="cosine", kind="CosineAnnealingLR", T_max=6, eta_min=0.001, epochs=20),
    dict(name="cosine_default", kind="CosineAnnealingLR", T_max=10, epochs=12),
    dict(name="lambda_per_group", kind="LambdaLR", fn=["power95", "inverse"], epochs=8),
    dict(name="lambda_shared", kind="LambdaLR", fn="warmup", epochs=8),
]


def run_scheduler(fw: Framework, case: dict) -> dict[str, np.ndarray]:
    """Learning rates of two groups after construction and after each ``step()``, and the state_dict keys."""
    params = [fw.tensor(np.zeros(2), requires_grad=True), fw.tensor(np.zeros(3), requires_grad=True)]
    opt = fw.optim.SGD([{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.03}], lr=0.1)
    config = {k: v for k, v in case.items() if k not in ("name", "epochs")}
    sched = make_scheduler(fw, opt, config)
    rows, last = [[g["lr"] for g in opt.param_groups]], [list(sched.get_last_lr())]
    for _ in range(case["epochs"]):
        opt.step()
        sched.step()
        rows.append([g["lr"] for g in opt.param_groups])
        last.append(list(sched.get_last_lr()))
    keys = sorted(k for k in sched.state_dict() if k != "_get_lr_called_within_step")  # torch's warning flag
    return {"lrs": np.array(rows), "last_lr": np.array(last), "state_keys": json_array(keys)}


# --------------------------------------------------------------------------- clip_grad_norm_ and init
CLIP_CASES: list[dict] = [
    dict(name="l2_clipped", max_norm=1.0, norm_type=2.0),
    dict(name="l2_not_clipped", max_norm=100.0, norm_type=2.0),
    dict(name="inf", max_norm=0.5, norm_type="inf"),
    dict(name="l1", max_norm=2.0, norm_type=1.0),
    dict(name="p3", max_norm=0.7, norm_type=3.0),
]
CLIP_SHAPES = [(3, 4), (5,), (2, 2, 2)]


def clip_grads(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for shape in CLIP_SHAPES]


def run_clip(fw: Framework, case: dict, grads: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Parameters whose gradients are ``grads`` (made by a backward), clipped; the returned norm and gradients."""
    params = [fw.tensor(np.zeros(g.shape), requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        (p * fw.tensor(g)).sum().backward()
    norm_type = float(case["norm_type"])  # "inf" -> inf
    total = fw.clip_grad_norm_(params, case["max_norm"], norm_type=norm_type)
    res = {"total_norm": to_array(total).astype(np.float64)}
    for i, p in enumerate(params):
        res[f"grad.{i}"] = to_array(p.grad)
    return res


GAIN_CASES = [["linear", None], ["conv2d", None], ["sigmoid", None], ["tanh", None], ["relu", None],
              ["leaky_relu", None], ["leaky_relu", 0.2], ["selu", None]]
INIT_CASES: list[dict] = [
    dict(name="kaiming_uniform_default", fn="kaiming_uniform_", shape=[256, 300], kwargs={}),
    dict(name="kaiming_uniform_a_sqrt5", fn="kaiming_uniform_", shape=[128, 64, 3, 3], kwargs=dict(a=math.sqrt(5))),
    dict(name="kaiming_uniform_fan_out_relu", fn="kaiming_uniform_", shape=[64, 96, 3, 3],
         kwargs=dict(mode="fan_out", nonlinearity="relu")),
    dict(name="kaiming_normal_default", fn="kaiming_normal_", shape=[256, 300], kwargs={}),
    dict(name="kaiming_normal_fan_out_relu", fn="kaiming_normal_", shape=[64, 96, 3, 3],
         kwargs=dict(mode="fan_out", nonlinearity="relu")),
    dict(name="kaiming_normal_leaky_02", fn="kaiming_normal_", shape=[200, 400], kwargs=dict(a=0.2)),
    dict(name="xavier_uniform_default", fn="xavier_uniform_", shape=[300, 200], kwargs={}),
    dict(name="xavier_uniform_gain", fn="xavier_uniform_", shape=[32, 16, 5, 5], kwargs=dict(gain=5 / 3)),
    dict(name="xavier_normal_default", fn="xavier_normal_", shape=[300, 200], kwargs={}),
    dict(name="xavier_normal_gain", fn="xavier_normal_", shape=[32, 16, 5, 5], kwargs=dict(gain=1.4)),
]


def torch_init_reference(case: dict) -> dict[str, np.ndarray]:
    """The spread PyTorch's formula prescribes (from its own fan and gain helpers), and a sample's spread."""
    import torch

    weight = torch.empty(case["shape"], dtype=torch.float64)
    kwargs = case["kwargs"]
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(weight)
    if case["fn"].startswith("kaiming"):
        gain = torch.nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0))
        std = gain / math.sqrt(fan_in if kwargs.get("mode", "fan_in") == "fan_in" else fan_out)
    else:
        std = kwargs.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    torch.manual_seed(0)
    getattr(torch.nn.init, case["fn"])(weight, **kwargs)
    sample = weight.numpy()
    res = {"std": np.array(std), "sample_std": np.array(sample.std()), "sample_max": np.abs(sample).max()}
    if "uniform" in case["fn"]:
        res["bound"] = np.array(math.sqrt(3.0) * std)
    return res


# --------------------------------------------------------------------------- files
LAYER_SEED = 5150      # layer case i uses LAYER_SEED + i
OPTIM_SEED = 2718
CLIP_SEED = 31


def torch_framework() -> Framework:
    import torch

    def set_param(p, array):
        with torch.no_grad():
            p.copy_(torch.tensor(array))

    return Framework(nn=torch.nn, F=torch.nn.functional, optim=torch.optim, init=torch.nn.init,
                     clip_grad_norm_=torch.nn.utils.clip_grad_norm_, set_param=set_param,
                     tensor=lambda array, requires_grad=False: torch.tensor(array, requires_grad=requires_grad))


def main() -> None:
    import torch

    warn_if_other_torch(torch.__version__, TORCH_VERSION)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    fw = torch_framework()
    out: dict[str, np.ndarray] = {}
    for i, spec in enumerate(LAYER_SPECS):
        arrays = layer_arrays(spec, LAYER_SEED + i)
        for k, v in arrays.items():
            out[f"layer:{spec['name']}:in:{k}"] = v
        for k, v in run_layer(fw, spec, arrays).items():
            out[f"layer:{spec['name']}:f64:{k}"] = v
    case = optim_case(OPTIM_SEED)
    out.update({f"optim:in:{k}": v for k, v in case.items()})
    for config in OPTIM_CONFIGS:
        for k, v in run_optimizer(fw, config, case).items():
            out[f"optim:{config['name']}:{k}"] = v
    for sched in SCHEDULER_CASES:
        for k, v in run_scheduler(fw, sched).items():
            out[f"sched:{sched['name']}:{k}"] = v
    grads = clip_grads(CLIP_SEED)
    for case in CLIP_CASES:
        for k, v in run_clip(fw, case, grads).items():
            out[f"clip:{case['name']}:{k}"] = v
    out["init:gains"] = np.array([torch.nn.init.calculate_gain(n, p) for n, p in GAIN_CASES])
    for case in INIT_CASES:
        for k, v in torch_init_reference(case).items():
            out[f"init:{case['name']}:{k}"] = v
    out["specs"] = json_array({"layers": LAYER_SPECS, "optim": OPTIM_CONFIGS, "sched": SCHEDULER_CASES,
                               "clip": CLIP_CASES, "gains": GAIN_CASES, "init": INIT_CASES})
    out["meta"] = meta_array(torch.__version__)
    path = os.path.join(HERE, "surface.npz")
    write_npz(path, out)


if __name__ == "__main__":
    main()
