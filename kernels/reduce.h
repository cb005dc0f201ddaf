// reduce.h: whole-tensor reductions. The CPU reference accumulates in double: it is the oracle
// the CUDA reductions are tested against, so its own rounding must be negligible.
#pragma once
#include <cstdint>

namespace cudistill::cpu {

template <typename T> void sum_fwd(T* y, const T* x, int64_t n);  // y[0] = sum(x)

}  // namespace cudistill::cpu

// CUDA twin (kernels/cuda/reduce.cu): block reductions in float, then one atomic per block.
namespace cudistill::cuda {
void sum_fwd(float* y, const float* x, int64_t n);
}  // namespace cudistill::cuda
