// bench: CPU timings of the engine's two hot paths, the GEMM and a ResNet-style conv stack, and
// (--models) each network's parameters, fp32 size, MACs and batch-1 latency at 150x150.
// Not a test: it asserts nothing, it measures. Each figure is the median of --reps runs after one
// warm-up run, printed with the machine it ran on.
//   ./build/apps/bench [--reps N] [--json out.json] [--quick] [--models [--width W] [--depth D]]
// (--width/--depth: the student's multipliers, so any configuration prints its size and MACs)
// `make bench` runs it with the defaults; the README's table comes from here.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/io/file.h"
#include "engine/io/json.h"
#include "engine/percentile.h"
#include "engine/threads.h"
#include "engine/ops/ops.h"
#include "engine/ops/macs.h"
#include "kernels/gemm.h"
#include "models/registry.h"
#include "apps/bench/student_step.h"

using namespace cudistill;

namespace {

double median_ms(int reps, const std::function<void()>& fn) {
  fn();  // warm-up: first-touch page faults, packing buffers, caches
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto a = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

struct Row {
  std::string name;
  double ms, gflops;
};

// One ResNet basic block: conv3x3-bn-relu-conv3x3-bn, + identity, relu (torchvision's layout).
struct Block {
  Tensor w1, w2, g1, b1, g2, b2, rm1, rv1, rm2, rv2;
  explicit Block(int C, Rng& rng) {
    const double std = std::sqrt(2.0 / (9.0 * C));  // Kaiming normal, fan-in 9C
    w1 = Tensor::randn({C, C, 3, 3}, rng, std).set_requires_grad();
    w2 = Tensor::randn({C, C, 3, 3}, rng, std).set_requires_grad();
    for (Tensor* g : {&g1, &g2}) *g = Tensor::ones({C}).set_requires_grad();
    for (Tensor* b : {&b1, &b2}) *b = Tensor::zeros({C}).set_requires_grad();
    for (Tensor* m : {&rm1, &rm2}) *m = Tensor::zeros({C});
    for (Tensor* v : {&rv1, &rv2}) *v = Tensor::ones({C});
  }
  Tensor forward(const Tensor& x, bool training) {
    Tensor h = relu(batch_norm2d(conv2d(x, w1, Tensor(), 1, 1), g1, b1, rm1, rv1, training));
    h = batch_norm2d(conv2d(h, w2, Tensor(), 1, 1), g2, b2, rm2, rv2, training);
    return relu(add(h, x));
  }
};

// Parameters, fp32 size, MACs and batch-1 CPU latency (p50, p95) of the networks at 150x150.
int bench_models(int reps, double width, double depth) {
  std::printf("%-20s %12s %10s %14s %10s %10s\n", "model (6 classes)", "params", "fp32 MB", "MACs", "p50 ms", "p95 ms");
  for (const char* arch : {"resnet152", "efficientnet_lite2", "efficientnet_lite0", "student"}) {
    ModelSpec spec;
    spec.arch = arch;
    spec.num_classes = 6;
    spec.width = width;  // the student's multipliers; the other networks ignore them
    spec.depth = depth;
    ModulePtr m = make_model(spec);
    m->eval();
    NoGrad ng;
    Rng rng(1);
    Tensor x = Tensor::randn({1, 3, 150, 150}, rng);
    int64_t macs = 0;
    {
      MacCounter c;
      m->forward(x);
      macs = c.total();
    }
    std::vector<double> t;
    for (int i = 0; i < std::max(reps, 5); ++i) {
      auto a = std::chrono::steady_clock::now();
      m->forward(x);
      t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    const double p50 = percentile(t, 50), p95 = percentile(t, 95);
    std::printf("%-20s %12lld %10.2f %14lld %10.2f %10.2f\n", arch, (long long)m->num_parameters(),
                double(m->state_bytes()) / 1e6, (long long)macs, p50, p95);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  use_short_spin_openmp(argc, argv);  // engine/threads.h: why
  int reps = 9;
  bool quick = false, models = false, student_step = false;
  double width = 1.0, depth = 1.0;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--models")) models = true;
    else if (!std::strcmp(argv[i], "--student-step")) student_step = true;
    else if (!std::strcmp(argv[i], "--width") && i + 1 < argc) width = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--depth") && i + 1 < argc) depth = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench [--reps N] [--json out.json] [--quick] [--models | --student-step] [--width W] [--depth D]\n");
      return 2;
    }
  }
  if (quick) reps = 3;
  const int threads = omp_get_max_threads();
  std::printf("cudistill CPU bench: %s, %d OpenMP threads, median of %d runs\n\n", cpu_model().c_str(), threads, reps);
  if (models) return bench_models(reps, width, depth);
  if (student_step) {
    StudentStepOptions so;
    so.width = width;
    so.reps = reps;
    const StudentSpeed r = bench_student_step(so);
    std::printf("cudistill: student width %g (%lld params), batch %d, %dpx, kd_loss + AdamW: step %.2f ms, %.1f "
                "images/s; batch-1 latency %.3f ms\n", width, (long long)r.params, so.batch, so.size, r.step_ms,
                r.images_per_s, r.latency_ms);
    if (!json.empty()) {  // the same fields as benchmarks/torch_student.py writes
      Json j = Json::object();
      j["framework"] = "cudistill";
      j["threads"] = threads;
      j["width"] = width;
      j["params"] = r.params;
      j["batch"] = so.batch;
      j["size"] = so.size;
      j["step_ms"] = r.step_ms;
      j["images_per_s"] = r.images_per_s;
      j["latency_ms"] = r.latency_ms;
      write_file_atomic(json, j.dump(2) + "\n");
    }
    return 0;
  }
  std::vector<Row> rows;

  // --- GEMM: the square case the issue targets, and two im2col shapes from ResNet layers
  struct G { int M, N, K; const char* what; };
  const G gemms[] = {{1024, 1024, 1024, "square"},
                     {64, 5625, 576, "conv 3x3 64->64 at 75x75 (im2col)"},
                     {256, 1444, 2304, "conv 3x3 256->256 at 38x38 (im2col)"}};
  for (const G& g : gemms) {
    Rng rng(1);
    Tensor a = Tensor::randn({g.M, g.K}, rng), b = Tensor::randn({g.K, g.N}, rng), c = Tensor::empty({g.M, g.N});
    double ms = median_ms(reps, [&] {
      cpu::gemm<float>(false, false, g.M, g.N, g.K, 1.f, a.data<float>(), g.K, b.data<float>(), g.N, 0.f,
                       c.data<float>(), g.N);
    });
    char name[128];
    std::snprintf(name, sizeof name, "sgemm %dx%dx%d (%s)", g.M, g.N, g.K, g.what);
    rows.push_back({name, ms, 2.0 * g.M * g.N * g.K / (ms * 1e6)});
  }

  // --- conv stack: two ResNet basic blocks at 64 channels, 56x56 (ResNet18/34 layer1 at 224px)
  const int N = quick ? 2 : 8, C = 64, H = 56;
  Rng rng(2);
  std::vector<Block> blocks;
  for (int i = 0; i < 2; ++i) blocks.emplace_back(C, rng);
  Tensor x = Tensor::randn({N, C, H, H}, rng);
  const double macs = 2 /*blocks*/ * 2 /*convs*/ * double(N) * C * C * 9 * H * H;
  auto run = [&](bool training) {
    Tensor h = x;
    for (Block& b : blocks) h = b.forward(h, training);
    return h;
  };
  double fwd = median_ms(reps, [&] { NoGrad ng; run(false); });
  char name[128];
  std::snprintf(name, sizeof name, "2 ResNet basic blocks, batch %d, 64ch 56x56: forward (eval)", N);
  rows.push_back({name, fwd, 2 * macs / (fwd * 1e6)});
  double fb = median_ms(reps, [&] { sum(run(true)).backward(); });
  std::snprintf(name, sizeof name, "2 ResNet basic blocks, batch %d, 64ch 56x56: forward+backward (train)", N);
  rows.push_back({name, fb, 3 * 2 * macs / (fb * 1e6)});  // backward ~ 2x the forward's FLOPs

  for (const Row& r : rows) std::printf("%-75s %9.2f ms  %7.1f GFLOP/s\n", r.name.c_str(), r.ms, r.gflops);

  if (!json.empty()) {  // temp file + rename: a reader never sees half a file
    const std::string tmp = json + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) { std::fprintf(stderr, "bench: cannot write %s\n", tmp.c_str()); return 2; }
    std::fprintf(f, "{\n  \"cpu\": \"%s\",\n  \"threads\": %d,\n  \"reps\": %d,\n  \"results\": [\n", cpu_model().c_str(),
                 threads, reps);
    for (size_t i = 0; i < rows.size(); ++i)
      std::fprintf(f, "    {\"name\": \"%s\", \"median_ms\": %.4f, \"gflops\": %.2f}%s\n", rows[i].name.c_str(),
                   rows[i].ms, rows[i].gflops, i + 1 < rows.size() ? "," : "");
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
    std::rename(tmp.c_str(), json.c_str());
  }
  return 0;
}
