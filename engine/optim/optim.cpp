// optim/optim.cpp: the optimizer classes dispatch to kernels/optim.h per parameter.
#include "engine/optim/optim.h"

#include <cmath>

#include "engine/error.h"
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

namespace {
// s[name] shaped like `like`, copied onto like's device and dtype; absent or misshapen: a user error.
Tensor state_tensor(const std::map<std::string, Tensor>& s, const std::string& name, const Tensor& like,
                    const std::string& source) {
  auto it = s.find(name);
  USER_CHECK(it != s.end(), source, ": optimizer state '", name, "' is missing (a state of another run?)");
  USER_CHECK(it->second.shape() == like.shape(), source, ": optimizer state '", name, "' is ",
             shape_str(it->second.shape()), ", the parameter is ", shape_str(like.shape()));
  return it->second.to(like.dtype()).contiguous().clone().to(like.device());
}
}  // namespace

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

std::vector<std::pair<std::string, Tensor>> SGD::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < buf_.size(); ++i)
    if (buf_[i].defined()) out.emplace_back("buf." + std::to_string(i), buf_[i].to(Device::CPU));
  return out;
}

void SGD::load_state(const std::map<std::string, Tensor>& s, const std::string& source) {
  // A buffer not yet created (no step with a gradient, or no momentum) stays absent: the next
  // step creates it, as in the run that wrote the state.
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string name = "buf." + std::to_string(i);
    buf_[i] = s.count(name) ? state_tensor(s, name, params_[i], source) : Tensor();
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

std::vector<std::pair<std::string, Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("m." + std::to_string(i), m_[i].to(Device::CPU));
    out.emplace_back("v." + std::to_string(i), v_[i].to(Device::CPU));
  }
  // float64 holds step counts exactly up to 2^53.
  out.emplace_back("t", Tensor::from_vector(std::vector<double>(t_.begin(), t_.end()), {int64_t(t_.size())},
                                            DType::F64));
  return out;
}

void AdamW::load_state(const std::map<std::string, Tensor>& s, const std::string& source) {
  for (size_t i = 0; i < params_.size(); ++i) {
    m_[i] = state_tensor(s, "m." + std::to_string(i), params_[i], source);
    v_[i] = state_tensor(s, "v." + std::to_string(i), params_[i], source);
  }
  const Tensor t = state_tensor(s, "t", Tensor::empty({int64_t(t_.size())}, DType::F64), source);
  const std::vector<double> steps = t.to_vector();
  for (size_t i = 0; i < t_.size(); ++i) t_[i] = int64_t(steps[i]);
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
