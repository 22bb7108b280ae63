"""Write the stored PyTorch reference outputs that tests/test_parity_torch.py and tests/test_optim.py load.

Run from the repository root, with PyTorch 2.13.0 installed::

    python tests/reference/make_references.py

Every input and weight is built deterministically from NumPy seeds by the ``*_case`` functions below;
PyTorch computes the outputs and gradients, and everything goes into small ``.npz`` files next to this
script (no pickle: they load with ``np.load(allow_pickle=False)``):

* ``layers.npz``  -- one case per layer configuration (Linear, Conv2d variants, BatchNorm1d/2d in train and
  eval mode and after several training steps, ReLU, MaxPool2d, Flatten, CrossEntropyLoss, MSELoss,
  log_softmax, softmax): float64 inputs, parameters and upstream gradient, and PyTorch's float64 outputs,
  gradients and running statistics;
* ``coolnet.npz`` -- the whole LeNet-with-BatchNorm network (CoolNet) with identical weights and inputs;
  train-mode forward, a random-upstream backward of the per-sample cross-entropy, the gradients of the
  input and of every parameter, the running statistics after the step, and the eval-mode output after it;
  plus torch's ``state_dict`` keys and ``named_parameters`` names;
* ``optim.npz``   -- ten SGD steps (plain; momentum + weight decay + nesterov; momentum + dampening;
  momentum + weight decay under a StepLR schedule) on a small MLP with BatchNorm: the parameter
  trajectories, learning rates and losses; and a two-group StepLR schedule;
* ``tensor_ops.npz`` -- the tensor ops beyond the layers (cat, stack, norm, max/min along a dim, amax, abs,
  powers at zero, clone/squeeze/unsqueeze, in-place changes recorded in the graph): inputs, outputs, indices,
  the random upstream and the input gradients; and SGD with a parameter that has no gradient at step 1.

Only float64 results are stored.  The float32 parity tests run minitorch in float32 on the same inputs and
compare with these float64 references at 1e-4 (a stricter check than against torch's own float32 run,
which differs from its float64 one by ~1e-6); the live tests also compare with torch's float32 run.

Size (total well under 1 MB): the CoolNet weights and input are dyadic numbers with at most 9 significant
bits, stored as float16 and exactly representable in float32 and float64, so both precisions run on the
very same numbers; CoolNet's large float64 gradients (more than 1000 elements) are stored rounded to
float32 (relative rounding 6e-8, far below the 1e-6 tolerance).

The tests import this module (without running ``main``) to rebuild the same cases with fresh seeds for the
live comparisons when torch is importable; the case builders need only NumPy, and torch is imported inside
the ``run_torch_*`` functions.
"""
from __future__ import annotations

import os

import numpy as np
from reference_io import json_array, warn_if_other_torch, write_npz

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_VERSION = "2.13.0"

