// cuda/copy.cu: the CUDA twins of kernels/copy.h: gather a strided view into a contiguous buffer
// (float and int32), and scatter-add a contiguous gradient into a strided view.
// Not a transpose kernel: a permuted copy reads uncoalesced (no shared-memory tiling), which is
// fine while views stay off the hot path (convolutions take contiguous input).
// Tested against kernels/cpu/copy.cpp by the CUDA suite (tests/cuda, run with -ts=cuda).
#include <vector>

#include "kernels/copy.h"
#include "kernels/cuda/common.cuh"

namespace cudistill::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kMaxDims = 8;

// Shape and the strides of the strided side, by value (constant bank). The other side is
// contiguous with `shape`.
struct StridedGeom {
  int ndim;
  int64_t shape[kMaxDims];
  int64_t stride[kMaxDims];
};

// Drops size-1 dims and merges a dim into the one outside it when the outer stride steps over the
// whole inner dim (outer stride == inner stride * inner size): fewer divisions per element, and a
// contiguous view becomes one dim of stride 1. The same simplification as in elementwise.cu.
StridedGeom make_geom(int ndim, const int64_t* shape, const int64_t* strides, const char* what) {
  std::vector<int64_t> sh, st;
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    if (!sh.empty() && st.back() == strides[d] * shape[d]) {
      sh.back() *= shape[d];
      st.back() = strides[d];
    } else {
      sh.push_back(shape[d]);
      st.push_back(strides[d]);
    }
  }
  if (sh.empty()) { sh = {1}; st = {0}; }
  ENGINE_CHECK(sh.size() <= size_t(kMaxDims), what, ": at most ", kMaxDims,
               " non-mergeable dims on the GPU, got ", sh.size());
  StridedGeom g{};
  g.ndim = int(sh.size());
  for (int d = 0; d < g.ndim; ++d) { g.shape[d] = sh[d]; g.stride[d] = st[d]; }
  return g;
}

// Offset into the strided side of the i-th element in row-major order. Unrolled over the fixed
// maximum so that g.* is indexed by constants and stays in the constant bank.
__device__ __forceinline__ int64_t strided_offset(int64_t i, const StridedGeom& g) {
  int64_t rem = i, off = 0;
#pragma unroll
  for (int d = kMaxDims - 1; d >= 0; --d) {
    if (d >= g.ndim) continue;
    const int64_t q = d > 0 ? rem / g.shape[d] : 0;  // the outermost index is what is left
    off += (rem - q * g.shape[d]) * g.stride[d];
    rem = q;
  }
  return off;
}

// dst: (n) contiguous = src read through g. Writes coalesce; reads do when the innermost
// stride is 1.
template <typename T>
__global__ void copy_strided_kernel(T* dst, const T* src, StridedGeom g, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    dst[i] = src[strided_offset(i, g)];
}

// dst (read through g) += src: (n) contiguous. Atomic, because a 0-stride makes several i land
// on the same dst element (the gradient of a broadcast input sums over the broadcast dims).
__global__ void add_into_strided_kernel(float* dst, const float* src, StridedGeom g, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    atomicAdd(dst + strided_offset(i, g), src[i]);
}

template <typename T>
void launch_copy(T* dst, const T* src, int ndim, const int64_t* shape, const int64_t* src_strides) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  if (n == 0) return;
  const StridedGeom g = make_geom(ndim, shape, src_strides, "copy_strided");
  copy_strided_kernel<T><<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(dst, src, g, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

// dst: contiguous (shape), src: same shape, element strides src_strides.
void copy_strided(float* dst, const float* src, int ndim, const int64_t* shape, const int64_t* src_strides) {
  launch_copy(dst, src, ndim, shape, src_strides);
}

void copy_strided(int32_t* dst, const int32_t* src, int ndim, const int64_t* shape,
                  const int64_t* src_strides) {
  launch_copy(dst, src, ndim, shape, src_strides);
}

// dst: strided view (shape, dst_strides) += src: contiguous (shape).
void add_into_strided(float* dst, const float* src, int ndim, const int64_t* shape, const int64_t* dst_strides) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  if (n == 0) return;
  const StridedGeom g = make_geom(ndim, shape, dst_strides, "add_into_strided");
  add_into_strided_kernel<<<grid_for(n, kThreads), kThreads, 0, cur_stream()>>>(dst, src, g, n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cudistill::cuda
