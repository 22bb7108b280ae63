"""Measurements that need a fresh process; ``benchmarks.run`` starts this module as a subprocess.

    python -m benchmarks._probe firststep --net coolnet --batch 4
    python -m benchmarks._probe memory --framework torch --net coolnet --batch 256

Each prints one JSON object on its last line of stdout.  Nothing here is imported
by the parent process.
"""
from __future__ import annotations

import time

_T0 = time.perf_counter()  # before anything heavy is imported

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402


def _status_kib(field: str) -> int | None:
    """A ``VmRSS``/``VmHWM``-style line of /proc/self/status, in KiB (None off Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _limit_threads(threads: int):
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads)


def firststep(args: argparse.Namespace) -> dict:
    """Time ``import minitorch``, model construction and the first training step of this new process."""
    t_import0 = time.perf_counter()
    import minitorch  # noqa: F401

    t_import1 = time.perf_counter()
    limiter = _limit_threads(args.threads)  # noqa: F841 (after the import: it limits the loaded libraries)
    from benchmarks.models import minitorch_train_step

    t_build0 = time.perf_counter()
    step, _ = minitorch_train_step(args.net, args.batch)
    t_step0 = time.perf_counter()
    loss = step()
    float(loss.item())
    t_step1 = time.perf_counter()
    step()
    t_step2 = time.perf_counter()
    return {
        "import_s": t_import1 - t_import0,
        "build_s": t_step0 - t_build0,
        "first_step_s": t_step1 - t_step0,
        "second_step_s": t_step2 - t_step1,
        "process_to_first_step_end_s": t_step1 - _T0,
    }


def memory(args: argparse.Namespace) -> dict:
    """Peak resident memory added by a training step, measured in this fresh process.

    Setup (import, model, optimizer, input batch) and one warm-up step run first, so
    that one-time costs (numba code, oneDNN primitive caches, optimizer state,
    gradient buffers) are in the baseline.  Then VmHWM is reset to the current RSS
    and ``steps`` more steps run; the result is VmHWM - baseline RSS: the extra
    memory one step needs at its peak (activations, saved tensors, gradients,
    temporaries).  The parent sets MALLOC_MMAP_THRESHOLD_ so that large blocks are
    mmapped and given back on free for both frameworks (glibc's default adaptive
    threshold would otherwise keep freed step memory in the heap, and a later step
    would reuse it without raising RSS).
    """
    import numpy  # noqa: F401

    if args.framework == "torch":
        import torch

        torch.set_num_threads(args.threads)
    limiter = _limit_threads(args.threads)  # noqa: F841 (after the imports: it limits the loaded libraries)
    from benchmarks.models import minitorch_train_step, torch_train_step

    step, mt_model = minitorch_train_step(args.net, args.batch)
    if args.framework == "torch":
        step, _ = torch_train_step(args.net, args.batch, mt_model)
        del mt_model
    gc.collect()
    rss_setup = _status_kib("VmRSS")
    step()  # warm-up
    gc.collect()
    rss_base = _status_kib("VmRSS")
    reset = _reset_peak()
    if not reset:  # fall back: peak since process start, measured against the pre-warm-up RSS
        rss_base = rss_setup
    # (not ru_maxrss: Linux carries the parent's peak across fork+exec, so it is not this process's own)
    for _ in range(args.steps):
        step()
    hwm = _status_kib("VmHWM")
    return {
        "framework": args.framework,
        "rss_setup_kib": rss_setup,
        "rss_baseline_kib": rss_base,
        "hwm_kib": hwm,
        "peak_reset": reset,
        "step_peak_delta_kib": None if hwm is None or rss_base is None else hwm - rss_base,
        "steps": args.steps,
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._probe")
    parser.add_argument("what", choices=["firststep", "memory"])
    parser.add_argument("--framework", choices=["minitorch", "torch"], default="minitorch")
    parser.add_argument("--net", default="coolnet")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args(argv)
    result = firststep(args) if args.what == "firststep" else memory(args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
