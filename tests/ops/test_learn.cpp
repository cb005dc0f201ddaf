// test_learn.cpp: end to end on the CPU, a tiny CNN (conv-BN-ReLU-pool-conv-ReLU-GAP-linear)
// learns generated 12x12 images of horizontal / vertical / diagonal bars with AdamW, first with
// cross-entropy, then with kd_loss against a fixed hand-made master. ~1 s in Release.
// Run: ./build-c/tests/test_ops -tc="learn*"
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/ops.h"
#include "engine/optim/optim.h"

using namespace cudistill;

namespace {
constexpr int kSide = 12, kClasses = 3, kBarLen = 6;
constexpr double kNoise = 0.3;  // stddev of the Gaussian noise over a bar of intensity 1
// Training recipe. Chosen from a sweep over 12 data/model seeds (lr 0.02/0.03/0.05, batch 16/32,
// 30/60 epochs): with these every seed passed every check below with a clear margin.
constexpr double kLr = 0.02;
constexpr int kTrain = 256, kTest = 192, kEpochs = 60, kBatch = 16;

// n images (n, 1, 12, 12): class 0 a horizontal bar, 1 a vertical bar, 2 a diagonal bar, each
// of kBarLen pixels at a random position, plus noise. Every class lights the same number of
// pixels with the same intensity, so no per-image statistic (sum, max) separates them: the
// network has to see the orientation. Classes cycle so that every split is balanced.
struct Data {
  int n = 0;
  std::vector<double> x;  // n * 144, row-major
  std::vector<int> y;
};

Data make_data(int n, uint64_t seed) {
  Rng rng(seed);
  Data d;
  d.n = n;
  d.x.resize(size_t(n) * kSide * kSide);
  d.y.resize(size_t(n));
  for (int i = 0; i < n; ++i) {
    const int cls = i % kClasses;
    double* img = &d.x[size_t(i) * kSide * kSide];
    for (int j = 0; j < kSide * kSide; ++j) img[j] = kNoise * rng.normal();
    const int free_span = kSide - kBarLen + 1;  // start positions that keep the bar inside
    int r = int(rng.below(cls == 0 ? kSide : free_span)), c = int(rng.below(cls == 1 ? kSide : free_span));
    for (int k = 0; k < kBarLen; ++k) {
      const int rr = cls == 0 ? r : r + k, cc = cls == 1 ? c : c + k;
      img[rr * kSide + cc] += 1.0;
    }
    d.y[size_t(i)] = cls;
  }
  return d;
}

// Gathers images idx[lo, hi) into a float32 batch and int32 labels.
void batch_of(const Data& d, const std::vector<int>& idx, size_t lo, size_t hi, Tensor& x, Tensor& y) {
  const size_t px = size_t(kSide) * kSide;
  std::vector<double> xv((hi - lo) * px), yv(hi - lo);
  for (size_t b = lo; b < hi; ++b) {
    std::copy_n(&d.x[size_t(idx[b]) * px], px, &xv[(b - lo) * px]);
    yv[b - lo] = d.y[size_t(idx[b])];
  }
  const int64_t B = int64_t(hi - lo);
  x = Tensor::from_vector(xv, {B, 1, kSide, kSide}, DType::F32);
  y = Tensor::from_vector(yv, {B}, DType::I32);
}

// Kaiming-uniform (ReLU gain): U(-sqrt(6 / fan_in), +sqrt(6 / fan_in)), float32 leaf.
Tensor kaiming(const Shape& shape, int64_t fan_in, Rng& rng) {
  const double bound = std::sqrt(6.0 / double(fan_in));
  Tensor w = Tensor::uniform(shape, rng, -bound, bound, DType::F32);
  w.set_requires_grad(true);
  return w;
}

Tensor leaf_full(const Shape& shape, double v) {
  Tensor t = Tensor::full(shape, v, DType::F32);
  t.set_requires_grad(true);
  return t;
}

// conv3x3(1->8, pad 1, no bias) -> BN -> ReLU -> maxpool 2 -> conv3x3(8->16, pad 1) -> ReLU
// -> global average pool -> linear(16 -> 3)
struct Net {
  static constexpr int C1 = 8, C2 = 16;
  Tensor w1, gamma, beta, run_mean, run_var, w2, b2, wf, bf;

