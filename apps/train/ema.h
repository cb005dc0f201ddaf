// train/ema.h: an exponential moving average of the student's weights (--ema D). After every
// optimizer step each parameter of a shadow copy moves a fraction 1 - D of the way to the live
// student's:   shadow = D * shadow + (1 - D) * live.
// Why: the live weights at any step are one sample of a noisy walk around a minimum; the average
// over the last ~1 / (1 - D) steps sits nearer its middle, so it usually scores a little better
// on held-out images and varies less from one epoch to the next. With --ema the distill stage
// validates and keeps the shadow (the student it saves is the average), and logs the live
// student's validation accuracy beside it.
// Batch norm's running statistics are not averaged: they are re-estimated for the shadow's own
// weights before it is used (recalibrate_batch_norm). A first version averaged them like the
// weights, and its shadow (decay 0.998, the 268k student) predicted one class for 12 epochs
// while the live student validated at 85%. The likely reason: a conv in front of a batch norm may
// change its scale freely, so the average of weights that wander is shorter than any of them,
// and statistics measured on the live weights then no longer fit the shadow's activations.
// Not here: when to update or what to save (distill.cpp). Tested in tests/ops/test_train_pipeline.cpp
// (-tc="train: ema*").
#pragma once
#include <functional>

#include "engine/nn/module.h"

namespace cudistill::train {

// shadow's parameters = decay * shadow's + (1 - decay) * live's, by name; buffers untouched;
// decay in [0, 1). Both modules must have the same parameters (two students of one configuration).
void ema_update(Module& shadow, Module& live, double decay);

// Every BatchNorm2d's running mean and variance in m re-estimated from n batches of inputs
// (batch(k), k = 0..n-1): train-mode forwards without gradients, the batch statistics averaged
// with equal weights (as torch.optim.swa_utils.update_bn). Momenta and the train/eval mode are
// restored.
void recalibrate_batch_norm(Module& m, const std::function<Tensor(int)>& batch, int n);

}  // namespace cudistill::train
