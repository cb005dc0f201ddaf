// test_train_pipeline.cpp: apps/train's pipeline (the cudistill_train library): the soft-label
// cache format (round trip; a missing, truncated, corrupt or other-key file is refused with its
// reason), the stratified --limit, and an end-to-end run of every stage on a generated data set
// (2 classes of 32x32 PNGs written with stb_image_write into a mkdtemp folder) with a tiny master
// (a student checkpoint saved first): the run directory's files exist and parse, metrics.json has
// every field of docs/DESIGN.md and its accuracies lie in [0, 1]; a corrupted cache is rebuilt;
// --online and --no-master runs work; the cost stage and an eval with a baseline and a reference
// architecture fill their metrics; a distill run stopped and resumed ends bit for bit where an
// uninterrupted one does; the moving average of --ema follows its formula, is what the stage keeps,
// and resumes like the rest. About 10 s on 2 cores. Run: ./build/tests/test_ops -tc="train*"
#include <doctest/doctest.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "expect_error.h"
#include "tempdir.h"
#include "apps/train/data.h"
#include "apps/train/ema.h"
#include "apps/train/model_parts.h"
#include "apps/train/region_targets.h"
#include "apps/train/soft_labels.h"
#include "apps/train/stages.h"
#include "apps/train/student_step.h"
#include "engine/io/file.h"
#include "engine/nn/layers.h"
#include "engine/ops/ops.h"
#include "engine/io/safetensors.h"
#include "engine/io/json.h"
#include "models/registry.h"

using namespace cudistill;
using namespace cudistill::train;
namespace fs = std::filesystem;

namespace {

// Class 0: red-dominant, class 1: blue-dominant, with a per-image pattern so views differ.
void write_image(const fs::path& p, int label, int salt) {
  const int S = 32;
  std::vector<uint8_t> px(size_t(S) * S * 3);
  for (int y = 0; y < S; ++y)
    for (int x = 0; x < S; ++x) {
      const int n = (x * 7 + y * 13 + salt * 29) % 60;
      uint8_t* q = &px[(size_t(y) * S + size_t(x)) * 3];
      q[0] = uint8_t(label == 0 ? 180 + n : 40 + n);
      q[1] = uint8_t(80 + n);
      q[2] = uint8_t(label == 1 ? 180 + n : 40 + n);
    }
  REQUIRE(stbi_write_png(p.string().c_str(), S, S, 3, px.data(), S * 3) != 0);
}

void make_dataset(const fs::path& root, int train_per_class, int test_per_class) {
  for (const char* split : {"train", "test"})
    for (int k = 0; k < 2; ++k) {
      const fs::path dir = root / split / (k == 0 ? "red" : "blue");  // label 0 drawn red-dominant
      fs::create_directories(dir);
      const int n = std::string(split) == "train" ? train_per_class : test_per_class;
      for (int i = 0; i < n; ++i) write_image(dir / ("img" + std::to_string(i) + ".png"), k, i);
    }
}

// The settings every tiny run here shares: the generated data at its native 32 px, batches of 8,
// a quarter-width student, a quarter of each class held out.
TrainOptions tiny_options(const fs::path& root) {
  TrainOptions o;
  o.data = root.string();
  o.device = "cpu";
  o.batch_size = 8;
  o.student_size = 32;
  o.cache_size = 32;
  o.student_width = 0.25;
  o.student_depth = 0.5;
  o.val_fraction = 0.25;
  return o;
}

// Two safetensors files hold the same tensors in the same order, bit for bit; returns x's metadata.
std::map<std::string, std::string> check_same_tensors(const fs::path& x, const fs::path& y) {
  const SafetensorsFile a = read_safetensors(x.string()), b = read_safetensors(y.string());
  REQUIRE(a.order == b.order);
  for (const std::string& name : a.order) {
    CAPTURE(name);
    CHECK(a.tensors.at(name).to_vector() == b.tensors.at(name).to_vector());
  }
  return a.metadata;
}

SoftLabels synthetic_soft_labels() {
  SoftLabels s;
  s.images = 3, s.views = 2, s.classes = 5;
  for (int r = 0; r < 6; ++r) s.view_params.push_back({float(r), 1.5f, 20.0f, 21.0f, r % 2});
  for (int i = 0; i < 30; ++i) s.logits.push_back(0.25f * float(i) - 3.0f);
  return s;
}

}  // namespace

