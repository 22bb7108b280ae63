"""minitorch.capture: a replayed step equals the eager one; every fallback records anew; refusals are clear.

Each comparison runs two identical setups side by side, one eager and one
captured, on the same batches, and asserts that losses, parameters, buffers,
gradients and optimizer state agree bit for bit (replays run the same
functions on the same values in the same order).  Each test also checks that
replays (or new recordings) really happened, so that none passes by having
quietly run eagerly.
"""
from __future__ import annotations

import collections
import types
from unittest import mock

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
import minitorch.optim.sgd as sgd_module
from minitorch.nn.parameter import Parameter
from minitorch.step_capture import CaptureError, run_stoppable, stop_if_not_finite, training_step
from minitorch.tensor import Tensor


# ------------------------------------------------------------------ the three networks, hw5's way
class CoolNet(nn.Module):
    """LeNet-5 with batch norm; one ReLU and one pool module, each called several times (as in hw5)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 6, 5), nn.BatchNorm2d(6)
        self.conv2, self.bn2 = nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16)
        self.pool, self.relu, self.flatten = nn.MaxPool2d(2), nn.ReLU(), nn.Flatten()
        self.fc1, self.bn3 = nn.Linear(400, 120), nn.BatchNorm1d(120)
        self.fc2, self.bn4 = nn.Linear(120, 84), nn.BatchNorm1d(84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        x = self.flatten(self.pool(self.relu(self.bn2(self.conv2(x)))))
        x = self.relu(self.bn3(self.fc1(x)))
        return self.fc3(self.relu(self.bn4(self.fc2(x))))


def lazynet() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(3072, 10))


def boringnet() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(3072, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


NETS = {"lazynet": lazynet, "boringnet": boringnet, "coolnet": CoolNet}


class Setup:
    """A model, its momentum SGD and the usual training step (zero_grad, forward, loss, backward, step)."""

    def __init__(self, net: str = "coolnet", seed: int = 0, lr: float = 0.05) -> None:
        mt.manual_seed(seed)
        self.model = NETS[net]()
        self.opt = mt.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)

    def step(self, x: Tensor, y: Tensor) -> Tensor:
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss


def pair(net: str = "coolnet", **kw):
    """(eager setup, captured setup, the captured step): identical twins."""
    eager, other = Setup(net, **kw), Setup(net, **kw)
    return eager, other, mt.capture(other.step)


def batch(rng: np.random.Generator, n: int = 4, dtype=np.int64) -> tuple[Tensor, Tensor]:
    """Random images and labels, on arrays of their own (mt.from_numpy: a test may change them in place)."""
    x = rng.standard_normal((n, 3, 32, 32)).astype(np.float32)
    return mt.from_numpy(x), mt.from_numpy(rng.integers(0, 10, n).astype(dtype))


def assert_same_state(a: Setup, b: Setup) -> None:
    """Parameters, buffers, gradients and momentum buffers agree exactly."""
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert list(sa) == list(sb)
    for name in sa:
        np.testing.assert_array_equal(sa[name].numpy(), sb[name].numpy(), err_msg=name)
    for (name, pa), (_, pb) in zip(a.model.named_parameters(), b.model.named_parameters(), strict=True):
        assert (pa.grad is None) == (pb.grad is None), name
        if pa.grad is not None:
            np.testing.assert_array_equal(pa.grad.numpy(), pb.grad.numpy(), err_msg=f"{name}.grad")
    oa, ob = a.opt.state_dict()["state"], b.opt.state_dict()["state"]
    assert sorted(oa) == sorted(ob)
    for k in oa:
        np.testing.assert_array_equal(oa[k]["momentum_buffer"], ob[k]["momentum_buffer"], err_msg=f"momentum {k}")


def run_both(eager: Setup, captured, rng: np.random.Generator, sizes, **batch_kw) -> None:
    for n in sizes:
        x, y = batch(rng, n, **batch_kw)
        expected = eager.step(x, y).item()
        got = captured(x, y)
        assert isinstance(got, Tensor)
        assert got.item() == expected


def assert_captured_equals_eager(make, rng: np.random.Generator) -> None:
    """Two ``(setup, step)`` from ``make``, one step captured: five batches give the same losses and state."""
    (eager, step_a), (other, step_b) = make(), make()
    step_b = mt.capture(step_b)
    for _ in range(5):
        x, y = batch(rng)
        assert step_a(x, y).item() == step_b(x, y).item()
    assert_same_state(eager, other)
    assert step_b.counts["replayed"] >= 2


# ------------------------------------------------------------------ replay equals eager
@pytest.mark.parametrize("net", sorted(NETS))
def test_ten_steps_with_partial_batches_equal_eager(net, rng):
    eager, other, step = pair(net)
    run_both(eager, step, rng, [4, 4, 4, 3, 4, 4, 4, 3, 4, 4])
    assert_same_state(eager, other)
    # 1 discovery call, then one recording per batch size; the rest replayed
    assert step.counts == {"recorded": 2, "replayed": 7, "eager": 0, "discovered": 1}


def test_replayed_loss_is_the_recordings_own_tensor_refilled(rng):
    _, _, step = pair("lazynet")
    for _ in range(3):
        step(*batch(rng))
    first = step(*batch(rng))
    value = first.item()
    second = step(*batch(rng))
    assert second is first and second.item() != value


def accumulating(net: str) -> tuple[Setup, object]:
    """(setup, step): forward and backward without zero_grad, so gradients accumulate from call to call."""
    s = Setup(net)

    def step(x, y):
        loss = F.cross_entropy(s.model(x), y)
        loss.backward()
        return loss
    return s, step


def test_gradients_accumulated_across_calls_equal_eager(rng):
    """No zero_grad in the step: each replay adds to whichever arrays .grad holds, as eager does."""
    (a, step_a), (b, step_b) = accumulating("boringnet"), accumulating("boringnet")
    step_b = mt.capture(step_b)
    for i in range(7):
        x, y = batch(rng)
        assert step_a(x, y).item() == step_b(x, y).item()
        if i % 3 == 2:
            a.opt.step()
            b.opt.step()
            a.opt.zero_grad()
            b.opt.zero_grad()
    assert_same_state(a, b)
    assert step_b.counts["replayed"] >= 3


def test_evaluation_capture_equals_eager(rng):
    eager, other = Setup("coolnet"), Setup("coolnet")
    for x, y in [batch(rng, 8), batch(rng, 8)]:  # some running statistics first
        eager.step(x, y)
        other.step(x, y)
    eager.model.eval()
    other.model.eval()

    forward = mt.capture(lambda x: other.model(x))
    with mt.no_grad():
        for n in (16, 16, 16, 16, 5):
            x, _ = batch(rng, n)
            np.testing.assert_array_equal(forward(x).numpy(), eager.model(x).numpy())
    assert forward.counts["replayed"] >= 2
    assert_same_state(eager, other)


def test_max_pool_nan_fallback_inside_a_replay(rng):
    """The 2x2 pool kernel redoes a window with a NaN in the NaN-aware kernel: replays do the same."""
    eager, other = Setup("coolnet"), Setup("coolnet")
    eager.model.eval()
    other.model.eval()
    forward = mt.capture(lambda x: other.model(x))
    with mt.no_grad():
        for i in range(5):
            x, _ = batch(rng, 4)
            if i == 4:
                x.numpy()[1, 0, 3, 3] = np.nan
            np.testing.assert_array_equal(forward(x).numpy(), eager.model(x).numpy())
    assert forward.counts["replayed"] >= 2
    assert np.isnan(forward(x).numpy()[1]).all()


# ------------------------------------------------------------------ fallbacks: each records anew
def test_new_shape_records_anew(rng):
    eager, other, step = pair("lazynet")
    run_both(eager, step, rng, [4, 4, 4, 5, 5, 4])
    assert step.counts["recorded"] == 2
    assert_same_state(eager, other)


def test_new_dtype_records_anew(rng):
    eager, other, step = pair("lazynet")
    run_both(eager, step, rng, [4, 4, 4])
    run_both(eager, step, rng, [4, 4], dtype=np.int32)  # labels of another integer dtype
    assert step.counts["recorded"] == 2
    assert_same_state(eager, other)


def test_train_eval_switch_records_anew(rng):
    eager, other, step = pair("coolnet")
    run_both(eager, step, rng, [4, 4, 4])
    for s in (eager, other):
        s.model.bn2.eval()  # one module's mode is enough
    run_both(eager, step, rng, [4, 4])
    for s in (eager, other):
        s.model.train()
    run_both(eager, step, rng, [4, 4])
    assert step.counts["recorded"] == 2  # back in training mode, the first recording replays again
    assert_same_state(eager, other)


def test_learning_rate_change_records_anew(rng):
    eager, other, step = pair("boringnet")
    run_both(eager, step, rng, [4, 4, 4])
    for s in (eager, other):
        s.opt.param_groups[0]["lr"] = 0.01
    run_both(eager, step, rng, [4, 4, 4])
    assert step.counts["recorded"] == 2 and step.counts["replayed"] >= 3
    assert_same_state(eager, other)


def test_scheduler_learning_rates_record_anew(rng):
    eager, other, step = pair("lazynet")
    scheds = [mt.optim.lr_scheduler.StepLR(s.opt, step_size=1, gamma=0.5) for s in (eager, other)]
    for _ in range(3):
        run_both(eager, step, rng, [4, 4, 4])
        for sched in scheds:
            sched.step()
    assert step.counts["recorded"] == 3
    assert_same_state(eager, other)


def test_momentum_attribute_change_records_anew(rng):
    eager, other, step = pair("coolnet")
    run_both(eager, step, rng, [4, 4, 4])
    for s in (eager, other):
        s.model.bn3.momentum = 0.5
    run_both(eager, step, rng, [4, 4])
    assert step.counts["recorded"] == 2
    assert_same_state(eager, other)


def test_replaced_parameter_records_anew(rng):
    """The optimizer still holds the old parameter: eager trains it and leaves the new one alone."""
    eager, other, step = pair("boringnet")
    run_both(eager, step, rng, [4, 4, 4])
    for s in (eager, other):
        s.model[5].weight = Parameter(mt.zeros(10, 84))
    run_both(eager, step, rng, [4, 4, 4, 4])
    # one recording with the new parameter's .grad still None, one once it is there (nothing clears it)
    assert step.counts["recorded"] == 3 and step.counts["replayed"] >= 3
    assert_same_state(eager, other)


def test_parameter_array_replaced_records_anew(rng):
    eager, other, step = pair("lazynet")
    run_both(eager, step, rng, [4, 4, 4])
    for s in (eager, other):
        s.model.double().float()  # new arrays under every parameter
    run_both(eager, step, rng, [4, 4, 4])
    assert step.counts["recorded"] >= 2
    assert_same_state(eager, other)


def test_added_module_records_anew(rng):
    eager, other, step = pair("lazynet")
    run_both(eager, step, rng, [4, 4, 4])
    for s in (eager, other):
        s.model.append(nn.ReLU())
    run_both(eager, step, rng, [4, 4, 4])
    assert step.counts["recorded"] == 2 and step.counts["replayed"] >= 3
    assert_same_state(eager, other)


def test_grad_mode_is_part_of_the_signature(rng):
    s = Setup("lazynet")
    forward = mt.capture(lambda x: s.model(x))
    x, _ = batch(rng)
    for _ in range(3):
        forward(x)
    with mt.no_grad():
        for _ in range(3):
            forward(x)
    assert forward.counts["recorded"] == 2


# ------------------------------------------------------------------ refusals
def test_item_inside_the_step_is_refused(rng):
    s = Setup("lazynet")

    def step(x, y):
        loss = F.cross_entropy(s.model(x), y)
        print(loss.item())
        return loss

    with pytest.raises(CaptureError, match=r"item"):
        mt.capture(step)(*batch(rng))


def test_data_dependent_branch_is_refused(rng):
    s = Setup("lazynet")

    def step(x, y):
        loss = F.cross_entropy(s.model(x), y)
        if loss > 2:
            loss = loss * 0.5
        return loss

    with pytest.raises(CaptureError, match=r"ndarray\.item"):  # bool(tensor) takes .item()
        mt.capture(step)(*batch(rng))


def test_random_numbers_in_the_step_are_refused(rng):
    s = Setup("lazynet")
    with pytest.raises(CaptureError, match=r"random"):
        mt.capture(lambda x: s.model(x + mt.randn(*x.shape)))(batch(rng)[0])


@pytest.mark.parametrize("draw", ["np.random.rand", "Generator", "random.random"])
def test_numpy_and_python_random_numbers_in_the_step_are_refused(draw, rng):
    """A replay would add the recorded noise again: refused at recording, naming the generator."""
    import random

    s, generator = Setup("lazynet"), np.random.default_rng(1)
    draws = {"np.random.rand": lambda: np.random.rand(1)[0], "Generator": lambda: generator.normal(),
             "random.random": random.random}
    expected = {"np.random.rand": r"numpy\.random \(NumPy's global", "Generator": r"Generator in closure variable",
                "random.random": r"Python's random module"}[draw]
    take = draws[draw]

    def step(x):
        return s.model(x * float(take()))

    with pytest.raises(CaptureError, match=expected):
        mt.capture(step)(batch(rng)[0])


SCALE = 1.0


def _scaled_loss(model, x, y):
    return F.cross_entropy(model(x), y) * SCALE


def test_a_changed_global_float_records_anew_and_replays_equal_eager(rng):
    """The step reads a module-level float: a new value is a new recording, never the old value baked in."""
    global SCALE
    eager, other = Setup("lazynet"), Setup("lazynet")

    def make(s):
        def step(x, y):
            s.opt.zero_grad()
            loss = F.cross_entropy(s.model(x), y) * SCALE
            loss.backward()
            s.opt.step()
            return loss
        return step

    plain, captured = make(eager), mt.capture(make(other))
    try:
        for i in range(8):
            SCALE = 1.0 if i < 4 else 0.25
            x, y = batch(rng)
            assert plain(x, y).item() == captured(x, y).item()
        assert_same_state(eager, other)
        assert captured.counts["recorded"] == 2 and captured.counts["replayed"] >= 5
    finally:
        SCALE = 1.0


def test_a_changed_closure_number_records_anew(rng):
    s = Setup("lazynet")
    scale = 2.0

    def step(x):
        return s.model(x) * scale

    captured = mt.capture(step)
    x, _ = batch(rng)
    for _ in range(3):
        first = captured(x).numpy().copy()
    scale = 3.0
    np.testing.assert_array_equal(captured(x).numpy(), first * 1.5)


def test_numpy_is_untouched_while_a_step_records(rng):
    """Recording replaces nothing of NumPy's: np.empty (which numba compiles calls to) stays NumPy's own."""
    original, seen = np.empty, []
    s = Setup("lazynet")

    def step(x):
        seen.append((np.empty is original, np.zeros.__module__, type(np.asarray(np.zeros(2))) is np.ndarray))
        return s.model(x)

    mt.capture(step)(batch(rng)[0])
    assert seen == [(True, "numpy", True)]


def test_another_threads_numpy_calls_are_neither_recorded_nor_broken(rng):
    """The recorder is this thread's observer only: a thread making arrays and running minitorch ops meanwhile
    gets plain, correct results, and the recording holds none of its calls."""
    import threading

    model = Setup("lazynet").model  # named by the step: a root, so the first call records
    started, done, results = threading.Event(), threading.Event(), []

    def background():
        started.wait(10)
        a = np.zeros(5) + np.arange(5)
        t = mt.tensor(np.ones(3, dtype=np.float32)) * 2
        results.append((type(a), type(t.numpy()), a.sum(), t.numpy().sum()))
        done.set()

    def step(x):
        if not started.is_set():  # the first call: the other thread runs while this step records
            started.set()
            assert done.wait(10)
        return model(x)

    thread = threading.Thread(target=background)
    thread.start()
    captured, alone = mt.capture(step), mt.capture(lambda x: model(x))
    x, _ = batch(rng)
    captured(x)
    alone(x)
    thread.join()
    assert results == [(np.ndarray, np.ndarray, 10.0, 6.0)]
    names = [next(iter(c.recordings.values()))[0].program.names for c in (captured, alone)]
    assert names[0] == names[1]
    np.testing.assert_array_equal(captured(x).numpy(), model(x).numpy())
    assert captured.counts["replayed"] == 1


def test_data_dependent_shape_is_refused(rng):
    with pytest.raises(CaptureError, match=r"shape depends on the data"):
        mt.capture(lambda x: x[x > 0])(batch(rng)[0])


def test_writing_into_an_outside_array_is_refused(rng):
    # inside an object capture does not look into (an array the step reads from a global or closure variable, or
    # a module's attribute, is state: its writes are recorded and replayed)
    outside = types.SimpleNamespace(array=np.zeros(4, dtype=np.float32))

    def step(x):
        np.add(outside.array, x._data[:, 0, 0, 0], out=outside.array)  # the array a custom Function's forward gets
        return x

    with pytest.raises(CaptureError, match=r"did not see made"):
        mt.capture(step)(batch(rng)[0])


def test_writing_into_the_input_is_refused(rng):
    def step(x):
        x.data *= 2
        return x.sum()

    with pytest.raises(CaptureError, match=r"input of the step"):
        mt.capture(step)(batch(rng)[0])


def test_numba_outside_the_kernel_dispatch_is_refused(rng):
    from minitorch.kernels import cpu

    def step(x):
        a = x._data.reshape(-1)  # the array a custom Function's forward gets
        out = np.empty_like(a)
        cpu._relu_forward(a, out, np.empty(0, dtype=np.bool_), False)
        return Tensor(out)

    with pytest.raises(CaptureError, match=r"numba"):
        mt.capture(step)(batch(rng)[0])


def test_not_strict_runs_a_refused_step_eagerly(rng):
    eager, other = Setup("lazynet"), Setup("lazynet")

    def make(s):
        def step(x, y):
            loss = s.step(x, y)
            s.last = float(loss)  # Python value of the data: not replayable
            return loss
        return step

    step = mt.capture(make(other), strict=False)
    with pytest.warns(RuntimeWarning, match=r"uncaptured"):
        run_both(eager, step, rng, [4])
    run_both(eager, step, rng, [4, 4, 4])
    assert step.counts["eager"] == 3 and step.counts["recorded"] == 0
    assert_same_state(eager, other)


def test_state_changing_every_call_ends_in_eager_with_a_warning(rng):
    s = Setup("lazynet")

    def step(x):
        s.model.tag = object()  # a new attribute value each call: the guard never matches
        return s.model(x)

    captured = mt.capture(step)
    x, _ = batch(rng)
    with pytest.warns(RuntimeWarning, match=r"without a replay.*'tag' changed"):
        for _ in range(6):
            captured(x)
    assert captured.counts["eager"] >= 1


# ------------------------------------------------------------------ arrays made inside the step
def test_arrays_made_in_the_step_start_from_their_recorded_values(rng):
    """Indexing's backward scatters into np.zeros with add.at: a replay must zero that array again."""
    mt.manual_seed(0)
    w1 = mt.randn(5, requires_grad=True)
    w2 = mt.tensor(w1.numpy(), requires_grad=True)

    def step(w, x):
        loss = (w[[0, 0, 3]] * x).sum()  # a repeated index: add.at accumulates
        loss.backward()
        return loss

    captured = mt.capture(lambda x: step(w2, x))
    for _ in range(5):
        x = mt.tensor(rng.standard_normal(3).astype(np.float32))
        w1.grad = w2.grad = None
        assert step(w1, x).item() == captured(x).item()
        np.testing.assert_array_equal(w1.grad.numpy(), w2.grad.numpy())
    assert captured.counts["replayed"] >= 2


