// train/ema.h: an exponential moving average of the student's weights (--ema D). After every
// optimizer step each parameter and running statistic of a shadow copy moves a fraction 1 - D of
// the way to the live student's:   shadow = D * shadow + (1 - D) * live.
// Why: the live weights at any step are one sample of a noisy walk around a minimum; the average
// over the last ~1 / (1 - D) steps sits nearer its middle, so it usually scores a little better
// on held-out images and varies less from one epoch to the next. With --ema the distill stage
// validates and keeps the shadow (the student it saves is the average), and logs the live
// student's validation accuracy beside it. The running means and variances of batch norm are
// averaged like the weights (they are statistics of weights that move slowly by then);
// num_batches_tracked, a count, is copied.
// Not here: when to update or what to save (distill.cpp). Tested in tests/ops/test_train_pipeline.cpp
// (-tc="train: ema*").
#pragma once
#include "engine/nn/module.h"

namespace cudistill::train {

// shadow = decay * shadow + (1 - decay) * live, tensor by tensor, by name; decay in [0, 1).
// Both modules must have the same state names and shapes (two students of one configuration).
void ema_update(Module& shadow, Module& live, double decay);

}  // namespace cudistill::train
