"""Write tests/reference/optim_surface.npz: PyTorch's results for every learning-rate schedule and for the
Adagrad, NAdam and RAdam optimizers.

Run from the repository root, with PyTorch 2.13.0 installed::

    python tests/reference/make_optim_surface_references.py

What it stores (float64; no pickle, so it loads with ``np.load(allow_pickle=False)``):

* ``sched:<name>:...`` -- one schedule, or several on one optimizer (stepped one after another, chained with
  ChainedScheduler, or in sequence with SequentialLR), on SGD or Adam with two parameter groups, some with a
  manual ``group["lr"]`` change between steps or stepped with an explicit epoch (the closed form): the
  learning rates and momenta (SGD's momentum or Adam's beta1) after construction and after every step,
  ``get_last_lr()``, and the keys of ``state_dict()``;
* ``opt:<name>:...`` -- 10 steps of Adagrad, NAdam or RAdam on two parameters with given gradients (one
  gradient missing at a step): the parameters after every step and the final ``state_dict()["state"]``.

The cases run through functions written once against a small adapter (``Framework``: the framework's
``optim`` and a tensor factory), so the tests (tests/core/test_optim_surface.py) run the same code on
minitorch.  Only NumPy is needed to import this module.
"""
from __future__ import annotations

import os
import warnings
from types import SimpleNamespace

import numpy as np
from reference_io import json_array, meta_array, warn_if_other_torch, write_npz

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_VERSION = "2.13.0"
Framework = SimpleNamespace  # optim, tensor(array, requires_grad), set_grad(p, array)


def warmup(epoch: int) -> float:
    return min(1.0, (epoch + 1) / 4)


def decay95(epoch: int) -> float:
    return 0.95


def power9(epoch: int) -> float:
    return 0.9 ** epoch


LAMBDAS = {"warmup": warmup, "decay95": decay95, "power9": power9}

