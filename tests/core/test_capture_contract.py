"""minitorch.capture's contract under attack: steps written the way users write them, where a replay once
differed silently from the eager step (or crashed), each compared bit for bit with an eager twin."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.step_capture import CaptureError, training_step
from minitorch.step_capture.memory_plan import share_storage
from minitorch.step_capture.recorder import Op
from tests.core.test_capture import Setup, accumulating, assert_same_state, batch


def small_batch(rng: np.random.Generator, n: int = 4) -> tuple[mt.Tensor, mt.Tensor]:
    return (mt.from_numpy(rng.standard_normal((n, 8)).astype(np.float32)),
            mt.from_numpy(rng.integers(0, 3, n).astype(np.int64)))


def assert_same_parameters(a: nn.Module, b: nn.Module) -> None:
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=name)
        assert (pa.grad is None) == (pb.grad is None), name
        if pa.grad is not None:
            np.testing.assert_array_equal(pa.grad.numpy(), pb.grad.numpy(), err_msg=f"{name}.grad")


class WithUnused(nn.Module):
    """A model with a layer its forward never calls: that layer's parameters get no gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.used, self.unused = nn.Linear(8, 3), nn.Linear(8, 3)

    def forward(self, x: mt.Tensor) -> mt.Tensor:
        return self.used(x)


@pytest.mark.parametrize("through", ["capture", "training_step"])
def test_a_parameter_without_a_gradient_is_captured(through, rng):
    """SGD gathers its group into flat arrays during the first recorded step: the flat gradient it makes there
    and does not use (a parameter has no gradient) once made capture refuse the step, even with strict=False."""
    def make():
        mt.manual_seed(0)
        model = WithUnused()
        opt = mt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        if through == "training_step":
            return model, training_step(model, F.cross_entropy, opt, capture=False), \
                training_step(model, F.cross_entropy, opt)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return model, step, mt.capture(step)

    (a, step_a, _), (b, _, step_b) = make(), make()
    for _ in range(5):
        x, y = small_batch(rng)
        assert step_a(x, y).item() == step_b(x, y).item()
    assert_same_parameters(a, b)
    assert step_b.counts["replayed"] >= 2 and step_b.counts["eager"] == 0


def test_object_arrays_never_share_storage_with_numbers():
    """The memory plan once gave a dead object array's block to a later float array: the floats' bits then stood
    where the next replay's object array expected pointers to release (a crash, as the probe found)."""
    objects, numbers = np.empty(4, dtype=object), np.empty(4, dtype=np.float64)
    ops = [Op("call", "fill objects", np.copyto, (objects, 1), writes=[objects]),
           Op("call", "fill numbers", np.copyto, (numbers, 2.0), writes=[numbers])]
    planned = share_storage(ops, [objects, numbers], kept=[])
    assert planned[0].args[0] is objects


def test_a_gradient_the_caller_replaced_between_calls_receives_the_batch(rng):
    """No zero_grad in the step; between calls the caller puts a new tensor in .grad (p.grad = p.grad * 0.5): the
    replay adds this batch's gradient to it, as eager does, instead of to the tensor .grad held when recorded."""
    (a, step_a), (b, step_b) = accumulating("lazynet"), accumulating("lazynet")
    step_b = mt.capture(step_b)
    for i in range(6):
        if i >= 3:
            for s in (a, b):
                for p in s.model.parameters():
                    p.grad = p.grad * 0.5
        x, y = batch(rng)
        assert step_a(x, y).item() == step_b(x, y).item()
        assert_same_parameters(a.model, b.model)
    assert step_b.counts["replayed"] >= 2


def test_zero_grad_outside_the_step_with_a_last_partial_batch_equals_eager(rng):
    """The loop PyTorch's tutorials write (zero_grad outside the step), over batches of two sizes: the gradient
    tensor a recording rebinds may not be the one .grad holds when another recording replays."""
    def make():
        s = Setup("lazynet")

        def step(x, y):
            loss = F.cross_entropy(s.model(x), y)
            loss.backward()
            s.opt.step()
            return loss
        return s, step

    (a, step_a), (b, step_b) = make(), make()
    step_b = mt.capture(step_b)
    for n in [4, 4, "zero_grad", 4, 3, 4, 3, "zero_grad", 4, 4]:
        if n == "zero_grad":
            a.opt.zero_grad()
            b.opt.zero_grad()
            continue
        x, y = batch(rng, n)
        assert step_a(x, y).item() == step_b(x, y).item()
    assert_same_state(a, b)
    assert step_b.counts["replayed"] >= 1


