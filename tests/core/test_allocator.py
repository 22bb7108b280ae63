"""minitorch.utils.keep_freed_memory: freed memory comes back without page faults (glibc only)."""
from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from minitorch.utils import keep_freed_memory

# Allocates and frees three 600 KB arrays 100 times and prints the page faults that took (after a warm-up):
# with glibc's defaults each array's pages come back new (about 150 faults an array); kept, almost none.
FAULTS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from minitorch.utils import keep_freed_memory
    kept = keep_freed_memory() if sys.argv[1] == "keep" else None
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    def churn():
        a, b, c = (np.ones(150_000, np.float32) for _ in range(3))
    for _ in range(3):
        churn()
    before = faults()
    for _ in range(100):
        churn()
    print(kept, faults() - before)
""")


def _faults(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True).stdout
    kept, faults = out.split()
    return kept, int(faults)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_freed_memory_is_reused_without_page_faults():
    kept, kept_faults = _faults("keep")
    _, default_faults = _faults("default")
    assert kept == "True"
    assert default_faults > 10_000  # 300 arrays of ~147 pages each (glibc returns them between calls)
    assert kept_faults < 1_000


def test_a_negative_threshold_is_refused():
    with pytest.raises(ValueError, match="trim_threshold must be at least 0 bytes, got -1"):
        keep_freed_memory(-1)
