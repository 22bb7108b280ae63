"""Every learning-rate schedule, and Adagrad, NAdam and RAdam, against PyTorch and beyond it.

Stored tests load tests/reference/optim_surface.npz (written by
tests/reference/make_optim_surface_references.py with torch 2.13.0) and need no torch; they run the same
case runners on minitorch.  The other tests pin the behaviour the references cannot show: schedules that
compose, state dicts that resume (through mt.save), checkpoints in the earlier format, and bad arguments.
"""
from __future__ import annotations

import importlib
import re

import numpy as np
import pytest
from mt_core_helpers import assert_close, reference
from reference_io import from_json_array

import minitorch as mt
import minitorch.nn as nn
from minitorch.nn.parameter import data_array
from minitorch.optim import lr_scheduler

MOR = importlib.import_module("make_optim_surface_references")
STORED = reference("optim_surface")
FW = MOR.Framework(optim=mt.optim, tensor=lambda array, requires_grad=False: mt.tensor(array,
                                                                                     requires_grad=requires_grad),
                   set_grad=lambda p, array: setattr(p, "grad", None if array is None else mt.tensor(array)))


def stored(prefix: str) -> dict[str, np.ndarray]:
    n = len(prefix) + 1
    return {k[n:]: v for k, v in STORED.items() if k.startswith(prefix + ":")}


def esc(text: str) -> str:
    return re.escape(text)


def test_stored_cases_are_current_and_cover_every_schedule():
    specs = from_json_array(STORED["specs"])
    assert specs["sched"] == MOR.SCHEDULE_CASES and specs["opt"] == MOR.OPT_CONFIGS, \
        "optim_surface.npz is stale: rerun make_optim_surface_references.py"
    kinds = {s["kind"] for case in MOR.SCHEDULE_CASES for s in case["schedulers"]}
    kinds |= {"ChainedScheduler" for c in MOR.SCHEDULE_CASES if c["combine"] == "chain"}
    kinds |= {"SequentialLR" for c in MOR.SCHEDULE_CASES if c["combine"] == "sequential"}
    assert kinds == set(lr_scheduler.__all__) - {"LRScheduler"}
    assert {c["opt"] for c in MOR.OPT_CONFIGS} == {"Adagrad", "NAdam", "RAdam"}


# ----------------------------------------------------------------------------- schedules
@pytest.mark.parametrize("case", MOR.SCHEDULE_CASES, ids=[c["name"] for c in MOR.SCHEDULE_CASES])
def test_schedule_matches_stored_torch(case):
    actual, expected = MOR.run_schedule(FW, case), stored(f"sched:{case['name']}")
    for key in ("lrs", "last_lr", "momenta"):
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-13, atol=1e-17, err_msg=key)
    assert from_json_array(actual["state_keys"]) == from_json_array(expected["state_keys"])


def sgd(*lrs):
    return mt.optim.SGD([{"params": [nn.Parameter(mt.zeros(1))], "lr": lr} for lr in lrs], lr=lrs[0])


def test_two_schedules_on_one_optimizer_compose():
    """Each applies its factor to the current rate: 0.9 ** 3 after three epochs (StepLR waits for epoch 5)."""
    opt = sgd(1.0)
    schedules = [lr_scheduler.ExponentialLR(opt, 0.9), lr_scheduler.StepLR(opt, 5, 0.5)]
    for _ in range(3):
        for s in schedules:
            s.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.729, rel=1e-15)
    for _ in range(2):
        for s in schedules:
            s.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.9 ** 5 * 0.5, rel=1e-15)