# --------------------------------------------------------------------------- schedules
# ``schedulers``: each {"kind": name, ...arguments}; ``combine``: "one" (a single schedule), "each" (all on
# one optimizer, stepped in turn), "chain" (ChainedScheduler), "sequential" (SequentialLR at ``milestones``).
# ``set_lr``: {epoch: value} written to every group before that epoch's step; ``metrics``: ReduceLROnPlateau's
# value at each step; ``step_epochs``: step(epoch) with these epochs instead of step().
SCHEDULE_CASES: list[dict] = [
    dict(name="exponential_then_step", combine="each", epochs=12,
         schedulers=[dict(kind="ExponentialLR", gamma=0.9), dict(kind="StepLR", step_size=5, gamma=0.5)]),
    dict(name="step_after_manual_change", combine="one", epochs=9, set_lr={"4": 0.5},
         schedulers=[dict(kind="StepLR", step_size=3, gamma=0.1)]),
    dict(name="multistep_after_manual_change", combine="one", epochs=9, set_lr={"2": 0.2},
         schedulers=[dict(kind="MultiStepLR", milestones=[3, 6, 6], gamma=0.5)]),
    dict(name="cosine_after_manual_change", combine="one", epochs=10, set_lr={"3": 0.05},
         schedulers=[dict(kind="CosineAnnealingLR", T_max=5, eta_min=0.001)]),
    dict(name="constant", combine="one", epochs=7, schedulers=[dict(kind="ConstantLR", factor=0.5, total_iters=3)]),
    dict(name="constant_default", combine="one", epochs=7, schedulers=[dict(kind="ConstantLR")]),
    dict(name="linear_warmup", combine="one", epochs=8,
         schedulers=[dict(kind="LinearLR", start_factor=0.25, total_iters=4)]),
    dict(name="linear_decay", combine="one", epochs=8,
         schedulers=[dict(kind="LinearLR", start_factor=1.0, end_factor=0.1, total_iters=5)]),
    dict(name="polynomial_power2", combine="one", epochs=8,
         schedulers=[dict(kind="PolynomialLR", total_iters=5, power=2.0)]),
    dict(name="polynomial_default", combine="one", epochs=7, schedulers=[dict(kind="PolynomialLR")]),
    dict(name="lambda_warmup", combine="one", epochs=6, schedulers=[dict(kind="LambdaLR", fn="warmup")]),
    dict(name="multiplicative", combine="one", epochs=6, schedulers=[dict(kind="MultiplicativeLR", fn="decay95")]),
    dict(name="warm_restarts", combine="one", epochs=16,
         schedulers=[dict(kind="CosineAnnealingWarmRestarts", T_0=3, eta_min=0.001)]),
    dict(name="warm_restarts_mult2", combine="one", epochs=16,
         schedulers=[dict(kind="CosineAnnealingWarmRestarts", T_0=2, T_mult=2)]),
    dict(name="warm_restarts_fractional", combine="one", step_epochs=[0.5, 1.25, 2.0, 3.5, 6.75, 7.0, 13.2],
         schedulers=[dict(kind="CosineAnnealingWarmRestarts", T_0=2, T_mult=2, eta_min=0.002)]),
    dict(name="onecycle_sgd", combine="one", epochs=10,
         schedulers=[dict(kind="OneCycleLR", max_lr=1.0, total_steps=10)]),
    dict(name="onecycle_adam_three_phase_linear", combine="one", epochs=12, optimizer="Adam",
         schedulers=[dict(kind="OneCycleLR", max_lr=[0.01, 0.02], epochs=3, steps_per_epoch=4, pct_start=0.25,
                          anneal_strategy="linear", three_phase=True, div_factor=10.0, final_div_factor=100.0)]),
    dict(name="onecycle_no_momentum", combine="one", epochs=6,
         schedulers=[dict(kind="OneCycleLR", max_lr=0.5, total_steps=6, cycle_momentum=False)]),
    dict(name="plateau_min_rel", combine="one", metrics=[5, 4, 4, 4, 4, 3.9999, 3.9, 3.9, 3.9, 3.9, 3.9, 3.9, 3.9],
         schedulers=[dict(kind="ReduceLROnPlateau", patience=2, cooldown=1, factor=0.5)]),
    dict(name="plateau_max_abs_min_lr", combine="one", metrics=[1, 1.05, 1.2, 1.1, 1.2, 1.25, 1.2, 1.2, 1.2, 1.2],
         schedulers=[dict(kind="ReduceLROnPlateau", mode="max", threshold=0.1, threshold_mode="abs", patience=1,
                          factor=0.2, min_lr=[0.01, 0.0])]),
    dict(name="sequential_warmup_cosine", combine="sequential", milestones=[3], epochs=10,
         schedulers=[dict(kind="LinearLR", start_factor=0.1, total_iters=3), dict(kind="CosineAnnealingLR", T_max=7)]),
    dict(name="sequential_three", combine="sequential", milestones=[2, 5], epochs=9,
         schedulers=[dict(kind="ConstantLR", factor=0.5, total_iters=2), dict(kind="ExponentialLR", gamma=0.8),
                     dict(kind="StepLR", step_size=2, gamma=0.5)]),
    dict(name="chained_constant_exponential", combine="chain", epochs=8,
         schedulers=[dict(kind="ConstantLR", factor=0.5, total_iters=3), dict(kind="ExponentialLR", gamma=0.9)]),
    dict(name="chained_warmup_multistep", combine="chain", epochs=8,
         schedulers=[dict(kind="LinearLR", start_factor=0.5, total_iters=3),
                     dict(kind="MultiStepLR", milestones=[2, 5], gamma=0.3)]),
    dict(name="step_closed_form", combine="one", step_epochs=[1, 2, 5, 3, 9],
         schedulers=[dict(kind="StepLR", step_size=2, gamma=0.5)]),
    dict(name="multistep_closed_form", combine="one", step_epochs=[1, 4, 7, 2],
         schedulers=[dict(kind="MultiStepLR", milestones=[3, 6, 6], gamma=0.1)]),
    dict(name="exponential_closed_form", combine="one", step_epochs=[2, 5, 1],
         schedulers=[dict(kind="ExponentialLR", gamma=0.7)]),
    dict(name="linear_closed_form", combine="one", step_epochs=[1, 3, 9],
         schedulers=[dict(kind="LinearLR", start_factor=0.2, total_iters=4)]),
    dict(name="polynomial_closed_form", combine="one", step_epochs=[2, 4, 1],
         schedulers=[dict(kind="PolynomialLR", total_iters=4, power=1.5)]),
    dict(name="constant_closed_form", combine="one", step_epochs=[1, 4, 2],
         schedulers=[dict(kind="ConstantLR", factor=0.25, total_iters=3)]),
    dict(name="cosine_closed_form", combine="one", step_epochs=[3, 6, 2],
         schedulers=[dict(kind="CosineAnnealingLR", T_max=6, eta_min=0.01)]),
]
GROUP_LRS = (0.1, 0.03)


