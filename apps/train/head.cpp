// train/head.cpp: stage 2. A linear head (features -> classes) trained on the cached features
// with AdamW + cross-entropy, the epoch of best validation accuracy kept; then the full master =
// the --master backbone + this head, saved as master.safetensors (input_size = the master size).
// Not here: feature extraction (features.cpp). Tested by the end-to-end case of test_train_pipeline.
#include <algorithm>
#include <cstring>

#include "apps/train/model_parts.h"
#include "apps/train/stages.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/ops/ops.h"
#include "engine/optim/optim.h"
#include "models/registry.h"

namespace cudistill::train {

namespace {
// rows idx of x: (N, D) -> (B, D) on device
Tensor gather_rows(const Tensor& x, const std::vector<int>& idx, Device device) {
  const int64_t D = x.size(1);
  Tensor out = Tensor::empty({int64_t(idx.size()), D});
  for (size_t r = 0; r < idx.size(); ++r)
    std::memcpy(out.data<float>() + r * size_t(D), x.data<float>() + size_t(idx[r]) * size_t(D), size_t(D) * 4);
  return out.to(device);
}

Tensor gather_labels(const Tensor& y, const std::vector<int>& idx, Device device) {
  Tensor out = Tensor::empty({int64_t(idx.size())}, DType::I32);
  for (size_t r = 0; r < idx.size(); ++r) out.data<int32_t>()[r] = y.data<int32_t>()[idx[r]];
  return out.to(device);
}

double head_accuracy(Linear& head, const Tensor& x, const Tensor& y, Device device) {
  NoGrad no_grad;
  if (x.size(0) == 0) return 0.0;
  std::vector<int> all(size_t(x.size(0)));
  for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
  const std::vector<int> pred = argmax_rows(head.forward(gather_rows(x, all, device)).to(Device::CPU));
  return accuracy(pred, std::vector<int32_t>(y.data<int32_t>(), y.data<int32_t>() + y.numel()));
}
}  // namespace

void run_head(Context& c) {
  USER_CHECK(!c.o.master.empty(), "train: the head stage needs --master");
  const double t0 = now_seconds();
  SafetensorsFile f = read_features(c);
  const Tensor xt = f.tensors.at("train.x"), yt = f.tensors.at("train.y");
  const Tensor xv = f.tensors.at("val.x"), yv = f.tensors.at("val.y");
  const int D = int(xt.size(1)), K = int(c.data.classes.size()), N = int(xt.size(0));

  Rng rng(uint64_t(c.o.seed) * 7919 + 17);
  Linear head(D, K, rng), best(D, K, rng);
  head.to(c.device);
  best.to(c.device);
  AdamWOptions ao;
  ao.lr = c.o.head_lr;
  ao.weight_decay = c.o.head_weight_decay;
  AdamW opt(head.parameters(), ao);
  const int bs = c.o.batch_size, steps_per_epoch = std::max(1, (N + bs - 1) / bs);
  const int64_t total = int64_t(steps_per_epoch) * c.o.head_epochs;
  double best_acc = -1.0;
  int best_epoch = 0;
  int64_t step = 0;
  for (int e = 0; e < c.o.head_epochs; ++e) {
    std::vector<int> order(static_cast<size_t>(N));
    for (int i = 0; i < N; ++i) order[size_t(i)] = i;
    Rng shuf(uint64_t(c.o.seed) * 1000003 + uint64_t(e));
    for (int i = N - 1; i > 0; --i) std::swap(order[size_t(i)], order[shuf.below(uint32_t(i + 1))]);
    double loss_sum = 0;
    for (int b0 = 0; b0 < N; b0 += bs) {
      std::vector<int> idx(order.begin() + b0, order.begin() + std::min(N, b0 + bs));
      Tensor loss = cross_entropy(head.forward(gather_rows(xt, idx, c.device)), gather_labels(yt, idx, c.device));
      opt.zero_grad();
      loss.backward();
      opt.set_lr(cosine_lr(c.o.head_lr, step++, total));
      opt.step();
      loss_sum += loss.item() * double(idx.size());
    }
    const double va = head_accuracy(head, xv, yv, c.device);
    if (va > best_acc) {
      best_acc = va;
      best_epoch = e + 1;
      copy_matching_state(best, head);
    }
    if (e == 0 || e + 1 == c.o.head_epochs || (e + 1) % 10 == 0)
      c.dir.log("head: epoch %d/%d loss %.4f train acc %.4f val acc %.4f", e + 1, c.o.head_epochs, loss_sum / N,
                head_accuracy(head, xt, yt, c.device), va);
  }

  // The full master: the checkpoint's backbone, then the selected head.
  Net orig = load_net(c.o.master, Device::CPU);
  Net master = orig;
  ModelSpec spec;
  spec.arch = orig.arch;
  spec.num_classes = K;
  spec.width = orig.width;
  spec.depth = orig.depth;
  master.model = make_model(spec);
  copy_matching_state(*master.model, *orig.model);
  copy_matching_state(classifier_head(*master.model), best);
  master.classes = c.data.classes;
  master.input_size = c.o.master_size;
  master.source = (orig.source.empty() ? c.o.master : orig.source) + "; head: apps/train on " + c.data.root;
  save_net(master, c.dir.file("master.safetensors"));
  const double dt = now_seconds() - t0;
  c.dir.log("head: best val acc %.4f at epoch %d, %.1f s -> %s", best_acc, best_epoch, dt,
            c.dir.file("master.safetensors").c_str());
  c.dir.record_time("head", dt);
}

}  // namespace cudistill::train