  explicit Net(uint64_t seed) {
    Rng rng(seed);
    w1 = kaiming({C1, 1, 3, 3}, 9, rng);
    gamma = leaf_full({C1}, 1.0);
    beta = leaf_full({C1}, 0.0);
    run_mean = Tensor::zeros({C1}, DType::F32);
    run_var = Tensor::ones({C1}, DType::F32);
    w2 = kaiming({C2, C1, 3, 3}, C1 * 9, rng);
    b2 = leaf_full({C2}, 0.0);
    // the classifier gets PyTorch's nn.Linear bound 1/sqrt(fan_in): small initial logits
    const double bound = 1.0 / std::sqrt(double(C2));
    wf = Tensor::uniform({kClasses, C2}, rng, -bound, bound, DType::F32);
    wf.set_requires_grad(true);
    bf = leaf_full({kClasses}, 0.0);
  }
  std::vector<Tensor> params() const { return {w1, gamma, beta, w2, b2, wf, bf}; }

  Tensor forward(const Tensor& x, bool training) {
    Tensor h = conv2d(x, w1, Tensor(), 1, 1);
    h = relu(batch_norm2d(h, gamma, beta, run_mean, run_var, training));
    h = max_pool2d(h, 2, 2);
    h = relu(conv2d(h, w2, b2, 1, 1));
    return linear(global_avg_pool(h), wf, bf);
  }
};

// (logits, labels) -> scalar loss
using LossFn = std::function<Tensor(const Tensor&, const Tensor&)>;

// Minibatch AdamW, one epoch of linear warm-up then cosine decay (cosine_lr); returns the mean
// training loss of each epoch.
std::vector<double> train(Net& net, const Data& d, const LossFn& loss_fn, int epochs, int batch, uint64_t seed) {
  AdamW opt(net.params(), {kLr, 0.9, 0.999, 1e-8, 1e-4});
  Rng rng(seed);
  std::vector<int> idx(size_t(d.n));
  std::iota(idx.begin(), idx.end(), 0);
  const int steps_per_epoch = (d.n + batch - 1) / batch;
  const int64_t total = int64_t(epochs) * steps_per_epoch;
  int64_t step = 0;
  std::vector<double> epoch_loss;
  for (int e = 0; e < epochs; ++e) {
    for (size_t i = idx.size() - 1; i > 0; --i) std::swap(idx[i], idx[rng.below(uint32_t(i + 1))]);  // Fisher-Yates
    double acc = 0;
    for (size_t lo = 0; lo < idx.size(); lo += size_t(batch)) {
      const size_t hi = std::min(idx.size(), lo + size_t(batch));
      Tensor x, y;
      batch_of(d, idx, lo, hi, x, y);
      opt.set_lr(cosine_lr(kLr, step++, total, steps_per_epoch));
      opt.zero_grad();
      Tensor loss = loss_fn(net.forward(x, /*training=*/true), y);
      loss.backward();
      opt.step();
      acc += loss.item() * double(hi - lo);
    }
    epoch_loss.push_back(acc / d.n);
  }
  return epoch_loss;
}

// Held-out logits in eval mode (running BN statistics), no graph.
std::vector<double> eval_logits(Net& net, const Data& d) {
  NoGrad no_grad;
  std::vector<int> idx(size_t(d.n));
  std::iota(idx.begin(), idx.end(), 0);
  Tensor x, y;
  batch_of(d, idx, 0, idx.size(), x, y);
  return net.forward(x, /*training=*/false).to_vector();
}

double accuracy(const std::vector<double>& logits, const Data& d) {
  int right = 0;
  for (int i = 0; i < d.n; ++i) {
    const double* z = &logits[size_t(i) * kClasses];
    right += int(std::max_element(z, z + kClasses) - z) == d.y[size_t(i)];
  }
  return double(right) / d.n;
}

// The hand-made master for the KD case: logits 6 for the true class, 2 for the "next" class
// (y + 1) % 3, 0 for the other. Its soft targets at T = 4 carry "dark knowledge" (a ranking of
// the wrong classes) that the labels alone do not.
Tensor master_logits(const Tensor& labels) {
  std::vector<double> y = labels.to_vector(), m(y.size() * kClasses, 0.0);
  for (size_t b = 0; b < y.size(); ++b) {
    m[b * kClasses + size_t(y[b])] = 6.0;
    m[b * kClasses + (size_t(y[b]) + 1) % kClasses] = 2.0;
  }
  return Tensor::from_vector(m, {int64_t(y.size()), kClasses}, DType::F32);
}

}  // namespace

