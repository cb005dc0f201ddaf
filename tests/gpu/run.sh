#!/usr/bin/env bash
# run.sh: the one script a GPU machine runs (H100/H200, see the device tool's docs).
#   1. records the machine (GPU, driver, nvcc, cuDNN/cuBLAS found);
#   2. builds everything for sm_90 against the cuDNN/cuBLAS of the nvidia-* Python packages;
#   3. runs the CUDA suite (every op vs the CPU reference) and the CUDA error-macro tests;
#   4. runs the kernel benchmarks (bench_cuda) and ncu on the softmax, KD and CE kernels;
#   5. runs the CUDA suite again under compute-sanitizer memcheck;
#   6. converts torchvision's ResNet18/152 checkpoints and compares logits with torchvision's;
#   7. runs the Intel benchmark's pipeline with --device cuda on the carried subset of the images
#      (benchmarks/intel.sh, EfficientNet-Lite0 as the master since its weights travel, ResNet152
#      as the reference timed on the GPU): $OUT/intel-gpu.json;
#   8. writes $OUT/gpu-results.json (a summary) and $OUT/gpu-log.txt (everything).
# Prepare on the CPU machine first: bash tests/gpu/prepare.sh (carries doctest's header).
# Device time is scarce (15 min a session, machine start included), so the steps run in order of
# value under one time budget, BUDGET seconds (default 420): each step has its own limit, cut to
# what is left; a step that would start with under 15 s left is skipped (status 125). Each step's
# failure is recorded and the script goes on, so one broken step still leaves the others'
# numbers; the exit code is non-zero if any step failed. CPU_TESTS=1 also runs the CPU suite
# (CI's job; off by default to save device time); SKIP="ncu intel_gpu ..." skips steps by name.
# At most 8 files go to $OUT (the tool's limit).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/out-gpu}
BUDGET=${BUDGET:-420}
DEADLINE=$((SECONDS + BUDGET))
mkdir -p "$OUT"
LOG=$OUT/gpu-log.txt
: >"$LOG"
declare -A STATUS
step() {  # step NAME LIMIT_S CMD...: run under min(LIMIT_S, time left), log, remember the exit code
  local name=$1 limit=$2; shift 2
  if [[ " ${SKIP:-} " == *" $name "* ]]; then
    echo "=== $name: skipped (SKIP)" | tee -a "$LOG"
    STATUS[$name]=125
    return 0
  fi
  local left=$((DEADLINE - SECONDS - 5))
  if [ "$left" -lt 15 ]; then
    echo "=== $name: skipped, ${left} s left of the budget" | tee -a "$LOG"
    STATUS[$name]=125
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "=== $name (limit ${limit} s): $*" | tee -a "$LOG"
  local t0=$SECONDS
  timeout --kill-after=5 "$limit" "$@" >>"$LOG" 2>&1
  local rc=$?
  STATUS[$name]=$rc
  echo "=== $name: exit $rc in $((SECONDS - t0)) s" | tee -a "$LOG"
  return 0
}

# --- 1. the machine --------------------------------------------------------------------------
ENV_TXT=/tmp/cudistill-env.txt
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  nvcc --version | tail -2
  echo "kernel $(uname -r), $(nproc) cores"
  python3 -c "import torch; print('torch', torch.__version__, torch.version.cuda)"
} >"$ENV_TXT" 2>&1
tee -a "$LOG" <"$ENV_TXT"

pkg_dir() { python3 -c "import $1 as m; print(list(m.__path__)[0])" 2>/dev/null; }
CUDNN_DIR=$(pkg_dir nvidia.cudnn)
CUBLAS_DIR=$(pkg_dir nvidia.cublas)
echo "cuDNN package: ${CUDNN_DIR:-none}; cuBLAS package: ${CUBLAS_DIR:-none}" | tee -a "$LOG"
CMAKE_ARGS=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCUDISTILL_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
[ -d .gpu-deps/weights ] && export CUDISTILL_WEIGHTS_DIR=$PWD/.gpu-deps/weights
[ -d .gpu-deps/include ] && CMAKE_ARGS+=(-DCMAKE_INCLUDE_PATH="$PWD/.gpu-deps/include"
                                         -DDOCTEST_INCLUDE_DIR="$PWD/.gpu-deps/include")
if [ -n "$CUDNN_DIR" ] && [ -f "$CUDNN_DIR/include/cudnn.h" ]; then
  lib=$(ls "$CUDNN_DIR"/lib/libcudnn.so* 2>/dev/null | head -1)
  CMAKE_ARGS+=(-DCUDNN_INCLUDE_DIR="$CUDNN_DIR/include" -DCUDNN_LIBRARY="$lib")
  export LD_LIBRARY_PATH="$CUDNN_DIR/lib:${LD_LIBRARY_PATH:-}"
fi
if [ -n "$CUBLAS_DIR" ] && [ ! -e /usr/local/cuda/lib64/libcublas.so ]; then
  lib=$(ls "$CUBLAS_DIR"/lib/libcublas.so* 2>/dev/null | head -1)
  CMAKE_ARGS+=(-DCUBLAS_INCLUDE_DIR="$CUBLAS_DIR/include" -DCUBLAS_LIBRARY="$lib")
  export LD_LIBRARY_PATH="$CUBLAS_DIR/lib:${LD_LIBRARY_PATH:-}"
