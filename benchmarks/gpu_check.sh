#!/usr/bin/env bash
# The GPU check of minitorch, one script for a session that has a GPU for a few minutes:
#
#   GIT_COMMIT=<sha> bash benchmarks/gpu_check.sh     # from anywhere; runs from the repository root
#
# 1. environment: date, git commit, nvidia-smi, Python / NumPy / numba / CuPy / PyTorch and CUDA versions;
# 2. the whole GPU suite (tests/gpu: kernels vs reference, CPU-vs-GPU parity of ops, layers, training
#    steps, the PyTorch surface, the CUDA sources compiled with nvcc where it is installed);
# 3. the CUDA-graph tests alone, verbose (tests/gpu/test_cuda_graph.py);
# 4. benchmarks/gpu_bench.py: CoolNet eager / captured (graph) / PyTorch CUDA at batch 4 and 256 on
#    distinct batches, the other nets, the kernel backends, a batch-4 epoch of both frameworks;
# 5. a short fig1d epoch on the GPU: `python -m hw5 run fig1d --device cuda --epochs 1` on 10,000 training
#    images into a temporary runs folder (capture on, as hw5 runs: today capture records CPU steps only,
#    so a GPU step runs eagerly after a RuntimeWarning saying so; the log keeps that warning).
#
# Needs an NVIDIA GPU with CuPy, PyTorch (CUDA) and numba; installs nothing and needs no network.  Every
# step has a time limit and the whole stays under 8 minutes (about 470 s).  Everything printed also goes to
# $GPU_RESULTS (default benchmarks/gpu_results/; it replaces what an earlier run left there), at most eight
# files: env.txt pytest.txt graph.txt log.txt results.json table.md fig1d.txt summary.txt.  Where $OUT is
# set (the device tool's folder of files to bring back), those files are copied there too.
# The exit status is 0 only when the suite and the graph tests pass and the benchmark wrote its table.
# GPU_CHECK_QUICK=1: a rerun in about 4 minutes (steps 1-3, then section 0 of the benchmark; no epoch, no fig1d).
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
RES="${GPU_RESULTS:-benchmarks/gpu_results}"
export GPU_RESULTS="$RES"
mkdir -p "$RES"
# never leave a stale file beside this run's (README.md is rewritten at the end)
rm -f "$RES"/{env,pytest,graph,log,fig1d,summary,bench,bench_log}.txt "$RES"/table*.md "$RES"/results.json
if [ -z "${PYTHON:-}" ] && [ -x /opt/torch/.venv/bin/python ]; then PYTHON=/opt/torch/.venv/bin/python; fi
PY="${PYTHON:-python}"
START=$(date +%s)
COMMIT="${GIT_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
DIRTY=$(git status --porcelain 2>/dev/null | grep -v "^?? $RES" | head -n 20)

echo "== 1. environment =="
{
    date -u
    echo "git commit: $COMMIT${DIRTY:+ (working tree differs from it:)}"
    [ -n "$DIRTY" ] && echo "$DIRTY"
    nvidia-smi 2>&1 || echo "nvidia-smi: not available"
    command -v nvcc >/dev/null 2>&1 && nvcc --version | tail -n 2
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
} 2>&1 | tee "$RES/env.txt"
if ! "$PY" -c "import minitorch, sys; sys.exit(0 if minitorch.cupy_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no GPU usable by minitorch (CuPy with a CUDA device); nothing else run. See $RES/env.txt" \
        | tee "$RES/summary.txt"
    [ -n "${OUT:-}" ] && cp "$RES/env.txt" "$RES/summary.txt" "$OUT/" 2>/dev/null
    exit 2
fi

echo
echo "== 2. tests/gpu: the GPU suite and the CPU-vs-GPU parity tests (limit 150 s) =="
timeout -k 10 150 "$PY" -m pytest tests/gpu -q -p no:cacheprovider -rs --durations=5 2>&1 | tee "$RES/pytest.txt"
PYTEST_RC=${PIPESTATUS[0]}
[ "$PYTEST_RC" = 124 ] && echo "pytest: stopped at the 150 s limit" | tee -a "$RES/pytest.txt"

echo
echo "== 3. CUDA-graph tests, verbose (limit 40 s) =="
timeout -k 5 40 "$PY" -m pytest tests/gpu/test_cuda_graph.py -v -p no:cacheprovider -rs 2>&1 | tee "$RES/graph.txt"
GRAPH_RC=${PIPESTATUS[0]}

