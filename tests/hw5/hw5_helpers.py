"""Helpers shared by the hw5 tests."""
from __future__ import annotations

from hw5.experiments import Config, get_experiment, with_overrides

TINY = dict(dataset="synthetic", train_size=120, test_size=60, epochs=1, batch_size=10,
            eval_batch_size=50, log_every=5)


def tiny(name: str, **changes) -> Config:
    """The registered experiment ``name``, shrunk to run in a second or two."""
    return with_overrides(get_experiment(name), {**TINY, **changes})
