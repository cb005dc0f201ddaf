// bench/student_step.h: timing of the student's training step and batch-1 latency (see .cpp).
#pragma once
#include <cstdint>

namespace cudistill {

struct StudentStepOptions {
  double width = 1.0;  // student channel multiplier
  int batch = 64, size = 96, reps = 20;
};
struct StudentSpeed {
  int64_t params = 0;
  double step_ms = 0, images_per_s = 0, latency_ms = 0;  // medians
};
StudentSpeed bench_student_step(const StudentStepOptions& o);

}  // namespace cudistill
