// train/cost.cpp: the "cost" stage (not part of --stages all). It measures what the soft-label
// cache saves: the same student steps on the same batches, once with the master's logits read
// from soft_labels.bin and once with the master run on the batch (online), interleaved step by
// step so that both see the same machine load. Medians of the per-step times, times the steps
// of an epoch, give the per-epoch cost of each; distill_cost.json records them with the ratio,
// and the eval stage copies it into metrics.json. Validation is left out of both (it costs the
// same either way). Two fresh students (one per kind) train from the same initialisation; the
// run's student.safetensors is not touched.
// Not here: training to convergence (distill.cpp). Tested by the end-to-end case of test_train_pipeline.
#include <fstream>

#include "apps/train/student_step.h"
#include "engine/error.h"

namespace cudistill::train {

void run_cost(Context& c) {
  const TrainOptions& o = c.o;
  USER_CHECK(!o.no_master, "train: the cost stage compares two ways of using the master: drop --no-master");
  USER_CHECK(o.cost_steps >= 1, "train: --cost-steps must be at least 1");
  const std::string mpath = c.dir.file("master.safetensors");
  USER_CHECK(std::ifstream(mpath).good(), "train: ", mpath, " is missing: run the head stage first");
  Net master = load_net(mpath, c.device);
  SoftLabels soft;
  std::string why;
  USER_CHECK(read_soft_labels(c.dir.file("soft_labels.bin"), soft_label_key_for(c, master), soft, why), "train: ",
             c.dir.file("soft_labels.bin"), " is not usable (", why, "): run the soft_labels stage first");

  Net cached_student = make_student(c, "cost stage"), online_student = make_student(c, "cost stage");
  auto cached_opt = make_student_optimizer(o, cached_student.model->parameters());
  auto online_opt = make_student_optimizer(o, online_student.model->parameters());
  const int N = c.data.train.n, bs = std::min(o.batch_size, N);
  USER_CHECK(bs >= 2, "train: the cost stage needs at least 2 training images");
  const int64_t epoch_steps = steps_per_epoch(N, bs);
  const int warmup = 2;  // first steps: allocator and cache warm-up, not timed
  std::vector<double> cached_s, online_s;
  for (int s = 0; s < o.cost_steps + warmup; ++s) {
    std::vector<int> idx;
    for (int i = 0; i < bs; ++i) idx.push_back(int((int64_t(s) * bs + i) % N));
    const StudentBatch b = make_student_batch(c, idx, 0, 0, &soft);
    double t = now_seconds();
    student_step(c, cached_student, *cached_opt, b, master_logits(c, b, &soft, master), o.lr);
    const double tc = now_seconds() - t;
    t = now_seconds();
    student_step(c, online_student, *online_opt, b, master_logits(c, b, nullptr, master), o.lr);
    const double to = now_seconds() - t;
    if (s >= warmup) cached_s.push_back(tc), online_s.push_back(to);
  }
  const double cached_epoch = median(cached_s) * double(epoch_steps);
  const double online_epoch = median(online_s) * double(epoch_steps);
  Json j = Json::object();
  j["steps_timed"] = o.cost_steps;
  j["batch_size"] = bs;
  j["steps_per_epoch"] = epoch_steps;
  j["master_size"] = master.input_size;
  j["student_size"] = o.student_size;
  j["cached_step_s_median"] = median(cached_s);
  j["online_step_s_median"] = median(online_s);
  j["cached_epoch_s"] = cached_epoch;
  j["online_epoch_s"] = online_epoch;
  j["online_over_cached"] = online_epoch / cached_epoch;
  c.dir.write_json("distill_cost.json", j);
  c.dir.log("cost: per epoch (%lld steps of %d, median of %d timed steps each): cached %.1f s, online %.1f s: "
            "the cache is %.1fx cheaper",
            (long long)epoch_steps, bs, o.cost_steps, cached_epoch, online_epoch, online_epoch / cached_epoch);
}

}  // namespace cudistill::train
