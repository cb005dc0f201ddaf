// data/dataset.cpp: parallel decode into the uint8 cache (see dataset.h).
// Each OpenMP thread decodes whole files straight into their final slot; a second, serial pass
// closes the gaps left by skipped files, so the output order never depends on thread timing.
// Tested in tests/ops/test_data.cpp (-tc="data*"); timed by apps/bench_data.
#include "engine/data/dataset.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>

#include "engine/data/image.h"
#include "engine/error.h"

namespace cudistill::data {

ImageCache load_image_cache(const FileList& files, int h, int w, int threads) {
  ENGINE_CHECK(h > 0 && w > 0, "image cache size must be positive, got ", h, "x", w);
  ENGINE_CHECK(files.paths.size() == files.labels.size(), "FileList with ", files.paths.size(), " paths and ",
               files.labels.size(), " labels");
  const int64_t N = int64_t(files.size());
  ImageCache cache;
  cache.h = h;
  cache.w = w;
  const size_t img_bytes = cache.image_bytes();
  cache.pixels.resize(size_t(N) * img_bytes);
  std::vector<std::string> reasons(files.size());  // empty = decoded fine

  const int nthreads = threads > 0 ? threads : omp_get_max_threads();
  // dynamic: file sizes (and so decode times) vary; chunks of 8 keep the scheduling cheap.
#pragma omp parallel for schedule(dynamic, 8) num_threads(nthreads)
  for (int64_t i = 0; i < N; ++i) {
    std::string& reason = reasons[size_t(i)];
    // No exception may leave an OpenMP region (it would terminate the program), so even an
    // allocation failure on one huge image becomes a skipped file.
    try {
      Image img;
      if (!decode_image(files.paths[size_t(i)], img, reason)) {
        if (reason.empty()) reason = "cannot decode";
        continue;
      }
      resize_bilinear(cache.pixels.data() + size_t(i) * img_bytes, h, w, img.pixels.data(), img.h, img.w);
    } catch (const std::exception& e) {
      reason = std::string("error while decoding: ") + e.what();
    }
  }

  // Compact: move each kept image down over the slots of skipped ones (memmove: dst <= src).
  int kept = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (!reasons[size_t(i)].empty()) {
      cache.skipped.push_back({files.paths[size_t(i)], reasons[size_t(i)]});
      continue;
    }
    if (kept != i)
      std::memmove(cache.pixels.data() + size_t(kept) * img_bytes, cache.pixels.data() + size_t(i) * img_bytes,
                   img_bytes);
    cache.labels.push_back(files.labels[size_t(i)]);
    cache.paths.push_back(files.paths[size_t(i)]);
    ++kept;
  }
  cache.n = kept;
  cache.pixels.resize(size_t(kept) * img_bytes);  // keeps the capacity: no 600 MB copy for a few bytes

  if (!cache.skipped.empty()) {
    // One line, however many: a log stays readable; the full list is in .skipped (metrics.json).
    std::string line = "warning: skipped " + std::to_string(cache.skipped.size()) + " unreadable image" +
                       (cache.skipped.size() == 1 ? "" : "s") + ": ";
    const size_t shown = std::min<size_t>(cache.skipped.size(), 10);
    for (size_t s = 0; s < shown; ++s)
      line += (s ? ", " : "") + cache.skipped[s].path + " (" + cache.skipped[s].reason + ")";
    if (shown < cache.skipped.size()) line += ", and " + std::to_string(cache.skipped.size() - shown) + " more";
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  USER_CHECK(N == 0 || kept > 0, "none of the ", N, " images could be read (first: ", cache.skipped[0].path, ": ",
             cache.skipped[0].reason, ")");
  return cache;
}

}  // namespace cudistill::data
