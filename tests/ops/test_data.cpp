// test_data.cpp: the image pipeline (engine/data): decoding (PNG, JPEG, BMP; gray and RGBA become
// RGB), the bilinear resize, both folder layouts, the class-mismatch error, the stratified split,
// the uint8 cache with its skipped files, view sampling, and batch assembly on the CPU.
// Every image is generated here with stb_image_write into a fresh mkdtemp folder (removed after),
// so the test needs no data set. The CUDA batch path is compared with this one in the CUDA suite.
// Run: ./build/tests/test_ops -tc="data*"
#include <doctest/doctest.h>

// The writer is static to this file, so no other test or library can clash with its symbols.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "engine/cuda_memory.h"
#include "engine/data/augment.h"
#include "engine/data/dataset.h"
#include "engine/data/folder.h"
#include "engine/data/image.h"
#include "engine/error.h"
#include "kernels/augment.h"
#include "expect_error.h"
#include "tempdir.h"

using namespace cudistill;
using namespace cudistill::data;
namespace fs = std::filesystem;

namespace {

using test::TempDir;

// (h, w, comp) bytes with neighbouring values far apart, so a misplaced pixel shows.
std::vector<uint8_t> pattern(int h, int w, int comp, int salt = 0) {
  std::vector<uint8_t> px(size_t(h) * w * comp);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 37 + 11 + size_t(salt) * 101) % 256);
  return px;
}
// A smooth RGB image: JPEG keeps it within a few levels (the pattern above would be mush).
std::vector<uint8_t> smooth(int h, int w) {
  std::vector<uint8_t> px(size_t(h) * w * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &px[(size_t(y) * w + x) * 3];
      p[0] = uint8_t(40 + 150 * x / w);
      p[1] = uint8_t(60 + 120 * y / h);
      p[2] = 128;
    }
  return px;
}

void write_png(const fs::path& p, int h, int w, int comp, const std::vector<uint8_t>& px) {
  fs::create_directories(p.parent_path());
  REQUIRE(stbi_write_png(p.string().c_str(), w, h, comp, px.data(), w * comp) != 0);
}
void write_jpg(const fs::path& p, int h, int w, const std::vector<uint8_t>& px) {
  fs::create_directories(p.parent_path());
  REQUIRE(stbi_write_jpg(p.string().c_str(), w, h, 3, px.data(), 95) != 0);
}
void write_bmp(const fs::path& p, int h, int w, const std::vector<uint8_t>& px) {
  fs::create_directories(p.parent_path());
  REQUIRE(stbi_write_bmp(p.string().c_str(), w, h, 3, px.data()) != 0);
}
void write_bytes(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}
std::string read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

using test::catch_error;

// A small image-folder data set for the scan and cache tests:
//   <split>/<class>/ for two classes, with one PNG, JPEG and BMP each, plus things to ignore.
void make_plain_tree(const fs::path& root, const std::vector<std::string>& train_classes,
                     const std::vector<std::string>& test_classes) {
  for (const auto& [side, classes] : {std::pair{std::string("train"), train_classes},
                                      std::pair{std::string("test"), test_classes}})
    for (size_t k = 0; k < classes.size(); ++k) {
      const fs::path d = root / side / classes[k];
      write_png(d / "b.png", 6, 8, 3, pattern(6, 8, 3, int(k)));
      write_jpg(d / "a.jpg", 6, 8, smooth(6, 8));
      write_bmp(d / "C.BMP", 6, 8, pattern(6, 8, 3, int(k) + 7));  // upper-case extension counts
    }
}

}  // namespace

