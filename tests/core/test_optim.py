"""SGD and StepLR against torch.optim (stored trajectories, and live when torch is importable)."""
from __future__ import annotations

import os

import numpy as np
import pytest
from mt_core_helpers import TOL, assert_close, make_references, reference
from reference_io import from_json_array

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.optim.lr_scheduler import StepLR

MR = make_references()
OPTIM = reference("optim")
CONFIGS = from_json_array(OPTIM["configs"])


def run_mt_sgd(case: dict[str, np.ndarray], config: dict, dtype=np.float64, **more) -> dict[str, np.ndarray]:
    """minitorch's counterpart of make_references.run_torch_sgd (``more``: further SGD arguments)."""
    net = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).to(dtype)
    for name, p in net.named_parameters():
        p.data[...] = case[name].astype(dtype)
    opt = mt.optim.SGD(net.parameters(), **MR.sgd_kwargs(config), **more)
    sched = StepLR(opt, step_size=config["step_size"], gamma=config["gamma"]) if "step_size" in config else None
    return MR.sgd_trajectory(net, opt, sched, case, dtype, mt.tensor, F.cross_entropy)


def compare_runs(actual, expected, dtype, label):
    assert set(actual) == set(expected), label
    tol = TOL[np.dtype(dtype)]
    for key in sorted(expected):
        if key.startswith("param."):  # step by step
            for step, (a, b) in enumerate(zip(actual[key], expected[key], strict=False)):
                assert_close(a, b, tol, f"{label}: {key} after step {step + 1}")
        elif expected[key].dtype.kind in "iu":
            np.testing.assert_array_equal(actual[key], expected[key], err_msg=f"{label}: {key}")
        else:
            assert_close(actual[key], expected[key], tol, f"{label}: {key}")


def stored_case():
    return {k[3:]: v for k, v in OPTIM.items() if k.startswith("in:")}


def stored_expected(name):
    return {k.split(":", 1)[1]: v for k, v in OPTIM.items() if k.startswith(f"{name}:")}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("config", CONFIGS["sgd"], ids=[c["name"] for c in CONFIGS["sgd"]])
def test_sgd_trajectory_matches_stored_torch(config, dtype):
    """Ten steps; float32 runs are compared with torch's float64 trajectory at 1e-4."""
    compare_runs(run_mt_sgd(stored_case(), config, dtype), stored_expected(config["name"]), dtype, config["name"])


