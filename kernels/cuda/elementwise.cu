// cuda/elementwise.cu: the CUDA twins of kernels/elementwise.h: broadcasting add/sub/mul, scale,
// axpy, add_scalar, relu and relu6 with their backward passes (which ACCUMULATE, dx += ...).
// Not fused and not vectorised (no float4): these are memory-bound one-liners kept readable; the
// fast path is simply "no index arithmetic" when nothing is broadcast.
// Tested against kernels/cpu/elementwise.cpp by the CUDA suite (tests/cuda, run with -ts=cuda).
#include <algorithm>
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/elementwise.h"

namespace cudistill::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kMaxDims = 8;

// The broadcast geometry, passed to the kernel by value (it lands in the constant bank, so every
// thread reads it for free). y is contiguous with `shape`; a and b are read through strides.
struct BinaryGeom {
  int ndim;
  int64_t shape[kMaxDims];
  int64_t a[kMaxDims];
  int64_t b[kMaxDims];
};

// Simplifies the geometry before launch: size-1 dims move no offset and are dropped, and a dim
// is merged into the one outside it when, for both a and b, the outer stride steps exactly over
// the whole inner dim (outer stride == inner stride * inner size; 0 == 0 for broadcast dims).
// Then fewer divisions per element, and "a and b contiguous with y" becomes ndim == 1, stride 1.
BinaryGeom make_geom(int ndim, const int64_t* shape, const int64_t* as, const int64_t* bs) {
  std::vector<int64_t> sh, sa, sb;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    if (!sh.empty() && sa.back() == as[d] * shape[d] && sb.back() == bs[d] * shape[d]) {
      sh.back() *= shape[d];
      sa.back() = as[d];
      sb.back() = bs[d];
    } else {
      sh.push_back(shape[d]);
      sa.push_back(as[d]);
      sb.push_back(bs[d]);
    }
  }
  if (sh.empty()) { sh = {1}; sa = {0}; sb = {0}; }  // a scalar
  ENGINE_CHECK(sh.size() <= size_t(kMaxDims), "binary op: at most ", kMaxDims,
               " non-mergeable dims on the GPU, got ", sh.size());
  BinaryGeom g{};
  g.ndim = int(sh.size());
  for (int d = 0; d < g.ndim; ++d) { g.shape[d] = sh[d]; g.a[d] = sa[d]; g.b[d] = sb[d]; }
  return g;
}

template <cpu::BinaryOp op>
__device__ __forceinline__ float apply(float a, float b) {
  if constexpr (op == cpu::BinaryOp::Add) return a + b;
  else if constexpr (op == cpu::BinaryOp::Sub) return a - b;
  else return a * b;
}

// y: (n) = a op b, all three contiguous: the fast path, no index arithmetic.
template <cpu::BinaryOp op>
__global__ void binary_contig_kernel(float* y, const float* a, const float* b, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] = apply<op>(a[i], b[i]);
}

// y: (shape) contiguous; a, b strided. One thread per output element: the flat index i is
// unravelled into a multi-index (innermost dim fastest), which gives the offsets into a and b.
// The loop is unrolled over the fixed maximum so that g.* is indexed by constants (a dynamic
// index into a kernel parameter would spill the struct to local memory).
template <cpu::BinaryOp op>
__global__ void binary_strided_kernel(float* y, const float* a, const float* b, BinaryGeom g,
                                      int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    int64_t rem = i, oa = 0, ob = 0;
#pragma unroll
    for (int d = kMaxDims - 1; d >= 0; --d) {
      if (d >= g.ndim) continue;
      // The outermost dim needs no division: i < n bounds its index already.
      const int64_t q = d > 0 ? rem / g.shape[d] : 0;
      const int64_t id = rem - q * g.shape[d];
      rem = q;
      oa += id * g.a[d];
      ob += id * g.b[d];
    }
    y[i] = apply<op>(a[oa], b[ob]);
  }
}

