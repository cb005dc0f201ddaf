// autograd.h: reverse-mode automatic differentiation over a recorded graph.
// Every op that sees an input with requires_grad (outside a no_grad scope) attaches a Node to
// its output: the inputs it must send gradients to, and a closure that, given the gradient of
// the output, ACCUMULATES (+=) into each input's gradient buffer (grad_slot). backward() sorts
// the graph topologically, runs the closures from the output back to the leaves, and frees each
// node's saved buffers as soon as it has run. docs/autograd.md walks through an example.
// Tested in tests/ops/test_autograd.cpp.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace cudistill {

struct Node {
  std::string name;                                 // the op, for error messages and printing
  std::vector<Tensor> inputs;                       // the inputs that require grad (graph edges)
  std::function<void(const Tensor& grad_out)> backward;  // accumulates into inputs' grad_slot
  bool released = false;                            // true once backward ran and buffers were freed
  ~Node();  // iterative, not recursive: see autograd.cpp
};

// Gradient recording is on unless a NoGrad scope is alive on this thread.
bool grad_enabled();

// RAII scope: ops inside record nothing (the frozen master runs in one).
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool prev_;
};

// True when an op with these inputs must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);

// Attaches a node to `out` (which then requires grad). `inputs` lists every tensor input; those
// that do not require grad are dropped from the graph.
void record(Tensor& out, const std::string& name, std::initializer_list<const Tensor*> inputs,
            std::function<void(const Tensor&)> backward);

// The gradient buffer of `t`, created zero-filled (contiguous, t's shape/dtype/device) on first
// use. Backward kernels add into it.
Tensor& grad_slot(const Tensor& t);

// The gradient buffer's data for a backward kernel, or null when `t` needs no gradient (the
// kernels skip null outputs).
template <typename T>
T* grad_ptr(const Tensor& t) {
  return t.defined() && t.requires_grad() ? grad_slot(t).data<T>() : nullptr;
}

// Runs the backward pass from `root`, seeding its gradient with `grad_output`.
void run_backward(const Tensor& root, const Tensor& grad_output);

}  // namespace cudistill
