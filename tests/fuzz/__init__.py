"""A seeded differential fuzzer of minitorch against PyTorch.

Each case is a generator's name and a seed (:mod:`.registry`); the generators (``cases_*.py``) cover the
families of the everyday surface: tensor math, reductions, shape ops and indexing (advanced indexing and
in-place ops included), creation and dtypes, dtype promotion with 0-d tensors and Python scalars, autograd,
nn layers and losses, optimizers and schedulers, data loading, and the idioms of PyTorch's tutorials.

* ``python -m tests.fuzz --cases 12000`` runs cases against live PyTorch and prints the counts by family
  (mismatches, raises where PyTorch works, and the reverse);
* ``python tests/reference/make_fuzz_references.py`` stores PyTorch's outcomes of a fixed sample in
  ``tests/reference/fuzz.npz``, which ``tests/fuzz/test_fuzz.py`` replays without torch.

Deliberate differences (README, "Differences from PyTorch") are kept out of the generators, each with a
comment naming the difference.
"""
from . import cases_nn, cases_shape, cases_tensor, cases_train  # noqa: F401  (registers the generators)
from .core import Case, Framework, classify, compare
from .registry import GENERATORS, make_case, schedule

__all__ = ["GENERATORS", "Case", "Framework", "classify", "compare", "make_case", "schedule"]
