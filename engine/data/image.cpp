// data/image.cpp: stb_image decoding to RGB and the bilinear resize (see image.h).
// This file holds the one stb_image implementation of the engine (STB_IMAGE_IMPLEMENTATION),
// restricted to the formats the data sets use so that the attack surface and the code stay small.
// Tested in tests/ops/test_data.cpp (-tc="data*").
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO  // we read the file ourselves, to tell "missing" and "empty" from "corrupt"
#include <stb/stb_image.h>

#include "engine/data/image.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "engine/error.h"

namespace cudistill::data {

namespace {

// Whole file into memory; false with a reason for anything but a readable, non-empty regular file.
bool read_file(const std::string& path, std::vector<unsigned char>& bytes, std::string& reason) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) { reason = "no such file"; return false; }
  if (!fs::is_regular_file(st)) { reason = "not a regular file"; return false; }
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) { reason = "cannot stat: " + ec.message(); return false; }
  if (size == 0) { reason = "empty file"; return false; }
  if (size > uintmax_t(INT_MAX)) { reason = "file too large (over 2 GiB)"; return false; }
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) { reason = std::string("cannot open: ") + std::strerror(errno); return false; }
  bytes.resize(size_t(size));
  if (std::fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    reason = "read error";  // e.g. the file shrank between the stat and the read
    return false;
  }
  return true;
}

// The format from the file's first bytes. stb_image tries every decoder in turn and reports the
// last failure, so a JPEG with a broken header would read "bad png sig"; the sniffed name keeps
// the reason honest.
const char* sniff_format(const std::vector<unsigned char>& b) {
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) return "JPEG";
  if (b.size() >= 4 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return "PNG";
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return "BMP";
  return nullptr;
}

// stb_image 2.27 (Debian 12's) trusts the code counts of a JPEG Huffman table (DHT): counts that
// sum past 256 make it write past the table's arrays inside its decoder state (fixed upstream in
// 2.28 with the same check). So walk the markers first, DHTs between progressive scans included,
// and refuse such a table. Returns false only for that case: other damage is left to stb.
bool jpeg_huffman_tables_ok(const std::vector<unsigned char>& b) {
  size_t i = 2;  // after SOI
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return true;  // not at a marker: malformed, stb will say so
    const unsigned char m = b[i + 1];
    if (m == 0xFF) { ++i; continue; }                                       // fill byte
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { i += 2; continue; }  // no length
    if (m == 0xD9) return true;                                             // EOI
    const size_t len = size_t(b[i + 2]) << 8 | b[i + 3];                    // includes its 2 bytes
    const size_t end = std::min(b.size(), i + 2 + len);
    if (m == 0xC4) {
      for (size_t p = i + 4; p + 17 <= end;) {  // one or more tables: class/id, 16 counts, symbols
        size_t n = 0;
        for (int k = 1; k <= 16; ++k) n += b[p + size_t(k)];
        if (n > 256) return false;
        p += 17 + n;
      }
    }
    i = end;
    if (m == 0xDA) {  // start of scan: skip the entropy-coded data up to the next real marker
      while (i + 1 < b.size() && !(b[i] == 0xFF && b[i + 1] != 0x00 && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7))) ++i;
    }
  }
  return true;
}

}  // namespace

