// layers.cpp: Conv2d, BatchNorm2d, Linear, ReLU, Sequential.
#include "engine/nn/layers.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/ops.h"

namespace cudistill {

namespace {
// PyTorch's default: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
Tensor default_weight(const Shape& shape, int64_t fan_in, Rng& rng) {
  const double bound = 1.0 / std::sqrt(double(fan_in));
  return Tensor::uniform(shape, rng, -bound, bound);
}
}  // namespace

Conv2d::Conv2d(const Conv2dOptions& o, Rng& rng) : o_(o) {
  ENGINE_CHECK(o.in % o.groups == 0 && o.out % o.groups == 0, "Conv2d: ", o.in, " -> ", o.out,
               " channels are not divisible by groups=", o.groups);
  const int64_t fan_in = int64_t(o.in / o.groups) * o.kernel * o.kernel;
  w_ = &register_parameter("weight", default_weight({o.out, o.in / o.groups, o.kernel, o.kernel}, fan_in, rng));
  if (o.bias) b_ = &register_parameter("bias", default_weight({o.out}, fan_in, rng));
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, *w_, b_ ? *b_ : Tensor(), o_.stride, o_.padding, o_.groups);
}

BatchNorm2d::BatchNorm2d(int c, double eps, double momentum) : eps_(eps), momentum_(momentum) {
  gamma_ = &register_parameter("weight", Tensor::ones({c}));
  beta_ = &register_parameter("bias", Tensor::zeros({c}));
  mean_ = &register_buffer("running_mean", Tensor::zeros({c}));
  var_ = &register_buffer("running_var", Tensor::ones({c}));
  // PyTorch keeps this int64 counter; stored as float32 here (it never feeds arithmetic).
  count_ = &register_buffer("num_batches_tracked", Tensor::zeros({}));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  return batch_norm2d(x, *gamma_, *beta_, *mean_, *var_, training(), momentum_, eps_);
}

Tensor BatchNorm2d::forward_relu(const Tensor& x) {
  return batch_norm2d(x, *gamma_, *beta_, *mean_, *var_, training(), momentum_, eps_, true);
}

Linear::Linear(int in, int out, Rng& rng, bool bias) {
  w_ = &register_parameter("weight", default_weight({out, in}, in, rng));
  if (bias) b_ = &register_parameter("bias", default_weight({out}, in, rng));
}

Tensor Linear::forward(const Tensor& x) { return linear(x, *w_, b_ ? *b_ : Tensor()); }

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Sequential& Sequential::add(std::shared_ptr<Module> m) {
  register_module(std::to_string(layers_.size()), m);
  layers_.push_back(std::move(m));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& m : layers_) h = m->forward(h);
  return h;
}

}  // namespace cudistill
