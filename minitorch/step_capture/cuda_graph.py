"""A replay program on the GPU, run as CUDA graphs: one launch per run of steps between guards.

A :class:`~.program.Program` calls the same functions on the same arrays with
the same Python arguments on every replay, which is what a CUDA graph needs.
:class:`GraphProgram` runs the steps once eagerly (the *warm-up*, which is that
call's step), then records them with stream capture into one ``cupy.cuda.Graph``
per *segment* (the steps between two ``stop_if_not_finite`` guards: a guard
reads a device value on the host, so it runs between launches), and from then
on launches the graphs.  A graph freezes device pointers, shapes and scalar
arguments; that is safe because the recording's guard already re-records on
any change of arrays, hyper-parameters, shapes or modes, inputs are copied
into the recording's buffers (never bound: :meth:`GraphProgram.uses_of`), and
the temporaries the steps allocate come from a memory pool private to the
program, taken in the same order by the warm-up and the capture.

Both run with :func:`minitorch.kernels.cuda.capturable` kernels: products by
the RawKernel ``gemm`` instead of cuBLAS (which refuses capture), so launches
compute bit for bit what the warm-up did; device checks that would synchronise
(cross-entropy's target range) are read after the last launch.  A step that
cannot be captured makes the program fall back to a plain replay, with a
RuntimeWarning naming it.  CuPy is imported only on first use.
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
            name = next((n for s, n in zip(self.steps, self.names, strict=False) if s is current), "a step")
            self._give_up(f"{name}: {type(exc).__name__}: {exc}")
            return None

    def _give_up(self, why: str) -> None:
        self.fallback = why
        self.graphs, self.checks, self._pool = None, [], None
        warnings.warn(f"CUDA graph: the captured step cannot be recorded into a graph ({why}); it is replayed "
                      "step by step instead", RuntimeWarning, stacklevel=4)

