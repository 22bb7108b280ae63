"""Captured steps: record a training (or evaluation) step once, replay it without Python dispatch.

``step = minitorch.capture(train_step)`` returns a callable that runs
``train_step`` eagerly while it records every array-level call the step makes
(forward, backward, optimizer) with the arrays they read and write, and from
then on replays those calls into the same, preallocated arrays: no tensors,
no graph, no module calls.  The pieces, in the order a recording uses them:

* :mod:`.traced`: ``TracedArray``, the ndarray subclass through which NumPy
  reports each operation of the step (its documented dispatch protocols);
* :mod:`.recorder`: the per-thread observer that minitorch tells of kernel
  calls, arrays its ops make, tensors and modules; what is recorded;
* :mod:`.state`: the Python state a recording depends on (guarded before each
  replay: modules, optimizers, tensors, the step's globals and closure
  variables) and the arrays in it (traced while recording);
* :mod:`.program`, :mod:`.relocation` and :mod:`.memory_plan`: the
  recording turned into a flat list of calls, with buffers whose lifetimes do
  not overlap sharing memory;
* :mod:`.captured`: ``capture`` itself: signatures, recordings, replays;
  and a training step for loops such as hw5's.
"""
from minitorch.step_capture.captured import Captured, capture, run_stoppable, stop_if_not_finite, training_step
from minitorch.step_capture.errors import CaptureError, StepStopped

__all__ = ["CaptureError", "Captured", "StepStopped", "capture", "run_stoppable", "stop_if_not_finite",
           "training_step"]
