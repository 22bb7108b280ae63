"""``python -m hw5``: see :mod:`hw5.cli`.

The networks here multiply small matrices (a batch of 4 images), for which
OpenBLAS' worker threads cost far more than they save: on a 2-core machine a
CoolNet step takes ~2.5 ms with one BLAS thread and 50-150 ms with two.  So,
unless the environment already says otherwise, BLAS gets one thread; more
cores are put to use by running experiments side by side (``--jobs``).  This
must happen before NumPy is first imported, hence here and not in the CLI.

A training process also keeps the memory it frees for reuse
(:func:`minitorch.utils.keep_freed_memory`): the evaluation after each epoch
runs eagerly at batch 1000, and with glibc's default each of its batches
faulted its arrays' pages in anew (CoolNet: 20.3 ms a batch, 16.3 ms kept).
"""
import os

for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from minitorch.utils import keep_freed_memory  # noqa: E402

keep_freed_memory()

from hw5.cli import main  # noqa: E402

raise SystemExit(main())
