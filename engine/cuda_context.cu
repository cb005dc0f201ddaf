// cuda_context.cu: lazy creation of the stream and the library handles (see cuda_context.h).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "engine/cuda_context.h"
#include "engine/cuda_memory.h"
#include "kernels/cuda/common.cuh"

namespace cudistill::cuda {

namespace {
struct Context {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
  void* ws = nullptr;
  size_t ws_bytes = 0;
  bool tf32 = false;
};

Context& ctx() {
  static Context c;
  if (!c.stream) {
    USER_CHECK(cuda_available(), "no CUDA device is visible: run on a machine with an NVIDIA GPU and driver, "
               "or keep tensors on the CPU");
    CUDA_CHECK(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
  }
  return c;
}
}  // namespace

void* stream() { return ctx().stream; }

void* cublas() {
  Context& c = ctx();
  if (!c.cublas) {
    CUBLAS_CHECK(cublasCreate(&c.cublas));
    CUBLAS_CHECK(cublasSetStream(c.cublas, c.stream));
    CUBLAS_CHECK(cublasSetMathMode(c.cublas, c.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  }
  return c.cublas;
}

void* cudnn() {
  Context& c = ctx();
  if (!c.cudnn) {
    cudnnStatus_t st = cudnnCreate(&c.cudnn);
    // The usual cause is a cuDNN whose sub-libraries (libcudnn_graph, _engines_*) are not on the
    // loader path, or one built for another CUDA major version.
    USER_CHECK(st == CUDNN_STATUS_SUCCESS, "cuDNN could not start (", cudnnGetErrorString(st), ", library version ",
               cudnnGetVersion(), ", built against ", CUDNN_VERSION,
               "): install cuDNN 9 for CUDA ", CUDART_VERSION / 1000, " and put its lib folder on LD_LIBRARY_PATH");
    CUDNN_CHECK(cudnnSetStream(c.cudnn, c.stream));
  }
  return c.cudnn;
}

void* workspace(size_t bytes) {
  Context& c = ctx();
  if (bytes > c.ws_bytes) {
    if (c.ws) {
      CUDA_CHECK(cudaStreamSynchronize(c.stream));  // the old buffer may still be in use
      cuda_free(c.ws);
    }
    c.ws = cuda_malloc(bytes);
    c.ws_bytes = bytes;
  }
  return c.ws;
}

void set_tf32(bool on) {
  Context& c = ctx();
  c.tf32 = on;
  if (c.cublas) CUBLAS_CHECK(cublasSetMathMode(c.cublas, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

bool tf32() { return ctx().tf32; }

void synchronize() { CUDA_CHECK(cudaStreamSynchronize(ctx().stream)); }

int cudnn_version() { return int(cudnnGetVersion()); }

std::string versions() {
  int runtime = 0, driver = 0, cublas_version = 0;
  CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  CUDA_CHECK(cudaDriverGetVersion(&driver));
  CUBLAS_CHECK(cublasGetVersion(static_cast<cublasHandle_t>(cublas()), &cublas_version));
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  auto v = [](int x) { return std::to_string(x / 1000) + "." + std::to_string(x % 1000 / 10); };
  return std::string("GPU ") + prop.name + ", CUDA runtime " + v(runtime) + " (driver " + v(driver) + "), cuDNN " +
         std::to_string(cudnnGetVersion()) + ", cuBLAS " + std::to_string(cublas_version);
}

}  // namespace cudistill::cuda
