// cuda/reduce.cu: the CUDA twin of kernels/reduce.h: y[0] = sum(x) over a contiguous buffer.
// Not deterministic to the last bit: blocks add their partial sums with atomicAdd in whatever
// order they finish, so two runs may differ by float rounding (the tests use a tolerance).
// Not a general axis reduction either; that is what the CPU reference does not have yet.
// Tested against kernels/cpu/reduce.cpp (double accumulator) by the CUDA suite (-ts=cuda).
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/reduce.h"

namespace cudistill::cuda {

namespace {

constexpr int kThreads = 256;
// Enough blocks to fill an H100 (132 SMs, several blocks each) with grid-stride loops; more only
// adds atomics on y[0] that serialise.
constexpr int kMaxBlocks = 1024;

// y: (1) += sum of x: (n). Each thread sums a grid-strided slice in a register, the block folds
// those with block_sum, and one thread per block adds the block's total to y[0].
__global__ void sum_kernel(float* y, const float* x, int64_t n) {
  __shared__ float shared[32];
  float s = 0.f;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    s += x[i];
  s = block_sum(s, shared);
  if (threadIdx.x == 0) atomicAdd(y, s);
}

}  // namespace

// y: (1) = sum of x: (n)
void sum_fwd(float* y, const float* x, int64_t n) {
  // The kernel accumulates into y, so it starts from 0 (also the answer when n == 0).
  CUDA_CHECK(cudaMemsetAsync(y, 0, sizeof(float), cur_stream()));
  if (n == 0) return;
  const int blocks = std::min(grid_for(n, kThreads), kMaxBlocks);
  sum_kernel<<<blocks, kThreads, 0, cur_stream()>>>(y, x, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cudistill::cuda
