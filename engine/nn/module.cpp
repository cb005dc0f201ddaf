// module.cpp: name registry, mode and device of a module tree.
#include "engine/nn/module.h"

namespace cudistill {

Tensor& Module::register_parameter(const std::string& name, Tensor t) {
  if (!t.requires_grad()) t.set_requires_grad(true);
  params_.emplace_back(name, std::make_unique<Tensor>(std::move(t)));
  return *params_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, std::make_unique<Tensor>(std::move(t)));
  return *buffers_.back().second;
}

void Module::collect(const std::string& prefix, bool with_buffers, std::vector<std::pair<std::string, Tensor*>>& out) {
  for (auto& [n, t] : params_) out.emplace_back(prefix + n, t.get());
  if (with_buffers)
    for (auto& [n, t] : buffers_) out.emplace_back(prefix + n, t.get());
  for (auto& [n, c] : children_) c->collect(prefix + n + ".", with_buffers, out);
}

std::vector<std::pair<std::string, Tensor*>> Module::named_parameters() {
  std::vector<std::pair<std::string, Tensor*>> out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<std::pair<std::string, Tensor*>> named;
  const_cast<Module*>(this)->collect("", false, named);
  std::vector<Tensor> out;
  for (auto& [n, t] : named) out.push_back(*t);
  return out;
}

std::map<std::string, Tensor*> Module::state() {
  std::vector<std::pair<std::string, Tensor*>> named;
  collect("", true, named);
  std::map<std::string, Tensor*> out;
  for (auto& [n, t] : named) {
    ENGINE_CHECK(out.emplace(n, t).second, "two tensors of a module share the name '", n, "'");
  }
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& t : parameters()) n += t.numel();
  return n;
}

int64_t Module::state_bytes() {
  int64_t n = 0;
  for (auto& [name, t] : state()) n += t->numel() * int64_t(dtype_size(t->dtype()));
  return n;
}

void Module::apply(const std::function<void(Module&)>& f) {
  f(*this);
  for (auto& [n, c] : children_) c->apply(f);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::to(Device device) {
  std::vector<std::pair<std::string, Tensor*>> named;
  collect("", true, named);
  for (auto& [n, t] : named) {
    const bool rg = t->requires_grad();
    Tensor moved = t->detach().to(device);
    if (rg) moved.set_requires_grad(true);
    *t = moved;
  }
}

void Module::set_requires_grad(bool on) {
  for (auto& [n, t] : named_parameters()) {
    t->zero_grad();
    t->impl()->requires_grad = on;  // leaves: flipping the flag is all freezing needs
  }
}

}  // namespace cudistill