def test_stored_sgd_configs_are_distinct():
    """The four configurations really lead to different trajectories (each option has an effect)."""
    finals = [stored_expected(c["name"])["param.0.weight"][-1] for c in CONFIGS["sgd"]]
    for i in range(len(finals)):
        for j in range(i):
            assert np.abs(finals[i] - finals[j]).max() > 1e-3
    lrs = stored_expected("momentum_wd_steplr")["lr"]
    np.testing.assert_allclose(lrs, 0.2 * 0.5 ** (np.arange(10) // 3))


def test_steplr_matches_stored_torch():
    case = CONFIGS["steplr"]
    params = [nn.Parameter(mt.zeros(2)), nn.Parameter(mt.zeros(3))]
    opt = mt.optim.SGD([{"params": [params[0]], "lr": case["lrs"][0]},
                        {"params": [params[1]], "lr": case["lrs"][1]}], lr=case["lrs"][0])
    sched = StepLR(opt, step_size=case["step_size"], gamma=case["gamma"])
    rows = [[g["lr"] for g in opt.param_groups]]
    for _ in range(case["epochs"]):
        opt.step()
        sched.step()
        rows.append([g["lr"] for g in opt.param_groups])
        assert sched.get_last_lr() == rows[-1]
    np.testing.assert_allclose(np.array(rows), OPTIM["steplr:lrs"], rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- live
@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("config", MR.SGD_CONFIGS, ids=[c["name"] for c in MR.SGD_CONFIGS])
def test_sgd_trajectory_matches_torch_live(config, dtype, torch):
    case = MR.sgd_case(int(os.environ.get("MINITORCH_TEST_SEED", "31337")))
    compare_runs(run_mt_sgd(case, config, dtype), MR.run_torch_sgd(case, config, dtype), dtype,
                 f"{config['name']} live")


@pytest.mark.parametrize("step_size,gamma,epochs", [(1, 0.9, 8), (4, 0.1, 13), (5, 0.5, 5)])
def test_steplr_matches_torch_live(step_size, gamma, epochs, torch):
    case = dict(lrs=[0.5, 0.07], step_size=step_size, gamma=gamma, epochs=epochs)
    expected = MR.run_torch_steplr(case)
    opt = mt.optim.SGD([{"params": [nn.Parameter(mt.zeros(1))], "lr": 0.5},
                        {"params": [nn.Parameter(mt.zeros(1))], "lr": 0.07}], lr=0.5)
    sched = StepLR(opt, step_size=step_size, gamma=gamma)
    rows = [[g["lr"] for g in opt.param_groups]]
    for _ in range(epochs):
        sched.step()
        rows.append([g["lr"] for g in opt.param_groups])
    np.testing.assert_allclose(np.array(rows), expected, rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- unit behaviour
def param(values):
    return nn.Parameter(mt.tensor(np.asarray(values, dtype=np.float64)))


def grad(values):
    return mt.tensor(np.asarray(values, dtype=np.float64))


def test_sgd_update_rule_by_hand():
    p = param([1.0, -2.0])
    opt = mt.optim.SGD([p], lr=0.1, momentum=0.5, dampening=0.2, weight_decay=0.1)
    grads = [np.array([0.5, 1.0]), np.array([-1.0, 2.0])]
    expected, buf = np.array([1.0, -2.0]), None
    for g in grads:
        p.grad = grad(g)
        opt.step()
        d = g + 0.1 * expected
        buf = d.copy() if buf is None else 0.5 * buf + 0.8 * d  # no dampening on the first step
        expected = expected - 0.1 * buf
        np.testing.assert_allclose(p.numpy(), expected, rtol=1e-14)


def test_sgd_nesterov_by_hand():
    p = param([1.0])
    opt = mt.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    p.grad = grad([1.0])
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1 * (1 + 0.9 * 1)])
    p.grad = grad([2.0])
    opt.step()  # buf = 0.9 + 2 = 2.9; step = 2 + 0.9 * 2.9
    np.testing.assert_allclose(p.numpy(), [0.81 - 0.1 * (2 + 0.9 * 2.9)])


def test_sgd_skips_parameters_without_grad_and_does_not_touch_grads():
    a, b = param([1.0, 2.0]), param([3.0])
    opt = mt.optim.SGD([a, b], lr=1.0, weight_decay=0.5, momentum=0.9)
    g = np.array([0.1, 0.2])
    a.grad = mt.from_numpy(g)  # same memory as g
    opt.step()
    np.testing.assert_allclose(a.numpy(), [1.0 - 0.6, 2.0 - 1.2])
    np.testing.assert_array_equal(b.numpy(), [3.0])
    np.testing.assert_array_equal(g, [0.1, 0.2])  # the gradient array is not modified in place


def test_param_group_hyperparameters_are_read_each_step():
    p = param([1.0])
    opt = mt.optim.SGD([p], lr=0.1)
    p.grad = grad([1.0])
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1 - 0.5])


@pytest.mark.parametrize("cls", [mt.optim.SGD, mt.optim.Adam])
def test_a_parameter_in_two_groups_is_refused(cls):
    # the classic fine-tuning slip (the head in both groups) would step it twice, once per group's lr
    body, head = param([1.0]), param([2.0])
    message = "some parameters appear in more than one parameter group"
    where = r": parameter 0 of group 1 \(shape \(1,\)\) is already in group 0"
    with pytest.raises(ValueError, match=message + where):
        cls([{"params": [body, head]}, {"params": [head], "lr": 0.01}], lr=0.1)
    opt = cls([body], lr=0.1)
    with pytest.raises(ValueError, match=message):
        opt.add_param_group({"params": [head, body], "lr": 0.01})
    assert [len(g["params"]) for g in opt.param_groups] == [1]  # the refusal changed nothing
    assert opt.param_groups[0]["params"][0] is body
    opt.add_param_group({"params": [head], "lr": 0.01})
    head.grad = grad([1.0])
    opt.step()  # once, with its own group's lr (Adam's first step is lr * sign(grad) too)
    np.testing.assert_allclose(head.numpy(), [2.0 - 0.01])