TEST_SUITE("ops") {
TEST_CASE("learn: a tiny CNN separates bar orientations (cross-entropy, AdamW)") {
  const Data train_set = make_data(kTrain, 1), test_set = make_data(kTest, 2);
  Net net(3);
  const std::vector<double> losses =
      train(net, train_set, [](const Tensor& s, const Tensor& y) { return cross_entropy(s, y); }, kEpochs, kBatch, 4);
  const double first = losses.front(), last = losses.back();
  CAPTURE(first);
  CAPTURE(last);
  REQUIRE(std::isfinite(last));
  // Sanity on the start: near chance, ln 3 = 1.10 (the first epoch already learns a little).
  CHECK(first > 0.6);
  // The floor is ~0 on this separable task; over 12 seeds the last epoch gave 0.001-0.015.
  // 0.15 is 7x below ln 3, out of reach of a model that ignored orientation.
  CHECK(last < 0.15);
  // Held-out, eval-mode BN (running stats, so they must have been updated in training):
  // observed 98-100% over 12 seeds; chance is 33%.
  const double acc = accuracy(eval_logits(net, test_set), test_set);
  CAPTURE(acc);
  CHECK(acc > 0.95);
}

TEST_CASE("learn: kd_loss (alpha 0.5, T 4) against a fixed master drives the loss down") {
  const Data train_set = make_data(kTrain, 11), test_set = make_data(kTest, 12);
  Net net(13);
  const std::vector<double> losses = train(
      net, train_set,
      [](const Tensor& s, const Tensor& y) { return kd_loss(s, master_logits(y), y, /*T=*/4.0, /*alpha=*/0.5); },
      kEpochs, kBatch, 14);
  const double first = losses.front(), last = losses.back();
  CAPTURE(first);
  CAPTURE(last);
  REQUIRE(std::isfinite(last));
  // At zero logits the loss is 0.5 * 16 * KL(softmax({1.5, .5, 0}) || uniform) + 0.5 * ln 3 = 2.09;
  // a student equal to the master scores 0.5 * CE(master) = 0.5 * ln(1 + e^-4 + e^-6) = 0.010.
  // Over 12 seeds the last epoch gave 0.088-0.122 (the KL term converges slower than CE);
  // 0.25 is 8x below the start and still needs the student to match the soft targets.
  CHECK(first > 0.8);
  CHECK(last < 0.25);
  // Held-out: the student classifies (observed 98-100%), and it learned the master's ranking of
  // the wrong classes (the runner-up logit is (y + 1) % 3; observed 91-98%), which plain
  // cross-entropy would leave to chance (50%).
  const std::vector<double> z = eval_logits(net, test_set);
  const double acc = accuracy(z, test_set);
  int ranked = 0;
  for (int i = 0; i < test_set.n; ++i) {
    const double* zi = &z[size_t(i) * kClasses];
    const int y = test_set.y[size_t(i)], next = (y + 1) % kClasses, other = (y + 2) % kClasses;
    ranked += zi[next] > zi[other];
  }
  const double ranked_frac = double(ranked) / test_set.n;
  CAPTURE(acc);
  CAPTURE(ranked_frac);
  CHECK(acc > 0.95);
  CHECK(ranked_frac > 0.85);
}
}  // TEST_SUITE
