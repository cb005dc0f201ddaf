// cuda/relu.cu: a placeholder-sized first kernel so the CUDA toolchain is exercised in every
// build (issue 2); the full CUDA backend (issue 3) wires it and its siblings into engine/ops.
//   y, x: (n) contiguous; grid-stride loop so any grid size covers any n.
#include "kernels/cuda/common.cuh"

namespace cudistill::cuda {

__global__ void relu_fwd_kernel(float* y, const float* x, long long n) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    y[i] = x[i] > 0.f ? x[i] : 0.f;
}

void relu_fwd(float* y, const float* x, long long n, cudaStream_t stream) {
  if (n == 0) return;
  const int threads = 256;
  const int blocks = ceil_div(int(n < (1LL << 30) ? n : (1LL << 30)), threads);
  relu_fwd_kernel<<<blocks, threads, 0, stream>>>(y, x, n);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace cudistill::cuda
