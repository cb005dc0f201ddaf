// train/distill.cpp: stage 4. The student trains on replayed views: in epoch e, image i is seen
// through view (e mod K) of soft_labels.bin, the crop box resized to the student's own input size,
// with the master's stored logits as the soft target of kd_loss(T, alpha). --online runs the master
// on the same views in the loop instead (to compare cost per epoch); --no-master trains with plain
// CE on fresh random views (the baseline). AdamW or SGD, cosine schedule with linear warm-up, the
// epoch of best validation accuracy kept as student.safetensors. One log line per epoch.
// Not here: the cache itself (soft_labels*.cpp). Tested by the end-to-end case of test_train_pipeline.
#include <fstream>
#include <memory>

#include "apps/train/model_parts.h"
#include "apps/train/soft_labels.h"
#include "apps/train/stages.h"
#include "engine/autograd.h"
#include "engine/data/augment.h"
#include "engine/error.h"
#include "engine/ops/ops.h"
#include "engine/optim/optim.h"
#include "models/registry.h"

namespace cudistill::train {

namespace {
std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& o, std::vector<Tensor> params) {
  if (o.optimizer == "sgd") {
    SGDOptions so;
    so.lr = o.lr;
    so.momentum = 0.9;
    so.nesterov = true;
    so.weight_decay = o.weight_decay;
    return std::make_unique<SGD>(std::move(params), so);
  }
  USER_CHECK(o.optimizer == "adamw", "train: --optimizer must be adamw or sgd, not '", o.optimizer, "'");
  AdamWOptions ao;
  ao.lr = o.lr;
  ao.weight_decay = o.weight_decay;
  return std::make_unique<AdamW>(std::move(params), ao);
}

Tensor logits_tensor(const SoftLabels& s, const std::vector<int>& idx, int view, Device device) {
  Tensor t = Tensor::empty({int64_t(idx.size()), int64_t(s.classes)});
  for (size_t r = 0; r < idx.size(); ++r)
    std::copy(s.logit(idx[r], view), s.logit(idx[r], view) + s.classes, t.data<float>() + r * size_t(s.classes));
  return t.to(device);
}
}  // namespace