TEST_SUITE("ops") {

TEST_CASE("data: decode PNG and BMP exactly, JPEG closely; gray becomes R=G=B, RGBA drops alpha") {
  TempDir tmp;
  const int H = 5, W = 7;
  const std::vector<uint8_t> rgb = pattern(H, W, 3);
  write_png(tmp.root() / "rgb.png", H, W, 3, rgb);
  write_bmp(tmp.root() / "rgb.bmp", H, W, rgb);
  Image img;
  std::string reason;
  for (const char* name : {"rgb.png", "rgb.bmp"}) {
    CAPTURE(name);
    REQUIRE(decode_image((tmp.root() / name).string(), img, reason));
    CHECK(img.h == H);
    CHECK(img.w == W);
    CHECK(img.pixels == rgb);  // lossless formats: every byte
  }

  // JPEG is lossy: quality 95 on a smooth image stays within a few levels (measured: max 2; 8
  // leaves room for another encoder or decoder version).
  const std::vector<uint8_t> sm = smooth(16, 24);
  write_jpg(tmp.root() / "smooth.jpg", 16, 24, sm);
  REQUIRE(decode_image((tmp.root() / "smooth.jpg").string(), img, reason));
  REQUIRE(img.pixels.size() == sm.size());
  int max_err = 0;
  for (size_t i = 0; i < sm.size(); ++i) max_err = std::max(max_err, std::abs(int(img.pixels[i]) - int(sm[i])));
  CHECK(max_err <= 8);

  const std::vector<uint8_t> gray = pattern(H, W, 1);
  write_png(tmp.root() / "gray.png", H, W, 1, gray);
  REQUIRE(decode_image((tmp.root() / "gray.png").string(), img, reason));
  REQUIRE(img.pixels.size() == size_t(H) * W * 3);
  for (size_t i = 0; i < gray.size(); ++i) {
    CHECK(img.pixels[3 * i] == gray[i]);
    CHECK(img.pixels[3 * i + 1] == gray[i]);
    CHECK(img.pixels[3 * i + 2] == gray[i]);
  }

  // RGBA with alpha 0..255 (the pattern's 4th bytes): the colour stored under it comes back as is.
  const std::vector<uint8_t> rgba = pattern(H, W, 4);
  write_png(tmp.root() / "rgba.png", H, W, 4, rgba);
  REQUIRE(decode_image((tmp.root() / "rgba.png").string(), img, reason));
  REQUIRE(img.pixels.size() == size_t(H) * W * 3);
  for (size_t p = 0; p < size_t(H) * W; ++p)
    for (int c = 0; c < 3; ++c) CHECK(img.pixels[3 * p + c] == rgba[4 * p + c]);
}

TEST_CASE("data: unreadable files fail with a reason and never crash the decoder") {
  TempDir tmp;
  Image img;
  std::string reason;
  auto fails = [&](const fs::path& p) {
    reason.clear();
    const bool ok = decode_image(p.string(), img, reason);
    CHECK_FALSE(reason.empty());
    return !ok;
  };
  write_bytes(tmp.root() / "empty.jpg", "");
  CHECK(fails(tmp.root() / "empty.jpg"));
  CHECK(reason == "empty file");
  write_bytes(tmp.root() / "notes.jpg", "this is a text file, not a JPEG\n");
  CHECK(fails(tmp.root() / "notes.jpg"));
  CHECK(reason == "not a JPEG, PNG or BMP file");
  fs::create_directories(tmp.root() / "folder.jpg");
  CHECK(fails(tmp.root() / "folder.jpg"));
  CHECK(reason == "not a regular file");
  CHECK(fails(tmp.root() / "missing.png"));
  CHECK(reason == "no such file");

  // A BMP header claiming 50000x50000 (7.5 GB of pixels) in 54 bytes: refused before allocating.
  std::string bomb = "BM";
  auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) bomb += char((v >> (8 * i)) & 0xFF); };
  auto u16 = [&](uint16_t v) { bomb += char(v & 0xFF); bomb += char(v >> 8); };
  u32(54 + 3); u32(0); u32(54);              // file size, reserved, pixel offset
  u32(40); u32(50000); u32(50000);           // BITMAPINFOHEADER: size, width, height
  u16(1); u16(24); u32(0); u32(0); u32(0); u32(0); u32(0); u32(0);  // planes, bpp, no compression
  bomb += "xyz";
  write_bytes(tmp.root() / "bomb.bmp", bomb);
  CHECK(fails(tmp.root() / "bomb.bmp"));
  CHECK(reason == "image too large (50000x50000, over 100 megapixels)");

  // A JPEG cut anywhere fails (stb_image wants the end marker), with "truncated" in the reason.
  write_jpg(tmp.root() / "full.jpg", 40, 48, smooth(40, 48));
  const std::string jpg = read_bytes(tmp.root() / "full.jpg");
  for (size_t cut : {size_t(3), size_t(20), size_t(200), jpg.size() / 2, jpg.size() - 2}) {
    CAPTURE(cut);
    write_bytes(tmp.root() / "cut.jpg", jpg.substr(0, cut));
    CHECK(fails(tmp.root() / "cut.jpg"));
    CHECK(contains(reason, "corrupt or truncated JPEG"));
  }
  // A Huffman table whose code counts sum past 256 (16 x 255): stb_image 2.27 would write past its
  // tables; decode_image refuses it first (image.cpp, jpeg_huffman_tables_ok).
  std::string dht = jpg;
  const size_t at = dht.find("\xFF\xC4");
  REQUIRE(at != std::string::npos);
  for (size_t k = 0; k < 16; ++k) dht[at + 5 + k] = char(0xFF);  // FF C4, length (2), class/id, counts
  write_bytes(tmp.root() / "dht.jpg", dht);
  CHECK(fails(tmp.root() / "dht.jpg"));
  CHECK(contains(reason, "Huffman table"));

  // Truncated PNG and BMP, and a JPEG/PNG/BMP with random bytes changed: any outcome but a crash
  // (also run under ASan+UBSan: 12000 such files, clean once the Huffman check was in). A
  // decode that succeeds must give the right size (stb_image reads a BMP cut short as zeros).
  write_png(tmp.root() / "full.png", 40, 48, 3, pattern(40, 48, 3));
  write_bmp(tmp.root() / "full.bmp", 40, 48, pattern(40, 48, 3));
  Rng rng(7);
  for (const char* name : {"full.jpg", "full.png", "full.bmp"}) {
    const std::string good = read_bytes(tmp.root() / name);
    for (int trial = 0; trial < 60; ++trial) {
      std::string bad = good;
      if (trial % 2 == 0) {
        bad.resize(rng.below(uint32_t(good.size())));
      } else {
        for (int f = 0; f < 8; ++f) bad[rng.below(uint32_t(bad.size()))] = char(rng.below(256));
      }
      write_bytes(tmp.root() / "bad.bin", bad);
      reason.clear();
      if (decode_image((tmp.root() / "bad.bin").string(), img, reason)) {
        CHECK(img.pixels.size() == size_t(img.h) * img.w * 3);
      } else {
        CHECK_FALSE(reason.empty());
      }
    }
  }
}