# ------------------------------------------------------------------ stopping on a non-finite loss
def test_training_step_stops_before_backward_on_a_non_finite_loss(rng):
    eager, other = Setup("coolnet"), Setup("coolnet")
    plain = training_step(eager.model, F.cross_entropy, eager.opt, capture=False)
    captured = training_step(other.model, F.cross_entropy, other.opt)
    for i in range(6):
        x, y = batch(rng)
        if i == 4:
            x.numpy()[0, 0, 0, 0] = np.inf
        a, b = plain(x, y).item(), captured(x, y).item()
        assert a == b or (np.isnan(a) and np.isnan(b))
        assert_same_state(eager, other)
    assert captured.counts["replayed"] >= 2


def test_stop_if_not_finite_outside_capture():
    def step(x):
        stop_if_not_finite(x)
        return x * 2

    assert run_stoppable(step, mt.tensor([1.0])).item() == 2.0
    assert np.isnan(run_stoppable(step, mt.tensor([np.nan])).item())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.int64])
@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (3,)])
def test_all_finite_agrees_with_numpy_for_every_value_dtype_and_shape(dtype, shape):
    from minitorch.step_capture.recorder import all_finite

    values = [0.0, -2.5, np.inf, -np.inf, np.nan, 6e4]
    if np.dtype(dtype).kind == "f":
        values.append(np.finfo(dtype).max)  # longdouble's max is beyond a Python float: must stay finite
    for v in values:
        with np.errstate(over="ignore", invalid="ignore"):
            a = np.full(shape, v, dtype=dtype) if np.dtype(dtype).kind != "i" else np.full(shape, 7, dtype=dtype)
        assert all_finite(a) == bool(np.isfinite(a).all()), (dtype, shape, v)