def build_optimizer(fw: Framework, case: dict):
    params = [fw.tensor(np.zeros(2), requires_grad=True), fw.tensor(np.zeros(3), requires_grad=True)]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, GROUP_LRS, strict=True)]
    if case.get("optimizer") == "Adam":
        return fw.optim.Adam(groups, lr=GROUP_LRS[0])
    return fw.optim.SGD(groups, lr=GROUP_LRS[0], momentum=0.9)


def make_scheduler(fw: Framework, optimizer, spec: dict):
    args = {k: v for k, v in spec.items() if k != "kind"}
    if "fn" in args:
        args["lr_lambda"] = LAMBDAS[args.pop("fn")]
    return getattr(fw.optim.lr_scheduler, spec["kind"])(optimizer, **args)


def momenta(optimizer) -> list[float]:
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in optimizer.param_groups]


def run_schedule(fw: Framework, case: dict) -> dict[str, np.ndarray]:
    """The learning rates and momenta of two groups after construction and after each step."""
    opt = build_optimizer(fw, case)
    schedulers = [make_scheduler(fw, opt, spec) for spec in case["schedulers"]]
    combine = case["combine"]
    if combine == "chain":
        top = fw.optim.lr_scheduler.ChainedScheduler(schedulers)
    elif combine == "sequential":
        top = fw.optim.lr_scheduler.SequentialLR(opt, schedulers, milestones=case["milestones"])
    else:
        top = schedulers[-1]
    stepped = schedulers if combine == "each" else [top]
    rows, last, moms = [[g["lr"] for g in opt.param_groups]], [list(top.get_last_lr())], [momenta(opt)]
    calls = case.get("metrics") or case.get("step_epochs") or [None] * case["epochs"]
    for i, arg in enumerate(calls):
        if str(i) in case.get("set_lr", {}):
            for group in opt.param_groups:
                group["lr"] = case["set_lr"][str(i)]
        opt.step()
        for sched in stepped:
            if "metrics" in case:
                sched.step(arg)
            elif "step_epochs" in case:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # step(epoch) is deprecated, with a warning
                    sched.step(arg)
            else:
                sched.step()
        rows.append([g["lr"] for g in opt.param_groups])
        last.append([float(v) for v in top.get_last_lr()])
        moms.append(momenta(opt))
    keys = sorted(k for k in top.state_dict() if k != "_get_lr_called_within_step")  # torch's warning flag
    return {"lrs": np.array(rows, dtype=np.float64), "last_lr": np.array(last, dtype=np.float64),
            "momenta": np.array(moms, dtype=np.float64), "state_keys": json_array(keys)}


