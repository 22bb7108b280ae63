#!/usr/bin/env bash
# GPU check of minitorch: environment, the GPU test suite, then the speed comparison with PyTorch.
#
#   bash benchmarks/gpu_check.sh            # from anywhere; runs from the repository root
#
# Needs an NVIDIA GPU with CuPy, PyTorch (CUDA) and numba installed; installs nothing and needs no
# network.  Stays under 8 minutes: each step has a time limit.  Everything printed is also written
# to $GPU_RESULTS (default gpu-results/): env.txt, pytest.txt, bench log.txt, results.json, table.md.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
OUT="${GPU_RESULTS:-gpu-results}"
export GPU_RESULTS="$OUT"
mkdir -p "$OUT"
rm -f "$OUT/table.md"  # never show a stale table from an earlier run
PY="${PYTHON:-python}"
START=$(date +%s)

echo "== environment =="
{
    date -u
    nvidia-smi 2>&1 || echo "nvidia-smi: not available"
    "$PY" - <<'PYEOF' 2>&1
import platform, sys
print("python", platform.python_version(), sys.executable)
for name in ("numpy", "numba", "cupy", "torch"):
    try:
        mod = __import__(name)
        print(f"{name:6s}", getattr(mod, "__version__", "?"))
    except Exception as exc:  # ImportError, or a broken CUDA install
        print(f"{name:6s} not importable: {type(exc).__name__}: {exc}")
try:
    import cupy
    rt = cupy.cuda.runtime
    print("cupy CUDA runtime", rt.runtimeGetVersion(), "driver", rt.driverGetVersion(),
          "devices", rt.getDeviceCount())
except Exception as exc:
    print("cupy CUDA:", type(exc).__name__, exc)
try:
    import torch
    print("torch CUDA", torch.version.cuda, "available", torch.cuda.is_available(),
          torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
except Exception as exc:
    print("torch CUDA:", type(exc).__name__, exc)
import minitorch
print("minitorch.cupy_available()", minitorch.cupy_available())
PYEOF
} 2>&1 | tee "$OUT/env.txt"

echo
echo "== tests/gpu (limit 210 s) =="
timeout -k 10 210 "$PY" -m pytest tests/gpu -m gpu -q -p no:cacheprovider --durations=5 2>&1 | tee "$OUT/pytest.txt"
PYTEST_RC=${PIPESTATUS[0]}
[ "$PYTEST_RC" = 124 ] && echo "pytest: stopped at the 210 s limit" | tee -a "$OUT/pytest.txt"

echo
echo "== benchmarks/gpu_bench.py (limit 230 s) =="
timeout -k 10 230 "$PY" -m benchmarks.gpu_bench --out "$OUT" --budget 190 2>&1 | tee "$OUT/bench.txt"
BENCH_RC=${PIPESTATUS[0]}

echo
echo "== summary ($(( $(date +%s) - START )) s; files in $OUT/) =="
echo "pytest tests/gpu: exit $PYTEST_RC -- $(tail -n 1 "$OUT/pytest.txt")"
echo "gpu_bench.py: exit $BENCH_RC"
if [ -f "$OUT/table.md" ]; then
    cat "$OUT/table.md"
else
    echo "(no table.md: the benchmark measured nothing or did not finish; see $OUT/bench.txt)"
fi
[ "$PYTEST_RC" = 0 ] && [ "$BENCH_RC" = 0 ] && [ -f "$OUT/table.md" ]
