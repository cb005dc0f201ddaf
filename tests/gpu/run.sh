#!/usr/bin/env bash
# run.sh: the one script a GPU machine runs (H100/H200, see the device tool's docs).
#   1. records the machine (GPU, driver, nvcc, cuDNN/cuBLAS found);
#   2. builds everything for sm_90 against the cuDNN/cuBLAS of the nvidia-* Python packages;
#   3. runs the CPU suite, then the CUDA suite (every op vs the CPU reference), and converts
#      torchvision's ResNet18/152 checkpoints and compares logits with torchvision's;
#   4. runs the CUDA suite again under compute-sanitizer memcheck;
#   5. runs the kernel benchmarks (bench_cuda) and ncu on the softmax and KD kernels;
#   6. runs the Intel benchmark's pipeline with --device cuda on the carried subset of the images
#      (benchmarks/intel.sh, EfficientNet-Lite0 as the master since its weights travel, ResNet152
#      as the reference timed on the GPU): $OUT/intel-gpu.json;
#   7. writes $OUT/gpu-results.json (a summary) and $OUT/gpu-log.txt (everything).
# Prepare on the CPU machine first: bash tests/gpu/prepare.sh (carries doctest's header).
# Each step's failure is recorded and the script goes on, so one broken step still leaves the
# others' numbers; the exit code is non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/out-gpu}
mkdir -p "$OUT"
LOG=$OUT/gpu-log.txt
: >"$LOG"
declare -A STATUS
step() {  # step NAME CMD...: run, log, remember the exit code
  local name=$1; shift
  echo "=== $name: $*" | tee -a "$LOG"
  local t0=$SECONDS
  "$@" >>"$LOG" 2>&1
  local rc=$?
  STATUS[$name]=$rc
  echo "=== $name: exit $rc in $((SECONDS - t0)) s" | tee -a "$LOG"
  return 0
}

# --- 1. the machine --------------------------------------------------------------------------
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  nvcc --version | tail -2
  python3 -c "import torch; print('torch', torch.__version__, torch.version.cuda)"
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt" | tee -a "$LOG"

pkg_dir() { python3 -c "import $1 as m; print(list(m.__path__)[0])" 2>/dev/null; }
CUDNN_DIR=$(pkg_dir nvidia.cudnn)
CUBLAS_DIR=$(pkg_dir nvidia.cublas)
echo "cuDNN package: ${CUDNN_DIR:-none}; cuBLAS package: ${CUBLAS_DIR:-none}" | tee -a "$LOG"
CMAKE_ARGS=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCUDISTILL_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
[ -d .gpu-deps/weights ] && export CUDISTILL_WEIGHTS_DIR=$PWD/.gpu-deps/weights
[ -d .gpu-deps/include ] && CMAKE_ARGS+=(-DCMAKE_INCLUDE_PATH="$PWD/.gpu-deps/include"
                                         -DDOCTEST_INCLUDE_DIR="$PWD/.gpu-deps/include")
if [ -n "$CUDNN_DIR" ]; then
  lib=$(ls "$CUDNN_DIR"/lib/libcudnn.so* 2>/dev/null | head -1)
  CMAKE_ARGS+=(-DCUDNN_INCLUDE_DIR="$CUDNN_DIR/include" -DCUDNN_LIBRARY="$lib")
  export LD_LIBRARY_PATH="$CUDNN_DIR/lib:${LD_LIBRARY_PATH:-}"
fi
if [ -n "$CUBLAS_DIR" ] && [ ! -e /usr/local/cuda/lib64/libcublas.so ]; then
  lib=$(ls "$CUBLAS_DIR"/lib/libcublas.so* 2>/dev/null | head -1)
  CMAKE_ARGS+=(-DCUBLAS_INCLUDE_DIR="$CUBLAS_DIR/include" -DCUBLAS_LIBRARY="$lib")
  export LD_LIBRARY_PATH="$CUBLAS_DIR/lib:$LD_LIBRARY_PATH"
fi

# --- 2. build ----------------------------------------------------------------------------------
step configure cmake -S . -B build-gpu "${CMAKE_ARGS[@]}"
step build cmake --build build-gpu -j "$(nproc)"
B=build-gpu