# --------------------------------------------------------------------------- layer cases
# Each spec is plain JSON; ``layer_arrays`` draws its inputs from a seed.
LAYER_SPECS: list[dict] = [
    dict(name="linear", kind="linear", x=[5, 7], out=4, bias=True),
    dict(name="linear_nobias", kind="linear", x=[5, 7], out=3, bias=False),
    dict(name="linear_3d", kind="linear", x=[2, 3, 7], out=4, bias=True),
    dict(name="conv_k3_s1_p0", kind="conv2d", x=[2, 3, 7, 6], out=4, k=3, stride=1, padding=0, bias=True),
    dict(name="conv_k3_s2_p1", kind="conv2d", x=[2, 3, 8, 7], out=4, k=3, stride=2, padding=1, bias=True),
    dict(name="conv_k5_s3_p2_nobias", kind="conv2d", x=[2, 2, 9, 11], out=3, k=5, stride=3, padding=2,
         bias=False),
    dict(name="conv_k1_s1_p0", kind="conv2d", x=[2, 3, 5, 4], out=2, k=1, stride=1, padding=0, bias=True),
    dict(name="conv_k1_s2_p1_nobias", kind="conv2d", x=[1, 2, 5, 6], out=3, k=1, stride=2, padding=1,
         bias=False),
    dict(name="conv_k5_s1_p2", kind="conv2d", x=[1, 3, 6, 8], out=2, k=5, stride=1, padding=2, bias=True),
    dict(name="conv_k5_s2_p0", kind="conv2d", x=[2, 2, 9, 12], out=3, k=5, stride=2, padding=0, bias=True),
    dict(name="conv_k3_s3_p1_nobias", kind="conv2d", x=[2, 2, 10, 7], out=2, k=3, stride=3, padding=1,
         bias=False),
    dict(name="bn1d_train", kind="batchnorm", dim=1, x=[6, 4], train=True),
    dict(name="bn1d_train_3d", kind="batchnorm", dim=1, x=[4, 3, 5], train=True),
    dict(name="bn2d_train", kind="batchnorm", dim=2, x=[3, 3, 4, 5], train=True),
    dict(name="bn1d_eval", kind="batchnorm", dim=1, x=[6, 4], train=False),
    dict(name="bn1d_eval_3d", kind="batchnorm", dim=1, x=[4, 3, 5], train=False),
    dict(name="bn2d_eval", kind="batchnorm", dim=2, x=[3, 3, 4, 5], train=False),
    dict(name="bn2d_steps", kind="batchnorm_steps", dim=2, x=[2, 3, 4, 5], steps=3, momentum=0.1),
    dict(name="bn1d_steps_momentum03", kind="batchnorm_steps", dim=1, x=[5, 6], steps=4, momentum=0.3),
    dict(name="bn1d_steps_cumulative", kind="batchnorm_steps", dim=1, x=[4, 3, 5], steps=3, momentum=None),
    dict(name="relu", kind="relu", x=[3, 5, 4]),
    dict(name="maxpool_k2_s2_p0", kind="maxpool", x=[2, 3, 6, 8], k=2, stride=2, padding=0),
    dict(name="maxpool_k3_s2_p1", kind="maxpool", x=[2, 2, 7, 9], k=3, stride=2, padding=1),
    dict(name="maxpool_k3_s1_p1", kind="maxpool", x=[1, 2, 5, 6], k=3, stride=1, padding=1),
    dict(name="maxpool_k2_s1_p0", kind="maxpool", x=[2, 2, 5, 4], k=2, stride=1, padding=0),
    dict(name="maxpool_k3_s3_p0", kind="maxpool", x=[1, 3, 9, 7], k=3, stride=3, padding=0),
    dict(name="maxpool_k2_s2_p1", kind="maxpool", x=[1, 2, 5, 7], k=2, stride=2, padding=1),
    dict(name="flatten", kind="flatten", x=[2, 3, 2, 3], start_dim=1, end_dim=-1),
    dict(name="flatten_2_3", kind="flatten", x=[2, 3, 2, 3], start_dim=2, end_dim=3),
    dict(name="cross_entropy_mean", kind="cross_entropy", x=[6, 5], reduction="mean"),
    dict(name="cross_entropy_sum", kind="cross_entropy", x=[6, 5], reduction="sum"),
    dict(name="cross_entropy_none", kind="cross_entropy", x=[6, 5], reduction="none"),
    dict(name="mse_mean", kind="mse", x=[4, 3], reduction="mean"),
    dict(name="mse_sum", kind="mse", x=[4, 3], reduction="sum"),
    dict(name="mse_none", kind="mse", x=[4, 3], reduction="none"),
    dict(name="log_softmax_dim1", kind="log_softmax", x=[4, 6], dim=1),
    dict(name="log_softmax_dim0", kind="log_softmax", x=[4, 6], dim=0),
    dict(name="softmax_last", kind="softmax", x=[3, 5], dim=-1),
    dict(name="softmax_3d_dim1", kind="softmax", x=[2, 4, 3], dim=1),
]


