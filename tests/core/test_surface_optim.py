"""Adam, AdamW, RMSprop and the new schedules beyond their trajectories (tests/test_surface_parity.py):
bad hyper-parameters, checkpoints that resume exactly, closures, skipped parameters, scheduler state."""
from __future__ import annotations

import re

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn as nn
from minitorch.optim import lr_scheduler


def esc(text: str) -> str:
    return re.escape(text)


def param(values):
    return nn.Parameter(mt.tensor(np.asarray(values, dtype=np.float64)))


def set_grad(p, values):
    """Give ``p`` exactly this gradient, through a backward (whatever type .grad has)."""
    p.grad = None
    (p * mt.tensor(np.asarray(values, dtype=np.float64))).sum().backward()


# ----------------------------------------------------------------------------- construction
@pytest.mark.parametrize("cls,kwargs,error,message", [
    (mt.optim.Adam, dict(lr=float("nan")), ValueError, "Adam: invalid lr nan; it must be finite, >= 0"),
    (mt.optim.Adam, dict(lr=-1e-3), ValueError, "Adam: invalid lr -0.001"),
    (mt.optim.Adam, dict(lr="0.1"), TypeError, "Adam: lr must be a number, got str '0.1'"),
    (mt.optim.Adam, dict(betas=(0.9, 1.0)), ValueError, "Adam: invalid betas[1] 1.0; it must be finite, >= 0 and < 1"),
    (mt.optim.Adam, dict(betas=0.9), TypeError, "Adam: betas must be a pair (beta1, beta2), got 0.9"),
    (mt.optim.Adam, dict(eps=-1.0), ValueError, "Adam: invalid eps -1.0"),
    (mt.optim.AdamW, dict(weight_decay=float("inf")), ValueError, "AdamW: invalid weight_decay inf"),
    (mt.optim.RMSprop, dict(momentum=-0.5), ValueError, "RMSprop: invalid momentum -0.5"),
    (mt.optim.RMSprop, dict(alpha=None), TypeError, "RMSprop: alpha must be a number, got NoneType None"),
])
def test_bad_hyperparameters_fail_at_construction(cls, kwargs, error, message):
    with pytest.raises(error, match=esc(message)):
        cls([param([1.0])], **kwargs)


def test_defaults_and_param_groups_follow_pytorch():
    p, q = param([1.0]), param([2.0])
    adamw = mt.optim.AdamW([{"params": [p]}, {"params": [q], "lr": 0.1}])
    assert [g["lr"] for g in adamw.param_groups] == [1e-3, 0.1]
    group = adamw.param_groups[0]
    assert (group["betas"], group["eps"], group["weight_decay"], group["amsgrad"], group["maximize"],
            group["decoupled_weight_decay"]) == ((0.9, 0.999), 1e-8, 1e-2, False, False, True)
    rms = mt.optim.RMSprop([p])
    assert {k: rms.param_groups[0][k] for k in ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")} == \
        dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False)
    adam = mt.optim.Adam([p], lr=0.5)
    adam.add_param_group({"params": [q], "amsgrad": True})
    assert adam.param_groups[1]["lr"] == 0.5 and adam.param_groups[1]["amsgrad"] is True


# ----------------------------------------------------------------------------- stepping
def test_adam_first_step_by_hand():
    """After one step m = (1 - b1) g and v = (1 - b2) g^2, so the bias-corrected step is lr * g / (|g| + eps')."""
    p = param([1.0, -2.0])
    opt = mt.optim.Adam([p], lr=0.1)
    set_grad(p, [0.5, -4.0])
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 4.0 / (4.0 + 1e-8)],
                               rtol=1e-12)
    state = opt.state_dict()["state"][0]
    assert state["step"] == 1 and sorted(state) == ["exp_avg", "exp_avg_sq", "step"]


def test_parameters_without_gradients_are_skipped_and_gradients_untouched():
    a, b = param([1.0, 2.0]), param([3.0])
    for opt in (mt.optim.Adam([a, b], weight_decay=0.1), mt.optim.RMSprop([a, b], weight_decay=0.1, momentum=0.9),
                mt.optim.AdamW([a, b])):
        set_grad(a, [0.1, 0.2])
        b.grad = None
        before = a.numpy().copy()
        opt.step()
        assert not np.array_equal(a.numpy(), before)
        np.testing.assert_array_equal(b.numpy(), [3.0])
        np.testing.assert_array_equal(np.asarray(a.grad), [0.1, 0.2])
        assert list(opt.state_dict()["state"]) == [0]  # no state for the parameter that had no gradient


def test_step_runs_the_closure_with_grad_enabled_and_returns_its_loss():
    p = param([2.0])
    opt = mt.optim.RMSprop([p], lr=0.01)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with mt.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and p.item() < 2.0