# --- 3. tests ----------------------------------------------------------------------------------
step cpu_tests "$B/tests/test_ops" -r=junit -o="$OUT/test_ops.xml"
step cuda_macros "$B/tests/test_cuda_macros"
step cuda_tests "$B/tests/test_cuda" -r=junit -o="$OUT/test_cuda.xml"
"$B/tests/test_cuda" 2>&1 | tail -4 | tee -a "$LOG"

# the full-size converter check: torchvision checkpoints as users download them (needs torch)
step conversion_files python3 weights/make_conversion_check.py /tmp/cudistill-conv
CUDISTILL_CONVERSION_DIR=/tmp/cudistill-conv step conversion_check "$B/tests/test_ops" -tc="golden: converted*" -s

# --- 4. compute-sanitizer ----------------------------------------------------------------------
step memcheck compute-sanitizer --tool memcheck --error-exitcode 3 --log-file "$OUT/memcheck.txt" \
  "$B/tests/test_cuda"
tail -3 "$OUT/memcheck.txt" 2>/dev/null | tee -a "$LOG"

# --- 5. benchmarks and ncu ---------------------------------------------------------------------
step bench_cuda "$B/apps/bench_cuda" --json "$OUT/bench_cuda.json"
step ncu ncu --set full -k "regex:softmax|kd_loss" --launch-count 6 --csv --page details \
  --log-file "$OUT/ncu.csv" "$B/apps/bench_cuda" --reps 20

# --- 6. the Intel pipeline on the GPU ---------------------------------------------------------
if [ -d .gpu-deps/intel ] && [ -f .gpu-deps/weights/efficientnet-lite0.pth ]; then
  mkdir -p "$B/weights"
  step convert_lite0 "$B/apps/convert" --arch efficientnet_lite0 --in .gpu-deps/weights/efficientnet-lite0.pth \
    --out "$B/weights/efficientnet_lite0.safetensors"
  step intel_gpu env DATA=.gpu-deps/intel BUILD="$B" RUNS=/tmp/cudistill-intel DEVICE=cuda TAG=gpu EPOCHS=6 VIEWS=2 \
    MASTER_ARCH=efficientnet_lite0 THREADS="$(nproc)" STUDENT_THREADS=4 bash benchmarks/intel.sh
  cp benchmarks/results/intel-gpu.json "$OUT/" 2>/dev/null
fi

# --- 7. summary --------------------------------------------------------------------------------
python3 - "$OUT" "$(declare -p STATUS)" <<'PY'
import json, os, re, sys
out, status_decl = sys.argv[1], sys.argv[2]
status = dict(re.findall(r'\[(\w+)\]="?(\d+)"?', status_decl))
res = {"steps": {k: int(v) for k, v in status.items()}}
def junit(path):
    try:
        t = open(path).read()
        m = re.search(r'<testsuites?[^>]*tests="(\d+)"[^>]*failures="(\d+)"', t)
        return {"tests": int(m.group(1)), "failures": int(m.group(2))} if m else None
    except OSError:
        return None
res["cpu_tests"] = junit(os.path.join(out, "test_ops.xml"))
res["cuda_tests"] = junit(os.path.join(out, "test_cuda.xml"))
try:
    mc = open(os.path.join(out, "memcheck.txt")).read()
    m = re.search(r"ERROR SUMMARY: (\d+) error", mc)
    res["memcheck_errors"] = int(m.group(1)) if m else None
except OSError:
    res["memcheck_errors"] = None
try:
    res["bench_cuda"] = json.load(open(os.path.join(out, "bench_cuda.json")))
except (OSError, ValueError):
    res["bench_cuda"] = None
try:
    res["intel_gpu"] = json.load(open(os.path.join(out, "intel-gpu.json")))
except (OSError, ValueError):
    res["intel_gpu"] = None
res["env"] = open(os.path.join(out, "env.txt")).read()
tmp = os.path.join(out, "gpu-results.json.tmp")
json.dump(res, open(tmp, "w"), indent=2)
os.replace(tmp, os.path.join(out, "gpu-results.json"))
print(json.dumps({k: v for k, v in res.items() if k != "env"}, indent=1)[:3000])
PY
fails=0
for k in "${!STATUS[@]}"; do [ "${STATUS[$k]}" = 0 ] || fails=$((fails + 1)); done
echo "steps failed: $fails"
exit $((fails > 0))
