"""Helpers shared by the hw5 tests."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from hw5.experiments import Config, get_experiment, with_overrides
from hw5.runfiles import RunFiles

TINY = dict(dataset="synthetic", train_size=120, test_size=60, epochs=1, batch_size=10,
            eval_batch_size=50, log_every=5)


def tiny(name: str, **changes) -> Config:
    """The registered experiment ``name``, shrunk to run in a second or two."""
    return with_overrides(get_experiment(name), {**TINY, **changes})


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_ARGS = ["--dataset", "synthetic", "--set", "train_size=100", "--set", "test_size=50",
             "--set", "eval_batch_size=50", "--batch-size", "25", "--quiet"]


def hw5_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO, os.environ.get("PYTHONPATH")])))


def hw5(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """``python -m hw5 ARGS`` in a fresh interpreter, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "hw5", *args], capture_output=True, text=True,
                          timeout=timeout, env=hw5_env(), **kwargs)


TIMING = {"time", "train_time", "elapsed"}


def without_timing(records: list[dict]) -> list[dict]:
    """A run's records less their wall-clock fields: what two runs of the same work must agree on exactly."""
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def snapshot(folder: str) -> dict[str, str]:
    """Every file under ``folder`` by its hash: to prove that a refused command changed nothing.

    The ``.lock`` file (rewritten by every command that takes it) and symbolic links (planted by the tests
    that attack a run's files; their targets are checked on their own) are left out."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            if name == ".lock" or os.path.islink(path):
                continue
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return out


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """The one line a refused command printed, once checked: exit status 2, no traceback, every fragment in it."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr + result.stdout, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def epochs_in(metrics: str) -> list[dict]:
    """The finished epochs' records in a run's ``metrics.jsonl``, read by hw5's own reader (a line still being
    written is left out); [] while there is no file."""
    folder = os.path.dirname(metrics)
    return RunFiles(os.path.dirname(folder), os.path.basename(folder)).epochs(torn_end=True)