TEST_CASE("train: soft-label cache round trip and rejection of bad files") {
  test::TempDir tmp;
  const std::string path = (tmp.root() / "soft_labels.bin").string();
  const std::string key(64, 'a'), other(64, 'b');
  SoftLabels s = synthetic_soft_labels(), r;
  std::string why;
  CHECK_FALSE(read_soft_labels(path, key, r, why));
  CHECK(why == "missing");
  write_soft_labels(path, key, s);
  REQUIRE(read_soft_labels(path, key, r, why));
  CHECK(r.images == 3);
  CHECK(r.views == 2);
  CHECK(r.classes == 5);
  CHECK(r.logits == s.logits);
  CHECK(r.view(2, 1).x0 == 5.0f);
  CHECK(r.view(2, 1).flip == 1);
  CHECK(r.logit(1, 0)[3] == s.logits[2 * 5 + 3]);

  CHECK_FALSE(read_soft_labels(path, other, r, why));
  CHECK(why.find("key mismatch") != std::string::npos);

  const std::string bytes = read_file(path);
  std::string bad = bytes;
  bad[bad.size() - 3] ^= 0x40;  // one flipped bit in the last logit
  write_file_atomic(path, bad);
  CHECK_FALSE(read_soft_labels(path, key, r, why));
  CHECK(why.find("checksum") != std::string::npos);

  write_file_atomic(path, bytes.substr(0, bytes.size() - 7));  // a partial write
  CHECK_FALSE(read_soft_labels(path, key, r, why));
  CHECK(why.find("size") != std::string::npos);

  write_file_atomic(path, bytes.substr(0, 20));
  CHECK_FALSE(read_soft_labels(path, key, r, why));
  CHECK(why.find("truncated") != std::string::npos);

  bad = bytes;
  bad[0] = 'X';
  write_file_atomic(path, bad);
  CHECK_FALSE(read_soft_labels(path, key, r, why));
  CHECK(why.find("magic") != std::string::npos);

  // The key depends on every input it names.
  SoftLabelKey k1;
  k1.files_sha256 = "f";
  k1.master_sha256 = "m";
  k1.views = 8;
  SoftLabelKey k2 = k1;
  CHECK(k1.hex() == k2.hex());
  k2.views = 4;
  CHECK(k1.hex() != k2.hex());
  k2 = k1;
  k2.master_size = 224;
  CHECK(k1.hex() != k2.hex());
  k2 = k1;
  k2.aug.flip_p = 0.0f;
  CHECK(k1.hex() != k2.hex());
  CHECK(k1.hex().size() == 64);
}

TEST_CASE("train: --limit keeps a stratified, ordered subset") {
  data::FileList f;
  for (int i = 0; i < 10; ++i) {
    f.paths.push_back("p" + std::to_string(i));
    f.labels.push_back(i < 7 ? 0 : 1);
  }
  data::FileList l = limit_stratified(f, 2, 4);
  REQUIRE(l.size() == 4);
  CHECK(l.paths == std::vector<std::string>{"p0", "p1", "p7", "p8"});
  CHECK(limit_stratified(f, 2, 0).size() == 10);
  CHECK(limit_stratified(f, 2, 50).size() == 10);
}

