// nvtx.h: NVTX ranges, so that Nsight Systems/Compute timelines read like the model ("conv2d",
// "batch_norm2d_backward", ...). A no-op in CPU-only builds. NVTX3 is header-only and ships with
// the CUDA toolkit; the ranges cost a few hundred nanoseconds and only when a tool listens.
#pragma once

#if defined(CUDISTILL_HAVE_CUDA)
#include <nvtx3/nvToolsExt.h>
namespace cudistill {
struct NvtxRange {
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};
}  // namespace cudistill
#else
namespace cudistill {
struct NvtxRange {
  explicit NvtxRange(const char*) {}
};
}  // namespace cudistill
#endif
