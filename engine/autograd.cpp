// autograd.cpp: the tape, the topological sort and the backward loop.
#include "engine/autograd.h"

#include <unordered_set>

#include "engine/ops/ops.h"

namespace cudistill {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGrad::NoGrad() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGrad::~NoGrad() { g_grad_enabled = prev_; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

// Destroying a graph the natural way recurses once per op (node -> its input tensor -> that
// tensor's node -> ...), so a chain of some 100k ops, dropped without backward(), would overflow
// the stack. Instead a dying node first detaches every ancestor node that only it keeps alive,
// and those die one at a time from a local list, each detached the same way before it goes.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> doomed;
  auto detach = [&doomed](Node& n) {
    n.backward = nullptr;  // the closure's saved copies go; `inputs` still holds the edges
    for (Tensor& t : n.inputs) {
      TensorImpl* impl = t.impl();
      if (impl && t.impl_ptr().use_count() == 1 && impl->grad_fn && impl->grad_fn.use_count() == 1)
        doomed.push_back(std::move(impl->grad_fn));
    }
    n.inputs.clear();
  };
  detach(*this);
  while (!doomed.empty()) {
    std::shared_ptr<Node> n = std::move(doomed.back());
    doomed.pop_back();
    detach(*n);
  }  // each n dies with no inputs and no closure left: its own destructor has nothing to do
}

void record(Tensor& out, const std::string& name, std::initializer_list<const Tensor*> inputs,
            std::function<void(const Tensor&)> backward) {
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) node->inputs.push_back(*t);
  node->backward = std::move(backward);
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
}

Tensor& grad_slot(const Tensor& t) {
  Tensor& g = t.impl()->grad;
  if (!g.defined()) g = Tensor::zeros(t.shape(), t.dtype(), t.device());
  return g;
}

void run_backward(const Tensor& root, const Tensor& grad_output) {
  ENGINE_CHECK(root.requires_grad(),
               "backward() on a tensor that does not require grad: no input of the graph had "
               "requires_grad set, or it was computed under NoGrad");
  ENGINE_CHECK(grad_output.shape() == root.shape(), "backward(): grad_output shape ",
               shape_str(grad_output.shape()), " differs from the output's ", shape_str(root.shape()));

  // 1. Topological order by iterative depth-first search (ResNet152's graph is ~1000 nodes deep,
  //    too deep to trust recursion with).
  // `order` owns its tensors: releasing a node's edges below must not free a tensor that is
  // still waiting for its turn in the sweep.
  using ImplPtr = std::shared_ptr<TensorImpl>;
  std::vector<ImplPtr> order;  // post-order: inputs before the tensors made from them
  std::unordered_set<TensorImpl*> seen;
  std::vector<std::pair<ImplPtr, size_t>> stack{{root.impl_ptr(), 0}};
  seen.insert(root.impl());
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    Node* node = t->grad_fn.get();
    if (node) {
      ENGINE_CHECK(!node->released, "backward through '", node->name,
                   "' a second time: its saved buffers were freed after the first backward");
    }
    if (node && next < node->inputs.size()) {
      const ImplPtr& in = node->inputs[next++].impl_ptr();
      if (seen.insert(in.get()).second) stack.push_back({in, 0});
    } else {
      order.push_back(t);
      stack.pop_back();
    }
  }

  // 2. Seed and sweep from the output back to the leaves.
  {
    NoGrad guard;  // backward closures call ops; they must not record a graph of their own
    grad_slot(root);
    Tensor& g = root.impl()->grad;
    g = add(g, grad_output.to(g.device()).to(g.dtype()));
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      ImplPtr t = std::move(*it);  // dropped at the end of this iteration: nothing later needs it
      Node* node = t->grad_fn.get();
      if (!node) continue;  // a leaf: its gradient stays in t->grad
      if (t->grad.defined()) node->backward(t->grad);
      // Free what backward no longer needs: the closure's saved tensors and the graph edges,
      // and the gradient of this non-leaf unless retain_grad() asked to keep it.
      node->backward = nullptr;
      node->inputs.clear();
      node->released = true;
      if (!t->retains_grad) t->grad = Tensor();
    }
  }
}

}  // namespace cudistill