def _out_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def tie_free(rng: np.random.Generator, shape) -> np.ndarray:
    """Values with no ties (spacing 0.05 plus jitter well below it): max-pool windows have one maximum."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2) * 0.05 + rng.uniform(-0.01, 0.01, n)).reshape(shape)


def layer_arrays(spec: dict, seed: int) -> dict[str, np.ndarray]:
    """The float64 inputs, parameters and upstream gradient of one layer case."""
    rng = np.random.default_rng(seed)
    kind, xs = spec["kind"], tuple(spec["x"])
    a: dict[str, np.ndarray] = {}
    if kind == "linear":
        bound = 1 / np.sqrt(xs[-1])
        a["x"] = rng.standard_normal(xs)
        a["weight"] = rng.uniform(-bound, bound, (spec["out"], xs[-1]))
        if spec["bias"]:
            a["bias"] = rng.uniform(-bound, bound, spec["out"])
        a["upstream"] = rng.standard_normal(xs[:-1] + (spec["out"],))
    elif kind == "conv2d":
        N, C, H, W = xs
        k, s, p, O = spec["k"], spec["stride"], spec["padding"], spec["out"]
        bound = 1 / np.sqrt(C * k * k)
        a["x"] = rng.standard_normal(xs)
        a["weight"] = rng.uniform(-bound, bound, (O, C, k, k))
        if spec["bias"]:
            a["bias"] = rng.uniform(-bound, bound, O)
        a["upstream"] = rng.standard_normal((N, O, _out_size(H, k, s, p), _out_size(W, k, s, p)))
    elif kind in ("batchnorm", "batchnorm_steps"):
        C = xs[1]
        a["weight"] = rng.uniform(0.5, 1.5, C)
        a["bias"] = rng.standard_normal(C)
        if kind == "batchnorm":
            # a shifted, scaled input so that the statistics are far from (0, 1)
            a["x"] = rng.standard_normal(xs) * rng.uniform(0.5, 3.0, (1, C) + (1,) * (len(xs) - 2)) + 1.5
            a["running_mean"] = rng.standard_normal(C) * 0.5
            a["running_var"] = rng.uniform(0.5, 2.0, C)
        else:
            for step in range(spec["steps"]):
                a[f"x{step}"] = rng.standard_normal(xs) * (1 + step) + (step - 1.0)
            a["x"] = rng.standard_normal(xs)  # evaluated in eval mode after the training steps
        a["upstream"] = rng.standard_normal(xs)
    elif kind == "relu":
        a["x"] = rng.choice([-1.0, 1.0], xs) * rng.uniform(0.1, 2.0, xs)  # away from the kink
        a["upstream"] = rng.standard_normal(xs)
    elif kind == "maxpool":
        N, C, H, W = xs
        k, s, p = spec["k"], spec["stride"], spec["padding"]
        a["x"] = tie_free(rng, xs)
        a["upstream"] = rng.standard_normal((N, C, _out_size(H, k, s, p), _out_size(W, k, s, p)))
    elif kind == "flatten":
        a["x"] = rng.standard_normal(xs)
        start, end = spec["start_dim"] % len(xs), spec["end_dim"] % len(xs)
        out = xs[:start] + (int(np.prod(xs[start:end + 1])),) + xs[end + 1:]
        a["upstream"] = rng.standard_normal(out)
    elif kind == "cross_entropy":
        a["x"] = rng.standard_normal(xs) * 2
        a["target"] = rng.integers(0, xs[1], xs[0]).astype(np.int64)
        a["upstream"] = rng.standard_normal(() if spec["reduction"] != "none" else (xs[0],))
    elif kind == "mse":
        a["x"] = rng.standard_normal(xs)
        a["target"] = rng.standard_normal(xs)
        a["upstream"] = rng.standard_normal(() if spec["reduction"] != "none" else xs)
    elif kind in ("log_softmax", "softmax"):
        a["x"] = rng.standard_normal(xs) * 2
        a["upstream"] = rng.standard_normal(xs)
    else:  # pragma: no cover
        raise ValueError(kind)
    return a


def cast_inputs(arrays: dict[str, np.ndarray], dtype) -> dict[str, np.ndarray]:
    """Float arrays to ``dtype``; integer arrays (targets) unchanged."""
    return {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in arrays.items()}


def layer_from_spec(nn, spec: dict):
    """The layer a case tests, built with either framework's ``nn``; None for op-only cases."""
    kind = spec["kind"]
    if kind == "linear":
        return nn.Linear(spec["x"][-1], spec["out"], bias=spec["bias"])
    if kind == "conv2d":
        return nn.Conv2d(spec["x"][1], spec["out"], spec["k"], stride=spec["stride"], padding=spec["padding"],
                         bias=spec["bias"])
    if kind in ("batchnorm", "batchnorm_steps"):
        cls = nn.BatchNorm1d if spec["dim"] == 1 else nn.BatchNorm2d
        return cls(spec["x"][1], momentum=spec.get("momentum", 0.1))
    if kind == "maxpool":
        return nn.MaxPool2d(spec["k"], stride=spec["stride"], padding=spec["padding"])
    if kind == "relu":
        return nn.ReLU()
    if kind == "flatten":
        return nn.Flatten(spec["start_dim"], spec["end_dim"])
    return None