TEST_CASE("train: which view each kind of student sees") {
  test::TempDir tmp;
  TrainOptions o;
  o.views = 3;
  o.seed = 5;
  Context c{o, RunDir((tmp.root() / "run").string()), {}, Device::CPU};
  c.data.train.n = 4;
  c.data.train.h = c.data.train.w = 40;
  const data::ViewOptions aug = o.view_options();
  auto same = [](const cpu::ViewParams& a, const cpu::ViewParams& b) {
    return a.x0 == b.x0 && a.y0 == b.y0 && a.w == b.w && a.h == b.h && a.flip == b.flip;
  };
  // Online distillation: the view the cache would hold (epoch 7 -> view 7 mod 3 = 1).
  StudentBatch b = make_student_batch(c, {2, 3}, 7, 1, nullptr);
  CHECK(same(b.views[0], data::random_view(40, 40, 5, 1, 2, aug)));
  // Replay from the cache: the stored view v of each image.
  SoftLabels s;
  s.images = 4;
  s.views = 3;
  s.classes = 2;
  for (int i = 0; i < 12; ++i) s.view_params.push_back(cpu::ViewParams{float(i), 1.f, 10.f, 12.f, i % 2});
  s.logits.assign(24, 0.f);
  b = make_student_batch(c, {2, 3}, 7, 1, &s);
  CHECK(same(b.views[0], s.view(2, 1)));
  CHECK(same(b.views[1], s.view(3, 1)));
  // The baseline: a fresh view every epoch, not the cache's.
  c.o.no_master = true;
  b = make_student_batch(c, {2, 3}, 7, 1, nullptr);
  CHECK(same(b.views[1], data::random_view(40, 40, 5, 7, 3, aug)));
  CHECK_FALSE(same(b.views[1], data::random_view(40, 40, 5, 1, 3, aug)));
  // A fresh batch (--region-targets) is the baseline's view of that epoch.
  b = fresh_student_batch(c, {2, 3}, 7);
  CHECK(same(b.views[1], data::random_view(40, 40, 5, 7, 3, aug)));
}

TEST_CASE("train: region targets average the class map over the crop box") {
  // A 30 x 60 image (H x W) on a 2 x 3 grid of 15 x 20 cells; cell (y, x) has logits
  // (10 y + x, -(10 y + x)), so every cell is told apart.
  ClassMaps m;
  m.images = 2;
  m.gh = 2;
  m.gw = 3;
  m.classes = 2;
  for (int i = 0; i < 2; ++i)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) {
        const float v = float(100 * i + 10 * y + x);
        m.v.push_back(v);
        m.v.push_back(-v);
      }
  float z[2];
  // The whole image: the mean of all six cells (for a linear head, the master's own logits).
  region_logits(z, m, 0, cpu::ViewParams{0, 0, 60, 30, 0}, 30, 60);
  CHECK(z[0] == doctest::Approx((0 + 1 + 2 + 10 + 11 + 12) / 6.0));
  CHECK(z[1] == doctest::Approx(-z[0]));
  // A box that is exactly cell (1, 2) of image 1; a flip does not change the box.
  for (int flip : {0, 1}) {
    region_logits(z, m, 1, cpu::ViewParams{40, 15, 20, 15, flip}, 30, 60);
    CHECK(z[0] == doctest::Approx(112.0));
  }
  // A box over a quarter of cell (0, 0) and three quarters of cell (0, 1), by area.
  region_logits(z, m, 0, cpu::ViewParams{15, 0, 20, 15, 0}, 30, 60);
  CHECK(z[0] == doctest::Approx(0.25 * 0 + 0.75 * 1));
  // Rows of a batch, in the batch's order.
  const Tensor t = region_rows(m, {1, 0}, {cpu::ViewParams{40, 15, 20, 15, 0}, cpu::ViewParams{0, 0, 20, 15, 0}}, 30,
                               60, Device::CPU);
  REQUIRE(t.shape() == Shape{2, 2});
  CHECK(t.data<float>()[0] == doctest::Approx(112.0));
  CHECK(t.data<float>()[1] == doctest::Approx(-112.0));
  CHECK(t.data<float>()[2] == doctest::Approx(0.0));  // cell (0, 0) of image 0
  // A box outside the image, or an image past the maps, is an error, not a silent zero.
  CHECK_THROWS(region_logits(z, m, 0, cpu::ViewParams{70, 0, 10, 10, 0}, 30, 60));
  CHECK_THROWS(region_logits(z, m, 2, cpu::ViewParams{0, 0, 10, 10, 0}, 30, 60));
}

TEST_CASE("train: which epochs replay which view") {
  TrainOptions o;
  // Plain replay: view e mod K, every epoch with the master.
  for (int e = 0; e < 7; ++e) {
    CHECK_FALSE(plan_epoch(o, e, 3).fresh);
    CHECK(plan_epoch(o, e, 3).view == e % 3);
  }
  // --region-targets: every epoch fresh (the targets come from the class maps, not the cache).
  o.region_targets = true;
  for (int e = 0; e < 4; ++e) CHECK(plan_epoch(o, e, 3).fresh);
  // The baseline has no master: its batches are fresh by make_student_batch, not by the plan.
  o.no_master = true;
  CHECK_FALSE(plan_epoch(o, 1, 3).fresh);
  CHECK(plan_epoch(o, 0, 0).view == 0);
}

