"""What a sweep runs on a Dask worker: one experiment, in its own ``python -m hw5 run NAME`` process.

The worker only supervises; the training process does the work, with thread
pools sized before it starts (:mod:`hw5.process`) and its output in
``runs/NAME/train.log``.  The task's result is that process's exit status.

**Retries.**  A training process killed by a signal (the kernel's OOM killer,
``kill -9``, a node in trouble) makes the task raise :class:`ProcessDied`, and
Dask runs it again, up to :data:`RETRIES` more times.  A worker that dies makes
the scheduler run its tasks elsewhere, up to its ``allowed-failures`` setting
(see :mod:`hw5.cluster`).  Either way the next attempt resumes from the run's
last checkpoint (``--resume``), so at most the epoch in progress is repeated and
the run ends with exactly the numbers of an uninterrupted one.  An exit status
is never retried: 1 (a bug or bad data) would fail again, 130 means someone
stopped the run, 2 a usage problem (or, with the per-run lock, another process
already training that run).

**No orphans.**  A training process must not outlive its task: a retry could not
start while an orphan still held the run's lock, and two processes would write
one run.  So the process dies with its supervisor in every case:

* the task is stopped (the driver's Ctrl-C sets the sweep's stop event),
  cancelled (the driver went away and its futures were released), or its
  worker is closing (it lost the scheduler, which the driver has lost too):
  the task sends SIGINT, the process keeps its last checkpoint and exits, so
  the command the driver printed can continue it; SIGKILL follows if it has
  not exited after :data:`GRACE` seconds;
* the task raises: ``finally`` kills the process's group;
* the worker process itself dies, even by SIGKILL, where no Python code runs:
  the kernel sends SIGKILL to the training process, which asked for that with
  Linux's ``prctl(PR_SET_PDEATHSIG)`` between fork and exec.  The signal fires
  when the *thread* that started the process ends; that thread is the task's,
  which waits for the process, so it never ends first.  Elsewhere than Linux
  this last guarantee is missing.

A process killed outright loses nothing written: checkpoints and
``metrics.jsonl`` lines are written whole or not at all (:mod:`hw5.train`).
Each training process runs in its own session, so a Ctrl-C typed in the
driver's terminal reaches it only through the task.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from distributed import WorkerPlugin

from hw5.process import child_environment, usable_cores
from hw5.runfiles import LOG, RunFiles

RETRIES = 2          # more runs of a task whose training process was killed by a signal
GRACE = 120.0        # seconds a stopped training process gets to exit before SIGKILL
POLL = 0.5           # seconds between looks at the training process
DRIVER_MARKER = "driver"
PR_SET_PDEATHSIG = 1


class ProcessDied(RuntimeError):
    """The training process was killed by a signal: raised so that Dask retries the task."""


@dataclass(frozen=True)
class Task:
    """One experiment of a sweep, as sent to a worker."""

    name: str
    child_args: tuple[str, ...]   # options for ``python -m hw5 run NAME``, paths absolute
    runs_dir: str                 # absolute, on storage every worker shares
    sweep_dir: str                # runs_dir/.sweep-TOKEN: markers and the attempts of each run
    token: str
    blas: int                     # BLAS threads the driver's environment asks for

    @property
    def stop_event(self) -> str:
        return stop_event_name(self.token)


def stop_event_name(token: str) -> str:
    return f"hw5-sweep-stop-{token}"


# ------------------------------------------------------------ shared storage
def sees_driver(sweep_dir: str, token: str) -> bool:
    """Whether this machine sees the marker the driver wrote into the sweep's folder."""
    try:
        with open(os.path.join(sweep_dir, DRIVER_MARKER)) as f:
            return f.read().strip() == token
    except OSError:
        return False


def write_marker(sweep_dir: str, token: str) -> dict[str, Any]:
    """Run on every worker at the start of a sweep: check the driver's marker, and leave one for the driver."""
    host = socket.gethostname()
    if not sees_driver(sweep_dir, token):
        return {"ok": False, "host": host, "error": f"cannot see {os.path.join(sweep_dir, DRIVER_MARKER)}"}
    path = os.path.join(sweep_dir, f"worker-{host}-{os.getpid()}")
    try:
        with open(path, "w") as f:
            f.write(token + "\n")
    except OSError as exc:
        return {"ok": False, "host": host, "error": f"cannot write {path}: {exc.strerror}"}
    return {"ok": True, "host": host, "path": path}


# ----------------------------------------------------------------- attempts
def attempts_path(sweep_dir: str, name: str) -> str:
    return os.path.join(sweep_dir, f"{name}.attempts")


def read_attempts(sweep_dir: str, name: str) -> list[dict[str, Any]]:
    """The attempts at running ``name`` in this sweep: ``start`` and ``end`` records, oldest first."""
    try:
        with open(attempts_path(sweep_dir, name)) as f:
            lines = f.readlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written
            continue
    return out


def _note_attempt(sweep_dir: str, name: str, record: dict[str, Any]) -> None:
    with open(attempts_path(sweep_dir, name), "a") as f:
        f.write(json.dumps(record) + "\n")


def attempt_arguments(task: Task, attempt: int) -> list[str]:
    """The options of this attempt: the driver's for the first, ``--resume`` from the checkpoint after that.

    A retry whose first attempt died before its first checkpoint starts afresh
    (``--overwrite``): the records it finds are that attempt's own, since a first
    attempt that found someone else's records would have refused and not died.
    """
    args = list(task.child_args)
    if attempt == 1:
        return args
    args = [a for a in args if a not in ("--resume", "--overwrite")]
    resumable = os.path.isfile(RunFiles(task.runs_dir, task.name).checkpoint)
    return args + ["--resume" if resumable else "--overwrite"]


