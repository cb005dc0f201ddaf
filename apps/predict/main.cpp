// predict: the top-k classes of image files under one or more checkpoints (say the master and the
// student side by side: one column per checkpoint). Each image is seen as at evaluation time of an
// ImageNet classifier: the central square crop, resized to the checkpoint's input_size and
// normalised with its mean/std; class names come from the checkpoint's metadata.
// Not here: accuracy over a labelled folder (apps/eval), batching of many images for speed.
//   ./build/apps/predict --checkpoint run/master.safetensors --checkpoint run/student.safetensors
//       --image a.jpg --image b.jpg [--list more.txt] [--topk 3]     (one command line)
// An unreadable image is reported on stderr with its reason and skipped. Exit codes: 0 when at
// least one image was predicted, 2 for a bad flag or checkpoint or when no image could be read,
// 1 anything else.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "apps/common/cli.h"
#include "engine/threads.h"
#include "apps/common/loaded_model.h"
#include "apps/common/paths.h"
#include "engine/autograd.h"
#include "engine/data/image.h"
#include "engine/ops/ops.h"

using namespace cudistill;

int main(int argc, char** argv) {
  use_short_spin_openmp(argc, argv);  // engine/threads.h: why
  return cli::run_main("predict", [&] {
    // Flags::parse keeps one value per flag: the repeatable ones are taken out of argv first.
    const std::vector<std::string> checkpoints = cli::repeated_flag(argc, argv, "checkpoint");
    std::vector<std::string> images = cli::repeated_flag(argc, argv, "image");
    cli::Flags flags("predict", "Prints the top-k classes of images under one or more checkpoints.");
    flags.add("checkpoint", "", "a model (.safetensors with cudistill metadata); repeat it for one column per model")
        .add("image", "", "an image file (.jpg, .png, .bmp); repeatable")
        .add("list", "", "a file with one image path per line (blank lines and # comments skipped)")
        .add("topk", "3", "classes shown per image and checkpoint")
        .add("device", "", "cpu or cuda (default: cuda when available, else cpu)");
    if (!flags.parse(argc, argv)) return 0;
    USER_CHECK(!checkpoints.empty(), "--checkpoint is required (see --help)");
    if (!flags.str("list").empty())
      for (const std::string& p : cli::read_path_list(flags.str("list"))) images.push_back(p);
    USER_CHECK(!images.empty(), "no images: give --image PATH (repeatable) or --list FILE");
    const int topk = flags.integer("topk");
    USER_CHECK(topk >= 1, "--topk must be at least 1, got ", topk);
    const Device device = cli::parse_device(flags.str("device"));

    std::vector<cli::LoadedModel> models;
    for (const std::string& c : checkpoints) models.push_back(cli::load_model(c, device));
    NoGrad no_grad;

    int predicted = 0;
    for (const std::string& path : images) {
      data::Image img;
      std::string reason;
      if (!data::decode_image(path, img, reason)) {
        std::fprintf(stderr, "predict: skipped %s: %s\n", path.c_str(), reason.c_str());
        continue;
      }
      // cells[m][r]: "class prob" of rank r under checkpoint m ("" past that model's classes).
      std::vector<std::vector<std::string>> cells;
      int rows = 0;
      for (const cli::LoadedModel& m : models) {
        const Tensor x = cli::preprocess_center_crop(img, m, device);  // x: (1, 3, S, S)
        const std::vector<double> p = softmax(m.model->forward(x)).to_vector();  // probs: (1, K)
        std::vector<int> order(p.size());
        std::iota(order.begin(), order.end(), 0);
        const int k = std::min<int>(topk, int(p.size()));
        // Ties keep the lower class index first, so the output does not depend on the sort.
        std::partial_sort(order.begin(), order.begin() + k, order.end(),
                          [&](int a, int b) { return p[size_t(a)] > p[size_t(b)] || (p[size_t(a)] == p[size_t(b)] && a < b); });
        std::vector<std::string> col;
        for (int r = 0; r < k; ++r) {
          char prob[32];
          std::snprintf(prob, sizeof prob, "%.4f", p[size_t(order[size_t(r)])]);
          col.push_back(m.classes[size_t(order[size_t(r)])] + "  " + prob);
        }
        rows = std::max(rows, k);
        cells.push_back(col);
      }
      // One column per checkpoint, headed by its path; rank r of every model on one line.
      std::printf("%s (%dx%d)\n", path.c_str(), img.w, img.h);
      std::vector<size_t> width;
      for (size_t c = 0; c < models.size(); ++c) {
        size_t w = checkpoints[c].size();
        for (const std::string& s : cells[c]) w = std::max(w, s.size());
        width.push_back(w);
      }
      width.back() = 0;  // no padding after the last column
      std::printf("  %4s", "rank");
      for (size_t c = 0; c < models.size(); ++c) std::printf("  %-*s", int(width[c]), checkpoints[c].c_str());
      std::printf("\n");
      for (int r = 0; r < rows; ++r) {
        std::printf("  %4d", r + 1);
        for (size_t c = 0; c < models.size(); ++c)
          std::printf("  %-*s", int(width[c]), size_t(r) < cells[c].size() ? cells[c][size_t(r)].c_str() : "");
        std::printf("\n");
      }
      ++predicted;
    }
    USER_CHECK(predicted > 0, "none of the ", images.size(), " images could be read");
    return 0;
  });
}