@pytest.mark.parametrize("make", [
    lambda ps: mt.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.01),
    lambda ps: mt.optim.AdamW(ps, lr=0.01),
    lambda ps: mt.optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True),
], ids=["adam", "adamw", "rmsprop"])
def test_state_dict_saved_and_loaded_resumes_the_same_trajectory(make, tmp_path, rng):
    def build():
        mt.manual_seed(7)
        net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
        opt = make(net.parameters())
        return net, opt, lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=1e-3)

    xs = [mt.tensor(rng.standard_normal((5, 3))) for _ in range(6)]

    def step(net, opt, sched, x):
        opt.zero_grad()
        (net(x) ** 2).mean().backward()
        opt.step()
        sched.step()

    net, opt, sched = build()
    for x in xs[:3]:
        step(net, opt, sched, x)
    mt.save({"model": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt")
    for x in xs[3:]:
        step(net, opt, sched, x)

    net2, opt2, sched2 = build()
    loaded = mt.load(tmp_path / "ckpt")
    net2.load_state_dict(loaded["model"])
    opt2.load_state_dict(loaded["opt"])
    sched2.load_state_dict(loaded["sched"])
    for x in xs[3:]:
        step(net2, opt2, sched2, x)
    for (name, p), p2 in zip(net.named_parameters(), net2.parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), p2.numpy(), err_msg=name)
    assert sched2.get_last_lr() == sched.get_last_lr()


# ----------------------------------------------------------------------------- schedules
def sgd(*lrs):
    return mt.optim.SGD([{"params": [param([0.0])], "lr": lr} for lr in lrs], lr=lrs[0])


def test_schedules_are_chainable_like_pytorch():
    """ExponentialLR multiplies the *current* lr, so a change made by other code carries forward."""
    opt = sgd(1.0)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sched.step()
    opt.param_groups[0]["lr"] = 10.0
    sched.step()
    assert opt.param_groups[0]["lr"] == 5.0 == sched.get_last_lr()[0]


def test_multisteplr_repeated_milestone_and_its_state_through_save(tmp_path):
    opt = sgd(1.0)
    sched = lr_scheduler.MultiStepLR(opt, milestones=[1, 3, 3], gamma=0.5)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(4):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 0.5, 0.5, 0.125, 0.125]
    mt.save(sched.state_dict(), tmp_path / "sched")
    opt2 = sgd(1.0)
    sched2 = lr_scheduler.MultiStepLR(opt2, milestones=[9], gamma=0.1)
    sched2.load_state_dict(mt.load(tmp_path / "sched"))
    assert sched2.last_epoch == 4 and sched2.milestones[3] == 2


class Warmup:
    """A callable object: its attributes are saved by LambdaLR.state_dict (a plain function's are not)."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


def test_lambdalr_state_dict_keeps_callable_objects_state():
    opt = sgd(1.0, 0.5)
    sched = lr_scheduler.LambdaLR(opt, [Warmup(4), lambda epoch: 0.9 ** epoch])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"epochs": 4}, None] and "optimizer" not in state
    other = Warmup(10)
    sched2 = lr_scheduler.LambdaLR(sgd(1.0, 0.5), [other, lambda epoch: 1.0])
    sched2.load_state_dict(state)
    assert other.epochs == 4 and "lr_lambdas" in state  # the caller's dict is left as it was


def test_scheduler_bad_arguments():
    with pytest.raises(TypeError, match="CosineAnnealingLR: list is not an Optimizer"):
        lr_scheduler.CosineAnnealingLR([], T_max=3)
    with pytest.raises(ValueError, match=esc("CosineAnnealingLR: invalid T_max 0; it must be finite, > 0")):
        lr_scheduler.CosineAnnealingLR(sgd(1.0), T_max=0)
    with pytest.raises(ValueError, match=esc("LambdaLR: expected 2 lr_lambdas (one per group), got 1")):
        lr_scheduler.LambdaLR(sgd(1.0, 0.5), [lambda e: 1.0])
    with pytest.raises(KeyError, match=esc("ExponentialLR: param_groups[0] has no 'initial_lr'")):
        lr_scheduler.ExponentialLR(sgd(1.0), gamma=0.9, last_epoch=3)


def test_resuming_a_schedule_with_last_epoch():
    """As in PyTorch: with initial_lr in the groups, last_epoch=k continues from epoch k (the constructor's
    step leaves the learning rates as they are)."""
    opt = sgd(0.2)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        sched.step()
    resumed = lr_scheduler.ExponentialLR(opt, gamma=0.5, last_epoch=3)
    assert resumed.last_epoch == 4 and opt.param_groups[0]["lr"] == pytest.approx(0.025)
    resumed.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)