fi

# --- 2. build: the CUDA suite and the benchmark first, so that their results come even if the
#        rest of the build runs out of budget ----------------------------------------------------
B=build-gpu
step configure 90 cmake -S . -B "$B" "${CMAKE_ARGS[@]}"
step build_cuda 240 cmake --build "$B" -j "$(nproc)" --target test_cuda test_cuda_macros bench_cuda

# --- 3. the CUDA suite -------------------------------------------------------------------------
step cuda_macros 30 "$B/tests/test_cuda_macros"
step cuda_tests 150 "$B/tests/test_cuda"
grep -E '^\[doctest\] (test cases|assertions)' "$LOG" | tail -2

# --- 4. benchmarks and ncu (--once: each kernel launched once per shape) -----------------------
step bench_cuda 90 "$B/apps/bench_cuda" --json "$OUT/bench_cuda.json"
step ncu 150 ncu --set full --clock-control none -k 'regex:softmax|kd_loss|cross_entropy' --csv --page details \
  --log-file "$OUT/ncu.csv" "$B/apps/bench_cuda" --once

# --- 5. compute-sanitizer (the out-of-memory case is left out: its failing cudaMalloc is the
#        point of the test, and the sanitizer would count it as an API error) --------------------
step memcheck 180 compute-sanitizer --tool memcheck --error-exitcode 3 --log-file "$OUT/memcheck.txt" \
  "$B/tests/test_cuda" -tce='*out of memory*'
tail -3 "$OUT/memcheck.txt" 2>/dev/null | tee -a "$LOG"

# --- 6. the rest of the build, the converter check, the Intel pipeline on the GPU ---------------
step build_rest 240 cmake --build "$B" -j "$(nproc)"
if [ "${CONVERSION:-0}" = 1 ]; then  # CPU-only (the engine's reader vs torchvision): also runs on the CPU machine
  step conversion_files 120 python3 weights/make_conversion_check.py /tmp/cudistill-conv
  CUDISTILL_CONVERSION_DIR=/tmp/cudistill-conv step conversion_check 90 "$B/tests/test_ops" -tc="golden: converted*"
fi
if [ -d .gpu-deps/intel ] && [ -f .gpu-deps/weights/efficientnet-lite0.pth ]; then
  mkdir -p "$B/weights"
  step convert_lite0 60 "$B/apps/convert" --arch efficientnet_lite0 --in .gpu-deps/weights/efficientnet-lite0.pth \
    --out "$B/weights/efficientnet_lite0.safetensors"
  step intel_gpu 400 env DATA=.gpu-deps/intel BUILD="$B" RUNS=/tmp/cudistill-intel DEVICE=cuda TAG=gpu EPOCHS=20 \
    VIEWS=2 MASTER_ARCH=efficientnet_lite0 THREADS="$(nproc)" STUDENT_THREADS=4 bash benchmarks/intel.sh
  cp benchmarks/results/intel-gpu.json "$OUT/" 2>/dev/null
fi
if [ "${CPU_TESTS:-0}" = 1 ]; then  # CI's job; here only when asked
  step cpu_tests 300 "$B/tests/test_ops"
fi

# --- 7. summary --------------------------------------------------------------------------------
python3 - "$OUT" "$LOG" "$ENV_TXT" "$(declare -p STATUS)" <<'PY'
import json, os, re, sys
out, log, env_txt, status_decl = sys.argv[1:5]
status = dict(re.findall(r'\[(\w+)\]="?(\d+)"?', status_decl))
res = {"steps": {k: int(v) for k, v in status.items()}}
text = open(log, errors="replace").read()
# doctest's console summary of the CUDA suite (the first run: the memcheck run logs to its own file)
m = re.search(r"=== cuda_tests \(.*?\n(.*?)=== cuda_tests: exit", text, re.S)
if m:
    cases = re.search(r"test cases:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed", m.group(1))
    asserts = re.search(r"assertions:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed", m.group(1))
    res["cuda_tests"] = {"cases": [int(x) for x in cases.groups()] if cases else None,
                         "assertions": [int(x) for x in asserts.groups()] if asserts else None}
try:
    mc = open(os.path.join(out, "memcheck.txt")).read()
    m = re.search(r"ERROR SUMMARY: (\d+) error", mc)
    res["memcheck_errors"] = int(m.group(1)) if m else None
except OSError:
    res["memcheck_errors"] = None
for key, name in [("bench_cuda", "bench_cuda.json"), ("intel_gpu", "intel-gpu.json")]:
    try:
        res[key] = json.load(open(os.path.join(out, name)))
    except (OSError, ValueError):
        res[key] = None
res["env"] = open(env_txt).read()
tmp = os.path.join(out, "gpu-results.json.tmp")
json.dump(res, open(tmp, "w"), indent=2)
os.replace(tmp, os.path.join(out, "gpu-results.json"))
short = dict(res)
short.pop("env")
if short.get("intel_gpu"):
    short["intel_gpu"] = "written (intel-gpu.json)"
print(json.dumps(short, indent=1)[:4000])
PY
fails=0
for k in "${!STATUS[@]}"; do [ "${STATUS[$k]}" = 0 ] || fails=$((fails + 1)); done
echo "steps failed or skipped: $fails"
exit $((fails > 0))