template <cpu::BinaryOp op>
void launch_binary(float* y, const float* a, const float* b, const BinaryGeom& g, int64_t n) {
  const bool contiguous = g.ndim == 1 && g.a[0] == 1 && g.b[0] == 1;
  if (contiguous)
    binary_contig_kernel<op><<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(y, a, b, n);
  else
    binary_strided_kernel<op><<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(y, a, b, g, n);
  CUDA_CHECK_LAUNCH();
}

// y = s * x
__global__ void scale_kernel(float* y, const float* x, float s, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] = s * x[i];
}

// y += a * x
__global__ void axpy_kernel(float* y, float a, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] += a * x[i];
}

// y += v
__global__ void add_scalar_kernel(float* y, float v, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] += v;
}

// The activations are written with the same comparisons as the CPU's std::max/std::min, not
// fmaxf/fminf: those drop a NaN, std::max(NaN, 0) keeps it, and the two must agree.
__global__ void relu_fwd_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] = x[i] > 0.f ? x[i] : 0.f;
}

// dx += dy * (x > 0): the subgradient at x == 0 is 0.
__global__ void relu_bwd_kernel(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    dx[i] += x[i] > 0.f ? dy[i] : 0.f;
}

// y = min(max(x, 0), 6), as std::min(std::max(x, 0), 6) evaluates it.
__global__ void relu6_fwd_kernel(float* y, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const float t = x[i] < 0.f ? 0.f : x[i];
    y[i] = 6.f < t ? 6.f : t;
  }
}

// dx += dy * (0 < x < 6): 0 at both kinks.
__global__ void relu6_bwd_kernel(float* dx, const float* dy, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    dx[i] += (x[i] > 0.f && x[i] < 6.f) ? dy[i] : 0.f;
}

}  // namespace

// y: (shape) = a op b, a and b broadcast through their strides.
void binary_fwd(cpu::BinaryOp op, float* y, const float* a, const int64_t* a_strides, const float* b,
                const int64_t* b_strides, int ndim, const int64_t* shape) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  if (n == 0) return;
  const BinaryGeom g = make_geom(ndim, shape, a_strides, b_strides);
  switch (op) {
    case cpu::BinaryOp::Add: launch_binary<cpu::BinaryOp::Add>(y, a, b, g, n); break;
    case cpu::BinaryOp::Sub: launch_binary<cpu::BinaryOp::Sub>(y, a, b, g, n); break;
    case cpu::BinaryOp::Mul: launch_binary<cpu::BinaryOp::Mul>(y, a, b, g, n); break;
  }
}

void scale_fwd(float* y, const float* x, float s, int64_t n) {
  if (n == 0) return;
  scale_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(y, x, s, n);
  CUDA_CHECK_LAUNCH();
}

void axpy(float* y, float a, const float* x, int64_t n) {
  if (n == 0) return;
  axpy_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(y, a, x, n);
  CUDA_CHECK_LAUNCH();
}

void add_scalar(float* y, float v, int64_t n) {
  if (n == 0) return;
  add_scalar_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(y, v, n);
  CUDA_CHECK_LAUNCH();
}

void relu_fwd(float* y, const float* x, int64_t n) {
  if (n == 0) return;
  relu_fwd_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(y, x, n);
  CUDA_CHECK_LAUNCH();
}

void relu_bwd(float* dx, const float* dy, const float* x, int64_t n) {
  if (n == 0) return;
  relu_bwd_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(dx, dy, x, n);
  CUDA_CHECK_LAUNCH();
}

void relu6_fwd(float* y, const float* x, int64_t n) {
  if (n == 0) return;
  relu6_fwd_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(y, x, n);
  CUDA_CHECK_LAUNCH();
}

void relu6_bwd(float* dx, const float* dy, const float* x, int64_t n) {
  if (n == 0) return;
  relu6_bwd_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(dx, dy, x, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cudistill::cuda