def test_optimizer_zero_grad():
    a, b = param([1.0]), param([2.0])
    opt = mt.optim.SGD([a, b], lr=0.1)
    a.grad, b.grad = grad([3.0]), grad([4.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad, [0.0])
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_optimizer_state_dict_round_trip_continues_the_same_trajectory(tmp_path, rng):
    def make():
        mt.manual_seed(5)
        net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
        return net, mt.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True)

    xs = [mt.tensor(rng.standard_normal((5, 3))) for _ in range(6)]

    def step(net, opt, x):
        opt.zero_grad()
        (net(x) ** 2).mean().backward()
        opt.step()

    net, opt = make()
    for x in xs[:3]:
        step(net, opt, x)
    state = opt.state_dict()
    assert sorted(state["state"]) == [0, 1, 2, 3]
    assert state["param_groups"][0]["params"] == [0, 1, 2, 3] and state["param_groups"][0]["nesterov"] is True
    mt.save({"model": net.state_dict(), "opt": state}, tmp_path / "ckpt")
    for x in xs[3:]:
        step(net, opt, x)

    net2, opt2 = make()
    loaded = mt.load(tmp_path / "ckpt")
    net2.load_state_dict(loaded["model"])
    opt2.load_state_dict(loaded["opt"])
    for x in xs[3:]:
        step(net2, opt2, x)
    for (name, p), p2 in zip(net.named_parameters(), net2.parameters(), strict=False):
        np.testing.assert_array_equal(p.numpy(), p2.numpy(), err_msg=name)


def test_steplr_state_dict_round_trip():
    """StepLR is chainable (as in PyTorch): the rate it continues from is the optimizer's, so a resume
    loads both state dicts."""
    opt = mt.optim.SGD([param([0.0])], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3
    opt2 = mt.optim.SGD([param([0.0])], lr=1.0)
    sched2 = StepLR(opt2, step_size=2, gamma=0.5)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(state)
    sched.step(), sched2.step()
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.25


def test_sgd_momentum_of_a_parameter_without_grad_on_the_first_step():
    """p1 has no gradient at step 1.  PyTorch 2.13 gives p0 = 0.71 after step 2
    (buf = 1, then 0.9 * 1 + 1 = 1.9: 1 - 0.1 - 0.19); the flat group used to reset p0's buffer (0.8)."""
    p0, p1 = param([1.0]), param([1.0])
    opt = mt.optim.SGD([p0, p1], lr=0.1, momentum=0.9)
    p0.grad = grad([1.0])
    opt.step()
    p0.grad, p1.grad = grad([1.0]), grad([1.0])
    opt.step()
    np.testing.assert_allclose(p0.numpy(), [1.0 - 0.1 * 1.0 - 0.1 * 1.9], rtol=1e-15)
    np.testing.assert_allclose(p1.numpy(), [1.0 - 0.1 * 1.0], rtol=1e-15)  # its first step
    p0.grad, p1.grad = grad([1.0]), grad([1.0])
    opt.step()  # buffers 0.9 * 1.9 + 1 = 2.71 and 0.9 * 1 + 1 = 1.9
    np.testing.assert_allclose(p0.numpy(), [0.71 - 0.271], rtol=1e-14)
    np.testing.assert_allclose(p1.numpy(), [0.9 - 0.19], rtol=1e-14)


@pytest.mark.parametrize("maximize", [False, True], ids=["descend", "maximize"])
@pytest.mark.parametrize("config", CONFIGS["sgd"], ids=[c["name"] for c in CONFIGS["sgd"]])
def test_sgd_by_parameter_gives_the_bits_of_the_gathered_update(config, maximize, monkeypatch):
    """A group of large parameters is updated one call per parameter, each reading its gradient in place;
    small ones in one call over a gathered flat gradient (``sgd.GATHER_BELOW`` decides).  Forced either
    way, ten steps of each stored configuration (momentum, Nesterov, weight decay, a scheduler) give the
    same bits, parameters and momentum buffers alike, as the rule is elementwise."""
    from minitorch.optim import sgd

    runs = []
    for gather_below in (0, 1 << 40):  # by parameter; gathered
        monkeypatch.setattr(sgd, "GATHER_BELOW", gather_below)
        runs.append(run_mt_sgd(stored_case(), config, np.float32, maximize=maximize))
    by_parameter, gathered = runs
    assert set(by_parameter) == set(gathered)
    for key in gathered:
        np.testing.assert_array_equal(by_parameter[key], gathered[key], err_msg=key)
