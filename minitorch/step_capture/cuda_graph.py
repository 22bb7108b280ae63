"""A replay program on the GPU, run as CUDA graphs: one launch per run of steps between guards.

A :class:`~.program.Program` is a flat list of calls into preallocated arrays:
the same functions, on the same arrays, with the same Python arguments, on
every replay.  That is what a CUDA graph needs.  :class:`GraphProgram` runs the
program's steps once eagerly (the *warm-up*, which is also that call's step),
then records them with CUDA stream capture (``stream.begin_capture()`` /
``end_capture()``; nothing runs while capturing) into one ``cupy.cuda.Graph``
per *segment*, and from then on each :meth:`GraphProgram.run` launches the
graphs in order.  The segments are the runs of steps between the program's
finiteness guards (``stop_if_not_finite``): a guard reads a device value on the
host, which a graph cannot, so it runs between two launches as it does in a
plain replay, and a failed guard ends the step at the same point.

What a graph freezes, and why that is safe
------------------------------------------
A graph replays the recorded kernel launches with the recorded *device
pointers*, *shapes and launch geometry*, and *scalar arguments* (learning rate,
momentum, eps, ...); it reads whatever the memory at those pointers holds at
launch time.  The replay program already promises all of that:

* every array a step reads or writes is a buffer of the recording or an array
  of the state (parameters, buffers, optimizer state), whose identity the
  recording's guard checks before each replay; a changed parameter array,
  hyper-parameter, shape, dtype or mode makes the captured step record anew,
  i.e. build a new program and a new graph;
* the step's inputs are copied into the recording's input buffers before the
  program runs (:meth:`GraphProgram.uses_of` says no step may be handed the
  caller's array instead: the graph would keep reading the old address);
* temporaries that the steps allocate (the scratch columns of im2col, CuPy's
  intermediate results) come from a memory pool private to this program: the
  warm-up fills it, the capture takes the same blocks in the same order, and
  nothing else ever allocates from it, so the addresses baked into the graph
  stay this program's for its lifetime (the pool lives as long as the graphs).

The warm-up and the capture run with the CUDA kernels :func:`capturable
<minitorch.kernels.cuda.capturable>`: the products run the RawKernel ``gemm``
instead of cuBLAS (which CuPy refuses inside a capture), so a graph launch
computes bit for bit what the warm-up computed, and within float32 rounding
what a plain replay computes with cuBLAS.  Checks of device values that would
synchronise (cross-entropy's target range) are deferred: read after the last
launch, raising the same ValueError, but after the step has run.

When a step cannot be captured (a host synchronisation in it, a library call
that refuses capture, an allocation the capture cannot make), the capture is
abandoned and the program runs as a plain replay from then on, with a
RuntimeWarning saying which step and why.  CuPy is imported only here, on
first use: this module is imported on CPU-only machines too.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from minitorch.step_capture import program as program_module
from minitorch.step_capture.program import Program

Step = tuple[Callable[..., Any], Any, dict]


def runs_on_gpu(program: Program) -> bool:
    """Whether the program's steps work on CuPy arrays (then it is worth running as a graph)."""
    for _, args, kwargs in program.steps:
        for a in (*args, *kwargs.values()):
            if type(a).__module__.partition(".")[0] == "cupy":
                return True
    return False


def for_device(program: Program) -> Any:
    """The object to run the program with: a :class:`GraphProgram` for a GPU program, else the program."""
    return GraphProgram(program) if runs_on_gpu(program) else program


def segments(steps: list[Step]) -> list[tuple[str, list[Step]]]:
    """The steps cut at the guards: ``("graph", steps)`` runs between ``("guard", [guard step])`` entries."""
    out: list[tuple[str, list[Step]]] = []
    current: list[Step] = []
    for step in steps:
        if step[0] is program_module._guard:
            if current:
                out.append(("graph", current))
                current = []
            out.append(("guard", [step]))
        else:
            current.append(step)
    if current:
        out.append(("graph", current))
    return out


