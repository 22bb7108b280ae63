"""``python -m hw5``: see :mod:`hw5.cli`.

The networks here multiply small matrices (a batch of 4 images), for which
OpenBLAS' worker threads cost far more than they save: on a 2-core machine a
CoolNet step takes ~2.5 ms with one BLAS thread and 50-150 ms with two.  So,
unless the environment already says otherwise, BLAS gets one thread; more
cores are put to use by running experiments side by side (``--jobs``).  This
must happen before NumPy is first imported, hence here and not in the CLI.
"""
import os

for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from hw5.cli import main  # noqa: E402

raise SystemExit(main())
