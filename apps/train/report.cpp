// train/report.cpp: stage 5. Evaluates the run's master (when master.safetensors exists) and
// student on the test split (whole image at each model's input size), then writes metrics.json
// (DESIGN.md schema, every field) and report.md (accuracy, per-class accuracy, confusion
// matrices, params, size, MACs, batch-1 latency p50/p95 on CPU and, on a cuda run, on the GPU,
// the master/student ratios and the agreement), both atomically.
// Not here: training. Tested by the end-to-end case of test_train_pipeline.cpp (fields, ranges).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "apps/train/model_parts.h"
#include "apps/train/stages.h"
#include "engine/autograd.h"
#include "engine/io/file.h"
#include "engine/ops/macs.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cudistill::train {

namespace {
struct Latency {
  double p50 = 0, p95 = 0;
};

struct ModelEval {
  std::string name, arch, source;
  int input_size = 0;
  int64_t params = 0, size_bytes = 0, macs = 0;
  std::vector<int> pred;
  double accuracy = 0;
  std::vector<double> per_class;
  std::vector<std::vector<int>> confusion;  // [true][predicted]
  Latency cpu;
  std::optional<Latency> gpu;
};

Latency time_batch1(Module& m, int size, Device device, int runs) {
  NoGrad no_grad;
  Tensor x = Tensor::zeros({1, 3, size, size}).to(device);
  for (int i = 0; i < 2; ++i) m.forward(x).to(Device::CPU);  // warm-up (allocator, cuDNN plans)
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, runs); ++i) {
    const double t = now_seconds();
    m.forward(x).to(Device::CPU);  // the copy back waits for the device
    ms.push_back((now_seconds() - t) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  auto q = [&](double p) { return ms[std::min(ms.size() - 1, size_t(p * double(ms.size() - 1) + 0.5))]; };
  return {q(0.5), q(0.95)};
}

ModelEval evaluate(Context& c, const std::string& name, const std::string& path) {
  const int K = int(c.data.classes.size());
  Net net = load_net(path, c.device);
  ModelEval r;
  r.name = name;
  r.arch = net.arch;
  r.source = net.source;
  r.input_size = net.input_size;
  r.params = net.model->num_parameters();
  r.size_bytes = net.model->state_bytes();
  r.pred = predict_classes(*net.model, c.data.test, net.input_size, net.mean, net.std, c.o.batch_size, c.device);
  r.accuracy = accuracy(r.pred, c.data.test.labels);
  r.confusion.assign(size_t(K), std::vector<int>(size_t(K), 0));
  for (size_t i = 0; i < r.pred.size(); ++i) r.confusion[size_t(c.data.test.labels[i])][size_t(r.pred[i])]++;
  for (int k = 0; k < K; ++k) {
    int n = 0;
    for (int v : r.confusion[size_t(k)]) n += v;
    r.per_class.push_back(n ? double(r.confusion[size_t(k)][size_t(k)]) / n : 0.0);
  }
  {
    NoGrad no_grad;
    MacCounter counter;
    net.model->forward(Tensor::zeros({1, 3, net.input_size, net.input_size}).to(c.device));
    r.macs = counter.total();
  }
  if (c.device == Device::CUDA) r.gpu = time_batch1(*net.model, net.input_size, Device::CUDA, c.o.latency_runs);
  Net cpu_net = c.device == Device::CPU ? net : load_net(path, Device::CPU);
  r.cpu = time_batch1(*cpu_net.model, net.input_size, Device::CPU, c.o.latency_runs);
  return r;
}

Json latency_json(const Latency& l, const char* device, int threads) {
  Json j = Json::object();
  j["p50"] = l.p50;
  j["p95"] = l.p95;
  j["batch"] = 1;
  j["device"] = device;
  j["threads"] = threads;
  return j;
}

Json model_json(const ModelEval& m, const std::vector<std::string>& classes, int threads) {
  Json j = Json::object();
  j["arch"] = m.arch;
  j["params"] = m.params;
  j["size_bytes"] = m.size_bytes;
  j["macs"] = m.macs;
  j["accuracy"] = m.accuracy;
  Json pc = Json::object();
  for (size_t k = 0; k < classes.size(); ++k) pc[classes[k]] = m.per_class[k];
  j["per_class_accuracy"] = pc;
  j["latency_ms"] = latency_json(m.cpu, "cpu", threads);
  if (m.gpu) j["latency_ms_gpu"] = latency_json(*m.gpu, "cuda", 1);
  j["weights_source"] = m.source;
  j["input_size"] = m.input_size;
  Json cm = Json::array();
  for (const auto& row : m.confusion) {
    Json r = Json::array();
    for (int v : row) r.push_back(v);
    cm.push_back(r);
  }
  j["confusion"] = cm;
  return j;
}

std::string shell_line(const char* cmd) {
  std::string out;
  if (FILE* p = popen(cmd, "r")) {
    char buf[256];
    if (std::fgets(buf, sizeof buf, p)) out = buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string cpu_name() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

Json environment(Device device) {
  Json j = Json::object();
  const bool cuda = device == Device::CUDA;
  j["gpu"] = cuda ? shell_line("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null") : "none";
  j["cuda"] = cuda ? shell_line("nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null") : "none";
  j["cudnn"] = cuda ? "linked" : "none";
  j["cpu"] = cpu_name();
  j["git"] = shell_line("git rev-parse --short HEAD 2>/dev/null");
  return j;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void confusion_md(std::ostringstream& md, const ModelEval& m, const std::vector<std::string>& classes) {
  md << "\n### Confusion matrix: " << m.name << " (rows: true class, columns: predicted)\n\n| |";
  for (const auto& c : classes) md << " " << c << " |";
  md << "\n|---|";
  for (size_t k = 0; k < classes.size(); ++k) md << "---:|";
  md << "\n";
  for (size_t t = 0; t < classes.size(); ++t) {
    md << "| " << classes[t] << " |";
    for (int v : m.confusion[t]) md << " " << v << " |";
    md << "\n";
  }
}
}  // namespace

void run_eval(Context& c) {
  const double t0 = now_seconds();
  const std::string spath = c.dir.file("student.safetensors"), mpath = c.dir.file("master.safetensors");
  USER_CHECK(std::ifstream(spath).good(), "train: ", spath, " is missing: run the distill stage first");
  int threads = c.o.threads;
#ifdef _OPENMP
  if (threads <= 0) threads = omp_get_max_threads();
#endif
  std::vector<ModelEval> models;
  if (std::ifstream(mpath).good()) models.push_back(evaluate(c, "master", mpath));
  models.push_back(evaluate(c, "student", spath));
  const ModelEval& st = models.back();
  const ModelEval* ma = models.size() == 2 ? &models[0] : nullptr;
  double agreement = 0;
  if (ma && !st.pred.empty()) {
    size_t same = 0;
    for (size_t i = 0; i < st.pred.size(); ++i) same += st.pred[i] == ma->pred[i];
    agreement = double(same) / double(st.pred.size());
  }
  const auto& classes = c.data.classes;
  c.dir.record_time("eval", now_seconds() - t0);

  Json m = Json::object();
  Json ds = Json::object();
  ds["root"] = c.data.root;
  Json cl = Json::array();
  for (const auto& k : classes) cl.push_back(k);
  ds["classes"] = cl;
  ds["train"] = c.data.train.n;
  ds["val"] = c.data.val.n;
  ds["test"] = c.data.test.n;
  Json sk = Json::array();
  for (const auto& s : c.data.skipped()) {
    Json e = Json::object();
    e["path"] = s.path;
    e["reason"] = s.reason;
    sk.push_back(e);
  }
  ds["skipped_files"] = sk;
  m["dataset"] = ds;
  Json mod = Json::object();
  mod["master"] = ma ? model_json(*ma, classes, threads) : Json();
  mod["student"] = model_json(st, classes, threads);
  m["models"] = mod;
  Json ratios = Json::object();
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  ratios["params"] = ma ? ratio(double(ma->params), double(st.params)) : 0.0;
  ratios["size"] = ma ? ratio(double(ma->size_bytes), double(st.size_bytes)) : 0.0;
  ratios["latency"] = ma ? ratio(ma->cpu.p50, st.cpu.p50) : 0.0;
  ratios["macs"] = ma ? ratio(double(ma->macs), double(st.macs)) : 0.0;
  m["ratios"] = ratios;
  m["agreement"] = agreement;
  Json saved = c.dir.timings(), timings = Json::object();
  for (const char* s : {"features", "head", "soft_labels", "distill", "eval"})
    timings[s] = saved.contains(s) ? saved.at(s).as_double() : 0.0;
  m["timings_s"] = timings;
  m["environment"] = environment(c.device);
  c.dir.write_json("metrics.json", m);

  std::ostringstream md;
  md << "# cudistill run: " << c.dir.path() << "\n\nData: " << c.data.root << " (train " << c.data.train.n
     << ", val " << c.data.val.n << ", test " << c.data.test.n << ", skipped " << c.data.skipped().size() << ")\n\n";
  md << "| model | arch | input | test acc | params | size (MB) | MMACs | CPU p50 / p95 (ms)"
     << (st.gpu ? " | GPU p50 / p95 (ms)" : "") << " |\n|---|---|---:|---:|---:|---:|---:|---:|" << (st.gpu ? "---:|" : "")
     << "\n";
  for (const auto& e : models) {
    md << "| " << e.name << " | " << e.arch << " | " << e.input_size << " | " << fmt("%.4f", e.accuracy) << " | "
       << e.params << " | " << fmt("%.2f", double(e.size_bytes) / 1e6) << " | " << fmt("%.1f", double(e.macs) / 1e6)
       << " | " << fmt("%.2f", e.cpu.p50) << " / " << fmt("%.2f", e.cpu.p95);
    if (e.gpu) md << " | " << fmt("%.3f", e.gpu->p50) << " / " << fmt("%.3f", e.gpu->p95);
    md << " |\n";
  }
  if (ma)
    md << "\nMaster/student: params x" << fmt("%.1f", ratios.at("params").as_double()) << ", size x"
       << fmt("%.1f", ratios.at("size").as_double()) << ", MACs x" << fmt("%.1f", ratios.at("macs").as_double())
       << ", CPU latency x" << fmt("%.1f", ratios.at("latency").as_double()) << "; agreement "
       << fmt("%.4f", agreement) << " (test images where both predict the same class).\n";
  md << "\n### Per-class test accuracy\n\n| class |";
  for (const auto& e : models) md << " " << e.name << " |";
  md << "\n|---|";
  for (size_t i = 0; i < models.size(); ++i) md << "---:|";
  md << "\n";
  for (size_t k = 0; k < classes.size(); ++k) {
    md << "| " << classes[k] << " |";
    for (const auto& e : models) md << " " << fmt("%.4f", e.per_class[k]) << " |";
    md << "\n";
  }
  for (const auto& e : models) confusion_md(md, e, classes);
  md << "\nStage times (s): ";
  for (const auto& [k, v] : timings.as_object()) md << k << " " << fmt("%.1f", v.as_double()) << "  ";
  md << "\n";
  write_file_atomic(c.dir.file("report.md"), md.str());
  for (const auto& e : models)
    c.dir.log("eval: %s test acc %.4f, %lld params, %.1f MMACs, CPU batch-1 p50 %.2f ms p95 %.2f ms", e.name.c_str(),
              e.accuracy, (long long)e.params, double(e.macs) / 1e6, e.cpu.p50, e.cpu.p95);
  if (ma) c.dir.log("eval: agreement %.4f -> %s, %s", agreement, c.dir.file("metrics.json").c_str(), c.dir.file("report.md").c_str());
}

}  // namespace cudistill::train