TEST_CASE("data: bilinear resize keeps same-size images, matches cpu::augment's pixel centres") {
  const int H = 6, W = 9;
  const std::vector<uint8_t> src = pattern(H, W, 3);
  Image img{H, W, src};
  CHECK(resize_bilinear(img, H, W).pixels == src);

  // A constant image stays constant at any size (a + f * (b - a) with a == b).
  Image flat{3, 4, std::vector<uint8_t>(3 * 4 * 3, 77)};
  const Image up = resize_bilinear(flat, 11, 5);
  CHECK(up.h == 11);
  CHECK(up.w == 5);
  CHECK(std::all_of(up.pixels.begin(), up.pixels.end(), [](uint8_t v) { return v == 77; }));

  // 1x2 -> 1x4 by hand: sx = (ox + 0.5) * 2/4 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped 0, .25, .75, 1.
  Image two{1, 2, {0, 0, 0, 200, 100, 40}};
  const Image four = resize_bilinear(two, 1, 4);
  CHECK(four.pixels == std::vector<uint8_t>{0, 0, 0, 50, 25, 10, 150, 75, 30, 200, 100, 40});

  // Odd sizes both ways: the resize is cpu::augment's full-image view (mean 0, std 1/255), rounded.
  for (auto [oh, ow] : {std::pair{13, 4}, std::pair{4, 17}, std::pair{150, 150}}) {
    CAPTURE(oh);
    CAPTURE(ow);
    const Image r = resize_bilinear(img, oh, ow);
    std::vector<float> ref(size_t(3) * oh * ow);
    const cpu::ViewParams full = eval_view(H, W);
    const float zero[3] = {0.f, 0.f, 0.f}, scale[3] = {1.f / 255.f, 1.f / 255.f, 1.f / 255.f};
    cpu::augment(ref.data(), src.data(), &full, 1, H, W, oh, ow, zero, scale);
    int max_err = 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
          const float want = ref[(size_t(c) * oh + y) * ow + x];
          const int got = r.pixels[(size_t(y) * ow + x) * 3 + c];
          max_err = std::max(max_err, int(std::lround(std::fabs(float(got) - want) * 2.f)));
        }
    CHECK(max_err <= 1);  // |got - want| <= 0.5: rounding only (float /255*255 may land on .5)
  }
}

