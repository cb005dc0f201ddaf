// cuda_context.h: the per-process CUDA state every kernel shares: one stream, the cuBLAS and
// cuDNN handles bound to it, a growing workspace for cuDNN/cuBLAS, and the TF32 switch.
// Created lazily on first use, so CPU-only runs never touch the driver. Plain C++ types here
// (void*), so that engine code can include it without the CUDA headers; kernels/cuda/common.cuh
// gives the typed accessors.
// Built only with the CUDA backend (cuda_context.cu); the tests are in tests/cuda/.
#pragma once
#include <cstddef>
#include <string>

namespace cudistill::cuda {

void* stream();            // cudaStream_t
void* cublas();            // cublasHandle_t
void* cudnn();             // cudnnHandle_t; a missing or broken cuDNN is a clear error here
// A device buffer of at least `bytes`, reused across calls (valid until the next call).
void* workspace(size_t bytes);
// TF32 tensor-core math for cuBLAS GEMMs and cuDNN convolutions: off by default (tests compare
// against the float32 CPU reference), on for speed with `set_tf32(true)`.
void set_tf32(bool on);
bool tf32();
void synchronize();        // waits for the stream; surfaces asynchronous kernel errors
// "GPU <name>, CUDA runtime 13.0 (driver 13.0), cuDNN 91900, cuBLAS 130100": the versions a
// run actually loaded (not the headers it was built with), for metrics.json's environment.
std::string versions();
int cudnn_version();  // cudnnGetVersion() of the loaded library, e.g. 91900

}  // namespace cudistill::cuda