def test_a_manual_change_carries_forward():
    opt = sgd(1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    sched.step()
    opt.param_groups[0]["lr"] = 0.1
    sched.step()
    assert opt.param_groups[0]["lr"] == 0.05 == sched.get_last_lr()[0]


def test_step_with_an_epoch_uses_the_closed_form_and_warns():
    opt = sgd(1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`"):
        sched.step(5)
    assert opt.param_groups[0]["lr"] == 0.25 and sched.last_epoch == 5  # 1.0 * 0.5 ** (5 // 2)


def run(build, epochs, metrics=None):
    opt = sgd(0.1, 0.03)
    sched = build(opt)
    for e in range(epochs):
        sched.step(*([metrics[e]] if metrics else []))
    return opt, sched


RESUMABLE = {
    "step": (lambda opt: lr_scheduler.StepLR(opt, 3, 0.5), None),
    "onecycle": (lambda opt: lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=12), None),
    "warm_restarts": (lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2), None),
    "plateau": (lambda opt: lr_scheduler.ReduceLROnPlateau(opt, patience=1),
                [3.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
    "sequential": (lambda opt: lr_scheduler.SequentialLR(
        opt, [lr_scheduler.LinearLR(opt, 0.2, total_iters=3), lr_scheduler.ExponentialLR(opt, 0.8)], [4]), None),
    "chained": (lambda opt: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(opt, 0.5, 2), lr_scheduler.MultiStepLR(opt, [3, 5], 0.1)]), None),
    "polynomial": (lambda opt: lr_scheduler.PolynomialLR(opt, total_iters=8, power=0.5), None),
}


@pytest.mark.parametrize("name", sorted(RESUMABLE))
def test_state_dicts_saved_midway_resume_the_same_rates(name, tmp_path):
    build, metrics = RESUMABLE[name]
    whole, _ = run(build, 11, metrics)
    opt, sched = run(build, 5, metrics)
    mt.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt")
    opt2 = sgd(0.1, 0.03)
    sched2 = build(opt2)
    loaded = mt.load(tmp_path / "ckpt")
    opt2.load_state_dict(loaded["opt"])
    sched2.load_state_dict(loaded["sched"])
    for e in range(5, 11):
        sched2.step(*([metrics[e]] if metrics else []))
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in whole.param_groups]
    assert sched2.get_last_lr() == [g["lr"] for g in whole.param_groups]


def test_a_steplr_state_in_the_earlier_format_still_loads():
    """hw5 checkpoints written before StepLR became chainable: the same keys, so they resume as before."""
    opt = mt.optim.SGD([nn.Parameter(mt.zeros(1))], lr=0.05)
    opt.param_groups[0].update(lr=0.0125, initial_lr=0.05)  # as the checkpoint's optimizer state holds them
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    sched.load_state_dict({"step_size": 2, "gamma": 0.5, "base_lrs": [0.05], "last_epoch": 4, "_step_count": 5,
                           "_is_initial": False, "_last_lr": [0.0125]})
    rates = []
    for _ in range(4):
        sched.step()
        rates.append(opt.param_groups[0]["lr"])
    assert rates == [0.0125, 0.00625, 0.00625, 0.003125]


def test_lambda_returning_a_non_number_is_one_clear_error():
    with pytest.raises(TypeError, match=esc("LambdaLR: lr_lambda (group 0) returned str 'fast' at epoch 0; "
                                            "it must return a number")):
        lr_scheduler.LambdaLR(sgd(0.1), lambda epoch: "fast")
    opt = sgd(0.1, 0.2)
    sched = lr_scheduler.LambdaLR(opt, [lambda e: 1.0, lambda e: [0.5] if e == 2 else 1.0])
    sched.step()
    with pytest.raises(TypeError, match=esc("LambdaLR: lr_lambda (group 1) returned list [0.5] at epoch 2")):
        sched.step()
    sched = lr_scheduler.LambdaLR(sgd(0.1), lambda e: mt.tensor(0.5))  # a one-element tensor is a number
    assert sched.get_last_lr() == [0.05]


@pytest.mark.parametrize("make,error,message", [
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=-1), ValueError,
     "ExponentialLR: invalid gamma -1; it must be finite, >= 0"),
    (lambda o: lr_scheduler.StepLR(o, step_size=2.5), TypeError, "StepLR: step_size must be an integer, got float 2.5"),
    (lambda o: lr_scheduler.MultiStepLR(o, [3, -1]), ValueError, "MultiStepLR: each milestone must be >= 0, got -1"),
    (lambda o: lr_scheduler.ConstantLR(o, factor=1.5), ValueError,
     "ConstantLR: invalid factor 1.5; it must be finite, >= 0 and <= 1"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError,
     "LinearLR: invalid start_factor 0; it must be finite, > 0 and <= 1"),
    (lambda o: lr_scheduler.PolynomialLR(o, total_iters=0), ValueError, "PolynomialLR: total_iters must be positive"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError,
     "CosineAnnealingWarmRestarts: T_mult must be positive, got 0"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), ValueError,
     "OneCycleLR: give total_steps, or both epochs and steps_per_epoch"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="cosine"), ValueError,
     "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'cosine'"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=5), ValueError,
     "OneCycleLR: expected 1 values of max_lr (one per group), got 2"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "ReduceLROnPlateau: factor must be < 1.0"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="lowest"), ValueError,
     "ReduceLROnPlateau: mode must be 'min' or 'max', got 'lowest'"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ConstantLR(o)], milestones=[2]), ValueError,
     "SequentialLR: expects one milestone fewer than schedulers, got 1 schedulers and 1 milestones"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ConstantLR(sgd(0.1))], milestones=[]), ValueError,
     "SequentialLR: schedulers[0] (ConstantLR) belongs to another optimizer"),
    (lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(o)]), ValueError,
     "ChainedScheduler: schedulers[0] is a ReduceLROnPlateau, whose step needs a metric"),
    (lambda o: lr_scheduler.ChainedScheduler([]), ValueError, "ChainedScheduler: expects at least one scheduler"),
])
def test_bad_schedule_arguments_are_one_line_each(make, error, message):
    with pytest.raises(error, match=esc(message)):
        make(sgd(0.1))


def test_onecycle_past_its_steps_and_plateau_with_a_non_number():
    opt = sgd(0.1)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    sched.step(), sched.step()
    with pytest.raises(ValueError, match=esc("OneCycleLR: stepped 3 times, but total_steps is 2")):
        sched.step()
    with pytest.raises(TypeError, match=esc("ReduceLROnPlateau.step: metrics must be a number, got str 'low'")):
        lr_scheduler.ReduceLROnPlateau(sgd(0.1)).step("low")
    plateau = lr_scheduler.ReduceLROnPlateau(sgd(0.1))
    plateau.step(mt.tensor(2.0))  # a 0-d tensor, as a validation loss comes
    assert plateau.best == 2.0


def test_onecycle_without_momentum_needs_cycle_momentum_off():
    opt = mt.optim.Adagrad([nn.Parameter(mt.zeros(1))])
    with pytest.raises(ValueError, match="OneCycleLR: cycle_momentum needs an optimizer with momentum or betas"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=4)
    lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=4, cycle_momentum=False)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.004)


# ----------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("config", MOR.OPT_CONFIGS, ids=[c["name"] for c in MOR.OPT_CONFIGS])
def test_optimizer_matches_stored_torch(config):
    actual = MOR.run_optimizer(FW, config, stored("opt:in"))
    expected = stored(f"opt:{config['name']}")
    assert set(actual) == set(expected)
    for key in sorted(expected):
        assert_close(actual[key], expected[key], 1e-12, f"{config['name']}: {key}")


def test_stored_optimizer_runs_differ_and_skip_the_missing_gradient():
    finals = {c["name"]: stored(f"opt:{c['name']}")["param.0"][-1] for c in MOR.OPT_CONFIGS}
    names = sorted(finals)
    for i, a in enumerate(names):
        for b in names[:i]:
            assert np.abs(finals[a] - finals[b]).max() > 1e-4, (a, b)
    step, index = MOR.MISSING_GRAD
    for c in MOR.OPT_CONFIGS:
        run = stored(f"opt:{c['name']}")
        np.testing.assert_array_equal(run[f"param.{index}"][step], run[f"param.{index}"][step - 1])
        assert run[f"state.{index}.step"] == MOR.OPT_STEPS - 1 and run["state.0.step"] == MOR.OPT_STEPS


@pytest.mark.parametrize("make", [
    lambda ps: mt.optim.Adagrad(ps, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
    lambda ps: mt.optim.NAdam(ps, lr=0.01, weight_decay=0.01),
    lambda ps: mt.optim.RAdam(ps, lr=0.01, decoupled_weight_decay=True, weight_decay=0.1),
], ids=["adagrad", "nadam", "radam"])
def test_optimizer_state_dict_resumes_the_same_trajectory(make, tmp_path, rng):
    def build():
        mt.manual_seed(3)
        net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
        return net, make(net.parameters())

    xs = [mt.tensor(rng.standard_normal((5, 3))) for _ in range(8)]

    def step(net, opt, x):
        opt.zero_grad()
        (net(x) ** 2).mean().backward()
        opt.step()

    net, opt = build()
    for x in xs[:4]:
        step(net, opt, x)
    mt.save({"model": net.state_dict(), "opt": opt.state_dict()}, tmp_path / "ckpt")
    for x in xs[4:]:
        step(net, opt, x)
    net2, opt2 = build()
    loaded = mt.load(tmp_path / "ckpt")
    net2.load_state_dict(loaded["model"])
    opt2.load_state_dict(loaded["opt"])
    for x in xs[4:]:
        step(net2, opt2, x)
    for (name, p), p2 in zip(net.named_parameters(), net2.parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), p2.numpy(), err_msg=name)


def test_adagrad_creates_its_state_at_construction_as_pytorch():
    p = nn.Parameter(mt.tensor(np.ones((2, 2))))
    opt = mt.optim.Adagrad([p], initial_accumulator_value=0.25)
    state = opt.state_dict()["state"][0]
    assert state["step"] == 0
    np.testing.assert_array_equal(state["sum"], np.full((2, 2), 0.25))
    q = nn.Parameter(mt.tensor(np.ones(3)))
    opt.add_param_group({"params": [q], "initial_accumulator_value": 0.5})
    q.grad = mt.tensor(np.ones(3))
    opt.step()
    np.testing.assert_allclose(data_array(q), 1 - 0.01 / (np.sqrt(0.5 + 1) + 1e-10), rtol=1e-15)  # sum 0.5 + g^2


@pytest.mark.parametrize("cls,kwargs,error,message", [
    (mt.optim.Adagrad, dict(lr_decay=-0.1), ValueError, "Adagrad: invalid lr_decay -0.1; it must be finite, >= 0"),
    (mt.optim.Adagrad, dict(initial_accumulator_value="1"), TypeError,
     "Adagrad: initial_accumulator_value must be a number, got str '1'"),
    (mt.optim.NAdam, dict(betas=(0.9, 1.5)), ValueError,
     "NAdam: invalid betas[1] 1.5; it must be finite, >= 0 and < 1"),
    (mt.optim.NAdam, dict(momentum_decay=float("nan")), ValueError, "NAdam: invalid momentum_decay nan"),
    (mt.optim.RAdam, dict(lr=-1.0), ValueError, "RAdam: invalid lr -1.0; it must be finite, >= 0"),
    (mt.optim.RAdam, dict(eps=None), TypeError, "RAdam: eps must be a number, got NoneType None"),
])
def test_bad_optimizer_hyperparameters(cls, kwargs, error, message):
    with pytest.raises(error, match=esc(message)):
        cls([nn.Parameter(mt.zeros(1))], **kwargs)


def test_radam_takes_sgd_steps_until_the_variance_is_tractable():
    """With beta2 = 0.999, rho_t <= 5 for the first 5 steps: p moves by exactly lr * m_hat (= lr * g)."""
    p = nn.Parameter(mt.tensor(np.array([1.0, -1.0])))
    opt = mt.optim.RAdam([p], lr=0.1)
    p.grad = mt.tensor(np.array([2.0, -0.5]))
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.2, -1.0 + 0.05], rtol=1e-15)
