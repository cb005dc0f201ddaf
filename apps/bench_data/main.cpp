// bench_data: decode throughput of the image pipeline: scans an image-folder data set (either
// layout, data/folder.h) and decodes train + test into the uint8 cache (data/dataset.h), timing
// the scan and the decode. Not a test: it asserts nothing, it measures.
//   ./build/apps/bench_data [ROOT] [--threads N] [--size S]
// ROOT defaults to /work/shared/data/intel; N to 2 (the dev machine's cores); S to 150.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/data/dataset.h"
#include "engine/threads.h"
#include "engine/data/folder.h"
#include "engine/error.h"

using namespace cudistill;
using namespace cudistill::data;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  use_short_spin_openmp(argc, argv);  // engine/threads.h: why
  std::string root = "/work/shared/data/intel";
  int threads = 2, size = 150;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if ((a == "--threads" || a == "--size") && i + 1 < argc) {
        const int v = std::atoi(argv[++i]);
        USER_CHECK(v > 0, a, " needs a positive integer, got '", argv[i], "'");
        (a == "--threads" ? threads : size) = v;
      } else if (a == "--help" || a == "-h") {
        std::printf("usage: bench_data [ROOT] [--threads N] [--size S]\n");
        return 0;
      } else {
        USER_CHECK(!a.empty() && a[0] != '-', "unknown flag '", a, "': try --help");
        root = a;
      }
    }

    auto t0 = std::chrono::steady_clock::now();
    const FolderDataset ds = scan_image_folder(root);
    const double scan_s = seconds_since(t0);
    std::printf("data set   %s (layout %s): %zu classes, %zu train + %zu test files, scanned in %.3f s\n",
                root.c_str(), layout_name(ds.layout), ds.classes.size(), ds.train.size(), ds.test.size(), scan_s);

    double total_s = 0, total_mb = 0;
    size_t total_n = 0, total_skipped = 0;
    for (const auto& [name, files] : {std::pair<const char*, const FileList*>{"train", &ds.train},
                                      std::pair<const char*, const FileList*>{"test", &ds.test}}) {
      t0 = std::chrono::steady_clock::now();
      const ImageCache cache = load_image_cache(*files, size, size, threads);
      const double s = seconds_since(t0);
      const double mb = double(cache.bytes()) / 1e6;
      std::printf("%-5s      %6d images in %6.2f s = %7.1f images/s, cache %7.1f MB (%dx%dx3 uint8), %zu skipped\n",
                  name, cache.n, s, cache.n / s, mb, size, size, cache.skipped.size());
      for (const SkippedFile& f : cache.skipped) std::printf("           skipped %s: %s\n", f.path.c_str(), f.reason.c_str());
      total_s += s;
      total_mb += mb;
      total_n += size_t(cache.n);
      total_skipped += cache.skipped.size();
    }
    std::printf("total      %6zu images in %6.2f s = %7.1f images/s with %d threads, cache %.1f MB, %zu skipped\n",
                total_n, total_s, double(total_n) / total_s, threads, total_mb, total_skipped);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_data: %s\n", e.what());
    return e.user_error() ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_data: %s\n", e.what());
    return 1;
  }
}