# --------------------------------------------------------------------------- optimizers
OPT_STEPS = 10
OPT_SHAPES = [(4, 3), (3,)]
OPT_CONFIGS: list[dict] = [
    dict(name="adagrad_default", opt="Adagrad", kwargs={}),
    dict(name="adagrad_all", opt="Adagrad", kwargs=dict(lr=0.1, lr_decay=0.05, weight_decay=0.1,
                                                        initial_accumulator_value=0.3, eps=1e-6, maximize=True)),
    dict(name="nadam_default", opt="NAdam", kwargs={}),
    dict(name="nadam_l2", opt="NAdam", kwargs=dict(lr=0.01, betas=[0.8, 0.95], weight_decay=0.1,
                                                   momentum_decay=0.01)),
    dict(name="nadamw_maximize", opt="NAdam", kwargs=dict(lr=0.02, weight_decay=0.2, decoupled_weight_decay=True,
                                                          maximize=True, eps=1e-6)),
    dict(name="radam_default", opt="RAdam", kwargs={}),
    dict(name="radam_l2_low_beta2", opt="RAdam", kwargs=dict(lr=0.01, betas=[0.7, 0.8], weight_decay=0.1)),
    dict(name="radamw_maximize", opt="RAdam", kwargs=dict(lr=0.005, weight_decay=0.3, decoupled_weight_decay=True,
                                                          maximize=True)),
]
MISSING_GRAD = (3, 1)  # at step 3, parameter 1 has no gradient


def opt_case(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    case = {f"param.{i}": rng.uniform(-1, 1, shape) for i, shape in enumerate(OPT_SHAPES)}
    for i, shape in enumerate(OPT_SHAPES):
        case[f"grad.{i}"] = rng.standard_normal((OPT_STEPS, *shape)) * rng.uniform(0.1, 3.0, (OPT_STEPS,) +
                                                                                    (1,) * len(shape))
    return case


def run_optimizer(fw: Framework, config: dict, case: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """10 steps with the case's gradients: the parameters after each step and the final state."""
    params = [fw.tensor(case[f"param.{i}"].copy(), requires_grad=True) for i in range(len(OPT_SHAPES))]
    kwargs = {k: (tuple(v) if k == "betas" else v) for k, v in config["kwargs"].items()}
    opt = getattr(fw.optim, config["opt"])(params, **kwargs)
    traj: list[list[np.ndarray]] = [[] for _ in params]
    for step in range(OPT_STEPS):
        for i, p in enumerate(params):
            fw.set_grad(p, None if (step, i) == MISSING_GRAD else case[f"grad.{i}"][step])
        opt.step()
        for i, p in enumerate(params):
            traj[i].append(to_array(p))
    res = {f"param.{i}": np.stack(t) for i, t in enumerate(traj)}
    for index, entry in opt.state_dict()["state"].items():
        for key, value in entry.items():
            res[f"state.{index}.{key}"] = to_array(value).astype(np.float64)
    return res


def to_array(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach()
    return np.array(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)


# --------------------------------------------------------------------------- files
OPT_SEED = 9001


def torch_framework() -> Framework:
    import torch

    def set_grad(p, array):
        p.grad = None if array is None else torch.tensor(array)

    return Framework(optim=torch.optim, set_grad=set_grad,
                     tensor=lambda array, requires_grad=False: torch.tensor(array, requires_grad=requires_grad))


def main() -> None:
    import torch

    warn_if_other_torch(torch.__version__, TORCH_VERSION)
    torch.set_default_dtype(torch.float64)  # the optimizers' scalar state (step, mu_product) in float64
    fw = torch_framework()
    out: dict[str, np.ndarray] = {}
    for case in SCHEDULE_CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's warnings about the order of optimizer and scheduler steps
            for k, v in run_schedule(fw, case).items():
                out[f"sched:{case['name']}:{k}"] = v
    inputs = opt_case(OPT_SEED)
    out.update({f"opt:in:{k}": v for k, v in inputs.items()})
    for config in OPT_CONFIGS:
        for k, v in run_optimizer(fw, config, inputs).items():
            out[f"opt:{config['name']}:{k}"] = v
    out["specs"] = json_array({"sched": SCHEDULE_CASES, "opt": OPT_CONFIGS})
    out["meta"] = meta_array(torch.__version__)
    path = os.path.join(HERE, "optim_surface.npz")
    write_npz(path, out)


if __name__ == "__main__":
    main()