TEST_CASE("train: a distill run stopped and resumed ends with the student of an uninterrupted run") {
  test::TempDir tmp;
  const fs::path root = tmp.root() / "data";
  make_dataset(root, 16, 6);
  TrainOptions o = tiny_options(root);
  o.no_master = true;  // the CE baseline: no master needed, and the same state machinery
  o.stages = parse_stages("distill");
  o.epochs = 3;
  // Straight: epochs 1 and 2 in one call (then stopped, to look at the state); split: one per call.
  TrainOptions one = o, two = o;
  two.run_dir = (tmp.root() / "straight").string();
  two.stop_after_epochs = 2;
  one.run_dir = (tmp.root() / "split").string();
  one.stop_after_epochs = 1;
  const fs::path state_two = fs::path(two.run_dir) / "distill_state.safetensors";
  const fs::path state = fs::path(one.run_dir) / "distill_state.safetensors";
  REQUIRE(run_pipeline(two) == 0);
  REQUIRE(run_pipeline(one) == 0);  // epoch 1, then stops
  CHECK(fs::is_regular_file(state));
  CHECK_FALSE(fs::exists(fs::path(one.run_dir) / "student.safetensors"));  // only a finished schedule writes it
  one.threads = 1;  // not part of the key; the sums of this tiny model do not depend on it
  REQUIRE(run_pipeline(one) == 0);  // epoch 2 from the file

  // After epoch 2 both hold the same weights, batch-norm statistics, best student, moments, step
  // count and best epoch, bit for bit: everything the next epoch needs came through the file.
  const auto meta = check_same_tensors(state_two, state);
  const auto meta_split = read_safetensors(state.string()).metadata;
  CHECK(meta.at("step") == meta_split.at("step"));
  CHECK(meta.at("best_epoch") == meta_split.at("best_epoch"));
  CHECK(meta.at("epochs_done") == "2");
  CHECK(read_safetensors(state.string()).tensors.count("opt.m.0"));  // AdamW's first moment of parameter 0

  // Both to the end: the same student, and no state left behind.
  one.stop_after_epochs = two.stop_after_epochs = 0;
  REQUIRE(run_pipeline(two) == 0);
  REQUIRE(run_pipeline(one) == 0);
  CHECK_FALSE(fs::exists(state));
  check_same_tensors(fs::path(two.run_dir) / "student.safetensors", fs::path(one.run_dir) / "student.safetensors");
  const std::string log = read_file(one.run_dir + "/log.txt");
  CHECK(log.find("resuming after epoch 1/3") != std::string::npos);
  CHECK(log.find("resuming after epoch 2/3") != std::string::npos);
  CHECK(log.find("distill: epoch 1/3") == log.rfind("distill: epoch 1/3"));  // no epoch trained twice
  TrainOptions s = one;

  // A state of other settings, or a damaged one, is not resumed: the run starts over and says why.
  s.stop_after_epochs = 1;
  REQUIRE(run_pipeline(s) == 0);
  REQUIRE(fs::is_regular_file(state));
  TrainOptions other = s;
  other.lr *= 2;
  REQUIRE(run_pipeline(other) == 0);
  CHECK(read_file(s.run_dir + "/log.txt").find("ignored (written with other settings") != std::string::npos);
  write_file_atomic(state.string(), "not a safetensors file");
  REQUIRE(run_pipeline(s) == 0);
  const std::string after = read_file(s.run_dir + "/log.txt");
  CHECK(after.find("distill_state.safetensors ignored (") != after.rfind("distill_state.safetensors ignored ("));
}

