// threads.cpp: see threads.h.
#include "engine/threads.h"

#include <unistd.h>

#include <cstdlib>

namespace cudistill {

void use_passive_openmp(int argc, char** argv) {
  (void)argc;
  if (std::getenv("OMP_WAIT_POLICY")) return;  // the user's choice (or our second start) wins
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with the default policy
}

}  // namespace cudistill