def test_an_output_passed_back_in_is_read_before_the_replay_rewrites_it(rng):
    """A recurrent step takes its own last output (the state h) as an input: a replay must not hand the program
    that output's memory as the input it reads while writing the new output there."""
    mt.manual_seed(0)
    cell = nn.Linear(4, 4)

    def step(x, h):
        with mt.no_grad():
            new = mt.tanh(cell(h) + x)
            return new, ((new - h) ** 2).sum()

    captured = mt.capture(step)
    h_eager, h_captured = mt.zeros(2, 4), mt.zeros(2, 4)
    for _ in range(6):
        x = mt.from_numpy(rng.standard_normal((2, 4)).astype(np.float32))
        h_eager, d_eager = step(x, h_eager)
        h_captured, d_captured = captured(x, h_captured)
        np.testing.assert_array_equal(h_captured.numpy(), h_eager.numpy())
        assert d_captured.item() == d_eager.item()
    assert captured.counts["replayed"] >= 3


TEMPERATURE = 1.0


class Scaled(nn.Module):
    """A model whose forward reads a module-level global."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 3)

    def forward(self, x: mt.Tensor) -> mt.Tensor:
        return self.lin(x) / TEMPERATURE


@pytest.mark.parametrize("where", ["a model's forward", "a step decorated with no_grad"])
def test_globals_read_beyond_the_steps_own_code_are_guarded(where, rng, monkeypatch):
    mt.manual_seed(0)
    if where == "a model's forward":
        model = Scaled()
        step = lambda x: model(x).sum()  # noqa: E731
    else:
        model = nn.Linear(8, 3)

        @mt.no_grad()
        def step(x):
            return (model(x) / TEMPERATURE).sum()
    captured = mt.capture(step)
    for i in range(6):
        if i == 3:
            monkeypatch.setattr(__import__(__name__), "TEMPERATURE", 4.0)
        x, _ = small_batch(rng)
        assert captured(x).item() == step(x).item()
    assert captured.counts["replayed"] >= 2 and captured.counts["recorded"] >= 2


class Trainer:
    """A step written as a method of a plain object, reading an attribute of it."""

    def __init__(self) -> None:
        mt.manual_seed(0)
        self.model = nn.Linear(8, 3)
        self.opt = mt.optim.SGD(self.model.parameters(), lr=0.1)
        self.scale = 1.0

    def step(self, x: mt.Tensor, y: mt.Tensor) -> mt.Tensor:
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(x), y) * self.scale
        loss.backward()
        self.opt.step()
        return loss


def test_attributes_of_the_object_whose_method_is_captured_are_guarded(rng):
    a, b = Trainer(), Trainer()
    step = mt.capture(b.step)
    for i in range(7):
        if i == 4:
            a.scale = b.scale = 10.0
        x, y = small_batch(rng)
        assert a.step(x, y).item() == step(x, y).item()
    assert_same_parameters(a.model, b.model)
    assert step.counts["replayed"] >= 2


def test_a_scheduler_stepped_inside_the_step_is_followed(rng):
    """The scheduler's counter changes in every call: each call records anew (eagerly), and after a few the step
    runs uncaptured with a warning, instead of replaying the learning rate of one recording forever."""
    def make():
        s = Setup("lazynet", lr=0.1)
        scheduler = mt.optim.lr_scheduler.StepLR(s.opt, step_size=2, gamma=0.1)

        def step(x, y):
            loss = s.step(x, y)
            scheduler.step()
            return loss
        return s, step

    (a, step_a), (b, step_b) = make(), make()
    step_b = mt.capture(step_b)
    with pytest.warns(RuntimeWarning, match="without a replay"):
        for _ in range(8):
            x, y = batch(rng)
            assert step_a(x, y).item() == step_b(x, y).item()
    assert a.opt.param_groups[0]["lr"] == b.opt.param_groups[0]["lr"] == pytest.approx(1e-5)
    assert_same_state(a, b)


@pytest.mark.parametrize("convert", [lambda x: x.numpy(), np.asarray, np.array])
def test_handing_a_tensor_to_numpy_in_the_step_is_refused(convert, rng):
    """NumPy reports back only some of what code does with an array (np.asarray, np.array make plain arrays it
    never sees again): a step that leaves minitorch for NumPy could replay values computed when it recorded."""
    def step(x):
        return mt.from_numpy(convert(x) * 2).sum()

    with pytest.raises(CaptureError, match="hands a tensor's array to NumPy"):
        mt.capture(step)(small_batch(rng)[0])
    eager = mt.capture(step, strict=False)
    with pytest.warns(RuntimeWarning, match="hands a tensor's array to NumPy"):
        for _ in range(3):
            x = small_batch(rng)[0]
            assert eager(x).item() == step(x).item()


SCALE = np.array(1.0, dtype=np.float32)
MASK = np.ones(8, dtype=np.float32)


def test_numpy_arrays_the_step_reads_from_globals_are_state(rng):
    """A global array changed in place between calls: what the step computes from it follows (it is traced as
    state, like a module's buffer), and a Python number taken from it is refused like one taken from the data."""
    def step(x):
        with mt.no_grad():
            return (x * mt.tensor(MASK)).sum() + (x * mt.from_numpy(SCALE)).sum()

    captured = mt.capture(step)
    for i in range(5):
        if i == 3:
            MASK[:4] = 0.0
            SCALE[...] = 7.0
        x, _ = small_batch(rng)
        assert captured(x).item() == step(x).item()
    assert captured.counts["replayed"] >= 2
    with pytest.raises(CaptureError, match="Python value"):
        mt.capture(lambda x: x * float(SCALE))(small_batch(rng)[0])


class Configured(nn.Module):
    """A model whose forward reads a number from an OrderedDict attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 3)
        self.settings = collections.OrderedDict(scale=1.0)

    def forward(self, x: mt.Tensor) -> mt.Tensor:
        return self.lin(x) * self.settings["scale"]


def test_dict_subclasses_in_a_module_are_guarded_by_their_contents(rng):
    mt.manual_seed(0)
    model = Configured()
    step = lambda x: model(x).sum()  # noqa: E731
    captured = mt.capture(step)
    for i in range(6):
        if i == 3:
            model.settings["scale"] = 3.0
        x, _ = small_batch(rng)
        assert captured(x).item() == step(x).item()
    assert captured.counts["replayed"] >= 2 and captured.counts["recorded"] >= 2


def test_a_generator_passed_as_an_argument_is_refused(rng):
    """Its draws would be the recorded ones on every replay, as those of a generator the step reads."""
    def step(x, generator):
        return (x * mt.from_numpy(generator.standard_normal(8).astype(np.float32))).sum()

    with pytest.raises(CaptureError, match="Generator in argument 1"):
        mt.capture(step)(small_batch(rng)[0], np.random.default_rng(0))


@pytest.mark.parametrize("first, second", [((1, 2), (1.0, 2.0)), (0.0, -0.0)])
def test_python_arguments_equal_in_python_but_not_to_the_step_record_anew(first, second, rng):
    """(1, 2) == (1.0, 2.0) and 0.0 == -0.0 in Python, but a step can tell them apart (the dtype of
    mt.tensor([1, 2]), the sign of a zero it multiplies by)."""
    def step(x, value):
        with mt.no_grad():
            return x.sum() * 0, mt.tensor(value)

    captured = mt.capture(step)
    x = small_batch(rng)[0]
    for value in (first, first, second, second):
        got, expected = captured(x, value)[1], step(x, value)[1]
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(np.signbit(got.numpy()), np.signbit(expected.numpy()))
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_a_batch_passed_as_one_tuple_is_a_type_error(rng):
    with pytest.raises(TypeError, match="tuple argument holding tensors"):
        mt.capture(lambda batch: batch[0].sum())(small_batch(rng))