TEST_CASE("data: both folder layouts are found, classes sorted, files filtered and sorted") {
  TempDir tmp;
  const fs::path plain = tmp.root() / "plain";
  make_plain_tree(plain, {"street", "forest"}, {"forest", "street"});
  // Things the scan must ignore: hidden files and folders, other extensions, nested folders.
  write_bytes(plain / "train" / "forest" / ".hidden.jpg", "x");
  write_bytes(plain / "train" / "forest" / "notes.txt", "x");
  write_png(plain / "train" / "forest" / "nested" / "deep.png", 2, 2, 3, pattern(2, 2, 3));
  fs::create_directories(plain / "train" / ".ipynb_checkpoints");
  fs::create_directories(plain / "test" / ".ipynb_checkpoints");
  write_bytes(plain / "README.md", "x");

  const FolderDataset ds = scan_image_folder(plain.string());
  CHECK(ds.layout == FolderLayout::Folders);
  CHECK(std::string(layout_name(ds.layout)) == "folders");
  CHECK(ds.classes == std::vector<std::string>{"forest", "street"});
  CHECK(ds.train_dir == (plain / "train").string());
  REQUIRE(ds.train.size() == 6);
  REQUIRE(ds.test.size() == 6);
  const std::string f = (plain / "train" / "forest").string(), s = (plain / "train" / "street").string();
  CHECK(ds.train.paths == std::vector<std::string>{f + "/C.BMP", f + "/a.jpg", f + "/b.png",
                                                   s + "/C.BMP", s + "/a.jpg", s + "/b.png"});
  CHECK(ds.train.labels == std::vector<int32_t>{0, 0, 0, 1, 1, 1});
  CHECK(std::is_sorted(ds.test.paths.begin(), ds.test.paths.end()));

  // Intel's archive as it unpacks: seg_train/seg_train/<class>, seg_test/seg_test/<class>, seg_pred.
  const fs::path intel = tmp.root() / "intel";
  for (const char* side : {"seg_train", "seg_test"})
    for (const char* cls : {"sea", "glacier", "buildings"})
      write_png(intel / side / side / cls / "1.png", 3, 3, 3, pattern(3, 3, 3));
  write_png(intel / "seg_pred" / "seg_pred" / "9.png", 3, 3, 3, pattern(3, 3, 3));
  const FolderDataset in = scan_image_folder(intel.string());
  CHECK(in.layout == FolderLayout::Intel);
  CHECK(in.classes == std::vector<std::string>{"buildings", "glacier", "sea"});
  CHECK(in.train_dir == (intel / "seg_train" / "seg_train").string());
  CHECK(in.test_dir == (intel / "seg_test" / "seg_test").string());
  CHECK(in.train.labels == std::vector<int32_t>{0, 1, 2});
  CHECK(in.test.size() == 3);
}

TEST_CASE("data: mismatched class folders and missing layouts are user errors that say what is wrong") {
  TempDir tmp;
  make_plain_tree(tmp.root() / "m", {"alpha", "beta", "gamma"}, {"alpha", "delta"});
  const Error e = catch_error([&] { scan_image_folder((tmp.root() / "m").string()); });
  CHECK(e.user_error());
  const std::string msg = e.what();
  CHECK(contains(msg, "missing from test: [beta, gamma]"));
  CHECK(contains(msg, "missing from train: [delta]"));

  const Error none = catch_error([&] { scan_image_folder((tmp.root() / "nope").string()); });
  CHECK(none.user_error());
  CHECK(contains(none.what(), "does not exist"));

  fs::create_directories(tmp.root() / "empty_root" / "images");
  const Error layout = catch_error([&] { scan_image_folder((tmp.root() / "empty_root").string()); });
  CHECK(layout.user_error());
  CHECK(contains(layout.what(), "seg_train/seg_train"));

  make_plain_tree(tmp.root() / "half", {"a"}, {"a"});
  fs::remove_all(tmp.root() / "half" / "test");
  const Error half = catch_error([&] { scan_image_folder((tmp.root() / "half").string()); });
  CHECK(contains(half.what(), "but no"));
}

