"""Helpers shared by the hw5 tests."""
from __future__ import annotations

import os
import subprocess
import sys

from hw5.experiments import Config, get_experiment, with_overrides

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