def run_torch_layer(spec: dict, arrays: dict[str, np.ndarray], dtype) -> dict[str, np.ndarray]:
    """Forward and backward (with ``arrays['upstream']``) in PyTorch; returns outputs and gradients."""
    import torch
    import torch.nn as tnn
    import torch.nn.functional as TF

    tdt = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    arrays = cast_inputs(arrays, dtype)
    T = lambda v, rg=False: torch.tensor(v, requires_grad=rg)  # noqa: E731
    kind = spec["kind"]
    res: dict[str, np.ndarray] = {}
    module = layer_from_spec(tnn, spec)
    if module is not None:
        module.to(tdt)
        with torch.no_grad():
            for name, p in module.named_parameters():
                p.copy_(T(arrays[name]))
            if kind == "batchnorm" and not spec["train"]:
                module.running_mean.copy_(T(arrays["running_mean"]))
                module.running_var.copy_(T(arrays["running_var"]))
        if kind == "batchnorm":
            module.train(spec["train"])
        if kind == "batchnorm_steps":
            module.train()
            with torch.no_grad():
                for step in range(spec["steps"]):
                    module(T(arrays[f"x{step}"]))
            module.eval()
    x = T(arrays["x"], True)
    if module is not None:
        out = module(x)
    elif kind == "cross_entropy":
        out = tnn.CrossEntropyLoss(reduction=spec["reduction"])(x, torch.tensor(arrays["target"]))
    elif kind == "mse":
        target = T(arrays["target"], True)
        out = tnn.MSELoss(reduction=spec["reduction"])(x, target)
    elif kind == "log_softmax":
        out = TF.log_softmax(x, dim=spec["dim"])
    elif kind == "softmax":
        out = TF.softmax(x, dim=spec["dim"])
    else:  # pragma: no cover
        raise ValueError(kind)
    out.backward(T(arrays["upstream"]))
    res["out"] = out.detach().numpy()
    res["grad.x"] = x.grad.numpy()
    if kind == "mse":
        res["grad.target"] = target.grad.numpy()
    if module is not None:
        for name, p in module.named_parameters():
            res[f"grad.{name}"] = p.grad.numpy()
        for name, b in module.named_buffers():
            res[name] = b.numpy().copy()
    return res


# --------------------------------------------------------------------------- CoolNet
COOLNET_BATCH = 4  # BatchNorm1d over a batch of 2 gives ~zero gradients (x_hat = +-1); 4 is informative


