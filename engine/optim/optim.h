// optim.h: optimizers (SGD with momentum/Nesterov/weight decay, AdamW) and learning-rate
// schedules (cosine with warm-up, step). An optimizer holds the parameters it updates and its
// per-parameter state; a schedule is a plain function of the step, so it is easy to test and
// to print. state()/load_state() carry the per-parameter state through a checkpoint, so that a
// run can stop and resume mid-schedule with the same updates. Tested in tests/ops/test_optim.cpp
// against hand-computed updates, and a resumed run against an uninterrupted one.
#pragma once
#include <map>
#include <string>
#include <utility>
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

  // The per-parameter state (moments, step counts) as named CPU tensors, parameter i's under
  // "<what>.<i>": what a checkpoint needs to resume training with the same updates. load_state
  // puts it back into an optimizer over the same parameters (same order and shapes); a missing
  // name or a wrong shape is a user error naming `source` (the file).
  virtual std::vector<std::pair<std::string, Tensor>> state() const = 0;
  virtual void load_state(const std::map<std::string, Tensor>& s, const std::string& source) = 0;

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
  std::vector<std::pair<std::string, Tensor>> state() const override;  // "buf.<i>" once created
  void load_state(const std::map<std::string, Tensor>& s, const std::string& source) override;

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
  std::vector<std::pair<std::string, Tensor>> state() const override;  // "m.<i>", "v.<i>", "t" (steps)
  void load_state(const std::map<std::string, Tensor>& s, const std::string& source) override;

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
