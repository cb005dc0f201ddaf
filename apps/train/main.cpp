// train/main.cpp: `apps/train`, one command for the whole distillation pipeline (features, head,
// soft_labels, distill, eval; see stages.h), writing the run directory of docs/DESIGN.md. Only flag
// parsing here; the pipeline is the cudistill_train library (tested in test_train_pipeline.cpp).
// Run: ./build/apps/train --master build/weights/efficientnet_lite0.safetensors --run-dir runs/a
#include <cstdio>
#include <string>

#include "apps/common/cli.h"
#include "engine/threads.h"
#include "apps/train/stages.h"

using namespace cudistill;

int main(int argc, char** argv) {
  use_short_spin_openmp(argc, argv);  // engine/threads.h: why
  return cli::run_main("train", [&]() -> int {
    const train::TrainOptions d;  // every default shown and used comes from here
    // 0.002 rather than std::to_string's 0.002000
    auto num = [](double v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", v);
      return std::string(buf);
    };
    cli::Flags f("train", "distils a frozen master into a compact student; writes a run directory");
    f.add("data", d.data, "image-folder data set (ROOT/train|test/<class> or the Intel layout)")
        .add("run-dir", d.run_dir, "run directory (config.json, features, master, soft labels, student, metrics, report)")
        .add("master", "", "master checkpoint (.safetensors from apps/convert); needed unless --no-master")
        .add("stages", "all", "comma list of features,head,soft_labels,distill,eval (or all); cost (timing of "
                              "cached against online distillation steps) runs only when named")
        .add("student-width", num(d.student_width), "student channel multiplier")
        .add("student-depth", num(d.student_depth), "student block-count multiplier")
        .add("T", num(d.T), "distillation temperature")
        .add("alpha", num(d.alpha), "weight of the KL term (1 - alpha on the hard-label CE)")
        .add("epochs", std::to_string(d.epochs), "student epochs")
        .add("head-epochs", std::to_string(d.head_epochs), "epochs of the linear head on cached features")
        .add("warmup-epochs", std::to_string(d.warmup_epochs), "linear learning-rate warm-up (epochs)")
        .add("batch-size", std::to_string(d.batch_size), "batch size (every stage)")
        .add("lr", num(d.lr), "student learning rate (peak of the cosine schedule)")
        .add("weight-decay", num(d.weight_decay), "student weight decay (decoupled for AdamW)")
        .add("ema", num(d.ema), "decay D of a moving average of the student's weights, updated every step and "
                                "the one validated and kept (e.g. 0.998: about the last 500 steps); 0: off")
        .add("head-lr", num(d.head_lr), "head learning rate (AdamW)")
        .add("optimizer", d.optimizer, "student optimizer: adamw or sgd (momentum 0.9, Nesterov)")
        .add("master-size", num(d.master_size), "master input size (0: the checkpoint's input_size)")
        .add("student-size", std::to_string(d.student_size), "student input size (e.g. 96 or 150)")
        .add("cache-size", std::to_string(d.cache_size), "images are decoded once at this size")
        .add("views", std::to_string(d.views), "K: augmented views per training image in soft_labels.bin")
        .add("crop-min", num(d.crop_min), "random crops cover between this share of the image area and all of it")
        .add("val-fraction", num(d.val_fraction), "share of each training class held out for validation")
        .add("limit", num(d.limit), "at most N images per split, stratified over classes (0: all)")
        .add("device", d.device, "cpu or cuda (default: cuda when available, else cpu)")
        .add("seed", num(d.seed), "seed of the split, the views, the shuffles and the initialisation")
        .add("threads", num(d.threads), "OpenMP threads for CPU work and CPU latency (0: OpenMP's default)")
        .add("latency-runs", std::to_string(d.latency_runs), "batch-1 timed runs per model (p50/p95)")
        .add("cost-steps", std::to_string(d.cost_steps), "cost stage: timed steps of each kind")
        .add("stop-after-epochs", num(d.stop_after_epochs),
             "distill: stop after this many epochs of this call, keeping distill_state.safetensors; the same "
             "command again resumes there (0: run to the end; an interrupted run resumes too)")
        .add("baseline", "", "eval: also score this student checkpoint (trained with --no-master)")
        .add("reference", "", "eval: also time this architecture (e.g. resnet152) for the ratios")
        .add_bool("online", "run the master in the distillation loop instead of the soft-label cache")
        .add_bool("no-master", "baseline: the same student with plain CE, no master at all")
        .add_bool("region-targets", "distilled student: a fresh random view every epoch (as the baseline), the KD "
                                    "target the master's class map (its logits per cell of the last feature map, "
                                    "one master pass per image, class_maps.safetensors) averaged over the crop box");
    if (!f.parse(argc, argv)) return 0;
    train::TrainOptions o;
    o.data = f.str("data");
    o.run_dir = f.str("run-dir");
    o.master = f.str("master");
    o.stages = train::parse_stages(f.str("stages"));
    o.student_width = f.number("student-width");
    o.student_depth = f.number("student-depth");
    o.T = f.number("T");
    o.alpha = f.number("alpha");
    o.epochs = f.integer("epochs");
    o.head_epochs = f.integer("head-epochs");
    o.warmup_epochs = f.integer("warmup-epochs");
    o.batch_size = f.integer("batch-size");
    o.lr = f.number("lr");
    o.weight_decay = f.number("weight-decay");
    o.ema = f.number("ema");
    o.head_lr = f.number("head-lr");
    o.optimizer = f.str("optimizer");
    o.master_size = f.integer("master-size");
    o.student_size = f.integer("student-size");
    o.cache_size = f.integer("cache-size");
    o.views = f.integer("views");
    o.crop_min = f.number("crop-min");
    o.val_fraction = f.number("val-fraction");
    o.limit = f.integer("limit");
    o.device = f.str("device");
    o.seed = f.integer("seed");
    o.threads = f.integer("threads");
    o.latency_runs = f.integer("latency-runs");
    o.cost_steps = f.integer("cost-steps");
    o.stop_after_epochs = f.integer("stop-after-epochs");
    o.baseline = f.str("baseline");
    o.reference = f.str("reference");
    o.online = f.flag("online");
    o.no_master = f.flag("no-master");
    o.region_targets = f.flag("region-targets");
    USER_CHECK(o.ema >= 0 && o.ema < 1, "train: --ema must be in [0, 1) (0: off; 0.998 averages about the last 500 steps), not ",
               o.ema);
    USER_CHECK(o.no_master || !o.master.empty() || !(o.has_stage("features") || o.has_stage("head")),
               "train: --master is required (or --no-master for the CE baseline)");
    return train::run_pipeline(o);
  });
}
