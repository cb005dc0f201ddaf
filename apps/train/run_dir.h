// train/run_dir.h: the run directory of apps/train (docs/DESIGN.md, "Run directory"): the path of each
// artifact, a logger whose every line goes to stdout and to log.txt, and the per-stage wall times
// (timings.json), kept across invocations so that a resumed run still reports every stage.
// Not here: the artifacts' formats (features.cpp, soft_labels.h, report.h).
// Tested through tests/ops/test_train_pipeline.cpp (-tc="train*").
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "engine/io/json.h"

namespace cudistill::train {

class RunDir {
 public:
  explicit RunDir(std::string path);  // creates the directory (and parents); failure: a user error
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // printf-style: the line goes to stdout and is appended to log.txt (flushed at once).
  void log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));

  // Stage wall times, merged into timings.json (atomic rewrite).
  void record_time(const std::string& stage, double seconds);
  Json timings() const;  // {} when none recorded yet

  void write_json(const std::string& name, const Json& j) const;  // atomic, 2-space indent

 private:
  std::string path_;
};

// Monotonic seconds, for stage timings and images/s.
double now_seconds();
// The median of timings (the upper one of an even count); 0 for none.
double median(std::vector<double> v);

}  // namespace cudistill::train
