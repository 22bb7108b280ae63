"""hw5: the experiments of a CIFAR-10 homework report, on minitorch.

* :mod:`hw5.models`      LazyNet, BoringNet, CoolNet
* :mod:`hw5.experiments` the registry of named runs, one per panel of the report
* :mod:`hw5.data`        CIFAR-10, or the synthetic stand-in when it is absent
* :mod:`hw5.train`       the training loop, checkpoints and resumption
* :mod:`hw5.runfiles`    what a run writes to disk
* :mod:`hw5.results`, :mod:`hw5.plots`, :mod:`hw5.report`  reading runs back, curves, REPORT.md
* :mod:`hw5.sweep`, :mod:`hw5.sweep_task`, :mod:`hw5.cluster`, :mod:`hw5.watch`, :mod:`hw5.process`
  several experiments at once on a Dask cluster
* :mod:`hw5.cli`         ``python -m hw5``
"""
