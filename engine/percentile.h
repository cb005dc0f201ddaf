// percentile.h: the one percentile formula of every timing the engine reports (eval, apps/train's
// report, apps/bench): nearest rank on the sorted samples, p in (0, 100]. With 20 samples p95 is
// the 19th smallest and p50 the 10th; with one sample every percentile is that sample. Nearest
// rank always returns a measured value (no interpolation between two runs that never happened).
// Tested in tests/ops/test_percentile.cpp.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/error.h"

namespace cudistill {

inline double percentile(std::vector<double> samples, double p) {
  ENGINE_CHECK(!samples.empty(), "percentile of no samples");
  ENGINE_CHECK(p > 0 && p <= 100, "percentile: p must be in (0, 100], not ", p);
  std::sort(samples.begin(), samples.end());
  const size_t rank = size_t(std::ceil(p / 100.0 * double(samples.size())));
  return samples[std::min(samples.size(), std::max<size_t>(rank, 1)) - 1];
}

}  // namespace cudistill
