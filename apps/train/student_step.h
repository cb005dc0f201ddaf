// train/student_step.h: one training step of the student, shared by the distill stage (every
// epoch) and the cost stage (which times cached against online steps side by side). A step is:
// the batch's views through make_batch at the student's size, forward, kd_loss against the
// master's logits (or plain CE for the no-master baseline), backward, one optimizer step.
// Where the master's logits come from is the caller's business: master_logits() below reads them
// from the soft-label cache or runs the master on the same views (online).
// Not here: epochs, schedules, selection (distill.cpp). Tested through test_train_pipeline.cpp.
#pragma once
#include <memory>
#include <vector>

#include "apps/train/model_parts.h"
#include "apps/train/region_targets.h"
#include "apps/train/soft_labels.h"
#include "apps/train/stages.h"
#include "engine/data/augment.h"
#include "engine/optim/optim.h"

namespace cudistill::train {

struct StudentBatch {
  std::vector<int> idx;                  // training images (indices into c.data.train)
  std::vector<cpu::ViewParams> views;    // one crop box + flip per image
  int view = 0;                          // which cached view (soft-label replay)
};

// Steps of one epoch over N images in batches of bs: a last batch of one image is dropped
// (batch norm needs two samples), as the distill loop does.
int64_t steps_per_epoch(int N, int bs);

// What epoch e of the distill stage trains on: view (e mod K) of the cache (K = `views`: the
// cache's views, or --views when there is no cache), with the master's logits; with
// --region-targets, fresh views with the class maps' targets. --no-master: never "fresh" in this
// sense (the baseline's batches are fresh anyway).
struct EpochPlan {
  bool fresh = false;
  int view = 0;
};
EpochPlan plan_epoch(const TrainOptions& o, int e, int views);

// The student of this run's options (architecture, width, depth, seed, classes), on c.device.
Net make_student(const Context& c, const std::string& source);
// AdamW or SGD (momentum 0.9, Nesterov) over the student's parameters, from --optimizer/--lr/--wd.
std::unique_ptr<Optimizer> make_student_optimizer(const TrainOptions& o, std::vector<Tensor> params);

// The batch's images seen through the augmentation of this run: a fresh random view for the
// baseline (epoch e), the cached view `view` when distilling from soft_labels.bin, and for online
// distillation the view the cache would hold (so that online and cached see the same crops).
StudentBatch make_student_batch(const Context& c, std::vector<int> idx, int epoch, int view,
                                const SoftLabels* soft);

// The baseline's batch: a fresh random view of every image, keyed by (seed, epoch, image)
// (--no-master, and --region-targets, whose targets come from the class maps).
StudentBatch fresh_student_batch(const Context& c, std::vector<int> idx, int epoch);

// The master's logits for the batch, (B, K) on c.device: the class maps over the batch's boxes
// (--region-targets) when given, else rows of the cache, or (when `soft` is null) the master
// itself run on the same views at its own input size, without gradients (--online).
Tensor master_logits(const Context& c, const StudentBatch& b, const SoftLabels* soft, Net& master,
                     const ClassMaps* regions = nullptr);

// forward + loss + backward + step at learning rate `lr`. `m_logits` undefined: CE baseline.
// Returns the loss (mean over the batch) and the student's logits (detached, on the CPU).
struct StepResult {
  double loss = 0;
  Tensor logits;
};
StepResult student_step(const Context& c, Net& student, Optimizer& opt, const StudentBatch& b,
                        const Tensor& m_logits, double lr);

}  // namespace cudistill::train
