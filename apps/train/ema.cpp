// train/ema.cpp: see ema.h.
#include "apps/train/ema.h"

#include <string>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops/ops.h"

namespace cudistill::train {

void ema_update(Module& shadow, Module& live, double decay) {
  ENGINE_CHECK(decay >= 0 && decay < 1, "ema_update: decay ", decay, " is not in [0, 1)");
  NoGrad no_grad;  // the average is not part of any graph
  auto src = live.state();
  for (auto& [name, slot] : shadow.state()) {
    auto it = src.find(name);
    ENGINE_CHECK(it != src.end() && it->second->shape() == slot->shape(), "ema_update: the live student has no ",
                 name, " of the shadow's shape");
    const Tensor& w = *it->second;
    const bool count = name.size() >= 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0;
    // Written as two scaled copies and a sum so that it runs wherever the tensors are (CPU or CUDA).
    *slot = count ? w.detach().clone() : add(scale(*slot, decay), scale(w.detach(), 1.0 - decay));
  }
}

}  // namespace cudistill::train