bool decode_image(const std::string& path, Image& out, std::string& reason) {
  std::vector<unsigned char> bytes;
  if (!read_file(path, bytes, reason)) return false;
  const char* format = sniff_format(bytes);
  if (!format) { reason = "not a JPEG, PNG or BMP file"; return false; }
  int w = 0, h = 0, channels_in_file = 0;
  if (!stbi_info_from_memory(bytes.data(), int(bytes.size()), &w, &h, &channels_in_file)) {
    reason = std::string("corrupt or truncated ") + format + " header";
    return false;
  }
  // A decompression bomb (a few KB claiming 50000x50000) would allocate gigabytes per thread;
  // 100 megapixels is twice a large phone photo.
  if (double(w) * double(h) > 100e6) {
    reason = "image too large (" + std::to_string(w) + "x" + std::to_string(h) + ", over 100 megapixels)";
    return false;
  }
  if (format == std::string("JPEG") && !jpeg_huffman_tables_ok(bytes)) {
    reason = "corrupt JPEG (a Huffman table with more than 256 codes)";
    return false;
  }
  // stb_image only ever sets its (thread-local) failure reason, so clear it first, or a reason left
  // by an earlier file of this thread could be reported for this one. (An stb internal, visible
  // here because this file holds the implementation.)
  stbi__g_failure_reason = nullptr;
  // desired_channels = 3: stb converts gray -> RGB (replicated) and RGBA -> RGB (alpha dropped).
  stbi_uc* px = stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &channels_in_file, 3);
  if (!px) {
    const char* why = stbi_failure_reason();
    // stb tries PNG, then BMP, then JPEG; a decoder that gives up without a reason leaves the
    // previous test's complaint, which names the wrong format: drop those.
    const bool wrong_format = why && format != std::string("PNG") &&
                              (!std::strcmp(why, "bad png sig") || !std::strcmp(why, "not BMP") ||
                               !std::strcmp(why, "unknown image type"));
    reason = std::string("corrupt or truncated ") + format;
    if (why && !wrong_format) reason += std::string(" (stb_image: ") + why + ")";
    return false;
  }
  out.h = h;
  out.w = w;
  out.pixels.assign(px, px + size_t(h) * size_t(w) * 3);
  stbi_image_free(px);
  return true;
}

void resize_bilinear(uint8_t* dst, int h, int w, const uint8_t* src, int H, int W) {
  ENGINE_CHECK(h > 0 && w > 0 && H > 0 && W > 0, "resize_bilinear from ", H, "x", W, " to ", h, "x", w);
  if (h == H && w == W) {  // the common case in the cache: nothing to interpolate
    std::memcpy(dst, src, size_t(H) * W * 3);
    return;
  }
  for (int oy = 0; oy < h; ++oy) {
    // The same float expressions as cpu::augment with the full-image box, so that resizing here
    // and resampling there agree on where a pixel centre lands.
    float sy = (float(oy) + 0.5f) * float(H) / float(h) - 0.5f;
    sy = std::min(std::max(sy, 0.f), float(H - 1));
    const int y0 = int(sy), y1 = std::min(y0 + 1, H - 1);
    const float fy = sy - float(y0);
    for (int ox = 0; ox < w; ++ox) {
      float sx = (float(ox) + 0.5f) * float(W) / float(w) - 0.5f;
      sx = std::min(std::max(sx, 0.f), float(W - 1));
      const int x0 = int(sx), x1 = std::min(x0 + 1, W - 1);
      const float fx = sx - float(x0);
      for (int c = 0; c < 3; ++c) {
        const float p00 = src[(size_t(y0) * W + x0) * 3 + c], p01 = src[(size_t(y0) * W + x1) * 3 + c];
        const float p10 = src[(size_t(y1) * W + x0) * 3 + c], p11 = src[(size_t(y1) * W + x1) * 3 + c];
        const float top = p00 + fx * (p01 - p00), bot = p10 + fx * (p11 - p10);
        const float val = top + fy * (bot - top);  // in [0, 255]: a convex combination
        dst[(size_t(oy) * w + ox) * 3 + c] = uint8_t(val + 0.5f);  // round to nearest
      }
    }
  }
}

Image resize_bilinear(const Image& src, int h, int w) {
  Image out;
  out.h = h;
  out.w = w;
  out.pixels.resize(size_t(h) * w * 3);
  resize_bilinear(out.pixels.data(), h, w, src.pixels.data(), src.h, src.w);
  return out;
}

}  // namespace cudistill::data