def coolnet_layers(nn) -> list:
    """LeNet with BatchNorm, written once against either framework's ``nn`` (torch.nn or minitorch.nn)."""
    return [
        nn.Conv2d(3, 6, 5), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.BatchNorm1d(120), nn.ReLU(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(),
        nn.Linear(84, 10),
    ]


def coolnet_torch(dtype):
    import torch
    import torch.nn as tnn

    tdt = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    return tnn.Sequential(*coolnet_layers(tnn)).to(tdt)


# (name, shape) of every parameter, in registration order, as in torch's state_dict
COOLNET_PARAMS = [
    ("0.weight", (6, 3, 5, 5)), ("0.bias", (6,)), ("1.weight", (6,)), ("1.bias", (6,)),
    ("4.weight", (16, 6, 5, 5)), ("4.bias", (16,)), ("5.weight", (16,)), ("5.bias", (16,)),
    ("9.weight", (120, 400)), ("9.bias", (120,)), ("10.weight", (120,)), ("10.bias", (120,)),
    ("12.weight", (84, 120)), ("12.bias", (84,)), ("13.weight", (84,)), ("13.bias", (84,)),
    ("15.weight", (10, 84)), ("15.bias", (10,)),
]
COOLNET_BN = ["1", "5", "10", "13"]


def _dyadic(rng: np.random.Generator, shape, center: float, half_width: float) -> np.ndarray:
    """Uniform-ish values center + (q + 1/2) * 2**-e, q in [-128, 128): at most 9 significant bits, so
    exactly representable in float16, float32 and float64 (and compressible when stored as float16)."""
    e = int(np.round(np.log2(128 / half_width)))
    return center + (rng.integers(-128, 128, shape) + 0.5) * 2.0 ** -e


def coolnet_case(seed: int, batch: int = COOLNET_BATCH) -> dict[str, np.ndarray]:
    """Weights (PyTorch-like ranges), input, targets, upstream; the float values are float16-exact."""
    rng = np.random.default_rng(seed)
    a: dict[str, np.ndarray] = {}
    fan_in = {"0": 75, "4": 150, "9": 400, "12": 120, "15": 84}
    for name, shape in COOLNET_PARAMS:
        layer, kind = name.split(".")
        if layer in fan_in:
            a[name] = _dyadic(rng, shape, 0.0, 1 / np.sqrt(fan_in[layer]))
        elif kind == "weight":  # BatchNorm scale
            a[name] = _dyadic(rng, shape, 1.0, 0.5)
        else:  # BatchNorm shift
            a[name] = _dyadic(rng, shape, 0.0, 0.25)
    a["x"] = np.clip(np.round(rng.standard_normal((batch, 3, 32, 32)) * 32), -127, 127) / 32
    a = {k: v.astype(np.float16) for k, v in a.items()}
    a["y"] = rng.integers(0, 10, batch).astype(np.int64)
    a["upstream"] = rng.standard_normal(batch)
    return a


def run_torch_coolnet(case: dict[str, np.ndarray], dtype) -> dict[str, np.ndarray]:
    """Train-mode forward, CE(reduction='none') backward with a random upstream, then eval forward."""
    import torch
    import torch.nn.functional as TF

    net = coolnet_torch(dtype)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.tensor(case[name].astype(dtype)))
    net.train()
    x = torch.tensor(case["x"].astype(dtype), requires_grad=True)
    logits = net(x)
    loss = TF.cross_entropy(logits, torch.tensor(case["y"]), reduction="none")
    loss.backward(torch.tensor(case["upstream"].astype(dtype)))
    res = {"logits": logits.detach().numpy(), "loss": loss.detach().numpy(), "grad.x": x.grad.numpy()}
    for name, p in net.named_parameters():
        res[f"grad.{name}"] = p.grad.numpy()
    for name, b in net.named_buffers():
        res[f"after.{name}"] = b.numpy().copy()
    net.eval()
    with torch.no_grad():
        res["eval_logits"] = net(torch.tensor(case["x"].astype(dtype))).numpy()
    return res


# --------------------------------------------------------------------------- SGD
SGD_CONFIGS: list[dict] = [
    dict(name="plain", lr=0.1),
    dict(name="momentum_wd_nesterov", lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True),
    dict(name="momentum_dampening", lr=0.05, momentum=0.8, dampening=0.3),
    dict(name="momentum_wd_steplr", lr=0.2, momentum=0.9, weight_decay=5e-3, step_size=3, gamma=0.5),
]
SGD_STEPS = 10
MLP_PARAMS = [("0.weight", (8, 6)), ("0.bias", (8,)), ("1.weight", (8,)), ("1.bias", (8,)),
              ("3.weight", (3, 8)), ("3.bias", (3,))]


