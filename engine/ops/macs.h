// macs.h: counts the multiply-accumulates that conv2d, linear and matmul perform while a
// MacCounter is alive on this thread. Running one forward pass at batch 1 inside a counter gives
// a model's exact MACs per image, with no per-layer bookkeeping to keep in sync with the code.
#pragma once
#include <cstdint>

namespace cudistill {

class MacCounter {
 public:
  MacCounter();
  ~MacCounter();
  MacCounter(const MacCounter&) = delete;
  MacCounter& operator=(const MacCounter&) = delete;
  int64_t total() const { return total_; }

 private:
  int64_t total_ = 0;
  MacCounter* prev_;
  friend void count_macs(int64_t);
};

void count_macs(int64_t n);  // called by the ops; a no-op when no counter is alive

}  // namespace cudistill
