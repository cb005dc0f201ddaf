// cuda/main.cpp: entry point of the CUDA suite (test_cuda). Without a visible GPU it prints one
// line and exits with 77, which ctest reports as "skipped" (never as passed). On a GPU machine
// it runs every case in TEST_SUITE("cuda"); tests/gpu/run.sh runs it there, also under
// compute-sanitizer.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "engine/cuda_memory.h"

int main(int argc, char** argv) {
  if (!cudistill::cuda_available()) {
    std::printf("test_cuda: no CUDA device visible; the CUDA suite is skipped here (run tests/gpu/run.sh on a GPU machine)\n");
    return 77;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