def sgd_case(seed: int) -> dict[str, np.ndarray]:
    """Initial MLP weights, ten batches, targets and per-sample loss weights (a random upstream)."""
    rng = np.random.default_rng(seed)
    a = {name: rng.uniform(-0.5, 0.5, shape) for name, shape in MLP_PARAMS}
    a["1.weight"] = rng.uniform(0.5, 1.5, 8)
    a["x"] = rng.standard_normal((SGD_STEPS, 8, 6))
    a["y"] = rng.integers(0, 3, (SGD_STEPS, 8)).astype(np.int64)
    a["upstream"] = rng.uniform(0.1, 1.0, (SGD_STEPS, 8))
    return a


def sgd_kwargs(config: dict) -> dict:
    return {k: config[k] for k in ("lr", "momentum", "dampening", "weight_decay", "nesterov") if k in config}


def run_torch_sgd(case: dict[str, np.ndarray], config: dict, dtype=np.float64) -> dict[str, np.ndarray]:
    """Ten steps of torch.optim.SGD (see :func:`sgd_trajectory`)."""
    import torch
    import torch.nn as tnn
    import torch.nn.functional as TF

    tdt = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    net = tnn.Sequential(tnn.Linear(6, 8), tnn.BatchNorm1d(8), tnn.ReLU(), tnn.Linear(8, 3)).to(tdt)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.tensor(case[name].astype(dtype)))
    opt = torch.optim.SGD(net.parameters(), **sgd_kwargs(config))
    sched = None
    if "step_size" in config:
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=config["step_size"], gamma=config["gamma"])
    return sgd_trajectory(net, opt, sched, case, dtype, torch.tensor, TF.cross_entropy)


def sgd_trajectory(net, opt, sched, case: dict[str, np.ndarray], dtype, tensor, cross_entropy) -> dict[str, np.ndarray]:
    """Ten SGD steps on the case's batches, written once for both frameworks (``tensor`` and
    ``cross_entropy`` are torch's or minitorch's): the parameters after each step (stacked), the lr
    used at each step, the losses, and the buffers at the end."""
    traj = {name: [] for name, _ in MLP_PARAMS}
    lrs, losses = [], []
    for step in range(SGD_STEPS):
        out = net(tensor(case["x"][step].astype(dtype)))
        per_sample = cross_entropy(out, tensor(case["y"][step]), reduction="none")
        loss = (per_sample * tensor(case["upstream"][step].astype(dtype))).sum()
        opt.zero_grad()
        loss.backward()
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(loss.item())
        for name, p in net.named_parameters():
            traj[name].append(p.detach().numpy().copy())
    res = {f"param.{k}": np.stack(v) for k, v in traj.items()}
    res["lr"] = np.array(lrs)
    res["loss"] = np.array(losses)
    for name, b in net.named_buffers():
        res[f"after.{name}"] = b.numpy().copy()
    return res


STEPLR_CASE = dict(lrs=[0.1, 0.03], step_size=3, gamma=0.5, epochs=12)


def run_torch_steplr(case: dict = STEPLR_CASE) -> np.ndarray:
    """The lr of each group after construction and after each of ``epochs`` scheduler steps."""
    import torch

    params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    opt = torch.optim.SGD([{"params": [params[0]], "lr": case["lrs"][0]},
                           {"params": [params[1]], "lr": case["lrs"][1]}], lr=case["lrs"][0])
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=case["step_size"], gamma=case["gamma"])
    rows = [[g["lr"] for g in opt.param_groups]]
    for _ in range(case["epochs"]):
        opt.step()
        sched.step()
        rows.append([g["lr"] for g in opt.param_groups])
    return np.array(rows)


