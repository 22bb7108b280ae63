"""Write tests/reference/fuzz.npz: PyTorch's outcomes of the fuzzer's stored sample (tests/fuzz/stored.py).

Run from the repository root, with PyTorch 2.13.0 installed::

    python tests/reference/make_fuzz_references.py

Rerun it after changing a generator (the test that replays the sample says when the stored inputs drifted).
"""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    from tests.fuzz import stored

    count = stored.write()
    print(f"wrote {count} cases to {os.path.relpath(stored.PATH, ROOT)} ({os.path.getsize(stored.PATH) / 1e6:.2f} MB)")
