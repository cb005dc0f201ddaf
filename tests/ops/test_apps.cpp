// test_apps.cpp: what apps/eval and apps/predict share (apps/common): repeated flags next to
// cli::Flags, list files, the one-split folder scan, loading a checkpoint from its metadata (a
// student saved here round-trips to the same logits; each broken key is a user error naming it),
// and the central-crop preprocessing of predict. The binaries themselves are checked by hand
// (see the apps' headers); these tests need no data set and no weights.
// Run: ./build/tests/test_ops -tc="apps*"
#include <doctest/doctest.h>

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "apps/common/loaded_model.h"
#include "apps/common/paths.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/checkpoint.h"
#include "models/registry.h"
#include "expect_error.h"
#include "tempdir.h"

using namespace cudistill;

namespace {

using test::TempDir;

using test::user_error_of;

// argv as main() gets it: mutable strings, argv[argc] == nullptr.
struct Argv {
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
  int argc;
  explicit Argv(std::vector<std::string> args) : storage(std::move(args)) {
    for (std::string& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
    argc = int(storage.size());
  }
  std::vector<std::string> rest() const { return std::vector<std::string>(ptrs.begin(), ptrs.begin() + argc); }
};

std::map<std::string, std::string> student_meta() {
  return {{"arch", "student"},   {"classes", "[\"cat\", \"dog\", \"eel\"]"},
          {"input_size", "32"},  {"mean", "[0.5, 0.25, 0.125]"},
          {"std", "[0.5, 1, 2]"}, {"source", "test_apps sha256:00"},
          {"width", "0.5"}};
}

}  // namespace

TEST_SUITE("ops") {

TEST_CASE("apps: repeated_flag takes every occurrence out of argv, the rest parses as usual") {
  Argv a({"predict", "--image", "a.jpg", "--topk", "5", "--image=b c.jpg", "--checkpoint", "m.safetensors",
          "--image", "d.png"});
  CHECK(cli::repeated_flag(a.argc, a.ptrs.data(), "image") == std::vector<std::string>{"a.jpg", "b c.jpg", "d.png"});
  CHECK(cli::repeated_flag(a.argc, a.ptrs.data(), "checkpoint") == std::vector<std::string>{"m.safetensors"});
  CHECK(a.rest() == std::vector<std::string>{"predict", "--topk", "5"});
  CHECK(a.ptrs[size_t(a.argc)] == nullptr);
  cli::Flags flags("predict", "test");
  flags.add("topk", "3", "k");
  REQUIRE(flags.parse(a.argc, a.ptrs.data()));
  CHECK(flags.integer("topk") == 5);
  // Absent: nothing taken, argv unchanged; a prefix of another flag's name is not a match.
  Argv b({"predict", "--images", "x"});
  CHECK(cli::repeated_flag(b.argc, b.ptrs.data(), "image").empty());
  CHECK(b.argc == 3);

  Argv c({"predict", "--topk", "1", "--image"});
  CHECK(user_error_of([&] { cli::repeated_flag(c.argc, c.ptrs.data(), "image"); }).find("--image needs a value") !=
        std::string::npos);
}

TEST_CASE("apps: read_path_list trims lines and skips blanks and comments") {
  TempDir d;
  d.touch("list.txt", "a.jpg\r\n\n  # a comment\n  b c.png  \n\t\nlast.bmp");
  CHECK(cli::read_path_list(d.file("list.txt")) == std::vector<std::string>{"a.jpg", "b c.png", "last.bmp"});
  CHECK(user_error_of([&] { cli::read_path_list(d.file("missing.txt")); }).find("missing.txt") != std::string::npos);
}

TEST_CASE("apps: scan_split finds ROOT/<split>, else ROOT itself, with the folder scanner's file rules") {
  TempDir d;
  // ROOT/test/<class>: sorted classes, images only, hidden entries and sub-folders skipped.
  d.touch("ds/test/zebra/2.JPG");
  d.touch("ds/test/zebra/1.png");
  d.touch("ds/test/ant/a.bmp");
  d.touch("ds/test/ant/notes.txt");
  d.touch("ds/test/ant/.hidden.jpg");
  d.touch("ds/test/ant/nested/deep.jpg");
  d.touch("ds/test/.cache/x.jpg");
  d.touch("ds/train/ant/t.jpg");
  cli::ClassFolders s = cli::scan_split(d.file("ds"), "test");
  CHECK(s.dir == d.file("ds/test"));
  CHECK(s.classes == std::vector<std::string>{"ant", "zebra"});
  CHECK(s.files.paths == std::vector<std::string>{d.file("ds/test/ant/a.bmp"), d.file("ds/test/zebra/1.png"),
                                                  d.file("ds/test/zebra/2.JPG")});
  CHECK(s.files.labels == std::vector<int32_t>{0, 1, 1});
  CHECK(cli::scan_split(d.file("ds"), "train").files.size() == 1);

  // A plain folder of class folders (no ROOT/test): ROOT itself.
  d.touch("plain/b/x.jpg");
  d.touch("plain/a/y.jpeg");
  s = cli::scan_split(d.file("plain"), "test");
  CHECK(s.dir == d.file("plain"));
  CHECK(s.classes == std::vector<std::string>{"a", "b"});

  // Intel's archive layout.
  d.touch("intel/seg_test/seg_test/sea/1.jpg");
  CHECK(cli::scan_split(d.file("intel"), "test").dir == d.file("intel/seg_test/seg_test"));

  CHECK(user_error_of([&] { cli::scan_split(d.file("nope"), "test"); }).find("does not exist") != std::string::npos);
  d.touch("empty/k/readme.txt");
  CHECK(user_error_of([&] { cli::scan_split(d.file("empty"), "test"); }).find("no images") != std::string::npos);
}

TEST_CASE("apps: load_model rebuilds a saved student from its metadata, with the same logits") {
  TempDir d;
  ModelSpec spec;
  spec.arch = "student";
  spec.num_classes = 3;
  spec.width = 0.5;
  spec.seed = 7;
  ModulePtr original = make_model(spec);
  original->eval();
  save_checkpoint(*original, d.file("student.safetensors"), student_meta());

  cli::LoadedModel m = cli::load_model(d.file("student.safetensors"), Device::CPU);
  CHECK(m.arch == "student");
  CHECK(m.classes == std::vector<std::string>{"cat", "dog", "eel"});
  CHECK(m.input_size == 32);
  CHECK(m.mean[0] == 0.5f);
  CHECK(m.mean[2] == 0.125f);
  CHECK(m.std[2] == 2.0f);
  CHECK(m.source == "test_apps sha256:00");
  CHECK_FALSE(m.model->training());
  CHECK(m.model->num_parameters() == original->num_parameters());

  Rng rng(3);
  const Tensor x = Tensor::randn({2, 3, 32, 32}, rng);
  NoGrad no_grad;
  const std::vector<double> a = original->forward(x).to_vector(), b = m.model->forward(x).to_vector();
  REQUIRE(a.size() == 6);
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);  // same weights, same ops: bit-identical
}

TEST_CASE("apps: load_model names the broken metadata key or the missing file") {
  TempDir d;
  ModelSpec spec;
  spec.arch = "student";
  spec.num_classes = 3;
  spec.width = 0.5;
  ModulePtr model = make_model(spec);
  auto broken = [&](const std::string& key, const std::string& value) {
    std::map<std::string, std::string> meta = student_meta();
    if (value.empty())
      meta.erase(key);
    else
      meta[key] = value;
    save_checkpoint(*model, d.file("b.safetensors"), meta);
    return user_error_of([&] { cli::load_model(d.file("b.safetensors"), Device::CPU); });
  };
  CHECK(broken("arch", "").find("'arch'") != std::string::npos);
  CHECK(broken("classes", "").find("'classes'") != std::string::npos);
  CHECK(broken("input_size", "big").find("input_size") != std::string::npos);
  CHECK(broken("mean", "[0.5, 0.5]").find("'mean'") != std::string::npos);
  CHECK(broken("std", "[1, 0, 1]").find("'std'") != std::string::npos);
  // 4 names for a 3-way classifier: the loader names the classifier's tensors by shape.
  CHECK(broken("classes", "[\"a\", \"b\", \"c\", \"d\"]").find("fc.weight") != std::string::npos);
  // The multiplier is part of the shape: a default-width student does not fit these tensors.
  CHECK_FALSE(broken("width", "").empty());
  CHECK(user_error_of([&] { cli::load_model(d.file("missing.safetensors"), Device::CPU); }).find("missing.safetensors") !=
        std::string::npos);
  CHECK(user_error_of([&] { cli::parse_device("tpu"); }).find("cpu or cuda") != std::string::npos);
  CHECK(cli::parse_device("cpu") == Device::CPU);
}

TEST_CASE("apps: preprocess_center_crop takes the central square and normalises with the checkpoint's stats") {
  // A 4 x 6 image (h x w) with a distinct value per pixel and channel; the central 4 x 4 square
  // starts at x = 1. Resized to 4 x 4, the sample points fall on pixel centres: an exact copy.
  data::Image img;
  img.h = 4;
  img.w = 6;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x)
      for (int c = 0; c < 3; ++c) img.pixels.push_back(uint8_t(10 * y + x + 100 * c));
  cli::LoadedModel m;
  m.input_size = 4;
  const float mean[3] = {0.5f, 0.25f, 0.125f}, std[3] = {0.5f, 1.f, 2.f};
  for (int c = 0; c < 3; ++c) {
    m.mean[c] = mean[c];
    m.std[c] = std[c];
  }
  const Tensor t = cli::preprocess_center_crop(img, m, Device::CPU);
  REQUIRE(t.shape() == Shape{1, 3, 4, 4});
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) {
        const double p = 10 * y + (x + 1) + 100 * c;
        // float arithmetic in cpu::augment: a few ulps of the normalised value
        CHECK(std::abs(t.at({0, c, y, x}) - (p / 255.0 - mean[c]) / std[c]) < 1e-5);
      }
}

}  // TEST_SUITE