# ------------------------------------------------------------------ other layers and optimizer paths
class ConvNet(nn.Module):
    """Padding, stride 2 (im2col + GEMM), a weight too big for the direct kernel, Tanh, a residual add."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)               # direct, padded
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2, padding=1)     # im2col (stride 2)
        self.conv3 = nn.Conv2d(8, 64, 3, padding=1)              # im2col (weight over the direct limit)
        self.fc = nn.Linear(64 * 16 * 16, 10)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(x).tanh()
        h = (h + x.mean(axis=1, keepdims=True)).relu()
        h = self.conv3(self.conv2(h)).sigmoid()
        return self.fc(h.flatten(1))


def test_padded_strided_and_im2col_convolutions_equal_eager(rng):
    NETS["convnet"] = ConvNet
    try:
        eager, other, step = pair("convnet")
        run_both(eager, step, rng, [2, 2, 2, 2, 3])
    finally:
        del NETS["convnet"]
    assert_same_state(eager, other)
    assert step.counts["replayed"] >= 2


def test_per_parameter_sgd_path_equals_eager(rng):
    """A parameter without a gradient sends SGD down its per-parameter path (weight decay, Nesterov)."""
    def make():
        s = Setup("boringnet")
        s.unused = Parameter(mt.ones(3))
        s.opt = mt.optim.SGD(list(s.model.parameters()) + [s.unused], lr=0.05, momentum=0.9,
                             weight_decay=1e-3, nesterov=True)
        return s

    eager, other = make(), make()
    step = mt.capture(other.step)
    run_both(eager, step, rng, [4, 4, 4, 4, 4])
    assert_same_state(eager, other)
    assert step.counts["replayed"] >= 2


def test_zero_grad_without_set_to_none_in_the_step_equals_eager(rng):
    def make():
        s = Setup("lazynet")

        def step(x, y):
            s.opt.zero_grad(set_to_none=False)
            loss = F.cross_entropy(s.model(x), y)
            loss.backward()
            s.opt.step()
            return loss
        return s, step

    assert_captured_equals_eager(make, rng)


def test_float64_model_equals_eager(rng, float64):
    eager, other, step = pair("coolnet")
    for _ in range(4):
        x, y = batch(rng)
        x = x.double()
        assert eager.step(x, y).item() == step(x, y).item()
    assert_same_state(eager, other)
    assert step.counts["replayed"] >= 1


def test_python_arguments_are_part_of_the_signature(rng):
    s = Setup("lazynet")
    scaled = mt.capture(lambda x, scale=1.0: s.model(x) * scale)
    x, _ = batch(rng)
    for scale in (1.0, 1.0, 1.0, 2.0, 2.0):
        np.testing.assert_array_equal(scaled(x, scale=scale).numpy(), (s.model(x) * scale).numpy())
    assert scaled.counts["recorded"] == 2 and scaled.counts["replayed"] == 2


def test_mse_on_one_hot_targets_is_captured_and_checks_them_on_every_replay(rng):
    """one_hot is a kernel that checks its range itself: hw5's MSE step replays (it ran eagerly while one_hot
    checked in Python), equal to eager, and a label out of range in a replay raises as the eager step does."""
    def mse(out, y):
        return F.mse_loss(out, F.one_hot(y, 10))

    eager, other = Setup("lazynet"), Setup("lazynet")
    plain = training_step(eager.model, mse, eager.opt, capture=False)
    captured = training_step(other.model, mse, other.opt, strict=True)
    for _ in range(4):
        x, y = batch(rng)
        assert plain(x, y).item() == captured(x, y).item()
    assert_same_state(eager, other)
    assert captured.counts["replayed"] >= 2 and captured.counts["eager"] == 0
    x, y = batch(rng)
    y._data[2] = 10
    with pytest.raises(ValueError, match=r"one_hot: class indices must lie in \[0, 10\), got min \d+ max 10"):
        captured(x, y)
    with pytest.raises(CaptureError):  # the number of classes read from the data: a data-dependent shape
        mt.capture(lambda x, y: F.mse_loss(other.model(x), F.one_hot(y)))(*batch(rng))


def test_inputs_that_require_grad_are_refused(rng):
    x, _ = batch(rng)
    with pytest.raises(CaptureError, match=r"requires grad"):
        mt.capture(lambda x: x.sum())(x.requires_grad_())


def test_a_captured_step_inside_a_recording_is_refused(rng):
    s = Setup("lazynet")
    inner = mt.capture(lambda x: s.model(x))
    x, _ = batch(rng)
    for _ in range(3):
        inner(x)  # recorded, then replayed
    with pytest.raises(CaptureError, match=r"another step"):
        mt.capture(lambda x: inner(x).sum())(x)


def test_a_module_called_through_forward_is_guarded_too(rng):
    """bn.forward(x), not bn(x): the module must still be found (the step's closure names it: a root from the
    first call, which records at once), its mode guarded, its statistics traced."""
    eager, other = nn.BatchNorm1d(5), nn.BatchNorm1d(5)
    captured = mt.capture(lambda x: other.forward(x))
    for i in range(6):
        if i == 3:
            eager.eval()
            other.eval()
        x = mt.tensor(rng.standard_normal((4, 5)).astype(np.float32))
        np.testing.assert_array_equal(captured(x).numpy(), eager.forward(x).numpy())
    assert captured.counts["recorded"] == 2 and captured.counts["replayed"] == 4
    for name, value in eager.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), other.state_dict()[name].numpy(), err_msg=name)


def test_inputs_changed_in_place_or_not_contiguous_are_seen(rng):
    """Replays read the caller's array where they can (a view of it), else a copy: either way its current values."""
    eager, other, step = pair("coolnet")
    x, y = batch(rng, 4)
    for i in range(7):
        x.numpy()[...] = rng.standard_normal(x.shape)  # the same array, new values
        if i == 5:  # a non-contiguous array of the same shape and dtype
            x = mt.from_numpy(np.asfortranarray(rng.standard_normal(x.shape).astype(np.float32)))
            assert not x.numpy().flags.c_contiguous
        if i == 6:
            x = mt.tensor(rng.standard_normal(x.shape).astype(np.float32))
        assert eager.step(x, y).item() == step(x, y).item()
    assert_same_state(eager, other)
    assert step.counts["replayed"] >= 4