TEST_CASE("train: ema_update moves every parameter (1 - decay) of the way to the live student") {
  ModelSpec spec;
  spec.arch = "student";
  spec.num_classes = 3;
  spec.width = 0.25;
  spec.depth = 0.5;
  ModulePtr shadow = make_model(spec);
  spec.seed = 7;  // other initial weights: every parameter differs from the shadow's
  ModulePtr live = make_model(spec);
  // Running statistics as training would leave them (they start as zeros and ones in both).
  for (auto& [name, t] : live->state())
    if (name.find("running_") != std::string::npos) *t = scale(*t, 3.0);
  std::map<std::string, std::vector<double>> before, target;
  for (auto& [name, t] : shadow->state()) before[name] = t->to_vector();
  for (auto& [name, t] : live->state()) target[name] = t->to_vector();

  ema_update(*shadow, *live, 0.75);
  int averaged = 0;
  const auto params = shadow->named_parameters();
  for (auto& [name, t] : shadow->state()) {
    CAPTURE(name);
    const bool is_param = std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
    const std::vector<double> got = t->to_vector();
    for (size_t i = 0; i < got.size(); ++i) {
      const double want = is_param ? 0.75 * before[name][i] + 0.25 * target[name][i] : before[name][i];
      REQUIRE(got[i] == doctest::Approx(want).epsilon(1e-6));
    }
    averaged += is_param;
  }
  CHECK(averaged > 10);  // conv and fc weights, biases, batch-norm gammas and betas
  CHECK(shadow->state().at("fc.weight")->to_vector() != target["fc.weight"]);

  // decay 0 is a plain copy of the parameters; a decay of 1 (never moves) or a student of another
  // shape is refused.
  ema_update(*shadow, *live, 0.0);
  for (auto& [name, t] : shadow->named_parameters()) CHECK(t->to_vector() == target[name]);
  CHECK_THROWS(ema_update(*shadow, *live, 1.0));
  spec.width = 0.5;
  ModulePtr wider = make_model(spec);
  CHECK_THROWS(ema_update(*shadow, *wider, 0.5));
}

TEST_CASE("train: ema's batch-norm recalibration averages the batches' own statistics") {
  // One batch norm over 2 channels and two batches of 2 images of 2x2 pixels.
  BatchNorm2d bn(2);
  Module& m = bn;
  const std::vector<double> x0 = {1, 2, 3, 4, 0, 0, 0, 8, 5, 6, 7, 8, 1, 1, 1, 1};
  const std::vector<double> x1 = {2, 2, 2, 2, 4, 4, 4, 0, 9, 1, 9, 1, 3, 5, 3, 5};
  const Tensor b0 = Tensor::from_vector(x0, {2, 2, 2, 2}), b1 = Tensor::from_vector(x1, {2, 2, 2, 2});
  // Channel c of a batch: 8 values (2 images x 4 pixels); the unbiased variance, as PyTorch keeps.
  auto stats = [](const std::vector<double>& x, int ch, double& mean, double& var) {
    std::vector<double> v;
    for (int n = 0; n < 2; ++n)
      for (int p = 0; p < 4; ++p) v.push_back(x[size_t((n * 2 + ch) * 4 + p)]);
    mean = 0;
    for (double a : v) mean += a / 8;
    var = 0;
    for (double a : v) var += (a - mean) * (a - mean) / 7;
  };
  m.eval();
  recalibrate_batch_norm(m, [&](int k) { return k == 0 ? b0 : b1; }, 2);
  CHECK_FALSE(m.training());               // the mode is restored
  CHECK(bn.momentum() == doctest::Approx(0.1));  // and the momentum
  const std::vector<double> rm = m.state().at("running_mean")->to_vector();
  const std::vector<double> rv = m.state().at("running_var")->to_vector();
  for (int ch = 0; ch < 2; ++ch) {
    double m0, v0, m1, v1;
    stats(x0, ch, m0, v0);
    stats(x1, ch, m1, v1);
    // Equal weights, whatever the statistics were before (zeros and ones here).
    CHECK(rm[size_t(ch)] == doctest::Approx((m0 + m1) / 2).epsilon(1e-5));
    CHECK(rv[size_t(ch)] == doctest::Approx((v0 + v1) / 2).epsilon(1e-5));
  }
}

