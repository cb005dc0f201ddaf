// eval: scores a checkpoint on one split of an image folder: accuracy, per-class accuracy, the
// confusion matrix, parameters, size, MACs per image and single-image latency; with --out, the
// metrics.json of docs/DESIGN.md for this one model (dataset + models.<name>).
// Images are seen as in training's evaluation: the whole image resized to the checkpoint's
// input_size (data::eval_view), normalised with its mean/std. Not here: training, a validation
// split (apps/train), top-k accuracy, ratios between two models.
//   ./build/apps/eval --checkpoint run/student.safetensors --data ../shared/data/intel --out m.json
// Exit codes: 0 done, 2 bad flag, path, checkpoint or class mismatch (one line), 1 anything else.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "engine/percentile.h"
#include "engine/threads.h"
#include "apps/common/loaded_model.h"
#include "apps/common/paths.h"
#include "engine/autograd.h"
#include "engine/data/augment.h"
#include "engine/data/dataset.h"
#include "engine/io/file.h"
#include "engine/io/json.h"
#include "engine/ops/macs.h"

using namespace cudistill;

namespace {

// "[a, b, c]", at most 10 names then how many more: a 1000-class list stays one readable line.
std::string join(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < std::min<size_t>(v.size(), 10); ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > 10) s += ", ... (" + std::to_string(v.size() - 10) + " more)";
  return s + "]";
}

// The checkpoint was trained with label k = classes[k]; the folder's labels are its sorted class
// names. Scoring one against the other with a different list would count right answers as wrong.
void check_classes(const std::vector<std::string>& model, const std::vector<std::string>& folder,
                   const std::string& checkpoint, const std::string& dir) {
  if (model == folder) return;
  std::vector<std::string> a = model, b = folder, only_model, only_folder;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_model));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_folder));
  USER_CHECK(only_model.empty() && only_folder.empty(), "the classes of ", checkpoint,
             " and of the folders in ", dir, " differ: only in the checkpoint: ", join(only_model),
             "; only in the folder: ", join(only_folder));
  // Same names, other order (e.g. "0".."999" from the converter, while folders sort as text).
  size_t k = 0;
  while (k < model.size() && model[k] == folder[k]) ++k;
  USER_CHECK(false, "the classes of ", checkpoint, " are the class folders of ", dir, " in another order: label ", k,
             " is '", model[k], "' in the checkpoint but '", folder[k],
             "' in the folders (sorted by name); the checkpoint's class list must be in that sorted order");
}

// Row-major (B, K) logits -> the argmax of each row.
std::vector<int> argmax_rows(const std::vector<double>& logits, int K) {
  std::vector<int> out(logits.size() / size_t(K));
  for (size_t b = 0; b < out.size(); ++b) {
    const double* row = logits.data() + b * size_t(K);
    out[b] = int(std::max_element(row, row + K) - row);
  }
  return out;
}

// A file name without folders and extension: "run/student.safetensors" -> "student".
std::string stem(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') + 1);
  const size_t dot = s.find('.');
  return dot == std::string::npos || dot == 0 ? s : s.substr(0, dot);
}

}  // namespace

