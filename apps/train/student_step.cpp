// train/student_step.cpp: see student_step.h.
#include "apps/train/student_step.h"

#include "apps/train/region_targets.h"

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops/ops.h"
#include "models/registry.h"

namespace cudistill::train {

int64_t steps_per_epoch(int N, int bs) { return std::max(1, N / bs + (N % bs >= 2 ? 1 : 0)); }

EpochPlan plan_epoch(const TrainOptions& o, int e, int views) {
  EpochPlan p;
  p.fresh = !o.no_master && o.region_targets;
  p.view = views > 0 ? e % views : 0;
  return p;
}

Net make_student(const Context& c, const std::string& source) {
  const TrainOptions& o = c.o;
  Net student;
  student.arch = "student";
  student.classes = c.data.classes;
  student.input_size = o.student_size;
  student.width = o.student_width;
  student.depth = o.student_depth;
  student.source = source;
  ModelSpec spec;
  spec.arch = "student";
  spec.num_classes = int(c.data.classes.size());
  spec.width = o.student_width;
  spec.depth = o.student_depth;
  spec.seed = uint64_t(o.seed);
  student.model = make_model(spec);
  student.model->to(c.device);
  return student;
}

std::unique_ptr<Optimizer> make_student_optimizer(const TrainOptions& o, std::vector<Tensor> params) {
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

StudentBatch fresh_student_batch(const Context& c, std::vector<int> idx, int epoch) {
  StudentBatch b;
  b.idx = std::move(idx);
  b.views = data::random_views(c.data.train, b.idx, uint64_t(c.o.seed), epoch, c.o.view_options());
  return b;
}

StudentBatch make_student_batch(const Context& c, std::vector<int> idx, int epoch, int view, const SoftLabels* soft) {
  // The baseline sees a fresh view every epoch. Online distillation draws the cache's view v itself.
  if (c.o.no_master) {
    StudentBatch b = fresh_student_batch(c, std::move(idx), epoch);
    b.view = view;
    return b;
  }
  StudentBatch b;
  b.idx = std::move(idx);
  b.view = view;
  if (!soft) {
    b.views = data::random_views(c.data.train, b.idx, uint64_t(c.o.seed), view, c.o.view_options());
    return b;
  }
  for (int i : b.idx) b.views.push_back(soft->view(i, view));
  return b;
}

Tensor master_logits(const Context& c, const StudentBatch& b, const SoftLabels* soft, Net& master,
                     const ClassMaps* regions) {
  const int64_t B = int64_t(b.idx.size());
  if (regions) return region_rows(*regions, b.idx, b.views, c.data.train.h, c.data.train.w, c.device);
  if (soft) {
    Tensor t = Tensor::empty({B, int64_t(soft->classes)});
    for (size_t r = 0; r < b.idx.size(); ++r)
      std::copy(soft->logit(b.idx[r], b.view), soft->logit(b.idx[r], b.view) + soft->classes,
                t.data<float>() + r * size_t(soft->classes));
    return t.to(c.device);
  }
  NoGrad no_grad;
  return master.model->forward(data::make_batch(c.data.train, b.idx, b.views, master.input_size, master.input_size,
                                                master.mean, master.std, c.device));
}

StepResult student_step(const Context& c, Net& student, Optimizer& opt, const StudentBatch& b,
                        const Tensor& m_logits, double lr) {
  Tensor labels = data::batch_labels(c.data.train, b.idx, c.device);
  Tensor x = data::make_batch(c.data.train, b.idx, b.views, student.input_size, student.input_size, student.mean,
                              student.std, c.device);
  Tensor s_logits = student.model->forward(x);
  const Tensor loss =
      m_logits.defined() ? kd_loss(s_logits, m_logits, labels, c.o.T, c.o.alpha) : cross_entropy(s_logits, labels);
  opt.zero_grad();
  loss.backward();
  opt.set_lr(lr);
  opt.step();
  return {loss.item(), s_logits.detach().to(Device::CPU)};
}

}  // namespace cudistill::train