TEST_CASE("data: the validation split is stratified, disjoint, order-preserving and seeded") {
  // Class sizes 50, 13, 1, 20: 10% rounds to 5, 1, 0, 2 validation files.
  FileList all;
  const int sizes[4] = {50, 13, 1, 20};
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < sizes[k]; ++i) {
      all.paths.push_back("c" + std::to_string(k) + "/" + std::to_string(1000 + i) + ".jpg");
      all.labels.push_back(k);
    }
  const Split s = split_train_val(all, 4, 0.1, 42);
  int val_count[4] = {0, 0, 0, 0}, train_count[4] = {0, 0, 0, 0};
  for (int32_t y : s.val.labels) ++val_count[y];
  for (int32_t y : s.train.labels) ++train_count[y];
  const int want_val[4] = {5, 1, 0, 2};
  for (int k = 0; k < 4; ++k) {
    CAPTURE(k);
    CHECK(val_count[k] == want_val[k]);
    CHECK(train_count[k] == sizes[k] - want_val[k]);
  }
  // Disjoint, and together exactly the input; each side keeps the input order.
  std::set<std::string> seen(s.train.paths.begin(), s.train.paths.end());
  for (const std::string& p : s.val.paths) CHECK(seen.insert(p).second);
  CHECK(seen == std::set<std::string>(all.paths.begin(), all.paths.end()));
  CHECK(std::is_sorted(s.train.paths.begin(), s.train.paths.end()));
  CHECK(std::is_sorted(s.val.paths.begin(), s.val.paths.end()));
  for (size_t i = 0; i < s.val.size(); ++i) CHECK(s.val.paths[i].substr(1, 1) == std::to_string(s.val.labels[i]));

  // Same seed, same split; another seed, another split (50-choose-5: a collision is 1 in 2e6).
  CHECK(split_train_val(all, 4, 0.1, 42).val.paths == s.val.paths);
  CHECK(split_train_val(all, 4, 0.1, 43).val.paths != s.val.paths);
  CHECK(split_train_val(all, 4, 0.0, 42).val.size() == 0);
  CHECK(catch_error([&] { split_train_val(all, 4, 1.0, 42); }).user_error());
}