# --------------------------------------------------------------------------- tensor ops and edge cases
# Each case: (fn(lib, *tensors) -> output or (values, indices), input shapes), written once against either
# framework's top-level module (torch or minitorch), whose names and methods agree.
INF = float("inf")
TENSOR_OP_CASES: dict = {
    "cat_dim0": (lambda lib, a, b: lib.cat([a, b], 0), [(2, 3), (4, 3)]),
    "cat_dim_neg2": (lambda lib, a, b, c: lib.cat((a, b, c), dim=-2), [(2, 1, 3), (2, 4, 3), (2, 2, 3)]),
    "stack_dim0": (lambda lib, a, b, c: lib.stack([a, b, c]), [(3, 4), (3, 4), (3, 4)]),
    "stack_dim_last": (lambda lib, a, b: lib.stack([a, b], dim=-1), [(2, 3), (2, 3)]),
    "norm_fro": (lambda lib, x: x.norm(), [(3, 4)]),
    "norm_p1_dim1": (lambda lib, x: x.norm(1, dim=1), [(3, 4)]),
    "norm_p3_dim0_keepdim": (lambda lib, x: x.norm(3, dim=0, keepdim=True), [(3, 4)]),
    "norm_p2_5_dims": (lambda lib, x: x.norm(2.5, dim=(0, 2)), [(2, 3, 4)]),
    "norm_inf": (lambda lib, x: x.norm(INF), [(3, 4)]),
    "norm_zero_row": (lambda lib, x: x.norm(dim=1), [(3, 4)]),
    "max_dim1": (lambda lib, x: lib.max(x, 1), [(3, 5)]),
    "max_dim0_keepdim": (lambda lib, x: x.max(dim=0, keepdim=True), [(3, 5)]),
    "min_dim_neg1": (lambda lib, x: x.min(-1), [(2, 3, 4)]),
    "max_dim_ties": (lambda lib, x: x.max(1), [(2, 3)]),
    "max_all_ties": (lambda lib, x: x.max(), [(2, 3)]),
    "amax_dims_ties": (lambda lib, x: x.amax((0, 2)), [(2, 2, 3)]),
    "abs_with_zeros": (lambda lib, x: x.abs(), [(3, 4)]),
    "pow_at_zero": (lambda lib, a, b: a ** b + 3 * a ** 0, [(5,), (5,)]),
    "clone_squeeze_unsqueeze": (lambda lib, x: x.clone().unsqueeze(1).squeeze(0) * x.unsqueeze(-1), [(1, 3)]),
    "inplace_nonleaf": (lambda lib, x, y: _inplace_chain(x, y), [(3, 4), (4,)]),
    "setitem_nonleaf": (lambda lib, x, v: _setitem_chain(x, v), [(4, 3), (3,)]),
    "copy_nonleaf": (lambda lib, x, v: _copy_chain(x, v), [(2, 3), (3,)]),
}


def _inplace_chain(x, y):
    h = x * 2
    h.add_(y, alpha=0.5)
    h.mul_(y)
    h += x
    h -= 1.5
    h /= 2
    return h


def _setitem_chain(x, v):
    h = x * 1.5
    h[1] = v * 2
    h[:, 0] = 7.0
    return h * x


def _copy_chain(x, v):
    h = x * 3
    h.copy_(v * v)
    return h + x


def tensor_op_inputs(name: str, seed: int) -> list[np.ndarray]:
    """The float64 inputs of one case: normal values, except where the case is about ties or zeros."""
    rng = np.random.default_rng(seed)
    if name == "max_dim_ties" or name == "max_all_ties":
        return [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]
    if name == "amax_dims_ties":
        return [np.array([[[1.0, 5.0, 2.0], [5.0, 0.0, 2.0]], [[3.0, 1.0, 2.0], [0.5, 5.0, 1.0]]])]
    if name == "pow_at_zero":
        return [np.array([0.0, 0.0, 0.0, 2.0, 1.5]), np.array([0.0, 1.0, 2.5, 0.0, 1.3])]
    arrays = [rng.standard_normal(shape) for shape in TENSOR_OP_CASES[name][1]]
    if name == "norm_zero_row":
        arrays[0][1] = 0.0
    if name == "abs_with_zeros":
        arrays[0][0, :2] = 0.0
    return arrays


def run_tensor_op(lib, name: str, arrays: list[np.ndarray], upstream: np.ndarray | None = None):
    """Forward, then backward with ``upstream`` (drawn from the output's shape when None): the output,
    indices (for max/min along a dim), the input gradients and the upstream used."""
    fn = TENSOR_OP_CASES[name][0]
    inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *inputs)
    res: dict[str, np.ndarray] = {}
    if isinstance(out, tuple):
        out, indices = out
        res["indices"] = indices.numpy()
    if upstream is None:
        upstream = np.random.default_rng(len(name)).standard_normal(tuple(out.shape))
    out.backward(lib.tensor(upstream))
    res["out"] = out.detach().numpy()
    res["upstream"] = upstream
    for i, t in enumerate(inputs):
        res[f"grad{i}"] = t.grad.numpy()
    return res