TEST_CASE("train: ema keeps the moving average as the student and resumes it bit for bit") {
  test::TempDir tmp;
  const fs::path root = tmp.root() / "data";
  make_dataset(root, 16, 6);
  TrainOptions o = tiny_options(root);
  o.no_master = true;
  o.stages = parse_stages("distill");
  o.epochs = 3;
  o.ema = 0.5;
  TrainOptions straight = o, split = o;
  straight.run_dir = (tmp.root() / "straight").string();
  straight.stop_after_epochs = 2;
  split.run_dir = (tmp.root() / "split").string();
  split.stop_after_epochs = 1;
  const std::string split_state = split.run_dir + "/distill_state.safetensors";
  REQUIRE(run_pipeline(split) == 0);  // epoch 1, then stops

  // After epoch 1 the state holds the average beside the live student, and the best student (epoch
  // 1 is always the best so far) is the average, not the live weights.
  const SafetensorsFile st = read_safetensors(split_state);
  REQUIRE(st.tensors.count("ema.fc.weight"));
  CHECK(st.tensors.at("best.fc.weight").to_vector() == st.tensors.at("ema.fc.weight").to_vector());
  CHECK(st.tensors.at("best.fc.weight").to_vector() != st.tensors.at("student.fc.weight").to_vector());

  // Epoch 2 from the file ends where two epochs in one call do: the average too, bit for bit.
  REQUIRE(run_pipeline(split) == 0);
  REQUIRE(run_pipeline(straight) == 0);
  check_same_tensors(straight.run_dir + "/distill_state.safetensors", split_state);
  const std::string log = read_file(split.run_dir + "/log.txt");
  CHECK(log.find("resuming after epoch 1/3") != std::string::npos);
  CHECK(log.find("(live weights 0.") != std::string::npos);
  CHECK(log.find("moving average of the weights (decay 0.5)") != std::string::npos);
}