int main(int argc, char** argv) {
  use_short_spin_openmp(argc, argv);  // engine/threads.h: why
  return cli::run_main("eval", [&] {
    cli::Flags flags("eval", "Scores a checkpoint on an image folder: accuracy, per-class accuracy, confusion matrix, "
                             "MACs and latency.");
    flags.add("checkpoint", "", "the model to score (.safetensors with cudistill metadata)")
        .add("data", "", "ROOT: ROOT/<split>/<class>/*.jpg, Intel's ROOT/seg_<split>/..., or ROOT/<class>/*.jpg")
        .add("split", "test", "test or train (ignored when ROOT itself holds the class folders)")
        .add("batch-size", "32", "images per forward pass")
        .add("device", "", "cpu or cuda (default: cuda when available, else cpu)")
        .add("out", "", "write metrics.json here, atomically (default: print only)")
        .add("name", "", "the model's key under \"models\" in --out (default: the checkpoint's file name, "
                         "e.g. student)");
    if (!flags.parse(argc, argv)) return 0;
    for (const char* f : {"checkpoint", "data"})
      USER_CHECK(!flags.str(f).empty(), "--", f, " is required (see --help)");
    const std::string split = flags.str("split"), checkpoint = flags.str("checkpoint");
    USER_CHECK(split == "test" || split == "train", "--split must be test or train, got '", split, "'");
    const int batch_size = flags.integer("batch-size");
    USER_CHECK(batch_size >= 1, "--batch-size must be at least 1, got ", batch_size);
    const Device device = cli::parse_device(flags.str("device"));

    cli::LoadedModel m = cli::load_model(checkpoint, device);
    const cli::ClassFolders folders = cli::scan_split(flags.str("data"), split);
    check_classes(m.classes, folders.classes, checkpoint, folders.dir);
    const int K = int(m.classes.size()), S = m.input_size;
    std::printf("eval: %s (%s, %lld parameters) on %s: %zu files, %d classes, %dx%d, %s\n", checkpoint.c_str(),
                m.arch.c_str(), (long long)m.model->num_parameters(), folders.dir.c_str(), folders.files.size(), K, S,
                S, device_name(device));

    // Decoded once at the model's input size (N x S x S x 3 bytes); unreadable files are listed.
    const data::ImageCache cache = data::load_image_cache(folders.files, S, S);
    NoGrad no_grad;

    // confusion[t][p]: images of true class t predicted as p.
    std::vector<std::vector<int64_t>> confusion(size_t(K), std::vector<int64_t>(size_t(K), 0));
    const auto t_eval = std::chrono::steady_clock::now();
    for (int start = 0; start < cache.n; start += batch_size) {
      std::vector<int> idx;
      for (int i = start; i < std::min(cache.n, start + batch_size); ++i) idx.push_back(i);
      const Tensor x = data::make_batch(cache, idx, data::eval_views(cache, idx.size()), S, S, m.mean, m.std, device);
      const std::vector<int> pred = argmax_rows(m.model->forward(x).to_vector(), K);  // logits: (B, K)
      for (size_t b = 0; b < idx.size(); ++b) ++confusion[size_t(cache.labels[size_t(idx[b])])][size_t(pred[b])];
    }
    const double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_eval).count();

    int64_t correct = 0;
    std::vector<int64_t> support(size_t(K), 0);
    for (int t = 0; t < K; ++t) {
      correct += confusion[size_t(t)][size_t(t)];
      for (int p = 0; p < K; ++p) support[size_t(t)] += confusion[size_t(t)][size_t(p)];
    }
    const double accuracy = double(correct) / double(cache.n);

    // MACs per image: one batch-1 forward inside a counter (conv2d, linear and matmul count).
    const std::vector<int> first{0};
    const Tensor x1 = data::make_batch(cache, first, data::eval_views(cache, 1), S, S, m.mean, m.std, device);
    int64_t macs = 0;
    {
      MacCounter counter;
      m.model->forward(x1);
      macs = counter.total();
    }
    // Latency at batch 1: 3 warm-ups (allocator caches, cuDNN plans), then 20 timed forwards.
    // Each includes copying the logits to the host, which also waits for a CUDA stream to finish.
    for (int i = 0; i < 3; ++i) m.model->forward(x1).to_vector();
    std::vector<double> ms;
    for (int i = 0; i < 20; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      m.model->forward(x1).to_vector();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double p50 = percentile(ms, 50), p95 = percentile(ms, 95);
    const int threads = omp_get_max_threads();

    // --- report ---
    std::printf("\naccuracy %.4f (%lld / %d), %zu files skipped, %.2f s\n", accuracy, (long long)correct, cache.n,
                cache.skipped.size(), eval_s);
    size_t wname = 5;
    for (const std::string& c : m.classes) wname = std::max(wname, c.size());
    // Beyond kPrintClasses classes (ImageNet's 1000) the table keeps the classes with images and
    // the matrix gives way to its largest off-diagonal cells: a screen, not megabytes of zeros.
    constexpr int kPrintClasses = 30;
    const bool wide = K > kPrintClasses;
    std::printf("\n%-*s  %8s  %6s\n", int(wname), "class", "accuracy", "images");
    for (int t = 0; t < K; ++t) {
      if (wide && support[size_t(t)] == 0) continue;
      if (support[size_t(t)] == 0) {
        std::printf("%-*s  %8s  %6d\n", int(wname), m.classes[size_t(t)].c_str(), "-", 0);
      } else {
        std::printf("%-*s  %8.4f  %6lld\n", int(wname), m.classes[size_t(t)].c_str(),
                    double(confusion[size_t(t)][size_t(t)]) / double(support[size_t(t)]),
                    (long long)support[size_t(t)]);
      }
    }
    if (wide) {
      std::printf("(%d classes without images not listed)\n", int(std::count(support.begin(), support.end(), 0)));
      struct Cell {
        int64_t n;
        int t, p;
      };
      std::vector<Cell> cells;
      for (int t = 0; t < K; ++t)
        for (int p = 0; p < K; ++p)
          if (t != p && confusion[size_t(t)][size_t(p)] > 0) cells.push_back({confusion[size_t(t)][size_t(p)], t, p});
      std::stable_sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) { return a.n > b.n; });
      std::printf("\nconfusion matrix: %d classes, too wide to print; its largest off-diagonal cells%s\n", K,
                  cells.empty() ? ": none (every image right)" : " (true -> predicted: images)");
      for (size_t i = 0; i < std::min<size_t>(cells.size(), 10); ++i)
        std::printf("  %s -> %s: %lld\n", m.classes[size_t(cells[i].t)].c_str(), m.classes[size_t(cells[i].p)].c_str(),
                    (long long)cells[i].n);
    } else {
      std::printf("\nconfusion matrix (rows: true class, columns: predicted, in class order)\n");
      for (int t = 0; t < K; ++t) {
        std::printf("%-*s", int(wname), m.classes[size_t(t)].c_str());
        for (int p = 0; p < K; ++p) std::printf(" %6lld", (long long)confusion[size_t(t)][size_t(p)]);
        std::printf("\n");
      }
    }
    std::printf("\nparams %lld, size %lld bytes, %lld MACs per image, latency (batch 1, %s, %d threads) p50 %.3f ms, "
                "p95 %.3f ms\n",
                (long long)m.model->num_parameters(), (long long)m.model->state_bytes(), (long long)macs,
                device_name(device), threads, p50, p95);

    if (!flags.str("out").empty()) {
      Json per_class = Json::object();
      for (int t = 0; t < K; ++t)  // null: the folder has no image of this class, so no accuracy
        per_class[m.classes[size_t(t)]] = support[size_t(t)] == 0
                                              ? Json()
                                              : Json(double(confusion[size_t(t)][size_t(t)]) / double(support[size_t(t)]));
      Json latency = Json::object();
      latency["p50"] = p50;
      latency["p95"] = p95;
      latency["batch"] = 1;
      latency["device"] = device_name(device);
      latency["threads"] = threads;
      Json entry = Json::object();
      entry["arch"] = m.arch;
      entry["params"] = m.model->num_parameters();
      entry["size_bytes"] = m.model->state_bytes();
      entry["macs"] = macs;
      entry["accuracy"] = accuracy;
      entry["per_class_accuracy"] = per_class;
      entry["latency_ms"] = latency;
      entry["weights_source"] = m.source;

      Json classes = Json::array(), skipped = Json::array();
      for (const std::string& c : m.classes) classes.push_back(c);
      for (const data::SkippedFile& f : cache.skipped) {
        Json s = Json::object();
        s["path"] = f.path;
        s["reason"] = f.reason;
        skipped.push_back(s);
      }
      Json dataset = Json::object();
      dataset["root"] = flags.str("data");
      dataset["classes"] = classes;
      dataset[split] = cache.n;  // images scored; the unreadable ones are in skipped_files
      dataset["skipped_files"] = skipped;
      Json out = Json::object();
      out["dataset"] = dataset;
      const std::string name = flags.str("name").empty() ? stem(checkpoint) : flags.str("name");
      out["models"][name] = entry;
      out["timings_s"]["eval"] = eval_s;
      write_file_atomic(flags.str("out"), out.dump(2) + "\n");
      std::printf("wrote %s\n", flags.str("out").c_str());
    }
    return 0;
  });
}
