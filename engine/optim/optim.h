// optim.h: optimizers (SGD with momentum/Nesterov/weight decay, AdamW) and learning-rate
// schedules (cosine with warm-up, step). An optimizer holds the parameters it updates and its
// per-parameter state; a schedule is a plain function of the step, so it is easy to test and
// to print. Tested in tests/ops/test_optim.cpp against hand-computed updates.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace cudistill {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;
  virtual void step() = 0;          // parameters without a gradient are skipped
  void zero_grad();                 // drops every parameter's gradient
  void set_lr(double lr) { lr_ = lr; }
  double lr() const { return lr_; }
  const std::vector<Tensor>& params() const { return params_; }

 protected:
  std::vector<Tensor> params_;
  double lr_;
};

struct SGDOptions {
  double lr = 0.1, momentum = 0.0, weight_decay = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& o);
  void step() override;

 private:
  SGDOptions o_;
  std::vector<Tensor> buf_;  // momentum buffers, created on the first step
};

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<Tensor> params, const AdamWOptions& o);
  void step() override;

 private:
  AdamWOptions o_;
  std::vector<Tensor> m_, v_;
  std::vector<int64_t> t_;  // steps taken per parameter (PyTorch counts per parameter too)
};

// Cosine decay from base_lr to min_lr over total_steps, after a linear warm-up over warmup_steps
// (step s < w gets base * (s + 1) / w, so that no step has a zero rate):
// lr(s) = min + (base - min) * (1 + cos(pi * (s - w) / (total - w))) / 2.
double cosine_lr(double base_lr, int64_t step, int64_t total_steps, int64_t warmup_steps = 0,
                 double min_lr = 0.0);
// base_lr * gamma^(step / step_size)
double step_lr(double base_lr, int64_t step, int64_t step_size, double gamma = 0.1);

}  // namespace cudistill
