// train/distill.cpp: stage 4. The student trains on replayed views: in epoch e, image i is seen
// through view (e mod K) of soft_labels.bin, the crop box resized to the student's own input
// size, with the master's stored logits as the soft target of kd_loss(T, alpha). --online runs
// the master on the same views in the loop instead (to compare cost per epoch); --no-master trains
// with plain CE on fresh random views (the baseline); --region-targets trains on the baseline's
// fresh views with the KD loss, each view's target the master's class map averaged over its box
// (region_targets.h).
// AdamW or SGD, cosine schedule with linear warm-up, the epoch of best validation accuracy kept as
// student.safetensors; with --ema D, the moving average of the weights is what is validated and
// kept (ema.h). One log line per epoch; after each, distill_state.safetensors, from which
// an interrupted run (or one stopped by --stop-after-epochs) resumes (distill_state.h).
// Not here: the cache itself (soft_labels*.cpp). Tested by the end-to-end case of test_train_pipeline.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/train/distill_state.h"
#include "apps/train/ema.h"
#include "apps/train/student_step.h"
#include "engine/error.h"

namespace cudistill::train {

// --ema: training batches that re-estimate the average's batch-norm statistics each epoch (1024
// images at batch 64: a few percent of an epoch's time).
constexpr int kRecalibrationBatches = 16;

void run_distill(Context& c) {
  const TrainOptions& o = c.o;
  const data::ImageCache& train = c.data.train;
  const int K = int(c.data.classes.size());
  const bool use_master = !o.no_master;
  // The master: its cached logits, or the model itself (--online).
  Net master;
  SoftLabels soft;
  ClassMaps maps;  // --region-targets: the master's logits per feature-map cell
  const SoftLabels* cached = nullptr;
  if (use_master) {
    const std::string mpath = c.dir.file("master.safetensors");
    USER_CHECK(std::ifstream(mpath).good(), "train: ", mpath, " is missing: run the head stage first (or --no-master)");
    master = load_net(mpath, c.device);
    if (o.region_targets) {
      USER_CHECK(!o.online, "train: --region-targets trains on fresh views with the class maps' targets; it does not "
                 "combine with --online");
      maps = class_maps(c, master);
      std::vector<int> first;  // epoch 0's crops of the first 256 images, as the student will see them
      for (int i = 0; i < std::min(256, train.n); ++i) first.push_back(i);
      const StudentBatch probe = fresh_student_batch(c, std::move(first), 0);
      log_region_fidelity(c, master, maps, probe.idx, probe.views);
    } else if (!o.online) {
      std::string why;
      USER_CHECK(read_soft_labels(c.dir.file("soft_labels.bin"), soft_label_key_for(c, master), soft, why),
                 "train: ", c.dir.file("soft_labels.bin"), " is not usable (", why,
                 "): run the soft_labels stage first (or --online)");
      USER_CHECK(soft.images == train.n && soft.classes == K, "train: soft_labels.bin does not match the data set");
      cached = &soft;
    }
  }

  const std::string source = "apps/train " +
                             std::string(use_master ? (o.online ? "distilled online" : "distilled") : "CE baseline") +
                             " in " + c.dir.path();
  Net student = make_student(c, source);
  Net best = make_student(c, source);
  // --ema: the moving average starts as the initial student and is never trained itself.
  Net ema;
  auto start_ema = [&] {
    if (o.ema <= 0) return;
    ema = make_student(c, source);
    copy_matching_state(*ema.model, *student.model);
    ema.model->eval();
  };
  start_ema();
  // Resume from the last finished epoch of an interrupted run of the same settings (distill_state.h).
  const std::string state_path = c.dir.file("distill_state.safetensors");
  const std::string state_key = distill_state_key(c);
  DistillState state;
  std::string why;
  const bool resumed = state.read(state_path, state_key, *student.model, *best.model, ema.model.get(), why);
  if (!resumed && !why.empty()) {
    c.dir.log("distill: %s ignored (%s): starting over", state_path.c_str(), why.c_str());
    student = make_student(c, source);  // a failed read may have loaded part of it
    best = make_student(c, source);
    start_ema();
    state = DistillState();
  }
  Module* const ema_model = ema.model.get();  // null without --ema
  auto opt = make_student_optimizer(o, student.model->parameters());
  if (resumed) state.restore_optimizer(*opt, state_path);
  const int bs = o.batch_size, N = train.n;
  const int64_t epoch_steps = steps_per_epoch(N, bs);
  const int64_t total = epoch_steps * o.epochs;
  // A warm-up as long as the run (1-epoch smoke runs) is shortened: cosine_lr needs total > warmup.
  const int64_t warmup = std::max<int64_t>(0, std::min<int64_t>(epoch_steps * o.warmup_epochs, total - 1));
  char ema_note[80] = "";
  if (ema_model)
    std::snprintf(ema_note, sizeof ema_note, ", moving average of the weights (decay %g) validated and kept", o.ema);
  c.dir.log("distill: student %.2fx%.2f, %lld parameters, %dpx, %s, %d epochs, %s, crops of %.2f-1 of the area%s",
            o.student_width, o.student_depth, (long long)student.model->num_parameters(), o.student_size,
            use_master ? (o.online           ? "online master"
                        : o.region_targets ? "class-map targets over each crop"
                                           : "cached soft labels")
                       : "no master (CE)",
            o.epochs, o.optimizer.c_str(), o.crop_min, ema_note);
  if (resumed)
    c.dir.log("distill: resuming after epoch %d/%d (best val acc %.4f at epoch %d) from %s", state.epochs_done,
              o.epochs, state.best_acc, state.best_epoch, state_path.c_str());
  double t0 = now_seconds();
  int64_t& step = state.step;
  int done_here = 0;
  for (int e = state.epochs_done; e < o.epochs; ++e) {
    const double te = now_seconds();
    std::vector<int> order(static_cast<size_t>(N));
    for (int i = 0; i < N; ++i) order[size_t(i)] = i;
    Rng shuf(uint64_t(o.seed) * 2654435761ULL + uint64_t(e) + 1);
    for (int i = N - 1; i > 0; --i) std::swap(order[size_t(i)], order[shuf.below(uint32_t(i + 1))]);
    const EpochPlan plan = plan_epoch(o, e, cached ? cached->views : o.views);
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    student.model->train();
    for (int b0 = 0; b0 < N; b0 += bs) {
      std::vector<int> idx(order.begin() + b0, order.begin() + std::min(N, b0 + bs));
      if (idx.size() < 2) break;  // batch norm needs two samples
      StudentBatch b = plan.fresh ? fresh_student_batch(c, std::move(idx), e)
                                  : make_student_batch(c, std::move(idx), e, plan.view, cached);
      const Tensor m_logits =
          use_master ? master_logits(c, b, cached, master, o.region_targets ? &maps : nullptr) : Tensor();
      const StepResult r = student_step(c, student, *opt, b, m_logits, cosine_lr(o.lr, step++, total, warmup));
      if (ema_model) ema_update(*ema_model, *student.model, o.ema);
      loss_sum += r.loss * double(b.idx.size());
      const std::vector<int> pred = argmax_rows(r.logits);
      for (size_t i = 0; i < b.idx.size(); ++i) correct += pred[i] == train.labels[size_t(b.idx[i])];
      seen += int64_t(b.idx.size());
    }
    const double train_s = now_seconds() - te;
    state.epoch_s.push_back(train_s);
    auto val_acc = [&](Module& m) {
      return accuracy(predict_classes(m, c.data.val, o.student_size, student.mean, student.std, bs, c.device),
                      c.data.val.labels);
    };
    // The model that is selected: the moving average with --ema, else the student itself. The
    // average's batch norms first get statistics of its own, from this epoch's first batches.
    if (ema_model)
      recalibrate_batch_norm(
          *ema_model,
          [&](int k) {
            const int a = k * bs;
            const StudentBatch rb = fresh_student_batch(
                c, std::vector<int>(order.begin() + a, order.begin() + std::min(N, a + bs)), e);
            return data::make_batch(train, rb.idx, rb.views, o.student_size, o.student_size, student.mean,
                                    student.std, c.device);
          },
          std::max(1, std::min(kRecalibrationBatches, N / bs)));
    Module& judged = ema_model ? *ema_model : *student.model;
    const double va = val_acc(judged);
    if (va > state.best_acc) {
      state.best_acc = va;
      state.best_epoch = e + 1;
      copy_matching_state(*best.model, judged);
    }
    char live[40] = "";
    if (ema_model) std::snprintf(live, sizeof live, " (live weights %.4f)", val_acc(*student.model));
    c.dir.log("distill: epoch %d/%d loss %.4f train acc %.4f val acc %.4f%s %.1f images/s", e + 1, o.epochs,
              seen ? loss_sum / double(seen) : 0.0, seen ? double(correct) / double(seen) : 0.0, va, live,
              double(seen) / train_s);
    state.epochs_done = e + 1;
    const double t1 = now_seconds();
    state.seconds += t1 - t0;
    t0 = t1;
    state.write(state_path, state_key, *student.model, *best.model, ema_model, *opt);
    if (++done_here == o.stop_after_epochs && e + 1 < o.epochs) {
      c.dir.log("distill: stopped after epoch %d/%d (--stop-after-epochs %d); the same command resumes from %s",
                e + 1, o.epochs, o.stop_after_epochs, state_path.c_str());
      return;
    }
  }
  save_net(best, c.dir.file("student.safetensors"));
  std::filesystem::remove(state_path);  // the schedule is done: nothing to resume
  c.dir.log("distill: best val acc %.4f at epoch %d, %.1f s -> %s", state.best_acc, state.best_epoch, state.seconds,
            c.dir.file("student.safetensors").c_str());
  c.dir.record_time("distill", state.seconds);
  // The training part of an epoch (no validation), measured on the real run: to set beside the
  // cost stage's estimate from a few steps.
  if (!state.epoch_s.empty()) c.dir.record_time("distill_epoch_median", median(state.epoch_s));
}

}  // namespace cudistill::train
