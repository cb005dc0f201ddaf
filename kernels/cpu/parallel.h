// parallel.h: when the CPU kernels fork OpenMP threads. A fork/join costs microseconds when the
// cores are idle and far more when they are shared, so small tensors (batch-1 inference of a
// compact CNN is made of them) stay on one thread. 32k elements is roughly where two threads
// start to win on the development machine.
#pragma once
#include <cstdint>

namespace cudistill::cpu {

inline constexpr int64_t kParallelMinElements = int64_t(1) << 15;

}  // namespace cudistill::cpu