@pytest.mark.parametrize("net", ["boringnet", "coolnet"])
def test_sgd_gradients_are_computed_into_the_flat_gradient(net, rng):
    """The concatenation SGD does before its flat update is left out of the program: the gradients are
    computed straight into their slices of the flat array (same values, see the equality tests above)."""
    eager, other, step = pair(net)
    run_both(eager, step, rng, [4, 4, 4, 4])
    recording = next(iter(step.recordings.values()))[0]
    assert "numpy.concatenate" not in recording.program.names
    assert recording.program.names.count("sgd_update") == 1
    assert_same_state(eager, other)


def test_sgd_updates_large_parameters_where_they_lie_unless_captured(rng):
    """Eagerly, BoringNet's few large parameters are updated one call each, reading their gradients in place
    (a gather would copy 1.5 MB); a captured step gathers, which its program does without copying (above)."""
    eager, other, step = pair("boringnet")
    run_both(eager, step, rng, [4, 4])  # discovered, recorded
    sizes = [p.data.numel() for p in eager.model.parameters()]
    with mock.patch.object(sgd_module, "sgd_update", wraps=sgd_module.sgd_update) as update:
        run_both(eager, step, rng, [4, 4])  # replayed: the program's calls do not go through the name
    assert step.counts["replayed"] == 2
    assert [call.args[0].size for call in update.call_args_list] == sizes * 2
    assert_same_state(eager, other)


