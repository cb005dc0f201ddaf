// train/ema.cpp: see ema.h.
#include "apps/train/ema.h"

#include <map>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/nn/layers.h"
#include "engine/ops/ops.h"

namespace cudistill::train {

void ema_update(Module& shadow, Module& live, double decay) {
  ENGINE_CHECK(decay >= 0 && decay < 1, "ema_update: decay ", decay, " is not in [0, 1)");
  NoGrad no_grad;  // the average is not part of any graph
  std::map<std::string, Tensor*> src;
  for (auto& [name, t] : live.named_parameters()) src[name] = t;
  for (auto& [name, slot] : shadow.named_parameters()) {
    auto it = src.find(name);
    ENGINE_CHECK(it != src.end() && it->second->shape() == slot->shape(), "ema_update: the live student has no ",
                 name, " of the shadow's shape");
    // Two scaled copies and a sum, so that it runs wherever the tensors are (CPU or CUDA).
    *slot = add(scale(*slot, decay), scale(it->second->detach(), 1.0 - decay));
  }
}

void recalibrate_batch_norm(Module& m, const std::function<Tensor(int)>& batch, int n) {
  ENGINE_CHECK(n > 0, "recalibrate_batch_norm: no batches");
  std::vector<BatchNorm2d*> bns;
  m.apply([&](Module& x) {
    if (auto* bn = dynamic_cast<BatchNorm2d*>(&x)) bns.push_back(bn);
  });
  std::vector<double> momenta;
  for (BatchNorm2d* bn : bns) momenta.push_back(bn->momentum());
  const bool was_training = m.training();
  NoGrad no_grad;
  m.train();
  // Batch k weighs 1/(k + 1) against the running value: after n batches each has weight 1/n, so
  // the starting values do not matter.
  for (int k = 0; k < n; ++k) {
    for (BatchNorm2d* bn : bns) bn->set_momentum(1.0 / double(k + 1));
    m.forward(batch(k));
  }
  for (size_t i = 0; i < bns.size(); ++i) bns[i]->set_momentum(momenta[i]);
  m.train(was_training);
}

}  // namespace cudistill::train