class GraphProgram:
    """A :class:`Program` run as CUDA graphs (see the module docstring); the program's interface."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.steps = program.steps
        self.names = program.names
        self.segments = segments(program.steps)
        self.graphs: list[Any] | None = None   # one per segment: a Graph, or None for a guard
        self.fallback: str | None = None        # why the program runs as a plain replay, once it does
        self.checks: list[tuple[Any, str]] = []  # deferred device checks: (flag, message)
        self._pool: Any = None
        self._stream: Any = None

    def __len__(self) -> int:
        return len(self.program)

    def uses_of(self, buf: Any) -> None:
        """None: a graph reads its input buffers at their recorded addresses, so inputs are copied in."""
        return None

    @property
    def launches(self) -> int:
        """Graph launches per run (0 until captured, or after falling back)."""
        return sum(g is not None for g in self.graphs or ())

    def run(self) -> None:
        if self.fallback is not None:
            self.program.run()
        elif self.graphs is None:
            self._warm_up_and_capture()
        else:
            self._launch()

    # ---------------------------------------------------------------- phases
    def _launch(self) -> None:
        import cupy

        stream = cupy.cuda.get_current_stream()
        for (_kind, steps), graph in zip(self.segments, self.graphs or (), strict=True):
            if graph is None:
                for fn, args, kwargs in steps:  # a guard: reads the device, may raise Stop
                    fn(*args, **kwargs)
            else:
                graph.launch(stream=stream)
        self._read_checks()

    def _read_checks(self) -> None:
        for flag, message in self.checks:
            if bool(flag):  # one synchronisation for the first; the rest are then ready
                raise ValueError(message)

    def _warm_up_and_capture(self) -> None:
        import cupy

        from minitorch.kernels import cuda

        self._pool = cupy.cuda.MemoryPool()
        self._stream = cupy.cuda.Stream(non_blocking=True)
        caller = cupy.cuda.get_current_stream()
        # The warm-up is this call's step: on the capture stream, ordered after the caller's work (the
        # inputs copied in) and before whatever the caller does next.
        self._stream.wait_event(caller.record())
        try:
            with cupy.cuda.using_allocator(self._pool.malloc), self._stream, cuda.capturable():
                self.program.run()  # may raise Stop (a guard): capture on a later call
        finally:
            caller.wait_event(self._stream.record())
        graphs: list[Any] = []
        checks: list[tuple[Any, str]] = []
        for kind, steps in self.segments:
            if kind == "guard":
                graphs.append(None)
                continue
            graph = self._capture(steps, checks, cupy, cuda)
            if graph is None:
                return
            graphs.append(graph)
        self.graphs, self.checks = graphs, checks

    def _capture(self, steps: list[Step], checks: list, cupy: Any, cuda: Any) -> Any:
        """One segment's graph, or None after falling back (with a warning) when it cannot be captured."""
        stream = self._stream
        current: Step | None = None  # the step being captured, to name it if the capture fails
        try:
            with cupy.cuda.using_allocator(self._pool.malloc), stream, cuda.capturable(checks):
                stream.begin_capture()
                try:
                    for current in steps:
                        fn, args, kwargs = current
                        fn(*args, **kwargs)
                finally:
                    graph = stream.end_capture()  # also ends a capture that a failed call invalidated
            graph.upload(stream)  # instantiate now, not on the first launch
            return graph
        except Exception as exc:  # noqa: BLE001 - any failure: fall back to the plain replay, saying why
            name = _name_of(self.program, current)
            self._give_up(f"{name}: {type(exc).__name__}: {exc}")
            return None

    def _give_up(self, why: str) -> None:
        self.fallback = why
        self.graphs, self.checks, self._pool = None, [], None
        warnings.warn(f"CUDA graph: the captured step cannot be recorded into a graph ({why}); it is replayed "
                      "step by step instead", RuntimeWarning, stacklevel=4)


def _name_of(program: Program, step: Step | None) -> str:
    for i, s in enumerate(program.steps):
        if s is step:
            return program.names[i] if i < len(program.names) else f"step {i}"
    return "a step"
