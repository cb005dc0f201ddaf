// train/distill_state.h: where the distill stage resumes. After every epoch the stage writes
// distill_state.safetensors (atomically): the student being trained, the best student so far,
// the optimizer's moments and step counts, the moving average of the weights (--ema; ema.h), and where the schedule stands (epochs done, step,
// best accuracy and its epoch, the epochs' times). Nothing else needs saving, because everything
// else an epoch uses is a function of (seed, epoch): the shuffle, the views, the learning rate.
// So a run stopped at any moment (Ctrl-C, a killed job, --stop-after-epochs, the end of a
// session) and started again with the same flags goes on from its last finished epoch, and on
// the CPU ends with the same student, bit for bit, as a run that never stopped.
// The state is keyed by every setting that changes the training (not --threads, --stages,
// --run-dir, --device or the eval flags), the data files and the run's master.safetensors: a
// state of other settings, or a file that does not read, is logged and ignored (the run starts
// over). The stage removes it when the schedule is done.
// Tested in tests/ops/test_train_pipeline.cpp (-tc="train: a distill run stopped*").
#pragma once
#include <map>
#include <string>
#include <vector>

#include "apps/train/stages.h"
#include "engine/nn/module.h"
#include "engine/optim/optim.h"

namespace cudistill::train {

// The key of this run's distill state (sha256 of the settings, data files and master).
std::string distill_state_key(const Context& c);

class DistillState {
 public:
  int epochs_done = 0;
  int64_t step = 0;  // optimizer steps taken (the schedule's position)
  double best_acc = -1.0;
  int best_epoch = 0;
  std::vector<double> epoch_s;  // training seconds of each epoch done so far
  double seconds = 0;           // the stage's wall time so far, over every invocation

  // Reads `path` when it exists and belongs to `key`: fills the fields above and loads the
  // student's and the best student's tensors (before the optimizer is built over the student's
  // parameters: loading replaces them). Returns false otherwise, the reason in `why` (empty when
  // there is no file: a fresh start, nothing to report).
  // `ema`: the moving average's module with --ema, else null (the file then has none).
  bool read(const std::string& path, const std::string& key, Module& student, Module& best, Module* ema,
            std::string& why);
  // The optimizer's part of what read() found.
  void restore_optimizer(Optimizer& opt, const std::string& path) const;
  void write(const std::string& path, const std::string& key, Module& student, Module& best, Module* ema,
             const Optimizer& opt) const;

 private:
  std::map<std::string, Tensor> opt_;
};

}  // namespace cudistill::train