echo
echo "== 4. benchmarks/gpu_bench.py (limit 150 s) =="
if [ "${GPU_CHECK_QUICK:-0}" = 1 ]; then
    BENCH_ARGS=(--budget 60 --nets coolnet --batches 4 --epoch-size 0)
else
    BENCH_ARGS=(--budget 135 --batches 4,256 --epoch-size 10000 --epoch-seconds 12)
fi
timeout -k 10 150 "$PY" -m benchmarks.gpu_bench --out "$RES" "${BENCH_ARGS[@]}" > /dev/null 2> "$RES/bench_stderr.tmp"
BENCH_RC=$?
cat "$RES/log.txt" 2>/dev/null
if [ -s "$RES/bench_stderr.tmp" ]; then
    { echo; echo "-- stderr --"; tail -n 40 "$RES/bench_stderr.tmp"; } | tee -a "$RES/log.txt"
fi
rm -f "$RES/bench_stderr.tmp"

echo
if [ "${GPU_CHECK_QUICK:-0}" = 1 ]; then
    echo "(GPU_CHECK_QUICK=1: no fig1d epoch)" | tee "$RES/fig1d.txt"
else
echo "== 5. fig1d on the GPU: one epoch on 10,000 images (limit 110 s) =="
RUNS=$(mktemp -d)
DATA_ROOT="${MINITORCH_DATA:-$HOME/.cache/minitorch}"
DATASET=synthetic
[ -d "$DATA_ROOT/cifar-10-batches-py" ] && DATASET=cifar10
{
    echo "dataset: $DATASET (CIFAR-10 looked for in $DATA_ROOT; no download on this machine)"
    SECONDS=0
    timeout -k 5 110 "$PY" -W always::RuntimeWarning -m hw5 run fig1d --device cuda --epochs 1 \
        --dataset "$DATASET" --set train_size=10000 --runs-dir "$RUNS" --quiet 2>&1 | tail -n 20
    echo "exit ${PIPESTATUS[0]} after ${SECONDS} s (wall: start-up, data, training and evaluation)"
    for f in "$RUNS"/fig1d/*.jsonl; do
        [ -f "$f" ] && { echo "-- $f --"; tail -n 3 "$f"; }
    done
} 2>&1 | tee "$RES/fig1d.txt"
rm -rf "$RUNS"
fi

echo
{
    echo "== summary ($(( $(date +%s) - START )) s; commit $COMMIT; files in $RES/) =="
    echo "pytest tests/gpu: exit $PYTEST_RC -- $(tail -n 1 "$RES/pytest.txt")"
    echo "CUDA-graph tests: exit $GRAPH_RC -- $(tail -n 1 "$RES/graph.txt")"
    echo "gpu_bench.py: exit $BENCH_RC"
    if [ -f "$RES/table.md" ]; then cat "$RES/table.md"; else echo "(no table.md: see $RES/log.txt)"; fi
} 2>&1 | tee "$RES/summary.txt"
{
    echo "# GPU results"
    echo
    echo "Written by \`bash benchmarks/gpu_check.sh\` at commit $COMMIT${DIRTY:+ (with local changes: see env.txt)},"
    echo "finished $(date -u '+%Y-%m-%d %H:%M UTC') after $(( $(date +%s) - START )) s, on" \
        "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)."
    echo "env.txt: versions and nvidia-smi; pytest.txt: tests/gpu; graph.txt: the CUDA-graph tests; log.txt,"
    echo "results.json, table.md: benchmarks/gpu_bench.py; fig1d.txt: a fig1d epoch on the GPU; summary.txt."
    echo "Exit codes: tests/gpu $PYTEST_RC, graph tests $GRAPH_RC, gpu_bench $BENCH_RC."
} > "$RES/README.md"
if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
    for f in env.txt pytest.txt graph.txt log.txt results.json table.md fig1d.txt summary.txt; do
        [ -f "$RES/$f" ] && cp "$RES/$f" "$OUT/"
    done
fi
[ "$PYTEST_RC" = 0 ] && [ "$GRAPH_RC" = 0 ] && [ "$BENCH_RC" = 0 ] && [ -f "$RES/table.md" ]