TEST_CASE("data: the cache decodes and resizes every readable file and lists the skipped ones") {
  TempDir tmp;
  const fs::path root = tmp.root() / "ds";
  make_plain_tree(root, {"cat", "dog"}, {"cat", "dog"});
  const fs::path cat = root / "train" / "cat", dog = root / "train" / "dog";
  write_png(cat / "d_gray.png", 6, 8, 1, pattern(6, 8, 1));
  write_png(cat / "e_rgba.png", 6, 8, 4, pattern(6, 8, 4));
  write_png(dog / "odd.png", 3, 5, 3, pattern(3, 5, 3, 9));  // off-size: resized to 6x8
  write_bytes(dog / "zero.jpg", "");
  write_bytes(dog / "text.jpg", "hello\n");
  write_jpg(dog / "whole.jpg", 24, 24, smooth(24, 24));
  const std::string whole = read_bytes(dog / "whole.jpg");
  write_bytes(dog / "truncated.jpg", whole.substr(0, whole.size() / 2));

  const FolderDataset ds = scan_image_folder(root.string());
  REQUIRE(ds.train.size() == 13);
  const ImageCache cache = load_image_cache(ds.train, 6, 8, 2);
  CHECK(cache.n == 10);
  CHECK(cache.h == 6);
  CHECK(cache.w == 8);
  CHECK(cache.bytes() == size_t(10) * 6 * 8 * 3);
  CHECK(cache.labels == std::vector<int32_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1});
  REQUIRE(cache.skipped.size() == 3);  // in path order: text, truncated, zero
  CHECK(cache.skipped[0].path == (dog / "text.jpg").string());
  CHECK(cache.skipped[0].reason == "not a JPEG, PNG or BMP file");
  CHECK(cache.skipped[1].path == (dog / "truncated.jpg").string());
  CHECK(contains(cache.skipped[1].reason, "truncated JPEG"));
  CHECK(cache.skipped[2].path == (dog / "zero.jpg").string());
  CHECK(cache.skipped[2].reason == "empty file");

  // Each cached image is its decode, resized where needed; the gaps closed in order.
  for (int i = 0; i < cache.n; ++i) {
    CAPTURE(cache.paths[size_t(i)]);
    Image img;
    std::string reason;
    REQUIRE(decode_image(cache.paths[size_t(i)], img, reason));
    const Image want = resize_bilinear(img, 6, 8);
    CHECK(std::equal(want.pixels.begin(), want.pixels.end(), cache.image(i)));
  }
  const auto odd = std::find(cache.paths.begin(), cache.paths.end(), (dog / "odd.png").string());
  CHECK(odd != cache.paths.end());

  // The result does not depend on the thread count.
  const ImageCache one = load_image_cache(ds.train, 6, 8, 1);
  CHECK(one.pixels == cache.pixels);
  CHECK(one.paths == cache.paths);

  // Nothing readable at all is a user error; an empty list an empty cache.
  FileList bad;
  bad.paths = {(dog / "zero.jpg").string()};
  bad.labels = {0};
  CHECK(catch_error([&] { load_image_cache(bad, 4, 4); }).user_error());
  CHECK(load_image_cache(FileList{}, 4, 4).n == 0);
}

TEST_CASE("data: random views are torchvision boxes inside the image, seeded per (epoch, index)") {
  const ViewOptions opt;
  for (auto [H, W] : {std::pair{150, 150}, std::pair{76, 150}, std::pair{150, 113}}) {
    CAPTURE(H);
    CAPTURE(W);
    int flips = 0;
    const int draws = 2000;
    for (int i = 0; i < draws; ++i) {
      const cpu::ViewParams v = random_view(H, W, 1234, 3, i, opt);
      // Integer corners, inside the image.
      CHECK(v.x0 == std::floor(v.x0));
      CHECK(v.w == std::floor(v.w));
      CHECK(v.x0 >= 0.f);
      CHECK(v.y0 >= 0.f);
      CHECK(v.w >= 1.f);
      CHECK(v.h >= 1.f);
      CHECK(v.x0 + v.w <= float(W));
      CHECK(v.y0 + v.h <= float(H));
      // Area and aspect within the sampled bounds, up to rounding each side to an integer
      // (w, h = round(sqrt(A*r)), round(sqrt(A/r)): each off by at most 0.5).
      const double area = double(v.w) * v.h, HW = double(H) * W;
      CHECK(area >= opt.scale_min * HW - 0.5 * (v.w + v.h) - 0.25);
      CHECK(area <= opt.scale_max * HW);
      CHECK((v.w + 0.5) / (v.h - 0.5) >= opt.ratio_min);
      CHECK((v.w - 0.5) / (v.h + 0.5) <= opt.ratio_max);
      flips += v.flip;
    }
    // p = 0.5 over 2000 draws: sd = 11; 0.45..0.55 is 4.5 sd.
    CHECK(flips > draws * 45 / 100);
    CHECK(flips < draws * 55 / 100);
  }

  // Reproducible: same (seed, epoch, index) -> same view; change any -> another view.
  auto same = [](const cpu::ViewParams& a, const cpu::ViewParams& b) {
    return a.x0 == b.x0 && a.y0 == b.y0 && a.w == b.w && a.h == b.h && a.flip == b.flip;
  };
  const cpu::ViewParams v = random_view(150, 150, 7, 2, 99);
  CHECK(same(v, random_view(150, 150, 7, 2, 99)));
  int differ_epoch = 0, differ_index = 0, differ_seed = 0;
  for (int i = 0; i < 20; ++i) {
    differ_epoch += !same(random_view(150, 150, 7, i, 99), random_view(150, 150, 7, i + 1, 99));
    differ_index += !same(random_view(150, 150, 7, 2, i), random_view(150, 150, 7, 2, i + 1));
    differ_seed += !same(random_view(150, 150, i, 2, 99), random_view(150, 150, i + 1, 2, 99));
  }
  CHECK(differ_epoch == 20);
  CHECK(differ_index == 20);
  CHECK(differ_seed == 20);

  // A narrower scale range is honoured, and very elongated images take the centre-crop fallback
  // clamped to the largest allowed aspect (torchvision: h = H, w = round(H * 4/3)).
  ViewOptions big;
  big.scale_min = 0.5f;
  for (int i = 0; i < 200; ++i) {
    const cpu::ViewParams b = random_view(150, 150, 1, 0, i, big);
    CHECK(double(b.w) * b.h >= 0.5 * 150 * 150 - 0.5 * (b.w + b.h) - 0.25);
  }
  Rng rng(5);
  const cpu::ViewParams strip = sample_view(10, 400, rng);
  CHECK(strip.h == 10.f);
  CHECK(strip.w == 13.f);
  CHECK(strip.x0 == float((400 - 13) / 2));
  CHECK(strip.y0 == 0.f);

  const cpu::ViewParams e = eval_view(76, 150);
  CHECK((e.x0 == 0.f && e.y0 == 0.f && e.w == 150.f && e.h == 76.f && e.flip == 0));
}