TEST_CASE("train: end-to-end tiny run writes a complete run directory") {
  test::TempDir tmp;
  const fs::path root = tmp.root() / "data", run = tmp.root() / "run";
  make_dataset(root, 16, 6);

  // The tiny master: a small student checkpoint standing in for a converted ImageNet model.
  Net m;
  m.arch = "student";
  m.classes = {"x", "y", "z"};  // its own classes; the head stage replaces the classifier
  m.input_size = 32;
  m.width = 0.25;
  m.depth = 0.5;
  m.source = "test";
  ModelSpec spec;
  spec.arch = "student";
  spec.num_classes = 3;
  spec.width = m.width;
  spec.depth = m.depth;
  spec.seed = 3;
  m.model = make_model(spec);
  const std::string master_path = (tmp.root() / "master_in.safetensors").string();
  save_net(m, master_path);

  TrainOptions o = tiny_options(root);
  o.run_dir = run.string();
  o.master = master_path;
  o.epochs = 2;
  o.head_epochs = 3;
  o.views = 2;
  o.latency_runs = 3;
  REQUIRE(run_pipeline(o) == 0);

  for (const char* f : {"config.json", "features.safetensors", "master.safetensors", "soft_labels.bin",
                        "student.safetensors", "metrics.json", "report.md", "log.txt"})
    CHECK_MESSAGE(fs::is_regular_file(run / f), f);

  const Json cfg = Json::parse(read_file((run / "config.json").string()));
  CHECK(cfg.at("epochs").as_int() == 2);
  CHECK(cfg.at("master_size").as_int() == 32);  // resolved from the checkpoint
  CHECK(cfg.at("T").as_double() == 4.0);

  const Json mj = Json::parse(read_file((run / "metrics.json").string()));
  const Json& ds = mj.at("dataset");
  for (const char* k : {"root", "classes", "train", "val", "test", "skipped_files"}) CHECK_MESSAGE(ds.contains(k), k);
  CHECK(ds.at("classes").size() == 2);
  CHECK(ds.at("train").as_int() + ds.at("val").as_int() == 32);
  CHECK(ds.at("test").as_int() == 12);
  for (const char* who : {"master", "student"}) {
    const Json& mm = mj.at("models").at(who);
    for (const char* k : {"arch", "params", "size_bytes", "macs", "accuracy", "per_class_accuracy", "latency_ms",
                          "weights_source"})
      CHECK_MESSAGE(mm.contains(k), who, ".", k);
    const double acc = mm.at("accuracy").as_double();
    CHECK(acc >= 0.0);
    CHECK(acc <= 1.0);
    for (const auto& [cls, a] : mm.at("per_class_accuracy").as_object()) {
      CHECK(a.as_double() >= 0.0);
      CHECK(a.as_double() <= 1.0);
    }
    CHECK(mm.at("params").as_int() > 0);
    CHECK(mm.at("macs").as_int() > 0);
    for (const char* k : {"p50", "p95", "batch", "device", "threads"}) CHECK(mm.at("latency_ms").contains(k));
    CHECK(mm.at("latency_ms").at("p95").as_double() >= mm.at("latency_ms").at("p50").as_double());
  }
  for (const char* k : {"params", "size", "latency"}) CHECK(mj.at("ratios").contains(k));
  CHECK(mj.at("agreement").as_double() >= 0.0);
  CHECK(mj.at("agreement").as_double() <= 1.0);
  for (const char* k : {"features", "head", "soft_labels", "distill", "eval"}) CHECK(mj.at("timings_s").contains(k));
  for (const char* k : {"gpu", "cuda", "cudnn", "cpu", "git"}) CHECK(mj.at("environment").contains(k));
  CHECK(read_file((run / "report.md").string()).find("Confusion matrix") != std::string::npos);

  // A distilled run (the cache, the master's sha256 in the state's key) stopped after epoch 1
  // resumes there and writes the student of the uninterrupted run above.
  {
    const std::string first = read_file((run / "student.safetensors").string());
    TrainOptions r = o;
    r.stages = parse_stages("distill");
    r.stop_after_epochs = 1;
    REQUIRE(run_pipeline(r) == 0);
    CHECK(fs::is_regular_file(run / "distill_state.safetensors"));
    r.stop_after_epochs = 0;
    REQUIRE(run_pipeline(r) == 0);
    CHECK(read_file((run / "log.txt").string()).find("resuming after epoch 1/2") != std::string::npos);
    CHECK_FALSE(fs::exists(run / "distill_state.safetensors"));
    CHECK(read_file((run / "student.safetensors").string()) == first);
  }

  // A corrupted cache is detected and rebuilt, byte for byte the same (views and master are seeded).
  const std::string good = read_file((run / "soft_labels.bin").string());
  std::string bad = good;
  bad[bad.size() - 1] ^= 0x01;
  write_file_atomic((run / "soft_labels.bin").string(), bad);
  TrainOptions again = o;
  again.stages = parse_stages("soft_labels");
  REQUIRE(run_pipeline(again) == 0);
  CHECK(read_file((run / "soft_labels.bin").string()) == good);
  CHECK(read_file((run / "log.txt").string()).find("checksum mismatch") != std::string::npos);

  // --region-targets: the class maps, a run on them, and what is refused.
  {
    TrainOptions x = o;
    x.master_size = 32;
    Context c{x, RunDir(run.string()), load_train_data(x), Device::CPU};
    Net master = load_net((run / "master.safetensors").string(), Device::CPU);
    std::vector<float> whole;  // the master's logits on each whole training image
    predict_classes(*master.model, c.data.train, 32, master.mean, master.std, 8, Device::CPU, &whole);
    const int K = int(c.data.classes.size());
    // --region-targets: the class maps over the whole box are the master's whole-image logits
    // (the head is linear, the pool a mean), the maps are cached and reused, and a run trains.
    const ClassMaps maps = class_maps(c, master);
    REQUIRE(maps.images == c.data.train.n);
    REQUIRE(maps.classes == K);
    CHECK(maps.gh * maps.gw > 1);
    std::vector<float> zr(static_cast<size_t>(K));
    for (int i = 0; i < c.data.train.n; ++i) {
      region_logits(zr.data(), maps, i, data::eval_view(c.data.train.h, c.data.train.w), c.data.train.h, c.data.train.w);
      for (int k = 0; k < K; ++k) CHECK(zr[size_t(k)] == doctest::Approx(whole[size_t(i * K + k)]).epsilon(1e-4));
    }
    CHECK(read_file((run / "log.txt").string()).find("class maps of") != std::string::npos);
    CHECK(class_maps(c, master).v == maps.v);
    CHECK(read_file((run / "log.txt").string()).find("class_maps.safetensors reused") != std::string::npos);
    TrainOptions region = o;
    region.stages = parse_stages("distill");
    region.epochs = 2;
    region.region_targets = true;
    REQUIRE(run_pipeline(region) == 0);
    CHECK(read_file((run / "log.txt").string()).find("class-map targets over each crop") != std::string::npos);
    region.online = true;  // a combination that means nothing is refused with a message
    CHECK(test::user_error_of([&] { run_pipeline(region); }).find("--region-targets") != std::string::npos);
    // Features of another split (here: another seed) are refused, not read row for row.
    TrainOptions other = o;
    other.seed = 5;
    Context d{other, RunDir(run.string()), load_train_data(other), Device::CPU};
    CHECK(test::user_error_of([&] { read_features(d); }).find("another train/val split") != std::string::npos);
  }

  // Resuming stages alone: --online distillation and the --no-master baseline.
  TrainOptions online = o;
  online.stages = parse_stages("distill,eval");
  online.online = true;
  online.epochs = 1;
  REQUIRE(run_pipeline(online) == 0);
  TrainOptions base = o;
  base.run_dir = (tmp.root() / "run_baseline").string();
  base.no_master = true;
  base.master.clear();
  base.epochs = 1;
  REQUIRE(run_pipeline(base) == 0);
  const Json bj = Json::parse(read_file((tmp.root() / "run_baseline" / "metrics.json").string()));
  CHECK(bj.at("models").at("master").is_null());
  CHECK(bj.at("models").at("student").at("accuracy").as_double() <= 1.0);

  // The benchmark's last step: the cost stage (cached vs online steps), then one eval of the
  // master, the distilled student, the baseline and a reference architecture side by side.
  TrainOptions bench = o;
  bench.stages = parse_stages("cost,eval");
  bench.cost_steps = 2;
  bench.baseline = (tmp.root() / "run_baseline" / "student.safetensors").string();
  bench.reference = "resnet18";
  REQUIRE(run_pipeline(bench) == 0);
  const Json cj = Json::parse(read_file((run / "metrics.json").string()));
  const Json& models = cj.at("models");
  const Json& ref = models.at("reference");
  ModelSpec rs;
  rs.arch = "resnet18";
  rs.num_classes = 2;
  CHECK(ref.at("params").as_int() == make_model(rs)->num_parameters());
  CHECK(ref.at("accuracy").is_null());
  CHECK(ref.at("input_size").as_int() == 32);
  CHECK(ref.at("latency_ms").at("p50").as_double() > 0.0);
  CHECK(cj.at("ratios_reference").at("params").as_double() ==
        doctest::Approx(double(ref.at("params").as_int()) / double(models.at("student").at("params").as_int())));
  const double st_acc = models.at("student").at("accuracy").as_double();
  const double bl_acc = models.at("baseline").at("accuracy").as_double();
  CHECK(bl_acc == bj.at("models").at("student").at("accuracy").as_double());  // the same checkpoint, rescored
  CHECK(cj.at("distillation").at("student_minus_baseline").as_double() == doctest::Approx(st_acc - bl_acc));
  const Json& cost = cj.at("distill_cost");
  CHECK(cost.at("steps_timed").as_int() == 2);
  CHECK(cost.at("cached_epoch_s").as_double() > 0.0);
  CHECK(cost.at("online_over_cached").as_double() ==
        doctest::Approx(cost.at("online_epoch_s").as_double() / cost.at("cached_epoch_s").as_double()));
  const std::string report = read_file((run / "report.md").string());
  CHECK(report.find("| reference | resnet18 |") != std::string::npos);
  CHECK(report.find("| baseline | student |") != std::string::npos);
  CHECK(report.find("Distillation cost per epoch") != std::string::npos);
  CHECK(test::user_error_of([&] {
          TrainOptions bad = bench;
          bad.baseline = (tmp.root() / "nope.safetensors").string();
          run_pipeline(bad);
        }).find("nope.safetensors") != std::string::npos);

  CHECK_THROWS(parse_stages("features,bogus"));
  CHECK(parse_stages("all").size() == 5);  // cost runs only when named
  TrainOptions crop = o;
  crop.crop_min = 0.0;
  CHECK(test::user_error_of([&] { crop.view_options(); }).find("--crop-min") != std::string::npos);
}
