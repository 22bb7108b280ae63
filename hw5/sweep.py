"""Several experiments at once on a Dask cluster: ``python -m hw5 run NAMES --jobs N`` or ``--cluster ...``.

Each experiment is one Dask task (:func:`hw5.sweep_task.run_experiment`), which
runs a fresh ``python -m hw5 run NAME`` process on some worker and returns its
exit status.  This module is the driver: it checks that every worker shares the
runs folder, submits the tasks (the runs with the most epochs first), shows their progress
and says how each ended.

* **Exit status**: 0 when every run ended normally (a diverged run is a normal
  end), 130 if any was interrupted, 1 if any failed or the scheduler was lost.
* **Faults**: a run whose training process is killed is retried up to
  :data:`~hw5.sweep_task.RETRIES` times; one whose worker dies is run elsewhere,
  up to the scheduler's ``allowed-failures`` (:mod:`hw5.cluster`).  Every retry
  resumes from the run's own checkpoint.
* **Ctrl-C** sets the sweep's stop event: every running experiment is
  interrupted, keeps its last checkpoint and exits; those not yet started are
  cancelled; then the command that continues the sweep is printed.  A second
  Ctrl-C leaves at once (the training processes are still stopped, by their
  tasks or, on a local cluster, with their workers).
* **Shared storage**: the runs folder must be the same folder, at the same
  path, on every worker.  The driver writes a marker into it, each worker checks
  it and writes its own, and the driver looks for theirs, before anything runs;
  a worker that joins later checks the driver's marker before each run.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from hw5.cluster import ClusterError, ClusterSpec, Connection, connect
from hw5.process import INTERRUPTED, blas_threads, usable_cores
from hw5.runfiles import LOG, RunFiles, RunStateError
from hw5.sweep_task import (
    DRIVER_MARKER,
    RETRIES,
    ProcessDied,
    Task,
    read_attempts,
    run_experiment,
    signal_name,
    stop_event_name,
    write_marker,
)
from hw5.watch import LiveLines, RunWatch

TICK = 0.5          # seconds between looks at the tasks and the runs' files
RELEASE_WAIT = 60.0  # seconds a driver that lost its scheduler waits for the runs' processes to stop
STALE_AFTER = 60.0   # seconds after which an unlocked .sweep-* folder is a dead driver's, and removed


def run_sweep(names: list[str], child_args: list[str], cluster: ClusterSpec, runs_dir: str,
              epochs: dict[str, int], again: Callable[[list[str]], str], dashboard: bool = False,
              out: TextIO = sys.stdout) -> int:
    """Run ``python -m hw5 run NAME *child_args`` for every name on ``cluster``; returns 0, 130 or 1.

    ``child_args`` must give paths absolutely (workers have other working folders);
    ``epochs`` gives each run's total for the progress lines; ``again(names)`` is
    the command that continues the sweep for those names.
    """
    runs_dir = os.path.abspath(runs_dir)
    remove_stale_sweeps(runs_dir)
    token = secrets.token_hex(6)
    sweep_dir = os.path.join(runs_dir, f".sweep-{token}")
    os.makedirs(sweep_dir)
    marker = open(os.path.join(sweep_dir, DRIVER_MARKER), "w")
    try:
        fcntl.flock(marker, fcntl.LOCK_EX)   # held while the driver lives: see remove_stale_sweeps
        marker.write(token + "\n")
        marker.flush()
        with _terminate_as_interrupt(), connect(cluster, dashboard) as connection:
            tasks = [Task(name, tuple(child_args), runs_dir, sweep_dir, token, blas_threads()) for name in names]
            return Sweep(connection, tasks, cluster, epochs, again, out).run()
    finally:
        shutil.rmtree(sweep_dir, ignore_errors=True)
        marker.close()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a Slurm time limit, a closing session) stops the sweep as Ctrl-C does: every run
    keeps its checkpoint, and the driver's temporary folder goes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def remove_stale_sweeps(runs_dir: str) -> list[str]:
    """Remove the ``.sweep-*`` folders of drivers that died without cleaning up (SIGKILL, a lost machine).

    A live driver holds a lock on its marker; a folder whose marker is unlocked (or
    missing) and that is older than :data:`STALE_AFTER` is a dead driver's.
    """
    removed: list[str] = []
    try:
        names = [n for n in os.listdir(runs_dir) if n.startswith(".sweep-")]
    except OSError:
        return removed
    for name in names:
        folder = os.path.join(runs_dir, name)
        try:
            if time.time() - os.lstat(folder).st_mtime < STALE_AFTER:
                continue
            with open(os.path.join(folder, DRIVER_MARKER)) as marker:
                fcntl.flock(marker, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except FileNotFoundError:
            pass
        except OSError:   # locked: its driver is alive
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(name)
    return removed


class Sweep:
    """The driver's side of one sweep, from the storage check to the last run's end."""

    def __init__(self, connection: Connection, tasks: list[Task], cluster: ClusterSpec, epochs: dict[str, int],
                 again: Callable[[list[str]], str], out: TextIO) -> None:
        self.connection, self.client = connection, connection.client
        self.tasks = {task.name: task for task in tasks}
        self.cluster, self.epochs, self.again = cluster, epochs, again
        self.first = tasks[0]
        self.live = LiveLines(out)
        self.codes: dict[str, int] = {}
        self.starts: dict[str, list[dict[str, Any]]] = {name: [] for name in self.tasks}
        self.watches: dict[str, RunWatch] = {}
        self.stopping = False       # the driver cancels futures itself only when stopping
        self.lost = False           # futures were cancelled under us: the scheduler went away

    # --------------------------------------------------------------- start
    def run(self) -> int:
        self.introduce()
        try:
            self.wait_for_workers()
            self.check_shared_storage()
        except KeyboardInterrupt:
            self.live.say("\ninterrupted before any experiment started")
            return self.finish(list(self.tasks))
        futures = self.submit()
        try:
            self.follow(futures)
        except KeyboardInterrupt:
            self.stop(futures)
        except OSError as exc:  # the scheduler went away: the tasks are dropped and stop their runs
            self.live.close()
            self.live.say(f"lost the Dask scheduler ({exc}); every run keeps its last checkpoint")
            self.lost = True
            return self.finish(list(futures))
        finally:
            self.live.close()
        return self.finish([])

    def introduce(self) -> None:
        c, first = self.connection, self.first
        share = f", {max(1, usable_cores() // self.cluster.workers)} thread(s) each" if c.local else ""
        self.live.say(f"running {len(self.tasks)} experiment(s) on {c.description}{share}; "
                      f"logs in {os.path.join(first.runs_dir, '<name>', LOG)}")
        if c.dashboard:
            self.live.say(f"dashboard: {c.dashboard}")
        allowed = "its allowed-failures" if c.allowed_failures is None else f"{c.allowed_failures} times"
        self.live.say(f"a run whose training process is killed is retried up to {RETRIES} times, one whose "
                      f"worker dies up to {allowed}; each retry resumes from the run's checkpoint")

    def wait_for_workers(self) -> None:
        if not self.client.nthreads():
            self.live.say("waiting for the first worker to join the scheduler (Ctrl-C to give up)...")
            self.client.wait_for_workers(1)

    def check_shared_storage(self) -> None:
        """Every worker sees the driver's marker, and the driver sees every worker's (see the module docstring)."""
        first = self.first
        replies = self.client.run(write_marker, first.sweep_dir, first.token, on_error="return")
        for worker, reply in sorted(replies.items()):
            if isinstance(reply, BaseException):
                raise ClusterError(f"worker {worker} could not run the storage check ({type(reply).__name__}: "
                                   f"{reply}); is this project installed on every worker (pip install -e .)?")
            problem = reply.get("error") or (None if os.path.isfile(reply["path"]) else
                                             f"its marker {reply['path']} is not here")
            if problem:
                raise ClusterError(f"the runs folder {first.runs_dir} is not shared with worker {worker} on "
                                   f"{reply['host']}: {problem}. Put --runs-dir on storage that every worker "
                                   "mounts at the same path")

    def submit(self) -> dict[str, Any]:
        """One task per run, the longest first.

        With fewer workers than runs, the 200-epoch runs would otherwise start
        last and end long after the rest.  Workers take tasks in the order they
        arrive, and queued ones by priority (higher first): both follow the epochs.
        """
        order = sorted(self.tasks, key=lambda name: -self.epochs.get(name, 0))
        return {name: self.client.submit(run_experiment, self.tasks[name], key=f"hw5-{name}-{self.tasks[name].token}",
                                         retries=RETRIES, pure=False, priority=self.epochs.get(name, 0))
                for name in order}

    # ------------------------------------------------------------- follow
    def follow(self, futures: dict[str, Any]) -> None:
        """Report starts, progress and ends until every future in ``futures`` is done (they are removed)."""
        while futures:
            for name in list(futures):
                self.note_attempts(name)
                if futures[name].done():
                    self.report_end(name, futures.pop(name))  # dropping the future lets Dask forget the task
            running = [n for n in self.watches if n not in self.codes]
            for name in running:
                self.watches[name].poll()
            self.live.show([self.watches[n].line() for n in running])
            if futures:
                time.sleep(TICK)

    def note_attempts(self, name: str) -> None:
        task = self.tasks[name]
        records = read_attempts(task.sweep_dir, name)
        starts = [r for r in records if "start" in r]
        for start in starts[len(self.starts[name]):]:
            self.starts[name].append(start)
            where = "" if self.connection.local else f" on {start['host']}"
            if start["attempt"] == 1:
                self.live.say(f"  started     {name}{where}")
            else:
                self.live.say(f"  restarted   {name}{where} (attempt {start['attempt']}: "
                              f"{self.why_restarted(records, start['attempt'] - 1)}; "
                              + ("resuming from its checkpoint)" if os.path.isfile(RunFiles(task.runs_dir, name)
                                                                                    .checkpoint) else
                                 "it had no checkpoint yet)"))
            self.watches.setdefault(name, RunWatch(RunFiles(task.runs_dir, name).dir, name,
                                                   self.epochs.get(name, 0)))

    @staticmethod
    def why_restarted(records: list[dict[str, Any]], attempt: int) -> str:
        ends = [r["end"] for r in records if r.get("attempt") == attempt and "end" in r]
        if ends and ends[-1] < 0:
            return f"the training process was killed by {signal_name(ends[-1])}"
        return "its worker was lost"

    def report_end(self, name: str, future: Any) -> None:
        task = self.tasks[name]
        log = RunFiles(task.runs_dir, name).path(LOG)
        starts = self.starts[name]
        took = f" ({time.time() - starts[0]['start']:.0f}s)" if starts else ""
        if future.status == "cancelled":
            self.codes[name] = INTERRUPTED
            if not self.stopping:  # not by us: the client lost its scheduler, which forgot every task
                self.lost = True
                self.live.say(f"  {'lost':<12}{name}{took}: the connection to the Dask scheduler was lost; "
                              "the run keeps its last checkpoint")
            return
        if future.status == "finished":
            result = future.result()
            if result["status"] == "unshared":
                code, why = 1, (f"worker {result['worker']} on {result['host']} does not see the runs folder "
                                f"{task.runs_dir} (it must be shared, at the same path)")
            else:
                code, why = result["code"], f"see {log}"
        else:
            exc = future.exception()
            code = 1
            if isinstance(exc, ProcessDied):
                why = f"its training process was killed {RETRIES + 1} times; last: {exc}"
            elif type(exc).__name__ == "KilledWorker":
                why = f"{exc}; see {log}"
            else:
                why = f"{type(exc).__name__}: {exc}; see {log}"
        self.codes[name] = code
        if code == INTERRUPTED and not starts:
            return  # stopped before it began: the summary lists it
        self.live.say(f"  {describe(code):<12}{name}{took}" + ("" if code in (0, INTERRUPTED) else f": {why}"))

    # --------------------------------------------------------------- stop
    def stop(self, futures: dict[str, Any]) -> None:
        """Ctrl-C: every running experiment keeps its checkpoint and exits; the others never start."""
        from distributed import Event

        self.stopping = True
        self.live.close()
        self.live.say("\ninterrupted: stopping every running experiment after its last checkpoint "
                      "(Ctrl-C again to leave at once)...")
        try:
            Event(stop_event_name(self.first.token), client=self.client).set()
            time.sleep(2 * TICK)  # a task starting right now sees the event, or has recorded its start
            for name in list(futures):
                self.note_attempts(name)
            unstarted = [name for name in futures if not self.starts[name]]
            self.client.cancel([futures[name] for name in unstarted])
            for name in unstarted:
                del futures[name]
            self.follow(futures)
        except KeyboardInterrupt:
            self.client.cancel(list(futures.values()))  # their tasks interrupt the runs
            self.live.say("leaving now; every run keeps its last checkpoint")
        except OSError as exc:
            self.live.say(f"lost the Dask scheduler while stopping ({exc}); every run keeps its last checkpoint")
        for name in self.tasks:
            self.codes.setdefault(name, INTERRUPTED)

    def wait_for_release(self, names: list[str]) -> None:
        """After losing the scheduler: wait until no process trains these runs any more (their workers stop them,
        :mod:`hw5.sweep_task`), so that the command printed next can continue them at once."""
        files = [RunFiles(self.tasks[name].runs_dir, name) for name in names]
        busy = [f for f in files if os.path.isdir(f.dir) and not _released(f)]
        if not busy:
            return
        self.live.say(f"waiting for the training processes of {' '.join(f.name for f in busy)} to stop...")
        deadline = time.monotonic() + RELEASE_WAIT
        while busy and time.monotonic() < deadline:
            time.sleep(TICK)
            busy = [f for f in busy if not _released(f)]
        if busy:
            self.live.say(f"still being trained after {RELEASE_WAIT:.0f}s: {' '.join(f.name for f in busy)} "
                          "(their workers may be cut off from this machine); stop those processes before "
                          "continuing")

    def finish(self, unstarted: list[str]) -> int:
        """The summary and exit status; ``unstarted`` runs count as interrupted."""
        for name in unstarted:
            self.codes.setdefault(name, INTERRUPTED)
        interrupted = [name for name in self.tasks if self.codes.get(name) == INTERRUPTED]
        failed = [name for name in self.tasks if self.codes.get(name) not in (0, INTERRUPTED)]
        if failed:
            self.live.say(f"failed: {' '.join(failed)}")
        if interrupted and self.lost:
            self.wait_for_release(interrupted)
        if interrupted:
            self.live.say(f"Continue with:\n    {self.again(interrupted)}")
        if failed or self.lost:
            return 1
        return INTERRUPTED if interrupted else 0


def _released(files: RunFiles) -> bool:
    try:
        with files.lock(probe=True):
            return True
    except (RunStateError, OSError):
        return False


def describe(code: int) -> str:
    return {0: "done", INTERRUPTED: "interrupted"}.get(code, f"failed({code})")
