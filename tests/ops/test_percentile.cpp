// test_percentile.cpp: engine/percentile.h, the nearest-rank percentile every latency uses.
// Run: ./build/tests/test_ops -tc="percentile*"
#include <doctest/doctest.h>

#include <vector>

#include "engine/error.h"
#include "engine/percentile.h"

using cudistill::percentile;

TEST_CASE("percentile: nearest rank on unsorted samples") {
  std::vector<double> v;
  for (int i = 20; i >= 1; --i) v.push_back(i);  // 20 .. 1, unsorted on purpose
  CHECK(percentile(v, 95) == 19);
  CHECK(percentile(v, 50) == 10);
  CHECK(percentile(v, 100) == 20);
  CHECK(percentile(v, 1) == 1);
  CHECK(percentile({7.5}, 95) == 7.5);
  CHECK(percentile({3, 1, 2}, 50) == 2);
  CHECK_THROWS_AS(percentile({}, 50), cudistill::Error);
  CHECK_THROWS_AS(percentile({1, 2}, 0), cudistill::Error);
}
