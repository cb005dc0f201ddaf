// optim/optim.cpp: the optimizer classes dispatch to kernels/optim.h per parameter.
#include "engine/optim/optim.h"

#include <cmath>

#include "engine/ops/dispatch.h"
#include "kernels/optim.h"

namespace cudistill {

Optimizer::Optimizer(std::vector<Tensor> params, double lr) : params_(std::move(params)), lr_(lr) {
  for (const Tensor& p : params_)
    ENGINE_CHECK(p.defined() && p.is_leaf() && p.is_contiguous(),
                 "optimizer parameters must be contiguous leaf tensors");
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& o) : Optimizer(std::move(params), o.lr), o_(o) {
  ENGINE_CHECK(!o.nesterov || o.momentum > 0, "SGD: nesterov needs momentum > 0");
  buf_.resize(params_.size());
}

void SGD::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const bool first = !buf_[i].defined();
    if (o_.momentum != 0.0 && first) buf_[i] = Tensor::empty(p.shape(), p.dtype(), p.device());
    Tensor& buf = buf_[i];
    dispatch(
        "sgd_step", p,
        [&](auto tag) {
          using T = decltype(tag);
          cpu::sgd_step<T>(p.data<T>(), buf.defined() ? buf.data<T>() : nullptr, g.data<T>(), p.numel(), T(lr_),
                           T(o_.momentum), o_.nesterov, T(o_.weight_decay), first);
        },
        CUDA_PATH(cuda::sgd_step(p.data<float>(), buf.defined() ? buf.data<float>() : nullptr, g.data<float>(),
                                 p.numel(), float(lr_), float(o_.momentum), o_.nesterov, float(o_.weight_decay),
                                 first)));
  }
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& o) : Optimizer(std::move(params), o.lr), o_(o) {
  for (const Tensor& p : params_) {
    m_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    v_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
  }
  t_.assign(params_.size(), 0);
}

void AdamW::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const int64_t t = ++t_[i];
    dispatch(
        "adamw_step", p,
        [&](auto tag) {
          using T = decltype(tag);
          cpu::adamw_step<T>(p.data<T>(), m_[i].data<T>(), v_[i].data<T>(), g.data<T>(), p.numel(), T(lr_),
                             T(o_.beta1), T(o_.beta2), T(o_.eps), T(o_.weight_decay), t);
        },
        CUDA_PATH(cuda::adamw_step(p.data<float>(), m_[i].data<float>(), v_[i].data<float>(), g.data<float>(),
                                   p.numel(), float(lr_), float(o_.beta1), float(o_.beta2), float(o_.eps),
                                   float(o_.weight_decay), t)));
  }
}

double cosine_lr(double base_lr, int64_t step, int64_t total_steps, int64_t warmup_steps, double min_lr) {
  ENGINE_CHECK(total_steps > warmup_steps && warmup_steps >= 0, "cosine_lr: total_steps ", total_steps,
               " must exceed warmup_steps ", warmup_steps);
  if (step < warmup_steps) return base_lr * double(step + 1) / double(warmup_steps);
  if (step >= total_steps) return min_lr;
  const double progress = double(step - warmup_steps) / double(total_steps - warmup_steps);
  return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

double step_lr(double base_lr, int64_t step, int64_t step_size, double gamma) {
  ENGINE_CHECK(step_size > 0, "step_lr: step_size must be positive");
  return base_lr * std::pow(gamma, double(step / step_size));
}

}  // namespace cudistill