def test_adam_counts_its_steps_in_python_so_it_runs_eagerly(rng):
    """Adam keeps its step count (bias correction) as a Python number that every step changes: each call
    would need a new recording, so capture gives up on it with a warning; the results stay exact."""
    def make():
        s = Setup("lazynet")
        s.opt = mt.optim.Adam(s.model.parameters(), lr=1e-3)
        return s

    eager, other = make(), make()
    step = mt.capture(other.step)
    with pytest.warns(RuntimeWarning, match=r"without a replay.*'step' changed"):
        run_both(eager, step, rng, [4] * 8)
    assert step.counts["replayed"] == 0 and step.counts["eager"] >= 1
    for (name, a), (_, b) in zip(eager.model.named_parameters(), other.model.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_gradient_clipping_in_the_step_equals_eager(rng):
    """clip_grad_norm_ scales the gradients by an array computed from them: no Python branch, so it replays."""
    def make():
        s = Setup("coolnet")

        def step(x, y):
            s.opt.zero_grad()
            loss = F.cross_entropy(s.model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(s.model.parameters(), max_norm=0.5)
            s.opt.step()
            return loss
        return s, step

    assert_captured_equals_eager(make, rng)


@pytest.mark.parametrize("net", sorted(NETS))
def test_every_kernel_of_a_training_step_replays_into_its_buffers(net, rng):
    """Each kernel call of the three nets' steps (BoringNet's small-batch Linear loops and batch norm's running
    statistics included) replays as the CPU implementation (or its direct form, the compiled loop on the same
    arrays) writing into the outputs it wrote when recorded: none calls something that allocates and copies."""
    from minitorch import kernels
    from minitorch.kernels import cpu
    from minitorch.step_capture.program import _call_and_copy

    eager, other, step = pair(net)
    run_both(eager, step, rng, [4, 4, 4])
    recording = next(iter(step.recordings.values()))[0]
    names = [name for name in recording.program.names if name in kernels.KERNELS]
    assert names and all(fn is not _call_and_copy for fn, _, _ in recording.program.steps)
    for name, (fn, _, _) in zip(recording.program.names, recording.program.steps, strict=True):
        if name in kernels.KERNELS:
            impl = getattr(cpu, name)
            assert fn is impl or (hasattr(impl, "replay") and fn is not impl), name
    if net == "boringnet":
        assert names.count("linear_forward") == 3 and "sgd_update" in names
    if net == "coolnet":
        assert names.count("batch_norm_running_stats") == 4
    assert_same_state(eager, other)


# ------------------------------------------------------------------ a fresh machine: nothing compiled yet
_COLD_SCRIPT = r"""
import numpy as np
import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.step_capture import training_step

def convnet():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 7 * 7, 10))

def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 20), nn.ReLU(), nn.Linear(20, 10))

rng = np.random.default_rng(0)
for make in (mlp, convnet):
    steps = []
    for capture in (False, True):
        mt.manual_seed(0)
        model = make()
        opt = mt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        steps.append(training_step(model, F.cross_entropy, opt, capture=capture, strict=True))
    for _ in range(4):
        x = mt.tensor(rng.standard_normal((4, 3, 16, 16)).astype(np.float32))
        y = mt.tensor(rng.integers(0, 10, 4))
        assert steps[0](x, y).item() == steps[1](x, y).item()
    assert steps[1].counts["replayed"] >= 1, steps[1].counts
print("ok")
"""


@pytest.mark.slow
def test_two_nets_train_through_capture_on_a_cold_numba_cache(tmp_path):
    """As on a fresh clone: numba compiles each kernel on first use, some while a step is being recorded (the
    recorder must leave NumPy as it is, or numba's typing of np.empty inside a kernel fails)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    done = subprocess.run([sys.executable, "-c", _COLD_SCRIPT], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


# ------------------------------------------------------------------ memory planning: dead buffers share storage
def _program_bytes(step) -> int:
    """Bytes of the distinct memory (base arrays) that a captured step's first recording's program touches."""
    from minitorch.step_capture.traced import arrays_in

    def base(a: np.ndarray) -> np.ndarray:
        while isinstance(a.base, np.ndarray):
            a = a.base
        return a

    program = next(iter(step.recordings.values()))[0].program
    bases = {id(b): b for _, args, kwargs in program.steps for b in map(base, arrays_in((list(args), kwargs)))}
    return sum(b.nbytes for b in bases.values())


def test_replays_share_dead_buffers_and_equal_eager_over_changing_batches(rng, monkeypatch):
    """CoolNet at batch 16: the planned program touches far less memory than one buffer per intermediate,
    and its replays (batches of 16 and 5, each its own recording) stay bit-identical to eager steps."""
    import minitorch.step_capture.program as program

    eager, other, step = pair("coolnet")
    run_both(eager, step, rng, [16, 16, 16, 5, 16, 5, 5, 16])
    assert_same_state(eager, other)
    assert step.counts == {"recorded": 2, "replayed": 5, "eager": 0, "discovered": 1}
    planned = _program_bytes(step)

    monkeypatch.setattr(program, "share_storage", lambda ops, buffers, kept: ops)
    eager, other, unplanned = pair("coolnet")
    run_both(eager, unplanned, rng, [16, 16, 16])
    assert planned < 0.7 * _program_bytes(unplanned)


def test_a_returned_intermediate_is_never_shared(rng):
    """A step that returns its hidden activation besides the loss: every replay returns eager's values."""
    def make():
        s = Setup("boringnet")

        def step(x, y):
            s.opt.zero_grad()
            hidden = s.model[2](s.model[1](s.model[0](x)))  # the first ReLU's output: dead after backward
            loss = F.cross_entropy(s.model[5](s.model[4](s.model[3](hidden))), y)
            loss.backward()
            s.opt.step()
            return loss, hidden
        return s, step

    (a, step_a), (b, step_b) = make(), make()
    step_b = mt.capture(step_b)
    for _ in range(5):
        x, y = batch(rng)
        (loss_a, hidden_a), (loss_b, hidden_b) = step_a(x, y), step_b(x, y)
        assert loss_a.item() == loss_b.item()
        np.testing.assert_array_equal(hidden_a.numpy(), hidden_b.numpy())
    assert step_b.counts["replayed"] >= 2
    assert_same_state(a, b)


@pytest.mark.parametrize("as_array", [False, True])
def test_a_view_of_an_intermediate_kept_in_a_module_is_never_clobbered(as_array, rng):
    """The step keeps a slice of an early activation (a tensor, or its array) in an attribute of the model, which
    the step never calls: after each replay it holds what the eager step left there, though the activation is
    dead in the program long before the step ends."""
    def make():
        s = Setup("coolnet")

        def step(x, y):
            s.opt.zero_grad()
            h = s.model.relu(s.model.bn1(s.model.conv1(x)))
            s.model.kept = h[:2, 1]._data if as_array else h[:2, 1]  # a view of h
            x = s.model.flatten(s.model.pool(s.model.relu(s.model.bn2(s.model.conv2(s.model.pool(h))))))
            x = s.model.relu(s.model.bn3(s.model.fc1(x)))
            loss = F.cross_entropy(s.model.fc3(s.model.relu(s.model.bn4(s.model.fc2(x)))), y)
            loss.backward()
            s.opt.step()
            return loss
        return s, step

    (a, step_a), (b, step_b) = make(), make()
    step_b = mt.capture(step_b)
    for _ in range(6):
        x, y = batch(rng, 8)
        assert step_a(x, y).item() == step_b(x, y).item()
        np.testing.assert_array_equal(np.asarray(a.model.kept), np.asarray(b.model.kept))
    assert step_b.counts["replayed"] >= 2
    assert_same_state(a, b)


def test_module_and_optimizer_hooks_are_set_only_while_a_step_records():
    """Eager steps pay nothing for capture: its hooks on module calls and optimizer steps exist only while it
    records (and they still tell the recorder which modules and optimizers the step used)."""
    from minitorch.nn.modules import module
    from minitorch.optim import optimizer
    model = nn.Linear(3, 2)
    opt = mt.optim.SGD(model.parameters(), lr=0.1)
    # a deque, not a list: capture guards the lists a step reads, and one that grows every call (rightly) never
    # lets the step replay
    seen: collections.deque[tuple[int, int]] = collections.deque()

    @mt.capture
    def step(x, y):
        seen.append((len(module._global_forward_pre_hooks.all), len(optimizer._global_step_pre_hooks.all)))
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    assert module._global_forward_pre_hooks.all == () and optimizer._global_step_pre_hooks.all == ()
    rng = np.random.default_rng(0)
    for _ in range(3):
        step(mt.tensor(rng.standard_normal((4, 3)), dtype=mt.float32),
             mt.tensor(rng.standard_normal((4, 2)), dtype=mt.float32))
    assert seen[0] == (1, 1)                       # recording: hooked
    assert module._global_forward_pre_hooks.all == () and optimizer._global_step_pre_hooks.all == ()
    assert step.counts["replayed"] >= 1            # the recorder learned the roots: later steps replay
