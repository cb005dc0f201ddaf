// threads.cpp: see threads.h.
#include "engine/threads.h"

#include <unistd.h>

#include <cstdlib>

namespace cudistill {

void use_short_spin_openmp(int argc, char** argv) {
  (void)argc;
  // The user's choice (or our own second start) wins.
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("OMP_WAIT_POLICY", "active", 1);
  setenv("GOMP_SPINCOUNT", "3000", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with libgomp's defaults
}

}  // namespace cudistill
