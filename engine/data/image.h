// data/image.h: one image file -> RGB uint8 pixels, and the bilinear resize the cache uses.
// Decoding is stb_image's, built for JPEG (baseline and progressive), PNG and BMP only: the
// formats the folder scanner lists (.jpg .jpeg .png .bmp). Every image becomes 3-channel RGB:
// grayscale is replicated (R = G = B), and an alpha channel is DROPPED, not composited over a
// background (a transparent pixel keeps the colour stored under it). 16-bit PNGs become 8-bit.
// Not here: folders, labels, caching (data/folder.h, data/dataset.h); augmentation (data/augment.h).
// Tested in tests/ops/test_data.cpp (-tc="data*").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cudistill::data {

// An RGB image, row-major: pixels is (h, w, 3) uint8.
struct Image {
  int h = 0, w = 0;
  std::vector<uint8_t> pixels;
};

// Decodes `path` into `out` (RGB). Returns false, with a one-line `reason`, for anything that is
// not a readable image: a missing path, a directory ("not a regular file"), a zero-byte file
// ("empty file"), any other content ("not a JPEG, PNG or BMP file", by its first bytes), and
// "corrupt or truncated <format> ..." with stb_image's reason for bad data (stb_image rejects a
// JPEG cut anywhere, even one missing only its end marker; libjpeg would pad it). Never throws
// for a bad file and never crashes on one (stb_image checks its input bounds). Thread-safe
// (stb_image keeps its failure reason thread-local), so the cache decodes from OpenMP threads.
bool decode_image(const std::string& path, Image& out, std::string& reason);

// Bilinear resize of RGB uint8 to (h, w), with the pixel-centre convention of cpu::augment:
// output pixel (oy, ox) samples the source at
//   sx = (ox + 0.5) * W / w - 0.5,   sy = (oy + 0.5) * H / h - 0.5,   clamped to [0, W-1] x [0, H-1],
// rounded to the nearest integer. Same size in, same pixels out. No antialiasing filter: a strong
// downscale aliases (the cache only resizes the few off-size images, by small factors).
// dst: (h, w, 3), src: (H, W, 3).
void resize_bilinear(uint8_t* dst, int h, int w, const uint8_t* src, int H, int W);
Image resize_bilinear(const Image& src, int h, int w);

}  // namespace cudistill::data