def sgd_first_step_without_grad(lib) -> np.ndarray:
    """p1 has no gradient on step 1; momentum, weight decay and Nesterov; p0 and p1 after each step."""
    p0 = lib.tensor(np.array([1.0, -2.0]), requires_grad=True)
    p1 = lib.tensor(np.array([0.5]), requires_grad=True)
    opt = lib.optim.SGD([p0, p1], lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    grads = [(np.array([1.0, 0.5]), None), (np.array([1.0, -1.0]), np.array([2.0])),
             (np.array([0.25, 0.5]), np.array([-1.0]))]
    rows = []
    for g0, g1 in grads:
        p0.grad = lib.tensor(g0)
        p1.grad = None if g1 is None else lib.tensor(g1)
        opt.step()
        rows.append(np.concatenate([p0.detach().numpy(), p1.detach().numpy()]))
    return np.stack(rows)


# --------------------------------------------------------------------------- seeds and files
LAYER_SEED = 1234      # case i uses LAYER_SEED + i
COOLNET_SEED = 2024
SGD_SEED = 77
TENSOR_OP_SEED = 555  # case i uses TENSOR_OP_SEED + i


def main() -> None:
    import torch

    warn_if_other_torch(torch.__version__, TORCH_VERSION)
    torch.use_deterministic_algorithms(True)
    meta = {"torch": torch.__version__, "numpy": np.__version__}

    out: dict[str, np.ndarray] = {}
    for i, spec in enumerate(LAYER_SPECS):
        arrays = layer_arrays(spec, LAYER_SEED + i)
        for k, v in arrays.items():
            out[f"{spec['name']}:in:{k}"] = v
        for k, v in run_torch_layer(spec, arrays, np.float64).items():
            out[f"{spec['name']}:f64:{k}"] = v
    out["specs"] = json_array(LAYER_SPECS)
    out["meta"] = json_array(meta)
    write_npz(os.path.join(HERE, "layers.npz"), out)

    case = coolnet_case(COOLNET_SEED)
    out = {f"in:{k}": v for k, v in case.items()}
    for k, v in run_torch_coolnet(case, np.float64).items():
        # float64 results: small ones exact, the big gradients rounded to float32 (see the docstring)
        out[f"f64:{k}"] = v.astype(np.float32) if v.dtype == np.float64 and v.size > 1000 else v
    net = coolnet_torch(np.float64)
    out["state_dict_keys"] = np.array(list(net.state_dict().keys()))
    out["named_parameters"] = np.array([n for n, _ in net.named_parameters()])
    out["meta"] = json_array(meta)
    write_npz(os.path.join(HERE, "coolnet.npz"), out)

    case = sgd_case(SGD_SEED)
    out = {f"in:{k}": v for k, v in case.items()}
    for config in SGD_CONFIGS:
        for k, v in run_torch_sgd(case, config).items():
            out[f"{config['name']}:{k}"] = v
    out["steplr:lrs"] = run_torch_steplr()
    out["configs"] = json_array({"sgd": SGD_CONFIGS, "steplr": STEPLR_CASE})
    out["meta"] = json_array(meta)
    write_npz(os.path.join(HERE, "optim.npz"), out)
    write_tensor_ops(torch, meta)


def write_tensor_ops(torch, meta: dict) -> None:
    out = {}
    for i, name in enumerate(TENSOR_OP_CASES):
        arrays = tensor_op_inputs(name, TENSOR_OP_SEED + i)
        for k, v in enumerate(arrays):
            out[f"{name}:in{k}"] = v
        for k, v in run_tensor_op(torch, name, arrays).items():
            out[f"{name}:{k}"] = v
    out["sgd_first_step_without_grad"] = sgd_first_step_without_grad(torch)
    out["meta"] = json_array(meta)
    write_npz(os.path.join(HERE, "tensor_ops.npz"), out)


if __name__ == "__main__":
    main()
