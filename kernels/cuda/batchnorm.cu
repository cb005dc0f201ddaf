// cuda/batchnorm.cu: the CUDA twins of kernels/batchnorm.h: batch norm over x: (N, C, HW),
// training forward (two-pass statistics, running-stat update), eval forward, and backward, which
// ACCUMULATES into dx, dgamma, dbeta (each may be null).
// Not cuDNN's batch norm and not a split-reduction kernel: one block owns one channel, which is
// simple and exact in its bookkeeping but leaves SMs idle when C is small (see docs/kernels/batchnorm.md).
// Tested against kernels/cpu/batchnorm.cpp (double statistics) by the CUDA suite (-ts=cuda).
#include "kernels/batchnorm.h"
#include "kernels/cuda/common.cuh"

namespace cudistill::cuda {

namespace {

constexpr int kThreads = 256;    // elementwise eval kernel
constexpr int kBlockC = 512;     // one block per channel: many threads, since M = N*HW is large

// Offset of the j-th value (0 <= j < N*HW) of channel c in x: (N, C, HW): value j lives in image
// n = j / HW at position j % HW. Flattening (n, i) into j keeps every thread busy even when HW is
// small (7x7), at the price of one division per element.
__device__ __forceinline__ int64_t chan_offset(int64_t j, int c, int C, int64_t HW) {
  const int64_t n = j / HW;
  return (n * C + c) * HW + (j - n * HW);
}

// y: (N, C, HW); save_mean, save_invstd, running_*: (C). Block c handles channel c:
//   pass 1: mean = sum(x) / M;   pass 2: var = sum((x - mean)^2) / M   (two passes, like the
//   CPU: the one-pass E[x^2] - E[x]^2 cancels catastrophically when |mean| >> std);
//   pass 3: y = x * g + b with g = gamma * invstd, b = beta - mean * g.
__global__ void bn_fwd_train_kernel(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                    float* running_var, const float* x, const float* gamma,
                                    const float* beta, int N, int C, int64_t HW, float momentum,
                                    float eps) {
  __shared__ float shared[32];
  const int c = blockIdx.x;
  const int64_t M = int64_t(N) * HW;

  float s = 0.f;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) s += x[chan_offset(j, c, C, HW)];
  const float mean = block_sum(s, shared) / float(M);

  float ss = 0.f;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const float d = x[chan_offset(j, c, C, HW)] - mean;
    ss += d * d;
  }
  ss = block_sum(ss, shared);
  const float var = ss / float(M);
  const float invstd = 1.f / sqrtf(var + eps);  // not rsqrtf: its 2-ulp error shows in the tests

  if (threadIdx.x == 0) {
    save_mean[c] = mean;
    save_invstd[c] = invstd;
    if (running_mean) {
      // PyTorch keeps the unbiased variance, M / (M - 1) times the batch's.
      const float unbiased = M > 1 ? ss / float(M - 1) : var;
      running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * mean;
      running_var[c] = (1.f - momentum) * running_var[c] + momentum * unbiased;
    }
  }

  const float g = gamma[c] * invstd, b = beta[c] - mean * g;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t o = chan_offset(j, c, C, HW);
    y[o] = x[o] * g + b;
  }
}

// y: (N, C, HW) from the running statistics: a pure elementwise map, one thread per element.
__global__ void bn_fwd_eval_kernel(float* y, const float* x, const float* gamma, const float* beta,
                                   const float* running_mean, const float* running_var, int C,
                                   int64_t HW, int64_t total, float eps) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const int c = int((i / HW) % C);
    const float invstd = 1.f / sqrtf(running_var[c] + eps);
    const float g = gamma[c] * invstd, b = beta[c] - running_mean[c] * g;
    y[i] = x[i] * g + b;
  }
}

// Block c handles channel c. With xhat = (x - mean) * invstd and M = N*HW:
//   dbeta += sum dy,  dgamma += sum dy*xhat,
//   dx += gamma*invstd * (dy - (sum dy + xhat * sum dy*xhat) / M)    (training)
//   dx += gamma*invstd * dy                                          (eval: stats are constants)
// `dx`, `dgamma`, `dbeta` are uniform across the block, so the branches on them (and the
// __syncthreads inside block_sum) are taken by all threads or none.
__global__ void bn_bwd_kernel(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                              const float* gamma, const float* mean, const float* invstd, int N, int C,
                              int64_t HW, bool training) {
  __shared__ float shared[32];
  const int c = blockIdx.x;
  const int64_t M = int64_t(N) * HW;
  const float mu = mean[c], is = invstd[c];

  float sdy = 0.f, sdy_xhat = 0.f;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t o = chan_offset(j, c, C, HW);
    sdy += dy[o];
    sdy_xhat += dy[o] * (x[o] - mu) * is;
  }
  sdy = block_sum(sdy, shared);
  sdy_xhat = block_sum(sdy_xhat, shared);

  if (threadIdx.x == 0) {
    if (dgamma) dgamma[c] += sdy_xhat;
    if (dbeta) dbeta[c] += sdy;
  }
  if (!dx) return;
  const float k = gamma[c] * is;
  for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
    const int64_t o = chan_offset(j, c, C, HW);
    float g = dy[o];
    if (training) g -= (sdy + (x[o] - mu) * is * sdy_xhat) / float(M);
    dx[o] += k * g;
  }
}

}  // namespace

// y: (N, C, HW); statistics (C).
void batchnorm_fwd_train(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                         const float* x, const float* gamma, const float* beta, int N, int C, int64_t HW,
                         float momentum, float eps) {
  if (C == 0) return;
  bn_fwd_train_kernel<<<C, kBlockC, 0, cur_stream()>>>(y, save_mean, save_invstd, running_mean, running_var,
                                                       x, gamma, beta, N, C, HW, momentum, eps);
  CUDA_CHECK_LAUNCH();
}

void batchnorm_fwd_eval(float* y, const float* x, const float* gamma, const float* beta, const float* running_mean,
                        const float* running_var, int N, int C, int64_t HW, float eps) {
  const int64_t total = int64_t(N) * C * HW;
  if (total == 0) return;
  bn_fwd_eval_kernel<<<grid_for(total, kThreads), kThreads, 0, cur_stream()>>>(
      y, x, gamma, beta, running_mean, running_var, C, HW, total, eps);
  CUDA_CHECK_LAUNCH();
}

void batchnorm_bwd(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                   const float* mean, const float* invstd, int N, int C, int64_t HW, bool training) {
  if (C == 0) return;
  bn_bwd_kernel<<<C, kBlockC, 0, cur_stream()>>>(dx, dgamma, dbeta, dy, x, gamma, mean, invstd, N, C, HW,
                                                 training);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cudistill::cuda
