#!/usr/bin/env bash
# benchmarks/intel_variant.sh: one more student, trained on the master cache of the last
# benchmarks/intel.sh run (features, master and soft labels copied, not recomputed) and scored on
# the test split: how the experiments of docs/distillation.md were run.
# Usage (from the repository root, after benchmarks/intel.sh):
#   bash benchmarks/intel_variant.sh NAME [more apps/train flags]
#   e.g. bash benchmarks/intel_variant.sh t2 --T 2 --alpha 0.5
#        bash benchmarks/intel_variant.sh wide-baseline --no-master --student-width 1.4
# Settings: intel_settings.sh, the same as intel.sh's (one thread each: two variants run side by
# side on 2 cores). Writes $RUNS/variants/NAME/{log.txt,student.safetensors,
# test.json} and prints the best validation and the test accuracy. Select on validation.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bash benchmarks/intel_variant.sh NAME [apps/train flags]" >&2; exit 2; }
NAME=$1
shift
# shellcheck source=benchmarks/intel_settings.sh
. benchmarks/intel_settings.sh
SRC=$RUNS/distilled
DIR=$RUNS/variants/$NAME

for f in master.safetensors soft_labels.bin features.safetensors; do
  [ -f "$SRC/$f" ] || { echo "intel_variant.sh: $SRC/$f is missing: run benchmarks/intel.sh first" >&2; exit 2; }
done
rm -rf "$DIR"
mkdir -p "$DIR"
cp "$SRC/master.safetensors" "$SRC/soft_labels.bin" "$SRC/features.safetensors" "$DIR/"
# The cache's key covers the master, the views and the sizes: flags that change them make the
# distill stage refuse the copied cache (with its reason) rather than train on the wrong one.
./"$BUILD"/apps/train --data "$DATA" --device cpu --threads "$STUDENT_THREADS" --epochs "$EPOCHS" \
  --student-size "$STUDENT_SIZE" --master "$MASTER" --master-size "$MASTER_SIZE" --views "$VIEWS" \
  --run-dir "$DIR" --stages distill "$@" >"$DIR/train.out" 2>&1 ||
  { echo "intel_variant.sh: $NAME failed:" >&2; tail -5 "$DIR/train.out" >&2; exit 1; }
./"$BUILD"/apps/eval --checkpoint "$DIR/student.safetensors" --data "$DATA" --device cpu \
  --out "$DIR/test.json" --name student >"$DIR/eval.out" 2>&1
best=$(grep -o 'best val acc [0-9.]* at epoch [0-9]*' "$DIR/log.txt")
test_acc=$(grep -o '^accuracy [0-9.]*' "$DIR/eval.out")
echo "$NAME ($*): $best; test $test_acc"
