// layers.h: the standard layers as Modules, with torchvision's parameter names and default
// initialisations (Kaiming-uniform with a = sqrt(5) for conv/linear weights, as PyTorch does).
// Each forward() is one op from engine/ops; nothing else lives here.
#pragma once
#include "engine/nn/module.h"
#include "engine/random.h"

namespace cudistill {

struct Conv2dOptions {
  int in, out, kernel, stride = 1, padding = 0, groups = 1;
  bool bias = false;
};

class Conv2d : public Module {
 public:
  Conv2d(const Conv2dOptions& o, Rng& rng);
  Tensor forward(const Tensor& x) override;
  const Conv2dOptions& options() const { return o_; }
  Tensor& weight() { return *w_; }

 private:
  Conv2dOptions o_;
  Tensor* w_;
  Tensor* b_ = nullptr;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override;
  Tensor forward_relu(const Tensor& x);  // relu(forward(x)) as one fused op (ops.h: batch_norm2d)
  // The weight of a training batch's statistics in the running ones (PyTorch's momentum).
  double momentum() const { return momentum_; }
  void set_momentum(double m) { momentum_ = m; }

 private:
  double eps_, momentum_;
  Tensor *gamma_, *beta_, *mean_, *var_, *count_;
};

class Linear : public Module {
 public:
  Linear(int in, int out, Rng& rng, bool bias = true);
  Tensor forward(const Tensor& x) override;

 private:
  Tensor* w_;
  Tensor* b_ = nullptr;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
};

// Children run in order; named "0", "1", ... like torch.nn.Sequential.
class Sequential : public Module {
 public:
  Sequential& add(std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace cudistill
