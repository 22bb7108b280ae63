"""What the numbers were measured on: the machine, the libraries, the git state, and how busy the cores were."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.timing import log

REPO = Path(__file__).resolve().parent.parent


def environment(torch: Any, threads: int) -> dict:
    """CPU, library versions, BLAS libraries (threadpoolctl), load average and git state; ``torch`` may be None."""
    import numba
    import threadpoolctl

    import minitorch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    blas = [{k: info.get(k) for k in ("user_api", "internal_api", "version", "architecture", "num_threads",
                                        "threading_layer", "prefix")}
            for info in threadpoolctl.threadpool_info()]
    env = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "minitorch": minitorch.__version__,
        "torch": None,
        "threads": threads,
        "blas": blas,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "loadavg_start": list(os.getloadavg()),
        "git": git_state(),
    }
    if torch is not None:
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        env["torch_backends"] = {"mkl": torch.backends.mkl.is_available(),
                                 "mkldnn": torch.backends.mkldnn.is_available()}
    return env


def git_state() -> dict:
    """The commit, and the uncommitted changes under minitorch/ (the code being measured)."""
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [ln[3:] for ln in git("status", "--porcelain", "--", "minitorch").splitlines() if ln.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "minitorch_changes": dirty}


def contention_probe(when: str, threads: int, reps: int = 3) -> dict:
    """A small GEMM (6x25088 @ 25088x75, conv1's weight gradient at batch 32) with 1 and 2 BLAS threads.

    On an idle machine 2 threads take at most about as long as 1; when other processes
    keep the cores busy, the threads wait for each other at every synchronisation and
    the 2-thread call becomes many times slower: the sign that this run's 2-thread
    timings (of both frameworks) are inflated by the machine, not by the code.
    ``when`` is ``"start"`` or ``"end"`` of the run.
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 25088), dtype=np.float32)
    b = rng.standard_normal((25088, 75), dtype=np.float32)
    out: dict[str, Any] = {"loadavg": list(os.getloadavg())}
    many = max(2, threads)  # a machine check: 1 against 2+ threads even for a --threads 1 run
    for n in (1, many):
        with threadpool_limits(n, user_api="blas"):
            a @ b
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                a @ b
                times.append(time.perf_counter() - t0)
        out[f"ms_{n}_threads"] = statistics.median(times) * 1e3
    out["threads"] = many
    out["slowdown"] = out[f"ms_{many}_threads"] / out["ms_1_threads"]
    # the start's load average is the other processes' (this one has barely begun); at the end it includes ours
    busy = when == "start" and out["loadavg"][0] > (os.cpu_count() or 1) + 0.5
    out["contended"] = out["slowdown"] > 2.0 or busy
    log(f"[contention {when}] small GEMM: {out['ms_1_threads']:.2f} ms with 1 thread, "
        f"{out[f'ms_{many}_threads']:.2f} ms with {many} "
        f"({out['slowdown']:.1f}x); load average {out['loadavg'][0]:.2f}"
        + (" -> OVERSUBSCRIBED" if out["contended"] else ""))
    return out


def gpu_versions(torch: Any) -> dict[str, str]:
    """Library versions, the CUDA runtime and driver, and the GPU; ``torch`` may be None."""
    import cupy

    import minitorch

    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cupy": cupy.__version__,
        "minitorch": minitorch.__version__,
    }
    try:
        info["cuda_runtime"] = str(cupy.cuda.runtime.runtimeGetVersion())
        info["cuda_driver"] = str(cupy.cuda.runtime.driverGetVersion())
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"]
        info["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
        info["compute_capability"] = f"{props['major']}.{props['minor']}"
    except Exception as exc:  # pragma: no cover - informative only
        info["cuda"] = f"unknown ({exc})"
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_cuda"] = str(torch.version.cuda)
        info["cudnn"] = str(torch.backends.cudnn.version())
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        pass
    return info
