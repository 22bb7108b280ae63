"""Several experiments at once, each in its own process with its share of the cores.

NumPy's BLAS and numba size their thread pools when they are first imported,
so the thread counts must be in a child's environment before it starts: that
is why each experiment is a fresh ``python -m hw5 run NAME`` rather than a
forked worker.  Each child gets its share of the cores for numba's kernels;
BLAS stays at the one thread ``hw5.__main__`` chose (or what the user set),
capped by the share, since small matrices gain nothing from more.  Children run in their own session, so Ctrl-C reaches only this
process, which passes exactly one interrupt on to each child; every child then
keeps its last checkpoint and exits.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from hw5.runfiles import LOG, RunFiles

BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
INTERRUPTED = 130  # the exit status of a run stopped by Ctrl-C


def child_environment(threads: int) -> dict[str, str]:
    """This environment, with thread pools sized for a child that gets ``threads`` cores."""
    env = dict(os.environ)
    for name in BLAS_VARIABLES:
        current = env.get(name, "1")
        env[name] = str(min(threads, int(current) if current.isdigit() and int(current) > 0 else 1))
    env["NUMBA_NUM_THREADS"] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_parallel(names: list[str], child_args: list[str], jobs: int, runs_dir: str, resume: bool) -> int:
    """Run ``python -m hw5 run NAME *child_args`` for every name, ``jobs`` at a time.

    Each child's output goes to ``runs_dir/NAME/train.log``.  Returns 0 when all
    ended normally (a diverged run is a normal end), 130 if any was interrupted,
    1 if any failed.
    """
    threads = max(1, (os.cpu_count() or 1) // jobs)
    env = child_environment(threads)
    waiting, running, codes = list(names), {}, {}
    print(f"running {len(names)} experiment(s), {jobs} at a time, {threads} thread(s) each; "
          f"logs in {runs_dir}/<name>/{LOG}", flush=True)
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                name = waiting.pop(0)
                files = RunFiles(runs_dir, name)
                os.makedirs(files.dir, exist_ok=True)
                log = open(files.path(LOG), "a" if resume else "w")
                command = [sys.executable, "-m", "hw5", "run", name, *child_args]
                running[name] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                                  start_new_session=True), log, time.monotonic())
                print(f"  started  {name}", flush=True)
            for name, (proc, log, started) in list(running.items()):
                if proc.poll() is not None:
                    log.close()
                    codes[name] = proc.returncode
                    del running[name]
                    print(f"  {_describe(proc.returncode):<11}{name} ({time.monotonic() - started:.0f}s)"
                          + ("" if proc.returncode == 0 else f": see {RunFiles(runs_dir, name).path(LOG)}"),
                          flush=True)
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\ninterrupted: asking the running experiments to stop after saving...", flush=True)
        for name, (proc, log, _) in running.items():
            proc.send_signal(signal.SIGINT)
        for name, (proc, log, _) in running.items():
            codes[name] = proc.wait()
            log.close()
        for name in waiting:
            codes[name] = INTERRUPTED
        unfinished = [n for n in names if codes.get(n) == INTERRUPTED]
        print(f"Continue with:\n    python -m hw5 run {' '.join(unfinished)} --resume --jobs {jobs}"
              + (f" --runs-dir {runs_dir}" if os.path.normpath(runs_dir) != "runs" else ""), flush=True)
    if any(code not in (0, INTERRUPTED) for code in codes.values()):
        return 1
    return INTERRUPTED if INTERRUPTED in codes.values() else 0


def _describe(code: int) -> str:
    return {0: "done", INTERRUPTED: "interrupted"}.get(code, f"failed({code})")
