"""Speed of minitorch against PyTorch on the same machine: ``python -m benchmarks.run``.

See ``benchmarks/run.py`` for what is measured and how (``cases.py`` for each row), and ``BENCHMARKS.md`` for
the latest results.  This package imports nothing heavy on its own.
"""
