// train/report.cpp: stage 5. Evaluates (evaluate.h) the run's master (when master.safetensors
// exists), its student, and when asked the --baseline student (trained without the master) and
// the --reference architecture (e.g. resnet152: size and speed only), all in this one process,
// then writes metrics.json (docs/DESIGN.md schema, every field, plus "baseline"/"reference" models,
// their ratios and the distillation cost of the cost stage) and report.md (accuracy, per-class
// accuracy, confusion matrices, params, size, MACs, batch-1 latency p50/p95 on CPU and, on a cuda
// run, on the GPU, the ratios and the agreement), both atomically.
// Not here: training, measuring. Tested by the end-to-end case of test_train_pipeline.cpp.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "apps/train/evaluate.h"
#include "engine/error.h"
#if defined(CUDISTILL_HAVE_CUDA)
#include "engine/cuda_context.h"
#endif
#include "engine/io/file.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cudistill::train {

namespace {
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
  j["accuracy"] = m.has_accuracy() ? Json(m.accuracy) : Json();
  Json pc = Json::object();
  for (size_t k = 0; k < m.per_class.size(); ++k) pc[classes[k]] = m.per_class[k];
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
#if defined(CUDISTILL_HAVE_CUDA)
  // What this process loaded: runtime, driver, cuDNN and cuBLAS versions.
  j["cuda"] = cuda ? cuda::versions() : "none";
  j["cudnn"] = cuda ? std::to_string(cuda::cudnn_version()) : "none";
#else
  j["cuda"] = "none (built without CUDA)";
  j["cudnn"] = "none (built without CUDA)";
#endif
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

namespace {
// a over b for params, size, MACs and CPU latency: how much bigger/slower `a` is.
Json ratios_json(const ModelEval* a, const ModelEval& b) {
  auto ratio = [](double x, double y) { return y > 0 ? x / y : 0.0; };
  Json r = Json::object();
  r["params"] = a ? ratio(double(a->params), double(b.params)) : 0.0;
  r["size"] = a ? ratio(double(a->size_bytes), double(b.size_bytes)) : 0.0;
  r["latency"] = a ? ratio(a->cpu.p50, b.cpu.p50) : 0.0;
  r["macs"] = a ? ratio(double(a->macs), double(b.macs)) : 0.0;
  if (a && a->gpu && b.gpu) r["latency_gpu"] = ratio(a->gpu->p50, b.gpu->p50);
  return r;
}

std::string ratio_line(const char* what, const Json& r) {
  return std::string(what) + ": params x" + fmt("%.1f", r.at("params").as_double()) + ", size x" +
         fmt("%.1f", r.at("size").as_double()) + ", MACs x" + fmt("%.1f", r.at("macs").as_double()) +
         ", CPU batch-1 latency x" + fmt("%.1f", r.at("latency").as_double()) +
         (r.contains("latency_gpu") ? ", GPU batch-1 latency x" + fmt("%.1f", r.at("latency_gpu").as_double()) : "");
}
}  // namespace

void run_eval(Context& c) {
  const double t0 = now_seconds();
  const std::string spath = c.dir.file("student.safetensors"), mpath = c.dir.file("master.safetensors");
  USER_CHECK(std::ifstream(spath).good(), "train: ", spath, " is missing: run the distill stage first");
  USER_CHECK(c.o.baseline.empty() || std::ifstream(c.o.baseline).good(), "train: --baseline ", c.o.baseline,
             " cannot be read: train it with --no-master first");
  int threads = c.o.threads;
#ifdef _OPENMP
  if (threads <= 0) threads = omp_get_max_threads();
#endif
  std::vector<ModelEval> models;  // in table order; the pointers below point into it
  models.reserve(4);
  if (!c.o.reference.empty()) models.push_back(evaluate_architecture(c, "reference", c.o.reference));
  if (std::ifstream(mpath).good()) models.push_back(evaluate(c, "master", mpath));
  models.push_back(evaluate(c, "student", spath));
  if (!c.o.baseline.empty()) models.push_back(evaluate(c, "baseline", c.o.baseline));
  auto find = [&](const char* name) -> const ModelEval* {
    for (const auto& m : models)
      if (m.name == name) return &m;
    return nullptr;
  };
  const ModelEval &st = *find("student"), *ma = find("master"), *bl = find("baseline"), *ref = find("reference");
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
  if (bl) mod["baseline"] = model_json(*bl, classes, threads);
  if (ref) mod["reference"] = model_json(*ref, classes, threads);
  m["models"] = mod;
  const Json ratios = ratios_json(ma, st);
  m["ratios"] = ratios;  // master over student
  if (ref) m["ratios_reference"] = ratios_json(ref, st);
  m["agreement"] = agreement;
  if (bl) {
    Json d = Json::object();
    d["student_minus_baseline"] = st.accuracy - bl->accuracy;
    d["master_minus_student"] = ma ? ma->accuracy - st.accuracy : Json();
    m["distillation"] = d;
  }
  Json saved = c.dir.timings(), timings = Json::object();
  for (const char* s : {"features", "head", "soft_labels", "distill", "eval"})
    timings[s] = saved.contains(s) ? saved.at(s).as_double() : 0.0;
  m["timings_s"] = timings;
  if (std::ifstream(c.dir.file("distill_cost.json")).good())
    m["distill_cost"] = Json::parse(read_file(c.dir.file("distill_cost.json")));
  m["environment"] = environment(c.device);
  c.dir.write_json("metrics.json", m);

  std::ostringstream md;
  md << "# cudistill run: " << c.dir.path() << "\n\nData: " << c.data.root << " (train " << c.data.train.n
     << ", val " << c.data.val.n << ", test " << c.data.test.n << ", skipped " << c.data.skipped().size() << ")\n\n";
  md << "| model | arch | input | test acc | params | size (MB) | MMACs | CPU p50 / p95 (ms)"
     << (st.gpu ? " | GPU p50 / p95 (ms)" : "") << " |\n|---|---|---:|---:|---:|---:|---:|---:|" << (st.gpu ? "---:|" : "")
     << "\n";
  for (const auto& e : models) {
    md << "| " << e.name << " | " << e.arch << " | " << e.input_size << " | "
       << (e.has_accuracy() ? fmt("%.4f", e.accuracy) : std::string("n/a")) << " | " << e.params << " | "
       << fmt("%.2f", double(e.size_bytes) / 1e6) << " | " << fmt("%.1f", double(e.macs) / 1e6) << " | "
       << fmt("%.2f", e.cpu.p50) << " / " << fmt("%.2f", e.cpu.p95);
    if (e.gpu) md << " | " << fmt("%.3f", e.gpu->p50) << " / " << fmt("%.3f", e.gpu->p95);
    md << " |\n";
  }
  md << "\n";
  if (ref) md << ratio_line(("Reference (" + ref->arch + ") over student").c_str(), m.at("ratios_reference")) << ".\n\n";
  if (ma)
    md << ratio_line("Master over student", ratios) << "; agreement " << fmt("%.4f", agreement)
       << " (test images where both predict the same class).\n\n";
  if (bl)
    md << "Distillation: student " << fmt("%+.2f", 100 * (st.accuracy - bl->accuracy))
       << " points over the same student trained without the master"
       << (ma ? "; master " + fmt("%+.2f", 100 * (ma->accuracy - st.accuracy)) + " points over the student" : "")
       << ".\n\n";
  if (m.contains("distill_cost")) {
    const Json& k = m.at("distill_cost");
    md << "Distillation cost per epoch (cost stage, medians of " << k.at("steps_timed").as_double()
       << " steps): from the soft-label cache " << fmt("%.1f", k.at("cached_epoch_s").as_double())
       << " s, with the master in the loop " << fmt("%.1f", k.at("online_epoch_s").as_double()) << " s (x"
       << fmt("%.1f", k.at("online_over_cached").as_double()) << ").\n\n";
  }
  md << "### Per-class test accuracy\n\n| class |";
  std::vector<const ModelEval*> scored;
  for (const auto& e : models)
    if (e.has_accuracy()) scored.push_back(&e);
  for (const auto* e : scored) md << " " << e->name << " |";
  md << "\n|---|";
  for (size_t i = 0; i < scored.size(); ++i) md << "---:|";
  md << "\n";
  for (size_t k = 0; k < classes.size(); ++k) {
    md << "| " << classes[k] << " |";
    for (const auto* e : scored) md << " " << fmt("%.4f", e->per_class[k]) << " |";
    md << "\n";
  }
  for (const auto* e : scored) confusion_md(md, *e, classes);
  md << "\nStage times (s): ";
  for (const auto& [k, v] : timings.as_object()) md << k << " " << fmt("%.1f", v.as_double()) << "  ";
  md << "\n";
  write_file_atomic(c.dir.file("report.md"), md.str());
  for (const auto& e : models)
    c.dir.log("eval: %s (%s) test acc %s, %lld params, %.1f MMACs, CPU batch-1 p50 %.2f ms p95 %.2f ms", e.name.c_str(),
              e.arch.c_str(), e.has_accuracy() ? fmt("%.4f", e.accuracy).c_str() : "n/a", (long long)e.params,
              double(e.macs) / 1e6, e.cpu.p50, e.cpu.p95);
  if (ma) c.dir.log("eval: agreement %.4f -> %s, %s", agreement, c.dir.file("metrics.json").c_str(), c.dir.file("report.md").c_str());
}

}  // namespace cudistill::train
