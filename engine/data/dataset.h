// data/dataset.h: the in-memory uint8 image cache: every file of a list decoded once, resized to
// one fixed size, and kept as (N, H, W, 3) bytes, so that an epoch costs no JPEG decoding (the
// Intel train set, 8.7k images at 150x150, is about 590 MB; 4x that as float, hence uint8).
// Unreadable files are skipped, not fatal: real data sets hold a few (see SkippedFile).
// Not here: augmentation and batching (data/augment.h); folder scanning (data/folder.h).
// Tested in tests/ops/test_data.cpp (-tc="data*"); timed by apps/bench_data.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/folder.h"

namespace cudistill::data {

// A file left out of the cache and why (goes to metrics.json: dataset.skipped_files).
struct SkippedFile {
  std::string path, reason;
};

// Images are (n, h, w, 3) uint8 RGB, image i at pixels[i * h * w * 3]. A std::vector, not a
// Tensor: the engine's tensors have no uint8 dtype, and the cache never leaves the host whole
// (make_batch uploads one batch at a time).
struct ImageCache {
  int n = 0, h = 0, w = 0;
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;        // (n)
  std::vector<std::string> paths;     // (n): the files kept, in input order
  std::vector<SkippedFile> skipped;   // the files left out, in input order

  size_t image_bytes() const { return size_t(h) * size_t(w) * 3; }
  const uint8_t* image(int i) const { return pixels.data() + size_t(i) * image_bytes(); }
  size_t bytes() const { return pixels.size(); }
};

// Decodes every file of `files` (data/image.h), resizing off-size ones to (h, w) bilinearly, with
// `threads` OpenMP threads (0: OpenMP's default). Files that cannot be decoded are left out, listed
// in .skipped with their reason, and named in ONE warning line on stderr (the first 10, then a
// count). The kept images keep the input order, so the result does not depend on `threads`.
// Throws a user error when no file at all could be read.
ImageCache load_image_cache(const FileList& files, int h, int w, int threads = 0);

}  // namespace cudistill::data