void run_distill(Context& c) {
  const TrainOptions& o = c.o;
  const data::ImageCache& train = c.data.train;
  const int K = int(c.data.classes.size());
  const bool use_master = !o.no_master;
  // The master: its cached logits, or the model itself (--online).
  Net master;
  SoftLabels soft;
  if (use_master) {
    const std::string mpath = c.dir.file("master.safetensors");
    USER_CHECK(std::ifstream(mpath).good(), "train: ", mpath, " is missing: run the head stage first (or --no-master)");
    master = load_net(mpath, c.device);
    if (!o.online) {
      std::string why;
      USER_CHECK(read_soft_labels(c.dir.file("soft_labels.bin"), soft_label_key_for(c, master), soft, why),
                 "train: ", c.dir.file("soft_labels.bin"), " is not usable (", why,
                 "): run the soft_labels stage first (or --online)");
      USER_CHECK(soft.images == train.n && soft.classes == K, "train: soft_labels.bin does not match the data set");
    }
  }

  Net student;
  student.arch = "student";
  student.classes = c.data.classes;
  student.input_size = o.student_size;
  student.width = o.student_width;
  student.depth = o.student_depth;
  student.source = "apps/train " + std::string(use_master ? (o.online ? "distilled online" : "distilled") : "CE baseline") +
                   " in " + c.dir.path();
  ModelSpec spec;
  spec.arch = "student";
  spec.num_classes = K;
  spec.width = o.student_width;
  spec.depth = o.student_depth;
  spec.seed = uint64_t(o.seed);
  student.model = make_model(spec);
  student.model->to(c.device);
  ModelSpec best_spec = spec;
  ModulePtr best = make_model(best_spec);

  auto opt = make_optimizer(o, student.model->parameters());
  const int bs = o.batch_size, N = train.n;
  const int64_t steps_per_epoch = std::max(1, N / bs + (N % bs >= 2 ? 1 : 0));
  const int64_t total = steps_per_epoch * o.epochs;
  // A warm-up as long as the run (1-epoch smoke runs) is shortened: cosine_lr needs total > warmup.
  const int64_t warmup = std::max<int64_t>(0, std::min<int64_t>(steps_per_epoch * o.warmup_epochs, total - 1));
  const double alpha = use_master ? o.alpha : 0.0;
  c.dir.log("distill: student %.2fx%.2f, %lld parameters, %dpx, %s, %d epochs, %s", o.student_width, o.student_depth,
            (long long)student.model->num_parameters(), o.student_size,
            use_master ? (o.online ? "online master" : "cached soft labels") : "no master (CE)", o.epochs,
            o.optimizer.c_str());
  const double t0 = now_seconds();
  double best_acc = -1.0;
  int best_epoch = 0;
  int64_t step = 0;
  for (int e = 0; e < o.epochs; ++e) {
    const double te = now_seconds();
    std::vector<int> order(static_cast<size_t>(N));
    for (int i = 0; i < N; ++i) order[size_t(i)] = i;
    Rng shuf(uint64_t(o.seed) * 2654435761ULL + uint64_t(e) + 1);
    for (int i = N - 1; i > 0; --i) std::swap(order[size_t(i)], order[shuf.below(uint32_t(i + 1))]);
    const int view = o.views > 0 ? e % o.views : 0;
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    student.model->train();
    for (int b0 = 0; b0 < N; b0 += bs) {
      std::vector<int> idx(order.begin() + b0, order.begin() + std::min(N, b0 + bs));
      if (idx.size() < 2) break;  // batch norm needs two samples
      std::vector<cpu::ViewParams> views;
      for (int i : idx)
        views.push_back(!use_master ? data::random_view(train.h, train.w, uint64_t(o.seed), e, i)
                        : o.online  ? data::random_view(train.h, train.w, uint64_t(o.seed), view, i)
                                    : soft.view(i, view));
      Tensor labels = data::batch_labels(train, idx, c.device);
      Tensor m_logits;
      if (use_master && o.online) {
        NoGrad no_grad;
        m_logits = master.model->forward(data::make_batch(train, idx, views, master.input_size, master.input_size,
                                                          master.mean, master.std, c.device));
      } else if (use_master) {
        m_logits = logits_tensor(soft, idx, view, c.device);
      }
      Tensor x = data::make_batch(train, idx, views, o.student_size, o.student_size, student.mean, student.std, c.device);
      Tensor s_logits = student.model->forward(x);
      Tensor loss = use_master ? kd_loss(s_logits, m_logits, labels, o.T, alpha) : cross_entropy(s_logits, labels);
      opt->zero_grad();
      loss.backward();
      opt->set_lr(cosine_lr(o.lr, step++, total, warmup));
      opt->step();
      loss_sum += loss.item() * double(idx.size());
      std::vector<double> l = s_logits.detach().to(Device::CPU).to_vector();
      for (size_t r = 0; r < idx.size(); ++r) {
        int b = 0;
        for (int k = 1; k < K; ++k)
          if (l[r * size_t(K) + size_t(k)] > l[r * size_t(K) + size_t(b)]) b = k;
        correct += b == train.labels[size_t(idx[r])];
      }
      seen += int64_t(idx.size());
    }
    const double train_s = now_seconds() - te;
    const double va = accuracy(predict_classes(*student.model, c.data.val, o.student_size, student.mean, student.std,
                                               bs, c.device),
                               c.data.val.labels);
    if (va > best_acc) {
      best_acc = va;
      best_epoch = e + 1;
      copy_matching_state(*best, *student.model);
    }
    c.dir.log("distill: epoch %d/%d loss %.4f train acc %.4f val acc %.4f %.1f images/s", e + 1, o.epochs,
              seen ? loss_sum / double(seen) : 0.0, seen ? double(correct) / double(seen) : 0.0, va,
              double(seen) / train_s);
  }
  student.model = best;
  save_net(student, c.dir.file("student.safetensors"));
  const double dt = now_seconds() - t0;
  c.dir.log("distill: best val acc %.4f at epoch %d, %.1f s -> %s", best_acc, best_epoch, dt,
            c.dir.file("student.safetensors").c_str());
  c.dir.record_time("distill", dt);
}

}  // namespace cudistill::train