# ------------------------------------------------------------------ threads
def share_of_cores() -> int:
    """This task's share of its machine's cores: the usable cores over the task slots of all workers here."""
    from distributed import get_client, get_worker

    worker = get_worker()
    host = worker.address.rsplit(":", 1)[0]
    try:
        slots = sum(n for address, n in get_client().nthreads().items() if address.rsplit(":", 1)[0] == host)
    except Exception:  # the scheduler did not answer: count this worker's slots alone
        slots = 0
    return max(1, usable_cores() // max(slots, worker.state.nthreads, 1))


# ---------------------------------------------------- the training process
def _child_setup() -> Callable[[], None]:
    """A ``preexec_fn``: Ctrl-C's default action back, and (on Linux) death with the parent thread.

    The worker may ignore SIGINT (:class:`IgnoreInterrupts`), and an ignored
    signal stays ignored across exec: the training process must get the default
    back, or it could not be stopped.  Everything else is prepared here, in the
    parent, so that between fork and exec the child makes only these two calls.
    """
    prctl = None
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            prctl = ctypes.CDLL(None, use_errno=True).prctl
    args = (ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL),
            ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    parent = os.getpid()

    def preexec() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if prctl is not None:
            prctl(*args)
            if os.getppid() != parent:  # the parent died before the request was made
                os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def launch(command: list[str], log: Any, env: dict[str, str]) -> subprocess.Popen:
    """Start ``command`` in its own session (Ctrl-C in a terminal never reaches it), dying with this thread."""
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, preexec_fn=_child_setup())


def supervise(proc: subprocess.Popen, should_stop: Callable[[], bool], every: float = 1.0,
              started: Callable[[], None] = lambda: None) -> tuple[int, bool]:
    """Wait for ``proc``; once ``should_stop()`` says so, interrupt it. Returns (exit status, whether stopped).

    ``started()`` is called first, inside the guard that kills ``proc`` if anything here fails.
    """
    stopped_at = None
    last_look = time.monotonic()
    try:
        started()
        while True:
            try:
                return proc.wait(timeout=POLL), stopped_at is not None
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if stopped_at is None and now - last_look >= every:
                last_look = now
                if should_stop():
                    stopped_at = now
                    _signal_group(proc, signal.SIGINT)  # the run keeps its last checkpoint and exits with 130
            elif stopped_at is not None and now - stopped_at > GRACE:
                _signal_group(proc, signal.SIGKILL)
    finally:
        if proc.poll() is None:  # the task itself failed: the process must not outlive it
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)  # its own session: the group's id is its pid
    except ProcessLookupError:
        pass


def _stop_check(task: Task) -> Callable[[], bool]:
    """Whether the driver asked the sweep to stop, or dropped this task."""
    from distributed import Event, get_worker
    from distributed.worker import thread_state

    worker, key, event = get_worker(), thread_state.key, Event(task.stop_event)

    def should_stop() -> bool:
        if worker.status.name in ("closing", "closed", "failed"):   # e.g. the scheduler is gone
            return True
        state = worker.state.tasks.get(key)
        if state is None or state.state == "cancelled":
            return True
        try:
            return event.is_set()
        except Exception:  # the scheduler is unreachable: keep training; the worker closes (above) if it stays so
            return False

    return should_stop


def signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_experiment(task: Task) -> dict[str, Any]:
    """The Dask task: train ``task.name`` in a fresh process; return how it ended (see the module docstring)."""
    from distributed import get_worker

    worker = get_worker()
    host = socket.gethostname()
    result = {"name": task.name, "host": host, "worker": worker.address}
    if not sees_driver(task.sweep_dir, task.token):
        return {**result, "status": "unshared", "code": 1}
    should_stop = _stop_check(task)
    if should_stop():  # stopped before it began
        return {**result, "status": "not started", "code": 130}
    attempt = 1 + sum(1 for r in read_attempts(task.sweep_dir, task.name) if "start" in r)
    threads = share_of_cores()
    command = [sys.executable, "-m", "hw5", "run", task.name, *attempt_arguments(task, attempt)]
    files = RunFiles(task.runs_dir, task.name)
    start = time.time()
    with files.open_log() as log:  # appended: a retry must not erase what the last attempt said
        log.write(f"--- {task.name}, attempt {attempt}, on {host} ({worker.address}), {threads} thread(s), "
                  f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {' '.join(command)}\n")
        log.flush()
        proc = launch(command, log, child_environment(threads, task.blas))
        code, stopped = supervise(proc, should_stop, started=lambda: _note_attempt(
            task.sweep_dir, task.name, {"attempt": attempt, "start": start, "host": host,
                                        "worker": worker.address, "pid": proc.pid, "threads": threads}))
    _note_attempt(task.sweep_dir, task.name, {"attempt": attempt, "end": code})
    if code < 0 and not stopped:
        raise ProcessDied(f"{task.name}: the training process was killed by {signal_name(code)} "
                          f"(attempt {attempt}); see {files.path(LOG)}")
    return {**result, "status": "stopped" if stopped else "ended", "code": 130 if stopped and code < 0 else code,
            "attempt": attempt, "seconds": time.time() - start}


# ------------------------------------------------------------------ plugins
class IgnoreInterrupts(WorkerPlugin):
    """A worker plugin for a cluster started in the driver's terminal: Ctrl-C there is the driver's to handle.

    Without it, the Ctrl-C that the terminal sends to every process of its
    foreground group would shut the local workers down, and their training
    processes with them, before the driver could stop each run cleanly.
    """

    name = "hw5-ignore-interrupts"
    idempotent = True

    def setup(self, worker: Any) -> None:
        import threading

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