TEST_CASE("data: make_batch gives the normalised pixels for the identity view and cpu::augment's for others") {
  // A 3-image cache filled by hand (the cache is plain bytes; no files needed).
  ImageCache cache;
  cache.n = 3;
  cache.h = 5;
  cache.w = 7;
  cache.pixels = pattern(3 * 5, 7, 3);
  cache.labels = {2, 0, 1};
  const std::vector<int> idx = {2, 0};

  const Tensor x = make_batch(cache, idx, eval_views(cache, idx.size()), 5, 7, kImageNetMean, kImageNetStd);
  REQUIRE(x.shape() == Shape{2, 3, 5, 7});
  CHECK(x.dtype() == DType::F32);
  CHECK(x.is_cpu());
  const float* px = x.data<float>();
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 5; ++y)
        for (int xx = 0; xx < 7; ++xx) {
          const float p = cache.image(idx[size_t(b)])[(y * 7 + xx) * 3 + c];
          // Exact: the identity view samples pixel centres (see test_augment.cpp).
          CHECK(px[((b * 3 + c) * 5 + y) * 7 + xx] == (p / 255.f - kImageNetMean[c]) / kImageNetStd[c]);
        }

  // Random views (a resize to 4x6 included) equal cpu::augment on the same image and view.
  const std::vector<cpu::ViewParams> views = random_views(cache, idx, 11, 0);
  const Tensor r = make_batch(cache, idx, views, 4, 6, kImageNetMean, kImageNetStd);
  REQUIRE(r.shape() == Shape{2, 3, 4, 6});
  for (int b = 0; b < 2; ++b) {
    std::vector<float> want(3 * 4 * 6);
    cpu::augment(want.data(), cache.image(idx[size_t(b)]), &views[size_t(b)], 1, 5, 7, 4, 6, kImageNetMean,
                 kImageNetStd);
    CHECK(std::equal(want.begin(), want.end(), r.data<float>() + b * 3 * 4 * 6));
  }

  const Tensor y = batch_labels(cache, idx);
  CHECK(y.dtype() == DType::I32);
  CHECK(y.to_vector() == std::vector<double>{1, 2});

  const std::vector<int> out_of_range = {3}, two = {0, 1};
  CHECK_THROWS_AS(make_batch(cache, out_of_range, eval_views(cache, 1), 5, 7, kImageNetMean, kImageNetStd), Error);
  CHECK_THROWS_AS(make_batch(cache, two, eval_views(cache, 1), 5, 7, kImageNetMean, kImageNetStd), Error);
  if (!cuda_available()) {
    // No silent CPU fallback: asking for a CUDA batch without CUDA is a user error.
    CHECK(catch_error([&] { make_batch(cache, idx, views, 4, 6, kImageNetMean, kImageNetStd, Device::CUDA); })
              .user_error());
  }
}

}  // TEST_SUITE("ops")
