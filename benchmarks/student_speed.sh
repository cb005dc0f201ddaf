#!/usr/bin/env bash
# benchmarks/student_speed.sh: the student's CPU training step and batch-1 latency, cudistill
# (`apps/bench --student-step`) against PyTorch (benchmarks/torch_student.py: the same network,
# loss, optimizer and shapes), side by side on the same threads. The two alternate for ROUNDS
# rounds, so that a shared machine's slow spells fall on both; each round gives each a median of
# REPS steps, and the result is the median over rounds. Writes
# benchmarks/results/student-speed-cpu.json (and prints it).
# PyTorch is an optional benchmark dependency (pip install torch); the engine never links it.
#   bash benchmarks/student_speed.sh            # THREADS=1 WIDTHS="1 1.4" ROUNDS=5 REPS=15
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} THREADS=${THREADS:-1} WIDTHS=${WIDTHS:-"1 1.4"} ROUNDS=${ROUNDS:-5} REPS=${REPS:-15}
OUT=${OUT_JSON:-benchmarks/results/student-speed-cpu.json}
python3 -c "import torch" 2>/dev/null || { echo "student_speed.sh: PyTorch is not importable (pip install torch)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for w in $WIDTHS; do
  for r in $(seq "$ROUNDS"); do
    OMP_NUM_THREADS=$THREADS "$BUILD/apps/bench" --student-step --width "$w" --reps "$REPS" --json "$tmp/c-$w-$r.json" | tail -1
    python3 benchmarks/torch_student.py --threads "$THREADS" --width "$w" --reps "$REPS" --json "$tmp/t-$w-$r.json"
  done
done
python3 - "$tmp" "$OUT" "$THREADS" "$WIDTHS" "$ROUNDS" <<'PY'
import glob, json, os, platform, statistics, sys
tmp, out, threads, widths, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(), int(sys.argv[5])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
res = {"cpu": cpu, "threads": threads, "rounds": rounds, "what": "median over rounds of each round's median; "
       "training: batch 64, 96 px, kd_loss + AdamW; latency: batch 1, 96 px, eval", "widths": []}
for w in widths:
    row = {"width": float(w)}
    for k, tag in (("cudistill", "c"), ("pytorch", "t")):
        runs = [json.load(open(f)) for f in sorted(glob.glob(f"{tmp}/{tag}-{w}-*.json"))]
        row[k] = {"framework": runs[0]["framework"], "params": runs[0]["params"],
                  "images_per_s": statistics.median(r["images_per_s"] for r in runs),
                  "latency_ms": statistics.median(r["latency_ms"] for r in runs),
                  "images_per_s_rounds": [round(r["images_per_s"], 1) for r in runs],
                  "latency_ms_rounds": [round(r["latency_ms"], 3) for r in runs]}
    row["train_speed_ratio"] = row["cudistill"]["images_per_s"] / row["pytorch"]["images_per_s"]
    row["latency_ratio"] = row["cudistill"]["latency_ms"] / row["pytorch"]["latency_ms"]
    res["widths"].append(row)
    print(f"width {w}: cudistill {row['cudistill']['images_per_s']:.1f} images/s, {row['cudistill']['latency_ms']:.3f} ms; "
          f"pytorch {row['pytorch']['images_per_s']:.1f} images/s, {row['pytorch']['latency_ms']:.3f} ms; "
          f"training {row['train_speed_ratio']:.2f}x PyTorch's images/s, latency {row['latency_ratio']:.2f}x PyTorch's")
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out + ".tmp", "w") as f:
    json.dump(res, f, indent=2)
os.replace(out + ".tmp", out)
PY
