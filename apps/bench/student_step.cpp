// bench/student_step.cpp: `bench --student-step`: the student's training step (forward, kd_loss
// against fixed master logits, backward, AdamW) in images/s, and its batch-1 inference latency,
// on the threads OpenMP was given. The same network, loss, optimizer and shapes as
// benchmarks/torch_student.py, so that the two print comparable lines side by side
// (benchmarks/student_speed.sh runs both and writes benchmarks/results/student-speed-cpu.json).
// Not a test: it measures. Medians of --reps timed runs after warm-up.
#include "apps/bench/student_step.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/ops.h"
#include "engine/optim/optim.h"
#include "models/registry.h"

namespace cudistill {

namespace {
double median(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

StudentSpeed bench_student_step(const StudentStepOptions& o) {
  ModelSpec spec;
  spec.arch = "student";
  spec.num_classes = 6;
  spec.width = o.width;
  ModulePtr m = make_model(spec);
  Rng rng(7);
  const Tensor x = Tensor::randn({o.batch, 3, o.size, o.size}, rng);
  const Tensor t = Tensor::randn({o.batch, 6}, rng, 3.0);  // master logits
  Tensor y = Tensor::empty({o.batch}, DType::I32);
  for (int i = 0; i < o.batch; ++i) y.data<int32_t>()[i] = i % 6;
  AdamWOptions ao;
  ao.lr = 1e-3;
  ao.weight_decay = 0.05;
  AdamW opt(m->parameters(), ao);
  auto step = [&] {
    opt.zero_grad();
    Tensor loss = kd_loss(m->forward(x), t, y, 4.0, 0.9);
    loss.backward();
    opt.step();
  };
  m->train();
  for (int i = 0; i < 3; ++i) step();  // warm-up: buffers, caches, the optimizer's moments
  std::vector<double> steps;
  for (int i = 0; i < o.reps; ++i) {
    const double a = now_ms();
    step();
    steps.push_back(now_ms() - a);
  }
  StudentSpeed r;
  r.params = m->num_parameters();
  r.step_ms = median(steps);
  r.images_per_s = 1000.0 * o.batch / r.step_ms;

  m->eval();
  NoGrad ng;
  const Tensor one = Tensor::randn({1, 3, o.size, o.size}, rng);
  for (int i = 0; i < 10; ++i) m->forward(one);
  std::vector<double> lat;
  for (int i = 0; i < std::max(o.reps, 50); ++i) {
    const double a = now_ms();
    m->forward(one);
    lat.push_back(now_ms() - a);
  }
  r.latency_ms = median(lat);
  return r;
}

}  // namespace cudistill
