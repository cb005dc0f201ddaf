// module.h: the building block of models: a Module owns named parameters (trained), named
// buffers (running statistics) and named child modules, so that every tensor of a network has a
// dotted torchvision-style name ("layer1.0.conv1.weight") for checkpoints and the converter.
// Not here: any layer arithmetic (engine/ops) or a generic multi-input graph; forward() takes
// one tensor and returns one, which is all CNN classifiers need.
// Tested in tests/ops/test_nn_modules.cpp.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace cudistill {

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  // Every trainable parameter, depth first, in registration order.
  std::vector<Tensor> parameters() const;
  // Parameters and buffers by full dotted name (the state dict). Pointers stay valid for the
  // module's lifetime, so loaders can assign into them.
  std::map<std::string, Tensor*> state();
  std::vector<std::pair<std::string, Tensor*>> named_parameters();
  int64_t num_parameters() const;   // parameter elements (buffers not counted)
  int64_t state_bytes();            // bytes of parameters + buffers, as a checkpoint stores them

  void train(bool on = true);       // this module and all children
  void eval() { train(false); }
  bool training() const { return training_; }
  void to(Device device);           // moves parameters and buffers (keeps requires_grad)
  void set_requires_grad(bool on);  // freeze (false) or unfreeze every parameter
  // f on this module, then on each child's subtree in registration order (to reach layers of a
  // kind, e.g. every BatchNorm2d by dynamic_cast).
  void apply(const std::function<void(Module&)>& f);

 protected:
  Tensor& register_parameter(const std::string& name, Tensor t);
  Tensor& register_buffer(const std::string& name, Tensor t);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, bool with_buffers, std::vector<std::pair<std::string, Tensor*>>& out);

  // unique_ptr: the Tensor handles must not move when more are registered (state() hands out
  // pointers to them).
  std::vector<std::pair<std::string, std::unique_ptr<Tensor>>> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

using ModulePtr = std::shared_ptr<Module>;

}  // namespace cudistill
